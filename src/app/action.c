/* action.c - the one table of actions and the one dispatcher.
 *
 * Every way of acting - a key in the console, a scenario script step,
 * the policy's auto-rollback - comes through action_dispatch(), so the
 * rules are applied once:
 *
 *   1. read-only refuses everything, here and nowhere else (tmux's
 *      CMD_READONLY is the model; views never check it themselves);
 *   2. authority and the decision come from rights_check(), whose reasons
 *      are passed on verbatim (schedule never overrides SLOs: a promote
 *      that is not GO is refused, and there is no override);
 *   3. the state change is tried on a copy of the rollout first, so an
 *      action the state machine would refuse never reaches the edge;
 *   4. edge-moving actions call set_weight with an idempotency key, read
 *      the weight back, and retry a failed or mismatched call up to
 *      SR_ACTION_EDGE_TRIES times in all; only a confirmed change is
 *      recorded in the rollout, and every outcome is logged with its
 *      actor.
 *
 * The edge completes through callbacks: the simulator answers before
 * returning, HAProxy later from the loop. The same code handles both; the
 * state between the call and its answer is r->flight.
 */
#include "shiproom/action.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"

static const struct sr_action_def action_defs[] = {
	{SR_ACT_HOLD, "hold", 'h', 0, SR_ROLE_RELEASE_DRI,
	 "hold the rollout at its current weight (Release DRI)"},
	{SR_ACT_RESUME, "resume", 'r', 0, SR_ROLE_RELEASE_DRI, "end a hold (Release DRI)"},
	{SR_ACT_PROMOTE, "promote", 'p', SR_AF_DANGEROUS | SR_AF_TYPE_WEIGHT | SR_AF_MOVES_EDGE,
	 SR_ROLE_RELEASE_DRI, "promote to the next phase: type the target weight (needs GO)"},
	{SR_ACT_ROLLBACK, "rollback", 'x', SR_AF_DANGEROUS | SR_AF_MOVES_EDGE, SR_ROLE_RELEASE_DRI,
	 "roll back: canary weight 0 and drained; confirm with y (Release DRI)"},
	{SR_ACT_APPROVE, "approve", 'a', 0, SR_ROLE_GATE_APPROVER,
	 "approve the next gate (gate approver)"},
	{SR_ACT_TICK, "tick", ' ', 0, SR_ROLE_RELEASE_DRI,
	 "tick the selected checklist item (checklist view)"},
	{SR_ACT_TIEBREAK, "tiebreak", 'T', 0, SR_ROLE_EXEC,
	 "record the exec tie-break of an overnight hold (CEO)"},
	{SR_ACT_DECLARE_SUCCESS, "declare_success", 'S', 0, SR_ROLE_RELEASE_DRI,
	 "declare success once the criteria are met at 100% (Release DRI)"},
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
	enum sr_status sev = res->outcome == SR_ACT_DONE      ? SR_GREEN
	                     : res->outcome == SR_ACT_FAILED  ? SR_RED
	                                                      : SR_YELLOW;
	if (res->outcome == SR_ACT_DONE && req->kind == SR_ACT_ROLLBACK)
		sev = SR_YELLOW; /* done, but worth the eye */
	enum sr_log_kind kind = req->kind == SR_ACT_APPROVE && res->outcome == SR_ACT_DONE
	                            ? SR_LOG_APPROVAL
	                            : SR_LOG_ACTION;
	const char *verb = res->outcome == SR_ACT_DONE ? "" : res->outcome == SR_ACT_REFUSED ? "refused: "
	                                                    : res->outcome == SR_ACT_FAILED  ? "FAILED: "
	                                                                                     : "pending: ";
	runner_log(r, kind, sev, req->actor, "%s%s", verb, res->message);
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
		return rollout_hold(ro, req->actor, reason ? reason : "held by the Release DRI", now, why, n);
	case SR_ACT_RESUME:
		return rollout_resume(ro, now, why, n);
	case SR_ACT_PROMOTE:
		return rollout_promote(ro, p, target, now, why, n);
	case SR_ACT_ROLLBACK:
		return rollout_rollback(ro, p, req->actor, reason ? reason : "rollback", now, why, n);
	case SR_ACT_APPROVE:
		return rollout_approve(ro, p, resolve_gate(r, req), req->actor, now, why, n);
	case SR_ACT_TICK:
		return rollout_tick(ro, p, req->checklist, req->item, req->actor, now, why, n);
	case SR_ACT_TIEBREAK:
		return rollout_tiebreak(ro, req->actor, now, why, n);
	case SR_ACT_DECLARE_SUCCESS:
		return rollout_declare_success(ro, now, why, n);
	case SR_ACT_COUNT:
		break;
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
		textf(buf, n, "rollback by %s: canary weight 0%%, drained (edge read back %d%%)%s%s",
		         req->actor, readback, req->reason[0] ? ": " : "", req->reason);
		return;
	case SR_ACT_HOLD:
		textf(buf, n, "hold by %s: %s", req->actor, ro->hold_reason);
		return;
	case SR_ACT_RESUME:
		textf(buf, n, "resume by %s", req->actor);
		return;
	case SR_ACT_APPROVE:
		textf(buf, n, "%s approved by %s",
		         gate >= 0 && gate < p->ngates ? p->gates[gate].name : "gate", req->actor);
		return;
	case SR_ACT_TICK:
		textf(buf, n, "%s: %s ticked by %s", req->checklist, req->item, req->actor);
		return;
	case SR_ACT_TIEBREAK:
		if (ro->overnight_until) {
			calendar_fmt(&p->calendar, ro->overnight_until, wall, sizeof wall);
			textf(buf, n, "tie-break by %s: hold overnight, changes frozen, re-evaluate %s",
			         req->actor, wall);
		} else {
			textf(buf, n, "tie-break by %s", req->actor);
		}
		return;
	case SR_ACT_DECLARE_SUCCESS:
		textf(buf, n, "success declared by %s", req->actor);
		return;
	case SR_ACT_COUNT:
		break;
	}
	textf(buf, n, "%s by %s", sr_action_name(req->kind), req->actor);
}

