/* action.h - the one table of actions and the one dispatcher.
 *
 * Every way of acting (a key in the console, a scenario script step,
 * `shiproom act`) goes through action_dispatch(). Read-only is refused
 * here, once, not in each view (tmux's CMD_READONLY is the model).
 */
#ifndef SHIPROOM_ACTION_H
#define SHIPROOM_ACTION_H

#include "shiproom/policy.h"

#define SR_AF_READONLY_OK 0x1u /* allowed in read-only mode (none of the acts are) */
#define SR_AF_DANGEROUS 0x2u   /* needs a confirmation in the UI */
#define SR_AF_TYPE_WEIGHT 0x4u /* confirm by typing the target weight */
#define SR_AF_MOVES_EDGE 0x8u  /* calls the edge */
#define SR_AF_ASKS_REASON                                                                          \
	0x10u /* the console asks why (a default offered from                                      \
	         what is RED or firing; Enter accepts it) */
#define SR_AF_NEEDS_TEXT                                                                           \
	0x20u /* refused without a reason: the note's text,                                        \
	         the untick's why */
#define SR_AF_WORKFLOW                                                                             \
	0x40u /* carried out by the session's workflow (the                                        \
	         webhook, the report writer), not by the                                           \
	         rollout record: runner.workflow */
#define SR_AF_OBSERVER_OK                                                                          \
	0x80u /* an observer attached read-only may, when the                                      \
	         policy's rights allow it (note) */

struct sr_action_def {
	enum sr_action_kind kind;
	const char *name; /* "promote" */
	int key;          /* console key, e.g. 'p' */
	unsigned flags;
	enum sr_role role; /* the role the table requires (rights.h decides) */
	const char *help;  /* one line for the help view and key bar */
};

/* The table, in key-bar order. */
const struct sr_action_def *action_table(int *n);
const struct sr_action_def *action_by_kind(enum sr_action_kind k);
const struct sr_action_def *action_by_key(int key);
const struct sr_action_def *action_by_name(const char *name);

struct sr_runner;

#define SR_REQUEST_ID_LEN 96

struct sr_action_request {
	enum sr_action_kind kind;
	int weight; /* PROMOTE: target (0: the next phase) */
	int gate;   /* APPROVE: -1 = the next gate */
	char actor[SR_NAME_LEN];
	char reason[SR_REASON_LEN];  /* NOTE: the note's text */
	char checklist[SR_NAME_LEN]; /* TICK, UNTICK */
	char item[SR_NAME_LEN];
	int report_kind;  /* REPORT: enum sr_report_kind */
	int report_index; /* REPORT: gate or phase, -1 the current */
	/* A request forwarded from another bastion's service (bastion.h):
	 * its id goes into the action's records, so that a new leader knows
	 * it was carried out and never carries it out twice. "" otherwise. */
	char request[SR_REQUEST_ID_LEN];
	/* Set only by action_rollback_retry, never from outside: the poll
	 * completing a rollback that did not land whole. It is the same
	 * actor's rollback with the same reason (the rollout record, the
	 * header and the postmortem name who decided it), granted because
	 * it was granted when asked. */
	bool completing;
};

enum sr_action_outcome {
	SR_ACT_DONE,    /* carried out and read back */
	SR_ACT_REFUSED, /* read-only, authority, or decision not GO */
	SR_ACT_FAILED,  /* the edge failed after its retries */
	SR_ACT_PENDING  /* an asynchronous edge is still working: the outcome
	                   is logged (and left in r->flight.result) when it
	                   answers; r->action_in_flight is true until then */
};
const char *action_outcome_name(enum sr_action_outcome o); /* "done", ... */

struct sr_action_result {
	enum sr_action_outcome outcome;
	int weight;                    /* weight read back (-1 unknown) */
	char message[SR_TEXT_LEN * 2]; /* the reasons, or what was done */
};

/* The actor name of the policy's auto_rollback. With `auto_rollback:
 * true` the policy itself grants this actor one thing: a rollback while
 * a trigger is FIRING (the directive's "any rollback trigger" makes the
 * rollback pre-authorised; auto_rollback says not to wait for a person).
 * Read-only still refuses it. */
#define SR_ACTOR_AUTO_ROLLBACK "auto-rollback"
/* The longest wait between two attempts to complete a rollback. */
#define SR_ROLLBACK_RETRY_MAX_MS (60 * SR_MS_PER_S)

/* Edge calls are retried this many times in all before FAILED. */
#define SR_ACTION_EDGE_TRIES 3

/* An edge-moving action between its start and its outcome (runner.h
 * keeps one: two edge actions never overlap). */
struct sr_action_flight {
	struct sr_action_request req;
	int target; /* weight asked of the edge */
	bool drain;
	int attempt;               /* failed attempts so far */
	bool sync;                 /* inside action_dispatch() */
	char key[SR_NAME_LEN * 3]; /* idempotency key */
	char err[SR_TEXT_LEN];     /* last edge error; after the final
	                              failure, the whole story (action.c) */
	sr_ms started;
	bool journaled;                 /* the intent is in the journal */
	bool unrecorded;                /* a break-glass rollback the journal refused */
	bool backing_off;               /* a retry is scheduled on the loop */
	struct sr_action_result result; /* the outcome, once known */
};

/* The one sequence for every action (DESIGN.md section 4):
 *   read-only? -> journal lock (refused while another console acts) ->
 *   journal poll (act on the newest state) -> authority and the decision
 *   (rights_check) -> trial on a copy of the rollout ->
 *   record-only actions: one journal record, read back and applied;
 *   edge actions: intent (fsynced) -> set_weight with an idempotency key
 *   -> read back -> outcome, retrying transient failures with back-off,
 *   visibly, SR_ACTION_EDGE_TRIES times in all -> read back and applied
 *   -> unlock.
 * Without a journal the same steps run minus the records. Completes
 * before returning with the simulator edge; an asynchronous edge
 * (HAProxy, HTTP) returns SR_ACT_PENDING and finishes from its callbacks
 * (r->action_in_flight until then, the outcome in r->flight.result). */
void action_dispatch(struct sr_runner *r, const struct sr_action_request *req,
                     struct sr_action_result *res);

/* A rollback that did not land whole is due again (r->rollback_due):
 * note when the next attempt runs, and say so in the log. `by` and
 * `reason` are the rollback's (its request's, or its intent's). */
void action_rollback_pending(struct sr_runner *r, const char *by, const char *reason,
                             const char *why);
/* On the poll: complete a due rollback once its delay has passed (the
 * same actor and reason, marked `completing`, through action_dispatch,
 * so it is an intent and an outcome in the journal like any rollback). */
void action_rollback_retry(struct sr_runner *r);

#endif
