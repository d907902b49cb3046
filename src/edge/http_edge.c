/* http_edge.c - the HTTP edge: a canary weight set through a templated
 * REST call and read back through another (see http_edge.h).
 *
 * Why templates and not one driver per vendor: the APIs that move traffic
 * (Cloudflare pools, Consul service-splitter, Gateway API HTTPRoute,
 * Envoy's runtime, and every in-house edge) differ only in method, URL,
 * headers, body shape and where the weight sits in the answer. One small,
 * strict templating layer covers them all; the man page gives presets.
 *
 * Safety rules kept here, once:
 *   - substitution escapes for where the text lands (URL, JSON string,
 *     header), and a header value with a line break is refused;
 *   - the token is only ever substituted into headers, is redacted from
 *     any error text, and never reaches the journal (the edge callback's
 *     messages are built here);
 *   - a credential header (Authorization, Cookie, *-Token, *-Key,
 *     *-Secret) is built from {{token}}, never a literal secret in the
 *     policy file;
 *   - the weight is always read back and compared with the target.
 * The templating and response handling are pure functions with unit
 * tests; the requests run on the shared libcurl-multi client (io/http.c).
 */
#include "shiproom/http_edge.h"
#include "shiproom/template.h"
#include "shiproom/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/http.h"

/* messages are bounded: a cut one is intended (common.h) */
#define msgf sr_msgf

/* ---- templating ---------------------------------------------------------------- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static void put_escaped(struct sr_tbuf *b, const char *s, enum http_esc esc)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (esc == HTTP_ESC_JSON) {
			if (c == '"' || c == '\\') {
				tbuf_putc(b, '\\');
				tbuf_putc(b, (char)c);
			} else if (c < 0x20 || c == 0x7f) {
				char u[8];
				snprintf(u, sizeof u, "\\u%04x", c);
				tbuf_put(b, u, 6);
			} else {
				tbuf_putc(b, (char)c);
			}
		} else if (esc == HTTP_ESC_URL) {
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			    c == '~') {
				tbuf_putc(b, (char)c);
			} else {
				char e[3] = {'%', hex[c >> 4], hex[c & 15]};
				tbuf_put(b, e, 3);
			}
		} else {
			tbuf_putc(b, (char)c);
		}
	}
}

/* A variable's text: strings as they are, everything else as JSON. */
static char *render(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
}

/* What http_tmpl_expand's placeholders mean (template.h: tmpl_expand). */
struct http_vars {
	const json_t *vars;
	const char *token;
	enum http_esc esc;
};

static int http_value(void *ud, const char *nm, size_t len, size_t at, struct sr_tbuf *out,
                      char *err, size_t n)
{
	const struct http_vars *hv = ud;
	char name[32];
	bool ok = len > 0 && len < sizeof name;
	for (size_t i = 0; ok && i < len; i++)
		ok = name_char(nm[i]);
	if (!ok) {
		msgf(err, n, "bad placeholder at byte %zu (expected {{name}})", at + 1);
		return -1;
	}
	memcpy(name, nm, len);
	name[len] = '\0';
	if (strcmp(name, "token") == 0) {
		if (hv->esc != HTTP_ESC_HEADER) {
			msgf(err, n, "{{token}} may only be used in a header");
			return -1;
		}
		if (!hv->token) {
			msgf(err, n,
			     "{{token}} is used but no token_file or token_env is configured");
			return -1;
		}
		put_escaped(out, hv->token, hv->esc);
		return 0;
	}
	const json_t *v = json_object_get(hv->vars, name);
	if (!v) {
		msgf(err, n, "unknown placeholder {{%s}}", name);
		return -1;
	}
	char *text = render(v);
	if (!text) {
		out->oom = true;
		return 0;
	}
	put_escaped(out, text, hv->esc);
	free(text);
	return 0;
}

char *http_tmpl_expand(const char *tmpl, const json_t *vars, const char *token, enum http_esc esc,
                       char *err, size_t n)
{
	struct http_vars hv = {vars, token, esc};
	char *r = tmpl_expand(tmpl, http_value, &hv, err, n);
	if (r && esc == HTTP_ESC_HEADER && strpbrk(r, "\r\n")) {
		/* never from the token: it is checked when read */
		msgf(err, n, "a header value would contain a line break");
		free(r);
		return NULL;
	}
	return r;
}

/* A JSON-typed body: placeholders inside strings; a string that is only a
 * placeholder takes the variable's own JSON value. */
static json_t *tree_expand(const json_t *t, const json_t *vars, char *err, size_t n)
{
	if (json_is_string(t)) {
		const char *s = json_string_value(t);
		char name[32];
		if (tmpl_only_placeholder(s, name, sizeof name) && strcmp(name, "token") != 0) {
			const json_t *v = json_object_get(vars, name);
			if (!v) {
				msgf(err, n, "unknown placeholder {{%s}}", name);
				return NULL;
			}
			return json_deep_copy(v);
		}
		char *x = http_tmpl_expand(s, vars, NULL, HTTP_ESC_RAW, err, n);
		if (!x)
			return NULL;
		json_t *r = json_string(x);
		free(x);
		if (!r)
			msgf(err, n, "a substituted value is not valid UTF-8");
		return r;
	}
	if (json_is_object(t)) {
		json_t *o = json_object();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)t, k, v)
		{
			json_t *x = tree_expand(v, vars, err, n);
			if (!x) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, k, x);
		}
		return o;
	}
	if (json_is_array(t)) {
		json_t *a = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(t, i, v)
		{
			json_t *x = tree_expand(v, vars, err, n);
			if (!x) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, x);
		}
		return a;
	}
	return json_deep_copy(t);
}

