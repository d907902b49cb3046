/* etcd.c - a synchronous client of etcd v3's JSON gateway (etcd.h).
 *
 * One libcurl easy handle for the client's life, so the connection to
 * the member that answered last is reused. A call tries the endpoints in
 * order from the one that answered last: a transport failure (refused,
 * timed out, reset) or an answer meaning "try again" (no leader, no
 * quorum) moves on to the next; any other answer ends the call. So one
 * dead member costs a refused connection, one paused member a timeout,
 * and a cluster without quorum SR_ETCD_UNAVAILABLE after every endpoint
 * was asked once.
 *
 * A write that timed out may still have been applied by the member: the
 * next endpoint then sees its effect. A txn guarded by compares then
 * reports succeeded = false for a write that did happen, and the caller
 * (the store) must read the head again before deciding it lost.
 *
 * The answer parser (etcd_parse_answer) is pure and holds every
 * knowledge of the gateway's JSON: base64 keys and values, 64-bit numbers
 * as strings, fields at their zero value left out, errors as
 * {"error","code","message"} or, from the streaming keepalive,
 * {"error":{"grpc_code","message"}}.
 */
#include "shiproom/curl_load.h"
#include "shiproom/etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/common.h"
#include "shiproom/http.h"
#include "shiproom/secret.h"

#define ANSWER_MAX (16u * 1024u * 1024u) /* a range over a long journal fits */
#define PASSWORD_MAX 256
#define TOKEN_MAX 512
#define PASSWORD_ENV "SHIPROOM_ETCD_PASSWORD"

struct sr_etcd {
	struct sr_etcd_config c;
	CURL *easy;
	int cur;                       /* the endpoint tried first */
	char last[SR_ETCD_URL_LEN];    /* the endpoint that answered last */
	char password[PASSWORD_MAX];   /* "" when no username */
	char token[TOKEN_MAX];         /* "" before authenticating */
	char auth_hdr[TOKEN_MAX + 32]; /* "Authorization: <token>" */
	struct sr_http_body ans;       /* the answer being received */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- small helpers ----------------------------------------------------- */

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Outside text into err: controls replaced, secrets redacted. */
static void err_clean(char *err, size_t n)
{
	sr_sanitize(err, err, n);
	secret_scrub(err, n);
}

/* ---- configuration ------------------------------------------------------ */

void etcd_config_defaults(struct sr_etcd_config *c)
{
	memset(c, 0, sizeof *c);
	c->timeout_ms = 1000;
	c->lease_ttl_s = 5;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int cfg_string(const json_t *v, const char *key, char *dst, size_t dn, char *err, size_t n)
{
	if (!json_is_string(v)) {
		snprintf(err, n, "store.%s: must be a string", key);
		return -1;
	}
	const char *s = json_string_value(v);
	if (!s[0] || !printable(s) || strlen(s) != json_string_length(v)) {
		snprintf(err, n, "store.%s: must be non-empty, without control characters", key);
		return -1;
	}
	if (!sr_strlcpy(dst, s, dn)) {
		snprintf(err, n, "store.%s: longer than %zu bytes", key, dn - 1);
		return -1;
	}
	return 0;
}

static int cfg_int(const json_t *v, const char *key, int lo, int hi, int *dst, char *err, size_t n)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, n, "store.%s: must be an integer from %d to %d", key, lo, hi);
		return -1;
	}
	*dst = (int)json_integer_value(v);
	return 0;
}

static int cfg_endpoints(struct sr_etcd_config *c, const json_t *v, char *err, size_t n)
{
	if (!json_is_array(v) || json_array_size(v) == 0) {
		snprintf(err, n, "store.endpoints: must be a non-empty array of URLs");
		return -1;
	}
	if (json_array_size(v) > SR_ETCD_MAX_ENDPOINTS) {
		snprintf(err, n, "store.endpoints: %zu endpoints, at most %d", json_array_size(v),
		         SR_ETCD_MAX_ENDPOINTS);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *u = json_array_get(v, i);
		char key[32];
		snprintf(key, sizeof key, "endpoints[%zu]", i);
		if (cfg_string(u, key, c->endpoints[i], SR_ETCD_URL_LEN, err, n) < 0)
			return -1;
		const char *s = c->endpoints[i];
		const char *host = !strncmp(s, "http://", 7)    ? s + 7
		                   : !strncmp(s, "https://", 8) ? s + 8
		                                                : NULL;
		if (!host || !host[0] || strchr(host, '/') || strchr(s, ' ') || strchr(s, '?') ||
		    strchr(s, '#') || strchr(host, '@')) {
			snprintf(err, n,
			         "store.%s: must be http://host:port or https://host:port, "
			         "without a path or credentials",
			         key);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->endpoints[j], s)) {
				snprintf(err, n, "store.%s: the same as endpoints[%zu]", key, j);
				return -1;
			}
	}
	c->nendpoints = (int)json_array_size(v);
	return 0;
}

