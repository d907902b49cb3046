/* prompt.c - the line typed on the status row: an action's reason, and
 * the ':' command line (vim, k9s).
 *
 * Hold, rollback (after its y) and approve ask why, offering a default
 * from what is RED or firing (Enter accepts it, esc cancels, ^U clears
 * it to type another): the journal, the log, the reports and #ship-room
 * then carry the DRI's words instead of "from the console". A note and
 * an undone tick ask for their text, with nothing offered.
 *
 * The ':' line runs what a key does not cover: `:hold DB locks`,
 * `:note DB locks on the primary, watching`, `:goto T+130` (or just
 * `:T+130`, in a replay), `:view triggers`, `:speed 120`, `:q`; Tab
 * completes a command's name. Every action still goes through
 * tui_dispatch() (the dispatcher decides and refuses); a rollback still
 * asks for its y.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

void prompt_default_reason(const struct sr_engine *e, enum sr_action_kind k, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	char label[SR_NAME_LEN * 2];
	buf[0] = '\0';
	if (k == SR_ACT_NOTE || k == SR_ACT_UNTICK)
		return; /* the words are the point: nothing to offer */
	for (int t = 0; t < p->ntriggers; t++) {
		if (e->triggers[t].state == SR_TRIG_FIRING) {
			tui_fmt(buf, n, "%s: %s", p->triggers[t].name, e->triggers[t].reason);
			return;
		}
	}
	int red = 0, first = -1;
	for (int c = 0; c < p->ncells; c++)
		if (e->cells[c].status == SR_RED && red++ == 0)
			first = c;
	if (first >= 0) {
		engine_cell_label(e, first, label, sizeof label);
		tui_fmt(buf, n, "%s RED: %s%s", label, engine_cell_reason(e, first),
		        red > 1 ? " (and more RED)" : "");
		return;
	}
	if (e->decision.nreasons > 0)
		tui_fmt(buf, n, "%s: %s", sr_verdict_name(e->decision.verdict),
		        e->decision.reasons[0]);
}

void prompt_reason_open(struct tui *t, const struct sr_action_request *req)
{
	struct tui_prompt *pr = &t->prompt;
	memset(pr, 0, sizeof *pr);
	pr->active = true;
	pr->req = *req;
	if (req->kind == SR_ACT_NOTE)
		tui_fmt(pr->label, sizeof pr->label, "note");
	else
		tui_fmt(pr->label, sizeof pr->label, "why %s?", sr_action_name(req->kind));
	sr_strlcpy(pr->text, req->reason, sizeof pr->text);
	t->dirty |= D_STATUS;
}

void prompt_command_open(struct tui *t)
{
	struct tui_prompt *pr = &t->prompt;
	memset(pr, 0, sizeof *pr);
	pr->active = true;
	pr->command = true;
	t->dirty |= D_STATUS;
}

/* ---- commands ---------------------------------------------------------------- */

static const char *const extra_commands[] = {"goto", "view", "speed", "pause", "help", "quit"};
#define NEXTRA ((int)(sizeof extra_commands / sizeof extra_commands[0]))

/* The i-th command name: the action table's, then the console's own. */
static const char *command_name(int i)
{
	int n;
	const struct sr_action_def *defs = action_table(&n);
	if (i < n)
		return defs[i].name;
	return i - n < NEXTRA ? extra_commands[i - n] : NULL;
}

int prompt_complete(const char *typed, char *out, size_t n)
{
	size_t tl = strlen(typed);
	int matches = 0;
	out[0] = '\0';
	for (int i = 0; command_name(i); i++) {
		const char *c = command_name(i);
		if (strncmp(c, typed, tl) != 0)
			continue;
		if (matches++ == 0) {
			sr_strlcpy(out, c, n);
			continue;
		}
		size_t k = 0;
		while (out[k] && out[k] == c[k])
			k++;
		out[k] = '\0';
	}
	return matches;
}

