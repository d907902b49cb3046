/* layout.c - where each region of the console goes (see layout.h).
 *
 * The main view is tried in three shapes, richest first, and the first
 * that leaves the event log a useful height wins:
 *   A. boxed journey tiles, KPI columns, a three-row timeline, a titled
 *      three-row workflow strip;
 *   B. journey rows, KPI columns, a three-row timeline, the same strip;
 *   C. journey rows, one line per KPI group, a two-row timeline, a
 *      one-row workflow strip (80x24).
 * Pure arithmetic, so tests can check 80x24, 160x48 and 79x24 exactly.
 */
#include "shiproom/layout.h"

#include <string.h>

#define HEADER_H 2
#define TILE_MIN_W 40
#define TILE_H 7 /* borders, a heading, P50/P95/P99, the trend */
#define KPI_COL_MIN 38
#define KPI_COL_IDEAL 60
#define LOG_MIN_RICH 6 /* a title and five entries */
#define LOG_MIN 3

static struct tui_rect rect(int y, int x, int h, int w)
{
	struct tui_rect r = {y, x, h, w};
	return r;
}

int layout_pack(const int *lines, int n, int cols, int *col, int *row)
{
	int total = 0, tallest = 0;
	for (int i = 0; i < n; i++) {
		total += lines[i];
		if (lines[i] > tallest)
			tallest = lines[i];
	}
	if (n <= 0 || cols <= 0)
		return 0;
	int height = (total + cols - 1) / cols;
	if (height < tallest)
		height = tallest;
	/* Grow the column height until the groups fit in order; it ends at
	 * `total` at worst, where everything fits in one column. */
	for (;; height++) {
		int c = 0, used = 0;
		for (int i = 0; i < n; i++) {
			if (used > 0 && used + lines[i] > height) {
				c++;
				used = 0;
			}
			col[i] = c;
			row[i] = used;
			used += lines[i];
		}
		if (c < cols)
			return height;
	}
}

/* Tile grid: as many columns as fit at TILE_MIN_W, then balanced so the
 * rows are as even as possible (6 tiles in 4 columns would leave 4+2;
 * 3+3 reads better). */
static void tiles_grid(struct tui_layout *l, int n)
{
	int maxcols = l->w / TILE_MIN_W;
	if (maxcols < 1)
		maxcols = 1;
	if (n < 1)
		n = 1;
	int rows = (n + maxcols - 1) / maxcols;
	l->tile_cols = (n + rows - 1) / rows;
	l->tile_rows = rows;
	l->tile_w = l->w / l->tile_cols;
	l->tile_h = TILE_H;
}

/* Lay the main view out in shape A, B or C; false if the log would be
 * shorter than min_log. */
static bool try_shape(struct tui_layout *l, const struct layout_need *nd, char shape)
{
	struct tui_rect b = l->body;
	int y = b.y, tiles_h, kpi_h, tl_h, min_log;
	l->tile_more = 0;

	if (shape == 'A') {
		l->tile_mode = TILES_BOXES;
		tiles_grid(l, nd->njourneys);
		tiles_h = l->tile_rows * l->tile_h;
		l->spark_w = l->tile_w - 30;
	} else {
		l->tile_mode = TILES_ROWS;
		l->tile_cols = 1;
		l->tile_rows = nd->njourneys;
		l->tile_w = l->w;
		l->tile_h = 1;
		tiles_h = nd->njourneys + 1; /* a heading row */
		/* The row's fixed columns (name, P50/P95/P99 of canary and
		 * control, the limit) and the status come first; the trend gets
		 * what is left, or nothing when that would be a stub (80
		 * columns: the numbers matter more than a 3-point trend). */
		l->spark_w = l->w - LAYOUT_ROW_FIXED_W - LAYOUT_ROW_STATUS_W - 1;
		if (l->spark_w > 40)
			l->spark_w = 40;
		if (l->spark_w < 6)
			l->spark_w = 0;
	}
	if (shape == 'A' && l->spark_w < 6)
		l->spark_w = 6;
	int wf_h = !nd->workflow  ? 0
	           : shape == 'C' ? LAYOUT_WORKFLOW_ROWS_SMALL
	                          : LAYOUT_WORKFLOW_ROWS;

	if (shape == 'C') {
		l->kpi_mode = KPIS_LINES;
		l->kpi_cols = 1;
		l->kpi_col_w = l->w;
		kpi_h = l->kpi_rows = nd->ngroups;
		for (int i = 0; i < nd->ngroups && i < LAYOUT_MAX_GROUPS; i++) {
			l->group_col[i] = 0;
			l->group_row[i] = i;
		}
		tl_h = 2;
		min_log = LOG_MIN;
	} else {
		l->kpi_mode = KPIS_COLUMNS;
		int ng = nd->ngroups < LAYOUT_MAX_GROUPS ? nd->ngroups : LAYOUT_MAX_GROUPS;
		/* Columns about KPI_COL_IDEAL wide read best (a full KPI name);
		 * narrower ones, down to KPI_COL_MIN, when the height is short. */
		int maxcols = l->w / KPI_COL_MIN;
		int cols = (l->w + KPI_COL_IDEAL - 1) / KPI_COL_IDEAL;
		if (maxcols > ng)
			maxcols = ng;
		if (maxcols < 1)
			maxcols = 1;
		if (cols > maxcols)
			cols = maxcols;
		if (cols < 1)
			cols = 1;
		int h = layout_pack(nd->group_lines, ng, cols, l->group_col, l->group_row);
		while (cols < maxcols && b.h - tiles_h - h - 3 - wf_h < LOG_MIN_RICH)
			h = layout_pack(nd->group_lines, ng, ++cols, l->group_col, l->group_row);
		/* Use only the columns the packing needed, at full width. */
		int used = 0;
		for (int i = 0; i < ng; i++)
			if (l->group_col[i] + 1 > used)
				used = l->group_col[i] + 1;
		l->kpi_cols = used > 0 ? used : 1;
		l->kpi_col_w = l->w / l->kpi_cols;
		kpi_h = l->kpi_rows = h;
		tl_h = 3;
		min_log = LOG_MIN_RICH;
	}

	int log_h = b.h - tiles_h - kpi_h - tl_h - wf_h;
	if (log_h < min_log && shape == 'C') {
		/* More journeys than the screen has rows: the table keeps what
		 * leaves the log its minimum, shows the worst journeys and
		 * summarises the others on its last row; the KPIs view and its
		 * filter reach every cell, the detail every journey. */
		int rows = b.h - kpi_h - tl_h - wf_h - min_log - 1;
		if (rows >= 2 && rows < nd->njourneys) {
			l->tile_rows = rows;
			l->tile_more = nd->njourneys - (rows - 1);
			tiles_h = rows + 1;
			log_h = b.h - tiles_h - kpi_h - tl_h - wf_h;
		}
	}
	if (log_h < min_log)
		return false;
	l->tiles = rect(y, 0, tiles_h, l->w);
	y += tiles_h;
	l->kpis = rect(y, 0, kpi_h, l->w);
	y += kpi_h;
	l->timeline = rect(y, 0, tl_h, l->w);
	y += tl_h;
	l->workflow = rect(y, 0, wf_h, l->w);
	y += wf_h;
	l->log = rect(y, 0, log_h, l->w);
	return true;
}

