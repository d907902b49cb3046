/* runner.c - one rollout session: journal, poll, evaluate, log, act.
 *
 * The runner is the redis-style cron that the console, `shiproom status`,
 * `shiproom act`, `shiproom watch` and the tests all drive, so the screen
 * and the headless answers come from the same code and cannot disagree.
 * One turn (runner_tick):
 *
 *   1. read what the journal gained since the last turn (another
 *      console's actions) and apply it to the rollout;
 *   2. poll the source (the simulator answers at once; Prometheus later,
 *      from the loop: the rest of the turn runs in the poll's callback);
 *      while a poll is still out, no new one: the last snapshot is
 *      evaluated again once all of its data has gone stale (see
 *      runner_reevaluate), so a hung source shows STALE, never the last
 *      GREEN;
 *   3. engine_evaluate at the tick's time;
 *   4. record one history point per minute;
 *   5. drain the engine's events into the log and the journal (status and
 *      trigger changes; a trigger that starts FIRING raises r->alarm), and
 *      journal a snapshot of every cell at T-0 and at each gate;
 *   6. with the policy's auto_rollback, roll back while a trigger fires
 *      (as actor "auto-rollback", which the policy authorises: action.h);
 *   7. play the scenario's due script steps through action_dispatch,
 *      retrying refused steps each poll until their retry_until_min.
 *
 * The rollout is rebuilt from the journal. Every event read back from the
 * file - at start-up the whole file, later what any console appended, this
 * one's own records included - goes through journal_apply(), the same
 * function `shiproom replay` uses. The action dispatcher therefore never
 * changes the rollout itself when there is a journal: it writes the
 * record and reads it back (action.c).
 */
#include "shiproom/runner.h"

#include <malloc.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "shiproom/action.h"
#include "shiproom/clock.h"
#include "shiproom/obsrec.h"

#define WATCH_MS 1000
#define SNAP_EVERY_MS (10 * SR_MS_PER_MIN)
#define AUTO_ROLLBACK_COOLDOWN_MS (60 * SR_MS_PER_S)

void runner_init(struct sr_runner *r, const struct sr_policy *p, const struct sr_scenario *sc,
                 struct sr_source *src, struct sr_edge *edge, bool read_only, const char *owner)
{
	/* Zero everything but what is sized for SR_MAX_CELLS: the engine
	 * (engine_init writes its head and the policy's cells), the history
	 * ring (history_init) and the observations of the two snapshots and
	 * their messages (written before read, up to their ncells; a message
	 * only with its has_msg). Zeros over them would only make megabytes
	 * of capacity resident (common.h). In declaration order, so the
	 * offsets ascend. */
	const size_t obs_sz = sizeof r->held.canary, msg_sz = sizeof r->held.canary_msg;
	const size_t skip[][2] = {
	    {offsetof(struct sr_runner, engine), sizeof r->engine},
	    {offsetof(struct sr_runner, history), sizeof r->history},
	    {offsetof(struct sr_runner, held.canary), obs_sz},
	    {offsetof(struct sr_runner, held.control), obs_sz},
	    {offsetof(struct sr_runner, held.canary_msg), msg_sz},
	    {offsetof(struct sr_runner, held.control_msg), msg_sz},
	    {offsetof(struct sr_runner, obs_prev.canary), obs_sz},
	    {offsetof(struct sr_runner, obs_prev.control), obs_sz},
	    {offsetof(struct sr_runner, obs_prev.canary_msg), msg_sz},
	    {offsetof(struct sr_runner, obs_prev.control_msg), msg_sz},
	};
	size_t at = 0;
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
		memset((char *)r + at, 0, skip[i][0] - at);
		at = skip[i][0] + skip[i][1];
	}
	memset((char *)r + at, 0, sizeof *r - at);
	r->policy = p;
	r->scenario = sc;
	r->source = src;
	/* Read-only: no edge at all, so nothing can move traffic even by
	 * mistake (the dispatcher refuses first anyway). */
	r->edge = read_only ? NULL : edge;
	r->read_only = read_only;
	sr_sanitize(r->owner, owner ? owner : "", sizeof r->owner);
	sr_ms t0 = sc ? sc->t0 : 0;
	engine_init(&r->engine, p, t0);
	history_init(&r->history, p, SR_MS_PER_MIN);
	r->now = sc ? t0 + (sr_ms)sc->start_min * SR_MS_PER_MIN : 0;
	r->backoff_ms = SR_MS_PER_S;
	r->own_rc = 2;
	r->adaptive = src && src->ops && src->ops->honours_ask;
	r->logged_poll_mode = -1;
	poll_schedule_init(&r->sched, p->poll_ms, r->adaptive ? p->fast_poll_ms : 0,
	                   p->fast_margin_pct);
}

/* ---- log ------------------------------------------------------------------------ */

static void log_vat(struct sr_runner *r, sr_ms at, enum sr_log_kind kind, enum sr_status sev,
                    const char *actor, const char *fmt, va_list ap)
{
	struct sr_log_entry *e = &r->log[r->nlog % SR_LOG_LEN];
	char text[SR_REASON_LEN];
	vsnprintf(text, sizeof text, fmt, ap);
	e->at = at;
	e->kind = kind;
	e->severity = sev;
	sr_sanitize(e->actor, actor ? actor : "", sizeof e->actor);
	sr_sanitize(e->text, text, sizeof e->text);
	r->nlog++;
	if (r->on_log)
		r->on_log(r->on_log_ud);
}

void runner_log(struct sr_runner *r, enum sr_log_kind kind, enum sr_status sev, const char *actor,
                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vat(r, r->now, kind, sev, actor, fmt, ap);
	va_end(ap);
}

