/* detail.c - the detail view of a journey or a KPI cell (enter).
 *
 * Everything behind one status: the reason the engine gave, canary,
 * control and baseline values, the deviation, the limit in force, the
 * samples, the data age, the breach timer, the directive's note; and a
 * chart of canary against control over time with the limit drawn, in
 * braille (UTF-8), half blocks, or ASCII ('c' switches). A gap in the
 * data stays a gap in the chart. For a journey, its other cells are
 * listed under the chart; tab/arrows step through them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

#define AXIS_W 9

static enum tui_role ink_role(unsigned char ink)
{
	switch (ink) {
	case INK_CANARY: return TR_CANARY;
	case INK_CONTROL: return TR_CONTROL;
	case INK_LIMIT: return TR_LIMIT;
	default: return TR_NORMAL;
	}
}

static void chart_draw(struct tui *t, int cell, int y, int x, int w, int h)
{
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	int xr, yr;
	chart_resolution(t->chart, &xr, &yr);
	int cw = w - AXIS_W;
	if (cw < 4 || h < 2)
		return;
	int n = cw * xr;
	if (n > SR_HIST_LEN)
		n = SR_HIST_LEN;
	float *can = calloc((size_t)n, sizeof *can), *ctl = calloc((size_t)n, sizeof *ctl),
	      *lim = calloc((size_t)n, sizeof *lim);
	struct chart_cell *cells = calloc((size_t)cw * (size_t)h, sizeof *cells);
	if (!can || !ctl || !lim || !cells)
		goto out;
	int have = 0;
	for (int i = n - 1; i >= 0; i--) {
		enum sr_status st;
		int at = n - 1 - i;
		if (history_point(&t->r->history, cell, i, &can[at], &ctl[at], &lim[at], &st)) {
			have++;
		} else {
			can[at] = ctl[at] = lim[at] = NAN;
		}
	}
	/* vs_* limits are tolerances in %, not values: no limit line. */
	bool draw_limit = k->kind == SR_KIND_MAX || k->kind == SR_KIND_MIN ||
	                  k->kind == SR_KIND_RATIO_MIN || k->kind == SR_KIND_STREAK;
	const float *series[3] = {can, ctl, draw_limit ? lim : NULL};
	float lo, hi;
	chart_range(series, 3, n, &lo, &hi);
	chart_plot(cells, cw, h, t->chart, can, ctl, draw_limit ? lim : NULL, n, lo, hi);
	for (int r = 0; r < h; r++)
		for (int c = 0; c < cw; c++) {
			const struct chart_cell *cc = &cells[r * cw + c];
			if (cc->ink != INK_NONE)
				term_put(y + r, x + AXIS_W + c, 1, ink_role(cc->ink), cc->g);
		}
	/* The value axis: top, bottom, and the limit where it is. */
	char v[24];
	fmt_value(v, sizeof v, hi, k->unit);
	term_putf(y, x, AXIS_W - 1, TR_DIM, "%*s", AXIS_W - 2, v);
	fmt_value(v, sizeof v, lo, k->unit);
	term_putf(y + h - 1, x, AXIS_W - 1, TR_DIM, "%*s", AXIS_W - 2, v);
	for (int i = n - 1; draw_limit && i >= 0; i--) {
		if (!isfinite(lim[i]))
			continue;
		int row = (int)lroundf((1.0f - (lim[i] - lo) / (hi - lo)) * (float)(h * yr - 1)) /
		          yr;
		if (row > 0 && row < h - 1) {
			fmt_value(v, sizeof v, lim[i], k->unit);
			term_putf(y + row, x, AXIS_W - 1, TR_LIMIT, "%*s", AXIS_W - 2, v);
		}
		break;
	}
	for (int r = 0; r < h; r++)
		term_put(y + r, x + AXIS_W - 1, 1, TR_BORDER, glyphs(t->utf8)->v);
	/* The time axis under it. */
	char left[32];
	sr_fmt_duration(left, sizeof left, (sr_ms)(n > have ? have : n) * t->r->history.step);
	term_putf(y + h, x + AXIS_W, cw, TR_DIM, "-%s", have ? left : "0s");
	term_put(y + h, x + w - 4, 3, TR_DIM, "now");
	if (!have)
		term_put(y + h / 2, x + AXIS_W + 2, cw - 4, TR_DIM, "no history yet");
