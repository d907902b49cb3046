/* log.c - the event log: actions, approvals, trigger and status changes,
 * newest first, with time (T+ and, when wide, the wall clock), actor and
 * a glyph and colour for the severity. The runner writes it
 * (runner_log); this view only reads runner_log_entry().
 *
 * Two things make the log readable at 80x24, where it has four rows:
 *   - coalescing: when the first data arrives every check turns GREEN
 *     within a minute, ~40 lines that would push everything else off the
 *     screen. A run of LOG_COALESCE_MIN or more changes to GREEN in the
 *     same minute is one row ("T+0  33 checks GREEN (first data): ...").
 *     Other entries of that minute (a decision, an action) stay where
 *     they are and do not break the run; a change to any other status
 *     does, and RED, YELLOW and data-gap changes are never folded: they
 *     are what the log is for. Two changes stay two rows: they say more
 *     than "2 checks GREEN" and cost one row.
 *   - the '/' filter (k9s): only the entries containing the text, in
 *     their text, actor or kind, one row each (no coalescing: whoever
 *     filters is looking for the individual lines).
 * The folding is in logview_rows(), pure and unit-tested; the runner's
 * log itself is never changed.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/calendar.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

static const char *kind_name(enum sr_log_kind k)
{
	switch (k) {
	case SR_LOG_ACTION: return "action";
	case SR_LOG_APPROVAL: return "approve";
	case SR_LOG_STATUS: return "status";
	case SR_LOG_TRIGGER: return "trigger";
	case SR_LOG_DECISION: return "decide";
	case SR_LOG_INFO: return "info";
	}
	return "";
}

bool tui_match(const char *hay, const char *needle)
{
	if (!needle || !*needle)
		return true;
	size_t nl = strlen(needle);
	for (const char *h = hay; *h; h++) {
		size_t i = 0;
		while (i < nl && h[i] &&
		       tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == nl)
			return true;
	}
	return false;
}

static bool entry_matches(const struct sr_log_entry *le, const char *filter)
{
	return tui_match(le->text, filter) ||
	       tui_match(le->actor[0] ? le->actor : "engine", filter) ||
	       tui_match(kind_name(le->kind), filter);
}

static bool is_green_change(const struct sr_log_entry *le)
{
	return le->kind == SR_LOG_STATUS && le->severity == SR_GREEN;
}

/* The minute an entry is shown at, as the log shows it ("T+0"). */
static void minute_of(const struct sr_runner *r, const struct sr_log_entry *le, char *buf, size_t n)
{
	sr_fmt_trel(buf, n, le->at - r->engine.ro.t0);
}

/* The check a status entry is about: the engine writes "LABEL STATUS:
 * reason" (engine_cell_summary). Returns the label's length, 0 if the
 * text is not of that shape. */
static size_t status_label(const struct sr_log_entry *le)
{
	char pat[24];
	tui_fmt(pat, sizeof pat, " %s:", sr_status_name(le->severity));
	const char *p = strstr(le->text, pat);
	return p && p > le->text ? (size_t)(p - le->text) : 0;
}

/* What the log remembers of a check before entry `from`: whether it ever
 * had a data status (GREEN, YELLOW, RED) and the status just before. */
static void status_before(const struct sr_runner *r, int from, const struct sr_log_entry *le,
                          bool *had_data, int *prev_status)
{
	*had_data = false;
	*prev_status = -1;
	size_t ll = status_label(le);
	if (ll == 0) {
		*had_data = true; /* not a shape we know: say nothing about it */
		return;
	}
	for (int i = from + 1;; i++) {
		const struct sr_log_entry *o = runner_log_entry(r, i);
		if (!o)
			return;
		if (o->kind != SR_LOG_STATUS || status_label(o) != ll ||
		    memcmp(o->text, le->text, ll) != 0)
			continue;
		if (*prev_status < 0)
			*prev_status = (int)o->severity;
		if (!sr_status_is_data_gap(o->severity)) {
			*had_data = true;
			return;
		}
	}
}

/* What a run of GREEN changes (entries first..last, newest first) was:
 * first data (no check in it had a data status before), data back (each
 * came from a data gap), or just GREEN again. */
