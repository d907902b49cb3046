/* test_etcd.c - the pure parts of the etcd client: the gateway's answers
 * (recorded from etcd 3.4.23), base64, prefix ends, the store object;
 * and what etcd_open refuses before contacting anyone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/common.h"
#include "shiproom/etcd.h"
#include "shiproom/secret.h"

#define HDR                                                                                        \
	"\"header\":{\"cluster_id\":\"15404220644022491797\",\"member_id\":"                       \
	"\"16232846552391270285\",\"revision\":\"%s\",\"raft_term\":\"2\"}"

static int parse(const char *kind, const char *body, struct sr_etcd_kvs *kvs, bool *ok,
                 long long *num, char *err, size_t n)
{
	return etcd_parse_answer(kind, body, strlen(body), kvs, ok, num, err, n);
}

static void test_range_answers(void **state)
{
	(void)state;
	struct sr_etcd_kvs r;
	long long rev = -1;
	char err[256];
	/* Two keys, a limit that cut the answer. */
	const char *body =
	    "{\"header\":{\"revision\":\"4\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L2EvMQ==\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"b25l\"}"
	    ","
	    "{\"key\":\"L2EvMg==\",\"create_revision\":\"3\",\"mod_revision\":\"5\",\"version\":"
	    "\"2\","
	    "\"value\":\"dHdv\",\"lease\":\"7587876543210\"}],\"more\":true,\"count\":\"3\"}";
	assert_int_equal(parse("range", body, &r, NULL, &rev, err, sizeof err), SR_ETCD_OK);
	assert_int_equal(rev, 4);
	assert_int_equal(r.n, 2);
	assert_true(r.more);
	assert_string_equal(r.kv[0].key, "/a/1");
	assert_int_equal(r.kv[0].klen, 4);
	assert_string_equal(r.kv[0].value, "one");
	assert_int_equal(r.kv[0].lease, 0); /* left out: no lease */
	assert_int_equal(r.kv[1].mod_revision, 5);
	assert_int_equal(r.kv[1].version, 2);
	assert_int_equal(r.kv[1].lease, 7587876543210LL);
	etcd_kvs_free(&r);
	assert_int_equal(r.n, 0);
	assert_null(r.kv);

	/* Nothing found: no "kvs", no "more", no "count". */
	assert_int_equal(
	    parse("range", "{\"header\":{\"revision\":\"8\"}}", &r, NULL, &rev, err, sizeof err),
	    SR_ETCD_OK);
	assert_int_equal(r.n, 0);
	assert_false(r.more);
	assert_int_equal(rev, 8);

	/* An empty value and zero fields are left out; a value with a NUL. */
	body = "{\"kvs\":[{\"key\":\"aw==\"},{\"key\":\"aw==\",\"value\":\"YQBi\",\"version\":"
	       "\"1\"}]}";
	assert_int_equal(parse("range", body, &r, NULL, &rev, err, sizeof err), SR_ETCD_OK);
	assert_int_equal(rev, 0);
	assert_string_equal(r.kv[0].value, "");
	assert_int_equal(r.kv[0].vlen, 0);
	assert_int_equal(r.kv[0].create_revision, 0);
	assert_int_equal(r.kv[0].version, 0);
	assert_int_equal(r.kv[1].vlen, 3);
	assert_memory_equal(r.kv[1].value, "a\0b", 4);
	etcd_kvs_free(&r);
}

static void test_txn_answers(void **state)
{
	(void)state;
	struct sr_etcd_kvs r;
	bool ok = true;
	long long rev = 0;
	char err[256], body[1024];
	/* A failed compare: no "succeeded"; the failure branch read the key. */
	snprintf(body, sizeof body,
	         "{" HDR ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"2\"},"
	         "\"kvs\":[{\"key\":\"azE=\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
	         "\"version\":\"1\",\"value\":\"djE=\"}],\"count\":\"1\"}}]}",
	         "2");
	assert_int_equal(parse("txn", body, &r, &ok, &rev, err, sizeof err), SR_ETCD_OK);
	assert_false(ok);
	assert_int_equal(rev, 2);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.kv[0].key, "k1");
	assert_string_equal(r.kv[0].value, "v1");
	etcd_kvs_free(&r);

	/* Success with a put and two ranges: their kvs in op order. */
	snprintf(body, sizeof body,
	         "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":{}}},"
	         "{\"response_range\":{\"kvs\":[{\"key\":\"YQ==\"}]}},"
	         "{\"response_range\":{\"kvs\":[{\"key\":\"Yg==\"}],\"more\":true}}]}",
	         "9");
	assert_int_equal(parse("txn", body, &r, &ok, &rev, err, sizeof err), SR_ETCD_OK);
	assert_true(ok);
	assert_int_equal(rev, 9);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.kv[0].key, "a");
	assert_string_equal(r.kv[1].key, "b");
	assert_true(r.more);
	etcd_kvs_free(&r);

	/* No kvs wanted. */
	assert_int_equal(parse("txn", "{\"succeeded\":true}", NULL, &ok, NULL, err, sizeof err),
	                 SR_ETCD_OK);
	assert_true(ok);
}

