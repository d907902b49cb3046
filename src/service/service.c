/* service.c - the rollout service (service.h): the cron on a timer, a
 * unix socket, the clients, their identity and their requests.
 *
 * The loop, in the manner of redis' serverCron and beforeSleep:
 *   - `tick`: session_cron() every poll of virtual time;
 *   - `check` (a uv_check: after every turn of the loop, never on its
 *     own): if anything a client sees changed - a tick, an action's
 *     outcome arriving from the edge, an attach - the generation moves on
 *     and every idle client is sent the new state. An idle service wakes
 *     for nothing else;
 *   - one uv_pipe_t listening, one per client.
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/action.h"
#include "shiproom/bastion.h"
#include "shiproom/journal.h"
#include "shiproom/jread.h"
#include "shiproom/mirror.h"
#include "shiproom/notify.h"
#include "shiproom/policy.h"
#include "shiproom/report.h"
#include "shiproom/rights.h"
#include "shiproom/scenario.h"
#include "shiproom/service.h"
#include "shiproom/wire.h"

/* A client's requests are small: a bigger message is garbage. */
#define CLIENT_MSG_MAX (64u << 10)
/* Bytes queued to one client (results, the state in flight) before it is
 * dropped as dead: a stopped terminal must not grow the service. */
#define CLIENT_QUEUE_MAX (32u << 20)
/* A client that has not said hello within this long is dropped. */
#define HELLO_TIMEOUT_MS 10000
/* More connections than a team has terminals is not a team: refused. */
#define MAX_CLIENTS 256

struct service;

struct client {
	uv_pipe_t pipe;
	uv_timer_t hello_timer; /* drops a client that never says hello */
	int handles;            /* open libuv handles: freed at 0 */
	struct service *svc;
	struct client *next;
	long id; /* for the who list and pending results */
	uid_t uid;
	pid_t pid;
	char login[SR_NAME_LEN];
	char role[SR_NAME_LEN]; /* "release_dri", ..., "observer" */
	bool read_only;
	bool asked_read_only; /* --read-only: not even what an observer may */
	bool hello;           /* said hello and was welcomed */
	bool closing;
	bool shutting; /* a shutdown is out: it closes the pipe */
	uv_shutdown_t shutdown;
	bool said_bye;    /* left on purpose (q), not a lost connection */
	char purpose[16]; /* console, status, act, watch, report, stop */
	char ssh[64];     /* SSH_CONNECTION's client address, if any */
	sr_ms since;      /* real ms */
	struct sr_wire_reader rd;
	bool state_in_flight;   /* the one state message on its way */
	unsigned long sent_gen; /* the generation it has */
	int log_sent;           /* runner log entries it has */
	sr_ms hist_sent;        /* history.last it has (0: none) */
	uint64_t sent_at;       /* loop time of the last message to it */
};

struct service {
	struct sr_session *s;
	const struct sr_service_opts *o;
	uv_loop_t *loop;
	uv_pipe_t listener;
	uv_timer_t tick;
	uv_timer_t beat; /* runs while a client is attached (SR_WIRE_BEAT_MS) */
	uv_check_t check;
	uv_signal_t sigterm, sigint, sighup;
	struct sr_clock clock;
	struct client *clients;
	long next_client_id;
	int nconsoles_ever; /* exit_with_last: only after the first */
	char *policy_text;
	size_t policy_len;

	unsigned long gen; /* bumped by every change a client can see */
	/* What was last seen, to know when gen must move. */
	int seen_nlog;
	long seen_evals;
	bool seen_in_flight;
	unsigned long seen_changes;
	sr_ms seen_hist;
	long seen_wf; /* reports written, webhook counters */
	bool who_changed;

	char *core_text; /* the shared part of gen's state, encoded once */
	unsigned long core_gen;
	unsigned long alarms; /* triggers that started firing: consoles ring */

	/* The request whose edge action is in flight: its result goes back
	 * to this client when the edge answers. */
	long pending_client;
	long pending_id;
	bool pending;

	/* With the journal in etcd: leader or standby (bastion.h). */
	struct sr_bastion *bastion;
	uv_timer_t lead;
	char badge[160];

	int log_mark;     /* log entries printed to log_out */
	int shutting;     /* clients whose last words are still going out */
	uv_timer_t flush; /* ends the wait for them when the service stops */
	bool stopping;
	bool restart; /* exec ourselves again once stopped (on_reread) */
	char stop_reason[128];
	int exit_status;
};

static sr_ms service_now(struct service *v)
{
	return clock_now(&v->clock, clock_real_ms());
}

/* ---- socket path ------------------------------------------------------ */