/* "T+130", "T-30", "+130", "130": minutes from T-0; false otherwise. */
static bool parse_trel(const char *s, int *min)
{
	while (*s == ' ')
		s++;
	if (*s == 'T' || *s == 't')
		s++;
	char *end;
	long v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (end == s || *end || v < -100000 || v > 100000)
		return false;
	*min = (int)v;
	return true;
}

static const struct {
	const char *name;
	enum tui_view_id view;
} view_names[] = {{"main", VIEW_MAIN},
                  {"kpis", VIEW_KPIS},
                  {"triggers", VIEW_TRIGGERS},
                  {"checklists", VIEW_CHECKLISTS},
                  {"approvals", VIEW_APPROVALS},
                  {"workflow", VIEW_WORKFLOW},
                  {"who", VIEW_WHO},
                  {"help", VIEW_HELP}};
#define NVIEW_NAMES (sizeof view_names / sizeof view_names[0])

/* ":view NAME" (any prefix) or ":view N", N the view's key (1-7). */
static void run_view(struct tui *t, const char *arg)
{
	if (arg[0] >= '1' && arg[0] <= '0' + VIEW_NUMBERED && arg[1] == '\0') {
		tui_set_view(t,
		             (enum tui_view_id)(arg[0] - '1')); /* the numbered views come first */
		return;
	}
	for (size_t i = 0; i < NVIEW_NAMES; i++) {
		if (arg[0] && strncmp(view_names[i].name, arg, strlen(arg)) == 0) {
			tui_set_view(t, view_names[i].view);
			return;
		}
	}
	char names[128] = "";
	for (size_t i = 0; i < NVIEW_NAMES; i++)
		tui_fmt(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "",
		        view_names[i].name);
	tui_flash(t, SR_YELLOW, "no view \"%.20s\" (%s, or 1-%d)", arg, names, VIEW_NUMBERED);
}

static void run_action(struct tui *t, const struct sr_action_def *d, const char *arg)
{
	struct sr_action_request req;
	tui_request(t, d->kind, &req);
	sr_strlcpy(req.reason, arg, sizeof req.reason);
	if (t->o->read_only) {
		tui_dispatch(t, &req); /* the dispatcher says why not */
		return;
	}
	if (d->flags & (SR_AF_TYPE_WEIGHT)) {
		keys_handle(t, d->key); /* the weight is confirmed, as with the key */
		/* ":promote 25" offers its 25 (still to be confirmed with enter) */
		size_t n = strspn(arg, "0123456789");
		if (t->dlg.kind == DLG_WEIGHT && n >= 1 && n <= 3 && arg[n] == '\0') {
			memcpy(t->dlg.input, arg, n + 1);
			t->dirty |= D_DIALOG;
		}
		return;
	}
	if (d->flags & SR_AF_DANGEROUS) {
		keys_handle(t, d->key); /* the y first ... */
		if (t->dlg.kind == DLG_CONFIRM)
			sr_strlcpy(t->dlg.reason, arg,
			           sizeof t->dlg.reason); /* ... then this reason */
		return;
	}
	if (!arg[0] && (d->flags & (SR_AF_ASKS_REASON | SR_AF_NEEDS_TEXT))) {
		prompt_default_reason(&t->r->engine, d->kind, req.reason, sizeof req.reason);
		prompt_reason_open(t, &req);
		return;
	}
	tui_dispatch(t, &req);
}

static void run_goto(struct tui *t, int min)
{
	if (!replay_goto(t, t->r->engine.ro.t0 + (sr_ms)min * SR_MS_PER_MIN))
		tui_flash(t, SR_YELLOW,
		          "goto works in a replay (shiproom replay FILE); a live console "
		          "is always now");
}

