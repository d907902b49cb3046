/* test_policy.c - the policy loader and its look-ups.
 *
 * Two halves: the shipped config/shiproom.json must encode the directive
 * exactly (phases, limits, triggers, gates, calendar, checklists, success
 * criteria), and every class of broken input must be refused with the
 * right file:line:column, key and message.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shiproom/jread.h"
#include "shiproom/etcd.h"
#include "shiproom/policy.h"

#define SHIPPED SR_DATADIR "/config/shiproom.json"
#define FIXTURE(name) SR_DATADIR "/tests/policies/" name

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct sr_policy));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct sr_policy *load_ok(void **state, const char *path)
{
	struct sr_policy *p = *state;
	struct sr_policy_error err;
	char msg[1024];
	int r = policy_load_file(p, path, &err);
	if (r != 0) {
		policy_error_format(&err, msg, sizeof msg);
		print_error("unexpected error: %s\n", msg);
	}
	assert_int_equal(r, 0);
	return p;
}

static int kpi(const struct sr_policy *p, const char *id)
{
	int i = policy_kpi_index(p, id);
	if (i < 0)
		print_error("no KPI %s\n", id);
	assert_true(i >= 0);
	return i;
}

static const struct sr_trigger *trigger(const struct sr_policy *p, const char *id)
{
	for (int i = 0; i < p->ntriggers; i++) {
		if (strcmp(p->triggers[i].id, id) == 0)
			return &p->triggers[i];
	}
	fail_msg("no trigger %s", id);
	return NULL;
}

static const struct sr_right *promote_right(const struct sr_policy *p, int from, int to)
{
	for (int i = 0; i < p->nrights; i++) {
		const struct sr_right *r = &p->rights[i];
		if (r->action == SR_ACT_PROMOTE && r->from_weight == from && r->to_weight == to)
			return r;
	}
	fail_msg("no promote right %d -> %d", from, to);
	return NULL;
}

/* Loading writes only the pages it must (sr_zero_sparse), yet a policy
 * loaded over memory full of an old one equals one loaded into zeros, and
 * a sparse copy into zeroed memory equals the original byte for byte. */
static void test_load_over_old_memory_and_sparse_copy(void **state)
{
	struct sr_policy *fresh = load_ok(state, SHIPPED);
	struct sr_policy *dirty = malloc(sizeof *dirty);
	struct sr_policy *copy = calloc(1, sizeof *copy);
	assert_non_null(dirty);
	assert_non_null(copy);
	memset(dirty, 0xA5, sizeof *dirty);
	struct sr_policy_error err;
	assert_int_equal(policy_load_file(dirty, SHIPPED, &err), 0);
	assert_memory_equal(fresh, dirty, sizeof *fresh);
	/* a failed load leaves zeros too, not the old bytes */
	memset(dirty, 0xA5, sizeof *dirty);
	assert_int_equal(policy_load_file(dirty, FIXTURE("no-such-file.json"), &err), -1);
	struct sr_policy *zeros = calloc(1, sizeof *zeros);
	assert_non_null(zeros);
	assert_memory_equal(dirty, zeros, sizeof *zeros);
	sr_copy_sparse(copy, fresh, sizeof *copy);
	assert_memory_equal(fresh, copy, sizeof *fresh);
	/* and at an odd offset and length, across page edges */
	unsigned char src[3 * 4096 + 77], dst[sizeof src];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = i % 4096 < 2000 ? 0 : (unsigned char)(i * 7 + 1);
	memset(dst, 0, sizeof dst);
	sr_copy_sparse(dst + 3, src + 5, sizeof src - 9);
	assert_memory_equal(dst + 3, src + 5, sizeof src - 9);
	memset(dst, 0x5A, sizeof dst);
	sr_zero_sparse(dst + 1, sizeof dst - 2);
	assert_int_equal(dst[0], 0x5A);
	assert_int_equal(dst[sizeof dst - 1], 0x5A);
	for (size_t i = 1; i + 1 < sizeof dst; i++)
		assert_int_equal(dst[i], 0);
	free(zeros);
	free(copy);
	free(dirty);
}

/* ---- the shipped policy is the directive ---------------------------------- */

static void test_shipped_header(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	assert_string_equal(p->rollout, "scholarship-canary");
	assert_string_equal(p->path, SHIPPED);
	assert_int_equal(p->poll_ms, 15000);
	assert_int_equal(p->stale_after_ms, 45000);
	assert_int_equal(p->clear_after, 2);
	assert_false(p->auto_rollback);
	assert_int_equal(p->fast_poll_ms, 2000); /* the default fast rate */
	assert_true(p->fast_margin_pct == 12.5);
	assert_string_equal(p->source_kind, "sim");
	assert_string_equal(p->edge_kind, "sim");

	/* The hash is FNV-1a 64 of the file's bytes. */
	FILE *f = fopen(SHIPPED, "rb");
	assert_non_null(f);
	uint64_t h = 0xcbf29ce484222325ULL;
	int c;
	while ((c = fgetc(f)) != EOF) {
		h ^= (unsigned char)c;
		h *= 0x100000001b3ULL;
	}
	fclose(f);
	assert_true(p->hash == h);
}

