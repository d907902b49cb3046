/* client.c - a connection to the rollout's service (client.h). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/mirror.h"
#include "shiproom/policy.h"
#include "shiproom/rights.h"
#include "shiproom/session.h"

struct sr_client {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	bool open;        /* pipe initialised */
	uv_timer_t timer; /* bounds the waits */
	bool timer_open;
	bool timed_out;
	struct sr_wire_reader rd;

	bool welcomed;
	char login[SR_NAME_LEN], role[SR_NAME_LEN];
	bool read_only, real, exit_with_last;
	long pid;
	char socket[256];

	struct sr_policy *policy;
	struct sr_scenario *scenario; /* name and seed only: reports print them */
	struct sr_runner *mirror;
	struct sr_clock clock;
	unsigned long gen;
	unsigned long alarms;
	int nwho;
	struct sr_who who[SR_CLIENT_MAX_WHO];
	struct sr_workflow_status wf;
	char poll_mode[96];
	char bastion[160]; /* the etcd store's leader or standby badge; "" none */

	long next_id;
	long result_id;
	int result_seq;
	enum sr_action_kind result_kind;
	struct sr_action_result result;

	uint64_t heard; /* loop time of the last message from the service */
	/* client_on_slow_answer: said when a connect waits SR_WIRE_SILENT_MS */
	void (*on_slow)(void *ud, const char *socket);
	void *on_slow_ud;
	char closed[256]; /* "" while connected */
	bool told;        /* the service said why it closed */
	char purpose[16];
	bool want_read_only;
};