void prompt_run(struct tui *t, const char *line)
{
	char cmd[SR_NAME_LEN], full[SR_NAME_LEN];
	while (*line == ' ')
		line++;
	size_t cl = strcspn(line, " ");
	if (cl == 0)
		return;
	if (cl >= sizeof cmd)
		cl = sizeof cmd - 1;
	memcpy(cmd, line, cl);
	cmd[cl] = '\0';
	const char *arg = line + strcspn(line, " ");
	while (*arg == ' ')
		arg++;
	int min;
	/* `:T+130` is a goto, as `:42` is a line in vim */
	if ((cmd[0] == 'T' || cmd[0] == 't' || isdigit((unsigned char)cmd[0]) || cmd[0] == '+' ||
	     cmd[0] == '-') &&
	    parse_trel(line, &min)) {
		run_goto(t, min);
		return;
	}
	if (strcmp(cmd, "q") == 0 || strcmp(cmd, "quit") == 0) {
		t->quit = true;
		return;
	}
	int matches = prompt_complete(cmd, full, sizeof full);
	bool exact = false;
	for (int i = 0; command_name(i); i++)
		exact |= strcmp(command_name(i), cmd) == 0;
	if (exact)
		sr_strlcpy(full, cmd, sizeof full);
	else if (matches != 1) {
		tui_flash(t, SR_YELLOW,
		          matches ? "\"%.20s\" is ambiguous (Tab lists the commands)"
		                  : "no command \"%.20s\" (Tab completes; ? is the help)",
		          cmd);
		return;
	}
	const struct sr_action_def *d = action_by_name(full);
	if (d) {
		run_action(t, d, arg);
	} else if (strcmp(full, "goto") == 0) {
		if (!parse_trel(arg, &min)) {
			tui_flash(t, SR_YELLOW, "goto T+MIN (minutes from T-0), e.g. :goto T+130");
			return;
		}
		run_goto(t, min);
	} else if (strcmp(full, "view") == 0) {
		run_view(t, arg);
	} else if (strcmp(full, "speed") == 0 || strcmp(full, "pause") == 0) {
		if (!t->r->feed) {
			tui_flash(t, SR_YELLOW,
			          "%s works in a replay; a live console runs at its speed", full);
			return;
		}
		if (full[0] == 'p') {
			replay_key(t, ' ');
			return;
		}
		double s = atof(arg);
		if (s <= 0 || s > 100000) {
			tui_flash(t, SR_YELLOW, "speed N, e.g. :speed 60");
			return;
		}
		clock_set_speed(t->o->clock, clock_real_ms(), s);
		tui_flash(t, SR_GREEN, "replay speed x%g", s);
		t->dirty |= D_HEADER;
	} else if (strcmp(full, "help") == 0) {
		tui_set_view(t, VIEW_HELP);
	} else if (strcmp(full, "quit") == 0) {
		t->quit = true;
	}
}

/* ---- typing ------------------------------------------------------------------ */

static void prompt_close(struct tui *t)
{
	t->prompt.active = false;
	t->dirty |= D_STATUS | D_KEYBAR;
}

/* A byte typed or pasted into a line: printable ASCII, and on a UTF-8
 * terminal the bytes of other characters (what is not valid UTF-8 is
 * made '?' by the action's sr_sanitize before it goes anywhere). */
static bool line_byte(int b)
{
	return (b >= 0x20 && b < 0x7f) || (b >= 0x80 && b <= 0xff && term_utf8());
}

void prompt_line_key(char *line, size_t cap, int key)
{
	size_t l = strlen(line);
	if (key == TK_BACKSPACE) {
		/* a whole character: its continuation bytes, then its lead */
		while (l > 0 && ((unsigned char)line[l - 1] & 0xC0) == 0x80)
			l--;
		if (l > 0)
			l--;
		line[l] = '\0';
	} else if (line_byte(key) && l + 1 < cap) {
		line[l] = (char)key;
		line[l + 1] = '\0';
	}
}

void prompt_append_paste(char *line, size_t cap, const char *text)
{
	size_t l = strlen(line);
	for (const unsigned char *p = (const unsigned char *)text; *p && l + 1 < cap; p++) {
		if (line_byte(*p))
			line[l++] = (char)*p;
		else if (*p == '\n' || *p == '\r' || *p == '\t')
			line[l++] = ' ';
	}
	line[l] = '\0';
}

