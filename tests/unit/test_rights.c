/* test_rights.c - the directive's decision-rights table, every row allowed
 * and refused, on the shipped policy and roster (dri = release_dri,
 * approver = gate_approver, ceo = exec, observer = observer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine_fixture.h"

#define WHY_LEN 1024

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

/* At 5%, window elapsed, every KPI GREEN; approval not yet given. */
static void at_gate1(struct fx *f)
{
	fx_enter(f, 5);
	fx_step(f, 90 * FX_MIN);
}

static bool may(struct fx *f, enum sr_action_kind a, int weight, const char *who, char *why)
{
	return rights_check(f->e, a, weight, who, f->now, why, WHY_LEN);
}

static int occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Freeze the rollout overnight (as engine_evaluate would past 18:00). */
static void force_overnight(struct fx *f)
{
	f->e->ro.overnight_since = f->now;
	f->e->ro.overnight_until = f->now + 15 * SR_MS_PER_H;
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_ESCALATE);
}

static void test_roles(void **state)
{
	struct fx *f = *state;
	assert_true(rights_has_role(f->p, "dri", SR_ROLE_RELEASE_DRI));
	assert_true(rights_has_role(f->p, "approver", SR_ROLE_GATE_APPROVER));
	assert_true(rights_has_role(f->p, "ceo", SR_ROLE_EXEC));
	assert_true(rights_has_role(f->p, "observer", SR_ROLE_OBSERVER));
	assert_false(rights_has_role(f->p, "dri", SR_ROLE_GATE_APPROVER));
	assert_false(rights_has_role(f->p, "approver", SR_ROLE_RELEASE_DRI));
	assert_false(rights_has_role(f->p, "", SR_ROLE_RELEASE_DRI));
	assert_false(rights_has_role(f->p, NULL, SR_ROLE_RELEASE_DRI));
}

/* Observers may look, never act. */
static void test_observer_cannot_do_anything(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	const enum sr_action_kind all[] = {SR_ACT_HOLD,     SR_ACT_RESUME,         SR_ACT_PROMOTE,
	                                   SR_ACT_ROLLBACK, SR_ACT_APPROVE,        SR_ACT_TICK,
	                                   SR_ACT_TIEBREAK, SR_ACT_DECLARE_SUCCESS};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		int w = all[i] == SR_ACT_PROMOTE ? 25 : -1;
		assert_false(may(f, all[i], w, "observer", why));
		assert_contains(why, "observer is not");
	}
	/* and somebody not on the roster at all */
	assert_false(may(f, SR_ACT_PROMOTE, 25, "mallory", why));
	assert_contains(why, "mallory (not on the roster) is not release_dri");
}

/* 5 -> 25: Release DRI + gate approvals, and GO. */
static void test_promote_5_25_needs_approval(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN], who[128];
	at_gate1(f);
	assert_int_equal(rights_missing_approvals(f->e, NULL, who, sizeof who), 1);
	assert_string_equal(who, "approver");
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "needs 1 approval from gate_approver: approver (none yet)");
	assert_int_equal(occurrences(why, "needs 1 approval"), 1);

	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(rights_missing_approvals(f->e, NULL, who, sizeof who), 0);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_string_equal(why, "");
}

/* Approvals count per distinct person holding the gate's role; a gate
 * may need several. */
static void test_approvals_counted_by_role(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN], who[128];
	f->p->gates[0].approvals_needed = 2;
	f->p->roster.n[SR_ROLE_GATE_APPROVER] = 2;
	snprintf(f->p->roster.who[SR_ROLE_GATE_APPROVER][1], SR_NAME_LEN, "alice");
	fx_reinit(f, FX_T0);
	at_gate1(f);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why,
	                "Gate 1 needs 2 approvals from gate_approver: approver, alice (none yet)");
	/* recorded (e.g. replayed) by someone without the role: does not count */
	assert_int_equal(rollout_approve(&f->e->ro, f->p, -1, "dri", f->now, why, WHY_LEN), 0);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(rights_missing_approvals(f->e, NULL, who, sizeof who), 1);
	assert_string_equal(who, "alice");
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "needs 1 approval from gate_approver: alice (have approver)");
	fx_approve(f, "alice");
	fx_eval(f);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(f->e->decision.reasons[0], "Gate 1 approved by approver, alice");
}