char *http_body_expand(const char *tmpl, bool is_json, const json_t *vars, char *err, size_t n)
{
	json_error_t je;
	if (is_json) {
		json_t *t = json_loads(tmpl, JSON_DECODE_ANY, &je);
		if (!t) {
			msgf(err, n, "body template is not JSON: %s", je.text);
			return NULL;
		}
		json_t *x = tree_expand(t, vars, err, n);
		json_decref(t);
		if (!x)
			return NULL;
		char *s = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(x);
		if (!s)
			msgf(err, n, "cannot encode the body");
		return s;
	}
	char *s = http_tmpl_expand(tmpl, vars, NULL, HTTP_ESC_JSON, err, n);
	if (!s)
		return NULL;
	json_t *chk = json_loads(s, JSON_DECODE_ANY, &je);
	if (!chk) {
		char t[120];
		sr_sanitize(t, je.text, sizeof t);
		msgf(err, n, "the body is not valid JSON after substitution (column %d): %s",
		     je.column, t);
		free(s);
		return NULL;
	}
	json_decref(chk);
	return s;
}

/* ---- reading answers ------------------------------------------------------------- */

const json_t *http_json_pointer(const json_t *root, const char *ptr)
{
	if (!root || !ptr)
		return NULL;
	if (*ptr == '\0')
		return root;
	if (*ptr != '/')
		return NULL;
	const json_t *cur = root;
	const char *p = ptr;
	char tok[HTTP_EDGE_PTR_LEN];
	while (*p == '/') {
		p++;
		size_t o = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~') {
				if (*p == '0')
					c = '~';
				else if (*p == '1')
					c = '/';
				else
					return NULL;
				p++;
			}
			if (o + 1 >= sizeof tok)
				return NULL;
			tok[o++] = c;
		}
		tok[o] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			if (o == 0 || (o > 1 && tok[0] == '0') || o > 9)
				return NULL;
			size_t idx = 0;
			for (size_t i = 0; i < o; i++) {
				if (tok[i] < '0' || tok[i] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(tok[i] - '0');
			}
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
		if (!cur)
			return NULL;
	}
	return cur;
}

int http_edge_parse_weight(const char *body, size_t len, const char *ptr, double scale, int *weight,
                           char *err, size_t n)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, &je);
	if (!doc) {
		char t[120];
		sr_sanitize(t, je.text, sizeof t);
		msgf(err, n, "the read-back answer is not JSON: %s", t);
		return -1;
	}
	char p[HTTP_EDGE_PTR_LEN];
	sr_sanitize(p, ptr, sizeof p);
	const json_t *v = http_json_pointer(doc, ptr);
	double x = NAN;
	int rc = -1;
	if (!v) {
		msgf(err, n, "the read-back answer has no value at %s", p);
	} else if (json_is_number(v)) {
		x = json_number_value(v);
	} else if (json_is_string(v)) {
		/* Envoy's /runtime gives "25": parse it as JSON, locale-free */
		json_t *num = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
		if (json_is_number(num))
			x = json_number_value(num);
		json_decref(num);
		if (isnan(x))
			msgf(err, n, "the value at %s is a string that is not a number", p);
	} else {
		msgf(err, n, "the value at %s is not a number", p);
	}
	if (!isnan(x)) {
		double w = x * scale;
		if (!isfinite(w) || w < -0.5 || w >= 100.5) {
			msgf(err, n,
			     "the weight at %s is %g, outside 0..100 (after weight_scale %g)", p, w,
			     scale);
		} else {
			*weight = (int)lround(w < 0 ? 0 : w);
			rc = 0;
		}
	}
	json_decref(doc);
	return rc;
}

/* Replace every occurrence of token in s (in place; "[redacted]" may be
 * longer than a short token, so the result is built anew). */
static char *redact(const char *s, size_t len, const char *token)
{
	struct sr_tbuf b = {0};
	tbuf_put(&b, "", 0);
	size_t tl = token ? strlen(token) : 0;
	for (size_t i = 0; i < len;) {
		if (tl >= 4 && i + tl <= len && memcmp(s + i, token, tl) == 0) {
			tbuf_put(&b, "[redacted]", 10);
			i += tl;
		} else {
			tbuf_putc(&b, s[i] == '\0' ? '?' : s[i]);
			i++;
		}
	}
	return b.p;
}

