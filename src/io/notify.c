/* notify.c - #ship-room updates through a Slack/Mattermost incoming webhook.
 *
 * Why it looks like this (notify.h has the what):
 *
 *   - It watches, it does not get told. notify_tick() compares the runner's
 *     state with what it saw at the previous tick (cell statuses, trigger
 *     states, the rollout record, new log lines) and posts the differences.
 *     So the runner needs one call added and nothing else; a replayed
 *     scenario posts the same things at the same virtual times.
 *   - Cadence is counted from when the phase was entered, in the runner's
 *     time, so "every 15 minutes at 5%" is T+15, T+30, ... of the phase,
 *     under the simulator's fast clock as in production.
 *   - Delivery is one post at a time, in order (a chat room reads top to
 *     bottom), through the shared libcurl-on-libuv client. Retries wait on
 *     a uv_timer, never in a loop: the console keeps drawing while a dead
 *     webhook times out. The queue is bounded, so a webhook down for a day
 *     costs a fixed amount of memory.
 *   - The URL is a secret (it is the credential): it is kept here only,
 *     and every error text that reaches the log is scrubbed of it.
 */
#include "shiproom/notify.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/calendar.h"
#include "shiproom/clock.h"
#include "shiproom/report.h"
#include "shiproom/rights.h"
#include "shiproom/secret.h"

#define MAX_LINES 12
#define LINE_LEN (SR_TEXT_LEN * 2)

struct msg {
	struct msg *next;
	enum sr_notify_kind kind;
	char *body;
	size_t len;
	int attempts;
};

struct sr_notify {
	uv_loop_t *loop;
	struct sr_http *http;
	char url[SR_NOTIFY_URL_MAX];
	char host[256]; /* for scrubbing error texts */
	char path[SR_NOTIFY_URL_MAX];
	struct sr_notify_options opt;
	char username[SR_NAME_LEN];
	struct sr_runner *runner; /* for logging from callbacks */

	uv_timer_t timer;        /* the retry wait */
	bool waiting;            /* the timer is armed for the head */
	struct sr_http_req *req; /* the head is in flight */
	struct msg *head, *tail;
	int qlen;
	struct sr_notify_status st;
	sr_notify_event_cb cb;
	void *cb_ud;

	/* What the previous tick saw. */
	bool primed;
	int phase; /* for the cadence */
	sr_ms phase_entered;
	sr_ms next_update; /* 0: no cadence running */
	enum sr_status cell_prev[SR_MAX_CELLS];
	bool cell_posted[SR_MAX_CELLS];
	sr_ms cell_posted_at[SR_MAX_CELLS];
	enum sr_trig_state trig_prev[SR_MAX_TRIGGERS];
	sr_ms edge_prev;  /* engine.edge_anomaly_since as last seen */
	sr_ms store_prev; /* engine.store_down_since as last seen */
	bool trig_posted[SR_MAX_TRIGGERS];
	sr_ms trig_posted_at[SR_MAX_TRIGGERS];
	int ro_phase;
	bool ro_held, ro_rolled_back, ro_success, ro_tiebreak;
	int ro_approvals[SR_MAX_GATES];
	int ro_notes; /* notes already posted */
	bool gate_posted[SR_MAX_GATES];
	int log_seen;
};

const char *notify_kind_name(enum sr_notify_kind k)
{
	switch (k) {
	case SR_NOTIFY_UPDATE: return "update";
	case SR_NOTIFY_ANOMALY: return "anomaly";
	case SR_NOTIFY_ACTION: return "action";
	case SR_NOTIFY_GATE: return "gate";
	case SR_NOTIFY_MANUAL: return "manual";
	case SR_NOTIFY_KIND_COUNT: break;
	}
	return "?";
}

static void textf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* ---- the secret --------------------------------------------------------------------- */

/* http(s)://[user[:password]@]host[:port]/...: split out host and path (for
 * scrubbing); false when it is not such a URL. Parsed by libcurl's URL
 * API, so the host is the one libcurl will connect to ("user" is not the
 * host of https://user:pw@host/). No byte may be a space or control. */
static bool url_parse(const char *url, char *host, size_t hn, char *path, size_t pn)
{
	for (const unsigned char *c = (const unsigned char *)url; *c; c++)
		if (*c <= 0x20 || *c == 0x7F)
			return false;
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *pa = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	          curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	          (!strcmp(scheme, "http") || !strcmp(scheme, "https")) &&
	          curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h[0] &&
	          curl_url_get(u, CURLUPART_PATH, &pa, 0) == CURLUE_OK && strlen(h) < hn;
	if (ok) {
		sr_strlcpy(host, h, hn);
		sr_strlcpy(path, pa, pn);
	}
	curl_free(scheme);
	curl_free(h);
	curl_free(pa);
	curl_url_cleanup(u);
	return ok;
}

static int url_check(const char *url, char *err, size_t en, const char *from)
{
	char host[256], path[SR_NOTIFY_URL_MAX];
	if (strlen(url) >= SR_NOTIFY_URL_MAX) {
		textf(err, en, "%s: the webhook URL is longer than %d bytes", from,
		      SR_NOTIFY_URL_MAX - 1);
		return -1;
	}
	if (!url_parse(url, host, sizeof host, path, sizeof path)) {
		/* Never echo the value: it may be the secret, mistyped. */
		textf(err, en, "%s: not an http:// or https:// URL (value not shown)", from);
		return -1;
	}
	return 0;
}

