/* fuzz_secret.c - libFuzzer target for the secret scrubber (secret.h).
 *
 * Input: the first line is a URL registered as a webhook (libcurl's URL
 * API parses it), the second a token; the rest is outside text. The text
 * is scrubbed in place in an exact-size buffer (ASan sees any over-run)
 * and as a raw body (secret_scrub_dup); neither may crash or leak, and
 * the token may not survive the in-place scrub.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/secret.h"

static char *line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *e = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((e ? e : end) - *p);
	char *s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = e ? e + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;
	char *url = line(&p, end);
	char *tok = line(&p, end);
	secret_register_url(url);
	/* A token that is part of the mark, or has its brackets, can show
	 * in the output by way of the marks themselves: not a leak. */
	bool tok_ok = strlen(tok) >= 4 && !strstr(SR_SECRET_REDACTED, tok) && !strpbrk(tok, "[]");
	secret_register(tok);
	size_t n = (size_t)(end - p);
	char *text = malloc(n + 1);
	memcpy(text, p, n);
	text[n] = '\0';
	secret_scrub(text, n + 1);
	if (tok_ok && strstr(text, tok))
		abort(); /* a known token survived */
	size_t out = 0;
	char *dup = secret_scrub_dup((const char *)p, n, &out);
	if (dup && (strlen(dup) > out))
		abort();
	free(dup);
	free(text);
	free(url);
	free(tok);
	secret_forget_all();
	return 0;
}
