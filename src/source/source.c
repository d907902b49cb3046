/* source.c - the real source drivers by kind (source.h): the one place a
 * policy's source.kind becomes a driver. A new source is a line here. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shiproom/policy.h"
#include "shiproom/prometheus.h"
#include "shiproom/source.h"

static struct sr_source *open_prometheus(const struct sr_policy *p, uv_loop_t *loop, char *err,
                                         size_t n)
{
	struct sr_prom_config *pc = calloc(1, sizeof *pc);
	struct sr_source *s = NULL;
	if (!pc) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	if (policy_prometheus_config(p, pc, err, n) == 0)
		s = prometheus_create(p, pc, loop, err, n);
	memset(pc, 0, sizeof *pc); /* header values may be secrets */
	free(pc);
	return s;
}

static const struct {
	const char *kind;
	struct sr_source *(*open)(const struct sr_policy *p, uv_loop_t *loop, char *err, size_t n);
} drivers[] = {
    {"prometheus", open_prometheus},
};

struct sr_source *source_open(const struct sr_policy *p, struct uv_loop_s *loop, char *err,
                              size_t n)
{
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(p->source_kind, drivers[i].kind) == 0)
			return drivers[i].open(p, loop, err, n);
	snprintf(err, n, "source.kind \"%s\" has no driver here (prometheus)", p->source_kind);
	return NULL;
}
