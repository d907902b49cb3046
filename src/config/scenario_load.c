/* scenario_load.c - read a simulator scenario (config/scenarios/NAME.json).
 *
 * A scenario is a script for the simulator: when T-0 is, the traffic,
 * what goes wrong (effects), what people do (script) and what the
 * decision must be at given moments (expect). It is read against a
 * policy so every id it names (KPI, journey, checklist, item, trigger,
 * phase weight) is resolved here, once, with file:line:column on any
 * mistake, and the simulator and runner never see a dangling name.
 * Format: man/shiproom.json.5, section SCENARIOS.
 */
#include "shiproom/scenario.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/jread.h"
#include "shiproom/rollout.h"

#define MAX_MINUTES 100000
#define DEFAULT_RPS 20.0

struct sl {
	struct jr_doc d;
	struct sr_scenario *s;
	const struct sr_policy *p;
	struct jr_val root;
};

static const char *const cohort_names[] = {"canary", "control", "both", NULL};
static const char *const source_fx[] = {"error", "freeze", NULL};
static const char *const verdict_names[] = {"GO", "HOLD", "ROLLBACK", "ESCALATE", NULL};
static const enum sr_verdict verdict_values[] = {SR_GO, SR_HOLD, SR_ROLLBACK, SR_ESCALATE};

/* ---- header and traffic ---------------------------------------------------- */

static int load_header(struct sl *S)
{
	struct sr_scenario *s = S->s;
	long long seed = 1;
	s->start_min = -130;
	s->end_min = 600;
	if (jr_id(&S->d, &S->root, "name", JR_REQUIRED, s->name, sizeof s->name) < 0 ||
	    jr_string(&S->d, &S->root, "description", JR_OPTIONAL, s->description,
	              sizeof s->description) < 0 ||
	    jr_string(&S->d, &S->root, "t0", JR_REQUIRED, s->t0_text, sizeof s->t0_text) < 0 ||
	    jr_llong(&S->d, &S->root, "seed", JR_OPTIONAL, 0, INT64_MAX, &seed) < 0 ||
	    jr_int(&S->d, &S->root, "start_min", JR_OPTIONAL, -MAX_MINUTES, MAX_MINUTES,
	           &s->start_min) < 0 ||
	    jr_int(&S->d, &S->root, "end_min", JR_OPTIONAL, -MAX_MINUTES, MAX_MINUTES,
	           &s->end_min) < 0)
		return -1;
	s->seed = (uint64_t)seed;
	/* T-0 is local wall-clock time under the policy's calendar. */
	if (calendar_parse_local(&S->p->calendar, s->t0_text, &s->t0) < 0)
		return jr_fail(&S->d, &S->root, "t0", JR_AT_VALUE,
		               "invalid t0 \"%s\": expected local time \"YYYY-MM-DDTHH:MM[:SS]\"",
		               s->t0_text);
	if (s->end_min <= s->start_min)
		return jr_fail(&S->d, &S->root,
		               jr_has(&S->root, "end_min") ? "end_min" : "start_min", JR_AT_VALUE,
		               "end_min (%d) must be after start_min (%d)", s->end_min,
		               s->start_min);
	return 0;
}

static int load_traffic(struct sl *S)
{
	struct jr_val obj, v;
	void *it = NULL;
	const char *key;
	for (int j = 0; j < S->p->njourneys; j++)
		S->s->rps[j] = DEFAULT_RPS;
	int r = jr_object(&S->d, &S->root, "traffic", JR_OPTIONAL, &obj);
	if (r != 0)
		return r < 0 ? -1 : 0;
	while (jr_next(&obj, &it, &key, &v)) {
		int j = policy_journey_index(S->p, key);
		if (j < 0)
			return jr_fail(&S->d, &obj, key, JR_AT_KEY, "unknown journey \"%s\"", key);
		if (jr_as_number(&S->d, &v, 0, 1e6, &S->s->rps[j]) < 0)
			return -1;
	}
	return 0;
}

/* ---- effects ---------------------------------------------------------------- */

/* A source effect: the whole source fails or freezes for a while. */
static int load_source_effect(struct sl *S, struct jr_val *o, struct sr_effect *e)
{
	static const char *const not_with_source[] = {"kpi", "journey", "cohort", "scale",
	                                              "add", "set",     NULL};
	int which;
	for (int i = 0; not_with_source[i]; i++) {
		if (jr_has(o, not_with_source[i]))
			return jr_fail(
			    &S->d, o, not_with_source[i], JR_AT_KEY,
			    "\"%s\" does not go with \"source\": a source effect hits every KPI",
			    not_with_source[i]);
	}
	if (jr_enum(&S->d, o, "source", JR_REQUIRED, source_fx, &which) < 0)
		return -1;
	e->op = which == 0 ? SR_FX_SOURCE_ERROR : SR_FX_SOURCE_FREEZE;
	e->kpi = -1;
	e->journey = -1;
	e->cohort = SR_COHORT_BOTH;
	return 0;
}

