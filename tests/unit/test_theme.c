/* test_theme.c - every shipped theme loads; a bad theme file is refused
 * with file:line:column, the JSON pointer of the culprit and a message;
 * statuses never share a look, and data gaps never look GREEN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "shiproom/common.h"
#include "shiproom/theme.h"

static const char *const shipped[] = {"default", "mono", "high-contrast", "colour-blind-safe"};

static void load_shipped(const char *name, struct sr_theme *t)
{
	char path[512];
	struct sr_policy_error err;
	theme_path(path, sizeof path, SR_DATADIR, name);
	int rc = theme_load_file(t, path, &err);
	if (rc != 0) {
		char msg[1024];
		policy_error_format(&err, msg, sizeof msg);
		fail_msg("%s: %s", path, msg);
	}
	assert_string_equal(t->name, name);
}

static void test_shipped_themes_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		struct sr_theme t;
		load_shipped(shipped[i], &t);
		assert_true(strlen(t.description) > 0);
	}
}

/* Without colour only attributes tell statuses apart: RED, YELLOW and the
 * gaps must each look different from GREEN, and RED from the rest. */
static void test_statuses_distinct_without_colour(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		struct sr_theme t;
		load_shipped(shipped[i], &t);
		unsigned green = t.styles[TR_ST_GREEN].mono;
		for (int s = SR_YELLOW; s <= SR_RED; s++)
			assert_int_not_equal(t.styles[theme_status_role(s)].mono, green);
		for (int s = SR_GREEN; s < SR_RED; s++)
			assert_int_not_equal(t.styles[theme_status_role(s)].mono,
			                     t.styles[TR_ST_RED].mono);
	}
}

/* NODATA / STALE / ERROR are never painted like GREEN. */
static void test_gaps_never_green(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		struct sr_theme t;
		load_shipped(shipped[i], &t);
		const struct theme_style *g = &t.styles[TR_ST_GREEN];
		for (int s = SR_NODATA; s <= SR_ERROR; s++) {
			const struct theme_style *x = &t.styles[theme_status_role(s)];
			bool same256 = x->fg == g->fg && x->bg == g->bg && x->attrs == g->attrs;
			bool same16 = x->fg16 == g->fg16 && x->bg16 == g->bg16 &&
			              x->attrs == g->attrs;
			assert_false(same256);
			assert_false(same16);
		}
	}
}

static void test_mono_theme_is_mono(void **state)
{
	(void)state;
	struct sr_theme t;
	load_shipped("mono", &t);
	assert_true(t.mono);
	load_shipped("default", &t);
	assert_false(t.mono);
}

static void test_values(void **state)
{
	(void)state;
	const char *src =
	    "{\"name\": \"x\", \"styles\": {\n"
	    "  \"status.red\": {\"fg\": \"#ff0000\", \"bg\": 17, \"attrs\": [\"bold\"],"
	    " \"mono\": [\"reverse\", \"underline\"]},\n"
	    "  \"dim\": {\"fg\": \"bright-black\", \"fg16\": \"white\"}\n}}";
	struct sr_theme t;
	struct sr_policy_error err;
	assert_int_equal(theme_load_buffer(&t, src, strlen(src), "x.json", &err), 0);
	assert_int_equal(t.styles[TR_ST_RED].fg, 196);
	assert_int_equal(t.styles[TR_ST_RED].fg16, 9); /* derived: bright red */
	assert_int_equal(t.styles[TR_ST_RED].bg, 17);
	assert_int_equal(t.styles[TR_ST_RED].attrs, TA_BOLD);
	assert_int_equal(t.styles[TR_ST_RED].mono, TA_REVERSE | TA_UNDERLINE);
	assert_int_equal(t.styles[TR_DIM].fg, 8);
	assert_int_equal(t.styles[TR_DIM].fg16, 7);
	/* Untouched roles keep the built-in style. */
	struct sr_theme b;
	theme_builtin(&b);
	assert_memory_equal(&t.styles[TR_BANNER], &b.styles[TR_BANNER], sizeof b.styles[0]);
}

