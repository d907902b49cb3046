/* policy_load.c - read and validate a policy file into struct sr_policy.
 *
 * The policy is the directive as data, so a mistake in it is a mistake in
 * the rollout: this loader is deliberately unforgiving. Unknown keys,
 * wrong types, impossible values (a 150% error rate, a negative latency,
 * a quantile of 1.5, phases that do not increase), dangling references
 * and exceeded capacities are all errors that name file:line:column and
 * the key. Nothing is silently clamped or truncated. The format is
 * documented key by key in man/shiproom.json.5.
 *
 * Sections are read in dependency order (journeys and groups before the
 * KPIs that name them, KPIs before gates and triggers, roster before the
 * approval counts that need it), not in file order; the first error wins.
 */
#include "shiproom/policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/etcd.h"
#include "shiproom/haproxy.h"
#include "shiproom/http_edge.h"
#include "shiproom/jread.h"
#include "shiproom/prometheus.h"
#include "shiproom/promparse.h"

/* Plausibility bounds: wide enough for any real rollout, narrow enough to
 * catch a unit mistake (seconds typed as milliseconds, days as minutes). */
#define MAX_MINUTES 100000 /* ~69 days from T-0 */
#define MAX_POLL_S 3600
#define MAX_HOURS 720

struct pl {
	struct jr_doc d;
	struct sr_policy *p;
	struct jr_val root;
};

static const char *const kind_names[] = {"max",       "min",    "vs_control", "vs_baseline",
                                         "ratio_min", "streak", "monitor",    NULL};
static const char *const direction_names[] = {"both", "up", "down", NULL};
static const char *const baseline_names[] = {"control", "t0", NULL};
static const char *const signal_names[] = {"latency", "ratio", "gauge", "streak", NULL};
static const char *const trigger_kinds[] = {"sustained", "threshold", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
/* The first of each is the built-in simulator, which takes no keys but
 * "kind"; the others' keys are their drivers' to check (drivers_check). */
static const char *const source_kinds[] = {"sim", "prometheus", NULL};
static const char *const edge_kinds[] = {"sim", "haproxy", "http", NULL};
/* "store" is optional: absent, the state dir of today (kind "dir"). */
static const char *const store_kinds[] = {"dir", "etcd", NULL};

static void role_list(const char *names[SR_ROLE_COUNT + 1])
{
	for (int i = 0; i < SR_ROLE_COUNT; i++)
		names[i] = sr_role_name((enum sr_role)i);
	names[SR_ROLE_COUNT] = NULL;
}

static void action_list(const char *names[SR_ACT_COUNT + 1])
{
	for (int i = 0; i < SR_ACT_COUNT; i++)
		names[i] = sr_action_name((enum sr_action_kind)i);
	names[SR_ACT_COUNT] = NULL;
}

/* "a, b, c" of the ids of a table, for "unknown x (known: ...)". */
static void id_list(char *out, size_t n, const char *first_id, size_t stride, int count)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < count; i++) {
		const char *id = first_id + (size_t)i * stride;
		int w = snprintf(out + o, n - o, "%s%s", i ? ", " : "", id);
		if (w < 0 || (size_t)w >= n - o) {
			if (n > 4)
				memcpy(out + n - 4, "...", 4);
			return;
		}
		o += (size_t)w;
	}
}

static bool is_vs(enum sr_kpi_kind k)
{
	return k == SR_KIND_VS_CONTROL || k == SR_KIND_VS_BASELINE;
}

/* ---- top level, evaluation, source, edge ------------------------------- */

static int load_header(struct pl *L)
{
	static const char *const top[] = {"rollout",
	                                  "title",
	                                  "evaluation",
	                                  "source",
	                                  "edge",
	                                  "calendar",
	                                  "journeys",
	                                  "groups",
	                                  "phases",
	                                  "gates",
	                                  "kpis",
	                                  "triggers",
	                                  "roster",
	                                  "decision_rights",
	                                  "checklists",
	                                  "success",
	                                  "partial_success",
	                                  "rollback",
	                                  "status_page",
	                                  "service",
	                                  "store",
	                                  NULL};
	struct sr_policy *p = L->p;
	if (jr_check_keys(&L->d, &L->root, top) < 0 ||
	    jr_id(&L->d, &L->root, "rollout", JR_REQUIRED, p->rollout, sizeof p->rollout) < 0)
		return -1;
	sr_strlcpy(p->title, p->rollout, sizeof p->title);
	if (jr_string(&L->d, &L->root, "title", JR_OPTIONAL, p->title, sizeof p->title) < 0)
		return -1;
	sr_strlcpy(p->status_page_rule, "", sizeof p->status_page_rule);
	return jr_string(&L->d, &L->root, "status_page", JR_OPTIONAL, p->status_page_rule,
	                 sizeof p->status_page_rule) < 0
	           ? -1
	           : 0;
}

static int load_evaluation(struct pl *L)
{
	static const char *const keys[] = {
	    "poll_s",      "stale_after_s",   "clear_after", "auto_rollback",
	    "fast_poll_s", "fast_margin_pct", NULL};
	struct sr_policy *p = L->p;
	struct jr_val ev;
	int poll = 15, stale = -1;
	double fast = -1;
	p->clear_after = 2;
	p->auto_rollback = false;
	p->fast_margin_pct = SR_FAST_MARGIN_PCT_DEFAULT;
	int r = jr_object(&L->d, &L->root, "evaluation", JR_OPTIONAL, &ev);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (jr_check_keys(&L->d, &ev, keys) < 0 ||
		    jr_int(&L->d, &ev, "poll_s", JR_OPTIONAL, 1, MAX_POLL_S, &poll) < 0 ||
		    jr_int(&L->d, &ev, "stale_after_s", JR_OPTIONAL, poll, 86400, &stale) < 0 ||
		    jr_int(&L->d, &ev, "clear_after", JR_OPTIONAL, 1, 100, &p->clear_after) < 0 ||
		    jr_bool(&L->d, &ev, "auto_rollback", JR_OPTIONAL, &p->auto_rollback) < 0 ||
		    jr_number(&L->d, &ev, "fast_poll_s", JR_OPTIONAL, 0, MAX_POLL_S, &fast) < 0 ||
		    jr_number(&L->d, &ev, "fast_margin_pct", JR_OPTIONAL, 0, 100,
		              &p->fast_margin_pct) < 0)
			return -1;
		/* A fast rate is only a fast rate below poll_s; 0 turns it off. */
		if (fast > 0 && (fast < 0.1 || fast >= poll))
			return jr_fail(&L->d, &ev, "fast_poll_s", JR_AT_VALUE,
			               "must be 0 (off) or from 0.1 to less than poll_s (%d)",
			               poll);
	}
	p->poll_ms = poll * SR_MS_PER_S;
	/* Unset: 2 s, or off when poll_s itself is that fast. */
	if (fast < 0)
		fast = SR_FAST_POLL_S_DEFAULT < poll ? SR_FAST_POLL_S_DEFAULT : 0;
	p->fast_poll_ms = (sr_ms)(fast * 1000.0 + 0.5);
	/* Three missed polls before data counts as stale (DESIGN.md 3). */
	p->stale_after_ms = (stale > 0 ? stale : 3 * poll) * SR_MS_PER_S;
	return 0;
}

/* "source", "edge" and "store": the kind now; a real driver's object is
 * kept as compact JSON and checked by the driver's own reader once the
 * KPIs it may name are loaded (drivers_check). An optional object that
 * is absent is its first kind. */
static int load_kind(struct pl *L, const char *key, enum jr_need need, const char *const *kinds,
                     char *out, size_t n, char *json, size_t jn)
{
	static const char *const keys[] = {"kind", NULL};
	struct jr_val o;
	int k;
	json[0] = '\0';
	sr_strlcpy(out, kinds[0], n);
	int r = jr_object(&L->d, &L->root, key, need, &o);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (jr_enum(&L->d, &o, "kind", JR_REQUIRED, kinds, &k) < 0)
		return -1;
	sr_strlcpy(out, kinds[k], n);
	if (k == 0)
		return jr_check_keys(&L->d, &o, keys); /* the simulator: nothing else */
	char *text = json_dumps(o.j, JSON_COMPACT);
	if (!text)
		return jr_fail(&L->d, &o, NULL, JR_AT_VALUE, "out of memory");
	size_t len = strlen(text);
	if (len >= jn) {
		free(text);
		return jr_fail(&L->d, &o, NULL, JR_AT_VALUE,
		               "the %s object is %zu bytes as compact JSON; at most %zu", key, len,
		               jn - 1);
	}
	memcpy(json, text, len + 1);
	free(text);
	return 0;
}

/* ---- journeys, groups, phases ------------------------------------------------ */