/* The same at the time something happened (a journal event's `at`). */
static void log_at(struct sr_runner *r, sr_ms at, enum sr_log_kind kind, enum sr_status sev,
                   const char *actor, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void log_at(struct sr_runner *r, sr_ms at, enum sr_log_kind kind, enum sr_status sev,
                   const char *actor, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vat(r, at, kind, sev, actor, fmt, ap);
	va_end(ap);
}

const struct sr_log_entry *runner_log_entry(const struct sr_runner *r, int i)
{
	int have = r->nlog < SR_LOG_LEN ? r->nlog : SR_LOG_LEN;
	if (i < 0 || i >= have)
		return NULL;
	return &r->log[(r->nlog - 1 - i) % SR_LOG_LEN];
}

void runner_owner_login(char *buf, size_t n)
{
	/* The process owner, not $USER: the environment is the caller's to
	 * set, the uid is not. */
	struct passwd *pw = getpwuid(geteuid());
	if (pw && pw->pw_name)
		sr_sanitize(buf, pw->pw_name, n);
	else
		snprintf(buf, n, "uid%ld", (long)geteuid());
}

/* ---- reading the journal ---------------------------------------------------------- */

static bool journal_writable(const struct sr_runner *r)
{
	return r->journal && !r->journal_ro && !r->read_only && !r->follower;
}

static void follow_evaluate(struct sr_runner *r, struct sr_follow *f, const struct sr_jevent *ev);

static const char *jstr(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

static long long jint(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static double jnum(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int cell_of(const struct sr_policy *p, const json_t *o)
{
	int k = policy_kpi_index(p, jstr(o, "kpi", ""));
	const char *jid = jstr(o, "journey", NULL);
	int j = jid ? policy_journey_index(p, jid) : -1;
	if (k < 0 || (jid && j < 0))
		return -1;
	return policy_cell_index(p, k, j);
}

/* A snapshot's label: the T-0 baselines, and which gates have one. */
static void note_snapshot(struct sr_runner *r, const struct sr_jevent *ev)
{
	const struct sr_policy *p = r->policy;
	const char *label = journal_event_str(ev, "label", "");
	if (ev->at > r->snap_last)
		r->snap_last = ev->at; /* any console's snapshot counts */
	if (strcmp(label, "T-0") == 0) {
		double control[SR_MAX_CELLS];
		r->snap_t0 = true;
		journal_snapshot_control(ev, p, control, p->ncells);
		/* The baseline kept in the journal wins over none; one already
		 * taken by this engine is the same value. */
		for (int c = 0; c < p->ncells; c++)
			if (isnan(r->engine.t0_baseline[c]) && isfinite(control[c]))
				r->engine.t0_baseline[c] = control[c];
		return;
	}
	for (int g = 0; g < p->ngates && g < 32; g++)
		if (strcmp(label, p->gates[g].name) == 0)
			r->snap_gates |= 1u << g;
}

/* What an action event says, in the log's words: the dispatcher's words
 * (action.c, done_text), so a replay's log reads as the live one did. */
static void event_text(const struct sr_runner *r, const struct sr_jevent *ev, char *buf, size_t n)
{
	const json_t *o = journal_event_obj(ev);
	const struct sr_policy *p = r->policy;
	const char *who = ev->actor[0] ? ev->actor : "the engine";
	const char *reason = jstr(o, "reason", "");
	const char *action = jstr(o, "action", "?");
	long long w = jint(o, "weight", -1);
	long long gate = jint(o, "gate", -1);
	switch (ev->type) {
	case SR_J_START:
		snprintf(buf, n, "rollout %.48s started by %s", jstr(o, "rollout", "?"), who);
		return;
	case SR_J_INTENT:
		snprintf(buf, n, "%s started: %s to %lld%%%s%.80s", who, action, w,
		         reason[0] ? ": " : "", reason);
		return;
	case SR_J_OUTCOME:
		if (strcmp(jstr(o, "result", ""), "ok") != 0)
			snprintf(buf, n, "%s by %s FAILED: %.120s", action, who,
			         jstr(o, "error", ""));
		else if (strcmp(action, "promote") == 0)
			snprintf(buf, n, "promote to %lld%% by %s (edge read back %lld%%)", w, who,
			         w);
		else if (strcmp(action, "rollback") == 0)
			/* its reason is the intent's, applied to the rollout by now */
			snprintf(buf, n,
			         "rollback by %s: canary weight 0%%, drained (edge read back "
			         "%lld%%)%s%.100s",
			         who, w, r->engine.ro.rollback_reason[0] ? ": " : "",
			         r->engine.ro.rollback_reason);
		else
			snprintf(buf, n, "%s by %s (edge read back %lld%%)", action, who, w);
		return;
	case SR_J_RECONCILE:
		snprintf(buf, n, "reconciled %s by %s: %s, edge at %lld%%", action, who,
		         strcmp(jstr(o, "result", ""), "ok") == 0 ? "it took effect" : "it did not",
		         w);
		return;
	case SR_J_APPROVAL:
		snprintf(buf, n, "%s approved by %s%s%.100s",
		         gate >= 0 && gate < p->ngates ? p->gates[gate].name : "gate", who,
		         reason[0] ? ": " : "", reason);
		return;
	case SR_J_TICK:
		snprintf(buf, n, "%.40s: %.40s ticked by %s", jstr(o, "checklist", "?"),
		         jstr(o, "item", "?"), who);
		return;
	case SR_J_UNTICK:
		snprintf(buf, n, "%.40s: %.40s tick undone by %s: %.100s",
		         jstr(o, "checklist", "?"), jstr(o, "item", "?"), who, reason);
		return;
	case SR_J_NOTE: snprintf(buf, n, "note by %s: %.150s", who, reason); return;
	case SR_J_HOLD: snprintf(buf, n, "hold by %s: %.120s", who, reason); return;
	case SR_J_RESUME: snprintf(buf, n, "resume by %s", who); return;
	case SR_J_TIEBREAK: snprintf(buf, n, "tie-break by %s", who); return;
	case SR_J_SUCCESS: snprintf(buf, n, "success declared by %s", who); return;
	case SR_J_TORN:
		snprintf(
		    buf, n,
		    "journal: a torn last line (%lld bytes at offset %lld) was moved to %.100s",
		    jint(o, "bytes", 0), jint(o, "offset", 0), jstr(o, "saved_to", "?"));
		return;
	default: buf[0] = '\0'; return;
	}
}

static bool is_action_event(enum sr_jtype t)
{
	return t == SR_J_START || t == SR_J_INTENT || t == SR_J_OUTCOME || t == SR_J_RECONCILE ||
	       t == SR_J_APPROVAL || t == SR_J_TICK || t == SR_J_HOLD || t == SR_J_RESUME ||
	       t == SR_J_TIEBREAK || t == SR_J_SUCCESS || t == SR_J_TORN || t == SR_J_UNTICK ||
	       t == SR_J_NOTE;
}

/* Log an event this console did not write: a past one at start-up
 * ("journal: ...") or another console's ("another console: ..."). */
static void log_foreign(struct sr_runner *r, const struct sr_jevent *ev, int rc, const char *why)
{
	char text[SR_REASON_LEN];
	if (!is_action_event(ev->type))
		return;
	/* At start-up and in a replay an intent is followed by its outcome:
	 * one line will do, as the console that acted logged one. */
	if (ev->type == SR_J_INTENT && (!r->journal_live || r->feed))
		return;
	event_text(r, ev, text, sizeof text);
	enum sr_status sev = SR_GREEN;
	if (ev->type == SR_J_TORN || ev->type == SR_J_RECONCILE || ev->type == SR_J_INTENT ||
	    strcmp(journal_event_str(ev, "action", ""), "rollback") == 0)
		sev = SR_YELLOW;
	if (ev->type == SR_J_OUTCOME && strcmp(journal_event_str(ev, "result", ""), "ok") != 0)
		sev = SR_RED;
	enum sr_log_kind kind = ev->type == SR_J_APPROVAL ? SR_LOG_APPROVAL
	                        : ev->type == SR_J_TORN   ? SR_LOG_INFO
	                                                  : SR_LOG_ACTION;
	const char *from = r->journal_live && !r->feed ? "another console" : "journal";
	if (r->feed && rc == 0) {
		/* a replay: the line as the console that acted logged it */
		log_at(r, ev->at, kind, sev, ev->actor, "%s", text);
		return;
	}
	if (rc < 0)
		log_at(r, ev->at, kind, SR_YELLOW, ev->actor, "%s: %s (not applied: %.80s)", from,
		       text, why);
	else if (rc > 0)
		log_at(r, ev->at, kind, SR_YELLOW, ev->actor, "%s: %s (%.100s)", from, text, why);
	else
		log_at(r, ev->at, kind, sev, ev->actor, "%s: %s", from, text);
}

/* A record that carries a forwarded request's id (bastion.h); an
 * outcome carries none, so it is matched to its intent by key. */
static void note_request(struct sr_runner *r, const struct sr_jevent *ev)
{
	const char *id = journal_event_str(ev, "request", NULL);
	struct sr_request_seen *rs = NULL;
	if (id && id[0]) {
		int n = r->nrequests_seen;
		int cap = (int)(sizeof r->requests_seen / sizeof r->requests_seen[0]);
		if (n == cap) {
			memmove(&r->requests_seen[0], &r->requests_seen[1],
			        (size_t)(cap - 1) * sizeof r->requests_seen[0]);
			n--;
		}
		rs = &r->requests_seen[n];
		r->nrequests_seen = n + 1;
		memset(rs, 0, sizeof *rs);
		sr_strlcpy(rs->id, id, sizeof rs->id);
		rs->ok = true;
	} else if (ev->type == SR_J_OUTCOME || ev->type == SR_J_RECONCILE) {
		/* the intent with this key, if it was a forwarded one */
		const char *key = journal_event_str(ev, "key", "");
		for (int i = r->nrequests_seen; i-- > 0 && !rs;)
			if (strstr(r->requests_seen[i].what, key) && key[0])
				rs = &r->requests_seen[i];
		if (!rs)
			return;
		rs->ok = strcmp(journal_event_str(ev, "result", ""), "ok") == 0;
	} else {
		return;
	}
	char text[SR_REASON_LEN + 80];
	event_text(r, ev, text, SR_REASON_LEN);
	if (ev->type == SR_J_INTENT) {
		/* the key last: an outcome finds its intent by it */
		size_t l = strlen(text);
		if (l > sizeof rs->what - 70)
			l = sizeof rs->what - 70;
		snprintf(text + l, sizeof text - l, " [%.64s]", journal_event_str(ev, "key", ""));
	}
	sr_strlcpy(rs->what, text, sizeof rs->what);
}

const struct sr_request_seen *runner_request_seen(const struct sr_runner *r, const char *id)
{
	for (int i = r->nrequests_seen; i-- > 0;)
		if (strcmp(r->requests_seen[i].id, id) == 0)
			return &r->requests_seen[i];
	return NULL;
}

static void on_journal_event(void *ud, const struct sr_jevent *ev)
{
	struct sr_runner *r = ud;
	char why[SR_REASON_LEN] = "";
	note_request(r, ev);
	if (ev->at > r->journal_last_at)
		r->journal_last_at = ev->at;
	if (ev->type == SR_J_SNAPSHOT)
		note_snapshot(r, ev);
	int rc = journal_apply(&r->replay, ev, why, sizeof why);
	if (ev->type == SR_J_START)
		r->policy_changed = rc > 0;
	if (ev->own) {
		/* The dispatcher reads its own record back to learn whether the
		 * rollout took it; it does the logging (and the redecide). */
		r->own_rc = rc;
		sr_strlcpy(r->own_why, why, sizeof r->own_why);
		return;
	}
	if (rc >= 0 && is_action_event(ev->type))
		r->foreign_applied = true;
	log_foreign(r, ev, rc, why);
	/* A standby's engine runs on the leader's polls, as a replay's does. */
	/* (from the first read on: a standby that starts mid-rollout joins
	 * the leader's chain at its newest keyframe, not minutes later) */
	if (r->follower && r->follow && ev->type == SR_J_OBS)
		follow_evaluate(r, r->follow, ev);
}

static void on_journal_issue(void *ud, long line, long long offset, const char *msg)
{
	struct sr_runner *r = ud;
	(void)line;
	(void)offset;
	r->journal_issues++;
	runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "journal: %s", msg);
}

int runner_journal_poll(struct sr_runner *r)
{
	if (!r->journal)
		return 0;
	r->foreign_applied = false;
	/* The journal is the rollout: a deleted or replaced file is said at
	 * once, loudly, and stops every action (action.c). */
	char lost[SR_REASON_LEN];
	if (!r->journal_lost && journal_check_identity(r->journal, lost, sizeof lost) != 0) {
		r->journal_lost = true;
		r->alarm = true;
		runner_log(r, SR_LOG_ACTION, SR_RED, "", "%s", lost);
	}
	int n = journal_poll(r->journal, on_journal_event, on_journal_issue, r);
	if (n < 0)
		runner_log(r, SR_LOG_INFO, SR_RED, "", "journal: cannot read %s",
		           journal_path(r->journal));
	/* Another console acted: the decision follows its record now, as it
	 * does after this console's own actions. Not during the start-up
	 * replay nor before the first evaluation: that evaluation decides. */
	if (r->foreign_applied && r->journal_live && r->engine.evaluations > 0)
		engine_redecide(&r->engine, r->now);
	r->foreign_applied = false;
	return n;
}

int runner_set_journal(struct sr_runner *r, struct sr_journal *j, bool read_only)
{
	r->journal = j;
	r->journal_ro = read_only;
	r->journal_live = false;
	r->snap_t0 = false;
	r->snap_gates = 0;
	r->snap_last = 0;
	journal_replay_init(&r->replay, &r->engine.ro, r->policy);
	if (!j)
		return 0;
	int n = runner_journal_poll(r);
	r->journal_live = true;
	return n;
}

int runner_journal_read(struct sr_runner *r, const char *path, char *err, size_t n)
{
	r->journal = NULL;
	r->journal_live = false;
	journal_replay_init(&r->replay, &r->engine.ro, r->policy);
	int got = journal_replay(path, on_journal_event, on_journal_issue, r, err, n);
	r->journal_live = true;
	return got;
}

int runner_journal_start(struct sr_runner *r, sr_ms t0, char *err, size_t n)
{
	if (!journal_writable(r) || r->replay.started)
		return 0;
	const struct sr_policy *p = r->policy;
	if (journal_start(r->journal, r->now, r->owner, t0, p->hash, p->rollout, err, n) != 0)
		return -1;
	r->own_rc = 2;
	runner_journal_poll(r);
	return r->own_rc < 0 ? -1 : 0;
}

/* ---- start-up reconciliation -------------------------------------------------------- */

static void reconcile_next(struct sr_runner *r);

static void reconcile_end(struct sr_runner *r)
{
	journal_unlock(r->journal);
	r->reconciling = false;
}

/* Journal what reconciliation found for the open intent, apply it, go on. */
static void reconcile_record(struct sr_runner *r, const struct sr_jintent *it, bool applied,
                             int weight)
{
	char note[SR_REASON_LEN], jerr[256];
	snprintf(note, sizeof note, "start-up: the edge reads %d%%, the intent was %d%%", weight,
	         it->weight);
	if (journal_reconcile(r->journal, r->now, r->owner, it->key, it->action, applied, weight,
	                      note, jerr, sizeof jerr) != 0) {
		runner_log(r, SR_LOG_ACTION, SR_RED, "",
		           "start-up: cannot journal the reconciliation: %s", jerr);
		reconcile_end(r);
		return;
	}
	r->own_rc = 2;
	runner_journal_poll(r);
	if (weight >= 0)
		r->engine.ro.weight = weight; /* what the edge really shows */
	runner_log(
	    r, SR_LOG_ACTION, SR_YELLOW, it->actor,
	    "start-up: %s to %d%% by %s had no outcome (a crash?); the edge reads %d%%: %s%s%s",
	    it->action, it->weight, it->actor, weight,
	    applied ? "it took effect, recorded" : "it did not take effect, recorded as failed",
	    r->own_rc < 0 ? "; the rollout refused it: " : "", r->own_rc < 0 ? r->own_why : "");
	reconcile_next(r);
}

static void on_reconcile_weight(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	struct sr_jintent it;
	char clean[SR_REASON_LEN / 2];
	if (!journal_pending_intent(r->journal, &it)) {
		reconcile_end(r);
		return;
	}
	if (result != 0) {
		sr_sanitize(clean, err ? err : "no reason given", sizeof clean);
		runner_log(
		    r, SR_LOG_ACTION, SR_RED, "",
		    "start-up: cannot read the edge to reconcile %s by %s (%s): %s; the intent "
		    "stays open until a start can",
		    it.action, it.actor, it.key, clean);
		reconcile_end(r);
		return;
	}
	reconcile_record(r, &it, it.weight >= 0 && weight == it.weight, weight);
}

/* A rollback cut short may have landed one step and not the other (stable
 * at 100 but the canary not in maint, or in maint with its weight left):
 * reading the weight cannot tell, so the rollback is sent again - its
 * steps are absolute, so this completes it - and what it achieved is
 * recorded. If it fails, the rollback stays due and is retried. */
static void on_reconcile_rollback(void *ud, int result, int weight, const char *err)
{
	struct sr_runner *r = ud;
	struct sr_jintent it;
	char clean[SR_REASON_LEN / 2];
	if (!journal_pending_intent(r->journal, &it)) {
		reconcile_end(r);
		return;
	}
	if (result == 0) {
		reconcile_record(r, &it, weight == 0, weight);
		return;
	}
	sr_sanitize(clean, err ? err : "no reason given", sizeof clean);
	action_rollback_pending(r, it.actor, it.reason, clean);
	reconcile_record(r, &it, false, weight);
}

static void on_reconcile_wait(uv_timer_t *t)
{
	struct sr_runner *r = t->data;
	r->now = clock_real_ms();
	reconcile_next(r);
}

static void reconcile_next(struct sr_runner *r)
{
	struct sr_jintent it;
	if (!journal_pending_intent(r->journal, &it)) {
		reconcile_end(r);
		return;
	}
	/* The crashed call may still be on its way (a slow edge, a proxy):
	 * read the edge only once it can no longer land. No action runs
	 * during reconciliation, so the back-off timer is free. */
	sr_ms wait = it.at + edge_landing_ms(r->edge, it.weight, it.drain) - r->now;
	if (wait > 0 && r->loop && r->backoff) {
		char d[24];
		sr_fmt_duration(d, sizeof d, wait);
		runner_log(r, SR_LOG_ACTION, SR_YELLOW, it.actor,
		           "start-up: %s to %d%% by %s has no outcome; its call may still land: "
		           "reading the edge in %s",
		           it.action, it.weight, it.actor, d);
		r->reconciling = true;
		uv_timer_start(r->backoff, on_reconcile_wait, (uint64_t)wait, 0);
		return;
	}
	r->reconciling = true;
	if (it.drain) {
		runner_log(r, SR_LOG_ACTION, SR_YELLOW, it.actor,
		           "start-up: rollback by %s (key %s) has no outcome: sending its edge "
		           "steps again to complete it",
		           it.actor, it.key);
		r->edge->ops->set_weight(r->edge, 0, true, it.key, on_reconcile_rollback, r);
		return;
	}
	runner_log(r, SR_LOG_ACTION, SR_YELLOW, it.actor,
	           "start-up: %s to %d%% by %s (key %s) has no outcome: reading the edge",
	           it.action, it.weight, it.actor, it.key);
	r->edge->ops->get_weight(r->edge, on_reconcile_weight, r);
}

void runner_reconcile(struct sr_runner *r)
{
	char why[SR_REASON_LEN];
	struct sr_jintent it;
	if (!journal_writable(r))
		return;
	if (!r->edge) {
		if (journal_pending_intent(r->journal, &it))
			runner_log(r, SR_LOG_ACTION, SR_YELLOW, it.actor,
			           "journal: %s by %s has no outcome; a console with the edge "
			           "reconciles it",
			           it.action, it.actor);
		return;
	}
	if (journal_lock(r->journal, r->owner, "start-up reconciliation", why, sizeof why) != 0) {
		/* Someone is acting right now: their intent is not an orphan. */
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "start-up: %s; not reconciling now", why);
		return;
	}
	r->reconciling = true;
	reconcile_next(r);
}

/* ---- events --------------------------------------------------------------------- */

static enum sr_status trigger_severity(int st)
{
	return st == SR_TRIG_FIRING ? SR_RED : st == SR_TRIG_PENDING ? SR_YELLOW : SR_GREEN;
}

static enum sr_status verdict_severity(int v)
{
	switch (v) {
	case SR_GO: return SR_GREEN;
	case SR_ROLLBACK: return SR_RED;
	default: return SR_YELLOW;
	}
}

/* A journal write failed: say so once, not at every poll. */
static void journal_failed(struct sr_runner *r, const char *what, const char *err)
{
	if (r->journal_err == what)
		return;
	r->journal_err = what;
	runner_log(r, SR_LOG_INFO, SR_RED, "", "journal: cannot record %s: %s", what, err);
}

void runner_recording(struct sr_runner *r, const char *store_trouble)
{
	char why[256], what[160];
	if (store_trouble)
		sr_strlcpy(r->store_trouble, store_trouble, sizeof r->store_trouble);
	if (r->store_trouble[0]) {
		engine_store_observed(&r->engine, false, r->now, r->store_trouble,
		                      "break-glass: spooled, merged when the store returns");
	} else if (journal_writable(r) && journal_refusing(r->journal, why, sizeof why)) {
		sr_msgf(what, sizeof what, "journal write failed (%s)", why);
		engine_store_observed(&r->engine, false, r->now, what,
		                      "break-glass: it goes out unrecorded");
	} else if (engine_store_observed(&r->engine, true, r->now, NULL, NULL)) {
		r->journal_err = NULL; /* a new failure is said again */
	}
}

void runner_drain(struct sr_runner *r)
{
	struct sr_event ev[SR_MAX_EVENTS];
	char err[256];
	long dropped = r->engine.events_dropped;
	int n = engine_drain_events(&r->engine, ev, SR_MAX_EVENTS);
	bool jw = journal_writable(r);
	for (int i = 0; i < n; i++) {
		const struct sr_event *e = &ev[i];
		switch (e->kind) {
		case SR_EV_STATUS:
			runner_log(r, SR_LOG_STATUS, (enum sr_status)e->to, "", "%s", e->text);
			if (jw && journal_status(r->journal, e->at, r->policy, e->index, e->from,
			                         e->to, e->text, err, sizeof err) != 0)
				journal_failed(r, "a status change", err);
			break;
		case SR_EV_TRIGGER:
			if (e->to == SR_TRIG_FIRING)
				r->alarm = true;
			runner_log(r, SR_LOG_TRIGGER, trigger_severity(e->to), "", "%s", e->text);
			if (jw && journal_trigger(r->journal, e->at, r->policy, e->index, e->from,
			                          e->to, e->text, err, sizeof err) != 0)
				journal_failed(r, "a trigger change", err);
			break;
		case SR_EV_DECISION:
			runner_log(r, SR_LOG_DECISION, verdict_severity(e->to), "", "%s", e->text);
			break;
		case SR_EV_ROLLOUT: runner_log(r, SR_LOG_INFO, SR_YELLOW, "", "%s", e->text); break;
		}
	}
	if (r->engine.events_dropped > dropped)
		runner_log(r, SR_LOG_INFO, SR_YELLOW, "",
		           "%ld engine events dropped (too many at once)",
		           r->engine.events_dropped - dropped);
}

/* Every cell into the journal at T-0 (the T-0 baseline lives there) and
 * when each gate's window elapses, once per journal. */
static void runner_snapshots(struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	char err[256];
	if (!journal_writable(r) || r->engine.evaluations == 0)
		return;
	/* The first evaluation reports only the cells that are not GREEN:
	 * journal them all once, so a replay knows every cell from here. */
	if (r->engine.evaluations == 1) {
		r->snap_last = r->now;
		if (journal_snapshot(r->journal, r->now, "console start", &r->engine, err,
		                     sizeof err) != 0)
			journal_failed(r, "the start snapshot", err);
	}
	if (!r->snap_t0 && r->now >= r->engine.ro.t0) {
		r->snap_t0 = true;
		r->snap_last = r->now;
		if (journal_snapshot(r->journal, r->now, "T-0", &r->engine, err, sizeof err) != 0)
			journal_failed(r, "the T-0 snapshot", err);
	}
	/* And every SNAP_EVERY_MS of rollout time, so a replay has the values
	 * (status changes carry only statuses): not in an unnamed journal,
	 * which no replay can find (runner_journal_obs). */
	if (r->now - r->snap_last >= SNAP_EVERY_MS && !journal_is_unnamed(r->journal)) {
		r->snap_last = r->now;
		if (journal_snapshot(r->journal, r->now, "periodic", &r->engine, err, sizeof err) !=
		    0)
			journal_failed(r, "a periodic snapshot", err);
	}
	sr_ms due = 0;
	int g = rollout_next_gate(&r->engine.ro, p, &due);
	if (g >= 0 && g < 32 && r->now >= due && !(r->snap_gates & (1u << g))) {
		r->snap_gates |= 1u << g;
		r->snap_last = r->now;
		if (journal_snapshot(r->journal, r->now, p->gates[g].name, &r->engine, err,
		                     sizeof err) != 0)
			journal_failed(r, "a gate snapshot", err);
	}
}

/* ---- auto-rollback and the script ------------------------------------------------ */

static void runner_auto_rollback(struct sr_runner *r)
{
	const struct sr_policy *p = r->policy;
	if (!p->auto_rollback || r->read_only || r->action_in_flight || r->engine.ro.rolled_back ||
	    r->engine.ro.phase < 0)
		return;
	int t = 0;
	while (t < p->ntriggers && r->engine.triggers[t].state != SR_TRIG_FIRING)
		t++;
	if (t == p->ntriggers)
		return;
	/* After a failed attempt (the edge is down), try again, but not at
	 * every poll: each attempt is an intent and an outcome. */
	if (r->flight.req.kind == SR_ACT_ROLLBACK && r->flight.result.outcome == SR_ACT_FAILED &&
	    strcmp(r->flight.req.actor, SR_ACTOR_AUTO_ROLLBACK) == 0 && r->now < r->auto_retry_at)
		return;
	struct sr_action_request req = {.kind = SR_ACT_ROLLBACK, .gate = -1};
	struct sr_action_result res;
	sr_strlcpy(req.actor, SR_ACTOR_AUTO_ROLLBACK, sizeof req.actor);
	snprintf(req.reason, sizeof req.reason, "auto_rollback: %.60s: %.120s", p->triggers[t].name,
	         r->engine.triggers[t].reason);
	r->auto_retry_at = r->now + AUTO_ROLLBACK_COOLDOWN_MS;
	action_dispatch(r, &req, &res);
}

static void step_request(const struct sr_script_step *s, struct sr_action_request *req)
{
	memset(req, 0, sizeof *req);
	req->kind = s->action;
	req->weight = s->weight;
	req->gate = -1;
	sr_strlcpy(req->actor, s->actor, sizeof req->actor);
	sr_strlcpy(req->reason, s->reason, sizeof req->reason);
	sr_strlcpy(req->checklist, s->checklist, sizeof req->checklist);
	sr_strlcpy(req->item, s->item, sizeof req->item);
}

static void sim_resume_done(void *ud, int result, int weight, const char *err)
{
	(void)ud;
	(void)result;
	(void)weight;
	(void)err; /* the simulated edge answers at once and cannot fail here */
}

void runner_resume_scenario(struct sr_runner *r)
{
	const struct sr_scenario *sc = r->scenario;
	if (!sc || r->journal_last_at <= 0)
		return;
	/* (a standby that followed the journal is at its end already) */
	if (r->journal_last_at > r->now)
		r->now = r->journal_last_at;
	/* What the journal holds was done (or given up) then; a step whose
	 * time has passed is not the simulator's to play again. */
	for (int i = 0; i < sc->nscript && i < SR_MAX_SCRIPT; i++) {
		const struct sr_script_step *s = &sc->script[i];
		int last = s->retry_until_min > s->at_min ? s->retry_until_min : s->at_min;
		if (sc->t0 + (sr_ms)last * SR_MS_PER_MIN <= r->now)
			r->script_done[i] = r->script_tried[i] = true;
	}
	/* The history is kept: the journal's observations drove the engine
	 * through the first read, and its points end where the journal does.
	 * The simulated edge is this process's: it holds what the journal
	 * says the edge holds (a restart, a standby taking over), or the
	 * simulated traffic would go by a weight nobody set. */
	if (r->sim && r->edge)
		r->edge->ops->set_weight(r->edge, r->engine.ro.weight, false, "resume",
		                         sim_resume_done, r);
	runner_log(r, SR_LOG_INFO, SR_GREEN, "",
	           "simulator: the journal goes on from its last record; scenario steps before it "
	           "are not played again");
}

static void runner_script(struct sr_runner *r)
{
	const struct sr_scenario *sc = r->scenario;
	if (!sc)
		return;
	for (int i = 0; i < sc->nscript && i < SR_MAX_SCRIPT; i++) {
		const struct sr_script_step *s = &sc->script[i];
		if (r->script_done[i] || r->now < sc->t0 + (sr_ms)s->at_min * SR_MS_PER_MIN)
			continue;
		sr_ms until = sc->t0 + (sr_ms)(s->retry_until_min > s->at_min ? s->retry_until_min
		                                                              : s->at_min) *
		                           SR_MS_PER_MIN;
		bool first = !r->script_tried[i];
		struct sr_action_request req;
		struct sr_action_result res;
		step_request(s, &req);
		/* Log the first refusal of a step, not every retry of it. */
		r->quiet_refusals = !first;
		action_dispatch(r, &req, &res);
		r->quiet_refusals = false;
		r->script_tried[i] = true;
		if (res.outcome == SR_ACT_REFUSED && r->now < until)
			continue; /* try again next poll */
		if (res.outcome == SR_ACT_REFUSED && !first)
			runner_log(r, SR_LOG_ACTION, SR_YELLOW, req.actor,
			           "gave up: %s still refused at the end of its retry window: %s",
			           sr_action_name(req.kind), res.message);
		r->script_done[i] = true;
	}
}

/* ---- replaying a journal file ------------------------------------------------------ */

/* Following a chain of `obs` records (obsrec.h): the writer being
 * followed and its state. A replay follows one; so does a standby
 * service, whose engine is driven by the leader's records. */
struct sr_follow {
	long long writer;  /* -1: none yet */
	sr_ms writer_last; /* time of that writer's newest record */
	bool broken;       /* a bad record: wait for a keyframe */
	struct sr_snapshot snap;
};

static void follow_reset(struct sr_follow *fl, int ncells)
{
	fl->writer = -1;
	fl->writer_last = 0;
	fl->broken = false;
	snapshot_clear(&fl->snap, ncells);
}

struct sr_feed {
	json_t **ev;
	size_t n, cap, next;
	sr_ms first, last;
	sr_ms t0; /* from the start record (first if none) */
	/* Replaying by evaluation (the journal has `obs` records). */
	bool by_eval;
	struct sr_follow fl;
};

static void feed_add(void *ud, const struct sr_jevent *ev)
{
	struct sr_feed *f = ud;
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 256;
		json_t **ne = realloc(f->ev, nc * sizeof *ne);
		if (!ne)
			return;
		f->ev = ne;
		f->cap = nc;
	}
	f->ev[f->n++] = json_incref((json_t *)journal_event_obj(ev));
	if (ev->type == SR_J_OBS)
		f->by_eval = true;
	if (f->n == 1 || ev->at < f->first)
		f->first = ev->at;
	if (ev->at > f->last)
		f->last = ev->at;
}

struct feed_load {
	struct sr_feed *feed;
	struct sr_runner *r;
};

static void feed_load_event(void *ud, const struct sr_jevent *ev)
{
	feed_add(((struct feed_load *)ud)->feed, ev);
}

static void feed_load_issue(void *ud, long line, long long offset, const char *msg)
{
	on_journal_issue(((struct feed_load *)ud)->r, line, offset, msg);
}

static void feed_free(struct sr_feed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->ev[i]);
	free(f->ev);
	free(f);
}

