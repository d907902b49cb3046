/* test_http_edge.c - the HTTP edge: templating, JSON pointers, answers,
 * the token file, the config (with the man page's vendor presets), and the
 * whole set -> read-back sequence against a fake REST edge on loopback.
 *
 * The fake edge is a small HTTP/1.1 server on the test's own libuv loop:
 * GET /route answers the current weight and a resourceVersion; PUT /route
 * checks the token and the version (compare-and-set) and stores the
 * weight. Modes make it refuse, ignore, fail or stay silent.
 */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/http_edge.h"

#define TOKEN "s3cr3t-t0ken-v4lue"

static json_t *vars(int weight)
{
	json_t *v = json_object();
	json_object_set_new(v, "weight", json_integer(weight));
	json_object_set_new(v, "stable_weight", json_integer(100 - weight));
	json_object_set_new(v, "weight_fraction", json_real(weight / 100.0));
	json_object_set_new(v, "drain", json_false());
	json_object_set_new(v, "phase", json_string("25%"));
	json_object_set_new(v, "reason", json_string("gate 1 \"GO\" \\ ok\ttab"));
	json_object_set_new(v, "actor", json_string("dri"));
	json_object_set_new(v, "idempotency_key", json_string("sr-1-abc"));
	json_object_set_new(v, "cas", json_integer(42));
	return v;
}

/* ---- templating ------------------------------------------------------------- */

static void test_expand_escapes_by_place(void **state)
{
	(void)state;
	json_t *v = vars(25);
	char err[200];
	char *s = http_tmpl_expand("https://e/x?w={{weight}}&r={{reason}}&k={{ idempotency_key }}",
	                           v, NULL, HTTP_ESC_URL, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s,
	                    "https://e/x?w=25&r=gate%201%20%22GO%22%20%5C%20ok%09tab&k=sr-1-abc");
	free(s);

	s = http_tmpl_expand("{\"r\":\"{{reason}}\",\"w\":{{weight}},\"f\":{{weight_fraction}}}", v,
	                     NULL, HTTP_ESC_JSON, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s,
	                    "{\"r\":\"gate 1 \\\"GO\\\" \\\\ ok\\u0009tab\",\"w\":25,\"f\":0.25}");
	free(s);
	/* a value that looks like a placeholder is text: never expanded, so
	 * a reason typed as "{{token}}" cannot pull the token into a body */
	json_object_set_new(v, "reason", json_string("{{token}}"));
	s = http_tmpl_expand("{\"r\":\"{{reason}}\"}", v, TOKEN, HTTP_ESC_JSON, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "{\"r\":\"{{token}}\"}");
	free(s);
	s = http_tmpl_expand("X-Why: {{reason}}", v, TOKEN, HTTP_ESC_HEADER, err, sizeof err);
	assert_non_null(s);
	assert_null(strstr(s, TOKEN));
	free(s);

	s = http_tmpl_expand("Bearer {{token}}", v, TOKEN, HTTP_ESC_HEADER, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "Bearer " TOKEN);
	free(s);
	/* literal braces that are not a placeholder are an error, not silence */
	assert_null(http_tmpl_expand("a {{ b", v, NULL, HTTP_ESC_RAW, err, sizeof err));
	assert_non_null(strstr(err, "bad placeholder at byte 3"));
	assert_null(http_tmpl_expand("{{Weight}}", v, NULL, HTTP_ESC_RAW, err, sizeof err));
	assert_null(http_tmpl_expand("{{nope}}", v, NULL, HTTP_ESC_RAW, err, sizeof err));
	assert_string_equal(err, "unknown placeholder {{nope}}");
	/* the token only in headers, and never in a message */
	assert_null(
	    http_tmpl_expand("https://e/?t={{token}}", v, TOKEN, HTTP_ESC_URL, err, sizeof err));
	assert_non_null(strstr(err, "only be used in a header"));
	assert_null(strstr(err, TOKEN));
	assert_null(http_tmpl_expand("{{token}}", v, NULL, HTTP_ESC_HEADER, err, sizeof err));
	assert_non_null(strstr(err, "no token_file or token_env"));
	/* a value with a line break cannot smuggle a header */
	json_object_set_new(v, "reason", json_string("x\r\nX-Evil: 1"));
	assert_null(http_tmpl_expand("{{reason}}", v, NULL, HTTP_ESC_HEADER, err, sizeof err));
	assert_non_null(strstr(err, "line break"));
	/* single braces are just text */
	s = http_tmpl_expand("{a} }} {", v, NULL, HTTP_ESC_RAW, err, sizeof err);
	assert_string_equal(s, "{a} }} {");
	free(s);
	json_decref(v);
}

