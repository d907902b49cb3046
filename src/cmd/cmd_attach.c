/* cmd_attach.c - the console as a client of the rollout's service:
 * plain `shiproom` (attach, starting the service detached when none
 * runs, as tmux does), `shiproom attach` (join a running one), and
 * `shiproom stop`.
 *
 * Who the console is comes from the kernel, at the service; the console
 * only mirrors it (the RO badge, dimmed keys). What the console shows is
 * the service's state: every console on one rollout shows the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/cmd.h"
#include "shiproom/console.h"
#include "shiproom/policy.h"
#include "shiproom/service.h"

#define CONNECT_TIMEOUT_MS (30 * SR_MS_PER_S)

/* The socket the options point at: --socket, else the policy's. */
static int socket_of(const struct sr_opts *o, char *sock, size_t n, bool *sim)
{
	char datadir[SR_PATH_LEN], path[SR_PATH_LEN];
	struct sr_policy *p = calloc(1, sizeof *p);
	if (!p) {
		sr_eprintf("out of memory");
		return SR_EXIT_RUNTIME;
	}
	session_find_datadir(datadir, sizeof datadir);
	session_policy_path(&o->s, datadir, path, sizeof path);
	int rc = SR_EXIT_OK;
	if (session_load_policy(p, path) != 0) {
		rc = SR_EXIT_USAGE;
	} else {
		*sim = strcmp(p->source_kind, "sim") == 0;
		if (service_socket_path(p,
		                        *sim ? (o->s.scenario ? o->s.scenario : "healthy") : NULL,
		                        o->socket, sock, n) != 0) {
			sr_eprintf("the socket path is too long for a unix socket");
			rc = SR_EXIT_USAGE;
		}
	}
	free(p);
	return rc;
}

static void add(char **argv, int *argc, const char *a)
{
	argv[(*argc)++] = (char *)a;
}

/* `shiproom serve --detach ...` with the options that name the rollout;
 * returns when it listens (0) or failed (its reason is on stderr). A
 * drill's service, or one started for a read-only look, ends with its
 * last console; a real rollout's keeps guarding. */
static int start_service(const struct sr_opts *o, const char *sock, bool sim)
{
	char exe[SR_PATH_LEN], speed[32], seed[32], start[16], t0[32];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		sr_eprintf("cannot find my own executable: %s", strerror(errno));
		return SR_EXIT_RUNTIME;
	}
	exe[len] = '\0';
	char *argv[40];
	int argc = 0;
	add(argv, &argc, exe);
	add(argv, &argc, "serve");
	add(argv, &argc, "--detach");
	add(argv, &argc, "--socket");
	add(argv, &argc, sock);
	if (o->s.policy)
		add(argv, &argc, "--policy"), add(argv, &argc, o->s.policy);
	if (o->s.scenario)
		add(argv, &argc, "--scenario"), add(argv, &argc, o->s.scenario);
	if (o->s.speed_set) {
		snprintf(speed, sizeof speed, "%.17g", o->s.speed);
		add(argv, &argc, "--speed"), add(argv, &argc, speed);
	}
	if (o->s.seed_set) {
		snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->s.seed);
		add(argv, &argc, "--seed"), add(argv, &argc, seed);
	}
	if (o->s.start_set) {
		snprintf(start, sizeof start, "T%+d", o->s.start_min);
		add(argv, &argc, "--start"), add(argv, &argc, start);
	}
	if (o->s.t0_set) {
		time_t tt = (time_t)(o->s.t0 / SR_MS_PER_S);
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(t0, sizeof t0, "%Y-%m-%dT%H:%M:%SZ", &tm);
		add(argv, &argc, "--t0"), add(argv, &argc, t0);
	}
	if (o->s.state_dir)
		add(argv, &argc, "--state-dir"), add(argv, &argc, o->s.state_dir);
	if (o->s.webhook_file)
		add(argv, &argc, "--webhook-url-file"), add(argv, &argc, o->s.webhook_file);
	if (o->s.read_only)
		add(argv, &argc, "--read-only");
	if (sim || o->s.read_only)
		add(argv, &argc, "--exit-with-last-console");
	argv[argc] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sr_eprintf("fork: %s", strerror(errno));
		return SR_EXIT_RUNTIME;
	}
	if (pid == 0) {
		/* its "listening on" line is not for the console's terminal */
		if (!freopen("/dev/null", "w", stdout))
			_exit(SR_EXIT_RUNTIME);
		execv(exe, argv);
		_exit(127);
	}
	/* It returns once it listens (a slow start says so on stderr, which
	 * is this terminal: cmd_serve.c, wait_ready). */
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : SR_EXIT_RUNTIME;
}

