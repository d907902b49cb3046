/* service.h - the rollout service: one process owns the truth, every
 * terminal is a view attached to it (tmux's server and clients).
 *
 * service_run() takes an open session (policy, source, edge, journal,
 * workflow) and runs it on the loop until it is stopped: the cron
 * (session_cron: poll, evaluate, guard, due reports, #ship-room posts)
 * on its timer, and a unix socket where consoles, `status`, `act`,
 * `watch`, `report` and `stop` attach (wire.h is the protocol).
 *
 * Who may do what is decided here, once, from the kernel: SO_PEERCRED
 * gives the peer's uid, the uid its login, the login its roster role.
 * A roster member attaches with their role; an observer (the roster's
 * observers, service.observers, members of service.observer_group)
 * read-only; anyone else is refused at connect. A request is checked
 * against that identity, never against what the client says it is.
 *
 * A slow or stopped client never slows the service or the others: each
 * has at most one state message in flight, and a new state replaces what
 * it has not yet been sent (the history and log it missed are sent with
 * the next one). A client that sends garbage is told why and dropped.
 */
#ifndef SHIPROOM_SERVICE_H
#define SHIPROOM_SERVICE_H

#include "shiproom/clock.h"
#include "shiproom/session.h"

struct sr_service_opts {
	const char *socket;     /* its path (service_socket_path) */
	bool exit_with_last;    /* a drill's service: end with its last console */
	double speed;           /* the simulator's virtual time speed (1: real) */
	int ready_fd;           /* >= 0: write "ready\n" once listening, then close
	                           (serve --detach tells its parent) */
	const char *detach_log; /* detached: stdin, stdout and stderr go here once
	                           ready (NULL: /dev/null) */
	FILE *log_out;          /* the event log as it grows (foreground: stdout) */
};

/* The socket of a rollout: --socket, else the policy's service.socket,
 * else $SHIPROOM_RUNTIME_DIR, $XDG_RUNTIME_DIR/shiproom or
 * /tmp/shiproom-UID, then "<rollout>.sock" (a simulator's:
 * "<rollout>-sim-<scenario>.sock", so a drill on the shipped policy never
 * meets a real rollout's service). 0, or -1 when it does not fit. */
int service_socket_path(const struct sr_policy *p, const char *scenario, const char *given,
                        char *out, size_t n);
/* Create the socket's directory when it is ours to create (the per-user
 * default: mode 0700). 0, or -1 with err. */
int service_socket_dir(const char *path, char *err, size_t n);

/* Run the service until `shiproom stop`, SIGTERM/SIGINT, or (with
 * exit_with_last) its last console going. The exit status. */
int service_run(struct sr_session *s, const struct sr_service_opts *o);

/* The command line, kept for service_reexec (main calls it first). */
void service_keep_argv(int argc, char **argv);
/* Start this service again in this process (same pid, same command line
 * without --detach: it is detached already): the way to read a rollout
 * again from the store when the local copy no longer matches it.
 * Returns only if exec failed. */
void service_reexec(void);

#endif