static void test_body_expand(void **state)
{
	(void)state;
	json_t *v = vars(25);
	char err[200];
	/* typed: a lone placeholder takes its JSON type */
	char *s = http_body_expand(
	    "{\"splits\":[{\"w\":\"{{stable_weight}}\"},{\"w\":\"{{weight}}\"}],"
	    "\"f\":\"{{weight_fraction}}\",\"d\":\"{{drain}}\",\"cas\":\"{{cas}}\","
	    "\"note\":\"{{phase}} by {{actor}}: {{reason}}\",\"n\":null,\"k\":7}",
	    true, v, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s,
	                    "{\"splits\":[{\"w\":75},{\"w\":25}],\"f\":0.25,\"d\":false,\"cas\":42,"
	                    "\"note\":\"25% by dri: gate 1 \\\"GO\\\" \\\\ ok\\ttab\",\"n\":null,"
	                    "\"k\":7}");
	free(s);
	/* text: escaped inside strings, then it must parse */
	s = http_body_expand("{\"note\": \"{{reason}}\", \"w\": {{weight}}}", false, v, err,
	                     sizeof err);
	assert_non_null(s);
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "note")),
	                    "gate 1 \"GO\" \\ ok\ttab");
	assert_int_equal(json_integer_value(json_object_get(j, "w")), 25);
	json_decref(j);
	free(s);
	/* a string placeholder outside quotes does not make JSON */
	assert_null(http_body_expand("{\"note\": {{reason}}}", false, v, err, sizeof err));
	assert_non_null(strstr(err, "not valid JSON after substitution"));
	/* the token never goes into a body */
	assert_null(http_body_expand("{\"t\":\"{{token}}\"}", true, v, err, sizeof err));
	assert_null(http_body_expand("{\"t\":\"x{{token}}\"}", true, v, err, sizeof err));
	assert_null(http_body_expand("{\"t\":\"{{token}}\"}", false, v, err, sizeof err));
	json_decref(v);
}

static void test_json_pointer_rfc6901(void **state)
{
	(void)state;
	/* the example document of RFC 6901 section 5 */
	json_t *d = json_loads("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
	                       "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}",
	                       0, NULL);
	assert_non_null(d);
	assert_ptr_equal(http_json_pointer(d, ""), d);
	assert_string_equal(json_string_value(http_json_pointer(d, "/foo/0")), "bar");
	static const struct {
		const char *p;
		int v;
	} ints[] = {{"/", 0},     {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
	            {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7},   {"/m~0n", 8}};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
		assert_int_equal(json_integer_value(http_json_pointer(d, ints[i].p)), ints[i].v);
	static const char *const bad[] = {"foo",   "/foo/01", "/foo/-",   "/foo/2",
	                                  "/m~2n", "/nope",   "/foo/0/x", "/foo/"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_null(http_json_pointer(d, bad[i]));
	json_decref(d);
}

static void test_parse_weight(void **state)
{
	(void)state;
	char err[200];
	int w = -1;
	const char *cf = "{\"result\":{\"origins\":[{\"weight\":0.75},{\"weight\":0.25}]}}";
	assert_int_equal(http_edge_parse_weight(cf, strlen(cf), "/result/origins/1/weight", 100, &w,
	                                        err, sizeof err),
	                 0);
	assert_int_equal(w, 25);
	const char *envoy =
	    "{\"entries\":{\"routing.traffic_shift.checkout\":{\"final_value\":\"5\"}}}";
	assert_int_equal(
	    http_edge_parse_weight(envoy, strlen(envoy),
	                           "/entries/routing.traffic_shift.checkout/final_value", 1, &w,
	                           err, sizeof err),
	    0);
	assert_int_equal(w, 5);
	const char *consul = "{\"Splits\":[{\"Weight\":50},{\"Weight\":50.0}]}";
	assert_int_equal(http_edge_parse_weight(consul, strlen(consul), "/Splits/1/Weight", 1, &w,
	                                        err, sizeof err),
	                 0);
	assert_int_equal(w, 50);

	w = -7;
	static const struct {
		const char *body, *ptr, *msg;
	} bad[] = {
	    {"{\"w\":101}", "/w", "outside 0..100"}, {"{\"w\":-3}", "/w", "outside 0..100"},
	    {"{\"w\":true}", "/w", "not a number"},  {"{\"w\":\"abc\"}", "/w", "not a number"},
	    {"{\"w\":5}", "/x", "no value at /x"},   {"<html>502</html>", "/w", "not JSON"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(http_edge_parse_weight(bad[i].body, strlen(bad[i].body),
		                                        bad[i].ptr, 1, &w, err, sizeof err),
		                 -1);
		if (!strstr(err, bad[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
	}
	assert_int_equal(w, -7);
}

static void test_check_status(void **state)
{
	(void)state;
	char err[300];
	assert_int_equal(http_edge_check_status(200, "OK", "", 0, TOKEN, err, sizeof err), 0);
	assert_int_equal(http_edge_check_status(204, "", NULL, 0, TOKEN, err, sizeof err), 0);
	const char *body = "{\"error\":\"bad token " TOKEN "\",\n\"hint\":\"\x1b[31mretry\"}";
	assert_int_equal(
	    http_edge_check_status(409, "Conflict", body, strlen(body), TOKEN, err, sizeof err),
	    HTTP_EDGE_ERR_REFUSED);
	assert_string_equal(err, "HTTP 409 Conflict: {\"error\":\"bad token [redacted]\", "
	                         "\"hint\":\"?[31mretry\"}");
	assert_int_equal(
	    http_edge_check_status(503, "Service Unavailable", "", 0, NULL, err, sizeof err),
	    HTTP_EDGE_ERR_TRANSIENT);
	assert_string_equal(err, "HTTP 503 Service Unavailable");
	assert_int_equal(http_edge_check_status(429, "", "slow down", 9, NULL, err, sizeof err),
	                 HTTP_EDGE_ERR_TRANSIENT);
	assert_int_equal(http_edge_check_status(403, "Forbidden", "", 0, NULL, err, sizeof err),
	                 HTTP_EDGE_ERR_REFUSED);
	/* a long body is cut, the token beyond the cut still redacted first */
	char big[1000];
	memset(big, 'x', sizeof big);
	memcpy(big + 190, TOKEN, strlen(TOKEN));
	assert_int_equal(
	    http_edge_check_status(400, "Bad Request", big, sizeof big, TOKEN, err, sizeof err),
	    HTTP_EDGE_ERR_REFUSED);
	assert_null(strstr(err, "s3cr3t"));
	assert_true(strlen(err) < 240);
}

static void test_read_token(void **state)
{
	(void)state;
	char dir[] = "/tmp/sr-tok-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64], tok[128], err[300];
	snprintf(path, sizeof path, "%s/t", dir);
	FILE *f = fopen(path, "w");
	fputs(TOKEN "\n", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, TOKEN));
	chmod(path, 0600);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), 0);
	assert_string_equal(tok, TOKEN);
	chmod(path, 0400);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), 0);
	/* two lines, empty, too long, missing */
	f = fopen(path, "w");
	fputs("a\nb\n", f);
	fclose(f);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), -1);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), -1);
	assert_int_equal(http_edge_read_token(path, tok, 4, err, sizeof err), -1);
	unlink(path);
	assert_int_equal(http_edge_read_token(path, tok, sizeof tok, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));
	rmdir(dir);
}