int http_edge_check_status(long status, const char *reason, const char *body, size_t len,
                           const char *token, char *err, size_t n)
{
	if (status >= 200 && status <= 299)
		return 0;
	size_t take = len > 65536 ? 65536 : len;
	char *r = redact(body ? body : "", body ? take : 0, token);
	/* and every other secret loaded (a shared proxy may echo any of them) */
	size_t rl;
	char *rs2 = r ? secret_scrub_dup(r, strlen(r), &rl) : NULL;
	if (rs2) {
		free(r);
		r = rs2;
	}
	char excerpt[201] = "";
	if (r) {
		size_t o = 0;
		for (size_t i = 0; r[i] && o + 1 < sizeof excerpt; i++)
			excerpt[o++] = (r[i] == '\n' || r[i] == '\r' || r[i] == '\t') ? ' ' : r[i];
		excerpt[o] = '\0';
		free(r);
	}
	sr_sanitize(excerpt, excerpt, sizeof excerpt);
	char rs[64];
	sr_sanitize(rs, reason ? reason : "", sizeof rs);
	msgf(err, n, "HTTP %ld%s%s%s%s", status, rs[0] ? " " : "", rs, excerpt[0] ? ": " : "",
	     excerpt);
	secret_scrub(err, n);
	return (status >= 500 || status == 429 || status == 408) ? HTTP_EDGE_ERR_TRANSIENT
	                                                         : HTTP_EDGE_ERR_REFUSED;
}

int http_edge_read_token(const char *path, char *out, size_t n, char *err, size_t en)
{
	return secret_read_file(path, "token file", out, n, err, en);
}

/* ---- config -------------------------------------------------------------------------- */

static const char *const builtin_vars[] = {
    "weight", "stable_weight", "weight_fraction", "stable_weight_fraction", "drain",
    "phase",  "reason",        "actor",           "idempotency_key",        NULL};

/* Every variable a template may use, with a value of its type. */
static json_t *vars_new(int weight, bool drain, const char *phase, const char *reason,
                        const char *actor, const char *key)
{
	json_t *v = json_object();
	json_object_set_new(v, "weight", json_integer(weight));
	json_object_set_new(v, "stable_weight", json_integer(100 - weight));
	json_object_set_new(v, "weight_fraction", json_real(weight / 100.0));
	json_object_set_new(v, "stable_weight_fraction", json_real((100 - weight) / 100.0));
	json_object_set_new(v, "drain", json_boolean(drain));
	json_object_set_new(v, "phase", json_string(phase ? phase : ""));
	json_object_set_new(v, "reason", json_string(reason ? reason : ""));
	json_object_set_new(v, "actor", json_string(actor ? actor : ""));
	json_object_set_new(v, "idempotency_key", json_string(key ? key : ""));
	return v;
}

static bool key_in(const char *k, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(k, list[i]) == 0)
			return true;
	return false;
}

static int check_keys(const json_t *o, const char *const *allowed, const char *at, char *err,
                      size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (!key_in(k, allowed)) {
			char ks[SR_NAME_LEN], list[300] = "";
			sr_sanitize(ks, k, sizeof ks);
			for (int i = 0; allowed[i]; i++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "",
				         allowed[i]);
			}
			msgf(err, n, "%s/%s: unknown key (expected one of: %s)", at, ks, list);
			return -1;
		}
	}
	return 0;
}

static int get_string(const json_t *o, const char *key, bool required, char *out, size_t sz,
                      const char *at, char *err, size_t n)
{
	const json_t *v = json_object_get(o, key);
	if (!v) {
		if (required) {
			msgf(err, n, "%s/%s: missing", at, key);
			return -1;
		}
		return 1;
	}
	if (!json_is_string(v)) {
		msgf(err, n, "%s/%s: must be a string", at, key);
		return -1;
	}
	if (strlen(json_string_value(v)) >= sz) {
		msgf(err, n, "%s/%s: longer than %zu bytes", at, key, sz - 1);
		return -1;
	}
	sr_strlcpy(out, json_string_value(v), sz);
	return 0;
}

/* Probe a template with every variable known at that point. */
static int probe(const char *tmpl, const json_t *vars, enum http_esc esc, const char *at,
                 const char *key, char *err, size_t n)
{
	char e[200];
	char *x = http_tmpl_expand(tmpl, vars, "probe-token", esc, e, sizeof e);
	if (!x) {
		msgf(err, n, "%s/%s: %s", at, key, e);
		return -1;
	}
	bool url_ok = strncmp(x, "http://", 7) == 0 || strncmp(x, "https://", 8) == 0;
	free(x);
	if (esc == HTTP_ESC_URL && !url_ok) {
		msgf(err, n, "%s/%s: must start with http:// or https://", at, key);
		return -1;
	}
	return 0;
}

/* Does the name say the header carries a credential? Authorization,
 * Proxy-Authorization, Cookie, and names ending in -Token, -Key or
 * -Secret (X-API-Key, X-Consul-Token), case-insensitive. Idempotency-Key
 * is a request id, not a secret. (The Prometheus source keeps the same
 * rule for source.headers.) */
