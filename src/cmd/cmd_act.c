/* act.c - `shiproom act ACTION ... --yes`: one action through the same
 * dispatcher and authority checks as the console's keys. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/action.h"
#include "shiproom/scenario.h"

int cmd_act(const struct sr_opts *o)
{
	struct sr_session s;
	int rc = session_open(&s, &o->s, true, o->s.read_only, false);
	if (rc) {
		session_free(&s);
		return rc;
	}
	struct sr_runner *r = s.runner;
	int mark = s.history_end; /* not the journal's history: what happens now */
	session_print_log(stderr, r, &mark, true); /* start-up: reconciliation */
	if (s.real) {
		if (o->at_set) {
			session_free(&s);
			return cmd_usage_error("--at is for the simulator: a real action happens now%s", "");
		}
		/* The decision needs fresh data: one evaluation first. */
		session_evaluate_now(&s);
		if (r->polling) {
			fprintf(stderr, "shiproom: act: the source did not answer in time\n");
			session_free(&s);
			return SR_EXIT_RUNTIME;
		}
	} else {
		const struct sr_scenario *sc = s.scenario;
		int at = o->at_set ? o->at_min : sc->start_min;
		if (at < sc->start_min) {
			fprintf(stderr, "shiproom: --at T%+d is before the scenario starts (T%+d)\n", at,
			        sc->start_min);
			session_free(&s);
			return SR_EXIT_USAGE;
		}
		runner_advance(r, sc->t0 + (sr_ms)at * SR_MS_PER_MIN);
	}
	session_print_log(stderr, r, &mark, true);
	/* The reports an action makes due, as the console writes them: the
	 * postmortem placeholder at once on a rollback, the phase card on a
	 * promotion. What was reached before this action is not written
	 * again (the watch's first tick only looks). A broken template must
	 * not stop an action, a rollback least of all: said, then skipped. */
	struct sr_report_watch rw;
	bool reporting = false;
	if (s.keep_state && !s.read_only) {
		if (session_open_templates(&s) == 0) {
			report_watch_init(&rw, &s.templates, s.state_dir);
			report_watch_tick(&rw, r);
			reporting = true;
		} else {
			fprintf(stderr, "shiproom: act: no reports will be written; the action goes on\n");
		}
	}
	session_print_log(stderr, r, &mark, true);
	mark = r->nlog;

	struct sr_action_request req;
	struct sr_action_result res;
	memset(&req, 0, sizeof req);
	memset(&res, 0, sizeof res);
	req.kind = action_by_name(o->action)->kind;
	req.weight = o->weight_set ? o->weight : 0;
	req.gate = -1;
	sr_strlcpy(req.actor, s.owner, sizeof req.actor);
	sr_strlcpy(req.reason, o->reason ? o->reason : "", sizeof req.reason);
	sr_strlcpy(req.checklist, o->checklist ? o->checklist : "", sizeof req.checklist);
	sr_strlcpy(req.item, o->item ? o->item : "", sizeof req.item);
	/* SIGINT or a hang-up must not cut an action in flight short: the
	 * intent is written, the outcome will be too. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	action_dispatch(r, &req, &res);
	if (res.outcome == SR_ACT_PENDING) {
		while (r->action_in_flight && s.loop) {
			session_print_log(stderr, r, &mark, true);
			if (uv_run(s.loop, UV_RUN_ONCE) == 0 && r->action_in_flight)
				break;
		}
		res = r->flight.result;
	}
	/* the steps; the result itself (the last entry) goes to stdout */
	session_print_log_to(stderr, r, &mark, r->nlog - 1, true);
	switch (res.outcome) {
	case SR_ACT_DONE:
		printf("done: %s\n", res.message);
		rc = SR_EXIT_OK;
		break;
	case SR_ACT_REFUSED:
		printf("refused: %s\n", res.message);
		rc = SR_EXIT_REFUSED;
		break;
	case SR_ACT_FAILED:
		printf("failed: %s\n", res.message);
		rc = SR_EXIT_RUNTIME;
		break;
	case SR_ACT_PENDING:
		printf("failed: %s: no answer from the edge\n", res.message);
		rc = SR_EXIT_RUNTIME;
		break;
	}
	if (reporting && (res.outcome == SR_ACT_DONE || res.outcome == SR_ACT_FAILED)) {
		mark = r->nlog; /* the result is on stdout already */
		report_watch_tick(&rw, r);
		session_print_log(stderr, r, &mark, false); /* "postmortem placeholder created: ..." */
	}
	return cmd_finish_print(&s, rc);
}

