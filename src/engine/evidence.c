/* evidence.c - the always-valid sequential test of canary against control.
 *
 * The derivation is in include/shiproom/evidence.h and, for a Release DRI,
 * in man/shiproom.json.5 (EVIDENCE). Why the shapes here:
 * - One grid of log-likelihoods per cell, relative to r = 1, serves every
 *   test: the likelihood ratio of r_k against r_j is exp(ll[k] - ll[j]),
 *   so "worse than r0", "no worse than r_max" and the interval all come
 *   from the same EVIDENCE_GRID + 1 sums, updated with one log1p each.
 * - A step without bad events changes no likelihood (the test conditions
 *   on the bad events): it costs nothing, which is most steps of a
 *   low error rate.
 * - Counts are doubles: increase() extrapolates, so a step's counts are
 *   rarely integers. The likelihood is used as is (a fractional power of
 *   the per-event factor), which keeps every term's expectation <= 1.
 */
#include "shiproom/evidence.h"

#include "shiproom/engine.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *evidence_action_name(enum sr_evidence_action a)
{
	switch (a) {
	case SR_EVID_DISPLAY: return "display";
	case SR_EVID_HOLD: return "hold";
	case SR_EVID_ROLLBACK: return "rollback";
	}
	return "?";
}

const char *evidence_state_name(enum sr_evidence_state s)
{
	switch (s) {
	case SR_EVS_OFF: return "off";
	case SR_EVS_NODATA: return "no data";
	case SR_EVS_COLLECTING: return "no evidence yet";
	case SR_EVS_NOWORSE: return "no worse";
	case SR_EVS_WORSE: return "worse";
	}
	return "?";
}

double evidence_theta(double rho, double r)
{
	return rho * r / (rho * r + 1.0 - rho);
}

/* Expected log-likelihood ratio of r_a against r_b per bad event when
 * the truth is r, at canary share rho. */
static double gain(double rho, double r, double ra, double rb)
{
	double t = evidence_theta(rho, r), ta = evidence_theta(rho, ra),
	       tb = evidence_theta(rho, rb);
	return t * log(ta / tb) + (1.0 - t) * log((1.0 - ta) / (1.0 - tb));
}

double evidence_kl(double rho, double r1, double r0)
{
	return gain(rho, r1, r1, r0);
}

double evidence_mean_cs_radius(double n1, double var1, double n2, double var2, double tau,
                               double alpha)
{
	if (!(n1 > 1) || !(n2 > 1) || !(var1 >= 0) || !(var2 >= 0) || !(tau > 0) ||
	    !(alpha > 0 && alpha < 1) || !isfinite(var1) || !isfinite(var2) || !isfinite(tau))
		return NAN;
	double v = var1 / n1 + var2 / n2;
	if (v <= 0)
		return 0;
	double t2 = tau * tau;
	return sqrt(2.0 * v * (1.0 + v / t2) * log(sqrt(1.0 + t2 / v) / alpha));
}

void evidence_init(struct sr_evidence *ev, const struct sr_evidence_cfg *cfg)
{
	if (!cfg || !cfg->enabled) {
		/* Off is all zeros (SR_EVS_OFF is 0) and nothing but the state
		 * is read: an engine's cells of KPIs without a test (most of
		 * them) leave their pages untouched. */
		sr_zero_sparse(ev, sizeof *ev);
		return;
	}
	memset(ev, 0, sizeof *ev);
	ev->state = SR_EVS_NODATA;
	double r0 = cfg->tolerance > 0 ? cfg->tolerance : 1.2;
	double ru = cfg->upper > 0 ? cfg->upper : 1.5;
	for (int i = 0; i < EVIDENCE_GRID; i++) {
		ev->grid_ln[i] = log(r0) + (i - EVIDENCE_ANCHOR) * log(EVIDENCE_GRID_RATIO);
		ev->grid_r[i] = exp(ev->grid_ln[i]);
	}
	ev->grid_r[EVIDENCE_ANCHOR] = r0; /* exactly, for display */
	ev->ln_upper = log(ru);
	ev->rho = NAN;
}

/* ln of the mean of exp(a[i] - base) over i in [from, to). */
static double log_mean_exp(const double *a, int from, int to, double base)
{
	if (to <= from)
		return -INFINITY;
	double mx = -INFINITY;
	for (int i = from; i < to; i++)
		mx = a[i] > mx ? a[i] : mx;
	double s = 0;
	for (int i = from; i < to; i++)
		s += exp(a[i] - mx);
	return mx - base + log(s / (to - from));
}

