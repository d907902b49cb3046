/* fuzz_policy.c - libFuzzer target for the policy loader.
 *
 * Any bytes: the loader must either accept them and produce a policy
 * that keeps the struct's invariants (indexes in range, counts within
 * capacity) or refuse them with a terminated, well-formed error.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/policy.h"

static struct sr_policy policy; /* large: keep it off the stack */

static void check_policy(const struct sr_policy *p)
{
	if (p->nkpis < 1 || p->nkpis > SR_MAX_KPIS || p->ncells > SR_MAX_CELLS || p->nphases < 1 ||
	    p->nphases > SR_MAX_PHASES || p->njourneys > SR_MAX_JOURNEYS)
		abort();
	for (int i = 0; i < p->ncells; i++) {
		if (p->cells[i].kpi < 0 || p->cells[i].kpi >= p->nkpis ||
		    p->cells[i].journey < -1 || p->cells[i].journey >= p->njourneys)
			abort();
	}
	for (int i = 0; i < p->ntriggers; i++) {
		for (int k = 0; k < p->triggers[i].nkpis; k++) {
			if (p->triggers[i].kpis[k] < 0 || p->triggers[i].kpis[k] >= p->nkpis)
				abort();
		}
	}
	for (int i = 1; i < p->nphases; i++) {
		if (p->phases[i].weight <= p->phases[i - 1].weight)
			abort();
	}
	for (int k = 0; k < p->nkpis; k++) {
		const struct sr_kpi *kp = &p->kpis[k];
		if (kp->unit[0] == '\0' || (!isnan(kp->limit) && kp->limit < 0) ||
		    (kp->signal == SR_SIG_LATENCY && !(kp->quantile > 0 && kp->quantile < 1)))
			abort();
		for (int ph = -1; ph < p->nphases; ph++)
			(void)policy_kpi_limit(p, k, ph);
	}
	if (policy_phase_index(p, p->success_weight) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_policy_error err;
	char *buf = malloc(size ? size : 1); /* exact size: catches over-reads */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (policy_load_buffer(&policy, buf, size, "fuzz.json", &err) == 0) {
		check_policy(&policy);
	} else {
		char msg[1024];
		if (memchr(err.msg, '\0', sizeof err.msg) == NULL ||
		    memchr(err.key, '\0', sizeof err.key) == NULL || err.line < 0 ||
		    err.column < 0 || err.msg[0] == '\0')
			abort();
		policy_error_format(&err, msg, sizeof msg);
		for (const char *c = msg; *c; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort(); /* nothing raw from the input reaches a message */
		}
	}
	free(buf);
	return 0;
}
