/* test_triggers.c - the directive's rollback triggers on the shipped
 * policy: 5 consecutive minutes of breach (a Prometheus `for:`), P95 >
 * 160 ms, > 5 consecutive payment failures; gaps interrupt without
 * completing or resetting; a fired trigger latches until rollback.
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
	struct fx *f = fx_new(FX_T0);
	fx_enter(f, 5);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static enum sr_trig_state trig(const struct fx *f, const char *id)
{
	return fx_trigger(f, id)->state;
}

/* ---- P95 > 160 ms ------------------------------------------------------- */

static void test_p95_exactly_160_does_not_fire(void **state)
{
	struct fx *f = *state;
	fx_set(f, "p95_latency", "search", 160, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);
	assert_int_not_equal(f->e->decision.verdict, SR_ROLLBACK);
}

static void test_p95_over_160_fires(void **state)
{
	struct fx *f = *state;
	fx_set(f, "p95_latency", "search", 160.1, 100);
	fx_step(f, FX_POLL);
	const struct sr_trigger_state *t = fx_trigger(f, "p95_over_160");
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_true(t->value == 160.1);
	assert_int_equal(t->cell, fx_cell(f, "p95_latency", "search"));
	assert_int_equal(t->since, f->now);
	assert_contains(t->reason, "search P95 160.1ms > 160ms at T+0");
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);
	assert_true(fx_decision_has(f, "Journey canary P95 > 160 ms"));
}

/* The provider dashboard's P95 is a journey P95 too. */
static void test_provider_p95_over_160_fires(void **state)
{
	struct fx *f = *state;
	fx_set(f, "provider_dashboard_p95", "provider_dashboard", 161, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_FIRING);
}

/* Only evidence fires: too few samples, NaN or stale data do not. */
static void test_p95_trigger_needs_fresh_samples(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, 400, 100);
	f->s->canary[c].samples = 49; /* min_samples 50 */
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);

	fx_set_cell(f, c, 90, 100);
	fx_step(f, FX_POLL);
	fx_set_cell(f, c, 400, 100);
	f->frozen[c] = true;
	f->s->canary[c].at = f->now - 46 * FX_S; /* a stale 400 ms */
	fx_eval(f);
	assert_int_equal(f->e->cells[c].status, SR_STALE);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);
	assert_int_not_equal(f->e->decision.verdict, SR_ROLLBACK);
}

/* Non-finite values: +Inf is histogram_quantile's answer when the P95
 * falls in the +Inf bucket, a real breach that fires; -Inf is no value
 * and never fires. */
static void test_infinite_p95_and_streak(void **state)
{
	struct fx *f = *state;
	fx_set(f, "p95_latency", "search", -INFINITY, 100);
	fx_set(f, "payment_failure_streak", NULL, -INFINITY, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);
	assert_int_equal(trig(f, "payment_failures"), SR_TRIG_ARMED);
	assert_int_not_equal(f->e->decision.verdict, SR_ROLLBACK);

	fx_set(f, "p95_latency", "search", INFINITY, 100);
	fx_step(f, FX_POLL);
	const struct sr_trigger_state *t = fx_trigger(f, "p95_over_160");
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_contains(t->reason, "search P95 +Inf > 160ms");
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);

	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 5);
	fx_set(g, "payment_failure_streak", NULL, INFINITY, 0);
	fx_step(g, FX_POLL);
	assert_int_equal(fx_trigger(g, "payment_failures")->state, SR_TRIG_FIRING);
	fx_free(g);
}

/* ---- > 5 consecutive payment failures ------------------------------------ */

static void test_payment_failures_5_vs_6(void **state)
{
	struct fx *f = *state;
	fx_set(f, "payment_failure_streak", NULL, 5, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(trig(f, "payment_failures"), SR_TRIG_ARMED);
	assert_int_not_equal(f->e->decision.verdict, SR_ROLLBACK);
	fx_set(f, "payment_failure_streak", NULL, 6, 0);
	fx_step(f, FX_POLL);
	assert_int_equal(trig(f, "payment_failures"), SR_TRIG_FIRING);
	assert_contains(fx_trigger(f, "payment_failures")->reason,
	                "Consecutive payment failures 6 > 5");
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);
}

/* ---- sustained breach ---------------------------------------------------- */

/* 140 ms: RED at 5% (> 130) but below the 160 ms trigger. */
#define RED_MS 140

