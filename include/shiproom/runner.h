/* runner.h - one rollout session: policy + source + engine + edge + log.
 *
 * The runner is what the console, `shiproom status` and the tests all
 * drive, so the headless answer and the screen can never disagree. It is
 * the redis-style "cron": runner_tick() polls the journal and the source,
 * evaluates, logs and journals what changed, plays due scenario steps and
 * executes auto-rollback.
 *
 * The journal (journal.h) is optional here (NULL: none, for unit tests of
 * the simulator) but main always opens one. With a journal, the rollout
 * (engine.ro) is rebuilt from it: every event read back from the file,
 * this console's own included, goes through journal_apply(), so the live
 * path, another console's view and a replay are one code path.
 */
#ifndef SHIPROOM_RUNNER_H
#define SHIPROOM_RUNNER_H

#include "shiproom/action.h"
#include "shiproom/edge.h"
#include "shiproom/engine.h"
#include "shiproom/history.h"
#include "shiproom/journal.h"
#include "shiproom/poll_schedule.h"
#include "shiproom/scenario.h"
#include "shiproom/source.h"

#define SR_LOG_LEN 256

struct sr_feed;   /* a journal file being replayed (runner.c) */
struct sr_follow; /* a chain of journaled observations followed (runner.c) */
/* libuv's types, declared here so that this header does not pull in
 * <uv.h> (and its MIN/MAX macros) everywhere it is included. */
struct uv_loop_s;
struct uv_timer_s;

enum sr_log_kind {
	SR_LOG_ACTION, /* an action done, refused or failed */
	SR_LOG_APPROVAL,
	SR_LOG_STATUS,  /* a cell changed status */
	SR_LOG_TRIGGER, /* a trigger changed state */
	SR_LOG_DECISION,
	SR_LOG_INFO
};

struct sr_log_entry {
	sr_ms at;
	enum sr_log_kind kind;
	enum sr_status severity; /* colour hint: GREEN info ... RED alarm */
	char actor[SR_NAME_LEN]; /* "" for the engine */
	char text[SR_REASON_LEN];
};

struct sr_runner {
	const struct sr_policy *policy;
	const struct sr_scenario *scenario; /* NULL without the simulator */
	struct sr_source *source;
	struct sr_edge *edge; /* NULL in read-only mode */
	struct sr_sim *sim;   /* NULL unless the simulator runs */
	struct sr_engine engine;
	struct sr_history history;
	bool read_only;
	char owner[SR_NAME_LEN]; /* login of the process owner */

	sr_ms now; /* time of the last tick */
	bool script_done[SR_MAX_SCRIPT];
	bool script_tried[SR_MAX_SCRIPT]; /* attempted at least once */
	bool action_in_flight;            /* SIGHUP waits for it */
	bool alarm;                       /* a trigger started firing: bell */
	/* The decision and triggers as they stood when the last edge action
	 * (promote, rollback) was recorded, before the re-decision it caused:
	 * the reports written for that action (the step-up phase card, the
	 * postmortem) show what justified it. before_action_at 0: none. */
	sr_ms before_action_at;
	struct sr_decision before_action_decision;
	struct sr_trigger_state before_action_triggers[SR_MAX_TRIGGERS];
	bool polling; /* a poll is out: do not start another */
	/* When polls happen (poll_schedule.h): aligned to the source's
	 * scrape, faster for the KPIs a breach may be building on. Only
	 * with a source that honours sr_poll_ask (adaptive); otherwise a
	 * full poll every poll_s. The console and watch arm their timer for
	 * runner_next_poll_at() and again from on_polled, which the runner
	 * calls when a poll has answered (the plan may have changed). */
	struct sr_poll_schedule sched;
	bool adaptive;
	bool poll_asked_rhythm; /* the poll out asked for sample times */
	int logged_poll_mode;   /* the mode last logged; -1: none */
	void (*on_polled)(void *ud);
	void *on_polled_ud;
	bool edge_reading; /* a read-back of the edge's weight is out
	                      (one per poll, issue 9: the edge's real state) */
	/* The last snapshot a poll answered with, copied (the source reuses
	 * its own): while a poll is out, ticks evaluate it again once it has
	 * gone stale, so the cells age to STALE instead of keeping their
	 * last status (runner.c, runner_reevaluate). */
	struct sr_snapshot held;
	bool have_held;
	bool foreign_applied;           /* the journal poll applied another
	                                   console's record: redecide */
	bool quiet_refusals;            /* scripted retries: do not log each refusal */
	struct sr_action_flight flight; /* the edge action in flight, or the last one */
	/* The workflow's actions (SR_AF_WORKFLOW: post, report), carried out
	 * by whoever owns the notifier and the report writer (the session);
	 * the dispatcher checks them first like every action. NULL: refused. */
	void (*workflow)(void *ud, const struct sr_action_request *req,
	                 struct sr_action_result *res);
	void *workflow_ud;

	int nlog;                            /* entries ever written */
	struct sr_log_entry log[SR_LOG_LEN]; /* ring: log[(nlog-1) % LEN] newest */

