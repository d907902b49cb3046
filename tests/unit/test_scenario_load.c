/* test_scenario_load.c - the scenario loader: a valid scenario resolves
 * every id against the policy, and a wrong id or a bad t0 is refused with
 * file:line:column and the key.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shiproom/scenario.h"

#define SHIPPED SR_DATADIR "/config/shiproom.json"

struct fixture {
	struct sr_policy policy;
	struct sr_scenario sc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct sr_policy_error err;
	if (!f || policy_load_file(&f->policy, SHIPPED, &err) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Line numbers below are the comments' numbers. */
static const char valid[] =
    "{\n"                                                 /* 1 */
    "  \"name\": \"unit\",\n"                             /* 2 */
    "  \"description\": \"a test scenario\",\n"           /* 3 */
    "  \"t0\": \"2025-10-08T08:00\",\n"                   /* 4 */
    "  \"seed\": 42,\n"                                   /* 5 */
    "  \"traffic\": {\"search\": 40, \"payments\": 6},\n" /* 6 */
    "  \"effects\": [\n"                                  /* 7 */
    "    {\"from_min\": 220, \"to_min\": 600, \"kpi\": \"p95_latency\", \"journey\": "
    "\"search\", \"scale\": 1.4},\n" /* 8 */
    "    {\"from_min\": 300, \"to_min\": 330, \"kpi\": \"error_rate_5xx\", \"cohort\": "
    "\"both\", \"set\": 0.9},\n"                                                         /* 9 */
    "    {\"from_min\": 100, \"to_min\": 140, \"source\": \"freeze\"},\n"                /* 10 */
    "    {\"from_min\": 150, \"to_min\": 160, \"source\": \"error\", \"note\": \"x\"}\n" /* 11 */
    "  ],\n"                                                                             /* 12 */
    "  \"script\": [\n"                                                                  /* 13 */
    "    {\"at_min\": -120, \"actor\": \"dri\", \"action\": \"tick\", \"checklist\": "
    "\"preflight\", \"item\": \"roster_posted\"},\n" /* 14 */
    "    {\"at_min\": 0, \"actor\": \"dri\", \"action\": \"promote\", \"weight\": 5, "
    "\"retry_until_min\": 30},\n"                                               /* 15 */
    "    {\"at_min\": 90, \"actor\": \"approver\", \"action\": \"approve\"},\n" /* 16 */
    "    {\"at_min\": 300, \"actor\": \"dri\", \"action\": \"hold\", \"reason\": \"looking\"}\n"
    "  ],\n"            /* 18 */
    "  \"expect\": [\n" /* 19 */
    "    {\"at_min\": 95, \"decision\": \"GO\", \"state\": \"gate_pending\", \"weight\": 5},\n"
    "    {\"at_min\": 305, \"decision\": \"ROLLBACK\", \"trigger\": \"p95_over_160\"}\n"
    "  ]\n"
    "}\n";