/* ---- config, and the presets documented in the man page ------------------------ */

static int cfg(const char *text, struct sr_http_edge_config *c, char *err, size_t n)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s (line %d col %d)", je.text, je.line, je.column);
	int r = http_edge_config_from_json(c, j, err, n);
	json_decref(j);
	return r;
}

static const char *const PRESETS[] = {
    /* Cloudflare load balancer pool: origin weights are fractions */
    "{\"kind\":\"http\",\"token_env\":\"CF_API_TOKEN\","
    "\"get\":{\"url\":\"https://api.cloudflare.com/client/v4/accounts/ACCOUNT/load_balancers/"
    "pools/POOL\",\"headers\":{\"Authorization\":\"Bearer {{token}}\"},"
    "\"weight_pointer\":\"/result/origins/1/weight\",\"weight_scale\":100},"
    "\"set\":{\"method\":\"PATCH\",\"url\":\"https://api.cloudflare.com/client/v4/accounts/ACCOUNT/"
    "load_balancers/pools/POOL\",\"headers\":{\"Authorization\":\"Bearer {{token}}\"},"
    "\"body\":{\"origins\":[{\"name\":\"stable\",\"address\":\"stable.example.com\","
    "\"weight\":\"{{stable_weight_fraction}}\"},{\"name\":\"canary\","
    "\"address\":\"canary.example.com\",\"weight\":\"{{weight_fraction}}\"}]}}}",
    /* Consul service-splitter, compare-and-set on ModifyIndex */
    "{\"kind\":\"http\",\"token_file\":\"/etc/shiproom/consul.token\","
    "\"captures\":{\"cas\":\"/ModifyIndex\"},"
    "\"get\":{\"url\":\"http://127.0.0.1:8500/v1/config/service-splitter/checkout\","
    "\"headers\":{\"X-Consul-Token\":\"{{token}}\"},\"weight_pointer\":\"/Splits/1/Weight\"},"
    "\"set\":{\"method\":\"PUT\",\"url\":\"http://127.0.0.1:8500/v1/config?cas={{cas}}\","
    "\"headers\":{\"X-Consul-Token\":\"{{token}}\"},"
    "\"body\":{\"Kind\":\"service-splitter\",\"Name\":\"checkout\",\"Splits\":["
    "{\"Weight\":\"{{stable_weight}}\",\"ServiceSubset\":\"stable\"},"
    "{\"Weight\":\"{{weight}}\",\"ServiceSubset\":\"canary\"}]}}}",
    /* Gateway API HTTPRoute: JSON patch guarded by a test on resourceVersion */
    "{\"kind\":\"http\",\"token_file\":\"/var/run/secrets/kubernetes.io/serviceaccount/token\","
    "\"ca_file\":\"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt\","
    "\"captures\":{\"resource_version\":\"/metadata/resourceVersion\"},"
    "\"get\":{\"url\":\"https://kubernetes.default.svc/apis/gateway.networking.k8s.io/v1/"
    "namespaces/shop/httproutes/checkout\",\"headers\":{\"Authorization\":\"Bearer {{token}}\"},"
    "\"weight_pointer\":\"/spec/rules/0/backendRefs/1/weight\"},"
    "\"set\":{\"method\":\"PATCH\",\"url\":\"https://kubernetes.default.svc/apis/"
    "gateway.networking.k8s.io/v1/namespaces/shop/httproutes/checkout\","
    "\"headers\":{\"Authorization\":\"Bearer {{token}}\","
    "\"Content-Type\":\"application/json-patch+json\"},\"body\":["
    "{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"{{resource_version}}\"},"
    "{\"op\":\"replace\",\"path\":\"/spec/rules/0/backendRefs/0/weight\","
    "\"value\":\"{{stable_weight}}\"},"
    "{\"op\":\"replace\",\"path\":\"/spec/rules/0/backendRefs/1/"
    "weight\",\"value\":\"{{weight}}\"}]}}",
    /* Envoy admin runtime_modify: a POST with the value in the query */
    "{\"kind\":\"http\",\"timeout_ms\":2000,"
    "\"get\":{\"url\":\"http://127.0.0.1:9901/runtime\","
    "\"weight_pointer\":\"/entries/routing.traffic_shift.checkout/final_value\"},"
    "\"set\":{\"method\":\"POST\",\"url\":\"http://127.0.0.1:9901/runtime_modify?"
    "routing.traffic_shift.checkout={{weight}}\"}}",
};

