/* test_report.c - gate reports, phase cards, the postmortem placeholder and
 * the win note against golden files; the status-page tile; the anomaly
 * ranking; escaping of outside text; the watch that writes them when due.
 *
 * The states are real: a shipped scenario played headless on the
 * simulator with the runner to a fixed minute (fixed seeds), as `shiproom
 * status` does. The policy hash is pinned so an edit of the policy file's
 * bytes alone does not churn the goldens.
 *
 * SHIPROOM_UPDATE_GOLDEN=1 rewrites tests/golden/ from what is rendered
 * now (then read the diff before committing it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/action.h"
#include "shiproom/report.h"
#include "shiproom/sim.h"

#define GOLDEN_DIR SR_DATADIR "/tests/golden"
#define CONFIG_DIR SR_DATADIR "/config"
#define PINNED_HASH 0x0123456789abcdefULL

static struct sr_policy *policy;
static struct sr_report_templates tpl;

struct play {
	struct sr_scenario *sc;
	struct sr_sim *sim;
	struct sr_runner *r;
};

static int setup(void **state)
{
	(void)state;
	struct sr_policy_error err;
	policy = calloc(1, sizeof *policy);
	if (!policy || policy_load_file(policy, CONFIG_DIR "/shiproom.json", &err) != 0) {
		char msg[1024];
		policy_error_format(&err, msg, sizeof msg);
		print_error("cannot load the shipped policy: %s\n", msg);
		return -1;
	}
	policy->hash = PINNED_HASH;
	char e[1024];
	if (report_templates_load(&tpl, CONFIG_DIR, e, sizeof e) != 0) {
		print_error("the shipped templates do not load: %s\n", e);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	report_templates_free(&tpl);
	free(policy);
	return 0;
}

static void play_start(struct play *pl, const char *scenario)
{
	char path[512];
	struct sr_policy_error err;
	snprintf(path, sizeof path, CONFIG_DIR "/scenarios/%s.json", scenario);
	pl->sc = calloc(1, sizeof *pl->sc);
	pl->r = calloc(1, sizeof *pl->r);
	assert_non_null(pl->sc);
	assert_non_null(pl->r);
	assert_int_equal(scenario_load_file(pl->sc, policy, path, &err), 0);
	pl->sim = sim_create(policy, pl->sc);
	assert_non_null(pl->sim);
	runner_init(pl->r, policy, pl->sc, sim_source(pl->sim), sim_edge(pl->sim), false, "test");
	pl->r->sim = pl->sim;
}

static sr_ms at_min(const struct play *pl, int min)
{
	return pl->sc->t0 + (sr_ms)min * SR_MS_PER_MIN;
}

/* A scenario played to T+min. */
static void play(struct play *pl, const char *scenario, int min)
{
	play_start(pl, scenario);
	runner_advance(pl->r, at_min(pl, min));
	assert_int_equal(pl->r->now, at_min(pl, min));
}

static void play_end(struct play *pl)
{
	sim_destroy(pl->sim);
	free(pl->r);
	free(pl->sc);
}

/* ---- golden files ---------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

static bool updating(void)
{
	const char *u = getenv("SHIPROOM_UPDATE_GOLDEN");
	return u && strcmp(u, "1") == 0;
}

/* Compare text with tests/golden/name (or rewrite it). */
static void golden(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, GOLDEN_DIR "/%s", name);
	if (updating()) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		print_message("golden %s rewritten\n", name);
		return;
	}
	char *want = slurp(path, NULL);
	if (!want) {
		print_error("golden %s missing: run with SHIPROOM_UPDATE_GOLDEN=1 to create it\n",
		            path);
		fail();
	}
	if (strcmp(want, text) != 0) {
		/* Show the first line that differs, and keep the output. */
		const char *a = want, *b = text;
		int line = 1;
		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++;
			b++;
		}
		while (a > want && a[-1] != '\n') {
			a--;
			b--;
		}
		char got[512];
		snprintf(got, sizeof got, "/tmp/shiproom-golden-%s", name);
		FILE *f = fopen(got, "wb");
		if (f) {
			fputs(text, f);
			fclose(f);
		}
		print_error("golden %s differs at line %d:\n  want: %.*s\n  got:  %.*s\n"
		            "(whole output in %s; SHIPROOM_UPDATE_GOLDEN=1 rewrites the golden)\n",
		            name, line, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b, got);
		free(want);
		fail_msg("golden %s differs", name);
	}
	free(want);
}

