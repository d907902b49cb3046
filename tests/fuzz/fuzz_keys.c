/* fuzz_keys.c - libFuzzer target for the console's key decoding.
 *
 * Every keystroke goes through keys_handle: views, lists, the filter, the
 * ':' command line (typed text parsed: view names, actions, T+ times),
 * the reason prompt and the confirmation dialogs, and from there the
 * dispatcher. The input is a key sequence, one byte a key; bytes 0xF0 and
 * up are the special keys (arrows, pages, home, end, a paste). A headless console
 * on the simulator (healthy, at its start) with a 120x40 layout, no
 * terminal: drawing is a no-op, the decoding and its state are real.
 * Besides "no crash" (ASan/UBSan): the views and selections stay within
 * their ranges and the rollout keeps its invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/console.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/sim.h"
#include "shiproom/tui.h"

#include "fuzz_util.h"

static const struct sr_policy *policy;
static struct sr_scenario *sc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sc) {
		struct sr_policy_error err;
		policy = fuzz_policy();
		sc = calloc(1, sizeof *sc);
		if (!sc || scenario_load_file(
		               sc, policy, SR_DATADIR "/config/scenarios/healthy.json", &err) < 0)
			abort();
	}
	if (size > 512)
		return 0;
	struct sr_sim *sim = sim_create(policy, sc);
	struct sr_runner *r = calloc(1, sizeof *r);
	struct tui *t = calloc(1, sizeof *t);
	if (!sim || !r || !t)
		abort();
	runner_init(r, policy, sc, sim_source(sim), sim_edge(sim), false, "fuzz");
	r->sim = sim;
	struct sr_console_opts o = {.runner = r};
	t->o = &o;
	t->r = r;
	t->p = policy;
	t->detail_journey = -1;
	t->back = VIEW_MAIN;
	struct layout_need need = {.njourneys = policy->njourneys, .workflow = true};
	need.ngroups = policy->ngroups < LAYOUT_MAX_GROUPS ? policy->ngroups : LAYOUT_MAX_GROUPS;
	for (int g = 0; g < need.ngroups; g++) {
		need.group_lines[g] = 1;
		for (int k = 0; k < policy->nkpis; k++)
			need.group_lines[g] += strcmp(policy->kpis[k].group,
			                              policy->groups[g].id) == 0;
	}
	layout_compute(&t->lay, 120, 40, &need);
	for (size_t i = 0; i < size && !t->quit; i++) {
		int key = data[i];
		if (key >= 0xF0) {
			key = TK_UP + (key - 0xF0);
			if (key == TK_RESIZE || key > TK_PASTE)
				continue; /* a resize asks the terminal, which is not there */
		}
		keys_handle(t, key);
		if ((int)t->view < 0 || t->detail_journey >= policy->njourneys ||
		    r->engine.ro.weight < 0 || r->engine.ro.weight > 100)
			abort();
	}
	runner_close(r);
	free(t);
	free(r);
	sim_destroy(sim);
	return 0;
}
