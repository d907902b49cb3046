/* store.c - the journal's records in etcd (store.h).
 *
 * Why each txn is shaped as it is:
 *   - the fence (leader key's create revision) makes a commit and the
 *     right to write one a single atomic step: a leader paused past its
 *     lease finds, when it wakes, that its first write fails, and so
 *     acts on nothing (the intent of an action is such a write);
 *   - "j/<seq-1> exists and j/<seq> does not" keeps the journal without
 *     gaps and never overwrites a record, whoever else writes;
 *   - on failure the same txn reads back the leader key and j/<seq>, so
 *     the caller learns in one round trip whether it was deposed or only
 *     behind.
 */
#include "shiproom/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shiproom/common.h"

#define KEY_LEN (SR_ETCD_PREFIX_LEN + 48)
#define PULL_BATCH 512

struct sr_store {
	struct sr_etcd *etcd;
	char prefix[SR_ETCD_PREFIX_LEN];
	char leader_key[KEY_LEN];
	char host[96];
	long long fence;
	bool down;
	long long down_since;
};

/* messages are bounded: a cut one is intended (common.h) */
#define msgf sr_msgf

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sr_store *store_open_etcd(struct sr_etcd *e, const char *prefix, const char *host)
{
	struct sr_store *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->etcd = e;
	sr_strlcpy(st->prefix, prefix, sizeof st->prefix);
	/* a trailing slash would double in every key */
	size_t pl = strlen(st->prefix);
	while (pl > 1 && st->prefix[pl - 1] == '/')
		st->prefix[--pl] = '\0';
	snprintf(st->leader_key, sizeof st->leader_key, "%s/leader", st->prefix);
	sr_strlcpy(st->host, host ? host : "", sizeof st->host);
	return st;
}

void store_close(struct sr_store *st)
{
	free(st);
}

const char *store_prefix(const struct sr_store *st)
{
	return st->prefix;
}

struct sr_etcd *store_etcd(const struct sr_store *st)
{
	return st->etcd;
}

void store_set_fence(struct sr_store *st, long long create_revision)
{
	st->fence = create_revision;
}

long long store_fence(const struct sr_store *st)
{
	return st->fence;
}

const char *store_leader_key(const struct sr_store *st)
{
	return st->leader_key;
}

bool store_available(const struct sr_store *st, long long *since_ms)
{
	if (since_ms)
		*since_ms = st->down ? st->down_since : 0;
	return !st->down;
}

/* Every etcd answer passes through here: it is what says whether the
 * store is up. */
static int seen(struct sr_store *st, int etcd_rc)
{
	if (etcd_rc == SR_ETCD_UNAVAILABLE) {
		if (!st->down) {
			st->down = true;
			st->down_since = wall_ms();
		}
		return SR_STORE_UNAVAILABLE;
	}
	if (etcd_rc == SR_ETCD_OK) {
		st->down = false;
		st->down_since = 0;
		return SR_STORE_OK;
	}
	return etcd_rc == SR_ETCD_FULL ? SR_STORE_FULL : SR_STORE_FAILED;
}

static void jkey(const struct sr_store *st, long long seq, char *out, size_t n)
{
	snprintf(out, n, "%s/j/%020lld", st->prefix, seq);
}

static long long seq_of_key(const struct sr_store *st, const char *key)
{
	size_t pl = strlen(st->prefix);
	if (strncmp(key, st->prefix, pl) != 0 || strncmp(key + pl, "/j/", 3) != 0)
		return -1;
	char *end;
	long long s = strtoll(key + pl + 3, &end, 10);
	return *end ? -1 : s;
}

/* The commit's txn; spool_id: also create <prefix>/spool/<id> (a spool
 * merge), and fail if it exists. */
