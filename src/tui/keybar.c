/* keybar.c - the key bar (last row) and the status line above it.
 *
 * The key bar shows the actions of the action table (action.h) with
 * their keys, as this user may use them now: allowed ones bright, ones
 * rights_check() refuses right now dimmed (pressing them still goes to
 * the dispatcher, which says why), and the rare ones (tie-break, declare
 * success) only when they are allowed. While a trigger fires the
 * rollback key is highlighted. In read-only mode no action is shown at
 * all, only an RO notice and the navigation keys.
 *
 * The status line shows the views (current one highlighted) and who you
 * are, or for a few seconds the message of the last action, or the '/'
 * filter being typed.
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

static int key_item(int y, int x, int maxx, enum tui_role krole, enum tui_role lrole,
                    const char *key, const char *label)
{
	int need = text_width(key) + 1 + text_width(label) + 2;
	if (x + need > maxx)
		return -1;
	x += term_put(y, x, maxx - x, krole, key);
	x += 1;
	x += term_put(y, x, maxx - x, lrole, label);
	return x + 2;
}

static const char *key_name(int key, char *buf, size_t n)
{
	if (key == ' ')
		return "spc";
	tui_fmt(buf, n, "%c", key);
	return buf;
}

/* May this user do it now? (Only for how the key looks.) */
static bool allowed_now(const struct tui *t, enum sr_action_kind k)
{
	const struct sr_engine *e = &t->r->engine;
	const struct sr_policy *p = t->p;
	char why[SR_TEXT_LEN];
	int arg = -1;
	if (k == SR_ACT_PROMOTE) {
		int next = e->ro.phase + 1;
		if (next >= p->nphases)
			return false;
		arg = p->phases[next].weight;
	}
	return rights_check(e, k, arg, tui_actor(t), t->r->now, why, sizeof why);
}

void keybar_draw(struct tui *t)
{
	struct tui_rect r = t->lay.keybar;
	int y = r.y, x = 1, right = r.w - 16;
	term_fill(y, 0, 1, r.w, TR_NORMAL);
	if (t->o->read_only) {
		x += term_put(y, x, 4, TR_BADGE_RO, " RO ") + 1;
		x += term_put(y, x, right - x, TR_DIM, "read-only: no actions") + 2;
		int nx = key_item(y, x, right, TR_KEY, TR_NORMAL, "1-7", "views");
		if (nx > 0)
			x = nx;
		nx = key_item(y, x, right, TR_KEY, TR_NORMAL, "enter", "detail");
		if (nx > 0)
			x = nx;
		if (t->r->feed) {
			/* a replay's own keys (replay.c) */
			static const char *const rk[][2] = {
			    {"spc", "pause"}, {".,", "event"}, {"+-", "speed"}};
			for (size_t i = 0; i < sizeof rk / sizeof rk[0]; i++) {
				nx = key_item(y, x, right, TR_KEY, TR_NORMAL, rk[i][0], rk[i][1]);
				if (nx > 0)
					x = nx;
			}
		}
	} else {
		int n;
		const struct sr_action_def *defs = action_table(&n);
		bool alarm = banner_active(t, NULL);
		bool held = t->r->engine.ro.held;
		for (int i = 0; i < n; i++) {
			const struct sr_action_def *d = &defs[i];
			bool ok = allowed_now(t, d->kind);
			if ((d->kind == SR_ACT_TIEBREAK || d->kind == SR_ACT_DECLARE_SUCCESS) &&
			    !ok)
				continue;
			if ((d->kind == SR_ACT_TICK || d->kind == SR_ACT_UNTICK) &&
			    t->view != VIEW_CHECKLISTS)
				continue;
			if (d->flags & SR_AF_WORKFLOW)
				continue; /* U and the pager's w: in the help and views 6 */
			/* Hold and resume share a place: show the one that applies. */
			if ((d->kind == SR_ACT_HOLD && held) || (d->kind == SR_ACT_RESUME && !held))
				continue;
			char kb[8], label[32];
			tui_fmt(label, sizeof label, "%s",
			        d->kind == SR_ACT_DECLARE_SUCCESS ? "success" : d->name);
			enum tui_role kr = ok ? TR_KEY : TR_KEY_DIM,
			              lr = ok ? TR_NORMAL : TR_KEY_DIM;
			if (d->kind == SR_ACT_ROLLBACK && alarm) {
				kr = lr = TR_KEY_ALERT;
				tui_fmt(label, sizeof label, "ROLLBACK");
			}
			int nx = key_item(y, x, right, kr, lr, key_name(d->key, kb, sizeof kb),
			                  label);
			if (nx < 0)
				break;
			x = nx;
		}
	}
	/* Then the workflow and navigation keys, while there is room. */
	static const char *const nav[][2] = {
	    {":", "command"}, {"g", "report"}, {"/", "filter"}, {"6", "workflow"}};
	for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
		if (nav[i][0][0] == '/' && t->view != VIEW_MAIN && t->view != VIEW_KPIS)
			continue;
		int nx = key_item(y, x, right, TR_KEY, TR_DIM, nav[i][0], nav[i][1]);
		if (nx < 0)
			break;
		x = nx;
	}
	/* Help and quit always, at the right edge. */
	key_item(y, r.w - 16, r.w, TR_KEY, TR_NORMAL, "?", "help");
	key_item(y, r.w - 8, r.w + 1, TR_KEY, TR_NORMAL, "q", "quit");
}

