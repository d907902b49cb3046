/* report.c - gate reports, phase cards, the postmortem placeholder, the win
 * note and the status-page tile (report.h).
 *
 * Why data first: every report is built as one jansson object from the
 * runner, then rendered by a template the team owns (config/NAME.md). The same
 * object is the JSON report, so a script reading gate-1-T+90.json and a
 * person reading gate-1-T+90.md see the same numbers. Each object carries
 * raw numbers (canary, control, delta; null when unknown) for scripts and
 * the formatted text (canary_text: "90.48ms", "n/a") for people.
 *
 * Why sanitise here: reasons, error texts and actor names can come from
 * outside (Prometheus label values, API errors, a typed hold reason). They
 * pass through sr_sanitize on their way into the data, so the JSON has no
 * control bytes; the template escapes them for Markdown and HTML.
 *
 * The choices the directive leaves open are written next to the code that
 * makes them: how anomalies are ranked, which KPIs the phase card calls
 * error rates and payment success, what the status-page tile calls
 * sustained and material, what the win note calls an improvement.
 */
#include "shiproom/report.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>

#include "shiproom/calendar.h"
#include "shiproom/rights.h"

/* How far back the postmortem's timeline excerpt reaches before the
 * rollback, and how many log lines it keeps at most. */
#define TIMELINE_BEFORE_MS (60 * SR_MS_PER_MIN)
#define TIMELINE_MAX 40
/* The phase card lists this many anomalies. */
#define CARD_ANOMALIES 3
/* The win note calls a change an improvement from this much (percent):
 * below it, one evaluation's noise could pass for a gain. */
#define WIN_IMPROVEMENT_PCT 5.0

/* ---- schemas: the template variables --------------------------------------------- */

#define V(name, kind, fields)                                                                      \
	{                                                                                          \
		name, SR_TPL_##kind, fields                                                        \
	}
#define END                                                                                        \
	{                                                                                          \
		NULL, SR_TPL_SCALAR, NULL                                                          \
	}

/* Every report has these at the top level. */
#define COMMON_VARS                                                                                \
	V("report", SCALAR, NULL), V("rollout", SCALAR, NULL), V("title", SCALAR, NULL),           \
	    V("policy_hash", SCALAR, NULL), V("source", SCALAR, NULL), V("now_iso", SCALAR, NULL), \
	    V("t_rel", SCALAR, NULL), V("t_rel_min", SCALAR, NULL), V("wall", SCALAR, NULL),       \
	    V("when", SCALAR, NULL), V("phase", SCALAR, NULL), V("weight", SCALAR, NULL),          \
	    V("state", SCALAR, NULL), V("release_dri", SCALAR, NULL),                              \
	    V("status_page", OBJECT, tile_vars), V("decision", OBJECT, decision_vars)

static const struct sr_tpl_var tile_vars[] = {V("color", SCALAR, NULL), V("headline", SCALAR, NULL),
                                              V("reason", SCALAR, NULL), END};

static const struct sr_tpl_var decision_vars[] = {
    V("word", SCALAR, NULL), V("verdict", SCALAR, NULL), V("reasons", LIST, NULL), END};

static const struct sr_tpl_var cell_vars[] = {
    V("kpi", SCALAR, NULL),         V("journey", SCALAR, NULL),
    V("label", SCALAR, NULL),       V("group", SCALAR, NULL),
    V("status", SCALAR, NULL),      V("glyph", SCALAR, NULL),
    V("gating", FLAG, NULL),        V("monitor", FLAG, NULL),
    V("canary", SCALAR, NULL),      V("control", SCALAR, NULL),
    V("delta", SCALAR, NULL),       V("delta_pct", SCALAR, NULL),
    V("limit", SCALAR, NULL),       V("samples", SCALAR, NULL),
    V("canary_text", SCALAR, NULL), V("control_text", SCALAR, NULL),
    V("delta_text", SCALAR, NULL),  V("delta_pct_text", SCALAR, NULL),
    V("limit_text", SCALAR, NULL),  V("samples_text", SCALAR, NULL),
    V("reason", SCALAR, NULL),      V("note", SCALAR, NULL),
    V("breach", SCALAR, NULL),      END};

static const struct sr_tpl_var group_vars[] = {V("id", SCALAR, NULL), V("name", SCALAR, NULL),
                                               V("cells", LIST, cell_vars), END};

static const struct sr_tpl_var attention_vars[] = {
    V("label", SCALAR, NULL), V("status", SCALAR, NULL), V("text", SCALAR, NULL), END};

static const struct sr_tpl_var trigger_vars[] = {V("id", SCALAR, NULL),
                                                 V("name", SCALAR, NULL),
                                                 V("state", SCALAR, NULL),
                                                 V("since", SCALAR, NULL),
                                                 V("detail", SCALAR, NULL),
                                                 V("firing", FLAG, NULL),
                                                 END};

static const struct sr_tpl_var gate_vars[] = {
    V("number", SCALAR, NULL),     V("name", SCALAR, NULL),
    V("from", SCALAR, NULL),       V("to", SCALAR, NULL),
    V("planned", SCALAR, NULL),    V("due", SCALAR, NULL),
    V("outcome", SCALAR, NULL),    V("condition", SCALAR, NULL),
    V("condition_ok", FLAG, NULL), END};

static const struct sr_tpl_var approval_vars[] = {V("who", SCALAR, NULL), V("at", SCALAR, NULL),
                                                  V("when", SCALAR, NULL),
                                                  V("reason", SCALAR, NULL), END};

static const struct sr_tpl_var approvals_vars[] = {
    V("role", SCALAR, NULL),        V("needed", SCALAR, NULL),     V("have", SCALAR, NULL),
    V("missing", SCALAR, NULL),     V("pre_approved", FLAG, NULL), V("summary", SCALAR, NULL),
    V("missing_who", SCALAR, NULL), V("by", LIST, approval_vars),  END};

static const struct sr_tpl_var summary_vars[] = {V("gating", SCALAR, NULL),
                                                 V("green", SCALAR, NULL),
                                                 V("yellow", SCALAR, NULL),
                                                 V("red", SCALAR, NULL),
                                                 V("gaps", SCALAR, NULL),
                                                 V("text", SCALAR, NULL),
                                                 END};

/* One cell's evidence test (evidence.h): report_evidence_json. */
static const struct sr_tpl_var evidence_vars[] = {
    V("label", SCALAR, NULL),   V("kpi", SCALAR, NULL),          V("journey", SCALAR, NULL),
    V("state", SCALAR, NULL),   V("text", SCALAR, NULL),         V("action", SCALAR, NULL),
    V("r_hat", SCALAR, NULL),   V("lo", SCALAR, NULL),           V("hi", SCALAR, NULL),
    V("p_worse", SCALAR, NULL), V("events", SCALAR, NULL),       V("needed", SCALAR, NULL),
    V("share", SCALAR, NULL),   V("bursty_steps", SCALAR, NULL), V("tolerance", SCALAR, NULL),
    V("upper", SCALAR, NULL),   V("alpha", SCALAR, NULL),        END};

static const struct sr_tpl_var gate_schema[] = {COMMON_VARS,
                                                V("gate", OBJECT, gate_vars),
                                                V("approvals", OBJECT, approvals_vars),
                                                V("summary", OBJECT, summary_vars),
                                                V("groups", LIST, group_vars),
                                                V("attention", LIST, attention_vars),
                                                V("triggers", LIST, trigger_vars),
                                                V("evidence", LIST, evidence_vars),
                                                END};

static const struct sr_tpl_var card_info_vars[] = {
    V("phase", SCALAR, NULL),    V("weight", SCALAR, NULL), V("entered", SCALAR, NULL),
    V("observed", SCALAR, NULL), V("next", SCALAR, NULL),   END};

static const struct sr_tpl_var latency_vars[] = {
    V("journey", SCALAR, NULL),     V("name", SCALAR, NULL),
    V("p50", SCALAR, NULL),         V("p95", SCALAR, NULL),
    V("p95_control", SCALAR, NULL), V("p95_status", SCALAR, NULL),
    V("p99", SCALAR, NULL),         END};

static const struct sr_tpl_var anomaly_vars[] = {V("rank", SCALAR, NULL),
                                                 V("label", SCALAR, NULL),
                                                 V("status", SCALAR, NULL),
                                                 V("excess", SCALAR, NULL),
                                                 V("excess_text", SCALAR, NULL),
                                                 V("text", SCALAR, NULL),
                                                 END};

static const struct sr_tpl_var card_schema[] = {COMMON_VARS,
                                                V("card", OBJECT, card_info_vars),
                                                V("latency", LIST, latency_vars),
                                                V("latency_note", SCALAR, NULL),
                                                V("errors", LIST, cell_vars),
                                                V("payments", LIST, cell_vars),
                                                V("anomalies", LIST, anomaly_vars),
                                                V("anomalies_more", SCALAR, NULL),
                                                V("summary", OBJECT, summary_vars),
                                                V("evidence", LIST, evidence_vars),
                                                END};

