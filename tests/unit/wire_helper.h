/* wire_helper.h - start and stop tests/e2e/wire_server.py from a unit test,
 * read its request log, and run a libuv loop until a condition holds.
 *
 * Header-only (static functions) so it is compiled only into the tests
 * that include it: test_http.c and test_prometheus.c. The server listens
 * on an ephemeral loopback port and prints it; it exits when our end of
 * its stdin closes, so a crashed test leaves no server behind.
 */
#ifndef SHIPROOM_TEST_WIRE_HELPER_H
#define SHIPROOM_TEST_WIRE_HELPER_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

#define WIRE_UNUSED __attribute__((unused))

struct wire {
	pid_t pid;
	int port;
	int in_fd; /* our end of the server's stdin */
	char dir[64];
	char log[128];
};

static WIRE_UNUSED const char *wire_script(void)
{
	const char *s = getenv("SR_WIRE_SERVER");
	return s && *s ? s : "tests/e2e/wire_server.py";
}

/* Start the server with extra arguments (NULL-terminated, may be NULL).
 * Returns 0 when it is up and w->port is set. */
static WIRE_UNUSED int wire_start_args(struct wire *w, const char *const *extra)
{
	int in[2], out[2];
	memset(w, 0, sizeof *w);
	snprintf(w->dir, sizeof w->dir, "/tmp/sr-wire-XXXXXX");
	if (!mkdtemp(w->dir))
		return -1;
	snprintf(w->log, sizeof w->log, "%s/requests.jsonl", w->dir);
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char *argv[24] = {"python3", (char *)wire_script(), "--log",
	                  w->log,    "--exit-on-stdin-eof", "--max-seconds",
	                  "300"};
	int argc = 7;
	for (; extra && *extra && argc < 23; extra++)
		argv[argc++] = (char *)*extra;
	argv[argc] = NULL;
	int rc = posix_spawnp(&w->pid, "python3", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		return -1;
	}
	w->in_fd = in[1];
	fcntl(w->in_fd, F_SETFD, FD_CLOEXEC);
	char line[64];
	size_t len = 0;
	while (len + 1 < sizeof line) {
		ssize_t r = read(out[0], line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(out[0]);
	if (sscanf(line, "PORT %d", &w->port) != 1 || w->port <= 0)
		return -1;
	return 0;
}

static WIRE_UNUSED int wire_start(struct wire *w)
{
	return wire_start_args(w, NULL);
}

static WIRE_UNUSED void wire_stop(struct wire *w)
{
	if (w->in_fd > 0)
		close(w->in_fd);
	if (w->pid > 0) {
		kill(w->pid, SIGTERM);
		waitpid(w->pid, NULL, 0);
	}
	unlink(w->log);
	rmdir(w->dir);
	w->pid = 0;
	w->in_fd = 0;
}

static WIRE_UNUSED void wire_url(const struct wire *w, const char *path, char *buf, size_t n)
{
	snprintf(buf, n, "http://127.0.0.1:%d%s", w->port, path);
}

/* The request log as a JSON array of events (json_decref it). */
static WIRE_UNUSED json_t *wire_log(const struct wire *w)
{
	json_t *arr = json_array();
	FILE *f = fopen(w->log, "r");
	if (!f)
		return arr;
	char line[65536];
	while (fgets(line, sizeof line, f)) {
		json_t *ev = json_loads(line, 0, NULL);
		if (ev)
			json_array_append_new(arr, ev);
	}
	fclose(f);
	return arr;
}

/* Number of distinct connections among logged requests whose path starts
 * with `prefix` (NULL: all). */
static WIRE_UNUSED int wire_conns(const struct wire *w, const char *prefix)
{
	json_t *log = wire_log(w);
	int seen[4096] = {0}, n = 0;
	size_t i;
	json_t *ev;
	json_array_foreach(log, i, ev)
	{
		const char *path = json_string_value(json_object_get(ev, "path"));
		json_int_t c = json_integer_value(json_object_get(ev, "conn"));
		if (!path || (prefix && strncmp(path, prefix, strlen(prefix)) != 0))
			continue;
		if (c > 0 && c < 4096 && !seen[c]) {
			seen[c] = 1;
			n++;
		}
	}
	json_decref(log);
	return n;
}

/* A port nothing listens on: bind an ephemeral one and close it. */
static WIRE_UNUSED int wire_closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* A ticking timer: proves the loop keeps turning while HTTP waits. */
struct ticker {
	uv_timer_t t;
	long ticks;
};

static WIRE_UNUSED void ticker_cb(uv_timer_t *t)
{
	((struct ticker *)t->data)->ticks++;
}

static WIRE_UNUSED void ticker_start(struct ticker *k, uv_loop_t *loop)
{
	k->ticks = 0;
	uv_timer_init(loop, &k->t);
	k->t.data = k;
	uv_timer_start(&k->t, ticker_cb, 5, 5);
}

static WIRE_UNUSED void ticker_stop(struct ticker *k)
{
	uv_timer_stop(&k->t);
	uv_close((uv_handle_t *)&k->t, NULL);
}

/* Turn the loop until *flag or `limit_ms` of loop time went by (a test
 * that hangs fails instead). Returns *flag. Needs an active handle (the
 * ticker) so UV_RUN_ONCE never spins. */
static WIRE_UNUSED bool wire_run_until(uv_loop_t *loop, const bool *flag, uint64_t limit_ms)
{
	uv_update_time(loop);
	uint64_t end = uv_now(loop) + limit_ms;
	while (!*flag && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	return *flag;
}

/* Let every closing handle finish (after destroy). */
static WIRE_UNUSED void wire_drain_loop(uv_loop_t *loop)
{
	for (int i = 0; i < 50 && uv_loop_alive(loop); i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

#endif
