/* secret.c - the one secret-file reader and the one scrubber (secret.h).
 *
 * Why a registry rather than each module redacting its own token: the
 * Prometheus token used to be scrubbed nowhere while the HTTP edge's was
 * scrubbed in the edge; a text from one driver can carry another's secret
 * (a shared proxy), and a new driver would have to remember. Every secret
 * is registered where it is loaded, and every outside text is scrubbed of
 * all of them.
 */
#define _GNU_SOURCE /* memmem */
#include "shiproom/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/common.h"

#define MIN_SECRET 4 /* shorter would redact ordinary words */

static char *secrets[SR_SECRET_MAX];
static int nsecrets;
static bool load_failed;

bool secret_load_failed(void)
{
	bool was = load_failed;
	load_failed = false;
	return was;
}

void secret_mark_failed(void)
{
	load_failed = true;
}

static void errf(char *err, size_t en, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t en, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, en, fmt, ap);
	va_end(ap);
}

void secret_register(const char *s)
{
	if (!s || strlen(s) < MIN_SECRET)
		return;
	for (int i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], s))
			return;
	if (nsecrets == SR_SECRET_MAX) {
		/* Keep the newest: a rotated token replaces the oldest one. */
		explicit_bzero(secrets[0], strlen(secrets[0]));
		free(secrets[0]);
		memmove(secrets, secrets + 1, (SR_SECRET_MAX - 1) * sizeof secrets[0]);
		nsecrets--;
	}
	char *copy = strdup(s);
	if (copy)
		secrets[nsecrets++] = copy;
}

void secret_forget(const char *s)
{
	for (int i = 0; s && i < nsecrets; i++)
		if (!strcmp(secrets[i], s)) {
			explicit_bzero(secrets[i], strlen(secrets[i]));
			free(secrets[i]);
			memmove(secrets + i, secrets + i + 1,
			        (size_t)(nsecrets - i - 1) * sizeof secrets[0]);
			secrets[--nsecrets] = NULL;
			return;
		}
}

void secret_forget_all(void)
{
	for (int i = 0; i < nsecrets; i++) {
		explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
		secrets[i] = NULL;
	}
	nsecrets = 0;
}

/* Register one URL part (url-decoded by libcurl) when it is set. */
static void register_part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *v = NULL;
	if (curl_url_get(u, what, &v, flags) == CURLUE_OK && v) {
		if (what != CURLUPART_PATH || strcmp(v, "/") != 0)
			secret_register(v);
		curl_free(v);
	}
}

bool secret_register_url(const char *url)
{
	CURLU *u = curl_url();
	if (!u)
		return false;
	char *scheme = NULL;
	bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	          curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	          (!strcmp(scheme, "http") || !strcmp(scheme, "https"));
	curl_free(scheme);
	if (ok) {
		secret_register(url);
		register_part(u, CURLUPART_PATH, 0);
		register_part(u, CURLUPART_QUERY, 0);
		/* each query value alone too (a signature, a token) */
		char *q = NULL;
		if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q) {
			for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
			     kv = strtok_r(NULL, "&", &save)) {
				char *eq = strchr(kv, '=');
				secret_register(eq ? eq + 1 : kv);
			}
			curl_free(q);
		}
		register_part(u, CURLUPART_USER, 0);
		register_part(u, CURLUPART_PASSWORD, 0);
		/* as they appear on the wire and in libcurl's messages, too */
		register_part(u, CURLUPART_PATH, CURLU_URLDECODE);
		register_part(u, CURLUPART_PASSWORD, CURLU_URLDECODE);
	}
	curl_url_cleanup(u);
	return ok;
}

/* Replace [at, at + len) of buf (capacity n) with the redaction mark. */
static void replace_at(char *buf, size_t n, size_t at, size_t len)
{
	const size_t rl = sizeof SR_SECRET_REDACTED - 1;
	size_t tail = strlen(buf + at + len);
	if (at + rl + tail + 1 > n)
		tail = n > at + rl + 1 ? n - 1 - at - rl : 0;
	if (at + rl + 1 > n) {
		/* no room for the mark: cut the text there */
		buf[at] = '\0';
		return;
	}
	memmove(buf + at + rl, buf + at + len, tail);
	memcpy(buf + at, SR_SECRET_REDACTED, rl);
	buf[at + rl + tail] = '\0';
}