	/* ---- the journal ---- */
	struct sr_journal *journal; /* borrowed; NULL: no journal */
	bool journal_ro;            /* read it, never write it (read-only, status) */
	bool journal_live;          /* the first poll (the replay) is done */
	struct sr_replay replay;    /* applies journal events to engine.ro */
	int own_rc;                 /* journal_apply() of this console's last
	                               record: 0/1 applied, -1 refused, 2 not seen */
	char own_why[SR_REASON_LEN];
	int journal_issues;      /* malformed or torn lines reported */
	bool policy_changed;     /* the journal was started under another policy */
	bool snap_t0;            /* a "T-0" snapshot is in the journal */
	unsigned snap_gates;     /* bit g: a snapshot of gate g is in it */
	sr_ms snap_last;         /* time of the newest snapshot in it */
	sr_ms journal_last_at;   /* the newest record applied from it */
	bool advancing;          /* in runner_advance: the journal syncs at its end */
	bool reconciling;        /* start-up reconciliation in progress:
	                            runner_tick does nothing until it ends */
	const char *journal_err; /* the last failed journal write, said once */
	/* What the journal's store last had against recording ("store
	 * unavailable"), "" when nothing (runner_recording). */
	char store_trouble[160];
	bool journal_lost; /* the journal's path no longer names the file
	                      this console opened: no more actions */
	/* A standby service (leader.h): its engine is driven by the
	 * leader's journaled observations; it polls nothing, guards nothing
	 * and writes no observation. */
	bool follower;
	struct sr_follow *follow;
	/* Asked before every action and before every call to the edge:
	 * NULL to go on, or why not (the service: not the leader, the lease
	 * not surely ours, the store unavailable and this is not a
	 * rollback). NULL hook: always. */
	const char *(*may_act)(void *ud, const struct sr_action_request *req);
	void *may_act_ud;
	/* Forwarded requests whose records the journal holds (newest last):
	 * a new leader answers them from here instead of acting again. */
	int nrequests_seen;
	struct sr_request_seen {
		char id[SR_REQUEST_ID_LEN];
		char what[SR_REASON_LEN]; /* the record, in the log's words */
		bool ok;                  /* not a failed outcome */
	} requests_seen[16];
	/* The observation record (obsrec.h): what this console's last `obs`
	 * record said, the base of the next delta, and when the chain last
	 * started over with a keyframe. */
	struct sr_snapshot obs_prev;
	bool obs_have_prev;
	sr_ms obs_keyframe_at;
	sr_ms auto_retry_at; /* a failed auto-rollback is retried from here */
	/* A rollback that did not land whole (its edge steps failed, or a
	 * crash cut it between them): completed by action_rollback_retry on
	 * the poll, with a doubling delay capped at SR_ROLLBACK_RETRY_MAX_MS,
	 * until both steps have landed. */
	bool rollback_due;
	int rollback_retries;
	sr_ms rollback_retry_at;
	char rollback_by[SR_NAME_LEN];
	char rollback_reason[SR_REASON_LEN];

	/* ---- the loop (NULL: none; retries then happen at once) ---- */
	struct uv_loop_s *loop;
	struct uv_timer_s *backoff; /* the edge retry back-off */
	struct uv_timer_s *watch;   /* polls the journal every second */
	sr_ms backoff_ms;           /* first retry delay, doubled each time */
	/* Called after every log entry (NULL: nobody): `watch` prints and
	 * runs its workflow when something happened, instead of looking
	 * ten times a second whether anything did. */
	void (*on_log)(void *ud);
	void *on_log_ud;

	/* ---- replay of a journal file (`shiproom replay`) ---- */
	struct sr_feed *feed; /* NULL unless replaying */
};

/* Set up a runner over borrowed parts. edge may be NULL (read-only). */
void runner_init(struct sr_runner *r, const struct sr_policy *p, const struct sr_scenario *sc,
                 struct sr_source *src, struct sr_edge *edge, bool read_only, const char *owner);
/* Use journal j (borrowed; NULL detaches). Polls it at once: the whole
 * file is applied to the rollout (the start-up replay), its start record
 * sets T-0, its T-0 snapshot the T-0 baselines. read_only: never write.
 * Returns the events read, -1 on a read error. */
int runner_set_journal(struct sr_runner *r, struct sr_journal *j, bool read_only);
/* Apply whatever was appended since the last poll (runner_tick does it;
 * a console sees another's action within a second with a loop). */
int runner_journal_poll(struct sr_runner *r);
/* Rebuild the rollout from a journal file read once (no live polling:
 * read-only with a torn journal, or a journal not ours to repair). */
int runner_journal_read(struct sr_runner *r, const char *path, char *err, size_t n);
/* The simulator on a journal that already holds its rollout (a service
 * restarted on its state dir): virtual time goes on from the journal's
 * newest record, and the scenario's steps before it are not played again
 * (they are in the journal, with their real times). */
void runner_resume_scenario(struct sr_runner *r);
/* Write the start record (T-0, policy hash) when the journal has none. */
int runner_journal_start(struct sr_runner *r, sr_ms t0, char *err, size_t n);

