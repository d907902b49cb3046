/* test_journal.c - the audit journal: round trip into the rollout, torn
 * and malformed lines, pending intents, the action lock across processes,
 * polling another handle's appends, sanitising, the state dir.
 *
 * Runs on the shipped policy (config/shiproom.json) in a fresh temporary
 * state dir per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shiproom/journal.h"

#include "fsize_helper.h"

#define T0 1760000400000LL
#define MIN SR_MS_PER_MIN

static struct sr_policy *g_policy;

static int load_policy(void **state)
{
	(void)state;
	g_policy = calloc(1, sizeof *g_policy);
	struct sr_policy_error perr;
	if (!g_policy ||
	    policy_load_file(g_policy, SR_DATADIR "/config/shiproom.json", &perr) < 0) {
		char b[700];
		policy_error_format(&perr, b, sizeof b);
		fprintf(stderr, "test_journal: %s\n", b);
		return -1;
	}
	return 0;
}

static int free_policy(void **state)
{
	(void)state;
	free(g_policy);
	return 0;
}

/* A fresh state dir for each test, removed afterwards. */
static char g_dir[64];

static int dir_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/sr-journal-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct sr_journal *jopen(struct sr_journal_open_info *info)
{
	char err[300] = "";
	struct sr_journal *j = journal_open(g_dir, info, err, sizeof err);
	if (!j)
		fail_msg("journal_open: %s", err);
	return j;
}

static char *jpath(char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", g_dir, JOURNAL_FILE);
	return buf;
}

