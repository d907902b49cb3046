/* wire.c - length-prefixed JSON frames (wire.h). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/wire.h"

#include "shiproom/action.h"
#include "shiproom/common.h"
#include "shiproom/report.h"

void wire_reader_init(struct sr_wire_reader *rd, size_t max)
{
	memset(rd, 0, sizeof *rd);
	rd->max = max ? max : SR_WIRE_MAX;
}

void wire_reader_free(struct sr_wire_reader *rd)
{
	free(rd->buf);
	memset(rd, 0, sizeof *rd);
}

int wire_reader_feed(struct sr_wire_reader *rd, const char *data, size_t n)
{
	if (n == 0)
		return 0;
	if (rd->len + n > rd->cap) {
		size_t cap = rd->cap ? rd->cap : 4096;
		while (cap < rd->len + n)
			cap *= 2;
		/* never more than one whole message and its header beyond the
		 * limit: a peer cannot make us buffer without end */
		if (cap > (size_t)rd->max + 4 + 65536)
			cap = (size_t)rd->max + 4 + 65536;
		if (cap < rd->len + n)
			return -1;
		char *b = realloc(rd->buf, cap);
		if (!b)
			return -1;
		rd->buf = b;
		rd->cap = cap;
	}
	memcpy(rd->buf + rd->len, data, n);
	rd->len += n;
	return 0;
}

int wire_reader_next(struct sr_wire_reader *rd, json_t **msg, char *err, size_t n)
{
	*msg = NULL;
	if (rd->len < 4)
		return 0;
	const unsigned char *h = (const unsigned char *)rd->buf;
	uint32_t mlen = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (mlen == 0 || mlen > rd->max) {
		snprintf(err, n, "message length %u is outside 1..%zu", (unsigned)mlen, rd->max);
		return -1;
	}
	if (rd->len < 4 + (size_t)mlen)
		return 0;
	json_error_t je;
	json_t *m = json_loadb(rd->buf + 4, mlen, JSON_REJECT_DUPLICATES, &je);
	rd->big = mlen > SR_WIRE_BIG;
	memmove(rd->buf, rd->buf + 4 + mlen, rd->len - 4 - mlen);
	rd->len -= 4 + (size_t)mlen;
	if (rd->len == 0 && rd->cap > 65536) {
		/* a big message (the first state, hours of history) is rare:
		 * its buffer is not kept for the small ones that follow */
		free(rd->buf);
		rd->buf = NULL;
		rd->cap = 0;
	}
	if (!m) {
		snprintf(err, n, "not JSON: %s at column %d", je.text, je.column);
		return -1;
	}
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "type"))) {
		json_decref(m);
		snprintf(err, n, "not a message: an object with a \"type\" string is expected");
		return -1;
	}
	*msg = m;
	return 1;
}

int wire_reader_drain(struct sr_wire_reader *rd, const char *data, size_t n,
                      int (*on_msg)(void *ud, json_t *m), void *ud, char *err, size_t en)
{
	if (wire_reader_feed(rd, data, n) != 0) {
		snprintf(err, en, "a message larger than %zu bytes", rd->max);
		return -1;
	}
	for (;;) {
		json_t *m;
		int got = wire_reader_next(rd, &m, err, en);
		if (got <= 0)
			return got;
		int stop = on_msg(ud, m);
		json_decref(m);
		if (rd->big)
			malloc_trim(0); /* its objects' memory, freed, back to the system */
		if (stop)
			return 0;
	}
}

char *wire_frame_text(const char *json, size_t jlen, size_t *len)
{
	if (jlen == 0 || jlen > SR_WIRE_MAX)
		return NULL;
	char *f = malloc(jlen + 4);
	if (!f)
		return NULL;
	f[0] = (char)(jlen >> 24);
	f[1] = (char)(jlen >> 16);
	f[2] = (char)(jlen >> 8);
	f[3] = (char)jlen;
	memcpy(f + 4, json, jlen);
	*len = jlen + 4;
	return f;
}

char *wire_frame(const json_t *msg, size_t *len)
{
	char *text = json_dumps(msg, JSON_COMPACT); /* %.17g: numbers exact */
	if (!text)
		return NULL;
	char *f = wire_frame_text(text, strlen(text), len);
	free(text);
	return f;
}

const char *wire_type(const json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "type"));
	return t ? t : "";
}

/* ---- action requests ------------------------------------------------------ */

json_t *wire_request_json(const struct sr_action_request *req)
{
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:i}", "action",
	                 sr_action_name(req->kind), "weight", req->weight, "gate", req->gate,
	                 "reason", req->reason, "checklist", req->checklist, "item", req->item,
	                 "report", req->report_kind, "index", req->report_index);
}

static int int_in(const json_t *m, const char *key, long lo, long hi, int dflt)
{
	const json_t *v = json_object_get(m, key);
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi
	           ? (int)json_integer_value(v)
	           : dflt;
}

static void text_of(const json_t *m, const char *key, char *out, size_t n)
{
	const char *s = json_string_value(json_object_get(m, key));
	sr_sanitize(out, s ? s : "", n);
}

void wire_request_read(const json_t *m, struct sr_action_request *req)
{
	req->weight = int_in(m, "weight", 0, 100, 0);
	req->gate = int_in(m, "gate", -1, SR_MAX_GATES - 1, -1);
	text_of(m, "reason", req->reason, sizeof req->reason);
	text_of(m, "checklist", req->checklist, sizeof req->checklist);
	text_of(m, "item", req->item, sizeof req->item);
	req->report_kind = int_in(m, "report", 0, SR_REPORT_WIN, 0);
	req->report_index = int_in(m, "index", -1, SR_MAX_GATES - 1, -1);
}
