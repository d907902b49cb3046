/* reason.h - the engine's words, at the bottom of the engine (reason.c):
 * the one place numbers, units, windows, times and cell names become
 * text for reasons, events and refusals. Views use them too, so a screen
 * says a value the way the engine's reason does.
 */
#ifndef SHIPROOM_REASON_H
#define SHIPROOM_REASON_H

#include "shiproom/policy.h"

struct sr_engine;

/* snprintf for reasons: truncation at the buffer size is intended
 * (a reason is cut at SR_REASON_LEN), so no -Wformat-truncation noise;
 * a cut never leaves half a UTF-8 character (engine_utf8_trim).
 * Returns what snprintf returns. */
int engine_format(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Drop an incomplete UTF-8 sequence from the end of s (what a cut at a
 * byte count leaves), so the text stays valid for JSON and terminals.
 * Every formatter of the engine (engine_format, decision reasons, events,
 * rights and rollout refusals) ends with it. */
void engine_utf8_trim(char *s);

/* A number as reasons write it: "142.3", "130" (not "130.0"), "0.62",
 * "n/a" for NaN, "+Inf". */
void engine_fmt_num(double v, char *buf, size_t n);
/* A value in a KPI's unit: "142.3ms", "0.62%", "4.4x", "6". */
void engine_fmt_value(const struct sr_kpi *k, double v, char *buf, size_t n);
/* "5m", "2h", "3m12s": a duration without zero tails, for limits. */
void engine_fmt_window(sr_ms d, char *buf, size_t n);
/* "T+95 (Thu 10:35)": relative to T-0 and on the local wall clock. */
void engine_fmt_when(const struct sr_engine *e, sr_ms t, char *buf, size_t n);
/* "P95" for a latency quantile, the KPI's name otherwise. */
void engine_kpi_short(const struct sr_kpi *k, char *buf, size_t n);
/* A short name for a cell: "search P95", "5xx error rate". */
void engine_cell_label(const struct sr_engine *e, int cell, char *buf, size_t n);
/* "search P95 RED: 142.3ms > 130ms limit (control 101.2ms, 812 samples)":
 * label, status and reason in one line (decision reasons, events). */
void engine_cell_summary(const struct sr_engine *e, int cell, char *buf, size_t n);

#endif
