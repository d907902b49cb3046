/* leader.c - the leader key, its lease and the fence (leader.h). */
#include "shiproom/leader.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shiproom/common.h"

/* A lease is believed ours until its TTL, counted from when the
 * keepalive that renewed it was sent, less this margin (clock drift
 * between this host and etcd's leader, a slow answer). */
#define LEASE_MARGIN_MS 750

struct sr_leader {
	struct sr_store *st;
	int ttl_s;
	char who[128];
	enum sr_lead state;
	long long lease;       /* 0: none */
	long long valid_until; /* monotonic ms: the lease surely ours before it */
	long long last_ok;     /* monotonic ms of the last answer from etcd */
	char holder[160];
	char why[256];
};

static void whyf(struct sr_leader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void whyf(struct sr_leader *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof l->why, fmt, ap);
	va_end(ap);
}

long long leader_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *leader_state_name(enum sr_lead s)
{
	switch (s) {
	case SR_LEAD_LEADER: return "leader";
	case SR_LEAD_UNSURE: return "unsure";
	default: return "standby";
	}
}

struct sr_leader *leader_create(struct sr_store *st, int ttl_s, const char *who)
{
	struct sr_leader *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->st = st;
	l->ttl_s = ttl_s > 1 ? ttl_s : 2;
	sr_sanitize(l->who, who ? who : "", sizeof l->who);
	l->state = SR_LEAD_STANDBY;
	return l;
}

enum sr_lead leader_state(const struct sr_leader *l)
{
	return l->state;
}

const char *leader_holder(const struct sr_leader *l)
{
	return l->holder;
}

const char *leader_why(const struct sr_leader *l)
{
	return l->why;
}

long long leader_interval_ms(const struct sr_leader *l)
{
	/* a third of the TTL keeps a lease alive through one lost answer; a
	 * standby asks as often, so a take-over follows an expiry closely */
	long long ms = (long long)l->ttl_s * 1000 / 3;
	return ms < 250 ? 250 : ms > 2000 ? 2000 : ms;
}

bool leader_may_act(const struct sr_leader *l, long long mono_ms)
{
	return l->state == SR_LEAD_LEADER && mono_ms < l->valid_until;
}

static void lose(struct sr_leader *l)
{
	l->state = SR_LEAD_STANDBY;
	l->lease = 0;
	l->valid_until = 0;
	store_set_fence(l->st, 0);
}

void leader_deposed(struct sr_leader *l, const char *why)
{
	if (l->state == SR_LEAD_STANDBY)
		return;
	lose(l);
	whyf(l, "lost the leadership: %s", why);
}

/* Who holds the key (its value is {"who","since"}). */
static void read_holder(struct sr_leader *l, const struct sr_etcd_kv *kv)
{
	json_error_t je;
	json_t *o = kv ? json_loadb(kv->value, kv->vlen, 0, &je) : NULL;
	const char *who = json_string_value(json_object_get(o, "who"));
	sr_sanitize(l->holder, who ? who : (kv ? "?" : ""), sizeof l->holder);
	json_decref(o);
}

