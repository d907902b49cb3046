/* haproxy.c - the HAProxy edge: canary weights through the Runtime API.
 *
 * Why a driver of its own: HAProxy is the commonest self-hosted edge, and
 * its Runtime API is a plain text protocol on a socket, so it can run on
 * the libuv loop without blocking the console. Each command is one
 * connection (the API's non-interactive mode: HAProxy answers and closes),
 * so there is no session state to get wrong, and a timer bounds every
 * command so an unresponsive HAProxy turns into an error, never a hang.
 *
 * Three layers, bottom up:
 *   - pure reply parsers (fuzzed: tests/fuzz/fuzz_haproxy_reply.c);
 *   - conn: one command on one connection, with its timeout;
 *   - job: the sequence of commands behind set_weight / get_weight, each
 *     step started from the previous one's completion.
 * Callbacks to the caller always come from the loop, never from inside
 * the call that started the work.
 */
#include "shiproom/haproxy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* snprintf that may cut: messages are bounded on purpose. (Through a
 * va_list, so gcc's -Wformat-truncation does not second-guess it.) */
static void msgf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void msgf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

/* ---- pure reply parsing ------------------------------------------------ */

/* Length of the text before the blank terminator line, or -1 when there
 * is none. *after is set to where the terminator ends. */
static long reply_body(const char *buf, size_t len, size_t *after)
{
	size_t s = 0;
	while (s < len) {
		const char *nl = memchr(buf + s, '\n', len - s);
		if (!nl)
			return -1;
		size_t e = (size_t)(nl - buf);
		if (e == s || (e == s + 1 && buf[s] == '\r')) {
			*after = e + 1;
			/* the body excludes the newline that ended its last line */
			return s == 0 ? 0 : (long)s - 1;
		}
		s = e + 1;
	}
	return -1;
}

