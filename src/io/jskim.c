/* jskim.c - validate a JSON object and list its top-level members.
 *
 * What jansson checks, byte for byte, without the tree (jskim.h says what
 * is left to the full parse). Written for the common case of the
 * journal's lines: long runs of plain ASCII inside strings go through a
 * tight loop; everything else is a small recursive descent, bounded by
 * JSKIM_MAX_DEPTH, that never reads past `len` (NULs included).
 */
#include "shiproom/jskim.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct skim {
	const unsigned char *s;
	size_t len, i;
};

static void skip_ws(struct skim *k)
{
	while (k->i < k->len) {
		unsigned char c = k->s[k->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		k->i++;
	}
}

static int hex4(struct skim *k, unsigned *out)
{
	if (k->len - k->i < 4)
		return -1;
	unsigned v = 0;
	for (int n = 0; n < 4; n++) {
		unsigned char c = k->s[k->i++];
		unsigned h = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
		             : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
		                                    : 16u;
		if (h > 15)
			return -1;
		v = v << 4 | h;
	}
	*out = v;
	return 0;
}

/* One escape after its backslash. \u0000 and unpaired surrogates are
 * refused, as jansson refuses them. */
static int escape(struct skim *k)
{
	if (k->i >= k->len)
		return -1;
	unsigned char c = k->s[k->i++];
	if (c && strchr("\"\\/bfnrt", c))
		return 0;
	unsigned cp, lo;
	if (c != 'u' || hex4(k, &cp) < 0 || cp == 0)
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return -1;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (k->len - k->i < 2 || k->s[k->i] != '\\' || k->s[k->i + 1] != 'u')
			return -1;
		k->i += 2;
		if (hex4(k, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
			return -1;
	}
	return 0;
}

/* One UTF-8 sequence of two to four bytes starting at s[i] (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF). */
static int utf8_seq(struct skim *k)
{
	const unsigned char *s = k->s + k->i;
	size_t left = k->len - k->i;
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else
		return -1;
	if (left < n || s[1] < lo || s[1] > hi)
		return -1;
	for (size_t j = 2; j < n; j++)
		if ((s[j] & 0xC0) != 0x80)
			return -1;
	k->i += n;
	return 0;
}

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. */
static const bool plain[256] = {
    [0x20 ... 0x21] = true,
    [0x23 ... 0x5B] = true,
    [0x5D ... 0x7F] = true,
};

/* Eight bytes, none of them a control character, a quote, a backslash or
 * past ASCII? (The usual zero-byte tricks on a 64-bit word; a false "no"
 * only sends the bytes to the byte-wise check.) */
static bool plain8(const unsigned char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	uint64_t bad = x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
	return (bad & high) == 0;
}

/* A string from just after its opening quote to just after its closing
 * one; *escaped says whether it held a backslash. */
static int string(struct skim *k, bool *escaped)
{
	*escaped = false;
	for (;;) {
		/* the common case, long runs of plain printable ASCII (an obs
		 * record's "b"): eight bytes a step, then one table look a byte
		 * up to what needs a closer look */
		while (k->len - k->i >= 8 && plain8(k->s + k->i))
			k->i += 8;
		while (k->i < k->len && plain[k->s[k->i]])
			k->i++;
		if (k->i >= k->len)
			return -1;
		unsigned char c = k->s[k->i];
		if (c == '"') {
			k->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			k->i++;
			*escaped = true;
			if (escape(k) < 0)
				return -1;
		} else if (utf8_seq(k) < 0) {
			return -1;
		}
	}
}

static bool digit(const struct skim *k)
{
	return k->i < k->len && k->s[k->i] >= '0' && k->s[k->i] <= '9';
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct skim *k, bool *integer)
{
	*integer = true;
	if (k->i < k->len && k->s[k->i] == '-')
		k->i++;
	if (!digit(k))
		return -1;
	if (k->s[k->i++] != '0')
		while (digit(k))
			k->i++;
	if (k->i < k->len && k->s[k->i] == '.') {
		*integer = false;
		k->i++;
		if (!digit(k))
			return -1;
		while (digit(k))
			k->i++;
	}
	if (k->i < k->len && (k->s[k->i] == 'e' || k->s[k->i] == 'E')) {
		*integer = false;
		k->i++;
		if (k->i < k->len && (k->s[k->i] == '+' || k->s[k->i] == '-'))
			k->i++;
		if (!digit(k))
			return -1;
		while (digit(k))
			k->i++;
	}
	return 0;
}

static int literal(struct skim *k, const char *word)
{
	size_t n = strlen(word);
	if (k->len - k->i < n || memcmp(k->s + k->i, word, n) != 0)
		return -1;
	k->i += n;
	return 0;
}

static int value(struct skim *k, int depth, struct jskim_member *m);

/* An object or an array from its opening bracket on. At the top level
 * (depth 0, members != NULL) an object's members are listed. */
static int container(struct skim *k, int depth, struct jskim_member *members, int max)
{
	if (depth >= JSKIM_MAX_DEPTH)
		return -1;
	bool object = k->s[k->i++] == '{';
	char close = object ? '}' : ']';
	int n = 0;
	skip_ws(k);
	if (k->i < k->len && k->s[k->i] == (unsigned char)close) {
		k->i++;
		return 0;
	}
	for (;;) {
		struct jskim_member one, *mem = members && n < max ? &members[n] : &one;
		if (members && n >= max)
			return -1;
		if (object) {
			bool esc;
			if (k->i >= k->len || k->s[k->i] != '"')
				return -1;
			size_t start = ++k->i;
			if (string(k, &esc) < 0)
				return -1;
			mem->key = (const char *)k->s + start;
			mem->key_len = k->i - 1 - start;
			if (members && esc)
				return -1; /* a name to unescape: jansson's job */
			skip_ws(k);
			if (k->i >= k->len || k->s[k->i] != ':')
				return -1;
			k->i++;
			skip_ws(k);
		}
		if (value(k, depth + 1, mem) < 0)
			return -1;
		if (members) {
			for (int j = 0; j < n; j++)
				if (members[j].key_len == mem->key_len &&
				    memcmp(members[j].key, mem->key, mem->key_len) == 0)
					return -1;
		}
		n++;
		skip_ws(k);
		if (k->i >= k->len)
			return -1;
		unsigned char c = k->s[k->i++];
		if (c == (unsigned char)close)
			return n;
		if (c != ',')
			return -1;
		skip_ws(k);
	}
}

static int value(struct skim *k, int depth, struct jskim_member *m)
{
	if (k->i >= k->len)
		return -1;
	size_t start = k->i;
	unsigned char c = k->s[k->i];
	m->escaped = false;
	m->integer = false;
	switch (c) {
	case '"':
		m->kind = JSKIM_STRING;
		k->i++;
		if (string(k, &m->escaped) < 0)
			return -1;
		m->val = (const char *)k->s + start + 1;
		m->val_len = k->i - start - 2;
		return 0;
	case '{':
	case '[':
		m->kind = c == '{' ? JSKIM_OBJECT : JSKIM_ARRAY;
		if (container(k, depth, NULL, 0) < 0)
			return -1;
		break;
	case 't':
		m->kind = JSKIM_TRUE;
		if (literal(k, "true") < 0)
			return -1;
		break;
	case 'f':
		m->kind = JSKIM_FALSE;
		if (literal(k, "false") < 0)
			return -1;
		break;
	case 'n':
		m->kind = JSKIM_NULL;
		if (literal(k, "null") < 0)
			return -1;
		break;
	default:
		m->kind = JSKIM_NUMBER;
		if (number(k, &m->integer) < 0)
			return -1;
		break;
	}
	m->val = (const char *)k->s + start;
	m->val_len = k->i - start;
	return 0;
}

int jskim_object(const char *s, size_t len, struct jskim_member *m, int max)
{
	struct skim k = {.s = (const unsigned char *)s, .len = len};
	skip_ws(&k);
	if (k.i >= k.len || k.s[k.i] != '{')
		return -1;
	int n = container(&k, 0, m, max);
	if (n < 0)
		return -1;
	skip_ws(&k);
	return k.i == k.len ? n : -1;
}

const struct jskim_member *jskim_find(const struct jskim_member *m, int n, const char *key)
{
	size_t kl = strlen(key);
	for (int i = 0; i < n; i++)
		if (m[i].key_len == kl && memcmp(m[i].key, key, kl) == 0)
			return &m[i];
	return NULL;
}

bool jskim_integer(const struct jskim_member *m, long long *out)
{
	if (!m || m->kind != JSKIM_NUMBER || !m->integer || m->val_len > 24)
		return false;
	char buf[32];
	memcpy(buf, m->val, m->val_len);
	buf[m->val_len] = '\0';
	errno = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	if (errno == ERANGE || *end)
		return false;
	*out = v;
	return true;
}
