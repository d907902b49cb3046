/* test_sim.c - the simulator: histogram_quantile, determinism, the traffic
 * split, effects, and the source's failure modes (freeze, error).
 *
 * Runs against the shipped policy (config/shiproom.json) with scenarios
 * built in code, so these tests do not depend on the scenario loader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/engine.h"
#include "shiproom/policy.h"
#include "shiproom/sim.h"

#include "engine_fixture.h"

#define MIN SR_MS_PER_MIN
/* 2025-10-08T08:00:00Z */
#define T0 1759910400000LL

static const struct sr_policy *policy;

/* cmocka 1.1's assert_float_equal compares floats and accepts INFINITY
 * as equal to anything: not good enough for the +Inf bucket rule. */
#define assert_close(a, b, eps) assert_close_at((a), (b), (eps), __FILE__, __LINE__)

static void assert_close_at(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%s:%d: %.12g is not %.12g (+-%g)\n", file, line, a, b, eps);
		fail();
	}
}

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

static void scenario_init(struct sr_scenario *sc, uint64_t seed)
{
	memset(sc, 0, sizeof *sc);
	snprintf(sc->name, sizeof sc->name, "test");
	sc->t0 = T0;
	sc->seed = seed;
	sc->start_min = -130;
	sc->end_min = 600;
	for (int j = 0; j < policy->njourneys; j++)
		sc->rps[j] = 40;
}

static void add_effect(struct sr_scenario *sc, int from, int to, enum sr_effect_op op, int kpi,
                       int journey, enum sr_cohort_sel cohort, double amount)
{
	struct sr_effect *e = &sc->effects[sc->neffects++];
	e->from_min = from;
	e->to_min = to;
	e->op = op;
	e->kpi = kpi;
	e->journey = journey;
	e->cohort = cohort;
	e->amount = amount;
}

static void edge_cb(void *ud, int result, int weight, const char *err)
{
	int *out = ud;
	out[0] = result;
	out[1] = weight;
	out[2] = err && err[0] ? 1 : 0;
}

static void set_weight(struct sr_sim *sim, int w)
{
	struct sr_edge *e = sim_edge(sim);
	int got[3] = {99, -2, 0};
	e->ops->set_weight(e, w, false, "test", edge_cb, got);
	assert_int_equal(got[0], 0); /* called back before returning */
	assert_int_equal(got[1], w);
}

static struct sr_snapshot *last;

static void poll_cb(void *ud, struct sr_snapshot *snap)
{
	(void)ud;
	last = snap;
}

static struct sr_snapshot *poll_at(struct sr_sim *sim, sr_ms now)
{
	last = NULL;
	struct sr_source *src = sim_source(sim);
	src->ops->poll(src, now, poll_cb, NULL);
	assert_non_null(last);
	return last;
}

static int cell_of(const char *kpi, const char *journey)
{
	int k = policy_kpi_index(policy, kpi);
	int j = journey ? policy_journey_index(policy, journey) : -1;
	assert_true(k >= 0);
	int c = policy_cell_index(policy, k, j);
	assert_true(c >= 0);
	return c;
}

/* ---- histogram_quantile -------------------------------------------------- */

static void test_quantile_hand_computed(void **state)
{
	(void)state;
	const double b[] = {10, 20, 40, INFINITY};
	const double c[] = {10, 30, 40, 40};
	/* rank 20 in (10,20]: 10 + 10 * (20-10)/20 */
	assert_close(sim_histogram_quantile(0.5, b, c, 4), 15.0, 1e-9);
	/* rank 38 in (20,40]: 20 + 20 * (38-30)/10 */
	assert_close(sim_histogram_quantile(0.95, b, c, 4), 36.0, 1e-9);
	/* rank 4 in the first bucket, interpolated from 0 */
	assert_close(sim_histogram_quantile(0.1, b, c, 4), 4.0, 1e-9);
	/* q = 1: the rank is the total, found in (20,40] */
	assert_close(sim_histogram_quantile(1.0, b, c, 4), 40.0, 1e-9);
}

