/* cmd.h - the commands of the shiproom binary, one file each in src/cmd/
 * (git's builtin/, tmux's cmd-*.c), and their shared argument parsing.
 *
 * main() parses the arguments (cmd_parse_args) and calls the command's
 * entry from cmd_table; nothing else happens there.
 *
 * Exit statuses: 0 OK / GO / done, 1 runtime failure (an action that
 * failed), 2 usage or config error, 3 refused (act), and for `status` the
 * verdict: 3 HOLD, 4 ROLLBACK, 5 ESCALATE.
 */
#ifndef SHIPROOM_CMD_H
#define SHIPROOM_CMD_H

#include "shiproom/session.h"

#ifndef SHIPROOM_VERSION
#define SHIPROOM_VERSION "0.2.0"
#endif

#define SR_EXIT_REFUSED 3

enum sr_command {
	CMD_CONSOLE, /* plain `shiproom`: attach, starting the service if none runs */
	CMD_ATTACH,
	CMD_SERVE,
	CMD_STOP,
	CMD_STATUS,
	CMD_ACT,
	CMD_WATCH,
	CMD_REPLAY,
	CMD_REPORT,
	CMD_CHECK_CONFIG,
	CMD_STORE, /* store import: a state dir's journal into etcd */
	CMD_HELP,
	CMD_VERSION
};

struct sr_opts {
	enum sr_command cmd;
	struct sr_session_opts s; /* what names the rollout and its parts */
	const char *theme;
	const char *file;       /* check-config FILE, replay FILE */
	const char *socket;     /* --socket: the service's unix socket */
	const char *action;     /* act ACTION */
	const char *report;     /* report KIND (gate, card, postmortem, win-note) */
	const char *report_arg; /* report gate N */
	const char *reason, *checklist, *item;
	bool ascii, json, yes, replay_status;
	bool detach;         /* serve --detach */
	bool exit_with_last; /* serve: end with the last console (a drill's service) */
	bool at_set;
	int at_min;
	int weight; /* act promote --weight (0: the next phase) */
	bool weight_set;
	double for_s; /* watch --for */
	int refresh_ms;
};

struct sr_command_def {
	const char *name; /* NULL: the console (no command word) */
	enum sr_command cmd;
	int (*run)(const struct sr_opts *o);
};

/* Fill o from argv; 0, or an exit status after a message on stderr. */
int cmd_parse_args(int argc, char **argv, struct sr_opts *o);
const struct sr_command_def *cmd_find(enum sr_command cmd);
/* "shiproom: <fmt with arg>" and a hint, on stderr; returns 2. The
 * argument is sanitised: argv may hold escape sequences. */
int cmd_usage_error(const char *fmt, const char *arg);
/* --at / --start against the scenario's plan: 0, or the usage error said. */
int cmd_check_sim_min(const struct sr_scenario *sc, const char *opt, int min);
/* Flush stdout (a full disk is a failure), free the session; rc. */
int cmd_finish_print(struct sr_session *s, int rc);
extern const char cmd_usage_text[];
/* strtol within [lo, hi], the whole string. */
bool cmd_parse_long(const char *s, long lo, long hi, long *out);
/* `report KIND`: "gate", "card", "postmortem", "win-note" (or "win"). */
bool cmd_report_kind(const char *name, enum sr_report_kind *out);

/* status, act, report and watch go through the rollout's service when
 * one runs (one truth): a client connected for `purpose`, whose mirror
 * holds the service's state. NULL when none runs (*rc 0: work on the
 * state dir directly, as without a service) or when the connection
 * failed otherwise (*rc the exit status, the reason on stderr). --at
 * asks the simulator for another moment than the service's: NULL. */
struct sr_client;
struct sr_client *cmd_service_client(const struct sr_opts *o, const char *purpose, bool read_only,
                                     int *rc);

int cmd_console(const struct sr_opts *o);
int cmd_attach(const struct sr_opts *o);
int cmd_serve(const struct sr_opts *o);
int cmd_stop(const struct sr_opts *o);
int cmd_status(const struct sr_opts *o);
int cmd_act(const struct sr_opts *o);
int cmd_watch(const struct sr_opts *o);
int cmd_replay(const struct sr_opts *o);
int cmd_report(const struct sr_opts *o);
int cmd_check_config(const struct sr_opts *o);
int cmd_store(const struct sr_opts *o);

#endif
