/* prometheus.c - the Prometheus metrics source.
 *
 * Why it looks like this: a canary console must read canary and control
 * at the same instant and must never show a stale or failed number as
 * healthy. So each poll sends one instant query per KPI (grouped by
 * journey and variant in the policy's PromQL, never one per tile), all
 * with the same explicit `time`, in parallel over one HTTP client with
 * connection reuse. When the last answer is in (or has failed, or timed
 * out) the snapshot is filled in one go by promparse_fill() and the
 * callback runs once. A failed query turns its cells to SR_OBS_ERROR,
 * keeping the last value and its time, so the engine shows ERROR and,
 * as it ages, STALE: never the last good colour.
 *
 * Secrets (the bearer token, header values) live only in this struct and
 * in the request headers; no message ever includes them. A credential is
 * never taken from the policy file itself: source.headers refuses
 * Authorization, Cookie, *-Token, *-Key and *-Secret; the token comes
 * from bearer_token_file (mode 0600) or bearer_token_env.
 */
#include "shiproom/prometheus.h"
#include "shiproom/secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/http.h"
#include "shiproom/promparse.h"
#include "shiproom/template.h"

#define TOKEN_MAX 8192
#define MAX_QUERIES SR_PROM_MAX_QUERIES
/* The rhythm query reads the newest samples of at most this many of the
 * KPIs' distinct series selectors. */
#define RHYTHM_SELECTORS 4

struct prom;

struct prom_query {
	struct prom *owner;
	int kpi; /* -1: the rhythm and liveness queries */
	enum { Q_VALUE, Q_SAMPLES, Q_EV_REQUESTS, Q_EV_BAD, Q_RHYTHM, Q_LIVENESS } what;
	int same_as;             /* an earlier query of this poll with the same
	                            text, whose answer this one shares; -1 */
	struct sr_http_req *req; /* in flight, or NULL */
	struct sr_prom_result res;
};

struct prom {
	struct sr_source src;
	const struct sr_policy *p;
	struct sr_prom_config cfg;
	struct sr_prom_labels labels;
	struct sr_http *http;

	char endpoint[SR_PROM_URL_LEN + 32];
	char *query[SR_MAX_KPIS];         /* expanded value queries (NULL: none) */
	char *samples_query[SR_MAX_KPIS]; /* expanded samples queries (NULL: none) */
	/* Evidence step queries (templates: {{step}} and {{le}} are filled
	 * at each poll) and the boundary each latency KPI used (ms, NAN). */
	const struct sr_prom_evidence_query *ev_query[SR_MAX_KPIS];
	double ev_bound[SR_MAX_KPIS];
	sr_ms last_poll;                /* 0 before the first poll */
	struct sr_snapshot *scratch[2]; /* requests, bad: promparse_fill's output */
	char *rhythm_query;             /* newest sample times (NULL: no selector found) */
	char *rhythm_text;              /* this poll's: the query, or its subquery */
	size_t rhythm_cap;
	int ntimes; /* the rhythm query's answer */
	sr_ms times[SR_SAMPLE_TIMES];
	bool asked[SR_MAX_KPIS]; /* the KPIs the poll in flight reads */
	char *liveness_query;    /* expanded, or NULL */
	sr_ms last_alive[2];     /* canary, control: newest sample seen (0: never) */
	sr_ms not_before;        /* a 429/503's Retry-After: no query before (0: none) */
	char not_before_why[96]; /* the answer that asked for it */

	char hdr_buf[SR_PROM_MAX_HEADERS][sizeof(((struct sr_prom_header *)0)->name) +
	                                  sizeof(((struct sr_prom_header *)0)->value) + 4];
	char auth[TOKEN_MAX + 32]; /* "Authorization: Bearer ..." (secret) */
	const char *hdr_lines[SR_PROM_MAX_HEADERS + 4];

	struct sr_snapshot snap;
	struct prom_query q[MAX_QUERIES];
	int nq, pending, last_nq; /* last_nq: requests sent (distinct texts) */
	bool busy;
	sr_ms now;
	sr_source_cb cb;
	void *ud;
};

/* ---- configuration -------------------------------------------------------- */

void prometheus_config_defaults(struct sr_prom_config *c)
{
	memset(c, 0, sizeof *c);
	c->timeout_s = 10;
	sr_strlcpy(c->window, "1m", sizeof c->window);
	sr_strlcpy(c->journey_label, "journey", sizeof c->journey_label);
	sr_strlcpy(c->variant_label, "variant", sizeof c->variant_label);
	sr_strlcpy(c->canary_value, "canary", sizeof c->canary_value);
	sr_strlcpy(c->control_value, "control", sizeof c->control_value);
	c->max_response_bytes = SR_PROM_DEFAULT_MAX_BYTES;
	c->le_scale = 0.001;
}

static bool is_label_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static bool is_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* RFC 9110 token: what a header name may be made of. */
static bool is_header_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

/* Does the name say the header carries a credential? Authorization,
 * Proxy-Authorization, Cookie, and names ending in -Token, -Key or
 * -Secret (X-API-Key, X-Vault-Token), case-insensitive. Idempotency-Key
 * is a request id, not a secret. (The HTTP edge keeps the same rule.) */
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

/* A Prometheus duration: one or more <digits><unit>, unit ms s m h d w y. */
static bool is_duration(const char *s)
{
	if (!*s)
		return false;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
		if (s[0] == 'm' && s[1] == 's')
			s += 2;
		else if (*s && strchr("smhdwy", *s))
			s++;
		else
			return false;
	}
	return true;
}

