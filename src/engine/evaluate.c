/* evaluate.c - the engine's evaluation pass: the status of every cell.
 *
 * One call of engine_evaluate() judges each policy cell (a KPI for one
 * journey) from the snapshot, applies hysteresis and the sustained-breach
 * clock, then hands over to the triggers (triggers.c) and the decision
 * (decision.c). DESIGN.md section 3 is the specification; the rules that
 * matter most are here:
 *
 *   - a data gap (ERROR, STALE, NODATA) is never GREEN, and ERROR beats
 *     STALE beats NODATA so the operator sees the most actionable cause;
 *   - only finite numbers are values (+Inf on a max/streak KPI excepted:
 *     histogram_quantile's "beyond the last bucket" is a breach), and a
 *     negative latency or ratio is a source bug (ERROR), never GREEN;
 *   - a zero baseline is a value: both 0 is no deviation, any counted
 *     change over it is a breach;
 *   - every status carries its numbers, so a tile can say why;
 *   - RED -> GREEN needs clear_after consecutive GREEN evaluations;
 *   - breach time accrues like a Prometheus `for:` clause, and a gap
 *     pauses it without completing or resetting it.
 *
 * Pure: no I/O, no clock, no allocation. `now` comes from the caller.
 */
#include "shiproom/engine.h"
#include "shiproom/reason.h"

#include "shiproom/calendar.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

sr_ms engine_sustain_window(const struct sr_policy *p)
{
	for (int t = 0; t < p->ntriggers; t++)
		if (p->triggers[t].kind == SR_TRIG_SUSTAINED)
			return p->triggers[t].for_ms;
	return 0;
}

/* ---- events ----------------------------------------------------------- */

void engine_emit(struct sr_engine *e, enum sr_event_kind kind, int index, int from, int to,
                 sr_ms at, const char *fmt, ...)
{
	if (e->nevents >= SR_MAX_EVENTS) {
		/* Drop the oldest: the newest changes are what the log needs. */
		memmove(&e->events[0], &e->events[1], sizeof e->events[0] * (SR_MAX_EVENTS - 1));
		e->nevents = SR_MAX_EVENTS - 1;
		e->events_dropped++;
	}
	struct sr_event *ev = &e->events[e->nevents++];
	ev->kind = kind;
	ev->at = at;
	ev->index = index;
	ev->from = from;
	ev->to = to;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof ev->text, fmt, ap);
	va_end(ap);
	engine_utf8_trim(ev->text);
}

int engine_drain_events(struct sr_engine *e, struct sr_event *out, int max)
{
	int n = e->nevents < max ? e->nevents : max;
	if (n < 0)
		n = 0;
	if (n > 0)
		memcpy(out, e->events, sizeof e->events[0] * (size_t)n);
	/* Whatever did not fit in `out` is dropped with the rest: the caller
	 * asked for the queue to be cleared. */
	if (e->nevents > n)
		e->events_dropped += e->nevents - n;
	e->nevents = 0;
	return n;
}

/* ---- set-up ----------------------------------------------------------- */

void engine_init(struct sr_engine *e, const struct sr_policy *p, sr_ms t0)
{
	/* Everything before the per-cell arrays, then the policy's cells
	 * alone: zeroing SR_MAX_CELLS of them would make megabytes resident
	 * for a policy of a few dozen cells. */
	memset(e, 0, offsetof(struct sr_engine, cells));
	e->policy = p;
	rollout_init(&e->ro, p, t0);
	int ncells = p->ncells < 0 ? 0 : p->ncells > SR_MAX_CELLS ? SR_MAX_CELLS : p->ncells;
	for (int i = 0; i < ncells; i++) {
		struct sr_cell_state *c = &e->cells[i];
		memset(c, 0, sizeof *c);
		e->last_control_at[i] = 0;
		c->status = SR_NODATA;
		c->raw = SR_NODATA;
		engine_cell_set_reason(c, "not evaluated yet");
		c->canary = c->control = c->baseline = c->deviation_pct = c->limit = NAN;
		c->samples = NAN;
		c->age = -1;
		e->t0_baseline[i] = NAN;
		e->last_control[i] = NAN;
	}
	for (int i = 0; i < ncells; i++)
		evidence_init(&e->evidence[i], &p->kpis[p->cells[i].kpi].evidence);
	for (int t = 0; t < SR_MAX_TRIGGERS; t++) {
		e->triggers[t].state = SR_TRIG_ARMED;
		e->triggers[t].cell = -1;
		e->triggers[t].value = NAN;
		engine_format(e->triggers[t].reason, sizeof e->triggers[t].reason,
		              "not evaluated yet");
	}
	e->edge_weight = -1;
	e->edge_expected = -1;
	e->decision.verdict = SR_HOLD;
	e->decision.nreasons = 1;
	engine_format(e->decision.reasons[0], SR_REASON_LEN, "not evaluated yet");
}

