/* rollout.c - the rollout's record and its state machine.
 *
 * struct sr_rollout is what has happened: the phase we are in, the gates
 * passed, approvals, holds, ticks, the overnight hold and success. The
 * journal replays into it through the same functions the action
 * dispatcher calls, so each function validates its own preconditions
 * (order of phases, one approval per person, ordered checklists) and
 * refuses with a sentence a person can act on. Authority is not checked
 * here (rights.c does that) and nothing here talks to the edge.
 */
#include "shiproom/rollout.h"

#include "shiproom/engine.h" /* engine_utf8_trim */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rollout_state_name(enum sr_rstate s)
{
	switch (s) {
	case SR_RS_PREFLIGHT: return "preflight";
	case SR_RS_OBSERVING: return "observing";
	case SR_RS_GATE_PENDING: return "gate_pending";
	case SR_RS_HELD: return "held";
	case SR_RS_OVERNIGHT: return "overnight";
	case SR_RS_PARTIAL: return "partial";
	case SR_RS_ROLLED_BACK: return "rolled_back";
	case SR_RS_SUCCESS: return "success";
	}
	return "?";
}

/* Write a refusal and return -1, so callers can `return refuse(...)`. */
static int refuse(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t n, const char *fmt, ...)
{
	if (why && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
		engine_utf8_trim(why); /* names may be cut mid-character */
	}
	return -1;
}

/* Every change of the record goes through here (see rollout.h: changes). */
static int changed(struct sr_rollout *r, sr_ms now)
{
	r->changes++;
	r->changed_at = now;
	return 0;
}

static void fmt_at(const struct sr_rollout *r, sr_ms at, char *buf, size_t n)
{
	sr_fmt_trel(buf, n, at - r->t0);
}

void rollout_init(struct sr_rollout *r, const struct sr_policy *p, sr_ms t0)
{
	(void)p;
	memset(r, 0, sizeof *r);
	r->t0 = t0;
	r->phase = -1;
	r->weight = 0;
	for (int g = 0; g < SR_MAX_GATES; g++)
		r->gates[g].outcome = SR_GATE_PENDING;
}

static bool in_overnight(const struct sr_rollout *r, sr_ms now)
{
	return r->overnight_until != 0 && now < r->overnight_until;
}

bool rollout_window_elapsed(const struct sr_rollout *r, const struct sr_policy *p, sr_ms now)
{
	if (r->phase < 0 || r->phase >= p->nphases)
		return false;
	return now - r->phase_entered >= (sr_ms)p->phases[r->phase].observe_min * SR_MS_PER_MIN;
}

enum sr_rstate rollout_state(const struct sr_rollout *r, const struct sr_policy *p, sr_ms now)
{
	if (r->rolled_back)
		return SR_RS_ROLLED_BACK;
	if (r->success)
		return SR_RS_SUCCESS;
	if (r->phase < 0)
		return SR_RS_PREFLIGHT;
	if (in_overnight(r, now))
		return SR_RS_OVERNIGHT;
	if (r->held)
		return SR_RS_HELD;
	if (r->partial_since != 0)
		return SR_RS_PARTIAL;
	/* The last phase has no gate: it keeps observing (success criteria)
	 * until success is declared. */
	if (r->phase >= p->nphases - 1 || !rollout_window_elapsed(r, p, now))
		return SR_RS_OBSERVING;
	return SR_RS_GATE_PENDING;
}

/* The gate between two weights, -1 if the policy has none. */
static int gate_between(const struct sr_policy *p, int from, int to)
{
	for (int g = 0; g < p->ngates; g++)
		if (p->gates[g].from_weight == from && p->gates[g].to_weight == to)
			return g;
	return -1;
}

