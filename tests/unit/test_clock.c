/* test_clock.c - rollout time never goes backwards (issue 9: a wall clock
 * stepped back 2 h gave T-107 after deployment, a postmortem named for it
 * and journal records dated before the ones they followed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shiproom/clock.h"

#define H (60 * 60 * SR_MS_PER_S)

static void test_wall_stepped_back(void **state)
{
	(void)state;
	struct clock_anchor a = {0};
	sr_ms wall = 1760000000000, mono = 5000;
	assert_int_equal(clock_monotonic_from(&a, wall, mono), wall);
	/* a second later the wall clock is set back two hours */
	sr_ms t = clock_monotonic_from(&a, wall + 1000 - 2 * H, mono + 1000);
	assert_int_equal(t, wall + 1000);
	/* and forward again: time still only follows the monotonic clock */
	t = clock_monotonic_from(&a, wall + 3 * H, mono + 2000);
	assert_int_equal(t, wall + 2000);
}

static void test_not_before_the_journal(void **state)
{
	(void)state;
	struct clock_anchor a = {0};
	/* a restart after the step back: the journal's last record is ahead */
	sr_ms wall = 1760000000000 - 2 * H, mono = 100;
	sr_ms now = clock_monotonic_from(&a, wall, mono);
	sr_ms last = 1760000000000;
	clock_anchor_not_before(&a, now, last);
	assert_int_equal(clock_monotonic_from(&a, wall, mono), last);
	assert_int_equal(clock_monotonic_from(&a, wall + 500, mono + 500), last + 500);
	/* a journal behind the clock changes nothing */
	clock_anchor_not_before(&a, last + 500, last - 10);
	assert_int_equal(clock_monotonic_from(&a, wall + 600, mono + 600), last + 600);
}

static void test_virtual_clock_pauses(void **state)
{
	(void)state;
	struct sr_clock c;
	clock_init(&c, 1000, 50000, 60.0);
	assert_int_equal(clock_now(&c, 2000), 50000 + 60000);
	clock_set_paused(&c, 2000, true);
	assert_int_equal(clock_now(&c, 9000), 110000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wall_stepped_back),
	    cmocka_unit_test(test_not_before_the_journal),
	    cmocka_unit_test(test_virtual_clock_pauses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