int service_socket_path(const struct sr_policy *p, const char *scenario, const char *given,
                        char *out, size_t n)
{
	int w;
	if (given && given[0]) {
		w = snprintf(out, n, "%s", given);
	} else if (p->service.socket[0]) {
		/* the team's own place (a drill policy that names one uses it) */
		w = snprintf(out, n, "%s", p->service.socket);
	} else {
		char dir[512];
		const char *env = getenv("SHIPROOM_RUNTIME_DIR");
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (env && env[0] == '/')
			snprintf(dir, sizeof dir, "%s", env);
		else if (xdg && xdg[0] == '/')
			snprintf(dir, sizeof dir, "%s/shiproom", xdg);
		else
			snprintf(dir, sizeof dir, "/tmp/shiproom-%u", (unsigned)getuid());
		if (scenario) {
			char sc[64];
			/* a scenario may be a path: its name only, and tame */
			const char *base = strrchr(scenario, '/');
			snprintf(sc, sizeof sc, "%s", base ? base + 1 : scenario);
			char *dot = strstr(sc, ".json");
			if (dot)
				*dot = '\0';
			for (char *c = sc; *c; c++)
				if (!(*c == '-' || *c == '_' || (*c >= '0' && *c <= '9') ||
				      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
					*c = '_';
			w = snprintf(out, n, "%s/%s-sim-%s.sock", dir, p->rollout, sc);
		} else {
			w = snprintf(out, n, "%s/%s.sock", dir, p->rollout);
		}
	}
	/* sun_path is 108 bytes on Linux */
	return w < 0 || (size_t)w >= n || (size_t)w >= sizeof(((struct sockaddr_un *)0)->sun_path)
	           ? -1
	           : 0;
}

int service_socket_dir(const char *path, char *err, size_t n)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, n, "%s is not a directory", dir);
			return -1;
		}
		return 0;
	}
	/* Only the last component, private: a shared place (/run/shiproom)
	 * is the administrator's to make, with its group. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, n, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- identity ---------------------------------------------------------- */

static bool in_group(const char *login, gid_t primary, const char *group)
{
	struct group *g = getgrnam(group);
	if (!g)
		return false;
	if (g->gr_gid == primary)
		return true;
	for (char **m = g->gr_mem; m && *m; m++)
		if (strcmp(*m, login) == 0)
			return true;
	return false;
}

/* The role a login attaches with: its first roster role, else
 * "observer" when the policy lets it look, else NULL (refused). */
static const char *role_of(const struct service *v, const char *login, uid_t uid, gid_t gid,
                           bool *read_only)
{
	const struct sr_policy *p = v->s->runner->policy;
	static const enum sr_role acting[] = {SR_ROLE_RELEASE_DRI, SR_ROLE_GATE_APPROVER,
	                                      SR_ROLE_EXEC};
	for (size_t i = 0; i < sizeof acting / sizeof acting[0]; i++) {
		if (rights_has_role(p, login, acting[i])) {
			*read_only = false;
			return sr_role_name(acting[i]);
		}
	}
	*read_only = true;
	if (uid == getuid())
		return "owner"; /* the service's own user may always look */
	if (rights_has_role(p, login, SR_ROLE_OBSERVER))
		return "observer";
	for (int i = 0; i < p->service.nobservers; i++)
		if (strcmp(p->service.observers[i], login) == 0)
			return "observer";
	if (p->service.observer_group[0] && in_group(login, gid, p->service.observer_group))
		return "observer";
	return NULL;
}

/* ---- sending ------------------------------------------------------------- */

struct out {
	uv_write_t req;
	char *frame;
	bool state;
	struct client *c;
};

static void client_close(struct client *c, const char *why);
static void send_state(struct client *c);

static void on_written(uv_write_t *w, int status)
{
	struct out *o = w->data;
	struct client *c = o->c;
	bool state = o->state;
	free(o->frame);
	free(o);
	if (state)
		c->state_in_flight = false;
	if (status < 0) {
		if (!c->closing)
			client_close(c, "connection lost");
		return;
	}
	/* It caught up: send what changed meanwhile (collapsed into one). */
	if (state && !c->closing && c->hello && c->sent_gen != c->svc->gen)
		send_state(c);
}

static int write_frame(struct client *c, char *frame, size_t len, bool state)
{
	if (c->closing) {
		free(frame);
		return -1;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) + len > CLIENT_QUEUE_MAX) {
		free(frame);
		client_close(c, "not reading (its queue is full)");
		return -1;
	}
	struct out *o = calloc(1, sizeof *o);
	if (!o) {
		free(frame);
		return -1;
	}
	o->frame = frame;
	o->state = state;
	o->c = c;
	o->req.data = o;
	uv_buf_t b = uv_buf_init(frame, (unsigned)len);
	if (uv_write(&o->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		free(frame);
		free(o);
		client_close(c, "connection lost");
		return -1;
	}
	if (state)
		c->state_in_flight = true;
	c->sent_at = uv_now(c->svc->loop);
	return 0;
}

/* Send a message (stolen). */
static int send_msg(struct client *c, json_t *m)
{
	size_t len;
	char *f = m ? wire_frame(m, &len) : NULL;
	json_decref(m);
	if (!f)
		return -1;
	return write_frame(c, f, len, false);
}

static void send_error(struct client *c, const char *reason)
{
	send_msg(c, json_pack("{s:s, s:s}", "type", "error", "reason", reason));
}

static json_t *who_json(const struct service *v)
{
	json_t *a = json_array();
	const struct sr_runner *r = v->s->runner;
	for (const struct client *c = v->clients; c; c = c->next) {
		if (!c->hello || c->closing)
			continue;
		bool acting = r->action_in_flight && v->pending && v->pending_client == c->id;
		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:b, s:s, s:s, s:I, s:b}", "id",
		                                   (json_int_t)c->id, "login", c->login, "role",
		                                   c->role, "read_only", c->read_only, "purpose",
		                                   c->purpose, "ssh", c->ssh, "since",
		                                   (json_int_t)c->since, "acting", acting));
	}
	return a;
}

