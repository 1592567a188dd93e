// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the /proc text parsers of the state dump: the first byte picks the parser
 * (tcp, tcp6, udp, unix, stat), the rest is the text. They must never crash nor report a
 * name that is not NUL-terminated within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/statedump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *arg, uint64_t inode, int fd_type, const char *name)
{
	(void)inode;
	(void)fd_type;
	*(size_t *)arg += strlen(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, comm[32];
	size_t total = 0;
	int ppid;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	switch (data[0] % 5) {
	case 0:
		ct_procnet_parse_inet(text, "tcp", 0, check, &total);
		break;
	case 1:
		ct_procnet_parse_inet(text, "tcp", 1, check, &total);
		break;
	case 2:
		ct_procnet_parse_inet(text, "udp", 0, check, &total);
		break;
	case 3:
		ct_procnet_parse_unix(text, check, &total);
		break;
	default:
		ct_proc_parse_stat(text, &ppid, comm, sizeof(comm));
		break;
	}
	free(text);
	return 0;
}
