/* header.c - the two header rows and the trigger banner.
 *
 * Row 1: rollout, canary weight and phase, rollout state, T+ clock, the
 * next gate with its countdown, wall clock, RO badge. Row 2: the decision
 * (GO / HOLD / ROLLBACK / ESCALATE) with its top reason, and how fresh the
 * data is. The banner is the one thing on the screen meant to be
 * impossible to miss: it appears while a rollback trigger fires, names
 * it, and says which key rolls back.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/action.h"
#include "shiproom/calendar.h"
#include "shiproom/client.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

/* Draw pieces left to right separated by two spaces, dropping the ones
 * marked optional when they would not fit before `right`. */
struct piece {
	const char *text;
	enum tui_role role;
	bool optional;
};

static void pieces_draw(int y, int x, int right, const struct piece *p, int n)
{
	int need = 0;
	for (int i = 0; i < n; i++)
		if (p[i].text[0])
			need += text_width(p[i].text) + 2;
	for (int i = 0; i < n; i++) {
		if (!p[i].text[0])
			continue;
		int w = text_width(p[i].text);
		if (p[i].optional && need > right - x) {
			need -= w + 2;
			continue;
		}
		x += term_put(y, x, right - x, p[i].role, p[i].text);
		x += 2;
		if (x >= right)
			break;
	}
}

static void header_row1(struct tui *t)
{
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	const struct sr_rollout *ro = &e->ro;
	int y = t->lay.header.y, w = t->lay.w;
	char weight[48], state[48], clock[24], gate[64], wall[24], who[64], replay[48] = "";
	char bastion[64] = "", edge[40] = "";
	/* the edge reads a weight nobody asked for: its own mark, not only
	 * the decision's first reason (issue 9) */
	if (e->edge_anomaly_since)
		tui_fmt(edge, sizeof edge, "EDGE %d%% != %d%%", e->edge_weight, ro->weight);

	if (ro->phase >= 0 && ro->phase < p->nphases)
		tui_fmt(weight, sizeof weight, "canary %d%%  phase %d/%d", ro->weight,
		        ro->phase + 1, p->nphases);
	else
		tui_fmt(weight, sizeof weight, "canary %d%%", ro->weight);
	tui_fmt(state, sizeof state, "%s", rollout_state_name(rollout_state(ro, p, t->now)));
	sr_fmt_trel(clock, sizeof clock, t->now - ro->t0);
	gate[0] = '\0';
	enum tui_role gate_role = TR_HEADER;
	sr_ms due = 0;
	int g = rollout_next_gate(ro, p, &due);
	if (ro->phase < 0 && !ro->rolled_back && ro->t0 > t->now) {
		char d[24];
		sr_fmt_duration(d, sizeof d, ro->t0 - t->now);
		tui_fmt(gate, sizeof gate, "T-0 in %s", d);
	} else if (g >= 0 && !ro->rolled_back) {
		char d[24];
		sr_fmt_duration(d, sizeof d, due > t->now ? due - t->now : t->now - due);
		/* The word before the number: a narrow header cuts the end,
		 * and "Gate 3 due 2h33m" (its "ago" cut) read like a future
		 * gate. */
		tui_fmt(gate, sizeof gate, due > t->now ? "%s in %s" : "%s OVERDUE %s",
		        p->gates[g].name, d);
		if (due <= t->now)
			gate_role = TR_ST_YELLOW;
	}
	calendar_fmt(&p->calendar, t->now, wall, sizeof wall);
	who_badge(t, who, sizeof who);
	/* The etcd store: this console's service leads or stands by
	 * (bastion.h); the whole line is in `status` and view 7. */
	const char *b = t->o->client ? client_bastion(t->o->client) : "";
	bool lead_ok = strncmp(b, "leader ", 7) == 0 || strncmp(b, "standby", 7) == 0;
	if (strncmp(b, "leader ", 7) == 0)
		tui_fmt(bastion, sizeof bastion, "LEADER");
	else if (strncmp(b, "standby", 7) == 0)
		tui_fmt(bastion, sizeof bastion, "STANDBY");
	else if (strncmp(b, "leader?", 7) == 0)
		tui_fmt(bastion, sizeof bastion, "LEADER?");
	else if (b[0])
		tui_fmt(bastion, sizeof bastion, "STORE DOWN");
	if (replay_badge(t, replay, sizeof replay))
		gate[0] = '\0'; /* a replay's countdowns mean nothing: where and how fast */

	term_fill(y, 0, 1, w, TR_HEADER);
	int right = w - (t->o->read_only ? 5 : 1);
	struct piece pc[] = {
	    {p->rollout, TR_HEADER, false}, {weight, TR_HEADER, false},
	    {state, TR_HEADER, false},      {clock, TR_HEADER, false},
	    {replay, TR_BADGE_RO, false},   {gate, gate_role, false},
	    {edge, TR_ST_RED, false},       {bastion, lead_ok ? TR_HEADER : TR_BADGE_RO, false},
	    {wall, TR_HEADER, true},        {who, TR_HEADER, true},
	};
	pieces_draw(y, 1, right, pc, (int)(sizeof pc / sizeof pc[0]));
	if (t->o->read_only)
		term_put(y, w - 4, 4, TR_BADGE_RO, " RO ");
}