/* What the workflow did: the reports written, the webhook's health. */
static json_t *workflow_json(const struct sr_session *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "reporting", json_boolean(s->reporting));
	json_object_set_new(o, "state_dir", json_string(s->keep_state ? s->state_dir : ""));
	if (s->reporting) {
		json_object_set_new(o, "written", json_integer(s->reports.written));
		json_object_set_new(o, "last_path", json_string(s->reports.last_path));
		json_object_set_new(o, "postmortem_done", json_boolean(s->reports.postmortem_done));
	}
	json_object_set_new(o, "webhook", json_boolean(s->notify != NULL));
	if (s->notify) {
		char text[SR_TEXT_LEN];
		const struct sr_notify_status *ns = notify_status(s->notify);
		notify_status_text(s->notify, text, sizeof text);
		json_object_set_new(o, "webhook_text", json_string(text));
		json_object_set_new(o, "failing", json_boolean(ns->failing));
		json_object_set_new(o, "posted", json_integer(ns->posted));
		json_object_set_new(o, "consecutive_failures",
		                    json_integer(ns->consecutive_failures));
		json_object_set_new(o, "last_ok_at", json_integer(ns->last_ok_at));
		json_object_set_new(o, "last_error", json_string(ns->last_error));
	}
	return o;
}

static const char *core_text(struct service *v)
{
	if (v->core_text && v->core_gen == v->gen)
		return v->core_text;
	free(v->core_text);
	json_t *core = mirror_encode_core(v->s->runner);
	v->core_text = core ? json_dumps(core, JSON_COMPACT) : NULL;
	json_decref(core);
	v->core_gen = v->gen;
	return v->core_text;
}

/* The state for one client: the shared core (encoded once a generation)
 * and what this client has not had of the history and the log. */
static void send_state(struct client *c)
{
	struct service *v = c->svc;
	struct sr_runner *r = v->s->runner;
	if (c->state_in_flight || c->closing || !c->hello)
		return;
	const char *core = core_text(v);
	if (!core)
		return;
	json_t *extra = json_object();
	json_object_set_new(extra, "history", mirror_encode_history(&r->history, c->hist_sent));
	json_object_set_new(extra, "log", mirror_encode_log(r, c->log_sent));
	json_object_set_new(extra, "who", who_json(v));
	json_object_set_new(extra, "clock",
	                    json_pack("{s:f, s:I, s:b}", "speed", v->clock.speed, "virtual_now",
	                              (json_int_t)service_now(v), "paused", v->clock.paused));
	json_object_set_new(extra, "alarms", json_integer((json_int_t)v->alarms));
	json_object_set_new(extra, "workflow", workflow_json(v->s));
	char mode[96];
	runner_poll_mode(r, mode, sizeof mode, true);
	json_object_set_new(extra, "poll_mode", json_string(mode));
	if (v->bastion)
		json_object_set_new(extra, "bastion", json_string(v->badge));
	json_object_set_new(extra, "gen", json_integer((json_int_t)v->gen));
	json_object_set_new(extra, "stopping", json_boolean(v->stopping));
	char *rest = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	if (!rest)
		return;
	/* {"type":"state","core":CORE, + the rest's members */
	size_t cl = strlen(core), rl = strlen(rest);
	static const char head[] = "{\"type\":\"state\",\"core\":";
	size_t jl = sizeof head - 1 + cl + 1 + (rl - 1);
	char *frame = malloc(jl + 4);
	if (!frame) {
		free(rest);
		return;
	}
	char *p = frame + 4;
	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	memcpy(p, core, cl);
	p += cl;
	*p++ = ',';
	memcpy(p, rest + 1, rl - 1); /* the rest without its '{' */
	free(rest);
	frame[0] = (char)(jl >> 24);
	frame[1] = (char)(jl >> 16);
	frame[2] = (char)(jl >> 8);
	frame[3] = (char)jl;
	unsigned long gen = v->gen;
	int nlog = r->nlog;
	sr_ms hist = r->history.last;
	if (write_frame(c, frame, jl + 4, true) == 0) {
		c->sent_gen = gen;
		c->log_sent = nlog;
		c->hist_sent = hist;
	}
}

/* Every client that has heard nothing for SR_WIRE_BEAT_MS gets the state
 * again: silence then means the service cannot speak, never that nothing
 * changed. Stops itself when no client is attached. */
static void on_beat(uv_timer_t *t)
{
	struct service *v = t->data;
	uint64_t now = uv_now(v->loop);
	bool any = false;
	for (struct client *c = v->clients; c; c = c->next) {
		if (!c->hello || c->closing)
			continue;
		any = true;
		if (now - c->sent_at >= SR_WIRE_BEAT_MS)
			send_state(c);
	}
	if (!any)
		uv_timer_stop(t);
}

static void broadcast(struct service *v)
{
	for (struct client *c = v->clients; c; c = c->next)
		if (c->hello && c->sent_gen != v->gen)
			send_state(c);
}

/* ---- the journal of who came and went ----------------------------------- */

static void journal_session(struct service *v, const struct client *c, const char *event,
                            const char *how)
{
	struct sr_runner *r = v->s->runner;
	char rel[24];
	sr_fmt_trel(rel, sizeof rel, r->now - r->engine.ro.t0);
	runner_log(r, SR_LOG_INFO, c->read_only ? SR_GREEN : SR_YELLOW, "",
	           "%s %s %s%s%s%s%s (%s) at %s", c->role, c->login, event, how[0] ? " (" : "", how,
	           how[0] ? ")" : "", c->ssh[0] ? " from ssh" : "",
	           c->read_only ? "read-only" : "can act", rel);
	if (!v->s->journal || v->s->read_only)
		return;
	json_t *f = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I}", "event", event, "role", c->role,
	                      "purpose", c->purpose, "read_only", c->read_only, "how", how, "pid",
	                      (json_int_t)c->pid);
	if (f && c->ssh[0])
		json_object_set_new(f, "ssh", json_string(c->ssh));
	char err[256];
	if (f && journal_append(v->s->journal, SR_J_SESSION, r->now, c->login, f, NULL, err,
	                        sizeof err) < 0)
		runner_log(r, SR_LOG_INFO, SR_RED, "", "journal: session record lost: %s", err);
}

