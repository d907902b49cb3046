/* status.c - `shiproom status [--json] [--at T+MIN]`: evaluate once and
 * print; the exit status is the verdict, so a script can gate on it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/status.h"

/* Through the service: its state, now. */
static int status_via(struct sr_client *c, const struct sr_opts *o)
{
	struct sr_runner *m = client_mirror(c);
	if (o->json)
		status_print_json(stdout, m, client_bastion(c));
	else
		status_print_text(stdout, m);
	if (!o->json && client_bastion(c)[0])
		printf("store: %s\n", client_bastion(c)); /* which bastion leads (bastion.h) */
	int rc = (int)m->engine.decision.verdict;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sr_eprintf("cannot write the output: %s", strerror(errno));
		rc = SR_EXIT_RUNTIME;
	}
	client_destroy(c);
	return rc;
}

int cmd_status(const struct sr_opts *o)
{
	int rc;
	struct sr_client *c = cmd_service_client(o, "status", true, &rc);
	if (c)
		return status_via(c, o);
	if (rc)
		return rc;
	struct sr_session s;
	/* A view: on a real source it never acts (no auto-rollback from a
	 * status query) and never writes the journal. The simulator plays
	 * its scenario's script, so it acts, in its own temporary journal. */
	rc = session_open(&s, &o->s, false, o->s.read_only, true);
	if (rc) {
		session_free(&s);
		return rc;
	}
	if (s.real) {
		if (o->at_set) {
			session_free(&s);
			return cmd_usage_error(
			    "--at is for the simulator: a real rollout is read now%s", "");
		}
		session_evaluate_now(&s);
		if (s.runner->polling)
			sr_eprintf("the source did not answer in time");
	} else {
		const struct sr_scenario *sc = s.scenario;
		int until_min = o->at_set ? o->at_min : sc->end_min;
		if ((rc = cmd_check_sim_min(sc, "--at", until_min)) != 0) {
			session_free(&s);
			return rc;
		}
		runner_advance(s.runner, sc->t0 + (sr_ms)until_min * SR_MS_PER_MIN);
	}
	if (o->json)
		status_print_json(stdout, s.runner, NULL);
	else
		status_print_text(stdout, s.runner);
	return cmd_finish_print(&s, (int)s.runner->engine.decision.verdict);
}
