/* test_haproxy.c - the HAProxy edge against a real HAProxy on loopback,
 * plus its pure reply parsers and config reader.
 *
 * The group setup starts HAProxy 2.6 with tests/e2e/haproxy.sh (one
 * backend `app`, servers `stable` and `canary`, the Runtime API on a unix
 * socket and on a loopback TCP port) and stops it at the end. A missing
 * haproxy is a failure, not a skip. Fake servers for the failure paths
 * (never answers, bad framing, huge reply) run on the same libuv loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/haproxy.h"

/* ---- shared fixture: one real HAProxy for the whole group -------------- */

static char g_dir[64];
static int g_stats_port;
static uv_loop_t g_loop;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/sr-hap-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	int front = free_port(), stable = free_port(), canary = free_port();
	g_stats_port = free_port();
	if (front < 0 || stable < 0 || canary < 0 || g_stats_port < 0)
		return -1;
	/* haproxy.sh's watchdog stops HAProxy if this test dies hard */
	char owner[24];
	snprintf(owner, sizeof owner, "%d", (int)getpid());
	setenv("SR_E2E_OWNER", owner, 1);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s/tests/e2e/haproxy.sh start %s %d %d %d %d", SR_DATADIR, g_dir,
	         front, g_stats_port, stable, canary);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_haproxy: could not start haproxy (%s)\n", cmd);
		return -1;
	}
	return uv_loop_init(&g_loop);
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s/tests/e2e/haproxy.sh stop %s && rm -rf %s", SR_DATADIR, g_dir,
	         g_dir);
	int r = system(cmd);
	uv_loop_close(&g_loop);
	return r == 0 ? 0 : -1;
}

/* ---- running the loop until a call completes --------------------------- */

struct result {
	bool done;
	int calls;
	int result;
	int weight;
	char err[512];
};

static void on_edge(void *ud, int result, int weight, const char *err)
{
	struct result *r = ud;
	r->done = true;
	r->calls++;
	r->result = result;
	r->weight = weight;
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

struct raw {
	bool done;
	int status;
	char reply[4096];
	char err[512];
};

static void on_raw(void *ud, int status, const char *reply, size_t len, const char *err)
{
	struct raw *r = ud;
	r->done = true;
	r->status = status;
	snprintf(r->reply, sizeof r->reply, "%.*s", (int)len, reply ? reply : "");
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void guard_fire(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Run the loop until *done; a 15 s guard turns a hang into a failure. */
static void run_until(bool *done)
{
	bool expired = false;
	uv_timer_t guard;
	uv_timer_init(&g_loop, &guard);
	guard.data = &expired;
	uv_timer_start(&guard, guard_fire, 15000, 0);
	while (!*done && !expired)
		uv_run(&g_loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&g_loop, UV_RUN_NOWAIT);
	assert_false(expired);
	assert_true(*done);
}

/* Let every pending close finish, so the loop is clean between tests. */
static void drain_loop(void)
{
	for (int i = 0; i < 20; i++)
		uv_run(&g_loop, UV_RUN_NOWAIT);
}

static struct sr_edge *edge_new(const char *socket, const char *canary, int timeout_ms)
{
	struct sr_haproxy_config c = {.timeout_ms = timeout_ms};
	snprintf(c.socket, sizeof c.socket, "%s", socket);
	snprintf(c.backend, sizeof c.backend, "app");
	snprintf(c.canary_server, sizeof c.canary_server, "%s", canary);
	snprintf(c.stable_server, sizeof c.stable_server, "stable");
	char err[256] = "";
	struct sr_edge *e = haproxy_edge_create(&g_loop, &c, err, sizeof err);
	if (!e)
		fail_msg("haproxy_edge_create: %s", err);
	return e;
}

static char *unix_spec(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "unix:%s/%s", g_dir, name);
	return buf;
}

static void set_weight(struct sr_edge *e, int w, bool drain, struct result *r)
{
	memset(r, 0, sizeof *r);
	e->ops->set_weight(e, w, drain, "key-1", on_edge, r);
	run_until(&r->done);
	assert_int_equal(r->calls, 1);
}

static void get_weight(struct sr_edge *e, struct result *r)
{
	memset(r, 0, sizeof *r);
	e->ops->get_weight(e, on_edge, r);
	run_until(&r->done);
}

static void raw(struct sr_edge *e, const char *line, struct raw *r)
{
	memset(r, 0, sizeof *r);
	assert_int_equal(haproxy_command(e, line, on_raw, r), 0);
	run_until(&r->done);
	assert_int_equal(r->status, 0);
}

/* The canary's state as HAProxy reports it. */
static struct haproxy_server_state canary_state(struct sr_edge *e)
{
	struct raw r;
	raw(e, "show servers state app", &r);
	struct haproxy_server_state st;
	char err[256];
	int rc = haproxy_parse_servers_state(r.reply, strlen(r.reply), "canary", &st, err,
	                                     sizeof err);
	if (rc != 0)
		fail_msg("show servers state: %s", err);
	return st;
}

/* ---- against the real HAProxy ------------------------------------------ */

static void test_set_get_round_trip_unix(void **state)
{
	(void)state;
	char spec[128];
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "admin.sock"), "canary", 5000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 25);
	assert_string_equal(r.err, "");

	get_weight(e, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 25);

	/* what HAProxy itself says: absolute weights 25 and 75 */
	struct raw w;
	raw(e, "get weight app/canary", &w);
	assert_string_equal(w.reply, "25 (initial 0)\n\n");
	raw(e, "get weight app/stable", &w);
	assert_string_equal(w.reply, "75 (initial 100)\n\n");

	set_weight(e, 100, false, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 100);
	raw(e, "get weight app/stable", &w);
	assert_string_equal(w.reply, "0 (initial 100)\n\n");

	set_weight(e, 0, false, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 0);
	e->ops->destroy(e);
	drain_loop();
}

