/* act.c - `shiproom act ACTION ... --yes`: one action through the same
 * dispatcher and authority checks as the console's keys. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/action.h"
#include "shiproom/scenario.h"

/* The result on stdout, the same words and exit status whether the
 * service or this process carried it out. */
static int print_result(const struct sr_action_result *res)
{
	switch (res->outcome) {
	case SR_ACT_DONE: printf("done: %s\n", res->message); return SR_EXIT_OK;
	case SR_ACT_REFUSED: printf("refused: %s\n", res->message); return SR_EXIT_REFUSED;
	case SR_ACT_FAILED: printf("failed: %s\n", res->message); return SR_EXIT_RUNTIME;
	case SR_ACT_PENDING: break;
	}
	printf("failed: %s: no answer from the edge\n", res->message);
	return SR_EXIT_RUNTIME;
}

static void fill_request(const struct sr_opts *o, const char *actor, struct sr_action_request *req)
{
	memset(req, 0, sizeof *req);
	req->kind = action_by_name(o->action)->kind;
	req->weight = o->weight_set ? o->weight : 0;
	req->gate = -1;
	sr_strlcpy(req->actor, actor, sizeof req->actor);
	sr_strlcpy(req->reason, o->reason ? o->reason : "", sizeof req->reason);
	sr_strlcpy(req->checklist, o->checklist ? o->checklist : "", sizeof req->checklist);
	sr_strlcpy(req->item, o->item ? o->item : "", sizeof req->item);
}

/* Through the service: it checks and acts with the identity the kernel
 * gives it; the steps it logged (retries, reconciliation) on stderr. */
static int act_via(struct sr_client *c, const struct sr_opts *o)
{
	struct sr_action_request req;
	struct sr_runner *m = client_mirror(c);
	int mark = m->nlog;
	fill_request(o, client_login(c), &req);
	signal(SIGINT, SIG_IGN); /* the service finishes it anyway; we wait for its word */
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	long id = client_request(c, &req);
	int rc;
	if (id < 0 || !client_wait_result(c, id, SR_HEADLESS_MAX_MS)) {
		sr_eprintf("act: %s", client_closed(c) ? client_closed(c)
		                                       : "no answer from the service in time");
		printf("failed: %s: no answer from the service\n", sr_action_name(req.kind));
		rc = SR_EXIT_RUNTIME;
	} else {
		/* the log lines of the action come with the next state */
		client_wait_state(c, client_gen(c), 2 * SR_MS_PER_S);
		/* the steps; the result itself (the newest of ours) goes to stdout */
		const struct sr_log_entry *last = runner_log_entry(m, 0);
		int end = last && last->kind == SR_LOG_ACTION &&
		                  strcmp(last->actor, client_login(c)) == 0
		              ? m->nlog - 1
		              : m->nlog;
		session_print_log_to(stderr, m, &mark, end, true);
		rc = print_result(client_result(c, NULL));
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = SR_EXIT_RUNTIME;
	client_destroy(c);
	return rc;
}

int cmd_act(const struct sr_opts *o)
{
	int vrc;
	struct sr_client *c = cmd_service_client(o, "act", o->s.read_only, &vrc);
	if (c)
		return act_via(c, o);
	if (vrc)
		return vrc;
	struct sr_session s;
	int rc = session_open(&s, &o->s, true, o->s.read_only, false);
	if (rc) {
		session_free(&s);
		return rc;
	}
	struct sr_runner *r = s.runner;
	int mark = s.history_end;                  /* not the journal's history: what happens now */
	session_print_log(stderr, r, &mark, true); /* start-up: reconciliation */
	if (s.real) {
		if (o->at_set) {
			session_free(&s);
			return cmd_usage_error(
			    "--at is for the simulator: a real action happens now%s", "");
		}
		/* The decision needs fresh data: one evaluation first. */
		session_evaluate_now(&s);
		if (r->polling) {
			sr_eprintf("act: the source did not answer in time");
			session_free(&s);
			return SR_EXIT_RUNTIME;
		}
	} else {
		const struct sr_scenario *sc = s.scenario;
		int at = o->at_set ? o->at_min : sc->start_min;
		int bad = cmd_check_sim_min(sc, "--at", at);
		if (bad) {
			session_free(&s);
			return bad;
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
			sr_eprintf("act: no reports will be written; the action goes on");
		}
	}
	session_print_log(stderr, r, &mark, true);
	mark = r->nlog;

	struct sr_action_request req;
	struct sr_action_result res;
	memset(&res, 0, sizeof res);
	fill_request(o, s.owner, &req);
	/* SIGINT, SIGTERM or a hang-up must not cut an action in flight
	 * short: the intent is written, the outcome will be too (the edge
	 * calls are bounded by their timeouts and retries). */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
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
	rc = print_result(&res);
	if (reporting && (res.outcome == SR_ACT_DONE || res.outcome == SR_ACT_FAILED)) {
		mark = r->nlog; /* the result is on stdout already */
		report_watch_tick(&rw, r);
		session_print_log(stderr, r, &mark,
		                  false); /* "postmortem placeholder created: ..." */
	}
	return cmd_finish_print(&s, rc);
}
