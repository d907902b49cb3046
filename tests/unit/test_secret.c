/* test_secret.c - the one secret-file reader and the one scrubber. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shiproom/notify.h"
#include "shiproom/secret.h"

static int teardown(void **state)
{
	(void)state;
	secret_forget_all();
	(void)secret_load_failed();
	return 0;
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_reader(void **state)
{
	(void)state;
	char dir[] = "/tmp/sr-secret-XXXXXX", path[128], out[64], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/tok", dir);

	put(path, "\n  tok-0123456789  \n# where it came from\n\n", 0600);
	assert_int_equal(secret_read_file(path, "token file", out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "tok-0123456789");
	assert_false(secret_load_failed());
	/* read, it is known to the scrubber */
	char text[128] = "401: bad token tok-0123456789 for you";
	assert_int_equal(secret_scrub(text, sizeof text), 1);
	assert_string_equal(text, "401: bad token [redacted] for you");

	/* others can read it: refused, naming file and mode, never the text */
	put(path, "tok-0123456789\n", 0640);
	assert_int_equal(secret_read_file(path, "token file", out, sizeof out, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "has mode 0640: it must be 0600 or stricter"));
	assert_null(strstr(err, "0123456789"));
	assert_true(secret_load_failed());
	assert_false(secret_load_failed()); /* the mark clears */

	/* two lines of secret */
	put(path, "tok-a\ntok-b\n", 0600);
	assert_int_equal(secret_read_file(path, "token file", out, sizeof out, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "more than one line"));
	/* too long */
	put(path, "0123456789012345678901234567890123456789012345678901234567890123456789", 0600);
	assert_int_equal(secret_read_file(path, "token file", out, sizeof out, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "longer than"));
	/* someone else's file (as root: give it away) */
	if (geteuid() == 0) {
		put(path, "tok-0123456789\n", 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(
		    secret_read_file(path, "token file", out, sizeof out, err, sizeof err), -1);
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
	/* not a regular file */
	assert_int_equal(secret_read_file(dir, "token file", out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	rmdir(dir);
}

static void test_scrub_cut_and_raw(void **state)
{
	(void)state;
	secret_register("sr-e2e-secret-4242");
	secret_register("ab"); /* too short to scrub: ignored */
	/* a text cut in the middle of the secret */
	char cut[64] = "HTTP 500: rejected Bearer sr-e2e-sec...";
	assert_int_equal(secret_scrub(cut, sizeof cut), 1);
	assert_string_equal(cut, "HTTP 500: rejected Bearer [redacted]");
	char twice[80] = "sr-e2e-secret-4242 and again sr-e2e-secret-4242, ab";
	assert_int_equal(secret_scrub(twice, sizeof twice), 2);
	assert_string_equal(twice, "[redacted] and again [redacted], ab");
	/* a raw body, before it is parsed */
	const char body[] = "{\"error\":\"token sr-e2e-secret-4242 refused\"}";
	size_t len = 0;
	char *c = secret_scrub_dup(body, sizeof body - 1, &len);
	assert_non_null(c);
	assert_string_equal(c, "{\"error\":\"token [redacted] refused\"}");
	assert_int_equal(len, strlen(c));
	free(c);
	assert_null(secret_scrub_dup("clean", 5, &len));
}

/* issue 9: https://user:pw@host/: the host is host, not user (libcurl's
 * URL API parses it), and the userinfo and path are secrets too. */
/* A dead token forgotten frees its place: a full table keeps the rest. */
static void test_forget(void **state)
{
	(void)state;
	char buf[128];
	secret_register("the-password");
	for (int i = 0; i < SR_SECRET_MAX - 1; i++) {
		snprintf(buf, sizeof buf, "token-%02d", i);
		secret_register(buf);
	}
	secret_forget("token-03");
	secret_forget("never-registered");
	secret_register("token-new");
	snprintf(buf, sizeof buf, "the-password token-03 token-new token-00");
	assert_int_equal(secret_scrub(buf, sizeof buf), 3);
	assert_string_equal(buf, "[redacted] token-03 [redacted] [redacted]");
}

static void test_webhook_url_parts(void **state)
{
	(void)state;
	assert_false(secret_register_url("ftp://x.example/abc"));
	assert_true(secret_register_url(
	    "https://bot-user:pa55-w0rd@hooks.example/services/T0/B0/XYZSECRET?sig=abcdef123"));
	char t[256] = "POST to hooks.example failed: 404 for /services/T0/B0/XYZSECRET "
	              "as bot-user with pa55-w0rd, sig abcdef123";
	secret_scrub(t, sizeof t);
	assert_null(strstr(t, "XYZSECRET"));
	assert_null(strstr(t, "pa55-w0rd"));
	assert_null(strstr(t, "bot-user"));
	assert_null(strstr(t, "abcdef123"));
	assert_non_null(strstr(t, "hooks.example")); /* the host is not a secret */

	/* the notifier takes the same URL, and registers it itself */
	secret_forget_all();
	char err[256];
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct sr_http *http = http_create(&loop, err, sizeof err);
	assert_non_null(http);
	struct sr_notify *n = notify_create(
	    &loop, http, "https://bot-user:pa55-w0rd@hooks.example/services/XYZSECRET", NULL, err,
	    sizeof err);
	assert_non_null(n);
	char u[128] = "error: pa55-w0rd at /services/XYZSECRET";
	secret_scrub(u, sizeof u);
	assert_string_equal(u, "error: [redacted] at [redacted]");
	notify_destroy(n);
	http_destroy(http);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_reader, teardown),
	    cmocka_unit_test_teardown(test_scrub_cut_and_raw, teardown),
	    cmocka_unit_test_teardown(test_webhook_url_parts, teardown),
	    cmocka_unit_test_teardown(test_forget, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
