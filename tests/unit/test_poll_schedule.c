/* test_poll_schedule.c - when polls happen (poll_schedule.h).
 *
 * The schedule is pure: these tests feed it newest-sample times (what
 * the Prometheus source's rhythm query answers) and the engine's state,
 * step a fake clock to each planned poll, and check what it plans: the
 * learned scrape rhythm, polls just after each scrape, the fall-back to
 * poll_s, the fast rate for just the KPIs involved while a breach may
 * be building, and what all that costs in queries per minute.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "shiproom/poll_schedule.h"

#define S SR_MS_PER_S
/* A scrape every 15 s at this phase: sample times PHASE + k * 15 s. */
#define PHASE (FX_T0 + 4321)

/* The fake source: the newest sample at `now` on a regular scrape (the
 * data is written `lag` ms after the scrape's timestamp). */
static sr_ms newest_at(sr_ms now, sr_ms interval, sr_ms lag)
{
	sr_ms k = (now - lag - PHASE) / interval;
	return PHASE + k * interval;
}

struct run {
	struct sr_poll_schedule s;
	sr_ms now;
	long queries;     /* as the prometheus source would send them */
	long full, fast;  /* polls */
	long rhythm;      /* rhythm queries */
	int nkpi_queries; /* queries of a full poll */
};

/* Take the planned poll: advance to it, "send" it, answer it. */
static struct sr_poll_plan take(struct run *r, sr_ms interval, sr_ms lag)
{
	struct sr_poll_plan plan = poll_schedule_next(&r->s);
	if (plan.at > r->now)
		r->now = plan.at;
	poll_schedule_started(&r->s, &plan, r->now);
	if (plan.full) {
		r->full++;
		r->queries += r->nkpi_queries;
	} else {
		r->fast++;
		for (int k = 0; k < SR_MAX_KPIS; k++)
			r->queries += plan.kpis[k] ? 2 : 0; /* value + samples */
	}
	if (plan.rhythm) {
		r->rhythm++;
		r->queries++;
		sr_ms t[SR_SAMPLE_TIMES];
		int n = 0;
		/* the history: every scrape over plan.history, oldest first */
		for (sr_ms at = newest_at(r->now, interval ? interval : 1, lag);
		     interval && n < SR_SAMPLE_TIMES && at > r->now - plan.history; at -= interval)
			n++;
		for (int i = 0; i < n; i++)
			t[i] = newest_at(r->now, interval, lag) - (sr_ms)(n - 1 - i) * interval;
		if (n > 0)
			poll_schedule_times(&r->s, t, n);
		else
			poll_schedule_rhythm(&r->s,
			                     interval ? newest_at(r->now, interval, lag) : 0);
	}
	return plan;
}

static void run_init(struct run *r, sr_ms poll, sr_ms fast)
{
	memset(r, 0, sizeof *r);
	poll_schedule_init(&r->s, poll, fast, SR_FAST_MARGIN_DEFAULT_PCT);
	r->now = FX_T0;
	r->nkpi_queries = 37; /* the directive's: 23 value + 14 samples queries */
}

/* A 15 s scrape under a 15 s poll_s: learned in a few polls, then every
 * poll lands just after a scrape (its sample is the newest) and polls
 * stay 15 s apart. */
static void test_aligns_to_the_scrape(void **state)
{
	(void)state;
	struct run r;
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 6; i++)
		take(&r, 15 * S, 30);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_ALIGNED);
	assert_int_equal(r.s.interval, 15 * S);
	char mode[64];
	poll_schedule_describe(&r.s, mode, sizeof mode);
	assert_string_equal(mode, "aligned 15s");
	sr_ms last = r.now;
	for (int i = 0; i < 40; i++) {
		struct sr_poll_plan p = take(&r, 15 * S, 30);
		assert_true(p.full);
		/* just after a scrape: within the settle time of one */
		sr_ms since = (r.now - PHASE) % (15 * S);
		assert_true(since >= 30 && since <= SR_SETTLE_FIRST_MS);
		assert_int_equal(r.now - last, 15 * S);
		last = r.now;
	}
	assert_int_equal(r.s.misses, 0);
}

/* The data lands later than the first settle time: a poll that still
 * finds the older sample widens the settle time until polls find their
 * scrape. */
static void test_settle_grows_after_a_miss(void **state)
{
	(void)state;
	struct run r;
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 20; i++)
		take(&r, 15 * S, 700);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_ALIGNED);
	assert_true(r.s.misses >= 1);
	assert_true(r.s.settle >= 700);
	assert_true(r.s.hits >= SR_RHYTHM_SETTLED_HITS);
}

/* A 5 s scrape under a 15 s poll_s: read every 15 s (never more often
 * than poll_s), just after a scrape. A 1 s scrape under a 1 s poll: every
 * second. */