int rollout_next_gate(const struct sr_rollout *r, const struct sr_policy *p, sr_ms *due)
{
	if (r->rolled_back || r->success || r->phase < 0 || r->phase + 1 >= p->nphases)
		return -1;
	int g = gate_between(p, p->phases[r->phase].weight, p->phases[r->phase + 1].weight);
	if (g >= 0 && due)
		*due = r->phase_entered + (sr_ms)p->phases[r->phase].observe_min * SR_MS_PER_MIN;
	return g;
}

int rollout_preflight_open(const struct sr_rollout *r, const struct sr_policy *p)
{
	const struct sr_checklist *cl = policy_checklist(p, "preflight");
	if (!cl)
		return 0;
	int ci = (int)(cl - p->checklists), open = 0;
	for (int i = 0; i < cl->nitems; i++)
		if (cl->items[i].required && !r->ticks[ci][i].done)
			open++;
	return open;
}

int rollout_promote(struct sr_rollout *r, const struct sr_policy *p, int weight, sr_ms now,
                    char *why, size_t n)
{
	if (r->rolled_back)
		return refuse(why, n, "rolled back: a new rollout starts from pre-flight");
	if (r->success)
		return refuse(why, n, "success already declared");
	int next = r->phase + 1;
	if (next >= p->nphases)
		return refuse(why, n, "already at the last phase (%s)", p->phases[r->phase].name);
	if (p->phases[next].weight != weight)
		return refuse(why, n, "the next phase is %s, not %d%% (one phase at a time)",
		              p->phases[next].name, weight);
	int from = r->phase >= 0 ? p->phases[r->phase].weight : 0;
	int g = gate_between(p, from, weight);
	if (g >= 0) {
		r->gates[g].outcome = SR_GATE_PASSED;
		r->gates[g].at = now;
	}
	r->phase = next;
	r->weight = weight;
	r->phase_entered = now;
	/* A new phase starts clean: a hold, a partial success or an overnight
	 * freeze belonged to the phase we left. */
	r->held = false;
	r->held_since = 0;
	r->held_by[0] = '\0';
	r->hold_reason[0] = '\0';
	r->partial_since = 0;
	r->overnight_until = 0;
	r->overnight_since = 0;
	r->tiebreak = false;
	r->tiebreak_by[0] = '\0';
	r->tiebreak_at = 0;
	r->success_since = 0;
	return changed(r, now);
}

int rollout_hold(struct sr_rollout *r, const char *actor, const char *reason, sr_ms now, char *why,
                 size_t n)
{
	char at[24];
	if (r->rolled_back)
		return refuse(why, n, "rolled back: nothing to hold");
	if (r->held) {
		fmt_at(r, r->held_since, at, sizeof at);
		return refuse(why, n, "already held by %s since %s", r->held_by, at);
	}
	r->held = true;
	r->held_since = now;
	sr_sanitize(r->held_by, actor ? actor : "", sizeof r->held_by);
	sr_sanitize(r->hold_reason, reason ? reason : "", sizeof r->hold_reason);
	return changed(r, now);
}

int rollout_resume(struct sr_rollout *r, sr_ms now, char *why, size_t n)
{
	if (!r->held)
		return refuse(why, n, "not held: nothing to resume");
	r->held = false;
	r->held_since = 0;
	r->held_by[0] = '\0';
	r->hold_reason[0] = '\0';
	return changed(r, now);
}

int rollout_rollback(struct sr_rollout *r, const struct sr_policy *p, const char *actor,
                     const char *reason, sr_ms now, char *why, size_t n)
{
	char at[24];
	if (r->rolled_back && r->edge_anomaly_weight <= 0) {
		fmt_at(r, r->rolled_back_at, at, sizeof at);
		return refuse(why, n, "already rolled back at %s by %s", at, r->rolled_back_by);
	}
	if (r->phase < 0 && r->edge_anomaly_weight <= 0)
		return refuse(why, n,
		              "nothing to roll back: the canary is not deployed (pre-flight)");
	int g = rollout_next_gate(r, p, NULL);
	if (g >= 0) {
		r->gates[g].outcome = SR_GATE_ROLLED_BACK;
		r->gates[g].at = now;
	}
	r->rolled_back = true;
	r->rolled_back_at = now;
	r->weight = 0;
	r->edge_anomaly_weight = 0;
	sr_sanitize(r->rolled_back_by, actor ? actor : "", sizeof r->rolled_back_by);
	sr_sanitize(r->rollback_reason, reason ? reason : "", sizeof r->rollback_reason);
	/* Rolling back ends every hold: there is nothing left to freeze. */
	r->held = false;
	r->overnight_until = 0;
	r->partial_since = 0;
	r->tiebreak = false;
	r->success_since = 0;
	return changed(r, now);
}

