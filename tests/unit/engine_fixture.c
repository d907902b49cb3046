/* engine_fixture.c - the engine tests' shared fixture: the shipped policy,
 * a snapshot built cell by cell, and a fake clock. See engine_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"

#ifndef SR_DATADIR
#define SR_DATADIR "."
#endif

const struct sr_policy *fx_shipped_policy(void)
{
	static struct sr_policy *shipped;
	if (!shipped) {
		struct sr_policy_error err;
		shipped = calloc(1, sizeof *shipped);
		assert_non_null(shipped);
		if (policy_load_file(shipped, SR_DATADIR "/config/shiproom.json", &err) != 0) {
			char msg[1024];
			policy_error_format(&err, msg, sizeof msg);
			print_error("cannot load the shipped policy: %s\n", msg);
			fail();
		}
	}
	return shipped;
}

struct fx *fx_new(sr_ms t0)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->p = malloc(sizeof *f->p);
	f->e = malloc(sizeof *f->e);
	f->s = malloc(sizeof *f->s);
	assert_non_null(f->p);
	assert_non_null(f->e);
	assert_non_null(f->s);
	memcpy(f->p, fx_shipped_policy(), sizeof *f->p);
	f->now = t0;
	snapshot_clear(f->s, f->p->ncells);
	fx_reinit(f, t0);
	fx_healthy(f);
	return f;
}

void fx_reinit(struct fx *f, sr_ms t0)
{
	engine_init(f->e, f->p, t0);
	f->s->ncells = f->p->ncells;
}

void fx_free(struct fx *f)
{
	if (!f)
		return;
	free(f->p);
	free(f->e);
	free(f->s);
	free(f);
}

int fx_kpi(const struct fx *f, const char *kpi)
{
	int k = policy_kpi_index(f->p, kpi);
	if (k < 0) {
		print_error("no KPI %s in the policy\n", kpi);
		fail();
	}
	return k;
}

int fx_cell(const struct fx *f, const char *kpi, const char *journey)
{
	int k = fx_kpi(f, kpi);
	int j = journey ? policy_journey_index(f->p, journey) : -1;
	int c = policy_cell_index(f->p, k, j);
	if (c < 0) {
		print_error("no cell %s/%s in the policy\n", kpi, journey ? journey : "-");
		fail();
	}
	return c;
}

static void obs_set(struct sr_obs *o, double v, sr_ms at)
{
	memset(o, 0, sizeof *o);
	o->kind = SR_OBS_OK;
	o->value = v;
	o->samples = 1000;
	o->at = at;
}

void fx_set_cell(struct fx *f, int cell, double canary, double control)
{
	obs_set(&f->s->canary[cell], canary, f->now);
	obs_set(&f->s->control[cell], control, f->now);
}

void fx_set(struct fx *f, const char *kpi, const char *journey, double canary, double control)
{
	fx_set_cell(f, fx_cell(f, kpi, journey), canary, control);
}

/* A value comfortably inside the KPI's target in every phase. */
static double healthy_value(const struct sr_policy *p, int kpi)
{
	const struct sr_kpi *k = &p->kpis[kpi];
	double lim = k->limit;
	switch (k->kind) {
	case SR_KIND_MAX:
		for (int ph = 0; ph < p->nphases; ph++)
			if (policy_kpi_limit(p, kpi, ph) < lim)
				lim = policy_kpi_limit(p, kpi, ph);
		return lim * 0.5;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN: return lim + 2 * k->warn_margin;
	case SR_KIND_STREAK: return 0;
	case SR_KIND_MONITOR: return 100;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE: return 10;
	}
	return 0;
}

void fx_healthy(struct fx *f)
{
	for (int i = 0; i < f->p->ncells; i++) {
		double v = healthy_value(f->p, f->p->cells[i].kpi);
		fx_set_cell(f, i, v, v);
		f->frozen[i] = false;
	}
}

void fx_eval(struct fx *f)
{
	for (int i = 0; i < f->p->ncells; i++) {
		if (f->frozen[i])
			continue;
		struct sr_obs *o[2] = {&f->s->canary[i], &f->s->control[i]};
		for (int j = 0; j < 2; j++)
			if (o[j]->kind == SR_OBS_OK || o[j]->kind == SR_OBS_NOSERIES)
				o[j]->at = f->now;
	}
	engine_evaluate(f->e, f->s, f->now);
}

void fx_step(struct fx *f, sr_ms dt)
{
	f->now += dt;
	fx_eval(f);
}

