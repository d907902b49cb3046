/* session.c - one rollout's parts, set up once; the one per-tick place.
 * (session.h has the order of start-up and what each part is.)
 *
 * The journal. Every session that can act opens one: --state-dir DIR, or
 * $XDG_STATE_HOME/shiproom/<rollout>/ for a real rollout. The simulator
 * journals too (the same dispatcher path), but into a fresh temporary
 * state dir removed at once unless --state-dir is given: a drill never
 * writes into a real rollout's journal, and a scenario replays the same
 * every time. Read-only sessions (--read-only, status, replay) never
 * write it; they read it when it exists.
 *
 * Simulator drill: on the simulator, an owner who is not in the policy's
 * roster would be unable to do anything, and `make run` is meant to be
 * tried by whoever builds it. So, and only on the simulator and never in
 * read-only mode, the owner is added to release_dri and gate_approver in
 * a private copy of the policy, and the log says so.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/clock.h"
#include "shiproom/etcd.h"
#include "shiproom/http.h"
#include "shiproom/journal.h"
#include "shiproom/notify.h"
#include "shiproom/policy.h"
#include "shiproom/rights.h"
#include "shiproom/scenario.h"
#include "shiproom/secret.h"
#include "shiproom/session.h"
#include "shiproom/sim.h"
#include "shiproom/store.h"

static void pathf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

void session_policy_path(const struct sr_session_opts *o, const char *datadir, char *out, size_t n)
{
	if (o->policy)
		pathf(out, n, "%s", o->policy);
	else
		pathf(out, n, "%s/config/shiproom.json", datadir);
}

/* ---- data directory ------------------------------------------------------------ */

static bool has_policy(const char *dir)
{
	char path[SR_PATH_LEN];
	struct stat st;
	pathf(path, sizeof path, "%s/config/shiproom.json", dir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void session_find_datadir(char *out, size_t n)
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
	char exe[SR_PATH_LEN];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char cand[SR_PATH_LEN + 32];
			pathf(cand, sizeof cand, "%s/../share/shiproom", exe);
			if (has_policy(cand)) {
				pathf(out, n, "%s", cand);
				return;
			}
		}
	}
	pathf(out, n, "%s", SR_DATADIR);
}

int session_load_policy(struct sr_policy *p, const char *path)
{
	struct sr_policy_error err;
	memset(&err, 0, sizeof err);
	if (policy_load_file(p, path, &err) == 0)
		return 0;
	char msg[2048];
	policy_error_format(&err, msg, sizeof msg);
	sr_eprintf("%s", msg);
	return -1;
}

bool session_in_roster(const struct sr_policy *p, const char *login)
{
	for (int role = 0; role < SR_ROLE_COUNT; role++)
		if (rights_has_role(p, login, (enum sr_role)role))
			return true;
	return false;
}

void session_roster_add(struct sr_policy *p, enum sr_role role, const char *login)
{
	struct sr_roster *ro = &p->roster;
	if (ro->n[role] < SR_MAX_ROSTER)
		sr_strlcpy(ro->who[role][ro->n[role]++], login, SR_NAME_LEN);
}

static void rm_state_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[SR_PATH_LEN + 300];
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

void session_free(struct sr_session *s)
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
	if (s->store)
		store_close(s->store);
	if (s->etcd)
		etcd_close(s->etcd);
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
void session_loop_until(struct sr_session *s, const bool *busy)
{
	sr_ms until = clock_real_ms() + SR_HEADLESS_MAX_MS;
	while (*busy && clock_real_ms() < until) {
		if (uv_run(s->loop, UV_RUN_ONCE) == 0 && *busy) {
			/* nothing left that could end it */
			break;
		}
	}
}

/* ---- the parts of a session -------------------------------------------------------- */