/* Grid points below r_max used by the upper test: [from, to). */
static void upper_alts(const struct sr_evidence *ev, int *from, int *to)
{
	int t = 0;
	while (t < EVIDENCE_GRID && ev->grid_ln[t] < ev->ln_upper - 1e-9)
		t++;
	*to = t;
	*from = t - EVIDENCE_ALTS > 0 ? t - EVIDENCE_ALTS : 0;
}

static double log_m_worse_at(const struct sr_evidence *ev, int j)
{
	int to = j + 1 + EVIDENCE_ALTS;
	return log_mean_exp(ev->ll, j + 1, to < EVIDENCE_GRID ? to : EVIDENCE_GRID, ev->ll[j]);
}

static double log_m_upper_at(const struct sr_evidence *ev, int j)
{
	int from = j - EVIDENCE_ALTS;
	return log_mean_exp(ev->ll, from > 0 ? from : 0, j, ev->ll[j]);
}

void evidence_step(struct sr_evidence *ev, const struct sr_evidence_cfg *cfg, double canary_n,
                   double canary_bad, double control_n, double control_bad, sr_ms at)
{
	if (!cfg || !cfg->enabled || ev->state == SR_EVS_OFF)
		return;
	if (ev->last_at != 0 && at <= ev->last_at)
		return;
	if (!isfinite(canary_n) || !isfinite(control_n) || !isfinite(canary_bad) ||
	    !isfinite(control_bad) || canary_bad < 0 || control_bad < 0)
		return;
	ev->last_at = at;
	if (!(canary_n > 0) || !(control_n > 0))
		return; /* no split to compare (before T-0, at 100%, after rollback) */
	if (ev->state == SR_EVS_NODATA)
		ev->state = SR_EVS_COLLECTING;
	/* More bad events than requests: a mismatched pair of queries; use
	 * what can be true. */
	double x = canary_bad < canary_n ? canary_bad : canary_n;
	double y = control_bad < control_n ? control_bad : control_n;
	double rho = canary_n / (canary_n + control_n);
	ev->rho = rho;
	ev->steps++;
	double events = x + y;
	if (events > 0 && ev->steps > 3 && ev->canary_bad + ev->control_bad >= 10) {
		double rate = (ev->canary_bad + ev->control_bad) / (ev->canary_n + ev->control_n);
		double cap = EVIDENCE_BURST_FACTOR * rate * (canary_n + control_n);
		if (cap < EVIDENCE_BURST_MIN)
			cap = EVIDENCE_BURST_MIN;
		if (events > cap) {
			x *= cap / events;
			y *= cap / events;
			events = cap;
			ev->bursty_steps++;
		}
	}
	ev->canary_n += canary_n;
	ev->control_n += control_n;
	if (events <= 0)
		return;
	ev->canary_bad += x;
	ev->control_bad += y;
	ev->mh_num += x * (1.0 - rho);
	ev->mh_den += y * rho;
	for (int i = 0; i < EVIDENCE_GRID; i++)
		ev->ll[i] += x * ev->grid_ln[i] - events * log1p(rho * (ev->grid_r[i] - 1.0));
	ev->ll_upper += x * ev->ln_upper - events * log1p(rho * (exp(ev->ln_upper) - 1.0));

	ev->log_m_worse = log_m_worse_at(ev, EVIDENCE_ANCHOR);
	int from, to;
	upper_alts(ev, &from, &to);
	ev->log_m_upper = log_mean_exp(ev->ll, from, to, ev->ll_upper);
	if (ev->log_m_worse > ev->max_log_m_worse)
		ev->max_log_m_worse = ev->log_m_worse;
	if (ev->log_m_upper > ev->max_log_m_upper)
		ev->max_log_m_upper = ev->log_m_upper;
	double bar = -log(cfg->alpha);
	if (ev->worse_at == 0 && ev->log_m_worse >= bar)
		ev->worse_at = at;
	if (ev->noworse_at == 0 && ev->log_m_upper >= bar)
		ev->noworse_at = at;
	/* "worse" latches: the anytime-valid p-value 1/max M never rises,
	 * and a regression seen stays seen. "no worse" is what the data say
	 * now: it supports a promotion, so a regression that starts later
	 * must be able to take it back (the test assumes one r all along; a
	 * change of r over time is what the fixed limits are for). */
	ev->state = ev->worse_at             ? SR_EVS_WORSE
	            : ev->log_m_upper >= bar ? SR_EVS_NOWORSE
	                                     : SR_EVS_COLLECTING;
}

