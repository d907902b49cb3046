/* test_promparse.c - every wire case of the Prometheus query API, and the
 * mapping of answers onto snapshot cells: HTTP status before the body,
 * error envelopes, warnings, value strings (NaN, +Inf, -Inf, 1e-07),
 * integer and real timestamps, empty and partial results, duplicates,
 * scalars and matrices, malformed and oversized bodies, escape sequences
 * in label values, a comma-decimal locale, and query templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/promparse.h"

static const struct sr_prom_labels L = {"journey", "variant", "canary", "control"};

#define NOW 1700000000500LL /* ms */

/* Two journeys (search, pay); KPI 0 "lat" per journey, KPI 1 "err"
 * global. Cells: 0 = lat/search, 1 = lat/pay, 2 = err. */
static struct sr_policy *mk_policy(void)
{
	struct sr_policy *p = calloc(1, sizeof *p);
	p->njourneys = 2;
	strcpy(p->journeys[0].id, "search");
	strcpy(p->journeys[1].id, "pay");
	p->nkpis = 2;
	strcpy(p->kpis[0].id, "lat");
	p->kpis[0].signal = SR_SIG_LATENCY;
	p->kpis[0].quantile = 0.95;
	p->kpis[0].njourneys = 2;
	p->kpis[0].journeys[0] = 0;
	p->kpis[0].journeys[1] = 1;
	strcpy(p->kpis[1].id, "err");
	p->kpis[1].signal = SR_SIG_RATIO;
	p->kpis[1].quantile = NAN;
	p->ncells = 3;
	p->cells[0] = (struct sr_cell){0, 0};
	p->cells[1] = (struct sr_cell){0, 1};
	p->cells[2] = (struct sr_cell){1, -1};
	return p;
}

static int parse(struct sr_prom_result *r, long status, const char *reason, const char *body)
{
	return promparse_response(r, status, reason, body, strlen(body), 1 << 20, &L);
}

/* Parse + fill KPI kpi into snap. */
static void feed(struct sr_snapshot *s, const struct sr_policy *p, int kpi, long status,
                 const char *body)
{
	struct sr_prom_result r;
	parse(&r, status, status == 200 ? "OK" : "", body);
	promparse_fill(s, p, kpi, &r, NULL, &L, NOW);
	promparse_free(&r);
}

#define VEC(...)                                                                                   \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" __VA_ARGS__ "]" \
	"}"                                                                                        \
	"}"
#define S(j, v, ts, val)                                                                           \
	"{\"metric\":{\"journey\":\"" j "\",\"variant\":\"" v "\"},\"value\":[" ts ",\"" val "\"]" \
	"}"
#define G(v, ts, val) "{\"metric\":{\"variant\":\"" v "\"},\"value\":[" ts ",\"" val "\"]}"

static void test_vector_fills_cells(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 0, 200,
	     VEC(S("search", "canary", "1700000000.5", "101.5") "," S(
	         "search", "control", "1700000000.5",
	         "99.25") "," S("pay", "canary", "1700000000", "120") "," S("pay", "control",
	                                                                    "1700000000", "80")));
	assert_int_equal(s.canary[0].kind, SR_OBS_OK);
	assert_true(s.canary[0].value == 101.5);
	assert_true(s.control[0].value == 99.25);
	assert_true(s.canary[1].value == 120.0);
	assert_true(s.control[1].value == 80.0);
	/* Real and integer timestamps both read as ms. */
	assert_int_equal(s.canary[0].at, 1700000000500LL);
	assert_int_equal(s.canary[1].at, 1700000000000LL);
	/* No samples query: samples unknown, never a made-up count. */
	assert_true(isinf(s.canary[0].samples) && s.canary[0].samples > 0);
	assert_false(s.canary[0].degraded);
	assert_string_equal(snapshot_msg(&s, &s.canary[0]), "");
	/* The global KPI was not touched. */
	assert_int_equal(s.canary[2].kind, SR_OBS_NONE);
	free(p);
}

