/* checklists.c - the checklists view (key 4): pre-flight, risk
 * watchlist, remediation (in order: Cache -> DB -> App), post-canary and
 * rollback communications, from the policy. Each item shows whether it
 * is ticked, by whom and when; j/k choose an item and space (the tick
 * action's key) or enter ticks it through the dispatcher, which journals
 * it and refuses what the rules refuse (out of order, read-only, role).
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

int checklists_count(const struct sr_policy *p)
{
	int n = 0;
	for (int l = 0; l < p->nchecklists; l++)
		n += p->checklists[l].nitems;
	return n;
}

bool checklists_item(const struct sr_policy *p, int flat, int *list, int *item)
{
	for (int l = 0; l < p->nchecklists; l++) {
		if (flat < p->checklists[l].nitems) {
			*list = l;
			*item = flat;
			return flat >= 0;
		}
		flat -= p->checklists[l].nitems;
	}
	return false;
}

void checklists_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	const struct sr_policy *p = t->p;
	const struct sr_rollout *ro = &t->r->engine.ro;
	const struct tui_glyphs *g = glyphs(t->utf8);
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	int open_pf = rollout_preflight_open(ro, p);
	term_putf(b.y, 1, b.w - 2, TR_TITLE,
	          "Checklists  j/k choose  space tick  esc back   pre-flight open: %d", open_pf);
	/* Lines: a title per checklist, then its items. Scroll to keep the
	 * selection in view. */
	int total = 0, sel_line = 0;
	for (int l = 0; l < p->nchecklists; l++)
		total += 1 + p->checklists[l].nitems;
	int rows = b.h - 1, line = 0, flat = 0;
	{
		int fl = 0, ln = 0;
		for (int l = 0; l < p->nchecklists; l++) {
			ln++;
			for (int i = 0; i < p->checklists[l].nitems; i++, fl++, ln++)
				if (fl == t->sel_check)
					sel_line = ln;
		}
	}
	int top = sel_line - rows / 2;
	if (top > total - rows)
		top = total - rows;
	if (top < 0)
		top = 0;
	for (int l = 0; l < p->nchecklists; l++) {
		const struct sr_checklist *cl = &p->checklists[l];
		int done = 0;
		for (int i = 0; i < cl->nitems; i++)
			done += ro->ticks[l][i].done;
		if (line >= top && line - top < rows)
			term_putf(b.y + 1 + line - top, 1, b.w - 2, TR_TITLE, "%s  %d/%d%s",
			          cl->name, done, cl->nitems, cl->ordered ? "  (in order)" : "");
		line++;
		for (int i = 0; i < cl->nitems; i++, line++, flat++) {
			if (line < top || line - top >= rows)
				continue;
			int y = b.y + 1 + line - top;
			const struct sr_check_item *it = &cl->items[i];
			const struct sr_tick *tk = &ro->ticks[l][i];
			bool sel = flat == t->sel_check;
			enum tui_role nr = sel ? TR_SELECTED : TR_NORMAL;
			if (sel)
				term_fill(y, 0, 1, b.w, TR_SELECTED);
			char box[16], who[SR_NAME_LEN + 32], due[24];
			tui_fmt(box, sizeof box, "[%s]",
			        tk->done ? (t->utf8 ? g->tick : "x") : " ");
			term_put(y, 0, 1, nr, sel ? ">" : " ");
			term_put(y, 3, 3, tk->done ? TR_ST_GREEN : nr, box);
			int x = 7;
			if (cl->ordered)
				x += term_putf(y, x, 4, nr, "%d. ", i + 1);
			due[0] = '\0';
			if (it->due_min != 0 || it->required) {
				char rel[16];
				sr_fmt_trel(rel, sizeof rel, (sr_ms)it->due_min * SR_MS_PER_MIN);
				tui_fmt(due, sizeof due, "%s%s%s", it->due_min ? "due " : "",
				        it->due_min ? rel : "", it->required ? " required" : "");
			}
			who[0] = '\0';
			if (tk->done) {
				char rel[16];
				tui_trel(t, tk->at, rel, sizeof rel);
				tui_fmt(who, sizeof who, "%s %s", tk->who, rel);
			}
			int right = text_width(who) + text_width(due) + 3;
			term_put(y, x, b.w - x - right, nr, it->text);
			/* An open required item past its due time is late: say so. */
			bool late = !tk->done && it->required &&
			            t->now > ro->t0 + (sr_ms)it->due_min * SR_MS_PER_MIN;
			if (due[0])
				term_put(y, b.w - right, text_width(due), late ? TR_ST_RED : TR_DIM,
				         due);
			if (who[0])
				term_put(y, b.w - text_width(who) - 1, text_width(who),
				         sel ? nr : TR_DIM, who);
		}
	}
}