static void test_valid(void **state)
{
	struct fixture *f = *state;
	struct sr_scenario *s = &f->sc;
	const struct sr_policy *p = &f->policy;
	struct sr_policy_error err;
	int r = scenario_load_buffer(s, p, valid, sizeof valid - 1, "unit.json", &err);
	if (r)
		fail_msg("%s:%d:%d: %s: %s", err.file, err.line, err.column, err.key, err.msg);

	assert_string_equal(s->name, "unit");
	assert_string_equal(s->description, "a test scenario");
	assert_string_equal(s->t0_text, "2025-10-08T08:00");
	assert_int_equal(s->t0, 1759910400000LL); /* the policy's calendar is UTC+00:00 */
	assert_int_equal(s->seed, 42);
	assert_int_equal(s->start_min, -130);
	assert_int_equal(s->end_min, 600);
	assert_true(s->rps[policy_journey_index(p, "search")] == 40);
	assert_true(s->rps[policy_journey_index(p, "payments")] == 6);
	assert_true(s->rps[policy_journey_index(p, "application_start")] == 20);

	assert_int_equal(s->neffects, 4);
	assert_int_equal(s->effects[0].op, SR_FX_SCALE);
	assert_int_equal(s->effects[0].kpi, policy_kpi_index(p, "p95_latency"));
	assert_int_equal(s->effects[0].journey, policy_journey_index(p, "search"));
	assert_int_equal(s->effects[0].cohort, SR_COHORT_CANARY);
	assert_true(s->effects[0].amount == 1.4);
	assert_int_equal(s->effects[0].from_min, 220);
	assert_int_equal(s->effects[0].to_min, 600);
	assert_int_equal(s->effects[1].op, SR_FX_SET);
	assert_int_equal(s->effects[1].journey, -1);
	assert_int_equal(s->effects[1].cohort, SR_COHORT_BOTH);
	assert_true(s->effects[1].amount == 0.9);
	assert_int_equal(s->effects[2].op, SR_FX_SOURCE_FREEZE);
	assert_int_equal(s->effects[2].kpi, -1);
	assert_int_equal(s->effects[3].op, SR_FX_SOURCE_ERROR);

	assert_int_equal(s->nscript, 4);
	assert_int_equal(s->script[0].action, SR_ACT_TICK);
	assert_string_equal(s->script[0].checklist, "preflight");
	assert_string_equal(s->script[0].item, "roster_posted");
	assert_int_equal(s->script[0].retry_until_min, -120);
	assert_int_equal(s->script[1].action, SR_ACT_PROMOTE);
	assert_int_equal(s->script[1].weight, 5);
	assert_int_equal(s->script[1].retry_until_min, 30);
	assert_string_equal(s->script[2].actor, "approver");
	assert_int_equal(s->script[2].action, SR_ACT_APPROVE);
	assert_string_equal(s->script[3].reason, "looking");

	assert_int_equal(s->nexpect, 2);
	assert_true(s->expect[0].has_verdict);
	assert_int_equal(s->expect[0].verdict, SR_GO);
	assert_string_equal(s->expect[0].state, "gate_pending");
	assert_int_equal(s->expect[0].weight, 5);
	assert_string_equal(s->expect[0].trigger, "");
	assert_int_equal(s->expect[1].verdict, SR_ROLLBACK);
	assert_string_equal(s->expect[1].trigger, "p95_over_160");
	assert_int_equal(s->expect[1].weight, -1);
	assert_string_equal(s->expect[1].state, "");
}

/* The valid scenario with `from` replaced by `to` must fail with this
 * key at this line:column, and a message containing msg. */
static void expect_error(void **state, const char *from, const char *to, const char *key, int line,
                         int col, const char *msg)
{
	struct fixture *f = *state;
	char text[sizeof valid + 256];
	const char *at = strstr(valid, from);
	if (!at)
		fail_msg("not in the fixture: %s", from);
	size_t pre = (size_t)(at - valid);
	int n = snprintf(text, sizeof text, "%.*s%s%s", (int)pre, valid, to, at + strlen(from));
	assert_true(n > 0 && (size_t)n < sizeof text);
	struct sr_policy_error err;
	assert_int_equal(scenario_load_buffer(&f->sc, &f->policy, text, (size_t)n, "s.json", &err),
	                 -1);
	if (strcmp(err.key, key) || err.line != line || err.column != col || !strstr(err.msg, msg))
		fail_msg("%s -> %s: got %s:%d:%d: %s: %s", from, to, err.file, err.line, err.column,
		         err.key, err.msg);
	assert_string_equal(err.file, "s.json");
}

