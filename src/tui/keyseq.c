/* keyseq.c - escape sequences read whole, bracketed pastes as text
 * (keyseq.h). */
#include <string.h>

#include "shiproom/keyseq.h"

#define ESC 27
#define SEQ_MAX 32 /* bytes of a sequence looked at before it is given up */

static const char paste_start[] = "200~";
static const char paste_end[] = "\033[201~";

void keyseq_init(struct keyseq *k)
{
	memset(k, 0, sizeof *k);
	k->pending = -1;
}

static int next_code(struct keyseq *k, keyseq_read_fn read, void *ud, bool wait)
{
	if (k->pending >= 0) {
		int c = k->pending;
		k->pending = -1;
		return c;
	}
	return read(ud, wait);
}

static void paste_add(struct keyseq *k, char c)
{
	if (k->len < KEYSEQ_PASTE_MAX)
		k->text[k->len++] = c;
}

/* One code of a paste; true when it ended the paste. */
static bool paste_code(struct keyseq *k, int c)
{
	if (c == (unsigned char)paste_end[k->end_matched]) {
		if (paste_end[++k->end_matched] == '\0') {
			k->pasting = false;
			k->text[k->len] = '\0';
			return true;
		}
		return false;
	}
	/* a partial end marker that failed was text after all */
	for (int i = 0; i < k->end_matched; i++)
		paste_add(k, paste_end[i]);
	k->end_matched = c == ESC ? 1 : 0;
	if (k->end_matched == 0 && c >= 0 && c < 256)
		paste_add(k, (char)c);
	return false; /* a curses key code inside a paste is dropped */
}

/* After an ESC: the rest of a CSI (ESC [) or SS3 (ESC O) sequence,
 * parameters then a final byte 0x40-0x7e, read whole and dropped, but
 * for a paste's start. ESC then anything else is ESC, and that key next. */
static int after_escape(struct keyseq *k, keyseq_read_fn read, void *ud)
{
	int c = next_code(k, read, ud, false);
	if (c < 0)
		return KEYSEQ_ESC; /* a lone esc (curses waited for more) */
	if (c != '[' && c != 'O') {
		k->pending = c;
		return KEYSEQ_ESC;
	}
	char seq[8];
	size_t n = 0;
	for (int i = 0; i < SEQ_MAX; i++) {
		int b = next_code(k, read, ud, true);
		if (b < 0 || b > 255)
			break;
		if (n + 1 < sizeof seq)
			seq[n++] = (char)b;
		if (b >= 0x40 && b <= 0x7e)
			break;
	}
	seq[n] = '\0';
	if (c == '[' && strcmp(seq, paste_start) == 0) {
		k->pasting = true;
		k->len = 0;
		k->end_matched = 0;
		k->text[0] = '\0';
	}
	return KEYSEQ_IGNORED;
}

int keyseq_next(struct keyseq *k, keyseq_read_fn read, void *ud)
{
	int c = next_code(k, read, ud, false);
	for (bool got = false; k->pasting; got = true) {
		if (c < 0) /* the rest of the paste has not come yet */
			return got ? KEYSEQ_IGNORED : KEYSEQ_NONE;
		if (paste_code(k, c))
			return KEYSEQ_PASTE;
		c = next_code(k, read, ud, false);
	}
	if (c < 0)
		return KEYSEQ_NONE;
	if (c == ESC)
		return after_escape(k, read, ud);
	return c;
}