static bool all_space(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/* HAProxy's text as one line: lines joined by a space, indentation
 * dropped, then sanitised (it ends up on a terminal and in the journal). */
static void reply_text(const char *p, size_t len, char *err, size_t n)
{
	if (n == 0)
		return;
	size_t o = 0;
	bool line_start = true;
	for (size_t i = 0; i < len && o + 1 < n; i++) {
		char c = p[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			if (o > 0 && err[o - 1] != ' ')
				err[o++] = ' ';
			line_start = true;
			continue;
		}
		if (line_start && (c == ' ' || c == '\t'))
			continue;
		line_start = false;
		err[o++] = c == '\0' ? '?' : c;
	}
	while (o > 0 && err[o - 1] == ' ')
		o--;
	err[o] = '\0';
	sr_sanitize(err, err, n);
}

/* Shared framing check: body and its length, or -1 with err set. */
static int reply_frame(const char *buf, size_t len, size_t *blen, char *err, size_t n)
{
	size_t after = 0;
	long b = reply_body(buf, len, &after);
	if (b < 0) {
		if (len == 0 || all_space(buf, len)) {
			snprintf(err, n, "HAProxy closed the connection without a reply");
		} else {
			char t[200];
			reply_text(buf, len, t, sizeof t);
			snprintf(err, n, "reply without its blank terminator line: %s", t);
		}
		return -1;
	}
	if (!all_space(buf + after, len - after)) {
		char t[200];
		reply_text(buf, len, t, sizeof t);
		snprintf(err, n, "unexpected text after the reply: %s", t);
		return -1;
	}
	*blen = (size_t)b;
	return 0;
}

int haproxy_parse_set_reply(const char *buf, size_t len, char *err, size_t n)
{
	size_t blen;
	if (reply_frame(buf, len, &blen, err, n) < 0)
		return -1;
	if (blen > 0) {
		reply_text(buf, blen, err, n);
		if (err[0] == '\0')
			snprintf(err, n, "HAProxy answered with unprintable text");
		return -1;
	}
	return 0;
}

/* A decimal number of at most 6 digits at *p (weights are 0..256). */
static bool take_uint(const char **p, const char *end, int *out)
{
	const char *s = *p;
	int v = 0, nd = 0;
	while (s < end && *s >= '0' && *s <= '9' && nd < 6) {
		v = v * 10 + (*s - '0');
		s++;
		nd++;
	}
	if (nd == 0 || (s < end && *s >= '0' && *s <= '9'))
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool take_lit(const char **p, const char *end, const char *lit)
{
	size_t l = strlen(lit);
	if ((size_t)(end - *p) < l || memcmp(*p, lit, l) != 0)
		return false;
	*p += l;
	return true;
}

int haproxy_parse_weight_reply(const char *buf, size_t len, int *cur, int *initial, char *err,
                               size_t n)
{
	size_t blen;
	if (reply_frame(buf, len, &blen, err, n) < 0)
		return -1;
	const char *p = buf, *end = buf + blen;
	int c, i;
	if (take_uint(&p, end, &c) && take_lit(&p, end, " (initial ") && take_uint(&p, end, &i) &&
	    take_lit(&p, end, ")") && p == end) {
		*cur = c;
		*initial = i;
		return 0;
	}
	reply_text(buf, blen, err, n);
	if (err[0] == '\0')
		snprintf(err, n, "empty reply to get weight");
	return -1;
}

bool haproxy_state_in_maint(const struct haproxy_server_state *st)
{
	/* SRV_ADMF_FMAINT 0x01, IMAINT 0x02, RMAINT 0x20 (HAProxy's server.h);
	 * CMAINT 0x04 (config) and HMAINT 0x40 are maintenance too. */
	return (st->admin_state & (0x01 | 0x02 | 0x04 | 0x20 | 0x40)) != 0;
}

/* The next space-separated field of the line [*p, end). */
static bool next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	if (s >= end)
		return false;
	const char *e = s;
	while (e < end && *e != ' ')
		e++;
	*f = s;
	*flen = (size_t)(e - s);
	*p = e;
	return true;
}

static bool field_is(const char *f, size_t flen, const char *name)
{
	return strlen(name) == flen && memcmp(f, name, flen) == 0;
}

static bool field_int(const char *f, size_t flen, int *out)
{
	const char *p = f;
	return take_uint(&p, f + flen, out) && p == f + flen;
}

enum { COL_NAME, COL_OP, COL_ADMIN, COL_UW, COL_IW, NCOLS };
static const char *const col_names[NCOLS] = {"srv_name", "srv_op_state", "srv_admin_state",
                                             "srv_uweight", "srv_iweight"};

/* Column index of each wanted name in the "# be_id be_name ..." header. */
static bool state_header(const char *p, const char *end, int col[NCOLS])
{
	for (int k = 0; k < NCOLS; k++)
		col[k] = -1;
	if (!take_lit(&p, end, "# "))
		return false;
	const char *f;
	size_t flen;
	for (int idx = 0; idx < 1000 && next_field(&p, end, &f, &flen); idx++)
		for (int k = 0; k < NCOLS; k++)
			if (col[k] < 0 && field_is(f, flen, col_names[k]))
				col[k] = idx;
	for (int k = 0; k < NCOLS; k++)
		if (col[k] < 0)
			return false;
	return true;
}

/* Fill st from one data line if it names `server`; 1 found, 0 another
 * server, -1 malformed. */
static int state_line(const char *p, const char *end, const int col[NCOLS], const char *server,
                      struct haproxy_server_state *st)
{
	const char *f;
	size_t flen;
	int vals[NCOLS] = {0};
	bool seen[NCOLS] = {false};
	bool match = false;
	for (int idx = 0; idx < 1000 && next_field(&p, end, &f, &flen); idx++) {
		for (int k = 0; k < NCOLS; k++) {
			if (col[k] != idx)
				continue;
			seen[k] = true;
			if (k == COL_NAME)
				match = field_is(f, flen, server);
			else if (!field_int(f, flen, &vals[k]))
				return -1;
		}
	}
	for (int k = 0; k < NCOLS; k++)
		if (!seen[k])
			return -1;
	if (!match)
		return 0;
	st->op_state = vals[COL_OP];
	st->admin_state = vals[COL_ADMIN];
	st->uweight = vals[COL_UW];
	st->iweight = vals[COL_IW];
	return 1;
}

int haproxy_parse_servers_state(const char *buf, size_t len, const char *server,
                                struct haproxy_server_state *st, char *err, size_t n)
{
	size_t blen;
	if (reply_frame(buf, len, &blen, err, n) < 0)
		return -1;
	const char *p = buf, *end = buf + blen;
	const char *nl = memchr(p, '\n', blen);
	const char *l1end = nl ? nl : end;
	if (!(l1end - p == 1 && p[0] == '1')) {
		/* not format version 1: HAProxy's error text ("Can't find backend.") */
		reply_text(buf, blen, err, n);
		if (err[0] == '\0')
			snprintf(err, n, "empty reply to show servers state");
		return -1;
	}
	int col[NCOLS];
	p = nl ? nl + 1 : end;
	nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	if (p >= end || !state_header(p, nl ? nl : end, col)) {
		snprintf(err, n, "show servers state: missing or unknown column header");
		return -1;
	}
	p = nl ? nl + 1 : end;
	int line = 3;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int r = state_line(p, le, col, server, st);
		if (r < 0) {
			snprintf(err, n, "show servers state: malformed line %d", line);
			return -1;
		}
		if (r > 0)
			return 0;
		p = nl ? nl + 1 : end;
		line++;
	}
	char s[HAPROXY_NAME_LEN];
	sr_sanitize(s, server, sizeof s);
	snprintf(err, n, "show servers state: no server \"%s\" in the backend", s);
	return -1;
}

