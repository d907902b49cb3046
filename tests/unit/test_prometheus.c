/* test_prometheus.c - the Prometheus source against a loopback server
 * replaying canned answers (tests/e2e/wire_server.py): what goes on the
 * wire (one POST per KPI to <url>/api/v1/query under a path prefix, form
 * body with query and time, X-Scope-OrgID, the bearer token), what comes
 * back onto the snapshot, and every failure: a hung server (ERROR, last
 * value kept, loop still turning), refused connections, a proxy's 502,
 * error envelopes, garbage, the size cap; the token file's mode; config
 * parsing with strict keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sys/stat.h>

#include "shiproom/engine.h"
#include "shiproom/http.h"
#include "shiproom/prometheus.h"
#include "wire_helper.h"

#define NOW 1700000000123LL

struct fx {
	struct wire w;
	uv_loop_t loop;
	struct ticker tick;
	struct sr_http *ctl; /* for /_control requests */
	struct sr_policy *p;
	struct sr_prom_config cfg;
	struct sr_source *src;
	char tokfile[128];
	/* callback record */
	int calls;
	bool done;
	struct sr_snapshot snap;
};

static void on_snap(void *ud, struct sr_snapshot *s)
{
	struct fx *f = ud;
	f->calls++;
	f->done = true;
	f->snap = *s;
}

/* Journeys search, pay; KPI 0 "lat" per journey, KPI 1 "err" global.
 * Cells: 0 = lat/search, 1 = lat/pay, 2 = err. The first identifier of
 * each query picks the server's canned answer. */
static struct sr_policy *mk_policy(void)
{
	struct sr_policy *p = calloc(1, sizeof *p);
	p->njourneys = 2;
	strcpy(p->journeys[0].id, "search");
	strcpy(p->journeys[1].id, "pay");
	p->nkpis = 2;
	strcpy(p->kpis[0].id, "lat");
	p->kpis[0].quantile = 0.95;
	p->kpis[0].njourneys = 2;
	p->kpis[0].journeys[0] = 0;
	p->kpis[0].journeys[1] = 1;
	strcpy(p->kpis[0].query, "lat{journey=~\"{{journeys}}\"}[{{window}}] > {{q}}");
	strcpy(p->kpis[1].id, "err");
	p->kpis[1].quantile = NAN;
	strcpy(p->kpis[1].query, "err");
	p->ncells = 3;
	p->cells[0] = (struct sr_cell){0, 0};
	p->cells[1] = (struct sr_cell){0, 1};
	p->cells[2] = (struct sr_cell){1, -1};
	return p;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	if (wire_start(&f->w) != 0) {
		fprintf(stderr, "cannot start %s (python3 needed)\n", wire_script());
		free(f);
		return -1;
	}
	uv_loop_init(&f->loop);
	ticker_start(&f->tick, &f->loop);
	f->ctl = http_create(&f->loop, err, sizeof err);
	f->p = mk_policy();
	prometheus_config_defaults(&f->cfg);
	snprintf(f->cfg.url, sizeof f->cfg.url, "http://127.0.0.1:%d/prefix/select/0/prometheus",
	         f->w.port);
	f->cfg.timeout_s = 5;
	snprintf(f->tokfile, sizeof f->tokfile, "%s/token", f->w.dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->src)
		f->src->ops->destroy(f->src);
	http_destroy(f->ctl);
	ticker_stop(&f->tick);
	wire_drain_loop(&f->loop);
	int rc = uv_loop_close(&f->loop);
	unlink(f->tokfile);
	wire_stop(&f->w);
	free(f->p);
	free(f);
	assert_int_equal(rc, 0);
	return 0;
}

static void ctl_cb(void *ud, const struct sr_http_response *r)
{
	(void)r;
	*(bool *)ud = true;
}

