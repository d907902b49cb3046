/* keys.c - what a key does: navigation, views, and actions.
 *
 * Keys follow k9s/htop habits: ? help, esc back, q quit, 1-7 views,
 * tab/arrows/j/k to move, enter for detail, / to filter (the event log on
 * the main view, the KPI list on view 2; esc clears). g and c open the
 * gate report and the phase card in the pager (in the detail view c is
 * its chart style), U posts an update to the webhook. Action keys come from the
 * action table (action.h) and are not filtered by view or by read-only
 * mode: every one reaches action_dispatch(), which alone decides and says
 * why it refuses. What this file adds is the confirmation the UI owes
 * the dangerous ones: rollback asks for `y`, promote asks for the target
 * weight to be typed. (In read-only mode the dispatcher refuses before
 * anything is asked: a confirmation for an action that cannot happen
 * would only be noise.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/client.h"
#include "shiproom/notify.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

void tui_flash(struct tui *t, enum sr_status sev, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->flash, sizeof t->flash, fmt, ap);
	va_end(ap);
	/* The message is the caller's text or the dispatcher's: sanitised
	 * text only ever reaches the terminal. */
	sr_sanitize(t->flash, t->flash, sizeof t->flash);
	t->flash_sev = sev;
	t->flash_until = clock_real_ms() + 6000;
	t->dirty |= D_STATUS;
}

void tui_set_view(struct tui *t, enum tui_view_id v)
{
	/* Help, detail and the report pager are looked at and left: esc
	 * goes back to the numbered view they were opened from. */
	if (v != VIEW_HELP && v != VIEW_DETAIL && v != VIEW_REPORT)
		t->back = v;
	t->view = v;
	t->help_scroll = 0;
	t->workflow_scroll = 0;
	t->filter_edit = NULL;
	/* Every region is drawn over in full, so curses sends only what
	 * differs: no clear (a clear repaints the whole screen, costly over
	 * a slow link). */
	t->dirty |= D_ALL & ~D_CLEAR;
}

void tui_request(struct tui *t, enum sr_action_kind kind, struct sr_action_request *req)
{
	memset(req, 0, sizeof *req);
	req->kind = kind;
	req->gate = -1;
	req->report_index = -1;
	sr_strlcpy(req->actor, tui_actor(t), sizeof req->actor);
	sr_strlcpy(req->reason, "from the console", sizeof req->reason);
	if (kind == SR_ACT_TICK) {
		int l, i;
		if (checklists_item(t->p, t->sel_check, &l, &i)) {
			sr_strlcpy(req->checklist, t->p->checklists[l].id, sizeof req->checklist);
			sr_strlcpy(req->item, t->p->checklists[l].items[i].id, sizeof req->item);
		}
	}
}

static void show_result(struct tui *t, enum sr_action_kind kind, const struct sr_action_result *res)
{
	char title[SR_TITLE_LEN];
	/* An action is news at once: the postmortem placeholder after a
	 * rollback, the post to the webhook. */
	if ((res->outcome == SR_ACT_DONE || res->outcome == SR_ACT_FAILED) && !t->o->client)
		workflow_tick(t);
	if (kind >= SR_ACT_COUNT || (action_by_kind(kind)->flags & SR_AF_WORKFLOW)) {
		/* `U`, the pager's `w`: what was posted or written, as it is */
		tui_flash(t,
		          res->outcome == SR_ACT_DONE      ? SR_GREEN
		          : res->outcome == SR_ACT_REFUSED ? SR_YELLOW
		                                           : SR_RED,
		          "%s", res->message);
		if (kind == SR_ACT_REPORT && res->outcome == SR_ACT_DONE && t->view == VIEW_REPORT)
			t->dirty |= D_BODY;
		return;
	}
	switch (res->outcome) {
	case SR_ACT_DONE:
		/* an edge action's message already gives the weight read back */
		tui_flash(t, SR_GREEN, "done: %s", res->message);
		break;
	case SR_ACT_PENDING:
		t->waiting_action = true;
		tui_flash(t, SR_YELLOW, "%s", res->message);
		break;
	case SR_ACT_REFUSED:
	case SR_ACT_FAILED:
		tui_fmt(title, sizeof title, "%s %s", sr_action_name(kind),
		        res->outcome == SR_ACT_REFUSED ? "refused" : "FAILED");
		dialog_open(t, DLG_RESULT, kind,
		            res->outcome == SR_ACT_REFUSED ? TR_ST_YELLOW : TR_ST_RED, title,
		            res->message);
		/* One outcome word: the message never carries it (action.c). */
		tui_flash(t, res->outcome == SR_ACT_REFUSED ? SR_YELLOW : SR_RED, "%s: %s",
		          res->outcome == SR_ACT_REFUSED ? "refused" : "FAILED", res->message);
		break;
	}
	t->dirty |= D_DATA;
}

