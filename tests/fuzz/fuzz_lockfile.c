/* fuzz_lockfile.c - libFuzzer target for the journal's lock file.
 *
 * The lock file names the console holding the action lock; another
 * console (or anything that can write the state dir) wrote it, and its
 * text reaches a refusal on the screen, in the journal and in a post.
 * Besides "no crash": a message is terminated and carries no control
 * byte, whatever the file holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/journal.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees an overread */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char why[200];
	memset(why, 'x', sizeof why);
	if (journal_lock_holder_text(buf, size, why, sizeof why) == 0)
		fuzz_check_msg(why, sizeof why);
	free(buf);
	return 0;
}