static bool is_credential_header(const char *name)
{
	static const char *const exact[] = {"Authorization", "Proxy-Authorization", "Cookie", NULL};
	static const char *const suffix[] = {"-Token", "-Key", "-Secret", NULL};
	for (int i = 0; exact[i]; i++)
		if (!strcasecmp(name, exact[i]))
			return true;
	size_t len = strlen(name);
	if (len >= 15 && !strcasecmp(name + len - 15, "Idempotency-Key"))
		return false;
	for (int i = 0; suffix[i]; i++) {
		size_t sl = strlen(suffix[i]);
		if (len > sl && !strcasecmp(name + len - sl, suffix[i]))
			return true;
	}
	return false;
}

/* A credential header's value must be built from {{token}} alone: the
 * token, after an auth scheme for (Proxy-)Authorization ("Bearer
 * {{token}}") or a cookie name for Cookie ("session={{token}}"). Any
 * other literal text could be the secret itself, written in the policy. */
static bool built_from_token(const char *name, const char *v)
{
	bool scheme = !strcasecmp(name, "Authorization") ||
	              !strcasecmp(name, "Proxy-Authorization");
	bool cookie = !strcasecmp(name, "Cookie");
	const char *p = v;
	size_t w = 0;
	while ((p[w] >= 'A' && p[w] <= 'Z') || (p[w] >= 'a' && p[w] <= 'z') ||
	       (p[w] >= '0' && p[w] <= '9') || p[w] == '-' || p[w] == '_' || p[w] == '.')
		w++;
	if (w > 0 && w <= 32 && ((scheme && p[w] == ' ') || (cookie && p[w] == '=')))
		p += w + 1;
	char ph[32];
	return tmpl_only_placeholder(p, ph, sizeof ph) && strcmp(ph, "token") == 0;
}

static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int read_request(const json_t *edge, const char *key, bool is_set, const json_t *vars,
                        struct http_edge_request *rq, char *err, size_t n)
{
	static const char *const set_keys[] = {"method", "url", "headers", "body", NULL};
	static const char *const get_keys[] = {"method",         "url",          "headers",
	                                       "weight_pointer", "weight_scale", NULL};
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	char at[16];
	snprintf(at, sizeof at, "/%s", key);
	const json_t *o = json_object_get(edge, key);
	if (!json_is_object(o)) {
		msgf(err, n, "%s: %s (an object with method, url, headers%s)", at,
		     o ? "must be an object" : "missing", is_set ? ", body" : ", weight_pointer");
		return -1;
	}
	if (check_keys(o, is_set ? set_keys : get_keys, at, err, n) < 0)
		return -1;
	sr_strlcpy(rq->method, is_set ? "PUT" : "GET", sizeof rq->method);
	if (get_string(o, "method", false, rq->method, sizeof rq->method, at, err, n) < 0)
		return -1;
	if (!key_in(rq->method, methods)) {
		msgf(err, n, "%s/method: one of GET, POST, PUT, PATCH, DELETE", at);
		return -1;
	}
	if (get_string(o, "url", true, rq->url, sizeof rq->url, at, err, n) < 0 ||
	    probe(rq->url, vars, HTTP_ESC_URL, at, "url", err, n) < 0)
		return -1;
	const json_t *h = json_object_get(o, "headers");
	if (h) {
		if (!json_is_object(h)) {
			msgf(err, n, "%s/headers: must be an object of \"Name\": \"value\"", at);
			return -1;
		}
		const char *hk;
		json_t *hv;
		json_object_foreach((json_t *)h, hk, hv)
		{
			char hat[96];
			snprintf(hat, sizeof hat, "%s/headers", at);
			if (rq->nheaders == HTTP_EDGE_MAX_HDRS) {
				msgf(err, n, "%s: more than %d headers", hat, HTTP_EDGE_MAX_HDRS);
				return -1;
			}
			if (!header_name_ok(hk) || strlen(hk) >= sizeof rq->header_name[0]) {
				msgf(err, n, "%s: bad header name (letters, digits, - and _)", hat);
				return -1;
			}
			int i = rq->nheaders;
			sr_strlcpy(rq->header_name[i], hk, sizeof rq->header_name[i]);
			if (get_string(h, hk, true, rq->header_value[i], sizeof rq->header_value[i],
			               hat, err, n) < 0)
				return -1;
			/* never the value in the message: it may be the secret */
			if (is_credential_header(hk) &&
			    !built_from_token(hk, rq->header_value[i])) {
				msgf(err, n,
				     "%s/%s: a credential header must be built from {{token}} "
				     "(e.g. \"Bearer "
				     "{{token}}\"), never a literal value in the policy: the token "
				     "comes from "
				     "token_file (a file of mode 0600) or token_env",
				     hat, hk);
				return -1;
			}
			if (probe(rq->header_value[i], vars, HTTP_ESC_HEADER, hat, hk, err, n) < 0)
				return -1;
			rq->nheaders++;
		}
	}
	const json_t *b = json_object_get(o, "body");
	if (b) {
		char *text = json_is_string(b) ? strdup(json_string_value(b))
		                               : json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!text || strlen(text) >= sizeof rq->body) {
			free(text);
			msgf(err, n, "%s/body: longer than %zu bytes", at, sizeof rq->body - 1);
			return -1;
		}
		sr_strlcpy(rq->body, text, sizeof rq->body);
		free(text);
		rq->body_is_json = !json_is_string(b);
		char e[200];
		char *x = http_body_expand(rq->body, rq->body_is_json, vars, e, sizeof e);
		if (!x) {
			msgf(err, n, "%s/body: %s", at, e);
			return -1;
		}
		free(x);
		if (strcmp(rq->method, "GET") == 0) {
			msgf(err, n, "%s/body: a GET has no body", at);
			return -1;
		}
	}
	return 0;
}