static void test_shipped_kpis(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	/* The directive's 22 KPIs, plus P50 latency for display (a monitor:
	 * shown on the tiles and phase cards, never gating). */
	assert_int_equal(p->nkpis, 23);
	int directive = 0;
	for (int i = 0; i < p->nkpis; i++)
		directive += strcmp(p->kpis[i].id, "p50_latency") != 0;
	assert_int_equal(directive, 22);
	assert_int_equal(p->ngroups, 5);
	assert_int_equal(p->njourneys, 6);
	static const char *const groups[] = {"reliability", "payments", "b2c_funnel",
	                                     "b2b_provider", "cost"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(p->groups[i].id, groups[i]);

	const struct sr_kpi *k = &p->kpis[kpi(p, "p95_latency")];
	assert_int_equal(k->kind, SR_KIND_MAX);
	assert_int_equal(k->signal, SR_SIG_LATENCY);
	assert_true(k->quantile == 0.95);
	assert_int_equal(k->njourneys, 5);
	assert_true(k->gating);
	assert_false(k->higher_is_better);
	assert_true(k->min_samples == 50);
	assert_true(fabs(k->warn_margin - 13.0) < 1e-9); /* 10% of 130 */
	assert_string_equal(k->unit, "ms");
	assert_string_equal(k->group, "reliability");

	k = &p->kpis[kpi(p, "p99_latency")];
	assert_int_equal(k->kind, SR_KIND_MONITOR);
	assert_false(k->gating);
	assert_true(isnan(k->limit));
	assert_int_equal(k->njourneys, 6);

	k = &p->kpis[kpi(p, "p50_latency")];
	assert_int_equal(k->kind, SR_KIND_MONITOR);
	assert_int_equal(k->signal, SR_SIG_LATENCY);
	assert_true(k->quantile == 0.5);
	assert_false(k->gating);
	assert_int_equal(k->njourneys, 6);
	assert_true(k->min_samples == 50);
	assert_string_equal(k->group, "reliability");

	k = &p->kpis[kpi(p, "error_rate_5xx")];
	assert_true(k->limit == 0.5);
	assert_int_equal(k->njourneys, 0);
	assert_true(fabs(k->warn_margin - 0.05) < 1e-12);

	k = &p->kpis[kpi(p, "client_js_errors")];
	assert_int_equal(k->kind, SR_KIND_VS_BASELINE);
	assert_int_equal(k->direction, SR_DIR_UP);
	assert_int_equal(k->baseline, SR_BASE_CONTROL);
	assert_true(k->limit == 10);

	k = &p->kpis[kpi(p, "registration_completion")];
	assert_int_equal(k->direction, SR_DIR_BOTH);
	assert_true(k->limit == 3);

	k = &p->kpis[kpi(p, "cache_hit_ratio")];
	assert_int_equal(k->kind, SR_KIND_MIN);
	assert_true(k->higher_is_better);
	assert_true(k->limit == 85);
	assert_true(k->warn_margin == 2);
	assert_int_equal(k->njourneys, 3);
	assert_int_equal(k->journeys[2], policy_journey_index(p, "provider_dashboard"));

	k = &p->kpis[kpi(p, "payment_failure_streak")];
	assert_int_equal(k->kind, SR_KIND_STREAK);
	assert_int_equal(k->signal, SR_SIG_STREAK);
	assert_true(k->limit == 5);

	k = &p->kpis[kpi(p, "ai_markup")];
	assert_int_equal(k->kind, SR_KIND_RATIO_MIN);
	assert_true(k->higher_is_better);
	assert_true(k->limit == 4.0);
	assert_string_equal(k->unit, "x");

	assert_int_equal(p->kpis[kpi(p, "payout_success")].kind, SR_KIND_MIN);
	assert_true(p->kpis[kpi(p, "payout_success")].limit == 99.9);
	assert_true(p->kpis[kpi(p, "payment_success")].limit == 99.5);
	assert_true(p->kpis[kpi(p, "provider_dashboard_p95")].limit == 120);
	assert_true(strstr(p->kpis[0].query, "histogram_quantile") != NULL);
}

static void test_shipped_cells(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	/* p95 x5, p99 x6, cache x3, provider p95 x1, 18 global KPIs, and
	 * the display-only p50 x6 last (so no other cell moves). */
	assert_int_equal(p->ncells, 39);
	assert_int_equal(p->cells[0].kpi, 0);
	assert_int_equal(p->cells[0].journey, policy_journey_index(p, "search"));
	assert_int_equal(p->cells[4].journey, policy_journey_index(p, "payments"));
	assert_int_equal(p->cells[5].kpi, kpi(p, "p99_latency"));
	assert_int_equal(p->cells[10].journey, policy_journey_index(p, "provider_dashboard"));
	assert_int_equal(p->cells[11].kpi, kpi(p, "error_rate_5xx"));
	assert_int_equal(p->cells[11].journey, -1);
	assert_int_equal(policy_cell_index(p, kpi(p, "error_rate_5xx"), -1), 11);
	assert_int_equal(policy_cell_index(p, kpi(p, "error_rate_5xx"), 0), -1);
	assert_int_equal(policy_cell_index(p, 0, policy_journey_index(p, "provider_dashboard")),
	                 -1);
	assert_int_equal(p->cells[32].kpi, kpi(p, "concurrency"));
	assert_int_equal(p->cells[33].kpi, kpi(p, "p50_latency"));
	assert_int_equal(p->cells[38].journey, policy_journey_index(p, "provider_dashboard"));
}

static void test_shipped_phases(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	static const int weight[] = {5, 25, 50, 100}, start[] = {0, 90, 210, 450},
	                 observe[] = {90, 120, 240, 120}, cadence[] = {15, 15, 30, 30};
	assert_int_equal(p->nphases, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p->phases[i].weight, weight[i]);
		assert_int_equal(p->phases[i].start_min, start[i]);
		assert_int_equal(p->phases[i].observe_min, observe[i]);
		assert_int_equal(p->phases[i].cadence_min, cadence[i]);
		assert_int_equal(policy_phase_index(p, weight[i]), i);
	}
	assert_string_equal(p->phases[2].name, "50%");

	/* P95 <= 130 ms at 5-25%, <= 120 ms from 50% to 100%. */
	int k = kpi(p, "p95_latency");
	assert_true(policy_kpi_limit(p, k, -1) == 130);
	assert_true(policy_kpi_limit(p, k, 0) == 130);
	assert_true(policy_kpi_limit(p, k, 1) == 130);
	assert_true(policy_kpi_limit(p, k, 2) == 120);
	assert_true(policy_kpi_limit(p, k, 3) == 120);
	assert_true(isnan(p->kpis[k].phase_limit[0]));
	assert_true(p->kpis[k].phase_limit[2] == 120);
	assert_true(policy_kpi_limit(p, kpi(p, "error_rate_5xx"), 3) == 0.5);
}

