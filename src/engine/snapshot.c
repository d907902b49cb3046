/* snapshot.c - resetting and failing a snapshot.
 *
 * A snapshot is the seam between sources and the pure engine. These two
 * helpers keep the invariants sources rely on: a cleared cell is
 * SR_OBS_NONE with a NAN value (never a zero that could pass for a
 * healthy reading), and a failed fetch keeps the last value and its time
 * so the engine can say how old the last good number is.
 */
#include "shiproom/snapshot.h"

#include <math.h>
#include <string.h>

void obs_clear(struct sr_obs *o)
{
	memset(o, 0, sizeof *o);
	o->kind = SR_OBS_NONE;
	o->value = NAN;
	o->samples = 0;
	o->at = 0;
	o->step_n = o->step_bad = o->step_bound = NAN;
}

void snapshot_clear(struct sr_snapshot *s, int ncells)
{
	if (ncells < 0)
		ncells = 0;
	if (ncells > SR_MAX_CELLS)
		ncells = SR_MAX_CELLS;
	s->ncells = ncells;
	/* Only the policy's cells: the rest is capacity (common.h) and is
	 * never read, so it is left untouched. */
	for (int i = 0; i < ncells; i++) {
		obs_clear(&s->canary[i]);
		obs_clear(&s->control[i]);
	}
}

void snapshot_copy(struct sr_snapshot *dst, const struct sr_snapshot *src)
{
	int n = src->ncells < 0 ? 0 : src->ncells > SR_MAX_CELLS ? SR_MAX_CELLS : src->ncells;
	dst->ncells = n;
	memcpy(dst->canary, src->canary, (size_t)n * sizeof src->canary[0]);
	memcpy(dst->control, src->control, (size_t)n * sizeof src->control[0]);
	dst->nsample_times = src->nsample_times;
	memcpy(dst->sample_times, src->sample_times, sizeof src->sample_times);
}

static void obs_fail(struct sr_obs *o, const char *clean)
{
	/* value and at stay: they are the last good reading and its time. */
	o->kind = SR_OBS_ERROR;
	sr_strlcpy(o->error, clean, sizeof o->error);
}

void snapshot_fail_all(struct sr_snapshot *s, const char *msg)
{
	char clean[sizeof s->canary[0].error];
	sr_sanitize(clean, msg ? msg : "fetch failed", sizeof clean);
	int n = s->ncells < 0 ? 0 : s->ncells > SR_MAX_CELLS ? SR_MAX_CELLS : s->ncells;
	for (int i = 0; i < n; i++) {
		obs_fail(&s->canary[i], clean);
		obs_fail(&s->control[i], clean);
	}
}
