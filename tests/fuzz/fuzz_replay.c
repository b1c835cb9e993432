/*
 * fuzz_replay.c - runs the fuzz target over every file of a corpus
 * directory (argv[1]) without libFuzzer, so the normal (and ASan) test
 * suites replay the seeds and any crash reproducer committed there.
 * Fails if the directory holds no input (the test must exercise something).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		uint8_t *buf;
		size_t len;
		if (bh_read_file(path, 1 << 20, &buf, &len) != BH_OK) {
			fprintf(stderr, "cannot read %s\n", path);
			closedir(d);
			return 1;
		}
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	printf("replayed %u corpus inputs\n", n);
	return n ? 0 : 1;
}
