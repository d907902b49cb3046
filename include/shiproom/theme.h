/* theme.h - the console's colours: themes/NAME.json as data.
 *
 * A theme maps each semantic role of the screen ("status.red",
 * "chart.canary", "key.alert", ...) to a style for each kind of terminal:
 * a 256-colour pair, a 16-colour pair and the attributes to use when
 * there is no colour at all (mono, NO_COLOR). Every role has a built-in
 * default, so a theme file only names what it changes, and the console
 * works even when themes/ is missing. Status is never told by colour
 * alone: the views always print a status word or glyph as well.
 *
 * Pure: no curses here (term.c turns a theme into colour pairs), so the
 * loader is unit-tested without a terminal. Format: shiproom(1), THEMES.
 */
#ifndef SHIPROOM_THEME_H
#define SHIPROOM_THEME_H

#include <stddef.h>

#include "shiproom/policy.h" /* struct sr_policy_error */

/* Semantic roles. The names (theme_role_name) are the keys of "styles". */
enum tui_role {
	TR_NORMAL = 0,
	TR_DIM,
	TR_TITLE,
	TR_HEADER, /* the header bar */
	TR_BORDER,
	TR_SELECTED,  /* the selected tile or row */
	TR_KEY,       /* a key in the key bar */
	TR_KEY_DIM,   /* an action not allowed to this user now */
	TR_KEY_ALERT, /* the rollback key while a trigger fires */
	TR_BADGE_RO,
	TR_BANNER, /* the trigger banner */
	TR_DIALOG,
	TR_ST_GREEN, /* the six statuses, in enum sr_status order */
	TR_ST_YELLOW,
	TR_ST_NODATA,
	TR_ST_STALE,
	TR_ST_ERROR,
	TR_ST_RED,
	TR_V_GO, /* the four verdicts */
	TR_V_HOLD,
	TR_V_ROLLBACK,
	TR_V_ESCALATE,
	TR_CANARY, /* chart series */
	TR_CONTROL,
	TR_LIMIT,
	TR_NOW,  /* timeline now-marker */
	TR_PAST, /* timeline: elapsed part */
	TR_FUTURE,
	TR_COUNT
};

/* Attribute bits (term.c maps them to curses attributes). */
#define TA_BOLD 0x01u
#define TA_DIM 0x02u
#define TA_REVERSE 0x04u
#define TA_UNDERLINE 0x08u
#define TA_ITALIC 0x10u

/* Colour numbers: 0..255, or TC_DEFAULT for the terminal's own. */
#define TC_DEFAULT (-1)

struct theme_style {
	short fg, bg;     /* 256-colour terminals */
	short fg16, bg16; /* 8/16-colour terminals: 0..15 or TC_DEFAULT */
	unsigned attrs;   /* with colour */
	unsigned mono;    /* without colour: the only way to tell */
};

struct sr_theme {
	char name[48];
	char description[160];
	bool mono; /* the theme asks for no colour at all */
	struct theme_style styles[TR_COUNT];
};

const char *theme_role_name(enum tui_role r);
/* The style of a status / verdict (enum sr_status, enum sr_verdict). */
enum tui_role theme_status_role(int status);
enum tui_role theme_verdict_role(int verdict);

/* The built-in theme (what themes/default.json also says). */
void theme_builtin(struct sr_theme *t);

/* Load over the built-in defaults. Returns 0, or -1 with *err filled:
 * policy_error_format() prints "file:line:column: /styles/x/fg: msg". */
int theme_load_buffer(struct sr_theme *t, const char *buf, size_t len, const char *name,
                      struct sr_policy_error *err);
int theme_load_file(struct sr_theme *t, const char *path, struct sr_policy_error *err);

/* NAME -> path: a value containing '/' or ending in ".json" is used as
 * given; otherwise DATADIR/themes/NAME.json. */
void theme_path(char *out, size_t n, const char *datadir, const char *name);

/* Nearest of the 16 ANSI colours to a 256-colour index (for fg16 when a
 * theme gives only a 256-colour value). */
short theme_to16(short c256);

#endif
