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

void history_init(struct sr_history *h, int ncells, sr_ms step)
{
	h->step = step > 0 ? step : SR_MS_PER_MIN;
	h->last = 0;
	h->ncells = ncells < 0 ? 0 : ncells > SR_MAX_CELLS ? SR_MAX_CELLS : ncells;
	/* Only the policy's cells: the others are never read (history_point
	 * and history_record stop at ncells), and touching them would make
	 * the whole SR_MAX_CELLS ring resident. */
	for (int c = 0; c < h->ncells; c++) {
		h->cells[c].len = 0;
		h->cells[c].head = 0;
	}
}

static void series_push(struct sr_series *s, float canary, float control, float limit,
                        enum sr_status st)
{
	if (st < 0 || st >= SR_STATUS_COUNT)
		st = SR_NODATA;
	s->canary[s->head] = canary;
	s->control[s->head] = control;
	s->limit[s->head] = limit;
	s->status[s->head] = (unsigned char)st;
	s->head = (s->head + 1) % SR_HIST_LEN;
	if (s->len < SR_HIST_LEN)
		s->len++;
}

void history_record(struct sr_history *h, const struct sr_engine *e, sr_ms now)
{
	if (h->last != 0 && now - h->last < h->step)
		return;
	/* Gaps for every whole step missed since the last point (at most a
	 * ring's worth: older ones would be overwritten anyway). */
	if (h->last != 0) {
		sr_ms missed = (now - h->last) / h->step - 1;
		if (missed > SR_HIST_LEN)
			missed = SR_HIST_LEN;
		for (sr_ms i = 0; i < missed; i++)
			for (int c = 0; c < h->ncells; c++)
				series_push(&h->cells[c], NAN, NAN, (float)e->cells[c].limit,
				            SR_NODATA);
	}
	for (int c = 0; c < h->ncells; c++) {
		const struct sr_cell_state *cs = &e->cells[c];
		bool gap = sr_status_is_data_gap(cs->status);
		series_push(&h->cells[c], gap ? NAN : (float)cs->canary,
		            gap ? NAN : (float)cs->control, (float)cs->limit, cs->status);
	}
	/* Keep points on the step grid so the spacing never drifts with the
	 * poll phase. */
	h->last = h->last == 0 ? now : h->last + ((now - h->last) / h->step) * h->step;
}

bool history_point(const struct sr_history *h, int cell, int i, float *canary, float *control,
                   float *limit, enum sr_status *st)
{
	if (cell < 0 || cell >= h->ncells || i < 0)
		return false;
	const struct sr_series *s = &h->cells[cell];
	if (i >= s->len)
		return false;
	int idx = ((s->head - 1 - i) % SR_HIST_LEN + SR_HIST_LEN) % SR_HIST_LEN;
	if (canary)
		*canary = s->canary[idx];
	if (control)
		*control = s->control[idx];
	if (limit)
		*limit = s->limit[idx];
	if (st)
		*st = (enum sr_status)s->status[idx];
	return true;
}

void history_push(struct sr_history *h, int cell, float canary, float control, float limit,
                  enum sr_status st)
{
	if (cell >= 0 && cell < h->ncells)
		series_push(&h->cells[cell], canary, control, limit, st);
}
