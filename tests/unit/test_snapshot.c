/* test_snapshot.c - observations' messages beside the observations, and
 * what a snapshot, a test that is off and an engine's copy leave
 * untouched.
 *
 * A message (why a fetch failed, a warning noted) lives in the snapshot
 * beside its observation, set and read through snapshot_set_msg and
 * snapshot_msg; an observation's has_msg says whether its slot means
 * anything. The memory tests map fresh anonymous pages and ask the
 * kernel which became resident: capacity that is never needed must stay
 * untouched (issue 12: resident memory sized by the policy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shiproom/engine.h"
#include "shiproom/evidence.h"
#include "shiproom/policy.h"
#include "shiproom/snapshot.h"

#define NCELLS 268 /* the directive at 50 journeys */

static void *map_fresh(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Resident pages wholly inside [p, p + n) (mincore: a page read or
 * written); the pages it shares with its neighbours are theirs. */
static size_t resident_pages(const void *p, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) / pg * pg, end = ((uintptr_t)p + n) / pg * pg;
	if (end <= a)
		return 0;
	size_t npages = (end - a) / pg, count = 0;
	unsigned char *vec = malloc(npages);
	assert_non_null(vec);
	assert_int_equal(mincore((void *)a, end - a, vec), 0);
	for (size_t i = 0; i < npages; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

/* This process's resident anonymous memory, kB (pages mapped to the
 * shared zero page by a read are not counted). */
static long rss_anon_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb >= 0);
	return kb;
}

static void test_msg_set_read_clear(void **state)
{
	(void)state;
	struct sr_snapshot *s = map_fresh(sizeof *s);
	snapshot_clear(s, NCELLS);
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "");
	snapshot_set_msg(s, &s->canary[3], "timeout after 5s");
	assert_true(s->canary[3].has_msg);
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "timeout after 5s");
	/* its neighbours and its other cohort have none */
	assert_string_equal(snapshot_msg(s, &s->control[3]), "");
	assert_string_equal(snapshot_msg(s, &s->canary[4]), "");
	snapshot_set_msg(s, &s->control[NCELLS - 1], "last cell");
	assert_string_equal(snapshot_msg(s, &s->control[NCELLS - 1]), "last cell");
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "timeout after 5s");
	/* an observation of another snapshot, or of none, has no message here */
	struct sr_obs lone = {.kind = SR_OBS_ERROR, .has_msg = true};
	assert_string_equal(snapshot_msg(s, &lone), "");
	assert_string_equal(snapshot_msg(NULL, &s->canary[3]), "");
	/* a message built from the message itself */
	snapshot_set_msgf(s, &s->canary[3], "partial data: %s", snapshot_msg(s, &s->canary[3]));
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "partial data: timeout after 5s");
	/* NULL and "" clear it; clearing the observation clears it too */
	snapshot_set_msg(s, &s->canary[3], "");
	assert_false(s->canary[3].has_msg);
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "");
	snapshot_set_msg(s, &s->canary[3], "again");
	snapshot_set_msg(s, &s->canary[3], NULL);
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "");
	snapshot_set_msg(s, &s->canary[3], "again");
	obs_clear(&s->canary[3]);
	assert_string_equal(snapshot_msg(s, &s->canary[3]), "");
	munmap(s, sizeof *s);
}

/* Text from outside is sanitised and cut to SR_OBS_MSG_LEN, whole
 * characters only. */
