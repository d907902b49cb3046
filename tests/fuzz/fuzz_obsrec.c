/* fuzz_obsrec.c - libFuzzer target for the journal's observation record.
 *
 * An `obs` record is outside input in a replay of a journal from
 * somewhere else. The input is a JSON object (the bit stream "b", or the
 * text "d" of older journals), decoded twice into one snapshot (a delta
 * chain) for a policy of 40 cells. Besides "no crash": every error text
 * is terminated, and a decoded snapshot encodes again, as a keyframe and
 * as a delta against itself half-changed, to records that decode to the
 * same observations bit for bit.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/obsrec.h"

#define NCELLS 40

static struct sr_snapshot snap, again;

static struct sr_snapshot half;

static bool same(double a, double b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static bool same_obs(const struct sr_snapshot *xs, const struct sr_obs *x,
                     const struct sr_snapshot *ys, const struct sr_obs *y)
{
	return x->kind == y->kind && same(x->value, y->value) && same(x->samples, y->samples) &&
	       x->at == y->at && x->degraded == y->degraded && same(x->step_n, y->step_n) &&
	       same(x->step_bad, y->step_bad) && same(x->step_bound, y->step_bound) &&
	       strcmp(snapshot_msg(xs, x), snapshot_msg(ys, y)) == 0;
}

/* Encode `cur` against `prev` (NULL: a keyframe), decode it onto `into`
 * and demand `cur` back. */
static void round_trip(const struct sr_snapshot *cur, const struct sr_snapshot *prev,
                       struct sr_snapshot *into)
{
	char why[200];
	bool isnull;
	json_t *k = obsrec_encode(cur, prev, 1000000, 1, prev == NULL);
	if (!k)
		return;
	if (obsrec_decode(k, 1000000, NCELLS, into, &isnull, why, sizeof why) != 0)
		abort();
	json_decref(k);
	for (int c = 0; c < NCELLS; c++)
		if (!same_obs(cur, &cur->canary[c], into, &into->canary[c]) ||
		    !same_obs(cur, &cur->control[c], into, &into->control[c]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *o = json_loadb((const char *)data, size, 0, &jerr);
	if (!o)
		return 0;
	char why[200];
	bool isnull;
	snapshot_clear(&snap, NCELLS);
	for (int pass = 0; pass < 2; pass++) {
		why[0] = '\0';
		if (obsrec_decode(o, 1000000, NCELLS, &snap, &isnull, why, sizeof why) != 0) {
			if (strnlen(why, sizeof why) == sizeof why || !why[0])
				abort();
			json_decref(o);
			return 0;
		}
	}
	json_decref(o);
	if (isnull)
		return 0;
	/* Round trip: a keyframe of what was decoded reads back the same;
	 * so does a delta from a snapshot with every other cell cleared. */
	snapshot_clear(&again, NCELLS);
	round_trip(&snap, NULL, &again);
	snapshot_clear(&half, NCELLS);
	for (int c = 0; c < NCELLS; c += 2)
		half.canary[c] = snap.canary[c];
	for (int c = 1; c < NCELLS; c += 2)
		half.control[c] = snap.control[c];
	again = half;
	round_trip(&snap, &half, &again);
	return 0;
}
