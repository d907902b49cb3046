/* decision.c - GO / HOLD / ROLLBACK / ESCALATE, with reasons, and the
 * time-driven rollout transitions.
 *
 * The directive's order of precedence: a rollback trigger makes ROLLBACK;
 * an overnight hold without an exec tie-break is a schedule-vs-SLO
 * conflict (ESCALATE); anything not GREEN, not observed long enough, not
 * approved or held makes HOLD; only then GO. Schedule never overrides
 * SLOs: there is no path to GO around a HOLD reason.
 *
 * Reasons come in order of importance (freeze and DRI hold, then cells
 * RED before data gaps before YELLOW, then gate conditions, observation
 * window, approvals), at most SR_MAX_REASONS, each with its numbers.
 *
 * The time-driven transitions live here because they depend on the
 * decision: an overnight hold starts when the 50% phase would HOLD past
 * end of day; a partial success when 50% holds after its window; a gate
 * is marked HELD when its time passes without a GO.
 */
#include "shiproom/engine.h"

#include "shiproom/calendar.h"
#include "shiproom/rights.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void add(struct sr_decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct sr_decision *d, const char *fmt, ...)
{
	if (d->nreasons >= SR_MAX_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reasons[d->nreasons], SR_REASON_LEN, fmt, ap);
	va_end(ap);
	engine_utf8_trim(d->reasons[d->nreasons++]);
}

static const char *phase_name(const struct sr_policy *p, int phase)
{
	return phase >= 0 && phase < p->nphases ? p->phases[phase].name : "pre-flight";
}

/* ---- success criteria ------------------------------------------------- */

static bool at_success_weight(const struct sr_engine *e)
{
	const struct sr_policy *p = e->policy;
	return !e->ro.rolled_back && e->ro.phase >= 0 && e->ro.phase < p->nphases &&
	       p->phases[e->ro.phase].weight == p->success_weight;
}

static bool criterion_has_kpi(const struct sr_policy *p, const struct sr_criterion *cr, int kpi)
{
	for (int j = 0; j < cr->nkpis; j++)
		if (cr->kpis[j] == kpi)
			return true;
	return cr->group[0] && strcmp(p->kpis[kpi].group, cr->group) == 0;
}

/* Met now: every cell of its KPIs GREEN, and below max_value if set. */
static bool criterion_met(const struct sr_engine *e, int ci, char *why, size_t n)
{
	const struct sr_policy *p = e->policy;
	const struct sr_criterion *cr = &p->criteria[ci];
	char label[SR_TITLE_LEN], v[32], m[32];
	for (int i = 0; i < p->ncells; i++) {
		int kpi = p->cells[i].kpi;
		const struct sr_cell_state *c = &e->cells[i];
		if (!criterion_has_kpi(p, cr, kpi))
			continue;
		if (c->status != SR_GREEN) {
			if (why) {
				engine_cell_label(e, i, label, sizeof label);
				engine_format(why, n, "%s %s", label, sr_status_name(c->status));
			}
			return false;
		}
		if (isfinite(cr->max_value) && (!c->fresh || !(c->canary <= cr->max_value))) {
			if (why) {
				engine_cell_label(e, i, label, sizeof label);
				engine_fmt_value(&p->kpis[kpi], c->canary, v, sizeof v);
				engine_fmt_value(&p->kpis[kpi], cr->max_value, m, sizeof m);
				engine_format(why, n, "%s %s > %s", label, v, m);
			}
			return false;
		}
	}
	return true;
}

void criteria_update(struct sr_engine *e, sr_ms now)
{
	const struct sr_policy *p = e->policy;
	/* Right after a promote to the success weight (engine_redecide) the
	 * cells were judged at the previous phase: not evidence yet. */
	bool at = at_success_weight(e) && (!e->judged || e->judged_phase == e->ro.phase);
	bool ready = at && p->ncriteria > 0, all_met = at;
	sr_ms all_since = 0;
	for (int ci = 0; ci < p->ncriteria; ci++) {
		bool met = at && criterion_met(e, ci, NULL, 0);
		if (!met) {
			e->criterion_since[ci] = 0;
			all_met = false;
			ready = false;
			continue;
		}
		if (e->criterion_since[ci] == 0)
			e->criterion_since[ci] = now;
		if (e->criterion_since[ci] > all_since)
			all_since = e->criterion_since[ci];
		if (now - e->criterion_since[ci] < p->criteria[ci].sustain_ms)
			ready = false;
	}
	e->ro.success_since = all_met ? all_since : 0;
	if (ready != e->success_ready) {
		e->success_ready = ready;
		engine_emit(e, SR_EV_ROLLOUT, -1, !ready, ready, now, "%s",
		            ready ? "success criteria met for their sustain time: the Release DRI "
		                    "may declare success"
		                  : "success criteria no longer met");
	}
}

