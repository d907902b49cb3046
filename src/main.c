/* main.c - argument parsing and wiring, nothing else.
 *
 *   shiproom [options]                     the console
 *   shiproom status [--json] [--at T+MIN]  headless: evaluate, print, exit with the verdict
 *   shiproom act ACTION ... --yes          headless: one action through the dispatcher
 *   shiproom watch [--for SECONDS]         headless console: poll, journal, auto-rollback
 *   shiproom replay FILE [--speed N]       play a journal back (console, or --status)
 *   shiproom report gate N|card|postmortem|win-note [--at T+MIN] [--json]
 *                                          headless: a ship-room report on stdout
 *   shiproom check-config FILE             validate a policy file
 *   shiproom --version | --help
 *
 * Exit statuses: 0 OK / GO / done, 1 runtime failure (an action that
 * failed), 2 usage or config error, 3 refused (act), and for `status` the
 * verdict: 3 HOLD, 4 ROLLBACK, 5 ESCALATE.
 *
 * Where data comes from is the policy's: source.kind "sim" is the
 * built-in simulator (with a scenario and a virtual clock), "prometheus"
 * a real Prometheus on the real clock; edge.kind "sim", "haproxy" or
 * "http". The real drivers run on libuv's default loop, which the console
 * also runs; headless commands run it themselves until their answer is in.
 *
 * The journal. Every session that can act opens one: --state-dir DIR, or
 * $XDG_STATE_HOME/shiproom/<rollout>/ for a real rollout. The simulator
 * journals too (the same dispatcher path), but into a fresh temporary
 * state dir removed at exit unless --state-dir is given: a drill never
 * writes into a real rollout's journal, and a scenario replays the same
 * every time. Start-up: open the journal (a torn last line is reported),
 * replay it into the rollout, write the start record (T-0, policy hash)
 * if there is none, and reconcile an intent left without its outcome
 * with the edge's real weight, before anything else. Read-only sessions
 * (--read-only, status, replay) never write it; they read it when it
 * exists.
 *
 * Secrets (a bearer token, an edge token) come only from the files or
 * environment variables the policy names; no option takes one, and
 * nothing here prints one.
 *
 * The data directory (config/, themes/) is $SHIPROOM_DATADIR, else the
 * compiled-in SR_DATADIR (the source tree, so `make run` works without
 * installing) when it holds config/shiproom.json, else
 * <dir of the executable>/../share/shiproom.
 *
 * Simulator drill: on the simulator, a console whose owner is not in the
 * policy's roster would be unable to do anything, and `make run` is meant
 * to be tried by whoever builds it. So, and only on the simulator and
 * never in read-only mode, the owner is added to release_dri and
 * gate_approver in a private copy of the policy, and the log says so.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/clock.h"
#include "shiproom/console.h"
#include "shiproom/haproxy.h"
#include "shiproom/http_edge.h"
#include "shiproom/journal.h"
#include "shiproom/notify.h"
#include "shiproom/policy.h"
#include "shiproom/prometheus.h"
#include "shiproom/report.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"
#include "shiproom/status.h"

#ifndef SHIPROOM_VERSION
#define SHIPROOM_VERSION "0.1.0"
#endif

#define PATH_LEN 1024
#define EXIT_REFUSED 3
/* A headless command waits this long at most for the loop (a poll, an
 * action with its retries); the drivers' own timeouts end it sooner. */
#define HEADLESS_MAX_MS (120 * SR_MS_PER_S)

enum command {
	CMD_CONSOLE,
	CMD_STATUS,
	CMD_ACT,
	CMD_WATCH,
	CMD_REPLAY,
	CMD_REPORT,
	CMD_CHECK_CONFIG,
	CMD_HELP,
	CMD_VERSION
};

struct opts {
	enum command cmd;
	const char *policy;     /* NULL: <datadir>/config/shiproom.json */
	const char *scenario;   /* NAME or PATH */
	const char *theme;
	const char *file;       /* check-config FILE, replay FILE */
	const char *state_dir;  /* --state-dir */
	const char *webhook_file; /* --webhook-url-file: the URL (a secret) is in it */
	const char *action;     /* act ACTION */
	const char *report;     /* report KIND (gate, card, postmortem, win-note) */
	const char *report_arg; /* report gate N */
	const char *reason, *checklist, *item;
	double speed;
	bool speed_set;
	bool seed_set;
	uint64_t seed;
	bool read_only, ascii, json, yes, replay_status;
	bool at_set;
	int at_min;
	bool start_set;         /* console: play the scenario up to here first */
	int start_min;
	bool t0_set;
	sr_ms t0;               /* --t0, absolute ms */
	int weight;             /* act promote --weight (0: the next phase) */
	bool weight_set;
	double for_s;           /* watch --for */
	int refresh_ms;
};

static const char usage_text[] =
	"usage: shiproom [options]              open the console\n"
	"       shiproom status [--json] [--at T+MIN]\n"
	"                     evaluate once (the simulator: play the scenario) and\n"
	"                     print; exit 0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE\n"
	"       shiproom act ACTION [--weight N] [--reason TEXT]\n"
	"                    [--checklist C --item I] --yes\n"
	"                     one action through the same dispatcher and checks as\n"
	"                     the console's keys; ACTION: promote hold resume\n"
	"                     rollback approve tick untick note tiebreak\n"
	"                     declare_success; exit 0 done, 3 refused, 1 failed\n"
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
	"       shiproom --version | --help\n"
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
	"  --theme NAME       default, mono, high-contrast, colour-blind-safe\n"
	"  --ascii            ASCII glyphs and charts only\n"
	"  --refresh MS       console refresh period (default 1000)\n"
	"  --start T+MIN      console and watch on the simulator: play headless up\n"
	"                     to this time (T+130, T-30), then open there\n"
	"  --json             status, report: one JSON object instead of text\n"
	"  --at T+MIN         status, report (simulator), replay: stop at this time\n"
	"  --yes              act: required; an action is never taken by accident\n"
	"  --for SECONDS      watch: stop after this long (default: until a signal)\n"
	"  --webhook-url-file FILE\n"
	"                     console, watch: the #ship-room webhook URL from FILE\n"
	"                     (mode 0600 or stricter; default $SHIPROOM_WEBHOOK_URL)\n"
	"\n"
	"Secrets (Prometheus bearer token, HTTP edge token) come only from a file of\n"
	"mode 0600 or an environment variable named in the policy, never argv.\n"
	"\n"
	"Data directory: $SHIPROOM_DATADIR, else the build's source tree, else\n"
	"<dir of the executable>/../share/shiproom\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "shiproom: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\nTry 'shiproom --help'.\n");
	return SR_EXIT_USAGE;
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

static bool parse_long(const char *s, long lo, long hi, long *out)
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
	if (!parse_long(s, -100000, 100000, &v))
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
	if ((s[0] == '+' || s[0] == '-') && parse_long(s + (s[0] == '+'), -100000, 100000, &v)) {
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
	"--policy", "--scenario", "--speed",     "--seed",     "--theme", "--refresh",
	"--at",     "--start",    "--state-dir", "--t0",       "--weight", "--reason",
	"--checklist", "--item",  "--for",       "--webhook-url-file", NULL};

static bool takes_value(const char *name)
{
	for (int i = 0; value_opts[i]; i++)
		if (strcmp(name, value_opts[i]) == 0)
			return true;
	return false;
}

