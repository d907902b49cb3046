/* common.h - types shared by every shiproom module.
 *
 * Time is always an int64 count of milliseconds since the Unix epoch
 * (sr_ms). Nothing in the engine reads a clock: callers pass `now`.
 */
#ifndef SHIPROOM_COMMON_H
#define SHIPROOM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t sr_ms;

#define SR_MS_PER_S 1000LL
#define SR_MS_PER_MIN 60000LL
#define SR_MS_PER_H 3600000LL
#define SR_MS_PER_DAY 86400000LL

/* Fixed capacities. Static arrays keep the engine allocation-free on the
 * evaluation path; the policy loader rejects a file that exceeds them with
 * a clear error instead of truncating. The per-journey and per-cell
 * arrays are capacities, not costs: everything that initialises, copies
 * or walks them stops at the policy's njourneys / ncells, so the pages
 * past the policy's cells are never touched (calloc'ed memory stays
 * unmapped until written) and RSS and time grow with the policy. */
#define SR_NAME_LEN 48    /* ids: "p95_latency", "search", "gate_approver" */
#define SR_TITLE_LEN 96   /* human names: "P95 latency by journey" */
#define SR_TEXT_LEN 256   /* checklist items, criteria text */
#define SR_REASON_LEN 200 /* one status or decision reason */
#define SR_QUERY_LEN 1024 /* a PromQL template */
#define SR_MAX_PHASES 8
#define SR_MAX_GATES 8
#define SR_MAX_JOURNEYS 1024
#define SR_MAX_GROUPS 12
#define SR_MAX_KPIS 64
#define SR_MAX_CELLS 4096 /* KPI x journey evaluations */
#define SR_MAX_TRIGGERS 16
#define SR_MAX_TRIGGER_KPIS 8
#define SR_MAX_RIGHTS 16
#define SR_MAX_ROSTER 16 /* people per role */
#define SR_MAX_ITEMS 24  /* items per checklist */
#define SR_MAX_CHECKLISTS 6
#define SR_MAX_CRITERIA 12
#define SR_MAX_REASONS 8

/* The six statuses of DESIGN.md section 3. The order matters: it is the
 * order of severity used when a journey rolls up several KPIs (worst
 * wins), with the "no trustworthy data" statuses ranked above YELLOW so a
 * gap is never hidden behind a warning. */
enum sr_status { SR_GREEN = 0, SR_YELLOW, SR_NODATA, SR_STALE, SR_ERROR, SR_RED, SR_STATUS_COUNT };

const char *sr_status_name(enum sr_status s); /* "GREEN" ... "ERROR" */
/* A glyph that tells the status without colour (ASCII-safe). */
const char *sr_status_glyph(enum sr_status s); /* "ok", "!", "X", "?", "~", "E" */
bool sr_status_is_data_gap(enum sr_status s);  /* NODATA, STALE, ERROR */

/* The four recommendations of the decision. Values are also the exit
 * status of `shiproom status` (0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE). */
enum sr_verdict { SR_GO = 0, SR_HOLD = 3, SR_ROLLBACK = 4, SR_ESCALATE = 5 };
const char *sr_verdict_name(enum sr_verdict v);

/* Exit statuses shared by every subcommand. */
enum { SR_EXIT_OK = 0, SR_EXIT_RUNTIME = 1, SR_EXIT_USAGE = 2 };

/* Copy at most n-1 bytes and always terminate; returns true when the
 * whole of src fit. (strncpy neither terminates nor reports truncation.) */
bool sr_strlcpy(char *dst, const char *src, size_t n);

/* Structures sized for the largest policy (SR_MAX_CELLS cells, 1024
 * journeys) are calloc'ed, and a page of them becomes resident only when
 * written: a memset or memcpy of the whole would make megabytes of
 * capacity resident for a policy of a few dozen cells. These two write
 * only the pages that need it: sr_zero_sparse skips pages that already
 * read as zero (reading an untouched page of a fresh mapping maps the
 * shared zero page, which is not resident), sr_copy_sparse copies into
 * zeroed memory (calloc) and skips the pages of src that are all zero. */
void sr_zero_sparse(void *p, size_t n);
void sr_copy_sparse(void *dst, const void *src, size_t n);

/* snprintf into an error or message buffer, where a cut message is
 * intended (messages are bounded) and dst may be NULL or n 0. */
void sr_msgf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Replace every byte that could steer a terminal, a Markdown report or a
 * webhook (C0/C1 controls, DEL, ESC sequences, invalid UTF-8) with '?'.
 * Text from outside (label values, API errors) goes through here before
 * it is stored anywhere a view can reach. dst may equal src. */
void sr_sanitize(char *dst, const char *src, size_t n);

/* "shiproom: <message>\n" on stderr, the whole message sanitised: it
 * carries argv (paths, names) and answers from outside, which may hold
 * escape sequences. Every command-line error goes through here. */
void sr_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "T+90", "T-120", "T+7h30" style formatting of a relative time. */
void sr_fmt_trel(char *buf, size_t n, sr_ms rel);
/* "3m12s", "45s", "2h05m" */
void sr_fmt_duration(char *buf, size_t n, sr_ms d);

/* Base64 (RFC 4648, standard alphabet, padded), as etcd's gateway speaks
 * it and the service sends history. encode: a NUL-terminated malloc'd
 * string, NULL when out of memory. decode: strict (length a multiple of
 * 4, '=' only at the end, no leftover bits); a malloc'd copy with a NUL
 * after *out_len bytes, or NULL when in is not such base64. */
char *sr_b64_encode(const void *in, size_t len);
char *sr_b64_decode(const char *in, size_t len, size_t *out_len);

#endif
