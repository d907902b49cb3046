/* approvals.c - the approvals and roster view (key 5): first who must
 * still approve the next step (rights_approvals_text) and who has; then
 * each gate with its time, step, who must approve and who has, its
 * outcome; the
 * roster by role; and the directive's decision-rights table, so anyone
 * can see why a key is dimmed for them.
 */
#include <stdio.h>
#include <string.h>

#include "shiproom/rights.h"
#include "shiproom/runner.h"
#include "shiproom/tui.h"

static const char *outcome_name(enum sr_gate_outcome o)
{
	switch (o) {
	case SR_GATE_PASSED: return "passed";
	case SR_GATE_HELD: return "held";
	case SR_GATE_ROLLED_BACK: return "rolled back";
	default: return "pending";
	}
}

static enum tui_role outcome_role(enum sr_gate_outcome o)
{
	switch (o) {
	case SR_GATE_PASSED: return TR_ST_GREEN;
	case SR_GATE_HELD: return TR_ST_YELLOW;
	case SR_GATE_ROLLED_BACK: return TR_ST_RED;
	default: return TR_DIM;
	}
}

void approvals_draw(struct tui *t)
{
	struct tui_rect b = t->lay.body;
	const struct sr_policy *p = t->p;
	const struct sr_engine *e = &t->r->engine;
	const struct sr_rollout *ro = &e->ro;
	int y = b.y, bottom = b.y + b.h;
	char text[SR_TEXT_LEN * 2];
	term_fill(b.y, 0, b.h, b.w, TR_NORMAL);
	term_put(y++, 1, b.w - 2, TR_TITLE,
	         "Gates and approvals   a approve the next gate   esc back");
	/* First what the next step still needs, and from whom. */
	{
		char who[SR_TEXT_LEN], line[SR_TEXT_LEN * 3];
		int missing = rights_approvals_text(e, tui_actor(t), text, sizeof text);
		int have = rights_approvers(e, NULL, who, sizeof who); /* who did, self included */
		line[0] = '\0';
		if (missing > 0)
			tui_fmt(line, sizeof line, "Next step: %s%s%s", text,
			        have ? "; approved so far: " : "", have ? who : "");
		else if (rollout_next_gate(ro, p, NULL) >= 0 && !ro->rolled_back)
			tui_fmt(line, sizeof line, "Next step: no approval missing%s%s%s",
			        have ? " (approved by " : "", have ? who : "", have ? ")" : "");
		static char frag[3][TEXT_LINE_BYTES];
		int nf = line[0] ? text_wrap(line, b.w - 4, frag, 3) : 0;
		for (int i = 0; i < nf && y < bottom; i++)
			term_put(y++, i ? 14 : 3, b.w - (i ? 15 : 4),
			         missing > 0 ? TR_ST_YELLOW : TR_ST_GREEN, frag[i]);
	}
	for (int g = 0; g < p->ngates && y < bottom; g++) {
		const struct sr_gate *gt = &p->gates[g];
		const struct sr_gate_record *rec = &ro->gates[g];
		char need[SR_NAME_LEN + 32], who[SR_TEXT_LEN];
		if (gt->pre_approved)
			tui_fmt(need, sizeof need, "pre-approved when GO");
		else
			tui_fmt(need, sizeof need, "%d from %s", gt->approvals_needed,
			        gt->approver_role);
		who[0] = '\0';
		int o = 0;
		for (int a = 0; a < rec->napprovals; a++) {
			char rel[16];
			tui_trel(t, rec->approvals[a].at, rel, sizeof rel);
			int k = tui_fmt(who + o, sizeof who - (size_t)o, "%s%s %s", a ? ", " : "",
			                rec->approvals[a].who, rel);
			if (k < 0 || (size_t)(o + k) >= sizeof who)
				break;
			o += k;
		}
		term_putf(y, 3, 10, TR_TITLE, "%s", gt->name);
		term_putf(y, 13, 8, TR_DIM, "T+%d", gt->at_min);
		term_putf(y, 21, 10, TR_NORMAL, "%d%%->%d%%", gt->from_weight, gt->to_weight);
		term_put(y, 32, 12, outcome_role(rec->outcome), outcome_name(rec->outcome));
		term_put(y, 45, 26, TR_DIM, need);
		const char *given = rec->napprovals ? who : "no approvals yet";
		if (b.w >= 120) {
			term_put(y, 72, b.w - 73, TR_NORMAL, given);
		} else if (y + 1 < bottom) {
			/* Narrow: the approvals on a line of their own. */
			y++;
			term_putf(y, 13, b.w - 14, rec->napprovals ? TR_NORMAL : TR_DIM, "%s%s",
			          rec->napprovals ? "approved by " : "", given);
		}
		y++;
	}
	if (y + 1 < bottom) {
		y++;
		term_put(y++, 1, b.w - 2, TR_TITLE, "Roster");
		for (int r = 0; r < SR_ROLE_COUNT && y < bottom; r++) {
			int o = 0;
			text[0] = '\0';
			for (int i = 0; i < p->roster.n[r]; i++) {
				int k = tui_fmt(text + o, sizeof text - (size_t)o, "%s%s",
				                i ? ", " : "", p->roster.who[r][i]);
				if (k < 0 || (size_t)(o + k) >= sizeof text)
					break;
				o += k;
			}
			bool me = rights_has_role(p, tui_actor(t), (enum sr_role)r);
			term_put(y, 3, 16, TR_DIM, sr_role_name((enum sr_role)r));
			term_putf(y, 20, b.w - 21, me ? TR_TITLE : TR_NORMAL, "%s%s",
			          text[0] ? text : "(nobody)", me ? "   <- you" : "");
			y++;
		}
	}
	if (y + 1 < bottom) {
		y++;
		term_put(y++, 1, b.w - 2, TR_TITLE, "Decision rights");
		for (int i = 0; i < p->nrights && y < bottom; i++) {
			const struct sr_right *rt = &p->rights[i];
			char what[48];
			if (rt->action == SR_ACT_PROMOTE)
				tui_fmt(what, sizeof what, "promote %d->%d", rt->from_weight,
				        rt->to_weight);
			else
				tui_fmt(what, sizeof what, "%s", sr_action_name(rt->action));
			term_put(y, 3, 16, TR_NORMAL, what);
			term_put(y, 20, 14, TR_DIM, sr_role_name(rt->role));
			term_put(y, 35, b.w - 36, TR_NORMAL, rt->condition);
			y++;
		}
	}
}
