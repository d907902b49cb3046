/* console.c - the interactive console: ncurses on the libuv loop.
 *
 * The wiring of DESIGN.md section 5, in the manner of redis' serverCron
 * and beforeSleep:
 *   - a one-shot poll timer runs runner_tick() when the runner's
 *     schedule says (runner_next_poll_at: every policy.poll_ms of
 *     *virtual* time on the simulator, at --speed 60 every 250 ms real;
 *     on Prometheus just after each scrape, faster while a breach may
 *     be building: poll_schedule.h), re-armed after each tick and each
 *     answer, and after it
 *     the workflow's hooks: report_watch_tick() writes the reports that
 *     fell due (with templates and a state dir), notify_tick() queues the
 *     webhook posts (with a notifier);
 *   - a refresh timer (opts.refresh_ms, default 1 s) marks the clocks and
 *     countdowns dirty and expires the status-line message;
 *   - keys come from a uv_poll on the reopened /dev/tty (term.c);
 *   - uv_signal handles SIGWINCH (resize at any moment), SIGTERM, SIGINT
 *     and SIGHUP; curses owns no signal. SIGHUP (an SSH drop) never cuts
 *     an action in flight short: the loop runs on until it completes;
 *   - a uv_prepare_t is the one place a frame is drawn: only the regions
 *     marked dirty are redrawn, then one doupdate(), at most FRAME_HZ
 *     times a second. A quiet screen sends nothing at all.
 * Every way out goes through console_teardown(), which restores the
 * terminal; fatal signals are covered by term.c.
 *
 * SHIPROOM_FRAME_STATS=path writes the number of frames and the time
 * spent drawing them at exit (bench/term_bench.sh reads it).
 */
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "shiproom/client.h"
#include "shiproom/mirror.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

#define FRAME_HZ 30
#define NSIG_HANDLED 4

static const int handled_signals[NSIG_HANDLED] = {SIGWINCH, SIGTERM, SIGINT, SIGHUP};

struct console {
	struct tui t;
	uv_loop_t *loop;
	uv_timer_t tick, refresh, frame, retry;
	uv_poll_t input;
	uv_prepare_t prepare;
	uv_signal_t sig[NSIG_HANDLED];
	bool input_on;
	int open_handles;
	int quit_signal;   /* 0, or the signal that ends the session */
	int empty_reads;   /* readable with no key: a hung-up tty */
	double last_frame; /* monotonic seconds */
	bool frame_armed;
	double speed;     /* virtual ms per real ms */
	unsigned pending; /* dirty regions held for the next refresh */
	/* Attached to a service that has stopped speaking (watch_silence). */
	bool silent;
	enum sr_verdict silent_last; /* its verdict before it went quiet */
	sr_ms silent_marked;         /* the silence (s) the mirror last says */

	long frames;
	double render_s, render_max_s;
};

static void watch_silence(struct console *c, const char *gone);

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the frame --------------------------------------------------------- */

static struct layout_need need_of(const struct tui *t)
{
	struct layout_need n;
	memset(&n, 0, sizeof n);
	const struct sr_policy *p = t->p;
	n.njourneys = p->njourneys;
	n.ngroups = p->ngroups < LAYOUT_MAX_GROUPS ? p->ngroups : LAYOUT_MAX_GROUPS;
	for (int g = 0; g < n.ngroups; g++) {
		n.group_lines[g] = 1;
		for (int k = 0; k < p->nkpis; k++)
			n.group_lines[g] += strcmp(p->kpis[k].group, p->groups[g].id) == 0;
	}
	n.banner = banner_active(t, NULL);
	n.workflow = true;
	return n;
}

void tui_relayout(struct tui *t)
{
	int w, h;
	term_size(&w, &h);
	struct layout_need n = need_of(t);
	layout_compute(&t->lay, w, h, &n);
	t->seen_banner = n.banner;
	t->dirty |= D_ALL;
}

