/* fuzz_template.c - libFuzzer target for the report template engine.
 *
 * Input: template text. It is loaded against the gate report's schema (the
 * richest one: objects, lists of objects, lists of texts, flags). The
 * engine must either refuse it with a terminated error that has a sane
 * position, or accept it and render it against a fixed data object
 * without crashing, reading past the input (it is copied to an exact-size
 * buffer, so ASan sees any over-read) or leaking. The escape function gets
 * the raw bytes too: its output must be NUL-terminated, as long as it said,
 * and free of control bytes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/report.h"
#include "shiproom/template.h"

static json_t *data;

/* The placeholder expander (tmpl_expand): each placeholder becomes a value
 * that itself looks like a placeholder, which must come out as text, never
 * be expanded again; an odd name is refused with a message. */
static int echo_value(void *ud, const char *name, size_t len, size_t at, struct sr_tbuf *out,
                      char *err, size_t n)
{
	(void)ud;
	(void)at;
	if (len % 7 == 3) {
		snprintf(err, n, "refused {{%.*s}}", (int)(len > 16 ? 16 : len), name);
		return -1;
	}
	tbuf_put(out, "{{x}}", 5);
	return 0;
}

/* Data shaped like a gate report, with hostile strings in it. */
static json_t *make_data(void)
{
	json_t *cell = json_pack("{s:s, s:s, s:b, s:b, s:f, s:n, s:s}", "label", "search P95",
	                         "status", "RED", "gating", 1, "monitor", 0, "canary", 178.0,
	                         "control", "canary_text", "<b>178ms</b> | *x*");
	json_t *d = json_pack("{s:s, s:s, s:i, s:{s:s, s:[s, s]}, s:[{s:s, s:[o]}], s:{s:i, s:s}}",
	                      "rollout", "r\x1b[31m", "title", "_t_ [x](y)", "weight", 25,
	                      "decision", "word", "GO", "reasons", "one", "two &amp;", "groups",
	                      "name", "Reliability & performance", "cells", cell, "gate", "number",
	                      1, "name", "Gate 1");
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	if (!data)
		data = make_data();
	char *text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, buf, len);

	struct sr_tpl_error err;
	struct sr_template *t = template_load_buffer(text, len, "fuzz.md",
	                                             report_schemas[SR_REPORT_GATE], &err);
	if (!t) {
		if (strnlen(err.msg, sizeof err.msg) >= sizeof err.msg || err.msg[0] == '\0' ||
		    err.line < 1 || err.column < 1)
			abort();
		char msg[1024];
		template_error_format(&err, msg, sizeof msg);
	} else {
		size_t olen = 0;
		char *out = template_render(t, data, &olen);
		if (out && strlen(out) != olen)
			abort();
		free(out);
		template_free(t);
	}

	/* The escape over the raw bytes, NUL-terminated at the first NUL. */
	char *z = malloc(len + 1);
	if (z) {
		memcpy(z, buf, len);
		z[len] = '\0';
		char perr[128] = "";
		char *x = tmpl_expand(z, echo_value, NULL, perr, sizeof perr);
		if (!x && (!perr[0] || strnlen(perr, sizeof perr) >= sizeof perr))
			abort(); /* a refusal always says why */
		free(x);
		char one[32];
		if (tmpl_only_placeholder(z, one, sizeof one) && strlen(one) >= sizeof one)
			abort();
		size_t need = template_escape_md(NULL, 0, z);
		char *esc = malloc(need + 1);
		if (esc) {
			if (template_escape_md(esc, need + 1, z) != need || strlen(esc) != need)
				abort();
			for (size_t i = 0; i < need; i++)
				if ((unsigned char)esc[i] < 0x20 || esc[i] == 0x7f)
					abort();
			free(esc);
		}
		free(z);
	}
	free(text);
	return 0;
}