int http_edge_config_from_json(struct sr_http_edge_config *c, const json_t *edge_obj, char *err,
                               size_t n)
{
	static const char *const keys[] = {"kind",     "set",        "get",
	                                   "captures", "token_file", "token_env",
	                                   "ca_file",  "timeout_ms", NULL};
	memset(c, 0, sizeof *c);
	c->weight_scale = 1.0;
	c->timeout_ms = HTTP_EDGE_TIMEOUT_DEFAULT_MS;
	if (!json_is_object(edge_obj)) {
		msgf(err, n, ": the edge must be an object");
		return -1;
	}
	if (check_keys(edge_obj, keys, "", err, n) < 0)
		return -1;
	char kind[16] = "http";
	if (get_string(edge_obj, "kind", false, kind, sizeof kind, "", err, n) < 0)
		return -1;
	if (strcmp(kind, "http") != 0) {
		msgf(err, n, "/kind: expected \"http\"");
		return -1;
	}
	json_t *vars = vars_new(25, false, "25%", "reason", "actor", "key");
	int rc = -1;
	/* The GET runs before the captures exist: check it without them. */
	if (read_request(edge_obj, "get", false, vars, &c->get, err, n) < 0)
		goto out;
	const json_t *g = json_object_get(edge_obj, "get");
	if (get_string(g, "weight_pointer", true, c->weight_pointer, sizeof c->weight_pointer,
	               "/get", err, n) < 0)
		goto out;
	if (c->weight_pointer[0] && c->weight_pointer[0] != '/') {
		msgf(err, n, "/get/weight_pointer: a JSON pointer starts with \"/\"");
		goto out;
	}
	const json_t *sc = json_object_get(g, "weight_scale");
	if (sc) {
		if (!json_is_number(sc) || !(json_number_value(sc) > 0) ||
		    json_number_value(sc) > 10000) {
			msgf(err, n, "/get/weight_scale: a number above 0 (100 for fractions)");
			goto out;
		}
		c->weight_scale = json_number_value(sc);
	}
	const json_t *caps = json_object_get(edge_obj, "captures");
	if (caps) {
		if (!json_is_object(caps)) {
			msgf(err, n, "/captures: must be an object of \"name\": \"/json/pointer\"");
			goto out;
		}
		const char *ck;
		json_t *cv;
		json_object_foreach((json_t *)caps, ck, cv)
		{
			if (c->ncaptures == HTTP_EDGE_MAX_CAPS) {
				msgf(err, n, "/captures: more than %d", HTTP_EDGE_MAX_CAPS);
				goto out;
			}
			bool ok = *ck && strlen(ck) < sizeof c->capture_name[0];
			for (const char *p = ck; ok && *p; p++)
				ok = name_char(*p);
			if (!ok || key_in(ck, builtin_vars) || strcmp(ck, "token") == 0) {
				char ks[SR_NAME_LEN];
				sr_sanitize(ks, ck, sizeof ks);
				msgf(
				    err, n,
				    "/captures/%s: a capture name is [a-z0-9_]+ and not a built-in "
				    "placeholder",
				    ks);
				goto out;
			}
			int i = c->ncaptures;
			sr_strlcpy(c->capture_name[i], ck, sizeof c->capture_name[i]);
			if (get_string(caps, ck, true, c->capture_pointer[i],
			               sizeof c->capture_pointer[i], "/captures", err, n) < 0)
				goto out;
			if (c->capture_pointer[i][0] && c->capture_pointer[i][0] != '/') {
				msgf(err, n, "/captures/%s: a JSON pointer starts with \"/\"", ck);
				goto out;
			}
			json_object_set_new(vars, ck, json_string("capture"));
			c->ncaptures++;
		}
	}
	if (read_request(edge_obj, "set", true, vars, &c->set, err, n) < 0)
		goto out;
	if (get_string(edge_obj, "token_file", false, c->token_file, sizeof c->token_file, "", err,
	               n) < 0 ||
	    get_string(edge_obj, "token_env", false, c->token_env, sizeof c->token_env, "", err,
	               n) < 0 ||
	    get_string(edge_obj, "ca_file", false, c->ca_file, sizeof c->ca_file, "", err, n) < 0)
		goto out;
	if (c->token_file[0] && c->token_env[0]) {
		msgf(err, n, "/token_env: give token_file or token_env, not both");
		goto out;
	}
	const json_t *t = json_object_get(edge_obj, "timeout_ms");
	if (t) {
		if (!json_is_integer(t) || json_integer_value(t) < 100 ||
		    json_integer_value(t) > 120000) {
			msgf(err, n, "/timeout_ms: an integer from 100 to 120000");
			goto out;
		}
		c->timeout_ms = (int)json_integer_value(t);
	}
	rc = 0;
out:
	json_decref(vars);
	return rc;
}