static void test_config_presets_and_errors(void **state)
{
	(void)state;
	struct sr_http_edge_config c;
	char err[300];
	for (size_t i = 0; i < sizeof PRESETS / sizeof *PRESETS; i++)
		if (cfg(PRESETS[i], &c, err, sizeof err) != 0)
			fail_msg("preset %zu: %s", i, err);
	/* the Consul preset as read */
	assert_int_equal(cfg(PRESETS[1], &c, err, sizeof err), 0);
	assert_string_equal(c.set.method, "PUT");
	assert_string_equal(c.get.method, "GET");
	assert_int_equal(c.ncaptures, 1);
	assert_string_equal(c.capture_name[0], "cas");
	assert_string_equal(c.capture_pointer[0], "/ModifyIndex");
	assert_true(c.set.body_is_json);
	assert_int_equal(c.set.nheaders, 1);
	assert_string_equal(c.token_file, "/etc/shiproom/consul.token");
	assert_int_equal(c.timeout_ms, HTTP_EDGE_TIMEOUT_DEFAULT_MS);
	assert_true(c.weight_scale == 1.0);

	const char *g = "\"get\":{\"url\":\"http://e/r\",\"weight_pointer\":\"/w\"}";
	static const struct {
		const char *set, *extra, *msg;
	} bad[] = {
	    {"{\"url\":\"http://e/r\"}", ",\"tokens\":\"x\"", "/tokens: unknown key"},
	    {"{\"url\":\"ftp://e/r\"}", "", "/set/url: must start with http"},
	    {"{\"url\":\"http://e/r?t={{token}}\"}", "", "/set/url: {{token}} may only"},
	    {"{\"url\":\"http://e/r\",\"body\":{\"t\":\"{{token}}\"}}", "", "/set/body:"},
	    {"{\"url\":\"http://e/{{wieght}}\"}", "", "/set/url: unknown placeholder {{wieght}}"},
	    {"{\"url\":\"http://e/r\",\"method\":\"TRACE\"}", "", "/set/method:"},
	    {"{\"url\":\"http://e/r\",\"headers\":{\"X Bad\":\"1\"}}", "",
	     "/set/headers: bad header"},
	    {"{\"url\":\"http://e/r\",\"headers\":{\"X\":5}}", "",
	     "/set/headers/X: must be a string"},
	    {"{\"url\":\"http://e/r\",\"body\":\"{\\\"w\\\": {{reason}}}\"}", "",
	     "/set/body: the body"},
	    {"{\"url\":\"http://e/r\"}", ",\"token_file\":\"/a\",\"token_env\":\"B\"",
	     "/token_env:"},
	    {"{\"url\":\"http://e/r\"}", ",\"captures\":{\"weight\":\"/w\"}", "/captures/weight:"},
	    {"{\"url\":\"http://e/r\"}", ",\"captures\":{\"v\":\"w\"}",
	     "/captures/v: a JSON pointer"},
	    {"{\"url\":\"http://e/r\"}", ",\"timeout_ms\":5", "/timeout_ms:"},
	    {"{\"url\":\"http://e/r\",\"frobnicate\":1}", "", "/set/frobnicate: unknown key"},
	    {"{\"method\":\"GET\",\"url\":\"http://e/r\",\"body\":\"{}\"}", "", "/set/body: a GET"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[1024];
		snprintf(text, sizeof text, "{\"kind\":\"http\",%s,\"set\":%s%s}", g, bad[i].set,
		         bad[i].extra);
		err[0] = '\0';
		if (cfg(text, &c, err, sizeof err) != -1 ||
		    strncmp(err, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err, bad[i].msg);
	}
	/* A credential header holds the token, never a literal secret: the
	 * policy file's mode is not checked. The error names the header and
	 * where the secret should come from, never the value. */
	static const struct {
		const char *name, *value;
	} creds[] = {
	    {"Authorization", "Bearer hunter2"},
	    {"authorization", "Basic aHVudGVyMg=="},
	    {"Proxy-Authorization", "Bearer hunter2"},
	    {"Cookie", "session=hunter2"},
	    {"X-API-Key", "hunter2"},
	    {"X-Consul-Token", "hunter2"},
	    {"X-Client-Secret", "hunter2"},
	    {"X-Api-Key", "hunter2{{token}}"},
	    {"Authorization", "Bearer {{weight}}"},
	    {"Authorization", "Bearer hunter2 {{token}}"},
	};
	for (size_t i = 0; i < sizeof creds / sizeof *creds; i++) {
		char text[1024], want[96];
		snprintf(
		    text, sizeof text,
		    "{\"kind\":\"http\",\"token_env\":\"T\",%s,\"set\":{\"url\":\"http://e/r\","
		    "\"headers\":{\"%s\":\"%s\"}}}",
		    g, creds[i].name, creds[i].value);
		err[0] = '\0';
		if (cfg(text, &c, err, sizeof err) != -1)
			fail_msg("case %zu: %s: %s accepted", i, creds[i].name, creds[i].value);
		snprintf(want, sizeof want, "/set/headers/%s: a credential", creds[i].name);
		if (strncmp(err, want, strlen(want)) || !strstr(err, "{{token}}") ||
		    !strstr(err, "token_file") || !strstr(err, "0600") || !strstr(err, "token_env"))
			fail_msg("case %zu: \"%s\"", i, err);
		assert_null(strstr(err, "hunter2"));
		assert_null(strstr(err, "aHVudGVyMg"));
	}
	/* built from {{token}} (with a scheme, or a cookie name) is the way */
	static const struct {
		const char *name, *value;
	} ok[] = {
	    {"Authorization", "Bearer {{token}}"},
	    {"Authorization", "Bearer {{ token }}"},
	    {"X-API-Key", "{{token}}"},
	    {"Cookie", "session={{token}}"},
	    {"Idempotency-Key", "{{idempotency_key}}"},
	    {"X-Keyspace", "k"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		char text[1024];
		snprintf(
		    text, sizeof text,
		    "{\"kind\":\"http\",\"token_env\":\"T\",%s,\"set\":{\"url\":\"http://e/r\","
		    "\"headers\":{\"%s\":\"%s\"}}}",
		    g, ok[i].name, ok[i].value);
		if (cfg(text, &c, err, sizeof err) != 0)
			fail_msg("ok case %zu: %s: %s refused: %s", i, ok[i].name, ok[i].value,
			         err);
	}
	/* the GET's headers are checked the same way */
	assert_int_equal(cfg("{\"kind\":\"http\",\"get\":{\"url\":\"http://e\",\"weight_pointer\":"
	                     "\"/w\",\"headers\":{\"X-Auth-Token\":\"hunter2\"}},\"set\":{\"url\":"
	                     "\"http://e\"}}",
	                     &c, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "/get/headers/X-Auth-Token: a credential"));
	assert_null(strstr(err, "hunter2"));

	assert_int_equal(
	    cfg("{\"kind\":\"http\",\"set\":{\"url\":\"http://e\"}}", &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "/get: missing"));
	assert_int_equal(cfg("{\"kind\":\"http\",\"get\":{\"url\":\"http://e\"},\"set\":{\"url\":"
	                     "\"http://e\"}}",
	                     &c, err, sizeof err),
	                 -1);
	assert_string_equal(err, "/get/weight_pointer: missing");
	/* the GET runs before captures exist, so it cannot use them */
	assert_int_equal(cfg("{\"kind\":\"http\",\"captures\":{\"v\":\"/v\"},\"get\":{\"url\":"
	                     "\"http://e/{{v}}\",\"weight_pointer\":\"/w\"},\"set\":{\"url\":"
	                     "\"http://e\"}}",
	                     &c, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "/get/url: unknown placeholder {{v}}"));
}

/* ---- a fake REST edge on the test's loop ------------------------------------------ */

enum fake_mode { F_NORMAL, F_CONFLICT, F_IGNORE, F_503, F_SILENT };

struct fake_edge {
	uv_tcp_t server;
	int port;
	enum fake_mode mode;
	int weight;
	int version;
	int requests;
	char last_method[8];
	char last_path[256];
	char last_auth[128];
	char last_idem[128];
	char last_body[2048];
	uv_tcp_t *silent[4];
	int nsilent;
};

struct fconn {
	uv_tcp_t tcp;
	struct fake_edge *f;
	char buf[8192];
	size_t len;
	uv_write_t w;
	char out[2048];
};

static uv_loop_t g_loop;

static void fconn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void fconn_written(uv_write_t *w, int status)
{
	(void)status;
	uv_close((uv_handle_t *)w->handle, fconn_closed);
}

static void fconn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	(void)sz;
	struct fconn *c = h->data;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

static void header_value(const char *head, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	char pat[64];
	snprintf(pat, sizeof pat, "\r\n%s:", name);
	const char *p = strcasestr(head, pat);
	if (!p)
		return;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	size_t l = strcspn(p, "\r\n");
	snprintf(out, n, "%.*s", (int)l, p);
}

static void respond(struct fconn *c, int status, const char *reason, const char *body)
{
	int len = snprintf(
	    c->out, sizeof c->out,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s",
	    status, reason, strlen(body), body);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)len);
	c->w.data = c;
	uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, fconn_written);
}