/* ---- clients ------------------------------------------------------------- */

static void maybe_exit_with_last(struct service *v);

static void on_client_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	if (--c->handles > 0)
		return;
	wire_reader_free(&c->rd);
	free(c);
}

static void client_close(struct client *c, const char *why)
{
	struct service *v = c->svc;
	if (c->closing)
		return;
	c->closing = true;
	if (c->hello && strcmp(c->purpose, "console") == 0)
		journal_session(v, c, "detached", c->said_bye ? "quit" : why);
	for (struct client **pp = &v->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	v->who_changed = true;
	uv_close((uv_handle_t *)&c->hello_timer, on_client_closed);
	if (!c->shutting) /* else on_shut closes it, once the error is out */
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
	maybe_exit_with_last(v);
}

static void on_shut(uv_shutdown_t *req, int status)
{
	struct client *c = req->data;
	(void)status;
	c->svc->shutting--;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

/* Tell the client why, then let it go: the error is queued before the
 * shutdown, so it is written before the connection ends. */
static void fail_client(struct client *c, const char *reason)
{
	send_error(c, reason);
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->shutdown.data = c;
	c->shutting = uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shut) == 0;
	if (c->shutting)
		c->svc->shutting++;
	client_close(c, reason);
}

static void welcome(struct client *c)
{
	struct service *v = c->svc;
	struct sr_session *s = v->s;
	json_t *drill = json_array();
	if (s->drill)
		json_array_append_new(drill, json_string(s->owner));
	json_t *sc = s->scenario ? json_pack("{s:s, s:I}", "name", s->scenario->name, "seed",
	                                     (json_int_t)s->scenario->seed)
	                         : json_null();
	json_t *m = json_pack(
	    "{s:s, s:i, s:s, s:s, s:b, s:s%, s:s, s:o, s:o, s:f, s:{s:I, s:b, s:b, s:b, s:s}}",
	    "type", "welcome", "version", SR_WIRE_VERSION, "login", c->login, "role", c->role,
	    "read_only", c->read_only, "policy", v->policy_text, v->policy_len, "policy_path",
	    s->policy->path, "drill", drill, "scenario", sc, "speed", v->clock.speed, "service",
	    "pid", (json_int_t)getpid(), "real", s->real, "exit_with_last", v->o->exit_with_last,
	    "read_only", s->read_only, "socket", v->o->socket);
	send_msg(c, m);
	c->hello = true;
	uv_timer_stop(&c->hello_timer);
	v->who_changed = true;
	if (strcmp(c->purpose, "console") == 0) {
		v->nconsoles_ever++;
		journal_session(v, c, "attached", "");
	}
	send_state(c);
	if (!uv_is_active((uv_handle_t *)&v->beat))
		uv_timer_start(&v->beat, on_beat, SR_WIRE_BEAT_MS / 2, SR_WIRE_BEAT_MS / 2);
}

static void on_hello(struct client *c, const json_t *m)
{
	struct service *v = c->svc;
	json_t *ver = json_object_get(m, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != SR_WIRE_VERSION) {
		char why[128];
		snprintf(why, sizeof why, "protocol version %lld is not this service's (%d)",
		         json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
		         SR_WIRE_VERSION);
		fail_client(c, why);
		return;
	}
	const char *purpose = json_string_value(json_object_get(m, "purpose"));
	static const char *const purposes[] = {"console", "status", "act", "watch",
	                                       "report",  "stop",   NULL};
	bool ok = false;
	for (int i = 0; purposes[i] && purpose; i++)
		ok |= strcmp(purpose, purposes[i]) == 0;
	if (!ok) {
		fail_client(c, "hello: unknown purpose");
		return;
	}
	snprintf(c->purpose, sizeof c->purpose, "%s", purpose);
	const char *ssh = json_string_value(json_object_get(m, "ssh"));
	if (ssh) {
		/* "client-ip client-port server-ip server-port": the first two */
		char tmp[64];
		sr_sanitize(tmp, ssh, sizeof tmp);
		char *sp = strchr(tmp, ' ');
		if (sp && (sp = strchr(sp + 1, ' ')))
			*sp = '\0';
		snprintf(c->ssh, sizeof c->ssh, "%s", tmp);
	}
	if (json_is_true(json_object_get(m, "read_only")))
		c->read_only = c->asked_read_only = true;
	if (v->s->read_only)
		c->read_only = true; /* a read-only service acts for no one */
	welcome(c);
}

/* An action from a client: its identity is the kernel's, its rights the
 * policy's, read-only is refused here once, the dispatcher does the rest
 * exactly as for a key (and a scripted step). */
static void on_request(struct client *c, const json_t *m)
{
	struct service *v = c->svc;
	struct sr_runner *r = v->s->runner;
	json_t *jid = json_object_get(m, "id");
	json_int_t id = json_is_integer(jid) ? json_integer_value(jid) : 0;
	const char *name = json_string_value(json_object_get(m, "action"));
	const struct sr_action_def *d = name ? action_by_name(name) : NULL;
	struct sr_action_result res;
	memset(&res, 0, sizeof res);
	res.weight = -1;
	struct sr_action_request req;
	memset(&req, 0, sizeof req);
	if (!d) {
		res.outcome = SR_ACT_REFUSED;
		snprintf(res.message, sizeof res.message, "unknown action");
	} else if (c->read_only && !(d->flags & SR_AF_READONLY_OK) &&
	           !((d->flags & SR_AF_OBSERVER_OK) && !c->asked_read_only && !v->s->read_only)) {
		/* an observer's note goes on to the rights, which know whether
		 * the policy lets observers write one */
		res.outcome = SR_ACT_REFUSED;
		snprintf(res.message, sizeof res.message,
		         "read-only console: %s is not available (%s is attached read-only as %s)",
		         d->name, c->login, c->role);
	} else if (r->action_in_flight && (d->flags & SR_AF_MOVES_EDGE)) {
		res.outcome = SR_ACT_REFUSED;
		snprintf(res.message, sizeof res.message, "another action (%s by %s) is in flight",
		         sr_action_name(r->flight.req.kind), r->flight.req.actor);
	} else {
		req.kind = d->kind;
		wire_request_read(m, &req);
		sr_strlcpy(req.actor, c->login, sizeof req.actor);
		char fwhy[SR_TEXT_LEN * 2] = "";
		if (v->bastion &&
		    bastion_forward(v->bastion, c->id, (long long)id, &req, fwhy, sizeof fwhy))
			return; /* the leader answers (bastion hooks: on_forward_answer) */
		if (fwhy[0]) {
			res.outcome = SR_ACT_REFUSED;
			sr_strlcpy(res.message, fwhy, sizeof res.message);
		} else {
			action_dispatch(r, &req, &res);
			/* the report an action makes due, and its post, at once */
			session_workflow(v->s);
		}
	}
	if (res.outcome == SR_ACT_PENDING) {
		v->pending = true;
		v->pending_client = c->id;
		v->pending_id = (long)id;
	}
	send_msg(c, json_pack("{s:s, s:I, s:s, s:s, s:s, s:i}", "type", "result", "id", id,
	                      "action", d ? d->name : (name ? "?" : ""), "outcome",
	                      action_outcome_name(res.outcome), "message", res.message, "weight",
	                      res.weight));
}

static void service_stop(struct service *v, const char *why);

static void on_stop_request(struct client *c, const json_t *m)
{
	json_int_t id = json_integer_value(json_object_get(m, "id"));
	struct service *v = c->svc;
	const struct sr_policy *p = v->s->runner->policy;
	if (c->uid != getuid() && !rights_has_role(p, c->login, SR_ROLE_RELEASE_DRI)) {
		send_msg(c, json_pack("{s:s, s:I, s:s, s:s}", "type", "result", "id", id, "outcome",
		                      "refused", "message",
		                      "stop: only the release DRI or the service's owner may "
		                      "stop the rollout's service"));
		return;
	}
	char why[128];
	snprintf(why, sizeof why, "stopped by %s", c->login);
	send_msg(c, json_pack("{s:s, s:I, s:s, s:s}", "type", "result", "id", id, "outcome", "done",
	                      "message", why));
	service_stop(v, why);
}

static void on_message(struct client *c, json_t *m)
{
	const char *type = wire_type(m);
	if (!c->hello) {
		if (strcmp(type, "hello") == 0)
			on_hello(c, m);
		else
			fail_client(c, "say hello first");
		return;
	}
	if (strcmp(type, "request") == 0)
		on_request(c, m);
	else if (strcmp(type, "stop") == 0)
		on_stop_request(c, m);
	else if (strcmp(type, "bye") == 0)
		c->said_bye = true;
	else
		fail_client(c, "unknown message type");
}

/* 0 to go on; 1 when the client is gone (stop reading its messages). */
static int on_wire_message(void *ud, json_t *m)
{
	struct client *c = ud;
	on_message(c, m);
	return c->closing ? 1 : 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	static char buf[65536];
	(void)suggested;
	*b = uv_buf_init(buf, sizeof buf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct client *c = st->data;
	if (nread < 0) {
		client_close(c, nread == UV_EOF ? (c->said_bye ? "quit" : "connection lost")
		                                : "connection lost");
		return;
	}
	if (nread == 0)
		return;
	char err[256];
	if (wire_reader_drain(&c->rd, b->base, (size_t)nread, on_wire_message, c, err, sizeof err) <
	    0) {
		char why[300];
		snprintf(why, sizeof why, "protocol error: %s", err);
		fail_client(c, why);
	}
}

static void on_hello_timeout(uv_timer_t *t)
{
	struct client *c = t->data;
	if (!c->hello && !c->closing)
		fail_client(c, "no hello within 10 s");
}

static void on_connection(uv_stream_t *server, int status)
{
	struct service *v = server->data;
	if (status < 0)
		return;
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->svc = v;
	c->id = ++v->next_client_id;
	c->since = clock_real_ms();
	wire_reader_init(&c->rd, CLIENT_MSG_MAX);
	uv_pipe_init(v->loop, &c->pipe, 0);
	uv_timer_init(v->loop, &c->hello_timer);
	c->pipe.data = c->hello_timer.data = c;
	c->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
		uv_close((uv_handle_t *)&c->hello_timer, on_client_closed);
		return;
	}
	int n = 0;
	for (const struct client *o = v->clients; o; o = o->next)
		n++;
	c->next = v->clients;
	v->clients = c;
	if (n >= MAX_CLIENTS) {
		fail_client(c, "too many clients attached to this service");
		return;
	}
	uv_timer_start(&c->hello_timer, on_hello_timeout, HELLO_TIMEOUT_MS, 0);
	/* Who is it? The kernel says, not the client. */
	uv_os_fd_t fd;
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		fail_client(c, "cannot tell who is connecting (SO_PEERCRED)");
		return;
	}
	c->uid = cr.uid;
	c->pid = cr.pid;
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	gid_t gid = cr.gid;
	if (getpwuid_r(cr.uid, &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp) {
		sr_sanitize(c->login, pw.pw_name, sizeof c->login);
		gid = pw.pw_gid;
	} else {
		snprintf(c->login, sizeof c->login, "uid%u", (unsigned)cr.uid);
	}
	const char *role = role_of(v, c->login, cr.uid, gid, &c->read_only);
	if (!role) {
		char why[256];
		snprintf(why, sizeof why,
		         "%s may not attach to rollout %s: not on its roster and not an observer "
		         "(policy: roster, service.observers, service.observer_group)",
		         c->login, v->s->runner->policy->rollout);
		runner_log(v->s->runner, SR_LOG_INFO, SR_YELLOW, "",
		           "refused at connect: %s (uid %u)", c->login, (unsigned)cr.uid);
		fail_client(c, why);
		return;
	}
	snprintf(c->role, sizeof c->role, "%s", role);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ---- the cron and the change detector ------------------------------------ */

static void on_tick(uv_timer_t *t);

/* Arm the cron for the runner's next poll (its schedule: aligned to the
 * scrape, faster while a breach may build; poll_schedule.h): after each
 * tick and when a poll answers. */
static void arm_tick(struct service *v)
{
	if (v->stopping)
		return;
	uv_timer_start(&v->tick, on_tick,
	               runner_next_tick_delay(v->s->runner, service_now(v), v->clock.speed), 0);
}

static void on_polled(void *ud)
{
	arm_tick(ud);
}

static void on_tick(uv_timer_t *t)
{
	struct service *v = t->data;
	if (v->stopping)
		return;
	session_cron(v->s, service_now(v));
	arm_tick(v);
}

static void on_check(uv_check_t *h)
{
	struct service *v = h->data;
	struct sr_runner *r = v->s->runner;
	if (r->alarm) {
		r->alarm = false; /* the consoles ring, each once */
		v->alarms++;
		v->who_changed = true;
	}
	/* An edge action finished between ticks: its report and post now,
	 * and its result to whoever asked. */
	if (v->pending && !r->action_in_flight) {
		v->pending = false;
		session_workflow(v->s);
		for (struct client *c = v->clients; c; c = c->next) {
			if (c->id == v->pending_client && c->hello) {
				send_msg(c, json_pack("{s:s, s:I, s:s, s:s, s:s, s:i}", "type",
				                      "result", "id", (json_int_t)v->pending_id,
				                      "action", sr_action_name(r->flight.req.kind),
				                      "outcome",
				                      action_outcome_name(r->flight.result.outcome),
				                      "message", r->flight.result.message, "weight",
				                      r->flight.result.weight));
			}
		}
	}
	long wf = v->s->reporting ? v->s->reports.written * 1000003L : 0;
	if (v->s->notify) {
		const struct sr_notify_status *ns = notify_status(v->s->notify);
		wf += ns->posted * 31 + ns->failed * 17 + ns->queued * 7 + ns->failing;
	}
	if (wf != v->seen_wf) {
		v->seen_wf = wf;
		v->who_changed = true;
	}
	/* Not r->now alone: a console's own clock counts the seconds between
	 * states (the service's virtual now is in each one); a state is news
	 * when an evaluation, the log, the record, the history or who is
	 * attached changed. */
	if (r->nlog != v->seen_nlog || r->engine.evaluations != v->seen_evals ||
	    r->action_in_flight != v->seen_in_flight || r->engine.ro.changes != v->seen_changes ||
	    r->history.last != v->seen_hist || v->who_changed) {
		v->seen_nlog = r->nlog;
		v->seen_evals = r->engine.evaluations;
		v->seen_in_flight = r->action_in_flight;
		v->seen_changes = r->engine.ro.changes;
		v->seen_hist = r->history.last;
		v->who_changed = false;
		v->gen++;
		broadcast(v);
	}
	if (v->o->log_out)
		session_print_log(v->o->log_out, r, &v->log_mark, false);
	if (v->stopping && !r->action_in_flight)
		uv_stop(v->loop);
}

static void service_stop(struct service *v, const char *why)
{
	if (v->stopping)
		return;
	v->stopping = true;
	snprintf(v->stop_reason, sizeof v->stop_reason, "%s", why);
	runner_log(v->s->runner, SR_LOG_INFO, SR_YELLOW, "", "service: %s", why);
	if (v->s->runner->action_in_flight)
		runner_log(v->s->runner, SR_LOG_INFO, SR_YELLOW, "",
		           "service: waiting for the action in flight before stopping");
	uv_timer_stop(&v->tick);
	v->who_changed = true;
}

static void maybe_exit_with_last(struct service *v)
{
	if (!v->o->exit_with_last || v->nconsoles_ever == 0 || v->stopping)
		return;
	for (const struct client *c = v->clients; c; c = c->next)
		if (!c->closing && strcmp(c->purpose, "console") == 0)
			return;
	service_stop(v, "the simulator's service ends with its last console");
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct service *v = h->data;
	if (sig == SIGHUP)
		return; /* the service has no terminal to lose */
	char why[64];
	snprintf(why, sizeof why, "stopped by signal %d", sig);
	service_stop(v, why);
	v->exit_status = 0;
}

/* ---- leader or standby (the etcd store) ------------------------------------ */

static void on_forward_answer(void *ud, long client, long long msg_id, const char *action,
                              const char *outcome, const char *message, int weight)
{
	struct service *v = ud;
	for (struct client *c = v->clients; c; c = c->next)
		if (c->id == client && c->hello)
			send_msg(c, json_pack("{s:s, s:I, s:s, s:s, s:s, s:i}", "type", "result",
			                      "id", (json_int_t)msg_id, "action", action, "outcome",
			                      outcome, "message", message, "weight", weight));
	v->who_changed = true;
}

/* A simulator's virtual clock is the journal's: a standby shows the
 * leader's moment, and a new leader goes on from the last record. */
static void anchor_clock(struct service *v)
{
	struct sr_runner *r = v->s->runner;
	if (v->s->real || r->journal_last_at <= 0)
		return;
	sr_ms at = r->journal_last_at > r->now ? r->journal_last_at : r->now;
	clock_init(&v->clock, clock_real_ms(), at, v->clock.speed);
}

static void on_lead_changed(void *ud, enum sr_lead state, const char *why)
{
	struct service *v = ud;
	(void)why;
	if (state == SR_LEAD_LEADER) {
		anchor_clock(v);
		session_take_lead(v->s);
		anchor_clock(v); /* a drill's --start may have moved it on */
		arm_tick(v);
	}
	v->who_changed = true;
}

/* The mirror no longer matches the store: the simplest correct way to
 * read the rollout again is the way a restart does. The consoles
 * reattach on their own (they do after any lost service). */
static void on_reread(void *ud, const char *why)
{
	struct service *v = ud;
	runner_log(v->s->runner, SR_LOG_ACTION, SR_YELLOW, "",
	           "service: %s: restarting to read the rollout again from the store", why);
	session_print_log(v->o->log_out ? v->o->log_out : stdout, v->s->runner, &v->log_mark,
	                  false);
	v->restart = true;
	service_stop(v, "restarting: the journal is read again from the store");
}

static void on_lead_tick(uv_timer_t *t)
{
	struct service *v = t->data;
	if (v->stopping)
		return;
	bastion_tick(v->bastion);
	char badge[sizeof v->badge];
	bastion_badge(v->bastion, badge, sizeof badge);
	if (strcmp(badge, v->badge) != 0) {
		sr_strlcpy(v->badge, badge, sizeof v->badge);
		v->who_changed = true;
	}
	if (!bastion_leads(v->bastion))
		anchor_clock(v);
}

static int kept_argc;
static char **kept_argv;

void service_keep_argv(int argc, char **argv)
{
	kept_argc = argc;
	kept_argv = argv;
}

void service_reexec(void)
{
	if (!kept_argv)
		return;
	char **args = calloc((size_t)kept_argc + 1, sizeof *args);
	if (!args)
		return;
	int n = 0;
	for (int i = 0; i < kept_argc; i++)
		if (strcmp(kept_argv[i], "--detach") != 0)
			args[n++] = kept_argv[i];
	args[n] = NULL;
	fflush(NULL);
	execv("/proc/self/exe", args);
	free(args);
}

/* ---- start and end ----------------------------------------------------------- */

static int read_policy_text(struct service *v, char *err, size_t n)
{
	struct sr_policy_error pe;
	memset(&pe, 0, sizeof pe);
	/* the bytes the service loaded (its hash is in the journal) */
	if (jr_read_file(v->s->policy->path, &v->policy_text, &v->policy_len, &pe) != 0) {
		snprintf(err, n, "cannot read %.500s again: %s", v->s->policy->path, pe.msg);
		return -1;
	}
	return 0;
}

/* Another service on this socket? Then it is that one's; a socket file
 * nobody answers on is a leftover of a crash: removed. */
static int claim_socket(const char *path, char *err, size_t n)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, n, "a service already runs on %s (`shiproom attach --socket %s`)",
		         path, path);
		return -1;
	}
	if (e == ECONNREFUSED)
		unlink(path);
	return 0;
}

