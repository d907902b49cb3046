/* etcd_probe.c - a tiny driver of the etcd client (etcd.h) for
 * tests/e2e/test_etcd_client.sh and bench/etcd_bench.sh: one call per
 * run, so the shell can kill, pause and restart members between calls.
 * Built against BUILD_DIR/libshiproom.a (tests/e2e/lib.sh).
 *
 *   etcd_probe STORE_JSON put KEY VALUE [LEASE]
 *   etcd_probe STORE_JSON put2 KEY VALUE SECONDS      (put, wait, put again)
 *   etcd_probe STORE_JSON renew N SECONDS PWFILE     (14 other secrets, N puts
 *                                                     apart; is the password still
 *                                                     scrubbed?)
 *   etcd_probe STORE_JSON get KEY
 *   etcd_probe STORE_JSON range KEY END|-|"" LIMIT   (-: the one key; "": to the end)
 *   etcd_probe STORE_JSON prefix PREFIX LIMIT
 *   etcd_probe STORE_JSON del KEY [END]
 *   etcd_probe STORE_JSON create KEY VALUE [LEASE]   (txn: create revision 0)
 *   etcd_probe STORE_JSON cas KEY MOD_REVISION VALUE (txn: mod revision equal;
 *                                                     failure branch reads KEY)
 *   etcd_probe STORE_JSON grant TTL
 *   etcd_probe STORE_JSON keepalive ID
 *   etcd_probe STORE_JSON revoke ID
 *   etcd_probe STORE_JSON bench N FILE   (N etcd appends, N fsynced file appends:
 *                                         median, p99, max of each)
 *
 * STORE_JSON is the policy's "store" object (a file). Output: "OK ..." or
 * "UNAVAILABLE <err>" / "REFUSED <err>", plus "ms=<elapsed>" for the
 * call, on one line. Exit 0 OK, 3 unavailable, 4 refused, 2 usage. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shiproom/etcd.h"
#include "shiproom/secret.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int done(int rc, const char *err, double t0)
{
	const char *name = rc == SR_ETCD_OK            ? "OK"
	                   : rc == SR_ETCD_UNAVAILABLE ? "UNAVAILABLE"
	                                               : "REFUSED";
	if (rc != SR_ETCD_OK)
		printf("%s %s ms=%.0f\n", name, err, now_ms() - t0);
	return rc == SR_ETCD_OK ? 0 : rc == SR_ETCD_UNAVAILABLE ? 3 : 4;
}

static void print_kvs(const struct sr_etcd_kvs *r)
{
	printf(" n=%d more=%d revision=%lld", r->n, r->more ? 1 : 0, r->revision);
	for (int i = 0; i < r->n; i++)
		printf(" [%s=%s c=%lld m=%lld v=%lld l=%lld]", r->kv[i].key, r->kv[i].value,
		       r->kv[i].create_revision, r->kv[i].mod_revision, r->kv[i].version,
		       r->kv[i].lease);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int p99 = (99 * n + 99) / 100 - 1; /* nearest rank: ceil(0.99 n), 1-based */
	printf("%s n=%d median_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", what, n, v[(n - 1) / 2], v[p99],
	       v[n - 1]);
}

/* N journal-like appends timed one by one: a txn with two compares (the
 * leader key's create revision is ours; the record's key does not exist
 * yet) and one put of a 256-byte record; and after each, the same bytes
 * appended to FILE and fsynced, the state dir's way. */
