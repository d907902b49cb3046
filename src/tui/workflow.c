/* workflow.c - the ship-room workflow on screen: the workflow view (key
 * 6) and the strip of it the main view keeps (one row at 80x24, three on
 * larger terminals).
 *
 * What the Release DRI would otherwise track by hand, from the runner and
 * the reports module (report.h), the rights table (rights.h) and the
 * notifier (notify.h):
 *   - the status-page tile (report_status_tile): GREEN/YELLOW/RED, the
 *     headline and why, the directive's rule;
 *   - the next step: who must still approve it (rights_*), or that it is
 *     pre-approved;
 *   - after a rollback, the postmortem deadline (report_postmortem_due)
 *     and the placeholder written for it;
 *   - the overnight hold's re-evaluation; partial success: the 24 h
 *     reattempt deadline and the remediation checklist Cache -> DB -> App;
 *   - the success criteria, live, with their timers
 *     (engine_criterion_text), and success declared or ready;
 *   - the webhook (notify_status_text) and the reports written.
 * A read-only view: it changes nothing. The strip shows the one thing
 * most worth knowing now, in this order: a failing webhook, the
 * postmortem, partial success, success, the overnight hold, approvals.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/notify.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/client.h"
#include "shiproom/tui.h"

/* "in 47h12m (Fri 10:38)" or "OVERDUE by 2h05m (was due Fri 10:38)". */
static void fmt_due(const struct tui *t, sr_ms due, char *buf, size_t n)
{
	char d[24], wall[24];
	sr_ms now = t->r->now;
	calendar_fmt(&t->p->calendar, due, wall, sizeof wall);
	sr_fmt_duration(d, sizeof d, due >= now ? due - now : now - due);
	if (due >= now)
		tui_fmt(buf, n, "in %s (%s)", d, wall);
	else
		tui_fmt(buf, n, "OVERDUE by %s (was due %s)", d, wall);
}

static int checklist_index(const struct sr_policy *p, const char *id)
{
	for (int l = 0; l < p->nchecklists; l++)
		if (strcmp(p->checklists[l].id, id) == 0)
			return l;
	return -1;
}

/* "Cache done -> DB next -> App" style progress of the remediation
 * checklist; returns the items done. */
static int remediation_text(const struct tui *t, char *buf, size_t n, bool shortform)
{
	const struct sr_policy *p = t->p;
	int l = checklist_index(p, "remediation");
	buf[0] = '\0';
	if (l < 0)
		return 0;
	const struct sr_checklist *cl = &p->checklists[l];
	int done = 0, o = 0;
	bool next_said = false;
	for (int i = 0; i < cl->nitems; i++) {
		bool ok = t->r->engine.ro.ticks[l][i].done;
		done += ok;
		/* The item's short name: its text up to the first ':'. */
		char name[SR_NAME_LEN];
		size_t k = strcspn(cl->items[i].text, ":");
		tui_fmt(name, sizeof name, "%.*s", (int)k, cl->items[i].text);
		const char *mark = ok ? (shortform ? " done" : " (done)") : "";
		if (!ok && !next_said) {
			mark = shortform ? " next" : " (next)";
			next_said = true;
		}
		int w = tui_fmt(buf + o, n - (size_t)o, "%s%s%s", i ? " -> " : "", name, mark);
		if (w < 0 || (size_t)(o + w) >= n)
			break;
		o += w;
	}
	return done;
}

static int criteria_met(const struct tui *t, int *progressing)
{
	const struct sr_engine *e = &t->r->engine;
	int met = 0;
	*progressing = 0;
	for (int c = 0; c < t->p->ncriteria; c++) {
		sr_ms since = e->criterion_since[c];
		if (since <= 0)
			continue;
		if (t->r->now - since >= t->p->criteria[c].sustain_ms)
			met++;
		else
			(*progressing)++;
	}
	return met;
}

static bool at_success_weight(const struct tui *t)
{
	return t->r->engine.ro.weight == t->p->success_weight && !t->r->engine.ro.rolled_back;
}

/* ---- the one most pressing workflow item (the strip) ---------------------- */

struct wf_item {
	char label[24];             /* wide strip: the label column */
	char text[SR_TEXT_LEN * 2]; /* wide strip: what follows it */
	char brief[SR_TEXT_LEN];    /* 80 columns: the whole item in one phrase */
	enum tui_role role;
};

