/* chart.c - charts and sparklines as text cells (see chart.h).
 *
 * Every style works on a dot grid: w*xres dots across, h*yres dots down.
 * Series are plotted as points joined vertically to the previous point
 * (so a jump reads as a line, not two far-apart dots); a NAN breaks the
 * line. The limit is drawn underneath, so data always wins a cell. Then
 * each cell's dots become one glyph: a braille pattern, a half block, or
 * an ASCII mark.
 */
#include "shiproom/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOTS_X 2
#define MAX_DOTS_Y 4

const char *chart_style_name(enum chart_style s)
{
	switch (s) {
	case CHART_BRAILLE: return "braille";
	case CHART_BLOCKS: return "blocks";
	case CHART_ASCII: return "ascii";
	default: return "?";
	}
}

void chart_resolution(enum chart_style s, int *xres, int *yres)
{
	switch (s) {
	case CHART_BRAILLE:
		*xres = 2;
		*yres = 4;
		break;
	case CHART_BLOCKS:
		*xres = 1;
		*yres = 2;
		break;
	default:
		*xres = 1;
		*yres = 1;
		break;
	}
}

void chart_range(const float *const *series, int nseries, int n, float *lo, float *hi)
{
	float a = INFINITY, b = -INFINITY;
	for (int s = 0; s < nseries; s++) {
		if (!series[s])
			continue;
		for (int i = 0; i < n; i++) {
			float v = series[s][i];
			if (!isfinite(v))
				continue;
			if (v < a)
				a = v;
			if (v > b)
				b = v;
		}
	}
	if (!isfinite(a)) {
		a = 0;
		b = 1;
	}
	float span = b - a;
	if (span <= 0)
		span = fabsf(b) > 0 ? fabsf(b) * 0.1f : 1.0f;
	/* 8% headroom either side so a line at the limit is not on the edge;
	 * never below zero for values that are never negative. */
	float pad = span * 0.08f;
	*lo = a - pad;
	if (a >= 0 && *lo < 0)
		*lo = 0;
	*hi = b + pad;
}

/* Dot row (0 = top) of v in a grid `dots` tall; -1 when v is a gap or
 * off the chart. */
static int dot_row(float v, float lo, float hi, int dots)
{
	if (!isfinite(v) || hi <= lo)
		return -1;
	float f = (v - lo) / (hi - lo);
	if (f < 0 || f > 1.0001f)
		return -1;
	int r = (int)lroundf((1.0f - f) * (float)(dots - 1));
	if (r < 0)
		r = 0;
	if (r >= dots)
		r = dots - 1;
	return r;
}

/* The dot grid: one ink per dot, highest ink wins. */
struct dots {
	int w, h; /* in dots */
	unsigned char *ink;
};

static void dot_set(struct dots *d, int x, int y, unsigned char ink)
{
	if (x < 0 || y < 0 || x >= d->w || y >= d->h)
		return;
	unsigned char *p = &d->ink[(size_t)y * (size_t)d->w + (size_t)x];
	if (ink > *p)
		*p = ink;
}

static void plot_series(struct dots *d, const float *v, int n, float lo, float hi,
                        unsigned char ink, bool join)
{
	if (!v)
		return;
	/* The newest point is at the right edge, as in htop's graphs. */
	int first = n > d->w ? n - d->w : 0;
	int off = d->w - (n - first);
	int prev = -1;
	for (int i = first; i < n; i++) {
		int x = off + i - first;
		int y = dot_row(v[i], lo, hi, d->h);
		if (y < 0) {
			prev = -1; /* a gap stays a gap */
			continue;
		}
		if (join && prev >= 0) {
			int a = prev < y ? prev : y, b = prev < y ? y : prev;
			/* Join half-way in the previous column and half-way in
			 * this one, so a step reads as one line. */
			for (int k = a; k <= b; k++)
				dot_set(d, (k - a) * 2 < (b - a) ? x - 1 : x, k, ink);
		}
		dot_set(d, x, y, ink);
		prev = y;
	}
}