static int load_journeys(struct pl *L)
{
	static const char *const keys[] = {"id", "name", "read_heavy", NULL};
	struct sr_policy *p = L->p;
	struct jr_val arr, o;
	if (jr_array(&L->d, &L->root, "journeys", JR_REQUIRED, SR_MAX_JOURNEYS, &arr) < 0)
		return -1;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE, "at least one journey is needed");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		struct sr_journey *j = &p->journeys[i];
		jr_elem(&arr, i, &o);
		if (jr_as_object(&L->d, &o) < 0 || jr_check_keys(&L->d, &o, keys) < 0 ||
		    jr_id(&L->d, &o, "id", JR_REQUIRED, j->id, sizeof j->id) < 0)
			return -1;
		if (policy_journey_index(p, j->id) >= 0)
			return jr_fail(&L->d, &o, "id", JR_AT_VALUE, "duplicate journey id \"%s\"",
			               j->id);
		sr_strlcpy(j->name, j->id, sizeof j->name);
		if (jr_string(&L->d, &o, "name", JR_OPTIONAL, j->name, sizeof j->name) < 0 ||
		    jr_bool(&L->d, &o, "read_heavy", JR_OPTIONAL, &j->read_heavy) < 0)
			return -1;
		p->njourneys++;
	}
	return 0;
}

static int group_index(const struct sr_policy *p, const char *id)
{
	for (int i = 0; i < p->ngroups; i++) {
		if (strcmp(p->groups[i].id, id) == 0)
			return i;
	}
	return -1;
}

static int load_groups(struct pl *L)
{
	static const char *const keys[] = {"id", "name", NULL};
	struct sr_policy *p = L->p;
	struct jr_val arr, o;
	if (jr_array(&L->d, &L->root, "groups", JR_REQUIRED, SR_MAX_GROUPS, &arr) < 0)
		return -1;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE, "at least one KPI group is needed");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		struct sr_group *g = &p->groups[i];
		jr_elem(&arr, i, &o);
		if (jr_as_object(&L->d, &o) < 0 || jr_check_keys(&L->d, &o, keys) < 0 ||
		    jr_id(&L->d, &o, "id", JR_REQUIRED, g->id, sizeof g->id) < 0)
			return -1;
		if (group_index(p, g->id) >= 0)
			return jr_fail(&L->d, &o, "id", JR_AT_VALUE, "duplicate group id \"%s\"",
			               g->id);
		sr_strlcpy(g->name, g->id, sizeof g->name);
		if (jr_string(&L->d, &o, "name", JR_OPTIONAL, g->name, sizeof g->name) < 0)
			return -1;
		p->ngroups++;
	}
	return 0;
}

static int phase_by_name(const struct sr_policy *p, const char *name)
{
	for (int i = 0; i < p->nphases; i++) {
		if (strcmp(p->phases[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* One phase, checked against the one before it. */
static int load_phase(struct pl *L, struct jr_val *o, int i)
{
	static const char *const keys[] = {"name",        "weight",      "start_min",
	                                   "observe_min", "cadence_min", NULL};
	struct sr_policy *p = L->p;
	struct sr_phase *ph = &p->phases[i];
	const struct sr_phase *prev = i > 0 ? &p->phases[i - 1] : NULL;
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_int(&L->d, o, "weight", JR_REQUIRED, 1, 100, &ph->weight) < 0 ||
	    jr_int(&L->d, o, "start_min", JR_REQUIRED, -MAX_MINUTES, MAX_MINUTES, &ph->start_min) <
	        0 ||
	    jr_int(&L->d, o, "observe_min", JR_REQUIRED, 1, MAX_MINUTES, &ph->observe_min) < 0 ||
	    jr_int(&L->d, o, "cadence_min", JR_OPTIONAL, 0, MAX_MINUTES, &ph->cadence_min) < 0)
		return -1;
	snprintf(ph->name, sizeof ph->name, "%d%%", ph->weight);
	if (jr_string(&L->d, o, "name", JR_OPTIONAL, ph->name, sizeof ph->name) < 0)
		return -1;
	if (prev && ph->weight <= prev->weight)
		return jr_fail(&L->d, o, "weight", JR_AT_VALUE,
		               "phase weights must increase: %d%% after %d%%", ph->weight,
		               prev->weight);
	if (prev && ph->start_min < prev->start_min)
		return jr_fail(&L->d, o, "start_min", JR_AT_VALUE,
		               "phase \"%s\" starts at T%+d, before phase \"%s\" (T%+d)", ph->name,
		               ph->start_min, prev->name, prev->start_min);
	if (prev && ph->start_min < prev->start_min + prev->observe_min)
		return jr_fail(
		    &L->d, o, "start_min", JR_AT_VALUE,
		    "phase \"%s\" starts at T%+d, before the %d min window of \"%s\" ends "
		    "(T%+d)",
		    ph->name, ph->start_min, prev->observe_min, prev->name,
		    prev->start_min + prev->observe_min);
	if (ph->name[0] == '\0')
		return jr_fail(&L->d, o, "name", JR_AT_VALUE, "empty phase name");
	if (phase_by_name(p, ph->name) >= 0)
		return jr_fail(&L->d, o, "name", JR_AT_VALUE, "duplicate phase name \"%s\"",
		               ph->name);
	return 0;
}

static int load_phases(struct pl *L)
{
	struct jr_val arr, o;
	if (jr_array(&L->d, &L->root, "phases", JR_REQUIRED, SR_MAX_PHASES, &arr) < 0)
		return -1;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE, "at least one phase is needed");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_phase(L, &o, (int)i) < 0)
			return -1;
		L->p->nphases++;
	}
	return 0;
}

/* A member that must name a phase weight (0 allowed when zero_ok: the
 * "before the first phase" of a promote from 0). */
static int phase_weight(struct pl *L, struct jr_val *o, const char *key, enum jr_need need,
                        bool zero_ok, int *out)
{
	int r = jr_int(&L->d, o, key, need, 0, 100, out);
	if (r != 0)
		return r;
	if ((zero_ok && *out == 0) || policy_phase_index(L->p, *out) >= 0)
		return 0;
	return jr_fail(&L->d, o, key, JR_AT_VALUE, "no phase has weight %d", *out);
}

/* `to` must be the phase right after `from` (0: the first phase). */
static int next_weight(struct pl *L, struct jr_val *o, int from, int to)
{
	const struct sr_policy *p = L->p;
	int fi = from == 0 ? -1 : policy_phase_index(p, from);
	if (fi + 1 >= p->nphases)
		return jr_fail(&L->d, o, "to", JR_AT_VALUE,
		               "%d%% is the last phase: nothing follows it", from);
	int want = p->phases[fi + 1].weight;
	if (to != want)
		return jr_fail(&L->d, o, "to", JR_AT_VALUE,
		               "must be the next phase: after %d%% comes %d%%, not %d%%", from,
		               want, to);
	return 0;
}

/* ---- calendar ---------------------------------------------------------------- */

/* "HH:MM" -> minutes after midnight, -1 if malformed. */
static int parse_hhmm(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++) {
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	}
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

static int hhmm_member(struct pl *L, struct jr_val *o, const char *key, int *out)
{
	char buf[64];
	int r = jr_string(&L->d, o, key, JR_OPTIONAL, buf, sizeof buf);
	if (r == 0 && (*out = parse_hhmm(buf)) < 0)
		return jr_fail(&L->d, o, key, JR_AT_VALUE,
		               "expected a local time \"HH:MM\" (00:00 to 23:59), got \"%s\"", buf);
	return r;
}

static int parse_offset(const char *s)
{
	if ((s[0] != '+' && s[0] != '-') || parse_hhmm(s + 1) < 0)
		return INT32_MIN;
	int m = parse_hhmm(s + 1);
	return m > 14 * 60 ? INT32_MIN : (s[0] == '-' ? -m : m);
}

static int load_workdays(struct pl *L, struct jr_val *cal, unsigned *days)
{
	struct jr_val arr, v;
	int r = jr_array(&L->d, cal, "workdays", JR_OPTIONAL, 7, &arr);
	if (r != 0)
		return r;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE,
		               "at least one working day is needed");
	*days = 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		int d;
		jr_elem(&arr, i, &v);
		if (jr_as_enum(&L->d, &v, "day", day_names, &d) < 0)
			return -1;
		if (*days & (1u << d))
			return jr_fail(&L->d, &v, NULL, JR_AT_VALUE, "\"%s\" is listed twice",
			               day_names[d]);
		*days |= 1u << d;
	}
	return 0;
}

