/* bench_policy.h - the directive's policy at more journeys, for the
 * benchmarks (eval_bench.c, obsrec_bench.c). Define JOURNEYS first. */
#ifndef SHIPROOM_BENCH_POLICY_H
#define SHIPROOM_BENCH_POLICY_H

#include <stdio.h>
#include <string.h>

#include "shiproom/policy.h"

/* Add journeys up to n (at most SR_MAX_JOURNEYS), give them to every
 * per-journey KPI and rebuild the cell table in the loader's order (KPI
 * by KPI), as tests/cli/gen_policy.py does to the file. */
static inline int extend_policy_to(struct sr_policy *p, int n)
{
	if (n > SR_MAX_JOURNEYS)
		return -1;
	for (int j = p->njourneys; j < n; j++) {
		struct sr_journey *J = &p->journeys[j];
		memset(J, 0, sizeof *J);
		snprintf(J->id, sizeof J->id, "journey_%03d", j);
		snprintf(J->name, sizeof J->name, "Journey %03d", j);
	}
	p->njourneys = n;
	p->ncells = 0;
	for (int k = 0; k < p->nkpis; k++) {
		struct sr_kpi *K = &p->kpis[k];
		if (K->njourneys > 0) {
			K->njourneys = n;
			for (int j = 0; j < n; j++)
				K->journeys[j] = j;
		}
		int n = K->njourneys > 0 ? K->njourneys : 1;
		for (int j = 0; j < n; j++) {
			if (p->ncells >= SR_MAX_CELLS)
				return -1;
			p->cells[p->ncells].kpi = k;
			p->cells[p->ncells].journey = K->njourneys > 0 ? K->journeys[j] : -1;
			p->ncells++;
		}
	}
	return 0;
}

static inline int extend_policy(struct sr_policy *p)
{
	return extend_policy_to(p, JOURNEYS);
}

#endif
