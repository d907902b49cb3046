/* theme.c - the console's colours: built-in defaults and the loader of
 * themes/NAME.json (see theme.h for the model, shiproom(1) for the format).
 *
 * The loader reads strictly through jread.h, like the policy: an unknown
 * style name, an unknown key, a colour out of range or a bad attribute is
 * an error with file:line:column, never silently ignored, because a typo
 * in a theme could otherwise paint a RED tile in the colour of normal text.
 * A theme overrides the built-in styles field by field.
 */
#include "shiproom/theme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/jread.h"

static const char *const role_names[TR_COUNT + 1] = {
    [TR_NORMAL] = "normal",
    [TR_DIM] = "dim",
    [TR_TITLE] = "title",
    [TR_HEADER] = "header",
    [TR_BORDER] = "border",
    [TR_SELECTED] = "selected",
    [TR_KEY] = "key",
    [TR_KEY_DIM] = "key.dim",
    [TR_KEY_ALERT] = "key.alert",
    [TR_BADGE_RO] = "badge.ro",
    [TR_BANNER] = "banner",
    [TR_DIALOG] = "dialog",
    [TR_ST_GREEN] = "status.green",
    [TR_ST_YELLOW] = "status.yellow",
    [TR_ST_NODATA] = "status.nodata",
    [TR_ST_STALE] = "status.stale",
    [TR_ST_ERROR] = "status.error",
    [TR_ST_RED] = "status.red",
    [TR_V_GO] = "verdict.go",
    [TR_V_HOLD] = "verdict.hold",
    [TR_V_ROLLBACK] = "verdict.rollback",
    [TR_V_ESCALATE] = "verdict.escalate",
    [TR_CANARY] = "chart.canary",
    [TR_CONTROL] = "chart.control",
    [TR_LIMIT] = "chart.limit",
    [TR_NOW] = "timeline.now",
    [TR_PAST] = "timeline.past",
    [TR_FUTURE] = "timeline.future",
    [TR_COUNT] = NULL,
};

const char *theme_role_name(enum tui_role r)
{
	return (unsigned)r < TR_COUNT ? role_names[r] : "?";
}

enum tui_role theme_status_role(int status)
{
	/* enum sr_status: GREEN YELLOW NODATA STALE ERROR RED, in order. */
	if (status < 0 || status > TR_ST_RED - TR_ST_GREEN)
		return TR_ST_ERROR;
	return (enum tui_role)(TR_ST_GREEN + status);
}

enum tui_role theme_verdict_role(int verdict)
{
	switch (verdict) {
	case 0: return TR_V_GO;
	case 3: return TR_V_HOLD;
	case 4: return TR_V_ROLLBACK;
	case 5: return TR_V_ESCALATE;
	default: return TR_V_HOLD;
	}
}

/* ANSI colour numbers for the names a theme may use. */
enum {
	C_BLACK,
	C_RED,
	C_GREEN,
	C_YELLOW,
	C_BLUE,
	C_MAGENTA,
	C_CYAN,
	C_WHITE,
	C_BBLACK,
	C_BRED,
	C_BGREEN,
	C_BYELLOW,
	C_BBLUE,
	C_BMAGENTA,
	C_BCYAN,
	C_BWHITE
};

static const char *const colour_names[] = {
    "black",        "red",           "green",       "yellow",         "blue",
    "magenta",      "cyan",          "white",       "bright-black",   "bright-red",
    "bright-green", "bright-yellow", "bright-blue", "bright-magenta", "bright-cyan",
    "bright-white", "default",       NULL,
};

static const char *const attr_names[] = {"bold", "dim", "reverse", "underline", "italic", NULL};

/* One built-in style: 256-colour pair, 16-colour pair, attrs, mono. */
#define S(f, b, f16, b16, a, m)                                                                    \
	{                                                                                          \
		(short)(f), (short)(b), (short)(f16), (short)(b16), (a), (m)                       \
	}
#define D TC_DEFAULT

