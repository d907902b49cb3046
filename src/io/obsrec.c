/* obsrec.c - the journal's per-poll observation record (obsrec.h).
 *
 * A bit stream rather than text tokens: with every value moving at
 * every poll a text token costs ~20 bytes an observation, 50 MB a day at
 * 50 journeys; what carries information is the few bits by which a
 * value's decimal mantissa moved (bench/README.md has the figures). The
 * stream keeps every double exactly, so the replay judges what the live
 * engine judged. Reading is strict: a stream that ends early, goes on
 * past its cells, or has a character outside the alphabet is an error
 * naming where; so is any text token that is not exactly its grammar.
 */
#include "shiproom/obsrec.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/common.h"

/* Powers of ten a double holds exactly: m * 10^e with |m| <= 2^53 and
 * |e| <= 22 is then one correctly rounded operation, the same double
 * strtod reads (Clinger's fast path); anything else goes through strtod. */
static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A value as the console shows it (engine_fmt_num): one decimal from 100
 * up ("142.3"), four significant digits below ("92.96", "0.6234"), and
 * as exactly that decimal, the double strtod reads from its text. The
 * engine judges what a reason says: a P95 of 160.04 is "160ms", and is
 * not over a 160 ms limit (judged at six digits it was, and the reason
 * read "160ms > 160ms"). That is also all the record keeps of it.
 *
 * Without printf and strtod where that is exact (a restart rounds every
 * value of the day): v scaled to its last shown digit is x = v * 10^d,
 * one rounding from the exact product (an error under 1e-7 for x < 1e9);
 * when x is not within 1e-6 of a half, rounding it to an integer m rounds
 * the exact value as printf does, and m / 10^d (m * 10^-d) is one
 * correctly rounded operation on exact operands: strtod's answer. A
 * near-tie, a scale without an exact power of ten or a magnitude judged
 * wrong takes printf and strtod. test_obsrec compares the two on millions
 * of values. */
/* floor(log10(a)) for 0 < a < 100 by comparison with 10^1 .. 10^-22,
 * not a log10 a value (a tenth of catching up at 50 journeys). Near a
 * power of ten it may be one off, as log10 may: obsrec_round checks the
 * scaled value's range and formats it with printf when it is not. */
static int floor_log10_small(double a)
{
	if (a >= 1)
		return a >= 10 ? 1 : 0;
	for (int i = 1; i <= 22; i++)
		if (a * p10[i] >= 1)
			return -i;
	return (int)floor(log10(a));
}