#define OK(call)                                                                                   \
	do {                                                                                       \
		char err_[300] = "";                                                               \
		if ((call) != 0)                                                                   \
			fail_msg("%s: %s", #call, err_);                                           \
	} while (0)
/* (the macro's err_ is what the call fills: every writer takes err_, sizeof err_) */
#define E err_, sizeof err_

/* ---- collecting what the readers deliver ------------------------------------- */

#define MAXEV 128

struct seen {
	int n;
	long long seq[MAXEV];
	enum sr_jtype type[MAXEV];
	long line[MAXEV];
	bool own[MAXEV];
	char text[MAXEV][600];
	int nissues;
	long issue_line[16];
	long long issue_off[16];
	char issue[16][300];
	/* replay into a rollout as events arrive */
	struct sr_replay *rp;
	int apply_fail;
	char apply_why[300];
};

static void on_event(void *ud, const struct sr_jevent *ev)
{
	struct seen *s = ud;
	if (s->n < MAXEV) {
		s->seq[s->n] = ev->seq;
		s->type[s->n] = ev->type;
		s->line[s->n] = ev->line;
		s->own[s->n] = ev->own;
		char *t = json_dumps(journal_event_obj(ev), JSON_COMPACT);
		snprintf(s->text[s->n], sizeof s->text[0], "%s", t ? t : "");
		free(t);
		s->n++;
	}
	if (s->rp) {
		char why[300];
		if (journal_apply(s->rp, ev, why, sizeof why) < 0) {
			s->apply_fail++;
			snprintf(s->apply_why, sizeof s->apply_why, "%s", why);
		}
	}
}

static void on_issue(void *ud, long line, long long off, const char *msg)
{
	struct seen *s = ud;
	if (s->nissues < 16) {
		s->issue_line[s->nissues] = line;
		s->issue_off[s->nissues] = off;
		snprintf(s->issue[s->nissues], sizeof s->issue[0], "%s", msg);
		s->nissues++;
	}
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void raw_append(const char *path, const char *bytes)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	close(fd);
}

/* ---- writing a rollout, and what the rollout_* functions make of it ---------- */

static struct sr_jaction act(const char *name)
{
	return (struct sr_jaction){.action = name, .weight = -1, .gate = -1};
}

/* An edge-moving action: intent, then outcome. */
static void edge_action(struct sr_journal *j, sr_ms at, const char *actor, const char *name,
                        int weight, bool drain, const char *reason, bool ok)
{
	char key[JOURNAL_KEY_LEN];
	journal_make_key(key, sizeof key);
	struct sr_jaction a = act(name);
	a.weight = weight;
	a.drain = drain;
	a.reason = reason;
	a.key = key;
	OK(journal_intent(j, at, actor, &a, E));
	OK(journal_outcome(j, at + 2000, actor, key, name, ok, ok ? weight : -1,
	                   ok ? NULL : "haproxy: connect: connection refused", 3, E));
}

static const char *const PREFLIGHT[] = {"roster_posted", "region_posted", "security_signoff",
                                        "dashboards_ready"};

/* The same story, written to the journal and applied directly. */
static void write_story(struct sr_journal *j, struct sr_rollout *expect)
{
	char why[300];
	rollout_init(expect, g_policy, T0);
	OK(journal_start(j, T0 - 130 * MIN, "dri", T0, g_policy->hash, g_policy->rollout, E));
	for (int i = 0; i < 4; i++) {
		struct sr_jaction a = act("tick");
		a.checklist = "preflight";
		a.item = PREFLIGHT[i];
		sr_ms at = T0 - (120 - i) * MIN;
		OK(journal_record(j, SR_J_TICK, at, "dri", &a, E));
		assert_int_equal(rollout_tick(expect, g_policy, "preflight", PREFLIGHT[i], "dri",
		                              at, why, sizeof why),
		                 0);
	}
	edge_action(j, T0, "dri", "promote", 5, false, "T-0", true);
	assert_int_equal(rollout_promote(expect, g_policy, 5, T0 + 2000, why, sizeof why), 0);

	struct sr_jaction h = act("hold");
	h.reason = "search P95 \"creeping\"";
	OK(journal_record(j, SR_J_HOLD, T0 + 30 * MIN, "dri", &h, E));
	assert_int_equal(rollout_hold(expect, "dri", h.reason, T0 + 30 * MIN, why, sizeof why), 0);
	struct sr_jaction r = act("resume");
	OK(journal_record(j, SR_J_RESUME, T0 + 40 * MIN, "dri", &r, E));
	assert_int_equal(rollout_resume(expect, T0 + 40 * MIN, why, sizeof why), 0);

	struct sr_jaction ap = act("approve");
	ap.gate = 0;
	OK(journal_record(j, SR_J_APPROVAL, T0 + 91 * MIN, "approver", &ap, E));
	assert_int_equal(
	    rollout_approve(expect, g_policy, 0, "approver", T0 + 91 * MIN, why, sizeof why), 0);
	edge_action(j, T0 + 92 * MIN, "dri", "promote", 25, false, "gate 1 GO", true);
	assert_int_equal(
	    rollout_promote(expect, g_policy, 25, T0 + 92 * MIN + 2000, why, sizeof why), 0);

	/* a failed promote changes nothing */
	edge_action(j, T0 + 211 * MIN, "dri", "promote", 50, false, "gate 2", false);

	/* engine observations in between are not state changes */
	OK(journal_status(j, T0 + 212 * MIN, g_policy, 0, SR_GREEN, SR_RED, "P95 171ms > 130ms",
	                  E));
	OK(journal_trigger(j, T0 + 212 * MIN, g_policy, 0, SR_TRIG_ARMED, SR_TRIG_FIRING,
	                   "P95 > 160", E));

	edge_action(j, T0 + 213 * MIN, "dri", "rollback", 0, true, "P95 > 160 ms on search", true);
	assert_int_equal(rollout_rollback(expect, g_policy, "dri", "P95 > 160 ms on search",
	                                  T0 + 213 * MIN + 2000, why, sizeof why),
	                 0);
}

static void assert_same_rollout(const struct sr_rollout *got, const struct sr_rollout *want)
{
	assert_int_equal(got->t0, want->t0);
	assert_int_equal(got->phase, want->phase);
	assert_int_equal(got->weight, want->weight);
	assert_int_equal(got->phase_entered, want->phase_entered);
	assert_int_equal(got->held, want->held);
	assert_int_equal(got->rolled_back, want->rolled_back);
	assert_int_equal(got->rolled_back_at, want->rolled_back_at);
	assert_string_equal(got->rolled_back_by, want->rolled_back_by);
	assert_string_equal(got->rollback_reason, want->rollback_reason);
	for (int g = 0; g < SR_MAX_GATES; g++) {
		assert_int_equal(got->gates[g].outcome, want->gates[g].outcome);
		assert_int_equal(got->gates[g].at, want->gates[g].at);
		assert_int_equal(got->gates[g].napprovals, want->gates[g].napprovals);
		for (int a = 0; a < want->gates[g].napprovals; a++)
			assert_string_equal(got->gates[g].approvals[a].who,
			                    want->gates[g].approvals[a].who);
	}
	for (int c = 0; c < SR_MAX_CHECKLISTS; c++)
		for (int i = 0; i < SR_MAX_ITEMS; i++) {
			assert_int_equal(got->ticks[c][i].done, want->ticks[c][i].done);
			assert_int_equal(got->ticks[c][i].at, want->ticks[c][i].at);
		}
	/* a whole-struct comparison catches any field missed above */
	assert_memory_equal(got, want, sizeof *got);
}

static void test_round_trip_rebuilds_rollout(void **state)
{
	(void)state;
	struct sr_journal_open_info info;
	struct sr_journal *j = jopen(&info);
	assert_true(info.created);
	assert_false(info.torn);
	struct sr_rollout *want = calloc(1, sizeof *want), *got = calloc(1, sizeof *got);
	write_story(j, want);
	assert_true(want->rolled_back);
	assert_int_equal(want->phase, 1); /* rolled back from 25 % */
	journal_close(j);

	/* postmortem replay of the file */
	struct sr_replay rp;
	memset(got, 0xA5, sizeof *got); /* replay must not depend on a zeroed target */
	journal_replay_init(&rp, got, g_policy);
	struct seen *s = calloc(1, sizeof *s);
	s->rp = &rp;
	char err[200];
	int n = journal_replay(jpath(err, sizeof err), on_event, on_issue, s, err, sizeof err);
	assert_int_equal(n, s->n);
	assert_int_equal(s->nissues, 0);
	assert_int_equal(s->apply_fail, 0);
	assert_int_equal(rp.npending, 0);
	assert_same_rollout(got, want);
	/* seq is 1..n in file order */
	for (int i = 0; i < s->n; i++) {
		assert_int_equal(s->seq[i], i + 1);
		assert_int_equal(s->line[i], i + 1);
	}
	assert_int_equal(s->type[0], SR_J_START);
	assert_int_equal(s->type[s->n - 1], SR_J_OUTCOME);
	/* the hold's reason is stored as data, quotes and all */
	bool found = false;
	for (int i = 0; i < s->n; i++)
		found = found || (s->type[i] == SR_J_HOLD &&
		                  strstr(s->text[i], "\"reason\":\"search P95 \\\"creeping\\\"\""));
	assert_true(found);

	/* the live console's way: a new handle polls the whole file once */
	memset(s, 0, sizeof *s);
	memset(got, 0, sizeof *got);
	journal_replay_init(&rp, got, g_policy);
	s->rp = &rp;
	j = jopen(&info);
	assert_false(info.created);
	assert_int_equal(journal_poll(j, on_event, on_issue, s), n);
	assert_int_equal(journal_poll(j, on_event, on_issue, s), 0); /* nothing new */
	assert_same_rollout(got, want);
	for (int i = 0; i < s->n; i++)
		assert_false(s->own[i]); /* written by another handle */
	struct sr_jintent pending;
	assert_false(journal_pending_intent(j, &pending));
	journal_close(j);
	free(s);
	free(want);
	free(got);
}

static void test_reconcile_applies_like_an_outcome(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	struct sr_jaction a = act("promote");
	a.weight = 5;
	a.key = "k-5";
	OK(journal_intent(j, T0, "dri", &a, E));
	OK(journal_reconcile(j, T0 + 60000, "dri", "k-5", "promote", true, 5,
	                     "edge shows 5 % after a restart", E));
	struct sr_rollout ro;
	struct sr_replay rp;
	journal_replay_init(&rp, &ro, g_policy);
	struct seen s = {.rp = &rp};
	assert_int_equal(journal_poll(j, on_event, on_issue, &s), 3);
	assert_int_equal(s.apply_fail, 0);
	assert_int_equal(ro.phase, 0);
	assert_int_equal(ro.weight, 5);
	assert_int_equal(ro.phase_entered, T0 + 60000);
	for (int i = 0; i < 3; i++)
		assert_true(s.own[i]); /* this handle wrote them */
	journal_close(j);
}

/* Our own obs records are read back without parsing them (journal.c:
 * struct own_quiet), and must read as the same event: seq, time, type,
 * own. A line at that place that is not exactly what was written (here
 * one character changed in the file) is parsed like any other, and
 * another handle parses them all. */
static void test_own_obs_read_back(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	long long seq[3];
	for (int i = 0; i < 3; i++)
		OK(journal_append(j, SR_J_OBS, T0 + i * 15000, "",
		                  json_pack("{s:i, s:s}", "n", 1, "b", "abcdef"), &seq[i], E));
	/* change the second obs line's "abcdef" to "abcdeg" in place */
	char path[700], buf[8192];
	int fd = open(jpath(path, sizeof path), O_RDWR);
	assert_true(fd >= 0);
	ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
	assert_true(got > 0);
	buf[got] = '\0';
	char *second = strstr(strstr(buf, "abcdef") + 1, "abcdef");
	assert_non_null(second);
	assert_int_equal(pwrite(fd, "g", 1, (off_t)(second - buf) + 5), 1);
	close(fd);
	struct seen s = {0};
	assert_int_equal(journal_poll(j, on_event, on_issue, &s), 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(s.seq[1 + i], seq[i]);
		assert_int_equal(s.type[1 + i], SR_J_OBS);
		assert_true(s.own[1 + i]);
	}
	assert_string_equal(s.text[1], "{}");                   /* known, not parsed */
	assert_non_null(strstr(s.text[2], "\"b\":\"abcdeg\"")); /* changed: parsed */
	assert_string_equal(s.text[3], "{}");
	/* the scan counted them all: the next record follows the last */
	long long next;
	OK(journal_append(j, SR_J_OBS, T0 + 60000, "", json_pack("{s:i}", "n", 1), &next, E));
	assert_int_equal(next, seq[2] + 1);
	/* another handle parses every line */
	struct sr_journal *k = jopen(NULL);
	struct seen t = {0};
	assert_int_equal(journal_poll(k, on_event, on_issue, &t), 5);
	assert_non_null(strstr(t.text[1], "\"b\":\"abcdef\""));
	assert_false(t.own[1]);
	journal_close(k);
	journal_close(j);
}

/* dir_teardown, and the file size limit lifted whatever the test did */
static int limit_teardown(void **state)
{
	fsize_limit(RLIM_INFINITY);
	return dir_teardown(state);
}

/* An obs record of about `bytes` bytes */
static json_t *obs_of_size(size_t bytes)
{
	char *b = malloc(bytes + 1);
	assert_non_null(b);
	memset(b, 'x', bytes);
	b[bytes] = '\0';
	json_t *f = json_pack("{s:i, s:s}", "n", 1, "b", b);
	free(b);
	return f;
}

/* The file refuses a record (here a file size limit, EFBIG, as a full
 * disk says ENOSPC): the journal says so until it has proof of room
 * again. A short record squeezed in below the limit is no proof; a
 * record as large as the refused one is, and so is a block's growth. No
 * line is ever left half written. */
static void test_refusal_lasts_until_room(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	char path[700], why[256], err[300];
	jpath(path, sizeof path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_false(journal_refusing(j, why, sizeof why));
	fsize_limit((rlim_t)st.st_size + 600);
	/* 2000 bytes do not fit: refused, nothing of it left behind */
	assert_int_equal(
	    journal_append(j, SR_J_OBS, T0 + 15000, "", obs_of_size(2000), NULL, err, sizeof err),
	    -1);
	if (!strstr(err, "File too large"))
		fail_msg("refused for another reason: %s", err);
	assert_true(journal_refusing(j, why, sizeof why));
	assert_string_equal(why, err);
	struct stat after;
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, st.st_size);
	/* 200 bytes fit under the limit: written, but no proof of room */
	OK(journal_append(j, SR_J_OBS, T0 + 30000, "", obs_of_size(200), NULL, E));
	assert_true(journal_refusing(j, NULL, 0));
	/* room again: a record as large as the refused one ends it */
	fsize_limit(RLIM_INFINITY);
	OK(journal_append(j, SR_J_OBS, T0 + 45000, "", obs_of_size(2000), NULL, E));
	assert_false(journal_refusing(j, NULL, 0));
	/* refused again; then small records that together grow the file by
	 * more than a block end it too */
	assert_int_equal(stat(path, &st), 0);
	fsize_limit((rlim_t)st.st_size + 600);
	assert_int_equal(
	    journal_append(j, SR_J_OBS, T0 + 60000, "", obs_of_size(9000), NULL, err, sizeof err),
	    -1);
	fsize_limit(RLIM_INFINITY);
	int small = 0;
	while (journal_refusing(j, NULL, 0)) {
		OK(journal_append(j, SR_J_OBS, T0 + 75000 + small * 15000, "", obs_of_size(500),
		                  NULL, E));
		small++;
		assert_true(small <= 10); /* 4096 bytes is 8 of them and a bit */
	}
	assert_true(small >= 7);
	/* every line whole: another handle reads them all, no issue */
	struct sr_journal *k = jopen(NULL);
	struct seen s = {0};
	assert_int_equal(journal_poll(k, on_event, on_issue, &s),
	                 3 + small); /* start, 200, 2000, small */
	assert_int_equal(s.nissues, 0);
	journal_close(k);
	journal_close(j);
}

static void test_apply_reports_what_it_cannot_apply(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	/* before any start */
	struct sr_jaction h = act("hold");
	OK(journal_record(j, SR_J_HOLD, T0, "dri", &h, E));
	/* a start under another policy */
	OK(journal_start(j, T0, "dri", T0, g_policy->hash ^ 1, "r", E));
	/* an outcome whose intent is not in the journal */
	OK(journal_outcome(j, T0, "dri", "ghost", "promote", true, 5, NULL, 1, E));
	/* a rollback before anything is deployed: the rollout refuses */
	char key[JOURNAL_KEY_LEN] = "k-rb";
	struct sr_jaction rb = act("rollback");
	rb.weight = 0;
	rb.key = key;
	OK(journal_intent(j, T0, "dri", &rb, E));
	OK(journal_outcome(j, T0, "dri", key, "rollback", true, 0, NULL, 1, E));

	struct sr_rollout ro;
	struct sr_replay rp;
	journal_replay_init(&rp, &ro, g_policy);
	char why[300];
	struct seen s = {0};
	assert_int_equal(journal_poll(j, on_event, NULL, &s), 5);
	journal_close(j);
	/* apply each by hand to see every answer */
	struct sr_jevent ev;
	json_t *o;
	int expect[] = {-1, 1, -1, 0, -1};
	const char *words[] = {"before the start", "policy fnv1a64:", "without its intent", "",
	                       "nothing to roll back"};
	for (int i = 0; i < 5; i++) {
		/* the text delivered by poll is the object; re-parse it as a line */
		assert_int_equal(
		    journal_parse_line(s.text[i], strlen(s.text[i]), &ev, &o, why, sizeof why), 0);
		int r = journal_apply(&rp, &ev, why, sizeof why);
		json_decref(o);
		assert_int_equal(r, expect[i]);
		if (*words[i] && !strstr(why, words[i]))
			fail_msg("event %d: \"%s\" lacks \"%s\"", i, why, words[i]);
	}
	assert_false(ro.rolled_back);
}

static void test_torn_last_line(void **state)
{
	(void)state;
	char path[200], err[200];
	jpath(path, sizeof path);
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	struct sr_jaction h = act("hold");
	OK(journal_record(j, SR_J_HOLD, T0, "dri", &h, E));
	journal_close(j);
	long long good = file_size(path);
	static const char torn[] = "{\"seq\":3,\"at\":1760000400000,\"type\":\"hol";
	raw_append(path, torn);

	/* read-only replay: reported with its offset, never parsed, file untouched */
	struct seen *s = calloc(1, sizeof *s);
	assert_int_equal(journal_replay(path, on_event, on_issue, s, err, sizeof err), 2);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->nissues, 1);
	assert_int_equal(s->issue_off[0], good);
	assert_int_equal(s->issue_line[0], 3);
	assert_non_null(strstr(s->issue[0], "torn last line"));
	char offs[32];
	snprintf(offs, sizeof offs, "offset %lld", good);
	assert_non_null(strstr(s->issue[0], offs));
	assert_int_equal(file_size(path), good + (long long)strlen(torn));

	/* open: moved aside, truncated, and the repair journaled */
	struct sr_journal_open_info info;
	j = jopen(&info);
	assert_true(info.torn);
	assert_int_equal(info.torn_offset, good);
	assert_int_equal(info.torn_bytes, strlen(torn));
	char saved[300];
	snprintf(saved, sizeof saved, "%s.torn-%lld", path, good);
	assert_string_equal(info.torn_saved, saved);
	FILE *f = fopen(saved, "r");
	assert_non_null(f);
	char back[200] = "";
	size_t got = fread(back, 1, sizeof back - 1, f);
	fclose(f);
	assert_int_equal(got, strlen(torn));
	assert_memory_equal(back, torn, got);

	memset(s, 0, sizeof *s);
	assert_int_equal(journal_poll(j, on_event, on_issue, s), 3);
	assert_int_equal(s->nissues, 0);
	assert_int_equal(s->type[2], SR_J_TORN);
	assert_int_equal(s->seq[2], 3);
	snprintf(offs, sizeof offs, "\"offset\":%lld", good);
	assert_non_null(strstr(s->text[2], offs));
	char bytes[32];
	snprintf(bytes, sizeof bytes, "\"bytes\":%zu", strlen(torn));
	assert_non_null(strstr(s->text[2], bytes));
	/* and the journal goes on normally */
	OK(journal_record(j, SR_J_RESUME, T0 + 1, "dri", &h, E));
	journal_close(j);
	memset(s, 0, sizeof *s);
	assert_int_equal(journal_replay(path, on_event, on_issue, s, err, sizeof err), 4);
	assert_int_equal(s->nissues, 0);
	assert_int_equal(s->seq[3], 4);
	free(s);
}