static void feed_rewind(struct sr_runner *r, bool clear_log);

int runner_replay_load(struct sr_runner *r, const char *path, sr_ms *first, sr_ms *last, char *err,
                       size_t n)
{
	struct sr_feed *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	struct feed_load fl = {f, r};
	int got = journal_replay(path, feed_load_event, feed_load_issue, &fl, err, n);
	if (got < 0) {
		feed_free(f);
		return -1;
	}
	if (f->n == 0) {
		feed_free(f);
		snprintf(err, n, "%s: no events to replay", path);
		return -1;
	}
	feed_free(r->feed);
	r->feed = f;
	r->journal = NULL;
	r->source = NULL;
	r->edge = NULL;
	r->read_only = true;
	r->journal_live = true; /* actions are shown as they come */
	/* The start record sets T-0 for views before it is played. */
	f->t0 = f->first;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(jstr(f->ev[i], "type", ""), "start") == 0) {
			f->t0 = jint(f->ev[i], "t0", f->first);
			break;
		}
	}
	feed_rewind(r, false); /* keep what the load reported (a torn tail) */
	*first = f->first;
	*last = f->last;
	return (int)f->n;
}

static void feed_rewind(struct sr_runner *r, bool clear_log)
{
	struct sr_feed *f = r->feed;
	f->next = 0;
	follow_reset(&f->fl, r->policy->ncells);
	engine_init(&r->engine, r->policy, f->t0);
	history_init(&r->history, r->policy, SR_MS_PER_MIN);
	journal_replay_init(&r->replay, &r->engine.ro, r->policy);
	rollout_init(&r->engine.ro, r->policy, f->t0);
	r->alarm = false;
	if (clear_log)
		r->nlog = 0; /* the log is played again from the start */
	r->now = f->first;
}