static int commit_txn(struct sr_store *st, long long seq, const char *line, size_t len, bool fenced,
                      const char *spool_id, bool *spool_done, char *err, size_t n)
{
	char key[KEY_LEN], prev[KEY_LEN], skey[KEY_LEN + 128];
	jkey(st, seq, key, sizeof key);
	jkey(st, seq - 1, prev, sizeof prev);
	struct sr_etcd_cmp cmp[4];
	int nc = 0;
	if (fenced) {
		if (st->fence <= 0) {
			msgf(err, n, "not the leader: this service does not write the journal");
			return SR_STORE_FENCED;
		}
		cmp[nc++] = (struct sr_etcd_cmp){.key = st->leader_key,
		                                 .target = SR_ETCD_CMP_CREATE,
		                                 .result = SR_ETCD_EQ,
		                                 .num = st->fence};
	}
	if (seq > 1)
		cmp[nc++] = (struct sr_etcd_cmp){
		    .key = prev, .target = SR_ETCD_CMP_CREATE, .result = SR_ETCD_GT, .num = 0};
	cmp[nc++] = (struct sr_etcd_cmp){
	    .key = key, .target = SR_ETCD_CMP_CREATE, .result = SR_ETCD_EQ, .num = 0};
	struct sr_etcd_op ok[2];
	int nok = 0;
	ok[nok++] = (struct sr_etcd_op){
	    .kind = SR_ETCD_OP_PUT, .key = key, .value = line, .vlen = len};
	if (spool_id) {
		snprintf(skey, sizeof skey, "%s/spool/%s", st->prefix, spool_id);
		cmp[nc++] = (struct sr_etcd_cmp){
		    .key = skey, .target = SR_ETCD_CMP_CREATE, .result = SR_ETCD_EQ, .num = 0};
		ok[nok++] = (struct sr_etcd_op){
		    .kind = SR_ETCD_OP_PUT, .key = skey, .value = key, .vlen = strlen(key)};
	}
	struct sr_etcd_op fail[3] = {
	    {.kind = SR_ETCD_OP_RANGE, .key = st->leader_key},
	    {.kind = SR_ETCD_OP_RANGE, .key = key},
	    {.kind = SR_ETCD_OP_RANGE, .key = spool_id ? skey : key},
	};
	bool succeeded = false;
	struct sr_etcd_kvs got = {0};
	int rc = etcd_txn(st->etcd, cmp, nc, ok, nok, fail, spool_id ? 3 : 2, &succeeded, &got,
	                  NULL, err, n);
	rc = seen(st, rc);
	if (rc != SR_STORE_OK) {
		etcd_kvs_free(&got);
		return rc;
	}
	if (succeeded) {
		etcd_kvs_free(&got);
		return SR_STORE_OK;
	}
	/* Why: the leader key, then j/<seq>, then the spool marker. */
	const struct sr_etcd_kv *leader = NULL, *taken = NULL, *marker = NULL;
	for (int i = 0; i < got.n; i++) {
		if (strcmp(got.kv[i].key, st->leader_key) == 0)
			leader = &got.kv[i];
		else if (strcmp(got.kv[i].key, key) == 0)
			taken = &got.kv[i];
		else if (spool_id && strcmp(got.kv[i].key, skey) == 0)
			marker = &got.kv[i];
	}
	if (fenced && (!leader || leader->create_revision != st->fence)) {
		msgf(err, n,
		     "lost the leadership: the leader key is %s (this service won it at revision "
		     "%lld): not writing, not acting",
		     leader ? "another service's" : "gone", st->fence);
		etcd_kvs_free(&got);
		return SR_STORE_FENCED;
	}
	if (marker) {
		if (spool_done)
			*spool_done = true;
		etcd_kvs_free(&got);
		return SR_STORE_OK; /* this spooled record landed in an earlier merge */
	}
	if (taken && taken->vlen == len && memcmp(taken->value, line, len) == 0) {
		/* Our own write: a member that timed out had applied it before
		 * the client moved on to the next one, whose compare then found
		 * it. It is committed, once. */
		etcd_kvs_free(&got);
		return SR_STORE_OK;
	}
	msgf(err, n,
	     taken ? "journal record %lld exists already: another writer was first"
	           : "journal record %lld would leave a gap: %lld is not in the store",
	     seq, seq - 1);
	etcd_kvs_free(&got);
	return SR_STORE_CONFLICT;
}

int store_commit(struct sr_store *st, long long seq, const char *line, size_t len, char *err,
                 size_t n)
{
	return commit_txn(st, seq, line, len, true, NULL, NULL, err, n);
}

