/* triggers.c - the triggers view (key 3): each rollback trigger of the
 * policy as armed / pending / firing, since when, how far a sustained
 * breach has run ("3m12s/5m"), the value that crossed a threshold, and
 * the reason; below, every cell in breach right now with its timer, and
 * whether the policy rolls back by itself (auto_rollback).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/tui.h"

static enum tui_role state_role(enum sr_trig_state s)
{
	switch (s) {
	case SR_TRIG_FIRING: return TR_ST_RED;
	case SR_TRIG_PENDING: return TR_ST_YELLOW;
	default: return TR_ST_GREEN;
	}
}

static const char *state_glyph(enum sr_trig_state s)
{
	return s == SR_TRIG_FIRING ? "X" : s == SR_TRIG_PENDING ? "!" : "ok";
}

void triggers_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	term_putf(b.y, 1, b.w - 2, TR_TITLE, "Rollback triggers   auto_rollback: %s   esc back",
	          p->auto_rollback ? "on (the policy rolls back by itself)"
	                           : "off (the Release DRI decides)");
	int y = b.y + 2, bottom = b.y + b.h;
	for (int i = 0; i < p->ntriggers && y + 2 < bottom; i++) {
		const struct sr_trigger *tr = &p->triggers[i];
		const struct sr_trigger_state *ts = &e->triggers[i];
		enum tui_role sr = state_role(ts->state);
		char st[48], since[24], extra[96], win[24], prog[24];
		tui_fmt(st, sizeof st, "%s %s", state_glyph(ts->state),
		        trigger_state_name(ts->state));
		term_put(y, 1, 12, sr, st);
		term_put(y, 14, b.w - 15, TR_TITLE, tr->name);
		sr_fmt_duration(since, sizeof since, t->now - ts->since);
		extra[0] = '\0';
		if (tr->kind == SR_TRIG_SUSTAINED) {
			engine_fmt_window(tr->for_ms, win, sizeof win);
			sr_fmt_duration(prog, sizeof prog, ts->progress);
			tui_fmt(extra, sizeof extra, "breach %s of %s",
			        ts->state == SR_TRIG_ARMED ? "0s" : prog, win);
		} else if (ts->state != SR_TRIG_ARMED && isfinite(ts->value)) {
			tui_fmt(extra, sizeof extra, "value %.4g %s %.4g", ts->value,
			        tr->above ? ">" : "<", tr->threshold);
		} else {
			tui_fmt(extra, sizeof extra, "fires when %s %.4g", tr->above ? ">" : "<",
			        tr->threshold);
		}
		if (ts->since > 0)
			term_putf(y + 1, 14, b.w - 15, sr, "%s for %s   %s",
			          trigger_state_name(ts->state), since, extra);
		else
			term_putf(y + 1, 14, b.w - 15, sr, "%s   %s", trigger_state_name(ts->state),
			          extra);
		if (ts->reason[0])
			term_put(y + 2, 14, b.w - 15, TR_DIM, ts->reason);
		y += 4;
	}
	if (y >= bottom)
		return;
	term_put(y++, 1, b.w - 2, TR_TITLE, "In breach now");
	int shown = 0;
	for (int c = 0; c < p->ncells && y < bottom; c++) {
		const struct sr_cell_state *cs = &e->cells[c];
		if (!cs->breaching && cs->status != SR_RED)
			continue;
		char label[SR_TITLE_LEN], st[48];
		engine_cell_label(e, c, label, sizeof label);
		tui_status_text(t, c, cs->status, st, sizeof st);
		term_putf(y, 3, 24, theme_status_role(cs->status), "%s %s",
		          sr_status_glyph(cs->status), st);
		term_put(y, 28, 26, TR_NORMAL, label);
		term_put(y, 55, b.w - 56, TR_DIM, engine_cell_reason(e, c));
		y++;
		shown++;
	}
	if (!shown)
		term_put(y, 3, b.w - 4, TR_DIM, "nothing: no gating check is RED");
}