static void test_global_kpi_matches_variant_only(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     VEC(G("control", "1700000000", "0.25") "," G("canary", "1700000000", "0.5")));
	assert_int_equal(s.canary[2].kind, SR_OBS_OK);
	assert_true(s.canary[2].value == 0.5);
	assert_true(s.control[2].value == 0.25);
	assert_int_equal(s.canary[0].kind, SR_OBS_NONE);
	free(p);
}

static void test_value_strings(void **state)
{
	(void)state;
	double v = 0;
	assert_true(promparse_value("1e-07", &v));
	assert_true(v == 1e-07);
	assert_true(promparse_value("+Inf", &v));
	assert_true(isinf(v) && v > 0);
	assert_true(promparse_value("-Inf", &v));
	assert_true(isinf(v) && v < 0);
	assert_true(promparse_value("NaN", &v));
	assert_true(isnan(v));
	assert_true(promparse_value("0.5", &v));
	assert_true(v == 0.5);
	assert_true(promparse_value("-12", &v));
	assert_true(v == -12.0);
	assert_false(promparse_value("", &v));
	assert_false(promparse_value(" 1", &v));
	assert_false(promparse_value("1 ", &v));
	assert_false(promparse_value("0.5ms", &v));
	assert_false(promparse_value("0x10", &v));
	assert_false(promparse_value("0,5", &v));
}

static void test_nan_inf_in_answers(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     VEC(G("canary", "1700000000", "NaN") "," G("control", "1700000000", "+Inf")));
	/* NaN is "no observations": no series, never a number. */
	assert_int_equal(s.canary[2].kind, SR_OBS_NOSERIES);
	assert_true(isnan(s.canary[2].value));
	assert_int_equal(s.canary[2].at, NOW);
	assert_non_null(strstr(snapshot_msg(&s, &s.canary[2]), "NaN"));
	/* +Inf is a real answer (e.g. a quantile in the +Inf bucket). */
	assert_int_equal(s.control[2].kind, SR_OBS_OK);
	assert_true(isinf(s.control[2].value));
	feed(&s, p, 0, 200,
	     VEC(S("search", "canary", "1700000000", "-Inf") "," S("search", "control",
	                                                           "1700000000", "1e-07")));
	assert_int_equal(s.canary[0].kind, SR_OBS_OK);
	assert_true(isinf(s.canary[0].value) && s.canary[0].value < 0);
	assert_true(s.control[0].value == 1e-07);
	free(p);
}

static void test_empty_result_is_noseries_everywhere(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 0, 200, VEC());
	for (int c = 0; c < 2; c++) {
		assert_int_equal(s.canary[c].kind, SR_OBS_NOSERIES);
		assert_int_equal(s.control[c].kind, SR_OBS_NOSERIES);
		assert_true(isnan(s.canary[c].value));
		assert_true(s.canary[c].samples == 0);
	}
	assert_non_null(
	    strstr(snapshot_msg(&s, &s.canary[1]), "no series for journey=pay variant=canary"));
	assert_int_equal(s.canary[2].kind, SR_OBS_NONE);
	free(p);
}

static void test_missing_one_journey(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 0, 200,
	     VEC(S("search", "canary", "1700000000", "10") "," S("search", "control", "1700000000",
	                                                         "11") "," S("pay", "control",
	                                                                     "1700000000", "12")));
	assert_int_equal(s.canary[0].kind, SR_OBS_OK);
	assert_int_equal(s.control[1].kind, SR_OBS_OK);
	/* Only the missing series is NOSERIES. */
	assert_int_equal(s.canary[1].kind, SR_OBS_NOSERIES);
	free(p);
}

static void test_warnings_mark_degraded(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     "{\"status\":\"success\",\"warnings\":[\"partial response: store eu-1 down\"],"
	     "\"data\":{\"resultType\":\"vector\",\"result\":[" G("canary", "1700000000",
	                                                          "0.5") "]}}");
	assert_int_equal(s.canary[2].kind, SR_OBS_OK);
	assert_true(s.canary[2].value == 0.5);
	assert_true(s.canary[2].degraded);
	assert_string_equal(snapshot_msg(&s, &s.canary[2]),
	                    "warning: partial response: store eu-1 down");
	/* The missing control is NOSERIES and carries the warning too. */
	assert_int_equal(s.control[2].kind, SR_OBS_NOSERIES);
	assert_true(s.control[2].degraded);
	/* A clean answer afterwards clears the mark. */
	feed(&s, p, 1, 200, VEC(G("canary", "1700000000", "0.4")));
	assert_false(s.canary[2].degraded);
	assert_string_equal(snapshot_msg(&s, &s.canary[2]), "");
	free(p);
}

