/* jread.c - strict, position-aware reading of JSON config files.
 *
 * The policy, scenario and theme loaders all read JSON the same way: a
 * typed getter per member, unknown keys rejected, and every error carrying
 * file:line:column plus the JSON pointer of the offending member. Keeping
 * that here means one behaviour and one message style for every file a
 * user writes. See jread.h for the conventions.
 */
#include "shiproom/jread.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/common.h"
#include "shiproom/jsonpos.h"

/* ---- files and hashes ------------------------------------------------- */

static void err_clear(struct sr_policy_error *e, const char *file)
{
	memset(e, 0, sizeof *e);
	sr_sanitize(e->file, file ? file : "", sizeof e->file);
}

int jr_read_file(const char *path, char **buf, size_t *len, struct sr_policy_error *err)
{
	err_clear(err, path);
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
		return -1;
	}
	size_t cap = 16384, n = 0;
	char *b = malloc(cap + 1);
	while (b) {
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap) {
			if (ferror(f)) {
				snprintf(err->msg, sizeof err->msg, "cannot read: %s",
				         strerror(errno));
				free(b);
				b = NULL;
				break;
			}
			break; /* end of file */
		}
		if (cap > JR_MAX_FILE) {
			snprintf(err->msg, sizeof err->msg, "file is larger than %u bytes",
			         JR_MAX_FILE);
			free(b);
			b = NULL;
			break;
		}
		char *nb = realloc(b, cap * 2 + 1);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	fclose(f);
	if (b && n > JR_MAX_FILE) {
		snprintf(err->msg, sizeof err->msg, "file is larger than %u bytes", JR_MAX_FILE);
		free(b);
		b = NULL;
	}
	if (!b) {
		if (!err->msg[0])
			sr_strlcpy(err->msg, "out of memory", sizeof err->msg);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

uint64_t jr_fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- pointers ---------------------------------------------------------- */

void jr_ptr_join(char *out, size_t n, const char *base, const char *key)
{
	size_t o = 0;
	if (n == 0)
		return;
	for (const char *s = base; *s && o + 1 < n; s++)
		out[o++] = *s;
	if (o + 1 < n)
		out[o++] = '/';
	for (const char *s = key; *s && o + 1 < n; s++) {
		if (*s == '~' || *s == '/') {
			if (o + 2 >= n)
				break;
			out[o++] = '~';
			out[o++] = *s == '~' ? '0' : '1';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* ---- documents ---------------------------------------------------------- */

/* jansson counts columns in characters; everything else here counts
 * bytes, so turn its byte offset into line:column ourselves. The offset is
 * just past the last byte it read, i.e. the offending token's end. */
static void pos_of_offset(const char *text, size_t len, size_t off, int *line, int *col)
{
	size_t idx = off > 0 ? off - 1 : 0;
	size_t start = 0;
	int l = 1;
	if (idx > len)
		idx = len;
	for (size_t i = 0; i < idx; i++) {
		if (text[i] == '\n') {
			l++;
			start = i + 1;
		}
	}
	*line = l;
	*col = (int)(idx - start + 1);
}

int jr_open(struct jr_doc *d, const char *text, size_t len, const char *name,
            struct sr_policy_error *err)
{
	json_error_t je;
	memset(d, 0, sizeof *d);
	d->name = name ? name : "";
	d->text = text;
	d->len = len;
	d->err = err;
	err_clear(err, d->name);
	d->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!d->root) {
		d->failed = true;
		size_t off = je.position > 0 ? (size_t)je.position : 0;
		pos_of_offset(text, len, off, &err->line, &err->column);
		sr_sanitize(err->msg, je.text, sizeof err->msg);
		return -1;
	}
	if (!json_is_object(d->root)) {
		struct jr_val root;
		jr_root(d, &root);
		jr_fail(d, &root, NULL, JR_AT_VALUE, "expected a JSON object at the top level");
		jr_close(d);
		return -1;
	}
	return 0;
}

void jr_close(struct jr_doc *d)
{
	if (d->root)
		json_decref(d->root);
	d->root = NULL;
}

void jr_root(const struct jr_doc *d, struct jr_val *out)
{
	out->j = d->root;
	out->ptr[0] = '\0';
}

/* ---- errors -------------------------------------------------------------- */

int jr_fail(struct jr_doc *d, const struct jr_val *v, const char *key, enum jr_where where,
            const char *fmt, ...)
{
	if (d->failed)
		return -1; /* the first error is the one worth reading */
	d->failed = true;

	struct sr_policy_error *e = d->err;
	char ptr[JR_PTR_LEN];
	if (key)
		jr_ptr_join(ptr, sizeof ptr, v->ptr, key);
	else
		sr_strlcpy(ptr, v->ptr, sizeof ptr);

	int line = 1, col = 1;
	if (where == JR_AT_PARENT)
		jsonpos_find(d->text, d->len, v->ptr, 0, &line, &col);
	else
		jsonpos_find(d->text, d->len, ptr, where == JR_AT_KEY, &line, &col);

	sr_sanitize(e->file, d->name, sizeof e->file);
	e->line = line;
	e->column = col;
	sr_sanitize(e->key, ptr, sizeof e->key);

	char msg[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sr_sanitize(e->msg, msg, sizeof e->msg);
	return -1;
}

static const char *type_name(const json_t *j)
{
	if (!j)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static int fail_type(struct jr_doc *d, const struct jr_val *v, const char *want)
{
	return jr_fail(d, v, NULL, JR_AT_VALUE, "expected %s, got %s", want, type_name(v->j));
}

/* A short, quoted rendition of outside text for a message. */
static void quote_short(char *out, size_t n, const char *s)
{
	char tmp[48];
	bool cut = !sr_strlcpy(tmp, s, sizeof tmp);
	snprintf(out, n, "\"%s%s\"", tmp, cut ? "..." : "");
}

/* "a, b, c" into out, ending in "..." if it does not fit. */
static void list_names(char *out, size_t n, const char *const *names)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; names[i]; i++) {
		int w = snprintf(out + o, n - o, "%s%s", i ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= n - o) {
			if (n > 4)
				memcpy(out + n - 4, "...", 4);
			return;
		}
		o += (size_t)w;
	}
}

/* ---- objects -------------------------------------------------------------- */

int jr_check_keys(struct jr_doc *d, const struct jr_val *v, const char *const *allowed)
{
	const char *key;
	json_t *val;
	if (!json_is_object(v->j))
		return fail_type(d, v, "an object");
	json_object_foreach(v->j, key, val)
	{
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			char q[64], list[SR_TEXT_LEN]; /* the message is the limit, not the list */
			quote_short(q, sizeof q, key);
			list_names(list, sizeof list, allowed);
			return jr_fail(d, v, key, JR_AT_KEY, "unknown key %s (expected one of: %s)",
			               q, list);
		}
	}
	return 0;
}

bool jr_has(const struct jr_val *obj, const char *key)
{
	return json_is_object(obj->j) && json_object_get(obj->j, key) != NULL;
}

int jr_member(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              struct jr_val *out)
{
	if (!json_is_object(obj->j))
		return fail_type(d, obj, "an object");
	out->j = json_object_get(obj->j, key);
	jr_ptr_join(out->ptr, sizeof out->ptr, obj->ptr, key);
	if (out->j)
		return 0;
	if (need == JR_REQUIRED)
		return jr_fail(d, obj, key, JR_AT_PARENT, "missing required key \"%s\"", key);
	return 1;
}

/* ---- values ---------------------------------------------------------------- */

int jr_as_string(struct jr_doc *d, const struct jr_val *v, char *out, size_t n)
{
	if (!json_is_string(v->j))
		return fail_type(d, v, "a string");
	size_t len = json_string_length(v->j);
	if (n == 0 || len >= n)
		return jr_fail(d, v, NULL, JR_AT_VALUE, "too long (%zu bytes, at most %zu)", len,
		               n ? n - 1 : 0);
	sr_sanitize(out, json_string_value(v->j), n);
	return 0;
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

int jr_as_id(struct jr_doc *d, const struct jr_val *v, char *out, size_t n)
{
	if (!json_is_string(v->j))
		return fail_type(d, v, "a string");
	const char *s = json_string_value(v->j);
	size_t len = json_string_length(v->j);
	if (len == 0)
		return jr_fail(d, v, NULL, JR_AT_VALUE, "empty id");
	if (len >= n)
		return jr_fail(d, v, NULL, JR_AT_VALUE, "id too long (%zu bytes, at most %zu)", len,
		               n - 1);
	for (size_t i = 0; i < len; i++) {
		if (!id_char(s[i])) {
			char q[64];
			quote_short(q, sizeof q, s);
			return jr_fail(d, v, NULL, JR_AT_VALUE,
			               "invalid id %s: use only letters, digits and _ - . :", q);
		}
	}
	memcpy(out, s, len + 1);
	return 0;
}

int jr_as_enum(struct jr_doc *d, const struct jr_val *v, const char *what, const char *const *names,
               int *out)
{
	if (!json_is_string(v->j))
		return fail_type(d, v, "a string");
	const char *s = json_string_value(v->j);
	for (int i = 0; names[i]; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	char q[64], list[160];
	quote_short(q, sizeof q, s);
	list_names(list, sizeof list, names);
	return jr_fail(d, v, NULL, JR_AT_VALUE, "unknown %s %s (expected one of: %s)", what, q,
	               list);
}

static int fail_range_ll(struct jr_doc *d, const struct jr_val *v, long long lo, long long hi,
                         long long got)
{
	if (hi == LLONG_MAX)
		return jr_fail(d, v, NULL, JR_AT_VALUE, "must be at least %lld (got %lld)", lo,
		               got);
	if (lo == LLONG_MIN)
		return jr_fail(d, v, NULL, JR_AT_VALUE, "must be at most %lld (got %lld)", hi, got);
	return jr_fail(d, v, NULL, JR_AT_VALUE, "must be between %lld and %lld (got %lld)", lo, hi,
	               got);
}

int jr_as_llong(struct jr_doc *d, const struct jr_val *v, long long lo, long long hi,
                long long *out)
{
	if (!json_is_integer(v->j))
		return fail_type(d, v, "an integer");
	long long x = (long long)json_integer_value(v->j);
	if (x < lo || x > hi)
		return fail_range_ll(d, v, lo, hi, x);
	*out = x;
	return 0;
}

int jr_as_int(struct jr_doc *d, const struct jr_val *v, long long lo, long long hi, int *out)
{
	long long x = 0;
	if (lo < INT_MIN)
		lo = INT_MIN;
	if (hi > INT_MAX)
		hi = INT_MAX;
	if (jr_as_llong(d, v, lo, hi, &x) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

int jr_as_number(struct jr_doc *d, const struct jr_val *v, double lo, double hi, double *out)
{
	if (!json_is_number(v->j))
		return fail_type(d, v, "a number");
	double x = json_number_value(v->j);
	if (!isfinite(x))
		return jr_fail(d, v, NULL, JR_AT_VALUE, "must be a finite number");
	if (x < lo || x > hi) {
		if (isinf(hi))
			return jr_fail(d, v, NULL, JR_AT_VALUE, "must be at least %g (got %g)", lo,
			               x);
		if (isinf(lo))
			return jr_fail(d, v, NULL, JR_AT_VALUE, "must be at most %g (got %g)", hi,
			               x);
		return jr_fail(d, v, NULL, JR_AT_VALUE, "must be between %g and %g (got %g)", lo,
		               hi, x);
	}
	*out = x;
	return 0;
}

int jr_as_bool(struct jr_doc *d, const struct jr_val *v, bool *out)
{
	if (!json_is_boolean(v->j))
		return fail_type(d, v, "true or false");
	*out = json_is_true(v->j);
	return 0;
}

int jr_as_object(struct jr_doc *d, const struct jr_val *v)
{
	return json_is_object(v->j) ? 0 : fail_type(d, v, "an object");
}

/* ---- typed members ------------------------------------------------------- */

/* Fetch a member: 0 present, 1 absent and optional, -1 error. */
static int member(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
                  struct jr_val *m)
{
	return jr_member(d, obj, key, need, m);
}

int jr_string(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              char *out, size_t n)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_string(d, &m, out, n);
}

int jr_id(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need, char *out,
          size_t n)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_id(d, &m, out, n);
}

int jr_enum(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
            const char *const *names, int *out)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_enum(d, &m, key, names, out);
}

int jr_int(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
           long long lo, long long hi, int *out)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_int(d, &m, lo, hi, out);
}

int jr_llong(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
             long long lo, long long hi, long long *out)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_llong(d, &m, lo, hi, out);
}

int jr_number(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              double lo, double hi, double *out)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_number(d, &m, lo, hi, out);
}