static void handle(struct fconn *c, const char *head, const char *body)
{
	struct fake_edge *f = c->f;
	f->requests++;
	sscanf(head, "%7s %255s", f->last_method, f->last_path);
	header_value(head, "Authorization", f->last_auth, sizeof f->last_auth);
	header_value(head, "Idempotency-Key", f->last_idem, sizeof f->last_idem);
	snprintf(f->last_body, sizeof f->last_body, "%s", body);
	char out[512];
	if (f->mode == F_503) {
		respond(c, 503, "Service Unavailable", "{\"error\":\"upstream down\"}");
		return;
	}
	if (strcmp(f->last_method, "GET") == 0) {
		snprintf(out, sizeof out,
		         "{\"metadata\":{\"resourceVersion\":\"rv%d\"},\"spec\":{\"canary\":{"
		         "\"weight\":%d}}}",
		         f->version, f->weight);
		respond(c, 200, "OK", out);
		return;
	}
	if (strcmp(f->last_auth, "Bearer " TOKEN) != 0) {
		respond(c, 401, "Unauthorized", "{\"error\":\"bad token\"}");
		return;
	}
	json_t *j = json_loads(body, 0, NULL);
	char want[32];
	snprintf(want, sizeof want, "rv%d", f->version);
	const char *got = json_string_value(json_object_get(j, "version"));
	if (f->mode == F_CONFLICT || !got || strcmp(got, want) != 0) {
		/* a careless API that echoes the credentials in its error */
		snprintf(out, sizeof out, "{\"error\":\"version conflict for Bearer " TOKEN "\"}");
		respond(c, 409, "Conflict", out);
	} else {
		if (f->mode != F_IGNORE) {
			f->weight = (int)json_integer_value(json_object_get(j, "canary"));
			f->version++;
		}
		respond(c, 200, "OK", "{\"ok\":true}");
	}
	json_decref(j);
}