static void render(struct console *c)
{
	struct tui *t = &c->t;
	double t0 = mono_s();
	t->now = replay_view_now(t, clock_now(t->o->clock, clock_real_ms()));
	unsigned d = t->dirty;
	t->dirty = 0;
	if (d & D_CLEAR) {
		term_clear_all();
		d |= D_ALL; /* a cleared screen needs every region again */
	}
	if (t->lay.too_small) {
		too_small_draw(t);
	} else {
		bool drew = false;
		if (d & D_HEADER)
			header_draw(t), drew = true;
		if (d & D_BANNER)
			banner_draw(t), drew = true;
		if (t->view == VIEW_MAIN) {
			if (d & D_TILES)
				tiles_draw(t), drew = true;
			if (d & D_KPIS)
				kpis_draw(t), drew = true;
			if (d & D_TIMELINE)
				timeline_draw(t), drew = true;
			if (d & D_WORKFLOW)
				workflow_strip_draw(t), drew = true;
			if (d & D_LOG)
				log_draw(t), drew = true;
		} else if (d & (D_BODY | D_TILES)) {
			drew = true;
			switch (t->view) {
			case VIEW_KPIS: kpis_view_draw(t); break;
			case VIEW_TRIGGERS: triggers_draw(t); break;
			case VIEW_CHECKLISTS: checklists_draw(t); break;
			case VIEW_APPROVALS: approvals_draw(t); break;
			case VIEW_WORKFLOW: workflow_draw(t); break;
			case VIEW_WHO: who_draw(t); break;
			case VIEW_REPORT: pager_draw(t); break;
			case VIEW_DETAIL: detail_draw(t); break;
			case VIEW_HELP: help_draw(t); break;
			default: break;
			}
		}
		if (d & D_STATUS)
			status_line_draw(t), drew = true;
		if (d & D_KEYBAR)
			keybar_draw(t), drew = true;
		/* The dialog lies over the rest: whatever was redrawn under it
		 * would otherwise cover it. */
		if (t->dlg.kind != DLG_NONE && (drew || (d & D_DIALOG)))
			dialog_draw(t);
	}
	term_flush();
	double dt = mono_s() - t0;
	c->frames++;
	c->render_s += dt;
	if (dt > c->render_max_s)
		c->render_max_s = dt;
	c->last_frame = mono_s();
}

/* Notice what changed since the last frame without being told: an
 * asynchronous source answering, an action completing, a banner. New
 * data waits for the next refresh (at --speed 60 the runner polls four
 * times a second; the screen need not follow more than once a refresh
 * period: fewer bytes over a slow link), except the first data, which
 * should not make anyone wait, and what is unmissable: a trigger banner,
 * the bell, the result of an action. */
static void on_retry(uv_timer_t *h);

static void notice_changes(struct console *c)
{
	struct tui *t = &c->t;
	struct sr_runner *r = t->r;
	if (r->engine.evaluations != t->seen_evals || r->nlog != t->seen_nlog) {
		bool first = t->seen_evals <= 0;
		t->seen_evals = r->engine.evaluations;
		t->seen_nlog = r->nlog;
		if (first)
			t->dirty |= D_DATA;
		else
			c->pending |= D_DATA;
	}
	if (r->alarm) {
		/* A trigger started firing: the bell, once. */
		r->alarm = false;
		term_bell();
	}
	if (banner_active(t, NULL) != t->seen_banner) {
		tui_relayout(t);
		c->pending = 0;
	}
	if (t->o->client) {
		/* Attached: the answer is the service's result message. */
		if (t->waiting_action && client_result_seq(t->o->client) != t->sent_result_seq)
			tui_action_finished(t);
		if (client_lost(t->o->client) && t->o->reconnect) {
			/* the service died: the screen stays, its numbers marked
			 * old, and the console attaches again as soon as a service
			 * runs */
			if (!uv_is_active((uv_handle_t *)&c->retry))
				uv_timer_start(&c->retry, on_retry, 1000, 1000);
			watch_silence(c, client_closed(t->o->client));
		} else if (client_closed(t->o->client) && !c->quit_signal && !t->quit) {
			t->quit = true; /* the service ended it: say why after the screen */
		} else {
			watch_silence(c, NULL);
		}
	} else if (t->waiting_action && !r->action_in_flight) {
		tui_action_finished(t);
	}
	/* Whatever marks data dirty for its own reasons (an action, a key)
	 * shows the newest data with it. */
	if (t->dirty & D_DATA) {
		t->dirty |= c->pending;
		c->pending = 0;
	}
}