int haproxy_effective_weight(int canary, int stable, bool canary_maint)
{
	if (canary_maint || canary <= 0)
		return stable > 0 ? 0 : -1;
	if (stable < 0)
		stable = 0;
	int sum = canary + stable;
	return (200 * canary + sum) / (2 * sum);
}

/* ---- config --------------------------------------------------------------- */

/* Names go into command lines: only characters that cannot end one. */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

struct hap_addr {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_storage sa;
};

/* "unix:/path" or "tcp:A.B.C.D:PORT" / "tcp:[v6]:PORT". Names are not
 * resolved: a DNS lookup would be one more thing that can hang. */
static int parse_socket(const char *spec, struct hap_addr *a, char *err, size_t n)
{
	memset(a, 0, sizeof *a);
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		if (!*path) {
			snprintf(err, n, "/socket: empty unix socket path");
			return -1;
		}
		if (strlen(path) >= sizeof a->path) {
			snprintf(err, n, "/socket: unix socket path longer than %zu bytes",
			         sizeof a->path - 1);
			return -1;
		}
		a->is_unix = true;
		sr_strlcpy(a->path, path, sizeof a->path);
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) == 0) {
		const char *h = spec + 4;
		char host[64];
		const char *colon;
		bool v6 = h[0] == '[';
		if (v6) {
			const char *rb = strchr(h, ']');
			if (!rb || rb[1] != ':' || (size_t)(rb - h - 1) >= sizeof host)
				goto bad;
			memcpy(host, h + 1, (size_t)(rb - h - 1));
			host[rb - h - 1] = '\0';
			colon = rb + 1;
		} else {
			colon = strrchr(h, ':');
			if (!colon || (size_t)(colon - h) >= sizeof host)
				goto bad;
			memcpy(host, h, (size_t)(colon - h));
			host[colon - h] = '\0';
		}
		const char *ps = colon + 1;
		int port;
		if (!field_int(ps, strlen(ps), &port) || port < 1 || port > 65535)
			goto bad;
		int r = v6 ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&a->sa)
		           : uv_ip4_addr(host, port, (struct sockaddr_in *)&a->sa);
		if (r != 0)
			goto bad;
		return 0;
	}
bad:
	snprintf(err, n,
	         "/socket: expected \"unix:/path\" or \"tcp:IP:PORT\" (an IP address, not a name)");
	return -1;
}

