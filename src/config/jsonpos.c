/* jsonpos.c - find the line:column of a JSON pointer in a JSON text.
 *
 * jansson tells where a syntax error is but not where a value it parsed
 * fine stands, and every policy error must name file:line:column. This is
 * a small recursive-descent scanner that walks the text once, following
 * the pointer's tokens, and stops as soon as the target is reached.
 *
 * It must survive any bytes (it has a fuzz target): it never reads past
 * `len` (NULs included), recursion is bounded by JP_MAX_DEPTH, and it
 * allocates nothing: member names are compared with the pointer token
 * while both are decoded, byte by byte.
 */
#include "shiproom/jsonpos.h"

#include <stdbool.h>
#include <string.h>

/* Deeper than any sane config file, shallow enough that the C stack is
 * never at risk (each level is one small frame). */
#define JP_MAX_DEPTH 512

/* A token byte that never equals a decoded key byte (0..255). */
#define TOK_END (-1) /* end of the pointer token */
#define TOK_BAD (-2) /* an invalid "~" escape: matches nothing */

enum { JP_GO = 0, JP_FOUND = 1, JP_STOP = -1 };

struct jp {
	const char *s;
	size_t len, i;
	int line, col; /* of s[i] */
	int best_line, best_col;
	bool key_pos;
};

