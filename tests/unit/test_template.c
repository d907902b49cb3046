/* test_template.c - the report template engine: variables, sections,
 * escaping, padding, and the load-time errors with line:column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/template.h"

static const struct sr_tpl_var row_fields[] = {
    {"label", SR_TPL_SCALAR, NULL},
    {"value", SR_TPL_SCALAR, NULL},
    {"bad", SR_TPL_FLAG, NULL},
    {NULL, SR_TPL_SCALAR, NULL},
};

static const struct sr_tpl_var gate_fields[] = {
    {"name", SR_TPL_SCALAR, NULL},
    {"number", SR_TPL_SCALAR, NULL},
    {NULL, SR_TPL_SCALAR, NULL},
};

static const struct sr_tpl_var schema[] = {
    {"title", SR_TPL_SCALAR, NULL}, {"count", SR_TPL_SCALAR, NULL},
    {"ok", SR_TPL_FLAG, NULL},      {"rows", SR_TPL_LIST, row_fields},
    {"reasons", SR_TPL_LIST, NULL}, {"gate", SR_TPL_OBJECT, gate_fields},
    {NULL, SR_TPL_SCALAR, NULL},
};

static json_t *data(void)
{
	return json_pack("{s:s, s:i, s:b, s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}], s:[s, s], "
	                 "s:{s:s, s:i}}",
	                 "title", "Gate report", "count", 27, "ok", 1, "rows", "label",
	                 "search P95", "value", "90.5ms", "bad", 0, "label", "payments P95",
	                 "value", "178ms", "bad", 1, "reasons", "first", "second", "gate", "name",
	                 "Gate 1", "number", 1);
}

/* Load (must succeed) and render with data(). */
static char *render(const char *tpl)
{
	struct sr_tpl_error err;
	struct sr_template *t = template_load_buffer(tpl, strlen(tpl), "t.md", schema, &err);
	if (!t) {
		char msg[512];
		template_error_format(&err, msg, sizeof msg);
		print_error("load failed: %s\n", msg);
	}
	assert_non_null(t);
	json_t *d = data();
	char *out = template_render(t, d, NULL);
	assert_non_null(out);
	json_decref(d);
	template_free(t);
	return out;
}

static void expect_render(const char *tpl, const char *want)
{
	char *out = render(tpl);
	if (strcmp(out, want) != 0)
		print_error("template:\n%s\n--- got:\n%s\n--- want:\n%s\n", tpl, out, want);
	assert_string_equal(out, want);
	free(out);
}

/* Load must fail with this message fragment at line:col. */
static void expect_error(const char *tpl, int line, int col, const char *fragment)
{
	struct sr_tpl_error err;
	struct sr_template *t = template_load_buffer(tpl, strlen(tpl), "GATE.md", schema, &err);
	char msg[512];
	template_error_format(&err, msg, sizeof msg);
	if (t || err.line != line || err.column != col || !strstr(err.msg, fragment))
		print_error("template:\n%s\ngot: %s\nwant %d:%d ... %s\n", tpl,
		            t ? "(loaded)" : msg, line, col, fragment);
	assert_null(t);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, col);
	assert_non_null(strstr(err.msg, fragment));
	/* The formatted message starts with file:line:column. */
	char head[64];
	snprintf(head, sizeof head, "GATE.md:%d:%d: ", line, col);
	assert_memory_equal(msg, head, strlen(head));
}

static void test_variables(void **state)
{
	(void)state;
	expect_render("# {{title}} ({{count}} checks)\n", "# Gate report (27 checks)\n");
	expect_render("{{ title }}|{{gate.name}}|{{gate.number}}", "Gate report|Gate 1|1");
	expect_render("no tags at all\n", "no tags at all\n");
	expect_render("", "");
	expect_render("{{! a comment }}x{{!\nmulti-line\ncomment }}y", "xy");
}

static void test_sections(void **state)
{
	(void)state;
	/* A list of objects, standalone tags dropping their lines. */
	expect_render("| KPI | Value |\n"
	              "{{#rows}}\n"
	              "| {{label}} | {{value}} |\n"
	              "{{/rows}}\n"
	              "end\n",
	              "| KPI | Value |\n| search P95 | 90.5ms |\n| payments P95 | 178ms |\nend\n");
	/* A list of strings with {{.}}; outer names stay visible inside. */
	expect_render("{{#reasons}}- {{.}} ({{title}})\n{{/reasons}}",
	              "- first (Gate report)\n- second (Gate report)\n");
	/* Flags, inverted sections, flags inside a list. */
	expect_render("{{#ok}}all good{{/ok}}{{^ok}}not good{{/ok}}", "all good");
	expect_render("{{#rows}}{{#bad}}{{label}} is bad{{/bad}}{{/rows}}", "payments P95 is bad");
	expect_render("{{#rows}}{{^bad}}{{label}} ok;{{/bad}}{{/rows}}", "search P95 ok;");
	/* An object section, and a scalar used as a conditional. */
	expect_render("{{#gate}}{{name}} #{{number}}{{/gate}}", "Gate 1 #1");
	expect_render("{{#title}}[{{.}}]{{/title}}", "[Gate report]");
	/* Indented standalone tags go too; a tag with text beside it stays. */
	expect_render("a\n  {{#ok}}  \nb\n  {{/ok}}\nc {{#ok}}d{{/ok}}\n", "a\nb\nc d\n");
}