void theme_builtin(struct sr_theme *t)
{
	static const struct theme_style base[TR_COUNT] = {
	    [TR_NORMAL] = S(D, D, D, D, 0, 0),
	    [TR_DIM] = S(244, D, C_BBLACK, D, 0, TA_DIM),
	    [TR_TITLE] = S(D, D, D, D, TA_BOLD, TA_BOLD),
	    [TR_HEADER] = S(255, 24, C_BWHITE, C_BLUE, 0, TA_REVERSE),
	    [TR_BORDER] = S(240, D, C_BBLACK, D, 0, 0),
	    [TR_SELECTED] = S(D, 238, D, C_BLUE, TA_BOLD, TA_REVERSE),
	    [TR_KEY] = S(81, D, C_CYAN, D, TA_BOLD, TA_BOLD),
	    [TR_KEY_DIM] = S(242, D, C_BBLACK, D, 0, TA_DIM),
	    [TR_KEY_ALERT] = S(231, 160, C_BWHITE, C_RED, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_BADGE_RO] = S(16, 214, C_BLACK, C_YELLOW, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_BANNER] = S(231, 160, C_BWHITE, C_RED, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_DIALOG] = S(252, 236, C_WHITE, C_BLUE, 0, 0),
	    [TR_ST_GREEN] = S(71, D, C_GREEN, D, 0, 0),
	    [TR_ST_YELLOW] = S(220, D, C_YELLOW, D, TA_BOLD, TA_BOLD),
	    [TR_ST_NODATA] = S(246, D, C_BBLACK, D, 0, TA_UNDERLINE),
	    [TR_ST_STALE] = S(141, D, C_MAGENTA, D, 0, TA_UNDERLINE),
	    [TR_ST_ERROR] = S(201, D, C_BMAGENTA, D, TA_BOLD, TA_BOLD | TA_UNDERLINE),
	    [TR_ST_RED] = S(196, D, C_RED, D, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_V_GO] = S(16, 71, C_BLACK, C_GREEN, TA_BOLD, TA_BOLD),
	    [TR_V_HOLD] = S(16, 220, C_BLACK, C_YELLOW, TA_BOLD, TA_REVERSE),
	    [TR_V_ROLLBACK] = S(231, 160, C_BWHITE, C_RED, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_V_ESCALATE] = S(231, 129, C_BWHITE, C_MAGENTA, TA_BOLD, TA_REVERSE | TA_UNDERLINE),
	    [TR_CANARY] = S(214, D, C_YELLOW, D, 0, TA_BOLD),
	    [TR_CONTROL] = S(75, D, C_CYAN, D, 0, 0),
	    [TR_LIMIT] = S(203, D, C_RED, D, 0, TA_DIM),
	    [TR_NOW] = S(231, 24, C_BWHITE, C_BLUE, TA_BOLD, TA_REVERSE | TA_BOLD),
	    [TR_PAST] = S(250, D, C_WHITE, D, 0, TA_BOLD),
	    [TR_FUTURE] = S(242, D, C_BBLACK, D, 0, TA_DIM),
	};
	memset(t, 0, sizeof *t);
	sr_strlcpy(t->name, "default", sizeof t->name);
	sr_strlcpy(t->description, "built-in", sizeof t->description);
	memcpy(t->styles, base, sizeof base);
}

#undef S
#undef D

/* The 16 ANSI colours as xterm draws them, for nearest-colour look-ups. */
static const unsigned char ansi_rgb[16][3] = {
    {0, 0, 0},     {205, 0, 0},     {0, 205, 0},     {205, 205, 0},   {0, 0, 238}, {205, 0, 205},
    {0, 205, 205}, {229, 229, 229}, {127, 127, 127}, {255, 0, 0},     {0, 255, 0}, {255, 255, 0},
    {92, 92, 255}, {255, 0, 255},   {0, 255, 255},   {255, 255, 255},
};

static void rgb_of_256(int c, int *r, int *g, int *b)
{
	static const int steps[6] = {0, 95, 135, 175, 215, 255};
	if (c < 16) {
		*r = ansi_rgb[c][0];
		*g = ansi_rgb[c][1];
		*b = ansi_rgb[c][2];
	} else if (c < 232) {
		c -= 16;
		*r = steps[c / 36];
		*g = steps[(c / 6) % 6];
		*b = steps[c % 6];
	} else {
		*r = *g = *b = 8 + (c - 232) * 10;
	}
}

short theme_to16(short c256)
{
	if (c256 < 0)
		return TC_DEFAULT;
	if (c256 < 16)
		return c256;
	int r, g, b;
	rgb_of_256(c256, &r, &g, &b);
	int best = 0;
	long bestd = -1;
	for (int i = 0; i < 16; i++) {
		long dr = r - ansi_rgb[i][0], dg = g - ansi_rgb[i][1], db = b - ansi_rgb[i][2];
		long d = dr * dr + dg * dg + db * db;
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = i;
		}
	}
	return (short)best;
}

