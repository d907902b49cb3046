/* tui.h - the console's insides, shared by the files of src/tui/.
 *
 * Layers, as in tmux and htop:
 *   term.c      the only code that talks to curses (htop's CRT.c): the tty,
 *               colours, drawing a string in a role, one doupdate();
 *   views       header, tiles, kpis, timeline, workflow, log, keybar,
 *               detail, triggers, checklists, approvals, pager (the gate
 *               report and phase card), help, dialog: each reads the
 *               runner and draws with term_*; none changes state;
 *   keys.c      keys -> navigation, and actions -> action_dispatch();
 *   console.c   the libuv loop: timers, tty poll, signals, the frame.
 * console_run() (console.h) is the only way in from outside.
 */
#ifndef SHIPROOM_TUI_H
#define SHIPROOM_TUI_H

#include "shiproom/chart.h"
#include "shiproom/console.h"
#include "shiproom/layout.h"
#include "shiproom/report.h"
#include "shiproom/theme.h"

/* ---- keys: curses codes never leave term.c --------------------------- */
enum {
	TK_NONE = -1,
	TK_CTRL_C = 3,
	TK_CTRL_Z = 26,
	TK_TAB = '\t',
	TK_ENTER = '\n',
	TK_ESC = 27,
	TK_BACKSPACE = 127,
	TK_UP = 0x110000, /* above every Unicode code point */
	TK_DOWN,
	TK_LEFT,
	TK_RIGHT,
	TK_BTAB,
	TK_PGUP,
	TK_PGDN,
	TK_HOME,
	TK_END,
	TK_RESIZE,
	TK_PASTE /* a bracketed paste: its text is term_paste_text()'s */
};

/* ---- term.c ------------------------------------------------------------ */

/* Open /dev/tty twice (one fd polled for input, one blocking for output),
 * start curses on it, set up the theme's colours (256 -> 16 -> mono, NO_COLOR)
 * and the fatal-signal restore. -1 with a message in err. */
int term_open(const struct sr_theme *th, bool force_ascii, char *err, size_t n);
/* Restore the terminal; safe to call twice and from atexit. */
void term_close(void);
bool term_is_open(void);
int term_input_fd(void);
bool term_utf8(void);               /* UTF-8 glyphs allowed */
const char *term_colour_mode(void); /* "256", "16", "8", "mono" */
void term_size(int *w, int *h);
/* Re-read the size from the tty after SIGWINCH; true if it changed. */
bool term_resize(void);
/* Next key, or TK_NONE when no input is waiting. An escape sequence
 * curses does not know is read whole and ignored (0), never handed out
 * byte by byte as keys; a bracketed paste (the terminal's BE mode, on
 * while the console runs) is TK_PASTE, never keys: in a console where one
 * key acts, pasted text must not (an "a" and a newline approved a gate). */
int term_getkey(void);
/* The text of the last TK_PASTE (at most KEYSEQ_PASTE_MAX bytes, keyseq.h;
 * the rest is dropped), as the terminal sent it. */
const char *term_paste_text(void);
/* Repaint everything on the next flush (after a resize, a view change). */
void term_clear_all(void);
/* ^Z: give the terminal back to the shell and stop until `fg` (the raw
 * terminal sends ^Z as a key, so the console does what the tty would),
 * then take it again; the caller repaints everything. Only under a shell
 * with job control: the console alone in its session's process group
 * (run by `ssh host shiproom`, tmux's `exec`, a script) would stop with
 * nobody to continue it. -1 and why, then nothing was done. */
int term_suspend(char *why, size_t n);
void term_fill(int y, int x, int h, int w, enum tui_role role);
/* Draw s (UTF-8) at y,x in at most maxw columns; returns columns used.
 * Under ASCII every non-ASCII character is drawn as '?'. */