static void test_sustained_5m_fires_at_15s_polls(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL); /* first RED evaluation */
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
	fx_run(f, 4 * FX_MIN + 45 * FX_S, FX_POLL);
	const struct sr_trigger_state *t = fx_trigger(f, "sustained_breach");
	assert_int_equal(t->state, SR_TRIG_PENDING);
	assert_int_equal(t->progress, 4 * FX_MIN + 45 * FX_S);
	assert_int_equal(t->cell, c);
	assert_contains(t->reason, "search P95 RED 4m45s/5m");
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_step(f, FX_POLL);
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);
}

/* Evaluated every 2 s (the fast rate while a breach clock runs), the
 * 5-minute rule still needs 5 minutes of RED: not one evaluation less. */
static void test_sustained_5m_at_fast_polls_still_needs_5m(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, 2 * FX_S); /* first RED evaluation */
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
	fx_run(f, 5 * FX_MIN - 2 * FX_S, 2 * FX_S);
	const struct sr_trigger_state *t = fx_trigger(f, "sustained_breach");
	assert_int_equal(t->state, SR_TRIG_PENDING);
	assert_int_equal(t->progress, 5 * FX_MIN - 2 * FX_S);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_step(f, 2 * FX_S);
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);
}

/* Irregular polls: time between the first and the last RED counts;
 * 4m59s does not fire, 5m does. */
static void test_sustained_irregular_polls(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	sr_ms start = f->now + FX_POLL;
	const sr_ms at[] = {0, 7 * FX_S, 50 * FX_S, 2 * FX_MIN, 4 * FX_MIN + 59 * FX_S};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		f->now = start + at[i];
		fx_eval(f);
	}
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 4 * FX_MIN + 59 * FX_S);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
	f->now = start + 5 * FX_MIN;
	fx_eval(f);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_FIRING);
}

/* A NODATA gap interrupts: RED 3 min, gap 3 min, RED 1 min does not fire
 * (4 min of RED seen); one more minute of RED does. */
static void test_sustained_gap_interrupts_not_resets(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL);
	fx_run(f, 3 * FX_MIN, FX_POLL);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 3 * FX_MIN);

	fx_set_cell(f, c, NAN, 100); /* NODATA for 3 minutes */
	fx_run(f, 3 * FX_MIN, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_NODATA);
	assert_true(f->e->cells[c].interrupted);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]),
	                 3 * FX_MIN); /* neither grows nor resets */
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
	assert_contains(fx_trigger(f, "sustained_breach")->reason, "interrupted");
	assert_contains(engine_cell_reason(f->e, c), "breach 3m00s/5m interrupted");

	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 3 * FX_MIN); /* not reset */
	fx_run(f, FX_MIN, FX_POLL);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 4 * FX_MIN);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
	fx_run(f, FX_MIN, FX_POLL);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 5 * FX_MIN);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_FIRING);
}

/* STALE and ERROR are gaps too. */
static void test_sustained_stale_and_error_interrupt(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL);
	fx_run(f, 2 * FX_MIN, FX_POLL);
	f->frozen[c] = true;
	fx_run(f, 2 * FX_MIN, FX_POLL); /* goes STALE after 45 s */
	assert_int_equal(f->e->cells[c].status, SR_STALE);
	f->frozen[c] = false;
	fx_step(f, FX_POLL);
	f->s->canary[c].kind = SR_OBS_ERROR;
	fx_run(f, FX_MIN, FX_POLL);
	assert_int_equal(f->e->cells[c].status, SR_ERROR);
	/* RED seen: 2 min, then 45 s until stale, then one poll */
	assert_true(cell_breach_ms(&f->e->cells[c]) < 5 * FX_MIN);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
}

/* A good evaluation resets the breach clock. */
static void test_sustained_good_resets(void **state)
{
	struct fx *f = *state;
	int c = fx_cell(f, "p95_latency", "search");
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL);
	fx_run(f, 4 * FX_MIN, FX_POLL);
	fx_set_cell(f, c, 100, 100); /* GREEN raw (the tile shows YELLOW: recovering) */
	fx_step(f, FX_POLL);
	assert_int_equal(cell_breach_ms(&f->e->cells[c]), 0);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_ARMED);
	fx_set_cell(f, c, RED_MS, 100);
	fx_step(f, FX_POLL);
	fx_run(f, 4 * FX_MIN, FX_POLL);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_PENDING);
}

/* The longest breach leads, and any gating cell counts (not only P95). */
static void test_sustained_any_gating_kpi(void **state)
{
	struct fx *f = *state;
	fx_set(f, "payment_success", NULL, 99.0, 99.9);
	fx_step(f, FX_POLL);
	fx_run(f, 2 * FX_MIN, FX_POLL);
	fx_set(f, "p95_latency", "payments", RED_MS, 100);
	fx_run(f, 2 * FX_MIN, FX_POLL);
	const struct sr_trigger_state *t = fx_trigger(f, "sustained_breach");
	assert_int_equal(t->cell, fx_cell(f, "payment_success", NULL));
	assert_int_equal(t->progress, 4 * FX_MIN);
	fx_run(f, FX_MIN, FX_POLL);
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_contains(t->reason, "Payment end-to-end success RED 5m00s/5m");
}

