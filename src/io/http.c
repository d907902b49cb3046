/* http.c - libcurl multi on the libuv loop.
 *
 * Why this shape: the console must keep drawing and answering keys while
 * Prometheus is slow, so HTTP runs on the same libuv loop as everything
 * else, through curl's "multi socket" API (docs/examples/multi-uv.c):
 *
 *   - curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION): we
 *     keep one uv_poll_t per socket, and when libuv reports it ready we
 *     call curl_multi_socket_action() for that socket;
 *   - curl tells us when it next needs a timeout (CURLMOPT_TIMERFUNCTION):
 *     that callback only (re)arms a uv_timer. libcurl must not be called
 *     from its own callbacks, so curl_multi_socket_action(TIMEOUT) runs
 *     from the uv_timer's callback, on a later turn of the loop.
 *
 * Unlike the example, there are no globals: everything hangs off struct
 * sr_http. Connection reuse comes from keeping one multi handle for the
 * client's whole life (its connection cache outlives each easy handle).
 * uv handles close asynchronously, so the struct is freed from the last
 * close callback, and destroying from inside a completion callback is
 * deferred until the dispatch loop unwinds.
 */
#include "shiproom/curl_load.h"
#include "shiproom/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "shiproom/common.h"

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct sr_http *h;
	struct sock_ctx *prev, *next;
};

struct sr_http_req {
	struct sr_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	sr_http_cb cb;
	void *ud;
	struct sr_http_body body; /* the response body */
	long timeout_ms;
	char reason[64];
	char ctype[128];
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	struct sr_http_req *prev, *next;
};

struct sr_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	int open_handles; /* uv handles not yet closed: timer + polls */
	int depth;        /* nesting of the completion dispatch */
	bool dying;       /* http_destroy was called */
	bool torn_down;   /* curl side released, waiting for uv closes */
	int ninflight;
	struct sr_http_req *reqs;
	struct sock_ctx *socks;
};

/* ---- lists ------------------------------------------------------------- */

static void req_link(struct sr_http *h, struct sr_http_req *r)
{
	r->prev = NULL;
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->ninflight++;
}

static void req_unlink(struct sr_http *h, struct sr_http_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	h->ninflight--;
}

/* ---- freeing ----------------------------------------------------------- */

static void http_free_if_closed(struct sr_http *h)
{
	if (h->torn_down && h->open_handles == 0) {
		free(h);
		curl_global_cleanup();
	}
}

static void on_handle_closed(uv_handle_t *hd)
{
	struct sr_http *h = hd->data;
	h->open_handles--;
	http_free_if_closed(h);
}

static void on_sock_closed(uv_handle_t *hd)
{
	struct sock_ctx *c = hd->data;
	struct sr_http *h = c->h;
	free(c);
	h->open_handles--;
	http_free_if_closed(h);
}

static void sock_close(struct sock_ctx *c)
{
	struct sr_http *h = c->h;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->socks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* uv_close stops the poll at once (so the fd may be reused by curl
	 * for a new socket right away); the memory goes in the callback. */
	uv_close((uv_handle_t *)&c->poll, on_sock_closed);
}

/* Detach a request from curl and free it. Does not call back. */
static void req_destroy(struct sr_http *h, struct sr_http_req *r)
{
	req_unlink(h, r);
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body.buf);
	free(r);
}

static void http_teardown(struct sr_http *h)
{
	while (h->reqs)
		req_destroy(h, h->reqs);
	/* Closing the cached connections may call the socket callback with
	 * CURL_POLL_REMOVE; whatever it leaves open is closed below. */
	CURLM *m = h->multi;
	h->multi = NULL; /* the socket callback must not call curl now */
	curl_multi_cleanup(m);
	while (h->socks)
		sock_close(h->socks);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, on_handle_closed);
	h->torn_down = true;
}

void http_destroy(struct sr_http *h)
{
	if (!h || h->dying)
		return;
	h->dying = true;
	if (h->depth == 0)
		http_teardown(h);
	/* else: http_drain() tears down when the dispatch unwinds. */
}

/* ---- completion -------------------------------------------------------- */