static int url_check(const char *u, char *why, size_t n)
{
	const char *rest;
	if (strncmp(u, "http://", 7) == 0)
		rest = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		rest = u + 8;
	else {
		snprintf(why, n, "must start with http:// or https://");
		return -1;
	}
	if (!*rest || *rest == '/') {
		snprintf(why, n, "has no host");
		return -1;
	}
	size_t auth = strcspn(rest, "/");
	if (memchr(rest, '@', auth)) {
		snprintf(why, n,
		         "must not carry credentials: use bearer_token_file or bearer_token_env");
		return -1;
	}
	if (strpbrk(u, "?#")) {
		snprintf(why, n, "must not have a query string or fragment");
		return -1;
	}
	if (!is_printable(u) || strchr(u, ' ')) {
		snprintf(why, n, "contains spaces or control characters");
		return -1;
	}
	return 0;
}

static int get_string(const json_t *v, const char *key, char *dst, size_t n, char *err, size_t en)
{
	if (!json_is_string(v)) {
		snprintf(err, en, "source.%s: must be a string", key);
		return -1;
	}
	if (!sr_strlcpy(dst, json_string_value(v), n)) {
		snprintf(err, en, "source.%s: longer than %zu bytes", key, n - 1);
		return -1;
	}
	if (!is_printable(dst)) {
		snprintf(err, en, "source.%s: contains control characters", key);
		return -1;
	}
	return 0;
}

static int cfg_headers(struct sr_prom_config *c, const json_t *v, char *err, size_t en)
{
	const char *name;
	json_t *val;
	if (!json_is_object(v)) {
		snprintf(err, en, "source.headers: must be an object of {\"Name\": \"value\"}");
		return -1;
	}
	json_object_foreach((json_t *)v, name, val)
	{
		char shown[64];
		sr_sanitize(shown, name, sizeof shown);
		if (c->nheaders >= SR_PROM_MAX_HEADERS) {
			snprintf(err, en, "source.headers: more than %d headers",
			         SR_PROM_MAX_HEADERS);
			return -1;
		}
		struct sr_prom_header *h = &c->headers[c->nheaders];
		if (!is_header_name(name) || !sr_strlcpy(h->name, name, sizeof h->name)) {
			snprintf(err, en, "source.headers.%s: not a valid header name", shown);
			return -1;
		}
		if (!strcasecmp(name, "Content-Type") || !strcasecmp(name, "Content-Length") ||
		    !strcasecmp(name, "Transfer-Encoding") || !strcasecmp(name, "Host")) {
			snprintf(err, en,
			         "source.headers.%s: set by shiproom, cannot be overridden", shown);
			return -1;
		}
		/* A secret in the policy (a file whose mode nobody checks, copied
		 * into tickets and repositories) is refused outright: the token
		 * comes from a 0600 file or the environment. */
		if (is_credential_header(name)) {
			snprintf(
			    err, en,
			    "source.headers.%s: a credential must not be written in the policy: "
			    "use bearer_token_file (a file of mode 0600) or bearer_token_env",
			    shown);
			return -1;
		}
		/* The value may be a secret: say what is wrong, never what it is. */
		if (!json_is_string(val) ||
		    !sr_strlcpy(h->value, json_string_value(val), sizeof h->value) ||
		    !is_printable(h->value)) {
			snprintf(
			    err, en,
			    "source.headers.%s: must be a string of at most %zu printable bytes",
			    shown, sizeof h->value - 1);
			return -1;
		}
		c->nheaders++;
	}
	return 0;
}

static int cfg_samples(struct sr_prom_config *c, const json_t *v, char *err, size_t en)
{
	const char *kpi;
	json_t *val;
	if (!json_is_object(v)) {
		snprintf(err, en,
		         "source.samples_queries: must be an object of {\"kpi_id\": \"PromQL\"}");
		return -1;
	}
	json_object_foreach((json_t *)v, kpi, val)
	{
		char shown[SR_NAME_LEN];
		sr_sanitize(shown, kpi, sizeof shown);
		if (c->nsamples >= SR_MAX_KPIS) {
			snprintf(err, en, "source.samples_queries: more than %d entries",
			         SR_MAX_KPIS);
			return -1;
		}
		struct sr_prom_samples_query *s = &c->samples[c->nsamples];
		if (!sr_strlcpy(s->kpi, kpi, sizeof s->kpi)) {
			snprintf(err, en, "source.samples_queries: KPI id \"%s...\" too long",
			         shown);
			return -1;
		}
		if (!json_is_string(val) ||
		    !sr_strlcpy(s->query, json_string_value(val), sizeof s->query)) {
			snprintf(err, en,
			         "source.samples_queries.%s: must be a string of at most %d bytes",
			         shown, SR_QUERY_LEN - 1);
			return -1;
		}
		c->nsamples++;
	}
	return 0;
}

static int cfg_evidence(struct sr_prom_config *c, const json_t *v, char *err, size_t en)
{
	const char *kpi;
	json_t *val;
	if (!json_is_object(v)) {
		snprintf(err, en,
		         "source.evidence_queries: must be an object of {\"kpi_id\": "
		         "{\"requests\": \"PromQL\", \"bad\": \"PromQL\"}}");
		return -1;
	}
	json_object_foreach((json_t *)v, kpi, val)
	{
		char shown[SR_NAME_LEN];
		sr_sanitize(shown, kpi, sizeof shown);
		if (c->nevidence >= SR_MAX_KPIS) {
			snprintf(err, en, "source.evidence_queries: more than %d entries",
			         SR_MAX_KPIS);
			return -1;
		}
		struct sr_prom_evidence_query *e = &c->evidence[c->nevidence];
		if (!sr_strlcpy(e->kpi, kpi, sizeof e->kpi)) {
			snprintf(err, en, "source.evidence_queries: KPI id \"%s...\" too long",
			         shown);
			return -1;
		}
		const json_t *rq = json_is_object(val) ? json_object_get(val, "requests") : NULL;
		const json_t *bq = json_is_object(val) ? json_object_get(val, "bad") : NULL;
		if (!json_is_object(val) || json_object_size(val) != 2 || !json_is_string(rq) ||
		    !json_is_string(bq) ||
		    !sr_strlcpy(e->requests, json_string_value(rq), sizeof e->requests) ||
		    !sr_strlcpy(e->bad, json_string_value(bq), sizeof e->bad)) {
			snprintf(err, en,
			         "source.evidence_queries.%s: must be {\"requests\": \"PromQL\", "
			         "\"bad\": \"PromQL\"}, each at most %d bytes",
			         shown, SR_QUERY_LEN - 1);
			return -1;
		}
		c->nevidence++;
	}
	return 0;
}

