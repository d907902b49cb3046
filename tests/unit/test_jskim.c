/* test_jskim.c - the journal's quick look at a line: what it accepts is
 * what jansson accepts, what it lists is what jansson parses, and what
 * it cannot be sure of it leaves to jansson (jskim.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/jskim.h"

/* The members point into the text: the copy lives until the next call. */
static char *g_copy;

static int skim(const char *text, struct jskim_member *m)
{
	/* an exact-size copy: nothing after the text to lean on */
	size_t n = strlen(text);
	free(g_copy);
	g_copy = malloc(n ? n : 1);
	assert_non_null(g_copy);
	memcpy(g_copy, text, n);
	return jskim_object(g_copy, n, m, 8);
}

static bool jansson_accepts(const char *text)
{
	json_error_t je;
	json_t *o = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &je);
	bool ok = o && json_is_object(o);
	json_decref(o);
	return ok;
}

static void test_members_listed(void **state)
{
	(void)state;
	const char *line = " {\"seq\":12,\"at\":-3,\"type\":\"obs\",\"actor\":\"dri\","
	                   "\"x\":[1.5e3,{\"a\":null}],\"ok\":true,\"no\":false,\"f\":0.25,"
	                   "\"label\":\"T\\u002d0\"}\n";
	struct jskim_member m[9];
	int n = jskim_object(line, strlen(line), m, 9);
	assert_int_equal(n, 9); /* exactly the room given */
	long long v;
	assert_true(jskim_integer(jskim_find(m, n, "seq"), &v));
	assert_int_equal(v, 12);
	assert_true(jskim_integer(jskim_find(m, n, "at"), &v));
	assert_int_equal(v, -3);
	const struct jskim_member *t = jskim_find(m, n, "type");
	assert_int_equal(t->kind, JSKIM_STRING);
	assert_int_equal(t->val_len, 3);
	assert_memory_equal(t->val, "obs", 3);
	assert_false(t->escaped);
	const struct jskim_member *x = jskim_find(m, n, "x");
	assert_int_equal(x->kind, JSKIM_ARRAY);
	assert_int_equal(x->val_len, strlen("[1.5e3,{\"a\":null}]"));
	assert_int_equal(jskim_find(m, n, "ok")->kind, JSKIM_TRUE);
	assert_int_equal(jskim_find(m, n, "no")->kind, JSKIM_FALSE);
	const struct jskim_member *f = jskim_find(m, n, "f");
	assert_int_equal(f->kind, JSKIM_NUMBER);
	assert_false(f->integer);
	assert_false(jskim_integer(f, &v)); /* 0.25 is not an integer */
	assert_true(jskim_find(m, n, "label")->escaped);
	assert_null(jskim_find(m, n, "wall"));
	/* one member more than the room: no */
	assert_int_equal(jskim_object(line, strlen(line), m, 8), -1);
}

/* Each is refused by jansson too; the quick path must not let it by. */
static void test_invalid_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "[]",
	    "{\"a\":1} x",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "{a:1}",
	    "{\"a\":01}",
	    "{\"a\":-}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":1e}",
	    "{\"a\":+1}",
	    "{\"a\":tru}",
	    "{\"a\":nul}",
	    "{\"a\":\"x\ty\"}",             /* a raw control character */
	    "{\"a\":\"\\x\"}",              /* an unknown escape */
	    "{\"a\":\"\\u00g0\"}",          /* not hex */
	    "{\"a\":\"\\u0000\"}",          /* NUL: jansson refuses it */
	    "{\"a\":\"\\ud800\"}",          /* a lone high surrogate */
	    "{\"a\":\"\\udc00\"}",          /* a lone low surrogate */
	    "{\"a\":\"\\ud800\\u0041\"}",   /* a high one without its low */
	    "{\"a\":\"\xc0\xaf\"}",         /* overlong */
	    "{\"a\":\"\xed\xa0\x80\"}",     /* an encoded surrogate */
	    "{\"a\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
	    "{\"a\":\"\xe2\x82\"}",         /* cut short */
	    "{\"a\":\"\x80\"}",             /* a lone continuation byte */
	    "{\"a\":1,\"a\":2}",            /* a duplicate name */
	    "{\"a\":[1,2}",
	    "{\"a\":{\"b\":1]}",
	    "{\"a\":\"unterminated}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct jskim_member m[8];
		if (skim(bad[i], m) >= 0)
			fail_msg("accepted %s", bad[i]);
		if (jansson_accepts(bad[i]))
			fail_msg("jansson accepts %s: the case proves nothing", bad[i]);
	}
}

/* {"a":[[...]]} with `levels` arrays */
static void nested(char *out, int levels)
{
	size_t o = 0;
	memcpy(out, "{\"a\":", 5);
	o = 5;
	for (int i = 0; i < levels; i++)
		out[o++] = '[';
	for (int i = 0; i < levels; i++)
		out[o++] = ']';
	out[o++] = '}';
	out[o] = '\0';
}

