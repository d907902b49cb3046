/* policy.h - the rollout directive as data.
 *
 * A policy is loaded once from JSON (config/shiproom.json is the directive
 * of ../shared/seed/canary-directive.md) and is read-only afterwards. No
 * rule of the directive lives as a constant in C: phases, limits, KPIs,
 * triggers, gates, rights, calendar and checklists all come from here.
 *
 * The format is documented key by key in man/shiproom.json.5.
 */
#ifndef SHIPROOM_POLICY_H
#define SHIPROOM_POLICY_H

#include "shiproom/common.h"
#include "shiproom/evidence.h"

enum sr_kpi_kind {
	SR_KIND_MAX,         /* value <= limit */
	SR_KIND_MIN,         /* value >= limit */
	SR_KIND_VS_CONTROL,  /* deviation from the control cohort within limit % */
	SR_KIND_VS_BASELINE, /* deviation from the baseline within limit % */
	SR_KIND_RATIO_MIN,   /* value (a ratio, e.g. 4x markup) >= limit */
	SR_KIND_STREAK,      /* consecutive failures <= limit */
	SR_KIND_MONITOR      /* shown, never gating (P99) */
};

/* Which deviation counts against a vs_control / vs_baseline KPI. */
enum sr_direction {
	SR_DIR_BOTH, /* "within N%": either way */
	SR_DIR_UP,   /* "no increase beyond N%" */
	SR_DIR_DOWN  /* "no decrease beyond N%" */
};

/* What the number is, so a source knows how to produce it. */
enum sr_signal {
	SR_SIG_LATENCY, /* a quantile of a latency histogram, ms */
	SR_SIG_RATIO,   /* bad or good events / total events, percent */
	SR_SIG_GAUGE,   /* an instantaneous value in `unit` */
	SR_SIG_STREAK   /* count of consecutive failures */
};

enum sr_baseline {
	SR_BASE_CONTROL, /* the control cohort at the same instant (default) */
	SR_BASE_T0       /* the control value captured at T-0 */
};

struct sr_journey {
	char id[SR_NAME_LEN];
	char name[SR_TITLE_LEN];
	bool read_heavy; /* risk watchlist: cache hit >= 85% applies */
};

struct sr_group {
	char id[SR_NAME_LEN];
	char name[SR_TITLE_LEN];
};

struct sr_phase {
	char name[SR_NAME_LEN]; /* "5%" */
	int weight;             /* canary weight, percent */
	int start_min;          /* planned start, minutes from T-0 */
	int observe_min;        /* observation window before its gate */
	int cadence_min;        /* reporting cadence in this phase (0: none) */
};

struct sr_gate {
	char name[SR_NAME_LEN]; /* "Gate 1" */
	int at_min;             /* planned time, minutes from T-0 */
	int from_weight, to_weight;
	int approvals_needed; /* distinct approvers of approver_role */
	char approver_role[SR_NAME_LEN];
	bool pre_approved;         /* 50->100: no approvals when the decision is GO */
	double p95_max;            /* extra latency condition (NAN: none) */
	char p95_kpi[SR_NAME_LEN]; /* the KPI p95_max applies to */
};

struct sr_kpi {
	char id[SR_NAME_LEN];
	char name[SR_TITLE_LEN];
	char group[SR_NAME_LEN];
	char unit[16];          /* "ms", "%", "x", "count", "USD", ... */
	char note[SR_TEXT_LEN]; /* the directive's "Notes" column */
	enum sr_kpi_kind kind;
	enum sr_direction direction;
	enum sr_signal signal;
	enum sr_baseline baseline;
	double quantile; /* SR_SIG_LATENCY: 0.50, 0.95, 0.99 */
	double limit;    /* limit, or tolerance % for vs_* kinds */
	/* Per-phase limit, indexed like policy.phases; NAN where the phase
	 * uses `limit`. Pre-flight uses the first phase's limit. */
	double phase_limit[SR_MAX_PHASES];
	double warn_margin;            /* YELLOW this close to the limit (absolute) */
	double min_samples;            /* fewer canary samples -> NODATA */
	bool gating;                   /* counts towards the decision and triggers */
	bool higher_is_better;         /* derived from kind: MIN, RATIO_MIN */
	int njourneys;                 /* 0: a global KPI, one cell */
	int journeys[SR_MAX_JOURNEYS]; /* indexes into policy.journeys */
	char query[SR_QUERY_LEN];      /* PromQL template for the prometheus source */
	/* The sequential test of canary against control (key "evidence";
	 * disabled when absent). Ratio KPIs: their bad events; latency KPIs:
	 * requests slower than a histogram boundary near control's P95. */
	struct sr_evidence_cfg evidence;
};

/* One evaluation unit: a KPI for one journey (or the global KPI). */
struct sr_cell {
	int kpi;
	int journey; /* -1 for a global KPI */
};

enum sr_trigger_kind {
	SR_TRIG_SUSTAINED, /* any gating KPI RED for for_ms in a row */
	SR_TRIG_THRESHOLD  /* a KPI's canary value crosses `value` */
};