/* issue 9: on_warnings decides what a partial answer makes of a cell. */
static void test_on_warnings(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	const char *warned = "{\"status\":\"success\",\"warnings\":[\"partial\"],"
	                     "\"data\":{\"resultType\":\"vector\",\"result\":[" G(
	                         "canary", "1700000000", "0.5") "]}}";
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200, warned);
	promparse_apply_warnings(&s, SR_PROM_WARN_PARTIAL);
	assert_true(s.canary[2].degraded && s.canary[2].kind == SR_OBS_OK);
	feed(&s, p, 1, 200, warned);
	promparse_apply_warnings(&s, SR_PROM_WARN_IGNORE);
	assert_false(s.canary[2].degraded);
	assert_string_equal(snapshot_msg(&s, &s.canary[2]), "warning: partial");
	feed(&s, p, 1, 200, warned);
	promparse_apply_warnings(&s, SR_PROM_WARN_ERROR);
	assert_int_equal(s.canary[2].kind, SR_OBS_ERROR);
	assert_string_equal(snapshot_msg(&s, &s.canary[2]), "partial data: warning: partial");
	free(p);
}

/* issue 9: a dead exporter leaves range queries answering; the liveness
 * answer (newest sample per cohort) dates every cell of the cohort. */
static void test_liveness_dates_cohorts(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	struct sr_prom_result live;
	sr_ms alive[2] = {NOW - 60000, NOW - 60000};
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     VEC(G("control", "1700000000.5", "0.25") "," G("canary", "1700000000.5", "0.5")));
	/* both alive: the control's newest sample is 1.5 s old, the canary's
	 * 0.5 s: data as of then */
	parse(&live, 200, "OK",
	      VEC(G("control", "1700000000.5", "1699999999") "," G("canary", "1700000000.5",
	                                                           "1700000000")));
	promparse_apply_liveness(&s, &live, &L, alive, NOW, 3000);
	promparse_free(&live);
	assert_int_equal(alive[0], 1700000000000LL);
	assert_int_equal(alive[1], 1699999999000LL);
	assert_int_equal(s.canary[2].at, 1700000000000LL);
	assert_int_equal(s.control[2].at, 1699999999000LL);
	assert_int_equal(s.canary[2].kind, SR_OBS_OK);
	/* the canary's exporter died: no series for it any more; its cells
	 * keep the time it was last seen alive, whatever the KPI answers */
	feed(&s, p, 1, 200,
	     VEC(G("control", "1700000000.5", "0.25") "," G("canary", "1700000000.5", "0.5")));
	parse(&live, 200, "OK", VEC(G("control", "1700000000.5", "1700000000.5")));
	promparse_apply_liveness(&s, &live, &L, alive, NOW, 3000);
	promparse_free(&live);
	assert_int_equal(s.canary[2].at, 1700000000000LL);
	assert_int_equal(s.control[2].at, 1700000000500LL);
	/* half a second old: within stale_after, nothing to say */
	assert_string_equal(snapshot_msg(&s, &s.canary[2]), "");
	/* later, the canary still missing: older than stale_after, said */
	promparse_apply_liveness(&s, NULL, &L, alive, NOW + 5000, 3000);
	assert_true(strstr(snapshot_msg(&s, &s.canary[2]), "liveness") != NULL);
	alive[0] = alive[1] = NOW - 60000;
	/* a failed liveness answer proves nothing either */
	feed(&s, p, 1, 200,
	     VEC(G("control", "1700000000.5", "0.25") "," G("canary", "1700000000.5", "0.5")));
	promparse_set_error(&live, "timeout");
	promparse_apply_liveness(&s, &live, &L, alive, NOW, 3000);
	promparse_free(&live);
	assert_int_equal(s.canary[2].at, NOW - 60000);
	assert_int_equal(s.control[2].at, NOW - 60000);
	/* never seen alive (a one-shot status after the exporter died) */
	alive[0] = alive[1] = 0;
	feed(&s, p, 1, 200,
	     VEC(G("control", "1700000000.5", "0.25") "," G("canary", "1700000000.5", "0.5")));
	parse(&live, 200, "OK", VEC(G("control", "1700000000.5", "1700000000.5")));
	promparse_apply_liveness(&s, &live, &L, alive, NOW, 3000);
	promparse_free(&live);
	assert_true(NOW - s.canary[2].at > 3000);
	assert_string_equal(snapshot_msg(&s, &s.canary[2]),
	                    "liveness: no live series for the canary cohort");
	assert_int_equal(s.control[2].at, NOW);
	free(p);
}

