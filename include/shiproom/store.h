/* store.h - where the rollout's journal lives beyond one machine.
 *
 * Two stores hold a journal. The state dir (journal.h, the default) is a
 * file on one bastion. The etcd store (this module, over etcd.h) keeps
 * every record as one key, <prefix>/j/<seq: 20 digits>, its value the
 * record's JSON line, so that any bastion's service can read the whole
 * rollout and the one that leads can continue it.
 *
 * The journal stays the one reader and writer of records: journal.c
 * builds each line as it always has and keeps a local copy of the etcd
 * journal in the state dir (journal.jsonl, "the mirror"), so that every
 * reader - the runner's poll, reconciliation, reports, `replay` - reads a
 * file exactly as with the state-dir store. What changes is where a line
 * becomes true:
 *
 *   - commit: a record is durable when etcd has it. Its txn compares the
 *     leader key's create revision with this service's (the fence: an old
 *     leader that wakes after its lease expired writes nothing), that
 *     key j/<seq-1> exists and j/<seq> does not (no gap, no overwrite).
 *     Only then is the line written to the mirror.
 *   - pull: another service's records (the leader's, for a standby; a
 *     predecessor's, for a new leader) are read from etcd in seq order and
 *     appended to the mirror before the journal delivers them.
 *
 * Lost quorum (SR_STORE_UNAVAILABLE). Nothing is committed while etcd
 * cannot answer; the service HOLDs and refuses every action but
 * rollback. A rollback is break-glass: its records (and the observations
 * of the polls around it) go to the mirror and to a local spool
 * (spool.jsonl in the state dir, fsynced) with the seqs they would have
 * had. When the store answers again the spool is merged first, in order
 * and exactly once: at their own seqs when nobody wrote in between, else
 * at the head, each marked {"spooled": {"seq", "wall", "host"}} - and
 * then the mirror is rebuilt from etcd (store_merge says which).
 * Exactly once: each spooled record carries a spool id, and its commit
 * also creates <prefix>/spool/<id> in the same txn, so a merge cut short
 * and run again skips what already landed.
 */
#ifndef SHIPROOM_STORE_H
#define SHIPROOM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "shiproom/etcd.h"

enum sr_store_rc {
	SR_STORE_OK = 0,
	SR_STORE_UNAVAILABLE = -1, /* no quorum, no member answered: spool or refuse */
	SR_STORE_FENCED = -2,      /* the leader key is not ours: not the leader */
	SR_STORE_CONFLICT = -3,    /* j/<seq> exists already: pull, then retry */
	SR_STORE_FAILED = -4,      /* refused for good (auth, a record too large) */
	SR_STORE_FULL = -5,        /* answers, but takes no write (etcd's NOSPACE
	                              alarm): spool, as when it does not answer */
};

struct sr_store;

/* Lines pulled from the store, in seq order. 0 to go on, -1 to stop. */
typedef int (*sr_store_line_fn)(void *ud, long long seq, const char *line, size_t len);

/* An etcd store under cfg->prefix, on the client e (borrowed: it must
 * outlive the store). host names this service in spooled records. */
struct sr_store *store_open_etcd(struct sr_etcd *e, const char *prefix, const char *host);
void store_close(struct sr_store *st);
const char *store_prefix(const struct sr_store *st);
struct sr_etcd *store_etcd(const struct sr_store *st);

/* The fence every commit compares: the leader key and the create
 * revision it had when this service won it. 0: not the leader (commits
 * are then refused as SR_STORE_FENCED, without asking etcd). The
 * leadership module (leader.h) sets and clears it. */
void store_set_fence(struct sr_store *st, long long create_revision);
long long store_fence(const struct sr_store *st);
/* The leader key's name: <prefix>/leader. */
const char *store_leader_key(const struct sr_store *st);

/* Commit one record's line (no newline) as seq. */
int store_commit(struct sr_store *st, long long seq, const char *line, size_t len, char *err,
                 size_t n);
/* Commit one record's line as seq without the fence (`store import`:
 * a journal moved from a state dir into an empty store, before any
 * service leads it). Gap and overwrite checks as store_commit. */
int store_import_line(struct sr_store *st, long long seq, const char *line, size_t len, char *err,
                      size_t n);
/* Every record after `after`, in order, to fn; returns the number pulled
 * or an SR_STORE_* error. At most `max` (0: no limit) per call. */
int store_pull(struct sr_store *st, long long after, long long max, sr_store_line_fn fn, void *ud,
               char *err, size_t n);
/* The highest seq in the store (0: empty), or an SR_STORE_* error. */
long long store_head(struct sr_store *st, char *err, size_t n);
/* The line at seq (caller frees *line); SR_STORE_OK, 1 when absent, or
 * an error. */
int store_get(struct sr_store *st, long long seq, char **line, size_t *len, char *err, size_t n);

/* Is the store answering? Set by every call: false from an
 * SR_STORE_UNAVAILABLE until a call succeeds. since: when it stopped. */
bool store_available(const struct sr_store *st, long long *since_ms);
/* A cheap question to etcd (the head), to learn whether it is back. */
int store_probe(struct sr_store *st, char *err, size_t n);

/* ---- the break-glass spool ------------------------------------------------ */

/* spool_path: <state dir>/spool.jsonl. Appends one line, fsynced. */
int store_spool_append(const char *spool_path, long long seq, const char *line, size_t len,
                       char *err, size_t n);
bool store_spool_pending(const char *spool_path);
/* Merge the spool into the store (the store must be available and this
 * service the leader, or the spool's rollback is merged by whoever
 * leads: a standby merges through the same txn without the fence, since
 * only records that happened are in it). *resequenced: some record did
 * not land at its own seq (the mirror must be rebuilt). The spool file
 * is removed once every record landed. 0, or an SR_STORE_* error (the
 * spool is kept: the next merge skips what landed). */
int store_spool_merge(struct sr_store *st, const char *spool_path, bool fenced, bool *resequenced,
                      int *merged, char *err, size_t n);

#endif
