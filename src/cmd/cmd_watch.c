/* watch.c - `shiproom watch`: the console without a screen. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/clock.h"
#include "shiproom/cmd.h"
#include "shiproom/notify.h"

/* How long a stopping watch waits for the webhook to deliver what it has
 * queued (the rollback's post above all), in real ms. */
#define WATCH_DRAIN_MS (5 * SR_MS_PER_S)

struct watch {
	struct sr_session *s;
	struct sr_clock clock;
	double speed; /* virtual ms per real ms */
	uv_timer_t tick, out;
	uv_signal_t sigint, sigterm;
	int mark;
	sr_ms end; /* real ms, 0 = none */
	bool stopping;
	sr_ms drain_until; /* real ms: stop waiting for the webhook */
	int workflow_nlog; /* r->nlog when the workflow last looked */
};

static void watch_stop_if_idle(struct watch *w)
{
	if (!w->stopping || w->s->runner->action_in_flight)
		return;
	if (uv_is_active((uv_handle_t *)&w->tick))
		uv_timer_stop(&w->tick); /* time stands still while the webhook drains */
	if (w->s->notify && notify_status(w->s->notify)->queued > 0) {
		sr_ms real = clock_real_ms();
		if (!w->drain_until)
			w->drain_until = real + WATCH_DRAIN_MS;
		if (real < w->drain_until)
			return;
	}
	uv_stop(w->s->loop);
}

static void on_watch_out(uv_timer_t *t);

/* Stopping: look every 100 ms until the action in flight and the
 * webhook queue are done (watch_stop_if_idle). */
static void watch_begin_stop(struct watch *w)
{
	if (!w->stopping)
		uv_timer_start(&w->out, on_watch_out, 100, 100);
	w->stopping = true;
}

/* A log entry was added (runner.on_log): print it and run the workflow
 * on the next turn of the loop; nothing wakes watch up otherwise between
 * ticks. While stopping the 100 ms check is already running. */
static void on_watch_log(void *ud)
{
	struct watch *w = ud;
	if (!w->stopping && !uv_is_active((uv_handle_t *)&w->out))
		uv_timer_start(&w->out, on_watch_out, 0, 0);
}

static void on_watch_tick(uv_timer_t *t);

/* Arm the poll timer for the runner's next poll (its schedule: aligned
 * to the scrape, faster while a breach may build; poll_schedule.h):
 * after each tick and when a poll answers. Not while stopping: time
 * stands still while the webhook drains. */
static void watch_arm(struct watch *w)
{
	if (w->stopping)
		return;
	sr_ms now = clock_now(&w->clock, clock_real_ms());
	uv_timer_start(&w->tick, on_watch_tick, runner_next_tick_delay(w->s->runner, now, w->speed),
	               0);
}

static void on_watch_polled(void *ud)
{
	watch_arm(ud);
}

static void on_watch_tick(uv_timer_t *t)
{
	struct watch *w = t->data;
	sr_ms real = clock_real_ms();
	sr_ms now = clock_now(&w->clock, real);
	session_cron(w->s, now);
	watch_arm(w);
	w->workflow_nlog = w->s->runner->nlog;
	if (w->end && real >= w->end)
		watch_begin_stop(w);
	watch_stop_if_idle(w);
}

static void on_watch_out(uv_timer_t *t)
{
	struct watch *w = t->data;
	/* An edge action completes in a loop callback, between ticks: its
	 * report (the postmortem placeholder) and its post go out at once,
	 * as the console's do after an action. */
	if (w->s->runner->nlog != w->workflow_nlog && !w->stopping) {
		session_workflow(w->s);
		w->workflow_nlog = w->s->runner->nlog;
	}
	session_print_log(stdout, w->s->runner, &w->mark, false);
	watch_stop_if_idle(w);
}

static void on_watch_signal(uv_signal_t *h, int sig)
{
	struct watch *w = h->data;
	(void)sig;
	watch_begin_stop(w);
	watch_stop_if_idle(w);
}

/* Through the service: it guards; this prints its log as it grows, until
 * --for, SIGINT or SIGTERM, or the service ends. */
struct watch_via {
	struct sr_client *c;
	uv_timer_t out, end;
	uv_signal_t sigint, sigterm;
	int mark;
	bool stop;
	bool silent; /* said that the service is silent (wire.h: SR_WIRE_SILENT_MS) */
};

static void via_print(uv_timer_t *t)
{
	struct watch_via *w = t->data;
	struct sr_runner *m = client_mirror(w->c);
	session_print_log(stdout, m, &w->mark, false);
	/* A paused service keeps its socket open: say that nothing comes,
	 * rather than let a quiet log pass for a quiet rollout. */
	sr_ms quiet = client_silent_ms(w->c);
	if (quiet >= SR_WIRE_SILENT_MS && !w->silent) {
		char d[24];
		sr_fmt_duration(d, sizeof d, quiet);
		sr_eprintf(
		    "watch: no word from the service (pid %ld) for %s: stopped, stuck or cut "
		    "off? nothing may be guarding the rollout",
		    client_service_pid(w->c), d);
		w->silent = true;
	} else if (quiet < SR_WIRE_SILENT_MS && w->silent) {
		sr_eprintf("watch: the service speaks again");
		w->silent = false;
	}
	if (client_closed(w->c)) {
		sr_eprintf("watch: %s", client_closed(w->c));
		w->stop = true;
	}
	if (w->stop)
		uv_stop(t->loop);
}