static int cfg_string(const json_t *o, const char *key, bool required, char *out, size_t sz,
                      char *err, size_t n)
{
	const json_t *v = json_object_get(o, key);
	if (!v) {
		if (required) {
			snprintf(err, n, "/%s: missing (required for the haproxy edge)", key);
			return -1;
		}
		return 1;
	}
	if (!json_is_string(v)) {
		snprintf(err, n, "/%s: must be a string", key);
		return -1;
	}
	if (strlen(json_string_value(v)) >= sz) {
		snprintf(err, n, "/%s: longer than %zu bytes", key, sz - 1);
		return -1;
	}
	sr_strlcpy(out, json_string_value(v), sz);
	return 0;
}

int haproxy_config_from_json(struct sr_haproxy_config *c, const json_t *edge_obj, char *err,
                             size_t n)
{
	static const char *const keys[] = {
	    "kind", "socket", "backend", "canary_server", "stable_server", "timeout_ms", NULL};
	memset(c, 0, sizeof *c);
	c->timeout_ms = HAPROXY_TIMEOUT_DEFAULT_MS;
	if (!json_is_object(edge_obj)) {
		snprintf(err, n, ": the edge must be an object");
		return -1;
	}
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)edge_obj, key, v)
	{
		bool known = false;
		for (int i = 0; keys[i]; i++)
			known = known || strcmp(key, keys[i]) == 0;
		if (!known) {
			char k[SR_NAME_LEN];
			sr_sanitize(k, key, sizeof k);
			snprintf(err, n,
			         "/%s: unknown key (expected one of: kind, socket, backend, "
			         "canary_server, stable_server, timeout_ms)",
			         k);
			return -1;
		}
	}
	char kind[16] = "haproxy";
	if (cfg_string(edge_obj, "kind", false, kind, sizeof kind, err, n) < 0)
		return -1;
	if (strcmp(kind, "haproxy") != 0) {
		snprintf(err, n, "/kind: expected \"haproxy\"");
		return -1;
	}
	if (cfg_string(edge_obj, "socket", true, c->socket, sizeof c->socket, err, n) < 0)
		return -1;
	struct hap_addr a;
	if (parse_socket(c->socket, &a, err, n) < 0)
		return -1;
	static const char *const names[] = {"backend", "canary_server", "stable_server"};
	char *outs[] = {c->backend, c->canary_server, c->stable_server};
	for (int i = 0; i < 3; i++) {
		if (cfg_string(edge_obj, names[i], true, outs[i], HAPROXY_NAME_LEN, err, n) < 0)
			return -1;
		if (!name_ok(outs[i])) {
			snprintf(err, n, "/%s: only letters, digits and _ . : - are allowed",
			         names[i]);
			return -1;
		}
	}
	if (strcmp(c->canary_server, c->stable_server) == 0) {
		snprintf(err, n, "/canary_server: must differ from stable_server");
		return -1;
	}
	v = json_object_get(edge_obj, "timeout_ms");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 50 ||
		    json_integer_value(v) > 60000) {
			snprintf(err, n, "/timeout_ms: must be an integer from 50 to 60000");
			return -1;
		}
		c->timeout_ms = (int)json_integer_value(v);
	}
	return 0;
}

/* ---- connections: one command each ---------------------------------------- */

struct hap_conn;

struct hap_edge {
	struct sr_edge edge; /* the public face; edge.impl points back here */
	uv_loop_t *loop;
	struct sr_haproxy_config cfg;
	struct hap_addr addr;
	struct hap_conn *conns; /* in flight */
	bool destroyed;
	int busy; /* inside a callback: do not free yet */
};

struct hap_conn {
	struct hap_edge *he;
	struct hap_conn *next;
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} s;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_write_t write_req;
	char line[HAPROXY_CMD_LEN + 2];
	char *buf;
	size_t len, cap;
	int open_handles;
	bool done;
	bool internal; /* a job step: called even after destroy */
	int status;
	char err[SR_REASON_LEN];
	haproxy_cmd_cb cb;
	void *ud;
};

static void edge_maybe_free(struct hap_edge *he)
{
	if (he->destroyed && !he->conns && he->busy == 0)
		free(he);
}

