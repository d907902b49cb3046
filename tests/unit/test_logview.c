/* test_logview.c - the event log view's folding and filter (src/tui/log.c):
 * runs of changes to GREEN within a minute become one row, never RED,
 * YELLOW or data-gap changes; "first data" only when no check of the run
 * had data before; the '/' filter matches text, actor and kind without
 * case. Synthetic logs for the rules, and the healthy scenario played for
 * real for the ~40 first-data lines at T+0 that motivated it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"
#include "shiproom/tui.h"

#define T0 1760000400000LL

static struct sr_runner *fresh(void)
{
	struct sr_runner *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->engine.ro.t0 = T0;
	return r;
}

/* A log line at T+sec seconds. */
static void at(struct sr_runner *r, int sec, enum sr_log_kind kind, enum sr_status sev,
               const char *text)
{
	r->now = T0 + (sr_ms)sec * SR_MS_PER_S;
	runner_log(r, kind, sev, "", "%s", text);
}

/* A status change as the engine words it: "LABEL STATUS: reason". */
static void status(struct sr_runner *r, int sec, const char *label, enum sr_status st)
{
	char text[SR_REASON_LEN];
	snprintf(text, sizeof text, "%s %s: because", label, sr_status_name(st));
	at(r, sec, SR_LOG_STATUS, st, text);
}

static char *row_text(const struct sr_runner *r, const struct logview_row *row)
{
	static char buf[1024];
	logview_row_text(r, row, buf, sizeof buf);
	return buf;
}

static void test_first_data_folds(void **state)
{
	(void)state;
	struct sr_runner *r = fresh();
	char label[32];
	/* Pre-flight: every check NODATA (never folded), then at T+0 the
	 * first data turns them GREEN, a decision in the middle. */
	for (int i = 0; i < 6; i++) {
		snprintf(label, sizeof label, "check%d", i);
		status(r, -600, label, SR_NODATA);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(label, sizeof label, "check%d", i);
		status(r, 10 + i, label, SR_GREEN);
	}
	at(r, 20, SR_LOG_DECISION, SR_YELLOW, "HOLD: check4 NODATA");
	status(r, 30, "check4", SR_GREEN);
	status(r, 40, "check5", SR_GREEN);

	struct logview_row rows[32];
	int n = logview_rows(r, "", rows, 32);
	/* One row for the six GREEN, the decision, six NODATA rows. */
	assert_int_equal(n, 1 + 1 + 6);
	assert_int_equal(rows[0].tag, LV_FIRST_DATA);
	assert_int_equal(rows[0].count, 6);
	assert_int_equal(rows[0].entry, 0);  /* at the place of the newest */
	assert_int_equal(rows[0].oldest, 6); /* check0, before the decision */
	assert_string_equal(row_text(r, &rows[0]),
	                    "6 checks GREEN (first data): check0, check1, check2, check3, "
	                    "check4, check5");
	assert_int_equal(rows[1].tag, LV_PLAIN);
	assert_string_equal(runner_log_entry(r, rows[1].entry)->text, "HOLD: check4 NODATA");
	for (int i = 2; i < n; i++) {
		assert_int_equal(rows[i].tag, LV_PLAIN);
		assert_int_equal(runner_log_entry(r, rows[i].entry)->severity, SR_NODATA);
	}
	free(r);
}

static void test_never_folds_bad_news(void **state)
{
	(void)state;
	struct sr_runner *r = fresh();
	/* RED and YELLOW changes in the same minute stay one row each, and a
	 * RED between GREEN changes splits the run. */
	status(r, 60, "a", SR_RED);
	status(r, 61, "b", SR_RED);
	status(r, 62, "c", SR_RED);
	status(r, 63, "d", SR_YELLOW);
	status(r, 64, "e", SR_YELLOW);
	status(r, 65, "f", SR_STALE);
	status(r, 66, "g", SR_STALE);
	status(r, 67, "h", SR_STALE);
	struct logview_row rows[32];
	int n = logview_rows(r, "", rows, 32);
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++) {
		assert_int_equal(rows[i].tag, LV_PLAIN);
		assert_int_equal(rows[i].count, 1);
		assert_int_equal(rows[i].entry, i);
	}
	free(r);

	r = fresh();
	status(r, 60, "a", SR_GREEN);
	status(r, 61, "b", SR_GREEN);
	status(r, 62, "x", SR_RED);
	status(r, 63, "c", SR_GREEN);
	status(r, 64, "d", SR_GREEN);
	n = logview_rows(r, "", rows, 32);
	/* Two runs of two: too short to fold, so five rows, in order. */
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++)
		assert_int_equal(rows[i].entry, i);
	free(r);
}

