/* test_engine.c - cell statuses, hysteresis, baselines, the decision and
 * success criteria of the engine, on the shipped policy and a fake clock.
 * Each test pins one rule of the directive / DESIGN.md section 3 and fails
 * when that rule breaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

static int setup(void **state)
{
	*state = fx_new(FX_T0);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* At 5% with every KPI healthy, the observation window elapsed and gate 1
 * approved: the baseline for most decision tests. */
static void at_gate1_ready(struct fx *f)
{
	fx_enter(f, 5);
	fx_step(f, 90 * FX_MIN);
	fx_approve(f, "approver");
	fx_eval(f);
}

/* ---- cell status -------------------------------------------------------- */

/* P95 <= 130 ms at 5-25%, <= 120 ms at 50% -> 100%; YELLOW within the
 * warning margin (10% of the limit = 13 ms). */
static void test_p95_limit_by_phase(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_set(f, "p95_latency", "search", 100, 95);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_GREEN);
	assert_true(f->e->cells[fx_cell(f, "p95_latency", "search")].limit == 130);

	fx_set(f, "p95_latency", "search", 125, 95);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_YELLOW);
	assert_contains(fx_reason(f, "p95_latency", "search"), "125ms near 130ms limit");

	fx_set(f, "p95_latency", "search", 130, 95); /* at the limit: not breached */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_YELLOW);

	fx_set(f, "p95_latency", "search", 131, 95);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_RED);

	/* The same 125 ms is RED at 50%. */
	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 50);
	fx_set(g, "p95_latency", "search", 125, 95);
	fx_step(g, FX_POLL);
	assert_int_equal(fx_status(g, "p95_latency", "search"), SR_RED);
	assert_contains(fx_reason(g, "p95_latency", "search"), "125ms > 120ms limit");
	/* and the margin follows the limit in force: 108 > 120 - 13 */
	fx_set(g, "p95_latency", "payments", 108, 95);
	fx_set(g, "p95_latency", "application_start", 106, 95);
	fx_step(g, FX_POLL);
	assert_int_equal(fx_status(g, "p95_latency", "payments"), SR_YELLOW);
	assert_int_equal(fx_status(g, "p95_latency", "application_start"), SR_GREEN);
	fx_free(g);
}

static void test_reason_carries_numbers(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 142.3, 101.2);
	f->s->canary[c].samples = 812;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	assert_contains(engine_cell_reason(f->e, c),
	                "P95 142.3ms > 130ms limit (control 101.2ms, 812 samples)");
	/* a breach shows how long it has held out of the trigger's 5 min */
	fx_step(f, 3 * FX_MIN + 12 * FX_S);
	assert_contains(engine_cell_reason(f->e, c), "RED 3m12s/5m");
	assert_true(f->e->cells[c].canary == 142.3);
	assert_true(f->e->cells[c].control == 101.2);
}

/* Stale data is never GREEN: STALE once older than stale_after (45 s). */
static void test_stale_after(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");
	f->frozen[c] = true; /* the source stops delivering this cell */
	fx_step(f, 45 * FX_S);
	assert_int_equal(f->e->cells[c].status, SR_GREEN); /* exactly 45 s: still fresh */
	fx_step(f, 20 * FX_S);
	assert_int_equal(f->e->cells[c].status, SR_STALE);
	assert_contains(engine_cell_reason(f->e, c), "no fresh data for 1m05s (stale after 45s)");
	assert_false(f->e->cells[c].fresh);
	assert_false(engine_all_gating_green(f->e));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "search P95 STALE"));
}

/* A failed fetch is ERROR (with the message, sanitised, and the age of
 * the last good value), even though the last value was healthy. */
static void test_error_on_failed_fetch(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_step(f, FX_POLL);
	assert_true(engine_all_gating_green(f->e));
	snapshot_fail_all(f->s, "connection refused \x1b[31mred");
	fx_step(f, FX_POLL);
	int c = fx_cell(f, "p95_latency", "search");
	assert_int_equal(f->e->cells[c].status, SR_ERROR);
	assert_contains(engine_cell_reason(f->e, c), "fetch failed: connection refused");
	assert_contains(engine_cell_reason(f->e, c), "last good value 15s ago");
	assert_null(strchr(engine_cell_reason(f->e, c), '\x1b'));
	for (int i = 0; i < f->p->ncells; i++)
		assert_int_not_equal(f->e->cells[i].status, SR_GREEN);
	assert_false(engine_all_gating_green(f->e));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	/* ERROR outranks STALE once the last good value is also old */
	fx_step(f, 2 * FX_MIN);
	assert_int_equal(f->e->cells[c].status, SR_ERROR);
}

/* NODATA: never fetched, no series, NaN, too few samples. */
static void test_nodata_kinds(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");

	f->s->canary[c].samples = 12;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "12 samples < 50 needed");
	assert_false(engine_all_gating_green(f->e));

	fx_set_cell(f, c, NAN, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "NaN");
	assert_false(engine_all_gating_green(f->e));

	f->s->canary[c].kind = SR_OBS_NOSERIES;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no series");
	assert_false(engine_all_gating_green(f->e));

	f->s->canary[c].kind = SR_OBS_NONE;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no data yet");
	assert_false(engine_all_gating_green(f->e));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "search P95 NODATA"));

	/* and enough samples again: GREEN */
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	assert_true(engine_all_gating_green(f->e));
}

/* RED -> GREEN needs clear_after (2) consecutive GREEN evaluations; a
 * gap or a YELLOW in between starts the count again. */
static void test_hysteresis(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	assert_int_equal(f->p->clear_after, 2);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 131, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].raw, SR_GREEN);
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	assert_true(f->e->cells[c].recovering);
	assert_contains(engine_cell_reason(f->e, c), "recovering 1/2 after RED");
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	assert_false(f->e->cells[c].recovering);

	/* RED, good, gap, good: the gap does not count as good */
	fx_set_cell(f, c, 131, 90);
	fx_step(f, FX_POLL);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	fx_set_cell(f, c, NAN, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	assert_contains(engine_cell_reason(f->e, c), "recovering 1/2");
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
}

/* Polled at the fast rate (2 s, poll_schedule.h) while it recovers, a
 * RED cell still needs clear_after GREEN evaluations one poll interval
 * apart: 2 x 15 s of GREEN, not 2 x 2 s. Only detection gets faster. */