void engine_criterion_text(const struct sr_engine *e, int ci, sr_ms now, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	if (ci < 0 || ci >= p->ncriteria) {
		engine_format(buf, n, "?");
		return;
	}
	const struct sr_criterion *cr = &p->criteria[ci];
	char why[SR_REASON_LEN], a[24], b[24];
	if (!at_success_weight(e)) {
		engine_format(buf, n, "%s: judged at %d%%", cr->text, p->success_weight);
		return;
	}
	if (!criterion_met(e, ci, why, sizeof why)) {
		engine_format(buf, n, "%s: not met (%s)", cr->text, why);
		return;
	}
	sr_ms held = e->criterion_since[ci] ? now - e->criterion_since[ci] : 0;
	if (cr->sustain_ms > 0 && held < cr->sustain_ms) {
		sr_fmt_duration(a, sizeof a, held);
		engine_fmt_window(cr->sustain_ms, b, sizeof b);
		engine_format(buf, n, "%s: %s of %s", cr->text, a, b);
	} else {
		engine_format(buf, n, "%s: met", cr->text);
	}
}

/* ---- gate conditions -------------------------------------------------- */

bool engine_gate_p95_ok(const struct sr_engine *e, int gate, char *why, size_t n)
{
	const struct sr_policy *p = e->policy;
	if (gate < 0 || gate >= p->ngates || !isfinite(p->gates[gate].p95_max))
		return true;
	const struct sr_gate *G = &p->gates[gate];
	int kpi = policy_kpi_index(p, G->p95_kpi);
	if (kpi < 0)
		return true;
	const struct sr_kpi *k = &p->kpis[kpi];
	int worst = -1, nbad = 0;
	double wv = -INFINITY;
	bool wknown = false;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &e->cells[i];
		if (p->cells[i].kpi != kpi)
			continue;
		/* Unknown is not "<= 120 ms", and ranks worst; a +Inf P95 is a
		 * value as bad as unknown, and the one to show (it has a number). */
		bool known = c->fresh && !isnan(c->canary);
		double v = known ? c->canary : INFINITY;
		if (v <= G->p95_max)
			continue;
		nbad++;
		if (worst < 0 || v > wv || (v == wv && !wknown && known)) {
			worst = i;
			wv = v;
			wknown = known;
		}
	}
	if (nbad == 0)
		return true;
	if (why && n > 0) {
		char label[SR_TITLE_LEN], kshort[SR_TITLE_LEN], v[32], m[32];
		engine_cell_label(e, worst, label, sizeof label);
		engine_fmt_value(k, G->p95_max, m, sizeof m);
		if (!wknown)
			engine_format(v, sizeof v, "no fresh value");
		else
			engine_fmt_value(k, wv, v, sizeof v);
		/* "P95" of "search P95": the label's KPI part. */
		const char *sp = strchr(label, ' ');
		engine_format(kshort, sizeof kshort, "%s",
		              p->cells[worst].journey >= 0 && sp ? sp + 1 : label);
		char more[32] = "";
		if (nbad > 1)
			engine_format(more, sizeof more, " (+%d more)", nbad - 1);
		engine_format(why, n, "%s needs %s <= %s: %s %s%s", G->name, kshort, m, label, v,
		              more);
	}
	return false;
}

/* ---- the decision ----------------------------------------------------- */

/* Non-GREEN gating cells (before T-0 those preflight_blocks), worst first (RED, ERROR, STALE,
 * NODATA, YELLOW: the enum's severity order), then by policy order. */