static const struct sr_tpl_var rollback_vars[] = {
    V("at", SCALAR, NULL),         V("by", SCALAR, NULL),          V("reason", SCALAR, NULL),
    V("from_phase", SCALAR, NULL), V("from_weight", SCALAR, NULL), END};

static const struct sr_tpl_var deadline_vars[] = {V("at", SCALAR, NULL), V("iso", SCALAR, NULL),
                                                  V("hours", SCALAR, NULL), END};

static const struct sr_tpl_var timeline_vars[] = {
    V("at", SCALAR, NULL), V("severity", SCALAR, NULL), V("actor", SCALAR, NULL),
    V("text", SCALAR, NULL), END};

static const struct sr_tpl_var postmortem_schema[] = {COMMON_VARS,
                                                      V("rollback", OBJECT, rollback_vars),
                                                      V("deadline", OBJECT, deadline_vars),
                                                      V("triggers", LIST, trigger_vars),
                                                      V("attention", LIST, attention_vars),
                                                      V("kpis", LIST, cell_vars),
                                                      V("timeline", LIST, timeline_vars),
                                                      V("timeline_from", SCALAR, NULL),
                                                      V("summary", OBJECT, summary_vars),
                                                      END};

static const struct sr_tpl_var success_vars[] = {V("at", SCALAR, NULL), V("by", SCALAR, NULL),
                                                 V("since_t0", SCALAR, NULL), END};

static const struct sr_tpl_var passed_vars[] = {
    V("name", SCALAR, NULL), V("from", SCALAR, NULL),      V("to", SCALAR, NULL),
    V("at", SCALAR, NULL),   V("approvals", SCALAR, NULL), END};

static const struct sr_tpl_var baseline_vars[] = {
    V("label", SCALAR, NULL),       V("kpi", SCALAR, NULL),
    V("journey", SCALAR, NULL),     V("before", SCALAR, NULL),
    V("after", SCALAR, NULL),       V("change_pct", SCALAR, NULL),
    V("before_text", SCALAR, NULL), V("after_text", SCALAR, NULL),
    V("change_text", SCALAR, NULL), END};

static const struct sr_tpl_var check_vars[] = {V("text", SCALAR, NULL), V("done", FLAG, NULL),
                                               V("by", SCALAR, NULL), END};

static const struct sr_tpl_var win_schema[] = {COMMON_VARS,
                                               V("success", OBJECT, success_vars),
                                               V("gates", LIST, passed_vars),
                                               V("criteria", LIST, NULL),
                                               V("baselines", LIST, baseline_vars),
                                               V("improvements", LIST, baseline_vars),
                                               V("improvement_threshold", SCALAR, NULL),
                                               V("checklist", LIST, check_vars),
                                               V("summary", OBJECT, summary_vars),
                                               END};

#undef V
#undef END

const struct sr_tpl_var *const report_schemas[SR_REPORT_COUNT] = {
    [SR_REPORT_GATE] = gate_schema,
    [SR_REPORT_CARD] = card_schema,
    [SR_REPORT_POSTMORTEM] = postmortem_schema,
    [SR_REPORT_WIN] = win_schema,
};

static const char *const template_files[SR_REPORT_COUNT] = {
    [SR_REPORT_GATE] = REPORT_GATE_TEMPLATE,
    [SR_REPORT_CARD] = REPORT_CARD_TEMPLATE,
    [SR_REPORT_POSTMORTEM] = REPORT_POSTMORTEM_TEMPLATE,
    [SR_REPORT_WIN] = REPORT_WIN_TEMPLATE,
};

const char *report_kind_name(enum sr_report_kind k)
{
	switch (k) {
	case SR_REPORT_GATE: return "gate";
	case SR_REPORT_CARD: return "card";
	case SR_REPORT_POSTMORTEM: return "postmortem";
	case SR_REPORT_WIN: return "win";
	case SR_REPORT_COUNT: break;
	}
	return "?";
}

/* ---- templates ---------------------------------------------------------------------- */

int report_templates_load(struct sr_report_templates *t, const char *dir, char *err, size_t n)
{
	memset(t, 0, sizeof *t);
	for (int k = 0; k < SR_REPORT_COUNT; k++) {
		char path[1024];
		struct sr_tpl_error e;
		snprintf(path, sizeof path, "%s/%s", dir, template_files[k]);
		t->t[k] = template_load_file(path, report_schemas[k], &e);
		if (!t->t[k]) {
			template_error_format(&e, err, n);
			report_templates_free(t);
			return -1;
		}
	}
	return 0;
}

void report_templates_free(struct sr_report_templates *t)
{
	for (int k = 0; k < SR_REPORT_COUNT; k++) {
		template_free(t->t[k]);
		t->t[k] = NULL;
	}
}

/* ---- small helpers -------------------------------------------------------------------- */

/* A sanitised JSON string (outside text never carries control bytes into
 * a report or a payload). */
static json_t *jtext(const char *s)
{
	if (!s)
		return json_string("");
	size_t len = strlen(s);
	char *clean = malloc(len + 1);
	if (!clean)
		return json_string("");
	sr_sanitize(clean, s, len + 1);
	json_t *j = json_string(clean);
	free(clean);
	return j ? j : json_string("");
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v ? v : json_null());
}

static void set_text(json_t *o, const char *key, const char *s)
{
	set(o, key, jtext(s));
}

static void value_text(const struct sr_kpi *k, double v, char *buf, size_t n)
{
	if (!isfinite(v))
		snprintf(buf, n, "n/a");
	else
		engine_fmt_value(k, v, buf, n);
}

/* A number in a KPI's unit, with the unit written as engine_fmt_value
 * writes it ("2.6ms", "0.62%", "4.4x", "12/min", "0.04 USD"). */
static void with_unit(const struct sr_kpi *k, const char *num, char *buf, size_t n)
{
	const char *u = k ? k->unit : "";
	if (u[0] == '\0' || strcmp(u, "count") == 0)
		snprintf(buf, n, "%s", num);
	else if (strcmp(u, "%") == 0 || strcmp(u, "ms") == 0 || strcmp(u, "x") == 0 || u[0] == '/')
		snprintf(buf, n, "%s%s", num, u);
	else
		snprintf(buf, n, "%s %s", num, u);
}

/* A difference, signed, to the precision a person reads: "+12ms",
 * "-2.58ms", "+0.0048%". */
static void delta_text(const struct sr_kpi *k, double d, char *buf, size_t n)
{
	char num[40];
	double a = fabs(d);
	if (!isfinite(d))
		snprintf(num, sizeof num, "n/a");
	else if (d == 0)
		snprintf(num, sizeof num, "0");
	else if (a >= 100)
		snprintf(num, sizeof num, "%+.0f", d);
	else if (a >= 10)
		snprintf(num, sizeof num, "%+.1f", d);
	else if (a >= 1)
		snprintf(num, sizeof num, "%+.2f", d);
	else
		snprintf(num, sizeof num, "%+.2g", d);
	if (!isfinite(d))
		snprintf(buf, n, "n/a");
	else
		with_unit(k, num, buf, n);
}

static void fmt_iso(sr_ms t, char *buf, size_t n)
{
	time_t s = (time_t)(t / SR_MS_PER_S);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "?");
}

static void fmt_when(const struct sr_runner *r, sr_ms t, char *buf, size_t n)
{
	engine_fmt_when(&r->engine, t, buf, n);
}

static const char *phase_name(const struct sr_policy *p, int phase)
{
	return phase >= 0 && phase < p->nphases ? p->phases[phase].name : "pre-flight";
}

static void roster_names(const struct sr_policy *p, enum sr_role role, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < p->roster.n[role] && o < n; i++) {
		int w = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", p->roster.who[role][i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static bool kpi_is_monitor(const struct sr_kpi *k)
{
	return !k->gating || k->kind == SR_KIND_MONITOR;
}

static bool kind_is_vs(const struct sr_kpi *k)
{
	return k->kind == SR_KIND_VS_CONTROL || k->kind == SR_KIND_VS_BASELINE;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == needle[i])
			i++;
		if (i == nl)
			return true;
	}
	return false;
}

/* snprintf where cutting a long reason at the buffer is intended (no
 * -Wformat-truncation noise): reasons are bounded by design. */
static void fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t n, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, n, f, ap);
	va_end(ap);
}

/* ---- the decision ------------------------------------------------------------------- */

/* before: d is the decision in force before the action the report is
 * written for (speaks_before_action): its own word and reasons, not the
 * rollback's ("ROLLBACK" for a manual rollback made under HOLD). */
