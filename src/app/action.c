/* action.c - the one table of actions and the one dispatcher.
 *
 * Every way of acting - a key in the console, `shiproom act`, a scenario
 * script step, the policy's auto-rollback - comes through
 * action_dispatch(), so the rules are applied once:
 *
 *   1. read-only refuses everything, here and nowhere else (tmux's
 *      CMD_READONLY is the model; views never check it themselves);
 *   2. the journal's action lock is taken (two consoles on one state dir
 *      never act at once: the second is refused and told who acts), and
 *      the journal is read up to its end, so the checks below see what
 *      every other console did;
 *   3. authority and the decision come from rights_check(), whose reasons
 *      are passed on verbatim (schedule never overrides SLOs: a promote
 *      that is not GO is refused, and there is no override);
 *   4. the state change is tried on a copy of the rollout first, so an
 *      action the state machine would refuse never reaches the edge;
 *   5. an action that does not move the edge is one journal record;
 *      one that does is an intent (fsynced before the edge is called),
 *      set_weight with the intent's idempotency key, a read-back, and an
 *      outcome. Transient failures (a transport error, a read-back that
 *      does not match) are retried with back-off, visibly ("retry 2/3 in
 *      1s: ..."), SR_ACTION_EDGE_TRIES times in all; an edge's refusal
 *      is final at once;
 *   6. the rollout changes only by reading the record back from the
 *      journal (runner.c applies every journal event through
 *      journal_apply), so the live path and a replay are the same code.
 *      Without a journal (unit tests) the confirmed change is applied
 *      directly, through the same rollout_* functions;
 *   7. once the change is in the record, engine_redecide: the decision
 *      (a DRI hold is HOLD at once, a rollback clears the triggers) never
 *      waits for the next poll to catch up with an action;
 *   8. after an edge action's final failure the edge is read back once
 *      more: a set that took effect although its answer was lost (a
 *      timeout after HAProxy applied it) is said - "edge diverged:
 *      canary at N% (recorded M%)" - and journaled in the outcome, never
 *      reported as "rollout unchanged".
 *
 * The edge completes through callbacks: the simulator answers before
 * returning, HAProxy and HTTP later from the loop. The same code handles
 * both; the state between the call and its answer is r->flight, and the
 * action lock is held until the outcome is written.
 */
#include "shiproom/action.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "shiproom/calendar.h"
#include "shiproom/reason.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"

/* What the rollout records when no reason is given (the journal records
 * the same, so a replay rebuilds the same words). */
#define DEFAULT_HOLD_REASON "held by the Release DRI"
#define DEFAULT_ROLLBACK_REASON "rollback"

static const struct sr_action_def action_defs[] = {
    {SR_ACT_HOLD, "hold", 'h', SR_AF_ASKS_REASON, SR_ROLE_RELEASE_DRI,
     "hold the rollout at its current weight (Release DRI)"},
    {SR_ACT_RESUME, "resume", 'r', 0, SR_ROLE_RELEASE_DRI, "end a hold (Release DRI)"},
    {SR_ACT_PROMOTE, "promote", 'p', SR_AF_DANGEROUS | SR_AF_TYPE_WEIGHT | SR_AF_MOVES_EDGE,
     SR_ROLE_RELEASE_DRI, "promote to the next phase: type the target weight (needs GO)"},
    {SR_ACT_ROLLBACK, "rollback", 'x', SR_AF_DANGEROUS | SR_AF_MOVES_EDGE | SR_AF_ASKS_REASON,
     SR_ROLE_RELEASE_DRI, "roll back: canary weight 0 and drained; confirm with y (Release DRI)"},
    {SR_ACT_APPROVE, "approve", 'a', SR_AF_ASKS_REASON, SR_ROLE_GATE_APPROVER,
     "approve the next gate (gate approver)"},
    {SR_ACT_TICK, "tick", ' ', 0, SR_ROLE_RELEASE_DRI,
     "tick the selected checklist item (checklist view)"},
    {SR_ACT_TIEBREAK, "tiebreak", 'T', 0, SR_ROLE_EXEC,
     "record the exec tie-break of an overnight hold (CEO)"},
    {SR_ACT_POST, "post", 'U', SR_AF_WORKFLOW, SR_ROLE_RELEASE_DRI,
     "post an update to #ship-room now (anyone on the roster who may act)"},
    {SR_ACT_REPORT, "report", 'w', SR_AF_WORKFLOW, SR_ROLE_RELEASE_DRI,
     "write the report in the pager to the state dir (anyone who may act)"},
    {SR_ACT_DECLARE_SUCCESS, "declare_success", 'S', 0, SR_ROLE_RELEASE_DRI,
     "declare success once the criteria are met at 100% (Release DRI)"},
    {SR_ACT_UNTICK, "untick", 'u', SR_AF_ASKS_REASON | SR_AF_NEEDS_TEXT, SR_ROLE_RELEASE_DRI,
     "undo the selected checklist tick, saying why (checklist view)"},
    {SR_ACT_NOTE, "note", 'n', SR_AF_NEEDS_TEXT | SR_AF_OBSERVER_OK, SR_ROLE_OBSERVER,
     "add a timestamped note to the rollout (anyone on the roster)"},
};

