/* fsize_helper.h - make the kernel refuse a test's file writes, as a
 * full disk does, without a file system to fill: the soft file size
 * limit (RLIMIT_FSIZE). A write past it fails with EFBIG, and SIGXFSZ
 * is ignored as main() ignores it. Header-only (static functions), for
 * test_journal.c and test_action.c.
 */
#ifndef SHIPROOM_TEST_FSIZE_HELPER_H
#define SHIPROOM_TEST_FSIZE_HELPER_H

#include <signal.h>
#include <sys/resource.h>

/* Writes past `bytes` fail from now on (RLIM_INFINITY: none do). */
static void fsize_limit(rlim_t bytes)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, bytes == RLIM_INFINITY ? SIG_DFL : SIG_IGN);
}

#endif
