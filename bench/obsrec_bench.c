/* obsrec_bench.c - what the per-poll observation record costs a day.
 *
 * A day of the directive's policy at its 15 s poll (5760 polls), at 6
 * journeys (the shipped policy, 39 cells) and at 50 (268 cells), each
 * poll encoded as the journal's `obs` record against the one before
 * (a keyframe every 10 minutes, as the runner writes them) and measured
 * as the whole journal line (seq, at, wall, type, actor added as
 * journal_append does). Two kinds of data:
 *
 *   noisy   every value moves every poll (1% Gaussian noise, as the
 *           simulator and a real 1m-window Prometheus query do); samples
 *           move every poll too
 *   steady  values move in a tenth of the polls (counters, ratios that
 *           settle), samples never
 *
 * and the time to decode the day again (the replay's load, without the
 * engine: runner_replay_load then re-evaluates each poll; eval_bench has
 * that cost). Prints one line per case. Nothing asserts.
 *
 *   cc -std=c17 -O2 -Iinclude bench/obsrec_bench.c build/libshiproom.a \
 *      $(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o build/obsrec_bench
 *   build/obsrec_bench config/shiproom.json
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "shiproom/obsrec.h"
#include "shiproom/policy.h"

#define JOURNEYS 50
#include "bench_policy.h"

#define POLLS (24 * 60 * 4)
#define POLL_MS (15 * SR_MS_PER_S)
#define T0 1760000400000LL

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double gauss(void)
{
	double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
	return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static struct sr_snapshot cur, prev, dec;

static void one_case(const char *label, int ncells, bool noisy)
{
	srand(7);
	double base[SR_MAX_CELLS];
	for (int c = 0; c < ncells; c++)
		base[c] = 50 + 100.0 * rand() / RAND_MAX;
	snapshot_clear(&cur, ncells);
	char **lines = calloc(POLLS, sizeof *lines);
	long long bytes = 0;
	sr_ms key_at = 0;
	for (int i = 0; i < POLLS; i++) {
		sr_ms at = T0 + (sr_ms)i * POLL_MS;
		prev = cur;
		for (int c = 0; c < ncells; c++) {
			struct sr_obs *o[2] = {&cur.canary[c], &cur.control[c]};
			for (int s = 0; s < 2; s++) {
				o[s]->kind = SR_OBS_OK;
				o[s]->at = at;
				if (i == 0 || noisy || rand() % 10 == 0)
					o[s]->value = obsrec_round(base[c] * (1 + 0.01 * gauss()));
				if (i == 0 || noisy)
					o[s]->samples = noisy ? 900 + rand() % 200 : 1000;
			}
		}
		bool key = i == 0 || at - key_at >= OBSREC_KEYFRAME_MS;
		if (key)
			key_at = at;
		json_t *f = obsrec_encode(&cur, i ? &prev : NULL, at, 4242, key);
		json_t *line = json_pack("{s:I,s:I,s:I,s:s,s:s}", "seq", (json_int_t)i + 1000000,
		                         "at", (json_int_t)at, "wall", (json_int_t)at, "type",
		                         "obs", "actor", "");
		json_object_update(line, f);
		lines[i] = json_dumps(line, JSON_COMPACT);
		bytes += (long long)strlen(lines[i]) + 1;
		json_decref(f);
		json_decref(line);
	}
	double t = now_s();
	snapshot_clear(&dec, ncells);
	char why[200];
	bool isnull;
	for (int i = 0; i < POLLS; i++) {
		json_t *o = json_loads(lines[i], 0, NULL);
		if (obsrec_decode(o, T0 + (sr_ms)i * POLL_MS, ncells, &dec, &isnull, why,
		                  sizeof why))
			printf("decode failed: %s\n", why);
		json_decref(o);
	}
	double dt = now_s() - t;
	for (int i = 0; i < POLLS; i++)
		free(lines[i]);
	free(lines);
	printf(
	    "obsrec_bench: %-8s %3d cells: %6.2f MB/day (%4.0f bytes/poll), decode a day %.0f ms\n",
	    label, ncells, bytes / 1e6, (double)bytes / POLLS, dt * 1e3);
}

int main(int argc, char **argv)
{
	static struct sr_policy p;
	struct sr_policy_error err;
	if (argc < 2 || policy_load_file(&p, argv[1], &err) != 0) {
		fprintf(stderr, "usage: obsrec_bench config/shiproom.json\n");
		return 2;
	}
	int n6 = p.ncells;
	if (extend_policy(&p) != 0)
		return 1;
	int n50 = p.ncells;
	one_case("noisy", n6, true);
	one_case("steady", n6, false);
	one_case("noisy", n50, true);
	one_case("steady", n50, false);
	return 0;
}
