/* poll_schedule.c - scrape-aligned and adaptive polling (poll_schedule.h).
 *
 * Why learn the rhythm from sample times rather than ask for the scrape
 * configuration: the times are what the data really is (a relabelled
 * target, a federation hop, Thanos or Mimir in between all keep them),
 * and they need no API beyond the query one. A Prometheus scrape loop
 * starts each target at a fixed offset within its interval, so the
 * newest sample times of a target are phase + k * interval, and a few of
 * them give both back. Anything else - gaps, several targets at
 * different phases, a restart - shows as times that are not multiples of
 * one interval: the schedule then falls back to poll_s and says so.
 */
#include "shiproom/poll_schedule.h"

#include <stdio.h>
#include <string.h>

void poll_schedule_init(struct sr_poll_schedule *s, sr_ms poll_ms, sr_ms fast_ms, double margin_pct)
{
	memset(s, 0, sizeof *s);
	s->poll_ms = poll_ms > 0 ? poll_ms : 15 * SR_MS_PER_S;
	s->fast_ms = fast_ms > 0 && fast_ms < s->poll_ms ? fast_ms : 0;
	s->margin_pct = margin_pct >= 0 ? margin_pct : SR_FAST_MARGIN_DEFAULT_PCT;
	s->settle = SR_SETTLE_FIRST_MS;
	s->last_full = -1;
	s->last_fast = -1;
	snprintf(s->why_fixed, sizeof s->why_fixed, "no sample times yet");
}

/* ---- the rhythm --------------------------------------------------------- */

/* A learned interval as people write it: 999 ms of measured spacing is
 * the "1s" of the scrape configuration. */
static void fmt_interval(char *buf, size_t n, sr_ms d)
{
	if (d > 0 && d < SR_MS_PER_S - SR_MS_PER_S / 20)
		snprintf(buf, n, "%lldms", (long long)d);
	else
		sr_fmt_duration(buf, n, (d + SR_MS_PER_S / 2) / SR_MS_PER_S * SR_MS_PER_S);
}

static sr_ms tolerance(sr_ms interval)
{
	sr_ms t = interval / 40;
	return t > 50 ? t : 50;
}

/* The greatest common divisor of two durations, with remainders within
 * tol counted as zero (sample times carry the scrape's start jitter). */
static sr_ms approx_gcd(sr_ms a, sr_ms b, sr_ms tol)
{
	while (b > tol) {
		sr_ms r = a % b;
		if (r <= tol || b - r <= tol)
			return b;
		a = b;
		b = r;
	}
	return a;
}

static void learn(struct sr_poll_schedule *s)
{
	sr_ms prev = s->interval;
	s->interval = 0;
	if (s->nseen < 3) {
		snprintf(s->why_fixed, sizeof s->why_fixed, "learning the scrape rhythm");
		return;
	}
	sr_ms g = s->seen[1] - s->seen[0];
	for (int i = 2; i < s->nseen; i++)
		g = approx_gcd(g, s->seen[i] - s->seen[i - 1], tolerance(g));
	/* A finer rhythm already learned stays: polls once per poll_s see
	 * only every third scrape of a 5 s rhythm, which looks like 15 s. */
	if (prev > 0 && g > prev) {
		sr_ms h = approx_gcd(g, prev, tolerance(prev));
		if (h + tolerance(prev) >= prev && h <= prev + tolerance(prev))
			g = prev;
	}
	/* Every step must be a whole number of intervals; their sum over
	 * the whole span gives the interval more exactly than any one. */
	long long steps = 0;
	for (int i = 1; i < s->nseen && g >= SR_RHYTHM_MIN_MS; i++) {
		sr_ms d = s->seen[i] - s->seen[i - 1];
		long long m = (d + g / 2) / g;
		sr_ms off = d - (sr_ms)m * g;
		/* Scrape loops tick precisely: a step is a whole number of
		 * intervals within a few ms, and not too many of them (a tiny
		 * divisor of unrelated times is not a rhythm). */
		if (m < 1 || m > 64 || (off < 0 ? -off : off) > tolerance(g)) {
			g = 0;
			break;
		}
		steps += m;
	}
	if (g < SR_RHYTHM_MIN_MS || steps == 0) {
		snprintf(s->why_fixed, sizeof s->why_fixed, "irregular sample times");
		return;
	}
	s->interval = (s->seen[s->nseen - 1] - s->seen[0]) / steps;
	if (s->interval > s->poll_ms + s->poll_ms / 10) {
		char d[24];
		fmt_interval(d, sizeof d, s->interval);
		snprintf(s->why_fixed, sizeof s->why_fixed, "scrape %s slower than poll", d);
	} else {
		s->why_fixed[0] = '\0';
	}
}

enum sr_poll_mode poll_schedule_mode(const struct sr_poll_schedule *s)
{
	return s->interval > 0 && s->interval <= s->poll_ms + s->poll_ms / 10 ? SR_POLL_ALIGNED
	                                                                      : SR_POLL_FIXED;
}

