/* test_layout.c - the console layout at 80x24, 160x48, 200x60 and below
 * the minimum: every region inside the screen, none overlapping, the
 * key bar on the last row, and larger terminals used for more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shiproom/layout.h"

/* The shipped policy: 6 journeys; groups of 8, 3, 4, 3, 5 KPIs (the
 * directive's 7 reliability KPIs and the display-only P50); the console
 * always asks for the workflow strip. */
static struct layout_need directive_need(bool banner)
{
	struct layout_need n = {.njourneys = 6, .ngroups = 5, .banner = banner, .workflow = true};
	const int kpis[5] = {8, 3, 4, 3, 5};
	for (int i = 0; i < 5; i++)
		n.group_lines[i] = 1 + kpis[i];
	return n;
}

static void assert_sane(const struct tui_layout *l)
{
	const struct tui_rect *all[] = {&l->header, &l->banner,   &l->tiles,
	                                &l->kpis,   &l->timeline, &l->workflow,
	                                &l->log,    &l->status,   &l->keybar};
	int n = (int)(sizeof all / sizeof all[0]);
	for (int i = 0; i < n; i++) {
		assert_true(layout_rect_inside(all[i], l->w, l->h));
		for (int j = i + 1; j < n; j++)
			assert_false(layout_rect_overlap(all[i], all[j]));
	}
	assert_int_equal(l->keybar.y, l->h - 1);
	assert_int_equal(l->status.y, l->h - 2);
	assert_int_equal(l->header.y, 0);
	/* The main-view regions fill the body exactly. */
	assert_int_equal(l->tiles.y, l->body.y);
	assert_int_equal(l->log.y + l->log.h, l->body.y + l->body.h);
}

static void test_80x24(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	struct tui_layout l;
	layout_compute(&l, 80, 24, &n);
	assert_false(l.too_small);
	assert_sane(&l);
	assert_int_equal(l.tile_mode, TILES_ROWS);
	assert_int_equal(l.tiles.h, 7); /* heading + one row per journey */
	assert_int_equal(l.kpi_mode, KPIS_LINES);
	assert_int_equal(l.kpis.h, 5); /* one line per group */
	assert_int_equal(l.timeline.h, 2);
	/* One workflow row between the timeline and the log. */
	assert_int_equal(l.workflow.h, 1);
	assert_int_equal(l.workflow.y, l.timeline.y + l.timeline.h);
	assert_int_equal(l.log.y, l.workflow.y + 1);
	assert_int_equal(l.log.h, 5);
	/* 80 columns: P50/P95/P99 and the status first, no stub of a trend. */
	assert_int_equal(l.spark_w, 0);
	assert_true(80 - LAYOUT_ROW_FIXED_W >= LAYOUT_ROW_STATUS_W);
}

static void test_80x24_without_workflow(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	n.workflow = false;
	struct tui_layout l;
	layout_compute(&l, 80, 24, &n);
	assert_sane(&l);
	assert_int_equal(l.workflow.h, 0);
	assert_int_equal(l.log.h, 6); /* the row goes back to the log */
}

static void test_row_trend_when_room(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	struct tui_layout l;
	/* Rows (not boxes) at 100x24: the trend comes back, status intact. */
	layout_compute(&l, 100, 24, &n);
	assert_int_equal(l.tile_mode, TILES_ROWS);
	assert_int_equal(l.spark_w, 100 - LAYOUT_ROW_FIXED_W - LAYOUT_ROW_STATUS_W - 1);
	assert_true(LAYOUT_ROW_FIXED_W + l.spark_w + 1 + LAYOUT_ROW_STATUS_W <= 100);
	layout_compute(&l, 82, 24, &n);
	assert_int_equal(l.spark_w, 0); /* 5 columns would be a stub */
}

static void test_80x24_banner(void **state)
{
	(void)state;
	struct layout_need n = directive_need(true);
	struct tui_layout l;
	layout_compute(&l, 80, 24, &n);
	assert_false(l.too_small);
	assert_sane(&l);
	assert_int_equal(l.banner.y, 2);
	assert_int_equal(l.banner.h, 1);
	assert_int_equal(l.tiles.y, 3);
	assert_int_equal(l.log.h, 4);
	assert_int_equal(l.workflow.h, 1);
}

static void test_160x48(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	struct tui_layout l;
	layout_compute(&l, 160, 48, &n);
	assert_false(l.too_small);
	assert_sane(&l);
	assert_int_equal(l.tile_mode, TILES_BOXES);
	assert_int_equal(l.tile_cols, 3); /* 6 tiles as 3+3, not 4+2 */
	assert_int_equal(l.tile_rows, 2);
	assert_int_equal(l.tile_w, 53);
	assert_int_equal(l.tile_h, 7); /* a heading and P50, P95, P99 */
	assert_int_equal(l.tiles.h, 14);
	assert_int_equal(l.workflow.h, LAYOUT_WORKFLOW_ROWS);
	assert_int_equal(l.kpi_mode, KPIS_COLUMNS);
	assert_int_equal(l.kpi_cols, 3); /* ~60 columns each: whole KPI names */
	assert_true(l.kpi_col_w >= 50);
	assert_true(l.log.h >= 12);
	assert_true(l.spark_w >= 20);
	/* No group is split across columns and every group is inside. */
	for (int g = 0; g < n.ngroups; g++) {
		assert_true(l.group_col[g] < l.kpi_cols);
		assert_true(l.group_row[g] + n.group_lines[g] <= l.kpi_rows);
	}
}