static int load_calendar(struct pl *L)
{
	static const char *const keys[] = {"utc_offset", "business_hours", "workdays",
	                                   "end_of_day", "overnight_hold", NULL};
	static const char *const bh_keys[] = {"start", "end", NULL};
	static const char *const oh_keys[] = {"weight", "reevaluate_at", NULL};
	struct sr_calendar *c = &L->p->calendar;
	struct jr_val cal, bh, oh;
	char off[64] = "+00:00";
	int day_end = 18 * 60;

	/* Defaults: a Monday-to-Friday, 09:00-18:00 UTC working week and no
	 * overnight hold (weight 0 is never a phase). */
	c->utc_offset_min = 0;
	c->day_start_min = 9 * 60;
	c->workdays = 0x3e;
	c->overnight_weight = 0;
	int r = jr_object(&L->d, &L->root, "calendar", JR_OPTIONAL, &cal);
	if (r != 0) {
		c->end_of_day_min = day_end;
		c->reevaluate_min = c->day_start_min;
		return r < 0 ? -1 : 0;
	}
	if (jr_check_keys(&L->d, &cal, keys) < 0 ||
	    jr_string(&L->d, &cal, "utc_offset", JR_OPTIONAL, off, sizeof off) < 0)
		return -1;
	if ((c->utc_offset_min = parse_offset(off)) == INT32_MIN)
		return jr_fail(
		    &L->d, &cal, "utc_offset", JR_AT_VALUE,
		    "expected \"+HH:MM\" or \"-HH:MM\" within 14 hours of UTC, got \"%s\"", off);
	r = jr_object(&L->d, &cal, "business_hours", JR_OPTIONAL, &bh);
	if (r < 0 || (r == 0 && (jr_check_keys(&L->d, &bh, bh_keys) < 0 ||
	                         hhmm_member(L, &bh, "start", &c->day_start_min) < 0 ||
	                         hhmm_member(L, &bh, "end", &day_end) < 0)))
		return -1;
	if (r == 0 && day_end <= c->day_start_min)
		return jr_fail(&L->d, &bh, "end", JR_AT_VALUE,
		               "business hours must end after they start");
	c->end_of_day_min = day_end;
	c->reevaluate_min = c->day_start_min;
	if (load_workdays(L, &cal, &c->workdays) < 0 ||
	    hhmm_member(L, &cal, "end_of_day", &c->end_of_day_min) < 0)
		return -1;
	if (c->end_of_day_min <= c->day_start_min)
		return jr_fail(&L->d, &cal, "end_of_day", JR_AT_VALUE,
		               "end of day must be after business hours start");
	r = jr_object(&L->d, &cal, "overnight_hold", JR_OPTIONAL, &oh);
	if (r < 0 || (r == 0 && (jr_check_keys(&L->d, &oh, oh_keys) < 0 ||
	                         phase_weight(L, &oh, "weight", JR_REQUIRED, false,
	                                      &c->overnight_weight) < 0 ||
	                         hhmm_member(L, &oh, "reevaluate_at", &c->reevaluate_min) < 0)))
		return -1;
	return 0;
}

/* ---- KPIs -------------------------------------------------------------------- */

/* The checks a limit (or a per-phase limit) must pass for its kind. */
static int check_limit(struct pl *L, struct jr_val *v, const struct sr_kpi *k, double x)
{
	if (x < 0)
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE, "negative limit %g for KPI \"%s\"", x,
		               k->id);
	if ((k->kind == SR_KIND_MAX || k->kind == SR_KIND_MIN) && strcmp(k->unit, "%") == 0 &&
	    x > 100)
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE,
		               "percent limit %g for KPI \"%s\" is outside 0..100", x, k->id);
	if (is_vs(k->kind) && x <= 0)
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE,
		               "tolerance for KPI \"%s\" must be greater than 0%%", k->id);
	if (k->kind == SR_KIND_RATIO_MIN && x <= 0)
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE,
		               "ratio limit for KPI \"%s\" must be greater than 0", k->id);
	if (k->kind == SR_KIND_STREAK && x != floor(x))
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE,
		               "a streak limit counts failures: %g is not a whole number", x);
	return 0;
}

static int load_limit_by_phase(struct pl *L, struct jr_val *o, struct sr_kpi *k)
{
	struct jr_val lbp, v;
	void *it = NULL;
	const char *name;
	int r = jr_object(&L->d, o, "limit_by_phase", JR_OPTIONAL, &lbp);
	if (r != 0)
		return r < 0 ? -1 : 0;
	while (jr_next(&lbp, &it, &name, &v)) {
		int ph = phase_by_name(L->p, name);
		if (ph < 0) {
			char known[160];
			id_list(known, sizeof known, L->p->phases[0].name, sizeof L->p->phases[0],
			        L->p->nphases);
			return jr_fail(&L->d, &lbp, name, JR_AT_KEY,
			               "unknown phase \"%s\" (phases: %s)", name, known);
		}
		if (jr_as_number(&L->d, &v, -HUGE_VAL, HUGE_VAL, &k->phase_limit[ph]) < 0 ||
		    check_limit(L, &v, k, k->phase_limit[ph]) < 0)
			return -1;
	}
	return 0;
}

static int load_kpi_journeys(struct pl *L, struct jr_val *o, struct sr_kpi *k)
{
	struct jr_val arr, v;
	int r = jr_array(&L->d, o, "journeys", JR_OPTIONAL, SR_MAX_JOURNEYS, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE,
		               "empty journeys list: omit \"journeys\" for a global KPI");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		char id[SR_NAME_LEN];
		jr_elem(&arr, i, &v);
		if (jr_as_id(&L->d, &v, id, sizeof id) < 0)
			return -1;
		int j = policy_journey_index(L->p, id);
		if (j < 0) {
			char known[160];
			id_list(known, sizeof known, L->p->journeys[0].id, sizeof L->p->journeys[0],
			        L->p->njourneys);
			return jr_fail(&L->d, &v, NULL, JR_AT_VALUE,
			               "unknown journey \"%s\" (journeys: %s)", id, known);
		}
		for (int m = 0; m < k->njourneys; m++) {
			if (k->journeys[m] == j)
				return jr_fail(&L->d, &v, NULL, JR_AT_VALUE,
				               "journey \"%s\" is listed twice", id);
		}
		k->journeys[k->njourneys++] = j;
	}
	return 0;
}

/* kind, signal, direction, baseline and quantile, and how they combine. */
static int load_kpi_kind(struct pl *L, struct jr_val *o, struct sr_kpi *k)
{
	int kind, sig, dir = SR_DIR_BOTH, base = SR_BASE_CONTROL;
	if (jr_enum(&L->d, o, "kind", JR_REQUIRED, kind_names, &kind) < 0 ||
	    jr_enum(&L->d, o, "signal", JR_REQUIRED, signal_names, &sig) < 0)
		return -1;
	k->kind = (enum sr_kpi_kind)kind;
	k->signal = (enum sr_signal)sig;
	if (!is_vs(k->kind)) {
		if (jr_has(o, "direction"))
			return jr_fail(&L->d, o, "direction", JR_AT_KEY,
			               "direction applies only to vs_control and vs_baseline KPIs");
		if (jr_has(o, "baseline"))
			return jr_fail(&L->d, o, "baseline", JR_AT_KEY,
			               "baseline applies only to vs_baseline KPIs");
	}
	if (jr_enum(&L->d, o, "direction", JR_OPTIONAL, direction_names, &dir) < 0 ||
	    jr_enum(&L->d, o, "baseline", JR_OPTIONAL, baseline_names, &base) < 0)
		return -1;
	if (k->kind == SR_KIND_VS_CONTROL && base == SR_BASE_T0)
		return jr_fail(&L->d, o, "baseline", JR_AT_VALUE,
		               "a vs_control KPI compares with the control cohort; use vs_baseline "
		               "for a T-0 baseline");
	k->direction = (enum sr_direction)dir;
	k->baseline = (enum sr_baseline)base;
	if ((k->kind == SR_KIND_STREAK) != (k->signal == SR_SIG_STREAK))
		return jr_fail(&L->d, o, "signal", JR_AT_VALUE,
		               "kind \"streak\" and signal \"streak\" go together");
	if (k->signal != SR_SIG_LATENCY) {
		if (jr_has(o, "quantile"))
			return jr_fail(&L->d, o, "quantile", JR_AT_KEY,
			               "quantile applies only to latency KPIs");
		return 0;
	}
	if (!jr_has(o, "quantile"))
		return jr_fail(&L->d, o, "quantile", JR_AT_PARENT,
		               "missing quantile for latency KPI \"%s\"", k->id);
	if (jr_number(&L->d, o, "quantile", JR_REQUIRED, -HUGE_VAL, HUGE_VAL, &k->quantile) < 0)
		return -1;
	if (!(k->quantile > 0 && k->quantile < 1))
		return jr_fail(&L->d, o, "quantile", JR_AT_VALUE,
		               "quantile %g is outside (0, 1): write 0.95 for P95", k->quantile);
	return 0;
}

/* limit, limit_by_phase, warn_margin. */
static int load_kpi_limits(struct pl *L, struct jr_val *o, struct sr_kpi *k)
{
	struct jr_val v;
	k->limit = NAN;
	for (int i = 0; i < SR_MAX_PHASES; i++)
		k->phase_limit[i] = NAN;
	if (!jr_has(o, "limit") && k->kind != SR_KIND_MONITOR)
		return jr_fail(&L->d, o, "limit", JR_AT_PARENT, "missing limit for KPI \"%s\"",
		               k->id);
	if (jr_has(o, "limit")) {
		if (jr_member(&L->d, o, "limit", JR_REQUIRED, &v) < 0 ||
		    jr_as_number(&L->d, &v, -HUGE_VAL, HUGE_VAL, &k->limit) < 0 ||
		    check_limit(L, &v, k, k->limit) < 0)
			return -1;
	}
	if (load_limit_by_phase(L, o, k) < 0)
		return -1;

	/* YELLOW within 10% of the limit unless told otherwise (DESIGN.md 3). */
	k->warn_margin = isnan(k->limit) ? 0 : 0.1 * fabs(k->limit);
	if (jr_number(&L->d, o, "warn_margin", JR_OPTIONAL, 0, HUGE_VAL, &k->warn_margin) < 0)
		return -1;
	if (k->kind != SR_KIND_MAX && k->kind != SR_KIND_MIN && k->kind != SR_KIND_RATIO_MIN)
		return 0;
	for (int i = -1; i < L->p->nphases; i++) {
		double lim = i < 0 ? k->limit : k->phase_limit[i];
		if (isnan(lim) || k->warn_margin == 0 || k->warn_margin < fabs(lim))
			continue;
		if (!jr_has(o, "warn_margin"))
			return jr_fail(
			    &L->d, o, "limit_by_phase", JR_AT_VALUE,
			    "the default warn_margin %g (10%% of limit) is not smaller than "
			    "the phase limit %g of KPI \"%s\": set warn_margin",
			    k->warn_margin, lim, k->id);
		return jr_fail(&L->d, o, "warn_margin", JR_AT_VALUE,
		               "warn_margin %g must be smaller than the limit %g of KPI \"%s\"",
		               k->warn_margin, lim, k->id);
	}
	return 0;
}

