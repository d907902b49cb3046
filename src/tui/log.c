/* log.c - the event log: actions, approvals, trigger and status changes,
 * newest first, with time (T+ and, when wide, the wall clock), actor and
 * a glyph and colour for the severity. The runner writes it
 * (runner_log); this view only reads runner_log_entry().
 */
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

void log_draw(struct tui *t)
{
	struct tui_rect r = t->lay.log;
	if (r.h <= 0)
		return;
	term_fill(r.y, 0, r.h, r.w, TR_NORMAL);
	term_hline(r.y, 0, r.w, TR_BORDER);
	char title[64];
	tui_fmt(title, sizeof title, " Events (%d) ", t->r->nlog);
	term_put(r.y, 2, r.w - 4, TR_TITLE, title);
	bool wide = r.w >= 120;
	for (int i = 0; i < r.h - 1; i++) {
		const struct sr_log_entry *le = runner_log_entry(t->r, i);
		if (!le)
			break;
		int y = r.y + 1 + i, x = 1;
		char when[24], wall[24];
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
		term_put(y, x, r.w - x - 1, le->severity == SR_GREEN ? TR_NORMAL : sr, le->text);
	}
}
