/* replay.c - a replay as a tool (`shiproom replay FILE`).
 *
 * A postmortem wants the incident, not four minutes of waiting for it:
 *
 *   space      pause / resume
 *   . or >     step to the next event (status or trigger change, action,
 *              note, gate)          , or <  the previous one
 *   + / -      twice / half as fast
 *   :T+130     jump there (the ':' line, prompt.c; also :goto, :speed)
 *
 * The header says where the replay is and how fast ("REPLAY x60",
 * "PAUSED x60"); at the journal's last event the replay stops and says
 * "end of journal at T+131": the runner never plays past it (no countdown
 * ticks on, nothing is decided anew) and the frame's clock stops there.
 * Going back plays the journal again from its start up to the target
 * (the engine cannot run backwards; bench/README.md has the cost).
 */
#include <stdio.h>

#include "shiproom/calendar.h"
#include "shiproom/clock.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

#define MAX_SPEED 100000.0

static bool replaying(const struct tui *t)
{
	sr_ms first, last;
	return t->o->clock && runner_replay_span(t->r, &first, &last);
}

sr_ms replay_view_now(const struct tui *t, sr_ms now)
{
	sr_ms first, last;
	if (!runner_replay_span(t->r, &first, &last))
		return now;
	return now > last ? last : now < first ? first : now;
}

bool replay_goto(struct tui *t, sr_ms at)
{
	sr_ms first, last;
	if (!replaying(t) || !runner_replay_span(t->r, &first, &last))
		return false;
	if (at < first)
		at = first;
	if (at > last)
		at = last;
	struct sr_clock *c = t->o->clock;
	bool paused = c->paused;
	if (at < t->r->now)
		runner_replay_rewind(t->r);
	runner_tick(t->r, at);
	clock_init(c, clock_real_ms(), at, c->speed);
	clock_set_paused(c, clock_real_ms(), paused);
	t->replay_end_said = false;
	char rel[24];
	sr_fmt_trel(rel, sizeof rel, at - t->r->engine.ro.t0);
	tui_flash(t, SR_GREEN, "replay at %s%s", rel, paused ? " (paused: space resumes)" : "");
	t->dirty |= D_ALL & ~D_CLEAR;
	return true;
}

bool replay_key(struct tui *t, int key)
{
	if (!replaying(t))
		return false;
	struct sr_clock *c = t->o->clock;
	sr_ms now = clock_now(c, clock_real_ms()), at;
	switch (key) {
	case ' ':
		clock_set_paused(c, clock_real_ms(), !c->paused);
		if (!c->paused && runner_replay_ended(t->r)) {
			/* resuming at the end: nothing comes after it */
			clock_set_paused(c, clock_real_ms(), true);
			tui_flash(t, SR_YELLOW, "end of journal: , steps back, :T+MIN jumps");
		}
		t->dirty |= D_HEADER | D_STATUS;
		return true;
	case '.':
	case '>':
		if (runner_replay_event_near(t->r, replay_view_now(t, now), 1, &at))
			replay_goto(t, at);
		else
			tui_flash(t, SR_YELLOW, "no later event in the journal");
		return true;
	case ',':
	case '<':
		if (runner_replay_event_near(t->r, replay_view_now(t, now), -1, &at))
			replay_goto(t, at);
		else
			tui_flash(t, SR_YELLOW, "no earlier event in the journal");
		return true;
	case '+':
	case '-': {
		double s = key == '+' ? c->speed * 2 : c->speed / 2;
		if (s < 1)
			s = 1;
		if (s > MAX_SPEED)
			s = MAX_SPEED;
		clock_set_speed(c, clock_real_ms(), s);
		t->dirty |= D_HEADER;
		return true;
	}
	default: return false;
	}
}

void replay_after_tick(struct tui *t)
{
	if (!replaying(t) || !runner_replay_ended(t->r) || t->replay_end_said)
		return;
	t->replay_end_said = true;
	clock_set_paused(t->o->clock, clock_real_ms(), true);
	char rel[24];
	sr_fmt_trel(rel, sizeof rel, t->r->now - t->r->engine.ro.t0);
	tui_flash(t, SR_YELLOW, "end of journal at %s: nothing after it is shown", rel);
	t->dirty |= D_HEADER;
}

bool replay_badge(const struct tui *t, char *buf, size_t n)
{
	if (!replaying(t))
		return false;
	if (runner_replay_ended(t->r)) {
		char rel[24];
		sr_fmt_trel(rel, sizeof rel, t->r->now - t->r->engine.ro.t0);
		tui_fmt(buf, n, "end of journal at %s", rel);
	} else {
		tui_fmt(buf, n, "%s x%g", t->o->clock->paused ? "PAUSED" : "REPLAY",
		        t->o->clock->speed);
	}
	return true;
}
