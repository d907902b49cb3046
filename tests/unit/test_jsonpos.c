/* test_jsonpos.c - jsonpos_find: where a JSON pointer's value stands.
 *
 * Every policy error's file:line:column comes from here, so the positions
 * are checked exactly, including escaped member names, pointer escapes,
 * misses (with the closest enclosing position) and broken input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shiproom/jsonpos.h"

struct pos {
	int r, line, col;
};

static struct pos find(const char *text, const char *ptr, int key_pos)
{
	struct pos p = {0, -1, -1};
	p.r = jsonpos_find(text, strlen(text), ptr, key_pos, &p.line, &p.col);
	return p;
}

#define ASSERT_POS(p, R, L, C)                                                                     \
	do {                                                                                       \
		struct pos p_ = (p);                                                               \
		assert_int_equal(p_.r, (R));                                                       \
		assert_int_equal(p_.line, (L));                                                    \
		assert_int_equal(p_.col, (C));                                                     \
	} while (0)

static const char nested[] = "{\n"
                             "  \"a\": {\"b\": [10, {\"c\": true}]},\n"
                             "  \"d\": \"x\",\n"
                             "  \"e\": [[1, 2], [3, [4, 5]]]\n"
                             "}\n";

static void test_nested(void **state)
{
	(void)state;
	ASSERT_POS(find(nested, "", 0), 0, 1, 1);
	ASSERT_POS(find(nested, "/a", 0), 0, 2, 8);
	ASSERT_POS(find(nested, "/a", 1), 0, 2, 3);
	ASSERT_POS(find(nested, "/a/b", 0), 0, 2, 14);
	ASSERT_POS(find(nested, "/a/b", 1), 0, 2, 9);
	ASSERT_POS(find(nested, "/a/b/0", 0), 0, 2, 15);
	ASSERT_POS(find(nested, "/a/b/1", 0), 0, 2, 19);
	ASSERT_POS(find(nested, "/a/b/1/c", 0), 0, 2, 25);
	ASSERT_POS(find(nested, "/a/b/1/c", 1), 0, 2, 20);
	ASSERT_POS(find(nested, "/d", 0), 0, 3, 8);
	ASSERT_POS(find(nested, "/e/1/1/0", 0), 0, 4, 22);
	/* An array element has no member name: key_pos gives the value. */
	ASSERT_POS(find(nested, "/e/1", 1), 0, 4, 17);
}

static void test_leading_space_and_skipping(void **state)
{
	(void)state;
	ASSERT_POS(find("\n\n   {\"a\": 1}", "", 0), 0, 3, 4);
	/* A same-named member inside a skipped value is not the target. */
	ASSERT_POS(find("{\"x\": {\"t\": 1}, \"t\": 2}", "/t", 0), 0, 1, 22);
	ASSERT_POS(find("{\"x\": {\"t\": 1}, \"t\": 2}", "/x/t", 0), 0, 1, 13);
	/* Strings that look like structure are skipped as strings. */
	ASSERT_POS(find("{\"s\": \"}],{\\\"t\\\": 0\", \"t\": 7}", "/t", 0), 0, 1, 28);
	/* Columns count bytes; \r is an ordinary byte, \n ends the line. */
	ASSERT_POS(find("{\"\xc3\xa9\": 1, \"k\": 2}", "/k", 0), 0, 1, 16);
	ASSERT_POS(find("{\r\n\"k\": 2}", "/k", 0), 0, 2, 6);
	/* Scalars of every kind are skipped. */
	ASSERT_POS(find("[true, false, null, -1.5e+3, \"s\", {}, [], 0]", "/7", 0), 0, 1, 43);
}

static void test_escaped_keys(void **state)
{
	(void)state;
	const char *t = "{\"a\\\"b\": 1, \"\\u00e9t\\u00e9\": 2, \"x\\/y\": 3, "
	                "\"\\ud83d\\ude00\": 4, \"tab\\there\": 5, \"\\\\\": 6}";
	ASSERT_POS(find(t, "/a\"b", 0), 0, 1, 10);
	ASSERT_POS(find(t, "/\xc3\xa9t\xc3\xa9", 0), 0, 1, 30);
	ASSERT_POS(find(t, "/\xc3\xa9t\xc3\xa9", 1), 0, 1, 13);
	/* A JSON "\/" is a '/', which a pointer spells "~1". */
	ASSERT_POS(find(t, "/x~1y", 0), 0, 1, 41);
	/* A surrogate pair is one character (U+1F600). */
	ASSERT_POS(find(t, "/\xf0\x9f\x98\x80", 0), 0, 1, 60);
	ASSERT_POS(find(t, "/tab\there", 0), 0, 1, 76);
	ASSERT_POS(find(t, "/\\", 0), 0, 1, 85);
	/* The escaped spelling itself is not the key. */
	assert_int_equal(find(t, "/\\u00e9t\\u00e9", 0).r, -1);
	assert_int_equal(find(t, "/a", 0).r, -1);
	assert_int_equal(find(t, "/x", 0).r, -1);
}