static void test_status_error_envelope(void **state)
{
	(void)state;
	struct sr_prom_result r;
	assert_int_equal(parse(&r, 200, "OK",
	                       "{\"status\":\"error\",\"errorType\":\"bad_data\","
	                       "\"error\":\"1:5: parse error: unexpected identifier\"}"),
	                 -1);
	assert_false(r.ok);
	assert_string_equal(r.error, "bad_data: 1:5: parse error: unexpected identifier");
	promparse_free(&r);
	/* The same envelope with its HTTP status (422, 503): both shown. */
	assert_int_equal(parse(&r, 422, "Unprocessable Entity",
	                       "{\"status\":\"error\",\"errorType\":\"execution\","
	                       "\"error\":\"query timed out\"}"),
	                 -1);
	assert_string_equal(r.error, "HTTP 422 Unprocessable Entity: execution: query timed out");
	promparse_free(&r);
}

static void test_non_json_5xx_body(void **state)
{
	(void)state;
	struct sr_prom_result r;
	const char *html =
	    "<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\x1b[31m"
	    "upstream prematurely closed connection while reading response header from "
	    "upstream</body></html>";
	assert_int_equal(parse(&r, 502, "Bad Gateway", html), -1);
	assert_false(r.ok);
	static const char want[] =
	    "HTTP 502 Bad Gateway: <html> <head><title>502 Bad Gateway</title>";
	assert_int_equal(strncmp(r.error, want, strlen(want)), 0);
	/* Sanitised: no ESC reaches the message; at most 80 body bytes. */
	assert_null(strchr(r.error, '\x1b'));
	assert_non_null(strstr(r.error, "<body>?[31m"));
	assert_true(strlen(r.error) <= strlen("HTTP 502 Bad Gateway: ") + 80);
	promparse_free(&r);
	/* No reason phrase, no body. */
	assert_int_equal(promparse_response(&r, 503, NULL, "", 0, 1000, &L), -1);
	assert_string_equal(r.error, "HTTP 503 (empty body)");
	promparse_free(&r);
}

static void test_malformed_keeps_last_value(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     VEC(G("canary", "1700000000", "0.5") "," G("control", "1700000000", "0.3")));
	const char *bad[] = {
	    "{\"status\":\"success\",\"data\":{\"resultType\":", /* truncated */
	    "not json at all",
	    "[1,2,3]",
	    "{\"status\":\"success\"}",                                              /* no data */
	    VEC("{\"metric\":{\"variant\":\"canary\"},\"value\":[\"x\",\"1\"]}"),    /* ts string */
	    VEC("{\"metric\":{\"variant\":\"canary\"},\"value\":[1700000000,1.5]}"), /* value number
	                                                                              */
	    VEC("{\"metric\":{\"variant\":\"canary\"},\"value\":[1700000000,\"fast\"]}"),
	    VEC("{\"metric\":{\"variant\":\"canary\"},\"value\":[1700000000]}"),
	    VEC("{\"metric\":\"canary\",\"value\":[1700000000,\"1\"]}"),
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"tensor\",\"result\":[]}}",
	    "{\"status\":\"success\",\"status\":\"success\",\"data\":{}}", /* duplicate key */
	    "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		feed(&s, p, 1, 200, bad[i]);
		assert_int_equal(s.canary[2].kind, SR_OBS_ERROR);
		assert_int_equal(s.control[2].kind, SR_OBS_ERROR);
		/* The last good value and its time stay, for STALE. */
		assert_true(s.canary[2].value == 0.5);
		assert_int_equal(s.canary[2].at, 1700000000000LL);
		assert_true(strlen(snapshot_msg(&s, &s.canary[2])) > 0);
	}
	struct sr_prom_result r;
	parse(&r, 200, "OK", "{\"status\":\"success\",\"data\":{\"resultType\":");
	assert_non_null(strstr(r.error, "malformed JSON response (line 1"));
	promparse_free(&r);
	free(p);
}