static void test_set_get_round_trip_tcp(void **state)
{
	(void)state;
	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", g_stats_port);
	struct sr_edge *e = edge_new(spec, "canary", 5000);
	struct result r;
	set_weight(e, 50, false, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 50);
	get_weight(e, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 50);
	set_weight(e, 0, false, &r);
	assert_int_equal(r.weight, 0);
	e->ops->destroy(e);
	drain_loop();
}

static void test_haproxy_error_text_verbatim(void **state)
{
	(void)state;
	char spec[128];
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "admin.sock"), "nope", 5000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.result, HAPROXY_ERR_REFUSED);
	assert_int_equal(r.weight, -1);
	/* HAProxy's own words, and the command it refused */
	assert_non_null(strstr(r.err, "No such server."));
	assert_non_null(strstr(r.err, "app/nope"));

	get_weight(e, &r);
	assert_int_equal(r.result, HAPROXY_ERR_REFUSED);
	assert_non_null(strstr(r.err, "No such server."));

	/* a multi-line error arrives as one line, nothing cut from its start */
	struct raw w;
	raw(e, "set server app/canary weight 300", &w);
	char err[256];
	assert_int_equal(haproxy_parse_set_reply(w.reply, strlen(w.reply), err, sizeof err), -1);
	assert_string_equal(err, "Absolute weight can only be between 0 and 256 inclusive.");
	e->ops->destroy(e);
	drain_loop();
}

/* The reconciliation bound counts the commands each action sends: a
 * promote from a canary in maint needs one more (state ready) than the
 * plain weight 0, and the bound follows the plan the driver really sends
 * (it was a fixed 4 timeouts for every action). The plan is checked
 * against the real HAProxy: from maint, the promote's commands alone
 * bring the canary back. */