static void test_gate_approver_cannot_promote(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "approver", why));
	assert_contains(why, "approver is not release_dri");
	assert_false(may(f, SR_ACT_PROMOTE, 25, "ceo", why));
	assert_contains(why, "ceo is not release_dri");
}

/* Schedule never overrides SLOs: promote is refused unless GO, and the
 * refusal says why. */
static void test_promote_refused_on_hold_with_reasons(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_set(f, "p95_latency", "search", 125, 100); /* YELLOW */
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "decision is HOLD: search P95 YELLOW: 125ms near 130ms limit");
	/* before the window has elapsed */
	struct fx *g = fx_new(FX_T0);
	fx_enter(g, 5);
	fx_approve(g, "approver");
	fx_step(g, 30 * FX_MIN);
	assert_false(rights_check(g->e, SR_ACT_PROMOTE, 25, "dri", g->now, why, sizeof why));
	assert_contains(why, "observing 30m of 90m at 5%");
	fx_free(g);
}

static void test_promote_non_adjacent_refused(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_false(may(f, SR_ACT_PROMOTE, 50, "dri", why));
	assert_contains(why, "the next phase is 25%, not 50% (one phase at a time)");
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_false(may(f, SR_ACT_PROMOTE, 5, "dri", why));
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
}

/* 50 -> 100 is pre-approved when GO: no approvals needed. */
static void test_promote_50_100_preapproved(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN], who[128];
	fx_enter(f, 50);
	fx_step(f, 240 * FX_MIN);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_int_equal(rights_missing_approvals(f->e, NULL, who, sizeof who), 0);
	assert_true(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	/* and not when any KPI is YELLOW */
	fx_set(f, "payment_success", NULL, 99.6, 99.9);
	fx_step(f, FX_POLL);
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "Payment end-to-end success YELLOW");
}

/* ... and only with P95 <= 120 ms, even where the phase limit allows more. */
static void test_promote_50_100_needs_p95(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	int k = fx_kpi(f, "p95_latency");
	f->p->kpis[k].phase_limit[policy_phase_index(f->p, 50)] = 200;
	fx_reinit(f, FX_T0);
	fx_enter(f, 50);
	fx_set(f, "p95_latency", "payments", 121, 100);
	fx_step(f, 240 * FX_MIN);
	assert_int_equal(fx_status(f, "p95_latency", "payments"), SR_GREEN);
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "Gate 3 needs P95 <= 120ms: payments P95 121ms");
	assert_int_equal(occurrences(why, "Gate 3 needs P95"), 1);
	fx_set(f, "p95_latency", "payments", 119, 100);
	fx_step(f, FX_POLL);
	assert_true(may(f, SR_ACT_PROMOTE, 100, "dri", why));
}

/* 0 -> 5 at T-0 with the pre-flight checklist complete. */
static void test_promote_0_5_preflight(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	f->now = FX_T0 - 10 * FX_MIN;
	fx_eval(f);
	assert_false(may(f, SR_ACT_PROMOTE, 5, "dri", why));
	assert_contains(why, "before T-0 (T-10)");
	assert_contains(why, "pre-flight: 4 required items open");
	fx_preflight_done(f);
	f->now = FX_T0;
	fx_eval(f);
	assert_true(may(f, SR_ACT_PROMOTE, 5, "dri", why));
}

/* Rollback: the Release DRI alone, no exec approval, any time (even
 * frozen overnight), but only once. */
