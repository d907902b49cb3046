/* http_edge.h - the HTTP edge: a templated REST call for in-house edges
 * and vendor APIs (Cloudflare pools, Consul service-splitter, Gateway API
 * HTTPRoute, Envoy runtime).
 *
 * The policy's edge object (kind "http"):
 *
 *   "edge": {
 *     "kind": "http",
 *     "get":  {"method": "GET", "url": "https://edge/api/routes/checkout",
 *              "headers": {"Authorization": "Bearer {{token}}"},
 *              "weight_pointer": "/spec/canary/weight", "weight_scale": 1},
 *     "set":  {"method": "PUT", "url": "https://edge/api/routes/checkout",
 *              "headers": {"Authorization": "Bearer {{token}}",
 *                          "Idempotency-Key": "{{idempotency_key}}"},
 *              "body": {"canary": "{{weight}}", "stable": "{{stable_weight}}",
 *                       "note": "{{phase}} by {{actor}}: {{reason}}",
 *                       "version": "{{resource_version}}"}},
 *     "captures": {"resource_version": "/metadata/resourceVersion"},
 *     "token_file": "/etc/shiproom/edge.token",   (or "token_env": "EDGE_TOKEN")
 *     "ca_file": "/etc/ssl/internal-ca.pem",
 *     "timeout_ms": 5000
 *   }
 *
 * set_weight: when there are captures, a GET first, whose answer gives
 * each capture's value at its JSON pointer (a compare-and-set index, a
 * resourceVersion); then the set request; then the GET again, whose
 * answer gives the weight at weight_pointer (times weight_scale: 100 for
 * an API that speaks fractions). get_weight: the GET alone.
 *
 * Placeholders: {{weight}} {{stable_weight}} {{weight_fraction}}
 * {{stable_weight_fraction}} {{drain}} {{phase}} {{reason}} {{actor}}
 * {{idempotency_key}}, every capture by name, and {{token}} in headers
 * only (never in a URL or body, never in a message). Substituted text is
 * URL-escaped in the URL, JSON-escaped in a body given as a string, and
 * in a body given as JSON a string that is exactly one placeholder
 * becomes that value with its JSON type ("{{weight}}" -> 25).
 */
#ifndef SHIPROOM_HTTP_EDGE_H
#define SHIPROOM_HTTP_EDGE_H

#include <jansson.h>
#include <uv.h>

#include "shiproom/edge.h"

#define HTTP_EDGE_URL_LEN 1024
#define HTTP_EDGE_HDR_LEN 512
#define HTTP_EDGE_MAX_HDRS 16
#define HTTP_EDGE_BODY_LEN 8192
#define HTTP_EDGE_PTR_LEN 256
#define HTTP_EDGE_MAX_CAPS 8
#define HTTP_EDGE_TOKEN_MAX 4096
#define HTTP_EDGE_TIMEOUT_DEFAULT_MS 5000

/* result codes passed to sr_edge_cb (0 is success) */
#define HTTP_EDGE_ERR_REFUSED SR_EDGE_REFUSED     /* a 4xx, a bad answer, a read-back mismatch */
#define HTTP_EDGE_ERR_TRANSIENT SR_EDGE_TRANSIENT /* no answer, 5xx, 429: worth a retry */

struct http_edge_request {
	char method[8];
	char url[HTTP_EDGE_URL_LEN];
	int nheaders;
	char header_name[HTTP_EDGE_MAX_HDRS][64];
	char header_value[HTTP_EDGE_MAX_HDRS][HTTP_EDGE_HDR_LEN]; /* templates */
	char body[HTTP_EDGE_BODY_LEN];                            /* template text; "" = no body */
	bool body_is_json; /* given as JSON (typed substitution) */
};

struct sr_http_edge_config {
	struct http_edge_request set, get;
	char weight_pointer[HTTP_EDGE_PTR_LEN];
	double weight_scale; /* read-back value * scale = percent */
	int ncaptures;
	char capture_name[HTTP_EDGE_MAX_CAPS][32];
	char capture_pointer[HTTP_EDGE_MAX_CAPS][HTTP_EDGE_PTR_LEN];
	char token_file[512];
	char token_env[64];
	char ca_file[512];
	int timeout_ms;
};

