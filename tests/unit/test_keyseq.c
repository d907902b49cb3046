/* test_keyseq.c - escape sequences read whole, bracketed pastes as text
 * (keyseq.h), fed from a byte buffer as a terminal would send them, in
 * one read or in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "shiproom/keyseq.h"

/* A terminal's bytes; `avail` of them have arrived so far, `chunk` more
 * with each read. A read that waits (the rest of a sequence is due) sees
 * the next chunk arrive, and so does a read right after an ESC: curses
 * waits ESCDELAY for what follows an ESC before it hands the ESC out. */
struct feed {
	const char *s;
	size_t len, at, avail, chunk;
};

static int feed_read(void *ud, bool wait)
{
	struct feed *f = ud;
	if (f->at >= f->avail && (wait || (f->at > 0 && f->s[f->at - 1] == '\033')))
		f->avail += f->chunk;
	if (f->at >= f->avail || f->at >= f->len)
		return -1;
	return (unsigned char)f->s[f->at++];
}

/* Every key of s, in order, as a string of one char a key: the byte, 'E'
 * for ESC, 'P' for a paste (its text appended to *paste), '.' ignored. */
static void decode(const char *s, size_t chunk, char *keys, size_t n, char *paste, size_t pn)
{
	struct keyseq k;
	keyseq_init(&k);
	struct feed f = {.s = s, .len = strlen(s), .chunk = chunk};
	size_t o = 0;
	paste[0] = '\0';
	for (f.avail = chunk; f.at < f.len || f.avail < f.len + chunk; f.avail += chunk) {
		for (;;) {
			int c = keyseq_next(&k, feed_read, &f);
			if (c == KEYSEQ_NONE)
				break;
			char ch = c == KEYSEQ_ESC       ? 'E'
			          : c == KEYSEQ_PASTE   ? 'P'
			          : c == KEYSEQ_IGNORED ? '.'
			                                : (char)c;
			if (c == KEYSEQ_PASTE)
				strncat(paste, k.text, pn - strlen(paste) - 1);
			if (c == KEYSEQ_IGNORED)
				continue; /* progress, not a key */
			if (o + 1 < n)
				keys[o++] = ch;
		}
	}
	keys[o] = '\0';
}

static void test_plain_keys_and_esc(void **state)
{
	(void)state;
	char keys[64], paste[64];
	decode("ab\033q", 64, keys, sizeof keys, paste, sizeof paste);
	assert_string_equal(keys, "abEq"); /* esc then a key: both */
	decode("\033", 64, keys, sizeof keys, paste, sizeof paste);
	assert_string_equal(keys, "E");
}

/* The defect: "\033[31m" in a note was ESC, '[', '3' (a view), '1', 'm'. */
static void test_unknown_sequence_is_dropped_whole(void **state)
{
	(void)state;
	char keys[64], paste[64];
	decode("x\033[31my\033[1;5Az\033OPw", 64, keys, sizeof keys, paste, sizeof paste);
	assert_string_equal(keys, "xyzw");
}

static void test_paste_is_text(void **state)
{
	(void)state;
	char keys[64], paste[256];
	const char *in = "a\033[200~xa\ny \033[31m\033[2 z\033[201~b";
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		decode(in, chunk, keys, sizeof keys, paste, sizeof paste);
		assert_string_equal(keys, "aPb");
		/* the text as sent, a partial end marker kept as text */
		assert_string_equal(paste, "xa\ny \033[31m\033[2 z");
	}
}

static void test_long_paste_is_cut_not_spilled(void **state)
{
	(void)state;
	static char in[8192], keys[64], paste[8192];
	strcpy(in, "\033[200~");
	size_t l = strlen(in);
	memset(in + l, 'a', 5000);
	strcpy(in + l + 5000, "\033[201~q");
	decode(in, 700, keys, sizeof keys, paste, sizeof paste);
	assert_string_equal(keys, "Pq");
	assert_int_equal(strlen(paste), KEYSEQ_PASTE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_keys_and_esc),
	    cmocka_unit_test(test_unknown_sequence_is_dropped_whole),
	    cmocka_unit_test(test_paste_is_text),
	    cmocka_unit_test(test_long_paste_is_cut_not_spilled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
