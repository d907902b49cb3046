/* model.c - look-ups the views share over the policy and the engine.
 *
 * Which cell is a journey's P95, which cell is a KPI's worst, how a
 * status reads with its breach timer ("RED 3m12s/5m"), a cell's compact
 * value and target. Read-only over the runner, like every view; kept in
 * one place so the tiles, the KPI groups and the detail view never
 * disagree about what a number means.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

int tui_latency_cell(const struct sr_policy *p, int journey, double q)
{
	int found = -1;
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_kpi *k = &p->kpis[p->cells[c].kpi];
		if (p->cells[c].journey != journey || k->signal != SR_SIG_LATENCY ||
		    fabs(k->quantile - q) > 0.001)
			continue;
		if (found < 0 || (k->gating && !p->kpis[p->cells[found].kpi].gating))
			found = c; /* a gating KPI is the one the tile is about */
	}
	return found;
}

/* Is cell a worse than cell b (status, then breach time)? */
static bool worse(const struct sr_engine *e, int a, int b)
{
	if (b < 0)
		return true;
	const struct sr_cell_state *x = &e->cells[a], *y = &e->cells[b];
	if (x->status != y->status)
		return x->status > y->status;
	return cell_breach_ms(x) > cell_breach_ms(y);
}

int tui_journey_worst_cell(const struct sr_runner *r, int journey)
{
	const struct sr_policy *p = r->policy;
	int best = -1;
	for (int c = 0; c < p->ncells; c++)
		if (p->cells[c].journey == journey && worse(&r->engine, c, best))
			best = c;
	return best;
}

int tui_kpi_worst_cell(const struct sr_runner *r, int kpi)
{
	const struct sr_policy *p = r->policy;
	int best = -1;
	for (int c = 0; c < p->ncells; c++)
		if (p->cells[c].kpi == kpi && worse(&r->engine, c, best))
			best = c;
	return best;
}

sr_ms tui_sustain_ms(const struct sr_policy *p)
{
	return engine_sustain_window(p);
}

void tui_status_text(const struct tui *t, int cell, enum sr_status st, char *buf, size_t n)
{
	const struct sr_cell_state *cs = cell >= 0 ? &t->r->engine.cells[cell] : NULL;
	char a[24], b[24];
	sr_ms window = tui_sustain_ms(t->p);
	if (cs && cs->breaching && window > 0 && t->p->kpis[t->p->cells[cell].kpi].gating) {
		/* The breach timer, like a Prometheus `for:` in progress. */
		sr_fmt_duration(a, sizeof a, cell_breach_ms(cs));
		engine_fmt_window(window, b, sizeof b);
		tui_fmt(buf, n, "%s %s/%s%s", sr_status_name(st), a, b,
		        cs->interrupted ? " gap" : "");
		return;
	}
	if (cs && (st == SR_STALE || st == SR_ERROR) && cs->age >= 0) {
		sr_fmt_duration(a, sizeof a,
		                cs->age + (t->now > t->r->now ? t->now - t->r->now : 0));
		tui_fmt(buf, n, "%s %s", sr_status_name(st), a);
		return;
	}
	tui_fmt(buf, n, "%s", sr_status_name(st));
}

void tui_cell_value(const struct tui *t, int cell, char *buf, size_t n)
{
	if (cell < 0) {
		tui_fmt(buf, n, "--");
		return;
	}
	const struct sr_cell_state *cs = &t->r->engine.cells[cell];
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	if ((k->kind == SR_KIND_VS_CONTROL || k->kind == SR_KIND_VS_BASELINE) &&
	    isfinite(cs->deviation_pct)) {
		tui_fmt(buf, n, "%+.1f%%", cs->deviation_pct);
		return;
	}
	fmt_value(buf, n, cs->canary, k->unit);
}

void tui_cell_target(const struct tui *t, int cell, char *buf, size_t n)
{
	if (cell < 0) {
		tui_fmt(buf, n, "--");
		return;
	}
	const struct sr_cell_state *cs = &t->r->engine.cells[cell];
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	const struct tui_glyphs *g = glyphs(t->utf8);
	double lim = isfinite(cs->limit)
	                 ? cs->limit
	                 : policy_kpi_limit(t->p, t->p->cells[cell].kpi, t->r->engine.ro.phase);
	char v[32];
	switch (k->kind) {
	case SR_KIND_MAX:
	case SR_KIND_STREAK:
		fmt_value(v, sizeof v, lim, k->unit);
		tui_fmt(buf, n, "%s%s", g->le, v);
		return;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN:
		fmt_value(v, sizeof v, lim, k->unit);
		tui_fmt(buf, n, "%s%s", g->ge, v);
		return;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE:
		if (k->direction == SR_DIR_UP)
			tui_fmt(buf, n, "%s+%g%%", g->le, lim);
		else if (k->direction == SR_DIR_DOWN)
			tui_fmt(buf, n, "%s-%g%%", g->ge, lim);
		else
			tui_fmt(buf, n, "%s%g%%", g->pm, lim);
		return;
	case SR_KIND_MONITOR: tui_fmt(buf, n, "watch"); return;
	}
	tui_fmt(buf, n, "?");
}

void tui_trel(const struct tui *t, sr_ms at, char *buf, size_t n)
{
	sr_fmt_trel(buf, n, at - t->r->engine.ro.t0);
}

const char *tui_actor(const struct tui *t)
{
	return t->r->owner;
}
