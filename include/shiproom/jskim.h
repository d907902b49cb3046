/* jskim.h - a JSON object's top-level members, found without building a tree.
 *
 * A restart reads every line of the journal, and most of its bytes are
 * records nobody reads the body of at that time: every poll's `obs`
 * record (the runner needs their seq and time) and the 10-minute
 * snapshots (it needs their label). Building a jansson tree of each was
 * 85% of a restart. This scanner validates a line as JSON and lists the
 * object's top-level members as spans of the text, allocating nothing;
 * jansson parses a body only when someone asks for it (journal.h,
 * journal_event_obj).
 *
 * It is a fast path, not a second judge: it accepts only what jansson
 * accepts (RFC 8259 with strict UTF-8, no \u0000, no lone surrogates, no
 * duplicate top-level names), and where it cannot be sure (an escaped
 * member name, more members than the caller has room for, deeper than
 * JSKIM_MAX_DEPTH) it says no and the caller asks jansson. Three things
 * jansson refuses are not looked for below the top level, as finding
 * them costs what this saves: a duplicate name in a nested object, an
 * integer beyond 64 bits and a number beyond a double's range. A body
 * holding one fails when it is parsed (journal_event_obj says so); the
 * fuzz target checks that nothing else separates the two.
 */
#ifndef SHIPROOM_JSKIM_H
#define SHIPROOM_JSKIM_H

#include <stdbool.h>
#include <stddef.h>

#define JSKIM_MAX_DEPTH 64

enum jskim_kind {
	JSKIM_STRING,
	JSKIM_NUMBER,
	JSKIM_OBJECT,
	JSKIM_ARRAY,
	JSKIM_TRUE,
	JSKIM_FALSE,
	JSKIM_NULL
};

struct jskim_member {
	const char *key; /* the name's bytes, without quotes (never escaped) */
	size_t key_len;
	const char *val; /* the value's text; a string's without its quotes */
	size_t val_len;
	enum jskim_kind kind;
	bool escaped; /* a string value holding a backslash escape */
	bool integer; /* a number without fraction or exponent */
};

/* If s[0..len) is one JSON object (whitespace around it allowed) with at
 * most `max` top-level members, none of them named with an escape and no
 * two with the same name: the number of members, described in m[].
 * Otherwise -1, and a full parser decides (and explains). */
int jskim_object(const char *s, size_t len, struct jskim_member *m, int max);

/* The member named `key` (NUL-terminated), or NULL. */
const struct jskim_member *jskim_find(const struct jskim_member *m, int n, const char *key);

/* A member's integer value, if it is an integer that fits a long long. */
bool jskim_integer(const struct jskim_member *m, long long *out);

#endif