static void test_landing_counts_the_commands(void **state)
{
	(void)state;
	char spec[128];
	const int t = 700;
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "admin.sock"), "canary", t);
	struct sr_haproxy_config c = {.timeout_ms = t};
	snprintf(c.backend, sizeof c.backend, "app");
	snprintf(c.canary_server, sizeof c.canary_server, "canary");
	snprintf(c.stable_server, sizeof c.stable_server, "stable");
	char lines[HAPROXY_SET_MAX][HAPROXY_CMD_LEN];
	struct {
		int weight;
		bool drain;
		int cmds;
	} cases[] = {{5, false, 3}, {60, false, 3}, {0, true, 3}, {0, false, 2}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = haproxy_set_plan(&c, cases[i].weight, cases[i].drain, lines);
		assert_int_equal(n, cases[i].cmds);
		assert_int_equal(edge_landing_ms(e, cases[i].weight, cases[i].drain),
		                 (sr_ms)n * t + SR_EDGE_LANDING_MARGIN_MS);
	}
	/* an intent that moves no weight sends nothing to wait for */
	assert_int_equal(edge_landing_ms(e, -1, false), 0);

	/* the promote's plan, sent by hand from a canary in maint, is the
	 * whole promote: the last command is the state ready */
	struct result r;
	set_weight(e, 0, true, &r);
	assert_int_equal(r.result, 0);
	int n = haproxy_set_plan(&c, 5, false, lines);
	assert_string_equal(lines[n - 1], "set server app/canary state ready");
	struct raw w;
	for (int i = 0; i < n; i++)
		raw(e, lines[i], &w);
	struct haproxy_server_state st = canary_state(e);
	assert_false(haproxy_state_in_maint(&st));
	get_weight(e, &r);
	assert_int_equal(r.weight, 5);
	e->ops->destroy(e);
	drain_loop();
}

static void test_rollback_maint_then_ready(void **state)
{
	(void)state;
	char spec[128];
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "admin.sock"), "canary", 5000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.weight, 25);
	assert_false(haproxy_state_in_maint(&(struct haproxy_server_state){0}));
	struct haproxy_server_state st = canary_state(e);
	assert_false(haproxy_state_in_maint(&st));

	/* rollback: weight 0 AND maint */
	set_weight(e, 0, true, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 0);
	st = canary_state(e);
	assert_true(haproxy_state_in_maint(&st));
	assert_int_equal(st.uweight, 0);
	struct raw w;
	raw(e, "get weight app/stable", &w);
	assert_string_equal(w.reply, "100 (initial 100)\n\n");

	/* get_weight reports 0 while in maint, whatever the weight */
	raw(e, "set server app/canary weight 30", &w);
	assert_string_equal(w.reply, "\n");
	get_weight(e, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 0);

	/* resume at 5 %: back to ready */
	set_weight(e, 5, false, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 5);
	st = canary_state(e);
	assert_false(haproxy_state_in_maint(&st));
	assert_int_equal(st.uweight, 5);

	/* a plain weight 0 (no drain) leaves the state alone */
	set_weight(e, 0, false, &r);
	assert_int_equal(r.result, 0);
	st = canary_state(e);
	assert_false(haproxy_state_in_maint(&st));
	e->ops->destroy(e);
	drain_loop();
}

static void test_effective_weight(void **state)
{
	(void)state;
	assert_int_equal(haproxy_effective_weight(25, 75, false), 25);
	assert_int_equal(haproxy_effective_weight(25, 75, true), 0);
	assert_int_equal(haproxy_effective_weight(1, 2, false), 33);
	assert_int_equal(haproxy_effective_weight(2, 1, false), 67);
	assert_int_equal(haproxy_effective_weight(0, 100, false), 0);
	assert_int_equal(haproxy_effective_weight(100, 0, false), 100);
	assert_int_equal(haproxy_effective_weight(0, 0, false), -1);
	assert_int_equal(haproxy_effective_weight(50, 0, true), -1);
}

static void test_socket_missing_fails_fast(void **state)
{
	(void)state;
	char spec[128];
	/* a long timeout: the failure must come from connect, not the timer */
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "missing.sock"), "canary", 60000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.result, HAPROXY_ERR_TRANSPORT);
	assert_non_null(strstr(r.err, "missing.sock"));
	assert_non_null(strstr(r.err, "connect: no such file or directory"));
	assert_null(strstr(r.err, "within"));
	e->ops->destroy(e);
	drain_loop();
}

