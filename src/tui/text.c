/* text.c - column widths of UTF-8 text, glyph sets and number formats.
 *
 * Widths are computed here rather than with wcwidth() so they do not
 * depend on the locale (unit tests run in "C") and so a policy name in
 * CJK cannot push a tile's border out of place. Everything the console
 * prints itself is one column per character; outside text may be wide.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/tui.h"

/* Decode one UTF-8 character; returns its length (1 for a bad byte). */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
	unsigned c = s[0];
	size_t need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (need == 1) {
		*cp = c;
		return 1;
	}
	unsigned v = c & (0x3Fu >> (need - 1));
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = '?';
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return need;
}

static int cp_width(unsigned cp)
{
	if (cp == 0)
		return 0;
	if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
	    (cp >= 0xFE00 && cp <= 0xFE0F))
		return 0; /* combining marks, zero-width spaces, variation selectors */
	if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
	    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
	    (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
		return 2;
	return 1;
}

int text_width(const char *s)
{
	int w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		p += utf8_next(p, &cp);
		w += cp_width(cp);
	}
	return w;
}

size_t text_fit(const char *s, int maxw, int *cols)
{
	const unsigned char *p = (const unsigned char *)s;
	int w = 0;
	size_t used = 0;
	while (p[used]) {
		unsigned cp;
		size_t k = utf8_next(p + used, &cp);
		int cw = cp_width(cp);
		if (w + cw > maxw)
			break;
		w += cw;
		used += k;
	}
	if (cols)
		*cols = w;
	return used;
}

int tui_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

/* Split text into lines of at most w columns: at '\n', at "; " (a
 * reason list: one reason a line reads best), and word-wrapped. */
int text_wrap(const char *text, int w, char lines[][TEXT_LINE_BYTES], int max)
{
	int nl = 0;
	const char *p = text;
	while (*p && nl < max) {
		/* The end of this paragraph. */
		size_t para = 0;
		while (p[para] && p[para] != '\n' && !(p[para] == ';' && p[para + 1] == ' '))
			para++;
		char tmp[TEXT_LINE_BYTES * 4];
		size_t pl = para < sizeof tmp - 1 ? para : sizeof tmp - 1;
		memcpy(tmp, p, pl);
		tmp[pl] = '\0';
		const char *q = tmp;
		do {
			int cols;
			size_t fit = text_fit(q, w, &cols);
			size_t cut = fit;
			if (q[fit] != '\0') {
				while (cut > 0 && q[cut] != ' ')
					cut--;
				if (cut == 0)
					cut = fit; /* one long word: cut it */
			}
			if (cut >= TEXT_LINE_BYTES)
				cut = TEXT_LINE_BYTES - 1;
			memcpy(lines[nl], q, cut);
			lines[nl++][cut] = '\0';
			q += cut;
			while (*q == ' ')
				q++;
		} while (*q && nl < max);
		p += para;
		if (*p == ';')
			p += 2;
		else if (*p == '\n')
			p++;
	}
	return nl;
}

const struct tui_glyphs *glyphs(bool utf8)
{
	static const struct tui_glyphs u = {
	    "─", "│", "┌", "┐", "└", "┘", "→", "≤", "≥", "±", "·", "…", "▼", "✓", "✗", "‖", "┼",
	};
	static const struct tui_glyphs a = {
	    /* tick "*" and gate "+": a passed gate and a pending one differ */
	    "-", "|", "+", "+", "+", "+", "->", "<=", ">=", "+-", ".", "~", "v", "*", "x", "H", "+",
	};
	return utf8 ? &u : &a;
}

void fmt_value(char *buf, size_t n, double v, const char *unit)
{
	if (!isfinite(v)) {
		snprintf(buf, n, "--");
		return;
	}
	double a = fabs(v);
	if (strcmp(unit, "ms") == 0) {
		snprintf(buf, n, a >= 10 ? "%.0fms" : "%.1fms", v);
	} else if (strcmp(unit, "%") == 0) {
		/* 99.87% must not read as 99.9% next to a 99.9% target. */
		snprintf(buf, n, (a >= 99 && a < 100) || a < 10 ? "%.2f%%" : "%.1f%%", v);
	} else if (strcmp(unit, "x") == 0) {
		snprintf(buf, n, "%.2fx", v);
	} else if (strcmp(unit, "USD") == 0) {
		snprintf(buf, n, a >= 10 ? "$%.2f" : "$%.3f", v);
	} else if (strcmp(unit, "count") == 0) {
		snprintf(buf, n, "%.0f", v);
	} else {
		snprintf(buf, n, a >= 100 ? "%.0f%s" : "%.1f%s", v, unit);
	}
}
