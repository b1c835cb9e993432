/*
 * bh_cli.h - the `biohub` command line: a table of sub-commands.
 *
 * Each sub-command is `int fn(int argc, char **argv)` where argv[0] is the
 * sub-command's own name; it returns a process exit code (0 ok, 1 failure,
 * 2 usage).  Commands are listed in tools/bh_commands.c; `bench` and `eval`
 * have their own second-level tables there.
 */
#ifndef BH_CLI_H
#define BH_CLI_H

typedef int (*bh_cmd_fn)(int argc, char **argv);

typedef struct bh_cmd {
	const char *name;
	bh_cmd_fn fn;
	const char *help;
} bh_cmd;

extern const bh_cmd bh_commands[];      /* NULL-terminated */
extern const bh_cmd bh_bench_commands[];
extern const bh_cmd bh_eval_commands[];

/* Runs argv[1] from table (argv[0] is the group name); prints usage on miss. */
int bh_cli_dispatch(const char *group, const bh_cmd *table, int argc, char **argv);

/* Prints "biohub: <what>: <strerror>: <detail>" to stderr; returns 1. */
int bh_cli_error(const char *what, int err);

#endif
