/* kpis.c - the KPI groups on the main view, and the KPI view (key 2).
 *
 * Main view: the directive's five groups (reliability, payments, B2C
 * funnel, B2B/provider, cost). At 80x24 each group gets one line: how
 * many of its KPIs are GREEN, then the KPIs worst first, each as glyph,
 * name, value and target, so what is cut off at the right edge is what
 * is healthy. On larger terminals every KPI gets its own line, groups in
 * newspaper columns (layout_pack).
 *
 * KPI view: every cell of the policy (a KPI for one journey, or a global
 * KPI), in group order, with canary, control/baseline, target, samples,
 * data age and status; enter opens its detail. '/' filters it: only the
 * cells whose label, KPI name or id, group or status contains the text.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

/* KPIs of a group in display order: worst first (status, then policy
 * order), each represented by its worst cell. */
static int group_kpis(const struct tui *t, int g, int *kpis, int *cells, int max)
{
	const struct sr_policy *p = t->p;
	int n = 0;
	for (int k = 0; k < p->nkpis && n < max; k++) {
		if (strcmp(p->kpis[k].group, p->groups[g].id) != 0)
			continue;
		int c = tui_kpi_worst_cell(t->r, k);
		if (c < 0)
			continue;
		kpis[n] = k;
		cells[n++] = c;
	}
	return n;
}

static void sort_worst_first(const struct tui *t, int *kpis, int *cells, int n)
{
	const struct sr_engine *e = &t->r->engine;
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && e->cells[cells[j]].status > e->cells[cells[j - 1]].status;
		     j--) {
			int a = kpis[j], b = cells[j];
			kpis[j] = kpis[j - 1];
			cells[j] = cells[j - 1];
			kpis[j - 1] = a;
			cells[j - 1] = b;
		}
	}
}

/* The KPI's name, or the worst cell's label for a per-journey KPI
 * ("search P95"), so the line says where the problem is; with the
 * breach timer while a sustained breach runs ("5xx error rate 2m30s/5m"). */
static void kpi_label(const struct tui *t, int k, int c, char *buf, size_t n)
{
	char name[SR_TITLE_LEN];
	if (t->p->kpis[k].njourneys > 0)
		engine_cell_label(&t->r->engine, c, name, sizeof name);
	else
		tui_fmt(name, sizeof name, "%s", t->p->kpis[k].name);
	const struct sr_cell_state *cs = &t->r->engine.cells[c];
	if (cs->status == SR_RED && cs->breaching) {
		char st[48];
		tui_status_text(t, c, cs->status, st, sizeof st);
		/* "RED 2m30s/5m" -> "2m30s/5m": the glyph already says RED. */
		const char *timer = strchr(st, ' ');
		tui_fmt(buf, n, "%s %s", name, timer ? timer + 1 : st);
		return;
	}
	tui_fmt(buf, n, "%s", name);
}

static int first_word(const char *s, char *buf, size_t n)
{
	size_t i = 0;
	while (s[i] && s[i] != ' ' && s[i] != '/' && i + 1 < n) {
		buf[i] = s[i];
		i++;
	}
	buf[i] = '\0';
	return (int)i;
}

/* First on a group's line, when an evidence test (evidence.h) of one of
 * its cells says "worse": "ev! 5xx error rate worse r1.7", so a
 * regression the fixed limits do not see is on the main screen. Returns
 * the columns used (with the gap after it). */
static int evidence_chip(const struct tui *t, int g, int y, int x, int w)
{
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_kpi *k = &p->kpis[p->cells[c].kpi];
		if (e->evidence[c].state != SR_EVS_WORSE || strcmp(k->group, p->groups[g].id) != 0)
			continue;
		struct sr_evidence_view v;
		evidence_view(&e->evidence[c], &k->evidence, &v);
		char label[SR_TITLE_LEN], chip[SR_TITLE_LEN + 32];
		engine_cell_label(e, c, label, sizeof label);
		tui_fmt(chip, sizeof chip,
		        isfinite(v.r_hat) ? "ev! %s worse r%.1f" : "ev! %s worse", label, v.r_hat);
		int cw = text_width(chip);
		if (cw > w)
			return 0;
		term_put(y, x, cw, theme_status_role(SR_RED), chip);
		return cw + 2;
	}
	return 0;
}