void prompt_key(struct tui *t, int key)
{
	struct tui_prompt *pr = &t->prompt;
	size_t l = strlen(pr->text);
	if (key == TK_ESC || key == TK_CTRL_C) {
		prompt_close(t);
		if (!pr->command)
			tui_flash(t, SR_YELLOW, "%s cancelled", sr_action_name(pr->req.kind));
		return;
	}
	if (key == TK_PASTE) {
		prompt_append_paste(pr->text, sizeof pr->text, term_paste_text());
		t->dirty |= D_STATUS;
		return;
	}
	if (key == TK_ENTER) {
		prompt_close(t);
		if (pr->command) {
			char line[SR_REASON_LEN];
			sr_strlcpy(line, pr->text, sizeof line);
			prompt_run(t, line);
			return;
		}
		struct sr_action_request req = pr->req;
		sr_strlcpy(req.reason, pr->text, sizeof req.reason);
		tui_dispatch(t, &req);
		return;
	}
	if (key == TK_BACKSPACE) {
		if (l > 0)
			prompt_line_key(pr->text, sizeof pr->text, key);
		else if (pr->command)
			prompt_close(t); /* backspace over the ':' leaves, as in vim */
	} else if (key == 21) {          /* ^U */
		pr->text[0] = '\0';
	} else if (key == TK_TAB && pr->command && !strchr(pr->text, ' ')) {
		char full[SR_NAME_LEN];
		int m = prompt_complete(pr->text, full, sizeof full);
		if (m >= 1)
			tui_fmt(pr->text, sizeof pr->text, "%s%s", full, m == 1 ? " " : "");
		if (m > 1) {
			char list[SR_TEXT_LEN] = "";
			size_t tl = strlen(pr->text);
			for (int i = 0; command_name(i); i++)
				if (strncmp(command_name(i), pr->text, tl) == 0) {
					strncat(list, command_name(i),
					        sizeof list - strlen(list) - 2);
					strncat(list, " ", sizeof list - strlen(list) - 1);
				}
			tui_flash(t, SR_GREEN, "%s", list);
		}
	} else if (line_byte(key)) {
		prompt_line_key(pr->text, sizeof pr->text, key);
	} else {
		return;
	}
	t->dirty |= D_STATUS;
}

bool prompt_draw(struct tui *t)
{
	struct tui_prompt *pr = &t->prompt;
	if (!pr->active)
		return false;
	struct tui_rect r = t->lay.status;
	int x = 1;
	if (pr->command) {
		x += term_put(r.y, x, r.w - 2, TR_KEY, ":");
	} else {
		x += term_put(r.y, x, r.w - 2, TR_KEY, pr->label);
		x += 1;
	}
	/* What enter does is always in sight: after "x" and "y" a rollback
	 * waits for it, and a long reason offered by default would push a
	 * trailing hint off the line. The reason gives up room first. */
	char hint[64];
	if (pr->command)
		tui_fmt(hint, sizeof hint, "enter runs, tab completes, esc leaves");
	else
		tui_fmt(hint, sizeof hint, "enter: %s  ^U clears  esc cancels",
		        pr->req.kind == SR_ACT_NOTE ? "save" : sr_action_name(pr->req.kind));
	int hint_w = text_width(hint) + 2;
	int room = r.w - x - 2;
	if (room - hint_w >= 16)
		room -= hint_w;
	const char *shown = pr->text;
	/* the end of a long line stays in sight, where the cursor is */
	while (room > 0 && text_width(shown) > room - 1) {
		shown++;
		while (((unsigned char)*shown & 0xC0) == 0x80)
			shown++; /* a character's continuation bytes go with it */
	}
	x += term_put(r.y, x, r.w - 2 - x, TR_TITLE, shown);
	x += term_put(r.y, x, 1, TR_SELECTED, " ");
	if (x + hint_w <= r.w)
		term_put(r.y, x + 2, r.w - x - 3, TR_DIM, hint);
	return true;
}