static void test_append_repairs_a_torn_tail_first(void **state)
{
	(void)state;
	char path[200];
	jpath(path, sizeof path);
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	/* another process crashed mid-line while this handle stayed open */
	long long good = file_size(path);
	raw_append(path, "{\"seq\":2,\"at\"");
	struct sr_jaction h = act("hold");
	OK(journal_record(j, SR_J_HOLD, T0, "dri", &h, E));
	struct seen s = {0};
	assert_int_equal(journal_poll(j, on_event, on_issue, &s), 3);
	assert_int_equal(s.nissues, 0);
	assert_int_equal(s.type[1], SR_J_TORN);
	assert_int_equal(s.type[2], SR_J_HOLD);
	char offs[40];
	snprintf(offs, sizeof offs, "\"offset\":%lld", good);
	assert_non_null(strstr(s.text[1], offs));
	journal_close(j);
}

static void test_malformed_lines_reported_with_numbers(void **state)
{
	(void)state;
	char path[200], err[200];
	jpath(path, sizeof path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	close(fd);
	raw_append(
	    path, "{\"seq\":1,\"at\":5,\"type\":\"start\",\"actor\":\"dri\",\"t0\":5}\n"
	          "this is not json\n"
	          "{\"seq\":2,\"at\":6,\"type\":\"hold\",\"actor\":\"dri\"}\n"
	          "{\"seq\":\"3\",\"at\":7,\"type\":\"hold\",\"actor\":\"dri\"}\n"
	          "[1,2,3]\n"
	          "\n"
	          "{\"seq\":4,\"at\":7,\"type\":\"hold\",\"actor\":\"dri\",\"actor\":\"mallory\"}\n"
	          "{\"seq\":5,\"at\":8,\"type\":\"from-the-future\",\"actor\":\"\"}\n"
	          "{\"seq\":3,\"at\":9,\"type\":\"resume\",\"actor\":\"dri\"}\n");
	struct seen s = {0};
	assert_int_equal(journal_replay(path, on_event, on_issue, &s, err, sizeof err), 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.type[2], SR_J_UNKNOWN); /* delivered, a newer writer's type */
	assert_int_equal(s.nissues, 6);
	long lines[] = {2, 4, 5, 6, 7, 9};
	const char *words[] = {"not valid JSON", "\"seq\"",   "not a JSON object",
	                       "empty line",     "duplicate", "out of order"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(s.issue_line[i], lines[i]);
		char want[16];
		snprintf(want, sizeof want, "line %ld:", lines[i]);
		assert_non_null(strstr(s.issue[i], want));
		if (!strstr(s.issue[i], words[i]))
			fail_msg("issue %d: \"%s\" lacks \"%s\"", i, s.issue[i], words[i]);
	}
	/* the offset points at the line's first byte */
	assert_int_equal(
	    s.issue_off[0],
	    (long long)strlen("{\"seq\":1,\"at\":5,\"type\":\"start\",\"actor\":\"dri\","
	                      "\"t0\":5}\n"));
}

static void test_pending_intent(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, "r", E));
	struct sr_jintent it;
	assert_false(journal_pending_intent(j, &it));
	edge_action(j, T0, "dri", "promote", 5, false, "T-0", true);
	assert_false(journal_pending_intent(j, &it));
	struct sr_jaction a = act("promote");
	a.weight = 25;
	a.key = "k-crash";
	a.reason = "gate 1";
	OK(journal_intent(j, T0 + 92 * MIN, "dri", &a, E));
	journal_close(j); /* the console died here */

	j = jopen(NULL);
	char why[200];
	assert_int_equal(journal_lock(j, "dri", "start-up", why, sizeof why), 0);
	assert_true(journal_pending_intent(j, &it));
	assert_string_equal(it.key, "k-crash");
	assert_string_equal(it.action, "promote");
	assert_string_equal(it.actor, "dri");
	assert_string_equal(it.reason, "gate 1");
	assert_int_equal(it.weight, 25);
	assert_int_equal(it.at, T0 + 92 * MIN);
	assert_int_equal(it.seq, 4);
	/* the edge shows 5 %: the promote never happened */
	OK(journal_reconcile(j, T0 + 100 * MIN, "dri", it.key, it.action, false, 5,
	                     "edge read back 5 % after restart", E));
	assert_false(journal_pending_intent(j, &it));
	journal_unlock(j);
	journal_close(j);
}

