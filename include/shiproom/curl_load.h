/* curl_load.h - libcurl, loaded when first called.
 *
 * shiproom is not linked against libcurl: src/io/curl_load.c defines the
 * libcurl functions it uses (the same names and prototypes as
 * <curl/curl.h>), and the first call to any of them loads libcurl.so.4
 * with dlopen() and forwards every call to it from then on.
 *
 * Why: libcurl brings its TLS stack and what that needs (OpenSSL, GnuTLS
 * through librtmp, Kerberos, LDAP, ...). Mapped at start, their
 * relocations and GnuTLS's constructor made 5 MB of every process
 * resident, 40% of a console's memory, and a console attached to its
 * service never speaks HTTP (only the service polls, acts and posts).
 * bench/README.md, "A console without the TLS stack", has the figures.
 *
 * When libcurl cannot be loaded, every function fails as libcurl does
 * when it cannot start (NULL handles, CURLE_FAILED_INIT, ...), and
 * curl_load_error() says why, for the caller's message.
 */
#ifndef SHIPROOM_CURL_LOAD_H
#define SHIPROOM_CURL_LOAD_H

#include <stdbool.h>

/* Loads libcurl now if it is not loaded yet; true when it is. */
bool curl_load(void);
/* Why the last load failed ("" when it did not): dlopen's or dlsym's
 * words, naming the library or the missing function. */
const char *curl_load_error(void);
/* Has this process loaded libcurl (for tests: a console must not)? */
bool curl_loaded(void);

#endif