#define NDEFS ((int)(sizeof action_defs / sizeof action_defs[0]))

const struct sr_action_def *action_table(int *n)
{
	if (n)
		*n = NDEFS;
	return action_defs;
}

const struct sr_action_def *action_by_kind(enum sr_action_kind k)
{
	for (int i = 0; i < NDEFS; i++)
		if (action_defs[i].kind == k)
			return &action_defs[i];
	return NULL;
}

const struct sr_action_def *action_by_key(int key)
{
	for (int i = 0; i < NDEFS; i++)
		if (action_defs[i].key == key)
			return &action_defs[i];
	return NULL;
}

const struct sr_action_def *action_by_name(const char *name)
{
	for (int i = 0; i < NDEFS && name; i++)
		if (strcmp(action_defs[i].name, name) == 0)
			return &action_defs[i];
	return NULL;
}

const char *action_outcome_name(enum sr_action_outcome o)
{
	switch (o) {
	case SR_ACT_DONE: return "done";
	case SR_ACT_REFUSED: return "refused";
	case SR_ACT_FAILED: return "failed";
	case SR_ACT_PENDING: return "pending";
	}
	return "?";
}

/* snprintf through a va_list: messages are bounded on purpose, and gcc's
 * -Wformat-truncation should not second-guess that. */
static void textf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void textf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* ---- results -------------------------------------------------------------- */

/* The message says what and why, never the outcome's word: each
 * presenter (the log, `act`, the console) adds "refused: " once
 * ("tick refused: tick refused: ..." was two of them). */
