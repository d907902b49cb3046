/* etcd.h - a small client of etcd v3's JSON gateway (etcd 3.4).
 *
 * What the journal's etcd store (store.h) and the leadership of the
 * rollout's service need from etcd, and nothing more: range, put, delete,
 * txn, and leases, spoken as JSON over HTTP(S) with libcurl (the gRPC
 * gateway: /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn,
 * /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
 * /v3/auth/authenticate). Keys and values travel base64-encoded and
 * 64-bit numbers as strings; a field at its zero value is left out of an
 * answer (a failed txn has no "succeeded").
 *
 * Synchronous and bounded. Each call blocks for at most the configured
 * timeout per endpoint tried (a connect timeout a third of it), so a
 * dead member costs a refused connection and a paused one a timeout; the
 * endpoint that answered last is tried first next time. A journal append
 * must be durable before the call returns, exactly like the state dir's
 * fsync, which is why this is not asynchronous. Callers on the libuv loop
 * keep calls rare (one per journal record, a keepalive per third of the
 * lease) and stop calling while the store is unavailable (store.h backs
 * off).
 *
 * Errors. Every call returns SR_ETCD_OK, SR_ETCD_UNAVAILABLE (no endpoint
 * answered, or the cluster answered that it has no leader or quorum: try
 * again later) or SR_ETCD_REFUSED (an answer that will not change by
 * retrying: authentication, permission, a malformed request, a lease not
 * found), with err saying what and where, sanitised and scrubbed of
 * secrets. A txn whose compares failed is SR_ETCD_OK with
 * *succeeded = false.
 *
 * Secrets: the password comes from a 0600 file (secret.h) or the
 * environment variable SHIPROOM_ETCD_PASSWORD, never from argv; the auth
 * token it buys is kept in memory only and registered with the scrubber.
 * TLS verification is always on (ca_file, or the system store).
 */
#ifndef SHIPROOM_ETCD_H
#define SHIPROOM_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SR_ETCD_MAX_ENDPOINTS 8
#define SR_ETCD_URL_LEN 256
#define SR_ETCD_PREFIX_LEN 200
#define SR_ETCD_PATH_LEN 512

/* The policy's "store" object when its kind is "etcd":
 *   {"kind": "etcd", "endpoints": ["http://127.0.0.1:2379", ...],
 *    "prefix": "/shiproom/checkout-v2"   (default "/shiproom/<rollout>"),
 *    "ca_file", "cert_file", "key_file"  (PEM paths; https endpoints),
 *    "username", "password_file"         (or SHIPROOM_ETCD_PASSWORD),
 *    "timeout_ms"                        (per request and endpoint; default 1000),
 *    "lease_ttl_s"                       (the leader's lease; default 5, 2..60)} */
struct sr_etcd_config {
	int nendpoints;
	char endpoints[SR_ETCD_MAX_ENDPOINTS][SR_ETCD_URL_LEN];
	char prefix[SR_ETCD_PREFIX_LEN]; /* "" = the loader fills "/shiproom/<rollout>" */
	char ca_file[SR_ETCD_PATH_LEN];
	char cert_file[SR_ETCD_PATH_LEN];
	char key_file[SR_ETCD_PATH_LEN];
	char username[64];
	char password_file[SR_ETCD_PATH_LEN];
	int timeout_ms;
	int lease_ttl_s;
};

void etcd_config_defaults(struct sr_etcd_config *c);
/* Fill c from the "store" object on top of the defaults. Unknown keys
 * and bad values are errors naming the key ("store.endpoints[1]: ...").
 * Reads no file and no environment: etcd_open() does. 0 or -1 with err. */
int etcd_config_from_json(struct sr_etcd_config *c, const json_t *store_obj, char *err, size_t n);

enum sr_etcd_rc {
	SR_ETCD_OK = 0,
	SR_ETCD_UNAVAILABLE = -1,
	SR_ETCD_REFUSED = -2,
	/* The cluster's space quota is spent (the NOSPACE alarm, gRPC 8
	 * ResourceExhausted): it answers reads and deletes, and refuses every
	 * write until an operator compacts, defragments and disarms it. */
	SR_ETCD_FULL = -3,
};

struct sr_etcd;

/* Reads the password (file or environment) and authenticates when a
 * username is set; contacts no member otherwise (the first call does).
 * NULL with err on a configuration fault (a password file's mode, a
 * missing CA file). */
struct sr_etcd *etcd_open(const struct sr_etcd_config *c, char *err, size_t n);
void etcd_close(struct sr_etcd *e);
/* The endpoint that answered last ("" before any answer), for the header. */
const char *etcd_endpoint(const struct sr_etcd *e);