int rollout_approve(struct sr_rollout *r, const struct sr_policy *p, int gate, const char *actor,
                    sr_ms now, char *why, size_t n)
{
	char at[24];
	if (r->rolled_back)
		return refuse(why, n, "rolled back: no gate to approve");
	int next = rollout_next_gate(r, p, NULL);
	if (gate < 0)
		gate = next;
	if (gate < 0 || gate >= p->ngates)
		return refuse(why, n, "no gate is pending approval%s",
		              r->phase < 0 ? " (pre-flight: approvals open at T-0)" : "");
	const struct sr_gate *G = &p->gates[gate];
	struct sr_gate_record *rec = &r->gates[gate];
	if (rec->outcome == SR_GATE_PASSED || rec->outcome == SR_GATE_ROLLED_BACK)
		return refuse(why, n, "%s is already %s", G->name,
		              rec->outcome == SR_GATE_PASSED ? "passed" : "rolled back");
	if (gate != next)
		return refuse(why, n, "%s is not the next gate%s%s", G->name,
		              next >= 0 ? "; the next is " : "",
		              next >= 0 ? p->gates[next].name : "");
	if (G->pre_approved)
		return refuse(why, n, "%s is pre-approved: no approvals needed", G->name);
	char who[SR_NAME_LEN];
	sr_sanitize(who, actor ? actor : "", sizeof who);
	for (int i = 0; i < rec->napprovals; i++) {
		if (strcmp(rec->approvals[i].who, who) == 0) {
			fmt_at(r, rec->approvals[i].at, at, sizeof at);
			return refuse(why, n, "%s already approved %s at %s", who, G->name, at);
		}
	}
	if (rec->napprovals >= SR_MAX_ROSTER)
		return refuse(why, n, "%s has the maximum of %d approvals", G->name, SR_MAX_ROSTER);
	sr_strlcpy(rec->approvals[rec->napprovals].who, who, SR_NAME_LEN);
	rec->approvals[rec->napprovals].at = now;
	rec->napprovals++;
	return changed(r, now);
}

/* The tick of checklist/item, or NULL with why. */
static struct sr_tick *find_tick(struct sr_rollout *r, const struct sr_policy *p,
                                 const char *checklist, const char *item,
                                 const struct sr_checklist **clp, int *iip, char *why, size_t n)
{
	const struct sr_checklist *cl = policy_checklist(p, checklist ? checklist : "");
	if (!cl) {
		refuse(why, n, "no checklist \"%s\"", checklist ? checklist : "");
		return NULL;
	}
	int ci = (int)(cl - p->checklists), ii = -1;
	for (int i = 0; i < cl->nitems; i++)
		if (item && strcmp(cl->items[i].id, item) == 0)
			ii = i;
	if (ii < 0) {
		refuse(why, n, "%s has no item \"%s\"", cl->id, item ? item : "");
		return NULL;
	}
	*clp = cl;
	*iip = ii;
	return &r->ticks[ci][ii];
}

