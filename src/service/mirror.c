/* mirror.c - the rollout's live state as JSON, and back (mirror.h).
 *
 * Each struct that crosses the socket is described once, by a table of
 * its fields (name, kind, offset, size); one encoder and one decoder walk
 * the tables. A new field is one line here, and encoder and decoder can
 * never disagree about it.
 *
 * Versions: a service lives all day, and the binary on its bastion may be
 * upgraded under it; a newer console must still attach. So a field added
 * after SR_WIRE_VERSION's first release is ADDED: an older service does
 * not send it, and its absence reads as zero, which must mean "none" for
 * that field (a time of 0, an empty text, false). When present it is
 * checked like any other. Unknown members are ignored, so an older
 * console reads a newer service. A change of a field's meaning bumps
 * SR_WIRE_VERSION instead.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/mirror.h"
#include "shiproom/reason.h"

enum field_kind {
	F_INT,   /* int */
	F_BOOL,  /* bool */
	F_MS,    /* sr_ms */
	F_LONG,  /* long */
	F_ULONG, /* unsigned long */
	F_DBL,   /* double, NaN as null */
	F_STR,   /* char[size] */
	F_DARR,  /* double[size / sizeof(double)], NaN as null */
	F_ENUM   /* an enum stored as int, 0..max */
};

struct field {
	const char *name;
	enum field_kind kind;
	size_t off;
	size_t size;
	int max;       /* F_ENUM: largest value; F_INT: -1 none */
	bool optional; /* ADDED after the version's first release: may be absent */
};

/* a field sent under `name` (FLD: under its own) */
#define FLD_AS(T, f, name, k, mx)                                                                  \
	{                                                                                          \
		name, k, offsetof(T, f), sizeof(((T *)0)->f), mx, false                            \
	}
/* a field an older service does not send (kinds whose zero is "none") */
#define ADDED(T, f, k)                                                                             \
	{                                                                                          \
#f, k, offsetof(T, f), sizeof(((T *)0)->f), 0, true                                \
	}
#define FLD(T, f, k, mx) FLD_AS(T, f, #f, k, mx)
#define INT(T, f) FLD(T, f, F_INT, -1)
#define BOOL(T, f) FLD(T, f, F_BOOL, 0)
#define MS(T, f) FLD(T, f, F_MS, 0)
#define DBL(T, f) FLD(T, f, F_DBL, 0)
#define STR(T, f) FLD(T, f, F_STR, 0)
#define STR_AS(T, f, name) FLD_AS(T, f, name, F_STR, 0)
#define ENUM(T, f, mx) FLD(T, f, F_ENUM, mx)
#define DARR(T, f) FLD(T, f, F_DARR, 0)
#define LONG(T, f) FLD(T, f, F_LONG, 0)
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct field cell_fields[] = {
    ENUM(struct sr_cell_state, status, SR_STATUS_COUNT - 1),
    ENUM(struct sr_cell_state, raw, SR_STATUS_COUNT - 1),
    MS(struct sr_cell_state, status_since),
    /* the text as read (engine_cell_reason: mirror_encode_core fills
     * every cell's first); a mirror's cells are never pending */
    STR_AS(struct sr_cell_state, reason_text, "reason"),
    DBL(struct sr_cell_state, canary),
    DBL(struct sr_cell_state, control),
    DBL(struct sr_cell_state, baseline),
    DBL(struct sr_cell_state, deviation_pct),
    DBL(struct sr_cell_state, limit),
    DBL(struct sr_cell_state, samples),
    MS(struct sr_cell_state, age),
    INT(struct sr_cell_state, good_run),
    MS(struct sr_cell_state, good_step_at),
    BOOL(struct sr_cell_state, recovering),
    BOOL(struct sr_cell_state, needs_clear),
    BOOL(struct sr_cell_state, fresh),
    BOOL(struct sr_cell_state, breaching),
    BOOL(struct sr_cell_state, interrupted),
    MS(struct sr_cell_state, breach_acc),
    MS(struct sr_cell_state, seg_start),
    MS(struct sr_cell_state, seg_last),
    BOOL(struct sr_cell_state, seg_open),
};

/* The sequential test's running state (evidence.h): all of it, so a
 * console's interval, p-value and "events needed" are the service's. */