int etcd_config_from_json(struct sr_etcd_config *c, const json_t *store_obj, char *err, size_t n)
{
	const char *key;
	json_t *v;
	etcd_config_defaults(c);
	if (!json_is_object(store_obj)) {
		snprintf(err, n, "store: must be an object");
		return -1;
	}
	json_object_foreach((json_t *)store_obj, key, v)
	{
		int r;
		if (!strcmp(key, "kind")) {
			r = json_is_string(v) && !strcmp(json_string_value(v), "etcd") ? 0 : -1;
			if (r < 0)
				snprintf(err, n, "store.kind: must be \"etcd\" here");
		} else if (!strcmp(key, "endpoints")) {
			r = cfg_endpoints(c, v, err, n);
		} else if (!strcmp(key, "prefix")) {
			r = cfg_string(v, key, c->prefix, sizeof c->prefix, err, n);
			size_t len = strlen(c->prefix);
			if (r == 0 &&
			    (c->prefix[0] != '/' || c->prefix[len - 1] == '/' || len < 2)) {
				snprintf(err, n,
				         "store.prefix: must start with '/' and not end with one "
				         "(\"/shiproom/checkout-v2\")");
				r = -1;
			}
		} else if (!strcmp(key, "ca_file")) {
			r = cfg_string(v, key, c->ca_file, sizeof c->ca_file, err, n);
		} else if (!strcmp(key, "cert_file")) {
			r = cfg_string(v, key, c->cert_file, sizeof c->cert_file, err, n);
		} else if (!strcmp(key, "key_file")) {
			r = cfg_string(v, key, c->key_file, sizeof c->key_file, err, n);
		} else if (!strcmp(key, "username")) {
			r = cfg_string(v, key, c->username, sizeof c->username, err, n);
			if (r == 0 && strchr(c->username, ' ')) {
				snprintf(err, n, "store.username: must not contain spaces");
				r = -1;
			}
		} else if (!strcmp(key, "password_file")) {
			r = cfg_string(v, key, c->password_file, sizeof c->password_file, err, n);
		} else if (!strcmp(key, "timeout_ms")) {
			r = cfg_int(v, key, 50, 60000, &c->timeout_ms, err, n);
		} else if (!strcmp(key, "lease_ttl_s")) {
			r = cfg_int(v, key, 2, 60, &c->lease_ttl_s, err, n);
		} else {
			char shown[48];
			sr_sanitize(shown, key, sizeof shown);
			snprintf(err, n,
			         "store.%s: unknown key (known: kind, endpoints, prefix, ca_file, "
			         "cert_file, key_file, username, password_file, timeout_ms, "
			         "lease_ttl_s)",
			         shown);
			r = -1;
		}
		if (r < 0)
			return -1;
	}
	if (c->nendpoints == 0) {
		snprintf(err, n,
		         "store.endpoints: required for the etcd store "
		         "(e.g. [\"https://etcd-1:2379\", \"https://etcd-2:2379\"])");
		return -1;
	}
	if (!c->cert_file[0] != !c->key_file[0]) {
		snprintf(err, n, "store.%s: cert_file and key_file go together",
		         c->cert_file[0] ? "cert_file" : "key_file");
		return -1;
	}
	if (c->password_file[0] && !c->username[0]) {
		snprintf(err, n, "store.password_file: needs a username");
		return -1;
	}
	for (int i = 0; i < c->nendpoints; i++)
		if ((c->ca_file[0] || c->cert_file[0]) && strncmp(c->endpoints[i], "https://", 8)) {
			snprintf(err, n,
			         "store.endpoints[%d]: ca_file and cert_file need https endpoints",
			         i);
			return -1;
		}
	return 0;
}

/* ---- answers ------------------------------------------------------------- */

void etcd_kvs_free(struct sr_etcd_kvs *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++) {
		free(r->kv[i].key);
		free(r->kv[i].value);
	}
	free(r->kv);
	memset(r, 0, sizeof *r);
}

/* A 64-bit number as the gateway writes it: a decimal string (or, from
 * a proxy that re-encoded it, a JSON integer). Absent: 0. */
