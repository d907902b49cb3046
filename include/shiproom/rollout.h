/* rollout.h - the rollout's state machine: phases, gates, holds, approvals,
 * checklists, overnight hold, partial success, success.
 *
 * This is the record of what has happened (the journal replays into it).
 * It changes only through the rollout_* functions, which the action
 * dispatcher calls after the edge confirmed a change, and through
 * engine_evaluate / engine_redecide for time-driven transitions
 * (overnight hold, success). Every change is counted (changes).
 */
#ifndef SHIPROOM_ROLLOUT_H
#define SHIPROOM_ROLLOUT_H

#include "shiproom/policy.h"

enum sr_rstate {
	SR_RS_PREFLIGHT,    /* before the first phase is deployed */
	SR_RS_OBSERVING,    /* in a phase, observation window running */
	SR_RS_GATE_PENDING, /* window elapsed: approvals / decision / promote */
	SR_RS_HELD,         /* the Release DRI holds */
	SR_RS_OVERNIGHT,    /* held at 50% past end of day: changes frozen */
	SR_RS_PARTIAL,      /* partial success: hold at 50%, remediation */
	SR_RS_ROLLED_BACK,
	SR_RS_SUCCESS
};
const char *rollout_state_name(enum sr_rstate s); /* "preflight", ... */

enum sr_gate_outcome {
	SR_GATE_PENDING,
	SR_GATE_PASSED, /* promoted through it */
	SR_GATE_HELD,   /* due, but not passed on time */
	SR_GATE_ROLLED_BACK
};

struct sr_approval {
	char who[SR_NAME_LEN];
	sr_ms at;
	char reason[SR_REASON_LEN]; /* what the approver said ("" none) */
};

struct sr_gate_record {
	enum sr_gate_outcome outcome;
	sr_ms at; /* when the outcome was reached */
	int napprovals;
	struct sr_approval approvals[SR_MAX_ROSTER];
};

struct sr_tick {
	bool done;
	char who[SR_NAME_LEN];
	sr_ms at;
};

/* A note someone added ("DB locks seen on the primary, watching"). */
struct sr_note {
	sr_ms at;
	char who[SR_NAME_LEN];
	char text[SR_REASON_LEN];
};
#define SR_MAX_NOTES 32 /* the newest are kept; the journal keeps them all */

struct sr_rollout {
	sr_ms t0;                /* planned T-0 */
	int phase;               /* index into policy.phases; -1 = pre-flight */
	int weight;              /* canary weight as last read back from the edge */
	int edge_anomaly_weight; /* the weight the last edge anomaly read back
	                            (journal "edge" record), 0 when none or
	                            resolved: while > 0 traffic reaches the
	                            canary whatever the phase, and a rollback
	                            is possible even in pre-flight */
	sr_ms phase_entered;     /* when the current phase started */

	bool held; /* Release DRI hold */
	sr_ms held_since;
	char held_by[SR_NAME_LEN];
	char hold_reason[SR_REASON_LEN];

	bool rolled_back;
	sr_ms rolled_back_at;
	char rolled_back_by[SR_NAME_LEN];
	char rollback_reason[SR_REASON_LEN];

	sr_ms overnight_until; /* 0: not in an overnight hold */
	sr_ms overnight_since;
	sr_ms partial_since; /* 0: not a partial success */
	bool tiebreak;       /* an exec's recorded tie-break for this ESCALATE */
	char tiebreak_by[SR_NAME_LEN];
	sr_ms tiebreak_at;

	sr_ms success_since; /* success criteria continuously met since (0: not) */
	bool success;
	sr_ms success_at;

	struct sr_gate_record gates[SR_MAX_GATES];
	struct sr_tick ticks[SR_MAX_CHECKLISTS][SR_MAX_ITEMS];

	int nnotes; /* notes ever added; notes[(i) % SR_MAX_NOTES] */
	struct sr_note notes[SR_MAX_NOTES];

	/* Bumped by every change of this record (each rollout_* that
	 * succeeds, and the engine's time-driven transitions), with when:
	 * a decision remembers the count it was computed from, so a decision
	 * older than the record can be told apart (rights.h). */
	unsigned long changes;
	sr_ms changed_at;
};

void rollout_init(struct sr_rollout *r, const struct sr_policy *p, sr_ms t0);
enum sr_rstate rollout_state(const struct sr_rollout *r, const struct sr_policy *p, sr_ms now);

/* The gate the current phase leads to (index into policy.gates), or -1
 * at the last phase / before T-0. *due is when its window elapses. */
int rollout_next_gate(const struct sr_rollout *r, const struct sr_policy *p, sr_ms *due);
/* Elapsed part of the observation window of the current phase. */
bool rollout_window_elapsed(const struct sr_rollout *r, const struct sr_policy *p, sr_ms now);
/* Open required pre-flight items; 0 when pre-flight is complete. */
int rollout_preflight_open(const struct sr_rollout *r, const struct sr_policy *p);

/* State changes. Each returns 0, or -1 with a reason in why[n]. They do
 * not check authority (rights.h does) and do not talk to the edge. */
int rollout_promote(struct sr_rollout *r, const struct sr_policy *p, int weight, sr_ms now,
                    char *why, size_t n);
int rollout_hold(struct sr_rollout *r, const char *actor, const char *reason, sr_ms now, char *why,
                 size_t n);
int rollout_resume(struct sr_rollout *r, sr_ms now, char *why, size_t n);
int rollout_rollback(struct sr_rollout *r, const struct sr_policy *p, const char *actor,
                     const char *reason, sr_ms now, char *why, size_t n);
int rollout_approve(struct sr_rollout *r, const struct sr_policy *p, int gate, const char *actor,
                    sr_ms now, char *why, size_t n);
int rollout_tick(struct sr_rollout *r, const struct sr_policy *p, const char *checklist,
                 const char *item, const char *actor, sr_ms now, char *why, size_t n);
int rollout_tiebreak(struct sr_rollout *r, const char *actor, sr_ms now, char *why, size_t n);
/* Undo a tick (refused when the item is not ticked, or when a later item
 * of an ordered checklist is still ticked: undo from the end). */
int rollout_untick(struct sr_rollout *r, const struct sr_policy *p, const char *checklist,
                   const char *item, sr_ms now, char *why, size_t n);
/* Add a note; refused when text is empty. A note is not a state change:
 * it does not make the decision older than the record. */
int rollout_note(struct sr_rollout *r, const char *actor, const char *text, sr_ms now, char *why,
                 size_t n);
/* Keep the reason of the approval `actor` gave at `at` (just recorded
 * by rollout_approve): the gate report and #ship-room show it. */
void rollout_approval_reason(struct sr_rollout *r, const char *actor, sr_ms at, const char *reason);
/* The i-th newest note (0 = newest), or NULL. */
const struct sr_note *rollout_note_at(const struct sr_rollout *r, int i);
int rollout_declare_success(struct sr_rollout *r, sr_ms now, char *why, size_t n);

#endif
