/* calendar.h - business days, end of day and the overnight re-evaluation.
 *
 * Pure arithmetic on sr_ms with the policy's fixed UTC offset: no tz
 * database, no localtime(), so tests and replays give the same answer on
 * every machine.
 */
#ifndef SHIPROOM_CALENDAR_H
#define SHIPROOM_CALENDAR_H

#include "shiproom/policy.h"

/* Minutes since local midnight, 0..1439. */
int calendar_minute_of_day(const struct sr_calendar *c, sr_ms now);
/* Local weekday, 0 = Sunday ... 6 = Saturday. */
int calendar_weekday(const struct sr_calendar *c, sr_ms now);
bool calendar_is_workday(const struct sr_calendar *c, sr_ms now);
/* True outside business hours: at or after end of day, before the day
 * starts, or on a non-working day. */
bool calendar_past_end_of_day(const struct sr_calendar *c, sr_ms now);
/* The next re-evaluation time (reevaluate_min local) on a working day
 * strictly after `now`'s business day: a Friday evening gives Monday. */
sr_ms calendar_next_reevaluation(const struct sr_calendar *c, sr_ms now);
/* Local wall clock "Mon 09:00" for messages. */
void calendar_fmt(const struct sr_calendar *c, sr_ms t, char *buf, size_t n);
/* Parse "YYYY-MM-DDTHH:MM[:SS]" as local time under c; -1 on error. */
int calendar_parse_local(const struct sr_calendar *c, const char *s, sr_ms *out);

#endif
