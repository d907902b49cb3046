/* runner.c - one rollout session: poll, evaluate, log, act.
 *
 * The runner is the redis-style cron that the console, `shiproom status`
 * and the tests all drive, so the screen and the headless answer come
 * from the same code and cannot disagree. One turn (runner_tick):
 *
 *   1. poll the source (the simulator answers at once; Prometheus later,
 *      from the loop: the rest of the turn runs in the poll's callback);
 *   2. engine_evaluate at the tick's time;
 *   3. record one history point per minute;
 *   4. drain the engine's events into the log (status and trigger changes
 *      with a severity; a trigger that starts FIRING raises r->alarm);
 *   5. with the policy's auto_rollback, roll back while a trigger fires
 *      (as actor "auto-rollback", which the policy authorises: action.h);
 *   6. play the scenario's due script steps through action_dispatch,
 *      retrying refused steps each poll until their retry_until_min.
 */
#include "shiproom/runner.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/action.h"

void runner_init(struct sr_runner *r, const struct sr_policy *p, const struct sr_scenario *sc,
                 struct sr_source *src, struct sr_edge *edge, bool read_only, const char *owner)
{
	memset(r, 0, sizeof *r);
	r->policy = p;
	r->scenario = sc;
	r->source = src;
	/* Read-only: no edge at all, so nothing can move traffic even by
	 * mistake (the dispatcher refuses first anyway). */
	r->edge = read_only ? NULL : edge;
	r->read_only = read_only;
	sr_sanitize(r->owner, owner ? owner : "", sizeof r->owner);
	sr_ms t0 = sc ? sc->t0 : 0;
	engine_init(&r->engine, p, t0);
	history_init(&r->history, p->ncells, SR_MS_PER_MIN);
	r->now = sc ? t0 + (sr_ms)sc->start_min * SR_MS_PER_MIN : 0;
}

/* ---- log ------------------------------------------------------------------------ */

void runner_log(struct sr_runner *r, enum sr_log_kind kind, enum sr_status sev, const char *actor,
                const char *fmt, ...)
{
	struct sr_log_entry *e = &r->log[r->nlog % SR_LOG_LEN];
	char text[SR_REASON_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	e->at = r->now;
	e->kind = kind;
	e->severity = sev;
	sr_sanitize(e->actor, actor ? actor : "", sizeof e->actor);
	sr_sanitize(e->text, text, sizeof e->text);
	r->nlog++;
}

const struct sr_log_entry *runner_log_entry(const struct sr_runner *r, int i)
{
	int have = r->nlog < SR_LOG_LEN ? r->nlog : SR_LOG_LEN;
	if (i < 0 || i >= have)
		return NULL;
	return &r->log[(r->nlog - 1 - i) % SR_LOG_LEN];
}

void runner_owner_login(char *buf, size_t n)
{
	/* The process owner, not $USER: the environment is the caller's to
	 * set, the uid is not. */
	struct passwd *pw = getpwuid(geteuid());
	if (pw && pw->pw_name)
		sr_sanitize(buf, pw->pw_name, n);
	else
		snprintf(buf, n, "uid%ld", (long)geteuid());
}

/* ---- events --------------------------------------------------------------------- */

static enum sr_status trigger_severity(int st)
{
	return st == SR_TRIG_FIRING ? SR_RED : st == SR_TRIG_PENDING ? SR_YELLOW : SR_GREEN;
}

static enum sr_status verdict_severity(int v)
{
	switch (v) {
	case SR_GO: return SR_GREEN;
	case SR_ROLLBACK: return SR_RED;
	default: return SR_YELLOW;
	}
}

static void runner_drain(struct sr_runner *r)
{
	struct sr_event ev[SR_MAX_EVENTS];
	long dropped = r->engine.events_dropped;
	int n = engine_drain_events(&r->engine, ev, SR_MAX_EVENTS);
	for (int i = 0; i < n; i++) {
		const struct sr_event *e = &ev[i];
		switch (e->kind) {
		case SR_EV_STATUS:
			runner_log(r, SR_LOG_STATUS, (enum sr_status)e->to, "", "%s", e->text);
			break;
		case SR_EV_TRIGGER:
			if (e->to == SR_TRIG_FIRING)
				r->alarm = true;
			runner_log(r, SR_LOG_TRIGGER, trigger_severity(e->to), "", "%s", e->text);
			break;
		case SR_EV_DECISION:
			runner_log(r, SR_LOG_DECISION, verdict_severity(e->to), "", "%s", e->text);
			break;
		case SR_EV_ROLLOUT:
			runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "%s", e->text);
			break;
		}
	}
	if (r->engine.events_dropped > dropped)
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "%ld engine events dropped (too many at once)",
		           r->engine.events_dropped - dropped);
}