static bool item_postmortem(const struct tui *t, struct wf_item *it)
{
	sr_ms due = report_postmortem_due(t->r);
	if (due <= 0)
		return false;
	char d[64];
	fmt_due(t, due, d, sizeof d);
	tui_fmt(it->label, sizeof it->label, "Rolled back");
	tui_fmt(it->text, sizeof it->text, "postmortem due %s", d);
	tui_fmt(it->brief, sizeof it->brief, "postmortem due %s", d);
	it->role = due >= t->r->now ? TR_ST_YELLOW : TR_ST_RED;
	return true;
}

static bool item_partial(const struct tui *t, struct wf_item *it)
{
	const struct sr_rollout *ro = &t->r->engine.ro;
	if (ro->partial_since <= 0 || ro->rolled_back || ro->success)
		return false;
	char d[64], rem[SR_TEXT_LEN];
	fmt_due(t, ro->partial_since + (sr_ms)t->p->reattempt_h * SR_MS_PER_H, d, sizeof d);
	remediation_text(t, rem, sizeof rem, true);
	tui_fmt(it->label, sizeof it->label, "Partial success");
	tui_fmt(it->text, sizeof it->text, "reattempt due %s; remediation %s", d, rem);
	tui_fmt(it->brief, sizeof it->brief, "partial: reattempt due %s", d);
	it->role = TR_ST_YELLOW;
	return true;
}

static bool item_success(const struct tui *t, struct wf_item *it)
{
	const struct sr_engine *e = &t->r->engine;
	const struct sr_rollout *ro = &e->ro;
	char when[24];
	if (ro->success) {
		tui_trel(t, ro->success_at, when, sizeof when);
		tui_fmt(it->label, sizeof it->label, "Success");
		tui_fmt(it->text, sizeof it->text, "declared at %s: post-canary checklist (4)",
		        when);
		tui_fmt(it->brief, sizeof it->brief, "success declared at %s", when);
		it->role = TR_ST_GREEN;
		return true;
	}
	if (!at_success_weight(t) || t->p->ncriteria == 0)
		return false;
	int prog, met = criteria_met(t, &prog);
	tui_fmt(it->label, sizeof it->label, "Success");
	if (e->success_ready) {
		tui_fmt(it->text, sizeof it->text, "all %d criteria met: S declares success",
		        t->p->ncriteria);
		tui_fmt(it->brief, sizeof it->brief,
		        "success criteria all met: S declares success");
		it->role = TR_ST_GREEN;
		return true;
	}
	/* The criterion with a timer running says the most. */
	char c[SR_TEXT_LEN] = "";
	for (int i = 0; i < t->p->ncriteria; i++) {
		sr_ms since = e->criterion_since[i];
		if (since > 0 && t->r->now - since < t->p->criteria[i].sustain_ms) {
			engine_criterion_text(e, i, t->r->now, c, sizeof c);
			break;
		}
	}
	tui_fmt(it->text, sizeof it->text, "%d/%d criteria met%s%s", met, t->p->ncriteria,
	        c[0] ? "; " : "", c);
	if (prog)
		tui_fmt(it->brief, sizeof it->brief, "%d/%d success criteria met, %d timing", met,
		        t->p->ncriteria, prog);
	else
		tui_fmt(it->brief, sizeof it->brief, "%d/%d success criteria met", met,
		        t->p->ncriteria);
	it->role = TR_ST_YELLOW;
	return true;
}

static bool item_overnight(const struct tui *t, struct wf_item *it)
{
	const struct sr_rollout *ro = &t->r->engine.ro;
	if (ro->overnight_until <= 0 || ro->rolled_back)
		return false;
	char d[64];
	fmt_due(t, ro->overnight_until, d, sizeof d);
	tui_fmt(it->label, sizeof it->label, "Overnight hold");
	tui_fmt(it->text, sizeof it->text, "changes frozen; re-evaluate %s%s", d,
	        ro->tiebreak ? "" : " (or an exec tie-break)");
	tui_fmt(it->brief, sizeof it->brief, "overnight hold: re-evaluate %s", d);
	it->role = TR_ST_YELLOW;
	return true;
}

