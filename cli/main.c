// SPDX-License-Identifier: MIT
/* crosstrace: the command-line entry point; dispatches to the registered subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/command.h"
#include "crosstrace/crosstrace.h"

const char *ct_progname = "crosstrace";
static struct ct_command *commands;

void ct_command_register(struct ct_command *c)
{
	struct ct_command **p = &commands;

	/* Keep the list sorted by name for `help`. */
	while (*p && strcmp((*p)->name, c->name) < 0)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: crosstrace <command> [options]\n\ncommands:\n");
	for (struct ct_command *c = commands; c; c = c->next)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "\n`crosstrace <command> --help` describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("crosstrace %s (trace format %d)\n", CT_VERSION_STRING, 1);
		return 0;
	}
	for (struct ct_command *c = commands; c; c = c->next) {
		if (!strcmp(c->name, argv[1]))
			return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "crosstrace: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
