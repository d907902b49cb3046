/* clock.c - the one `now()` seam: real time, or a virtual clock.
 *
 * Only main and the loop read the real clock (clock_real_ms); everything
 * else receives `now` as an argument. The virtual clock is an anchor
 * (real0, virt0) and a speed, so changing the speed or pausing re-anchors
 * at the current virtual time and never makes time jump.
 */
#include "shiproom/clock.h"

#include <time.h>

/* The process's anchor: the wall clock read once, and the monotonic
 * clock at that moment. Rollout time is the anchor plus the monotonic
 * time since, so a wall clock stepped back (an NTP step, a hand-set date)
 * never makes it go backwards (a deployment at T-107, a postmortem named
 * for it, journal records dated before the ones they follow); NTP's slew,
 * which the monotonic clock follows too, is kept. */
static struct clock_anchor anchor;

sr_ms clock_monotonic_from(struct clock_anchor *a, sr_ms wall, sr_ms mono)
{
	if (!a->set) {
		a->wall0 = wall;
		a->mono0 = mono;
		a->set = true;
	}
	return a->wall0 + (mono - a->mono0);
}

void clock_anchor_not_before(struct clock_anchor *a, sr_ms now, sr_ms at)
{
	/* moved on, not frozen: from here rollout time runs from `at` */
	if (a->set && now < at)
		a->wall0 += at - now;
}

sr_ms clock_real_ms(void)
{
	struct timespec w, m;
	clock_gettime(CLOCK_REALTIME, &w);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return clock_monotonic_from(&anchor, (sr_ms)w.tv_sec * SR_MS_PER_S + w.tv_nsec / 1000000,
	                            (sr_ms)m.tv_sec * SR_MS_PER_S + m.tv_nsec / 1000000);
}

void clock_not_before(sr_ms at)
{
	/* a restart after a step back: never before the journal's last record */
	clock_anchor_not_before(&anchor, clock_real_ms(), at);
}

void clock_init(struct sr_clock *c, sr_ms real_now, sr_ms virt_now, double speed)
{
	c->real0 = real_now;
	c->virt0 = virt_now;
	c->speed = speed > 0 ? speed : 1.0;
	c->paused = false;
}

sr_ms clock_now(const struct sr_clock *c, sr_ms real_now)
{
	if (c->paused)
		return c->virt0;
	double elapsed = (double)(real_now - c->real0) * c->speed;
	return c->virt0 + (sr_ms)elapsed;
}

void clock_set_speed(struct sr_clock *c, sr_ms real_now, double speed)
{
	c->virt0 = clock_now(c, real_now);
	c->real0 = real_now;
	if (speed > 0)
		c->speed = speed;
}

void clock_set_paused(struct sr_clock *c, sr_ms real_now, bool paused)
{
	c->virt0 = clock_now(c, real_now);
	c->real0 = real_now;
	c->paused = paused;
}
