/* test_action.c - the action table and the dispatcher: read-only,
 * authority and the decision, the edge sequence (idempotent set, read
 * back, bounded retries), and the policy's auto-rollback.
 *
 * A runner over the shipped policy and the simulator, with scenarios
 * built in code (no script: the tests act themselves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/runner.h"
#include "shiproom/sim.h"

#define MIN SR_MS_PER_MIN
#define T0 1759910400000LL /* 2025-10-08T08:00:00Z */

static struct sr_policy *policy;

struct fix {
	struct sr_policy *policy;
	struct sr_scenario sc;
	struct sr_sim *sim;
	struct sr_runner *r;
};

static int setup(void **state)
{
	(void)state;
	struct sr_policy_error err;
	policy = calloc(1, sizeof *policy);
	if (!policy || policy_load_file(policy, SR_DATADIR "/config/shiproom.json", &err) != 0) {
		char msg[1024];
		policy_error_format(&err, msg, sizeof msg);
		print_error("cannot load the shipped policy: %s\n", msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(policy);
	return 0;
}

static struct fix *fix_new(struct sr_policy *p, bool read_only)
{
	struct fix *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->policy = p;
	snprintf(f->sc.name, sizeof f->sc.name, "action-test");
	f->sc.t0 = T0;
	f->sc.seed = 77;
	f->sc.start_min = -130;
	f->sc.end_min = 600;
	for (int j = 0; j < p->njourneys; j++)
		f->sc.rps[j] = 40;
	f->sim = sim_create(p, &f->sc);
	f->r = calloc(1, sizeof *f->r);
	assert_non_null(f->sim);
	assert_non_null(f->r);
	runner_init(f->r, p, &f->sc, sim_source(f->sim), sim_edge(f->sim), read_only, "tester");
	f->r->sim = f->sim;
	runner_advance(f->r, T0 - 130 * MIN);
	return f;
}

static void fix_free(struct fix *f)
{
	sim_destroy(f->sim);
	free(f->r);
	free(f);
}

static struct sr_action_result act(struct fix *f, enum sr_action_kind kind, const char *actor,
                                   int weight)
{
	struct sr_action_request req = {.kind = kind, .weight = weight, .gate = -1};
	struct sr_action_result res;
	memset(&res, 0, sizeof res);
	snprintf(req.actor, sizeof req.actor, "%s", actor);
	action_dispatch(f->r, &req, &res);
	return res;
}

static void tick(struct fix *f, const char *item)
{
	struct sr_action_request req = {.kind = SR_ACT_TICK, .gate = -1};
	struct sr_action_result res;
	snprintf(req.actor, sizeof req.actor, "dri");
	snprintf(req.checklist, sizeof req.checklist, "preflight");
	snprintf(req.item, sizeof req.item, "%s", item);
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
}

/* Pre-flight ticked, clock at T-0: the decision is GO for 5%. */
static void to_t0_ready(struct fix *f)
{
	runner_advance(f->r, T0 - 60 * MIN);
	tick(f, "roster_posted");
	tick(f, "region_posted");
	tick(f, "security_signoff");
	tick(f, "dashboards_ready");
	runner_advance(f->r, T0);
	assert_int_equal(f->r->engine.decision.verdict, SR_GO);
}

static bool log_has(const struct sr_runner *r, enum sr_status sev, const char *needle)
{
	for (int i = 0; runner_log_entry(r, i); i++) {
		const struct sr_log_entry *e = runner_log_entry(r, i);
		if (e->severity == sev && strstr(e->text, needle))
			return true;
	}
	return false;
}

/* ---- the table --------------------------------------------------------------- */

static void test_table(void **state)
{
	(void)state;
	int n = 0;
	const struct sr_action_def *t = action_table(&n);
	assert_int_equal(n, SR_ACT_COUNT);
	for (int i = 0; i < n; i++) {
		assert_true(action_by_kind(t[i].kind) == &t[i]);
		assert_true(action_by_name(t[i].name) == &t[i]);
		assert_true(action_by_key(t[i].key) == &t[i]);
		assert_false(t[i].flags & SR_AF_READONLY_OK); /* none of the acts are */
		assert_string_equal(t[i].name, sr_action_name(t[i].kind));
	}
	const struct sr_action_def *p = action_by_key('p'), *x = action_by_key('x');
	assert_int_equal(p->kind, SR_ACT_PROMOTE);
	assert_int_equal(p->flags, SR_AF_DANGEROUS | SR_AF_TYPE_WEIGHT | SR_AF_MOVES_EDGE);
	assert_int_equal(x->kind, SR_ACT_ROLLBACK);
	assert_int_equal(x->flags, SR_AF_DANGEROUS | SR_AF_MOVES_EDGE);
	assert_int_equal(action_by_key('h')->flags & SR_AF_MOVES_EDGE, 0);
	assert_int_equal(action_by_key('a')->role, SR_ROLE_GATE_APPROVER);
	assert_int_equal(action_by_key('T')->role, SR_ROLE_EXEC);
	assert_null(action_by_key('?'));
	assert_null(action_by_name("deploy"));
}

/* ---- read-only ----------------------------------------------------------------- */

static void test_read_only_refuses_every_action(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, true);
	runner_advance(f->r, T0);
	assert_null(f->r->edge); /* no edge driver at all */
	int n = 0;
	const struct sr_action_def *t = action_table(&n);
	for (int i = 0; i < n; i++) {
		char want[96];
		struct sr_action_result res = act(f, t[i].kind, "dri", 0);
		snprintf(want, sizeof want, "read-only console: %s is not available", t[i].name);
		assert_int_equal(res.outcome, SR_ACT_REFUSED);
		assert_string_equal(res.message, want);
		assert_true(log_has(f->r, SR_YELLOW, want));
	}
	assert_int_equal(sim_weight(f->sim), 0);
	assert_int_equal(sim_edge_calls(f->sim), 0);
	assert_int_equal(f->r->engine.ro.phase, -1);
	fix_free(f);
}

/* ---- authority and the decision ---------------------------------------------------- */

static void test_promote_refused_carries_reasons(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	runner_advance(f->r, T0 - 60 * MIN);
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	/* the decision and each of its reasons */
	assert_non_null(strstr(res.message, "decision is HOLD"));
	assert_non_null(strstr(res.message, "before T-0"));
	assert_non_null(strstr(res.message, "roster_posted"));
	assert_int_equal(sim_weight(f->sim), 0);
	assert_int_equal(sim_edge_calls(f->sim), 0); /* never reached the edge */
	assert_int_equal(f->r->engine.ro.phase, -1);
	/* someone not in the roster is refused for who they are */
	res = act(f, SR_ACT_HOLD, "mallory", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_non_null(strstr(res.message, "mallory"));
	fix_free(f);
}

static void test_promote_weight_zero_is_next_phase(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(res.weight, 5);
	assert_int_equal(sim_weight(f->sim), 5);
	assert_int_equal(f->r->engine.ro.weight, 5);
	assert_int_equal(f->r->engine.ro.phase, 0);
	assert_false(sim_edge_drained(f->sim));
	assert_true(log_has(f->r, SR_GREEN, "promote to 5% by dri"));
	/* promote again at once: refused (the 5% window has not elapsed) */
	runner_advance(f->r, T0 + MIN);
	res = act(f, SR_ACT_PROMOTE, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_non_null(strstr(res.message, "25%"));
	assert_int_equal(sim_weight(f->sim), 5);
	fix_free(f);
}

/* ---- the edge ------------------------------------------------------------------------ */

static void test_rollback_zero_and_drain(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(f->r, T0 + 10 * MIN);
	struct sr_action_result res = act(f, SR_ACT_ROLLBACK, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(res.weight, 0);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_true(sim_edge_drained(f->sim));
	assert_true(f->r->engine.ro.rolled_back);
	assert_string_equal(f->r->engine.ro.rolled_back_by, "dri");
	assert_int_equal(f->r->engine.ro.weight, 0);
	assert_int_equal(rollout_state(&f->r->engine.ro, policy, f->r->now), SR_RS_ROLLED_BACK);
	/* nothing left to roll back */
	res = act(f, SR_ACT_ROLLBACK, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	fix_free(f);
}

static void test_edge_failure_after_three_tries(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	long calls = sim_edge_calls(f->sim);
	int nlog = f->r->nlog;
	sim_edge_fail_next(f->sim, 5, "connection refused");
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_non_null(strstr(res.message, "after 3 attempts"));
	assert_non_null(strstr(res.message, "connection refused"));
	assert_int_equal(sim_edge_calls(f->sim) - calls, SR_ACTION_EDGE_TRIES);
	/* the rollout is unchanged, and so is the edge */
	assert_int_equal(f->r->engine.ro.phase, -1);
	assert_int_equal(f->r->engine.ro.weight, 0);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_false(f->r->action_in_flight);
	/* each retry and the failure are in the log */
	assert_true(f->r->nlog - nlog >= 3);
	assert_true(log_has(f->r, SR_RED, "FAILED"));
	assert_true(log_has(f->r, SR_YELLOW, "retrying"));
	fix_free(f);
}

static void test_edge_retry_then_success(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	long calls = sim_edge_calls(f->sim);
	sim_edge_fail_next(f->sim, 1, "timeout");
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(res.weight, 5);
	/* set (failed), set, get */
	assert_int_equal(sim_edge_calls(f->sim) - calls, 3);
	assert_int_equal(f->r->engine.ro.weight, 5);
	assert_int_equal(f->r->engine.ro.phase, 0);
	assert_true(log_has(f->r, SR_YELLOW, "timeout"));
	fix_free(f);
}

/* ---- record-only actions ------------------------------------------------------------------ */

static void test_record_only_actions(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(f->r, T0 + 30 * MIN);
	long calls = sim_edge_calls(f->sim);

	struct sr_action_result res = act(f, SR_ACT_APPROVE, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED); /* the DRI is not a gate approver */
	res = act(f, SR_ACT_APPROVE, "approver", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_string_equal(res.message, "Gate 1 approved by approver");
	assert_int_equal(f->r->engine.ro.gates[0].napprovals, 1);
	assert_int_equal(runner_log_entry(f->r, 0)->kind, SR_LOG_APPROVAL);

	res = act(f, SR_ACT_HOLD, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_true(f->r->engine.ro.held);
	assert_int_equal(act(f, SR_ACT_RESUME, "dri", 0).outcome, SR_ACT_DONE);
	assert_false(f->r->engine.ro.held);
	/* none of these touched the edge */
	assert_int_equal(sim_edge_calls(f->sim), calls);
	assert_int_equal(sim_weight(f->sim), 5);
	/* a tie-break needs an overnight hold */
	res = act(f, SR_ACT_TIEBREAK, "ceo", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	fix_free(f);
}

/* ---- auto-rollback -------------------------------------------------------------------------- */

static void test_auto_rollback(void **state)
{
	(void)state;
	struct sr_policy *p = malloc(sizeof *p);
	assert_non_null(p);
	memcpy(p, policy, sizeof *p);
	p->auto_rollback = true;
	struct fix *f = fix_new(p, false);
	/* search canary latency x2.5 from T+5: P95 well past 160 ms */
	struct sr_effect *e = &f->sc.effects[f->sc.neffects++];
	e->from_min = 5;
	e->to_min = 600;
	e->op = SR_FX_SCALE;
	e->kpi = policy_kpi_index(p, "p95_latency");
	e->journey = policy_journey_index(p, "search");
	e->cohort = SR_COHORT_CANARY;
	e->amount = 2.5;
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(f->r, T0 + 10 * MIN);
	assert_true(f->r->alarm);
	assert_true(f->r->engine.ro.rolled_back);
	assert_string_equal(f->r->engine.ro.rolled_back_by, SR_ACTOR_AUTO_ROLLBACK);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_true(sim_edge_drained(f->sim));
	fix_free(f);

	/* Without auto_rollback the same actor has no authority. */
	memcpy(p, policy, sizeof *p);
	p->auto_rollback = false;
	f = fix_new(p, false);
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	struct sr_action_result res = act(f, SR_ACT_ROLLBACK, SR_ACTOR_AUTO_ROLLBACK, 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_int_equal(sim_weight(f->sim), 5);
	fix_free(f);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_read_only_refuses_every_action),
		cmocka_unit_test(test_promote_refused_carries_reasons),
		cmocka_unit_test(test_promote_weight_zero_is_next_phase),
		cmocka_unit_test(test_rollback_zero_and_drain),
		cmocka_unit_test(test_edge_failure_after_three_tries),
		cmocka_unit_test(test_edge_retry_then_success),
		cmocka_unit_test(test_record_only_actions),
		cmocka_unit_test(test_auto_rollback),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