/* Read the policy's "edge" object (kind "http"), strictly: unknown keys,
 * wrong types, a {{token}} outside headers, an unknown placeholder, a URL
 * that is not http(s) are errors. 0, or -1 with err = "/<pointer>: msg"
 * relative to the edge object (prefix "/edge" to locate it). The token
 * itself is not read here. */
int http_edge_config_from_json(struct sr_http_edge_config *c, const json_t *edge_obj, char *err,
                               size_t n);

/* Create the driver: reads the token (a file must be a regular file with
 * mode 0600 or stricter; or the environment variable), makes its own HTTP
 * client on the loop. NULL with err. destroy() cancels requests in flight
 * (their callbacks are not called); run the loop once more afterwards. */
struct sr_edge *http_edge_create(uv_loop_t *loop, const struct sr_http_edge_config *c, char *err,
                                 size_t n);

/* The {{phase}}, {{reason}} and {{actor}} of the next set_weight (the
 * edge vtable has no room for them). Copied; NULL means "". */
void http_edge_set_context(struct sr_edge *e, const char *phase, const char *reason,
                           const char *actor);

/* ---- pure parts (unit tests) --------------------------------------------- */

enum http_esc {
	HTTP_ESC_RAW,    /* as is (inside a JSON tree: jansson encodes) */
	HTTP_ESC_HEADER, /* as is, but a CR, LF or NUL in the result is an error */
	HTTP_ESC_JSON,   /* escaped for the inside of a JSON string literal */
	HTTP_ESC_URL     /* percent-encoded, RFC 3986 unreserved bytes kept */
};

/* Substitute every {{name}} in tmpl from `vars` (a JSON object: strings
 * as they are, numbers and booleans in JSON notation). token, if not
 * NULL, is what {{token}} becomes - only in HTTP_ESC_HEADER. An unknown
 * name or a stray "{{" is an error. Returns a malloc'd string or NULL
 * with err (which never contains the token). */
char *http_tmpl_expand(const char *tmpl, const json_t *vars, const char *token, enum http_esc esc,
                       char *err, size_t n);

/* The request body: tmpl as a JSON document with typed substitution
 * (is_json), or as text with JSON-escaped substitution that must then
 * parse as JSON. malloc'd compact JSON, or NULL with err. */
char *http_body_expand(const char *tmpl, bool is_json, const json_t *vars, char *err, size_t n);

/* The captures of c from a GET answer (outside bytes) into vars, where
 * the next request's URL, headers and body expand them. 0, or -1 with a
 * sanitised msg (not JSON, nothing at a pointer). */
int http_edge_take_captures(const struct sr_http_edge_config *c, const char *body, size_t len,
                            json_t *vars, char *msg, size_t n);

/* RFC 6901 JSON pointer ("" = the whole document); NULL when absent. */
const json_t *http_json_pointer(const json_t *root, const char *ptr);

/* The weight in a read-back answer: the value at `ptr` (a JSON number or
 * a numeric string), times scale, rounded; must be within 0..100. */
int http_edge_parse_weight(const char *body, size_t len, const char *ptr, double scale, int *weight,
                           char *err, size_t n);

/* 0 for a 2xx; else HTTP_EDGE_ERR_TRANSIENT (5xx, 429) or _REFUSED with
 * "HTTP 409 Conflict: <start of the body>" in err, sanitised, with any
 * occurrence of `token` (may be NULL) replaced by "[redacted]". */
int http_edge_check_status(long status, const char *reason, const char *body, size_t len,
                           const char *token, char *err, size_t n);

/* Read a secret file: a regular file, not readable or writable by group
 * or others; trailing whitespace dropped. 0 or -1 with err. */
int http_edge_read_token(const char *path, char *out, size_t n, char *err, size_t en);

#endif
