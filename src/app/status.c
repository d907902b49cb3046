/* status.c - the headless view: `shiproom status [--json]`.
 *
 * A view: it reads the runner and never changes it. The text form is for
 * a person at a prompt or in a chat paste; the JSON form is for scripts
 * and stays stable. Both say the same things: where the rollout is, the
 * decision with every reason, every KPI cell with its numbers and why,
 * the triggers, pre-flight, approvals and success criteria.
 *
 * STATUS JSON (one object; NaN and unknown values are null):
 *   rollout        string   policy "rollout" name
 *   policy_hash    string   16 hex digits, FNV-1a of the policy file
 *   scenario       string|null  simulator scenario name
 *   read_only      bool
 *   now            string   virtual time, ISO 8601 UTC ("2025-10-08T09:35:00Z")
 *   now_ms         number   the same, ms since the epoch
 *   wall_clock     string   local time under the policy calendar ("Wed 09:35")
 *   t_rel_min      number   whole minutes from T-0 (negative before T-0)
 *   phase          string|null  current phase name ("25%"), null in pre-flight
 *   weight         number   canary weight as last read back from the edge
 *   state          string   preflight|observing|gate_pending|held|overnight|
 *                           partial|rolled_back|success
 *   next_gate      {name, due_in_s}|null  due_in_s < 0 when overdue
 *   decision       {verdict: GO|HOLD|ROLLBACK|ESCALATE, reasons: [string]}
 *   cells          [{kpi, journey (string|null), label, gating, status
 *                    (GREEN|YELLOW|NODATA|STALE|ERROR|RED), canary, control,
 *                    limit, samples, age_s, reason, breach_s, evidence}]
 *                   evidence: null, or the cell's anytime-valid test of
 *                   canary against control (report.h,
 *                   report_evidence_cell_json): state, text, r_hat, lo,
 *                   hi, p_worse, events, needed, share, bursty_steps, ...
 *   triggers       [{id, name, state: armed|pending|firing, reason}]
 *   preflight_open [string]  required pre-flight item ids not ticked
 *   approvals      [{gate, needed, pre_approved, by: [string], outcome:
 *                    pending|passed|held|rolled_back}]
 *   success        {ready, declared, criteria: [{id, met, text}]}
 * The exit status of the command is the verdict (0 GO, 3 HOLD,
 * 4 ROLLBACK, 5 ESCALATE).
 */
#include "shiproom/status.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "shiproom/calendar.h"
#include "shiproom/report.h"
#include "shiproom/rights.h"

/* ---- shared helpers ----------------------------------------------------------- */

static const char *gate_outcome_name(enum sr_gate_outcome o)
{
	switch (o) {
	case SR_GATE_PENDING: return "pending";
	case SR_GATE_PASSED: return "passed";
	case SR_GATE_HELD: return "held";
	case SR_GATE_ROLLED_BACK: return "rolled_back";
	}
	return "?";
}

static void fmt_iso(sr_ms t, char *buf, size_t n)
{
	time_t s = (time_t)(t / SR_MS_PER_S);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "?");
}

static long long t_rel_min(const struct sr_runner *r)
{
	sr_ms rel = r->now - r->engine.ro.t0;
	return rel >= 0 ? rel / SR_MS_PER_MIN : -((-rel + SR_MS_PER_MIN - 1) / SR_MS_PER_MIN);
}

static const char *phase_name(const struct sr_runner *r)
{
	int ph = r->engine.ro.phase;
	return ph >= 0 && ph < r->policy->nphases ? r->policy->phases[ph].name : NULL;
}

static const struct sr_checklist *preflight_list(const struct sr_policy *p, int *ci)
{
	const struct sr_checklist *cl = policy_checklist(p, "preflight");
	if (cl && ci)
		*ci = (int)(cl - p->checklists);
	return cl;
}

/* ---- text --------------------------------------------------------------------- */

static void text_value(const struct sr_kpi *k, double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		engine_fmt_value(k, v, buf, n);
}