static void set_mode(struct fx *f, const char *mode)
{
	char url[256], path[64], err[256];
	bool done = false;
	snprintf(path, sizeof path, "/_control/%s", mode);
	wire_url(&f->w, path, url, sizeof url);
	struct sr_http_request rq = {.url = url};
	assert_non_null(http_submit(f->ctl, &rq, ctl_cb, &done, err, sizeof err));
	assert_true(wire_run_until(&f->loop, &done, 10000));
}

static void create(struct fx *f)
{
	char err[512];
	f->src = prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err);
	if (!f->src)
		fail_msg("prometheus_create: %s", err);
}

static void poll_once(struct fx *f, sr_ms now)
{
	f->done = false;
	f->src->ops->poll(f->src, now, on_snap, f);
	assert_true(wire_run_until(&f->loop, &f->done, 20000));
}

static void write_token(struct fx *f, const char *tok, mode_t mode)
{
	FILE *t = fopen(f->tokfile, "w");
	assert_non_null(t);
	fputs(tok, t);
	fclose(t);
	assert_int_equal(chmod(f->tokfile, mode), 0);
}

static int count_queries(struct fx *f, const char *path)
{
	json_t *log = wire_log(&f->w);
	size_t i;
	json_t *ev;
	int n = 0;
	json_array_foreach(log, i, ev)
	{
		const char *p = json_string_value(json_object_get(ev, "path"));
		if (p && strcmp(p, path) == 0)
			n++;
	}
	json_decref(log);
	return n;
}

static void test_happy_path_and_wire(void **state)
{
	struct fx *f = *state;
	write_token(f, "s3cret-token\n", 0600);
	sr_strlcpy(f->cfg.bearer_token_file, f->tokfile, sizeof f->cfg.bearer_token_file);
	f->cfg.nheaders = 1;
	strcpy(f->cfg.headers[0].name, "X-Scope-OrgID");
	strcpy(f->cfg.headers[0].value, "tenant-1");
	strcpy(f->cfg.window, "30s");
	f->cfg.nsamples = 1;
	strcpy(f->cfg.samples[0].kpi, "lat");
	strcpy(f->cfg.samples[0].query, "samples{journey=~\"{{journeys}}\"}");
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->calls, 1);

	/* Values matched on journey and variant; global on variant. */
	struct sr_snapshot *s = &f->snap;
	assert_int_equal(s->ncells, 3);
	assert_int_equal(s->canary[0].kind, SR_OBS_OK);
	assert_true(s->canary[0].value == 101.5);
	assert_true(s->control[0].value == 99.25);
	assert_true(s->canary[1].value == 120);
	assert_true(s->control[1].value == 1e-07);
	assert_true(s->canary[2].value == 0.5);
	assert_true(s->control[2].value == 0.25);
	/* The time asked for comes back as the data's time. */
	assert_int_equal(s->canary[0].at, NOW);
	/* Samples from the samples query; the global KPI has none (unknown). */
	assert_true(s->canary[0].samples == 42);
	assert_true(s->control[0].samples == 900);
	assert_true(s->canary[1].samples == 7);
	assert_true(s->control[1].samples == 0); /* NaN count: none */
	assert_true(isinf(s->canary[2].samples));

	/* On the wire: one POST per query (2 KPIs + 1 samples query), under
	 * the path prefix, form-encoded with the same explicit time. */
	assert_int_equal(prometheus_last_query_count(f->src), 3);
	json_t *log = wire_log(&f->w);
	int n = 0;
	bool saw_lat = false;
	size_t i;
	json_t *ev;
	json_array_foreach(log, i, ev)
	{
		const char *path = json_string_value(json_object_get(ev, "path"));
		if (strncmp(path, "/_", 2) == 0)
			continue;
		n++;
		json_t *h = json_object_get(ev, "headers");
		const char *body = json_string_value(json_object_get(ev, "body"));
		assert_string_equal(json_string_value(json_object_get(ev, "method")), "POST");
		assert_string_equal(path, "/prefix/select/0/prometheus/api/v1/query");
		assert_string_equal(json_string_value(json_object_get(h, "content-type")),
		                    "application/x-www-form-urlencoded");
		assert_string_equal(json_string_value(json_object_get(h, "x-scope-orgid")),
		                    "tenant-1");
		assert_string_equal(json_string_value(json_object_get(h, "authorization")),
		                    "Bearer s3cret-token");
		assert_non_null(strstr(body, "&time=1700000000.123"));
		assert_int_equal(strncmp(body, "query=", 6), 0);
		if (strstr(body,
		           "query=lat%7Bjourney%3D~%22search%7Cpay%22%7D%5B30s%5D%20%3E%200.95&"))
			saw_lat = true;
	}
	json_decref(log);
	assert_int_equal(n, 3);
	assert_true(saw_lat);
}

