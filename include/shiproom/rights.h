/* rights.h - who may do what, from the policy's roster and the directive's
 * decision-rights table. Pure: the answer depends only on the policy, the
 * engine state and the actor's login.
 */
#ifndef SHIPROOM_RIGHTS_H
#define SHIPROOM_RIGHTS_H

#include "shiproom/engine.h"

/* Does the roster give `actor` this role? */
bool rights_has_role(const struct sr_policy *p, const char *actor, enum sr_role role);

/* May `actor` perform `action` now? target_weight matters for PROMOTE
 * (the weight being promoted to), gate for APPROVE (-1: the next gate).
 * On refusal returns false and writes every reason, "; "-separated, into
 * why (e.g. "decision is HOLD: search P95 YELLOW ...; needs 1 approval
 * from gate_approver (none yet)").
 *
 * PROMOTE trusts the decision only when it was computed from the rollout
 * record as it is now (engine_decision_current) and from an evaluation
 * no older than stale_after; otherwise it refuses ("the rollout changed
 * at T+91 (...): waiting for the next evaluation"). It also checks the
 * record itself, whatever the decision says: a DRI hold, the current
 * phase's observation window, and the next gate's approvals - where the
 * promoter's own approval does not count ("Release DRI + gate approvals"
 * means a second person). */
bool rights_check(const struct sr_engine *e, enum sr_action_kind action, int target_weight,
                  const char *actor, sr_ms now, char *why, size_t n);

/* For the next promotion: approvals still missing (0 when pre-approved or
 * complete), and the names of roster members who could give them. With
 * promoter NULL these three count every approver; with the login of who
 * would promote (a console's user) that person's own approval does not
 * count, as rights_check does: a view must not say "no approval missing"
 * to someone whose promote will be refused for it. */
int rights_missing_approvals(const struct sr_engine *e, const char *promoter, char *who, size_t n);
/* The approvals that count for the next gate (distinct people holding
 * the gate's approver role): their names, comma-separated, and how many. */
int rights_approvers(const struct sr_engine *e, const char *promoter, char *who, size_t n);
/* The same as a sentence for reasons: "Gate 1 needs 1 approval from
 * gate_approver: approver (none yet)"; "" and 0 when nothing is missing.
 * Returns the number of approvals missing. */
int rights_approvals_text(const struct sr_engine *e, const char *promoter, char *buf, size_t n);

#endif
