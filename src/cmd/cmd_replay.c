/* replay.c - `shiproom replay FILE`: play a journal back in the console,
 * read-only, on a virtual clock; or print the state it rebuilds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/console.h"
#include "shiproom/status.h"

int cmd_replay(const struct sr_opts *o)
{
	char path[SR_PATH_LEN], datadir[SR_PATH_LEN], owner[SR_NAME_LEN], err[1024];
	struct sr_policy *p = calloc(1, sizeof *p);
	struct sr_runner *r = calloc(1, sizeof *r);
	int rc = SR_EXIT_OK;
	if (!p || !r) {
		free(p);
		free(r);
		sr_eprintf("out of memory");
		return SR_EXIT_RUNTIME;
	}
	session_find_datadir(datadir, sizeof datadir);
	runner_owner_login(owner, sizeof owner);
	session_policy_path(&o->s, datadir, path, sizeof path);
	if (session_load_policy(p, path) != 0) {
		free(p);
		free(r);
		return SR_EXIT_USAGE;
	}
	runner_init(r, p, NULL, NULL, NULL, true, owner);
	sr_ms first = 0, last = 0;
	if (runner_replay_load(r, o->file, &first, &last, err, sizeof err) < 0) {
		sr_eprintf("replay: %s", err);
		rc = SR_EXIT_RUNTIME;
		goto out;
	}
	if (r->journal_issues > 0) {
		/* a torn tail, a malformed line: said, never silently skipped */
		for (int i = r->nlog > SR_LOG_LEN ? r->nlog - SR_LOG_LEN : 0; i < r->nlog; i++)
			sr_eprintf("replay: %s", r->log[i % SR_LOG_LEN].text);
	}
	if (o->replay_status) {
		sr_ms until = o->at_set ? r->engine.ro.t0 + (sr_ms)o->at_min * SR_MS_PER_MIN : last;
		runner_tick(r, until);
		if (o->json)
			status_print_json(stdout, r, NULL);
		else
			status_print_text(stdout, r);
		rc = (int)r->engine.decision.verdict;
		if (fflush(stdout) != 0 || ferror(stdout)) {
			sr_eprintf("cannot write the output: %s", strerror(errno));
			rc = SR_EXIT_RUNTIME;
		}
		goto out;
	}
	struct sr_clock clock;
	clock_init(&clock, clock_real_ms(), first, o->s.speed);
	runner_log(r, SR_LOG_INFO, SR_GREEN, "", "replay of %s at speed %g (read-only)", o->file,
	           o->s.speed);
	struct sr_console_opts co = {
	    .runner = r,
	    .clock = &clock,
	    .datadir = datadir,
	    .theme = o->theme,
	    .ascii = o->ascii,
	    .read_only = true,
	    .refresh_ms = o->refresh_ms,
	};
	rc = console_run(&co);
out:
	runner_close(r);
	free(r);
	free(p);
	return rc;
}
