/* journal.h - the audit journal: what happened, in order, on disk.
 *
 * JSONL in a state dir ($XDG_STATE_HOME/shiproom/ROLLOUT/journal.jsonl by
 * default, ~/.local/state/... without XDG_STATE_HOME, or --state-dir).
 * One JSON object per line, built with jansson, each with
 *
 *     seq   unique, increasing across every console sharing the dir
 *     at    the rollout's clock (ms; virtual under the simulator)
 *     wall  the real clock when the line was written (ms)
 *     type  start intent outcome approval tick untick hold resume
 *           tiebreak success note trigger status snapshot obs reconcile
 *           torn notify
 *     actor the login that did it ("" for the engine)
 *
 * plus the type's own fields (see journal_*() below and the man page).
 *
 * It is the shared memory between consoles: every console on one state
 * dir appends to the same file and journal_poll()s what the others wrote.
 *
 * Durability. Each line is written whole by one write() on an O_APPEND
 * descriptor while holding a short exclusive flock() on the journal file
 * itself (the "append lock": it orders seq across processes and is held
 * for microseconds). Records of decisions and actions (start, intent,
 * outcome, reconcile, approval, tick, hold, resume, tiebreak, success,
 * torn) are fsync()ed before the call returns. Engine observations
 * (trigger, status, snapshot, obs) are fdatasync()ed in batches: at the next
 * durable record, at journal_sync() (call it from the poll timer), when
 * a second has passed since the last sync, and at close. Losing the last
 * second of observations in a power cut is acceptable; losing an intent
 * is not.
 *
 * Torn lines. A last line without its newline is a write cut short by a
 * crash. It is never parsed. journal_open() (and every append, which
 * checks the last byte first) moves its bytes aside to
 * journal.jsonl.torn-<offset>, truncates the journal back to the last
 * newline and appends a `torn` record {offset, bytes, saved_to}, so the
 * repair is itself journaled and nothing is silently dropped.
 * journal_replay() of a file (read-only) reports a torn tail with its
 * offset and leaves the file alone. A complete line that is not a valid
 * event is reported with its line number and skipped.
 *
 * The action lock. journal_lock() takes a non-blocking exclusive flock()
 * on `lock` in the state dir around check -> act -> record, so two
 * consoles never double-act; the holder's pid, login and action are
 * written into the lock file for the refusal message.
 *
 * Secrets never reach the journal: nothing here takes a token, and every
 * string (reasons, actors, edge errors) is sanitised before it is stored.
 */
#ifndef SHIPROOM_JOURNAL_H
#define SHIPROOM_JOURNAL_H

#include <jansson.h>

#include "shiproom/engine.h"
#include "shiproom/rollout.h"

#define JOURNAL_FILE "journal.jsonl"
#define JOURNAL_LOCK_FILE "lock"
#define JOURNAL_LINE_MAX (1u << 20) /* a longer line is reported and skipped */
#define JOURNAL_KEY_LEN 64

enum sr_jtype {
	SR_J_START,
	SR_J_INTENT,
	SR_J_OUTCOME,
	SR_J_APPROVAL,
	SR_J_TICK,
	SR_J_HOLD,
	SR_J_RESUME,
	SR_J_TIEBREAK,
	SR_J_SUCCESS,
	SR_J_TRIGGER,
	SR_J_STATUS,
	SR_J_SNAPSHOT,
	SR_J_RECONCILE,
	SR_J_TORN,
	SR_J_NOTIFY,  /* a webhook post delivered or given up (never the URL) */
	SR_J_SESSION, /* a console attached to or detached from the service */
	SR_J_EDGE,    /* an edge anomaly seen or resolved {weight, expected, anomaly, note} */
	SR_J_OBS,     /* every observation of one evaluation, as a delta (obsrec.h) */
	SR_J_NOTE,    /* a note someone added to the rollout {text} */
	SR_J_UNTICK,  /* a checklist tick undone {checklist, item, reason} */
	SR_J_UNKNOWN, /* a type this build does not know: delivered, not applied */
	SR_J_COUNT
};
const char *journal_type_name(enum sr_jtype t);
enum sr_jtype journal_type_from_name(const char *name);

struct sr_jbody;

/* One valid line, as handed to callbacks. Borrowed for the call only.
 * Its fields are read with journal_event_obj / journal_event_str: the
 * body of a bulky record (an obs record, a snapshot) is parsed only when
 * someone asks for it, which at a restart is almost never. */
