#!/usr/bin/env python3
"""bastion_faults.py - the randomised fault run of a rollout kept in etcd.

Usage: bastion_faults.py BIN WORKDIR ENDPOINTS PREFIX POLICY SCENARIO SEED SECONDS

Three `shiproom serve` (a, b, c) on one simulated rollout and a
three-member etcd cluster (started by the calling test). For SECONDS, at
random moments drawn from SEED, one of:
  - an action asked of a random live service (note, hold, resume), each
    with a unique reason "fault-run #N", its printed result and exit kept;
  - kill -9 a service (never the last one running), restarted 1-5 s later;
  - SIGSTOP a service past the lease TTL, SIGCONT 3-4 s later;
  - kill -9 an etcd member (one at a time), restarted 3-6 s later;
  - SIGSTOP an etcd member for 1-2 s.
Then everything is restored, the rollout left to settle, and checked:
  - tests/e2e/journal_check.py (no gap or duplicate seq, every intent closed
    once, no forwarded request carried out twice, no interleaved terms, the
    edge's weight - the leader's status - equal to the last outcome's);
  - every action whose `act` printed "done" is in the journal exactly once,
    every other one at most once (a "no answer" may or may not have landed,
    never twice);
  - the longest stretch without a leader's evaluation (from the journal's
    wall times), printed with the counts.
Exit 0 when all hold. The seed is printed first so a failure can be
replayed: SR_FAULT_SEED=<seed> sh tests/e2e/test_bastion_faults.sh.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

BIN, WORK, ENDPOINTS, PREFIX, POLICY, SCENARIO, SEED, SECONDS = sys.argv[1:9]
SEED, SECONDS = int(SEED), float(SECONDS)
HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(SEED)
NAMES = ["a", "b", "c"]
TTL = 2
log = open(os.path.join(WORK, "faults.log"), "w")


def say(msg):
    line = "%7.2f %s" % (time.time() - T0, msg)
    log.write(line + "\n")
    log.flush()


def run(args, timeout=60):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return 124, "timeout"


def serve(name):
    sd = os.path.join(WORK, name)
    rc, out = run([BIN, "serve", "--detach", "--policy", POLICY, "--scenario", SCENARIO,
                   "--speed", "20", "--state-dir", sd, "--socket",
                   os.path.join(WORK, name + ".sock")])
    say("serve %s: %d %s" % (name, rc, out.strip()[:120]))
    return rc == 0


def pid_of(name):
    try:
        return int(open(os.path.join(WORK, name, "service.pid")).read())
    except (OSError, ValueError):
        return 0


def alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
        st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except (OSError, IndexError):
        return False


def etcd(*args):
    return run(["sh", os.path.join(HERE, "etcd.sh")] + list(args))


T0 = time.time()
print("# fault run: seed %d, %d s" % (SEED, SECONDS), flush=True)
for n in NAMES:
    serve(n)
    time.sleep(0.5)

down = {}      # service -> time to restart it
stopped = {}   # service -> time to continue it
member_down = None   # (name, time to restart)
member_paused = None  # (name, time to continue)
acts = []      # (reason, action, service, rc, first line)
faults = {"kill": 0, "pause": 0, "member_kill": 0, "member_pause": 0}
held = False
n_act = 0
end = T0 + SECONDS
while time.time() < end:
    now = time.time()
    for s, at in list(down.items()):
        if now >= at:
            serve(s)
            del down[s]
    for s, at in list(stopped.items()):
        if now >= at:
            os.kill(pid_of(s), signal.SIGCONT)
            say("SIGCONT %s" % s)
            del stopped[s]
    if member_down and now >= member_down[1]:
        rc, out = etcd("restart", os.path.join(WORK, "etcd"), member_down[0])
        say("restart member %s: %d" % (member_down[0], rc))
        member_down = None
    if member_paused and now >= member_paused[1]:
        etcd("resume", os.path.join(WORK, "etcd"), member_paused[0])
        say("resume member %s" % member_paused[0])
        member_paused = None
    live = [s for s in NAMES if s not in down and s not in stopped and alive(pid_of(s))]
    r = rng.random()
    if r < 0.55 and live:
        s = rng.choice(live)
        n_act += 1
        reason = "fault-run #%d" % n_act
        kind = rng.choice(["note", "note", "resume" if held else "hold"])
        rc, out = run([BIN, "act", kind, "--reason", reason, "--yes", "--policy", POLICY,
                       "--socket", os.path.join(WORK, s + ".sock")], timeout=90)
        first = out.strip().splitlines()[-1] if out.strip() else ""
        if rc == 0 and kind in ("hold", "resume"):
            held = kind == "hold"
        acts.append((reason, kind, s, rc, first))
        say("act %s via %s: %d %s" % (kind, s, rc, first[:100]))
    elif r < 0.70 and len(live) >= 2:
        s = rng.choice(live)
        os.kill(pid_of(s), signal.SIGKILL)
        down[s] = now + rng.uniform(1, 5)
        faults["kill"] += 1
        say("kill -9 %s" % s)
    elif r < 0.80 and len(live) >= 2:
        s = rng.choice(live)
        os.kill(pid_of(s), signal.SIGSTOP)
        stopped[s] = now + rng.uniform(TTL + 1, TTL + 2)
        faults["pause"] += 1
        say("SIGSTOP %s" % s)
    elif r < 0.90 and not member_down and not member_paused:
        m = rng.choice(["m1", "m2", "m3"])
        etcd("kill", os.path.join(WORK, "etcd"), m)
        member_down = (m, now + rng.uniform(3, 6))
        faults["member_kill"] += 1
        say("kill -9 member %s" % m)
    elif not member_down and not member_paused:
        m = rng.choice(["m1", "m2", "m3"])
        etcd("pause", os.path.join(WORK, "etcd"), m)
        member_paused = (m, now + rng.uniform(1, 2))
        faults["member_pause"] += 1
        say("SIGSTOP member %s" % m)
    time.sleep(rng.uniform(0.5, 2.0))

# restore everything
for s in list(stopped):
    os.kill(pid_of(s), signal.SIGCONT)
if member_paused:
    etcd("resume", os.path.join(WORK, "etcd"), member_paused[0])
if member_down:
    etcd("restart", os.path.join(WORK, "etcd"), member_down[0])
for s in NAMES:
    if not alive(pid_of(s)):
        serve(s)
say("restored")

problems = []
# a leader, and its status
leader = None
for _ in range(100):
    for s in NAMES:
        rc, out = run([BIN, "status", "--policy", POLICY, "--socket",
                       os.path.join(WORK, s + ".sock")], timeout=20)
        if "store: leader " in out:
            leader, status = s, out
            break
    if leader:
        break
    time.sleep(0.2)
if not leader:
    problems.append("no leader after the run")
time.sleep(3)  # let the journal settle (forwarded requests answered)
weight = None
if leader:
    rc, status = run([BIN, "status", "--policy", POLICY, "--socket",
                      os.path.join(WORK, leader + ".sock")], timeout=20)
    for line in status.splitlines():
        if "canary weight" in line:
            weight = int(line.split("canary weight")[1].strip().split("%")[0])
check = [sys.executable, os.path.join(HERE, "journal_check.py"), ENDPOINTS, PREFIX]
if weight is not None:
    check += ["--expect-final-weight", str(weight)]
rc, out = run(check)
print(out.strip().splitlines()[-1] if out.strip() else "journal_check: no output", flush=True)
if rc != 0:
    problems.append("journal_check: " + out.strip())

# every act against the journal
env = {"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}
raw = subprocess.run(["etcdctl", "--endpoints=" + ENDPOINTS, "get", "--prefix", PREFIX + "/j/",
                      "--print-value-only"], capture_output=True, text=True, env=env).stdout
records = [json.loads(l) for l in raw.splitlines() if l.startswith("{")]
counts = {}
for o in records:
    rs = o.get("reason", "")
    if rs.startswith("fault-run #"):
        counts[rs] = counts.get(rs, 0) + 1
done = refused = unanswered = 0
for reason, kind, s, rc, first in acts:
    c = counts.get(reason, 0)
    if rc == 0:
        done += 1
        if c != 1:
            problems.append("%s (%s via %s) printed done but is in the journal %d times" %
                            (reason, kind, s, c))
    else:
        if rc == 3:
            refused += 1
        else:
            unanswered += 1
        if c > 1:
            problems.append("%s (%s via %s, exit %d) is in the journal %d times" %
                            (reason, kind, s, rc, c))
        if rc == 3 and c != 0:
            problems.append("%s (%s via %s) was refused but is in the journal" % (reason, kind, s))

# the longest stretch without a leader's evaluation
walls = sorted(o["wall"] for o in records if o.get("type") == "obs" and "spooled" not in o)
gap = max((b - a for a, b in zip(walls, walls[1:])), default=0) / 1000.0
terms = len({o.get("term") for o in records if o.get("term")})
print("# faults: %d services killed, %d paused, %d etcd members killed, %d paused; "
      "%d actions: %d done, %d refused, %d unanswered; %d leader terms; "
      "longest stretch without an evaluation %.1f s (lease TTL %d s)" %
      (faults["kill"], faults["pause"], faults["member_kill"], faults["member_pause"],
       len(acts), done, refused, unanswered, terms, gap, TTL), flush=True)
for p in problems:
    print("not ok - " + p, flush=True)
sys.exit(1 if problems else 0)