int rollout_untick(struct sr_rollout *r, const struct sr_policy *p, const char *checklist,
                   const char *item, sr_ms now, char *why, size_t n)
{
	const struct sr_checklist *cl;
	int ii;
	struct sr_tick *t = find_tick(r, p, checklist, item, &cl, &ii, why, n);
	if (!t)
		return -1;
	if (!t->done)
		return refuse(why, n, "%s: %s is not ticked", cl->id, item);
	int ci = (int)(cl - p->checklists);
	if (cl->ordered)
		for (int i = ii + 1; i < cl->nitems; i++)
			if (r->ticks[ci][i].done)
				return refuse(why, n,
				              "%s: undo %s first (the checklist is ordered)",
				              cl->id, cl->items[i].id);
	memset(t, 0, sizeof *t);
	return changed(r, now);
}

int rollout_note(struct sr_rollout *r, const char *actor, const char *text, sr_ms now, char *why,
                 size_t n)
{
	if (!text || !text[0])
		return refuse(why, n, "a note needs some text");
	struct sr_note *e = &r->notes[r->nnotes % SR_MAX_NOTES];
	e->at = now;
	sr_sanitize(e->who, actor ? actor : "", sizeof e->who);
	sr_sanitize(e->text, text, sizeof e->text);
	r->nnotes++;
	return 0;
}

void rollout_approval_reason(struct sr_rollout *r, const char *actor, sr_ms at, const char *reason)
{
	for (int g = 0; g < SR_MAX_GATES; g++)
		for (int a = 0; a < r->gates[g].napprovals; a++) {
			struct sr_approval *ap = &r->gates[g].approvals[a];
			if (ap->at == at && strcmp(ap->who, actor ? actor : "") == 0)
				sr_sanitize(ap->reason, reason ? reason : "", sizeof ap->reason);
		}
}

const struct sr_note *rollout_note_at(const struct sr_rollout *r, int i)
{
	int have = r->nnotes < SR_MAX_NOTES ? r->nnotes : SR_MAX_NOTES;
	if (i < 0 || i >= have)
		return NULL;
	return &r->notes[(r->nnotes - 1 - i) % SR_MAX_NOTES];
}

int rollout_tick(struct sr_rollout *r, const struct sr_policy *p, const char *checklist,
                 const char *item, const char *actor, sr_ms now, char *why, size_t n)
{
	const struct sr_checklist *cl;
	int ii;
	struct sr_tick *t = find_tick(r, p, checklist, item, &cl, &ii, why, n);
	if (!t)
		return -1;
	int ci = (int)(cl - p->checklists);
	if (t->done) {
		char at[24];
		fmt_at(r, t->at, at, sizeof at);
		return refuse(why, n, "%s: %s already ticked by %s at %s", cl->id, item, t->who,
		              at);
	}
	if (cl->ordered) {
		/* Remediation is Cache -> DB -> App: each step after the one
		 * before it, so the first open earlier item blocks. */
		for (int i = 0; i < ii; i++)
			if (!r->ticks[ci][i].done)
				return refuse(why, n, "%s: tick %s before %s", cl->id,
				              cl->items[i].id, item);
	}
	t->done = true;
	t->at = now;
	sr_sanitize(t->who, actor ? actor : "", sizeof t->who);
	return changed(r, now);
}

int rollout_tiebreak(struct sr_rollout *r, const char *actor, sr_ms now, char *why, size_t n)
{
	if (!in_overnight(r, now))
		return refuse(why, n, "no overnight hold: nothing to break a tie for");
	if (r->tiebreak)
		return refuse(why, n, "tie-break already recorded by %s", r->tiebreak_by);
	r->tiebreak = true;
	r->tiebreak_at = now;
	sr_sanitize(r->tiebreak_by, actor ? actor : "", sizeof r->tiebreak_by);
	return changed(r, now);
}

int rollout_declare_success(struct sr_rollout *r, sr_ms now, char *why, size_t n)
{
	if (r->rolled_back)
		return refuse(why, n, "rolled back: success cannot be declared");
	if (r->success)
		return refuse(why, n, "success already declared");
	if (r->phase < 0)
		return refuse(why, n, "pre-flight: success cannot be declared");
	r->success = true;
	r->success_at = now;
	return changed(r, now);
}