void engine_copy(struct sr_engine *dst, const struct sr_engine *src)
{
	if (dst == src)
		return;
	int n = src->policy ? src->policy->ncells : 0;
	n = n < 0 ? 0 : n > SR_MAX_CELLS ? SR_MAX_CELLS : n;
	memcpy(dst, src, offsetof(struct sr_engine, cells));
	memcpy(dst->cells, src->cells, (size_t)n * sizeof src->cells[0]);
	memcpy(dst->t0_baseline, src->t0_baseline, (size_t)n * sizeof src->t0_baseline[0]);
	memcpy(dst->last_control, src->last_control, (size_t)n * sizeof src->last_control[0]);
	memcpy(dst->last_control_at, src->last_control_at,
	       (size_t)n * sizeof src->last_control_at[0]);
	memcpy(dst->evidence, src->evidence, (size_t)n * sizeof src->evidence[0]);
}

/* ---- one cell --------------------------------------------------------- */

static const struct sr_obs *obs_of(const struct sr_snapshot *s, int i, bool canary)
{
	static const struct sr_obs none = {.kind = SR_OBS_NONE, .value = NAN};
	if (!s || i >= s->ncells)
		return &none;
	return canary ? &s->canary[i] : &s->control[i];
}

static bool obs_stale(const struct sr_policy *p, const struct sr_obs *o, sr_ms now)
{
	return o->kind != SR_OBS_NONE && now - o->at > p->stale_after_ms;
}

static bool enough_samples(const struct sr_kpi *k, double samples)
{
	return !(k->min_samples > 0) || samples >= k->min_samples;
}

/* engine_format into buf, or nothing when no words are wanted (buf NULL):
 * a judgement alone must not pay for its text. The arguments are not
 * evaluated when buf is NULL. */
#define SAY(buf, n, ...) ((buf) ? engine_format((buf), (n), __VA_ARGS__) : 0)

/* Whether an observation cannot be used; why (into buf, when not NULL)
 * and the status it implies (*st). Order: ERROR, STALE, NODATA. */
static bool obs_problem(const struct sr_policy *p, const struct sr_kpi *k, const struct sr_obs *o,
                        const char *msg, sr_ms now, enum sr_status *st, char *buf, size_t n)
{
	char d1[24], d2[24];
	if (o->kind == SR_OBS_ERROR) {
		*st = SR_ERROR;
		if (!buf)
			return true;
		char clean[SR_OBS_MSG_LEN];
		sr_sanitize(clean, msg && *msg ? msg : "fetch failed", sizeof clean);
		if (o->at > 0 && !isnan(o->value)) {
			sr_fmt_duration(d1, sizeof d1, now - o->at);
			engine_format(buf, n, "fetch failed: %s (last good value %s ago)", clean,
			              d1);
		} else {
			engine_format(buf, n, "fetch failed: %s (no good value yet)", clean);
		}
		return true;
	}
	if (obs_stale(p, o, now)) {
		*st = SR_STALE;
		if (buf) {
			sr_fmt_duration(d1, sizeof d1, now - o->at);
			sr_fmt_duration(d2, sizeof d2, p->stale_after_ms);
			engine_format(buf, n, "no fresh data for %s (stale after %s)", d1, d2);
		}
		return true;
	}
	*st = SR_NODATA;
	if (o->kind == SR_OBS_NONE) {
		SAY(buf, n, "no data yet");
		return true;
	}
	if (o->kind == SR_OBS_NOSERIES) {
		SAY(buf, n, "no series (the source answered with no data)");
		return true;
	}
	if (isnan(o->value)) {
		SAY(buf, n, "NaN: no observations");
		return true;
	}
	/* +Inf on a max/streak KPI is a value, and a breach: that is what
	 * histogram_quantile answers when the quantile falls in the +Inf
	 * bucket. Any other infinity is not a measurement. */
	if (isinf(o->value) &&
	    !(o->value > 0 && (k->kind == SR_KIND_MAX || k->kind == SR_KIND_STREAK))) {
		SAY(buf, n, "value is %sInf", o->value > 0 ? "+" : "-");
		return true;
	}
	/* A latency or a ratio cannot be negative: a counter reset in rate()
	 * arithmetic or a broken query. Never judge it as a (good) value. */
	if (o->value < 0 && (k->signal == SR_SIG_LATENCY || k->signal == SR_SIG_RATIO)) {
		*st = SR_ERROR;
		if (buf) {
			char ks[SR_TITLE_LEN], v[32];
			engine_kpi_short(k, ks, sizeof ks);
			engine_fmt_value(k, o->value, v, sizeof v);
			engine_format(buf, n, "negative %s %s: source bug?", ks, v);
		}
		return true;
	}
	if (!enough_samples(k, o->samples)) {
		SAY(buf, n, "%.0f samples < %.0f needed", isnan(o->samples) ? 0.0 : o->samples,
		    k->min_samples);
		return true;
	}
	return false;
}

static double warn_margin(const struct sr_kpi *k, double limit)
{
	/* The loader fills the default (10% of the limit); this is only a
	 * guard for a policy built by hand. */
	return k->warn_margin >= 0 ? k->warn_margin : 0.1 * fabs(limit);
}