static void test_never_more_often_than_poll_s(void **state)
{
	(void)state;
	struct run r;
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 10; i++)
		take(&r, 5 * S, 30);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_ALIGNED);
	sr_ms last = r.now;
	for (int i = 0; i < 10; i++) {
		take(&r, 5 * S, 30);
		assert_int_equal(r.now - last, 15 * S);
		last = r.now;
	}
	run_init(&r, 1 * S, 0);
	for (int i = 0; i < 10; i++)
		take(&r, 1 * S, 30);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_ALIGNED);
	assert_int_equal(r.s.interval, 1 * S);
	char mode[64];
	/* measured as 999 ms (scrape start jitter): still the "1s" scrape */
	r.s.interval = 999;
	poll_schedule_describe(&r.s, mode, sizeof mode);
	assert_string_equal(mode, "aligned 1s");
	r.s.interval = 1 * S;
	last = r.now;
	for (int i = 0; i < 10; i++) {
		take(&r, 1 * S, 30);
		assert_int_equal(r.now - last, 1 * S);
		last = r.now;
	}
}

/* No sample times, irregular ones, or a scrape slower than poll_s:
 * poll_s, and the header says why. */
static void test_falls_back_to_poll_s(void **state)
{
	(void)state;
	struct run r;
	char mode[64];
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 5; i++) {
		take(&r, 0, 0);
		assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_FIXED);
	}
	assert_int_equal(r.now - FX_T0, 4 * 15 * S);
	poll_schedule_describe(&r.s, mode, sizeof mode);
	assert_string_equal(mode, "fixed 15s");

	/* irregular: 10.0, 17.3, 31.9 s apart */
	run_init(&r, 15 * S, 2 * S);
	poll_schedule_rhythm(&r.s, PHASE);
	poll_schedule_rhythm(&r.s, PHASE + 10000);
	poll_schedule_rhythm(&r.s, PHASE + 27300);
	poll_schedule_rhythm(&r.s, PHASE + 59200);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_FIXED);
	assert_string_equal(r.s.why_fixed, "irregular sample times");

	/* a 60 s scrape under a 15 s poll */
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 4; i++)
		poll_schedule_rhythm(&r.s, PHASE + i * 60 * S);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_FIXED);
	assert_string_equal(r.s.why_fixed, "scrape 1m00s slower than poll");

	/* times that go back (a restart): learned again from there */
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 4; i++)
		poll_schedule_rhythm(&r.s, PHASE + i * 15 * S);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_ALIGNED);
	poll_schedule_rhythm(&r.s, PHASE - 60 * S);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_FIXED);
	assert_int_equal(r.s.nseen, 1);

	/* a time off the learned grid (another phase): start over, never
	 * the common divisor of two rhythms (here 1 s) */
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 4; i++)
		poll_schedule_rhythm(&r.s, PHASE + i * 3 * S);
	assert_int_equal(r.s.interval, 3 * S);
	poll_schedule_rhythm(&r.s, PHASE + 10 * S);
	poll_schedule_rhythm(&r.s, PHASE + 12 * S);
	assert_int_equal(r.s.nseen, 2);
	assert_int_equal(poll_schedule_mode(&r.s), SR_POLL_FIXED);
}

/* One scenario of test_fast_rate_follows_the_breach: a scrape every
 * `interval` (0: no sample times) under a 15 s poll_s and a 2 s fast
 * rate. Healthy for ten minutes, a pending breach on the search P95 for
 * a minute, then clear for a minute; returns the fast polls of the
 * breach minute, checks everything else. */
static long breach_minute(sr_ms interval, const char *mode_when_fast)
{
	struct fx *f = fx_new(FX_T0);
	fx_enter(f, 5);
	int c = fx_cell(f, "p95_latency", "search");
	int kp95 = fx_kpi(f, "p95_latency");
	struct run r, plain;
	run_init(&r, 15 * S, 2 * S);
	run_init(&plain, 15 * S, 0); /* the same without a fast rate */

	/* Healthy: ten minutes of steady state after learning. */
	for (int i = 0; i < 12; i++) {
		take(&r, interval, 30);
		take(&plain, interval, 30);
		poll_schedule_involve(&r.s, f->e);
	}
	long q0 = r.queries, p0 = plain.queries, full0 = r.full;
	sr_ms t0 = r.now;
	while (r.now - t0 < 10 * FX_MIN) {
		take(&r, interval, 30);
		take(&plain, interval, 30);
		f->now = r.now;
		fx_eval(f);
		poll_schedule_involve(&r.s, f->e);
	}
	assert_false(r.s.fast);
	assert_int_equal(r.fast, 0);
	assert_int_equal(r.full - full0, 40); /* 4 a minute */
	assert_int_equal(r.queries - q0, plain.queries - p0);

	/* A breach starts: P95 RED (a breach clock runs). */
	fx_set_cell(f, c, 140, 100);
	f->now = r.now;
	fx_eval(f);
	assert_true(f->e->cells[c].breaching);
	poll_schedule_involve(&r.s, f->e);
	char mode[64];
	poll_schedule_describe(&r.s, mode, sizeof mode);
	assert_string_equal(mode, mode_when_fast);
	assert_int_equal(r.s.nfast, 1);
	assert_true(r.s.kpis[kp95]);
	long fast0 = r.fast, q1 = r.queries, full1 = r.full, rh1 = r.rhythm;
	t0 = r.now;
	sr_ms last = r.now;
	while (r.now - t0 < FX_MIN) {
		struct sr_poll_plan p = take(&r, interval, 30);
		assert_true(r.now - last >= 2 * S); /* bounded by fast_poll_s */
		last = r.now;
		if (!p.full) {
			for (int k = 0; k < f->p->nkpis; k++)
				assert_int_equal(p.kpis[k], k == kp95);
			assert_false(p.rhythm);
		}
	}
	long fast = r.fast - fast0;
	assert_int_equal(r.full - full1, 4);
	/* what a minute of pending breach costs: 2 queries a fast poll */
	assert_int_equal(r.queries - q1, (r.full - full1) * 37 + fast * 2 + (r.rhythm - rh1));

	/* It clears (GREEN, hysteresis done): back to the normal rhythm. */
	fx_set_cell(f, c, 90, 90);
	for (int i = 0; i < 3; i++) {
		f->now += 15 * S;
		fx_eval(f);
	}
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	poll_schedule_involve(&r.s, f->e);
	assert_false(r.s.fast);
	fast0 = r.fast;
	full1 = r.full;
	t0 = r.now;
	while (r.now - t0 < FX_MIN)
		take(&r, interval, 30);
	assert_int_equal(r.fast, fast0);
	assert_int_equal(r.full - full1, 4);
	fx_free(f);
	return fast;
}