/* What the poll schedule asks for (source.h: sr_poll_ask): the newest
 * sample times of the series the KPIs read (the first selector of each
 * query, canary first), their history as a subquery, and a poll of just
 * the KPIs involved, the others keeping their last value and time. */
static void test_rhythm_and_subset(void **state)
{
	struct fx *f = *state;
	create(f);
	poll_once(f, NOW);
	assert_int_equal(prometheus_last_query_count(f->src), 2);
	assert_int_equal(f->snap.nsample_times, 0); /* not asked */

	f->src->ask = (struct sr_poll_ask){.rhythm = true};
	poll_once(f, NOW + 1000);
	assert_int_equal(prometheus_last_query_count(f->src), 3);
	assert_int_equal(f->snap.nsample_times, 1);
	assert_int_equal(f->snap.sample_times[0], NOW + 1000 - 3500); /* the canary's */
	f->src->ask = (struct sr_poll_ask){.rhythm = true, .history = 45000};
	poll_once(f, NOW + 2000);
	assert_int_equal(prometheus_last_query_count(f->src), 3);
	json_t *log = wire_log(&f->w);
	size_t i;
	json_t *ev;
	int instant = 0, history = 0;
	json_array_foreach(log, i, ev)
	{
		const char *body = json_string_value(json_object_get(ev, "body"));
		if (!body)
			continue;
		/* max by (variant) (timestamp(lat{journey=~"search|pay"})) */
		if (strstr(body,
		           "query=max%20by%20%28variant%29%20%28timestamp%28lat%7Bjourney%3D~%22"
		           "search%7Cpay%22%7D%29%29&"))
			instant++;
		if (strstr(body, "query=%28max%20by%20%28variant%29%20%28timestamp%28lat") &&
		    strstr(body, "%5B45000ms%3A1000ms%5D&"))
			history++;
	}
	json_decref(log);
	assert_int_equal(instant, 1);
	assert_int_equal(history, 1);

	/* Only "err" (KPI 1): one query; lat's cells keep their time. */
	bool kpis[SR_MAX_KPIS] = {false, true};
	f->src->ask = (struct sr_poll_ask){.kpis = kpis};
	poll_once(f, NOW + 3000);
	assert_int_equal(prometheus_last_query_count(f->src), 1);
	assert_int_equal(f->snap.canary[0].at, NOW + 2000);
	assert_int_equal(f->snap.canary[1].at, NOW + 2000);
	assert_int_equal(f->snap.canary[2].at, NOW + 3000);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_OK);
	assert_int_equal(f->snap.nsample_times, 0);
}

static void test_token_file_mode_refused(void **state)
{
	struct fx *f = *state;
	char err[512];
	write_token(f, "hunter2-secret\n", 0644);
	sr_strlcpy(f->cfg.bearer_token_file, f->tokfile, sizeof f->cfg.bearer_token_file);
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "0600"));
	assert_null(strstr(err, "hunter2")); /* never the secret */
	/* Group-readable 0640 is refused too; 0400 is fine. */
	assert_int_equal(chmod(f->tokfile, 0640), 0);
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_int_equal(chmod(f->tokfile, 0400), 0);
	create(f);
	/* Loosened after start: the next poll fails visibly, sends nothing. */
	assert_int_equal(chmod(f->tokfile, 0666), 0);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&f->snap, &f->snap.canary[0]), "0600"));
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), 0);
}