static int open_simulator(struct sr_session *s, const struct sr_session_opts *o, bool drill_ok)
{
	char path[SR_PATH_LEN], scdir[SR_PATH_LEN + 32];
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
		fprintf(stderr,
		        "shiproom: --t0 applies to a real rollout; a scenario has its own T-0\n");
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
		sr_eprintf("%s", msg);
		return SR_EXIT_USAGE;
	}
	if (o->seed_set)
		s->scenario->seed = o->seed;

	const struct sr_policy *p = s->policy;
	bool drill = drill_ok && !s->read_only && !session_in_roster(p, s->owner);
	if (drill) {
		s->drill = calloc(1, sizeof *s->drill);
		if (!s->drill) {
			fprintf(stderr, "shiproom: out of memory\n");
			return SR_EXIT_RUNTIME;
		}
		sr_copy_sparse(s->drill, s->policy, sizeof *s->drill);
		session_roster_add(s->drill, SR_ROLE_RELEASE_DRI, s->owner);
		session_roster_add(s->drill, SR_ROLE_GATE_APPROVER, s->owner);
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

static int open_real(struct sr_session *s, const struct sr_session_opts *o)
{
	const struct sr_policy *p = s->policy;
	char err[1024];
	if (strcmp(p->edge_kind, "sim") == 0 && !s->read_only) {
		fprintf(
		    stderr,
		    "shiproom: %s: edge.kind \"sim\" belongs to the simulator; give a real edge "
		    "(haproxy, http) or use --read-only\n",
		    p->path);
		return SR_EXIT_USAGE;
	}
	if (o->scenario || o->seed_set || o->start_set || (o->speed_set && o->speed != 1.0)) {
		fprintf(stderr,
		        "shiproom: --scenario, --seed, --start and --speed are for the "
		        "simulator; this policy reads %s on the real clock\n",
		        p->source_kind);
		return SR_EXIT_USAGE;
	}
	s->real = true;
	s->loop = uv_default_loop();
	/* The drivers are chosen by kind in one place each (source.c, edge.c).
	 * Read-only: no edge driver and no credential is even loaded. */
	/* A secret file of the wrong owner or mode is a usage error (exit 2),
	 * whichever driver reads it (secret.h). */
	if (!(s->source = source_open(p, s->loop, err, sizeof err))) {
		fprintf(stderr, "shiproom: %s: %s\n", p->source_kind, err);
		return secret_load_failed() ? SR_EXIT_USAGE : SR_EXIT_RUNTIME;
	}
	if (!s->read_only && !(s->edge = edge_open(p, s->loop, err, sizeof err))) {
		fprintf(stderr, "shiproom: %s edge: %s\n", p->edge_kind, err);
		return secret_load_failed() ? SR_EXIT_USAGE : SR_EXIT_RUNTIME;
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
static int open_store(struct sr_session *s, const struct sr_session_opts *o);

/* Has this state dir held a rollout? What a rollout leaves beside its
 * journal: the action lock, the service's log and pid, reports, a torn
 * line saved aside, a break-glass spool. */
static bool state_dir_held_a_rollout(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool held = false;
	struct dirent *de;
	while (!held && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t l = strlen(n);
		held = strcmp(n, JOURNAL_LOCK_FILE) == 0 || strcmp(n, "service.log") == 0 ||
		       strcmp(n, JOURNAL_SPOOL_FILE) == 0 ||
		       strncmp(n, JOURNAL_FILE ".", 14) == 0 ||
		       (l > 3 && strcmp(n + l - 3, ".md") == 0);
	}
	closedir(d);
	return held;
}

static int open_journal(struct sr_session *s, const struct sr_session_opts *o)
{
	struct sr_runner *r = s->runner;
	char err[1024], path[SR_PATH_LEN + 32];
	if (s->real || o->state_dir) {
		if (journal_state_dir(s->state_dir, sizeof s->state_dir, o->state_dir,
		                      s->policy->rollout, err, sizeof err) != 0) {
			sr_eprintf("state dir: %s", err);
			return SR_EXIT_RUNTIME;
		}
	} else {
		/* The simulator without --state-dir: a private, temporary one. */
		const char *tmp = getenv("TMPDIR");
		pathf(s->state_dir, sizeof s->state_dir, "%s/shiproom-sim-XXXXXX",
		      tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(s->state_dir)) {
			sr_eprintf("cannot create a state dir in %s: %s",
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
			runner_log(
			    r, SR_LOG_INFO, SR_YELLOW, "",
			    "journal: %s has a torn last line; read once (a read-write start "
			    "repairs it)",
			    path);
			fprintf(stderr, "shiproom: %s\n", r->log[(r->nlog - 1) % SR_LOG_LEN].text);
			if (runner_journal_read(r, path, err, sizeof err) < 0) {
				sr_eprintf("journal: %s", err);
				return SR_EXIT_RUNTIME;
			}
			return 0;
		}
	}
	if (!s->temp_state && !o->new_rollout && !file_exists(path) &&
	    strcmp(s->policy->store_kind, "etcd") != 0 /* the store rebuilds its mirror */ &&
	    state_dir_held_a_rollout(s->state_dir)) {
		sr_eprintf("%s holds a rollout's files (reports, its lock, its service's log) but "
		           "no %s: was it deleted or moved? Put it back, or start a new rollout "
		           "here with --new-rollout",
		           s->state_dir, JOURNAL_FILE);
		return SR_EXIT_USAGE;
	}
	struct sr_journal_open_info info;
	memset(&info, 0, sizeof info);
	s->journal = s->read_only ? journal_open_readonly(s->state_dir, err, sizeof err)
	                          : journal_open(s->state_dir, &info, err, sizeof err);
	if (!s->journal) {
		sr_eprintf("journal: %s", err);
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
	int orc = open_store(s, o);
	if (orc)
		return orc;
	int replay_from = r->nlog;
	/* A restart goes on where the last process stopped: through the first
	 * read the journal's observations drive the engine, as a standby's
	 * do (breach timers, trigger streaks, the evidence test, history),
	 * and then this process leads. Without it a breach 4 minutes into
	 * its 5 started again from 0, and every cell's status from NODATA.
	 * A read-only process warms the same way: it acts on nothing, and
	 * shows what the last one saw. (With a store the service follows
	 * until it leads: open_store.) */
	bool warm = !s->store;
	sr_ms now = r->now;
	if (warm)
		runner_set_follower(r, true);
	int jrc = runner_set_journal(r, s->journal, s->read_only);
	if (warm) {
		runner_set_follower(r, false);
		r->now = now; /* the evaluations ran at their records' times */
	}
	if (jrc < 0) {
		sr_eprintf("journal: cannot read %s", journal_path(s->journal));
		return SR_EXIT_RUNTIME;
	}
	/* Malformed lines met by the start-up replay are in the log, which
	 * status and act do not print: every reader says them (man page). */
	if (r->journal_issues > 0)
		for (int i = replay_from; i < r->nlog; i++)
			if (i >= r->nlog - SR_LOG_LEN &&
			    !strncmp(r->log[i % SR_LOG_LEN].text, "journal: line ", 14))
				fprintf(stderr, "shiproom: %s\n", r->log[i % SR_LOG_LEN].text);
	s->history_end = r->nlog;
	if (s->real && r->journal_last_at > clock_real_ms()) {
		/* the wall clock was stepped back since the last record: rollout
		 * time goes on from the journal, never before it */
		clock_not_before(r->journal_last_at);
		r->now = clock_real_ms();
		runner_log(
		    r, SR_LOG_INFO, SR_YELLOW, "",
		    "clock: the wall clock is behind the journal's last record; rollout time "
		    "goes on from the journal");
	}
	if (r->policy_changed)
		fprintf(stderr,
		        "shiproom: journal: this rollout was started under another version of the "
		        "policy (its hash differs from %s's): the rules now are the file's\n",
		        s->policy->path);
	if (s->temp_state && !s->store) {
		/* Open the lock file now, then let the directory go: the open
		 * descriptors keep working, and nothing is left behind however
		 * the process ends (a screen test's kill, a crash). */
		char why[256];
		if (journal_lock(s->journal, s->owner, "start", why, sizeof why) == 0)
			journal_unlock(s->journal);
		rm_state_dir(s->state_dir);
		journal_unnamed(s->journal);
		s->temp_state = false;
	}
	if (s->read_only)
		return 0;
	sr_ms t0 = s->scenario ? s->scenario->t0 : (o->t0_set ? o->t0 : r->now);
	s->start_t0 = t0;
	if (s->store)
		return 0; /* a standby until it leads: session_take_lead */
	if (r->replay.started && s->scenario)
		runner_resume_scenario(r);
	if (!r->replay.started) {
		if (runner_journal_start(r, t0, err, sizeof err) != 0) {
			sr_eprintf("journal: cannot start it: %s", err);
			return SR_EXIT_RUNTIME;
		}
		if (s->real) {
			char rel[24];
			sr_fmt_trel(rel, sizeof rel, r->now - t0);
			runner_log(r, SR_LOG_INFO, SR_GREEN, "",
			           "journal: new rollout in %s; now is %s%s", s->state_dir, rel,
			           o->t0_set ? "" : " (T-0 is now: --t0 plans it)");
		}
	} else if (o->t0_set && r->engine.ro.t0 != o->t0) {
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "",
		           "journal: T-0 comes from the journal's start record; --t0 ignored");
	}
	return 0;
}

/* The journal's store, when the policy names etcd: only the service
 * uses it (its mirror and spool live in the state dir); every other
 * command reaches such a rollout through its service. */
static int open_store(struct sr_session *s, const struct sr_session_opts *o)
{
	const struct sr_policy *p = s->policy;
	char err[1024];
	if (strcmp(p->store_kind, "etcd") != 0)
		return 0;
	if (!o->serve || s->read_only) {
		fprintf(
		    stderr,
		    "shiproom: %s keeps this rollout's journal in etcd (store.kind): its service "
		    "answers status, act, report and watch; start one with `shiproom serve`\n",
		    p->path);
		return SR_EXIT_RUNTIME;
	}
	struct sr_etcd_config c;
	if (policy_etcd_config(p, &c, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: %s: store: %s\n", p->path, err);
		return SR_EXIT_USAGE;
	}
	if (!c.prefix[0])
		snprintf(c.prefix, sizeof c.prefix, "/shiproom/%s", p->rollout);
	s->etcd = etcd_open(&c, err, sizeof err);
	if (!s->etcd) {
		fprintf(stderr, "shiproom: store: %s\n", err);
		return secret_load_failed() ? SR_EXIT_USAGE : SR_EXIT_RUNTIME;
	}
	char host[64] = "?", who[96];
	gethostname(host, sizeof host - 1);
	snprintf(who, sizeof who, "%.63s-%d", host, (int)getpid());
	s->store = store_open_etcd(s->etcd, c.prefix, who);
	s->store_ttl_s = c.lease_ttl_s;
	if (!s->store) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	/* Follow before the first read: the journal's observations drive the
	 * engine until this service leads. */
	runner_set_follower(s->runner, true);
	if (journal_use_store(s->journal, s->store, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: store: %s\n", err);
		return SR_EXIT_RUNTIME;
	}
	const char *note = journal_store_note(s->journal);
	if (note[0])
		runner_log(s->runner, SR_LOG_INFO, SR_YELLOW, "", "store: %s", note);
	long long down = 0;
	runner_log(s->runner, SR_LOG_INFO, store_available(s->store, &down) ? SR_GREEN : SR_RED, "",
	           "store: etcd %s, prefix %s%s", etcd_endpoint(s->etcd), c.prefix,
	           store_available(s->store, &down) ? "" : " (not answering: the mirror serves)");
	return 0;
}

void session_take_lead(struct sr_session *s)
{
	struct sr_runner *r = s->runner;
	char err[512];
	runner_journal_poll(r);
	if (s->scenario && r->replay.started)
		runner_resume_scenario(r);
	bool fresh = !r->replay.started;
	if (fresh && runner_journal_start(r, s->start_t0, err, sizeof err) != 0)
		runner_log(r, SR_LOG_INFO, SR_RED, "", "journal: cannot start it: %s", err);
	runner_reconcile(r);
	/* A drill's --start, played by whoever starts the rollout */
	if (fresh && s->start_at > r->now && !r->reconciling)
		runner_advance(r, s->start_at);
}

/* view: a command that only looks (status); on a real source it is then
 * read-only whatever the options say. */
int session_open(struct sr_session *s, const struct sr_session_opts *o, bool drill_ok,
                 bool read_only, bool view)
{
	char path[SR_PATH_LEN];
	memset(s, 0, sizeof *s);
	s->read_only = read_only;
	session_find_datadir(s->datadir, sizeof s->datadir);
	runner_owner_login(s->owner, sizeof s->owner);
	s->policy = calloc(1, sizeof *s->policy);
	s->runner = calloc(1, sizeof *s->runner);
	if (!s->policy || !s->runner) {
		fprintf(stderr, "shiproom: out of memory\n");
		return SR_EXIT_RUNTIME;
	}
	session_policy_path(o, s->datadir, path, sizeof path);
	if (session_load_policy(s->policy, path) != 0)
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
	/* Before anything else: an intent left without its outcome (with an
	 * etcd store, once this service leads: session_take_lead). */
	if (!s->store)
		runner_reconcile(s->runner);
	if (s->runner->reconciling) {
		session_loop_until(s, &s->runner->reconciling);
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
void session_print_log_to(FILE *out, const struct sr_runner *r, int *mark, int end, bool notable)
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

void session_print_log(FILE *out, const struct sr_runner *r, int *mark, bool notable)
{
	session_print_log_to(out, r, mark, r->nlog, notable);
}

/* One evaluation on the real clock: poll the source and wait for it. */
void session_evaluate_now(struct sr_session *s)
{
	runner_tick(s->runner, clock_real_ms());
	session_loop_until(s, &s->runner->polling);
	session_loop_until(s, &s->runner->edge_reading); /* and the edge read back */
}

/* ---- the ship-room workflow (reports, webhook) ---------------------------------------------- */

/* The report templates from <datadir>/config (a broken one stops the
 * start, not the gate). */
int session_open_templates(struct sr_session *s)
{
	char dir[SR_PATH_LEN + 16], err[1024];
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
static int webhook_url(const struct sr_session_opts *o, char *url, size_t n)
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
	struct sr_session *s = ud;
	if (!delivered)
		runner_log(s->runner, SR_LOG_INFO, SR_RED, "",
		           "webhook %s post given up after %d tries: %s", notify_kind_name(kind),
		           attempts, error ? error : "?");
	if (!s->journal)
		return;
	json_t *f = json_pack("{s:s, s:b, s:i}", "kind", notify_kind_name(kind), "delivered",
	                      delivered, "attempts", attempts);
	if (f && error)
		json_object_set_new(f, "error", json_string(error));
	char err[256];
	if (f && journal_append(s->journal, SR_J_NOTIFY, s->runner->now, "", f, NULL, err,
	                        sizeof err) < 0)
		runner_log(s->runner, SR_LOG_INFO, SR_RED, "", "journal: webhook record lost: %s",
		           err);
}

int session_open_workflow(struct sr_session *s, const struct sr_session_opts *o, bool with_notify)
{
	char err[1024];
	int rc = session_open_templates(s);
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

/* The workflow's actions (runner.workflow), checked by the dispatcher
 * already: post an update now, write a report into the state dir. */
static void workflow_action(void *ud, const struct sr_action_request *req,
                            struct sr_action_result *res)
{
	struct sr_session *s = ud;
	res->weight = -1;
	if (req->kind == SR_ACT_POST) {
		if (!s->notify) {
			res->outcome = SR_ACT_REFUSED;
			snprintf(res->message, sizeof res->message,
			         "no webhook configured: there is nowhere to post");
			return;
		}
		notify_post_now(s->notify, s->runner, s->runner->now);
		res->outcome = SR_ACT_DONE;
		snprintf(res->message, sizeof res->message,
		         "update queued for the webhook (6: its status)");
		return;
	}
	char path[SR_PATH_LEN + 200], err[512];
	if (!s->have_templates || !s->keep_state) {
		res->outcome = SR_ACT_REFUSED;
		snprintf(res->message, sizeof res->message,
		         "no state directory to write to (start the service with --state-dir DIR)");
	} else if (req->report_kind < 0 || req->report_kind > SR_REPORT_WIN ||
	           req->report_index < -1 || req->report_index >= SR_MAX_GATES) {
		res->outcome = SR_ACT_REFUSED;
		snprintf(res->message, sizeof res->message, "no such report");
	} else if (report_write(&s->templates, (enum sr_report_kind)req->report_kind, s->runner,
	                        req->report_index, s->state_dir, path, sizeof path, err,
	                        sizeof err) < 0) {
		res->outcome = SR_ACT_FAILED;
		snprintf(res->message, sizeof res->message, "not written: %.400s", err);
	} else {
		res->outcome = SR_ACT_DONE;
		snprintf(res->message, sizeof res->message, "wrote %.400s (and .json)", path);
	}
}

/* The console and watch open the same live session: the session, the
 * --start jump on the simulator (open_real refuses --start on a real
 * source), a loop for the journal watch and the webhook, the workflow.
 * On failure the session is freed and the exit status returned. */
int session_open_live(struct sr_session *s, const struct sr_session_opts *o)
{
	int rc = session_open(s, o, true, o->read_only, false);
	if (rc == 0 && o->start_set) {
		const struct sr_scenario *sc = s->scenario;
		char err[256];
		if (scenario_check_min(sc, "--start", o->start_min, err, sizeof err) < 0) {
			fprintf(stderr, "shiproom: %s\n", err);
			rc = SR_EXIT_USAGE;
		} else if (s->store) {
			s->start_at = sc->t0 + (sr_ms)o->start_min * SR_MS_PER_MIN;
		} else {
			runner_advance(s->runner, sc->t0 + (sr_ms)o->start_min * SR_MS_PER_MIN);
		}
	}
	if (rc == 0 && !s->loop) {
		s->loop = uv_default_loop();
		runner_attach_loop(s->runner, s->loop);
	}
	if (rc == 0)
		rc = session_open_workflow(s, o, true);
	if (rc) {
		session_free(s);
		return rc;
	}
	s->runner->workflow = workflow_action;
	s->runner->workflow_ud = s;
	return rc;
}

void session_start_reports(struct sr_session *s)
{
	if (!s->have_templates || !s->keep_state || s->read_only)
		return;
	report_watch_init(&s->reports, &s->templates, s->state_dir);
	report_watch_tick(&s->reports, s->runner); /* what is already reached: not again */
	s->reporting = true;
}

void session_workflow(struct sr_session *s)
{
	struct sr_runner *r = s->runner;
	if (s->reporting)
		report_watch_tick(&s->reports, r);
	/* #ship-room hears the rollout once: from the bastion that leads (a
	 * standby writes its own copy of the reports, and posts nothing) */
	if (s->notify && !r->follower)
		notify_tick(s->notify, r, r->now);
}

void session_cron(struct sr_session *s, sr_ms now)
{
	runner_tick(s->runner, now);
	session_workflow(s);
}
