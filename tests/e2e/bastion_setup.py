#!/usr/bin/env python3
"""bastion_setup.py - the files a rollout kept in etcd is tested with.

  bastion_setup.py policy SRC OUT ENDPOINTS PREFIX [TTL_S]
      SRC with a "store" of kind etcd: ENDPOINTS (comma separated), PREFIX,
      the lease TTL (default 2 s) and a 500 ms timeout per member.
  bastion_setup.py drill SRC OUT
      the scenario SRC begun three minutes before T-0, its earlier steps
      played at once and its expectations dropped: a drill that promotes
      within seconds.

Shared by tests/e2e/test_bastion_*.sh and bench/failover_bench.sh.
"""
import json
import sys


def main():
    what, src, out = sys.argv[1:4]
    d = json.load(open(src))
    if what == "policy":
        endpoints, prefix = sys.argv[4], sys.argv[5]
        ttl = int(sys.argv[6]) if len(sys.argv) > 6 else 2
        d["store"] = {"kind": "etcd", "endpoints": endpoints.split(","), "prefix": prefix,
                      "lease_ttl_s": ttl, "timeout_ms": 500}
    elif what == "drill":
        d["name"] = "bastion-drill"
        d["start_min"] = -3
        d["expect"] = []
        for step in d["script"]:
            step["at_min"] = max(step["at_min"], -3)
    else:
        sys.exit("bastion_setup.py: policy or drill, not " + what)
    json.dump(d, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