static void test_hysteresis_fast_polls_do_not_clear_sooner(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	assert_int_equal(f->p->clear_after, 2);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 131, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, 2 * FX_S); /* the first GREEN: step 1 of 2 */
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	assert_contains(engine_cell_reason(f->e, c), "recovering 1/2");
	/* Six more GREEN evaluations at 2 s: 12 s, less than a poll. */
	for (int i = 0; i < 6; i++) {
		fx_step(f, 2 * FX_S);
		assert_int_equal(f->e->cells[c].status, SR_YELLOW);
		assert_contains(engine_cell_reason(f->e, c), "recovering 1/2");
	}
	/* 14 s after the first GREEN: a poll interval, less a tenth for
	 * timer jitter (13.5 s), has passed: the second step clears it. */
	fx_step(f, 2 * FX_S);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);

	/* A YELLOW among the fast evaluations still breaks the run. */
	fx_set_cell(f, c, 131, 90);
	fx_step(f, 2 * FX_S);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, 2 * FX_S);
	fx_set_cell(f, c, 125, 90); /* inside the warning margin */
	fx_step(f, 2 * FX_S);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, 14 * FX_S);
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	assert_contains(engine_cell_reason(f->e, c), "recovering 1/2");
}

static void test_min_ratio_streak_kinds(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	/* payment success >= 99.5%, warn 0.2 */
	fx_set(f, "payment_success", NULL, 99.8, 99.8);
	fx_set(f, "ai_markup", NULL, 4.5, 4.5);
	fx_set(f, "payment_failure_streak", NULL, 3, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "payment_success", NULL), SR_GREEN);
	assert_int_equal(fx_status(f, "ai_markup", NULL), SR_GREEN);
	assert_int_equal(fx_status(f, "payment_failure_streak", NULL), SR_GREEN);
	fx_set(f, "payment_success", NULL, 99.6, 99.8);
	fx_set(f, "ai_markup", NULL, 4.1, 4.5);
	fx_set(f, "payment_failure_streak", NULL, 5, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "payment_success", NULL), SR_YELLOW);
	assert_int_equal(fx_status(f, "ai_markup", NULL), SR_YELLOW);
	assert_int_equal(fx_status(f, "payment_failure_streak", NULL), SR_YELLOW);
	fx_set(f, "payment_success", NULL, 99.4, 99.8);
	fx_set(f, "ai_markup", NULL, 3.9, 4.5);
	fx_set(f, "payment_failure_streak", NULL, 6, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "payment_success", NULL), SR_RED);
	assert_contains(fx_reason(f, "payment_success", NULL), "99.4% < 99.5% minimum");
	assert_int_equal(fx_status(f, "ai_markup", NULL), SR_RED);
	assert_contains(fx_reason(f, "ai_markup", NULL), "3.9x < 4x minimum");
	assert_int_equal(fx_status(f, "payment_failure_streak", NULL), SR_RED);
}

/* vs_baseline "both": within +/-3% of control either way. */
static void test_vs_baseline_both_ways(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	const char *k = "registration_completion"; /* both, 3%, warn 0.3 */
	fx_set(f, k, NULL, 10.25, 10);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_GREEN);
	assert_true(fabs(f->e->cells[fx_cell(f, k, NULL)].deviation_pct - 2.5) < 1e-9);
	fx_set(f, k, NULL, 10.28, 10);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_YELLOW);
	fx_set(f, k, NULL, 9.75, 10);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_GREEN);
	fx_set(f, k, NULL, 9.69, 10);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_RED);
	assert_contains(fx_reason(f, k, NULL), "-3.1% vs control");
	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 5);
	fx_set(g, k, NULL, 10.31, 10);
	fx_step(g, FX_POLL);
	assert_int_equal(fx_status(g, k, NULL), SR_RED);
	assert_contains(fx_reason(g, k, NULL), "+3.1% vs control");
	fx_free(g);
}

/* vs_baseline "up": no increase beyond N%; an improvement never holds. */
static void test_vs_baseline_up_ignores_improvement(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	const char *k = "client_js_errors"; /* up, 10%, warn 1 */
	fx_set(f, k, NULL, 1.0, 2.0);       /* -50%: far better */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_GREEN);
	assert_contains(fx_reason(f, k, NULL), "a decrease never holds");
	fx_set(f, k, NULL, 2.19, 2.0); /* +9.5%: inside the margin */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_YELLOW);
	fx_set(f, k, NULL, 2.3, 2.0); /* +15% */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, k, NULL), SR_RED);
}

/* A missing or NaN baseline is NODATA with that reason (a zero baseline
 * is a value: see the zero-baseline tests below). */
static void test_vs_baseline_missing(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	const char *k = "search_ctr";
	int c = fx_cell(f, k, NULL);
	fx_set_cell(f, c, 10, NAN);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no control baseline: NaN");
	fx_set_cell(f, c, 10, 10);
	f->s->control[c].kind = SR_OBS_ERROR;
	snapshot_set_msg(f->s, &f->s->control[c], "timeout");
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no control baseline: fetch failed: timeout");
	assert_false(engine_all_gating_green(f->e));
}

/* Both cohorts at 0% (no webhook failures, no refunds at 5% traffic: the
 * normal state) is no deviation at all: GREEN, and the gate can pass. */
static void test_vs_baseline_zero_both_zero(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_set(f, "webhook_failures", NULL, 0, 0);
	fx_set(f, "refunds_voids", NULL, 0, 0);
	fx_run(f, 90 * FX_MIN, FX_POLL);
	int c = fx_cell(f, "webhook_failures", NULL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	assert_true(f->e->cells[c].deviation_pct == 0);
	assert_contains(engine_cell_reason(f->e, c), "both 0");
	assert_int_equal(fx_status(f, "refunds_voids", NULL), SR_GREEN);
	assert_contains(fx_reason(f, "refunds_voids", NULL), "both 0");
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

/* Canary above a zero control, in a direction that counts, is a breach
 * (not "deviation undefined"): RED with both values, and it sustains. */
static void test_vs_baseline_zero_canary_breaches(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "webhook_failures", NULL); /* up, 5% */
	fx_set_cell(f, c, 0.25, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	assert_contains(engine_cell_reason(f->e, c),
	                "canary 0.25% vs control 0%: any increase over a zero "
	                "baseline breaches");
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(engine_kpi_worst(f->e, fx_kpi(f, "webhook_failures")) == 0.25);
	fx_run(f, 5 * FX_MIN, FX_POLL);
	assert_int_equal(fx_trigger(f, "sustained_breach")->state, SR_TRIG_FIRING);
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);

	/* "both" counts either way */
	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 5);
	fx_set(g, "search_ctr", NULL, 10, 0);
	fx_step(g, FX_POLL);
	assert_int_equal(fx_status(g, "search_ctr", NULL), SR_RED);
	assert_contains(fx_reason(g, "search_ctr", NULL), "canary 10% vs control 0%: any increase");
	fx_free(g);
}