/* Age of the freshest data and how many cells have a data gap; on a
 * real source also when polls happen ("aligned 15s": just after each
 * scrape; "fixed 15s": every poll_s; "fast 2s": a breach may be
 * building; poll_schedule.h). */
static void freshness(const struct tui *t, char *buf, size_t n, enum tui_role *role)
{
	const struct sr_engine *e = &t->r->engine;
	sr_ms newest = -1;
	int stale = 0, error = 0, nodata = 0;
	for (int c = 0; c < t->p->ncells; c++) {
		const struct sr_cell_state *cs = &e->cells[c];
		if (cs->age >= 0 && (newest < 0 || cs->age < newest))
			newest = cs->age;
		stale += cs->status == SR_STALE;
		error += cs->status == SR_ERROR;
		nodata += cs->status == SR_NODATA;
	}
	char age[24], mode[32], when[40] = "";
	if (t->o->client) /* the service's schedule, not the mirror's */
		sr_strlcpy(mode, client_poll_mode(t->o->client), sizeof mode);
	else
		runner_poll_mode(t->r, mode, sizeof mode, true);
	if (mode[0])
		tui_fmt(when, sizeof when, "  %s", mode);
	if (newest < 0) {
		tui_fmt(buf, n, "no data yet");
		*role = TR_ST_NODATA;
		return;
	}
	sr_fmt_duration(age, sizeof age, newest + (t->now > t->r->now ? t->now - t->r->now : 0));
	*role = TR_DIM;
	if (error) {
		tui_fmt(buf, n, "data %s  %d ERROR%s", age, error, when);
		*role = TR_ST_ERROR;
	} else if (stale) {
		tui_fmt(buf, n, "data %s  %d STALE%s", age, stale, when);
		*role = TR_ST_STALE;
	} else if (nodata) {
		tui_fmt(buf, n, "data %s  %d NODATA%s", age, nodata, when);
		*role = TR_ST_NODATA;
	} else {
		tui_fmt(buf, n, "data %s%s", age, when);
	}
}

static void header_row2(struct tui *t)
{
	const struct sr_decision *d = &t->r->engine.decision;
	int y = t->lay.header.y + 1, w = t->lay.w;
	char verdict[24], fresh[64], more[24];
	enum tui_role frole;
	term_fill(y, 0, 1, w, TR_NORMAL);
	tui_fmt(verdict, sizeof verdict, " %s ", sr_verdict_name(d->verdict));
	int x = term_put(y, 1, w - 2, theme_verdict_role(d->verdict), verdict) + 2;
	freshness(t, fresh, sizeof fresh, &frole);
	int fw = text_width(fresh);
	more[0] = '\0';
	if (d->nreasons > 1)
		tui_fmt(more, sizeof more, " (+%d more)", d->nreasons - 1);
	int mw = text_width(more);
	int room = w - x - fw - 3 - mw;
	/* A GO that counts this user's own approval is not a GO for their
	 * promote (rights_check discounts it): say what is still needed. */
	char mine[SR_TEXT_LEN + 32], need[SR_TEXT_LEN];
	const char *first = d->nreasons > 0 ? d->reasons[0] : "";
	enum tui_role frst_role = TR_NORMAL;
	if (d->verdict == SR_GO &&
	    rights_approvals_text(&t->r->engine, tui_actor(t), need, sizeof need) > 0) {
		tui_fmt(mine, sizeof mine, "your promote: %s", need);
		first = mine;
		frst_role = TR_ST_YELLOW;
	}
	if (d->nreasons > 0) {
		int used = term_put(y, x, room, frst_role, first);
		if (used < text_width(first) && room > 1)
			term_put(y, x + room - 1, 1, TR_DIM, glyphs(t->utf8)->ellipsis);
		term_put(y, x + (used < room ? used : room), mw, TR_DIM, more);
	} else {
		term_put(y, x, room, TR_DIM,
		         d->verdict == SR_GO ? "every gating check is GREEN" : "");
	}
	term_put(y, w - fw - 1, fw, frole, fresh);
}