/* Monitor KPIs (P99) never breach. */
static void test_monitor_never_triggers(void **state)
{
	struct fx *f = *state;
	fx_set(f, "p99_latency", "search", 900, 100);
	fx_step(f, FX_POLL);
	fx_run(f, 10 * FX_MIN, FX_POLL);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_ARMED);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);
}

/* ---- latching ------------------------------------------------------------ */

static void test_trigger_latches_until_rollback(void **state)
{
	struct fx *f = *state;
	fx_set(f, "p95_latency", "search", 170, 100);
	fx_step(f, FX_POLL);
	sr_ms fired = f->now;
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_FIRING);
	/* the next samples are fine: the alarm stays */
	fx_set(f, "p95_latency", "search", 90, 100);
	fx_run(f, 10 * FX_MIN, FX_POLL);
	const struct sr_trigger_state *t = fx_trigger(f, "p95_over_160");
	assert_int_equal(t->state, SR_TRIG_FIRING);
	assert_int_equal(t->since, fired);
	assert_true(t->value == 170);
	assert_contains(t->reason, "170ms > 160ms");
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);

	char why[SR_REASON_LEN];
	assert_int_equal(
	    rollout_rollback(&f->e->ro, f->p, "dri", "P95 over 160", f->now, why, sizeof why), 0);
	fx_drain_count(f, SR_EV_TRIGGER, -1);
	fx_step(f, FX_POLL);
	assert_int_equal(t->state, SR_TRIG_ARMED);
	assert_int_equal(fx_drain_count(f, SR_EV_TRIGGER, -1), 1);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_contains(f->e->decision.reasons[0], "rolled back at T+10 (Thu 09:10) by dri");
	/* after the rollback nothing fires again */
	fx_set(f, "p95_latency", "search", 300, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(t->state, SR_TRIG_ARMED);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
}

static void test_trigger_events(void **state)
{
	struct fx *f = *state;
	fx_drain_count(f, SR_EV_TRIGGER, -1);
	int ti = (int)(fx_trigger(f, "sustained_breach") - f->e->triggers);
	fx_set(f, "p95_latency", "search", RED_MS, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(fx_drain_count(f, SR_EV_TRIGGER, ti), 1); /* armed -> pending */
	fx_run(f, 4 * FX_MIN, FX_POLL);
	assert_int_equal(fx_drain_count(f, SR_EV_TRIGGER, ti), 0); /* still pending */
	fx_run(f, FX_MIN, FX_POLL);
	struct sr_event ev[SR_MAX_EVENTS];
	int n = engine_drain_events(f->e, ev, SR_MAX_EVENTS), seen = 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].kind == SR_EV_TRIGGER && ev[i].index == ti) {
			assert_int_equal(ev[i].from, SR_TRIG_PENDING);
			assert_int_equal(ev[i].to, SR_TRIG_FIRING);
			seen++;
		}
		if (ev[i].kind == SR_EV_DECISION)
			assert_int_equal(ev[i].to, SR_ROLLBACK);
	}
	assert_int_equal(seen, 1);
}

/* Nothing fires in pre-flight: the canary is not deployed. */
static void test_no_triggers_in_preflight(void **state)
{
	(void)state;
	struct fx *f = fx_new(FX_T0);
	f->now = FX_T0 - 60 * FX_MIN;
	fx_set(f, "p95_latency", "search", 400, 100);
	fx_eval(f);
	fx_run(f, 10 * FX_MIN, FX_POLL);
	assert_int_equal(trig(f, "p95_over_160"), SR_TRIG_ARMED);
	assert_int_equal(trig(f, "sustained_breach"), SR_TRIG_ARMED);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_p95_exactly_160_does_not_fire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_p95_over_160_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_p95_over_160_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_p95_trigger_needs_fresh_samples, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_infinite_p95_and_streak, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_payment_failures_5_vs_6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_5m_fires_at_15s_polls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_5m_at_fast_polls_still_needs_5m, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_irregular_polls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_gap_interrupts_not_resets, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_stale_and_error_interrupt, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_good_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sustained_any_gating_kpi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_monitor_never_triggers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trigger_latches_until_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trigger_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_triggers_in_preflight, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