/* Events a test still needs if the truth is r: its dominant component
 * (the alternative with the largest expected gain) must climb from
 * where it is to ln(1/alpha) + ln(EVIDENCE_ALTS) (its weight). */
static double events_to_go(const struct sr_evidence *ev, double rho, double r, double bar,
                           bool worse)
{
	double best = 0, have = 0;
	double rj = worse ? ev->grid_r[EVIDENCE_ANCHOR] : exp(ev->ln_upper);
	double llj = worse ? ev->ll[EVIDENCE_ANCHOR] : ev->ll_upper;
	int from, to;
	if (worse) {
		from = EVIDENCE_ANCHOR + 1;
		to = from + EVIDENCE_ALTS < EVIDENCE_GRID ? from + EVIDENCE_ALTS : EVIDENCE_GRID;
	} else {
		upper_alts(ev, &from, &to);
	}
	for (int k = from; k < to; k++) {
		double g = gain(rho, r, ev->grid_r[k], rj);
		if (g > best) {
			best = g;
			have = ev->ll[k] - llj;
		}
	}
	if (!(best > 0))
		return INFINITY;
	double left = (bar + log((double)EVIDENCE_ALTS) - have) / best;
	return left > 0 ? left : 0;
}

void evidence_view(const struct sr_evidence *ev, const struct sr_evidence_cfg *cfg,
                   struct sr_evidence_view *v)
{
	memset(v, 0, sizeof *v);
	v->events = ev->canary_bad + ev->control_bad;
	v->r_hat = ev->mh_den > 0 ? ev->mh_num / ev->mh_den : ev->mh_num > 0 ? INFINITY : NAN;
	v->p_worse = exp(-ev->max_log_m_worse);
	v->p_worse = v->p_worse > 1 ? 1 : v->p_worse;
	v->lo = 0;
	v->hi = INFINITY;
	v->needed = NAN;
	double alpha = cfg && cfg->alpha > 0 ? cfg->alpha : 0.05;
	double bar = -log(alpha);
	if (v->events <= 0)
		return;
	for (int j = EVIDENCE_GRID - 2; j >= 0; j--)
		if (log_m_worse_at(ev, j) >= bar) {
			v->lo = ev->grid_r[j];
			break;
		}
	for (int j = 1; j < EVIDENCE_GRID; j++)
		if (log_m_upper_at(ev, j) >= bar) {
			v->hi = ev->grid_r[j];
			break;
		}
	/* "worse" holds for good (the p-value is a running maximum), so the
	 * interval keeps it: a bound established once stays valid. */
	if (ev->worse_at && v->lo < ev->grid_r[EVIDENCE_ANCHOR])
		v->lo = ev->grid_r[EVIDENCE_ANCHOR];
	if (ev->state == SR_EVS_WORSE || ev->state == SR_EVS_NOWORSE) {
		v->needed = v->events;
		return;
	}
	double rho = ev->rho;
	double r = v->r_hat;
	if (!(rho > 0 && rho < 1) || !isfinite(r) || !(r > 0))
		return;
	double need = fmin(events_to_go(ev, rho, r, bar, true),
	                   events_to_go(ev, rho, r, bar, false));
	if (isfinite(need) && need < 1e9)
		v->needed = v->events + need;
}

static void fmt_r(double r, char *buf, size_t n)
{
	if (isinf(r))
		snprintf(buf, n, "inf");
	else if (r < 10)
		snprintf(buf, n, "%.2g", r);
	else
		snprintf(buf, n, "%.0f", r);
}

static void fmt_count(double c, char *buf, size_t n)
{
	if (!isfinite(c))
		snprintf(buf, n, "?");
	else if (c < 10000)
		snprintf(buf, n, "%.0f", c);
	else if (c < 1e6)
		snprintf(buf, n, "%.0fk", c / 1000);
	else
		snprintf(buf, n, "%.1fM", c / 1e6);
}