/* The fast rate starts with the pending breach, for the KPI involved
 * only, and stops when it clears; in a healthy steady state the queries
 * per minute are those without a fast rate (one full poll per poll_s,
 * and one rhythm query every 8th poll once settled). Aligned, fast polls
 * go just after scrapes: a 5 s scrape under a 15 s poll_s is read at
 * every scrape while the breach is pending; a 15 s scrape already is,
 * so nothing changes; without sample times, every 2 s. */
static void test_fast_rate_follows_the_breach(void **state)
{
	(void)state;
	assert_int_equal(breach_minute(5 * S, "fast 5s (1 KPI), aligned 5s"), 8);
	assert_int_equal(breach_minute(0, "fast 2s (1 KPI), fixed 15s"), 24);
	/* a 15 s scrape: the involvement is known, the rate stays */
	struct fx *f = fx_new(FX_T0);
	struct run r;
	run_init(&r, 15 * S, 2 * S);
	for (int i = 0; i < 12; i++)
		take(&r, 15 * S, 30);
	fx_enter(f, 5);
	fx_set(f, "p95_latency", "search", 140, 100);
	fx_eval(f);
	poll_schedule_involve(&r.s, f->e);
	assert_int_equal(r.s.nfast, 1);
	assert_false(r.s.fast);
	char mode[64];
	poll_schedule_describe(&r.s, mode, sizeof mode);
	assert_string_equal(mode, "aligned 15s");
	fx_free(f);
}

/* Near a threshold trigger (P95 within 12.5% of 160 ms: above 140)
 * counts as involved even while the cell is within its own limit (at
 * 50% the P95 limit is 120; a value of 150 is RED anyway, so use the
 * trigger margin alone with a raised limit). And a fast rate at or above
 * poll_s is none. */
static void test_near_a_trigger_and_bounds(void **state)
{
	(void)state;
	struct fx *f = fx_new(FX_T0);
	fx_enter(f, 5);
	int kp95 = fx_kpi(f, "p95_latency");
	int c = fx_cell(f, "p95_latency", "search");
	/* the KPI's own limit out of the way: only the trigger is near */
	f->p->kpis[kp95].limit = 1000;
	for (int i = 0; i < SR_MAX_PHASES; i++)
		f->p->kpis[kp95].phase_limit[i] = NAN;
	f->p->kpis[kp95].warn_margin = 1;
	fx_reinit(f, FX_T0);
	fx_enter(f, 5);
	fx_set_cell(f, c, 145, 100);
	fx_eval(f);
	assert_int_equal(f->e->cells[c].status, SR_GREEN);
	struct sr_poll_schedule s;
	poll_schedule_init(&s, 15 * S, 2 * S, SR_FAST_MARGIN_DEFAULT_PCT);
	poll_schedule_involve(&s, f->e);
	assert_true(s.fast);
	assert_true(s.kpis[kp95]);
	fx_set_cell(f, c, 135, 100);
	fx_eval(f);
	poll_schedule_involve(&s, f->e);
	assert_false(s.fast);

	poll_schedule_init(&s, 2 * S, 2 * S, SR_FAST_MARGIN_DEFAULT_PCT);
	assert_int_equal(s.fast_ms, 0);
	fx_set_cell(f, c, 145, 100);
	fx_eval(f);
	poll_schedule_involve(&s, f->e);
	assert_false(s.fast);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aligns_to_the_scrape),
	    cmocka_unit_test(test_settle_grows_after_a_miss),
	    cmocka_unit_test(test_never_more_often_than_poll_s),
	    cmocka_unit_test(test_falls_back_to_poll_s),
	    cmocka_unit_test(test_fast_rate_follows_the_breach),
	    cmocka_unit_test(test_near_a_trigger_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