static int listen_socket(struct service *v, char *err, size_t n)
{
	const struct sr_service_policy *sp = &v->s->runner->policy->service;
	if (service_socket_dir(v->o->socket, err, n) != 0 ||
	    claim_socket(v->o->socket, err, n) != 0)
		return -1;
	uv_pipe_init(v->loop, &v->listener, 0);
	v->listener.data = v;
	/* Bind under a umask that lets no one in before the chmod below. */
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&v->listener, v->o->socket);
	umask(old);
	if (rc == 0) {
		mode_t mode = sp->mode ? (mode_t)sp->mode : (sp->group[0] ? 0660 : 0600);
		if (sp->group[0]) {
			struct group *g = getgrnam(sp->group);
			if (!g || chown(v->o->socket, (uid_t)-1, g->gr_gid) != 0) {
				snprintf(err, n, "socket group %s: %s", sp->group,
				         g ? strerror(errno) : "no such group");
				return -1;
			}
		}
		if (chmod(v->o->socket, mode) != 0) {
			snprintf(err, n, "chmod %s: %s", v->o->socket, strerror(errno));
			return -1;
		}
		rc = uv_listen((uv_stream_t *)&v->listener, 64, on_connection);
	}
	if (rc != 0) {
		snprintf(err, n, "cannot listen on %s: %s", v->o->socket, uv_strerror(rc));
		return -1;
	}
	return 0;
}