static void test_empty_and_missing(void **state)
{
	(void)state;
	struct sr_tpl_error err;
	const char *tpl =
	    "{{#rows}}row{{/rows}}{{^rows}}no rows{{/rows}}|{{title}}|{{#reasons}}x{{/reasons}}";
	struct sr_template *t = template_load_buffer(tpl, strlen(tpl), "t", schema, &err);
	assert_non_null(t);
	/* Missing data renders as empty; an empty list runs the inverted part. */
	json_t *d = json_pack("{s:[], s:[]}", "rows", "reasons");
	char *out = template_render(t, d, NULL);
	assert_string_equal(out, "no rows||");
	free(out);
	json_decref(d);
	d = json_pack("{s:n, s:s}", "rows", "title", "");
	size_t len = 99;
	out = template_render(t, d, &len);
	assert_string_equal(out, "no rows||");
	assert_int_equal(len, strlen("no rows||"));
	free(out);
	json_decref(d);
	template_free(t);
}

static void test_escaping(void **state)
{
	(void)state;
	json_t *d = json_pack("{s:s}", "title",
	                      "<script>alert(1)</script> *b* _i_ [x](http://e) a|b `c` #h ~s~ \\ "
	                      "&amp; \x1b[31mred\n@here");
	const char *tpl = "{{title}}\n{{&title}}";
	struct sr_template *t = template_load_buffer(tpl, strlen(tpl), "t", schema, NULL);
	assert_non_null(t);
	char *out = template_render(t, d, NULL);
	assert_non_null(out);
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_string_equal(out,
	                    "&lt;script>alert(1)&lt;/script> \\*b\\* \\_i\\_ \\[x\\](http://e) "
	                    "a\\|b \\`c\\` \\#h \\~s\\~ \\\\ &amp;amp; ?\\[31mred?@here");
	/* No raw control byte and no opening tag survives the escape. */
	assert_null(strchr(out, '\x1b'));
	assert_null(strstr(out, "<script"));
	/* {{&x}} is verbatim. */
	assert_string_equal(nl + 1, json_string_value(json_object_get(d, "title")));
	free(out);
	json_decref(d);
	template_free(t);

	/* Readable text stays readable: intra-word _, <=, >, & between words. */
	char buf[128];
	template_escape_md(buf, sizeof buf, "scholarship_detail P95 90ms <= 130ms; 5 > 3 & ok");
	assert_string_equal(buf, "scholarship_detail P95 90ms <= 130ms; 5 > 3 & ok");
	/* snprintf-like: the needed length, truncated output. */
	assert_int_equal(template_escape_md(buf, 4, "a*b*c"), strlen("a\\*b\\*c"));
	assert_string_equal(buf, "a\\*");
	assert_int_equal(template_escape_md(NULL, 0, "<b>"), strlen("&lt;b>"));
}

static void test_width(void **state)
{
	(void)state;
	expect_render("|{{title:14}}|{{count:>5}}|", "|Gate report   |   27|");
	/* Never cut; padding counts characters, not bytes; escapes count. */
	expect_render("|{{title:3}}|", "|Gate report|");
	json_t *d = json_pack("{s:s}", "title", "\xc3\xa9t\xc3\xa9*");
	const char *tpl = "|{{title:6}}|";
	struct sr_template *t = template_load_buffer(tpl, strlen(tpl), "t", schema, NULL);
	char *out = template_render(t, d, NULL);
	assert_string_equal(out, "|\xc3\xa9t\xc3\xa9\\* |");
	free(out);
	json_decref(d);
	template_free(t);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("line one\n  {{#rows}}\n| {{label}} |\n", 2, 3,
	             "section 'rows' is never closed");
	expect_error("ok {{title}}\n\n| {{titel}} |\n", 3, 3, "unknown variable 'titel'");
	expect_error("{{#rows}}{{label}}{{/rows}}\n{{label}}", 2, 1, "unknown variable 'label'");
	expect_error("text\n{{/rows}}\n", 2, 1, "stray closing tag {{/rows}}");
	expect_error("{{#rows}}\n{{#bad}}x{{/rows}}\n{{/bad}}", 2, 10,
	             "does not close the open section 'bad' (opened at 2:1)");
	expect_error("a {{title\n}}", 1, 3, "unterminated tag");
	expect_error("x {{! never closed\n", 1, 3, "unterminated comment");
	expect_error("{{rows}}", 1, 1, "'rows' is a list");
	expect_error("{{gate}}", 1, 1, "'gate' is an object");
	expect_error("{{ok}}", 1, 1, "'ok' is a flag");
	expect_error("{{gate.nam}}", 1, 1, "'gate' has no field 'nam'");
	expect_error("{{title.x}}", 1, 1, "'title' is a value, it has no field 'x'");
	expect_error("{{.}}", 1, 1, "{{.}} is only meaningful inside a list of values");
	expect_error("{{#rows}}{{.}}{{/rows}}", 1, 10, "{{.}} is only meaningful");
	expect_error("{{}}", 1, 1, "empty tag");
	expect_error("{{title:0}}", 1, 1, "bad width");
	expect_error("{{title:x}}", 1, 1, "bad width");
	expect_error("{{title:}}", 1, 1, "a width is needed");
	expect_error("{{ti tle}}", 1, 1, "invalid character ' '");
	expect_error("{{a..b}}", 1, 1, "empty part");
	struct sr_tpl_error nerr;
	assert_null(template_load_buffer("ab\ncd\0ef", 8, "t", schema, &nerr));
	assert_int_equal(nerr.line, 2);
	assert_int_equal(nerr.column, 3);
	assert_non_null(strstr(nerr.msg, "a NUL byte"));
	/* Columns are characters, not bytes. */
	expect_error("\xc3\xa9\xc3\xa9 {{nope}}", 1, 4, "unknown variable 'nope'");
	/* The message lists what is known, so the fix is obvious. */
	struct sr_tpl_error err;
	assert_null(template_load_buffer("{{nope}}", 8, "t", schema, &err));
	assert_non_null(strstr(err.msg, "known here: title, count, ok, rows"));
}

