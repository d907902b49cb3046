/* jread.h - strict reading of a JSON config file over jansson.
 *
 * The policy, scenario and theme loaders share this so that every config
 * file is read the same strict way and every error reads the same:
 *
 *     config/x.json:41:17: /kpis/3/unit: missing unit for KPI "p99_latency"
 *
 * i.e. file:line:column, the JSON pointer (RFC 6901) of the offending
 * member, and a message. Positions come from jsonpos_find(); syntax errors
 * from jansson (columns are bytes throughout).
 *
 * What "strict" means here:
 *   - duplicate keys are a syntax error (JSON_REJECT_DUPLICATES);
 *   - a key not in the object's allowed list is an error that lists the
 *     allowed ones (jr_check_keys), so a typo never silently falls back
 *     to a default;
 *   - wrong types, out-of-range numbers and over-long strings are errors,
 *     never clamped or truncated; numbers are finite;
 *   - strings are passed through sr_sanitize() before they are stored,
 *     and error messages are sanitised too (they end up on a terminal).
 *
 * Usage (a theme loader, say):
 *
 *     struct jr_doc d;
 *     struct jr_val root, colors, c;
 *     static const char *const top[] = {"name", "colors", NULL};
 *     if (jr_open(&d, buf, len, path, &err) < 0)
 *             return -1;                       // err holds the syntax error
 *     jr_root(&d, &root);
 *     if (jr_check_keys(&d, &root, top) < 0 ||
 *         jr_string(&d, &root, "name", JR_REQUIRED, t->name, sizeof t->name) < 0 ||
 *         jr_array(&d, &root, "colors", JR_REQUIRED, MAX_COLORS, &colors) < 0)
 *             goto out;
 *     for (size_t i = 0; i < jr_len(&colors); i++) {
 *             jr_elem(&colors, i, &c);             // pointer "/colors/<i>"
 *             ...jr_int(&d, &c, "fg", JR_OPTIONAL, -1, 255, &fg)...
 *     }
 *   out:
 *     jr_close(&d);                             // frees the tree
 *     return d.failed ? -1 : 0;
 *
 * Return convention of every getter: 0 when the member is present and
 * valid (*out written), 1 when it is absent and optional (*out left
 * untouched: set the default before the call), -1 on error (recorded in
 * the doc's error). The first error is kept; later ones are ignored, so a
 * run of getters can be checked once with d.failed.
 */
#ifndef SHIPROOM_JREAD_H
#define SHIPROOM_JREAD_H

#include <jansson.h>

#include "shiproom/policy.h" /* struct sr_policy_error */

/* Longest JSON pointer kept (the error's key field has the same size).
 * A longer one is cut; its position then falls back to the closest
 * enclosing value that could be found. */
#define JR_PTR_LEN (SR_QUERY_LEN / 4)

/* Largest config file read by jr_read_file (policies are ~30 KiB). */
#define JR_MAX_FILE (4u << 20)

struct jr_doc {
	json_t *root;     /* owned; freed by jr_close */
	const char *name; /* file name used in messages (borrowed) */
	const char *text; /* the parsed bytes, for positions (borrowed) */
	size_t len;
	struct sr_policy_error *err; /* where the first error goes */
	bool failed;
};

/* A value together with where it is. Cheap to copy; j is borrowed from
 * the doc and NULL for an absent member. */
struct jr_val {
	json_t *j;
	char ptr[JR_PTR_LEN]; /* "" = the document, "/kpis/3" ... */
};

enum jr_need { JR_OPTIONAL, JR_REQUIRED };

/* Which position an error points at. */
enum jr_where {
	JR_AT_VALUE, /* the member's value (bad type, bad value) */
	JR_AT_KEY,   /* the member's name (unknown key) */
	JR_AT_PARENT /* the enclosing object (missing key) */
};

/* Read a whole file into a NUL-terminated heap buffer (free() it).
 * Refuses files larger than JR_MAX_FILE. -1 with err filled
 * (file set, line 0) when it cannot be read. */
int jr_read_file(const char *path, char **buf, size_t *len, struct sr_policy_error *err);

/* FNV-1a 64 of bytes: the policy hash the journal records. */
uint64_t jr_fnv1a(const void *buf, size_t len);