static const char *const view_names[VIEW_NUMBERED] = {
    "main", "KPIs", "triggers", "checklists", "approvals", "workflow", "who"};

void status_line_draw(struct tui *t)
{
	struct tui_rect r = t->lay.status;
	term_fill(r.y, 0, 1, r.w, TR_NORMAL);
	if (prompt_draw(t))
		return; /* a reason or a ':' command being typed */
	if (t->filter_edit) {
		/* The filter being typed, with a cursor, and how to leave. */
		int x = term_put(r.y, 1, r.w - 2, TR_KEY, "/");
		x += 1 + term_put(r.y, 1 + x, r.w - 2 - x, TR_TITLE, t->filter_edit);
		x += term_put(r.y, x, 1, TR_SELECTED, " ");
		term_put(r.y, x + 2, r.w - x - 3, TR_DIM,
		         t->filter_edit == t->log_filter
		             ? "filtering the event log: enter keeps, esc clears"
		             : "filtering the KPIs: enter keeps, esc clears");
		return;
	}
	if (t->flash[0]) {
		enum tui_role role = theme_status_role(t->flash_sev);
		term_put(r.y, 1, r.w - 2, role == TR_ST_GREEN ? TR_NORMAL : role, t->flash);
		return;
	}
	int x = 1;
	for (int i = 0; i < VIEW_NUMBERED; i++) {
		char s[24];
		tui_fmt(s, sizeof s, "%d %s", i + 1, view_names[i]);
		bool cur = (int)t->view == i;
		int w = term_put(r.y, x, r.w - x, cur ? TR_SELECTED : TR_DIM, s);
		x += w + 2;
	}
	char who[SR_NAME_LEN + 64];
	const char *roles = "";
	for (int k = 0; k < SR_ROLE_COUNT; k++)
		if (rights_has_role(t->p, tui_actor(t), (enum sr_role)k)) {
			roles = sr_role_name((enum sr_role)k);
			break;
		}
	tui_fmt(who, sizeof who, "%s%s%s%s", tui_actor(t), roles[0] ? " (" : " (not on the roster",
	        roles, ")");
	int ww = text_width(who);
	if (x + ww + 2 >= r.w) {
		/* 80 columns: the name alone (help and view 5 say the roles). */
		tui_fmt(who, sizeof who, "%s", tui_actor(t));
		ww = text_width(who);
	}
	if (x + ww + 2 < r.w)
		term_put(r.y, r.w - ww - 1, ww, TR_DIM, who);
}