static bool item_approvals(const struct tui *t, struct wf_item *it)
{
	const struct sr_engine *e = &t->r->engine;
	sr_ms due = 0;
	int g = rollout_next_gate(&e->ro, t->p, &due);
	if (g < 0 || e->ro.rolled_back)
		return false;
	const struct sr_gate *G = &t->p->gates[g];
	char who[SR_TEXT_LEN], text[SR_TEXT_LEN];
	int missing = rights_missing_approvals(e, tui_actor(t), who, sizeof who);
	tui_fmt(it->label, sizeof it->label, "Next: %s", G->name);
	if (missing > 0) {
		rights_approvals_text(e, tui_actor(t), text, sizeof text);
		tui_fmt(it->text, sizeof it->text, "%s", text);
		tui_fmt(it->brief, sizeof it->brief, "%s needs %d approval%s: %s", G->name, missing,
		        missing == 1 ? "" : "s", who[0] ? who : "nobody on the roster");
		it->role = TR_ST_YELLOW;
	} else if (G->pre_approved) {
		tui_fmt(it->text, sizeof it->text,
		        "%d%%->%d%% pre-approved when the decision is GO", G->from_weight,
		        G->to_weight);
		tui_fmt(it->brief, sizeof it->brief, "%s pre-approved when GO", G->name);
		it->role = TR_NORMAL;
	} else {
		int n = rights_approvers(e, tui_actor(t), who, sizeof who);
		tui_fmt(it->text, sizeof it->text, "approvals complete (%d: %s)", n, who);
		tui_fmt(it->brief, sizeof it->brief, "%s approved (%s)", G->name, who);
		it->role = TR_ST_GREEN;
	}
	return true;
}

/* The most pressing item; false when there is nothing to say. */
static bool main_item(const struct tui *t, struct wf_item *it)
{
	memset(it, 0, sizeof *it);
	return item_postmortem(t, it) || item_partial(t, it) || item_success(t, it) ||
	       item_overnight(t, it) || item_approvals(t, it);
}

/* The workflow's reports and webhook, wherever they run: the service's
 * (attached) or this console's own (local). */
static const struct sr_workflow_status *wf_status(const struct tui *t)
{
	static struct sr_workflow_status local;
	if (t->o->client)
		return client_workflow(t->o->client);
	memset(&local, 0, sizeof local);
	local.reporting = t->watching;
	if (t->watching) {
		local.written = t->watch.written;
		sr_strlcpy(local.last_path, t->watch.last_path, sizeof local.last_path);
		local.postmortem_done = t->watch.postmortem_done;
	}
	if (t->o->state_dir && !t->o->read_only)
		sr_strlcpy(local.state_dir, t->o->state_dir, sizeof local.state_dir);
	if (t->o->notify) {
		const struct sr_notify_status *s = notify_status(t->o->notify);
		local.webhook = true;
		notify_status_text(t->o->notify, local.webhook_text, sizeof local.webhook_text);
		local.failing = s->failing;
		local.posted = s->posted;
		local.consecutive_failures = s->consecutive_failures;
		local.last_ok_at = s->last_ok_at;
		sr_strlcpy(local.last_error, s->last_error, sizeof local.last_error);
	}
	return &local;
}

static void webhook_text(const struct tui *t, char *buf, size_t n, enum tui_role *role)
{
	const struct sr_workflow_status *w = wf_status(t);
	if (!w->webhook) {
		tui_fmt(buf, n, "webhook: off");
		*role = TR_DIM;
		return;
	}
	sr_sanitize(buf, w->webhook_text, n);
	*role = w->failing ? TR_ST_RED : TR_DIM;
	if (!w->failing && w->last_ok_at > 0) {
		char at[24];
		size_t l = strlen(buf);
		tui_trel(t, w->last_ok_at, at, sizeof at);
		tui_fmt(buf + l, n - l, ", last %s", at);
	}
}

static void reports_text(const struct tui *t, char *buf, size_t n, enum tui_role *role)
{
	const struct sr_workflow_status *w = wf_status(t);
	*role = TR_DIM;
	if (!t->o->templates) {
		tui_fmt(buf, n, "reports: off (no templates loaded)");
		return;
	}
	if (!w->reporting) {
		tui_fmt(buf, n, "reports: g and c to read%s",
		        t->o->read_only ? " (read-only)" : "");
		return;
	}
	if (w->written == 0) {
		tui_fmt(buf, n, "reports: none due yet");
		return;
	}
	const char *base = strrchr(w->last_path, '/');
	tui_fmt(buf, n, "%d report%s, newest %s", w->written, w->written == 1 ? "" : "s",
	        base ? base + 1 : w->last_path);
}