static void test_msg_sanitised_and_cut(void **state)
{
	(void)state;
	struct sr_snapshot *s = map_fresh(sizeof *s);
	snapshot_clear(s, NCELLS);
	snapshot_set_msg(s, &s->canary[0], "bad\x1b[2J\ranswer\x07");
	const char *m = snapshot_msg(s, &s->canary[0]);
	for (const char *p = m; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character 0x%02x kept in \"%s\"", *p, m);
	assert_non_null(strstr(m, "bad"));
	assert_non_null(strstr(m, "answer"));
	char long_msg[600];
	size_t len = 0;
	while (len + 2 < sizeof long_msg) {
		memcpy(long_msg + len, "\xc3\xa9", 2); /* é */
		len += 2;
	}
	long_msg[len] = '\0';
	snapshot_set_msgf(s, &s->control[7], "%s", long_msg);
	m = snapshot_msg(s, &s->control[7]);
	assert_true(strlen(m) < SR_OBS_MSG_LEN);
	assert_true(strlen(m) >= SR_OBS_MSG_LEN - 3);
	assert_true(strlen(m) % 2 == 0); /* no half of an é */
	/* only control characters: nothing left to say is no message */
	snapshot_set_msg(s, &s->canary[1], "\x01");
	if (s->canary[1].has_msg)
		assert_true(snapshot_msg(s, &s->canary[1])[0] != '\0');
	munmap(s, sizeof *s);
}

static void test_msg_copy(void **state)
{
	(void)state;
	struct sr_snapshot *a = map_fresh(sizeof *a), *b = map_fresh(sizeof *b);
	snapshot_clear(a, NCELLS);
	snapshot_clear(b, NCELLS);
	snapshot_set_msg(b, &b->canary[5], "old text of b");
	snapshot_set_msg(a, &a->control[9], "from a");
	snapshot_copy(b, a);
	assert_string_equal(snapshot_msg(b, &b->control[9]), "from a");
	/* b's own old message went with the observation it belonged to */
	assert_string_equal(snapshot_msg(b, &b->canary[5]), "");
	/* the copy has its own text: changing a's leaves b's */
	snapshot_set_msg(a, &a->control[9], "changed");
	assert_string_equal(snapshot_msg(b, &b->control[9]), "from a");
	/* snapshot_fail_all gives every cell the message */
	snapshot_fail_all(a, "connection refused");
	for (int c = 0; c < NCELLS; c++) {
		assert_int_equal(a->canary[c].kind, SR_OBS_ERROR);
		assert_string_equal(snapshot_msg(a, &a->control[c]), "connection refused");
	}
	munmap(a, sizeof *a);
	munmap(b, sizeof *b);
}

/* Clearing, filling and copying a policy's cells makes the observations
 * resident, never the message slots of cells without a message. */
static void test_messages_cost_nothing_until_said(void **state)
{
	(void)state;
	struct sr_snapshot *a = map_fresh(sizeof *a), *b = map_fresh(sizeof *b);
	snapshot_clear(a, NCELLS);
	for (int c = 0; c < NCELLS; c++) {
		a->canary[c].kind = a->control[c].kind = SR_OBS_OK;
		a->canary[c].value = 100 + c;
		a->control[c].value = 90 + c;
	}
	snapshot_copy(b, a);
	snapshot_copy(a, b);
	struct sr_snapshot *s[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		assert_int_equal(resident_pages(s[k]->canary_msg, sizeof s[k]->canary_msg), 0);
		assert_int_equal(resident_pages(s[k]->control_msg, sizeof s[k]->control_msg), 0);
		/* the observations themselves: the policy's cells, no more */
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		assert_true(resident_pages(s[k]->canary, sizeof s[k]->canary) <=
		            NCELLS * sizeof(struct sr_obs) / pg + 2);
	}
	/* one message: its page, in the snapshot that has it and its copy */
	snapshot_set_msg(a, &a->canary[100], "warning: a store is down");
	snapshot_copy(b, a);
	for (int k = 0; k < 2; k++) {
		assert_true(resident_pages(s[k]->canary_msg, sizeof s[k]->canary_msg) >= 1);
		assert_true(resident_pages(s[k]->canary_msg, sizeof s[k]->canary_msg) <= 2);
		assert_int_equal(resident_pages(s[k]->control_msg, sizeof s[k]->control_msg), 0);
	}
	munmap(a, sizeof *a);
	munmap(b, sizeof *b);
}