/* Attached: a service that stops speaking (SIGSTOP, a debugger, a machine
 * out of CPU) keeps its socket open, and its last numbers must not pass
 * for live ones. Past SR_WIRE_SILENT_MS every cell shows STALE and the
 * decision HOLD (mirror_mark_silent), the clock stops at its last word,
 * and the status line says so until it speaks again: its next state,
 * within SR_WIRE_BEAT_MS of waking, puts everything back. A service that
 * is gone (`gone`: why its connection closed; killed, crashed) is marked
 * so at once, and stays so until the console has attached again. */
static void watch_silence(struct console *c, const char *gone)
{
	struct tui *t = &c->t;
	struct sr_client *cl = t->o->client;
	sr_ms quiet = client_silent_ms(cl);
	if (!gone && quiet < SR_WIRE_SILENT_MS) {
		if (c->silent) {
			c->silent = false;
			tui_flash(t, SR_GREEN, "the rollout's service speaks again");
			t->dirty |= D_ALL;
		}
		return;
	}
	struct sr_runner *m = client_mirror(cl);
	if (!c->silent) {
		c->silent = true;
		c->silent_marked = -1;
		c->silent_last = m->engine.decision.verdict;
		struct sr_clock *clk = client_clock(cl);
		clock_init(clk, clock_real_ms(), clk->virt0, clk->speed);
		clk->paused = true;
	}
	if (quiet / 1000 == c->silent_marked)
		return; /* once a second */
	c->silent_marked = quiet / 1000;
	mirror_mark_silent(m, quiet, c->silent_last);
	char d[24];
	sr_fmt_duration(d, sizeof d, quiet);
	if (gone)
		tui_flash(
		    t, SR_RED,
		    "the rollout's service is gone: nothing guards the rollout; numbers %s old; "
		    "attaching again every second (%s)",
		    d, gone);
	else
		tui_flash(
		    t, SR_RED,
		    "the rollout's service (pid %ld) has said nothing for %s: paused, stuck or "
		    "cut off? Its numbers are old - nothing may be guarding the rollout",
		    client_service_pid(cl), d);
	t->flash_until = clock_real_ms() + 24 * 3600 * 1000LL;
	t->dirty |= D_ALL;
}

static void on_frame_timer(uv_timer_t *h)
{
	struct console *c = h->data;
	c->frame_armed = false; /* the prepare callback draws */
}

static void on_prepare(uv_prepare_t *h)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	notice_changes(c);
	if (t->quit || c->quit_signal) {
		/* Attached, an action in flight is the service's: it goes on. */
		if (t->o->client || !t->r->action_in_flight) {
			uv_stop(c->loop);
			return;
		}
		/* An action is out: it finishes first, whatever asked us to go. */
		static bool said;
		if (!said) {
			said = true;
			tui_flash(t, SR_YELLOW, "waiting for the action in flight before exiting");
		}
	}
	if (!t->dirty)
		return;
	double wait = 1.0 / FRAME_HZ - (mono_s() - c->last_frame);
	if (wait > 0) {
		if (!c->frame_armed) {
			c->frame_armed = true;
			uv_timer_start(&c->frame, on_frame_timer, (uint64_t)(wait * 1000) + 1, 0);
		}
		return;
	}
	render(c);
}

/* ---- timers ------------------------------------------------------------ */

static void on_tick(uv_timer_t *h);

/* Arm the poll timer for the runner's next poll (after a tick, and when
 * a poll answers: the schedule may have moved). */
static void arm_tick(struct console *c)
{
	struct tui *t = &c->t;
	sr_ms now = clock_now(t->o->clock, clock_real_ms());
	uint64_t delay = runner_next_tick_delay(t->r, now, c->speed);
	if (t->r->feed && delay > 250)
		delay = 250; /* a replay follows its clock's speed changes and pauses */
	uv_timer_start(&c->tick, on_tick, delay, 0);
}

static void on_polled(void *ud)
{
	arm_tick(ud);
}

