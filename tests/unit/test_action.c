/* test_action.c - the action table and the dispatcher: read-only,
 * authority and the decision, the edge sequence (idempotent set, read
 * back, bounded retries with back-off), the policy's auto-rollback, and
 * the journal around it all: the action lock, intent and outcome, the
 * rollout rebuilt from the journal, another console seeing the action,
 * and start-up reconciliation of an intent left without its outcome.
 * Also: the decision follows every action at once (engine_redecide, no
 * tick in between), an edge left at another weight than the record after
 * a final failure is said, and a source whose poll never answers lets
 * the cells go STALE instead of keeping their last GREEN.
 *
 * A runner over the shipped policy and the simulator, with scenarios
 * built in code (no script: the tests act themselves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/action.h"
#include "shiproom/haproxy.h"
#include "shiproom/journal.h"
#include "shiproom/runner.h"
#include "shiproom/sim.h"

#include "fsize_helper.h"

#undef MIN /* <sys/param.h>'s, through <uv.h> */
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

/* The newest log row containing needle, or NULL. */
static const char *log_find(const struct sr_runner *r, const char *needle)
{
	const char *found = NULL;
	for (int i = 0; runner_log_entry(r, i); i++)
		if (strstr(runner_log_entry(r, i)->text, needle))
			found = runner_log_entry(r, i)->text;
	return found;
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
	assert_int_equal(x->flags, SR_AF_DANGEROUS | SR_AF_MOVES_EDGE | SR_AF_ASKS_REASON);
	/* the console asks why for hold, rollback and approve; a note and
	 * an undone tick are refused without their text */
	assert_true(action_by_key('h')->flags & SR_AF_ASKS_REASON);
	assert_true(action_by_key('a')->flags & SR_AF_ASKS_REASON);
	assert_true(action_by_key('n')->flags & SR_AF_NEEDS_TEXT);
	assert_true(action_by_key('u')->flags & SR_AF_NEEDS_TEXT);
	assert_int_equal(action_by_key('h')->flags & SR_AF_MOVES_EDGE, 0);
	assert_int_equal(action_by_key('a')->role, SR_ROLE_GATE_APPROVER);
	assert_int_equal(action_by_key('T')->role, SR_ROLE_EXEC);
	assert_null(action_by_key('?'));
	assert_null(action_by_name("deploy"));
}

/* ---- the workflow's actions: post, report --------------------------------------- */

struct wf_calls {
	int n;
	struct sr_action_request last;
};

static void wf_hook(void *ud, const struct sr_action_request *req, struct sr_action_result *res)
{
	struct wf_calls *c = ud;
	c->n++;
	c->last = *req;
	res->outcome = SR_ACT_DONE;
	res->weight = -1;
	snprintf(res->message, sizeof res->message, "did %s", sr_action_name(req->kind));
}

/* U and w are entries of the one table: checked by the dispatcher like
 * every action (read-only, roster), then carried out by the workflow's
 * owner; they never change the rollout record. */
