/* poll_schedule.h - when the next poll happens, and what it asks for.
 *
 * A free-running poll timer and the source's scrape timer are two
 * unsynchronised clocks: with a 15 s scrape and a 15 s poll a change can
 * wait almost a whole scrape interval for Prometheus to see it and then
 * almost a whole poll interval for us to read it. The data cannot be seen
 * before the scrape; everything after it is ours to remove. So:
 *
 *   - ALIGNED: the source reports the time of the newest sample behind
 *     the KPIs (Prometheus: timestamp() of the series the queries read).
 *     Those times are scrape times; from several of them we learn the
 *     scrape interval and phase, and the next full poll goes just after
 *     the next expected scrape plus a settle time (the scrape itself and
 *     the write take a moment; a poll that still finds the older sample
 *     doubles it). Never more often than poll_s: the steady-state load
 *     on the source does not grow (a 1 s scrape under a 15 s poll_s is
 *     read every 15 s, right after a scrape).
 *   - FIXED: the rhythm is unknown, irregular, or slower than poll_s: a
 *     full poll every poll_s, as before.
 *   - FAST: while something is about to happen - a gating cell YELLOW
 *     (near its limit, or recovering from RED), a breach clock running,
 *     or a threshold trigger's KPI within fast_margin_pct of the trigger -
 *     the KPIs involved, and only those, are also polled every
 *     fast_poll_s; aligned, just after every scrape at least fast_poll_s
 *     apart (the data changes at scrapes only), so a scrape as slow as
 *     poll_s gains nothing and costs nothing. The full polls go on at
 *     their own rhythm.
 *
 * Pure: no clock, no I/O. The runner feeds it what the polls answered and
 * `now`, and asks it when to poll next (runner.c); the console and watch
 * arm their one-shot timer from that.
 */
#ifndef SHIPROOM_POLL_SCHEDULE_H
#define SHIPROOM_POLL_SCHEDULE_H

#include "shiproom/engine.h"

#define SR_RHYTHM_SEEN 8       /* newest-sample times kept */
#define SR_RHYTHM_MIN_MS 200   /* a rhythm faster than this is noise */
#define SR_SETTLE_FIRST_MS 250 /* wait after an expected scrape, at first */
#define SR_SETTLE_MIN_MS 100
#define SR_SETTLE_MAX_MS 5000
#define SR_RHYTHM_CHECK_EVERY 8  /* once settled: ask for the rhythm every 8th poll */
#define SR_RHYTHM_SETTLED_HITS 3 /* aligned polls that found their scrape: settled */
#define SR_FAST_POLL_DEFAULT_MS 2000
#define SR_FAST_MARGIN_DEFAULT_PCT 12.5

enum sr_poll_mode { SR_POLL_FIXED, SR_POLL_ALIGNED };

struct sr_poll_schedule {
	sr_ms poll_ms;     /* the policy's poll_s */
	sr_ms fast_ms;     /* the policy's fast_poll_s; 0: never fast */
	double margin_pct; /* fast_margin_pct */

	/* ---- the rhythm, learned from newest-sample times ---- */
	sr_ms seen[SR_RHYTHM_SEEN]; /* distinct newest-sample times, oldest first */
	int nseen;
	sr_ms interval;     /* the scrape interval; 0: not regular (yet) */
	sr_ms settle;       /* after an expected scrape, before polling */
	sr_ms aimed;        /* the scrape the last full poll aimed at; 0: none */
	int hits;           /* aligned polls in a row that found their scrape */
	int misses;         /* aligned polls ever that came too early */
	int since_check;    /* full polls since the last that asked the rhythm */
	char why_fixed[64]; /* why not aligned (shown) */

	/* ---- polls ---- */
	sr_ms last_full;             /* start of the last full poll; -1: none yet */
	sr_ms last_fast;             /* start of the last fast poll; -1: none */
	bool fast;                   /* some KPIs are involved */
	int nfast;                   /* how many */
	bool kpis[SR_MAX_KPIS];      /* the involved KPIs */
	long full_polls, fast_polls; /* counts, for tests and the bench */
};

/* What the next poll is: when, and what it asks the source for. */
struct sr_poll_plan {
	sr_ms at;         /* when (the caller's clock) */
	bool full;        /* every KPI; else only plan.kpis */
	bool rhythm;      /* also read the newest sample time */
	sr_ms aim;        /* aligned: the scrape it aims just after; 0: none */
	sr_ms history;    /* rhythm: every sample time over this long (learning) */
	const bool *kpis; /* !full: the KPIs to poll (SR_MAX_KPIS) */
};

void poll_schedule_init(struct sr_poll_schedule *s, sr_ms poll_ms, sr_ms fast_ms,
                        double margin_pct);

/* The plan for the next poll, given the state at `now`. */
struct sr_poll_plan poll_schedule_next(const struct sr_poll_schedule *s);

/* A poll of `plan` started at `now` (the runner calls it as it polls). */
void poll_schedule_started(struct sr_poll_schedule *s, const struct sr_poll_plan *plan, sr_ms now);

/* A full poll that asked for the rhythm answered: newest_sample is the
 * time of the newest sample behind the KPIs (0: unknown). */
void poll_schedule_rhythm(struct sr_poll_schedule *s, sr_ms newest_sample);
/* The same with n sample times, ascending (the newest last): a poll
 * that asked for the history. */
void poll_schedule_times(struct sr_poll_schedule *s, const sr_ms *times, int n);

/* After an evaluation: which KPIs need the fast rate (engine state). */
void poll_schedule_involve(struct sr_poll_schedule *s, const struct sr_engine *e);

enum sr_poll_mode poll_schedule_mode(const struct sr_poll_schedule *s);

/* The mode in a few words for the header: "aligned 15s", "fixed 15s",
 * "fast 2s" (with aligned/fixed for the rest). */
void poll_schedule_describe(const struct sr_poll_schedule *s, char *buf, size_t n);
/* Shorter, for the header's data-age field: "aligned 15s", "fixed 15s",
 * "fast 2s". */
void poll_schedule_brief(const struct sr_poll_schedule *s, char *buf, size_t n);

#endif
