/* prom_probe.c - a tiny driver for the Prometheus end-to-end test: load a
 * policy and a prometheus source config, poll the real source on a libuv
 * loop, run the real engine on each snapshot, and print every cell.
 *
 * Until `shiproom status` can be pointed at Prometheus (main.c and the
 * policy loader wire the source in), this is how the e2e test sees what
 * shiproom would show. Built by tests/e2e/test_prometheus_e2e.sh against
 * build/libshiproom.a.
 *
 *   prom_probe POLICY SOURCE_JSON [--polls N] [--interval-ms MS]
 *              [--stale-after-ms MS] [--phase N]
 *
 * SOURCE_JSON is the policy's "source" object for kind "prometheus". Per
 * poll it prints, one per line:
 *   POLL n now_ms
 *   CELL n kpi journey|- canary_kind canary_value control_kind control_value
 *        STATUS samples | message
 *   TRIG n trigger_id state
 *   END n
 * --polls 0 polls until SIGTERM/SIGINT, which end it cleanly. --phase N starts the rollout in the
 * policy's phase N (as after promoting to it) rather than in pre-flight,
 * where the rollback triggers are not armed yet.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "shiproom/clock.h"
#include "shiproom/engine.h"
#include "shiproom/policy.h"
#include "shiproom/prometheus.h"

struct probe {
	uv_loop_t *loop;
	uv_timer_t timer;
	uv_signal_t sigterm, sigint;
	bool stopping;
	struct sr_policy *p;
	struct sr_source *src;
	struct sr_engine *e;
	long polls, done;
	bool busy;
	sr_ms now;
};

static const char *kind_name(enum sr_obs_kind k)
{
	switch (k) {
	case SR_OBS_NONE:
		return "NONE";
	case SR_OBS_OK:
		return "OK";
	case SR_OBS_NOSERIES:
		return "NOSERIES";
	case SR_OBS_ERROR:
		return "ERROR";
	}
	return "?";
}

static void print_snapshot(struct probe *pb, const struct sr_snapshot *s)
{
	const struct sr_policy *p = pb->p;
	printf("POLL %ld %lld\n", pb->done, (long long)pb->now);
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_cell *cell = &p->cells[c];
		const struct sr_cell_state *cs = &pb->e->cells[c];
		const struct sr_obs *a = &s->canary[c], *b = &s->control[c];
		const char *msg = a->error[0] ? a->error : cs->reason;
		printf("CELL %ld %s %s %s %.3f %s %.3f %s %.0f | %s\n", pb->done,
		       p->kpis[cell->kpi].id,
		       cell->journey >= 0 ? p->journeys[cell->journey].id : "-", kind_name(a->kind),
		       a->value, kind_name(b->kind), b->value, sr_status_name(cs->status),
		       isinf(a->samples) ? -1.0 : a->samples, msg);
	}
	for (int t = 0; t < p->ntriggers; t++)
		printf("TRIG %ld %s %s\n", pb->done, p->triggers[t].id,
		       trigger_state_name(pb->e->triggers[t].state));
	printf("END %ld\n", pb->done);
	fflush(stdout);
}

static void on_timer(uv_timer_t *t);

/* Close our handles so uv_run returns and main tears down cleanly (so
 * a sanitizer build checks for leaks at exit). */
