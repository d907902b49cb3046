/* args.c - the command line: options, commands, which goes with which.
 *
 * Options that take a value accept "--opt VALUE" and "--opt=VALUE". An
 * option given to a command it does not apply to is a usage error (exit
 * 2), so a typo never silently does something else.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shiproom/action.h"
#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/report.h"

const char cmd_usage_text[] =
    "usage: shiproom [options]              the console, attached to the rollout's\n"
    "                     service (started, detached, when none runs)\n"
    "       shiproom serve [--detach] [--socket PATH]\n"
    "                     run the rollout's service: poll, judge, guard, journal,\n"
    "                     act, report, post; consoles attach to it\n"
    "       shiproom attach [--read-only]   a console attached to a running service\n"
    "       shiproom stop                   stop the rollout's service (release DRI)\n"
    "       shiproom status [--json] [--at T+MIN]\n"
    "                     evaluate once (the simulator: play the scenario) and\n"
    "                     print; exit 0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE\n"
    "       shiproom act ACTION [--weight N] [--reason TEXT]\n"
    "                    [--checklist C --item I] --yes\n"
    "                     one action through the same dispatcher and checks as\n"
    "                     the console's keys; ACTION: promote hold resume\n"
    "                     rollback approve tick untick note tiebreak\n"
    "                     declare_success post; exit 0 done, 3 refused, 1 failed\n"
    "       shiproom watch [--for SECONDS]\n"
    "                     the console without a screen: poll, evaluate, journal,\n"
    "                     auto-rollback; the log on stdout\n"
    "       shiproom replay FILE [--speed N] [--status [--json] [--at T+MIN]]\n"
    "                     play a journal back in the console (read-only; space\n"
    "                     pauses, . and , step by event, :T+130 jumps), or\n"
    "                     print the state it rebuilds\n"
    "       shiproom report gate N|card|postmortem|win-note [--at T+MIN] [--json]\n"
    "                     a ship-room report as Markdown, or its data with\n"
    "                     --json; the simulator plays to --at (default its end)\n"
    "                     first; with --state-dir it is also written there\n"
    "       shiproom check-config FILE      validate a policy file\n"
    "       shiproom store import           a state dir's journal into etcd\n"
    "       shiproom --version | --help\n"
    "\n"
    "status, act, report and watch go through the rollout's service when one runs.\n"
    "\n"
    "options:\n"
    "  --policy FILE      policy (default <datadir>/config/shiproom.json); its\n"
    "                     source and edge say where metrics come from and what\n"
    "                     moves traffic (sim, prometheus, haproxy, http)\n"
    "  --state-dir DIR    the journal's directory (default\n"
    "                     $XDG_STATE_HOME/shiproom/ROLLOUT/; the simulator uses a\n"
    "                     temporary one unless this is given)\n"
    "  --t0 WHEN          T-0 of a new rollout: now (default), +MIN or -MIN\n"
    "                     minutes from now, or 2026-11-28T14:00Z (UTC)\n"
    "  --scenario NAME    simulator scenario: a name in <datadir>/config/scenarios\n"
    "                     or a path (default healthy)\n"
    "  --speed N          virtual time speed, 1 = real time (default 1)\n"
    "  --seed N           override the scenario's random seed\n"
    "  --read-only        look, never act: every action is refused, no edge and\n"
    "                     no credential is loaded, the journal is never written\n"
    "                     (--readonly is the same)\n"
    "  --socket PATH      the service's unix socket (default: the policy's\n"
    "                     service.socket, else $SHIPROOM_RUNTIME_DIR,\n"
    "                     $XDG_RUNTIME_DIR/shiproom or /tmp/shiproom-UID)\n"
    "  --detach           serve: run in the background (pid file in the state dir)\n"
    "  --theme NAME       default, mono, high-contrast, colour-blind-safe\n"
    "  --ascii            ASCII glyphs and charts only\n"
    "  --refresh MS       console refresh period (default 1000)\n"
    "  --start T+MIN      serve, console and watch on the simulator: play headless\n"
    "                     up to this time (T+130, T-30), then open there\n"
    "  --json             status, report: one JSON object instead of text\n"
    "  --at T+MIN         status, report (simulator), replay: stop at this time\n"
    "  --yes              act: required; an action is never taken by accident\n"
    "  --for SECONDS      watch: stop after this long (default: until a signal)\n"
    "  --webhook-url-file FILE\n"
    "                     serve, console, watch: the #ship-room webhook URL from\n"
    "                     FILE (mode 0600; default $SHIPROOM_WEBHOOK_URL)\n"
    "\n"
    "Secrets (Prometheus bearer token, HTTP edge token) come only from a file of\n"
    "mode 0600 or an environment variable named in the policy, never argv.\n"
    "\n"
    "Data directory: $SHIPROOM_DATADIR, else the build's source tree, else\n"
    "<dir of the executable>/../share/shiproom\n";

int cmd_usage_error(const char *fmt, const char *arg)
{
	char msg[1024];
	snprintf(msg, sizeof msg, fmt, arg ? arg : "");
	sr_eprintf("%s", msg); /* sanitised there: argv may hold escapes */
	fprintf(stderr, "Try 'shiproom --help'.\n");
	return SR_EXIT_USAGE;
}