static void test_unknown_ids(void **state)
{
	expect_error(state, "\"kpi\": \"p95_latency\"", "\"kpi\": \"p95\"", "/effects/0/kpi", 8, 45,
	             "unknown KPI \"p95\"");
	expect_error(state, "\"journey\": \"search\"", "\"journey\": \"serch\"",
	             "/effects/0/journey", 8, 71, "unknown journey \"serch\"");
	expect_error(state, "\"journey\": \"search\"", "\"journey\": \"provider_dashboard\"",
	             "/effects/0/journey", 8, 71,
	             "KPI \"p95_latency\" is not measured on journey \"provider_dashboard\"");
	expect_error(state, "\"cohort\": \"both\"", "\"journey\": \"search\"", "/effects/1/journey",
	             9, 74, "KPI \"error_rate_5xx\" is global");
	expect_error(state, "{\"search\": 40", "{\"serch\": 40", "/traffic/serch", 6, 15,
	             "unknown journey \"serch\"");
	expect_error(state, "\"checklist\": \"preflight\"", "\"checklist\": \"pre\"",
	             "/script/0/checklist", 14, 69, "unknown checklist \"pre\"");
	expect_error(state, "\"item\": \"roster_posted\"", "\"item\": \"roster\"", "/script/0/item",
	             14, 90, "checklist \"preflight\" has no item \"roster\"");
	expect_error(state, "\"action\": \"approve\"", "\"action\": \"aprove\"", "/script/2/action",
	             16, 51, "unknown action \"aprove\" (expected one of: hold");
	expect_error(state, "\"trigger\": \"p95_over_160\"", "\"trigger\": \"p95\"",
	             "/expect/1/trigger", 21, 56, "unknown trigger \"p95\"");
	expect_error(state, "\"state\": \"gate_pending\"", "\"state\": \"pending\"",
	             "/expect/0/state", 20, 47,
	             "unknown state \"pending\" (expected one of: preflight");
	expect_error(state, "\"weight\": 5, \"retry", "\"weight\": 6, \"retry", "/script/1/weight",
	             15, 66, "no phase has weight 6");
	expect_error(state, "  \"name\": \"unit\",\n", "", "/name", 1, 1,
	             "missing required key \"name\"");
	expect_error(state, "\"seed\": 42", "\"sed\": 42", "/sed", 5, 3, "unknown key \"sed\"");
}

static void test_bad_t0(void **state)
{
	expect_error(state, "2025-10-08T08:00", "2025-13-08T08:00", "/t0", 4, 9,
	             "invalid t0 \"2025-13-08T08:00\": expected local time");
	expect_error(state, "2025-10-08T08:00", "2025-02-30T08:00", "/t0", 4, 9, "invalid t0");
	expect_error(state, "2025-10-08T08:00", "tomorrow", "/t0", 4, 9, "invalid t0");
	expect_error(state, "\"t0\": \"2025-10-08T08:00\"", "\"t0\": 20251008", "/t0", 4, 9,
	             "expected a string, got an integer");
	expect_error(state, "\"t0\": \"2025-10-08T08:00\",\n", "", "/t0", 1, 1,
	             "missing required key \"t0\"");
}

