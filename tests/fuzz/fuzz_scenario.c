/* fuzz_scenario.c - libFuzzer target for the scenario loader.
 *
 * Scenarios are read against the shipped policy (loaded once); any bytes
 * must give either a scenario whose indexes all resolve into that policy,
 * or a well-formed error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/scenario.h"

static struct sr_policy policy;
static struct sr_scenario scenario;

static void load_policy_once(void)
{
	static int loaded;
	struct sr_policy_error err;
	if (loaded)
		return;
	if (policy_load_file(&policy, SR_DATADIR "/config/shiproom.json", &err) < 0) {
		fprintf(stderr, "fuzz_scenario: cannot load the policy: %s\n", err.msg);
		abort();
	}
	loaded = 1;
}

static void check_scenario(const struct sr_scenario *s, const struct sr_policy *p)
{
	if (s->neffects > SR_MAX_EFFECTS || s->nscript > SR_MAX_SCRIPT ||
	    s->nexpect > SR_MAX_EXPECT || s->end_min <= s->start_min)
		abort();
	for (int i = 0; i < s->neffects; i++) {
		const struct sr_effect *e = &s->effects[i];
		if (e->kpi < -1 || e->kpi >= p->nkpis || e->journey < -1 ||
		    e->journey >= p->njourneys || e->to_min <= e->from_min)
			abort();
	}
	for (int i = 0; i < s->nscript; i++) {
		const struct sr_script_step *st = &s->script[i];
		if ((unsigned)st->action >= SR_ACT_COUNT || st->retry_until_min < st->at_min)
			abort();
		if (st->action == SR_ACT_TICK && !policy_checklist(p, st->checklist))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_policy_error err;
	load_policy_once();
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (scenario_load_buffer(&scenario, &policy, buf, size, "fuzz.json", &err) == 0)
		check_scenario(&scenario, &policy);
	else if (err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof err.msg) == NULL)
		abort();
	free(buf);
	return 0;
}