static int bench(struct sr_etcd *e, int n, const char *file, char *err, size_t en)
{
	double *te = calloc((size_t)n, sizeof *te), *tf = calloc((size_t)n, sizeof *tf);
	char rec[257], key[128];
	long long lead_rev = 0;
	bool ok = false;
	int rc = SR_ETCD_REFUSED, fd = -1;
	if (!te || !tf || n < 1)
		goto out;
	memset(rec, 'x', sizeof rec - 2);
	rec[sizeof rec - 2] = '\n';
	rec[sizeof rec - 1] = '\0';
	struct sr_etcd_cmp lc = {.key = "/bench/leader", .target = SR_ETCD_CMP_CREATE};
	struct sr_etcd_op lp = {
	    .kind = SR_ETCD_OP_PUT, .key = "/bench/leader", .value = "me", .vlen = 2};
	if ((rc = etcd_delete(e, "/bench/", "/bench0", err, en)) != SR_ETCD_OK ||
	    (rc = etcd_txn(e, &lc, 1, &lp, 1, NULL, 0, &ok, NULL, &lead_rev, err, en)) !=
	        SR_ETCD_OK)
		goto out;
	rc = SR_ETCD_REFUSED;
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0) {
		snprintf(err, en, "%s: cannot open", file);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof key, "/bench/journal/%08d", i);
		struct sr_etcd_cmp c[2] = {
		    {.key = "/bench/leader", .target = SR_ETCD_CMP_CREATE, .num = lead_rev},
		    {.key = key, .target = SR_ETCD_CMP_CREATE, .num = 0},
		};
		struct sr_etcd_op put = {
		    .kind = SR_ETCD_OP_PUT, .key = key, .value = rec, .vlen = sizeof rec - 1};
		double t0 = now_ms();
		rc = etcd_txn(e, c, 2, &put, 1, NULL, 0, &ok, NULL, NULL, err, en);
		te[i] = now_ms() - t0;
		if (rc != SR_ETCD_OK || !ok) {
			if (rc == SR_ETCD_OK)
				snprintf(err, en, "append %d: a compare failed", i);
			rc = SR_ETCD_REFUSED;
			goto out;
		}
		t0 = now_ms();
		if (write(fd, rec, sizeof rec - 1) != (ssize_t)(sizeof rec - 1) || fsync(fd) != 0) {
			snprintf(err, en, "%s: write or fsync failed", file);
			rc = SR_ETCD_REFUSED;
			goto out;
		}
		tf[i] = now_ms() - t0;
	}
	printf("appends of %zu bytes:\n", sizeof rec - 1);
	stats("  etcd txn (2 compares, 1 put)", te, n);
	stats("  file write + fsync          ", tf, n);
	rc = etcd_delete(e, "/bench/", "/bench0", err, en);
out:
	if (fd >= 0)
		close(fd);
	free(te);
	free(tf);
	return rc;
}

