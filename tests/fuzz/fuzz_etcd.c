/* fuzz_etcd.c - libFuzzer target for the etcd gateway's answers
 * (etcd_parse_answer, every kind), the strict base64 decoder and the
 * "store" object reader.
 *
 * The answer comes from the network, through whatever proxy sits in
 * front of etcd, so every kind must survive any bytes: no crash, no read
 * past len (the input is copied to an exact-size buffer), on success
 * key-values that are what they say (terminated copies, lengths within
 * the answer), on failure nothing left allocated, succeeded false and a
 * terminated message without control bytes. The decoder accepts exactly
 * one encoding of each byte string: whatever it accepts encodes back to
 * the same text.
 *
 * The first byte picks the kind; the rest is the body.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/common.h"
#include "shiproom/etcd.h"
#include "fuzz_msg.h"

static void check_b64(const char *buf, size_t size)
{
	size_t dl = 0;
	char *d = sr_b64_decode(buf, size, &dl);
	if (d) {
		if (dl > size || d[dl] != '\0')
			abort();
		char *e = sr_b64_encode(d, dl);
		if (!e || strlen(e) != size || memcmp(e, buf, size) != 0)
			abort(); /* accepted a second encoding of the same bytes */
		free(e);
		free(d);
	}
	/* and any bytes survive the round trip */
	char *e = sr_b64_encode(buf, size);
	if (!e)
		return;
	d = sr_b64_decode(e, strlen(e), &dl);
	if (!d || dl != size || memcmp(d, buf, size) != 0)
		abort();
	free(d);
	free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"range", "txn",    "grant",  "keepalive",
	                                    "put",   "delete", "revoke", "auth"};
	if (size == 0)
		return 0;
	const char *kind = kinds[data[0] % 8];
	size--;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);

	struct sr_etcd_kvs r;
	bool ok = true;
	long long num = -1;
	char err[200];
	int rc = etcd_parse_answer(kind, buf, size, &r, &ok, &num, err, sizeof err);
	if (rc == SR_ETCD_OK) {
		if (r.n < 0 || (r.n > 0 && !r.kv))
			abort();
		for (int i = 0; i < r.n; i++) {
			const struct sr_etcd_kv *kv = &r.kv[i];
			if (!kv->key || !kv->value || kv->klen > size || kv->vlen > size ||
			    kv->key[kv->klen] != '\0' || kv->value[kv->vlen] != '\0')
				abort();
		}
		if (strcmp(kind, "txn") != 0 && ok)
			abort(); /* only a txn succeeds */
		etcd_kvs_free(&r);
	} else {
		if (rc != SR_ETCD_UNAVAILABLE && rc != SR_ETCD_REFUSED && rc != SR_ETCD_FULL)
			abort();
		if (r.n != 0 || r.kv || ok)
			abort();
		fuzz_check_msg(err, sizeof err);
	}
	/* no kvs wanted, and a tiny message buffer */
	char small[3];
	if (etcd_parse_answer(kind, buf, size, NULL, NULL, NULL, small, sizeof small) != SR_ETCD_OK)
		fuzz_check_msg(small, sizeof small);

	check_b64(buf, size);

	json_error_t je;
	json_t *o = json_loadb(buf, size, 0, &je);
	if (o) {
		struct sr_etcd_config c;
		if (etcd_config_from_json(&c, o, err, sizeof err) != 0)
			fuzz_check_msg(err, sizeof err);
		else if (c.nendpoints < 1 || c.nendpoints > SR_ETCD_MAX_ENDPOINTS)
			abort();
		json_decref(o);
	}
	free(buf);
	return 0;
}