/* Before the first step the canary takes no traffic, so a canary with no
 * series, NaN or too few samples is expected there. What is not: no
 * answer from the source yet, a failed or stale fetch, a RED canary, or
 * a control cohort without a fresh value (the baseline the step is
 * judged against). */
static bool preflight_blocks(const struct sr_cell_state *c)
{
	switch (c->status) {
	case SR_GREEN:
	case SR_YELLOW: return false;
	case SR_NODATA: return c->age < 0 || isnan(c->control);
	default: return true;
	}
}

static int bad_cells(const struct sr_engine *e, int *out)
{
	const struct sr_policy *p = e->policy;
	bool preflight = e->ro.phase < 0;
	int n = 0;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (!k->gating || k->kind == SR_KIND_MONITOR || e->cells[i].status == SR_GREEN)
			continue;
		if (preflight && !preflight_blocks(&e->cells[i]))
			continue;
		/* insertion sort, stable: few cells are ever bad at once */
		int j = n++;
		while (j > 0 && e->cells[out[j - 1]].status < e->cells[i].status) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return n;
}

/* One reason per non-GREEN gating cell, worst first, leaving `keep`
 * reason slots for what follows; the rest summed up in one line.
 * Returns how many cells are not GREEN. */
static int add_bad_cells(const struct sr_engine *e, struct sr_decision *d, int keep)
{
	int bad[SR_MAX_CELLS];
	int nbad = bad_cells(e, bad);
	int slots = SR_MAX_REASONS - d->nreasons - keep;
	int show = nbad <= slots ? nbad : slots - 1;
	if (show < 0)
		show = 0;
	for (int j = 0; j < show; j++) {
		char r[SR_REASON_LEN];
		engine_cell_summary(e, bad[j], r, sizeof r);
		add(d, "%s", r);
	}
	if (show < nbad)
		add(d, "%s%d gating checks not GREEN", show > 0 ? "+" : "", nbad - show);
	return nbad;
}

static void fmt_minutes(sr_ms d, char *buf, size_t n)
{
	engine_format(buf, n, "%lldm", (long long)(d / SR_MS_PER_MIN));
}

static bool partial_text(const struct sr_engine *e, sr_ms now, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	if (ro->partial_since == 0)
		return false;
	char since[48], by[24], steps[SR_REASON_LEN / 2] = "";
	int done = 0, total = 0;
	const struct sr_checklist *cl = policy_checklist(p, "remediation");
	if (cl) {
		int ci = (int)(cl - p->checklists);
		size_t o = 0;
		total = cl->nitems;
		for (int i = 0; i < cl->nitems && o < sizeof steps; i++) {
			done += ro->ticks[ci][i].done;
			o += (size_t)engine_format(steps + o, sizeof steps - o, "%s%s",
			                           i ? " -> " : "", cl->items[i].id);
		}
	}
	engine_fmt_when(e, ro->partial_since, since, sizeof since);
	sr_ms deadline = ro->partial_since + (sr_ms)p->reattempt_h * SR_MS_PER_H;
	calendar_fmt(&p->calendar, deadline, by, sizeof by);
	if (now >= deadline)
		engine_format(buf, n, "partial success since %s: reattempt deadline passed at %s",
		              since, by);
	else if (total > 0)
		engine_format(buf, n,
		              "partial success since %s: remediation %s (%d/%d done); reattempt "
		              "promotion by %s",
		              since, steps, done, total, by);
	else
		engine_format(buf, n, "partial success since %s: reattempt promotion by %s", since,
		              by);
	return true;
}

static void decide_preflight(const struct sr_engine *e, sr_ms now, struct sr_decision *d,
                             bool blocking)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	char buf[24];
	if (now < ro->t0) {
		sr_fmt_trel(buf, sizeof buf, now - ro->t0);
		add(d, "before T-0 (%s): pre-flight", buf);
		blocking = true;
	}
	int open = rollout_preflight_open(ro, p);
	if (open > 0) {
		const struct sr_checklist *cl = policy_checklist(p, "preflight");
		char items[SR_REASON_LEN] = "";
		size_t o = 0;
		int ci = (int)(cl - p->checklists);
		for (int i = 0; i < cl->nitems && o < sizeof items; i++)
			if (cl->items[i].required && !ro->ticks[ci][i].done)
				o += (size_t)engine_format(items + o, sizeof items - o, "%s%s",
				                           o ? ", " : "", cl->items[i].id);
		add(d, "pre-flight: %d required item%s open: %s", open, open == 1 ? "" : "s",
		    items);
		blocking = true;
	}
	if (!blocking) {
		d->verdict = SR_GO;
		add(d, "pre-flight complete and T-0 reached: deploy %s", phase_name(p, 0));
	}
}