/* ---- the driver ------------------------------------------------------------------------- */

struct hjob;

struct hedge {
	struct sr_edge edge; /* the public face; edge.impl points back here */
	uv_loop_t *loop;
	struct sr_http *http;
	struct sr_http_edge_config cfg;
	char token[HTTP_EDGE_TOKEN_MAX];
	bool has_token;
	char phase[SR_NAME_LEN], reason[SR_REASON_LEN], actor[SR_NAME_LEN];
	struct hjob *jobs;
	bool destroyed;
	int busy; /* inside a callback, or a deferred failure pending */
};

enum hstep { STEP_CAPTURE, STEP_SET, STEP_READBACK };

struct hjob {
	struct hedge *he;
	struct hjob *next;
	enum hstep step;
	bool is_set;
	int target;
	json_t *vars;
	sr_edge_cb cb;
	void *ud;
	struct sr_http_req *req;
};

static void hedge_maybe_free(struct hedge *he)
{
	if (he->destroyed && he->busy == 0 && !he->jobs) {
		memset(he->token, 0, sizeof he->token);
		free(he);
	}
}

static void job_unlink(struct hjob *j)
{
	for (struct hjob **pp = &j->he->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static void job_free(struct hjob *j)
{
	job_unlink(j);
	json_decref(j->vars);
	free(j);
}

/* Deliver and forget (from a loop callback). */
static void job_end(struct hjob *j, int result, int weight, const char *msg)
{
	struct hedge *he = j->he;
	sr_edge_cb cb = j->cb;
	void *ud = j->ud;
	job_free(j);
	he->busy++;
	if (!he->destroyed && cb)
		cb(ud, result, weight, msg);
	he->busy--;
	hedge_maybe_free(he);
}

/* A failure found before any request left: reported from the loop. */
struct hdefer {
	uv_timer_t t;
	struct hedge *he;
	sr_edge_cb cb;
	void *ud;
	int result;
	char msg[SR_REASON_LEN];
};

static void defer_closed(uv_handle_t *h)
{
	struct hdefer *d = h->data;
	struct hedge *he = d->he;
	if (!he->destroyed && d->cb)
		d->cb(d->ud, d->result, -1, d->msg);
	he->busy--;
	free(d);
	hedge_maybe_free(he);
}

static void defer_fire(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, defer_closed);
}

static void fail_later(struct hedge *he, sr_edge_cb cb, void *ud, int result, const char *msg)
{
	struct hdefer *d = calloc(1, sizeof *d);
	if (!d)
		return;
	d->he = he;
	d->cb = cb;
	d->ud = ud;
	d->result = result;
	sr_strlcpy(d->msg, msg, sizeof d->msg);
	he->busy++;
	uv_timer_init(he->loop, &d->t);
	d->t.data = d;
	uv_timer_start(&d->t, defer_fire, 0, 0);
}

static void on_response(void *ud, const struct sr_http_response *res);

/* "PUT https://host/path" for messages: never the query (it may carry
 * more than the reader needs), never a header. */
static void describe(const struct http_edge_request *rq, const char *url, char *out, size_t n)
{
	char u[200];
	size_t ul = strcspn(url, "?#");
	if (ul >= sizeof u)
		ul = sizeof u - 1;
	memcpy(u, url, ul);
	u[ul] = '\0';
	msgf(out, n, "%s %s", rq->method, u);
	sr_sanitize(out, out, n);
}

/* Expand and send one request of the job; -1 with msg on failure. */
static int job_send(struct hjob *j, const struct http_edge_request *rq, char *msg, size_t n)
{
	struct hedge *he = j->he;
	char e[200];
	char *url = NULL, *body = NULL;
	char *hdr[HTTP_EDGE_MAX_HDRS + 2] = {0};
	int rc = -1, nh = 0;
	url = http_tmpl_expand(rq->url, j->vars, NULL, HTTP_ESC_URL, e, sizeof e);
	if (!url) {
		msgf(msg, n, "http edge %s url: %s", rq->method, e);
		goto out;
	}
	bool has_ct = false;
	for (int i = 0; i < rq->nheaders; i++) {
		char *v = http_tmpl_expand(rq->header_value[i], j->vars,
		                           he->has_token ? he->token : NULL, HTTP_ESC_HEADER, e,
		                           sizeof e);
		if (!v) {
			msgf(msg, n, "http edge header %s: %s", rq->header_name[i], e);
			goto out;
		}
		size_t l = strlen(rq->header_name[i]) + strlen(v) + 3;
		hdr[nh] = malloc(l);
		if (hdr[nh])
			snprintf(hdr[nh], l, "%s: %s", rq->header_name[i], v);
		/* the value may hold the token: wipe the copy */
		memset(v, 0, strlen(v));
		free(v);
		if (!hdr[nh++]) {
			msgf(msg, n, "out of memory");
			goto out;
		}
		has_ct = has_ct || strcasecmp(rq->header_name[i], "Content-Type") == 0;
	}
	if (rq->body[0]) {
		body = http_body_expand(rq->body, rq->body_is_json, j->vars, e, sizeof e);
		if (!body) {
			msgf(msg, n, "http edge body: %s", e);
			goto out;
		}
		if (!has_ct)
			hdr[nh++] = strdup("Content-Type: application/json");
	}
	struct sr_http_request r = {
	    .method = rq->method,
	    .url = url,
	    .headers = (const char *const *)hdr,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .timeout_ms = he->cfg.timeout_ms,
	    .max_response = 1u << 20,
	    .ca_file = he->cfg.ca_file[0] ? he->cfg.ca_file : NULL,
	};
	j->req = http_submit(he->http, &r, on_response, j, e, sizeof e);
	if (!j->req) {
		char d[240];
		describe(rq, url, d, sizeof d);
		msgf(msg, n, "%s: %s", d, e);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < nh; i++) {
		if (hdr[i]) {
			memset(hdr[i], 0, strlen(hdr[i]));
			free(hdr[i]);
		}
	}
	free(url);
	free(body);
	return rc;
}

static const struct http_edge_request *step_request(const struct hjob *j)
{
	return j->step == STEP_SET ? &j->he->cfg.set : &j->he->cfg.get;
}

int http_edge_take_captures(const struct sr_http_edge_config *c, const char *body, size_t len,
                            json_t *vars, char *msg, size_t n)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_DECODE_ANY, &je);
	if (!doc) {
		msgf(msg, n, "http edge: the GET answer is not JSON, so no captures: %s", je.text);
		sr_sanitize(msg, msg, n);
		return -1;
	}
	for (int i = 0; i < c->ncaptures; i++) {
		const json_t *v = http_json_pointer(doc, c->capture_pointer[i]);
		if (!v) {
			msgf(msg, n, "http edge: capture %s: nothing at %s in the GET answer",
			     c->capture_name[i], c->capture_pointer[i]);
			sr_sanitize(msg, msg, n);
			json_decref(doc);
			return -1;
		}
		json_object_set_new(vars, c->capture_name[i], json_deep_copy(v));
	}
	json_decref(doc);
	return 0;
}

