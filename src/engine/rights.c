/* rights.c - who may do what: the directive's decision-rights table.
 *
 * The roster says who holds which role; policy.rights says which role may
 * do what and under which condition (needs GO, gate approvals,
 * pre-approved). This module is the one place that answers "may this
 * person do this now?", and when the answer is no it says every reason in
 * words a person can act on ("needs 1 approval from gate_approver:
 * approver (none yet)"). Pure: the answer depends only on the policy, the
 * engine state, the actor and `now`.
 */
#include "shiproom/rights.h"

#include "shiproom/calendar.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Accumulates "; "-separated reasons into a caller's buffer. */
struct why {
	char *buf;
	size_t n, o;
	int count;
};

static void why_add(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(struct why *w, const char *fmt, ...)
{
	w->count++;
	if (!w->buf || w->n == 0 || w->o + 1 >= w->n)
		return;
	if (w->o > 0) {
		int k = snprintf(w->buf + w->o, w->n - w->o, "; ");
		w->o += (size_t)k;
		if (w->o >= w->n) {
			w->o = w->n - 1;
			return;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(w->buf + w->o, w->n - w->o, fmt, ap);
	va_end(ap);
	w->o += k > 0 ? (size_t)k : 0;
	if (w->o >= w->n) {
		/* cut: never in the middle of a character */
		engine_utf8_trim(w->buf);
		w->o = strlen(w->buf);
		if (w->o + 1 < w->n)
			w->o = w->n - 1; /* full: later reasons do not fit either */
	}
}

bool rights_has_role(const struct sr_policy *p, const char *actor, enum sr_role role)
{
	if (!actor || !actor[0] || (unsigned)role >= SR_ROLE_COUNT)
		return false;
	for (int i = 0; i < p->roster.n[role]; i++)
		if (strcmp(p->roster.who[role][i], actor) == 0)
			return true;
	return false;
}

static int role_by_name(const char *name)
{
	for (int r = 0; r < SR_ROLE_COUNT; r++)
		if (strcmp(sr_role_name((enum sr_role)r), name) == 0)
			return r;
	return -1;
}

static int current_weight(const struct sr_engine *e)
{
	const struct sr_policy *p = e->policy;
	return e->ro.phase >= 0 && e->ro.phase < p->nphases ? p->phases[e->ro.phase].weight : 0;
}

static bool approved_by(const struct sr_gate_record *rec, const char *who)
{
	for (int i = 0; i < rec->napprovals; i++)
		if (strcmp(rec->approvals[i].who, who) == 0)
			return true;
	return false;
}

/* The approvals that count for the next gate: distinct people holding
 * the gate's approver role, other than `except` (the promoter: "Release
 * DRI + gate approvals" means a second person). Names into who. */
static int approvers_except(const struct sr_engine *e, const char *except, char *who, size_t n)
{
	const struct sr_policy *p = e->policy;
	if (who && n > 0)
		who[0] = '\0';
	int g = rollout_next_gate(&e->ro, p, NULL);
	if (g < 0)
		return 0;
	const struct sr_gate_record *rec = &e->ro.gates[g];
	int role = role_by_name(p->gates[g].approver_role), count = 0;
	size_t o = 0;
	for (int i = 0; i < rec->napprovals; i++) {
		bool dup = false;
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(rec->approvals[i].who, rec->approvals[j].who) == 0;
		if (dup || role < 0 ||
		    !rights_has_role(p, rec->approvals[i].who, (enum sr_role)role))
			continue;
		if (except && strcmp(rec->approvals[i].who, except) == 0)
			continue;
		count++;
		if (who && o < n)
			o += (size_t)snprintf(who + o, n - o, "%s%s", o ? ", " : "",
			                      rec->approvals[i].who);
	}
	if (who && n > 0)
		engine_utf8_trim(who);
	return count;
}

/* Approvals still missing for the next gate when `except` does not count,
 * and who on the roster could still give them (not `except`). */
static int missing_except(const struct sr_engine *e, const char *except, char *who, size_t n)
{
	const struct sr_policy *p = e->policy;
	if (who && n > 0)
		who[0] = '\0';
	int g = rollout_next_gate(&e->ro, p, NULL);
	if (g < 0 || p->gates[g].pre_approved || p->gates[g].approvals_needed <= 0)
		return 0;
	const struct sr_gate *G = &p->gates[g];
	const struct sr_gate_record *rec = &e->ro.gates[g];
	int role = role_by_name(G->approver_role);
	int missing = G->approvals_needed - approvers_except(e, except, NULL, 0);
	if (missing <= 0)
		return 0;
	if (who && n > 0 && role >= 0) {
		size_t o = 0;
		for (int i = 0; i < p->roster.n[role] && o < n; i++) {
			const char *name = p->roster.who[role][i];
			if (approved_by(rec, name) || (except && strcmp(name, except) == 0))
				continue;
			o += (size_t)snprintf(who + o, n - o, "%s%s", o ? ", " : "", name);
		}
		engine_utf8_trim(who);
	}
	return missing;
}

/* "Gate 1 needs 1 approval from gate_approver: approver (none yet)",
 * with `except` not counting. Returns the number missing. */
static int approvals_text_except(const struct sr_engine *e, const char *except, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	char who[SR_REASON_LEN], have[SR_REASON_LEN / 2];
	int missing = missing_except(e, except, who, sizeof who);
	if (buf && n > 0)
		buf[0] = '\0';
	if (missing <= 0 || !buf)
		return missing > 0 ? missing : 0;
	int g = rollout_next_gate(&e->ro, p, NULL);
	const struct sr_gate *G = &p->gates[g];
	int nhave = approvers_except(e, except, have, sizeof have);
	char tail[SR_REASON_LEN];
	if (nhave == 0)
		engine_format(tail, sizeof tail, "none yet");
	else
		engine_format(tail, sizeof tail, "have %s", have);

	engine_format(buf, n, "%s needs %d approval%s from %s: %s (%s)", G->name, missing,
	              missing == 1 ? "" : "s", G->approver_role,
	              who[0] ? who : "nobody left on the roster", tail);
	return missing;
}

int rights_missing_approvals(const struct sr_engine *e, const char *promoter, char *who, size_t n)
{
	return missing_except(e, promoter, who, n);
}

int rights_approvers(const struct sr_engine *e, const char *promoter, char *who, size_t n)
{
	return approvers_except(e, promoter, who, n);
}

int rights_approvals_text(const struct sr_engine *e, const char *promoter, char *buf, size_t n)
{
	return approvals_text_except(e, promoter, buf, n);
}

/* Is the text one of the decision's reasons already? (so a refusal that
 * quotes the decision does not say the same thing twice) */
static bool in_decision(const struct sr_engine *e, const char *text)
{
	for (int i = 0; i < e->decision.nreasons; i++)
		if (strcmp(e->decision.reasons[i], text) == 0)
			return true;
	return false;
}

/* The same, comparing up to the first ": " only: "Gate 1 needs 1
 * approval from gate_approver" whoever the sentence then names. */
static bool in_decision_head(const struct sr_engine *e, const char *text)
{
	const char *colon = strstr(text, ": ");
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	for (int i = 0; i < e->decision.nreasons; i++)
		if (strncmp(e->decision.reasons[i], text, len) == 0 &&
		    (e->decision.reasons[i][len] == ':' || e->decision.reasons[i][len] == '\0'))
			return true;
	return false;
}

static void why_decision(struct why *w, const struct sr_engine *e)
{
	char all[SR_REASON_LEN * 3];
	size_t o = 0;
	all[0] = '\0';
	for (int i = 0; i < e->decision.nreasons && o < sizeof all; i++)
		o += (size_t)snprintf(all + o, sizeof all - o, "%s%s", i ? "; " : "",
		                      e->decision.reasons[i]);
	why_add(w, "decision is %s: %s", sr_verdict_name(e->decision.verdict), all);
}

/* The roster members of a role, for "is not release_dri (dri)". */
static void role_members(const struct sr_policy *p, enum sr_role role, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < p->roster.n[role] && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? ", " : "",
		                      p->roster.who[role][i]);
}

/* Find the decision-rights row for this action (and, for PROMOTE, these
 * weights) whose role the actor holds. On failure explains in w. */
static const struct sr_right *row_for(const struct sr_engine *e, enum sr_action_kind action,
                                      int from, int to, const char *actor, struct why *w)
{
	const struct sr_policy *p = e->policy;
	const struct sr_right *any = NULL;
	for (int i = 0; i < p->nrights; i++) {
		const struct sr_right *r = &p->rights[i];
		if (r->action != action)
			continue;
		if (action == SR_ACT_PROMOTE && (r->from_weight != from || r->to_weight != to))
			continue;
		if (!any)
			any = r;
		if (rights_has_role(p, actor, r->role))
			return r;
	}
	char what[64];
	if (action == SR_ACT_PROMOTE)
		snprintf(what, sizeof what, "promote %d->%d", from, to);
	else
		snprintf(what, sizeof what, "%s", sr_action_name(action));
	if (!any) {
		why_add(w, "no decision-rights row allows %s", what);
		return NULL;
	}
	char members[SR_REASON_LEN];
	role_members(p, any->role, members, sizeof members);
	bool on_roster = false;
	for (int r = 0; r < SR_ROLE_COUNT && !on_roster; r++)
		on_roster = rights_has_role(p, actor, (enum sr_role)r);
	why_add(w, "%s%s is not %s (%s is for %s: %s%s%s)", actor && actor[0] ? actor : "(nobody)",
	        on_roster ? "" : " (not on the roster)", sr_role_name(any->role), what,
	        sr_role_name(any->role), members[0] ? members : "nobody on the roster",
	        any->condition[0] ? "; " : "", any->condition);
	return NULL;
}

static bool frozen(const struct sr_engine *e, sr_ms now, char *until, size_t n)
{
	const struct sr_rollout *ro = &e->ro;
	if (ro->overnight_until == 0 || now >= ro->overnight_until)
		return false;
	calendar_fmt(&e->policy->calendar, ro->overnight_until, until, n);
	return true;
}

/* "observing 30m of 90m at 5%" when the current phase's window has not
 * elapsed (the same words as the decision's); false when it has. */
static bool window_open(const struct sr_engine *e, sr_ms now, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	if (ro->phase < 0 || ro->phase >= p->nphases - 1 || rollout_window_elapsed(ro, p, now))
		return false;
	engine_format(buf, n, "observing %lldm of %dm at %s",
	              (long long)((now - ro->phase_entered) / SR_MS_PER_MIN),
	              p->phases[ro->phase].observe_min, p->phases[ro->phase].name);
	return true;
}

/* A promote needs a decision about the rollout as it is now, from data
 * that is not stale. Says why not, and returns false, otherwise. */
static bool decision_usable(const struct sr_engine *e, sr_ms now, struct why *w)
{
	const struct sr_policy *p = e->policy;
	char when[48], age[24];
	if (!engine_decision_current(e)) {
		/* An action since (a hold, an approval, a promote): the decision
		 * says nothing about the record as it is. */
		engine_fmt_when(e, e->ro.changed_at, when, sizeof when);
		why_add(w, "the rollout changed at %s: waiting for the next evaluation", when);
		return false;
	}
	if (e->evaluations > 0 && p->stale_after_ms > 0 && now - e->last_eval > p->stale_after_ms) {
		engine_fmt_when(e, e->last_eval, when, sizeof when);
		sr_fmt_duration(age, sizeof age, now - e->last_eval);
		why_add(w, "the last evaluation was at %s, %s ago: waiting for the next evaluation",
		        when, age);
		return false;
	}
	return true;
}

static void check_promote(const struct sr_engine *e, int target, const char *actor, sr_ms now,
                          struct why *w)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	char buf[SR_REASON_LEN], when[48];
	int from = current_weight(e);
	if (ro->success) {
		why_add(w, "success already declared");
		return;
	}
	if (ro->phase + 1 >= p->nphases) {
		why_add(w, "already at the last phase (%d%%)", from);
		return;
	}
	int next = p->phases[ro->phase + 1].weight;
	if (target != next) {
		why_add(w, "the next phase is %s, not %d%% (one phase at a time)",
		        p->phases[ro->phase + 1].name, target);
		return;
	}
	const struct sr_right *r = row_for(e, SR_ACT_PROMOTE, from, target, actor, w);
	if (!r)
		return;
	if (frozen(e, now, buf, sizeof buf))
		why_add(w, "changes frozen until %s (overnight hold)", buf);
	/* Pre-approved still means "when GO": the directive pre-approves
	 * 50->100 only with every KPI GREEN and P95 <= 120 ms. The decision
	 * is quoted only when it is about the record as it is now. */
	bool usable = decision_usable(e, now, w);
	bool quoted = usable && (r->needs_go || r->pre_approved) && e->decision.verdict != SR_GO;
	if (quoted)
		why_decision(w, e);
	/* And in depth, from the record itself (a quoted decision computed
	 * from this same record already says these). */
	if (!quoted && ro->held) {
		engine_fmt_when(e, ro->held_since, when, sizeof when);
		why_add(w, "held by %s since %s%s%s", ro->held_by, when,
		        ro->hold_reason[0] ? ": " : "", ro->hold_reason);
	}
	if (!quoted && window_open(e, now, buf, sizeof buf))
		why_add(w, "%s", buf);
	if (r->needs_gate_approvals) {
		/* The promoter's own approval does not count for their promote. */
		if (approvals_text_except(e, actor, buf, sizeof buf) > 0 &&
		    approvers_except(e, NULL, NULL, 0) > approvers_except(e, actor, NULL, 0))
			why_add(
			    w,
			    "approvals must come from someone other than the promoter: %s approved "
			    "their own gate",
			    actor);
		if (buf[0] && !(quoted && in_decision_head(e, buf)))
			why_add(w, "%s", buf);
	}
	int g = rollout_next_gate(ro, p, NULL);
	if (r->pre_approved && !engine_gate_p95_ok(e, g, buf, sizeof buf) &&
	    !(quoted && in_decision(e, buf)))
		why_add(w, "%s", buf);
}

static void check_approve(const struct sr_engine *e, int gate, const char *actor, struct why *w)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	int next = rollout_next_gate(ro, p, NULL);
	if (gate < 0)
		gate = next;
	if (gate < 0 || gate >= p->ngates) {
		why_add(w, "no gate is pending approval%s", ro->phase < 0 ? " (pre-flight)" : "");
		return;
	}
	const struct sr_gate *G = &p->gates[gate];
	if (ro->gates[gate].outcome == SR_GATE_PASSED) {
		why_add(w, "%s is already passed", G->name);
		return;
	}
	if (gate != next) {
		why_add(w, "%s is not the next gate", G->name);
		return;
	}
	if (G->pre_approved) {
		why_add(w, "%s is pre-approved: no approvals needed", G->name);
		return;
	}
	int role = role_by_name(G->approver_role);
	if (role < 0 || !rights_has_role(p, actor, (enum sr_role)role)) {
		char members[SR_REASON_LEN] = "";
		if (role >= 0)
			role_members(p, (enum sr_role)role, members, sizeof members);
		why_add(w, "%s is not %s (%s approvals come from %s)",
		        actor && actor[0] ? actor : "(nobody)", G->approver_role, G->name,
		        members[0] ? members : "nobody on the roster");
		return;
	}
	if (approved_by(&ro->gates[gate], actor))
		why_add(w, "%s already approved %s", actor, G->name);
}