static enum logview_tag run_tag(const struct sr_runner *r, int first, int last)
{
	bool all_first = true, all_back = true;
	char m0[24], m[24];
	minute_of(r, runner_log_entry(r, first), m0, sizeof m0);
	for (int i = first; i <= last; i++) {
		const struct sr_log_entry *le = runner_log_entry(r, i);
		if (!le || !is_green_change(le))
			continue;
		minute_of(r, le, m, sizeof m);
		if (strcmp(m, m0) != 0)
			continue;
		bool had_data;
		int prev;
		status_before(r, i, le, &had_data, &prev);
		if (had_data)
			all_first = false;
		if (prev < 0 || !sr_status_is_data_gap((enum sr_status)prev))
			all_back = false;
	}
	return all_first ? LV_FIRST_DATA : all_back ? LV_DATA_BACK : LV_GREEN;
}

/* Put row into rows[] (sorted newest first, at most max) at its place;
 * past the end of a full list it is dropped, else the oldest row goes. */
static void insert_row(struct logview_row *rows, int *n, int max, struct logview_row row)
{
	int at = *n;
	while (at > 0 && rows[at - 1].entry > row.entry)
		at--;
	if (at >= max)
		return;
	if (*n == max)
		(*n)--;
	memmove(&rows[at + 1], &rows[at], sizeof rows[0] * (size_t)(*n - at));
	rows[at] = row;
	(*n)++;
}

int logview_rows(const struct sr_runner *r, const char *filter, struct logview_row *rows, int max)
{
	int n = 0;
	if (max <= 0)
		return 0;
	if (filter && *filter) {
		for (int i = 0; n < max; i++) {
			const struct sr_log_entry *le = runner_log_entry(r, i);
			if (!le)
				break;
			if (entry_matches(le, filter))
				rows[n++] = (struct logview_row){i, i, 1, LV_PLAIN};
		}
		return n;
	}
	/* Walk newest to oldest; a run is open from its newest GREEN change
	 * until a change of minute or a change to another status. */
	int run_start = -1, run_last = -1, run_count = 0;
	char run_min[24] = "", m[24];
	int i = 0;
	for (;; i++) {
		const struct sr_log_entry *le = runner_log_entry(r, i);
		bool end = !le;
		if (!end)
			minute_of(r, le, m, sizeof m);
		bool closes = end || (run_start >= 0 && strcmp(m, run_min) != 0) ||
		              (run_start >= 0 && le->kind == SR_LOG_STATUS && !is_green_change(le));
		if (closes && run_start >= 0) {
			/* Emit the run's entries: folded into one row at the
			 * place of its newest, or one by one if it is short. */
			if (run_count >= LOG_COALESCE_MIN) {
				struct logview_row row = {run_start, run_last, run_count, LV_GREEN};
				row.tag = run_tag(r, run_start, run_last);
				/* At the place of the run's newest entry: the other
				 * entries of the minute keep theirs. */
				insert_row(rows, &n, max, row);
			} else {
				for (int k = run_start; k <= run_last; k++) {
					const struct sr_log_entry *e = runner_log_entry(r, k);
					char mk[24];
					if (!e || !is_green_change(e))
						continue;
					minute_of(r, e, mk, sizeof mk);
					if (strcmp(mk, run_min) == 0)
						insert_row(rows, &n, max,
						           (struct logview_row){k, k, 1, LV_PLAIN});
				}
			}
			run_start = -1;
			run_count = 0;
		}
		if (end)
			break;
		/* Enough rows for the screen, and no run left open. */
		if (n >= max && run_start < 0)
			break;
		if (is_green_change(le)) {
			if (run_start < 0) {
				run_start = i;
				sr_strlcpy(run_min, m, sizeof run_min);
			}
			run_last = i;
			run_count++;
			continue;
		}
		insert_row(rows, &n, max, (struct logview_row){i, i, 1, LV_PLAIN});
	}
	return n;
}

void logview_row_text(const struct sr_runner *r, const struct logview_row *row, char *buf, size_t n)
{
	const struct sr_log_entry *le = runner_log_entry(r, row->entry);
	if (!le) {
		tui_fmt(buf, n, "%s", "");
		return;
	}
	if (row->tag == LV_PLAIN) {
		tui_fmt(buf, n, "%s", le->text);
		return;
	}
	const char *why = row->tag == LV_FIRST_DATA  ? " (first data)"
	                  : row->tag == LV_DATA_BACK ? " (data back)"
	                                             : "";
	int o = tui_fmt(buf, n, "%d checks GREEN%s:", row->count, why);
	char m0[24], m[24];
	minute_of(r, le, m0, sizeof m0);
	/* The checks, oldest first (the order they turned GREEN in). */
	for (int i = row->oldest; i >= row->entry && o >= 0 && (size_t)o < n; i--) {
		const struct sr_log_entry *e = runner_log_entry(r, i);
		if (!e || !is_green_change(e))
			continue;
		minute_of(r, e, m, sizeof m);
		if (strcmp(m, m0) != 0)
			continue;
		size_t ll = status_label(e);
		int k = ll ? tui_fmt(buf + o, n - (size_t)o, "%s%.*s",
		                     o > 0 && buf[o - 1] == ':' ? " " : ", ", (int)ll, e->text)
		           : 0;
		if (k < 0)
			break;
		o += k;
	}
}

