/* test_obsrec.c - the journal's per-poll observation record (obsrec.h):
 * a delta chain that reads back exactly (every double, bit for bit),
 * small when little changed, strict about what it reads, and still able
 * to read the text records of older journals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/obsrec.h"
#include "shiproom/reason.h"

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

static bool same_bits(double x, double y)
{
	return (isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0;
}

static void assert_same(const struct sr_snapshot *x, const struct sr_snapshot *y)
{
	for (int c = 0; c < N; c++) {
		const struct sr_obs *p[2] = {&x->canary[c], &x->control[c]};
		const struct sr_obs *q[2] = {&y->canary[c], &y->control[c]};
		for (int s = 0; s < 2; s++) {
			assert_int_equal(p[s]->kind, q[s]->kind);
			/* bit for bit: a replay judges the very double the
			 * live engine judged (NaN payloads aside) */
			assert_true(same_bits(p[s]->value, q[s]->value));
			assert_true(same_bits(p[s]->samples, q[s]->samples));
			assert_true(same_bits(p[s]->step_n, q[s]->step_n));
			assert_true(same_bits(p[s]->step_bad, q[s]->step_bad));
			assert_true(same_bits(p[s]->step_bound, q[s]->step_bound));
			assert_int_equal(p[s]->at, q[s]->at);
			assert_int_equal(p[s]->degraded, q[s]->degraded);
			assert_string_equal(snapshot_msg(x, p[s]), snapshot_msg(y, q[s]));
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
	snapshot_set_msg(&b, &b.control[3], "fetch failed: timeout after 5s");
	b.canary[5].kind = SR_OBS_NOSERIES;
	b.canary[5].value = NAN;
	json_t *d = obsrec_encode(&b, &a, AT + 15000, 42, false);
	/* only what changed: a header (3 masks, 4 orders, 4 rules: 52 bits), a bit
	 * for each of the 13 unchanged observations, a few for the three
	 * that changed, 13 bits in two characters */
	const char *ds = json_string_value(json_object_get(d, "b"));
	assert_non_null(ds);
	assert_true(strlen(ds) <= 26);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "e"), "3k")),
	                    "fetch failed: timeout after 5s");
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
	/* the header (3 masks, 4 orders, 4 rules: 52 bits) and one bit per
	 * observation: 68 bits, 6 groups of 13 */
	assert_int_equal(strlen(json_string_value(json_object_get(d, "b"))), 12);
	assert_null(json_object_get(d, "k"));
	assert_null(json_object_get(d, "e"));
	out = a;
	assert_int_equal(decode(d, AT, &out), 0);
	assert_same(&a, &out);
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
	    "{\"n\":8,\"b\":1}",        /* the stream is text */
	    "{\"n\":8,\"b\":\"abc\"}",  /* odd length */
	    "{\"n\":8,\"b\":\"a b \"}", /* not an alphabet character */
	    "{\"n\":8,\"b\":\"~~\"}",   /* 90 + 91 * 90 > 8191 */
	    "{\"n\":8,\"b\":\"!!!!\"}", /* ends before its header */
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

/* Every kind of double comes back bit for bit: the six-digit values the
 * engine judges, and anything else (17 digits, the extremes, -0, NaN,
 * infinities), moving across decimal exponents from poll to poll. */