/* The journey an effect applies to must be one the KPI is measured on. */
static int effect_journey(struct sl *S, struct jr_val *o, struct sr_effect *e)
{
	char id[SR_NAME_LEN];
	const struct sr_kpi *k = &S->p->kpis[e->kpi];
	e->journey = -1;
	int r = jr_id(&S->d, o, "journey", JR_OPTIONAL, id, sizeof id);
	if (r != 0)
		return r < 0 ? -1 : 0;
	int j = policy_journey_index(S->p, id);
	if (j < 0)
		return jr_fail(&S->d, o, "journey", JR_AT_VALUE, "unknown journey \"%s\"", id);
	for (int i = 0; i < k->njourneys; i++) {
		if (k->journeys[i] == j) {
			e->journey = j;
			return 0;
		}
	}
	return jr_fail(&S->d, o, "journey", JR_AT_VALUE,
	               k->njourneys ? "KPI \"%s\" is not measured on journey \"%s\""
	                            : "KPI \"%s\" is global: it has no journey \"%s\"",
	               k->id, id);
}

static int load_kpi_effect(struct sl *S, struct jr_val *o, struct sr_effect *e)
{
	static const char *const ops[] = {"scale", "add", "set", NULL};
	char id[SR_NAME_LEN];
	int cohort = SR_COHORT_CANARY, nops = 0, op = 0;
	if (jr_id(&S->d, o, "kpi", JR_REQUIRED, id, sizeof id) < 0)
		return -1;
	if ((e->kpi = policy_kpi_index(S->p, id)) < 0)
		return jr_fail(&S->d, o, "kpi", JR_AT_VALUE, "unknown KPI \"%s\"", id);
	if (effect_journey(S, o, e) < 0 ||
	    jr_enum(&S->d, o, "cohort", JR_OPTIONAL, cohort_names, &cohort) < 0)
		return -1;
	e->cohort = (enum sr_cohort_sel)cohort;
	for (int i = 0; ops[i]; i++) {
		if (!jr_has(o, ops[i]))
			continue;
		if (nops++)
			return jr_fail(&S->d, o, ops[i], JR_AT_KEY,
			               "give exactly one of \"scale\", \"add\" or \"set\"");
		op = i;
	}
	if (nops == 0)
		return jr_fail(&S->d, o, "scale", JR_AT_PARENT,
		               "missing \"scale\", \"add\" or \"set\" (or \"source\")");
	static const enum sr_effect_op op_values[] = {SR_FX_SCALE, SR_FX_ADD, SR_FX_SET};
	e->op = op_values[op];
	/* Every KPI value is >= 0: a negative scale or set is a typo. */
	double lo = e->op == SR_FX_ADD ? -HUGE_VAL : 0;
	return jr_number(&S->d, o, ops[op], JR_REQUIRED, lo, HUGE_VAL, &e->amount);
}

static int load_effect(struct sl *S, struct jr_val *o, struct sr_effect *e)
{
	static const char *const keys[] = {"from_min", "to_min", "kpi", "journey",
	                                   "cohort",   "scale",  "add", "set",
	                                   "source",   "note",   NULL};
	char note[SR_TEXT_LEN];
	if (jr_as_object(&S->d, o) < 0 || jr_check_keys(&S->d, o, keys) < 0 ||
	    jr_int(&S->d, o, "from_min", JR_REQUIRED, -MAX_MINUTES, MAX_MINUTES, &e->from_min) <
	        0 ||
	    jr_int(&S->d, o, "to_min", JR_REQUIRED, -MAX_MINUTES, MAX_MINUTES, &e->to_min) < 0 ||
	    jr_string(&S->d, o, "note", JR_OPTIONAL, note, sizeof note) < 0)
		return -1;
	if (e->to_min <= e->from_min)
		return jr_fail(&S->d, o, "to_min", JR_AT_VALUE,
		               "to_min (%d) must be after from_min (%d)", e->to_min, e->from_min);
	if (jr_has(o, "source"))
		return load_source_effect(S, o, e);
	return load_kpi_effect(S, o, e);
}

static int load_effects(struct sl *S)
{
	struct jr_val arr, o;
	int r = jr_array(&S->d, &S->root, "effects", JR_OPTIONAL, SR_MAX_EFFECTS, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_effect(S, &o, &S->s->effects[i]) < 0)
			return -1;
		S->s->neffects++;
	}
	return 0;
}

/* ---- script ----------------------------------------------------------------- */