void layout_compute(struct tui_layout *l, int w, int h, const struct layout_need *nd)
{
	memset(l, 0, sizeof *l);
	l->w = w;
	l->h = h;
	if (w < LAYOUT_MIN_W || h < LAYOUT_MIN_H) {
		l->too_small = true;
		return;
	}
	int top = HEADER_H;
	l->header = rect(0, 0, HEADER_H, w);
	if (nd->banner) {
		/* Three rows when there is room: it must not be missed. */
		int bh = h >= 40 ? 3 : 1;
		l->banner = rect(top, 0, bh, w);
		top += bh;
	}
	l->status = rect(h - 2, 0, 1, w);
	l->keybar = rect(h - 1, 0, 1, w);
	l->body = rect(top, 0, h - 2 - top, w);

	if (try_shape(l, nd, 'A') || try_shape(l, nd, 'B') || try_shape(l, nd, 'C'))
		return;
	/* Not even shape C leaves LOG_MIN rows (a banner at 80x24 with many
	 * journeys): keep C and let the log have what is left, possibly
	 * nothing; every region still lies inside the screen. */
	struct tui_rect b = l->body;
	l->tile_mode = TILES_ROWS;
	l->kpi_mode = KPIS_LINES;
	int tiles_h = nd->njourneys + 1, kpi_h = nd->ngroups;
	if (tiles_h > b.h)
		tiles_h = b.h;
	if (kpi_h > b.h - tiles_h)
		kpi_h = b.h - tiles_h;
	int tl_h = b.h - tiles_h - kpi_h >= 2 ? 2 : 0;
	int wf_h = nd->workflow && b.h - tiles_h - kpi_h - tl_h >= 1 ? 1 : 0;
	l->tiles = rect(b.y, 0, tiles_h, w);
	l->kpis = rect(b.y + tiles_h, 0, kpi_h, w);
	l->kpi_rows = kpi_h;
	l->timeline = rect(b.y + tiles_h + kpi_h, 0, tl_h, w);
	l->workflow = rect(b.y + tiles_h + kpi_h + tl_h, 0, wf_h, w);
	l->log = rect(b.y + tiles_h + kpi_h + tl_h + wf_h, 0, b.h - tiles_h - kpi_h - tl_h - wf_h,
	              w);
	l->tile_cols = 1;
	l->tile_w = w;
	l->tile_h = 1;
	l->kpi_cols = 1;
	l->kpi_col_w = w;
	l->spark_w = 0;
}

bool layout_rect_inside(const struct tui_rect *r, int w, int h)
{
	return r->y >= 0 && r->x >= 0 && r->h >= 0 && r->w >= 0 && r->y + r->h <= h &&
	       r->x + r->w <= w;
}

bool layout_rect_overlap(const struct tui_rect *a, const struct tui_rect *b)
{
	if (a->h <= 0 || a->w <= 0 || b->h <= 0 || b->w <= 0)
		return false;
	return a->y < b->y + b->h && b->y < a->y + a->h && a->x < b->x + b->w && b->x < a->x + a->w;
}
