/* client.h - a connection to the rollout's service, and the mirror it fills.
 *
 * The console, and `status`, `act`, `watch`, `report` and `stop` when a
 * service runs, are clients: they connect to the service's socket, say
 * hello, and get a welcome (who the kernel says they are, their role,
 * the policy's text) and then the state, again whenever it changes. The
 * state goes into `mirror`, a runner with no source, edge or journal, so
 * every view and report reads it exactly as it reads a local runner.
 *
 * Requests (actions) are sent with client_request(); their result comes
 * back asynchronously (result_seq moves on, `result` holds it).
 */
#ifndef SHIPROOM_CLIENT_H
#define SHIPROOM_CLIENT_H

#include <jansson.h>

#include "shiproom/action.h"
#include "shiproom/clock.h"
#include "shiproom/runner.h"
#include "shiproom/scenario.h"
#include "shiproom/wire.h"

struct uv_loop_s;

#define SR_CLIENT_MAX_WHO 64

/* One attached client as the service lists it (the "who" view). */
struct sr_who {
	long id;
	char login[SR_NAME_LEN];
	char role[SR_NAME_LEN];
	char purpose[16];
	char ssh[64];
	bool read_only;
	bool acting;
	sr_ms since; /* real ms */
};

/* The ship-room workflow as the service runs it: the reports it wrote
 * into its state dir and its webhook (views 6 and the main strip). */
struct sr_workflow_status {
	bool reporting; /* due reports are written into state_dir */
	int written;
	char last_path[640];
	bool postmortem_done;
	char state_dir[512];
	bool webhook; /* a webhook is configured */
	char webhook_text[SR_TEXT_LEN];
	bool failing;
	long posted;
	int consecutive_failures;
	sr_ms last_ok_at;
	char last_error[SR_REASON_LEN];
};

struct sr_client;

const struct sr_workflow_status *client_workflow(const struct sr_client *c);
/* When the service polls ("aligned 15s", "fast 2s (1 KPI)"; "" on the
 * simulator): runner_poll_mode of the service's runner, brief. */
const char *client_poll_mode(const struct sr_client *c);
/* With the journal in etcd: which bastion leads ("leader host pid 12",
 * "standby; leader host pid 9", "store unavailable (HOLD)"); "" else. */
const char *client_bastion(const struct sr_client *c);

struct sr_client *client_create(struct uv_loop_s *loop);
void client_destroy(struct sr_client *c);

/* Connect to the socket and say hello; run the loop until the welcome
 * and the first state are in (or `timeout_ms`). purpose: "console",
 * "status", "act", "watch", "report", "stop". 0; -1 with err when nothing
 * listens there (ENOENT/ECONNREFUSED: *absent set true) or the service
 * refused (its reason in err). */
int client_connect(struct sr_client *c, const char *socket, const char *purpose, bool read_only,
                   sr_ms timeout_ms, bool *absent, char *err, size_t n);

/* The connection was lost (the service died: kill -9, a crash), as
 * opposed to ended by the service with a reason (stop, a refusal). */
bool client_lost(const struct sr_client *c);
/* How long the service has said nothing (0 before the welcome; a lost
 * connection goes on counting from its last word). It speaks at least every
 * SR_WIRE_BEAT_MS: past SR_WIRE_SILENT_MS it is paused (SIGSTOP, a
 * debugger), stuck or cut off, and what the mirror holds is old. */
sr_ms client_silent_ms(const struct sr_client *c);
/* While a connect waits for the service's first answer, fn(ud, socket)
 * is called once SR_WIRE_SILENT_MS have passed without it (the kernel took
 * the connection; the process has not answered: stopped or stuck), and
 * the wait goes on to its timeout on the same connection. NULL: nothing. */
void client_on_slow_answer(struct sr_client *c, void (*fn)(void *ud, const char *socket), void *ud);
/* Connect again to the same socket (a restarted service): the same
 * mirror, filled anew by the new service's first state. 0, or -1 (with
 * *absent when nothing listens there). */
int client_reconnect(struct sr_client *c, sr_ms timeout_ms, bool *absent, char *err, size_t n);

/* Send an action (the actor is whoever the kernel says we are). Returns
 * the request id, -1 when the connection is gone. */
long client_request(struct sr_client *c, const struct sr_action_request *req);
/* `shiproom stop`. */
int client_send_stop(struct sr_client *c);
/* Leaving on purpose (q): the service journals "quit", not "lost". */
void client_bye(struct sr_client *c);
/* Run the loop until the result of request `id` is in, the connection
 * ends, or timeout_ms passes. True when it is in. */
bool client_wait_result(struct sr_client *c, long id, sr_ms timeout_ms);
/* Run the loop until a state newer than `gen` is in (or timeout). */
bool client_wait_state(struct sr_client *c, unsigned long gen, sr_ms timeout_ms);

/* What the client knows. */
struct sr_runner *client_mirror(struct sr_client *c);
struct sr_clock *client_clock(struct sr_client *c); /* the service's clock, mirrored */
const char *client_login(const struct sr_client *c);
const char *client_role(const struct sr_client *c);
bool client_read_only(const struct sr_client *c);
bool client_real(const struct sr_client *c); /* a real rollout, not a drill */
bool client_exit_with_last(const struct sr_client *c);
long client_service_pid(const struct sr_client *c);
const char *client_socket(const struct sr_client *c);
unsigned long client_gen(const struct sr_client *c);
unsigned long client_alarms(const struct sr_client *c); /* triggers started firing */
/* The connection ended: why (the service's reason or "connection lost"). */
const char *client_closed(const struct sr_client *c);
int client_who(const struct sr_client *c, const struct sr_who **who);

/* The last result: result_seq counts results received; *kind its
 * action (SR_ACT_COUNT when the service named none it knows). */
int client_result_seq(const struct sr_client *c);
const struct sr_action_result *client_result(const struct sr_client *c, enum sr_action_kind *kind);

#endif
