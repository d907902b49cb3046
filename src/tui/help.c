/* help.c - the help view ('?'): every key, what it does and what it
 * needs (the role, the confirmation, whether it is allowed to you right
 * now and why not), the status glyphs, and how the screen is drawn
 * (theme, colours, UTF-8 or ASCII). The action part is generated from
 * the action table, so it cannot drift from what the keys do.
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

static const char *const nav[][2] = {
    {"?", "this help (? or esc leaves it)"},
    {"esc", "back: from detail or help to where you were, else to the main view"},
    {"q  ^C", "quit (waits for an action in flight to finish)"},
    {"1 2 3 4 5 6", "views: main, KPIs, triggers, checklists, approvals and roster, workflow "
                    "(status page, deadlines, success criteria, webhook, reports)"},
    {"tab arrows j k", "move the selection (tiles, KPI rows, checklist items, detail)"},
    {"pgup pgdn", "a page up or down in a list, or back through the event log (main view); "
                  "home and end: its ends"},
    {":", "the command line: :hold why, :note text, :goto T+130, :view triggers, :speed N, "
          ":q; tab completes a command's name"},
    {"space . , + -", "in a replay: pause and resume, next and previous event, faster and "
                      "slower (the header says where and how fast)"},
    {"enter", "detail of the selected journey or KPI; in checklists: tick"},
    {"/", "filter the event log (main view) or the KPI list (2) by text; enter keeps it, "
          "esc clears it"},
    {"g", "the gate report of the gate ahead, live, in a pager (tab: the other gates)"},
    {"c", "the phase summary card of the current phase; in the detail view: chart style "
          "(braille, blocks, ascii)"},
    {"w", "in the report pager: write it to the state dir (Markdown and JSON)"},
    {"<- ->", "in the report pager: pan a wide table"},
    {"U", "post an update to the webhook now (when one is configured)"},
    {"^L", "repaint the whole screen"},
    {"^Z", "suspend to the shell (fg comes back; the service guards meanwhile)"},
};

struct help_line {
	char key[24];
	char text[SR_TEXT_LEN * 2];
	enum tui_role krole, trole;
};

static int build(const struct tui *t, struct help_line *l, int max)
{
	int n = 0;
#define ADD(k, tx, kr, tr)                                                                         \
	do {                                                                                       \
		if (n < max) {                                                                     \
			tui_fmt(l[n].key, sizeof l[n].key, "%s", (k));                             \
			tui_fmt(l[n].text, sizeof l[n].text, "%s", (tx));                          \
			l[n].krole = (kr);                                                         \
			l[n].trole = (tr);                                                         \
			n++;                                                                       \
		}                                                                                  \
	} while (0)
	ADD("", "Keys", TR_TITLE, TR_TITLE);
	for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
		ADD(nav[i][0], nav[i][1], TR_KEY, TR_NORMAL);
	ADD("", "", TR_NORMAL, TR_NORMAL);
	ADD("",
	    t->o->read_only ? "Actions (read-only console: every one is refused by the dispatcher)"
	                    : "Actions (each goes through the one dispatcher, which is journaled)",
	    TR_TITLE, TR_TITLE);
	int na;
	const struct sr_action_def *defs = action_table(&na);
	for (int i = 0; i < na; i++) {
		const struct sr_action_def *d = &defs[i];
		char k[8], text[SR_TEXT_LEN * 2], why[SR_TEXT_LEN];
		if (d->key == ' ')
			tui_fmt(k, sizeof k, "space");
		else
			tui_fmt(k, sizeof k, "%c", d->key);
		const char *confirm = (d->flags & SR_AF_TYPE_WEIGHT)  ? "confirm: type the weight"
		                      : (d->flags & SR_AF_DANGEROUS)  ? "confirm: y, then say why"
		                      : (d->flags & SR_AF_NEEDS_TEXT) ? "asks for its text"
		                      : (d->flags & SR_AF_ASKS_REASON)
		                          ? "asks why (enter accepts the "
		                            "reason offered)"
		                          : "no confirmation";
		int arg = -1;
		if (d->kind == SR_ACT_PROMOTE) {
			int next = t->r->engine.ro.phase + 1;
			arg = next < t->p->nphases ? t->p->phases[next].weight : -1;
		}
		bool ok = !t->o->read_only &&
		          rights_check(&t->r->engine, d->kind, arg, tui_actor(t), t->r->now, why,
		                       sizeof why);
		tui_fmt(text, sizeof text, "%s: %s. Needs %s, %s. Now: %s%s", d->name, d->help,
		        sr_role_name(d->role), confirm, ok ? "allowed" : "not allowed",
		        ok ? "" : (t->o->read_only ? " (read-only)" : ""));
		ADD(k, text, ok ? TR_KEY : TR_KEY_DIM, TR_NORMAL);
		if (!ok && !t->o->read_only) {
			char because[SR_TEXT_LEN * 2];
			tui_fmt(because, sizeof because, "because: %s", why);
			ADD("", because, TR_NORMAL, TR_DIM);
		}
	}
	ADD("", "", TR_NORMAL, TR_NORMAL);
	ADD("", "Status (never by colour alone: the glyph and the word say it too)", TR_TITLE,
	    TR_TITLE);
	for (int s = 0; s < SR_STATUS_COUNT; s++) {
		static const char *const what[SR_STATUS_COUNT] = {
		    "fresh data, within target with margin",
		    "within target but near the limit, or recovering from RED",
		    "no series, NaN, or fewer samples than min_samples",
		    "the last good fetch is too old",
		    "the fetch or parse failed (the message is in the detail view)",
		    "target breached; the timer shows how long of the sustained window",
		};
		char k[24];
		tui_fmt(k, sizeof k, "%-2s %s", sr_status_glyph((enum sr_status)s),
		        sr_status_name((enum sr_status)s));
		ADD(k, what[s], theme_status_role(s), TR_NORMAL);
	}
	ADD("", "", TR_NORMAL, TR_NORMAL);
	char scr[SR_TEXT_LEN];
	tui_fmt(scr, sizeof scr, "theme %s, colours %s, %s glyphs, charts %s; you are %s",
	        t->theme.name, term_colour_mode(), t->utf8 ? "UTF-8" : "ASCII",
	        chart_style_name(t->chart), tui_actor(t));
	ADD("", scr, TR_DIM, TR_DIM);
	ADD("", "More: man shiproom", TR_DIM, TR_DIM);
#undef ADD
	return n;
}

#define KEY_W 17

/* One screen row of the help: a key (or "") and a piece of text. */
struct help_row {
	const struct help_line *l;
	char text[TEXT_LINE_BYTES];
	bool first;
};

