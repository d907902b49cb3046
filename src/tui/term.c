/* term.c - the only code that talks to curses (htop's CRT.c).
 *
 * Why it is shaped this way (DESIGN.md section 5):
 *  - The terminal is reopened from /dev/tty twice: libuv's uv_poll makes
 *    the polled fd non-blocking, and fds 0/1/2 share one open file
 *    description, so polling them would make curses' own writes
 *    non-blocking too (EAGAIN on a slow SSH link). Input comes from one
 *    description (polled), output goes to another (blocking).
 *  - curses must not own signals: the loop installs uv_signal handlers
 *    for SIGWINCH/SIGTERM/SIGHUP/SIGINT before newterm(), and ncurses only
 *    catches signals whose disposition is still the default.
 *  - Keys are read from a 1x1 pad: wgetch() on stdscr would refresh it
 *    behind the frame's back; a pad is never refreshed by wgetch().
 *  - One teardown path: term_close() on every normal exit, atexit() for
 *    anyone calling exit(), and a fatal-signal handler that writes the
 *    precomputed restore sequence and the saved termios with only
 *    async-signal-safe calls, then hands the signal on.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "shiproom/keyseq.h"
#include "shiproom/tui.h"

static struct keyseq keyseq; /* keyseq.h: sequences whole, pastes as text */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NFATAL ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))

static struct {
	bool open;
	int in_fd, out_fd;
	FILE *in_fp, *out_fp;
	SCREEN *scr;
	WINDOW *keys; /* the pad keys are read from */
	bool utf8;
	int colours; /* 0 (mono), 8, 16, 256 */
	attr_t attr[TR_COUNT];
	short pair_bg[TR_COUNT + 1]; /* background of pair i (blanks_inherit) */
	struct termios saved;
	bool have_saved;
	char restore[256]; /* written by the fatal-signal handler */
	size_t restore_len;
	struct sigaction old[NFATAL];
	bool atexit_done;
} T = {.in_fd = -1, .out_fd = -1};

/* ---- restoring the terminal ------------------------------------------- */

/* terminfo's string for `cap`, else `otherwise` (may be NULL). */
static const char *cap_or(const char *cap, const char *otherwise)
{
	const char *s = tigetstr(cap);
	return s && s != (const char *)-1 ? s : otherwise;
}

/* Append `cap`'s string (else `otherwise`) to what restore_raw sends,
 * without its "$<..>" padding. */
static void restore_add_or(const char *cap, const char *otherwise)
{
	const char *s = cap_or(cap, otherwise);
	if (!s)
		return;
	for (; *s && T.restore_len + 1 < sizeof T.restore; s++) {
		if (s[0] == '$' && s[1] == '<') {
			while (*s && *s != '>')
				s++;
			if (!*s)
				break;
			continue;
		}
		T.restore[T.restore_len++] = *s;
	}
}

/* A mode string to the terminal now (putp() would write it to stdout's
 * buffer, not to the terminal curses draws on). */
static void send_mode(const char *s)
{
	if (T.out_fp) {
		fputs(s, T.out_fp);
		fflush(T.out_fp);
	}
}

/* Bracketed paste: terminfo's BE/BD, else xterm's mode 2004 (below). */
#define PASTE_ON_CAP "BE", "\033[?2004h"
#define PASTE_OFF_CAP "BD", "\033[?2004l"

static void paste_mode(bool on)
{
	send_mode(on ? cap_or(PASTE_ON_CAP) : cap_or(PASTE_OFF_CAP));
}

static void restore_add(const char *cap)
{
	restore_add_or(cap, NULL);
}

/* Async-signal-safe: write() and tcsetattr() only. */
static void restore_raw(void)
{
	if (T.out_fd >= 0 && T.restore_len > 0) {
		ssize_t w = write(T.out_fd, T.restore, T.restore_len);
		(void)w;
	}
	if (T.have_saved && T.out_fd >= 0)
		tcsetattr(T.out_fd, TCSANOW, &T.saved);
}

static void fatal_handler(int sig)
{
	int saved_errno = errno;
	restore_raw();
	/* Hand the signal on to whoever had it (a sanitizer, or the default
	 * action): it is blocked while we run and is delivered on return. */
	for (int i = 0; i < NFATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &T.old[i], NULL);
	raise(sig);
	errno = saved_errno;
}

static void fatal_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fatal_handler;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &sa, &T.old[i]);
}

static void fatal_remove(void)
{
	for (int i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &T.old[i], NULL);
}

static void term_atexit(void)
{
	term_close();
}