static void status_tile_text(const struct tui *t, char *buf, size_t n, enum tui_role *role,
                             bool with_reason)
{
	struct sr_status_tile tile;
	report_status_tile(t->r, &tile);
	*role = theme_status_role(tile.color);
	if (with_reason)
		tui_fmt(buf, n, "%s %s %s: %s", sr_status_glyph(tile.color),
		        sr_status_name(tile.color), tile.headline, tile.reason);
	else
		tui_fmt(buf, n, "%s %s", sr_status_glyph(tile.color), tile.headline);
}

/* ---- the workflow's hooks ---------------------------------------------------- */

void workflow_tick(struct tui *t)
{
	if (t->watching)
		report_watch_tick(&t->watch, t->r);
	if (t->o->notify)
		notify_tick(t->o->notify, t->r, t->r->now);
}

/* ---- the strip on the main view ------------------------------------------ */

/* Text in at most w columns, an ellipsis where it is cut. */
static int put_cut(const struct tui *t, int y, int x, int w, enum tui_role role, const char *s)
{
	if (w <= 0)
		return 0;
	int used = term_put(y, x, w, role, s);
	if (used < text_width(s) && used > 0)
		term_put(y, x + used - 1, 1, TR_DIM, glyphs(t->utf8)->ellipsis);
	return used;
}

static int put_label(int y, int x, int w, const char *label)
{
	int k = term_put(y, x, w, TR_TITLE, label);
	return k > 0 ? k + 1 : 0;
}

void workflow_strip_draw(struct tui *t)
{
	struct tui_rect a = t->lay.workflow;
	if (a.h <= 0)
		return;
	char st[SR_TEXT_LEN * 2], wh[SR_TEXT_LEN], rp[SR_TEXT_LEN];
	enum tui_role st_role, wh_role, rp_role;
	struct wf_item it;
	bool has = main_item(t, &it);
	webhook_text(t, wh, sizeof wh, &wh_role);
	reports_text(t, rp, sizeof rp, &rp_role);
	term_fill(a.y, 0, a.h, a.w, TR_NORMAL);

	if (a.h < 3) {
		/* One row: the status page, then a failing webhook (it must be
		 * seen), the pressing item, and a healthy webhook at the right
		 * edge when there is room left for it. */
		status_tile_text(t, st, sizeof st, &st_role, false);
		int y = a.y, x = 1, right = a.w - 1;
		bool failing = wh_role == TR_ST_RED;
		char whb[SR_TEXT_LEN];
		if (failing) {
			/* The error's head ("HTTP 500 Internal Server Error"); the
			 * whole of it is in view 6. */
			const char *err = wf_status(t)->last_error;
			int k = strncmp(err, "HTTP ", 5) == 0 ? 8 : (int)strcspn(err, ":(");
			tui_fmt(whb, sizeof whb, "webhook FAILING (%.*s)", k < 22 ? k : 22, err);
		} else if (wf_status(t)->webhook)
			tui_fmt(whb, sizeof whb, "webhook ok, %ld posted", wf_status(t)->posted);
		else
			whb[0] = '\0';
		sr_sanitize(whb, whb, sizeof whb);
		x += put_label(y, x, right - x, "Status page");
		x += term_put(y, x, right - x, st_role, st) + 2;
		if (failing && x < right) {
			int used = term_put(y, x, right - x < 40 ? right - x : 40, TR_ST_RED, whb);
			x += used + 2;
		}
		if (has && x < right)
			x += put_cut(t, y, x, right - x, it.role, it.brief) + 2;
		int ww = text_width(whb);
		if (!failing && ww > 0 && x + ww <= right)
			term_put(y, right - ww, ww, TR_DIM, whb);
		return;
	}

	/* Three rows: a titled rule, the status page with its reason and the
	 * webhook, the pressing item and the reports. */
	term_hline(a.y, 0, a.w, TR_BORDER);
	term_put(a.y, 2, a.w - 4, TR_TITLE, " Workflow ");
	term_put(a.y, a.w - 22, 20, TR_DIM, " 6: the whole view ");
	int col2 = a.w - 46 > 60 ? a.w - 46 : a.w;
	status_tile_text(t, st, sizeof st, &st_role, true);
	put_label(a.y + 1, 1, 15, "Status page");
	put_cut(t, a.y + 1, 17, col2 - 19, st_role, st);
	if (col2 < a.w)
		put_cut(t, a.y + 1, col2, a.w - col2 - 1, wh_role, wh);
	if (has) {
		term_put(a.y + 2, 1, 15, TR_TITLE, it.label);
		put_cut(t, a.y + 2, 17, col2 - 19, it.role, it.text);
	}
	if (col2 < a.w)
		put_cut(t, a.y + 2, col2, a.w - col2 - 1, rp_role, rp);
}

