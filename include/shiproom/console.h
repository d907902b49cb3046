/* console.h - the interactive console: ncurses on the libuv loop.
 *
 * main builds the runner (policy, source, edge, engine) and the clock,
 * then hands both here. The console owns the terminal and the loop until
 * the user quits or a signal ends it, and restores the terminal on every
 * exit path.
 *
 * The ship-room workflow (issue 5) is optional, piece by piece: with
 * `templates` the gate report and the phase card open in a pager (keys g
 * and c); with `templates` and `state_dir` they can be written there
 * (key w in the pager) and the reports that fall due (gate reports,
 * phase cards, the postmortem placeholder, the win note) are written by
 * the console's report_watch_tick() after each runner_tick(); with
 * `notify` the console calls notify_tick() after each runner_tick(),
 * shows notify_status_text() and posts an update on key U. NULL turns a
 * piece off, and the console says so where it would have shown it.
 */
#ifndef SHIPROOM_CONSOLE_H
#define SHIPROOM_CONSOLE_H

#include "shiproom/clock.h"
#include "shiproom/runner.h"

struct sr_report_templates;
struct sr_notify;
struct sr_client;

struct sr_console_opts {
	struct sr_runner *runner; /* ticked by the console's poll timer */
	struct sr_clock *clock;   /* virtual under the simulator */
	const char *datadir;      /* where themes/ lives */
	const char *theme;        /* theme name or path; NULL = "default" */
	bool ascii;               /* force ASCII glyphs and charts */
	bool read_only;           /* RO badge; actions refused by the dispatcher */
	int refresh_ms;           /* screen refresh period, default 1000 */

	/* The workflow (NULL: that piece is off). Borrowed: they must
	 * outlive console_run(). */
	const struct sr_report_templates *templates; /* report_templates_load()ed */
	struct sr_notify *notify;                    /* notify_create()d on uv_default_loop() */
	const char *state_dir;                       /* reports are written here (it must exist);
	                                                never written by a read-only console */

	/* Attached to the rollout's service (client.h): runner is the
	 * client's mirror, filled by the service's state; nothing is ticked,
	 * written or posted here, and every action, `U` and `w` is a request
	 * the service checks. NULL: a local runner (replay). */
	struct sr_client *client;
	/* Attached, when the connection is lost (the service died): called
	 * every second until it returns 0 (attached again, to the same
	 * mirror). NULL: the console ends instead. */
	int (*reconnect)(void *ud);
	void *reconnect_ud;
};

/* Returns the process exit status (0 on a normal quit). */
int console_run(const struct sr_console_opts *o);

#endif