out:
	free(can);
	free(ctl);
	free(lim);
	free(cells);
}

/* The engine's number format (as `shiproom status` prints it), with
 * "--" for a value that is not there. */
static void value_text(const struct sr_kpi *k, double v, char *buf, size_t n)
{
	if (isfinite(v))
		engine_fmt_value(k, v, buf, n);
	else
		tui_fmt(buf, n, "--");
}

static void numbers(struct tui *t, int cell, int y, int w)
{
	const struct sr_cell_state *cs = &t->r->engine.cells[cell];
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	char a[32], b[32], c[32], tg[32], age[24], line[SR_TEXT_LEN * 2];
	value_text(k, cs->canary, a, sizeof a);
	value_text(k, cs->control, b, sizeof b);
	value_text(k, cs->baseline, c, sizeof c);
	tui_cell_target(t, cell, tg, sizeof tg);
	if (cs->age >= 0)
		sr_fmt_duration(age, sizeof age, cs->age);
	else
		tui_fmt(age, sizeof age, "never fetched");
	int x = 1;
	x += term_put(y, x, w - x, TR_NORMAL, "canary ");
	x += term_put(y, x, w - x, TR_CANARY, a);
	x += term_put(y, x, w - x, TR_NORMAL, "  control ");
	x += term_put(y, x, w - x, TR_CONTROL, b);
	if (isfinite(cs->baseline) && k->kind == SR_KIND_VS_BASELINE)
		x += term_putf(y, x, w - x, TR_NORMAL, "  baseline %s", c);
	if (isfinite(cs->deviation_pct))
		x += term_putf(y, x, w - x, TR_NORMAL, "  deviation %+.2f%%", cs->deviation_pct);
	x += term_put(y, x, w - x, TR_NORMAL, "  target ");
	x += term_put(y, x, w - x, TR_LIMIT, tg);
	if (isfinite(cs->samples))
		tui_fmt(line, sizeof line, "samples %.0f (min %.0f)   data age %s   %s",
		        cs->samples, k->min_samples, age,
		        k->gating ? "gating" : "monitor only (never gates)");
	else
		tui_fmt(line, sizeof line, "samples --   data age %s   %s", age,
		        k->gating ? "gating" : "monitor only (never gates)");
	term_put(y + 1, 1, w - 2, TR_DIM, line);
}

/* "evidence  WORSE >1.2x p<=0.01 r 1.6 [1.2-2.4] 412 ev  (display only)":
 * returns the rows used (0 when the KPI has no test). */
static int evidence_line(struct tui *t, int cell, int y, int w)
{
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	const struct sr_evidence *ev = &t->r->engine.evidence[cell];
	if (!k->evidence.enabled)
		return 0;
	char line[SR_REASON_LEN];
	evidence_format(ev, &k->evidence, false, line, sizeof line);
	int x = 1 + term_put(y, 1, w - 2, TR_DIM, "evidence ");
	enum tui_role role = ev->state == SR_EVS_WORSE     ? theme_status_role(SR_RED)
	                     : ev->state == SR_EVS_NOWORSE ? theme_status_role(SR_GREEN)
	                                                   : TR_NORMAL;
	x += term_put(y, x, w - x - 1, role, line);
	term_putf(y, x, w - x - 1, TR_DIM, "  (%s)",
	          k->evidence.action == SR_EVID_DISPLAY ? "display only"
	          : k->evidence.action == SR_EVID_HOLD  ? "holds when worse"
	                                                : "rolls back when worse");
	return 1;
}