int store_import_line(struct sr_store *st, long long seq, const char *line, size_t len, char *err,
                      size_t n)
{
	return commit_txn(st, seq, line, len, false, NULL, NULL, err, n);
}

int store_pull(struct sr_store *st, long long after, long long max, sr_store_line_fn fn, void *ud,
               char *err, size_t n)
{
	char from[KEY_LEN], end[KEY_LEN];
	jkey(st, after + 1, from, sizeof from);
	char jprefix[KEY_LEN];
	snprintf(jprefix, sizeof jprefix, "%s/j/", st->prefix);
	etcd_prefix_end(jprefix, end, sizeof end);
	int total = 0;
	long long expect = after + 1;
	for (;;) {
		long long want = PULL_BATCH;
		if (max > 0 && max - total < want)
			want = max - total;
		if (want <= 0)
			break;
		struct sr_etcd_kvs kvs = {0};
		int rc = seen(st, etcd_range(st->etcd, from, end, want, &kvs, err, n));
		if (rc != SR_STORE_OK) {
			etcd_kvs_free(&kvs);
			return rc;
		}
		for (int i = 0; i < kvs.n; i++) {
			long long seq = seq_of_key(st, kvs.kv[i].key);
			if (seq != expect) {
				msgf(
				    err, n,
				    "the store's journal has a gap: record %lld where %lld was due",
				    seq, expect);
				etcd_kvs_free(&kvs);
				return SR_STORE_FAILED;
			}
			if (fn(ud, seq, kvs.kv[i].value, kvs.kv[i].vlen) != 0) {
				etcd_kvs_free(&kvs);
				return total;
			}
			expect++;
			total++;
		}
		bool more = kvs.more;
		etcd_kvs_free(&kvs);
		if (!more)
			break;
		jkey(st, expect, from, sizeof from);
	}
	return total;
}

long long store_head(struct sr_store *st, char *err, size_t n)
{
	/* The last key of the range: etcd's range has no reverse order in
	 * the gateway's defaults, so ask for keys only, sorted descending. A
	 * count-only range would not say which seq; a limit-1 range with
	 * sort_order DESCEND does (etcd_range_last). */
	char jprefix[KEY_LEN], end[KEY_LEN];
	snprintf(jprefix, sizeof jprefix, "%s/j/", st->prefix);
	etcd_prefix_end(jprefix, end, sizeof end);
	struct sr_etcd_kvs kvs = {0};
	int rc = seen(st, etcd_range_last(st->etcd, jprefix, end, &kvs, err, n));
	if (rc != SR_STORE_OK) {
		etcd_kvs_free(&kvs);
		return rc;
	}
	long long head = kvs.n > 0 ? seq_of_key(st, kvs.kv[0].key) : 0;
	etcd_kvs_free(&kvs);
	return head;
}

int store_get(struct sr_store *st, long long seq, char **line, size_t *len, char *err, size_t n)
{
	char key[KEY_LEN];
	jkey(st, seq, key, sizeof key);
	struct sr_etcd_kvs kvs = {0};
	int rc = seen(st, etcd_range(st->etcd, key, NULL, 1, &kvs, err, n));
	if (rc != SR_STORE_OK) {
		etcd_kvs_free(&kvs);
		return rc;
	}
	if (kvs.n == 0) {
		etcd_kvs_free(&kvs);
		return 1;
	}
	*line = kvs.kv[0].value;
	*len = kvs.kv[0].vlen;
	kvs.kv[0].value = NULL; /* handed over */
	etcd_kvs_free(&kvs);
	return SR_STORE_OK;
}

int store_probe(struct sr_store *st, char *err, size_t n)
{
	long long h = store_head(st, err, n);
	return h < 0 ? (int)h : SR_STORE_OK;
}

/* ---- the spool ------------------------------------------------------------ */