static void test_rollback_by_dri_alone(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	assert_contains(why, "nothing to roll back");
	fx_enter(f, 25);
	fx_step(f, FX_POLL);
	assert_true(may(f, SR_ACT_ROLLBACK, -1, "dri", why)); /* no trigger needed */
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "ceo", why));
	assert_contains(why, "ceo is not release_dri");
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "approver", why));
	fx_set(f, "p95_latency", "search", 200, 100);
	fx_step(f, FX_POLL);
	assert_int_equal(f->e->decision.verdict, SR_ROLLBACK);
	assert_true(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	assert_int_equal(rollout_rollback(&f->e->ro, f->p, "dri", "P95 200", f->now, why, WHY_LEN),
	                 0);
	fx_step(f, FX_POLL);
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	assert_contains(why, "rolled back at");
	assert_false(may(f, SR_ACT_PROMOTE, 50, "dri", why));
	/* the rollback communications checklist stays open to the DRI */
	assert_true(may(f, SR_ACT_TICK, -1, "dri", why));
}

/* issue 9: rollback is possible while traffic reaches the canary,
 * whatever the journal believes: in pre-flight with the edge seen at 5%
 * (a promote recorded as failed that landed), and after a rollback cut
 * between its steps. */
static void test_rollback_follows_the_edge(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	f->e->ro.edge_anomaly_weight = 5; /* a journal "edge" record */
	if (!may(f, SR_ACT_ROLLBACK, -1, "dri", why))
		fail_msg("pre-flight, edge at 5%%: %s", why);
	assert_int_equal(rollout_rollback(&f->e->ro, f->p, "dri", "edge", f->now, why, WHY_LEN), 0);
	assert_int_equal(f->e->ro.edge_anomaly_weight, 0);
	assert_false(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	assert_contains(why, "rolled back at");
	/* the rollback was cut short: the edge still sends 5% */
	f->e->ro.edge_anomaly_weight = 5;
	if (!may(f, SR_ACT_ROLLBACK, -1, "dri", why))
		fail_msg("rolled back, edge at 5%%: %s", why);
	assert_false(may(f, SR_ACT_PROMOTE, 5, "dri", why)); /* nothing else reopens */
	assert_int_equal(rollout_rollback(&f->e->ro, f->p, "dri", "again", f->now, why, WHY_LEN),
	                 0);
}

static void test_rollback_during_overnight(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	fx_enter(f, 50);
	force_overnight(f);
	assert_true(may(f, SR_ACT_ROLLBACK, -1, "dri", why));
	assert_true(may(f, SR_ACT_HOLD, -1, "dri", why));
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "changes frozen until");
}

static void test_hold_and_resume_by_dri(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_true(may(f, SR_ACT_HOLD, -1, "dri", why)); /* even when GO */
	assert_false(may(f, SR_ACT_HOLD, -1, "approver", why));
	assert_contains(why, "approver is not release_dri");
	assert_false(may(f, SR_ACT_HOLD, -1, "ceo", why));
	assert_false(may(f, SR_ACT_RESUME, -1, "dri", why));
	assert_contains(why, "not held");
	assert_int_equal(rollout_hold(&f->e->ro, "dri", "", f->now, why, WHY_LEN), 0);
	fx_eval(f);
	assert_false(may(f, SR_ACT_HOLD, -1, "dri", why));
	assert_contains(why, "already held by dri");
	assert_true(may(f, SR_ACT_RESUME, -1, "dri", why));
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "held by dri");
}

static void test_approve_rights(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	assert_false(may(f, SR_ACT_APPROVE, -1, "approver", why)); /* pre-flight */
	at_gate1(f);
	assert_true(may(f, SR_ACT_APPROVE, -1, "approver", why));
	assert_false(may(f, SR_ACT_APPROVE, -1, "dri", why));
	assert_contains(why, "dri is not gate_approver");
	fx_approve(f, "approver");
	assert_false(may(f, SR_ACT_APPROVE, -1, "approver", why));
	assert_contains(why, "approver already approved Gate 1");
}

