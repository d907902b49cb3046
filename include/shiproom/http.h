/* http.h - an asynchronous HTTP client on the libuv loop.
 *
 * libcurl's multi interface driven by libuv, in the manner of curl's
 * docs/examples/multi-uv.c, but with every bit of state in one struct and
 * without ever calling libcurl from libcurl's own timer callback (that
 * callback only arms a uv_timer). One multi handle per client, so
 * connections (and TLS sessions) are reused across requests. Nothing
 * blocks the loop: name resolution uses curl's threaded resolver.
 *
 * Used by the Prometheus source and by HTTP edges and notifiers.
 */
#ifndef SHIPROOM_HTTP_H
#define SHIPROOM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define SR_HTTP_DEFAULT_MAX (8u * 1024u * 1024u) /* response body cap */
#define SR_HTTP_DEFAULT_TIMEOUT_MS 10000L

struct sr_http;     /* one client: a multi handle on a loop */
struct sr_http_req; /* one request in flight */

struct sr_http_request {
	const char *method;         /* "GET" (NULL means GET), "POST", "PUT", ... */
	const char *url;            /* http:// or https:// only */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *body;           /* copied at submit; may be NULL */
	size_t body_len;
	long timeout_ms;     /* the whole transfer; <= 0: SR_HTTP_DEFAULT_TIMEOUT_MS */
	size_t max_response; /* body cap in bytes; 0: SR_HTTP_DEFAULT_MAX */
	const char *ca_file; /* PEM bundle; NULL: the system store. TLS
	                        peer and host verification are always on. */
};

struct sr_http_response {
	const char *error;        /* NULL when a complete response arrived (any
	                             status); otherwise why not: timeout, refused,
	                             the size cap, TLS... (not sanitised) */
	long status;              /* HTTP status code; 0 when none arrived */
	const char *reason;       /* reason phrase ("Bad Gateway"); from a table
	                             when the server sent none (HTTP/2) */
	const char *content_type; /* "" when absent */
	const char *body;         /* NUL-terminated; len excludes the NUL */
	size_t len;
	const char *retry_after; /* the Retry-After header's value, "" when
	                            absent (see http_retry_after_ms) */
};

/* Called once per request, from the loop, unless the request is cancelled
 * or the client destroyed first. The response and its buffers are valid
 * only during the call. The callback may submit, cancel, or destroy the
 * client. */
typedef void (*sr_http_cb)(void *ud, const struct sr_http_response *res);

/* NULL on failure with err filled. */
struct sr_http *http_create(uv_loop_t *loop, char *err, size_t n);

/* Cancel every request in flight (their callbacks are not called) and
 * close the client. The loop must run once more (uv_run) for the last
 * handles to close; the memory is released then. Safe from a callback. */
void http_destroy(struct sr_http *h);

/* Start a request. Returns its handle (valid until its callback returns
 * or it is cancelled), or NULL with err filled. Never calls cb before
 * returning. */
struct sr_http_req *http_submit(struct sr_http *h, const struct sr_http_request *rq, sr_http_cb cb,
                                void *ud, char *err, size_t n);

/* Abandon a request in flight; its callback is not called. */
void http_cancel(struct sr_http *h, struct sr_http_req *r);

/* Requests in flight. */
int http_inflight(const struct sr_http *h);

/* application/x-www-form-urlencoded (RFC 3986 unreserved bytes kept,
 * every other byte %XX). Writes at most n-1 bytes and a NUL; returns the
 * length the whole encoding needs, like snprintf. */
size_t http_form_escape(char *dst, size_t n, const char *src);

/* The wait a Retry-After value asks for (RFC 9110 10.2.3: delta-seconds
 * or an HTTP-date, read against now_ms), capped at max_ms: a server must
 * not silence a source or the webhook for a day. -1 when the value is
 * absent or neither form; 0 for a date already past. */
#define SR_RETRY_AFTER_MAX_MS (5L * 60 * 1000)
long http_retry_after_ms(const char *value, long long now_ms, long max_ms);

/* A response body growing as it arrives, NUL-terminated, at most max
 * bytes (this client's and etcd.h's): append returns false when the
 * bytes would pass max (overflow set) or memory runs out; the caller's
 * write callback then refuses the write, which aborts the transfer. */
struct sr_http_body {
	char *buf; /* NULL until the first byte */
	size_t len, cap, max;
	bool overflow;
};
bool http_body_append(struct sr_http_body *b, const char *data, size_t n);

/* The options every request of this project sets on a libcurl easy
 * handle (void * so this header needs no curl.h): no signals, no
 * redirects, http and https only, TLS peer and host verification on,
 * ca_file (NULL or "": the system store). 0 or a CURLcode. */
int http_easy_safe(void *easy, const char *ca_file);

/* Standard reason phrase of a status code ("" when unknown). */
const char *http_reason_phrase(long status);

#endif