/* ... and in a direction that does not count, GREEN. */
static void test_vs_baseline_zero_other_direction(void **state)
{
	struct fx *f = *state;
	int k = fx_kpi(f, "search_ctr");
	f->p->kpis[k].direction = SR_DIR_DOWN; /* only a decrease would count */
	fx_reinit(f, FX_T0);
	fx_enter(f, 5);
	int c = fx_cell(f, "search_ctr", NULL);
	fx_set_cell(f, c, 10, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	assert_contains(engine_cell_reason(f->e, c), "canary 10% vs control 0%");
	assert_contains(engine_cell_reason(f->e, c), "an increase never holds");
}

/* Non-finite values are not values: -Inf P95, +Inf payment success, ...
 * are NODATA, said so. Only +Inf on a max/streak KPI is a real breach
 * (histogram_quantile answers +Inf when the quantile is in the +Inf
 * bucket). */
static void test_nonfinite_values(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_set(f, "payment_success", NULL, INFINITY, 99.9);
	fx_set(f, "ai_markup", NULL, INFINITY, 4.4);
	fx_set(f, "p95_latency", "search", -INFINITY, 90);
	fx_set(f, "error_rate_5xx", NULL, -INFINITY, 0.1);
	fx_set(f, "client_js_errors", NULL, INFINITY, 1);
	fx_set(f, "p95_latency", "payments", INFINITY, 90);
	fx_set(f, "payment_failure_streak", NULL, INFINITY, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "payment_success", NULL), SR_NODATA);
	assert_contains(fx_reason(f, "payment_success", NULL), "value is +Inf");
	assert_int_equal(fx_status(f, "ai_markup", NULL), SR_NODATA);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_NODATA);
	assert_contains(fx_reason(f, "p95_latency", "search"), "value is -Inf");
	assert_int_equal(fx_status(f, "error_rate_5xx", NULL), SR_NODATA);
	assert_contains(fx_reason(f, "error_rate_5xx", NULL), "value is -Inf");
	assert_int_equal(fx_status(f, "client_js_errors", NULL), SR_NODATA);
	assert_int_equal(fx_status(f, "p95_latency", "payments"), SR_RED);
	assert_contains(fx_reason(f, "p95_latency", "payments"), "P95 +Inf > 130ms limit");
	assert_int_equal(fx_status(f, "payment_failure_streak", NULL), SR_RED);
	/* a +Inf P95 is not "<= 120 ms" for gate 3 either, and says so */
	char why[SR_REASON_LEN];
	assert_false(engine_gate_p95_ok(f->e, 2, why, sizeof why));
	assert_contains(why, "payments P95 +Inf");
	/* an infinite control is no baseline */
	fx_set(f, "client_js_errors", NULL, 1, INFINITY);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "client_js_errors", NULL), SR_NODATA);
	assert_contains(fx_reason(f, "client_js_errors", NULL), "value is +Inf");
}

/* A negative latency or ratio is a source bug (a counter reset in rate()
 * arithmetic): ERROR, never a healthy-looking value. */
static void test_negative_values_are_errors(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_set(f, "error_rate_5xx", NULL, -3, 0.1);
	fx_set(f, "p95_latency", "search", -3, 90);
	fx_set(f, "client_js_errors", NULL, 1, -2);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "error_rate_5xx", NULL), SR_ERROR);
	assert_contains(fx_reason(f, "error_rate_5xx", NULL),
	                "negative 5xx error rate -3%: source bug?");
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_ERROR);
	assert_contains(fx_reason(f, "p95_latency", "search"), "negative P95 -3ms: source bug?");
	assert_false(f->e->cells[fx_cell(f, "p95_latency", "search")].fresh);
	/* a negative control ratio is no baseline */
	assert_int_equal(fx_status(f, "client_js_errors", NULL), SR_NODATA);
	assert_contains(fx_reason(f, "client_js_errors", NULL), "negative");
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	/* zero is a value */
	fx_set(f, "error_rate_5xx", NULL, 0, 0.1);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "error_rate_5xx", NULL), SR_GREEN);
}

/* At 100% the control cohort has no traffic: vs_* KPIs compare with the
 * control as last seen before; below 100% a missing control stays a gap. */
static void test_vs_control_at_100_uses_last_control(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 50);
	int c = fx_cell(f, "client_js_errors", NULL);
	fx_set_cell(f, c, 2.0, 2.0);
	fx_step(f, FX_POLL);
	f->s->control[c].kind = SR_OBS_NOSERIES;
	f->s->control[c].value = NAN;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA); /* at 50%: a gap */
	fx_enter(f, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	assert_true(f->e->cells[c].baseline == 2.0);
	assert_contains(engine_cell_reason(f->e, c), "vs control before 100%");
	f->s->canary[c].value = 2.5; /* +25% over the last control */
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	/* a failing control fetch is still an error, not silently replaced */
	f->s->control[c].kind = SR_OBS_ERROR;
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no control baseline: fetch failed");
}

/* baseline "t0": the control value at the first evaluation at/after T-0,
 * captured once and kept. */
