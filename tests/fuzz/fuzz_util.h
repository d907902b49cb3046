/* fuzz_util.h - what several fuzz targets share: the shipped policy,
 * loaded once; the input as a file (a memfd, so the real readers run).
 * The message check is fuzz_msg.h's. */
#ifndef SHIPROOM_FUZZ_UTIL_H
#define SHIPROOM_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shiproom/policy.h"

#include "fuzz_msg.h"

static inline const struct sr_policy *fuzz_policy(void)
{
	static struct sr_policy *policy;
	if (!policy) {
		struct sr_policy_error err;
		policy = calloc(1, sizeof *policy);
		if (!policy ||
		    policy_load_file(policy, SR_DATADIR "/config/shiproom.json", &err) < 0)
			abort();
	}
	return policy;
}

#ifdef MFD_CLOEXEC /* a target that reads a file defines _GNU_SOURCE first */
/* The input in a memfd; its path in path. The fd (close it), or -1. */
static inline int fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t n)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}
#endif

#endif