/* ---- the workflow view (6) -------------------------------------------------- */

struct wf_line {
	char label[24];
	char text[SR_TEXT_LEN * 2];
	enum tui_role lrole, trole;
};

#define WF_MAX 64

static int wf_add(struct wf_line *l, int n, const char *label, enum tui_role trole, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
static int wf_add(struct wf_line *l, int n, const char *label, enum tui_role trole, const char *fmt,
                  ...)
{
	if (n >= WF_MAX)
		return n;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l[n].text, sizeof l[n].text, fmt, ap);
	va_end(ap);
	tui_fmt(l[n].label, sizeof l[n].label, "%s", label);
	l[n].lrole = TR_TITLE;
	l[n].trole = trole;
	return n + 1;
}

static int build_status_page(const struct tui *t, struct wf_line *l, int n)
{
	struct sr_status_tile tile;
	report_status_tile(t->r, &tile);
	enum tui_role role = theme_status_role(tile.color);
	n = wf_add(l, n, "Status page", role, "%s %s  %s", sr_status_glyph(tile.color),
	           sr_status_name(tile.color), tile.headline);
	n = wf_add(l, n, "", TR_NORMAL, "%s", tile.reason);
	if (t->p->status_page_rule[0])
		n = wf_add(l, n, "", TR_DIM, "rule: %s", t->p->status_page_rule);
	return n;
}

static int build_next_step(const struct tui *t, struct wf_line *l, int n)
{
	const struct sr_engine *e = &t->r->engine;
	sr_ms due = 0;
	int g = rollout_next_gate(&e->ro, t->p, &due);
	char who[SR_TEXT_LEN], text[SR_TEXT_LEN], when[24];
	if (e->ro.rolled_back) {
		return wf_add(l, n, "Next step", TR_DIM, "none: the rollout was rolled back");
	}
	if (g < 0) {
		return wf_add(l, n, "Next step", TR_DIM, "no gate ahead (%s)",
		              e->ro.success ? "success declared" : "the last phase");
	}
	const struct sr_gate *G = &t->p->gates[g];
	tui_trel(t, due, when, sizeof when);
	int missing = rights_approvals_text(e, tui_actor(t), text, sizeof text);
	if (missing > 0) {
		n = wf_add(l, n, "Next step", TR_ST_YELLOW, "%s", text);
	} else if (G->pre_approved) {
		n = wf_add(l, n, "Next step", TR_NORMAL,
		           "%s (%d%%->%d%%, window ends %s): pre-approved when the decision is GO",
		           G->name, G->from_weight, G->to_weight, when);
		return n;
	} else {
		n = wf_add(l, n, "Next step", TR_ST_GREEN, "%s (%d%%->%d%%): approvals complete",
		           G->name, G->from_weight, G->to_weight);
	}
	int have = rights_approvers(e, NULL, who, sizeof who); /* who did, self included */
	n = wf_add(l, n, "", TR_NORMAL, "approved so far: %s", have ? who : "nobody");
	n = wf_add(l, n, "", TR_DIM,
	           "%s's window ends %s. a approves, 5 shows the gates and roster", G->name, when);
	return n;
}