struct sr_jevent {
	long line;        /* 1-based line number in the file */
	long long offset; /* byte offset of the line */
	long long seq;
	sr_ms at;
	enum sr_jtype type;
	const char *type_name;
	const char *actor;
	const json_t *obj;     /* the whole object when parsed already, else NULL */
	struct sr_jbody *body; /* the line's text, parsed on demand (journal.c) */
	bool own;              /* journal_poll: written through this handle */
};

/* The whole object of an event: parsed now if it was not yet. Never
 * NULL: a body the full parser refuses (what the quick check cannot see,
 * jskim.h) reads as an empty object, and the line is reported as an
 * issue once its callback returns. */
const json_t *journal_event_obj(const struct sr_jevent *ev);

/* A top-level string field of an event, or dflt when absent or not a
 * string; found without parsing the body when it can be. Valid for the
 * callback's duration. */
const char *journal_event_str(const struct sr_jevent *ev, const char *key, const char *dflt);

typedef void (*sr_jevent_cb)(void *ud, const struct sr_jevent *ev);
/* A problem with the file: a malformed line, a torn tail. offset is the
 * byte offset of the line, line its 1-based number. */
typedef void (*sr_jissue_cb)(void *ud, long line, long long offset, const char *msg);

/* ---- where --------------------------------------------------------------- */

/* The state dir: `override` when non-NULL and non-empty, else
 * $XDG_STATE_HOME/shiproom/<rollout>, else $HOME/.local/state/shiproom/
 * <rollout> (HOME from getpwuid when unset). rollout must be an id
 * ([A-Za-z0-9_.:-]). Does not create anything. 0 or -1 with err. */
int journal_state_dir(char *out, size_t n, const char *override, const char *rollout, char *err,
                      size_t en);

/* ---- open, close ----------------------------------------------------------- */

struct sr_journal;

struct sr_journal_open_info {
	bool created;          /* the journal did not exist */
	bool torn;             /* a torn last line was found ... */
	long long torn_offset; /* ... at this offset, */
	size_t torn_bytes;     /* this long, */
	char torn_saved[600];  /* moved to this file (empty if it could not be) */
};

/* Create the dir (0700, parents too) and open or create its journal
 * (0600). Repairs a torn last line as described above, reporting it in
 * *info (may be NULL). The handle has read nothing yet: the first
 * journal_poll() delivers the whole file (that is the console's replay).
 * NULL with err on failure. */
struct sr_journal *journal_open(const char *dir, struct sr_journal_open_info *info, char *err,
                                size_t n);
/* Open an existing journal to read and follow only (--read-only): no
 * directory or file is created, nothing is repaired or chmod'ed, every
 * append and the action lock are refused; works on a state dir the user
 * may only read. NULL with err. */
struct sr_journal *journal_open_readonly(const char *dir, char *err, size_t n);
/* Syncs batched lines, releases the action lock if held, closes. */
void journal_close(struct sr_journal *j);
const char *journal_path(const struct sr_journal *j);
const char *journal_dir(const struct sr_journal *j);

/* ---- writing ------------------------------------------------------------------ */

/* Append one event. `fields` (an object, may be NULL) is stolen; its
 * strings are sanitised; seq/at/wall/type/actor are set here. Durable
 * types are fsynced before returning. 0, or -1 with err (the line is then
 * not in the file: a short write is truncated away). *seq_out may be NULL. */
int journal_append(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                   json_t *fields, long long *seq_out, char *err, size_t n);
/* Is the journal's path still the file this handle writes (same device
 * and inode)? -1 with why when it was deleted, moved or replaced: the
 * rollout's record is no longer where every console reads it. Checked
 * before every append (nothing is written into a ghost) and by the
 * runner at every poll (to say so at once, and to stop acting). */
int journal_check_identity(struct sr_journal *j, char *why, size_t n);
/* The journal's name is removed on purpose (the simulator's temporary
 * state dir, gone once open): no identity to check. */
void journal_unnamed(struct sr_journal *j);
/* Was it made unnamed? Then no other process, no replay and no later
 * start can ever read it: what is kept only for them need not be
 * written (the per-poll observations). */
bool journal_is_unnamed(const struct sr_journal *j);
/* ---- the etcd store (store.h) -------------------------------------------------- */

#define JOURNAL_SPOOL_FILE "spool.jsonl"