struct sr_trigger {
	char id[SR_NAME_LEN];
	char name[SR_TITLE_LEN];
	enum sr_trigger_kind kind;
	sr_ms for_ms; /* SUSTAINED */
	int nkpis;    /* THRESHOLD: the KPIs it watches */
	int kpis[SR_MAX_TRIGGER_KPIS];
	bool above; /* true: fires when value > threshold;
	               false: when value < threshold */
	double threshold;
};

enum sr_role {
	SR_ROLE_RELEASE_DRI,
	SR_ROLE_GATE_APPROVER,
	SR_ROLE_EXEC,
	SR_ROLE_OBSERVER,
	SR_ROLE_COUNT
};
const char *sr_role_name(enum sr_role r); /* "release_dri", ... */

enum sr_action_kind {
	SR_ACT_HOLD,
	SR_ACT_RESUME,
	SR_ACT_PROMOTE,
	SR_ACT_ROLLBACK,
	SR_ACT_APPROVE,
	SR_ACT_TICK,     /* tick a checklist item */
	SR_ACT_TIEBREAK, /* exec resolves an ESCALATE */
	SR_ACT_DECLARE_SUCCESS,
	SR_ACT_POST,   /* an update to #ship-room now (the workflow's) */
	SR_ACT_REPORT, /* write a report into the state dir (the workflow's) */
	SR_ACT_UNTICK, /* undo a checklist tick, with a reason */
	SR_ACT_NOTE,   /* a timestamped note on the rollout (changes no state) */
	SR_ACT_COUNT
};
const char *sr_action_name(enum sr_action_kind a); /* "hold", ... */

/* One row of the directive's decision-rights table. */
struct sr_right {
	enum sr_action_kind action;
	int from_weight, to_weight;  /* PROMOTE only; -1 elsewhere */
	enum sr_role role;           /* who may do it */
	bool needs_gate_approvals;   /* 5->25, 25->50 */
	bool pre_approved;           /* 50->100 when GO */
	bool needs_go;               /* refused unless the decision is GO */
	char condition[SR_TEXT_LEN]; /* the directive's words, shown on refusal */
};

struct sr_roster {
	int n[SR_ROLE_COUNT];
	char who[SR_ROLE_COUNT][SR_MAX_ROSTER][SR_NAME_LEN];
};

/* The rollout's service (`shiproom serve`): where its socket is and who
 * may attach. A roster member attaches with their role; an observer
 * (a login listed here, or a member of `observer_group`) read-only;
 * anyone else is refused at connect. */
#define SR_MAX_OBSERVERS 32
struct sr_service_policy {
	char socket[256];        /* "" = the per-user default (cmd.h) */
	char group[SR_NAME_LEN]; /* the socket's group ("" = the owner's) */
	int mode;                /* the socket's mode, e.g. 0660 (0 = 0600) */
	int nobservers;
	char observers[SR_MAX_OBSERVERS][SR_NAME_LEN];
	char observer_group[SR_NAME_LEN];
};

struct sr_check_item {
	char id[SR_NAME_LEN];
	char text[SR_TEXT_LEN];
	int due_min;   /* pre-flight: minutes from T-0 (-120, -60); else 0 */
	bool required; /* must be ticked before T-0 (pre-flight) */
};

struct sr_checklist {
	char id[SR_NAME_LEN]; /* "preflight", "watchlist", "remediation", "post_canary" */
	char name[SR_TITLE_LEN];
	bool ordered; /* remediation: Cache -> DB -> App, in order */
	int nitems;
	struct sr_check_item items[SR_MAX_ITEMS];
};

struct sr_criterion {
	char id[SR_NAME_LEN];
	char text[SR_TEXT_LEN];
	int nkpis;
	int kpis[SR_MAX_TRIGGER_KPIS];
	char group[SR_NAME_LEN]; /* or every KPI of a group ("" if unused) */
	double max_value;        /* extra bound on the KPIs' canary value (NAN: none) */
	sr_ms sustain_ms;        /* must hold this long (P95 <= 120 for 2 h) */
};

struct sr_calendar {
	int utc_offset_min;   /* local time = UTC + offset (fixed; no DST) */
	int day_start_min;    /* business hours start, minutes after 00:00 */
	int end_of_day_min;   /* end of day, minutes after 00:00 */
	unsigned workdays;    /* bit 0 = Sunday ... bit 6 = Saturday */
	int reevaluate_min;   /* overnight hold re-evaluation, e.g. 09:00 */
	int overnight_weight; /* holds at this weight past EOD go overnight */
};

#define SR_FAST_POLL_S_DEFAULT 2
#define SR_FAST_MARGIN_PCT_DEFAULT 12.5

/* Longest "source" or "edge" object kept (compact JSON). */
#define SR_POLICY_OBJ_LEN (64 * 1024)
#define SR_POLICY_STORE_LEN (8 * 1024) /* 8 endpoints, 4 paths: ~5 KiB at most */

struct sr_policy {
	char path[512]; /* where it came from, for messages */
	char rollout[SR_NAME_LEN];
	char title[SR_TITLE_LEN];
	uint64_t hash; /* FNV-1a of the file bytes, for the journal */

