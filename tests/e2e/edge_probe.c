/* edge_probe.c - a tiny driver for the HAProxy end-to-end test: one edge
 * call through the real HAProxy driver, optionally recorded in the real
 * journal exactly as an action is (lock -> intent, fsynced -> edge call
 * with bounded retries -> read-back -> outcome -> unlock), and the
 * start-up reconciliation of an intent left without its outcome.
 *
 * `shiproom act` drives the edge through the dispatcher (tested end to
 * end by test_shiproom_e2e.sh); this probe tests the driver itself at a
 * level the binary does not expose (a weight 0 without maint, both socket
 * kinds, a crash at a chosen point). Built by tests/e2e/test_haproxy_e2e.sh
 * against BUILD_DIR/libshiproom.a.
 *
 *   edge_probe EDGE_JSON set N [--drain] [--attempts K] [--backoff-ms MS]
 *              [--journal DIR] [--reason TEXT]
 *              [--crash-after-intent | --crash-after-edge]
 *   edge_probe EDGE_JSON get
 *   edge_probe EDGE_JSON reconcile --journal DIR
 *
 * EDGE_JSON is the policy's "edge" object for kind "haproxy". Output, one
 * line each: "attempt I/K failed: MESSAGE" for a failure that will be
 * retried (transport errors only: HAProxy refusing is final), then
 * "ok weight=W attempts=I" or "failed weight=W attempts=I: MESSAGE";
 * reconcile prints "reconciled KEY action=A applied=yes|no weight=W" or
 * "nothing pending". Exit 0 on success, 1 on failure, 2 on usage.
 * The --crash-* flags SIGKILL the probe at that point, for the test of
 * start-up reconciliation.
 */
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/haproxy.h"
#include "shiproom/journal.h"

struct probe {
	uv_loop_t *loop;
	struct sr_edge *edge;
	uv_timer_t backoff;
	int weight;
	bool drain;
	int attempts, attempt, backoff_ms;
	bool crash_after_edge;
	/* result */
	bool done;
	int result, readback;
	char err[512];
};

static sr_ms now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sr_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void login(char *buf, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());
	snprintf(buf, n, "%s", pw ? pw->pw_name : "unknown");
}

static void start_attempt(struct probe *p);

static void backoff_fired(uv_timer_t *t)
{
	start_attempt(t->data);
}

static void on_edge(void *ud, int result, int weight, const char *err)
{
	struct probe *p = ud;
	/* Only a transport failure is worth another attempt: when HAProxy
	 * itself refused, asking again gets the same answer. */
	if (result == HAPROXY_ERR_TRANSPORT && p->attempt < p->attempts) {
		printf("attempt %d/%d failed: %s\n", p->attempt, p->attempts, err ? err : "");
		fflush(stdout);
		uv_timer_start(&p->backoff, backoff_fired,
		               (uint64_t)p->backoff_ms << (p->attempt - 1), 0);
		return;
	}
	p->done = true;
	p->result = result;
	p->readback = weight;
	snprintf(p->err, sizeof p->err, "%s", err ? err : "");
	if (result == 0 && p->crash_after_edge)
		raise(SIGKILL); /* the edge moved; the outcome is never written */
}

static void start_attempt(struct probe *p)
{
	p->attempt++;
	if (p->weight < 0)
		p->edge->ops->get_weight(p->edge, on_edge, p);
	else
		p->edge->ops->set_weight(p->edge, p->weight, p->drain, "", on_edge, p);
}

static void run(struct probe *p)
{
	start_attempt(p);
	while (!p->done)
		uv_run(p->loop, UV_RUN_ONCE);
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: edge_probe EDGE_JSON set N [--drain] [--attempts K] [--backoff-ms MS]\n"
	        "                  [--journal DIR] [--reason TEXT] [--crash-after-intent|"
	        "--crash-after-edge]\n"
	        "       edge_probe EDGE_JSON get\n"
	        "       edge_probe EDGE_JSON reconcile --journal DIR\n");
	return 2;
}

static struct sr_journal *journal_for(const char *dir, const char *who, const char *what)
{
	char err[300], why[300];
	struct sr_journal_open_info info;
	struct sr_journal *j = journal_open(dir, &info, err, sizeof err);
	if (!j) {
		fprintf(stderr, "edge_probe: %s\n", err);
		exit(1);
	}
	if (info.torn)
		printf("journal: torn line at offset %lld moved to %s\n", info.torn_offset,
		       info.torn_saved);
	if (journal_lock(j, who, what, why, sizeof why) < 0) {
		printf("refused: %s\n", why);
		exit(1);
	}
	return j;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	json_error_t je;
	json_t *ej = json_loads(argv[1], 0, &je);
	if (!ej) {
		fprintf(stderr, "edge_probe: EDGE_JSON: %s\n", je.text);
		return 2;
	}
	struct sr_haproxy_config cfg;
	char err[300];
	if (haproxy_config_from_json(&cfg, ej, err, sizeof err) < 0) {
		fprintf(stderr, "edge_probe: /edge%s\n", err);
		return 2;
	}
	json_decref(ej);

