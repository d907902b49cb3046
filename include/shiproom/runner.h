/* runner.h - one rollout session: policy + source + engine + edge + log.
 *
 * The runner is what the console, `shiproom status` and the tests all
 * drive, so the headless answer and the screen can never disagree. It is
 * the redis-style "cron": runner_tick() polls the source, evaluates, logs
 * what changed, plays due scenario steps and executes auto-rollback.
 */
#ifndef SHIPROOM_RUNNER_H
#define SHIPROOM_RUNNER_H

#include "shiproom/action.h"
#include "shiproom/edge.h"
#include "shiproom/engine.h"
#include "shiproom/history.h"
#include "shiproom/scenario.h"
#include "shiproom/source.h"

#define SR_LOG_LEN 256

enum sr_log_kind {
	SR_LOG_ACTION,    /* an action done, refused or failed */
	SR_LOG_APPROVAL,
	SR_LOG_STATUS,    /* a cell changed status */
	SR_LOG_TRIGGER,   /* a trigger changed state */
	SR_LOG_DECISION,
	SR_LOG_INFO
};

struct sr_log_entry {
	sr_ms at;
	enum sr_log_kind kind;
	enum sr_status severity;      /* colour hint: GREEN info ... RED alarm */
	char actor[SR_NAME_LEN];      /* "" for the engine */
	char text[SR_REASON_LEN];
};

struct sr_runner {
	const struct sr_policy *policy;
	const struct sr_scenario *scenario; /* NULL without the simulator */
	struct sr_source *source;
	struct sr_edge *edge;               /* NULL in read-only mode */
	struct sr_sim *sim;                 /* NULL unless the simulator runs */
	struct sr_engine engine;
	struct sr_history history;
	bool read_only;
	char owner[SR_NAME_LEN];            /* login of the process owner */

	sr_ms now;                          /* time of the last tick */
	bool script_done[SR_MAX_SCRIPT];
	bool script_tried[SR_MAX_SCRIPT];   /* attempted at least once */
	bool action_in_flight;              /* SIGHUP waits for it */
	bool alarm;                         /* a trigger started firing: bell */
	bool polling;                       /* a poll is out: do not start another */
	bool quiet_refusals;                /* scripted retries: do not log each refusal */
	struct sr_action_flight flight;     /* the edge action in flight, or the last one */

	int nlog;                           /* entries ever written */
	struct sr_log_entry log[SR_LOG_LEN];/* ring: log[(nlog-1) % LEN] newest */
};

/* Set up a runner over borrowed parts. edge may be NULL (read-only). */
void runner_init(struct sr_runner *r, const struct sr_policy *p, const struct sr_scenario *sc,
                 struct sr_source *src, struct sr_edge *edge, bool read_only, const char *owner);
/* One turn of the cron at `now`. */
void runner_tick(struct sr_runner *r, sr_ms now);
/* Play from r->now to `until` in poll steps (headless status, tests). */
void runner_advance(struct sr_runner *r, sr_ms until);

void runner_log(struct sr_runner *r, enum sr_log_kind kind, enum sr_status sev, const char *actor,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The i-th newest log entry (0 = newest) or NULL. */
const struct sr_log_entry *runner_log_entry(const struct sr_runner *r, int i);

/* Login name of the process owner (getpwuid(geteuid())), not $USER. */
void runner_owner_login(char *buf, size_t n);

#endif