static int cfg_buckets(struct sr_prom_config *c, const json_t *v, char *err, size_t en)
{
	size_t i;
	json_t *b;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > SR_PROM_MAX_BUCKETS) {
		snprintf(err, en, "source.evidence_buckets_ms: must be an array of 1 to %d numbers",
		         SR_PROM_MAX_BUCKETS);
		return -1;
	}
	c->nbuckets = 0;
	json_array_foreach((json_t *)v, i, b)
	{
		double x = json_is_number(b) ? json_number_value(b) : NAN;
		if (!(x > 0 && isfinite(x)) || (i > 0 && !(x > c->buckets_ms[i - 1]))) {
			snprintf(err, en,
			         "source.evidence_buckets_ms[%zu]: must be a finite number above 0 "
			         "and above the one before",
			         i);
			return -1;
		}
		c->buckets_ms[c->nbuckets++] = x;
	}
	return 0;
}

static int cfg_number(const json_t *v, const char *key, double lo, double hi, double *out,
                      char *err, size_t en)
{
	if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
		snprintf(err, en, "source.%s: must be a number from %g to %g", key, lo, hi);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int cfg_key(struct sr_prom_config *c, const char *key, const json_t *v, char *err, size_t en)
{
	double d;
	if (!strcmp(key, "kind")) {
		if (!json_is_string(v) || strcmp(json_string_value(v), "prometheus") != 0) {
			snprintf(err, en, "source.kind: must be \"prometheus\" here");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "url")) {
		char why[128];
		if (get_string(v, key, c->url, sizeof c->url, err, en) != 0)
			return -1;
		size_t len = strlen(c->url);
		while (len > 0 && c->url[len - 1] == '/')
			c->url[--len] = '\0';
		if (url_check(c->url, why, sizeof why) != 0) {
			snprintf(err, en, "source.url: %s", why);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "headers"))
		return cfg_headers(c, v, err, en);
	if (!strcmp(key, "bearer_token_file"))
		return get_string(v, key, c->bearer_token_file, sizeof c->bearer_token_file, err,
		                  en);
	if (!strcmp(key, "bearer_token_env")) {
		if (get_string(v, key, c->bearer_token_env, sizeof c->bearer_token_env, err, en) !=
		    0)
			return -1;
		if (!is_label_name(c->bearer_token_env)) {
			snprintf(err, en,
			         "source.bearer_token_env: not an environment variable name");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "ca_file"))
		return get_string(v, key, c->ca_file, sizeof c->ca_file, err, en);
	if (!strcmp(key, "timeout_s")) {
		if (cfg_number(v, key, 0.1, 300, &d, err, en) != 0)
			return -1;
		c->timeout_s = d;
		return 0;
	}
	if (!strcmp(key, "window")) {
		if (get_string(v, key, c->window, sizeof c->window, err, en) != 0)
			return -1;
		if (!is_duration(c->window)) {
			snprintf(err, en,
			         "source.window: not a Prometheus duration like \"1m\" or \"30s\"");
			return -1;
		}
		return 0;
	}
	struct {
		const char *key;
		char *dst;
		bool label_name;
	} labels[] = {
	    {"journey_label", c->journey_label, true},
	    {"variant_label", c->variant_label, true},
	    {"canary_value", c->canary_value, false},
	    {"control_value", c->control_value, false},
	};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		if (strcmp(key, labels[i].key) != 0)
			continue;
		if (get_string(v, key, labels[i].dst, SR_NAME_LEN, err, en) != 0)
			return -1;
		if (labels[i].label_name ? !is_label_name(labels[i].dst) : !labels[i].dst[0]) {
			snprintf(err, en, "source.%s: %s", key,
			         labels[i].label_name ? "not a Prometheus label name"
			                              : "must not be empty");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "max_response_bytes")) {
		if (!json_is_integer(v) || json_integer_value(v) < 1024 ||
		    json_integer_value(v) > 1024LL * 1024 * 1024) {
			snprintf(err, en,
			         "source.max_response_bytes: must be an integer from 1024 to "
			         "1073741824");
			return -1;
		}
		c->max_response_bytes = (size_t)json_integer_value(v);
		return 0;
	}
	if (!strcmp(key, "samples_queries"))
		return cfg_samples(c, v, err, en);
	if (!strcmp(key, "evidence_queries"))
		return cfg_evidence(c, v, err, en);
	if (!strcmp(key, "evidence_buckets_ms"))
		return cfg_buckets(c, v, err, en);
	if (!strcmp(key, "evidence_le_scale"))
		return cfg_number(v, key, 1e-9, 1e9, &c->le_scale, err, en);
	if (!strcmp(key, "on_warnings")) {
		static const char *const names[] = {"partial", "ignore", "error"};
		for (int i = 0; i < 3; i++)
			if (json_is_string(v) && !strcmp(json_string_value(v), names[i])) {
				c->on_warnings = i;
				return 0;
			}
		snprintf(err, en,
		         "source.on_warnings: must be \"partial\", \"ignore\" or \"error\"");
		return -1;
	}
	if (!strcmp(key, "liveness_query")) {
		if (get_string(v, key, c->liveness_query, sizeof c->liveness_query, err, en) != 0)
			return -1;
		if (!is_printable(c->liveness_query)) {
			snprintf(err, en, "source.liveness_query: control characters");
			return -1;
		}
		return 0;
	}
	char shown[48];
	sr_sanitize(shown, key, sizeof shown);
	snprintf(err, en,
	         "source.%s: unknown key (known: kind, url, headers, bearer_token_file, "
	         "bearer_token_env, ca_file, timeout_s, window, journey_label, variant_label, "
	         "canary_value, control_value, max_response_bytes, samples_queries, "
	         "evidence_queries, evidence_buckets_ms, evidence_le_scale, on_warnings, "
	         "liveness_query)",
	         shown);
	return -1;
}

