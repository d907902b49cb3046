/* fuzz_obsrec.c - libFuzzer target for the journal's observation record.
 *
 * An `obs` record is outside input in a replay of a journal from
 * somewhere else. The input is a JSON object, decoded twice into one
 * snapshot (a delta chain) for a policy of 40 cells. Besides "no crash":
 * every error text is terminated, every decoded value is a number the
 * grammar allows (never a NaN where the kind is OK unless written 'n'),
 * and a decoded snapshot encodes again to a record that decodes to the
 * same values.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/obsrec.h"

#define NCELLS 40

static struct sr_snapshot snap, again;

static bool same(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
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
	/* Round trip: a keyframe of what was decoded reads back the same. */
	json_t *k = obsrec_encode(&snap, NULL, 1000000, 1, true);
	if (!k)
		return 0;
	snapshot_clear(&again, NCELLS);
	if (obsrec_decode(k, 1000000, NCELLS, &again, &isnull, why, sizeof why) != 0)
		abort();
	for (int c = 0; c < NCELLS; c++) {
		if (!same(snap.canary[c].value, again.canary[c].value) ||
		    !same(snap.control[c].samples, again.control[c].samples) ||
		    snap.canary[c].kind != again.canary[c].kind ||
		    snap.canary[c].at != again.canary[c].at ||
		    strcmp(snap.canary[c].error, again.canary[c].error) != 0)
			abort();
	}
	json_decref(k);
	return 0;
}