static void test_shipped_gates(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	assert_int_equal(p->ngates, 3);
	static const int at[] = {90, 210, 450}, from[] = {5, 25, 50}, to[] = {25, 50, 100};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p->gates[i].at_min, at[i]);
		assert_int_equal(p->gates[i].from_weight, from[i]);
		assert_int_equal(p->gates[i].to_weight, to[i]);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(p->gates[i].approvals_needed, 1);
		assert_string_equal(p->gates[i].approver_role, "gate_approver");
		assert_false(p->gates[i].pre_approved);
		assert_true(isnan(p->gates[i].p95_max));
	}
	const struct sr_gate *g3 = &p->gates[2];
	assert_string_equal(g3->name, "Gate 3");
	assert_true(g3->pre_approved);
	assert_int_equal(g3->approvals_needed, 0);
	assert_true(g3->p95_max == 120);
	assert_string_equal(g3->p95_kpi, "p95_latency");

	/* Decision rights: 5->25 and 25->50 need approvals; 50->100 is
	 * pre-approved; every promote needs GO. */
	assert_true(promote_right(p, 5, 25)->needs_gate_approvals);
	assert_true(promote_right(p, 25, 50)->needs_gate_approvals);
	const struct sr_right *r = promote_right(p, 50, 100);
	assert_true(r->pre_approved);
	assert_false(r->needs_gate_approvals);
	assert_true(r->needs_go);
	assert_int_equal(r->role, SR_ROLE_RELEASE_DRI);
	assert_true(promote_right(p, 0, 5)->needs_go);
	assert_int_equal(p->nrights, 11);
	bool rollback_by_dri = false, tiebreak_by_exec = false;
	for (int i = 0; i < p->nrights; i++) {
		const struct sr_right *q = &p->rights[i];
		rollback_by_dri |= q->action == SR_ACT_ROLLBACK && q->role == SR_ROLE_RELEASE_DRI &&
		                   !q->needs_go && q->from_weight == -1;
		tiebreak_by_exec |= q->action == SR_ACT_TIEBREAK && q->role == SR_ROLE_EXEC;
	}
	assert_true(rollback_by_dri);
	assert_true(tiebreak_by_exec);
	assert_int_equal(p->roster.n[SR_ROLE_RELEASE_DRI], 1);
	assert_string_equal(p->roster.who[SR_ROLE_RELEASE_DRI][0], "dri");
	assert_string_equal(p->roster.who[SR_ROLE_EXEC][0], "ceo");
}

static void test_shipped_triggers(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	assert_int_equal(p->ntriggers, 3);
	const struct sr_trigger *t = trigger(p, "sustained_breach");
	assert_int_equal(t->kind, SR_TRIG_SUSTAINED);
	assert_int_equal(t->for_ms, 300000);

	t = trigger(p, "p95_over_160");
	assert_int_equal(t->kind, SR_TRIG_THRESHOLD);
	assert_true(t->above);
	assert_true(t->threshold == 160);
	assert_int_equal(t->nkpis, 2);
	assert_int_equal(t->kpis[0], kpi(p, "p95_latency"));
	assert_int_equal(t->kpis[1], kpi(p, "provider_dashboard_p95"));

	t = trigger(p, "payment_failures");
	assert_true(t->above);
	assert_true(t->threshold == 5);
	assert_int_equal(t->nkpis, 1);
	assert_int_equal(t->kpis[0], kpi(p, "payment_failure_streak"));
}

static void test_shipped_calendar_checklists_success(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	const struct sr_calendar *c = &p->calendar;
	assert_int_equal(c->utc_offset_min, 0);
	assert_int_equal(c->day_start_min, 9 * 60);
	assert_int_equal(c->end_of_day_min, 18 * 60);
	assert_int_equal(c->reevaluate_min, 9 * 60);
	assert_int_equal(c->overnight_weight, 50);
	assert_int_equal(c->workdays, 0x3e); /* Mon..Fri; bit 0 is Sunday */

	const struct sr_checklist *cl = policy_checklist(p, "preflight");
	assert_non_null(cl);
	assert_int_equal(cl->nitems, 4);
	assert_string_equal(cl->items[0].id, "roster_posted");
	assert_int_equal(cl->items[0].due_min, -120);
	assert_int_equal(cl->items[2].due_min, -60);
	for (int i = 0; i < 4; i++)
		assert_true(cl->items[i].required);
	cl = policy_checklist(p, "watchlist");
	assert_non_null(cl);
	assert_int_equal(cl->nitems, 11);
	assert_false(cl->items[0].required);
	cl = policy_checklist(p, "remediation");
	assert_non_null(cl);
	assert_true(cl->ordered);
	assert_int_equal(cl->nitems, 3);
	assert_string_equal(cl->items[0].id, "cache");
	assert_string_equal(cl->items[1].id, "db");
	assert_string_equal(cl->items[2].id, "app");
	cl = policy_checklist(p, "post_canary");
	assert_non_null(cl);
	assert_int_equal(cl->nitems, 3);
	assert_false(cl->ordered);
	assert_non_null(policy_checklist(p, "rollback_comms"));
	assert_null(policy_checklist(p, "nope"));

	assert_int_equal(p->success_weight, 100);
	assert_int_equal(p->ncriteria, 6);
	const struct sr_criterion *cr = &p->criteria[0];
	assert_string_equal(cr->id, "p95_sustained");
	assert_true(cr->max_value == 120);
	assert_int_equal(cr->sustain_ms, 2 * SR_MS_PER_H);
	assert_int_equal(cr->nkpis, 2);
	assert_int_equal(cr->kpis[1], kpi(p, "provider_dashboard_p95"));
	assert_true(isnan(p->criteria[1].max_value));
	assert_int_equal(p->criteria[1].sustain_ms, 0);
	assert_int_equal(p->criteria[3].nkpis, 6);
	assert_int_equal(p->partial_weight, 50);
	assert_int_equal(p->reattempt_h, 24);
	assert_int_equal(p->postmortem_h, 48);
	assert_true(strstr(p->status_page_rule, "SLO breach") != NULL);
}

