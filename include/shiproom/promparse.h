/* promparse.h - the Prometheus HTTP API, parsed exactly and mapped onto
 * a snapshot.
 *
 * Pure (no I/O, no clock, no locale dependence), so every wire case is a
 * unit test and a fuzz input: HTTP status before the body (a proxy's 502
 * is HTML, not JSON), `status: error` with errorType/error, `warnings`
 * (values are degraded, not clean), sample values as strings ("NaN",
 * "+Inf", "1e-07") parsed in the C locale, integer or real timestamps,
 * empty results, NaN, a size cap, label values sanitised.
 *
 * The query templates of the policy are expanded here too, for the same
 * reasons (pure, locale-proof, fuzzable).
 */
#ifndef SHIPROOM_PROMPARSE_H
#define SHIPROOM_PROMPARSE_H

#include "shiproom/policy.h"
#include "shiproom/snapshot.h"

#define SR_PROM_MAX_SERIES 4096        /* more in one answer is a query mistake */
#define SR_PROM_MSG_LEN SR_OBS_MSG_LEN /* a result's message becomes an observation's */
#define SR_PROM_BODY_EXCERPT 80        /* bytes of a non-JSON error body shown */

enum sr_prom_rtype {
	SR_PROM_NONE = 0,
	SR_PROM_VECTOR,
	SR_PROM_SCALAR,
	SR_PROM_MATRIX,
	SR_PROM_STRING
};

/* Which labels tell journeys and cohorts apart, and the cohort values. */
struct sr_prom_labels {
	const char *journey_label; /* "journey" */
	const char *variant_label; /* "variant" */
	const char *canary_value;  /* "canary" */
	const char *control_value; /* "control" */
};

struct sr_prom_sample {
	char journey[SR_NAME_LEN]; /* sanitised label values ("" when absent) */
	char variant[SR_NAME_LEN];
	bool has_journey; /* present and short enough to be an id */
	bool has_variant;
	double value; /* NAN for "NaN"; +-INFINITY for "+Inf"/"-Inf" */
	sr_ms at;     /* the sample's timestamp, ms */
};

struct sr_prom_result {
	bool ok;                       /* a success response, parsed */
	char error[SR_PROM_MSG_LEN];   /* sanitised, when !ok */
	bool warned;                   /* the response carried warnings */
	char warning[SR_PROM_MSG_LEN]; /* sanitised, the first warning(s) */
	enum sr_prom_rtype type;
	int nsamples;
	struct sr_prom_sample *samples; /* heap; promparse_free() */
};

/* Parse one /api/v1/query answer. `reason` is the HTTP reason phrase
 * (may be NULL). A body longer than max_len is refused unread. Returns 0
 * when r->ok, -1 otherwise (r->error says why); free with
 * promparse_free() either way. */
int promparse_response(struct sr_prom_result *r, long http_status, const char *reason,
                       const char *body, size_t len, size_t max_len,
                       const struct sr_prom_labels *l);

/* A result that failed before any answer (transport error, timeout):
 * "msg" sanitised into r->error. */
void promparse_set_error(struct sr_prom_result *r, const char *msg);

void promparse_free(struct sr_prom_result *r);

/* Map one KPI's answer onto its cells of snap, canary and control, at
 * `now`. samples is the answer of the KPI's samples query, or NULL when
 * there is none (samples are then unknown: +INFINITY). A failed answer
 * turns the KPI's cells to SR_OBS_ERROR keeping their last value and
 * time; a missing series or NaN is SR_OBS_NOSERIES for that cell only. */
void promparse_fill(struct sr_snapshot *snap, const struct sr_policy *p, int kpi,
                    const struct sr_prom_result *value, const struct sr_prom_result *samples,
                    const struct sr_prom_labels *l, sr_ms now);

/* Expand a query template for KPI `kpi`: {{window}} -> window,
 * {{q}} -> the KPI's quantile ("0.95", always with a dot), {{journeys}} ->
 * the KPI's journey ids as a regex alternation ("search|payments"),
 * escaped for a PromQL string. Unknown or unusable placeholders are an
 * error. Returns 0, or -1 with err filled. */
int promparse_expand(char *dst, size_t n, const char *tmpl, const struct sr_policy *p, int kpi,
                     const char *window, char *err, size_t en);
/* The same into a string malloc'ed to fit (free it): the KPI's journeys,
 * hundreds of them, never make a query too long. NULL with err filled. */
char *promparse_expand_alloc(const char *tmpl, const struct sr_policy *p, int kpi,
                             const char *window, char *err, size_t en);

/* The meaning of the query placeholders above, for tmpl_expand
 * (template.h): ud is a struct promparse_vars. The evidence queries add
 * their own ({{step}}, {{le}}) and pass the rest on to it. */
struct promparse_vars {
	const struct sr_policy *p;
	int kpi;
	const char *window;
};
struct sr_tbuf;
int promparse_placeholder(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *w,
                          char *err, size_t en);

/* v with %g in the C locale ("0.95", "0.11"), whatever LC_NUMERIC says:
 * quantiles and `le` label values in PromQL. 0, or -1 when the C locale
 * cannot be made. */
int promparse_fmt_g(char *buf, size_t n, double v);
/* The first series selector a query reads - a metric name with its
 * {matchers} or followed by a [range], or a bare {matchers} block - into
 * out: what the scrape-rhythm query asks timestamp() of. Strings,
 * numbers, durations, functions, keywords and label lists are skipped.
 * Returns its length, or 0 (out "") when there is none or it does not
 * fit in n bytes. */
size_t promparse_first_selector(const char *query, char *out, size_t n);

/* The sample times in an answer of the rhythm query (prometheus.c): an
 * instant vector (one newest time per series) or a matrix from a
 * subquery (the newest time at each step: every recent scrape). The
 * values are times in seconds; the canary's series alone when the
 * answer has any (variant label = canary value), else every series.
 * Fills times[] ascending and distinct, the newest max of them; returns
 * how many, or -1 when the body is not a successful answer of either
 * type (or is longer than max_len). */
int promparse_rhythm(const char *body, size_t len, size_t max_len, const struct sr_prom_labels *l,
                     sr_ms *times, int max);

/* Parse a sample value string in the C locale, whatever LC_NUMERIC says.
 * Accepts what Prometheus writes ("0.5", "1e-07", "NaN", "+Inf", "-Inf");
 * false for anything else. */
bool promparse_value(const char *s, double *out);

enum { SR_PROM_WARN_PARTIAL = 0, SR_PROM_WARN_IGNORE, SR_PROM_WARN_ERROR };

/* Apply the liveness answer `live` to snap: for each cohort (canary,
 * control), the newest sample time seen so far (last_alive[0] canary,
 * [1] control; updated from the answer, 0 = never seen) bounds the time
 * of every OK/NOSERIES observation of that cohort, so a dead exporter
 * turns its cells STALE whatever range the KPI queries use. A cohort
 * never seen alive is dated older than stale_after_ms before now. A
 * failed answer updates nothing (it proves nothing). Pure. */
void promparse_apply_liveness(struct sr_snapshot *snap, const struct sr_prom_result *live,
                              const struct sr_prom_labels *l, sr_ms last_alive[2], sr_ms now,
                              sr_ms stale_after_ms);

/* Apply the on_warnings policy (SR_PROM_WARN_*) to the snapshot. Pure. */
void promparse_apply_warnings(struct sr_snapshot *snap, int on_warnings);

#endif
