/* test_chart.c - charts, sparklines and text widths of the console,
 * without a terminal: where a point lands, that a gap stays a gap, that
 * the limit is drawn under the data, and that UTF-8 text is measured in
 * columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "shiproom/tui.h"

#define W 10
#define H 4

static int count_ink(const struct chart_cell *c, int n, unsigned char ink)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += c[i].ink == ink;
	return k;
}

static void test_ascii_points(void **state)
{
	(void)state;
	struct chart_cell cells[W * H];
	float can[W], ctl[W];
	for (int i = 0; i < W; i++) {
		can[i] = 100; /* top row */
		ctl[i] = 0;   /* bottom row */
	}
	chart_plot(cells, W, H, CHART_ASCII, can, ctl, NULL, W, 0, 100);
	for (int x = 0; x < W; x++) {
		assert_string_equal(cells[0 * W + x].g, "*");
		assert_int_equal(cells[0 * W + x].ink, INK_CANARY);
		assert_string_equal(cells[(H - 1) * W + x].g, "o");
		assert_string_equal(cells[1 * W + x].g, " ");
	}
}

static void test_gap_stays_a_gap(void **state)
{
	(void)state;
	struct chart_cell cells[W * H];
	float can[W];
	for (int i = 0; i < W; i++)
		can[i] = i < 4 || i > 6 ? 50 : NAN;
	chart_plot(cells, W, H, CHART_ASCII, can, NULL, NULL, W, 0, 100);
	for (int x = 4; x <= 6; x++)
		for (int y = 0; y < H; y++)
			assert_int_equal(cells[y * W + x].ink, INK_NONE);
	assert_int_equal(count_ink(cells, W * H, INK_CANARY), 7);
}

static void test_jump_is_joined(void **state)
{
	(void)state;
	struct chart_cell cells[W * H];
	float can[W];
	for (int i = 0; i < W; i++)
		can[i] = i < 5 ? 0 : 100;
	chart_plot(cells, W, H, CHART_ASCII, can, NULL, NULL, W, 0, 100);
	/* The step from the bottom to the top row is drawn as a line: every
	 * row has a canary mark around x = 4..5. */
	for (int y = 0; y < H; y++)
		assert_true(cells[y * W + 4].ink == INK_CANARY ||
		            cells[y * W + 5].ink == INK_CANARY);
}

static void test_limit_under_data(void **state)
{
	(void)state;
	struct chart_cell cells[W * H];
	float can[W], lim[W];
	for (int i = 0; i < W; i++) {
		lim[i] = 100;
		can[i] = i == 3 ? 100 : 0;
	}
	chart_plot(cells, W, H, CHART_ASCII, can, NULL, lim, W, 0, 100);
	assert_string_equal(cells[0 * W + 0].g, "-");
	assert_int_equal(cells[0 * W + 0].ink, INK_LIMIT);
	assert_int_equal(cells[0 * W + 3].ink, INK_CANARY); /* data wins */
}

static void test_newest_at_the_right(void **state)
{
	(void)state;
	struct chart_cell cells[W * H];
	float can[3] = {50, 50, 100};
	chart_plot(cells, W, H, CHART_ASCII, can, NULL, NULL, 3, 0, 100);
	assert_int_equal(cells[0 * W + (W - 1)].ink, INK_CANARY);
	assert_int_equal(count_ink(cells, W * H, INK_CANARY) >= 3, 1);
	for (int x = 0; x < W - 3; x++)
		for (int y = 0; y < H; y++)
			assert_int_equal(cells[y * W + x].ink, INK_NONE);
}

static void test_braille(void **state)
{
	(void)state;
	struct chart_cell cells[1 * 1];
	float can[2] = {100, 100}; /* both dot columns, top dot row */
	chart_plot(cells, 1, 1, CHART_BRAILLE, can, NULL, NULL, 2, 0, 100);
	/* U+2800 + dots 1 and 4 (0x01 | 0x08) = U+2809 */
	assert_string_equal(cells[0].g, "\xe2\xa0\x89");
	float low[2] = {0, 0}; /* bottom dots 7 and 8 (0x40 | 0x80) */
	chart_plot(cells, 1, 1, CHART_BRAILLE, low, NULL, NULL, 2, 0, 100);
	assert_string_equal(cells[0].g, "\xe2\xa3\x80");
}