/* " (control 101.2ms, 812 samples)" */
static void fmt_context(const struct sr_kpi *k, double control, double samples, char *buf, size_t n)
{
	char cv[32];
	size_t o = 0;
	buf[0] = '\0';
	if (!isnan(control)) {
		engine_fmt_value(k, control, cv, sizeof cv);
		o += (size_t)engine_format(buf, n, " (control %s", cv);
	}
	if (o < n && samples > 0 && isfinite(samples))
		o += (size_t)engine_format(buf + o, n - o, "%s%.0f samples", o ? ", " : " (",
		                           samples);
	if (o > 0 && o < n)
		engine_format(buf + o, n - o, ")");
}

/* At 100% every request goes to the canary: the control has no traffic. */
static bool no_control_cohort(const struct sr_policy *p, int phase)
{
	return phase >= 0 && phase < p->nphases && p->phases[phase].weight >= 100;
}

/* The control value a cell shows and compares with: NAN when unusable. */
static double control_value(const struct sr_policy *p, const struct sr_obs *ctl, sr_ms now)
{
	return ctl->kind == SR_OBS_OK && !obs_stale(p, ctl, now) ? ctl->value : NAN;
}

/* One judgement of one cell: what it reads besides the two observations,
 * and what it finds. An evaluation judges without words (reason NULL)
 * unless the text must be written at once; engine_cell_reason() judges
 * the same inputs again, from the memo, with words. So everything a
 * judgement reads is here or in the observations, never the engine's
 * current state (which may have moved on by the time someone reads). */
struct judging {
	const struct sr_policy *p;
	const struct sr_kpi *k;
	const struct sr_reason_inputs *in; /* phase, limit, baselines */
	const struct sr_snapshot *s;       /* the observations' messages; NULL: none */
	sr_ms now;
	double control; /* control_value() */
	/* found */
	bool fresh;
	double baseline, deviation_pct;
	/* the words, or NULL */
	char *reason;
	size_t n;
};

/* The baseline of a vs_* cell, or NAN with the reason in buf (if any). */
static double cell_baseline(const struct judging *j, const struct sr_obs *ctl, char *buf, size_t n)
{
	const struct sr_kpi *k = j->k;
	if (k->kind == SR_KIND_VS_BASELINE && k->baseline == SR_BASE_T0) {
		double b = j->in->t0_baseline;
		if (isnan(b))
			SAY(buf, n,
			    "no T-0 baseline (taken from control at the first evaluation at T-0)");
		return b;
	}
	enum sr_status st;
	char why[SR_REASON_LEN];
	if (!obs_problem(j->p, k, ctl, snapshot_msg(j->s, ctl), j->now, &st, buf ? why : NULL,
	                 sizeof why))
		return ctl->value;
	/* At 100% there is no control cohort: compare with the control as
	 * last seen (before the canary took all traffic). Only then; at any
	 * other weight a missing control is a data gap and says so. */
	if (no_control_cohort(j->p, j->in->phase) && !isnan(j->in->last_control) &&
	    (ctl->kind == SR_OBS_NONE || ctl->kind == SR_OBS_NOSERIES || st == SR_STALE))
		return j->in->last_control;
	SAY(buf, n, "no control baseline: %s", why);
	return NAN;
}

/* What a vs_* cell compares with, in words. */
static const char *baseline_name(const struct judging *j)
{
	if (j->k->kind == SR_KIND_VS_BASELINE && j->k->baseline == SR_BASE_T0)
		return "T-0 baseline";
	return isnan(j->control) && no_control_cohort(j->p, j->in->phase) ? "control before 100%"
	                                                                  : "control";
}

static const char *tolerance_sign(const struct sr_kpi *k)
{
	return k->direction == SR_DIR_UP ? "+" : k->direction == SR_DIR_DOWN ? "-" : "+/-";
}

/* A vs_* cell over a zero baseline: a percentage of 0 is undefined, but
 * the comparison is not. Both 0 (no webhook failures on either side: the
 * normal state) is no deviation; any change in a direction that counts
 * is a breach however small (0.25% against none); the other direction
 * never holds. */
static enum sr_status judge_zero_baseline(struct judging *j, const struct sr_obs *can)
{
	const struct sr_kpi *k = j->k;
	double val = can->value;
	bool up = val > 0;
	bool counts = k->direction == SR_DIR_BOTH || (k->direction == SR_DIR_UP) == up;
	/* deviation_pct stays NAN unless both are 0: no percentage says it */
	if (val == 0)
		j->deviation_pct = 0;
	enum sr_status st = val != 0 && counts ? SR_RED : SR_GREEN;
	if (!j->reason)
		return st;
	char kshort[SR_TITLE_LEN], v[32], bv[32], tl[32], samples[40] = "";
	engine_kpi_short(k, kshort, sizeof kshort);
	engine_fmt_value(k, val, v, sizeof v);
	engine_fmt_value(k, 0.0, bv, sizeof bv);
	engine_fmt_num(j->in->limit, tl, sizeof tl);
	if (can->samples > 0 && isfinite(can->samples))
		engine_format(samples, sizeof samples, " (%.0f samples)", can->samples);
	const char *what = baseline_name(j);
	if (val == 0)
		engine_format(j->reason, j->n, "%s %s vs %s %s: both 0, within %s%s%%%s", kshort, v,
		              what, bv, tolerance_sign(k), tl, samples);
	else if (counts)
		engine_format(j->reason, j->n,
		              "%s canary %s vs %s %s: any %s a zero baseline breaches%s", kshort, v,
		              what, bv, up ? "increase over" : "decrease below", samples);
	else
		engine_format(j->reason, j->n, "%s canary %s vs %s %s: %s never holds%s", kshort, v,
		              what, bv, up ? "an increase" : "a decrease", samples);
	return st;
}

