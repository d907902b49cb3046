/* source.h - a metrics source: fills a snapshot for `now`.
 *
 * The simulator answers at once; the prometheus source answers from the
 * libuv loop. Either way the snapshot comes back through the callback.
 */
#ifndef SHIPROOM_SOURCE_H
#define SHIPROOM_SOURCE_H

#include "shiproom/snapshot.h"

struct sr_source;

typedef void (*sr_source_cb)(void *ud, struct sr_snapshot *snap);

struct sr_source_ops {
	const char *name;
	/* Fetch every cell as of `now` into the source's snapshot and call cb.
	 * The source keeps its snapshot between polls: a failed cell keeps its
	 * last value and time and is marked SR_OBS_ERROR. */
	void (*poll)(struct sr_source *s, sr_ms now, sr_source_cb cb, void *ud);
	void (*destroy)(struct sr_source *s);
	/* The source honours sr_poll_ask (below): it can report sample times
	 * and poll a subset of the KPIs, so the runner may align its polls
	 * to the scrape and poll faster when it matters (poll_schedule.h).
	 * false (the simulator): a full poll every poll_s, as always. */
	bool honours_ask;
};

/* What the next poll asks for (poll_schedule.h). The runner sets it
 * before each poll(); a source that cannot do a part ignores it (the
 * simulator: every KPI, no sample times). */
struct sr_poll_ask {
	bool rhythm;      /* also the time of the newest sample behind the KPIs,
	                     into snapshot.sample_times */
	sr_ms history;    /* with rhythm: the times of every sample over this
	                     long, not just the newest (to learn the rhythm in
	                     one poll); 0: the newest only */
	const bool *kpis; /* NULL: every KPI; else only the KPIs k with kpis[k]:
	                     the others keep their last observation and time */
};

struct sr_source {
	const struct sr_source_ops *ops;
	void *impl;
	struct sr_poll_ask ask;
};

struct sr_policy;
struct uv_loop_s;

/* The policy's real source driver, chosen once by source.kind (a table in
 * source/source.c): prometheus. The simulator's comes with the simulator
 * (sim.h). NULL with err. */
struct sr_source *source_open(const struct sr_policy *p, struct uv_loop_s *loop, char *err,
                              size_t n);

#endif
