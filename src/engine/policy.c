/* policy.c - look-ups over a loaded policy, and the names of roles and
 * actions.
 *
 * The policy is plain data (policy.h); these helpers keep the id -> index
 * searches in one place so the engine, the views and the loaders resolve
 * names the same way. Linear scans: the tables are tiny (<= 64 entries)
 * and are not on a hot path that a hash would help.
 */
#include "shiproom/policy.h"

#include <math.h>
#include <string.h>

static const char *const role_names[SR_ROLE_COUNT] = {
    [SR_ROLE_RELEASE_DRI] = "release_dri",
    [SR_ROLE_GATE_APPROVER] = "gate_approver",
    [SR_ROLE_EXEC] = "exec",
    [SR_ROLE_OBSERVER] = "observer",
};

static const char *const action_names[SR_ACT_COUNT] = {
    [SR_ACT_HOLD] = "hold",         [SR_ACT_RESUME] = "resume",
    [SR_ACT_PROMOTE] = "promote",   [SR_ACT_ROLLBACK] = "rollback",
    [SR_ACT_APPROVE] = "approve",   [SR_ACT_TICK] = "tick",
    [SR_ACT_TIEBREAK] = "tiebreak", [SR_ACT_DECLARE_SUCCESS] = "declare_success",
    [SR_ACT_POST] = "post",         [SR_ACT_REPORT] = "report",
    [SR_ACT_UNTICK] = "untick",     [SR_ACT_NOTE] = "note",
};

const char *sr_role_name(enum sr_role r)
{
	return (unsigned)r < SR_ROLE_COUNT ? role_names[r] : "?";
}

const char *sr_action_name(enum sr_action_kind a)
{
	return (unsigned)a < SR_ACT_COUNT ? action_names[a] : "?";
}

int policy_kpi_index(const struct sr_policy *p, const char *id)
{
	for (int i = 0; id && i < p->nkpis; i++) {
		if (strcmp(p->kpis[i].id, id) == 0)
			return i;
	}
	return -1;
}

int policy_journey_index(const struct sr_policy *p, const char *id)
{
	for (int i = 0; id && i < p->njourneys; i++) {
		if (strcmp(p->journeys[i].id, id) == 0)
			return i;
	}
	return -1;
}

int policy_phase_index(const struct sr_policy *p, int weight)
{
	for (int i = 0; i < p->nphases; i++) {
		if (p->phases[i].weight == weight)
			return i;
	}
	return -1;
}

int policy_cell_index(const struct sr_policy *p, int kpi, int journey)
{
	for (int i = 0; i < p->ncells; i++) {
		if (p->cells[i].kpi == kpi && p->cells[i].journey == journey)
			return i;
	}
	return -1;
}

const struct sr_checklist *policy_checklist(const struct sr_policy *p, const char *id)
{
	for (int i = 0; id && i < p->nchecklists; i++) {
		if (strcmp(p->checklists[i].id, id) == 0)
			return &p->checklists[i];
	}
	return NULL;
}

double policy_kpi_limit(const struct sr_policy *p, int kpi, int phase)
{
	if (kpi < 0 || kpi >= p->nkpis)
		return NAN;
	const struct sr_kpi *k = &p->kpis[kpi];
	/* Pre-flight (and anything before the first phase) is judged by the
	 * first phase's limit: the canary is about to take that traffic. */
	if (phase < 0)
		phase = 0;
	if (phase < p->nphases && phase < SR_MAX_PHASES && !isnan(k->phase_limit[phase]))
		return k->phase_limit[phase];
	return k->limit;
}