static void test_t0_baseline_captured_once(void **state)
{
	struct fx *f = *state;
	int k = fx_kpi(f, "cold_starts"); /* vs_baseline up 10% */
	f->p->kpis[k].baseline = SR_BASE_T0;
	fx_reinit(f, FX_T0);
	int c = fx_cell(f, "cold_starts", NULL);
	f->now = FX_T0 - 10 * FX_MIN;
	fx_set_cell(f, c, 10, 10);
	fx_eval(f);
	assert_true(isnan(f->e->t0_baseline[c]));
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_contains(engine_cell_reason(f->e, c), "no T-0 baseline");

	f->now = FX_T0;
	fx_enter(f, 5);
	assert_true(f->e->t0_baseline[c] == 10);
	/* control doubles later: the T-0 baseline stays 10, so 12 is +20% */
	fx_set_cell(f, c, 12, 20);
	fx_step(f, FX_POLL);
	assert_true(f->e->t0_baseline[c] == 10);
	assert_int_equal(f->e->cells[c].status, SR_RED);
	assert_contains(engine_cell_reason(f->e, c), "+20.0% vs T-0 baseline");
	fx_set_cell(f, c, 10.5, 20);
	fx_step(f, FX_POLL);
	fx_step(f, FX_POLL);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
}

/* P99 is monitor only: shown, never RED, never gating; a tail at twice
 * the control is marked to watch (YELLOW) and still never holds. */
static void test_monitor_never_gates(void **state)
{
	struct fx *f = *state;
	at_gate1_ready(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	fx_set(f, "p99_latency", "search", 250, 200);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p99_latency", "search"), SR_GREEN);
	assert_contains(fx_reason(f, "p99_latency", "search"), "monitor only");
	/* issue 9: a tail at twice the control read "ok GREEN". It still
	 * never holds, but it is marked to watch: YELLOW, and said. */
	fx_set(f, "p99_latency", "search", 400, 200);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p99_latency", "search"), SR_YELLOW);
	assert_contains(fx_reason(f, "p99_latency", "search"), "watch: P99");
	assert_contains(fx_reason(f, "p99_latency", "search"), "2.0x the control");
	assert_contains(fx_reason(f, "p99_latency", "search"), "never holds");
	assert_true(engine_all_gating_green(f->e));
	assert_int_equal(f->e->decision.verdict, SR_GO);
	fx_set(f, "p99_latency", "search", 900, 200);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p99_latency", "search"), SR_YELLOW);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	/* a monitor gap shows as a gap but does not hold */
	fx_set(f, "p99_latency", "search", NAN, 200);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p99_latency", "search"), SR_NODATA);
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

/* ---- the decision ------------------------------------------------------- */

static void test_decision_preflight(void **state)
{
	struct fx *f = *state;
	f->now = FX_T0 - 30 * FX_MIN;
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "before T-0 (T-30)"));
	assert_true(fx_decision_has(f, "pre-flight: 4 required items open"));
	fx_preflight_done(f);
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(fx_decision_has(f, "pre-flight: "));
	f->now = FX_T0;
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_true(fx_decision_has(f, "deploy 5%"));
}

/* issue 9: the first step needs fresh data, as every later one does.
 * With Prometheus hung (every cell ERROR) or the canary P95 RED, T-0 and
 * a complete pre-flight are not a GO; a canary without traffic (no
 * series before T-0) is expected and does not hold. */
static void test_decision_preflight_needs_data(void **state)
{
	struct fx *f = *state;
	fx_preflight_done(f);
	f->now = FX_T0;
	for (int i = 0; i < f->p->ncells; i++) {
		f->s->canary[i].kind = SR_OBS_ERROR;
		f->s->control[i].kind = SR_OBS_ERROR;
		snapshot_set_msg(f->s, &f->s->canary[i], "timeout");
	}
	fx_eval(f);
	if (f->e->decision.verdict != SR_HOLD)
		fail_msg("every cell ERROR before T-0: %s", fx_decision_text(f));
	assert_true(fx_decision_has(f, "ERROR"));

	/* a canary RED before the first step */
	fx_healthy(f);
	fx_set(f, "p95_latency", "search", 400, 100);
	fx_eval(f);
	if (f->e->decision.verdict != SR_HOLD)
		fail_msg("canary P95 RED before T-0: %s", fx_decision_text(f));

	/* a stale source before the first step */
	fx_healthy(f);
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	int c = fx_cell(f, "p95_latency", "search");
	f->frozen[c] = true;
	fx_step(f, 10 * FX_MIN);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_STALE);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	f->frozen[c] = false;

	/* no canary traffic yet: no series is expected, the control is fresh */
	fx_healthy(f);
	for (int i = 0; i < f->p->ncells; i++) {
		f->s->canary[i].kind = SR_OBS_NOSERIES;
		f->s->canary[i].value = NAN;
	}
	fx_eval(f);
	if (f->e->decision.verdict != SR_GO)
		fail_msg("a canary without traffic before T-0: %s", fx_decision_text(f));
	/* ... but not without a fresh control */
	c = fx_cell(f, "p95_latency", "payments");
	f->s->control[c].kind = SR_OBS_NOSERIES;
	f->s->control[c].value = NAN;
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
}

/* issue 9: Prometheus `warnings` (partial data) are not GREEN. */
static void test_partial_data_not_green(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");
	f->s->canary[c].degraded = true;
	snapshot_set_msg(f->s, &f->s->canary[c], "warning: a store is down");
	fx_eval(f);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_YELLOW);
	if (!strstr(fx_reason(f, "p95_latency", "search"), "partial data"))
		fail_msg("reason: %s", fx_reason(f, "p95_latency", "search"));
	/* the control's answer partial: a comparison with it is partial too */
	f->s->canary[c].degraded = false;
	snapshot_set_msg(f->s, &f->s->canary[c], NULL);
	int v = fx_cell(f, "client_js_errors", NULL);
	f->s->control[v].degraded = true;
	fx_eval(f);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_GREEN);
	assert_int_equal(f->e->cells[v].status, SR_YELLOW);
	/* a warning noted but not degrading (policy: ignore) stays in the text */
	f->s->control[v].degraded = false;
	f->s->canary[c].degraded = false;
	snapshot_set_msg(f->s, &f->s->canary[c], "warning: noted");
	fx_eval(f);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_GREEN);
	assert_true(strstr(fx_reason(f, "p95_latency", "search"), "noted") != NULL);
}

/* issue 9: a cell never fetched successfully has no age, not the epoch. */
static void test_never_good_has_no_age(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");
	f->s->canary[c].kind = SR_OBS_ERROR;
	f->s->canary[c].at = 0;
	f->s->canary[c].value = NAN;
	f->frozen[c] = true;
	fx_eval(f);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_ERROR);
	assert_int_equal(f->e->cells[c].age, -1);
}

