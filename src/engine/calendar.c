/* calendar.c - business days, end of day and the overnight re-evaluation.
 *
 * The directive says "re-evaluate at 09:00 local next business day". We
 * do that with plain integer arithmetic on a fixed UTC offset from the
 * policy (no tz database, no localtime()), so a test, a replay and the
 * console on any machine agree to the millisecond. Civil dates use
 * Howard Hinnant's days_from_civil / civil_from_days algorithms.
 */
#include "shiproom/calendar.h"

#include <stdio.h>

/* Floor division and modulo: times before 1970 and negative offsets must
 * not round towards zero. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static sr_ms to_local(const struct sr_calendar *c, sr_ms t)
{
	return t + (sr_ms)c->utc_offset_min * SR_MS_PER_MIN;
}

static sr_ms from_local(const struct sr_calendar *c, sr_ms local)
{
	return local - (sr_ms)c->utc_offset_min * SR_MS_PER_MIN;
}

/* Local day number: days since 1970-01-01 in local time. */
static int64_t local_day(const struct sr_calendar *c, sr_ms t)
{
	return floor_div(to_local(c, t), SR_MS_PER_DAY);
}

static int weekday_of_day(int64_t day)
{
	/* 1970-01-01 was a Thursday (4). */
	return (int)floor_mod(day + 4, 7);
}

static bool workday_of_day(const struct sr_calendar *c, int64_t day)
{
	return (c->workdays >> weekday_of_day(day)) & 1u;
}

int calendar_minute_of_day(const struct sr_calendar *c, sr_ms now)
{
	return (int)(floor_mod(to_local(c, now), SR_MS_PER_DAY) / SR_MS_PER_MIN);
}

int calendar_weekday(const struct sr_calendar *c, sr_ms now)
{
	return weekday_of_day(local_day(c, now));
}

bool calendar_is_workday(const struct sr_calendar *c, sr_ms now)
{
	return workday_of_day(c, local_day(c, now));
}

bool calendar_past_end_of_day(const struct sr_calendar *c, sr_ms now)
{
	if (!calendar_is_workday(c, now))
		return true;
	int m = calendar_minute_of_day(c, now);
	return m >= c->end_of_day_min || m < c->day_start_min;
}

sr_ms calendar_next_reevaluation(const struct sr_calendar *c, sr_ms now)
{
	int64_t day = local_day(c, now);
	sr_ms into_day = floor_mod(to_local(c, now), SR_MS_PER_DAY);
	sr_ms at = (sr_ms)c->reevaluate_min * SR_MS_PER_MIN;

	/* A hold that starts in the small hours of a working day is
	 * re-evaluated that same morning: 02:00 Tuesday -> 09:00 Tuesday. */
	if (workday_of_day(c, day) && into_day < at)
		return from_local(c, day * SR_MS_PER_DAY + at);
	/* Otherwise the next working day. A calendar without working days
	 * (a policy error the loader should reject) falls back to tomorrow
	 * rather than looping forever. */
	for (int k = 1; k <= 7; k++) {
		if (workday_of_day(c, day + k))
			return from_local(c, (day + k) * SR_MS_PER_DAY + at);
	}
	return from_local(c, (day + 1) * SR_MS_PER_DAY + at);
}

void calendar_fmt(const struct sr_calendar *c, sr_ms t, char *buf, size_t n)
{
	static const char *const names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	int m = calendar_minute_of_day(c, t);
	snprintf(buf, n, "%s %02d:%02d", names[calendar_weekday(c, t)], m / 60, m % 60);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* Exactly `width` decimal digits at s; -1 otherwise. */
static int parse_digits(const char *s, int width)
{
	int v = 0;
	for (int i = 0; i < width; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int calendar_parse_local(const struct sr_calendar *c, const char *s, sr_ms *out)
{
	if (!s)
		return -1;
	/* YYYY-MM-DDTHH:MM is 16 characters; :SS makes 19. Check lengths
	 * before reading so a short string is never read past its end. */
	size_t len = 0;
	while (len < 20 && s[len])
		len++;
	if (len != 16 && len != 19)
		return -1;
	if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':')
		return -1;
	int y = parse_digits(s, 4), mo = parse_digits(s + 5, 2), d = parse_digits(s + 8, 2);
	int h = parse_digits(s + 11, 2), mi = parse_digits(s + 14, 2), sec = 0;
	if (len == 19) {
		if (s[16] != ':')
			return -1;
		sec = parse_digits(s + 17, 2);
	}
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 59)
		return -1;
	if (d > days_in_month(y, mo))
		return -1;
	int64_t day = days_from_civil(y, (unsigned)mo, (unsigned)d);
	sr_ms local = day * SR_MS_PER_DAY + (sr_ms)h * SR_MS_PER_H + (sr_ms)mi * SR_MS_PER_MIN +
	              (sr_ms)sec * SR_MS_PER_S;
	*out = from_local(c, local);
	return 0;
}