/* journal_open leaves the scan (last seq, open intents) to whoever needs
 * it first; the first poll scans as it reads, so a journal is parsed
 * once at start-up. Either order must give the same answers, and no line
 * may be scanned twice (an intent counted twice would stay open after its
 * reconcile). */
static void test_scan_rides_along_with_the_poll(void **state)
{
	(void)state;
	char path[200], why[200];
	jpath(path, sizeof path);
	for (int order = 0; order < 2; order++) {
		unlink(path);
		struct sr_journal *w = jopen(NULL);
		OK(journal_start(w, T0, "dri", T0, g_policy->hash, "r", E));
		edge_action(w, T0, "dri", "promote", 5, false, "T-0", true);
		struct sr_jaction a = act("promote");
		a.weight = 25;
		a.key = "k-open";
		a.reason = "gate 1";
		OK(journal_intent(w, T0 + 92 * MIN, "dri", &a, E));
		OK(journal_status(w, T0 + 93 * MIN, g_policy, 3, SR_GREEN, SR_YELLOW, "near", E));
		journal_close(w);
		raw_append(path, "{not json}\n");

		struct sr_journal *j = jopen(NULL);
		struct sr_jintent it;
		struct seen s = {0};
		if (order == 1) /* the scan first, then the poll */
			assert_true(journal_pending_intent(j, &it));
		assert_int_equal(journal_poll(j, on_event, on_issue, &s), 5);
		assert_int_equal(s.nissues, 1); /* the bad line: said once, by the poll */
		assert_true(journal_pending_intent(j, &it));
		assert_string_equal(it.key, "k-open");
		assert_int_equal(it.seq, 4);
		assert_int_equal(journal_lock(j, "dri", "start-up", why, sizeof why), 0);
		OK(journal_reconcile(j, T0 + 100 * MIN, "dri", it.key, it.action, false, 5,
		                     "edge read back 5 %", E));
		if (journal_pending_intent(j, &it))
			fail_msg("order %d: intent %s still open after its reconcile", order,
			         it.key);
		journal_unlock(j);
		/* the seq goes on from the last record, not from a partial scan */
		assert_int_equal(journal_poll(j, on_event, on_issue, &s), 1);
		assert_int_equal(s.seq[5], 6);
		journal_close(j);
	}
}