static void test_pointer_escapes(void **state)
{
	(void)state;
	const char *t = "{\"m~n\": 1, \"p/q\": 2, \"~1\": 3, \"\": 4, \"a\": {\"\": 5}}";
	ASSERT_POS(find(t, "/m~0n", 0), 0, 1, 9);
	ASSERT_POS(find(t, "/p~1q", 0), 0, 1, 19);
	ASSERT_POS(find(t, "/~01", 0), 0, 1, 28);
	ASSERT_POS(find(t, "/", 0), 0, 1, 35); /* the empty key */
	ASSERT_POS(find(t, "/a/", 0), 0, 1, 48);
	assert_int_equal(find(t, "/m~n", 0).r, -1);  /* unescaped ~ */
	assert_int_equal(find(t, "/m~2n", 0).r, -1); /* invalid escape */
	assert_int_equal(find(t, "/p/q", 0).r, -1);  /* '/' is a separator */
	assert_int_equal(find(t, "/~", 0).r, -1);
}

static void test_not_found(void **state)
{
	(void)state;
	/* Misses report the closest enclosing value found. */
	ASSERT_POS(find(nested, "/zzz", 0), -1, 1, 1);
	ASSERT_POS(find(nested, "/a/zzz", 0), -1, 2, 8);
	ASSERT_POS(find(nested, "/a/b/2", 0), -1, 2, 14);
	ASSERT_POS(find(nested, "/a/b/-", 0), -1, 2, 14);
	ASSERT_POS(find(nested, "/a/b/01", 0), -1, 2, 14);
	ASSERT_POS(find(nested, "/a/b/x", 0), -1, 2, 14);
	ASSERT_POS(find(nested, "/a/b/99999999999", 0), -1, 2, 14);
	ASSERT_POS(find(nested, "/d/e", 0), -1, 3, 8); /* below a scalar */
	ASSERT_POS(find(nested, "/a/b/0/x", 0), -1, 2, 15);
	ASSERT_POS(find(nested, "a", 0), -1, 1, 1); /* not a pointer */
	ASSERT_POS(find("{}", "/a", 0), -1, 1, 1);
	ASSERT_POS(find("[]", "/0", 0), -1, 1, 1);
	int line = -1, col = -1;
	assert_int_equal(jsonpos_find(NULL, 0, "", 0, &line, &col), -1);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	assert_int_equal(jsonpos_find(nested, sizeof nested - 1, NULL, 0, &line, &col), -1);
	assert_int_equal(jsonpos_find(nested, sizeof nested - 1, "/d", 0, NULL, NULL), 0);
}

static void test_truncated_and_broken(void **state)
{
	(void)state;
	size_t n = strlen(nested);
	/* Every prefix: never a crash, never a read past len; a target
	 * wholly before the cut is found, one after it is not. */
	for (size_t cut = 0; cut < n; cut++) {
		int line, col;
		int r = jsonpos_find(nested, cut, "/e/1/1/0", 0, &line, &col);
		assert_int_equal(r, cut > 68 ? 0 : -1);
		assert_true(line >= 1 && col >= 1);
		r = jsonpos_find(nested, cut, "/a/b/1/c", 1, &line, &col);
		assert_int_equal(r, cut > 26 ? 0 : -1);
	}
	ASSERT_POS(find("{\"a\": 1, \"b\" 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": tru, \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": 01, \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": \"x\ny\", \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": \"\\q\", \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": \"\\u12G4\", \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": [1 2], \"b\": 2}", "/b", 0), -1, 1, 1);
	ASSERT_POS(find("{\"a\": {\"b\": 1,}}", "/a/c", 0), -1, 1, 7);
	/* NULs inside len are bytes like any other: invalid here. */
	static const char nul[] = "{\"a\": \"x\0y\", \"b\": 2}";
	int line, col;
	assert_int_equal(jsonpos_find(nul, sizeof nul - 1, "/b", 0, &line, &col), -1);
	/* A lone high surrogate still decodes (to something) and moves on. */
	ASSERT_POS(find("{\"\\ud800\": 1, \"b\": 2}", "/b", 0), 0, 1, 20);
	ASSERT_POS(find("{\"\\ud800\\u0041\": 1, \"b\": 2}", "/b", 0), 0, 1, 26);
}

static void test_depth(void **state)
{
	(void)state;
	/* Deep but bounded nesting is followed... */
	char ptr[512];
	char *deep = malloc(2 * 200 + 1);
	assert_non_null(deep);
	for (int i = 0; i < 200; i++) {
		deep[i] = '[';
		deep[200 + i] = ']';
	}
	deep[400] = '\0';
	for (int i = 0; i < 199; i++)
		memcpy(ptr + 2 * i, "/0", 2);
	ptr[2 * 199] = '\0';
	ASSERT_POS(find(deep, ptr, 0), 0, 1, 200);
	free(deep);

	/* ...and a hostile depth is refused without exhausting the stack. */
	size_t n = 200000;
	char *bomb = malloc(n + 1);
	assert_non_null(bomb);
	memset(bomb, '[', n);
	bomb[n] = '\0';
	int line, col;
	assert_int_equal(jsonpos_find(bomb, n, "/1", 0, &line, &col), -1);
	memset(bomb, '{', n);
	assert_int_equal(jsonpos_find(bomb, n, "/x", 0, &line, &col), -1);
	free(bomb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nested),       cmocka_unit_test(test_leading_space_and_skipping),
	    cmocka_unit_test(test_escaped_keys), cmocka_unit_test(test_pointer_escapes),
	    cmocka_unit_test(test_not_found),    cmocka_unit_test(test_truncated_and_broken),
	    cmocka_unit_test(test_depth),
	};
	return cmocka_run_group_tests_name("jsonpos", tests, NULL, NULL);
}