int prometheus_config_from_json(struct sr_prom_config *c, const json_t *source_obj, char *err,
                                size_t n)
{
	const char *key;
	json_t *v;
	prometheus_config_defaults(c);
	if (!json_is_object(source_obj)) {
		snprintf(err, n, "source: must be an object");
		return -1;
	}
	json_object_foreach((json_t *)source_obj, key, v)
	{
		if (cfg_key(c, key, v, err, n) != 0)
			return -1;
	}
	if (!c->url[0]) {
		snprintf(err, n,
		         "source.url: required for the prometheus source "
		         "(e.g. \"http://prometheus:9090\")");
		return -1;
	}
	if (c->bearer_token_file[0] && c->bearer_token_env[0]) {
		snprintf(err, n, "source: bearer_token_file and bearer_token_env are exclusive");
		return -1;
	}
	if (!strcmp(c->canary_value, c->control_value)) {
		snprintf(err, n, "source: canary_value and control_value must differ");
		return -1;
	}
	return 0;
}

/* ---- secrets -------------------------------------------------------------- */

/* Trim trailing whitespace and refuse anything that could break out of
 * the header line. */
static int token_check(char *tok, const char *from, char *err, size_t en)
{
	size_t len = strlen(tok);
	while (len > 0 && isspace((unsigned char)tok[len - 1]))
		tok[--len] = '\0';
	if (len == 0) {
		snprintf(err, en, "%s: the bearer token is empty", from);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		if (c < 0x21 || c == 0x7f) {
			snprintf(err, en,
			         "%s: the bearer token contains spaces or control characters",
			         from);
			return -1;
		}
	}
	return 0;
}

static int token_load(struct prom *pr, char *err, size_t en)
{
	char tok[TOKEN_MAX];
	char from[600];
	pr->auth[0] = '\0';
	if (pr->cfg.bearer_token_file[0]) {
		snprintf(from, sizeof from, "bearer_token_file %s", pr->cfg.bearer_token_file);
		if (secret_read_file(pr->cfg.bearer_token_file, "bearer_token_file", tok,
		                     sizeof tok, err, en) != 0)
			return -1;
	} else if (pr->cfg.bearer_token_env[0]) {
		snprintf(from, sizeof from, "bearer_token_env %s", pr->cfg.bearer_token_env);
		const char *e = getenv(pr->cfg.bearer_token_env);
		if (!e || !*e) {
			snprintf(err, en, "bearer_token_env: $%s is not set",
			         pr->cfg.bearer_token_env);
			secret_mark_failed();
			return -1;
		}
		if (!sr_strlcpy(tok, e, sizeof tok)) {
			snprintf(err, en, "bearer_token_env: $%s is longer than %zu bytes",
			         pr->cfg.bearer_token_env, sizeof tok - 1);
			memset(tok, 0, sizeof tok);
			return -1;
		}
	} else {
		return 0;
	}
	int rc = token_check(tok, from, err, en);
	if (rc != 0)
		secret_mark_failed();
	if (rc == 0) {
		snprintf(pr->auth, sizeof pr->auth, "Authorization: Bearer %s", tok);
		secret_register(tok); /* an env token too: scrubbed wherever it shows */
	}
	memset(tok, 0, sizeof tok);
	return rc;
}

/* ---- polling -------------------------------------------------------------- */

static bool kpi_has_cells(const struct sr_policy *p, int kpi)
{
	for (int c = 0; c < p->ncells && c < SR_MAX_CELLS; c++)
		if (p->cells[c].kpi == kpi)
			return true;
	return false;
}

static void build_headers(struct prom *pr)
{
	int n = 0;
	pr->hdr_lines[n++] = "Content-Type: application/x-www-form-urlencoded";
	pr->hdr_lines[n++] = "Accept: application/json";
	for (int i = 0; i < pr->cfg.nheaders; i++)
		pr->hdr_lines[n++] = pr->hdr_buf[i];
	if (pr->auth[0])
		pr->hdr_lines[n++] = pr->auth;
	pr->hdr_lines[n] = NULL;
}

static void fail_kpi_cells(struct prom *pr, int kpi, const char *msg)
{
	struct sr_prom_result r;
	promparse_set_error(&r, msg);
	promparse_fill(&pr->snap, pr->p, kpi, &r, NULL, &pr->labels, pr->now);
}

/* One cohort's step count from a scratch fill: a missing series is 0
 * (increase() of an error counter that never fired has none), a failed
 * query NAN (the test waits). */
static double step_count(const struct sr_obs *o)
{
	if (o->kind == SR_OBS_OK)
		return o->value >= 0 ? o->value : 0; /* increase() never goes below 0 */
	return o->kind == SR_OBS_NOSERIES ? 0 : NAN;
}

/* The evidence test's step counts of KPI k (snapshot.h step_*). */
static void fill_steps(struct prom *pr, int k, const struct prom_query *req,
                       const struct prom_query *bad)
{
	const struct sr_policy *p = pr->p;
	if (req && bad) {
		for (int w = 0; w < 2; w++) {
			snapshot_clear(pr->scratch[w], p->ncells);
			promparse_fill(pr->scratch[w], p, k, w == 0 ? &req->res : &bad->res, NULL,
			               &pr->labels, pr->now);
		}
	}
	for (int c = 0; c < p->ncells && c < SR_MAX_CELLS; c++) {
		if (p->cells[c].kpi != k)
			continue;
		struct sr_obs *o[2] = {&pr->snap.canary[c], &pr->snap.control[c]};
		for (int v = 0; v < 2; v++) {
			if (!req || !bad) {
				o[v]->step_n = o[v]->step_bad = o[v]->step_bound = NAN;
				continue;
			}
			o[v]->step_n = step_count(v == 0 ? &pr->scratch[0]->canary[c]
			                                 : &pr->scratch[0]->control[c]);
			o[v]->step_bad = step_count(v == 0 ? &pr->scratch[1]->canary[c]
			                                   : &pr->scratch[1]->control[c]);
			o[v]->step_bound = pr->ev_bound[k];
		}
	}
}