/* ---- bulky bodies, parsed when read ------------------------------------------- */

/* jansson's allocations, counted (json_set_alloc_funcs): a body parsed
 * is dozens of them, a line only looked at is none. */
static long g_jallocs;

static void *counting_malloc(size_t n)
{
	g_jallocs++;
	return malloc(n);
}

struct headers {
	int n;
	char labels[4][40];
	int nlabels;
	bool whole; /* read every body in full */
	struct seen issues;
	char dumps[3][600]; /* the first obs bodies as read, keys sorted */
	int ndumps;
};

static void on_header(void *ud, const struct sr_jevent *ev)
{
	struct headers *h = ud;
	h->n++;
	if (h->whole) {
		const json_t *o = journal_event_obj(ev);
		assert_non_null(o);
		if (ev->type == SR_J_OBS && h->ndumps < 3) {
			char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
			snprintf(h->dumps[h->ndumps++], sizeof h->dumps[0], "%s", t ? t : "");
			free(t);
		}
	}
	const char *label = journal_event_str(ev, "label", "");
	if (label[0] && h->nlabels < 4)
		snprintf(h->labels[h->nlabels++], sizeof h->labels[0], "%s", label);
}

static void on_header_issue(void *ud, long line, long long off, const char *msg)
{
	on_issue(&((struct headers *)ud)->issues, line, off, msg);
}