/* Executive escalation: the CEO only, and only while ESCALATE. */
static void test_tiebreak_only_exec_while_escalate(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	fx_enter(f, 50);
	fx_step(f, 240 * FX_MIN);
	assert_false(may(f, SR_ACT_TIEBREAK, -1, "ceo", why));
	assert_contains(why, "no escalation to break a tie for: decision is GO");
	force_overnight(f);
	assert_true(may(f, SR_ACT_TIEBREAK, -1, "ceo", why));
	assert_false(may(f, SR_ACT_TIEBREAK, -1, "dri", why));
	assert_contains(why, "dri is not exec");
	assert_int_equal(rollout_tiebreak(&f->e->ro, "ceo", f->now, why, WHY_LEN), 0);
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(may(f, SR_ACT_TIEBREAK, -1, "ceo", why));
}

static void test_declare_success_when_ready(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	fx_enter(f, 100);
	fx_step(f, FX_POLL);
	assert_false(may(f, SR_ACT_DECLARE_SUCCESS, -1, "dri", why));
	assert_contains(
	    why, "success criteria not met: P95 <= 120ms sustained for >= 2 hours: 15s of 2h");
	fx_run(f, 2 * SR_MS_PER_H, 5 * FX_MIN);
	assert_true(f->e->success_ready);
	assert_true(may(f, SR_ACT_DECLARE_SUCCESS, -1, "dri", why));
	assert_false(may(f, SR_ACT_DECLARE_SUCCESS, -1, "ceo", why));
	assert_false(may(f, SR_ACT_DECLARE_SUCCESS, -1, "observer", why));
}

/* ---- a decision computed before the last change is not trusted ---------- */

/* A DRI hold, then a promote before the next evaluation: the decision
 * still says GO, but the rollout is held (and rollout_promote would clear
 * the hold), so rights refuse on the rollout itself. */
static void test_promote_refused_after_hold_without_evaluation(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_int_equal(
	    rollout_hold(&f->e->ro, "dri", "checking dashboards", f->now, why, WHY_LEN), 0);
	assert_int_equal(f->e->decision.verdict, SR_GO); /* stale: nothing re-ran it */
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "held by dri since T+90");
	assert_contains(why, "the rollout changed at T+90");
	assert_contains(why, "waiting for the next evaluation");
	/* what the dispatcher does after every action: the decision follows */
	engine_redecide(f->e, f->now);
	assert_true(engine_decision_current(f->e));
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "decision is HOLD: held by dri since T+90");
	assert_contains(why, "checking dashboards");
	assert_null(strstr(why, "the rollout changed"));
	assert_int_equal(occurrences(why, "held by dri"), 1);
	/* a resume does not make it current either: it is a change too */
	assert_int_equal(rollout_resume(&f->e->ro, f->now, why, WHY_LEN), 0);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "the rollout changed at T+90");
	fx_step(f, FX_POLL);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
}

/* 25 -> 50 and at once 50 -> 100: the 50% observation window (240 min)
 * has not started to run, whatever the last decision said. */
static void test_promote_twice_refused_window(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	fx_enter(f, 25);
	fx_step(f, 120 * FX_MIN);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_int_equal(f->e->decision.verdict, SR_GO);
	assert_true(may(f, SR_ACT_PROMOTE, 50, "dri", why));
	assert_int_equal(rollout_promote(&f->e->ro, f->p, 50, f->now, why, WHY_LEN), 0);
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "observing 0m of 240m at 50%");
	assert_contains(why, "the rollout changed at T+120");
	engine_redecide(f->e, f->now);
	assert_int_equal(f->e->decision.verdict, SR_HOLD);
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "decision is HOLD");
	assert_contains(why, "observing 0m of 240m at 50%");
	assert_int_equal(occurrences(why, "observing 0m"), 1);
	/* still refused a little later, until the window has run */
	f->now += FX_POLL;
	fx_eval(f);
	assert_false(may(f, SR_ACT_PROMOTE, 100, "dri", why));
	assert_contains(why, "observing 0m of 240m at 50%");
}

/* An approval is a change: the decision that counted it must come first. */
static void test_promote_refused_until_approval_evaluated(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why, "the rollout changed at T+90");
	assert_contains(why, "waiting for the next evaluation");
	fx_eval(f);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
}