/* Did the last aligned poll find the scrape it aimed at? */
static void check_aim(struct sr_poll_schedule *s, sr_ms newest)
{
	sr_ms tol = tolerance(s->interval);
	/* Did the last aligned poll find the scrape it aimed at? If not, it
	 * came too early: wait longer after each scrape from now on. */
	if (s->aimed > 0 && poll_schedule_mode(s) == SR_POLL_ALIGNED) {
		if (newest + tol >= s->aimed) {
			s->hits++;
			/* Earn back what a passing hiccup cost, slowly. */
			if (s->hits % 32 == 0 && s->settle > SR_SETTLE_MIN_MS)
				s->settle -= s->settle / 4;
		} else {
			s->misses++;
			s->hits = 0;
			s->settle *= 2;
			if (s->settle > s->interval / 2)
				s->settle = s->interval / 2;
			if (s->settle > SR_SETTLE_MAX_MS)
				s->settle = SR_SETTLE_MAX_MS;
		}
		if (s->settle < SR_SETTLE_MIN_MS)
			s->settle = SR_SETTLE_MIN_MS;
	}
	s->aimed = 0;
}

static void record(struct sr_poll_schedule *s, sr_ms newest)
{
	sr_ms tol = tolerance(s->interval);
	sr_ms last = s->nseen > 0 ? s->seen[s->nseen - 1] : 0;
	if (s->nseen > 0 && newest + tol < last)
		s->nseen = 0; /* time went back (a restart, another target): start over */
	if (s->nseen > 0 && newest <= last + tol)
		return; /* the same scrape again */
	/* Off the learned grid (a restart with a new phase, a new target, a
	 * changed scrape_interval): start over from this time rather than
	 * let the common divisor of two rhythms pass for a third. */
	if (s->interval > 0) {
		sr_ms off = (newest - last) % s->interval;
		if (off > tol && s->interval - off > tol)
			s->nseen = 0;
	}
	if (s->nseen == SR_RHYTHM_SEEN) {
		memmove(s->seen, s->seen + 1, (SR_RHYTHM_SEEN - 1) * sizeof s->seen[0]);
		s->nseen--;
	}
	s->seen[s->nseen++] = newest;
	learn(s);
}

void poll_schedule_rhythm(struct sr_poll_schedule *s, sr_ms newest)
{
	if (newest <= 0)
		return; /* unknown: what was learned stands until it is contradicted */
	check_aim(s, newest);
	record(s, newest);
}

void poll_schedule_times(struct sr_poll_schedule *s, const sr_ms *times, int n)
{
	if (n <= 0 || times[n - 1] <= 0)
		return;
	check_aim(s, times[n - 1]);
	for (int i = 0; i < n; i++)
		if (times[i] > 0)
			record(s, times[i]);
}

/* ---- the plan ------------------------------------------------------------- */

/* The next full poll: just after the first expected scrape that keeps
 * full polls at least (about) poll_s apart; or poll_s after the last. */
static sr_ms next_full(const struct sr_poll_schedule *s, sr_ms *aim)
{
	*aim = 0;
	if (s->last_full < 0)
		return 0;
	if (poll_schedule_mode(s) != SR_POLL_ALIGNED)
		return s->last_full + s->poll_ms;
	sr_ms I = s->interval;
	sr_ms slack = I / 2 < s->poll_ms / 10 ? I / 2 : s->poll_ms / 10;
	sr_ms earliest = s->last_full + s->poll_ms - slack;
	sr_ms phase = s->seen[s->nseen - 1];
	sr_ms k = (earliest - s->settle - phase + I - 1) / I;
	if (k < 1)
		k = 1; /* the scrape already seen is not worth a poll */
	*aim = phase + k * I;
	return *aim + s->settle;
}

struct sr_poll_plan poll_schedule_next(const struct sr_poll_schedule *s)
{
	struct sr_poll_plan plan;
	memset(&plan, 0, sizeof plan);
	plan.at = next_full(s, &plan.aim);
	plan.full = true;
	/* Sample times at every full poll while learning or tuning the
	 * settle time; once settled (aligned and finding its scrapes, or
	 * found irregular over a full window), at every 8th: one query per
	 * eight polls is what the rhythm costs in steady state. */
	bool aligned = poll_schedule_mode(s) == SR_POLL_ALIGNED;
	bool settled = aligned ? s->hits >= SR_RHYTHM_SETTLED_HITS : s->nseen >= SR_RHYTHM_SEEN;
	plan.rhythm = !settled || s->since_check + 1 >= SR_RHYTHM_CHECK_EVERY;
	/* Learning: every sample time of the last three poll intervals in
	 * one query, so the rhythm is known after one poll, not four. */
	if (plan.rhythm && s->nseen < 3)
		plan.history = 3 * s->poll_ms;
	if (s->fast && s->fast_ms > 0 && s->last_full >= 0) {
		sr_ms from = s->last_fast > s->last_full ? s->last_fast : s->last_full;
		sr_ms fast_at = from + s->fast_ms;
		/* Aligned, the data changes only at a scrape: a fast poll goes
		 * just after the first scrape at or after the fast rate allows,
		 * never twice for one scrape. */
		if (aligned) {
			sr_ms I = s->interval, phase = s->seen[s->nseen - 1];
			sr_ms k = (fast_at - s->settle - phase + I - 1) / I;
			fast_at = phase + (k < 1 ? 1 : k) * I + s->settle;
		}
		/* Not just before a full poll: that one reads them anyway, and
		 * polls stay at least fast_poll_s apart. */
		if (fast_at + s->fast_ms <= plan.at) {
			plan.at = fast_at;
			plan.full = false;
			plan.rhythm = false;
			plan.aim = 0;
			plan.kpis = s->kpis;
		}
	}
	return plan;
}