static void test_bulky_bodies_parsed_when_read(void **state)
{
	(void)state;
	char path[200], line[800];
	jpath(path, sizeof path);
	struct sr_journal *w = jopen(NULL);
	OK(journal_start(w, T0, "dri", T0, g_policy->hash, "r", E));
	journal_close(w);
	/* 200 obs records, as a restart finds them (their "b" as written);
	 * the first with a null, a true and a false besides */
	char first[3][800];
	for (int i = 0; i < 200; i++) {
		snprintf(line, sizeof line,
		         "{\"seq\":%d,\"at\":%lld,\"wall\":1,\"type\":\"obs\",\"actor\":\"\","
		         "\"w\":7,\"k\":%d,\"n\":39,%s\"b\":\"%0200d\"}\n",
		         i + 2, T0 + i * 15000LL, i % 40 == 0,
		         i == 0 ? "\"x\":null,\"y\":true,\"z\":false," : "", i);
		if (i < 3)
			snprintf(first[i], sizeof first[i], "%s", line);
		raw_append(path, line);
	}
	/* a T-0 snapshot whose label is escaped (read through jansson), and
	 * one whose cells hold a duplicate name (the quick look cannot see it) */
	snprintf(line, sizeof line,
	         "{\"seq\":202,\"at\":%lld,\"type\":\"snapshot\",\"actor\":\"\","
	         "\"label\":\"T\\u002d0\",\"cells\":[{\"kpi\":\"p95_latency\","
	         "\"journey\":\"search\",\"control\":91.5}]}\n"
	         "{\"seq\":203,\"at\":%lld,\"type\":\"snapshot\",\"actor\":\"\","
	         "\"label\":\"gate 1\",\"cells\":[{\"kpi\":\"a\",\"kpi\":\"b\"}]}\n",
	         T0 + 3000000LL, T0 + 3600000LL);
	raw_append(path, line);

	json_set_alloc_funcs(counting_malloc, free);
	struct headers h = {0};
	struct sr_journal *j = jopen(NULL);
	g_jallocs = 0;
	assert_int_equal(journal_poll(j, on_header, on_header_issue, &h), 203);
	long header_allocs = g_jallocs;
	journal_close(j);
	assert_int_equal(h.nlabels, 2);
	assert_string_equal(h.labels[0], "T-0");
	assert_string_equal(h.labels[1], "gate 1");
	assert_int_equal(h.issues.nissues, 0); /* a body no one read is not judged */

	struct headers all = {.whole = true};
	j = jopen(NULL);
	g_jallocs = 0;
	assert_int_equal(journal_poll(j, on_header, on_header_issue, &all), 203);
	long whole_allocs = g_jallocs;
	journal_close(j);
	json_set_alloc_funcs(malloc, free);
	/* read, the duplicate is found and said, and the fields read as absent */
	assert_int_equal(all.issues.nissues, 1);
	assert_int_equal(all.issues.issue_line[0], 203);
	if (!strstr(all.issues.issue[0], "duplicate object key") ||
	    !strstr(all.issues.issue[0], "fields read as absent"))
		fail_msg("issue: %s", all.issues.issue[0]);
	assert_int_equal(all.nlabels, 1); /* line 203's label is not read from a refused body */
	/* a body read is jansson's object, whichever way it was built */
	assert_int_equal(all.ndumps, 3);
	for (int i = 0; i < 3; i++) {
		json_error_t je;
		json_t *o = json_loads(first[i], 0, &je);
		assert_non_null(o);
		char *t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		assert_string_equal(all.dumps[i], t);
		free(t);
		json_decref(o);
	}
	/* the start line and the escaped label's line: a few dozen allocations;
	 * every obs body read would be a thousand more */
	if (header_allocs > 150 || whole_allocs < 1000)
		fail_msg("jansson allocations: %ld looking at the lines, %ld reading them",
		         header_allocs, whole_allocs);
}

/* ---- two consoles -------------------------------------------------------------- */

/* Child: open the journal, wait for "go", try the lock once. The winner
 * checks, acts (intent + outcome) and holds the lock until "release"
 * closes; the loser reports the refusal. Result to the parent:
 * "W" or "L <message>". */
static void contender(int go_fd, int release_fd, int out_fd, const char *who)
{
	char err[300] = "", why[300] = "", msg[400];
	struct sr_journal *j = journal_open(g_dir, NULL, err, sizeof err);
	char c;
	if (!j || read(go_fd, &c, 1) != 1)
		_exit(3);
	if (journal_lock(j, who, "promote", why, sizeof why) == 0) {
		/* check: nobody promoted yet (the loser must not get here) */
		struct seen s = {0};
		journal_poll(j, on_event, NULL, &s);
		for (int i = 0; i < s.n; i++)
			if (s.type[i] == SR_J_INTENT)
				_exit(4);
		struct sr_jaction a = act("promote");
		a.weight = 5;
		a.key = who;
		if (journal_intent(j, T0, who, &a, err, sizeof err) < 0 ||
		    write(out_fd, "W", 1) != 1)
			_exit(5);
		(void)!read(release_fd, &c, 1); /* hold the lock until the parent says */
		journal_outcome(j, T0 + 1, who, who, "promote", true, 5, NULL, 1, err, sizeof err);
		journal_unlock(j);
	} else {
		/* The winner names itself just after taking the lock; on a busy
		 * machine we may look before it has. Ask again (the lock must
		 * stay refused all along: the winner holds it until released). */
		for (int tries = 0; tries < 200 && strstr(why, "has not said who yet"); tries++) {
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
			if (journal_lock(j, who, "promote", why, sizeof why) == 0)
				_exit(7);
		}
		int len = snprintf(msg, sizeof msg, "L %s", why);
		if (write(out_fd, msg, (size_t)len) != len)
			_exit(6);
	}
	journal_close(j);
	_exit(0);
}