	struct probe p = {.weight = -1, .attempts = 1, .backoff_ms = 200};
	const char *cmd = argv[2], *jdir = NULL, *reason = "";
	bool crash_after_intent = false;
	int i = 3;
	if (strcmp(cmd, "set") == 0) {
		if (argc < 4)
			return usage();
		p.weight = atoi(argv[3]);
		i = 4;
	} else if (strcmp(cmd, "get") != 0 && strcmp(cmd, "reconcile") != 0) {
		return usage();
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--drain") == 0)
			p.drain = true;
		else if (strcmp(argv[i], "--attempts") == 0 && i + 1 < argc)
			p.attempts = atoi(argv[++i]);
		else if (strcmp(argv[i], "--backoff-ms") == 0 && i + 1 < argc)
			p.backoff_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--journal") == 0 && i + 1 < argc)
			jdir = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--crash-after-intent") == 0)
			crash_after_intent = true;
		else if (strcmp(argv[i], "--crash-after-edge") == 0)
			p.crash_after_edge = true;
		else
			return usage();
	}
	if (p.attempts < 1 || p.attempts > 10 || p.backoff_ms < 0 || p.backoff_ms > 10000)
		return usage();

	uv_loop_t loop;
	uv_loop_init(&loop);
	p.loop = &loop;
	uv_timer_init(&loop, &p.backoff);
	p.backoff.data = &p;
	p.edge = haproxy_edge_create(&loop, &cfg, err, sizeof err);
	if (!p.edge) {
		fprintf(stderr, "edge_probe: %s\n", err);
		return 2;
	}
	char who[64];
	login(who, sizeof who);
	int rc = 0;

	if (strcmp(cmd, "reconcile") == 0) {
		if (!jdir)
			return usage();
		/* Start-up: under the lock, an intent without outcome is an
		 * orphan; ask the edge what really happened and record it
		 * before anything else. */
		struct sr_journal *j = journal_for(jdir, who, "reconcile");
		struct sr_jintent it;
		if (!journal_pending_intent(j, &it)) {
			printf("nothing pending\n");
		} else {
			run(&p);
			if (p.result != 0) {
				printf("failed: cannot read the edge to reconcile %s: %s\n", it.key,
				       p.err);
				rc = 1;
			} else {
				bool applied = p.readback == it.weight;
				char note[200];
				snprintf(note, sizeof note,
				         "start-up: the edge reads %d%%, the intent was %d%%",
				         p.readback, it.weight);
				if (journal_reconcile(j, now_ms(), who, it.key, it.action, applied,
				                      p.readback, note, err, sizeof err) < 0) {
					printf("failed: %s\n", err);
					rc = 1;
				} else {
					printf("reconciled %s action=%s applied=%s weight=%d\n",
					       it.key, it.action, applied ? "yes" : "no",
					       p.readback);
				}
			}
		}
		journal_unlock(j);
		journal_close(j);
	} else {
		struct sr_journal *j = NULL;
		char key[JOURNAL_KEY_LEN] = "";
		const char *action = p.drain ? "rollback" : "promote";
		if (jdir && p.weight >= 0) {
			j = journal_for(jdir, who, action);
			journal_make_key(key, sizeof key);
			struct sr_jaction a = {.action = action,
			                       .weight = p.weight,
			                       .drain = p.drain,
			                       .gate = -1,
			                       .reason = reason,
			                       .key = key};
			if (journal_intent(j, now_ms(), who, &a, err, sizeof err) < 0) {
				printf("failed: %s\n", err);
				return 1;
			}
			if (crash_after_intent)
				raise(SIGKILL); /* before the edge is even called */
		}
		run(&p);
		if (p.result == 0)
			printf("ok weight=%d attempts=%d\n", p.readback, p.attempt);
		else
			printf("failed weight=%d attempts=%d: %s\n", p.readback, p.attempt, p.err);
		rc = p.result == 0 ? 0 : 1;
		if (j) {
			if (journal_outcome(j, now_ms(), who, key, action, p.result == 0,
			                    p.readback, p.result == 0 ? NULL : p.err, p.attempt,
			                    err, sizeof err) < 0) {
				printf("failed: %s\n", err);
				rc = 1;
			}
			journal_unlock(j);
			journal_close(j);
		}
	}
	p.edge->ops->destroy(p.edge);
	uv_close((uv_handle_t *)&p.backoff, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return rc;
}