void tui_dispatch(struct tui *t, const struct sr_action_request *req)
{
	struct sr_action_result res;
	memset(&res, 0, sizeof res);
	if (t->o->client) {
		/* The service decides, with the identity the kernel gives it;
		 * the answer comes back on the socket (console.c notices). */
		t->sent_result_seq = client_result_seq(t->o->client);
		if (client_request(t->o->client, req) < 0) {
			tui_flash(t, SR_RED, "%s: the service is gone", sr_action_name(req->kind));
			return;
		}
		t->waiting_action = true;
		tui_flash(t, SR_YELLOW, "%s: sent to the service", sr_action_name(req->kind));
		return;
	}
	action_dispatch(t->r, req, &res);
	show_result(t, req->kind, &res);
}

void tui_action_finished(struct tui *t)
{
	t->waiting_action = false;
	if (t->o->client) {
		enum sr_action_kind kind;
		const struct sr_action_result *res = client_result(t->o->client, &kind);
		show_result(t, kind, res);
		return;
	}
	show_result(t, t->r->flight.req.kind, &t->r->flight.result);
}

/* Promote: say what will happen and, if rights_check already knows it
 * will be refused, say so before the weight is typed. */
static void open_promote(struct tui *t)
{
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	int next = e->ro.phase + 1;
	int target = next < p->nphases ? p->phases[next].weight : -1;
	char text[SR_TEXT_LEN * 4], why[SR_TEXT_LEN * 2];
	int o = 0;
	if (target < 0)
		o = tui_fmt(text, sizeof text, "Already at the last phase (%d%%).\n", e->ro.weight);
	else
		o = tui_fmt(text, sizeof text,
		            "Canary %d%% -> next phase %s (%d%%).\nDecision: %s.\n", e->ro.weight,
		            p->phases[next].name, target, sr_verdict_name(e->decision.verdict));
	if (o < 0 || (size_t)o >= sizeof text)
		o = (int)strlen(text);
	if (target >= 0 &&
	    !rights_check(e, SR_ACT_PROMOTE, target, tui_actor(t), t->r->now, why, sizeof why))
		tui_fmt(text + o, sizeof text - (size_t)o, "This will be refused: %s", why);
	else
		tui_fmt(text + o, sizeof text - (size_t)o, "Type the target weight to confirm.");
	dialog_open(t, DLG_WEIGHT, SR_ACT_PROMOTE, TR_TITLE, "promote", text);
}

static void open_confirm(struct tui *t, const struct sr_action_def *d)
{
	char text[SR_TEXT_LEN * 2], title[SR_TITLE_LEN];
	const struct sr_engine *e = &t->r->engine;
	if (d->kind == SR_ACT_ROLLBACK && e->ro.rolled_back && e->ro.weight == 0 &&
	    e->ro.edge_anomaly_weight <= 0 && !e->edge_anomaly_since)
		/* said before the confirmation, not after: there is nothing to
		 * take off the canary (a second rollback only re-applies 0%) */
		tui_fmt(text, sizeof text,
		        "%s is already rolled back: the canary is at 0%% and drained "
		        "(maintenance).\nRoll back again anyway (re-apply 0%%, drained)? It is "
		        "logged with your name (%s).",
		        t->p->rollout, tui_actor(t));
	else if (d->kind == SR_ACT_ROLLBACK)
		tui_fmt(text, sizeof text,
		        "Roll %s back: canary %d%% -> 0%%, drained.\nThe rollback is logged with "
		        "your name (%s).",
		        t->p->rollout, e->ro.weight, tui_actor(t));
	else
		tui_fmt(text, sizeof text, "%s", d->help);
	tui_fmt(title, sizeof title, "%s?", d->name);
	dialog_open(t, DLG_CONFIRM, d->kind, d->kind == SR_ACT_ROLLBACK ? TR_ST_RED : TR_TITLE,
	            title, text);
}