static void test_lock_two_processes_one_acts(void **state)
{
	(void)state;
	int go[2], release[2], out[2][2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(release), 0);
	pid_t pid[2];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(out[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			close(go[1]);
			close(release[1]);
			contender(go[0], release[0], out[i][1], i == 0 ? "alice" : "bob");
		}
		close(out[i][1]);
	}
	close(go[0]);
	close(release[0]);
	assert_int_equal(write(go[1], "gg", 2), 2);

	/* read both answers: the winner's "W" comes before the release */
	char ans[2][400];
	int winner = -1;
	for (int i = 0; i < 2; i++) {
		ssize_t r = read(out[i][0], ans[i], sizeof ans[i] - 1);
		ans[i][r > 0 ? r : 0] = '\0';
		if (strcmp(ans[i], "W") == 0)
			winner = i;
	}
	close(release[1]);
	for (int i = 0; i < 2; i++) {
		int st;
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		close(out[i][0]);
	}
	close(go[1]);
	assert_true(winner == 0 || winner == 1);
	int loser = 1 - winner;
	/* the loser was told who holds it */
	char want[120];
	snprintf(want, sizeof want, "L another console (pid %d, %s) is acting: promote since ",
	         (int)pid[winner], winner == 0 ? "alice" : "bob");
	if (strncmp(ans[loser], want, strlen(want)) != 0)
		fail_msg("loser said \"%s\"", ans[loser]);

	/* exactly one intent and one outcome in the journal */
	char path[200], err[200];
	struct seen s = {0};
	assert_int_equal(
	    journal_replay(jpath(path, sizeof path), on_event, on_issue, &s, err, sizeof err), 2);
	assert_int_equal(s.type[0], SR_J_INTENT);
	assert_int_equal(s.type[1], SR_J_OUTCOME);

	/* once released, the lock is free again */
	struct sr_journal *j = jopen(NULL);
	char why[200];
	assert_int_equal(journal_lock(j, "carol", "hold", why, sizeof why), 0);
	assert_true(journal_locked(j));
	journal_close(j);
}

static void test_lock_within_one_process(void **state)
{
	(void)state;
	struct sr_journal *a = jopen(NULL), *b = jopen(NULL);
	char why[300];
	assert_int_equal(journal_lock(a, "alice", "rollback", why, sizeof why), 0);
	assert_int_equal(journal_lock(a, "alice", "rollback", why, sizeof why), 0); /* re-entrant */
	assert_int_equal(journal_lock(b, "bob", "promote", why, sizeof why), -1);
	char want[120];
	snprintf(want, sizeof want, "another console (pid %d, alice) is acting: rollback since ",
	         (int)getpid());
	assert_non_null(strstr(why, want));
	assert_non_null(strstr(why, " UTC"));
	journal_unlock(a);
	assert_false(journal_locked(a));
	assert_int_equal(journal_lock(b, "bob", "promote", why, sizeof why), 0);
	journal_close(b); /* closing releases it */
	assert_int_equal(journal_lock(a, "alice", "rollback", why, sizeof why), 0);
	journal_close(a);
}

static void test_poll_sees_other_handles(void **state)
{
	(void)state;
	char path[200];
	jpath(path, sizeof path);
	struct sr_journal *a = jopen(NULL), *b = jopen(NULL);
	struct seen s = {0};
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 0);

	OK(journal_start(b, T0, "bob", T0, g_policy->hash, "r", E));
	OK(journal_status(b, T0 + 1, g_policy, 3, SR_GREEN, SR_YELLOW, "near the limit", E));
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 2);
	assert_false(s.own[0]);
	assert_false(s.own[1]);
	assert_int_equal(s.type[1], SR_J_STATUS);
	assert_non_null(strstr(s.text[1], "\"from\":\"GREEN\",\"to\":\"YELLOW\""));

	/* a's own line comes back marked as its own */
	struct sr_jaction h = act("hold");
	OK(journal_record(a, SR_J_HOLD, T0 + 2, "alice", &h, E));
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 1);
	assert_true(s.own[2]);
	assert_int_equal(s.seq[2], 3); /* seq continues across handles */

	/* a line another process is still writing is not delivered yet ... */
	raw_append(path, "{\"seq\":4,\"at\":9,\"type\":\"res");
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 0);
	assert_int_equal(s.nissues, 0);
	/* ... and is, whole, once its newline arrives */
	raw_append(path, "ume\",\"actor\":\"bob\"}\n");
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 1);
	assert_int_equal(s.type[3], SR_J_RESUME);
	assert_int_equal(s.line[3], 4);
	/* b continues after it */
	OK(journal_record(b, SR_J_HOLD, T0 + 3, "bob", &h, E));
	assert_int_equal(journal_poll(a, on_event, on_issue, &s), 1);
	assert_int_equal(s.seq[4], 5);
	journal_close(a);
	journal_close(b);
}

static void test_strings_sanitised_and_files_private(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	struct sr_jaction h = act("hold");
	h.reason = "db \x1b[2J locks\nrm -rf /\x07";
	OK(journal_record(j, SR_J_HOLD, T0, "ev\x1bil", &h, E));
	OK(journal_outcome(j, T0, "dri", "k", "promote", false, -1,
	                   "haproxy: \x1b]0;owned\x07 refused", 1, E));
	struct seen s = {0};
	assert_int_equal(journal_poll(j, on_event, on_issue, &s), 2);
	assert_non_null(strstr(s.text[0], "\"reason\":\"db ?[2J locks?rm -rf /?\""));
	assert_non_null(strstr(s.text[0], "\"actor\":\"ev?il\""));
	assert_non_null(strstr(s.text[1], "\"error\":\"haproxy: ?]0;owned? refused\""));
	/* nothing in the file a terminal would obey, escaped or not */
	char path[200];
	FILE *f = fopen(jpath(path, sizeof path), "r");
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_null(strstr(buf, "\\u001b"));
	assert_null(strchr(buf, '\x1b'));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	journal_close(j);
	/* the state dir a journal creates is private */
	char sub[128];
	snprintf(sub, sizeof sub, "%s/a/b", g_dir);
	char err[200];
	j = journal_open(sub, NULL, err, sizeof err);
	assert_non_null(j);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	journal_close(j);
}

