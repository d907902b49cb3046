/* fuzz_notify_answer.c - libFuzzer target for the webhook's answer.
 *
 * Slack, Mattermost or whatever sits at the URL answers with a status, a
 * reason phrase, a Retry-After and a body; the notifier turns that into
 * a log line and a retry decision (notify_answer). The input gives all
 * four: a 2-byte status, then NUL-separated reason, Retry-After and body
 * (the body in an exact-size buffer plus the NUL http.c guarantees). Besides "no crash":
 * a failure's text is terminated and control-free, and a server's wait is
 * -1 or within the bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/http.h"
#include "shiproom/notify.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	long status = (long)((data[0] << 8 | data[1]) % 1000);
	char *buf = malloc(size - 2 + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	const char *reason = buf;
	size_t used = strlen(reason) + 1;
	const char *retry = used < size - 2 ? buf + used : "";
	used += used < size - 2 ? strlen(retry) + 1 : 0;
	size_t blen = used < size - 2 ? size - 2 - used : 0;
	char *body = malloc(blen + 1); /* exact size: ASan sees an overread */
	if (!body) {
		free(buf);
		return 0;
	}
	memcpy(body, buf + (size - 2 - blen), blen);
	body[blen] = '\0';
	struct sr_http_response res = {
	    .error = status == 0 ? reason : NULL,
	    .status = status,
	    .reason = reason,
	    .content_type = "",
	    .body = body,
	    .len = blen,
	    .retry_after = retry,
	};
	char why[200];
	bool retryable;
	long wait;
	if (notify_answer(&res, 1793000000000LL, why, sizeof why, &retryable, &wait) != 0) {
		fuzz_check_msg(why, sizeof why);
		if (wait < -1 || wait > SR_RETRY_AFTER_MAX_MS)
			abort();
	}
	free(body);
	free(buf);
	return 0;
}