int cmd_check_sim_min(const struct sr_scenario *sc, const char *opt, int min)
{
	char err[256];
	if (scenario_check_min(sc, opt, min, err, sizeof err) == 0)
		return 0;
	return cmd_usage_error("%s", err);
}

/* ---- argument parsing ------------------------------------------------------ */

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool cmd_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s[0] || s[0] == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* "T+90", "T-30", "t+5", "90", "-30": minutes from T-0. */
static bool parse_trel(const char *s, int *out)
{
	long v;
	if (s[0] == 'T' || s[0] == 't')
		s++;
	if (s[0] == '+')
		s++;
	if (!cmd_parse_long(s, -100000, 100000, &v))
		return false;
	*out = (int)v;
	return true;
}

/* --t0: "now", "+MIN" / "-MIN" from now, or "YYYY-MM-DDTHH:MM[:SS]Z". */
static bool parse_t0(const char *s, sr_ms now, sr_ms *out)
{
	long v;
	if (strcmp(s, "now") == 0) {
		*out = now;
		return true;
	}
	if ((s[0] == '+' || s[0] == '-') &&
	    cmd_parse_long(s + (s[0] == '+'), -100000, 100000, &v)) {
		*out = now + (sr_ms)v * SR_MS_PER_MIN;
		return true;
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	if (end && *end == ':')
		end = strptime(end, ":%S", &tm);
	if (!end || strcmp(end, "Z") != 0)
		return false;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (sr_ms)t * SR_MS_PER_S;
	return true;
}

/* Options that take a value accept "--opt VALUE" and "--opt=VALUE". */
static const char *const value_opts[] = {
    "--policy", "--scenario",         "--speed",  "--seed",   "--theme",  "--refresh",   "--at",
    "--start",  "--state-dir",        "--t0",     "--weight", "--reason", "--checklist", "--item",
    "--for",    "--webhook-url-file", "--socket", NULL};

static bool takes_value(const char *name)
{
	for (int i = 0; value_opts[i]; i++)
		if (strcmp(name, value_opts[i]) == 0)
			return true;
	return false;
}

static int apply_value(struct sr_opts *o, const char *name, const char *v)
{
	long l;
	if (strcmp(name, "--policy") == 0)
		o->s.policy = v;
	else if (strcmp(name, "--scenario") == 0)
		o->s.scenario = v;
	else if (strcmp(name, "--theme") == 0)
		o->theme = v;
	else if (strcmp(name, "--state-dir") == 0) {
		if (!v[0])
			return cmd_usage_error("--state-dir needs a directory%s", "");
		o->s.state_dir = v;
	} else if (strcmp(name, "--webhook-url-file") == 0) {
		if (!v[0])
			return cmd_usage_error("--webhook-url-file needs a file%s", "");
		o->s.webhook_file = v;
	} else if (strcmp(name, "--socket") == 0) {
		if (!v[0])
			return cmd_usage_error("--socket needs a path%s", "");
		o->socket = v;
	} else if (strcmp(name, "--reason") == 0)
		o->reason = v;
	else if (strcmp(name, "--checklist") == 0)
		o->checklist = v;
	else if (strcmp(name, "--item") == 0)
		o->item = v;
	else if (strcmp(name, "--speed") == 0) {
		if (!parse_double(v, 0.001, 100000, &o->s.speed))
			return cmd_usage_error(
			    "--speed: '%s' is not a number between 0.001 and 100000", v);
		o->s.speed_set = true;
	} else if (strcmp(name, "--seed") == 0) {
		if (!parse_u64(v, &o->s.seed))
			return cmd_usage_error("--seed: '%s' is not a non-negative integer", v);
		o->s.seed_set = true;
	} else if (strcmp(name, "--refresh") == 0) {
		if (!cmd_parse_long(v, 50, 60000, &l))
			return cmd_usage_error(
			    "--refresh: '%s' is not a period in ms between 50 and 60000", v);
		o->refresh_ms = (int)l;
	} else if (strcmp(name, "--at") == 0) {
		if (!parse_trel(v, &o->at_min))
			return cmd_usage_error("--at: '%s' is not a time like T+95 or T-30", v);
		o->at_set = true;
	} else if (strcmp(name, "--start") == 0) {
		if (!parse_trel(v, &o->s.start_min))
			return cmd_usage_error("--start: '%s' is not a time like T+130 or T-30", v);
		o->s.start_set = true;
	} else if (strcmp(name, "--t0") == 0) {
		if (!parse_t0(v, clock_real_ms(), &o->s.t0))
			return cmd_usage_error(
			    "--t0: '%s' is not now, +MIN, -MIN or a UTC time like "
			    "2026-11-28T14:00Z",
			    v);
		o->s.t0_set = true;
	} else if (strcmp(name, "--weight") == 0) {
		if (!cmd_parse_long(v, 1, 100, &l))
			return cmd_usage_error("--weight: '%s' is not a weight from 1 to 100", v);
		o->weight = (int)l;
		o->weight_set = true;
	} else if (strcmp(name, "--for") == 0) {
		if (!parse_double(v, 0.1, 1e7, &o->for_s))
			return cmd_usage_error("--for: '%s' is not a number of seconds", v);
	}
	return 0;
}

static int apply_flag(struct sr_opts *o, const char *a)
{
	if (strcmp(a, "--read-only") == 0 || strcmp(a, "--readonly") == 0) /* k9s, htop */
		o->s.read_only = true;
	else if (strcmp(a, "--new-rollout") == 0)
		o->s.new_rollout = true;
	else if (strcmp(a, "--ascii") == 0)
		o->ascii = true;
	else if (strcmp(a, "--json") == 0)
		o->json = true;
	else if (strcmp(a, "--yes") == 0)
		o->yes = true;
	else if (strcmp(a, "--detach") == 0)
		o->detach = true;
	else if (strcmp(a, "--exit-with-last-console") == 0)
		o->exit_with_last = true;
	else if (strcmp(a, "--status") == 0)
		o->replay_status = true;
	else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		o->cmd = CMD_HELP;
	else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
		o->cmd = o->cmd == CMD_HELP ? CMD_HELP : CMD_VERSION;
	else
		return cmd_usage_error("unknown option '%s'", a);
	return 0;
}

static int parse_positional(struct sr_opts *o, const char *a, bool *have_cmd)
{
	static const struct {
		const char *name;
		enum sr_command cmd;
	} cmds[] = {{"status", CMD_STATUS}, {"check-config", CMD_CHECK_CONFIG},
	            {"act", CMD_ACT},       {"watch", CMD_WATCH},
	            {"replay", CMD_REPLAY}, {"report", CMD_REPORT},
	            {"serve", CMD_SERVE},   {"attach", CMD_ATTACH},
	            {"stop", CMD_STOP},     {"store", CMD_STORE}};
	if (!*have_cmd) {
		*have_cmd = true;
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
			if (strcmp(a, cmds[i].name) == 0) {
				o->cmd = o->cmd == CMD_CONSOLE ? cmds[i].cmd : o->cmd;
				return 0;
			}
		}
		return cmd_usage_error(
		    "unknown command '%s' (commands: serve, attach, stop, status, "
		    "act, watch, replay, report, check-config, store)",
		    a);
	}
	if ((o->cmd == CMD_CHECK_CONFIG || o->cmd == CMD_REPLAY) && !o->file) {
		o->file = a;
		return 0;
	}
	if ((o->cmd == CMD_ACT || o->cmd == CMD_STORE) && !o->action) {
		o->action = a;
		return 0;
	}
	if (o->cmd == CMD_REPORT && !o->report) {
		o->report = a;
		return 0;
	}
	if (o->cmd == CMD_REPORT && !o->report_arg && strcmp(o->report, "gate") == 0) {
		o->report_arg = a;
		return 0;
	}
	return cmd_usage_error("unexpected argument '%s'", a);
}

