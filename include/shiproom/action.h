/* action.h - the one table of actions and the one dispatcher.
 *
 * Every way of acting (a key in the console, a scenario script step,
 * `shiproom act`) goes through action_dispatch(). Read-only is refused
 * here, once, not in each view (tmux's CMD_READONLY is the model).
 */
#ifndef SHIPROOM_ACTION_H
#define SHIPROOM_ACTION_H

#include "shiproom/policy.h"

#define SR_AF_READONLY_OK  0x1u /* allowed in read-only mode (none of the acts are) */
#define SR_AF_DANGEROUS    0x2u /* needs a confirmation in the UI */
#define SR_AF_TYPE_WEIGHT  0x4u /* confirm by typing the target weight */
#define SR_AF_MOVES_EDGE   0x8u /* calls the edge */

struct sr_action_def {
	enum sr_action_kind kind;
	const char *name;   /* "promote" */
	int key;            /* console key, e.g. 'p' */
	unsigned flags;
	enum sr_role role;  /* the role the table requires (rights.h decides) */
	const char *help;   /* one line for the help view and key bar */
};

/* The table, in key-bar order. */
const struct sr_action_def *action_table(int *n);
const struct sr_action_def *action_by_kind(enum sr_action_kind k);
const struct sr_action_def *action_by_key(int key);
const struct sr_action_def *action_by_name(const char *name);

struct sr_runner;

struct sr_action_request {
	enum sr_action_kind kind;
	int weight;                     /* PROMOTE: target (0: the next phase) */
	int gate;                       /* APPROVE: -1 = the next gate */
	char actor[SR_NAME_LEN];
	char reason[SR_REASON_LEN];
	char checklist[SR_NAME_LEN];    /* TICK */
	char item[SR_NAME_LEN];
};

enum sr_action_outcome {
	SR_ACT_DONE,      /* carried out and read back */
	SR_ACT_REFUSED,   /* read-only, authority, or decision not GO */
	SR_ACT_FAILED     /* the edge failed after its retries */
};

struct sr_action_result {
	enum sr_action_outcome outcome;
	int weight;                     /* weight read back (-1 unknown) */
	char message[SR_TEXT_LEN * 2];  /* the reasons, or what was done */
};

/* Check authority, act on the edge, read back, record. Synchronous for
 * the simulator edge; see runner.h for the asynchronous completion. */
void action_dispatch(struct sr_runner *r, const struct sr_action_request *req,
                     struct sr_action_result *res);

#endif
