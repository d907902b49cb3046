/* bastion.c - leader or standby of a rollout kept in etcd (bastion.h). */
#include "shiproom/bastion.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/engine.h"
#include "shiproom/journal.h"
#include "shiproom/runner.h"
#include "shiproom/session.h"
#include "shiproom/wire.h"

#define KEY_LEN (SR_ETCD_PREFIX_LEN + SR_REQUEST_ID_LEN + 16)
/* A forwarded request the leader has not answered in this long is
 * withdrawn if it is still waiting (then it was never carried out). */
#define FORWARD_TIMEOUT_MS 30000
#define MAX_FORWARDS 32
/* Requests and answers are looked for this often; the lease is kept
 * alive at its own pace (leader_interval_ms). */
#define BASTION_TICK_MS 250

struct forward {
	bool used;
	long client;
	long long msg_id;
	char id[SR_REQUEST_ID_LEN];
	char action[SR_NAME_LEN];
	long long deadline; /* monotonic ms */
};

struct sr_bastion {
	struct sr_session *s;
	struct sr_store *st;
	struct sr_leader *l;
	struct sr_bastion_hooks h;
	char who[128];
	long long next_lease_tick; /* monotonic ms */
	long next_request;
	struct forward fw[MAX_FORWARDS];
	/* the forwarded request being carried out here (leader) */
	char doing[SR_REQUEST_ID_LEN];
	char doing_action[SR_NAME_LEN];
	bool was_available;
	char spool_said[256]; /* the last "spool: not merged" error said */
	char why[256];
};

static void keyf(const struct sr_bastion *b, char *out, size_t n, const char *kind, const char *id)
{
	snprintf(out, n, "%s/%s/%s", store_prefix(b->st), kind, id);
}

struct sr_bastion *bastion_create(struct sr_session *s, const struct sr_bastion_hooks *hooks,
                                  char *err, size_t n)
{
	if (!s->store) {
		snprintf(err, n, "the journal is in the state dir: no leadership to hold");
		return NULL;
	}
	struct sr_bastion *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	b->s = s;
	b->st = s->store;
	b->h = *hooks;
	char host[64] = "?";
	gethostname(host, sizeof host - 1);
	snprintf(b->who, sizeof b->who, "%.63s pid %d", host, (int)getpid());
	b->l = leader_create(b->st, s->store_ttl_s, b->who);
	if (!b->l) {
		free(b);
		snprintf(err, n, "out of memory");
		return NULL;
	}
	b->was_available = true;
	runner_set_follower(s->runner, true);
	s->runner->may_act = bastion_may_act;
	s->runner->may_act_ud = b;
	return b;
}

void bastion_free(struct sr_bastion *b)
{
	if (!b)
		return;
	leader_resign(b->l);
	leader_free(b->l);
	b->s->runner->may_act = NULL;
	free(b);
}

long long bastion_interval_ms(const struct sr_bastion *b)
{
	(void)b;
	return BASTION_TICK_MS;
}

bool bastion_leads(const struct sr_bastion *b)
{
	return leader_state(b->l) == SR_LEAD_LEADER;
}

static bool store_ok(const struct sr_bastion *b)
{
	return store_available(b->st, NULL) && !journal_spooling(b->s->journal);
}

void bastion_badge(const struct sr_bastion *b, char *buf, size_t n)
{
	if (!store_ok(b))
		snprintf(buf, n, "store unavailable (%s)",
		         journal_spooling(b->s->journal) ? "spooling" : "HOLD");
	else if (leader_state(b->l) == SR_LEAD_LEADER)
		snprintf(buf, n, "leader %s", b->who);
	else if (leader_state(b->l) == SR_LEAD_UNSURE)
		snprintf(buf, n, "leader? %s", b->who);
	else
		snprintf(buf, n, "standby; leader %s",
		         leader_holder(b->l)[0] ? leader_holder(b->l) : "none");
}

const char *bastion_may_act(void *ud, const struct sr_action_request *req)
{
	struct sr_bastion *b = ud;
	if (!store_ok(b)) {
		/* break-glass: a rollback still goes out, whoever leads */
		return req->kind == SR_ACT_ROLLBACK
		           ? NULL
		           : "store unavailable: nothing can be recorded, so nothing acts but a "
		             "rollback";
	}
	if (leader_may_act(b->l, leader_mono_ms()))
		return NULL;
	if (leader_state(b->l) == SR_LEAD_LEADER)
		return "the leader's lease is not surely alive (a pause, a slow store): not acting "
		       "until it is renewed";
	snprintf(b->why, sizeof b->why, "this service does not lead the rollout (leader: %.100s)",
	         leader_holder(b->l)[0] ? leader_holder(b->l) : "none yet");
	return b->why;
}