static const char *decision_word(const struct sr_runner *r, const struct sr_decision *d,
                                 bool before)
{
	if (r->engine.ro.rolled_back && !before)
		return "ROLLBACK";
	switch (d->verdict) {
	case SR_GO: return "GO";
	case SR_HOLD: return "NO-GO";
	case SR_ROLLBACK: return "ROLLBACK";
	case SR_ESCALATE: return "NO-GO (escalated)";
	}
	return "NO-GO";
}

const char *report_decision_word(const struct sr_runner *r)
{
	return decision_word(r, &r->engine.decision, false);
}

/* The moment a report speaks for. The step-up phase card and the
 * postmortem are written right after their action, which re-decided:
 * they show the decision and triggers that justified the action, kept by
 * the dispatcher (runner.h, before_action_*). Everything else: now. */
static bool speaks_before_action(const struct sr_runner *r, enum sr_report_kind kind)
{
	const struct sr_rollout *ro = &r->engine.ro;
	if (r->before_action_at == 0)
		return false;
	if (kind == SR_REPORT_POSTMORTEM)
		return ro->rolled_back && r->before_action_at == ro->rolled_back_at;
	/* the card of a step-up, written as it happens; on demand later: now */
	if (kind == SR_REPORT_CARD)
		return !ro->rolled_back && r->before_action_at == ro->phase_entered &&
		       r->now == r->before_action_at;
	return false;
}

static const struct sr_decision *report_decision(const struct sr_runner *r,
                                                 enum sr_report_kind kind)
{
	return speaks_before_action(r, kind) ? &r->before_action_decision : &r->engine.decision;
}

static const struct sr_trigger_state *report_triggers(const struct sr_runner *r,
                                                      enum sr_report_kind kind)
{
	return speaks_before_action(r, kind) ? r->before_action_triggers : r->engine.triggers;
}

static json_t *decision_json(const struct sr_runner *r, const struct sr_decision *d, bool before)
{
	const struct sr_rollout *ro = &r->engine.ro;
	json_t *reasons = json_array();
	char line[SR_REASON_LEN + 96] = "";
	if (ro->rolled_back && !before) {
		char when[48];
		fmt_when(r, ro->rolled_back_at, when, sizeof when);
		fmt(line, sizeof line, "rolled back at %s by %s%s%s", when, ro->rolled_back_by,
		    ro->rollback_reason[0] ? ": " : "", ro->rollback_reason);
		json_array_append_new(reasons, jtext(line));
	}
	/* after a rollback the engine's own first reason is the same line */
	for (int i = 0; i < d->nreasons && i < SR_MAX_REASONS; i++)
		if (strcmp(d->reasons[i], line) != 0)
			json_array_append_new(reasons, jtext(d->reasons[i]));
	json_t *o = json_object();
	set_text(o, "word", decision_word(r, d, before));
	set_text(o, "verdict", sr_verdict_name(d->verdict));
	set(o, "reasons", reasons);
	return o;
}

/* ---- the status-page tile ----------------------------------------------------------- */

/* See report.h: what users feel, as opposed to internal and cost KPIs. */
static bool kpi_user_facing(const struct sr_kpi *k)
{
	if (kpi_is_monitor(k) || strcmp(k->group, "cost") == 0)
		return false;
	return k->signal == SR_SIG_LATENCY || k->signal == SR_SIG_RATIO ||
	       strcmp(k->unit, "ms") == 0;
}

void report_status_tile(const struct sr_runner *r, struct sr_status_tile *tile)
{
	const struct sr_policy *p = r->policy;
	const struct sr_engine *e = &r->engine;
	char a[24], b[24];
	memset(tile, 0, sizeof *tile);
	for (int t = 0; t < p->ntriggers; t++) {
		const struct sr_trigger *T = &p->triggers[t];
		const struct sr_trigger_state *s = &e->triggers[t];
		if (T->kind != SR_TRIG_SUSTAINED)
			continue;
		if (s->state == SR_TRIG_FIRING) {
			tile->color = SR_RED;
			sr_strlcpy(tile->headline, "Major outage", sizeof tile->headline);
			engine_format(tile->reason, sizeof tile->reason, "SLO breach sustained: %s",
			              s->reason);
			return;
		}
		if (s->state == SR_TRIG_PENDING && T->for_ms > 0 && s->progress * 2 >= T->for_ms) {
			tile->color = SR_YELLOW;
			sr_strlcpy(tile->headline, "Degraded performance", sizeof tile->headline);
			sr_fmt_duration(a, sizeof a, s->progress);
			engine_fmt_window(T->for_ms, b, sizeof b);
			engine_format(tile->reason, sizeof tile->reason,
			              "SLO breach for %s of %s (past half the window): %s", a, b,
			              s->reason);
			return;
		}
	}
	int first = -1, nred = 0;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (e->cells[i].status != SR_RED || !kpi_user_facing(k))
			continue;
		if (first < 0)
			first = i;
		nred++;
	}
	if (first >= 0) {
		char sum[SR_REASON_LEN], more[32] = "";
		engine_cell_summary(e, first, sum, sizeof sum);
		if (nred > 1)
			snprintf(more, sizeof more, " (+%d more)", nred - 1);
		tile->color = SR_YELLOW;
		sr_strlcpy(tile->headline, "Degraded performance", sizeof tile->headline);
		engine_format(tile->reason, sizeof tile->reason, "user impact: %s%s", sum, more);
		return;
	}
	/* "Operational" is a claim: not made on missing data. Say what is
	 * known: how many user-facing checks have no fresh data, since when. */
	int ngap = 0, nuser = 0, gap = -1;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		enum sr_status st = e->cells[i].status;
		if (!k->gating || !kpi_user_facing(k))
			continue;
		nuser++;
		if (st != SR_ERROR && st != SR_STALE && st != SR_NODATA)
			continue;
		ngap++;
		if (gap < 0 || e->cells[i].status_since < e->cells[gap].status_since)
			gap = i;
	}
	if (ngap > 0 && ngap == nuser) {
		char sum[SR_REASON_LEN], when[48];
		engine_cell_summary(e, gap, sum, sizeof sum);
		fmt_when(r, e->cells[gap].status_since, when, sizeof when);
		tile->color = e->cells[gap].status;
		sr_strlcpy(tile->headline, "Unknown: no data", sizeof tile->headline);
		engine_format(tile->reason, sizeof tile->reason,
		              "none of the %d user-facing checks has fresh data, since %s: %s",
		              nuser, when, sum);
		return;
	}
	tile->color = SR_GREEN;
	sr_strlcpy(tile->headline, "Operational", sizeof tile->headline);
	if (ngap > 0) {
		/* Some gaps: what is known is still operational; the gaps named. */
		engine_format(
		    tile->reason, sizeof tile->reason,
		    "no sustained SLO breach, no user-facing KPI RED; %d of %d user-facing "
		    "checks without fresh data",
		    ngap, nuser);
		return;
	}
	sr_strlcpy(tile->reason, "no sustained SLO breach, no user-facing KPI RED",
	           sizeof tile->reason);
}

static json_t *tile_json(const struct sr_runner *r)
{
	struct sr_status_tile t;
	report_status_tile(r, &t);
	json_t *o = json_object();
	set_text(o, "color", sr_status_name(t.color));
	set_text(o, "headline", t.headline);
	set_text(o, "reason", t.reason);
	return o;
}

/* ---- common fields ---------------------------------------------------------------------- */

static json_t *common_json(const struct sr_runner *r, enum sr_report_kind kind)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	char buf[SR_TEXT_LEN], rel[24], wall[24], when[48];
	json_t *o = json_object();
	set_text(o, "report", report_kind_name(kind));
	set_text(o, "rollout", p->rollout);
	set_text(o, "title", p->title);
	snprintf(buf, sizeof buf, "%016llx", (unsigned long long)p->hash);
	set_text(o, "policy_hash", buf);
	if (r->scenario)
		snprintf(buf, sizeof buf, "simulator scenario %s (seed %llu)", r->scenario->name,
		         (unsigned long long)r->scenario->seed);
	else
		snprintf(buf, sizeof buf, "%s source", p->source_kind);
	set_text(o, "source", buf);
	fmt_iso(r->now, buf, sizeof buf);
	set_text(o, "now_iso", buf);
	sr_fmt_trel(rel, sizeof rel, r->now - ro->t0);
	set_text(o, "t_rel", rel);
	sr_ms d = r->now - ro->t0;
	set(o, "t_rel_min",
	    json_integer(d >= 0 ? d / SR_MS_PER_MIN : -((-d + SR_MS_PER_MIN - 1) / SR_MS_PER_MIN)));
	calendar_fmt(&p->calendar, r->now, wall, sizeof wall);
	set_text(o, "wall", wall);
	fmt_when(r, r->now, when, sizeof when);
	set_text(o, "when", when);
	set_text(o, "phase", phase_name(p, ro->phase));
	set(o, "weight", json_integer(ro->weight));
	set_text(o, "state", rollout_state_name(rollout_state(ro, p, r->now)));
	roster_names(p, SR_ROLE_RELEASE_DRI, buf, sizeof buf);
	set_text(o, "release_dri", buf);
	set(o, "status_page", tile_json(r));
	set(o, "decision",
	    decision_json(r, report_decision(r, kind), speaks_before_action(r, kind)));
	return o;
}

