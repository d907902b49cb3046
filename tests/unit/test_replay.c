/* test_replay.c - a replay shows what the live console showed.
 *
 * Every config/scenarios/NAME.json is played live on the simulator with a
 * journal in a fresh state dir, as the console plays it; at every gate's
 * time, every scripted action's time (and a minute after it, when a
 * breach timer runs) and every documented expectation, the headless view
 * (status_print_text: the phase, the decision and each of its reasons,
 * every cell's status, canary, control, limit, samples, age, breach
 * timer and reason, every trigger's state and reason, gates, checklists)
 * is rendered. The journal is then replayed (`shiproom replay`'s
 * runner_replay_load) and rendered at the same moments: the two must be
 * the same text. The log at the end is left out (a live console's log
 * also has its own process's notices and refusals, which are not
 * journaled; the screen tests live_replay_* compare the journaled rows,
 * word for word) and so is the "simulator scenario" line, which a replay
 * does not know.
 *
 * Before the per-poll `obs` record a replay took values from the
 * 10-minute snapshots: search P95 92 ms and GREEN at T+131 where the DRI
 * saw 171 ms RED. Also here: a replay stops at the journal's last event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/journal.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"
#include "shiproom/status.h"

#include "engine_fixture.h"

#define SCEN_DIR SR_DATADIR "/config/scenarios"
#define MAX_POINTS 96

static const struct sr_policy *policy;

static int setup(void **state)
{
	(void)state;
	policy = fx_shipped_policy();
	return 0;
}

/* The view as text, without the parts that differ by design. */
static char *render(const struct sr_runner *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	status_print_text(f, r);
	fclose(f);
	char *log = strstr(buf, "\nlog (newest last):");
	if (log)
		*log = '\0';
	char *sim = strstr(buf, "simulator scenario:");
	if (sim) {
		char *eol = strchr(sim, '\n');
		memmove(sim, eol + 1, strlen(eol + 1) + 1);
	}
	return buf;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The moments to compare: gates, actions (and a minute later), expects. */
static int points_of(const struct sr_scenario *sc, int *pt)
{
	int n = 0;
	for (int g = 0; g < policy->ngates && n < MAX_POINTS; g++)
		pt[n++] = policy->gates[g].at_min;
	for (int i = 0; i < sc->nscript && n + 1 < MAX_POINTS; i++) {
		pt[n++] = sc->script[i].at_min;
		pt[n++] = sc->script[i].at_min + 1;
	}
	for (int i = 0; i < sc->nexpect && n < MAX_POINTS; i++)
		pt[n++] = sc->expect[i].at_min;
	qsort(pt, (size_t)n, sizeof pt[0], cmp_int);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (pt[i] >= sc->start_min && pt[i] <= sc->end_min &&
		    (m == 0 || pt[i] != pt[m - 1]))
			pt[m++] = pt[i];
	return m;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[1024];
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Returns the number of moments whose views differ. */
static int compare_scenario(const char *path, int *ncompared)
{
	struct sr_scenario *sc = calloc(1, sizeof *sc);
	struct sr_runner *live = calloc(1, sizeof *live), *rep = calloc(1, sizeof *rep);
	struct sr_policy_error perr;
	char err[512], dir[] = "/tmp/sr-replay-XXXXXX";
	assert_non_null(sc);
	assert_non_null(live);
	assert_non_null(rep);
	assert_int_equal(scenario_load_file(sc, policy, path, &perr), 0);
	assert_non_null(mkdtemp(dir));
	struct sr_journal *j = journal_open(dir, NULL, err, sizeof err);
	assert_non_null(j);
	struct sr_sim *sim = sim_create(policy, sc);
	assert_non_null(sim);
	runner_init(live, policy, sc, sim_source(sim), sim_edge(sim), false, "test");
	live->sim = sim;
	assert_true(runner_set_journal(live, j, false) >= 0);
	assert_int_equal(runner_journal_start(live, sc->t0, err, sizeof err), 0);

	int pt[MAX_POINTS], npt = points_of(sc, pt);
	char *seen[MAX_POINTS];
	for (int i = 0; i < npt; i++) {
		runner_advance(live, sc->t0 + (sr_ms)pt[i] * SR_MS_PER_MIN);
		seen[i] = render(live);
	}
	journal_close(j);

	char jpath[1100];
	snprintf(jpath, sizeof jpath, "%s/%s", dir, JOURNAL_FILE);
	runner_init(rep, policy, NULL, NULL, NULL, true, "test");
	sr_ms first, last;
	assert_true(runner_replay_load(rep, jpath, &first, &last, err, sizeof err) > 0);
	int bad = 0;
	for (int i = 0; i < npt; i++) {
		runner_tick(rep, sc->t0 + (sr_ms)pt[i] * SR_MS_PER_MIN);
		char *got = render(rep);
		if (strcmp(got, seen[i]) != 0) {
			if (bad == 0)
				print_error("%s at T%+d: the replay differs.\n--- live:\n%s\n--- "
				            "replay:\n%s\n",
				            sc->name, pt[i], seen[i], got);
			bad++;
		}
		free(got);
		free(seen[i]);
	}
	/* Past the end: the clock stops at the journal's last event. */
	runner_tick(rep, last + 60 * SR_MS_PER_MIN);
	assert_true(runner_replay_ended(rep));
	assert_int_equal(rep->now, last);

	*ncompared += npt;
	runner_close(rep);
	runner_close(live);
	sim_destroy(sim);
	rm_dir(dir);
	free(rep);
	free(live);
	free(sc);
	return bad;
}

static void test_every_scenario_replays_as_seen(void **state)
{
	(void)state;
	DIR *d = opendir(SCEN_DIR);
	assert_non_null(d);
	struct dirent *de;
	int bad = 0, nscen = 0, npoints = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", SCEN_DIR, de->d_name);
		int b = compare_scenario(path, &npoints);
		if (b)
			print_error("%s: %d moments differ\n", de->d_name, b);
		bad += b;
		nscen++;
	}
	closedir(d);
	assert_true(nscen >= 5);
	assert_true(npoints > nscen * 5);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_scenario_replays_as_seen),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