void evidence_format(const struct sr_evidence *ev, const struct sr_evidence_cfg *cfg, bool compact,
                     char *buf, size_t n)
{
	if (n == 0)
		return;
	buf[0] = '\0';
	if (!cfg || !cfg->enabled || ev->state == SR_EVS_OFF)
		return;
	if (ev->state == SR_EVS_NODATA) {
		snprintf(buf, n, "no step counts from the source");
		return;
	}
	struct sr_evidence_view v;
	evidence_view(ev, cfg, &v);
	char head[64], r0[16], ru[16], rh[16], lo[16], hi[16], evs[16], need[16], p[24];
	fmt_r(cfg->tolerance, r0, sizeof r0);
	fmt_r(cfg->upper, ru, sizeof ru);
	if (v.p_worse < 0.001)
		snprintf(p, sizeof p, "p<0.001");
	else
		snprintf(p, sizeof p, "p<=%.2g", v.p_worse);
	switch (ev->state) {
	case SR_EVS_WORSE: snprintf(head, sizeof head, "WORSE >%sx %s", r0, p); break;
	case SR_EVS_NOWORSE: snprintf(head, sizeof head, "no worse than %sx", ru); break;
	default: snprintf(head, sizeof head, "no evidence yet"); break;
	}
	fmt_count(v.events, evs, sizeof evs);
	if (isfinite(v.needed) && v.needed > v.events)
		fmt_count(v.needed, need, sizeof need);
	else
		need[0] = '\0'; /* decided, or too few events to tell */
	char tail[48];
	if (need[0])
		snprintf(tail, sizeof tail, " %s/~%s ev", evs, need);
	else
		snprintf(tail, sizeof tail, " %s ev", evs);
	char burst[32] = "";
	if (ev->bursty_steps > 0)
		snprintf(burst, sizeof burst, " bursty(%ld)", ev->bursty_steps);
	if (!isfinite(v.r_hat) && !isinf(v.r_hat)) {
		snprintf(buf, n, "%s%s%s", head, tail, burst);
		return;
	}
	fmt_r(v.r_hat, rh, sizeof rh);
	if (compact) {
		snprintf(buf, n, "%s r%s%s%s", head, rh, tail, burst);
		return;
	}
	fmt_r(v.lo, lo, sizeof lo);
	fmt_r(v.hi, hi, sizeof hi);
	snprintf(buf, n, "%s r %s [%s-%s]%s%s", head, rh, v.lo > 0 ? lo : "0", hi, tail, burst);
}

/* ---- the engine's hooks ------------------------------------------------ */

void evidence_update(struct sr_engine *e, const struct sr_snapshot *s)
{
	const struct sr_policy *p = e->policy;
	for (int i = 0; i < p->ncells && i < s->ncells; i++) {
		const struct sr_evidence_cfg *cfg = &p->kpis[p->cells[i].kpi].evidence;
		if (!cfg->enabled)
			continue;
		const struct sr_obs *c = &s->canary[i], *k = &s->control[i];
		/* Only a fresh answer from the source carries a step; an ERROR
		 * cell keeps its old counts, which were used already. */
		if (c->kind != SR_OBS_OK && c->kind != SR_OBS_NOSERIES)
			continue;
		if (k->kind != SR_OBS_OK && k->kind != SR_OBS_NOSERIES)
			continue;
		sr_ms at = c->at > k->at ? c->at : k->at;
		evidence_step(&e->evidence[i], cfg, c->step_n, c->step_bad, k->step_n, k->step_bad,
		              at);
	}
}

int evidence_reasons(const struct sr_engine *e, enum sr_evidence_action action,
                     char (*out)[SR_REASON_LEN], int max)
{
	const struct sr_policy *p = e->policy;
	int n = 0;
	for (int i = 0; i < p->ncells && n < max; i++) {
		const struct sr_evidence_cfg *cfg = &p->kpis[p->cells[i].kpi].evidence;
		if (!cfg->enabled || cfg->action != action || e->evidence[i].state != SR_EVS_WORSE)
			continue;
		char label[SR_REASON_LEN / 2], line[SR_REASON_LEN];
		engine_cell_label(e, i, label, sizeof label);
		evidence_format(&e->evidence[i], cfg, false, line, sizeof line);
		engine_format(out[n++], SR_REASON_LEN, "%s evidence: canary %s", label, line);
	}
	return n;
}