void poll_schedule_started(struct sr_poll_schedule *s, const struct sr_poll_plan *plan, sr_ms now)
{
	if (!plan->full) {
		s->last_fast = now;
		s->fast_polls++;
		return;
	}
	s->aimed = plan->rhythm ? plan->aim : 0;
	s->last_full = now;
	s->full_polls++;
	s->since_check = plan->rhythm ? 0 : s->since_check + 1;
}

/* ---- what needs the fast rate ---------------------------------------------- */

static bool near_trigger(const struct sr_poll_schedule *s, const struct sr_trigger *t, double v)
{
	double th = t->threshold;
	double m = (th < 0 ? -th : th) * s->margin_pct / 100.0;
	return t->above ? v > th - m : v < th + m;
}

/* How often the involved KPIs are polled: every fast_poll_s; aligned,
 * at every scrape that leaves at least that much time between polls. */
static sr_ms fast_every(const struct sr_poll_schedule *s)
{
	if (poll_schedule_mode(s) != SR_POLL_ALIGNED)
		return s->fast_ms;
	sr_ms I = s->interval;
	return (s->fast_ms + I - 1) / I * I;
}

void poll_schedule_involve(struct sr_poll_schedule *s, const struct sr_engine *e)
{
	const struct sr_policy *p = e->policy;
	memset(s->kpis, 0, sizeof s->kpis);
	s->nfast = 0;
	for (int i = 0; i < p->ncells && i < SR_MAX_CELLS; i++) {
		int k = p->cells[i].kpi;
		const struct sr_kpi *kp = &p->kpis[k];
		const struct sr_cell_state *c = &e->cells[i];
		bool gating = kp->gating && kp->kind != SR_KIND_MONITOR;
		/* YELLOW: near the limit, or recovering from RED; a breach
		 * clock: RED now, or interrupted by a gap. */
		if (gating && (c->status == SR_YELLOW || c->breaching))
			s->kpis[k] = true;
	}
	for (int t = 0; t < p->ntriggers; t++) {
		const struct sr_trigger *tr = &p->triggers[t];
		if (tr->kind != SR_TRIG_THRESHOLD)
			continue;
		for (int j = 0; j < tr->nkpis; j++)
			for (int i = 0; i < p->ncells && i < SR_MAX_CELLS; i++)
				if (p->cells[i].kpi == tr->kpis[j] && e->cells[i].fresh &&
				    near_trigger(s, tr, e->cells[i].canary))
					s->kpis[tr->kpis[j]] = true;
	}
	for (int k = 0; k < p->nkpis && k < SR_MAX_KPIS; k++)
		s->nfast += s->kpis[k];
	/* No faster than the full polls (a 15 s scrape read just after each
	 * scrape): nothing to gain, nothing to spend. */
	s->fast = s->nfast > 0 && s->fast_ms > 0 && fast_every(s) < s->poll_ms - s->poll_ms / 10;
}

void poll_schedule_brief(const struct sr_poll_schedule *s, char *buf, size_t n)
{
	char d[24];
	bool aligned = poll_schedule_mode(s) == SR_POLL_ALIGNED;
	fmt_interval(d, sizeof d, s->fast ? fast_every(s) : aligned ? s->interval : s->poll_ms);
	snprintf(buf, n, "%s %s", s->fast ? "fast" : aligned ? "aligned" : "fixed", d);
}

void poll_schedule_describe(const struct sr_poll_schedule *s, char *buf, size_t n)
{
	char d[24], f[24];
	bool aligned = poll_schedule_mode(s) == SR_POLL_ALIGNED;
	fmt_interval(d, sizeof d, aligned ? s->interval : s->poll_ms);
	fmt_interval(f, sizeof f, fast_every(s));
	if (s->fast)
		snprintf(buf, n, "fast %s (%d KPI%s), %s %s", f, s->nfast, s->nfast == 1 ? "" : "s",
		         aligned ? "aligned" : "fixed", d);
	else
		snprintf(buf, n, "%s %s", aligned ? "aligned" : "fixed", d);
}
