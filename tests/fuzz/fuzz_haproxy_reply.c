/* fuzz_haproxy_reply.c - libFuzzer target for the HAProxy Runtime API
 * reply parsers (set, get weight, show servers state).
 *
 * The reply comes from a socket we do not control, so every parser must
 * survive any bytes: no crash, no read past len (the input is copied to
 * an exact-size buffer so ASan sees one), and on refusal a terminated,
 * sanitised message (no control bytes reach a terminal or the journal).
 * On success the values must be what the text says: weights within the
 * 6-digit bound the parser promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/haproxy.h"
#include "fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char err[160];

	err[0] = '\0';
	if (haproxy_parse_set_reply(buf, size, err, sizeof err) < 0)
		fuzz_check_msg(err, sizeof err);

	int cur = -1, init = -1;
	err[0] = '\0';
	if (haproxy_parse_weight_reply(buf, size, &cur, &init, err, sizeof err) == 0) {
		if (cur < 0 || cur > 999999 || init < 0 || init > 999999)
			abort();
	} else {
		fuzz_check_msg(err, sizeof err);
	}

	struct haproxy_server_state st;
	err[0] = '\0';
	if (haproxy_parse_servers_state(buf, size, "canary", &st, err, sizeof err) == 0) {
		if (st.uweight < 0 || st.admin_state < 0)
			abort();
		int w = haproxy_effective_weight(st.uweight, st.iweight,
		                                 haproxy_state_in_maint(&st));
		if (w < -1 || w > 100)
			abort();
	} else {
		fuzz_check_msg(err, sizeof err);
	}
	/* a tiny message buffer must still be terminated */
	char small[3];
	if (haproxy_parse_set_reply(buf, size, small, sizeof small) < 0)
		fuzz_check_msg(small, sizeof small);
	free(buf);
	return 0;
}