static void test_workflow_actions(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	runner_advance(f->r, T0 - 30 * MIN);
	assert_int_equal(action_by_key('U')->kind, SR_ACT_POST);
	assert_true(action_by_kind(SR_ACT_REPORT)->flags & SR_AF_WORKFLOW);
	struct sr_action_result res = act(f, SR_ACT_POST, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED); /* nobody here to post with */
	assert_non_null(strstr(res.message, "nothing here"));

	struct wf_calls calls = {0};
	f->r->workflow = wf_hook;
	f->r->workflow_ud = &calls;
	unsigned long changes = f->r->engine.ro.changes;
	res = act(f, SR_ACT_POST, "observer", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_non_null(strstr(res.message, "not on the roster as release_dri"));
	res = act(f, SR_ACT_POST, "nobody", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_int_equal(calls.n, 0); /* refused before the workflow is asked */
	res = act(f, SR_ACT_POST, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_string_equal(res.message, "did post");
	res = act(f, SR_ACT_POST, "approver", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(calls.n, 2);

	struct sr_action_request req = {
	    .kind = SR_ACT_REPORT, .gate = -1, .report_kind = 1, .report_index = -1};
	snprintf(req.actor, sizeof req.actor, "dri");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(calls.n, 3);
	assert_int_equal(calls.last.report_kind, 1);
	assert_int_equal(calls.last.report_index, -1);
	assert_int_equal(f->r->engine.ro.changes, changes); /* the record is as it was */

	/* after a rollback the team still posts and writes the postmortem */
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(f->r, T0 + 10 * MIN);
	res = act(f, SR_ACT_ROLLBACK, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	res = act(f, SR_ACT_POST, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	fix_free(f);
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

/* issue 9: "tick refused: tick refused: ...": the message names the
 * action and the reason, and the log (like `act` and the console) adds
 * the outcome's word once. */
static void test_refusal_says_refused_once(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	runner_advance(f->r, T0 - 60 * MIN);
	struct sr_action_request req = {.kind = SR_ACT_TICK, .gate = -1};
	struct sr_action_result res;
	snprintf(req.actor, sizeof req.actor, "dri");
	snprintf(req.checklist, sizeof req.checklist, "preflight");
	snprintf(req.item, sizeof req.item, "no_such_item");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	if (strstr(res.message, "refused"))
		fail_msg("the message carries the outcome word: %s", res.message);
	assert_non_null(strstr(res.message, "tick: "));
	res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_null(strstr(res.message, "refused"));
	assert_non_null(strstr(res.message, "promote to 5%: decision is HOLD"));
	int n = 0;
	for (int i = 0; runner_log_entry(f->r, i); i++) {
		const char *t = runner_log_entry(f->r, i)->text;
		for (const char *q = strstr(t, "refused"); q; q = strstr(q + 1, "refused"))
			n++;
		if (strstr(t, "no_such_item") || strstr(t, "promote to 5%"))
			assert_non_null(strstr(t, "refused: "));
	}
	assert_int_equal(n, 2); /* two refusals, one word each */
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
	/* three sets, then one read-back of what the edge really shows */
	assert_int_equal(sim_edge_calls(f->sim) - calls, SR_ACTION_EDGE_TRIES + 1);
	/* the read-back failed too (5 failures injected): the record is
	 * unchanged, the edge unknown, and the log says so */
	assert_non_null(strstr(res.message, "(rollout unchanged)"));
	assert_true(log_has(f->r, SR_RED, "could not be read back"));
	/* the rollout is unchanged, and so is the edge */
	assert_int_equal(f->r->engine.ro.phase, -1);
	assert_int_equal(f->r->engine.ro.weight, 0);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_false(f->r->action_in_flight);
	/* each retry and the failure are in the log */
	assert_true(f->r->nlog - nlog >= 3);
	assert_true(log_has(f->r, SR_RED, "FAILED"));
	assert_true(
	    log_has(f->r, SR_YELLOW, "retry 2/3 now: set_weight failed: connection refused"));
	assert_true(log_has(f->r, SR_YELLOW, "retry 3/3 now"));
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

/* ---- the journal ----------------------------------------------------------------------- */

struct jfix {
	struct fix *f;
	char dir[64];
	struct sr_journal *j;
};

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static struct sr_journal *jopen(const char *dir)
{
	char err[256];
	struct sr_journal *j = journal_open(dir, NULL, err, sizeof err);
	if (!j)
		print_error("journal_open: %s\n", err);
	assert_non_null(j);
	return j;
}

/* A runner on the simulator with a journal in a fresh state dir, started
 * like main starts one: replay (empty), start record at the scenario's T-0. */
static struct jfix *jfix_new(struct sr_policy *p, bool read_only)
{
	struct jfix *jf = calloc(1, sizeof *jf);
	char err[256];
	assert_non_null(jf);
	snprintf(jf->dir, sizeof jf->dir, "/tmp/sr-test-action-XXXXXX");
	assert_non_null(mkdtemp(jf->dir));
	jf->f = fix_new(p, read_only);
	jf->j = jopen(jf->dir);
	assert_true(runner_set_journal(jf->f->r, jf->j, read_only) >= 0);
	if (!read_only)
		assert_int_equal(runner_journal_start(jf->f->r, T0, err, sizeof err), 0);
	return jf;
}

static void jfix_free(struct jfix *jf)
{
	journal_close(jf->j);
	fix_free(jf->f);
	rm_dir(jf->dir);
	free(jf);
}

#define SEEN_MAX 2048

struct seen {
	int n;
	char types[SEEN_MAX][16];
	json_t *ev[SEEN_MAX];
};

static void collect(void *ud, const struct sr_jevent *ev)
{
	struct seen *s = ud;
	assert_true(s->n < SEEN_MAX); /* a test journal is never this long */
	if (s->n < SEEN_MAX) {
		snprintf(s->types[s->n], sizeof s->types[0], "%s", ev->type_name);
		s->ev[s->n] = json_incref((json_t *)journal_event_obj(ev));
		s->n++;
	}
}

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		json_decref(s->ev[i]);
}

/* The journal's action records (observations left out), in order. */
static void read_actions(const char *dir, struct seen *out)
{
	char path[256], err[256];
	static struct seen all; /* large: off the stack */
	memset(&all, 0, sizeof all);
	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "%s/journal.jsonl", dir);
	assert_true(journal_replay(path, collect, NULL, &all, err, sizeof err) >= 0);
	for (int i = 0; i < all.n; i++) {
		if (!strcmp(all.types[i], "status") || !strcmp(all.types[i], "trigger") ||
		    !strcmp(all.types[i], "snapshot") || !strcmp(all.types[i], "obs")) {
			json_decref(all.ev[i]);
			continue;
		}
		out->ev[out->n] = all.ev[i];
		snprintf(out->types[out->n], sizeof out->types[0], "%s", all.types[i]);
		out->n++;
	}
}

static const char *evs(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static long long evi(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_journal_promote_intent_outcome(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(f->r->engine.ro.phase, 0);
	assert_int_equal(f->r->engine.ro.weight, 5);
	assert_false(journal_locked(jf->j)); /* released after the outcome */

	struct seen s;
	read_actions(jf->dir, &s);
	/* start, 4 ticks, intent, outcome */
	assert_int_equal(s.n, 7);
	assert_string_equal(s.types[0], "start");
	assert_int_equal(evi(s.ev[0], "t0"), T0);
	for (int i = 1; i <= 4; i++)
		assert_string_equal(s.types[i], "tick");
	assert_string_equal(evs(s.ev[1], "item"), "roster_posted");
	assert_string_equal(s.types[5], "intent");
	assert_string_equal(s.types[6], "outcome");
	assert_string_equal(evs(s.ev[5], "action"), "promote");
	assert_int_equal(evi(s.ev[5], "weight"), 5);
	assert_string_equal(evs(s.ev[5], "actor"), "dri");
	/* the outcome names its intent's key, which is the edge's idempotency key */
	assert_string_equal(evs(s.ev[5], "key"), evs(s.ev[6], "key"));
	assert_string_equal(evs(s.ev[5], "key"), f->r->flight.key);
	assert_int_equal(strncmp(evs(s.ev[5], "key"), "sr-", 3), 0);
	assert_string_equal(evs(s.ev[6], "result"), "ok");
	assert_int_equal(evi(s.ev[6], "weight"), 5);
	assert_int_equal(evi(s.ev[6], "attempts"), 1);
	seen_free(&s);

	/* the journal alone rebuilds the same rollout */
	struct sr_rollout ro;
	struct sr_replay rp;
	char path[256], err[256];
	journal_replay_init(&rp, &ro, policy);
	snprintf(path, sizeof path, "%s/journal.jsonl", jf->dir);
	struct sr_journal *j2 = jopen(jf->dir);
	struct fix *other = fix_new(policy, true);
	assert_true(runner_set_journal(other->r, j2, true) > 0);
	assert_int_equal(other->r->engine.ro.phase, 0);
	assert_int_equal(other->r->engine.ro.weight, 5);
	assert_int_equal(other->r->engine.ro.t0, T0);
	assert_int_equal(rollout_preflight_open(&other->r->engine.ro, policy), 0);
	assert_memory_equal(other->r->engine.ro.ticks, f->r->engine.ro.ticks, sizeof ro.ticks);
	(void)err;
	(void)rp;

	/* another console on the same state dir sees the next action live */
	runner_advance(f->r, T0 + 5 * MIN);
	res = act(f, SR_ACT_HOLD, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_false(other->r->engine.ro.held);
	assert_true(runner_journal_poll(other->r) >= 1);
	assert_true(other->r->engine.ro.held);
	assert_string_equal(other->r->engine.ro.held_by, "dri");
	assert_string_equal(other->r->engine.ro.hold_reason, "held by the Release DRI");
	assert_true(log_has(other->r, SR_GREEN, "another console: hold by dri"));

	/* a rollback without a typed reason: the row another console (or a
	 * replay) rebuilds from the journal says what this console said */
	runner_advance(f->r, T0 + 6 * MIN);
	res = act(f, SR_ACT_ROLLBACK, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_true(runner_journal_poll(other->r) >= 1);
	const char *mine = log_find(f->r, "rollback by dri");
	const char *theirs = log_find(other->r, "rollback by dri");
	assert_non_null(mine);
	assert_non_null(theirs);
	char want[SR_TEXT_LEN + 32];
	snprintf(want, sizeof want, "another console: %s", mine);
	assert_string_equal(theirs, want);
	journal_close(j2);
	fix_free(other);
	jfix_free(jf);
}

/* A note and an undone tick: text required, who and why journaled, and
 * the journal alone rebuilds them; an observer may not note unless the
 * policy's rights have a "note" row. */
static void test_journal_note_and_untick(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	struct sr_action_request req = {.kind = SR_ACT_NOTE, .gate = -1};
	struct sr_action_result res;
	snprintf(req.actor, sizeof req.actor, "approver");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_REFUSED); /* no text */
	snprintf(req.reason, sizeof req.reason, "DB locks seen on the primary, watching");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_string_equal(rollout_note_at(&f->r->engine.ro, 0)->text,
	                    "DB locks seen on the primary, watching");
	snprintf(req.actor, sizeof req.actor, "observer");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_non_null(strstr(res.message, "observer"));

	struct sr_action_request un = {.kind = SR_ACT_UNTICK, .gate = -1};
	snprintf(un.actor, sizeof un.actor, "dri");
	snprintf(un.checklist, sizeof un.checklist, "preflight");
	snprintf(un.item, sizeof un.item, "roster_posted");
	action_dispatch(f->r, &un, &res);
	assert_int_equal(res.outcome, SR_ACT_REFUSED); /* no reason */
	snprintf(un.reason, sizeof un.reason, "posted in the wrong channel");
	action_dispatch(f->r, &un, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_false(f->r->engine.ro.ticks[0][0].done);

	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_equal(s.types[s.n - 2], "note");
	assert_string_equal(evs(s.ev[s.n - 2], "actor"), "approver");
	assert_string_equal(s.types[s.n - 1], "untick");
	assert_string_equal(evs(s.ev[s.n - 1], "reason"), "posted in the wrong channel");
	seen_free(&s);

	struct sr_journal *j2 = jopen(jf->dir);
	struct fix *other = fix_new(policy, true);
	assert_true(runner_set_journal(other->r, j2, true) > 0);
	assert_int_equal(other->r->engine.ro.nnotes, 1);
	assert_false(other->r->engine.ro.ticks[0][0].done);
	journal_close(j2);
	fix_free(other);
	jfix_free(jf);
}

static void test_journal_lock_refuses_second_console(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	/* another console is in the middle of an action */
	struct sr_journal *j2 = jopen(jf->dir);
	char why[256];
	assert_int_equal(journal_lock(j2, "alice", "rollback", why, sizeof why), 0);
	struct stat before, after;
	char path[256];
	snprintf(path, sizeof path, "%s/journal.jsonl", jf->dir);
	assert_int_equal(stat(path, &before), 0);
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	assert_non_null(strstr(res.message, "another console"));
	assert_non_null(strstr(res.message, "alice"));
	assert_non_null(strstr(res.message, "rollback"));
	assert_int_equal(sim_weight(f->sim), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size); /* nothing written */
	res = act(f, SR_ACT_HOLD, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_REFUSED);
	/* once it is done, we may act */
	journal_unlock(j2);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 0).outcome, SR_ACT_DONE);
	assert_int_equal(sim_weight(f->sim), 5);
	/* and while we hold it, the other console is refused */
	assert_int_equal(journal_lock(jf->j, "dri", "promote", why, sizeof why), 0);
	assert_int_equal(journal_lock(j2, "alice", "hold", why, sizeof why), -1);
	assert_non_null(strstr(why, "promote"));
	journal_unlock(jf->j);
	journal_close(j2);
	jfix_free(jf);
}

static void test_journal_edge_failure_recorded(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	sim_edge_fail_next(f->sim, 5, "connection refused");
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_non_null(strstr(res.message, "after 3 attempts"));
	assert_int_equal(f->r->engine.ro.phase, -1);
	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_equal(s.types[s.n - 2], "intent");
	assert_string_equal(s.types[s.n - 1], "outcome");
	const json_t *o = s.ev[s.n - 1];
	assert_string_equal(evs(o, "result"), "failed");
	assert_int_equal(evi(o, "attempts"), 3);
	assert_int_equal(evi(o, "weight"), -1);
	assert_non_null(strstr(evs(o, "error"), "connection refused"));
	seen_free(&s);
	/* nothing is left open: a restart has nothing to reconcile */
	struct sr_jintent it;
	assert_false(journal_pending_intent(jf->j, &it));
	assert_false(journal_locked(jf->j));
	jfix_free(jf);
}

static void test_journal_retry_backoff_on_loop(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	uv_loop_t loop;
	uv_loop_init(&loop);
	runner_attach_loop(f->r, &loop);
	f->r->backoff_ms = 5;
	to_t0_ready(f);
	sim_edge_fail_next(f->sim, 2, "timeout");
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_PENDING);
	assert_true(f->r->action_in_flight);
	assert_true(journal_locked(jf->j)); /* held from intent to outcome */
	assert_true(log_has(f->r, SR_YELLOW, "retry 2/3 in 5ms: set_weight failed: timeout"));
	for (int i = 0; i < 100 && f->r->action_in_flight; i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_false(f->r->action_in_flight);
	assert_int_equal(f->r->flight.result.outcome, SR_ACT_DONE);
	assert_true(log_has(f->r, SR_YELLOW, "retry 3/3 in 10ms"));
	assert_int_equal(f->r->engine.ro.weight, 5);
	assert_false(journal_locked(jf->j));
	struct seen s;
	read_actions(jf->dir, &s);
	assert_int_equal(evi(s.ev[s.n - 1], "attempts"), 3);
	seen_free(&s);
	runner_close(f->r);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	jfix_free(jf);
}

static void ignore_edge(void *ud, int result, int weight, const char *err)
{
	(void)ud;
	(void)weight;
	(void)err;
	assert_int_equal(result, 0);
}

/* A console restarted on jf's journal (closed by the caller) and on the
 * same edge as the console that died. */
static struct fix *restart_on_the_same_edge(struct jfix *jf)
{
	struct fix *f = jf->f;
	jf->j = jopen(jf->dir);
	struct fix *g = fix_new(policy, false);
	sim_destroy(g->sim);
	g->sim = f->sim; /* the same edge */
	f->sim = sim_create(policy, &f->sc);
	g->r->edge = sim_edge(g->sim);
	assert_true(runner_set_journal(g->r, jf->j, false) > 0);
	return g;
}

static void test_journal_reconcile_at_start(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	/* A console wrote its intent to go to 5% and died. The edge did
	 * move (the sim edge shows 5%), the outcome was never written. */
	struct sr_jaction a = {
	    .action = "promote", .weight = 5, .gate = -1, .reason = "", .key = "sr-crashed-1"};
	char err[256];
	assert_int_equal(journal_intent(jf->j, f->r->now, "dri", &a, err, sizeof err), 0);
	struct sr_edge *e = sim_edge(f->sim);
	e->ops->set_weight(e, 5, false, "sr-crashed-1", ignore_edge, NULL);
	journal_close(jf->j);

	/* the restart: replay, then reconcile before anything else */
	struct fix *g = restart_on_the_same_edge(jf);
	assert_int_equal(g->r->engine.ro.phase, -1); /* the intent alone changes nothing */
	runner_reconcile(g->r);
	assert_false(g->r->reconciling);
	assert_int_equal(g->r->engine.ro.phase, 0);
	assert_int_equal(g->r->engine.ro.weight, 5);
	assert_true(log_has(g->r, SR_YELLOW, "it took effect"));
	struct sr_jintent it;
	assert_false(journal_pending_intent(jf->j, &it));
	assert_false(journal_locked(jf->j));
	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_equal(s.types[s.n - 1], "reconcile");
	assert_string_equal(evs(s.ev[s.n - 1], "key"), "sr-crashed-1");
	assert_string_equal(evs(s.ev[s.n - 1], "result"), "ok");
	assert_int_equal(evi(s.ev[s.n - 1], "weight"), 5);
	seen_free(&s);

	/* the other way: an intent to 25% that never reached the edge */
	struct sr_jaction b = {
	    .action = "promote", .weight = 25, .gate = -1, .key = "sr-crashed-2"};
	assert_int_equal(journal_intent(jf->j, g->r->now, "dri", &b, err, sizeof err), 0);
	runner_reconcile(g->r);
	assert_int_equal(g->r->engine.ro.phase, 0);
	assert_int_equal(g->r->engine.ro.weight, 5);
	assert_true(log_has(g->r, SR_YELLOW, "it did not take effect"));
	read_actions(jf->dir, &s);
	assert_string_equal(evs(s.ev[s.n - 1], "result"), "failed");
	assert_int_equal(evi(s.ev[s.n - 1], "weight"), 5);
	seen_free(&s);
	fix_free(g);
	jfix_free(jf);
}

static bool decision_has(const struct sr_runner *r, const char *needle)
{
	for (int i = 0; i < r->engine.decision.nreasons; i++)
		if (strstr(r->engine.decision.reasons[i], needle))
			return true;
	return false;
}

/* A journaled console at 5%, ten minutes after T-0. */
static struct jfix *jfix_at_5(struct sr_policy *p)
{
	struct jfix *jf = jfix_new(p, false);
	to_t0_ready(jf->f);
	assert_int_equal(act(jf->f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(jf->f->r, T0 + 10 * MIN);
	return jf;
}

/* A rollback whose edge steps all failed is not left half-done: it stays
 * due and the poll completes it (after a back-off, visibly, as the
 * same actor's rollback with the same reason) until it has landed. */
static void test_failed_rollback_is_completed_on_the_poll(void **state)
{
	(void)state;
	struct jfix *jf = jfix_at_5(policy);
	struct fix *f = jf->f;
	sim_edge_fail_next(f->sim, SR_ACTION_EDGE_TRIES + 1, "connection reset");
	struct sr_action_request req = {.kind = SR_ACT_ROLLBACK, .gate = -1};
	struct sr_action_result res;
	sr_strlcpy(req.actor, "dri", sizeof req.actor);
	sr_strlcpy(req.reason, "search P95 climbing", sizeof req.reason);
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_false(f->r->engine.ro.rolled_back);
	assert_true(f->r->rollback_due);
	assert_true(log_has(f->r, SR_RED, "rollback by dri has not landed whole"));
	/* Until it lands the decision is that rollback, first and in red,
	 * and nothing moves the canary the other way. */
	assert_int_equal(f->r->engine.decision.verdict, SR_ROLLBACK);
	assert_non_null(strstr(f->r->engine.decision.reasons[0], "has not landed whole"));
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 25).outcome, SR_ACT_REFUSED);
	assert_int_equal(sim_weight(f->sim), 5);
	/* the edge stays down for a while: due again and again, each
	 * attempt later than the one before */
	sim_edge_fail_next(f->sim, 1000, "connection reset");
	runner_advance(f->r, T0 + 12 * MIN);
	assert_false(f->r->engine.ro.rolled_back);
	assert_true(f->r->rollback_due);
	assert_true(log_has(f->r, SR_RED, "attempt 3"));
	/* the edge is back: the next poll past the delay completes it */
	sim_edge_fail_next(f->sim, 0, "");
	runner_advance(f->r, T0 + 15 * MIN);
	assert_false(f->r->rollback_due);
	assert_true(f->r->engine.ro.rolled_back);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_true(sim_edge_drained(f->sim));
	assert_true(log_has(f->r, SR_GREEN, "rollback completed"));
	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_equal(s.types[s.n - 1], "outcome");
	assert_string_equal(evs(s.ev[s.n - 1], "result"), "ok");
	/* It is dri's rollback, completed: the record says who decided it
	 * and why (the header, the postmortem), not "rollback-retry". */
	assert_string_equal(s.types[s.n - 2], "intent");
	assert_string_equal(evs(s.ev[s.n - 2], "actor"), "dri");
	assert_string_equal(evs(s.ev[s.n - 2], "reason"), "search P95 climbing");
	assert_string_equal(f->r->engine.ro.rolled_back_by, "dri");
	assert_string_equal(f->r->engine.ro.rollback_reason, "search P95 climbing");
	assert_int_equal(f->r->engine.rollback_due_since, 0);
	assert_false(decision_has(f->r, "has not landed whole"));
	seen_free(&s);
	jfix_free(jf);
}

static int restore_file_size(void **state)
{
	(void)state;
	fsize_limit(RLIM_INFINITY);
	return 0;
}

/* The journal's file refuses writes (a full disk): the decision HOLDs
 * saying why, an action that needs a record is not done, and a rollback
 * still goes out (break-glass), unrecorded; no line is left half
 * written; when the file takes records again, so does the rollout. */
static void test_full_disk_holds_and_rollback_goes_out(void **state)
{
	(void)state;
	struct jfix *jf = jfix_at_5(policy);
	struct fix *f = jf->f;
	char path[300];
	snprintf(path, sizeof path, "%s/journal.jsonl", jf->dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	fsize_limit((rlim_t)st.st_size);

	runner_advance(f->r, f->r->now + 1 * MIN);
	char why[256];
	assert_true(journal_refusing(jf->j, why, sizeof why));
	assert_non_null(strstr(why, "File too large"));
	assert_int_equal(f->r->engine.decision.verdict, SR_HOLD);
	if (!decision_has(f->r, "journal write failed (cannot write to"))
		fail_msg("no HOLD reason for the refused journal: %s",
		         f->r->engine.decision.reasons[0]);
	assert_true(decision_has(f->r, "nothing acts but a rollback"));

	/* a hold needs its record: not done, and said why */
	struct sr_action_result res = act(f, SR_ACT_HOLD, "dri", 0);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_non_null(strstr(res.message, "cannot write the journal"));
	assert_false(f->r->engine.ro.held);

	/* a rollback goes out all the same */
	assert_int_equal(sim_weight(f->sim), 5);
	res = act(f, SR_ACT_ROLLBACK, "dri", 0);
	if (res.outcome != SR_ACT_DONE)
		fail_msg("rollback on a full disk: %s", res.message);
	assert_int_equal(sim_weight(f->sim), 0);
	assert_true(sim_edge_drained(f->sim));
	assert_true(f->r->engine.ro.rolled_back);
	assert_non_null(strstr(res.message, "NOT recorded"));
	assert_true(log_has(f->r, SR_RED, "rollback goes out unrecorded (break-glass)"));

	/* nothing half written: every line whole, the file as it was */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, -1, SEEK_END), 0);
	assert_int_equal(fgetc(fp), '\n');
	fclose(fp);
	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_not_equal(s.types[s.n - 1], "intent"); /* no rollback intent made it */
	seen_free(&s);

	/* room again: the next polls record, and the hold is over */
	restore_file_size(NULL);
	runner_advance(f->r, f->r->now + 5 * MIN);
	assert_false(journal_refusing(jf->j, NULL, 0));
	assert_false(decision_has(f->r, "journal write failed"));
	assert_true(log_has(f->r, SR_GREEN, "the journal records again") ||
	            log_find(f->r, "the journal records again"));
	jfix_free(jf);
}

/* A rollback cut between its edge steps (the weight at 0 but the canary
 * not drained): the restart does not take the weight for the whole
 * rollback; it sends the steps again and records the completed rollback. */
static void test_reconcile_completes_a_half_done_rollback(void **state)
{
	(void)state;
	struct jfix *jf = jfix_at_5(policy);
	struct fix *f = jf->f;
	struct sr_jaction a = {.action = "rollback",
	                       .weight = 0,
	                       .drain = true,
	                       .gate = -1,
	                       .reason = "rollback",
	                       .key = "sr-cut-1"};
	char err[256];
	assert_int_equal(journal_intent(jf->j, f->r->now, "dri", &a, err, sizeof err), 0);
	struct sr_edge *e = sim_edge(f->sim);
	e->ops->set_weight(e, 0, false, "by-hand", ignore_edge, NULL); /* one step only */
	assert_false(sim_edge_drained(f->sim));
	journal_close(jf->j);

	struct fix *g = restart_on_the_same_edge(jf);
	runner_reconcile(g->r);
	assert_false(g->r->reconciling);
	assert_true(sim_edge_drained(g->sim));
	assert_int_equal(sim_weight(g->sim), 0);
	assert_true(g->r->engine.ro.rolled_back);
	assert_true(log_has(g->r, SR_YELLOW, "sending its edge steps again"));
	struct seen s;
	read_actions(jf->dir, &s);
	assert_string_equal(s.types[s.n - 1], "reconcile");
	assert_string_equal(evs(s.ev[s.n - 1], "result"), "ok");
	seen_free(&s);
	fix_free(g);
	jfix_free(jf);
}

static void test_journal_read_only_writes_nothing(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	to_t0_ready(jf->f);
	assert_int_equal(act(jf->f, SR_ACT_PROMOTE, "dri", 0).outcome, SR_ACT_DONE);
	char path[256];
	struct stat before, after;
	snprintf(path, sizeof path, "%s/journal.jsonl", jf->dir);
	assert_int_equal(stat(path, &before), 0);

	struct sr_journal *j2 = jopen(jf->dir);
	struct fix *ro = fix_new(policy, true);
	assert_true(runner_set_journal(ro->r, j2, true) > 0);
	assert_int_equal(ro->r->engine.ro.weight, 5); /* it sees what happened */
	runner_advance(ro->r, T0 + 30 * MIN);         /* evaluations, status changes */
	assert_int_equal(act(ro, SR_ACT_HOLD, "dri", 0).outcome, SR_ACT_REFUSED);
	runner_reconcile(ro->r);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	journal_close(j2);
	fix_free(ro);
	jfix_free(jf);
}

static void test_journal_observations_and_snapshots(void **state)
{
	(void)state;
	struct sr_policy *p = malloc(sizeof *p);
	assert_non_null(p);
	memcpy(p, policy, sizeof *p);
	p->auto_rollback = true;
	struct jfix *jf = jfix_new(p, false);
	struct fix *f = jf->f;
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
	assert_true(f->r->engine.ro.rolled_back);
	journal_sync(jf->j);

	char path[256], err[256];
	struct seen all;
	memset(&all, 0, sizeof all);
	snprintf(path, sizeof path, "%s/journal.jsonl", jf->dir);
	assert_true(journal_replay(path, collect, NULL, &all, err, sizeof err) > 0);
	bool t0snap = false, fired = false, red = false, rolled = false;
	for (int i = 0; i < all.n; i++) {
		const json_t *o = all.ev[i];
		if (!strcmp(all.types[i], "snapshot") && !strcmp(evs(o, "label"), "T-0"))
			t0snap = json_array_size(json_object_get(o, "cells")) == (size_t)p->ncells;
		if (!strcmp(all.types[i], "trigger") &&
		    !strcmp(evs(o, "trigger"), "p95_over_160") && !strcmp(evs(o, "to"), "firing"))
			fired = true;
		if (!strcmp(all.types[i], "status") &&
		    !strcmp(evs(o, "cell"), "p95_latency/search") && !strcmp(evs(o, "to"), "RED"))
			red = true;
		if (!strcmp(all.types[i], "outcome") && !strcmp(evs(o, "action"), "rollback") &&
		    !strcmp(evs(o, "actor"), SR_ACTOR_AUTO_ROLLBACK) &&
		    !strcmp(evs(o, "result"), "ok"))
			rolled = true;
	}
	seen_free(&all);
	assert_true(t0snap);
	assert_true(fired);
	assert_true(red);
	assert_true(rolled);

	/* `shiproom replay`: the file alone plays back to the same end */
	struct fix *rp = fix_new(p, true);
	sr_ms first, last;
	assert_true(runner_replay_load(rp->r, path, &first, &last, err, sizeof err) > 0);
	assert_int_equal(rp->r->engine.ro.t0, T0);
	runner_tick(rp->r, T0 + 4 * MIN);
	assert_int_equal(rp->r->engine.ro.weight, 5);
	assert_false(rp->r->engine.ro.rolled_back);
	runner_tick(rp->r, last);
	assert_true(rp->r->engine.ro.rolled_back);
	assert_string_equal(rp->r->engine.ro.rolled_back_by, SR_ACTOR_AUTO_ROLLBACK);
	/* every cell and trigger ends where the live console left it */
	for (int t = 0; t < p->ntriggers; t++)
		assert_int_equal(rp->r->engine.triggers[t].state, f->r->engine.triggers[t].state);
	for (int c = 0; c < p->ncells; c++)
		assert_int_equal(rp->r->engine.cells[c].status, f->r->engine.cells[c].status);
	/* on the way it showed the breach and the trigger, as the live one did */
	assert_true(log_has(rp->r, SR_RED, "search P95 RED"));
	assert_true(log_has(rp->r, SR_RED, "firing"));
	assert_true(log_has(rp->r, SR_YELLOW, "rollback by auto-rollback"));
	runner_close(rp->r);
	fix_free(rp);
	jfix_free(jf);
	free(p);
}

/* ---- the decision follows the action ------------------------------------------------------ */

static bool reason_has(const struct sr_decision *d, const char *needle)
{
	for (int i = 0; i < d->nreasons; i++)
		if (strstr(d->reasons[i], needle))
			return true;
	return false;
}

/* A DRI hold is HOLD at once, with its reason: no tick in between. */
static void test_hold_redecides_at_once(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f); /* GO */
	long evals = f->r->engine.evaluations;
	struct sr_action_request req = {.kind = SR_ACT_HOLD, .gate = -1};
	struct sr_action_result res;
	snprintf(req.actor, sizeof req.actor, "dri");
	snprintf(req.reason, sizeof req.reason, "waiting for the payments team");
	action_dispatch(f->r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	assert_int_equal(f->r->engine.evaluations, evals); /* no evaluation happened */
	assert_int_equal(f->r->engine.decision.verdict, SR_HOLD);
	assert_true(reason_has(&f->r->engine.decision, "held by dri"));
	assert_true(reason_has(&f->r->engine.decision, "waiting for the payments team"));
	assert_true(engine_decision_current(&f->r->engine));
	/* and a resume takes the hold's reason away at once */
	assert_int_equal(act(f, SR_ACT_RESUME, "dri", 0).outcome, SR_ACT_DONE);
	assert_false(reason_has(&f->r->engine.decision, "held by dri"));
	assert_int_equal(f->r->engine.decision.verdict, SR_GO);
	assert_true(engine_decision_current(&f->r->engine));
	fix_free(f);
}

/* The same through the journal, for this console and another one. */
static void test_journal_hold_redecides_here_and_there(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	struct sr_journal *j2 = jopen(jf->dir);
	struct fix *other = fix_new(policy, true);
	assert_true(runner_set_journal(other->r, j2, true) > 0);
	runner_advance(other->r, T0);
	assert_int_equal(other->r->engine.decision.verdict, SR_GO);

	assert_int_equal(act(f, SR_ACT_HOLD, "dri", 0).outcome, SR_ACT_DONE);
	assert_int_equal(f->r->engine.decision.verdict, SR_HOLD);
	assert_true(reason_has(&f->r->engine.decision, "held by dri"));
	/* the other console reads the hold: its decision follows at once */
	long evals = other->r->engine.evaluations;
	assert_true(runner_journal_poll(other->r) >= 1);
	assert_int_equal(other->r->engine.evaluations, evals);
	assert_int_equal(other->r->engine.decision.verdict, SR_HOLD);
	assert_true(reason_has(&other->r->engine.decision, "held by dri"));
	assert_true(engine_decision_current(&other->r->engine));
	journal_close(j2);
	fix_free(other);
	jfix_free(jf);
}

/* promote and rollback: the decision is about the record as it is now. */
static void test_edge_actions_redecide(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	assert_true(engine_decision_current(&f->r->engine));
	/* the cells were judged at the old phase: the decision holds */
	assert_int_equal(f->r->engine.decision.verdict, SR_HOLD);
	runner_advance(f->r, T0 + 10 * MIN);
	assert_int_equal(act(f, SR_ACT_ROLLBACK, "dri", 0).outcome, SR_ACT_DONE);
	assert_true(engine_decision_current(&f->r->engine));
	assert_int_equal(f->r->engine.decision.verdict, SR_HOLD);
	assert_true(reason_has(&f->r->engine.decision, "roll"));
	fix_free(f);
}

/* ---- after the final failure: what does the edge show? -------------------------------------- */

/* An edge whose set takes effect but whose answer is lost (a timeout
 * after HAProxy applied the command): the simulator's injected failures
 * never apply the weight, so they cannot show a half-applied change. */
struct lossy_edge {
	struct sr_edge base;
	int weight;
	long sets;
};

static void lossy_set(struct sr_edge *e, int weight, bool drain, const char *key, sr_edge_cb cb,
                      void *ud)
{
	struct lossy_edge *le = e->impl;
	(void)drain;
	(void)key;
	le->weight = weight;
	le->sets++;
	cb(ud, HAPROXY_ERR_TRANSPORT, -1, "read timeout");
}

static void lossy_get(struct sr_edge *e, sr_edge_cb cb, void *ud)
{
	struct lossy_edge *le = e->impl;
	cb(ud, 0, le->weight, NULL);
}

static void lossy_destroy(struct sr_edge *e)
{
	(void)e;
}

static const struct sr_edge_ops lossy_ops = {
    .name = "lossy", .set_weight = lossy_set, .get_weight = lossy_get, .destroy = lossy_destroy};

static void test_edge_diverged_after_final_failure(void **state)
{
	(void)state;
	struct jfix *jf = jfix_new(policy, false);
	struct fix *f = jf->f;
	to_t0_ready(f);
	struct lossy_edge le = {.base = {.ops = &lossy_ops}, .weight = 0};
	le.base.impl = &le;
	f->r->edge = &le.base;
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_int_equal(le.sets, SR_ACTION_EDGE_TRIES);
	assert_non_null(strstr(res.message, "edge diverged: canary at 5% (recorded 0%)"));
	assert_null(strstr(res.message, "rollout unchanged"));
	assert_int_equal(res.weight, 5);
	/* the record stays what was confirmed; the log says it loudly */
	assert_int_equal(f->r->engine.ro.weight, 0);
	assert_int_equal(f->r->engine.ro.phase, -1);
	assert_true(log_has(f->r, SR_RED, "edge diverged: canary at 5% (recorded 0%)"));
	assert_false(f->r->action_in_flight);
	/* and the failed outcome in the journal carries it */
	struct seen s;
	read_actions(jf->dir, &s);
	const json_t *o = s.ev[s.n - 1];
	assert_string_equal(s.types[s.n - 1], "outcome");
	assert_string_equal(evs(o, "result"), "failed");
	assert_int_equal(evi(o, "weight"), 5);
	assert_non_null(strstr(evs(o, "error"), "edge diverged: canary at 5% (recorded 0%)"));
	assert_non_null(strstr(evs(o, "error"), "read timeout"));
	seen_free(&s);
	f->r->edge = sim_edge(f->sim);
	jfix_free(jf);
}

/* The sim edge: three sets fail, the read-back answers with the weight
 * the record has: unchanged, and said so with the edge's word. */
static void test_edge_failure_readback_agrees(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	to_t0_ready(f);
	sim_edge_fail_next(f->sim, SR_ACTION_EDGE_TRIES, "connection reset");
	struct sr_action_result res = act(f, SR_ACT_PROMOTE, "dri", 5);
	assert_int_equal(res.outcome, SR_ACT_FAILED);
	assert_non_null(strstr(res.message, "after 3 attempts"));
	assert_non_null(strstr(res.message, "rollout unchanged; the edge reads 0%"));
	assert_null(strstr(res.message, "diverged"));
	assert_int_equal(res.weight, 0);
	assert_int_equal(f->r->engine.ro.weight, 0);
	fix_free(f);
}

/* ---- a source that stops answering ----------------------------------------------------------- */

/* Answers through the simulator while `answer` > 0, then never calls
 * back (a Prometheus hung past every timeout). */
struct hang_source {
	struct sr_source base;
	struct sr_source *sim;
	int answer;
	int hung;
};

static void hang_poll(struct sr_source *s, sr_ms now, sr_source_cb cb, void *ud)
{
	struct hang_source *h = s->impl;
	if (h->answer > 0) {
		h->answer--;
		h->sim->ops->poll(h->sim, now, cb, ud);
		return;
	}
	h->hung++;
}

static void hang_destroy(struct sr_source *s)
{
	(void)s;
}

static const struct sr_source_ops hang_ops = {
    .name = "hang", .poll = hang_poll, .destroy = hang_destroy};

static void test_hung_poll_goes_stale(void **state)
{
	(void)state;
	struct fix *f = fix_new(policy, false);
	const struct sr_policy *p = policy;
	to_t0_ready(f);
	assert_int_equal(act(f, SR_ACT_PROMOTE, "dri", 5).outcome, SR_ACT_DONE);
	runner_advance(f->r, T0 + 20 * MIN); /* the canary has traffic: GREEN cells */
	sr_ms last = f->r->now;
	int green = 0;
	for (int c = 0; c < p->ncells; c++)
		green += f->r->engine.cells[c].status == SR_GREEN;
	assert_true(green > 0);
	struct hang_source h = {.base = {.ops = &hang_ops}, .sim = sim_source(f->sim)};
	h.base.impl = &h;
	f->r->source = &h.base;
	long evals = f->r->engine.evaluations;
	/* While the data is not stale yet, its judgement stands: it is not
	 * judged again (that would count one sample many times). */
	runner_advance(f->r, last + p->stale_after_ms);
	assert_true(h.hung == 1);
	assert_true(f->r->polling);
	assert_int_equal(f->r->engine.evaluations, evals);
	/* Past stale_after: STALE, never GREEN, and the decision holds. */
	runner_advance(f->r, last + p->stale_after_ms + 3 * p->poll_ms);
	assert_true(f->r->polling);
	assert_int_equal(h.hung, 1); /* no second poll while one is out */
	assert_true(f->r->engine.evaluations > evals);
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_cell_state *cs = &f->r->engine.cells[c];
		assert_int_not_equal(cs->status, SR_GREEN);
		assert_true(sr_status_is_data_gap(cs->raw));
		/* a gap pauses a breach, it never extends it */
		assert_false(cs->breaching && cs->seg_open);
	}
	int g = p->ncells > 0 ? 0 : -1;
	assert_true(g >= 0);
	assert_int_equal(f->r->engine.cells[g].status, SR_STALE);
	assert_non_null(strstr(engine_cell_reason(&f->r->engine, g), "no fresh data"));
	assert_int_not_equal(f->r->engine.decision.verdict, SR_GO);
	/* evaluating the stale snapshot again changes nothing */
	struct sr_cell_state before[8];
	int nb = p->ncells < 8 ? p->ncells : 8;
	memcpy(before, f->r->engine.cells, sizeof before[0] * (size_t)nb);
	runner_advance(f->r, f->r->now + 2 * p->poll_ms);
	for (int c = 0; c < nb; c++) {
		assert_int_equal(f->r->engine.cells[c].status, before[c].status);
		assert_int_equal(f->r->engine.cells[c].good_run, before[c].good_run);
		assert_int_equal(cell_breach_ms(&f->r->engine.cells[c]),
		                 cell_breach_ms(&before[c]));
	}
	f->r->source = sim_source(f->sim);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_read_only_refuses_every_action),
	    cmocka_unit_test(test_workflow_actions),
	    cmocka_unit_test(test_promote_refused_carries_reasons),
	    cmocka_unit_test(test_refusal_says_refused_once),
	    cmocka_unit_test(test_promote_weight_zero_is_next_phase),
	    cmocka_unit_test(test_rollback_zero_and_drain),
	    cmocka_unit_test(test_edge_failure_after_three_tries),
	    cmocka_unit_test(test_edge_retry_then_success),
	    cmocka_unit_test(test_record_only_actions),
	    cmocka_unit_test(test_hold_redecides_at_once),
	    cmocka_unit_test(test_journal_hold_redecides_here_and_there),
	    cmocka_unit_test(test_edge_actions_redecide),
	    cmocka_unit_test(test_edge_diverged_after_final_failure),
	    cmocka_unit_test(test_edge_failure_readback_agrees),
	    cmocka_unit_test(test_hung_poll_goes_stale),
	    cmocka_unit_test(test_auto_rollback),
	    cmocka_unit_test(test_journal_promote_intent_outcome),
	    cmocka_unit_test(test_journal_note_and_untick),
	    cmocka_unit_test(test_journal_lock_refuses_second_console),
	    cmocka_unit_test(test_journal_edge_failure_recorded),
	    cmocka_unit_test(test_journal_retry_backoff_on_loop),
	    cmocka_unit_test(test_journal_reconcile_at_start),
	    cmocka_unit_test(test_failed_rollback_is_completed_on_the_poll),
	    cmocka_unit_test_teardown(test_full_disk_holds_and_rollback_goes_out,
	                              restore_file_size),
	    cmocka_unit_test(test_reconcile_completes_a_half_done_rollback),
	    cmocka_unit_test(test_journal_read_only_writes_nothing),
	    cmocka_unit_test(test_journal_observations_and_snapshots),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
