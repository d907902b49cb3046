/* fuzz_wire.c - libFuzzer target for what crosses the service's socket.
 *
 * Both directions are outside input: a client may send anything to the
 * service, and a console must survive whatever comes back (another
 * build, a bug, a hostile process listening on the socket path). The
 * input is a byte stream fed to the frame reader in chunks of varying
 * size, as reads deliver it; every message that comes out is applied to
 * a mirror under the shipped policy as a state (core, history, log).
 * Besides "no crash, no leak": the reader never holds more than its
 * limit, a refused core leaves the mirror's decision as it was, and
 * every string in the mirror stays terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/mirror.h"
#include "shiproom/wire.h"

static struct sr_policy *policy;
static struct sr_runner *mirror;

struct ctx {
	int messages;
};

static int on_msg(void *ud, json_t *m)
{
	struct ctx *c = ud;
	char err[256];
	c->messages++;
	struct sr_decision before = mirror->engine.decision;
	if (mirror_apply_core(mirror, json_object_get(m, "core"), err, sizeof err) != 0) {
		if (memcmp(&before, &mirror->engine.decision, sizeof before) != 0)
			abort(); /* a refused state changed the mirror */
		if (strnlen(err, sizeof err) == sizeof err)
			abort();
	}
	mirror_apply_history(mirror, json_object_get(m, "history"), err, sizeof err);
	mirror_apply_log(mirror, json_object_get(m, "log"), err, sizeof err);
	for (int i = 0; i < policy->ncells; i++)
		if (strnlen(mirror->engine.cells[i].reason_text, SR_REASON_LEN) == SR_REASON_LEN)
			abort();
	return c->messages > 64; /* enough for one input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!policy) {
		struct sr_policy_error err;
		policy = calloc(1, sizeof *policy);
		mirror = calloc(1, sizeof *mirror);
		if (!policy || !mirror ||
		    policy_load_file(policy, SR_DATADIR "/config/shiproom.json", &err) < 0)
			abort();
	}
	runner_init(mirror, policy, NULL, NULL, NULL, true, "fuzz");
	struct sr_wire_reader rd;
	wire_reader_init(&rd, 1u << 20);
	struct ctx c = {0};
	char err[256];
	size_t off = 0, step = size ? (size_t)data[0] % 7 + 1 : 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (wire_reader_drain(&rd, (const char *)data + off, n, on_msg, &c, err,
		                      sizeof err) < 0)
			break;
		if (rd.len > rd.max + 4 + 65536)
			abort();
		off += n;
		step = step * 3 % 61 + 1;
	}
	wire_reader_free(&rd);
	runner_close(mirror);
	return 0;
}