/* Every answer is in: fill the snapshot and call back once. */
static void prom_finish(struct prom *pr)
{
	pr->snap.nsample_times = pr->ntimes;
	memcpy(pr->snap.sample_times, pr->times, sizeof pr->times);
	for (int k = 0; k < pr->p->nkpis; k++) {
		if (!kpi_has_cells(pr->p, k) || !pr->asked[k])
			continue;
		const struct prom_query *q[4] = {NULL, NULL, NULL, NULL};
		for (int i = 0; i < pr->nq; i++)
			if (pr->q[i].kpi == k)
				q[pr->q[i].what] = pr->q[i].same_as >= 0 ? &pr->q[pr->q[i].same_as]
				                                         : &pr->q[i];
		if (!q[Q_VALUE]) {
			fail_kpi_cells(pr, k, "no query for this KPI in the policy");
			continue;
		}
		promparse_fill(&pr->snap, pr->p, k, &q[Q_VALUE]->res,
		               q[Q_SAMPLES] ? &q[Q_SAMPLES]->res : NULL, &pr->labels, pr->now);
		if (pr->ev_query[k])
			fill_steps(pr, k, q[Q_EV_REQUESTS], q[Q_EV_BAD]);
	}
	promparse_apply_warnings(&pr->snap, pr->cfg.on_warnings);
	for (int i = 0; i < pr->nq; i++)
		if (pr->q[i].what == Q_LIVENESS)
			promparse_apply_liveness(&pr->snap, &pr->q[i].res, &pr->labels,
			                         pr->last_alive, pr->now, pr->p->stale_after_ms);
	int sent = 0;
	for (int i = 0; i < pr->nq; i++) {
		if (pr->q[i].same_as >= 0)
			continue; /* shared an earlier query's answer */
		promparse_free(&pr->q[i].res);
		sent++;
	}
	pr->last_nq = sent;
	pr->nq = 0;
	pr->busy = false;
	/* The callback may poll again or destroy us: touch nothing after. */
	sr_source_cb cb = pr->cb;
	void *ud = pr->ud;
	if (cb)
		cb(ud, &pr->snap);
}

static void on_answer(void *ud, const struct sr_http_response *res)
{
	struct prom_query *q = ud;
	struct prom *pr = q->owner;
	q->req = NULL;
	if (q->what == Q_RHYTHM) {
		/* The rhythm query: sample times, or none (a failure here only
		 * means the schedule stays as it is: the KPIs are what count). */
		int n = res->error
		            ? -1
		            : promparse_rhythm(res->body, res->len, pr->cfg.max_response_bytes,
		                               &pr->labels, pr->times, SR_SAMPLE_TIMES);
		pr->ntimes = n > 0 ? n : 0;
		promparse_set_error(&q->res, "rhythm");
	} else if (res->error) {
		/* The cause alone: the engine says "fetch failed: <cause>"
		 * (obs_problem), as for every source. */
		char msg[320];
		sr_strlcpy(msg, res->error, sizeof msg);
		secret_scrub(msg, sizeof msg);
		promparse_set_error(&q->res, msg);
	} else {
		if (res->status == 429 || res->status == 503) {
			/* The server asked for quiet: the next polls send
			 * nothing until then (bounded: it must not blind us). */
			long wait = http_retry_after_ms(res->retry_after, pr->now,
			                                SR_RETRY_AFTER_MAX_MS);
			if (wait > 0 && pr->now + wait > pr->not_before) {
				pr->not_before = pr->now + wait;
				snprintf(pr->not_before_why, sizeof pr->not_before_why,
				         "HTTP %ld with Retry-After %s", res->status,
				         res->retry_after);
				sr_sanitize(pr->not_before_why, pr->not_before_why,
				            sizeof pr->not_before_why);
			}
		}
		/* Scrubbed before it is parsed and cut: an error body (or a
		 * warning) echoing the Authorization header shows no token. */
		size_t len = res->len;
		char *clean = secret_scrub_dup(res->body, res->len, &len);
		promparse_response(&q->res, res->status, res->reason, clean ? clean : res->body,
		                   len, pr->cfg.max_response_bytes, &pr->labels);
		free(clean);
	}
	if (--pr->pending == 0)
		prom_finish(pr);
}

static void query_send(struct prom *pr, struct prom_query *q, const char *query, const char *tparam)
{
	char err[256];
	size_t need = http_form_escape(NULL, 0, query);
	size_t n = need + 64;
	char *body = malloc(n);
	if (!body) {
		promparse_set_error(&q->res, "out of memory");
		return;
	}
	memcpy(body, "query=", 6);
	http_form_escape(body + 6, n - 6, query);
	size_t used = strlen(body);
	snprintf(body + used, n - used, "&time=%s", tparam);

	struct sr_http_request rq = {
	    .method = "POST",
	    .url = pr->endpoint,
	    .headers = pr->hdr_lines,
	    .body = body,
	    .body_len = strlen(body),
	    .timeout_ms = (long)lround(pr->cfg.timeout_s * 1000.0),
	    .max_response = pr->cfg.max_response_bytes,
	    .ca_file = pr->cfg.ca_file[0] ? pr->cfg.ca_file : NULL,
	};
	q->req = http_submit(pr->http, &rq, on_answer, q, err, sizeof err);
	free(body);
	if (!q->req)
		promparse_set_error(&q->res, err);
	else
		pr->pending++;
}

static void add_query(struct prom *pr, int k, int what)
{
	struct prom_query *q = &pr->q[pr->nq++];
	memset(q, 0, sizeof *q);
	q->owner = pr;
	q->kpi = k;
	q->what = what;
}