static int build_rollback(const struct tui *t, struct wf_line *l, int n)
{
	const struct sr_rollout *ro = &t->r->engine.ro;
	if (!ro->rolled_back)
		return n;
	char at[24], d[64];
	tui_trel(t, ro->rolled_back_at, at, sizeof at);
	n = wf_add(l, n, "Rolled back", TR_ST_RED, "at %s by %s: %s", at, ro->rolled_back_by,
	           ro->rollback_reason[0] ? ro->rollback_reason : "no reason given");
	sr_ms due = report_postmortem_due(t->r);
	fmt_due(t, due, d, sizeof d);
	n = wf_add(l, n, "", due >= t->r->now ? TR_ST_YELLOW : TR_ST_RED, "postmortem due %s", d);
	const struct sr_workflow_status *w = wf_status(t);
	const char *pm = w->reporting && w->postmortem_done ? strstr(w->last_path, "/postmortem-")
	                                                    : NULL;
	if (pm)
		n = wf_add(l, n, "", TR_DIM, "placeholder written: %s (state dir)", pm + 1);
	return n;
}

static int build_overnight(const struct tui *t, struct wf_line *l, int n)
{
	struct wf_item it;
	if (!item_overnight(t, &it))
		return n;
	return wf_add(l, n, "Overnight", it.role, "%s", it.text);
}

static int build_partial(const struct tui *t, struct wf_line *l, int n)
{
	const struct sr_rollout *ro = &t->r->engine.ro;
	if (ro->partial_since <= 0 || ro->rolled_back || ro->success)
		return n;
	char d[64];
	fmt_due(t, ro->partial_since + (sr_ms)t->p->reattempt_h * SR_MS_PER_H, d, sizeof d);
	n = wf_add(l, n, "Partial success", TR_ST_YELLOW, "held at %d%%; reattempt due %s",
	           t->p->partial_weight, d);
	int cl = checklist_index(t->p, "remediation");
	if (cl < 0)
		return n;
	const struct sr_checklist *c = &t->p->checklists[cl];
	bool next_said = false;
	for (int i = 0; i < c->nitems; i++) {
		const struct sr_tick *tk = &ro->ticks[cl][i];
		const struct tui_glyphs *g = glyphs(t->utf8);
		const char *mark = tk->done ? g->tick : " ";
		const char *next = "";
		if (!tk->done && !next_said) {
			next = "  <- next";
			next_said = true;
		}
		n = wf_add(l, n, i == 0 ? "Remediation" : "", tk->done ? TR_ST_GREEN : TR_NORMAL,
		           "[%s] %d. %s%s", mark, i + 1, c->items[i].text, next);
	}
	return n;
}

static int build_success(const struct tui *t, struct wf_line *l, int n)
{
	const struct sr_engine *e = &t->r->engine;
	const struct sr_rollout *ro = &e->ro;
	char when[24], c[SR_TEXT_LEN * 2];
	if (ro->success) {
		tui_trel(t, ro->success_at, when, sizeof when);
		n = wf_add(l, n, "Success", TR_ST_GREEN,
		           "declared at %s: the post-canary checklist (4) and the win note", when);
	} else if (e->success_ready) {
		n = wf_add(l, n, "Success", TR_ST_GREEN,
		           "every criterion met at %d%%: S declares success (Release DRI)",
		           t->p->success_weight);
	} else if (at_success_weight(t)) {
		int prog, met = criteria_met(t, &prog);
		n = wf_add(l, n, "Success", TR_ST_YELLOW,
		           "%d of %d criteria met, %d with a timer running", met, t->p->ncriteria,
		           prog);
	} else {
		n = wf_add(l, n, "Success", TR_DIM, "criteria judged at %d%% (canary %d%% now)",
		           t->p->success_weight, ro->weight);
	}
	bool judged = at_success_weight(t) || ro->success;
	if (!judged) {
		/* Not judged yet: the criteria in one paragraph, not six rows
		 * that each say "judged at 100%". */
		int o = 0;
		c[0] = '\0';
		for (int i = 0; i < t->p->ncriteria && o >= 0 && (size_t)o < sizeof c; i++) {
			int k = tui_fmt(c + o, sizeof c - (size_t)o, "%s%s", i ? ", " : "",
			                t->p->criteria[i].text);
			if (k < 0)
				break;
			o += k;
		}
		return wf_add(l, n, "", TR_DIM, "%s", c);
	}
	for (int i = 0; i < t->p->ncriteria; i++) {
		engine_criterion_text(e, i, t->r->now, c, sizeof c);
		sr_ms since = e->criterion_since[i];
		enum sr_status st = since <= 0                                         ? SR_RED
		                    : t->r->now - since < t->p->criteria[i].sustain_ms ? SR_YELLOW
		                                                                       : SR_GREEN;
		n = wf_add(l, n, "", theme_status_role(st), "%-2s %s", sr_status_glyph(st), c);
	}
	return n;
}