static void fconn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	(void)b;
	struct fconn *c = s->data;
	if (nread < 0) {
		uv_close((uv_handle_t *)s, fconn_closed);
		return;
	}
	c->len += (size_t)nread;
	c->buf[c->len] = '\0';
	char *end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return;
	char cl[16];
	*end = '\0';
	header_value(c->buf, "Content-Length", cl, sizeof cl);
	size_t need = (size_t)atoi(cl);
	const char *body = end + 4;
	if ((size_t)(c->buf + c->len - body) < need) {
		*end = '\r';
		return;
	}
	uv_read_stop(s);
	if (c->f->mode == F_SILENT) {
		if (c->f->nsilent < 4)
			c->f->silent[c->f->nsilent++] = &c->tcp;
		return;
	}
	handle(c, c->buf, body);
}

static void fake_accept(uv_stream_t *srv, int status)
{
	struct fake_edge *f = srv->data;
	if (status < 0)
		return;
	struct fconn *c = calloc(1, sizeof *c);
	c->f = f;
	uv_tcp_init(&g_loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, fconn_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, fconn_alloc, fconn_read);
}

static void fake_start(struct fake_edge *f)
{
	struct sockaddr_in sa;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	uv_tcp_init(&g_loop, &f->server);
	f->server.data = f;
	assert_int_equal(uv_tcp_bind(&f->server, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->server, 16, fake_accept), 0);
	int sl = sizeof sa;
	uv_tcp_getsockname(&f->server, (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
}

static void drain_loop(void)
{
	for (int i = 0; i < 30; i++)
		uv_run(&g_loop, UV_RUN_NOWAIT);
}

static void fake_stop(struct fake_edge *f)
{
	for (int i = 0; i < f->nsilent; i++)
		uv_close((uv_handle_t *)f->silent[i], fconn_closed);
	uv_close((uv_handle_t *)&f->server, NULL);
	drain_loop();
}

struct result {
	bool done;
	int calls, result, weight;
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

static void guard_fire(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

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
}

/* The shape of a Gateway-API-like edge: read, compare-and-set, read back. */
static struct sr_edge *edge_for(struct fake_edge *f, int timeout_ms)
{
	char text[2048];
	snprintf(
	    text, sizeof text,
	    "{\"kind\":\"http\",\"token_env\":\"SR_TEST_EDGE_TOKEN\",\"timeout_ms\":%d,"
	    "\"captures\":{\"rv\":\"/metadata/resourceVersion\"},"
	    "\"get\":{\"url\":\"http://127.0.0.1:%d/route\",\"weight_pointer\":"
	    "\"/spec/canary/weight\"},"
	    "\"set\":{\"method\":\"PUT\",\"url\":\"http://127.0.0.1:%d/route?note={{reason}}\","
	    "\"headers\":{\"Authorization\":\"Bearer {{token}}\","
	    "\"Idempotency-Key\":\"{{idempotency_key}}\"},"
	    "\"body\":{\"canary\":\"{{weight}}\",\"stable\":\"{{stable_weight}}\","
	    "\"version\":\"{{rv}}\",\"note\":\"{{phase}} by {{actor}}: {{reason}}\"}}}",
	    timeout_ms, f->port, f->port);
	struct sr_http_edge_config c;
	char err[300];
	if (cfg(text, &c, err, sizeof err) != 0)
		fail_msg("config: %s", err);
	setenv("SR_TEST_EDGE_TOKEN", TOKEN, 1);
	struct sr_edge *e = http_edge_create(&g_loop, &c, err, sizeof err);
	if (!e)
		fail_msg("create: %s", err);
	return e;
}

static void set_weight(struct sr_edge *e, int w, struct result *r)
{
	memset(r, 0, sizeof *r);
	e->ops->set_weight(e, w, false, "sr-key-1", on_edge, r);
	assert_false(r->done);
	run_until(&r->done);
	assert_int_equal(r->calls, 1);
}

static void test_live_set_and_read_back(void **state)
{
	(void)state;
	struct fake_edge f = {.weight = 5, .version = 7};
	fake_start(&f);
	struct sr_edge *e = edge_for(&f, 5000);
	http_edge_set_context(e, "25%", "gate 1 \"GO\"", "dri");
	struct result r;
	set_weight(e, 25, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 25);
	assert_string_equal(r.err, "");
	assert_int_equal(f.weight, 25);
	assert_int_equal(f.version, 8);
	assert_int_equal(f.requests, 3); /* capture GET, PUT, read-back GET */
	assert_string_equal(f.last_method, "GET");

	/* an edge that answers 200 but does not apply the change */
	f.mode = F_IGNORE;
	set_weight(e, 50, &r);
	assert_int_equal(r.result, HTTP_EDGE_ERR_REFUSED);
	assert_int_equal(r.weight, 25);
	assert_non_null(strstr(r.err, "read-back differs: the edge reports 25%, expected 50%"));

	memset(&r, 0, sizeof r);
	e->ops->get_weight(e, on_edge, &r);
	run_until(&r.done);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 25);
	e->ops->destroy(e);
	drain_loop();
	fake_stop(&f);
}

static void test_live_request_contents(void **state)
{
	(void)state;
	struct fake_edge f = {.weight = 0, .version = 1};
	fake_start(&f);
	struct sr_edge *e = edge_for(&f, 5000);
	http_edge_set_context(e, "5%", "T-0 \"go\" \\o/", "dri");
	struct result r;
	memset(&r, 0, sizeof r);
	e->ops->set_weight(e, 5, false, "sr-key-9", on_edge, &r);
	/* run until the PUT has been handled */
	while (f.requests < 2 && !r.done)
		uv_run(&g_loop, UV_RUN_ONCE);
	assert_string_equal(f.last_method, "PUT");
	assert_string_equal(f.last_path, "/route?note=T-0%20%22go%22%20%5Co%2F");
	assert_string_equal(f.last_auth, "Bearer " TOKEN);
	assert_string_equal(f.last_idem, "sr-key-9");
	json_t *j = json_loads(f.last_body, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "canary")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "stable")), 95);
	assert_string_equal(json_string_value(json_object_get(j, "version")), "rv1");
	assert_string_equal(json_string_value(json_object_get(j, "note")),
	                    "5% by dri: T-0 \"go\" \\o/");
	json_decref(j);
	run_until(&r.done);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.weight, 5);
	e->ops->destroy(e);
	drain_loop();
	fake_stop(&f);
}