static void test_tcp_refused(void **state)
{
	(void)state;
	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", free_port());
	struct sr_edge *e = edge_new(spec, "canary", 60000);
	struct result r;
	get_weight(e, &r);
	assert_int_equal(r.result, HAPROXY_ERR_TRANSPORT);
	assert_non_null(strstr(r.err, "connect: connection refused"));
	e->ops->destroy(e);
	drain_loop();
}

/* ---- fake Runtime API servers on the same loop ---------------------------- */

struct fake {
	uv_pipe_t server;
	const char *reply;                      /* NULL: accept, read, never answer */
	const char *(*answer)(const char *cmd); /* per command, overrides reply */
	size_t reply_len;
	bool accept; /* false: never even accept */
	int connections;
	char last_cmd[256];
	uv_pipe_t *clients[8];
	int nclients;
};

static void fake_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	(void)h;
	static char rb[512];
	(void)sz;
	*b = uv_buf_init(rb, sizeof rb - 1);
}

static void fake_client_closed(uv_handle_t *h)
{
	free(h);
}

static void fake_written(uv_write_t *w, int status)
{
	(void)status;
	uv_close((uv_handle_t *)w->handle, fake_client_closed);
	free(w);
}

static void fake_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct fake *f = s->data;
	if (nread <= 0)
		return;
	snprintf(f->last_cmd, sizeof f->last_cmd, "%.*s", (int)nread, b->base);
	const char *reply = f->answer ? f->answer(f->last_cmd) : f->reply;
	size_t len = f->answer ? strlen(reply) : f->reply_len;
	if (!reply)
		return;
	uv_read_stop(s);
	uv_write_t *w = malloc(sizeof *w);
	uv_buf_t out = uv_buf_init((char *)reply, (unsigned)len);
	uv_write(w, s, &out, 1, fake_written);
}

static void fake_conn(uv_stream_t *srv, int status)
{
	struct fake *f = srv->data;
	if (status < 0 || !f->accept)
		return;
	uv_pipe_t *c = malloc(sizeof *c);
	uv_pipe_init(&g_loop, c, 0);
	c->data = f;
	if (uv_accept(srv, (uv_stream_t *)c) != 0) {
		uv_close((uv_handle_t *)c, fake_client_closed);
		return;
	}
	f->connections++;
	if (f->nclients < 8)
		f->clients[f->nclients++] = c;
	uv_read_start((uv_stream_t *)c, fake_alloc, fake_read);
}

static void fake_start(struct fake *f, const char *name, char *spec, size_t n)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", g_dir, name);
	unlink(path);
	uv_pipe_init(&g_loop, &f->server, 0);
	f->server.data = f;
	assert_int_equal(uv_pipe_bind(&f->server, path), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->server, 8, fake_conn), 0);
	snprintf(spec, n, "unix:%s", path);
}

static void fake_stop(struct fake *f)
{
	/* clients that got an answer closed themselves; close the silent ones */
	if (!f->reply && !f->answer)
		for (int i = 0; i < f->nclients; i++)
			uv_close((uv_handle_t *)f->clients[i], fake_client_closed);
	uv_close((uv_handle_t *)&f->server, NULL);
	drain_loop();
}

