/* tiles.c - the journey tiles: one per user journey.
 *
 * Each tile answers "is this journey healthy on the canary?": P95 and
 * P99 (and P50 when the policy has such a KPI) for canary and control,
 * this phase's limit, a P95 sparkline coloured point by point by its
 * status, and the status as a glyph, a word and a colour, with the
 * breach timer while one runs ("X RED 3m12s/5m"). The tile's status is
 * the worst of the journey's cells, so a cache-hit breach on a read-heavy
 * journey shows here too.
 *
 * Two shapes: one table row per journey at 80 columns, boxed tiles with
 * more room on larger terminals (layout.c decides).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

static const double quantiles[] = {0.50, 0.95, 0.99};
static const char *const qnames[] = {"P50", "P95", "P99"};
#define NQ 3

/* Row-mode columns (80 columns: see LAYOUT_ROW_FIXED_W). Every number is
 * right-aligned in VAL_W columns under its heading: the canary's P50,
 * P95 and P99 (in the colour of the cell's status), each followed by the
 * control's ("ctl") and, for P95, this phase's limit ("lim"):
 *
 *   Journey             P50  ctl   P95  ctl  lim   P99  ctl   Status
 * > Scholarship search   61   61    93   93  130   100  100   ok GREEN
 */
#define COL_NAME 2
#define W_NAME 18
#define VAL_W 5
#define COL_P50 20
#define COL_P95 31
#define COL_P99 47
#define COL_TREND LAYOUT_ROW_FIXED_W

static void num_ms(char *buf, size_t n, double v)
{
	if (isfinite(v))
		tui_fmt(buf, n, "%.0f", v);
	else
		tui_fmt(buf, n, "--");
}

/* Right-aligned text ending at column x+w. */
static void put_right(int y, int x, int w, enum tui_role role, const char *s)
{
	int sw = text_width(s);
	if (sw > w)
		sw = w;
	term_put(y, x + w - sw, sw, role, s);
}

/* The sparkline of a cell's canary, newest at the right, each point in
 * the colour of its status. */
static void sparkline(const struct tui *t, int y, int x, int w, int cell)
{
	float v[256];
	enum sr_status st[256];
	if (w > 256)
		w = 256;
	if (cell < 0 || w <= 0)
		return;
	float lo = INFINITY, hi = -INFINITY;
	int n = 0;
	for (int i = w - 1; i >= 0; i--) {
		float can, ctl, lim;
		enum sr_status s;
		if (!history_point(&t->r->history, cell, i, &can, &ctl, &lim, &s)) {
			v[n] = NAN;
			st[n++] = SR_NODATA;
			continue;
		}
		v[n] = can;
		st[n++] = s;
		if (isfinite(can)) {
			lo = can < lo ? can : lo;
			hi = can > hi ? can : hi;
		}
	}
	if (!isfinite(lo))
		return;
	/* For a maximum, a full bar means "at the limit": the scale runs
	 * from half the limit to the limit, so a healthy journey reads low
	 * and calm and one creeping up reads as creeping up. */
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[cell].kpi];
	float limit = (float)t->r->engine.cells[cell].limit;
	if (k->kind == SR_KIND_MAX && isfinite(limit) && limit > 0) {
		hi = hi > limit ? hi : limit;
		lo = lo < limit * 0.5f ? lo : limit * 0.5f;
	}
	/* A flat line would show as the lowest bar; give it a middle. */
	if (hi - lo < 1e-6f) {
		lo -= 1;
		hi += 1;
	}
	for (int i = 0; i < n; i++)
		term_put(y, x + i, 1, isfinite(v[i]) ? theme_status_role(st[i]) : TR_DIM,
		         spark_glyph(v[i], lo, hi, t->utf8));
}

static void status_cell(const struct tui *t, int journey, char *buf, size_t n, enum sr_status *st)
{
	int worst = tui_journey_worst_cell(t->r, journey);
	*st = worst >= 0 ? t->r->engine.cells[worst].status : SR_NODATA;
	char s[64];
	tui_status_text(t, worst, *st, s, sizeof s);
	tui_fmt(buf, n, "%s %s", sr_status_glyph(*st), s);
}