static int jp_peek(const struct jp *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static void jp_adv(struct jp *p)
{
	if (p->i >= p->len)
		return;
	if (p->s[p->i] == '\n') {
		if (p->line < 0x7fffffff)
			p->line++;
		p->col = 1;
	} else if (p->col < 0x7fffffff) {
		p->col++;
	}
	p->i++;
}

static void jp_ws(struct jp *p)
{
	for (;;) {
		int c = jp_peek(p);
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		jp_adv(p);
	}
}

static void jp_mark(struct jp *p, int line, int col)
{
	p->best_line = line;
	p->best_col = col;
}

/* ---- pointer tokens ---------------------------------------------------
 * A token runs from just after a '/' to the next '/' or the end. "~1" is
 * '/', "~0" is '~' (RFC 6901). *pc advances past what was consumed. */

static int tok_byte(const char **pc)
{
	const char *t = *pc;
	if (*t == '\0' || *t == '/')
		return TOK_END;
	if (*t == '~') {
		if (t[1] == '0' || t[1] == '1') {
			*pc = t + 2;
			return t[1] == '0' ? '~' : '/';
		}
		*pc = t + (t[1] ? 1 : 0) + 1;
		return TOK_BAD;
	}
	*pc = t + 1;
	return (unsigned char)*t;
}

/* The rest of the pointer after the current token ("" or "/..."). */
static const char *tok_skip(const char *pc)
{
	while (*pc && *pc != '/')
		pc++;
	return pc;
}

/* An array index token: "0" or [1-9][0-9]*, not too large. -1 if not. */
static long tok_index(const char *pc)
{
	const char *end = tok_skip(pc);
	if (end == pc || (*pc == '0' && end - pc > 1) || end - pc > 9)
		return -1;
	long v = 0;
	for (const char *t = pc; t < end; t++) {
		if (*t < '0' || *t > '9')
			return -1;
		v = v * 10 + (*t - '0');
	}
	return v;
}

/* ---- strings ----------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int jp_hex4(struct jp *p, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(jp_peek(p));
		if (h < 0)
			return -1;
		v = (v << 4) | (unsigned)h;
		jp_adv(p);
	}
	*out = v;
	return 0;
}

/* Compare decoded key bytes with the pointer token as they come. */
struct cmp {
	const char *pc; /* NULL: no comparison wanted */
	bool same;
};

static void cmp_bytes(struct cmp *m, const unsigned char *b, int n)
{
	for (int k = 0; k < n && m->pc && m->same; k++) {
		if (tok_byte(&m->pc) != b[k])
			m->same = false;
	}
}

static int utf8_put(unsigned cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (unsigned char)(0xF0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	b[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A \uXXXX escape (the "\u" already consumed), with its surrogate pair. */
static int jp_unicode(struct jp *p, struct cmp *m)
{
	unsigned cp, lo;
	unsigned char b[4];
	if (jp_hex4(p, &cp) < 0)
		return -1;
	if (cp >= 0xD800 && cp <= 0xDBFF && jp_peek(p) == '\\' && p->i + 1 < p->len &&
	    p->s[p->i + 1] == 'u') {
		size_t save_i = p->i;
		int save_line = p->line, save_col = p->col;
		jp_adv(p);
		jp_adv(p);
		if (jp_hex4(p, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else {
			/* Not a pair: decode the high half alone, rescan the rest. */
			p->i = save_i;
			p->line = save_line;
			p->col = save_col;
		}
	}
	cmp_bytes(m, b, utf8_put(cp, b));
	return 0;
}

/* A string at p->i (which is '"'); decoded bytes are fed to m. */
static int jp_string(struct jp *p, struct cmp *m)
{
	jp_adv(p); /* the opening quote */
	for (;;) {
		int c = jp_peek(p);
		if (c < 0 || c < 0x20)
			return -1; /* end of text, or a raw control character */
		jp_adv(p);
		if (c == '"')
			return 0;
		if (c != '\\') {
			unsigned char b = (unsigned char)c;
			cmp_bytes(m, &b, 1);
			continue;
		}
		int e = jp_peek(p);
		static const char from[] = "\"\\/bfnrt";
		static const char to[] = "\"\\/\b\f\n\r\t";
		const char *at = e > 0 ? strchr(from, e) : NULL;
		jp_adv(p);
		if (e == 'u') {
			if (jp_unicode(p, m) < 0)
				return -1;
		} else if (at) {
			unsigned char b = (unsigned char)to[at - from];
			cmp_bytes(m, &b, 1);
		} else {
			return -1;
		}
	}
}

/* ---- values ----------------------------------------------------------- */

static int jp_digits(struct jp *p)
{
	int n = 0;
	while (jp_peek(p) >= '0' && jp_peek(p) <= '9') {
		jp_adv(p);
		n++;
	}
	return n;
}

static int jp_number(struct jp *p)
{
	if (jp_peek(p) == '-')
		jp_adv(p);
	if (jp_peek(p) == '0')
		jp_adv(p);
	else if (jp_digits(p) == 0)
		return -1;
	if (jp_peek(p) == '.') {
		jp_adv(p);
		if (jp_digits(p) == 0)
			return -1;
	}
	if (jp_peek(p) == 'e' || jp_peek(p) == 'E') {
		jp_adv(p);
		if (jp_peek(p) == '+' || jp_peek(p) == '-')
			jp_adv(p);
		if (jp_digits(p) == 0)
			return -1;
	}
	return 0;
}

static int jp_literal(struct jp *p, const char *word)
{
	for (const char *w = word; *w; w++) {
		if (jp_peek(p) != (unsigned char)*w)
			return -1;
		jp_adv(p);
	}
	return 0;
}

static int jp_value(struct jp *p, const char *ptr, int depth);

/* An object; ptr is the rest of the pointer ("" when this object is not
 * on the path, or NULL when nothing below is wanted). */
static int jp_object(struct jp *p, const char *ptr, int depth)
{
	const char *tok = ptr && *ptr == '/' ? ptr + 1 : NULL;
	jp_adv(p); /* '{' */
	jp_ws(p);
	if (jp_peek(p) == '}') {
		jp_adv(p);
		return tok ? JP_STOP : JP_GO; /* the member is not there */
	}
	for (;;) {
		jp_ws(p);
		if (jp_peek(p) != '"')
			return JP_STOP;
		int kline = p->line, kcol = p->col;
		struct cmp m = {tok, tok != NULL};
		if (jp_string(p, &m) < 0)
			return JP_STOP;
		bool hit = m.same && tok_byte(&m.pc) == TOK_END;
		jp_ws(p);
		if (jp_peek(p) != ':')
			return JP_STOP;
		jp_adv(p);
		jp_ws(p);
		int r;
		if (hit) {
			const char *rest = tok_skip(tok);
			if (p->i >= p->len)
				return JP_STOP; /* the text ends before the value */
			if (*rest == '\0') {
				jp_mark(p, p->key_pos ? kline : p->line,
				        p->key_pos ? kcol : p->col);
				return JP_FOUND;
			}
			jp_mark(p, p->line, p->col);
			r = jp_value(p, rest, depth + 1);
			/* Below a matching member: found, or not anywhere. */
			return r == JP_FOUND ? JP_FOUND : JP_STOP;
		}
		r = jp_value(p, NULL, depth + 1);
		if (r != JP_GO)
			return r;
		jp_ws(p);
		int c = jp_peek(p);
		jp_adv(p);
		if (c == '}')
			return tok ? JP_STOP : JP_GO;
		if (c != ',')
			return JP_STOP;
	}
}

static int jp_array(struct jp *p, const char *ptr, int depth)
{
	long want = -1;
	if (ptr && *ptr == '/') {
		want = tok_index(ptr + 1);
		if (want < 0)
			return JP_STOP; /* "-" or not a number: never an element */
	}
	jp_adv(p); /* '[' */
	jp_ws(p);
	if (jp_peek(p) == ']') {
		jp_adv(p);
		return want >= 0 ? JP_STOP : JP_GO;
	}
	for (long idx = 0;; idx++) {
		jp_ws(p);
		int r;
		if (idx == want) {
			const char *rest = tok_skip(ptr + 1);
			if (p->i >= p->len)
				return JP_STOP;
			jp_mark(p, p->line, p->col);
			if (*rest == '\0')
				return JP_FOUND;
			r = jp_value(p, rest, depth + 1);
			return r == JP_FOUND ? JP_FOUND : JP_STOP;
		}
		r = jp_value(p, NULL, depth + 1);
		if (r != JP_GO)
			return r;
		jp_ws(p);
		int c = jp_peek(p);
		jp_adv(p);
		if (c == ']')
			return want >= 0 ? JP_STOP : JP_GO;
		if (c != ',')
			return JP_STOP;
	}
}

/* A value at p->i. ptr: NULL = skip it (validating), else the rest of
 * the pointer below this value (never "" here: callers stop earlier). */
static int jp_value(struct jp *p, const char *ptr, int depth)
{
	if (depth > JP_MAX_DEPTH)
		return JP_STOP;
	jp_ws(p);
	int c = jp_peek(p);
	switch (c) {
	case '{': return jp_object(p, ptr, depth);
	case '[': return jp_array(p, ptr, depth);
	case '"': {
		struct cmp m = {NULL, false};
		if (jp_string(p, &m) < 0)
			return JP_STOP;
		break;
	}
	case 't':
		if (jp_literal(p, "true") < 0)
			return JP_STOP;
		break;
	case 'f':
		if (jp_literal(p, "false") < 0)
			return JP_STOP;
		break;
	case 'n':
		if (jp_literal(p, "null") < 0)
			return JP_STOP;
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return JP_STOP;
		if (jp_number(p) < 0)
			return JP_STOP;
		break;
	}
	/* A scalar has no members: a pointer going below it finds nothing. */
	return ptr ? JP_STOP : JP_GO;
}

int jsonpos_find(const char *text, size_t len, const char *pointer, int key_pos, int *line,
                 int *col)
{
	struct jp p = {text, text ? len : 0, 0, 1, 1, 1, 1, key_pos != 0};
	int r = JP_STOP;

	if (pointer && (*pointer == '\0' || *pointer == '/')) {
		jp_ws(&p);
		jp_mark(&p, p.line, p.col);
		if (*pointer == '\0') {
			/* The whole document: valid only if a value starts here. */
			r = jp_peek(&p) >= 0 ? JP_FOUND : JP_STOP;
		} else {
			r = jp_value(&p, pointer, 0);
		}
	}
	if (line)
		*line = p.best_line;
	if (col)
		*col = p.best_col;
	return r == JP_FOUND ? 0 : -1;
}