struct sr_store;
/* Make the store the journal's truth and this file its mirror: a
 * break-glass spool left by an earlier run is merged (exactly once), the
 * mirror is checked against the store (its last record must be the
 * store's; else it is moved aside as journal.jsonl.diverged-<ms> and
 * rebuilt) and brought up to date. From then on every append is
 * committed to the store first (fenced: store_commit), or spooled while
 * the store does not answer, and every poll pulls what others wrote.
 * The store is borrowed. 0, or -1 with err. A store that does not answer
 * now is not an error: the mirror serves until it does. */
int journal_use_store(struct sr_journal *j, struct sr_store *st, char *err, size_t n);
/* The last commit was fenced off: another service leads. */
bool journal_store_fenced(const struct sr_journal *j);
/* What the store last said went wrong, or what was repaired (for the log). */
const char *journal_store_note(const struct sr_journal *j);
/* Records wait in the spool for the store. */
bool journal_spooling(const struct sr_journal *j);
/* Merge the spool now (the store answers again). *rebuild: some record
 * landed at another seq than the mirror has it: the mirror no longer
 * matches and the rollout must be read again from the store (a restart
 * of the service does that). 0 or an SR_STORE_* error. */
int journal_store_merge(struct sr_journal *j, bool fenced, bool *rebuild, int *merged, char *err,
                        size_t n);

/* The file refused to take a record (a full disk, a quota, a file size
 * limit, EIO), and no record as large has gone in since: the journal
 * cannot be trusted to record what happens now. why: what the system
 * said ("cannot write to ...: No space left on device"). */
bool journal_refusing(const struct sr_journal *j, char *why, size_t n);

/* fdatasync batched observations now. */
int journal_sync(struct sr_journal *j);

/* What an action is about; unused members are NULL / -1. */
struct sr_jaction {
	const char *action;    /* sr_action_name(): "promote", "rollback", "hold", ... */
	int weight;            /* promote: target weight; -1 n/a */
	bool drain;            /* rollback: the edge also drains sticky sessions */
	int gate;              /* approve: gate index; -1 n/a (the next) */
	const char *checklist; /* tick */
	const char *item;      /* tick */
	const char *reason;
	const char *key;       /* idempotency key (intent) */
	sr_ms overnight_until; /* tiebreak: the overnight hold it broke (0 n/a) */
	const char *request;   /* a forwarded request's id (bastion.h), or NULL */
};

/* A fresh idempotency key: "sr-<hex ms>-<16 random hex>". */
void journal_make_key(char *buf, size_t n);

/* {t0, policy_hash: "fnv1a64:<16 hex>", rollout} */
int journal_start(struct sr_journal *j, sr_ms at, const char *actor, sr_ms t0, uint64_t policy_hash,
                  const char *rollout, char *err, size_t n);
/* {action, key, weight, drain, gate, checklist, item, reason} - write it,
 * fsynced, before calling the edge. a->key is required. */
int journal_intent(struct sr_journal *j, sr_ms at, const char *actor, const struct sr_jaction *a,
                   char *err, size_t n);
/* {key, action, result: "ok"|"failed", weight (read back, -1 unknown),
 * error, attempts} */
int journal_outcome(struct sr_journal *j, sr_ms at, const char *actor, const char *key,
                    const char *action, bool ok, int weight, const char *error, int attempts,
                    char *err, size_t n);
/* After a crash between intent and outcome: what the edge really shows.
 * {key, action, result: "ok" (the intent took effect) | "failed",
 * weight (read back), note} */
int journal_reconcile(struct sr_journal *j, sr_ms at, const char *actor, const char *key,
                      const char *action, bool applied, int weight, const char *note, char *err,
                      size_t n);
/* approval {gate, reason}, tick {checklist, item}, hold {reason},
 * resume {reason}, tiebreak {reason, overnight_until}, success {reason}:
 * actions that do not move the edge are one record, not intent+outcome. */
int journal_record(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                   const struct sr_jaction *a, char *err, size_t n);
/* {trigger: the policy trigger's id, from, to, reason}; from/to are
 * enum sr_trig_state, written as trigger_state_name(). */
int journal_trigger(struct sr_journal *j, sr_ms at, const struct sr_policy *p, int trigger,
                    int from, int to, const char *reason, char *err, size_t n);
/* {cell: "<kpi id>" or "<kpi id>/<journey id>", kpi, journey, from, to,
 * reason}; from/to are enum sr_status, written as sr_status_name(). */
