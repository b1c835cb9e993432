/* biohub.c - entry point of the `biohub` command line tool. */
#include <malloc.h>
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

/* The command line extracts image after image on its main thread (bulk
 * enrolment, eval).  With glibc's defaults the main heap is trimmed back
 * after every extraction and its ~2 MB of work buffers are faulted in again
 * by the next one: on this virtual machine that doubled the extraction time
 * (eval finger: 10-12 ms median against 5-6 ms in the search service's
 * threads).  Freed memory is kept instead (probe buffers are wiped before
 * they are freed, bh_mem.h); blocks up to 32 MiB come from the heap. */
static void keep_heap(void)
{
	/* a refusal (0) only leaves glibc's defaults: slower, not wrong */
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

int main(int argc, char **argv)
{
	keep_heap();
	return bh_cli_dispatch("biohub", bh_commands, argc, argv);
}