static void test_quantile_edges(void **state)
{
	(void)state;
	const double b[] = {10, 20, 40, INFINITY};
	/* rank 47.5 falls in +Inf: the upper bound of the last finite bucket */
	const double inf[] = {10, 30, 40, 50};
	assert_close(sim_histogram_quantile(0.95, b, inf, 4), 40.0, 1e-9);
	/* no observations: NaN */
	const double empty[] = {0, 0, 0, 0};
	assert_true(isnan(sim_histogram_quantile(0.5, b, empty, 4)));
	/* the highest bucket must be +Inf */
	const double nolast[] = {10, 20, 40, 80};
	assert_true(isnan(sim_histogram_quantile(0.5, nolast, inf, 4)));
	/* fewer than two buckets */
	const double one_b[] = {INFINITY}, one_c[] = {5};
	assert_true(isnan(sim_histogram_quantile(0.5, one_b, one_c, 1)));
	/* q out of range */
	assert_true(isinf(sim_histogram_quantile(-0.1, b, inf, 4)) &&
	            sim_histogram_quantile(-0.1, b, inf, 4) < 0);
	assert_true(isinf(sim_histogram_quantile(1.5, b, inf, 4)) &&
	            sim_histogram_quantile(1.5, b, inf, 4) > 0);
	assert_true(isnan(sim_histogram_quantile(NAN, b, inf, 4)));
	/* non-monotonic counts are made monotonic: {10,5,40,40} -> {10,10,40,40};
	 * rank 20 in (20,40]: 20 + 20 * (20-10)/30 */
	const double bumpy[] = {10, 5, 40, 40};
	assert_close(sim_histogram_quantile(0.5, b, bumpy, 4), 20.0 + 20.0 * 10.0 / 30.0, 1e-9);
	/* a first bucket with a bound <= 0 returns the bound */
	const double nb[] = {0, 10, INFINITY}, nc[] = {5, 10, 10};
	assert_close(sim_histogram_quantile(0.2, nb, nc, 3), 0.0, 1e-9);
}

/* ---- determinism ------------------------------------------------------------ */

static bool obs_same(const struct sr_obs *a, const struct sr_obs *b)
{
	bool v = (isnan(a->value) && isnan(b->value)) || a->value == b->value;
	return v && a->kind == b->kind && a->samples == b->samples && a->at == b->at;
}

static void play(struct sr_sim *sim, sr_ms step, sr_ms until)
{
	set_weight(sim, 5);
	for (sr_ms t = T0; t <= until; t += step)
		poll_at(sim, t);
}

static void test_same_seed_same_snapshots(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 42);
	struct sr_sim *a = sim_create(policy, &sc), *b = sim_create(policy, &sc);
	assert_non_null(a);
	assert_non_null(b);
	set_weight(a, 25);
	set_weight(b, 25);
	for (sr_ms t = T0; t <= T0 + 30 * MIN; t += 15000) {
		struct sr_snapshot *sa = poll_at(a, t);
		struct sr_snapshot sa_copy = *sa;
		struct sr_snapshot *sb = poll_at(b, t);
		for (int c = 0; c < policy->ncells; c++) {
			assert_true(obs_same(&sa_copy.canary[c], &sb->canary[c]));
			assert_true(obs_same(&sa_copy.control[c], &sb->control[c]));
		}
	}
	sim_destroy(a);
	sim_destroy(b);
}

static void test_different_seed_differs(void **state)
{
	(void)state;
	struct sr_scenario s1, s2;
	scenario_init(&s1, 1);
	scenario_init(&s2, 2);
	struct sr_sim *a = sim_create(policy, &s1), *b = sim_create(policy, &s2);
	set_weight(a, 25);
	set_weight(b, 25);
	struct sr_snapshot sa = *poll_at(a, T0 + 10 * MIN);
	struct sr_snapshot *sb = poll_at(b, T0 + 10 * MIN);
	int differ = 0;
	for (int c = 0; c < policy->ncells; c++)
		differ += !obs_same(&sa.canary[c], &sb->canary[c]);
	assert_true(differ > policy->ncells / 2);
	sim_destroy(a);
	sim_destroy(b);
}

/* The data at a time does not depend on how often anyone polled. */
static void test_poll_rate_independent(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 9);
	struct sr_sim *a = sim_create(policy, &sc), *b = sim_create(policy, &sc);
	sr_ms end = T0 + 20 * MIN;
	play(a, 15000, end);
	play(b, 4000, end - 4000 * 5); /* a different rhythm, ... */
	struct sr_snapshot sa = *poll_at(a, end);
	struct sr_snapshot *sb = poll_at(b, end); /* ... same final time */
	for (int c = 0; c < policy->ncells; c++) {
		assert_true(obs_same(&sa.canary[c], &sb->canary[c]));
		assert_true(obs_same(&sa.control[c], &sb->control[c]));
	}
	sim_destroy(a);
	sim_destroy(b);
}