static void test_oversized(void **state)
{
	(void)state;
	struct sr_prom_result r;
	const char *body = VEC(G("canary", "1700000000", "0.5"));
	assert_int_equal(promparse_response(&r, 200, "OK", body, strlen(body), 20, &L), -1);
	assert_non_null(strstr(r.error, "exceeds the 20-byte cap"));
	promparse_free(&r);
	/* Too many series is a query mistake, refused whole. */
	size_t n = SR_PROM_MAX_SERIES + 1, cap = n * 64 + 128, o = 0;
	char *big = malloc(cap);
	o += (size_t)snprintf(big + o, cap - o,
	                      "{\"status\":\"success\",\"data\":{\"resultType\":"
	                      "\"vector\",\"result\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(big + o, cap - o, "%s{\"metric\":{},\"value\":[1,\"1\"]}",
		                      i ? "," : "");
	snprintf(big + o, cap - o, "]}}");
	assert_int_equal(promparse_response(&r, 200, "OK", big, strlen(big), 0, &L), -1);
	assert_non_null(strstr(r.error, "group the query by (journey, variant)"));
	promparse_free(&r);
	free(big);
}

static void test_label_escapes_sanitised(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_prom_result r;
	const char *body = VEC("{\"metric\":{\"journey\":\"search\\u001b[2J\",\"variant\":"
	                       "\"canary\"},\"value\":[1,\"1\"]},"
	                       "{\"metric\":{\"journey\":\"search\",\"variant\":\"canary\\u0007\"},"
	                       "\"value\":[1,\"2\"]},"
	                       "{\"metric\":{\"journey\":\"search\\u009b\",\"variant\":\"canary\"},"
	                       "\"value\":[1,\"3\"]}");
	assert_int_equal(parse(&r, 200, "OK", body), 0);
	assert_int_equal(r.nsamples, 3);
	for (int i = 0; i < 3; i++) {
		for (const char *c = r.samples[i].journey; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		for (const char *c = r.samples[i].variant; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	assert_string_equal(r.samples[0].journey, "search?[2J");
	assert_string_equal(r.samples[1].variant, "canary?");
	/* A cleaned value can never pass for the id it resembles. */
	assert_false(r.samples[0].has_journey);
	assert_false(r.samples[1].has_variant);
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	promparse_fill(&s, p, 0, &r, NULL, &L, NOW);
	assert_int_equal(s.canary[0].kind, SR_OBS_NOSERIES);
	promparse_free(&r);
	/* Error texts from the server are sanitised too. */
	parse(&r, 200, "OK",
	      "{\"status\":\"error\",\"errorType\":\"bad\\u001b]0;x\\u0007\",\"error\":\"e\"}");
	assert_null(strchr(r.error, '\x1b'));
	assert_null(strchr(r.error, '\a'));
	promparse_free(&r);
	free(p);
}

static void test_duplicates_scalar_matrix(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	/* Two canary series (e.g. not grouped by journey): ambiguous. */
	feed(&s, p, 1, 200,
	     VEC("{\"metric\":{\"variant\":\"canary\",\"instance\":\"a\"},\"value\":[1,\"1\"]},"
	         "{\"metric\":{\"variant\":\"canary\",\"instance\":\"b\"},\"value\":[1,\"2\"]}," G(
	             "control", "1", "3")));
	assert_int_equal(s.canary[2].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&s, &s.canary[2]), "2 series match variant=canary"));
	assert_int_equal(s.control[2].kind, SR_OBS_OK);
	/* A scalar cannot tell canary from control. */
	feed(&s, p, 1, 200,
	     "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000."
	     "25,\"7\"]}}");
	assert_int_equal(s.canary[2].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&s, &s.canary[2]), "scalar"));
	struct sr_prom_result r;
	assert_int_equal(parse(&r, 200, "OK",
	                       "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
	                       "\"result\":[1700000000.25,\"7\"]}}"),
	                 0);
	assert_int_equal(r.type, SR_PROM_SCALAR);
	assert_true(r.samples[0].value == 7.0);
	assert_int_equal(r.samples[0].at, 1700000000250LL);
	promparse_free(&r);
	/* A range vector is a query mistake. */
	assert_int_equal(
	    parse(&r, 200, "OK",
	          "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}"),
	    -1);
	assert_non_null(strstr(r.error, "matrix"));
	promparse_free(&r);
	free(p);
}