/* "evidence": the sequential test of canary against control
 * (evidence.h). Only where the KPI counts bad events: ratio KPIs whose
 * bad side is "up" (max kinds: errors; min kinds: their complement,
 * failed payments, drop-offs) and latency KPIs (slow requests). */
static int load_kpi_evidence(struct pl *L, struct jr_val *o, struct sr_kpi *k)
{
	static const char *const keys[] = {"tolerance", "upper", "alpha", "action", NULL};
	static const char *const actions[] = {"display", "hold", "rollback", NULL};
	struct sr_evidence_cfg *c = &k->evidence;
	struct jr_val ev;
	c->enabled = false;
	c->tolerance = 1.2;
	c->upper = 1.5;
	c->alpha = 0.05;
	c->action = SR_EVID_DISPLAY;
	int r = jr_object(&L->d, o, "evidence", JR_OPTIONAL, &ev);
	if (r != 0)
		return r < 0 ? -1 : 0;
	int action = SR_EVID_DISPLAY;
	if (jr_check_keys(&L->d, &ev, keys) < 0 ||
	    jr_number(&L->d, &ev, "tolerance", JR_OPTIONAL, 1.0, 10.0, &c->tolerance) < 0 ||
	    jr_number(&L->d, &ev, "upper", JR_OPTIONAL, 1.0, 100.0, &c->upper) < 0 ||
	    jr_number(&L->d, &ev, "alpha", JR_OPTIONAL, 1e-6, 0.5, &c->alpha) < 0 ||
	    jr_enum(&L->d, &ev, "action", JR_OPTIONAL, actions, &action) < 0)
		return -1;
	c->action = (enum sr_evidence_action)action;
	if (k->signal != SR_SIG_RATIO && k->signal != SR_SIG_LATENCY)
		return jr_fail(&L->d, o, "evidence", JR_AT_KEY,
		               "evidence needs counts of bad events: a ratio or latency KPI, "
		               "not a %s one",
		               k->signal == SR_SIG_GAUGE ? "gauge" : "streak");
	/* The upper test's alternatives lie between the tolerance and upper;
	 * the grid spans tolerance * 1.25^-8 .. tolerance * 1.25^8. */
	double top = c->tolerance * pow(EVIDENCE_GRID_RATIO, EVIDENCE_GRID - 1 - EVIDENCE_ANCHOR);
	if (!(c->upper > c->tolerance) || c->upper > top)
		return jr_fail(&L->d, &ev, "upper", JR_AT_VALUE,
		               "upper %g must be above the tolerance %g and at most %.3g", c->upper,
		               c->tolerance, top);
	c->enabled = true;
	return 0;
}

static int load_kpi(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {
	    "id",          "name",   "group",    "unit",  "kind",           "direction",
	    "baseline",    "signal", "quantile", "limit", "limit_by_phase", "warn_margin",
	    "min_samples", "gating", "journeys", "note",  "query",          "evidence",
	    NULL};
	struct sr_policy *p = L->p;
	struct sr_kpi *k = &p->kpis[idx];
	char known[160];

	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_id(&L->d, o, "id", JR_REQUIRED, k->id, sizeof k->id) < 0)
		return -1;
	int dup = policy_kpi_index(p, k->id);
	if (dup >= 0)
		return jr_fail(&L->d, o, "id", JR_AT_VALUE,
		               "duplicate KPI id \"%s\" (first at /kpis/%d)", k->id, dup);
	sr_strlcpy(k->name, k->id, sizeof k->name);
	if (jr_string(&L->d, o, "name", JR_OPTIONAL, k->name, sizeof k->name) < 0 ||
	    jr_id(&L->d, o, "group", JR_REQUIRED, k->group, sizeof k->group) < 0)
		return -1;
	if (group_index(p, k->group) < 0) {
		id_list(known, sizeof known, p->groups[0].id, sizeof p->groups[0], p->ngroups);
		return jr_fail(&L->d, o, "group", JR_AT_VALUE, "unknown group \"%s\" (groups: %s)",
		               k->group, known);
	}
	/* A number without a unit is how "0.5" gets read as 50%. */
	if (!jr_has(o, "unit"))
		return jr_fail(&L->d, o, "unit", JR_AT_PARENT, "missing unit for KPI \"%s\"",
		               k->id);
	if (jr_string(&L->d, o, "unit", JR_REQUIRED, k->unit, sizeof k->unit) < 0)
		return -1;
	if (k->unit[0] == '\0')
		return jr_fail(&L->d, o, "unit", JR_AT_VALUE, "empty unit for KPI \"%s\"", k->id);
	if (load_kpi_kind(L, o, k) < 0 || load_kpi_limits(L, o, k) < 0)
		return -1;
	k->min_samples = 0;
	k->gating = k->kind != SR_KIND_MONITOR;
	if (jr_number(&L->d, o, "min_samples", JR_OPTIONAL, 0, 1e12, &k->min_samples) < 0 ||
	    jr_bool(&L->d, o, "gating", JR_OPTIONAL, &k->gating) < 0)
		return -1;
	if (k->kind == SR_KIND_MONITOR && k->gating)
		return jr_fail(&L->d, o, "gating", JR_AT_VALUE, "a monitor KPI is never gating");
	k->higher_is_better = k->kind == SR_KIND_MIN || k->kind == SR_KIND_RATIO_MIN;
	if (load_kpi_journeys(L, o, k) < 0 ||
	    jr_string(&L->d, o, "note", JR_OPTIONAL, k->note, sizeof k->note) < 0 ||
	    jr_string(&L->d, o, "query", JR_OPTIONAL, k->query, sizeof k->query) < 0 ||
	    load_kpi_evidence(L, o, k) < 0)
		return -1;
	return 0;
}

/* One evaluation cell per (KPI, journey), in KPI order then the KPI's own
 * journey order; a global KPI has one cell with journey -1. */
static int add_cells(struct pl *L, struct jr_val *o, int idx)
{
	struct sr_policy *p = L->p;
	const struct sr_kpi *k = &p->kpis[idx];
	int n = k->njourneys > 0 ? k->njourneys : 1;
	if (p->ncells + n > SR_MAX_CELLS)
		return jr_fail(&L->d, o, NULL, JR_AT_VALUE,
		               "too many KPI x journey cells (%d, at most %d)", p->ncells + n,
		               SR_MAX_CELLS);
	for (int i = 0; i < n; i++) {
		p->cells[p->ncells].kpi = idx;
		p->cells[p->ncells].journey = k->njourneys > 0 ? k->journeys[i] : -1;
		p->ncells++;
	}
	return 0;
}

static int load_kpis(struct pl *L)
{
	struct jr_val arr, o;
	if (jr_array(&L->d, &L->root, "kpis", JR_REQUIRED, SR_MAX_KPIS, &arr) < 0)
		return -1;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE, "at least one KPI is needed");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_kpi(L, &o, (int)i) < 0 || add_cells(L, &o, (int)i) < 0)
			return -1;
		L->p->nkpis++;
	}
	return 0;
}

/* An element that must be the id of a KPI; its index in *out. */
static int kpi_ref(struct pl *L, struct jr_val *v, int *out)
{
	char id[SR_NAME_LEN];
	if (jr_as_id(&L->d, v, id, sizeof id) < 0)
		return -1;
	if ((*out = policy_kpi_index(L->p, id)) < 0)
		return jr_fail(&L->d, v, NULL, JR_AT_VALUE, "unknown KPI \"%s\"", id);
	return 0;
}

/* A "kpis": [ids] member into idx[], at most SR_MAX_TRIGGER_KPIS. */
static int kpi_refs(struct pl *L, struct jr_val *o, enum jr_need need, int *idx, int *n)
{
	struct jr_val arr, v;
	int r = jr_array(&L->d, o, "kpis", need, SR_MAX_TRIGGER_KPIS, &arr);
	if (r != 0)
		return r;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE, "empty kpis list");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &v);
		if (kpi_ref(L, &v, &idx[i]) < 0)
			return -1;
		for (size_t m = 0; m < i; m++) {
			if (idx[m] == idx[i])
				return jr_fail(&L->d, &v, NULL, JR_AT_VALUE,
				               "KPI \"%s\" is listed twice", L->p->kpis[idx[i]].id);
		}
		*n = (int)i + 1;
	}
	return 0;
}