static void probe_stop(struct probe *pb)
{
	if (pb->stopping)
		return;
	pb->stopping = true;
	uv_timer_stop(&pb->timer);
	uv_close((uv_handle_t *)&pb->timer, NULL);
	uv_close((uv_handle_t *)&pb->sigterm, NULL);
	uv_close((uv_handle_t *)&pb->sigint, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	probe_stop(s->data);
}

static void on_snapshot(void *ud, struct sr_snapshot *s)
{
	struct probe *pb = ud;
	pb->busy = false;
	pb->done++;
	engine_evaluate(pb->e, s, pb->now);
	print_snapshot(pb, s);
	/* The source is destroyed after uv_run returns, not from inside
	 * its own callback chain. */
	if (pb->polls > 0 && pb->done >= pb->polls)
		probe_stop(pb);
}

static void on_timer(uv_timer_t *t)
{
	struct probe *pb = t->data;
	if (pb->busy || pb->stopping)
		return;
	pb->busy = true;
	pb->now = clock_real_ms();
	pb->src->ops->poll(pb->src, pb->now, on_snapshot, pb);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = '\0';
	fclose(f);
	return b;
}

int main(int argc, char **argv)
{
	struct probe pb = {0};
	long interval = 1000, stale_after = -1, phase = -1;
	pb.polls = 1;
#ifdef __linux__
	/* Die with the test script, even one killed before its trap runs. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	if (argc < 3) {
		fprintf(stderr,
		        "usage: prom_probe POLICY SOURCE_JSON [--polls N] [--interval-ms MS] "
		        "[--stale-after-ms MS] [--phase N]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--polls"))
			pb.polls = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--interval-ms"))
			interval = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--stale-after-ms"))
			stale_after = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--phase"))
			phase = atol(argv[i + 1]);
		else {
			fprintf(stderr, "prom_probe: unknown option %s\n", argv[i]);
			return 2;
		}
	}

	pb.p = calloc(1, sizeof *pb.p);
	struct sr_policy_error perr;
	if (policy_load_file(pb.p, argv[1], &perr) != 0) {
		char buf[1024];
		policy_error_format(&perr, buf, sizeof buf);
		fprintf(stderr, "prom_probe: %s\n", buf);
		return 1;
	}
	if (stale_after > 0)
		pb.p->stale_after_ms = stale_after;

	char *text = slurp(argv[2]);
	json_error_t je;
	json_t *j = text ? json_loads(text, 0, &je) : NULL;
	free(text);
	if (!j) {
		fprintf(stderr, "prom_probe: cannot read %s\n", argv[2]);
		return 1;
	}
	struct sr_prom_config *cfg = calloc(1, sizeof *cfg);
	char err[512];
	if (prometheus_config_from_json(cfg, j, err, sizeof err) != 0) {
		fprintf(stderr, "prom_probe: %s: %s\n", argv[2], err);
		return 1;
	}
	json_decref(j);

	pb.loop = uv_default_loop();
	pb.src = prometheus_create(pb.p, cfg, pb.loop, err, sizeof err);
	free(cfg);
	if (!pb.src) {
		fprintf(stderr, "prom_probe: %s\n", err);
		return 1;
	}
	pb.e = calloc(1, sizeof *pb.e);
	sr_ms t0 = clock_real_ms();
	engine_init(pb.e, pb.p, t0);
	if (phase >= 0 && phase < pb.p->nphases) {
		/* The canary deployed at this phase's weight, as the runner
		 * records it after a promote read back from the edge. */
		pb.e->ro.phase = (int)phase;
		pb.e->ro.weight = pb.p->phases[phase].weight;
		pb.e->ro.phase_entered = t0;
	}

	uv_timer_init(pb.loop, &pb.timer);
	pb.timer.data = &pb;
	uv_timer_start(&pb.timer, on_timer, 0, (uint64_t)interval);
	uv_signal_init(pb.loop, &pb.sigterm);
	uv_signal_init(pb.loop, &pb.sigint);
	pb.sigterm.data = pb.sigint.data = &pb;
	uv_signal_start(&pb.sigterm, on_signal, SIGTERM);
	uv_signal_start(&pb.sigint, on_signal, SIGINT);
	uv_run(pb.loop, UV_RUN_DEFAULT);

	pb.src->ops->destroy(pb.src);
	uv_run(pb.loop, UV_RUN_DEFAULT); /* let the HTTP client's handles close */
	uv_loop_close(pb.loop);
	free(pb.e);
	free(pb.p);
	return 0;
}
