/* engine.h - the pure evaluation engine (DESIGN.md section 3).
 *
 * engine_evaluate() takes a snapshot and `now`, and updates: the status of
 * every cell (with its reason), the rollback triggers, the time-driven
 * rollout transitions and the decision. No I/O, no clock, no allocation.
 */
#ifndef SHIPROOM_ENGINE_H
#define SHIPROOM_ENGINE_H

#include "shiproom/policy.h"
#include "shiproom/rollout.h"
#include "shiproom/snapshot.h"

/* What a cell's reason text is made from (evaluate.c). Formatting the
 * reasons was 92% of an evaluation, and most of the text is read by no
 * one: a console draws the rows on screen, a report or a `status` asks
 * now and then. So a cell whose text depends only on these inputs (not
 * on `now`, not on an error message or a source warning) keeps them in
 * its memo and the text is made when someone reads it
 * (engine_cell_reason); an evaluation whose inputs match the memo keeps
 * the judgement too. STALE, ERROR and warned cells are written at once.
 * Anything that writes the text from outside the engine (a journal
 * replay, a service's mirror) uses engine_cell_set_reason(). */
struct sr_reason_inputs { /* compared as bytes: filled after a memset */
	const struct sr_policy *policy;
	int phase;
	enum sr_obs_kind can_kind, ctl_kind;
	double can_value, can_samples, ctl_value, ctl_samples;
	double limit, t0_baseline, last_control;
};

struct sr_reason_memo {
	bool valid;
	struct sr_reason_inputs in;
	/* the judgement the text came with */
	enum sr_status raw;
	bool fresh;
	double baseline, deviation_pct;
	/* the breach and hysteresis suffix/prefix */
	bool breaching, interrupted, recovering;
	int good_run;
	sr_ms breach_ms;
};

struct sr_cell_state {
	enum sr_status status; /* after hysteresis */
	enum sr_status raw;    /* this evaluation alone */
	sr_ms status_since;    /* when `status` last changed */
	/* Read it with engine_cell_reason(): while reason_pending, the text
	 * here is an older one and the memo holds what the current one says. */
	char reason_text[SR_REASON_LEN];
	bool reason_pending;

	double canary, control; /* NAN when unknown */
	double baseline;        /* what vs_* compares with (NAN if n/a) */
	double deviation_pct;   /* vs_* kinds: signed deviation, % */
	double limit;           /* limit in force this phase */
	double samples;         /* canary samples */
	sr_ms age;              /* now - canary.at; -1 when never fetched */

	int good_run;       /* good evaluations since the last RED */
	sr_ms good_step_at; /* when good_run last grew: one step per poll_s */
	bool recovering;    /* hysteresis holds it YELLOW */
	bool needs_clear;   /* has been RED; not yet cleared by clear_after
	                       consecutive GREEN evaluations */
	bool fresh;         /* the canary value is usable: fetched, not
	                       stale, not NaN, enough samples */

	/* Sustained breach, like a Prometheus `for:` clause. Time accrues
	 * only while RED is observed; a NODATA/STALE/ERROR gap pauses it
	 * (interrupted) without completing or resetting it; a good
	 * evaluation resets it. */
	bool breaching;
	bool interrupted;
	sr_ms breach_acc; /* accrued before the current segment */
	sr_ms seg_start, seg_last;
	bool seg_open;

	struct sr_reason_memo memo; /* private to evaluate.c */
};

struct sr_engine;

/* Why cell `cell` has its status, in words ("P95 142.3ms > 130ms limit
 * (control 101.2ms, 812 samples)"). Made on first read after an
 * evaluation changed it: the engine is logically const here (the text is
 * a pure function of the memo), so a const engine may be passed. The
 * pointer is valid until the next evaluation or set_reason. */
const char *engine_cell_reason(const struct sr_engine *e, int cell);

/* Make every cell's text now (before copying the cells as bytes). */
void engine_cell_reasons_fill(const struct sr_engine *e);

/* The cell's reason is written from outside the engine (sanitised): the
 * next evaluation writes it again whatever its inputs. */
void engine_cell_set_reason(struct sr_cell_state *c, const char *text);

/* Breach time accrued so far (0 when not breaching). */
sr_ms cell_breach_ms(const struct sr_cell_state *c);

enum sr_trig_state { SR_TRIG_ARMED, SR_TRIG_PENDING, SR_TRIG_FIRING };
const char *trigger_state_name(enum sr_trig_state s); /* "armed", ... */

struct sr_trigger_state {
	enum sr_trig_state state;
	sr_ms since;    /* of the current state */
	int cell;       /* the cell behind PENDING/FIRING, -1 */
	sr_ms progress; /* SUSTAINED: breach time of the worst cell */
	double value;   /* THRESHOLD: the value that crossed */
	char reason[SR_REASON_LEN];
};