static void test_token_from_env(void **state)
{
	struct fx *f = *state;
	char err[512];
	strcpy(f->cfg.bearer_token_env, "SR_TEST_PROM_TOKEN");
	unsetenv("SR_TEST_PROM_TOKEN");
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "SR_TEST_PROM_TOKEN is not set"));
	setenv("SR_TEST_PROM_TOKEN", "env-token-1", 1);
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_OK);
	json_t *log = wire_log(&f->w);
	json_t *ev = json_array_get(log, 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(ev, "headers"), "authorization")),
	    "Bearer env-token-1");
	json_decref(log);
	unsetenv("SR_TEST_PROM_TOKEN");
}

static void test_hung_server_errors_and_recovers(void **state)
{
	struct fx *f = *state;
	f->cfg.timeout_s = 0.5;
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_OK);

	set_mode(f, "hang");
	long before = f->tick.ticks;
	poll_once(f, NOW + 15000);
	assert_int_equal(f->calls, 2);
	/* The loop kept turning while the queries hung. */
	assert_true(f->tick.ticks > before);
	for (int c = 0; c < 3; c++) {
		assert_int_equal(f->snap.canary[c].kind, SR_OBS_ERROR);
		assert_int_equal(f->snap.control[c].kind, SR_OBS_ERROR);
		assert_non_null(
		    strstr(snapshot_msg(&f->snap, &f->snap.canary[c]), "timed out after 500 ms"));
		/* Last value and its time kept: the engine ages it to STALE. */
		assert_int_equal(f->snap.canary[c].at, NOW);
	}
	assert_true(f->snap.canary[2].value == 0.5);

	set_mode(f, "normal");
	poll_once(f, NOW + 30000);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_OK);
	assert_int_equal(f->snap.canary[2].at, NOW + 30000);
	assert_string_equal(snapshot_msg(&f->snap, &f->snap.canary[2]), "");
}

static void test_connection_refused(void **state)
{
	struct fx *f = *state;
	snprintf(f->cfg.url, sizeof f->cfg.url, "http://127.0.0.1:%d", wire_closed_port());
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	assert_int_equal(f->snap.control[2].kind, SR_OBS_ERROR);
	assert_true(isnan(f->snap.canary[0].value)); /* never fetched: no value */
	/* The source says why; the engine frames it as a failed fetch, once
	 * (the console read "fetch failed: fetch failed: timed out"). */
	const char *why = snapshot_msg(&f->snap, &f->snap.canary[0]);
	assert_true(why[0] != '\0');
	assert_null(strstr(why, "fetch failed"));
	struct sr_engine *e = calloc(1, sizeof *e);
	assert_non_null(e);
	engine_init(e, f->p, NOW - 3600000);
	engine_evaluate(e, &f->snap, NOW + 1000);
	const char *reason = engine_cell_reason(e, 0);
	const char *said = strstr(reason, "fetch failed: ");
	assert_non_null(said);
	assert_null(strstr(said + 1, "fetch failed"));
	assert_non_null(strstr(reason, why));
	free(e);
}

