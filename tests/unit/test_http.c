/* test_http.c - the libcurl-multi-on-libuv client against a real loopback
 * server (tests/e2e/wire_server.py): status codes and reason phrases,
 * bodies and headers sent, a hung server hitting the timeout while the
 * loop keeps turning, a refused connection, the response size cap (with
 * and without Content-Length), connection reuse counted by the server,
 * parallel requests, cancel and destroy with requests in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shiproom/http.h"
#include "wire_helper.h"

struct got {
	bool done;
	int calls;
	long status;
	char reason[64];
	char ctype[64];
	char error[512];
	bool had_error;
	char *body;
	size_t len;
};

static void got_cb(void *ud, const struct sr_http_response *r)
{
	struct got *g = ud;
	g->calls++;
	g->done = true;
	g->status = r->status;
	snprintf(g->reason, sizeof g->reason, "%s", r->reason ? r->reason : "");
	snprintf(g->ctype, sizeof g->ctype, "%s", r->content_type ? r->content_type : "");
	g->had_error = r->error != NULL;
	snprintf(g->error, sizeof g->error, "%s", r->error ? r->error : "");
	free(g->body);
	g->body = malloc(r->len + 1);
	memcpy(g->body, r->body, r->len + 1);
	g->len = r->len;
}

static void got_free(struct got *g)
{
	free(g->body);
	memset(g, 0, sizeof *g);
}

struct fx {
	struct wire w;
	uv_loop_t loop;
	struct sr_http *h;
	struct ticker tick;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	if (wire_start(&f->w) != 0) {
		fprintf(stderr, "cannot start %s (python3 needed)\n", wire_script());
		free(f);
		return -1;
	}
	uv_loop_init(&f->loop);
	ticker_start(&f->tick, &f->loop);
	f->h = http_create(&f->loop, err, sizeof err);
	if (!f->h) {
		fprintf(stderr, "http_create: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->h)
		http_destroy(f->h);
	ticker_stop(&f->tick);
	wire_drain_loop(&f->loop);
	int rc = uv_loop_close(&f->loop);
	wire_stop(&f->w);
	free(f);
	/* Every handle closed: nothing of the client is left on the loop. */
	assert_int_equal(rc, 0);
	return 0;
}

static struct sr_http_req *get(struct fx *f, const char *path, struct got *g, long timeout_ms,
                               size_t cap)
{
	char url[256], err[256];
	wire_url(&f->w, path, url, sizeof url);
	struct sr_http_request rq = {.url = url, .timeout_ms = timeout_ms, .max_response = cap};
	struct sr_http_req *r = http_submit(f->h, &rq, got_cb, g, err, sizeof err);
	assert_non_null(r);
	return r;
}

static void test_get_echo_headers(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	char url[256], err[256];
	const char *hdrs[] = {"X-Scope-OrgID: tenant-7", "Accept: application/json", NULL};
	wire_url(&f->w, "/echo", url, sizeof url);
	struct sr_http_request rq = {.url = url, .headers = hdrs};
	assert_non_null(http_submit(f->h, &rq, got_cb, &g, err, sizeof err));
	assert_int_equal(g.calls, 0); /* never called back from submit */
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_false(g.had_error);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.reason, "OK");
	assert_string_equal(g.ctype, "application/json");
	json_t *echo = json_loadb(g.body, g.len, 0, NULL);
	assert_non_null(echo);
	json_t *h = json_object_get(echo, "headers");
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(h, "x-scope-orgid")), "tenant-7");
	json_decref(echo);
	got_free(&g);
}

static void test_post_body(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	char url[256], err[256];
	const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	static const char body[] = "query=up&time=1700000000.250";
	wire_url(&f->w, "/echo", url, sizeof url);
	struct sr_http_request rq = {
	    .method = "POST", .url = url, .headers = hdrs, .body = body, .body_len = strlen(body)};
	assert_non_null(http_submit(f->h, &rq, got_cb, &g, err, sizeof err));
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_int_equal(g.status, 200);
	json_t *echo = json_loadb(g.body, g.len, 0, NULL);
	assert_non_null(echo);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(echo, "body")), body);
	json_t *h = json_object_get(echo, "headers");
	assert_string_equal(json_string_value(json_object_get(h, "content-type")),
	                    "application/x-www-form-urlencoded");
	/* No "Expect: 100-continue" stall on POST. */
	assert_null(json_object_get(h, "expect"));
	json_decref(echo);
	got_free(&g);
}

