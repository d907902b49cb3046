/* sim.c - the built-in simulator: a traffic model and its metrics-source face.
 *
 * Why it exists: shiproom must be drivable (and testable) without a real
 * Prometheus and a real edge. The simulator produces the same kind of
 * numbers a real source would, with the same statistical pitfalls, so the
 * console and the engine meet them here first: at 5% the canary has few
 * samples and noisy percentiles, a stale source keeps old numbers, a
 * failing source errors.
 *
 * Model
 * - Virtual time is cut into 5 s slots. Each slot's traffic is drawn from
 *   a PRNG seeded with (scenario seed, series, slot index) only, so a
 *   value at time t does not depend on how often anyone polled: a
 *   headless run and the console at another --speed see the same data at
 *   the same virtual time (as long as the weight changed at the same
 *   moments), and two headless runs agree exactly.
 * - A poll reports the last 12 complete slots (a 60 s rate window, like
 *   rate(x[1m])). Consecutive polls share most of their window, as they
 *   would with Prometheus.
 * - Traffic is split by the simulated edge's weight: a slot computed while
 *   the canary weight is w gets rps * w% * 5 s canary requests; control
 *   gets the rest. Slots are computed once, in order, when a poll first
 *   needs them, with the weight in force at that moment.
 * - Latency: one Prometheus-style histogram per journey and cohort (every
 *   latency KPI of a journey reads the same histogram, as P95 and P99 do
 *   in Prometheus). Requests are lognormal per journey; a slot's bucket
 *   counts are a multinomial draw (conditional binomials), so the cost
 *   does not grow with traffic. Quantiles come from the buckets with
 *   Prometheus's histogram_quantile interpolation.
 * - ratio signals: binomial draws of bad events around a base rate.
 *   gauge signals: base +- small noise. vs_* KPIs: the canary equals the
 *   control on average, with noise well inside the tolerance once the
 *   window holds a decent number of samples. streak: individual canary
 *   payments, each failing with probability 0.1%, consecutive failures
 *   tracked across slots; the reported value is the longest run seen in
 *   the window (a gauge of consecutive failures, as scraped).
 * - Base values are derived from the policy so that any policy runs here
 *   (see sim_base_*): max kinds sit well under the limit, min kinds a
 *   margin above limit + warn_margin, vs_* kinds at a fixed control value.
 *   For ratio KPIs the base rate is also chosen so that binomial noise
 *   crosses the warning line in at most 1 window in 100,000 at every
 *   phase with enough samples (a phase has ~100 independent windows and
 *   a policy ~10 ratio cells, so a healthy phase sees a blip about once
 *   in a hundred runs): with a
 *   60 s window and a few hundred requests, one failed payment is 99.8%,
 *   and the directive's "99.85% payment success" would read YELLOW or
 *   RED every few minutes by chance alone, so a healthy rollout would
 *   rarely get a clean gate. The price: healthy min-kind ratios read
 *   99.99-100%, max-kind error rates ~0.01-0.05%.
 * - Scenario effects (scale/add/set on a KPI's canary, control or both,
 *   for [from_min, to_min)) change the model of the slots they cover, so
 *   a step change shows up over the next 60 s, as with a real rate
 *   window. Source effects: "error" marks cells SR_OBS_ERROR with a
 *   message; "freeze" leaves the snapshot untouched, old `at` included,
 *   so the engine turns it STALE.
 */
#include "sim_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/sim.h"

#define SIM_SLOT_MS 5000
#define SIM_WINDOW_SLOTS 12 /* 60 s rate window */
#define SIM_MAX_GAP 720     /* slots replayed after a gap (1 h); older ones are skipped */
#define SIM_NB 20
#define SIM_DEFAULT_RPS 20.0
#define SIM_STREAK_PFAIL 0.001 /* per payment, healthy */
#define SIM_NOISE_TAIL 1e-5    /* ratio base rates: P(window past the warn line) */

/* Prometheus-style latency buckets in ms; the last is +Inf. */
static const double sim_bounds[SIM_NB] = {5,   10,  25,  50,  75,  100, 110, 120, 130,  140,
                                          160, 180, 200, 250, 300, 400, 500, 750, 1000, INFINITY};

/* Realistic per-journey latency: median and true P95 in ms. What the
 * console shows is histogram_quantile over the buckets, which reads
 * several ms high inside the wide 75-100 ms bucket (linear
 * interpolation), so the true P95s are kept low enough that the measured
 * ones stay under 100 ms: clear of the 50%->100% warning line (107 ms
 * for a 120 ms limit with the default 13 ms margin). */
struct sim_latency {
	const char *journey;
	double median, p95;
};
static const struct sim_latency sim_latencies[] = {
    {"search", 60, 85},
    {"scholarship_detail", 45, 70},
    {"application_start", 68, 90},
    {"application_submit", 78, 92},
    {"payments", 80, 94},
    {"provider_dashboard", 65, 90},
};
static const struct sim_latency sim_latency_default = {"", 60, 85};

/* ---- PRNG: splitmix64 to seed, xoshiro256** to draw ---------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* A stream for one (seed, series, slot): the only source of randomness,
 * which is what makes the data a function of time and not of polling. */