static void test_error_answers(void **state)
{
	struct fx *f = *state;
	create(f);
	set_mode(f, "502");
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_ERROR);
	assert_int_equal(strncmp(snapshot_msg(&f->snap, &f->snap.canary[2]),
	                         "HTTP 502 Bad Gateway: <html><body><h1>", 38),
	                 0);
	set_mode(f, "promerror");
	poll_once(f, NOW);
	assert_string_equal(snapshot_msg(&f->snap, &f->snap.canary[0]),
	                    "HTTP 422 Unprocessable Entity: execution: query "
	                    "timed out in expression evaluation");
	set_mode(f, "garbage");
	poll_once(f, NOW);
	assert_non_null(
	    strstr(snapshot_msg(&f->snap, &f->snap.control[1]), "malformed JSON response"));
	set_mode(f, "warn");
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_OK);
	assert_true(f->snap.canary[2].degraded);
	assert_non_null(
	    strstr(snapshot_msg(&f->snap, &f->snap.canary[2]), "store eu-1 unavailable"));
	assert_false(f->snap.canary[0].degraded); /* only the warned query */
}

/* issue 9: a 429's Retry-After was ignored: the next polls hammered a
 * rate-limited Prometheus. No query goes out before the wait is over,
 * and the cells say why. */
static void test_429_retry_after_honoured(void **state)
{
	struct fx *f = *state;
	create(f);
	set_mode(f, "429");
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&f->snap, &f->snap.canary[0]), "HTTP 429"));
	int sent = count_queries(f, "/prefix/select/0/prometheus/api/v1/query");
	assert_true(sent > 0);
	set_mode(f, "normal");
	poll_once(f, NOW + 30 * 1000); /* within the 60 s asked for */
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), sent);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	if (!strstr(snapshot_msg(&f->snap, &f->snap.canary[0]), "Retry-After"))
		fail_msg("a skipped poll does not say why: %s",
		         snapshot_msg(&f->snap, &f->snap.canary[0]));
	poll_once(f, NOW + 61 * 1000);
	assert_true(count_queries(f, "/prefix/select/0/prometheus/api/v1/query") > sent);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_OK);
}

/* issue 9: a proxy (or a Prometheus) that reflects the Authorization
 * header in an error body: the token never reaches the snapshot, so not
 * the screen, the journal, a report or a post either. */
static void test_echoed_token_scrubbed(void **state)
{
	struct fx *f = *state;
	write_token(f, "s3cret-echoed-token-0123456789\n", 0600);
	sr_strlcpy(f->cfg.bearer_token_file, f->tokfile, sizeof f->cfg.bearer_token_file);
	create(f);
	set_mode(f, "echo");
	poll_once(f, NOW);
	for (int c = 0; c < f->p->ncells; c++) {
		const char *e[2] = {snapshot_msg(&f->snap, &f->snap.canary[c]),
		                    snapshot_msg(&f->snap, &f->snap.control[c])};
		for (int j = 0; j < 2; j++) {
			if (strstr(e[j], "s3cret") || strstr(e[j], "0123456789"))
				fail_msg("the token leaked into cell %d: %s", c, e[j]);
		}
	}
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&f->snap, &f->snap.canary[0]), "HTTP 500"));
}

static void test_nodata_cases(void **state)
{
	struct fx *f = *state;
	strcpy(f->p->kpis[0].query, "missing{journey=~\"{{journeys}}\"}");
	strcpy(f->p->kpis[1].query, "nan");
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_OK);
	assert_int_equal(f->snap.canary[1].kind, SR_OBS_NOSERIES); /* that journey only */
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_NOSERIES); /* NaN */
	assert_int_equal(f->snap.control[2].kind, SR_OBS_OK);      /* +Inf */
	assert_true(isinf(f->snap.control[2].value));
	f->src->ops->destroy(f->src);
	f->src = NULL;
	strcpy(f->p->kpis[1].query, "empty");
	f->p->kpis[0].query[0] = '\0'; /* a KPI without a query */
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_NOSERIES);
	assert_int_equal(f->snap.control[2].kind, SR_OBS_NOSERIES);
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_ERROR);
	assert_non_null(strstr(snapshot_msg(&f->snap, &f->snap.canary[0]), "no query"));
	assert_int_equal(prometheus_last_query_count(f->src), 1);
}

