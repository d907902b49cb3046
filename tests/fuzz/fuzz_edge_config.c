/* fuzz_edge_config.c - libFuzzer target for the outside-facing configs
 * and the HTTP edge's text handling.
 *
 * The input is read as JSON and handed to every source/edge config
 * reader (prometheus, haproxy, http edge); the raw bytes also go through
 * the HTTP edge's templating, read-back weight parsing and status check.
 * Each must accept or refuse with a terminated message, never crash, and
 * a parsed weight must be within 0..100.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/haproxy.h"
#include "shiproom/http_edge.h"
#include "shiproom/prometheus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *err, size_t n)
{
	if (memchr(err, '\0', n) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sr_prom_config prom;
	static struct sr_haproxy_config hap;
	static struct sr_http_edge_config http;
	char err[512];

	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (root && json_is_object(root)) {
		prometheus_config_defaults(&prom);
		err[0] = '\0';
		prometheus_config_from_json(&prom, root, err, sizeof err);
		terminated(err, sizeof err);
		err[0] = '\0';
		haproxy_config_from_json(&hap, root, err, sizeof err);
		terminated(err, sizeof err);
		err[0] = '\0';
		http_edge_config_from_json(&http, root, err, sizeof err);
		terminated(err, sizeof err);
	}

	/* the same bytes as a template, a read-back body and an error body */
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	json_t *vars = json_pack("{s:i, s:s, s:s, s:s, s:s, s:b}", "weight", 25, "phase", "25%",
	                         "reason", "fuzz \"reason\"\n", "actor", "dri", "idempotency_key",
	                         "k-1", "drain", 0);
	/* the token only ever lands in a header (unless the bytes spell it) */
	bool spelled = strstr(text, "T0KEN") != NULL;
	for (int esc = HTTP_ESC_RAW; esc <= HTTP_ESC_URL; esc++) {
		char *out = http_tmpl_expand(text, vars, "T0KEN", (enum http_esc)esc, err,
		                             sizeof err);
		if (out && esc != HTTP_ESC_HEADER && !spelled && strstr(out, "T0KEN"))
			abort();
		free(out);
	}
	char *body = http_body_expand(text, root != NULL, vars, err, sizeof err);
	free(body);
	int weight = -1;
	if (http_edge_parse_weight(text, size, "/weight", 100.0, &weight, err, sizeof err) == 0 &&
	    (weight < 0 || weight > 100))
		abort();
	err[0] = '\0';
	http_edge_check_status(500, "Internal Server Error", text, size, "T0KEN", err, sizeof err);
	terminated(err, sizeof err);
	if (strstr(err, "T0KEN"))
		abort(); /* the token is redacted from error text */
	json_decref(vars);
	json_decref(root);
	free(text);
	return 0;
}