/* A monitored latency this many times the control is marked to watch. */
#define MONITOR_WATCH_RATIO 2.0

/* A fresh canary value against the cell's limit (or baseline). */
static enum sr_status judge_value(struct judging *j, const struct sr_obs *can,
                                  const struct sr_obs *ctl)
{
	const struct sr_kpi *k = j->k;
	char *reason = j->reason;
	size_t n = j->n;
	char kshort[SR_TITLE_LEN], v[32], lim[32], w[32], ctx[96];
	double val = can->value, L = j->in->limit;
	double wm = warn_margin(k, L);
	if (reason) {
		engine_kpi_short(k, kshort, sizeof kshort);
		engine_fmt_value(k, val, v, sizeof v);
		engine_fmt_value(k, L, lim, sizeof lim);
		fmt_context(k, j->control, can->samples, ctx, sizeof ctx);
	}

	switch (k->kind) {
	case SR_KIND_MONITOR:
		/* A monitor never holds (the decision skips it), but a latency
		 * at twice the control or more is not "ok": it is marked to
		 * watch, YELLOW, which no gate reads. */
		if (k->signal == SR_SIG_LATENCY && isfinite(val) && isfinite(j->control) &&
		    j->control > 0 && val >= MONITOR_WATCH_RATIO * j->control) {
			SAY(reason, n,
			    "watch: %s %s is %.1fx the control (monitor only: never holds)%s",
			    kshort, v, val / j->control, ctx);
			return SR_YELLOW;
		}
		SAY(reason, n, "monitor only: %s %s%s", kshort, v, ctx);
		return SR_GREEN;
	case SR_KIND_MAX:
	case SR_KIND_STREAK:
		if (reason)
			engine_fmt_value(k, L - wm, w, sizeof w);
		if (val > L) {
			SAY(reason, n, "%s %s > %s limit%s", kshort, v, lim, ctx);
			return SR_RED;
		}
		if (val > L - wm) {
			SAY(reason, n, "%s %s near %s limit (warn above %s)%s", kshort, v, lim, w,
			    ctx);
			return SR_YELLOW;
		}
		SAY(reason, n, "%s %s <= %s limit%s", kshort, v, lim, ctx);
		return SR_GREEN;
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN:
		if (reason)
			engine_fmt_value(k, L + wm, w, sizeof w);
		if (val < L) {
			SAY(reason, n, "%s %s < %s minimum%s", kshort, v, lim, ctx);
			return SR_RED;
		}
		if (val < L + wm) {
			SAY(reason, n, "%s %s near %s minimum (warn below %s)%s", kshort, v, lim, w,
			    ctx);
			return SR_YELLOW;
		}
		SAY(reason, n, "%s %s >= %s minimum%s", kshort, v, lim, ctx);
		return SR_GREEN;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE: break;
	}

	/* vs_control / vs_baseline: deviation from the baseline in percent. */
	char why[SR_REASON_LEN];
	double b = cell_baseline(j, ctl, reason ? why : NULL, sizeof why);
	j->baseline = b;
	if (!isfinite(b)) {
		SAY(reason, n, "%s %s: %s", kshort, v, isnan(b) ? why : "baseline not finite");
		return SR_NODATA;
	}
	if (b == 0)
		return judge_zero_baseline(j, can);
	double dev = 100.0 * (val - b) / fabs(b);
	j->deviation_pct = dev;
	double counted = k->direction == SR_DIR_UP     ? (dev > 0 ? dev : 0)
	                 : k->direction == SR_DIR_DOWN ? (dev < 0 ? -dev : 0)
	                                               : fabs(dev);
	enum sr_status st = counted > L ? SR_RED : counted > L - wm ? SR_YELLOW : SR_GREEN;
	if (!reason)
		return st;
	const char *tol = tolerance_sign(k);
	char bv[32];
	engine_fmt_value(k, b, bv, sizeof bv);
	engine_fmt_num(L, lim, sizeof lim);
	char head[SR_REASON_LEN];
	engine_format(head, sizeof head, "%s %+.1f%% vs %s (%s vs %s", kshort, dev,
	              baseline_name(j), v, bv);
	char samples[40] = "";
	if (can->samples > 0 && isfinite(can->samples))
		engine_format(samples, sizeof samples, ", %.0f samples", can->samples);
	if (st == SR_RED) {
		engine_format(reason, n, "%s%s) beyond %s%s%% tolerance", head, samples, tol, lim);
	} else if (st == SR_YELLOW) {
		engine_format(reason, n, "%s%s) near %s%s%% tolerance", head, samples, tol, lim);
	} else {
		/* Say so only when it matters: the other direction would count. */
		bool ignored = counted == 0 && fabs(dev) > L - wm && k->direction != SR_DIR_BOTH;
		engine_format(reason, n, "%s%s) within %s%s%%%s", head, samples, tol, lim,
		              ignored ? k->direction == SR_DIR_UP ? "; a decrease never holds"
		                                                  : "; an increase never holds"
		                      : "");
	}
	return st;
}