static void utf8_put(char *g, unsigned cp)
{
	if (cp < 0x80) {
		g[0] = (char)cp;
		g[1] = 0;
	} else if (cp < 0x800) {
		g[0] = (char)(0xC0 | (cp >> 6));
		g[1] = (char)(0x80 | (cp & 0x3F));
		g[2] = 0;
	} else {
		g[0] = (char)(0xE0 | (cp >> 12));
		g[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		g[2] = (char)(0x80 | (cp & 0x3F));
		g[3] = 0;
	}
}

/* Braille dot bits by (column, row) within a cell. */
static const unsigned braille_bit[MAX_DOTS_X][MAX_DOTS_Y] = {
    {0x01, 0x02, 0x04, 0x40},
    {0x08, 0x10, 0x20, 0x80},
};

static void cell_from_dots(struct chart_cell *c, const struct dots *d, int cx, int cy,
                           enum chart_style s)
{
	int xr, yr;
	chart_resolution(s, &xr, &yr);
	unsigned bits = 0;
	unsigned char top = INK_NONE, upper = INK_NONE, lower = INK_NONE;
	for (int dx = 0; dx < xr; dx++) {
		for (int dy = 0; dy < yr; dy++) {
			int x = cx * xr + dx, y = cy * yr + dy;
			if (x >= d->w || y >= d->h)
				continue;
			unsigned char ink = d->ink[(size_t)y * (size_t)d->w + (size_t)x];
			if (ink == INK_NONE)
				continue;
			if (ink > top)
				top = ink;
			if (s == CHART_BRAILLE)
				bits |= braille_bit[dx][dy];
			else if (dy == 0 && ink > upper)
				upper = ink;
			else if (dy > 0 && ink > lower)
				lower = ink;
		}
	}
	c->ink = top;
	if (top == INK_NONE) {
		strcpy(c->g, " ");
		return;
	}
	switch (s) {
	case CHART_BRAILLE: utf8_put(c->g, 0x2800 + bits); break;
	case CHART_BLOCKS:
		if (top == INK_LIMIT && upper <= INK_LIMIT && lower <= INK_LIMIT)
			utf8_put(c->g, 0x2500); /* the limit alone: a thin rule */
		else if (upper > INK_LIMIT && lower > INK_LIMIT)
			utf8_put(c->g, 0x2588); /* full block */
		else if (upper > INK_LIMIT)
			utf8_put(c->g, 0x2580); /* upper half */
		else
			utf8_put(c->g, 0x2584); /* lower half */
		break;
	default: strcpy(c->g, top == INK_CANARY ? "*" : top == INK_CONTROL ? "o" : "-"); break;
	}
}

void chart_plot(struct chart_cell *cells, int w, int h, enum chart_style s, const float *canary,
                const float *control, const float *limit, int n, float lo, float hi)
{
	if (w <= 0 || h <= 0)
		return;
	int xr, yr;
	chart_resolution(s, &xr, &yr);
	struct dots d = {w * xr, h * yr, NULL};
	d.ink = calloc((size_t)d.w * (size_t)d.h, 1);
	if (!d.ink) {
		for (int i = 0; i < w * h; i++) {
			strcpy(cells[i].g, " ");
			cells[i].ink = INK_NONE;
		}
		return;
	}
	/* The limit as a flat line per point (it may step at a phase
	 * change); ASCII and blocks draw it where no data is. */
	plot_series(&d, limit, n, lo, hi, INK_LIMIT, false);
	plot_series(&d, control, n, lo, hi, INK_CONTROL, true);
	plot_series(&d, canary, n, lo, hi, INK_CANARY, true);
	for (int cy = 0; cy < h; cy++)
		for (int cx = 0; cx < w; cx++)
			cell_from_dots(&cells[cy * w + cx], &d, cx, cy, s);
	free(d.ink);
}

const char *spark_glyph(float v, float lo, float hi, bool utf8)
{
	static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char *const ascii[8] = {"_", ".", ",", "-", "~", "=", "*", "#"};
	if (!isfinite(v))
		return " ";
	float f = hi > lo ? (v - lo) / (hi - lo) : 0.5f;
	int k = (int)(f * 8.0f);
	if (k < 0)
		k = 0;
	if (k > 7)
		k = 7;
	return utf8 ? blocks[k] : ascii[k];
}