/* One value column: right-aligned, "--" when unknown. */
static void value_col(int y, int x, double v, enum tui_role role)
{
	char b[16];
	num_ms(b, sizeof b, v);
	put_right(y, x, VAL_W, role, b);
}

/* After the status, when a test of the journey's cells says "worse"
 * (evidence.h): " worse r1.6" in red, the first such cell; the detail
 * view has the whole line. Nothing when it does not fit. */
static void evidence_tag(const struct tui *t, int journey, int y, int x, int w)
{
	const struct sr_policy *p = t->p;
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_evidence *ev = &t->r->engine.evidence[c];
		if (p->cells[c].journey != journey || ev->state != SR_EVS_WORSE)
			continue;
		struct sr_evidence_view v;
		evidence_view(ev, &p->kpis[p->cells[c].kpi].evidence, &v);
		char tag[32];
		tui_fmt(tag, sizeof tag, isfinite(v.r_hat) ? " worse r%.1f" : " worse", v.r_hat);
		if (text_width(tag) <= w)
			term_put(y, x, w, theme_status_role(SR_RED), tag);
		return;
	}
}

/* The worst status of each journey's cells, in one pass over the cells
 * (hundreds of journeys: never a pass per journey); NODATA for a journey
 * without cells, as its row says (status_cell). */
static void journey_worst(const struct tui *t, unsigned char *worst)
{
	const struct sr_policy *p = t->p;
	bool any[SR_MAX_JOURNEYS] = {false};
	memset(worst, SR_GREEN, (size_t)p->njourneys);
	for (int c = 0; c < p->ncells; c++) {
		int j = p->cells[c].journey;
		enum sr_status st = t->r->engine.cells[c].status;
		if (j < 0 || j >= p->njourneys)
			continue;
		any[j] = true;
		if (st > (enum sr_status)worst[j])
			worst[j] = (unsigned char)st;
	}
	for (int j = 0; j < p->njourneys; j++)
		if (!any[j])
			worst[j] = SR_NODATA;
}

/* The journeys the rows show, in order: all of them in the policy's
 * order when they fit; else (layout.h: tile_more) the worst first, ties
 * in the policy's order, and the selected journey always among them (on
 * the last row when it would not be), so moving the selection reaches
 * every journey. Returns the number of rows. */
static int rows_order(const struct tui *t, int *order)
{
	const struct sr_policy *p = t->p;
	int n = p->njourneys;
	if (t->lay.tile_more <= 0) {
		for (int j = 0; j < n; j++)
			order[j] = j;
		return n;
	}
	unsigned char worst[SR_MAX_JOURNEYS];
	journey_worst(t, worst);
	int shown = t->lay.tile_rows - 1, k = 0;
	bool sel_in = false;
	for (int st = SR_STATUS_COUNT - 1; st >= 0 && k < shown; st--)
		for (int j = 0; j < n && k < shown; j++)
			if (worst[j] == st) {
				order[k++] = j;
				sel_in |= j == t->sel_journey;
			}
	if (!sel_in && k > 0 && t->sel_journey >= 0 && t->sel_journey < n)
		order[k - 1] = t->sel_journey;
	return k;
}

/* The last row when not every journey has one: how many others, and how
 * they stand, worst first ("+ 493 more: 2 RED, 491 GREEN"). */
static void more_row(const struct tui *t, const int *order, int nrows, int y, int w)
{
	const struct sr_policy *p = t->p;
	unsigned char worst[SR_MAX_JOURNEYS];
	bool shown[SR_MAX_JOURNEYS] = {false};
	int count[SR_STATUS_COUNT] = {0};
	journey_worst(t, worst);
	for (int i = 0; i < nrows; i++)
		shown[order[i]] = true;
	int others = 0;
	for (int j = 0; j < p->njourneys; j++)
		if (!shown[j]) {
			count[worst[j]]++;
			others++;
		}
	char line[160];
	int o = tui_fmt(line, sizeof line, "+ %d more journeys:", others);
	enum sr_status top = SR_GREEN;
	for (int st = SR_STATUS_COUNT - 1; st >= 0; st--) {
		if (!count[st] || o >= (int)sizeof line)
			continue;
		if (top == SR_GREEN)
			top = (enum sr_status)st;
		o += tui_fmt(line + o, sizeof line - (size_t)o, " %d %s", count[st],
		             sr_status_name((enum sr_status)st));
	}
	if (o < (int)sizeof line)
		tui_fmt(line + o, sizeof line - (size_t)o, "  (j/k select, 2 KPIs, / filter)");
	term_put(y, COL_NAME, w - COL_NAME, theme_status_role(top), line);
}