void runner_replay_rewind(struct sr_runner *r)
{
	if (r->feed)
		feed_rewind(r, true);
}

bool runner_replay_span(const struct sr_runner *r, sr_ms *first, sr_ms *last)
{
	if (!r->feed)
		return false;
	*first = r->feed->first;
	*last = r->feed->last;
	return true;
}

/* Worth stopping at when stepping through a replay: what changed. */
static bool feed_is_stop(const json_t *o)
{
	enum sr_jtype t = journal_type_from_name(jstr(o, "type", ""));
	if (t == SR_J_OBS || t == SR_J_NOTIFY || t == SR_J_UNKNOWN || t == SR_J_INTENT)
		return false;
	if (t == SR_J_SNAPSHOT) {
		const char *label = jstr(o, "label", "");
		return strcmp(label, "periodic") != 0 && strcmp(label, "console start") != 0;
	}
	return true;
}

bool runner_replay_event_near(const struct sr_runner *r, sr_ms from, int dir, sr_ms *at)
{
	const struct sr_feed *f = r->feed;
	if (!f || f->n == 0)
		return false;
	if (dir > 0) {
		for (size_t i = 0; i < f->n; i++) {
			sr_ms a = jint(f->ev[i], "at", 0);
			if (a > from && feed_is_stop(f->ev[i])) {
				*at = a;
				return true;
			}
		}
		return false;
	}
	for (size_t i = f->n; i-- > 0;) {
		sr_ms a = jint(f->ev[i], "at", 0);
		if (a < from && feed_is_stop(f->ev[i])) {
			*at = a;
			return true;
		}
	}
	return false;
}