/* ---- forwarding (standby) ------------------------------------------------ */

static json_t *request_json(const struct sr_action_request *req, const char *id, const char *from)
{
	json_t *o = wire_request_json(req);
	if (o) {
		json_object_set_new(o, "id", json_string(id));
		json_object_set_new(o, "actor", json_string(req->actor));
		json_object_set_new(o, "from", json_string(from));
	}
	return o;
}

bool bastion_forward(struct sr_bastion *b, long client, long long msg_id,
                     const struct sr_action_request *req, char *why, size_t n)
{
	why[0] = '\0';
	if (leader_state(b->l) == SR_LEAD_LEADER || !store_ok(b))
		return false; /* carried out here: leading, or break-glass */
	if (leader_state(b->l) == SR_LEAD_UNSURE) {
		snprintf(why, n, "%s: this service's leadership is uncertain; try again",
		         sr_action_name(req->kind));
		return false;
	}
	struct forward *f = NULL;
	for (int i = 0; i < MAX_FORWARDS && !f; i++)
		if (!b->fw[i].used)
			f = &b->fw[i];
	if (!f) {
		snprintf(why, n, "%s: too many requests waiting for the leader",
		         sr_action_name(req->kind));
		return false;
	}
	char id[SR_REQUEST_ID_LEN], key[KEY_LEN], err[256];
	snprintf(id, sizeof id, "%.60s.%ld", b->who, ++b->next_request);
	for (char *p = id; *p; p++)
		if (*p == ' ' || *p == '/')
			*p = '-';
	keyf(b, key, sizeof key, "req", id);
	json_t *o = request_json(req, id, b->who);
	char *val = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	int rc = val ? etcd_put(store_etcd(b->st), key, val, strlen(val), 0, err, sizeof err)
	             : SR_ETCD_REFUSED;
	free(val);
	if (rc != SR_ETCD_OK) {
		snprintf(why, n, "%s not forwarded to the leader: %s", sr_action_name(req->kind),
		         err);
		return false;
	}
	f->used = true;
	f->client = client;
	f->msg_id = msg_id;
	sr_strlcpy(f->id, id, sizeof f->id);
	sr_strlcpy(f->action, sr_action_name(req->kind), sizeof f->action);
	f->deadline = leader_mono_ms() + FORWARD_TIMEOUT_MS;
	runner_log(b->s->runner, SR_LOG_ACTION, SR_GREEN, req->actor,
	           "%s forwarded to the leader (%s)", f->action, leader_holder(b->l));
	return true;
}

static void collect_answers(struct sr_bastion *b)
{
	struct sr_etcd *e = store_etcd(b->st);
	char key[KEY_LEN], err[256];
	int waiting = 0;
	for (int i = 0; i < MAX_FORWARDS; i++)
		waiting += b->fw[i].used;
	if (!waiting)
		return; /* nothing asked: no round trip */
	for (int i = 0; i < MAX_FORWARDS; i++) {
		struct forward *f = &b->fw[i];
		if (!f->used)
			continue;
		keyf(b, key, sizeof key, "res", f->id);
		struct sr_etcd_kvs kvs = {0};
		if (etcd_range(e, key, NULL, 1, &kvs, err, sizeof err) != SR_ETCD_OK) {
			etcd_kvs_free(&kvs);
			return; /* the store is away: the deadline still runs */
		}
		if (kvs.n > 0) {
			json_error_t je;
			json_t *o = json_loadb(kvs.kv[0].value, kvs.kv[0].vlen, 0, &je);
			const char *outcome = json_string_value(json_object_get(o, "outcome"));
			const char *msg = json_string_value(json_object_get(o, "message"));
			json_t *w = json_object_get(o, "weight");
			char clean[SR_TEXT_LEN * 2];
			sr_sanitize(clean, msg ? msg : "", sizeof clean);
			b->h.answer(b->h.ud, f->client, f->msg_id, f->action,
			            outcome ? outcome : "failed", clean,
			            json_is_integer(w) ? (int)json_integer_value(w) : -1);
			json_decref(o);
			etcd_delete(e, key, NULL, err, sizeof err);
			f->used = false;
		} else if (leader_mono_ms() > f->deadline) {
			/* Withdraw it if the leader never took it. */
			char rkey[KEY_LEN];
			keyf(b, rkey, sizeof rkey, "req", f->id);
			struct sr_etcd_cmp cmp = {.key = rkey,
			                          .target = SR_ETCD_CMP_CREATE,
			                          .result = SR_ETCD_GT,
			                          .num = 0};
			struct sr_etcd_op del = {.kind = SR_ETCD_OP_DELETE, .key = rkey};
			bool withdrawn = false;
			if (etcd_txn(e, &cmp, 1, &del, 1, NULL, 0, &withdrawn, NULL, NULL, err,
			             sizeof err) == SR_ETCD_OK) {
				b->h.answer(b->h.ud, f->client, f->msg_id, f->action,
				            withdrawn ? "refused" : "failed",
				            withdrawn ? "no leader took the request in 30 s: not "
				                        "carried out (withdrawn)"
				                      : "the leader took the request but has not "
				                        "answered: see the journal for its outcome",
				            -1);
				f->used = false;
			}
		}
		etcd_kvs_free(&kvs);
	}
}

