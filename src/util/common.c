/* common.c - small helpers every module uses: names of enums, bounded
 * string copy, sanitising outside text, time formatting. */
#include "shiproom/common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[SR_STATUS_COUNT] = {
    [SR_GREEN] = "GREEN", [SR_YELLOW] = "YELLOW", [SR_NODATA] = "NODATA",
    [SR_STALE] = "STALE", [SR_ERROR] = "ERROR",   [SR_RED] = "RED",
};

/* Glyphs tell the status without colour; ASCII so they survive any
 * terminal and any report. */
static const char *const status_glyphs[SR_STATUS_COUNT] = {
    [SR_GREEN] = "ok", [SR_YELLOW] = "!", [SR_NODATA] = "?",
    [SR_STALE] = "~",  [SR_ERROR] = "E",  [SR_RED] = "X",
};

const char *sr_status_name(enum sr_status s)
{
	return (unsigned)s < SR_STATUS_COUNT ? status_names[s] : "?";
}

const char *sr_status_glyph(enum sr_status s)
{
	return (unsigned)s < SR_STATUS_COUNT ? status_glyphs[s] : "?";
}

bool sr_status_is_data_gap(enum sr_status s)
{
	return s == SR_NODATA || s == SR_STALE || s == SR_ERROR;
}

const char *sr_verdict_name(enum sr_verdict v)
{
	switch (v) {
	case SR_GO: return "GO";
	case SR_HOLD: return "HOLD";
	case SR_ROLLBACK: return "ROLLBACK";
	case SR_ESCALATE: return "ESCALATE";
	}
	return "?";
}

void sr_msgf(char *dst, size_t n, const char *fmt, ...)
{
	if (!dst || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

#define SPARSE_PAGE 4096

static const unsigned char zero_page[SPARSE_PAGE];

/* How much of what is left from `at` lies in the page of `at`. */
static size_t page_piece(uintptr_t at, size_t left)
{
	size_t to_edge = SPARSE_PAGE - (size_t)(at % SPARSE_PAGE);
	return left < to_edge ? left : to_edge;
}

void sr_zero_sparse(void *p, size_t n)
{
	unsigned char *b = p;
	for (size_t off = 0; off < n;) {
		size_t len = page_piece((uintptr_t)(b + off), n - off);
		if (memcmp(b + off, zero_page, len) != 0)
			memset(b + off, 0, len);
		off += len;
	}
}

void sr_copy_sparse(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	for (size_t off = 0; off < n;) {
		/* pieces by the destination's pages: those are what a write
		 * makes resident */
		size_t len = page_piece((uintptr_t)(d + off), n - off);
		if (memcmp(s + off, zero_page, len) != 0)
			memcpy(d + off, s + off, len);
		off += len;
	}
}

bool sr_strlcpy(char *dst, const char *src, size_t n)
{
	if (n == 0)
		return false;
	size_t len = strlen(src);
	if (len < n) {
		memcpy(dst, src, len + 1);
		return true;
	}
	memcpy(dst, src, n - 1);
	dst[n - 1] = '\0';
	return false;
}

/* Length of a valid UTF-8 sequence starting at s (at most `left` bytes),
 * or 0 when it is not one. Overlongs, surrogates and C1 controls
 * (U+0080..U+009F, which some terminals obey) are rejected. */
static size_t utf8_valid_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t need;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	if (cp >= 0x80 && cp <= 0x9F)
		return 0;
	/* Bidi overrides and isolates can reorder what an operator reads. */
	if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return need;
}

void sr_sanitize(char *dst, const char *src, size_t n)
{
	if (n == 0)
		return;
	const unsigned char *s = (const unsigned char *)src;
	size_t left = strlen(src), o = 0;
	while (left > 0 && o + 1 < n) {
		if (*s >= 0x20 && *s < 0x7F) {
			dst[o++] = (char)*s++;
			left--;
			continue;
		}
		size_t k = *s >= 0x80 ? utf8_valid_len(s, left) : 0;
		if (k > 0 && o + k < n) {
			memmove(dst + o, s, k);
			o += k;
			s += k;
			left -= k;
			continue;
		}
		if (k > 0)
			break; /* a valid character that does not fit: stop cleanly */
		dst[o++] = '?';
		s++;
		left--;
	}
	dst[o] = '\0';
}

void sr_fmt_duration(char *buf, size_t n, sr_ms d)
{
	const char *sign = d < 0 ? "-" : "";
	/* Divide before negating: -INT64_MIN overflows. */
	long long s = (long long)(d / 1000);
	if (s < 0)
		s = -s;
	if (s < 60)
		snprintf(buf, n, "%s%llds", sign, s);
	else if (s < 3600)
		snprintf(buf, n, "%s%lldm%02llds", sign, s / 60, s % 60);
	else
		snprintf(buf, n, "%s%lldh%02lldm", sign, s / 3600, (s / 60) % 60);
}

void sr_fmt_trel(char *buf, size_t n, sr_ms rel)
{
	/* Whole minutes, as the directive writes them: T+90, T-120. Round
	 * towards minus infinity so T-0:30 reads T-1, not T+0. */
	long long m = (long long)(rel / SR_MS_PER_MIN);
	if (rel < 0 && rel % SR_MS_PER_MIN != 0)
		m -= 1; /* floor, without negating rel (-INT64_MIN overflows) */
	if (m >= 0)
		snprintf(buf, n, "T+%lld", m);
	else
		snprintf(buf, n, "T%lld", m);
}

void sr_eprintf(const char *fmt, ...)
{
	char raw[4096], clean[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	sr_sanitize(clean, raw, sizeof clean);
	fprintf(stderr, "shiproom: %s\n", clean);
}

/* ---- base64 (RFC 4648, standard alphabet, padded) ------------------------ */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sr_b64_encode(const void *in, size_t len)
{
	const unsigned char *s = in;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = b64chars[v >> 6 & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict: a multiple of 4 characters of the alphabet, '=' only as the
 * last one or two, and the bits the padding drops all zero (so every
 * byte string has exactly one accepted encoding). */
char *sr_b64_decode(const char *in, size_t len, size_t *out_len)
{
	if (len % 4 != 0)
		return NULL;
	char *out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64val(c)) < 0) /* data after '=' */
				goto bad;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			goto bad;
		out[o++] = (char)(w >> 16);
		if (pad < 2)
			out[o++] = (char)(w >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (char)(w & 0xff);
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}