static int get_int64(const json_t *o, const char *name, long long *out)
{
	const json_t *v = json_object_get(o, name);
	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	char *end;
	if (!s[0] || strlen(s) != json_string_length(v) ||
	    (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int get_bytes(const json_t *o, const char *name, char **out, size_t *len)
{
	const json_t *v = json_object_get(o, name);
	*out = NULL;
	*len = 0;
	if (!v) {
		*out = calloc(1, 1); /* the empty value is left out */
		return *out ? 0 : -1;
	}
	if (!json_is_string(v))
		return -1;
	*out = sr_b64_decode(json_string_value(v), json_string_length(v), len);
	return *out ? 0 : -1;
}

static int bad(char *err, size_t n, const char *what)
{
	snprintf(err, n, "malformed answer: %s", what);
	return SR_ETCD_REFUSED;
}

static int add_kvs(const json_t *arr, struct sr_etcd_kvs *kvs, char *err, size_t n)
{
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bad(err, n, "kvs is not an array");
	size_t add = json_array_size(arr);
	if (add == 0)
		return 0;
	if (add > (size_t)(INT32_MAX - kvs->n))
		return bad(err, n, "too many kvs");
	struct sr_etcd_kv *kv = realloc(kvs->kv, ((size_t)kvs->n + add) * sizeof *kv);
	if (!kv)
		return bad(err, n, "out of memory");
	kvs->kv = kv;
	for (size_t i = 0; i < add; i++) {
		const json_t *o = json_array_get(arr, i);
		struct sr_etcd_kv *k = &kvs->kv[kvs->n];
		memset(k, 0, sizeof *k);
		if (!json_is_object(o))
			return bad(err, n, "a kv is not an object");
		if (get_bytes(o, "key", &k->key, &k->klen) < 0 ||
		    get_bytes(o, "value", &k->value, &k->vlen) < 0) {
			free(k->key);
			free(k->value);
			return bad(err, n, "a kv's key or value is not base64");
		}
		kvs->n++;
		if (get_int64(o, "create_revision", &k->create_revision) < 0 ||
		    get_int64(o, "mod_revision", &k->mod_revision) < 0 ||
		    get_int64(o, "version", &k->version) < 0 ||
		    get_int64(o, "lease", &k->lease) < 0)
			return bad(err, n, "a kv's revision, version or lease is not a number");
	}
	return 0;
}

/* An error answer: 14 Unavailable and 4 DeadlineExceeded, and the
 * messages etcd sends when it has no leader or is overloaded, are worth
 * retrying elsewhere or later; the rest are not. */
static int error_answer(const json_t *root, char *err, size_t n)
{
	const json_t *e = json_object_get(root, "error");
	const json_t *msgv = json_object_get(root, "message");
	long long code = 0;
	if (json_is_object(e)) { /* the streaming form */
		msgv = json_object_get(e, "message");
		if (get_int64(e, "grpc_code", &code) < 0 ||
		    (!code && get_int64(e, "code", &code) < 0))
			code = 0;
	} else if (get_int64(root, "code", &code) < 0) {
		code = 0;
	}
	const char *msg = json_is_string(msgv) ? json_string_value(msgv)
	                  : json_is_string(e)  ? json_string_value(e)
	                                       : "an error without a message";
	snprintf(err, n, "%s (code %lld)", msg, code);
	sr_sanitize(err, err, n); /* the cluster's words, into our messages */
	if (code == 14 || code == 4 || strstr(msg, "no leader") ||
	    strstr(msg, "too many requests") || strstr(msg, "leader changed") ||
	    strstr(msg, "timed out"))
		return SR_ETCD_UNAVAILABLE;
	if (code == 8 || strstr(msg, "database space exceeded"))
		return SR_ETCD_FULL; /* every member says the same: not retried elsewhere */
	return SR_ETCD_REFUSED;
}

static bool is_error(const json_t *root)
{
	const json_t *e = json_object_get(root, "error");
	return json_is_object(e) || (json_is_string(e) && json_string_length(e) > 0);
}

int etcd_parse_answer(const char *kind, const char *body, size_t len, struct sr_etcd_kvs *kvs,
                      bool *succeeded, long long *num, char *err, size_t n)
{
	json_error_t je;
	int rc = SR_ETCD_OK;
	struct sr_etcd_kvs scratch;
	if (!kvs)
		kvs = &scratch;
	memset(kvs, 0, sizeof *kvs);
	if (succeeded)
		*succeeded = false;
	if (num)
		*num = 0;
	if (err && n)
		err[0] = '\0';
	/* The streaming keepalive may send more than one object: the first. */
	json_t *root = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return bad(err, n, "not a JSON object");
	}
	const json_t *o = root;
	const json_t *res = json_object_get(root, "result");
	if (json_is_object(res) && !is_error(root))
		o = res;
	if (is_error(root)) {
		rc = error_answer(root, err, n);
		goto out;
	}
	long long rev = 0, v = 0;
	const json_t *hdr = json_object_get(o, "header");
	if (hdr && (!json_is_object(hdr) || get_int64(hdr, "revision", &rev) < 0)) {
		rc = bad(err, n, "header");
		goto out;
	}
	if (!strcmp(kind, "range") || !strcmp(kind, "put") || !strcmp(kind, "revoke")) {
		const json_t *more = json_object_get(o, "more");
		if (more && !json_is_boolean(more)) {
			rc = bad(err, n, "more is not a boolean");
			goto out;
		}
		kvs->more = json_is_true(more);
		rc = add_kvs(json_object_get(o, "kvs"), kvs, err, n);
		v = rev;
	} else if (!strcmp(kind, "delete")) {
		if (get_int64(o, "deleted", &v) < 0)
			rc = bad(err, n, "deleted is not a number");
	} else if (!strcmp(kind, "txn")) {
		const json_t *s = json_object_get(o, "succeeded");
		const json_t *rs = json_object_get(o, "responses");
		if (s && !json_is_boolean(s))
			rc = bad(err, n, "succeeded is not a boolean");
		else if (rs && !json_is_array(rs))
			rc = bad(err, n, "responses is not an array");
		if (succeeded)
			*succeeded = json_is_true(s);
		for (size_t i = 0; rc == SR_ETCD_OK && i < json_array_size(rs); i++) {
			const json_t *r = json_object_get(json_array_get(rs, i), "response_range");
			if (!r)
				continue;
			if (!json_is_object(r))
				rc = bad(err, n, "response_range is not an object");
			else if (json_is_true(json_object_get(r, "more")))
				kvs->more = true;
			if (rc == SR_ETCD_OK)
				rc = add_kvs(json_object_get(r, "kvs"), kvs, err, n);
		}
		v = rev;
	} else if (!strcmp(kind, "grant")) {
		if (get_int64(o, "ID", &v) < 0 || v == 0)
			rc = bad(err, n, "no lease ID");
	} else if (!strcmp(kind, "keepalive")) {
		/* TTL absent or 0: the lease is gone. */
		if (get_int64(o, "TTL", &v) < 0 || v < 0)
			rc = bad(err, n, "TTL is not a number");
	} else if (!strcmp(kind, "auth")) {
		const json_t *t = json_object_get(o, "token");
		if (!json_is_string(t) || json_string_length(t) == 0)
			rc = bad(err, n, "no token");
	} else {
		snprintf(err, n, "unknown answer kind \"%.20s\"", kind);
		rc = SR_ETCD_REFUSED;
	}
	if (num && rc == SR_ETCD_OK)
		*num = v;
out:
	if (rc != SR_ETCD_OK || kvs == &scratch)
		etcd_kvs_free(kvs);
	if (rc != SR_ETCD_OK && succeeded)
		*succeeded = false;
	json_decref(root);
	return rc;
}

/* The token of an "auth" answer parse_answer accepted. */
static int answer_token(const char *body, size_t len, char *tok, size_t tn)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, &je);
	const json_t *t = json_object_get(root, "token");
	int r = -1;
	if (json_is_string(t) && json_string_length(t) < tn && printable(json_string_value(t))) {
		memcpy(tok, json_string_value(t), json_string_length(t) + 1);
		r = 0;
	}
	json_decref(root);
	return r;
}

