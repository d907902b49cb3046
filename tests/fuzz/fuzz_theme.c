/* fuzz_theme.c - libFuzzer target for the theme loader.
 *
 * Any bytes must give a theme or a well-formed error that names a
 * position (the console prints it as file:line:column).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shiproom/theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sr_theme theme;
	struct sr_policy_error err;
	theme_builtin(&theme);
	memset(&err, 0, sizeof err);
	if (theme_load_buffer(&theme, (const char *)data, size, "fuzz.json", &err) < 0) {
		/* an error always says where, and its text is terminated */
		if (err.line < 0 || err.column < 0 || memchr(err.msg, '\0', sizeof err.msg) == NULL)
			abort();
		char line[1200];
		policy_error_format(&err, line, sizeof line);
	}
	return 0;
}