static void via_stop(uv_timer_t *t)
{
	struct watch_via *w = t->data;
	w->stop = true;
	uv_stop(t->loop);
}

static void via_signal(uv_signal_t *h, int sig)
{
	struct watch_via *w = h->data;
	(void)sig;
	w->stop = true;
	uv_stop(h->loop);
}

static int watch_via(struct sr_client *c, const struct sr_opts *o)
{
	uv_loop_t *loop = uv_default_loop();
	struct watch_via w = {.c = c};
	uv_timer_init(loop, &w.out);
	uv_timer_init(loop, &w.end);
	uv_signal_init(loop, &w.sigint);
	uv_signal_init(loop, &w.sigterm);
	w.out.data = w.end.data = w.sigint.data = w.sigterm.data = &w;
	/* the log of a state arrives with it; printing it once a second
	 * keeps this process asleep in between */
	uv_timer_start(&w.out, via_print, 0, 1000);
	if (o->for_s > 0)
		uv_timer_start(&w.end, via_stop, (uint64_t)(o->for_s * 1000.0), 0);
	uv_signal_start(&w.sigint, via_signal, SIGINT);
	uv_signal_start(&w.sigterm, via_signal, SIGTERM);
	while (!w.stop)
		uv_run(loop, UV_RUN_DEFAULT);
	session_print_log(stdout, client_mirror(c), &w.mark, false);
	uv_close((uv_handle_t *)&w.out, NULL);
	uv_close((uv_handle_t *)&w.end, NULL);
	uv_close((uv_handle_t *)&w.sigint, NULL);
	uv_close((uv_handle_t *)&w.sigterm, NULL);
	client_bye(c);
	client_destroy(c);
	return fflush(stdout) == 0 ? SR_EXIT_OK : SR_EXIT_RUNTIME;
}

int cmd_watch(const struct sr_opts *o)
{
	int vrc;
	struct sr_client *c = cmd_service_client(o, "watch", o->s.read_only, &vrc);
	if (c)
		return watch_via(c, o);
	if (vrc)
		return vrc;
	struct sr_session s;
	int rc = session_open_live(&s, &o->s);
	if (rc)
		return rc;
	struct watch w;
	memset(&w, 0, sizeof w);
	w.s = &s;
	session_start_reports(&s);
	w.speed = s.real ? 1.0 : o->s.speed;
	clock_init(&w.clock, clock_real_ms(), s.runner->now, w.speed);
	if (o->for_s > 0)
		w.end = clock_real_ms() + (sr_ms)(o->for_s * 1000.0);
	uv_timer_init(s.loop, &w.tick);
	uv_timer_init(s.loop, &w.out);
	uv_signal_init(s.loop, &w.sigint);
	uv_signal_init(s.loop, &w.sigterm);
	w.tick.data = w.out.data = w.sigint.data = w.sigterm.data = &w;
	s.runner->on_polled = on_watch_polled;
	s.runner->on_polled_ud = &w;
	uv_timer_start(&w.tick, on_watch_tick, 0, 0); /* then watch_arm */
	/* w.out runs only when the log grew (on_watch_log) and while stopping */
	s.runner->on_log = on_watch_log;
	s.runner->on_log_ud = &w;
	uv_timer_start(&w.out, on_watch_out, 0, 0);
	uv_signal_start(&w.sigint, on_watch_signal, SIGINT);
	uv_signal_start(&w.sigterm, on_watch_signal, SIGTERM);
	signal(SIGHUP, SIG_IGN); /* a dropped session must not cut an action short */
	uv_run(s.loop, UV_RUN_DEFAULT);
	s.runner->on_polled = NULL;
	s.runner->on_log = NULL; /* w.out is about to close */
	session_print_log(stdout, s.runner, &w.mark, false);
	if (s.notify) {
		const struct sr_notify_status *ns = notify_status(s.notify);
		if (ns->queued > 0)
			sr_eprintf("webhook: %d post%s still queued at exit, dropped", ns->queued,
			           ns->queued == 1 ? "" : "s");
	}
	uv_close((uv_handle_t *)&w.tick, NULL);
	uv_close((uv_handle_t *)&w.out, NULL);
	uv_close((uv_handle_t *)&w.sigint, NULL);
	uv_close((uv_handle_t *)&w.sigterm, NULL);
	uv_run(s.loop, UV_RUN_NOWAIT);
	return cmd_finish_print(&s, SR_EXIT_OK);
}