/* ---- cells ------------------------------------------------------------------------------ */

static void limit_text(const struct sr_kpi *k, const struct sr_cell_state *c, char *buf, size_t n)
{
	if (k->kind == SR_KIND_MONITOR) {
		snprintf(buf, n, "monitor");
	} else if (!isfinite(c->limit)) {
		snprintf(buf, n, "n/a");
	} else if (kind_is_vs(k)) {
		snprintf(buf, n, "%s%g%%",
		         k->direction == SR_DIR_UP     ? "+"
		         : k->direction == SR_DIR_DOWN ? "-"
		                                       : "+/-",
		         c->limit);
	} else {
		char v[32];
		engine_fmt_value(k, c->limit, v, sizeof v);
		snprintf(buf, n, "%s %s",
		         k->kind == SR_KIND_MIN || k->kind == SR_KIND_RATIO_MIN ? ">=" : "<=", v);
	}
}

static json_t *cell_json(const struct sr_runner *r, int i)
{
	const struct sr_policy *p = r->policy;
	const struct sr_cell_state *c = &r->engine.cells[i];
	const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
	int j = p->cells[i].journey;
	char label[SR_TITLE_LEN], buf[64];
	double delta = c->canary - c->control;
	double dpct = isfinite(delta) && c->control != 0 ? 100.0 * delta / fabs(c->control) : NAN;
	json_t *o = json_object();
	engine_cell_label(&r->engine, i, label, sizeof label);
	set_text(o, "kpi", k->id);
	set(o, "journey", j >= 0 ? jtext(p->journeys[j].id) : json_null());
	set_text(o, "label", label);
	set_text(o, "group", k->group);
	set_text(o, "status", sr_status_name(c->status));
	set_text(o, "glyph", sr_status_glyph(c->status));
	set(o, "gating", json_boolean(!kpi_is_monitor(k)));
	set(o, "monitor", json_boolean(kpi_is_monitor(k)));
	set(o, "canary", jnum(c->canary));
	set(o, "control", jnum(c->control));
	set(o, "delta", jnum(delta));
	set(o, "delta_pct", jnum(dpct));
	set(o, "limit", jnum(c->limit));
	set(o, "samples", jnum(c->samples));
	value_text(k, c->canary, buf, sizeof buf);
	set_text(o, "canary_text", buf);
	value_text(k, c->control, buf, sizeof buf);
	set_text(o, "control_text", buf);
	delta_text(k, delta, buf, sizeof buf);
	set_text(o, "delta_text", buf);
	if (isfinite(dpct))
		snprintf(buf, sizeof buf, "%+.1f%%", dpct);
	else
		snprintf(buf, sizeof buf, "n/a");
	set_text(o, "delta_pct_text", buf);
	limit_text(k, c, buf, sizeof buf);
	set_text(o, "limit_text", buf);
	if (isfinite(c->samples))
		snprintf(buf, sizeof buf, "%.0f", c->samples);
	else
		snprintf(buf, sizeof buf, "n/a");
	set_text(o, "samples_text", buf);
	const char *reason = engine_cell_reason(&r->engine, i);
	set_text(o, "reason", reason);
	set_text(o, "note", c->status == SR_GREEN ? "" : reason);
	sr_ms br = cell_breach_ms(c);
	sr_ms win = engine_sustain_window(p);
	if (br > 0 && win > 0) {
		char a[24], b[24];
		sr_fmt_duration(a, sizeof a, br);
		engine_fmt_window(win, b, sizeof b);
		fmt(buf, sizeof buf, "%s of %s%s", a, b, c->interrupted ? " (interrupted)" : "");
	} else {
		buf[0] = '\0';
	}
	set_text(o, "breach", buf);
	return o;
}

/* Counts of the gating cells by status. */
static json_t *summary_json(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	int gating = 0, green = 0, yellow = 0, red = 0, gaps = 0;
	for (int i = 0; i < p->ncells; i++) {
		if (kpi_is_monitor(&p->kpis[p->cells[i].kpi]))
			continue;
		enum sr_status s = r->engine.cells[i].status;
		gating++;
		green += s == SR_GREEN;
		yellow += s == SR_YELLOW;
		red += s == SR_RED;
		gaps += sr_status_is_data_gap(s);
	}
	char text[SR_TEXT_LEN];
	snprintf(text, sizeof text, "%d gating checks: %d GREEN, %d YELLOW, %d RED, %d data gaps",
	         gating, green, yellow, red, gaps);
	json_t *o = json_object();
	set(o, "gating", json_integer(gating));
	set(o, "green", json_integer(green));
	set(o, "yellow", json_integer(yellow));
	set(o, "red", json_integer(red));
	set(o, "gaps", json_integer(gaps));
	set_text(o, "text", text);
	return o;
}

/* Every cell that is not GREEN, worst first (the severity order of
 * enum sr_status), with its one-line summary. */
static json_t *attention_json(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int s = SR_STATUS_COUNT - 1; s > SR_GREEN; s--) {
		for (int i = 0; i < p->ncells; i++) {
			if ((int)r->engine.cells[i].status != s)
				continue;
			char label[SR_TITLE_LEN], sum[SR_REASON_LEN + SR_TITLE_LEN];
			engine_cell_label(&r->engine, i, label, sizeof label);
			engine_cell_summary(&r->engine, i, sum, sizeof sum);
			json_t *o = json_object();
			set_text(o, "label", label);
			set_text(o, "status", sr_status_name((enum sr_status)s));
			set_text(o, "text", sum);
			json_array_append_new(a, o);
		}
	}
	return a;
}

static json_t *triggers_json(const struct sr_runner *r, const struct sr_trigger_state *states)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int t = 0; t < p->ntriggers; t++) {
		const struct sr_trigger_state *s = &states[t];
		char since[48] = "";
		if (s->state != SR_TRIG_ARMED && s->since > 0)
			fmt_when(r, s->since, since, sizeof since);
		json_t *o = json_object();
		set_text(o, "id", p->triggers[t].id);
		set_text(o, "name", p->triggers[t].name);
		set_text(o, "state", trigger_state_name(s->state));
		set_text(o, "since", since);
		set_text(o, "detail", s->reason);
		set(o, "firing", json_boolean(s->state == SR_TRIG_FIRING));
		json_array_append_new(a, o);
	}
	return a;
}

/* ---- gate report ---------------------------------------------------------------------------- */

int report_gate_index(const struct sr_runner *r, int index)
{
	const struct sr_policy *p = r->policy;
	if (index >= 0 && index < p->ngates)
		return index;
	if (p->ngates == 0)
		return -1;
	int g = rollout_next_gate(&r->engine.ro, p, NULL);
	if (g >= 0)
		return g;
	/* None ahead: the last gate reached (passed or rolled back at). */
	for (g = p->ngates - 1; g >= 0; g--)
		if (r->engine.ro.gates[g].outcome != SR_GATE_PENDING)
			return g;
	return 0;
}

static const char *gate_outcome_name(enum sr_gate_outcome o)
{
	switch (o) {
	case SR_GATE_PENDING: return "pending";
	case SR_GATE_PASSED: return "passed";
	case SR_GATE_HELD: return "held";
	case SR_GATE_ROLLED_BACK: return "rolled back";
	}
	return "?";
}