static void conn_unlink(struct hap_conn *c)
{
	for (struct hap_conn **pp = &c->he->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

/* Both handles closed: now the caller may hear about it. */
static void conn_closed(uv_handle_t *h)
{
	struct hap_conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct hap_edge *he = c->he;
	conn_unlink(c);
	he->busy++;
	if (c->cb && (c->internal || !he->destroyed)) {
		if (c->status == 0)
			c->cb(c->ud, 0, c->buf ? c->buf : "", c->len, NULL);
		else
			c->cb(c->ud, c->status, NULL, 0, c->err);
	}
	he->busy--;
	free(c->buf);
	free(c);
	edge_maybe_free(he);
}

static void conn_finish(struct hap_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_finish(struct hap_conn *c, int status, const char *fmt, ...)
{
	if (c->done)
		return;
	c->done = true;
	c->status = status;
	if (fmt) {
		char msg[SR_REASON_LEN];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		msgf(c->err, sizeof c->err, "haproxy %s: %s", c->he->cfg.socket, msg);
		sr_sanitize(c->err, c->err, sizeof c->err);
	}
	uv_timer_stop(&c->timer);
	uv_close(&c->s.handle, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void conn_timeout(uv_timer_t *t)
{
	struct hap_conn *c = t->data;
	conn_finish(c, HAPROXY_ERR_TRANSPORT, "no complete reply within %d ms",
	            c->he->cfg.timeout_ms);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct hap_conn *c = h->data;
	(void)suggested;
	/* keep one byte for the terminating NUL */
	if (c->cap - c->len < 4096 + 1 && c->cap < HAPROXY_REPLY_MAX + 1) {
		size_t ncap = c->cap ? c->cap * 2 : 8192;
		if (ncap > HAPROXY_REPLY_MAX + 1)
			ncap = HAPROXY_REPLY_MAX + 1;
		char *nb = realloc(c->buf, ncap);
		if (nb) {
			c->buf = nb;
			c->cap = ncap;
		}
	}
	if (!c->buf || c->cap - c->len <= 1) {
		*b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
		return;
	}
	*b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len - 1));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct hap_conn *c = s->data;
	(void)b;
	if (c->done)
		return;
	if (nread > 0) {
		c->len += (size_t)nread;
		c->buf[c->len] = '\0';
		return;
	}
	if (nread == UV_EOF) {
		conn_finish(c, 0, NULL);
	} else if (nread == UV_ENOBUFS) {
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "reply larger than %u bytes",
		            HAPROXY_REPLY_MAX);
	} else if (nread < 0) {
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "read: %s", uv_strerror((int)nread));
	}
}

static void conn_written(uv_write_t *w, int status)
{
	struct hap_conn *c = w->data;
	if (status < 0 && !c->done)
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "write: %s", uv_strerror(status));
}

static void conn_connected(uv_connect_t *req, int status)
{
	struct hap_conn *c = req->data;
	if (c->done)
		return;
	if (status < 0) {
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "connect: %s", uv_strerror(status));
		return;
	}
	uv_buf_t b = uv_buf_init(c->line, (unsigned)strlen(c->line));
	c->write_req.data = c;
	int r = uv_write(&c->write_req, &c->s.stream, &b, 1, conn_written);
	if (r == 0)
		r = uv_read_start(&c->s.stream, conn_alloc, conn_read);
	if (r < 0)
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "write: %s", uv_strerror(r));
}

/* Start one command. Errors come back through cb, from the loop. */
static int conn_start(struct hap_edge *he, const char *line, bool internal, haproxy_cmd_cb cb,
                      void *ud)
{
	size_t ll = strlen(line);
	if (ll == 0 || ll > HAPROXY_CMD_LEN || strchr(line, '\n') || strchr(line, '\r'))
		return -1;
	struct hap_conn *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->he = he;
	c->internal = internal;
	c->cb = cb;
	c->ud = ud;
	memcpy(c->line, line, ll);
	c->line[ll] = '\n';
	c->line[ll + 1] = '\0';
	c->next = he->conns;
	he->conns = c;

	uv_timer_init(he->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	c->connect_req.data = c;
	int r;
	if (he->addr.is_unix) {
		uv_pipe_init(he->loop, &c->s.pipe, 0);
		c->s.handle.data = c;
		uv_pipe_connect(&c->connect_req, &c->s.pipe, he->addr.path, conn_connected);
		r = 0;
	} else {
		uv_tcp_init(he->loop, &c->s.tcp);
		c->s.handle.data = c;
		r = uv_tcp_connect(&c->connect_req, &c->s.tcp,
		                   (const struct sockaddr *)&he->addr.sa, conn_connected);
	}
	uv_timer_start(&c->timer, conn_timeout, (uint64_t)he->cfg.timeout_ms, 0);
	if (r < 0)
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "connect: %s", uv_strerror(r));
	return 0;
}

