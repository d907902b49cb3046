/* curl_load.c - libcurl, loaded when first called (curl_load.h).
 *
 * Each libcurl function shiproom uses is defined here under its own name
 * and forwards to the function of that name in libcurl.so.4, which the
 * first call loads. The library is opened RTLD_LOCAL and the executable
 * does not export these names, so neither side ever binds to the other's.
 *
 * The three variadic functions take exactly one argument after the
 * option; its type is the option's (curl.h: CURLOPTTYPE_* bases for
 * setopt, a pointer for every getinfo), read and passed on as that type,
 * as libcurl itself reads it.
 */
#define CURL_DISABLE_TYPECHECK /* the macros would wrap the definitions below */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shiproom/curl_load.h"

#define CURL_SONAME "libcurl.so.4"

/* X(return type, name, (parameters), (arguments), value when not loaded) */
#define CURL_VALUE_FUNCS(X)                                                                        \
	X(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                    \
	X(CURL *, curl_easy_init, (void), (), NULL)                                                \
	X(CURLcode, curl_easy_perform, (CURL * h), (h), CURLE_FAILED_INIT)                         \
	X(const char *, curl_easy_strerror, (CURLcode c), (c), "libcurl could not be loaded")      \
	X(CURLM *, curl_multi_init, (void), (), NULL)                                              \
	X(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * h), (m, h), CURLM_INTERNAL_ERROR)   \
	X(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * h), (m, h),                      \
	  CURLM_INTERNAL_ERROR)                                                                    \
	X(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_INTERNAL_ERROR)                   \
	X(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)                \
	X(const char *, curl_multi_strerror, (CURLMcode c), (c), "libcurl could not be loaded")    \
	X(CURLMcode, curl_multi_socket_action, (CURLM * m, curl_socket_t s, int ev, int *running), \
	  (m, s, ev, running), CURLM_INTERNAL_ERROR)                                               \
	X(CURLMcode, curl_multi_assign, (CURLM * m, curl_socket_t s, void *p), (m, s, p),          \
	  CURLM_INTERNAL_ERROR)                                                                    \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),  \
	  NULL)                                                                                    \
	X(CURLU *, curl_url, (void), (), NULL)                                                     \
	X(CURLUcode, curl_url_get, (CURLU * u, CURLUPart w, char **part, unsigned int f),          \
	  (u, w, part, f), CURLUE_OUT_OF_MEMORY)                                                   \
	X(CURLUcode, curl_url_set, (CURLU * u, CURLUPart w, const char *part, unsigned int f),     \
	  (u, w, part, f), CURLUE_OUT_OF_MEMORY)

/* X(name, (parameters), (arguments)): nothing to do when not loaded (no
 * handle can exist then) */
#define CURL_VOID_FUNCS(X)                                                                         \
	X(curl_global_cleanup, (void), ())                                                         \
	X(curl_easy_cleanup, (CURL * h), (h))                                                      \
	X(curl_easy_reset, (CURL * h), (h))                                                        \
	X(curl_free, (void *p), (p))                                                               \
	X(curl_slist_free_all, (struct curl_slist * l), (l))                                       \
	X(curl_url_cleanup, (CURLU * u), (u))

#define CURL_VARIADIC_FUNCS(X)                                                                     \
	X(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...))                                   \
	X(CURLMcode, curl_multi_setopt, (CURLM *, CURLMoption, ...))                               \
	X(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...))

static struct {
#define FIELD_VALUE(type, name, params, args, none) type(*name) params;
#define FIELD_VOID(name, params, args) void(*name) params;
#define FIELD_VARIADIC(type, name, params) type(*name) params;
	CURL_VALUE_FUNCS(FIELD_VALUE)
	CURL_VOID_FUNCS(FIELD_VOID)
	CURL_VARIADIC_FUNCS(FIELD_VARIADIC)
} real;

static void *lib;
static bool tried;
static char load_err[320];

