/* leader.h - which bastion's service leads the rollout (etcd store).
 *
 * Every `shiproom serve` of the rollout campaigns for <prefix>/leader: a
 * txn that creates the key under the service's own lease only if it does
 * not exist (create revision 0). The winner leads - polls, evaluates,
 * guards, acts, writes the journal - and keeps its lease alive; the
 * others are standbys that follow the journal and campaign again when
 * the key goes (its lease expired: the leader died, was paused or cut
 * off). The key's create revision is the fence every journal commit
 * compares (store.h): an old leader that wakes past its lease can write
 * nothing.
 *
 * Acting needs more than the fence: an edge call is not a store write,
 * so between the intent's commit and the call a leader could be paused
 * and deposed. leader_may_act() also asks the local monotonic clock
 * whether the lease is still surely ours (its TTL counted from when the
 * last keepalive was sent, less a margin), so a leader that was paused
 * never calls the edge on a stale belief; the edge has no fencing token
 * of its own (HAProxy's Runtime API, a REST edge), and this is the
 * closest a client can come. The window left - a pause between the
 * check and the call's bytes leaving - is documented in the man page.
 *
 * Calls are synchronous and bounded (etcd.h): leader_tick() runs on the
 * service's timer every third of the TTL or faster.
 */
#ifndef SHIPROOM_LEADER_H
#define SHIPROOM_LEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "shiproom/store.h"

enum sr_lead {
	SR_LEAD_STANDBY, /* another service leads (or none yet: campaigning) */
	SR_LEAD_LEADER,  /* this service leads, its lease alive */
	SR_LEAD_UNSURE,  /* was leading; the store does not answer */
};
const char *leader_state_name(enum sr_lead s);

struct sr_leader;

/* who: this service's name in the leader key ("host pid N"). */
struct sr_leader *leader_create(struct sr_store *st, int ttl_s, const char *who);
/* Gives the lease back (a clean stop: a standby takes over at once). */
void leader_resign(struct sr_leader *l);
void leader_free(struct sr_leader *l);

/* Campaign (standby) or keep the lease alive (leader). mono_ms: the
 * monotonic clock. Returns true when the state changed (say so, and on
 * winning: reconcile before acting). The reason for a change is in
 * leader_why(). */
bool leader_tick(struct sr_leader *l, long long mono_ms);
enum sr_lead leader_state(const struct sr_leader *l);
/* The leader's name ("" when none is known), and since when (wall ms). */
const char *leader_holder(const struct sr_leader *l);
const char *leader_why(const struct sr_leader *l);
/* How often leader_tick wants to run (ms). */
long long leader_interval_ms(const struct sr_leader *l);
/* Leading, with the lease surely ours at mono_ms. */
bool leader_may_act(const struct sr_leader *l, long long mono_ms);
/* The commit of a record was fenced off: we lost. */
void leader_deposed(struct sr_leader *l, const char *why);
long long leader_mono_ms(void);

#endif