/* ---- colours ---------------------------------------------------------- */

static attr_t curses_attrs(unsigned a)
{
	attr_t r = A_NORMAL;
	if (a & TA_BOLD)
		r |= A_BOLD;
	if (a & TA_DIM)
		r |= A_DIM;
	if (a & TA_REVERSE)
		r |= A_REVERSE;
	if (a & TA_UNDERLINE)
		r |= A_UNDERLINE;
#ifdef A_ITALIC
	if (a & TA_ITALIC)
		r |= A_ITALIC;
#endif
	return r;
}

static bool no_color_env(void)
{
	const char *s = getenv("NO_COLOR");
	return s && *s; /* no-color.org: present and not empty */
}

static void colours_setup(const struct sr_theme *th)
{
	T.colours = 0;
	if (!th->mono && !no_color_env() && has_colors() && start_color() == OK) {
		T.colours = COLORS >= 256 ? 256 : COLORS >= 16 ? 16 : COLORS >= 8 ? 8 : 0;
		if (COLOR_PAIRS <= TR_COUNT)
			T.colours = 0;
	}
	bool defaults = T.colours && use_default_colors() == OK;
	for (int i = 0; i < TR_COUNT; i++) {
		const struct theme_style *s = &th->styles[i];
		if (!T.colours) {
			T.attr[i] = curses_attrs(s->mono);
			continue;
		}
		short fg = T.colours == 256 ? s->fg : s->fg16;
		short bg = T.colours == 256 ? s->bg : s->bg16;
		attr_t extra = A_NORMAL;
		if (T.colours == 8) {
			/* Eight colours: bright foregrounds become bold. */
			if (fg >= 8) {
				fg = (short)(fg - 8);
				extra |= A_BOLD;
			}
			if (bg >= 8)
				bg = (short)(bg - 8);
		}
		if (!defaults) {
			if (fg < 0)
				fg = COLOR_WHITE;
			if (bg < 0)
				bg = COLOR_BLACK;
		}
		init_pair((short)(i + 1), fg, bg);
		T.pair_bg[i + 1] = bg;
		T.attr[i] = COLOR_PAIR(i + 1) | curses_attrs(s->attrs) | extra;
	}
}

/* ---- open / close ------------------------------------------------------ */

static int open_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd;
}

int term_open(const struct sr_theme *th, bool force_ascii, char *err, size_t n)
{
	if (T.open)
		return 0;
	const char *cs = nl_langinfo(CODESET);
	T.utf8 = !force_ascii && cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);

	T.in_fd = open_tty();
	T.out_fd = T.in_fd >= 0 ? open_tty() : -1;
	if (T.in_fd < 0 || T.out_fd < 0) {
		snprintf(err, n, "cannot open the terminal /dev/tty: %s", strerror(errno));
		goto fail;
	}
	T.have_saved = tcgetattr(T.out_fd, &T.saved) == 0;
	T.in_fp = fdopen(T.in_fd, "r");
	T.out_fp = fdopen(T.out_fd, "w");
	if (!T.in_fp || !T.out_fp) {
		snprintf(err, n, "cannot open the terminal: %s", strerror(errno));
		goto fail;
	}
	T.scr = newterm(NULL, T.out_fp, T.in_fp);
	if (!T.scr) {
		const char *tn = getenv("TERM");
		snprintf(err, n, "cannot start curses on this terminal (TERM=%s)",
		         tn ? tn : "unset");
		goto fail;
	}
	set_term(T.scr);
	/* A terminal that cannot put the cursor anywhere (TERM=dumb, an
	 * emacs shell buffer, a pipe pretending) would get one line of
	 * screen: refuse it and say what works instead. */
	const char *cup = tigetstr("cup");
	if (!cup || cup == (const char *)-1) {
		const char *tn = getenv("TERM");
		endwin();
		delscreen(T.scr);
		T.scr = NULL;
		snprintf(
		    err, n,
		    "this terminal (TERM=%s) cannot move the cursor, so the console cannot draw "
		    "on it; use a terminal emulator (xterm, tmux, screen), or `shiproom watch` "
		    "or `shiproom status` for plain text",
		    tn ? tn : "unset");
		goto fail;
	}
	T.open = true;
	keyseq_init(&keyseq);
	if (!getenv("ESCDELAY"))
		set_escdelay(50); /* esc must feel instant; 25-100 ms is safe */
	raw();                    /* ^C, ^Z, ^S arrive as keys: no tty signals */
	noecho();
	nonl();
	curs_set(0);
	leaveok(stdscr, TRUE); /* no cursor moves at the end of a frame */
	T.keys = newpad(1, 1);
	keypad(T.keys, TRUE);
	nodelay(T.keys, TRUE);

	/* Bracketed paste: pasted text arrives marked, so it is never taken
	 * for keys. terminfo's BE/BD where it has them, else xterm's mode
	 * 2004, as readline sends it: terminals without it ignore an unknown
	 * private mode (TERM=screen, tmux's default, lacks BE though tmux
	 * brackets pastes). */
	paste_mode(true);

	T.restore_len = 0;
	restore_add_or(PASTE_OFF_CAP);
	restore_add("sgr0");
	restore_add("rmkx");
	restore_add("cnorm");
	restore_add("rmcup");
	colours_setup(th);
	fatal_install();
	if (!T.atexit_done) {
		atexit(term_atexit);
		T.atexit_done = true;
	}
	return 0;