static void golden_file(const char *name, const char *path)
{
	char *text = slurp(path, NULL);
	if (!text)
		print_error("report file %s was not written\n", path);
	assert_non_null(text);
	golden(name, text);
	free(text);
}

static void tmpdir(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/sr-report-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static bool has_file(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* ---- goldens ---------------------------------------------------------------- */

static void test_gate_report_healthy_gate1(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 90);
	char dir[64], path[1024], err[256];
	tmpdir(dir, sizeof dir);
	assert_int_equal(
	    report_write(&tpl, SR_REPORT_GATE, pl.r, -1, dir, path, sizeof path, err, sizeof err),
	    0);
	assert_true(has_file(dir, "gate-1-T+90.md"));
	assert_true(has_file(dir, "gate-1-T+90.json"));
	golden_file("gate-healthy-1.md", path);
	snprintf(path, sizeof path, "%s/gate-1-T+90.json", dir);
	golden_file("gate-healthy-1.json", path);

	/* The JSON is the data: the decision and the counts a script reads. */
	json_t *j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "decision"), "word")), "GO");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "summary"), "green")), 27);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "gate"), "number")),
	                 1);
	json_t *by = json_object_get(json_object_get(j, "approvals"), "by");
	assert_int_equal(json_array_size(by), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(by, 0), "who")),
	                    "approver");
	assert_string_equal(json_string_value(json_object_get(json_array_get(by, 0), "at")),
	                    "T+85");
	json_decref(j);
	rmtree(dir);
	play_end(&pl);
}

static void test_gate_report_stale_data(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "metrics-stale", 95);
	char *md = report_markdown(&tpl, SR_REPORT_GATE, pl.r, 0);
	assert_non_null(md);
	golden("gate-metrics-stale-1.md", md);
	/* Data gaps are never GREEN and the gate is NO-GO. */
	assert_non_null(strstr(md, "## Decision: NO-GO"));
	assert_non_null(strstr(md, "| STALE  |"));
	assert_null(strstr(md, "| GREEN  |"));
	free(md);
	play_end(&pl);
}

static void test_gate_report_rollback(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "p95-regression-25", 134);
	char *md = report_markdown(&tpl, SR_REPORT_GATE, pl.r, -1);
	assert_non_null(md);
	golden("gate-p95-regression-2.md", md);
	assert_non_null(strstr(md, "# Gate 2 report"));
	assert_non_null(strstr(md, "## Decision: ROLLBACK"));
	assert_non_null(strstr(md, "| firing  |"));
	free(md);
	play_end(&pl);
}

static void test_phase_card_step_up(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 91); /* the promotion to 25% happened at this tick */
	assert_int_equal(pl.r->engine.ro.phase, 1);
	char dir[64], path[1024], err[256];
	tmpdir(dir, sizeof dir);
	assert_int_equal(
	    report_write(&tpl, SR_REPORT_CARD, pl.r, 0, dir, path, sizeof path, err, sizeof err),
	    0);
	assert_true(has_file(dir, "phase-card-5pct-T+91.md"));
	golden_file("card-healthy-5.md", path);
	snprintf(path, sizeof path, "%s/phase-card-5pct-T+91.json", dir);
	golden_file("card-healthy-5.json", path);
	rmtree(dir);
	play_end(&pl);
}