static int apply_value(struct opts *o, const char *name, const char *v)
{
	long l;
	if (strcmp(name, "--policy") == 0)
		o->policy = v;
	else if (strcmp(name, "--scenario") == 0)
		o->scenario = v;
	else if (strcmp(name, "--theme") == 0)
		o->theme = v;
	else if (strcmp(name, "--state-dir") == 0) {
		if (!v[0])
			return usage_error("--state-dir needs a directory%s", "");
		o->state_dir = v;
	} else if (strcmp(name, "--webhook-url-file") == 0) {
		if (!v[0])
			return usage_error("--webhook-url-file needs a file%s", "");
		o->webhook_file = v;
	} else if (strcmp(name, "--reason") == 0)
		o->reason = v;
	else if (strcmp(name, "--checklist") == 0)
		o->checklist = v;
	else if (strcmp(name, "--item") == 0)
		o->item = v;
	else if (strcmp(name, "--speed") == 0) {
		if (!parse_double(v, 0.001, 100000, &o->speed))
			return usage_error("--speed: '%s' is not a number between 0.001 and 100000", v);
		o->speed_set = true;
	} else if (strcmp(name, "--seed") == 0) {
		if (!parse_u64(v, &o->seed))
			return usage_error("--seed: '%s' is not a non-negative integer", v);
		o->seed_set = true;
	} else if (strcmp(name, "--refresh") == 0) {
		if (!parse_long(v, 50, 60000, &l))
			return usage_error("--refresh: '%s' is not a period in ms between 50 and 60000", v);
		o->refresh_ms = (int)l;
	} else if (strcmp(name, "--at") == 0) {
		if (!parse_trel(v, &o->at_min))
			return usage_error("--at: '%s' is not a time like T+95 or T-30", v);
		o->at_set = true;
	} else if (strcmp(name, "--start") == 0) {
		if (!parse_trel(v, &o->start_min))
			return usage_error("--start: '%s' is not a time like T+130 or T-30", v);
		o->start_set = true;
	} else if (strcmp(name, "--t0") == 0) {
		if (!parse_t0(v, clock_real_ms(), &o->t0))
			return usage_error("--t0: '%s' is not now, +MIN, -MIN or a UTC time like "
			                   "2026-11-28T14:00Z",
			                   v);
		o->t0_set = true;
	} else if (strcmp(name, "--weight") == 0) {
		if (!parse_long(v, 1, 100, &l))
			return usage_error("--weight: '%s' is not a weight from 1 to 100", v);
		o->weight = (int)l;
		o->weight_set = true;
	} else if (strcmp(name, "--for") == 0) {
		if (!parse_double(v, 0.1, 1e7, &o->for_s))
			return usage_error("--for: '%s' is not a number of seconds", v);
	}
	return 0;
}

static int apply_flag(struct opts *o, const char *a)
{
	if (strcmp(a, "--read-only") == 0 || strcmp(a, "--readonly") == 0) /* k9s, htop */
		o->read_only = true;
	else if (strcmp(a, "--ascii") == 0)
		o->ascii = true;
	else if (strcmp(a, "--json") == 0)
		o->json = true;
	else if (strcmp(a, "--yes") == 0)
		o->yes = true;
	else if (strcmp(a, "--status") == 0)
		o->replay_status = true;
	else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		o->cmd = CMD_HELP;
	else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)
		o->cmd = o->cmd == CMD_HELP ? CMD_HELP : CMD_VERSION;
	else
		return usage_error("unknown option '%s'", a);
	return 0;
}

static int parse_positional(struct opts *o, const char *a, bool *have_cmd)
{
	static const struct {
		const char *name;
		enum command cmd;
	} cmds[] = {{"status", CMD_STATUS}, {"check-config", CMD_CHECK_CONFIG}, {"act", CMD_ACT},
	            {"watch", CMD_WATCH},   {"replay", CMD_REPLAY},
	            {"report", CMD_REPORT}};
	if (!*have_cmd) {
		*have_cmd = true;
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
			if (strcmp(a, cmds[i].name) == 0) {
				o->cmd = o->cmd == CMD_CONSOLE ? cmds[i].cmd : o->cmd;
				return 0;
			}
		}
		return usage_error("unknown command '%s' (commands: status, act, watch, replay, "
		                   "report, check-config)",
		                   a);
	}
	if ((o->cmd == CMD_CHECK_CONFIG || o->cmd == CMD_REPLAY) && !o->file) {
		o->file = a;
		return 0;
	}
	if (o->cmd == CMD_ACT && !o->action) {
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
	return usage_error("unexpected argument '%s'", a);
}

/* `report KIND`: the names a person types ("win-note", as the file is
 * called; "win" too, as report.h names it). */
