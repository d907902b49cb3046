/* fuzz_argv.c - libFuzzer target for the command line (cmd_parse_args).
 *
 * argv is outside input: a script, a paste, a shell history. The input is
 * split at NUL bytes into up to 32 arguments after "shiproom". Besides "no
 * crash": the parse either succeeds or returns a usage status (2); every
 * string it keeps points into the arguments given; numbers it accepts lie
 * in the ranges the options promise. Usage errors go to stderr, which
 * points at /dev/null during the parse only (libFuzzer reports there;
 * the errors' sanitising is tested in tests/cli).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shiproom/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const char *p, const char *buf, size_t n)
{
	return !p || (p >= buf && p < buf + n + 1) || strcmp(p, "") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[34];
	int argc = 0;
	argv[argc++] = (char *)"shiproom";
	for (size_t i = 0; i <= size && argc < 33;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	struct sr_opts o = {.cmd = CMD_CONSOLE, .s = {.speed = 1.0}, .refresh_ms = 1000};
	fflush(stderr);
	int saved = dup(2);
	if (devnull >= 0)
		dup2(devnull, 2);
	int rc = cmd_parse_args(argc, argv, &o);
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (rc != 0 && rc != SR_EXIT_USAGE)
		abort(); /* a parse has two outcomes */
	if (rc == 0) {
		if (!inside(o.s.policy, buf, size) || !inside(o.s.state_dir, buf, size) ||
		    !inside(o.reason, buf, size) || !inside(o.file, buf, size))
			abort();
		if (o.s.speed_set && !(o.s.speed >= 0.001 && o.s.speed <= 100000))
			abort();
		if (o.refresh_ms < 50 || o.refresh_ms > 60000)
			abort();
		if (o.at_set && (o.at_min < -100000 || o.at_min > 100000))
			abort();
	}
	free(buf);
	return 0;
}