static void test_phase_card_anomalies(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "sustained-5xx", 157);
	char *md = report_markdown(&tpl, SR_REPORT_CARD, pl.r, -1);
	assert_non_null(md);
	golden("card-sustained-5xx-25.md", md);
	assert_non_null(strstr(md, "1. **5xx error rate** RED"));
	assert_non_null(strstr(md, "**Recommended action: ROLLBACK**"));
	free(md);
	play_end(&pl);
}

static void test_postmortem_placeholder(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "sustained-5xx", 158); /* the DRI rolled back at this tick */
	assert_true(pl.r->engine.ro.rolled_back);
	assert_int_equal(report_postmortem_due(pl.r),
	                 pl.r->engine.ro.rolled_back_at + 48 * SR_MS_PER_H);
	char dir[64], path[1024], err[256];
	tmpdir(dir, sizeof dir);
	assert_int_equal(report_write(&tpl, SR_REPORT_POSTMORTEM, pl.r, -1, dir, path, sizeof path,
	                              err, sizeof err),
	                 0);
	assert_true(has_file(dir, "postmortem-T+158.md"));
	golden_file("postmortem-sustained-5xx.md", path);

	/* People edit it: a second write keeps their text. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("edited by a human\n", f);
	fclose(f);
	assert_int_equal(report_write(&tpl, SR_REPORT_POSTMORTEM, pl.r, -1, dir, path, sizeof path,
	                              err, sizeof err),
	                 1);
	char *text = slurp(path, NULL);
	assert_string_equal(text, "edited by a human\n");
	free(text);
	rmtree(dir);
	play_end(&pl);
}

/* issue 9: a manual rollback made under HOLD was recorded as "Decision
 * at the time: ROLLBACK". The placeholder keeps the decision and the
 * reasons in force before the action. */
static void test_postmortem_decision_before_manual_rollback(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 30); /* at 5%, observing: HOLD */
	assert_int_equal(pl.r->engine.decision.verdict, SR_HOLD);
	struct sr_action_request req = {.kind = SR_ACT_ROLLBACK, .gate = -1};
	struct sr_action_result res;
	snprintf(req.actor, sizeof req.actor, "dri");
	snprintf(req.reason, sizeof req.reason, "drill");
	action_dispatch(pl.r, &req, &res);
	assert_int_equal(res.outcome, SR_ACT_DONE);
	json_t *o = report_json(SR_REPORT_POSTMORTEM, pl.r, -1);
	json_t *d = json_object_get(o, "decision");
	const char *word = json_string_value(json_object_get(d, "word"));
	if (strcmp(word, "NO-GO") != 0)
		fail_msg("the decision before a rollback under HOLD reads %s", word);
	assert_string_equal(json_string_value(json_object_get(d, "verdict")), "HOLD");
	json_t *reasons = json_object_get(d, "reasons");
	assert_true(json_array_size(reasons) > 0);
	size_t i;
	json_t *v;
	json_array_foreach(reasons, i, v) assert_null(strstr(json_string_value(v), "rolled back"));
	json_decref(o);
	play_end(&pl);
}

static void test_win_note(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 585);
	assert_true(pl.r->engine.ro.success);
	char dir[64], path[1024], err[256];
	tmpdir(dir, sizeof dir);
	assert_int_equal(
	    report_write(&tpl, SR_REPORT_WIN, pl.r, -1, dir, path, sizeof path, err, sizeof err),
	    0);
	assert_true(has_file(dir, "win-note-T+580.md"));
	golden_file("win-note-healthy.md", path);
	rmtree(dir);
	play_end(&pl);
}

/* ---- the anomaly ranking ---------------------------------------------------------- */

static int cell_of(const char *kpi, const char *journey)
{
	int k = policy_kpi_index(policy, kpi);
	int j = journey ? policy_journey_index(policy, journey) : -1;
	int c = policy_cell_index(policy, k, j);
	assert_true(c >= 0);
	return c;
}

