/* history.h - a fixed ring of recent values per cell, for sparklines and
 * detail charts. NAN marks a gap (NODATA/STALE/ERROR), so a chart shows a
 * gap as a gap and never draws a line through it.
 */
#ifndef SHIPROOM_HISTORY_H
#define SHIPROOM_HISTORY_H

#include "shiproom/engine.h"

#define SR_HIST_LEN 720 /* 12 h at one point a minute */

struct sr_series {
	int len;  /* points stored, <= SR_HIST_LEN */
	int head; /* index of the next write */
	float canary[SR_HIST_LEN];
	float control[SR_HIST_LEN];
	float limit[SR_HIST_LEN];
	unsigned char status[SR_HIST_LEN]; /* enum sr_status */
};

struct sr_history {
	sr_ms step; /* one point per step of virtual time */
	sr_ms last; /* time of the newest point (0: none) */
	int ncells;
	struct sr_series cells[SR_MAX_CELLS];
};

void history_init(struct sr_history *h, int ncells, sr_ms step);
/* Record the engine's cells at `now` if a step has passed since the last
 * point; missing steps in between are filled with gaps. */
void history_record(struct sr_history *h, const struct sr_engine *e, sr_ms now);
/* Append one point to a cell's ring as it is (a mirror copying the
 * service's points; the caller sets h->last). */
void history_push(struct sr_history *h, int cell, float canary, float control, float limit,
                  enum sr_status st);
/* The i-th newest point (0 = newest) of a cell; false past the end. */
bool history_point(const struct sr_history *h, int cell, int i, float *canary, float *control,
                   float *limit, enum sr_status *st);

#endif
