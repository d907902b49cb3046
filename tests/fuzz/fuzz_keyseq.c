/* fuzz_keyseq.c - libFuzzer target for keyseq_next, the decoder between
 * curses and the console's keys (escape sequences read whole, bracketed
 * pastes as text).
 *
 * Input: the first byte sets how many bytes arrive at a time (1-16); the
 * rest is what the terminal sends, bytes 0xF8 and up standing for curses
 * key codes (KEY_MIN and up). Checks, besides "no crash, no over-read":
 * - every call returns KEYSEQ_NONE, KEYSEQ_IGNORED, KEYSEQ_ESC,
 *   KEYSEQ_PASTE, a byte other than ESC, or a curses code that was sent;
 * - a paste's text is NUL-terminated within KEYSEQ_PASTE_MAX;
 * - it never spins: a call returns KEYSEQ_NONE only when nothing is
 *   waiting, and every input ends in a bounded number of calls;
 * - no byte of a paste comes out as a key: what the input held between
 *   a paste's start and its end is never returned as one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/keyseq.h"

#define CODE_BASE 0x101 /* stands for curses' KEY_MIN */

struct feed {
	const uint8_t *d;
	size_t len, at, avail, chunk;
};

static int feed_read(void *ud, bool wait)
{
	struct feed *f = ud;
	if (f->at >= f->avail && (wait || (f->at > 0 && f->d[f->at - 1] == 27)))
		f->avail += f->chunk;
	if (f->at >= f->avail || f->at >= f->len)
		return -1;
	uint8_t b = f->d[f->at++];
	return b >= 0xF8 ? CODE_BASE + (b - 0xF8) : b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	struct keyseq *k = malloc(sizeof *k);
	if (!k)
		abort();
	keyseq_init(k);
	struct feed f = {.d = data + 1, .len = size - 1, .chunk = 1 + data[0] % 16};
	size_t calls = 0;
	for (f.avail = f.chunk; f.at < f.len || f.avail < f.len + f.chunk; f.avail += f.chunk) {
		for (;;) {
			if (++calls > 4 * size + 64)
				abort(); /* spinning */
			bool was_pasting = k->pasting;
			int c = keyseq_next(k, feed_read, &f);
			if (c == KEYSEQ_NONE)
				break;
			if (c == KEYSEQ_PASTE) {
				if (strnlen(k->text, KEYSEQ_PASTE_MAX + 1) > KEYSEQ_PASTE_MAX)
					abort();
				continue;
			}
			if (c == KEYSEQ_IGNORED || c == KEYSEQ_ESC)
				continue;
			if (was_pasting && k->pasting)
				abort(); /* a byte of a paste came out as a key */
			if (c < 0 || c == 27 || (c > 255 && c < CODE_BASE) || c >= CODE_BASE + 8)
				abort();
		}
	}
	free(k);
	return 0;
}
