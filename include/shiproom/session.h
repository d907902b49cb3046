/* session.h - one rollout's parts, set up once, and the one per-tick place.
 *
 * A session is the policy, the source (a real one or the simulator), the
 * edge, the journal (its state dir), the runner over them, and the
 * ship-room workflow (report templates, due reports, the webhook). Every
 * command that touches a rollout opens one the same way: the service
 * (`shiproom serve`) for the life of the rollout, `status`, `act`,
 * `report` and `watch` for one answer when no service runs.
 *
 * session_cron() is the one per-tick place (redis' serverCron): poll,
 * evaluate, guard (auto-rollback), journal, the reports that fell due and
 * the #ship-room posts, in that order, so nothing is done twice and
 * nothing depends on which terminal happens to be open.
 *
 * Start-up, in order: the policy; the source and edge (none in read-only
 * mode: no driver and no credential is even loaded); the journal (a torn
 * last line reported and moved aside; the rollout rebuilt from it; the
 * start record written when it has none); the reconciliation of an intent
 * left without its outcome, before anything else acts.
 */
#ifndef SHIPROOM_SESSION_H
#define SHIPROOM_SESSION_H

#include <stdio.h>

#include "shiproom/report.h"
#include "shiproom/runner.h"

#define SR_PATH_LEN 1024
/* A headless command waits this long at most for the loop (a poll, an
 * action with its retries); the drivers' own timeouts end it sooner. */
#define SR_HEADLESS_MAX_MS (120 * SR_MS_PER_S)

struct uv_loop_s;
struct sr_notify;
struct sr_http;
struct sr_scenario;
struct sr_sim;

/* What the command line says about the rollout (the rest is the
 * command's own). NULL / false: the default. */
struct sr_session_opts {
	const char *policy;       /* NULL: <datadir>/config/shiproom.json */
	const char *scenario;     /* simulator: NAME or PATH */
	const char *state_dir;    /* --state-dir */
	const char *webhook_file; /* --webhook-url-file */
	double speed;             /* simulator: virtual time speed */
	bool speed_set;
	bool seed_set;
	uint64_t seed;
	bool t0_set;
	sr_ms t0;       /* --t0, absolute ms */
	bool start_set; /* simulator: play up to here first */
	int start_min;
	bool read_only;
	bool serve; /* the rollout's service: the one that may use an etcd store */
	/* --new-rollout: a state dir that held a rollout (its files are
	 * there) but has no journal may start a new one; without it that is
	 * refused, since a journal deleted or moved away would otherwise be
	 * followed silently by a new rollout with a new T-0. */
	bool new_rollout;
};

struct sr_etcd;
struct sr_store;

struct sr_session {
	struct sr_policy *policy;     /* as loaded */
	struct sr_policy *drill;      /* the simulator-drill copy, or NULL */
	struct sr_scenario *scenario; /* NULL on a real source */
	struct sr_sim *sim;
	struct sr_runner *runner;
	struct sr_source *source; /* a real source (the sim's is borrowed) */
	struct sr_edge *edge;     /* a real edge */
	struct sr_journal *journal;
	struct uv_loop_s *loop;
	bool real; /* not the simulator: the real clock */
	bool read_only;
	char state_dir[SR_PATH_LEN];
	bool temp_state; /* a simulator's temporary state dir */
	bool keep_state; /* the state dir persists (reports may go there) */
	struct sr_report_templates templates;
	bool have_templates;
	struct sr_http *notify_http; /* the webhook's HTTP client */
	struct sr_notify *notify;
	struct sr_report_watch reports; /* due reports, written into the state dir */
	bool reporting;
	int history_end; /* log entries up to here replay the journal */
	char datadir[SR_PATH_LEN];
	char owner[SR_NAME_LEN];
	/* The etcd store (store.h), when the policy puts the journal there:
	 * the session then starts as a standby (bastion.h) and does what a
	 * start does - the start record, the scenario's place, the
	 * reconciliation - only once it leads (session_take_lead). */
	struct sr_etcd *etcd;
	struct sr_store *store;
	int store_ttl_s;
	sr_ms start_t0; /* T-0 for a start record written on taking the lead */
	sr_ms start_at; /* simulator --start: played up to on taking the lead (0: no) */
};

/* The data directory (config/, themes/): $SHIPROOM_DATADIR, else the
 * build's source tree, else <dir of the executable>/../share/shiproom. */
void session_find_datadir(char *out, size_t n);
/* Load a policy; a mistake is printed as file:line:column on stderr. */
int session_load_policy(struct sr_policy *p, const char *path);
/* The policy path the options name (or the shipped default). */
void session_policy_path(const struct sr_session_opts *o, const char *datadir, char *out, size_t n);

/* Open a session (see the header). drill_ok: on the simulator, a process
 * owner outside the roster acts as release_dri + gate_approver (never
 * read-only). view: a command that only looks (status, report): on a real
 * source it is then read-only whatever the options say. 0, or an exit
 * status with the reason on stderr; free with session_free() either way. */
int session_open(struct sr_session *s, const struct sr_session_opts *o, bool drill_ok,
                 bool read_only, bool view);
/* The console's, watch's and the service's session: session_open, the
 * --start jump on the simulator, a loop, the workflow (templates, and the
 * webhook when one is configured and the session may post). On failure
 * the session is freed and the exit status returned. */
int session_open_live(struct sr_session *s, const struct sr_session_opts *o);
/* The report templates from <datadir>/config (a broken one: exit 2). */
int session_open_templates(struct sr_session *s);
/* Templates, then the webhook (with_notify) unless read-only. */
int session_open_workflow(struct sr_session *s, const struct sr_session_opts *o, bool with_notify);
/* Reports are written into the state dir when it persists and the session
 * may write: the same rule for the service, watch and act. Starts the
 * report watch: what is already reached is not written again. */
void session_start_reports(struct sr_session *s);
void session_free(struct sr_session *s);

/* This service has just won the lead of a rollout kept in etcd: the
 * start record if the journal has none, the simulator's scenario resumed
 * after the journal's last record, and the reconciliation of an intent
 * left without outcome (runner.reconciling until the edge answers). */
void session_take_lead(struct sr_session *s);

/* The one per-tick place: runner_tick(now), then the reports that fell
 * due and the webhook's posts. */
void session_cron(struct sr_session *s, sr_ms now);
/* The workflow alone (after an action completes between ticks: its
 * report and post go out at once). */
void session_workflow(struct sr_session *s);

/* Run the loop until *busy is false, or SR_HEADLESS_MAX_MS passes. */
void session_loop_until(struct sr_session *s, const bool *busy);
/* One evaluation on the real clock: poll the source and wait for it. */
void session_evaluate_now(struct sr_session *s);

/* Log entries written since *mark, up to (not including) entry `end`,
 * to out. notable: only what a script should see on stderr - problems and
 * the steps of an action, not the evaluation nor the journal's history. */
void session_print_log_to(FILE *out, const struct sr_runner *r, int *mark, int end, bool notable);
void session_print_log(FILE *out, const struct sr_runner *r, int *mark, bool notable);

/* Is login in any role of the policy's roster? */
bool session_in_roster(const struct sr_policy *p, const char *login);
/* Add login to a role (the simulator drill; attached consoles mirror it). */
void session_roster_add(struct sr_policy *p, enum sr_role role, const char *login);

#endif
