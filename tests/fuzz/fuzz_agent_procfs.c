// SPDX-License-Identifier: MIT
/*
 * Fuzz target for what the agent parses out of /proc: the first byte picks the parser
 * (/proc/PID/cgroup membership in the v2 or a v1 hierarchy, /proc/net/tcp or tcp6), the rest
 * is the text. They must never crash nor read past the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/peerpid.h"
#include "agent/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	switch (data[0] % 4) {
	case 0:
		ct_cgroup_text_in(text, "", "/system.slice");
		break;
	case 1:
		ct_cgroup_text_in(text, "cpu,cpuacct", "/a/b");
		break;
	case 2:
		ct_procnet_find_inode(text, 0, 0x0100007fu, 54321, 0x0100007fu, 4318);
		break;
	default:
		ct_procnet_find_inode(text, 1, 0x0100007fu, 54321, 0x0100007fu, 4318);
		break;
	}
	free(text);
	return 0;
}