/* ---- the traffic split ------------------------------------------------------ */

static void test_samples_scale_with_weight(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 3);
	struct sr_sim *a = sim_create(policy, &sc), *b = sim_create(policy, &sc);
	int c = cell_of("p95_latency", "search");
	set_weight(a, 5);
	set_weight(b, 50);
	struct sr_snapshot sa = *poll_at(a, T0 + 5 * MIN);
	struct sr_snapshot *sb = poll_at(b, T0 + 5 * MIN);
	/* 40 rps * 60 s: 120 canary requests at 5%, 1200 at 50% */
	assert_true(sa.canary[c].samples > 90 && sa.canary[c].samples < 150);
	assert_true(sb->canary[c].samples > 1100 && sb->canary[c].samples < 1300);
	assert_true(sa.control[c].samples > 2150 && sa.control[c].samples < 2420);
	double ratio = sb->canary[c].samples / sa.canary[c].samples;
	assert_true(ratio > 8 && ratio < 12.5);
	/* healthy search P95 is realistic and under the 120 ms limit */
	assert_true(sb->canary[c].value > 60 && sb->canary[c].value < 110);
	sim_destroy(a);
	sim_destroy(b);
}

/* The poll step's counts for the evidence test (snapshot.h step_*):
 * ratio cells count the step's requests and bad events; latency cells
 * count requests slower than a boundary picked from control's P95 at the
 * PREVIOUS poll, fixed before the step's split is seen, as the test's
 * validity needs (a boundary from the step's own control data leans
 * away from control's slow requests). */
static void test_step_counts(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 3);
	struct sr_sim *sim = sim_create(policy, &sc);
	set_weight(sim, 25);
	int lat = cell_of("p95_latency", "search"), err = cell_of("error_rate_5xx", NULL);
	struct sr_snapshot s1 = *poll_at(sim, T0 + 5 * MIN);
	/* First poll: no boundary chosen yet, so no latency step. */
	assert_true(isnan(s1.canary[lat].step_n) && isnan(s1.control[lat].step_bad));
	/* The ratio cell's first step is everything since the start: here
	 * the first 60 s window (40 rps * 60 s * 25% ... of the global rps). */
	assert_true(s1.canary[err].step_n > 0 && s1.control[err].step_n > s1.canary[err].step_n);
	double p95 = s1.control[lat].value;
	struct sr_snapshot *s2 = poll_at(sim, T0 + 5 * MIN + 15000);
	/* 15 s of 40 rps: ~150 canary and ~450 control requests in the step. */
	assert_true(s2->canary[lat].step_n > 100 && s2->canary[lat].step_n < 200);
	assert_true(s2->control[lat].step_n > 380 && s2->control[lat].step_n < 520);
	assert_true(s2->canary[lat].step_bound >= p95);
	assert_true(s2->control[lat].step_bound == s2->canary[lat].step_bound);
	assert_true(s2->canary[lat].step_bad >= 0 &&
	            s2->canary[lat].step_bad < s2->canary[lat].step_n);
	/* The ratio step is the 15 s since the last poll, not the window. */
	assert_true(s2->canary[err].step_n < s1.canary[err].step_n / 2);
	sim_destroy(sim);
}

static void test_weight_zero_has_no_canary(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 3);
	struct sr_sim *sim = sim_create(policy, &sc);
	struct sr_snapshot *s = poll_at(sim, T0 - 60 * MIN);
	int c = cell_of("p95_latency", "search");
	assert_int_equal(s->canary[c].kind, SR_OBS_NOSERIES);
	assert_true(isnan(s->canary[c].value));
	assert_int_equal(s->control[c].kind, SR_OBS_OK);
	sim_destroy(sim);
}

/* ---- effects ------------------------------------------------------------------ */

/* issue 9: the payment-streak scenario showed 6 consecutive failures next
 * to 100.0% payment success. One set of payments is behind both: every
 * poll, in both cohorts, the success ratio counts at least as many failed
 * payments as the longest run the streak reports. */