/* ---- the edge sequence -------------------------------------------------------- */

static void flight_set(struct sr_runner *r);

/* The outcome of an edge action; also ends the flight. */
static void flight_finish(struct sr_runner *r, bool ok, int readback)
{
	struct sr_action_flight *f = &r->flight;
	struct sr_action_result *res = &f->result;
	char why[SR_REASON_LEN], text[SR_TEXT_LEN];
	r->action_in_flight = false;
	if (!ok) {
		result_set(res, SR_ACT_FAILED, readback,
		           "%s to %d%% failed after %d attempts: %s (rollout unchanged)",
		           sr_action_name(f->req.kind), f->target, f->attempt, f->err);
		log_result(r, &f->req, res);
		return;
	}
	/* Record the confirmed change on the live rollout. It was tried on a
	 * copy before the edge was called; it can only fail now if the
	 * rollout changed while an asynchronous edge worked. */
	if (apply(r, &r->engine.ro, &f->req, f->target, r->now, why, sizeof why) != 0) {
		result_set(res, SR_ACT_FAILED, readback,
		           "edge now at %d%% but the rollout refused to record %s: %s", readback,
		           sr_action_name(f->req.kind), why);
		log_result(r, &f->req, res);
		return;
	}
	r->engine.ro.weight = readback;
	done_text(r, &f->req, f->target, -1, readback, text, sizeof text);
	result_set(res, SR_ACT_DONE, readback, "%s", text);
	log_result(r, &f->req, res);
}

static void flight_attempt_failed(struct sr_runner *r, const char *what, const char *err)
{
	struct sr_action_flight *f = &r->flight;
	char clean[SR_REASON_LEN / 2];
	sr_sanitize(clean, err && err[0] ? err : "no reason given", sizeof clean);
	textf(f->err, sizeof f->err, "%s: %s", what, clean);
	f->attempt++;
	if (f->attempt < SR_ACTION_EDGE_TRIES) {
		runner_log(r, SR_LOG_ACTION, SR_YELLOW, f->req.actor,
		           "edge %s (attempt %d/%d); retrying", f->err, f->attempt, SR_ACTION_EDGE_TRIES);
		flight_set(r);
		return;
	}
	flight_finish(r, false, -1);
}