struct sr_decision {
	enum sr_verdict verdict;
	int nreasons;
	char reasons[SR_MAX_REASONS][SR_REASON_LEN];
	/* ro.changes when this decision was computed: a decision whose count
	 * differs from the rollout's is about a record that has since changed
	 * (rights_check refuses a promote on it). */
	unsigned long ro_changes;
	sr_ms ro_changed_at; /* and ro.changed_at (a re-initialised record
	                        counts from 0 again) */
};

enum sr_event_kind {
	SR_EV_STATUS,   /* a cell changed status */
	SR_EV_TRIGGER,  /* a trigger changed state */
	SR_EV_DECISION, /* the verdict changed */
	SR_EV_ROLLOUT   /* time-driven rollout transition (overnight, success) */
};

/* from/to: enum sr_status (STATUS), enum sr_trig_state (TRIGGER),
 * enum sr_verdict (DECISION). ROLLOUT: enum sr_rstate for the overnight
 * hold and partial success, enum sr_gate_outcome for a gate held past its
 * time (index = the gate), 0/1 for success_ready (index -1). The first
 * evaluation reports only cells that are not GREEN, and the verdict. */
struct sr_event {
	enum sr_event_kind kind;
	sr_ms at;
	int index; /* cell, trigger or gate index, -1 */
	int from, to;
	char text[SR_REASON_LEN];
};

#define SR_MAX_EVENTS 128

struct sr_engine {
	const struct sr_policy *policy;
	struct sr_rollout ro;
	struct sr_trigger_state triggers[SR_MAX_TRIGGERS];
	struct sr_decision decision;
	/* Success criteria (policy.criteria): met continuously since, 0 = not
	 * met now. success_ready: every criterion met for its sustain time at
	 * the success weight; the Release DRI may declare success. */
	sr_ms criterion_since[SR_MAX_CRITERIA];
	bool success_ready;
	sr_ms last_eval; /* 0 before the first evaluation */
	long evaluations;
	/* The next evaluation emits its decision even if it did not change:
	 * a process that takes the lead (a restart warmed by the journal, a
	 * standby promoted) says where things stand, as a fresh one does. */
	bool announce;
	/* Write every cell's reason during the evaluation, from the
	 * observations themselves, as before reasons were made on read: the
	 * reference the made-on-read text is tested against. */
	bool reasons_at_once;
	/* The phase whose limits the cells were last judged at (set by
	 * engine_evaluate; judged false until then and in a journal replay,
	 * which feeds cells without judging them). After a promote and
	 * engine_redecide, the cells still carry the old phase's verdicts:
	 * the decision holds until they are judged again. */
	bool judged;
	int judged_phase;

	/* The edge as read back at every poll, against the weight the
	 * journal says it has (ro.weight): a difference nobody asked for (a
	 * late answer that was applied, a change made by hand, a rollback
	 * cut between its steps) is an anomaly, and the decision HOLDs until
	 * the edge agrees again (the DRI rolls back or restores the weight). */
	int edge_weight;          /* last read back, -1 never */
	int edge_expected;        /* ro.weight when the anomaly was seen */
	sr_ms edge_anomaly_since; /* 0: none */
	/* The journal cannot record since then (0: it can): its store
	 * (store.h) does not answer, or its file refuses writes (a full
	 * disk). Nothing acts but a rollback (break-glass) and the decision
	 * HOLDs. store_what says what is wrong, store_then what becomes of a
	 * break-glass rollback's record (engine_store_observed). */
	sr_ms store_down_since;
	char store_what[160];
	char store_then[96];
	/* A rollback someone decided that has not landed whole (its edge
	 * calls failed; the runner completes it on the poll, action.c):
	 * since when (0: none) and what the log says of it. The decision is
	 * ROLLBACK, that reason first, until it lands: the canary is coming
	 * out, and nothing may move it the other way meanwhile. */
	sr_ms rollback_due_since;
	char rollback_due_what[SR_REASON_LEN];

	/* Changes since the last engine_drain_events(); oldest first. When
	 * more than SR_MAX_EVENTS pile up the oldest are dropped and counted. */
	int nevents;
	long events_dropped;
	struct sr_event events[SR_MAX_EVENTS];

	/* Per cell, last: engine_init writes only the policy's ncells of each
	 * (the rest is capacity, common.h, and is never read). */
	struct sr_cell_state cells[SR_MAX_CELLS];
	double t0_baseline[SR_MAX_CELLS]; /* SR_BASE_T0: control at T-0, NAN until taken */
	/* The last usable control value per cell and when it was seen. At
	 * 100% the control cohort has no traffic left, so vs_* KPIs compare
	 * with the control as it was before the canary took everything. */
	double last_control[SR_MAX_CELLS];
	sr_ms last_control_at[SR_MAX_CELLS];
	/* The sequential test of canary against control, per cell (evidence.h);
	 * SR_EVS_OFF where the KPI has none. */
	struct sr_evidence evidence[SR_MAX_CELLS];
};