static void test_live_refusal_redacts_token(void **state)
{
	(void)state;
	struct fake_edge f = {.weight = 5, .version = 1, .mode = F_CONFLICT};
	fake_start(&f);
	struct sr_edge *e = edge_for(&f, 5000);
	struct result r;
	set_weight(e, 25, &r);
	assert_int_equal(r.result, HTTP_EDGE_ERR_REFUSED);
	assert_int_equal(r.weight, -1);
	assert_non_null(strstr(r.err, "PUT http://127.0.0.1:"));
	assert_non_null(strstr(r.err, "HTTP 409 Conflict"));
	assert_non_null(strstr(r.err, "Bearer [redacted]"));
	assert_null(strstr(r.err, TOKEN));
	assert_null(strstr(r.err, "note=")); /* no query in messages */
	assert_int_equal(f.weight, 5);
	f.mode = F_503;
	set_weight(e, 25, &r);
	assert_int_equal(r.result, HTTP_EDGE_ERR_TRANSIENT);
	assert_non_null(strstr(r.err, "HTTP 503"));
	e->ops->destroy(e);
	drain_loop();
	fake_stop(&f);
}

static void test_live_unreachable_and_silent(void **state)
{
	(void)state;
	struct fake_edge f = {.weight = 5, .version = 1, .mode = F_SILENT};
	fake_start(&f);
	struct sr_edge *e = edge_for(&f, 300);
	struct result r;
	set_weight(e, 25, &r);
	assert_int_equal(r.result, HTTP_EDGE_ERR_TRANSIENT);
	assert_non_null(strstr(r.err, "GET http://127.0.0.1:"));
	e->ops->destroy(e);
	drain_loop();
	int port = f.port;
	fake_stop(&f);

	/* nothing listens there any more */
	f.port = port;
	e = edge_for(&f, 5000);
	set_weight(e, 25, &r);
	assert_int_equal(r.result, HTTP_EDGE_ERR_TRANSIENT);
	assert_non_null(strstr(r.err, "GET http://127.0.0.1:"));
	e->ops->destroy(e);
	drain_loop();
}