void etcd_prefix_end(const char *p, char *out, size_t n)
{
	size_t len = strlen(p);
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	/* Drop trailing 0xff bytes (they cannot be incremented); nothing
	 * left: "" means "to the end of the keyspace", as etcd's "\0". */
	while (len > 0 && (unsigned char)out[len - 1] == 0xff)
		len--;
	if (len > 0)
		out[len - 1] = (char)((unsigned char)out[len - 1] + 1);
	out[len] = '\0';
}

/* ---- opening ----------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sr_etcd *e = ud;
	return http_body_append(&e->ans, ptr, size * nmemb) ? size * nmemb : 0;
}

static int file_check(const char *path, const char *what, bool secret, char *err, size_t n)
{
	struct stat st;
	errno = 0;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
		snprintf(err, n, "store.%s %s: %s", what, path,
		         errno ? strerror(errno) : "not a regular file");
		return -1;
	}
	if (secret && (st.st_mode & 077)) {
		snprintf(err, n, "store.%s %s: readable by others (mode %03o): chmod 600 it", what,
		         path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

static int password_load(struct sr_etcd *e, char *err, size_t n)
{
	if (e->c.password_file[0])
		return secret_read_file(e->c.password_file, "store.password_file", e->password,
		                        sizeof e->password, err, n);
	const char *env = getenv(PASSWORD_ENV);
	if (!env || !env[0]) {
		secret_mark_failed();
		snprintf(err, n,
		         "store.username \"%s\": no password (set store.password_file or %s)",
		         e->c.username, PASSWORD_ENV);
		return -1;
	}
	if (!sr_strlcpy(e->password, env, sizeof e->password)) {
		secret_mark_failed();
		snprintf(err, n, "%s: longer than %zu bytes", PASSWORD_ENV, sizeof e->password - 1);
		return -1;
	}
	secret_register(e->password);
	return 0;
}

static int authenticate(struct sr_etcd *e, char *err, size_t n);

struct sr_etcd *etcd_open(const struct sr_etcd_config *c, char *err, size_t n)
{
	if (c->nendpoints < 1 || c->nendpoints > SR_ETCD_MAX_ENDPOINTS) {
		snprintf(err, n, "store.endpoints: none");
		return NULL;
	}
	if ((c->ca_file[0] && file_check(c->ca_file, "ca_file", false, err, n) < 0) ||
	    (c->cert_file[0] && file_check(c->cert_file, "cert_file", false, err, n) < 0) ||
	    (c->key_file[0] && file_check(c->key_file, "key_file", true, err, n) < 0))
		return NULL;
	struct sr_etcd *e = calloc(1, sizeof *e);
	if (!e) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	e->c = *c;
	if (e->c.timeout_ms <= 0)
		e->c.timeout_ms = 1000;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(e->easy = curl_easy_init())) {
		snprintf(err, n, "cannot initialise libcurl%s%s", curl_load_error()[0] ? ": " : "",
		         curl_load_error());
		free(e);
		return NULL;
	}
	if (e->c.username[0]) {
		if (password_load(e, err, n) < 0) {
			etcd_close(e);
			return NULL;
		}
		/* A wrong password is a configuration fault; a cluster that is
		 * down is not: the first call authenticates again. */
		if (authenticate(e, err, n) == SR_ETCD_REFUSED) {
			etcd_close(e);
			return NULL;
		}
		err[0] = '\0';
	}
	return e;
}

