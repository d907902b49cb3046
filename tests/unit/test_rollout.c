/* test_rollout.c - the rollout state machine and its time-driven
 * transitions on the shipped policy: phases one at a time, gates, one
 * approval per person, ordered remediation, the overnight hold at 50%
 * (ESCALATE, tie-break, re-evaluate 09:00 next business day), partial
 * success with its 24 h reattempt, and gates held past their time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

#define FX_H SR_MS_PER_H
#define FX_DAY SR_MS_PER_DAY

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

static enum sr_rstate rstate(const struct fx *f)
{
	return rollout_state(&f->e->ro, f->p, f->now);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(rollout_state_name(SR_RS_PREFLIGHT), "preflight");
	assert_string_equal(rollout_state_name(SR_RS_OBSERVING), "observing");
	assert_string_equal(rollout_state_name(SR_RS_GATE_PENDING), "gate_pending");
	assert_string_equal(rollout_state_name(SR_RS_HELD), "held");
	assert_string_equal(rollout_state_name(SR_RS_OVERNIGHT), "overnight");
	assert_string_equal(rollout_state_name(SR_RS_PARTIAL), "partial");
	assert_string_equal(rollout_state_name(SR_RS_ROLLED_BACK), "rolled_back");
	assert_string_equal(rollout_state_name(SR_RS_SUCCESS), "success");
}

static void test_state_machine_path(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	f->now = FX_T0 - 60 * FX_MIN;
	assert_int_equal(rstate(f), SR_RS_PREFLIGHT);
	assert_int_equal(rollout_preflight_open(&f->e->ro, f->p), 4);
	assert_int_equal(rollout_tick(&f->e->ro, f->p, "preflight", "roster_posted", "dri", f->now,
	                              why, sizeof why),
	                 0);
	assert_int_equal(rollout_preflight_open(&f->e->ro, f->p), 3);
	assert_int_equal(rollout_next_gate(&f->e->ro, f->p, NULL), -1);

	f->now = FX_T0;
	fx_enter(f, 5);
	assert_int_equal(rollout_preflight_open(&f->e->ro, f->p), 0);
	assert_int_equal(rstate(f), SR_RS_OBSERVING);
	assert_int_equal(f->e->ro.weight, 5);
	assert_int_equal(f->e->ro.phase_entered, FX_T0);
	sr_ms due = 0;
	assert_int_equal(rollout_next_gate(&f->e->ro, f->p, &due), 0);
	assert_int_equal(due, FX_T0 + 90 * FX_MIN);

	fx_step(f, 90 * FX_MIN);
	assert_true(rollout_window_elapsed(&f->e->ro, f->p, f->now));
	assert_int_equal(rstate(f), SR_RS_GATE_PENDING);
	assert_int_equal(rollout_hold(&f->e->ro, "dri", "coffee", f->now, why, sizeof why), 0);
	assert_int_equal(rstate(f), SR_RS_HELD);
	assert_int_equal(rollout_hold(&f->e->ro, "dri", "again", f->now, why, sizeof why), -1);
	assert_contains(why, "already held by dri");
	assert_int_equal(rollout_resume(&f->e->ro, f->now, why, sizeof why), 0);
	assert_int_equal(rollout_resume(&f->e->ro, f->now, why, sizeof why), -1);
	assert_int_equal(rstate(f), SR_RS_GATE_PENDING);

	assert_int_equal(rollout_promote(&f->e->ro, f->p, 25, f->now, why, sizeof why), 0);
	assert_int_equal(rstate(f), SR_RS_OBSERVING);
	assert_int_equal(f->e->ro.gates[0].outcome, SR_GATE_PASSED);
	assert_int_equal(f->e->ro.gates[0].at, f->now);
	assert_int_equal(rollout_next_gate(&f->e->ro, f->p, &due), 1);
	assert_int_equal(due, f->now + 120 * FX_MIN);

	fx_enter(f, 100);
	fx_step(f, 3 * FX_H);
	assert_int_equal(rollout_next_gate(&f->e->ro, f->p, NULL), -1);
	assert_int_equal(rstate(f), SR_RS_OBSERVING); /* the last phase has no gate */
	assert_int_equal(rollout_declare_success(&f->e->ro, f->now, why, sizeof why), 0);
	assert_int_equal(rstate(f), SR_RS_SUCCESS);
	assert_int_equal(rollout_declare_success(&f->e->ro, f->now, why, sizeof why), -1);
}

