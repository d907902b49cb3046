/* prometheus.h - the real metrics source: Prometheus (or anything that
 * speaks its HTTP query API: Thanos, Mimir, VictoriaMetrics).
 *
 * One instant query per KPI per poll (never one per tile), POSTed form-
 * encoded to <url>/api/v1/query with an explicit `time`, so canary and
 * control, and every KPI, are read at the same instant. The answer's
 * series are matched to cells on the journey and variant labels. Runs on
 * the libuv loop through the HTTP client (http.h); poll() returns at once
 * and the callback comes when every answer is in or has failed.
 */
#ifndef SHIPROOM_PROMETHEUS_H
#define SHIPROOM_PROMETHEUS_H

#include <jansson.h>
#include <uv.h>

#include "shiproom/policy.h"
#include "shiproom/promparse.h"
#include "shiproom/source.h"

#define SR_PROM_MAX_HEADERS 8
#define SR_PROM_URL_LEN 512
/* A poll's queries: per KPI value, samples and two evidence; then the
 * rhythm and the liveness queries. */
#define SR_PROM_MAX_QUERIES (4 * SR_MAX_KPIS + 2)
#define SR_PROM_DEFAULT_MAX_BYTES (8u * 1024u * 1024u)

struct sr_prom_header {
	char name[64];
	char value[512]; /* may be a secret: never printed */
};

/* A samples query for one KPI: how many observations stand behind its
 * value (for min_samples). Without one, samples are unknown (+inf). */
struct sr_prom_samples_query {
	char kpi[SR_NAME_LEN];
	char query[SR_QUERY_LEN];
};

/* The poll step's counts for a KPI's evidence test (evidence.h): two
 * queries grouped like the value query, one giving each cohort's
 * requests over the step, one its bad events. Placeholders beside
 * {{window}}, {{q}}, {{journeys}}: {{step}}, the time since the last
 * poll ("15s", for increase()), and, for a latency KPI, {{le}}, the
 * histogram boundary slow requests are counted above. */
struct sr_prom_evidence_query {
	char kpi[SR_NAME_LEN];
	char requests[SR_QUERY_LEN];
	char bad[SR_QUERY_LEN];
};

#define SR_PROM_MAX_BUCKETS 40

struct sr_prom_config {
	char url[SR_PROM_URL_LEN]; /* base, may carry a path prefix: no trailing '/' */
	int nheaders;
	struct sr_prom_header headers[SR_PROM_MAX_HEADERS]; /* X-Scope-OrgID, ... */
	char bearer_token_file[512];     /* mode 0600 or stricter, re-read every poll */
	char bearer_token_env[64];       /* or the name of an environment variable */
	char ca_file[512];               /* PEM bundle for https ("" = system store) */
	double timeout_s;                /* per query; default 10 */
	char window[16];                 /* {{window}}; default "1m" */
	char journey_label[SR_NAME_LEN]; /* default "journey" */
	char variant_label[SR_NAME_LEN]; /* default "variant" */
	char canary_value[SR_NAME_LEN];  /* default "canary" */
	char control_value[SR_NAME_LEN]; /* default "control" */
	size_t max_response_bytes;       /* default 8 MiB */
	int nsamples;
	struct sr_prom_samples_query samples[SR_MAX_KPIS];
	int nevidence;
	struct sr_prom_evidence_query evidence[SR_MAX_KPIS];
	/* Latency evidence: the histogram's finite bucket boundaries in the
	 * KPI's unit (ms), ascending, and the factor that turns one into its
	 * `le` label value (default 0.001: ms to seconds; written with %g,
	 * as Prometheus client libraries write them: 0.1, 0.25). {{le}} is
	 * the first boundary at or above the median of the journeys'
	 * control values at the previous poll (a boundary taken from this
	 * step's own data would bias the test). */
	int nbuckets;
	double buckets_ms[SR_PROM_MAX_BUCKETS];
	double le_scale;
	/* What a partial answer (`warnings`) makes of its cells:
	 * SR_PROM_WARN_PARTIAL (default) caps them at YELLOW "partial data",
	 * SR_PROM_WARN_IGNORE only notes the warning in the reason,
	 * SR_PROM_WARN_ERROR turns them ERROR. */
	int on_warnings; /* promparse.h: SR_PROM_WARN_* */
	/* Is each cohort's data alive? A query answering, per variant label,
	 * the time (in seconds, e.g. timestamp()) of the cohort's newest
	 * sample. A cohort with no series, or whose newest sample is older
	 * than the query's instant, gets that time as the time of all its
	 * cells' data, so they turn STALE after stale_after whatever range
	 * the KPI queries use (a dead exporter leaves [1h] rates answering
	 * for an hour). "" = not checked. */
	char liveness_query[SR_QUERY_LEN];
};

void prometheus_config_defaults(struct sr_prom_config *c);

/* Fill c from the policy's "source" object (kind "prometheus"), on top of
 * the defaults. Unknown keys are an error. Returns 0, or -1 with a
 * message naming the key ("source.timeout_s: ...") in err. Reads no file
 * and no environment: prometheus_create() does that. */
int prometheus_config_from_json(struct sr_prom_config *c, const json_t *source_obj, char *err,
                                size_t n);

/* Create the source on `loop` for policy p (borrowed: it must outlive the
 * source). Checks what can be checked before the first poll: every KPI's
 * query template expands, samples queries name known KPIs, the token
 * file's mode, the token variable is set, the CA file is readable. NULL
 * with err filled otherwise. Secrets never appear in err.
 *
 * poll(): while a poll is in flight, another poll sends nothing new; the
 * in-flight poll's completion goes to the newest callback, once. After
 * destroy, run the loop once more so the HTTP client's handles close. */
struct sr_source *prometheus_create(const struct sr_policy *p, const struct sr_prom_config *c,
                                    uv_loop_t *loop, char *err, size_t n);

/* Requests sent by the last poll (value and samples queries; a query
 * text asked twice in one poll is sent once), for tests
 * and the benchmark of requests per refresh. */
int prometheus_last_query_count(const struct sr_source *s);

#endif