void etcd_close(struct sr_etcd *e)
{
	if (!e)
		return;
	if (e->easy) {
		curl_easy_cleanup(e->easy);
		curl_global_cleanup();
	}
	wipe(e->password, sizeof e->password);
	wipe(e->token, sizeof e->token);
	wipe(e->auth_hdr, sizeof e->auth_hdr);
	free(e->ans.buf);
	free(e);
}

const char *etcd_endpoint(const struct sr_etcd *e)
{
	return e ? e->last : "";
}

/* ---- one request ----------------------------------------------------------- */

/* POST body to one endpoint. 0: an HTTP answer is in e->ans (any
 * status, in *status); -1: none, why says why; -2: none because a
 * certificate did not verify (or ours could not be loaded), which
 * retrying will not change. */
static int post_once(struct sr_etcd *e, const char *ep, const char *path, const char *body,
                     bool with_token, long *status, char *why, size_t wn)
{
	char url[SR_ETCD_URL_LEN + 64];
	struct curl_slist *hdrs = NULL, *h2;
	CURL *c = e->easy;
	CURLcode rc = CURLE_OK;
	snprintf(url, sizeof url, "%s%s", ep, path);
	e->ans.len = 0;
	e->ans.max = ANSWER_MAX;
	e->ans.overflow = false;
	e->errbuf[0] = '\0';
	if (e->ans.buf)
		e->ans.buf[0] = '\0';
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdrs && with_token && e->token[0] && (h2 = curl_slist_append(hdrs, e->auth_hdr)))
		hdrs = h2;
	curl_easy_reset(c);
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(c, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)e);
	SET(CURLOPT_ERRORBUFFER, e->errbuf);
	SET(CURLOPT_TIMEOUT_MS, (long)e->c.timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(e->c.timeout_ms / 3 > 0 ? e->c.timeout_ms / 3 : 1));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ANSWER_MAX);
	if (rc == CURLE_OK)
		rc = (CURLcode)http_easy_safe(c, e->c.ca_file);
	if (e->c.cert_file[0]) {
		SET(CURLOPT_SSLCERT, e->c.cert_file);
		SET(CURLOPT_SSLKEY, e->c.key_file);
	}
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	SET(CURLOPT_HTTPHEADER, hdrs);
#undef SET
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	long os_errno = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	/* The header list held the token: drop it and the body's reference
	 * (the body may hold the password) before anything else. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_OK && !hdrs)
		rc = CURLE_OUT_OF_MEMORY;
	if (rc == CURLE_OK && !e->ans.buf && !http_body_append(&e->ans, "", 0))
		rc = CURLE_OUT_OF_MEMORY; /* an empty answer is still a string */
	if (rc == CURLE_OK)
		return 0;
	bool cert = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	            rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
	if (e->ans.overflow || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(why, wn, "answer larger than the %u-byte cap", ANSWER_MAX);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, wn, "timed out after %d ms", e->c.timeout_ms);
	else if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
		snprintf(why, wn, "connection refused"); /* curl's text repeats the URL */
	else
		snprintf(why, wn, "%s", e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc));
	return cert ? -2 : -1;
}