static void decide_go(const struct sr_engine *e, sr_ms now, struct sr_decision *d)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	int ngating = engine_gating_count(e);
	d->verdict = SR_GO;
	if (ro->phase >= p->nphases - 1) {
		if (e->success_ready) {
			add(d, "success criteria met at %s: the Release DRI may declare success",
			    phase_name(p, ro->phase));
			return;
		}
		int met = 0;
		for (int ci = 0; ci < p->ncriteria; ci++)
			met += e->criterion_since[ci] != 0 &&
			       now - e->criterion_since[ci] >= p->criteria[ci].sustain_ms;
		add(d, "continue at %s: all %d gating checks GREEN; success criteria %d/%d met",
		    phase_name(p, ro->phase), ngating, met, p->ncriteria);
		for (int ci = 0; ci < p->ncriteria && d->nreasons < SR_MAX_REASONS - 1; ci++) {
			if (e->criterion_since[ci] != 0 &&
			    now - e->criterion_since[ci] >= p->criteria[ci].sustain_ms)
				continue;
			char t[SR_REASON_LEN];
			engine_criterion_text(e, ci, now, t, sizeof t);
			add(d, "%s", t);
		}
		return;
	}
	int g = rollout_next_gate(ro, p, NULL);
	const char *to = phase_name(p, ro->phase + 1);
	if (g < 0) {
		add(d, "GO to %s: all %d gating checks GREEN", to, ngating);
		return;
	}
	const struct sr_gate *G = &p->gates[g];
	if (G->pre_approved || G->approvals_needed <= 0) {
		char m[32] = "";
		if (isfinite(G->p95_max)) {
			int kpi = policy_kpi_index(p, G->p95_kpi);
			char v[24];
			engine_fmt_value(kpi >= 0 ? &p->kpis[kpi] : NULL, G->p95_max, v, sizeof v);
			engine_format(m, sizeof m, "; P95 <= %s", v);
		}
		add(d, "GO to %s: all %d gating checks GREEN%s; %s %s", to, ngating, m, G->name,
		    G->pre_approved ? "pre-approved" : "needs no approval");
		return;
	}
	char who[SR_REASON_LEN / 2];
	rights_approvers(e, NULL, who, sizeof who);
	add(d, "GO to %s: all %d gating checks GREEN; %s approved by %s", to, ngating, G->name,
	    who);
}