/* Promotion goes one phase at a time. */
static void test_promote_next_phase_only(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 25, f->now, why, sizeof why), -1);
	assert_contains(why, "the next phase is 5%, not 25%");
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 5, f->now, why, sizeof why), 0);
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 50, f->now, why, sizeof why), -1);
	assert_contains(why, "the next phase is 25%, not 50%");
	assert_int_equal(f->e->ro.weight, 5);
	fx_enter(f, 100);
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 100, f->now, why, sizeof why), -1);
	assert_contains(why, "already at the last phase");
}

static void test_approvals(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	struct sr_rollout *ro = &f->e->ro;
	assert_int_equal(rollout_approve(ro, f->p, -1, "approver", f->now, why, sizeof why), -1);
	assert_contains(why, "no gate is pending approval");
	fx_enter(f, 5);
	assert_int_equal(rollout_approve(ro, f->p, -1, "approver", f->now, why, sizeof why), 0);
	assert_int_equal(ro->gates[0].napprovals, 1);
	assert_string_equal(ro->gates[0].approvals[0].who, "approver");
	/* one approval per person per gate */
	assert_int_equal(rollout_approve(ro, f->p, 0, "approver", f->now, why, sizeof why), -1);
	assert_contains(why, "approver already approved Gate 1");
	assert_int_equal(ro->gates[0].napprovals, 1);
	/* only the next gate */
	assert_int_equal(rollout_approve(ro, f->p, 1, "approver", f->now, why, sizeof why), -1);
	assert_contains(why, "Gate 2 is not the next gate");
	assert_int_equal(rollout_promote(ro, f->p, 25, f->now, why, sizeof why), 0);
	/* not a past gate */
	assert_int_equal(rollout_approve(ro, f->p, 0, "someone", f->now, why, sizeof why), -1);
	assert_contains(why, "Gate 1 is already passed");
	/* Gate 3 is pre-approved */
	fx_enter(f, 50);
	assert_int_equal(rollout_approve(ro, f->p, -1, "approver", f->now, why, sizeof why), -1);
	assert_contains(why, "Gate 3 is pre-approved");
}

/* Remediation is ordered: Cache -> DB -> App. */
static void test_ticks(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	struct sr_rollout *ro = &f->e->ro;
	assert_int_equal(rollout_tick(ro, f->p, "nope", "cache", "dri", f->now, why, sizeof why),
	                 -1);
	assert_contains(why, "no checklist \"nope\"");
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "nope", "dri", f->now, why, sizeof why), -1);
	assert_contains(why, "remediation has no item \"nope\"");
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "db", "dri", f->now, why, sizeof why), -1);
	assert_string_equal(why, "remediation: tick cache before db");
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "cache", "dri", f->now, why, sizeof why), 0);
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "app", "dri", f->now, why, sizeof why), -1);
	assert_contains(why, "tick db before app");
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "db", "dri", f->now, why, sizeof why), 0);
	assert_int_equal(
	    rollout_tick(ro, f->p, "remediation", "db", "dri", f->now, why, sizeof why), -1);
	assert_contains(why, "already ticked by dri");
	/* unordered checklists take any order */
	assert_int_equal(
	    rollout_tick(ro, f->p, "watchlist", "pay_timing", "dri", f->now, why, sizeof why), 0);
}

static void test_rollback_records_gate(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	struct sr_rollout *ro = &f->e->ro;
	assert_int_equal(rollout_rollback(ro, f->p, "dri", "", f->now, why, sizeof why), -1);
	assert_contains(why, "nothing to roll back");
	fx_enter(f, 25);
	fx_step(f, 30 * FX_MIN);
	assert_int_equal(rollout_rollback(ro, f->p, "dri", "P95 over 160", f->now, why, sizeof why),
	                 0);
	assert_int_equal(ro->weight, 0);
	assert_true(ro->rolled_back);
	assert_int_equal(ro->rolled_back_at, f->now);
	assert_string_equal(ro->rolled_back_by, "dri");
	assert_int_equal(ro->gates[1].outcome, SR_GATE_ROLLED_BACK);
	assert_int_equal(ro->gates[1].at, f->now);
	assert_int_equal(rstate(f), SR_RS_ROLLED_BACK);
	assert_int_equal(rollout_rollback(ro, f->p, "dri", "", f->now, why, sizeof why), -1);
	assert_contains(why, "already rolled back at T+30 by dri");
	assert_int_equal(rollout_promote(ro, f->p, 50, f->now, why, sizeof why), -1);
}