static void test_bad_shapes(void **state)
{
	expect_error(state, "\"scale\": 1.4", "\"scale\": 1.4, \"set\": 2", "/effects/0/set", 8, 95,
	             "exactly one of");
	expect_error(state, "\"scale\": 1.4", "\"cohort\": \"canary\"", "/effects/0/scale", 8, 5,
	             "missing \"scale\", \"add\" or \"set\"");
	expect_error(state, "\"scale\": 1.4", "\"scale\": -1", "/effects/0/scale", 8, 90,
	             "must be at least 0");
	expect_error(state, "\"source\": \"freeze\"",
	             "\"source\": \"freeze\", \"kpi\": \"p95_latency\"", "/effects/2/kpi", 10, 58,
	             "does not go with \"source\"");
	expect_error(state, "\"source\": \"freeze\"", "\"source\": \"melt\"", "/effects/2/source",
	             10, 48, "unknown source \"melt\" (expected one of: error, freeze)");
	expect_error(state, "\"cohort\": \"both\"", "\"cohort\": \"all\"", "/effects/1/cohort", 9,
	             73, "unknown cohort \"all\"");
	expect_error(state, "\"to_min\": 140", "\"to_min\": 100", "/effects/2/to_min", 10, 33,
	             "to_min (100) must be after from_min (100)");
	expect_error(state, "\"at_min\": 300, \"actor\"", "\"at_min\": 10, \"actor\"",
	             "/script/3/at_min", 17, 16, "time order: T+10 after T+90");
	expect_error(state, "\"at_min\": -120", "\"at_min\": -200", "/script/0/at_min", 14, 16,
	             "must be between -130 and 600");
	expect_error(state, "\"retry_until_min\": 30", "\"retry_until_min\": -5",
	             "/script/1/retry_until_min", 15, 88, "must be between 0 and");
	expect_error(state, "\"action\": \"approve\"", "\"action\": \"approve\", \"weight\": 25",
	             "/script/2/weight", 16, 62, "applies only to promote");
	expect_error(state, "\"action\": \"hold\"", "\"action\": \"hold\", \"item\": \"x\"",
	             "/script/3/item", 17, 55, "apply only to tick");
	expect_error(state, "\"decision\": \"ROLLBACK\", \"trigger\": \"p95_over_160\"",
	             "\"note\": \"nothing\"", "/expect/1", 21, 5, "needs at least one of");
	expect_error(state, "\"decision\": \"GO\"", "\"decision\": \"NO-GO\"", "/expect/0/decision",
	             20, 32,
	             "unknown decision \"NO-GO\" (expected one of: GO, HOLD, ROLLBACK, "
	             "ESCALATE)");
	expect_error(state, "\"seed\": 42", "\"seed\": -1", "/seed", 5, 11, "must be at least 0");
	expect_error(state, "\"seed\": 42", "\"end_min\": -200", "/end_min", 5, 14,
	             "end_min (-200) must be after start_min (-130)");
	expect_error(state, "{\"search\": 40", "{\"search\": -40", "/traffic/search", 6, 25,
	             "must be between 0 and");
}

static void test_path(void **state)
{
	(void)state;
	char buf[256];
	scenario_path(buf, sizeof buf, "/usr/share/shiproom/config/scenarios", "healthy");
	assert_string_equal(buf, "/usr/share/shiproom/config/scenarios/healthy.json");
	scenario_path(buf, sizeof buf, "cfg", "healthy.json");
	assert_string_equal(buf, "cfg/healthy.json");
	scenario_path(buf, sizeof buf, "cfg", "./mine.json");
	assert_string_equal(buf, "./mine.json");
	scenario_path(buf, sizeof buf, "", "x");
	assert_string_equal(buf, "./x.json");
	scenario_path(buf, 8, "cfg", "healthy");
	assert_string_equal(buf, "cfg/hea");
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct sr_policy_error err;
	assert_int_equal(scenario_load_file(&f->sc, &f->policy, "/nonexistent.json", &err), -1);
	assert_int_equal(err.line, 0);
	assert_true(strstr(err.msg, "cannot open") != NULL);
}

/* Every shipped scenario must load against the shipped policy. */
static void test_shipped_scenarios(void **state)
{
	struct fixture *f = *state;
	const char *dir = SR_DATADIR "/config/scenarios";
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s: the shipped scenarios must be there", dir);
	struct dirent *e;
	int n = 0, bad = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		char path[1024], msg[1024];
		struct sr_policy_error err;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		n++;
		if (scenario_load_file(&f->sc, &f->policy, path, &err) < 0) {
			/* Name every broken file, not just the first. */
			policy_error_format(&err, msg, sizeof msg);
			print_error("%s\n", msg);
			bad++;
		} else if (f->sc.name[0] == '\0') {
			print_error("%s: no name\n", path);
			bad++;
		}
	}
	closedir(d);
	print_message("%d shipped scenario(s), %d refused\n", n, bad);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_t0, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_shapes, setup, teardown),
	    cmocka_unit_test(test_path),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_scenarios, setup, teardown),
	};
	return cmocka_run_group_tests_name("scenario_load", tests, NULL, NULL);
}