/* ---- other valid policies ----------------------------------------------------- */

static void test_minimal_defaults(void **state)
{
	struct sr_policy *p = load_ok(state, FIXTURE("minimal.json"));
	assert_string_equal(p->title, "minimal"); /* title defaults to rollout */
	assert_int_equal(p->poll_ms, 15000);
	assert_int_equal(p->stale_after_ms, 45000); /* 3 polls */
	assert_int_equal(p->clear_after, 2);
	assert_string_equal(p->phases[0].name, "10%");
	assert_int_equal(p->phases[0].cadence_min, 0);
	assert_int_equal(p->gates[0].at_min, 30); /* the start of the phase it opens */
	assert_string_equal(p->gates[0].name, "Gate 1");
	assert_int_equal(p->gates[0].approvals_needed, 1);
	assert_true(p->kpis[0].warn_margin == 20); /* 10% of 200 */
	assert_true(p->kpis[1].gating);
	assert_true(p->kpis[1].min_samples == 0);
	assert_string_equal(p->journeys[0].name, "home");
	assert_int_equal(p->calendar.workdays, 0x3e);
	assert_int_equal(p->calendar.end_of_day_min, 18 * 60);
	assert_int_equal(p->calendar.overnight_weight, 0);
	assert_int_equal(p->success_weight, 100);
	assert_int_equal(p->ncriteria, 0);
	assert_int_equal(p->nchecklists, 0);
	assert_int_equal(p->ncells, 3);
	assert_int_equal(p->cells[1].journey, 1);
}

/* "store": absent, the state dir; "etcd", its config read back typed,
 * with the rollout's own prefix by default. */
static void test_store(void **state)
{
	struct sr_etcd_config c;
	char err[300];
	struct sr_policy *p = load_ok(state, FIXTURE("minimal.json"));
	assert_string_equal(p->store_kind, "dir");
	assert_string_equal(p->store_json, "");
	assert_int_equal(policy_etcd_config(p, &c, err, sizeof err), -1);
	assert_string_equal(err, "the policy's store is \"dir\", not \"etcd\"");
	p = load_ok(state, FIXTURE("store-etcd.json"));
	assert_string_equal(p->store_kind, "etcd");
	assert_int_equal(policy_etcd_config(p, &c, err, sizeof err), 0);
	assert_int_equal(c.nendpoints, 2);
	assert_string_equal(c.endpoints[1], "http://127.0.0.1:22379");
	assert_string_equal(c.prefix, "/shiproom/store-etcd");
	assert_string_equal(c.username, "shiproom");
	assert_string_equal(c.password_file, "/etc/shiproom/etcd.pw");
	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.lease_ttl_s, 10);
}

/* A team's own rollout, written without touching C: 10/50/100. */
static void test_alternative_policy(void **state)
{
	struct sr_policy *p = load_ok(state, FIXTURE("checkout-3phase.json"));
	assert_int_equal(p->nphases, 3);
	assert_int_equal(p->phases[0].weight, 10);
	assert_int_equal(p->phases[1].weight, 50);
	assert_int_equal(p->phases[2].weight, 100);
	assert_string_equal(p->phases[2].name, "full");
	assert_int_equal(p->poll_ms, 30000);
	assert_int_equal(p->stale_after_ms, 90000);
	assert_int_equal(p->clear_after, 3);
	assert_true(p->auto_rollback);
	int k = kpi(p, "p99_latency");
	assert_true(p->kpis[k].quantile == 0.99);
	assert_true(policy_kpi_limit(p, k, 0) == 300);
	assert_true(policy_kpi_limit(p, k, 2) == 280);
	assert_int_equal(p->kpis[kpi(p, "orders")].baseline, SR_BASE_T0);
	assert_int_equal(p->kpis[kpi(p, "http_errors")].kind, SR_KIND_VS_CONTROL);
	assert_true(p->kpis[kpi(p, "apdex")].higher_is_better);
	assert_int_equal(p->gates[0].approvals_needed, 2);
	assert_true(p->gates[1].pre_approved);
	assert_true(p->gates[1].p95_max == 250);
	assert_string_equal(p->gates[1].p95_kpi, "p99_latency");
	const struct sr_trigger *t = trigger(p, "apdex_floor");
	assert_false(t->above);
	assert_true(t->threshold == 0.7);
	assert_int_equal(p->calendar.utc_offset_min, -300);
	assert_int_equal(p->calendar.workdays, 0x1e); /* Mon..Thu */
	assert_int_equal(p->calendar.reevaluate_min, 8 * 60 + 30);
	assert_int_equal(p->calendar.end_of_day_min, 17 * 60);
	assert_string_equal(p->criteria[1].group, "business");
	assert_int_equal(p->criteria[1].nkpis, 0);
	assert_int_equal(p->roster.n[SR_ROLE_GATE_APPROVER], 2);
	assert_int_equal(p->ncells, 1 * 3 + 2 + 1 + 1 + 1 + 1);
}