/* A gate whose time passes without a GO is recorded HELD; promoting
 * through it later makes it PASSED. */
static void test_gate_held_when_due_passes(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	fx_enter(f, 5);
	fx_step(f, 89 * FX_MIN);
	assert_int_equal(f->e->ro.gates[0].outcome, SR_GATE_PENDING);
	fx_drain_count(f, SR_EV_ROLLOUT, -1);
	fx_step(f, FX_MIN); /* due, no approval: HOLD */
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_int_equal(f->e->ro.gates[0].outcome, SR_GATE_HELD);
	assert_int_equal(f->e->ro.gates[0].at, FX_T0 + 90 * FX_MIN);
	assert_int_equal(fx_drain_count(f, SR_EV_ROLLOUT, 0), 1);
	fx_approve(f, "approver");
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 25, f->now, why, sizeof why), 0);
	assert_int_equal(f->e->ro.gates[0].outcome, SR_GATE_PASSED);
}

/* Gate 3 on time with every KPI GREEN stays PENDING (it is the DRI's to
 * promote), not HELD. */
static void test_gate_go_not_held(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 50);
	fx_step(f, 240 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(f->e->ro.gates[2].outcome, SR_GATE_PENDING);
	assert_int_equal(f->e->ro.partial_since, 0);
}

/* Drive a rollout to 50% at T+210 with one YELLOW P95, so that the 50%
 * gate holds: the overnight-hold scenario. Returns at 17:59 local. */
static void held_at_50_until_1759(struct fx *f)
{
	f->now = f->e->ro.t0 + 210 * FX_MIN; /* 12:30 */
	fx_enter(f, 50);
	fx_set(f, "p95_latency", "search", 115, 100); /* YELLOW at 50% (> 107) */
	fx_run(f, 240 * FX_MIN, 5 * FX_MIN);          /* window elapses 16:30 */
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_run(f, 89 * FX_MIN, 5 * FX_MIN); /* 17:59 */
	assert_int_equal(calendar_minute_of_day(&f->p->calendar, f->now), 17 * 60 + 59);
	assert_int_equal(f->e->ro.overnight_until, 0);
	assert_int_not_equal(rstate(f), SR_RS_OVERNIGHT);
}

/* Thursday: held at 50% past end of day -> overnight hold, ESCALATE;
 * the exec's tie-break makes it HOLD (frozen); Friday 09:00 it clears. */