/* Parse text (which must stay alive until jr_close) as a JSON object.
 * On a syntax error returns -1 with err holding jansson's message and
 * position; the doc is then already closed. err is cleared first. */
int jr_open(struct jr_doc *d, const char *text, size_t len, const char *name,
            struct sr_policy_error *err);
void jr_close(struct jr_doc *d);
void jr_root(const struct jr_doc *d, struct jr_val *out);

/* Record an error about `v` (key NULL) or about its member `key`, at the
 * chosen position. printf-style message. Returns -1 always, so that
 * `return jr_fail(...)` reads naturally. Only the first error is kept. */
int jr_fail(struct jr_doc *d, const struct jr_val *v, const char *key, enum jr_where where,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Every key of object v must be in `allowed` (NULL-terminated); the first
 * other key is an error pointing at it:
 *   /kpis/2/limits: unknown key "limits" (expected one of: id, name, ...) */
int jr_check_keys(struct jr_doc *d, const struct jr_val *v, const char *const *allowed);

/* Is the member present (any type, null included)? */
bool jr_has(const struct jr_val *obj, const char *key);

/* The member `key` of object obj, with its pointer (out->j NULL when
 * absent). JR_REQUIRED and absent is a "missing" error at obj. */
int jr_member(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              struct jr_val *out);

/* ---- typed members: see the return convention above ------------------ */

/* A string of at most n-1 bytes (longer is an error, not a cut), stored
 * sanitised. "" is accepted; check it yourself where it is not. */
int jr_string(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              char *out, size_t n);
/* An identifier: 1..n-1 bytes of [A-Za-z0-9_.:-]. Ids end up in PromQL
 * templates, journal lines and file names, so nothing else is allowed. */
int jr_id(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need, char *out,
          size_t n);
/* One of `names` (NULL-terminated); *out is its index. The error lists
 * the accepted names. */
int jr_enum(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
            const char *const *names, int *out);
/* A JSON integer (1.0 is not one) in [lo, hi]. */
int jr_int(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
           long long lo, long long hi, int *out);
int jr_llong(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
             long long lo, long long hi, long long *out);
/* Any finite JSON number in [lo, hi]. */
int jr_number(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              double lo, double hi, double *out);
int jr_bool(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
            bool *out);
/* An array of at most max elements (more is an error naming the limit). */
int jr_array(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
             size_t max, struct jr_val *out);
int jr_object(struct jr_doc *d, const struct jr_val *obj, const char *key, enum jr_need need,
              struct jr_val *out);

/* ---- the same checks on a value itself (array elements, members
 * walked with jr_next); 0 or -1. ---------------------------------------- */
int jr_as_string(struct jr_doc *d, const struct jr_val *v, char *out, size_t n);
int jr_as_id(struct jr_doc *d, const struct jr_val *v, char *out, size_t n);
int jr_as_enum(struct jr_doc *d, const struct jr_val *v, const char *what, const char *const *names,
               int *out); /* what: "day" in the message */
int jr_as_int(struct jr_doc *d, const struct jr_val *v, long long lo, long long hi, int *out);
int jr_as_llong(struct jr_doc *d, const struct jr_val *v, long long lo, long long hi,
                long long *out);
int jr_as_bool(struct jr_doc *d, const struct jr_val *v, bool *out);
int jr_as_number(struct jr_doc *d, const struct jr_val *v, double lo, double hi, double *out);
int jr_as_object(struct jr_doc *d, const struct jr_val *v);

/* ---- walking ----------------------------------------------------------- */

size_t jr_len(const struct jr_val *arr);                              /* 0 if not an array */
void jr_elem(const struct jr_val *arr, size_t i, struct jr_val *out); /* "<ptr>/<i>" */
/* Members of an object in file order. Start with *iter = NULL; returns
 * false when done. *key is borrowed from the doc. */
bool jr_next(const struct jr_val *obj, void **iter, const char **key, struct jr_val *out);

/* Build "<base>/<escaped key>" (RFC 6901: '~' -> "~0", '/' -> "~1"). */
void jr_ptr_join(char *out, size_t n, const char *base, const char *key);

#endif