/* ---- gates ------------------------------------------------------------------- */

static int load_gate_extras(struct pl *L, struct jr_val *o, struct sr_gate *g)
{
	static const char *const ap_keys[] = {"role", "count", NULL};
	static const char *const p95_keys[] = {"kpi", "limit", NULL};
	const char *roles[SR_ROLE_COUNT + 1];
	struct jr_val ap, pm, v;
	int role, kpi;
	role_list(roles);

	if (jr_bool(&L->d, o, "pre_approved", JR_OPTIONAL, &g->pre_approved) < 0)
		return -1;
	int r = jr_object(&L->d, o, "approvals", JR_OPTIONAL, &ap);
	if (r < 0)
		return -1;
	if (r == 0) {
		g->approvals_needed = 1;
		if (g->pre_approved)
			return jr_fail(
			    &L->d, o, "pre_approved", JR_AT_VALUE,
			    "a pre-approved gate needs no approvals: drop \"approvals\" or "
			    "\"pre_approved\"");
		if (jr_check_keys(&L->d, &ap, ap_keys) < 0 ||
		    jr_enum(&L->d, &ap, "role", JR_REQUIRED, roles, &role) < 0 ||
		    jr_int(&L->d, &ap, "count", JR_OPTIONAL, 1, SR_MAX_ROSTER,
		           &g->approvals_needed) < 0)
			return -1;
		sr_strlcpy(g->approver_role, roles[role], sizeof g->approver_role);
	}
	g->p95_max = NAN;
	r = jr_object(&L->d, o, "p95_max", JR_OPTIONAL, &pm);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (jr_check_keys(&L->d, &pm, p95_keys) < 0 ||
	    jr_member(&L->d, &pm, "kpi", JR_REQUIRED, &v) < 0 || kpi_ref(L, &v, &kpi) < 0 ||
	    jr_number(&L->d, &pm, "limit", JR_REQUIRED, 0, HUGE_VAL, &g->p95_max) < 0)
		return -1;
	sr_strlcpy(g->p95_kpi, L->p->kpis[kpi].id, sizeof g->p95_kpi);
	return 0;
}

static int load_gate(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {"name",      "at_min",       "from",    "to",
	                                   "approvals", "pre_approved", "p95_max", NULL};
	struct sr_policy *p = L->p;
	struct sr_gate *g = &p->gates[idx];
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    phase_weight(L, o, "from", JR_REQUIRED, false, &g->from_weight) < 0 ||
	    phase_weight(L, o, "to", JR_REQUIRED, false, &g->to_weight) < 0 ||
	    next_weight(L, o, g->from_weight, g->to_weight) < 0)
		return -1;
	for (int i = 0; i < idx; i++) {
		if (p->gates[i].from_weight == g->from_weight)
			return jr_fail(&L->d, o, "from", JR_AT_VALUE,
			               "a second gate from %d%% (the first is /gates/%d)",
			               g->from_weight, i);
	}
	snprintf(g->name, sizeof g->name, "Gate %d", idx + 1);
	g->at_min = p->phases[policy_phase_index(p, g->to_weight)].start_min;
	if (jr_string(&L->d, o, "name", JR_OPTIONAL, g->name, sizeof g->name) < 0 ||
	    jr_int(&L->d, o, "at_min", JR_OPTIONAL, -MAX_MINUTES, MAX_MINUTES, &g->at_min) < 0)
		return -1;
	return load_gate_extras(L, o, g);
}

static int load_gates(struct pl *L)
{
	struct jr_val arr, o;
	int r = jr_array(&L->d, &L->root, "gates", JR_OPTIONAL, SR_MAX_GATES, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_gate(L, &o, (int)i) < 0)
			return -1;
		L->p->ngates++;
	}
	return 0;
}

static const struct sr_gate *gate_between(const struct sr_policy *p, int from, int to)
{
	for (int i = 0; i < p->ngates; i++) {
		if (p->gates[i].from_weight == from && p->gates[i].to_weight == to)
			return &p->gates[i];
	}
	return NULL;
}

/* ---- triggers ---------------------------------------------------------------- */

static int load_trigger(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {"id",   "name",  "kind",  "for_s",
	                                   "kpis", "above", "below", NULL};
	static const char *const threshold_only[] = {"kpis", "above", "below", NULL};
	struct sr_policy *p = L->p;
	struct sr_trigger *t = &p->triggers[idx];
	int kind;
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_id(&L->d, o, "id", JR_REQUIRED, t->id, sizeof t->id) < 0)
		return -1;
	for (int i = 0; i < idx; i++) {
		if (strcmp(p->triggers[i].id, t->id) == 0)
			return jr_fail(&L->d, o, "id", JR_AT_VALUE, "duplicate trigger id \"%s\"",
			               t->id);
	}
	sr_strlcpy(t->name, t->id, sizeof t->name);
	if (jr_string(&L->d, o, "name", JR_OPTIONAL, t->name, sizeof t->name) < 0 ||
	    jr_enum(&L->d, o, "kind", JR_REQUIRED, trigger_kinds, &kind) < 0)
		return -1;
	t->kind = kind == 0 ? SR_TRIG_SUSTAINED : SR_TRIG_THRESHOLD;
	if (t->kind == SR_TRIG_SUSTAINED) {
		int for_s;
		for (int i = 0; threshold_only[i]; i++) {
			if (jr_has(o, threshold_only[i]))
				return jr_fail(&L->d, o, threshold_only[i], JR_AT_KEY,
				               "\"%s\" applies only to threshold triggers",
				               threshold_only[i]);
		}
		if (jr_int(&L->d, o, "for_s", JR_REQUIRED, 1, 86400, &for_s) < 0)
			return -1;
		t->for_ms = for_s * SR_MS_PER_S;
		return 0;
	}
	if (jr_has(o, "for_s"))
		return jr_fail(&L->d, o, "for_s", JR_AT_KEY,
		               "\"for_s\" applies only to sustained triggers");
	if (kpi_refs(L, o, JR_REQUIRED, t->kpis, &t->nkpis) < 0)
		return -1;
	bool above = jr_has(o, "above"), below = jr_has(o, "below");
	if (above && below)
		return jr_fail(&L->d, o, "below", JR_AT_KEY,
		               "give either \"above\" or \"below\", not both");
	if (!above && !below)
		return jr_fail(&L->d, o, "above", JR_AT_PARENT,
		               "missing \"above\" or \"below\" for threshold trigger \"%s\"",
		               t->id);
	t->above = above;
	return jr_number(&L->d, o, above ? "above" : "below", JR_REQUIRED, -HUGE_VAL, HUGE_VAL,
	                 &t->threshold);
}

static int load_triggers(struct pl *L)
{
	struct jr_val arr, o;
	int r = jr_array(&L->d, &L->root, "triggers", JR_OPTIONAL, SR_MAX_TRIGGERS, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_trigger(L, &o, (int)i) < 0)
			return -1;
		L->p->ntriggers++;
	}
	return 0;
}

/* ---- roster and decision rights ------------------------------------------------ */

static int load_roster(struct pl *L)
{
	const char *roles[SR_ROLE_COUNT + 1];
	struct sr_roster *ro = &L->p->roster;
	struct jr_val obj, arr, v;
	role_list(roles);
	if (jr_object(&L->d, &L->root, "roster", JR_REQUIRED, &obj) < 0 ||
	    jr_check_keys(&L->d, &obj, roles) < 0)
		return -1;
	for (int r = 0; r < SR_ROLE_COUNT; r++) {
		int got = jr_array(&L->d, &obj, roles[r], JR_OPTIONAL, SR_MAX_ROSTER, &arr);
		if (got < 0)
			return -1;
		for (size_t i = 0; got == 0 && i < jr_len(&arr); i++) {
			jr_elem(&arr, i, &v);
			if (jr_as_id(&L->d, &v, ro->who[r][i], sizeof ro->who[r][i]) < 0)
				return -1;
			for (size_t m = 0; m < i; m++) {
				if (strcmp(ro->who[r][m], ro->who[r][i]) == 0)
					return jr_fail(&L->d, &v, NULL, JR_AT_VALUE,
					               "\"%s\" is listed twice", ro->who[r][i]);
			}
			ro->n[r]++;
		}
	}
	/* Someone must be able to hold and roll back. */
	if (ro->n[SR_ROLE_RELEASE_DRI] == 0)
		return jr_fail(&L->d, &obj, "release_dri",
		               jr_has(&obj, "release_dri") ? JR_AT_VALUE : JR_AT_PARENT,
		               "the roster must name at least one release_dri");
	return 0;
}

/* "service": {"socket": "/run/shiproom/checkout.sock", "group": "release",
 * "mode": "0660", "observers": ["carol"], "observer_group": "sre"} */