static void action_key(struct tui *t, const struct sr_action_def *d)
{
	struct sr_action_request req;
	/* Read-only: every key goes to the one check, which refuses it; a note
	 * may be an observer's (the policy says), so it asks for its text. */
	if (t->o->read_only && !(d->flags & SR_AF_OBSERVER_OK)) {
		tui_request(t, d->kind, &req);
		tui_dispatch(t, &req);
		return;
	}
	if (d->kind == SR_ACT_REPORT && t->view != VIEW_REPORT) {
		tui_flash(t, SR_GREEN,
		          "w writes the report open in the pager: g gate report, "
		          "c phase card");
		return;
	}
	if ((d->kind == SR_ACT_TICK || d->kind == SR_ACT_UNTICK) && t->view != VIEW_CHECKLISTS) {
		/* There is no item to tick outside the checklists: go there. */
		tui_set_view(t, VIEW_CHECKLISTS);
		tui_flash(t, SR_GREEN, "checklists: j/k to choose an item, space to tick it");
		return;
	}
	if (d->flags & SR_AF_TYPE_WEIGHT) {
		open_promote(t);
		return;
	}
	if (d->flags & SR_AF_DANGEROUS) {
		open_confirm(t, d); /* the reason is asked after its y (dialog.c) */
		return;
	}
	tui_request(t, d->kind, &req);
	if (d->flags & (SR_AF_ASKS_REASON | SR_AF_NEEDS_TEXT)) {
		prompt_default_reason(&t->r->engine, d->kind, req.reason, sizeof req.reason);
		prompt_reason_open(t, &req);
		return;
	}
	tui_dispatch(t, &req);
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Movement keys as a step: +1/-1, a page, or to an end. */
static int step_of(int key, int page)
{
	switch (key) {
	case 'j':
	case TK_DOWN:
	case TK_TAB: return 1;
	case 'k':
	case TK_UP:
	case TK_BTAB: return -1;
	case TK_PGDN: return page;
	case TK_PGUP: return -page;
	case TK_HOME: return -100000;
	case TK_END: return 100000;
	default: return 0;
	}
}

/* The cells the detail view steps through: the journey's, or all. */
static int detail_cells(const struct tui *t, int *cells, int max)
{
	if (t->detail_journey < 0)
		return kpis_view_order(t, cells, max);
	int n = 0;
	for (int c = 0; c < t->p->ncells && n < max; c++)
		if (t->p->cells[c].journey == t->detail_journey)
			cells[n++] = c;
	return n;
}

static void open_detail_journey(struct tui *t, int j)
{
	t->detail_journey = j;
	t->detail_cell = tui_latency_cell(t->p, j, 0.95);
	if (t->detail_cell < 0)
		t->detail_cell = tui_journey_worst_cell(t->r, j);
	if (t->detail_cell >= 0)
		tui_set_view(t, VIEW_DETAIL);
}

static void main_key(struct tui *t, int key)
{
	int n = t->p->njourneys, cols = t->lay.tile_mode == TILES_BOXES ? t->lay.tile_cols : 1;
	int s = 0;
	switch (key) {
	case TK_LEFT: s = -1; break;
	case TK_RIGHT: s = 1; break;
	case TK_UP:
	case 'k': s = -cols; break;
	case TK_DOWN:
	case 'j': s = cols; break;
	case TK_TAB: s = 1; break;
	case TK_BTAB: s = -1; break;
	case TK_ENTER: open_detail_journey(t, t->sel_journey); return;
	case TK_PGUP:
	case TK_PGDN:
	case TK_HOME:
	case TK_END:
		/* the event log scrolls (it also filters, with /) */
		log_scroll(t, -step_of(key, t->lay.log.h > 2 ? t->lay.log.h - 2 : 1));
		return;
	default: return;
	}
	int nj = clamp(t->sel_journey + s, 0, n > 0 ? n - 1 : 0);
	if (nj != t->sel_journey) {
		t->sel_journey = nj;
		t->dirty |= D_TILES;
	}
}

static void list_key(struct tui *t, int key, int *sel, int n)
{
	int s = step_of(key, t->lay.body.h > 6 ? t->lay.body.h - 4 : 1);
	if (s == 0 || n <= 0)
		return;
	int v = clamp(*sel + s, 0, n - 1);
	if (v != *sel) {
		*sel = v;
		t->dirty |= D_BODY;
	}
}

static void view_key(struct tui *t, int key)
{
	int cells[SR_MAX_CELLS], n;
	switch (t->view) {
	case VIEW_MAIN: main_key(t, key); return;
	case VIEW_KPIS:
		n = kpis_view_order(t, cells, SR_MAX_CELLS);
		if (key == TK_ENTER && t->sel_cell < n) {
			t->detail_journey = -1;
			t->detail_cell = cells[t->sel_cell];
			tui_set_view(t, VIEW_DETAIL);
			return;
		}
		list_key(t, key, &t->sel_cell, n);
		return;
	case VIEW_CHECKLISTS:
		if (key == TK_ENTER) {
			action_key(t, action_by_kind(SR_ACT_TICK));
			return;
		}
		list_key(t, key, &t->sel_check, checklists_count(t->p));
		return;
	case VIEW_DETAIL: {
		n = detail_cells(t, cells, SR_MAX_CELLS);
		int at = 0;
		for (int i = 0; i < n; i++)
			if (cells[i] == t->detail_cell)
				at = i;
		int s = key == TK_TAB || key == TK_RIGHT || key == 'j' || key == TK_DOWN ? 1
		        : key == TK_BTAB || key == TK_LEFT || key == 'k' || key == TK_UP ? -1
		                                                                         : 0;
		if (s && n > 0) {
			t->detail_cell = cells[(at + s + n) % n];
			t->dirty |= D_BODY;
		}
		return;
	}
	case VIEW_HELP:
		if (step_of(key, 10)) {
			t->help_scroll = clamp(t->help_scroll + step_of(key, 10), 0, 200);
			t->dirty |= D_BODY;
		}
		return;
	case VIEW_WORKFLOW:
		if (step_of(key, 10)) {
			t->workflow_scroll = clamp(t->workflow_scroll + step_of(key, 10), 0, 200);
			t->dirty |= D_BODY;
		}
		return;
	case VIEW_REPORT: pager_key(t, key); return;
	default: return;
	}
}

/* The filter '/' edits in this view: the event log's on the main view,
 * the KPI list's on view 2; NULL elsewhere. */
static char *view_filter(struct tui *t)
{
	return t->view == VIEW_MAIN ? t->log_filter : t->view == VIEW_KPIS ? t->kpi_filter : NULL;
}

/* Typing a filter: printable characters, backspace, ^U to clear, enter to
 * keep it, esc to drop it. The list follows as it is typed. */
static void filter_key(struct tui *t, int key)
{
	char *f = t->filter_edit;
	size_t l = strlen(f);
	if (key == TK_ENTER) {
		t->filter_edit = NULL;
	} else if (key == TK_ESC) {
		f[0] = '\0';
		t->filter_edit = NULL;
	} else if (key == TK_BACKSPACE) {
		if (l > 0)
			prompt_line_key(f, TUI_FILTER_LEN, key);
		else
			t->filter_edit = NULL;
	} else if (key == 21) { /* ^U, as in a shell */
		f[0] = '\0';
	} else if (key == TK_PASTE) {
		prompt_append_paste(f, TUI_FILTER_LEN, term_paste_text());
	} else if ((key >= 0x20 && key < 0x7f) || (key >= 0x80 && key <= 0xff)) {
		prompt_line_key(f, TUI_FILTER_LEN, key);
	} else {
		return;
	}
	if (f == t->kpi_filter)
		t->sel_cell = 0;
	t->dirty |= D_LOG | D_BODY | D_STATUS;
}

void keys_handle(struct tui *t, int key)
{
	if (key == TK_NONE || key == 0)
		return;
	if (key == TK_CTRL_Z) {
		/* wherever one is: a dialog or a line being typed waits as it
		 * was, and keys typed in the shell meanwhile never reach it */
		char why[128];
		if (term_suspend(why, sizeof why) != 0)
			tui_flash(t, SR_YELLOW, "^Z: not suspended: %s", why);
		t->dirty |= D_ALL | D_CLEAR;
		return;
	}
	if (t->lay.too_small) {
		/* Nothing is acted on that cannot be seen: not even a dialog's
		 * y or a reason's enter (a rollback confirmed blind). Only
		 * quitting works. */
		if (key == 'q' || key == TK_CTRL_C)
			t->quit = true;
		return;
	}
	if (key == TK_PASTE && !t->prompt.active && !t->filter_edit) {
		/* Pasted text is never keys: "a" would approve, "x" open a
		 * rollback, a newline confirm. Only a line being typed takes it. */
		tui_flash(
		    t, SR_YELLOW,
		    "a paste was ignored: only a line being typed takes one (n note, : command, "
		    "/ filter, an action's reason)");
		return;
	}
	if (t->dlg.kind != DLG_NONE) {
		dialog_key(t, key);
		return;
	}
	if (t->prompt.active) {
		prompt_key(t, key);
		return;
	}
	if (t->filter_edit && key != TK_CTRL_C) {
		filter_key(t, key);
		return;
	}
	if (key == 'q' || key == TK_CTRL_C) {
		t->quit = true;
		return;
	}
	char *filter = view_filter(t);
	switch (key) {
	case '?': tui_set_view(t, t->view == VIEW_HELP ? t->back : VIEW_HELP); return;
	case TK_ESC:
		if (t->flash[0]) {
			t->flash[0] = '\0';
			t->dirty |= D_STATUS;
		}
		if (filter && filter[0]) {
			/* First the filter, as in k9s; the next esc goes back. */
			filter[0] = '\0';
			t->sel_cell = 0;
			t->dirty |= D_LOG | D_BODY;
			return;
		}
		if (t->view == VIEW_DETAIL || t->view == VIEW_HELP || t->view == VIEW_REPORT)
			tui_set_view(t, t->back);
		else if (t->view != VIEW_MAIN)
			tui_set_view(t, VIEW_MAIN);
		return;
	case '/':
		if (!filter) {
			tui_flash(t, SR_YELLOW,
			          "/ filters the event log (1: main) and the KPI list (2)");
			return;
		}
		t->filter_edit = filter;
		t->dirty |= D_LOG | D_BODY | D_STATUS;
		return;
	case '1': tui_set_view(t, VIEW_MAIN); return;
	case '2': tui_set_view(t, VIEW_KPIS); return;
	case '3': tui_set_view(t, VIEW_TRIGGERS); return;
	case '4': tui_set_view(t, VIEW_CHECKLISTS); return;
	case '5': tui_set_view(t, VIEW_APPROVALS); return;
	case '6': tui_set_view(t, VIEW_WORKFLOW); return;
	case '7': tui_set_view(t, VIEW_WHO); return;
	case 'g': pager_open(t, SR_REPORT_GATE, -1); return;
	case 'c':
		if (t->view != VIEW_DETAIL) {
			pager_open(t, SR_REPORT_CARD, -1);
			return;
		}
		/* The detail view's chart: braille, blocks, ascii. */
		t->chart = (enum chart_style)((t->chart + 1) % CHART_STYLE_COUNT);
		if (!t->utf8)
			t->chart = CHART_ASCII; /* braille and blocks need UTF-8 */
		t->dirty |= D_BODY | D_TILES;
		return;
	case ':': prompt_command_open(t); return;
	case 12: /* ^L: repaint everything, as in every curses program */ t->dirty |= D_ALL; return;
	default: break;
	}
	if (replay_key(t, key))
		return; /* space, . , + - in a replay (replay.c) */
	const struct sr_action_def *d = action_by_key(key);
	if (d) {
		action_key(t, d);
		return;
	}
	view_key(t, key);
}