static bool report_kind_by_name(const char *name, enum sr_report_kind *out)
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
static int check_combinations(const struct opts *o)
{
	enum command c = o->cmd;
	if (c == CMD_CHECK_CONFIG && !o->file)
		return usage_error("check-config needs a FILE%s", "");
	if (c == CMD_REPLAY && !o->file)
		return usage_error("replay needs a journal FILE%s", "");
	if (o->json && c != CMD_STATUS && c != CMD_REPORT && !(c == CMD_REPLAY && o->replay_status))
		return usage_error("--json only applies to `shiproom status`, `report` and `replay "
		                   "--status`%s",
		                   "");
	if (o->at_set && c != CMD_STATUS && c != CMD_REPLAY && c != CMD_ACT && c != CMD_REPORT)
		return usage_error("--at only applies to status, act, report (simulator) and replay%s",
		                   "");
	if (c == CMD_REPORT) {
		if (!o->report)
			return usage_error("report needs a KIND: gate N, card, postmortem or win-note%s", "");
		if (!report_kind_by_name(o->report, NULL))
			return usage_error("report: unknown report '%s' (gate N, card, postmortem, "
			                   "win-note)",
			                   o->report);
		long g;
		if (o->report_arg && !parse_long(o->report_arg, 1, 100000, &g))
			return usage_error("report gate: '%s' is not a gate number (1, 2, ...)",
			                   o->report_arg);
	}
	if (o->replay_status && c != CMD_REPLAY)
		return usage_error("--status only applies to `shiproom replay`%s", "");
	if (c != CMD_CONSOLE && c != CMD_WATCH && o->start_set)
		return usage_error("--start only applies to the console and `shiproom watch`%s", "");
	if (c != CMD_CONSOLE && c != CMD_WATCH && o->webhook_file)
		return usage_error("--webhook-url-file only applies to the console and `shiproom "
		                   "watch`%s",
		                   "");
	if (c != CMD_ACT && (o->yes || o->weight_set || o->reason || o->checklist || o->item))
		return usage_error("--yes, --weight, --reason, --checklist and --item only apply to "
		                   "`shiproom act`%s",
		                   "");
	if (c != CMD_WATCH && o->for_s > 0)
		return usage_error("--for only applies to `shiproom watch`%s", "");
	if (c == CMD_ACT) {
		if (!o->action)
			return usage_error("act needs an ACTION (promote, hold, resume, rollback, approve, "
			                   "tick, tiebreak, declare_success)%s",
			                   "");
		const struct sr_action_def *d = action_by_name(o->action);
		if (!d)
			return usage_error("act: unknown action '%s' (promote, hold, resume, rollback, "
			                   "approve, tick, tiebreak, declare_success)",
			                   o->action);
		if (o->weight_set && d->kind != SR_ACT_PROMOTE)
			return usage_error("--weight only applies to `act promote`%s", "");
		bool item = d->kind == SR_ACT_TICK || d->kind == SR_ACT_UNTICK;
		if (item && (!o->checklist || !o->item))
			return usage_error("act %s needs --checklist C and --item I", d->name);
		if (!item && (o->checklist || o->item))
			return usage_error("--checklist and --item only apply to `act tick` and `untick`%s", "");
		if (!o->yes)
			return usage_error("act needs --yes: an action is never taken by accident%s", "");
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
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
				return usage_error("unknown option '%s'", a);
			memcpy(name, a, len);
			name[len] = '\0';
			if (takes_value(name)) {
				const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!v)
					return usage_error("%s needs a value", name);
				rc = apply_value(o, name, v);
			} else if (eq) {
				return usage_error("option '%s' takes no value", name);
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

/* snprintf through a va_list: paths are bounded on purpose (a path that
 * does not fit fails to open, with its name in the message). */
static void pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* ---- data directory ------------------------------------------------------------ */

static bool has_policy(const char *dir)
{
	char path[PATH_LEN];
	struct stat st;
	pathf(path, sizeof path, "%s/config/shiproom.json", dir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void find_datadir(char *out, size_t n)
{
	const char *env = getenv("SHIPROOM_DATADIR");
	if (env && env[0]) {
		pathf(out, n, "%s", env); /* explicit: used as given */
		return;
	}
	if (has_policy(SR_DATADIR)) {
		pathf(out, n, "%s", SR_DATADIR);
		return;
	}
	char exe[PATH_LEN];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char cand[PATH_LEN + 32];
			pathf(cand, sizeof cand, "%s/../share/shiproom", exe);
			if (has_policy(cand)) {
				pathf(out, n, "%s", cand);
				return;
			}
		}
	}
	pathf(out, n, "%s", SR_DATADIR);
}

/* ---- commands ---------------------------------------------------------------------- */

static int load_policy(struct sr_policy *p, const char *path)
{
	struct sr_policy_error err;
	memset(&err, 0, sizeof err);
	if (policy_load_file(p, path, &err) == 0)
		return 0;
	char msg[2048];
	policy_error_format(&err, msg, sizeof msg);
	fprintf(stderr, "shiproom: %s\n", msg);
	return -1;
}

static int cmd_check_config(const struct opts *o)
{
	struct sr_policy *p = calloc(1, sizeof *p);
	if (!p) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	int rc = SR_EXIT_USAGE;
	if (load_policy(p, o->file) == 0) {
		printf("%s: ok (%d KPIs, %d cells, %d phases, %d gates, %d triggers), source %s, edge "
		       "%s\n",
		       o->file, p->nkpis, p->ncells, p->nphases, p->ngates, p->ntriggers, p->source_kind,
		       p->edge_kind);
		rc = SR_EXIT_OK;
	}
	free(p);
	return rc;
}

static bool in_roster(const struct sr_policy *p, const char *login)
{
	for (int role = 0; role < SR_ROLE_COUNT; role++)
		if (rights_has_role(p, login, (enum sr_role)role))
			return true;
	return false;
}

static void roster_add(struct sr_policy *p, enum sr_role role, const char *login)
{
	struct sr_roster *ro = &p->roster;
	if (ro->n[role] < SR_MAX_ROSTER)
		sr_strlcpy(ro->who[role][ro->n[role]++], login, SR_NAME_LEN);
}

struct session {
	struct sr_policy *policy;    /* as loaded */
	struct sr_policy *drill;     /* the simulator-drill copy, or NULL */
	struct sr_scenario *scenario;/* NULL on a real source */
	struct sr_sim *sim;
	struct sr_runner *runner;
	struct sr_source *source;    /* a real source (the sim's is borrowed) */
	struct sr_edge *edge;        /* a real edge */
	struct sr_journal *journal;
	uv_loop_t *loop;
	bool real;                   /* not the simulator: the real clock */
	bool read_only;
	char state_dir[PATH_LEN];
	bool temp_state;             /* a simulator's temporary state dir */
	bool keep_state;             /* the state dir persists (reports may go there) */
	struct sr_report_templates templates;
	bool have_templates;
	struct sr_http *notify_http; /* the webhook's HTTP client */
	struct sr_notify *notify;
	int history_end;             /* log entries up to here replay the journal */
	char datadir[PATH_LEN];
	char owner[SR_NAME_LEN];
};

static void rm_state_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_LEN + 300];
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		pathf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void session_free(struct session *s)
{
	if (s->notify)
		notify_destroy(s->notify);
	if (s->notify_http)
		http_destroy(s->notify_http);
	if (s->have_templates)
		report_templates_free(&s->templates);
	if (s->runner)
		runner_close(s->runner);
	if (s->source && !s->sim)
		s->source->ops->destroy(s->source);
	if (s->edge)
		s->edge->ops->destroy(s->edge);
	if (s->loop) {
		/* let the drivers' and timers' handles close */
		for (int i = 0; i < 100 && uv_run(s->loop, UV_RUN_NOWAIT); i++)
			;
	}
	if (s->journal)
		journal_close(s->journal);
	if (s->temp_state)
		rm_state_dir(s->state_dir);
	free(s->runner);
	sim_destroy(s->sim);
	free(s->scenario);
	free(s->drill);
	free(s->policy);
	memset(s, 0, sizeof *s);
}

/* Run the loop until *busy is false, or the headless bound passes. */
static void loop_until(struct session *s, const bool *busy)
{
	sr_ms until = clock_real_ms() + HEADLESS_MAX_MS;
	while (*busy && clock_real_ms() < until) {
		if (uv_run(s->loop, UV_RUN_ONCE) == 0 && *busy) {
			/* nothing left that could end it */
			break;
		}
	}
}

/* ---- the parts of a session -------------------------------------------------------- */

static int open_simulator(struct session *s, const struct opts *o, bool drill_ok)
{
	char path[PATH_LEN], scdir[PATH_LEN + 32];
	struct sr_policy_error err;
	memset(&err, 0, sizeof err);
	if (strcmp(s->policy->edge_kind, "sim") != 0) {
		fprintf(stderr,
		        "shiproom: %s: the simulator drives its own edge; edge.kind \"%s\" needs a "
		        "real source (source.kind \"prometheus\")\n",
		        s->policy->path, s->policy->edge_kind);
		return SR_EXIT_USAGE;
	}
	if (o->t0_set) {
		fprintf(stderr, "shiproom: --t0 applies to a real rollout; a scenario has its own T-0\n");
		return SR_EXIT_USAGE;
	}
	s->scenario = calloc(1, sizeof *s->scenario);
	if (!s->scenario) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	pathf(scdir, sizeof scdir, "%s/config/scenarios", s->datadir);
	scenario_path(path, sizeof path, scdir, o->scenario ? o->scenario : "healthy");
	if (scenario_load_file(s->scenario, s->policy, path, &err) != 0) {
		char msg[2048];
		policy_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "shiproom: %s\n", msg);
		return SR_EXIT_USAGE;
	}
	if (o->seed_set)
		s->scenario->seed = o->seed;

	const struct sr_policy *p = s->policy;
	bool drill = drill_ok && !s->read_only && !in_roster(p, s->owner);
	if (drill) {
		s->drill = malloc(sizeof *s->drill);
		if (!s->drill) {
			fprintf(stderr, "shiproom: out of memory\n");
			return SR_EXIT_RUNTIME;
		}
		memcpy(s->drill, s->policy, sizeof *s->drill);
		roster_add(s->drill, SR_ROLE_RELEASE_DRI, s->owner);
		roster_add(s->drill, SR_ROLE_GATE_APPROVER, s->owner);
		p = s->drill;
	}
	s->sim = sim_create(p, s->scenario);
	if (!s->sim) {
		fprintf(stderr, "shiproom: cannot start the simulator (out of memory)\n");
		return SR_EXIT_RUNTIME;
	}
	s->source = sim_source(s->sim);
	runner_init(s->runner, p, s->scenario, s->source, sim_edge(s->sim), s->read_only, s->owner);
	s->runner->sim = s->sim;
	runner_log(s->runner, SR_LOG_INFO, SR_GREEN, "", "simulator: scenario %s, seed %llu",
	           s->scenario->name, (unsigned long long)s->scenario->seed);
	if (drill)
		runner_log(s->runner, SR_LOG_INFO, SR_YELLOW, "",
		           "simulator drill: %s acts as release_dri + gate_approver", s->owner);
	return 0;
}

