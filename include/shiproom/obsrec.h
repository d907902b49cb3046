/* obsrec.h - every observation of every poll, compactly, for the journal.
 *
 * The journal's `obs` record keeps what the source answered at each
 * evaluation (the canary and control observation of every cell), so a
 * replay can evaluate exactly what the live engine evaluated, poll by
 * poll, and show the same values, statuses, breach timers, trigger
 * states and decision (runner.c replays through engine_evaluate). The
 * 10-minute snapshots carried only the cells' values at that moment.
 *
 * Compactness: a record lists only the observations that changed since
 * the previous record of the same writer (a delta chain), each as one
 * short token in the string field "d":
 *
 *     <cell><side>[<value>][/<samples>][@<age ms>][!<kind>][^<0|1>]
 *
 *   cell    the policy cell index, decimal
 *   side    'c' canary, 'k' control
 *   value   the value if it changed: the shortest of %.6g..%.17g that
 *           reads back as the same double, or 'n' for NaN
 *   samples '/' and the samples if they changed (same notation)
 *   age     '@' and record.at - obs.at in ms, when the observation is
 *           not of the record's own time (an ERROR keeps its last good
 *           fetch's time); absent means obs.at == record.at
 *   kind    '!' and O (ok), N (no series), E (error), Z (none) if it
 *           changed
 *   degraded '^' and 1 or 0 if it changed
 *   steps   '#' requests, '=' bad events, '%' the slow-request boundary
 *           of the poll step (the evidence test's inputs, evidence.h),
 *           each if it changed
 *
 * and the error texts that changed in the object "e" ({"12c": "..."}).
 * A keyframe ("k": 1) lists every observation against an empty start:
 * each writer's first record, and one every OBSREC_KEYFRAME_MS, so a
 * reader can join a chain there (another console, a seek). "w" names the
 * writer (one console process), "n" the number of cells (a record of
 * another policy is refused, not misread), "null": 1 an evaluation
 * without a snapshot.
 *
 * Values are rounded before the engine sees them (obsrec_round: six
 * significant digits, more than any screen or report shows), so the
 * record holds exactly what was judged and a replay judges it the same.
 */
#ifndef SHIPROOM_OBSREC_H
#define SHIPROOM_OBSREC_H

#include <jansson.h>
#include <stdbool.h>

#include "shiproom/snapshot.h"

#define OBSREC_KEYFRAME_MS (10 * 60 * 1000)

/* Round v the way the record keeps values: to six significant digits
 * (strtod of "%.6g"). NaN and infinities are returned as they are. */
double obsrec_round(double v);
/* Round every value and samples of the snapshot in place. */
void obsrec_round_snapshot(struct sr_snapshot *s);

/* The fields of an `obs` record for snapshot `cur` (NULL: evaluated
 * without one) at `at`, against `prev` (the writer's previous record;
 * NULL or keyframe: against an empty snapshot). A new object, or NULL
 * when out of memory. */
json_t *obsrec_encode(const struct sr_snapshot *cur, const struct sr_snapshot *prev, sr_ms at,
                      long long writer, bool keyframe);

/* Apply the record `o` (a parsed journal line) at time `at` to `snap`,
 * which holds the chain's previous state (a keyframe resets it first).
 * ncells is the policy's. *isnull is set when the evaluation had no
 * snapshot. 0, or -1 with why (the snapshot may then be partly applied:
 * wait for the next keyframe). Pure: the fuzz target's entry. */
int obsrec_decode(const json_t *o, sr_ms at, int ncells, struct sr_snapshot *snap, bool *isnull,
                  char *why, size_t n);

#endif