static bool token_fault(const char *msg)
{
	return strstr(msg, "invalid auth token") || strstr(msg, "user name is empty") ||
	       strstr(msg, "revision of auth store is old");
}

/* Ask each endpoint in turn, from the one that answered last, until one
 * gives an answer that is not "try again". */
static int rotate(struct sr_etcd *e, const char *path, const char *kind, const char *body,
                  bool with_token, struct sr_etcd_kvs *kvs, bool *succeeded, long long *num,
                  char *err, size_t n)
{
	char tried[1024] = "", why[CURL_ERROR_SIZE + 256], perr[400];
	size_t o = 0;
	int nep = e->c.nendpoints;
	bool cert_fault = false;
	for (int i = 0; i < nep; i++) {
		int idx = (e->cur + i) % nep;
		const char *ep = e->c.endpoints[idx];
		long status = 0;
		int rc;
		int t = post_once(e, ep, path, body, with_token, &status, why, sizeof why);
		if (t < 0) {
			rc = SR_ETCD_UNAVAILABLE;
			cert_fault |= t == -2;
		} else {
			rc = etcd_parse_answer(kind, e->ans.buf, e->ans.len, kvs, succeeded, num,
			                       perr, sizeof perr);
			/* A proxy's or a dying member's 5xx without etcd's JSON. */
			if (rc == SR_ETCD_REFUSED && status >= 500 && strstr(perr, "not a JSON"))
				rc = SR_ETCD_UNAVAILABLE;
			if (rc != SR_ETCD_OK && status != 200 && strstr(perr, "not a JSON"))
				snprintf(perr, sizeof perr, "HTTP %ld without an etcd answer",
				         status);
			snprintf(why, sizeof why, "%s", perr);
		}
		if (rc != SR_ETCD_UNAVAILABLE) {
			e->cur = idx;
			sr_strlcpy(e->last, ep, sizeof e->last);
			if (rc != SR_ETCD_OK) {
				snprintf(err, n, "etcd %s%s: %s", ep, path, why);
				err_clean(err, n);
			} else if (!strcmp(kind, "auth")) {
				char tok[TOKEN_MAX];
				if (answer_token(e->ans.buf, e->ans.len, tok, sizeof tok) < 0) {
					snprintf(err, n, "etcd %s: the auth token is unusable", ep);
					return SR_ETCD_REFUSED;
				}
				/* The old token is dead: it gives up its place in the
				 * scrubber rather than push out the password. */
				secret_forget(e->token);
				memcpy(e->token, tok, sizeof tok);
				wipe(tok, sizeof tok);
				secret_register(e->token);
				snprintf(e->auth_hdr, sizeof e->auth_hdr, "Authorization: %s",
				         e->token);
			}
			return rc;
		}
		int w = snprintf(tried + o, sizeof tried - o, "%s%s: %s", o ? "; " : "", ep, why);
		if (w > 0 && (size_t)w < sizeof tried - o)
			o += (size_t)w;
	}
	/* No member reachable, and at least one for want of a certificate
	 * that verifies: a configuration fault, not an outage. */
	snprintf(err, n, "etcd %s (%s): %s", cert_fault ? "refused" : "unavailable", path, tried);
	err_clean(err, n);
	return cert_fault ? SR_ETCD_REFUSED : SR_ETCD_UNAVAILABLE;
}