static void result_set(struct sr_action_result *res, enum sr_action_outcome o, int weight,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void result_set(struct sr_action_result *res, enum sr_action_outcome o, int weight,
                       const char *fmt, ...)
{
	va_list ap;
	res->outcome = o;
	res->weight = weight;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
}

static void log_result(struct sr_runner *r, const struct sr_action_request *req,
                       const struct sr_action_result *res)
{
	if (res->outcome == SR_ACT_REFUSED && r->quiet_refusals)
		return;
	enum sr_status sev = res->outcome == SR_ACT_DONE     ? SR_GREEN
	                     : res->outcome == SR_ACT_FAILED ? SR_RED
	                                                     : SR_YELLOW;
	if (res->outcome == SR_ACT_DONE && req->kind == SR_ACT_ROLLBACK)
		sev = SR_YELLOW; /* done, but worth the eye */
	enum sr_log_kind kind = req->kind == SR_ACT_APPROVE && res->outcome == SR_ACT_DONE
	                            ? SR_LOG_APPROVAL
	                            : SR_LOG_ACTION;
	const char *verb = res->outcome == SR_ACT_DONE      ? ""
	                   : res->outcome == SR_ACT_REFUSED ? "refused: "
	                   : res->outcome == SR_ACT_FAILED  ? "FAILED: "
	                                                    : "pending: ";
	runner_log(r, kind, sev, req->actor, "%s%s", verb, res->message);
	/* what the action made the engine decide, under it, now rather than
	 * at the next poll (a replay logs it so: runner.c) */
	if (res->outcome == SR_ACT_DONE)
		runner_drain(r);
}

/* ---- applying to the rollout ------------------------------------------------ */

/* The weight a promote asks for: the request's, or the next phase's. */
static int promote_target(const struct sr_runner *r, const struct sr_action_request *req)
{
	const struct sr_policy *p = r->policy;
	if (req->weight > 0)
		return req->weight;
	int next = r->engine.ro.phase + 1;
	return next < p->nphases ? p->phases[next].weight : -1;
}

static int resolve_gate(const struct sr_runner *r, const struct sr_action_request *req)
{
	if (req->gate >= 0)
		return req->gate;
	return rollout_next_gate(&r->engine.ro, r->policy, NULL);
}

/* Apply the request to `ro` (the live rollout or a trial copy). */
static int apply(const struct sr_runner *r, struct sr_rollout *ro,
                 const struct sr_action_request *req, int target, sr_ms now, char *why, size_t n)
{
	const struct sr_policy *p = r->policy;
	const char *reason = req->reason[0] ? req->reason : NULL;
	switch (req->kind) {
	case SR_ACT_HOLD:
		return rollout_hold(ro, req->actor, reason ? reason : DEFAULT_HOLD_REASON, now, why,
		                    n);
	case SR_ACT_RESUME: return rollout_resume(ro, now, why, n);
	case SR_ACT_PROMOTE: return rollout_promote(ro, p, target, now, why, n);
	case SR_ACT_ROLLBACK:
		return rollout_rollback(ro, p, req->actor,
		                        reason ? reason : DEFAULT_ROLLBACK_REASON, now, why, n);
	case SR_ACT_APPROVE:
		if (rollout_approve(ro, p, resolve_gate(r, req), req->actor, now, why, n) != 0)
			return -1;
		rollout_approval_reason(ro, req->actor, now, req->reason);
		return 0;
	case SR_ACT_TICK:
		return rollout_tick(ro, p, req->checklist, req->item, req->actor, now, why, n);
	case SR_ACT_TIEBREAK: return rollout_tiebreak(ro, req->actor, now, why, n);
	case SR_ACT_DECLARE_SUCCESS: return rollout_declare_success(ro, now, why, n);
	case SR_ACT_POST:
	case SR_ACT_REPORT: return 0; /* the record does not change */
	case SR_ACT_UNTICK: return rollout_untick(ro, p, req->checklist, req->item, now, why, n);
	case SR_ACT_NOTE: return rollout_note(ro, req->actor, req->reason, now, why, n);
	case SR_ACT_COUNT: break;
	}
	textf(why, n, "unknown action");
	return -1;
}

/* What was done, for the log and the result (after the change). */
static void done_text(const struct sr_runner *r, const struct sr_action_request *req, int target,
                      int gate, int readback, char *buf, size_t n)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	char wall[24];
	switch (req->kind) {
	case SR_ACT_PROMOTE:
		textf(buf, n, "promote to %d%% by %s (edge read back %d%%)", target, req->actor,
		      readback);
		return;
	case SR_ACT_ROLLBACK:
		textf(buf, n,
		      "rollback by %s: canary weight 0%%, drained (edge read back %d%%)%s%s",
		      req->actor, readback, ro->rollback_reason[0] ? ": " : "",
		      ro->rollback_reason); /* as recorded, so a replay says the same */
		return;
	case SR_ACT_HOLD: textf(buf, n, "hold by %s: %s", req->actor, ro->hold_reason); return;
	case SR_ACT_RESUME: textf(buf, n, "resume by %s", req->actor); return;
	case SR_ACT_APPROVE:
		textf(buf, n, "%s approved by %s%s%s",
		      gate >= 0 && gate < p->ngates ? p->gates[gate].name : "gate", req->actor,
		      req->reason[0] ? ": " : "", req->reason);
		return;
	case SR_ACT_TICK:
		textf(buf, n, "%s: %s ticked by %s", req->checklist, req->item, req->actor);
		return;
	case SR_ACT_TIEBREAK:
		if (ro->overnight_until) {
			calendar_fmt(&p->calendar, ro->overnight_until, wall, sizeof wall);
			textf(buf, n,
			      "tie-break by %s: hold overnight, changes frozen, re-evaluate %s",
			      req->actor, wall);
		} else {
			textf(buf, n, "tie-break by %s", req->actor);
		}
		return;
	case SR_ACT_DECLARE_SUCCESS: textf(buf, n, "success declared by %s", req->actor); return;
	case SR_ACT_POST:
	case SR_ACT_REPORT:
	case SR_ACT_UNTICK:
		textf(buf, n, "%s: %s tick undone by %s: %s", req->checklist, req->item, req->actor,
		      req->reason);
		return;
	case SR_ACT_NOTE: textf(buf, n, "note by %s: %s", req->actor, req->reason); return;
	case SR_ACT_COUNT: break;
	}
	textf(buf, n, "%s by %s", sr_action_name(req->kind), req->actor);
}

/* ---- the journal ------------------------------------------------------------------ */

static bool journaled(const struct sr_runner *r)
{
	return r->journal && !r->journal_ro;
}

static enum sr_jtype record_type(enum sr_action_kind k)
{
	switch (k) {
	case SR_ACT_APPROVE: return SR_J_APPROVAL;
	case SR_ACT_TICK: return SR_J_TICK;
	case SR_ACT_HOLD: return SR_J_HOLD;
	case SR_ACT_RESUME: return SR_J_RESUME;
	case SR_ACT_TIEBREAK: return SR_J_TIEBREAK;
	case SR_ACT_DECLARE_SUCCESS: return SR_J_SUCCESS;
	case SR_ACT_UNTICK: return SR_J_UNTICK;
	case SR_ACT_NOTE: return SR_J_NOTE;
	default: return SR_J_UNKNOWN;
	}
}