/* Take each capture from the GET answer into the variables. */
static int take_captures(struct hjob *j, const struct sr_http_response *res, char *msg, size_t n)
{
	return http_edge_take_captures(&j->he->cfg, res->body, res->len, j->vars, msg, n);
}

static void on_response(void *ud, const struct sr_http_response *res)
{
	struct hjob *j = ud;
	struct hedge *he = j->he;
	j->req = NULL;
	const struct http_edge_request *rq = step_request(j);
	char what[240], msg[SR_REASON_LEN], e[SR_REASON_LEN];
	describe(rq, rq->url, what, sizeof what);
	if (res->error) {
		char t[160];
		sr_sanitize(t, res->error, sizeof t);
		msgf(msg, sizeof msg, "%s: %s", what, t);
		job_end(j, HTTP_EDGE_ERR_TRANSIENT, -1, msg);
		return;
	}
	int st = http_edge_check_status(res->status, res->reason, res->body, res->len,
	                                he->has_token ? he->token : NULL, e, sizeof e);
	if (st != 0) {
		msgf(msg, sizeof msg, "%s: %s", what, e);
		job_end(j, st, -1, msg);
		return;
	}
	switch (j->step) {
	case STEP_CAPTURE:
		if (take_captures(j, res, msg, sizeof msg) < 0) {
			job_end(j, HTTP_EDGE_ERR_REFUSED, -1, msg);
			return;
		}
		j->step = STEP_SET;
		break;
	case STEP_SET: j->step = STEP_READBACK; break;
	case STEP_READBACK: {
		int w = -1;
		if (http_edge_parse_weight(res->body, res->len, he->cfg.weight_pointer,
		                           he->cfg.weight_scale, &w, e, sizeof e) < 0) {
			msgf(msg, sizeof msg, "%s: %s", what, e);
			job_end(j, HTTP_EDGE_ERR_REFUSED, -1, msg);
			return;
		}
		if (j->is_set && w != j->target) {
			msgf(msg, sizeof msg,
			     "http edge read-back differs: the edge reports %d%%, expected %d%%", w,
			     j->target);
			job_end(j, HTTP_EDGE_ERR_REFUSED, w, msg);
			return;
		}
		job_end(j, 0, w, NULL);
		return;
	}
	}
	if (job_send(j, step_request(j), msg, sizeof msg) < 0)
		job_end(j, HTTP_EDGE_ERR_REFUSED, -1, msg);
}

static struct hjob *job_new(struct hedge *he, int weight, bool drain, const char *key,
                            sr_edge_cb cb, void *ud)
{
	struct hjob *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->he = he;
	j->cb = cb;
	j->ud = ud;
	j->vars = vars_new(weight, drain, he->phase, he->reason, he->actor, key);
	j->next = he->jobs;
	he->jobs = j;
	return j;
}

static void job_start(struct hjob *j)
{
	char msg[SR_REASON_LEN];
	if (job_send(j, step_request(j), msg, sizeof msg) < 0) {
		struct hedge *he = j->he;
		sr_edge_cb cb = j->cb;
		void *ud = j->ud;
		job_free(j);
		fail_later(he, cb, ud, HTTP_EDGE_ERR_REFUSED, msg);
	}
}