void engine_init(struct sr_engine *e, const struct sr_policy *p, sr_ms t0);
/* dst = src for src's policy's cells: what lies past them is capacity
 * and is neither read nor written (a whole-struct copy moves 4.4 MB and
 * makes all of it resident on both sides). */
void engine_copy(struct sr_engine *dst, const struct sr_engine *src);
void engine_evaluate(struct sr_engine *e, const struct sr_snapshot *s, sr_ms now);
/* After an action changed the rollout record (hold, resume, promote,
 * approve, tick, ...): re-run what depends on the record - success
 * criteria (the weight), triggers (a rollback clears them), the
 * time-driven transitions and the decision - from the cells as last
 * judged, without a new snapshot. Cells are not judged again (hysteresis
 * and breach clocks advance only with data); when the phase changed, the
 * decision holds until the next engine_evaluate judges them at the new
 * phase's limits. The action dispatcher calls it after every action that
 * changed the record. Does not count as an evaluation. */
void engine_redecide(struct sr_engine *e, sr_ms now);
/* The edge read back `weight` at `now` (no action in flight). Compares it
 * with the rollout's weight, starts or ends an edge anomaly (an
 * SR_EV_ROLLOUT event says which) and redecides. Returns true when the
 * anomaly started or ended. */
bool engine_edge_observed(struct sr_engine *e, int weight, sr_ms now);
/* The journal can record (or not) at `now`: starts or ends the hold
 * "nothing can be recorded" and redecides. While it cannot, `what` says
 * why ("store unavailable", "journal write failed (...)") and `then`
 * what becomes of a break-glass rollback's record ("spooled, merged when
 * the store returns"); both may be NULL when available. true when the
 * hold started or ended. */
bool engine_store_observed(struct sr_engine *e, bool available, sr_ms now, const char *what,
                           const char *then);
/* A rollback has not landed whole (due, `what` says whose, why and when
 * it is tried next), or has landed or been dropped (!due): the decision
 * says so at once (engine_redecide). true when it started or ended. */
bool engine_rollback_due(struct sr_engine *e, bool due, sr_ms now, const char *what);
/* Copies out up to max events and clears the queue; returns the count. */
int engine_drain_events(struct sr_engine *e, struct sr_event *out, int max);

/* Was the decision computed from the rollout record as it is now? False
 * after any change (an action) until engine_redecide or engine_evaluate. */
bool engine_decision_current(const struct sr_engine *e);

/* True when every gating cell is GREEN (the "all gates GREEN" condition). */
bool engine_all_gating_green(const struct sr_engine *e);
/* Worst canary value of a KPI over its journeys (NAN if none known). */
double engine_kpi_worst(const struct sr_engine *e, int kpi);
/* Worst status over a journey's cells (for a tile). */
enum sr_status engine_journey_status(const struct sr_engine *e, int journey);

/* Number of gating cells (the "all 27 gating checks" of a GO). */
int engine_gating_count(const struct sr_engine *e);
/* A gate's extra latency condition (gate.p95_max over gate.p95_kpi):
 * true when it holds or the gate has none; otherwise false with e.g.
 * "Gate 3 needs P95 <= 120ms: search P95 121ms" in why. */
bool engine_gate_p95_ok(const struct sr_engine *e, int gate, char *why, size_t n);
/* Progress of one success criterion, e.g. "P95 <= 120ms sustained for
 * >= 2 hours: 1h12m of 2h" or "...: not met (search P95 YELLOW)". */
void engine_criterion_text(const struct sr_engine *e, int criterion, sr_ms now, char *buf,
                           size_t n);
/* The sustained-breach window of the policy (the first SUSTAINED
 * trigger's for_ms), 0 when there is none. */
sr_ms engine_sustain_window(const struct sr_policy *p);

/* ---- engine internals, shared by evaluate.c, triggers.c and decision.c.
 * Views do not call these. */
void engine_emit(struct sr_engine *e, enum sr_event_kind kind, int index, int from, int to,
                 sr_ms at, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Feed each cell's evidence test the snapshot's step counts (evidence.c). */
void evidence_update(struct sr_engine *e, const struct sr_snapshot *s);
/* Reasons from the evidence tests whose policy action is `action` and
 * that say "worse" now: "search P95 evidence: canary worse than control
 * (...)". Returns how many were written (at most max). */
int evidence_reasons(const struct sr_engine *e, enum sr_evidence_action action,
                     char (*out)[SR_REASON_LEN], int max);
/* Rollback triggers from the cells just evaluated (triggers.c). */
void triggers_update(struct sr_engine *e, sr_ms now);
/* Success criteria tracking at the success weight (decision.c). */
void criteria_update(struct sr_engine *e, sr_ms now);
/* The decision and the time-driven rollout transitions (decision.c). */
void decision_update(struct sr_engine *e, sr_ms now);

/* The engine's words (reason.c): formatting shared by every engine file. */
#include "shiproom/reason.h"

#endif