/* Load src, expect failure, and check the formatted "file:L:C: key: msg". */
static void expect_error(const char *src, int line, int col, const char *key, const char *words)
{
	struct sr_theme t;
	struct sr_policy_error err;
	char msg[1024], want[128];
	assert_int_equal(theme_load_buffer(&t, src, strlen(src), "themes/bad.json", &err), -1);
	policy_error_format(&err, msg, sizeof msg);
	snprintf(want, sizeof want, "themes/bad.json:%d:%d: ", line, col);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want prefix \"%s\"", msg, want);
	if (key && !strstr(msg, key))
		fail_msg("got \"%s\", want key %s", msg, key);
	if (!strstr(msg, words))
		fail_msg("got \"%s\", want \"%s\"", msg, words);
}

static void test_bad_themes(void **state)
{
	(void)state;
	/* A syntax error: jansson's position, in bytes. */
	expect_error("{\n  \"name\": \"x\",\n  \"styles\": {\"dim\": {\"fg\": 1,}}\n}", 3, 30, NULL,
	             "");
	/* A typo in a style name points at the key. */
	expect_error("{\"name\": \"x\",\n \"styles\": {\n   \"status.gren\": {\"fg\": 2}}}", 3, 4,
	             "/styles/status.gren", "unknown style");
	/* A colour out of range points at the value. */
	expect_error("{\"name\": \"x\", \"styles\": {\n\"status.red\": {\"fg\": 300}}}", 2, 22,
	             "/styles/status.red/fg", "300");
	/* A 16-colour value cannot be a 256-colour one. */
	expect_error("{\"name\": \"x\", \"styles\": {\"dim\": {\"fg16\": 99}}}", 1, 42,
	             "/styles/dim/fg16", "");
	/* An unknown attribute. */
	expect_error("{\"name\": \"x\", \"styles\": {\"dim\": {\"attrs\": [\"blink\"]}}}", 1, 44,
	             "/styles/dim/attrs/0", "blink");
	/* An unknown key inside a style. */
	expect_error("{\"name\": \"x\", \"styles\": {\"dim\": {\"colour\": 1}}}", 1, 34,
	             "/styles/dim/colour", "unknown key");
	/* A bad #rrggbb. */
	expect_error("{\"name\": \"x\", \"styles\": {\"dim\": {\"fg\": \"#12345g\"}}}", 1, 40,
	             "/styles/dim/fg", "#rrggbb");
	/* The name is required. */
	expect_error("{\"styles\": {}}", 1, 1, NULL, "name");
	/* Not an object. */
	expect_error("[1]", 1, 1, NULL, "object");
}

static void test_missing_file(void **state)
{
	(void)state;
	struct sr_theme t;
	struct sr_policy_error err;
	assert_int_equal(theme_load_file(&t, "/nonexistent/shiproom/theme.json", &err), -1);
	char msg[1024];
	policy_error_format(&err, msg, sizeof msg);
	assert_non_null(strstr(msg, "/nonexistent/shiproom/theme.json"));
	/* The built-in theme is left in place for the caller to fall back on. */
	assert_string_equal(t.name, "default");
}

static void test_theme_path(void **state)
{
	(void)state;
	char p[256];
	theme_path(p, sizeof p, "/usr/share/shiproom", "mono");
	assert_string_equal(p, "/usr/share/shiproom/themes/mono.json");
	theme_path(p, sizeof p, "/usr/share/shiproom", "./my.json");
	assert_string_equal(p, "./my.json");
	theme_path(p, sizeof p, "/usr/share/shiproom", "mine.json");
	assert_string_equal(p, "mine.json");
}

static void test_to16(void **state)
{
	(void)state;
	assert_int_equal(theme_to16(196), 9); /* ff0000 -> bright red */
	assert_int_equal(theme_to16(21), 4);  /* 0000ff -> blue (xterm's is 0000ee) */
	assert_int_equal(theme_to16(3), 3);
	assert_int_equal(theme_to16(TC_DEFAULT), TC_DEFAULT);
	assert_int_equal(theme_status_role(SR_RED), TR_ST_RED);
	assert_int_equal(theme_verdict_role(SR_ROLLBACK), TR_V_ROLLBACK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_themes_load),
	    cmocka_unit_test(test_statuses_distinct_without_colour),
	    cmocka_unit_test(test_gaps_never_green),
	    cmocka_unit_test(test_mono_theme_is_mono),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_bad_themes),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_theme_path),
	    cmocka_unit_test(test_to16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