static void test_create_needs_the_token(void **state)
{
	(void)state;
	struct fake_edge f = {.port = 9};
	unsetenv("SR_TEST_EDGE_TOKEN");
	char text[1024], err[300];
	snprintf(text, sizeof text,
	         "{\"kind\":\"http\",\"token_env\":\"SR_TEST_EDGE_TOKEN\","
	         "\"get\":{\"url\":\"http://127.0.0.1:%d/r\",\"weight_pointer\":\"/w\"},"
	         "\"set\":{\"url\":\"http://127.0.0.1:%d/r\",\"headers\":{\"A\":\"{{token}}\"}}}",
	         f.port, f.port);
	struct sr_http_edge_config c;
	assert_int_equal(cfg(text, &c, err, sizeof err), 0);
	assert_null(http_edge_create(&g_loop, &c, err, sizeof err));
	assert_non_null(strstr(err, "SR_TEST_EDGE_TOKEN is unset"));
	/* and a header that wants a token when none is configured */
	c.token_env[0] = '\0';
	assert_null(http_edge_create(&g_loop, &c, err, sizeof err));
	assert_non_null(strstr(err, "no token_file or token_env"));
}

static int loop_setup(void **state)
{
	(void)state;
	return uv_loop_init(&g_loop);
}

static int loop_teardown(void **state)
{
	(void)state;
	drain_loop();
	return uv_loop_close(&g_loop) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand_escapes_by_place),
	    cmocka_unit_test(test_body_expand),
	    cmocka_unit_test(test_json_pointer_rfc6901),
	    cmocka_unit_test(test_parse_weight),
	    cmocka_unit_test(test_check_status),
	    cmocka_unit_test(test_read_token),
	    cmocka_unit_test(test_config_presets_and_errors),
	    cmocka_unit_test(test_live_set_and_read_back),
	    cmocka_unit_test(test_live_request_contents),
	    cmocka_unit_test(test_live_refusal_redacts_token),
	    cmocka_unit_test(test_live_unreachable_and_silent),
	    cmocka_unit_test(test_create_needs_the_token),
	};
	return cmocka_run_group_tests_name("http edge", tests, loop_setup, loop_teardown);
}