/* ---- carrying out (leader) ----------------------------------------------- */

static void answer_request(struct sr_bastion *b, const char *id, const char *action,
                           const char *outcome, const char *message, int weight)
{
	char rkey[KEY_LEN], akey[KEY_LEN], err[256];
	keyf(b, rkey, sizeof rkey, "req", id);
	keyf(b, akey, sizeof akey, "res", id);
	json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "action", action, "outcome", outcome,
	                      "message", message, "weight", weight);
	char *val = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!val)
		return;
	/* the answer and the request's removal: one step */
	struct sr_etcd_op ops[2] = {
	    {.kind = SR_ETCD_OP_PUT, .key = akey, .value = val, .vlen = strlen(val)},
	    {.kind = SR_ETCD_OP_DELETE, .key = rkey},
	};
	bool ok = false;
	etcd_txn(store_etcd(b->st), NULL, 0, ops, 2, NULL, 0, &ok, NULL, NULL, err, sizeof err);
	free(val);
}

static void finish_doing(struct sr_bastion *b)
{
	struct sr_runner *r = b->s->runner;
	if (!b->doing[0] || r->action_in_flight)
		return;
	answer_request(b, b->doing, b->doing_action, action_outcome_name(r->flight.result.outcome),
	               r->flight.result.message, r->flight.result.weight);
	b->doing[0] = '\0';
}

static void carry_out(struct sr_bastion *b, const json_t *o)
{
	struct sr_runner *r = b->s->runner;
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *name = json_string_value(json_object_get(o, "action"));
	const struct sr_action_def *d = name ? action_by_name(name) : NULL;
	if (!id || !id[0])
		return;
	if (!d) {
		answer_request(b, id, name ? name : "?", "refused", "unknown action", -1);
		return;
	}
	/* Carried out already (by this leader or one before it)? */
	const struct sr_request_seen *seen = runner_request_seen(r, id);
	if (seen) {
		answer_request(b, id, d->name, seen->ok ? "done" : "failed", seen->what,
		               r->engine.ro.weight);
		return;
	}
	struct sr_action_request req;
	memset(&req, 0, sizeof req);
	req.kind = d->kind;
	wire_request_read(o, &req);
	const char *actor = json_string_value(json_object_get(o, "actor"));
	sr_sanitize(req.actor, actor ? actor : "", sizeof req.actor);
	sr_strlcpy(req.request, id, sizeof req.request);
	struct sr_action_result res;
	memset(&res, 0, sizeof res);
	res.weight = -1;
	action_dispatch(r, &req, &res);
	session_workflow(b->s);
	if (res.outcome == SR_ACT_PENDING) {
		sr_strlcpy(b->doing, id, sizeof b->doing);
		sr_strlcpy(b->doing_action, d->name, sizeof b->doing_action);
		return;
	}
	answer_request(b, id, d->name, action_outcome_name(res.outcome), res.message, res.weight);
}

static void carry_out_requests(struct sr_bastion *b)
{
	struct sr_runner *r = b->s->runner;
	finish_doing(b);
	if (b->doing[0] || r->action_in_flight || r->reconciling)
		return;
	char from[KEY_LEN], end[KEY_LEN], err[256];
	keyf(b, from, sizeof from, "req", "");
	etcd_prefix_end(from, end, sizeof end);
	struct sr_etcd_kvs kvs = {0};
	if (etcd_range(store_etcd(b->st), from, end, 8, &kvs, err, sizeof err) != SR_ETCD_OK) {
		etcd_kvs_free(&kvs);
		return;
	}
	/* the journal first: a request a predecessor carried out is in it */
	runner_journal_poll(r);
	for (int i = 0; i < kvs.n && !b->doing[0] && !r->action_in_flight; i++) {
		json_error_t je;
		json_t *o = json_loadb(kvs.kv[i].value, kvs.kv[i].vlen, 0, &je);
		if (json_is_object(o))
			carry_out(b, o);
		json_decref(o);
	}
	etcd_kvs_free(&kvs);
}