int notify_url_from_file(const char *path, char *url, size_t n, char *err, size_t en)
{
	char buf[SR_NOTIFY_URL_MAX + 2], clean[512];
	sr_sanitize(clean, path, sizeof clean);
	if (secret_read_file(path, "webhook file", buf, sizeof buf, err, en) != 0)
		return -1;
	int rc = url_check(buf, err, en, clean);
	if (rc == 0 && !sr_strlcpy(url, buf, n)) {
		textf(err, en, "%s: the webhook URL does not fit", clean);
		rc = -1;
	}
	explicit_bzero(buf, sizeof buf);
	return rc;
}

int notify_url_from_env(const char *var, char *url, size_t n, char *err, size_t en)
{
	const char *name = var ? var : SR_NOTIFY_ENV;
	const char *v = getenv(name);
	if (!v || !*v) {
		textf(err, en, "%s is not set", name);
		return -1;
	}
	if (url_check(v, err, en, name) != 0)
		return -1;
	if (!sr_strlcpy(url, v, n)) {
		textf(err, en, "%s: the webhook URL does not fit", name);
		return -1;
	}
	return 0;
}

/* Replace every occurrence of `what` in buf with `with` (in place). */
static void replace_all(char *buf, size_t n, const char *what, const char *with)
{
	size_t wl = strlen(what), rl = strlen(with);
	if (wl == 0)
		return;
	char *p = buf;
	while ((p = strstr(p, what)) != NULL) {
		size_t tail = strlen(p + wl);
		if ((size_t)(p - buf) + rl + tail + 1 > n)
			tail = n - 1 - (size_t)(p - buf) - rl;
		memmove(p + rl, p + wl, tail);
		memcpy(p, with, rl);
		p[rl + tail] = '\0';
		p += rl;
	}
}

/* An error text fit for the log: sanitised, no part of the URL. */
static void scrub(const struct sr_notify *n, const char *in, char *out, size_t on)
{
	sr_sanitize(out, in ? in : "", on);
	replace_all(out, on, n->url, "<webhook>");
	if (strlen(n->path) > 1)
		replace_all(out, on, n->path, "<webhook path>");
	if (n->host[0])
		replace_all(out, on, n->host, "<webhook host>");
	/* and every other secret loaded: userinfo, query, other drivers' tokens */
	secret_scrub(out, on);
}

/* ---- escaping and the payload ------------------------------------------------------------- */

/* Part of an e-mail address or a word: an @ after it is not a mention. */
static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+';
}

size_t notify_escape(char *dst, size_t n, const char *src)
{
	size_t slen = strlen(src);
	char *clean = malloc(slen + 1);
	size_t o = 0;
	if (!clean) {
		if (n > 0)
			dst[0] = '\0';
		return 0;
	}
	sr_sanitize(clean, src, slen + 1);
	for (const char *s = clean; *s; s++) {
		const char *rep = NULL;
		char one[2] = {*s, '\0'};
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '@':
			/* "@channel", "@here", "@all": a word joiner (U+2060)
			 * after the @ keeps the text and pages nobody. */
			if ((s == clean || !word_char(s[-1])) &&
			    ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')))
				rep = "@\xe2\x81\xa0";
			break;
		default: break;
		}
		for (const char *c = rep ? rep : one; *c; c++, o++)
			if (o + 1 < n)
				dst[o] = *c;
	}
	if (n > 0)
		dst[o < n ? o : n - 1] = '\0';
	free(clean);
	return o;
}

static json_t *jesc(const char *s)
{
	size_t need = notify_escape(NULL, 0, s ? s : "");
	char *buf = malloc(need + 1);
	if (!buf)
		return json_string("");
	notify_escape(buf, need + 1, s ? s : "");
	json_t *j = json_string(buf);
	free(buf);
	return j ? j : json_string("");
}

/* Escape each part and join them with `sep` (not escaped): malloc'd. The
 * first part is prefixed by nothing, the others by sep; with sep "\n- "
 * the lines after the first read as a list. */
static char *join_escaped(const char *const *parts, int n, const char *sep)
{
	size_t total = 1, sl = strlen(sep);
	for (int i = 0; i < n; i++)
		total += notify_escape(NULL, 0, parts[i]) + sl;
	char *out = malloc(total);
	if (!out)
		return NULL;
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(out + o, sep, sl);
			o += sl;
		}
		o += notify_escape(out + o, total - o, parts[i]);
	}
	out[o] = '\0';
	return out;
}

static json_t *field(const char *title, const char *value, bool is_short)
{
	return json_pack("{s:o, s:o, s:b}", "title", jesc(title), "value", jesc(value), "short",
	                 is_short);
}

static const char *color_of(const struct sr_runner *r, enum sr_notify_kind kind)
{
	const char *word = report_decision_word(r);
	if (kind == SR_NOTIFY_ANOMALY || strcmp(word, "ROLLBACK") == 0)
		return "#A30200"; /* red */
	if (strcmp(word, "GO") == 0)
		return "#2EB886"; /* green */
	return "#DAA038";         /* amber: NO-GO */
}

static void kind_title(enum sr_notify_kind k, char *buf, size_t n)
{
	switch (k) {
	case SR_NOTIFY_UPDATE: textf(buf, n, "Update"); return;
	case SR_NOTIFY_ANOMALY: textf(buf, n, "ANOMALY"); return;
	case SR_NOTIFY_ACTION: textf(buf, n, "Action"); return;
	case SR_NOTIFY_GATE: textf(buf, n, "Gate"); return;
	case SR_NOTIFY_MANUAL:
	case SR_NOTIFY_KIND_COUNT: textf(buf, n, "Status"); return;
	}
}