bool rights_check(const struct sr_engine *e, enum sr_action_kind action, int target_weight,
                  const char *actor, sr_ms now, char *why, size_t n)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	struct why w = {.buf = why, .n = n};
	char when[48], buf[SR_REASON_LEN];
	if (why && n > 0)
		why[0] = '\0';

	/* After a rollback only the checklists (rollback communications)
	 * remain; everything else starts with a new rollout. */
	/* ... except a rollback again while the edge was seen sending the
	 * canary traffic after it (a rollback cut between its steps), the
	 * checklists and notes, and the workflow's posts and reports (the
	 * rollback's update, the postmortem). */
	if (ro->rolled_back && action != SR_ACT_TICK && action != SR_ACT_UNTICK &&
	    action != SR_ACT_NOTE && action != SR_ACT_POST && action != SR_ACT_REPORT &&
	    !(action == SR_ACT_ROLLBACK && ro->edge_anomaly_weight > 0)) {
		engine_fmt_when(e, ro->rolled_back_at, when, sizeof when);
		why_add(
		    &w,
		    "rolled back at %s by %s: %s refused (a new rollout starts from pre-flight)",
		    when, ro->rolled_back_by, sr_action_name(action));
		return false;
	}

	switch (action) {
	case SR_ACT_PROMOTE: check_promote(e, target_weight, actor, now, &w); break;
	case SR_ACT_APPROVE:
		/* The approver role is the gate's; a decision-rights row for
		 * approve, when present, must also allow the actor. */
		check_approve(e, target_weight, actor, &w);
		if (w.count == 0)
			(void)row_for(e, action, -1, -1, actor, &w);
		break;
	case SR_ACT_ROLLBACK: {
		const struct sr_right *r = row_for(e, action, -1, -1, actor, &w);
		/* whatever the journal believes, traffic the edge was seen
		 * sending to the canary can always be taken back */
		if (r && ro->phase < 0 && ro->edge_anomaly_weight <= 0)
			why_add(&w,
			        "nothing to roll back: the canary is not deployed (pre-flight)");
		else if (r && ro->success)
			why_add(&w, "success already declared");
		/* No needs_go, no approvals, and not frozen overnight: the
		 * Release DRI may roll back alone at any time. */
		break;
	}
	case SR_ACT_HOLD: {
		const struct sr_right *r = row_for(e, action, -1, -1, actor, &w);
		if (r && ro->held) {
			engine_fmt_when(e, ro->held_since, when, sizeof when);
			why_add(&w, "already held by %s since %s", ro->held_by, when);
		} else if (r && ro->success) {
			why_add(&w, "success already declared");
		}
		break;
	}
	case SR_ACT_RESUME: {
		const struct sr_right *r = row_for(e, action, -1, -1, actor, &w);
		if (r && !ro->held)
			why_add(&w, "not held: nothing to resume");
		break;
	}
	case SR_ACT_TIEBREAK: {
		const struct sr_right *r = row_for(e, action, -1, -1, actor, &w);
		if (r && e->decision.verdict != SR_ESCALATE)
			why_add(&w, "no escalation to break a tie for: decision is %s",
			        sr_verdict_name(e->decision.verdict));
		else if (r && ro->tiebreak)
			why_add(&w, "tie-break already recorded by %s", ro->tiebreak_by);
		break;
	}
	case SR_ACT_DECLARE_SUCCESS: {
		const struct sr_right *r = row_for(e, action, -1, -1, actor, &w);
		if (r && ro->success) {
			why_add(&w, "success already declared");
		} else if (r && !e->success_ready) {
			int shown = 0;
			for (int ci = 0; ci < p->ncriteria && shown < 3; ci++) {
				engine_criterion_text(e, ci, now, buf, sizeof buf);
				if (e->criterion_since[ci] != 0 &&
				    now - e->criterion_since[ci] >= p->criteria[ci].sustain_ms)
					continue;
				why_add(&w, "%s%s", shown ? "" : "success criteria not met: ", buf);
				shown++;
			}
			if (shown == 0)
				why_add(&w, "success criteria not met");
		}
		break;
	}
	case SR_ACT_POST:
	case SR_ACT_REPORT: {
		/* The workflow's: anyone who may act on the rollout, unless the
		 * policy's decision rights name who. */
		bool row = false;
		for (int i = 0; i < p->nrights; i++)
			row |= p->rights[i].action == action;
		if (row) {
			(void)row_for(e, action, -1, -1, actor, &w);
		} else if (!rights_has_role(p, actor, SR_ROLE_RELEASE_DRI) &&
		           !rights_has_role(p, actor, SR_ROLE_GATE_APPROVER) &&
		           !rights_has_role(p, actor, SR_ROLE_EXEC)) {
			why_add(&w, "%s is not on the roster as release_dri, gate_approver or exec",
			        actor && actor[0] ? actor : "(nobody)");
		}
		break;
	}
	case SR_ACT_UNTICK:
		/* whoever may tick may undo a tick (the record says who and why) */
		(void)row_for(e, SR_ACT_TICK, -1, -1, actor, &w);
		break;
	case SR_ACT_NOTE:
		/* Anyone with a role on the roster; an observer only when the
		 * policy's decision rights have a "note" row for its role. */
		if (!rights_has_role(p, actor, SR_ROLE_RELEASE_DRI) &&
		    !rights_has_role(p, actor, SR_ROLE_GATE_APPROVER) &&
		    !rights_has_role(p, actor, SR_ROLE_EXEC)) {
			bool row = false;
			for (int i = 0; i < p->nrights && !row; i++)
				row = p->rights[i].action == SR_ACT_NOTE &&
				      rights_has_role(p, actor, p->rights[i].role);
			if (!row)
				why_add(&w, "%s has no role on the roster%s",
				        actor && actor[0] ? actor : "(nobody)",
				        rights_has_role(p, actor, SR_ROLE_OBSERVER)
				            ? " but observer (the policy's rights have no \"note\" "
				              "row for observers)"
				            : "");
		}
		break;
	case SR_ACT_TICK:
	default: (void)row_for(e, action, -1, -1, actor, &w); break;
	}

	/* A generic needs_go on a row other than promote (a policy may ask
	 * for it on hold or tick): honour it. */
	if (w.count == 0 && action != SR_ACT_PROMOTE) {
		for (int i = 0; i < p->nrights; i++) {
			const struct sr_right *r = &p->rights[i];
			if (r->action == action && r->needs_go &&
			    rights_has_role(p, actor, r->role) && e->decision.verdict != SR_GO) {
				why_decision(&w, e);
				break;
			}
		}
	}
	return w.count == 0;
}
