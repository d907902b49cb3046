/* sim.h - the built-in simulator: a metrics source and an edge.
 *
 * Traffic is split by the simulated edge's weight, so the canary's sample
 * counts scale with it (at 5% its percentiles are noisier, and
 * min_samples matters). Latency percentiles are computed from histograms
 * with Prometheus's bucket interpolation (histogram_quantile). Everything
 * is drawn from one seeded PRNG stepped by virtual time, so a scenario
 * played twice with one seed gives the same numbers.
 */
#ifndef SHIPROOM_SIM_H
#define SHIPROOM_SIM_H

#include "shiproom/edge.h"
#include "shiproom/scenario.h"
#include "shiproom/source.h"

struct sr_sim;

struct sr_sim *sim_create(const struct sr_policy *p, const struct sr_scenario *sc);
void sim_destroy(struct sr_sim *sim);

/* The two faces; both borrow the sim (destroying them does not free it). */
struct sr_source *sim_source(struct sr_sim *sim);
struct sr_edge *sim_edge(struct sr_sim *sim);

int sim_weight(const struct sr_sim *sim);
/* Fail the edge's next n calls (tests of the failure path); n = 0 stops.
 * msg NULL: a generic "simulated edge failure". */
void sim_edge_fail_next(struct sr_sim *sim, int n, const char *msg);
/* Did the last set_weight ask to drain (rollback)? */
bool sim_edge_drained(const struct sr_sim *sim);
/* set_weight + get_weight calls so far, failed ones included. */
long sim_edge_calls(const struct sr_sim *sim);
/* The model's healthy value of a cell before noise and effects (latency:
 * the journey's median), for tests and the help text. NAN if no such cell. */
double sim_model_value(const struct sr_sim *sim, int cell);

/* Prometheus-style bucket interpolation over cumulative counts. bounds
 * has nb upper bounds (ascending, the last may be +Inf); counts[i] is
 * the cumulative count of observations <= bounds[i]. NAN when empty. */
double sim_histogram_quantile(double q, const double *bounds, const double *cumulative, int nb);

#endif