static void tiles_rows(struct tui *t)
{
	struct tui_rect a = t->lay.tiles;
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	int sw = t->lay.spark_w;
	int col_status = sw > 0 ? COL_TREND + sw + 1 : COL_TREND;
	static const int qcol[NQ] = {COL_P50, COL_P95, COL_P99};
	term_fill(a.y, 0, a.h, a.w, TR_NORMAL);
	term_put(a.y, COL_NAME, W_NAME, TR_TITLE, "Journey");
	for (int q = 0; q < NQ; q++) {
		put_right(a.y, qcol[q], VAL_W, TR_TITLE, qnames[q]);
		put_right(a.y, qcol[q] + VAL_W, VAL_W, TR_DIM, "ctl");
	}
	put_right(a.y, COL_P95 + 2 * VAL_W, VAL_W, TR_DIM, "lim");
	if (sw > 0)
		term_put(a.y, COL_TREND, sw, TR_TITLE, "P95 trend");
	term_put(a.y, col_status, a.w - col_status, TR_TITLE, "Status");
	int order[SR_MAX_JOURNEYS];
	int nrows = rows_order(t, order);
	for (int i = 0; i < nrows && i + 1 < a.h; i++) {
		int j = order[i], y = a.y + 1 + i;
		bool sel = t->view == VIEW_MAIN && j == t->sel_journey;
		enum tui_role base = sel ? TR_SELECTED : TR_NORMAL;
		char st[64];
		enum sr_status s;
		if (sel)
			term_fill(y, 0, 1, COL_TREND - 1, TR_SELECTED);
		term_put(y, 0, 1, base, sel ? ">" : " ");
		term_put(y, COL_NAME, W_NAME, base, p->journeys[j].name);
		int c95 = -1;
		for (int q = 0; q < NQ; q++) {
			int c = tui_latency_cell(p, j, quantiles[q]);
			if (q == 1)
				c95 = c;
			const struct sr_cell_state *cs = c >= 0 ? &e->cells[c] : NULL;
			value_col(y, qcol[q], cs ? cs->canary : NAN,
			          cs ? theme_status_role(cs->status) : TR_DIM);
			value_col(y, qcol[q] + VAL_W, cs ? cs->control : NAN, base);
			if (q == 1)
				value_col(y, qcol[q] + 2 * VAL_W, cs ? cs->limit : NAN,
				          sel ? base : TR_DIM);
		}
		if (sw > 0)
			sparkline(t, y, COL_TREND, sw, c95);
		status_cell(t, j, st, sizeof st, &s);
		int sx = col_status +
		         term_put(y, col_status, a.w - col_status, theme_status_role(s), st);
		evidence_tag(t, j, y, sx, a.w - sx);
	}
	if (t->lay.tile_more > 0 && nrows + 1 < a.h)
		more_row(t, order, nrows, a.y + 1 + nrows, a.w);
}

