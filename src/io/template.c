/* template.c - the Mustache-like template engine of the reports.
 *
 * Why a template engine at all: the directive asks for reports from a
 * GATE_REPORT_TEMPLATE.md that the team owns, so the words and layout of
 * every report live in config/ and the C code only provides the data
 * (report.c builds it as a jansson object; that object is also the JSON
 * report, so the Markdown and the JSON can never disagree).
 *
 * Why it checks at load time: a template is edited by people, and a typo
 * found at T+90 with the whole ship-room waiting for the gate report is the
 * worst moment. So a template is parsed once into a tree of nodes and every
 * name is resolved against the report's schema (struct sr_tpl_var) while
 * parsing; rendering then cannot meet an unknown name or an unbalanced
 * section. Errors say file:line:column, columns counted in characters.
 *
 * It must survive any bytes (there is a fuzz target): the parser never
 * reads past `len`, nesting is bounded (TPL_MAX_DEPTH), and the output is
 * capped (SR_TPL_MAX_OUTPUT).
 */
#include "shiproom/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPL_MAX_DEPTH 32  /* sections nested deeper than this are refused */
#define TPL_MAX_PATH 8    /* a.b.c: at most this many parts */
#define TPL_MAX_WIDTH 200 /* {{name:N}} */
#define TPL_MAX_FILE (1u << 20)

enum node_type { N_TEXT, N_VAR, N_SECTION, N_INVERTED };

struct node {
	enum node_type type;
	char *text;               /* N_TEXT: the bytes; else the tag's name */
	size_t len;               /* N_TEXT */
	char *parts;              /* a copy of the name, split at '.' */
	int npath;                /* 0: "." (the current item) */
	char *path[TPL_MAX_PATH]; /* pointers into `parts` */
	bool raw;                 /* {{&x}} {{{x}}} */
	int width;                /* {{x:N}}; 0: none */
	bool right;               /* {{x:>N}} */
	struct node *child;       /* sections: first child */
	struct node *next;
};

struct sr_template {
	char name[256];
	struct node *root;
};

/* ---- errors ------------------------------------------------------------------ */

void template_error_format(const struct sr_tpl_error *e, char *buf, size_t n)
{
	if (e->line > 0)
		snprintf(buf, n, "%s:%d:%d: %s", e->file, e->line, e->column > 0 ? e->column : 1,
		         e->msg);
	else
		snprintf(buf, n, "%s: %s", e->file, e->msg);
}

/* ---- the parser ---------------------------------------------------------------- */

/* What a section pushes for the names inside it. */
struct scope {
	const struct sr_tpl_var *fields; /* names visible here (NULL: none) */
	bool dot_ok;                     /* {{.}} means something here */
	bool pushes;                     /* a new context at render time */
};

struct open_section {
	struct node *node;
	size_t at;          /* offset of its "{{" */
	struct node **tail; /* where the parent's next node goes */
};

struct parser {
	const char *s;
	size_t len;
	const char *name;
	struct sr_tpl_error *err;
	bool failed;
	int depth;
	struct open_section open[TPL_MAX_DEPTH];
	struct scope scopes[TPL_MAX_DEPTH + 1];
	int nscopes;
	struct node **tail; /* where the next node is linked */
};

/* Line and column (in characters) of a byte offset. */
static void pos_of(const struct parser *p, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && i < p->len; i++) {
		unsigned char b = (unsigned char)p->s[i];
		if (b == '\n') {
			l++;
			c = 1;
		} else if ((b & 0xC0) != 0x80) {
			c++; /* count lead bytes only: one per character */
		}
	}
	*line = l;
	*col = c;
}

static void fail(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, size_t off, const char *fmt, ...)
{
	if (p->failed)
		return; /* the first error is the one that matters */
	p->failed = true;
	char raw[SR_TEXT_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* Names in messages come from the template: keep them printable. */
	sr_sanitize(p->err->msg, raw, sizeof p->err->msg);
	sr_sanitize(p->err->file, p->name, sizeof p->err->file);
	pos_of(p, off, &p->err->line, &p->err->column);
}

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		node_free(n->child);
		free(n->text);
		free(n->parts);
		free(n);
		n = next;
	}
}

