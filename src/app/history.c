/* history.c - a fixed ring of recent values per cell, for sparklines and
 * detail charts.
 *
 * One point per `step` of virtual time (a minute by default), whatever
 * the poll rate, so a chart covers the same span at every --speed. A cell
 * without trustworthy data (NODATA/STALE/ERROR) is stored as NAN: a chart
 * must show a gap as a gap, never a line drawn through it or a stale
 * number that looks current. Steps skipped between two records (a paused
 * clock, a hung source) are filled with gaps for the same reason.
 */
#include "shiproom/history.h"

#include <math.h>
#include <string.h>

void history_init(struct sr_history *h, const struct sr_policy *p, sr_ms step)
{
	h->step = step > 0 ? step : SR_MS_PER_MIN;
	h->last = 0;
	h->policy = p;
	int n = p ? p->ncells : 0;
	h->ncells = n < 0 ? 0 : n > SR_MAX_CELLS ? SR_MAX_CELLS : n;
	h->len = 0;
	h->head = 0;
}

void history_set(struct sr_history *h, int row, int cell, float canary, float control,
                 enum sr_status st)
{
	if (row < 0 || row >= SR_HIST_LEN || cell < 0 || cell >= h->ncells)
		return;
	if (st < 0 || st >= SR_STATUS_COUNT)
		st = SR_NODATA;
	size_t at = (size_t)row * (size_t)h->ncells + (size_t)cell;
	h->canary[at] = canary;
	h->control[at] = control;
	h->status[at] = (unsigned char)st;
}

/* The next row, taken from the oldest when the ring is full. */
static int next_row(struct sr_history *h, int phase)
{
	int row = h->head;
	h->head = (h->head + 1) % SR_HIST_LEN;
	if (h->len < SR_HIST_LEN)
		h->len++;
	/* -1 is pre-flight, judged at the first phase's limits */
	bool known = h->policy && phase >= -1 && phase < h->policy->nphases && phase < 128;
	h->phase[row] = (signed char)(known ? phase : SR_HIST_UNJUDGED);
	return row;
}

int history_add_row(struct sr_history *h, int phase)
{
	int row = next_row(h, phase);
	for (int c = 0; c < h->ncells; c++)
		history_set(h, row, c, NAN, NAN, SR_NODATA);
	return row;
}

void history_record(struct sr_history *h, const struct sr_engine *e, sr_ms now)
{
	if (h->last != 0 && now - h->last < h->step)
		return;
	/* The limits every cell was last judged at (the cells' `limit`). */
	int phase = e->judged ? e->judged_phase : SR_HIST_UNJUDGED;
	/* Gaps for every whole step missed since the last point (at most a
	 * ring's worth: older ones would be overwritten anyway). */
	if (h->last != 0) {
		sr_ms missed = (now - h->last) / h->step - 1;
		if (missed > SR_HIST_LEN)
			missed = SR_HIST_LEN;
		for (sr_ms i = 0; i < missed; i++)
			history_add_row(h, phase);
	}
	int row = next_row(h, phase);
	for (int c = 0; c < h->ncells; c++) {
		const struct sr_cell_state *cs = &e->cells[c];
		bool gap = sr_status_is_data_gap(cs->status);
		history_set(h, row, c, gap ? NAN : (float)cs->canary,
		            gap ? NAN : (float)cs->control, cs->status);
	}
	/* Keep points on the step grid so the spacing never drifts with the
	 * poll phase. */
	h->last = h->last == 0 ? now : h->last + ((now - h->last) / h->step) * h->step;
}

static int row_of(const struct sr_history *h, int i)
{
	return ((h->head - 1 - i) % SR_HIST_LEN + SR_HIST_LEN) % SR_HIST_LEN;
}

int history_row_phase(const struct sr_history *h, int i)
{
	return i >= 0 && i < h->len ? h->phase[row_of(h, i)] : SR_HIST_UNJUDGED;
}

bool history_point(const struct sr_history *h, int cell, int i, float *canary, float *control,
                   float *limit, enum sr_status *st)
{
	if (cell < 0 || cell >= h->ncells || i < 0 || i >= h->len)
		return false;
	int row = row_of(h, i);
	size_t at = (size_t)row * (size_t)h->ncells + (size_t)cell;
	if (canary)
		*canary = h->canary[at];
	if (control)
		*control = h->control[at];
	if (limit)
		*limit = h->phase[row] == SR_HIST_UNJUDGED
		             ? NAN
		             : (float)policy_kpi_limit(h->policy, h->policy->cells[cell].kpi,
		                                       h->phase[row]);
	if (st)
		*st = (enum sr_status)h->status[at];
	return true;
}