/* A boundary as an `le` label value: %g in the C locale ("0.11"). */
static void le_text(const struct prom *pr, double ms, char *buf, size_t n)
{
	if (promparse_fmt_g(buf, n, ms * pr->cfg.le_scale) != 0)
		buf[0] = '\0';
}

/* Choose KPI k's slow-request boundary for this poll (latency KPIs):
 * the first bucket at or above the median of its cells' control values
 * at the previous poll, which the snapshot still holds. False when
 * there is none yet (the first poll): no evidence queries this time. */
static bool evidence_bound(struct prom *pr, int k)
{
	const struct sr_policy *p = pr->p;
	pr->ev_bound[k] = NAN;
	if (p->kpis[k].signal != SR_SIG_LATENCY)
		return true;
	double v[SR_MAX_CELLS];
	int n = 0;
	for (int c = 0; c < p->ncells && c < SR_MAX_CELLS; c++)
		if (p->cells[c].kpi == k && pr->snap.control[c].kind == SR_OBS_OK &&
		    isfinite(pr->snap.control[c].value))
			v[n++] = pr->snap.control[c].value;
	if (n == 0 || pr->cfg.nbuckets == 0)
		return false;
	for (int i = 1; i < n; i++) /* insertion sort: a handful of journeys */
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	double median = v[n / 2];
	int b = 0;
	while (b < pr->cfg.nbuckets - 1 && pr->cfg.buckets_ms[b] < median)
		b++;
	pr->ev_bound[k] = pr->cfg.buckets_ms[b];
	return true;
}

/* An evidence query's placeholders: {{step}} (the test's step window)
 * and {{le}} (the histogram boundary), then the query's own (promparse). */
struct evidence_vars {
	struct promparse_vars base;
	const char *step;
	const char *le; /* "" on a KPI that is not latency */
};

static int evidence_value(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *w,
                          char *why, size_t wn)
{
	const struct evidence_vars *ev = ud;
	if (len == 4 && memcmp(name, "step", 4) == 0) {
		tbuf_put(w, ev->step, strlen(ev->step));
		return 0;
	}
	if (len == 2 && memcmp(name, "le", 2) == 0) {
		if (!ev->le[0]) {
			snprintf(why, wn,
			         "{{le}} in the evidence query of a KPI that is not latency");
			return -1;
		}
		tbuf_put(w, ev->le, strlen(ev->le));
		return 0;
	}
	return promparse_placeholder((void *)&ev->base, name, len, at, w, why, wn);
}

/* Malloc'ed (free it), or NULL with why filled. */
static char *evidence_expand(const struct prom *pr, int k, const char *tmpl, const char *step,
                             char *why, size_t wn)
{
	char le[32] = "";
	if (isfinite(pr->ev_bound[k]))
		le_text(pr, pr->ev_bound[k], le, sizeof le);
	struct evidence_vars ev = {{pr->p, k, pr->cfg.window}, step, le};
	return tmpl_expand(tmpl, evidence_value, &ev, why, wn);
}

static void rhythm_text(struct prom *pr, sr_ms history);

/* The text of a value or samples query, which another KPI's may share
 * (P50, P95 and P99 count the same requests); NULL for the others. */
static const char *prom_query_text(const struct prom *pr, const struct prom_query *q)
{
	if (q->kpi < 0)
		return NULL;
	if (q->what == Q_VALUE)
		return pr->query[q->kpi];
	if (q->what == Q_SAMPLES)
		return pr->samples_query[q->kpi];
	return NULL;
}

static void prom_poll(struct sr_source *s, sr_ms now, sr_source_cb cb, void *ud)
{
	struct prom *pr = s->impl;
	pr->cb = cb;
	pr->ud = ud;
	if (pr->busy)
		return; /* the poll in flight will answer the newest caller */
	pr->busy = true;
	pr->now = now;
	pr->nq = 0;
	pr->pending = 0;

	char err[512];
	if (now < pr->not_before) {
		char left[24];
		sr_fmt_duration(left, sizeof left, pr->not_before - now);
		snprintf(err, sizeof err, "not queried: the source answered %s; next query in %s",
		         pr->not_before_why, left);
		for (int k = 0; k < pr->p->nkpis; k++)
			if (kpi_has_cells(pr->p, k) && (!s->ask.kpis || s->ask.kpis[k]))
				fail_kpi_cells(pr, k, err);
		pr->busy = false;
		pr->last_nq = 0;
		if (cb)
			cb(ud, &pr->snap);
		return;
	}
	if (token_load(pr, err, sizeof err) != 0) {
		snapshot_fail_all(&pr->snap, err);
		pr->busy = false;
		pr->last_nq = 0;
		if (cb)
			cb(ud, &pr->snap);
		return;
	}
	build_headers(pr);

	/* One instant for every query: canary and control, and every KPI,
	 * are read at the same time. Seconds with millisecond precision. */
	char tparam[32];
	snprintf(tparam, sizeof tparam, "%lld.%03lld", (long long)(now / 1000),
	         (long long)(now % 1000));

	/* The evidence step: the time since the last poll, for increase(). */
	char step[32];
	sr_ms since = pr->last_poll > 0 && now > pr->last_poll ? now - pr->last_poll
	                                                       : pr->p->poll_ms;
	snprintf(step, sizeof step, "%llds",
	         (long long)((since + 500) / 1000 > 0 ? (since + 500) / 1000 : 1));
	pr->last_poll = now;
	const struct sr_poll_ask *ask = &s->ask;
	for (int k = 0; k < pr->p->nkpis; k++) {
		/* A fast poll reads only the KPIs it was asked for; the others
		 * keep their last observation, which ages as it should. */
		pr->asked[k] = !ask->kpis || ask->kpis[k];
		if (!kpi_has_cells(pr->p, k) || !pr->query[k] || !pr->asked[k])
			continue;
		add_query(pr, k, Q_VALUE);
		if (pr->samples_query[k])
			add_query(pr, k, Q_SAMPLES);
		if (pr->ev_query[k] && evidence_bound(pr, k)) {
			add_query(pr, k, Q_EV_REQUESTS);
			add_query(pr, k, Q_EV_BAD);
		}
	}
	pr->ntimes = 0;
	if (ask->rhythm && pr->rhythm_query) {
		rhythm_text(pr, ask->history);
		add_query(pr, -1, Q_RHYTHM);
	}
	if (pr->liveness_query)
		add_query(pr, -1, Q_LIVENESS);
	/* Count before sending: an answer cannot arrive before every query is
	 * out (the client never calls back from submit), but pending must
	 * not touch zero half way. A query whose text an earlier one of this
	 * poll already has (KPIs sharing a denominator: P50, P95 and P99 count
	 * the same requests) is not sent again: it shares that answer. */
	pr->pending = 1;
	for (int i = 0; i < pr->nq; i++) {
		struct prom_query *q = &pr->q[i];
		q->same_as = -1;
		if (q->what == Q_RHYTHM || q->what == Q_LIVENESS) {
			query_send(pr, q,
			           q->what == Q_RHYTHM ? pr->rhythm_text : pr->liveness_query,
			           tparam);
			continue;
		}
		const char *same = prom_query_text(pr, q);
		if (same) {
			for (int j = 0; j < i && q->same_as < 0; j++) {
				const char *other = prom_query_text(pr, &pr->q[j]);
				if (pr->q[j].same_as < 0 && other && strcmp(other, same) == 0)
					q->same_as = j;
			}
			if (q->same_as < 0)
				query_send(pr, q, same, tparam);
			continue;
		}
		char why[200];
		const struct sr_prom_evidence_query *e = pr->ev_query[q->kpi];
		char *text = evidence_expand(pr, q->kpi, q->what == Q_EV_BAD ? e->bad : e->requests,
		                             step, why, sizeof why);
		if (!text)
			promparse_set_error(&q->res, why);
		else
			query_send(pr, q, text, tparam);
		free(text);
	}
	memset(pr->auth, 0, sizeof pr->auth);
	if (--pr->pending == 0)
		prom_finish(pr);
}