static json_t *gate_json(const struct sr_runner *r, int g)
{
	const struct sr_policy *p = r->policy;
	const struct sr_gate *G = &p->gates[g];
	const struct sr_rollout *ro = &r->engine.ro;
	char buf[SR_REASON_LEN], when[48];
	json_t *o = json_object();
	set(o, "number", json_integer(g + 1));
	set_text(o, "name", G->name);
	set(o, "from", json_integer(G->from_weight));
	set(o, "to", json_integer(G->to_weight));
	sr_fmt_trel(buf, sizeof buf, (sr_ms)G->at_min * SR_MS_PER_MIN);
	set_text(o, "planned", buf);
	/* The gate ahead is due when its phase's window elapses (from when
	 * the phase really began); any other gate at its planned time. */
	sr_ms due = 0;
	if (rollout_next_gate(ro, p, &due) != g)
		due = ro->t0 + (sr_ms)G->at_min * SR_MS_PER_MIN;
	fmt_when(r, due, when, sizeof when);
	set_text(o, "due", when);
	if (ro->gates[g].outcome == SR_GATE_PASSED || ro->gates[g].outcome == SR_GATE_ROLLED_BACK) {
		char at[48];
		fmt_when(r, ro->gates[g].at, at, sizeof at);
		fmt(buf, sizeof buf, "%s at %s", gate_outcome_name(ro->gates[g].outcome), at);
		set_text(o, "outcome", buf);
	} else {
		set_text(o, "outcome", gate_outcome_name(ro->gates[g].outcome));
	}
	bool ok = true;
	buf[0] = '\0';
	if (isfinite(G->p95_max)) {
		char why[SR_REASON_LEN], lim[32];
		int kpi = policy_kpi_index(p, G->p95_kpi);
		ok = engine_gate_p95_ok(&r->engine, g, why, sizeof why);
		engine_fmt_value(kpi >= 0 ? &p->kpis[kpi] : NULL, G->p95_max, lim, sizeof lim);
		if (ok)
			snprintf(buf, sizeof buf, "%s needs every %s cell <= %s: met", G->name,
			         G->p95_kpi, lim);
		else
			fmt(buf, sizeof buf, "%s (not met)", why);
	}
	set_text(o, "condition", buf);
	set(o, "condition_ok", json_boolean(ok));
	return o;
}

static int role_index(const char *name)
{
	for (int i = 0; i < SR_ROLE_COUNT; i++)
		if (strcmp(sr_role_name((enum sr_role)i), name) == 0)
			return i;
	return -1;
}

static json_t *approvals_json(const struct sr_runner *r, int g)
{
	const struct sr_policy *p = r->policy;
	const struct sr_gate *G = &p->gates[g];
	const struct sr_gate_record *rec = &r->engine.ro.gates[g];
	int role = role_index(G->approver_role);
	json_t *by = json_array();
	int have = 0;
	for (int i = 0; i < rec->napprovals; i++) {
		char rel[24], when[48];
		bool counts = role >= 0 &&
		              rights_has_role(p, rec->approvals[i].who, (enum sr_role)role);
		for (int k = 0; k < i && counts; k++)
			counts = strcmp(rec->approvals[k].who, rec->approvals[i].who) != 0;
		have += counts;
		sr_fmt_trel(rel, sizeof rel, rec->approvals[i].at - r->engine.ro.t0);
		fmt_when(r, rec->approvals[i].at, when, sizeof when);
		json_t *a = json_object();
		set_text(a, "who", rec->approvals[i].who);
		set_text(a, "at", rel);
		set_text(a, "when", when);
		set_text(a, "reason", rec->approvals[i].reason);
		json_array_append_new(by, a);
	}
	int missing = G->pre_approved ? 0 : G->approvals_needed - have;
	if (missing < 0)
		missing = 0;
	/* Who could still give them: the role's members who have not. */
	char who[SR_REASON_LEN] = "";
	size_t o = 0;
	for (int i = 0; missing > 0 && role >= 0 && i < p->roster.n[role] && o < sizeof who; i++) {
		bool done = false;
		for (int k = 0; k < rec->napprovals && !done; k++)
			done = strcmp(rec->approvals[k].who, p->roster.who[role][i]) == 0;
		if (!done)
			o += (size_t)snprintf(who + o, sizeof who - o, "%s%s", o ? ", " : "",
			                      p->roster.who[role][i]);
	}
	char summary[SR_TEXT_LEN];
	if (G->pre_approved)
		snprintf(summary, sizeof summary,
		         "%s is pre-approved when the decision is GO: no approvals needed",
		         G->name);
	else if (missing == 0)
		snprintf(summary, sizeof summary, "%d of %d approval%s from %s: complete", have,
		         G->approvals_needed, G->approvals_needed == 1 ? "" : "s",
		         G->approver_role);
	else
		snprintf(summary, sizeof summary, "%d of %d approval%s from %s: waiting for %s",
		         have, G->approvals_needed, G->approvals_needed == 1 ? "" : "s",
		         G->approver_role, who[0] ? who : "nobody left on the roster");
	json_t *a = json_object();
	set_text(a, "role", G->approver_role);
	set(a, "needed", json_integer(G->pre_approved ? 0 : G->approvals_needed));
	set(a, "have", json_integer(have));
	set(a, "missing", json_integer(missing));
	set(a, "pre_approved", json_boolean(G->pre_approved));
	set_text(a, "summary", summary);
	set_text(a, "missing_who", who);
	set(a, "by", by);
	return a;
}

/* The KPI tables: one per policy group, in the policy's order, cells in
 * policy order. */
static json_t *groups_json(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int g = 0; g < p->ngroups; g++) {
		json_t *cells = json_array();
		for (int i = 0; i < p->ncells; i++)
			if (strcmp(p->kpis[p->cells[i].kpi].group, p->groups[g].id) == 0)
				json_array_append_new(cells, cell_json(r, i));
		json_t *o = json_object();
		set_text(o, "id", p->groups[g].id);
		set_text(o, "name", p->groups[g].name);
		set(o, "cells", cells);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *report_evidence_cell_json(const struct sr_engine *e, int i)
{
	const struct sr_policy *p = e->policy;
	const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
	const struct sr_evidence *ev = &e->evidence[i];
	if (!k->evidence.enabled)
		return json_null();
	struct sr_evidence_view v;
	evidence_view(ev, &k->evidence, &v);
	char label[SR_TITLE_LEN], text[SR_REASON_LEN];
	engine_cell_label(e, i, label, sizeof label);
	evidence_format(ev, &k->evidence, false, text, sizeof text);
	int j = p->cells[i].journey;
	json_t *o = json_object();
	set_text(o, "label", label);
	set_text(o, "kpi", k->id);
	set(o, "journey", j >= 0 ? jtext(p->journeys[j].id) : json_null());
	set_text(o, "state", evidence_state_name(ev->state));
	set_text(o, "text", text);
	set_text(o, "action", evidence_action_name(k->evidence.action));
	set(o, "r_hat", jnum(v.r_hat));
	set(o, "lo", jnum(v.lo));
	set(o, "hi", jnum(v.hi)); /* null: no upper bound yet */
	set(o, "p_worse", jnum(v.p_worse));
	set(o, "events", jnum(v.events));
	set(o, "needed", jnum(v.needed));
	set(o, "share", jnum(ev->rho));
	set(o, "bursty_steps", json_integer(ev->bursty_steps));
	set(o, "tolerance", jnum(k->evidence.tolerance));
	set(o, "upper", jnum(k->evidence.upper));
	set(o, "alpha", jnum(k->evidence.alpha));
	return o;
}

/* Every cell with an evidence test, in policy order. */
static json_t *evidence_json(const struct sr_runner *r)
{
	json_t *a = json_array();
	for (int i = 0; i < r->policy->ncells; i++)
		if (r->policy->kpis[r->policy->cells[i].kpi].evidence.enabled)
			json_array_append_new(a, report_evidence_cell_json(&r->engine, i));
	return a;
}

static json_t *gate_report(const struct sr_runner *r, int index)
{
	json_t *o = common_json(r, SR_REPORT_GATE);
	int g = report_gate_index(r, index);
	if (g >= 0) {
		set(o, "gate", gate_json(r, g));
		set(o, "approvals", approvals_json(r, g));
	}
	set(o, "summary", summary_json(r));
	set(o, "groups", groups_json(r));
	set(o, "attention", attention_json(r));
	set(o, "triggers", triggers_json(r, r->engine.triggers));
	set(o, "evidence", evidence_json(r));
	return o;
}

/* ---- phase card -------------------------------------------------------------------------------
 */

/* How far past its limit a cell is, normalised by the limit and in the
 * KPI's own direction: (value - limit) / |limit| for a maximum, (limit -
 * value) / |limit| for a minimum, and for vs_* kinds the counted deviation
 * against the tolerance: (deviation - tolerance) / tolerance. Positive:
 * past the limit; negative: headroom left. NAN when not comparable (no
 * fresh value, a monitor-only KPI). */
static double cell_excess(const struct sr_kpi *k, const struct sr_cell_state *c)
{
	double v = c->canary, L = c->limit;
	if (!c->fresh || !isfinite(v) || !isfinite(L) || k->kind == SR_KIND_MONITOR)
		return NAN;
	double scale = L != 0 ? fabs(L) : 1.0;
	switch (k->kind) {
	case SR_KIND_MAX:
	case SR_KIND_STREAK: return (v - L) / scale;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN: return (L - v) / scale;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE: {
		double d = c->deviation_pct;
		if (!isfinite(d))
			return NAN;
		double counted = k->direction == SR_DIR_UP     ? (d > 0 ? d : 0)
		                 : k->direction == SR_DIR_DOWN ? (d < 0 ? -d : 0)
		                                               : fabs(d);
		return (counted - L) / scale;
	}
	case SR_KIND_MONITOR: break;
	}
	return NAN;
}

struct anomaly {
	int cell;
	int rank_group; /* 0 past its limit, 1 data gap, 2 within (YELLOW) */
	double excess;
	enum sr_status status;
};

static int anomaly_cmp(const void *a, const void *b)
{
	const struct anomaly *x = a, *y = b;
	if (x->rank_group != y->rank_group)
		return x->rank_group - y->rank_group;
	if (x->rank_group == 1 && x->status != y->status)
		return (int)y->status - (int)x->status; /* ERROR before STALE before NODATA */
	if (x->rank_group != 1 && x->excess != y->excess)
		return x->excess > y->excess ? -1 : 1;
	return x->cell - y->cell; /* policy order: stable */
}

/* The anomalies: every cell not GREEN, ranked (see the card in report.h):
 * past their limit first, furthest first; then data gaps; then the ones
 * still within their limit (YELLOW), closest to it first. */
static int anomalies_rank(const struct sr_runner *r, struct anomaly *out)
{
	const struct sr_policy *p = r->policy;
	int n = 0;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &r->engine.cells[i];
		if (c->status == SR_GREEN)
			continue;
		double x = cell_excess(&p->kpis[p->cells[i].kpi], c);
		int grp = sr_status_is_data_gap(c->status) || !isfinite(x) ? 1 : x > 0 ? 0 : 2;
		out[n++] = (struct anomaly){
		    .cell = i, .rank_group = grp, .excess = x, .status = c->status};
	}
	qsort(out, (size_t)n, sizeof out[0], anomaly_cmp);
	return n;
}