bool runner_replay_ended(const struct sr_runner *r)
{
	return r->feed && r->feed->next >= r->feed->n;
}

static int status_by_name(const char *s)
{
	for (int i = 0; i < SR_STATUS_COUNT; i++)
		if (strcmp(s, sr_status_name((enum sr_status)i)) == 0)
			return i;
	return -1;
}

static int trig_by_name(const char *s)
{
	for (int i = SR_TRIG_ARMED; i <= SR_TRIG_FIRING; i++)
		if (strcmp(s, trigger_state_name((enum sr_trig_state)i)) == 0)
			return i;
	return -1;
}

/* A journaled observation, back into the engine's cells and triggers. */
static void feed_observation(struct sr_runner *r, const struct sr_jevent *ev)
{
	const struct sr_policy *p = r->policy;
	const json_t *o = journal_event_obj(ev);
	if (ev->type == SR_J_STATUS) {
		int c = cell_of(p, o), st = status_by_name(jstr(o, "to", ""));
		if (c < 0 || st < 0)
			return;
		struct sr_cell_state *cs = &r->engine.cells[c];
		cs->status = cs->raw = (enum sr_status)st;
		cs->status_since = ev->at;
		cs->fresh = !sr_status_is_data_gap(cs->status);
		engine_cell_set_reason(cs, jstr(o, "reason", ""));
		log_at(r, ev->at, SR_LOG_STATUS, cs->status, "", "%s", cs->reason_text);
	} else if (ev->type == SR_J_TRIGGER) {
		const char *id = jstr(o, "trigger", "");
		int st = trig_by_name(jstr(o, "to", ""));
		for (int t = 0; t < p->ntriggers && st >= 0; t++) {
			if (strcmp(p->triggers[t].id, id) != 0)
				continue;
			struct sr_trigger_state *ts = &r->engine.triggers[t];
			ts->state = (enum sr_trig_state)st;
			ts->since = ev->at;
			sr_sanitize(ts->reason, jstr(o, "reason", ""), sizeof ts->reason);
			if (st == SR_TRIG_FIRING)
				r->alarm = true;
			log_at(r, ev->at, SR_LOG_TRIGGER, trigger_severity(st), "", "%s",
			       ts->reason);
		}
	} else if (ev->type == SR_J_SNAPSHOT) {
		const json_t *cells = json_object_get(o, "cells"), *co;
		size_t i;
		note_snapshot(r, ev);
		json_array_foreach(cells, i, co)
		{
			int c = cell_of(p, co), st = status_by_name(jstr(co, "status", ""));
			if (c < 0)
				continue;
			struct sr_cell_state *cs = &r->engine.cells[c];
			cs->canary = jnum(co, "canary");
			cs->control = jnum(co, "control");
			cs->samples = jnum(co, "samples");
			cs->age = 0;
			if (st >= 0) {
				cs->status = cs->raw = (enum sr_status)st;
				cs->fresh = !sr_status_is_data_gap(cs->status);
			}
			engine_cell_set_reason(cs, jstr(co, "reason", ""));
		}
		log_at(r, ev->at, SR_LOG_INFO, SR_GREEN, "",
		       "snapshot %.40s: verdict %.16s, weight %lld%%", jstr(o, "label", ""),
		       jstr(o, "verdict", "?"), jint(o, "weight", -1));
	}
}