static void test_samples_query(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	struct sr_prom_result v, n;
	snapshot_clear(&s, p->ncells);
	parse(&v, 200, "OK",
	      VEC(S("search", "canary", "1", "101") "," S("search", "control", "1", "99") "," S(
	          "pay", "canary", "1", "120") "," S("pay", "control", "1", "80")));
	parse(&n, 200, "OK",
	      VEC(S("search", "canary", "1", "42") "," S("search", "control", "1", "900") "," S(
	          "pay", "control", "1", "NaN")));
	promparse_fill(&s, p, 0, &v, &n, &L, NOW);
	assert_true(s.canary[0].samples == 42);
	assert_true(s.control[0].samples == 900);
	/* No count series (or NaN): zero observations, so min_samples holds it. */
	assert_true(s.canary[1].samples == 0);
	assert_true(s.control[1].samples == 0);
	assert_int_equal(s.canary[1].kind, SR_OBS_OK);
	promparse_free(&n);
	/* A failed samples query fails the cell: min_samples cannot be checked. */
	promparse_set_error(&n, "fetch failed: timed out after 10000 ms");
	promparse_fill(&s, p, 0, &v, &n, &L, NOW);
	assert_int_equal(s.canary[0].kind, SR_OBS_ERROR);
	assert_string_equal(snapshot_msg(&s, &s.canary[0]),
	                    "samples query: fetch failed: timed out after 10000 ms");
	assert_true(s.canary[0].value == 101); /* kept */
	promparse_free(&v);
	free(p);
}

static void test_future_timestamp_clamped(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200, VEC(G("canary", "1800000000", "1")));
	assert_int_equal(s.canary[2].at, NOW);
	free(p);
}

