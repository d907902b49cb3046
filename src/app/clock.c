/* clock.c - the one `now()` seam: real time, or a virtual clock.
 *
 * Only main and the loop read the real clock (clock_real_ms); everything
 * else receives `now` as an argument. The virtual clock is an anchor
 * (real0, virt0) and a speed, so changing the speed or pausing re-anchors
 * at the current virtual time and never makes time jump.
 */
#include "shiproom/clock.h"

#include <time.h>

sr_ms clock_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sr_ms)ts.tv_sec * SR_MS_PER_S + ts.tv_nsec / 1000000;
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