/* Another writer's chain is joined at its keyframe once the one being
 * followed has fallen silent this long (its console has gone). */
#define FEED_WRITER_GONE_MS (2 * SR_MS_PER_MIN)

/* One `obs` record: the poll it recorded, evaluated again at its time. */
static void follow_evaluate(struct sr_runner *r, struct sr_follow *f, const struct sr_jevent *ev)
{
	const json_t *o = journal_event_obj(ev);
	long long w = jint(o, "w", -1);
	bool key = jint(o, "k", 0) == 1;
	if (w != f->writer) {
		bool gone = f->writer < 0 || ev->at - f->writer_last > FEED_WRITER_GONE_MS;
		if (!key || !gone)
			return; /* another console's evaluations: one engine is replayed */
		f->writer = w;
	}
	f->writer_last = ev->at;
	if (f->broken && !key)
		return;
	char why[SR_REASON_LEN];
	bool isnull = false;
	if (obsrec_decode(o, ev->at, r->policy->ncells, &f->snap, &isnull, why, sizeof why) != 0) {
		f->broken = true;
		log_at(r, ev->at, SR_LOG_INFO, SR_YELLOW, "",
		       "journal line %ld: %s (values resume at the next keyframe)", ev->line, why);
		return;
	}
	f->broken = false;
	r->now = ev->at;
	engine_evaluate(&r->engine, isnull ? NULL : &f->snap, ev->at);
	history_record(&r->history, &r->engine, ev->at);
	runner_drain(r);
}

/* Replaying by evaluation: the engine makes the status and trigger
 * changes again from the recorded polls, so those records are not
 * applied (they are the same changes); actions are, and the decision is
 * re-made at once after each, as the dispatcher did live. */
static void feed_event_by_eval(struct sr_runner *r, const struct sr_jevent *ev)
{
	char why[SR_REASON_LEN] = "";
	if (ev->type == SR_J_OBS) {
		follow_evaluate(r, &r->feed->fl, ev);
		return;
	}
	if (ev->type == SR_J_STATUS || ev->type == SR_J_TRIGGER)
		return;
	if (ev->type == SR_J_SNAPSHOT) {
		note_snapshot(r, ev); /* a T-0 baseline kept by a restarted console */
		return;
	}
	int rc = journal_apply(&r->replay, ev, why, sizeof why);
	log_foreign(r, ev, rc, why);
	if (rc >= 0 && is_action_event(ev->type) && r->engine.evaluations > 0) {
		engine_redecide(&r->engine, ev->at);
		runner_drain(r);
	}
}