static void test_minutes_and_reasons(void **state)
{
	(void)state;
	struct sr_runner *r = fresh();
	/* Three checks had data, lost it (STALE) and come back at T+5: that
	 * is "data back", not "first data". At T+6 three more GREEN. */
	status(r, 60, "a", SR_GREEN);
	status(r, 61, "b", SR_GREEN);
	status(r, 62, "c", SR_YELLOW);
	status(r, 120, "a", SR_STALE);
	status(r, 121, "b", SR_STALE);
	status(r, 122, "c", SR_STALE);
	status(r, 300, "a", SR_GREEN);
	status(r, 301, "b", SR_GREEN);
	status(r, 302, "c", SR_GREEN);
	status(r, 360, "p", SR_GREEN);
	status(r, 370, "q", SR_GREEN);
	status(r, 380, "a", SR_YELLOW);
	status(r, 390, "a", SR_GREEN);
	struct logview_row rows[32];
	int n = logview_rows(r, "", rows, 32);
	/* T+6: p, q, a(YELLOW) a(GREEN): the YELLOW splits p,q from a; then
	 * the T+5 run of three; then the older ones one by one. */
	assert_true(n >= 5);
	assert_int_equal(rows[0].tag, LV_PLAIN); /* a GREEN at T+6 */
	assert_int_equal(rows[1].tag, LV_PLAIN); /* a YELLOW */
	assert_int_equal(runner_log_entry(r, rows[1].entry)->severity, SR_YELLOW);
	assert_int_equal(rows[2].tag, LV_PLAIN); /* q */
	assert_int_equal(rows[3].tag, LV_PLAIN); /* p */
	assert_int_equal(rows[4].tag, LV_DATA_BACK);
	assert_int_equal(rows[4].count, 3);
	assert_string_equal(row_text(r, &rows[4]), "3 checks GREEN (data back): a, b, c");
	free(r);

	/* GREEN again after YELLOW, three of them in a minute: just GREEN. */
	r = fresh();
	status(r, 0, "a", SR_YELLOW);
	status(r, 1, "b", SR_YELLOW);
	status(r, 2, "c", SR_YELLOW);
	status(r, 70, "a", SR_GREEN);
	status(r, 71, "b", SR_GREEN);
	status(r, 72, "c", SR_GREEN);
	n = logview_rows(r, "", rows, 32);
	assert_int_equal(n, 4);
	assert_int_equal(rows[0].tag, LV_GREEN);
	assert_string_equal(row_text(r, &rows[0]), "3 checks GREEN: a, b, c");
	free(r);
}

static void test_max_rows(void **state)
{
	(void)state;
	struct sr_runner *r = fresh();
	char label[16];
	for (int i = 0; i < 5; i++) {
		snprintf(label, sizeof label, "old%d", i);
		at(r, i, SR_LOG_INFO, SR_GREEN, label);
	}
	for (int i = 0; i < 30; i++) {
		snprintf(label, sizeof label, "c%d", i);
		status(r, 100, label, SR_GREEN);
	}
	at(r, 101, SR_LOG_ACTION, SR_GREEN, "newest");
	struct logview_row rows[3];
	int n = logview_rows(r, "", rows, 3);
	assert_int_equal(n, 3);
	assert_string_equal(runner_log_entry(r, rows[0].entry)->text, "newest");
	assert_int_equal(rows[1].count, 30);
	assert_string_equal(runner_log_entry(r, rows[2].entry)->text, "old4");
	assert_int_equal(logview_rows(r, "", rows, 0), 0);
	free(r);
}