static const char *reason_of(const struct sr_action_request *req)
{
	if (req->reason[0])
		return req->reason;
	if (req->kind == SR_ACT_HOLD)
		return DEFAULT_HOLD_REASON;
	if (req->kind == SR_ACT_ROLLBACK)
		return DEFAULT_ROLLBACK_REASON;
	return "";
}

/* The record of a request, exactly what journal_apply needs to redo it. */
static void jaction_of(const struct sr_runner *r, const struct sr_action_request *req, int weight,
                       int gate, bool drain, const char *key, struct sr_jaction *a)
{
	memset(a, 0, sizeof *a);
	a->action = sr_action_name(req->kind);
	a->weight = weight;
	a->drain = drain;
	a->gate = gate;
	bool item = req->kind == SR_ACT_TICK || req->kind == SR_ACT_UNTICK;
	a->checklist = item ? req->checklist : NULL;
	a->item = item ? req->item : NULL;
	a->reason = reason_of(req);
	a->key = key;
	a->overnight_until = req->kind == SR_ACT_TIEBREAK ? r->engine.ro.overnight_until : 0;
	a->request = req->request;
}

/* Read this console's newest record back from the journal: that is what
 * applies it to the rollout. 0, or -1 with why (the rollout refused it,
 * or it did not come back). */
static int read_back_own(struct sr_runner *r, char *why, size_t n)
{
	r->own_rc = 2;
	r->own_why[0] = '\0';
	runner_journal_poll(r);
	if (r->own_rc == 2) {
		textf(why, n, "the record was written but could not be read back from %s",
		      journal_path(r->journal));
		return -1;
	}
	if (r->own_rc < 0) {
		textf(why, n, "%s", r->own_why);
		return -1;
	}
	return 0;
}

static void unlock_if(struct sr_runner *r, bool took)
{
	if (took && r->journal)
		journal_unlock(r->journal);
}

/* ---- the edge sequence -------------------------------------------------------- */

static void flight_set(struct sr_runner *r);

/* The outcome of an edge action: journaled, read back, logged; ends the
 * flight and releases the action lock. */
static void flight_finish(struct sr_runner *r, bool ok, int readback)
{
	struct sr_action_flight *f = &r->flight;
	struct sr_action_result *res = &f->result;
	const char *name = sr_action_name(f->req.kind);
	char why[SR_REASON_LEN], text[SR_TEXT_LEN], err[256];
	bool recorded = false;
	if (f->journaled) {
		if (journal_outcome(r->journal, r->now, f->req.actor, f->key, name, ok, readback,
		                    ok ? NULL : f->err, f->attempt, err, sizeof err) == 0)
			recorded = true;
		else
			runner_log(
			    r, SR_LOG_ACTION, SR_RED, f->req.actor,
			    "cannot journal the outcome of %s: %s (the next start reconciles it)",
			    name, err);
		runner_recording(r, NULL);
	}
	if (!ok) {
		if (recorded)
			read_back_own(r, why, sizeof why); /* closes the intent in the replay */
		result_set(res, SR_ACT_FAILED, readback, "%s", f->err);
	} else {
		/* Record the confirmed change. It was tried on a copy before the
		 * edge was called; it can only be refused now if the rollout
		 * changed while an asynchronous edge worked. */
		int rc = recorded
		             ? read_back_own(r, why, sizeof why)
		             : apply(r, &r->engine.ro, &f->req, f->target, r->now, why, sizeof why);
		if (rc != 0) {
			result_set(res, SR_ACT_FAILED, readback,
			           "edge now at %d%% but the rollout refused to record %s: %s",
			           readback, name, why);
		} else {
			r->engine.ro.weight = readback;
			/* what justified the action, for the reports written for it */
			r->before_action_at = r->now;
			r->before_action_decision = r->engine.decision;
			memcpy(r->before_action_triggers, r->engine.triggers,
			       sizeof r->before_action_triggers);
			/* the decision follows the record now, not at the next poll */
			engine_redecide(&r->engine, r->now);
			done_text(r, &f->req, f->target, -1, readback, text, sizeof text);
			result_set(res, SR_ACT_DONE, readback, "%s%s", text,
			           f->unrecorded ? " (NOT recorded: the journal refuses writes)"
			                         : "");
		}
	}
	if (f->req.kind == SR_ACT_ROLLBACK) {
		if (res->outcome == SR_ACT_DONE) {
			if (r->rollback_due)
				runner_log(r, SR_LOG_ACTION, SR_GREEN, f->req.actor,
				           "rollback completed: both edge steps have landed");
			r->rollback_due = false;
			r->rollback_retries = 0;
			engine_rollback_due(&r->engine, false, r->now, NULL);
		} else {
			action_rollback_pending(r, f->req.actor, f->req.reason, res->message);
		}
	}
	/* An edge action always took the lock (they never nest, and none
	 * starts during the start-up reconciliation). */
	if (journaled(r))
		journal_unlock(r->journal);
	r->action_in_flight = false;
	log_result(r, &f->req, res);
}