static void test_lease_answers(void **state)
{
	(void)state;
	long long num = 0;
	char err[256];
	assert_int_equal(parse("grant",
	                       "{\"header\":{\"revision\":\"2\"},\"ID\":\"7201152703948380176\","
	                       "\"TTL\":\"5\"}",
	                       NULL, NULL, &num, err, sizeof err),
	                 SR_ETCD_OK);
	assert_int_equal(num, 7201152703948380176LL);
	assert_int_equal(parse("grant", "{\"header\":{}}", NULL, NULL, &num, err, sizeof err),
	                 SR_ETCD_REFUSED);
	assert_non_null(strstr(err, "no lease ID"));
	/* keepalive streams {"result": ...}; a lease that is gone has no TTL. */
	assert_int_equal(parse("keepalive",
	                       "{\"result\":{\"header\":{},\"ID\":\"1\",\"TTL\":\"4\"}}", NULL,
	                       NULL, &num, err, sizeof err),
	                 SR_ETCD_OK);
	assert_int_equal(num, 4);
	assert_int_equal(parse("keepalive",
	                       "{\"result\":{\"header\":{\"revision\":\"2\"},\"ID\":\"123\"}}\n"
	                       "{\"result\":{}}",
	                       NULL, NULL, &num, err, sizeof err),
	                 SR_ETCD_OK);
	assert_int_equal(num, 0);
	assert_int_equal(
	    parse("keepalive", "{\"result\":{\"TTL\":\"0\"}}", NULL, NULL, &num, err, sizeof err),
	    SR_ETCD_OK);
	assert_int_equal(num, 0);
	assert_int_equal(parse("delete", "{\"header\":{\"revision\":\"3\"},\"deleted\":\"2\"}",
	                       NULL, NULL, &num, err, sizeof err),
	                 SR_ETCD_OK);
	assert_int_equal(num, 2);
	assert_int_equal(parse("auth", "{\"header\":{},\"token\":\"abc.def\"}", NULL, NULL, NULL,
	                       err, sizeof err),
	                 SR_ETCD_OK);
	assert_int_equal(parse("auth", "{\"header\":{}}", NULL, NULL, NULL, err, sizeof err),
	                 SR_ETCD_REFUSED);
}

static void test_error_answers(void **state)
{
	(void)state;
	char err[256];
	bool ok = true;
	struct sr_etcd_kvs r;
	static const struct {
		const char *body;
		int rc;
		const char *msg;
	} cases[] = {
	    {"{\"error\":\"etcdserver: requested lease not found\",\"message\":\"etcdserver: "
	     "requested lease not found\",\"code\":5}",
	     SR_ETCD_REFUSED, "etcdserver: requested lease not found (code 5)"},
	    {"{\"error\":\"etcdserver: authentication failed, invalid user ID or password\","
	     "\"message\":\"etcdserver: authentication failed, invalid user ID or password\","
	     "\"code\":3}",
	     SR_ETCD_REFUSED, "authentication failed"},
	    {"{\"error\":\"etcdserver: no leader\",\"message\":\"etcdserver: no "
	     "leader\",\"code\":14}",
	     SR_ETCD_UNAVAILABLE, "no leader (code 14)"},
	    {"{\"error\":\"x\",\"message\":\"etcdserver: request timed out\",\"code\":4}",
	     SR_ETCD_UNAVAILABLE, "timed out"},
	    {"{\"error\":\"x\",\"message\":\"etcdserver: too many requests\",\"code\":8}",
	     SR_ETCD_UNAVAILABLE, "too many"},
	    /* the NOSPACE alarm: it answers, and takes no write anywhere */
	    {"{\"error\":\"etcdserver: mvcc: database space exceeded\",\"message\":\"etcdserver: "
	     "mvcc: database space exceeded\",\"code\":8}",
	     SR_ETCD_FULL, "database space exceeded (code 8)"},
	    {"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport is "
	     "closing\"}}",
	     SR_ETCD_UNAVAILABLE, "transport is closing (code 14)"},
	    {"{\"error\":\"x\",\"message\":\"evil \\u001b[2J text\",\"code\":7}", SR_ETCD_REFUSED,
	     "evil ?[2J text (code 7)"},
	    {"{\"error\":\"only this\",\"code\":\"13\"}", SR_ETCD_REFUSED, "only this (code 13)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(parse("txn", cases[i].body, &r, &ok, NULL, err, sizeof err),
		                 cases[i].rc);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
		assert_false(ok);
		assert_int_equal(r.n, 0);
	}
	/* An empty "error" string (LeaseGrantResponse has one) is no error. */
	long long num;
	assert_int_equal(
	    parse("grant", "{\"ID\":\"5\",\"error\":\"\"}", NULL, NULL, &num, err, sizeof err),
	    SR_ETCD_OK);
}

