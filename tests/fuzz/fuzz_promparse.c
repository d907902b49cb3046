/* fuzz_promparse.c - libFuzzer target for the Prometheus answer parser,
 * its mapping onto snapshot cells, and the query template expander.
 *
 * Input: byte 0 picks the HTTP status (mostly 200), byte 1 bit 0 picks
 * the target (0: answer body, 1: query template), the rest is the body or
 * the template. A template is also searched for its first series selector
 * (the rhythm query's), and a body also read as a rhythm answer (sample
 * times, ascending and distinct). Any input must leave sanitised strings and no crash,
 * leak or undefined behaviour.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/promparse.h"

static struct sr_policy *policy(void)
{
	static struct sr_policy *p;
	if (p)
		return p;
	p = calloc(1, sizeof *p);
	p->njourneys = 2;
	strcpy(p->journeys[0].id, "search");
	strcpy(p->journeys[1].id, "pay");
	p->nkpis = 2;
	strcpy(p->kpis[0].id, "lat");
	p->kpis[0].quantile = 0.95;
	p->kpis[0].njourneys = 2;
	p->kpis[0].journeys[0] = 0;
	p->kpis[0].journeys[1] = 1;
	strcpy(p->kpis[1].id, "err");
	p->kpis[1].quantile = NAN;
	p->ncells = 3;
	p->cells[0] = (struct sr_cell){0, 0};
	p->cells[1] = (struct sr_cell){0, 1};
	p->cells[2] = (struct sr_cell){1, -1};
	return p;
}

static void check_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 200, 200, 200, 400, 422, 502, 503};
	static const struct sr_prom_labels l = {"journey", "variant", "canary", "control"};
	if (size < 2)
		return 0;
	long status = statuses[data[0] % 8];
	bool tmpl = data[1] & 1;
	const char *body = (const char *)data + 2;
	size_t len = size - 2;
	struct sr_policy *p = policy();

	if (tmpl) {
		char *t = malloc(len + 1), out[2048], err[256];
		memcpy(t, body, len);
		t[len] = '\0';
		for (int k = 0; k < 2; k++)
			if (promparse_expand(out, sizeof out, t, p, k, "1m", err, sizeof err) != 0)
				check_clean(err);
		char sel[64];
		size_t n = promparse_first_selector(t, sel, sizeof sel);
		if (n != strlen(sel) || n >= sizeof sel || (n && !strstr(t, sel)))
			abort();
		free(t);
		return 0;
	}

	struct sr_prom_result r;
	static struct sr_snapshot snap;
	snapshot_clear(&snap, p->ncells);
	promparse_response(&r, status, "Reason", body, len, 1 << 20, &l);
	check_clean(r.error);
	check_clean(r.warning);
	for (int i = 0; i < r.nsamples; i++) {
		check_clean(r.samples[i].journey);
		check_clean(r.samples[i].variant);
	}
	promparse_fill(&snap, p, 0, &r, NULL, &l, 1700000000000LL);
	promparse_fill(&snap, p, 1, &r, &r, &l, 1700000000000LL);
	for (int c = 0; c < p->ncells; c++) {
		check_clean(snapshot_msg(&snap, &snap.canary[c]));
		check_clean(snapshot_msg(&snap, &snap.control[c]));
	}
	promparse_free(&r);

	sr_ms times[SR_SAMPLE_TIMES];
	int nt = promparse_rhythm(body, len, 1 << 20, &l, times, SR_SAMPLE_TIMES);
	if (nt > SR_SAMPLE_TIMES)
		abort();
	for (int i = 1; i < nt; i++)
		if (times[i] <= times[i - 1])
			abort();
	return 0;
}
