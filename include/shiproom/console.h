/* console.h - the interactive console: ncurses on the libuv loop.
 *
 * main builds the runner (policy, source, edge, engine) and the clock,
 * then hands both here. The console owns the terminal and the loop until
 * the user quits or a signal ends it, and restores the terminal on every
 * exit path.
 */
#ifndef SHIPROOM_CONSOLE_H
#define SHIPROOM_CONSOLE_H

#include "shiproom/clock.h"
#include "shiproom/runner.h"

struct sr_console_opts {
	struct sr_runner *runner;  /* ticked by the console's poll timer */
	struct sr_clock *clock;    /* virtual under the simulator */
	const char *datadir;       /* where themes/ lives */
	const char *theme;         /* theme name or path; NULL = "default" */
	bool ascii;                /* force ASCII glyphs and charts */
	bool read_only;            /* RO badge; actions refused by the dispatcher */
	int refresh_ms;            /* screen refresh period, default 1000 */
};

/* Returns the process exit status (0 on a normal quit). */
int console_run(const struct sr_console_opts *o);

#endif
