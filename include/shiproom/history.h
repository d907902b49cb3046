/* history.h - a fixed ring of recent values per cell, for sparklines and
 * detail charts. NAN marks a gap (NODATA/STALE/ERROR), so a chart shows a
 * gap as a gap and never draws a line through it.
 */
#ifndef SHIPROOM_HISTORY_H
#define SHIPROOM_HISTORY_H

#include "shiproom/engine.h"

#define SR_HIST_LEN 720 /* 12 h at one point a minute */

/* A ring of rows, one row a step, one point a cell in each row. Stored
 * row by row (the points of row r are [r * ncells, (r + 1) * ncells)),
 * so what is resident grows with the policy's cells times the time kept:
 * stored cell by cell, each cell's first point made its whole 9.4 kB
 * resident (2.5 MB at 268 cells before any history). The arrays are
 * sized for the capacity; pages past the rows written are never
 * touched (the runner is calloc'ed, see runner_init).
 *
 * A point's limit is not stored: every cell of an evaluation is judged
 * at the limits of one phase (engine.h: judged_phase), so a row keeps
 * that phase once and history_point asks the policy (4 of 13 bytes a
 * point before). */
#define SR_HIST_UNJUDGED (-128) /* a row before any judgement: no limit */

struct sr_history {
	sr_ms step; /* one point per step of virtual time */
	sr_ms last; /* time of the newest point (0: none) */
	const struct sr_policy *policy;
	int ncells;
	int len;                        /* rows stored, <= SR_HIST_LEN */
	int head;                       /* row of the next write */
	signed char phase[SR_HIST_LEN]; /* a row's judged phase, or UNJUDGED */
	float canary[SR_HIST_LEN * SR_MAX_CELLS];
	float control[SR_HIST_LEN * SR_MAX_CELLS];
	unsigned char status[SR_HIST_LEN * SR_MAX_CELLS]; /* enum sr_status */
};

void history_init(struct sr_history *h, const struct sr_policy *p, sr_ms step);
/* Record the engine's cells at `now` if a step has passed since the last
 * point; missing steps in between are filled with gaps. */
void history_record(struct sr_history *h, const struct sr_engine *e, sr_ms now);
/* Append a row of gaps judged at `phase` and return it, for a mirror
 * copying the service's points into it with history_set (the caller sets
 * h->last). */
int history_add_row(struct sr_history *h, int phase);
void history_set(struct sr_history *h, int row, int cell, float canary, float control,
                 enum sr_status st);
/* The i-th newest point (0 = newest) of a cell; false past the end. */
bool history_point(const struct sr_history *h, int cell, int i, float *canary, float *control,
                   float *limit, enum sr_status *st);
/* The phase row i (0 = newest) was judged at: SR_HIST_UNJUDGED past the
 * end or before any judgement. */
int history_row_phase(const struct sr_history *h, int i);

#endif
