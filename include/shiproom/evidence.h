/* evidence.h - an always-valid sequential test of canary against control.
 *
 * The fixed limits of the directive ask "is the canary's number past the
 * line?". This module asks a second question per KPI and journey: "is
 * there evidence that the canary produces bad events (errors, slow
 * requests) at a higher rate than control, by more than a tolerance?" -
 * and it may be asked at every poll without the false-alarm rate growing
 * with the number of looks (Lindon & Malek, "Anytime-valid inference for
 * multinomial count data", NeurIPS 2022; Ville's inequality).
 *
 * Model. In a poll step the source reports, per cohort, the requests and
 * the bad events of the step (Prometheus increase()). Conditional on the
 * step's total bad events, each one is the canary's with probability
 *     theta(r) = rho*r / (rho*r + 1 - rho)
 * where rho is the canary's measured share of the step's requests and r
 * the relative risk (canary bad rate / control bad rate). The traffic
 * swing both cohorts share cancels out; sticky sessions that skew the
 * split are measured, not assumed from the weight.
 *
 * Tests. For a grid of r values (anchored at the tolerance r0, ratio
 * EVIDENCE_GRID_RATIO) we keep the log-likelihood of every step so far,
 * relative to r = 1:
 *     l(r) += x*ln r - (x + y)*ln(1 + rho*(r - 1))      (x canary, y control)
 * "worse": null r <= r0, e-value M = mean over the EVIDENCE_ALTS grid
 * points above r0 of exp(l(r_k) - l(r0)). Each term is a nonnegative
 * supermartingale under every r <= r0 (the per-event expectation is <= 1
 * exactly when the true theta <= theta(r0)), so is the mean, and by
 * Ville's inequality P(M ever >= 1/alpha) <= alpha: reject at 1/alpha,
 * as often as we like. "no worse than r_max": the mirror, null r >= r_max,
 * alternatives the grid points below r_max. The always-valid interval
 * runs the same one-sided tests at every grid point.
 *
 * Pure: no I/O, no clock, no allocation (engine rules, DESIGN.md §1).
 */
#ifndef SHIPROOM_EVIDENCE_H
#define SHIPROOM_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "shiproom/common.h"

#define EVIDENCE_GRID 17  /* grid points r0 * ratio^(i - EVIDENCE_ANCHOR) */
#define EVIDENCE_ANCHOR 8 /* index of r0 in the grid */
#define EVIDENCE_GRID_RATIO 1.25
#define EVIDENCE_ALTS 8 /* alternatives mixed in each one-sided test */
/* A step whose bad events exceed this many times what its traffic
 * predicts (from the rate seen so far) counts as this many times, and
 * the line says "bursty": one pod's burst breaks the independence the
 * test assumes, so it must not weigh like hundreds of users. Scaling a
 * step's counts down by a factor fixed before its split is seen keeps
 * the test valid (Jensen: E[f^s] <= E[f]^s <= 1). */
#define EVIDENCE_BURST_FACTOR 4.0
#define EVIDENCE_BURST_MIN 30.0 /* never cap a step below this many events */

/* What a policy does with a "worse" verdict (policy key evidence.action). */
enum sr_evidence_action {
	SR_EVID_DISPLAY, /* shown and reported only (default) */
	SR_EVID_HOLD,    /* a HOLD reason while worse */
	SR_EVID_ROLLBACK /* a ROLLBACK recommendation while worse */
};
const char *evidence_action_name(enum sr_evidence_action a); /* "display", ... */

struct sr_evidence_cfg {
	bool enabled;
	double tolerance; /* r0: "worse" means r > r0 (default 1.2) */
	double upper;     /* r_max: "no worse than r_max" (default 1.5) */
	double alpha;     /* false-alarm level (default 0.05) */
	enum sr_evidence_action action;
};

enum sr_evidence_state {
	SR_EVS_OFF,        /* the KPI has no evidence test */
	SR_EVS_NODATA,     /* no step counts yet (the source gives none) */
	SR_EVS_COLLECTING, /* no evidence yet either way */
	SR_EVS_NOWORSE,    /* no worse than r_max (upper test rejects now) */
	SR_EVS_WORSE       /* worse than r0 (rejected; latched) */
};
const char *evidence_state_name(enum sr_evidence_state s); /* "worse", ... */