static void decide(const struct sr_engine *e, sr_ms now, struct sr_decision *d)
{
	const struct sr_policy *p = e->policy;
	const struct sr_rollout *ro = &e->ro;
	char when[48], wall[24];
	memset(d, 0, sizeof *d);
	d->verdict = SR_HOLD;

	if (ro->rolled_back) {
		engine_fmt_when(e, ro->rolled_back_at, when, sizeof when);
		add(d, "rolled back at %s by %s%s%s", when, ro->rolled_back_by,
		    ro->rollback_reason[0] ? ": " : "", ro->rollback_reason);
		if (p->postmortem_h > 0) {
			calendar_fmt(&p->calendar,
			             ro->rolled_back_at + (sr_ms)p->postmortem_h * SR_MS_PER_H,
			             wall, sizeof wall);
			add(d, "post-mortem due within %dh (by %s)", p->postmortem_h, wall);
		}
		return;
	}
	if (ro->success) {
		d->verdict = SR_GO;
		engine_fmt_when(e, ro->success_at, when, sizeof when);
		add(d, "success declared at %s", when);
		return;
	}

	/* A rollback decided and not yet landed comes first: it is being
	 * completed, and is the one thing the canary may do. */
	bool due = e->rollback_due_since != 0;
	if (due)
		add(d, "%s", e->rollback_due_what);
	/* A trigger wins over everything else: protect users first. */
	for (int t = 0; t < p->ntriggers; t++)
		if (e->triggers[t].state == SR_TRIG_FIRING)
			add(d, "%s: %s", p->triggers[t].name, e->triggers[t].reason);
	/* Evidence tests a team made a rollback trigger (evidence.h). */
	d->nreasons += evidence_reasons(e, SR_EVID_ROLLBACK, d->reasons + d->nreasons,
	                                SR_MAX_REASONS - 1 - d->nreasons);
	if (d->nreasons > (due ? 1 : 0))
		add(d, p->auto_rollback
		           ? "auto_rollback is on: rolling back"
		           : "the Release DRI may roll back now (no exec approval needed)");
	if (d->nreasons > 0) {
		d->verdict = SR_ROLLBACK;
		return;
	}

	bool frozen = ro->overnight_until != 0 && now < ro->overnight_until;
	bool blocking = false;
	if (frozen) {
		calendar_fmt(&p->calendar, ro->overnight_until, wall, sizeof wall);
		if (!ro->tiebreak) {
			add(d, "held at %s past end of day; exec tie-break needed; re-evaluate %s",
			    phase_name(p, ro->phase), wall);
		} else {
			engine_fmt_when(e, ro->tiebreak_at, when, sizeof when);
			add(d, "overnight hold: changes frozen until %s (tie-break by %s at %s)",
			    wall, ro->tiebreak_by, when);
		}
		blocking = true;
	}
	if (e->edge_anomaly_since) {
		engine_fmt_when(e, e->edge_anomaly_since, when, sizeof when);
		add(d,
		    "edge anomaly since %s: the edge reads %d%%, the journal says %d%%: hold until "
		    "the Release DRI resolves it (roll back, or restore %d%% at the edge)",
		    when, e->edge_weight, ro->weight, ro->weight);
		blocking = true;
	}
	if (e->store_down_since) {
		engine_fmt_when(e, e->store_down_since, when, sizeof when);
		add(d, "%s since %s: nothing can be recorded, so nothing acts but a rollback (%s)",
		    e->store_what, when, e->store_then);
		blocking = true;
	}
	if (ro->held) {
		engine_fmt_when(e, ro->held_since, when, sizeof when);
		add(d, "held by %s since %s%s%s", ro->held_by, when, ro->hold_reason[0] ? ": " : "",
		    ro->hold_reason);
		blocking = true;
	}

	if (ro->phase < 0) {
		/* The first step needs what every later step needs: no data gap
		 * and nothing RED in a gating KPI. A gap is never a GO. */
		int nbad = add_bad_cells(e, d, 3);
		decide_preflight(e, now, d, blocking || nbad > 0);
		if (frozen && !ro->tiebreak)
			d->verdict = SR_ESCALATE;
		return;
	}

	/* Gate conditions, observation window and approvals: collected first
	 * so the cells know how many lines they may use. */
	char other[3][SR_REASON_LEN];
	int nother = 0;
	int g = rollout_next_gate(ro, p, NULL);
	if (g >= 0 && !engine_gate_p95_ok(e, g, other[nother], SR_REASON_LEN))
		nother++;
	if (ro->phase < p->nphases - 1 && !rollout_window_elapsed(ro, p, now)) {
		char a[16], b[16];
		fmt_minutes(now - ro->phase_entered, a, sizeof a);
		fmt_minutes((sr_ms)p->phases[ro->phase].observe_min * SR_MS_PER_MIN, b, sizeof b);
		engine_format(other[nother++], SR_REASON_LEN, "observing %s of %s at %s", a, b,
		              phase_name(p, ro->phase));
	}
	if (g >= 0 && rights_approvals_text(e, NULL, other[nother], SR_REASON_LEN) > 0)
		nother++;
	char partial[SR_REASON_LEN];
	bool has_partial = partial_text(e, now, partial, sizeof partial);

	int nbad = add_bad_cells(e, d, nother + (has_partial ? 1 : 0));
	for (int j = 0; j < nother; j++)
		add(d, "%s", other[j]);
	/* Evidence tests a team made a hold reason (evidence.h). */
	int nevid = evidence_reasons(e, SR_EVID_HOLD, d->reasons + d->nreasons,
	                             SR_MAX_REASONS - d->nreasons - (has_partial ? 1 : 0));
	d->nreasons += nevid;
	blocking = blocking || nbad > 0 || nother > 0 || nevid > 0;
	/* After a promote (engine_redecide) the cells still carry verdicts
	 * made at the old phase's limits: no GO on those. */
	if (!blocking && e->judged && e->judged_phase != ro->phase) {
		add(d, "cells judged at %s limits, not yet at %s: waiting for the next evaluation",
		    phase_name(p, e->judged_phase), phase_name(p, ro->phase));
		blocking = true;
	}

	if (!blocking)
		decide_go(e, now, d);
	else if (frozen && !ro->tiebreak)
		d->verdict = SR_ESCALATE;
	if (has_partial)
		add(d, "%s", partial);
}