static const struct field evidence_fields[] = {
    ENUM(struct sr_evidence, state, SR_EVS_WORSE),
    DARR(struct sr_evidence, grid_r),
    DARR(struct sr_evidence, grid_ln),
    DARR(struct sr_evidence, ll),
    DBL(struct sr_evidence, ll_upper),
    DBL(struct sr_evidence, ln_upper),
    DBL(struct sr_evidence, log_m_worse),
    DBL(struct sr_evidence, log_m_upper),
    DBL(struct sr_evidence, max_log_m_worse),
    DBL(struct sr_evidence, max_log_m_upper),
    DBL(struct sr_evidence, canary_bad),
    DBL(struct sr_evidence, control_bad),
    DBL(struct sr_evidence, canary_n),
    DBL(struct sr_evidence, control_n),
    DBL(struct sr_evidence, mh_num),
    DBL(struct sr_evidence, mh_den),
    DBL(struct sr_evidence, rho),
    LONG(struct sr_evidence, steps),
    LONG(struct sr_evidence, bursty_steps),
    MS(struct sr_evidence, last_at),
    MS(struct sr_evidence, worse_at),
    MS(struct sr_evidence, noworse_at),
};

static const struct field trigger_fields[] = {
    ENUM(struct sr_trigger_state, state, SR_TRIG_FIRING),
    MS(struct sr_trigger_state, since),
    INT(struct sr_trigger_state, cell),
    MS(struct sr_trigger_state, progress),
    DBL(struct sr_trigger_state, value),
    STR(struct sr_trigger_state, reason),
};

static const struct field rollout_fields[] = {
    MS(struct sr_rollout, t0),
    INT(struct sr_rollout, phase),
    INT(struct sr_rollout, weight),
    MS(struct sr_rollout, phase_entered),
    BOOL(struct sr_rollout, held),
    MS(struct sr_rollout, held_since),
    STR(struct sr_rollout, held_by),
    STR(struct sr_rollout, hold_reason),
    BOOL(struct sr_rollout, rolled_back),
    MS(struct sr_rollout, rolled_back_at),
    STR(struct sr_rollout, rolled_back_by),
    STR(struct sr_rollout, rollback_reason),
    MS(struct sr_rollout, overnight_until),
    MS(struct sr_rollout, overnight_since),
    MS(struct sr_rollout, partial_since),
    BOOL(struct sr_rollout, tiebreak),
    STR(struct sr_rollout, tiebreak_by),
    MS(struct sr_rollout, tiebreak_at),
    MS(struct sr_rollout, success_since),
    BOOL(struct sr_rollout, success),
    MS(struct sr_rollout, success_at),
    INT(struct sr_rollout, edge_anomaly_weight),
    FLD(struct sr_rollout, changes, F_ULONG, 0),
    MS(struct sr_rollout, changed_at),
};

static const struct field gate_fields[] = {
    ENUM(struct sr_gate_record, outcome, SR_GATE_ROLLED_BACK),
    MS(struct sr_gate_record, at),
};

static const struct field approval_fields[] = {
    STR(struct sr_approval, who),
    MS(struct sr_approval, at),
};

static const struct field tick_fields[] = {
    BOOL(struct sr_tick, done),
    STR(struct sr_tick, who),
    MS(struct sr_tick, at),
};

static const struct field decision_fields[] = {
    ENUM(struct sr_decision, verdict, SR_ESCALATE),
    FLD(struct sr_decision, ro_changes, F_ULONG, 0),
    MS(struct sr_decision, ro_changed_at),
};

static const struct field engine_fields[] = {
    BOOL(struct sr_engine, success_ready),
    MS(struct sr_engine, last_eval),
    FLD(struct sr_engine, evaluations, F_LONG, 0),
    BOOL(struct sr_engine, judged),
    INT(struct sr_engine, judged_phase),
    INT(struct sr_engine, edge_weight),
    INT(struct sr_engine, edge_expected),
    MS(struct sr_engine, edge_anomaly_since),
    ADDED(struct sr_engine, rollback_due_since, F_MS),
    ADDED(struct sr_engine, rollback_due_what, F_STR),
};

static const struct field request_fields[] = {
    ENUM(struct sr_action_request, kind, SR_ACT_COUNT - 1),
    INT(struct sr_action_request, weight),
    INT(struct sr_action_request, gate),
    STR(struct sr_action_request, actor),
    STR(struct sr_action_request, reason),
    STR(struct sr_action_request, checklist),
    STR(struct sr_action_request, item),
    INT(struct sr_action_request, report_kind),
    INT(struct sr_action_request, report_index),
};