/* SR_EDGE_REFUSED is an edge's final answer (HAProxy refused the
 * command, an HTTP 4xx): asking again gets the same. Anything else - a
 * transport error, a read-back that does not match - may pass on a retry. */
static bool edge_final(const struct sr_runner *r, int result)
{
	(void)r;
	return result == SR_EDGE_REFUSED;
}

/* The final read-back after the last failed attempt. The set may have
 * taken effect although its answer was lost (a timeout after HAProxy
 * applied it, a read-back that failed): the failure's text then says the
 * edge and the record disagree, the outcome journals what the edge
 * shows, and nobody is told "rollout unchanged" while the canary serves
 * another weight. The record itself is left alone: a failed outcome
 * changes nothing in the replay, and which weight is right is the
 * Release DRI's call (promote or roll back again). */
static void flight_on_final_get(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	struct sr_action_flight *f = &r->flight;
	const char *name = sr_action_name(f->req.kind);
	int recorded = r->engine.ro.weight;
	char last[sizeof f->err], clean[SR_REASON_LEN / 2], tries[64];
	sr_strlcpy(last, f->err, sizeof last);
	textf(tries, sizeof tries, "%s to %d%% failed after %d attempt%s", name, f->target,
	      f->attempt, f->attempt == 1 ? "" : "s");
	if (result != 0) {
		/* The record is unchanged; what the edge shows is not known, and
		 * the log says so on a line of its own (the result's words are
		 * what scripts match). */
		sr_sanitize(clean, err && err[0] ? err : "no reason given", sizeof clean);
		runner_log(r, SR_LOG_ACTION, SR_RED, f->req.actor,
		           "%s: the edge could not be read back after the last attempt (%s): its "
		           "weight is unknown, the record says %d%%",
		           name, clean, recorded);
		textf(f->err, sizeof f->err, "%s: %s (rollout unchanged)", tries, last);
		flight_finish(r, false, -1);
		return;
	}
	if (weight != recorded) {
		runner_log(r, SR_LOG_ACTION, SR_RED, f->req.actor,
		           "edge diverged: canary at %d%% (recorded %d%%) after %s failed", weight,
		           recorded, name);
		textf(f->err, sizeof f->err,
		      "edge diverged: canary at %d%% (recorded %d%%): %s: %s", weight, recorded,
		      tries, last);
	} else {
		textf(f->err, sizeof f->err, "%s: %s (rollout unchanged; the edge reads %d%%)",
		      tries, last, weight);
	}
	flight_finish(r, false, weight);
}

static void on_backoff(uv_timer_t *t)
{
	struct sr_runner *r = t->data;
	r->flight.backing_off = false;
	r->flight.attempt++;
	flight_set(r);
}

static void flight_attempt_failed(struct sr_runner *r, const char *what, const char *err,
                                  bool final)
{
	struct sr_action_flight *f = &r->flight;
	char clean[SR_REASON_LEN / 2], wait[16];
	sr_sanitize(clean, err && err[0] ? err : "no reason given", sizeof clean);
	textf(f->err, sizeof f->err, "%s: %s", what, clean);
	if (final || f->attempt >= SR_ACTION_EDGE_TRIES) {
		/* Given up: what does the edge really show? */
		r->edge->ops->get_weight(r->edge, flight_on_final_get, r);
		return;
	}
	sr_ms delay = r->loop && r->backoff ? r->backoff_ms << (f->attempt - 1) : 0;
	if (delay > 0) {
		if (delay < SR_MS_PER_S)
			textf(wait, sizeof wait, "%lldms", (long long)delay);
		else
			engine_fmt_window(delay, wait, sizeof wait);
		runner_log(r, SR_LOG_ACTION, SR_YELLOW, f->req.actor, "retry %d/%d in %s: %s",
		           f->attempt + 1, SR_ACTION_EDGE_TRIES, wait, f->err);
		f->backing_off = true;
		uv_timer_start(r->backoff, on_backoff, (uint64_t)delay, 0);
		return;
	}
	runner_log(r, SR_LOG_ACTION, SR_YELLOW, f->req.actor, "retry %d/%d now: %s", f->attempt + 1,
	           SR_ACTION_EDGE_TRIES, f->err);
	f->attempt++;
	flight_set(r);
}

static void flight_on_get(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	struct sr_action_flight *f = &r->flight;
	char msg[64];
	if (result != 0) {
		flight_attempt_failed(r, "get_weight failed", err, edge_final(r, result));
		return;
	}
	if (weight != f->target) {
		textf(msg, sizeof msg, "read back %d%%, expected %d%%", weight, f->target);
		flight_attempt_failed(r, "get_weight", msg, false);
		return;
	}
	flight_finish(r, true, weight);
}