static void test_200x60_uses_space(void **state)
{
	(void)state;
	struct layout_need n = directive_need(true);
	struct tui_layout small, big;
	layout_compute(&small, 160, 48, &n);
	layout_compute(&big, 200, 60, &n);
	assert_sane(&big);
	assert_int_equal(big.banner.h, 3);
	assert_true(big.log.h > small.log.h);
	assert_true(big.spark_w > small.spark_w);
	assert_true(big.tile_w > small.tile_w);
	assert_true(big.kpi_col_w >= 40);
}

static void test_too_small(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	struct tui_layout l;
	layout_compute(&l, 79, 24, &n);
	assert_true(l.too_small);
	layout_compute(&l, 80, 23, &n);
	assert_true(l.too_small);
	layout_compute(&l, 0, 0, &n);
	assert_true(l.too_small);
	layout_compute(&l, 80, 24, &n);
	assert_false(l.too_small);
}

static void test_every_size_is_sane(void **state)
{
	(void)state;
	for (int b = 0; b < 2; b++) {
		struct layout_need n = directive_need(b);
		for (int w = 80; w <= 260; w += 7) {
			for (int h = 24; h <= 80; h += 3) {
				struct tui_layout l;
				layout_compute(&l, w, h, &n);
				assert_false(l.too_small);
				assert_sane(&l);
				assert_true(l.log.h >= 3);
			}
		}
	}
}

static void test_many_journeys_still_inside(void **state)
{
	(void)state;
	struct layout_need n = directive_need(true);
	n.njourneys = 30;
	struct tui_layout l;
	layout_compute(&l, 80, 24, &n);
	assert_false(l.too_small);
	assert_sane(&l);
}

/* Hundreds of journeys at 80x24: the table takes the rows that leave
 * the KPI groups, the timeline, the workflow strip and a 3-row log their
 * place; its last row summarises the journeys without one. At every
 * size from 80x24 up, the log keeps its rows whatever the journeys. */
static void test_500_journeys_summarised(void **state)
{
	(void)state;
	struct layout_need n = directive_need(false);
	n.njourneys = 500;
	struct tui_layout l;
	layout_compute(&l, 80, 24, &n);
	assert_false(l.too_small);
	assert_sane(&l);
	assert_int_equal(l.tile_mode, TILES_ROWS);
	assert_int_equal(l.kpis.h, 5);
	assert_int_equal(l.timeline.h, 2);
	assert_int_equal(l.workflow.h, 1);
	assert_int_equal(l.log.h, 3);
	assert_int_equal(l.tiles.h, 1 + l.tile_rows);
	/* 20 body rows - 5 groups - 2 timeline - 1 workflow - 3 log - heading */
	assert_int_equal(l.tile_rows, 8);
	assert_int_equal(l.tile_more, 500 - 7);
	for (int b = 0; b < 2; b++) {
		n.banner = b;
		for (int w = 80; w <= 260; w += 9)
			for (int h = 24; h <= 80; h += 4) {
				layout_compute(&l, w, h, &n);
				assert_sane(&l);
				assert_true(l.log.h >= 3);
				assert_true(l.tile_more > 0);
				assert_int_equal(l.tile_rows - 1 + l.tile_more, 500);
			}
	}
	/* The shipped 6 journeys are never summarised. */
	n = directive_need(true);
	layout_compute(&l, 80, 24, &n);
	assert_int_equal(l.tile_more, 0);
}

static void test_pack(void **state)
{
	(void)state;
	int sizes[5] = {8, 4, 5, 4, 6}, col[5], row[5];
	int h = layout_pack(sizes, 5, 2, col, row);
	assert_int_equal(h, 15); /* at 14, 8+4 / 5+4 / 6 would need 3 columns */
	assert_int_equal(col[0], 0);
	assert_int_equal(row[1], 8);
	assert_int_equal(col[2], 1);
	h = layout_pack(sizes, 5, 5, col, row);
	assert_int_equal(h, 8); /* one group a column: the tallest */
	assert_int_equal(col[4], 4);
	h = layout_pack(sizes, 5, 1, col, row);
	assert_int_equal(h, 27);
	assert_int_equal(row[4], 21);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_80x24),
	    cmocka_unit_test(test_80x24_banner),
	    cmocka_unit_test(test_80x24_without_workflow),
	    cmocka_unit_test(test_row_trend_when_room),
	    cmocka_unit_test(test_160x48),
	    cmocka_unit_test(test_200x60_uses_space),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_every_size_is_sane),
	    cmocka_unit_test(test_many_journeys_still_inside),
	    cmocka_unit_test(test_500_journeys_summarised),
	    cmocka_unit_test(test_pack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