static void test_streak_and_success_agree(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 5);
	int k = policy_kpi_index(policy, "payment_failure_streak");
	add_effect(&sc, 30, 31, SR_FX_SET, k, -1, SR_COHORT_CANARY, 6);
	/* and a failure rate high enough that random runs happen too */
	add_effect(&sc, 0, 600, SR_FX_SCALE, k, -1, SR_COHORT_BOTH, 20);
	struct sr_sim *sim = sim_create(policy, &sc);
	int streak = cell_of("payment_failure_streak", NULL);
	int success = cell_of("payment_success", NULL);
	set_weight(sim, 25);
	int runs = 0;
	for (sr_ms t = T0 + 20 * MIN; t <= T0 + 120 * MIN; t += 15 * SR_MS_PER_S) {
		struct sr_snapshot *s = poll_at(sim, t);
		const struct sr_obs *o[2][2] = {{&s->canary[streak], &s->canary[success]},
		                                {&s->control[streak], &s->control[success]}};
		for (int v = 0; v < 2; v++) {
			if (o[v][0]->kind != SR_OBS_OK || o[v][1]->kind != SR_OBS_OK)
				continue;
			double run = o[v][0]->value;
			double failed = (100.0 - o[v][1]->value) / 100.0 * o[v][1]->samples;
			runs += run > 0;
			if (failed + 0.5 < run)
				fail_msg(
				    "at T+%lld the %s shows %g consecutive failures but %.2f%% "
				    "success of %g payments",
				    (long long)((t - T0) / MIN), v ? "control" : "canary", run,
				    o[v][1]->value, o[v][1]->samples);
		}
	}
	assert_true(runs > 0); /* the invariant was put to the test */
	sim_destroy(sim);
}

static void test_effect_in_window_only(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 11);
	int k = policy_kpi_index(policy, "p95_latency");
	int j = policy_journey_index(policy, "search");
	add_effect(&sc, 10, 20, SR_FX_SCALE, k, j, SR_COHORT_CANARY, 2.0);
	struct sr_sim *sim = sim_create(policy, &sc);
	int c = cell_of("p95_latency", "search");
	int other = cell_of("p95_latency", "payments");
	set_weight(sim, 50);
	double before = poll_at(sim, T0 + 9 * MIN)->canary[c].value;
	struct sr_snapshot during = *poll_at(sim, T0 + 15 * MIN);
	double after = poll_at(sim, T0 + 22 * MIN)->canary[c].value;
	assert_true(before < 120);
	assert_true(during.canary[c].value > 150);
	assert_true(during.control[c].value < 120);    /* cohort respected */
	assert_true(during.canary[other].value < 120); /* journey respected */
	assert_true(after < 120);
	/* P99 of the same journey reads the same histogram */
	int p99 = cell_of("p99_latency", "search");
	assert_true(during.canary[p99].value > during.canary[c].value);
	sim_destroy(sim);
}

/* Every latency cell at `at` of a sim that lived through changing
 * latency effects equals that of a fresh sim that has only the effect
 * then in force, always: slots are a function of time and of the
 * effects at their time, not of what the sim computed before (the
 * bucket odds are solved once per effect and kept while it lasts). */
static void assert_latency_as_fresh(struct sr_sim *lived, sr_ms at, enum sr_effect_op op1,
                                    double a1, enum sr_effect_op op2, double a2)
{
	struct sr_scenario sc;
	scenario_init(&sc, 31);
	int k = policy_kpi_index(policy, "p95_latency");
	int j = policy_journey_index(policy, "search");
	if (a1 != 0)
		add_effect(&sc, -130, 600, op1, k, j, SR_COHORT_CANARY, a1);
	if (a2 != 0)
		add_effect(&sc, -130, 600, op2, k, j, SR_COHORT_CANARY, a2);
	struct sr_sim *fresh = sim_create(policy, &sc);
	set_weight(fresh, 50);
	struct sr_snapshot got = *poll_at(lived, at);
	struct sr_snapshot *want = poll_at(fresh, at);
	for (int c = 0; c < policy->ncells; c++) {
		if (policy->kpis[policy->cells[c].kpi].signal != SR_SIG_LATENCY)
			continue;
		if (!obs_same(&got.canary[c], &want->canary[c]) ||
		    !obs_same(&got.control[c], &want->control[c])) {
			print_error("cell %d at T+%lld: %.6g lived, %.6g fresh\n", c,
			            (long long)((at - T0) / MIN), got.canary[c].value,
			            want->canary[c].value);
			fail();
		}
	}
	sim_destroy(fresh);
}

