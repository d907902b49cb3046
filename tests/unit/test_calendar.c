/* test_calendar.c - business days, end of day and "re-evaluate at 09:00
 * local next business day", with a fixed UTC offset and no tz database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "engine_fixture.h"

/* Mon-Fri, 09:00-18:00, re-evaluate 09:00, at offset `off` minutes. */
static struct sr_calendar cal(int off)
{
	struct sr_calendar c = {
	    .utc_offset_min = off,
	    .day_start_min = 9 * 60,
	    .end_of_day_min = 18 * 60,
	    .workdays = 0x3e, /* Mon..Fri */
	    .reevaluate_min = 9 * 60,
	    .overnight_weight = 50,
	};
	return c;
}

static sr_ms at(const struct sr_calendar *c, const char *s)
{
	sr_ms t = 0;
	assert_int_equal(calendar_parse_local(c, s, &t), 0);
	return t;
}

static void assert_fmt(const struct sr_calendar *c, sr_ms t, const char *want)
{
	char buf[32];
	calendar_fmt(c, t, buf, sizeof buf);
	assert_string_equal(buf, want);
}

static void test_parse_known_instants(void **state)
{
	(void)state;
	struct sr_calendar utc = cal(0);
	assert_int_equal(at(&utc, "1970-01-01T00:00"), 0);
	assert_int_equal(at(&utc, "2025-10-09T09:00"), FX_T0);
	assert_int_equal(at(&utc, "2025-10-09T09:00:30"), FX_T0 + 30 * FX_S);
	assert_int_equal(at(&utc, "2025-10-09 09:00"), FX_T0);
	assert_int_equal(at(&utc, "1969-12-31T23:59"), -FX_MIN);
	assert_int_equal(at(&utc, "2000-03-01T00:00"), 951868800000LL);
	assert_int_equal(at(&utc, "2024-02-29T12:00") + SR_MS_PER_DAY,
	                 at(&utc, "2024-03-01T12:00"));
	/* local time at +05:30 is 5h30 ahead of UTC */
	struct sr_calendar ist = cal(330);
	assert_int_equal(at(&ist, "2025-10-09T14:30"), FX_T0);
	struct sr_calendar ny = cal(-240);
	assert_int_equal(at(&ny, "2025-10-09T05:00"), FX_T0);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct sr_calendar c = cal(0);
	const char *bad[] = {"",
	                     "2025-10-09",
	                     "2025-10-09T9:00",
	                     "2025-13-01T09:00",
	                     "2025-00-01T09:00",
	                     "2025-02-29T09:00", /* not a leap year */
	                     "1900-02-29T09:00", /* nor is 1900 */
	                     "2025-04-31T09:00",
	                     "2025-10-09T24:00",
	                     "2025-10-09T09:60",
	                     "2025-10-09T09:00:60",
	                     "2025-10-09T09:00Z",
	                     "2025-10-09T09:00:00Z",
	                     "2025/10/09T09:00",
	                     "20x5-10-09T09:00",
	                     "2025-10-09T09:00:0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sr_ms t = 42;
		if (calendar_parse_local(&c, bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42);
	}
	sr_ms t;
	assert_int_equal(calendar_parse_local(&c, NULL, &t), -1);
	assert_int_equal(calendar_parse_local(&c, "2000-02-29T09:00", &t), 0);
}

static void test_weekday_and_minute(void **state)
{
	(void)state;
	struct sr_calendar c = cal(0);
	assert_int_equal(calendar_weekday(&c, 0), 4); /* 1970-01-01: Thursday */
	assert_int_equal(calendar_weekday(&c, FX_T0), 4);
	assert_int_equal(calendar_weekday(&c, at(&c, "2025-10-12T12:00")), 0); /* Sunday */
	assert_int_equal(calendar_weekday(&c, at(&c, "1969-12-31T12:00")),
	                 3); /* before the epoch */
	assert_int_equal(calendar_minute_of_day(&c, FX_T0), 9 * 60);
	assert_int_equal(calendar_minute_of_day(&c, -FX_MIN), 23 * 60 + 59);
	/* the offset moves the local date: 22:00 UTC Thursday is Friday 03:30 at +05:30 */
	struct sr_calendar ist = cal(330);
	sr_ms t = at(&c, "2025-10-09T22:00");
	assert_int_equal(calendar_weekday(&ist, t), 5);
	assert_int_equal(calendar_minute_of_day(&ist, t), 3 * 60 + 30);
	assert_fmt(&ist, t, "Fri 03:30");
}

static void test_past_end_of_day(void **state)
{
	(void)state;
	struct sr_calendar c = cal(0);
	assert_false(calendar_past_end_of_day(&c, at(&c, "2025-10-09T09:00")));
	assert_false(calendar_past_end_of_day(&c, at(&c, "2025-10-09T17:59")));
	assert_true(calendar_past_end_of_day(&c, at(&c, "2025-10-09T18:00")));
	assert_true(calendar_past_end_of_day(&c, at(&c, "2025-10-09T08:59")));
	assert_true(calendar_past_end_of_day(&c, at(&c, "2025-10-11T12:00"))); /* Saturday */
	assert_true(calendar_is_workday(&c, at(&c, "2025-10-10T12:00")));
	assert_false(calendar_is_workday(&c, at(&c, "2025-10-12T12:00")));
}

static void test_next_reevaluation(void **state)
{
	(void)state;
	struct sr_calendar c = cal(0);
	/* Thursday evening -> Friday 09:00 */
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-09T18:00")),
	                 at(&c, "2025-10-10T09:00"));
	/* Friday 18:30 -> Monday 09:00 */
	sr_ms mon = at(&c, "2025-10-13T09:00");
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-10T18:30")), mon);
	assert_fmt(&c, mon, "Mon 09:00");
	/* the weekend -> Monday */
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-11T10:00")), mon);
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-12T23:59")), mon);
	/* the small hours of a working day -> that same morning */
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-14T02:00")),
	                 at(&c, "2025-10-14T09:00"));
	/* at or after 09:00 -> the next working day */
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-14T09:00")),
	                 at(&c, "2025-10-15T09:00"));
	/* Monday 02:00 -> Monday 09:00 */
	assert_int_equal(calendar_next_reevaluation(&c, at(&c, "2025-10-13T02:00")), mon);
	/* with an offset the answer is 09:00 local, not 09:00 UTC */
	struct sr_calendar ny = cal(-240);
	sr_ms r = calendar_next_reevaluation(&ny, at(&ny, "2025-10-10T19:00"));
	assert_int_equal(r, at(&ny, "2025-10-13T09:00"));
	assert_int_equal(r, at(&c, "2025-10-13T13:00"));
	assert_fmt(&ny, r, "Mon 09:00");
}

/* The shipped policy's calendar is the directive's. */
static void test_shipped_calendar(void **state)
{
	(void)state;
	const struct sr_calendar *c = &fx_shipped_policy()->calendar;
	assert_int_equal(c->utc_offset_min, 0);
	assert_int_equal(c->end_of_day_min, 18 * 60);
	assert_int_equal(c->reevaluate_min, 9 * 60);
	assert_int_equal(c->overnight_weight, 50);
	assert_int_equal(calendar_next_reevaluation(c, FX_T0 + 9 * SR_MS_PER_H),
	                 FX_T0 + SR_MS_PER_DAY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_known_instants), cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_weekday_and_minute),   cmocka_unit_test(test_past_end_of_day),
	    cmocka_unit_test(test_next_reevaluation),    cmocka_unit_test(test_shipped_calendar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
