/* edge.h - the routing edge: where the canary's weight is set.
 *
 * One small vtable, in the manner of tmux's window modes: `sim` today,
 * `haproxy` (Runtime API) and `http` (templated REST) plug in behind the
 * same face. Calls complete through a callback so a real driver can run
 * on the libuv loop; the simulator completes before returning.
 */
#ifndef SHIPROOM_EDGE_H
#define SHIPROOM_EDGE_H

#include "shiproom/common.h"

struct sr_edge;
struct sr_policy;
struct uv_loop_s;

/* One error type for every edge: what a driver's callback gets. */
enum sr_edge_result {
	SR_EDGE_OK = 0,
	SR_EDGE_REFUSED = -1,  /* final: the edge said no (HAProxy's error text, an
	                          HTTP 4xx, a read-back mismatch); asking again
	                          gets the same */
	SR_EDGE_TRANSIENT = -2 /* no usable answer (a timeout, a reset, a 5xx, a
	                          429): worth a retry */
};

/* result 0 on success; otherwise err holds a sanitised message. weight is
 * the weight read back after the call (-1 when unknown). */
typedef void (*sr_edge_cb)(void *ud, int result, int weight, const char *err);

struct sr_edge_ops {
	const char *name;
	/* Set the canary weight (0..100). `drain` asks the edge to also stop
	 * sticky sessions reaching the canary (rollback: HAProxy `maint`).
	 * idem_key makes a retried call safe. */
	void (*set_weight)(struct sr_edge *e, int weight, bool drain, const char *idem_key,
	                   sr_edge_cb cb, void *ud);
	/* Read the weight back. */
	void (*get_weight)(struct sr_edge *e, sr_edge_cb cb, void *ud);
	void (*destroy)(struct sr_edge *e);
	/* Optional (NULL: the edge needs none): what a templated edge says
	 * with the next set_weight - the phase, the reason, the actor. */
	void (*set_context)(struct sr_edge *e, const char *phase, const char *reason,
	                    const char *actor);
	/* Optional (NULL: none): how many calls a set_weight(weight, drain)
	 * sends one after the other up to its last state-changing one (the
	 * read-back after it changes nothing), each bounded by call_ms. It comes from the same plan
	 * the driver sends, so the landing bound follows when a driver adds a step. */
	int (*set_calls)(const struct sr_edge *e, int weight, bool drain);
};

struct sr_edge {
	const struct sr_edge_ops *ops;
	void *impl;
	/* The longest one call to the edge may take (the driver's timeout);
	 * 0 for an edge whose calls cannot land late (the simulator). */
	sr_ms call_ms;
};

/* How long after a set_weight(weight, drain) was sent it may still take
 * effect: each of its state-changing calls may start when the one before
 * timed out and land up to call_ms later, plus a margin. After a crash
 * between intent and outcome the edge is read only once this has passed
 * since the intent, or a late answer lands after the reading and the
 * journal records the opposite of the truth. 0: at once (no call, or an
 * edge without timeouts). */
sr_ms edge_landing_ms(const struct sr_edge *e, int weight, bool drain);

/* The policy's edge driver, chosen once by edge.kind (a table in
 * edge/edge.c, never a strcmp at the call sites): haproxy or http. The
 * simulator's edge comes with the simulator (sim.h). NULL with err. */
struct sr_edge *edge_open(const struct sr_policy *p, struct uv_loop_s *loop, char *err, size_t n);
/* The margin added to a driver's timeouts in edge_landing_ms. */
#define SR_EDGE_LANDING_MARGIN_MS 500

#endif