/* issue 9: a weight at the edge nobody asked for is an anomaly: HOLD
 * until the edge agrees with the journal again. */
static void test_edge_anomaly_holds(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_run(f, 95 * FX_MIN, FX_POLL);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_false(engine_edge_observed(f->e, 5, f->now)); /* as the journal says */
	assert_int_equal(f->e->decision.verdict, SR_GO);
	/* someone set 10% by hand */
	assert_true(engine_edge_observed(f->e, 10, f->now));
	if (f->e->decision.verdict != SR_HOLD)
		fail_msg("edge at 10%%, journal 5%%: %s", fx_decision_text(f));
	assert_true(fx_decision_has(f, "edge anomaly since"));
	assert_true(fx_decision_has(f, "the edge reads 10%, the journal says 5%"));
	assert_int_equal(fx_drain_count(f, SR_EV_ROLLOUT, -1) > 0, 1);
	/* evaluations do not clear it */
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(engine_edge_observed(f->e, 10, f->now)); /* no new event */
	/* restored by the DRI: resolved */
	assert_true(engine_edge_observed(f->e, 5, f->now));
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

/* The journal's store (etcd) stops answering: nothing can be recorded,
 * so the decision HOLDs with the reason, and a GO comes back with it. */
static void test_store_unavailable_holds(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_run(f, 95 * FX_MIN, FX_POLL);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_false(
	    engine_store_observed(f->e, true, f->now, NULL, NULL)); /* it answers: nothing new */
	assert_true(engine_store_observed(f->e, false, f->now, "store unavailable",
	                                  "break-glass: spooled"));
	if (f->e->decision.verdict != SR_HOLD)
		fail_msg("store down: %s", fx_decision_text(f));
	assert_true(fx_decision_has(f, "store unavailable since"));
	assert_true(fx_decision_has(f, "nothing acts but a rollback"));
	fx_step(f, FX_POLL); /* evaluations do not clear it */
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(engine_store_observed(f->e, false, f->now, "store unavailable",
	                                   "break-glass: spooled"));
	assert_true(engine_store_observed(f->e, true, f->now, NULL, NULL));
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

static void test_decision_observing_window(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_approve(f, "approver");
	fx_step(f, 45 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "observing 45m of 90m at 5%"));
	fx_step(f, 45 * FX_MIN - FX_S);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_step(f, FX_S);
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

static void test_decision_needs_approval(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_step(f, 90 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(
	    fx_decision_has(f, "Gate 1 needs 1 approval from gate_approver: approver (none yet)"));
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	char expect[SR_REASON_LEN];
	snprintf(expect, sizeof expect,
	         "GO to 25%%: all %d gating checks GREEN; Gate 1 approved by approver",
	         engine_gating_count(f->e));
	assert_string_equal(f->e->decision.reasons[0], expect);
}

/* Any YELLOW or RED means HOLD; reasons name each cell, worst first:
 * RED before data gaps before YELLOW. */
static void test_decision_any_yellow_or_red_holds(void **state)
{
	struct fx *f = *state;
	at_gate1_ready(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	fx_set(f, "p95_latency", "search", 125, 100); /* YELLOW (> 117) */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_YELLOW);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_contains(f->e->decision.reasons[0], "search P95 YELLOW: 125ms near 130ms limit");

	/* Policy order is P95 ... DB pool ... concurrency; the reasons come
	 * worst first instead. */
	int stale = fx_cell(f, "db_pool_saturation", NULL);
	f->frozen[stale] = true;
	fx_set(f, "concurrency", NULL, 110, 60); /* RED (> 100%) */
	fx_step(f, FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(f->e->decision.nreasons >= 3);
	assert_contains(f->e->decision.reasons[0], "Concurrency vs reserved capacity RED");
	assert_contains(f->e->decision.reasons[1], "DB connection pool saturation STALE");
	assert_contains(f->e->decision.reasons[2], "search P95 YELLOW");
}

/* 50% -> 100% is GO only with every gating KPI GREEN and P95 <= 120 ms;
 * a 121 ms P95 at 50% is RED and holds. */
static void test_gate3_go_only_all_green(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 50);
	fx_step(f, 240 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_contains(f->e->decision.reasons[0], "GO to 100%");
	assert_contains(f->e->decision.reasons[0], "P95 <= 120ms; Gate 3 pre-approved");
	fx_set(f, "p95_latency", "application_submit", 121, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "application_submit"), SR_RED);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
}

/* The gate's own p95_max, apart from the phase limit: with a policy whose
 * 50% limit is 200 ms, 121 ms is GREEN but gate 3 still holds. */
static void test_gate3_p95_max_alone(void **state)
{
	struct fx *f = *state;
	int k = fx_kpi(f, "p95_latency");
	int ph50 = policy_phase_index(f->p, 50), ph100 = policy_phase_index(f->p, 100);
	f->p->kpis[k].phase_limit[ph50] = 200;
	f->p->kpis[k].phase_limit[ph100] = 200;
	fx_reinit(f, FX_T0);
	fx_enter(f, 50);
	fx_step(f, 240 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	fx_set(f, "p95_latency", "search", 121, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_status(f, "p95_latency", "search"), SR_GREEN);
	assert_true(engine_all_gating_green(f->e));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "Gate 3 needs P95 <= 120ms: search P95 121ms"));
	fx_set(f, "p95_latency", "search", 120, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

static void test_dri_hold_holds(void **state)
{
	struct fx *f = *state;
	at_gate1_ready(f);
	char why[SR_REASON_LEN];
	assert_int_equal(
	    rollout_hold(&f->e->ro, "dri", "checking dashboards", f->now, why, sizeof why), 0);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "held by dri since T+90"));
	assert_true(fx_decision_has(f, "checking dashboards"));
	assert_int_equal(rollout_resume(&f->e->ro, f->now, why, sizeof why), 0);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
}

/* ---- engine_redecide: the decision after an action ----------------------- */

/* A hold, a rollback: the decision follows at once, without a snapshot,
 * and without counting as an evaluation or moving any clock. */
static void test_redecide_follows_the_record(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	at_gate1_ready(f);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 131, 90);
	fx_step(f, FX_POLL);
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL); /* recovering 1/2 */
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	long evals = f->e->evaluations;
	sr_ms last = f->e->last_eval;
	assert_int_equal(rollout_hold(&f->e->ro, "dri", "look", f->now, why, sizeof why), 0);
	fx_drain_count(f, SR_EV_DECISION, -1);
	engine_redecide(f->e, f->now + FX_S);
	assert_true(engine_decision_current(f->e));
	assert_true(fx_decision_has(f, "held by dri"));
	assert_int_equal(f->e->evaluations, evals);
	assert_int_equal(f->e->last_eval, last);
	assert_int_equal(f->e->cells[c].good_run, 1); /* hysteresis did not advance */
	assert_int_equal(f->e->cells[c].status, SR_YELLOW);
	/* a rollback clears the latched trigger and says so */
	fx_set_cell(f, c, 200, 90);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_trigger(f, "p95_over_160")->state, SR_TRIG_FIRING);
	assert_int_equal(rollout_rollback(&f->e->ro, f->p, "dri", "P95", f->now, why, sizeof why),
	                 0);
	engine_redecide(f->e, f->now);
	assert_int_equal(fx_trigger(f, "p95_over_160")->state, SR_TRIG_ARMED);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_contains(f->e->decision.reasons[0], "rolled back at");
}