static void prom_destroy(struct sr_source *s)
{
	if (!s)
		return;
	struct prom *pr = s->impl;
	for (int i = 0; i < pr->nq; i++) {
		if (pr->q[i].req)
			http_cancel(pr->http, pr->q[i].req);
		promparse_free(&pr->q[i].res);
	}
	http_destroy(pr->http);
	for (int k = 0; k < SR_MAX_KPIS; k++) {
		free(pr->query[k]);
		free(pr->samples_query[k]);
	}
	free(pr->scratch[0]);
	free(pr->scratch[1]);
	free(pr->rhythm_query);
	free(pr->rhythm_text);
	free(pr->liveness_query);
	memset(pr->auth, 0, sizeof pr->auth);
	memset(pr->hdr_buf, 0, sizeof pr->hdr_buf);
	memset(&pr->cfg, 0, sizeof pr->cfg);
	free(pr);
}

static const struct sr_source_ops prom_ops = {
    .name = "prometheus",
    .poll = prom_poll,
    .destroy = prom_destroy,
    .honours_ask = true,
};

int prometheus_last_query_count(const struct sr_source *s)
{
	const struct prom *pr = s->impl;
	return pr->last_nq;
}

/* ---- creation ------------------------------------------------------------- */

static char *expand_or_fail(const struct sr_policy *p, int k, const char *tmpl, const char *window,
                            const char *what, char *err, size_t n)
{
	char why[200];
	char *q = promparse_expand_alloc(tmpl, p, k, window, why, sizeof why);
	if (!q)
		snprintf(err, n, "kpi %s: %s: %s", p->kpis[k].id, what, why);
	return q;
}

/* The rhythm query: the newest sample time of the series the KPI
 * queries read, per cohort -
 *   max by (variant) (timestamp(sel1) or timestamp(sel2) ...)
 * with the first selector of each KPI query (promparse_first_selector),
 * at most RHYTHM_SELECTORS distinct ones. timestamp() of an instant
 * selector is the time of each series' newest sample: a scrape time.
 * It reads one sample per series, far less than any rate() over a
 * window. No selector found (a KPI of constants): no rhythm query, and
 * the schedule stays on poll_s. Returns -1 only when out of memory. */
static int rhythm_prepare(struct prom *pr)
{
	char sel[RHYTHM_SELECTORS][SR_QUERY_LEN];
	int nsel = 0;
	size_t need = 64 + strlen(pr->cfg.variant_label);
	for (int k = 0; k < pr->p->nkpis && k < SR_MAX_KPIS && nsel < RHYTHM_SELECTORS; k++) {
		if (!pr->query[k] ||
		    !promparse_first_selector(pr->query[k], sel[nsel], SR_QUERY_LEN))
			continue;
		bool dup = false;
		for (int i = 0; i < nsel && !dup; i++)
			dup = strcmp(sel[i], sel[nsel]) == 0;
		if (!dup)
			need += strlen(sel[nsel++]) + 20;
	}
	if (nsel == 0)
		return 0;
	char *q = malloc(need);
	if (!q)
		return -1;
	size_t o = (size_t)snprintf(q, need, "max by (%s) (", pr->cfg.variant_label);
	for (int i = 0; i < nsel; i++)
		o += (size_t)snprintf(q + o, need - o, "%stimestamp(%s)", i ? " or " : "", sel[i]);
	snprintf(q + o, need - o, ")");
	pr->rhythm_query = q;
	pr->rhythm_cap = strlen(q) + 64;
	pr->rhythm_text = malloc(pr->rhythm_cap);
	return pr->rhythm_text ? 0 : -1;
}

/* This poll's rhythm query: the newest sample times, or with `history`
 * every sample time over that long - a subquery whose steps (45 of them,
 * at least 100 ms apart) each read the newest sample then, so every
 * scrape in the range shows as a distinct value. */