fail:
	if (T.in_fp)
		fclose(T.in_fp);
	else if (T.in_fd >= 0)
		close(T.in_fd);
	if (T.out_fp)
		fclose(T.out_fp);
	else if (T.out_fd >= 0)
		close(T.out_fd);
	T.in_fp = T.out_fp = NULL;
	T.in_fd = T.out_fd = -1;
	return -1;
}

void term_close(void)
{
	if (!T.open)
		return;
	T.open = false;
	fatal_remove();
	wattrset(stdscr, A_NORMAL);
	curs_set(1);
	paste_mode(false); /* as term_open set it */
	endwin();
	if (T.keys)
		delwin(T.keys);
	T.keys = NULL;
	delscreen(T.scr);
	T.scr = NULL;
	/* endwin() restored the modes curses saved at start; make sure the
	 * ones we saw before curses are back even if they differed. */
	if (T.have_saved)
		tcsetattr(T.out_fd, TCSADRAIN, &T.saved);
	fclose(T.in_fp);
	fclose(T.out_fp);
	T.in_fp = T.out_fp = NULL;
	T.in_fd = T.out_fd = -1;
}

bool term_is_open(void)
{
	return T.open;
}

int term_input_fd(void)
{
	return T.in_fd;
}

bool term_utf8(void)
{
	return T.utf8;
}

const char *term_colour_mode(void)
{
	switch (T.colours) {
	case 256: return "256";
	case 16: return "16";
	case 8: return "8";
	default: return "mono";
	}
}

void term_size(int *w, int *h)
{
	if (!T.open) {
		*w = *h = 0;
		return;
	}
	*w = COLS;
	*h = LINES;
}

bool term_resize(void)
{
	struct winsize ws;
	if (!T.open || ioctl(T.out_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return false;
	if (ws.ws_row == LINES && ws.ws_col == COLS)
		return false;
	resizeterm(ws.ws_row, ws.ws_col);
	return true;
}

/* ---- keys ---------------------------------------------------------------- */

/* keyseq's reader: curses' next code, waiting up to 100 ms when the rest
 * of a sequence is due (it may come in the next packet over a slow link). */
static int curses_read(void *ud, bool wait)
{
	(void)ud;
	if (wait)
		wtimeout(T.keys, 100);
	int c = wgetch(T.keys);
	if (wait)
		nodelay(T.keys, TRUE);
	return c == ERR ? -1 : c;
}

const char *term_paste_text(void)
{
	return keyseq.text;
}

int term_getkey(void)
{
	if (!T.open)
		return TK_NONE;
	int c = keyseq_next(&keyseq, curses_read, NULL);
	if (c == KEYSEQ_NONE)
		return TK_NONE;
	if (c == KEYSEQ_PASTE)
		return TK_PASTE;
	if (c == KEYSEQ_ESC)
		return TK_ESC;
	switch (c) {
	case KEY_UP: return TK_UP;
	case KEY_DOWN: return TK_DOWN;
	case KEY_LEFT: return TK_LEFT;
	case KEY_RIGHT: return TK_RIGHT;
	case KEY_BTAB: return TK_BTAB;
	case KEY_PPAGE: return TK_PGUP;
	case KEY_NPAGE: return TK_PGDN;
	case KEY_HOME: return TK_HOME;
	case KEY_END: return TK_END;
	case KEY_RESIZE: return TK_RESIZE;
	case KEY_ENTER:
	case '\r':
	case '\n': return TK_ENTER;
	case KEY_BACKSPACE:
	case 8:
	case 127: return TK_BACKSPACE;
	default: break;
	}
	if (c >= KEY_MIN)
		return 0; /* a key we do not use: ignored */
	return c;
}

void term_clear_all(void)
{
	if (!T.open)
		return;
	werase(stdscr);
	clearok(stdscr, TRUE);
}

/* ---- ^Z ---------------------------------------------------------------- */

int term_suspend(char *why, size_t n)
{
	if (!T.open) {
		snprintf(why, n, "no terminal");
		return -1;
	}
	/* A job-control shell gives each job a process group of its own:
	 * in the session leader's group there is no shell to say `fg`. */
	if (getpgrp() == getsid(0)) {
		snprintf(why, n, "no shell with job control to come back to (q quits)");
		return -1;
	}
	paste_mode(false);
	def_prog_mode();
	endwin(); /* the shell's modes and screen */
	if (T.have_saved)
		tcsetattr(T.out_fd, TCSADRAIN, &T.saved);
	/* Stop this process only: a simulator's service forked by this
	 * console guards the rollout meanwhile and must not stop with it. */
	struct sigaction dfl, old;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTSTP, &dfl, &old);
	sigset_t tstp, was;
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &tstp, &was);
	kill(getpid(), SIGTSTP); /* ... until SIGCONT (fg, bg) */
	sigprocmask(SIG_SETMASK, &was, NULL);
	sigaction(SIGTSTP, &old, NULL);
	reset_prog_mode();
	paste_mode(true);
	term_clear_all();
	return 0;
}