static void test_every_double_exact(void **state)
{
	(void)state;
	const double v[] = {92.5,
	                    92.2554,
	                    100,
	                    99.9999,
	                    1e20,
	                    0.1,
	                    1e-300,
	                    5e-324,
	                    -0.0,
	                    0,
	                    NAN,
	                    INFINITY,
	                    -INFINITY,
	                    0.30000000000000004,
	                    1.7976931348623157e308,
	                    -123.456,
	                    123456789012345678.0,
	                    2.5e-7};
	const int nv = (int)(sizeof v / sizeof v[0]);
	snapshot_clear(&a, N);
	snapshot_clear(&out, N);
	for (int poll = 0; poll < nv; poll++) {
		b = a;
		for (int c = 0; c < N; c++) {
			struct sr_obs *o[2] = {&b.canary[c], &b.control[c]};
			for (int s = 0; s < 2; s++) {
				o[s]->kind = SR_OBS_OK;
				o[s]->at = AT + poll * 15000;
				o[s]->value = v[(poll + c + s) % nv];
				o[s]->samples = v[(poll + 2 * c) % nv];
				o[s]->step_bad = v[(poll + 3 * c + s) % nv];
			}
		}
		json_t *d = obsrec_encode(&b, poll ? &a : NULL, AT + poll * 15000, 7, poll == 0);
		assert_int_equal(decode(d, AT + poll * 15000, &out), 0);
		assert_same(&b, &out);
		json_decref(d);
		a = b;
	}
}

/* A long chain of random polls (values, samples, kinds, errors, ages,
 * degraded flags, step counts), keyframes now and then: what is decoded
 * is what was encoded, poll after poll. */
static void test_random_chain(void **state)
{
	(void)state;
	srand(10);
	snapshot_clear(&a, N);
	snapshot_clear(&out, N);
	for (int poll = 0; poll < 400; poll++) {
		sr_ms at = AT + poll * 15000;
		b = a;
		for (int c = 0; c < N; c++) {
			struct sr_obs *o[2] = {&b.canary[c], &b.control[c]};
			for (int s = 0; s < 2; s++) {
				int r = rand() % 100;
				o[s]->at = at;
				if (r < 60)
					o[s]->value = obsrec_round(50 + 100.0 * rand() / RAND_MAX);
				if (r < 20)
					o[s]->samples = rand() % 3000;
				if (r >= 90) {
					o[s]->kind = (enum sr_obs_kind)(rand() % 4);
					o[s]->at = at - (rand() % 5) * 15000;
					snapshot_set_msgf(&b, o[s], "error %d", rand() % 3);
				} else {
					o[s]->kind = SR_OBS_OK;
				}
				if (r % 7 == 0)
					o[s]->degraded = !o[s]->degraded;
				if (r % 5 == 0)
					o[s]->step_bad = rand() % 40;
				if (r % 11 == 0)
					o[s]->step_bound = r % 2 ? 250 : NAN;
			}
		}
		bool key = poll % 40 == 0;
		json_t *d = obsrec_encode(&b, poll ? &a : NULL, at, 9, key);
		assert_int_equal(decode(d, at, &out), 0);
		assert_same(&b, &out);
		json_decref(d);
		a = b;
	}
}

/* Journals written before the bit stream keep their text records ("d"):
 * a replay of them reads the same values as before. */
static void test_old_text_records_still_read(void **state)
{
	(void)state;
	json_t *k = json_loads("{\"w\":42,\"k\":1,\"n\":8,\"d\":\"0c92.0234/900 0k92.0234/900\"}",
	                       0, NULL);
	json_t *d = json_loads("{\"w\":42,\"n\":8,\"d\":\"0c156.4 3k@15000!E 5cn!N\","
	                       "\"e\":{\"3k\":\"fetch failed: timeout after 5s\"}}",
	                       0, NULL);
	snapshot_clear(&out, N);
	assert_int_equal(decode(k, AT, &out), 0);
	assert_true(out.control[0].value == 92.0234);
	assert_int_equal(decode(d, AT + 15000, &out), 0);
	assert_true(out.canary[0].value == 156.4);
	assert_true(out.canary[0].samples == 900);
	assert_int_equal(out.control[3].kind, SR_OBS_ERROR);
	assert_int_equal(out.control[3].at, AT);
	assert_string_equal(snapshot_msg(&out, &out.control[3]), "fetch failed: timeout after 5s");
	assert_int_equal(out.canary[5].kind, SR_OBS_NOSERIES);
	assert_true(isnan(out.canary[5].value));
	json_decref(k);
	json_decref(d);
}