static int open_real(struct session *s, const struct opts *o)
{
	const struct sr_policy *p = s->policy;
	char err[1024];
	if (strcmp(p->edge_kind, "sim") == 0 && !s->read_only) {
		fprintf(stderr,
		        "shiproom: %s: edge.kind \"sim\" belongs to the simulator; give a real edge "
		        "(haproxy, http) or use --read-only\n",
		        p->path);
		return SR_EXIT_USAGE;
	}
	if (o->scenario || o->seed_set || o->start_set || (o->speed_set && o->speed != 1.0)) {
		fprintf(stderr, "shiproom: --scenario, --seed, --start and --speed are for the "
		                "simulator; this policy reads %s on the real clock\n",
		        p->source_kind);
		return SR_EXIT_USAGE;
	}
	s->real = true;
	s->loop = uv_default_loop();
	struct sr_prom_config *pc = calloc(1, sizeof *pc);
	if (!pc) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	int rc = 0;
	if (policy_prometheus_config(p, pc, err, sizeof err) != 0 ||
	    !(s->source = prometheus_create(p, pc, s->loop, err, sizeof err))) {
		fprintf(stderr, "shiproom: prometheus: %s\n", err);
		rc = SR_EXIT_RUNTIME;
	}
	memset(pc, 0, sizeof *pc); /* header values may be secrets */
	free(pc);
	if (rc)
		return rc;
	/* Read-only: no edge driver and no credential is even loaded. */
	if (!s->read_only && strcmp(p->edge_kind, "haproxy") == 0) {
		struct sr_haproxy_config hc;
		if (policy_haproxy_config(p, &hc, err, sizeof err) != 0 ||
		    !(s->edge = haproxy_edge_create(s->loop, &hc, err, sizeof err))) {
			fprintf(stderr, "shiproom: haproxy edge: %s\n", err);
			return SR_EXIT_RUNTIME;
		}
	} else if (!s->read_only && strcmp(p->edge_kind, "http") == 0) {
		struct sr_http_edge_config *hc = calloc(1, sizeof *hc);
		if (!hc) {
			fprintf(stderr, "shiproom: out of memory\n");
			return SR_EXIT_RUNTIME;
		}
		if (policy_http_edge_config(p, hc, err, sizeof err) != 0 ||
		    !(s->edge = http_edge_create(s->loop, hc, err, sizeof err))) {
			fprintf(stderr, "shiproom: http edge: %s\n", err);
			rc = SR_EXIT_RUNTIME;
		}
		free(hc);
		if (rc)
			return rc;
	}
	runner_init(s->runner, p, NULL, s->source, s->edge, s->read_only, s->owner);
	s->runner->now = clock_real_ms();
	/* T-0 until the journal says otherwise (a new rollout: --t0 or now) */
	rollout_init(&s->runner->engine.ro, p, o->t0_set ? o->t0 : s->runner->now);
	runner_log(s->runner, SR_LOG_INFO, SR_GREEN, "", "source %s, edge %s%s", p->source_kind,
	           s->edge ? s->edge->ops->name : "none",
	           s->read_only ? " (read-only: no edge, no credential loaded)" : "");
	return 0;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A journal whose last byte is not a newline: a write cut short (or
 * being made right now: look twice). */
static bool journal_torn(const char *path)
{
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(path, "rb");
		if (!f)
			return false;
		bool torn = fseek(f, -1, SEEK_END) == 0 && fgetc(f) != '\n';
		fclose(f);
		if (!torn)
			return false;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* Open the journal and replay it into the rollout (see the header). */
static int open_journal(struct session *s, const struct opts *o)
{
	struct sr_runner *r = s->runner;
	char err[1024], path[PATH_LEN + 32];
	if (s->real || o->state_dir) {
		if (journal_state_dir(s->state_dir, sizeof s->state_dir, o->state_dir,
		                      s->policy->rollout, err, sizeof err) != 0) {
			fprintf(stderr, "shiproom: state dir: %s\n", err);
			return SR_EXIT_RUNTIME;
		}
	} else {
		/* The simulator without --state-dir: a private, temporary one. */
		const char *tmp = getenv("TMPDIR");
		pathf(s->state_dir, sizeof s->state_dir, "%s/shiproom-sim-XXXXXX",
		      tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(s->state_dir)) {
			fprintf(stderr, "shiproom: cannot create a state dir in %s: %s\n",
			        tmp && tmp[0] == '/' ? tmp : "/tmp", strerror(errno));
			return SR_EXIT_RUNTIME;
		}
		s->temp_state = true;
	}
	s->keep_state = !s->temp_state;
	pathf(path, sizeof path, "%s/%s", s->state_dir, JOURNAL_FILE);
	if (s->read_only) {
		/* Read, never write: not even the repair of a torn line. */
		if (!file_exists(path)) {
			if (s->real)
				runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "journal: none yet in %s",
				           s->state_dir);
			return 0;
		}
		if (journal_torn(path)) {
			runner_log(r, SR_LOG_INFO, SR_YELLOW, "",
			           "journal: %s has a torn last line; read once (a read-write start "
			           "repairs it)",
			           path);
			if (runner_journal_read(r, path, err, sizeof err) < 0) {
				fprintf(stderr, "shiproom: journal: %s\n", err);
				return SR_EXIT_RUNTIME;
			}
			return 0;
		}
	}
	struct sr_journal_open_info info;
	memset(&info, 0, sizeof info);
	s->journal = journal_open(s->state_dir, &info, err, sizeof err);
	if (!s->journal) {
		fprintf(stderr, "shiproom: journal: %s\n", err);
		return SR_EXIT_RUNTIME;
	}
	if (info.torn) {
		/* Visible, never silent: on stderr now and in the log. */
		fprintf(stderr,
		        "shiproom: journal: torn last line at offset %lld (%zu bytes, a write cut "
		        "short) moved to %s\n",
		        info.torn_offset, info.torn_bytes,
		        info.torn_saved[0] ? info.torn_saved : "(nowhere)");
	}
	if (runner_set_journal(r, s->journal, s->read_only) < 0) {
		fprintf(stderr, "shiproom: journal: cannot read %s\n", journal_path(s->journal));
		return SR_EXIT_RUNTIME;
	}
	s->history_end = r->nlog;
	if (r->policy_changed)
		fprintf(stderr,
		        "shiproom: journal: this rollout was started under another version of the "
		        "policy (its hash differs from %s's): the rules now are the file's\n",
		        s->policy->path);
	if (s->temp_state) {
		/* Open the lock file now, then let the directory go: the open
		 * descriptors keep working, and nothing is left behind however
		 * the process ends (a screen test's kill, a crash). */
		char why[256];
		if (journal_lock(s->journal, s->owner, "start", why, sizeof why) == 0)
			journal_unlock(s->journal);
		rm_state_dir(s->state_dir);
		s->temp_state = false;
	}
	if (s->read_only)
		return 0;
	sr_ms t0 = s->scenario ? s->scenario->t0 : (o->t0_set ? o->t0 : r->now);
	if (!r->replay.started) {
		if (runner_journal_start(r, t0, err, sizeof err) != 0) {
			fprintf(stderr, "shiproom: journal: cannot start it: %s\n", err);
			return SR_EXIT_RUNTIME;
		}
		if (s->real) {
			char rel[24];
			sr_fmt_trel(rel, sizeof rel, r->now - t0);
			runner_log(r, SR_LOG_INFO, SR_GREEN, "", "journal: new rollout in %s; now is %s%s",
			           s->state_dir, rel, o->t0_set ? "" : " (T-0 is now: --t0 plans it)");
		}
	} else if (o->t0_set && r->engine.ro.t0 != o->t0) {
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "",
		           "journal: T-0 comes from the journal's start record; --t0 ignored");
	}
	return 0;
}

