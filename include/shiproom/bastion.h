/* bastion.h - one rollout served from several bastions (the etcd store).
 *
 * A service whose policy puts the journal in etcd (store.h) runs one of
 * these beside its session. It decides, through leader.h, whether this
 * service leads the rollout or stands by, and carries out what follows
 * from each:
 *
 *   leader   polls, evaluates, guards and acts (the session as ever);
 *            carries out the requests other bastions' consoles forward,
 *            each exactly once; merges a break-glass spool.
 *   standby  follows the journal (runner_set_follower): its consoles see
 *            the leader's values, decisions and log; their actions are
 *            forwarded to the leader through etcd and answered with the
 *            leader's result (the same outcome words and exit codes);
 *            campaigns, and on winning first reconciles any intent left
 *            without its outcome, then guards on.
 *   either   while the store does not answer: "store unavailable", the
 *            decision HOLDs, nothing acts but a rollback (break-glass:
 *            done here, its records spooled and merged when the store
 *            returns).
 *
 * Forwarded requests: <prefix>/req/<id> holds the request (who, as the
 * standby's kernel said: SO_PEERCRED), <prefix>/res/<id> the answer. The
 * leader's records of the action carry the id, so a new leader that
 * finds a request already in the journal answers it from there instead
 * of acting again; the answer and the request's removal are one txn.
 */
#ifndef SHIPROOM_BASTION_H
#define SHIPROOM_BASTION_H

#include <stdbool.h>
#include <stddef.h>

#include "shiproom/action.h"
#include "shiproom/leader.h"

struct sr_session;
struct sr_bastion;

struct sr_bastion_hooks {
	void *ud;
	/* The answer to a request this service forwarded for its client. */
	void (*answer)(void *ud, long client, long long msg_id, const char *action,
	               const char *outcome, const char *message, int weight);
	/* Leadership changed (why: in the log's words). Leading now: the
	 * service re-anchors a simulator's clock at the journal's end. */
	void (*changed)(void *ud, enum sr_lead state, const char *why);
	/* The mirror no longer matches the store (a spooled record landed
	 * at another seq): the rollout must be read again. */
	void (*reread)(void *ud, const char *why);
};

/* NULL with err when the session has no etcd store (nothing to do). */
struct sr_bastion *bastion_create(struct sr_session *s, const struct sr_bastion_hooks *hooks,
                                  char *err, size_t n);
/* Give the lease back (a clean stop: a standby takes over at once). */
void bastion_free(struct sr_bastion *b);

/* Campaign, keep the lease, carry out or collect forwarded requests,
 * merge a spool, say whether the store answers. Every interval_ms. */
void bastion_tick(struct sr_bastion *b);
long long bastion_interval_ms(const struct sr_bastion *b);

bool bastion_leads(const struct sr_bastion *b);
/* "leader host pid 123", "standby (leader: ...)", "store unavailable" */
void bastion_badge(const struct sr_bastion *b, char *buf, size_t n);
/* For runner.may_act. */
const char *bastion_may_act(void *b, const struct sr_action_request *req);

/* On a standby while the store answers: forward req for the client's
 * message msg_id; true when forwarded (the answer comes through
 * hooks.answer), false when it must be carried out here (leading, or
 * break-glass) - or refused with *why set (why non-empty). */
bool bastion_forward(struct sr_bastion *b, long client, long long msg_id,
                     const struct sr_action_request *req, char *why, size_t n);

#endif
