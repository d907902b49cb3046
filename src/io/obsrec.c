/* obsrec.c - the journal's per-poll observation record (obsrec.h).
 *
 * Text tokens rather than a JSON array per cell: a JSON object per
 * observation costs ~60 bytes, a token ~10 (bench/README.md has the
 * day's figures). Parsing is strict: any token that is not exactly the
 * grammar in the header is an error naming the token, never a guess.
 */
#include "shiproom/obsrec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/common.h"

double obsrec_round(double v)
{
	if (!isfinite(v))
		return v;
	char buf[32];
	snprintf(buf, sizeof buf, "%.6g", v);
	return strtod(buf, NULL);
}

void obsrec_round_snapshot(struct sr_snapshot *s)
{
	for (int c = 0; c < s->ncells && c < SR_MAX_CELLS; c++) {
		s->canary[c].value = obsrec_round(s->canary[c].value);
		s->canary[c].samples = obsrec_round(s->canary[c].samples);
		s->control[c].value = obsrec_round(s->control[c].value);
		s->control[c].samples = obsrec_round(s->control[c].samples);
	}
}

/* ---- encoding -------------------------------------------------------------------- */

static const char kind_chars[] = "ZONE"; /* indexed by enum sr_obs_kind */

/* Two values are "the same" for the chain when they are bit-for-bit
 * equal or both NaN. */
static bool same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* The shortest decimal that strtod reads back as v. */
static void put_num(char *buf, size_t n, double v)
{
	if (isnan(v)) {
		snprintf(buf, n, "n");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *t)
{
	size_t tl = strlen(t);
	if (b->oom)
		return;
	if (b->len + tl + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		while (nc < b->len + tl + 1)
			nc *= 2;
		char *ns = realloc(b->s, nc);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->len, t, tl + 1);
	b->len += tl;
}

static void encode_obs(struct sbuf *b, json_t *errs, int cell, char side, const struct sr_obs *cur,
                       const struct sr_obs *prev, sr_ms at)
{
	bool v = !same_num(cur->value, prev->value);
	bool s = !same_num(cur->samples, prev->samples);
	bool k = cur->kind != prev->kind;
	bool d = cur->degraded != prev->degraded;
	bool e = strcmp(cur->error, prev->error) != 0;
	/* the evidence test's step counts (evidence.h): a replay rebuilds it */
	bool sn = !same_num(cur->step_n, prev->step_n);
	bool sb = !same_num(cur->step_bad, prev->step_bad);
	bool sl = !same_num(cur->step_bound, prev->step_bound);
	/* The age is always said when it is not 0 (it is relative to the
	 * record, so "unchanged" would mean nothing). */
	bool a = cur->at != at;
	if (!v && !s && !k && !d && !e && !a && !sn && !sb && !sl)
		return;
	char tok[256], num[40];
	int o = snprintf(tok, sizeof tok, "%s%d%c", b->len ? " " : "", cell, side);
	if (v) {
		put_num(num, sizeof num, cur->value);
		o += snprintf(tok + o, sizeof tok - (size_t)o, "%s", num);
	}
	if (s) {
		put_num(num, sizeof num, cur->samples);
		o += snprintf(tok + o, sizeof tok - (size_t)o, "/%s", num);
	}
	if (a)
		o += snprintf(tok + o, sizeof tok - (size_t)o, "@%lld", (long long)(at - cur->at));
	if (k) {
		int ki = cur->kind >= SR_OBS_NONE && cur->kind <= SR_OBS_ERROR ? (int)cur->kind : 0;
		o += snprintf(tok + o, sizeof tok - (size_t)o, "!%c", kind_chars[ki]);
	}
	if (d)
		o += snprintf(tok + o, sizeof tok - (size_t)o, "^%d", cur->degraded ? 1 : 0);
	static const char step_tag[3] = {'#', '=', '%'};
	const double step_v[3] = {cur->step_n, cur->step_bad, cur->step_bound};
	const bool step_ch[3] = {sn, sb, sl};
	for (int i = 0; i < 3; i++) {
		if (!step_ch[i] || o >= (int)sizeof tok)
			continue;
		put_num(num, sizeof num, step_v[i]);
		o += snprintf(tok + o, sizeof tok - (size_t)o, "%c%s", step_tag[i], num);
	}
	sb_add(b, tok);
	if (e) {
		char key[24];
		snprintf(key, sizeof key, "%d%c", cell, side);
		json_object_set_new(errs, key, json_string(cur->error));
	}
}

json_t *obsrec_encode(const struct sr_snapshot *cur, const struct sr_snapshot *prev, sr_ms at,
                      long long writer, bool keyframe)
{
	/* A keyframe is the delta against "never fetched", one cell at a time
	 * (a whole empty snapshot would be SR_MAX_CELLS cells). */
	static struct sr_obs empty;
	static bool empty_ready;
	if (!empty_ready) {
		obs_clear(&empty);
		empty_ready = true;
	}
	json_t *f = json_object();
	if (!f)
		return NULL;
	json_object_set_new(f, "w", json_integer(writer));
	if (keyframe || !prev)
		json_object_set_new(f, "k", json_integer(1));
	if (!cur) {
		json_object_set_new(f, "null", json_integer(1));
		return f;
	}
	const struct sr_snapshot *base = keyframe || !prev ? NULL : prev;
	int nc = cur->ncells < SR_MAX_CELLS ? cur->ncells : SR_MAX_CELLS;
	json_object_set_new(f, "n", json_integer(nc));
	struct sbuf b = {0};
	json_t *errs = json_object();
	for (int c = 0; c < nc; c++) {
		encode_obs(&b, errs, c, 'c', &cur->canary[c], base ? &base->canary[c] : &empty, at);
		encode_obs(&b, errs, c, 'k', &cur->control[c], base ? &base->control[c] : &empty,
		           at);
	}
	if (b.oom) {
		free(b.s);
		json_decref(errs);
		json_decref(f);
		return NULL;
	}
	json_object_set_new(f, "d", json_string(b.s ? b.s : ""));
	free(b.s);
	if (json_object_size(errs) > 0)
		json_object_set_new(f, "e", errs);
	else
		json_decref(errs);
	return f;
}

/* ---- decoding -------------------------------------------------------------------- */

/* A number of the grammar at *p, up to one of `stops` or the end. */
static int get_num(const char **p, const char *end, double *out)
{
	const char *s = *p;
	size_t len = 0;
	while (s + len < end && !strchr("/@!^#=% ", s[len]))
		len++;
	if (len == 0 || len > 32)
		return -1;
	char buf[40];
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcmp(buf, "n") == 0) {
		*out = NAN;
	} else if (strcmp(buf, "inf") == 0 || strcmp(buf, "-inf") == 0) {
		*out = buf[0] == '-' ? -INFINITY : INFINITY;
	} else {
		/* digits, sign, point and exponent only: strtod would also take
		 * "nan", hex floats and leading blanks */
		if (strspn(buf, "0123456789+-.eE") != len)
			return -1;
		char *e;
		errno = 0;
		double v = strtod(buf, &e);
		if (*e || errno == ERANGE || !isfinite(v))
			return -1;
		*out = v;
	}
	*p = s + len;
	return 0;
}