static void test_latency_effects_change_in_time(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 31);
	int k = policy_kpi_index(policy, "p95_latency");
	int j = policy_journey_index(policy, "search");
	add_effect(&sc, 10, 20, SR_FX_SCALE, k, j, SR_COHORT_CANARY, 1.5);
	add_effect(&sc, 20, 30, SR_FX_ADD, k, j, SR_COHORT_CANARY, 30);
	add_effect(&sc, 30, 40, SR_FX_SCALE, k, j, SR_COHORT_CANARY, 1.5);
	add_effect(&sc, 30, 40, SR_FX_ADD, k, j, SR_COHORT_CANARY, 10);
	struct sr_sim *sim = sim_create(policy, &sc);
	set_weight(sim, 50);
	assert_latency_as_fresh(sim, T0 + 5 * MIN, SR_FX_SCALE, 0, SR_FX_ADD, 0);
	assert_latency_as_fresh(sim, T0 + 15 * MIN, SR_FX_SCALE, 1.5, SR_FX_ADD, 0);
	assert_latency_as_fresh(sim, T0 + 25 * MIN, SR_FX_SCALE, 0, SR_FX_ADD, 30);
	assert_latency_as_fresh(sim, T0 + 35 * MIN, SR_FX_SCALE, 1.5, SR_FX_ADD, 10);
	assert_latency_as_fresh(sim, T0 + 45 * MIN, SR_FX_SCALE, 0, SR_FX_ADD, 0);
	sim_destroy(sim);
}

static void test_ratio_set_effect(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 12);
	int k = policy_kpi_index(policy, "error_rate_5xx");
	add_effect(&sc, 10, 20, SR_FX_SET, k, -1, SR_COHORT_CANARY, 2.0);
	struct sr_sim *sim = sim_create(policy, &sc);
	int c = cell_of("error_rate_5xx", NULL);
	set_weight(sim, 25);
	double before = poll_at(sim, T0 + 9 * MIN)->canary[c].value;
	double during = poll_at(sim, T0 + 15 * MIN)->canary[c].value;
	assert_true(before < 0.25); /* half the 0.5% limit at most */
	assert_true(during > 1.5 && during < 2.5);
	sim_destroy(sim);
}

static void test_streak_forced(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 13);
	int k = policy_kpi_index(policy, "payment_failure_streak");
	add_effect(&sc, 10, 11, SR_FX_SET, k, -1, SR_COHORT_CANARY, 6);
	struct sr_sim *sim = sim_create(policy, &sc);
	int c = cell_of("payment_failure_streak", NULL);
	set_weight(sim, 25);
	double before = poll_at(sim, T0 + 9 * MIN)->canary[c].value;
	double during = poll_at(sim, T0 + 10 * MIN + 30000)->canary[c].value;
	double ctl = last->control[c].value;
	double after = poll_at(sim, T0 + 12 * MIN)->canary[c].value;
	assert_true(before <= 1);
	assert_true(during >= 6);
	assert_true(ctl <= 1);
	assert_true(after <= 1); /* the run ended; it left the 60 s window */
	sim_destroy(sim);
}

/* ---- source failure modes -------------------------------------------------------- */

static void test_freeze_goes_stale(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 14);
	add_effect(&sc, 10, 20, SR_FX_SOURCE_FREEZE, -1, -1, SR_COHORT_BOTH, 0);
	struct sr_sim *sim = sim_create(policy, &sc);
	int c = cell_of("p95_latency", "search");
	set_weight(sim, 25);
	struct sr_engine *e = calloc(1, sizeof *e);
	engine_init(e, policy, T0);
	sr_ms t;
	for (t = T0 + 5 * MIN; t < T0 + 10 * MIN; t += 15000)
		engine_evaluate(e, poll_at(sim, t), t);
	sr_ms good = t - 15000;
	double v = last->canary[c].value;
	for (; t <= T0 + 15 * MIN; t += 15000)
		engine_evaluate(e, poll_at(sim, t), t);
	t -= 15000;
	/* old values, old time: the age grows past stale_after */
	assert_int_equal(last->canary[c].at, good);
	assert_true(last->canary[c].value == v);
	assert_true(t - last->canary[c].at > policy->stale_after_ms);
	assert_int_equal(e->cells[c].status, SR_STALE);
	/* after the window the data is fresh again */
	t = T0 + 21 * MIN;
	engine_evaluate(e, poll_at(sim, t), t);
	assert_int_equal(last->canary[c].at, t);
	assert_true(e->cells[c].status != SR_STALE);
	free(e);
	sim_destroy(sim);
}