	sr_ms poll_ms;        /* evaluation interval */
	sr_ms stale_after_ms; /* default 3 polls */
	int clear_after;      /* hysteresis: good evaluations RED -> GREEN */
	bool auto_rollback;
	/* The faster rate for the KPIs a breach may be building on
	 * (poll_schedule.h); 0: off. fast_margin_pct: how close to a
	 * threshold trigger a value counts as near it. */
	sr_ms fast_poll_ms;
	double fast_margin_pct;
	char source_kind[SR_NAME_LEN]; /* source.kind: "sim" or "prometheus" */
	char edge_kind[SR_NAME_LEN];   /* edge.kind: "sim", "haproxy" or "http" */
	/* The "source" and "edge" objects as compact JSON, validated at load
	 * by their drivers' config readers; read them back typed with
	 * policy_prometheus_config() and friends. Text rather than pointers
	 * so that a copy of the policy (main's simulator drill, tests) is a
	 * whole, independent copy with nothing to free. */
	char source_json[SR_POLICY_OBJ_LEN];
	char edge_json[SR_POLICY_OBJ_LEN];
	/* store.kind: "dir" (the state dir; the default when "store" is
	 * absent) or "etcd"; its object as compact JSON ("" for "dir"): read
	 * it back typed with policy_etcd_config(). */
	char store_kind[SR_NAME_LEN];
	char store_json[SR_POLICY_STORE_LEN];

	int njourneys;
	struct sr_journey journeys[SR_MAX_JOURNEYS];
	int ngroups;
	struct sr_group groups[SR_MAX_GROUPS];
	int nphases;
	struct sr_phase phases[SR_MAX_PHASES];
	int ngates;
	struct sr_gate gates[SR_MAX_GATES];
	int nkpis;
	struct sr_kpi kpis[SR_MAX_KPIS];
	int ncells;
	struct sr_cell cells[SR_MAX_CELLS];
	int ntriggers;
	struct sr_trigger triggers[SR_MAX_TRIGGERS];
	int nrights;
	struct sr_right rights[SR_MAX_RIGHTS];
	struct sr_roster roster;
	struct sr_service_policy service;
	struct sr_calendar calendar;
	int nchecklists;
	struct sr_checklist checklists[SR_MAX_CHECKLISTS];
	int ncriteria;
	struct sr_criterion criteria[SR_MAX_CRITERIA];
	int success_weight; /* success criteria are judged at this weight */
	int partial_weight; /* partial success: hold at this weight */
	int reattempt_h;    /* partial success: reattempt within */
	int postmortem_h;   /* rollback: postmortem due within */
	char status_page_rule[SR_TEXT_LEN];
};

/* A load or validation error: where and what. line/column are 1-based,
 * 0 when not known (e.g. the file could not be opened). */
struct sr_policy_error {
	char file[512];
	int line, column;
	char key[SR_QUERY_LEN / 4]; /* JSON pointer of the offending key: "/kpis/3/unit" */
	char msg[SR_TEXT_LEN];
};

/* Formats "file:line:column: key: msg" into buf. */
void policy_error_format(const struct sr_policy_error *e, char *buf, size_t n);

/* Load and validate. Returns 0 on success, -1 with *err filled.
 * The policy struct is large: allocate it on the heap. */
int policy_load_file(struct sr_policy *p, const char *path, struct sr_policy_error *err);
/* The same from memory (fuzzing, tests); `name` is used in messages. */
int policy_load_buffer(struct sr_policy *p, const char *buf, size_t len, const char *name,
                       struct sr_policy_error *err);

/* The driver configs of the policy's source and edge objects, parsed
 * again from the text kept at load (which validated them, so these fail
 * only when the kind does not match). 0, or -1 with err. */
struct sr_prom_config;
struct sr_haproxy_config;
struct sr_http_edge_config;
int policy_prometheus_config(const struct sr_policy *p, struct sr_prom_config *c, char *err,
                             size_t n);
int policy_haproxy_config(const struct sr_policy *p, struct sr_haproxy_config *c, char *err,
                          size_t n);
int policy_http_edge_config(const struct sr_policy *p, struct sr_http_edge_config *c, char *err,
                            size_t n);

/* The "store" object's etcd config (kind "etcd" only), its prefix
 * filled with "/shiproom/<rollout>" when the policy sets none. */
struct sr_etcd_config;
int policy_etcd_config(const struct sr_policy *p, struct sr_etcd_config *c, char *err, size_t n);

/* Look-ups; -1 when absent. */
int policy_kpi_index(const struct sr_policy *p, const char *id);
int policy_journey_index(const struct sr_policy *p, const char *id);
int policy_phase_index(const struct sr_policy *p, int weight);
int policy_cell_index(const struct sr_policy *p, int kpi, int journey);
const struct sr_checklist *policy_checklist(const struct sr_policy *p, const char *id);

/* The limit of a KPI in a phase (phase -1: pre-flight, uses phase 0). */
double policy_kpi_limit(const struct sr_policy *p, int kpi, int phase);

#endif
