/* secret.h - reading secrets, and keeping them out of every text we show.
 *
 * One reader for every secret file (the Prometheus bearer token, the HTTP
 * edge's token, the webhook URL): a regular file owned by the user and
 * readable by no one else, one line of text. Its errors name the file and
 * never the contents, and are configuration errors (exit 2) wherever they
 * come from.
 *
 * One scrubber for every text that comes from outside (a source's error
 * body, an edge's answer, a webhook's reply, a transport error naming a
 * URL): every secret loaded is registered here once (secret_register,
 * secret_register_url) and every such text passes through secret_scrub()
 * before it reaches a terminal, a report, the journal or a post. A proxy
 * that echoes the Authorization header then shows "[redacted]".
 *
 * Process-wide state, single-threaded like the libuv loop it serves.
 */
#ifndef SHIPROOM_SECRET_H
#define SHIPROOM_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SR_SECRET_MAX 16 /* distinct secrets remembered */
#define SR_SECRET_REDACTED "[redacted]"

/* Read the secret file `path` (what: "bearer_token_file", "token file",
 * "webhook file"...) into out: a regular file, owned by the effective
 * user, mode 0600 or stricter, one line (surrounding whitespace trimmed),
 * shorter than n. Returns 0, or -1 with err naming the file and the
 * fault (never its contents). The secret is registered for scrubbing. */
int secret_read_file(const char *path, const char *what, char *out, size_t n, char *err, size_t en);

/* Remember a secret for secret_scrub (copied; shorter than 4 bytes or
 * already known: ignored). */
void secret_register(const char *secret);

/* Remember a URL that is a credential (the webhook) and its parts that
 * are secret on their own: the path, the query, the userinfo's user and
 * password. Parsed with libcurl's URL API, as libcurl will use it.
 * Returns false when it is not an absolute http(s) URL (nothing kept). */
bool secret_register_url(const char *url);

/* Replace, in buf (NUL-terminated, capacity n), every registered secret
 * with "[redacted]", and a tail that is the start of one (text cut in the
 * middle of a secret). Returns how many replacements were made. */
int secret_scrub(char *buf, size_t n);

/* A copy of mem[0..len) with every registered secret replaced, for a raw
 * body before it is parsed and cut; NULL when there was nothing to
 * replace (use mem as it is). *out_len gets the copy's length. */
char *secret_scrub_dup(const char *mem, size_t len, size_t *out_len);

/* Did loading a secret fail since the last call (a file's mode, owner or
 * content, an environment variable unset)? Clears the mark. A caller that
 * gets only a message from a driver's create maps it with this to the one
 * exit status of a secret's fault: 2, a configuration error. */
bool secret_load_failed(void);
/* Set that mark (a driver whose secret variable is unset). */
void secret_mark_failed(void);

/* Forget one secret that is dead (an auth token replaced by a new one),
 * so that a client renewing its token does not push the others out of
 * the SR_SECRET_MAX kept. Unknown: nothing happens. */
void secret_forget(const char *secret);

/* Forget every secret (tests; wiped from memory). */
void secret_forget_all(void);

#endif