/* Sustained breach: a RED opens or extends a segment; a gap closes it
 * (interrupted: neither complete nor reset); anything else resets. */
static void breach_update(struct sr_cell_state *c, enum sr_status raw, sr_ms now)
{
	if (raw == SR_RED) {
		if (!c->breaching) {
			c->breaching = true;
			c->interrupted = false;
			c->breach_acc = 0;
			c->seg_open = false;
		}
		if (!c->seg_open) {
			c->seg_open = true;
			c->seg_start = c->seg_last = now;
		} else {
			c->seg_last = now;
		}
	} else if (sr_status_is_data_gap(raw)) {
		if (c->breaching && c->seg_open) {
			c->breach_acc += c->seg_last - c->seg_start;
			c->seg_open = false;
			c->interrupted = true;
		}
	} else {
		c->breaching = false;
		c->interrupted = false;
		c->breach_acc = 0;
		c->seg_open = false;
		c->seg_start = c->seg_last = 0;
	}
}

sr_ms cell_breach_ms(const struct sr_cell_state *c)
{
	if (!c->breaching)
		return 0;
	return c->breach_acc + (c->seg_open ? c->seg_last - c->seg_start : 0);
}

/* Hysteresis: after a RED, only clear_after consecutive GREEN
 * evaluations bring the cell back to GREEN; until then it is YELLOW.
 * Gaps show as themselves (never hidden) and break the run.
 *
 * A step of the run is one GREEN evaluation per poll interval: a cell
 * polled faster (poll_schedule.h: the fast rate while it recovers) sees
 * the same recovery more often, not for longer, and must not clear any
 * sooner than the policy's clear_after x poll_s allows. The faster GREEN
 * evaluations in between keep it YELLOW without counting; any non-GREEN
 * one still breaks the run. A tenth of the interval is left for timer
 * jitter (and for aligned polls, which follow the scrape). */
static bool recovery_step_due(const struct sr_policy *p, const struct sr_cell_state *c, sr_ms now)
{
	return c->good_run == 0 || now - c->good_step_at >= p->poll_ms - p->poll_ms / 10;
}

static enum sr_status hysteresis(const struct sr_policy *p, struct sr_cell_state *c,
                                 enum sr_status raw, sr_ms now)
{
	c->recovering = false;
	if (raw == SR_RED) {
		c->needs_clear = true;
		c->good_run = 0;
		return SR_RED;
	}
	if (!c->needs_clear)
		return raw;
	if (raw != SR_GREEN) {
		c->good_run = 0;
		return raw;
	}
	if (!recovery_step_due(p, c, now)) {
		c->recovering = true;
		return SR_YELLOW;
	}
	c->good_run++;
	c->good_step_at = now;
	int need = p->clear_after > 0 ? p->clear_after : 1;
	if (c->good_run >= need) {
		c->needs_clear = false;
		c->good_run = 0;
		return SR_GREEN;
	}
	c->recovering = true;
	return SR_YELLOW;
}

/* Keep the last usable control value (see engine.h: last_control). */
static void remember_control(struct sr_engine *e, int i, const struct sr_kpi *k,
                             const struct sr_obs *ctl, sr_ms now)
{
	enum sr_status st;
	if (!obs_problem(e->policy, k, ctl, NULL, now, &st, NULL, 0) && isfinite(ctl->value)) {
		e->last_control[i] = ctl->value;
		e->last_control_at[i] = ctl->at;
	}
}

/* Does the cell's verdict depend on the control cohort's current answer? */
static bool kind_uses_control(const struct sr_kpi *k)
{
	return k->kind == SR_KIND_VS_CONTROL ||
	       (k->kind == SR_KIND_VS_BASELINE && k->baseline == SR_BASE_CONTROL);
}

/* ---- reason memo (see struct sr_reason_memo) ----------------------------- */

/* An observation whose problem text (if any) depends only on its kind,
 * value and samples: not an error message, not a staleness age, not a
 * source warning. */
static bool obs_text_timeless(const struct sr_policy *p, const struct sr_obs *o, sr_ms now)
{
	/* a warning only noted (not degrading) is text from the source too */
	return o->kind != SR_OBS_ERROR && !obs_stale(p, o, now) && !o->degraded && !o->has_msg;
}

