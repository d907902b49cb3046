/* report.c - `shiproom report gate N|card|postmortem|win-note`: a
 * ship-room report, headless. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/action.h"
#include "shiproom/client.h"
#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/scenario.h"
#include "shiproom/policy.h"

/* Bring the session to the moment the report is about: the simulator
 * plays its scenario to --at (default its end), as `status` does; a real
 * rollout is evaluated now. */
static int report_play(struct sr_session *s, const struct sr_opts *o)
{
	if (s->real) {
		if (o->at_set)
			return cmd_usage_error(
			    "--at is for the simulator: a real rollout is read now%s", "");
		session_evaluate_now(s);
		if (s->runner->polling)
			sr_eprintf("the source did not answer in time");
		return 0;
	}
	const struct sr_scenario *sc = s->scenario;
	int until_min = o->at_set ? o->at_min : sc->end_min;
	int bad = cmd_check_sim_min(sc, "--at", until_min);
	if (bad)
		return bad;
	runner_advance(s->runner, sc->t0 + (sr_ms)until_min * SR_MS_PER_MIN);
	return 0;
}

static int report_print(const struct sr_report_templates *tpl, const struct sr_runner *r,
                        enum sr_report_kind kind, int index, bool json)
{
	char *text;
	if (json) {
		json_t *d = report_json(kind, r, index);
		text = d ? json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
		                             JSON_REAL_PRECISION(6))
		         : NULL;
		json_decref(d);
	} else {
		text = report_markdown(tpl, kind, r, index);
	}
	if (!text) {
		sr_eprintf("out of memory rendering the %s report", report_kind_name(kind));
		return SR_EXIT_RUNTIME;
	}
	size_t len = strlen(text);
	fputs(text, stdout);
	if (len == 0 || text[len - 1] != '\n')
		fputc('\n', stdout);
	free(text);
	return SR_EXIT_OK;
}

/* `report gate N`: N-1, checked against the policy; -1 (the gate ahead)
 * when none is given or the report is not a gate's. */
static int gate_index(const struct sr_opts *o, enum sr_report_kind kind, const struct sr_policy *p,
                      int *index)
{
	*index = -1;
	if (kind != SR_REPORT_GATE)
		return 0;
	long g = 0;
	if (o->report_arg)
		cmd_parse_long(o->report_arg, 1, 100000, &g);
	if (p->ngates == 0) {
		sr_eprintf("report gate: %s has no gates", p->path);
		return SR_EXIT_USAGE;
	}
	if (o->report_arg && g > p->ngates) {
		sr_eprintf("report gate %ld: %s has %d gate%s (1..%d)", g, p->path, p->ngates,
		           p->ngates == 1 ? "" : "s", p->ngates);
		return SR_EXIT_USAGE;
	}
	*index = o->report_arg ? (int)g - 1 : -1;
	return 0;
}

/* Through the service: its state, rendered here from the installation's
 * templates; written (unless --read-only) by the service, into its
 * state dir. */
static int report_via(struct sr_client *c, const struct sr_opts *o, enum sr_report_kind kind)
{
	char datadir[SR_PATH_LEN], dir[SR_PATH_LEN + 16], err[1024];
	struct sr_report_templates tpl;
	struct sr_runner *m = client_mirror(c);
	int index, rc;
	session_find_datadir(datadir, sizeof datadir);
	snprintf(dir, sizeof dir, "%s/config", datadir);
	if (report_templates_load(&tpl, dir, err, sizeof err) != 0) {
		sr_eprintf("report templates: %s", err);
		client_destroy(c);
		return SR_EXIT_USAGE;
	}
	rc = gate_index(o, kind, m->policy, &index);
	if (rc == 0)
		rc = report_print(&tpl, m, kind, index, o->json);
	if (rc == 0 && !o->s.read_only) {
		struct sr_action_request req = {.kind = SR_ACT_REPORT,
		                                .gate = -1,
		                                .report_kind = (int)kind,
		                                .report_index = index};
		long id = client_request(c, &req);
		if (id >= 0 && client_wait_result(c, id, SR_HEADLESS_MAX_MS))
			sr_eprintf("report: the service: %s", client_result(c, NULL)->message);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = SR_EXIT_RUNTIME;
	report_templates_free(&tpl);
	client_destroy(c);
	return rc;
}

int cmd_report(const struct sr_opts *o)
{
	struct sr_session s;
	enum sr_report_kind kind = SR_REPORT_GATE;
	cmd_report_kind(o->report, &kind); /* checked with the arguments */
	int vrc;
	struct sr_client *c = cmd_service_client(o, "report", o->s.read_only, &vrc);
	if (c)
		return report_via(c, o, kind);
	if (vrc)
		return vrc;
	/* A view, like status: never acts on a real source, never writes its
	 * journal; the simulator plays its script in its own journal. */
	int rc = session_open(&s, &o->s, false, o->s.read_only, true);
	if (rc == 0)
		rc = session_open_workflow(&s, &o->s,
		                           false); /* the templates: exit 2 when broken */
	int index = -1;
	if (rc == 0)
		rc = gate_index(o, kind, s.policy, &index);
	if (rc == 0)
		rc = report_play(&s, o);
	if (rc == 0)
		rc = report_print(&s.templates, s.runner, kind, index, o->json);
	/* --read-only: print it, write nothing (on a real source the session
	 * is read-only anyway, a view: there the user's flag decides). */
	if (rc == 0 && s.keep_state && o->s.read_only)
		sr_eprintf("report: read-only: not written to %s", s.state_dir);
	if (rc == 0 && s.keep_state && !o->s.read_only) {
		char path[SR_PATH_LEN + 200], err[1024];
		int w = report_write(&s.templates, kind, s.runner, index, s.state_dir, path,
		                     sizeof path, err, sizeof err);
		if (w < 0) {
			sr_eprintf("report: cannot write it into %s: %s", s.state_dir, err);
			rc = SR_EXIT_RUNTIME;
		} else if (w == 1) {
			sr_eprintf("report: %s exists and is kept (people edit it)", path);
		} else {
			sr_eprintf("report: written to %s", path);
		}
	}
	return cmd_finish_print(&s, rc);
}