static void text_header(FILE *out, const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	char rel[24], wall[24], due[24];
	sr_fmt_trel(rel, sizeof rel, r->now - ro->t0);
	calendar_fmt(&p->calendar, r->now, wall, sizeof wall);
	fprintf(out, "%s - %s\n", p->rollout, p->title);
	if (r->scenario)
		fprintf(out, "simulator scenario: %s (seed %llu)%s\n", r->scenario->name,
		        (unsigned long long)r->scenario->seed, r->read_only ? "  [read-only]" : "");
	const char *ph = phase_name(r);
	fprintf(out, "time:     %s (%s)\n", rel, wall);
	fprintf(out, "phase:    %s, canary weight %d%%\n", ph ? ph : "pre-flight", ro->weight);
	fprintf(out, "state:    %s\n", rollout_state_name(rollout_state(ro, p, r->now)));
	sr_ms when = 0;
	int g = rollout_next_gate(ro, p, &when);
	if (g >= 0) {
		sr_fmt_duration(due, sizeof due, when > r->now ? when - r->now : r->now - when);
		sr_fmt_trel(rel, sizeof rel, when - ro->t0);
		fprintf(out, "next gate: %s (%d%% -> %d%%) at %s, %s %s\n", p->gates[g].name,
		        p->gates[g].from_weight, p->gates[g].to_weight, rel,
		        when > r->now ? "in" : "due since", due);
	}
}

static void text_decision(FILE *out, const struct sr_runner *r)
{
	const struct sr_decision *d = &r->engine.decision;
	fprintf(out, "\ndecision: %s\n", sr_verdict_name(d->verdict));
	for (int i = 0; i < d->nreasons && i < SR_MAX_REASONS; i++)
		fprintf(out, "  - %s\n", d->reasons[i]);
}

static void text_cells(FILE *out, const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	int w = 3;
	for (int i = 0; i < p->ncells; i++) {
		char label[SR_TITLE_LEN];
		engine_cell_label(&r->engine, i, label, sizeof label);
		int len = (int)strlen(label);
		w = len > w ? len : w;
	}
	w = w > 44 ? 44 : w;
	fprintf(out, "\n%-*s %-6s %-11s %-11s %-9s %7s %6s %7s  %s\n", w, "KPI", "STATUS", "CANARY",
	        "CONTROL", "LIMIT", "SAMPLES", "AGE", "BREACH", "REASON");
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &r->engine.cells[i];
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		char label[SR_TITLE_LEN], can[24], ctl[24], lim[24], smp[16], age[16], br[16];
		engine_cell_label(&r->engine, i, label, sizeof label);
		text_value(k, c->canary, can, sizeof can);
		text_value(k, c->control, ctl, sizeof ctl);
		if (k->kind == SR_KIND_VS_CONTROL || k->kind == SR_KIND_VS_BASELINE)
			snprintf(lim, sizeof lim, isnan(c->limit) ? "-" : "%s%g%%",
			         k->direction == SR_DIR_UP     ? "+"
			         : k->direction == SR_DIR_DOWN ? "-"
			                                       : "+/-",
			         c->limit);
		else if (k->kind == SR_KIND_MONITOR)
			snprintf(lim, sizeof lim, "monitor");
		else
			text_value(k, c->limit, lim, sizeof lim);
		if (isnan(c->samples))
			snprintf(smp, sizeof smp, "-");
		else
			snprintf(smp, sizeof smp, "%.0f", c->samples);
		if (c->age < 0)
			snprintf(age, sizeof age, "-");
		else
			sr_fmt_duration(age, sizeof age, c->age);
		sr_ms b = cell_breach_ms(c);
		if (b > 0)
			sr_fmt_duration(br, sizeof br, b);
		else
			snprintf(br, sizeof br, "-");
		fprintf(out, "%-*.*s %-6s %-11.11s %-11.11s %-9.9s %7s %6s %7s  %s\n", w, w, label,
		        sr_status_name(c->status), can, ctl, lim, smp, age, br,
		        engine_cell_reason(&r->engine, i));
	}
}

/* The evidence tests (evidence.h), one line per cell that has one. */
static void text_evidence(FILE *out, const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	bool head = false;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (!k->evidence.enabled)
			continue;
		if (!head)
			fprintf(
			    out,
			    "\nevidence (canary against control, anytime-valid; r = canary's bad "
			    "rate / control's):\n");
		head = true;
		char label[SR_TITLE_LEN], line[SR_REASON_LEN];
		engine_cell_label(&r->engine, i, label, sizeof label);
		evidence_format(&r->engine.evidence[i], &k->evidence, false, line, sizeof line);
		fprintf(out, "  %-36.36s %s\n", label, line);
	}
}

static void text_triggers(FILE *out, const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	fprintf(out, "\ntriggers:\n");
	for (int t = 0; t < p->ntriggers; t++)
		fprintf(out, "  %-20s %-8s %s\n", p->triggers[t].id,
		        trigger_state_name(r->engine.triggers[t].state),
		        r->engine.triggers[t].reason);
}