static void pct_text(double frac, char *buf, size_t n)
{
	double pct = 100.0 * fabs(frac);
	snprintf(buf, n, pct >= 10 ? "%.0f%%" : "%.1f%%", pct);
}

static json_t *anomalies_json(const struct sr_runner *r, int *more)
{
	static struct anomaly list[SR_MAX_CELLS];
	int n = anomalies_rank(r, list);
	json_t *a = json_array();
	for (int i = 0; i < n && i < CARD_ANOMALIES; i++) {
		const struct anomaly *an = &list[i];
		char label[SR_TITLE_LEN], sum[SR_REASON_LEN + SR_TITLE_LEN], ex[48], pct[16];
		engine_cell_label(&r->engine, an->cell, label, sizeof label);
		engine_cell_summary(&r->engine, an->cell, sum, sizeof sum);
		if (an->rank_group == 1) {
			snprintf(ex, sizeof ex, "data gap (%s)", sr_status_name(an->status));
		} else {
			pct_text(an->excess, pct, sizeof pct);
			snprintf(ex, sizeof ex,
			         an->excess > 0 ? "%s past its limit" : "%s inside its limit", pct);
		}
		json_t *o = json_object();
		set(o, "rank", json_integer(i + 1));
		set_text(o, "label", label);
		set_text(o, "status", sr_status_name(an->status));
		set(o, "excess", jnum(an->excess));
		set_text(o, "excess_text", ex);
		set_text(o, "text", sum);
		json_array_append_new(a, o);
	}
	*more = n > CARD_ANOMALIES ? n - CARD_ANOMALIES : 0;
	return a;
}

/* The cell of a latency KPI with this quantile for a journey, -1. */
static int latency_cell(const struct sr_policy *p, int journey, double q)
{
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (p->cells[i].journey == journey && k->signal == SR_SIG_LATENCY &&
		    fabs(k->quantile - q) < 1e-6)
			return i;
	}
	return -1;
}

static bool policy_has_quantile(const struct sr_policy *p, double q)
{
	for (int k = 0; k < p->nkpis; k++)
		if (p->kpis[k].signal == SR_SIG_LATENCY && fabs(p->kpis[k].quantile - q) < 1e-6)
			return true;
	return false;
}

static void cell_value_text(const struct sr_runner *r, int cell, bool control, char *buf, size_t n)
{
	if (cell < 0) {
		snprintf(buf, n, "n/a");
		return;
	}
	const struct sr_cell_state *c = &r->engine.cells[cell];
	value_text(&r->policy->kpis[r->policy->cells[cell].kpi], control ? c->control : c->canary,
	           buf, n);
}

/* P50/P95/P99 per journey: what the policy measures, n/a for the rest. */
static json_t *latency_json(const struct sr_runner *r, char *note, size_t nn)
{
	const struct sr_policy *p = r->policy;
	static const double qs[3] = {0.50, 0.95, 0.99};
	json_t *a = json_array();
	for (int j = 0; j < p->njourneys; j++) {
		int cells[3];
		bool any = false;
		for (int q = 0; q < 3; q++) {
			cells[q] = latency_cell(p, j, qs[q]);
			any = any || cells[q] >= 0;
		}
		if (!any)
			continue;
		char v[48];
		json_t *o = json_object();
		set_text(o, "journey", p->journeys[j].id);
		set_text(o, "name", p->journeys[j].name);
		cell_value_text(r, cells[0], false, v, sizeof v);
		set_text(o, "p50", v);
		cell_value_text(r, cells[1], false, v, sizeof v);
		set_text(o, "p95", v);
		cell_value_text(r, cells[1], true, v, sizeof v);
		set_text(o, "p95_control", v);
		set_text(o, "p95_status",
		         cells[1] >= 0 ? sr_status_name(r->engine.cells[cells[1]].status) : "n/a");
		cell_value_text(r, cells[2], false, v, sizeof v);
		set_text(o, "p99", v);
		json_array_append_new(a, o);
	}
	size_t o = 0;
	note[0] = '\0';
	for (int q = 0; q < 3 && o < nn; q++)
		if (!policy_has_quantile(p, qs[q]))
			o += (size_t)snprintf(note + o, nn - o,
			                      "%sP%g is n/a: the policy has no P%g KPI",
			                      o ? "; " : "", qs[q] * 100, qs[q] * 100);
	return a;
}

/* The card's error rates: ratio KPIs named as errors (5xx, client-side);
 * its payment success: minimum KPIs about payments. Both from the policy's
 * words, so a team's own policy gets a sensible card without new keys. */
static bool kpi_is_error_rate(const struct sr_kpi *k)
{
	return k->signal == SR_SIG_RATIO &&
	       (contains_ci(k->id, "error") || contains_ci(k->name, "error"));
}

static bool kpi_is_payment_success(const struct sr_kpi *k)
{
	return (k->kind == SR_KIND_MIN || k->kind == SR_KIND_RATIO_MIN) &&
	       (contains_ci(k->id, "payment") || contains_ci(k->name, "payment"));
}

static json_t *cells_where(const struct sr_runner *r, bool (*pred)(const struct sr_kpi *))
{
	const struct sr_policy *p = r->policy;
	json_t *a = json_array();
	for (int i = 0; i < p->ncells; i++)
		if (pred(&p->kpis[p->cells[i].kpi]))
			json_array_append_new(a, cell_json(r, i));
	return a;
}

static json_t *card_report(const struct sr_runner *r, int phase)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	if (phase < 0 || phase >= p->nphases)
		phase = ro->phase;
	json_t *o = common_json(r, SR_REPORT_CARD);
	json_t *card = json_object();
	char buf[SR_TEXT_LEN];
	set_text(card, "phase", phase_name(p, phase));
	set(card, "weight", json_integer(phase >= 0 ? p->phases[phase].weight : 0));
	/* The phase's start: the gate that led into it, or T-0 for the first. */
	sr_ms entered = 0;
	if (phase == ro->phase) {
		entered = ro->phase_entered;
	} else if (phase > 0) {
		for (int g = 0; g < p->ngates; g++)
			if (p->gates[g].to_weight == p->phases[phase].weight &&
			    ro->gates[g].outcome == SR_GATE_PASSED)
				entered = ro->gates[g].at;
	} else if (phase == 0) {
		entered = ro->t0;
	}
	if (phase >= 0 && entered != 0) {
		fmt_when(r, entered, buf, sizeof buf);
		set_text(card, "entered", buf);
		sr_fmt_duration(buf, sizeof buf, r->now - entered);
		set_text(card, "observed", buf);
	} else {
		set_text(card, "entered", "n/a");
		set_text(card, "observed", "n/a");
	}
	set_text(card, "next",
	         phase >= 0 && phase + 1 < p->nphases ? p->phases[phase + 1].name : "");
	set(o, "card", card);
	set(o, "latency", latency_json(r, buf, sizeof buf));
	set_text(o, "latency_note", buf);
	set(o, "errors", cells_where(r, kpi_is_error_rate));
	set(o, "payments", cells_where(r, kpi_is_payment_success));
	int more = 0;
	set(o, "anomalies", anomalies_json(r, &more));
	set(o, "anomalies_more", json_integer(more));
	set(o, "summary", summary_json(r));
	set(o, "evidence", evidence_json(r));
	return o;
}