/* Everything obs_problem and judge_value read for cell i, besides the
 * policy's constants and what a timeless observation says. Compared with
 * memcmp, so NaN equals NaN (unknown stays unknown) and -0 differs from 0
 * (the text would say "-0"). */
static void reason_inputs(const struct sr_engine *e, int i, const struct sr_obs *can,
                          const struct sr_obs *ctl, struct sr_reason_inputs *in)
{
	memset(in, 0, sizeof *in);
	in->policy = e->policy;
	in->phase = e->ro.phase;
	in->can_kind = can->kind;
	in->ctl_kind = ctl->kind;
	in->can_value = can->value;
	in->can_samples = can->samples;
	in->ctl_value = ctl->value;
	in->ctl_samples = ctl->samples;
	in->limit = e->cells[i].limit;
	in->t0_baseline = e->t0_baseline[i];
	in->last_control = e->last_control[i];
}

/* Whether the breach suffix and recovering prefix would read the same. */
static bool memo_extra_matches(const struct sr_cell_state *c)
{
	const struct sr_reason_memo *m = &c->memo;
	return m->breaching == c->breaching && m->interrupted == c->interrupted &&
	       m->recovering == c->recovering && m->good_run == c->good_run &&
	       m->breach_ms == cell_breach_ms(c);
}

/* valid: the text depends on nothing but the memo (the observations were
 * timeless), so the judgement may be kept and the text made later. */
static void memo_store(struct sr_cell_state *c, const struct sr_reason_inputs *in, bool valid)
{
	struct sr_reason_memo *m = &c->memo;
	m->valid = valid;
	m->in = *in;
	m->raw = c->raw;
	m->fresh = c->fresh;
	m->baseline = c->baseline;
	m->deviation_pct = c->deviation_pct;
	m->breaching = c->breaching;
	m->interrupted = c->interrupted;
	m->recovering = c->recovering;
	m->good_run = c->good_run;
	m->breach_ms = cell_breach_ms(c);
}

void engine_cell_set_reason(struct sr_cell_state *c, const char *text)
{
	char copy[SR_REASON_LEN]; /* text may be c's own */
	sr_strlcpy(copy, text ? text : "", sizeof copy);
	sr_sanitize(c->reason_text, copy, sizeof c->reason_text);
	c->reason_pending = false;
	c->memo.valid = false;
}

/* Judge the cell's observations: raw status, freshness, baseline and
 * deviation, and (when j->reason) the text that says why. */
static enum sr_status cell_judge(struct judging *j, const struct sr_obs *can,
                                 const struct sr_obs *ctl)
{
	enum sr_status raw;
	j->baseline = NAN;
	j->deviation_pct = NAN;
	j->fresh = !obs_problem(j->p, j->k, can, snapshot_msg(j->s, can), j->now, &raw, j->reason,
	                        j->n);
	if (j->fresh)
		raw = judge_value(j, can, ctl);
	/* A value from a partial answer (Prometheus `warnings`: a store or a
	 * shard did not answer) may be right or may miss the bad part: never
	 * GREEN. The source decides whether a warning degrades (it sets
	 * `degraded`) or is only noted (a message: snapshot_msg). */
	if (raw == SR_GREEN && (can->degraded || (ctl->degraded && kind_uses_control(j->k)))) {
		if (j->reason) {
			char was[SR_REASON_LEN];
			engine_format(was, sizeof was, "%s", j->reason);
			engine_format(j->reason, j->n, "partial data (%s answer had warnings): %s",
			              can->degraded ? "canary" : "control", was);
		}
		raw = SR_YELLOW;
	}
	return raw;
}

/* The reason as shown: the judgement's text with the recovering prefix,
 * the breach timer (as the memo has them) and any source warning. */
static void cell_write_reason(const struct sr_policy *p, const struct sr_kpi *k,
                              const struct sr_reason_memo *m, const struct sr_obs *can,
                              const char *can_msg, const char *reason, char *out, size_t n)
{
	char extra[96] = "", d[24], w[24];
	sr_ms win = engine_sustain_window(p);
	if (win > 0)
		engine_fmt_window(win, w, sizeof w);
	if (m->breaching && k->gating) {
		sr_fmt_duration(d, sizeof d, m->breach_ms);
		if (m->raw == SR_RED)
			engine_format(extra, sizeof extra, "; RED %s%s%s%s", d, win ? "/" : "",
			              win ? w : "",
			              m->interrupted ? " (interrupted by a data gap)" : "");
		else
			engine_format(extra, sizeof extra, "; breach %s%s%s interrupted", d,
			              win ? "/" : "", win ? w : "");
	}
	if (m->recovering)
		engine_format(out, n, "recovering %d/%d after RED: %s", m->good_run,
		              p->clear_after > 0 ? p->clear_after : 1, reason);
	else
		engine_format(out, n, "%s%s", reason, extra);
	if (can->kind == SR_OBS_OK && can_msg && *can_msg) {
		size_t len = strlen(out);
		char msg[SR_OBS_MSG_LEN];
		sr_sanitize(msg, can_msg, sizeof msg);
		engine_format(out + len, n - len, " [source warning: %s]", msg);
	}
}

