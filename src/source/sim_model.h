/* sim_model.h - the simulator's insides, shared by its two faces.
 *
 * Private to src/source/sim.c (the model and the metrics-source face) and
 * src/edge/sim.c (the routing face). Everything else goes through
 * include/shiproom/sim.h. The edge face only needs the weight and the
 * failure-injection fields; the model tables stay opaque (struct
 * sim_model is defined in sim.c).
 */
#ifndef SHIPROOM_SIM_MODEL_H
#define SHIPROOM_SIM_MODEL_H

#include "shiproom/edge.h"
#include "shiproom/scenario.h"
#include "shiproom/source.h"

struct sim_model;

struct sr_sim {
	const struct sr_policy *p;
	const struct sr_scenario *sc; /* may be NULL: defaults */
	uint64_t seed;
	sr_ms t0;

	/* Routing state, written by the edge face. The traffic split of every
	 * slot computed after a change uses the new weight. */
	int weight;    /* canary weight, percent */
	bool drained;  /* the last set_weight asked to drain */
	int fail_next; /* fail this many edge calls */
	char fail_msg[160];
	long edge_calls;    /* set_weight + get_weight calls, for tests */
	char last_key[128]; /* idempotency key of the last set_weight */

	sr_ms now; /* time of the last poll */

	struct sr_source source;
	struct sr_edge edge;
	struct sim_model *m;
	struct sr_snapshot snap;
};

/* Called by src/edge/sim.c: fills the edge face. */
void sim_edge_attach(struct sr_sim *sim);

#endif