static void rhythm_text(struct prom *pr, sr_ms history)
{
	if (history <= 0) {
		snprintf(pr->rhythm_text, pr->rhythm_cap, "%s", pr->rhythm_query);
		return;
	}
	sr_ms step = history / 45 > 100 ? history / 45 : 100;
	snprintf(pr->rhythm_text, pr->rhythm_cap, "(%s)[%lldms:%lldms]", pr->rhythm_query,
	         (long long)history, (long long)step);
}

static int prom_prepare(struct prom *pr, char *err, size_t n)
{
	const struct sr_policy *p = pr->p;
	for (int k = 0; k < p->nkpis && k < SR_MAX_KPIS; k++) {
		if (!p->kpis[k].query[0])
			continue;
		pr->query[k] = expand_or_fail(p, k, p->kpis[k].query, pr->cfg.window, "query", err,
		                              n);
		if (!pr->query[k])
			return -1;
	}
	for (int i = 0; i < pr->cfg.nsamples; i++) {
		const struct sr_prom_samples_query *s = &pr->cfg.samples[i];
		int k = -1;
		for (int j = 0; j < p->nkpis; j++)
			if (!strcmp(p->kpis[j].id, s->kpi))
				k = j;
		if (k < 0) {
			char shown[SR_NAME_LEN];
			sr_sanitize(shown, s->kpi, sizeof shown);
			snprintf(err, n, "source.samples_queries.%s: no such KPI in the policy",
			         shown);
			return -1;
		}
		free(pr->samples_query[k]);
		pr->samples_query[k] = expand_or_fail(p, k, s->query, pr->cfg.window,
		                                      "samples query", err, n);
		if (!pr->samples_query[k])
			return -1;
	}
	for (int i = 0; i < pr->cfg.nevidence; i++) {
		const struct sr_prom_evidence_query *e = &pr->cfg.evidence[i];
		char shown[SR_NAME_LEN];
		sr_sanitize(shown, e->kpi, sizeof shown);
		int k = policy_kpi_index(p, e->kpi);
		if (k < 0 || !p->kpis[k].evidence.enabled) {
			snprintf(
			    err, n,
			    k < 0 ? "source.evidence_queries.%s: no such KPI in the policy"
			          : "source.evidence_queries.%s: the KPI has no \"evidence\" key",
			    shown);
			return -1;
		}
		bool latency = p->kpis[k].signal == SR_SIG_LATENCY;
		if (latency && pr->cfg.nbuckets == 0) {
			snprintf(err, n,
			         "source.evidence_queries.%s: a latency KPI needs "
			         "source.evidence_buckets_ms (the histogram's boundaries)",
			         shown);
			return -1;
		}
		/* Expand once with stand-ins so a broken template stops the start. */
		pr->ev_query[k] = e;
		pr->ev_bound[k] = latency ? pr->cfg.buckets_ms[0] : NAN;
		char why[200];
		for (int w = 0; w < 2; w++) {
			char *text = evidence_expand(pr, k, w ? e->bad : e->requests, "15s", why,
			                             sizeof why);
			if (!text) {
				snprintf(err, n, "source.evidence_queries.%s.%s: %s", shown,
				         w ? "bad" : "requests", why);
				return -1;
			}
			free(text);
		}
		pr->ev_bound[k] = NAN;
	}
	if (pr->cfg.nevidence > 0) {
		pr->scratch[0] = malloc(sizeof *pr->scratch[0]);
		pr->scratch[1] = malloc(sizeof *pr->scratch[1]);
		if (!pr->scratch[0] || !pr->scratch[1]) {
			snprintf(err, n, "out of memory");
			return -1;
		}
	}
	if (pr->cfg.liveness_query[0]) {
		pr->liveness_query = strdup(pr->cfg.liveness_query);
		if (!pr->liveness_query) {
			snprintf(err, n, "out of memory");
			return -1;
		}
	}
	if (rhythm_prepare(pr) != 0) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (int i = 0; i < pr->cfg.nheaders; i++)
		snprintf(pr->hdr_buf[i], sizeof pr->hdr_buf[i], "%s: %s", pr->cfg.headers[i].name,
		         pr->cfg.headers[i].value);
	if (pr->cfg.ca_file[0] && access(pr->cfg.ca_file, R_OK) != 0) {
		snprintf(err, n, "source.ca_file %s: %s", pr->cfg.ca_file, strerror(errno));
		return -1;
	}
	/* Check the secret now so a bad mode stops the start, not the
	 * first poll; it is read again at every poll (rotation). */
	if (token_load(pr, err, n) != 0)
		return -1;
	memset(pr->auth, 0, sizeof pr->auth);
	return 0;
}

struct sr_source *prometheus_create(const struct sr_policy *p, const struct sr_prom_config *c,
                                    uv_loop_t *loop, char *err, size_t n)
{
	char why[128];
	if (url_check(c->url, why, sizeof why) != 0) {
		snprintf(err, n, "source.url: %s", why);
		return NULL;
	}
	struct prom *pr = calloc(1, sizeof *pr);
	if (!pr) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	pr->p = p;
	pr->cfg = *c;
	if (pr->cfg.max_response_bytes == 0)
		pr->cfg.max_response_bytes = SR_PROM_DEFAULT_MAX_BYTES;
	if (!(pr->cfg.timeout_s > 0))
		pr->cfg.timeout_s = 10;
	pr->labels = (struct sr_prom_labels){pr->cfg.journey_label, pr->cfg.variant_label,
	                                     pr->cfg.canary_value, pr->cfg.control_value};
	snprintf(pr->endpoint, sizeof pr->endpoint, "%s/api/v1/query", pr->cfg.url);
	snapshot_clear(&pr->snap, p->ncells);
	pr->src.ops = &prom_ops;
	pr->src.impl = pr;
	if (prom_prepare(pr, err, n) != 0) {
		prom_destroy(&pr->src);
		return NULL;
	}
	pr->http = http_create(loop, err, n);
	if (!pr->http) {
		prom_destroy(&pr->src);
		return NULL;
	}
	return &pr->src;
}
