/* obsrec.h - every observation of every poll, compactly, for the journal.
 *
 * The journal's `obs` record keeps what the source answered at each
 * evaluation (the canary and control observation of every cell), so a
 * replay can evaluate exactly what the live engine evaluated, poll by
 * poll, and show the same values, statuses, breach timers, trigger
 * states and decision (runner.c replays through engine_evaluate). The
 * 10-minute snapshots carried only the cells' values at that moment.
 *
 * Compactness: a record codes only what changed since the previous
 * record of the same writer (a delta chain), as a bit stream in the
 * string field "b" (obsrec.c has the layout):
 *
 *   - every cell's canary then control observation in the policy's
 *     fixed cell order, each led by its change mask (value, samples,
 *     age, kind, degraded, the evidence test's three step counts);
 *     the record's three most frequent masks cost 1-3 bits, so an
 *     unchanged observation costs one bit;
 *   - a number as the difference of its decimal mantissa from the
 *     previous one's (zigzag, Exp-Golomb with an order chosen per record
 *     and class), or a reference to one of the last four numbers of its
 *     class in the record (shared samples), or, rarely, another decimal
 *     exponent, NaN, an infinity or the double's 64 bits. Exact: every
 *     double reads back bit for bit;
 *   - 13 bits in two of 91 JSON-safe printable characters.
 *
 * Error texts that changed go in the object "e" ({"12c": "..."}).
 * A keyframe ("k": 1) codes every observation against an empty start:
 * each writer's first record, and one every OBSREC_KEYFRAME_MS, so a
 * reader can join a chain there (another console, a seek). "w" names the
 * writer (one console process), "n" the number of cells (a record of
 * another policy is refused, not misread), "null": 1 an evaluation
 * without a snapshot.
 *
 * Journals written before the bit stream have a text field "d" instead,
 * read as before: tokens <cell><side>[<value>][/<samples>][@<age ms>]
 * [!<kind>][^<0|1>][#<n>][=<bad>][%<bound>] of what changed, side 'c'
 * canary or 'k' control, kind O N E Z, 'n' for NaN.
 *
 * Values are rounded before the engine sees them (obsrec_round: to what
 * the console shows, one decimal from 100 up and four significant digits
 * below), so the engine judges what its reasons say, the record holds
 * exactly what was judged, and a replay judges it the same. Journals
 * written at six digits (before session 21) replay as they were judged.
 */
#ifndef SHIPROOM_OBSREC_H
#define SHIPROOM_OBSREC_H

#include <jansson.h>
#include <stdbool.h>

#include "shiproom/snapshot.h"

#define OBSREC_KEYFRAME_MS (10 * 60 * 1000)

/* Round v the way the record keeps values: as engine_fmt_num shows it
 * (strtod of "%.1f" from 100 up, of "%.4g" below). NaN and infinities
 * are returned as they are. */
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