/* `report KIND`: the names a person types ("win-note", as the file is
 * called; "win" too, as report.h names it). */
bool cmd_report_kind(const char *name, enum sr_report_kind *out)
{
	static const struct {
		const char *name;
		enum sr_report_kind kind;
	} kinds[] = {{"gate", SR_REPORT_GATE},
	             {"card", SR_REPORT_CARD},
	             {"postmortem", SR_REPORT_POSTMORTEM},
	             {"win-note", SR_REPORT_WIN},
	             {"win", SR_REPORT_WIN}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(name, kinds[i].name) == 0) {
			if (out)
				*out = kinds[i].kind;
			return true;
		}
	}
	return false;
}

/* Which options go with which command. */
static int check_combinations(const struct sr_opts *o)
{
	enum sr_command c = o->cmd;
	if (c == CMD_CHECK_CONFIG && !o->file)
		return cmd_usage_error("check-config needs a FILE%s", "");
	if (c == CMD_REPLAY && !o->file)
		return cmd_usage_error("replay needs a journal FILE%s", "");
	if (o->json && c != CMD_STATUS && c != CMD_REPORT && !(c == CMD_REPLAY && o->replay_status))
		return cmd_usage_error(
		    "--json only applies to `shiproom status`, `report` and `replay "
		    "--status`%s",
		    "");
	if (o->at_set && c != CMD_STATUS && c != CMD_REPLAY && c != CMD_ACT && c != CMD_REPORT)
		return cmd_usage_error(
		    "--at only applies to status, act, report (simulator) and replay%s", "");
	if (c == CMD_REPORT) {
		if (!o->report)
			return cmd_usage_error(
			    "report needs a KIND: gate N, card, postmortem or win-note%s", "");
		if (!cmd_report_kind(o->report, NULL))
			return cmd_usage_error(
			    "report: unknown report '%s' (gate N, card, postmortem, "
			    "win-note)",
			    o->report);
		long g;
		if (o->report_arg && !cmd_parse_long(o->report_arg, 1, 100000, &g))
			return cmd_usage_error("report gate: '%s' is not a gate number (1, 2, ...)",
			                       o->report_arg);
	}
	if (o->detach && c != CMD_SERVE)
		return cmd_usage_error("--detach only applies to `shiproom serve`%s", "");
	if (o->exit_with_last && c != CMD_SERVE)
		return cmd_usage_error(
		    "--exit-with-last-console only applies to `shiproom serve`%s", "");
	if (o->socket && (c == CMD_REPLAY || c == CMD_CHECK_CONFIG))
		return cmd_usage_error("--socket does not apply to replay or check-config%s", "");
	if (c == CMD_ATTACH || c == CMD_STOP) {
		/* the rollout is the service's: these only say where it is */
		if (o->s.seed_set || o->s.speed_set || o->s.start_set || o->s.t0_set ||
		    o->s.webhook_file || o->s.state_dir)
			return cmd_usage_error(
			    "attach and stop join a running service: --seed, --speed, "
			    "--start, --t0, --state-dir and --webhook-url-file belong "
			    "to `shiproom serve` (--policy, --scenario and --socket "
			    "say which service)%s",
			    "");
	}
	if (o->replay_status && c != CMD_REPLAY)
		return cmd_usage_error("--status only applies to `shiproom replay`%s", "");
	if (c != CMD_CONSOLE && c != CMD_WATCH && c != CMD_SERVE && o->s.start_set)
		return cmd_usage_error("--start only applies to serve, the console and `shiproom "
		                       "watch`%s",
		                       "");
	if (c != CMD_CONSOLE && c != CMD_WATCH && c != CMD_SERVE && o->s.webhook_file)
		return cmd_usage_error("--webhook-url-file only applies to serve, the console and "
		                       "`shiproom watch`%s",
		                       "");
	if (c != CMD_ACT && (o->yes || o->weight_set || o->reason || o->checklist || o->item))
		return cmd_usage_error(
		    "--yes, --weight, --reason, --checklist and --item only apply to "
		    "`shiproom act`%s",
		    "");
	if (c != CMD_WATCH && o->for_s > 0)
		return cmd_usage_error("--for only applies to `shiproom watch`%s", "");
	if (c == CMD_ACT) {
		if (!o->action)
			return cmd_usage_error(
			    "act needs an ACTION (promote, hold, resume, rollback, approve, "
			    "tick, untick, note, tiebreak, declare_success, post)%s",
			    "");
		const struct sr_action_def *d = action_by_name(o->action);
		if (!d)
			return cmd_usage_error(
			    "act: unknown action '%s' (promote, hold, resume, rollback, "
			    "approve, tick, untick, note, tiebreak, declare_success, post)",
			    o->action);
		if (d->kind == SR_ACT_REPORT)
			return cmd_usage_error(
			    "act report: use `shiproom report KIND` (it prints the "
			    "report and, with a service or --state-dir, writes it)%s",
			    "");
		if (o->weight_set && d->kind != SR_ACT_PROMOTE)
			return cmd_usage_error("--weight only applies to `act promote`%s", "");
		bool item = d->kind == SR_ACT_TICK || d->kind == SR_ACT_UNTICK;
		if (item && (!o->checklist || !o->item))
			return cmd_usage_error("act %s needs --checklist C and --item I", d->name);
		if (!item && (o->checklist || o->item))
			return cmd_usage_error(
			    "--checklist and --item only apply to `act tick` and "
			    "`untick`%s",
			    "");
		if (!o->yes)
			return cmd_usage_error(
			    "act needs --yes: an action is never taken by accident%s", "");
	}
	return 0;
}