static void set_cell(struct sr_runner *r, int c, enum sr_status st, double canary, double dev)
{
	struct sr_cell_state *s = &r->engine.cells[c];
	s->status = st;
	s->canary = canary;
	s->deviation_pct = dev;
	s->fresh = !sr_status_is_data_gap(st);
	engine_cell_set_reason(s, "set by the test");
}

static void test_win_note_improvements(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 585);
	struct sr_engine *e = &pl.r->engine;
	/* The control before 100% against the canary now, direction-aware:
	 * search P95 120 -> now (lower is better), first-result time 400 ->
	 * now (a vs_baseline "no increase": lower is better), payment
	 * success 99.0 -> 100 (+1%: below the 5% bar), registration
	 * completion +/- (neither way is better). */
	int p95 = cell_of("p95_latency", "search"), frt = cell_of("first_result_time", NULL);
	int pay = cell_of("payment_success", NULL), reg = cell_of("registration_completion", NULL);
	e->last_control[p95] = 1.5 * e->cells[p95].canary;
	e->last_control[frt] = 1.25 * e->cells[frt].canary;
	e->last_control[pay] = 99.0;
	e->cells[pay].canary = 100.0;
	e->last_control[reg] = 0.5 * e->cells[reg].canary;
	json_t *w = report_json(SR_REPORT_WIN, pl.r, -1);
	json_t *impr = json_object_get(w, "improvements");
	assert_int_equal(json_array_size(impr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(impr, 0), "label")),
	                    "search P95");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(impr, 0), "change_text")), "-33.3%");
	assert_string_equal(json_string_value(json_object_get(json_array_get(impr, 1), "label")),
	                    "First-result time");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(impr, 1), "change_text")), "-20.0%");
	/* Every cell but the failure streak has a baseline row. */
	assert_int_equal(json_array_size(json_object_get(w, "baselines")), policy->ncells - 1);
	json_decref(w);
	char *md = report_markdown(&tpl, SR_REPORT_WIN, pl.r, -1);
	assert_non_null(strstr(md, "- **search P95**: "));
	assert_null(strstr(md, "No KPI moved"));
	free(md);
	play_end(&pl);
}

static void test_top_anomalies_ranked(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 30);
	struct sr_runner *r = pl.r;
	/* Past their limits, normalised and direction-aware:
	 *   5xx 1.5% vs <= 0.5%          (1.5-0.5)/0.5   = 2.0
	 *   search P95 178ms vs <= 130ms  (178-130)/130   = 0.37
	 *   JS errors +12% vs +10%        (12-10)/10      = 0.2
	 *   payment success 98% vs >= 99.5  (99.5-98)/99.5 = 0.015
	 * then a data gap, then a YELLOW still inside its limit; a decrease of
	 * first-result time (direction up) counts as no deviation at all. */
	set_cell(r, cell_of("payment_success", NULL), SR_RED, 98.0, NAN);
	set_cell(r, cell_of("client_js_errors", NULL), SR_RED, 0.9, 12.0);
	set_cell(r, cell_of("p95_latency", "search"), SR_RED, 178.0, NAN);
	set_cell(r, cell_of("error_rate_5xx", NULL), SR_RED, 1.5, NAN);
	set_cell(r, cell_of("db_pool_saturation", NULL), SR_STALE, NAN, NAN);
	set_cell(r, cell_of("first_result_time", NULL), SR_YELLOW, 280.0, -20.0);

	json_t *c = report_json(SR_REPORT_CARD, r, -1);
	json_t *an = json_object_get(c, "anomalies");
	assert_int_equal(json_array_size(an), 3);
	const char *want[3] = {"5xx error rate", "search P95", "Client-side JS errors"};
	const double excess[3] = {2.0, 48.0 / 130.0, 0.2};
	for (int i = 0; i < 3; i++) {
		json_t *x = json_array_get(an, (size_t)i);
		assert_string_equal(json_string_value(json_object_get(x, "label")), want[i]);
		assert_int_equal(json_integer_value(json_object_get(x, "rank")), i + 1);
		assert_float_equal(json_real_value(json_object_get(x, "excess")), excess[i], 1e-9);
	}
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(an, 0), "excess_text")),
	    "200% past its limit");
	assert_int_equal(json_integer_value(json_object_get(c, "anomalies_more")), 3);
	json_decref(c);

	/* Without the top three, the order goes on: payment, the gap, the YELLOW. */
	set_cell(r, cell_of("error_rate_5xx", NULL), SR_GREEN, 0.1, NAN);
	set_cell(r, cell_of("p95_latency", "search"), SR_GREEN, 90.0, NAN);
	set_cell(r, cell_of("client_js_errors", NULL), SR_GREEN, 0.8, 1.0);
	c = report_json(SR_REPORT_CARD, r, -1);
	an = json_object_get(c, "anomalies");
	assert_string_equal(json_string_value(json_object_get(json_array_get(an, 0), "label")),
	                    "Payment end-to-end success");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(an, 1), "excess_text")),
	    "data gap (STALE)");
	assert_string_equal(json_string_value(json_object_get(json_array_get(an, 2), "label")),
	                    "First-result time");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(an, 2), "excess_text")),
	    "100% inside its limit");
	assert_int_equal(json_integer_value(json_object_get(c, "anomalies_more")), 0);
	json_decref(c);
	play_end(&pl);
}