/* Valid, but a name to unescape or too deep: jansson decides. */
static void test_unsure_left_to_jansson(void **state)
{
	(void)state;
	struct jskim_member m[8];
	assert_int_equal(skim("{\"\\u0061\":1}", m), -1);
	assert_true(jansson_accepts("{\"\\u0061\":1}"));
	char deep[2 * JSKIM_MAX_DEPTH + 16];
	/* the object and JSKIM_MAX_DEPTH arrays in it: one level too many */
	nested(deep, JSKIM_MAX_DEPTH);
	assert_true(jansson_accepts(deep));
	assert_int_equal(skim(deep, m), -1);
	nested(deep, JSKIM_MAX_DEPTH - 1);
	assert_true(jansson_accepts(deep));
	assert_int_equal(skim(deep, m), 1);
}

/* Valid text of every kind, with the awkward corners: accepted, and the
 * unescaped strings are jansson's bytes. */
static void test_valid_accepted(void **state)
{
	(void)state;
	static const char *good[] = {
	    "{}",
	    " \t\r\n{ } \n",
	    "{\"a\":-0}",
	    "{\"a\":0.5e-3,\"b\":1E+2,\"c\":-12.75}",
	    "{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	    "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
	    "{\"a\":[[],{},[{}],\"]\",\"}\"]}",
	    "{\"a\":\"\x7f\"}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct jskim_member m[8];
		int n = skim(good[i], m);
		if (n < 0)
			fail_msg("refused %s", good[i]);
		json_error_t je;
		json_t *o = json_loadb(good[i], strlen(good[i]), JSON_REJECT_DUPLICATES, &je);
		assert_non_null(o);
		assert_int_equal(json_object_size(o), n);
		for (int k = 0; k < n; k++) {
			const json_t *v = json_object_getn(o, m[k].key, m[k].key_len);
			assert_non_null(v);
			if (m[k].kind == JSKIM_STRING && !m[k].escaped) {
				assert_int_equal(json_string_length(v), m[k].val_len);
				assert_memory_equal(json_string_value(v), m[k].val, m[k].val_len);
			}
		}
		json_decref(o);
	}
}

/* Strings are scanned eight bytes at a time: a byte that needs a look, in
 * any lane of the word, must still be seen. */
static void test_every_lane_checked(void **state)
{
	(void)state;
	static const char *bad[] = {"\x01", "\x1f", "\x80", "\xff", "\\x", "\""};
	for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
		for (int pos = 0; pos < 24; pos++) {
			char text[64], run[32];
			memset(run, 'x', 24);
			run[24] = '\0';
			snprintf(text, sizeof text, "{\"a\":\"%.*s%s%s\"}", pos, run, bad[b],
			         run + pos);
			struct jskim_member m[8];
			if (skim(text, m) >= 0)
				fail_msg("accepted byte %02x at %d", (unsigned char)bad[b][0], pos);
			assert_false(jansson_accepts(text));
		}
	for (int pos = 0; pos < 24; pos++) {
		char text[64], run[32];
		memset(run, 'x', 24);
		run[24] = '\0';
		snprintf(text, sizeof text, "{\"a\":\"%.*s\xc3\xa9\\n%s\"}", pos, run, run + pos);
		struct jskim_member m[8];
		assert_int_equal(skim(text, m), 1);
		assert_int_equal(m[0].val_len, 24 + 2 + 2);
		assert_true(m[0].escaped);
	}
}

static void test_integers(void **state)
{
	(void)state;
	struct jskim_member m[8];
	long long v;
	assert_int_equal(skim("{\"a\":9223372036854775807,\"b\":-9223372036854775808,"
	                      "\"c\":9223372036854775808,\"d\":1e3}",
	                      m),
	                 4);
	assert_true(jskim_integer(&m[0], &v));
	assert_true(v == 9223372036854775807LL);
	assert_true(jskim_integer(&m[1], &v));
	assert_true(v == -9223372036854775807LL - 1);
	assert_false(jskim_integer(&m[2], &v)); /* past 64 bits: jansson refuses the line */
	assert_false(jskim_integer(&m[3], &v)); /* a real */
	assert_false(jskim_integer(NULL, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_members_listed),         cmocka_unit_test(test_invalid_refused),
	    cmocka_unit_test(test_unsure_left_to_jansson), cmocka_unit_test(test_valid_accepted),
	    cmocka_unit_test(test_every_lane_checked),     cmocka_unit_test(test_integers),
	};
	int r = cmocka_run_group_tests_name("jskim", tests, NULL, NULL);
	free(g_copy);
	return r;
}