static void test_snapshot_round_trip(void **state)
{
	(void)state;
	struct sr_engine *e = calloc(1, sizeof *e);
	engine_init(e, g_policy, T0);
	for (int c = 0; c < g_policy->ncells; c++)
		e->cells[c].control = c == 1 ? NAN : 100.0 + c / 4.0;
	struct sr_journal *j = jopen(NULL);
	OK(journal_snapshot(j, T0, "T-0", e, E));
	struct sr_jevent ev;
	json_t *o = NULL;
	char path[200], err[200];
	/* read the line back through the parser the readers use */
	FILE *f = fopen(jpath(path, sizeof path), "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, f);
	fclose(f);
	assert_true(len > 0);
	assert_int_equal(journal_parse_line(line, (size_t)len - 1, &ev, &o, err, sizeof err), 0);
	assert_int_equal(ev.type, SR_J_SNAPSHOT);
	double *ctl = calloc(SR_MAX_CELLS, sizeof *ctl);
	assert_int_equal(journal_snapshot_control(&ev, g_policy, ctl, g_policy->ncells),
	                 g_policy->ncells - 1);
	for (int c = 0; c < g_policy->ncells; c++) {
		if (c == 1)
			assert_true(isnan(ctl[c]));
		else
			assert_true(ctl[c] == 100.0 + c / 4.0);
	}
	json_decref(o);
	free(line);
	free(ctl);
	free(e);
	journal_close(j);
}

static void test_state_dir(void **state)
{
	(void)state;
	char out[512], err[200];
	char *old_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	assert_int_equal(journal_state_dir(out, sizeof out, "/srv/state", "r1", err, sizeof err),
	                 0);
	assert_string_equal(out, "/srv/state");
	setenv("XDG_STATE_HOME", "/x/state", 1);
	assert_int_equal(journal_state_dir(out, sizeof out, NULL, "checkout-2025", err, sizeof err),
	                 0);
	assert_string_equal(out, "/x/state/shiproom/checkout-2025");
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	setenv("HOME", "/home/dri", 1);
	assert_int_equal(journal_state_dir(out, sizeof out, "", "r1", err, sizeof err), 0);
	assert_string_equal(out, "/home/dri/.local/state/shiproom/r1");
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(journal_state_dir(out, sizeof out, NULL, "r1", err, sizeof err), 0);
	assert_string_equal(out, "/home/dri/.local/state/shiproom/r1");
	assert_int_equal(journal_state_dir(out, sizeof out, NULL, "../etc", err, sizeof err), -1);
	assert_int_equal(journal_state_dir(out, sizeof out, NULL, "..", err, sizeof err), -1);
	assert_int_equal(journal_state_dir(out, 20, NULL, "r1", err, sizeof err), -1);
	if (old_xdg)
		setenv("XDG_STATE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	free(old_xdg);
	free(old_home);
}

static void test_keys_differ(void **state)
{
	(void)state;
	char a[JOURNAL_KEY_LEN], b[JOURNAL_KEY_LEN];
	journal_make_key(a, sizeof a);
	journal_make_key(b, sizeof b);
	assert_int_equal(strncmp(a, "sr-", 3), 0);
	assert_string_not_equal(a, b);
	assert_true(strlen(a) > 20);
}

static void test_bad_records_refused(void **state)
{
	(void)state;
	struct sr_journal *j = jopen(NULL);
	char err[200];
	struct sr_jaction a = act("promote"); /* no key */
	assert_int_equal(journal_intent(j, T0, "dri", &a, err, sizeof err), -1);
	assert_non_null(strstr(err, "idempotency key"));
	assert_int_equal(journal_record(j, SR_J_INTENT, T0, "dri", &a, err, sizeof err), -1);
	struct sr_jaction t = act("tick");
	assert_int_equal(journal_record(j, SR_J_TICK, T0, "dri", &t, err, sizeof err), -1);
	assert_int_equal(
	    journal_status(j, T0, g_policy, g_policy->ncells, 0, 1, "", err, sizeof err), -1);
	assert_int_equal(journal_append(j, SR_J_UNKNOWN, T0, "x", NULL, NULL, err, sizeof err), -1);
	/* reserved keys in caller fields cannot forge seq or type */
	json_t *f = json_pack("{s:i, s:s, s:s}", "seq", 999, "type", "start", "note", "n");
	long long seq = 0;
	assert_int_equal(journal_append(j, SR_J_HOLD, T0, "dri", f, &seq, err, sizeof err), 0);
	assert_int_equal(seq, 1);
	struct seen s = {0};
	assert_int_equal(journal_poll(j, on_event, on_issue, &s), 1);
	assert_int_equal(s.seq[0], 1);
	assert_int_equal(s.type[0], SR_J_HOLD);
	assert_non_null(strstr(s.text[0], "\"note\":\"n\""));
	journal_close(j);
}

#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

/* issue 9: the journal is the rollout: deleted or replaced under a
 * running console, nothing more is written into the ghost file, and the
 * identity check says which. Reports and the journal are the owner's. */
static void test_identity_checked(void **state)
{
	(void)state;
	char path[600], why[600];
	struct sr_journal *j = jopen(NULL);
	OK(journal_start(j, T0, "dri", T0, g_policy->hash, g_policy->rollout, E));
	struct stat st;
	assert_int_equal(stat(jpath(path, sizeof path), &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(journal_check_identity(j, why, sizeof why), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(journal_check_identity(j, why, sizeof why), -1);
	assert_non_null(strstr(why, "was deleted or moved"));
	struct sr_jaction a = {.action = "hold", .weight = -1, .gate = -1, .reason = "x"};
	char err[600];
	assert_int_equal(journal_record(j, SR_J_HOLD, T0 + 1000, "dri", &a, err, sizeof err), -1);
	assert_non_null(strstr(err, "was deleted or moved"));
	/* replaced by another file of the same name */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(journal_check_identity(j, why, sizeof why), -1);
	assert_non_null(strstr(why, "replaced by another file"));
	journal_close(j);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    T(test_identity_checked),
	    T(test_round_trip_rebuilds_rollout),
	    T(test_own_obs_read_back),
	    cmocka_unit_test_setup_teardown(test_refusal_lasts_until_room, dir_setup,
	                                    limit_teardown),
	    T(test_reconcile_applies_like_an_outcome),
	    T(test_apply_reports_what_it_cannot_apply),
	    T(test_torn_last_line),
	    T(test_append_repairs_a_torn_tail_first),
	    T(test_malformed_lines_reported_with_numbers),
	    T(test_pending_intent),
	    T(test_scan_rides_along_with_the_poll),
	    T(test_bulky_bodies_parsed_when_read),
	    T(test_lock_two_processes_one_acts),
	    T(test_lock_within_one_process),
	    T(test_poll_sees_other_handles),
	    T(test_strings_sanitised_and_files_private),
	    T(test_snapshot_round_trip),
	    T(test_state_dir),
	    T(test_keys_differ),
	    T(test_bad_records_refused),
	};
	return cmocka_run_group_tests_name("journal", tests, load_policy, free_policy);
}