/* The feed's next event if it is due by `now`: false at the end or when
 * the next one is later. */
static bool feed_next_due(const struct sr_feed *f, sr_ms now, struct sr_jevent *ev)
{
	if (f->next >= f->n)
		return false;
	const json_t *o = f->ev[f->next];
	memset(ev, 0, sizeof *ev);
	ev->at = jint(o, "at", 0);
	if (ev->at > now)
		return false;
	ev->seq = jint(o, "seq", 0);
	ev->type_name = jstr(o, "type", "");
	ev->type = journal_type_from_name(ev->type_name);
	ev->actor = jstr(o, "actor", "");
	ev->obj = o;
	ev->line = (long)f->next + 1;
	return true;
}

static void feed_play(struct sr_runner *r, sr_ms now)
{
	struct sr_feed *f = r->feed;
	char why[SR_REASON_LEN];
	struct sr_jevent ev;
	if (f->by_eval) {
		for (; feed_next_due(f, now, &ev); f->next++)
			feed_event_by_eval(r, &ev);
		r->now = now;
		return;
	}
	for (; feed_next_due(f, now, &ev); f->next++) {
		why[0] = '\0';
		int rc = journal_apply(&r->replay, &ev, why, sizeof why);
		if (ev.type == SR_J_STATUS || ev.type == SR_J_TRIGGER || ev.type == SR_J_SNAPSHOT)
			feed_observation(r, &ev);
		else
			log_foreign(r, &ev, rc, why);
	}
	/* The verdict from the replayed cells, triggers and rollout, by the
	 * engine's own rules. */
	decision_update(&r->engine, now);
	r->engine.last_eval = now;
	r->engine.evaluations++;
	history_record(&r->history, &r->engine, now);
	runner_drain(r);
}

/* ---- the cron --------------------------------------------------------------------- */

/* Keep a copy of what the source answered: its own snapshot is filled
 * again by the next poll, perhaps while that poll is still out. */
static void hold_snapshot(struct sr_runner *r, const struct sr_snapshot *snap)
{
	snapshot_copy(&r->held, snap);
	r->have_held = true;
}

/* After an evaluation: log and journal what changed, act on it. */
static void runner_after_evaluation(struct sr_runner *r)
{
	history_record(&r->history, &r->engine, r->now);
	runner_drain(r);
	runner_snapshots(r);
	runner_auto_rollback(r);
	action_rollback_retry(r);
	runner_script(r);
	/* Actions change the rollout and redecide (action.c): the decision
	 * events they caused are logged here. */
	runner_drain(r);
}

/* Say when the polling mode changes (aligned or fixed, the fast rate
 * on or off): the log and `watch` show when and why polls moved. */
static void log_poll_mode(struct sr_runner *r)
{
	bool aligned = poll_schedule_mode(&r->sched) == SR_POLL_ALIGNED;
	int mode = (aligned ? 1 : 0) | (r->sched.fast ? 2 : 0);
	if (mode == r->logged_poll_mode)
		return;
	bool first = r->logged_poll_mode < 0;
	r->logged_poll_mode = mode;
	if (first && !aligned && !r->sched.fast)
		return; /* starting fixed says nothing new */
	char d[96];
	poll_schedule_describe(&r->sched, d, sizeof d);
	runner_log(r, SR_LOG_INFO, SR_GREEN, "", "polling: %s%s%s", d,
	           aligned || !r->sched.why_fixed[0] ? "" : ": ",
	           aligned ? "" : r->sched.why_fixed);
}

/* What the engine is about to evaluate, into the journal (obsrec.h):
 * the delta against this console's previous record, a keyframe first and
 * every OBSREC_KEYFRAME_MS. An observation: batched, like status changes.
 * Not into an unnamed journal (the simulator's private one): only a
 * replay, a restart or another process reads observations back, and
 * none of them can find it; writing them was a third of catching up to
 * `--start T+350`. */
static void runner_journal_obs(struct sr_runner *r, const struct sr_snapshot *snap)
{
	char err[256];
	if (!journal_writable(r) || journal_is_unnamed(r->journal))
		return;
	bool key = !r->obs_have_prev || r->now - r->obs_keyframe_at >= OBSREC_KEYFRAME_MS ||
	           r->now < r->obs_keyframe_at;
	json_t *f = obsrec_encode(snap, r->obs_have_prev ? &r->obs_prev : NULL, r->now,
	                          (long long)getpid(), key);
	if (!f) {
		journal_failed(r, "the observations", "out of memory");
		return;
	}
	if (journal_append(r->journal, SR_J_OBS, r->now, "", f, NULL, err, sizeof err) != 0) {
		journal_failed(r, "the observations", err);
		r->obs_have_prev = false; /* the chain is broken: start over */
		return;
	}
	if (key)
		r->obs_keyframe_at = r->now;
	if (snap) {
		snapshot_copy(&r->obs_prev, snap);
		r->obs_have_prev = true;
	}
}

static void runner_on_snapshot(void *ud, struct sr_snapshot *snap)
{
	struct sr_runner *r = ud;
	r->polling = false;
	if (snap) {
		/* to the precision the journal keeps, so a replay judges what
		 * was judged here (obsrec.h) */
		obsrec_round_snapshot(snap);
		hold_snapshot(r, snap);
	}
	runner_journal_obs(r, snap);
	runner_recording(r, NULL);
	engine_evaluate(&r->engine, snap, r->now);
	if (r->adaptive) {
		if (snap && r->poll_asked_rhythm)
			poll_schedule_times(&r->sched, snap->sample_times, snap->nsample_times);
		poll_schedule_involve(&r->sched, &r->engine);
		log_poll_mode(r);
	}
	runner_after_evaluation(r);
	if (r->on_polled)
		r->on_polled(r->on_polled_ud);
	/* The poll's JSON (the record written, the lines read back) is freed
	 * by now: until the next poll, seconds away, the freed heap goes back
	 * to the system instead of staying resident (0.37 MB of a watch at 50
	 * journeys). Not while catching up: runner_advance trims at its end. */
	if (!r->advancing)
		malloc_trim(0);
}

/* Would the engine judge any canary value of the held snapshot again at
 * `now`? Only an OK observation that is not yet stale can be judged
 * (ERROR, NOSERIES and NONE are data gaps whatever the time). */
static bool held_has_fresh(const struct sr_runner *r, sr_ms now)
{
	const struct sr_snapshot *s = &r->held;
	for (int c = 0; c < s->ncells; c++)
		if (s->canary[c].kind == SR_OBS_OK &&
		    now - s->canary[c].at <= r->policy->stale_after_ms)
			return true;
	return false;
}

/* A tick while the poll is still out (a hung or slow source). The data
 * ages all the same: evaluate the snapshot held from the last answer, so
 * its observations, which keep their `at`, turn STALE and the decision
 * holds - a source that stops answering never leaves GREEN on screen.
 *
 * But only once none of its canary values is fresh. Evaluating the same
 * values again while they are still fresh would count as new evidence
 * in the engine: every GREEN judgement is one more step of hysteresis
 * (clear_after consecutive GREEN evaluations would clear a RED on one
 * sample seen several times), and every RED one extends the sustained
 * breach to `now` (seg_last) with no data behind it. Until then the last
 * judgement stands, as it did. Once everything is stale, each evaluation
 * is a data gap: it pauses the breach clock (interrupted, neither
 * completed nor reset, and the gap is not accrued when fresh data
 * resumes: a new segment starts), breaks a recovery run, and evaluating
 * it again changes nothing - so doing it at every tick is safe.
 *
 * The observations of one poll share their `at` (both sources read every
 * query at the poll's instant), so "none fresh" is "the poll's data is
 * stale". Were they to differ, a cell would turn STALE only when the
 * newest one does: later, never wrongly. Judging each cell on its own
 * would need the engine to know a value it has already judged (it
 * would skip hysteresis and breach for an unchanged `at`): not done here. */