static int authenticate(struct sr_etcd *e, char *err, size_t n)
{
	json_t *req = json_pack("{s:s, s:s}", "name", e->c.username, "password", e->password);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req); /* jansson keeps no copy we can wipe; the dump we do */
	if (!body) {
		snprintf(err, n, "out of memory");
		return SR_ETCD_REFUSED;
	}
	int rc = rotate(e, "/v3/auth/authenticate", "auth", body, false, NULL, NULL, NULL, err, n);
	wipe(body, strlen(body));
	free(body);
	return rc;
}

/* One call: the request object is consumed. */
static int call(struct sr_etcd *e, const char *path, const char *kind, json_t *req,
                struct sr_etcd_kvs *kvs, bool *succeeded, long long *num, char *err, size_t n)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		snprintf(err, n, "out of memory building the %s request", kind);
		return SR_ETCD_REFUSED;
	}
	int rc = SR_ETCD_OK;
	bool user = e->c.username[0] != '\0';
	if (user && !e->token[0])
		rc = authenticate(e, err, n);
	if (rc == SR_ETCD_OK)
		rc = rotate(e, path, kind, body, true, kvs, succeeded, num, err, n);
	/* Tokens expire (etcd's --auth-token-ttl) and die with a restart of
	 * the member that issued them: buy a new one, once. */
	if (rc == SR_ETCD_REFUSED && user && token_fault(err)) {
		rc = authenticate(e, err, n);
		if (rc == SR_ETCD_OK)
			rc = rotate(e, path, kind, body, true, kvs, succeeded, num, err, n);
	}
	free(body);
	return rc;
}

/* ---- requests ----------------------------------------------------------------- */

static json_t *b64_json(const char *s, size_t len)
{
	char *b = sr_b64_encode(s, len);
	json_t *j = b ? json_string(b) : NULL;
	free(b);
	return j;
}

static json_t *int64_json(long long v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", v);
	return json_string(buf);
}

/* key, range_end (NULL: none; "": "\0", every key from key on). */
static void set_range(json_t *o, const char *key, const char *range_end)
{
	json_object_set_new(o, "key", b64_json(key, strlen(key)));
	if (range_end)
		json_object_set_new(o, "range_end",
		                    range_end[0] ? b64_json(range_end, strlen(range_end))
		                                 : json_string("AA=="));
}

static json_t *range_req(const char *key, const char *range_end, long long limit)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	set_range(o, key, range_end);
	if (limit > 0)
		json_object_set_new(o, "limit", int64_json(limit));
	return o;
}

static json_t *put_req(const char *key, const char *value, size_t vlen, long long lease)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "key", b64_json(key, strlen(key)));
	json_object_set_new(o, "value", b64_json(value ? value : "", value ? vlen : 0));
	if (lease)
		json_object_set_new(o, "lease", int64_json(lease));
	return o;
}

static json_t *delete_req(const char *key, const char *range_end)
{
	json_t *o = json_object();
	if (o)
		set_range(o, key, range_end);
	return o;
}

int etcd_range(struct sr_etcd *e, const char *key, const char *range_end, long long limit,
               struct sr_etcd_kvs *out, char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	long long rev = 0;
	int rc = call(e, "/v3/kv/range", "range", range_req(key, range_end, limit), out, NULL, &rev,
	              err, n);
	out->revision = rev;
	return rc;
}

int etcd_range_last(struct sr_etcd *e, const char *key, const char *range_end,
                    struct sr_etcd_kvs *out, char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	json_t *req = range_req(key, range_end, 1);
	if (req) {
		/* the newest key first: etcd sorts before it limits */
		json_object_set_new(req, "sort_order", json_string("DESCEND"));
		json_object_set_new(req, "sort_target", json_string("KEY"));
	}
	long long rev = 0;
	int rc = call(e, "/v3/kv/range", "range", req, out, NULL, &rev, err, n);
	out->revision = rev;
	return rc;
}

int etcd_put(struct sr_etcd *e, const char *key, const char *value, size_t vlen, long long lease,
             char *err, size_t n)
{
	return call(e, "/v3/kv/put", "put", put_req(key, value, vlen, lease), NULL, NULL, NULL, err,
	            n);
}

int etcd_delete(struct sr_etcd *e, const char *key, const char *range_end, char *err, size_t n)
{
	return call(e, "/v3/kv/deleterange", "delete", delete_req(key, range_end), NULL, NULL, NULL,
	            err, n);
}

