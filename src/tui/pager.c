/* pager.c - the report pager: the gate report (key g) and the phase
 * summary card (key c) as the team's own templates render them
 * (report_markdown), read in the console like `less`, and written to the
 * state dir on `w` (report_write) so the Release DRI never writes a
 * report by hand.
 *
 * The text is live: it is rendered again whenever the engine has
 * evaluated since (the decision at a gate changes while one looks at
 * it), keeping the scroll position. It is the Markdown itself, lightly
 * dressed for a terminal: headings bold, **bold** markers dropped, table
 * rules dim, and status and verdict words (GREEN, RED, GO, NO-GO, ...) in
 * their colours, their words still there for a screen without colour.
 * Wide tables pan with the left and right arrows instead of wrapping,
 * which would break their columns.
 *
 * Without templates (opts.templates NULL) the keys say what is missing
 * instead of opening an empty page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/client.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

#define PAN_STEP 8

void pager_free(struct tui *t)
{
	free(t->pager.text);
	free(t->pager.line);
	t->pager.text = NULL;
	t->pager.line = NULL;
	t->pager.nlines = 0;
}

/* Split the text into lines in place. */
static void split_lines(struct tui_pager *pg)
{
	int n = 1;
	for (const char *c = pg->text; *c; c++)
		n += *c == '\n';
	pg->line = calloc((size_t)n, sizeof *pg->line);
	if (!pg->line) {
		pg->nlines = 0;
		return;
	}
	int i = 0;
	char *s = pg->text;
	for (;;) {
		pg->line[i++] = s;
		char *nl = strchr(s, '\n');
		if (!nl)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	/* A final newline leaves an empty last line: not a line. */
	if (i > 1 && pg->line[i - 1][0] == '\0')
		i--;
	pg->nlines = i;
}

/* Render the report again from the runner's state now. */
static void pager_build(struct tui *t)
{
	struct tui_pager *pg = &t->pager;
	pager_free(t);
	pg->built_evals = t->r->engine.evaluations;
	pg->built_nlog = t->r->nlog;
	if (!t->o->templates)
		return;
	pg->text = report_markdown(t->o->templates, pg->kind, t->r, pg->index);
	if (!pg->text)
		return;
	split_lines(pg);
	/* The report holds sanitised data in a template of the team's: a
	 * template could still hold a control character, and this goes to a
	 * terminal. Line by line: the newlines are gone by now. */
	for (int i = 0; i < pg->nlines; i++)
		sr_sanitize(pg->line[i], pg->line[i], strlen(pg->line[i]) + 1);
}

static const char *kind_title(enum sr_report_kind k)
{
	return k == SR_REPORT_GATE ? "gate report" : "phase card";
}

void pager_open(struct tui *t, enum sr_report_kind kind, int index)
{
	if (!t->o->templates) {
		tui_flash(t, SR_YELLOW,
		          "reports are off: this console has no report templates "
		          "(config/*_TEMPLATE.md)");
		return;
	}
	struct tui_pager *pg = &t->pager;
	if (kind == SR_REPORT_GATE) {
		index = report_gate_index(t->r, index);
		if (index < 0) {
			tui_flash(t, SR_YELLOW, "the policy has no gates: no gate report");
			return;
		}
	}
	pg->kind = kind;
	pg->index = index;
	pg->top = pg->left = 0;
	pager_build(t);
	if (!pg->text) {
		tui_flash(t, SR_RED, "the %s could not be rendered (out of memory)",
		          kind_title(kind));
		return;
	}
	tui_set_view(t, VIEW_REPORT);
}

/* w: write the report shown into the state dir - an action of the table
 * (report), checked and done by the dispatcher or the service like any
 * other; the result comes back in the status line. */
static void pager_write(struct tui *t)
{
	struct sr_action_request req;
	tui_request(t, SR_ACT_REPORT, &req);
	req.report_kind = (int)t->pager.kind;
	req.report_index = t->pager.index;
	tui_dispatch(t, &req);
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The last useful top line: the end of the report at the bottom. */
static int max_top(const struct tui *t)
{
	int rows = t->lay.body.h - 1;
	return t->pager.nlines > rows ? t->pager.nlines - rows : 0;
}

void pager_key(struct tui *t, int key)
{
	struct tui_pager *pg = &t->pager;
	int page = t->lay.body.h > 3 ? t->lay.body.h - 2 : 1;
	int top = pg->top, left = pg->left;
	switch (key) {
	case 'j':
	case TK_DOWN:
	case TK_ENTER: top++; break;
	case 'k':
	case TK_UP: top--; break;
	case TK_PGDN: top += page; break;
	case TK_PGUP: top -= page; break;
	case TK_HOME: top = 0, left = 0; break;
	case TK_END: top = pg->nlines; break;
	case TK_RIGHT: left += PAN_STEP; break;
	case TK_LEFT: left -= PAN_STEP; break;
	case 'w': pager_write(t); return;
	case TK_TAB:
	case TK_BTAB:
		if (pg->kind == SR_REPORT_GATE && t->p->ngates > 0) {
			int n = t->p->ngates;
			pg->index = (pg->index + (key == TK_TAB ? 1 : n - 1)) % n;
			pg->top = pg->left = 0;
			pager_build(t);
			t->dirty |= D_BODY;
		}
		return;
	default: return;
	}
	pg->top = clampi(top, 0, max_top(t));
	pg->left = clampi(left, 0, 400);
	t->dirty |= D_BODY;
}

/* ---- drawing --------------------------------------------------------------- */

static const char *const words[] = {"GREEN", "YELLOW", "RED",  "NODATA",   "STALE",   "ERROR",
                                    "NO-GO", "GO",     "HOLD", "ROLLBACK", "ESCALATE"};
#define NWORDS (int)(sizeof words / sizeof words[0])

static enum tui_role word_role(int w)
{
	switch (w) {
	case 0: return theme_status_role(SR_GREEN);
	case 1: return theme_status_role(SR_YELLOW);
	case 2: return theme_status_role(SR_RED);
	case 3: return theme_status_role(SR_NODATA);
	case 4: return theme_status_role(SR_STALE);
	case 5: return theme_status_role(SR_ERROR);
	case 6: return theme_verdict_role(SR_HOLD);
	case 7: return theme_verdict_role(SR_GO);
	case 8: return theme_verdict_role(SR_HOLD);
	case 9: return theme_verdict_role(SR_ROLLBACK);
	default: return theme_verdict_role(SR_ESCALATE);
	}
}

static bool word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A status or verdict word starting at s (a whole word); its index. */
static int word_at(const char *line, const char *s, int *len)
{
	if (s > line && word_char(s[-1]))
		return -1;
	for (int w = 0; w < NWORDS; w++) {
		size_t l = strlen(words[w]);
		if (strncmp(s, words[w], l) == 0 && !word_char(s[l])) {
			*len = (int)l;
			return w;
		}
	}
	return -1;
}

void pager_md_line(int y, int x, int w, const char *line, int left)
{
	char buf[TEXT_LINE_BYTES * 4];
	enum tui_role base = TR_NORMAL;
	const char *s = line;
	if (s[0] == '#') {
		while (*s == '#')
			s++;
		while (*s == ' ')
			s++;
		base = TR_TITLE;
	} else if (s[0] == '|' && (s[1] == '-' || s[1] == ':')) {
		base = TR_DIM; /* a table rule */
	}
	/* Drop the ** of bold: on a terminal they are noise. */
	size_t o = 0;
	for (; *s && o + 1 < sizeof buf; s++) {
		if (s[0] == '*' && s[1] == '*') {
			s++;
			continue;
		}
		buf[o++] = *s;
	}
	buf[o] = '\0';
	/* Pan: skip `left` columns. */
	int skipped = 0;
	size_t start = text_fit(buf, left, &skipped);
	const char *p = buf + start;
	int col = 0;
	while (*p && col < w) {
		/* The plain run up to the next coloured word. */
		const char *q = p;
		int wl = 0, wi = -1;
		while (*q && (wi = word_at(buf, q, &wl)) < 0)
			q++;
		if (q > p) {
			char run[TEXT_LINE_BYTES * 4];
			size_t rl = (size_t)(q - p);
			memcpy(run, p, rl);
			run[rl] = '\0';
			col += term_put(y, x + col, w - col, base, run);
		}
		if (!*q || col >= w)
			break;
		char word[16];
		memcpy(word, q, (size_t)wl);
		word[wl] = '\0';
		col += term_put(y, x + col, w - col, base == TR_DIM ? TR_DIM : word_role(wi), word);
		p = q + wl;
	}
}

void pager_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	struct tui_pager *pg = &t->pager;
	if (pg->built_evals != t->r->engine.evaluations || pg->built_nlog != t->r->nlog) {
		int top = pg->top;
		pager_build(t);
		pg->top = clampi(top, 0, max_top(t));
	}
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	char title[SR_TEXT_LEN], when[24], where[48];
	tui_trel(t, t->r->now, when, sizeof when);
	if (pg->kind == SR_REPORT_GATE && pg->index >= 0 && pg->index < t->p->ngates)
		tui_fmt(title, sizeof title, "%s report", t->p->gates[pg->index].name);
	else
		tui_fmt(title, sizeof title, "Phase card");
	int rows = b.h - 1;
	int last = pg->top + rows < pg->nlines ? pg->top + rows : pg->nlines;
	tui_fmt(where, sizeof where, "%d-%d/%d%s", pg->nlines ? pg->top + 1 : 0, last, pg->nlines,
	        pg->left ? " >" : "");
	/* Title row: what, when, where in it, and the keys (as many as fit). */
	char head[SR_TEXT_LEN * 2];
	bool gate = pg->kind == SR_REPORT_GATE;
	const char *keys = b.w >= 120
	                       ? (gate ? "j/k scroll  pgup/pgdn page  <- -> pan  tab next gate  "
	                                 "w write to the state dir  esc back"
	                               : "j/k scroll  pgup/pgdn page  <- -> pan  "
	                                 "w write to the state dir  esc back")
	                   : gate ? "tab gate  w write  esc back"
	                          : "w write  esc back";
	tui_fmt(head, sizeof head, "%s  live at %s  lines %s", title, when, where);
	int x = term_put(b.y, 1, b.w - 2, TR_TITLE, head);
	int kw = text_width(keys);
	if (x + 3 + kw < b.w)
		term_put(b.y, b.w - kw - 1, kw, TR_DIM, keys);
	if (!pg->text) {
		term_put(b.y + 2, 2, b.w - 4, TR_ST_YELLOW,
		         "no report: the templates are not loaded");
		return;
	}
	for (int i = 0; i < rows && pg->top + i < pg->nlines; i++)
		pager_md_line(b.y + 1 + i, 1, b.w - 2, pg->line[pg->top + i], pg->left);
}