/* ---- the journal's store ---------------------------------------------- */

bool engine_store_observed(struct sr_engine *e, bool available, sr_ms now, const char *what,
                           const char *then)
{
	if (!available) {
		/* what is wrong may change while it lasts (the store returns
		 * but the disk is full): the hold goes on, saying the latest */
		sr_strlcpy(e->store_what, what && what[0] ? what : "the journal cannot be written",
		           sizeof e->store_what);
		sr_strlcpy(e->store_then, then && then[0] ? then : "break-glass",
		           sizeof e->store_then);
	}
	if (available == (e->store_down_since == 0))
		return false;
	if (!available) {
		e->store_down_since = now > 0 ? now : 1;
		engine_emit(e, SR_EV_ROLLOUT, -1, e->ro.weight, e->ro.weight, now,
		            "%s: the journal cannot record; HOLD, only a rollback may act "
		            "(break-glass)",
		            e->store_what);
	} else {
		e->store_down_since = 0;
		engine_emit(e, SR_EV_ROLLOUT, -1, e->ro.weight, e->ro.weight, now,
		            "the journal records again: %s is over", e->store_what);
		e->store_what[0] = e->store_then[0] = '\0';
	}
	engine_redecide(e, now);
	return true;
}

bool engine_rollback_due(struct sr_engine *e, bool due, sr_ms now, const char *what)
{
	if (due)
		sr_strlcpy(e->rollback_due_what,
		           what && what[0] ? what : "a rollback has not landed",
		           sizeof e->rollback_due_what);
	bool changed = due != (e->rollback_due_since != 0);
	if (changed)
		e->rollback_due_since = due ? (now > 0 ? now : 1) : 0;
	if (!due)
		e->rollback_due_what[0] = '\0';
	/* the words change with every attempt: decide again even when
	 * the state did not */
	engine_redecide(e, now);
	return changed;
}

/* ---- the edge's real state ------------------------------------------- */

bool engine_edge_observed(struct sr_engine *e, int weight, sr_ms now)
{
	bool changed = false;
	e->edge_weight = weight;
	bool differs = weight >= 0 && weight != e->ro.weight;
	if (differs && !e->edge_anomaly_since) {
		e->edge_anomaly_since = now;
		e->edge_expected = e->ro.weight;
		engine_emit(
		    e, SR_EV_ROLLOUT, -1, e->ro.weight, weight, now,
		    "edge anomaly: the edge reads %d%%, the journal says %d%%: nobody asked "
		    "for that (a late answer, a change by hand, a rollback cut short?)",
		    weight, e->ro.weight);
		changed = true;
	} else if (!differs && weight >= 0 && e->edge_anomaly_since) {
		e->edge_anomaly_since = 0;
		engine_emit(e, SR_EV_ROLLOUT, -1, e->edge_expected, weight, now,
		            "edge anomaly resolved: the edge reads %d%% as the journal says",
		            weight);
		changed = true;
	}
	if (changed)
		engine_redecide(e, now);
	return changed;
}

/* ---- time-driven rollout transitions ---------------------------------- */

/* The record changed by the engine's own hand (rollout.h: changes). */
static void record_changed(struct sr_rollout *ro, sr_ms now)
{
	ro->changes++;
	ro->changed_at = now;
}