static void test_filter(void **state)
{
	(void)state;
	struct sr_runner *r = fresh();
	status(r, 0, "search P95", SR_GREEN);
	status(r, 1, "search P99", SR_GREEN);
	status(r, 2, "payments P95", SR_GREEN);
	r->now = T0 + 3000;
	runner_log(r, SR_LOG_ACTION, SR_GREEN, "alice", "promote to 25%%");
	struct logview_row rows[16];
	/* Substring, any case; a filter shows every match, unfolded. */
	int n = logview_rows(r, "SEARCH", rows, 16);
	assert_int_equal(n, 2);
	assert_string_equal(runner_log_entry(r, rows[0].entry)->text, "search P99 GREEN: because");
	assert_int_equal(rows[0].tag, LV_PLAIN);
	/* The actor and the kind match too. */
	assert_int_equal(logview_rows(r, "Alice", rows, 16), 1);
	assert_int_equal(logview_rows(r, "action", rows, 16), 1);
	assert_int_equal(logview_rows(r, "p95", rows, 16), 2);
	assert_int_equal(logview_rows(r, "nothing like it", rows, 16), 0);
	/* Empty: every row, and the three GREEN folded. */
	n = logview_rows(r, "", rows, 16);
	assert_int_equal(n, 2);
	assert_int_equal(rows[1].tag, LV_FIRST_DATA);

	assert_true(tui_match("Scholarship Search", "search"));
	assert_true(tui_match("abc", ""));
	assert_false(tui_match("", "a"));
	assert_false(tui_match("sear", "search"));
	free(r);
}

/* The healthy scenario for real: the first data turns ~40 checks GREEN at
 * T+0/T+1, which the view folds into a couple of rows; every entry is
 * accounted for exactly once. */
static void test_healthy_first_data(void **state)
{
	(void)state;
	struct sr_policy *p = calloc(1, sizeof *p);
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_runner *r = calloc(1, sizeof *r);
	struct sr_policy_error err;
	assert_non_null(p);
	assert_non_null(sc);
	assert_non_null(r);
	assert_int_equal(policy_load_file(p, SR_DATADIR "/config/shiproom.json", &err), 0);
	assert_int_equal(
	    scenario_load_file(sc, p, SR_DATADIR "/config/scenarios/healthy.json", &err), 0);
	struct sr_sim *sim = sim_create(p, sc);
	assert_non_null(sim);
	runner_init(r, p, sc, sim_source(sim), sim_edge(sim), false, "test");
	r->sim = sim;
	runner_advance(r, sc->t0 + 30 * SR_MS_PER_MIN);

	static struct logview_row rows[SR_LOG_LEN];
	int n = logview_rows(r, "", rows, SR_LOG_LEN);
	int first_rows = 0, folded = 0, covered = 0, green_changes = 0;
	for (int i = 0; i < r->nlog && i < SR_LOG_LEN; i++) {
		const struct sr_log_entry *le = runner_log_entry(r, i);
		green_changes += le->kind == SR_LOG_STATUS && le->severity == SR_GREEN;
	}
	for (int i = 0; i < n; i++) {
		covered += rows[i].count;
		if (i > 0)
			assert_true(rows[i].entry > rows[i - 1].entry); /* newest first */
		if (rows[i].tag == LV_FIRST_DATA) {
			first_rows++;
			folded += rows[i].count;
			assert_non_null(
			    strstr(row_text(r, &rows[i]), "checks GREEN (first data): "));
		}
	}
	assert_int_equal(covered, r->nlog < SR_LOG_LEN ? r->nlog : SR_LOG_LEN);
	/* Every cell's first GREEN is in a folded row (39 cells), in at most
	 * a few rows (one per minute with the decision not splitting). */
	assert_int_equal(folded, p->ncells);
	assert_int_equal(folded, green_changes);
	assert_true(first_rows >= 1 && first_rows <= 3);
	assert_true(n < r->nlog - p->ncells + 4);

	sim_destroy(sim);
	free(r);
	free(sc);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_data_folds),
	    cmocka_unit_test(test_never_folds_bad_news),
	    cmocka_unit_test(test_minutes_and_reasons),
	    cmocka_unit_test(test_max_rows),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_healthy_first_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