static void test_size_cap(void **state)
{
	struct fx *f = *state;
	strcpy(f->p->kpis[1].query, "big");
	f->cfg.max_response_bytes = 1024;
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->snap.canary[2].kind, SR_OBS_ERROR);
	assert_non_null(
	    strstr(snapshot_msg(&f->snap, &f->snap.canary[2]), "larger than the 1024-byte cap"));
	assert_int_equal(f->snap.canary[0].kind, SR_OBS_OK); /* the other KPI is fine */
}

static void test_connection_reuse_across_polls(void **state)
{
	struct fx *f = *state;
	create(f);
	poll_once(f, NOW);
	int first = wire_conns(&f->w, "/prefix/");
	for (int i = 1; i <= 3; i++)
		poll_once(f, NOW + i * 15000);
	assert_true(first >= 1 && first <= 2);
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), 8);
	/* Four polls of two queries: no new connection after the first. */
	assert_int_equal(wire_conns(&f->w, "/prefix/"), first);
}

static void test_poll_while_busy(void **state)
{
	struct fx *f = *state;
	f->cfg.timeout_s = 0.3;
	create(f);
	set_mode(f, "hang");
	f->done = false;
	f->src->ops->poll(f->src, NOW, on_snap, f);
	f->src->ops->poll(f->src, NOW + 1, on_snap, f); /* still in flight */
	assert_true(wire_run_until(&f->loop, &f->done, 10000));
	/* Let a second answer arrive if one (wrongly) were coming. */
	for (int i = 0; i < 20; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->calls, 1);
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), 2);
}

static void test_destroy_in_flight(void **state)
{
	struct fx *f = *state;
	create(f);
	set_mode(f, "hang");
	f->src->ops->poll(f->src, NOW, on_snap, f);
	for (int i = 0; i < 10; i++)
		uv_run(&f->loop, UV_RUN_ONCE);
	f->src->ops->destroy(f->src);
	f->src = NULL;
	wire_drain_loop(&f->loop);
	assert_int_equal(f->calls, 0);
}

static int cfg_parse(struct sr_prom_config *c, const char *json, char *err, size_t n)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	assert_non_null(j);
	int rc = prometheus_config_from_json(c, j, err, n);
	json_decref(j);
	return rc;
}