static void on_tick(uv_timer_t *h)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	sr_ms now = clock_now(t->o->clock, clock_real_ms());
	runner_tick(t->r, now);
	arm_tick(c);
	replay_after_tick(t);
	/* The workflow follows the runner: reports written when due (their
	 * lines land in the runner's log), webhook posts queued; neither
	 * blocks the loop. */
	workflow_tick(t);
	notice_changes(c);
}

static void on_retry(uv_timer_t *h)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	if (t->o->reconnect(t->o->reconnect_ud) != 0)
		return;
	uv_timer_stop(&c->retry);
	c->silent = false; /* its first state puts everything back */
	tui_flash(t, SR_GREEN, "attached again to the rollout's service (pid %ld)",
	          client_service_pid(t->o->client));
	t->flash_until = clock_real_ms() + 5000;
	t->seen_evals = -1;
	tui_relayout(t);
}

static void on_refresh(uv_timer_t *h)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	/* New data, clocks, countdowns, data age, the now-marker. */
	t->dirty |= c->pending | D_HEADER | (t->view == VIEW_MAIN ? D_TIMELINE | D_WORKFLOW : 0);
	c->pending = 0;
	/* Views with timers and countdowns (the webhook's state too). */
	if (t->view == VIEW_TRIGGERS || t->view == VIEW_CHECKLISTS || t->view == VIEW_WORKFLOW ||
	    t->view == VIEW_WHO)
		t->dirty |= D_BODY;
	if (t->flash[0] && clock_real_ms() >= t->flash_until) {
		t->flash[0] = '\0';
		t->dirty |= D_STATUS;
	}
}

/* ---- input and signals ------------------------------------------------- */

static void input_stop(struct console *c)
{
	if (c->input_on) {
		uv_poll_stop(&c->input);
		c->input_on = false;
	}
}

static bool tty_hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void on_input(uv_poll_t *h, int status, int events)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	if (status < 0 || (events & UV_DISCONNECT)) {
		input_stop(c);
		c->quit_signal = c->quit_signal ? c->quit_signal : SIGHUP;
		return;
	}
	int got = 0;
	for (int i = 0; i < 64; i++) {
		int k = term_getkey();
		if (k == TK_NONE)
			break;
		got++;
		if (k == TK_RESIZE) {
			if (term_resize())
				tui_relayout(t);
			continue;
		}
		keys_handle(t, k);
	}
	if (got) {
		c->empty_reads = 0;
		return;
	}
	/* Readable but nothing to read: the terminal went away. Do not spin. */
	if (tty_hung_up(term_input_fd()) || ++c->empty_reads > 50) {
		input_stop(c);
		c->quit_signal = c->quit_signal ? c->quit_signal : SIGHUP;
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct console *c = h->data;
	struct tui *t = &c->t;
	if (signum == SIGWINCH) {
		if (term_resize())
			tui_relayout(t);
		t->dirty |= D_ALL;
		return;
	}
	if (signum == SIGHUP)
		input_stop(c); /* the terminal is gone; nothing more to read */
	if (!c->quit_signal)
		c->quit_signal = signum;
}

/* ---- set-up and teardown ------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
	struct console *c = h->data;
	c->open_handles--;
}

static void close_handle(uv_handle_t *h)
{
	if (h->data && !uv_is_closing(h))
		uv_close(h, on_closed);
}

static void write_stats(const struct console *c)
{
	const char *path = getenv("SHIPROOM_FRAME_STATS");
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "frames %ld\nrender_ms_total %.3f\nrender_ms_mean %.4f\nrender_ms_max %.3f\n",
	        c->frames, c->render_s * 1e3,
	        c->frames ? c->render_s * 1e3 / (double)c->frames : 0.0, c->render_max_s * 1e3);
	fclose(f);
}

static void console_teardown(struct console *c)
{
	/* The terminal first: whatever happens next, the user gets it back. */
	term_close();
	c->t.r->on_polled = NULL;
	input_stop(c);
	close_handle((uv_handle_t *)&c->input);
	close_handle((uv_handle_t *)&c->tick);
	close_handle((uv_handle_t *)&c->refresh);
	close_handle((uv_handle_t *)&c->frame);
	close_handle((uv_handle_t *)&c->retry);
	close_handle((uv_handle_t *)&c->prepare);
	for (int i = 0; i < NSIG_HANDLED; i++)
		close_handle((uv_handle_t *)&c->sig[i]);
	/* Let the close callbacks run; other modules' handles on the loop
	 * (an HTTP source) may keep it alive, so do not wait for them. */
	for (int i = 0; i < 100 && c->open_handles > 0; i++)
		uv_run(c->loop, UV_RUN_NOWAIT);
	pager_free(&c->t);
	write_stats(c);
}