static void hedge_set_weight(struct sr_edge *e, int weight, bool drain, const char *idem_key,
                             sr_edge_cb cb, void *ud)
{
	struct hedge *he = e->impl;
	if (weight < 0 || weight > 100) {
		fail_later(he, cb, ud, HTTP_EDGE_ERR_REFUSED, "http edge: weight must be 0..100");
		return;
	}
	struct hjob *j = job_new(he, weight, drain, idem_key, cb, ud);
	if (!j) {
		fail_later(he, cb, ud, HTTP_EDGE_ERR_REFUSED, "http edge: out of memory");
		return;
	}
	j->is_set = true;
	j->target = weight;
	j->step = he->cfg.ncaptures > 0 ? STEP_CAPTURE : STEP_SET;
	job_start(j);
}

static void hedge_get_weight(struct sr_edge *e, sr_edge_cb cb, void *ud)
{
	struct hedge *he = e->impl;
	struct hjob *j = job_new(he, 0, false, "", cb, ud);
	if (!j) {
		fail_later(he, cb, ud, HTTP_EDGE_ERR_REFUSED, "http edge: out of memory");
		return;
	}
	j->step = STEP_READBACK;
	job_start(j);
}

static void hedge_destroy(struct sr_edge *e)
{
	if (!e)
		return;
	struct hedge *he = e->impl;
	he->destroyed = true;
	/* cancels every request: their callbacks never come */
	http_destroy(he->http);
	he->http = NULL;
	while (he->jobs)
		job_free(he->jobs);
	hedge_maybe_free(he);
}

/* The capture GET, when there is one, runs before the set and may take
 * its whole timeout: the set can start that late. */
static int hedge_set_calls(const struct sr_edge *e, int weight, bool drain)
{
	const struct hedge *he = e->impl;
	(void)weight;
	(void)drain;
	return (he->cfg.ncaptures > 0 ? 1 : 0) + 1;
}

static const struct sr_edge_ops hedge_ops = {
    .name = "http",
    .set_weight = hedge_set_weight,
    .get_weight = hedge_get_weight,
    .destroy = hedge_destroy,
    .set_context = http_edge_set_context,
    .set_calls = hedge_set_calls,
};

void http_edge_set_context(struct sr_edge *e, const char *phase, const char *reason,
                           const char *actor)
{
	struct hedge *he = e->impl;
	sr_sanitize(he->phase, phase ? phase : "", sizeof he->phase);
	sr_sanitize(he->reason, reason ? reason : "", sizeof he->reason);
	sr_sanitize(he->actor, actor ? actor : "", sizeof he->actor);
}

struct sr_edge *http_edge_create(uv_loop_t *loop, const struct sr_http_edge_config *c, char *err,
                                 size_t n)
{
	struct hedge *he = calloc(1, sizeof *he);
	if (!he) {
		msgf(err, n, "http edge: out of memory");
		return NULL;
	}
	he->loop = loop;
	he->cfg = *c;
	if (he->cfg.timeout_ms <= 0)
		he->cfg.timeout_ms = HTTP_EDGE_TIMEOUT_DEFAULT_MS;
	if (!(he->cfg.weight_scale > 0))
		he->cfg.weight_scale = 1.0;
	if (c->token_file[0]) {
		if (http_edge_read_token(c->token_file, he->token, sizeof he->token, err, n) < 0)
			goto fail;
		he->has_token = true;
	} else if (c->token_env[0]) {
		const char *t = getenv(c->token_env);
		if (!t || !*t || strpbrk(t, "\r\n") || strlen(t) >= sizeof he->token) {
			msgf(err, n,
			     "http edge: environment variable %s is unset, empty or not one line",
			     c->token_env);
			secret_mark_failed();
			goto fail;
		}
		sr_strlcpy(he->token, t, sizeof he->token);
		secret_register(he->token);
		he->has_token = true;
	}
	/* a header that wants the token when there is none fails now, not
	 * at the first rollback */
	json_t *vars = vars_new(0, false, "", "", "", "");
	for (int i = 0; i < c->ncaptures; i++)
		json_object_set_new(vars, c->capture_name[i], json_string(""));
	const struct http_edge_request *rqs[] = {&c->set, &c->get};
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < rqs[r]->nheaders; i++) {
			char e[200];
			char *x = http_tmpl_expand(rqs[r]->header_value[i], vars,
			                           he->has_token ? he->token : NULL,
			                           HTTP_ESC_HEADER, e, sizeof e);
			if (!x) {
				msgf(err, n, "http edge header %s: %s", rqs[r]->header_name[i], e);
				json_decref(vars);
				goto fail;
			}
			memset(x, 0, strlen(x));
			free(x);
		}
	}
	json_decref(vars);
	he->http = http_create(loop, err, n);
	if (!he->http)
		goto fail;
	he->edge.call_ms = c->timeout_ms;
	he->edge.ops = &hedge_ops;
	he->edge.impl = he;
	return &he->edge;
fail:
	memset(he->token, 0, sizeof he->token);
	free(he);
	return NULL;
}