/* ---- the status-page tile -------------------------------------------------------------- */

static void expect_tile(const char *scenario, int min, enum sr_status color, const char *reason)
{
	struct play pl;
	struct sr_status_tile t;
	play(&pl, scenario, min);
	report_status_tile(pl.r, &t);
	if (t.color != color || !strstr(t.reason, reason))
		print_error("%s at T+%d: tile %s (%s: %s), want %s with \"%s\"\n", scenario, min,
		            sr_status_name(t.color), t.headline, t.reason, sr_status_name(color),
		            reason);
	assert_int_equal(t.color, color);
	assert_non_null(strstr(t.reason, reason));
	play_end(&pl);
}

static void test_status_tile(void **state)
{
	(void)state;
	expect_tile("healthy", 90, SR_GREEN, "no sustained SLO breach");
	/* 5xx RED 1 minute: not sustained yet, but users feel errors. */
	expect_tile("sustained-5xx", 151, SR_YELLOW, "user impact: 5xx error rate RED");
	/* 3 of 5 minutes: past half the window. */
	expect_tile("sustained-5xx", 153, SR_YELLOW, "past half the window");
	expect_tile("sustained-5xx", 156, SR_RED, "SLO breach sustained");
	expect_tile("p95-regression-25", 131, SR_YELLOW, "user impact: search P95 RED");

	/* Internal and cost KPIs RED are not user impact. */
	struct play pl;
	struct sr_status_tile t;
	play(&pl, "healthy", 30);
	set_cell(pl.r, cell_of("db_pool_saturation", NULL), SR_RED, 95, NAN);
	set_cell(pl.r, cell_of("inference_cost_per_user", NULL), SR_RED, 1, 50);
	set_cell(pl.r, cell_of("search_ctr", NULL), SR_STALE, NAN, NAN);
	report_status_tile(pl.r, &t);
	assert_int_equal(t.color, SR_GREEN);
	assert_string_equal(t.headline, "Operational");
	set_cell(pl.r, cell_of("payment_success", NULL), SR_RED, 98, NAN);
	report_status_tile(pl.r, &t);
	assert_int_equal(t.color, SR_YELLOW);
	assert_non_null(strstr(t.reason, "Payment end-to-end success RED"));
	play_end(&pl);

	/* issue 9: every cell ERROR (the source is down) is not "Operational". */
	play(&pl, "healthy", 30);
	for (int i = 0; i < policy->ncells; i++)
		set_cell(pl.r, i, SR_ERROR, NAN, NAN);
	report_status_tile(pl.r, &t);
	assert_int_equal(t.color, SR_ERROR);
	assert_string_equal(t.headline, "Unknown: no data");
	assert_non_null(strstr(t.reason, "has fresh data, since"));
	play_end(&pl);
}

