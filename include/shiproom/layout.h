/* layout.h - where each region of the console goes, for a terminal size.
 *
 * Pure arithmetic, unit-tested: given the terminal size and how much
 * there is to show (journeys, KPI groups, a banner or not, the workflow
 * strip or not), say where the header, the journey tiles, the KPI groups,
 * the timeline, the workflow strip, the event log, the status line and
 * the key bar go. 80x24 gets compact rows; larger terminals get boxed
 * tiles, several per row, KPI columns, a three-row workflow strip and a
 * longer log. Below 80x24 the layout is `too_small` and the console shows
 * one centred message instead of garbage.
 */
#ifndef SHIPROOM_LAYOUT_H
#define SHIPROOM_LAYOUT_H

#include <stdbool.h>

#define LAYOUT_MIN_W 80
#define LAYOUT_MIN_H 24
#define LAYOUT_MAX_GROUPS 32

struct tui_rect {
	int y, x, h, w;
};

enum tile_mode {
	TILES_ROWS, /* one table row per journey (80x24) */
	TILES_BOXES /* boxed tiles, several per row */
};

enum kpi_mode {
	KPIS_LINES,  /* one line per group: status counts and the worst KPIs */
	KPIS_COLUMNS /* every KPI on its own line, groups in newspaper columns */
};

struct layout_need {
	int njourneys;
	int ngroups;
	int group_lines[LAYOUT_MAX_GROUPS]; /* per group: 1 title + its KPIs */
	bool banner;                        /* a trigger banner is up */
	bool workflow;                      /* the workflow strip (status page,
	                                       deadlines, approvals, webhook) */
};

/* Row-mode journey table (80 columns): the fixed columns end here, then
 * the P95 trend (when there is room for one) and the status. */
#define LAYOUT_ROW_FIXED_W 59
#define LAYOUT_ROW_STATUS_W 18
/* Rows of the workflow strip: one at 80x24, a titled three otherwise. */
#define LAYOUT_WORKFLOW_ROWS_SMALL 1
#define LAYOUT_WORKFLOW_ROWS 3

struct tui_layout {
	int w, h;
	bool too_small;
	/* Every view. */
	struct tui_rect header, banner, status, keybar;
	struct tui_rect body; /* between header/banner and the status line */
	/* The main view, inside body. */
	struct tui_rect tiles, kpis, timeline, workflow, log;
	enum tile_mode tile_mode;
	int tile_cols, tile_rows, tile_w, tile_h;
	/* Row mode with more journeys than rows (hundreds of journeys at
	 * 80x24): tile_rows - 1 journeys are shown, worst first, and the last
	 * row summarises the tile_more others (tiles.c). 0: all shown. */
	int tile_more;
	enum kpi_mode kpi_mode;
	int kpi_cols, kpi_col_w, kpi_rows;
	int group_col[LAYOUT_MAX_GROUPS], group_row[LAYOUT_MAX_GROUPS];
	int spark_w; /* sparkline width inside a tile / row; 0 in
	                row mode when there is no room for one */
};

void layout_compute(struct tui_layout *l, int w, int h, const struct layout_need *need);

/* Pack groups of lines[i] lines into at most `cols` columns, in order,
 * never splitting a group unless it is taller than any column could be.
 * Returns the column height; col[i]/row[i] say where group i starts. */
int layout_pack(const int *sizes, int n, int cols, int *col, int *row);

/* True when r lies inside a w x h screen. */
bool layout_rect_inside(const struct tui_rect *r, int w, int h);
/* True when two non-empty rectangles overlap. */
bool layout_rect_overlap(const struct tui_rect *a, const struct tui_rect *b);

#endif
