/* SPDX-License-Identifier: MIT */
/*
 * Subcommands of the crosstrace CLI. Each cli/cmd_<name>.c registers itself with
 * CT_COMMAND, so adding a command touches no shared table. Handlers get argv starting at the
 * command name and return the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef CT_CLI_COMMAND_H
#define CT_CLI_COMMAND_H

struct ct_command {
	const char *name;
	const char *summary; /* one line for `crosstrace help` */
	int (*run)(int argc, char **argv);
	struct ct_command *next;
};

void ct_command_register(struct ct_command *c);

#define CT_COMMAND(id, summary_, fn)                                                          \
	static struct ct_command ct_cmd_##id = {.name = #id, .summary = summary_, .run = fn}; \
	__attribute__((constructor)) static void ct_cmd_register_##id(void)                   \
	{                                                                                     \
		ct_command_register(&ct_cmd_##id);                                            \
	}

/* Program name for messages ("crosstrace"). */
extern const char *ct_progname;

#endif
