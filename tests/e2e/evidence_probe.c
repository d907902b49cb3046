/* evidence_probe.c - the evidence test (evidence.h) against a real
 * Prometheus, for tests/e2e/test_evidence_e2e.sh.
 *
 * Loads POLICY (a prometheus source with evidence_queries), polls it
 * through the real Prometheus driver every INTERVAL seconds on a libuv
 * loop, feeds every answer to the real engine, and follows one cell
 * (KPI, and JOURNEY for a per-journey KPI). One line per poll:
 *
 *   poll N: canary 96.3ms control 94.9ms GREEN; step canary 60/0 control 1140/0
 *           slower than 100ms; evidence: no evidence yet 0 ev
 *
 * and a last line "worse after N polls" or "never worse in S s".
 * Exit 0 when the outcome is what --expect says (worse: the test said
 * worse within SECONDS; none: it did not), 1 otherwise, 2 on usage or
 * set-up errors. Built by the test against BUILD_DIR/libshiproom.a.
 *
 *   evidence_probe POLICY KPI JOURNEY|- SECONDS INTERVAL_S --expect worse|none
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "shiproom/engine.h"
#include "shiproom/prometheus.h"

struct probe {
	struct sr_policy *p;
	struct sr_engine *e;
	struct sr_source *src;
	uv_timer_t timer;
	int cell, polls, max_polls;
	bool worse, busy;
};

static sr_ms wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sr_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_snapshot(void *ud, struct sr_snapshot *s)
{
	struct probe *pr = ud;
	sr_ms now = wall_ms();
	pr->busy = false;
	engine_evaluate(pr->e, s, now);
	pr->polls++;
	const struct sr_kpi *k = &pr->p->kpis[pr->p->cells[pr->cell].kpi];
	const struct sr_cell_state *c = &pr->e->cells[pr->cell];
	const struct sr_obs *ca = &s->canary[pr->cell], *co = &s->control[pr->cell];
	char can[24], ctl[24], line[SR_REASON_LEN];
	engine_fmt_value(k, c->canary, can, sizeof can);
	engine_fmt_value(k, c->control, ctl, sizeof ctl);
	evidence_format(&pr->e->evidence[pr->cell], &k->evidence, false, line, sizeof line);
	printf("poll %d: canary %s control %s %s; step canary %.0f/%.0f control %.0f/%.0f",
	       pr->polls, can, ctl, sr_status_name(c->status), ca->step_n, ca->step_bad, co->step_n,
	       co->step_bad);
	if (ca->step_bound == ca->step_bound)
		printf(" slower than %gms", ca->step_bound);
	printf("; evidence: %s\n", line);
	fflush(stdout);
	if (pr->e->evidence[pr->cell].state == SR_EVS_WORSE) {
		pr->worse = true;
		uv_timer_stop(&pr->timer);
	} else if (pr->polls >= pr->max_polls) {
		uv_timer_stop(&pr->timer);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct probe *pr = t->data;
	if (pr->busy)
		return;
	pr->busy = true;
	pr->src->ops->poll(pr->src, wall_ms(), on_snapshot, pr);
}

int main(int argc, char **argv)
{
	if (argc != 8 || strcmp(argv[6], "--expect") != 0 ||
	    (strcmp(argv[7], "worse") != 0 && strcmp(argv[7], "none") != 0)) {
		fprintf(stderr, "usage: evidence_probe POLICY KPI JOURNEY|- SECONDS INTERVAL_S "
		                "--expect worse|none\n");
		return 2;
	}
	struct probe pr = {0};
	pr.p = calloc(1, sizeof *pr.p);
	pr.e = calloc(1, sizeof *pr.e);
	struct sr_prom_config *cfg = calloc(1, sizeof *cfg);
	if (!pr.p || !pr.e || !cfg)
		return 2;
	struct sr_policy_error perr;
	char err[512];
	if (policy_load_file(pr.p, argv[1], &perr) != 0) {
		policy_error_format(&perr, err, sizeof err);
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int kpi = policy_kpi_index(pr.p, argv[2]);
	int journey = strcmp(argv[3], "-") == 0 ? -1 : policy_journey_index(pr.p, argv[3]);
	pr.cell = kpi >= 0 ? policy_cell_index(pr.p, kpi, journey) : -1;
	if (pr.cell < 0) {
		fprintf(stderr, "no cell %s/%s in the policy\n", argv[2], argv[3]);
		return 2;
	}
	double seconds = atof(argv[4]), interval = atof(argv[5]);
	if (!(seconds > 0) || !(interval > 0))
		return 2;
	pr.max_polls = (int)(seconds / interval) + 1;
	if (policy_prometheus_config(pr.p, cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	uv_loop_t *loop = uv_default_loop();
	pr.src = prometheus_create(pr.p, cfg, loop, err, sizeof err);
	if (!pr.src) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	engine_init(pr.e, pr.p, wall_ms());
	uv_timer_init(loop, &pr.timer);
	pr.timer.data = &pr;
	uint64_t ms = (uint64_t)(interval * 1000);
	uv_timer_start(&pr.timer, on_tick, 0, ms);
	uv_run(loop, UV_RUN_DEFAULT);
	pr.src->ops->destroy(pr.src);
	uv_close((uv_handle_t *)&pr.timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	if (pr.worse)
		printf("worse after %d polls\n", pr.polls);
	else
		printf("never worse in %d polls\n", pr.polls);
	bool want = strcmp(argv[7], "worse") == 0;
	free(cfg);
	free(pr.e);
	free(pr.p);
	return pr.worse == want ? 0 : 1;
}