/* ---- drawing ----------------------------------------------------------- */

void term_fill(int y, int x, int h, int w, enum tui_role role)
{
	if (!T.open || w <= 0)
		return;
	if (x + w > COLS)
		w = COLS - x;
	/* A plain blank takes the window's current attributes (ncurses'
	 * _nc_render), so set them: otherwise, without colour, a fill would
	 * inherit whatever was drawn last (a reverse-video RED). */
	wattrset(stdscr, T.attr[role]);
	for (int i = 0; i < h && y + i < LINES; i++)
		mvwhline(stdscr, y + i, x, (chtype)' ' | T.attr[role], w);
}

/* Under ASCII, every non-ASCII character becomes one '?'. */
static void ascii_copy(char *out, size_t n, const char *s)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < n; p++) {
		if (*p < 0x80)
			out[o++] = (char)*p;
		else if ((*p & 0xC0) != 0x80)
			out[o++] = '?';
	}
	out[o] = '\0';
}

int term_put(int y, int x, int maxw, enum tui_role role, const char *s)
{
	if (!T.open || y < 0 || y >= LINES || x < 0 || x >= COLS || maxw <= 0)
		return 0;
	if (x + maxw > COLS)
		maxw = COLS - x;
	char tmp[1024];
	if (!T.utf8) {
		ascii_copy(tmp, sizeof tmp, s);
		s = tmp;
	}
	int cols;
	size_t bytes = text_fit(s, maxw, &cols);
	if (bytes == 0)
		return 0;
	wattrset(stdscr, T.attr[role]);
	mvwaddnstr(stdscr, y, x, s, (int)bytes);
	return cols;
}

int term_putf(int y, int x, int maxw, enum tui_role role, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return term_put(y, x, maxw, role, buf);
}

void term_hline(int y, int x, int w, enum tui_role role)
{
	const char *g = glyphs(T.utf8)->h;
	char buf[1024];
	size_t gl = strlen(g), o = 0;
	for (int i = 0; i < w && o + gl < sizeof buf; i++) {
		memcpy(buf + o, g, gl);
		o += gl;
	}
	buf[o] = '\0';
	term_put(y, x, w, role, buf);
}

void term_box(int y, int x, int h, int w, enum tui_role role, const char *title,
              enum tui_role title_role)
{
	const struct tui_glyphs *g = glyphs(T.utf8);
	if (h < 2 || w < 2)
		return;
	term_put(y, x, 1, role, g->tl);
	term_hline(y, x + 1, w - 2, role);
	term_put(y, x + w - 1, 1, role, g->tr);
	for (int i = 1; i < h - 1; i++) {
		term_put(y + i, x, 1, role, g->v);
		term_put(y + i, x + w - 1, 1, role, g->v);
	}
	term_put(y + h - 1, x, 1, role, g->bl);
	term_hline(y + h - 1, x + 1, w - 2, role);
	term_put(y + h - 1, x + w - 1, 1, role, g->br);
	if (title && *title && w > 6) {
		int used = term_put(y, x + 2, 1, role, " ");
		used += term_put(y, x + 3, w - 6, title_role, title);
		term_put(y, x + 2 + used, 1, role, " ");
	}
}

