/* notify.h - updates to #ship-room through a Slack-compatible incoming
 * webhook (Mattermost renders the same payload).
 *
 * What is posted, and when (all times are the runner's clock, virtual
 * under the simulator; the notifier has no clock of its own):
 *
 *   update   every policy.phases[].cadence_min minutes of a phase, counted
 *            from when the phase was entered (15 at 5% and 25%, 30 at 50%).
 *            None in pre-flight, after a rollback or after success.
 *   anomaly  at once, at the tick it is seen: a rollback trigger starts
 *            FIRING, a KPI cell turns RED, an action FAILED. The same
 *            trigger firing again, or the same cell turning RED again,
 *            within the cadence window of the current phase (15 min at
 *            5%; the policy's smallest cadence in pre-flight) is not
 *            posted again (counted as deduplicated).
 *   action   at once: a promotion (with the phase summary card of the
 *            phase left behind), a rollback (with the postmortem
 *            deadline), a hold, a resume, a gate approval, a tie-break,
 *            success. Checklist ticks are bookkeeping and are not posted.
 *   gate     once per gate, when its observation window elapses: the gate
 *            decision (GO / NO-GO / ROLLBACK) and who must still approve.
 *   manual   notify_post_now(), e.g. from a "post an update now" key.
 * The anomalies and actions seen in one tick go out as one post.
 *
 * The payload: {"text": "...", "attachments": [{"fallback", "color",
 * "title", "text", "fields": [{"title", "value", "short"}], "footer",
 * "ts"}], "username"}. "text" is always there (a client that ignores attachments
 * still says everything that matters); attachments[0].footer is
 * "shiproom <kind>" (update, anomaly, action, gate, manual); color is
 * green for GO, amber for NO-GO, red for ROLLBACK and anomalies. Text from
 * outside (reasons, error texts, actor names) is sanitised, then &, < and
 * > are written as entities (Slack's rule, which also defeats <!channel>
 * and links), and an @ that starts a word gets a zero-width joiner after
 * it so "@channel" in a label value cannot page anyone; jansson escapes
 * for JSON.
 *
 * Delivery never blocks: posts queue (bounded; the oldest waiting update
 * is dropped first when full) and go out one at a time, in order, through
 * the libuv/libcurl client (http.h). A failure (transport error, timeout,
 * HTTP 5xx or 429) is retried with exponential backoff on a uv timer, up
 * to max_attempts; other 4xx answers are not retried (the payload or the
 * URL is wrong). Failures go to the runner's log (the console's log view)
 * and into notify_status() for a status line; nothing waits for them.
 *
 * The webhook URL is a secret: it comes from a file of mode 0600 owned by
 * the user, or from the environment (SHIPROOM_WEBHOOK_URL), never from
 * argv; it is never printed, logged or journaled (error texts are
 * scrubbed of it).
 */
#ifndef SHIPROOM_NOTIFY_H
#define SHIPROOM_NOTIFY_H

#include <uv.h>

#include "shiproom/http.h"
#include "shiproom/runner.h"

#define SR_NOTIFY_ENV "SHIPROOM_WEBHOOK_URL"
#define SR_NOTIFY_URL_MAX 2048
#define SR_NOTIFY_QUEUE 32

enum sr_notify_kind {
	SR_NOTIFY_UPDATE,
	SR_NOTIFY_ANOMALY,
	SR_NOTIFY_ACTION,
	SR_NOTIFY_GATE,
	SR_NOTIFY_MANUAL,
	SR_NOTIFY_KIND_COUNT
};
const char *notify_kind_name(enum sr_notify_kind k); /* "update", "anomaly", ... */

struct sr_notify_options {
	int max_attempts;     /* tries per post, first included (default 5) */
	long backoff_ms;      /* wait before the 2nd try, doubling (default 2000) */
	long backoff_max_ms;  /* cap of the wait (default 60000) */
	long timeout_ms;      /* one request (default 10000) */
	const char *username; /* shown by Mattermost/legacy Slack (default "shiproom") */
};