static double p10_of(int e)
{
	return pow(10, e);
}

static void test_rounding(void **state)
{
	(void)state;
	/* as engine_fmt_num shows them: four digits below 100, one decimal above */
	assert_true(obsrec_round(92.02349876) == 92.02);
	assert_true(obsrec_round(0.000123456789) == 0.0001235);
	assert_true(obsrec_round(160.04) == 160.0);
	assert_true(obsrec_round(160.06) == 160.1);
	assert_true(obsrec_round(99.996) == 100.0);
	assert_true(obsrec_round(12345.678) == 12345.7);
	assert_true(obsrec_round(-3.14159) == -3.142);
	assert_true(isnan(obsrec_round(NAN)));
	/* what is judged is what a reason says */
	char shown[32];
	engine_fmt_num(obsrec_round(160.04), shown, sizeof shown);
	assert_string_equal(shown, "160");
}

/* obsrec_round takes a path without printf where that is safe; it must
 * answer what strtod reads from engine_fmt_num's text ("%.1f" from 100
 * up, "%.4g" below), bit for bit, everywhere: random doubles of every
 * magnitude and sign, values whose next digit is a tie (5) or next to
 * one on both sides of 100, integers, powers of ten and their
 * neighbours, subnormals, -0. */
static double round_by_printf(double v)
{
	char buf[400];
	snprintf(buf, sizeof buf, fabs(v) >= 100 ? "%.1f" : "%.4g", v);
	return strtod(buf, NULL);
}

static void expect_same_rounding(double v)
{
	double got = obsrec_round(v), want = round_by_printf(v);
	if (memcmp(&got, &want, sizeof got) != 0)
		fail_msg("obsrec_round(%.17g) = %.17g, printf and strtod say %.17g", v, got, want);
}

static void test_rounding_matches_printf(void **state)
{
	(void)state;
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < 400000; i++) {
		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		switch (i % 4) {
		case 0: /* any bit pattern that is a finite double */
			memcpy(&v, &x, sizeof v);
			if (!isfinite(v))
				continue;
			break;
		case 1: /* the metrics' range, 1e-6 .. 1e9 */
			v = ldexp((double)(x >> 11), -53) * pow(10, (double)(x % 16) - 6);
			break;
		case 2: /* the last digit shown and a tie or near-tie next: four
		         * digits (below 100), or one decimal (from 100 up) */
			if (x % 3 == 0)
				v = ((double)(1000 + x % 9000) + 0.5 +
				     ((double)(x % 7) - 3) * 1e-7) *
				    p10_of((int)(x % 30) - 18);
			else
				v = ((double)(1000 + x % 100000000) + 0.5 +
				     ((double)(x % 7) - 3) * 1e-7) /
				    10;
			break;
		default: /* integers (samples, counts) */ v = (double)(x % 100000000); break;
		}
		expect_same_rounding(v);
		expect_same_rounding(-v);
		expect_same_rounding(nextafter(v, INFINITY));
		expect_same_rounding(nextafter(v, -INFINITY));
	}
	for (int e = -320; e <= 308; e++) {
		double v = pow(10, e);
		expect_same_rounding(v);
		expect_same_rounding(nextafter(v, 0));
		expect_same_rounding(nextafter(v, INFINITY));
	}
	expect_same_rounding(-0.0);
	expect_same_rounding(4.9e-324);
	expect_same_rounding(1.7976931348623157e308);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_reads_back_exactly),
	    cmocka_unit_test(test_unchanged_poll_is_empty),
	    cmocka_unit_test(test_bad_records_refused),
	    cmocka_unit_test(test_every_double_exact),
	    cmocka_unit_test(test_random_chain),
	    cmocka_unit_test(test_old_text_records_still_read),
	    cmocka_unit_test(test_rounding),
	    cmocka_unit_test(test_rounding_matches_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