int journal_status(struct sr_journal *j, sr_ms at, const struct sr_policy *p, int cell, int from,
                   int to, const char *reason, char *err, size_t n);
/* {label: "T-0" | "Gate 1" ..., verdict, weight, cells: [{kpi, journey,
 * status, canary, control, samples, reason}]} - every cell at a gate;
 * NaN is null. */
int journal_snapshot(struct sr_journal *j, sr_ms at, const char *label, const struct sr_engine *e,
                     char *err, size_t n);

/* ---- the action lock ---------------------------------------------------------- */

/* Non-blocking. 0 when this handle now holds it (re-entrant: a second
 * call while held is 0 too); -1 with why = "another console (pid 4242,
 * alice) is acting: promote since 14:02:07 UTC" when another handle has it. */
int journal_lock(struct sr_journal *j, const char *actor, const char *what, char *why, size_t n);
/* The lock file's holder record (another console wrote it; any bytes) as
 * the refusal says it: "another console (pid 12, dri) is acting: promote
 * since 10:02:03 UTC", sanitised. -1 when it is not a holder record yet. */
int journal_lock_holder_text(const char *buf, size_t len, char *why, size_t n);
void journal_unlock(struct sr_journal *j);
bool journal_locked(const struct sr_journal *j);

/* ---- reading ------------------------------------------------------------------- */

/* Deliver every valid event appended since the last poll (the first poll
 * delivers the whole file), own lines included with ev->own set. A last
 * line still without its newline is left for the next poll (another
 * console may be mid-write). Returns the number of events delivered, or
 * -1 on a read error. issue may be NULL. */
int journal_poll(struct sr_journal *j, sr_jevent_cb cb, sr_jissue_cb issue, void *ud);

/* Read a journal file from the start without changing it (postmortem
 * replay, `shiproom replay FILE`). A torn tail is reported through issue
 * with its offset and never parsed. Returns events delivered, or -1 with
 * err when the file cannot be read. */
int journal_replay(const char *path, sr_jevent_cb cb, sr_jissue_cb issue, void *ud, char *err,
                   size_t n);

/* Parse one line (without its newline) into *ev and a new reference
 * *obj; 0, or -1 with why. Pure: the fuzz target's entry. */
int journal_parse_line(const char *line, size_t len, struct sr_jevent *ev, json_t **obj, char *why,
                       size_t n);

/* ---- reconciliation ------------------------------------------------------------------ */

struct sr_jintent {
	char key[JOURNAL_KEY_LEN];
	char action[SR_NAME_LEN];
	char actor[SR_NAME_LEN];
	char reason[SR_REASON_LEN];
	int weight; /* -1 n/a */
	bool drain;
	int gate; /* -1 n/a */
	char checklist[SR_NAME_LEN];
	char item[SR_NAME_LEN];
	sr_ms overnight_until; /* tiebreak */
	sr_ms at;
	long long seq;
};

/* The oldest intent in the file with no outcome or reconcile for its key
 * (reads up to the end of the file first). Call it at start-up holding
 * the action lock and before acting: an intent without outcome is then
 * orphaned, since writers hold the lock from intent to outcome. (An
 * intent of this handle's own whose outcome is not written yet counts
 * too.) true and *out filled when there is one. */
bool journal_pending_intent(struct sr_journal *j, struct sr_jintent *out);

/* ---- replay into a rollout ------------------------------------------------------------ */

#define JOURNAL_REPLAY_PENDING 16

/* Applies events to a struct sr_rollout through the rollout_* functions,
 * remembering intents until their outcome. */
struct sr_replay {
	struct sr_rollout *ro;
	const struct sr_policy *policy;
	bool started;
	int applied; /* state changes applied */
	int npending;
	struct sr_jintent pending[JOURNAL_REPLAY_PENDING];
};

void journal_replay_init(struct sr_replay *rp, struct sr_rollout *ro, const struct sr_policy *p);
/* Apply one event. 0 applied or nothing to apply; 1 applied with a
 * warning in why (a start under another policy hash); -1 not applied,
 * why says why (e.g. the rollout refused it, or an outcome for an unknown
 * key). */
int journal_apply(struct sr_replay *rp, const struct sr_jevent *ev, char *why, size_t n);

/* From a snapshot event: the control value of every policy cell (NAN
 * where absent), e.g. to restore the T-0 baseline. Returns cells found. */
int journal_snapshot_control(const struct sr_jevent *ev, const struct sr_policy *p, double *control,
                             int ncells);

#endif