const char *engine_cell_reason(const struct sr_engine *e, int i)
{
	if (!e || !e->policy || i < 0 || i >= e->policy->ncells || i >= SR_MAX_CELLS)
		return "";
	/* Filling a cache of a pure function of the memo: the engine is
	 * logically const (engine.h), and no engine is defined const. */
	struct sr_cell_state *c = (struct sr_cell_state *)&e->cells[i];
	if (!c->reason_pending)
		return c->reason_text;
	const struct sr_policy *p = e->policy;
	const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
	const struct sr_reason_memo *m = &c->memo;
	/* The observations as the memo has them: timeless (the memo is kept
	 * only then), so their time does not matter; `now` 0 with data of
	 * time 0 is never stale. */
	struct sr_obs can = {
	    .kind = m->in.can_kind, .value = m->in.can_value, .samples = m->in.can_samples};
	struct sr_obs ctl = {
	    .kind = m->in.ctl_kind, .value = m->in.ctl_value, .samples = m->in.ctl_samples};
	char reason[SR_REASON_LEN];
	struct judging j = {.p = p,
	                    .k = k,
	                    .in = &m->in,
	                    .now = 0,
	                    .control = control_value(p, &ctl, 0),
	                    .reason = reason,
	                    .n = sizeof reason};
	cell_judge(&j, &can, &ctl);
	cell_write_reason(p, k, m, &can, NULL, reason, c->reason_text, sizeof c->reason_text);
	c->reason_pending = false;
	return c->reason_text;
}

void engine_cell_reasons_fill(const struct sr_engine *e)
{
	for (int i = 0; e && e->policy && i < e->policy->ncells; i++)
		engine_cell_reason(e, i);
}

static void cell_evaluate(struct sr_engine *e, int i, const struct sr_snapshot *s, sr_ms now,
                          bool first)
{
	const struct sr_policy *p = e->policy;
	const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
	struct sr_cell_state *c = &e->cells[i];
	const struct sr_obs *can = obs_of(s, i, true), *ctl = obs_of(s, i, false);
	enum sr_status raw;

	c->limit = policy_kpi_limit(p, p->cells[i].kpi, e->ro.phase);
	c->canary = (can->kind == SR_OBS_OK || can->kind == SR_OBS_ERROR) ? can->value : NAN;
	c->control = control_value(p, ctl, now);
	c->samples = can->kind == SR_OBS_NONE ? NAN : can->samples;
	/* A cell that never had a good reading has no age (not "since 1970"). */
	c->age = can->kind != SR_OBS_NONE && can->at > 0 ? now - can->at : -1;

	remember_control(e, i, k, ctl, now);
	/* A text that depends only on the memo is made when read; any other
	 * (an error message, a staleness age, a source warning) now. */
	bool timeless = !e->reasons_at_once && obs_text_timeless(p, can, now) &&
	                obs_text_timeless(p, ctl, now);
	struct sr_reason_inputs in;
	reason_inputs(e, i, can, ctl, &in);
	/* Same inputs as the memo's: same judgement; only the (cheap)
	 * hysteresis and breach clock move. */
	bool judged_before = timeless && c->memo.valid && memcmp(&in, &c->memo.in, sizeof in) == 0;
	char reason[SR_REASON_LEN];
	if (judged_before) {
		raw = c->memo.raw;
		c->fresh = c->memo.fresh;
		c->baseline = c->memo.baseline;
		c->deviation_pct = c->memo.deviation_pct;
	} else {
		struct judging j = {.p = p,
		                    .k = k,
		                    .in = &in,
		                    .s = s,
		                    .now = now,
		                    .control = c->control,
		                    .reason = timeless ? NULL : reason,
		                    .n = sizeof reason};
		raw = cell_judge(&j, can, ctl);
		c->fresh = j.fresh;
		c->baseline = j.baseline;
		c->deviation_pct = j.deviation_pct;
	}
	c->raw = raw;
	/* Monitor cells never gate: no RED, no breach clock, no hysteresis. */
	enum sr_status st = k->kind == SR_KIND_MONITOR ? raw : hysteresis(p, c, raw, now);
	/* A rollback ends every breach: the canary that breached takes no
	 * traffic, and its NODATA would otherwise pause the clock as a data
	 * gap does, "in breach" for the rest of the day (the triggers are
	 * cleared by the rollback too: triggers.c). */
	if (k->gating && k->kind != SR_KIND_MONITOR)
		breach_update(c, e->ro.rolled_back ? SR_GREEN : raw, now);

	if (!judged_before || !memo_extra_matches(c)) {
		memo_store(c, &in, timeless);
		c->reason_pending = timeless;
		if (!timeless)
			cell_write_reason(p, k, &c->memo, can, snapshot_msg(s, can), reason,
			                  c->reason_text, sizeof c->reason_text);
	}

	if (st != c->status || first) {
		enum sr_status from = c->status;
		c->status = st;
		c->status_since = now;
		/* The first evaluation only reports what is wrong; 33 lines of
		 * "GREEN" at start-up would bury it. */
		if (!first || st != SR_GREEN) {
			char text[SR_REASON_LEN];
			engine_cell_summary(e, i, text, sizeof text);
			engine_emit(e, SR_EV_STATUS, i, (int)from, (int)st, now, "%s", text);
		}
	}
}