static void test_malformed_answers(void **state)
{
	(void)state;
	char err[256];
	struct sr_etcd_kvs r;
	static const char *const bodies[] = {
	    "",
	    "not json",
	    "[1]",
	    "\"x\"",
	    "{\"kvs\":{}}",
	    "{\"kvs\":[1]}",
	    "{\"kvs\":[{\"key\":\"a\"}]}", /* not base64 (length) */
	    "{\"kvs\":[{\"key\":\"YQ==\",\"value\":5}]}",
	    "{\"kvs\":[{\"key\":\"YQ==\",\"version\":\"1x\"}]}",
	    "{\"kvs\":[{\"key\":\"YQ==\",\"lease\":\"99999999999999999999\"}]}",
	    "{\"more\":\"yes\"}",
	    "{\"header\":[]}",
	    "{\"header\":{\"revision\":true}}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		if (parse("range", bodies[i], &r, NULL, NULL, err, sizeof err) != SR_ETCD_REFUSED)
			fail_msg("accepted: %s", bodies[i]);
		assert_non_null(strstr(err, "malformed answer"));
		assert_int_equal(r.n, 0);
		assert_null(r.kv);
	}
	bool ok;
	assert_int_equal(parse("txn", "{\"succeeded\":1}", NULL, &ok, NULL, err, sizeof err),
	                 SR_ETCD_REFUSED);
	assert_int_equal(parse("txn", "{\"responses\":[{\"response_range\":[]}]}", NULL, &ok, NULL,
	                       err, sizeof err),
	                 SR_ETCD_REFUSED);
	assert_int_equal(parse("watch", "{}", NULL, NULL, NULL, err, sizeof err), SR_ETCD_REFUSED);
	assert_non_null(strstr(err, "unknown answer kind"));
}

static void b64_ok(const char *plain, size_t len, const char *enc)
{
	char *e = sr_b64_encode(plain, len);
	assert_string_equal(e, enc);
	size_t dl = 99;
	char *d = sr_b64_decode(enc, strlen(enc), &dl);
	assert_non_null(d);
	assert_int_equal(dl, len);
	assert_memory_equal(d, plain, len);
	assert_int_equal(d[len], '\0');
	free(e);
	free(d);
}

static void test_base64(void **state)
{
	(void)state;
	/* RFC 4648 section 10, and bytes that are not text. */
	b64_ok("", 0, "");
	b64_ok("f", 1, "Zg==");
	b64_ok("fo", 2, "Zm8=");
	b64_ok("foo", 3, "Zm9v");
	b64_ok("foob", 4, "Zm9vYg==");
	b64_ok("fooba", 5, "Zm9vYmE=");
	b64_ok("foobar", 6, "Zm9vYmFy");
	b64_ok("\0", 1, "AA==");
	b64_ok("\xff\xfe\xfd", 3, "//79");
	b64_ok("\xfb\xff", 2, "+/8=");
	static const char *const bad[] = {
	    "Zg",       /* no padding */
	    "Zg=",      /* length */
	    "Zg=a",     /* data after '=' */
	    "Z===",     /* three '=' */
	    "====",     /* only padding */
	    "Zh==",     /* leftover bits set: not the one encoding of "f" */
	    "Zm9=",     /* the same with one '=' */
	    "Zm9v\n",   /* a newline */
	    "Zm 9",     /* a space */
	    "Zm-_",     /* the URL-safe alphabet */
	    "Zg==Zg==", /* padding in the middle */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t dl;
		char *d = sr_b64_decode(bad[i], strlen(bad[i]), &dl);
		if (d)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* Every byte value survives the round trip. */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	for (size_t len = 0; len <= 256; len += 37) {
		char *e = sr_b64_encode(all, len);
		size_t dl;
		char *d = sr_b64_decode(e, strlen(e), &dl);
		assert_int_equal(dl, len);
		assert_memory_equal(d, all, len);
		free(e);
		free(d);
	}
}

static void test_prefix_end(void **state)
{
	(void)state;
	char out[32];
	etcd_prefix_end("/shiproom/x/", out, sizeof out);
	assert_string_equal(out, "/shiproom/x0");
	etcd_prefix_end("a", out, sizeof out);
	assert_string_equal(out, "b");
	etcd_prefix_end("a\xff", out, sizeof out);
	assert_string_equal(out, "b");
	etcd_prefix_end("\xff\xff", out, sizeof out); /* nothing to increment: to the end */
	assert_string_equal(out, "");
	etcd_prefix_end("", out, sizeof out);
	assert_string_equal(out, "");
}

static int cfg(const char *json, struct sr_etcd_config *c, char *err, size_t n)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);
	if (!o)
		fail_msg("test JSON: %s", je.text);
	int r = etcd_config_from_json(c, o, err, n);
	json_decref(o);
	return r;
}

