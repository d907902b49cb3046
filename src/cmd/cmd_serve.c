/* cmd_serve.c - `shiproom serve [--detach]`: run the rollout's service.
 *
 * In the foreground (for a process supervisor) the event log goes to
 * stdout. --detach forks: the parent waits until the service listens (or
 * failed, its reason on the terminal) and exits 0 with the pid and
 * socket on stdout; the service writes a pid file into the state dir and
 * its output to service.log there (nowhere for a drill's temporary dir).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shiproom/cmd.h"
#include "shiproom/scenario.h"
#include "shiproom/service.h"

/* A start shorter than this says nothing (most take 0.1 s). */
#define START_QUIET_MS 300

/* The parent of a detached service: wait for "ready" or the child's end.
 * The service listens after reading its journal, and on the simulator
 * after playing the day up to --start, which at hundreds of journeys
 * takes seconds: a start that is not quick says what it waits for
 * (a console starting its service shows it on its terminal) instead of
 * leaving the terminal as it was. */
static int wait_ready(const struct sr_opts *o, pid_t child, int fd)
{
	char buf[512];
	ssize_t got, total = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int pr;
	while ((pr = poll(&pfd, 1, START_QUIET_MS)) < 0 && errno == EINTR)
		;
	if (pr == 0) {
		if (o->s.start_set) /* the simulator: --start is its */
			sr_eprintf(
			    "starting the service; the simulator plays the day to T%+d first...",
			    o->s.start_min);
		else
			sr_eprintf("starting the rollout's service...");
	}
	while (total < (ssize_t)sizeof buf - 1 &&
	       (got = read(fd, buf + total, sizeof buf - 1 - (size_t)total)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		total += got;
	}
	close(fd);
	buf[total > 0 ? total : 0] = '\0';
	if (strncmp(buf, "ready ", 6) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		printf("shiproom: service pid %ld listening on %s\n", (long)child, buf + 6);
		return SR_EXIT_OK;
	}
	int st;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : SR_EXIT_RUNTIME;
}

static void write_pid_file(const struct sr_session *s, char *path, size_t n)
{
	path[0] = '\0';
	if (!s->keep_state)
		return;
	snprintf(path, n, "%s/service.pid", s->state_dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		path[0] = '\0';
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

int cmd_serve(const struct sr_opts *o)
{
	int ready[2] = {-1, -1};
	char sock[256], err[512];
	if (o->detach) {
		if (pipe(ready) != 0) {
			sr_eprintf("serve: pipe: %s", strerror(errno));
			return SR_EXIT_RUNTIME;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			sr_eprintf("serve: fork: %s", strerror(errno));
			return SR_EXIT_RUNTIME;
		}
		if (pid > 0) {
			close(ready[1]);
			return wait_ready(o, pid, ready[0]);
		}
		close(ready[0]);
		setsid(); /* no terminal of ours to lose: SIGHUP is not for us */
	}
	struct sr_session s;
	struct sr_session_opts sopts = o->s;
	sopts.serve = true; /* the one command that may hold an etcd store */
	int rc = session_open_live(&s, &sopts);
	if (rc)
		return rc;
	session_start_reports(&s);
	bool sim = strcmp(s.policy->source_kind, "sim") == 0;
	if (service_socket_path(s.policy, sim ? (o->s.scenario ? o->s.scenario : "healthy") : NULL,
	                        o->socket, sock, sizeof sock) != 0) {
		sr_eprintf("serve: the socket path is too long for a unix socket");
		session_free(&s);
		return SR_EXIT_USAGE;
	}
	char pidfile[SR_PATH_LEN + 32] = "", logfile[SR_PATH_LEN + 32];
	if (o->detach)
		write_pid_file(&s, pidfile, sizeof pidfile);
	if (s.keep_state)
		snprintf(logfile, sizeof logfile, "%s/service.log", s.state_dir);
	struct sr_service_opts so = {
	    .socket = sock,
	    .exit_with_last = o->exit_with_last,
	    .speed = o->s.speed,
	    .ready_fd = o->detach ? ready[1] : -1,
	    .detach_log = s.keep_state ? logfile : NULL,
	    .log_out = stdout,
	};
	(void)err;
	rc = service_run(&s, &so);
	if (pidfile[0])
		unlink(pidfile);
	return cmd_finish_print(&s, rc);
}