/* ---- auto-rollback and the script ------------------------------------------------ */

static void runner_auto_rollback(struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	if (!p->auto_rollback || r->read_only || r->action_in_flight || r->engine.ro.rolled_back ||
	    r->engine.ro.phase < 0)
		return;
	int t = 0;
	while (t < p->ntriggers && r->engine.triggers[t].state != SR_TRIG_FIRING)
		t++;
	if (t == p->ntriggers)
		return;
	struct sr_action_request req = {.kind = SR_ACT_ROLLBACK, .gate = -1};
	struct sr_action_result res;
	sr_strlcpy(req.actor, SR_ACTOR_AUTO_ROLLBACK, sizeof req.actor);
	snprintf(req.reason, sizeof req.reason, "auto_rollback: %.60s: %.120s", p->triggers[t].name,
	         r->engine.triggers[t].reason);
	action_dispatch(r, &req, &res);
}

static void step_request(const struct sr_script_step *s, struct sr_action_request *req)
{
	memset(req, 0, sizeof *req);
	req->kind = s->action;
	req->weight = s->weight;
	req->gate = -1;
	sr_strlcpy(req->actor, s->actor, sizeof req->actor);
	sr_strlcpy(req->reason, s->reason, sizeof req->reason);
	sr_strlcpy(req->checklist, s->checklist, sizeof req->checklist);
	sr_strlcpy(req->item, s->item, sizeof req->item);
}

static void runner_script(struct sr_runner *r)
{
	const struct sr_scenario *sc = r->scenario;
	if (!sc)
		return;
	for (int i = 0; i < sc->nscript && i < SR_MAX_SCRIPT; i++) {
		const struct sr_script_step *s = &sc->script[i];
		if (r->script_done[i] || r->now < sc->t0 + (sr_ms)s->at_min * SR_MS_PER_MIN)
			continue;
		sr_ms until = sc->t0 + (sr_ms)(s->retry_until_min > s->at_min ? s->retry_until_min
		                                                               : s->at_min) *
		                           SR_MS_PER_MIN;
		bool first = !r->script_tried[i];
		struct sr_action_request req;
		struct sr_action_result res;
		step_request(s, &req);
		/* Log the first refusal of a step, not every retry of it. */
		r->quiet_refusals = !first;
		action_dispatch(r, &req, &res);
		r->quiet_refusals = false;
		r->script_tried[i] = true;
		if (res.outcome == SR_ACT_REFUSED && r->now < until)
			continue; /* try again next poll */
		if (res.outcome == SR_ACT_REFUSED && !first)
			runner_log(r, SR_LOG_ACTION, SR_YELLOW, req.actor,
			           "gave up: %s still refused at the end of its retry window: %s",
			           sr_action_name(req.kind), res.message);
		r->script_done[i] = true;
	}
}

/* ---- the cron --------------------------------------------------------------------- */

static void runner_on_snapshot(void *ud, struct sr_snapshot *snap)
{
	struct sr_runner *r = ud;
	r->polling = false;
	engine_evaluate(&r->engine, snap, r->now);
	history_record(&r->history, &r->engine, r->now);
	runner_drain(r);
	runner_auto_rollback(r);
	runner_script(r);
	/* Actions change the rollout; their events (none today) and any
	 * state they implied are picked up at the next evaluation. */
	runner_drain(r);
}

void runner_tick(struct sr_runner *r, sr_ms now)
{
	r->now = now;
	if (!r->source) {
		runner_on_snapshot(r, NULL);
		return;
	}
	if (r->polling)
		return; /* the previous poll has not answered yet */
	r->polling = true;
	r->source->ops->poll(r->source, now, runner_on_snapshot, r);
}

void runner_advance(struct sr_runner *r, sr_ms until)
{
	sr_ms step = r->policy->poll_ms > 0 ? r->policy->poll_ms : 15 * SR_MS_PER_S;
	sr_ms t = r->engine.evaluations == 0 ? r->now : r->now + step;
	for (; t <= until; t += step)
		runner_tick(r, t);
}
