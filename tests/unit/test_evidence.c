/* test_evidence.c - the always-valid sequential test (src/engine/evidence.c).
 *
 * Expected values were computed independently with python3 (the math
 * module), straight from the formulas in include/shiproom/evidence.h,
 * not from this code:
 *   th  = lambda rho, r: rho*r/(rho*r+1-rho)
 *   kl  = lambda rho, r1, r0: a*log(a/b)+(1-a)*log((1-a)/(1-b))  (a=th(rho,r1), b=th(rho,r0))
 *   grid = [1.2*1.25**(i-8) for i in range(17)]
 *   ll(r) = sum(x*log(r) - (x+y)*log1p(rho*(r-1)) for rho, x, y in steps)
 *   log M_worse = log(mean(exp(ll(grid[i]) - ll(grid[8])) for i in 9..16))
 *   log M_upper = log(mean(exp(ll(grid[i]) - ll(1.5)) for i in 1..8))
 *   radius = sqrt(2*v*(1+v/tau**2)*log(sqrt(1+tau**2/v)/alpha)), v = v1/n1+v2/n2
 * The A/A false-alarm rate and the power table are in bench/ (they are
 * measurements, not pass/fail tests): bench/README.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "shiproom/evidence.h"

static const struct sr_evidence_cfg cfg = {
    .enabled = true, .tolerance = 1.2, .upper = 1.5, .alpha = 0.05, .action = SR_EVID_DISPLAY};

static void test_formulas(void **state)
{
	(void)state;
	assert_true(fabs(evidence_theta(0.05, 1.5) - 0.0731707317073171) < 1e-15);
	assert_true(fabs(evidence_theta(0.25, 2) - 0.4) < 1e-15);
	assert_true(fabs(evidence_kl(0.05, 2, 1) - 0.017223853026753305) < 1e-14);
	assert_true(fabs(evidence_kl(0.25, 1.5, 1.2) - 0.005388312284451906) < 1e-14);
	assert_true(fabs(evidence_mean_cs_radius(1000, 4, 19000, 4, 0.1, 0.05) -
	                 0.20767128112376274) < 1e-12);
	/* Unusable inputs say so instead of inventing a width. */
	assert_true(isnan(evidence_mean_cs_radius(0, 4, 100, 4, 0.1, 0.05)));
	assert_true(isnan(evidence_mean_cs_radius(100, NAN, 100, 4, 0.1, 0.05)));
	assert_true(isnan(evidence_mean_cs_radius(100, 4, 100, 4, 0.1, 1.5)));
}

static void test_one_step_evalues(void **state)
{
	(void)state;
	struct sr_evidence ev;
	evidence_init(&ev, &cfg);
	assert_int_equal(ev.state, SR_EVS_NODATA);
	/* 5% canary share, 30 of 300 bad events in the canary (r_hat 2.1). */
	evidence_step(&ev, &cfg, 1000, 30, 19000, 270, 1000);
	assert_true(fabs(ev.log_m_worse - 2.3941921621926823) < 1e-9);
	assert_true(fabs(ev.log_m_upper - -4.306395439290521) < 1e-9);
	assert_int_equal(ev.state, SR_EVS_COLLECTING); /* e^2.39 = 11 < 20 */
	/* A second step at 25%: 80 canary, 200 control. */
	evidence_step(&ev, &cfg, 2500, 80, 7500, 200, 2000);
	assert_true(fabs(ev.log_m_worse - -1.2382615582705525) < 1e-9);
	struct sr_evidence_view v;
	evidence_view(&ev, &cfg, &v);
	/* Mantel-Haenszel: (30*.95 + 80*.75) / (270*.05 + 200*.25) */
	assert_true(fabs(v.r_hat - 1.3937007874015748) < 1e-12);
	assert_true(fabs(v.events - 580) < 1e-9);
	assert_true(fabs(v.p_worse - exp(-2.3941921621926823)) < 1e-9); /* the running max */
}

static void test_reject_both_ways(void **state)
{
	(void)state;
	struct sr_evidence ev;
	evidence_init(&ev, &cfg);
	/* 1000 events, canary share 25%, exactly its share: no regression. */
	evidence_step(&ev, &cfg, 25000, 250, 75000, 750, 1000);
	assert_true(fabs(ev.log_m_upper - 14.230387167984452) < 1e-9);
	assert_true(fabs(ev.log_m_worse - -15.286425200049653) < 1e-9);
	assert_int_equal(ev.state, SR_EVS_NOWORSE);
	struct sr_evidence_view v;
	evidence_view(&ev, &cfg, &v);
	assert_true(v.hi <= 1.5 && v.hi > 1.0);
	assert_true(v.lo < 1.0);
	char line[160];
	evidence_format(&ev, &cfg, false, line, sizeof line);
	assert_non_null(strstr(line, "no worse than 1.5x"));

	/* Twice the share, plenty of events: worse, and it latches. */
	evidence_init(&ev, &cfg);
	evidence_step(&ev, &cfg, 25000, 400, 75000, 600, 1000);
	assert_int_equal(ev.state, SR_EVS_WORSE);
	assert_int_equal(ev.worse_at, 1000);
	evidence_step(&ev, &cfg, 25000, 250, 75000, 750, 2000);
	assert_int_equal(ev.state, SR_EVS_WORSE);
	evidence_view(&ev, &cfg, &v);
	assert_true(v.p_worse < 0.05);
	evidence_format(&ev, &cfg, false, line, sizeof line);
	assert_non_null(strstr(line, "WORSE >1.2x"));
}

