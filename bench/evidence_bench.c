/* evidence_bench.c - the evidence test's error rates and power (evidence.h).
 *
 *   evidence_bench aa POLICY SCENARIO RUNS   A/A: false alarms over whole days
 *   evidence_bench power [RUNS]              median bad events to detection
 *
 * aa: plays SCENARIO (healthy: canary identical to control) RUNS times
 * with seeds 1..RUNS through the runner and the simulator, poll by poll,
 * from start_min to end_min, exactly as the console would; the engine's
 * own tests (the policy's tolerance, 1.2) are checked at every poll, and
 * beside them a test with tolerance 1.0 - where the null is exactly true
 * and the bound alpha is tight - is fed the same step counts. A test
 * "falsely alarms" when it ever says worse. Prints the share of tests
 * and of days with any false alarm, with Wilson 95% intervals.
 *
 * power: bad events drawn one by one (each the canary's with probability
 * theta(rho, r)), the test checked after every event (batch 1) and after
 * every 10 (batch 10), for canary shares 5/25/50% and relative risks 1.5
 * and 2, tolerance 1.0 and 1.2; RUNS runs each (default 2000). Prints the
 * median events to "worse" beside two theories: Wald's ln(1/alpha)/KL (a
 * test that knew r) and the Brownian first-passage median of the
 * mixture's best component (level ln(1/alpha) + ln 8).
 * Figures and commands: bench/README.md.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/evidence.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"

static void wilson(double k, double n, double *lo, double *hi)
{
	double z = 1.959963984540054, p = k / n, d = 1 + z * z / n;
	double c = (p + z * z / (2 * n)) / d,
	       h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h;
}

static int aa(const char *policy_path, const char *scen_path, int runs)
{
	struct sr_policy *p = calloc(1, sizeof *p);
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_runner *r = calloc(1, sizeof *r);
	struct sr_policy_error err;
	char msg[1024];
	if (!p || !sc || !r)
		return 1;
	if (policy_load_file(p, policy_path, &err) != 0 ||
	    scenario_load_file(sc, p, scen_path, &err) != 0) {
		policy_error_format(&err, msg, sizeof msg);
		fprintf(stderr, "%s\n", msg);
		return 2;
	}
	static struct sr_evidence tight[SR_MAX_CELLS];
	struct sr_evidence_cfg tight_cfg = {true, 1.0, 1.5, 0.05, SR_EVID_DISPLAY};
	long tests = 0, alarms = 0, alarms_tight = 0, days_alarm = 0, days_alarm_tight = 0;
	static long by_kpi[SR_MAX_KPIS], by_kpi_tight[SR_MAX_KPIS];
	double events = 0;
	for (int run = 1; run <= runs; run++) {
		sc->seed = (uint64_t)run;
		struct sr_sim *sim = sim_create(p, sc);
		runner_init(r, p, sc, sim_source(sim), sim_edge(sim), false, "bench");
		r->sim = sim;
		for (int i = 0; i < p->ncells; i++)
			evidence_init(&tight[i], &tight_cfg);
		sr_ms end = sc->t0 + (sr_ms)sc->end_min * SR_MS_PER_MIN;
		for (sr_ms at = sc->t0 + (sr_ms)sc->start_min * SR_MS_PER_MIN; at <= end;
		     at += p->poll_ms) {
			runner_advance(r, at);
			const struct sr_snapshot *s = &r->held;
			for (int i = 0; r->have_held && i < p->ncells; i++) {
				if (!p->kpis[p->cells[i].kpi].evidence.enabled ||
				    s->canary[i].kind != SR_OBS_OK)
					continue;
				evidence_step(&tight[i], &tight_cfg, s->canary[i].step_n,
				              s->canary[i].step_bad, s->control[i].step_n,
				              s->control[i].step_bad, s->canary[i].at);
			}
		}
		bool any = false, any_tight = false;
		for (int i = 0; i < p->ncells; i++) {
			if (!p->kpis[p->cells[i].kpi].evidence.enabled)
				continue;
			tests++;
			alarms += r->engine.evidence[i].worse_at != 0;
			alarms_tight += tight[i].worse_at != 0;
			by_kpi[p->cells[i].kpi] += r->engine.evidence[i].worse_at != 0;
			by_kpi_tight[p->cells[i].kpi] += tight[i].worse_at != 0;
			any = any || r->engine.evidence[i].worse_at != 0;
			any_tight = any_tight || tight[i].worse_at != 0;
			events += r->engine.evidence[i].canary_bad +
			          r->engine.evidence[i].control_bad;
		}
		days_alarm += any;
		days_alarm_tight += any_tight;
		sim_destroy(sim);
	}
	double lo, hi;
	printf("A/A over %d days of %s (seeds 1..%d), %ld tests (%ld per day), %.0f bad events "
	       "per test on average, checked every %llds\n",
	       runs, sc->name, runs, tests, tests / runs, events / (double)tests,
	       (long long)(p->poll_ms / 1000));
	wilson((double)alarms, (double)tests, &lo, &hi);
	printf("  tolerance 1.2 (policy): tests ever worse %ld/%ld = %.4f [%.4f, %.4f]; days with "
	       "any %ld/%d\n",
	       alarms, tests, (double)alarms / (double)tests, lo, hi, days_alarm, runs);
	wilson((double)alarms_tight, (double)tests, &lo, &hi);
	printf("  tolerance 1.0 (tight):  tests ever worse %ld/%ld = %.4f [%.4f, %.4f]; days with "
	       "any %ld/%d\n",
	       alarms_tight, tests, (double)alarms_tight / (double)tests, lo, hi, days_alarm_tight,
	       runs);
	printf("  alpha = 0.05 per test; false alarms by KPI (tolerance 1.2 / 1.0):");
	for (int k = 0; k < p->nkpis; k++)
		if (p->kpis[k].evidence.enabled)
			printf(" %s %ld/%ld", p->kpis[k].id, by_kpi[k], by_kpi_tight[k]);
	printf("\n");
	free(p);
	free(sc);
	free(r);
	return 0;
}

/* ---- power ---------------------------------------------------------------- */

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of the first passage of Brownian motion with drift mu and
 * variance s2 per unit to level a: inverse Gaussian(m = a/mu, l = a^2/s2). */