static const struct field result_fields[] = {
    ENUM(struct sr_action_result, outcome, SR_ACT_PENDING),
    INT(struct sr_action_result, weight),
    STR(struct sr_action_result, message),
};

static const struct field log_fields[] = {
    MS(struct sr_log_entry, at),
    ENUM(struct sr_log_entry, kind, SR_LOG_INFO),
    ENUM(struct sr_log_entry, severity, SR_STATUS_COUNT - 1),
    STR(struct sr_log_entry, actor),
    STR(struct sr_log_entry, text),
};

static int fail(char *err, size_t n, const char *what, const char *name);
static json_t *num_or_null(double v);

static json_t *encode_doubles(const double *v, int count)
{
	json_t *a = json_array();
	for (int i = 0; a && i < count; i++)
		json_array_append_new(a, num_or_null(v[i]));
	return a;
}

static int decode_doubles(double *v, int count, const json_t *a, const char *what, char *err,
                          size_t n)
{
	if (!json_is_array(a) || json_array_size(a) != (size_t)count) {
		snprintf(err, n, "%s: expected an array of %d numbers", what, count);
		return -1;
	}
	for (int i = 0; i < count; i++) {
		const json_t *x = json_array_get(a, (size_t)i);
		if (json_is_null(x))
			v[i] = NAN;
		else if (json_is_number(x))
			v[i] = json_number_value(x);
		else
			return fail(err, n, what, "[]");
	}
	return 0;
}