double obsrec_round(double v)
{
	if (!isfinite(v) || v == 0)
		return v;
	double a = fabs(v);
	bool big = a >= 100;
	int d = big ? 1 : 3 - floor_log10_small(a);
	if (d >= -22 && d <= 22) {
		double x = d >= 0 ? a * p10[d] : a / p10[-d];
		double fl = floor(x);
		bool in_range = big ? x < 1e9 : x >= 1e3 && x < 1e4;
		if (in_range && fabs(x - fl - 0.5) > 1e-6) {
			double m = x - fl > 0.5 ? fl + 1 : fl;
			double r = d >= 0 ? m / p10[d] : m * p10[-d];
			return v < 0 ? -r : r;
		}
	}
	char buf[400];
	snprintf(buf, sizeof buf, big ? "%.1f" : "%.4g", v);
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

/* ---- the bit stream (the "b" field) ------------------------------------------------ */

static const char kind_chars[] = "ZONE"; /* the text form's kinds, by enum sr_obs_kind */

/* Two values are "the same" for the chain when they are bit for bit
 * equal (so -0 and 0 differ: printf tells them apart) or both NaN. */
static bool same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* 91 printable ASCII characters that JSON keeps as they are (no '"',
 * no '\\', no '\''): 13 bits in two of them (91 * 91 >= 8192), 6.5 bits
 * a character against base64's 6. */
static const char b91[] = "!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                          "abcdefghijklmnopqrstuvwxyz{|}~";

struct bitw {
	uint8_t *b;
	size_t nbits, cap; /* cap in bytes */
	bool oom;
};

/* The n low bits of v, most significant first; a byte's worth at a time. */
static void put_bits(struct bitw *w, uint64_t v, int n)
{
	if (w->oom || n <= 0)
		return;
	if ((w->nbits + (size_t)n + 7) / 8 > w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 512;
		while ((w->nbits + (size_t)n + 7) / 8 > nc)
			nc *= 2;
		uint8_t *nb = realloc(w->b, nc);
		if (!nb) {
			w->oom = true;
			return;
		}
		memset(nb + w->cap, 0, nc - w->cap);
		w->b = nb;
		w->cap = nc;
	}
	while (n > 0) {
		int room = 8 - (int)(w->nbits % 8); /* free bits in the current byte */
		int take = n < room ? n : room;
		unsigned piece = (unsigned)(v >> (n - take)) & ((1u << take) - 1);
		w->b[w->nbits / 8] |= (uint8_t)(piece << (room - take));
		w->nbits += (size_t)take;
		n -= take;
	}
}

static int bit_len(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* Exp-Golomb of order k: the high part in Elias gamma, the k low bits as
 * they are. A value near 2^k costs about k + 2 bits. */
static int eg_cost(uint64_t v, int k)
{
	uint64_t q = (v >> k) + 1;
	return 2 * bit_len(q) - 1 + k;
}

static void put_eg(struct bitw *w, uint64_t v, int k)
{
	uint64_t q = (v >> k) + 1;
	int l = bit_len(q);
	put_bits(w, 0, l - 1);
	put_bits(w, q, l);
	put_bits(w, k ? v & ((1ULL << k) - 1) : 0, k);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static double from_decimal(int64_t m, int e)
{
	if (m <= (1LL << 53) && m >= -(1LL << 53) && e >= -22 && e <= 22)
		return e >= 0 ? (double)m * p10[e] : (double)m / p10[-e];
	char buf[48];
	snprintf(buf, sizeof buf, "%llde%d", (long long)m, e);
	return strtod(buf, NULL);
}

static void strip_zeros(int64_t *m, int *e)
{
	while (*m != 0 && *m % 10 == 0) {
		*m /= 10;
		(*e)++;
	}
}

/* A double as m * 10^e, the shortest decimal that reads back as it
 * (values are kept as the console shows them: obsrec_round). false for
 * NaN, infinities and -0, which the stream says otherwise. The encoder
 * and the decoder both call this on the chain's previous number, so it
 * only has to be deterministic, and exact (checked by reading back). */
static bool decimal_of(double v, int maxdigits, int64_t *m, int *e)
{
	if (!isfinite(v) || (v == 0 && signbit(v)))
		return false;
	if (v == 0) {
		*m = 0;
		*e = 0;
		return true;
	}
	/* six digits first, without printf: most values have at most six */
	int d = 5 - (int)floor(log10(fabs(v)));
	if (d >= -22 && d <= 22) {
		double x = d >= 0 ? v * p10[d] : v / p10[-d];
		int64_t mm = llround(x);
		if (from_decimal(mm, -d) == v) {
			*m = mm;
			*e = -d;
			strip_zeros(m, e);
			return true;
		}
	}
	char buf[48];
	for (int prec = 7;; prec++) {
		if (prec > maxdigits)
			return false;
		snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* d.ddddde[+-]x: the digits into m, then the trailing zeros out */
	int64_t mm = 0;
	int nd = 0;
	const char *p = buf;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9') {
			mm = mm * 10 + (*p - '0');
			nd++;
		}
	*m = neg ? -mm : mm;
	*e = atoi(p + 1) - (nd - 1);
	strip_zeros(m, e);
	return true;
}

static bool scale10(int64_t m, int d, int64_t *out);

/* A number's shortest decimal (decimal_of) as a value. */
struct dec {
	int64_t m;
	int e;
	bool ok;
};

static struct dec dec_of(double v, int maxdigits)
{
	struct dec d = {0};
	d.ok = decimal_of(v, maxdigits, &d.m, &d.e);
	return d;
}

/* The decimal a number is coded against: the chain's previous number,
 * or 0 when that has none (NaN, infinite, -0, or more than 15 digits,
 * where another libc might print another shortest form: the encoder and
 * the decoder must find the same one). On the six-digit grid of its
 * magnitude (`grid`: 92.5 as 925000e-4) a measurement's next value, six
 * digits again, usually lies on the same grid: 92.2554 is a mantissa
 * step, not another exponent. Counts (4 bad events, then 7) want their
 * shortest form, and so do values kept as shown (92.96, then 93.02: four
 * digits), which is what the encoder has chosen since session 21; the
 * grid serves journals written at six digits. The record says which,
 * per class.
 * ref_from takes the previous number's dec_of(prev, 15). */
static void ref_from(const struct dec *dp, bool grid, int64_t *pm, int *pe)
{
	if (!dp->ok) {
		*pm = 0;
		*pe = 0;
		return;
	}
	*pm = dp->m;
	*pe = dp->e;
	if (!grid || *pm == 0)
		return;
	int nd = 0;
	for (int64_t x = *pm; x != 0; x /= 10)
		nd++;
	int g = *pe + nd - 1 - 5; /* the magnitude's exponent, less five */
	int64_t gm;
	if (g < *pe && scale10(*pm, *pe - g, &gm)) {
		*pm = gm;
		*pe = g;
	}
}

/* dec_of(v, 15) is a function of v alone, and the decoder knows its
 * answer for every number it reads as a decimal: the one decimal of at
 * most 15 significant digits that reads back as v (DBL_DIG: no two read
 * back as the same double) is the one v was read from. The next record
 * asks for it again, as that number's previous value: a direct-mapped
 * memo keeps it until then (a restart replays every record of the day
 * through here; converting back was a tenth of it). */
#define DEC_MEMO_BITS 12
struct dec_memo {
	uint64_t bits; /* the double's bits; d.ok false: an empty slot */
	struct dec d;
};
static struct dec_memo dec_memo[1u << DEC_MEMO_BITS];

static size_t memo_slot(uint64_t bits)
{
	return (size_t)((bits * 0x9E3779B97F4A7C15u) >> (64 - DEC_MEMO_BITS));
}

/* v was read as m * 10^e */
static void memo_put(double v, int64_t m, int e)
{
	strip_zeros(&m, &e);
	if (!isfinite(v) || v == 0 || m == 0 || m >= 1000000000000000LL || m <= -1000000000000000LL)
		return; /* dec_of decides these itself */
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	struct dec_memo *slot = &dec_memo[memo_slot(bits)];
	slot->bits = bits;
	slot->d = (struct dec){.m = m, .e = e, .ok = true};
}

static void ref_of(double prev, bool grid, int64_t *pm, int *pe)
{
	uint64_t bits;
	memcpy(&bits, &prev, sizeof bits);
	const struct dec_memo *slot = &dec_memo[memo_slot(bits)];
	struct dec dp = slot->d.ok && slot->bits == bits
	                    ? slot->d
	                    : dec_of(prev, 15); /* fails for NaN and infinities */
	ref_from(&dp, grid, pm, pe);
}

/* m * 10^d for d >= 0, or false past +-1e18 */
static bool scale10(int64_t m, int d, int64_t *out)
{
	const int64_t lim = 1000000000000000000LL;
	if (d < 0 || d > 18)
		return false;
	for (int i = 0; i < d; i++) {
		if (m > lim / 10 || m < -lim / 10)
			return false;
		m *= 10;
	}
	*out = m;
	return true;
}

/* Number classes: each has its Exp-Golomb order in the record's header,
 * chosen for the record, and its four most recent numbers (samples
 * shared by the KPIs of one journey cost 4 bits). */
enum { NC_VALUE, NC_SAMPLES, NC_STEP, NC_AGE, NC_N };
#define RECENT 4
#define K_BITS 6

struct coder {
	struct bitw *w; /* NULL: a first pass, which only collects */
	int k[NC_N];
	bool grid[NC_N];       /* ref_of's rule for each class */
	long long fixed[NC_N]; /* a first pass: the bits each class codes outside zz */
	uint64_t *zz[NC_N];    /* first pass: what each class codes */
	size_t nzz[NC_N], capzz[NC_N];
	double recent[NC_N][RECENT];
	int nrecent[NC_N];
	/* Every pass codes the same numbers in the same order (the masks and
	 * the recent lists do not depend on the rule or the order), so the
	 * first pass keeps each number's decimals and its own and the
	 * previous number's are looked up by position after: decimal
	 * conversion was most of the encoder's cost, three times over. */
	struct dec (*decs)[2]; /* [i]: the i-th coded number's dec_of(v, 17), dec_of(prev, 15) */
	size_t ndecs, capdecs, at_dec;
	bool oom;
};

/* The decimals of the pass's next coded number, made by the first pass. */
static const struct dec *decs_of(struct coder *c, double v, double prev)
{
	size_t i = c->at_dec++;
	if (i < c->ndecs)
		return c->decs[i];
	if (c->ndecs == c->capdecs) {
		size_t nc = c->capdecs ? c->capdecs * 2 : 256;
		struct dec(*nd)[2] = realloc(c->decs, nc * sizeof *nd);
		if (!nd) {
			c->oom = true;
			static const struct dec none[2];
			return none;
		}
		c->decs = nd;
		c->capdecs = nc;
	}
	c->decs[i][0] = dec_of(v, 17);
	c->decs[i][1] = dec_of(prev, 15);
	c->ndecs = i + 1;
	return c->decs[i];
}

static void remember(double recent[RECENT], int *n, double v)
{
	memmove(recent + 1, recent, (RECENT - 1) * sizeof *recent);
	recent[0] = v;
	if (*n < RECENT)
		(*n)++;
}

static void code_zz(struct coder *c, int cls, uint64_t zz)
{
	if (c->w) {
		put_eg(c->w, zz, c->k[cls]);
		return;
	}
	if (c->nzz[cls] == c->capzz[cls]) {
		size_t nc = c->capzz[cls] ? c->capzz[cls] * 2 : 256;
		uint64_t *nz = realloc(c->zz[cls], nc * sizeof *nz);
		if (!nz) {
			c->oom = true;
			return;
		}
		c->zz[cls] = nz;
		c->capzz[cls] = nc;
	}
	c->zz[cls][c->nzz[cls]++] = zz;
}

static void put(struct coder *c, uint64_t v, int n)
{
	if (c->w)
		put_bits(c->w, v, n);
}

static void put_cls(struct coder *c, int cls, uint64_t v, int n)
{
	c->fixed[cls] += n;
	put(c, v, n);
}

/* One number against the chain's previous one:
 *   0              the same decimal exponent as prev, then the mantissa's
 *                  difference (zigzag, Exp-Golomb of the class's order)
 *   10 ii          the class's ii-th most recent number in this record
 *   110 <de> <d>   another exponent: its difference (zigzag, order 0),
 *                  then the mantissa's difference at the finer one
 *   111 tt         NaN, +inf, -inf, or (tt = 3) the 64 bits of the double */
static void code_num(struct coder *c, int cls, double v, double prev)
{
	for (int i = 0; i < c->nrecent[cls]; i++)
		if (memcmp(&c->recent[cls][i], &v, sizeof v) == 0) {
			put_cls(c, cls, 2, 2);
			put_cls(c, cls, (uint64_t)i, 2);
			remember(c->recent[cls], &c->nrecent[cls], v);
			return;
		}
	remember(c->recent[cls], &c->nrecent[cls], v);
	int64_t pm, sm, spm;
	int pe;
	const struct dec *d = decs_of(c, v, prev);
	ref_from(&d[1], c->grid[cls], &pm, &pe);
	if (d[0].ok) {
		int64_t m = d[0].m;
		int e = d[0].e;
		int ce = e < pe ? e : pe;
		if (scale10(m, e - ce, &sm) && scale10(pm, pe - ce, &spm) &&
		    from_decimal(sm, ce) == v) {
			if (ce == pe) {
				put_cls(c, cls, 0, 1);
			} else {
				put_cls(c, cls, 6, 3);
				c->fixed[cls] += eg_cost(zigzag(ce - pe), 0);
				if (c->w)
					put_eg(c->w, zigzag(ce - pe), 0);
			}
			code_zz(c, cls, zigzag(sm - spm));
			return;
		}
	}
	put_cls(c, cls, 7, 3);
	if (isnan(v)) {
		put_cls(c, cls, 0, 2);
	} else if (isinf(v)) {
		put_cls(c, cls, v > 0 ? 1 : 2, 2);
	} else {
		uint64_t raw;
		memcpy(&raw, &v, sizeof raw);
		put_cls(c, cls, 3, 2);
		put_cls(c, cls, raw, 64);
	}
}

/* What changed in one observation, as a mask of CH_* bits. */
enum {
	CH_VALUE = 1,
	CH_SAMPLES = 2,
	CH_AGE = 4, /* an age is said whenever it is not 0 */
	CH_KIND = 8,
	CH_DEGRADED = 16,
	CH_STEP_N = 32, /* the evidence test's step counts (evidence.h) */
	CH_STEP_BAD = 64,
	CH_STEP_BOUND = 128,
};
#define NMASKS 3 /* the record's most frequent masks, coded in 1-3 bits */

static unsigned obs_mask(const struct sr_obs *cur, const struct sr_obs *prev, sr_ms at)
{
	return (!same_num(cur->value, prev->value) ? CH_VALUE : 0) |
	       (!same_num(cur->samples, prev->samples) ? CH_SAMPLES : 0) |
	       (cur->at != at ? CH_AGE : 0) | (cur->kind != prev->kind ? CH_KIND : 0) |
	       (cur->degraded != prev->degraded ? CH_DEGRADED : 0) |
	       (!same_num(cur->step_n, prev->step_n) ? CH_STEP_N : 0) |
	       (!same_num(cur->step_bad, prev->step_bad) ? CH_STEP_BAD : 0) |
	       (!same_num(cur->step_bound, prev->step_bound) ? CH_STEP_BOUND : 0);
}

/* The mask: 0, 10 or 110 for the record's first, second and third most
 * frequent mask (its header lists them), 111 and the 8 bits otherwise;
 * then what changed, in the mask's order. */
static void code_obs(struct coder *c, const unsigned masks[NMASKS], const struct sr_obs *cur,
                     const struct sr_obs *prev, sr_ms at)
{
	unsigned m = obs_mask(cur, prev, at);
	int i = 0;
	while (i < NMASKS && masks[i] != m)
		i++;
	put(c, i < NMASKS ? (1u << (i + 1)) - 2 : 7, i < NMASKS ? i + 1 : 3);
	if (i == NMASKS)
		put(c, m, 8);
	if (m & CH_VALUE)
		code_num(c, NC_VALUE, cur->value, prev->value);
	if (m & CH_SAMPLES)
		code_num(c, NC_SAMPLES, cur->samples, prev->samples);
	if (m & CH_AGE)
		code_zz(c, NC_AGE, zigzag(at - cur->at));
	if (m & CH_KIND)
		put(c,
		    (uint64_t)(cur->kind >= SR_OBS_NONE && cur->kind <= SR_OBS_ERROR ? cur->kind
		                                                                     : 0),
		    2);
	if (m & CH_DEGRADED)
		put(c, cur->degraded ? 1 : 0, 1);
	const double sv[3] = {cur->step_n, cur->step_bad, cur->step_bound};
	const double sp[3] = {prev->step_n, prev->step_bad, prev->step_bound};
	for (int k = 0; k < 3; k++)
		if (m & (CH_STEP_N << k))
			code_num(c, NC_STEP, sv[k], sp[k]);
}

/* One pass over every observation; the first (c->w NULL) collects what
 * each class codes, to choose its order. */
static void code_all(struct coder *c, const struct sr_snapshot *cur, const struct sr_snapshot *base,
                     int nc, sr_ms at, const unsigned masks[NMASKS])
{
	memset(c->nrecent, 0, sizeof c->nrecent);
	c->at_dec = 0;
	for (int i = 0; i < NMASKS; i++)
		put(c, masks[i], 8);
	for (int i = 0; i < NC_N; i++)
		put(c, (uint64_t)c->k[i], K_BITS);
	for (int i = 0; i < NC_N; i++)
		put(c, c->grid[i], 1);
	for (int i = 0; i < nc; i++) {
		code_obs(c, masks, &cur->canary[i], &base->canary[i], at);
		code_obs(c, masks, &cur->control[i], &base->control[i], at);
	}
}

/* The best order for a class's numbers, and what they then cost. */
static int best_k(const uint64_t *zz, size_t n, long long *cost)
{
	int best = 0;
	long long best_bits = -1;
	/* From the order of the largest value's length on, every value costs
	 * 1 + k bits: more with every k. The best order is at or below it. */
	uint64_t top = 0;
	for (size_t i = 0; i < n; i++)
		top = zz[i] > top ? zz[i] : top;
	int last = bit_len(top) < 47 ? bit_len(top) : 47;
	for (int k = 0; k <= last; k++) {
		long long bits = 0;
		for (size_t i = 0; i < n; i++)
			bits += eg_cost(zz[i], k);
		if (best_bits < 0 || bits < best_bits) {
			best_bits = bits;
			best = k;
		}
	}
	*cost = best_bits;
	return best;
}

/* The stream as text: 13 bits in two characters of b91 (the last group
 * padded with zero bits). */
static char *pack_text(const struct bitw *w)
{
	size_t groups = (w->nbits + 12) / 13;
	char *s = malloc(groups * 2 + 1);
	if (!s)
		return NULL;
	for (size_t g = 0; g < groups; g++) {
		unsigned v = 0;
		for (size_t i = g * 13; i < g * 13 + 13; i++) {
			unsigned bit = i < w->nbits ? (w->b[i / 8] >> (7 - i % 8)) & 1 : 0;
			v = v << 1 | bit;
		}
		s[2 * g] = b91[v % 91];
		s[2 * g + 1] = b91[v / 91];
	}
	s[groups * 2] = '\0';
	return s;
}

static char *encode_stream(const struct sr_snapshot *cur, const struct sr_snapshot *base, int nc,
                           sr_ms at)
{
	int count[256] = {0};
	for (int i = 0; i < nc; i++) {
		count[obs_mask(&cur->canary[i], &base->canary[i], at)]++;
		count[obs_mask(&cur->control[i], &base->control[i], at)]++;
	}
	unsigned masks[NMASKS];
	for (int k = 0; k < NMASKS; k++) {
		int best = 0;
		for (int m = 1; m < 256; m++)
			if (count[m] > count[best])
				best = m;
		masks[k] = (unsigned)best;
		count[best] = -1 - k; /* taken: never chosen again */
	}
	/* Two first passes, shortest and six-digit-grid references, to choose
	 * each class's rule and order. */
	struct coder c = {0};
	long long cost[2][NC_N];
	int k[2][NC_N];
	for (int rule = 0; rule < 2; rule++) {
		for (int i = 0; i < NC_N; i++) {
			c.grid[i] = rule;
			c.nzz[i] = 0;
			c.fixed[i] = 0;
		}
		code_all(&c, cur, base, nc, at, masks);
		for (int i = 0; i < NC_N; i++) {
			k[rule][i] = best_k(c.zz[i], c.nzz[i], &cost[rule][i]);
			cost[rule][i] += c.fixed[i];
		}
	}
	for (int i = 0; i < NC_N; i++) {
		c.grid[i] = cost[1][i] < cost[0][i];
		c.k[i] = k[c.grid[i]][i];
	}
	struct bitw w = {0};
	if (!c.oom) {
		c.w = &w;
		code_all(&c, cur, base, nc, at, masks);
	}
	for (int i = 0; i < NC_N; i++)
		free(c.zz[i]);
	free(c.decs);
	char *s = c.oom || w.oom ? NULL : pack_text(&w);
	free(w.b);
	return s;
}

json_t *obsrec_encode(const struct sr_snapshot *cur, const struct sr_snapshot *prev, sr_ms at,
                      long long writer, bool keyframe)
{
	/* A keyframe is the delta against "never fetched". Only the cells a
	 * policy has are ever cleared: the rest of this static snapshot
	 * (SR_MAX_CELLS of them) is never touched, so it costs no memory. */
	static struct sr_snapshot empty;
	static int empty_cells;
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
	int nc = cur->ncells < SR_MAX_CELLS ? cur->ncells : SR_MAX_CELLS;
	if (nc > empty_cells) {
		snapshot_clear(&empty, nc);
		empty_cells = nc;
	}
	const struct sr_snapshot *base = keyframe || !prev ? &empty : prev;
	json_object_set_new(f, "n", json_integer(nc));
	char *b = encode_stream(cur, base, nc, at);
	json_t *errs = json_object();
	if (!b || !errs) {
		free(b);
		json_decref(errs);
		json_decref(f);
		return NULL;
	}
	json_object_set_new(f, "b", json_string(b));
	free(b);
	for (int c = 0; c < nc; c++) {
		const struct sr_obs *o[2] = {&cur->canary[c], &cur->control[c]};
		const struct sr_obs *p[2] = {&base->canary[c], &base->control[c]};
		for (int s = 0; s < 2; s++) {
			const char *msg = snapshot_msg(cur, o[s]);
			if (strcmp(msg, snapshot_msg(base, p[s])) == 0)
				continue;
			char key[24];
			snprintf(key, sizeof key, "%d%c", c, s ? 'k' : 'c');
			json_object_set_new(errs, key, json_string(msg));
		}
	}
	if (json_object_size(errs) > 0)
		json_object_set_new(f, "e", errs);
	else
		json_decref(errs);
	return f;
}

/* ---- reading the bit stream -------------------------------------------------------- */

struct bitr {
	const uint8_t *b;
	size_t nbits, pos;
	size_t nbytes; /* readable bytes at b: at least JB_PAD past the last bit's */
	bool bad;
};

/* Zeroed bytes after the stream, so a read of up to 56 bits is one
 * 8-byte load wherever it starts. */
#define JB_PAD 8

/* 8 bytes as a big-endian number */
static inline uint64_t load_be64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x;
	memcpy(&x, p, sizeof x);
	return __builtin_bswap64(x);
#else
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
#endif
}

/* One bit (most reads: a mask's or a prefix's), inline; past the end:
 * 0, and the reader is bad (as get_bits). */
static inline unsigned get_bit(struct bitr *r)
{
	if (r->pos >= r->nbits) {
		r->bad = true;
		return 0;
	}
	unsigned bit = (r->b[r->pos / 8] >> (7 - r->pos % 8)) & 1;
	r->pos++;
	return bit;
}

/* n bits, most significant first; past the end: 0, and the reader is bad. */
static uint64_t get_bits(struct bitr *r, int n)
{
	if (n == 1)
		return get_bit(r);
	if (n <= 0)
		return 0;
	if (r->pos + (size_t)n > r->nbits) {
		r->pos = r->nbits;
		r->bad = true;
		return 0;
	}
	size_t at = r->pos / 8;
	if (n <= 56 && at + 8 <= r->nbytes) {
		/* the 8 bytes from the first one, then the n bits */
		uint64_t x = (load_be64(r->b + at) << (r->pos % 8)) >> (64 - n);
		r->pos += (size_t)n;
		return x;
	}
	uint64_t v = 0;
	while (n > 0) {
		int room = 8 - (int)(r->pos % 8); /* unread bits in the current byte */
		int take = n < room ? n : room;
		unsigned byte = r->b[r->pos / 8];
		v = v << take | ((byte >> (room - take)) & ((1u << take) - 1));
		r->pos += (size_t)take;
		n -= take;
	}
	return v;
}

static uint64_t get_eg(struct bitr *r, int k)
{
	int zeros = 0;
	size_t at = r->pos / 8;
	uint64_t x = 0;
	if (r->pos + 56 <= r->nbits && at + 8 <= r->nbytes) {
		/* the zeros before the first 1, counted in one look */
		x = load_be64(r->b + at) << (r->pos % 8);
	}
	if (x >> 8) {
		zeros = __builtin_clzll(x);
		r->pos += (size_t)zeros + 1;
	} else {
		while (!r->bad && get_bit(r) == 0)
			if (++zeros > 62) {
				r->bad = true;
				return 0;
			}
	}
	uint64_t q = 1ULL << zeros;
	q |= get_bits(r, zeros);
	uint64_t v = (q - 1);
	if (k > 0) {
		if (v >> (64 - k)) {
			r->bad = true;
			return 0;
		}
		v = v << k | get_bits(r, k);
	}
	return v;
}

struct decoder {
	struct bitr r;
	int k[NC_N];
	bool grid[NC_N];
	double recent[NC_N][RECENT];
	int nrecent[NC_N];
};

/* The inverse of code_num. false when the stream says nothing valid. */
static bool read_num(struct decoder *d, int cls, double prev, double *out)
{
	struct bitr *r = &d->r;
	double v;
	if (get_bit(r) == 0) {
		int64_t pm, m;
		int pe;
		ref_of(prev, d->grid[cls], &pm, &pe);
		int64_t dm = unzigzag(get_eg(r, d->k[cls]));
		if (__builtin_add_overflow(pm, dm, &m))
			return false;
		v = from_decimal(m, pe);
		memo_put(v, m, pe);
	} else if (get_bit(r) == 0) {
		int i = (int)get_bits(r, 2);
		if (i >= d->nrecent[cls])
			return false;
		v = d->recent[cls][i];
	} else if (get_bit(r) == 0) {
		int64_t pm, spm, m;
		int pe;
		ref_of(prev, d->grid[cls], &pm, &pe);
		int64_t de = unzigzag(get_eg(r, 0));
		if (de >= 0 || de < -400 || !scale10(pm, (int)-de, &spm))
			return false;
		int64_t dm = unzigzag(get_eg(r, d->k[cls]));
		if (__builtin_add_overflow(spm, dm, &m))
			return false;
		v = from_decimal(m, pe + (int)de);
		memo_put(v, m, pe + (int)de);
	} else {
		int t = (int)get_bits(r, 2);
		if (t == 0) {
			v = NAN;
		} else if (t < 3) {
			v = t == 1 ? INFINITY : -INFINITY;
		} else {
			uint64_t raw = get_bits(r, 64);
			memcpy(&v, &raw, sizeof v);
		}
	}
	if (r->bad)
		return false;
	remember(d->recent[cls], &d->nrecent[cls], v);
	*out = v;
	return true;
}

static int decode_stream(const char *s, sr_ms at, int ncells, struct sr_snapshot *snap, char *why,
                         size_t n)
{
	size_t len = strlen(s);
	if (len % 2) {
		snprintf(why, n, "obs: \"b\" has an odd length (%zu)", len);
		return -1;
	}
	size_t groups = len / 2;
	size_t nbytes = groups * 13 / 8 + 1 + JB_PAD;
	uint8_t *bytes = calloc(nbytes, 1);
	if (!bytes) {
		snprintf(why, n, "obs: out of memory");
		return -1;
	}
	/* b91's characters by value, + 1 (0: not one of them) */
	static unsigned char pos[256];
	if (!pos[(unsigned char)b91[0]])
		for (int i = 0; b91[i]; i++)
			pos[(unsigned char)b91[i]] = (unsigned char)(i + 1);
	/* 13 bits a pair of characters, gathered into bytes */
	uint64_t acc = 0;
	int nacc = 0;
	size_t out = 0;
	for (size_t g = 0; g < groups; g++) {
		unsigned a = pos[(unsigned char)s[2 * g]], b = pos[(unsigned char)s[2 * g + 1]];
		unsigned v = a && b ? (a - 1) + 91 * (b - 1) : 8192;
		if (v >= 8192) {
			snprintf(why, n, "obs: bad character in \"b\" at %zu", 2 * g);
			free(bytes);
			return -1;
		}
		acc = acc << 13 | v;
		nacc += 13;
		while (nacc >= 8) {
			nacc -= 8;
			bytes[out++] = (uint8_t)(acc >> nacc);
		}
	}
	if (nacc > 0)
		bytes[out] = (uint8_t)(acc << (8 - nacc));
	struct decoder d = {.r = {.b = bytes, .nbits = groups * 13, .nbytes = nbytes}};
	unsigned masks[NMASKS];
	for (int i = 0; i < NMASKS; i++)
		masks[i] = (unsigned)get_bits(&d.r, 8);
	for (int i = 0; i < NC_N; i++)
		d.k[i] = (int)get_bits(&d.r, K_BITS);
	for (int i = 0; i < NC_N; i++)
		d.grid[i] = get_bit(&d.r);
	int bad_cell = -1;
	for (int c = 0; c < ncells && bad_cell < 0 && !d.r.bad; c++) {
		for (int side = 0; side < 2; side++) {
			struct sr_obs *o = side ? &snap->control[c] : &snap->canary[c];
			int mi = 0;
			while (mi < NMASKS && get_bit(&d.r))
				mi++;
			unsigned m = mi < NMASKS ? masks[mi] : (unsigned)get_bits(&d.r, 8);
			bool ch[8];
			for (int k = 0; k < 8; k++)
				ch[k] = m & (1u << k);
			sr_ms obs_at = at;
			bool ok = true;
			if (ch[0])
				ok = ok && read_num(&d, NC_VALUE, o->value, &o->value);
			if (ch[1])
				ok = ok && read_num(&d, NC_SAMPLES, o->samples, &o->samples);
			if (ok && ch[2]) {
				int64_t age = unzigzag(get_eg(&d.r, d.k[NC_AGE]));
				if (age < -1000000000000000LL || age > 1000000000000000LL)
					ok = false;
				else
					obs_at = at - age;
			}
			if (ok && ch[3])
				o->kind = (enum sr_obs_kind)get_bits(&d.r, 2);
			if (ok && ch[4])
				o->degraded = get_bit(&d.r);
			double *sv[3] = {&o->step_n, &o->step_bad, &o->step_bound};
			for (int i = 0; i < 3 && ok; i++)
				if (ch[5 + i])
					ok = read_num(&d, NC_STEP, *sv[i], sv[i]);
			if (!ok || d.r.bad) {
				bad_cell = c;
				break;
			}
			o->at = obs_at;
		}
	}
	/* what is left is the last group's padding: fewer than 13 zero bits */
	bool tail_ok = d.r.nbits - d.r.pos < 13;
	while (tail_ok && !d.r.bad && d.r.pos < d.r.nbits)
		tail_ok = get_bit(&d.r) == 0;
	free(bytes);
	if (bad_cell >= 0 || d.r.bad) {
		snprintf(why, n, "obs: bad stream at cell %d", bad_cell >= 0 ? bad_cell : ncells);
		return -1;
	}
	if (!tail_ok) {
		snprintf(why, n, "obs: \"b\" goes on past its %d cells", ncells);
		return -1;
	}
	return 0;
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

/* The text form ("d", journals written before the bit stream). */
static int decode_text(const json_t *o, sr_ms at, int ncells, struct sr_snapshot *snap, char *why,
                       size_t n)
{
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
	return 0;
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
	const json_t *jb = json_object_get(o, "b");
	if (jb) {
		if (!json_is_string(jb)) {
			snprintf(why, n, "obs: \"b\" is not a string");
			return -1;
		}
		if (decode_stream(json_string_value(jb), at, ncells, snap, why, n) != 0)
			return -1;
	} else if (decode_text(o, at, ncells, snap, why, n) != 0) {
		return -1;
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
		snapshot_set_msg(snap, ob, json_string_value(ev));
	}
	return 0;
}