static int load_service(struct pl *L)
{
	static const char *const keys[] = {"socket",    "group",          "mode",
	                                   "observers", "observer_group", NULL};
	struct sr_service_policy *sv = &L->p->service;
	struct jr_val obj, arr, v;
	char mode[8] = "";
	memset(sv, 0, sizeof *sv);
	int r = jr_object(&L->d, &L->root, "service", JR_OPTIONAL, &obj);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (jr_check_keys(&L->d, &obj, keys) < 0 ||
	    jr_string(&L->d, &obj, "socket", JR_OPTIONAL, sv->socket, sizeof sv->socket) < 0 ||
	    jr_id(&L->d, &obj, "group", JR_OPTIONAL, sv->group, sizeof sv->group) < 0 ||
	    jr_string(&L->d, &obj, "mode", JR_OPTIONAL, mode, sizeof mode) < 0 ||
	    jr_id(&L->d, &obj, "observer_group", JR_OPTIONAL, sv->observer_group,
	          sizeof sv->observer_group) < 0)
		return -1;
	if (sv->socket[0] && sv->socket[0] != '/')
		return jr_fail(&L->d, &obj, "socket", JR_AT_VALUE,
		               "the socket must be an absolute path (\"%s\")", sv->socket);
	if (mode[0]) {
		char *end;
		long m = strtol(mode, &end, 8);
		/* the owner keeps read-write; never world-writable */
		if (*end || m < 0600 || m > 0777 || (m & 0600) != 0600 || (m & 0002))
			return jr_fail(
			    &L->d, &obj, "mode", JR_AT_VALUE,
			    "\"%s\" is not an octal mode from 0600 to 0775 the owner can "
			    "read and write and others cannot write (e.g. \"0660\")",
			    mode);
		sv->mode = (int)m;
	}
	int got = jr_array(&L->d, &obj, "observers", JR_OPTIONAL, SR_MAX_OBSERVERS, &arr);
	if (got < 0)
		return -1;
	for (size_t i = 0; got == 0 && i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &v);
		if (jr_as_id(&L->d, &v, sv->observers[i], sizeof sv->observers[i]) < 0)
			return -1;
		sv->nobservers++;
	}
	return 0;
}

static int check_promote_right(struct pl *L, struct jr_val *o, struct sr_right *rt)
{
	if (phase_weight(L, o, "from", JR_REQUIRED, true, &rt->from_weight) < 0 ||
	    phase_weight(L, o, "to", JR_REQUIRED, false, &rt->to_weight) < 0 ||
	    next_weight(L, o, rt->from_weight, rt->to_weight) < 0)
		return -1;
	/* Schedule never overrides SLOs: there is no promote without GO. */
	rt->needs_go = true;
	if (jr_bool(&L->d, o, "needs_go", JR_OPTIONAL, &rt->needs_go) < 0)
		return -1;
	if (!rt->needs_go)
		return jr_fail(&L->d, o, "needs_go", JR_AT_VALUE,
		               "promote always needs GO: schedule never overrides SLOs");
	const struct sr_gate *g = gate_between(L->p, rt->from_weight, rt->to_weight);
	if (rt->needs_gate_approvals && (!g || g->approvals_needed == 0))
		return jr_fail(&L->d, o, "gate_approvals", JR_AT_VALUE,
		               "no gate from %d%% to %d%% asks for approvals", rt->from_weight,
		               rt->to_weight);
	if (rt->pre_approved && (!g || !g->pre_approved))
		return jr_fail(&L->d, o, "pre_approved", JR_AT_VALUE,
		               "the gate from %d%% to %d%% is not pre_approved", rt->from_weight,
		               rt->to_weight);
	if (rt->pre_approved && rt->needs_gate_approvals)
		return jr_fail(&L->d, o, "pre_approved", JR_AT_VALUE,
		               "a right cannot be both pre_approved and need gate_approvals");
	return 0;
}

static int load_right(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {"action",   "from",           "to",
	                                   "role",     "gate_approvals", "pre_approved",
	                                   "needs_go", "condition",      NULL};
	static const char *const promote_only[] = {"from", "to", "gate_approvals", "pre_approved",
	                                           NULL};
	const char *actions[SR_ACT_COUNT + 1], *roles[SR_ROLE_COUNT + 1];
	struct sr_policy *p = L->p;
	struct sr_right *rt = &p->rights[idx];
	int act, role;
	action_list(actions);
	role_list(roles);
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_enum(&L->d, o, "action", JR_REQUIRED, actions, &act) < 0 ||
	    jr_enum(&L->d, o, "role", JR_REQUIRED, roles, &role) < 0 ||
	    jr_bool(&L->d, o, "gate_approvals", JR_OPTIONAL, &rt->needs_gate_approvals) < 0 ||
	    jr_bool(&L->d, o, "pre_approved", JR_OPTIONAL, &rt->pre_approved) < 0 ||
	    jr_string(&L->d, o, "condition", JR_OPTIONAL, rt->condition, sizeof rt->condition) < 0)
		return -1;
	rt->action = (enum sr_action_kind)act;
	rt->role = (enum sr_role)role;
	rt->from_weight = rt->to_weight = -1;
	if (rt->action == SR_ACT_PROMOTE) {
		if (check_promote_right(L, o, rt) < 0)
			return -1;
	} else {
		for (int i = 0; promote_only[i]; i++) {
			if (jr_has(o, promote_only[i]))
				return jr_fail(&L->d, o, promote_only[i], JR_AT_KEY,
				               "\"%s\" applies only to promote", promote_only[i]);
		}
		if (jr_bool(&L->d, o, "needs_go", JR_OPTIONAL, &rt->needs_go) < 0)
			return -1;
	}
	for (int i = 0; i < idx; i++) {
		const struct sr_right *q = &p->rights[i];
		if (q->action == rt->action && q->role == rt->role &&
		    q->from_weight == rt->from_weight && q->to_weight == rt->to_weight)
			return jr_fail(&L->d, o, "action", JR_AT_VALUE,
			               "duplicate right: %s for %s is already /decision_rights/%d",
			               actions[act], roles[role], i);
	}
	return 0;
}

/* Every step of the plan must be promotable by someone, and someone must
 * be able to roll back, or the policy describes a rollout that cannot
 * run safely. */
static int check_rights_cover(struct pl *L, struct jr_val *arr)
{
	const struct sr_policy *p = L->p;
	bool rollback = false;
	for (int i = 0; i < p->nrights; i++)
		rollback |= p->rights[i].action == SR_ACT_ROLLBACK;
	if (!rollback)
		return jr_fail(&L->d, arr, NULL, JR_AT_VALUE, "no decision right allows rollback");
	for (int ph = 0; ph < p->nphases; ph++) {
		int from = ph == 0 ? 0 : p->phases[ph - 1].weight, to = p->phases[ph].weight;
		bool ok = false;
		for (int i = 0; i < p->nrights && !ok; i++) {
			const struct sr_right *r = &p->rights[i];
			ok = r->action == SR_ACT_PROMOTE && r->from_weight == from &&
			     r->to_weight == to;
		}
		if (!ok)
			return jr_fail(&L->d, arr, NULL, JR_AT_VALUE,
			               "no decision right allows promote from %d%% to %d%%", from,
			               to);
	}
	return 0;
}

static int load_rights(struct pl *L)
{
	struct jr_val arr, o;
	if (jr_array(&L->d, &L->root, "decision_rights", JR_REQUIRED, SR_MAX_RIGHTS, &arr) < 0)
		return -1;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_right(L, &o, (int)i) < 0)
			return -1;
		L->p->nrights++;
	}
	return check_rights_cover(L, &arr);
}

/* A gate asking for more approvers than the roster has can never pass. */
static int check_approvers(struct pl *L)
{
	const struct sr_policy *p = L->p;
	for (int i = 0; i < p->ngates; i++) {
		const struct sr_gate *g = &p->gates[i];
		if (g->approvals_needed == 0)
			continue;
		int role = 0;
		while (role < SR_ROLE_COUNT &&
		       strcmp(sr_role_name((enum sr_role)role), g->approver_role))
			role++;
		if (role < SR_ROLE_COUNT && p->roster.n[role] >= g->approvals_needed)
			continue;
		struct jr_val ap;
		snprintf(ap.ptr, sizeof ap.ptr, "/gates/%d/approvals", i);
		ap.j = NULL;
		return jr_fail(&L->d, &ap, "role", JR_AT_VALUE,
		               "%s needs %d approval%s from %s but the roster lists %d", g->name,
		               g->approvals_needed, g->approvals_needed > 1 ? "s" : "",
		               g->approver_role, role < SR_ROLE_COUNT ? p->roster.n[role] : 0);
	}
	return 0;
}

/* ---- checklists -------------------------------------------------------------- */

static int load_item(struct pl *L, struct jr_val *o, struct sr_checklist *cl, int idx)
{
	static const char *const keys[] = {"id", "text", "due_min", "required", NULL};
	struct sr_check_item *it = &cl->items[idx];
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_id(&L->d, o, "id", JR_REQUIRED, it->id, sizeof it->id) < 0)
		return -1;
	for (int i = 0; i < idx; i++) {
		if (strcmp(cl->items[i].id, it->id) == 0)
			return jr_fail(&L->d, o, "id", JR_AT_VALUE, "duplicate item id \"%s\"",
			               it->id);
	}
	if (jr_string(&L->d, o, "text", JR_REQUIRED, it->text, sizeof it->text) < 0 ||
	    jr_int(&L->d, o, "due_min", JR_OPTIONAL, -MAX_MINUTES, MAX_MINUTES, &it->due_min) < 0 ||
	    jr_bool(&L->d, o, "required", JR_OPTIONAL, &it->required) < 0)
		return -1;
	return 0;
}