static void text_checklists(FILE *out, const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	int ci = 0, open = 0;
	const struct sr_checklist *cl = preflight_list(p, &ci);
	if (cl) {
		fprintf(out, "\npre-flight:");
		for (int i = 0; i < cl->nitems; i++) {
			if (!cl->items[i].required || ro->ticks[ci][i].done)
				continue;
			char due[24];
			sr_fmt_trel(due, sizeof due, (sr_ms)cl->items[i].due_min * SR_MS_PER_MIN);
			fprintf(out, "\n  open: %s (%s, due %s)", cl->items[i].id,
			        cl->items[i].text, due);
			open++;
		}
		fprintf(out, "%s\n", open ? "" : " complete");
	}
	fprintf(out, "\napprovals:\n");
	for (int g = 0; g < p->ngates; g++) {
		const struct sr_gate *G = &p->gates[g];
		const struct sr_gate_record *rec = &ro->gates[g];
		fprintf(out, "  %-8s %3d%% -> %3d%%  %-11s ", G->name, G->from_weight, G->to_weight,
		        gate_outcome_name(rec->outcome));
		if (G->pre_approved) {
			fprintf(out, "pre-approved when GO\n");
			continue;
		}
		fprintf(out, "%d/%d from %s", rec->napprovals, G->approvals_needed,
		        G->approver_role);
		for (int i = 0; i < rec->napprovals; i++) {
			char at[24];
			sr_fmt_trel(at, sizeof at, rec->approvals[i].at - ro->t0);
			fprintf(out, "%s%s at %s", i ? ", " : ": ", rec->approvals[i].who, at);
		}
		fprintf(out, "\n");
	}
	fprintf(out, "\nsuccess: %s\n",
	        ro->success               ? "declared"
	        : r->engine.success_ready ? "ready to declare"
	                                  : "not yet");
	for (int c = 0; c < p->ncriteria; c++) {
		char t[SR_TEXT_LEN];
		engine_criterion_text(&r->engine, c, r->now, t, sizeof t);
		fprintf(out, "  - %s\n", t);
	}
}

static void text_log(FILE *out, const struct sr_runner *r)
{
	const struct sr_log_entry *e;
	int n = 0;
	while (n < 12 && runner_log_entry(r, n))
		n++;
	if (n == 0)
		return;
	fprintf(out, "\nlog (newest last):\n");
	for (int i = n - 1; i >= 0; i--) {
		e = runner_log_entry(r, i);
		char at[24];
		sr_fmt_trel(at, sizeof at, e->at - r->engine.ro.t0);
		fprintf(out, "  %-6s %-6s %s%s%s\n", at, sr_status_name(e->severity), e->actor,
		        e->actor[0] ? ": " : "", e->text);
	}
}

void status_print_text(FILE *out, const struct sr_runner *r)
{
	text_header(out, r);
	text_decision(out, r);
	text_cells(out, r);
	text_evidence(out, r);
	text_triggers(out, r);
	text_checklists(out, r);
	text_log(out, r);
}

/* ---- JSON ---------------------------------------------------------------------- */

/* NaN and infinities are not JSON: they become null. */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_cells(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &r->engine.cells[i];
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		int j = p->cells[i].journey;
		char label[SR_TITLE_LEN];
		engine_cell_label(&r->engine, i, label, sizeof label);
		sr_ms b = cell_breach_ms(c);
		json_array_append_new(
		    a, json_pack("{s:s, s:o, s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
		                 "kpi", k->id, "journey", jstr(j >= 0 ? p->journeys[j].id : NULL),
		                 "label", label, "gating", k->gating && k->kind != SR_KIND_MONITOR,
		                 "status", sr_status_name(c->status), "canary", jnum(c->canary),
		                 "control", jnum(c->control), "limit", jnum(c->limit), "samples",
		                 jnum(c->samples), "age_s",
		                 c->age >= 0 ? json_real((double)c->age / 1000.0) : json_null(),
		                 "reason", engine_cell_reason(&r->engine, i), "breach_s",
		                 json_real((double)b / 1000.0)));
		json_object_set_new(json_array_get(a, json_array_size(a) - 1), "evidence",
		                    report_evidence_cell_json(&r->engine, i));
	}
	return a;
}

static json_t *json_triggers(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int t = 0; t < p->ntriggers; t++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id", p->triggers[t].id,
		                                   "name", p->triggers[t].name, "state",
		                                   trigger_state_name(r->engine.triggers[t].state),
		                                   "reason", r->engine.triggers[t].reason));
	return a;
}

