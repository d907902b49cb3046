/* engine_fixture.h - shared helpers for the engine's unit tests.
 *
 * Every engine test runs the real shipped policy (config/shiproom.json,
 * the directive) on a fake clock: load it once, copy it (a test may edit
 * its copy), build a snapshot with chosen canary/control values per cell,
 * and step the engine through time. Linked into every unit test binary
 * by the Makefile (every non-test_ file of tests/unit/).
 */
#ifndef SHIPROOM_TEST_ENGINE_FIXTURE_H
#define SHIPROOM_TEST_ENGINE_FIXTURE_H

#include "shiproom/calendar.h"
#include "shiproom/engine.h"
#include "shiproom/rights.h"

/* Thursday 2025-10-09 09:00 UTC (the policy's offset is +00:00): the day
 * after the directive. Gate 3 (T+450) falls at 16:30, before 18:00. */
#define FX_T0 1760000400000LL
#define FX_MIN SR_MS_PER_MIN
#define FX_S SR_MS_PER_S
#define FX_POLL (15 * SR_MS_PER_S)

struct fx {
	struct sr_policy *p; /* a private copy of the shipped policy */
	struct sr_engine *e;
	struct sr_snapshot *s;
	sr_ms now;
	bool frozen[SR_MAX_CELLS]; /* fx_eval leaves these cells' times alone */
};

/* The shipped policy, loaded once (fails the test if it does not load). */
const struct sr_policy *fx_shipped_policy(void);

/* A fixture at `t0` with now = T-0, every cell healthy, nothing evaluated. */
struct fx *fx_new(sr_ms t0);
void fx_free(struct fx *f);
/* After editing f->p: start the engine again (keeps the snapshot). */
void fx_reinit(struct fx *f, sr_ms t0);

int fx_kpi(const struct fx *f, const char *kpi);
/* Cell index of kpi x journey (journey NULL: a global KPI); fails the
 * test when the policy has no such cell. */
int fx_cell(const struct fx *f, const char *kpi, const char *journey);

/* Healthy canary and control values for every cell, fresh at now. */
void fx_healthy(struct fx *f);
/* Set a cell's canary and control values (OK, 1000 samples, fresh). */
void fx_set(struct fx *f, const char *kpi, const char *journey, double canary, double control);
void fx_set_cell(struct fx *f, int cell, double canary, double control);

/* Refresh the time of every non-frozen OK/NOSERIES observation to now
 * and evaluate. */
void fx_eval(struct fx *f);
/* now += dt, then fx_eval. */
void fx_step(struct fx *f, sr_ms dt);
/* Evaluate every `poll` until `duration` has passed (the last step lands
 * exactly on now + duration). */
void fx_run(struct fx *f, sr_ms duration, sr_ms poll);

/* Tick the required pre-flight items. */
void fx_preflight_done(struct fx *f);
/* Promote (state only, no rights) phase by phase up to `weight` at now,
 * ticking pre-flight if needed; then evaluate. */
void fx_enter(struct fx *f, int weight);
/* The same promotions without the evaluation after them. */
void fx_promote(struct fx *f, int weight);
/* Record the next gate's approval by `who`. */
void fx_approve(struct fx *f, const char *who);

enum sr_status fx_status(const struct fx *f, const char *kpi, const char *journey);
const char *fx_reason(const struct fx *f, const char *kpi, const char *journey);
/* Does any decision reason contain `needle`? */
bool fx_decision_has(const struct fx *f, const char *needle);
/* All decision reasons joined by " | " (for failure messages). */
const char *fx_decision_text(const struct fx *f);
const struct sr_trigger_state *fx_trigger(const struct fx *f, const char *id);
/* Drain the engine's events; count those of `kind` (and index, -1: any). */
int fx_drain_count(struct fx *f, enum sr_event_kind kind, int index);

/* Is s valid UTF-8 to its end (no truncated or stray sequence)? What
 * jansson's json_string() needs, or a cell vanishes from status --json. */
bool fx_utf8_valid(const char *s);

/* cmocka assert that `hay` contains `needle`, printing both if not. */
#define assert_contains(hay, needle) fx_assert_contains((hay), (needle), __FILE__, __LINE__)
void fx_assert_contains(const char *hay, const char *needle, const char *file, int line);

#endif