/* One key-value as the cluster holds it. key and value are NUL-terminated
 * copies (value may also hold NULs: use vlen). */
struct sr_etcd_kv {
	char *key;
	size_t klen;
	char *value;
	size_t vlen;
	long long create_revision;
	long long mod_revision;
	long long version;
	long long lease;
};

struct sr_etcd_kvs {
	int n;
	struct sr_etcd_kv *kv;
	bool more;          /* a limit cut the answer */
	long long revision; /* the store's revision when it answered */
};
void etcd_kvs_free(struct sr_etcd_kvs *r);

/* Range [key, range_end) in key order; range_end NULL: the one key;
 * range_end "" (empty): every key from key on (etcd's "\0"). limit 0: no
 * limit. */
int etcd_range(struct sr_etcd *e, const char *key, const char *range_end, long long limit,
               struct sr_etcd_kvs *out, char *err, size_t n);
/* The last key of [key, range_end) (sort by key, descending, limit 1):
 * out->n is 0 or 1. */
int etcd_range_last(struct sr_etcd *e, const char *key, const char *range_end,
                    struct sr_etcd_kvs *out, char *err, size_t n);
/* The end of the prefix range of p (p with its last byte + 1), into out. */
void etcd_prefix_end(const char *p, char *out, size_t n);

int etcd_put(struct sr_etcd *e, const char *key, const char *value, size_t vlen, long long lease,
             char *err, size_t n);
int etcd_delete(struct sr_etcd *e, const char *key, const char *range_end, char *err, size_t n);

/* A txn: if every compare holds, the success ops, else the failure ops. */
enum sr_etcd_target {
	SR_ETCD_CMP_CREATE, /* create_revision (0: the key does not exist) */
	SR_ETCD_CMP_MOD,    /* mod_revision */
	SR_ETCD_CMP_VERSION,
	SR_ETCD_CMP_VALUE,
	SR_ETCD_CMP_LEASE,
};
enum sr_etcd_result { SR_ETCD_EQ, SR_ETCD_NE, SR_ETCD_GT, SR_ETCD_LT };
struct sr_etcd_cmp {
	const char *key;
	enum sr_etcd_target target;
	enum sr_etcd_result result;
	long long num;     /* create/mod/version/lease */
	const char *value; /* SR_ETCD_CMP_VALUE */
	size_t vlen;
};
enum sr_etcd_opkind { SR_ETCD_OP_PUT, SR_ETCD_OP_DELETE, SR_ETCD_OP_RANGE };
struct sr_etcd_op {
	enum sr_etcd_opkind kind;
	const char *key;
	const char *range_end; /* delete/range, as etcd_range */
	const char *value;     /* put */
	size_t vlen;
	long long lease; /* put; 0: none */
	long long limit; /* range */
};
/* *succeeded says which branch ran. When the branch taken has range ops,
 * out (may be NULL) gets the key-values of all of them, in op order.
 * *revision (may be NULL) gets the store's revision after the txn. */
int etcd_txn(struct sr_etcd *e, const struct sr_etcd_cmp *cmp, int ncmp,
             const struct sr_etcd_op *success, int nsuccess, const struct sr_etcd_op *failure,
             int nfailure, bool *succeeded, struct sr_etcd_kvs *out, long long *revision, char *err,
             size_t n);

/* Leases. keepalive's *ttl_left is 0 when the lease no longer exists
 * (expired or revoked): whoever held keys under it has lost them. */
int etcd_lease_grant(struct sr_etcd *e, int ttl_s, long long *id, char *err, size_t n);
int etcd_lease_keepalive(struct sr_etcd *e, long long id, int *ttl_left, char *err, size_t n);
int etcd_lease_revoke(struct sr_etcd *e, long long id, char *err, size_t n);

/* Parse one gateway answer body (pure: the fuzz target's entry). kind:
 * "range", "txn", "grant", "keepalive", "put", "delete", "revoke",
 * "auth". Fills what applies; an {"error"/"code"/"message"} body is
 * SR_ETCD_UNAVAILABLE for codes meaning "try again" (Unavailable 14,
 * DeadlineExceeded 4, "etcdserver: no leader", "too many requests") and
 * SR_ETCD_REFUSED otherwise, with the message in err (sanitised). *num
 * gets the header's revision for range, put, txn and revoke, the lease
 * ID for grant, the TTL left for keepalive (0: gone) and the count
 * deleted for delete. kvs (may be NULL) is overwritten, not freed: on
 * failure it is left empty and *succeeded false. */
int etcd_parse_answer(const char *kind, const char *body, size_t len, struct sr_etcd_kvs *kvs,
                      bool *succeeded, long long *num, char *err, size_t n);

#endif