static void test_config(void **state)
{
	(void)state;
	struct sr_etcd_config c;
	char err[512];
	assert_int_equal(cfg("{\"kind\":\"etcd\",\"endpoints\":[\"https://e1:2379\",\"https://"
	                     "[::1]:2379\"],\"prefix\":\"/p/x\",\"ca_file\":\"/ca.pem\","
	                     "\"cert_file\":\"/c.pem\",\"key_file\":\"/k.pem\",\"username\":\"u\","
	                     "\"password_file\":\"/pw\",\"timeout_ms\":250,\"lease_ttl_s\":3}",
	                     &c, err, sizeof err),
	                 0);
	assert_int_equal(c.nendpoints, 2);
	assert_string_equal(c.endpoints[1], "https://[::1]:2379");
	assert_string_equal(c.prefix, "/p/x");
	assert_string_equal(c.key_file, "/k.pem");
	assert_int_equal(c.timeout_ms, 250);
	assert_int_equal(c.lease_ttl_s, 3);
	assert_int_equal(cfg("{\"endpoints\":[\"http://127.0.0.1:2379\"]}", &c, err, sizeof err),
	                 0);
	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.lease_ttl_s, 5);
	assert_string_equal(c.prefix, ""); /* the policy fills it */

	static const struct {
		const char *json, *err;
	} bad[] = {
	    {"[]", "store: must be an object"},
	    {"{}", "store.endpoints: required"},
	    {"{\"kind\":\"dir\",\"endpoints\":[\"http://a:1\"]}", "store.kind: must be \"etcd\""},
	    {"{\"endpoints\":[]}", "store.endpoints: must be a non-empty array"},
	    {"{\"endpoints\":\"http://a:1\"}", "store.endpoints: must be a non-empty array"},
	    {"{\"endpoints\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}",
	     "store.endpoints: 9 endpoints, at most 8"},
	    {"{\"endpoints\":[\"http://a:1\",\"unix:///s\"]}",
	     "store.endpoints[1]: must be http://"},
	    {"{\"endpoints\":[\"http://a:1/v3\"]}", "store.endpoints[0]: must be http://"},
	    {"{\"endpoints\":[\"http://u:p@a:1\"]}", "store.endpoints[0]: must be http://"},
	    {"{\"endpoints\":[\"http://\"]}", "store.endpoints[0]: must be http://"},
	    {"{\"endpoints\":[5]}", "store.endpoints[0]: must be a string"},
	    {"{\"endpoints\":[\"http://a:1\",\"http://a:1\"]}",
	     "store.endpoints[1]: the same as endpoints[0]"},
	    {"{\"endpoints\":[\"http://a:1\\u0007\"]}", "store.endpoints[0]: must be non-empty"},
	    {"{\"endpoints\":[\"http://a:1\"],\"prefix\":\"p\"}",
	     "store.prefix: must start with '/'"},
	    {"{\"endpoints\":[\"http://a:1\"],\"prefix\":\"/p/\"}", "store.prefix: must start"},
	    {"{\"endpoints\":[\"http://a:1\"],\"prefix\":\"/\"}", "store.prefix: must start"},
	    {"{\"endpoints\":[\"http://a:1\"],\"timeout_ms\":10}",
	     "store.timeout_ms: must be an integer from 50 to 60000"},
	    {"{\"endpoints\":[\"http://a:1\"],\"lease_ttl_s\":2.5}", "store.lease_ttl_s: must be"},
	    {"{\"endpoints\":[\"https://a:1\"],\"cert_file\":\"/c\"}",
	     "store.cert_file: cert_file and key_file go together"},
	    {"{\"endpoints\":[\"https://a:1\"],\"key_file\":\"/k\"}", "store.key_file: cert_file"},
	    {"{\"endpoints\":[\"http://a:1\"],\"password_file\":\"/pw\"}",
	     "store.password_file: needs a username"},
	    {"{\"endpoints\":[\"https://a:1\",\"http://b:1\"],\"ca_file\":\"/ca\"}",
	     "store.endpoints[1]: ca_file and cert_file need https endpoints"},
	    {"{\"endpoints\":[\"http://a:1\"],\"username\":\"a b\"}", "store.username: must not"},
	    {"{\"endpoints\":[\"http://a:1\"],\"pasword\":\"x\"}",
	     "store.pasword: unknown key (known: kind, endpoints"},
	    {"{\"endpoints\":[\"http://a:1\"],\"x\\u001b[1m\":1}", "store.x?[1m: unknown key"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (cfg(bad[i].json, &c, err, sizeof err) != -1 ||
		    strncmp(err, bad[i].err, strlen(bad[i].err)))
			fail_msg("%s: got \"%s\", want \"%s...\"", bad[i].json, err, bad[i].err);
	}
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Faults etcd_open finds before any member is asked, with messages that
 * name the file or variable and never a secret; and a dead endpoint is
 * "unavailable" naming it. */
static void test_open(void **state)
{
	(void)state;
	char dir[] = "/tmp/sr-etcd-XXXXXX", pw[128], key[128], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(pw, sizeof pw, "%s/pw", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	struct sr_etcd_config c;
	etcd_config_defaults(&c);
	c.nendpoints = 1;
	snprintf(c.endpoints[0], sizeof c.endpoints[0], "http://127.0.0.1:1"); /* nobody */
	c.timeout_ms = 300;

	/* A username without any password. */
	snprintf(c.username, sizeof c.username, "shiproom");
	unsetenv("SHIPROOM_ETCD_PASSWORD");
	assert_null(etcd_open(&c, err, sizeof err));
	assert_non_null(strstr(err, "SHIPROOM_ETCD_PASSWORD"));
	assert_true(secret_load_failed());

	/* A password file others can read: refused, its content unsaid. */
	put_file(pw, "hunter2-secret\n", 0644);
	snprintf(c.password_file, sizeof c.password_file, "%s", pw);
	assert_null(etcd_open(&c, err, sizeof err));
	assert_non_null(strstr(err, pw));
	assert_null(strstr(err, "hunter2"));

	/* A key file others can read. */
	c.username[0] = c.password_file[0] = '\0';
	put_file(key, "-----BEGIN PRIVATE KEY-----\n", 0640);
	snprintf(c.cert_file, sizeof c.cert_file, "%s", key);
	snprintf(c.key_file, sizeof c.key_file, "%s", key);
	assert_null(etcd_open(&c, err, sizeof err));
	assert_non_null(strstr(err, "store.key_file"));
	assert_non_null(strstr(err, "chmod 600"));
	c.cert_file[0] = c.key_file[0] = '\0';
	snprintf(c.ca_file, sizeof c.ca_file, "%s/missing-ca.pem", dir);
	assert_null(etcd_open(&c, err, sizeof err));
	assert_non_null(strstr(err, "store.ca_file"));
	c.ca_file[0] = '\0';

	/* Nothing listening: every call is "unavailable", naming the member. */
	struct sr_etcd *e = etcd_open(&c, err, sizeof err);
	assert_non_null(e);
	assert_string_equal(etcd_endpoint(e), "");
	assert_int_equal(etcd_put(e, "/k", "v", 1, 0, err, sizeof err), SR_ETCD_UNAVAILABLE);
	assert_non_null(strstr(err, "http://127.0.0.1:1: connection refused"));
	struct sr_etcd_kvs r;
	assert_int_equal(etcd_range(e, "/k", "", 0, &r, err, sizeof err), SR_ETCD_UNAVAILABLE);
	assert_int_equal(r.n, 0);
	bool ok = true;
	struct sr_etcd_op op = {.kind = SR_ETCD_OP_PUT, .key = "/k", .value = "v", .vlen = 1};
	assert_int_equal(etcd_txn(e, NULL, 0, &op, 1, NULL, 0, &ok, NULL, NULL, err, sizeof err),
	                 SR_ETCD_UNAVAILABLE);
	assert_false(ok);
	etcd_close(e);

	unlink(pw);
	unlink(key);
	rmdir(dir);
	secret_forget_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_answers),
	    cmocka_unit_test(test_txn_answers),
	    cmocka_unit_test(test_lease_answers),
	    cmocka_unit_test(test_error_answers),
	    cmocka_unit_test(test_malformed_answers),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_prefix_end),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests_name("etcd", tests, NULL, NULL);
}