static void test_config_from_json(void **state)
{
	(void)state;
	struct sr_prom_config c;
	char err[512];
	assert_int_equal(
	    cfg_parse(&c,
	              "{\"kind\":\"prometheus\",\"url\":\"https://mimir.example/prometheus/\","
	              "\"headers\":{\"X-Scope-OrgID\":\"team-a\"},"
	              "\"bearer_token_env\":\"MIMIR_TOKEN\",\"timeout_s\":2.5,"
	              "\"window\":\"2m30s\",\"variant_label\":\"track\","
	              "\"control_value\":\"stable\",\"max_response_bytes\":65536,"
	              "\"samples_queries\":{\"p95_latency\":\"sum(x)\"}}",
	              err, sizeof err),
	    0);
	assert_string_equal(c.url, "https://mimir.example/prometheus"); /* trailing / dropped */
	assert_int_equal(c.nheaders, 1);
	assert_string_equal(c.headers[0].value, "team-a");
	assert_true(c.timeout_s == 2.5);
	assert_string_equal(c.window, "2m30s");
	assert_string_equal(c.journey_label, "journey"); /* default */
	assert_string_equal(c.variant_label, "track");
	assert_string_equal(c.canary_value, "canary");
	assert_string_equal(c.control_value, "stable");
	assert_int_equal(c.max_response_bytes, 65536);
	assert_int_equal(c.nsamples, 1);
	/* Defaults. */
	assert_int_equal(
	    cfg_parse(&c, "{\"kind\":\"prometheus\",\"url\":\"http://p:9090\"}", err, sizeof err),
	    0);
	assert_string_equal(c.window, "1m");
	assert_true(c.timeout_s == 10);
	assert_int_equal(c.max_response_bytes, 8 * 1024 * 1024);
	assert_string_equal(c.control_value, "control");

	struct {
		const char *json, *want;
	} bad[] = {
	    {"{\"kind\":\"prometheus\",\"url\":\"http://p\",\"timeout\":3}",
	     "source.timeout: unknown key"},
	    {"{\"kind\":\"prometheus\"}", "source.url: required"},
	    {"{\"url\":\"ftp://p\"}", "source.url: must start with http"},
	    {"{\"url\":\"http://user:pw@p\"}", "must not carry credentials"},
	    {"{\"url\":\"http://p/?a=1\"}", "query string"},
	    {"{\"url\":\"http://p\",\"window\":\"1 minute\"}", "source.window"},
	    {"{\"url\":\"http://p\",\"timeout_s\":0}", "source.timeout_s"},
	    {"{\"url\":\"http://p\",\"timeout_s\":\"5\"}", "source.timeout_s"},
	    {"{\"url\":\"http://p\",\"bearer_token_file\":\"/t\",\"bearer_token_env\":\"T\"}",
	     "exclusive"},
	    {"{\"url\":\"http://p\",\"bearer_token_env\":\"NOT-A-NAME\"}", "environment variable"},
	    {"{\"url\":\"http://p\",\"headers\":{\"Bad Name\":\"x\"}}", "not a valid header name"},
	    {"{\"url\":\"http://p\",\"headers\":{\"X-A\":\"a\\r\\nX-B: b\"}}",
	     "source.headers.X-A"},
	    {"{\"url\":\"http://p\",\"headers\":{\"Content-Type\":\"x\"}}", "cannot be overridden"},
	    {"{\"url\":\"http://p\",\"journey_label\":\"9x\"}", "label name"},
	    {"{\"url\":\"http://p\",\"canary_value\":\"control\"}", "must differ"},
	    {"{\"url\":\"http://p\",\"max_response_bytes\":10}", "max_response_bytes"},
	    {"{\"kind\":\"sim\",\"url\":\"http://p\"}", "source.kind"},
	    {"{\"url\":\"http://"
	     "p\",\"bearer_token_env\":\"T\",\"headers\":{\"authorization\":\"x\"}}",
	     "source.headers.authorization: a credential"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(cfg_parse(&c, bad[i].json, err, sizeof err), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, bad[i].want);
	}
	/* A credential written into the policy (a file nobody checks the mode
	 * of) is refused, whatever the case of the name; the error names the
	 * header and the two places a secret may come from, never the value. */
	static const char *const creds[] = {
	    "Authorization", "authorization", "Proxy-Authorization", "Cookie",          "X-API-Key",
	    "x-api-key",     "X-Auth-Token",  "X-Vault-Token",       "X-Client-Secret", "Api-Key"};
	for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
		char text[256];
		snprintf(text, sizeof text,
		         "{\"url\":\"http://p\",\"headers\":{\"%s\":\"Bearer hunter2-secret\"}}",
		         creds[i]);
		err[0] = '\0';
		if (cfg_parse(&c, text, err, sizeof err) != -1)
			fail_msg("%s with a literal value was accepted", creds[i]);
		char want[96];
		snprintf(want, sizeof want, "source.headers.%s: a credential", creds[i]);
		if (!strstr(err, want) || !strstr(err, "bearer_token_file") ||
		    !strstr(err, "0600") || !strstr(err, "bearer_token_env"))
			fail_msg("%s: \"%s\"", creds[i], err);
		assert_null(strstr(err, "hunter2"));
	}
	/* names that only look alike are fine */
	assert_int_equal(cfg_parse(&c,
	                           "{\"url\":\"http://p\",\"headers\":{\"X-Scope-OrgID\":\"t\","
	                           "\"X-Keyspace\":\"k\",\"X-Tokens-Left\":\"1\"}}",
	                           err, sizeof err),
	                 0);
	assert_int_equal(c.nheaders, 3);

	/* A header value can be a secret: the error names the key only. */
	assert_int_equal(
	    cfg_parse(&c, "{\"url\":\"http://p\",\"headers\":{\"X-Key\":\"sekr\\u0001t\"}}", err,
	              sizeof err),
	    -1);
	assert_null(strstr(err, "sekr"));
}

