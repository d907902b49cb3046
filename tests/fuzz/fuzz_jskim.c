/* fuzz_jskim.c - libFuzzer target for jskim_object, differential against jansson.
 *
 * Input: the text (copied to an exact-size buffer, so ASan sees any read
 * past len). Checks, besides "no crash, no over-read":
 * - what jskim accepts, jansson (JSON_REJECT_DUPLICATES, as the journal
 *   parses) accepts too, but for the three things jskim.h leaves to the
 *   full parse (a nested duplicate name, an integer past 64 bits, a
 *   number past a double's range); and then the members agree: the same
 *   names, kinds, integers and unescaped strings, byte for byte;
 * - what jansson accepts as an object, written back compactly (no escape
 *   in a name that does not need one), jskim accepts unless a name needs
 *   an escape, there are more than 32 members or it nests deeper than
 *   JSKIM_MAX_DEPTH: the quick path is not refused for nothing.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/jskim.h"

#define MEMBERS 32

static int depth_of(const json_t *v)
{
	int d = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			int e = depth_of(x);
			d = e > d ? e : d;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			int e = depth_of(x);
			d = e > d ? e : d;
		}
		return d + 1;
	}
	return 0;
}

static bool kind_matches(enum jskim_kind k, const json_t *v)
{
	switch (k) {
	case JSKIM_STRING: return json_is_string(v);
	case JSKIM_NUMBER: return json_is_number(v);
	case JSKIM_OBJECT: return json_is_object(v);
	case JSKIM_ARRAY: return json_is_array(v);
	case JSKIM_TRUE: return json_is_true(v);
	case JSKIM_FALSE: return json_is_false(v);
	case JSKIM_NULL: return json_is_null(v);
	}
	return false;
}

static void agree(const struct jskim_member *m, int n, const json_t *root)
{
	if (!json_is_object(root) || json_object_size(root) != (size_t)n)
		abort();
	for (int i = 0; i < n; i++) {
		const json_t *v = json_object_getn(root, m[i].key, m[i].key_len);
		if (!v || !kind_matches(m[i].kind, v))
			abort();
		if (m[i].kind == JSKIM_NUMBER && m[i].integer != json_is_integer(v))
			abort();
		long long iv;
		if (json_is_integer(v) &&
		    (!jskim_integer(&m[i], &iv) || iv != json_integer_value(v)))
			abort();
		if (m[i].kind == JSKIM_STRING && !m[i].escaped &&
		    (json_string_length(v) != m[i].val_len ||
		     memcmp(json_string_value(v), m[i].val, m[i].val_len) != 0))
			abort();
	}
}

static bool name_needs_escape(const json_t *root)
{
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)root, k, x)
	{
		for (const char *c = k; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' || *c == 0x7f)
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct jskim_member m[MEMBERS];
	int n = jskim_object(text, size, m, MEMBERS);
	json_error_t je;
	json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &je);
	if (n >= 0) {
		if (!root) {
			/* jansson adds " near '...'" to its texts */
			if (strncmp(je.text, "duplicate object key", 20) != 0 &&
			    strncmp(je.text, "too big integer", 15) != 0 &&
			    strncmp(je.text, "too big negative integer", 24) != 0 &&
			    strncmp(je.text, "real number overflow", 20) != 0)
				abort();
		} else {
			agree(m, n, root);
		}
	}
	if (root && json_is_object(root) && json_object_size(root) <= MEMBERS &&
	    depth_of(root) <= JSKIM_MAX_DEPTH && !name_needs_escape(root)) {
		char *out = json_dumps(root, JSON_COMPACT);
		if (out) {
			size_t len = strlen(out);
			char *exact = malloc(len ? len : 1);
			if (exact) {
				memcpy(exact, out, len);
				struct jskim_member m2[MEMBERS];
				int n2 = jskim_object(exact, len, m2, MEMBERS);
				if (n2 < 0)
					abort();
				agree(m2, n2, root);
				free(exact);
			}
			free(out);
		}
	}
	json_decref(root);
	free(text);
	return 0;
}
