/* promparse.c - Prometheus /api/v1/query answers, parsed exactly, and the
 * mapping of one KPI's answer onto the snapshot's cells.
 *
 * Why a separate, pure module: the wire is where a console lies if it is
 * careless. A proxy's 502 page is HTML; an error answer is still JSON with
 * a 4xx/5xx; `warnings` mean the data is partial; sample values are
 * strings ("NaN", "+Inf", "1e-07") that strtod would misread under a
 * comma-decimal LC_NUMERIC; NaN means no observations, not zero. Keeping
 * all of that here, without I/O, lets the unit tests and the fuzzer feed
 * it every case. Everything taken from the answer (label values, error
 * texts) is sanitised before it is stored.
 */
#include "shiproom/promparse.h"
#include "shiproom/template.h"

#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------ */

static void set_msg(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *dst, size_t n, const char *fmt, ...)
{
	char raw[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	sr_sanitize(dst, raw, n);
}

static void result_fail(struct sr_prom_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void result_fail(struct sr_prom_result *r, const char *fmt, ...)
{
	char raw[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	r->ok = false;
	sr_sanitize(r->error, raw, sizeof r->error);
}

void promparse_set_error(struct sr_prom_result *r, const char *msg)
{
	memset(r, 0, sizeof *r);
	result_fail(r, "%s", msg ? msg : "fetch failed");
}

void promparse_free(struct sr_prom_result *r)
{
	free(r->samples);
	r->samples = NULL;
	r->nsamples = 0;
}

/* The first `max` bytes of a body as one readable line: runs of
 * whitespace collapse to one space, so an HTML error page reads as text,
 * and sr_sanitize() later replaces whatever could steer a terminal. */
static void body_excerpt(char *dst, size_t n, const char *body, size_t len, size_t max)
{
	size_t o = 0;
	bool space = false;
	if (len > max)
		len = max;
	for (size_t i = 0; i < len && o + 1 < n; i++) {
		char c = body[i];
		if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < n)
			dst[o++] = ' ';
		space = false;
		dst[o++] = c ? c : '?';
	}
	dst[o] = '\0';
}

/* ---- numbers ------------------------------------------------------------ */

bool promparse_value(const char *s, double *out)
{
	/* Prometheus writes Go's FormatFloat(v, 'f', -1, 64) plus "NaN",
	 * "+Inf", "-Inf". strtod with this thread switched to a private "C"
	 * locale (uselocale, POSIX 2008) reads all of them whatever the
	 * process's LC_NUMERIC; the checks around it refuse
	 * what strtod would also take but Prometheus never writes (leading
	 * spaces, hex floats, trailing junk). */
	if (!s || !*s || *s == ' ' || *s == '\t' || *s == '\n')
		return false;
	for (const char *p = s; *p; p++)
		if (*p == 'x' || *p == 'X' || *p == 'p' || *p == 'P')
			return false;
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return false;
	char *end = NULL;
	errno = 0;
	locale_t old = uselocale(c);
	double v = strtod(s, &end);
	uselocale(old);
	freelocale(c);
	if (end == s || *end != '\0')
		return false;
	/* ERANGE: an underflow is a tiny number (keep it); an overflow came
	 * back as +-HUGE_VAL, which is what +-Inf means anyway. */
	*out = v;
	return true;
}

/* A timestamp: a JSON integer or real, seconds since the epoch. */
static bool parse_ts(const json_t *j, sr_ms *out)
{
	if (!json_is_number(j))
		return false;
	double s = json_number_value(j);
	if (!isfinite(s) || s < 0 || s > 1e11)
		return false;
	*out = (sr_ms)llround(s * 1000.0);
	return true;
}

/* ---- labels -------------------------------------------------------------- */

static void take_label(const json_t *metric, const char *name, char *dst, size_t n, bool *has)
{
	*has = false;
	dst[0] = '\0';
	if (!name || !*name)
		return;
	const json_t *v = json_object_get(metric, name);
	if (!json_is_string(v))
		return;
	const char *s = json_string_value(v);
	sr_sanitize(dst, s, n);
	/* A value that had to be cut short or cleaned can never equal a
	 * policy id: it must not match one by accident. */
	*has = strlen(s) < n && strcmp(dst, s) == 0;
}

/* [ts, "value"] */
static int parse_pair(const json_t *pair, struct sr_prom_sample *s, char *why, size_t n)
{
	if (!json_is_array(pair) || json_array_size(pair) != 2) {
		snprintf(why, n, "a sample value is not [time, \"value\"]");
		return -1;
	}
	if (!parse_ts(json_array_get(pair, 0), &s->at)) {
		snprintf(why, n, "a sample timestamp is not a number of seconds");
		return -1;
	}
	const json_t *v = json_array_get(pair, 1);
	if (!json_is_string(v)) {
		snprintf(why, n, "a sample value is not a string");
		return -1;
	}
	if (!promparse_value(json_string_value(v), &s->value)) {
		char shown[32];
		sr_sanitize(shown, json_string_value(v), sizeof shown);
		snprintf(why, n, "sample value \"%s\" is not a number", shown);
		return -1;
	}
	return 0;
}

static int parse_vector(struct sr_prom_result *r, const json_t *res, const struct sr_prom_labels *l)
{
	char why[96];
	if (!json_is_array(res)) {
		result_fail(r, "malformed response: data.result is not an array");
		return -1;
	}
	size_t n = json_array_size(res);
	if (n > SR_PROM_MAX_SERIES) {
		result_fail(r,
		            "%zu series in one answer (more than %d): group the query by (%s, %s)",
		            n, SR_PROM_MAX_SERIES, l->journey_label, l->variant_label);
		return -1;
	}
	if (n == 0)
		return 0;
	r->samples = calloc(n, sizeof *r->samples);
	if (!r->samples) {
		result_fail(r, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *el = json_array_get(res, i);
		struct sr_prom_sample *s = &r->samples[i];
		const json_t *metric = json_object_get(el, "metric");
		if (!json_is_object(el) || (metric && !json_is_object(metric))) {
			result_fail(r, "malformed response: series %zu is not {metric, value}", i);
			return -1;
		}
		if (!json_object_get(el, "value") && json_object_get(el, "histogram")) {
			result_fail(r, "native histogram samples are not supported: "
			               "use histogram_quantile() in the query");
			return -1;
		}
		if (parse_pair(json_object_get(el, "value"), s, why, sizeof why) != 0) {
			result_fail(r, "malformed response: %s", why);
			return -1;
		}
		take_label(metric, l->journey_label, s->journey, sizeof s->journey,
		           &s->has_journey);
		take_label(metric, l->variant_label, s->variant, sizeof s->variant,
		           &s->has_variant);
		r->nsamples++;
	}
	return 0;
}

/* ---- the envelope -------------------------------------------------------- */

static void take_warnings(struct sr_prom_result *r, const json_t *w)
{
	if (!json_is_array(w) || json_array_size(w) == 0)
		return;
	char joined[512] = "";
	size_t i;
	json_t *v;
	json_array_foreach(w, i, v)
	{
		if (!json_is_string(v))
			continue;
		size_t used = strlen(joined);
		snprintf(joined + used, sizeof joined - used, "%s%s", used ? "; " : "",
		         json_string_value(v));
	}
	r->warned = true;
	sr_sanitize(r->warning, joined[0] ? joined : "warning without text", sizeof r->warning);
}

/* The error of an error envelope: "errorType: error". */
static bool envelope_error(const json_t *root, char *dst, size_t n)
{
	const json_t *status = json_object_get(root, "status");
	if (!json_is_string(status) || strcmp(json_string_value(status), "error") != 0)
		return false;
	const char *type = json_string_value(json_object_get(root, "errorType"));
	const char *msg = json_string_value(json_object_get(root, "error"));
	snprintf(dst, n, "%s: %s", type && *type ? type : "error",
	         msg && *msg ? msg : "(no message)");
	return true;
}

static enum sr_prom_rtype rtype_of(const char *s)
{
	if (!s)
		return SR_PROM_NONE;
	if (strcmp(s, "vector") == 0)
		return SR_PROM_VECTOR;
	if (strcmp(s, "scalar") == 0)
		return SR_PROM_SCALAR;
	if (strcmp(s, "matrix") == 0)
		return SR_PROM_MATRIX;
	if (strcmp(s, "string") == 0)
		return SR_PROM_STRING;
	return SR_PROM_NONE;
}

static int parse_data(struct sr_prom_result *r, const json_t *root, const struct sr_prom_labels *l)
{
	char why[96];
	const json_t *data = json_object_get(root, "data");
	if (!json_is_object(data)) {
		result_fail(r, "malformed response: no data object");
		return -1;
	}
	const char *rt = json_string_value(json_object_get(data, "resultType"));
	const json_t *res = json_object_get(data, "result");
	r->type = rtype_of(rt);
	switch (r->type) {
	case SR_PROM_VECTOR: return parse_vector(r, res, l);
	case SR_PROM_SCALAR:
		/* No labels: parsed, but promparse_fill() cannot tell canary
		 * from control and says so per cell. */
		r->samples = calloc(1, sizeof *r->samples);
		if (!r->samples) {
			result_fail(r, "out of memory");
			return -1;
		}
		if (parse_pair(res, &r->samples[0], why, sizeof why) != 0) {
			result_fail(r, "malformed response: %s", why);
			return -1;
		}
		r->nsamples = 1;
		return 0;
	case SR_PROM_MATRIX:
		result_fail(r, "the query returned a range vector (matrix): "
		               "it must return an instant vector");
		return -1;
	case SR_PROM_STRING:
		result_fail(r, "the query returned a string: it must return an instant vector");
		return -1;
	case SR_PROM_NONE: break;
	}
	result_fail(r, "malformed response: unknown resultType \"%s\"", rt ? rt : "(none)");
	return -1;
}

int promparse_response(struct sr_prom_result *r, long http_status, const char *reason,
                       const char *body, size_t len, size_t max_len, const struct sr_prom_labels *l)
{
	memset(r, 0, sizeof *r);
	if (!body)
		len = 0;
	if (max_len > 0 && len > max_len) {
		result_fail(r, "response of %zu bytes exceeds the %zu-byte cap", len, max_len);
		return -1;
	}
	if (!reason)
		reason = "";

	json_error_t jerr;
	json_t *root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	bool is_obj = json_is_object(root);

	/* The status first: an error page is often not JSON at all. */
	if (http_status < 200 || http_status > 299) {
		char detail[256];
		if (is_obj && envelope_error(root, detail, sizeof detail)) {
			result_fail(r, "HTTP %ld%s%s: %s", http_status, *reason ? " " : "", reason,
			            detail);
		} else if (len > 0) {
			body_excerpt(detail, sizeof detail, body, len, SR_PROM_BODY_EXCERPT);
			result_fail(r, "HTTP %ld%s%s: %s", http_status, *reason ? " " : "", reason,
			            detail);
		} else {
			result_fail(r, "HTTP %ld%s%s (empty body)", http_status, *reason ? " " : "",
			            reason);
		}
		json_decref(root);
		return -1;
	}
	if (!root) {
		if (len == 0)
			result_fail(r, "empty response body");
		else
			result_fail(r, "malformed JSON response (line %d, column %d): %s",
			            jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!is_obj) {
		result_fail(r, "malformed response: not a JSON object");
		json_decref(root);
		return -1;
	}
	char detail[256];
	if (envelope_error(root, detail, sizeof detail)) {
		result_fail(r, "%s", detail);
		json_decref(root);
		return -1;
	}
	const char *status = json_string_value(json_object_get(root, "status"));
	if (!status || strcmp(status, "success") != 0) {
		result_fail(r, "malformed response: status is not \"success\"");
		json_decref(root);
		return -1;
	}
	take_warnings(r, json_object_get(root, "warnings"));
	int rc = parse_data(r, root, l);
	json_decref(root);
	if (rc != 0) {
		free(r->samples);
		r->samples = NULL;
		r->nsamples = 0;
		return -1;
	}
	r->ok = true;
	return 0;
}

/* ---- mapping onto the snapshot ------------------------------------------- */

/* The samples of r matching (journey, variant); journey NULL for a global
 * KPI (variant only). Returns the number of matches, *first the first. */
static int match(const struct sr_prom_result *r, const char *journey, const char *variant,
                 const struct sr_prom_sample **first)
{
	int n = 0;
	*first = NULL;
	for (int i = 0; i < r->nsamples; i++) {
		const struct sr_prom_sample *s = &r->samples[i];
		if (!s->has_variant || strcmp(s->variant, variant) != 0)
			continue;
		if (journey && (!s->has_journey || strcmp(s->journey, journey) != 0))
			continue;
		if (n++ == 0)
			*first = s;
	}
	return n;
}

/* A failed answer is no longer a warned one. */
static void obs_error(struct sr_snapshot *snap, struct sr_obs *o, const char *msg)
{
	o->degraded = false;
	snapshot_obs_fail(snap, o, msg);
}

/* "journey=search variant=canary" or "variant=canary" for messages. */
static void where(char *dst, size_t n, const struct sr_prom_labels *l, const char *journey,
                  const char *variant)
{
	if (journey)
		snprintf(dst, n, "%s=%s %s=%s", l->journey_label, journey, l->variant_label,
		         variant);
	else
		snprintf(dst, n, "%s=%s", l->variant_label, variant);
}

/* The samples count behind a cell, or -1 with o failed. */
static double cell_samples(struct sr_snapshot *snap, struct sr_obs *o,
                           const struct sr_prom_result *samples, const struct sr_prom_labels *l,
                           const char *journey, const char *variant)
{
	char msg[SR_PROM_MSG_LEN], at[128];
	const struct sr_prom_sample *s;
	if (!samples)
		return INFINITY; /* unknown: min_samples cannot hold it back */
	if (!samples->ok) {
		set_msg(msg, sizeof msg, "samples query: %s", samples->error);
		obs_error(snap, o, msg);
		return -1;
	}
	if (samples->type != SR_PROM_VECTOR) {
		obs_error(snap, o, "samples query: the answer is not an instant vector");
		return -1;
	}
	int nm = match(samples, journey, variant, &s);
	if (nm > 1) {
		where(at, sizeof at, l, journey, variant);
		set_msg(msg, sizeof msg, "samples query: %d series match %s", nm, at);
		obs_error(snap, o, msg);
		return -1;
	}
	if (nm == 0 || isnan(s->value) || s->value < 0)
		return 0;
	return s->value;
}

static void fill_obs(struct sr_snapshot *snap, struct sr_obs *o, const struct sr_prom_result *value,
                     const struct sr_prom_result *samples, const struct sr_prom_labels *l,
                     const char *journey, const char *variant, sr_ms now)
{
	char msg[SR_PROM_MSG_LEN], at[128];
	const struct sr_prom_sample *s;

	if (!value->ok) {
		obs_error(snap, o, value->error);
		return;
	}
	if (value->type != SR_PROM_VECTOR) {
		set_msg(msg, sizeof msg,
		        "the query returned a scalar: it has no %s label to tell "
		        "canary from control",
		        l->variant_label);
		obs_error(snap, o, msg);
		return;
	}
	int nm = match(value, journey, variant, &s);
	where(at, sizeof at, l, journey, variant);
	if (nm > 1) {
		set_msg(msg, sizeof msg, "%d series match %s: group the query by (%s%s%s)", nm, at,
		        journey ? l->journey_label : "", journey ? ", " : "", l->variant_label);
		obs_error(snap, o, msg);
		return;
	}
	double n = cell_samples(snap, o, samples, l, journey, variant);
	if (n < 0)
		return;

	bool warned = value->warned || (samples && samples->warned);
	const char *warning = value->warned ? value->warning : samples ? samples->warning : "";
	o->degraded = warned;
	if (nm == 0 || isnan(s->value)) {
		o->kind = SR_OBS_NOSERIES;
		o->value = NAN;
		o->samples = 0;
		o->at = now;
		if (warned)
			snapshot_set_msgf(snap, o, "warning: %s", warning);
		else
			snapshot_set_msgf(snap, o, "%s for %s",
			                  nm == 0 ? "no series" : "NaN (no observations)", at);
		return;
	}
	o->kind = SR_OBS_OK;
	o->value = s->value;
	o->samples = n;
	/* The sample's own time, but never in the future: a skewed clock or
	 * a cache must not make an old number look fresher than now. */
	o->at = s->at < now ? s->at : now;
	if (warned)
		snapshot_set_msgf(snap, o, "warning: %s", warning);
	else
		snapshot_set_msg(snap, o, NULL);
}

void promparse_fill(struct sr_snapshot *snap, const struct sr_policy *p, int kpi,
                    const struct sr_prom_result *value, const struct sr_prom_result *samples,
                    const struct sr_prom_labels *l, sr_ms now)
{
	int ncells = p->ncells < SR_MAX_CELLS ? p->ncells : SR_MAX_CELLS;
	for (int c = 0; c < ncells; c++) {
		const struct sr_cell *cell = &p->cells[c];
		if (cell->kpi != kpi)
			continue;
		const char *journey = NULL;
		if (cell->journey >= 0 && cell->journey < p->njourneys)
			journey = p->journeys[cell->journey].id;
		fill_obs(snap, &snap->canary[c], value, samples, l, journey, l->canary_value, now);
		fill_obs(snap, &snap->control[c], value, samples, l, journey, l->control_value,
		         now);
	}
}

/* ---- the source's own judgement of its answers ---------------------------- */

void promparse_apply_warnings(struct sr_snapshot *snap, int on_warnings)
{
	for (int c = 0; c < snap->ncells && c < SR_MAX_CELLS; c++) {
		struct sr_obs *o[2] = {&snap->canary[c], &snap->control[c]};
		for (int j = 0; j < 2; j++) {
			if (!o[j]->degraded)
				continue;
			if (on_warnings == SR_PROM_WARN_IGNORE) {
				o[j]->degraded = false; /* the text stays, as a note */
			} else if (on_warnings == SR_PROM_WARN_ERROR) {
				char msg[SR_PROM_MSG_LEN];
				set_msg(msg, sizeof msg, "partial data: %s",
				        snapshot_msg(snap, o[j]));
				obs_error(snap, o[j], msg);
			}
		}
	}
}

void promparse_apply_liveness(struct sr_snapshot *snap, const struct sr_prom_result *live,
                              const struct sr_prom_labels *l, sr_ms last_alive[2], sr_ms now,
                              sr_ms stale_after_ms)
{
	const char *cohort[2] = {l->canary_value, l->control_value};
	for (int k = 0; k < 2; k++) {
		/* A failed liveness answer proves nothing: the cohort's data
		 * keeps the age it had, and goes STALE if that lasts. */
		if (live && live->ok && live->type == SR_PROM_VECTOR) {
			for (int i = 0; i < live->nsamples; i++) {
				const struct sr_prom_sample *s = &live->samples[i];
				if (!s->has_variant || strcmp(s->variant, cohort[k]) != 0 ||
				    !isfinite(s->value) || s->value <= 0 || s->value > 1e11)
					continue;
				sr_ms t = (sr_ms)llround(s->value * 1000.0);
				if (t > s->at)
					t = s->at; /* never newer than the instant asked */
				if (t > last_alive[k])
					last_alive[k] = t;
			}
		}
		/* Never seen alive by this process (a one-shot `status` after
		 * the exporter died): older than stale_after, since unknown. */
		bool never = last_alive[k] == 0;
		sr_ms bound = never ? now - stale_after_ms - 1 : last_alive[k];
		for (int c = 0; c < snap->ncells && c < SR_MAX_CELLS; c++) {
			struct sr_obs *o = k == 0 ? &snap->canary[c] : &snap->control[c];
			if ((o->kind != SR_OBS_OK && o->kind != SR_OBS_NOSERIES) || o->at < bound)
				continue;
			o->at = bound;
			if (now - bound <= stale_after_ms)
				continue; /* a scrape interval old: normal, no note */
			if (never)
				snapshot_set_msgf(snap, o,
				                  "liveness: no live series for the %s cohort",
				                  cohort[k]);
			else
				snapshot_set_msgf(
				    snap, o,
				    "liveness: the %s cohort's newest sample is older than "
				    "this answer",
				    cohort[k]);
		}
	}
}

/* ---- query templates ------------------------------------------------------ */

/* A journey id as a regex literal inside a PromQL double-quoted string:
 * regex metacharacters get a backslash, and PromQL needs that backslash
 * (and any quote) escaped again. */
static void out_regex_literal(struct sr_tbuf *w, const char *id)
{
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\\') {
			/* the regex's \\ (a literal backslash), each doubled for the
			 * string: four; three would escape the closing quote */
			tbuf_put(w, "\\\\\\\\", 4);
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			/* never a raw control byte in a query: RE2's \xHH, its
			 * backslash doubled for the string */
			char hx[8];
			snprintf(hx, sizeof hx, "\\\\x%02X", c);
			tbuf_put(w, hx, strlen(hx));
			continue;
		}
		if (strchr(".+*?()[]{}|^$", c))
			tbuf_put(w, "\\\\", 2);
		if (c == '"')
			tbuf_put(w, "\\", 1);
		tbuf_put(w, p, 1);
	}
}

int promparse_placeholder(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *w,
                          char *err, size_t en)
{
	const struct promparse_vars *v = ud;
	const struct sr_policy *p = v->p;
	const char *window = v->window;
	const struct sr_kpi *k = &p->kpis[v->kpi];
	(void)at;
	if (len == 6 && memcmp(name, "window", 6) == 0) {
		tbuf_put(w, window, strlen(window));
	} else if (len == 1 && name[0] == 'q') {
		if (!(k->quantile > 0 && k->quantile < 1)) {
			snprintf(err, en, "{{q}} needs the KPI's quantile (between 0 and 1)");
			return -1;
		}
		char q[32];
		if (promparse_fmt_g(q, sizeof q, k->quantile) != 0) {
			snprintf(err, en, "cannot create the C locale");
			return -1;
		}
		tbuf_put(w, q, strlen(q));
	} else if (len == 8 && memcmp(name, "journeys", 8) == 0) {
		if (k->njourneys <= 0) {
			snprintf(err, en, "{{journeys}} in a KPI without journeys");
			return -1;
		}
		for (int i = 0; i < k->njourneys && i < SR_MAX_JOURNEYS; i++) {
			int j = k->journeys[i];
			if (j < 0 || j >= p->njourneys) {
				snprintf(err, en, "journey index %d out of range", j);
				return -1;
			}
			if (i > 0)
				tbuf_put(w, "|", 1);
			out_regex_literal(w, p->journeys[j].id);
		}
	} else {
		char shown[40];
		snprintf(shown, sizeof shown, "%.*s", (int)(len < 32 ? len : 32), name);
		sr_sanitize(shown, shown, sizeof shown);
		snprintf(err, en,
		         "unknown placeholder {{%s}} (known: {{window}}, {{q}}, {{journeys}})",
		         shown);
		return -1;
	}
	return 0;
}

int promparse_fmt_g(char *buf, size_t n, double v)
{
	/* %g under a private C locale: "0.95" even where the user's locale
	 * writes "0,95", which PromQL would reject. */
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return -1;
	locale_t old = uselocale(c);
	snprintf(buf, n, "%g", v);
	uselocale(old);
	freelocale(c);
	return 0;
}

char *promparse_expand_alloc(const char *tmpl, const struct sr_policy *p, int kpi,
                             const char *window, char *err, size_t en)
{
	if (!tmpl || kpi < 0 || kpi >= p->nkpis) {
		snprintf(err, en, "nothing to expand");
		return NULL;
	}
	struct promparse_vars v = {p, kpi, window ? window : ""};
	return tmpl_expand(tmpl, promparse_placeholder, &v, err, en);
}

int promparse_expand(char *dst, size_t n, const char *tmpl, const struct sr_policy *p, int kpi,
                     const char *window, char *err, size_t en)
{
	if (n == 0) {
		snprintf(err, en, "nothing to expand");
		return -1;
	}
	dst[0] = '\0';
	char *q = promparse_expand_alloc(tmpl, p, kpi, window, err, en);
	if (!q)
		return -1;
	size_t len = strlen(q);
	if (len >= n) {
		snprintf(err, en, "the expanded query is longer than %zu bytes", n - 1);
		free(q);
		return -1;
	}
	memcpy(dst, q, len + 1);
	free(q);
	return 0;
}

/* ---- the series a query reads ------------------------------------------- */

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

/* Past a quoted string starting at s (", ' or `), or at its end. */
static const char *skip_string(const char *s)
{
	char q = *s++;
	while (*s && *s != q) {
		if (*s == '\\' && q != '`' && s[1])
			s++;
		s++;
	}
	return *s ? s + 1 : s;
}

/* Past a {...} matcher block starting at s, strings inside skipped;
 * NULL when it does not close. */
static const char *skip_matchers(const char *s)
{
	for (s++; *s && *s != '}';) {
		if (*s == '"' || *s == '\'' || *s == '`')
			s = skip_string(s);
		else
			s++;
	}
	return *s == '}' ? s + 1 : NULL;
}

size_t promparse_first_selector(const char *q, char *out, size_t n)
{
	if (n == 0)
		return 0;
	out[0] = '\0';
	for (const char *s = q ? q : ""; *s;) {
		if (*s == '"' || *s == '\'' || *s == '`') {
			s = skip_string(s);
			continue;
		}
		if (*s >= '0' && *s <= '9') { /* a number or a duration: 1m, 0.95, 1e3 */
			while (ident_char(*s) || *s == '.')
				s++;
			continue;
		}
		const char *start = s, *end;
		if (*s == '{') {
			end = skip_matchers(s);
		} else if (ident_start(*s)) {
			while (ident_char(*s))
				s++;
			const char *after = s;
			while (*after == ' ' || *after == '\t' || *after == '\n')
				after++;
			if (*after == '[') {
				end = s;
			} else if (*after == '{' && after == s) {
				end = skip_matchers(after);
			} else {
				continue; /* a function, keyword, label name or bare name */
			}
		} else {
			s++;
			continue;
		}
		if (!end)
			return 0;
		size_t len = (size_t)(end - start);
		if (len + 1 > n)
			return 0;
		memcpy(out, start, len);
		out[len] = '\0';
		return len;
	}
	return 0;
}

/* ---- sample times: the scrape rhythm ------------------------------------ */

/* Insert t into the ascending, distinct times[0..*n), keeping the newest
 * max of them. */
static void times_insert(sr_ms *times, int *n, int max, sr_ms t)
{
	int i = *n;
	while (i > 0 && times[i - 1] > t)
		i--;
	if (i > 0 && times[i - 1] == t)
		return;
	if (*n == max) {
		if (i == 0)
			return; /* older than all we keep */
		memmove(times, times + 1, (size_t)(i - 1) * sizeof *times);
		times[i - 1] = t;
		return;
	}
	memmove(times + i + 1, times + i, (size_t)(*n - i) * sizeof *times);
	times[i] = t;
	(*n)++;
}

static void take_times(const json_t *pairs, bool one, sr_ms *times, int *n, int max)
{
	size_t count = one ? 1 : json_array_size(pairs);
	for (size_t i = 0; i < count; i++) {
		struct sr_prom_sample s;
		char why[96];
		if (parse_pair(one ? pairs : json_array_get(pairs, i), &s, why, sizeof why) != 0)
			continue;
		/* the value is a time in seconds (timestamp()) */
		if (isfinite(s.value) && s.value > 0 && s.value < 1e11)
			times_insert(times, n, max, (sr_ms)llround(s.value * 1000.0));
	}
}

int promparse_rhythm(const char *body, size_t len, size_t max_len, const struct sr_prom_labels *l,
                     sr_ms *times, int max)
{
	if (!body || len == 0 || (max_len > 0 && len > max_len) || max <= 0)
		return -1;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *data = json_object_get(root, "data");
	const char *status = json_string_value(json_object_get(root, "status"));
	const char *rt = json_string_value(json_object_get(data, "resultType"));
	const json_t *res = json_object_get(data, "result");
	enum sr_prom_rtype type = rtype_of(rt);
	if (!status || strcmp(status, "success") != 0 || !json_is_array(res) ||
	    (type != SR_PROM_VECTOR && type != SR_PROM_MATRIX) ||
	    json_array_size(res) > SR_PROM_MAX_SERIES) {
		json_decref(root);
		return -1;
	}
	/* The canary's series when there are any: its scrape is the one a
	 * canary regression waits for. Cohorts but no canary (its scrapes
	 * failing, its series gone stale): none, rather than another
	 * target's rhythm. */
	bool canary_only = false, cohorts = false;
	size_t i;
	const json_t *el;
	json_array_foreach(res, i, el)
	{
		char v[SR_NAME_LEN];
		bool has;
		take_label(json_object_get(el, "metric"), l->variant_label, v, sizeof v, &has);
		if (has && strcmp(v, l->canary_value) == 0)
			canary_only = true;
		cohorts = cohorts || has;
	}
	int n = 0;
	if (cohorts && !canary_only) {
		json_decref(root);
		return 0;
	}
	json_array_foreach(res, i, el)
	{
		char v[SR_NAME_LEN];
		bool has;
		take_label(json_object_get(el, "metric"), l->variant_label, v, sizeof v, &has);
		if (canary_only && !(has && strcmp(v, l->canary_value) == 0))
			continue;
		if (type == SR_PROM_VECTOR)
			take_times(json_object_get(el, "value"), true, times, &n, max);
		else if (json_is_array(json_object_get(el, "values")))
			take_times(json_object_get(el, "values"), false, times, &n, max);
	}
	json_decref(root);
	return n;
}
