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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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
	for (int i = 0; i < n; i++) {
		if (src->canary[i].has_msg)
			memcpy(dst->canary_msg[i], src->canary_msg[i], sizeof src->canary_msg[i]);
		if (src->control[i].has_msg)
			memcpy(dst->control_msg[i], src->control_msg[i],
			       sizeof src->control_msg[i]);
	}
}

/* The message slot of o, or NULL when o is not one of s's observations
 * (compared as addresses: o may point anywhere). */
static char *msg_slot(const struct sr_snapshot *s, const struct sr_obs *o)
{
	uintptr_t a = (uintptr_t)o, c = (uintptr_t)s->canary, k = (uintptr_t)s->control;
	const uintptr_t span = sizeof s->canary;
	if (a >= c && a < c + span && (a - c) % sizeof *o == 0)
		return (char *)s->canary_msg[(a - c) / sizeof *o];
	if (a >= k && a < k + span && (a - k) % sizeof *o == 0)
		return (char *)s->control_msg[(a - k) / sizeof *o];
	return NULL;
}

const char *snapshot_msg(const struct sr_snapshot *s, const struct sr_obs *o)
{
	if (!s || !o || !o->has_msg)
		return "";
	const char *slot = msg_slot(s, o);
	return slot ? slot : "";
}

void snapshot_set_msg(struct sr_snapshot *s, struct sr_obs *o, const char *msg)
{
	char *slot = msg_slot(s, o);
	if (!slot || !msg || !*msg) {
		o->has_msg = false;
		return;
	}
	/* msg may be this very slot's text (a prefix added to it) */
	char clean[SR_OBS_MSG_LEN];
	sr_sanitize(clean, msg, sizeof clean);
	memcpy(slot, clean, sizeof clean);
	o->has_msg = clean[0] != '\0';
}

void snapshot_set_msgf(struct sr_snapshot *s, struct sr_obs *o, const char *fmt, ...)
{
	char buf[512]; /* cut after sanitising, as snapshot_set_msg does */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	snapshot_set_msg(s, o, buf);
}

void snapshot_obs_fail(struct sr_snapshot *s, struct sr_obs *o, const char *msg)
{
	/* value and at stay: they are the last good reading and its time. */
	o->kind = SR_OBS_ERROR;
	snapshot_set_msg(s, o, msg ? msg : "fetch failed");
}

void snapshot_fail_all(struct sr_snapshot *s, const char *msg)
{
	int n = s->ncells < 0 ? 0 : s->ncells > SR_MAX_CELLS ? SR_MAX_CELLS : s->ncells;
	for (int i = 0; i < n; i++) {
		snapshot_obs_fail(s, &s->canary[i], msg);
		snapshot_obs_fail(s, &s->control[i], msg);
	}
}
