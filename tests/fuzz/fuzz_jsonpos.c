/* fuzz_jsonpos.c - libFuzzer target for jsonpos_find.
 *
 * Input: one flag byte (bit 0: key_pos), a JSON pointer up to the first
 * '\n', then the JSON text. Besides "no crash, no over-read" (the text is
 * copied to an exact-size buffer, so ASan sees any read past len), it
 * checks jsonpos against jansson: whenever jansson parses the text and
 * resolves the pointer, jsonpos must find it too, at a byte that starts a
 * value of the same type, and must not find what jansson does not.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/jsonpos.h"

/* Decode one RFC 6901 token [s, e) into out; -1 on a bad escape. */
static int token_decode(const char *s, const char *e, char *out, size_t n)
{
	size_t o = 0;
	for (; s < e; s++) {
		char c = *s;
		if (c == '~') {
			if (s + 1 >= e || (s[1] != '0' && s[1] != '1'))
				return -1;
			c = s[1] == '0' ? '~' : '/';
			s++;
		}
		if (o + 1 >= n)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* jansson's answer: the value at pointer, or NULL. */
static json_t *resolve(json_t *v, const char *ptr)
{
	char tok[512];
	while (v && *ptr == '/') {
		const char *s = ptr + 1, *e = s;
		while (*e && *e != '/')
			e++;
		if (token_decode(s, e, tok, sizeof tok) < 0)
			return NULL;
		if (json_is_object(v)) {
			v = json_object_get(v, tok);
		} else if (json_is_array(v)) {
			size_t len = strlen(tok), idx = 0;
			if (len == 0 || len > 9 || (tok[0] == '0' && len > 1))
				return NULL;
			for (size_t i = 0; i < len; i++) {
				if (tok[i] < '0' || tok[i] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(tok[i] - '0');
			}
			v = json_array_get(v, idx);
		} else {
			return NULL;
		}
		ptr = e;
	}
	return *ptr ? NULL : v;
}

/* An upper bound of the nesting depth (brackets inside strings count
 * too): jsonpos stops at 512 levels by design, jansson goes deeper. */
static int depth_bound(const char *t, size_t n)
{
	int d = 0, max = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '[' || t[i] == '{')
			max = ++d > max ? d : max;
		else if ((t[i] == ']' || t[i] == '}') && d > 0)
			d--;
	}
	return max;
}

/* Byte offset of 1-based line:col, or -1 past the text. */
static long offset_of(const char *t, size_t n, int line, int col)
{
	size_t i = 0;
	for (int l = 1; l < line; l++) {
		while (i < n && t[i] != '\n')
			i++;
		if (i >= n)
			return -1;
		i++;
	}
	i += (size_t)col - 1;
	return i < n ? (long)i : -1;
}

static int starts_type(char c, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return c == '{';
	case JSON_ARRAY: return c == '[';
	case JSON_STRING: return c == '"';
	case JSON_TRUE: return c == 't';
	case JSON_FALSE: return c == 'f';
	case JSON_NULL: return c == 'n';
	default: return c == '-' || (c >= '0' && c <= '9');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int key_pos = data[0] & 1;
	const uint8_t *nl = memchr(data + 1, '\n', size - 1);
	size_t plen = nl ? (size_t)(nl - data - 1) : size - 1;
	if (plen > 400)
		return 0;
	char ptr[401];
	memcpy(ptr, data + 1, plen);
	ptr[plen] = '\0';
	size_t off = 1 + plen + (nl ? 1 : 0);
	size_t n = size - off;
	char *text = malloc(n ? n : 1); /* exact size: no terminator to lean on */
	if (!text)
		return 0;
	memcpy(text, data + off, n);

	int line = 0, col = 0;
	int r = jsonpos_find(text, n, ptr, key_pos, &line, &col);
	if (line < 1 || col < 1)
		abort();
	if (r == 0 && offset_of(text, n, line, col) < 0)
		abort(); /* a found position must be inside the text */

	/* jansson quietly drops a NUL right after a number ("[1\0, 2]" loads
	 * as [1, 2]); jsonpos rejects NULs. Compare only NUL-free texts. */
	if (strlen(ptr) == plen && depth_bound(text, n) < 500 && !memchr(text, 0, n)) {
		json_error_t je;
		json_t *root = json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (root) {
			json_t *v = resolve(root, ptr);
			if ((v != NULL) != (r == 0))
				abort(); /* jsonpos and jansson disagree on existence */
			if (v && !key_pos && !starts_type(text[offset_of(text, n, line, col)], v))
				abort(); /* the position is not where that value starts */
			json_decref(root);
		}
	}
	free(text);
	return 0;
}
