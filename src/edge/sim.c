/* edge/sim.c - the simulator's routing edge.
 *
 * The simulated edge answers at once: set_weight and get_weight call
 * their callback before returning, which is what lets the action
 * dispatcher and the tests run synchronously. The weight it holds is the
 * one the simulator splits traffic by (src/source/sim.c), so a promote
 * changes canary sample counts from the next slot on. Failures can be
 * injected (sim_edge_fail_next) to exercise the retry and FAILED paths.
 */
#include "../source/sim_model.h"

#include <string.h>

#include "shiproom/sim.h"

/* Consume one injected failure; true when this call must fail. */
static bool sim_edge_failing(struct sr_sim *sim)
{
	sim->edge_calls++;
	if (sim->fail_next <= 0)
		return false;
	sim->fail_next--;
	return true;
}

static void sim_edge_set_weight(struct sr_edge *e, int weight, bool drain, const char *idem_key,
                                sr_edge_cb cb, void *ud)
{
	struct sr_sim *sim = e->impl;
	/* the simulator's injected failures stand for transport trouble */
	if (sim_edge_failing(sim)) {
		cb(ud, SR_EDGE_TRANSIENT, -1, sim->fail_msg);
		return;
	}
	if (weight < 0 || weight > 100) {
		cb(ud, SR_EDGE_REFUSED, sim->weight, "weight out of range (0..100)");
		return;
	}
	/* A retried call with the same key is a no-op that reports success,
	 * as a real idempotent API would. */
	if (idem_key && idem_key[0] && strcmp(idem_key, sim->last_key) == 0 &&
	    sim->weight == weight) {
		cb(ud, 0, sim->weight, NULL);
		return;
	}
	sim->weight = weight;
	sim->drained = drain;
	sr_strlcpy(sim->last_key, idem_key ? idem_key : "", sizeof sim->last_key);
	cb(ud, 0, sim->weight, NULL);
}

static void sim_edge_get_weight(struct sr_edge *e, sr_edge_cb cb, void *ud)
{
	struct sr_sim *sim = e->impl;
	if (sim_edge_failing(sim)) {
		cb(ud, SR_EDGE_TRANSIENT, -1, sim->fail_msg);
		return;
	}
	cb(ud, 0, sim->weight, NULL);
}

static void sim_edge_destroy(struct sr_edge *e)
{
	(void)e; /* borrowed: sim_destroy frees the simulator */
}

static const struct sr_edge_ops sim_edge_ops = {
    .name = "sim",
    .set_weight = sim_edge_set_weight,
    .get_weight = sim_edge_get_weight,
    .destroy = sim_edge_destroy,
};

void sim_edge_attach(struct sr_sim *sim)
{
	sim->edge.ops = &sim_edge_ops;
	sim->edge.impl = sim;
}

void sim_edge_fail_next(struct sr_sim *sim, int n, const char *msg)
{
	sim->fail_next = n > 0 ? n : 0;
	sr_sanitize(sim->fail_msg, msg && msg[0] ? msg : "simulated edge failure",
	            sizeof sim->fail_msg);
}