/* After the screen is gone: what happens to the rollout now. */
static void say_goodbye(struct sr_client *c)
{
	const char *closed = client_closed(c);
	if (closed) {
		sr_eprintf("the service ended the session: %s", closed);
		return;
	}
	const struct sr_who *w;
	int nw = client_who(c, &w), consoles = 0;
	for (int i = 0; i < nw; i++)
		consoles += strcmp(w[i].purpose, "console") == 0;
	if (client_exit_with_last(c) && consoles <= 1)
		sr_eprintf("the %s service (pid %ld) ends with its last console",
		           client_real(c) ? "read-only" : "simulator's", client_service_pid(c));
	else if (client_real(c))
		fprintf(
		    stderr,
		    "shiproom: the rollout's service (pid %ld) keeps guarding; `shiproom attach` "
		    "comes back, `shiproom stop` stops it\n",
		    client_service_pid(c));
}

struct reattach {
	const struct sr_opts *o;
	struct sr_client *c;
	bool may_start;
};

/* The service died under the console: attach again when one runs; plain
 * `shiproom` on a real rollout starts it again (it reconciles an action
 * that was in flight with the edge before anything else). A drill's
 * service is not restarted: its temporary rollout died with it. */
static int reattach(void *ud)
{
	struct reattach *ra = ud;
	char err[512];
	bool absent = false;
	if (client_reconnect(ra->c, 5 * SR_MS_PER_S, &absent, err, sizeof err) == 0)
		return 0;
	if (!absent || !ra->may_start || !client_real(ra->c))
		return -1;
	if (start_service(ra->o, client_socket(ra->c), false) != 0)
		return -1;
	return client_reconnect(ra->c, CONNECT_TIMEOUT_MS, &absent, err, sizeof err);
}

static void say_slow_answer(void *ud, const char *sock)
{
	(void)ud;
	sr_eprintf("the rollout's service on %s took the connection but has not answered for "
	           "%ds (stopped or stuck?); waiting up to %ds more",
	           sock, SR_WIRE_SILENT_MS / 1000,
	           (int)((CONNECT_TIMEOUT_MS - SR_WIRE_SILENT_MS) / SR_MS_PER_S));
}

/* client_connect, saying on stderr when the service takes the connection
 * but does not answer for SR_WIRE_SILENT_MS (stopped, stuck), instead of
 * leaving the terminal blank until CONNECT_TIMEOUT_MS. Only here, before
 * any screen: a console's later reattaching must not write on it. */
static int service_connect(struct sr_client *c, const char *sock, const char *purpose,
                           bool read_only, bool *absent, char *err, size_t n)
{
	client_on_slow_answer(c, say_slow_answer, NULL);
	int rc = client_connect(c, sock, purpose, read_only, CONNECT_TIMEOUT_MS, absent, err, n);
	client_on_slow_answer(c, NULL, NULL);
	return rc;
}