/* How far back the log can scroll: the rows that do not fit. */
static int log_scroll_max(const struct tui *t)
{
	static struct logview_row all[SR_LOG_LEN];
	int total = logview_rows(t->r, t->log_filter, all, SR_LOG_LEN);
	int shown = t->lay.log.h - 1;
	return total > shown && shown > 0 ? total - shown : 0;
}

void log_scroll(struct tui *t, int rows)
{
	long v = (long)t->log_scroll + rows;
	int max = log_scroll_max(t);
	t->log_scroll = v < 0 ? 0 : v > max ? max : (int)v;
	t->dirty |= D_LOG;
}

void log_draw(struct tui *t)
{
	struct tui_rect r = t->lay.log;
	if (r.h <= 0)
		return;
	static struct logview_row all_rows[SR_LOG_LEN];
	int max = r.h - 1 < SR_LOG_LEN ? r.h - 1 : SR_LOG_LEN;
	const char *filter = t->log_filter;
	/* Scrolled back (PgUp): the window starts that many rows older, and
	 * stays on the same events while new ones arrive above it. */
	int total = logview_rows(t->r, filter, all_rows, SR_LOG_LEN);
	int maxs = total > max && max > 0 ? total - max : 0;
	if (t->log_scroll > maxs)
		t->log_scroll = maxs;
	struct logview_row *rows = all_rows + t->log_scroll;
	int n = total - t->log_scroll;
	if (n > max)
		n = max > 0 ? max : 0;
	term_fill(r.y, 0, r.h, r.w, TR_NORMAL);
	term_hline(r.y, 0, r.w, TR_BORDER);
	char title[TUI_FILTER_LEN + 64];
	if (filter[0] || t->filter_edit == t->log_filter) {
		/* Count every match, not only the rows that fit (total). */
		tui_fmt(title, sizeof title, " Events /%s/ %d of %d%s ", filter, total, t->r->nlog,
		        t->filter_edit ? "" : "  esc clears");
	} else {
		tui_fmt(title, sizeof title, " Events (%d) ", t->r->nlog);
	}
	if (t->log_scroll > 0) {
		size_t tl = strlen(title);
		tui_fmt(title + tl, sizeof title - tl, "%d newer above: PgDn, End ", t->log_scroll);
	}
	term_put(r.y, 2, r.w - 4, filter[0] ? TR_KEY : TR_TITLE, title);
	bool wide = r.w >= 120;
	for (int i = 0; i < n && i < r.h - 1; i++) {
		const struct sr_log_entry *le = runner_log_entry(t->r, rows[i].entry);
		if (!le)
			break;
		int y = r.y + 1 + i, x = 1;
		char when[24], wall[24], text[SR_TEXT_LEN * 4];
		tui_trel(t, le->at, when, sizeof when);
		x += term_put(y, x, 7, TR_DIM, when);
		x = 8;
		if (wide) {
			calendar_fmt(&t->p->calendar, le->at, wall, sizeof wall);
			term_put(y, x, 10, TR_DIM, wall);
			x += 11;
			term_put(y, x, 8, TR_DIM, kind_name(le->kind));
			x += 9;
		}
		enum tui_role sr = theme_status_role(le->severity);
		term_put(y, x, 2, sr, sr_status_glyph(le->severity));
		x += 3;
		term_put(y, x, 10, TR_TITLE, le->actor[0] ? le->actor : "engine");
		x += 11;
		logview_row_text(t->r, &rows[i], text, sizeof text);
		term_put(y, x, r.w - x - 1, le->severity == SR_GREEN ? TR_NORMAL : sr, text);
	}
	if (n == 0 && filter[0] && r.h > 1)
		term_put(r.y + 1, 8, r.w - 9, TR_DIM, "no event matches the filter");
}
