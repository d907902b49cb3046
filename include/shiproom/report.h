/* report.h - the ship-room's written reports: gate reports, phase summary
 * cards, the postmortem placeholder, the win note, and the status-page tile.
 *
 * A view: it reads the runner and never changes it (report_watch_tick only
 * adds log lines). Each report is first built as one jansson object - the
 * data - and then rendered through a template from config/ (template.h):
 *
 *   GATE_REPORT_TEMPLATE.md   gate report        (also written as JSON)
 *   PHASE_CARD_TEMPLATE.md    phase summary card (also written as JSON)
 *   POSTMORTEM_TEMPLATE.md    postmortem placeholder, on rollback
 *   WIN_NOTE_TEMPLATE.md      internal win note, on success
 *
 * The JSON report IS the template data, so the Markdown and the JSON can
 * never disagree; its keys are the template variables (the schemas below,
 * and the comment at the top of each shipped template, list them). Every
 * string from outside (label values, error texts, reasons, actor names) is
 * sanitised into the data and escaped for Markdown/HTML by the template.
 *
 * Times are the runner's clock (virtual under the simulator): a report
 * never reads a clock of its own, so a replayed scenario gives the same
 * bytes.
 */
#ifndef SHIPROOM_REPORT_H
#define SHIPROOM_REPORT_H

#include <jansson.h>

#include "shiproom/runner.h"
#include "shiproom/template.h"

#define REPORT_GATE_TEMPLATE "GATE_REPORT_TEMPLATE.md"
#define REPORT_CARD_TEMPLATE "PHASE_CARD_TEMPLATE.md"
#define REPORT_POSTMORTEM_TEMPLATE "POSTMORTEM_TEMPLATE.md"
#define REPORT_WIN_TEMPLATE "WIN_NOTE_TEMPLATE.md"

enum sr_report_kind {
	SR_REPORT_GATE,
	SR_REPORT_CARD,
	SR_REPORT_POSTMORTEM,
	SR_REPORT_WIN,
	SR_REPORT_COUNT
};
const char *report_kind_name(enum sr_report_kind k); /* "gate", "card", ... */

/* The variables each template may use (checked at load). */
extern const struct sr_tpl_var *const report_schemas[SR_REPORT_COUNT];

struct sr_report_templates {
	struct sr_template *t[SR_REPORT_COUNT];
};

/* Load the four templates from `dir` (the config dir). Call it at start:
 * a broken template fails here with "file:line:column: message" in err,
 * not at the gate. 0, or -1 with err (and nothing left loaded). */
int report_templates_load(struct sr_report_templates *t, const char *dir, char *err, size_t n);
void report_templates_free(struct sr_report_templates *t);

/* ---- the data and the Markdown ----------------------------------------------- */

/* `index` picks what the report is about:
 *   GATE: a gate (index into policy.gates); -1 = the gate ahead (the last
 *         gate reached when none is ahead: after a rollback or at 100%);
 *   CARD: a phase (index into policy.phases) whose summary it is; -1 = the
 *         current phase. At a step-up the runner's cells still hold the
 *         last evaluation of the phase left behind, so pass that phase;
 *   POSTMORTEM, WIN: unused.
 * report_json returns a new reference (NULL only when out of memory). */
json_t *report_json(enum sr_report_kind kind, const struct sr_runner *r, int index);
/* The Markdown (malloc'd, free() it), NULL when out of memory. */
char *report_markdown(const struct sr_report_templates *t, enum sr_report_kind kind,
                      const struct sr_runner *r, int index);

/* Write the report into `dir` (which must exist; the state dir):
 *   GATE        gate-<N>-<T+MIN>.md and .json  (N 1-based, T+MIN = now)
 *   CARD        phase-card-<WEIGHT>pct-<T+MIN>.md and .json
 *   POSTMORTEM  postmortem-<T+MIN of the rollback>.md
 *   WIN         win-note-<T+MIN of success>.md
 * Files are written whole (temporary file, then rename) with mode 0644.
 * The postmortem and the win note are documents people go on to edit:
 * an existing one is never overwritten (returns 1, path filled).
 * 0 on success with the .md path in path[pn]; -1 with err. */
int report_write(const struct sr_report_templates *t, enum sr_report_kind kind,
                 const struct sr_runner *r, int index, const char *dir, char *path, size_t pn,
                 char *err, size_t n);

/* The gate `index` resolves to (see above); -1 when the policy has none. */
int report_gate_index(const struct sr_runner *r, int index);
/* One cell's evidence test as data (the "evidence" items of the gate
 * report and the phase card, and of `status --json`): label, state, text,
 * r_hat, lo, hi, p_worse, events, needed, share, bursty_steps, tolerance,
 * upper, alpha, action; null when the cell's KPI has no test. */
json_t *report_evidence_cell_json(const struct sr_engine *e, int cell);

/* The word of the gate decision: GO, NO-GO (for HOLD), NO-GO (escalated)
 * (for ESCALATE), ROLLBACK (a trigger fires, or the rollout was rolled
 * back). */
const char *report_decision_word(const struct sr_runner *r);

/* When the postmortem is due (rollback + policy.postmortem_h); 0 when
 * there was no rollback. */
sr_ms report_postmortem_due(const struct sr_runner *r);

/* ---- the status-page tile ------------------------------------------------------ */

/* The directive: the status page stays GREEN unless an SLO breach is
 * sustained or user impact is material. What we choose:
 *   RED     "Major outage": the sustained-breach trigger is FIRING (a
 *           gating KPI RED for its whole window);
 *   YELLOW  "Degraded performance": the sustained-breach trigger is
 *           PENDING past half its window, or a user-facing gating KPI is
 *           RED. User-facing: a gating KPI outside the "cost" group whose
 *           signal is a latency or a ratio or whose unit is ms (what users
 *           feel: slowness, errors, failed payments, funnel drops); pool
 *           saturation, error budget, concurrency and cost are internal;
 *   GREEN   "Operational" otherwise. A data gap never changes the status
 *           page (we do not know), and after a rollback the canary serves
 *           nobody, so the tile follows the live data only.
 * The canary weight is not used: 5% of users is still users. */
struct sr_status_tile {
	enum sr_status color; /* SR_GREEN, SR_YELLOW or SR_RED */
	char headline[48];    /* "Operational", "Degraded performance", "Major outage" */
	char reason[SR_REASON_LEN];
};
void report_status_tile(const struct sr_runner *r, struct sr_status_tile *tile);

/* ---- writing the reports when they are due -------------------------------------- */

/* Call report_watch_tick() after each runner_tick(): it writes
 *   the gate report when a gate's observation window elapses (once per gate),
 *   the phase card of the phase left behind at each step-up,
 *   the postmortem placeholder at once when the rollout is rolled back,
 *   the win note when success is declared,
 * and logs each file written (or the failure) in the runner's log. State
 * already reached when watching starts (a restarted console) is not
 * written again; an existing postmortem or win note is kept. */
struct sr_report_watch {
	const struct sr_report_templates *tpl;
	char dir[512];
	bool started;
	int phase; /* last phase seen */
	bool gate_done[SR_MAX_GATES];
	bool postmortem_done, win_done;
	int written;         /* files written so far (.md only) */
	char last_path[640]; /* the newest report written */
};
void report_watch_init(struct sr_report_watch *w, const struct sr_report_templates *tpl,
                       const char *dir);
/* Returns the number of reports written by this call. */
int report_watch_tick(struct sr_report_watch *w, struct sr_runner *r);

#endif