/* A decision older than stale_after is not evidence for a promote: the
 * data behind it would be STALE by now. */
static void test_promote_refused_on_old_decision(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	at_gate1(f);
	fx_approve(f, "approver");
	fx_eval(f);
	assert_true(
	    rights_check(f->e, SR_ACT_PROMOTE, 25, "dri", f->now + 45 * FX_S, why, WHY_LEN));
	assert_false(
	    rights_check(f->e, SR_ACT_PROMOTE, 25, "dri", f->now + SR_MS_PER_H, why, WHY_LEN));
	assert_contains(why, "the last evaluation was at T+90");
	assert_contains(why, "waiting for the next evaluation");
	/* hold and rollback never wait for data */
	assert_true(rights_check(f->e, SR_ACT_HOLD, -1, "dri", f->now + SR_MS_PER_H, why, WHY_LEN));
	assert_true(
	    rights_check(f->e, SR_ACT_ROLLBACK, -1, "dri", f->now + SR_MS_PER_H, why, WHY_LEN));
}

/* "Release DRI + gate approvals" means a second person: someone who holds
 * both roles cannot approve their own gate and then promote alone. */
static void test_self_approval_does_not_count(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	struct sr_roster *r = &f->p->roster;
	snprintf(r->who[SR_ROLE_GATE_APPROVER][r->n[SR_ROLE_GATE_APPROVER]++], SR_NAME_LEN, "dri");
	snprintf(r->who[SR_ROLE_RELEASE_DRI][r->n[SR_ROLE_RELEASE_DRI]++], SR_NAME_LEN, "dri2");
	fx_reinit(f, FX_T0);
	at_gate1(f);
	assert_true(may(f, SR_ACT_APPROVE, -1, "dri", why)); /* approving is allowed */
	fx_approve(f, "dri");
	fx_eval(f);
	assert_false(may(f, SR_ACT_PROMOTE, 25, "dri", why));
	assert_contains(why,
	                "approvals must come from someone other than the promoter: dri approved "
	                "their own gate");
	assert_contains(why, "Gate 1 needs 1 approval from gate_approver: approver (none yet)");
	/* issue 9: what dri's own views show is what dri's promote needs
	 * (they said "no approval missing"); the rollout-wide count stays. */
	char text[WHY_LEN], who[128];
	assert_int_equal(rights_approvals_text(f->e, "dri", text, sizeof text), 1);
	assert_contains(text, "Gate 1 needs 1 approval from gate_approver: approver");
	assert_int_equal(rights_missing_approvals(f->e, "dri", who, sizeof who), 1);
	assert_string_equal(who, "approver");
	assert_int_equal(rights_approvals_text(f->e, NULL, text, sizeof text), 0);
	assert_int_equal(rights_approvals_text(f->e, "dri2", text, sizeof text), 0);
	/* another Release DRI may promote on dri's approval */
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri2", why));
	/* and a second approver makes it a two-person decision for dri too */
	fx_approve(f, "approver");
	fx_eval(f);
	assert_true(may(f, SR_ACT_PROMOTE, 25, "dri", why));
}

static void test_tick_rights(void **state)
{
	struct fx *f = *state;
	char why[WHY_LEN];
	assert_true(may(f, SR_ACT_TICK, -1, "dri", why));
	assert_false(may(f, SR_ACT_TICK, -1, "approver", why));
	assert_contains(why, "approver is not release_dri");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_observer_cannot_do_anything, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_5_25_needs_approval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approvals_counted_by_role, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gate_approver_cannot_promote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_refused_on_hold_with_reasons, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_promote_non_adjacent_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_50_100_preapproved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_50_100_needs_p95, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_0_5_preflight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_by_dri_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_follows_the_edge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_during_overnight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_and_resume_by_dri, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approve_rights, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tiebreak_only_exec_while_escalate, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_declare_success_when_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tick_rights, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_refused_after_hold_without_evaluation,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_twice_refused_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_promote_refused_until_approval_evaluated, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_promote_refused_on_old_decision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_approval_does_not_count, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