int secret_scrub(char *buf, size_t n)
{
	int count = 0;
	if (!buf || n == 0)
		return 0;
	for (int i = 0; i < nsecrets; i++) {
		size_t sl = strlen(secrets[i]), from = 0;
		char *p;
		while (from < strlen(buf) && (p = strstr(buf + from, secrets[i])) != NULL) {
			size_t at = (size_t)(p - buf);
			replace_at(buf, n, at, sl);
			count++;
			from = at + sizeof SR_SECRET_REDACTED - 1;
		}
	}
	/* A text cut inside a secret leaves its start at the end (before an
	 * ellipsis added by the cut): that start is redacted too. */
	size_t len = strlen(buf), end = len;
	while (end > 0 && (buf[end - 1] == '.' || (unsigned char)buf[end - 1] >= 0x80))
		end--;
	for (int i = 0; i < nsecrets; i++) {
		size_t sl = strlen(secrets[i]);
		for (size_t k = sl - 1; k >= MIN_SECRET && k > 0; k--) {
			if (k > end)
				continue;
			if (!memcmp(buf + end - k, secrets[i], k)) {
				replace_at(buf, n, end - k, len - (end - k));
				count++;
				len = strlen(buf);
				end = len;
				break;
			}
		}
	}
	return count;
}

char *secret_scrub_dup(const char *mem, size_t len, size_t *out_len)
{
	bool found = false;
	for (int i = 0; i < nsecrets && !found; i++)
		found = memmem(mem, len, secrets[i], strlen(secrets[i])) != NULL;
	if (!found)
		return NULL;
	/* A secret of MIN_SECRET bytes grows into the longer mark: size for
	 * the worst case. */
	size_t cap = len * (sizeof SR_SECRET_REDACTED) / MIN_SECRET + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	while (i < len) {
		int hit = -1;
		for (int s = 0; s < nsecrets; s++) {
			size_t sl = strlen(secrets[s]);
			if (sl <= len - i && !memcmp(mem + i, secrets[s], sl) &&
			    (hit < 0 || sl > strlen(secrets[hit])))
				hit = s;
		}
		if (hit >= 0) {
			memcpy(out + o, SR_SECRET_REDACTED, sizeof SR_SECRET_REDACTED - 1);
			o += sizeof SR_SECRET_REDACTED - 1;
			i += strlen(secrets[hit]);
		} else {
			out[o++] = mem[i++];
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

int secret_read_file(const char *path, const char *what, char *out, size_t n, char *err, size_t en)
{
	char shown[512];
	sr_sanitize(shown, path, sizeof shown);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		errf(err, en, "%s %s: %s", what, shown, strerror(errno));
		load_failed = true;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		errf(err, en, "%s %s: not a regular file", what, shown);
		close(fd);
		load_failed = true;
		return -1;
	}
	if (st.st_uid != geteuid()) {
		errf(err, en,
		     "%s %s: owned by uid %ld, not by you (uid %ld): a secret must be yours", what,
		     shown, (long)st.st_uid, (long)geteuid());
		close(fd);
		load_failed = true;
		return -1;
	}
	if (st.st_mode & 077) {
		errf(err, en,
		     "%s %s has mode %04o: it must be 0600 or stricter, readable by no one else "
		     "(chmod 600 %s)",
		     what, shown, (unsigned)(st.st_mode & 07777), shown);
		close(fd);
		load_failed = true;
		return -1;
	}
	size_t got = 0;
	char extra;
	for (;;) {
		ssize_t r = got + 1 < n ? read(fd, out + got, n - 1 - got) : read(fd, &extra, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errf(err, en, "%s %s: %s", what, shown, strerror(errno));
			close(fd);
			explicit_bzero(out, n);
			load_failed = true;
			return -1;
		}
		if (r == 0)
			break;
		if (got + 1 >= n) {
			errf(err, en, "%s %s: longer than %zu bytes", what, shown, n - 2);
			close(fd);
			explicit_bzero(out, n);
			load_failed = true;
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	out[got] = '\0';
	/* The first non-blank line is the secret; after it only blank lines
	 * and # comments (a note on where the secret came from). */
	char *line = out;
	while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\n')
		line++;
	char *end = line + strcspn(line, "\r\n");
	bool rest_ok = strlen(out) == got;
	for (char *r = end; rest_ok && *r;) {
		r += strspn(r, " \t\r\n");
		if (*r && *r != '#')
			rest_ok = false;
		r += strcspn(r, "\n");
	}
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t len = (size_t)(end - line);
	if (len == 0 || !rest_ok) {
		explicit_bzero(out, n);
		errf(err, en, "%s %s: empty, or more than one line of text", what, shown);
		load_failed = true;
		return -1;
	}
	memmove(out, line, len);
	memset(out + len, 0, n - len);
	secret_register(out);
	return 0;
}
