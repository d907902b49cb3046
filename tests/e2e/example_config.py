#!/usr/bin/env python3
"""example_config.py - write config/prometheus-haproxy.json, the worked
example of the README: the shipped directive (config/shiproom.json) with
its source pointed at a real Prometheus and its edge at a real HAProxy.

  tests/e2e/example_config.py [--check]

Everything but "title", "source" and "edge" is the shipped policy's, so
the example cannot drift from the directive: tests/cli/check_config.sh
runs this with --check (exit 1 when the file is not what it would write).
The end-to-end tests cut the example down further (tests/e2e/policy.py).
"""
import collections
import json
import os
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SRC = os.path.join(TOP, "config", "shiproom.json")
OUT = os.path.join(TOP, "config", "prometheus-haproxy.json")

# How many observations stand behind each KPI's value (min_samples): the
# request or event counts over the same window, by the same labels.
LAT = ('sum by (journey, variant) (increase(http_request_duration_seconds_count'
       '{journey=~"{{journeys}}"}[{{window}}]))')
SAMPLES = [
    ("p95_latency", LAT),
    ("p99_latency", LAT),
    ("p50_latency", LAT),
    ("provider_dashboard_p95", LAT),
    ("error_rate_5xx", "sum by (variant) (increase(http_requests_total[{{window}}]))"),
    ("client_js_errors", "sum by (variant) (increase(client_page_views_total[{{window}}]))"),
    ("cache_hit_ratio", "sum by (journey, variant) (increase(cache_requests_total[{{window}}]))"),
    ("payment_success", "sum by (variant) (increase(payments_total[{{window}}]))"),
    ("refunds_voids", "sum by (variant) (increase(payments_total[{{window}}]))"),
    ("registration_completion", "sum by (variant) (increase(registrations_started_total[{{window}}]))"),
    ("search_ctr", "sum by (variant) (increase(search_results_shown_total[{{window}}]))"),
    ("application_conversion", "sum by (variant) (increase(applications_started_total[{{window}}]))"),
    ("payout_success", "sum by (variant) (increase(payout_jobs_total[{{window}}]))"),
    ("webhook_failures", "sum by (variant) (increase(webhook_deliveries_total[{{window}}]))"),
]

# The evidence test's step counts (shiproom.json(5), EVIDENCE): requests
# and bad events of each cohort over the poll step ({{step}}, for
# increase()); for latency, the requests slower than the boundary {{le}}
# (the +Inf bucket minus the boundary's bucket).
def _slow(metric_sel):
    b = 'increase(http_request_duration_seconds_bucket{le="%s",' + metric_sel + '}[{{step}}])'
    return ('sum by (journey, variant) (' + (b % "+Inf") + ') - sum by (journey, variant) ('
            + (b % "{{le}}") + ')')


EVIDENCE = [
    ("p95_latency", LAT.replace("{{window}}", "{{step}}"), _slow('journey=~"{{journeys}}"')),
    ("provider_dashboard_p95", LAT.replace("{{window}}", "{{step}}"),
     _slow('journey=~"{{journeys}}"')),
    ("error_rate_5xx", "sum by (variant) (increase(http_requests_total[{{step}}]))",
     'sum by (variant) (increase(http_requests_total{code=~"5.."}[{{step}}]))'),
    ("payment_success", "sum by (variant) (increase(payments_total[{{step}}]))",
     'sum by (variant) (increase(payments_total{outcome="failure"}[{{step}}]))'),
]
# The histogram's finite boundaries in ms (the fixture app's and the
# simulator's); `le` label values are these times 0.001 (seconds).
BUCKETS_MS = [5, 10, 25, 50, 75, 100, 110, 120, 130, 140, 160, 180, 200, 250, 300, 400, 500,
              750, 1000]


def build():
    p = json.load(open(SRC, encoding="utf-8"), object_pairs_hook=collections.OrderedDict)
    kpis = {k["id"] for k in p["kpis"]}
    p["title"] = p["title"] + " (Prometheus + HAProxy)"
    p["source"] = collections.OrderedDict([
        ("kind", "prometheus"),
        ("url", "http://prometheus.internal:9090"),
        ("timeout_s", 5),
        ("window", "1m"),
        ("journey_label", "journey"),
        ("variant_label", "variant"),
        ("canary_value", "canary"),
        ("control_value", "stable"),
        # a partial answer is YELLOW "partial data"; a cohort whose newest
        # sample is older than stale_after is STALE (a dead exporter)
        ("on_warnings", "partial"),
        ("liveness_query", "max by (variant) (timestamp(http_requests_total))"),
        ("samples_queries", collections.OrderedDict((k, q) for k, q in SAMPLES if k in kpis)),
        ("evidence_queries", collections.OrderedDict(
            (k, collections.OrderedDict([("requests", r), ("bad", b)]))
            for k, r, b in EVIDENCE if k in kpis)),
        ("evidence_buckets_ms", BUCKETS_MS),
        ("evidence_le_scale", 0.001),
    ])
    p["edge"] = collections.OrderedDict([
        ("kind", "haproxy"),
        ("socket", "unix:/run/haproxy/admin.sock"),
        ("backend", "app"),
        ("canary_server", "canary"),
        ("stable_server", "stable"),
        ("timeout_ms", 2000),
    ])
    return json.dumps(p, indent=2, ensure_ascii=False) + "\n"


def main():
    text = build()
    if sys.argv[1:] == ["--check"]:
        have = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        if have != text:
            print("config/prometheus-haproxy.json is out of date with config/shiproom.json: "
                  "run tests/e2e/example_config.py", file=sys.stderr)
            return 1
        return 0
    open(OUT, "w", encoding="utf-8").write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