static json_t *cmp_json(const struct sr_etcd_cmp *c)
{
	static const char *const targets[] = {"CREATE", "MOD", "VERSION", "VALUE", "LEASE"};
	static const char *const fields[] = {"create_revision", "mod_revision", "version", "value",
	                                     "lease"};
	static const char *const results[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
	json_t *o = json_object();
	if (!o || (unsigned)c->target > SR_ETCD_CMP_LEASE || (unsigned)c->result > SR_ETCD_LT) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "key", b64_json(c->key, strlen(c->key)));
	json_object_set_new(o, "target", json_string(targets[c->target]));
	json_object_set_new(o, "result", json_string(results[c->result]));
	json_object_set_new(o, fields[c->target],
	                    c->target == SR_ETCD_CMP_VALUE
	                        ? b64_json(c->value ? c->value : "", c->value ? c->vlen : 0)
	                        : int64_json(c->num));
	return o;
}

static json_t *op_json(const struct sr_etcd_op *op)
{
	json_t *inner;
	const char *name;
	switch (op->kind) {
	case SR_ETCD_OP_PUT:
		inner = put_req(op->key, op->value, op->vlen, op->lease);
		name = "request_put";
		break;
	case SR_ETCD_OP_DELETE:
		inner = delete_req(op->key, op->range_end);
		name = "request_delete_range";
		break;
	case SR_ETCD_OP_RANGE:
		inner = range_req(op->key, op->range_end, op->limit);
		name = "request_range";
		break;
	default: return NULL;
	}
	return inner ? json_pack("{s:o}", name, inner) : NULL;
}

static int add_ops(json_t *req, const char *name, const struct sr_etcd_op *ops, int nops)
{
	json_t *arr = json_array();
	if (!arr || json_object_set_new(req, name, arr) < 0)
		return -1;
	for (int i = 0; i < nops; i++) {
		json_t *o = op_json(&ops[i]);
		if (!o || json_array_append_new(arr, o) < 0)
			return -1;
	}
	return 0;
}

int etcd_txn(struct sr_etcd *e, const struct sr_etcd_cmp *cmp, int ncmp,
             const struct sr_etcd_op *success, int nsuccess, const struct sr_etcd_op *failure,
             int nfailure, bool *succeeded, struct sr_etcd_kvs *out, long long *revision, char *err,
             size_t n)
{
	json_t *req = json_object(), *cmps = json_array();
	bool ok = req && cmps && json_object_set_new(req, "compare", cmps) == 0;
	if (!ok)
		json_decref(cmps);
	for (int i = 0; ok && i < ncmp; i++) {
		json_t *c = cmp_json(&cmp[i]);
		ok = c && json_array_append_new(cmps, c) == 0;
	}
	ok = ok && add_ops(req, "success", success, nsuccess) == 0 &&
	     add_ops(req, "failure", failure, nfailure) == 0;
	if (out)
		memset(out, 0, sizeof *out);
	if (!ok) {
		json_decref(req);
		snprintf(err, n, "txn: a compare or an op is not valid");
		return SR_ETCD_REFUSED;
	}
	bool s = false;
	long long rev = 0;
	int rc = call(e, "/v3/kv/txn", "txn", req, out, &s, &rev, err, n);
	if (succeeded)
		*succeeded = rc == SR_ETCD_OK && s;
	if (out)
		out->revision = rev;
	if (revision)
		*revision = rev;
	return rc;
}

int etcd_lease_grant(struct sr_etcd *e, int ttl_s, long long *id, char *err, size_t n)
{
	json_t *req = json_pack("{s:o}", "TTL", int64_json(ttl_s));
	*id = 0;
	return call(e, "/v3/lease/grant", "grant", req, NULL, NULL, id, err, n);
}

int etcd_lease_keepalive(struct sr_etcd *e, long long id, int *ttl_left, char *err, size_t n)
{
	long long ttl = 0;
	int rc = call(e, "/v3/lease/keepalive", "keepalive",
	              json_pack("{s:o}", "ID", int64_json(id)), NULL, NULL, &ttl, err, n);
	*ttl_left = ttl > 0 && ttl < 1000000000 ? (int)ttl : 0;
	return rc;
}

int etcd_lease_revoke(struct sr_etcd *e, long long id, char *err, size_t n)
{
	return call(e, "/v3/lease/revoke", "revoke", json_pack("{s:o}", "ID", int64_json(id)), NULL,
	            NULL, NULL, err, n);
}
