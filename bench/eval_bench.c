/* eval_bench.c - what one full engine_evaluate() costs.
 *
 * The directive's policy (config/shiproom.json) extended to 50 journeys:
 * every per-journey KPI (P50, P95, P99, cache hit ratio, provider P95) gets
 * all 50, the global KPIs stay one cell each, so 268 cells (the binary
 * prints the count it used), each with a canary
 * and a control observation. The engine is stepped on a fake 15 s clock
 * at 25% with a few YELLOW cells (so reasons and the decision list are
 * exercised); only engine_evaluate() is timed. Prints the median of many
 * runs in microseconds, as one line. Nothing here asserts: figures go to
 * bench/README.
 *
 * Build and run without the Makefile (from the top of the tree, after
 * `make` has built build/libshiproom.a):
 *
 *   cc -std=c17 -O2 -Iinclude bench/eval_bench.c build/libshiproom.a \
 *      $(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o build/eval_bench
 *   build/eval_bench config/shiproom.json [runs] [unchanged|new] [evidence-off]
 *
 * Every observation carries a poll step's counts (snapshot.h: step_n,
 * step_bad; 25% canary, 1 in 20 requests slow or bad), so the cells
 * whose KPI has an evidence test (evidence.h) run it at every
 * evaluation; `evidence-off` disables the test on every KPI, for the
 * side-by-side cost of the test (bench/README.md).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shiproom/engine.h"

#define JOURNEYS 50
#include "bench_policy.h"
#define POLL_MS (15 * SR_MS_PER_S)
#define T0 1760000400000LL /* Thu 2025-10-09 09:00 UTC */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A healthy value for a KPI, or one inside its warning margin. */
static double value_for(const struct sr_policy *p, int kpi, bool yellow)
{
	const struct sr_kpi *k = &p->kpis[kpi];
	double lim = policy_kpi_limit(p, kpi, policy_phase_index(p, 25));
	switch (k->kind) {
	case SR_KIND_MAX: return yellow ? lim - k->warn_margin / 2 : lim * 0.5;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN: return yellow ? lim + k->warn_margin / 2 : lim + 2 * k->warn_margin;
	case SR_KIND_STREAK: return 0;
	case SR_KIND_MONITOR: return 100;
	default: return 10;
	}
}

/* step > 0: every non-zero healthy value moves a little at each poll
 * (as real Prometheus answers do), so no cell's reason can be kept. */
static void fill(struct sr_snapshot *s, const struct sr_policy *p, sr_ms now, int step)
{
	s->ncells = p->ncells;
	for (int i = 0; i < p->ncells; i++) {
		int k = p->cells[i].kpi;
		bool yellow = i % 17 == 3; /* a few cells inside their margin */
		double v = value_for(p, k, yellow), c = value_for(p, k, false);
		if (step > 0 && !yellow)
			v *= 1.0 + 0.001 * (step % 5 + 1);
		struct sr_obs *o[2] = {&s->canary[i], &s->control[i]};
		for (int j = 0; j < 2; j++) {
			memset(o[j], 0, sizeof *o[j]);
			o[j]->kind = SR_OBS_OK;
			o[j]->value = j == 0 ? v : c;
			o[j]->samples = 5000;
			o[j]->at = now;
			/* The step: 25% of 5000 requests in the canary, 5% of them bad
			 * in both cohorts (a slow-request share near control's P95). */
			o[j]->step_n = j == 0 ? 1250 : 3750;
			o[j]->step_bad = o[j]->step_n * 0.05;
		}
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "config/shiproom.json";
	int runs = argc > 2 ? atoi(argv[2]) : 5001;
	/* "unchanged" or "new": that row only (for callgrind); "evidence-off":
	 * no evidence test on any KPI (its cost is the difference) */
	const char *only = NULL;
	bool evidence_off = false;
	int journeys = JOURNEYS; /* "journeys=N": the growth rows (6, 50, 500) */
	for (int a = 3; a < argc; a++) {
		if (strcmp(argv[a], "evidence-off") == 0)
			evidence_off = true;
		else if (strncmp(argv[a], "journeys=", 9) == 0)
			journeys = atoi(argv[a] + 9);
		else
			only = argv[a];
	}
	if (runs < 11)
		runs = 11;
	struct sr_policy *p = calloc(1, sizeof *p);
	struct sr_engine *e = calloc(1, sizeof *e);
	struct sr_snapshot *s = calloc(1, sizeof *s);
	double *t = calloc((size_t)runs, sizeof *t);
	if (!p || !e || !s || !t) {
		fprintf(stderr, "eval_bench: out of memory\n");
		return 1;
	}
	struct sr_policy_error err;
	if (policy_load_file(p, path, &err) != 0) {
		char msg[1024];
		policy_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "eval_bench: %s\n", msg);
		return 1;
	}
	for (int k = 0; k < p->nkpis; k++)
		if (evidence_off)
			p->kpis[k].evidence.enabled = false;
	if (extend_policy_to(p, journeys) != 0) {
		fprintf(stderr, "eval_bench: more than %d journeys or %d cells\n", SR_MAX_JOURNEYS,
		        SR_MAX_CELLS);
		return 1;
	}

	/* At 25%, pre-flight done, gate 2 pending: the common case. */
	engine_init(e, p, T0);
	char why[SR_REASON_LEN];
	const struct sr_checklist *pf = policy_checklist(p, "preflight");
	for (int i = 0; pf && i < pf->nitems; i++)
		rollout_tick(&e->ro, p, "preflight", pf->items[i].id, "bench", T0, why, sizeof why);
	rollout_promote(&e->ro, p, p->phases[0].weight, T0, why, sizeof why);
	if (p->nphases > 1)
		rollout_promote(&e->ro, p, p->phases[1].weight, T0, why, sizeof why);

	sr_ms now = T0;
	struct sr_event ev[SR_MAX_EVENTS];
	for (int i = 0; i < 200; i++) { /* warm caches and the engine state */
		now += POLL_MS;
		fill(s, p, now, 0);
		engine_evaluate(e, s, now);
		engine_drain_events(e, ev, SR_MAX_EVENTS);
	}
	/* Two rows: the same values poll after poll (a steady canary, and every
	 * re-evaluation of a held snapshot), then every value new at each poll
	 * (the worst case: every reason text is written again). */
	static const char *const row[2] = {"values unchanged", "every value new"};
	for (int mode = 0; mode < 2; mode++) {
		if (only && strcmp(only, mode ? "new" : "unchanged") != 0)
			continue;
		for (int i = 0; i < runs; i++) {
			now += POLL_MS;
			fill(s, p, now, mode ? i + 1 : 0); /* not timed: the source's work */
			double a = now_us();
			engine_evaluate(e, s, now);
			t[i] = now_us() - a;
			engine_drain_events(e, ev, SR_MAX_EVENTS);
		}
		qsort(t, (size_t)runs, sizeof *t, cmp_double);
		int nevidence = 0;
		for (int i = 0; i < p->ncells; i++)
			nevidence += p->kpis[p->cells[i].kpi].evidence.enabled;
		printf(
		    "eval_bench: engine_evaluate, %d journeys x 2 cohorts (%d cells), %s: median "
		    "%.1f us, p90 %.1f us, min %.1f us over %d runs (verdict %s; %d cells with an "
		    "evidence test)\n",
		    journeys, p->ncells, row[mode], t[runs / 2], t[runs * 9 / 10], t[0], runs,
		    sr_verdict_name(e->decision.verdict), nevidence);
	}
	free(t);
	free(s);
	free(e);
	free(p);
	return 0;
}
