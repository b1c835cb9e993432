/*
 * fuzz_gallery_db.c - libFuzzer target for opening a gallery file that may
 * be foreign or corrupt: the input is the image of an SQLite database,
 * written to a private scratch file (bh_gallery_open() takes a path: it
 * stats the file, pre-checks it opened immutable, then reopens it), opened
 * BH_GALLERY_READONLY, and loaded with bh_gallery_pack_load_all(); the full
 * template of a few loaded ids is fetched as the re-rankers do, and every
 * template row is validated (bh_gallery_check_templates, as `gallery check`).
 *
 * Contract (bh_gallery.h): a file that is not a biohub gallery fails with a
 * clean error value and changes nothing (the file is compared with the
 * input afterwards; a read-only open must not change it either); whatever
 * loads has packs that keep their shape (n rows, one id per row, code
 * stride of the modality); a reader handle (bh_gallery_open_reader), in one
 * read snapshot, fetches exactly what the main handle fetches.
 * Side files SQLite may create next to the scratch file (-wal, -shm,
 * -journal) are removed after each input so inputs stay independent.
 * Built with -Dfuzz=true (clang); fuzz_replay.c runs corpus_gallery_db/
 * (small galleries made by mkseeds.c, foreign and corrupt databases) in
 * the normal and ASan suites.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_err.h"
#include "bh_gallery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64], dbpath[96];

static void remove_side_files(void)
{
	static const char *const ext[] = {"-wal", "-shm", "-journal"};
	char p[112];
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		snprintf(p, sizeof p, "%s%s", dbpath, ext[i]);
		unlink(p);
	}
}

static void scratch_remove(void)
{
	remove_side_files();
	unlink(dbpath);
	rmdir(scratch);
}

/* One private directory per process (parallel fuzz jobs must not share). */
static int scratch_init(void)
{
	if (scratch[0])
		return 0;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(scratch, sizeof scratch, "%s/bh_fuzz_gdb_XXXXXX", base);
	if (!mkdtemp(scratch)) {
		scratch[0] = 0;
		return -1;
	}
	snprintf(dbpath, sizeof dbpath, "%s/gallery.sqlite", scratch);
	atexit(scratch_remove);
	return 0;
}

static int write_db(const uint8_t *p, size_t n)
{
	FILE *f = fopen(dbpath, "wb");
	if (!f)
		return -1;
	int ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Whether the scratch file still holds exactly the input bytes. */
static int file_unchanged(const uint8_t *p, size_t n)
{
	FILE *f = fopen(dbpath, "rb");
	if (!f)
		return 0;
	uint8_t buf[4096];
	size_t off = 0, k;
	int same = 1;
	while (same && (k = fread(buf, 1, sizeof buf, f)) > 0) {
		same = off + k <= n && !memcmp(buf, p + off, k);
		off += k;
	}
	fclose(f);
	return same && off == n;
}

/* The same fetch through the main handle and the reader: same result. */
static void fetch_both(bh_gallery *g, bh_gallery *r, int64_t id)
{
	void *b1 = NULL, *b2 = NULL;
	size_t n1 = 0, n2 = 0;
	int rc1 = bh_gallery_template_full(g, id, &b1, &n1);
	if (rc1 == BH_OK && (b1 == NULL) != (n1 == 0))
		abort();
	if (r) {
		int rc2 = bh_gallery_template_full(r, id, &b2, &n2);
		if (rc2 != rc1 || n2 != n1 || (n1 && memcmp(b1, b2, n1)))
			abort();
	}
	free(b1);
	free(b2);
}

/* Aborts if a loaded pack breaks its shape (the engine's bh_shard_check
 * included); fetches a few full templates as the re-rankers do, through
 * the main handle and through a reader in one snapshot. */
static void check_packs(bh_gallery *g, const bh_gallery_pack *packs)
{
	bh_gallery *r = NULL;
	if (bh_gallery_open_reader(g, &r) != BH_OK)
		r = NULL; /* refused cleanly (an error value): the main handle alone */
	if (r && bh_gallery_read_begin(r) != BH_OK)
		abort(); /* BEGIN takes no lock and reads nothing: it cannot fail */
	for (int m = 1; m <= BH_MOD_COUNT; m++) {
		const bh_gallery_pack *p = &packs[m];
		int kernel;
		uint32_t dim;
		if (bh_template_code_kind(m, &kernel, &dim) != BH_OK || bh_shard_check(&p->shard) ||
		    p->shard.n != p->n ||
		    p->shard.dim != dim || (int)p->shard.kernel != kernel || !p->data || !p->ids ||
		    p->shard.data != p->data || p->shard.ids != p->ids ||
		    p->shard.stride < bh_template_code_bytes(bh_template_format(m)))
			abort();
		for (size_t i = 0; i < p->n && i < 8; i++)
			fetch_both(g, r, (int64_t)p->ids[i]);
	}
	bh_gallery_read_end(r);
	bh_gallery_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (scratch_init() || write_db(data, size))
		return 0;
	bh_gallery *g = NULL;
	int rc = bh_gallery_open(dbpath, BH_GALLERY_READONLY, &g);
	if (rc == BH_OK) {
		bh_template_census c;
		int crc = bh_gallery_check_templates(g, &c);
		if (!(crc == BH_OK || crc == BH_EFORMAT || crc == BH_EDB) || c.bad > c.checked ||
		    c.finger_no_field > c.checked - c.bad || (crc == BH_EFORMAT) != (c.bad > 0))
			abort(); /* a census that does not add up */
		bh_gallery_pack packs[BH_MOD_COUNT + 1];
		if (bh_gallery_pack_load_all(g, packs) == BH_OK) {
			check_packs(g, packs);
			for (int m = 1; m <= BH_MOD_COUNT; m++)
				bh_gallery_pack_free(&packs[m]);
		} else {
			for (int m = 0; m <= BH_MOD_COUNT; m++)
				if (packs[m].data || packs[m].ids || packs[m].n)
					abort(); /* on error nothing is left allocated */
		}
		bh_gallery_close(g);
	} else if (g || rc >= 0) {
		abort();
	}
	if (!file_unchanged(data, size))
		abort(); /* a read-only open (or a refused file) must not be modified */
	remove_side_files();
	return 0;
}
