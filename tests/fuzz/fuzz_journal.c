/* fuzz_journal.c - libFuzzer target for reading a journal.
 *
 * A journal file is outside input in a postmortem (`shiproom replay FILE`
 * of a file from somewhere else) and after a crash. The input is used as
 * a whole journal file: journal_replay reads it line by line (through a
 * memfd, so the real reader with its torn-tail handling runs), and every
 * event is applied to a rollout under the shipped policy, as replay does.
 * Besides "no crash": every issue message is terminated, every
 * delivered event passed validation (seq > 0, type, actor strings), and
 * its object is what jansson makes of its line, however the journal built
 * it (in full, from the quick look, or on demand): equal when jansson
 * accepts the line, empty when it does not (jskim.h).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shiproom/journal.h"

#include "fuzz_util.h"

static const struct sr_policy *policy;
static struct sr_rollout ro;

struct ctx {
	struct sr_replay rp;
	long last_line;
	const uint8_t *data;
	size_t size;
};

/* The event's object against jansson's parse of its line. */
static void same_as_jansson(const struct ctx *c, const struct sr_jevent *ev)
{
	if (ev->offset < 0 || (size_t)ev->offset >= c->size)
		abort();
	const uint8_t *start = c->data + ev->offset;
	const uint8_t *nl = memchr(start, '\n', c->size - (size_t)ev->offset);
	if (!nl)
		abort(); /* a delivered line is a whole line */
	json_error_t je;
	json_t *want = json_loadb((const char *)start, (size_t)(nl - start), JSON_REJECT_DUPLICATES,
	                          &je);
	const json_t *got = journal_event_obj(ev);
	if (want ? !json_equal((json_t *)got, want) : json_object_size(got) != 0)
		abort();
	json_decref(want);
}

static void on_event(void *ud, const struct sr_jevent *ev)
{
	struct ctx *c = ud;
	if (ev->seq < 1 || !ev->type_name || !ev->actor || !journal_event_obj(ev) ||
	    ev->line <= c->last_line)
		abort();
	c->last_line = ev->line;
	same_as_jansson(c, ev);
	char why[SR_REASON_LEN];
	journal_apply(&c->rp, ev, why, sizeof why);
	if (strnlen(why, sizeof why) == sizeof why)
		abort();
	if (ev->type == SR_J_SNAPSHOT) {
		static double ctl[SR_MAX_CELLS];
		journal_snapshot_control(ev, policy, ctl, policy->ncells);
	}
	/* the rollout keeps its invariants whatever the journal says */
	if (ro.phase < -1 || ro.phase >= policy->nphases)
		abort();
}

static void on_issue(void *ud, long line, long long off, const char *msg)
{
	(void)ud;
	if (line < 1 || off < 0 || !msg || strnlen(msg, 1000) == 1000)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	policy = fuzz_policy();
	char path[64], err[200];
	int fd = fuzz_memfd(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	struct ctx c = {.last_line = 0, .data = data, .size = size};
	journal_replay_init(&c.rp, &ro, policy);
	journal_replay(path, on_event, on_issue, &c, err, sizeof err);
	close(fd);

	/* and one line on its own, straight into the parser */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	char *line = malloc(len ? len : 1);
	if (line) {
		memcpy(line, data, len);
		struct sr_jevent ev;
		json_t *o;
		if (journal_parse_line(line, len, &ev, &o, err, sizeof err) == 0)
			json_decref(o);
		free(line);
	}
	return 0;
}