/* ---- postmortem placeholder
 * ----------------------------------------------------------------------- */

sr_ms report_postmortem_due(const struct sr_runner *r)
{
	const struct sr_rollout *ro = &r->engine.ro;
	if (!ro->rolled_back)
		return 0;
	return ro->rolled_back_at + (sr_ms)r->policy->postmortem_h * SR_MS_PER_H;
}

/* The log from `from` on, oldest first, at most TIMELINE_MAX (the newest). */
static json_t *timeline_json(const struct sr_runner *r, sr_ms from)
{
	int n = 0;
	while (runner_log_entry(r, n) && runner_log_entry(r, n)->at >= from)
		n++;
	if (n > TIMELINE_MAX)
		n = TIMELINE_MAX;
	json_t *a = json_array();
	for (int i = n - 1; i >= 0; i--) {
		const struct sr_log_entry *e = runner_log_entry(r, i);
		char when[48];
		fmt_when(r, e->at, when, sizeof when);
		json_t *o = json_object();
		set_text(o, "at", when);
		set_text(o, "severity", sr_status_name(e->severity));
		set_text(o, "actor", e->actor[0] ? e->actor : "engine");
		set_text(o, "text", e->text);
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *postmortem_report(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	json_t *o = common_json(r, SR_REPORT_POSTMORTEM);
	char buf[SR_TEXT_LEN];
	sr_ms at = ro->rolled_back ? ro->rolled_back_at : r->now;

	json_t *rb = json_object();
	if (ro->rolled_back) {
		fmt_when(r, at, buf, sizeof buf);
		set_text(rb, "at", buf);
	} else {
		set_text(rb, "at", "not rolled back");
	}
	set_text(rb, "by", ro->rolled_back_by);
	set_text(rb, "reason", ro->rollback_reason);
	set_text(rb, "from_phase", phase_name(p, ro->phase));
	set(rb, "from_weight", json_integer(ro->phase >= 0 ? p->phases[ro->phase].weight : 0));
	set(o, "rollback", rb);

	json_t *dl = json_object();
	sr_ms due = at + (sr_ms)p->postmortem_h * SR_MS_PER_H;
	fmt_when(r, due, buf, sizeof buf);
	set_text(dl, "at", buf);
	fmt_iso(due, buf, sizeof buf);
	set_text(dl, "iso", buf);
	set(dl, "hours", json_integer(p->postmortem_h));
	set(o, "deadline", dl);

	set(o, "triggers", triggers_json(r, report_triggers(r, SR_REPORT_POSTMORTEM)));
	set(o, "attention", attention_json(r));
	json_t *kpis = json_array();
	for (int i = 0; i < p->ncells; i++)
		json_array_append_new(kpis, cell_json(r, i));
	set(o, "kpis", kpis);
	fmt_when(r, at - TIMELINE_BEFORE_MS, buf, sizeof buf);
	set_text(o, "timeline_from", buf);
	set(o, "timeline", timeline_json(r, at - TIMELINE_BEFORE_MS));
	set(o, "summary", summary_json(r));
	return o;
}

/* ---- win note
 * --------------------------------------------------------------------------------------- */

/* Who declared success: the newest log line saying so. */
static void success_actor(const struct sr_runner *r, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int i = 0;; i++) {
		const struct sr_log_entry *e = runner_log_entry(r, i);
		if (!e)
			return;
		if (e->kind == SR_LOG_ACTION && strstr(e->text, "success declared") &&
		    !strstr(e->text, "refused")) {
			sr_strlcpy(buf, e->actor, n);
			return;
		}
	}
}

/* Which way is better for a KPI: -1 lower, +1 higher, 0 neither. */
static int better_direction(const struct sr_kpi *k)
{
	switch (k->kind) {
	case SR_KIND_MAX: return -1;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN: return 1;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE:
		return k->direction == SR_DIR_UP ? -1 : k->direction == SR_DIR_DOWN ? 1 : 0;
	case SR_KIND_MONITOR: return k->signal == SR_SIG_LATENCY ? -1 : 0;
	case SR_KIND_STREAK: return 0; /* a count of failures in a row is not a level */
	}
	return 0;
}

/* Baselines: the control before the canary took all traffic (the engine's
 * last control value) against the canary now, which is the new baseline. */
static json_t *baseline_json(const struct sr_runner *r, int i, double before, double after)
{
	const struct sr_policy *p = r->policy;
	const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
	int j = p->cells[i].journey;
	char label[SR_TITLE_LEN], v[48];
	double ch = isfinite(before) && isfinite(after) && before != 0
	                ? 100.0 * (after - before) / fabs(before)
	                : NAN;
	engine_cell_label(&r->engine, i, label, sizeof label);
	json_t *o = json_object();
	set_text(o, "label", label);
	set_text(o, "kpi", k->id);
	set(o, "journey", j >= 0 ? jtext(p->journeys[j].id) : json_null());
	set(o, "before", jnum(before));
	set(o, "after", jnum(after));
	set(o, "change_pct", jnum(ch));
	value_text(k, before, v, sizeof v);
	set_text(o, "before_text", v);
	value_text(k, after, v, sizeof v);
	set_text(o, "after_text", v);
	if (isfinite(ch))
		snprintf(v, sizeof v, "%+.1f%%", ch);
	else
		snprintf(v, sizeof v, "n/a");
	set_text(o, "change_text", v);
	return o;
}

static json_t *win_report(const struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	const struct sr_engine *e = &r->engine;
	json_t *o = common_json(r, SR_REPORT_WIN);
	char buf[SR_TEXT_LEN];
	sr_ms at = ro->success ? ro->success_at : r->now;

	json_t *s = json_object();
	fmt_when(r, at, buf, sizeof buf);
	set_text(s, "at", ro->success ? buf : "not declared yet");
	success_actor(r, buf, sizeof buf);
	set_text(s, "by", buf);
	sr_fmt_duration(buf, sizeof buf, at - ro->t0);
	set_text(s, "since_t0", buf);
	set(o, "success", s);

	json_t *gates = json_array();
	for (int g = 0; g < p->ngates; g++) {
		const struct sr_gate_record *rec = &ro->gates[g];
		if (rec->outcome != SR_GATE_PASSED)
			continue;
		char who[SR_TEXT_LEN] = "";
		size_t w = 0;
		if (p->gates[g].pre_approved)
			snprintf(who, sizeof who, "pre-approved (GO)");
		for (int a = 0; a < rec->napprovals && w < sizeof who; a++) {
			char rel[24];
			sr_fmt_trel(rel, sizeof rel, rec->approvals[a].at - ro->t0);
			w += (size_t)snprintf(who + w, sizeof who - w, "%s%s at %s", w ? ", " : "",
			                      rec->approvals[a].who, rel);
		}
		json_t *x = json_object();
		set_text(x, "name", p->gates[g].name);
		set(x, "from", json_integer(p->gates[g].from_weight));
		set(x, "to", json_integer(p->gates[g].to_weight));
		fmt_when(r, rec->at, buf, sizeof buf);
		set_text(x, "at", buf);
		set_text(x, "approvals", who[0] ? who : "none recorded");
		json_array_append_new(gates, x);
	}
	set(o, "gates", gates);

	json_t *crit = json_array();
	for (int c = 0; c < p->ncriteria; c++) {
		engine_criterion_text(e, c, r->now, buf, sizeof buf);
		json_array_append_new(crit, jtext(buf));
	}
	set(o, "criteria", crit);

	json_t *base = json_array(), *impr = json_array();
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		const struct sr_cell_state *c = &e->cells[i];
		double before = isfinite(e->last_control[i]) ? e->last_control[i] : c->control;
		double after = c->fresh ? c->canary : NAN;
		if (k->kind == SR_KIND_STREAK)
			continue; /* no baseline: a run of failures */
		json_array_append_new(base, baseline_json(r, i, before, after));
		int dir = better_direction(k);
		if (dir == 0 || !isfinite(before) || !isfinite(after) || before == 0)
			continue;
		double ch = 100.0 * (after - before) / fabs(before);
		if (ch * dir >= WIN_IMPROVEMENT_PCT)
			json_array_append_new(impr, baseline_json(r, i, before, after));
	}
	set(o, "baselines", base);
	set(o, "improvements", impr);
	snprintf(buf, sizeof buf, "%g%%", WIN_IMPROVEMENT_PCT);
	set_text(o, "improvement_threshold", buf);

	json_t *check = json_array();
	const struct sr_checklist *cl = policy_checklist(p, "post_canary");
	if (cl) {
		int ci = (int)(cl - p->checklists);
		for (int i = 0; i < cl->nitems; i++) {
			json_t *x = json_object();
			set_text(x, "text", cl->items[i].text);
			set(x, "done", json_boolean(ro->ticks[ci][i].done));
			set_text(x, "by", ro->ticks[ci][i].who);
			json_array_append_new(check, x);
		}
	}
	set(o, "checklist", check);
	set(o, "summary", summary_json(r));
	return o;
}

