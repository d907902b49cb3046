#!/usr/bin/env python3
"""bench/prom_cross.py URL WINDOW LIMIT_MS TIMEOUT_S - when Prometheus's own
data first shows a canary journey's P95 over LIMIT_MS.

The rollback benchmark's probe, independent of shiproom: it asks
Prometheus every 50 ms for the worst canary journey's P95 over the rate
window (the quantity the P95 trigger judges) and prints the wall time at
which the answer first exceeds the limit, then exits; "none" after
TIMEOUT_S. The time from the injection to this moment is what the data
take (the window's ramp and the scrape); what follows, to HAProxy at 0,
is the console's.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

url, window, limit, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
query = ('1000 * max(histogram_quantile(0.95, sum by (journey, le) '
         '(rate(http_request_duration_seconds_bucket{variant="canary"}[%s]))))' % window)
ask = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
end = time.time() + timeout
while time.time() < end:
    t = time.time()
    try:
        with urllib.request.urlopen(ask, timeout=2) as r:
            res = json.load(r)["data"]["result"]
        if res and float(res[0]["value"][1]) > limit:
            print("%.3f" % t)
            sys.exit(0)
    except (OSError, ValueError, KeyError, IndexError):
        pass
    time.sleep(0.05)
print("none")
