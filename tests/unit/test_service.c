/* test_service.c - the service's protocol: frames on the wire, and the
 * state that crosses it.
 *
 * The promise of the service is that every attached console shows what
 * the service knows. So the central test plays a scenario to a moment
 * with a firing trigger, RED cells, approvals and a rollback, sends its
 * state through the encoder, the frame, the reader and the decoder into
 * a fresh mirror, and asks the mirror the same questions the views and
 * `status --json` ask: the answers must be the same, byte for byte.
 * Then garbage: every refusal leaves the mirror as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/mirror.h"
#include "shiproom/report.h"
#include "shiproom/sim.h"
#include "shiproom/status.h"
#include "shiproom/wire.h"

#define CONFIG_DIR SR_DATADIR "/config"

static struct sr_policy *policy;

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
	assert_non_null(policy);
	assert_int_equal(policy_load_file(policy, CONFIG_DIR "/shiproom.json", &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(policy);
	return 0;
}

static void play(struct play *pl, const char *scenario, int min)
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
	runner_advance(pl->r, pl->sc->t0 + (sr_ms)min * SR_MS_PER_MIN);
}

static void play_end(struct play *pl)
{
	runner_close(pl->r);
	sim_destroy(pl->sim);
	free(pl->r);
	free(pl->sc);
}

static struct sr_runner *new_mirror(const struct sr_scenario *sc)
{
	struct sr_runner *m = calloc(1, sizeof *m);
	assert_non_null(m);
	runner_init(m, policy, NULL, NULL, NULL, true, "test");
	m->scenario = sc;
	/* read-only is the viewer's, not the state's: compare like with like */
	m->read_only = false;
	return m;
}

/* One state message as the service builds it and the client reads it:
 * through a frame and the reader, not by handing objects over. */
static json_t *through_the_wire(const struct sr_runner *r, sr_ms hist_after, int log_from)
{
	json_t *m = json_object();
	json_object_set_new(m, "type", json_string("state"));
	json_object_set_new(m, "core", mirror_encode_core(r));
	json_object_set_new(m, "history", mirror_encode_history(&r->history, hist_after));
	json_object_set_new(m, "log", mirror_encode_log(r, log_from));
	size_t len;
	char *frame = wire_frame(m, &len);
	json_decref(m);
	assert_non_null(frame);
	struct sr_wire_reader rd;
	wire_reader_init(&rd, 0);
	json_t *got = NULL;
	char err[256];
	/* in two pieces, split inside the length */
	assert_int_equal(wire_reader_feed(&rd, frame, 2), 0);
	assert_int_equal(wire_reader_next(&rd, &got, err, sizeof err), 0);
	assert_int_equal(wire_reader_feed(&rd, frame + 2, len - 2), 0);
	assert_int_equal(wire_reader_next(&rd, &got, err, sizeof err), 1);
	assert_string_equal(wire_type(got), "state");
	wire_reader_free(&rd);
	free(frame);
	return got;
}

static void apply_all(struct sr_runner *m, const json_t *msg)
{
	char err[256] = "";
	int rc = mirror_apply_core(m, json_object_get(msg, "core"), err, sizeof err);
	if (rc != 0)
		fail_msg("core refused: %s", err);
	assert_int_equal(mirror_apply_history(m, json_object_get(msg, "history"), err, sizeof err),
	                 0);
	assert_int_equal(mirror_apply_log(m, json_object_get(msg, "log"), err, sizeof err), 0);
}

static char *status_json_of(const struct sr_runner *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	status_print_json(f, r, NULL);
	fclose(f);
	return buf;
}