struct sr_client *client_create(struct uv_loop_s *loop)
{
	struct sr_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->loop = loop;
	wire_reader_init(&c->rd, SR_WIRE_MAX);
	return c;
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

void client_destroy(struct sr_client *c)
{
	if (!c)
		return;
	if (c->open && !uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, on_closed);
	if (c->timer_open)
		uv_close((uv_handle_t *)&c->timer, on_closed);
	for (int i = 0; i < 100 && uv_run(c->loop, UV_RUN_NOWAIT); i++)
		;
	wire_reader_free(&c->rd);
	if (c->mirror)
		runner_close(c->mirror);
	free(c->mirror);
	free(c->scenario);
	free(c->policy);
	free(c);
}

static void set_closed(struct sr_client *c, const char *why)
{
	if (!c->closed[0])
		sr_sanitize(c->closed, why, sizeof c->closed);
	if (c->open && !uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, on_closed);
}

/* ---- messages from the service ------------------------------------------ */

static int on_welcome(struct sr_client *c, const json_t *m, char *err, size_t n)
{
	const json_t *ver = json_object_get(m, "version");
	const char *text = json_string_value(json_object_get(m, "policy"));
	const char *path = json_string_value(json_object_get(m, "policy_path"));
	const json_t *svc = json_object_get(m, "service");
	if (!json_is_integer(ver) || json_integer_value(ver) != SR_WIRE_VERSION || !text ||
	    !json_is_object(svc)) {
		snprintf(err, n, "the service speaks another protocol version");
		return -1;
	}
	if (c->welcomed) {
		/* a reconnect: the same rollout, the same mirror (the views hold
		 * pointers into it); the first state fills it anew, and the new
		 * service's log replaces the old one (only now that a service
		 * answered: a failed attempt must not empty the screen's log) */
		c->mirror->nlog = 0;
		c->read_only = json_is_true(json_object_get(m, "read_only"));
		c->pid = (long)json_integer_value(json_object_get(svc, "pid"));
		return 0;
	}
	c->policy = calloc(1, sizeof *c->policy);
	c->mirror = calloc(1, sizeof *c->mirror);
	if (!c->policy || !c->mirror) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	struct sr_policy_error pe;
	memset(&pe, 0, sizeof pe);
	if (policy_load_buffer(c->policy, text, json_string_length(json_object_get(m, "policy")),
	                       path ? path : "(the service's policy)", &pe) != 0) {
		char msg[1024];
		policy_error_format(&pe, msg, sizeof msg);
		snprintf(err, n, "the service's policy does not load here: %.400s", msg);
		return -1;
	}
	/* the simulator drill's extra roster entries, as the service has them */
	const json_t *drill = json_object_get(m, "drill");
	for (size_t i = 0; i < json_array_size(drill); i++) {
		const char *who = json_string_value(json_array_get(drill, i));
		if (who) {
			session_roster_add(c->policy, SR_ROLE_RELEASE_DRI, who);
			session_roster_add(c->policy, SR_ROLE_GATE_APPROVER, who);
		}
	}
	sr_sanitize(c->login, json_string_value(json_object_get(m, "login")) ?: "?",
	            sizeof c->login);
	sr_sanitize(c->role, json_string_value(json_object_get(m, "role")) ?: "?", sizeof c->role);
	c->read_only = json_is_true(json_object_get(m, "read_only"));
	c->real = json_is_true(json_object_get(svc, "real"));
	c->exit_with_last = json_is_true(json_object_get(svc, "exit_with_last"));
	c->pid = (long)json_integer_value(json_object_get(svc, "pid"));
	const json_t *sc = json_object_get(m, "scenario");
	if (json_is_object(sc)) {
		c->scenario = calloc(1, sizeof *c->scenario);
		if (c->scenario) {
			sr_sanitize(c->scenario->name,
			            json_string_value(json_object_get(sc, "name")) ?: "?",
			            sizeof c->scenario->name);
			c->scenario->seed = (uint64_t)json_integer_value(
			    json_object_get(sc, "seed"));
		}
	}
	/* No source, no edge, no journal: a mirror only shows. It starts at
	 * the service's T-0; the first state sets everything. */
	runner_init(c->mirror, c->policy, NULL, NULL, NULL, true, c->login);
	c->mirror->scenario = c->scenario;
	c->mirror->journal_live = true;
	double speed = json_number_value(json_object_get(m, "speed"));
	clock_init(&c->clock, clock_real_ms(), 0, speed > 0 ? speed : 1.0);
	c->welcomed = true;
	return 0;
}

static int on_state(struct sr_client *c, const json_t *m, char *err, size_t n)
{
	if (!c->welcomed) {
		snprintf(err, n, "a state before the welcome");
		return -1;
	}
	if (mirror_apply_core(c->mirror, json_object_get(m, "core"), err, n) != 0 ||
	    mirror_apply_history(c->mirror, json_object_get(m, "history"), err, n) != 0 ||
	    mirror_apply_log(c->mirror, json_object_get(m, "log"), err, n) != 0)
		return -1;
	const json_t *clk = json_object_get(m, "clock");
	double speed = json_number_value(json_object_get(clk, "speed"));
	json_t *vn = json_object_get(clk, "virtual_now");
	if (json_is_integer(vn))
		clock_init(&c->clock, clock_real_ms(), (sr_ms)json_integer_value(vn),
		           speed > 0 ? speed : 1.0);
	c->clock.paused = json_is_true(json_object_get(clk, "paused"));
	c->gen = (unsigned long)json_integer_value(json_object_get(m, "gen"));
	unsigned long alarms = (unsigned long)json_integer_value(json_object_get(m, "alarms"));
	if (alarms > c->alarms && c->gen > 1)
		c->mirror->alarm = true; /* the console rings */
	c->alarms = alarms;
	sr_sanitize(c->poll_mode, json_string_value(json_object_get(m, "poll_mode")) ?: "",
	            sizeof c->poll_mode);
	sr_sanitize(c->bastion, json_string_value(json_object_get(m, "bastion")) ?: "",
	            sizeof c->bastion);
	const json_t *wf = json_object_get(m, "workflow");
	if (json_is_object(wf)) {
		struct sr_workflow_status *w = &c->wf;
		w->reporting = json_is_true(json_object_get(wf, "reporting"));
		w->written = (int)json_integer_value(json_object_get(wf, "written"));
		sr_sanitize(w->last_path, json_string_value(json_object_get(wf, "last_path")) ?: "",
		            sizeof w->last_path);
		w->postmortem_done = json_is_true(json_object_get(wf, "postmortem_done"));
		sr_sanitize(w->state_dir, json_string_value(json_object_get(wf, "state_dir")) ?: "",
		            sizeof w->state_dir);
		w->webhook = json_is_true(json_object_get(wf, "webhook"));
		sr_sanitize(w->webhook_text,
		            json_string_value(json_object_get(wf, "webhook_text")) ?: "",
		            sizeof w->webhook_text);
		w->failing = json_is_true(json_object_get(wf, "failing"));
		w->posted = (long)json_integer_value(json_object_get(wf, "posted"));
		w->consecutive_failures = (int)json_integer_value(
		    json_object_get(wf, "consecutive_failures"));
		w->last_ok_at = (sr_ms)json_integer_value(json_object_get(wf, "last_ok_at"));
		sr_sanitize(w->last_error,
		            json_string_value(json_object_get(wf, "last_error")) ?: "",
		            sizeof w->last_error);
	}
	const json_t *who = json_object_get(m, "who");
	c->nwho = 0;
	for (size_t i = 0; i < json_array_size(who) && c->nwho < SR_CLIENT_MAX_WHO; i++) {
		const json_t *w = json_array_get(who, i);
		struct sr_who *x = &c->who[c->nwho++];
		memset(x, 0, sizeof *x);
		x->id = (long)json_integer_value(json_object_get(w, "id"));
		sr_sanitize(x->login, json_string_value(json_object_get(w, "login")) ?: "?",
		            sizeof x->login);
		sr_sanitize(x->role, json_string_value(json_object_get(w, "role")) ?: "?",
		            sizeof x->role);
		sr_sanitize(x->purpose, json_string_value(json_object_get(w, "purpose")) ?: "?",
		            sizeof x->purpose);
		sr_sanitize(x->ssh, json_string_value(json_object_get(w, "ssh")) ?: "",
		            sizeof x->ssh);
		x->read_only = json_is_true(json_object_get(w, "read_only"));
		x->acting = json_is_true(json_object_get(w, "acting"));
		x->since = (sr_ms)json_integer_value(json_object_get(w, "since"));
	}
	return 0;
}

static void on_result(struct sr_client *c, const json_t *m)
{
	const char *outcome = json_string_value(json_object_get(m, "outcome"));
	const char *action = json_string_value(json_object_get(m, "action"));
	const char *msg = json_string_value(json_object_get(m, "message"));
	memset(&c->result, 0, sizeof c->result);
	c->result.outcome = SR_ACT_FAILED;
	for (int o = SR_ACT_DONE; o <= SR_ACT_PENDING; o++)
		if (outcome && strcmp(outcome, action_outcome_name((enum sr_action_outcome)o)) == 0)
			c->result.outcome = (enum sr_action_outcome)o;
	json_t *w = json_object_get(m, "weight");
	c->result.weight = json_is_integer(w) ? (int)json_integer_value(w) : -1;
	sr_sanitize(c->result.message, msg ? msg : "", sizeof c->result.message);
	const struct sr_action_def *d = action ? action_by_name(action) : NULL;
	c->result_kind = d ? d->kind : SR_ACT_COUNT;
	c->result_id = (long)json_integer_value(json_object_get(m, "id"));
	/* PENDING is not an answer yet: the final result follows */
	if (c->result.outcome != SR_ACT_PENDING)
		c->result_seq++;
}

/* One message from the service; 1 when the connection is over. */
static int on_wire_message(void *ud, json_t *m)
{
	struct sr_client *c = ud;
	const char *type = wire_type(m);
	char err[512];
	int rc = 0;
	c->heard = uv_now(c->loop);
	if (strcmp(type, "welcome") == 0) {
		rc = c->gen > 0 ? -1 : on_welcome(c, m, err, sizeof err);
	} else if (strcmp(type, "state") == 0) {
		rc = on_state(c, m, err, sizeof err);
	} else if (strcmp(type, "result") == 0) {
		on_result(c, m);
	} else if (strcmp(type, "error") == 0) {
		c->told = true;
		set_closed(c,
		           json_string_value(json_object_get(m, "reason")) ?: "the service closed");
	}
	/* an unknown type from a newer service: ignored */
	if (rc != 0) {
		char why[600];
		snprintf(why, sizeof why, "the service's state was refused: %s", err);
		set_closed(c, why);
	}
	return c->closed[0] ? 1 : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct sr_client *c = st->data;
	char err[512];
	if (nread < 0)
		set_closed(c, "the connection to the service was lost");
	else if (nread > 0 && wire_reader_drain(&c->rd, b->base, (size_t)nread, on_wire_message, c,
	                                        err, sizeof err) < 0) {
		char why[600];
		snprintf(why, sizeof why, "protocol error from the service: %s", err);
		set_closed(c, why);
	}
	free(b->base);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	size_t n = suggested < 65536 ? 65536 : suggested;
	char *p = malloc(n);
	*b = uv_buf_init(p, p ? (unsigned)n : 0);
}

/* ---- sending ------------------------------------------------------------- */

struct out {
	uv_write_t req;
	char *frame;
};

static void on_written(uv_write_t *w, int status)
{
	struct out *o = w->data;
	(void)status;
	free(o->frame);
	free(o);
}

static int send_msg(struct sr_client *c, json_t *m)
{
	size_t len;
	char *f = m ? wire_frame(m, &len) : NULL;
	json_decref(m);
	if (!f || c->closed[0]) {
		free(f);
		return -1;
	}
	struct out *o = calloc(1, sizeof *o);
	if (!o) {
		free(f);
		return -1;
	}
	o->frame = f;
	o->req.data = o;
	uv_buf_t b = uv_buf_init(f, (unsigned)len);
	if (uv_write(&o->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		free(f);
		free(o);
		set_closed(c, "the connection to the service was lost");
		return -1;
	}
	return 0;
}

/* ---- waiting ------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
	struct sr_client *c = t->data;
	c->timed_out = true;
}

/* Run the loop until done(c, arg) or the connection ends or timeout. */
static bool wait_until(struct sr_client *c, bool (*done)(const struct sr_client *, long), long arg,
                       sr_ms timeout_ms)
{
	if (!c->timer_open) {
		uv_timer_init(c->loop, &c->timer);
		c->timer.data = c;
		c->timer_open = true;
	}
	c->timed_out = false;
	uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
	while (!done(c, arg) && !c->closed[0] && !c->timed_out)
		uv_run(c->loop, UV_RUN_ONCE);
	uv_timer_stop(&c->timer);
	return done(c, arg);
}

static bool have_first_state(const struct sr_client *c, long arg)
{
	(void)arg;
	return c->welcomed && c->gen > 0;
}

static bool have_result(const struct sr_client *c, long id)
{
	return c->result_seq > 0 && c->result_id == id;
}

static bool have_gen(const struct sr_client *c, long gen)
{
	return c->gen > (unsigned long)gen;
}

bool client_wait_result(struct sr_client *c, long id, sr_ms timeout_ms)
{
	return wait_until(c, have_result, id, timeout_ms);
}

bool client_wait_state(struct sr_client *c, unsigned long gen, sr_ms timeout_ms)
{
	return wait_until(c, have_gen, (long)gen, timeout_ms);
}

static int connect_and_hello(struct sr_client *c, sr_ms timeout_ms, bool *absent, char *err,
                             size_t n);

int client_connect(struct sr_client *c, const char *socket_path, const char *purpose,
                   bool read_only, sr_ms timeout_ms, bool *absent, char *err, size_t n)
{
	snprintf(c->socket, sizeof c->socket, "%s", socket_path);
	snprintf(c->purpose, sizeof c->purpose, "%s", purpose);
	c->want_read_only = read_only;
	return connect_and_hello(c, timeout_ms, absent, err, n);
}

void client_on_slow_answer(struct sr_client *c, void (*fn)(void *ud, const char *socket), void *ud)
{
	c->on_slow = fn;
	c->on_slow_ud = ud;
}

sr_ms client_silent_ms(const struct sr_client *c)
{
	if (!c->welcomed)
		return 0; /* lost or not, a closed connection is silent since its last word */
	uint64_t now = uv_now(c->loop);
	return now > c->heard ? (sr_ms)(now - c->heard) : 0;
}

bool client_lost(const struct sr_client *c)
{
	return c->closed[0] && !c->told;
}

int client_reconnect(struct sr_client *c, sr_ms timeout_ms, bool *absent, char *err, size_t n)
{
	/* the old pipe was closed (set_closed): let its handle go first */
	for (int i = 0; i < 10 && c->open && !uv_is_closing((uv_handle_t *)&c->pipe); i++)
		uv_close((uv_handle_t *)&c->pipe, on_closed);
	uv_run(c->loop, UV_RUN_NOWAIT);
	wire_reader_free(&c->rd);
	wire_reader_init(&c->rd, SR_WIRE_MAX);
	char was[256];
	snprintf(was, sizeof was, "%s", c->closed);
	c->closed[0] = '\0';
	c->told = false;
	c->gen = 0;
	c->alarms = 0;
	int rc = connect_and_hello(c, timeout_ms, absent, err, n);
	if (rc != 0 && !c->closed[0])
		snprintf(c->closed, sizeof c->closed, "%s", was);
	return rc;
}

/* Why connect() failed, in words that say what to do. The socket's
 * group and mode (the policy's service.group and service.mode) decide
 * who may attach: "Permission denied" alone reads like a broken service. */
static void refused_text(const char *socket_path, int e, char *err, size_t n)
{
	struct stat st;
	if ((e == EACCES || e == EPERM) && stat(socket_path, &st) == 0) {
		char gname[64];
		struct group *g = getgrgid(st.st_gid);
		if (g && g->gr_name)
			snprintf(gname, sizeof gname, "%s", g->gr_name);
		else
			snprintf(gname, sizeof gname, "%u", (unsigned)st.st_gid);
		snprintf(err, n,
		         "cannot connect: %s (the socket is mode %04o, group %s: only its owner "
		         "and members of %s may attach; the policy's service.group sets it)",
		         strerror(e), (unsigned)(st.st_mode & 07777), gname, gname);
		return;
	}
	if (e == EACCES || e == EPERM) {
		snprintf(err, n,
		         "cannot connect: %s (a directory above the socket is closed to you: the "
		         "policy's service.group decides who may attach)",
		         strerror(e));
		return;
	}
	if (e == ENOENT || e == ECONNREFUSED)
		snprintf(err, n, "nobody listens there (%s)", strerror(e));
	else
		snprintf(err, n, "cannot connect: %s", strerror(e));
}

static int connect_and_hello(struct sr_client *c, sr_ms timeout_ms, bool *absent, char *err,
                             size_t n)
{
	const char *socket_path = c->socket, *purpose = c->purpose;
	bool read_only = c->want_read_only;
	*absent = false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	size_t plen = strlen(socket_path);
	if (plen >= sizeof a.sun_path) {
		close(fd);
		snprintf(err, n, "the socket path is too long for a unix socket");
		return -1;
	}
	memcpy(a.sun_path, socket_path, plen + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(fd);
		*absent = e == ENOENT || e == ECONNREFUSED;
		refused_text(socket_path, e, err, n);
		return -1;
	}
	uv_pipe_init(c->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->open = true;
	if (uv_pipe_open(&c->pipe, fd) != 0) {
		close(fd);
		snprintf(err, n, "cannot use the connection to %s", socket_path);
		return -1;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	const char *ssh = getenv("SSH_CONNECTION");
	send_msg(c,
	         json_pack("{s:s, s:i, s:s, s:b, s:s}", "type", "hello", "version", SR_WIRE_VERSION,
	                   "purpose", purpose, "read_only", read_only, "ssh", ssh ? ssh : ""));
	/* One connection, waited on in two parts when someone wants to hear
	 * that the service is slow to answer: a second connection would
	 * be a second session to the service once it goes on. */
	sr_ms first = c->on_slow && timeout_ms > SR_WIRE_SILENT_MS ? SR_WIRE_SILENT_MS : timeout_ms;
	bool got = wait_until(c, have_first_state, 0, first);
	if (!got && !c->closed[0] && first < timeout_ms) {
		c->on_slow(c->on_slow_ud, socket_path);
		got = wait_until(c, have_first_state, 0, timeout_ms - first);
	}
	if (!got) {
		if (c->closed[0]) {
			snprintf(err, n, "%s", c->closed);
		} else {
			/* the kernel took the connection; the process did not
			 * answer it: stopped (SIGSTOP, a debugger) or stuck */
			snprintf(err, n,
			         "it took the connection but did not answer in "
			         "%llds: is it stopped or stuck?",
			         (long long)(timeout_ms / SR_MS_PER_S));
			set_closed(c, "the service did not answer in time");
		}
		return -1;
	}
	return 0;
}

long client_request(struct sr_client *c, const struct sr_action_request *req)
{
	long id = ++c->next_id;
	json_t *m = wire_request_json(req);
	if (m) {
		json_object_set_new(m, "type", json_string("request"));
		json_object_set_new(m, "id", json_integer((json_int_t)id));
	}
	return send_msg(c, m) == 0 ? id : -1;
}

int client_send_stop(struct sr_client *c)
{
	long id = ++c->next_id;
	return send_msg(c, json_pack("{s:s, s:I}", "type", "stop", "id", (json_int_t)id)) == 0
	           ? (int)id
	           : -1;
}

void client_bye(struct sr_client *c)
{
	if (send_msg(c, json_pack("{s:s}", "type", "bye")) == 0)
		for (int i = 0; i < 10 && uv_run(c->loop, UV_RUN_NOWAIT); i++)
			;
}

struct sr_runner *client_mirror(struct sr_client *c)
{
	return c->mirror;
}
struct sr_clock *client_clock(struct sr_client *c)
{
	return &c->clock;
}
const char *client_login(const struct sr_client *c)
{
	return c->login;
}
const char *client_role(const struct sr_client *c)
{
	return c->role;
}
bool client_read_only(const struct sr_client *c)
{
	return c->read_only;
}
bool client_real(const struct sr_client *c)
{
	return c->real;
}
bool client_exit_with_last(const struct sr_client *c)
{
	return c->exit_with_last;
}
long client_service_pid(const struct sr_client *c)
{
	return c->pid;
}
const char *client_socket(const struct sr_client *c)
{
	return c->socket;
}
unsigned long client_gen(const struct sr_client *c)
{
	return c->gen;
}
unsigned long client_alarms(const struct sr_client *c)
{
	return c->alarms;
}
const char *client_closed(const struct sr_client *c)
{
	return c->closed[0] ? c->closed : NULL;
}

int client_who(const struct sr_client *c, const struct sr_who **who)
{
	*who = c->who;
	return c->nwho;
}

int client_result_seq(const struct sr_client *c)
{
	return c->result_seq;
}
const struct sr_workflow_status *client_workflow(const struct sr_client *c)
{
	return &c->wf;
}
const char *client_poll_mode(const struct sr_client *c)
{
	return c->poll_mode;
}

const char *client_bastion(const struct sr_client *c)
{
	return c->bastion;
}

const struct sr_action_result *client_result(const struct sr_client *c, enum sr_action_kind *kind)
{
	if (kind)
		*kind = c->result_kind;
	return &c->result;
}