/* ---- broken files: file:line:column, key and message ----------------------------- */

struct broken {
	const char *file;
	const char *expect; /* the whole formatted error */
};

static const struct broken broken_files[] = {
    {"bad_syntax.json", "bad_syntax.json:5:12: '}' expected near '\"journeys\"'"},
    {"bad_duplicate_key.json", "bad_duplicate_key.json:3:34: duplicate object key near '\"kind\"'"},
    {"bad_unknown_key_top.json",
     "bad_unknown_key_top.json:6:3: /gropus: unknown key \"gropus\" (expected one of: rollout, "
     "title, evaluation, source, edge, calendar, journeys, groups, phases, gates, kpis, "
     "triggers, roster, decision_rights, checklists, success, partial_success, rollback, "
     "status_page, service, store)"},
    {"bad_unknown_key_nested.json",
     "bad_unknown_key_nested.json:15:85: /kpis/1/limits: unknown key \"limits\" (expected one "
     "of: id, name, group, unit, kind, direction, baseline, signal, quantile, limit, "
     "limit_by_phase, warn_margin, min_samples, gating, journeys, note, query, evidence)"},
    {"bad_wrong_type.json",
     "bad_wrong_type.json:9:53: /phases/1/observe_min: expected an integer, got a string"},
    {"bad_missing_unit.json",
     "bad_missing_unit.json:15:5: /kpis/1/unit: missing unit for KPI \"errors\""},
    {"bad_missing_key.json", "bad_missing_key.json:1:1: /roster: missing required key \"roster\""},
    {"bad_negative_limit.json",
     "bad_negative_limit.json:14:33: /kpis/0/limit: negative limit -200 for KPI \"p95\""},
    {"bad_percent.json",
     "bad_percent.json:15:94: /kpis/1/limit: percent limit 150 for KPI \"errors\" is outside "
     "0..100"},
    {"bad_quantile.json",
     "bad_quantile.json:14:18: /kpis/0/quantile: quantile 1.5 is outside (0, 1): write 0.95 "
     "for P95"},
    {"bad_phases.json",
     "bad_phases.json:9:16: /phases/1/weight: phase weights must increase: 5% after 10%"},
    {"bad_gate_phase.json", "bad_gate_phase.json:11:32: /gates/0/to: no phase has weight 50"},
    {"bad_trigger_kpi.json", "bad_trigger_kpi.json:17:68: /triggers/0/kpis/1: unknown KPI \"p99\""},
    {"bad_duplicate_kpi.json",
     "bad_duplicate_kpi.json:15:12: /kpis/1/id: duplicate KPI id \"p95\" (first at /kpis/0)"},
    {"bad_too_many_kpis.json",
     "bad_too_many_kpis.json:12:11: /kpis: too many kpis (65, at most 64)"},
    {"bad_source_kind.json",
     "bad_source_kind.json:3:22: /source/kind: unknown kind \"graphite\" (expected one of: "
     "sim, prometheus)"},
    {"bad_store_kind.json",
     "bad_store_kind.json:5:21: /store/kind: unknown kind \"consul\" (expected one of: dir, etcd)"},
    {"bad_store_dir_keys.json",
     "bad_store_dir_keys.json:5:28: /store/endpoints: unknown key \"endpoints\" (expected one of: "
     "kind)"},
    {"bad_store_endpoint.json",
     "bad_store_endpoint.json:7:42: /store/endpoints/1: must be http://host:port or "
     "https://host:port, without a path or credentials"},
    {"bad_store_unknown_key.json",
     "bad_store_unknown_key.json:5:69: /store/pasword_file: unknown key (known: kind, endpoints, "
     "prefix, ca_file, cert_file, key_file, username, password_file, timeout_ms, lease_ttl_s)"},
    {"bad_store_lease.json",
     "bad_store_lease.json:6:28: /store/lease_ttl_s: must be an integer from 2 to 60"},
    {"bad_store_no_endpoints.json",
     "bad_store_no_endpoints.json:5:12: /store/endpoints: required for the etcd store (e.g. "
     "[\"https://etcd-1:2379\", \"https://etcd-2:2379\"])"},
};

static void test_broken_fixtures(void **state)
{
	struct sr_policy *p = *state;
	for (size_t i = 0; i < sizeof broken_files / sizeof broken_files[0]; i++) {
		const struct broken *b = &broken_files[i];
		char path[600], msg[1024], want[1024];
		struct sr_policy_error err;
		snprintf(path, sizeof path, "%s/tests/policies/%s", SR_DATADIR, b->file);
		assert_int_equal(policy_load_file(p, path, &err), -1);
		assert_string_equal(err.file, path);
		policy_error_format(&err, msg, sizeof msg);
		snprintf(want, sizeof want, "%s/tests/policies/%s", SR_DATADIR, b->expect);
		assert_string_equal(msg, want);
	}
}

static void test_missing_file(void **state)
{
	struct sr_policy_error err;
	char msg[1024];
	assert_int_equal(policy_load_file(*state, "/nonexistent/x.json", &err), -1);
	assert_int_equal(err.line, 0);
	policy_error_format(&err, msg, sizeof msg);
	assert_string_equal(msg, "/nonexistent/x.json: cannot open: No such file or directory");
}