static int load_tick(struct sl *S, struct jr_val *o, struct sr_script_step *st)
{
	if (jr_id(&S->d, o, "checklist", JR_REQUIRED, st->checklist, sizeof st->checklist) < 0 ||
	    jr_id(&S->d, o, "item", JR_REQUIRED, st->item, sizeof st->item) < 0)
		return -1;
	const struct sr_checklist *cl = policy_checklist(S->p, st->checklist);
	if (!cl)
		return jr_fail(&S->d, o, "checklist", JR_AT_VALUE, "unknown checklist \"%s\"",
		               st->checklist);
	for (int i = 0; i < cl->nitems; i++) {
		if (strcmp(cl->items[i].id, st->item) == 0)
			return 0;
	}
	return jr_fail(&S->d, o, "item", JR_AT_VALUE, "checklist \"%s\" has no item \"%s\"",
	               st->checklist, st->item);
}

static int load_step(struct sl *S, struct jr_val *o, int idx)
{
	static const char *const keys[] = {
	    "at_min",    "actor", "action", "weight", "retry_until_min",
	    "checklist", "item",  "reason", "note",   NULL};
	struct sr_scenario *s = S->s;
	struct sr_script_step *st = &s->script[idx];
	const char *actions[SR_ACT_COUNT + 1];
	char note[SR_TEXT_LEN];
	int act;
	for (int i = 0; i < SR_ACT_COUNT; i++)
		actions[i] = sr_action_name((enum sr_action_kind)i);
	actions[SR_ACT_COUNT] = NULL;

	if (jr_as_object(&S->d, o) < 0 || jr_check_keys(&S->d, o, keys) < 0 ||
	    jr_int(&S->d, o, "at_min", JR_REQUIRED, s->start_min, s->end_min, &st->at_min) < 0 ||
	    jr_id(&S->d, o, "actor", JR_REQUIRED, st->actor, sizeof st->actor) < 0 ||
	    jr_enum(&S->d, o, "action", JR_REQUIRED, actions, &act) < 0 ||
	    jr_string(&S->d, o, "reason", JR_OPTIONAL, st->reason, sizeof st->reason) < 0 ||
	    jr_string(&S->d, o, "note", JR_OPTIONAL, note, sizeof note) < 0)
		return -1;
	/* The runner plays steps in order as time passes. */
	if (idx > 0 && st->at_min < s->script[idx - 1].at_min)
		return jr_fail(&S->d, o, "at_min", JR_AT_VALUE,
		               "script steps must be in time order: T%+d after T%+d", st->at_min,
		               s->script[idx - 1].at_min);
	st->action = (enum sr_action_kind)act;
	st->retry_until_min = st->at_min;
	if (jr_int(&S->d, o, "retry_until_min", JR_OPTIONAL, st->at_min, MAX_MINUTES,
	           &st->retry_until_min) < 0)
		return -1;
	if (st->action != SR_ACT_PROMOTE && jr_has(o, "weight"))
		return jr_fail(&S->d, o, "weight", JR_AT_KEY, "\"weight\" applies only to promote");
	if (st->action != SR_ACT_TICK && (jr_has(o, "checklist") || jr_has(o, "item")))
		return jr_fail(&S->d, o, jr_has(o, "checklist") ? "checklist" : "item", JR_AT_KEY,
		               "\"checklist\" and \"item\" apply only to tick");
	if (st->action == SR_ACT_TICK)
		return load_tick(S, o, st);
	st->weight = 0; /* promote: 0 = the next phase */
	int r = jr_int(&S->d, o, "weight", JR_OPTIONAL, 1, 100, &st->weight);
	if (r < 0)
		return -1;
	if (r == 0 && policy_phase_index(S->p, st->weight) < 0)
		return jr_fail(&S->d, o, "weight", JR_AT_VALUE, "no phase has weight %d",
		               st->weight);
	return 0;
}

static int load_script(struct sl *S)
{
	struct jr_val arr, o;
	int r = jr_array(&S->d, &S->root, "script", JR_OPTIONAL, SR_MAX_SCRIPT, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_step(S, &o, (int)i) < 0)
			return -1;
		S->s->nscript++;
	}
	return 0;
}

/* ---- expectations ------------------------------------------------------------- */

static int expect_state(struct sl *S, struct jr_val *o, struct sr_expect *x)
{
	const char *states[SR_RS_SUCCESS + 2];
	int st;
	for (int i = 0; i <= SR_RS_SUCCESS; i++)
		states[i] = rollout_state_name((enum sr_rstate)i);
	states[SR_RS_SUCCESS + 1] = NULL;
	int r = jr_enum(&S->d, o, "state", JR_OPTIONAL, states, &st);
	if (r == 0)
		sr_strlcpy(x->state, states[st], sizeof x->state);
	return r < 0 ? -1 : 0;
}

