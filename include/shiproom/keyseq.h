/* keyseq.h - what the terminal sends, as keys: escape sequences read
 * whole, bracketed pastes as text.
 *
 * curses turns the sequences it knows (arrows, pages) into key codes; what
 * it does not know it hands out byte by byte, and in a console where one
 * key acts that is dangerous: a colour code pasted into a note closed the
 * note at its ESC and ran "[31m" as keys. This decoder sits after curses:
 * after an ESC it reads the rest of a CSI or SS3 sequence and drops it
 * whole; a bracketed paste (ESC [ 200 ~ ... ESC [ 201 ~) becomes one
 * KEYSEQ_PASTE with its text, never keys. Pure: the bytes come from a
 * reader the caller gives (curses in term.c, a buffer in fuzz_keyseq).
 */
#ifndef SHIPROOM_KEYSEQ_H
#define SHIPROOM_KEYSEQ_H

#include <stdbool.h>
#include <stddef.h>

#define KEYSEQ_PASTE_MAX 2048 /* a paste's text kept; the rest is dropped */

enum {
	KEYSEQ_NONE = -1,   /* nothing is waiting */
	KEYSEQ_IGNORED = 0, /* something was read and means nothing */
	KEYSEQ_ESC = 27,    /* esc alone, or esc then another key */
	KEYSEQ_PASTE = -2   /* a paste ended: its text is keyseq.text */
};

/* The next code from the terminal: a byte (0-255) or a curses key code
 * (> 255), -1 when none is waiting. `wait`: the rest of a sequence is
 * due, wait a moment for it (it may come in the next packet). */
typedef int (*keyseq_read_fn)(void *ud, bool wait);

struct keyseq {
	int pending;     /* a code read ahead, returned next; -1 none */
	bool pasting;    /* between a paste's start and its end */
	int end_matched; /* bytes of the paste's end marker just seen */
	size_t len;
	char text[KEYSEQ_PASTE_MAX + 1]; /* the paste, NUL-terminated */
};

void keyseq_init(struct keyseq *k);
/* The next key: KEYSEQ_NONE, KEYSEQ_IGNORED, KEYSEQ_ESC, KEYSEQ_PASTE, or
 * the code read (a byte other than ESC, or a curses key code). */
int keyseq_next(struct keyseq *k, keyseq_read_fn read, void *ud);

#endif