static void test_error_format(void **state)
{
	(void)state;
	struct sr_policy_error e = {
	    .file = "a.json", .line = 3, .column = 7, .key = "/kpis/0", .msg = "bad"};
	char buf[256];
	policy_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "a.json:3:7: /kpis/0: bad");
	e.key[0] = '\0';
	policy_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "a.json:3:7: bad");
	e.line = 0;
	policy_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "a.json: bad");
	e.file[0] = '\0';
	policy_error_format(&e, buf, sizeof buf);
	assert_string_equal(buf, "bad");
	policy_error_format(
	    &(struct sr_policy_error){.file = "f", .line = 2, .column = 1, .key = "/x", .msg = "m"},
	    buf, 8);
	assert_string_equal(buf, "f:2:1: ");
}

/* ---- the shipped policy with one thing changed ----------------------------------- */

/* The shipped policy's text, read once. */
static const char *shipped_text(size_t *len)
{
	static char *text;
	static size_t text_len;
	if (!text) {
		struct sr_policy_error err;
		if (jr_read_file(SHIPPED, &text, &text_len, &err) < 0)
			fail_msg("cannot read %s: %s", SHIPPED, err.msg);
	}
	*len = text_len;
	return text;
}

/* Replace the first `from` in the shipped policy by `to`, load it, and
 * return the error (which must exist). */
static void mutate(void **state, const char *from, const char *to, const char *key,
                   const char *msg_part)
{
	size_t len;
	const char *text = shipped_text(&len);
	const char *at = strstr(text, from);
	if (!at)
		fail_msg("fixture text not found: %s", from);
	size_t flen = strlen(from), tlen = strlen(to);
	char *out = malloc(len - flen + tlen + 1);
	assert_non_null(out);
	size_t pre = (size_t)(at - text);
	memcpy(out, text, pre);
	memcpy(out + pre, to, tlen);
	memcpy(out + pre + tlen, at + flen, len - pre - flen + 1);
	struct sr_policy_error err;
	int r = policy_load_buffer(*state, out, len - flen + tlen, "mut.json", &err);
	if (r == 0)
		fail_msg("mutation accepted: %s -> %s", from, to);
	char full[1024];
	policy_error_format(&err, full, sizeof full);
	if (strcmp(err.key, key) != 0 || !strstr(err.msg, msg_part))
		fail_msg("mutation %s -> %s: got \"%s\"", from, to, full);
	assert_true(err.line > 0);
	assert_true(err.column > 0);
	free(out);
}

static void test_impossible_values(void **state)
{
	mutate(state, "\"poll_s\": 15,", "\"poll_s\": 0,", "/evaluation/poll_s",
	       "must be between 1 and 3600");
	/* the service's socket: never world-writable, always absolute */
	mutate(state, "\"status_page\":", "\"service\": {\"mode\": \"0666\"}, \"status_page\":",
	       "/service/mode", "others cannot write");
	mutate(state, "\"status_page\":", "\"service\": {\"mode\": \"rw\"}, \"status_page\":",
	       "/service/mode", "is not an octal mode");
	mutate(state, "\"status_page\":",
	       "\"service\": {\"socket\": \"run/x.sock\"}, \"status_page\":", "/service/socket",
	       "must be an absolute path");
	mutate(state, "\"status_page\":",
	       "\"service\": {\"observers\": [\"a\"], \"observer\": 1}, \"status_page\":",
	       "/service/observer", "unknown key \"observer\"");
	mutate(state, "\"stale_after_s\": 45", "\"stale_after_s\": 10", "/evaluation/stale_after_s",
	       "must be between 15 and");
	mutate(state, "\"poll_s\": 15", "\"poll_s\": 15.5", "/evaluation/poll_s",
	       "expected an integer, got a number");
	/* the fast rate: below poll_s, bounded; its margin a percentage */
	mutate(state, "\"clear_after\": 2,", "\"clear_after\": 2, \"fast_poll_s\": 15,",
	       "/evaluation/fast_poll_s", "must be 0 (off) or from 0.1 to less than poll_s (15)");
	mutate(state, "\"clear_after\": 2,", "\"clear_after\": 2, \"fast_poll_s\": 0.05,",
	       "/evaluation/fast_poll_s", "must be 0 (off) or from 0.1");
	mutate(state, "\"clear_after\": 2,", "\"clear_after\": 2, \"fast_poll_s\": \"2s\",",
	       "/evaluation/fast_poll_s", "expected a number");
	mutate(state, "\"clear_after\": 2,", "\"clear_after\": 2, \"fast_margin_pct\": 150,",
	       "/evaluation/fast_margin_pct", "must be between 0 and 100");
	mutate(state, "\"clear_after\": 2,", "\"clear_after\": 2, \"fast_pol_s\": 2,",
	       "/evaluation/fast_pol_s", "unknown key");
	mutate(state, "\"kind\": \"max\"", "\"kind\": \"maximum\"", "/kpis/0/kind",
	       "unknown kind \"maximum\" (expected one of: max, min, vs_control");
	mutate(state, "\"quantile\": 0.95", "\"quantile\": 0", "/kpis/0/quantile",
	       "outside (0, 1)");
	mutate(state, "\"limit\": 130,", "\"limit\": 130, \"warn_margin\": 130,",
	       "/kpis/0/warn_margin", "must be smaller than the limit 130");
	mutate(state, "\"warn_margin\": 2,", "\"warn_margin\": -2,", "/kpis/5/warn_margin",
	       "must be at least 0");
	mutate(state, "\"50%\": 120,", "\"60%\": 120,", "/kpis/0/limit_by_phase/60%",
	       "unknown phase \"60%\" (phases: 5%, 25%, 50%, 100%)");
	mutate(state, "\"100%\": 120", "\"100%\": -1", "/kpis/0/limit_by_phase/100%",
	       "negative limit");
	mutate(state, "\"kind\": \"monitor\",", "\"kind\": \"monitor\", \"gating\": true,",
	       "/kpis/1/gating", "never gating");
	mutate(state, "\"direction\": \"up\",\n      \"signal\": \"ratio\",\n      \"limit\": 10",
	       "\"direction\": \"up\",\n      \"signal\": \"ratio\",\n      \"limit\": 0",
	       "/kpis/3/limit", "tolerance for KPI \"client_js_errors\" must be greater than 0%");
	mutate(state, "\"limit\": 0.5,", "\"limit\": 0.5, \"direction\": \"up\",",
	       "/kpis/2/direction", "applies only to vs_control and vs_baseline");
	mutate(state, "\"limit\": 0.5,", "\"limit\": 0.5, \"quantile\": 0.5,", "/kpis/2/quantile",
	       "applies only to latency");
	mutate(state, "\"quantile\": 0.99,", "", "/kpis/1/quantile", "missing quantile");
	mutate(state, "\"limit\": 0.5,", "", "/kpis/2/limit",
	       "missing limit for KPI \"error_rate_5xx\"");
	mutate(state, "\"unit\": \"ms\"", "\"unit\": \"\"", "/kpis/0/unit", "empty unit");
	mutate(state, "\"group\": \"reliability\"", "\"group\": \"reliabilty\"", "/kpis/0/group",
	       "unknown group \"reliabilty\" (groups: reliability, payments");
	mutate(state, "\"journeys\": [\n        \"search\",", "\"journeys\": [\n        \"serch\",",
	       "/kpis/0/journeys/0", "unknown journey \"serch\"");
	mutate(state, "\"limit\": 5,\n      \"warn_margin\": 2,",
	       "\"limit\": 5.5,\n      \"warn_margin\": 2,", "/kpis/8/limit", "not a whole number");
	mutate(state, "\"signal\": \"streak\"", "\"signal\": \"gauge\"", "/kpis/8/signal",
	       "go together");
	mutate(state, "\"id\": \"p99_latency\"", "\"id\": \"p99 latency\"", "/kpis/1/id",
	       "invalid id \"p99 latency\"");
}