/* ---- the tick ----------------------------------------------------------------- */

static void say(struct sr_bastion *b, enum sr_status sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct sr_bastion *b, enum sr_status sev, const char *fmt, ...)
{
	char text[SR_REASON_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	runner_log(b->s->runner, SR_LOG_ACTION, sev, "", "%s", text);
}

static void became(struct sr_bastion *b)
{
	struct sr_runner *r = b->s->runner;
	enum sr_lead st = leader_state(b->l);
	if (st == SR_LEAD_LEADER) {
		/* Everything the predecessor wrote, then its loose ends: an
		 * intent without outcome is reconciled with the edge before
		 * this service acts on anything. */
		runner_journal_poll(r);
		runner_set_follower(r, false);
		say(b, SR_YELLOW, "%s: %s", b->who, leader_why(b->l));
		runner_reconcile(r);
	} else {
		runner_set_follower(r, true);
		say(b, st == SR_LEAD_UNSURE ? SR_RED : SR_YELLOW, "%s",
		    leader_why(b->l)[0] ? leader_why(b->l) : "standing by");
	}
	if (b->h.changed)
		b->h.changed(b->h.ud, st, leader_why(b->l));
}

static void merge_spool(struct sr_bastion *b)
{
	char err[256];
	bool rebuild = false;
	int merged = 0;
	int rc = journal_store_merge(b->s->journal, bastion_leads(b), &rebuild, &merged, err,
	                             sizeof err);
	if (rc != 0) {
		/* said once: a full store refuses at every tick until an
		 * operator makes room */
		if (rc != SR_STORE_UNAVAILABLE && strcmp(err, b->spool_said) != 0)
			say(b, SR_RED, "spool: not merged: %s", err);
		sr_strlcpy(b->spool_said, rc == SR_STORE_UNAVAILABLE ? "" : err,
		           sizeof b->spool_said);
		return;
	}
	b->spool_said[0] = '\0';
	if (merged > 0)
		say(b, SR_YELLOW, "spool: %d break-glass record%s merged into the store", merged,
		    merged == 1 ? "" : "s");
	if (rebuild && b->h.reread)
		b->h.reread(b->h.ud, "spooled records landed after other records in the store");
}

void bastion_tick(struct sr_bastion *b)
{
	struct sr_runner *r = b->s->runner;
	long long mono = leader_mono_ms();
	char err[256];
	if (journal_store_fenced(b->s->journal) && leader_state(b->l) != SR_LEAD_STANDBY) {
		leader_deposed(b->l, journal_store_note(b->s->journal));
		became(b);
	}
	if (journal_spooling(b->s->journal) || !store_available(b->st, NULL)) {
		/* is it back? */
		if (store_probe(b->st, err, sizeof err) == SR_STORE_OK)
			merge_spool(b);
	}
	/* A standby asks at every tick (one read while a leader lives): a
	 * take-over follows the lease's expiry by a tick, not a third of
	 * the TTL; the leader renews at its own pace. */
	if (mono >= b->next_lease_tick || leader_state(b->l) == SR_LEAD_STANDBY) {
		b->next_lease_tick = mono + leader_interval_ms(b->l);
		if (leader_tick(b->l, mono))
			became(b);
	}
	bool ok = store_ok(b);
	/* What keeps the journal from the store: it does not answer, or it
	 * answers but takes no write (etcd's NOSPACE alarm) */
	bool answers = store_available(b->st, NULL);
	char trouble[160] = "";
	if (!answers)
		sr_strlcpy(trouble, "store unavailable", sizeof trouble);
	else if (!ok)
		snprintf(trouble, sizeof trouble, "store takes no write (%.120s)",
		         journal_store_note(b->s->journal)[0] ? journal_store_note(b->s->journal)
		                                              : "records wait in the spool");
	if (ok != b->was_available) {
		b->was_available = ok;
		if (ok)
			say(b, SR_GREEN, "store: etcd takes records again (%s)",
			    etcd_endpoint(store_etcd(b->st)));
		else
			say(b, SR_RED, "%s: %s", trouble,
			    answers ? "break-glass records wait in the spool"
			            : "no etcd member answers with a quorum");
	}
	runner_recording(r, trouble);
	if (!ok)
		return;
	if (leader_state(b->l) == SR_LEAD_LEADER)
		carry_out_requests(b);
	else
		runner_journal_poll(r); /* the leader's records within a tick, not a poll */
	/* also as the leader: a request forwarded while standing by is
	 * answered by whoever led then or leads now (this service, after a
	 * take-over: from the journal) */
	collect_answers(b);
}