/* Nearest xterm-256 colour to #rrggbb (cube or grey ramp). */
static short nearest_256(int r, int g, int b)
{
	int best = 16;
	long bestd = -1;
	for (int c = 16; c < 256; c++) {
		int cr, cg, cb;
		rgb_of_256(c, &cr, &cg, &cb);
		long d = (long)(r - cr) * (r - cr) + (long)(g - cg) * (g - cg) +
		         (long)(b - cb) * (b - cb);
		if (bestd < 0 || d < bestd) {
			bestd = d;
			best = c;
		}
	}
	return (short)best;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A colour: an integer 0..max, a name (max 255 allows none above 15
 * anyway), "default", or "#rrggbb" when max is 255. */
static int parse_colour(struct jr_doc *d, const struct jr_val *v, int max, short *out)
{
	if (json_is_integer(v->j)) {
		int c;
		if (jr_as_int(d, v, 0, max, &c) < 0)
			return -1;
		*out = (short)c;
		return 0;
	}
	if (!json_is_string(v->j))
		return jr_fail(d, v, NULL, JR_AT_VALUE,
		               "expected a colour: 0..%d, a name or \"#rrggbb\"", max);
	const char *s = json_string_value(v->j);
	if (s[0] == '#') {
		int x[6];
		bool ok = max == 255 && strlen(s) == 7;
		for (int i = 0; ok && i < 6; i++)
			ok = (x[i] = hexval(s[i + 1])) >= 0;
		if (!ok)
			return jr_fail(
			    d, v, NULL, JR_AT_VALUE,
			    max == 255
			        ? "bad colour \"%.16s\": expected \"#rrggbb\""
			        : "bad colour \"%.16s\": a 16-colour value takes a name or 0..15",
			    s);
		*out = nearest_256(x[0] * 16 + x[1], x[2] * 16 + x[3], x[4] * 16 + x[5]);
		return 0;
	}
	int idx;
	if (jr_as_enum(d, v, "colour", colour_names, &idx) < 0)
		return -1;
	*out = idx == 16 ? TC_DEFAULT : (short)idx;
	return 0;
}

static int parse_attrs(struct jr_doc *d, const struct jr_val *v, unsigned *out)
{
	if (!json_is_array(v->j))
		return jr_fail(
		    d, v, NULL, JR_AT_VALUE,
		    "expected an array of attributes (bold, dim, reverse, underline, italic)");
	unsigned a = 0;
	for (size_t i = 0; i < jr_len(v); i++) {
		struct jr_val e;
		int k;
		jr_elem(v, i, &e);
		if (jr_as_enum(d, &e, "attribute", attr_names, &k) < 0)
			return -1;
		a |= 1u << k;
	}
	*out = a;
	return 0;
}

static int parse_style(struct jr_doc *d, const struct jr_val *v, struct theme_style *st)
{
	static const char *const keys[] = {"fg", "bg", "fg16", "bg16", "attrs", "mono", NULL};
	struct jr_val m;
	if (jr_as_object(d, v) < 0 || jr_check_keys(d, v, keys) < 0)
		return -1;
	/* A 256-colour value without its 16-colour twin brings its nearest
	 * ANSI colour along, so the two never contradict each other. */
	if (jr_member(d, v, "fg", JR_OPTIONAL, &m) == 0 && parse_colour(d, &m, 255, &st->fg) == 0)
		st->fg16 = theme_to16(st->fg);
	if (jr_member(d, v, "bg", JR_OPTIONAL, &m) == 0 && parse_colour(d, &m, 255, &st->bg) == 0)
		st->bg16 = theme_to16(st->bg);
	if (jr_member(d, v, "fg16", JR_OPTIONAL, &m) == 0)
		parse_colour(d, &m, 15, &st->fg16);
	if (jr_member(d, v, "bg16", JR_OPTIONAL, &m) == 0)
		parse_colour(d, &m, 15, &st->bg16);
	if (jr_member(d, v, "attrs", JR_OPTIONAL, &m) == 0)
		parse_attrs(d, &m, &st->attrs);
	if (jr_member(d, v, "mono", JR_OPTIONAL, &m) == 0)
		parse_attrs(d, &m, &st->mono);
	return d->failed ? -1 : 0;
}

static int role_by_name(const char *name)
{
	for (int i = 0; i < TR_COUNT; i++)
		if (strcmp(role_names[i], name) == 0)
			return i;
	return -1;
}

int theme_load_buffer(struct sr_theme *t, const char *buf, size_t len, const char *name,
                      struct sr_policy_error *err)
{
	static const char *const top[] = {"name", "description", "mono", "styles", NULL};
	struct jr_doc d;
	struct jr_val root, styles, v;
	theme_builtin(t);
	if (jr_open(&d, buf, len, name, err) < 0)
		return -1;
	jr_root(&d, &root);
	if (jr_check_keys(&d, &root, top) == 0 &&
	    jr_string(&d, &root, "name", JR_REQUIRED, t->name, sizeof t->name) == 0 &&
	    jr_string(&d, &root, "description", JR_OPTIONAL, t->description,
	              sizeof t->description) >= 0 &&
	    jr_bool(&d, &root, "mono", JR_OPTIONAL, &t->mono) >= 0 &&
	    jr_object(&d, &root, "styles", JR_OPTIONAL, &styles) == 0) {
		void *it = NULL;
		const char *key;
		while (!d.failed && jr_next(&styles, &it, &key, &v)) {
			int r = role_by_name(key);
			if (r < 0) {
				jr_fail(&d, &styles, key, JR_AT_KEY,
				        "unknown style \"%.40s\" (see shiproom(1), THEMES, for the "
				        "names)",
				        key);
				break;
			}
			parse_style(&d, &v, &t->styles[r]);
		}
	}
	jr_close(&d);
	return d.failed ? -1 : 0;
}

int theme_load_file(struct sr_theme *t, const char *path, struct sr_policy_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	theme_builtin(t);
	if (jr_read_file(path, &buf, &len, err) < 0)
		return -1;
	int rc = theme_load_buffer(t, buf, len, path, err);
	free(buf);
	return rc;
}

void theme_path(char *out, size_t n, const char *datadir, const char *name)
{
	size_t len = strlen(name);
	if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".json") == 0))
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%s/themes/%s.json", datadir && *datadir ? datadir : ".", name);
}