static void flight_on_set(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	(void)weight; /* only the separate read-back counts */
	if (result != 0) {
		flight_attempt_failed(r, "set_weight failed", err, edge_final(r, result));
		return;
	}
	r->edge->ops->get_weight(r->edge, flight_on_get, r);
}

static void flight_set(struct sr_runner *r)
{
	struct sr_action_flight *f = &r->flight;
	/* Asked again before every call (retries too): a leader paused or
	 * deposed since the intent was recorded must not move the edge. */
	const char *no = r->may_act ? r->may_act(r->may_act_ud, &f->req) : NULL;
	if (no) {
		flight_attempt_failed(r, "not called", no, true);
		return;
	}
	if (r->edge->ops->set_context) {
		const struct sr_policy *p = r->policy;
		int ph = policy_phase_index(p, f->target);
		r->edge->ops->set_context(r->edge, ph >= 0 ? p->phases[ph].name : "rollback",
		                          reason_of(&f->req), f->req.actor);
	}
	r->edge->ops->set_weight(r->edge, f->target, f->drain, f->key, flight_on_set, r);
}

/* ---- the dispatcher ------------------------------------------------------------- */

void action_rollback_pending(struct sr_runner *r, const char *by, const char *reason,
                             const char *why)
{
	sr_strlcpy(r->rollback_by, by, sizeof r->rollback_by);
	sr_strlcpy(r->rollback_reason, reason, sizeof r->rollback_reason);
	r->rollback_due = true;
	/* doubling from the edge back-off, capped: the edge may be down for
	 * a while, and each attempt is an intent and an outcome */
	sr_ms delay = r->backoff_ms > 0 ? r->backoff_ms : SR_MS_PER_S;
	for (int i = 0; i < r->rollback_retries && delay < SR_ROLLBACK_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > SR_ROLLBACK_RETRY_MAX_MS)
		delay = SR_ROLLBACK_RETRY_MAX_MS;
	r->rollback_retries++;
	r->rollback_retry_at = r->now + delay;
	char wait[16], what[SR_REASON_LEN];
	engine_fmt_window(delay, wait, sizeof wait);
	runner_log(r, SR_LOG_ACTION, SR_RED, by,
	           "rollback by %s has not landed whole (%s): completing it, attempt %d in %s",
	           r->rollback_by, why, r->rollback_retries + 1, wait);
	/* the decision stands until the next attempt, so no "in 2s" in it */
	engine_format(what, sizeof what,
	              "rollback by %s has not landed whole (%s): completing it, attempt %d next",
	              r->rollback_by, why, r->rollback_retries + 1);
	engine_rollback_due(&r->engine, true, r->now, what);
}

void action_rollback_retry(struct sr_runner *r)
{
	if (!r->rollback_due || r->read_only || r->action_in_flight || r->reconciling || !r->edge ||
	    r->now < r->rollback_retry_at)
		return;
	struct sr_action_request req = {.kind = SR_ACT_ROLLBACK, .gate = -1, .completing = true};
	struct sr_action_result res;
	sr_strlcpy(req.actor, r->rollback_by, sizeof req.actor);
	sr_strlcpy(req.reason, r->rollback_reason, sizeof req.reason);
	action_dispatch(r, &req, &res);
	/* refused before the edge (e.g. another console holds the lock):
	 * try again later, never at every poll */
	if (res.outcome == SR_ACT_REFUSED)
		action_rollback_pending(r, req.actor, req.reason, res.message);
}

/* A rollback that has not landed whole is completed whatever the
 * decision: it only takes traffic away from the canary. */
static bool rollback_retry_granted(const struct sr_runner *r, const struct sr_action_request *req)
{
	return req->kind == SR_ACT_ROLLBACK && r->rollback_due && req->completing;
}

static bool auto_rollback_granted(const struct sr_runner *r, const struct sr_action_request *req)
{
	if (req->kind != SR_ACT_ROLLBACK || !r->policy->auto_rollback ||
	    strcmp(req->actor, SR_ACTOR_AUTO_ROLLBACK) != 0)
		return false;
	for (int t = 0; t < r->policy->ntriggers; t++)
		if (r->engine.triggers[t].state == SR_TRIG_FIRING)
			return true;
	return false;
}

/* Steps 3 and 4: authority, the decision, and a trial on a copy. 0, or
 * -1 with the refusal in res. */