static void test_status_codes(void **state)
{
	struct fx *f = *state;
	struct got a = {0}, b = {0}, c = {0};
	get(f, "/status/404", &a, 0, 0);
	get(f, "/status/502", &b, 0, 0);
	get(f, "/status/503", &c, 0, 0);
	assert_true(wire_run_until(&f->loop, &a.done, 10000));
	assert_true(wire_run_until(&f->loop, &b.done, 10000));
	assert_true(wire_run_until(&f->loop, &c.done, 10000));
	/* An HTTP error status is a response, not a transport error. */
	assert_false(a.had_error);
	assert_int_equal(a.status, 404);
	assert_string_equal(a.reason, "Not Found");
	assert_int_equal(b.status, 502);
	assert_string_equal(b.reason, "Bad Gateway");
	assert_string_equal(b.ctype, "text/html");
	assert_non_null(strstr(b.body, "<html>"));
	assert_int_equal(c.status, 503);
	got_free(&a);
	got_free(&b);
	got_free(&c);
}

static void test_hung_server_times_out_loop_keeps_turning(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	long before = f->tick.ticks;
	get(f, "/hang", &g, 400, 0);
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(g.had_error);
	assert_non_null(strstr(g.error, "timed out after 400 ms"));
	assert_int_equal(g.status, 0);
	/* The uv_timer kept firing while the request waited. */
	assert_true(f->tick.ticks > before);
	assert_int_equal(http_inflight(f->h), 0);
	got_free(&g);
}

static void test_connection_refused(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	char url[128], err[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", wire_closed_port());
	struct sr_http_request rq = {.url = url, .timeout_ms = 5000};
	assert_non_null(http_submit(f->h, &rq, got_cb, &g, err, sizeof err));
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(g.had_error);
	assert_int_equal(g.status, 0);
	assert_non_null(strstr(g.error, "onnect")); /* "Couldn't connect to server..." */
	got_free(&g);
}

/* issue 9: a reset read "select/poll returned error"; it says what
 * happened. */
static void test_connection_reset_named(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	get(f, "/reset", &g, 5000, 0);
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(g.had_error);
	assert_int_equal(g.status, 0);
	if (!strstr(g.error, "reset"))
		fail_msg("a reset reads \"%s\"", g.error);
	assert_null(strstr(g.error, "select/poll"));
	got_free(&g);
}

static void test_size_cap_with_length(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	get(f, "/big/100000", &g, 0, 10000);
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(g.had_error);
	assert_non_null(strstr(g.error, "larger than the 10000-byte cap"));
	got_free(&g);
}

static void test_size_cap_chunked(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	get(f, "/bigchunked/100000", &g, 0, 10000);
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(g.had_error);
	assert_non_null(strstr(g.error, "larger than the 10000-byte cap"));
	assert_true(g.len <= 10000);
	got_free(&g);
}

static void test_body_exactly_at_cap(void **state)
{
	struct fx *f = *state;
	struct got g = {0}, h = {0};
	get(f, "/big/50000", &g, 0, 50000);
	get(f, "/bigchunked/50000", &h, 0, 50000);
	assert_true(wire_run_until(&f->loop, &g.done, 10000));
	assert_true(wire_run_until(&f->loop, &h.done, 10000));
	assert_false(g.had_error);
	assert_int_equal(g.len, 50000);
	assert_int_equal(g.body[49999], 'x');
	assert_false(h.had_error);
	assert_int_equal(h.len, 50000);
	assert_int_equal(h.body[0], 'y');
	got_free(&g);
	got_free(&h);
}

static void test_connection_reuse(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 5; i++) {
		struct got g = {0};
		get(f, "/echo", &g, 0, 0);
		assert_true(wire_run_until(&f->loop, &g.done, 10000));
		assert_int_equal(g.status, 200);
		got_free(&g);
	}
	/* Five requests, one after the other: one TCP connection. */
	assert_int_equal(wire_conns(&f->w, "/echo"), 1);
}