static int decode_token(const char *s, const char *end, sr_ms at, int ncells,
                        struct sr_snapshot *snap, char *why, size_t n)
{
	const char *p = s;
	long cell = 0;
	int digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
		cell = cell * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || p == end || (*p != 'c' && *p != 'k') || cell >= ncells) {
		snprintf(why, n, "obs: bad cell in token \"%.*s\"",
		         (int)(end - s < 40 ? end - s : 40), s);
		return -1;
	}
	struct sr_obs *o = *p == 'c' ? &snap->canary[cell] : &snap->control[cell];
	p++;
	sr_ms obs_at = at;
	if (p < end && !strchr("/@!^#=%", *p) && get_num(&p, end, &o->value) != 0)
		goto bad;
	while (p < end) {
		char tag = *p++;
		double v;
		if (tag == '/') {
			if (get_num(&p, end, &o->samples) != 0)
				goto bad;
		} else if (tag == '@') {
			if (get_num(&p, end, &v) != 0 || v != floor(v) || fabs(v) > 1e15)
				goto bad;
			obs_at = at - (sr_ms)v;
		} else if (tag == '!' && p < end) {
			const char *k = strchr(kind_chars, *p);
			if (!k || !*p)
				goto bad;
			o->kind = (enum sr_obs_kind)(k - kind_chars);
			p++;
		} else if (tag == '^' && p < end && (*p == '0' || *p == '1')) {
			o->degraded = *p++ == '1';
		} else if (tag == '#' || tag == '=' || tag == '%') {
			double *dst = tag == '#'   ? &o->step_n
			              : tag == '=' ? &o->step_bad
			                           : &o->step_bound;
			if (get_num(&p, end, dst) != 0)
				goto bad;
		} else {
			goto bad;
		}
	}
	o->at = obs_at;
	return 0;
bad:
	snprintf(why, n, "obs: bad token \"%.*s\"", (int)(end - s < 40 ? end - s : 40), s);
	return -1;
}

int obsrec_decode(const json_t *o, sr_ms at, int ncells, struct sr_snapshot *snap, bool *isnull,
                  char *why, size_t n)
{
	*isnull = json_integer_value(json_object_get(o, "null")) == 1;
	if (json_integer_value(json_object_get(o, "k")) == 1)
		snapshot_clear(snap, ncells);
	if (*isnull)
		return 0;
	const json_t *jn = json_object_get(o, "n");
	if (!json_is_integer(jn) || json_integer_value(jn) != ncells) {
		snprintf(why, n, "obs: %lld cells recorded, the policy has %d",
		         (long long)json_integer_value(jn), ncells);
		return -1;
	}
	snap->ncells = ncells;
	const char *d = json_string_value(json_object_get(o, "d"));
	if (!d) {
		snprintf(why, n, "obs: no \"d\" string");
		return -1;
	}
	/* Cells not in the record keep their value, and their time moves
	 * with the record (the record lists an age only when it is not 0). */
	for (int c = 0; c < ncells; c++) {
		snap->canary[c].at = at;
		snap->control[c].at = at;
	}
	const char *p = d;
	while (*p) {
		const char *end = strchr(p, ' ');
		if (!end)
			end = p + strlen(p);
		if (end == p || decode_token(p, end, at, ncells, snap, why, n) != 0) {
			if (end == p)
				snprintf(why, n, "obs: empty token");
			return -1;
		}
		p = *end ? end + 1 : end;
	}
	const json_t *errs = json_object_get(o, "e"), *ev;
	const char *key;
	json_object_foreach((json_t *)errs, key, ev)
	{
		char side = 0;
		int cell = -1, used = 0;
		if (sscanf(key, "%d%c%n", &cell, &side, &used) != 2 || key[used] != '\0' ||
		    cell < 0 || cell >= ncells || (side != 'c' && side != 'k') ||
		    !json_is_string(ev)) {
			snprintf(why, n, "obs: bad error key \"%.20s\"", key);
			return -1;
		}
		struct sr_obs *ob = side == 'c' ? &snap->canary[cell] : &snap->control[cell];
		sr_sanitize(ob->error, json_string_value(ev), sizeof ob->error);
	}
	return 0;
}