static json_t *json_approvals(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int g = 0; g < p->ngates; g++) {
		const struct sr_gate_record *rec = &r->engine.ro.gates[g];
		json_t *by = json_array();
		for (int i = 0; i < rec->napprovals; i++)
			json_array_append_new(by, json_string(rec->approvals[i].who));
		json_array_append_new(a, json_pack("{s:s, s:i, s:b, s:o, s:s}", "gate",
		                                   p->gates[g].name, "needed",
		                                   p->gates[g].approvals_needed, "pre_approved",
		                                   p->gates[g].pre_approved, "by", by, "outcome",
		                                   gate_outcome_name(rec->outcome)));
	}
	return a;
}

static json_t *json_success(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *crit = json_array();
	for (int c = 0; c < p->ncriteria; c++) {
		char t[SR_TEXT_LEN];
		sr_ms since = r->engine.criterion_since[c];
		bool met = since != 0 && r->now - since >= p->criteria[c].sustain_ms;
		engine_criterion_text(&r->engine, c, r->now, t, sizeof t);
		json_array_append_new(crit, json_pack("{s:s, s:b, s:s}", "id", p->criteria[c].id,
		                                      "met", met, "text", t));
	}
	return json_pack("{s:b, s:b, s:o}", "ready", r->engine.success_ready, "declared",
	                 r->engine.ro.success, "criteria", crit);
}

static json_t *json_preflight(const struct sr_runner *r)
{
	json_t *a = json_array();
	int ci = 0;
	const struct sr_checklist *cl = preflight_list(r->policy, &ci);
	for (int i = 0; cl && i < cl->nitems; i++)
		if (cl->items[i].required && !r->engine.ro.ticks[ci][i].done)
			json_array_append_new(a, json_string(cl->items[i].id));
	return a;
}

static json_t *json_next_gate(const struct sr_runner *r)
{
	sr_ms due = 0;
	int g = rollout_next_gate(&r->engine.ro, r->policy, &due);
	if (g < 0)
		return json_null();
	return json_pack("{s:s, s:I}", "name", r->policy->gates[g].name, "due_in_s",
	                 (json_int_t)((due - r->now) / SR_MS_PER_S));
}

void status_print_json(FILE *out, const struct sr_runner *r, const char *store)
{
	const struct sr_policy *p = r->policy;
	const struct sr_decision *d = &r->engine.decision;
	char hash[24], now[32], wall[24];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)p->hash);
	fmt_iso(r->now, now, sizeof now);
	calendar_fmt(&p->calendar, r->now, wall, sizeof wall);
	json_t *reasons = json_array();
	for (int i = 0; i < d->nreasons && i < SR_MAX_REASONS; i++)
		json_array_append_new(reasons, json_string(d->reasons[i]));

	json_t *o = json_object();
	json_object_set_new(o, "rollout", json_string(p->rollout));
	json_object_set_new(o, "policy_hash", json_string(hash));
	json_object_set_new(o, "scenario", jstr(r->scenario ? r->scenario->name : NULL));
	json_object_set_new(o, "read_only", json_boolean(r->read_only));
	if (store && store[0])
		json_object_set_new(o, "store", json_string(store));
	json_object_set_new(o, "now", json_string(now));
	json_object_set_new(o, "now_ms", json_integer((json_int_t)r->now));
	json_object_set_new(o, "wall_clock", json_string(wall));
	json_object_set_new(o, "t_rel_min", json_integer((json_int_t)t_rel_min(r)));
	json_object_set_new(o, "phase", jstr(phase_name(r)));
	json_object_set_new(o, "weight", json_integer(r->engine.ro.weight));
	json_object_set_new(
	    o, "state", json_string(rollout_state_name(rollout_state(&r->engine.ro, p, r->now))));
	json_object_set_new(o, "next_gate", json_next_gate(r));
	json_object_set_new(
	    o, "decision",
	    json_pack("{s:s, s:o}", "verdict", sr_verdict_name(d->verdict), "reasons", reasons));
	json_object_set_new(o, "cells", json_cells(r));
	json_object_set_new(o, "triggers", json_triggers(r));
	json_object_set_new(o, "preflight_open", json_preflight(r));
	json_object_set_new(o, "approvals", json_approvals(r));
	json_object_set_new(o, "success", json_success(r));
	/* Keys in insertion order, so the output reads like the text form. */
	json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	fputc('\n', out);
	json_decref(o);
}