static void fmt_error(struct sr_http_req *r, CURLcode rc, char *buf, size_t n)
{
	if (r->body.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(buf, n, "response larger than the %zu-byte cap", r->body.max);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(buf, n, "timed out after %ld ms", r->timeout_ms);
		return;
	}
	/* curl's error buffer is the specific one ("Failed to connect to
	 * 127.0.0.1 port 9 after 0 ms: Connection refused"); the code's text
	 * is the fallback. */
	snprintf(buf, n, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
}

static void req_finish(struct sr_http *h, struct sr_http_req *r, CURLcode rc)
{
	char err[CURL_ERROR_SIZE + 128];
	struct sr_http_response res = {0};
	long status = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	res.status = status;
	if (rc != CURLE_OK) {
		fmt_error(r, rc, err, sizeof err);
		res.error = err;
	}
	res.reason = r->reason[0] ? r->reason : http_reason_phrase(status);
	res.content_type = r->ctype;
	res.retry_after = r->retry_after;
	res.body = r->body.buf ? r->body.buf : "";
	res.len = r->body.buf ? r->body.len : 0;

	/* Out of curl before calling back: the callback may submit again. */
	req_unlink(h, r);
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;

	r->cb(r->ud, &res);
	free(r->body.buf);
	free(r);
}

/* Hand finished transfers to their callbacks. Called only from our uv
 * callbacks, never from inside libcurl. */
static void http_drain(struct sr_http *h)
{
	CURLMsg *m;
	int left;
	h->depth++;
	while (!h->dying && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		CURLcode rc = m->data.result; /* m dies with remove_handle */
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv)
			req_finish(h, (struct sr_http_req *)priv, rc);
	}
	h->depth--;
	if (h->dying && h->depth == 0 && !h->torn_down)
		http_teardown(h);
}

/* ---- libuv -> curl ----------------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *c = p->data;
	struct sr_http *h = c->h;
	int flags = 0, running = 0;
	/* libuv reports a socket error (POLLERR: a reset, a refused
	 * connect) as a status with no detail. Handed to curl as
	 * CURL_CSELECT_ERR it reads "select/poll returned error" and the
	 * cause is lost; curl's own poll treats POLLERR as readable, so
	 * its recv or connect check meets the socket's real error and
	 * names it ("Connection reset by peer"). */
	if (status < 0)
		flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	/* c may be closed by curl during this call: do not touch it after. */
	curl_multi_socket_action(h->multi, c->fd, flags, &running);
	http_drain(h);
}

static void on_timeout(uv_timer_t *t)
{
	struct sr_http *h = t->data;
	int running = 0;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_drain(h);
}

/* ---- curl -> libuv (curl callbacks: never call curl from here) -------- */

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct sr_http *h = userp;
	if (timeout_ms < 0) {
		uv_timer_stop(&h->timer);
		return 0;
	}
	/* 0 means "as soon as possible": 1 ms puts it on the next turn. A
	 * 0 ms uv timer re-armed from a timer callback can run again in the
	 * same turn on older libuv, starving I/O. */
	uv_timer_start(&h->timer, on_timeout, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
	return 0;
}

static struct sock_ctx *sock_open(struct sr_http *h, curl_socket_t fd)
{
	struct sock_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (uv_poll_init_socket(h->loop, &c->poll, fd) != 0) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->h = h;
	c->poll.data = c;
	c->next = h->socks;
	if (h->socks)
		h->socks->prev = c;
	h->socks = c;
	h->open_handles++;
	return c;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)easy;
	struct sr_http *h = userp;
	struct sock_ctx *c = socketp;
	int events = 0;

	switch (what) {
	case CURL_POLL_IN:
	case CURL_POLL_OUT:
	case CURL_POLL_INOUT:
		if (!c) {
			c = sock_open(h, s);
			if (!c)
				return -1;
			/* Assigning from the socket callback is allowed; it
			 * is how curl hands c back to us next time. */
			curl_multi_assign(h->multi, s, c);
		}
		if (what & CURL_POLL_IN)
			events |= UV_READABLE;
		if (what & CURL_POLL_OUT)
			events |= UV_WRITABLE;
		uv_poll_start(&c->poll, events, on_poll);
		break;
	case CURL_POLL_REMOVE:
		if (c) {
			sock_close(c);
			if (h->multi)
				curl_multi_assign(h->multi, s, NULL);
		}
		break;
	default: break;
	}
	return 0;
}