static void test_create_checks_templates(void **state)
{
	struct fx *f = *state;
	char err[512];
	strcpy(f->p->kpis[1].query, "rate(x[{{windw}}])");
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "kpi err: query: unknown placeholder {{windw}}"));
	strcpy(f->p->kpis[1].query, "err");
	f->cfg.nsamples = 1;
	strcpy(f->cfg.samples[0].kpi, "nope");
	strcpy(f->cfg.samples[0].query, "x");
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "samples_queries.nope: no such KPI"));
	f->cfg.nsamples = 0;
	strcpy(f->cfg.ca_file, "/nonexistent/ca.pem");
	assert_null(prometheus_create(f->p, &f->cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "source.ca_file /nonexistent/ca.pem"));
}

/* KPIs that ask the same thing share one request per poll: a second
 * latency KPI with the same query (the same quantile) and the same
 * samples query as "lat" adds nothing on the wire, and its cells get the
 * same values and samples from the shared answers. */
static void test_same_query_sent_once(void **state)
{
	struct fx *f = *state;
	struct sr_policy *p = f->p;
	p->kpis[2] = p->kpis[0];
	strcpy(p->kpis[2].id, "lat_again");
	p->nkpis = 3;
	p->cells[3] = (struct sr_cell){2, 0};
	p->cells[4] = (struct sr_cell){2, 1};
	p->ncells = 5;
	f->cfg.nsamples = 2;
	strcpy(f->cfg.samples[0].kpi, "lat");
	strcpy(f->cfg.samples[0].query, "samples{journey=~\"{{journeys}}\"}");
	strcpy(f->cfg.samples[1].kpi, "lat_again");
	strcpy(f->cfg.samples[1].query, "samples{journey=~\"{{journeys}}\"}");
	create(f);
	poll_once(f, NOW);
	assert_int_equal(f->calls, 1);
	/* lat, err and samples: 3 requests, not 5 */
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), 3);
	assert_int_equal(prometheus_last_query_count(f->src), 3);
	const struct sr_snapshot *s = &f->snap;
	for (int c = 0; c < 2; c++) {
		assert_int_equal(s->canary[c + 3].kind, SR_OBS_OK);
		assert_true(s->canary[c + 3].value == s->canary[c].value);
		assert_true(s->control[c + 3].value == s->control[c].value);
		assert_true(s->canary[c + 3].samples == s->canary[c].samples);
	}
	assert_true(s->canary[3].value == 101.5);
	assert_true(s->canary[3].samples == 42);
	/* A second poll sends the same three again, nothing left over. */
	poll_once(f, NOW + 15000);
	assert_int_equal(count_queries(f, "/prefix/select/0/prometheus/api/v1/query"), 6);
	assert_int_equal(prometheus_last_query_count(f->src), 3);
}

int main(void)
{
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_from_json),
	    T(test_happy_path_and_wire),
	    T(test_rhythm_and_subset),
	    T(test_same_query_sent_once),
	    T(test_token_file_mode_refused),
	    T(test_token_from_env),
	    T(test_echoed_token_scrubbed),
	    T(test_hung_server_errors_and_recovers),
	    T(test_connection_refused),
	    T(test_error_answers),
	    T(test_429_retry_after_honoured),
	    T(test_nodata_cases),
	    T(test_size_cap),
	    T(test_connection_reuse_across_polls),
	    T(test_poll_while_busy),
	    T(test_destroy_in_flight),
	    T(test_create_checks_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