int haproxy_command(struct sr_edge *e, const char *line, haproxy_cmd_cb cb, void *ud)
{
	struct hap_edge *he = e->impl;
	if (he->destroyed)
		return -1;
	return conn_start(he, line, false, cb, ud);
}

/* ---- jobs: the command sequences behind the edge operations ---------------- */

enum step_kind { STEP_SET, STEP_GET_CANARY, STEP_GET_STABLE, STEP_STATE };

#define MAX_STEPS 8

struct hap_job {
	struct hap_edge *he;
	int nsteps, step;
	enum step_kind kind[MAX_STEPS];
	char line[MAX_STEPS][HAPROXY_CMD_LEN];
	bool is_set; /* verify the read-back against the target */
	int target;
	bool drain;
	int canary_w, stable_w;
	struct haproxy_server_state canary_st;
	sr_edge_cb cb;
	void *ud;
};

static void job_add(struct hap_job *j, enum step_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void job_add(struct hap_job *j, enum step_kind k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->line[j->nsteps], HAPROXY_CMD_LEN, fmt, ap);
	va_end(ap);
	j->kind[j->nsteps++] = k;
}

static void job_add_readback(struct hap_job *j)
{
	const struct sr_haproxy_config *c = &j->he->cfg;
	job_add(j, STEP_GET_CANARY, "get weight %s/%s", c->backend, c->canary_server);
	job_add(j, STEP_GET_STABLE, "get weight %s/%s", c->backend, c->stable_server);
	job_add(j, STEP_STATE, "show servers state %s", c->backend);
}

static void job_end(struct hap_job *j, int result, int weight, const char *err)
{
	if (!j->he->destroyed && j->cb)
		j->cb(j->ud, result, weight, err);
	free(j);
}

static void job_reply(void *ud, int status, const char *reply, size_t len, const char *err);

static void job_next(struct hap_job *j)
{
	if (conn_start(j->he, j->line[j->step], true, job_reply, j) < 0)
		job_end(j, HAPROXY_ERR_TRANSPORT, -1, "haproxy: could not start a command");
}

/* The sequence is done: report the read-back and check it. */
static void job_complete(struct hap_job *j)
{
	bool maint = haproxy_state_in_maint(&j->canary_st);
	int w = haproxy_effective_weight(j->canary_w, j->stable_w, maint);
	char msg[SR_REASON_LEN];
	if (w < 0) {
		msgf(msg, sizeof msg,
		     "haproxy %s: both %s and %s have weight 0: the backend sends traffic nowhere",
		     j->he->cfg.socket, j->he->cfg.canary_server, j->he->cfg.stable_server);
		job_end(j, HAPROXY_ERR_REFUSED, -1, msg);
		return;
	}
	if (j->is_set) {
		bool ok = j->canary_w == j->target && j->stable_w == 100 - j->target &&
		          (j->drain ? maint : (j->target == 0 || !maint));
		if (!ok) {
			snprintf(
			    msg, sizeof msg,
			    "haproxy read-back differs: %s weight %d%s, %s weight %d; expected "
			    "%d%s and %d",
			    j->he->cfg.canary_server, j->canary_w, maint ? " (maint)" : "",
			    j->he->cfg.stable_server, j->stable_w, j->target,
			    j->drain ? " (maint)" : "", 100 - j->target);
			job_end(j, HAPROXY_ERR_REFUSED, w, msg);
			return;
		}
	}
	job_end(j, 0, w, NULL);
}