/* A KPI without an evidence test: its cells' evidence is all zeros and
 * costs no memory (an engine's cells of such KPIs, most of them, stay
 * untouched pages); one with a test is set up as before. */
static void test_evidence_off_untouched(void **state)
{
	(void)state;
	enum { N = 4096 };
	struct sr_evidence *ev = map_fresh(N * sizeof *ev);
	struct sr_evidence_cfg off = {.enabled = false},
	                       on = {
	                           .enabled = true, .tolerance = 1.2, .upper = 1.5, .alpha = 0.05};
	long before = rss_anon_kb();
	for (int i = 0; i < N; i++)
		evidence_init(&ev[i], &off);
	long grew = rss_anon_kb() - before;
	if (grew > 256) /* written, it would be N * 560 bytes: 2240 kB */
		fail_msg("evidence_init of %d cells without a test made %ld kB resident", N, grew);
	for (int i = 0; i < N; i += 97)
		assert_int_equal(ev[i].state, SR_EVS_OFF);
	/* over an engine's old memory it still leaves zeros */
	memset(&ev[7], 0xA5, sizeof ev[7]);
	evidence_init(&ev[7], &off);
	static const struct sr_evidence zero;
	assert_memory_equal(&ev[7], &zero, sizeof zero);
	evidence_init(&ev[8], &on);
	assert_int_equal(ev[8].state, SR_EVS_NODATA);
	assert_true(isnan(ev[8].rho));
	assert_true(ev[8].grid_r[EVIDENCE_ANCHOR] == 1.2);
	munmap(ev, N * sizeof *ev);
}

/* engine_copy moves the policy's cells and what comes before them; the
 * capacity past them is neither read nor written (a whole-struct copy,
 * as a console's mirror did for every state it received, made 4.4 MB
 * resident on each side). */
static void test_engine_copy_leaves_capacity_alone(void **state)
{
	(void)state;
	struct sr_policy *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->ncells = NCELLS;
	struct sr_engine *a = map_fresh(sizeof *a), *b = map_fresh(sizeof *b);
	a->policy = p;
	a->evaluations = 42;
	a->decision.verdict = SR_GO;
	for (int c = 0; c < NCELLS; c++) {
		a->cells[c].status = SR_YELLOW;
		a->cells[c].canary = 100 + c;
		a->t0_baseline[c] = c;
		a->last_control[c] = 2 * c;
		a->last_control_at[c] = 3 * c;
		a->evidence[c].state = SR_EVS_COLLECTING;
		a->evidence[c].steps = c;
	}
	engine_copy(b, a);
	assert_ptr_equal(b->policy, p);
	assert_int_equal(b->evaluations, 42);
	assert_int_equal(b->decision.verdict, SR_GO);
	for (int c = 0; c < NCELLS; c++) {
		assert_int_equal(b->cells[c].status, SR_YELLOW);
		assert_true(b->cells[c].canary == 100 + c);
		assert_true(b->t0_baseline[c] == c && b->last_control[c] == 2 * c);
		assert_int_equal(b->last_control_at[c], 3 * c);
		assert_int_equal(b->evidence[c].steps, c);
	}
	struct sr_engine *e[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		assert_int_equal(
		    resident_pages(&e[k]->cells[NCELLS + 8],
		                   (SR_MAX_CELLS - NCELLS - 8) * sizeof e[k]->cells[0]),
		    0);
		assert_int_equal(
		    resident_pages(&e[k]->evidence[NCELLS + 8],
		                   (SR_MAX_CELLS - NCELLS - 8) * sizeof e[k]->evidence[0]),
		    0);
	}
	munmap(a, sizeof *a);
	munmap(b, sizeof *b);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msg_set_read_clear),
	    cmocka_unit_test(test_msg_sanitised_and_cut),
	    cmocka_unit_test(test_msg_copy),
	    cmocka_unit_test(test_messages_cost_nothing_until_said),
	    cmocka_unit_test(test_evidence_off_untouched),
	    cmocka_unit_test(test_engine_copy_leaves_capacity_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
