/* wire.h - the service's protocol on the wire: length-prefixed JSON.
 *
 * A message is a 4-byte big-endian length, then that many bytes of one
 * UTF-8 JSON object with a string member "type". Version 1's types (the
 * man page, shiproom(1) PROTOCOL, is the reference a script can use):
 *
 *   client -> service
 *     hello    {"type":"hello","version":1,"read_only":bool,"ssh":"...",
 *               "purpose":"console|status|act|watch|report|stop"}
 *     request  {"type":"request","id":N,"action":"promote","weight":N,
 *               "gate":N,"reason":"...","checklist":"...","item":"..."}
 *     stop     {"type":"stop"}
 *   service -> client
 *     welcome  {"type":"welcome","version":1,"login","role","read_only",
 *               "policy":"<the policy file's text>","drill":[logins],
 *               "scenario":{"name","seed"}|null,"speed","service":{...}}
 *     state    {"type":"state","gen":N,"core":{...},"history":{...},
 *               "log":{...},"who":[...],"clock":{...},"anomaly":...}
 *     result   {"type":"result","id":N,"outcome":"done|refused|failed",
 *               "message":"...","weight":N}
 *     error    {"type":"error","reason":"..."}   (then the service closes)
 *
 * The identity of a client is never in a message: the service takes it
 * from the kernel (SO_PEERCRED).
 */
#ifndef SHIPROOM_WIRE_H
#define SHIPROOM_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Within a version, state members are only added, never changed: an
 * older client ignores the new ones, and a newer client reads a member
 * added later as absent = none (mirror.c: ADDED), so consoles keep
 * attaching to a day's service across an upgrade of the binary. */
#define SR_WIRE_VERSION 2

/* A client hears from its service at least this often: when nothing
 * changed, the service sends its state again (with the clock). A client
 * that has heard nothing for SR_WIRE_SILENT_MS knows the service is
 * paused, overloaded or cut off, while its socket stays open: its
 * numbers are old, and it says so rather than show them as live. */
#define SR_WIRE_BEAT_MS 2000
#define SR_WIRE_SILENT_MS 6000
/* The largest message either side accepts. The first state of a big
 * policy carries hours of history: 64 MiB is far above any real one and
 * far below what would hurt. */
#define SR_WIRE_MAX (64u << 20)

/* Bytes in, messages out: feed what a read gave, take whole messages. */
struct sr_wire_reader {
	char *buf;
	size_t len, cap;
	size_t max; /* SR_WIRE_MAX unless set lower (a client's requests) */
	bool big;   /* the last message was big (over SR_WIRE_BIG) */
};

/* A message this big (a console's first state: hours of history) leaves
 * megabytes of freed JSON behind: wire_reader_drain hands them back. */
#define SR_WIRE_BIG (256u << 10)

void wire_reader_init(struct sr_wire_reader *rd, size_t max);
void wire_reader_free(struct sr_wire_reader *rd);
/* Append bytes; -1 when the buffer cannot grow. */
int wire_reader_feed(struct sr_wire_reader *rd, const char *data, size_t n);
/* 1 with *msg (an object with a string "type"; the caller decrefs),
 * 0 when a whole message is not yet in, -1 with err on garbage: a length
 * over the limit, JSON that does not parse, not an object, no type. After
 * -1 the stream is beyond repair: close it. */
int wire_reader_next(struct sr_wire_reader *rd, json_t **msg, char *err, size_t n);
/* Feed what a read gave and hand each whole message to on_msg (which
 * must not keep it: it is freed after). on_msg returns non-zero to stop
 * (the peer is gone). 0; -1 with err on garbage or a message too large:
 * the stream is beyond repair. */
int wire_reader_drain(struct sr_wire_reader *rd, const char *data, size_t n,
                      int (*on_msg)(void *ud, json_t *m), void *ud, char *err, size_t en);
/* One frame (length + compact JSON), malloc'd; *len its size. NULL when
 * out of memory or over SR_WIRE_MAX. */
char *wire_frame(const json_t *msg, size_t *len);
/* The frame of a message given as text already (state broadcasts
 * encode their shared part once). */
char *wire_frame_text(const char *json, size_t jlen, size_t *len);
/* The message's type, "" when none. */
const char *wire_type(const json_t *msg);

/* An action request's fields as the protocol carries them (action,
 * weight, gate, reason, checklist, item, report, index): a new object for
 * a client's request and a standby's forward (bastion.h) alike. */
struct sr_action_request;
json_t *wire_request_json(const struct sr_action_request *req);
/* Those fields back, bounded and sanitised (kind and actor are the
 * caller's: the action's name is looked up, the actor is the kernel's). */
void wire_request_read(const json_t *m, struct sr_action_request *req);

#endif