static void tile_box(struct tui *t, int j, int y, int x, int w, int h)
{
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	bool sel = t->view == VIEW_MAIN && j == t->sel_journey;
	char st[64], title[SR_TITLE_LEN + 4];
	enum sr_status s;
	status_cell(t, j, st, sizeof st, &s);
	tui_fmt(title, sizeof title, "%s%s", sel ? "> " : "", p->journeys[j].name);
	/* Status in the top border, right-aligned: " X RED 3m12s/5m ". The
	 * name gives way to it, never the other way round: a RED tile whose
	 * long name hid its status read as nothing wrong. */
	int stw = text_width(st) + 2;
	int room = w - 6 - stw - 1; /* the title's columns beside the status */
	if (text_width(title) > room && room >= 4) {
		int cols;
		size_t keep = text_fit(title, room - 1, &cols);
		tui_fmt(title + keep, sizeof title - keep, "%s", glyphs(t->utf8)->ellipsis);
	}
	term_box(y, x, h, w, sel ? TR_KEY : TR_BORDER, title, sel ? TR_SELECTED : TR_TITLE);
	if (stw < w - 6 - text_width(title)) {
		term_put(y, x + w - stw - 2, 1, TR_BORDER, " ");
		term_put(y, x + w - stw - 1, stw - 2, theme_status_role(s), st);
		term_put(y, x + w - 3, 1, TR_BORDER, " ");
	}
	int in_x = x + 2, in_w = w - 4, row = y + 1;
	term_fill(y + 1, x + 1, h - 2, w - 2, TR_NORMAL);
	int cells[NQ], nq = 0;
	for (int q = 0; q < NQ; q++)
		if ((cells[q] = tui_latency_cell(p, j, quantiles[q])) >= 0)
			nq++;
	/* The column heading only when every quantile row still fits. */
	if (nq + 2 <= h - 2) {
		put_right(row, in_x + 4, 9, TR_DIM, "canary");
		put_right(row, in_x + 13, 9, TR_DIM, "control");
		put_right(row, in_x + 22, 9, TR_DIM, "limit");
		if (in_w >= 44)
			term_put(row, in_x + 33, in_w - 33, TR_DIM, "samples");
		row++;
	}
	int c95 = -1;
	for (int q = 0; q < NQ && row < y + h - 2; q++) {
		int c = cells[q];
		if (c < 0)
			continue;
		if (q == 1)
			c95 = c;
		const struct sr_cell_state *cs = &e->cells[c];
		char v1[16], v2[16], v3[24];
		fmt_value(v1, sizeof v1, cs->canary, "ms");
		fmt_value(v2, sizeof v2, cs->control, "ms");
		tui_cell_target(t, c, v3, sizeof v3);
		term_put(row, in_x, 4, TR_TITLE, qnames[q]);
		put_right(row, in_x + 4, 9, theme_status_role(cs->status), v1);
		put_right(row, in_x + 13, 9, TR_NORMAL, v2);
		put_right(row, in_x + 22, 9, TR_DIM, v3);
		if (in_w >= 44 && isfinite(cs->samples))
			term_putf(row, in_x + 33, in_w - 33, TR_DIM, "%.0f", cs->samples);
		row++;
	}
	if (c95 < 0)
		c95 = tui_journey_worst_cell(t->r, j);
	/* The P95 evidence test, when a row is left above the trend. */
	if (c95 >= 0 && row < y + h - 2 && p->kpis[p->cells[c95].kpi].evidence.enabled) {
		char line[SR_REASON_LEN];
		const struct sr_evidence *ev = &e->evidence[c95];
		evidence_format(ev, &p->kpis[p->cells[c95].kpi].evidence, true, line, sizeof line);
		term_put(row, in_x, 3, TR_DIM, "ev");
		term_put(row, in_x + 3, in_w - 3,
		         ev->state == SR_EVS_WORSE ? theme_status_role(SR_RED) : TR_DIM, line);
	}
	/* Last inner row: the P95 trend over the last in_w-10 minutes. */
	int sy = y + h - 2;
	term_put(sy, in_x, 6, TR_DIM, "trend");
	sparkline(t, sy, in_x + 6, in_w - 6, c95);
}

static void tiles_boxes(struct tui *t)
{
	struct tui_rect a = t->lay.tiles;
	const struct tui_layout *l = &t->lay;
	for (int j = 0; j < t->p->njourneys; j++) {
		int r = j / l->tile_cols, c = j % l->tile_cols;
		if (r >= l->tile_rows)
			break;
		int x = c * l->tile_w;
		int w = c == l->tile_cols - 1 ? a.w - x : l->tile_w;
		tile_box(t, j, a.y + r * l->tile_h, x, w, l->tile_h);
	}
}

void tiles_draw(struct tui *t)
{
	if (t->lay.tiles.h <= 0)
		return;
	if (t->lay.tile_mode == TILES_ROWS)
		tiles_rows(t);
	else
		tiles_boxes(t);
}
