/* journal.c - the append-only audit journal and the shared memory between
 * consoles (see journal.h for the file format and the guarantees).
 *
 * Why it is built this way:
 *   - JSONL with one write() per line on O_APPEND, under a short flock()
 *     on the file: lines from several consoles never interleave, seq is
 *     unique, and a crash can leave at most one torn line - at the end,
 *     where it is detected by the missing newline.
 *   - Lines are built and parsed with jansson only: a reason with quotes
 *     or an escape sequence can never break a record or a terminal.
 *   - Readers (journal_poll, the scan behind journal_pending_intent) only
 *     consume complete lines, so a line another console is writing right
 *     now is simply read on the next poll.
 *   - Replaying goes through the rollout_* functions, the same ones the
 *     action dispatcher uses, so the rebuilt state obeys the same rules.
 */
#include "shiproom/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shiproom/jread.h"
#include "shiproom/jskim.h"
#include "shiproom/store.h"

#define CHUNK 65536
#define SCAN_PENDING 32
#define BATCH_SYNC_MS 1000

/* messages are bounded: a cut one is intended (common.h) */
#define msgf sr_msgf

static sr_ms wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (sr_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- types ------------------------------------------------------------------ */

static const char *const type_names[SR_J_COUNT] = {
    [SR_J_START] = "start",         [SR_J_INTENT] = "intent",     [SR_J_OUTCOME] = "outcome",
    [SR_J_APPROVAL] = "approval",   [SR_J_TICK] = "tick",         [SR_J_HOLD] = "hold",
    [SR_J_RESUME] = "resume",       [SR_J_TIEBREAK] = "tiebreak", [SR_J_SUCCESS] = "success",
    [SR_J_TRIGGER] = "trigger",     [SR_J_STATUS] = "status",     [SR_J_SNAPSHOT] = "snapshot",
    [SR_J_RECONCILE] = "reconcile", [SR_J_TORN] = "torn",         [SR_J_NOTIFY] = "notify",
    [SR_J_SESSION] = "session",     [SR_J_EDGE] = "edge",         [SR_J_OBS] = "obs",
    [SR_J_NOTE] = "note",           [SR_J_UNTICK] = "untick",     [SR_J_UNKNOWN] = "unknown",
};

const char *journal_type_name(enum sr_jtype t)
{
	return (unsigned)t < SR_J_COUNT ? type_names[t] : "unknown";
}

enum sr_jtype journal_type_from_name(const char *name)
{
	for (int t = 0; t < SR_J_UNKNOWN; t++)
		if (name && strcmp(name, type_names[t]) == 0)
			return (enum sr_jtype)t;
	return SR_J_UNKNOWN;
}

/* Observations are batched; everything else is a decision and is fsynced. */
static bool type_durable(enum sr_jtype t)
{
	return t != SR_J_TRIGGER && t != SR_J_STATUS && t != SR_J_SNAPSHOT && t != SR_J_OBS;
}

/* ---- the state dir --------------------------------------------------------------- */

static bool id_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

int journal_state_dir(char *out, size_t n, const char *override, const char *rollout, char *err,
                      size_t en)
{
	if (override && *override) {
		if (!sr_strlcpy(out, override, n)) {
			msgf(err, en, "state dir path too long");
			return -1;
		}
		return 0;
	}
	if (!id_ok(rollout) || strcmp(rollout, ".") == 0 || strcmp(rollout, "..") == 0) {
		msgf(err, en, "rollout id unusable as a directory name");
		return -1;
	}
	const char *xdg = getenv("XDG_STATE_HOME");
	int r;
	/* The XDG spec: a relative XDG_STATE_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/') {
		r = snprintf(out, n, "%s/shiproom/%s", xdg, rollout);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/') {
			msgf(err, en, "no home directory for the state dir: pass --state-dir");
			return -1;
		}
		r = snprintf(out, n, "%s/.local/state/shiproom/%s", home, rollout);
	}
	if (r < 0 || (size_t)r >= n) {
		msgf(err, en, "state dir path too long");
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *dir, char *err, size_t n)
{
	char tmp[512];
	if (!sr_strlcpy(tmp, dir, sizeof tmp)) {
		msgf(err, n, "state dir path too long");
		return -1;
	}
	for (char *p = tmp + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
				msgf(err, n, "cannot create %s: %s", tmp, strerror(errno));
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		msgf(err, n, "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

/* ---- the handle -------------------------------------------------------------------- */

/* An obs record this handle wrote, so that reading it back (the scan
 * and the poll both read every line) need not parse it as JSON again:
 * it changes no state, and its seq and time are known. Matched by
 * offset, length and hash, so a line that is not exactly the one written
 * (a file rebuilt, a tail repaired) is parsed as any other. Parsing them
 * was a sixth of catching up to T+350 (two parses of each ~2 kB line). */
#define OWN_QUIET 64
struct own_quiet {
	long long off;
	size_t len;
	uint64_t hash;
	long long seq;
	sr_ms at;
};

struct sr_journal {
	char dir[512];
	char path[600];
	char lock_path[600];
	int fd;      /* O_RDWR | O_APPEND; flock()ed briefly per append */
	int lock_fd; /* the action lock, opened on first use */
	bool lock_held;

	/* delivery to the caller */
	long long poll_off;
	long poll_line;
	long long poll_seq; /* highest seq delivered, for order checks */
	long long *own;     /* seqs written through this handle, not yet polled */
	size_t nown, capown;
	struct own_quiet quiet[OWN_QUIET]; /* a ring of our newest obs lines */
	int nquiet;                        /* written so far (the ring's head) */

	/* the scan: last seq and open intents, over every complete line */
	long long scan_off;
	long scan_line;
	long long last_seq;
	int npending;
	struct sr_jintent pending[SCAN_PENDING];

	bool dirty; /* batched lines not yet fdatasync()ed */
	sr_ms last_sync;
	bool readonly; /* journal_open_readonly: opened O_RDONLY, nothing is written */
	bool lost;     /* the path no longer names our file (said once) */
	bool unnamed;  /* private on purpose (journal_unnamed): no identity */

	/* The etcd store (store.h): the file is then its mirror. */
	struct sr_store *store;
	char spool_path[600];
	int store_rc;       /* the last commit's SR_STORE_* */
	bool store_deposed; /* the last commit was fenced off while leading */
	char store_err[256];

	/* The file refused a record (a full disk, a quota, EIO, a file size
	 * limit): the size of the largest refused line and the file's size
	 * then, and what the system said. A short line may still fit in
	 * the last block where an observation record does not, which proves
	 * nothing: the refusal ends when a line as large as the refused one
	 * goes in, or the file grows a block past where it was refused.
	 * refused_len 0: the file takes what it is given. */
	size_t refused_len;
	long long refused_size;
	char refused_err[256];
};

const char *journal_path(const struct sr_journal *j)
{
	return j->path;
}

const char *journal_dir(const struct sr_journal *j)
{
	return j->dir;
}

/* ---- reading lines ------------------------------------------------------------------- */

/* Called for each complete line (without its newline). line == NULL for
 * a line longer than JOURNAL_LINE_MAX (len is then its length). */
typedef void (*line_fn)(void *ctx, const char *line, size_t len, long lineno, long long off);

/* Skip to the end of an over-long line starting at `off`; returns the
 * offset of its newline, or -1 at EOF (an incomplete line). */
static long long skip_line(int fd, long long off, char *buf)
{
	for (;;) {
		ssize_t r = pread(fd, buf, CHUNK, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		const char *nl = memchr(buf, '\n', (size_t)r);
		if (nl)
			return off + (nl - buf);
		off += r;
	}
}

/* Feed every complete line from *offp on to fn; leave *offp at the start
 * of the first incomplete line (or at EOF). -1 on a read error. */
static int read_lines(int fd, long long *offp, long *linep, line_fn fn, void *ctx)
{
	size_t cap = CHUNK, have = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	long long off = *offp; /* file offset of buf[0] */
	int rc = 0;
	for (;;) {
		if (have == cap) {
			if (have >= JOURNAL_LINE_MAX) {
				long long nl = skip_line(fd, off + (long long)have, buf);
				if (nl < 0)
					break; /* an over-long incomplete tail: leave it */
				(*linep)++;
				fn(ctx, NULL, (size_t)(nl - off), *linep, off);
				off = nl + 1;
				have = 0;
				continue;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = pread(fd, buf + have, cap - have, (off_t)(off + (long long)have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		size_t s = 0;
		for (;;) {
			const char *nl = memchr(buf + s, '\n', have - s);
			if (!nl)
				break;
			size_t e = (size_t)(nl - buf);
			(*linep)++;
			fn(ctx, buf + s, e - s, *linep, off + (long long)s);
			s = e + 1;
		}
		memmove(buf, buf + s, have - s);
		have -= s;
		off += (long long)s;
	}
	free(buf);
	*offp = off;
	return rc;
}

/* ---- parsing one line ------------------------------------------------------------------ */

int journal_parse_line(const char *line, size_t len, struct sr_jevent *ev, json_t **obj, char *why,
                       size_t n)
{
	memset(ev, 0, sizeof *ev);
	*obj = NULL;
	if (len == 0) {
		msgf(why, n, "empty line");
		return -1;
	}
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		char t[160];
		sr_sanitize(t, je.text, sizeof t);
		msgf(why, n, "not valid JSON (column %d): %s", je.column, t);
		return -1;
	}
	const char *bad = NULL;
	json_t *seq = json_object_get(o, "seq"), *at = json_object_get(o, "at");
	json_t *type = json_object_get(o, "type"), *actor = json_object_get(o, "actor");
	if (!json_is_object(o))
		bad = "not a JSON object";
	else if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		bad = "missing or bad \"seq\" (a positive integer)";
	else if (!json_is_integer(at))
		bad = "missing or bad \"at\" (integer milliseconds)";
	else if (!json_is_string(type))
		bad = "missing or bad \"type\"";
	else if (!json_is_string(actor))
		bad = "missing or bad \"actor\"";
	if (bad) {
		msgf(why, n, "%s", bad);
		json_decref(o);
		return -1;
	}
	ev->seq = json_integer_value(seq);
	ev->at = json_integer_value(at);
	ev->type_name = json_string_value(type);
	ev->type = journal_type_from_name(ev->type_name);
	ev->actor = json_string_value(actor);
	ev->obj = o;
	*obj = o;
	return 0;
}

/* ---- small JSON helpers ------------------------------------------------------------------ */

static const char *jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* ---- bodies parsed on demand ----------------------------------------------------------- */

#define JBODY_MEMBERS 32
#define JBODY_ARENA 512

struct sr_jbody {
	const char *text; /* the line, borrowed for the callback */
	size_t len;
	struct jskim_member m[JBODY_MEMBERS];
	int n;
	json_t *obj;   /* the full parse, once someone asked */
	char why[160]; /* why the full parse refused the body ("" if it did not) */
	char actor[128];
	char arena[JBODY_ARENA]; /* journal_event_str's copies */
	size_t used;
};

/* Records that are many or bulky and whose bodies are rarely read: every
 * poll's obs record (read by a follower, a replay, `act --at`), the
 * 10-minute snapshot (its label always, its cells for the T-0 baseline)
 * and every status change (read by a replay). Records that act on the
 * rollout are read at once, so they are parsed in full as before: one
 * whose body jansson refuses is skipped whole, never applied half-read. */
static bool body_deferred(enum sr_jtype t)
{
	return t == SR_J_OBS || t == SR_J_SNAPSHOT || t == SR_J_STATUS;
}

static const json_t *empty_object(void)
{
	static json_t *empty;
	if (!empty)
		empty = json_object();
	return empty;
}

/* The quick path: a line jskim accepts, whose header is plain (integers,
 * unescaped strings) and whose record is one of body_deferred's. 0 with
 * *ev filled and its body in b; -1 for the full parse to decide. */
static int skim_line(const char *line, size_t len, struct sr_jbody *b, struct sr_jevent *ev)
{
	int n = jskim_object(line, len, b->m, JBODY_MEMBERS);
	if (n < 0)
		return -1;
	const struct jskim_member *type = jskim_find(b->m, n, "type"),
	                          *actor = jskim_find(b->m, n, "actor");
	long long seq, at;
	if (!jskim_integer(jskim_find(b->m, n, "seq"), &seq) || seq < 1 ||
	    !jskim_integer(jskim_find(b->m, n, "at"), &at))
		return -1;
	char name[16];
	if (!type || type->kind != JSKIM_STRING || type->escaped || type->val_len >= sizeof name ||
	    !actor || actor->kind != JSKIM_STRING || actor->escaped ||
	    actor->val_len >= sizeof b->actor)
		return -1;
	memcpy(name, type->val, type->val_len);
	name[type->val_len] = '\0';
	enum sr_jtype t = journal_type_from_name(name);
	if (!body_deferred(t))
		return -1;
	memcpy(b->actor, actor->val, actor->val_len);
	b->actor[actor->val_len] = '\0';
	b->text = line;
	b->len = len;
	b->n = n;
	b->obj = NULL;
	b->why[0] = '\0';
	b->used = 0;
	memset(ev, 0, sizeof *ev);
	ev->seq = seq;
	ev->at = at;
	ev->type = t;
	ev->type_name = journal_type_name(t);
	ev->actor = b->actor;
	ev->body = b;
	return 0;
}

/* The object straight from the quick look when every top-level value is
 * a string without escapes, an integer, true, false or null (an obs
 * record): what jansson would build, without lexing the line again.
 * NULL when a value needs the full parse (a nested value, a real, an
 * escape). */
static json_t *shallow_object(const struct sr_jbody *b)
{
	for (int i = 0; i < b->n; i++) {
		const struct jskim_member *m = &b->m[i];
		if (m->kind == JSKIM_OBJECT || m->kind == JSKIM_ARRAY || m->escaped ||
		    (m->kind == JSKIM_NUMBER && !m->integer))
			return NULL;
	}
	json_t *o = json_object();
	for (int i = 0; o && i < b->n; i++) {
		const struct jskim_member *m = &b->m[i];
		long long v;
		json_t *val = m->kind == JSKIM_STRING  ? json_stringn_nocheck(m->val, m->val_len)
		              : m->kind == JSKIM_TRUE  ? json_true()
		              : m->kind == JSKIM_FALSE ? json_false()
		              : m->kind == JSKIM_NULL  ? json_null()
		              : jskim_integer(m, &v)   ? json_integer(v)
		                                       : NULL;
		if (!val || json_object_setn_new_nocheck(o, m->key, m->key_len, val) != 0) {
			json_decref(o);
			return NULL; /* an integer past 64 bits: jansson says so */
		}
	}
	return o;
}

const json_t *journal_event_obj(const struct sr_jevent *ev)
{
	if (ev->obj)
		return ev->obj;
	struct sr_jbody *b = ev->body;
	if (!b)
		return empty_object();
	if (!b->obj)
		b->obj = shallow_object(b);
	if (!b->obj) {
		json_error_t je;
		b->obj = json_loadb(b->text, b->len, JSON_REJECT_DUPLICATES, &je);
		if (!b->obj) {
			char t[120];
			sr_sanitize(t, je.text, sizeof t);
			msgf(b->why, sizeof b->why, "column %d: %s", je.column, t);
			return empty_object();
		}
	}
	return b->obj;
}

const char *journal_event_str(const struct sr_jevent *ev, const char *key, const char *dflt)
{
	struct sr_jbody *b = ev->body;
	if (ev->obj || !b || b->obj || b->why[0])
		return jstr_or(journal_event_obj(ev), key, dflt);
	const struct jskim_member *m = jskim_find(b->m, b->n, key);
	if (!m || m->kind != JSKIM_STRING)
		return dflt;
	if (m->escaped || m->val_len >= sizeof b->arena - b->used)
		return jstr_or(journal_event_obj(ev), key, dflt);
	char *s = b->arena + b->used;
	memcpy(s, m->val, m->val_len);
	s[m->val_len] = '\0';
	b->used += m->val_len + 1;
	return s;
}

static long long jint_or(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* A sanitised string member; NULL values are left out. */
static void put_str(json_t *o, const char *key, const char *val)
{
	if (!val)
		return;
	size_t len = strlen(val) + 1;
	char stackbuf[512];
	char *b = len <= sizeof stackbuf ? stackbuf : malloc(len);
	if (!b)
		return;
	sr_sanitize(b, val, len);
	json_object_set_new(o, key, json_string(b));
	if (b != stackbuf)
		free(b);
}

static void put_int(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, json_integer(v));
}

/* NaN and infinities are not JSON: null. */
static void put_num(json_t *o, const char *key, double v)
{
	json_object_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

/* Sanitise every string in a caller-built value (reasons, errors). */
static void sanitize_tree(json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = strlen(s) + 1;
		char *b = malloc(len);
		if (!b)
			return;
		sr_sanitize(b, s, len);
		if (strcmp(b, s) != 0)
			json_string_set(v, b);
		free(b);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach(v, k, m) sanitize_tree(m);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) sanitize_tree(m);
	}
}

/* ---- the scan: last seq and open intents ------------------------------------------------- */

static void pending_drop(struct sr_journal *j, int i)
{
	memmove(&j->pending[i], &j->pending[i + 1],
	        (size_t)(j->npending - i - 1) * sizeof j->pending[0]);
	j->npending--;
}

static void intent_from_event(const struct sr_jevent *ev, struct sr_jintent *it)
{
	const json_t *o = journal_event_obj(ev);
	memset(it, 0, sizeof *it);
	sr_strlcpy(it->key, jstr_or(o, "key", ""), sizeof it->key);
	sr_strlcpy(it->action, jstr_or(o, "action", ""), sizeof it->action);
	sr_strlcpy(it->actor, ev->actor, sizeof it->actor);
	sr_strlcpy(it->reason, jstr_or(o, "reason", ""), sizeof it->reason);
	it->weight = (int)jint_or(o, "weight", -1);
	it->drain = json_is_true(json_object_get(o, "drain"));
	it->gate = (int)jint_or(o, "gate", -1);
	sr_strlcpy(it->checklist, jstr_or(o, "checklist", ""), sizeof it->checklist);
	sr_strlcpy(it->item, jstr_or(o, "item", ""), sizeof it->item);
	it->overnight_until = jint_or(o, "overnight_until", 0);
	it->at = ev->at;
	it->seq = ev->seq;
}

static void scan_event(struct sr_journal *j, const struct sr_jevent *ev)
{
	if (ev->seq > j->last_seq)
		j->last_seq = ev->seq;
	if (ev->type == SR_J_INTENT) {
		if (j->npending == SCAN_PENDING)
			pending_drop(j, 0); /* keep the newest; 32 open intents is already absurd */
		intent_from_event(ev, &j->pending[j->npending++]);
	} else if (ev->type == SR_J_OUTCOME || ev->type == SR_J_RECONCILE) {
		const char *key = journal_event_str(ev, "key", "");
		for (int i = 0; i < j->npending; i++) {
			if (strcmp(j->pending[i].key, key) == 0) {
				pending_drop(j, i);
				break;
			}
		}
	}
}

/* Our own obs line at `off`, exactly as written, or NULL. */
static const struct own_quiet *quiet_line(const struct sr_journal *j, const char *line, size_t len,
                                          long long off)
{
	int n = j->nquiet < OWN_QUIET ? j->nquiet : OWN_QUIET;
	for (int i = 0; i < n; i++) {
		const struct own_quiet *q = &j->quiet[i];
		if (q->off == off && q->len == len)
			return q->hash == jr_fnv1a(line, len) ? q : NULL;
	}
	return NULL;
}

static void quiet_add(struct sr_journal *j, long long off, size_t len, uint64_t hash, long long seq,
                      sr_ms at)
{
	struct own_quiet *q = &j->quiet[j->nquiet++ % OWN_QUIET];
	*q = (struct own_quiet){.off = off, .len = len, .hash = hash, .seq = seq, .at = at};
}

static void scan_line(void *ctx, const char *line, size_t len, long lineno, long long off)
{
	(void)lineno;
	struct sr_journal *j = ctx;
	if (!line)
		return;
	const struct own_quiet *q = quiet_line(j, line, len, off);
	if (q) { /* an obs record: no intent, no outcome; only its seq counts */
		if (q->seq > j->last_seq)
			j->last_seq = q->seq;
		return;
	}
	struct sr_jevent ev;
	json_t *o;
	char why[8];
	if (journal_parse_line(line, len, &ev, &o, why, sizeof why) < 0)
		return;
	scan_event(j, &ev);
	json_decref(o);
}

static int scan_catch_up(struct sr_journal *j)
{
	return read_lines(j->fd, &j->scan_off, &j->scan_line, scan_line, j);
}

/* ---- writing ------------------------------------------------------------------------------ */

static int append_lock(struct sr_journal *j, char *err, size_t n)
{
	while (flock(j->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			msgf(err, n, "cannot lock %s: %s", j->path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void append_unlock(struct sr_journal *j)
{
	flock(j->fd, LOCK_UN);
}

static int sync_fd(struct sr_journal *j, bool full)
{
	int r = full ? fsync(j->fd) : fdatasync(j->fd);
	if (r == 0) {
		j->dirty = false;
		j->last_sync = wall_ms();
	}
	return r;
}

static int own_add(struct sr_journal *j, long long seq)
{
	if (j->nown == j->capown) {
		size_t nc = j->capown ? j->capown * 2 : 16;
		long long *no = realloc(j->own, nc * sizeof *no);
		if (!no)
			return -1;
		j->own = no;
		j->capown = nc;
	}
	j->own[j->nown++] = seq;
	return 0;
}

static bool own_take(struct sr_journal *j, long long seq)
{
	for (size_t i = 0; i < j->nown; i++) {
		if (j->own[i] == seq) {
			j->own[i] = j->own[--j->nown];
			return true;
		}
	}
	return false;
}

static int append_locked(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                         json_t *fields, long long *seq_out, char *err, size_t n);

/* Under the append lock: a last line without its newline is a torn write
 * (no one else can be writing now). Move it aside and journal that. */
static int repair_tail(struct sr_journal *j, struct sr_journal_open_info *info, char *err, size_t n)
{
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		msgf(err, n, "cannot stat %s: %s", j->path, strerror(errno));
		return -1;
	}
	long long size = st.st_size;
	if (size == 0)
		return 0;
	char c;
	if (pread(j->fd, &c, 1, (off_t)(size - 1)) != 1) {
		msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
		return -1;
	}
	if (c == '\n')
		return 0;

	/* find where the torn line starts: after the last newline */
	char *buf = malloc(CHUNK);
	if (!buf) {
		msgf(err, n, "out of memory");
		return -1;
	}
	long long start = 0;
	for (long long end = size; end > 0 && start == 0;) {
		long long from = end > CHUNK ? end - CHUNK : 0;
		ssize_t r = pread(j->fd, buf, (size_t)(end - from), (off_t)from);
		if (r != end - from) {
			free(buf);
			msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
			return -1;
		}
		for (long long i = r - 1; i >= 0; i--) {
			if (buf[i] == '\n') {
				start = from + i + 1;
				break;
			}
		}
		end = from;
	}

	/* save its bytes before truncating anything */
	char saved[600];
	int sfd = -1;
	for (int k = 0; k < 100 && sfd < 0; k++) {
		if (k == 0)
			msgf(saved, sizeof saved, "%s.torn-%lld", j->path, start);
		else
			msgf(saved, sizeof saved, "%s.torn-%lld.%d", j->path, start, k);
		sfd = open(saved, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (sfd < 0 && errno != EEXIST)
			break;
	}
	if (sfd < 0) {
		free(buf);
		msgf(err, n,
		     "%s: torn last line at offset %lld, and it cannot be saved aside (%s); "
		     "not repaired",
		     j->path, start, strerror(errno));
		return -1;
	}
	bool ok = true;
	for (long long o = start; o < size && ok;) {
		size_t want = (size_t)(size - o > CHUNK ? CHUNK : size - o);
		ssize_t r = pread(j->fd, buf, want, (off_t)o);
		ok = r > 0 && write(sfd, buf, (size_t)r) == r;
		o += r > 0 ? r : 0;
	}
	free(buf);
	ok = ok && fsync(sfd) == 0;
	if (close(sfd) < 0)
		ok = false;
	if (!ok) {
		unlink(saved);
		msgf(err, n,
		     "%s: torn last line at offset %lld could not be saved aside; not repaired",
		     j->path, start);
		return -1;
	}
	if (ftruncate(j->fd, (off_t)start) < 0 || fsync(j->fd) < 0) {
		msgf(err, n, "%s: cannot truncate the torn line at offset %lld: %s", j->path, start,
		     strerror(errno));
		return -1;
	}
	if (info) {
		info->torn = true;
		info->torn_offset = start;
		info->torn_bytes = (size_t)(size - start);
		sr_strlcpy(info->torn_saved, saved, sizeof info->torn_saved);
	}
	json_t *f = json_object();
	put_int(f, "offset", start);
	put_int(f, "bytes", size - start);
	put_str(f, "saved_to", saved);
	/* the torn record's `at` is the wall clock: no rollout time is known here */
	return append_locked(j, SR_J_TORN, wall_ms(), "", f, NULL, err, n);
}

static int store_write(struct sr_journal *j, enum sr_jtype type, long long seq, const char *text,
                       size_t len, char *err, size_t n);
static int store_catch_up_locked(struct sr_journal *j, char *err, size_t n);

static int append_locked_try(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                             json_t *fields, long long *seq_out, char *err, size_t n, int retries);

#define REFUSAL_BLOCK 4096 /* a file system block: growing past it needs new space */

/* The file (`size` bytes long) did not take a line of `len` bytes
 * (journal_refusing). */
static void refused(struct sr_journal *j, size_t len, long long size, const char *err)
{
	if (len > j->refused_len)
		j->refused_len = len;
	j->refused_size = size;
	sr_strlcpy(j->refused_err, err, sizeof j->refused_err);
}

/* A line of `len` bytes went in, the file now `size` bytes long. */
static void accepted(struct sr_journal *j, size_t len, long long size)
{
	if (j->refused_len && (len >= j->refused_len || size >= j->refused_size + REFUSAL_BLOCK))
		j->refused_len = 0;
}

/* Everything of journal_append except taking the lock. */
static int append_locked(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                         json_t *fields, long long *seq_out, char *err, size_t n)
{
	return append_locked_try(j, type, at, actor, fields, seq_out, err, n, 0);
}

static int append_locked_try(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                             json_t *fields, long long *seq_out, char *err, size_t n, int retries)
{
	if (type != SR_J_TORN && repair_tail(j, NULL, err, n) < 0) {
		json_decref(fields);
		return -1;
	}
	if (scan_catch_up(j) < 0) {
		json_decref(fields);
		msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
		return -1;
	}
	if (j->store && retries > 0 && store_catch_up_locked(j, err, n) < 0) {
		json_decref(fields);
		return -1;
	}
	/* a store commit may have to be tried again at a later seq */
	json_t *fields_copy = j->store && fields ? json_deep_copy(fields) : NULL;
	long long seq = j->last_seq + 1;
	json_t *o = json_object();
	put_int(o, "seq", seq);
	put_int(o, "at", at);
	put_int(o, "wall", wall_ms());
	json_object_set_new(o, "type", json_string(journal_type_name(type)));
	put_str(o, "actor", actor ? actor : "");
	if (j->store && store_fence(j->store) > 0)
		put_int(o, "term", store_fence(j->store)); /* which leader wrote it */
	/* a record answering a request is read back in full (note_request) */
	bool fields_had_request = fields && json_object_get(fields, "request");
	if (fields) {
		sanitize_tree(fields);
		const char *k;
		json_t *v;
		json_object_foreach(fields, k, v)
		{
			if (strcmp(k, "seq") && strcmp(k, "at") && strcmp(k, "wall") &&
			    strcmp(k, "type") && strcmp(k, "actor"))
				json_object_set(o, k, v);
		}
		json_decref(fields);
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(o);
	if (!text) {
		json_decref(fields_copy);
		msgf(err, n, "cannot encode the %s record", journal_type_name(type));
		return -1;
	}
	size_t len = strlen(text);
	if (len + 1 > JOURNAL_LINE_MAX) {
		free(text);
		json_decref(fields_copy);
		msgf(err, n, "%s record too large (%zu bytes)", journal_type_name(type), len);
		return -1;
	}
	if (j->store) {
		int sr = store_write(j, type, seq, text, len, err, n);
		if (sr == SR_STORE_CONFLICT && retries < 3) {
			/* another writer was first (a predecessor's last records):
			 * they are in the mirror now; this record goes after them */
			free(text);
			return append_locked_try(j, type, at, actor, fields_copy, seq_out, err, n,
			                         retries + 1);
		}
		if (sr != SR_STORE_OK) {
			free(text);
			json_decref(fields_copy);
			return -1;
		}
	}
	json_decref(fields_copy);
	text[len] = '\n'; /* the NUL is not written */
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		free(text);
		msgf(err, n, "cannot stat %s: %s", j->path, strerror(errno));
		return -1;
	}
	/* A short write (the disk filled, a size limit) is followed by
	 * another, which either finishes the line or says why not. */
	size_t put = 0;
	int e = 0;
	while (put < len + 1) {
		ssize_t w = write(j->fd, text + put, len + 1 - put);
		if (w > 0)
			put += (size_t)w;
		else if (w == 0 || errno != EINTR) {
			e = w < 0 ? errno : ENOSPC;
			break;
		}
	}
	bool quiet = type == SR_J_OBS && (!actor || !actor[0]) && !fields_had_request;
	uint64_t hash = quiet ? jr_fnv1a(text, len) : 0;
	free(text);
	if (put != len + 1) {
		/* never leave a partial line behind: cut back to where it started */
		if (put > 0 && ftruncate(j->fd, st.st_size) == 0)
			fsync(j->fd);
		msgf(err, n, "cannot write to %s: %s", j->path, strerror(e));
		refused(j, len + 1, (long long)st.st_size, err);
		return -1;
	}
	j->dirty = true;
	if (type_durable(type) || wall_ms() - j->last_sync >= BATCH_SYNC_MS) {
		if (sync_fd(j, type_durable(type)) < 0) {
			msgf(err, n, "cannot sync %s: %s", j->path, strerror(errno));
			refused(j, len + 1, (long long)st.st_size, err);
			return -1;
		}
	}
	accepted(j, len + 1, (long long)st.st_size + (long long)len + 1);
	if (quiet)
		quiet_add(j, (long long)st.st_size, len, hash, seq, at);
	own_add(j, seq);
	if (seq_out)
		*seq_out = seq;
	return 0;
}

/* Is the mirror's last complete line exactly text? */
static bool last_line_equals(struct sr_journal *j, const char *text, size_t len)
{
	struct stat st;
	if (fstat(j->fd, &st) != 0 || (size_t)st.st_size < len + 1)
		return false;
	char *buf = malloc(len + 2);
	if (!buf)
		return false;
	off_t from = st.st_size - (off_t)len - 1;
	bool ok = pread(j->fd, buf, len + 1, from) == (ssize_t)(len + 1) && buf[len] == '\n' &&
	          memcmp(buf, text, len) == 0;
	/* and it starts a line */
	char before = '\n';
	if (ok && from > 0)
		ok = pread(j->fd, &before, 1, from - 1) == 1 && before == '\n';
	free(buf);
	return ok;
}

/* ---- the etcd store (store.h): the file is its mirror ----------------------------------- */

/* Append lines pulled from the store to the mirror, as they are. */
static int mirror_line(void *ud, long long seq, const char *line, size_t len)
{
	struct sr_journal *j = ud;
	(void)seq;
	char *buf = malloc(len + 1);
	if (!buf)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\n';
	ssize_t w;
	do
		w = write(j->fd, buf, len + 1);
	while (w < 0 && errno == EINTR);
	free(buf);
	if (w != (ssize_t)(len + 1))
		return -1;
	j->dirty = true;
	return 0;
}

/* Under the append lock: what the store has after the mirror's last
 * record, into the mirror. Not while a spool waits: the mirror then holds
 * records the store has not (they are merged first). */
static int store_catch_up_locked(struct sr_journal *j, char *err, size_t n)
{
	if (!j->store || store_spool_pending(j->spool_path))
		return 0;
	if (scan_catch_up(j) < 0) {
		msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
		return -1;
	}
	int got = store_pull(j->store, j->last_seq, 0, mirror_line, j, err, n);
	if (got < 0)
		return got == SR_STORE_UNAVAILABLE ? 0 : -1; /* said by store_available */
	if (got > 0 && scan_catch_up(j) < 0) {
		msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A record's line, committed to the store before it is in the mirror;
 * while the store cannot answer (or a spool already waits, whose records
 * must land first), spooled instead. Never a record that was fenced off:
 * a deposed leader writes nothing anywhere. */
static int store_write(struct sr_journal *j, enum sr_jtype type, long long seq, const char *text,
                       size_t len, char *err, size_t n)
{
	int rc = SR_STORE_UNAVAILABLE;
	/* A console attaching to or leaving a standby is a fact about that
	 * bastion, not a decision: its record needs no leadership (the
	 * head check still keeps the journal whole). Everything else is the
	 * leader's to write. */
	bool fenced = type != SR_J_SESSION;
	long long fence = store_fence(j->store);
	if (!store_spool_pending(j->spool_path))
		rc = fenced ? store_commit(j->store, seq, text, len, err, n)
		            : store_import_line(j->store, seq, text, len, err, n);
	if (rc == SR_STORE_UNAVAILABLE || rc == SR_STORE_FULL) {
		/* A store that does not answer, or answers but takes no write
		 * (full): the record waits in the spool, merged when it can. */
		char serr[256];
		if (rc == SR_STORE_FULL)
			sr_strlcpy(j->store_err, err, sizeof j->store_err);
		if (store_spool_append(j->spool_path, seq, text, len, serr, sizeof serr) != 0) {
			msgf(err, n, "the store %s and %s",
			     rc == SR_STORE_FULL ? "takes no write" : "does not answer", serr);
			rc = SR_STORE_FAILED;
		} else {
			rc = SR_STORE_OK;
		}
	}
	j->store_rc = rc;
	/* fenced off while holding a fence: this service was deposed (a
	 * standby's refusal, without one, says nothing new) */
	j->store_deposed = rc == SR_STORE_FENCED && fence > 0 && fenced;
	if (rc != SR_STORE_OK)
		sr_strlcpy(j->store_err, err, sizeof j->store_err);
	return rc;
}

/* Move the mirror aside and empty it: it is rebuilt from the store. */
static int mirror_reset(struct sr_journal *j, const char *why, char *err, size_t n)
{
	char aside[700];
	msgf(aside, sizeof aside, "%s.diverged-%lld", j->path, (long long)wall_ms());
	int afd = open(aside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (afd >= 0) {
		char buf[CHUNK];
		ssize_t r;
		off_t off = 0;
		while ((r = pread(j->fd, buf, sizeof buf, off)) > 0) {
			if (write(afd, buf, (size_t)r) != r)
				break;
			off += r;
		}
		fsync(afd);
		close(afd);
	}
	if (ftruncate(j->fd, 0) != 0) {
		msgf(err, n, "cannot empty the mirror %s: %s", j->path, strerror(errno));
		return -1;
	}
	j->poll_off = j->scan_off = 0;
	j->poll_line = j->scan_line = 0;
	j->poll_seq = j->last_seq = 0;
	j->npending = 0;
	j->nown = 0;
	j->nquiet = 0; /* its lines are the store's now, read in full */
	msgf(j->store_err, sizeof j->store_err, "%s: the old copy is %s", why, aside);
	return 0;
}

int journal_use_store(struct sr_journal *j, struct sr_store *st, char *err, size_t n)
{
	j->store = st;
	msgf(j->spool_path, sizeof j->spool_path, "%s/%s", j->dir, JOURNAL_SPOOL_FILE);
	j->store_err[0] = '\0';
	if (append_lock(j, err, n) < 0)
		return -1;
	int rc = 0;
	if (store_spool_pending(j->spool_path)) {
		/* A break-glass rollback from an earlier run: its records go to
		 * the store first (merged by whoever leads, exactly once). */
		bool reseq = false;
		int merged = 0;
		int mr = store_spool_merge(st, j->spool_path, false, &reseq, &merged, err, n);
		if (mr == SR_STORE_OK && reseq)
			rc = mirror_reset(j, "spooled records landed at other seqs", err, n);
		else if (mr != SR_STORE_OK && mr != SR_STORE_UNAVAILABLE && mr != SR_STORE_FULL)
			rc = -1;
	}
	if (rc == 0 && scan_catch_up(j) < 0) {
		msgf(err, n, "cannot read %s: %s", j->path, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && !store_spool_pending(j->spool_path) && j->last_seq > 0) {
		/* Is the mirror a prefix of the store? Its last record decides
		 * (records are never rewritten): else it is rebuilt. */
		char *line = NULL;
		size_t len = 0;
		int gr = store_get(st, j->last_seq, &line, &len, err, n);
		if (gr == SR_STORE_OK || gr == 1) {
			bool same = false;
			if (gr == SR_STORE_OK) {
				struct sr_jevent ev;
				json_t *a = NULL;
				char why[8];
				same = journal_parse_line(line, len, &ev, &a, why, sizeof why) ==
				           0 &&
				       ev.seq == j->last_seq && last_line_equals(j, line, len);
				json_decref(a);
			}
			free(line);
			if (!same)
				rc = mirror_reset(
				    j,
				    "the state dir's copy of the journal differs from the store's",
				    err, n);
		} else if (gr != SR_STORE_UNAVAILABLE) {
			rc = -1;
		}
	}
	if (rc == 0)
		rc = store_catch_up_locked(j, err, n);
	append_unlock(j);
	return rc;
}

bool journal_store_fenced(const struct sr_journal *j)
{
	return j->store && j->store_deposed;
}

const char *journal_store_note(const struct sr_journal *j)
{
	return j->store_err;
}

bool journal_refusing(const struct sr_journal *j, char *why, size_t n)
{
	if (!j || j->refused_len == 0)
		return false;
	if (why && n)
		sr_strlcpy(why, j->refused_err, n);
	return true;
}

bool journal_spooling(const struct sr_journal *j)
{
	return j->store && store_spool_pending(j->spool_path);
}

int journal_store_merge(struct sr_journal *j, bool fenced, bool *rebuild, int *merged, char *err,
                        size_t n)
{
	*rebuild = false;
	*merged = 0;
	if (!j->store || !store_spool_pending(j->spool_path))
		return 0;
	if (append_lock(j, err, n) < 0)
		return -1;
	int rc = store_spool_merge(j->store, j->spool_path, fenced, rebuild, merged, err, n);
	append_unlock(j);
	return rc;
}

void journal_unnamed(struct sr_journal *j)
{
	j->unnamed = true;
}

bool journal_is_unnamed(const struct sr_journal *j)
{
	return j && j->unnamed;
}

int journal_check_identity(struct sr_journal *j, char *why, size_t n)
{
	struct stat mine, named;
	if (j->unnamed)
		return 0;
	if (fstat(j->fd, &mine) != 0) {
		msgf(why, n, "journal %s: %s", j->path, strerror(errno));
		return -1;
	}
	if (stat(j->path, &named) != 0) {
		msgf(why, n,
		     "journal %s was deleted or moved (%s): the rollout's record is gone from its "
		     "place; not writing, not acting",
		     j->path, strerror(errno));
		j->lost = true;
		return -1;
	}
	if (named.st_dev != mine.st_dev || named.st_ino != mine.st_ino) {
		msgf(why, n,
		     "journal %s was replaced by another file: not writing into it, not acting "
		     "(restart on the state dir to read what it holds now)",
		     j->path);
		j->lost = true;
		return -1;
	}
	return 0;
}

int journal_append(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                   json_t *fields, long long *seq_out, char *err, size_t n)
{
	if (j->readonly) {
		json_decref(fields);
		msgf(err, n, "%s is open read-only: nothing is written", j->path);
		return -1;
	}
	if ((unsigned)type >= SR_J_UNKNOWN || (fields && !json_is_object(fields))) {
		json_decref(fields);
		msgf(err, n, "bad journal record");
		return -1;
	}
	/* Never write into a journal that is no longer the rollout's: a
	 * deleted file would swallow the record, a replaced one fork it. */
	if (journal_check_identity(j, err, n) != 0) {
		json_decref(fields);
		return -1;
	}
	if (append_lock(j, err, n) < 0) {
		json_decref(fields);
		return -1;
	}
	int r = append_locked(j, type, at, actor, fields, seq_out, err, n);
	append_unlock(j);
	return r;
}

int journal_sync(struct sr_journal *j)
{
	if (j->readonly || !j->dirty)
		return 0;
	if (sync_fd(j, false) == 0)
		return 0;
	char err[256];
	msgf(err, sizeof err, "cannot sync %s: %s", j->path, strerror(errno));
	struct stat st;
	refused(j, 1, fstat(j->fd, &st) == 0 ? (long long)st.st_size : 0, err);
	return -1;
}

/* ---- open / close ------------------------------------------------------------------------- */

struct sr_journal *journal_open(const char *dir, struct sr_journal_open_info *info, char *err,
                                size_t n)
{
	if (info)
		memset(info, 0, sizeof *info);
	if (mkdir_p(dir, err, n) < 0)
		return NULL;
	struct sr_journal *j = calloc(1, sizeof *j);
	if (!j) {
		msgf(err, n, "out of memory");
		return NULL;
	}
	j->fd = j->lock_fd = -1;
	if (!sr_strlcpy(j->dir, dir, sizeof j->dir) ||
	    snprintf(j->path, sizeof j->path, "%s/%s", dir, JOURNAL_FILE) >= (int)sizeof j->path ||
	    snprintf(j->lock_path, sizeof j->lock_path, "%s/%s", dir, JOURNAL_LOCK_FILE) >=
	        (int)sizeof j->lock_path) {
		msgf(err, n, "state dir path too long");
		free(j);
		return NULL;
	}
	bool existed = access(j->path, F_OK) == 0;
	j->fd = open(j->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		int e = errno;
		/* read-only storage, or another user's rollout: looking needs
		 * no write (journal_open_readonly) */
		msgf(err, n, "cannot open %s for writing: %s%s", j->path, strerror(e),
		     e == EROFS || e == EACCES || e == EPERM
		         ? " (to look without acting, add --read-only, or attach to the rollout's "
		           "service)"
		         : "");
		free(j);
		return NULL;
	}
	/* The journal quotes outside text and the rollout's whole story:
	 * the owner's alone, also when an older version made it 0644. */
	struct stat jst;
	if (fstat(j->fd, &jst) == 0 && (jst.st_mode & 077))
		fchmod(j->fd, 0600);
	if (info)
		info->created = !existed;
	if (!existed) {
		/* make the new directory entry itself durable */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	j->last_sync = wall_ms();
	if (append_lock(j, err, n) < 0) {
		journal_close(j);
		return NULL;
	}
	/* The scan (last seq, open intents) is left to whoever needs it
	 * first: usually the first poll, which scans as it reads. */
	int r = repair_tail(j, info, err, n);
	append_unlock(j);
	if (r < 0) {
		journal_close(j);
		return NULL;
	}
	return j;
}

struct sr_journal *journal_open_readonly(const char *dir, char *err, size_t n)
{
	struct sr_journal *j = calloc(1, sizeof *j);
	if (!j) {
		msgf(err, n, "out of memory");
		return NULL;
	}
	j->fd = j->lock_fd = -1;
	j->readonly = true;
	if (!sr_strlcpy(j->dir, dir, sizeof j->dir) ||
	    snprintf(j->path, sizeof j->path, "%s/%s", dir, JOURNAL_FILE) >= (int)sizeof j->path ||
	    snprintf(j->lock_path, sizeof j->lock_path, "%s/%s", dir, JOURNAL_LOCK_FILE) >=
	        (int)sizeof j->lock_path) {
		msgf(err, n, "state dir path too long");
		free(j);
		return NULL;
	}
	/* No mkdir, no create, no repair, no chmod: it may be another user's
	 * rollout, or a state dir on read-only storage. */
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0) {
		msgf(err, n, "cannot open %s: %s", j->path, strerror(errno));
		free(j);
		return NULL;
	}
	return j; /* scanned by the first poll, or by whoever needs it first */
}

void journal_close(struct sr_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		if (j->dirty)
			fdatasync(j->fd);
		close(j->fd);
	}
	if (j->lock_fd >= 0) {
		if (j->lock_held) {
			if (ftruncate(j->lock_fd, 0) < 0) {
				/* the holder text is advisory; the flock is what counts */
			}
			flock(j->lock_fd, LOCK_UN);
		}
		close(j->lock_fd);
	}
	free(j->own);
	free(j);
}

/* ---- typed writers -------------------------------------------------------------------------- */

void journal_make_key(char *buf, size_t n)
{
	unsigned char r[8];
	ssize_t got = getrandom(r, sizeof r, GRND_NONBLOCK);
	if (got != (ssize_t)sizeof r) {
		/* no entropy yet: time and pid still make a key unique per call */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long x = (unsigned long long)ts.tv_nsec ^
		                       ((unsigned long long)getpid() << 32);
		memcpy(r, &x, sizeof r);
	}
	snprintf(buf, n, "sr-%llx-%02x%02x%02x%02x%02x%02x%02x%02x", (unsigned long long)wall_ms(),
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

int journal_start(struct sr_journal *j, sr_ms at, const char *actor, sr_ms t0, uint64_t policy_hash,
                  const char *rollout, char *err, size_t n)
{
	json_t *f = json_object();
	char hash[40];
	snprintf(hash, sizeof hash, "fnv1a64:%016llx", (unsigned long long)policy_hash);
	put_int(f, "t0", t0);
	put_str(f, "policy_hash", hash);
	put_str(f, "rollout", rollout ? rollout : "");
	return journal_append(j, SR_J_START, at, actor, f, NULL, err, n);
}

static void put_action(json_t *f, const struct sr_jaction *a)
{
	put_str(f, "action", a->action);
	if (a->key)
		put_str(f, "key", a->key);
	if (a->weight >= 0)
		put_int(f, "weight", a->weight);
	if (a->drain)
		json_object_set_new(f, "drain", json_true());
	if (a->gate >= 0)
		put_int(f, "gate", a->gate);
	put_str(f, "checklist", a->checklist);
	put_str(f, "item", a->item);
	put_str(f, "reason", a->reason ? a->reason : "");
	if (a->overnight_until > 0)
		put_int(f, "overnight_until", a->overnight_until);
	if (a->request && a->request[0])
		put_str(f, "request", a->request);
}

int journal_intent(struct sr_journal *j, sr_ms at, const char *actor, const struct sr_jaction *a,
                   char *err, size_t n)
{
	if (!a || !a->action || !a->key || !*a->key) {
		msgf(err, n, "an intent needs an action and an idempotency key");
		return -1;
	}
	json_t *f = json_object();
	put_action(f, a);
	return journal_append(j, SR_J_INTENT, at, actor, f, NULL, err, n);
}

int journal_outcome(struct sr_journal *j, sr_ms at, const char *actor, const char *key,
                    const char *action, bool ok, int weight, const char *error, int attempts,
                    char *err, size_t n)
{
	json_t *f = json_object();
	put_str(f, "key", key ? key : "");
	put_str(f, "action", action ? action : "");
	put_str(f, "result", ok ? "ok" : "failed");
	put_int(f, "weight", weight);
	if (error && *error)
		put_str(f, "error", error);
	if (attempts > 0)
		put_int(f, "attempts", attempts);
	return journal_append(j, SR_J_OUTCOME, at, actor, f, NULL, err, n);
}

int journal_reconcile(struct sr_journal *j, sr_ms at, const char *actor, const char *key,
                      const char *action, bool applied, int weight, const char *note, char *err,
                      size_t n)
{
	json_t *f = json_object();
	put_str(f, "key", key ? key : "");
	put_str(f, "action", action ? action : "");
	put_str(f, "result", applied ? "ok" : "failed");
	put_int(f, "weight", weight);
	put_str(f, "note", note ? note : "");
	return journal_append(j, SR_J_RECONCILE, at, actor, f, NULL, err, n);
}

int journal_record(struct sr_journal *j, enum sr_jtype type, sr_ms at, const char *actor,
                   const struct sr_jaction *a, char *err, size_t n)
{
	static const struct sr_jaction none = {.weight = -1, .gate = -1};
	if (type != SR_J_APPROVAL && type != SR_J_TICK && type != SR_J_HOLD &&
	    type != SR_J_RESUME && type != SR_J_TIEBREAK && type != SR_J_SUCCESS &&
	    type != SR_J_UNTICK && type != SR_J_NOTE) {
		msgf(err, n, "journal_record: %s is not a one-record action",
		     journal_type_name(type));
		return -1;
	}
	if (!a)
		a = &none;
	if ((type == SR_J_TICK || type == SR_J_UNTICK) && (!a->checklist || !a->item)) {
		msgf(err, n, "a tick needs a checklist and an item");
		return -1;
	}
	json_t *f = json_object();
	put_action(f, a);
	return journal_append(j, type, at, actor, f, NULL, err, n);
}

int journal_trigger(struct sr_journal *j, sr_ms at, const struct sr_policy *p, int trigger,
                    int from, int to, const char *reason, char *err, size_t n)
{
	if (trigger < 0 || trigger >= p->ntriggers) {
		msgf(err, n, "no trigger %d", trigger);
		return -1;
	}
	json_t *f = json_object();
	put_str(f, "trigger", p->triggers[trigger].id);
	put_str(f, "from", trigger_state_name((enum sr_trig_state)from));
	put_str(f, "to", trigger_state_name((enum sr_trig_state)to));
	put_str(f, "reason", reason ? reason : "");
	return journal_append(j, SR_J_TRIGGER, at, "", f, NULL, err, n);
}

static void cell_ids(const struct sr_policy *p, int cell, const char **kpi, const char **journey)
{
	const struct sr_cell *c = &p->cells[cell];
	*kpi = p->kpis[c->kpi].id;
	*journey = c->journey >= 0 ? p->journeys[c->journey].id : NULL;
}

int journal_status(struct sr_journal *j, sr_ms at, const struct sr_policy *p, int cell, int from,
                   int to, const char *reason, char *err, size_t n)
{
	if (cell < 0 || cell >= p->ncells) {
		msgf(err, n, "no cell %d", cell);
		return -1;
	}
	const char *kpi, *journey;
	cell_ids(p, cell, &kpi, &journey);
	char name[2 * SR_NAME_LEN + 2];
	snprintf(name, sizeof name, "%s%s%s", kpi, journey ? "/" : "", journey ? journey : "");
	json_t *f = json_object();
	put_str(f, "cell", name);
	put_str(f, "kpi", kpi);
	if (journey)
		put_str(f, "journey", journey);
	put_str(f, "from", sr_status_name((enum sr_status)from));
	put_str(f, "to", sr_status_name((enum sr_status)to));
	put_str(f, "reason", reason ? reason : "");
	return journal_append(j, SR_J_STATUS, at, "", f, NULL, err, n);
}

int journal_snapshot(struct sr_journal *j, sr_ms at, const char *label, const struct sr_engine *e,
                     char *err, size_t n)
{
	const struct sr_policy *p = e->policy;
	json_t *f = json_object();
	put_str(f, "label", label ? label : "");
	put_str(f, "verdict", sr_verdict_name(e->decision.verdict));
	put_int(f, "weight", e->ro.weight);
	json_t *cells = json_array();
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_cell_state *cs = &e->cells[c];
		const char *kpi, *journey;
		cell_ids(p, c, &kpi, &journey);
		json_t *o = json_object();
		put_str(o, "kpi", kpi);
		if (journey)
			put_str(o, "journey", journey);
		else
			json_object_set_new(o, "journey", json_null());
		put_str(o, "status", sr_status_name(cs->status));
		put_num(o, "canary", cs->canary);
		put_num(o, "control", cs->control);
		put_num(o, "samples", cs->samples);
		put_str(o, "reason", engine_cell_reason(e, c));
		json_array_append_new(cells, o);
	}
	json_object_set_new(f, "cells", cells);
	return journal_append(j, SR_J_SNAPSHOT, at, "", f, NULL, err, n);
}

/* ---- the action lock ---------------------------------------------------------------------------
 */

int journal_lock_holder_text(const char *buf, size_t len, char *why, size_t n)
{
	json_t *o = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	char who[SR_NAME_LEN], what[SR_NAME_LEN], since[32] = "?";
	sr_sanitize(who, jstr_or(o, "user", "?"), sizeof who);
	sr_sanitize(what, jstr_or(o, "action", "?"), sizeof what);
	long long pid = jint_or(o, "pid", 0);
	time_t t = (time_t)(jint_or(o, "since", 0) / 1000);
	struct tm tm;
	if (t > 0 && gmtime_r(&t, &tm))
		strftime(since, sizeof since, "%H:%M:%S UTC", &tm);
	msgf(why, n, "another console (pid %lld, %s) is acting: %s since %s", pid, who, what,
	     since);
	json_decref(o);
	return 0;
}

static void holder_text(int fd, char *why, size_t n)
{
	char buf[512];
	/* The holder writes its name just after taking the lock; if we looked
	 * in between, give it a moment (at most ~50 ms, only when contended). */
	for (int tries = 0; tries < 50; tries++) {
		if (tries > 0) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
		if (r > 0 && journal_lock_holder_text(buf, (size_t)r, why, n) == 0)
			return;
	}
	msgf(why, n, "another console is acting (it has not said who yet)");
}

int journal_lock(struct sr_journal *j, const char *actor, const char *what, char *why, size_t n)
{
	if (j->readonly) {
		msgf(why, n, "%s is open read-only: no action", j->path);
		return -1;
	}
	if (j->lock_held)
		return 0;
	if (j->lock_fd < 0) {
		j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (j->lock_fd < 0) {
			msgf(why, n, "cannot open %s: %s", j->lock_path, strerror(errno));
			return -1;
		}
	}
	while (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			holder_text(j->lock_fd, why, n);
		else
			msgf(why, n, "cannot lock %s: %s", j->lock_path, strerror(errno));
		return -1;
	}
	j->lock_held = true;
	/* say who holds it, for the other consoles' refusal message */
	json_t *o = json_object();
	put_int(o, "pid", (long long)getpid());
	put_str(o, "user", actor ? actor : "");
	put_str(o, "action", what ? what : "");
	put_int(o, "since", wall_ms());
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text && ftruncate(j->lock_fd, 0) == 0) {
		size_t len = strlen(text);
		if (pwrite(j->lock_fd, text, len, 0) != (ssize_t)len) {
			/* advisory text only; the flock is held either way */
		}
	}
	free(text);
	return 0;
}

void journal_unlock(struct sr_journal *j)
{
	if (!j->lock_held)
		return;
	if (ftruncate(j->lock_fd, 0) < 0) {
		/* advisory text only */
	}
	flock(j->lock_fd, LOCK_UN);
	j->lock_held = false;
}

bool journal_locked(const struct sr_journal *j)
{
	return j->lock_held;
}

/* ---- delivering events
 * --------------------------------------------------------------------------- */

struct deliver {
	struct sr_journal *j; /* NULL for journal_replay */
	sr_jevent_cb cb;
	sr_jissue_cb issue;
	void *ud;
	int count;
	long long prev_seq;
};

/* The line at `off` is the next one the scan has not read: the poll
 * scans it as it goes (journal_open leaves the scan to whoever needs it
 * first), so a journal opened and polled is parsed once, not twice.
 * ev NULL: nothing in it for the scan (over-long, or not a record). */
static void scan_along(struct sr_journal *j, const struct sr_jevent *ev, size_t len, long lineno,
                       long long off)
{
	if (!j || off != j->scan_off)
		return;
	if (ev)
		scan_event(j, ev);
	j->scan_off = off + (long long)len + 1;
	j->scan_line = lineno;
}

static void deliver_line(void *ctx, const char *line, size_t len, long lineno, long long off)
{
	struct deliver *d = ctx;
	char why[200], msg[260];
	if (!line) {
		scan_along(d->j, NULL, len, lineno, off);
		if (d->issue) {
			msgf(msg, sizeof msg, "line %ld: longer than %u bytes (%zu); skipped",
			     lineno, JOURNAL_LINE_MAX, len);
			d->issue(d->ud, lineno, off, msg);
		}
		return;
	}
	struct sr_jevent ev;
	struct sr_jbody body;
	json_t *o = NULL;
	const struct own_quiet *q = d->j ? quiet_line(d->j, line, len, off) : NULL;
	bool quiet = q && own_take(d->j, q->seq);
	if (quiet) {
		/* our own obs record, exactly as written and not yet delivered:
		 * what it says is known and changes no state, and no one reads
		 * the fields of one's own obs record (a follower evaluates the
		 * leader's); they read as an empty object. Anything else (a
		 * line read again after a rewind) is parsed in full. */
		memset(&ev, 0, sizeof ev);
		ev.seq = q->seq;
		ev.at = q->at;
		ev.type = SR_J_OBS;
		ev.type_name = journal_type_name(SR_J_OBS);
		ev.actor = "";
		ev.obj = empty_object();
	} else if (skim_line(line, len, &body, &ev) == 0) {
		/* a bulky record: checked whole, its body parsed if read */
	} else if (journal_parse_line(line, len, &ev, &o, why, sizeof why) < 0) {
		scan_along(d->j, NULL, len, lineno, off);
		if (d->issue) {
			msgf(msg, sizeof msg, "line %ld: %s; skipped", lineno, why);
			d->issue(d->ud, lineno, off, msg);
		}
		return;
	}
	if (ev.seq <= d->prev_seq && d->issue) {
		msgf(msg, sizeof msg, "line %ld: seq %lld after seq %lld (out of order)", lineno,
		     ev.seq, d->prev_seq);
		d->issue(d->ud, lineno, off, msg);
	}
	if (ev.seq > d->prev_seq)
		d->prev_seq = ev.seq;
	/* a line the scan has not read yet: it reads it now, from this parse
	 * (an own obs line delivered unparsed: its seq, as scan_line) */
	scan_along(d->j, &ev, len, lineno, off);
	ev.line = lineno;
	ev.offset = off;
	ev.own = quiet || (d->j ? own_take(d->j, ev.seq) : false);
	d->count++;
	if (d->cb)
		d->cb(d->ud, &ev);
	json_decref(o);
	if (ev.body) {
		if (ev.body->why[0] && d->issue) {
			msgf(msg, sizeof msg,
			     "line %ld: not valid JSON (%s); its fields read as absent", lineno,
			     ev.body->why);
			d->issue(d->ud, lineno, off, msg);
		}
		json_decref(ev.body->obj);
	}
}

int journal_poll(struct sr_journal *j, sr_jevent_cb cb, sr_jissue_cb issue, void *ud)
{
	if (j->store) {
		/* another service's records (the leader's, a predecessor's) */
		char err[256];
		if (append_lock(j, err, sizeof err) == 0) {
			store_catch_up_locked(j, err, sizeof err);
			append_unlock(j);
		}
	}
	struct deliver d = {.j = j, .cb = cb, .issue = issue, .ud = ud};
	/* out-of-order checks continue from where the last poll ended */
	d.prev_seq = j->poll_seq;
	int r = read_lines(j->fd, &j->poll_off, &j->poll_line, deliver_line, &d);
	j->poll_seq = d.prev_seq;
	return r < 0 ? -1 : d.count;
}

int journal_replay(const char *path, sr_jevent_cb cb, sr_jissue_cb issue, void *ud, char *err,
                   size_t n)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		msgf(err, n, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* Only a regular file has an end: /dev/zero is one endless line
	 * and a FIFO or a terminal can block for ever. */
	struct stat fst = {0};
	if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
		msgf(err, n, "%s is not a regular file (%s): a journal is a file", path,
		     S_ISCHR(fst.st_mode)    ? "a character device"
		     : S_ISFIFO(fst.st_mode) ? "a FIFO"
		     : S_ISDIR(fst.st_mode)  ? "a directory"
		     : S_ISBLK(fst.st_mode)  ? "a block device"
		     : S_ISSOCK(fst.st_mode) ? "a socket"
		                             : "not readable as a file");
		close(fd);
		return -1;
	}
	struct deliver d = {.cb = cb, .issue = issue, .ud = ud};
	long long off = 0;
	long line = 0;
	int r = read_lines(fd, &off, &line, deliver_line, &d);
	struct stat st;
	if (r == 0 && fstat(fd, &st) == 0 && off < (long long)st.st_size && issue) {
		char msg[200];
		msgf(msg, sizeof msg,
		     "torn last line at offset %lld: %lld bytes without a newline (a write cut "
		     "short); not parsed",
		     off, (long long)st.st_size - off);
		issue(ud, line + 1, off, msg);
	}
	close(fd);
	if (r < 0) {
		msgf(err, n, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	return d.count;
}

/* ---- reconciliation
 * -------------------------------------------------------------------------------- */

bool journal_pending_intent(struct sr_journal *j, struct sr_jintent *out)
{
	scan_catch_up(j);
	if (j->npending == 0)
		return false;
	*out = j->pending[0];
	return true;
}

/* ---- replay into a rollout
 * ----------------------------------------------------------------------------- */

void journal_replay_init(struct sr_replay *rp, struct sr_rollout *ro, const struct sr_policy *p)
{
	memset(rp, 0, sizeof *rp);
	rp->ro = ro;
	rp->policy = p;
}

static int action_kind(const char *name)
{
	for (int a = 0; a < SR_ACT_COUNT; a++)
		if (name && strcmp(name, sr_action_name((enum sr_action_kind)a)) == 0)
			return a;
	return -1;
}

/* The one place an action becomes a state change during replay. */
static int apply_action(struct sr_replay *rp, int kind, const struct sr_jintent *it, int readback,
                        sr_ms at, char *why, size_t n)
{
	struct sr_rollout *r = rp->ro;
	const struct sr_policy *p = rp->policy;
	int rc;
	switch (kind) {
	case SR_ACT_PROMOTE:
		/* the target: an ok outcome means the edge read back the target */
		rc = rollout_promote(r, p, it->weight >= 0 ? it->weight : readback, at, why, n);
		break;
	case SR_ACT_ROLLBACK: rc = rollout_rollback(r, p, it->actor, it->reason, at, why, n); break;
	case SR_ACT_HOLD: rc = rollout_hold(r, it->actor, it->reason, at, why, n); break;
	case SR_ACT_RESUME: rc = rollout_resume(r, at, why, n); break;
	case SR_ACT_APPROVE:
		rc = rollout_approve(r, p, it->gate, it->actor, at, why, n);
		if (rc == 0)
			rollout_approval_reason(r, it->actor, at, it->reason);
		break;
	case SR_ACT_TICK:
		rc = rollout_tick(r, p, it->checklist, it->item, it->actor, at, why, n);
		break;
	case SR_ACT_TIEBREAK: {
		/* the overnight hold is a time-driven state the engine derived;
		 * the record carries its end so replay sees the same hold */
		sr_ms until = it->overnight_until;
		if (r->overnight_until == 0 && until > at) {
			r->overnight_until = until;
			r->overnight_since = at;
		}
		rc = rollout_tiebreak(r, it->actor, at, why, n);
		break;
	}
	case SR_ACT_DECLARE_SUCCESS: rc = rollout_declare_success(r, at, why, n); break;
	case SR_ACT_UNTICK: rc = rollout_untick(r, p, it->checklist, it->item, at, why, n); break;
	case SR_ACT_NOTE: rc = rollout_note(r, it->actor, it->reason, at, why, n); break;
	default: msgf(why, n, "unknown action \"%s\"", it->action); return -1;
	}
	if (rc == 0)
		rp->applied++;
	return rc;
}

static int type_action(enum sr_jtype t)
{
	switch (t) {
	case SR_J_APPROVAL: return SR_ACT_APPROVE;
	case SR_J_TICK: return SR_ACT_TICK;
	case SR_J_HOLD: return SR_ACT_HOLD;
	case SR_J_RESUME: return SR_ACT_RESUME;
	case SR_J_TIEBREAK: return SR_ACT_TIEBREAK;
	case SR_J_SUCCESS: return SR_ACT_DECLARE_SUCCESS;
	case SR_J_UNTICK: return SR_ACT_UNTICK;
	case SR_J_NOTE: return SR_ACT_NOTE;
	default: return -1;
	}
}

int journal_apply(struct sr_replay *rp, const struct sr_jevent *ev, char *why, size_t n)
{
	if (why && n)
		why[0] = '\0';
	if (ev->type == SR_J_START) {
		/* a later start begins a new rollout in the same state dir */
		rollout_init(rp->ro, rp->policy, jint_or(journal_event_obj(ev), "t0", ev->at));
		rp->started = true;
		rp->npending = 0;
		char want[40];
		snprintf(want, sizeof want, "fnv1a64:%016llx",
		         (unsigned long long)rp->policy->hash);
		const char *got = journal_event_str(ev, "policy_hash", "");
		if (strcmp(got, want) != 0) {
			char g[40];
			sr_sanitize(g, got, sizeof g);
			msgf(why, n,
			     "the journal was started under policy %s; the loaded policy is %s", g,
			     want);
			return 1;
		}
		return 0;
	}
	if (ev->type == SR_J_EDGE) {
		/* what the edge really showed: a rollback stays possible */
		const json_t *o = journal_event_obj(ev);
		json_t *a = json_object_get(o, "anomaly"), *w = json_object_get(o, "weight");
		rp->ro->edge_anomaly_weight = json_is_true(a) && json_is_integer(w) &&
		                                      json_integer_value(w) > 0 &&
		                                      json_integer_value(w) <= 100
		                                  ? (int)json_integer_value(w)
		                                  : 0;
		return 0;
	}
	bool acts = ev->type == SR_J_INTENT || ev->type == SR_J_OUTCOME ||
	            ev->type == SR_J_RECONCILE || type_action(ev->type) >= 0;
	if (!acts)
		return 0; /* observations and notes change no state */
	if (!rp->started) {
		msgf(why, n, "%s before the start record", ev->type_name);
		return -1;
	}
	if (ev->type == SR_J_INTENT) {
		if (rp->npending == JOURNAL_REPLAY_PENDING) {
			memmove(&rp->pending[0], &rp->pending[1],
			        (JOURNAL_REPLAY_PENDING - 1) * sizeof rp->pending[0]);
			rp->npending--;
		}
		intent_from_event(ev, &rp->pending[rp->npending++]);
		return 0;
	}
	if (ev->type == SR_J_OUTCOME || ev->type == SR_J_RECONCILE) {
		const char *key = journal_event_str(ev, "key", "");
		int i;
		for (i = 0; i < rp->npending; i++)
			if (strcmp(rp->pending[i].key, key) == 0)
				break;
		if (i == rp->npending) {
			char k[JOURNAL_KEY_LEN];
			sr_sanitize(k, key, sizeof k);
			msgf(why, n, "%s for key %s without its intent", ev->type_name, k);
			return -1;
		}
		struct sr_jintent it = rp->pending[i];
		memmove(&rp->pending[i], &rp->pending[i + 1],
		        (size_t)(rp->npending - i - 1) * sizeof rp->pending[0]);
		rp->npending--;
		if (strcmp(journal_event_str(ev, "result", ""), "ok") != 0)
			return 0; /* a failed action changed nothing */
		/* the intent holds the details; the outcome the read-back */
		return apply_action(rp, action_kind(it.action), &it,
		                    (int)jint_or(journal_event_obj(ev), "weight", -1), ev->at, why,
		                    n);
	}
	struct sr_jintent it;
	intent_from_event(ev, &it);
	return apply_action(rp, type_action(ev->type), &it, -1, ev->at, why, n);
}

int journal_snapshot_control(const struct sr_jevent *ev, const struct sr_policy *p, double *control,
                             int ncells)
{
	for (int c = 0; c < ncells; c++)
		control[c] = NAN;
	if (ev->type != SR_J_SNAPSHOT)
		return 0;
	const json_t *cells = json_object_get(journal_event_obj(ev), "cells");
	if (!json_is_array(cells))
		return 0;
	int found = 0;
	size_t i;
	const json_t *o;
	json_array_foreach(cells, i, o)
	{
		int k = policy_kpi_index(p, jstr_or(o, "kpi", ""));
		const char *jid = jstr_or(o, "journey", NULL);
		int jn = jid ? policy_journey_index(p, jid) : -1;
		if (k < 0 || (jid && jn < 0))
			continue;
		int c = policy_cell_index(p, k, jn);
		const json_t *v = json_object_get(o, "control");
		if (c < 0 || c >= ncells || !json_is_number(v))
			continue;
		control[c] = json_number_value(v);
		found++;
	}
	return found;
}
