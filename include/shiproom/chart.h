/* chart.h - charts and sparklines as text cells, with no terminal.
 *
 * A chart of canary vs control over time with the limit drawn, in one of
 * three styles: braille (2x4 dots a cell, UTF-8), blocks (half blocks, 1x2
 * a cell, UTF-8) or ASCII ('*' canary, 'o' control, '-' limit). NAN is a
 * gap (NODATA/STALE/ERROR) and stays a gap: no line is drawn through it.
 * The result is a grid of cells, each with a glyph and an ink that the
 * view turns into a theme role, so the same code is tested without
 * curses and drawn by term.c.
 */
#ifndef SHIPROOM_CHART_H
#define SHIPROOM_CHART_H

#include <stdbool.h>
#include <stddef.h>

enum chart_style { CHART_BRAILLE, CHART_BLOCKS, CHART_ASCII, CHART_STYLE_COUNT };
const char *chart_style_name(enum chart_style s); /* "braille", "blocks", "ascii" */

enum chart_ink { INK_NONE = 0, INK_LIMIT, INK_CONTROL, INK_CANARY };

struct chart_cell {
	char g[5];         /* one UTF-8 character (or ASCII), NUL-terminated */
	unsigned char ink; /* enum chart_ink: the most important thing in it */
};

/* Dots across and down one cell for a style (braille 2x4, blocks 1x2,
 * ascii 1x1). */
void chart_resolution(enum chart_style s, int *xres, int *yres);

/* A value range that holds every finite value of the series and the
 * limit, with a little headroom; lo < hi always. */
void chart_range(const float *const *series, int nseries, int n, float *lo, float *hi);

/* Plot n points (oldest first; when there are more points than dot
 * columns, the newest are shown) into a w x h grid of cells. Any series
 * may be NULL. */
void chart_plot(struct chart_cell *cells, int w, int h, enum chart_style s, const float *canary,
                const float *control, const float *limit, int n, float lo, float hi);

/* One sparkline glyph for v in [lo, hi]: eight block heights under UTF-8,
 * an ASCII ramp otherwise, " " for a gap (NAN). */
const char *spark_glyph(float v, float lo, float hi, bool utf8);

#endif