void fx_run(struct fx *f, sr_ms duration, sr_ms poll)
{
	sr_ms end = f->now + duration;
	while (f->now < end) {
		sr_ms dt = end - f->now < poll ? end - f->now : poll;
		fx_step(f, dt);
	}
}

void fx_preflight_done(struct fx *f)
{
	const struct sr_checklist *cl = policy_checklist(f->p, "preflight");
	assert_non_null(cl);
	for (int i = 0; i < cl->nitems; i++) {
		int ci = (int)(cl - f->p->checklists);
		if (!cl->items[i].required || f->e->ro.ticks[ci][i].done)
			continue;
		char why[SR_REASON_LEN];
		assert_int_equal(rollout_tick(&f->e->ro, f->p, "preflight", cl->items[i].id, "dri",
		                              f->now, why, sizeof why),
		                 0);
	}
}

void fx_enter(struct fx *f, int weight)
{
	fx_promote(f, weight);
	fx_eval(f);
}

void fx_promote(struct fx *f, int weight)
{
	fx_preflight_done(f);
	char why[SR_REASON_LEN];
	while (f->e->ro.phase < 0 || f->p->phases[f->e->ro.phase].weight < weight) {
		int next = f->p->phases[f->e->ro.phase + 1].weight;
		if (rollout_promote(&f->e->ro, f->p, next, f->now, why, sizeof why) != 0) {
			print_error("promote to %d: %s\n", next, why);
			fail();
		}
	}
	assert_int_equal(f->p->phases[f->e->ro.phase].weight, weight);
}

void fx_approve(struct fx *f, const char *who)
{
	char why[SR_REASON_LEN];
	if (rollout_approve(&f->e->ro, f->p, -1, who, f->now, why, sizeof why) != 0) {
		print_error("approve by %s: %s\n", who, why);
		fail();
	}
}

enum sr_status fx_status(const struct fx *f, const char *kpi, const char *journey)
{
	return f->e->cells[fx_cell(f, kpi, journey)].status;
}

const char *fx_reason(const struct fx *f, const char *kpi, const char *journey)
{
	return engine_cell_reason(f->e, fx_cell(f, kpi, journey));
}

bool fx_decision_has(const struct fx *f, const char *needle)
{
	for (int i = 0; i < f->e->decision.nreasons; i++)
		if (strstr(f->e->decision.reasons[i], needle))
			return true;
	return false;
}

const char *fx_decision_text(const struct fx *f)
{
	static char buf[SR_REASON_LEN * SR_MAX_REASONS + 64];
	size_t o = (size_t)snprintf(buf, sizeof buf,
	                            "%s:", sr_verdict_name(f->e->decision.verdict));
	for (int i = 0; i < f->e->decision.nreasons && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, " | %s", f->e->decision.reasons[i]);
	return buf;
}

const struct sr_trigger_state *fx_trigger(const struct fx *f, const char *id)
{
	for (int t = 0; t < f->p->ntriggers; t++)
		if (strcmp(f->p->triggers[t].id, id) == 0)
			return &f->e->triggers[t];
	print_error("no trigger %s in the policy\n", id);
	fail();
	return NULL;
}

int fx_drain_count(struct fx *f, enum sr_event_kind kind, int index)
{
	static struct sr_event ev[SR_MAX_EVENTS];
	int n = engine_drain_events(f->e, ev, SR_MAX_EVENTS), c = 0;
	for (int i = 0; i < n; i++)
		if (ev[i].kind == kind && (index < 0 || ev[i].index == index))
			c++;
	return c;
}

bool fx_utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		int len = *u < 0x80             ? 1
		          : (*u & 0xE0) == 0xC0 ? 2
		          : (*u & 0xF0) == 0xE0 ? 3
		          : (*u & 0xF8) == 0xF0 ? 4
		                                : 0;
		if (len == 0 || (len == 2 && *u < 0xC2))
			return false;
		for (int i = 1; i < len; i++)
			if ((u[i] & 0xC0) != 0x80)
				return false; /* also stops at the terminating NUL */
		u += len;
	}
	return true;
}

void fx_assert_contains(const char *hay, const char *needle, const char *file, int line)
{
	if (hay && needle && strstr(hay, needle))
		return;
	print_error("expected \"%s\" in \"%s\"\n", needle ? needle : "(null)",
	            hay ? hay : "(null)");
	_fail(file, line);
}