int jr_bool(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
            bool *out)
{
	struct jr_val m;
	int r = member(d, obj, key, need, &m);
	return r ? r : jr_as_bool(d, &m, out);
}

int jr_array(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
             size_t max, struct jr_val *out)
{
	int r = member(d, obj, key, need, out);
	if (r)
		return r;
	if (!json_is_array(out->j))
		return fail_type(d, out, "an array");
	size_t n = json_array_size(out->j);
	if (n > max)
		return jr_fail(d, out, NULL, JR_AT_VALUE, "too many %s (%zu, at most %zu)", key, n,
		               max);
	return 0;
}

int jr_object(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              struct jr_val *out)
{
	int r = member(d, obj, key, need, out);
	if (r)
		return r;
	return jr_as_object(d, out);
}

/* ---- walking --------------------------------------------------------------- */

size_t jr_len(const struct jr_val *arr)
{
	return json_is_array(arr->j) ? json_array_size(arr->j) : 0;
}

void jr_elem(const struct jr_val *arr, size_t i, struct jr_val *out)
{
	char idx[24];
	snprintf(idx, sizeof idx, "%zu", i);
	out->j = json_array_get(arr->j, i);
	jr_ptr_join(out->ptr, sizeof out->ptr, arr->ptr, idx);
}

bool jr_next(const struct jr_val *obj, void **iter, const char **key, struct jr_val *out)
{
	if (!json_is_object(obj->j))
		return false;
	*iter = *iter ? json_object_iter_next(obj->j, *iter) : json_object_iter(obj->j);
	if (!*iter)
		return false;
	*key = json_object_iter_key(*iter);
	out->j = json_object_iter_value(*iter);
	jr_ptr_join(out->ptr, sizeof out->ptr, obj->ptr, *key);
	return true;
}
