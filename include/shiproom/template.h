/* template.h - a small Mustache-like template engine for the reports.
 *
 * The gate report, the phase card, the postmortem placeholder and the win
 * note are Markdown files in config/ that a team edits without touching C.
 * The engine is a subset of Mustache (https://mustache.github.io/), with
 * the data given as a jansson value:
 *
 *   {{name}}             the value, escaped for Markdown (template_escape_md)
 *   {{&name}} {{{name}}} the value as is (no escaping)
 *   {{name:24}}          escaped, padded with spaces to 24 columns (tables)
 *   {{name:>8}}          the same, right-aligned; a longer value is never cut
 *   {{a.b}}              a field of an object
 *   {{.}}                the current item of a list of strings
 *   {{#name}}..{{/name}} a list: once per item (the item's fields are in
 *                        scope); an object: once, its fields in scope; true
 *                        or a non-empty string: once; false, null, "", [],
 *                        0 or absent: not at all
 *   {{^name}}..{{/name}} once when name is empty/false/absent (inverted)
 *   {{! comment }}       nothing
 *
 * A section, inverted-section, closing or comment tag alone on its line
 * removes the whole line, so a table row template does not leave blank
 * lines behind.
 *
 * Every template is checked at LOAD time against a schema (the variables
 * the report provides), so a typo or an unclosed section fails the start
 * of the console with "file:line:column: message", never the gate.
 */
#ifndef SHIPROOM_TEMPLATE_H
#define SHIPROOM_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "shiproom/common.h"

enum sr_tpl_kind {
	SR_TPL_SCALAR, /* a string or a number: {{name}} */
	SR_TPL_FLAG,   /* true/false: {{#name}}..{{/name}} or {{^name}} only */
	SR_TPL_OBJECT, /* an object: {{name.field}} or {{#name}}{{field}}{{/name}} */
	SR_TPL_LIST    /* an array: {{#name}}..{{/name}}; of objects when
	                  `fields` is set, of strings ({{.}}) when NULL */
};

/* One variable of a schema. A schema is an array ended by {NULL}. */
struct sr_tpl_var {
	const char *name;
	enum sr_tpl_kind kind;
	const struct sr_tpl_var *fields; /* OBJECT and LIST of objects */
};

struct sr_tpl_error {
	char file[256];
	int line, column; /* 1-based; 0 when not about a position */
	char msg[SR_TEXT_LEN];
};

/* "file:line:column: msg" (or "file: msg" without a position). */
void template_error_format(const struct sr_tpl_error *e, char *buf, size_t n);

struct sr_template;

/* Parse and check against `schema`. NULL with *err filled on any error:
 * unreadable file, unterminated tag, unclosed section, a closing tag that
 * closes nothing or the wrong section, an unknown variable, a list used
 * as a plain value, a bad width, a NUL byte. */
struct sr_template *template_load_file(const char *path, const struct sr_tpl_var *schema,
                                       struct sr_tpl_error *err);
/* The same from memory; `name` is the file name used in messages. */
struct sr_template *template_load_buffer(const char *buf, size_t len, const char *name,
                                         const struct sr_tpl_var *schema, struct sr_tpl_error *err);
void template_free(struct sr_template *t);
/* The file name it was loaded from. */
const char *template_name(const struct sr_template *t);

/* Render with `data` (an object). Returns a malloc'd NUL-terminated
 * string (free() it) and its length in *len (may be NULL); NULL when out
 * of memory or past the output cap (SR_TPL_MAX_OUTPUT). A name the schema
 * has but the data lacks renders as "". */
#define SR_TPL_MAX_OUTPUT (8u * 1024u * 1024u)
char *template_render(const struct sr_template *t, const json_t *data, size_t *len);

/* Escape outside text for Markdown and HTML: control bytes and invalid
 * UTF-8 are replaced first (sr_sanitize); \ ` * [ ] | ~ # are
 * backslash-escaped; _ too unless inside a word; < becomes &lt; where it
 * could open a tag, comment or autolink, & becomes &amp; where it could
 * start an entity. The result is inline text that renders as the original
 * characters (a value is never a block of its own: > and - are left). Writes at most
 * n-1 bytes and a NUL; returns the length the whole escape needs, like
 * snprintf. */
size_t template_escape_md(char *dst, size_t n, const char *src);

/* ---- placeholders: the one {{name}} of every other template -------------
 *
 * The edge's requests (http_edge.c: URL, headers, body) and the source's
 * queries (promparse.c: {{window}} {{q}} {{journeys}}; prometheus.c's
 * evidence queries add {{step}} {{le}}) are plain text with placeholders,
 * expanded here with one scanner: "{{", spaces, the name, spaces, "}}".
 * What a name means and how its value is escaped for its context (a JSON
 * string, a URL, a header, a PromQL regex) is the caller's value function;
 * a value is written as text and never scanned again, so a value (a
 * reason, a label, an edge's capture) can never inject a placeholder. */

/* A growing string (NUL-terminated once anything was put). */
struct sr_tbuf {
	char *p;
	size_t len, cap;
	bool oom;
};
void tbuf_put(struct sr_tbuf *b, const char *s, size_t n);
void tbuf_putc(struct sr_tbuf *b, char c);

/* Write the value of placeholder `name` (len bytes, spaces trimmed; at:
 * the byte offset of its "{{" in the text) to out; 0, or -1 with err. */
typedef int (*tmpl_value_fn)(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *out,
                             char *err, size_t n);
/* The text with every placeholder replaced: malloc'd, or NULL with err
 * ("bad placeholder at byte N: no }} closes it", the value function's
 * message, "out of memory"). */
char *tmpl_expand(const char *text, tmpl_value_fn fn, void *ud, char *err, size_t n);
/* Is text exactly one placeholder and nothing else? Its name (trimmed)
 * into name (at most n-1 bytes: a longer one is no). */
bool tmpl_only_placeholder(const char *text, char *name, size_t n);

#endif