/* "27 gating checks: 26 GREEN, 1 RED" - the non-zero counts only. */
static void checks_text(const struct sr_runner *r, char *buf, size_t n)
{
	const struct sr_policy *p = r->policy;
	int count[SR_STATUS_COUNT] = {0}, gating = 0;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (!k->gating || k->kind == SR_KIND_MONITOR)
			continue;
		gating++;
		count[r->engine.cells[i].status]++;
	}
	size_t o = (size_t)snprintf(buf, n, "%d gating:", gating);
	for (int s = SR_STATUS_COUNT - 1; s >= 0 && o < n; s--)
		if (count[s])
			o += (size_t)snprintf(buf + o, n - o, " %d %s", count[s],
			                      sr_status_name((enum sr_status)s));
}

static void triggers_text(const struct sr_runner *r, char *buf, size_t n)
{
	const struct sr_policy *p = r->policy;
	size_t o = 0;
	buf[0] = '\0';
	for (int t = 0; t < p->ntriggers && o < n; t++) {
		enum sr_trig_state s = r->engine.triggers[t].state;
		if (s == SR_TRIG_ARMED)
			continue;
		o += (size_t)snprintf(buf + o, n - o, "%s%s %s", o ? "; " : "", p->triggers[t].id,
		                      trigger_state_name(s));
	}
	if (o == 0)
		snprintf(buf, n, "none firing");
}

static void next_gate_text(const struct sr_runner *r, char *buf, size_t n)
{
	const struct sr_policy *p = r->policy;
	sr_ms due = 0;
	int g = rollout_next_gate(&r->engine.ro, p, &due);
	if (g < 0) {
		snprintf(buf, n, "none ahead");
		return;
	}
	char when[48], appr[SR_REASON_LEN];
	engine_fmt_when(&r->engine, due, when, sizeof when);
	if (rights_approvals_text(&r->engine, NULL, appr, sizeof appr) > 0)
		textf(buf, n, "%s at %s; %s", p->gates[g].name, when, appr);
	else
		textf(buf, n, "%s at %s%s", p->gates[g].name, when,
		      p->gates[g].pre_approved ? " (pre-approved when GO)"
		                               : "; approvals complete");
}

static char *payload(const struct sr_runner *r, enum sr_notify_kind kind, const char *headline,
                     const char *const *lines, int nlines, sr_ms now, const char *username)
{
	const struct sr_policy *p = r->policy;
	const struct sr_engine *e = &r->engine;
	const struct sr_decision *d = &e->decision;
	char when[48], kt[16], head[LINE_LEN], buf[LINE_LEN];
	engine_fmt_when(e, now, when, sizeof when);
	kind_title(kind, kt, sizeof kt);
	textf(head, sizeof head, "[%s] %s %s: %s", p->rollout, kt, when, headline ? headline : "");

	/* "text" carries everything that matters, for clients that show
	 * only it; the attachment adds the state as fields. Each piece is
	 * escaped on its own (sanitising would turn the joining newlines into
	 * '?'), then joined. */
	const char *parts[MAX_LINES + 1];
	int np = 0;
	parts[np++] = head;
	for (int i = 0; i < nlines && np < MAX_LINES + 1; i++)
		parts[np++] = lines[i];
	char *text = join_escaped(parts, np, "\n- ");
	if (!text)
		return NULL;

	json_t *fields = json_array();
	const char *ph = e->ro.phase >= 0 && e->ro.phase < p->nphases ? p->phases[e->ro.phase].name
	                                                              : "pre-flight";
	textf(buf, sizeof buf, "%s (canary weight %d%%), %s", ph, e->ro.weight,
	      rollout_state_name(rollout_state(&e->ro, p, now)));
	json_array_append_new(fields, field("Phase", buf, true));
	json_array_append_new(fields, field("Decision", report_decision_word(r), true));
	checks_text(r, buf, sizeof buf);
	json_array_append_new(fields, field("Checks", buf, true));
	triggers_text(r, buf, sizeof buf);
	json_array_append_new(fields, field("Rollback triggers", buf, true));
	next_gate_text(r, buf, sizeof buf);
	json_array_append_new(fields, field("Next gate", buf, false));
	struct sr_status_tile tile;
	report_status_tile(r, &tile);
	textf(buf, sizeof buf, "%s (%s): %s", sr_status_name(tile.color), tile.headline,
	      tile.reason);
	json_array_append_new(fields, field("Status page", buf, false));

	char title[LINE_LEN];
	textf(title, sizeof title, "%s%s%s", report_decision_word(r), d->nreasons ? ": " : "",
	      d->nreasons ? d->reasons[0] : "");
	const char *rs[SR_MAX_REASONS];
	int nr = 0;
	for (int i = 1; i < d->nreasons && i < SR_MAX_REASONS; i++)
		rs[nr++] = d->reasons[i];
	char *reasons = join_escaped(rs, nr, "\n");
	if (!reasons) {
		free(text);
		json_decref(fields);
		return NULL;
	}
	char footer[32];
	textf(footer, sizeof footer, "shiproom %s", notify_kind_name(kind));

	json_t *att = json_object();
	json_object_set_new(att, "fallback", jesc(head));
	json_object_set_new(att, "color", json_string(color_of(r, kind)));
	json_object_set_new(att, "title", jesc(title));
	json_object_set_new(att, "text", json_string(nr > 0 ? reasons : ""));
	json_object_set_new(att, "fields", fields);
	json_object_set_new(att, "footer", json_string(footer));
	json_object_set_new(att, "ts", json_integer((json_int_t)(now / SR_MS_PER_S)));
	json_t *root = json_object();
	json_t *jt = json_string(text);
	json_object_set_new(root, "text", jt ? jt : json_string(""));
	if (username && username[0])
		json_object_set_new(root, "username", jesc(username));
	json_object_set_new(root, "attachments", json_pack("[o]", att));
	free(text);
	free(reasons);
	char *out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(root);
	return out;
}

