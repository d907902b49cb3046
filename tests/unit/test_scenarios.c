/* test_scenarios.c - every config/scenarios/NAME.json reaches its documented
 * decision at its documented time.
 *
 * Each scenario is loaded against the shipped policy and played headless
 * on the simulator with runner_advance(), exactly as `shiproom status`
 * does; at every `expect` entry the verdict, rollout state, canary weight
 * (the rollout's and the simulated edge's) and firing trigger are
 * checked. All mismatches of a scenario are reported before it fails, so
 * one run shows the whole picture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"

#include "engine_fixture.h"

#define SCEN_DIR SR_DATADIR "/config/scenarios"

static const struct sr_policy *policy;

static int setup(void **state)
{
	(void)state;
	policy = fx_shipped_policy(); /* the shared fixture loads it once */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return 0;
}

static int trigger_index(const char *id)
{
	for (int t = 0; t < policy->ntriggers; t++)
		if (strcmp(policy->triggers[t].id, id) == 0)
			return t;
	return -1;
}

static int cmp_expect(const void *a, const void *b)
{
	const struct sr_expect *x = a, *y = b;
	return (x->at_min > y->at_min) - (x->at_min < y->at_min);
}

/* Play one scenario; returns the number of failed checks. */
static int play_scenario(const char *path, int *nexpect)
{
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_runner *r = calloc(1, sizeof *r);
	struct sr_policy_error err;
	int failed = 0;
	assert_non_null(sc);
	assert_non_null(r);
	if (scenario_load_file(sc, policy, path, &err) != 0) {
		char msg[1024];
		policy_error_format(&err, msg, sizeof msg);
		print_error("%s: does not load: %s\n", path, msg);
		free(sc);
		free(r);
		return 1;
	}
	struct sr_sim *sim = sim_create(policy, sc);
	assert_non_null(sim);
	runner_init(r, policy, sc, sim_source(sim), sim_edge(sim), false, "test");
	r->sim = sim;

	struct sr_expect ex[SR_MAX_EXPECT];
	memcpy(ex, sc->expect, sizeof ex[0] * (size_t)sc->nexpect);
	qsort(ex, (size_t)sc->nexpect, sizeof ex[0], cmp_expect);
	*nexpect = sc->nexpect;
	if (sc->nexpect == 0) {
		print_error("%s: no expect entries: the scenario documents nothing\n", sc->name);
		failed++;
	}
	for (int i = 0; i < sc->nexpect; i++) {
		const struct sr_expect *e = &ex[i];
		sr_ms at = sc->t0 + (sr_ms)e->at_min * SR_MS_PER_MIN;
		runner_advance(r, at);
		const char *state = rollout_state_name(
		    rollout_state(&r->engine.ro, policy, r->now));
		enum sr_verdict v = r->engine.decision.verdict;
		char where[96];
		snprintf(where, sizeof where, "%s at T%+d", sc->name, e->at_min);
		if (r->now != at) {
			print_error("%s: the runner stopped at %lld, not %lld\n", where,
			            (long long)r->now, (long long)at);
			failed++;
		}
		if (e->has_verdict && v != e->verdict) {
			print_error("%s: decision %s, expected %s (%s)\n", where,
			            sr_verdict_name(v), sr_verdict_name(e->verdict),
			            r->engine.decision.nreasons ? r->engine.decision.reasons[0]
			                                        : "");
			failed++;
		}
		if (e->state[0] && strcmp(state, e->state) != 0) {
			print_error("%s: state %s, expected %s\n", where, state, e->state);
			failed++;
		}
		if (e->weight >= 0 &&
		    (r->engine.ro.weight != e->weight || sim_weight(sim) != e->weight)) {
			print_error("%s: weight %d (edge %d), expected %d\n", where,
			            r->engine.ro.weight, sim_weight(sim), e->weight);
			failed++;
		}
		if (e->trigger[0]) {
			int t = trigger_index(e->trigger);
			if (t < 0 || r->engine.triggers[t].state != SR_TRIG_FIRING) {
				print_error(
				    "%s: trigger %s is %s, expected firing\n", where, e->trigger,
				    t < 0 ? "unknown"
				          : trigger_state_name(r->engine.triggers[t].state));
				failed++;
			}
		}
	}
	if (failed) {
		print_error("%s: last log entries:\n", sc->name);
		for (int i = 7; i >= 0; i--) {
			const struct sr_log_entry *l = runner_log_entry(r, i);
			if (l)
				print_error("  T%+lld %s %s\n",
				            (long long)((l->at - sc->t0) / SR_MS_PER_MIN), l->actor,
				            l->text);
		}
	}
	sim_destroy(sim);
	free(r);
	free(sc);
	return failed;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_every_scenario(void **state)
{
	(void)state;
	DIR *d = opendir(SCEN_DIR);
	assert_non_null(d);
	struct dirent *de;
	int nfiles = 0, failed = 0, checks = 0;
	while ((de = readdir(d)) != NULL) {
		if (!ends_with(de->d_name, ".json"))
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", SCEN_DIR, de->d_name);
		int n = 0, f = play_scenario(path, &n);
		print_message("scenario %-24s %2d expectations, %s\n", de->d_name, n,
		              f ? "FAILED" : "ok");
		failed += f;
		checks += n;
		nfiles++;
	}
	closedir(d);
	assert_true(nfiles >= 6);
	assert_true(checks >= 6 * 4);
	assert_int_equal(failed, 0);
}

/* The scenarios the documentation names must exist. */
static void test_documented_scenarios_exist(void **state)
{
	(void)state;
	static const char *const names[] = {"healthy",       "p95-regression-25", "payment-streak",
	                                    "sustained-5xx", "metrics-stale",     "overnight-hold",
	                                    "subtle-5xx-5"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[1024];
		scenario_path(path, sizeof path, SCEN_DIR, names[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			print_error("missing scenario %s (%s)\n", names[i], path);
		assert_non_null(f);
		fclose(f);
	}
}

/* What the evidence tests said over a whole headless play, poll by poll. */
struct evidence_watch {
	int cell;                 /* the cell to follow */
	sr_ms first_worse;        /* when it first said "worse" (0: never) */
	long first_worse_min;     /* ... in minutes from T-0 */
	int first_worse_weight;   /* the canary weight then */
	int any_worse_cells;      /* cells of any KPI that ever said "worse" */
	int non_green_polls_5pct; /* polls at 5% (after the first 2 min) with a
	                             gating cell not GREEN */
	int polls;
};

static void watch_evidence(const char *name, int cell, struct evidence_watch *w)
{
	char path[1024];
	scenario_path(path, sizeof path, SCEN_DIR, name);
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_policy_error err;
	assert_non_null(sc);
	assert_int_equal(scenario_load_file(sc, policy, path, &err), 0);
	struct sr_runner *r = calloc(1, sizeof *r);
	struct sr_sim *sim = sim_create(policy, sc);
	assert_non_null(r);
	assert_non_null(sim);
	runner_init(r, policy, sc, sim_source(sim), sim_edge(sim), false, "test");
	r->sim = sim;
	memset(w, 0, sizeof *w);
	w->cell = cell;
	bool worse[SR_MAX_CELLS] = {false};
	sr_ms end = sc->t0 + (sr_ms)sc->end_min * SR_MS_PER_MIN;
	for (sr_ms at = sc->t0 + (sr_ms)sc->start_min * SR_MS_PER_MIN; at <= end;
	     at += policy->poll_ms) {
		runner_advance(r, at);
		const struct sr_engine *e = &r->engine;
		w->polls++;
		for (int i = 0; i < policy->ncells; i++) {
			if (e->evidence[i].state != SR_EVS_WORSE || worse[i])
				continue;
			worse[i] = true;
			w->any_worse_cells++;
			if (i == cell) {
				w->first_worse = at;
				w->first_worse_min = (long)((at - sc->t0) / SR_MS_PER_MIN);
				w->first_worse_weight = e->ro.weight;
			}
		}
		if (e->ro.weight == 5 && at >= sc->t0 + 2 * SR_MS_PER_MIN && !e->ro.rolled_back)
			for (int i = 0; i < policy->ncells; i++)
				if (policy->kpis[policy->cells[i].kpi].gating &&
				    e->cells[i].status != SR_GREEN) {
					char t[SR_REASON_LEN];
					engine_cell_summary(e, i, t, sizeof t);
					print_error("%s at T%+lld: %s\n", name,
					            (long long)((at - sc->t0) / SR_MS_PER_MIN), t);
					w->non_green_polls_5pct++;
					break;
				}
	}
	sim_destroy(sim);
	free(r);
	free(sc);
}

/* subtle-5xx-5: the canary's 5xx rate is 1.6x control's but always under
 * the 0.5% limit. The fixed limits never see it; the evidence test says
 * "worse" while the canary is still at 5%. */
static void test_subtle_regression_found_at_5_percent(void **state)
{
	(void)state;
	int cell = policy_cell_index(policy, policy_kpi_index(policy, "error_rate_5xx"), -1);
	assert_true(cell >= 0);
	struct evidence_watch w;
	watch_evidence("subtle-5xx-5", cell, &w);
	print_message("subtle-5xx-5: 5xx evidence worse at T%+ld (weight %d), %d polls\n",
	              w.first_worse_min, w.first_worse_weight, w.polls);
	assert_int_equal(w.non_green_polls_5pct, 0);
	assert_true(w.first_worse != 0);
	assert_int_equal(w.first_worse_weight, 5);
}

/* healthy: canary and control are the same; no evidence test of any
 * cell may ever say "worse", all day. */
static void test_healthy_never_worse(void **state)
{
	(void)state;
	struct evidence_watch w;
	watch_evidence("healthy", 0, &w);
	assert_true(w.polls > 2000);
	assert_int_equal(w.any_worse_cells, 0);
}

/* A policy may make the test a hold reason or a rollback trigger
 * (evidence.action): subtle-5xx-5 at T+30, 5xx test worse, every limit
 * GREEN. Display (the shipped default) leaves the decision alone. */
static enum sr_verdict verdict_with_action(enum sr_evidence_action action, char *reason, size_t n)
{
	struct sr_policy *pol = malloc(sizeof *pol);
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_runner *r = calloc(1, sizeof *r);
	assert_non_null(pol);
	assert_non_null(sc);
	assert_non_null(r);
	memcpy(pol, policy, sizeof *pol);
	pol->kpis[policy_kpi_index(pol, "error_rate_5xx")].evidence.action = action;
	char path[1024];
	struct sr_policy_error err;
	scenario_path(path, sizeof path, SCEN_DIR, "subtle-5xx-5");
	assert_int_equal(scenario_load_file(sc, pol, path, &err), 0);
	struct sr_sim *sim = sim_create(pol, sc);
	runner_init(r, pol, sc, sim_source(sim), sim_edge(sim), false, "test");
	r->sim = sim;
	runner_advance(r, sc->t0 + 30 * SR_MS_PER_MIN);
	enum sr_verdict v = r->engine.decision.verdict;
	reason[0] = '\0';
	for (int i = 0; i < r->engine.decision.nreasons; i++)
		if (strstr(r->engine.decision.reasons[i], "evidence"))
			snprintf(reason, n, "%s", r->engine.decision.reasons[i]);
	sim_destroy(sim);
	free(r);
	free(sc);
	free(pol);
	return v;
}

static void test_evidence_actions(void **state)
{
	(void)state;
	char why[SR_REASON_LEN];
	/* display: observing at 5% holds anyway, but not because of the test */
	assert_int_equal(verdict_with_action(SR_EVID_DISPLAY, why, sizeof why), SR_HOLD);
	assert_string_equal(why, "");
	assert_int_equal(verdict_with_action(SR_EVID_HOLD, why, sizeof why), SR_HOLD);
	assert_non_null(strstr(why, "5xx error rate evidence: canary WORSE >1.2x"));
	assert_int_equal(verdict_with_action(SR_EVID_ROLLBACK, why, sizeof why), SR_ROLLBACK);
	assert_non_null(strstr(why, "5xx error rate evidence: canary WORSE >1.2x"));
}

/* Two headless plays of one scenario agree exactly. */
static void test_replay_identical(void **state)
{
	(void)state;
	char path[1024];
	scenario_path(path, sizeof path, SCEN_DIR, "p95-regression-25");
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_policy_error err;
	assert_int_equal(scenario_load_file(sc, policy, path, &err), 0);
	struct sr_runner *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct sr_sim *sa = sim_create(policy, sc), *sb = sim_create(policy, sc);
	runner_init(a, policy, sc, sim_source(sa), sim_edge(sa), false, "test");
	runner_init(b, policy, sc, sim_source(sb), sim_edge(sb), false, "test");
	sr_ms until = sc->t0 + 140 * SR_MS_PER_MIN;
	runner_advance(a, until);
	runner_advance(b, until);
	assert_int_equal(a->nlog, b->nlog);
	for (int c = 0; c < policy->ncells; c++) {
		const struct sr_cell_state *x = &a->engine.cells[c], *y = &b->engine.cells[c];
		assert_int_equal(x->status, y->status);
		assert_true((x->canary != x->canary && y->canary != y->canary) ||
		            x->canary == y->canary);
	}
	for (int i = 0; i < a->nlog && i < SR_LOG_LEN; i++)
		assert_string_equal(runner_log_entry(a, i)->text, runner_log_entry(b, i)->text);
	sim_destroy(sa);
	sim_destroy(sb);
	free(a);
	free(b);
	free(sc);
}

/* A scenario played by a runner on the simulator up to T+minutes. */
struct played {
	struct sr_scenario *sc;
	struct sr_sim *sim;
	struct sr_runner *r;
};

static struct played play(const char *scenario, int minutes)
{
	char path[1024];
	scenario_path(path, sizeof path, SCEN_DIR, scenario);
	struct played pl = {.sc = calloc(1, sizeof *pl.sc), .r = calloc(1, sizeof *pl.r)};
	assert_non_null(pl.sc);
	assert_non_null(pl.r);
	struct sr_policy_error err;
	assert_int_equal(scenario_load_file(pl.sc, policy, path, &err), 0);
	pl.sim = sim_create(policy, pl.sc);
	assert_non_null(pl.sim);
	runner_init(pl.r, policy, pl.sc, sim_source(pl.sim), sim_edge(pl.sim), false, "test");
	runner_advance(pl.r, pl.sc->t0 + minutes * SR_MS_PER_MIN);
	return pl;
}

static void played_free(struct played *pl)
{
	sim_destroy(pl->sim);
	free(pl->r);
	free(pl->sc);
}

static int search_p95(void)
{
	return policy_cell_index(policy, policy_kpi_index(policy, "p95_latency"),
	                         policy_journey_index(policy, "search"));
}

/* The history ring: one point per minute whatever the poll rate, and a
 * gap (NAN) wherever the data was not trustworthy. */
static void test_history(void **state)
{
	(void)state;
	struct played pl = play("metrics-stale", 105);
	struct sr_runner *r = pl.r;
	int c = search_p95();
	assert_true(c >= 0);
	/* T-130 .. T+105 inclusive, one point a minute */
	assert_int_equal(r->history.len, 105 + 130 + 1);
	float can, ctl, lim;
	enum sr_status st;
	/* newest: T+105, fresh at 25% */
	assert_true(history_point(&r->history, c, 0, &can, &ctl, &lim, &st));
	assert_true(isfinite(can) && can > 50 && can < 130);
	assert_int_equal(st, SR_GREEN);
	/* T+95: frozen source, STALE: a gap, never the old number */
	assert_true(history_point(&r->history, c, 10, &can, &ctl, &lim, &st));
	assert_int_equal(st, SR_STALE);
	assert_true(isnan(can) && isnan(ctl));
	assert_true(lim > 0); /* the limit line continues */
	/* T+80: fresh at 5% */
	assert_true(history_point(&r->history, c, 25, &can, &ctl, &lim, &st));
	assert_true(isfinite(can));
	/* T-100: no canary traffic yet, control known: a gap */
	assert_true(history_point(&r->history, c, 205, &can, &ctl, &lim, &st));
	assert_true(isnan(can));
	assert_false(history_point(&r->history, c, 236, &can, &ctl, &lim, &st));
	played_free(&pl);
}

/* A point's limit is the one its cell was judged at (the ring keeps a
 * row's phase, history.h): the newest is the cell's own, and across the
 * healthy day's promotion to 50% the P95 line steps from 130 to 120. */
static void test_history_limit_follows_the_phase(void **state)
{
	(void)state;
	struct played pl = play("healthy", 350);
	struct sr_runner *r = pl.r;
	int c = search_p95();
	float can, ctl, lim;
	enum sr_status st;
	assert_true(history_point(&r->history, c, 0, &can, &ctl, &lim, &st));
	assert_true(lim == (float)r->engine.cells[c].limit);
	int at130 = 0, at120 = 0, other = 0;
	for (int i = 0; history_point(&r->history, c, i, &can, &ctl, &lim, &st); i++) {
		if (lim == 130.0f)
			at130++;
		else if (lim == 120.0f)
			at120++;
		else
			other++;
		if (lim == 120.0f)
			assert_int_equal(at130, 0); /* newest first: 120 after 130 */
	}
	assert_true(at130 > 0 && at120 > 0);
	assert_int_equal(other, 0);
	played_free(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_documented_scenarios_exist),
	    cmocka_unit_test(test_every_scenario),
	    cmocka_unit_test(test_replay_identical),
	    cmocka_unit_test(test_subtle_regression_found_at_5_percent),
	    cmocka_unit_test(test_healthy_never_worse),
	    cmocka_unit_test(test_evidence_actions),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_history_limit_follows_the_phase),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
