/* main.c - argument parsing and wiring, nothing else.
 *
 *   shiproom [options]                     the console, on the simulator
 *   shiproom status [--json] [--at T+MIN]  headless: play the scenario, print, exit with the verdict
 *   shiproom check-config FILE             validate a policy file
 *   shiproom --version | --help
 *
 * Exit statuses: 0 OK / GO, 1 runtime failure, 2 usage or config error,
 * and for `status` the verdict: 3 HOLD, 4 ROLLBACK, 5 ESCALATE.
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
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/clock.h"
#include "shiproom/console.h"
#include "shiproom/policy.h"
#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"
#include "shiproom/status.h"

#ifndef SHIPROOM_VERSION
#define SHIPROOM_VERSION "0.1.0"
#endif

#define PATH_LEN 1024

enum command { CMD_CONSOLE, CMD_STATUS, CMD_CHECK_CONFIG, CMD_HELP, CMD_VERSION };

struct opts {
	enum command cmd;
	const char *policy;     /* NULL: <datadir>/config/shiproom.json */
	const char *scenario;   /* NAME or PATH */
	const char *theme;
	const char *file;       /* check-config FILE */
	double speed;
	bool seed_set;
	uint64_t seed;
	bool read_only, ascii, json;
	bool at_set;
	int at_min;
	bool start_set;         /* console: play the scenario up to here first */
	int start_min;
	int refresh_ms;
};

static const char usage_text[] =
	"usage: shiproom [options]                     open the console on the simulator\n"
	"       shiproom status [--json] [--at T+MIN]  play the scenario headless, print the status;\n"
	"                                              exit 0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE\n"
	"       shiproom check-config FILE             validate a policy file\n"
	"       shiproom --version | --help\n"
	"\n"
	"options:\n"
	"  --policy FILE      policy (default <datadir>/config/shiproom.json)\n"
	"  --scenario NAME    simulator scenario, a name in <datadir>/config/scenarios or a path\n"
	"                     (default healthy)\n"
	"  --speed N          virtual time speed, 1 = real time (default 1; make run uses 60)\n"
	"  --seed N           override the scenario's random seed\n"
	"  --read-only        look, never act: every action is refused, no edge is loaded\n"
	"  --theme NAME       console theme (default, mono, high-contrast, colour-blind-safe)\n"
	"  --ascii            ASCII glyphs and charts only\n"
	"  --refresh MS       console refresh period (default 1000)\n"
	"  --start T+MIN      console: play the scenario headless up to this time (T+130,\n"
	"                     T-30), then open the console there\n"
	"  --json             status: one JSON object instead of text\n"
	"  --at T+MIN         status: stop at this time (T+95, T-30) instead of the scenario's end\n"
	"\n"
	"data directory: $SHIPROOM_DATADIR, else the build's source tree, else\n"
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

/* Options that take a value accept "--opt VALUE" and "--opt=VALUE". */
static const char *const value_opts[] = {"--policy", "--scenario", "--speed", "--seed",
                                         "--theme", "--refresh", "--at", "--start", NULL};

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
	else if (strcmp(name, "--speed") == 0) {
		if (!parse_double(v, 0.001, 100000, &o->speed))
			return usage_error("--speed: '%s' is not a number between 0.001 and 100000", v);
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
	}
	return 0;
}

static int apply_flag(struct opts *o, const char *a)
{
	if (strcmp(a, "--read-only") == 0)
		o->read_only = true;
	else if (strcmp(a, "--ascii") == 0)
		o->ascii = true;
	else if (strcmp(a, "--json") == 0)
		o->json = true;
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
	if (!*have_cmd) {
		*have_cmd = true;
		if (strcmp(a, "status") == 0)
			o->cmd = o->cmd == CMD_CONSOLE ? CMD_STATUS : o->cmd;
		else if (strcmp(a, "check-config") == 0)
			o->cmd = o->cmd == CMD_CONSOLE ? CMD_CHECK_CONFIG : o->cmd;
		else
			return usage_error("unknown command '%s' (commands: status, check-config)", a);
		return 0;
	}
	if (o->cmd == CMD_CHECK_CONFIG && !o->file) {
		o->file = a;
		return 0;
	}
	return usage_error("unexpected argument '%s'", a);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	bool have_cmd = false, no_more_opts = false;
	enum command explicit_cmd;
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
	explicit_cmd = o->cmd;
	if (explicit_cmd == CMD_HELP || explicit_cmd == CMD_VERSION)
		return 0;
	if (explicit_cmd == CMD_CHECK_CONFIG && !o->file)
		return usage_error("check-config needs a FILE%s", "");
	if (explicit_cmd != CMD_STATUS && (o->json || o->at_set))
		return usage_error("%s only applies to `shiproom status`", o->json ? "--json" : "--at");
	if (explicit_cmd != CMD_CONSOLE && o->start_set)
		return usage_error("--start only applies to the console%s", "");
	return 0;
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
		printf("%s: ok (%d KPIs, %d cells, %d phases, %d gates, %d triggers)\n", o->file, p->nkpis,
		       p->ncells, p->nphases, p->ngates, p->ntriggers);
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
	struct sr_scenario *scenario;
	struct sr_sim *sim;
	struct sr_runner *runner;
	char datadir[PATH_LEN];
	char owner[SR_NAME_LEN];
};