/* ---- escaping ----------------------------------------------------------------------------------
 */

#define HOSTILE                                                                                    \
	"<script>alert(1)</script> *x* [a](http://e) | `c` \x1b[31m\x07"                           \
	"bell\n@here"

static void test_outside_text_escaped(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 90);
	struct sr_runner *r = pl.r;
	/* An error text from a source (it would come through the snapshot),
	 * an approver and a reason typed by people. */
	int c = cell_of("error_rate_5xx", NULL);
	r->engine.cells[c].status = SR_ERROR;
	sr_strlcpy(r->engine.cells[c].reason_text, "fetch failed: " HOSTILE,
	           sizeof r->engine.cells[c].reason_text);
	r->engine.cells[c].reason_pending = false;
	char why[128];
	assert_int_equal(
	    rollout_approve(&r->engine.ro, policy, 0, "<b>eve</b>|x", r->now, why, sizeof why), 0);
	char *md = report_markdown(&tpl, SR_REPORT_GATE, r, 0);
	assert_non_null(md);
	assert_null(strstr(md, "<script"));
	assert_null(strstr(md, "<b>"));
	assert_null(strchr(md, '\x1b'));
	assert_null(strchr(md, '\x07'));
	assert_non_null(strstr(md, "fetch failed: &lt;script>alert(1)&lt;/script> \\*x\\* "
	                           "\\[a\\](http://e) \\| \\`c\\` ?\\[31m?bell?@here"));
	assert_non_null(strstr(md, "- &lt;b>eve&lt;/b>\\|x at T+90"));
	free(md);

	/* The JSON keeps the text (sanitised, not Markdown-escaped), and it
	 * is valid JSON. */
	json_t *j = report_json(SR_REPORT_GATE, r, 0);
	char *dump = json_dumps(j, JSON_ENSURE_ASCII);
	json_decref(j);
	j = json_loads(dump, 0, NULL);
	assert_non_null(j);
	json_t *att = json_object_get(j, "attention");
	const char *text = json_string_value(json_object_get(json_array_get(att, 0), "text"));
	assert_non_null(strstr(text, "fetch failed: <script>alert(1)</script> *x* [a](http://e) | "
	                             "`c` ?[31m?bell?@here"));
	free(dump);
	json_decref(j);

	/* The postmortem carries a typed rollback reason. */
	assert_int_equal(rollout_rollback(&r->engine.ro, policy, "dri", "see <img src=x onerror=y>",
	                                  r->now, why, sizeof why),
	                 0);
	md = report_markdown(&tpl, SR_REPORT_POSTMORTEM, r, -1);
	assert_non_null(strstr(md, "**Reason given:** see &lt;img src=x onerror=y>"));
	assert_null(strstr(md, "<img"));
	free(md);
	play_end(&pl);
}

/* ---- the data matches the schemas
 * ----------------------------------------------------------------- */

/* Every schema name is in the data and every data key in the schema. */
static void check_schema(const char *where, const struct sr_tpl_var *schema, const json_t *obj)
{
	for (const struct sr_tpl_var *v = schema; v->name; v++) {
		json_t *x = json_object_get(obj, v->name);
		if (!x)
			print_error("%s: the schema has '%s', the data does not\n", where, v->name);
		assert_non_null(x);
		char sub[256];
		snprintf(sub, sizeof sub, "%s.%s", where, v->name);
		if (v->kind == SR_TPL_OBJECT)
			check_schema(sub, v->fields, x);
		if (v->kind == SR_TPL_LIST) {
			assert_true(json_is_array(x));
			size_t i;
			json_t *item;
			json_array_foreach(x, i, item)
			{
				if (v->fields)
					check_schema(sub, v->fields, item);
				else
					assert_true(json_is_string(item));
			}
		}
		if (v->kind == SR_TPL_FLAG)
			assert_true(json_is_boolean(x));
	}
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val)
	{
		bool known = false;
		for (const struct sr_tpl_var *v = schema; v->name && !known; v++)
			known = strcmp(v->name, key) == 0;
		if (!known)
			print_error("%s: the data has '%s', the schema does not\n", where, key);
		assert_true(known);
	}
}