/* A rollback ends every breach: the canary that breached takes no
 * traffic, so its cells go NODATA, which pauses a breach clock as a data
 * gap would. Paused, it read "NODATA 5m30s/5m gap" for the rest of the
 * day and listed the cell under "In breach now" at 0% weight. */
static void test_rollback_ends_the_breach(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	at_gate1_ready(f);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 140, 90); /* RED under 160: the breach clock runs */
	for (int i = 0; i < 12; i++)
		fx_step(f, FX_POLL);
	assert_true(f->e->cells[c].breaching);
	assert_true(cell_breach_ms(&f->e->cells[c]) >= 2 * FX_MIN);
	assert_int_equal(rollout_rollback(&f->e->ro, f->p, "dri", "P95", f->now, why, sizeof why),
	                 0);
	engine_redecide(f->e, f->now);
	for (int i = 0; i < f->p->ncells; i++)
		f->s->canary[i].kind = SR_OBS_NOSERIES; /* weight 0: no canary traffic */
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_false(f->e->cells[c].breaching);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 0);
	assert_true(strstr(engine_cell_reason(f->e, c), "breach") == NULL);
}

/* After a promote, the cells still carry the old phase's verdicts: the
 * decision holds until they are judged at the new phase's limits, even
 * when nothing else would (a policy without a window or approvals). */
static void test_redecide_after_promote_waits_for_judgement(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	f->p->phases[policy_phase_index(f->p, 25)].observe_min = 0;
	f->p->gates[1].approvals_needed = 0;
	fx_reinit(f, FX_T0);
	at_gate1_ready(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 25, f->now, why, sizeof why), 0);
	engine_redecide(f->e, f->now);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_true(fx_decision_has(f, "cells judged at 5% limits, not yet at 25%: waiting for the "
	                               "next evaluation"));
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_false(fx_decision_has(f, "cells judged"));
}

/* ---- events ------------------------------------------------------------- */

static void test_events_on_status_change(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_step(f, FX_POLL);
	(void)fx_drain_count(f, SR_EV_STATUS, -1);
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 131, 90);
	fx_step(f, FX_POLL);
	struct sr_event ev[SR_MAX_EVENTS];
	int n = engine_drain_events(f->e, ev, SR_MAX_EVENTS), found = 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].kind != SR_EV_STATUS)
			continue;
		found++;
		assert_int_equal(ev[i].index, c);
		assert_int_equal(ev[i].from, SR_GREEN);
		assert_int_equal(ev[i].to, SR_RED);
		assert_int_equal(ev[i].at, f->now);
		assert_contains(ev[i].text, "search P95 RED");
	}
	assert_int_equal(found, 1);
	/* no change, no event */
	fx_step(f, FX_POLL);
	assert_int_equal(fx_drain_count(f, SR_EV_STATUS, -1), 0);
	/* the verdict changing is an event too */
	fx_set_cell(f, c, 90, 90);
	fx_step(f, FX_POLL);
	fx_step(f, FX_POLL);
	fx_step(f, 90 * FX_MIN);
	fx_approve(f, "approver");
	fx_drain_count(f, SR_EV_STATUS, -1);
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(fx_drain_count(f, SR_EV_DECISION, -1), 1);
}

/* ---- success criteria --------------------------------------------------- */

/* P95 <= 120 ms sustained for 2 h at 100%: 1h59m is not ready, 2h is. */
static void test_success_criteria_two_hours(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 100);
	sr_ms entered = f->now;
	fx_run(f, 119 * FX_MIN, FX_POLL);
	assert_false(f->e->success_ready);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_contains(f->e->decision.reasons[0], "continue at 100%");
	assert_true(fx_decision_has(f, "P95 <= 120ms sustained for >= 2 hours: 1h59m of 2h"));
	assert_true(f->e->ro.success_since == entered);
	fx_drain_count(f, SR_EV_ROLLOUT, -1);
	fx_run(f, FX_MIN, FX_POLL);
	assert_true(f->e->success_ready);
	assert_int_equal(fx_drain_count(f, SR_EV_ROLLOUT, -1), 1);
	assert_contains(f->e->decision.reasons[0], "the Release DRI may declare success");

	/* a P95 above 120 ms (or not GREEN) restarts the two hours */
	fx_set(f, "p95_latency", "search", 115, 90); /* YELLOW at 100% */
	fx_step(f, FX_POLL);
	assert_false(f->e->success_ready);
	fx_set(f, "p95_latency", "search", 90, 90);
	fx_step(f, FX_POLL); /* met again from here */
	fx_run(f, 119 * FX_MIN, FX_POLL);
	assert_false(f->e->success_ready);
	fx_run(f, FX_MIN, FX_POLL);
	assert_true(f->e->success_ready);

	char why[SR_REASON_LEN];
	assert_int_equal(rollout_declare_success(&f->e->ro, f->now, why, sizeof why), 0);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_contains(f->e->decision.reasons[0], "success declared");
}