static int build_comms(const struct tui *t, struct wf_line *l, int n)
{
	char buf[SR_TEXT_LEN];
	enum tui_role role;
	webhook_text(t, buf, sizeof buf, &role);
	const struct sr_workflow_status *s = wf_status(t);
	n = wf_add(l, n, "Webhook", role == TR_DIM ? TR_NORMAL : role, "%s%s", buf,
	           s->webhook ? (t->o->read_only ? "" : "; U posts an update now")
	                      : " (no webhook URL configured)");
	if (s->webhook) {
		if (s->failing && s->last_error[0]) {
			char err[SR_REASON_LEN];
			sr_sanitize(err, s->last_error, sizeof err);
			n = wf_add(l, n, "", TR_ST_RED, "last error: %s (%d failures in a row)",
			           err, s->consecutive_failures);
		}
	}
	reports_text(t, buf, sizeof buf, &role);
	n = wf_add(l, n, "Reports", TR_NORMAL, "%s", buf);
	if (t->o->templates)
		n = wf_add(
		    l, n, "", TR_DIM, "%s%s", "g gate report, c phase card; w in them writes to ",
		    s->state_dir[0] && !t->o->read_only ? s->state_dir : "(nowhere: no state dir)");
	return n;
}

struct wf_row {
	const struct wf_line *l;
	char text[TEXT_LINE_BYTES];
	bool first;
};

#define LABEL_W 16

void workflow_draw(struct tui *t)
{
	static struct wf_line lines[WF_MAX];
	static struct wf_row rows[WF_MAX * 4];
	static char frag[8][TEXT_LINE_BYTES];
	struct tui_rect b = t->lay.body;
	int n = 0;
	n = build_status_page(t, lines, n);
	n = build_next_step(t, lines, n);
	n = build_rollback(t, lines, n);
	n = build_overnight(t, lines, n);
	n = build_partial(t, lines, n);
	n = build_success(t, lines, n);
	n = build_comms(t, lines, n);
	int nr = 0, tw = b.w - LABEL_W - 2;
	for (int i = 0; i < n && nr < WF_MAX * 4; i++) {
		int nf = text_wrap(lines[i].text[0] ? lines[i].text : " ", tw, frag, 8);
		for (int f = 0; f < nf && nr < WF_MAX * 4; f++, nr++) {
			rows[nr].l = &lines[i];
			rows[nr].first = f == 0;
			sr_strlcpy(rows[nr].text, frag[f], sizeof rows[nr].text);
		}
	}
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	term_put(
	    b.y, 1, b.w - 2, TR_TITLE,
	    b.w >= 100
	        ? "Workflow   g gate report  c phase card  U post an update  j/k scroll  esc back"
	        : "Workflow   g gate report  c phase card  esc back");
	int rowsh = b.h - 1;
	int top = t->workflow_scroll;
	if (top > nr - rowsh)
		top = nr - rowsh;
	if (top < 0)
		top = 0;
	/* A new section starts with a label: a blank row before it, when
	 * everything fits with the blanks. */
	int sections = 0;
	for (int i = 0; i < nr; i++)
		sections += rows[i].first && rows[i].l->label[0];
	bool spaced = nr + sections - 1 <= rowsh && top == 0;
	int y = b.y + 1;
	for (int i = top; i < nr && y < b.y + b.h; i++) {
		const struct wf_row *r = &rows[i];
		if (spaced && i > 0 && r->first && r->l->label[0]) {
			y++;
			if (y >= b.y + b.h)
				break;
		}
		if (r->first && r->l->label[0])
			term_put(y, 1, LABEL_W - 1, r->l->lrole, r->l->label);
		term_put(y, LABEL_W + 1, tw, r->l->trole, r->text);
		y++;
	}
	if (nr > rowsh && top + rowsh < nr)
		term_put(b.y + b.h - 1, b.w - 12, 11, TR_DIM, "j/k: more");
}