static void test_bad_references(void **state)
{
	mutate(state, "\"above\": 160", "\"above\": 160, \"below\": 1", "/triggers/1/below",
	       "either \"above\" or \"below\", not both");
	mutate(state, "],\n      \"above\": 160", "]", "/triggers/1/above",
	       "missing \"above\" or \"below\" for threshold trigger \"p95_over_160\"");
	mutate(state, "\"for_s\": 300", "\"for_s\": 300, \"above\": 3", "/triggers/0/above",
	       "applies only to threshold triggers");
	mutate(state, "\"for_s\": 300", "\"for_s\": 0", "/triggers/0/for_s", "must be between 1");
	mutate(state, "\"kind\": \"sustained\"", "\"kind\": \"sustain\"", "/triggers/0/kind",
	       "unknown kind \"sustain\" (expected one of: sustained, threshold)");
	mutate(state, "\"from\": 25,\n      \"to\": 50,\n      \"approvals\"",
	       "\"from\": 25,\n      \"to\": 100,\n      \"approvals\"", "/gates/1/to",
	       "after 25% comes 50%, not 100%");
	mutate(state, "\"count\": 1", "\"count\": 2", "/gates/0/approvals/role",
	       "Gate 1 needs 2 approvals from gate_approver but the roster lists 1");
	mutate(state, "\"pre_approved\": true,\n      \"p95_max\"",
	       "\"pre_approved\": true, \"approvals\": {\"role\": \"exec\"},\n      \"p95_max\"",
	       "/gates/2/pre_approved", "needs no approvals");
	mutate(state, "\"kpi\": \"p95_latency\",", "\"kpi\": \"p95\",", "/gates/2/p95_max/kpi",
	       "unknown KPI \"p95\"");
	mutate(state, "\"role\": \"gate_approver\"", "\"role\": \"approver\"",
	       "/gates/0/approvals/role",
	       "unknown role \"approver\" (expected one of: release_dri");
	mutate(state, "\"needs_go\": true,\n      \"condition\": \"Pre-approved",
	       "\"needs_go\": false,\n      \"condition\": \"Pre-approved",
	       "/decision_rights/3/needs_go", "schedule never overrides SLOs");
	mutate(state, "\"action\": \"hold\",", "\"action\": \"hold\", \"to\": 5,",
	       "/decision_rights/4/to", "applies only to promote");
	mutate(state, "\"action\": \"rollback\",", "\"action\": \"tiebreak\",", "/decision_rights",
	       "no decision right allows rollback");
	mutate(state, "\"action\": \"promote\",\n      \"from\": 0,",
	       "\"action\": \"hold\",\n      \"from\": 0,", "/decision_rights/0/from",
	       "applies only to promote");
	mutate(state, "\"release_dri\": [\n      \"dri\"\n    ]", "\"release_dri\": []",
	       "/roster/release_dri", "at least one release_dri");
	mutate(state, "\"observer\": [", "\"observers\": [", "/roster/observers",
	       "unknown key \"observers\" (expected one of: release_dri, gate_approver, exec, "
	       "observer)");
	mutate(state, "\"fri\"", "\"friday\"", "/calendar/workdays/4",
	       "unknown day \"friday\" (expected one of: sun, mon");
	mutate(state, "\"fri\"", "\"mon\"", "/calendar/workdays/4", "listed twice");
	mutate(state, "\"end_of_day\": \"18:00\"", "\"end_of_day\": \"6pm\"",
	       "/calendar/end_of_day", "expected a local time \"HH:MM\"");
	mutate(state, "\"utc_offset\": \"+00:00\"", "\"utc_offset\": \"+15:00\"",
	       "/calendar/utc_offset", "within 14 hours");
	mutate(state, "\"weight\": 50,\n      \"reevaluate_at\"",
	       "\"weight\": 40,\n      \"reevaluate_at\"", "/calendar/overnight_hold/weight",
	       "no phase has weight 40");
	mutate(state, "\"id\": \"cache\",", "\"id\": \"db\",", "/checklists/2/items/1/id",
	       "duplicate item id \"db\"");
	mutate(state, "\"at_weight\": 100", "\"at_weight\": 90", "/success/at_weight",
	       "no phase has weight 90");
	mutate(state, "\"sustain_min\": 120", "\"sustain_min\": 120, \"group\": \"cost\"",
	       "/success/criteria/0/group", "not both");
	mutate(state, "\"hold_weight\": 50", "\"hold_weight\": 45", "/partial_success/hold_weight",
	       "no phase has weight 45");
	mutate(state, "\"postmortem_within_h\": 48", "\"postmortem_within_h\": \"48h\"",
	       "/rollback/postmortem_within_h", "expected an integer, got a string");
	mutate(state, "\"start_min\": 90,", "\"start_min\": 60,", "/phases/1/start_min",
	       "before the 90 min window of \"5%\" ends (T+90)");
	mutate(state, "\"observe_min\": 90,", "\"observe_min\": 0,", "/phases/0/observe_min",
	       "must be between 1");
	mutate(state, "\"edge\": {\n    \"kind\": \"sim\"", "\"edge\": {\n    \"kind\": \"nginx\"",
	       "/edge/kind", "unknown kind \"nginx\" (expected one of: sim, haproxy, http)");
	mutate(state, "\"id\": \"payments\",\n      \"name\": \"Payments\",\n      \"read_heavy\"",
	       "\"id\": \"search\",\n      \"name\": \"Payments\",\n      \"read_heavy\"",
	       "/journeys/4/id", "duplicate journey id \"search\"");
}