void header_draw(struct tui *t)
{
	header_row1(t);
	header_row2(t);
}

bool banner_active(const struct tui *t, int *trigger)
{
	const struct sr_engine *e = &t->r->engine;
	if (e->ro.rolled_back)
		return false;
	for (int i = 0; i < t->p->ntriggers; i++) {
		if (e->triggers[i].state == SR_TRIG_FIRING) {
			if (trigger)
				*trigger = i;
			return true;
		}
	}
	return false;
}

static void centred(int y, int w, enum tui_role role, const char *s)
{
	int sw = text_width(s);
	int x = sw < w ? (w - sw) / 2 : 0;
	term_put(y, x, w - x, role, s);
}

void banner_draw(struct tui *t)
{
	struct tui_rect b = t->lay.banner;
	int trig = -1;
	if (b.h <= 0 || !banner_active(t, &trig))
		return;
	const struct sr_engine *e = &t->r->engine;
	const struct sr_trigger_state *ts = &e->triggers[trig];
	const struct sr_action_def *rb = action_by_kind(SR_ACT_ROLLBACK);
	int firing = 0;
	for (int i = 0; i < t->p->ntriggers; i++)
		firing += e->triggers[i].state == SR_TRIG_FIRING;
	char line[SR_TEXT_LEN * 2], key[32], since[24];
	char rbkey = rb ? rb->key : '?';
	tui_fmt(key, sizeof key, "press %c, y, enter to roll back", rbkey);
	sr_fmt_duration(since, sizeof since, t->now - ts->since);
	term_fill(b.y, 0, b.h, b.w, TR_BANNER);
	if (b.h >= 3) {
		tui_fmt(line, sizeof line, "!! ROLLBACK TRIGGER FIRING for %s: %s%s !!", since,
		        t->p->triggers[trig].name, firing > 1 ? " (and more)" : "");
		centred(b.y, b.w, TR_BANNER, line);
		centred(b.y + 1, b.w, TR_BANNER, ts->reason);
		centred(b.y + 2, b.w, TR_BANNER, key);
		return;
	}
	tui_fmt(line, sizeof line, "!! TRIGGER FIRING: %s: %s  %s !!", t->p->triggers[trig].name,
	        ts->reason, key);
	if (text_width(line) > b.w)
		tui_fmt(line, sizeof line, "!! TRIGGER FIRING: %s  %s !!",
		        t->p->triggers[trig].name, key);
	if (text_width(line) > b.w)
		tui_fmt(line, sizeof line, "!! TRIGGER FIRING: %s  %c, y, enter: roll back !!",
		        t->p->triggers[trig].name, rbkey);
	centred(b.y, b.w, TR_BANNER, line);
}

void too_small_draw(struct tui *t)
{
	char msg[96];
	tui_fmt(msg, sizeof msg, "shiproom needs at least %dx%d; this terminal is %dx%d",
	        LAYOUT_MIN_W, LAYOUT_MIN_H, t->lay.w, t->lay.h);
	term_fill(0, 0, t->lay.h, t->lay.w, TR_NORMAL);
	int y = t->lay.h / 2;
	int mw = text_width(msg);
	if (mw > t->lay.w) {
		/* Narrower than the message itself: say it in two lines. */
		tui_fmt(msg, sizeof msg, "shiproom needs at least %dx%d", LAYOUT_MIN_W,
		        LAYOUT_MIN_H);
		centred(y > 0 ? y - 1 : 0, t->lay.w, TR_TITLE, msg);
		tui_fmt(msg, sizeof msg, "this terminal is %dx%d", t->lay.w, t->lay.h);
		centred(y, t->lay.w, TR_TITLE, msg);
		return;
	}
	centred(y, t->lay.w, TR_TITLE, msg);
}