static void test_schemas_match_data(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "sustained-5xx", 158); /* rolled back: every list has items */
	for (int k = 0; k < SR_REPORT_COUNT; k++) {
		json_t *j = report_json((enum sr_report_kind)k, pl.r, -1);
		check_schema(report_kind_name((enum sr_report_kind)k), report_schemas[k], j);
		json_decref(j);
	}
	play_end(&pl);
	play(&pl, "healthy", 585); /* success: gates, improvements, checklist */
	json_t *j = report_json(SR_REPORT_WIN, pl.r, -1);
	check_schema("win", report_schemas[SR_REPORT_WIN], j);
	json_decref(j);
	play_end(&pl);
}

/* ---- templates: a broken one fails the start
 * ------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *text = slurp(from, &len);
	assert_non_null(text);
	FILE *f = fopen(to, "wb");
	assert_non_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
	free(text);
}

static void test_broken_template_fails_load(void **state)
{
	(void)state;
	static const char *const names[] = {REPORT_GATE_TEMPLATE, REPORT_CARD_TEMPLATE,
	                                    REPORT_POSTMORTEM_TEMPLATE, REPORT_WIN_TEMPLATE};
	char dir[64], from[512], to[512], err[1024];
	tmpdir(dir, sizeof dir);
	for (int i = 0; i < 4; i++) {
		snprintf(from, sizeof from, CONFIG_DIR "/%s", names[i]);
		snprintf(to, sizeof to, "%s/%s", dir, names[i]);
		copy_file(from, to);
	}
	struct sr_report_templates t;
	assert_int_equal(report_templates_load(&t, dir, err, sizeof err), 0);
	report_templates_free(&t);

	/* A team's edit with a typo on its line 3. */
	snprintf(to, sizeof to, "%s/%s", dir, REPORT_CARD_TEMPLATE);
	FILE *f = fopen(to, "wb");
	fputs("# Phase {{card.phase}}\n\nP95 worst: {{p95_worst}}\n", f);
	fclose(f);
	assert_int_equal(report_templates_load(&t, dir, err, sizeof err), -1);
	char want[600];
	snprintf(want, sizeof want, "%s/%s:3:12: unknown variable 'p95_worst'", dir,
	         REPORT_CARD_TEMPLATE);
	if (strncmp(err, want, strlen(want)) != 0)
		print_error("got: %s\nwant: %s...\n", err, want);
	assert_memory_equal(err, want, strlen(want));

	unlink(to);
	assert_int_equal(report_templates_load(&t, dir, err, sizeof err), -1);
	assert_non_null(strstr(err, "PHASE_CARD_TEMPLATE.md: cannot open"));
	for (int k = 0; k < SR_REPORT_COUNT; k++)
		assert_null(t.t[k]);
	rmtree(dir);
}

/* ---- the watch: reports when they are due
 * ------------------------------------------------------------ */

static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static bool log_has(const struct sr_runner *r, const char *text)
{
	for (int i = 0; runner_log_entry(r, i); i++)
		if (strstr(runner_log_entry(r, i)->text, text))
			return true;
	return false;
}

static void watch_play(struct play *pl, struct sr_report_watch *w, int until)
{
	sr_ms step = policy->poll_ms;
	sr_ms t = pl->r->engine.evaluations == 0 ? pl->r->now : pl->r->now + step;
	for (; t <= at_min(pl, until); t += step) {
		runner_tick(pl->r, t);
		report_watch_tick(w, pl->r);
	}
}