static void test_overnight_thursday_to_friday(void **state)
{
	struct fx *f = *state;
	char why[SR_TEXT_LEN];
	held_at_50_until_1759(f);
	fx_drain_count(f, SR_EV_ROLLOUT, -1);
	fx_step(f, FX_MIN); /* 18:00 Thursday */
	sr_ms friday_0900 = FX_T0 + FX_DAY;
	assert_int_equal(f->e->ro.overnight_until, friday_0900);
	assert_int_equal(f->e->ro.overnight_since, f->now);
	assert_int_equal(rstate(f), SR_RS_OVERNIGHT);
	assert_int_equal(f->e->decision.verdict, SR_ESCALATE);
	assert_string_equal(
	    f->e->decision.reasons[0],
	    "held at 50% past end of day; exec tie-break needed; re-evaluate Fri 09:00");
	assert_true(fx_decision_has(f, "search P95 YELLOW"));
	assert_true(fx_drain_count(f, SR_EV_ROLLOUT, -1) >= 1);

	/* changes are frozen; the exec breaks the tie */
	assert_false(rights_check(f->e, SR_ACT_PROMOTE, 100, "dri", f->now, why, sizeof why));
	assert_contains(why, "changes frozen until Fri 09:00");
	assert_int_equal(rollout_tiebreak(&f->e->ro, "ceo", f->now, why, sizeof why), 0);
	fx_step(f, 5 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_contains(f->e->decision.reasons[0],
	                "changes frozen until Fri 09:00 (tie-break by ceo");
	assert_int_equal(rstate(f), SR_RS_OVERNIGHT);

	/* monitoring continues all night; still frozen at 08:59 */
	fx_run(f, friday_0900 - FX_MIN - f->now, 5 * FX_MIN);
	assert_int_equal(rstate(f), SR_RS_OVERNIGHT);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	fx_step(f, FX_MIN); /* Friday 09:00: re-evaluate */
	assert_int_equal(f->e->ro.overnight_until, 0);
	assert_false(f->e->ro.tiebreak);
	assert_int_not_equal(rstate(f), SR_RS_OVERNIGHT);
	assert_int_equal(f->e->decision.verdict, SR_HOLD); /* still YELLOW */
	assert_false(fx_decision_has(f, "frozen"));
	/* fixed in the morning: GO to 100% */
	fx_set(f, "p95_latency", "search", 90, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_true(rights_check(f->e, SR_ACT_PROMOTE, 100, "dri", f->now, why, sizeof why));
}

/* Friday: the hold resumes Monday 09:00. */
static void test_overnight_friday_to_monday(void **state)
{
	struct fx *f = *state;
	sr_ms friday_t0 = FX_T0 + FX_DAY;
	fx_reinit(f, friday_t0);
	held_at_50_until_1759(f);
	fx_step(f, FX_MIN); /* 18:00 Friday */
	sr_ms monday_0900 = FX_T0 + 4 * FX_DAY;
	assert_int_equal(f->e->ro.overnight_until, monday_0900);
	assert_int_equal(f->e->decision.verdict, SR_ESCALATE);
	assert_true(fx_decision_has(f, "re-evaluate Mon 09:00"));
	/* Saturday noon: still frozen, still ESCALATE (no tie-break yet) */
	fx_run(f, 18 * FX_H, 30 * FX_MIN);
	assert_int_equal(rstate(f), SR_RS_OVERNIGHT);
	assert_int_equal(f->e->decision.verdict, SR_ESCALATE);
	fx_run(f, monday_0900 - f->now, 30 * FX_MIN);
	assert_int_equal(f->now, monday_0900);
	assert_int_equal(f->e->ro.overnight_until, 0);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
}

/* GO at 50% past end of day is not a hold: no overnight freeze. */
static void test_no_overnight_when_go(void **state)
{
	struct fx *f = *state;
	f->now = FX_T0 + 210 * FX_MIN;
	fx_enter(f, 50);
	fx_run(f, 6 * FX_H, 10 * FX_MIN); /* 18:30 */
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(f->e->ro.overnight_until, 0);
}

/* The overnight hold is a 50% rule: a 25% hold past end of day is HOLD. */
static void test_no_overnight_at_25(void **state)
{
	struct fx *f = *state;
	f->now = FX_T0 + 6 * FX_H; /* 15:00 */
	fx_enter(f, 25);
	fx_set(f, "p95_latency", "search", 125, 100); /* YELLOW at 25% */
	fx_run(f, 4 * FX_H, 10 * FX_MIN);             /* 19:00 */
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_int_equal(f->e->ro.overnight_until, 0);
}

/* Partial success: HOLD at 50% after its window -> remediation, and a
 * reattempt within 24 h. */
static void test_partial_success(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	fx_enter(f, 50); /* 09:00, window elapses 13:00 */
	fx_set(f, "p95_latency", "search", 115, 100);
	fx_run(f, 239 * FX_MIN, 5 * FX_MIN);
	assert_int_equal(f->e->ro.partial_since, 0);
	fx_drain_count(f, SR_EV_ROLLOUT, -1);
	fx_step(f, FX_MIN); /* 13:00 */
	sr_ms at = FX_T0 + 240 * FX_MIN;
	assert_int_equal(f->e->ro.partial_since, at);
	assert_int_equal(rstate(f), SR_RS_PARTIAL);
	assert_true(fx_drain_count(f, SR_EV_ROLLOUT, -1) >= 1);
	assert_true(
	    fx_decision_has(f, "partial success since T+240 (Thu 13:00): remediation cache -> db "
	                       "-> app (0/3 done); reattempt promotion by Fri 13:00"));
	assert_int_equal(
	    rollout_tick(&f->e->ro, f->p, "remediation", "cache", "dri", f->now, why, sizeof why),
	    0);
	fx_step(f, FX_POLL);
	assert_true(fx_decision_has(f, "(1/3 done)"));
	/* remediation worked: GO, and promoting ends the partial success */
	fx_set(f, "p95_latency", "search", 90, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 100, f->now, why, sizeof why), 0);
	assert_int_equal(f->e->ro.partial_since, 0);
	assert_int_equal(rstate(f), SR_RS_OBSERVING);
}

static void test_partial_success_deadline(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 50);
	fx_set(f, "p95_latency", "search", 115, 100);
	fx_run(f, 240 * FX_MIN, 10 * FX_MIN); /* partial since Thu 13:00 */
	assert_int_equal(f->e->ro.partial_since, FX_T0 + 240 * FX_MIN);
	fx_run(f, 24 * FX_H - FX_MIN, 30 * FX_MIN); /* Fri 12:59 */
	assert_true(fx_decision_has(f, "reattempt promotion by Fri 13:00"));
	fx_step(f, FX_MIN);
	assert_true(fx_decision_has(f, "reattempt deadline passed at Fri 13:00"));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
}