/* ---- the two walkers ---------------------------------------------------- */

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *encode(const void *base, const struct field *f, size_t nf)
{
	json_t *o = json_object();
	const char *b = base;
	for (size_t i = 0; o && i < nf; i++) {
		const void *p = b + f[i].off;
		json_t *v = NULL;
		switch (f[i].kind) {
		case F_INT: v = json_integer(*(const int *)p); break;
		case F_ENUM: v = json_integer(*(const int *)p); break;
		case F_BOOL: v = json_boolean(*(const bool *)p); break;
		case F_MS: v = json_integer(*(const sr_ms *)p); break;
		case F_LONG: v = json_integer(*(const long *)p); break;
		case F_ULONG: v = json_integer((json_int_t) * (const unsigned long *)p); break;
		case F_DBL: v = num_or_null(*(const double *)p); break;
		case F_STR: v = json_string((const char *)p); break;
		case F_DARR: v = encode_doubles(p, (int)(f[i].size / sizeof(double))); break;
		}
		if (!v || json_object_set_new(o, f[i].name, v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int fail(char *err, size_t n, const char *what, const char *name)
{
	snprintf(err, n, "%s: bad or missing \"%s\"", what, name);
	return -1;
}

/* Every field must be there with its type (an ADDED one may be absent,
 * and is then zero): a state is whole or refused. */
static int decode(void *base, const struct field *f, size_t nf, const json_t *o, const char *what,
                  char *err, size_t n)
{
	char *b = base;
	if (!json_is_object(o)) {
		snprintf(err, n, "%s: not an object", what);
		return -1;
	}
	for (size_t i = 0; i < nf; i++) {
		void *p = b + f[i].off;
		const json_t *v = json_object_get(o, f[i].name);
		json_int_t iv;
		if (!v && f[i].optional) {
			memset(p, 0, f[i].size);
			continue;
		}
		switch (f[i].kind) {
		case F_INT:
		case F_ENUM:
			if (!json_is_integer(v))
				return fail(err, n, what, f[i].name);
			iv = json_integer_value(v);
			if (iv < (f[i].kind == F_ENUM ? 0 : -2147483647) ||
			    iv > (f[i].kind == F_ENUM ? f[i].max : 2147483647))
				return fail(err, n, what, f[i].name);
			*(int *)p = (int)iv;
			break;
		case F_BOOL:
			if (!json_is_boolean(v))
				return fail(err, n, what, f[i].name);
			*(bool *)p = json_is_true(v);
			break;
		case F_MS:
		case F_LONG:
			if (!json_is_integer(v))
				return fail(err, n, what, f[i].name);
			if (f[i].kind == F_MS)
				*(sr_ms *)p = (sr_ms)json_integer_value(v);
			else
				*(long *)p = (long)json_integer_value(v);
			break;
		case F_ULONG:
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return fail(err, n, what, f[i].name);
			*(unsigned long *)p = (unsigned long)json_integer_value(v);
			break;
		case F_DBL:
			if (json_is_null(v))
				*(double *)p = NAN;
			else if (json_is_number(v))
				*(double *)p = json_number_value(v);
			else
				return fail(err, n, what, f[i].name);
			break;
		case F_STR:
			if (!json_is_string(v))
				return fail(err, n, what, f[i].name);
			/* sanitised: the text reaches a terminal */
			sr_sanitize((char *)p, json_string_value(v), f[i].size);
			break;
		case F_DARR:
			if (decode_doubles(p, (int)(f[i].size / sizeof(double)), v, what, err, n) !=
			    0)
				return -1;
			break;
		}
	}
	return 0;
}

/* An array of n structs of `size` bytes, each with the same table. */
static json_t *encode_array(const void *base, size_t size, int count, const struct field *f,
                            size_t nf)
{
	json_t *a = json_array();
	for (int i = 0; a && i < count; i++) {
		json_t *o = encode((const char *)base + (size_t)i * size, f, nf);
		if (!o || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Exactly `count` elements: the policy says how many there are. */
static int decode_array(void *base, size_t size, int count, const struct field *f, size_t nf,
                        const json_t *a, const char *what, char *err, size_t n)
{
	if (!json_is_array(a) || json_array_size(a) != (size_t)count) {
		snprintf(err, n, "%s: expected an array of %d", what, count);
		return -1;
	}
	for (int i = 0; i < count; i++)
		if (decode((char *)base + (size_t)i * size, f, nf, json_array_get(a, (size_t)i),
		           what, err, n) != 0)
			return -1;
	return 0;
}

static json_t *encode_ms(const sr_ms *v, int count)
{
	json_t *a = json_array();
	for (int i = 0; a && i < count; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static int decode_ms(sr_ms *v, int count, const json_t *a, const char *what, char *err, size_t n)
{
	if (!json_is_array(a) || json_array_size(a) != (size_t)count) {
		snprintf(err, n, "%s: expected an array of %d times", what, count);
		return -1;
	}
	for (int i = 0; i < count; i++) {
		const json_t *x = json_array_get(a, (size_t)i);
		if (!json_is_integer(x))
			return fail(err, n, what, "[]");
		v[i] = (sr_ms)json_integer_value(x);
	}
	return 0;
}

/* ---- the rollout record ------------------------------------------------ */

static json_t *encode_rollout(const struct sr_rollout *ro, const struct sr_policy *p)
{
	json_t *o = encode(ro, rollout_fields, NFIELDS(rollout_fields));
	json_t *gates = json_array(), *ticks = json_array();
	for (int g = 0; g < p->ngates && gates; g++) {
		const struct sr_gate_record *gr = &ro->gates[g];
		json_t *go = encode(gr, gate_fields, NFIELDS(gate_fields));
		int na = gr->napprovals < 0               ? 0
		         : gr->napprovals > SR_MAX_ROSTER ? SR_MAX_ROSTER
		                                          : gr->napprovals;
		json_object_set_new(go, "approvals",
		                    encode_array(gr->approvals, sizeof gr->approvals[0], na,
		                                 approval_fields, NFIELDS(approval_fields)));
		json_array_append_new(gates, go);
	}
	for (int c = 0; c < p->nchecklists && ticks; c++)
		json_array_append_new(ticks, encode_array(ro->ticks[c], sizeof ro->ticks[c][0],
		                                          p->checklists[c].nitems, tick_fields,
		                                          NFIELDS(tick_fields)));
	json_object_set_new(o, "gates", gates);
	json_object_set_new(o, "ticks", ticks);
	return o;
}

static int decode_rollout(struct sr_rollout *ro, const struct sr_policy *p, const json_t *o,
                          char *err, size_t n)
{
	if (decode(ro, rollout_fields, NFIELDS(rollout_fields), o, "rollout", err, n) != 0)
		return -1;
	if (ro->phase < -1 || ro->phase >= p->nphases) {
		snprintf(err, n, "rollout: phase %d out of range", ro->phase);
		return -1;
	}
	const json_t *gates = json_object_get(o, "gates"), *ticks = json_object_get(o, "ticks");
	if (!json_is_array(gates) || json_array_size(gates) != (size_t)p->ngates ||
	    !json_is_array(ticks) || json_array_size(ticks) != (size_t)p->nchecklists) {
		snprintf(err, n, "rollout: gates or ticks do not match the policy");
		return -1;
	}
	for (int g = 0; g < p->ngates; g++) {
		struct sr_gate_record *gr = &ro->gates[g];
		const json_t *go = json_array_get(gates, (size_t)g);
		if (decode(gr, gate_fields, NFIELDS(gate_fields), go, "gate", err, n) != 0)
			return -1;
		const json_t *ap = json_object_get(go, "approvals");
		size_t na = json_array_size(ap);
		if (!json_is_array(ap) || na > SR_MAX_ROSTER) {
			snprintf(err, n, "gate: bad approvals");
			return -1;
		}
		gr->napprovals = (int)na;
		if (decode_array(gr->approvals, sizeof gr->approvals[0], (int)na, approval_fields,
		                 NFIELDS(approval_fields), ap, "approval", err, n) != 0)
			return -1;
	}
	for (int c = 0; c < p->nchecklists; c++)
		if (decode_array(ro->ticks[c], sizeof ro->ticks[c][0], p->checklists[c].nitems,
		                 tick_fields, NFIELDS(tick_fields),
		                 json_array_get(ticks, (size_t)c), "tick", err, n) != 0)
			return -1;
	return 0;
}

/* ---- the core: engine, flight, clock ------------------------------------ */

static json_t *encode_decision(const struct sr_decision *d)
{
	json_t *o = encode(d, decision_fields, NFIELDS(decision_fields));
	json_t *rs = json_array();
	int nr = d->nreasons < 0 ? 0 : d->nreasons > SR_MAX_REASONS ? SR_MAX_REASONS : d->nreasons;
	for (int i = 0; i < nr; i++)
		json_array_append_new(rs, json_string(d->reasons[i]));
	json_object_set_new(o, "reasons", rs);
	return o;
}

static int decode_decision(struct sr_decision *d, const json_t *o, char *err, size_t n)
{
	if (decode(d, decision_fields, NFIELDS(decision_fields), o, "decision", err, n) != 0)
		return -1;
	const json_t *rs = json_object_get(o, "reasons");
	if (!json_is_array(rs) || json_array_size(rs) > SR_MAX_REASONS) {
		snprintf(err, n, "decision: bad reasons");
		return -1;
	}
	d->nreasons = (int)json_array_size(rs);
	for (int i = 0; i < d->nreasons; i++) {
		const json_t *s = json_array_get(rs, (size_t)i);
		if (!json_is_string(s))
			return fail(err, n, "decision", "reasons");
		sr_sanitize(d->reasons[i], json_string_value(s), sizeof d->reasons[i]);
	}
	return 0;
}

json_t *mirror_encode_core(const struct sr_runner *r)
{
	const struct sr_engine *e = &r->engine;
	const struct sr_policy *p = r->policy;
	engine_cell_reasons_fill(e);
	json_t *o = encode(e, engine_fields, NFIELDS(engine_fields));
	if (!o)
		return NULL;
	json_object_set_new(o, "now", json_integer(r->now));
	json_object_set_new(o, "rollout", encode_rollout(&e->ro, p));
	json_object_set_new(o, "cells",
	                    encode_array(e->cells, sizeof e->cells[0], p->ncells, cell_fields,
	                                 NFIELDS(cell_fields)));
	json_object_set_new(o, "t0_baseline", encode_doubles(e->t0_baseline, p->ncells));
	json_object_set_new(o, "last_control", encode_doubles(e->last_control, p->ncells));
	json_object_set_new(o, "last_control_at", encode_ms(e->last_control_at, p->ncells));
	json_object_set_new(o, "triggers",
	                    encode_array(e->triggers, sizeof e->triggers[0], p->ntriggers,
	                                 trigger_fields, NFIELDS(trigger_fields)));
	json_object_set_new(o, "decision", encode_decision(&e->decision));
	json_object_set_new(o, "criterion_since", encode_ms(e->criterion_since, p->ncriteria));
	/* the evidence of the cells that have a test (null: none) */
	json_t *ev = json_array();
	for (int c = 0; ev && c < p->ncells; c++)
		json_array_append_new(
		    ev, e->evidence[c].state == SR_EVS_OFF
		            ? json_null()
		            : encode(&e->evidence[c], evidence_fields, NFIELDS(evidence_fields)));
	json_object_set_new(o, "evidence", ev);
	/* The action in flight (or the last one), and what justified it. */
	json_t *fl = json_object();
	json_object_set_new(fl, "in_flight", json_boolean(r->action_in_flight));
	json_object_set_new(fl, "req",
	                    encode(&r->flight.req, request_fields, NFIELDS(request_fields)));
	json_object_set_new(fl, "result",
	                    encode(&r->flight.result, result_fields, NFIELDS(result_fields)));
	json_object_set_new(fl, "before_at", json_integer(r->before_action_at));
	json_object_set_new(fl, "before_decision", encode_decision(&r->before_action_decision));
	json_object_set_new(fl, "before_triggers",
	                    encode_array(r->before_action_triggers,
	                                 sizeof r->before_action_triggers[0], p->ntriggers,
	                                 trigger_fields, NFIELDS(trigger_fields)));
	json_object_set_new(o, "flight", fl);
	return o;
}

static int apply_core(struct sr_runner *m, struct sr_engine *e, const json_t *o, char *err,
                      size_t n)
{
	const struct sr_policy *p = m->policy;
	engine_copy(e, &m->engine);
	const json_t *now = json_object_get(o, "now");
	const json_t *fl = json_object_get(o, "flight");
	if (decode(e, engine_fields, NFIELDS(engine_fields), o, "engine", err, n) != 0 ||
	    decode_rollout(&e->ro, p, json_object_get(o, "rollout"), err, n) != 0 ||
	    decode_array(e->cells, sizeof e->cells[0], p->ncells, cell_fields, NFIELDS(cell_fields),
	                 json_object_get(o, "cells"), "cell", err, n) != 0 ||
	    decode_doubles(e->t0_baseline, p->ncells, json_object_get(o, "t0_baseline"),
	                   "t0_baseline", err, n) != 0 ||
	    decode_doubles(e->last_control, p->ncells, json_object_get(o, "last_control"),
	                   "last_control", err, n) != 0 ||
	    decode_ms(e->last_control_at, p->ncells, json_object_get(o, "last_control_at"),
	              "last_control_at", err, n) != 0 ||
	    decode_array(e->triggers, sizeof e->triggers[0], p->ntriggers, trigger_fields,
	                 NFIELDS(trigger_fields), json_object_get(o, "triggers"), "trigger", err,
	                 n) != 0 ||
	    decode_decision(&e->decision, json_object_get(o, "decision"), err, n) != 0 ||
	    decode_ms(e->criterion_since, p->ncriteria, json_object_get(o, "criterion_since"),
	              "criterion_since", err, n) != 0)
		return -1;
	for (int t = 0; t < p->ntriggers; t++)
		if (e->triggers[t].cell < -1 || e->triggers[t].cell >= p->ncells)
			return fail(err, n, "trigger", "cell");
	const json_t *ev = json_object_get(o, "evidence");
	if (!json_is_array(ev) || json_array_size(ev) != (size_t)p->ncells)
		return fail(err, n, "state", "evidence");
	for (int c = 0; c < p->ncells; c++) {
		const json_t *x = json_array_get(ev, (size_t)c);
		if (json_is_null(x)) {
			memset(&e->evidence[c], 0, sizeof e->evidence[c]);
			e->evidence[c].state = SR_EVS_OFF;
		} else if (decode(&e->evidence[c], evidence_fields, NFIELDS(evidence_fields), x,
		                  "evidence", err, n) != 0) {
			return -1;
		}
	}
	if (!json_is_integer(now) || !json_is_object(fl) ||
	    !json_is_boolean(json_object_get(fl, "in_flight")) ||
	    !json_is_integer(json_object_get(fl, "before_at")))
		return fail(err, n, "state", "now/flight");
	struct sr_action_flight flight = m->flight;
	struct sr_decision before = m->before_action_decision;
	struct sr_trigger_state before_t[SR_MAX_TRIGGERS];
	memcpy(before_t, m->before_action_triggers, sizeof before_t);
	if (decode(&flight.req, request_fields, NFIELDS(request_fields), json_object_get(fl, "req"),
	           "flight", err, n) != 0 ||
	    decode(&flight.result, result_fields, NFIELDS(result_fields),
	           json_object_get(fl, "result"), "flight", err, n) != 0 ||
	    decode_decision(&before, json_object_get(fl, "before_decision"), err, n) != 0 ||
	    decode_array(before_t, sizeof before_t[0], p->ntriggers, trigger_fields,
	                 NFIELDS(trigger_fields), json_object_get(fl, "before_triggers"), "trigger",
	                 err, n) != 0)
		return -1;
	/* the service's text is the text: nothing to make from a memo */
	for (int c = 0; c < p->ncells; c++) {
		e->cells[c].reason_pending = false;
		e->cells[c].memo.valid = false;
	}
	e->policy = p;
	e->nevents = 0; /* events are the service's to drain */
	engine_copy(&m->engine, e);
	m->now = (sr_ms)json_integer_value(now);
	m->flight = flight;
	m->action_in_flight = json_is_true(json_object_get(fl, "in_flight"));
	m->before_action_at = (sr_ms)json_integer_value(json_object_get(fl, "before_at"));
	m->before_action_decision = before;
	memcpy(m->before_action_triggers, before_t, sizeof before_t);
	return 0;
}

int mirror_apply_core(struct sr_runner *m, const json_t *o, char *err, size_t n)
{
	/* Decoded into a copy, so a refused state leaves the mirror as it
	 * was; the copy is mapped for the decode and given back after it
	 * (capacity for 4096 cells, the policy's touched): a console keeps
	 * one engine resident, not two. */
	struct sr_engine *e = calloc(1, sizeof *e);
	if (!e) {
		snprintf(err, n, "state: out of memory");
		return -1;
	}
	int rc = apply_core(m, e, o, err, n);
	free(e);
	return rc;
}

/* ---- history ------------------------------------------------------------ */

/* A point on the wire: canary and control as float32 and the status as a
 * byte, little-endian, 9 bytes; a cell's points are one base64 string.
 * As JSON numbers a day of history at 50 journeys was 390 000 values:
 * tens of megabytes of jansson objects to build and to read. */
#define POINT_BYTES 9

static void put_f32(unsigned char *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(u >> (8 * i));
}

static float get_f32(const unsigned char *b)
{
	uint32_t u = 0;
	for (int i = 0; i < 4; i++)
		u |= (uint32_t)b[i] << (8 * i);
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

json_t *mirror_encode_history(const struct sr_history *h, sr_ms after)
{
	json_t *o = json_object(), *cells = json_array(), *phases = json_array();
	int k = 0; /* points newer than `after` */
	if (h->last > 0 && h->ncells > 0) {
		int len = h->len;
		k = after <= 0 || after < h->last - (sr_ms)len * h->step
		        ? len
		        : (int)((h->last - after) / h->step);
		if (k > len)
			k = len;
		if (k < 0)
			k = 0;
	}
	/* a row's limits are its judged phase's (history.h) */
	for (int i = k - 1; i >= 0; i--)
		json_array_append_new(phases, json_integer(history_row_phase(h, i)));
	unsigned char *pts = malloc((size_t)(k > 0 ? k : 1) * POINT_BYTES);
	for (int c = 0; pts && c < h->ncells; c++) {
		unsigned char *p = pts;
		for (int i = k - 1; i >= 0; i--, p += POINT_BYTES) {
			float a, b;
			enum sr_status s;
			if (!history_point(h, c, i, &a, &b, NULL, &s)) {
				a = b = NAN;
				s = SR_NODATA;
			}
			put_f32(p, a);
			put_f32(p + 4, b);
			p[8] = (unsigned char)s;
		}
		char *text = sr_b64_encode(pts, (size_t)k * POINT_BYTES);
		json_array_append_new(cells, text ? json_string(text) : json_null());
		free(text);
	}
	free(pts);
	json_object_set_new(o, "step", json_integer(h->step));
	json_object_set_new(o, "last", json_integer(h->last));
	json_object_set_new(o, "reset", json_boolean(after <= 0));
	json_object_set_new(o, "phases", phases);
	json_object_set_new(o, "cells", cells);
	return o;
}

int mirror_apply_history(struct sr_runner *m, const json_t *o, char *err, size_t n)
{
	struct sr_history *h = &m->history;
	const json_t *step = json_object_get(o, "step"), *last = json_object_get(o, "last");
	const json_t *cells = json_object_get(o, "cells"), *phases = json_object_get(o, "phases");
	if (!json_is_integer(step) || json_integer_value(step) <= 0 || !json_is_integer(last) ||
	    !json_is_array(cells) || json_array_size(cells) != (size_t)m->policy->ncells ||
	    !json_is_array(phases)) {
		snprintf(err, n, "history: malformed");
		return -1;
	}
	/* Check every cell first: the ring is changed whole or not at all. */
	size_t k = json_array_size(phases), nc = json_array_size(cells);
	for (size_t i = 0; i < k; i++) {
		const json_t *ph = json_array_get(phases, i);
		json_int_t v = json_is_integer(ph) ? json_integer_value(ph) : -2;
		if (v != SR_HIST_UNJUDGED && (v < -1 || v >= m->policy->nphases)) {
			snprintf(err, n, "history: row %zu has no phase of the policy", i);
			return -1;
		}
	}
	unsigned char **pts = calloc(nc ? nc : 1, sizeof *pts);
	if (!pts) {
		snprintf(err, n, "history: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t c = 0; c < nc && rc == 0; c++) {
		const json_t *cc = json_array_get(cells, c);
		size_t len = 0;
		pts[c] = json_is_string(cc)
		             ? (unsigned char *)sr_b64_decode(json_string_value(cc),
		                                              json_string_length(cc), &len)
		             : NULL;
		if (!pts[c]) {
			snprintf(err, n, "history: cell %zu is not base64 points", c);
			rc = -1;
		} else if (len != k * POINT_BYTES) {
			snprintf(err, n, "history: cell %zu has %zu bytes for %zu rows", c, len, k);
			rc = -1;
		}
	}
	if (rc == 0) {
		if (json_is_true(json_object_get(o, "reset")) ||
		    h->step != json_integer_value(step))
			history_init(h, m->policy, (sr_ms)json_integer_value(step));
		for (size_t i = 0; i < k; i++) {
			int row = history_add_row(
			    h, (int)json_integer_value(json_array_get(phases, i)));
			for (size_t c = 0; c < nc; c++) {
				const unsigned char *p = pts[c] + i * POINT_BYTES;
				history_set(h, row, (int)c, get_f32(p), get_f32(p + 4),
				            p[8] < SR_STATUS_COUNT ? (enum sr_status)p[8]
				                                   : SR_NODATA);
			}
		}
		h->last = (sr_ms)json_integer_value(last);
	}
	for (size_t c = 0; c < nc; c++)
		free(pts[c]);
	free(pts);
	return rc;
}

/* ---- the event log ------------------------------------------------------ */

json_t *mirror_encode_log(const struct sr_runner *r, int from)
{
	json_t *o = json_object(), *a = json_array();
	if (from < r->nlog - SR_LOG_LEN)
		from = r->nlog - SR_LOG_LEN; /* older entries are gone from the ring */
	if (from < 0)
		from = 0;
	for (int i = from; i < r->nlog; i++)
		json_array_append_new(
		    a, encode(&r->log[i % SR_LOG_LEN], log_fields, NFIELDS(log_fields)));
	json_object_set_new(o, "from", json_integer(from));
	json_object_set_new(o, "entries", a);
	return o;
}

int mirror_apply_log(struct sr_runner *m, const json_t *o, char *err, size_t n)
{
	const json_t *from = json_object_get(o, "from"), *a = json_object_get(o, "entries");
	if (!json_is_integer(from) || json_integer_value(from) < 0 ||
	    json_integer_value(from) > 1000000000 || !json_is_array(a) ||
	    json_array_size(a) > 100000) {
		snprintf(err, n, "log: malformed");
		return -1;
	}
	int at = (int)json_integer_value(from);
	for (size_t i = 0; i < json_array_size(a); i++, at++) {
		struct sr_log_entry e;
		memset(&e, 0, sizeof e);
		if (decode(&e, log_fields, NFIELDS(log_fields), json_array_get(a, i), "log", err,
		           n) != 0)
			return -1;
		m->log[at % SR_LOG_LEN] = e;
		if (at + 1 > m->nlog)
			m->nlog = at + 1;
	}
	return 0;
}

void mirror_mark_silent(struct sr_runner *m, sr_ms silent_ms, enum sr_verdict last)
{
	struct sr_engine *e = &m->engine;
	char quiet[24], when[48];
	sr_fmt_duration(quiet, sizeof quiet, silent_ms);
	engine_fmt_when(e, m->now, when, sizeof when);
	int n = m->policy ? m->policy->ncells : 0;
	for (int i = 0; i < n && i < SR_MAX_CELLS; i++) {
		struct sr_cell_state *cs = &e->cells[i];
		cs->status = SR_STALE;
		cs->fresh = false;
		cs->reason_pending = false;
		snprintf(cs->reason_text, sizeof cs->reason_text,
		         "no word from the service for %s: this is as of %s", quiet, when);
	}
	struct sr_decision *d = &e->decision;
	d->verdict = SR_HOLD;
	d->nreasons = 1;
	snprintf(d->reasons[0], sizeof d->reasons[0],
	         "no word from the service for %s: its decision now is unknown (%s as of %s)",
	         quiet, sr_verdict_name(last), when);
}
