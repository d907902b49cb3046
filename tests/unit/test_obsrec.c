/* test_obsrec.c - the journal's per-poll observation record (obsrec.h):
 * a delta chain that reads back exactly, small when little changed, and
 * strict about what it reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "shiproom/obsrec.h"

#define N 8
#define AT 1760000400000LL

static struct sr_snapshot a, b, out;

static void fill(struct sr_snapshot *s, double base)
{
	snapshot_clear(s, N);
	for (int c = 0; c < N; c++) {
		s->canary[c] = (struct sr_obs){
		    .kind = SR_OBS_OK, .value = base + c * 1.25, .samples = 900, .at = AT};
		s->control[c] = (struct sr_obs){
		    .kind = SR_OBS_OK, .value = base + c, .samples = 900, .at = AT};
	}
}

static void assert_same(const struct sr_snapshot *x, const struct sr_snapshot *y)
{
	for (int c = 0; c < N; c++) {
		const struct sr_obs *p[2] = {&x->canary[c], &x->control[c]};
		const struct sr_obs *q[2] = {&y->canary[c], &y->control[c]};
		for (int s = 0; s < 2; s++) {
			assert_int_equal(p[s]->kind, q[s]->kind);
			assert_true((isnan(p[s]->value) && isnan(q[s]->value)) ||
			            p[s]->value == q[s]->value);
			assert_true(p[s]->samples == q[s]->samples);
			assert_int_equal(p[s]->at, q[s]->at);
			assert_int_equal(p[s]->degraded, q[s]->degraded);
			assert_string_equal(p[s]->error, q[s]->error);
		}
	}
}

static int decode(json_t *o, sr_ms at, struct sr_snapshot *s)
{
	char why[200];
	bool isnull;
	return obsrec_decode(o, at, N, s, &isnull, why, sizeof why);
}

static void test_chain_reads_back_exactly(void **state)
{
	(void)state;
	fill(&a, 92.0234);
	json_t *k = obsrec_encode(&a, NULL, AT, 42, true);
	snapshot_clear(&out, N);
	assert_int_equal(decode(k, AT, &out), 0);
	assert_same(&a, &out);

	/* next poll: one value moves, one cell fails, keeping its last time */
	b = a;
	for (int c = 0; c < N; c++)
		b.canary[c].at = b.control[c].at = AT + 15000;
	b.canary[0].value = 156.4;
	b.control[3].kind = SR_OBS_ERROR;
	b.control[3].at = AT;
	strcpy(b.control[3].error, "fetch failed: timeout after 5s");
	b.canary[5].kind = SR_OBS_NOSERIES;
	b.canary[5].value = NAN;
	json_t *d = obsrec_encode(&b, &a, AT + 15000, 42, false);
	const char *ds = json_string_value(json_object_get(d, "d"));
	/* only what changed: three tokens */
	assert_string_equal(ds, "0c156.4 3k@15000!E 5cn!N");
	assert_int_equal(decode(d, AT + 15000, &out), 0);
	assert_same(&b, &out);
	json_decref(k);
	json_decref(d);
}

static void test_unchanged_poll_is_empty(void **state)
{
	(void)state;
	fill(&a, 10);
	json_t *d = obsrec_encode(&a, &a, AT, 1, false);
	assert_string_equal(json_string_value(json_object_get(d, "d")), "");
	assert_null(json_object_get(d, "k"));
	json_decref(d);
}

static void test_bad_records_refused(void **state)
{
	(void)state;
	const char *bad[] = {
	    "{\"n\":8,\"d\":\"9c1\"}",      /* cell out of range */
	    "{\"n\":8,\"d\":\"1x1\"}",      /* no such side */
	    "{\"n\":8,\"d\":\"1cnan\"}",    /* strtod's nan is not the grammar */
	    "{\"n\":8,\"d\":\"1c0x10\"}",   /* nor hex */
	    "{\"n\":8,\"d\":\"1c1!Q\"}",    /* unknown kind */
	    "{\"n\":8,\"d\":\"1c1  2c1\"}", /* empty token */
	    "{\"n\":9,\"d\":\"\"}",         /* another policy */
	    "{\"n\":8}",                    /* no d */
	    "{\"n\":8,\"d\":\"\",\"e\":{\"1z\":\"x\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *o = json_loads(bad[i], 0, NULL);
		assert_non_null(o);
		snapshot_clear(&out, N);
		if (decode(o, AT, &out) != -1)
			fail_msg("accepted: %s", bad[i]);
		json_decref(o);
	}
}

static void test_rounding(void **state)
{
	(void)state;
	assert_true(obsrec_round(92.02349876) == 92.0235);
	assert_true(obsrec_round(0.000123456789) == 0.000123457);
	assert_true(isnan(obsrec_round(NAN)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_reads_back_exactly),
	    cmocka_unit_test(test_unchanged_poll_is_empty),
	    cmocka_unit_test(test_bad_records_refused),
	    cmocka_unit_test(test_rounding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