static bool resolve(void *h, void **slot, const char *name)
{
	dlerror();
	*slot = dlsym(h, name);
	if (*slot)
		return true;
	const char *why = dlerror();
	snprintf(load_err, sizeof load_err, "%s has no %s: %s", CURL_SONAME, name,
	         why ? why : "not found");
	return false;
}

bool curl_load(void)
{
	if (lib)
		return true;
	if (tried)
		return false; /* said once; the library will not appear */
	tried = true;
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(load_err, sizeof load_err, "cannot load %s: %s", CURL_SONAME,
		         why ? why : "unknown error");
		return false;
	}
	bool ok = true;
#define RESOLVE_VALUE(type, name, params, args, none)                                              \
	ok = ok && resolve(h, (void **)&real.name, #name);
#define RESOLVE_VOID(name, params, args) ok = ok && resolve(h, (void **)&real.name, #name);
#define RESOLVE_VARIADIC(type, name, params) ok = ok && resolve(h, (void **)&real.name, #name);
	CURL_VALUE_FUNCS(RESOLVE_VALUE)
	CURL_VOID_FUNCS(RESOLVE_VOID)
	CURL_VARIADIC_FUNCS(RESOLVE_VARIADIC)
	if (!ok) {
		memset(&real, 0, sizeof real);
		dlclose(h);
		return false;
	}
	load_err[0] = '\0';
	lib = h;
	return true;
}

const char *curl_load_error(void)
{
	return load_err;
}

bool curl_loaded(void)
{
	return lib != NULL;
}

/* ---- the forwarders -------------------------------------------------------- */

#define DEFINE_VALUE(type, name, params, args, none)                                               \
	type name params                                                                           \
	{                                                                                          \
		if (!curl_load())                                                                  \
			return none;                                                               \
		return real.name args;                                                             \
	}
#define DEFINE_VOID(name, params, args)                                                            \
	void name params                                                                           \
	{                                                                                          \
		if (lib)                                                                           \
			real.name args;                                                            \
	}
CURL_VALUE_FUNCS(DEFINE_VALUE)
CURL_VOID_FUNCS(DEFINE_VOID)

/* A setopt forwarder. Its one argument is read as its option's type says
 * (curl.h: CURLOPTTYPE_LONG 0, OBJECTPOINT 10000, FUNCTIONPOINT 20000,
 * OFF_T 30000, BLOB 40000; CURLMoption uses the same bases). */
#define DEFINE_SETOPT(type, name, handle_type, option_type, none)                                  \
	type name(handle_type h, option_type option, ...)                                          \
	{                                                                                          \
		if (!curl_load())                                                                  \
			return none;                                                               \
		type rc;                                                                           \
		va_list ap;                                                                        \
		va_start(ap, option);                                                              \
		if ((int)option < CURLOPTTYPE_OBJECTPOINT) {                                       \
			long v = va_arg(ap, long);                                                 \
			rc = real.name(h, option, v);                                              \
		} else if ((int)option < CURLOPTTYPE_FUNCTIONPOINT) {                              \
			void *v = va_arg(ap, void *);                                              \
			rc = real.name(h, option, v);                                              \
		} else if ((int)option < CURLOPTTYPE_OFF_T) {                                      \
			void (*v)(void) = va_arg(ap, void (*)(void));                              \
			rc = real.name(h, option, v);                                              \
		} else if ((int)option < CURLOPTTYPE_BLOB) {                                       \
			curl_off_t v = va_arg(ap, curl_off_t);                                     \
			rc = real.name(h, option, v);                                              \
		} else {                                                                           \
			void *v = va_arg(ap, void *);                                              \
			rc = real.name(h, option, v);                                              \
		}                                                                                  \
		va_end(ap);                                                                        \
		return rc;                                                                         \
	}
DEFINE_SETOPT(CURLcode, curl_easy_setopt, CURL *, CURLoption, CURLE_FAILED_INIT)
DEFINE_SETOPT(CURLMcode, curl_multi_setopt, CURLM *, CURLMoption, CURLM_INTERNAL_ERROR)

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	if (!curl_load())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	void *out = va_arg(ap, void *);
	va_end(ap);
	return real.curl_easy_getinfo(h, info, out);
}