static void test_blocks(void **state)
{
	(void)state;
	struct chart_cell cells[1];
	float top[1] = {100}, bottom[1] = {0};
	chart_plot(cells, 1, 1, CHART_BLOCKS, top, NULL, NULL, 1, 0, 100);
	assert_string_equal(cells[0].g, "\xe2\x96\x80"); /* upper half block */
	chart_plot(cells, 1, 1, CHART_BLOCKS, bottom, NULL, NULL, 1, 0, 100);
	assert_string_equal(cells[0].g, "\xe2\x96\x84"); /* lower half block */
}

static void test_range(void **state)
{
	(void)state;
	float a[3] = {90, NAN, 110}, l[3] = {130, 130, 130};
	const float *s[3] = {a, NULL, l};
	float lo, hi;
	chart_range(s, 3, 3, &lo, &hi);
	assert_true(lo < 90 && lo >= 0);
	assert_true(hi > 130);
	float none[2] = {NAN, NAN};
	const float *z[1] = {none};
	chart_range(z, 1, 2, &lo, &hi);
	assert_true(lo < hi);
}

static void test_spark(void **state)
{
	(void)state;
	assert_string_equal(spark_glyph(0, 0, 100, true), "\xe2\x96\x81");   /* lowest */
	assert_string_equal(spark_glyph(100, 0, 100, true), "\xe2\x96\x88"); /* full */
	assert_string_equal(spark_glyph(NAN, 0, 100, true), " ");
	assert_string_equal(spark_glyph(100, 0, 100, false), "#");
	assert_string_equal(spark_glyph(-5, 0, 100, false), "_");
}

static void test_text_width(void **state)
{
	(void)state;
	assert_int_equal(text_width("abc"), 3);
	assert_int_equal(text_width("\xe2\x94\x80\xe2\x94\x80"), 2); /* two box lines */
	assert_int_equal(text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* two CJK, wide */
	int cols;
	/* Never cut a character in half, never overflow the columns. */
	assert_int_equal(text_fit("\xe6\x97\xa5\xe6\x9c\xac", 3, &cols), 3);
	assert_int_equal(cols, 2);
	assert_int_equal(text_fit("ab\xe2\x94\x80", 3, &cols), 5);
	assert_int_equal(cols, 3);
}

static void test_wrap(void **state)
{
	(void)state;
	char out[8][TEXT_LINE_BYTES];
	int n = text_wrap("decision is HOLD: x; Gate 1 needs 1 approval", 40, out, 8);
	assert_int_equal(n, 2);
	assert_string_equal(out[0], "decision is HOLD: x");
	assert_string_equal(out[1], "Gate 1 needs 1 approval");
	n = text_wrap("one two three four", 9, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "one two");
	assert_string_equal(out[1], "three");
	assert_string_equal(out[2], "four");
	assert_int_equal(text_wrap("one two three four", 9, out, 2), 2);
}

static void test_fmt_value(void **state)
{
	(void)state;
	char b[32];
	fmt_value(b, sizeof b, 98.4, "ms");
	assert_string_equal(b, "98ms");
	fmt_value(b, sizeof b, 99.87, "%");
	assert_string_equal(b, "99.87%"); /* not 99.9% next to a 99.9% target */
	fmt_value(b, sizeof b, 0.214, "%");
	assert_string_equal(b, "0.21%");
	fmt_value(b, sizeof b, 4.2, "x");
	assert_string_equal(b, "4.20x");
	fmt_value(b, sizeof b, NAN, "ms");
	assert_string_equal(b, "--");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii_points),
	    cmocka_unit_test(test_gap_stays_a_gap),
	    cmocka_unit_test(test_jump_is_joined),
	    cmocka_unit_test(test_limit_under_data),
	    cmocka_unit_test(test_newest_at_the_right),
	    cmocka_unit_test(test_braille),
	    cmocka_unit_test(test_blocks),
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_spark),
	    cmocka_unit_test(test_text_width),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_fmt_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