/* Closing a pipe drops what is still queued on it: a stop's answer (or
 * a console's "why") behind a big first state was never written, and
 * `stop` said the connection was lost. Every client is shut down after
 * its queue instead, and the service waits for them, at most this long
 * (one that does not read at all is not waited for beyond it). */
#define STOP_FLUSH_MS 3000

/* Nothing to do: the timer only wakes the loop, so that close_all's
 * wait sees the deadline even when no client answers. */
static void on_flush_deadline(uv_timer_t *t)
{
	(void)t;
}

static void close_all(struct service *v)
{
	/* no new client, no tick or beat while the last words go out */
	uv_close((uv_handle_t *)&v->listener, NULL);
	uv_close((uv_handle_t *)&v->tick, NULL);
	uv_close((uv_handle_t *)&v->beat, NULL);
	uv_close((uv_handle_t *)&v->check, NULL);
	uv_close((uv_handle_t *)&v->sigterm, NULL);
	uv_close((uv_handle_t *)&v->sigint, NULL);
	uv_close((uv_handle_t *)&v->sighup, NULL);
	if (v->bastion)
		uv_close((uv_handle_t *)&v->lead, NULL);
	struct client *c = v->clients;
	while (c) {
		struct client *next = c->next;
		fail_client(c, v->stop_reason[0] ? v->stop_reason : "the service stopped");
		c = next;
	}
	if (v->shutting > 0) {
		uint64_t until = uv_now(v->loop) + STOP_FLUSH_MS;
		uv_timer_init(v->loop, &v->flush);
		uv_timer_start(&v->flush, on_flush_deadline, STOP_FLUSH_MS, 0);
		while (v->shutting > 0 && uv_now(v->loop) < until)
			uv_run(v->loop, UV_RUN_ONCE);
		uv_close((uv_handle_t *)&v->flush, NULL);
	}
	/* let the handles close */
	for (int i = 0; i < 100 && uv_run(v->loop, UV_RUN_NOWAIT); i++)
		;
}