void help_draw(struct tui *t)
{
	static struct help_line lines[96];
	static struct help_row rows[400];
	static char frag[16][TEXT_LINE_BYTES];
	struct tui_rect b = t->lay.body;
	int n = build(t, lines, 96), nr = 0;
	/* Wrap every entry to the width left of the key column. */
	for (int i = 0; i < n && nr < 400; i++) {
		const struct help_line *l = &lines[i];
		int indent = l->key[0] || l->trole == TR_DIM ? KEY_W + 2 : 1;
		if (l->trole == TR_TITLE)
			indent = 1;
		int nf = text_wrap(l->text[0] ? l->text : " ", b.w - indent - 1, frag, 16);
		for (int f = 0; f < nf && nr < 400; f++, nr++) {
			rows[nr].l = l;
			rows[nr].first = f == 0;
			sr_strlcpy(rows[nr].text, frag[f], sizeof rows[nr].text);
		}
	}
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	int top = t->help_scroll;
	if (top > nr - b.h)
		top = nr - b.h;
	if (top < 0)
		top = 0;
	for (int i = 0; i < b.h && top + i < nr; i++) {
		const struct help_row *r = &rows[top + i];
		int y = b.y + i;
		int indent = r->l->key[0] || r->l->trole == TR_DIM ? KEY_W + 2 : 1;
		if (r->l->trole == TR_TITLE)
			indent = 1;
		if (r->first && r->l->key[0])
			term_put(y, 2, KEY_W, r->l->krole, r->l->key);
		term_put(y, indent, b.w - indent - 1, r->l->trole, r->text);
	}
	if (nr > b.h && top == 0)
		term_putf(b.y, b.w - 24, 23, TR_DIM, "%*s", 23, "j/k scroll, esc leave");
}
