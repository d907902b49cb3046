/* dialog.c - the modal boxes: confirm (rollback: one key, then y), type
 * the weight (promote), and the result of a refused or failed action
 * with every reason on its own line.
 *
 * The dialog is drawn last, over whatever view is below, in a box in the
 * middle of the screen. Keys go to it alone while it is open; it hands
 * confirmed requests to tui_dispatch(), never to the edge itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

#define MAX_LINES 24

void dialog_draw(struct tui *t)
{
	struct tui_dialog *d = &t->dlg;
	if (d->kind == DLG_NONE)
		return;
	int w = t->lay.w - 8;
	if (w > 76)
		w = 76;
	static char lines[MAX_LINES][TEXT_LINE_BYTES];
	int nl = text_wrap(d->text, w - 4, lines, MAX_LINES);
	int extra = d->kind == DLG_WEIGHT ? 2 : 0;
	int h = nl + 4 + extra;
	if (h > t->lay.h - 2)
		h = t->lay.h - 2;
	int y = (t->lay.h - h) / 2, x = (t->lay.w - w) / 2;
	term_fill(y, x, h, w, TR_DIALOG);
	term_box(y, x, h, w, TR_DIALOG, d->title, d->role);
	for (int i = 0; i < nl && 1 + i < h - 2 - extra; i++)
		term_put(y + 1 + i, x + 2, w - 4, TR_DIALOG, lines[i]);
	const char *hint = "";
	switch (d->kind) {
	case DLG_CONFIRM:
		/* y is not the last key when a reason is asked next */
		hint = !d->reason[0] && (action_by_kind(d->action)->flags & SR_AF_ASKS_REASON)
		           ? "y: yes, then why (enter sends)    any other key: no"
		           : "y: yes    any other key: no";
		break;
	case DLG_WEIGHT: hint = "enter: promote    esc: cancel"; break;
	case DLG_RESULT: hint = "any key: close"; break;
	default: break;
	}
	if (d->kind == DLG_WEIGHT) {
		char in[48];
		tui_fmt(in, sizeof in, "target weight: %s_ %%", d->input);
		term_put(y + h - 3, x + 2, w - 4, TR_TITLE, in);
	}
	term_put(y + h - 2, x + 2, w - 4, TR_DIALOG, hint);
}

static void close_dialog(struct tui *t)
{
	t->dlg.kind = DLG_NONE;
	/* What was under the box must be drawn again. */
	t->dirty |= D_ALL & ~D_CLEAR;
}

void dialog_key(struct tui *t, int key)
{
	struct tui_dialog *d = &t->dlg;
	struct sr_action_request req;
	switch (d->kind) {
	case DLG_CONFIRM:
		close_dialog(t);
		if (key == 'y' || key == 'Y') {
			tui_request(t, d->action, &req);
			if (d->reason[0] ||
			    !(action_by_kind(d->action)->flags & SR_AF_ASKS_REASON)) {
				if (d->reason[0])
					sr_strlcpy(req.reason, d->reason, sizeof req.reason);
				tui_dispatch(t, &req);
			} else {
				/* y, then why: the default names what is firing */
				prompt_default_reason(&t->r->engine, d->action, req.reason,
				                      sizeof req.reason);
				prompt_reason_open(t, &req);
			}
		} else {
			tui_flash(t, SR_YELLOW, "%s cancelled", sr_action_name(d->action));
		}
		return;
	case DLG_WEIGHT:
		if (key >= '0' && key <= '9' && strlen(d->input) < 3) {
			size_t l = strlen(d->input);
			d->input[l] = (char)key;
			d->input[l + 1] = '\0';
			t->dirty |= D_DIALOG;
		} else if (key == TK_BACKSPACE && d->input[0]) {
			d->input[strlen(d->input) - 1] = '\0';
			t->dirty |= D_DIALOG;
		} else if (key == TK_ESC || key == 'q') {
			close_dialog(t);
			tui_flash(t, SR_YELLOW, "%s cancelled", sr_action_name(d->action));
		} else if (key == TK_ENTER) {
			if (!d->input[0])
				return; /* nothing typed: the weight must be typed */
			close_dialog(t);
			tui_request(t, d->action, &req);
			req.weight = atoi(d->input);
			tui_dispatch(t, &req);
		}
		return;
	case DLG_RESULT: close_dialog(t); return;
	default: return;
	}
}

void dialog_open(struct tui *t, enum dlg_kind kind, enum sr_action_kind action, enum tui_role role,
                 const char *title, const char *text)
{
	struct tui_dialog *d = &t->dlg;
	memset(d, 0, sizeof *d);
	d->kind = kind;
	d->action = action;
	d->role = role;
	sr_strlcpy(d->title, title, sizeof d->title);
	sr_strlcpy(d->text, text, sizeof d->text);
	t->dirty |= D_DIALOG;
}