/* ---- reasons stay valid UTF-8 when cut ---------------------------------- */

/* A reason cut at SR_REASON_LEN must not end in half a character, or
 * json_pack() refuses the string and the cell vanishes from --json. */
static void test_reason_cut_keeps_utf8(void **state)
{
	(void)state;
	for (int pad = 0; pad < 4; pad++) {
		struct fx *f = fx_new(FX_T0);
		fx_enter(f, 5);
		int c = fx_cell(f, "p95_latency", "search");
		struct sr_obs *o = &f->s->canary[c];
		o->degraded = true;
		char text[SR_OBS_MSG_LEN];
		size_t len = 0;
		for (int i = 0; i < pad; i++)
			text[len++] = 'x';
		while (len + 3 < sizeof text) {
			memcpy(text + len, "\xc3\xa9", 2); /* é */
			len += 2;
		}
		text[len] = '\0';
		snapshot_set_msg(f->s, o, text);
		fx_eval(f);
		const char *r = engine_cell_reason(f->e, c);
		assert_true(strlen(r) > SR_REASON_LEN - 5); /* it was cut */
		if (!fx_utf8_valid(r))
			fail_msg("pad %d: reason is not valid UTF-8: %s", pad, r);
		/* the decision quotes it (cut again at a different place) */
		for (int i = 0; i < f->e->decision.nreasons; i++)
			assert_true(fx_utf8_valid(f->e->decision.reasons[i]));
		fx_free(f);
	}
}

/* The same for every formatter of the engine: engine_format, decision
 * reasons, events, rights refusals and rollout refusals. */
static void test_formatters_keep_utf8(void **state)
{
	struct fx *f = *state;
	char long_e[300], buf[64], why[SR_REASON_LEN];
	size_t len = 0;
	long_e[len++] = 'a';
	while (len + 3 < sizeof long_e) {
		memcpy(long_e + len, "\xc3\xa9", 2);
		len += 2;
	}
	long_e[len] = '\0';
	for (size_t n = 2; n <= sizeof buf; n++) {
		engine_format(buf, n, "%s", long_e);
		if (!fx_utf8_valid(buf))
			fail_msg("engine_format n=%zu: %s", n, buf);
		assert_true(strlen(buf) >= n - 2); /* cut, not emptied */
	}
	for (int pad = 0; pad < 3; pad++) {
		struct fx *g = fx_new(FX_T0);
		fx_enter(g, 5);
		fx_step(g, 90 * FX_MIN);
		fx_approve(g, "approver");
		fx_eval(g);
		assert_int_equal(g->e->decision.verdict, SR_GO);
		fx_drain_count(g, SR_EV_DECISION, -1);
		/* a hold reason with "é" everywhere: the decision quotes it, and
		 * so does the event of the verdict's change */
		assert_int_equal(
		    rollout_hold(&g->e->ro, "dri", long_e + pad, g->now, why, sizeof why), 0);
		fx_step(g, FX_POLL);
		assert_int_equal(g->e->decision.verdict, SR_HOLD);
		for (int i = 0; i < g->e->decision.nreasons; i++)
			if (!fx_utf8_valid(g->e->decision.reasons[i]))
				fail_msg("decision reason %d: %s", i, g->e->decision.reasons[i]);
		struct sr_event ev[SR_MAX_EVENTS];
		int nev = engine_drain_events(g->e, ev, SR_MAX_EVENTS), ndec = 0;
		for (int i = 0; i < nev; i++) {
			ndec += ev[i].kind == SR_EV_DECISION;
			if (!fx_utf8_valid(ev[i].text))
				fail_msg("event %d: %s", i, ev[i].text);
		}
		assert_int_equal(ndec, 1);
		/* a rights refusal into a small buffer */
		for (size_t n = 40; n < 120; n++) {
			char w[120];
			assert_false(rights_check(g->e, SR_ACT_PROMOTE, 25, "dri", g->now, w, n));
			if (!fx_utf8_valid(w))
				fail_msg("rights n=%zu: %s", n, w);
		}
		fx_free(g);
	}
	/* a rollout refusal into a small buffer: "already held by <actor> ..." */
	fx_enter(f, 5);
	assert_int_equal(rollout_hold(&f->e->ro, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "",
	                              f->now, why, sizeof why),
	                 0);
	for (size_t n = 16; n < 30; n++) {
		char w[30];
		assert_int_equal(rollout_hold(&f->e->ro, "dri", "", f->now, w, n), -1);
		if (!fx_utf8_valid(w))
			fail_msg("rollout n=%zu: %s", n, w);
	}
}

/* ---- queries ------------------------------------------------------------ */

static void test_queries(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 5);
	fx_set(f, "p95_latency", "search", 101, 90);
	fx_set(f, "p95_latency", "payments", 111, 90);
	fx_set(f, "cache_hit_ratio", "scholarship_detail", 86, 90);
	fx_step(f, FX_POLL);
	assert_true(engine_kpi_worst(f->e, fx_kpi(f, "p95_latency")) == 111);
	assert_true(engine_kpi_worst(f->e, fx_kpi(f, "cache_hit_ratio")) == 86);
	assert_int_equal(
	    engine_journey_status(f->e, policy_journey_index(f->p, "scholarship_detail")),
	    SR_YELLOW);
	assert_int_equal(engine_journey_status(f->e, policy_journey_index(f->p, "search")),
	                 SR_GREEN);
	char label[SR_TITLE_LEN];
	engine_cell_label(f->e, fx_cell(f, "p95_latency", "search"), label, sizeof label);
	assert_string_equal(label, "search P95");
}

/* The reason memo (struct sr_reason_memo) is invisible: an engine that
 * keeps its judgements between evaluations and makes a reason only when
 * it is read says exactly what an engine made to write every reason
 * afresh at each evaluation says (reasons_at_once), evaluation by
 * evaluation, through steady values, a breach and its timer, recovery,
 * staleness (an age that grows), failed fetches, a source warning, a
 * missing control, T-0 baselines and promotions (limits that change),
 * also when the text is read only after the engine has moved on. */