static void overnight_clear(struct sr_engine *e, sr_ms now)
{
	struct sr_rollout *ro = &e->ro;
	if (ro->overnight_until == 0 || now < ro->overnight_until)
		return;
	char wall[24];
	calendar_fmt(&e->policy->calendar, ro->overnight_until, wall, sizeof wall);
	/* Re-evaluate from scratch: last night's tie-break was for last night. */
	ro->overnight_until = 0;
	ro->overnight_since = 0;
	ro->tiebreak = false;
	ro->tiebreak_by[0] = '\0';
	ro->tiebreak_at = 0;
	record_changed(ro, now);
	engine_emit(e, SR_EV_ROLLOUT, -1, SR_RS_OVERNIGHT, (int)rollout_state(ro, e->policy, now),
	            now, "overnight hold over at %s: re-evaluating", wall);
}

/* Returns true when a transition changed what the decision depends on. */
static bool transitions(struct sr_engine *e, const struct sr_decision *d, sr_ms now)
{
	const struct sr_policy *p = e->policy;
	struct sr_rollout *ro = &e->ro;
	bool changed = false;
	if (ro->phase < 0 || ro->rolled_back || ro->success)
		return false;
	int w = p->phases[ro->phase].weight;
	bool elapsed = rollout_window_elapsed(ro, p, now);
	char wall[24], when[48];

	if (ro->overnight_until == 0 && w == p->calendar.overnight_weight && elapsed &&
	    d->verdict == SR_HOLD && calendar_past_end_of_day(&p->calendar, now)) {
		enum sr_rstate from = rollout_state(ro, p, now);
		ro->overnight_since = now;
		ro->overnight_until = calendar_next_reevaluation(&p->calendar, now);
		ro->tiebreak = false;
		record_changed(ro, now);
		calendar_fmt(&p->calendar, ro->overnight_until, wall, sizeof wall);
		engine_emit(e, SR_EV_ROLLOUT, -1, (int)from, SR_RS_OVERNIGHT, now,
		            "overnight hold: held at %s past end of day; changes frozen until %s",
		            p->phases[ro->phase].name, wall);
		changed = true;
	}
	if (ro->partial_since == 0 && w == p->partial_weight && elapsed && d->verdict == SR_HOLD) {
		enum sr_rstate from = rollout_state(ro, p, now);
		ro->partial_since = now;
		record_changed(ro, now);
		calendar_fmt(&p->calendar, now + (sr_ms)p->reattempt_h * SR_MS_PER_H, wall,
		             sizeof wall);
		engine_emit(e, SR_EV_ROLLOUT, -1, (int)from, (int)rollout_state(ro, p, now), now,
		            "partial success: hold at %s, run the remediation checklist; reattempt "
		            "promotion by %s",
		            p->phases[ro->phase].name, wall);
		changed = true;
	}
	sr_ms due = 0;
	int g = rollout_next_gate(ro, p, &due);
	if (g >= 0 && now >= due && d->verdict != SR_GO &&
	    ro->gates[g].outcome == SR_GATE_PENDING) {
		ro->gates[g].outcome = SR_GATE_HELD;
		ro->gates[g].at = now;
		record_changed(ro, now);
		engine_fmt_when(e, now, when, sizeof when);
		engine_emit(e, SR_EV_ROLLOUT, g, SR_GATE_PENDING, SR_GATE_HELD, now,
		            "%s held at %s: %s", p->gates[g].name, when,
		            d->nreasons > 0 ? d->reasons[0] : "");
	}
	return changed;
}

void decision_update(struct sr_engine *e, sr_ms now)
{
	enum sr_verdict prev = e->decision.verdict;
	bool first = e->evaluations == 0;
	struct sr_decision d;
	overnight_clear(e, now);
	decide(e, now, &d);
	if (transitions(e, &d, now))
		decide(e, now, &d);
	/* what this decision was computed from (engine_decision_current) */
	d.ro_changes = e->ro.changes;
	d.ro_changed_at = e->ro.changed_at;
	e->decision = d;
	bool announce = e->announce;
	e->announce = false;
	if (first || announce || prev != d.verdict)
		engine_emit(e, SR_EV_DECISION, -1, (int)prev, (int)d.verdict, now, "%s: %s",
		            sr_verdict_name(d.verdict), d.nreasons > 0 ? d.reasons[0] : "");
}
