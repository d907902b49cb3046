/* clock.h - the one `now()` seam.
 *
 * Real time in production; a virtual clock for the simulator (--speed),
 * replay and tests. Only main and the loop read the real clock; they pass
 * its value here and every other module gets `now` as an argument.
 */
#ifndef SHIPROOM_CLOCK_H
#define SHIPROOM_CLOCK_H

#include "shiproom/common.h"

struct sr_clock {
	sr_ms real0;  /* real time at the anchor */
	sr_ms virt0;  /* virtual time at the anchor */
	double speed; /* virtual ms per real ms; 1 = real time */
	bool paused;
};

/* Milliseconds since the epoch: the wall clock as read at the first call,
 * then advanced by CLOCK_MONOTONIC, so it never goes backwards when the
 * wall clock is stepped back (and never before clock_not_before()). */
sr_ms clock_real_ms(void);
/* The rollout's time may not be earlier than `at` (the journal's last
 * record, at start-up: a wall clock stepped back between two runs): if it
 * is, it runs on from `at`. */
void clock_not_before(sr_ms at);

/* The pure part of clock_real_ms, for tests: wall and mono readings in,
 * the anchored time out (the first call sets the anchor). */
struct clock_anchor {
	bool set;
	sr_ms wall0, mono0;
};
sr_ms clock_monotonic_from(struct clock_anchor *a, sr_ms wall, sr_ms mono);
/* Move the anchor on so that `now` (its time now) becomes `at` if it is
 * earlier: rollout time then runs on from there. */
void clock_anchor_not_before(struct clock_anchor *a, sr_ms now, sr_ms at);
void clock_init(struct sr_clock *c, sr_ms real_now, sr_ms virt_now, double speed);
sr_ms clock_now(const struct sr_clock *c, sr_ms real_now);
/* Change speed or pause without a jump in virtual time. */
void clock_set_speed(struct sr_clock *c, sr_ms real_now, double speed);
void clock_set_paused(struct sr_clock *c, sr_ms real_now, bool paused);

#endif