static int check(struct sr_runner *r, const struct sr_action_request *req, int target,
                 struct sr_rollout *trial, struct sr_action_result *res)
{
	char why[SR_TEXT_LEN * 2];
	const char *name = sr_action_name(req->kind);
	int rights_arg = req->kind == SR_ACT_PROMOTE   ? target
	                 : req->kind == SR_ACT_APPROVE ? req->gate
	                                               : -1;
	if (!auto_rollback_granted(r, req) && !rollback_retry_granted(r, req) &&
	    !rights_check(&r->engine, req->kind, rights_arg, req->actor, r->now, why, sizeof why)) {
		if (req->kind == SR_ACT_PROMOTE)
			result_set(res, SR_ACT_REFUSED, -1, "promote to %d%%: %s", target, why);
		else
			result_set(res, SR_ACT_REFUSED, -1, "%s: %s", name, why);
		return -1;
	}
	/* What the state machine would refuse must never reach the edge. */
	*trial = r->engine.ro;
	if (apply(r, trial, req, target, r->now, why, sizeof why) != 0) {
		result_set(res, SR_ACT_REFUSED, -1, "%s: %s", name, why);
		return -1;
	}
	return 0;
}

/* hold, resume, approve, tick, tiebreak, declare_success: one record (a
 * hold needs no edge call: the weight stays). */
static void record_only(struct sr_runner *r, const struct sr_action_request *req,
                        const struct sr_rollout *trial, int gate, struct sr_action_result *res)
{
	char why[SR_TEXT_LEN], text[SR_TEXT_LEN], err[256];
	const char *name = sr_action_name(req->kind);
	if (!journaled(r)) {
		r->engine.ro = *trial;
	} else {
		struct sr_jaction a;
		jaction_of(r, req, -1, gate, false, NULL, &a);
		if (journal_record(r->journal, record_type(req->kind), r->now, req->actor, &a, err,
		                   sizeof err) != 0) {
			result_set(res, SR_ACT_FAILED, -1,
			           "%s not done: cannot write the journal: %s", name, err);
			runner_recording(r, NULL);
			return;
		}
		if (read_back_own(r, why, sizeof why) != 0) {
			result_set(res, SR_ACT_FAILED, -1, "%s journaled but not applied: %s", name,
			           why);
			return;
		}
	}
	/* The decision follows the record at once: a DRI hold is HOLD now,
	 * not at the next poll (and a promote is never judged on a decision
	 * that predates the record). */
	engine_redecide(&r->engine, r->now);
	done_text(r, req, -1, gate, r->engine.ro.weight, text, sizeof text);
	result_set(res, SR_ACT_DONE, r->engine.ro.weight, "%s", text);
}

/* promote, rollback: intent, then the edge; the rest in flight_finish. */
static void edge_action(struct sr_runner *r, const struct sr_action_request *req, int target,
                        bool took, struct sr_action_result *res)
{
	const char *name = sr_action_name(req->kind);
	char err[256];
	struct sr_action_flight *f = &r->flight;
	memset(f, 0, sizeof *f);
	f->req = *req;
	f->target = req->kind == SR_ACT_ROLLBACK ? 0 : target;
	f->drain = req->kind == SR_ACT_ROLLBACK;
	f->started = r->now;
	f->result.outcome = SR_ACT_PENDING;
	f->result.weight = -1;
	if (journaled(r)) {
		journal_make_key(f->key, sizeof f->key);
		struct sr_jaction a;
		jaction_of(r, req, f->target, -1, f->drain, f->key, &a);
		if (journal_intent(r->journal, r->now, req->actor, &a, err, sizeof err) == 0) {
			f->journaled = true;
		} else {
			runner_recording(r, NULL); /* a refused write HOLDs from now */
			if (req->kind != SR_ACT_ROLLBACK ||
			    !journal_refusing(r->journal, NULL, 0)) {
				result_set(
				    res, SR_ACT_FAILED, -1,
				    "%s not done: cannot write its intent to the journal: %s (the "
				    "edge was not called)",
				    name, err);
				unlock_if(r, took);
				log_result(r, req, res);
				return;
			}
			/* Break-glass: a full disk must not keep the canary on.
			 * The rollback goes out unrecorded; a process started
			 * later on this journal reads the edge at 0% against the
			 * journal's weight (an edge anomaly) and HOLDs until the
			 * Release DRI rolls back again, recorded. */
			runner_log(r, SR_LOG_ACTION, SR_RED, req->actor,
			           "rollback goes out unrecorded (break-glass): cannot write its "
			           "intent to the journal: %s",
			           err);
			f->unrecorded = true;
		}
	}
	if (!f->journaled) {
		textf(f->key, sizeof f->key, "%s:%s:%d:%lld", r->policy->rollout, name, f->target,
		      (long long)r->now);
	}
	f->attempt = 1;
	f->sync = true;
	r->action_in_flight = true;
	flight_set(r);
	f->sync = false;
	if (r->action_in_flight) {
		result_set(res, SR_ACT_PENDING, -1, "%s to %d%% by %s: waiting for the edge", name,
		           f->target, req->actor);
		return;
	}
	*res = f->result;
}