/* ---- small in-memory documents ------------------------------------------------------ */

static void load_text(void **state, const char *text, struct sr_policy_error *err)
{
	assert_int_equal(policy_load_buffer(*state, text, strlen(text), "mem", err), -1);
}

static void test_buffers(void **state)
{
	struct sr_policy_error err;
	load_text(state, "", &err);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 1);

	load_text(state, "[1, 2]", &err);
	assert_string_equal(err.msg, "expected a JSON object at the top level");

	load_text(state, "{\"rollout\": 1e999}", &err);
	assert_true(strstr(err.msg, "real number overflow") != NULL);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 17); /* the token's last byte */

	/* A key with '/' and '~' is escaped in the pointer, and positions
	 * find it. */
	load_text(state, "{\n \"rollout\": \"x\",\n \"a/b~c\": 1}", &err);
	assert_string_equal(err.key, "/a~1b~0c");
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 2);

	/* Control characters from the file never reach a message raw. */
	load_text(state, "{\"rollout\": \"x\", \"\\u001b[2J\": 1}", &err);
	assert_null(strchr(err.msg, '\x1b'));
	assert_null(strchr(err.key, '\x1b'));
	assert_true(strstr(err.msg, "?[2J") != NULL);

	/* Columns count bytes, also in jansson's syntax errors. */
	load_text(state, "{\"\xc3\xa9\": tru}", &err);
	assert_int_equal(err.column, 10);

	/* Over-long strings are refused, not cut. */
	char big[400];
	snprintf(big, sizeof big, "{\"rollout\": \"x\", \"title\": \"%0200d\"}", 0);
	load_text(state, big, &err);
	assert_string_equal(err.key, "/title");
	assert_true(strstr(err.msg, "too long (200 bytes, at most 95)") != NULL);
}

static void test_lookups(void **state)
{
	struct sr_policy *p = load_ok(state, SHIPPED);
	assert_int_equal(policy_kpi_index(p, "nope"), -1);
	assert_int_equal(policy_kpi_index(p, "concurrency"), 21);
	assert_int_equal(policy_journey_index(p, "payments"), 4);
	assert_int_equal(policy_journey_index(p, "nope"), -1);
	assert_int_equal(policy_phase_index(p, 30), -1);
	assert_int_equal(policy_phase_index(p, 0), -1);
	assert_true(isnan(policy_kpi_limit(p, -1, 0)));
	assert_true(isnan(policy_kpi_limit(p, p->nkpis, 0)));
	assert_true(policy_kpi_limit(p, 0, 99) == 130); /* outside the phases: the base limit */
	assert_string_equal(sr_role_name(SR_ROLE_GATE_APPROVER), "gate_approver");
	assert_string_equal(sr_role_name(SR_ROLE_COUNT), "?");
	assert_string_equal(sr_action_name(SR_ACT_DECLARE_SUCCESS), "declare_success");
	assert_string_equal(sr_action_name(SR_ACT_PROMOTE), "promote");
	assert_string_equal(sr_action_name(SR_ACT_COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_shipped_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_over_old_memory_and_sparse_copy, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_kpis, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_cells, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_phases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_gates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_triggers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_calendar_checklists_success, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_minimal_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alternative_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_fixtures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test_setup_teardown(test_impossible_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_references, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