int term_put(int y, int x, int maxw, enum tui_role role, const char *s);
int term_putf(int y, int x, int maxw, enum tui_role role, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void term_hline(int y, int x, int w, enum tui_role role);
/* A box with an optional title in its top border. */
void term_box(int y, int x, int h, int w, enum tui_role role, const char *title,
              enum tui_role title_role);
void term_cursor(bool visible, int y, int x);
void term_bell(void);
/* One doupdate() for everything drawn since the last flush. */
void term_flush(void);

/* ---- text.c: UTF-8 widths, no locale needed ---------------------------- */
int text_width(const char *s);
/* Bytes of s that fit in maxw columns (never cutting a character). */
size_t text_fit(const char *s, int maxw, int *cols);
/* Split text into lines of at most w columns: at '\n', at "; " (one
 * reason a line), and at spaces. Returns the number of lines. */
#define TEXT_LINE_BYTES 320
int text_wrap(const char *text, int w, char out[][TEXT_LINE_BYTES], int max);
/* Glyphs that differ between UTF-8 and ASCII terminals. */
struct tui_glyphs {
	const char *h, *v, *tl, *tr, *bl, *br; /* box drawing */
	const char *arrow, *le, *ge, *pm, *dot, *ellipsis, *now, *tick, *cross, *hold, *gate;
};
const struct tui_glyphs *glyphs(bool utf8);
/* snprintf for screen text: cutting at the buffer size is intended (the
 * screen cuts anyway), so gcc's -Wformat-truncation has nothing to say. */
int tui_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Numbers as an operator reads them: "98ms", "0.21%", "4.20x". */
void fmt_value(char *buf, size_t n, double v, const char *unit);

/* ---- console state ---------------------------------------------------- */

/* The numbered views first (key 1 is VIEW_MAIN ... key 6 VIEW_WORKFLOW). */
enum tui_view_id {
	VIEW_MAIN,
	VIEW_KPIS,
	VIEW_TRIGGERS,
	VIEW_CHECKLISTS,
	VIEW_APPROVALS,
	VIEW_WORKFLOW,
	VIEW_WHO, /* who is attached to the service */
	VIEW_DETAIL,
	VIEW_HELP,
	VIEW_REPORT, /* the pager: a gate report or a phase card */
	VIEW_COUNT
};
#define VIEW_NUMBERED 7 /* views reached with 1..7 */

/* Regions to redraw on the next frame. */
#define D_HEADER 0x001u
#define D_BANNER 0x002u
#define D_TILES 0x004u
#define D_KPIS 0x008u
#define D_TIMELINE 0x010u
#define D_LOG 0x020u
#define D_STATUS 0x040u
#define D_KEYBAR 0x080u
#define D_BODY 0x100u /* a view other than main */
#define D_DIALOG 0x200u
#define D_CLEAR 0x400u    /* clear the screen first (resize, view change) */
#define D_WORKFLOW 0x800u /* the main view's workflow strip */
#define D_DATA                                                                                     \
	(D_HEADER | D_BANNER | D_TILES | D_KPIS | D_TIMELINE | D_LOG | D_KEYBAR | D_BODY |         \
	 D_WORKFLOW)
#define D_ALL (D_DATA | D_STATUS | D_DIALOG | D_CLEAR)

enum dlg_kind { DLG_NONE, DLG_CONFIRM, DLG_WEIGHT, DLG_RESULT };

struct tui_dialog {
	enum dlg_kind kind;
	enum sr_action_kind action;
	char title[SR_TITLE_LEN];
	char text[SR_TEXT_LEN * 4]; /* lines separated by '\n' */
	char input[8];              /* DLG_WEIGHT: digits typed so far */
	enum tui_role role;         /* DLG_RESULT: colour of the title */
	char reason[SR_REASON_LEN]; /* DLG_CONFIRM: the reason already given
	                               (`:rollback why`); empty: ask after y */
};

/* The line typed on the status row (prompt.c): the reason an action
 * asks for (a default offered, Enter accepts it), or the `:` command
 * line. */
struct tui_prompt {
	bool active;
	bool command;                 /* the ':' line; else a reason for req */
	struct sr_action_request req; /* the request waiting for its reason */
	char label[64];
	char text[SR_REASON_LEN];
};

/* The report pager: one report rendered from its template, live (built
 * again when the engine has evaluated since), scrolled and panned. */
struct tui_pager {
	enum sr_report_kind kind; /* SR_REPORT_GATE or SR_REPORT_CARD */
	int index;                /* gate / phase index; -1 until resolved */
	char *text;               /* the Markdown, lines split in place */
	char **line;              /* (not "lines": a curses macro) */
	int nlines;
	long built_evals; /* engine evaluations when it was built */
	int built_nlog;
	int top, left; /* first line shown, columns panned */
};

/* A filter typed after '/' (k9s): a substring, matched without case. */
#define TUI_FILTER_LEN 48

struct tui {
	const struct sr_console_opts *o;
	struct sr_runner *r;
	const struct sr_policy *p;
	struct sr_theme theme;
	struct tui_layout lay;
	bool utf8;
	enum chart_style chart;

	sr_ms now;                   /* virtual now of the frame being drawn */
	enum tui_view_id view, back; /* back: where esc returns from detail/help */
	unsigned dirty;

	/* Selections. */
	int sel_journey;    /* main view tile */
	int sel_cell;       /* KPI view row (a policy cell) */
	int sel_check;      /* checklists: flat index over every item */
	int detail_cell;    /* the cell the detail view charts */
	int detail_journey; /* or a journey (-1: a cell) */
	int help_scroll;
	int workflow_scroll;

	/* '/' filters: the event log (main view) and the KPI view. */
	char log_filter[TUI_FILTER_LEN];
	char kpi_filter[TUI_FILTER_LEN];
	char *filter_edit; /* the filter being typed, or NULL */
	int log_scroll;    /* event log rows scrolled back from the newest */

	struct tui_pager pager;
	/* Reports written when due (report_watch_tick after each tick):
	 * on when the console has templates and a state dir to write to. */
	struct sr_report_watch watch;
	bool watching;

	struct tui_dialog dlg;
	struct tui_prompt prompt;
	bool replay_end_said;        /* "end of journal" flashed once */
	char flash[SR_TEXT_LEN * 2]; /* status line message */
	enum sr_status flash_sev;
	sr_ms flash_until; /* real ms */

	/* What the last frame showed, to know what changed. */
	int seen_nlog;
	bool seen_banner;
	long seen_evals;
	bool waiting_action; /* a PENDING result is still out */
	int sent_result_seq; /* attached: the client's result count when
	                        the request went out */
	bool quit;
};

/* ---- views (each file draws one thing) ------------------------------- */
void header_draw(struct tui *t);
void banner_draw(struct tui *t);
bool banner_active(const struct tui *t, int *trigger);
void tiles_draw(struct tui *t);
void kpis_draw(struct tui *t);      /* main view KPI groups */
void kpis_view_draw(struct tui *t); /* view 2: every cell */
/* The cells of the KPI view in display order; returns how many. */
int kpis_view_order(const struct tui *t, int *cells, int max);
void timeline_draw(struct tui *t);
void log_draw(struct tui *t);
/* Scroll the event log by `rows` (> 0 older, < 0 newer; clamped). */
void log_scroll(struct tui *t, int rows);
void keybar_draw(struct tui *t);
void status_line_draw(struct tui *t);
void detail_draw(struct tui *t);
void triggers_draw(struct tui *t);
void checklists_draw(struct tui *t);
/* Checklist items as one flat list (the checklists view's selection). */
int checklists_count(const struct sr_policy *p);
bool checklists_item(const struct sr_policy *p, int flat, int *list, int *item);
void approvals_draw(struct tui *t);
void workflow_draw(struct tui *t); /* view 6 */
void who_draw(struct tui *t);      /* view 7 */
/* "3 attached, alice acting": the header's badge ("" without a service). */
void who_badge(const struct tui *t, char *buf, size_t n);
void workflow_strip_draw(struct tui *t); /* the main view's strip */
/* After every runner_tick() and every action: write the reports that are
 * due (report_watch_tick), queue the webhook posts (notify_tick), so a
 * rollback's postmortem placeholder and post do not wait for the next
 * poll. */
void workflow_tick(struct tui *t);
void pager_draw(struct tui *t);
void help_draw(struct tui *t);
void dialog_draw(struct tui *t);
void too_small_draw(struct tui *t);

/* pager.c: open a report (gate -1: the gate ahead; card -1: the current
 * phase), its keys, and writing it into the state dir. */
void pager_open(struct tui *t, enum sr_report_kind kind, int index);
void pager_key(struct tui *t, int key);
void pager_free(struct tui *t);
/* Draw one line of Markdown: headings bold, **bold** markers dropped,
 * status and verdict words in their colours; `left` columns panned. */
void pager_md_line(int y, int x, int w, const char *line, int left);

/* dialog.c */
void dialog_open(struct tui *t, enum dlg_kind kind, enum sr_action_kind action, enum tui_role role,
                 const char *title, const char *text);
void dialog_key(struct tui *t, int key);

/* keys.c */
void keys_handle(struct tui *t, int key);

/* ---- prompt.c: the reason prompt and the ':' command line ---------------- */

/* Ask for the reason of `req` (its reason is the default offered). */
void prompt_reason_open(struct tui *t, const struct sr_action_request *req);
void prompt_command_open(struct tui *t);
void prompt_key(struct tui *t, int key);
/* Append pasted text to a line being typed (capacity cap): printable
 * ASCII as typed, line breaks and tabs as spaces, anything else dropped.
 * A paste never presses enter. */
void prompt_append_paste(char *line, size_t cap, const char *text);
/* A key for a line being typed: a character's byte is added (UTF-8 on a
 * UTF-8 terminal), backspace takes off a whole character. */
void prompt_line_key(char *line, size_t cap, int key);
/* Draw the prompt on the status line; false when none is open. */
bool prompt_draw(struct tui *t);
/* The reason offered for an action: the firing trigger, else the RED
 * cells, else the decision's first reason. */
void prompt_default_reason(const struct sr_engine *e, enum sr_action_kind k, char *buf, size_t n);
/* Complete a command name: the unique command starting with `typed`, or
 * the longest common prefix; returns how many commands match. Pure. */
int prompt_complete(const char *typed, char *out, size_t n);
/* Run one command line (without the ':'); a flash says what happened. */
void prompt_run(struct tui *t, const char *line);

/* ---- replay.c: a replay as a tool ------------------------------------------ */

/* Pause, step to the next/previous event, speed up and down: true when
 * the key was a replay key (only while replaying). */
bool replay_key(struct tui *t, int key);
/* Jump to `at` (clamped to the journal); false when not replaying. */
bool replay_goto(struct tui *t, sr_ms at);
/* "REPLAY x60", "PAUSED x60" or "end of journal at T+131"; false when
 * not replaying. */
bool replay_badge(const struct tui *t, char *buf, size_t n);
/* The time a replay's frame shows: never past the journal's end. */
sr_ms replay_view_now(const struct tui *t, sr_ms now);
/* After each tick: at the journal's end the clock stops and says so. */
void replay_after_tick(struct tui *t);
/* A request from this console for the action (actor, reason, and for
 * TICK the selected checklist item). */
void tui_request(struct tui *t, enum sr_action_kind kind, struct sr_action_request *req);
/* action_dispatch() and show its result: done in the status line,
 * refused or failed in a box with every reason. */
void tui_dispatch(struct tui *t, const struct sr_action_request *req);
/* An asynchronous action finished: show its result (console.c). */
void tui_action_finished(struct tui *t);
void tui_flash(struct tui *t, enum sr_status sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The layout for the current size and state. */
void tui_relayout(struct tui *t);
/* Switch view (marks the screen for a clean repaint). */
void tui_set_view(struct tui *t, enum tui_view_id v);

/* ---- the event log view (log.c): pure, unit-tested ------------------- */

/* Runs of at least LOG_COALESCE_MIN status changes to GREEN within one
 * minute (the first data of a rollout turns ~40 checks GREEN at T+0)
 * are shown as one row; RED, YELLOW and data-gap changes never are. */
#define LOG_COALESCE_MIN 3

enum logview_tag {
	LV_PLAIN,      /* one log entry */
	LV_GREEN,      /* a run of changes to GREEN */
	LV_FIRST_DATA, /* ... none of whose checks had data before */
	LV_DATA_BACK   /* ... each coming back from a data gap */
};

struct logview_row {
	int entry;  /* runner_log_entry() index: the row's newest entry */
	int oldest; /* a run: its oldest entry (entry for a plain row) */
	int count;  /* entries the row stands for */
	enum logview_tag tag;
};

/* The rows of the event log, newest first, at most max. With a filter
 * (non-empty), only the entries that match it, one row each. */
int logview_rows(const struct sr_runner *r, const char *filter, struct logview_row *rows, int max);
/* The text of a row: the entry's own, or for a run "33 checks GREEN
 * (first data): search P95, search P99, ..." cut at n. */
void logview_row_text(const struct sr_runner *r, const struct logview_row *row, char *buf,
                      size_t n);
/* Case-insensitive substring test (an empty needle matches). */
bool tui_match(const char *hay, const char *needle);

/* ---- shared look-ups over the policy and engine ----------------------- */
/* The latency cell of journey j at quantile q (0.50/0.95/0.99); -1. */
int tui_latency_cell(const struct sr_policy *p, int journey, double q);
/* The worst cell of a journey (for its breach timer); -1. */
int tui_journey_worst_cell(const struct sr_runner *r, int journey);
/* The worst cell of a KPI over its journeys; -1. */
int tui_kpi_worst_cell(const struct sr_runner *r, int kpi);
/* "RED 3m12s/5m", "YELLOW", "STALE 2m" into buf. */
void tui_status_text(const struct tui *t, int cell, enum sr_status st, char *buf, size_t n);
/* A cell's compact value ("98ms", "+1.2%") and target ("<=130ms", "+-3%"). */
void tui_cell_value(const struct tui *t, int cell, char *buf, size_t n);
void tui_cell_target(const struct tui *t, int cell, char *buf, size_t n);
/* "T+112" relative to the rollout's T-0. */
void tui_trel(const struct tui *t, sr_ms at, char *buf, size_t n);
/* The sustained-breach trigger's duration (0: none in the policy). */
sr_ms tui_sustain_ms(const struct sr_policy *p);
/* Actor used for actions from this console. */
const char *tui_actor(const struct tui *t);

#endif