char *notify_payload(const struct sr_runner *r, enum sr_notify_kind kind, const char *headline,
                     const char *const *lines, int nlines, sr_ms now)
{
	return payload(r, kind, headline, lines, nlines, now, "shiproom");
}

/* ---- the queue and delivery ------------------------------------------------------------------ */

static void nlog(struct sr_notify *n, enum sr_status sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void nlog(struct sr_notify *n, enum sr_status sev, const char *fmt, ...)
{
	if (!n->runner)
		return;
	char text[SR_REASON_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	runner_log(n->runner, SR_LOG_INFO, sev, "", "%s", text);
}

static void msg_free(struct msg *m)
{
	if (m) {
		free(m->body);
		free(m);
	}
}

static bool head_busy(const struct sr_notify *n)
{
	return n->req != NULL || n->waiting;
}

static struct msg *pop_head(struct sr_notify *n)
{
	struct msg *m = n->head;
	if (!m)
		return NULL;
	n->head = m->next;
	if (!n->head)
		n->tail = NULL;
	n->qlen--;
	n->st.queued = n->qlen;
	return m;
}

static void pump(struct sr_notify *n);

static void give_up(struct sr_notify *n, const char *why)
{
	struct msg *m = pop_head(n);
	n->st.failed++;
	nlog(n, SR_RED, "webhook: %s post dropped after %d attempt%s: %s",
	     m ? notify_kind_name(m->kind) : "?", m ? m->attempts : 0,
	     m && m->attempts == 1 ? "" : "s", why);
	if (n->cb && m)
		n->cb(n->cb_ud, m->kind, false, m->attempts, why);
	msg_free(m);
}

static void on_timer(uv_timer_t *t)
{
	struct sr_notify *n = t->data;
	n->waiting = false;
	pump(n);
}

/* A failed attempt of the head: retry later or give up. server_wait_ms
 * (>= 0) is the server's Retry-After, already bounded
 * (http_retry_after_ms): the back-off never retries sooner; -1: none. */
static void attempt_failed(struct sr_notify *n, const char *why, bool retryable,
                           long server_wait_ms)
{
	struct msg *m = n->head;
	n->st.failing = true;
	n->st.consecutive_failures++;
	sr_strlcpy(n->st.last_error, why, sizeof n->st.last_error);
	if (!m)
		return;
	if (!retryable || m->attempts >= n->opt.max_attempts) {
		give_up(n, why);
		return;
	}
	long wait = n->opt.backoff_ms;
	for (int i = 1; i < m->attempts && wait < n->opt.backoff_max_ms; i++)
		wait *= 2;
	if (wait > n->opt.backoff_max_ms)
		wait = n->opt.backoff_max_ms;
	bool server = server_wait_ms >= wait;
	if (server)
		wait = server_wait_ms;
	n->st.retries++;
	if (m->attempts == 1 || server) {
		char w[24];
		sr_fmt_duration(w, sizeof w, wait);
		nlog(n, SR_YELLOW,
		     "webhook: %s post failed (%s); retrying in %s%s, up to %d attempts",
		     notify_kind_name(m->kind), why, w, server ? " (the server's Retry-After)" : "",
		     n->opt.max_attempts);
	}
	n->waiting = true;
	uv_timer_start(&n->timer, on_timer, (uint64_t)wait, 0);
}

int notify_answer(const struct sr_http_response *res, long long now_ms, char *why, size_t n,
                  bool *retryable, long *server_wait_ms)
{
	*retryable = false;
	*server_wait_ms = -1;
	if (n > 0)
		why[0] = '\0';
	if (!res->error && res->status >= 200 && res->status < 300)
		return 0;
	if (res->error) {
		textf(why, n, "%s", res->error);
	} else {
		/* Slack answers e.g. 404 "no_service", 400 "invalid_payload". */
		char body[64] = "";
		if (res->body && res->len > 0)
			sr_sanitize(body, res->body, sizeof body);
		textf(why, n, "HTTP %ld %s%s%s", res->status, res->reason ? res->reason : "",
		      body[0] ? ": " : "", body);
	}
	sr_sanitize(why, why, n);
	*retryable = res->error != NULL || res->status >= 500 || res->status == 429;
	if (!res->error && (res->status == 429 || res->status == 503))
		*server_wait_ms = http_retry_after_ms(res->retry_after, now_ms,
		                                      SR_RETRY_AFTER_MAX_MS);
	return -1;
}

static void on_response(void *ud, const struct sr_http_response *res)
{
	struct sr_notify *n = ud;
	n->req = NULL;
	n->st.in_flight = false;
	char raw[SR_REASON_LEN], why[SR_REASON_LEN];
	bool retryable;
	long server_wait;
	if (notify_answer(res, clock_real_ms(), raw, sizeof raw, &retryable, &server_wait) == 0) {
		if (n->st.failing && n->st.consecutive_failures > 0)
			nlog(n, SR_GREEN, "webhook: delivering again after %d failed attempt%s",
			     n->st.consecutive_failures,
			     n->st.consecutive_failures == 1 ? "" : "s");
		n->st.failing = false;
		n->st.consecutive_failures = 0;
		n->st.posted++;
		n->st.last_ok_at = n->runner ? n->runner->now : 0;
		struct msg *done = pop_head(n);
		if (n->cb && done)
			n->cb(n->cb_ud, done->kind, true, done->attempts, NULL);
		msg_free(done);
		pump(n);
		return;
	}
	scrub(n, raw, why, sizeof why);
	attempt_failed(n, why, retryable, server_wait);
	pump(n);
}

/* Start the head if nothing is in flight or waiting. */
static void pump(struct sr_notify *n)
{
	while (n->head && !head_busy(n)) {
		struct msg *m = n->head;
		static const char *const headers[] = {"Content-Type: application/json", NULL};
		struct sr_http_request rq = {
		    .method = "POST",
		    .url = n->url,
		    .headers = headers,
		    .body = m->body,
		    .body_len = m->len,
		    .timeout_ms = n->opt.timeout_ms,
		    .max_response = 64 * 1024,
		};
		char err[SR_REASON_LEN], why[SR_REASON_LEN];
		m->attempts++;
		n->req = http_submit(n->http, &rq, on_response, n, err, sizeof err);
		if (n->req) {
			n->st.in_flight = true;
			return;
		}
		scrub(n, err, why, sizeof why);
		attempt_failed(n, why, true, -1);
	}
}

/* Queue a post; drops the oldest waiting one (an update first) when full. */
static void enqueue(struct sr_notify *n, enum sr_notify_kind kind, char *body)
{
	if (!body) {
		nlog(n, SR_RED, "webhook: out of memory building a %s post",
		     notify_kind_name(kind));
		return;
	}
	if (n->qlen >= SR_NOTIFY_QUEUE) {
		struct msg **pp = &n->head, **victim = NULL;
		if (head_busy(n) && *pp)
			pp = &(*pp)->next; /* never the one in flight */
		for (struct msg **q = pp; *q && !victim; q = &(*q)->next)
			if ((*q)->kind == SR_NOTIFY_UPDATE)
				victim = q;
		if (!victim && *pp)
			victim = pp;
		if (victim) {
			struct msg *v = *victim;
			*victim = v->next;
			if (n->tail == v) {
				n->tail = NULL;
				for (struct msg *t = n->head; t; t = t->next)
					n->tail = t;
			}
			n->qlen--;
			n->st.dropped++;
			nlog(n, SR_YELLOW, "webhook: queue full (%d), a waiting %s post dropped",
			     SR_NOTIFY_QUEUE, notify_kind_name(v->kind));
			msg_free(v);
		}
	}
	struct msg *m = calloc(1, sizeof *m);
	if (!m) {
		free(body);
		return;
	}
	m->kind = kind;
	m->body = body;
	m->len = strlen(body);
	if (n->tail)
		n->tail->next = m;
	else
		n->head = m;
	n->tail = m;
	n->qlen++;
	n->st.queued = n->qlen;
	n->st.by_kind[kind]++;
	pump(n);
}

/* ---- life cycle --------------------------------------------------------------------------------
 */

struct sr_notify *notify_create(uv_loop_t *loop, struct sr_http *http, const char *url,
                                const struct sr_notify_options *opt, char *err, size_t en)
{
	if (!url || url_check(url, err, en, "webhook") != 0)
		return NULL;
	struct sr_notify *n = calloc(1, sizeof *n);
	if (!n) {
		textf(err, en, "out of memory");
		return NULL;
	}
	n->loop = loop;
	n->http = http;
	sr_strlcpy(n->url, url, sizeof n->url);
	url_parse(n->url, n->host, sizeof n->host, n->path, sizeof n->path);
	secret_register_url(n->url);
	n->opt = (struct sr_notify_options){.max_attempts = 5,
	                                    .backoff_ms = 2000,
	                                    .backoff_max_ms = 60000,
	                                    .timeout_ms = SR_HTTP_DEFAULT_TIMEOUT_MS,
	                                    .username = "shiproom"};
	if (opt) {
		if (opt->max_attempts > 0)
			n->opt.max_attempts = opt->max_attempts;
		if (opt->backoff_ms > 0)
			n->opt.backoff_ms = opt->backoff_ms;
		if (opt->backoff_max_ms > 0)
			n->opt.backoff_max_ms = opt->backoff_max_ms;
		if (opt->timeout_ms > 0)
			n->opt.timeout_ms = opt->timeout_ms;
		if (opt->username)
			n->opt.username = opt->username;
	}
	sr_sanitize(n->username, n->opt.username, sizeof n->username);
	n->opt.username = n->username;
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	return n;
}

static void on_closed(uv_handle_t *h)
{
	struct sr_notify *n = h->data;
	explicit_bzero(n->url, sizeof n->url);
	free(n);
}

void notify_destroy(struct sr_notify *n)
{
	if (!n)
		return;
	if (n->req)
		http_cancel(n->http, n->req);
	n->req = NULL;
	while (n->head)
		msg_free(pop_head(n));
	uv_timer_stop(&n->timer);
	uv_close((uv_handle_t *)&n->timer, on_closed);
}

const struct sr_notify_status *notify_status(const struct sr_notify *n)
{
	return &n->st;
}

void notify_status_text(const struct sr_notify *n, char *buf, size_t len)
{
	const struct sr_notify_status *s = &n->st;
	if (s->failing)
		textf(buf, len, "webhook: FAILING (%s), %d queued%s, %ld posted, %ld given up",
		      s->last_error, s->queued, n->waiting ? ", retrying" : "", s->posted,
		      s->failed);
	else
		textf(buf, len, "webhook: ok, %ld posted%s%s", s->posted,
		      s->queued ? ", sending" : "", s->failed ? ", some given up earlier" : "");
}

void notify_set_event_cb(struct sr_notify *n, sr_notify_event_cb cb, void *ud)
{
	n->cb = cb;
	n->cb_ud = ud;
}

/* ---- what to post -------------------------------------------------------------------------------
 */

struct lines {
	int n;
	int more; /* lines that did not fit */
	char l[MAX_LINES][LINE_LEN];
	const char *ptr[MAX_LINES];
};

static void add_line(struct lines *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_line(struct lines *L, const char *fmt, ...)
{
	if (L->n >= MAX_LINES) {
		L->more++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->l[L->n], LINE_LEN, fmt, ap);
	va_end(ap);
	L->ptr[L->n] = L->l[L->n];
	L->n++;
}

static void post(struct sr_notify *n, struct sr_runner *r, enum sr_notify_kind kind,
                 const char *headline, struct lines *L, sr_ms now)
{
	if (L && L->more > 0 && L->n > 0)
		textf(L->l[L->n - 1], LINE_LEN, "... and %d more", L->more + 1);
	enqueue(n, kind,
	        payload(r, kind, headline, L ? L->ptr : NULL, L ? L->n : 0, now, n->username));
}

/* The dedupe window: the cadence of the current phase (the policy's
 * smallest cadence outside a phase; 15 minutes without any). */
static sr_ms dedupe_window(const struct sr_policy *p, int phase)
{
	if (phase >= 0 && phase < p->nphases && p->phases[phase].cadence_min > 0)
		return (sr_ms)p->phases[phase].cadence_min * SR_MS_PER_MIN;
	int best = 0;
	for (int i = 0; i < p->nphases; i++)
		if (p->phases[i].cadence_min > 0 && (best == 0 || p->phases[i].cadence_min < best))
			best = p->phases[i].cadence_min;
	return (sr_ms)(best > 0 ? best : 15) * SR_MS_PER_MIN;
}

static void prime(struct sr_notify *n, const struct sr_runner *r, sr_ms now)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	n->primed = true;
	/* Cells and triggers start from "all well", so a breach already on
	 * when the console starts is posted once; the rollout record and the
	 * log start from now, so history is not re-announced. */
	for (int i = 0; i < SR_MAX_CELLS; i++)
		n->cell_prev[i] = SR_GREEN;
	for (int t = 0; t < SR_MAX_TRIGGERS; t++)
		n->trig_prev[t] = SR_TRIG_ARMED;
	n->ro_phase = ro->phase;
	n->ro_held = ro->held;
	n->ro_rolled_back = ro->rolled_back;
	n->ro_success = ro->success;
	n->ro_tiebreak = ro->tiebreak;
	for (int g = 0; g < p->ngates && g < SR_MAX_GATES; g++)
		n->ro_approvals[g] = ro->gates[g].napprovals;
	n->ro_notes = ro->nnotes;
	sr_ms due = 0;
	int g = rollout_next_gate(ro, p, &due);
	if (g >= 0 && now >= due)
		n->gate_posted[g] = true;
	n->log_seen = r->nlog;
	n->phase = -2; /* the cadence starts at the first tick */
}

/* Anomalies: triggers starting to fire and cells turning RED, each
 * deduplicated within the window. */
static bool watch_anomalies(struct sr_notify *n, const struct sr_runner *r, sr_ms now,
                            struct lines *L)
{
	const struct sr_policy *p = r->policy;
	const struct sr_engine *e = &r->engine;
	sr_ms win = dedupe_window(p, e->ro.phase);
	bool any = false;
	for (int t = 0; t < p->ntriggers && t < SR_MAX_TRIGGERS; t++) {
		enum sr_trig_state s = e->triggers[t].state;
		if (s == SR_TRIG_FIRING && n->trig_prev[t] != SR_TRIG_FIRING) {
			if (n->trig_posted[t] && now - n->trig_posted_at[t] < win) {
				n->st.deduped++;
			} else {
				add_line(L, "Rollback trigger FIRING: %s: %s", p->triggers[t].name,
				         e->triggers[t].reason);
				n->trig_posted[t] = true;
				n->trig_posted_at[t] = now;
				any = true;
			}
		}
		n->trig_prev[t] = s;
	}
	for (int i = 0; i < p->ncells && i < SR_MAX_CELLS; i++) {
		enum sr_status s = e->cells[i].status;
		if (s == SR_RED && n->cell_prev[i] != SR_RED) {
			if (n->cell_posted[i] && now - n->cell_posted_at[i] < win) {
				n->st.deduped++;
			} else {
				char sum[LINE_LEN];
				engine_cell_summary(e, i, sum, sizeof sum);
				add_line(L, "%s", sum);
				n->cell_posted[i] = true;
				n->cell_posted_at[i] = now;
				any = true;
			}
		}
		n->cell_prev[i] = s;
	}
	/* The edge shows a weight nobody asked for, or the journal's store
	 * stopped answering: each holds the rollout, so #ship-room hears it
	 * when it starts (and once per start). */
	if (e->edge_anomaly_since && e->edge_anomaly_since != n->edge_prev) {
		add_line(L,
		         "Edge anomaly: the edge reads %d%%, the journal says %d%%: HOLD until the "
		         "Release DRI resolves it (roll back, or restore %d%% at the edge)",
		         e->edge_weight, e->ro.weight, e->ro.weight);
		any = true;
	}
	n->edge_prev = e->edge_anomaly_since;
	if (e->store_down_since && e->store_down_since != n->store_prev) {
		add_line(L, "The journal cannot record (%s): HOLD, only a rollback may act (%s)",
		         e->store_what, e->store_then);
		any = true;
	}
	n->store_prev = e->store_down_since;
	return any;
}

/* The actor of the newest new log line of an action whose text starts
 * with `prefix` (the dispatcher's "promote to 25% by dri ..."). */
static const char *new_actor(const struct sr_notify *n, const struct sr_runner *r,
                             const char *prefix)
{
	int fresh = r->nlog - n->log_seen;
	for (int i = 0; i < fresh && i < SR_LOG_LEN; i++) {
		const struct sr_log_entry *l = runner_log_entry(r, i);
		if (l && (l->kind == SR_LOG_ACTION || l->kind == SR_LOG_APPROVAL) &&
		    strncmp(l->text, prefix, strlen(prefix)) == 0)
			return l->actor;
	}
	return "";
}

/* The phase card, in a few lines, for a promotion post. */
static void card_lines(const struct sr_runner *r, int phase, struct lines *L)
{
	json_t *c = report_json(SR_REPORT_CARD, r, phase);
	if (!c)
		return;
	char buf[LINE_LEN];
	size_t o;
	size_t i;
	json_t *x;
	json_t *card = json_object_get(c, "card");
	add_line(L, "Phase summary of %s (observed %s): recommended %s",
	         json_string_value(json_object_get(card, "phase")),
	         json_string_value(json_object_get(card, "observed")),
	         json_string_value(json_object_get(json_object_get(c, "decision"), "word")));
	static const char *const q[3] = {"p50", "p95", "p99"};
	static const char *const qn[3] = {"P50", "P95", "P99"};
	for (int k = 0; k < 3; k++) {
		o = 0;
		bool any = false;
		json_array_foreach(json_object_get(c, "latency"), i, x)
		{
			const char *v = json_string_value(json_object_get(x, q[k]));
			if (!v || strcmp(v, "n/a") == 0)
				continue;
			any = true;
			if (o < sizeof buf)
				o += (size_t)snprintf(
				    buf + o, sizeof buf - o, "%s%s %s", o ? ", " : "",
				    json_string_value(json_object_get(x, "journey")), v);
		}
		if (any)
			add_line(L, "%s: %s", qn[k], buf);
		else
			add_line(L, "%s: n/a", qn[k]);
	}
	static const char *const lists[2] = {"errors", "payments"};
	static const char *const names[2] = {"Error rates", "Payment success"};
	for (int k = 0; k < 2; k++) {
		o = 0;
		buf[0] = '\0';
		json_array_foreach(json_object_get(c, lists[k]), i, x)
		{
			if (o < sizeof buf)
				o += (size_t)snprintf(
				    buf + o, sizeof buf - o, "%s%s %s (%s)", o ? ", " : "",
				    json_string_value(json_object_get(x, "label")),
				    json_string_value(json_object_get(x, "canary_text")),
				    json_string_value(json_object_get(x, "status")));
		}
		add_line(L, "%s: %s", names[k], o ? buf : "n/a");
	}
	o = 0;
	buf[0] = '\0';
	json_array_foreach(json_object_get(c, "anomalies"), i, x)
	{
		if (o < sizeof buf)
			o += (size_t)snprintf(
			    buf + o, sizeof buf - o, "%s%lld. %s %s, %s", o ? "; " : "",
			    (long long)json_integer_value(json_object_get(x, "rank")),
			    json_string_value(json_object_get(x, "label")),
			    json_string_value(json_object_get(x, "status")),
			    json_string_value(json_object_get(x, "excess_text")));
	}
	add_line(L, "Top anomalies: %s", o ? buf : "none");
	json_decref(c);
}

/* Actions: what changed in the rollout record, and failed actions. */
static bool watch_actions(struct sr_notify *n, const struct sr_runner *r, sr_ms now,
                          struct lines *L, bool *alarm)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	bool any = false;
	char when[48];
	int fresh = r->nlog - n->log_seen;
	for (int i = (fresh < SR_LOG_LEN ? fresh : SR_LOG_LEN) - 1; i >= 0; i--) {
		const struct sr_log_entry *l = runner_log_entry(r, i);
		if (l && l->kind == SR_LOG_ACTION && l->severity == SR_RED) {
			add_line(L, "Action FAILED%s%s: %s", l->actor[0] ? " by " : "", l->actor,
			         l->text);
			*alarm = true;
			any = true;
		}
	}
	for (int g = 0; g < p->ngates && g < SR_MAX_GATES; g++) {
		const struct sr_gate_record *rec = &ro->gates[g];
		for (int a = n->ro_approvals[g]; a < rec->napprovals; a++) {
			add_line(L, "%s approved by %s%s%s", p->gates[g].name,
			         rec->approvals[a].who, rec->approvals[a].reason[0] ? ": " : "",
			         rec->approvals[a].reason);
			any = true;
		}
		n->ro_approvals[g] = rec->napprovals;
	}
	/* Notes, oldest first (the rollout keeps the newest SR_MAX_NOTES). */
	for (int i = ro->nnotes - n->ro_notes - 1; i >= 0; i--) {
		const struct sr_note *nt = rollout_note_at(ro, i);
		if (nt) {
			add_line(L, "Note by %s: %s", nt->who, nt->text);
			any = true;
		}
	}
	n->ro_notes = ro->nnotes;
	if (ro->phase != n->ro_phase && !ro->rolled_back) {
		int from = n->ro_phase;
		const char *who = new_actor(n, r, "promote to");
		add_line(L, "Promoted to %s%s%s (canary weight %d%%)",
		         ro->phase >= 0 ? p->phases[ro->phase].name : "pre-flight",
		         who[0] ? " by " : "", who, ro->weight);
		if (from >= 0 && from < p->nphases)
			card_lines(r, from, L);
		any = true;
	}
	n->ro_phase = ro->phase;
	if (ro->rolled_back && !n->ro_rolled_back) {
		engine_fmt_when(&r->engine, report_postmortem_due(r), when, sizeof when);
		add_line(L, "ROLLED BACK by %s: %s. Canary weight 0%%. Postmortem due %s.",
		         ro->rolled_back_by,
		         ro->rollback_reason[0] ? ro->rollback_reason : "no reason given", when);
		*alarm = true;
		any = true;
	}
	n->ro_rolled_back = ro->rolled_back;
	if (ro->held != n->ro_held && !ro->rolled_back) {
		if (ro->held)
			add_line(L, "Held by %s: %s", ro->held_by, ro->hold_reason);
		else
			add_line(L, "Resumed%s%s", new_actor(n, r, "resume by")[0] ? " by " : "",
			         new_actor(n, r, "resume by"));
		any = true;
	}
	n->ro_held = ro->held;
	if (ro->tiebreak && !n->ro_tiebreak) {
		add_line(L, "Executive tie-break by %s", ro->tiebreak_by);
		any = true;
	}
	n->ro_tiebreak = ro->tiebreak;
	if (ro->success && !n->ro_success) {
		const char *who = new_actor(n, r, "success declared");
		add_line(L, "SUCCESS declared%s%s: post-canary actions are pre-approved",
		         who[0] ? " by " : "", who);
		any = true;
	}
	n->ro_success = ro->success;
	(void)now;
	return any;
}

static void watch_gate(struct sr_notify *n, struct sr_runner *r, sr_ms now)
{
	const struct sr_policy *p = r->policy;
	sr_ms due = 0;
	int g = rollout_next_gate(&r->engine.ro, p, &due);
	if (g < 0 || g >= SR_MAX_GATES || now < due || n->gate_posted[g])
		return;
	n->gate_posted[g] = true;
	struct lines L = {0};
	char appr[SR_REASON_LEN], head[LINE_LEN];
	const struct sr_decision *d = &r->engine.decision;
	for (int i = 0; i < d->nreasons && i < SR_MAX_REASONS; i++)
		add_line(&L, "%s", d->reasons[i]);
	if (rights_approvals_text(&r->engine, NULL, appr, sizeof appr) > 0)
		add_line(&L, "Still to approve: %s", appr);
	textf(head, sizeof head, "%s (%d%% -> %d%%) is due: %s", p->gates[g].name,
	      p->gates[g].from_weight, p->gates[g].to_weight, report_decision_word(r));
	post(n, r, SR_NOTIFY_GATE, head, &L, now);
}

static void watch_cadence(struct sr_notify *n, struct sr_runner *r, sr_ms now)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	int ph = ro->phase;
	bool active = ph >= 0 && ph < p->nphases && !ro->rolled_back && !ro->success;
	if (!active) {
		n->phase = ph;
		n->next_update = 0;
		return;
	}
	sr_ms cad = (sr_ms)p->phases[ph].cadence_min * SR_MS_PER_MIN;
	if (ph != n->phase || ro->phase_entered != n->phase_entered) {
		n->phase = ph;
		n->phase_entered = ro->phase_entered;
		/* The first update one cadence after the phase began (or the
		 * next step of that grid when we start mid-phase). */
		n->next_update = 0;
		if (cad > 0) {
			sr_ms k = now > ro->phase_entered ? (now - ro->phase_entered) / cad + 1 : 1;
			n->next_update = ro->phase_entered + k * cad;
		}
		return;
	}
	if (cad <= 0 || n->next_update == 0 || now < n->next_update)
		return;
	while (n->next_update <= now)
		n->next_update += cad;
	char head[LINE_LEN], sum[LINE_LEN];
	struct lines L = {0};
	int shown = 0;
	for (int i = 0; i < p->ncells && shown < 5; i++) {
		if (r->engine.cells[i].status == SR_GREEN)
			continue;
		engine_cell_summary(&r->engine, i, sum, sizeof sum);
		add_line(&L, "%s", sum);
		shown++;
	}
	const struct sr_decision *d = &r->engine.decision;
	textf(head, sizeof head, "%s phase, %s%s%s%s (update every %d min)", p->phases[ph].name,
	      report_decision_word(r), d->nreasons ? " (" : "", d->nreasons ? d->reasons[0] : "",
	      d->nreasons ? ")" : "", p->phases[ph].cadence_min);
	post(n, r, SR_NOTIFY_UPDATE, head, &L, now);
}