/* view: a command that only looks (status); on a real source it is then
 * read-only whatever the options say. */
static int session_open(struct session *s, const struct opts *o, bool drill_ok, bool read_only,
                        bool view)
{
	char path[PATH_LEN];
	memset(s, 0, sizeof *s);
	s->read_only = read_only;
	find_datadir(s->datadir, sizeof s->datadir);
	runner_owner_login(s->owner, sizeof s->owner);
	s->policy = calloc(1, sizeof *s->policy);
	s->runner = calloc(1, sizeof *s->runner);
	if (!s->policy || !s->runner) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	if (o->policy)
		pathf(path, sizeof path, "%s", o->policy);
	else
		pathf(path, sizeof path, "%s/config/shiproom.json", s->datadir);
	if (load_policy(s->policy, path) != 0)
		return SR_EXIT_USAGE;
	if (view && strcmp(s->policy->source_kind, "sim") != 0)
		s->read_only = true;
	int rc = strcmp(s->policy->source_kind, "sim") == 0 ? open_simulator(s, o, drill_ok)
	                                                     : open_real(s, o);
	if (rc)
		return rc;
	rc = open_journal(s, o);
	if (rc)
		return rc;
	if (s->loop)
		runner_attach_loop(s->runner, s->loop);
	/* Before anything else: an intent left without its outcome. */
	runner_reconcile(s->runner);
	if (s->runner->reconciling) {
		loop_until(s, &s->runner->reconciling);
		if (s->runner->reconciling) {
			fprintf(stderr, "shiproom: start-up reconciliation did not finish\n");
			return SR_EXIT_RUNTIME;
		}
	}
	return 0;
}

/* Log entries written since *mark, up to (not including) entry `end`,
 * to out. notable: only what a script should see on stderr - problems and
 * the steps of an action (retries, reconciliation), not the evaluation
 * nor the journal's history. */
static void print_log_to(FILE *out, const struct sr_runner *r, int *mark, int end, bool notable)
{
	if (*mark < r->nlog - SR_LOG_LEN)
		*mark = r->nlog - SR_LOG_LEN;
	for (; *mark < end; (*mark)++) {
		const struct sr_log_entry *e = &r->log[*mark % SR_LOG_LEN];
		if (notable && (e->severity < SR_YELLOW || e->kind == SR_LOG_STATUS ||
		                e->kind == SR_LOG_TRIGGER || e->kind == SR_LOG_DECISION))
			continue;
		char rel[24], iso[32] = "?";
		time_t t = (time_t)(e->at / SR_MS_PER_S);
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &tm);
		sr_fmt_trel(rel, sizeof rel, e->at - r->engine.ro.t0);
		fprintf(out, "%s.%03dZ %s %-6s %s%s%s\n", iso, (int)(e->at % SR_MS_PER_S), rel,
		        sr_status_name(e->severity), e->actor, e->actor[0] ? ": " : "", e->text);
	}
	fflush(out);
}

static void print_log(FILE *out, const struct sr_runner *r, int *mark, bool notable)
{
	print_log_to(out, r, mark, r->nlog, notable);
}

/* One evaluation on the real clock: poll the source and wait for it. */
static void evaluate_now(struct session *s)
{
	runner_tick(s->runner, clock_real_ms());
	loop_until(s, &s->runner->polling);
}

static int finish_print(struct session *s, int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "shiproom: cannot write the output: %s\n", strerror(errno));
		rc = SR_EXIT_RUNTIME;
	}
	session_free(s);
	return rc;
}

static int cmd_status(const struct opts *o)
{
	struct session s;
	/* A view: on a real source it never acts (no auto-rollback from a
	 * status query) and never writes the journal. The simulator plays
	 * its scenario's script, so it acts, in its own temporary journal. */
	int rc = session_open(&s, o, false, o->read_only, true);
	if (rc) {
		session_free(&s);
		return rc;
	}
	if (s.real) {
		if (o->at_set) {
			session_free(&s);
			return usage_error("--at is for the simulator: a real rollout is read now%s", "");
		}
		evaluate_now(&s);
		if (s.runner->polling)
			fprintf(stderr, "shiproom: the source did not answer in time\n");
	} else {
		const struct sr_scenario *sc = s.scenario;
		int until_min = o->at_set ? o->at_min : sc->end_min;
		if (until_min < sc->start_min) {
			fprintf(stderr, "shiproom: --at T%+d is before the scenario starts (T%+d)\n",
			        until_min, sc->start_min);
			session_free(&s);
			return SR_EXIT_USAGE;
		}
		runner_advance(s.runner, sc->t0 + (sr_ms)until_min * SR_MS_PER_MIN);
	}
	if (o->json)
		status_print_json(stdout, s.runner);
	else
		status_print_text(stdout, s.runner);
	return finish_print(&s, (int)s.runner->engine.decision.verdict);
}

/* ---- the ship-room workflow (reports, webhook) ---------------------------------------------- */

/* The report templates from <datadir>/config (a broken one stops the
 * start, not the gate). */