static bool campaign(struct sr_leader *l, long long mono)
{
	struct sr_etcd *e = store_etcd(l->st);
	char err[256];
	const char *key = store_leader_key(l->st);
	/* Look first: a standby that grants a lease on every tick would
	 * leave a trail of leases to expire. */
	struct sr_etcd_kvs kvs = {0};
	int rc = etcd_range(e, key, NULL, 1, &kvs, err, sizeof err);
	if (rc != SR_ETCD_OK) {
		etcd_kvs_free(&kvs);
		return false;
	}
	l->last_ok = mono;
	if (kvs.n > 0) {
		read_holder(l, &kvs.kv[0]);
		etcd_kvs_free(&kvs);
		return false;
	}
	etcd_kvs_free(&kvs);
	long long lease = 0;
	long long sent = leader_mono_ms();
	if (etcd_lease_grant(e, l->ttl_s, &lease, err, sizeof err) != SR_ETCD_OK)
		return false;
	json_t *v = json_pack("{s:s, s:I}", "who", l->who, "since", (json_int_t)time(NULL) * 1000);
	char *val = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!val)
		return false;
	struct sr_etcd_cmp cmp = {
	    .key = key, .target = SR_ETCD_CMP_CREATE, .result = SR_ETCD_EQ, .num = 0};
	struct sr_etcd_op put = {
	    .kind = SR_ETCD_OP_PUT, .key = key, .value = val, .vlen = strlen(val), .lease = lease};
	struct sr_etcd_op get = {.kind = SR_ETCD_OP_RANGE, .key = key};
	bool won = false;
	long long rev = 0;
	struct sr_etcd_kvs got = {0};
	rc = etcd_txn(e, &cmp, 1, &put, 1, &get, 1, &won, &got, &rev, err, sizeof err);
	free(val);
	if (rc == SR_ETCD_OK && !won && got.n > 0 && got.kv[0].lease == lease) {
		/* Our own put, applied by a member that timed out before the
		 * client tried the next: the key is ours, under our lease. */
		won = true;
		rev = got.kv[0].create_revision;
	}
	if (rc != SR_ETCD_OK || !won) {
		if (rc == SR_ETCD_OK && got.n > 0)
			read_holder(l, &got.kv[0]);
		etcd_kvs_free(&got);
		etcd_lease_revoke(e, lease, err, sizeof err);
		return false;
	}
	etcd_kvs_free(&got);
	/* the put's revision is the key's create revision: the fence */
	l->lease = lease;
	l->valid_until = sent + (long long)l->ttl_s * 1000 - LEASE_MARGIN_MS;
	l->state = SR_LEAD_LEADER;
	store_set_fence(l->st, rev);
	sr_strlcpy(l->holder, l->who, sizeof l->holder);
	whyf(l, "leading the rollout (fence %lld, lease %ds)", rev, l->ttl_s);
	return true;
}

static bool keep_alive(struct sr_leader *l, long long mono)
{
	char err[256];
	int ttl = 0;
	long long sent = leader_mono_ms();
	int rc = etcd_lease_keepalive(store_etcd(l->st), l->lease, &ttl, err, sizeof err);
	if (rc == SR_ETCD_UNAVAILABLE) {
		/* Cannot renew: leading only while the lease surely lasts. */
		if (l->state == SR_LEAD_LEADER && mono >= l->valid_until) {
			l->state = SR_LEAD_UNSURE;
			whyf(l,
			     "the store does not answer and the lease may have expired: not acting "
			     "(a rollback still can: break-glass)");
			return true;
		}
		return false;
	}
	l->last_ok = mono;
	if (rc != SR_ETCD_OK || ttl <= 0) {
		lose(l);
		whyf(l,
		     "lost the leadership: the lease expired (the service was paused or cut "
		     "off past its %ds TTL)",
		     l->ttl_s);
		return true;
	}
	bool was_unsure = l->state == SR_LEAD_UNSURE;
	l->valid_until = sent + (long long)ttl * 1000 - LEASE_MARGIN_MS;
	if (was_unsure) {
		/* the lease survived the outage (etcd renews leases on a new
		 * raft leader): the key, and so the fence, may still be ours */
		struct sr_etcd_kvs kvs = {0};
		rc = etcd_range(store_etcd(l->st), store_leader_key(l->st), NULL, 1, &kvs, err,
		                sizeof err);
		bool ours = rc == SR_ETCD_OK && kvs.n > 0 &&
		            kvs.kv[0].create_revision == store_fence(l->st);
		etcd_kvs_free(&kvs);
		if (rc != SR_ETCD_OK)
			return false;
		if (!ours) {
			lose(l);
			whyf(l, "lost the leadership while the store was away");
			return true;
		}
		l->state = SR_LEAD_LEADER;
		whyf(l, "the store answers again: leading on (fence %lld)", store_fence(l->st));
		return true;
	}
	return false;
}

bool leader_tick(struct sr_leader *l, long long mono)
{
	if (l->state == SR_LEAD_STANDBY)
		return campaign(l, mono);
	return keep_alive(l, mono);
}

void leader_resign(struct sr_leader *l)
{
	char err[256];
	if (l->lease && l->state != SR_LEAD_STANDBY)
		etcd_lease_revoke(store_etcd(l->st), l->lease, err, sizeof err);
	lose(l);
}

void leader_free(struct sr_leader *l)
{
	free(l);
}
