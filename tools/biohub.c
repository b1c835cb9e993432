/* biohub.c - entry point of the `biohub` command line tool. */
#include <stdio.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_err.h"

int bh_cli_error(const char *what, int err)
{
	const char *d = bh_errmsg();
	if (d[0])
		fprintf(stderr, "biohub: %s: %s: %s\n", what, bh_strerror(err), d);
	else
		fprintf(stderr, "biohub: %s: %s\n", what, bh_strerror(err));
	return 1;
}

int bh_cli_dispatch(const char *group, const bh_cmd *table, int argc, char **argv)
{
	if (argc >= 2) {
		for (const bh_cmd *c = table; c->name; c++)
			if (!strcmp(c->name, argv[1]))
				return c->fn(argc - 1, argv + 1);
	}
	int help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
	FILE *f = help ? stdout : stderr;
	if (argc >= 2 && !help)
		fprintf(f, "biohub: unknown command '%s %s'\n", group, argv[1]);
	fprintf(f, "usage: %s COMMAND [ARGS]\n", group);
	for (const bh_cmd *c = table; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	return help ? 0 : 2;
}

int main(int argc, char **argv)
{
	return bh_cli_dispatch("biohub", bh_commands, argc, argv);
}