static void test_inputs_that_must_not_count(void **state)
{
	(void)state;
	struct sr_evidence ev;
	evidence_init(&ev, &cfg);
	evidence_step(&ev, &cfg, 1000, 30, 19000, 270, 1000);
	struct sr_evidence once = ev;
	/* The same snapshot judged again (a hung poll): not counted twice. */
	evidence_step(&ev, &cfg, 1000, 30, 19000, 270, 1000);
	assert_memory_equal(&ev, &once, sizeof ev);
	/* No control traffic (100%), NaN counts, negative counts: ignored. */
	evidence_step(&ev, &cfg, 1000, 30, 0, 0, 2000);
	evidence_step(&ev, &cfg, NAN, 30, 19000, 270, 3000);
	evidence_step(&ev, &cfg, 1000, -3, 19000, 270, 4000);
	assert_true(ev.canary_bad == once.canary_bad && ev.control_bad == once.control_bad);
	assert_true(ev.log_m_worse == once.log_m_worse);
	/* A source without step counts leaves the test waiting, not green. */
	evidence_init(&ev, &cfg);
	evidence_step(&ev, &cfg, NAN, NAN, NAN, NAN, 1000);
	assert_int_equal(ev.state, SR_EVS_NODATA);
	/* ... and says so in the words every state uses after its label
	 * ("evidence ", "ev"): not "evidence evidence: ...". */
	char line[160];
	evidence_format(&ev, &cfg, false, line, sizeof line);
	assert_string_equal(line, "no step counts from the source");
	/* A disabled KPI stays off. */
	struct sr_evidence_cfg off = cfg;
	off.enabled = false;
	evidence_init(&ev, &off);
	evidence_step(&ev, &off, 1000, 30, 19000, 270, 1000);
	assert_int_equal(ev.state, SR_EVS_OFF);
}

static void test_burst_is_capped(void **state)
{
	(void)state;
	struct sr_evidence ev;
	evidence_init(&ev, &cfg);
	/* Ten quiet steps: 1 bad event per 1000 requests, at the share. */
	for (int i = 1; i <= 10; i++)
		evidence_step(&ev, &cfg, 500, 0.5, 9500, 9.5, i * 1000);
	assert_int_equal(ev.state, SR_EVS_COLLECTING);
	/* One pod throws 500 errors in one step (10 expected): counted as
	 * 4x the expected, 40 events (floor 30), and flagged bursty so the
	 * DRI knows the independence the test assumes did not hold. */
	evidence_step(&ev, &cfg, 500, 500, 9500, 10, 11000);
	assert_int_equal(ev.bursty_steps, 1);
	assert_true(fabs(ev.canary_bad + ev.control_bad - (100 + 40)) < 1e-9);
	assert_true(fabs(ev.canary_bad - (5 + 500 * 40.0 / 510)) < 1e-9);
	char line[160];
	evidence_format(&ev, &cfg, true, line, sizeof line);
	assert_non_null(strstr(line, "bursty(1)"));
}

/* Ville's inequality in miniature: with a fixed seed, 2000 A/A runs of
 * 200 steps at a 25% share and r = r0 exactly (the hardest null) reject
 * in fewer than alpha of the runs. The full day through the simulator
 * is bench/evidence_bench.c. */
static uint64_t rng_state = 88172645463325252ull;
static double uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void test_null_rejects_rarely(void **state)
{
	(void)state;
	int rejected = 0, runs = 2000;
	double theta0 = evidence_theta(0.25, 1.2);
	for (int run = 0; run < runs; run++) {
		struct sr_evidence ev;
		evidence_init(&ev, &cfg);
		for (int st = 1; st <= 200; st++) {
			double x = 0, y = 0;
			for (int i = 0; i < 5; i++)
				*(uniform() < theta0 ? &x : &y) += 1;
			evidence_step(&ev, &cfg, 250, x, 750, y, st);
		}
		rejected += ev.worse_at != 0;
	}
	assert_true(rejected < 0.05 * runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formulas),
	    cmocka_unit_test(test_one_step_evalues),
	    cmocka_unit_test(test_reject_both_ways),
	    cmocka_unit_test(test_inputs_that_must_not_count),
	    cmocka_unit_test(test_burst_is_capped),
	    cmocka_unit_test(test_null_rejects_rarely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