static void test_tiebreak_needs_overnight(void **state)
{
	struct fx *f = *state;
	char why[SR_REASON_LEN];
	fx_enter(f, 50);
	assert_int_equal(rollout_tiebreak(&f->e->ro, "ceo", f->now, why, sizeof why), -1);
	assert_contains(why, "no overnight hold");
}

/* Every change of the record counts (and says when), refusals do not: a
 * decision can tell whether it is about the record as it is now. */
static void test_changes_counted(void **state)
{
	struct fx *f = *state;
	struct sr_rollout *ro = &f->e->ro;
	char why[SR_REASON_LEN];
	fx_eval(f);
	assert_true(engine_decision_current(f->e));
	unsigned long c = ro->changes;
#define CHANGES(expr, delta)                                                                       \
	do {                                                                                       \
		unsigned long before = ro->changes;                                                \
		f->now += FX_MIN;                                                                  \
		(void)(expr);                                                                      \
		assert_int_equal(ro->changes - before, (delta));                                   \
		if (delta)                                                                         \
			assert_int_equal(ro->changed_at, f->now);                                  \
	} while (0)
	CHANGES(
	    rollout_tick(ro, f->p, "preflight", "roster_posted", "dri", f->now, why, sizeof why),
	    1);
	CHANGES(
	    rollout_tick(ro, f->p, "preflight", "roster_posted", "dri", f->now, why, sizeof why),
	    0);
	fx_preflight_done(f);
	CHANGES(rollout_promote(ro, f->p, 5, f->now, why, sizeof why), 1);
	CHANGES(rollout_promote(ro, f->p, 50, f->now, why, sizeof why), 0);
	CHANGES(rollout_hold(ro, "dri", "x", f->now, why, sizeof why), 1);
	CHANGES(rollout_hold(ro, "dri", "x", f->now, why, sizeof why), 0);
	CHANGES(rollout_resume(ro, f->now, why, sizeof why), 1);
	CHANGES(rollout_resume(ro, f->now, why, sizeof why), 0);
	CHANGES(rollout_approve(ro, f->p, -1, "approver", f->now, why, sizeof why), 1);
	CHANGES(rollout_approve(ro, f->p, -1, "approver", f->now, why, sizeof why), 0);
	CHANGES(rollout_tiebreak(ro, "ceo", f->now, why, sizeof why), 0);
	CHANGES(rollout_declare_success(ro, f->now, why, sizeof why), 1);
	assert_false(engine_decision_current(f->e));
	fx_eval(f);
	assert_true(engine_decision_current(f->e));
	assert_int_equal(f->e->decision.ro_changes, ro->changes);
	assert_true(ro->changes > c);

	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 5);
	unsigned long b = g->e->ro.changes;
	assert_int_equal(rollout_rollback(&g->e->ro, g->p, "dri", "r", g->now, why, sizeof why), 0);
	assert_int_equal(g->e->ro.changes, b + 1);
	assert_int_equal(rollout_rollback(&g->e->ro, g->p, "dri", "r", g->now, why, sizeof why),
	                 -1);
	assert_int_equal(g->e->ro.changes, b + 1);
	fx_free(g);
#undef CHANGES
}

/* The engine's own transitions change the record too, and the decision
 * it computes afterwards is current. */
static void test_transition_counts_and_decision_current(void **state)
{
	struct fx *f = *state;
	fx_enter(f, 25);
	unsigned long b = f->e->ro.changes;
	fx_run(f, 121 * FX_MIN, FX_POLL); /* gate 2 due without approval: HELD */
	assert_int_equal(f->e->ro.gates[1].outcome, SR_GATE_HELD);
	assert_true(f->e->ro.changes > b);
	assert_true(engine_decision_current(f->e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test_setup_teardown(test_state_machine_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_next_phase_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approvals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_records_gate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gate_held_when_due_passes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gate_go_not_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overnight_thursday_to_friday, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overnight_friday_to_monday, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_overnight_when_go, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_overnight_at_25, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_success, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_success_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tiebreak_needs_overnight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transition_counts_and_decision_current, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