static int load_checklist(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {"id", "name", "ordered", "items", NULL};
	struct sr_policy *p = L->p;
	struct sr_checklist *cl = &p->checklists[idx];
	struct jr_val arr, it;
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_id(&L->d, o, "id", JR_REQUIRED, cl->id, sizeof cl->id) < 0)
		return -1;
	if (policy_checklist(p, cl->id))
		return jr_fail(&L->d, o, "id", JR_AT_VALUE, "duplicate checklist id \"%s\"",
		               cl->id);
	sr_strlcpy(cl->name, cl->id, sizeof cl->name);
	if (jr_string(&L->d, o, "name", JR_OPTIONAL, cl->name, sizeof cl->name) < 0 ||
	    jr_bool(&L->d, o, "ordered", JR_OPTIONAL, &cl->ordered) < 0 ||
	    jr_array(&L->d, o, "items", JR_REQUIRED, SR_MAX_ITEMS, &arr) < 0)
		return -1;
	if (jr_len(&arr) == 0)
		return jr_fail(&L->d, &arr, NULL, JR_AT_VALUE,
		               "a checklist needs at least one item");
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &it);
		if (load_item(L, &it, cl, (int)i) < 0)
			return -1;
		cl->nitems++;
	}
	return 0;
}

static int load_checklists(struct pl *L)
{
	struct jr_val arr, o;
	int r = jr_array(&L->d, &L->root, "checklists", JR_OPTIONAL, SR_MAX_CHECKLISTS, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_checklist(L, &o, (int)i) < 0)
			return -1;
		L->p->nchecklists++;
	}
	return 0;
}

/* ---- success, partial success, rollback ----------------------------------------- */

static int load_criterion(struct pl *L, struct jr_val *o, int idx)
{
	static const char *const keys[] = {"id",  "text",        "kpis", "group",
	                                   "max", "sustain_min", NULL};
	struct sr_policy *p = L->p;
	struct sr_criterion *c = &p->criteria[idx];
	int sustain = 0;
	if (jr_as_object(&L->d, o) < 0 || jr_check_keys(&L->d, o, keys) < 0 ||
	    jr_id(&L->d, o, "id", JR_REQUIRED, c->id, sizeof c->id) < 0)
		return -1;
	for (int i = 0; i < idx; i++) {
		if (strcmp(p->criteria[i].id, c->id) == 0)
			return jr_fail(&L->d, o, "id", JR_AT_VALUE, "duplicate criterion id \"%s\"",
			               c->id);
	}
	sr_strlcpy(c->text, c->id, sizeof c->text);
	if (jr_string(&L->d, o, "text", JR_OPTIONAL, c->text, sizeof c->text) < 0)
		return -1;
	bool kpis = jr_has(o, "kpis"), group = jr_has(o, "group");
	if (kpis == group)
		return jr_fail(&L->d, o, kpis ? "group" : "kpis", kpis ? JR_AT_KEY : JR_AT_PARENT,
		               "a criterion names either \"kpis\" or a \"group\"%s",
		               kpis ? ", not both" : "");
	if (kpis && kpi_refs(L, o, JR_REQUIRED, c->kpis, &c->nkpis) < 0)
		return -1;
	if (group) {
		if (jr_id(&L->d, o, "group", JR_REQUIRED, c->group, sizeof c->group) < 0)
			return -1;
		if (group_index(p, c->group) < 0)
			return jr_fail(&L->d, o, "group", JR_AT_VALUE, "unknown group \"%s\"",
			               c->group);
	}
	c->max_value = NAN;
	if (jr_number(&L->d, o, "max", JR_OPTIONAL, -HUGE_VAL, HUGE_VAL, &c->max_value) < 0 ||
	    jr_int(&L->d, o, "sustain_min", JR_OPTIONAL, 0, MAX_MINUTES, &sustain) < 0)
		return -1;
	c->sustain_ms = sustain * SR_MS_PER_MIN;
	return 0;
}

static int load_success(struct pl *L)
{
	static const char *const keys[] = {"at_weight", "criteria", NULL};
	struct sr_policy *p = L->p;
	struct jr_val s, arr, o;
	p->success_weight = p->phases[p->nphases - 1].weight;
	int r = jr_object(&L->d, &L->root, "success", JR_OPTIONAL, &s);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (jr_check_keys(&L->d, &s, keys) < 0 ||
	    phase_weight(L, &s, "at_weight", JR_OPTIONAL, false, &p->success_weight) < 0)
		return -1;
	r = jr_array(&L->d, &s, "criteria", JR_OPTIONAL, SR_MAX_CRITERIA, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_criterion(L, &o, (int)i) < 0)
			return -1;
		p->ncriteria++;
	}
	return 0;
}

static int load_after(struct pl *L)
{
	static const char *const ps_keys[] = {"hold_weight", "reattempt_within_h", NULL};
	static const char *const rb_keys[] = {"postmortem_within_h", NULL};
	struct sr_policy *p = L->p;
	struct jr_val ps, rb;
	int r = jr_object(&L->d, &L->root, "partial_success", JR_OPTIONAL, &ps);
	if (r < 0 || (r == 0 && (jr_check_keys(&L->d, &ps, ps_keys) < 0 ||
	                         phase_weight(L, &ps, "hold_weight", JR_REQUIRED, false,
	                                      &p->partial_weight) < 0 ||
	                         jr_int(&L->d, &ps, "reattempt_within_h", JR_REQUIRED, 1, MAX_HOURS,
	                                &p->reattempt_h) < 0)))
		return -1;
	r = jr_object(&L->d, &L->root, "rollback", JR_OPTIONAL, &rb);
	if (r < 0 || (r == 0 && (jr_check_keys(&L->d, &rb, rb_keys) < 0 ||
	                         jr_int(&L->d, &rb, "postmortem_within_h", JR_REQUIRED, 1,
	                                MAX_HOURS, &p->postmortem_h) < 0)))
		return -1;
	return 0;
}

/* ---- source and edge drivers ---------------------------------------------------- */

/* "source.headers.X.Y" (path, plen bytes) -> "/source/headers/X.Y". */
static void dotted_ptr(const char *top, const char *path, size_t plen, char *ptr, size_t pn)
{
	char seg[JR_PTR_LEN], joined[JR_PTR_LEN];
	size_t i = strlen(top);
	bool rest = false; /* the rest is one key (a header name, a KPI id) */
	snprintf(ptr, pn, "/%s", top);
	while (i < plen && (path[i] == '.' || (path[i] == '[' && !rest))) {
		/* ".key" or "[index]" (store.endpoints[1]: /store/endpoints/1) */
		bool index = path[i] == '[';
		size_t j = i + 1, e = j;
		while (e < plen &&
		       (index ? path[e] != ']' : rest || (path[e] != '.' && path[e] != '[')))
			e++;
		size_t len = e - j < sizeof seg - 1 ? e - j : sizeof seg - 1;
		memcpy(seg, path + j, len);
		seg[len] = '\0';
		jr_ptr_join(joined, sizeof joined, ptr, seg);
		sr_strlcpy(ptr, joined, pn);
		rest = strcmp(seg, "headers") == 0 || strcmp(seg, "samples_queries") == 0;
		i = index && e < plen ? e + 1 : e;
	}
}

/* The drivers' config readers name the offending key relative to their
 * object; turn that into a policy error at file:line:column.
 *
 * Prometheus says "source.headers.X-Scope-OrgID: msg" (a header name or a
 * KPI id may hold a '.', so under headers and samples_queries the rest is
 * one key); the edges say "/socket: msg", a JSON pointer from the edge
 * object. An unknown key is pointed at by its name, anything else by its
 * value; a key that is missing falls back to its object. */
static int driver_fail(struct pl *L, const char *top, const char *err, bool dotted)
{
	char ptr[JR_PTR_LEN];
	const char *sep = strstr(err, ": ");
	size_t plen = sep ? (size_t)(sep - err) : 0, tl = strlen(top);
	const char *msg = sep ? sep + 2 : err;
	snprintf(ptr, sizeof ptr, "/%s", top);
	if (dotted) {
		if (sep && plen >= tl && strncmp(err, top, tl) == 0 &&
		    (plen == tl || err[tl] == '.'))
			dotted_ptr(top, err, plen, ptr, sizeof ptr);
		else
			msg = err; /* not in the expected form: keep it whole */
	} else if (sep && plen > 0 && err[0] == '/') {
		/* "/edge" + the driver's pointer, cut to fit */
		size_t o = strlen(ptr);
		size_t len = plen < sizeof ptr - 1 - o ? plen : sizeof ptr - 1 - o;
		memcpy(ptr + o, err, len);
		ptr[o + len] = '\0';
	} else if (!(sep && plen == 0)) {
		msg = err;
	}
	struct jr_val v;
	memset(&v, 0, sizeof v);
	sr_strlcpy(v.ptr, ptr, sizeof v.ptr);
	enum jr_where where = strstr(msg, "unknown key") ? JR_AT_KEY : JR_AT_VALUE;
	return jr_fail(&L->d, &v, NULL, where, "%s", msg);
}

