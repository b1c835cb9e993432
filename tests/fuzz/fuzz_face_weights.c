/*
 * fuzz_face_weights.c - libFuzzer target for the face weights loader
 * (matcher/face/bh_face_weights.h): the bounded JSON parser of the
 * TensorFlow.js manifest, its field checks, and the shard size/value
 * validation.
 *
 * Input: [mlen u16 LE][mlen bytes: manifest JSON]
 *        [alen u32 LE][alen bytes: shard file "a"][rest: shard file "b"]
 * (short inputs are clamped).  The manifest goes through the in-memory entry
 * point bh_fw_load_manifest(); the two shards are written to a private
 * scratch directory (tmpfs when there is one) because the loader reads
 * shards by file name, and that file handling is part of what is tested.
 * Seed manifests name their shards "a" and "b".
 *
 * A load that succeeds must describe exactly what the manifest promised:
 * every tensor inside the pool, count = product of its shape, every value
 * finite, and found again by name; and the manifest must have been JSON,
 * which never holds a NUL byte (abort otherwise).  Built with
 * -Dfuzz=true (clang); fuzz_replay.c runs corpus_face_weights/ in the
 * normal and ASan suites.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_err.h"
#include "bh_face_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

static void scratch_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", scratch, name);
}

static void scratch_remove(void)
{
	char p[96];
	scratch_path(p, sizeof p, "a");
	unlink(p);
	scratch_path(p, sizeof p, "b");
	unlink(p);
	rmdir(scratch);
}

/* One private directory per process (parallel fuzz jobs must not share). */
static int scratch_init(void)
{
	if (scratch[0])
		return 0;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(scratch, sizeof scratch, "%s/bh_fuzz_fw_XXXXXX", base);
	if (!mkdtemp(scratch)) {
		scratch[0] = 0;
		return -1;
	}
	atexit(scratch_remove);
	return 0;
}

static int write_shard(const char *name, const uint8_t *p, size_t n)
{
	char path[96];
	scratch_path(path, sizeof path, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Aborts if a loaded model breaks the loader's promises (bh_face_weights.h). */
static void check_model(const bh_fw_model *m)
{
	if (!m->t || !m->pool || m->n > BH_FW_MAX_TENSORS)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		const bh_fw_tensor *t = &m->t[i];
		size_t count = 1;
		if (t->rank > 4 || !memchr(t->name, 0, sizeof t->name))
			abort();
		for (uint32_t d = 0; d < t->rank; d++)
			count *= t->shape[d];
		if (count != t->count || t->data < m->pool ||
		    t->count > m->pool_count - (size_t)(t->data - m->pool))
			abort();
		for (size_t k = 0; k < t->count; k++)
			if (!isfinite(t->data[k]))
				abort();
		if (!bh_fw_find(m, t->name)) /* the first tensor of that name */
			abort();
	}
}

static uint32_t le(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || scratch_init())
		return 0;
	size_t p = 2, mlen = le(data, 2);
	if (mlen > size - p)
		mlen = size - p;
	const char *json = (const char *)data + p;
	p += mlen;
	size_t alen = 0;
	if (size - p >= 4) {
		alen = le(data + p, 4);
		p += 4;
	}
	if (alen > size - p)
		alen = size - p;
	if (write_shard("a", data + p, alen) || write_shard("b", data + p + alen, size - p - alen))
		return 0;
	bh_fw_model m;
	if (bh_fw_load_manifest(scratch, json, mlen, &m) == BH_OK) {
		check_model(&m);
		if (memchr(json, 0, mlen))
			abort(); /* JSON has no NUL byte outside strings, none inside */
	}
	else if (m.t || m.pool || m.n)
		abort(); /* a failed load must leave an empty model */
	bh_fw_free(&m);
	return 0;
}