static void test_nesting_limit(void **state)
{
	(void)state;
	char tpl[2048];
	size_t o = 0;
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(tpl + o, sizeof tpl - o, "{{#ok}}");
	struct sr_tpl_error err;
	assert_null(template_load_buffer(tpl, strlen(tpl), "t", schema, &err));
	assert_non_null(strstr(err.msg, "nested deeper than"));
}

static void test_load_file(void **state)
{
	(void)state;
	struct sr_tpl_error err;
	char msg[600];
	assert_null(template_load_file("/nonexistent/GATE.md", schema, &err));
	template_error_format(&err, msg, sizeof msg);
	assert_string_equal(msg, "/nonexistent/GATE.md: cannot open: No such file or directory");

	char path[] = "/tmp/sr-tpl-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# {{title}}\n{{#rows}}\n- {{label}}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_null(template_load_file(path, schema, &err));
	template_error_format(&err, msg, sizeof msg);
	char want[600];
	snprintf(want, sizeof want, "%s:2:1: section 'rows' is never closed", path);
	assert_memory_equal(msg, want, strlen(want));
	unlink(path);
}

/* The placeholder expander every non-report template shares (http_edge,
 * promparse, the evidence queries): names trimmed, values never scanned
 * again, a refusal and an unclosed tag said with where. */
static int upper_value(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *out,
                       char *err, size_t n)
{
	int *calls = ud;
	(*calls)++;
	if (len == 4 && memcmp(name, "evil", 4) == 0) {
		tbuf_put(out, "{{token}}", 9); /* a value that looks like a placeholder */
		return 0;
	}
	if (len == 4 && memcmp(name, "nope", 4) == 0) {
		snprintf(err, n, "unknown placeholder {{nope}} at byte %zu", at + 1);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		tbuf_putc(out, (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]));
	return 0;
}

static void test_placeholders(void **state)
{
	(void)state;
	char err[128];
	int calls = 0;
	char *s = tmpl_expand("a{{x}}b{{ yz }}c", upper_value, &calls, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "aXbYZc");
	assert_int_equal(calls, 2);
	free(s);
	calls = 0;
	s = tmpl_expand("{{evil}}!", upper_value, &calls, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "{{token}}!"); /* written as text, not expanded */
	assert_int_equal(calls, 1);
	free(s);
	assert_null(tmpl_expand("ok {{nope}}", upper_value, &calls, err, sizeof err));
	assert_string_equal(err, "unknown placeholder {{nope}} at byte 4");
	assert_null(tmpl_expand("x {{ open", upper_value, &calls, err, sizeof err));
	assert_string_equal(err, "bad placeholder at byte 3: no }} closes it");
	s = tmpl_expand("no placeholders {", upper_value, &calls, err, sizeof err);
	assert_string_equal(s, "no placeholders {");
	free(s);
	char name[16];
	assert_true(tmpl_only_placeholder("{{ weight }}", name, sizeof name));
	assert_string_equal(name, "weight");
	assert_false(tmpl_only_placeholder("{{weight}} ", name, sizeof name));
	assert_false(tmpl_only_placeholder("x{{weight}}", name, sizeof name));
	assert_false(tmpl_only_placeholder("{{a_name_far_too_long}}", name, sizeof name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_variables),
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_empty_and_missing),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_width),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_placeholders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