bool http_body_append(struct sr_http_body *b, const char *data, size_t n)
{
	if (n > b->max - b->len) {
		b->overflow = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return false;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return true;
}

/* Set an option on the easy handle `e` while `rc` is still CURLE_OK. */
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(e, opt, val);                                        \
	} while (0)

int http_easy_safe(void *easy, const char *ca_file)
{
	CURL *e = easy;
	CURLcode rc = CURLE_OK;
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_USERAGENT, "shiproom");
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (ca_file && ca_file[0])
		SET(CURLOPT_CAINFO, ca_file);
	return (int)rc;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sr_http_req *r = ud;
	size_t n = size * nmemb;
	/* refusing a write aborts the transfer */
	return http_body_append(&r->body, data, n) ? n : 0;
}

/* Copy a header's value, trimmed, into dst. */
static void header_value(char *dst, size_t n, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sr_http_req *r = ud;
	size_t n = size * nmemb;
	/* A status line starts each response (a 100 Continue, then the
	 * final one): keep the last reason phrase. */
	if (n > 5 && memcmp(data, "HTTP/", 5) == 0) {
		size_t i = 5;
		while (i < n && data[i] != ' ')
			i++; /* version */
		while (i < n && data[i] == ' ')
			i++;
		while (i < n && data[i] >= '0' && data[i] <= '9')
			i++; /* code */
		header_value(r->reason, sizeof r->reason, data + i, n - i);
		r->ctype[0] = '\0';
		r->retry_after[0] = '\0';
	} else if (n > 13 && strncasecmp(data, "content-type:", 13) == 0) {
		header_value(r->ctype, sizeof r->ctype, data + 13, n - 13);
	} else if (n > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
		header_value(r->retry_after, sizeof r->retry_after, data + 12, n - 12);
	}
	return n;
}

/* ---- public ------------------------------------------------------------ */

struct sr_http *http_create(uv_loop_t *loop, char *err, size_t n)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, n, "libcurl initialisation failed%s%s",
		         curl_load_error()[0] ? ": " : "", curl_load_error());
		return NULL;
	}
	struct sr_http *h = calloc(1, sizeof *h);
	if (!h) {
		curl_global_cleanup();
		snprintf(err, n, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		curl_global_cleanup();
		snprintf(err, n, "curl_multi_init failed");
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->open_handles = 1;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* A few connections per host are plenty for one console: requests
	 * beyond them queue inside curl and reuse the warm connections, and
	 * a Prometheus behind a query limit is not flooded. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
	return h;
}

int http_inflight(const struct sr_http *h)
{
	return h ? h->ninflight : 0;
}

void http_cancel(struct sr_http *h, struct sr_http_req *r)
{
	if (h && r && !h->torn_down)
		req_destroy(h, r);
}

static bool url_allowed(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/* The easy handle's options: everything a request needs, nothing that
 * weakens TLS. */
static int req_setup(struct sr_http_req *r, const struct sr_http_request *rq)
{
	CURL *e = r->easy;
	const char *method = rq->method ? rq->method : "GET";
	CURLcode rc = CURLE_OK;

	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PRIVATE, (void *)r);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)r);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, (void *)r);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->body.max);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* gzip: the cap applies decoded */
	if (rc == CURLE_OK)
		rc = (CURLcode)http_easy_safe(e, rq->ca_file);
	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
		SET(CURLOPT_COPYPOSTFIELDS, rq->body ? rq->body : "");
	}
	if (r->hdrs)
		SET(CURLOPT_HTTPHEADER, r->hdrs);
	return rc == CURLE_OK ? 0 : (int)rc;
}