int store_spool_append(const char *spool_path, long long seq, const char *line, size_t len,
                       char *err, size_t n)
{
	json_t *o = json_pack("{s:I, s:s%}", "seq", (json_int_t)seq, "line", line, len);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		msgf(err, n, "cannot encode a spool record");
		return -1;
	}
	int fd = open(spool_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		msgf(err, n, "cannot open the spool %s: %s", spool_path, strerror(errno));
		free(text);
		return -1;
	}
	size_t tl = strlen(text);
	text[tl] = '\n';
	struct stat sb;
	off_t was = fstat(fd, &sb) == 0 ? sb.st_size : 0;
	ssize_t w;
	do
		w = write(fd, text, tl + 1);
	while (w < 0 && errno == EINTR);
	free(text);
	int rc = 0;
	if (w != (ssize_t)(tl + 1) || fsync(fd) != 0) {
		/* never a half line: cut back */
		if (ftruncate(fd, was) == 0)
			fsync(fd);
		msgf(err, n, "cannot write the spool %s: %s", spool_path,
		     strerror(w < 0 ? errno : ENOSPC));
		rc = -1;
	}
	close(fd);
	return rc;
}

bool store_spool_pending(const char *spool_path)
{
	struct stat sb;
	return stat(spool_path, &sb) == 0 && sb.st_size > 0;
}

/* A spooled line put at another seq: its seq rewritten, and marked. */
static char *resequenced_line(const char *line, long long old_seq, long long new_seq,
                              const char *host)
{
	json_error_t je;
	json_t *o = json_loads(line, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "seq", json_integer(new_seq));
	json_t *w = json_object_get(o, "wall");
	json_object_set_new(o, "spooled",
	                    json_pack("{s:I, s:O, s:s}", "seq", (json_int_t)old_seq, "wall",
	                              w ? w : json_null(), "host", host));
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(o);
	return text;
}

int store_spool_merge(struct sr_store *st, const char *spool_path, bool fenced, bool *resequenced,
                      int *merged, char *err, size_t n)
{
	*resequenced = false;
	*merged = 0;
	FILE *f = fopen(spool_path, "r");
	if (!f) {
		if (errno == ENOENT)
			return SR_STORE_OK;
		msgf(err, n, "cannot read the spool %s: %s", spool_path, strerror(errno));
		return SR_STORE_FAILED;
	}
	char *buf = NULL;
	size_t cap = 0;
	ssize_t got;
	int rc = SR_STORE_OK;
	long lineno = 0;
	while (rc == SR_STORE_OK && (got = getline(&buf, &cap, f)) > 0) {
		lineno++;
		if (buf[got - 1] != '\n')
			break; /* a torn last spool line was never acted on (fsync order) */
		json_error_t je;
		json_t *o = json_loadb(buf, (size_t)got - 1, 0, &je);
		json_t *jl = json_object_get(o, "line");
		long long seq = json_integer_value(json_object_get(o, "seq"));
		if (!json_is_string(jl) || seq <= 0) {
			json_decref(o);
			continue; /* not ours to interpret: kept in the file for a person */
		}
		const char *line = json_string_value(jl);
		size_t len = json_string_length(jl);
		char id[160];
		snprintf(id, sizeof id, "%s.%lld.%ld", st->host, seq, lineno);
		for (char *p = id; *p; p++)
			if (*p == '/')
				*p = '_';
		bool done = false;
		long long at = seq;
		char *moved = NULL;
		for (int tries = 0; tries < 1000; tries++) {
			rc = commit_txn(st, at, moved ? moved : line, moved ? strlen(moved) : len,
			                fenced, id, &done, err, n);
			if (rc != SR_STORE_CONFLICT)
				break;
			/* someone wrote at its seq: it goes at the head instead */
			long long head = store_head(st, err, n);
			if (head < 0) {
				rc = (int)head;
				break;
			}
			at = head + 1;
			free(moved);
			moved = resequenced_line(line, seq, at, st->host);
			*resequenced = true;
			if (!moved) {
				msgf(err, n, "spool line %ld is not a record", lineno);
				rc = SR_STORE_FAILED;
				break;
			}
		}
		free(moved);
		json_decref(o);
		if (rc == SR_STORE_OK && !done)
			(*merged)++;
	}
	free(buf);
	fclose(f);
	if (rc == SR_STORE_OK && unlink(spool_path) != 0 && errno != ENOENT) {
		msgf(err, n, "merged, but cannot remove the spool %s: %s", spool_path,
		     strerror(errno));
		return SR_STORE_FAILED;
	}
	return rc;
}
