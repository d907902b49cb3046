/* scenario.h - a simulator scenario (config/scenarios/NAME.json).
 *
 * A scenario says when T-0 is, what traffic looks like, what goes wrong
 * and when (effects), what the people do and when (script), and what the
 * decision must be at given moments (expect, checked by the tests).
 * Format documented in man/shiproom.json.5, section SCENARIOS.
 */
#ifndef SHIPROOM_SCENARIO_H
#define SHIPROOM_SCENARIO_H

#include "shiproom/policy.h"

#define SR_MAX_EFFECTS 32
#define SR_MAX_SCRIPT 64
#define SR_MAX_EXPECT 32

enum sr_cohort_sel { SR_COHORT_CANARY, SR_COHORT_CONTROL, SR_COHORT_BOTH };

enum sr_effect_op {
	SR_FX_SCALE,        /* multiply the KPI's model value (latency: every sample) */
	SR_FX_ADD,          /* add to it */
	SR_FX_SET,          /* replace it (streak: force this many failures in a row) */
	SR_FX_SOURCE_ERROR, /* the source fails every fetch (ERROR) */
	SR_FX_SOURCE_FREEZE /* the source returns old data (goes STALE) */
};

struct sr_effect {
	int from_min, to_min; /* [from, to) minutes from T-0 */
	enum sr_effect_op op;
	int kpi;     /* -1: every KPI (source effects) */
	int journey; /* -1: every journey of the KPI */
	enum sr_cohort_sel cohort;
	double amount;
};

struct sr_script_step {
	int at_min;
	int retry_until_min; /* retry each poll while refused; = at_min: once */
	enum sr_action_kind action;
	int weight; /* PROMOTE target */
	char actor[SR_NAME_LEN];
	char checklist[SR_NAME_LEN]; /* TICK */
	char item[SR_NAME_LEN];
	char reason[SR_REASON_LEN];
};

struct sr_expect {
	int at_min;
	bool has_verdict;
	enum sr_verdict verdict;
	char state[SR_NAME_LEN];   /* rollout_state_name(), "" = any */
	int weight;                /* -1 = any */
	char trigger[SR_NAME_LEN]; /* a trigger id that must be firing, "" */
};

struct sr_scenario {
	char name[SR_NAME_LEN];
	char description[SR_TEXT_LEN];
	char t0_text[32];
	sr_ms t0;
	int start_min; /* where the clock starts, default -130 */
	int end_min;   /* where a headless play stops, default 600 */
	uint64_t seed;
	double rps[SR_MAX_JOURNEYS]; /* requests/s per journey, both cohorts */
	int neffects;
	struct sr_effect effects[SR_MAX_EFFECTS];
	int nscript;
	struct sr_script_step script[SR_MAX_SCRIPT];
	int nexpect;
	struct sr_expect expect[SR_MAX_EXPECT];
};

/* Load against a policy (ids resolve to indexes). Errors use the same
 * "file:line:column: key: message" form as the policy loader. */
int scenario_load_file(struct sr_scenario *s, const struct sr_policy *p, const char *path,
                       struct sr_policy_error *err);
int scenario_load_buffer(struct sr_scenario *s, const struct sr_policy *p, const char *buf,
                         size_t len, const char *name, struct sr_policy_error *err);
/* NAME -> path: "NAME" is looked up in the scenario directory (see
 * config_dir in main); a value containing '/' is used as given. */
void scenario_path(char *out, size_t n, const char *dir, const char *name);
/* A time given on the command line (--at, --start; opt names it) must lie
 * in the scenario's plan, start_min..end_min: playing far past its end
 * costs CPU for nothing (T+99999 took 91 s). 0 when it does, else -1 and
 * a message in err naming the option, the value and the range. */
int scenario_check_min(const struct sr_scenario *s, const char *opt, int min, char *err, size_t n);

#endif
