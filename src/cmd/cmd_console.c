/* console.c - plain `shiproom`: the console. */
#include <stdio.h>
#include <stdlib.h>

#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/console.h"

int cmd_console_local(const struct sr_opts *o)
{
	struct sr_session s;
	int rc = session_open_live(&s, &o->s);
	if (rc)
		return rc;
	struct sr_clock clock;
	clock_init(&clock, clock_real_ms(), s.real ? clock_real_ms() : s.runner->now,
	           s.real ? 1.0 : o->s.speed);
	struct sr_console_opts co = {
		.runner = s.runner,
		.clock = &clock,
		.datadir = s.datadir,
		.theme = o->theme,
		.ascii = o->ascii,
		.read_only = o->s.read_only,
		.refresh_ms = o->refresh_ms,
		.templates = &s.templates,
		.notify = s.notify,
		.state_dir = s.keep_state ? s.state_dir : NULL,
	};
	rc = console_run(&co);
	session_free(&s);
	return rc;
}