/* What the console shows about the webhook. */
struct sr_notify_status {
	long posted;                        /* delivered (2xx) */
	long failed;                        /* given up after their attempts */
	long retries;                       /* attempts beyond the first */
	long dropped;                       /* dropped from a full queue */
	long deduped;                       /* anomalies not re-posted */
	long by_kind[SR_NOTIFY_KIND_COUNT]; /* queued, per kind */
	int queued;                         /* waiting, the one in flight included */
	bool in_flight;
	bool failing; /* the last attempt failed; cleared by a success */
	int consecutive_failures;
	sr_ms last_ok_at;               /* runner time of the last delivery (0: none) */
	char last_error[SR_REASON_LEN]; /* scrubbed of the URL */
};

struct sr_notify;

/* Read the URL from a file: it must be a regular file owned by the
 * effective user with no group/other permission bits (0600 or 0400). The
 * first line, trimmed, must be an http:// or https:// URL. Errors never
 * contain the file's content. 0 or -1 with err. */
int notify_url_from_file(const char *path, char *url, size_t n, char *err, size_t en);
/* From the environment (SR_NOTIFY_ENV when var is NULL). 0, or -1 with
 * err when unset or not a URL. */
int notify_url_from_env(const char *var, char *url, size_t n, char *err, size_t en);

/* A notifier posting to `url` (copied) through `http` (borrowed: the
 * console's client; it must outlive the notifier). opt may be NULL for the
 * defaults. NULL with err when the URL is not http(s) or on no memory. */
struct sr_notify *notify_create(uv_loop_t *loop, struct sr_http *http, const char *url,
                                const struct sr_notify_options *opt, char *err, size_t n);
/* Cancel what is in flight, drop the queue, close the timer; the memory is
 * freed when the loop has run once more (uv_close). */
void notify_destroy(struct sr_notify *n);

/* Call after every runner_tick(): posts what is due at `now` (queued; the
 * loop delivers). Cheap and never blocks. The runner is remembered for
 * logging delivery failures from the loop's callbacks: it must outlive the
 * notifier. */
void notify_tick(struct sr_notify *n, struct sr_runner *r, sr_ms now);
/* Post the current state at once (kind manual). */
void notify_post_now(struct sr_notify *n, struct sr_runner *r, sr_ms now);

const struct sr_notify_status *notify_status(const struct sr_notify *n);
/* One line for the console: "webhook: ok, 12 posted" / "webhook: FAILING
 * (HTTP 500 Internal Server Error), 3 queued, retrying". */
void notify_status_text(const struct sr_notify *n, char *buf, size_t len);

/* Called (if set) when a post is delivered or given up, e.g. to journal
 * failures. `error` is NULL on delivery and never contains the URL. */
typedef void (*sr_notify_event_cb)(void *ud, enum sr_notify_kind kind, bool delivered, int attempts,
                                   const char *error);
void notify_set_event_cb(struct sr_notify *n, sr_notify_event_cb cb, void *ud);

/* The payload for the runner's state (malloc'd JSON, free() it): what
 * notify_tick would post with this kind, headline and lines (username
 * "shiproom"). For tests and a dry run. */
char *notify_payload(const struct sr_runner *r, enum sr_notify_kind kind, const char *headline,
                     const char *const *lines, int nlines, sr_ms now);

/* How the webhook answered (bytes from outside): 0 when delivered (2xx);
 * else -1 with why (the transport error or "HTTP 404 Not Found: <body
 * start>", sanitised, not yet scrubbed of the URL), whether a retry can
 * help (a transport error, 5xx, 429), and the server's Retry-After in ms
 * (bounded) or -1. */
struct sr_http_response;
int notify_answer(const struct sr_http_response *res, long long now_ms, char *why, size_t n,
                  bool *retryable, long *server_wait_ms);

/* Escape text for a Slack/Mattermost message (see above). Returns the
 * length needed, like snprintf. */
size_t notify_escape(char *dst, size_t n, const char *src);

#endif
