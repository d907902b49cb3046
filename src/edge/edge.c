/* edge.c - the edge drivers by kind (edge.h): the one place a policy's
 * edge.kind becomes a driver. A new edge is a line in the table. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/edge.h"
#include "shiproom/haproxy.h"
#include "shiproom/http_edge.h"
#include "shiproom/policy.h"

static struct sr_edge *open_haproxy(const struct sr_policy *p, uv_loop_t *loop, char *err, size_t n)
{
	struct sr_haproxy_config hc;
	if (policy_haproxy_config(p, &hc, err, n) != 0)
		return NULL;
	return haproxy_edge_create(loop, &hc, err, n);
}

static struct sr_edge *open_http(const struct sr_policy *p, uv_loop_t *loop, char *err, size_t n)
{
	struct sr_http_edge_config *hc = calloc(1, sizeof *hc);
	struct sr_edge *e = NULL;
	if (!hc) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	if (policy_http_edge_config(p, hc, err, n) == 0)
		e = http_edge_create(loop, hc, err, n);
	free(hc); /* the driver copied what it keeps */
	return e;
}

static const struct {
	const char *kind;
	struct sr_edge *(*open)(const struct sr_policy *p, uv_loop_t *loop, char *err, size_t n);
} drivers[] = {
    {"haproxy", open_haproxy},
    {"http", open_http},
};

struct sr_edge *edge_open(const struct sr_policy *p, struct uv_loop_s *loop, char *err, size_t n)
{
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(p->edge_kind, drivers[i].kind) == 0)
			return drivers[i].open(p, loop, err, n);
	snprintf(err, n, "edge.kind \"%s\" has no driver here (haproxy, http)", p->edge_kind);
	return NULL;
}

sr_ms edge_landing_ms(const struct sr_edge *e, int weight, bool drain)
{
	if (!e || e->call_ms <= 0 || weight < 0 || !e->ops->set_calls)
		return 0;
	int calls = e->ops->set_calls(e, weight, drain);
	return calls > 0 ? calls * e->call_ms + SR_EDGE_LANDING_MARGIN_MS : 0;
}