static void group_line(struct tui *t, int g, int y)
{
	int w = t->lay.w;
	int kpis[SR_MAX_KPIS], cells[SR_MAX_KPIS];
	int n = group_kpis(t, g, kpis, cells, SR_MAX_KPIS);
	sort_worst_first(t, kpis, cells, n);
	const struct sr_engine *e = &t->r->engine;
	int green = 0;
	for (int i = 0; i < n; i++)
		green += e->cells[cells[i]].status == SR_GREEN;
	char name[16], count[24];
	first_word(t->p->groups[g].name, name, sizeof name);
	term_put(y, 1, 11, TR_TITLE, name);
	enum sr_status worst = n > 0 ? e->cells[cells[0]].status : SR_NODATA;
	tui_fmt(count, sizeof count, "%s %d/%d", sr_status_glyph(worst), green, n);
	term_put(y, 13, 8, theme_status_role(worst), count);
	int x = 22 + evidence_chip(t, g, y, 22, w - 23);
	for (int i = 0; i < n; i++) {
		char label[SR_TITLE_LEN], v[24], tg[24], item[SR_TITLE_LEN + 64];
		enum sr_status s = e->cells[cells[i]].status;
		kpi_label(t, kpis[i], cells[i], label, sizeof label);
		tui_cell_value(t, cells[i], v, sizeof v);
		tui_cell_target(t, cells[i], tg, sizeof tg);
		tui_fmt(item, sizeof item, "%s %s %s%s%s", sr_status_glyph(s), label, v,
		        s == SR_GREEN ? "" : "/", s == SR_GREEN ? "" : tg);
		int iw = text_width(item);
		int rest = n - i - 1;
		/* Keep room for "+N" when more follow. */
		int reserve = rest > 0 ? 4 : 0;
		if (x + iw > w - 1 - reserve) {
			char more[16];
			tui_fmt(more, sizeof more, "+%d", n - i);
			term_put(y, w - 1 - text_width(more), 4, TR_DIM, more);
			break;
		}
		term_put(y, x, iw, s == SR_GREEN ? TR_DIM : theme_status_role(s), item);
		x += iw + 2;
	}
}

static void group_column(struct tui *t, int g, int y, int x, int w, int maxh)
{
	int kpis[SR_MAX_KPIS], cells[SR_MAX_KPIS];
	int n = group_kpis(t, g, kpis, cells, SR_MAX_KPIS);
	const struct sr_engine *e = &t->r->engine;
	int green = 0;
	enum sr_status worst = SR_GREEN;
	for (int i = 0; i < n; i++) {
		green += e->cells[cells[i]].status == SR_GREEN;
		if (e->cells[cells[i]].status > worst)
			worst = e->cells[cells[i]].status;
	}
	char count[24];
	tui_fmt(count, sizeof count, " %s %d/%d", sr_status_glyph(worst), green, n);
	int cw = text_width(count);
	term_put(y, x + 1, w - cw - 2, TR_TITLE, t->p->groups[g].name);
	term_put(y, x + w - cw - 1, cw, theme_status_role(worst), count);
	for (int i = 0; i < n && i + 1 < maxh; i++) {
		int yy = y + 1 + i;
		char label[SR_TITLE_LEN], v[24], tg[24];
		enum sr_status s = e->cells[cells[i]].status;
		kpi_label(t, kpis[i], cells[i], label, sizeof label);
		tui_cell_value(t, cells[i], v, sizeof v);
		tui_cell_target(t, cells[i], tg, sizeof tg);
		enum tui_role sr = theme_status_role(s);
		term_put(yy, x + 1, 3, sr, sr_status_glyph(s));
		int lw = w - 4 - 9 - 9 - 1;
		term_put(yy, x + 4, lw, TR_NORMAL, label);
		int vw = text_width(v), tw = text_width(tg);
		term_put(yy, x + 4 + lw + 8 - (vw < 8 ? vw : 8), 8, sr, v);
		term_put(yy, x + 4 + lw + 9 + 8 - (tw < 8 ? tw : 8), 8, TR_DIM, tg);
	}
}

void kpis_draw(struct tui *t)
{
	struct tui_rect a = t->lay.kpis;
	const struct tui_layout *l = &t->lay;
	if (a.h <= 0)
		return;
	term_fill(a.y, 0, a.h, a.w, TR_NORMAL);
	int ng = t->p->ngroups < LAYOUT_MAX_GROUPS ? t->p->ngroups : LAYOUT_MAX_GROUPS;
	if (l->kpi_mode == KPIS_LINES) {
		for (int g = 0; g < ng && g < a.h; g++)
			group_line(t, g, a.y + g);
		return;
	}
	for (int g = 0; g < ng; g++) {
		int x = l->group_col[g] * l->kpi_col_w;
		int w = l->group_col[g] == l->kpi_cols - 1 ? a.w - x : l->kpi_col_w;
		group_column(t, g, a.y + l->group_row[g], x, w, a.h - l->group_row[g]);
	}
}

/* ---- the KPI view -------------------------------------------------------- */

/* Does cell c pass the KPI view's filter? */
static bool cell_matches(const struct tui *t, int c, int g)
{
	const char *f = t->kpi_filter;
	if (!f[0])
		return true;
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[c].kpi];
	char label[SR_TITLE_LEN];
	engine_cell_label(&t->r->engine, c, label, sizeof label);
	return tui_match(label, f) || tui_match(k->name, f) || tui_match(k->id, f) ||
	       tui_match(t->p->groups[g].name, f) ||
	       tui_match(sr_status_name(t->r->engine.cells[c].status), f);
}

int kpis_view_order(const struct tui *t, int *cells, int max)
{
	const struct sr_policy *p = t->p;
	int n = 0;
	for (int g = 0; g < p->ngroups; g++)
		for (int k = 0; k < p->nkpis; k++) {
			if (strcmp(p->kpis[k].group, p->groups[g].id) != 0)
				continue;
			for (int c = 0; c < p->ncells && n < max; c++)
				if (p->cells[c].kpi == k && cell_matches(t, c, g))
					cells[n++] = c;
		}
	return n;
}