static double ig_median(double a, double mu, double s2)
{
	double m = a / mu, l = a * a / s2, lo = 0, hi = 100 * m;
	for (int i = 0; i < 200; i++) {
		double x = (lo + hi) / 2, q = sqrt(l / x);
		double F = 0.5 * erfc(-q * (x / m - 1) / sqrt(2)) +
		           exp(2 * l / m) * 0.5 * erfc(q * (x / m + 1) / sqrt(2));
		if (F < 0.5)
			lo = x;
		else
			hi = x;
	}
	return (lo + hi) / 2;
}

static double mixture_theory(double rho, double r, double r0, double alpha)
{
	double best = INFINITY;
	double t = evidence_theta(rho, r), t0 = evidence_theta(rho, r0);
	for (int k = 1; k <= EVIDENCE_ALTS; k++) {
		double rk = r0 * pow(EVIDENCE_GRID_RATIO, k), tk = evidence_theta(rho, rk);
		double a = log(tk / t0), b = log((1 - tk) / (1 - t0));
		double mu = t * a + (1 - t) * b, s2 = t * (1 - t) * (a - b) * (a - b);
		if (mu <= 0)
			continue;
		double med = ig_median(-log(alpha) + log((double)EVIDENCE_ALTS), mu, s2);
		best = med < best ? med : best;
	}
	return best;
}

static int power(int runs)
{
	static const double shares[] = {0.05, 0.25, 0.50}, risks[] = {1.5, 2.0};
	static const double tols[] = {1.0, 1.2};
	static const int batches[] = {1, 10};
	double *n = calloc((size_t)runs, sizeof *n);
	if (!n)
		return 1;
	printf("power: %d runs per row, alpha 0.05; median bad events to \"worse\"\n", runs);
	printf("  share  r    tol  batch  median  [q25 - q75]   Wald ln(20)/KL  mixture theory  "
	       "miss\n");
	for (size_t ti = 0; ti < 2; ti++)
		for (size_t si = 0; si < 3; si++)
			for (size_t ri = 0; ri < 2; ri++)
				for (size_t bi = 0; bi < 2; bi++) {
					double rho = shares[si], r = risks[ri], r0 = tols[ti];
					struct sr_evidence_cfg cfg = {true, r0, r0 * 1.25, 0.05,
					                              SR_EVID_DISPLAY};
					double th = evidence_theta(rho, r);
					int missed = 0;
					for (int run = 0; run < runs; run++) {
						struct sr_evidence ev;
						evidence_init(&ev, &cfg);
						double total = 0;
						sr_ms at = 0;
						while (ev.worse_at == 0 && total < 200000) {
							double x = 0;
							for (int i = 0; i < batches[bi]; i++)
								x += uniform() < th;
							/* requests in the share's proportion; only
							 * their ratio matters */
							evidence_step(&ev, &cfg, rho * 1e6, x,
							              (1 - rho) * 1e6,
							              batches[bi] - x, ++at);
							total += batches[bi];
						}
						missed += ev.worse_at == 0;
						n[run] = total;
					}
					qsort(n, (size_t)runs, sizeof *n, cmp_double);
					double wald = log(20) / evidence_kl(rho, r, r0);
					printf("  %3.0f%%  %.1f  %.1f  %5d  %6.0f  [%5.0f - %5.0f] "
					       " %14.0f  %14.0f  %4d\n",
					       rho * 100, r, r0, batches[bi], n[runs / 2],
					       n[runs / 4], n[3 * runs / 4], wald,
					       mixture_theory(rho, r, r0, 0.05), missed);
				}
	free(n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "aa") == 0)
		return aa(argv[2], argv[3], atoi(argv[4]));
	if (argc >= 2 && strcmp(argv[1], "power") == 0)
		return power(argc >= 3 ? atoi(argv[2]) : 2000);
	fprintf(stderr, "usage: evidence_bench aa POLICY SCENARIO RUNS | power [RUNS]\n");
	return 2;
}