void notify_tick(struct sr_notify *n, struct sr_runner *r, sr_ms now)
{
	n->runner = r;
	if (!n->primed)
		prime(n, r, now);
	struct lines L = {0};
	bool alarm = false;
	bool anomaly = watch_anomalies(n, r, now, &L);
	bool action = watch_actions(n, r, now, &L, &alarm);
	n->log_seen = r->nlog;
	if (anomaly || action) {
		char head[LINE_LEN];
		enum sr_notify_kind kind = anomaly || alarm ? SR_NOTIFY_ANOMALY : SR_NOTIFY_ACTION;
		textf(head, sizeof head, "%s", L.n > 0 ? L.l[0] : "");
		/* The headline is the first line; the rest follow it. */
		struct lines rest = {0};
		for (int i = 1; i < L.n; i++)
			add_line(&rest, "%s", L.l[i]);
		rest.more += L.more;
		post(n, r, kind, head, &rest, now);
	}
	watch_gate(n, r, now);
	watch_cadence(n, r, now);
}

void notify_post_now(struct sr_notify *n, struct sr_runner *r, sr_ms now)
{
	n->runner = r;
	char head[LINE_LEN];
	const struct sr_policy *p = r->policy;
	int ph = r->engine.ro.phase;
	textf(head, sizeof head, "%s, %s (posted on request)",
	      ph >= 0 && ph < p->nphases ? p->phases[ph].name : "pre-flight",
	      report_decision_word(r));
	post(n, r, SR_NOTIFY_MANUAL, head, NULL, now);
}