static void test_watch_healthy_end_to_end(void **state)
{
	(void)state;
	struct play pl;
	struct sr_report_watch w;
	char dir[64];
	tmpdir(dir, sizeof dir);
	play_start(&pl, "healthy");
	report_watch_init(&w, &tpl, dir);
	watch_play(&pl, &w, 600);
	static const char *const files[] = {
	    "gate-1-T+90.md",          "gate-1-T+90.json",          "gate-2-T+211.md",
	    "gate-2-T+211.json",       "gate-3-T+452.md",           "gate-3-T+452.json",
	    "phase-card-5pct-T+91.md", "phase-card-25pct-T+212.md", "phase-card-50pct-T+453.md",
	    "win-note-T+580.md",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (!has_file(dir, files[i]))
			print_error("%s was not written\n", files[i]);
		assert_true(has_file(dir, files[i]));
	}
	assert_int_equal(count_files(dir, "gate-"), 6);
	assert_int_equal(count_files(dir, "phase-card-"), 6);
	assert_int_equal(count_files(dir, "postmortem-"), 0);
	assert_int_equal(w.written, 7);
	assert_true(log_has(pl.r, "Gate 1 report written: gate-1-T+90.md (GO)"));
	assert_true(log_has(pl.r, "win note written: win-note-T+580.md"));
	rmtree(dir);
	play_end(&pl);
}

static void test_watch_rollback_postmortem(void **state)
{
	(void)state;
	struct play pl;
	struct sr_report_watch w;
	char dir[64];
	tmpdir(dir, sizeof dir);
	play_start(&pl, "sustained-5xx");
	report_watch_init(&w, &tpl, dir);
	watch_play(&pl, &w, 200);
	assert_true(has_file(dir, "postmortem-T+158.md"));
	assert_int_equal(count_files(dir, "postmortem-"), 1);
	assert_int_equal(count_files(dir, "win-note-"), 0);
	assert_true(log_has(pl.r, "postmortem placeholder created: postmortem-T+158.md; postmortem "
	                          "due T+3038 (Fri 10:38)"));
	/* A console restarted after the rollback does not write it again. */
	struct sr_report_watch w2;
	report_watch_init(&w2, &tpl, dir);
	assert_int_equal(report_watch_tick(&w2, pl.r), 0);
	assert_int_equal(report_watch_tick(&w2, pl.r), 0);
	rmtree(dir);
	play_end(&pl);
}

static void test_write_errors(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "healthy", 90);
	char path[1024], err[512];
	assert_int_equal(report_write(&tpl, SR_REPORT_GATE, pl.r, -1, "/nonexistent/dir", path,
	                              sizeof path, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "/nonexistent/dir/gate-1-T+90.md: No such file or directory"));
	assert_string_equal(report_decision_word(pl.r), "GO");
	assert_int_equal(report_gate_index(pl.r, -1), 0);
	assert_int_equal(report_gate_index(pl.r, 2), 2);
	play_end(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gate_report_healthy_gate1),
	    cmocka_unit_test(test_gate_report_stale_data),
	    cmocka_unit_test(test_gate_report_rollback),
	    cmocka_unit_test(test_phase_card_step_up),
	    cmocka_unit_test(test_phase_card_anomalies),
	    cmocka_unit_test(test_postmortem_placeholder),
	    cmocka_unit_test(test_postmortem_decision_before_manual_rollback),
	    cmocka_unit_test(test_win_note),
	    cmocka_unit_test(test_win_note_improvements),
	    cmocka_unit_test(test_top_anomalies_ranked),
	    cmocka_unit_test(test_status_tile),
	    cmocka_unit_test(test_outside_text_escaped),
	    cmocka_unit_test(test_schemas_match_data),
	    cmocka_unit_test(test_broken_template_fails_load),
	    cmocka_unit_test(test_watch_healthy_end_to_end),
	    cmocka_unit_test(test_watch_rollback_postmortem),
	    cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