/* Start-up, before anything else: under the action lock, an intent
 * without an outcome is an orphan of a crash; read the edge's real weight
 * and journal what really happened (journal_reconcile), then apply it.
 * Completes at once on the simulator; with a real edge, r->reconciling
 * stays true until the edge answers (run the loop). No-op without a
 * journal, an edge, or an orphan; refused quietly when another console
 * holds the lock (its intent is not an orphan). */
void runner_reconcile(struct sr_runner *r);

/* Timers on `loop`: the retry back-off and a 1 s journal watch. */
void runner_attach_loop(struct sr_runner *r, struct uv_loop_s *loop);
/* Close the timers and free the replay feed; run the loop afterwards so
 * libuv can finish closing. The runner itself is the caller's. */
void runner_close(struct sr_runner *r);
/* Follow the journal (a standby) or lead (poll, guard, journal
 * observations). Following starts over at the next keyframe; leading
 * continues from the engine as the followed records left it (breach
 * timers included), so a take-over does not forget a breach. */
void runner_set_follower(struct sr_runner *r, bool follow);
/* Has the journal a record of the forwarded request `id`? Its words in
 * *what (the newest record: an intent's outcome replaces it). */
const struct sr_request_seen *runner_request_seen(const struct sr_runner *r, const char *id);

/* `shiproom replay FILE`: load a journal; runner_tick(now) then plays its
 * events up to `now` (no source, no edge: read-only). A journal with
 * `obs` records (obsrec.h) is replayed by evaluating every recorded poll
 * again through the engine, with every action applied at its time, so
 * values, statuses, breach timers, triggers and the decision are what the
 * live console showed; an older journal without them sets cells and
 * triggers from the journaled changes and values from snapshots. The
 * replay never runs past the journal: runner_tick(now) beyond the last
 * event stops at it (no countdown ticks on, nothing is decided anew).
 * *first and *last are the times of the first and last events. Returns
 * the events loaded, or -1 with err. */
int runner_replay_load(struct sr_runner *r, const char *path, sr_ms *first, sr_ms *last, char *err,
                       size_t n);

/* The replay has played the journal's last event (r->now is its time). */
bool runner_replay_ended(const struct sr_runner *r);
/* Replay only: start again from the journal's first event (a seek
 * backwards plays forward from there: the engine cannot run backwards). */
void runner_replay_rewind(struct sr_runner *r);

/* Replay only: the times of the journal's first and last events; false
 * when not replaying. */
bool runner_replay_span(const struct sr_runner *r, sr_ms *first, sr_ms *last);
/* Replay only: the time of the next (dir > 0, after `from`) or previous
 * (dir < 0, before `from`) event worth stopping at - a status or trigger
 * change, an action, a note, a gate's snapshot. false when there is none. */
bool runner_replay_event_near(const struct sr_runner *r, sr_ms from, int dir, sr_ms *at);

/* One turn of the cron at `now`: a poll (unless one is out), the
 * scheduled kind when `now` is its time (a fast one reads only the KPIs
 * involved), else a full one. */
void runner_tick(struct sr_runner *r, sr_ms now);
/* When runner_tick should run next (the same clock as `now`). While a
 * poll is out, no sooner than a second after the last tick (the held
 * data is re-judged as it ages; no busy loop on a hung source). */
sr_ms runner_next_poll_at(const struct sr_runner *r);
/* The same as a real-time delay for a one-shot loop timer, from the
 * virtual time `now` at `speed` (virtual ms per real ms): at least
 * 10 ms. The console and watch arm their tick timer with it. */
uint64_t runner_next_tick_delay(const struct sr_runner *r, sr_ms now, double speed);
/* The polling mode for the header's data-age field ("aligned 15s",
 * "fast 2s (1 KPI), aligned 15s", "fixed 15s: learning the scrape
 * rhythm"); "" when the source is not adaptive (the simulator). */
void runner_poll_mode(const struct sr_runner *r, char *buf, size_t n, bool brief);
/* Play from r->now to `until` in poll steps (headless status, tests). */
void runner_advance(struct sr_runner *r, sr_ms until);

/* Log (and journal, post) what the engine has noticed since the last
 * drain: status, trigger and decision changes. After every evaluation,
 * and after an action is done (action.c), so the decision an action
 * caused is in the log under it at once, live as in a replay. */
void runner_drain(struct sr_runner *r);
/* Can the journal record now? Its store must take records (the service's
 * bastion says what it has against that: `store_trouble`, "" for
 * nothing, NULL to keep what it said last) and its file must take what
 * it is given (journal_refusing: a full disk). While either cannot, the
 * engine HOLDs and nothing acts but a rollback (break-glass). Called by
 * the bastion at every tick and by the runner after each write that can
 * fail (an observation, an action). */
void runner_recording(struct sr_runner *r, const char *store_trouble);
void runner_log(struct sr_runner *r, enum sr_log_kind kind, enum sr_status sev, const char *actor,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The i-th newest log entry (0 = newest) or NULL. */
const struct sr_log_entry *runner_log_entry(const struct sr_runner *r, int i);

/* Login name of the process owner (getpwuid(geteuid())), not $USER. */
void runner_owner_login(char *buf, size_t n);

#endif