static int expect_trigger(struct sl *S, struct jr_val *o, struct sr_expect *x)
{
	int r = jr_id(&S->d, o, "trigger", JR_OPTIONAL, x->trigger, sizeof x->trigger);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (int i = 0; i < S->p->ntriggers; i++) {
		if (strcmp(S->p->triggers[i].id, x->trigger) == 0)
			return 0;
	}
	return jr_fail(&S->d, o, "trigger", JR_AT_VALUE, "unknown trigger \"%s\"", x->trigger);
}

static int load_expect_one(struct sl *S, struct jr_val *o, struct sr_expect *x)
{
	static const char *const keys[] = {"at_min",  "decision", "state", "weight",
	                                   "trigger", "note",     NULL};
	char note[SR_TEXT_LEN];
	int v;
	if (jr_as_object(&S->d, o) < 0 || jr_check_keys(&S->d, o, keys) < 0 ||
	    jr_int(&S->d, o, "at_min", JR_REQUIRED, S->s->start_min, S->s->end_min, &x->at_min) <
	        0 ||
	    jr_string(&S->d, o, "note", JR_OPTIONAL, note, sizeof note) < 0)
		return -1;
	int r = jr_enum(&S->d, o, "decision", JR_OPTIONAL, verdict_names, &v);
	if (r < 0)
		return -1;
	x->has_verdict = r == 0;
	x->verdict = r == 0 ? verdict_values[v] : SR_GO;
	x->weight = -1;
	r = jr_int(&S->d, o, "weight", JR_OPTIONAL, 0, 100, &x->weight);
	if (r < 0)
		return -1;
	if (r == 0 && x->weight != 0 && policy_phase_index(S->p, x->weight) < 0)
		return jr_fail(&S->d, o, "weight", JR_AT_VALUE, "no phase has weight %d",
		               x->weight);
	if (expect_state(S, o, x) < 0 || expect_trigger(S, o, x) < 0)
		return -1;
	/* An expectation that checks nothing would pass silently. */
	if (!x->has_verdict && !x->state[0] && x->weight < 0 && !x->trigger[0])
		return jr_fail(
		    &S->d, o, NULL, JR_AT_VALUE,
		    "an expectation needs at least one of decision, state, weight, trigger");
	return 0;
}

static int load_expect(struct sl *S)
{
	struct jr_val arr, o;
	int r = jr_array(&S->d, &S->root, "expect", JR_OPTIONAL, SR_MAX_EXPECT, &arr);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < jr_len(&arr); i++) {
		jr_elem(&arr, i, &o);
		if (load_expect_one(S, &o, &S->s->expect[i]) < 0)
			return -1;
		S->s->nexpect++;
	}
	return 0;
}

/* ---- entry points --------------------------------------------------------------- */

int scenario_load_buffer(struct sr_scenario *s, const struct sr_policy *p, const char *buf,
                         size_t len, const char *name, struct sr_policy_error *err)
{
	static const char *const top[] = {"name",      "description", "t0",      "seed",
	                                  "start_min", "end_min",     "traffic", "effects",
	                                  "script",    "expect",      NULL};
	struct sl S;
	memset(s, 0, sizeof *s);
	if (jr_open(&S.d, buf, len, name, err) < 0)
		return -1;
	S.s = s;
	S.p = p;
	jr_root(&S.d, &S.root);
	int r = jr_check_keys(&S.d, &S.root, top) < 0 || load_header(&S) < 0 ||
	                load_traffic(&S) < 0 || load_effects(&S) < 0 || load_script(&S) < 0 ||
	                load_expect(&S) < 0
	            ? -1
	            : 0;
	jr_close(&S.d);
	return r < 0 || S.d.failed ? -1 : 0;
}

int scenario_load_file(struct sr_scenario *s, const struct sr_policy *p, const char *path,
                       struct sr_policy_error *err)
{
	char *buf;
	size_t len;
	if (jr_read_file(path, &buf, &len, err) < 0) {
		memset(s, 0, sizeof *s);
		return -1;
	}
	int r = scenario_load_buffer(s, p, buf, len, path, err);
	free(buf);
	return r;
}

void scenario_path(char *out, size_t n, const char *dir, const char *name)
{
	if (n == 0)
		return;
	if (strchr(name, '/')) {
		sr_strlcpy(out, name, n);
		return;
	}
	size_t len = strlen(name);
	bool has_ext = len >= 5 && strcmp(name + len - 5, ".json") == 0;
	snprintf(out, n, "%s/%s%s", dir && *dir ? dir : ".", name, has_ext ? "" : ".json");
}

int scenario_check_min(const struct sr_scenario *s, const char *opt, int min, char *err, size_t n)
{
	if (min >= s->start_min && min <= s->end_min)
		return 0;
	snprintf(err, n, "%s T%+d is %s the scenario %s: it plays T%+d..T%+d", opt, min,
	         min < s->start_min ? "before" : "after", min < s->start_min ? "starts" : "ends",
	         s->start_min, s->end_min);
	return -1;
}