/* The test's running state for one cell. Zeroed by evidence_init. */
struct sr_evidence {
	enum sr_evidence_state state;
	double grid_r[EVIDENCE_GRID];  /* the r values */
	double grid_ln[EVIDENCE_GRID]; /* ln of them */
	double ll[EVIDENCE_GRID];      /* log-likelihood vs r = 1 */
	double ll_upper;               /* ... at r_max */
	double ln_upper;
	double log_m_worse, log_m_upper;         /* ln e-values now */
	double max_log_m_worse, max_log_m_upper; /* running maxima (p = 1/max) */
	double canary_bad, control_bad;          /* events used (after any cap) */
	double canary_n, control_n;              /* requests of the steps used */
	double mh_num, mh_den;                   /* Mantel-Haenszel: sum x(1-rho), sum y*rho */
	double rho;                              /* the last step's canary share */
	long steps;                              /* steps with traffic in both cohorts */
	long bursty_steps;                       /* steps whose events were capped */
	sr_ms last_at;                           /* data time of the last step used */
	sr_ms worse_at, noworse_at;              /* when each test first rejected, 0
	                                            ("worse" latches; "no worse" is
	                                            the current state of its test) */
};

/* The always-valid summary a view shows. */
struct sr_evidence_view {
	double r_hat;   /* Mantel-Haenszel estimate (NAN before any event) */
	double lo, hi;  /* r > lo and r < hi, each at 1 - alpha (lo 0, hi INF: none) */
	double p_worse; /* anytime-valid p-value of "worse" (1/max M, <= 1) */
	double events;  /* bad events so far (both cohorts) */
	double needed;  /* events for a decision at the current share
	                   and estimate (NAN: cannot tell) */
};

void evidence_init(struct sr_evidence *ev, const struct sr_evidence_cfg *cfg);

/* One poll step: canary/control requests and bad events of the step
 * (increase() over the step), and the step's data time `at` (a step whose
 * `at` is not newer than the last one used is ignored: the same snapshot
 * judged twice must not count twice). Non-finite or negative inputs,
 * and steps without traffic in both cohorts, are ignored. */
void evidence_step(struct sr_evidence *ev, const struct sr_evidence_cfg *cfg, double canary_n,
                   double canary_bad, double control_n, double control_bad, sr_ms at);

void evidence_view(const struct sr_evidence *ev, const struct sr_evidence_cfg *cfg,
                   struct sr_evidence_view *v);

/* One line for a tile or status: "worse p<=0.01 r 1.6 [1.3-2.4] 412/~900 ev".
 * `compact` drops the interval (tiles). */
void evidence_format(const struct sr_evidence *ev, const struct sr_evidence_cfg *cfg, bool compact,
                     char *buf, size_t n);

/* ---- the formulas, exposed for the unit tests and the benchmarks ------- */

/* theta(r) = rho*r / (rho*r + 1 - rho) */
double evidence_theta(double rho, double r);
/* Kullback-Leibler divergence of Bernoulli(theta(r1)) from Bernoulli(theta(r0)):
 * the expected log-likelihood gain per bad event when the truth is r1. */
double evidence_kl(double rho, double r1, double r0);

/* Always-valid confidence sequence for a difference of two means (cost
 * per request), asymptotic (Gaussian mixture boundary, Robbins 1970;
 * Waudby-Smith et al. 2021): with v = var1/n1 + var2/n2 and a prior
 * scale tau, the difference of the true means lies in
 *     (mean1 - mean2) +- sqrt(2 v (1 + v/tau^2) ln(sqrt(1 + tau^2/v) / alpha))
 * at every n simultaneously (as n grows). Returns the half-width, NAN
 * when an input is not usable. */
double evidence_mean_cs_radius(double n1, double var1, double n2, double var2, double tau,
                               double alpha);

#endif
