/* fuzz_msg.h - the check every fuzz target makes of a parser's refusal:
 * the message is terminated within its buffer and carries no control
 * byte (it may reach a terminal or the journal). Header-only: each
 * target is built from its one .c file. */
#ifndef SHIPROOM_FUZZ_MSG_H
#define SHIPROOM_FUZZ_MSG_H

#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_msg(const char *err, size_t n)
{
	size_t len = strnlen(err, n);
	if (len == n)
		abort(); /* not terminated */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)err[i];
		if (c < 0x20 || c == 0x7f)
			abort(); /* a control byte survived */
	}
}

#endif