static void test_expand(void **state)
{
	(void)state;
	struct sr_policy *p = mk_policy();
	char out[512], err[200];
	assert_int_equal(promparse_expand(out, sizeof out,
	                                  "histogram_quantile({{q}}, sum by (journey, variant, le) "
	                                  "(rate(b{journey=~\"{{journeys}}\"}[{{ window }}])))",
	                                  p, 0, "5m", err, sizeof err),
	                 0);
	assert_string_equal(out, "histogram_quantile(0.95, sum by (journey, variant, le) "
	                         "(rate(b{journey=~\"search|pay\"}[5m])))");
	/* Regex metacharacters in an id are escaped for regex and PromQL. */
	strcpy(p->journeys[1].id, "a.b");
	assert_int_equal(
	    promparse_expand(out, sizeof out, "{{journeys}}", p, 0, "1m", err, sizeof err), 0);
	assert_string_equal(out, "search|a\\\\.b");
	/* A backslash is four (the regex's two, each doubled for the string):
	 * three escaped the closing quote; a control byte is RE2's \xHH. */
	strcpy(p->journeys[1].id, "a\\");
	assert_int_equal(
	    promparse_expand(out, sizeof out, "\"{{journeys}}\"", p, 0, "1m", err, sizeof err), 0);
	assert_string_equal(out, "\"search|a\\\\\\\\\"");
	strcpy(p->journeys[1].id, "a\nb");
	assert_int_equal(
	    promparse_expand(out, sizeof out, "{{journeys}}", p, 0, "1m", err, sizeof err), 0);
	assert_string_equal(out, "search|a\\\\x0Ab");
	assert_int_equal(
	    promparse_expand(out, sizeof out, "x{{nope}}", p, 0, "1m", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown placeholder {{nope}}"));
	assert_int_equal(
	    promparse_expand(out, sizeof out, "x{{window", p, 0, "1m", err, sizeof err), -1);
	assert_int_equal(promparse_expand(out, sizeof out, "{{q}}", p, 1, "1m", err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "quantile"));
	assert_int_equal(
	    promparse_expand(out, sizeof out, "{{journeys}}", p, 1, "1m", err, sizeof err), -1);
	char tiny[8];
	assert_int_equal(
	    promparse_expand(tiny, sizeof tiny, "0123456789", p, 1, "1m", err, sizeof err), -1);
	assert_non_null(strstr(err, "longer"));
	free(p);
}

/* Switch LC_NUMERIC to a comma-decimal locale, generating de_DE.UTF-8
 * into a temporary LOCPATH when the system does not have it. The
 * generated files are removed at once: the C library has mapped them. */
static bool comma_locale(void)
{
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		return true;
	char dir[64], cmd[256];
	snprintf(dir, sizeof dir, "/tmp/sr-locale-XXXXXX");
	if (!mkdtemp(dir))
		return false;
	snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
	         dir);
	bool ok = system(cmd) == 0;
	if (ok) {
		setenv("LOCPATH", dir, 1);
		ok = setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL;
		unsetenv("LOCPATH");
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	return ok;
}

static void test_comma_decimal_locale(void **state)
{
	(void)state;
	if (!comma_locale()) {
		/* `make deps` installs `locales`; without it this is a
		 * broken test machine, not a reason to skip. */
		fail_msg("de_DE.UTF-8 unavailable and localedef failed (install `locales`)");
	}
	/* The locale really is in effect: the C library now reads a comma. */
	bool comma = strtod("0,5", NULL) == 0.5;
	double v = 0;
	bool dot = promparse_value("0.5", &v) && v == 0.5;
	bool no_comma = !promparse_value("0,5", &v);

	struct sr_policy *p = mk_policy();
	struct sr_snapshot s;
	snapshot_clear(&s, p->ncells);
	feed(&s, p, 1, 200,
	     VEC(G("canary", "1700000000.25", "0.5") "," G("control", "1700000000", "1e-07")));
	char out[64], err[128];
	int rc = promparse_expand(out, sizeof out, "{{q}}", p, 0, "1m", err, sizeof err);
	/* Back to "C" before asserting, so a failure leaves no locale behind. */
	setlocale(LC_NUMERIC, "C");
	free(p);

	assert_true(comma);
	assert_true(dot);
	assert_true(no_comma);
	assert_true(s.canary[2].value == 0.5);
	assert_int_equal(s.canary[2].at, 1700000000250LL); /* real JSON number, too */
	assert_true(s.control[2].value == 1e-07);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "0.95");
}

/* The series a KPI query reads: what the rhythm query asks timestamp()
 * of. Functions, keywords, label lists, numbers, durations and strings
 * are not selectors. */
static void test_first_selector(void **state)
{
	(void)state;
	char out[256];
	struct {
		const char *query, *want;
	} cases[] = {
	    {"histogram_quantile(0.95, sum by (le, journey, variant) "
	     "(rate(http_request_duration_seconds_bucket{job=\"app\"}[1m])))",
	     "http_request_duration_seconds_bucket{job=\"app\"}"},
	    {"100 * sum by (variant) (rate(http_requests_total{code=~\"5..\"}[1m]))",
	     "http_requests_total{code=~\"5..\"}"},
	    {"sum(rate(payments_total[5m])) by (variant)", "payments_total"},
	    {"sum by (variant) (rate({__name__=\"x\", a=\"}\"}[1m]))", "{__name__=\"x\", a=\"}\"}"},
	    {"label_replace(up, \"a{b}\", \"c[1m]\", \"\", \"\") or vector(1)", ""},
	    {"1 + 2e3 * 0.95", ""},
	    {"max_over_time(x_y:z [5m] offset 1m)", "x_y:z"},
	    {"rate(broken{a=\"b\"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = promparse_first_selector(cases[i].query, out, sizeof out);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
	}
	/* too long for out: none, not a cut selector */
	char small[8];
	assert_int_equal(promparse_first_selector("rate(a_long_metric[1m])", small, sizeof small),
	                 0);
	assert_string_equal(small, "");
}

/* The rhythm query's answers: a vector (the newest times) or a subquery's
 * matrix (every scrape in the range); the canary's series only when
 * there is one; bad bodies are -1. */
static void test_rhythm_answers(void **state)
{
	(void)state;
	sr_ms t[SR_SAMPLE_TIMES];
	const char *vec =
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
	    "{\"metric\":{\"variant\":\"control\"},\"value\":[1700000100,\"1700000099.9\"]},"
	    "{\"metric\":{\"variant\":\"canary\"},\"value\":[1700000100,\"1700000091.234\"]}]}}";
	assert_int_equal(promparse_rhythm(vec, strlen(vec), 0, &L, t, SR_SAMPLE_TIMES), 1);
	assert_int_equal(t[0], 1700000091234LL);
	const char *mat =
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
	    "{\"metric\":{},\"values\":[[1700000060,\"1700000046.5\"],[1700000061,\"1700000046.5\"]"
	    ","
	    "[1700000075,\"1700000061.5\"],[1700000090,\"1700000076.5\"],[1700000091,\"NaN\"],"
	    "[1700000092,\"oops\"]]}]}}";
	assert_int_equal(promparse_rhythm(mat, strlen(mat), 0, &L, t, SR_SAMPLE_TIMES), 3);
	assert_int_equal(t[0], 1700000046500LL);
	assert_int_equal(t[2], 1700000076500LL);
	/* keeps the newest two of three */
	assert_int_equal(promparse_rhythm(mat, strlen(mat), 0, &L, t, 2), 2);
	assert_int_equal(t[0], 1700000061500LL);
	/* cohorts, but the canary's series gone (its scrapes failing): none */
	const char *nocanary =
	    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
	    "{\"metric\":{\"variant\":\"control\"},\"value\":[1700000100,\"1700000099.9\"]}]}}";
	assert_int_equal(promparse_rhythm(nocanary, strlen(nocanary), 0, &L, t, SR_SAMPLE_TIMES),
	                 0);
	const char *bad[] = {"", "not json", "{\"status\":\"error\"}",
	                     ("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
	                      "\"result\":[1,\"2\"]}}")};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(
		    promparse_rhythm(bad[i], strlen(bad[i]), 0, &L, t, SR_SAMPLE_TIMES), -1);
	assert_int_equal(promparse_rhythm(vec, strlen(vec), 10, &L, t, SR_SAMPLE_TIMES), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_fills_cells),
	    cmocka_unit_test(test_global_kpi_matches_variant_only),
	    cmocka_unit_test(test_value_strings),
	    cmocka_unit_test(test_nan_inf_in_answers),
	    cmocka_unit_test(test_empty_result_is_noseries_everywhere),
	    cmocka_unit_test(test_missing_one_journey),
	    cmocka_unit_test(test_warnings_mark_degraded),
	    cmocka_unit_test(test_status_error_envelope),
	    cmocka_unit_test(test_non_json_5xx_body),
	    cmocka_unit_test(test_malformed_keeps_last_value),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_label_escapes_sanitised),
	    cmocka_unit_test(test_duplicates_scalar_matrix),
	    cmocka_unit_test(test_samples_query),
	    cmocka_unit_test(test_future_timestamp_clamped),
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_comma_decimal_locale),
	    cmocka_unit_test(test_first_selector),
	    cmocka_unit_test(test_rhythm_answers),
	    cmocka_unit_test(test_on_warnings),
	    cmocka_unit_test(test_liveness_dates_cohorts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