static int open_templates(struct session *s)
{
	char dir[PATH_LEN + 16], err[1024];
	pathf(dir, sizeof dir, "%s/config", s->datadir);
	if (report_templates_load(&s->templates, dir, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: report templates: %s\n", err);
		return SR_EXIT_USAGE;
	}
	s->have_templates = true;
	return 0;
}

/* The webhook URL is a secret: from --webhook-url-file (a file of mode
 * 0600 or stricter, owned by the user: notify_url_from_file refuses
 * anything else, naming the file and its mode) or, without it, from
 * SHIPROOM_WEBHOOK_URL; never from argv, never printed. 1 when there is
 * none, 0 with url filled, or an exit code. */
static int webhook_url(const struct opts *o, char *url, size_t n)
{
	char err[1024];
	int rc;
	if (o->webhook_file) {
		rc = notify_url_from_file(o->webhook_file, url, n, err, sizeof err);
	} else {
		const char *env = getenv(SR_NOTIFY_ENV);
		if (!env || !env[0])
			return 1;
		rc = notify_url_from_env(NULL, url, n, err, sizeof err);
	}
	if (rc != 0) {
		fprintf(stderr, "shiproom: webhook: %s\n", err);
		return SR_EXIT_USAGE;
	}
	return 0;
}

/* The templates, and the webhook when one is configured and the session
 * may post (a read-only one posts nothing and reads no secret). */
/* A webhook post was delivered or given up. A give-up is shown in the
 * console's log and, like every delivery, journaled so the audit trail
 * says who was told what and when. The error text never holds the URL
 * (notify scrubs it) and the journal sanitises it again. */
static void on_notify_event(void *ud, enum sr_notify_kind kind, bool delivered, int attempts,
                            const char *error)
{
	struct session *s = ud;
	if (!delivered)
		runner_log(s->runner, SR_LOG_INFO, SR_RED, "", "webhook %s post given up after %d tries: %s",
		           notify_kind_name(kind), attempts, error ? error : "?");
	if (!s->journal)
		return;
	json_t *f = json_pack("{s:s, s:b, s:i}", "kind", notify_kind_name(kind), "delivered",
	                      delivered, "attempts", attempts);
	if (f && error)
		json_object_set_new(f, "error", json_string(error));
	char err[256];
	if (f && journal_append(s->journal, SR_J_NOTIFY, s->runner->now, "", f, NULL, err,
	                        sizeof err) < 0)
		runner_log(s->runner, SR_LOG_INFO, SR_RED, "", "journal: webhook record lost: %s", err);
}

static int open_workflow(struct session *s, const struct opts *o, bool with_notify)
{
	char err[1024];
	int rc = open_templates(s);
	if (rc)
		return rc;
	if (!with_notify)
		return 0;
	if (s->read_only) {
		if (o->webhook_file || getenv(SR_NOTIFY_ENV))
			runner_log(s->runner, SR_LOG_INFO, SR_GREEN, "",
			           "webhook: off (read-only: nothing is posted)");
		return 0;
	}
	char url[SR_NOTIFY_URL_MAX];
	rc = webhook_url(o, url, sizeof url);
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	if (!s->loop) {
		s->loop = uv_default_loop();
		runner_attach_loop(s->runner, s->loop);
	}
	s->notify_http = http_create(s->loop, err, sizeof err);
	if (s->notify_http)
		s->notify = notify_create(s->loop, s->notify_http, url, NULL, err, sizeof err);
	explicit_bzero(url, sizeof url);
	if (!s->notify) {
		fprintf(stderr, "shiproom: webhook: %s\n", err);
		return SR_EXIT_RUNTIME;
	}
	notify_set_event_cb(s->notify, on_notify_event, s);
	return 0;
}

/* Reports are written into the state dir when it persists and the
 * session may write: the same rule for the console, watch and act. */
static bool reports_writable(const struct session *s)
{
	return s->have_templates && s->keep_state && !s->read_only;
}

static int cmd_act(const struct opts *o)
{
	struct session s;
	int rc = session_open(&s, o, true, o->read_only, false);
	if (rc) {
		session_free(&s);
		return rc;
	}
	struct sr_runner *r = s.runner;
	int mark = s.history_end; /* not the journal's history: what happens now */
	print_log(stderr, r, &mark, true); /* start-up: reconciliation */
	if (s.real) {
		if (o->at_set) {
			session_free(&s);
			return usage_error("--at is for the simulator: a real action happens now%s", "");
		}
		/* The decision needs fresh data: one evaluation first. */
		evaluate_now(&s);
		if (r->polling) {
			fprintf(stderr, "shiproom: act: the source did not answer in time\n");
			session_free(&s);
			return SR_EXIT_RUNTIME;
		}
	} else {
		const struct sr_scenario *sc = s.scenario;
		int at = o->at_set ? o->at_min : sc->start_min;
		if (at < sc->start_min) {
			fprintf(stderr, "shiproom: --at T%+d is before the scenario starts (T%+d)\n", at,
			        sc->start_min);
			session_free(&s);
			return SR_EXIT_USAGE;
		}
		runner_advance(r, sc->t0 + (sr_ms)at * SR_MS_PER_MIN);
	}
	print_log(stderr, r, &mark, true);
	/* The reports an action makes due, as the console writes them: the
	 * postmortem placeholder at once on a rollback, the phase card on a
	 * promotion. What was reached before this action is not written
	 * again (the watch's first tick only looks). A broken template must
	 * not stop an action, a rollback least of all: said, then skipped. */
	struct sr_report_watch rw;
	bool reporting = false;
	if (s.keep_state && !s.read_only) {
		if (open_templates(&s) == 0) {
			report_watch_init(&rw, &s.templates, s.state_dir);
			report_watch_tick(&rw, r);
			reporting = true;
		} else {
			fprintf(stderr, "shiproom: act: no reports will be written; the action goes on\n");
		}
	}
	print_log(stderr, r, &mark, true);
	mark = r->nlog;

	struct sr_action_request req;
	struct sr_action_result res;
	memset(&req, 0, sizeof req);
	memset(&res, 0, sizeof res);
	req.kind = action_by_name(o->action)->kind;
	req.weight = o->weight_set ? o->weight : 0;
	req.gate = -1;
	sr_strlcpy(req.actor, s.owner, sizeof req.actor);
	sr_strlcpy(req.reason, o->reason ? o->reason : "", sizeof req.reason);
	sr_strlcpy(req.checklist, o->checklist ? o->checklist : "", sizeof req.checklist);
	sr_strlcpy(req.item, o->item ? o->item : "", sizeof req.item);
	/* SIGINT or a hang-up must not cut an action in flight short: the
	 * intent is written, the outcome will be too. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	action_dispatch(r, &req, &res);
	if (res.outcome == SR_ACT_PENDING) {
		while (r->action_in_flight && s.loop) {
			print_log(stderr, r, &mark, true);
			if (uv_run(s.loop, UV_RUN_ONCE) == 0 && r->action_in_flight)
				break;
		}
		res = r->flight.result;
	}
	/* the steps; the result itself (the last entry) goes to stdout */
	print_log_to(stderr, r, &mark, r->nlog - 1, true);
	switch (res.outcome) {
	case SR_ACT_DONE:
		printf("done: %s\n", res.message);
		rc = SR_EXIT_OK;
		break;
	case SR_ACT_REFUSED:
		printf("refused: %s\n", res.message);
		rc = EXIT_REFUSED;
		break;
	case SR_ACT_FAILED:
		printf("failed: %s\n", res.message);
		rc = SR_EXIT_RUNTIME;
		break;
	case SR_ACT_PENDING:
		printf("failed: %s: no answer from the edge\n", res.message);
		rc = SR_EXIT_RUNTIME;
		break;
	}
	if (reporting && (res.outcome == SR_ACT_DONE || res.outcome == SR_ACT_FAILED)) {
		mark = r->nlog; /* the result is on stdout already */
		report_watch_tick(&rw, r);
		print_log(stderr, r, &mark, false); /* "postmortem placeholder created: ..." */
	}
	return finish_print(&s, rc);
}

/* ---- report: a ship-room report, headless ---------------------------------------------------- */

/* Bring the session to the moment the report is about: the simulator
 * plays its scenario to --at (default its end), as `status` does; a real
 * rollout is evaluated now. */
static int report_play(struct session *s, const struct opts *o)
{
	if (s->real) {
		if (o->at_set)
			return usage_error("--at is for the simulator: a real rollout is read now%s", "");
		evaluate_now(s);
		if (s->runner->polling)
			fprintf(stderr, "shiproom: the source did not answer in time\n");
		return 0;
	}
	const struct sr_scenario *sc = s->scenario;
	int until_min = o->at_set ? o->at_min : sc->end_min;
	if (until_min < sc->start_min) {
		fprintf(stderr, "shiproom: --at T%+d is before the scenario starts (T%+d)\n", until_min,
		        sc->start_min);
		return SR_EXIT_USAGE;
	}
	runner_advance(s->runner, sc->t0 + (sr_ms)until_min * SR_MS_PER_MIN);
	return 0;
}

static int report_print(const struct session *s, enum sr_report_kind kind, int index, bool json)
{
	char *text;
	if (json) {
		json_t *d = report_json(kind, s->runner, index);
		text = d ? json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
		                             JSON_REAL_PRECISION(6))
		         : NULL;
		json_decref(d);
	} else {
		text = report_markdown(&s->templates, kind, s->runner, index);
	}
	if (!text) {
		fprintf(stderr, "shiproom: out of memory rendering the %s report\n",
		        report_kind_name(kind));
		return SR_EXIT_RUNTIME;
	}
	size_t len = strlen(text);
	fputs(text, stdout);
	if (len == 0 || text[len - 1] != '\n')
		fputc('\n', stdout);
	free(text);
	return SR_EXIT_OK;
}