/* ---- the public face
 * ------------------------------------------------------------------------------- */

json_t *report_json(enum sr_report_kind kind, const struct sr_runner *r, int index)
{
	switch (kind) {
	case SR_REPORT_GATE: return gate_report(r, index);
	case SR_REPORT_CARD: return card_report(r, index);
	case SR_REPORT_POSTMORTEM: return postmortem_report(r);
	case SR_REPORT_WIN: return win_report(r);
	case SR_REPORT_COUNT: break;
	}
	return NULL;
}

char *report_markdown(const struct sr_report_templates *t, enum sr_report_kind kind,
                      const struct sr_runner *r, int index)
{
	if ((unsigned)kind >= SR_REPORT_COUNT || !t->t[kind])
		return NULL;
	json_t *d = report_json(kind, r, index);
	if (!d)
		return NULL;
	char *md = template_render(t->t[kind], d, NULL);
	json_decref(d);
	return md;
}

/* ---- files
 * --------------------------------------------------------------------------------------------- */

/* Write `len` bytes to dir/name whole: a temporary file, fsync, then
 * rename (or link when an existing file must be kept: link fails with
 * EEXIST atomically). 0, 1 (kept an existing file), -1 with err. */
static int write_file(const char *dir, const char *name, const char *data, size_t len,
                      bool keep_existing, char *err, size_t n)
{
	char final[1024], tmp[1100];
	snprintf(final, sizeof final, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld", dir, name, (long)getpid());
	if (keep_existing && access(final, F_OK) == 0)
		return 1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, n, "%s: %s", final, strerror(errno));
		return -1;
	}
	/* 0600 whatever the umask: a report quotes outside text and the
	 * rollout's state; the DRI shares it deliberately (a post, a copy). */
	fchmod(fd, 0600);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, n, "%s: write: %s", final, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, n, "%s: %s", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	int rc;
	if (keep_existing) {
		rc = link(tmp, final);
		int saved = errno;
		unlink(tmp);
		if (rc != 0 && saved == EEXIST)
			return 1;
		errno = saved;
	} else {
		rc = rename(tmp, final);
	}
	if (rc != 0) {
		snprintf(err, n, "%s: %s", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void report_basename(enum sr_report_kind kind, const struct sr_runner *r, int index,
                            char *buf, size_t n)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	char rel[24];
	switch (kind) {
	case SR_REPORT_GATE:
		sr_fmt_trel(rel, sizeof rel, r->now - ro->t0);
		snprintf(buf, n, "gate-%d-%s", report_gate_index(r, index) + 1, rel);
		return;
	case SR_REPORT_CARD: {
		int ph = index >= 0 && index < p->nphases ? index : ro->phase;
		sr_fmt_trel(rel, sizeof rel, r->now - ro->t0);
		snprintf(buf, n, "phase-card-%dpct-%s", ph >= 0 ? p->phases[ph].weight : 0, rel);
		return;
	}
	case SR_REPORT_POSTMORTEM:
		sr_fmt_trel(rel, sizeof rel,
		            (ro->rolled_back ? ro->rolled_back_at : r->now) - ro->t0);
		snprintf(buf, n, "postmortem-%s", rel);
		return;
	case SR_REPORT_WIN:
	case SR_REPORT_COUNT:
		sr_fmt_trel(rel, sizeof rel, (ro->success ? ro->success_at : r->now) - ro->t0);
		snprintf(buf, n, "win-note-%s", rel);
		return;
	}
}

int report_write(const struct sr_report_templates *t, enum sr_report_kind kind,
                 const struct sr_runner *r, int index, const char *dir, char *path, size_t pn,
                 char *err, size_t n)
{
	if ((unsigned)kind >= SR_REPORT_COUNT || !t->t[kind]) {
		snprintf(err, n, "no template loaded for the %s report", report_kind_name(kind));
		return -1;
	}
	if (kind == SR_REPORT_GATE && report_gate_index(r, index) < 0) {
		snprintf(err, n, "the policy has no gates");
		return -1;
	}
	json_t *d = report_json(kind, r, index);
	char *md = d ? template_render(t->t[kind], d, NULL) : NULL;
	if (!md) {
		json_decref(d);
		snprintf(err, n, "out of memory rendering the %s report", report_kind_name(kind));
		return -1;
	}
	char base[128], name[160];
	report_basename(kind, r, index, base, sizeof base);
	bool keep = kind == SR_REPORT_POSTMORTEM || kind == SR_REPORT_WIN;
	snprintf(name, sizeof name, "%s.md", base);
	int rc = write_file(dir, name, md, strlen(md), keep, err, n);
	if (path && pn > 0)
		snprintf(path, pn, "%s/%s", dir, name);
	free(md);
	if (rc == 0 && (kind == SR_REPORT_GATE || kind == SR_REPORT_CARD)) {
		char *js = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
		                             JSON_REAL_PRECISION(6));
		if (!js) {
			snprintf(err, n, "out of memory writing the %s JSON",
			         report_kind_name(kind));
			rc = -1;
		} else {
			size_t jl = strlen(js);
			char *withnl = realloc(js, jl + 2);
			if (withnl) {
				js = withnl;
				js[jl++] = '\n';
				js[jl] = '\0';
			}
			snprintf(name, sizeof name, "%s.json", base);
			rc = write_file(dir, name, js, jl, false, err, n);
			free(js);
		}
	}
	json_decref(d);
	return rc;
}

/* ---- the watch
 * ---------------------------------------------------------------------------------------- */

void report_watch_init(struct sr_report_watch *w, const struct sr_report_templates *tpl,
                       const char *dir)
{
	memset(w, 0, sizeof *w);
	w->tpl = tpl;
	sr_strlcpy(w->dir, dir ? dir : ".", sizeof w->dir);
	w->phase = -1;
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Write one report and say so in the log. */
static int watch_write(struct sr_report_watch *w, struct sr_runner *r, enum sr_report_kind kind,
                       int index, const char *what)
{
	char path[640], err[SR_TEXT_LEN];
	int rc = report_write(w->tpl, kind, r, index, w->dir, path, sizeof path, err, sizeof err);
	if (rc < 0) {
		runner_log(r, SR_LOG_INFO, SR_RED, "", "%s NOT written: %s", what, err);
		return 0;
	}
	sr_strlcpy(w->last_path, path, sizeof w->last_path);
	if (rc == 1) {
		runner_log(r, SR_LOG_INFO, SR_GREEN, "", "%s kept: %s already exists", what,
		           base_of(path));
		return 0;
	}
	w->written++;
	if (kind == SR_REPORT_POSTMORTEM) {
		char due[48];
		fmt_when(r, report_postmortem_due(r), due, sizeof due);
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "%s created: %s; postmortem due %s", what,
		           base_of(path), due);
	} else {
		runner_log(r, SR_LOG_INFO, SR_GREEN, "", "%s written: %s (%s)", what, base_of(path),
		           report_decision_word(r));
	}
	return 1;
}

int report_watch_tick(struct sr_report_watch *w, struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	const struct sr_rollout *ro = &r->engine.ro;
	int n = 0;
	sr_ms due = 0;
	int g = rollout_next_gate(ro, p, &due);
	if (!w->started) {
		/* What was reached before we watched is not written again. */
		w->started = true;
		w->phase = ro->phase;
		if (g >= 0 && r->now >= due)
			w->gate_done[g] = true;
		w->postmortem_done = ro->rolled_back;
		w->win_done = ro->success;
		return 0;
	}
	if (ro->phase > w->phase && w->phase >= 0) {
		char what[64];
		snprintf(what, sizeof what, "phase card %s", p->phases[w->phase].name);
		n += watch_write(w, r, SR_REPORT_CARD, w->phase, what);
	}
	w->phase = ro->phase;
	if (g >= 0 && g < SR_MAX_GATES && r->now >= due && !w->gate_done[g]) {
		char what[SR_NAME_LEN + 16];
		w->gate_done[g] = true;
		snprintf(what, sizeof what, "%s report", p->gates[g].name);
		n += watch_write(w, r, SR_REPORT_GATE, g, what);
	}
	if (ro->rolled_back && !w->postmortem_done) {
		w->postmortem_done = true;
		n += watch_write(w, r, SR_REPORT_POSTMORTEM, -1, "postmortem placeholder");
	}
	if (ro->success && !w->win_done) {
		w->win_done = true;
		n += watch_write(w, r, SR_REPORT_WIN, -1, "win note");
	}
	return n;
}