static void test_error_marks_cells(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 15);
	add_effect(&sc, 10, 20, SR_FX_SOURCE_ERROR, -1, -1, SR_COHORT_BOTH, 0);
	struct sr_sim *sim = sim_create(policy, &sc);
	set_weight(sim, 25);
	struct sr_snapshot before = *poll_at(sim, T0 + 9 * MIN);
	struct sr_snapshot *s = poll_at(sim, T0 + 12 * MIN);
	for (int c = 0; c < policy->ncells; c++) {
		assert_int_equal(s->canary[c].kind, SR_OBS_ERROR);
		assert_int_equal(s->control[c].kind, SR_OBS_ERROR);
		assert_true(strlen(snapshot_msg(s, &s->canary[c])) > 0);
		/* the last good value and its time are kept */
		assert_int_equal(s->canary[c].at, before.canary[c].at);
	}
	sim_destroy(sim);
}

/* ---- the edge face ---------------------------------------------------------------- */

static void test_edge_fail_next(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 16);
	struct sr_sim *sim = sim_create(policy, &sc);
	struct sr_edge *e = sim_edge(sim);
	int got[3];
	sim_edge_fail_next(sim, 2, "socket closed");
	/* an injected failure is transport trouble: worth a retry */
	e->ops->set_weight(e, 25, false, "k1", edge_cb, got);
	assert_int_equal(got[0], SR_EDGE_TRANSIENT);
	assert_int_equal(got[2], 1);
	e->ops->get_weight(e, edge_cb, got);
	assert_int_equal(got[0], SR_EDGE_TRANSIENT);
	assert_int_equal(sim_weight(sim), 0); /* nothing changed */
	e->ops->set_weight(e, 25, false, "k1", edge_cb, got);
	assert_int_equal(got[0], 0);
	assert_int_equal(sim_weight(sim), 25);
	e->ops->set_weight(e, 0, true, "k2", edge_cb, got);
	assert_int_equal(sim_weight(sim), 0);
	assert_true(sim_edge_drained(sim));
	assert_int_equal(sim_edge_calls(sim), 4);
	e->ops->set_weight(e, 101, false, "k3", edge_cb, got);
	assert_int_equal(got[0], -1);
	sim_destroy(sim);
}

/* Healthy base values derived from the policy sit where the brief says. */
static void test_base_values(void **state)
{
	(void)state;
	struct sr_scenario sc;
	scenario_init(&sc, 17);
	struct sr_sim *sim = sim_create(policy, &sc);
	double pay = sim_model_value(sim, cell_of("payment_success", NULL));
	double err = sim_model_value(sim, cell_of("error_rate_5xx", NULL));
	double markup = sim_model_value(sim, cell_of("ai_markup", NULL));
	double budget = sim_model_value(sim, cell_of("error_budget_burn", NULL));
	assert_true(pay > 99.7 && pay <= 100);
	assert_true(err > 0 && err <= 0.25);
	assert_close(markup, 4.6, 1e-9);
	assert_close(budget, 2.5, 1e-9);
	assert_true(isnan(sim_model_value(sim, 9999)));
	sim_destroy(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantile_hand_computed),
	    cmocka_unit_test(test_quantile_edges),
	    cmocka_unit_test(test_same_seed_same_snapshots),
	    cmocka_unit_test(test_different_seed_differs),
	    cmocka_unit_test(test_poll_rate_independent),
	    cmocka_unit_test(test_samples_scale_with_weight),
	    cmocka_unit_test(test_step_counts),
	    cmocka_unit_test(test_weight_zero_has_no_canary),
	    cmocka_unit_test(test_effect_in_window_only),
	    cmocka_unit_test(test_streak_and_success_agree),
	    cmocka_unit_test(test_latency_effects_change_in_time),
	    cmocka_unit_test(test_ratio_set_effect),
	    cmocka_unit_test(test_streak_forced),
	    cmocka_unit_test(test_freeze_goes_stale),
	    cmocka_unit_test(test_error_marks_cells),
	    cmocka_unit_test(test_edge_fail_next),
	    cmocka_unit_test(test_base_values),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
