/* timeline.c - the day at a glance: T-2h -> T-0 -> gates -> end of day.
 *
 * One axis from the first pre-flight deadline (T-2h) to the end of the
 * business day, the phases named along it, each gate marked with its
 * outcome (pending, passed, held, rolled back), holds and rollbacks from
 * the log marked where they happened, and a now-marker. The elapsed part
 * is drawn brighter than what is still ahead.
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

struct axis {
	sr_ms start, end;
	int x0, w;
};

static int axis_x(const struct axis *a, sr_ms tm)
{
	if (tm <= a->start)
		return a->x0;
	if (tm >= a->end)
		return a->x0 + a->w - 1;
	return a->x0 + (int)((tm - a->start) * (a->w - 1) / (a->end - a->start));
}

static void axis_range(const struct tui *t, struct axis *a)
{
	const struct sr_policy *p = t->p;
	sr_ms t0 = t->r->engine.ro.t0;
	int first = -120, last = 0;
	const struct sr_checklist *pf = policy_checklist(p, "preflight");
	for (int i = 0; pf && i < pf->nitems; i++)
		if (pf->items[i].due_min < first)
			first = pf->items[i].due_min;
	for (int g = 0; g < p->ngates; g++)
		if (p->gates[g].at_min > last)
			last = p->gates[g].at_min;
	a->start = t0 + first * SR_MS_PER_MIN;
	/* End of the business day T-0 falls on; at least an hour past the
	 * last gate; and always including now. */
	int mod = calendar_minute_of_day(&p->calendar, t0);
	sr_ms eod = t0 + (sr_ms)(p->calendar.end_of_day_min - mod) * SR_MS_PER_MIN;
	sr_ms min_end = t0 + (sr_ms)(last + 60) * SR_MS_PER_MIN;
	a->end = eod > min_end ? eod : min_end;
	if (t->now + 30 * SR_MS_PER_MIN > a->end)
		a->end = t->now + 30 * SR_MS_PER_MIN;
	a->x0 = 1;
	a->w = t->lay.w - 2;
}

/* A label at column x (centred on it), never over the previous one. */
static int place(int y, int x, int *last_end, int maxx, enum tui_role role, const char *s)
{
	int sw = text_width(s);
	int at = x - sw / 2;
	if (at <= *last_end)
		at = *last_end + 1;
	if (at + sw > maxx)
		return -1;
	term_put(y, at, sw, role, s);
	*last_end = at + sw;
	return at;
}

static void draw_axis(struct tui *t, const struct axis *a, int y)
{
	const struct sr_policy *p = t->p;
	const struct sr_rollout *ro = &t->r->engine.ro;
	const struct tui_glyphs *g = glyphs(t->utf8);
	int nowx = axis_x(a, t->now);
	for (int x = a->x0; x < a->x0 + a->w; x++)
		term_put(y, x, 1, x <= nowx ? TR_PAST : TR_FUTURE, g->h);
	/* Phase names in the middle of their spans. */
	sr_ms t0 = ro->t0;
	for (int i = 0; i < p->nphases; i++) {
		sr_ms s = t0 + (sr_ms)p->phases[i].start_min * SR_MS_PER_MIN;
		sr_ms e = i + 1 < p->nphases
		              ? t0 + (sr_ms)p->phases[i + 1].start_min * SR_MS_PER_MIN
		              : a->end;
		int xs = axis_x(a, s), xe = axis_x(a, e);
		char name[SR_NAME_LEN + 2];
		tui_fmt(name, sizeof name, " %s ", p->phases[i].name);
		int nw = text_width(name);
		if (xe - xs > nw + 2) {
			int mid = (xs + xe) / 2 - nw / 2;
			/* Keep the name clear of the now-marker, which may sit
			 * on this row (compact timeline). */
			if (nowx >= mid && nowx < mid + nw) {
				if (nowx + 1 + nw < xe)
					mid = nowx + 1;
				else if (nowx - nw > xs)
					mid = nowx - nw;
				else
					continue;
			}
			bool cur = ro->phase == i && !ro->rolled_back;
			term_put(y, mid, nw, cur ? TR_TITLE : (mid <= nowx ? TR_PAST : TR_FUTURE),
			         name);
		}
	}
	term_put(y, axis_x(a, t0), 1, t->now >= t0 ? TR_PAST : TR_FUTURE, g->gate);
	for (int i = 0; i < p->ngates; i++) {
		int x = axis_x(a, t0 + (sr_ms)p->gates[i].at_min * SR_MS_PER_MIN);
		switch (ro->gates[i].outcome) {
		case SR_GATE_PASSED: term_put(y, x, 1, TR_ST_GREEN, g->tick); break;
		case SR_GATE_HELD: term_put(y, x, 1, TR_ST_YELLOW, g->hold); break;
		case SR_GATE_ROLLED_BACK: term_put(y, x, 1, TR_ST_RED, g->cross); break;
		default: term_put(y, x, 1, x <= nowx ? TR_PAST : TR_FUTURE, g->gate); break;
		}
	}
	/* Holds and rollbacks from the log, where they happened. */
	for (int i = 0; i < SR_LOG_LEN; i++) {
		const struct sr_log_entry *le = runner_log_entry(t->r, i);
		if (!le)
			break;
		if (le->kind != SR_LOG_ACTION || le->at < a->start || le->at > a->end)
			continue;
		if (strncmp(le->text, "hold by", 7) == 0)
			term_put(y, axis_x(a, le->at), 1, TR_ST_YELLOW, g->hold);
		else if (strncmp(le->text, "rollback by", 11) == 0)
			term_put(y, axis_x(a, le->at), 1, TR_ST_RED, g->cross);
	}
	/* Notes where they were added ("n"; the event log has their words),
	 * under holds and rollbacks, which are drawn after them. */
	for (int i = 0; rollout_note_at(ro, i); i++) {
		const struct sr_note *nt = rollout_note_at(ro, i);
		if (nt->at >= a->start && nt->at <= a->end)
			term_put(y, axis_x(a, nt->at), 1, TR_KEY, "n");
	}
	if (ro->held)
		term_put(y, axis_x(a, ro->held_since), 1, TR_ST_YELLOW, g->hold);
	if (ro->rolled_back)
		term_put(y, axis_x(a, ro->rolled_back_at), 1, TR_ST_RED, g->cross);
}