static char *gate_json_of(const struct sr_runner *r, int gate)
{
	json_t *d = report_json(SR_REPORT_GATE, r, gate);
	assert_non_null(d);
	char *s = json_dumps(d, JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
	json_decref(d);
	return s;
}

/* Everything a view reads, the same in the mirror as in the service. */
static void assert_same(const struct sr_runner *r, const struct sr_runner *m)
{
	const struct sr_policy *p = r->policy;
	for (int c = 0; c < p->ncells; c++) {
		const struct sr_cell_state *a = &r->engine.cells[c], *b = &m->engine.cells[c];
		assert_int_equal(a->status, b->status);
		assert_string_equal(engine_cell_reason(&r->engine, c),
		                    engine_cell_reason(&m->engine, c));
		assert_true(cell_breach_ms(a) == cell_breach_ms(b));
		assert_true((isnan(a->canary) && isnan(b->canary)) ||
		            fabs(a->canary - b->canary) <= 1e-6 * fabs(a->canary));
		assert_int_equal(a->age, b->age);
	}
	for (int t = 0; t < p->ntriggers; t++) {
		assert_int_equal(r->engine.triggers[t].state, m->engine.triggers[t].state);
		assert_string_equal(r->engine.triggers[t].reason, m->engine.triggers[t].reason);
	}
	assert_int_equal(r->engine.decision.verdict, m->engine.decision.verdict);
	assert_int_equal(r->engine.decision.nreasons, m->engine.decision.nreasons);
	for (int i = 0; i < r->engine.decision.nreasons; i++)
		assert_string_equal(r->engine.decision.reasons[i], m->engine.decision.reasons[i]);
	assert_int_equal(r->nlog, m->nlog);
	for (int i = 0; i < 20 && i < r->nlog; i++)
		assert_string_equal(runner_log_entry(r, i)->text, runner_log_entry(m, i)->text);
	/* the sparklines: every point of every cell */
	for (int c = 0; c < p->ncells; c++) {
		for (int i = 0;; i++) {
			float a1, a2, b1, b2, l1, l2;
			enum sr_status s1, s2;
			bool h1 = history_point(&r->history, c, i, &a1, &b1, &l1, &s1);
			bool h2 = history_point(&m->history, c, i, &a2, &b2, &l2, &s2);
			assert_int_equal(h1, h2);
			if (!h1)
				break;
			assert_int_equal(s1, s2);
			assert_true((isnan(l1) && isnan(l2)) || l1 == l2);
			/* the points travel as the floats they are */
			assert_memory_equal(&a1, &a2, sizeof a1);
			assert_memory_equal(&b1, &b2, sizeof b1);
		}
	}
	/* and the two consumers that read all of it */
	char *js1 = status_json_of(r), *js2 = status_json_of(m);
	if (strcmp(js1, js2) != 0) {
		/* a diff says more than two pages of JSON */
		FILE *f1 = fopen("/tmp/shiproom-service.json", "w");
		FILE *f2 = fopen("/tmp/shiproom-mirror.json", "w");
		if (f1 && f2) {
			fputs(js1, f1);
			fputs(js2, f2);
		}
		if (f1)
			fclose(f1);
		if (f2)
			fclose(f2);
		fail_msg("status --json differs: diff /tmp/shiproom-service.json "
		         "/tmp/shiproom-mirror.json");
	}
	free(js1);
	free(js2);
	for (int g = 0; g < p->ngates; g++) {
		char *g1 = gate_json_of(r, g), *g2 = gate_json_of(m, g);
		assert_string_equal(g1, g2);
		free(g1);
		free(g2);
	}
}

static void test_mirror_shows_what_the_service_knows(void **state)
{
	(void)state;
	/* p95-regression-25: RED search P95, the trigger firing, a rollback */
	static const int moments[] = {-30, 0, 95, 130, 160, 240};
	for (size_t i = 0; i < sizeof moments / sizeof moments[0]; i++) {
		struct play pl;
		play(&pl, "p95-regression-25", moments[i]);
		struct sr_runner *m = new_mirror(pl.sc);
		json_t *msg = through_the_wire(pl.r, 0, 0);
		apply_all(m, msg);
		json_decref(msg);
		assert_same(pl.r, m);
		runner_close(m);
		free(m);
		play_end(&pl);
	}
}

/* A client that was sent the state at T+100 and then only what changed
 * (history after its last point, log from its last entry) ends up with
 * the whole state at T+140: nothing is lost by sending only the news. */
static void test_mirror_incremental(void **state)
{
	(void)state;
	struct play pl;
	play(&pl, "p95-regression-25", 100);
	struct sr_runner *m = new_mirror(pl.sc);
	json_t *msg = through_the_wire(pl.r, 0, 0);
	apply_all(m, msg);
	json_decref(msg);
	for (int min = 101; min <= 140; min += 7) {
		sr_ms hist = pl.r->history.last;
		int nlog = pl.r->nlog;
		runner_advance(pl.r, pl.sc->t0 + (sr_ms)min * SR_MS_PER_MIN);
		msg = through_the_wire(pl.r, hist, nlog);
		apply_all(m, msg);
		json_decref(msg);
	}
	assert_same(pl.r, m);
	runner_close(m);
	free(m);
	play_end(&pl);
}

static json_t *core_at(int min, struct play *pl)
{
	play(pl, "healthy", min);
	return mirror_encode_core(pl->r);
}

/* Each kind of garbage is refused with a reason, and the mirror is left
 * exactly as it was (a console never shows half a state). */
/* Every point of a mirror's history ring, hashed (FNV-1a over the bits). */
static uint64_t history_digest(const struct sr_runner *m)
{
	uint64_t h = 1469598103934665603ULL;
	for (int c = 0; c < m->policy->ncells; c++)
		for (int i = 0;; i++) {
			float a, b, l;
			enum sr_status st;
			if (!history_point(&m->history, c, i, &a, &b, &l, &st))
				break;
			unsigned char bytes[3 * sizeof(float) + sizeof st];
			memcpy(bytes, &a, sizeof a);
			memcpy(bytes + 4, &b, sizeof b);
			memcpy(bytes + 8, &l, sizeof l);
			memcpy(bytes + 12, &st, sizeof st);
			for (size_t k = 0; k < sizeof bytes; k++)
				h = (h ^ bytes[k]) * 1099511628211ULL;
		}
	return h;
}

static void test_mirror_refuses_garbage(void **state)
{
	(void)state;
	struct play pl;
	json_t *good = core_at(95, &pl);
	struct sr_runner *m = new_mirror(pl.sc);
	char err[256];
	assert_int_equal(mirror_apply_core(m, good, err, sizeof err), 0);
	char *before = status_json_of(m);

	struct {
		const char *what;
		void (*spoil)(json_t *core);
	} cases[] = {
	    {"a cell too few", NULL},
	    {"a status out of range", NULL},
	    {"a reason that is a number", NULL},
	    {"a trigger pointing past the cells", NULL},
	    {"a phase past the policy's", NULL},
	    {"no decision", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *bad = json_deep_copy(good);
		json_t *cells = json_object_get(bad, "cells");
		switch (i) {
		case 0: json_array_remove(cells, 0); break;
		case 1:
			json_object_set_new(json_array_get(cells, 3), "status",
			                    json_integer(SR_STATUS_COUNT));
			break;
		case 2:
			json_object_set_new(json_array_get(cells, 1), "reason", json_integer(7));
			break;
		case 3:
			json_object_set_new(json_array_get(json_object_get(bad, "triggers"), 0),
			                    "cell", json_integer(policy->ncells));
			break;
		case 4:
			json_object_set_new(json_object_get(bad, "rollout"), "phase",
			                    json_integer(policy->nphases));
			break;
		case 5: json_object_del(bad, "decision"); break;
		}
		err[0] = '\0';
		if (mirror_apply_core(m, bad, err, sizeof err) == 0)
			fail_msg("%s: accepted", cases[i].what);
		assert_true(err[0] != '\0');
		json_decref(bad);
		char *after = status_json_of(m);
		assert_string_equal(before, after);
		free(after);
	}
	/* history: refused whole, the ring as it was */
	json_t *hist = mirror_encode_history(&pl.r->history, 0);
	assert_int_equal(mirror_apply_history(m, hist, err, sizeof err), 0);
	uint64_t ring = history_digest(m);
	const char *hist_cases[] = {"a cell a point short", "a cell not base64", "a cell a number",
	                            "a row's phase past the policy's"};
	for (size_t i = 0; i < sizeof hist_cases / sizeof hist_cases[0]; i++) {
		json_t *bad = json_deep_copy(hist);
		json_t *cells = json_object_get(bad, "cells");
		const char *c0 = json_string_value(json_array_get(cells, 2));
		assert_non_null(c0);
		char *cut = strdup(c0);
		switch (i) {
		case 0: /* 9 bytes are 12 characters */
			assert_true(strlen(cut) > 12);
			cut[strlen(cut) - 12] = '\0';
			json_array_set_new(cells, 2, json_string(cut));
			break;
		case 1: json_array_set_new(cells, 2, json_string("!!!!")); break;
		case 2: json_array_set_new(cells, 2, json_integer(7)); break;
		case 3:
			json_array_set_new(json_object_get(bad, "phases"), 0,
			                   json_integer(policy->nphases));
			break;
		}
		free(cut);
		err[0] = '\0';
		if (mirror_apply_history(m, bad, err, sizeof err) == 0)
			fail_msg("%s: accepted", hist_cases[i]);
		assert_true(err[0] != '\0');
		assert_true(history_digest(m) == ring);
		json_decref(bad);
	}
	json_decref(hist);
	/* escape sequences in a reason never reach a terminal */
	json_t *hostile = json_deep_copy(good);
	json_object_set_new(json_array_get(json_object_get(hostile, "cells"), 0), "reason",
	                    json_string("\x1b]0;owned\x07 search P95"));
	assert_int_equal(mirror_apply_core(m, hostile, err, sizeof err), 0);
	assert_null(strchr(m->engine.cells[0].reason_text, '\x1b'));
	assert_null(strchr(m->engine.cells[0].reason_text, '\x07'));
	json_decref(hostile);
	free(before);
	json_decref(good);
	runner_close(m);
	free(m);
	play_end(&pl);
}

/* A service started before a field was added does not send it: a newer
 * console attaches anyway (a day's service outlives an upgrade of the
 * binary on its bastion), and the field reads as its "none". A field
 * that is there must still be right. */
static void test_mirror_reads_an_older_service(void **state)
{
	(void)state;
	struct play pl;
	json_t *core = core_at(95, &pl);
	struct sr_runner *m = new_mirror(pl.sc);
	char err[256] = "";
	/* the engine's own fields are the core's members */
	json_t *engine = core;
	assert_non_null(json_object_get(engine, "rollback_due_since"));
	json_t *wrong = json_deep_copy(core);
	json_object_set_new(wrong, "rollback_due_since", json_string("soon"));
	assert_int_not_equal(mirror_apply_core(m, wrong, err, sizeof err), 0);
	assert_non_null(strstr(err, "rollback_due_since"));
	json_decref(wrong);
	m->engine.rollback_due_since = 42;
	json_object_del(engine, "rollback_due_since");
	json_object_del(engine, "rollback_due_what");
	err[0] = '\0';
	if (mirror_apply_core(m, core, err, sizeof err) != 0)
		fail_msg("an older service's state refused: %s", err);
	assert_int_equal(m->engine.rollback_due_since, 0);
	assert_string_equal(m->engine.rollback_due_what, "");
	assert_int_equal(m->engine.decision.verdict, pl.r->engine.decision.verdict);
	json_decref(core);
	runner_close(m);
	free(m);
	play_end(&pl);
}

static void test_wire_reader(void **state)
{
	(void)state;
	struct sr_wire_reader rd;
	json_t *m;
	char err[256];
	/* two messages in one read, then one byte at a time */
	json_t *a = json_pack("{s:s, s:i}", "type", "hello", "version", 1);
	size_t la, lb;
	char *fa = wire_frame(a, &la), *fb = wire_frame(a, &lb);
	wire_reader_init(&rd, 0);
	char both[256];
	memcpy(both, fa, la);
	memcpy(both + la, fb, lb);
	assert_int_equal(wire_reader_feed(&rd, both, la + lb), 0);
	assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), 1);
	json_decref(m);
	assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), 1);
	json_decref(m);
	assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), 0);
	for (size_t i = 0; i < la; i++) {
		assert_int_equal(wire_reader_feed(&rd, fa + i, 1), 0);
		assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), i + 1 == la ? 1 : 0);
	}
	json_decref(m);
	wire_reader_free(&rd);

	/* garbage, each refused with its reason */
	static const struct {
		const char *bytes;
		size_t len;
		const char *why;
	} bad[] = {
	    {"\x7f\xff\xff\xff{}", 6, "outside"}, /* a length over the limit */
	    {"\0\0\0\0", 4, "outside"},           /* an empty message */
	    {"\0\0\0\x03{x}", 7, "not JSON"},
	    {"\0\0\0\x02[]", 6, "not a message"},
	    {"\0\0\0\x0a{\"type\":1}", 14, "not a message"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		wire_reader_init(&rd, 1024);
		assert_int_equal(wire_reader_feed(&rd, bad[i].bytes, bad[i].len), 0);
		assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), -1);
		assert_non_null(strstr(err, bad[i].why));
		wire_reader_free(&rd);
	}
	/* a peer cannot make the reader buffer without end */
	wire_reader_init(&rd, 1024);
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	int refused = 0;
	for (int i = 0; i < 100 && !refused; i++)
		refused = wire_reader_feed(&rd, junk, sizeof junk) != 0;
	assert_true(refused);
	wire_reader_free(&rd);
	/* a big message's buffer is not kept for the small ones after it */
	wire_reader_init(&rd, 0);
	size_t blen = 3 * SR_WIRE_BIG;
	char *big = malloc(blen + 4);
	assert_non_null(big);
	memset(big + 4, ' ', blen);
	memcpy(big + 4, "{\"type\":\"state\"}", 16);
	big[0] = (char)(blen >> 24);
	big[1] = (char)(blen >> 16);
	big[2] = (char)(blen >> 8);
	big[3] = (char)blen;
	assert_int_equal(wire_reader_feed(&rd, big, blen + 4), 0);
	assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), 1);
	assert_true(rd.big);
	assert_int_equal(rd.cap, 0);
	json_decref(m);
	assert_int_equal(wire_reader_feed(&rd, fa, la), 0);
	assert_int_equal(wire_reader_next(&rd, &m, err, sizeof err), 1);
	assert_false(rd.big);
	assert_true(rd.cap <= 65536);
	json_decref(m);
	free(big);
	wire_reader_free(&rd);
	free(fa);
	free(fb);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mirror_shows_what_the_service_knows),
	    cmocka_unit_test(test_mirror_incremental),
	    cmocka_unit_test(test_mirror_refuses_garbage),
	    cmocka_unit_test(test_mirror_reads_an_older_service),
	    cmocka_unit_test(test_wire_reader),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
