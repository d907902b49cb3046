/* fuzz_replay.c - libFuzzer target for the replay reader.
 *
 * `shiproom replay FILE` plays a journal from anywhere (a postmortem
 * attachment, a copied state dir). The input is the whole file, read
 * through a memfd by runner_replay_load (the feed: events, the start
 * record's T-0, recorded polls), then played to its middle and its end,
 * rewound and played again, as the replay console does. Besides "no
 * crash": the rollout keeps its invariants and every log line is a
 * terminated, control-free text. A journal spanning more than two days is
 * loaded but not played: the play is event by event, and the fuzzer's
 * time is better spent on the reader.
 */
#define _GNU_SOURCE
#include "shiproom/runner.h"

#include "fuzz_util.h"

static const struct sr_policy *policy;

static void check(const struct sr_runner *r)
{
	if (r->engine.ro.phase < -1 || r->engine.ro.phase >= policy->nphases)
		abort();
	if (r->engine.ro.weight < 0 || r->engine.ro.weight > 100)
		abort();
	for (int i = 0; runner_log_entry(r, i); i++) {
		const char *t = runner_log_entry(r, i)->text;
		fuzz_check_msg(t, sizeof runner_log_entry(r, i)->text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	policy = fuzz_policy();
	char path[64], err[300];
	int fd = fuzz_memfd(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	struct sr_runner *r = calloc(1, sizeof *r);
	if (!r) {
		close(fd);
		return 0;
	}
	runner_init(r, policy, NULL, NULL, NULL, true, "fuzz");
	sr_ms first = 0, last = 0;
	err[0] = '\0';
	if (runner_replay_load(r, path, &first, &last, err, sizeof err) >= 0) {
		if (last >= first && last - first <= 2 * 24 * SR_MS_PER_H) {
			runner_tick(r, first + (last - first) / 2);
			check(r);
			runner_tick(r, last);
			check(r);
			runner_replay_rewind(r);
			runner_tick(r, last);
			check(r);
		}
	} else if (strnlen(err, sizeof err) == sizeof err) {
		abort();
	}
	runner_close(r);
	free(r);
	close(fd);
	return 0;
}