static struct node *node_new(struct parser *p, enum node_type t, size_t at)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n) {
		fail(p, at, "out of memory");
		return NULL;
	}
	n->type = t;
	*p->tail = n;
	p->tail = &n->next;
	return n;
}

static void add_text(struct parser *p, size_t from, size_t to)
{
	if (to <= from || p->failed)
		return;
	struct node *n = node_new(p, N_TEXT, from);
	if (!n)
		return;
	n->text = malloc(to - from + 1);
	if (!n->text) {
		fail(p, from, "out of memory");
		return;
	}
	memcpy(n->text, p->s + from, to - from);
	n->text[to - from] = '\0';
	n->len = to - from;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static const char *kind_word(enum sr_tpl_kind k)
{
	switch (k) {
	case SR_TPL_SCALAR: return "a value";
	case SR_TPL_FLAG: return "a flag";
	case SR_TPL_OBJECT: return "an object";
	case SR_TPL_LIST: return "a list";
	}
	return "?";
}

static const struct sr_tpl_var *find_in(const struct sr_tpl_var *fields, const char *name)
{
	for (const struct sr_tpl_var *v = fields; v && v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* "a, b, c" of the names visible from the innermost scope out, for the
 * unknown-variable message. */
static void known_names(const struct parser *p, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int s = p->nscopes - 1; s >= 0 && o < n; s--) {
		for (const struct sr_tpl_var *v = p->scopes[s].fields; v && v->name && o < n; v++) {
			int w = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", v->name);
			if (w < 0)
				return;
			o += (size_t)w;
		}
	}
	if (o >= n && n > 4)
		memcpy(buf + n - 4, "...", 4);
}

/* Resolve a node's path against the scopes; NULL (with an error) if any
 * part is unknown. For "." returns NULL without error when allowed; *dot
 * tells which. */
static const struct sr_tpl_var *resolve(struct parser *p, const struct node *n, size_t at,
                                        bool *dot)
{
	*dot = false;
	if (n->npath == 0) {
		for (int s = p->nscopes - 1; s >= 0; s--) {
			if (p->scopes[s].dot_ok) {
				*dot = true;
				return NULL;
			}
			if (p->scopes[s].pushes)
				break; /* the current item is an object: {{.}} is not text */
		}
		fail(p, at, "{{.}} is only meaningful inside a list of values");
		return NULL;
	}
	const struct sr_tpl_var *v = NULL;
	for (int s = p->nscopes - 1; s >= 0 && !v; s--)
		v = find_in(p->scopes[s].fields, n->path[0]);
	if (!v) {
		char known[160];
		known_names(p, known, sizeof known);
		fail(p, at, "unknown variable '%s' (known here: %s)", n->path[0],
		     known[0] ? known : "none");
		return NULL;
	}
	for (int i = 1; i < n->npath; i++) {
		if (v->kind != SR_TPL_OBJECT) {
			fail(p, at, "'%s' is %s, it has no field '%s'", n->path[i - 1],
			     kind_word(v->kind), n->path[i]);
			return NULL;
		}
		const struct sr_tpl_var *f = find_in(v->fields, n->path[i]);
		if (!f) {
			fail(p, at, "unknown variable '%s': '%s' has no field '%s'", n->text,
			     n->path[i - 1], n->path[i]);
			return NULL;
		}
		v = f;
	}
	return v;
}

/* Split the tag's name into its path; checks the characters. */
static bool parse_name(struct parser *p, struct node *n, const char *name, size_t len, size_t at)
{
	if (len == 0) {
		fail(p, at, "empty tag: a name is needed between {{ and }}");
		return false;
	}
	n->text = malloc(len + 1);
	n->parts = malloc(len + 1);
	if (!n->text || !n->parts) {
		fail(p, at, "out of memory");
		return false;
	}
	memcpy(n->text, name, len);
	n->text[len] = '\0';
	memcpy(n->parts, name, len + 1);
	n->parts[len] = '\0';
	if (len == 1 && name[0] == '.') {
		n->npath = 0;
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		if (!name_char(name[i])) {
			char shown[8];
			unsigned char c = (unsigned char)name[i];
			if (c >= 0x20 && c < 0x7F)
				snprintf(shown, sizeof shown, "'%c'", c);
			else
				snprintf(shown, sizeof shown, "0x%02X", c);
			fail(p, at, "invalid character %s in the name '%.40s'", shown, n->text);
			return false;
		}
	}
	char *part = n->parts;
	for (char *c = n->parts;; c++) {
		if (*c == '.' || *c == '\0') {
			bool end = *c == '\0';
			if (c == part || n->npath >= TPL_MAX_PATH) {
				fail(p, at, "bad name '%.*s': %s", (int)len, name,
				     c == part ? "an empty part between dots"
				               : "too many dotted parts");
				return false;
			}
			*c = '\0';
			n->path[n->npath++] = part;
			part = c + 1;
			if (end)
				break;
		}
	}
	return true;
}

/* {{name:N}} / {{name:>N}}: cut the width off the name. */
static bool parse_width(struct parser *p, struct node *n, const char **name, size_t *len, size_t at)
{
	const char *colon = memchr(*name, ':', *len);
	if (!colon)
		return true;
	const char *w = colon + 1, *end = *name + *len;
	if (w < end && *w == '>') {
		n->right = true;
		w++;
	}
	long v = 0;
	if (w == end) {
		fail(p, at, "a width is needed after ':' (e.g. {{name:24}})");
		return false;
	}
	for (; w < end; w++) {
		if (*w < '0' || *w > '9' || v > TPL_MAX_WIDTH) {
			fail(p, at, "bad width in '%.*s': a number of columns, 1..%d", (int)*len,
			     *name, TPL_MAX_WIDTH);
			return false;
		}
		v = v * 10 + (*w - '0');
	}
	if (v < 1 || v > TPL_MAX_WIDTH) {
		fail(p, at, "bad width %ld: 1..%d columns", v, TPL_MAX_WIDTH);
		return false;
	}
	n->width = (int)v;
	*len = (size_t)(colon - *name);
	return true;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static void open_section(struct parser *p, enum node_type t, const char *name, size_t len,
                         size_t at)
{
	if (p->depth >= TPL_MAX_DEPTH) {
		fail(p, at, "sections nested deeper than %d", TPL_MAX_DEPTH);
		return;
	}
	struct node *n = node_new(p, t, at);
	if (!n || !parse_name(p, n, name, len, at))
		return;
	bool dot;
	const struct sr_tpl_var *v = resolve(p, n, at, &dot);
	if (p->failed)
		return;
	struct scope sc = {.fields = NULL, .dot_ok = false, .pushes = false};
	if (t == N_SECTION) {
		if (dot) {
			sc.dot_ok = true; /* {{#.}}: the current value again */
		} else if (v->kind == SR_TPL_OBJECT || (v->kind == SR_TPL_LIST && v->fields)) {
			sc.fields = v->fields;
			sc.pushes = true;
		} else if (v->kind == SR_TPL_LIST || v->kind == SR_TPL_SCALAR) {
			sc.dot_ok = true; /* a list of values, or a non-empty string */
			sc.pushes = true;
		}
	}
	p->open[p->depth] = (struct open_section){.node = n, .at = at, .tail = p->tail};
	p->depth++;
	p->scopes[p->nscopes++] = sc;
	p->tail = &n->child;
}

static void close_section(struct parser *p, const char *name, size_t len, size_t at)
{
	if (p->depth == 0) {
		fail(p, at, "stray closing tag {{/%.*s}}: no section is open", (int)len, name);
		return;
	}
	struct open_section *o = &p->open[p->depth - 1];
	if (strlen(o->node->text) != len || memcmp(o->node->text, name, len) != 0) {
		int l, c;
		pos_of(p, o->at, &l, &c);
		fail(p, at, "{{/%.*s}} does not close the open section '%s' (opened at %d:%d)",
		     (int)len, name, o->node->text, l, c);
		return;
	}
	p->tail = o->tail;
	p->depth--;
	p->nscopes--;
}

static void add_var(struct parser *p, const char *name, size_t len, bool raw, size_t at)
{
	struct node *n = node_new(p, N_VAR, at);
	if (!n)
		return;
	n->raw = raw;
	if (!parse_width(p, n, &name, &len, at))
		return;
	trim(&name, &len);
	if (!parse_name(p, n, name, len, at))
		return;
	bool dot;
	const struct sr_tpl_var *v = resolve(p, n, at, &dot);
	if (p->failed || dot)
		return;
	if (v->kind == SR_TPL_LIST)
		fail(p, at, "'%s' is a list: use {{#%s}}...{{/%s}}", n->text, n->text, n->text);
	else if (v->kind == SR_TPL_OBJECT)
		fail(p, at, "'%s' is an object: use {{%s.field}} or {{#%s}}...{{/%s}}", n->text,
		     n->text, n->text, n->text);
	else if (v->kind == SR_TPL_FLAG)
		fail(p, at, "'%s' is a flag: use {{#%s}}...{{/%s}} or {{^%s}}...{{/%s}}", n->text,
		     n->text, n->text, n->text, n->text);
}

/* Is [ls, at) blank and is the rest of the line after `end` blank? Then
 * the tag stands alone: *cut is where the text before it ends and *resume
 * where parsing goes on (after the newline). */
static bool standalone(const struct parser *p, size_t at, size_t end, size_t *cut, size_t *resume)
{
	size_t ls = at;
	while (ls > 0 && p->s[ls - 1] != '\n') {
		if (p->s[ls - 1] != ' ' && p->s[ls - 1] != '\t')
			return false;
		ls--;
	}
	size_t e = end;
	while (e < p->len && (p->s[e] == ' ' || p->s[e] == '\t'))
		e++;
	if (e < p->len && p->s[e] == '\r' && e + 1 < p->len && p->s[e + 1] == '\n')
		e++;
	if (e < p->len && p->s[e] != '\n')
		return false;
	*cut = ls;
	*resume = e < p->len ? e + 1 : e;
	return true;
}

/* Find "}}" (or "}}}") from `from`; the offset of the first '}' or len.
 * Only a comment may span lines: an unterminated "{{" is then reported on
 * its own line rather than wherever the next "}}" happens to be. */
static size_t find_close(const struct parser *p, size_t from, const char *close, size_t clen,
                         bool multiline)
{
	for (size_t i = from; i + clen <= p->len; i++) {
		if (p->s[i] == '\n' && !multiline)
			return p->len;
		if (memcmp(p->s + i, close, clen) == 0)
			return i;
	}
	return p->len;
}

static void parse(struct parser *p)
{
	size_t i = 0, text_from = 0;
	while (i < p->len && !p->failed) {
		if (!(p->s[i] == '{' && i + 1 < p->len && p->s[i + 1] == '{')) {
			i++;
			continue;
		}
		size_t at = i;
		bool triple = i + 2 < p->len && p->s[i + 2] == '{';
		size_t body = at + (triple ? 3 : 2);
		const char *close = triple ? "}}}" : "}}";
		size_t clen = triple ? 3 : 2;
		size_t b = body;
		while (b < p->len && (p->s[b] == ' ' || p->s[b] == '\t'))
			b++;
		bool comment = !triple && b < p->len && p->s[b] == '!';
		size_t ce = find_close(p, body, close, clen, comment);
		if (ce >= p->len) {
			fail(p, at, "unterminated %s: '%s' without '%s'%s",
			     comment ? "comment" : "tag", triple ? "{{{" : "{{", close,
			     comment ? "" : " on the same line");
			return;
		}
		size_t end = ce + clen;
		const char *name = p->s + body;
		size_t len = ce - body;
		trim(&name, &len);
		char sigil = triple ? '&' : (len > 0 ? name[0] : '\0');
		bool block = sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!';
		if (!triple && (block || sigil == '&')) {
			name++;
			len--;
			trim(&name, &len);
		}
		size_t cut = at, resume = end;
		if (!(block && standalone(p, at, end, &cut, &resume))) {
			cut = at;
			resume = end;
		}
		add_text(p, text_from, cut);
		switch (triple ? '&' : sigil) {
		case '!': break;
		case '#': open_section(p, N_SECTION, name, len, at); break;
		case '^': open_section(p, N_INVERTED, name, len, at); break;
		case '/': close_section(p, name, len, at); break;
		case '&': add_var(p, name, len, true, at); break;
		default: add_var(p, name, len, false, at); break;
		}
		i = text_from = resume;
	}
	if (p->failed)
		return;
	add_text(p, text_from, p->len);
	if (p->depth > 0) {
		struct open_section *o = &p->open[p->depth - 1];
		fail(p, o->at,
		     "section '%s' is never closed (no {{/%s}} before the end of the file)",
		     o->node->text, o->node->text);
	}
}

struct sr_template *template_load_buffer(const char *buf, size_t len, const char *name,
                                         const struct sr_tpl_var *schema, struct sr_tpl_error *err)
{
	struct sr_tpl_error dummy;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof *err);
	struct sr_template *t = calloc(1, sizeof *t);
	if (!t) {
		sr_strlcpy(err->file, name ? name : "template", sizeof err->file);
		sr_strlcpy(err->msg, "out of memory", sizeof err->msg);
		return NULL;
	}
	sr_sanitize(t->name, name ? name : "template", sizeof t->name);
	struct parser p = {.s = buf, .len = buf ? len : 0, .name = t->name, .err = err};
	p.scopes[0] = (struct scope){.fields = schema, .dot_ok = false, .pushes = true};
	p.nscopes = 1;
	p.tail = &t->root;
	const char *nul = p.len ? memchr(p.s, '\0', p.len) : NULL;
	if (nul)
		fail(&p, (size_t)(nul - p.s), "a NUL byte: a template is a text file");
	else
		parse(&p);
	if (p.failed) {
		template_free(t);
		return NULL;
	}
	return t;
}

struct sr_template *template_load_file(const char *path, const struct sr_tpl_var *schema,
                                       struct sr_tpl_error *err)
{
	struct sr_tpl_error dummy;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof *err);
	sr_sanitize(err->file, path, sizeof err->file);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *buf = malloc(TPL_MAX_FILE + 1);
	size_t len = buf ? fread(buf, 1, TPL_MAX_FILE + 1, f) : 0;
	bool bad = !buf || ferror(f);
	fclose(f);
	if (bad || len > TPL_MAX_FILE) {
		snprintf(err->msg, sizeof err->msg, "%s",
		         !buf  ? "out of memory"
		         : bad ? "read error"
		               : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	struct sr_template *t = template_load_buffer(buf, len, path, schema, err);
	free(buf);
	return t;
}

void template_free(struct sr_template *t)
{
	if (!t)
		return;
	node_free(t->root);
	free(t);
}

const char *template_name(const struct sr_template *t)
{
	return t ? t->name : "";
}

/* ---- escaping ---------------------------------------------------------------------- */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

/* Could "<" followed by c open markup (a tag, a comment, an autolink)? */
static bool lt_opens(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' ||
	       c == '?' || c == '\0' || c >= 0x80;
}

size_t template_escape_md(char *dst, size_t n, const char *src)
{
	size_t slen = strlen(src);
	char *clean = malloc(slen + 1);
	if (!clean) {
		if (n > 0)
			dst[0] = '\0';
		return 0;
	}
	sr_sanitize(clean, src, slen + 1);
	size_t o = 0;
#define PUT(str)                                                                                   \
	do {                                                                                       \
		const char *s_ = (str);                                                            \
		for (; *s_; s_++, o++)                                                             \
			if (o + 1 < n)                                                             \
				dst[o] = *s_;                                                      \
	} while (0)
	const unsigned char *s = (const unsigned char *)clean;
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = s[i];
		char one[3] = {(char)c, '\0', '\0'};
		switch (c) {
		case '\\':
		case '`':
		case '*':
		case '[':
		case ']':
		case '|':
		case '~':
		case '#':
			one[0] = '\\';
			one[1] = (char)c;
			PUT(one);
			break;
		case '_':
			if (i > 0 && is_alnum(s[i - 1]) && is_alnum(s[i + 1]))
				PUT("_");
			else
				PUT("\\_");
			break;
		case '<': PUT(lt_opens(s[i + 1]) ? "&lt;" : "<"); break;
		case '&': PUT(is_alnum(s[i + 1]) || s[i + 1] == '#' ? "&amp;" : "&"); break;
		default: PUT(one); break;
		}
	}
#undef PUT
	if (n > 0)
		dst[o < n ? o : n - 1] = '\0';
	free(clean);
	return o;
}

/* ---- rendering ----------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void out_put(struct out *o, const char *s, size_t len)
{
	if (o->failed)
		return;
	if (o->len + len + 1 > SR_TPL_MAX_OUTPUT) {
		o->failed = true;
		return;
	}
	if (o->len + len + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + len + 1)
			cap *= 2;
		char *np = realloc(o->p, cap);
		if (!np) {
			o->failed = true;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, len);
	o->len += len;
	o->p[o->len] = '\0';
}

struct render {
	struct out out;
	const json_t *stack[TPL_MAX_DEPTH + 2];
	int depth;
};

static const json_t *lookup(const struct render *r, const struct node *n)
{
	if (n->npath == 0)
		return r->stack[r->depth - 1];
	const json_t *v = NULL;
	for (int i = r->depth - 1; i >= 0 && !v; i--)
		if (json_is_object(r->stack[i]))
			v = json_object_get(r->stack[i], n->path[0]);
	for (int i = 1; i < n->npath && v; i++)
		v = json_is_object(v) ? json_object_get(v, n->path[i]) : NULL;
	return v;
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return true;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return true;
	case JSON_FALSE:
	case JSON_NULL: return false;
	}
	return false;
}

/* The text of a scalar value (NULL for none). */
static const char *scalar_text(const json_t *v, char *buf, size_t n)
{
	if (!v)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_value(v);
	case JSON_INTEGER: snprintf(buf, n, "%lld", (long long)json_integer_value(v)); return buf;
	case JSON_REAL: snprintf(buf, n, "%g", json_real_value(v)); return buf;
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	default: return NULL;
	}
}

static size_t columns(const char *s, size_t len)
{
	size_t c = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static void pad(struct out *o, size_t k)
{
	static const char spaces[] = "                                ";
	while (k > 0) {
		size_t m = k < sizeof spaces - 1 ? k : sizeof spaces - 1;
		out_put(o, spaces, m);
		k -= m;
	}
}

static void render_var(struct render *r, const struct node *n)
{
	char num[64];
	const char *s = scalar_text(lookup(r, n), num, sizeof num);
	if (!s)
		s = "";
	char *esc = NULL;
	size_t len;
	if (n->raw) {
		len = strlen(s);
	} else {
		len = template_escape_md(NULL, 0, s);
		esc = malloc(len + 1);
		if (!esc) {
			r->out.failed = true;
			return;
		}
		template_escape_md(esc, len + 1, s);
		s = esc;
	}
	size_t cols = columns(s, len);
	size_t fill = n->width > 0 && cols < (size_t)n->width ? (size_t)n->width - cols : 0;
	if (n->right)
		pad(&r->out, fill);
	out_put(&r->out, s, len);
	if (!n->right)
		pad(&r->out, fill);
	free(esc);
}

static void render_nodes(struct render *r, const struct node *n);

static void render_with(struct render *r, const struct node *n, const json_t *ctx)
{
	if (r->depth >= (int)(sizeof r->stack / sizeof r->stack[0])) {
		r->out.failed = true;
		return;
	}
	r->stack[r->depth++] = ctx;
	render_nodes(r, n->child);
	r->depth--;
}

static void render_section(struct render *r, const struct node *n)
{
	const json_t *v = lookup(r, n);
	if (n->type == N_INVERTED) {
		if (!truthy(v))
			render_nodes(r, n->child);
		return;
	}
	if (!truthy(v))
		return;
	if (json_is_array(v)) {
		size_t i;
		const json_t *item;
		json_array_foreach(v, i, item)
		{
			render_with(r, n, item);
			if (r->out.failed)
				return;
		}
		return;
	}
	if (json_is_true(v)) {
		render_nodes(r, n->child); /* a flag: no new context */
		return;
	}
	render_with(r, n, v);
}

static void render_nodes(struct render *r, const struct node *n)
{
	for (; n && !r->out.failed; n = n->next) {
		switch (n->type) {
		case N_TEXT: out_put(&r->out, n->text, n->len); break;
		case N_VAR: render_var(r, n); break;
		case N_SECTION:
		case N_INVERTED: render_section(r, n); break;
		}
	}
}

char *template_render(const struct sr_template *t, const json_t *data, size_t *len)
{
	struct render r = {.depth = 0};
	if (len)
		*len = 0;
	if (!t)
		return NULL;
	r.stack[r.depth++] = data;
	out_put(&r.out, "", 0);
	render_nodes(&r, t->root);
	if (r.out.failed) {
		free(r.out.p);
		return NULL;
	}
	if (len)
		*len = r.out.len;
	return r.out.p;
}

/* ---- placeholders (template.h) -------------------------------------------------- */

void tbuf_put(struct sr_tbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 128;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void tbuf_putc(struct sr_tbuf *b, char c)
{
	tbuf_put(b, &c, 1);
}

/* The placeholder whose "{{" is at p: its trimmed name and its end. */
static bool placeholder_at(const char *p, const char **name, size_t *len, const char **end)
{
	const char *close = strstr(p + 2, "}}");
	if (!close)
		return false;
	const char *s = p + 2, *e = close;
	while (s < e && *s == ' ')
		s++;
	while (e > s && e[-1] == ' ')
		e--;
	*name = s;
	*len = (size_t)(e - s);
	*end = close + 2;
	return true;
}

char *tmpl_expand(const char *text, tmpl_value_fn fn, void *ud, char *err, size_t n)
{
	struct sr_tbuf b = {0};
	tbuf_put(&b, "", 0);
	for (const char *t = text; *t;) {
		const char *open = strstr(t, "{{");
		if (!open) {
			tbuf_put(&b, t, strlen(t));
			break;
		}
		tbuf_put(&b, t, (size_t)(open - t));
		const char *name, *end;
		size_t len;
		if (!placeholder_at(open, &name, &len, &end)) {
			snprintf(err, n, "bad placeholder at byte %zu: no }} closes it",
			         (size_t)(open - text) + 1);
			free(b.p);
			return NULL;
		}
		if (fn(ud, name, len, (size_t)(open - text), &b, err, n) != 0) {
			free(b.p);
			return NULL;
		}
		t = end;
	}
	if (b.oom) {
		snprintf(err, n, "out of memory");
		free(b.p);
		return NULL;
	}
	return b.p;
}

bool tmpl_only_placeholder(const char *text, char *name, size_t n)
{
	const char *nm, *end;
	size_t len;
	if (text[0] != '{' || text[1] != '{' || !placeholder_at(text, &nm, &len, &end) || *end ||
	    len == 0 || len >= n)
		return false;
	memcpy(name, nm, len);
	name[len] = '\0';
	return true;
}