static void rng_for(struct rng *r, uint64_t seed, uint64_t series, int64_t slot)
{
	uint64_t x = seed;
	uint64_t a = splitmix64(&x);
	x = a ^ (series * 0xD1B54A32D192ED03ULL);
	uint64_t b = splitmix64(&x);
	x = b ^ ((uint64_t)slot * 0x8CB92BA72F3D8DD7ULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* Uniform in (0, 1): never 0, so log() is safe. */
static double rng_uniform(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double rng_gauss(struct rng *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Binomial(n, p): exact for small n, Poisson for rare events, normal
 * approximation for large means (bucket counts of big slots). */
static double rng_binom(struct rng *r, double n, double p)
{
	if (n <= 0 || p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - rng_binom(r, n, 1 - p);
	if (n <= 40) {
		double k = 0;
		for (int i = 0; i < (int)n; i++)
			if (rng_uniform(r) < p)
				k++;
		return k;
	}
	double mean = n * p;
	if (mean < 15) {
		double L = exp(-mean), prod = rng_uniform(r), k = 0;
		while (prod > L && k < n) {
			k++;
			prod *= rng_uniform(r);
		}
		return k;
	}
	double k = floor(mean + sqrt(mean * (1 - p)) * rng_gauss(r) + 0.5);
	return k < 0 ? 0 : k > n ? n : k;
}

/* x requests on average: floor(x) plus one with probability frac(x). */
static double rng_round(struct rng *r, double x)
{
	if (x <= 0)
		return 0;
	double f = floor(x);
	return f + (rng_uniform(r) < x - f ? 1 : 0);
}

/* ---- histogram_quantile ---------------------------------------------------- */

/* Prometheus's bucketQuantile: the highest bucket must be +Inf (else
 * NaN), counts are made monotonic, fewer than two buckets or no
 * observations give NaN, a rank in the +Inf bucket returns the upper
 * bound of the last finite bucket, the first bucket interpolates from 0
 * (or returns its bound when that is <= 0), and otherwise the value is
 * interpolated linearly inside the bucket holding the rank. */
double sim_histogram_quantile(double q, const double *bounds, const double *cumulative, int nb)
{
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (nb < 2 || !bounds || !cumulative || !(isinf(bounds[nb - 1]) && bounds[nb - 1] > 0))
		return NAN;
	double counts[64];
	if (nb > 64)
		return NAN;
	double maxc = 0;
	for (int i = 0; i < nb; i++) {
		double c = cumulative[i];
		if (isnan(c))
			c = 0;
		maxc = c > maxc ? c : maxc; /* ensureMonotonic */
		counts[i] = maxc;
	}
	double observations = counts[nb - 1];
	if (observations <= 0)
		return NAN;
	double rank = q * observations;
	int b = 0;
	while (b < nb - 1 && counts[b] < rank)
		b++;
	if (b == nb - 1)
		return bounds[nb - 2];
	if (b == 0 && bounds[0] <= 0)
		return bounds[0];
	double start = 0, end = bounds[b], count = counts[b];
	if (b > 0) {
		start = bounds[b - 1];
		count -= counts[b - 1];
		rank -= counts[b - 1];
	}
	if (count <= 0)
		return end;
	return start + (end - start) * (rank / count);
}

/* Ring position of slot k (k may be negative before 1970 only in tests). */
static size_t ring(int64_t k)
{
	int64_t r = k % SIM_WINDOW_SLOTS;
	return (size_t)(r < 0 ? r + SIM_WINDOW_SLOTS : r);
}

/* ---- model tables ------------------------------------------------------------- */

struct hist_slot {
	int64_t k; /* slot index, INT64_MIN when empty */
	double n;
	double b[SIM_NB]; /* per-bucket (not cumulative) counts */
};

struct cell_slot {
	int64_t k;
	double n;     /* requests / events / payments */
	double sum;   /* ratio: 100 * counted events; gauge/vs: n * value */
	double fails; /* a success ratio linked to a streak: failed payments */
	int inject;   /* ... of which forced by a scenario's streak effect */
	int maxrun;   /* streak: longest run touching this slot */
};

struct hist_info {
	double rps, mu, sigma;
	int journey; /* -1: the global series */
	/* Each bucket's probability for a request not in the buckets below
	 * it, at the latency effects (scale, add) it was solved for: a
	 * function of those alone, so it is solved again only when they
	 * change (an erfc and a log per bucket, per slot and cohort, were a
	 * fifth of catching up). pb_valid false: not solved yet. */
	bool pb_valid;
	double pb_scale, pb_add;
	double pb[SIM_NB - 1];
};

struct cell_info {
	int kpi, journey;
	enum sr_signal signal;
	int hist;        /* latency: histogram series, else -1 */
	double rps;      /* events/s behind the cell, both cohorts */
	double base;     /* model value (the KPI's unit; ratio: percent) */
	bool good_ratio; /* ratio reports good events (min kinds) */
	double rel_sd;   /* vs ratio: relative noise of one slot; gauge: of a reading */
	double n_ref;    /* vs ratio: noise scales with sqrt(n_ref / n) */
	/* One set of payments behind a streak and a success ratio of the
	 * same group and journey (payment_failure_streak and
	 * payment_success): streak cell -> its ratio cell, ratio cell -> its
	 * streak cell; -1 when unlinked. The streak's runs are laid over the
	 * ratio's failed payments, and forced failures count in both, so
	 * "6 consecutive failures" never stands next to "100.0%". */
	int link;
};

struct sim_model {
	int nhist, ncells;
	struct hist_info *hist;   /* [nhist] */
	struct cell_info *cells;  /* [ncells] */
	struct hist_slot *hslots; /* [nhist * 2 * WINDOW] */
	struct cell_slot *cslots; /* [ncells * 2 * WINDOW] */
	int *run;                 /* [ncells * 2] streak runs */
	/* Counters since the start, like Prometheus's _total and _bucket
	 * series, so a poll can report its step's increase() for the
	 * evidence test: per histogram and cohort the bucket counts, per
	 * cell and cohort [requests, bad events]; and what each cell's
	 * last poll saw of them (latency cells: the buckets). */
	double *hcum;      /* [nhist * 2 * SIM_NB] */
	double *ccum;      /* [ncells * 2 * 2] */
	double *clast;     /* [ncells * 2 * SIM_NB] */
	int *cedge;        /* [ncells] latency: the slow-request
	                      boundary chosen at the last poll, -1 */
	int64_t last_slot; /* newest computed slot */
	bool have_slots;
	/* A histogram's buckets summed over the rate window ending at slot
	 * wsum_k[h * 2 + cohort] (INT64_MIN: none): its P50, P95 and P99
	 * cells read the same sums at a poll. Counts are whole numbers far
	 * below 2^53, so the sums are exact whichever cell makes them. */
	double *wsum;    /* [nhist * 2 * SIM_NB] */
	int64_t *wsum_k; /* [nhist * 2] */
};

static bool str_has(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

static double journey_rps(const struct sr_sim *sim, int j)
{
	double r = sim->sc && j >= 0 && j < SR_MAX_JOURNEYS ? sim->sc->rps[j] : 0;
	return r > 0 ? r : SIM_DEFAULT_RPS;
}

static double total_rps(const struct sr_sim *sim)
{
	double t = 0;
	for (int j = 0; j < sim->p->njourneys; j++)
		t += journey_rps(sim, j);
	return t > 0 ? t : SIM_DEFAULT_RPS;
}

/* Events behind a global KPI: the journey it is about when one is named
 * like its group ("payments") or prefixes its id ("search_ctr"), else all
 * traffic. */
static double kpi_rps(const struct sr_sim *sim, const struct sr_kpi *k, int journey)
{
	if (journey >= 0)
		return journey_rps(sim, journey);
	for (int j = 0; j < sim->p->njourneys; j++) {
		const char *id = sim->p->journeys[j].id;
		size_t n = strlen(id);
		if (n > 0 && (strcmp(id, k->group) == 0 || strncmp(k->id, id, n) == 0))
			return journey_rps(sim, j);
	}
	return total_rps(sim);
}

static double kpi_warn(const struct sr_kpi *k, double limit)
{
	return k->warn_margin > 0 ? k->warn_margin : 0.1 * fabs(limit);
}

/* P(X >= k) for X ~ Binomial(n, p). */
static double binom_tail(int n, double p, int k)
{
	if (k <= 0)
		return 1.0;
	if (k > n)
		return 0.0;
	double lp = log(p), lq = log1p(-p), logpmf = n * lq, cdf = 0;
	for (int i = 0; i < k; i++) {
		cdf += exp(logpmf);
		logpmf += log((double)(n - i) / (i + 1)) + lp - lq;
	}
	return cdf >= 1 ? 0 : 1 - cdf;
}

/* Largest bad-event rate (<= cap) such that, at every phase whose canary
 * window holds at least min_samples, the share of windows past the
 * warning line stays under SIM_NOISE_TAIL. good: the KPI counts good
 * events (value >= limit). */
static double sim_solve_rate(const struct sr_sim *sim, int kpi, double rps, bool good, double cap)
{
	const struct sr_policy *p = sim->p;
	const struct sr_kpi *k = &p->kpis[kpi];
	double lo = 1e-9, hi = cap;
	if (hi <= lo)
		return lo;
	for (int it = 0; it < 60; it++) {
		double mid = sqrt(lo * hi);
		bool ok = true;
		for (int ph = 0; ph < p->nphases && ok; ph++) {
			int n = (int)floor(rps * p->phases[ph].weight / 100.0 * 60.0);
			if (n < 1 || n < k->min_samples)
				continue;
			double lim = policy_kpi_limit(p, kpi, ph);
			double warn = kpi_warn(k, lim);
			double margin = good ? 100.0 - lim - warn : lim - warn; /* in % of events */
			if (margin <= 0)
				continue;
			int kbad = (int)floor(n * margin / 100.0) + 1;
			if (binom_tail(n, mid, kbad) > SIM_NOISE_TAIL)
				ok = false;
		}
		if (ok)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* A fixed control value for vs_* ratio KPIs, from what the name says. */
static double vs_ratio_base(const struct sr_kpi *k)
{
	const char *id = k->id;
	if (str_has(id, "error") || str_has(id, "fail"))
		return 0.8;
	if (str_has(id, "refund") || str_has(id, "void"))
		return 1.2;
	if (str_has(id, "ctr") || str_has(id, "click"))
		return 18.0;
	if (str_has(id, "conversion") || str_has(id, "submit"))
		return 45.0;
	if (str_has(id, "completion") || str_has(id, "registration"))
		return 62.0;
	return 30.0;
}

/* A fixed control value for vs_* gauges, from the unit. */
static double vs_gauge_base(const struct sr_kpi *k)
{
	const char *u = k->unit;
	if (strcmp(u, "ms") == 0)
		return 350.0;
	if (strcmp(u, "USD") == 0 || strcmp(u, "$") == 0)
		return 0.042;
	if (strcmp(u, "/min") == 0)
		return 12.0;
	if (strcmp(u, "/h") == 0)
		return 6.0;
	if (strcmp(u, "%") == 0)
		return 40.0;
	if (strcmp(u, "x") == 0)
		return 4.6;
	return 10.0;
}

static bool kind_is_vs(enum sr_kpi_kind k)
{
	return k == SR_KIND_VS_CONTROL || k == SR_KIND_VS_BASELINE;
}

static bool kind_is_min(enum sr_kpi_kind k)
{
	return k == SR_KIND_MIN || k == SR_KIND_RATIO_MIN;
}

static void sim_base_ratio(const struct sr_sim *sim, struct cell_info *ci)
{
	const struct sr_kpi *k = &sim->p->kpis[ci->kpi];
	double lim = policy_kpi_limit(sim->p, ci->kpi, 0);
	if (kind_is_vs(k->kind)) {
		ci->base = vs_ratio_base(k);
		/* Noise: a sixth of the tolerance at twice min_samples (at least
		 * 100 events), shrinking as 1/sqrt(n) beyond. */
		ci->n_ref = 2.0 * (k->min_samples > 50 ? k->min_samples : 50);
		ci->rel_sd = (isfinite(lim) && lim > 0 ? lim : 5.0) / 100.0 / 6.0;
	} else if (kind_is_min(k->kind)) {
		ci->good_ratio = true;
		double warn = kpi_warn(k, lim);
		double cap = (100.0 - lim - warn) / 2.0 / 100.0;
		double q = cap > 0 ? sim_solve_rate(sim, ci->kpi, ci->rps, true, cap) : 1e-6;
		ci->base = 100.0 * (1.0 - q);
	} else if (k->kind == SR_KIND_MAX) {
		double cap = isfinite(lim) && lim > 0 ? lim / 2.0 / 100.0 : 0.01;
		ci->base = 100.0 * sim_solve_rate(sim, ci->kpi, ci->rps, false, cap);
	} else {
		ci->base = 1.0; /* monitor, or a streak counted as a ratio */
	}
}

/* An earlier ratio cell of cell c's KPI at the same traffic, or NULL. */
static const struct cell_info *ratio_twin(const struct sim_model *m, int c)
{
	const struct cell_info *ci = &m->cells[c];
	for (int o = c - 1; o >= 0; o--) {
		const struct cell_info *t = &m->cells[o];
		if (t->kpi == ci->kpi && t->signal == SR_SIG_RATIO && t->rps == ci->rps)
			return t;
	}
	return NULL;
}

static void sim_base_gauge(const struct sr_sim *sim, struct cell_info *ci)
{
	const struct sr_kpi *k = &sim->p->kpis[ci->kpi];
	double lim = policy_kpi_limit(sim->p, ci->kpi, 0);
	/* A gauge is a reading, not a count: its noise is drawn once per
	 * reading (observe_cell) and does not depend on how many slots of
	 * the window carry traffic. */
	ci->rel_sd = 0.01;
	if (kind_is_vs(k->kind)) {
		ci->base = vs_gauge_base(k);
		ci->rel_sd = (isfinite(lim) && lim > 0 ? lim : 5.0) / 100.0 / 8.0;
	} else if (kind_is_min(k->kind)) {
		double warn = kpi_warn(k, lim);
		double m = 2.0 * warn > 0.05 * fabs(lim) ? 2.0 * warn : 0.05 * fabs(lim);
		ci->base = lim + warn + m;
		if (strcmp(k->unit, "%") == 0 && ci->base > 99.99)
			ci->base = 99.99;
	} else if (k->kind == SR_KIND_MAX && isfinite(lim) && lim > 0) {
		ci->base = 0.5 * lim;
	} else {
		ci->base = 10.0;
	}
}

static const struct sim_latency *latency_of(const struct sr_policy *p, int journey)
{
	if (journey >= 0)
		for (size_t i = 0; i < sizeof sim_latencies / sizeof sim_latencies[0]; i++)
			if (strcmp(p->journeys[journey].id, sim_latencies[i].journey) == 0)
				return &sim_latencies[i];
	return &sim_latency_default;
}

static int sim_model_build(struct sr_sim *sim)
{
	const struct sr_policy *p = sim->p;
	struct sim_model *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	sim->m = m;
	m->nhist = p->njourneys + 1; /* the last one is the global series */
	m->ncells = p->ncells;
	m->hist = calloc((size_t)m->nhist, sizeof *m->hist);
	m->cells = calloc((size_t)(m->ncells > 0 ? m->ncells : 1), sizeof *m->cells);
	m->hslots = calloc((size_t)m->nhist * 2 * SIM_WINDOW_SLOTS, sizeof *m->hslots);
	m->cslots = calloc((size_t)(m->ncells > 0 ? m->ncells : 1) * 2 * SIM_WINDOW_SLOTS,
	                   sizeof *m->cslots);
	m->run = calloc((size_t)(m->ncells > 0 ? m->ncells : 1) * 2, sizeof *m->run);
	m->hcum = calloc((size_t)m->nhist * 2 * SIM_NB, sizeof *m->hcum);
	m->ccum = calloc((size_t)(m->ncells > 0 ? m->ncells : 1) * 2 * 2, sizeof *m->ccum);
	m->clast = calloc((size_t)(m->ncells > 0 ? m->ncells : 1) * 2 * SIM_NB, sizeof *m->clast);
	m->cedge = malloc((size_t)(m->ncells > 0 ? m->ncells : 1) * sizeof *m->cedge);
	for (int c = 0; m->cedge && c < m->ncells; c++)
		m->cedge[c] = -1;
	m->wsum = malloc((size_t)m->nhist * 2 * SIM_NB * sizeof *m->wsum);
	m->wsum_k = malloc((size_t)m->nhist * 2 * sizeof *m->wsum_k);
	if (!m->hist || !m->cells || !m->hslots || !m->cslots || !m->run || !m->hcum || !m->ccum ||
	    !m->clast || !m->cedge || !m->wsum || !m->wsum_k)
		return -1;
	for (int i = 0; i < m->nhist * 2; i++)
		m->wsum_k[i] = INT64_MIN;

	for (int h = 0; h < m->nhist; h++) {
		int j = h < p->njourneys ? h : -1;
		const struct sim_latency *l = latency_of(p, j);
		m->hist[h].journey = j;
		m->hist[h].rps = j >= 0 ? journey_rps(sim, j) : total_rps(sim);
		m->hist[h].mu = log(l->median);
		m->hist[h].sigma = log(l->p95 / l->median) / 1.6448536269514722;
	}
	for (int c = 0; c < m->ncells; c++) {
		struct cell_info *ci = &m->cells[c];
		const struct sr_kpi *k = &p->kpis[p->cells[c].kpi];
		ci->kpi = p->cells[c].kpi;
		ci->journey = p->cells[c].journey;
		ci->signal = k->signal;
		ci->hist = -1;
		ci->rps = kpi_rps(sim, k, ci->journey);
		switch (k->signal) {
		case SR_SIG_LATENCY:
			ci->hist = ci->journey >= 0 ? ci->journey : p->njourneys;
			break;
		case SR_SIG_RATIO: {
			/* The same KPI at the same traffic solves to the same
			 * rate: a policy with many journeys solves each KPI once,
			 * not once a journey (the solve was a third of a restart
			 * at 50 journeys). */
			const struct cell_info *twin = ratio_twin(m, c);
			if (twin) {
				ci->base = twin->base;
				ci->n_ref = twin->n_ref;
				ci->rel_sd = twin->rel_sd;
				ci->good_ratio = twin->good_ratio;
			} else {
				sim_base_ratio(sim, ci);
			}
			break;
		}
		case SR_SIG_GAUGE: sim_base_gauge(sim, ci); break;
		case SR_SIG_STREAK: ci->base = 0; break;
		}
		ci->link = -1;
	}
	for (int c = 0; c < m->ncells; c++) {
		struct cell_info *si = &m->cells[c];
		if (si->signal != SR_SIG_STREAK)
			continue;
		for (int o = 0; o < m->ncells && si->link < 0; o++) {
			struct cell_info *ri = &m->cells[o];
			if (ri->signal == SR_SIG_RATIO && ri->good_ratio && ri->link < 0 &&
			    ri->journey == si->journey &&
			    strcmp(p->kpis[ri->kpi].group, p->kpis[si->kpi].group) == 0) {
				si->link = o;
				ri->link = c;
			}
		}
	}
	for (size_t i = 0; i < (size_t)m->nhist * 2 * SIM_WINDOW_SLOTS; i++)
		m->hslots[i].k = INT64_MIN;
	/* A latency cell reads its journey's histogram (hslots), never these:
	 * its slots are left untouched, not resident (most cells of a policy
	 * with many journeys are latency cells). */
	for (int c = 0; c < m->ncells; c++)
		if (m->cells[c].signal != SR_SIG_LATENCY)
			for (size_t i = 0; i < 2 * SIM_WINDOW_SLOTS; i++)
				m->cslots[(size_t)c * 2 * SIM_WINDOW_SLOTS + i].k = INT64_MIN;
	return 0;
}

static void sim_model_free(struct sim_model *m)
{
	if (!m)
		return;
	free(m->hist);
	free(m->cells);
	free(m->hslots);
	free(m->cslots);
	free(m->run);
	free(m->hcum);
	free(m->ccum);
	free(m->clast);
	free(m->cedge);
	free(m->wsum);
	free(m->wsum_k);
	free(m);
}

/* ---- effects ------------------------------------------------------------------ */

static bool effect_active(const struct sr_sim *sim, const struct sr_effect *e, sr_ms t)
{
	return t >= sim->t0 + (sr_ms)e->from_min * SR_MS_PER_MIN &&
	       t < sim->t0 + (sr_ms)e->to_min * SR_MS_PER_MIN;
}

static bool effect_cohort(const struct sr_effect *e, int cohort)
{
	return e->cohort == SR_COHORT_BOTH || (int)e->cohort == cohort;
}

static bool kpi_covers(const struct sr_kpi *k, int journey)
{
	if (k->njourneys == 0)
		return journey < 0;
	for (int i = 0; i < k->njourneys; i++)
		if (k->journeys[i] == journey)
			return true;
	return false;
}

/* Does a value effect touch histogram series `journey` (-1 global)? */
static bool effect_hits_hist(const struct sr_policy *p, const struct sr_effect *e, int journey)
{
	if (e->op > SR_FX_SET || e->kpi < 0 || e->kpi >= p->nkpis)
		return false;
	const struct sr_kpi *k = &p->kpis[e->kpi];
	if (k->signal != SR_SIG_LATENCY)
		return false;
	if (e->journey >= 0)
		return e->journey == journey && kpi_covers(k, journey);
	return kpi_covers(k, journey);
}

static bool effect_hits_cell(const struct sr_effect *e, const struct cell_info *ci)
{
	return e->kpi == ci->kpi && (e->journey < 0 || e->journey == ci->journey);
}

static double apply_op(double v, const struct sr_effect *e)
{
	switch (e->op) {
	case SR_FX_SCALE: return v * e->amount;
	case SR_FX_ADD: return v + e->amount;
	case SR_FX_SET: return e->amount;
	default: return v;
	}
}

/* ---- slots --------------------------------------------------------------------- */

static double cohort_share(const struct sr_sim *sim, int cohort)
{
	double w = sim->weight / 100.0;
	return cohort == 0 ? w : 1.0 - w;
}

/* Add a computed slot to the histogram's counters. */
static void hist_count(struct sim_model *m, int h, int cohort, const struct hist_slot *s)
{
	double *cum = &m->hcum[((size_t)h * 2 + (size_t)cohort) * SIM_NB];
	for (int b = 0; b < SIM_NB; b++)
		cum[b] += s->b[b];
}

/* The log-normal latency model, scaled and shifted by the slot's
 * effects, as per-bucket odds: bucket b's share of the requests not in
 * buckets below it (hist_info.pb). */
static const double *bucket_odds(struct hist_info *hi, double scale, double add)
{
	if (hi->pb_valid && hi->pb_scale == scale && hi->pb_add == add)
		return hi->pb;
	double prev = 0;
	for (int b = 0; b < SIM_NB - 1; b++) {
		double x = sim_bounds[b] - add;
		double F = x <= 0 ? 0
		                  : 0.5 * erfc(-(log(x / scale) - hi->mu) /
		                               (hi->sigma * 1.4142135623730951));
		if (F < prev)
			F = prev;
		hi->pb[b] = prev < 1 ? (F - prev) / (1 - prev) : 1;
		prev = F;
	}
	hi->pb_valid = true;
	hi->pb_scale = scale;
	hi->pb_add = add;
	return hi->pb;
}

static void hist_slot_compute(struct sr_sim *sim, int h, int cohort, int64_t k)
{
	struct sim_model *m = sim->m;
	const struct hist_info *hi = &m->hist[h];
	struct hist_slot *s =
	    &m->hslots[((size_t)h * 2 + (size_t)cohort) * SIM_WINDOW_SLOTS + ring(k)];
	struct rng r;
	rng_for(&r, sim->seed, 1000u + (uint64_t)h * 2u + (uint64_t)cohort, k);
	memset(s, 0, sizeof *s);
	s->k = k;
	s->n = rng_round(&r, hi->rps * cohort_share(sim, cohort) * (SIM_SLOT_MS / 1000.0));
	if (s->n <= 0)
		return;

	/* Latency effects of this slot: every request is scaled, shifted or
	 * replaced. */
	double scale = 1, add = 0, set = NAN;
	sr_ms t = k * SIM_SLOT_MS;
	const struct sr_scenario *sc = sim->sc;
	for (int i = 0; sc && i < sc->neffects; i++) {
		const struct sr_effect *e = &sc->effects[i];
		if (!effect_active(sim, e, t) || !effect_cohort(e, cohort) ||
		    !effect_hits_hist(sim->p, e, hi->journey))
			continue;
		if (e->op == SR_FX_SCALE)
			scale *= e->amount;
		else if (e->op == SR_FX_ADD)
			add += e->amount;
		else if (e->op == SR_FX_SET)
			set = e->amount;
	}
	if (isfinite(set)) {
		int b = 0;
		while (b < SIM_NB - 1 && set > sim_bounds[b])
			b++;
		s->b[b] = s->n;
		hist_count(m, h, cohort, s);
		return;
	}
	if (scale <= 0)
		scale = 1e-9;
	const double *pb = bucket_odds(&m->hist[h], scale, add);
	double left = s->n;
	for (int b = 0; b < SIM_NB - 1 && left > 0; b++) {
		double c = rng_binom(&r, left, pb[b]);
		s->b[b] = c;
		left -= c;
	}
	s->b[SIM_NB - 1] += left;
	hist_count(m, h, cohort, s);
}

/* A streak cell's effects on slot k: scale changes the failure
 * probability *pfail (other cells: the model value); set and add force
 * that many failures in a row, once, in the first slot of the effect's
 * window (*inject). */
static void streak_effects(const struct sr_sim *sim, const struct cell_info *ci, int cohort,
                           int64_t k, double *v, int *inject)
{
	sr_ms t = k * SIM_SLOT_MS;
	const struct sr_scenario *sc = sim->sc;
	for (int i = 0; sc && i < sc->neffects; i++) {
		const struct sr_effect *e = &sc->effects[i];
		if (e->op > SR_FX_SET || !effect_active(sim, e, t) || !effect_cohort(e, cohort) ||
		    !effect_hits_cell(e, ci))
			continue;
		if (ci->signal != SR_SIG_STREAK) {
			*v = apply_op(*v, e);
			continue;
		}
		if (e->op == SR_FX_SCALE) {
			*v *= e->amount;
		} else {
			sr_ms from = sim->t0 + (sr_ms)e->from_min * SR_MS_PER_MIN;
			int64_t first = from >= 0 ? (from + SIM_SLOT_MS - 1) / SIM_SLOT_MS
			                          : from / SIM_SLOT_MS;
			if (k == first)
				*inject += (int)e->amount;
		}
	}
}

static void cell_slot_compute(struct sr_sim *sim, int c, int cohort, int64_t k)
{
	struct sim_model *m = sim->m;
	const struct cell_info *ci = &m->cells[c];
	struct cell_slot *s =
	    &m->cslots[((size_t)c * 2 + (size_t)cohort) * SIM_WINDOW_SLOTS + ring(k)];
	int *run = &m->run[c * 2 + cohort];
	struct rng r;
	rng_for(&r, sim->seed, 100000u + (uint64_t)c * 2u + (uint64_t)cohort, k);
	memset(s, 0, sizeof *s);
	s->k = k;
	s->n = rng_round(&r, ci->rps * cohort_share(sim, cohort) * (SIM_SLOT_MS / 1000.0));

	double v = ci->signal == SR_SIG_STREAK ? SIM_STREAK_PFAIL : ci->base;
	int inject = 0;
	streak_effects(sim, ci, cohort, k, &v, &inject);
	if (ci->signal == SR_SIG_RATIO && ci->link >= 0) {
		/* The linked streak's effects are these payments' too: its
		 * scale changes their failure rate, its forced run fails them. */
		double pf = 1.0 - v / 100.0;
		streak_effects(sim, &m->cells[ci->link], cohort, k, &pf, &inject);
		v = 100.0 * (1.0 - pf);
	}

	switch (ci->signal) {
	case SR_SIG_RATIO: {
		if (s->n <= 0)
			break;
		if (kind_is_vs(sim->p->kpis[ci->kpi].kind)) {
			double sd = ci->rel_sd * sqrt(ci->n_ref / s->n);
			double val = v * (1.0 + sd * rng_gauss(&r));
			s->sum = s->n * (val < 0 ? 0 : val > 100 ? 100 : val);
			break;
		}
		double pct = v < 0 ? 0 : v > 100 ? 100 : v;
		double bad = rng_binom(&r, s->n, ci->good_ratio ? 1.0 - pct / 100.0 : pct / 100.0);
		if (ci->link >= 0) {
			/* forced failures are payments of this slot that failed */
			double forced = inject < s->n - bad ? inject : s->n - bad;
			s->fails = bad;
			s->inject = (int)forced;
			bad += forced;
		}
		s->sum = 100.0 * (ci->good_ratio ? s->n - bad : bad);
		double *cum = &m->ccum[((size_t)c * 2 + (size_t)cohort) * 2];
		cum[0] += s->n;
		cum[1] += bad;
		break;
	}
	case SR_SIG_GAUGE:
		s->sum = s->n * v; /* the model value; noise is added per reading */
		break;
	case SR_SIG_STREAK: {
		s->maxrun = *run;
		if (ci->link >= 0) {
			/* The linked ratio's payments of this slot (computed first):
			 * its forced failures in a row, then its other failures at
			 * random places among the rest. */
			const struct cell_slot *rs =
			    &m->cslots[((size_t)ci->link * 2 + (size_t)cohort) * SIM_WINDOW_SLOTS +
			               ring(k)];
			s->n = rs->n;
			*run += rs->inject;
			s->maxrun = *run > s->maxrun ? *run : s->maxrun;
			double left = rs->n - rs->inject, fails = rs->fails;
			for (; left > 0; left--) {
				if (fails > 0 && rng_uniform(&r) * left < fails) {
					fails--;
					(*run)++;
					s->maxrun = *run > s->maxrun ? *run : s->maxrun;
				} else {
					*run = 0;
				}
			}
			break;
		}
		if (inject > 0) {
			*run += inject;
			s->maxrun = *run > s->maxrun ? *run : s->maxrun;
		}
		for (int i = 0; i < (int)s->n; i++) {
			if (rng_uniform(&r) < v) {
				(*run)++;
				s->maxrun = *run > s->maxrun ? *run : s->maxrun;
			} else {
				*run = 0;
			}
		}
		break;
	}
	case SR_SIG_LATENCY: break;
	}
}

static void sim_compute_slot(struct sr_sim *sim, int64_t k)
{
	struct sim_model *m = sim->m;
	for (int cohort = 0; cohort < 2; cohort++) {
		for (int h = 0; h < m->nhist; h++)
			hist_slot_compute(sim, h, cohort, k);
		/* streaks last: a linked one reads its ratio's slot */
		for (int pass = 0; pass < 2; pass++)
			for (int c = 0; c < m->ncells; c++)
				if (m->cells[c].signal != SR_SIG_LATENCY &&
				    (m->cells[c].signal == SR_SIG_STREAK) == (pass == 1))
					cell_slot_compute(sim, c, cohort, k);
	}
}

static int64_t slot_of(sr_ms t)
{
	return t >= 0 ? t / SIM_SLOT_MS : -((-t + SIM_SLOT_MS - 1) / SIM_SLOT_MS);
}

/* Bring the slots up to the one before `now` (the last complete one). */
static void sim_advance(struct sr_sim *sim, sr_ms now)
{
	struct sim_model *m = sim->m;
	int64_t cur = slot_of(now);
	int64_t first = m->last_slot + 1;
	if (!m->have_slots || first < cur - SIM_WINDOW_SLOTS - SIM_MAX_GAP ||
	    cur - 1 < m->last_slot) {
		/* First poll, a long gap or time went back: start a fresh window
		 * (streak runs start from zero). */
		first = cur - SIM_WINDOW_SLOTS;
		memset(m->run, 0, (size_t)m->ncells * 2 * sizeof *m->run);
	}
	for (int64_t k = first; k < cur; k++)
		sim_compute_slot(sim, k);
	if (first < cur)
		for (int i = 0; i < m->nhist * 2; i++)
			m->wsum_k[i] = INT64_MIN; /* slots changed under the sums */
	m->last_slot = cur - 1;
	m->have_slots = true;
}

/* ---- observations ---------------------------------------------------------- */

static void obs_noseries(struct sr_obs *o, sr_ms now)
{
	o->kind = SR_OBS_NOSERIES;
	o->value = NAN;
	o->samples = 0;
	o->at = now;
	o->degraded = false;
	o->has_msg = false;
}

static void obs_ok(struct sr_obs *o, double v, double n, sr_ms now)
{
	o->kind = SR_OBS_OK;
	o->value = v;
	o->samples = n;
	o->at = now;
	o->degraded = false;
	o->has_msg = false;
}

/* The cumulative bucket counts of histogram h's cohort over the rate
 * window that ends before slot cur, summed once a poll. */
static const double *hist_window(struct sim_model *m, int h, int cohort, int64_t cur)
{
	size_t hc = (size_t)h * 2 + (size_t)cohort;
	double *cum = &m->wsum[hc * SIM_NB];
	if (m->wsum_k[hc] == cur)
		return cum;
	double counts[SIM_NB] = {0};
	for (int64_t k = cur - SIM_WINDOW_SLOTS; k < cur; k++) {
		const struct hist_slot *s = &m->hslots[hc * SIM_WINDOW_SLOTS + ring(k)];
		if (s->k != k)
			continue;
		for (int b = 0; b < SIM_NB; b++)
			counts[b] += s->b[b];
	}
	double acc = 0;
	for (int b = 0; b < SIM_NB; b++) {
		acc += counts[b];
		cum[b] = acc;
	}
	m->wsum_k[hc] = cur;
	return cum;
}

static void observe_hist(struct sr_sim *sim, int c, int cohort, struct sr_obs *o, sr_ms now)
{
	struct sim_model *m = sim->m;
	const struct cell_info *ci = &m->cells[c];
	const double *cum = hist_window(m, ci->hist, cohort, slot_of(now));
	double acc = cum[SIM_NB - 1];
	if (acc <= 0) {
		obs_noseries(o, now);
		return;
	}
	double q = sim->p->kpis[ci->kpi].quantile;
	obs_ok(o, sim_histogram_quantile(q > 0 ? q : 0.95, sim_bounds, cum, SIM_NB), acc, now);
}

static void observe_cell(struct sr_sim *sim, int c, int cohort, struct sr_obs *o, sr_ms now)
{
	struct sim_model *m = sim->m;
	const struct cell_info *ci = &m->cells[c];
	double n = 0, sum = 0;
	int maxrun = 0;
	int64_t cur = slot_of(now);
	for (int64_t k = cur - SIM_WINDOW_SLOTS; k < cur; k++) {
		const struct cell_slot *s =
		    &m->cslots[((size_t)c * 2 + (size_t)cohort) * SIM_WINDOW_SLOTS + ring(k)];
		if (s->k != k)
			continue;
		n += s->n;
		sum += s->sum;
		maxrun = s->maxrun > maxrun ? s->maxrun : maxrun;
	}
	if (n <= 0) {
		obs_noseries(o, now);
		return;
	}
	if (ci->signal == SR_SIG_STREAK) {
		obs_ok(o, (double)maxrun, n, now);
	} else if (ci->signal == SR_SIG_GAUGE) {
		/* One draw per (cell, cohort, slot of `now`): a function of time,
		 * not of the poll rhythm. */
		struct rng r;
		rng_for(&r, sim->seed, 200000u + (uint64_t)c * 2u + (uint64_t)cohort, cur);
		obs_ok(o, sum / n * (1.0 + ci->rel_sd * rng_gauss(&r)), n, now);
	} else {
		obs_ok(o, sum / n, n, now);
	}
}

/* The poll step's counts of cell c (snapshot.h: step_n, step_bad), the
 * increase of the counters since this cell's last poll. Ratio cells:
 * requests and bad events (for a "good" ratio, the complement: failed
 * payments). Latency cells: requests, and those slower than the first
 * bucket boundary at or above the control's P95 - the same boundary for
 * both cohorts, as a PromQL query would use - as measured at the
 * previous poll: the test is valid only if the boundary is fixed
 * before the step's split is seen, and one picked from this step's own
 * control data would lean away from control's slow requests. (In the
 * 1000-day A/A run the two choices gave the same false-alarm counts:
 * the P95 rarely changes bucket between polls; bench/README.md.) The
 * first poll has no boundary yet and reports no step. */
static void observe_steps(struct sr_sim *sim, int c)
{
	struct sim_model *m = sim->m;
	const struct cell_info *ci = &m->cells[c];
	struct sr_obs *obs[2] = {&sim->snap.canary[c], &sim->snap.control[c]};
	if (ci->signal == SR_SIG_RATIO && !kind_is_vs(sim->p->kpis[ci->kpi].kind)) {
		for (int cohort = 0; cohort < 2; cohort++) {
			const double *cum = &m->ccum[((size_t)c * 2 + (size_t)cohort) * 2];
			double *last = &m->clast[((size_t)c * 2 + (size_t)cohort) * SIM_NB];
			obs[cohort]->step_n = cum[0] - last[0];
			obs[cohort]->step_bad = cum[1] - last[1];
			last[0] = cum[0];
			last[1] = cum[1];
		}
		return;
	}
	if (ci->signal != SR_SIG_LATENCY)
		return;
	double p95 = isfinite(obs[1]->value) ? obs[1]->value : obs[0]->value;
	int next = 0;
	while (next < SIM_NB - 2 && !(sim_bounds[next] >= p95))
		next++;
	int edge = m->cedge[c];
	m->cedge[c] = next;
	for (int cohort = 0; cohort < 2; cohort++) {
		const double *cum = &m->hcum[((size_t)ci->hist * 2 + (size_t)cohort) * SIM_NB];
		double *last = &m->clast[((size_t)c * 2 + (size_t)cohort) * SIM_NB];
		double n = 0, slow = 0;
		for (int b = 0; b < SIM_NB; b++) {
			double d = cum[b] - last[b];
			n += d;
			if (b > edge)
				slow += d;
			last[b] = cum[b];
		}
		obs[cohort]->step_n = edge >= 0 ? n : NAN;
		obs[cohort]->step_bad = edge >= 0 ? slow : NAN;
		obs[cohort]->step_bound = edge >= 0 ? sim_bounds[edge] : NAN;
	}
}

/* Source effects (whole source with kpi -1, or one KPI's cells). */
static bool source_effect_hits(const struct sr_sim *sim, const struct sr_effect *e, int c)
{
	if (e->kpi < 0)
		return true;
	const struct sr_cell *cell = &sim->p->cells[c];
	return e->kpi == cell->kpi && (e->journey < 0 || e->journey == cell->journey);
}

static void sim_poll(struct sr_source *src, sr_ms now, sr_source_cb cb, void *ud)
{
	struct sr_sim *sim = src->impl;
	const struct sr_scenario *sc = sim->sc;
	sim->now = now;
	sim_advance(sim, now);
	sim->snap.ncells = sim->p->ncells;
	for (int c = 0; c < sim->p->ncells; c++) {
		bool frozen = false, failed = false;
		for (int i = 0; sc && i < sc->neffects; i++) {
			const struct sr_effect *e = &sc->effects[i];
			if (e->op < SR_FX_SOURCE_ERROR || !effect_active(sim, e, now) ||
			    !source_effect_hits(sim, e, c))
				continue;
			if (e->op == SR_FX_SOURCE_ERROR)
				failed = true;
			else
				frozen = true;
		}
		if (failed) {
			snapshot_obs_fail(&sim->snap, &sim->snap.canary[c],
			                  "simulated source failure (scenario effect \"error\")");
			snapshot_obs_fail(&sim->snap, &sim->snap.control[c],
			                  "simulated source failure (scenario effect \"error\")");
			continue;
		}
		if (frozen)
			continue; /* old values, old `at`: the engine sees them age */
		for (int cohort = 0; cohort < 2; cohort++) {
			struct sr_obs *o = cohort == 0 ? &sim->snap.canary[c]
			                               : &sim->snap.control[c];
			if (sim->m->cells[c].signal == SR_SIG_LATENCY)
				observe_hist(sim, c, cohort, o, now);
			else
				observe_cell(sim, c, cohort, o, now);
		}
		observe_steps(sim, c);
	}
	if (cb)
		cb(ud, &sim->snap);
}

static void sim_source_destroy(struct sr_source *src)
{
	(void)src; /* borrowed: sim_destroy frees the simulator */
}

static const struct sr_source_ops sim_source_ops = {
    .name = "sim",
    .poll = sim_poll,
    .destroy = sim_source_destroy,
};

/* ---- public face ----------------------------------------------------------- */

struct sr_sim *sim_create(const struct sr_policy *p, const struct sr_scenario *sc)
{
	struct sr_sim *sim = calloc(1, sizeof *sim);
	if (!sim)
		return NULL;
	sim->p = p;
	sim->sc = sc;
	sim->seed = sc ? sc->seed : 1;
	sim->t0 = sc ? sc->t0 : 0;
	sim->weight = 0;
	sim->source.ops = &sim_source_ops;
	sim->source.impl = sim;
	snapshot_clear(&sim->snap, p->ncells);
	sim_edge_attach(sim);
	if (sim_model_build(sim) != 0) {
		sim_destroy(sim);
		return NULL;
	}
	return sim;
}

void sim_destroy(struct sr_sim *sim)
{
	if (!sim)
		return;
	sim_model_free(sim->m);
	free(sim);
}

struct sr_source *sim_source(struct sr_sim *sim)
{
	return &sim->source;
}

struct sr_edge *sim_edge(struct sr_sim *sim)
{
	return &sim->edge;
}

int sim_weight(const struct sr_sim *sim)
{
	return sim->weight;
}

double sim_model_value(const struct sr_sim *sim, int cell)
{
	if (!sim || cell < 0 || cell >= sim->m->ncells)
		return NAN;
	const struct cell_info *ci = &sim->m->cells[cell];
	if (ci->signal == SR_SIG_LATENCY)
		return exp(sim->m->hist[ci->hist].mu); /* the median */
	return ci->signal == SR_SIG_STREAK ? 0 : ci->base;
}

bool sim_edge_drained(const struct sr_sim *sim)
{
	return sim->drained;
}

long sim_edge_calls(const struct sr_sim *sim)
{
	return sim->edge_calls;
}