static void draw_labels(struct tui *t, const struct axis *a, int y)
{
	const struct sr_policy *p = t->p;
	sr_ms t0 = t->r->engine.ro.t0;
	int last = 0, maxx = a->x0 + a->w;
	char s[32];
	sr_fmt_duration(s, sizeof s, t0 - a->start);
	char first[40];
	tui_fmt(first, sizeof first, "T-%s", s);
	/* "T-2h00m" reads better as "T-2h". */
	size_t fl = strlen(first);
	if (fl > 3 && strcmp(first + fl - 3, "00m") == 0)
		first[fl - 3] = '\0';
	term_put(y, a->x0, 8, TR_DIM, first);
	last = a->x0 + text_width(first);
	place(y, axis_x(a, t0), &last, maxx, TR_DIM, "T-0");
	/* The end-of-day label is placed first at the far right so the
	 * gates give way to it, not the other way round. */
	int eod_x = maxx - 3;
	for (int i = 0; i < p->ngates; i++) {
		const struct sr_gate *gt = &p->gates[i];
		tui_fmt(s, sizeof s, "T+%d", gt->at_min);
		place(y, axis_x(a, t0 + (sr_ms)gt->at_min * SR_MS_PER_MIN), &last, eod_x - 1,
		      TR_DIM, s);
	}
	term_put(y, eod_x, 3, TR_DIM, "EOD");
}

static void draw_now(struct tui *t, const struct axis *a, int y)
{
	int nowx = axis_x(a, t->now);
	char s[48], rel[24];
	sr_fmt_trel(rel, sizeof rel, t->now - t->r->engine.ro.t0);
	tui_fmt(s, sizeof s, "%s now %s", glyphs(t->utf8)->now, rel);
	int sw = text_width(s);
	if (nowx + sw <= a->x0 + a->w) {
		term_put(y, nowx, sw, TR_NOW, s);
	} else {
		tui_fmt(s, sizeof s, "now %s %s", rel, glyphs(t->utf8)->now);
		sw = text_width(s);
		term_put(y, nowx - sw + 1, sw, TR_NOW, s);
	}
}

void timeline_draw(struct tui *t)
{
	struct tui_rect r = t->lay.timeline;
	if (r.h <= 0)
		return;
	struct axis a;
	axis_range(t, &a);
	term_fill(r.y, 0, r.h, r.w, TR_NORMAL);
	if (r.h >= 3) {
		draw_now(t, &a, r.y);
		draw_axis(t, &a, r.y + 1);
		draw_labels(t, &a, r.y + 2);
		return;
	}
	draw_axis(t, &a, r.y);
	/* Compact: the now-marker sits on the axis itself. */
	term_put(r.y, axis_x(&a, t->now), 1, TR_NOW, glyphs(t->utf8)->now);
	if (r.h >= 2)
		draw_labels(t, &a, r.y + 1);
}