/* SR_BASE_T0 baselines: the control value at the first evaluation at or
 * after T-0 that has a usable one. Taken once; the journal keeps it. */
static void capture_t0_baselines(struct sr_engine *e, const struct sr_snapshot *s, sr_ms now)
{
	const struct sr_policy *p = e->policy;
	if (now < e->ro.t0)
		return;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (k->kind != SR_KIND_VS_BASELINE || k->baseline != SR_BASE_T0 ||
		    !isnan(e->t0_baseline[i]))
			continue;
		const struct sr_obs *ctl = obs_of(s, i, false);
		enum sr_status st;
		if (!obs_problem(p, k, ctl, NULL, now, &st, NULL, 0) && isfinite(ctl->value))
			e->t0_baseline[i] = ctl->value;
	}
}

void engine_evaluate(struct sr_engine *e, const struct sr_snapshot *s, sr_ms now)
{
	const struct sr_policy *p = e->policy;
	bool first = e->evaluations == 0;
	capture_t0_baselines(e, s, now);
	for (int i = 0; i < p->ncells; i++)
		cell_evaluate(e, i, s, now, first);
	evidence_update(e, s);
	e->judged = true;
	e->judged_phase = e->ro.phase;
	criteria_update(e, now);
	triggers_update(e, now);
	decision_update(e, now);
	e->last_eval = now;
	e->evaluations++;
}

void engine_redecide(struct sr_engine *e, sr_ms now)
{
	/* The same order as engine_evaluate, minus the cells: criteria and
	 * triggers read the cells and the record; the decision reads all. */
	criteria_update(e, now);
	triggers_update(e, now);
	decision_update(e, now);
}

bool engine_decision_current(const struct sr_engine *e)
{
	return e->decision.ro_changes == e->ro.changes &&
	       e->decision.ro_changed_at == e->ro.changed_at;
}

/* ---- queries for views ------------------------------------------------ */

bool engine_all_gating_green(const struct sr_engine *e)
{
	const struct sr_policy *p = e->policy;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (k->gating && k->kind != SR_KIND_MONITOR && e->cells[i].status != SR_GREEN)
			return false;
	}
	return true;
}

int engine_gating_count(const struct sr_engine *e)
{
	const struct sr_policy *p = e->policy;
	int n = 0;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_kpi *k = &p->kpis[p->cells[i].kpi];
		if (k->gating && k->kind != SR_KIND_MONITOR)
			n++;
	}
	return n;
}

/* How bad a fresh cell's value is, in the KPI's own direction. */
static double badness(const struct sr_kpi *k, const struct sr_cell_state *c)
{
	switch (k->kind) {
	case SR_KIND_MIN:
	case SR_KIND_RATIO_MIN: return -c->canary;
	case SR_KIND_VS_CONTROL:
	case SR_KIND_VS_BASELINE: {
		double d = c->deviation_pct;
		if (isnan(d) && c->baseline == 0 && isfinite(c->canary) && c->canary != 0) {
			/* over a zero baseline: infinitely bad when it counts */
			bool up = c->canary > 0;
			bool counts = k->direction == SR_DIR_BOTH ||
			              (k->direction == SR_DIR_UP) == up;
			return counts ? INFINITY : -INFINITY;
		}
		if (isnan(d))
			return -INFINITY;
		return k->direction == SR_DIR_UP ? d : k->direction == SR_DIR_DOWN ? -d : fabs(d);
	}
	default: return c->canary;
	}
}

double engine_kpi_worst(const struct sr_engine *e, int kpi)
{
	const struct sr_policy *p = e->policy;
	if (kpi < 0 || kpi >= p->nkpis)
		return NAN;
	const struct sr_kpi *k = &p->kpis[kpi];
	double worst = NAN, wb = -INFINITY;
	for (int i = 0; i < p->ncells; i++) {
		const struct sr_cell_state *c = &e->cells[i];
		if (p->cells[i].kpi != kpi || !c->fresh || isnan(c->canary))
			continue;
		double b = badness(k, c);
		if (isnan(worst) || b > wb) {
			worst = c->canary;
			wb = b;
		}
	}
	return worst;
}

enum sr_status engine_journey_status(const struct sr_engine *e, int journey)
{
	const struct sr_policy *p = e->policy;
	enum sr_status worst = SR_GREEN;
	bool any = false;
	for (int i = 0; i < p->ncells; i++) {
		if (p->cells[i].journey != journey)
			continue;
		any = true;
		if (e->cells[i].status > worst)
			worst = e->cells[i].status;
	}
	return any ? worst : SR_NODATA;
}