static void job_reply(void *ud, int status, const char *reply, size_t len, const char *err)
{
	struct hap_job *j = ud;
	if (j->he->destroyed) {
		free(j);
		return;
	}
	if (status != 0) {
		job_end(j, status, -1, err);
		return;
	}
	char perr[SR_REASON_LEN], msg[SR_REASON_LEN + HAPROXY_CMD_LEN + 64];
	int r = 0, initial;
	switch (j->kind[j->step]) {
	case STEP_SET: r = haproxy_parse_set_reply(reply, len, perr, sizeof perr); break;
	case STEP_GET_CANARY:
		r = haproxy_parse_weight_reply(reply, len, &j->canary_w, &initial, perr,
		                               sizeof perr);
		break;
	case STEP_GET_STABLE:
		r = haproxy_parse_weight_reply(reply, len, &j->stable_w, &initial, perr,
		                               sizeof perr);
		break;
	case STEP_STATE:
		r = haproxy_parse_servers_state(reply, len, j->he->cfg.canary_server, &j->canary_st,
		                                perr, sizeof perr);
		break;
	}
	if (r < 0) {
		/* name the command HAProxy refused, then its words verbatim */
		snprintf(msg, sizeof msg, "haproxy refused \"%s\": %s", j->line[j->step], perr);
		sr_sanitize(msg, msg, SR_REASON_LEN);
		job_end(j, HAPROXY_ERR_REFUSED, -1, msg);
		return;
	}
	if (++j->step < j->nsteps)
		job_next(j);
	else
		job_complete(j);
}

static struct hap_job *job_new(struct hap_edge *he, sr_edge_cb cb, void *ud)
{
	struct hap_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->he = he;
	j->cb = cb;
	j->ud = ud;
	j->canary_w = j->stable_w = -1;
	return j;
}

/* A failure before any command started still reaches the caller from the
 * loop: run it as a command that cannot be sent. */
static void edge_fail_now(struct hap_edge *he, sr_edge_cb cb, void *ud, const char *msg);

/* The state-changing commands of a set_weight, in the order they are
 * sent: hap_set_weight sends them and hap_set_calls counts them. */
int haproxy_set_plan(const struct sr_haproxy_config *c, int weight, bool drain,
                     char lines[HAPROXY_SET_MAX][HAPROXY_CMD_LEN])
{
	int n = 0;
#define PLAN(...) snprintf(lines[n++], HAPROXY_CMD_LEN, __VA_ARGS__)
	if (drain) {
		/* Rollback: stable to 100 first (at 100 % it is at 0, and maint
		 * alone would leave nothing to serve), then maint, which stops
		 * the canary taking traffic - sticky sessions included - and only
		 * then its weight. */
		PLAN("set server %s/%s weight 100", c->backend, c->stable_server);
		PLAN("set server %s/%s state maint", c->backend, c->canary_server);
		PLAN("set server %s/%s weight 0", c->backend, c->canary_server);
	} else if (weight >= 50) {
		/* Raise before lowering: the server getting the larger weight is
		 * set first, so the two are never both 0 (HAProxy would answer
		 * 503 to everyone in between). */
		PLAN("set server %s/%s weight %d", c->backend, c->canary_server, weight);
		PLAN("set server %s/%s weight %d", c->backend, c->stable_server, 100 - weight);
	} else {
		PLAN("set server %s/%s weight %d", c->backend, c->stable_server, 100 - weight);
		PLAN("set server %s/%s weight %d", c->backend, c->canary_server, weight);
	}
	/* Back from a rollback: the weight alone would not reach a maint server. */
	if (weight > 0)
		PLAN("set server %s/%s state ready", c->backend, c->canary_server);
#undef PLAN
	return n;
}

static int hap_set_calls(const struct sr_edge *e, int weight, bool drain)
{
	const struct hap_edge *he = e->impl;
	char lines[HAPROXY_SET_MAX][HAPROXY_CMD_LEN];
	return haproxy_set_plan(&he->cfg, weight, drain, lines);
}