static void runner_reevaluate(struct sr_runner *r)
{
	if (!r->have_held || held_has_fresh(r, r->now))
		return;
	runner_journal_obs(r, &r->held);
	engine_evaluate(&r->engine, &r->held, r->now);
	runner_after_evaluation(r);
}

/* ---- the edge's real state ----------------------------------------------------------- */

static void on_edge_read(void *ud, int result, int weight, const char *err)
{
	(void)err;
	struct sr_runner *r = ud;
	r->edge_reading = false;
	/* An unreadable edge proves nothing (an action will say so); while an
	 * action moves it, a difference is expected. */
	if (result != 0 || weight < 0 || r->action_in_flight || r->reconciling)
		return;
	int expected = r->engine.ro.weight;
	if (!engine_edge_observed(&r->engine, weight, r->now))
		return;
	bool anomaly = r->engine.edge_anomaly_since != 0;
	if (journal_writable(r)) {
		char jerr[256];
		json_t *f = json_pack("{s:i, s:i, s:b}", "weight", weight, "expected", expected,
		                      "anomaly", anomaly);
		if (f && journal_append(r->journal, SR_J_EDGE, r->now, "", f, NULL, jerr,
		                        sizeof jerr) != 0)
			runner_log(r, SR_LOG_INFO, SR_RED, "",
			           "journal: cannot record the edge anomaly: %s", jerr);
	}
	runner_drain(r);
}

/* Read the edge back (one cheap get_weight per poll) unless it is being
 * moved or read already. Read-only sessions have no edge; the
 * simulator's edge is shiproom's own (nothing moves it behind its back,
 * and its scripted failures are for the actions). */
static void runner_read_edge(struct sr_runner *r)
{
	if (!r->edge || r->sim || r->read_only || r->edge_reading || r->action_in_flight ||
	    r->reconciling || r->feed)
		return;
	r->edge_reading = true;
	r->edge->ops->get_weight(r->edge, on_edge_read, r);
}

void runner_tick(struct sr_runner *r, sr_ms now)
{
	if (r->reconciling)
		return; /* start-up reconciliation first, nothing else */
	/* Nothing after the journal's end is invented: a replay's clock stops
	 * at its last event (no countdown ticks on, no new decision). */
	if (r->feed && now > r->feed->last)
		now = r->feed->last;
	r->now = now;
	/* A replay or a source-less runner "polls" every poll_s too. */
	struct sr_poll_plan full = {.at = now, .full = true};
	if (r->feed) {
		poll_schedule_started(&r->sched, &full, now);
		feed_play(r, now);
		return;
	}
	r->now = now;
	if (r->journal) {
		runner_journal_poll(r);
		/* Catching up (runner_advance) syncs once at the end: a virtual
		 * poll every few microseconds would wait for the disk each time
		 * (1920 fdatasync to start at T+350). */
		if (journal_writable(r) && !r->advancing)
			journal_sync(r->journal);
	}
	if (r->follower) {
		/* the leader polls, guards and journals; its records drive this
		 * engine (on_journal_event) */
		poll_schedule_started(&r->sched, &full, now);
		return;
	}
	if (!r->source) {
		poll_schedule_started(&r->sched, &full, now);
		runner_on_snapshot(r, NULL);
		return;
	}
	if (r->polling) {
		/* the previous poll has not answered yet: no second one, but
		 * the data it would replace keeps ageing */
		runner_reevaluate(r);
		return;
	}
	struct sr_poll_plan plan = poll_schedule_next(&r->sched);
	/* Called before its time (status, tests, a driver of its own): the
	 * classic full poll. The timers call it on time, give or take a few
	 * ms of rounding. */
	if (now + 50 < plan.at)
		plan = full;
	if (!r->sched.nseen && r->sched.full_polls == 0)
		plan.rhythm = false; /* the first poll is the screen's: keep it lean */
	poll_schedule_started(&r->sched, &plan, now);
	r->source->ask = (struct sr_poll_ask){
	    .rhythm = r->adaptive && plan.rhythm,
	    .history = plan.history,
	    .kpis = r->adaptive && !plan.full ? plan.kpis : NULL,
	};
	r->poll_asked_rhythm = r->source->ask.rhythm;
	r->polling = true;
	runner_read_edge(r);
	r->source->ops->poll(r->source, now, runner_on_snapshot, r);
}

sr_ms runner_next_poll_at(const struct sr_runner *r)
{
	struct sr_poll_plan plan = poll_schedule_next(&r->sched);
	sr_ms at = plan.at > 0 ? plan.at : r->now;
	if (r->polling && at < r->now + SR_MS_PER_S)
		at = r->now + SR_MS_PER_S;
	return at;
}

uint64_t runner_next_tick_delay(const struct sr_runner *r, sr_ms now, double speed)
{
	double d = (double)(runner_next_poll_at(r) - now) / (speed > 0 ? speed : 1.0);
	return d > 10 ? (uint64_t)d : 10;
}

void runner_poll_mode(const struct sr_runner *r, char *buf, size_t n, bool brief)
{
	if (!r->adaptive || n == 0) {
		if (n)
			buf[0] = '\0';
		return;
	}
	if (brief)
		poll_schedule_brief(&r->sched, buf, n);
	else
		poll_schedule_describe(&r->sched, buf, n);
}

void runner_advance(struct sr_runner *r, sr_ms until)
{
	sr_ms step = r->policy->poll_ms > 0 ? r->policy->poll_ms : 15 * SR_MS_PER_S;
	sr_ms t = r->engine.evaluations == 0 ? r->now : r->now + step;
	r->advancing = true;
	for (; t <= until; t += step)
		runner_tick(r, t);
	r->advancing = false;
	if (r->journal && journal_writable(r))
		journal_sync(r->journal);
	/* Catching up parsed and freed a JSON document per record: hand the
	 * freed heap back rather than keep it for the rest of the day
	 * (0.6 MB at 50 journeys and T+350). */
	malloc_trim(0);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void on_watch(uv_timer_t *t)
{
	struct sr_runner *r = t->data;
	if (!r->reconciling)
		runner_journal_poll(r);
}

static uv_timer_t *timer_new(uv_loop_t *loop, struct sr_runner *r)
{
	uv_timer_t *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	uv_timer_init(loop, t);
	t->data = r;
	return t;
}

void runner_attach_loop(struct sr_runner *r, struct uv_loop_s *loop)
{
	r->loop = loop;
	if (!r->backoff)
		r->backoff = timer_new(loop, r);
	if (r->journal && !r->watch) {
		r->watch = timer_new(loop, r);
		if (r->watch) {
			uv_timer_start(r->watch, on_watch, WATCH_MS, WATCH_MS);
			uv_unref((uv_handle_t *)r->watch); /* never the reason the loop runs */
		}
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h);
}

void runner_close(struct sr_runner *r)
{
	if (r->backoff) {
		uv_close((uv_handle_t *)r->backoff, on_timer_closed);
		r->backoff = NULL;
	}
	if (r->watch) {
		uv_close((uv_handle_t *)r->watch, on_timer_closed);
		r->watch = NULL;
	}
	feed_free(r->feed);
	r->feed = NULL;
	free(r->follow);
	r->follow = NULL;
}

void runner_set_follower(struct sr_runner *r, bool follow)
{
	if (follow && !r->follow) {
		r->follow = malloc(sizeof *r->follow);
		if (!r->follow)
			return; /* without it the engine is not driven; the log says so */
	}
	if (follow)
		follow_reset(r->follow, r->policy->ncells);
	r->follower = follow;
	if (!follow) {
		/* leading: the next observation record starts a chain of ours,
		 * and the next evaluation says the decision it takes over */
		r->obs_have_prev = false;
		r->polling = false;
		r->engine.announce = r->engine.evaluations > 0;
	}
}
