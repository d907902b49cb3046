/* fuzz_http_edge_captures.c - libFuzzer target for the HTTP edge's
 * captures flowing into the next request.
 *
 * A set_weight with captures first GETs the edge's object; values at JSON
 * pointers in that answer (bytes from the network) are then expanded
 * into the PUT's URL, a header and a JSON body. The input is the GET
 * answer. Besides "no crash": a capture that is taken and expanded never
 * smuggles a CR, LF or NUL into the URL or a header (the URL is
 * percent-encoded, a header with one is refused), and a body that is
 * produced always parses as JSON. A refusal has a terminated, control-free
 * message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/http_edge.h"

#include "fuzz_util.h"

static struct sr_http_edge_config cfg;
static bool have_cfg;

static const char config[] =
    "{\"kind\":\"http\",\"captures\":{\"cas\":\"/ModifyIndex\","
    "\"rv\":\"/metadata/resourceVersion\",\"all\":\"\"},"
    "\"get\":{\"url\":\"http://127.0.0.1:8500/v1/split\",\"weight_pointer\":\"/w\"},"
    "\"set\":{\"method\":\"PUT\",\"url\":\"http://127.0.0.1:8500/v1/split?cas={{cas}}&rv={{rv}}\","
    "\"headers\":{\"If-Match\":\"{{rv}}\"},"
    "\"body\":{\"W\":\"{{weight}}\",\"Cas\":\"{{cas}}\",\"Rv\":\"rv-{{rv}}\",\"All\":\"{{all}}\"}}"
    "}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300];
	if (!have_cfg) {
		json_t *o = json_loads(config, 0, NULL);
		if (!o || http_edge_config_from_json(&cfg, o, err, sizeof err) != 0)
			abort();
		json_decref(o);
		have_cfg = true;
	}
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	json_t *vars = json_object();
	json_object_set_new(vars, "weight", json_integer(25));
	if (http_edge_take_captures(&cfg, buf, size, vars, err, sizeof err) != 0) {
		fuzz_check_msg(err, sizeof err);
	} else {
		char *url = http_tmpl_expand(cfg.set.url, vars, NULL, HTTP_ESC_URL, err,
		                             sizeof err);
		if (url) {
			for (const char *p = url; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == 0x7f)
					abort(); /* percent-encoding let a raw byte through */
			free(url);
		}
		char *h = http_tmpl_expand(cfg.set.header_value[0], vars, NULL, HTTP_ESC_HEADER,
		                           err, sizeof err);
		if (h) {
			if (strpbrk(h, "\r\n"))
				abort(); /* a header would be split */
			free(h);
		} else {
			fuzz_check_msg(err, sizeof err);
		}
		char *body = http_body_expand(cfg.set.body, cfg.set.body_is_json, vars, err,
		                              sizeof err);
		if (body) {
			json_t *b = json_loads(body, 0, NULL);
			if (!b)
				abort(); /* the body is sent as JSON */
			json_decref(b);
			free(body);
		}
	}
	json_decref(vars);
	free(buf);
	return 0;
}