static int cmd_report(const struct opts *o)
{
	struct session s;
	enum sr_report_kind kind = SR_REPORT_GATE;
	report_kind_by_name(o->report, &kind); /* checked with the arguments */
	/* A view, like status: never acts on a real source, never writes its
	 * journal; the simulator plays its script in its own journal. */
	int rc = session_open(&s, o, false, o->read_only, true);
	if (rc == 0)
		rc = open_workflow(&s, o, false); /* the templates: exit 2 when broken */
	int index = -1;
	if (rc == 0 && kind == SR_REPORT_GATE) {
		int ngates = s.policy->ngates;
		long g = 0;
		if (o->report_arg)
			parse_long(o->report_arg, 1, 100000, &g);
		if (ngates == 0) {
			fprintf(stderr, "shiproom: report gate: %s has no gates\n", s.policy->path);
			rc = SR_EXIT_USAGE;
		} else if (o->report_arg && g > ngates) {
			fprintf(stderr, "shiproom: report gate %ld: %s has %d gate%s (1..%d)\n", g,
			        s.policy->path, ngates, ngates == 1 ? "" : "s", ngates);
			rc = SR_EXIT_USAGE;
		}
		index = o->report_arg ? (int)g - 1 : -1; /* none given: the gate ahead */
	}
	if (rc == 0)
		rc = report_play(&s, o);
	if (rc == 0)
		rc = report_print(&s, kind, index, o->json);
	/* --read-only: print it, write nothing (on a real source the session
	 * is read-only anyway, a view: there the user's flag decides). */
	if (rc == 0 && s.keep_state && o->read_only)
		fprintf(stderr, "shiproom: report: read-only: not written to %s\n", s.state_dir);
	if (rc == 0 && s.keep_state && !o->read_only) {
		char path[PATH_LEN + 200], err[1024];
		int w = report_write(&s.templates, kind, s.runner, index, s.state_dir, path, sizeof path,
		                     err, sizeof err);
		if (w < 0) {
			fprintf(stderr, "shiproom: report: cannot write it into %s: %s\n", s.state_dir, err);
			rc = SR_EXIT_RUNTIME;
		} else if (w == 1) {
			fprintf(stderr, "shiproom: report: %s exists and is kept (people edit it)\n", path);
		} else {
			fprintf(stderr, "shiproom: report: written to %s\n", path);
		}
	}
	return finish_print(&s, rc);
}

/* ---- watch: the console without a screen ---------------------------------------------- */

/* How long a stopping watch waits for the webhook to deliver what it has
 * queued (the rollback's post above all), in real ms. */
#define WATCH_DRAIN_MS (5 * SR_MS_PER_S)

struct watch {
	struct session *s;
	struct sr_clock clock;
	uv_timer_t tick, out;
	uv_signal_t sigint, sigterm;
	int mark;
	sr_ms end;                   /* real ms, 0 = none */
	bool stopping;
	sr_ms drain_until;           /* real ms: stop waiting for the webhook */
	struct sr_report_watch reports;
	bool reporting;              /* reports go into the state dir */
	int workflow_nlog;           /* r->nlog when the workflow last looked */
};

/* The console's workflow, headless: the reports that fell due into the
 * state dir, then the webhook's posts. The runner does neither itself,
 * so nothing is done twice. */
static void watch_workflow(struct watch *w)
{
	struct sr_runner *r = w->s->runner;
	if (w->reporting)
		report_watch_tick(&w->reports, r);
	if (w->s->notify)
		notify_tick(w->s->notify, r, r->now);
	w->workflow_nlog = r->nlog;
}

static void watch_stop_if_idle(struct watch *w)
{
	if (!w->stopping || w->s->runner->action_in_flight)
		return;
	if (uv_is_active((uv_handle_t *)&w->tick))
		uv_timer_stop(&w->tick); /* time stands still while the webhook drains */
	if (w->s->notify && notify_status(w->s->notify)->queued > 0) {
		sr_ms real = clock_real_ms();
		if (!w->drain_until)
			w->drain_until = real + WATCH_DRAIN_MS;
		if (real < w->drain_until)
			return;
	}
	uv_stop(w->s->loop);
}

static void on_watch_tick(uv_timer_t *t)
{
	struct watch *w = t->data;
	sr_ms real = clock_real_ms();
	sr_ms now = clock_now(&w->clock, real);
	runner_tick(w->s->runner, now);
	watch_workflow(w);
	if (w->end && real >= w->end)
		w->stopping = true;
	watch_stop_if_idle(w);
}

static void on_watch_out(uv_timer_t *t)
{
	struct watch *w = t->data;
	/* An edge action completes in a loop callback, between ticks: its
	 * report (the postmortem placeholder) and its post go out at once,
	 * as the console's do after an action. */
	if (w->s->runner->nlog != w->workflow_nlog && !w->stopping)
		watch_workflow(w);
	print_log(stdout, w->s->runner, &w->mark, false);
	watch_stop_if_idle(w);
}

static void on_watch_signal(uv_signal_t *h, int sig)
{
	struct watch *w = h->data;
	(void)sig;
	w->stopping = true;
	watch_stop_if_idle(w);
}

/* The console and watch open the same live session: the session, the
 * --start jump on the simulator (open_real refuses --start on a real
 * source), a loop for the journal watch and the webhook, the workflow.
 * On failure the session is freed and the exit status returned. */
static int open_live_session(struct session *s, const struct opts *o)
{
	int rc = session_open(s, o, true, o->read_only, false);
	if (rc == 0 && o->start_set) {
		const struct sr_scenario *sc = s->scenario;
		if (o->start_min < sc->start_min) {
			fprintf(stderr, "shiproom: --start T%+d is before the scenario starts (T%+d)\n",
			        o->start_min, sc->start_min);
			rc = SR_EXIT_USAGE;
		} else {
			runner_advance(s->runner, sc->t0 + (sr_ms)o->start_min * SR_MS_PER_MIN);
		}
	}
	if (rc == 0 && !s->loop) {
		s->loop = uv_default_loop();
		runner_attach_loop(s->runner, s->loop);
	}
	if (rc == 0)
		rc = open_workflow(s, o, true);
	if (rc)
		session_free(s);
	return rc;
}

