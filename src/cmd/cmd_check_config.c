/* check_config.c - `shiproom check-config FILE`: validate a policy file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/clock.h"
#include "shiproom/cmd.h"

int cmd_check_config(const struct sr_opts *o)
{
	struct sr_policy *p = calloc(1, sizeof *p);
	if (!p) {
		sr_eprintf("out of memory");
		return SR_EXIT_RUNTIME;
	}
	int rc = SR_EXIT_USAGE;
	if (session_load_policy(p, o->file) == 0) {
		printf(
		    "%s: ok (%d KPIs, %d cells, %d phases, %d gates, %d triggers), source %s, edge "
		    "%s, store %s\n",
		    o->file, p->nkpis, p->ncells, p->nphases, p->ngates, p->ntriggers,
		    p->source_kind, p->edge_kind, p->store_kind);
		rc = SR_EXIT_OK;
	}
	free(p);
	return rc;
}
