/* snapshot.h - what a metrics source hands the engine.
 *
 * The snapshot is the seam between the outside world (Prometheus, the
 * simulator, a replayed journal) and the pure engine. One observation per
 * policy cell and cohort. A source never invents a value: when a fetch
 * fails it sets kind = SR_OBS_ERROR with the message and leaves `at` at
 * the time of the last good fetch, so the engine can tell ERROR and STALE
 * apart and never shows a stale number as healthy.
 */
#ifndef SHIPROOM_SNAPSHOT_H
#define SHIPROOM_SNAPSHOT_H

#include "shiproom/common.h"

enum sr_obs_kind {
	SR_OBS_NONE = 0, /* never fetched */
	SR_OBS_OK,       /* value and samples are valid as of `at` */
	SR_OBS_NOSERIES, /* the source answered, no series (or NaN) */
	SR_OBS_ERROR     /* the last fetch failed; its message: snapshot_msg() */
};

#define SR_OBS_MSG_LEN 160 /* one source message, sanitised, with its NUL */

struct sr_obs {
	enum sr_obs_kind kind;
	bool degraded; /* the source warned (Prometheus `warnings`) */
	/* The snapshot holds a message for it (why ERROR, or a warning
	 * noted): read it with snapshot_msg(), set it with snapshot_set_msg(). */
	bool has_msg;
	double value;   /* in the KPI's unit; NAN when unknown */
	double samples; /* observations behind value (requests, payments) */
	sr_ms at;       /* time of the data (last good fetch for ERROR) */
	/* The poll step's counts for the evidence test (evidence.h), as
	 * Prometheus increase() over the step: requests and bad events (for
	 * a latency KPI: requests slower than step_bound ms, a histogram
	 * boundary near control's P95, the same for both cohorts). NAN when
	 * the source has none: the test then waits, it never guesses. */
	double step_n, step_bad;
	double step_bound;
};

#define SR_SAMPLE_TIMES 16

struct sr_snapshot {
	int ncells;                         /* == policy.ncells */
	struct sr_obs canary[SR_MAX_CELLS]; /* indexed like policy.cells */
	struct sr_obs control[SR_MAX_CELLS];
	/* The times of the newest samples behind the KPIs (the canary's
	 * when the source can tell), ascending, when the poll was asked for
	 * them (source.h: sr_poll_ask.rhythm): the newest alone, or the
	 * recent ones with ask.history. Sample times are scrape times:
	 * poll_schedule.h learns the scrape rhythm from them. 0: not asked,
	 * or the answer had none. */
	int nsample_times;
	sr_ms sample_times[SR_SAMPLE_TIMES];
	/* The observations' messages, beside them rather than in them: most
	 * observations have none, and 160 bytes in each were most of a
	 * snapshot (a runner keeps three). A slot means something only while
	 * its observation's has_msg says so; clearing one writes nothing
	 * here, so the pages of cells without a message are never touched. */
	char canary_msg[SR_MAX_CELLS][SR_OBS_MSG_LEN];
	char control_msg[SR_MAX_CELLS][SR_OBS_MSG_LEN];
};

/* One observation as never fetched: SR_OBS_NONE, value and step counts
 * NAN (never a zero that could pass for a healthy reading). */
void obs_clear(struct sr_obs *o);
/* Reset the first ncells observations to SR_OBS_NONE (the cells past
 * ncells are capacity and are not touched). */
void snapshot_clear(struct sr_snapshot *s, int ncells);
/* Copy src's ncells observations and its sample times; what lies past
 * ncells is neither read nor written (a whole-struct copy would move
 * SR_MAX_CELLS observations whatever the policy). */
void snapshot_copy(struct sr_snapshot *dst, const struct sr_snapshot *src);

/* The message of observation o of snapshot s ("" when it has none, or
 * when o is not one of s's observations). s may be NULL: "". */
const char *snapshot_msg(const struct sr_snapshot *s, const struct sr_obs *o);
/* Give o, one of s's observations, the message msg, sanitised (NULL or
 * "": none). */
void snapshot_set_msg(struct sr_snapshot *s, struct sr_obs *o, const char *msg);
/* The same, printf-style. */
void snapshot_set_msgf(struct sr_snapshot *s, struct sr_obs *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Observation o of s failed with msg (NULL: "fetch failed"): SR_OBS_ERROR
 * with that message; value and time stay, the last good reading's. */
void snapshot_obs_fail(struct sr_snapshot *s, struct sr_obs *o, const char *msg);
/* Mark every cell of the snapshot as failed with `msg` (sanitised),
 * keeping each cell's last value and time. Used when a whole fetch fails. */
void snapshot_fail_all(struct sr_snapshot *s, const char *msg);

#endif
