/* haproxy.h - the HAProxy edge driver: the Runtime API over libuv streams.
 *
 * One command per connection (the non-interactive Runtime API): connect
 * over a unix or TCP socket, write one line, read until HAProxy closes.
 * A reply is text terminated by a blank line; for `set ...` commands
 * success is the blank line alone and ANY text before it is an error,
 * passed on verbatim but sanitised.
 *
 * Weights are absolute: canary N and stable 100-N, so N is the canary's
 * share in percent. Rollback (drain) also puts the canary in `maint`,
 * because clients holding a sticky cookie keep reaching a weight-0 server;
 * any later set_weight with N > 0 puts it back to `ready`. After every
 * change the driver reads the weights back (`get weight`) and, for a
 * drain, checks the canary's admin state (`show servers state`).
 *
 * HAProxy has no idempotency keys; absolute weights and states make a
 * retried call harmless, so the key is accepted and not sent.
 */
#ifndef SHIPROOM_HAPROXY_H
#define SHIPROOM_HAPROXY_H

#include <jansson.h>
#include <uv.h>

#include "shiproom/edge.h"

#define HAPROXY_SOCKET_LEN 120 /* "unix:" + sun_path (108) fits */
#define HAPROXY_NAME_LEN SR_NAME_LEN
#define HAPROXY_CMD_LEN 256
/* At most this many state-changing commands in one set_weight. */
#define HAPROXY_SET_MAX 4
#define HAPROXY_REPLY_MAX (256u * 1024u) /* a longer reply is an error */
#define HAPROXY_TIMEOUT_DEFAULT_MS 2000

/* result codes passed to sr_edge_cb (0 is success). A transport error
 * (refused, timed out, reset, unreadable reply) may be worth a retry;
 * HAProxy refusing the command is not. */
#define HAPROXY_ERR_REFUSED SR_EDGE_REFUSED     /* HAProxy answered with an error */
#define HAPROXY_ERR_TRANSPORT SR_EDGE_TRANSIENT /* no usable answer */

struct sr_haproxy_config {
	char
	    socket[HAPROXY_SOCKET_LEN]; /* "unix:/run/haproxy/admin.sock" or "tcp:127.0.0.1:9999" */
	char backend[HAPROXY_NAME_LEN];
	char canary_server[HAPROXY_NAME_LEN];
	char stable_server[HAPROXY_NAME_LEN];
	int timeout_ms; /* per command, connect included */
};

/* Read the policy's "edge" object (kind "haproxy"). Keys: kind, socket,
 * backend, canary_server, stable_server (required) and timeout_ms
 * (optional, 50..60000, default 2000). Unknown keys, wrong types, bad
 * socket syntax and names outside [A-Za-z0-9_.:-] (a space, ';' or a
 * newline would smuggle a second command) are errors. Returns 0, or -1
 * with err = "/<key>: message", the JSON pointer relative to the edge
 * object so the policy loader can prefix "/edge" and locate it. */
int haproxy_config_from_json(struct sr_haproxy_config *c, const json_t *edge_obj, char *err,
                             size_t n);

/* Create the driver on `loop`. The config is copied. NULL with err on a
 * bad socket address. destroy() may be called with calls in flight: their
 * callbacks are then never called and the memory is released once libuv
 * has closed the handles (run the loop to let it). */
struct sr_edge *haproxy_edge_create(uv_loop_t *loop, const struct sr_haproxy_config *c, char *err,
                                    size_t n);

/* One raw Runtime API command (tests, diagnostics). cb gets status 0 and
 * the reply bytes (NUL-terminated, len without the NUL), or a
 * HAPROXY_ERR_TRANSPORT status with err set and reply NULL. */
typedef void (*haproxy_cmd_cb)(void *ud, int status, const char *reply, size_t len,
                               const char *err);
/* The state-changing commands a set_weight(weight, drain) sends, in order
 * (stable before canary when lowering, maint before weight 0 in a
 * rollback, state ready when the canary takes traffic). Returns how many. */
int haproxy_set_plan(const struct sr_haproxy_config *c, int weight, bool drain,
                     char lines[HAPROXY_SET_MAX][HAPROXY_CMD_LEN]);
int haproxy_command(struct sr_edge *e, const char *line, haproxy_cmd_cb cb, void *ud);

/* ---- pure reply parsing (unit tests, fuzz target) ---------------------- */

/* A `set ...` reply: 0 when it is only the blank terminator, else -1 with
 * the text before the terminator in err (lines joined by " ", sanitised).
 * A reply with no terminator at all is an error too. */
int haproxy_parse_set_reply(const char *buf, size_t len, char *err, size_t n);

/* A `get weight B/S` reply: "N (initial M)" then the terminator. */
int haproxy_parse_weight_reply(const char *buf, size_t len, int *cur, int *initial, char *err,
                               size_t n);

/* One server's line of `show servers state B` (format version 1, columns
 * located by the header's names). */
struct haproxy_server_state {
	int op_state;    /* srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping */
	int admin_state; /* srv_admin_state bit field */
	int uweight;     /* srv_uweight: the current user weight */
	int iweight;     /* srv_iweight: the configured weight */
};
/* Any maintenance bit (forced, inherited, resolver) set. */
bool haproxy_state_in_maint(const struct haproxy_server_state *st);
int haproxy_parse_servers_state(const char *buf, size_t len, const char *server,
                                struct haproxy_server_state *st, char *err, size_t n);

/* The canary's share of traffic in percent from the two weights and its
 * admin state: 0 in maint, round(100 * c / (c + s)) otherwise; -1 when
 * both weights are 0 (the backend sends nothing anywhere). */
int haproxy_effective_weight(int canary, int stable, bool canary_maint);

#endif