static bool header_ok(const char *line)
{
	/* No CR/LF smuggling of extra headers or a second request. */
	for (const char *p = line; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return strchr(line, ':') != NULL;
}

struct sr_http_req *http_submit(struct sr_http *h, const struct sr_http_request *rq, sr_http_cb cb,
                                void *ud, char *err, size_t n)
{
	if (!h || h->dying) {
		snprintf(err, n, "HTTP client is shut down");
		return NULL;
	}
	if (!rq->url || !url_allowed(rq->url)) {
		snprintf(err, n, "only http:// and https:// URLs are allowed");
		return NULL;
	}
	struct sr_http_req *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	r->h = h;
	r->cb = cb;
	r->ud = ud;
	r->body.max = rq->max_response ? rq->max_response : SR_HTTP_DEFAULT_MAX;
	r->timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : SR_HTTP_DEFAULT_TIMEOUT_MS;
	r->easy = curl_easy_init();
	bool ok = r->easy != NULL;
	for (const char *const *hp = rq->headers; ok && hp && *hp; hp++) {
		if (!header_ok(*hp)) {
			snprintf(err, n, "invalid header line (no colon, or a line break)");
			goto fail;
		}
		struct curl_slist *s = curl_slist_append(r->hdrs, *hp);
		ok = s != NULL;
		if (s)
			r->hdrs = s;
	}
	/* curl sends "Expect: 100-continue" for bigger POST bodies and then
	 * waits up to a second for a server that may never answer it. */
	if (ok && rq->method && strcmp(rq->method, "GET") != 0) {
		struct curl_slist *s = curl_slist_append(r->hdrs, "Expect:");
		ok = s != NULL;
		if (s)
			r->hdrs = s;
	}
	int rc = ok ? req_setup(r, rq) : -1;
	if (rc != 0) {
		snprintf(err, n, "cannot set up the request: %s",
		         rc > 0 ? curl_easy_strerror((CURLcode)rc) : "out of memory");
		goto fail;
	}
	CURLMcode mc = curl_multi_add_handle(h->multi, r->easy);
	if (mc != CURLM_OK) {
		snprintf(err, n, "cannot start the request: %s", curl_multi_strerror(mc));
		goto fail;
	}
	req_link(h, r);
	return r;
fail:
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r);
	return NULL;
}

size_t http_form_escape(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, w = 0; /* bytes needed, bytes written */
	bool full = n == 0;
	for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
		char enc[3];
		size_t k = 1;
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' || *s == '~') {
			enc[0] = (char)*s;
		} else {
			enc[0] = '%';
			enc[1] = hex[*s >> 4];
			enc[2] = hex[*s & 15];
			k = 3;
		}
		/* Never emit half an escape: stop at the first that does not fit. */
		if (!full && w + k < n) {
			memcpy(dst + w, enc, k);
			w += k;
		} else {
			full = true;
		}
		o += k;
	}
	if (n > 0)
		dst[w] = '\0';
	return o;
}

long http_retry_after_ms(const char *value, long long now_ms, long max_ms)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	long long ms;
	if (*value >= '0' && *value <= '9') {
		char *end;
		errno = 0;
		unsigned long long sec = strtoull(value, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end)
			return -1;
		/* Overflow saturates: it is capped below anyway. */
		ms = errno || sec > (unsigned long long)LLONG_MAX / 1000 ? LLONG_MAX
		                                                         : (long long)sec * 1000;
	} else {
		/* IMF-fixdate, the form servers send ("Wed, 21 Oct 2026 07:28:00
		 * GMT"); the obsolete forms are not worth a guess. */
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (!end || *end)
			return -1;
		time_t t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		ms = (long long)t * 1000 - now_ms;
		if (ms < 0)
			ms = 0;
	}
	return ms > max_ms ? max_ms : (long)ms;
}

const char *http_reason_phrase(long status)
{
	static const struct {
		long code;
		const char *text;
	} phrases[] = {
	    {200, "OK"},
	    {201, "Created"},
	    {202, "Accepted"},
	    {204, "No Content"},
	    {301, "Moved Permanently"},
	    {302, "Found"},
	    {304, "Not Modified"},
	    {307, "Temporary Redirect"},
	    {308, "Permanent Redirect"},
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {409, "Conflict"},
	    {412, "Precondition Failed"},
	    {413, "Payload Too Large"},
	    {422, "Unprocessable Entity"},
	    {429, "Too Many Requests"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
		if (phrases[i].code == status)
			return phrases[i].text;
	return "";
}