static int group_of_cell(const struct tui *t, int c)
{
	const struct sr_kpi *k = &t->p->kpis[t->p->cells[c].kpi];
	for (int g = 0; g < t->p->ngroups; g++)
		if (strcmp(k->group, t->p->groups[g].id) == 0)
			return g;
	return -1;
}

void kpis_view_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	int order[SR_MAX_CELLS];
	int n = kpis_view_order(t, order, SR_MAX_CELLS);
	const struct sr_engine *e = &t->r->engine;
	bool wide = b.w >= 110;
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	if (t->kpi_filter[0] || t->filter_edit == t->kpi_filter)
		term_putf(b.y, 1, b.w - 2, TR_KEY, "KPIs /%s/: %d of %d checks   %s", t->kpi_filter,
		          n, t->p->ncells, t->filter_edit ? "enter keep  esc clear" : "esc clears");
	else
		term_putf(
		    b.y, 1, b.w - 2, TR_TITLE,
		    "KPIs: %d checks (%d gating)   j/k move  enter detail  / filter  esc back", n,
		    engine_gating_count(e));
	int hy = b.y + 1;
	/* Columns: status, check, canary, control or baseline, target, age,
	 * and on wide terminals a longer check name and the reason. */
	int lw = wide ? 40 : 26, xc = 16 + lw + 1;
	term_put(hy, 1, 14, TR_DIM, "status");
	term_put(hy, 16, lw, TR_DIM, "check");
	term_put(hy, xc, 9, TR_DIM, "   canary");
	term_put(hy, xc + 10, 9, TR_DIM, " ctl/base");
	term_put(hy, xc + 20, 9, TR_DIM, "   target");
	term_put(hy, xc + 30, 6, TR_DIM, "   age");
	if (wide)
		term_put(hy, xc + 38, b.w - xc - 39, TR_DIM, "reason");
	/* Rows: a group title before each group's first cell. Scroll so the
	 * selection stays in view. */
	int rows = b.h - 2;
	int lines[SR_MAX_CELLS * 2], kind[SR_MAX_CELLS * 2], nl = 0, sel_line = 0, lastg = -2;
	for (int i = 0; i < n; i++) {
		int g = group_of_cell(t, order[i]);
		if (g != lastg) {
			lines[nl] = g;
			kind[nl++] = 0;
			lastg = g;
		}
		if (i == t->sel_cell)
			sel_line = nl;
		lines[nl] = i;
		kind[nl++] = 1;
	}
	int top = sel_line - rows / 2;
	if (top > nl - rows)
		top = nl - rows;
	if (top < 0)
		top = 0;
	for (int r = 0; r < rows && top + r < nl; r++) {
		int y = b.y + 2 + r, li = top + r;
		if (kind[li] == 0) {
			term_put(y, 1, b.w - 2, TR_TITLE,
			         lines[li] >= 0 ? t->p->groups[lines[li]].name : "(no group)");
			continue;
		}
		int c = order[lines[li]];
		const struct sr_cell_state *cs = &e->cells[c];
		const struct sr_kpi *k = &t->p->kpis[t->p->cells[c].kpi];
		bool sel = lines[li] == t->sel_cell;
		char st[48], label[SR_TITLE_LEN], v[24], base[24], tg[24], age[24];
		tui_status_text(t, c, cs->status, st, sizeof st);
		char sx[64];
		tui_fmt(sx, sizeof sx, "%s %s", sr_status_glyph(cs->status), st);
		engine_cell_label(e, c, label, sizeof label);
		if (t->p->cells[c].journey < 0 && k->njourneys == 0)
			tui_fmt(label, sizeof label, "%s", k->name);
		tui_cell_value(t, c, v, sizeof v);
		fmt_value(base, sizeof base,
		          k->kind == SR_KIND_VS_BASELINE && isfinite(cs->baseline) ? cs->baseline
		                                                                   : cs->control,
		          k->unit);
		tui_cell_target(t, c, tg, sizeof tg);
		if (cs->age >= 0)
			sr_fmt_duration(age, sizeof age, cs->age);
		else
			tui_fmt(age, sizeof age, "never");
		enum tui_role nr = sel ? TR_SELECTED : TR_NORMAL;
		if (sel)
			term_fill(y, 0, 1, b.w, TR_SELECTED);
		term_put(y, 0, 1, nr, sel ? ">" : " ");
		term_put(y, 1, 14, theme_status_role(cs->status), sx);
		term_put(y, 16, lw, nr, label);
		term_putf(y, xc, 9, theme_status_role(cs->status), "%9s", v);
		term_putf(y, xc + 10, 9, nr, "%9s", base);
		term_putf(y, xc + 20, 9, sel ? nr : TR_DIM, "%9s", tg);
		term_putf(y, xc + 30, 6, sel ? nr : TR_DIM, "%6s", age);
		if (wide)
			term_put(y, xc + 38, b.w - xc - 39, sel ? nr : TR_DIM,
			         engine_cell_reason(e, c));
	}
}
