/* reason.c - the engine's words: every text the engine writes (a cell's
 * reason, a decision's reasons, an event, a refusal) is made with these,
 * so numbers, units, windows and times read the same everywhere.
 *
 * The bottom of the engine: it knows the policy and the engine's record
 * but calls nothing of evaluate.c, triggers.c, decision.c or rights.c,
 * which all call it (before, these helpers lived in evaluate.c and the
 * five engine files formed one circle). Pure: no I/O, no clock.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/engine.h"
#include "shiproom/reason.h"

void engine_utf8_trim(char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0)
		return;
	/* Find the lead byte of the last character: at most 3 continuation
	 * bytes (10xxxxxx) back. */
	size_t i = len, back = 0;
	while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0 || back >= 4)
		return; /* no lead byte within reach: not something a cut made */
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (need > 1 && back + 1 < need)
		s[i - 1] = '\0'; /* the character was cut: drop what is left of it */
}

int engine_format(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (n > 0 && r >= (int)n)
		engine_utf8_trim(buf);
	return r;
}

void engine_fmt_num(double v, char *buf, size_t n)
{
	if (isnan(v)) {
		engine_format(buf, n, "n/a");
		return;
	}
	if (isinf(v)) {
		engine_format(buf, n, "%sInf", v > 0 ? "+" : "-");
		return;
	}
	if (fabs(v) >= 100) {
		/* 142.3, but 130 rather than 130.0 */
		engine_format(buf, n, "%.1f", v);
		size_t len = strlen(buf);
		if (len > 2 && strcmp(buf + len - 2, ".0") == 0)
			buf[len - 2] = '\0';
		return;
	}
	engine_format(buf, n, "%.4g", v);
}

void engine_fmt_value(const struct sr_kpi *k, double v, char *buf, size_t n)
{
	char num[32];
	engine_fmt_num(v, num, sizeof num);
	const char *u = k ? k->unit : "";
	/* "+Inf", not "+Infms": infinity has no unit */
	if (u[0] == '\0' || strcmp(u, "count") == 0 || isinf(v))
		engine_format(buf, n, "%s", num);
	else if (strcmp(u, "%") == 0 || strcmp(u, "ms") == 0 || strcmp(u, "x") == 0 || u[0] == '/')
		engine_format(buf, n, "%s%s", num, u);
	else
		engine_format(buf, n, "%s %s", num, u);
}

void engine_fmt_window(sr_ms d, char *buf, size_t n)
{
	if (d > 0 && d % SR_MS_PER_H == 0)
		engine_format(buf, n, "%lldh", (long long)(d / SR_MS_PER_H));
	else if (d > 0 && d < SR_MS_PER_H && d % SR_MS_PER_MIN == 0)
		engine_format(buf, n, "%lldm", (long long)(d / SR_MS_PER_MIN));
	else
		sr_fmt_duration(buf, n, d);
}

void engine_fmt_when(const struct sr_engine *e, sr_ms t, char *buf, size_t n)
{
	char rel[24], wall[24];
	sr_fmt_trel(rel, sizeof rel, t - e->ro.t0);
	calendar_fmt(&e->policy->calendar, t, wall, sizeof wall);
	engine_format(buf, n, "%s (%s)", rel, wall);
}

void engine_kpi_short(const struct sr_kpi *k, char *buf, size_t n)
{
	if (k->signal == SR_SIG_LATENCY && k->quantile > 0 && k->quantile < 1)
		engine_format(buf, n, "P%g", round(k->quantile * 1000) / 10);
	else
		engine_format(buf, n, "%s", k->name);
}

void engine_cell_label(const struct sr_engine *e, int cell, char *buf, size_t n)
{
	const struct sr_policy *p = e->policy;
	if (cell < 0 || cell >= p->ncells) {
		engine_format(buf, n, "?");
		return;
	}
	const struct sr_cell *c = &p->cells[cell];
	char kshort[SR_TITLE_LEN];
	engine_kpi_short(&p->kpis[c->kpi], kshort, sizeof kshort);
	if (c->journey >= 0 && c->journey < p->njourneys)
		engine_format(buf, n, "%s %s", p->journeys[c->journey].id, kshort);
	else
		engine_format(buf, n, "%s", kshort);
}

void engine_cell_summary(const struct sr_engine *e, int cell, char *buf, size_t n)
{
	char label[SR_TITLE_LEN];
	engine_cell_label(e, cell, label, sizeof label);
	if (cell < 0 || cell >= e->policy->ncells) {
		engine_format(buf, n, "%s", label);
		return;
	}
	/* The reason starts with the KPI's short name ("P95 142.3ms > ..."),
	 * which the label already says. */
	const char *r = engine_cell_reason(e, cell);
	const char *sp = strchr(label, ' ');
	const char *kshort = e->policy->cells[cell].journey >= 0 && sp ? sp + 1 : label;
	size_t kl = strlen(kshort);
	if (strncmp(r, kshort, kl) == 0 && r[kl] == ' ')
		r += kl + 1;
	engine_format(buf, n, "%s %s: %s", label, sr_status_name(e->cells[cell].status), r);
}