int service_run(struct sr_session *s, const struct sr_service_opts *o)
{
	static struct service svc;
	struct service *v = &svc;
	char err[1024];
	memset(v, 0, sizeof *v);
	v->s = s;
	v->o = o;
	v->loop = s->loop;
	double speed = s->real ? 1.0 : (o->speed > 0 ? o->speed : 1.0);
	clock_init(&v->clock, clock_real_ms(), s->real ? clock_real_ms() : s->runner->now, speed);
	if (read_policy_text(v, err, sizeof err) != 0 || listen_socket(v, err, sizeof err) != 0) {
		fprintf(stderr, "shiproom: serve: %s\n", err);
		free(v->policy_text);
		return SR_EXIT_RUNTIME;
	}
	uv_timer_init(v->loop, &v->tick);
	uv_timer_init(v->loop, &v->beat);
	v->beat.data = v;
	uv_check_init(v->loop, &v->check);
	uv_signal_init(v->loop, &v->sigterm);
	uv_signal_init(v->loop, &v->sigint);
	uv_signal_init(v->loop, &v->sighup);
	v->tick.data = v->check.data = v->sigterm.data = v->sigint.data = v->sighup.data = v;
	s->runner->on_polled = on_polled;
	s->runner->on_polled_ud = v;
	if (s->store) {
		struct sr_bastion_hooks hooks = {.ud = v,
		                                 .answer = on_forward_answer,
		                                 .changed = on_lead_changed,
		                                 .reread = on_reread};
		v->bastion = bastion_create(s, &hooks, err, sizeof err);
		if (!v->bastion) {
			fprintf(stderr, "shiproom: serve: %s\n", err);
			uv_close((uv_handle_t *)&v->listener, NULL);
			unlink(o->socket);
			free(v->policy_text);
			return SR_EXIT_RUNTIME;
		}
		uv_timer_init(v->loop, &v->lead);
		v->lead.data = v;
		bastion_badge(v->bastion, v->badge, sizeof v->badge);
		on_lead_tick(&v->lead); /* campaign now: a lone service leads at once */
		uint64_t every = (uint64_t)bastion_interval_ms(v->bastion);
		uv_timer_start(&v->lead, on_lead_tick, every, every);
	}
	uv_timer_start(&v->tick, on_tick, 0, 0); /* then arm_tick */
	uv_check_start(&v->check, on_check);
	uv_signal_start(&v->sigterm, on_signal, SIGTERM);
	uv_signal_start(&v->sigint, on_signal, SIGINT);
	uv_signal_start(&v->sighup, on_signal, SIGHUP);
	runner_log(s->runner, SR_LOG_INFO, SR_GREEN, "", "service: pid %d listening on %s%s",
	           (int)getpid(), o->socket,
	           o->exit_with_last ? " (a drill's service: it ends with its last console)" : "");
	if (o->ready_fd >= 0) {
		/* Detached: the terminal that started us may go at any moment;
		 * nothing of ours may depend on it. */
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = o->detach_log
		              ? open(o->detach_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
		              : -1;
		if (out < 0)
			out = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		if (in > 2)
			close(in);
		if (out > 2)
			close(out);
		dprintf(o->ready_fd, "ready %s\n", o->socket);
		close(o->ready_fd);
	}
	uv_run(v->loop, UV_RUN_DEFAULT);
	s->runner->on_polled = NULL;
	close_all(v);
	if (v->bastion) {
		/* the lease given back: a standby leads at once, not a TTL later */
		bastion_free(v->bastion);
		v->bastion = NULL;
	}
	if (v->restart) {
		unlink(o->socket);
		service_reexec();
	}
	unlink(o->socket);
	free(v->policy_text);
	free(v->core_text);
	return v->exit_status;
}