static void ticker(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void test_silent_server_times_out_without_blocking(void **state)
{
	(void)state;
	struct fake f = {.accept = true};
	char spec[160];
	fake_start(&f, "silent.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 300);

	/* while the edge waits, the loop keeps serving other timers */
	int ticks = 0;
	uv_timer_t tick;
	uv_timer_init(&g_loop, &tick);
	tick.data = &ticks;
	uv_timer_start(&tick, ticker, 10, 10);

	struct result r;
	set_weight(e, 25, false, &r);
	uv_close((uv_handle_t *)&tick, NULL);
	assert_int_equal(r.result, HAPROXY_ERR_TRANSPORT);
	assert_non_null(strstr(r.err, "no complete reply within 300 ms"));
	assert_true(ticks >= 2);
	/* the command did reach the server: the timeout is about the reply */
	assert_string_equal(f.last_cmd, "set server app/stable weight 75\n");
	assert_int_equal(f.connections, 1);
	e->ops->destroy(e);
	fake_stop(&f);
}

static void test_never_accepting_server_times_out(void **state)
{
	(void)state;
	struct fake f = {.accept = false};
	char spec[160];
	fake_start(&f, "backlog.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 200);
	struct result r;
	get_weight(e, &r);
	assert_int_equal(r.result, HAPROXY_ERR_TRANSPORT);
	assert_non_null(strstr(r.err, "within 200 ms"));
	e->ops->destroy(e);
	fake_stop(&f);
}

static void test_fake_error_is_sanitised(void **state)
{
	(void)state;
	static const char reply[] = "Permission \x1b[31mdenied\x07\n\n";
	struct fake f = {.accept = true, .reply = reply, .reply_len = sizeof reply - 1};
	char spec[160];
	fake_start(&f, "evil.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 2000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.result, HAPROXY_ERR_REFUSED);
	assert_non_null(strstr(r.err, "Permission ?[31mdenied?"));
	assert_null(strchr(r.err, '\x1b'));
	e->ops->destroy(e);
	fake_stop(&f);
}

static void test_fake_no_terminator(void **state)
{
	(void)state;
	static const char reply[] = "25 (initial 0)"; /* cut before its newline */
	struct fake f = {.accept = true, .reply = reply, .reply_len = sizeof reply - 1};
	char spec[160];
	fake_start(&f, "cut.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 2000);
	struct result r;
	get_weight(e, &r);
	assert_int_equal(r.result, HAPROXY_ERR_REFUSED);
	assert_non_null(strstr(r.err, "without its blank terminator"));
	e->ops->destroy(e);
	fake_stop(&f);
}

static void test_fake_huge_reply(void **state)
{
	(void)state;
	size_t n = HAPROXY_REPLY_MAX + 4096;
	char *big = malloc(n);
	memset(big, 'x', n);
	struct fake f = {.accept = true, .reply = big, .reply_len = n};
	char spec[160];
	fake_start(&f, "huge.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 5000);
	struct result r;
	get_weight(e, &r);
	assert_int_equal(r.result, HAPROXY_ERR_TRANSPORT);
	assert_non_null(strstr(r.err, "reply larger than"));
	e->ops->destroy(e);
	fake_stop(&f);
	free(big);
}

/* Another actor moved the canary behind our back: the read-back after a
 * set disagrees with the target, and the call says so with what it saw. */
static const char *drifted(const char *cmd)
{
	if (strncmp(cmd, "set ", 4) == 0)
		return "\n";
	if (strcmp(cmd, "get weight app/canary\n") == 0)
		return "20 (initial 0)\n\n";
	if (strcmp(cmd, "get weight app/stable\n") == 0)
		return "75 (initial 100)\n\n";
	return "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
	       "srv_uweight srv_iweight\n3 app 2 canary 127.0.0.1 2 0 20 0\n\n";
}

static void test_readback_mismatch_is_an_error(void **state)
{
	(void)state;
	struct fake f = {.accept = true, .answer = drifted};
	char spec[160];
	fake_start(&f, "drift.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 2000);
	struct result r;
	set_weight(e, 25, false, &r);
	assert_int_equal(r.result, HAPROXY_ERR_REFUSED);
	assert_int_equal(r.weight, 21); /* 20 / (20 + 75), what HAProxy really does */
	assert_non_null(strstr(r.err, "read-back differs"));
	assert_non_null(strstr(r.err, "canary weight 20"));
	/* a plain read reports the same truth without complaint */
	get_weight(e, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 21);
	e->ops->destroy(e);
	fake_stop(&f);
}

static void test_destroy_in_flight_never_calls_back(void **state)
{
	(void)state;
	struct fake f = {.accept = true};
	char spec[160];
	fake_start(&f, "inflight.sock", spec, sizeof spec);
	struct sr_edge *e = edge_new(spec, "canary", 5000);
	struct result r = {0};
	e->ops->set_weight(e, 25, false, "k", on_edge, &r);
	for (int i = 0; i < 5; i++)
		uv_run(&g_loop, UV_RUN_NOWAIT);
	e->ops->destroy(e);
	drain_loop();
	assert_int_equal(r.calls, 0);
	fake_stop(&f);
}

static void test_bad_arguments_fail_from_the_loop(void **state)
{
	(void)state;
	char spec[128];
	struct sr_edge *e = edge_new(unix_spec(spec, sizeof spec, "admin.sock"), "canary", 2000);
	struct result r = {0};
	e->ops->set_weight(e, 101, false, "k", on_edge, &r);
	assert_false(r.done); /* never from inside the call */
	run_until(&r.done);
	assert_int_not_equal(r.result, 0);
	assert_non_null(strstr(r.err, "0..100"));
	memset(&r, 0, sizeof r);
	e->ops->set_weight(e, 5, true, "k", on_edge, &r); /* drain only with 0 */
	run_until(&r.done);
	assert_int_not_equal(r.result, 0);
	e->ops->destroy(e);
	drain_loop();
}

/* ---- pure parsers ---------------------------------------------------------- */

static void test_parse_set_reply(void **state)
{
	(void)state;
	char err[128];
	assert_int_equal(haproxy_parse_set_reply("\n", 1, err, sizeof err), 0);
	assert_int_equal(haproxy_parse_set_reply("\r\n", 2, err, sizeof err), 0);
	assert_int_equal(haproxy_parse_set_reply("\n\n", 2, err, sizeof err), 0);

	assert_int_equal(haproxy_parse_set_reply("No such server.\n\n", 17, err, sizeof err), -1);
	assert_string_equal(err, "No such server.");
	const char *multi = "Unknown command, but maybe:\n  help : list\n  quit : bye\n\n";
	assert_int_equal(haproxy_parse_set_reply(multi, strlen(multi), err, sizeof err), -1);
	assert_string_equal(err, "Unknown command, but maybe: help : list quit : bye");

	assert_int_equal(haproxy_parse_set_reply("", 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "without a reply"));
	assert_int_equal(haproxy_parse_set_reply("Busy", 4, err, sizeof err), -1);
	assert_non_null(strstr(err, "without its blank terminator line: Busy"));
	assert_int_equal(haproxy_parse_set_reply("\nlater\n", 7, err, sizeof err), -1);
	assert_non_null(strstr(err, "unexpected text after the reply"));

	/* escapes and NULs never survive */
	const char evil[] = "a\x1b]0;pwn\x07\0b\n\n";
	assert_int_equal(haproxy_parse_set_reply(evil, sizeof evil - 1, err, sizeof err), -1);
	assert_string_equal(err, "a?]0;pwn??b");

	/* a tiny buffer is still terminated */
	char small[6];
	assert_int_equal(haproxy_parse_set_reply("No such server.\n\n", 17, small, sizeof small),
	                 -1);
	assert_string_equal(small, "No su");
}

static void test_parse_weight_reply(void **state)
{
	(void)state;
	char err[128];
	int cur = -9, init = -9;
	assert_int_equal(
	    haproxy_parse_weight_reply("25 (initial 0)\n\n", 16, &cur, &init, err, sizeof err), 0);
	assert_int_equal(cur, 25);
	assert_int_equal(init, 0);
	assert_int_equal(
	    haproxy_parse_weight_reply("256 (initial 100)\n\n", 19, &cur, &init, err, sizeof err),
	    0);
	assert_int_equal(cur, 256);
	assert_int_equal(init, 100);

	cur = -9;
	assert_int_equal(
	    haproxy_parse_weight_reply("No such server.\n\n", 17, &cur, &init, err, sizeof err),
	    -1);
	assert_string_equal(err, "No such server.");
	assert_int_equal(cur, -9);
	static const char *const bad[] = {"25\n\n",
	                                  "25 (initial )\n\n",
	                                  "-1 (initial 0)\n\n",
	                                  "25 (initial 0) extra\n\n",
	                                  "1234567 (initial 0)\n\n",
	                                  "25 (initial 0)\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(haproxy_parse_weight_reply(bad[i], strlen(bad[i]), &cur, &init,
		                                            err, sizeof err),
		                 -1);
}

static const char STATE_REPLY[] =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status\n"
    "3 app 1 stable 127.0.0.1 2 0 100 100 4 1\n"
    "3 app 2 canary 127.0.0.1 0 1 25 0 0 1\n"
    "\n";

static void test_parse_servers_state(void **state)
{
	(void)state;
	struct haproxy_server_state st;
	char err[128];
	assert_int_equal(haproxy_parse_servers_state(STATE_REPLY, strlen(STATE_REPLY), "canary",
	                                             &st, err, sizeof err),
	                 0);
	assert_int_equal(st.admin_state, 1);
	assert_int_equal(st.uweight, 25);
	assert_int_equal(st.iweight, 0);
	assert_int_equal(st.op_state, 0);
	assert_true(haproxy_state_in_maint(&st));
	assert_int_equal(haproxy_parse_servers_state(STATE_REPLY, strlen(STATE_REPLY), "stable",
	                                             &st, err, sizeof err),
	                 0);
	assert_int_equal(st.uweight, 100);
	assert_false(haproxy_state_in_maint(&st));
	/* a name that is a prefix of another is not a match */
	assert_int_equal(haproxy_parse_servers_state(STATE_REPLY, strlen(STATE_REPLY), "can", &st,
	                                             err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "no server \"can\""));

	const char *nob = "Can't find backend.\n\n";
	assert_int_equal(
	    haproxy_parse_servers_state(nob, strlen(nob), "canary", &st, err, sizeof err), -1);
	assert_string_equal(err, "Can't find backend.");
	const char *nohdr = "1\n3 app 2 canary\n\n";
	assert_int_equal(
	    haproxy_parse_servers_state(nohdr, strlen(nohdr), "canary", &st, err, sizeof err), -1);
	assert_non_null(strstr(err, "column header"));
	const char *badnum = "1\n# srv_name srv_op_state srv_admin_state srv_uweight "
	                     "srv_iweight\ncanary 2 x 1 1\n\n";
	assert_int_equal(
	    haproxy_parse_servers_state(badnum, strlen(badnum), "canary", &st, err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "malformed line 3"));
}

/* ---- config ---------------------------------------------------------------- */

static int cfg(const char *text, struct sr_haproxy_config *c, char *err, size_t n)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	int r = haproxy_config_from_json(c, j, err, n);
	json_decref(j);
	return r;
}

static void test_config_from_json(void **state)
{
	(void)state;
	struct sr_haproxy_config c;
	char err[256];
	assert_int_equal(cfg("{\"kind\":\"haproxy\",\"socket\":\"unix:/run/haproxy/admin.sock\","
	                     "\"backend\":\"web\",\"canary_server\":\"web-canary\","
	                     "\"stable_server\":\"web-1\"}",
	                     &c, err, sizeof err),
	                 0);
	assert_string_equal(c.socket, "unix:/run/haproxy/admin.sock");
	assert_string_equal(c.backend, "web");
	assert_string_equal(c.canary_server, "web-canary");
	assert_string_equal(c.stable_server, "web-1");
	assert_int_equal(c.timeout_ms, HAPROXY_TIMEOUT_DEFAULT_MS);

	assert_int_equal(
	    cfg("{\"kind\":\"haproxy\",\"socket\":\"tcp:[::1]:9999\",\"backend\":\"b\","
	        "\"canary_server\":\"c\",\"stable_server\":\"s\",\"timeout_ms\":500}",
	        &c, err, sizeof err),
	    0);
	assert_int_equal(c.timeout_ms, 500);

	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
	    {"{\"socket\":\"unix:/"
	     "s\",\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"s\","
	     "\"timeout\":5}",
	     "/timeout: unknown key"},
	    {"{\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"s\"}",
	     "/socket: missing"},
	    {"{\"socket\":\"tcp:localhost:99\",\"backend\":\"b\",\"canary_server\":\"c\","
	     "\"stable_server\":\"s\"}",
	     "/socket: expected"},
	    {"{\"socket\":\"tcp:127.0.0.1:0\",\"backend\":\"b\",\"canary_server\":\"c\","
	     "\"stable_server\":\"s\"}",
	     "/socket: expected"},
	    {"{\"socket\":\"/run/x.sock\",\"backend\":\"b\",\"canary_server\":\"c\","
	     "\"stable_server\":\"s\"}",
	     "/socket: expected"},
	    {"{\"socket\":\"unix:/s\",\"backend\":\"b\",\"canary_server\":\"c;shutdown sessions\","
	     "\"stable_server\":\"s\"}",
	     "/canary_server: only"},
	    {"{\"socket\":\"unix:/s\",\"backend\":\"b\\nshow env\",\"canary_server\":\"c\","
	     "\"stable_server\":\"s\"}",
	     "/backend: only"},
	    {"{\"socket\":\"unix:/"
	     "s\",\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"c\"}",
	     "/canary_server: must differ"},
	    {"{\"socket\":\"unix:/"
	     "s\",\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"s\","
	     "\"timeout_ms\":10}",
	     "/timeout_ms:"},
	    {"{\"socket\":\"unix:/"
	     "s\",\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"s\","
	     "\"timeout_ms\":\"5\"}",
	     "/timeout_ms:"},
	    {"{\"kind\":\"http\",\"socket\":\"unix:/s\",\"backend\":\"b\",\"canary_server\":\"c\","
	     "\"stable_server\":\"s\"}",
	     "/kind:"},
	    {"{\"socket\":5,\"backend\":\"b\",\"canary_server\":\"c\",\"stable_server\":\"s\"}",
	     "/socket: must be a string"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_int_equal(cfg(bad[i].json, &c, err, sizeof err), -1);
		if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, bad[i].msg);
	}
	/* a path longer than sun_path */
	char longj[512];
	char longp[200];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	snprintf(longj, sizeof longj,
	         "{\"socket\":\"unix:/%.110s\",\"backend\":\"b\",\"canary_server\":\"c\","
	         "\"stable_server\":\"s\"}",
	         longp);
	assert_int_equal(cfg(longj, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "/socket:"));
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_parse_set_reply),     cmocka_unit_test(test_parse_weight_reply),
	    cmocka_unit_test(test_parse_servers_state), cmocka_unit_test(test_config_from_json),
	    cmocka_unit_test(test_effective_weight),
	};
	const struct CMUnitTest live[] = {
	    cmocka_unit_test(test_set_get_round_trip_unix),
	    cmocka_unit_test(test_set_get_round_trip_tcp),
	    cmocka_unit_test(test_haproxy_error_text_verbatim),
	    cmocka_unit_test(test_rollback_maint_then_ready),
	    cmocka_unit_test(test_landing_counts_the_commands),
	    cmocka_unit_test(test_socket_missing_fails_fast),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_silent_server_times_out_without_blocking),
	    cmocka_unit_test(test_never_accepting_server_times_out),
	    cmocka_unit_test(test_fake_error_is_sanitised),
	    cmocka_unit_test(test_fake_no_terminator),
	    cmocka_unit_test(test_fake_huge_reply),
	    cmocka_unit_test(test_readback_mismatch_is_an_error),
	    cmocka_unit_test(test_destroy_in_flight_never_calls_back),
	    cmocka_unit_test(test_bad_arguments_fail_from_the_loop),
	};
	int fails = cmocka_run_group_tests_name("haproxy parsing", pure, NULL, NULL);
	fails += cmocka_run_group_tests_name("haproxy live", live, group_setup, group_teardown);
	return fails ? 1 : 0;
}