static int cmd_watch(const struct opts *o)
{
	struct session s;
	int rc = open_live_session(&s, o);
	if (rc)
		return rc;
	struct watch w;
	memset(&w, 0, sizeof w);
	w.s = &s;
	if (reports_writable(&s)) {
		report_watch_init(&w.reports, &s.templates, s.state_dir);
		report_watch_tick(&w.reports, s.runner); /* what is already reached: not again */
		w.reporting = true;
	}
	double speed = s.real ? 1.0 : o->speed;
	clock_init(&w.clock, clock_real_ms(), s.runner->now, speed);
	sr_ms poll = s.policy->poll_ms > 0 ? s.policy->poll_ms : 15 * SR_MS_PER_S;
	sr_ms every = (sr_ms)((double)poll / speed);
	if (every < 10)
		every = 10;
	if (o->for_s > 0)
		w.end = clock_real_ms() + (sr_ms)(o->for_s * 1000.0);
	uv_timer_init(s.loop, &w.tick);
	uv_timer_init(s.loop, &w.out);
	uv_signal_init(s.loop, &w.sigint);
	uv_signal_init(s.loop, &w.sigterm);
	w.tick.data = w.out.data = w.sigint.data = w.sigterm.data = &w;
	uv_timer_start(&w.tick, on_watch_tick, 0, (uint64_t)every);
	uv_timer_start(&w.out, on_watch_out, 100, 100);
	uv_signal_start(&w.sigint, on_watch_signal, SIGINT);
	uv_signal_start(&w.sigterm, on_watch_signal, SIGTERM);
	signal(SIGHUP, SIG_IGN); /* a dropped session must not cut an action short */
	uv_run(s.loop, UV_RUN_DEFAULT);
	print_log(stdout, s.runner, &w.mark, false);
	if (s.notify) {
		const struct sr_notify_status *ns = notify_status(s.notify);
		if (ns->queued > 0)
			fprintf(stderr, "shiproom: webhook: %d post%s still queued at exit, dropped\n",
			        ns->queued, ns->queued == 1 ? "" : "s");
	}
	uv_close((uv_handle_t *)&w.tick, NULL);
	uv_close((uv_handle_t *)&w.out, NULL);
	uv_close((uv_handle_t *)&w.sigint, NULL);
	uv_close((uv_handle_t *)&w.sigterm, NULL);
	uv_run(s.loop, UV_RUN_NOWAIT);
	return finish_print(&s, SR_EXIT_OK);
}

/* ---- replay ------------------------------------------------------------------------------ */

static int cmd_replay(const struct opts *o)
{
	char path[PATH_LEN], datadir[PATH_LEN], owner[SR_NAME_LEN], err[1024];
	struct sr_policy *p = calloc(1, sizeof *p);
	struct sr_runner *r = calloc(1, sizeof *r);
	int rc = SR_EXIT_OK;
	if (!p || !r) {
		free(p);
		free(r);
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	find_datadir(datadir, sizeof datadir);
	runner_owner_login(owner, sizeof owner);
	if (o->policy)
		pathf(path, sizeof path, "%s", o->policy);
	else
		pathf(path, sizeof path, "%s/config/shiproom.json", datadir);
	if (load_policy(p, path) != 0) {
		free(p);
		free(r);
		return SR_EXIT_USAGE;
	}
	runner_init(r, p, NULL, NULL, NULL, true, owner);
	sr_ms first = 0, last = 0;
	if (runner_replay_load(r, o->file, &first, &last, err, sizeof err) < 0) {
		fprintf(stderr, "shiproom: replay: %s\n", err);
		rc = SR_EXIT_RUNTIME;
		goto out;
	}
	if (r->journal_issues > 0) {
		/* a torn tail, a malformed line: said, never silently skipped */
		for (int i = r->nlog > SR_LOG_LEN ? r->nlog - SR_LOG_LEN : 0; i < r->nlog; i++)
			fprintf(stderr, "shiproom: replay: %s\n", r->log[i % SR_LOG_LEN].text);
	}
	if (o->replay_status) {
		sr_ms until = o->at_set ? r->engine.ro.t0 + (sr_ms)o->at_min * SR_MS_PER_MIN : last;
		runner_tick(r, until);
		if (o->json)
			status_print_json(stdout, r);
		else
			status_print_text(stdout, r);
		rc = (int)r->engine.decision.verdict;
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "shiproom: cannot write the output: %s\n", strerror(errno));
			rc = SR_EXIT_RUNTIME;
		}
		goto out;
	}
	struct sr_clock clock;
	clock_init(&clock, clock_real_ms(), first, o->speed);
	runner_log(r, SR_LOG_INFO, SR_GREEN, "", "replay of %s at speed %g (read-only)", o->file,
	           o->speed);
	struct sr_console_opts co = {
		.runner = r,
		.clock = &clock,
		.datadir = datadir,
		.theme = o->theme,
		.ascii = o->ascii,
		.read_only = true,
		.refresh_ms = o->refresh_ms,
	};
	rc = console_run(&co);
out:
	runner_close(r);
	free(r);
	free(p);
	return rc;
}

/* ---- the console ------------------------------------------------------------------------- */

static int cmd_console(const struct opts *o)
{
	struct session s;
	int rc = open_live_session(&s, o);
	if (rc)
		return rc;
	struct sr_clock clock;
	clock_init(&clock, clock_real_ms(), s.real ? clock_real_ms() : s.runner->now,
	           s.real ? 1.0 : o->speed);
	struct sr_console_opts co = {
		.runner = s.runner,
		.clock = &clock,
		.datadir = s.datadir,
		.theme = o->theme,
		.ascii = o->ascii,
		.read_only = o->read_only,
		.refresh_ms = o->refresh_ms,
		.templates = &s.templates,
		.notify = s.notify,
		.state_dir = s.keep_state ? s.state_dir : NULL,
	};
	rc = console_run(&co);
	session_free(&s);
	return rc;
}

int main(int argc, char **argv)
{
	/* A peer closing its socket (HAProxy's Runtime API, Prometheus, the
	 * webhook) must not kill the console with SIGPIPE in the middle of a
	 * rollback, between an intent and its outcome: the write fails with
	 * EPIPE instead, which the drivers report and retry. libcurl's
	 * CURLOPT_NOSIGNAL also leaves SIGPIPE to the application to ignore.
	 * First thing, before any socket exists. */
	signal(SIGPIPE, SIG_IGN);
	struct opts o = {.cmd = CMD_CONSOLE, .speed = 1.0, .refresh_ms = 1000};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	switch (o.cmd) {
	case CMD_HELP:
		fputs(usage_text, stdout);
		return SR_EXIT_OK;
	case CMD_VERSION:
		printf("shiproom %s\n", SHIPROOM_VERSION);
		return SR_EXIT_OK;
	case CMD_CHECK_CONFIG:
		return cmd_check_config(&o);
	case CMD_STATUS:
		return cmd_status(&o);
	case CMD_ACT:
		return cmd_act(&o);
	case CMD_WATCH:
		return cmd_watch(&o);
	case CMD_REPLAY:
		return cmd_replay(&o);
	case CMD_REPORT:
		return cmd_report(&o);
	case CMD_CONSOLE:
		break;
	}
	return cmd_console(&o);
}