static void memo_same(struct fx *a, struct fx *b, const char *when)
{
	for (int i = 0; i < a->p->ncells; i++) {
		const struct sr_cell_state *x = &a->e->cells[i], *y = &b->e->cells[i];
		/* b's text was written by its evaluation; a's is made now */
		assert_false(y->reason_pending);
		const char *xr = engine_cell_reason(a->e, i), *yr = y->reason_text;
		if (strcmp(xr, yr) != 0)
			fail_msg("%s, cell %d: made on read \"%s\", written at once \"%s\"", when,
			         i, xr, yr);
		assert_int_equal(x->raw, y->raw);
		assert_int_equal(x->status, y->status);
		assert_int_equal(x->fresh, y->fresh);
		assert_memory_equal(&x->baseline, &y->baseline, sizeof x->baseline);
		assert_memory_equal(&x->deviation_pct, &y->deviation_pct, sizeof x->deviation_pct);
	}
	struct sr_event ea[SR_MAX_EVENTS], eb[SR_MAX_EVENTS];
	int na = engine_drain_events(a->e, ea, SR_MAX_EVENTS);
	int nb = engine_drain_events(b->e, eb, SR_MAX_EVENTS);
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++)
		assert_string_equal(ea[i].text, eb[i].text);
	assert_int_equal(a->e->decision.verdict, b->e->decision.verdict);
	assert_int_equal(a->e->decision.nreasons, b->e->decision.nreasons);
	for (int i = 0; i < a->e->decision.nreasons; i++)
		assert_string_equal(a->e->decision.reasons[i], b->e->decision.reasons[i]);
}

/* Step both by dt and compare. */
static void memo_step(struct fx *a, struct fx *b, sr_ms dt, const char *when)
{
	fx_step(a, dt);
	fx_step(b, dt);
	memo_same(a, b, when);
}

/* Every value moves, both step, both are promoted to `weight` without
 * being judged at it; a's reasons are read only then: they must still
 * say what the evaluation judged (the old limits), not what the engine
 * holds now. Then both are evaluated at the new weight. */
static void memo_promote(struct fx *a, struct fx *b, int weight, const char *when)
{
	struct fx *f[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < f[k]->p->ncells; i++)
			f[k]->s->canary[i].value *= 1.01;
		fx_step(f[k], FX_POLL);
		fx_promote(f[k], weight);
	}
	memo_same(a, b, "read after a promotion");
	for (int k = 0; k < 2; k++)
		fx_eval(f[k]);
	memo_same(a, b, when);
}

static void test_reason_memo_is_invisible(void **state)
{
	(void)state;
	struct fx *f[2] = {fx_new(FX_T0 - 10 * FX_MIN), fx_new(FX_T0 - 10 * FX_MIN)};
	struct fx *a = f[0], *b = f[1];
	b->e->reasons_at_once = true;
	for (int k = 0; k < 2; k++) {
		fx_healthy(f[k]);
		fx_enter(f[k], 5);
	}
	memo_same(a, b, "entering 5%");
	for (int t = 0; t < 60; t++) /* across T-0: the T-0 baselines are taken */
		memo_step(a, b, FX_POLL, "steady");
	int p95 = fx_cell(a, "p95_latency", "search");
	int js = fx_cell(a, "client_js_errors", NULL);
	for (int k = 0; k < 2; k++)
		fx_set_cell(f[k], p95, 400, 100); /* RED: the breach timer runs */
	for (int t = 0; t < 12; t++)
		memo_step(a, b, FX_POLL, "breaching");
	for (int k = 0; k < 2; k++)
		fx_set_cell(f[k], p95, 100, 100); /* recovering n/m */
	for (int t = 0; t < 8; t++)
		memo_step(a, b, FX_POLL, "recovering");
	for (int k = 0; k < 2; k++)
		f[k]->frozen[p95] = true; /* stale, its age growing */
	for (int t = 0; t < 8; t++)
		memo_step(a, b, FX_POLL, "stale");
	for (int k = 0; k < 2; k++) {
		f[k]->frozen[p95] = false;
		f[k]->s->canary[p95].degraded = true;
		snapshot_set_msg(f[k]->s, &f[k]->s->canary[p95], "partial data");
		f[k]->s->control[js].kind = SR_OBS_NOSERIES;
	}
	for (int t = 0; t < 4; t++)
		memo_step(a, b, FX_POLL, "warning and no control");
	for (int k = 0; k < 2; k++) {
		f[k]->s->canary[p95].degraded = false;
		f[k]->s->control[js].kind = SR_OBS_OK;
	}
	memo_promote(a, b, 25, "entering 25%");
	for (int t = 0; t < 4; t++)
		memo_step(a, b, FX_POLL, "at 25%");
	for (int k = 0; k < 2; k++)
		snapshot_fail_all(f[k]->s, "connection refused");
	for (int t = 0; t < 4; t++)
		memo_step(a, b, FX_POLL, "failed fetches");
	for (int k = 0; k < 2; k++)
		fx_healthy(f[k]);
	for (int t = 0; t < 8; t++)
		memo_step(a, b, FX_POLL, "healthy again");
	for (int k = 0; k < 2; k++) {
		f[k]->s->control[js].kind = SR_OBS_NOSERIES; /* at 100%: the last control */
	}
	memo_promote(a, b, 100, "entering 100%");
	for (int t = 0; t < 4; t++)
		memo_step(a, b, FX_POLL, "at 100%");
	fx_free(a);
	fx_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_p95_limit_by_phase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reason_carries_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_on_failed_fetch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nodata_kinds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hysteresis, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hysteresis_fast_polls_do_not_clear_sooner, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_min_ratio_streak_kinds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_up_ignores_improvement, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_zero_both_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_zero_canary_breaches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_baseline_zero_other_direction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonfinite_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_negative_values_are_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vs_control_at_100_uses_last_control, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_t0_baseline_captured_once, setup, teardown),
	    cmocka_unit_test(test_reason_memo_is_invisible),
	    cmocka_unit_test_setup_teardown(test_monitor_never_gates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decision_preflight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decision_preflight_needs_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_data_not_green, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_good_has_no_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edge_anomaly_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_unavailable_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decision_observing_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decision_needs_approval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decision_any_yellow_or_red_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gate3_go_only_all_green, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gate3_p95_max_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dri_hold_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_ends_the_breach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redecide_follows_the_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redecide_after_promote_waits_for_judgement, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_events_on_status_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_success_criteria_two_hours, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reason_cut_keeps_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_formatters_keep_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