static void test_parallel_requests(void **state)
{
	struct fx *f = *state;
	enum { N = 10 };
	struct got g[N];
	memset(g, 0, sizeof g);
	for (int i = 0; i < N; i++)
		get(f, "/slow/50", &g[i], 0, 0);
	assert_int_equal(http_inflight(f->h), N);
	for (int i = 0; i < N; i++) {
		assert_true(wire_run_until(&f->loop, &g[i].done, 20000));
		assert_int_equal(g[i].status, 200);
		assert_int_equal(g[i].calls, 1);
		assert_string_equal(g[i].body, "ok");
		got_free(&g[i]);
	}
	/* At most 4 connections to one host; the rest queued and reused. */
	int conns = wire_conns(&f->w, "/slow/");
	assert_true(conns >= 1 && conns <= 4);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct got hung = {0}, ok = {0};
	struct sr_http_req *r = get(f, "/hang", &hung, 5000, 0);
	get(f, "/echo", &ok, 0, 0);
	http_cancel(f->h, r);
	assert_int_equal(http_inflight(f->h), 1);
	assert_true(wire_run_until(&f->loop, &ok.done, 10000));
	assert_int_equal(ok.status, 200);
	assert_int_equal(hung.calls, 0);
	got_free(&ok);
}

static void test_destroy_with_requests_in_flight(void **state)
{
	struct fx *f = *state;
	struct got a = {0}, b = {0};
	get(f, "/hang", &a, 5000, 0);
	/* slow enough that it is surely still in flight after the five turns
	 * below on a loaded machine (20 ms was not: it sometimes answered) */
	get(f, "/slow/3000", &b, 5000, 0);
	/* Let the connections open, then pull the plug. */
	for (int i = 0; i < 5; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	http_destroy(f->h);
	f->h = NULL;
	wire_drain_loop(&f->loop);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
}

struct destroyer {
	struct sr_http *h;
	int calls;
	bool done;
};

static void destroy_cb(void *ud, const struct sr_http_response *r)
{
	(void)r;
	struct destroyer *d = ud;
	d->calls++;
	d->done = true;
	http_destroy(d->h); /* from inside the client's own dispatch */
}

static void test_destroy_from_callback(void **state)
{
	struct fx *f = *state;
	struct destroyer d = {f->h, 0, false}, other = {f->h, 0, false};
	char url[256], slow[256], err[256];
	wire_url(&f->w, "/echo", url, sizeof url);
	wire_url(&f->w, "/slow/300", slow, sizeof slow);
	struct sr_http_request rq = {.url = url}, rs = {.url = slow};
	assert_non_null(http_submit(f->h, &rq, destroy_cb, &d, err, sizeof err));
	assert_non_null(http_submit(f->h, &rs, destroy_cb, &other, err, sizeof err));
	assert_true(wire_run_until(&f->loop, &d.done, 10000));
	f->h = NULL;
	wire_drain_loop(&f->loop);
	assert_int_equal(d.calls, 1);
	assert_int_equal(other.calls, 0); /* cancelled by the destroy */
}

static void test_refuses_bad_input(void **state)
{
	struct fx *f = *state;
	struct got g = {0};
	char err[256] = "";
	struct sr_http_request ftp = {.url = "ftp://127.0.0.1/x"};
	assert_null(http_submit(f->h, &ftp, got_cb, &g, err, sizeof err));
	assert_non_null(strstr(err, "http"));
	char url[256];
	wire_url(&f->w, "/echo", url, sizeof url);
	const char *smuggle[] = {"X-A: 1\r\nX-B: 2", NULL};
	struct sr_http_request rq = {.url = url, .headers = smuggle};
	err[0] = '\0';
	assert_null(http_submit(f->h, &rq, got_cb, &g, err, sizeof err));
	assert_non_null(strstr(err, "header"));
	assert_int_equal(g.calls, 0);
}

/* HTTPS against a server whose certificate a test CA signed: trusted
 * through ca_file, refused without it (verification is always on). */
static void test_tls_verification(void **state)
{
	(void)state;
	struct wire tw;
	const char *tls[] = {"--tls-cert", "tests/e2e/tls/server.pem", "--tls-key",
	                     "tests/e2e/tls/server.key", NULL};
	assert_int_equal(wire_start_args(&tw, tls), 0);
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct ticker tick;
	ticker_start(&tick, &loop);
	char err[256], url[128], named[128];
	struct sr_http *h = http_create(&loop, err, sizeof err);
	assert_non_null(h);
	snprintf(url, sizeof url, "https://127.0.0.1:%d/echo", tw.port);
	snprintf(named, sizeof named, "https://localhost:%d/echo", tw.port);

	struct got trusted = {0}, untrusted = {0}, byname = {0};
	struct sr_http_request ok = {.url = url, .ca_file = "tests/e2e/tls/ca.pem"};
	struct sr_http_request no_ca = {.url = url};
	struct sr_http_request host = {.url = named, .ca_file = "tests/e2e/tls/ca.pem"};
	assert_non_null(http_submit(h, &ok, got_cb, &trusted, err, sizeof err));
	assert_non_null(http_submit(h, &no_ca, got_cb, &untrusted, err, sizeof err));
	assert_non_null(http_submit(h, &host, got_cb, &byname, err, sizeof err));
	assert_true(wire_run_until(&loop, &trusted.done, 10000));
	assert_true(wire_run_until(&loop, &untrusted.done, 10000));
	assert_true(wire_run_until(&loop, &byname.done, 10000));
	assert_false(trusted.had_error);
	assert_int_equal(trusted.status, 200);
	assert_false(byname.had_error);
	assert_true(untrusted.had_error);
	assert_int_equal(untrusted.status, 0);
	assert_non_null(strstr(untrusted.error, "certificate"));
	got_free(&trusted);
	got_free(&untrusted);
	got_free(&byname);

	http_destroy(h);
	ticker_stop(&tick);
	wire_drain_loop(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
	wire_stop(&tw);
}

/* Retry-After (issue 9): seconds or an HTTP-date, bounded; junk is none. */
static void test_retry_after_parse(void **state)
{
	(void)state;
	const long long now = 1793000000000LL; /* 2026-10-26T07:33:20Z */
	const long max = SR_RETRY_AFTER_MAX_MS;
	assert_int_equal(http_retry_after_ms("30", now, max), 30000);
	assert_int_equal(http_retry_after_ms(" 0 ", now, max), 0);
	assert_int_equal(http_retry_after_ms("86400", now, max), max); /* a day: capped */
	assert_int_equal(http_retry_after_ms("99999999999999999999999", now, max), max);
	assert_int_equal(http_retry_after_ms("Mon, 26 Oct 2026 07:34:20 GMT", now, max), 60000);
	assert_int_equal(http_retry_after_ms("Mon, 26 Oct 2026 07:00:00 GMT", now, max), 0);
	assert_int_equal(http_retry_after_ms("", now, max), -1);
	assert_int_equal(http_retry_after_ms(NULL, now, max), -1);
	assert_int_equal(http_retry_after_ms("-5", now, max), -1);
	assert_int_equal(http_retry_after_ms("30s", now, max), -1);
	assert_int_equal(http_retry_after_ms("soon", now, max), -1);
}

static void test_form_escape(void **state)
{
	(void)state;
	char buf[128];
	const char *q = "sum by (journey) (rate(x{a=~\"b|c\"}[1m])) * 1000";
	size_t need = http_form_escape(buf, sizeof buf, q);
	assert_int_equal(need, strlen(buf));
	assert_string_equal(buf,
	                    "sum%20by%20%28journey%29%20%28rate%28x%7Ba%3D~%22b%7Cc%22%7D%5B1m%5D"
	                    "%29%29%20%2A%201000");
	/* Truncation never leaves half an escape and reports the full size. */
	char small[6];
	assert_int_equal(http_form_escape(small, sizeof small, "ab cd"), 7);
	assert_string_equal(small, "ab%20");
	char tiny[5];
	http_form_escape(tiny, sizeof tiny, "ab cd");
	assert_string_equal(tiny, "ab");
	assert_int_equal(http_form_escape(NULL, 0, "a+b"), 5);
	assert_string_equal(http_reason_phrase(502), "Bad Gateway");
	assert_string_equal(http_reason_phrase(799), "");
}

int main(void)
{
	/* Loopback tests must not be sent to a proxy from the environment. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_escape),
	    cmocka_unit_test(test_retry_after_parse),
	    cmocka_unit_test(test_tls_verification),
	    cmocka_unit_test_setup_teardown(test_get_echo_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_codes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hung_server_times_out_loop_keeps_turning, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_reset_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_cap_with_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_cap_chunked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_exactly_at_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parallel_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_with_requests_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
