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

/* Milliseconds since the epoch from CLOCK_REALTIME. */
sr_ms clock_real_ms(void);
void clock_init(struct sr_clock *c, sr_ms real_now, sr_ms virt_now, double speed);
sr_ms clock_now(const struct sr_clock *c, sr_ms real_now);
/* Change speed or pause without a jump in virtual time. */
void clock_set_speed(struct sr_clock *c, sr_ms real_now, double speed);
void clock_set_paused(struct sr_clock *c, sr_ms real_now, bool paused);

#endif