static void flight_on_get(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	struct sr_action_flight *f = &r->flight;
	char msg[64];
	if (result != 0) {
		flight_attempt_failed(r, "get_weight failed", err);
		return;
	}
	if (weight != f->target) {
		textf(msg, sizeof msg, "read back %d%%, expected %d%%", weight, f->target);
		flight_attempt_failed(r, "get_weight", msg);
		return;
	}
	flight_finish(r, true, weight);
}

static void flight_on_set(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	(void)weight; /* only the separate read-back counts */
	if (result != 0) {
		flight_attempt_failed(r, "set_weight failed", err);
		return;
	}
	r->edge->ops->get_weight(r->edge, flight_on_get, r);
}

static void flight_set(struct sr_runner *r)
{
	struct sr_action_flight *f = &r->flight;
	r->edge->ops->set_weight(r->edge, f->target, f->drain, f->key, flight_on_set, r);
}

/* ---- the dispatcher ------------------------------------------------------------- */

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

void action_dispatch(struct sr_runner *r, const struct sr_action_request *reqin,
                     struct sr_action_result *res)
{
	const struct sr_action_def *def = action_by_kind(reqin->kind);
	struct sr_action_request req = *reqin;
	struct sr_action_result local;
	char why[SR_TEXT_LEN * 2], text[SR_TEXT_LEN];
	sr_ms now = r->now;
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
	int target = 0;
	if (req.kind == SR_ACT_PROMOTE) {
		target = promote_target(r, &req);
		if (target < 0) {
			result_set(res, SR_ACT_REFUSED, -1, "promote: already at the last phase");
			log_result(r, &req, res);
			return;
		}
	}
	int rights_arg = req.kind == SR_ACT_PROMOTE ? target : req.kind == SR_ACT_APPROVE ? req.gate : -1;
	if (!auto_rollback_granted(r, &req) &&
	    !rights_check(&r->engine, req.kind, rights_arg, req.actor, now, why, sizeof why)) {
		if (req.kind == SR_ACT_PROMOTE)
			result_set(res, SR_ACT_REFUSED, -1, "promote to %d%% refused: %s", target, why);
		else
			result_set(res, SR_ACT_REFUSED, -1, "%s refused: %s", name, why);
		log_result(r, &req, res);
		return;
	}
	/* Try the change on a copy: what the state machine would refuse must
	 * never reach the edge. */
	struct sr_rollout trial = r->engine.ro;
	int gate = req.kind == SR_ACT_APPROVE ? resolve_gate(r, &req) : -1;
	if (apply(r, &trial, &req, target, now, why, sizeof why) != 0) {
		result_set(res, SR_ACT_REFUSED, -1, "%s refused: %s", name, why);
		log_result(r, &req, res);
		return;
	}

	if (!(def->flags & SR_AF_MOVES_EDGE)) {
		/* hold, resume, approve, tick, tiebreak, declare_success: a
		 * record only (a hold needs no edge call: the weight stays). */
		r->engine.ro = trial;
		done_text(r, &req, target, gate, r->engine.ro.weight, text, sizeof text);
		result_set(res, SR_ACT_DONE, r->engine.ro.weight, "%s", text);
		log_result(r, &req, res);
		return;
	}
	if (!r->edge) {
		result_set(res, SR_ACT_FAILED, -1, "%s: no edge driver is loaded", name);
		log_result(r, &req, res);
		return;
	}
	if (r->action_in_flight) {
		result_set(res, SR_ACT_REFUSED, -1,
		           "%s refused: another edge action (%s by %s) is still in flight", name,
		           sr_action_name(r->flight.req.kind), r->flight.req.actor);
		log_result(r, &req, res);
		return;
	}

	struct sr_action_flight *f = &r->flight;
	memset(f, 0, sizeof *f);
	f->req = req;
	f->target = req.kind == SR_ACT_ROLLBACK ? 0 : target;
	f->drain = req.kind == SR_ACT_ROLLBACK;
	f->started = now;
	f->result.outcome = SR_ACT_PENDING;
	f->result.weight = -1;
	textf(f->key, sizeof f->key, "%s:%s:%d:%lld", r->policy->rollout, name, f->target,
	         (long long)now);
	f->sync = true;
	r->action_in_flight = true;
	flight_set(r);
	f->sync = false;
	if (r->action_in_flight) {
		result_set(res, SR_ACT_PENDING, -1, "%s to %d%% by %s: waiting for the edge", name,
		           f->target, req.actor);
		return;
	}
	*res = f->result;
}