static int attach(const struct sr_opts *o, bool may_start)
{
	char sock[256], err[1024], datadir[SR_PATH_LEN];
	bool sim = false, absent = false;
	int rc = socket_of(o, sock, sizeof sock, &sim);
	if (rc)
		return rc;
	struct sr_client *c = client_create(uv_default_loop());
	if (!c) {
		sr_eprintf("out of memory");
		return SR_EXIT_RUNTIME;
	}
	rc = service_connect(c, sock, "console", o->s.read_only, &absent, err, sizeof err);
	bool started = false;
	if (rc != 0 && absent && may_start) {
		client_destroy(c);
		rc = start_service(o, sock, sim);
		if (rc) {
			sr_eprintf("the rollout's service did not start");
			return rc;
		}
		started = true;
		c = client_create(uv_default_loop());
		rc = c ? service_connect(c, sock, "console", o->s.read_only, &absent, err,
		                         sizeof err)
		       : -1;
	}
	if (rc != 0) {
		if (absent && !may_start)
			fprintf(
			    stderr,
			    "shiproom: attach: no service for this rollout on %s (start one with "
			    "`shiproom serve`, or plain `shiproom`)\n",
			    sock);
		else
			sr_eprintf("attach: %s", err);
		client_destroy(c);
		return absent && !may_start ? SR_EXIT_RUNTIME : SR_EXIT_RUNTIME;
	}
	if (!started && ((o->s.scenario && may_start) || o->s.speed_set || o->s.seed_set ||
	                 o->s.start_set || o->s.t0_set || o->s.state_dir || o->s.webhook_file))
		sr_eprintf("attached to the running service (pid %ld): the rollout is its own; "
		           "--scenario, --speed, --seed, --start, --t0, --state-dir and "
		           "--webhook-url-file apply when a service starts",
		           client_service_pid(c));
	struct reattach ra = {.o = o, .c = c, .may_start = may_start};
	/* The templates are the installation's, for the report pager. */
	struct sr_report_templates tpl;
	char dir[SR_PATH_LEN + 16];
	session_find_datadir(datadir, sizeof datadir);
	snprintf(dir, sizeof dir, "%s/config", datadir);
	bool have_tpl = report_templates_load(&tpl, dir, err, sizeof err) == 0;
	struct sr_console_opts co = {
	    .runner = client_mirror(c),
	    .clock = client_clock(c),
	    .datadir = datadir,
	    .theme = o->theme,
	    .ascii = o->ascii,
	    .read_only = client_read_only(c),
	    .refresh_ms = o->refresh_ms,
	    .templates = have_tpl ? &tpl : NULL,
	    .client = c,
	    .reconnect = reattach,
	    .reconnect_ud = &ra,
	};
	rc = console_run(&co);
	/* q is a goodbye; a hang-up (a dropped SSH session) or a signal is a
	 * connection lost, and the service journals it as such */
	if (rc == SR_EXIT_OK)
		client_bye(c);
	say_goodbye(c);
	if (have_tpl)
		report_templates_free(&tpl);
	client_destroy(c);
	return rc;
}

struct sr_client *cmd_service_client(const struct sr_opts *o, const char *purpose, bool read_only,
                                     int *rc)
{
	char sock[256], err[1024];
	bool sim = false, absent = false;
	*rc = 0;
	if (o->at_set)
		return NULL;
	*rc = socket_of(o, sock, sizeof sock, &sim);
	if (*rc)
		return NULL;
	/* No service: the command works on its own. A socket this user may
	 * not reach (a directory above it closed to them) is not "no
	 * service": working alone would answer with a truth of its own. */
	if (access(sock, F_OK) != 0 && errno != EACCES)
		return NULL;
	struct sr_client *c = client_create(uv_default_loop());
	if (!c) {
		*rc = SR_EXIT_RUNTIME;
		return NULL;
	}
	if (service_connect(c, sock, purpose, read_only, &absent, err, sizeof err) == 0)
		return c;
	client_destroy(c);
	if (absent)
		return NULL; /* a socket left by a crash: nobody there */
	sr_eprintf("the rollout's service on %s: %s", sock, err);
	*rc = SR_EXIT_RUNTIME;
	return NULL;
}

int cmd_console(const struct sr_opts *o)
{
	return attach(o, true);
}

int cmd_attach(const struct sr_opts *o)
{
	return attach(o, false);
}

int cmd_stop(const struct sr_opts *o)
{
	char sock[256], err[1024];
	bool sim = false, absent = false;
	int rc = socket_of(o, sock, sizeof sock, &sim);
	if (rc)
		return rc;
	struct sr_client *c = client_create(uv_default_loop());
	if (!c || service_connect(c, sock, "stop", false, &absent, err, sizeof err) != 0) {
		sr_eprintf("stop: %s", c ? err : "out of memory");
		client_destroy(c);
		return SR_EXIT_RUNTIME;
	}
	int id = client_send_stop(c);
	bool got = id >= 0 && client_wait_result(c, id, CONNECT_TIMEOUT_MS);
	const struct sr_action_result *res = client_result(c, NULL);
	if (!got) {
		sr_eprintf("stop: %s",
		           client_closed(c) ? client_closed(c) : "no answer from the service");
		rc = SR_EXIT_RUNTIME;
	} else if (res->outcome == SR_ACT_DONE) {
		printf("stopped: the service (pid %ld) %s\n", client_service_pid(c), res->message);
		rc = SR_EXIT_OK;
	} else {
		printf("refused: %s\n", res->message);
		rc = SR_EXIT_REFUSED;
	}
	client_destroy(c);
	return rc;
}
