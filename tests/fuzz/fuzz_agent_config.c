// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the agent's config file parser: any text must be parsed or refused with a
 * message naming the line, never crash, and leave every string option NUL-terminated within
 * its field.
 */
#include <stdint.h>
#include <string.h>

#include "agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_agent_config c;
	char err[512];

	ct_agent_config_defaults(&c);
	if (ct_agent_config_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) &&
	    strncmp(err, "fuzz.conf:", 10))
		__builtin_trap(); /* an error must name the file and line */
	if (strnlen(c.output, sizeof(c.output)) == sizeof(c.output) ||
	    strnlen(c.socket, sizeof(c.socket)) == sizeof(c.socket) ||
	    strnlen(c.export_url, sizeof(c.export_url)) == sizeof(c.export_url))
		__builtin_trap();
	ct_agent_config_check(&c, err, sizeof(err));
	return 0;
}
