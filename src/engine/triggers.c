/* triggers.c - the directive's rollback triggers.
 *
 * Two kinds, both from the policy:
 *   SUSTAINED  any gating cell RED for for_ms (the breach clock of
 *              evaluate.c: a data gap pauses it, a good value resets it);
 *   THRESHOLD  a fresh canary value of one of the trigger's KPIs beyond
 *              the threshold, strictly (P95 > 160 ms; > 5 failures).
 *
 * A trigger that fires latches: it stays FIRING until a rollback is
 * recorded. Rollback is the Release DRI's call, and the alarm must not
 * vanish from the console because the next sample happened to be good.
 */
#include "shiproom/engine.h"

#include <math.h>
#include <stdio.h>

const char *trigger_state_name(enum sr_trig_state s)
{
	switch (s) {
	case SR_TRIG_ARMED: return "armed";
	case SR_TRIG_PENDING: return "pending";
	case SR_TRIG_FIRING: return "firing";
	}
	return "?";
}

struct verdict {
	enum sr_trig_state state;
	int cell;
	sr_ms progress;
	double value;
	char reason[SR_REASON_LEN];
};

static void sustained_eval(const struct sr_engine *e, const struct sr_trigger *t, sr_ms now,
                           struct verdict *v)
{
	const struct sr_policy *p = e->policy;
	int worst = -1;
	sr_ms longest = -1;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		const struct sr_cell_state *c = &e->cells[i];
		if (!k->gating || !c->breaching)
			continue;
		sr_ms b = cell_breach_ms(c);
		if (b > longest) {
			longest = b;
			worst = i;
		}
	}
	v->cell = worst;
	v->progress = worst >= 0 ? longest : 0;
	v->value = NAN;
	if (worst < 0) {
		v->state = SR_TRIG_ARMED;
		engine_format(v->reason, sizeof v->reason, "no gating KPI RED");
		return;
	}
	char label[SR_TITLE_LEN], d[24], w[24], when[48];
	engine_cell_label(e, worst, label, sizeof label);
	sr_fmt_duration(d, sizeof d, longest);
	engine_fmt_window(t->for_ms, w, sizeof w);
	if (longest >= t->for_ms) {
		v->state = SR_TRIG_FIRING;
		v->value = (double)longest;
		engine_fmt_when(e, now, when, sizeof when);
		engine_format(v->reason, sizeof v->reason, "%s RED %s/%s at %s", label, d, w, when);
	} else {
		v->state = SR_TRIG_PENDING;
		engine_format(v->reason, sizeof v->reason, "%s RED %s/%s%s", label, d, w,
		              e->cells[worst].seg_open ? "" : " (interrupted by a data gap)");
	}
}

static bool crosses(const struct sr_trigger *t, double v)
{
	return t->above ? v > t->threshold : v < t->threshold;
}

static void threshold_eval(const struct sr_engine *e, const struct sr_trigger *t, sr_ms now,
                           struct verdict *v)
{
	const struct sr_policy *p = e->policy;
	int worst = -1;
	double wv = NAN;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &e->cells[i];
		bool watched = false;
		for (int j = 0; j < t->nkpis && !watched; j++)
			watched = t->kpis[j] == p->cells[i].kpi;
		/* Only a fresh value with enough samples may fire: a gap or a
		 * handful of requests is not evidence for a rollback. */
		if (!watched || !c->fresh || isnan(c->canary))
			continue;
		/* The cell already refuses infinities that are not values; this
		 * keeps the rule here too: +Inf may fire an "above" trigger
		 * (a P95 in the +Inf bucket), -Inf never fires anything. */
		if (isinf(c->canary) && !(t->above && c->canary > 0))
			continue;
		if (worst < 0 || (t->above ? c->canary > wv : c->canary < wv)) {
			worst = i;
			wv = c->canary;
		}
	}
	v->cell = worst;
	v->value = wv;
	v->progress = 0;
	const struct sr_kpi *k = worst >= 0 ? &p->kpis[p->cells[worst].kpi] : NULL;
	char label[SR_TITLE_LEN], val[32], thr[32], when[48];
	if (worst >= 0) {
		engine_cell_label(e, worst, label, sizeof label);
		engine_fmt_value(k, wv, val, sizeof val);
	}
	engine_fmt_value(k ? k : (t->nkpis > 0 ? &p->kpis[t->kpis[0]] : NULL), t->threshold, thr,
	                 sizeof thr);
	if (worst >= 0 && crosses(t, wv)) {
		v->state = SR_TRIG_FIRING;
		engine_fmt_when(e, now, when, sizeof when);
		engine_format(v->reason, sizeof v->reason, "%s %s %s %s at %s", label, val,
		              t->above ? ">" : "<", thr, when);
		return;
	}
	v->state = SR_TRIG_ARMED;
	if (worst >= 0)
		engine_format(v->reason, sizeof v->reason, "worst %s %s (fires %s %s)", label, val,
		              t->above ? "above" : "below", thr);
	else
		engine_format(v->reason, sizeof v->reason, "no fresh value to judge (fires %s %s)",
		              t->above ? "above" : "below", thr);
}

static void trigger_set(struct sr_engine *e, int ti, const struct verdict *v, sr_ms now)
{
	struct sr_trigger_state *ts = &e->triggers[ti];
	enum sr_trig_state from = ts->state;
	ts->state = v->state;
	ts->cell = v->cell;
	ts->progress = v->progress;
	ts->value = v->value;
	engine_format(ts->reason, sizeof ts->reason, "%s", v->reason);
	if (from != v->state) {
		ts->since = now;
		engine_emit(e, SR_EV_TRIGGER, ti, (int)from, (int)v->state, now, "%s %s: %s",
		            e->policy->triggers[ti].name, trigger_state_name(v->state), v->reason);
	}
}

void triggers_update(struct sr_engine *e, sr_ms now)
{
	const struct sr_policy *p = e->policy;
	for (int ti = 0; ti < p->ntriggers; ti++) {
		const struct sr_trigger *t = &p->triggers[ti];
		struct sr_trigger_state *ts = &e->triggers[ti];
		struct verdict v = {.state = SR_TRIG_ARMED, .cell = -1, .value = NAN};
		if (e->ro.rolled_back) {
			/* The rollback answered the alarm; the canary has no
			 * traffic left to judge. */
			if (ts->state == SR_TRIG_ARMED)
				continue;
			char when[48];
			engine_fmt_when(e, e->ro.rolled_back_at, when, sizeof when);
			engine_format(v.reason, sizeof v.reason, "cleared by the rollback at %s",
			              when);
			trigger_set(e, ti, &v, now);
			continue;
		}
		if (ts->state == SR_TRIG_FIRING)
			continue; /* latched until a rollback is recorded */
		if (e->ro.phase < 0) {
			engine_format(v.reason, sizeof v.reason,
			              "pre-flight: the canary is not deployed");
			trigger_set(e, ti, &v, now);
			continue;
		}
		if (t->kind == SR_TRIG_SUSTAINED)
			sustained_eval(e, t, now, &v);
		else
			threshold_eval(e, t, now, &v);
		trigger_set(e, ti, &v, now);
	}
}