int main(int argc, char **argv)
{
	char err[1024] = "";
	if (argc < 3) {
		fprintf(stderr, "usage: etcd_probe STORE_JSON COMMAND ARGS...\n");
		return 2;
	}
	json_error_t je;
	json_t *o = json_load_file(argv[1], 0, &je);
	struct sr_etcd_config c;
	if (!o || etcd_config_from_json(&c, o, err, sizeof err) != 0) {
		printf("CONFIG %s\n", o ? err : je.text);
		json_decref(o);
		return 2;
	}
	json_decref(o);
	double t0 = now_ms();
	struct sr_etcd *e = etcd_open(&c, err, sizeof err);
	if (!e) {
		printf("OPEN %s ms=%.0f\n", err, now_ms() - t0);
		return 4;
	}
	const char *cmd = argv[2];
	int rc = -100;
	struct sr_etcd_kvs r = {0};
	bool ok = false;
	long long num = 0;
	int ttl = 0;
	char end[SR_ETCD_PREFIX_LEN];
	if (!strcmp(cmd, "put") && argc >= 5) {
		rc = etcd_put(e, argv[3], argv[4], strlen(argv[4]), argc > 5 ? atoll(argv[5]) : 0,
		              err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK");
	} else if (!strcmp(cmd, "put2") && argc == 6) {
		/* Two puts S seconds apart on one client: the auth token may
		 * expire in between. */
		rc = etcd_put(e, argv[3], argv[4], strlen(argv[4]), 0, err, sizeof err);
		if (rc == SR_ETCD_OK) {
			printf("OK first endpoint=%s\n", etcd_endpoint(e));
			fflush(stdout);
			usleep((useconds_t)(atof(argv[5]) * 1e6));
			rc = etcd_put(e, argv[3], argv[4], strlen(argv[4]), 0, err, sizeof err);
			if (rc == SR_ETCD_OK)
				printf("OK second");
		}
	} else if (!strcmp(cmd, "renew") && argc == 6) {
		/* N puts S seconds apart (each finding its token expired), then:
		 * is the password still redacted from messages? */
		int times = atoi(argv[3]);
		/* The scrubber as full as a service's may be: the password,
		 * the first token and 14 others (source, edge, webhook). */
		for (int i = 0; i < SR_SECRET_MAX - 2; i++) {
			char filler[32];
			snprintf(filler, sizeof filler, "other-secret-%02d", i);
			secret_register(filler);
		}
		rc = SR_ETCD_OK;
		for (int i = 0; i < times && rc == SR_ETCD_OK; i++) {
			if (i)
				usleep((useconds_t)(atof(argv[4]) * 1e6));
			rc = etcd_put(e, "/shiproom/renew", "v", 1, 0, err, sizeof err);
		}
		FILE *f = fopen(argv[5], "r");
		char line[300] = "", msg[400];
		if (f && fgets(line, sizeof line, f))
			line[strcspn(line, "\n")] = '\0';
		if (f)
			fclose(f);
		snprintf(msg, sizeof msg, "password=%s", line);
		secret_scrub(msg, sizeof msg);
		if (rc == SR_ETCD_OK)
			printf("OK puts=%d scrubbed=%d", times, strstr(msg, line) ? 0 : 1);
	} else if (!strcmp(cmd, "get") && argc == 4) {
		rc = etcd_range(e, argv[3], NULL, 0, &r, err, sizeof err);
		if (rc == SR_ETCD_OK) {
			printf("OK");
			print_kvs(&r);
		}
	} else if ((!strcmp(cmd, "range") && argc == 6) || (!strcmp(cmd, "prefix") && argc == 5)) {
		const char *re = NULL;
		if (!strcmp(cmd, "prefix")) {
			etcd_prefix_end(argv[3], end, sizeof end);
			re = end;
		} else if (strcmp(argv[4], "-") != 0) {
			re = argv[4];
		}
		rc = etcd_range(e, argv[3], re, atoll(argv[argc - 1]), &r, err, sizeof err);
		if (rc == SR_ETCD_OK) {
			printf("OK");
			print_kvs(&r);
		}
	} else if (!strcmp(cmd, "del") && argc >= 4) {
		rc = etcd_delete(e, argv[3], argc > 4 ? argv[4] : NULL, err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK");
	} else if (!strcmp(cmd, "create") && argc >= 5) {
		struct sr_etcd_cmp cm = {.key = argv[3], .target = SR_ETCD_CMP_CREATE, .num = 0};
		struct sr_etcd_op put = {.kind = SR_ETCD_OP_PUT,
		                         .key = argv[3],
		                         .value = argv[4],
		                         .vlen = strlen(argv[4]),
		                         .lease = argc > 5 ? atoll(argv[5]) : 0};
		struct sr_etcd_op get = {.kind = SR_ETCD_OP_RANGE, .key = argv[3]};
		rc = etcd_txn(e, &cm, 1, &put, 1, &get, 1, &ok, &r, &num, err, sizeof err);
		if (rc == SR_ETCD_OK) {
			printf("OK succeeded=%d", ok ? 1 : 0);
			print_kvs(&r);
		}
	} else if (!strcmp(cmd, "cas") && argc == 6) {
		struct sr_etcd_cmp cm = {
		    .key = argv[3], .target = SR_ETCD_CMP_MOD, .num = atoll(argv[4])};
		struct sr_etcd_op put = {.kind = SR_ETCD_OP_PUT,
		                         .key = argv[3],
		                         .value = argv[5],
		                         .vlen = strlen(argv[5])};
		struct sr_etcd_op get = {.kind = SR_ETCD_OP_RANGE, .key = argv[3]};
		rc = etcd_txn(e, &cm, 1, &put, 1, &get, 1, &ok, &r, &num, err, sizeof err);
		if (rc == SR_ETCD_OK) {
			printf("OK succeeded=%d", ok ? 1 : 0);
			print_kvs(&r);
		}
	} else if (!strcmp(cmd, "grant") && argc == 4) {
		rc = etcd_lease_grant(e, atoi(argv[3]), &num, err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK id=%lld", num);
	} else if (!strcmp(cmd, "keepalive") && argc == 4) {
		rc = etcd_lease_keepalive(e, atoll(argv[3]), &ttl, err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK ttl=%d", ttl);
	} else if (!strcmp(cmd, "revoke") && argc == 4) {
		rc = etcd_lease_revoke(e, atoll(argv[3]), err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK");
	} else if (!strcmp(cmd, "bench") && argc == 5) {
		rc = bench(e, atoi(argv[3]), argv[4], err, sizeof err);
		if (rc == SR_ETCD_OK)
			printf("OK");
	} else {
		fprintf(stderr, "etcd_probe: unknown command or arguments: %s\n", cmd);
		etcd_close(e);
		return 2;
	}
	etcd_kvs_free(&r);
	if (rc == SR_ETCD_OK)
		printf(" endpoint=%s ms=%.0f\n", etcd_endpoint(e), now_ms() - t0);
	etcd_close(e);
	return done(rc, err, t0);
}