void action_dispatch(struct sr_runner *r, const struct sr_action_request *reqin,
                     struct sr_action_result *res)
{
	const struct sr_action_def *def = action_by_kind(reqin->kind);
	struct sr_action_request req = *reqin;
	struct sr_action_result local;
	struct sr_rollout trial;
	char why[SR_TEXT_LEN * 2];
	if (!res)
		res = &local;
	sr_sanitize(req.actor, reqin->actor, sizeof req.actor);
	sr_sanitize(req.reason, reqin->reason, sizeof req.reason);
	const char *name = def ? def->name : "unknown action";

	if (!def) {
		result_set(res, SR_ACT_REFUSED, -1, "unknown action %d", (int)reqin->kind);
		log_result(r, &req, res);
		return;
	}
	/* The one place read-only is enforced. */
	if (r->read_only) {
		result_set(res, SR_ACT_REFUSED, -1, "read-only console: %s is not available", name);
		log_result(r, &req, res);
		return;
	}
	if (r->reconciling) {
		result_set(res, SR_ACT_REFUSED, -1,
		           "%s: the start-up reconciliation with the edge is not done yet", name);
		log_result(r, &req, res);
		return;
	}
	if ((def->flags & SR_AF_NEEDS_TEXT) && !req.reason[0]) {
		result_set(res, SR_ACT_REFUSED, -1, "%s: %s", name,
		           req.kind == SR_ACT_NOTE ? "a note needs its text"
		                                   : "say why (the record keeps who and why)");
		log_result(r, &req, res);
		return;
	}
	if (r->journal_lost) {
		result_set(res, SR_ACT_REFUSED, -1,
		           "%s: the journal was deleted, moved or replaced under this console: "
		           "the rollout's record is not where it was (restart on the state dir)",
		           name);
		log_result(r, &req, res);
		return;
	}
	if (r->may_act && !(def->flags & SR_AF_READONLY_OK)) {
		const char *no = r->may_act(r->may_act_ud, &req);
		if (no) {
			result_set(res, SR_ACT_REFUSED, -1, "%s: %s", name, no);
			log_result(r, &req, res);
			return;
		}
	}
	if (def->flags & SR_AF_WORKFLOW) {
		/* Checked like every action; done by the workflow's owner. */
		if (check(r, &req, 0, &trial, res) == 0) {
			if (r->workflow)
				r->workflow(r->workflow_ud, &req, res);
			else
				result_set(
				    res, SR_ACT_REFUSED, -1,
				    "%s: nothing here to do it with (no webhook or report writer)",
				    name);
		}
		log_result(r, &req, res);
		return;
	}
	bool moves = def->flags & SR_AF_MOVES_EDGE;
	if (moves && r->action_in_flight) {
		result_set(res, SR_ACT_REFUSED, -1,
		           "%s: another edge action (%s by %s) is still in flight", name,
		           sr_action_name(r->flight.req.kind), r->flight.req.actor);
		log_result(r, &req, res);
		return;
	}
	/* Check -> act -> record under the journal's action lock. It is
	 * re-entrant: an action taken while this console's own edge action
	 * is in flight runs under the flight's lock and leaves it held. */
	bool took = false;
	if (journaled(r)) {
		took = !journal_locked(r->journal);
		if (journal_lock(r->journal, req.actor, name, why, sizeof why) != 0) {
			result_set(res, SR_ACT_REFUSED, -1, "%s: %s", name, why);
			log_result(r, &req, res);
			return;
		}
		runner_journal_poll(r); /* act on what every console has done */
	}
	int target = 0;
	if (req.kind == SR_ACT_PROMOTE) {
		target = promote_target(r, &req);
		if (target < 0) {
			result_set(res, SR_ACT_REFUSED, -1, "promote: already at the last phase");
			goto refused;
		}
	}
	int gate = req.kind == SR_ACT_APPROVE ? resolve_gate(r, &req) : -1;
	if (check(r, &req, target, &trial, res) != 0)
		goto refused;
	if (!moves) {
		record_only(r, &req, &trial, gate, res);
		unlock_if(r, took);
		log_result(r, &req, res);
		return;
	}
	if (!r->edge) {
		result_set(res, SR_ACT_FAILED, -1, "%s: no edge driver is loaded", name);
		unlock_if(r, took);
		log_result(r, &req, res);
		return;
	}
	edge_action(r, &req, target, took, res); /* logs its own outcome */
	return;
refused:
	unlock_if(r, took);
	log_result(r, &req, res);
}