static void journey_table(struct tui *t, int y, int h, int w)
{
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	term_putf(y++, 1, w - 2, TR_TITLE, "%s: every check   tab/arrows step through them",
	          p->journeys[t->detail_journey].name);
	for (int c = 0; c < p->ncells && h > 1; c++) {
		if (p->cells[c].journey != t->detail_journey)
			continue;
		const struct sr_cell_state *cs = &e->cells[c];
		bool cur = c == t->detail_cell;
		char label[SR_TITLE_LEN], st[48], v[24], tg[24];
		engine_cell_label(e, c, label, sizeof label);
		tui_status_text(t, c, cs->status, st, sizeof st);
		tui_cell_value(t, c, v, sizeof v);
		tui_cell_target(t, c, tg, sizeof tg);
		term_put(y, 1, 2, cur ? TR_SELECTED : TR_NORMAL, cur ? ">" : " ");
		term_putf(y, 3, 18, theme_status_role(cs->status), "%s %s",
		          sr_status_glyph(cs->status), st);
		term_put(y, 22, 28, cur ? TR_SELECTED : TR_NORMAL, label);
		term_putf(y, 51, 10, theme_status_role(cs->status), "%9s", v);
		term_putf(y, 62, 10, TR_DIM, "%9s", tg);
		y++;
		h--;
	}
}

void detail_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	int cell = t->detail_cell;
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	if (cell < 0 || cell >= t->p->ncells)
		return;
	const struct sr_engine *e = &t->r->engine;
	const struct sr_cell_state *cs = &e->cells[cell];
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	char label[SR_TITLE_LEN], st[64];
	engine_cell_label(e, cell, label, sizeof label);
	tui_status_text(t, cell, cs->status, st, sizeof st);
	int x = 1 + term_putf(b.y, 1, b.w - 2, TR_TITLE, "%s  (%s)  ", label, k->name);
	term_putf(b.y, x, b.w - x - 1, theme_status_role(cs->status), "%s %s",
	          sr_status_glyph(cs->status), st);
	term_put(b.y + 1, 1, b.w - 2, theme_status_role(cs->status), engine_cell_reason(e, cell));
	numbers(t, cell, b.y + 2, b.w);
	/* The evidence test of canary against control (evidence.h), when the
	 * KPI has one: one more line, taken from the chart. */
	int ev_rows = evidence_line(t, cell, b.y + 4, b.w);
	term_put(b.y + 4 + ev_rows, 1, b.w - 2, TR_DIM, k->note);
	/* Legend. */
	int ly = b.y + 5 + ev_rows;
	x = 1;
	x += term_put(ly, x, 20, TR_CANARY, "canary");
	x += term_put(ly, x, 4, TR_DIM, "  ");
	x += term_put(ly, x, 20, TR_CONTROL, "control");
	x += term_put(ly, x, 4, TR_DIM, "  ");
	x += term_put(ly, x, 20, TR_LIMIT, "limit");
	term_putf(ly, x, b.w - x - 1, TR_DIM, "   one point per %lldmin, newest right   c: %s",
	          (long long)(t->r->history.step / SR_MS_PER_MIN), chart_style_name(t->chart));
	int table_h = 0;
	if (t->detail_journey >= 0) {
		int n = 0;
		for (int c = 0; c < t->p->ncells; c++)
			n += t->p->cells[c].journey == t->detail_journey;
		table_h = n + 2;
		if (b.h - 7 - ev_rows - table_h < 6)
			table_h = 0; /* the chart first */
	}
	int ch = b.h - 7 - ev_rows - table_h;
	chart_draw(t, cell, b.y + 6 + ev_rows, 0, b.w - 1, ch);
	if (table_h)
		journey_table(t, b.y + 7 + ev_rows + ch + 1, table_h - 1, b.w);
}