static int load_theme(struct tui *t, const struct sr_console_opts *o)
{
	char path[1024];
	struct sr_policy_error err;
	const char *name = o->theme && *o->theme ? o->theme : "default";
	theme_path(path, sizeof path, o->datadir, name);
	if (theme_load_file(&t->theme, path, &err) == 0)
		return 0;
	/* No themes directory at all (an uninstalled binary): the built-in
	 * default is the same theme. A named or broken theme is an error. */
	if (!o->theme && err.line == 0) {
		theme_builtin(&t->theme);
		return 0;
	}
	char msg[1024];
	policy_error_format(&err, msg, sizeof msg);
	fprintf(stderr, "shiproom: theme: %s\n", msg);
	return -1;
}

int console_run(const struct sr_console_opts *o)
{
	static struct console con; /* large; one console per process */
	struct console *c = &con;
	struct tui *t = &c->t;
	char err[256];
	memset(c, 0, sizeof *c);
	setlocale(LC_ALL, "");
	t->o = o;
	t->r = o->runner;
	t->p = o->runner->policy;
	t->detail_journey = -1;
	t->back = VIEW_MAIN;
	/* Reports fall due while the console runs: write them, unless this
	 * console only looks. */
	if (o->templates && o->state_dir && *o->state_dir && !o->read_only) {
		report_watch_init(&t->watch, o->templates, o->state_dir);
		t->watching = true;
	}
	if (load_theme(t, o) < 0)
		return SR_EXIT_USAGE;
	c->loop = uv_default_loop();

	/* Signals before curses starts: ncurses only takes the ones still at
	 * their default disposition. */
	for (int i = 0; i < NSIG_HANDLED; i++) {
		uv_signal_init(c->loop, &c->sig[i]);
		c->sig[i].data = c;
		c->open_handles++;
		uv_signal_start(&c->sig[i], on_signal, handled_signals[i]);
	}
	uv_timer_init(c->loop, &c->tick);
	uv_timer_init(c->loop, &c->refresh);
	uv_timer_init(c->loop, &c->frame);
	uv_timer_init(c->loop, &c->retry);
	uv_prepare_init(c->loop, &c->prepare);
	c->tick.data = c->refresh.data = c->frame.data = c->prepare.data = c->retry.data = c;
	c->open_handles += 5;

	if (term_open(&t->theme, o->ascii, err, sizeof err) < 0) {
		fprintf(stderr, "shiproom: %s\n", err);
		console_teardown(c);
		return SR_EXIT_RUNTIME;
	}
	t->utf8 = term_utf8();
	t->chart = t->utf8 ? CHART_BRAILLE : CHART_ASCII;
	uv_poll_init(c->loop, &c->input, term_input_fd());
	c->input.data = c;
	c->open_handles++;
	uv_poll_start(&c->input, UV_READABLE | UV_DISCONNECT, on_input);
	c->input_on = true;

	/* Poll now, then when the runner's schedule says (arm_tick); attached,
	 * the service polls and its state arrives on the socket. */
	c->speed = o->clock && o->clock->speed > 0 ? o->clock->speed : 1.0;
	if (!o->client) {
		t->r->on_polled = on_polled;
		t->r->on_polled_ud = c;
		uv_timer_start(&c->tick, on_tick, 0, 0);
	}
	uint64_t refresh = o->refresh_ms > 0 ? (uint64_t)o->refresh_ms : 1000;
	uv_timer_start(&c->refresh, on_refresh, refresh, refresh);
	uv_prepare_start(&c->prepare, on_prepare);

	t->seen_evals = -1;
	tui_relayout(t);
	uv_run(c->loop, UV_RUN_DEFAULT);

	int status = SR_EXIT_OK;
	if (c->quit_signal && !t->quit)
		status = 128 + c->quit_signal;
	console_teardown(c);
	return status;
}