static void hap_set_weight(struct sr_edge *e, int weight, bool drain, const char *idem_key,
                           sr_edge_cb cb, void *ud)
{
	struct hap_edge *he = e->impl;
	const struct sr_haproxy_config *c = &he->cfg;
	(void)idem_key; /* absolute weights and states are idempotent by nature */
	if (weight < 0 || weight > 100 || (drain && weight != 0)) {
		edge_fail_now(he, cb, ud, "haproxy: weight must be 0..100 (and 0 for a rollback)");
		return;
	}
	struct hap_job *j = job_new(he, cb, ud);
	if (!j) {
		edge_fail_now(he, cb, ud, "haproxy: out of memory");
		return;
	}
	j->is_set = true;
	j->target = weight;
	j->drain = drain;
	char lines[HAPROXY_SET_MAX][HAPROXY_CMD_LEN];
	int n = haproxy_set_plan(c, weight, drain, lines);
	for (int i = 0; i < n; i++)
		job_add(j, STEP_SET, "%s", lines[i]);
	job_add_readback(j);
	job_next(j);
}

static void hap_get_weight(struct sr_edge *e, sr_edge_cb cb, void *ud)
{
	struct hap_edge *he = e->impl;
	struct hap_job *j = job_new(he, cb, ud);
	if (!j) {
		edge_fail_now(he, cb, ud, "haproxy: out of memory");
		return;
	}
	job_add_readback(j);
	job_next(j);
}

/* The deferred failure: a timer of 0 ms carries it to the loop. */
struct hap_fail {
	uv_timer_t t;
	struct hap_edge *he;
	sr_edge_cb cb;
	void *ud;
	char msg[SR_REASON_LEN];
};

static void fail_closed(uv_handle_t *h)
{
	struct hap_fail *f = h->data;
	struct hap_edge *he = f->he;
	he->busy--;
	if (!he->destroyed && f->cb) {
		he->busy++;
		f->cb(f->ud, HAPROXY_ERR_REFUSED, -1, f->msg);
		he->busy--;
	}
	free(f);
	edge_maybe_free(he);
}

static void fail_fire(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, fail_closed);
}

static void edge_fail_now(struct hap_edge *he, sr_edge_cb cb, void *ud, const char *msg)
{
	struct hap_fail *f = calloc(1, sizeof *f);
	if (!f)
		return;
	f->he = he;
	f->cb = cb;
	f->ud = ud;
	sr_strlcpy(f->msg, msg, sizeof f->msg);
	he->busy++; /* keeps the edge alive until the message is delivered */
	uv_timer_init(he->loop, &f->t);
	f->t.data = f;
	uv_timer_start(&f->t, fail_fire, 0, 0);
}

static void hap_destroy(struct sr_edge *e)
{
	if (!e)
		return;
	struct hap_edge *he = e->impl;
	he->destroyed = true;
	for (struct hap_conn *c = he->conns; c; c = c->next)
		conn_finish(c, HAPROXY_ERR_TRANSPORT, "edge destroyed");
	edge_maybe_free(he);
}

static const struct sr_edge_ops hap_ops = {
    .name = "haproxy",
    .set_weight = hap_set_weight,
    .get_weight = hap_get_weight,
    .destroy = hap_destroy,
    .set_calls = hap_set_calls,
};

struct sr_edge *haproxy_edge_create(uv_loop_t *loop, const struct sr_haproxy_config *c, char *err,
                                    size_t n)
{
	struct hap_addr a;
	if (parse_socket(c->socket, &a, err, n) < 0)
		return NULL;
	if (!name_ok(c->backend) || !name_ok(c->canary_server) || !name_ok(c->stable_server)) {
		snprintf(err, n, "haproxy: backend and server names must be [A-Za-z0-9_.:-]+");
		return NULL;
	}
	struct hap_edge *he = calloc(1, sizeof *he);
	if (!he) {
		snprintf(err, n, "haproxy: out of memory");
		return NULL;
	}
	he->loop = loop;
	he->cfg = *c;
	if (he->cfg.timeout_ms <= 0)
		he->cfg.timeout_ms = HAPROXY_TIMEOUT_DEFAULT_MS;
	he->addr = a;
	he->edge.call_ms = he->cfg.timeout_ms;
	he->edge.ops = &hap_ops;
	he->edge.impl = he;
	return &he->edge;
}