static void session_free(struct session *s)
{
	free(s->runner);
	sim_destroy(s->sim);
	free(s->scenario);
	free(s->drill);
	free(s->policy);
}

static int session_open(struct session *s, const struct opts *o, bool drill_ok)
{
	char path[PATH_LEN], scdir[PATH_LEN + 32];
	memset(s, 0, sizeof *s);
	find_datadir(s->datadir, sizeof s->datadir);
	runner_owner_login(s->owner, sizeof s->owner);
	s->policy = calloc(1, sizeof *s->policy);
	s->scenario = calloc(1, sizeof *s->scenario);
	s->runner = calloc(1, sizeof *s->runner);
	if (!s->policy || !s->scenario || !s->runner) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	if (o->policy)
		pathf(path, sizeof path, "%s", o->policy);
	else
		pathf(path, sizeof path, "%s/config/shiproom.json", s->datadir);
	if (load_policy(s->policy, path) != 0)
		return SR_EXIT_USAGE;

	struct sr_policy_error err;
	memset(&err, 0, sizeof err);
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
	bool drill = drill_ok && !o->read_only && !in_roster(p, s->owner);
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
	runner_init(s->runner, p, s->scenario, sim_source(s->sim), sim_edge(s->sim), o->read_only,
	            s->owner);
	s->runner->sim = s->sim;
	runner_log(s->runner, SR_LOG_INFO, SR_GREEN, "", "simulator: scenario %s, seed %llu",
	           s->scenario->name, (unsigned long long)s->scenario->seed);
	if (drill)
		runner_log(s->runner, SR_LOG_INFO, SR_YELLOW, "",
		           "simulator drill: %s acts as release_dri + gate_approver", s->owner);
	return 0;
}

static int cmd_status(const struct opts *o)
{
	struct session s;
	int rc = session_open(&s, o, false);
	if (rc) {
		session_free(&s);
		return rc;
	}
	const struct sr_scenario *sc = s.scenario;
	int until_min = o->at_set ? o->at_min : sc->end_min;
	if (until_min < sc->start_min) {
		fprintf(stderr, "shiproom: --at T%+d is before the scenario starts (T%+d)\n", until_min,
		        sc->start_min);
		session_free(&s);
		return SR_EXIT_USAGE;
	}
	runner_advance(s.runner, sc->t0 + (sr_ms)until_min * SR_MS_PER_MIN);
	if (o->json)
		status_print_json(stdout, s.runner);
	else
		status_print_text(stdout, s.runner);
	rc = (int)s.runner->engine.decision.verdict;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "shiproom: cannot write the status: %s\n", strerror(errno));
		rc = SR_EXIT_RUNTIME;
	}
	session_free(&s);
	return rc;
}

static int cmd_console(const struct opts *o)
{
	struct session s;
	int rc = session_open(&s, o, true);
	if (rc) {
		session_free(&s);
		return rc;
	}
	if (o->start_set) {
		/* Tests and drills: start the console at a given moment. */
		const struct sr_scenario *sc = s.scenario;
		if (o->start_min < sc->start_min) {
			fprintf(stderr, "shiproom: --start T%+d is before the scenario starts (T%+d)\n",
			        o->start_min, sc->start_min);
			session_free(&s);
			return SR_EXIT_USAGE;
		}
		runner_advance(s.runner, sc->t0 + (sr_ms)o->start_min * SR_MS_PER_MIN);
	}
	struct sr_clock clock;
	clock_init(&clock, clock_real_ms(), s.runner->now, o->speed);
	struct sr_console_opts co = {
		.runner = s.runner,
		.clock = &clock,
		.datadir = s.datadir,
		.theme = o->theme,
		.ascii = o->ascii,
		.read_only = o->read_only,
		.refresh_ms = o->refresh_ms,
	};
	rc = console_run(&co);
	session_free(&s);
	return rc;
}

int main(int argc, char **argv)
{
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
	case CMD_CONSOLE:
		break;
	}
	return cmd_console(&o);
}