void term_cursor(bool visible, int y, int x)
{
	if (!T.open)
		return;
	curs_set(visible ? 1 : 0);
	leaveok(stdscr, visible ? FALSE : TRUE);
	if (visible)
		wmove(stdscr, y, x);
}

void term_bell(void)
{
	if (T.open)
		beep();
}

/* Attributes a blank shows: on a space only the background, reverse,
 * underline, standout, blink and the alternate set are visible; bold,
 * dim and the foreground colour are not. */
#define BLANK_VISIBLE (A_REVERSE | A_UNDERLINE | A_STANDOUT | A_BLINK | A_ALTCHARSET | A_INVIS)

/* The background of a colour pair: the theme's pairs are 1..TR_COUNT
 * (colours_setup), looked up once; -1 for pair 0 (the terminal's). */
static short pair_bg(short pair)
{
	if (pair <= 0)
		return -1;
	if (pair <= TR_COUNT)
		return T.pair_bg[pair];
	short fg = -1, bg = -1;
	return pair_content(pair, &fg, &bg) == ERR ? -2 : bg;
}

/* Before a frame goes out: a short run of blanks between two drawn
 * cells, whose look would not change, takes the attributes of the cell
 * on its left ("canary  control": the two spaces in the dim colour of
 * the words around them, not in the normal colour), so the terminal is
 * not sent two colour changes for cells that show none. Longer runs and
 * runs at the end of a line stay as drawn: curses jumps over those or
 * clears them to the end of the line, which a colour would prevent. Only
 * touched lines are looked at; the screen shows the same, cell for cell.
 * Attribute changes were 40% of a full redraw's (^L) bytes. */
#define BLANK_RUN_MAX 4

struct cell_look {
	attr_t a;
	short pair, bg;
	bool blank; /* a space whose look is its background alone */
	wchar_t wc[CCHARW_MAX + 1];
};

static void blanks_inherit(void)
{
	static struct cell_look *row;
	static cchar_t *line;
	static int row_cap;
	if (COLS > row_cap) {
		struct cell_look *n = realloc(row, (size_t)COLS * sizeof *row);
		if (n)
			row = n;
		cchar_t *l = realloc(line, (size_t)(COLS + 1) * sizeof *line);
		if (l)
			line = l;
		if (!n || !l)
			return;
		row_cap = COLS;
	}
	for (int y = 0; y < LINES; y++) {
		if (!is_linetouched(stdscr, y))
			continue;
		/* One read of the line, then the cells from it. curses gives
		 * one cell per character, not per column: a wide character
		 * (CJK, most emoji) covers two columns, and row[] is indexed
		 * by column (mvwadd_wch below writes at a column). */
		if (mvwin_wchnstr(stdscr, y, 0, line, COLS) == ERR)
			continue;
		int w = 0;
		for (int k = 0; w < COLS; k++) {
			struct cell_look *c = &row[w];
			if (getcchar(&line[k], c->wc, &c->a, &c->pair, NULL) == ERR || !c->wc[0])
				break;
			c->a &= ~(attr_t)A_COLOR;
			c->bg = pair_bg(c->pair);
			c->blank = c->wc[0] == L' ' && c->wc[1] == L'\0' && !(c->a & BLANK_VISIBLE);
			int cols = wcwidth(c->wc[0]);
			for (w++; cols > 1 && w < COLS; cols--, w++) {
				row[w] = *c; /* the wide character's right half: never blank */
				row[w].blank = false;
			}
		}
		for (int x = 1; x < w; x++) {
			if (!row[x].blank)
				continue;
			int end = x;
			while (end < w && row[end].blank)
				end++;
			const struct cell_look *l = &row[x - 1];
			bool ok = end < w && end - x <= BLANK_RUN_MAX && !(l->a & BLANK_VISIBLE);
			for (int i = x; ok && i < end; i++)
				ok = row[i].bg == l->bg;
			for (int i = x; ok && i < end; i++) {
				cchar_t nc;
				if (row[i].a == l->a && row[i].pair == l->pair)
					continue;
				if (setcchar(&nc, row[i].wc, l->a, l->pair, NULL) == OK)
					mvwadd_wch(stdscr, y, i, &nc);
			}
			x = end;
		}
	}
}

void term_flush(void)
{
	if (!T.open)
		return;
	wattrset(stdscr, A_NORMAL);
	blanks_inherit();
	wnoutrefresh(stdscr);
	doupdate();
}