/* Samples queries must name KPIs of this policy, and every template the
 * source will send must expand: say so here, at file:line:column, not at
 * the first poll. */
static int prometheus_check(struct pl *L, const struct sr_prom_config *c)
{
	const struct sr_policy *p = L->p;
	char why[200], known[160], ptr[JR_PTR_LEN];
	struct jr_val src, v;
	jr_member(&L->d, &L->root, "source", JR_REQUIRED, &src);
	for (int i = 0; i < c->nsamples; i++) {
		int k = policy_kpi_index(p, c->samples[i].kpi);
		jr_ptr_join(ptr, sizeof ptr, "/source/samples_queries", c->samples[i].kpi);
		memset(&v, 0, sizeof v);
		sr_strlcpy(v.ptr, ptr, sizeof v.ptr);
		if (k < 0) {
			id_list(known, sizeof known, p->kpis[0].id, sizeof p->kpis[0], p->nkpis);
			return jr_fail(&L->d, &v, NULL, JR_AT_KEY,
			               "no KPI \"%s\" in this policy (KPIs: %s)", c->samples[i].kpi,
			               known);
		}
		char *q = promparse_expand_alloc(c->samples[i].query, p, k, c->window, why,
		                                 sizeof why);
		if (!q)
			return jr_fail(&L->d, &v, NULL, JR_AT_VALUE, "%s", why);
		free(q);
	}
	for (int k = 0; k < p->nkpis; k++) {
		snprintf(ptr, sizeof ptr, "/kpis/%d", k);
		memset(&v, 0, sizeof v);
		sr_strlcpy(v.ptr, ptr, sizeof v.ptr);
		if (!p->kpis[k].query[0])
			return jr_fail(
			    &L->d, &v, "query", JR_AT_PARENT,
			    "KPI \"%s\" has no query: the prometheus source needs one per KPI",
			    p->kpis[k].id);
		char *q = promparse_expand_alloc(p->kpis[k].query, p, k, c->window, why,
		                                 sizeof why);
		if (!q)
			return jr_fail(&L->d, &v, "query", JR_AT_VALUE, "%s", why);
		free(q);
	}
	return 0;
}

static int drivers_check(struct pl *L)
{
	const struct sr_policy *p = L->p;
	char err[600];
	struct jr_val o;
	int rc = 0;
	if (strcmp(p->source_kind, "prometheus") == 0) {
		struct sr_prom_config *c = malloc(sizeof *c);
		jr_member(&L->d, &L->root, "source", JR_REQUIRED, &o);
		if (!c)
			return jr_fail(&L->d, &o, NULL, JR_AT_VALUE, "out of memory");
		if (prometheus_config_from_json(c, o.j, err, sizeof err) != 0)
			rc = driver_fail(L, "source", err, true);
		else
			rc = prometheus_check(L, c);
		free(c);
		if (rc < 0)
			return -1;
	}
	jr_member(&L->d, &L->root, "edge", JR_REQUIRED, &o);
	if (strcmp(p->edge_kind, "haproxy") == 0) {
		struct sr_haproxy_config c;
		if (haproxy_config_from_json(&c, o.j, err, sizeof err) != 0)
			return driver_fail(L, "edge", err, false);
	} else if (strcmp(p->edge_kind, "http") == 0) {
		struct sr_http_edge_config *c = malloc(sizeof *c);
		if (!c)
			return jr_fail(&L->d, &o, NULL, JR_AT_VALUE, "out of memory");
		if (http_edge_config_from_json(c, o.j, err, sizeof err) != 0)
			rc = driver_fail(L, "edge", err, false);
		free(c);
	}
	if (rc == 0 && strcmp(p->store_kind, "etcd") == 0) {
		struct sr_etcd_config ec;
		jr_member(&L->d, &L->root, "store", JR_REQUIRED, &o);
		if (etcd_config_from_json(&ec, o.j, err, sizeof err) != 0)
			return driver_fail(L, "store", err, true);
	}
	return rc;
}

/* The typed configs, from the text the load kept. */
static json_t *driver_object(const char *kind, const char *want, const char *text, const char *what,
                             char *err, size_t n)
{
	if (strcmp(kind, want) != 0) {
		snprintf(err, n, "the policy's %s is \"%s\", not \"%s\"", what, kind, want);
		return NULL;
	}
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!o)
		snprintf(err, n, "the policy's %s object does not parse: %s", what, je.text);
	return o;
}

int policy_prometheus_config(const struct sr_policy *p, struct sr_prom_config *c, char *err,
                             size_t n)
{
	json_t *o = driver_object(p->source_kind, "prometheus", p->source_json, "source", err, n);
	if (!o)
		return -1;
	int r = prometheus_config_from_json(c, o, err, n);
	json_decref(o);
	return r;
}

int policy_haproxy_config(const struct sr_policy *p, struct sr_haproxy_config *c, char *err,
                          size_t n)
{
	json_t *o = driver_object(p->edge_kind, "haproxy", p->edge_json, "edge", err, n);
	if (!o)
		return -1;
	int r = haproxy_config_from_json(c, o, err, n);
	json_decref(o);
	return r;
}

int policy_http_edge_config(const struct sr_policy *p, struct sr_http_edge_config *c, char *err,
                            size_t n)
{
	json_t *o = driver_object(p->edge_kind, "http", p->edge_json, "edge", err, n);
	if (!o)
		return -1;
	int r = http_edge_config_from_json(c, o, err, n);
	json_decref(o);
	return r;
}

int policy_etcd_config(const struct sr_policy *p, struct sr_etcd_config *c, char *err, size_t n)
{
	json_t *o = driver_object(p->store_kind, "etcd", p->store_json, "store", err, n);
	if (!o)
		return -1;
	int r = etcd_config_from_json(c, o, err, n);
	json_decref(o);
	/* The default prefix: one rollout's keys, apart from any other's. */
	if (r == 0 && !c->prefix[0])
		snprintf(c->prefix, sizeof c->prefix, "/shiproom/%s", p->rollout);
	return r;
}

/* ---- entry points -------------------------------------------------------------- */

static int load_all(struct pl *L)
{
	struct sr_policy *p = L->p;
	if (load_header(L) < 0 || load_evaluation(L) < 0 ||
	    load_kind(L, "source", JR_REQUIRED, source_kinds, p->source_kind, sizeof p->source_kind,
	              p->source_json, sizeof p->source_json) < 0 ||
	    load_kind(L, "edge", JR_REQUIRED, edge_kinds, p->edge_kind, sizeof p->edge_kind,
	              p->edge_json, sizeof p->edge_json) < 0 ||
	    load_kind(L, "store", JR_OPTIONAL, store_kinds, p->store_kind, sizeof p->store_kind,
	              p->store_json, sizeof p->store_json) < 0 ||
	    load_journeys(L) < 0 || load_groups(L) < 0 || load_phases(L) < 0 ||
	    load_calendar(L) < 0 || load_kpis(L) < 0 || drivers_check(L) < 0 || load_gates(L) < 0 ||
	    load_triggers(L) < 0 || load_roster(L) < 0 || load_service(L) < 0 ||
	    check_approvers(L) < 0 || load_rights(L) < 0 || load_checklists(L) < 0 ||
	    load_success(L) < 0 || load_after(L) < 0)
		return -1;
	return 0;
}

int policy_load_buffer(struct sr_policy *p, const char *buf, size_t len, const char *name,
                       struct sr_policy_error *err)
{
	struct pl L;
	sr_zero_sparse(p, sizeof *p); /* most of it is capacity (common.h) */
	sr_strlcpy(p->path, name ? name : "", sizeof p->path);
	p->hash = jr_fnv1a(buf, len);
	if (jr_open(&L.d, buf, len, p->path, err) < 0)
		return -1;
	L.p = p;
	jr_root(&L.d, &L.root);
	int r = load_all(&L);
	jr_close(&L.d);
	return r < 0 || L.d.failed ? -1 : 0;
}

int policy_load_file(struct sr_policy *p, const char *path, struct sr_policy_error *err)
{
	char *buf;
	size_t len;
	if (jr_read_file(path, &buf, &len, err) < 0) {
		sr_zero_sparse(p, sizeof *p);
		return -1;
	}
	int r = policy_load_buffer(p, buf, len, path, err);
	free(buf);
	return r;
}

void policy_error_format(const struct sr_policy_error *e, char *buf, size_t n)
{
	char where[64] = "";
	if (n == 0)
		return;
	if (e->line > 0)
		snprintf(where, sizeof where, "%d:%d", e->line, e->column > 0 ? e->column : 1);
	const char *parts[4] = {e->file, where, e->key, e->msg};
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < 4; i++) {
		if (!parts[i][0])
			continue;
		/* file:line:column are joined by ':', the rest by ": ". */
		const char *sep = o == 0 ? "" : (i == 1 ? ":" : ": ");
		int w = snprintf(buf + o, n - o, "%s%s", sep, parts[i]);
		if (w < 0 || (size_t)w >= n - o)
			return; /* snprintf already terminated the cut */
		o += (size_t)w;
	}
}