int cmd_parse_args(int argc, char **argv, struct sr_opts *o)
{
	bool have_cmd = false, no_more_opts = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (no_more_opts || a[0] != '-' || a[1] == '\0') {
			rc = parse_positional(o, a, &have_cmd);
		} else if (strcmp(a, "--") == 0) {
			no_more_opts = true;
		} else {
			char name[32];
			const char *eq = strchr(a, '=');
			size_t len = eq ? (size_t)(eq - a) : strlen(a);
			if (len >= sizeof name)
				return cmd_usage_error("unknown option '%s'", a);
			memcpy(name, a, len);
			name[len] = '\0';
			if (takes_value(name)) {
				const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!v)
					return cmd_usage_error("%s needs a value", name);
				rc = apply_value(o, name, v);
			} else if (eq) {
				return cmd_usage_error("option '%s' takes no value", name);
			} else {
				rc = apply_flag(o, a);
			}
		}
		if (rc)
			return rc;
	}
	if (o->cmd == CMD_HELP || o->cmd == CMD_VERSION)
		return 0;
	return check_combinations(o);
}

int cmd_finish_print(struct sr_session *s, int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sr_eprintf("cannot write the output: %s", strerror(errno));
		rc = SR_EXIT_RUNTIME;
	}
	session_free(s);
	return rc;
}
