/* bh_be_cpu.c - the search driver shared by the CPU backends, the scalar
 * reference kernel, and the ops tables of scalar / avx2 / avx512.
 *
 * Tiling: the records are walked in blocks of about 32 KiB; each block is
 * scored against the queries BH_TILE_Q at a time while it stays in cache.
 * So a batch of up to PASS_Q (256) queries reads the gallery from memory
 * once, not once per query. */
#include <stdlib.h>
#include <string.h>

#include "bh_be_cpu.h"
#include "bh_cpu.h"
#include "bh_err.h"

struct bh_backend {
	bh_score_fn fn;
	bh_filter_fn filt;
	bh_kparams p;
	bh_shard s;
	int loaded;
	int32_t *sc; /* BH_TILE_Q x BLOCK_MAX scores of one block (heap: 128 KiB) */
};

#define BLOCK_BYTES 32768
#define BLOCK_MAX 512 /* records per block, bounds the score scratch */

/* ---- scalar reference kernel ---------------------------------------------- */

void bh_scores_scalar(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		      const uint8_t *rows, size_t n, int32_t *out)
{
	for (unsigned j = 0; j < nq; j++)
		for (size_t i = 0; i < n; i++)
			out[j * n + i] = bh_score_ref(p->kernel, p->dim, q[j], rows + i * p->stride);
}

void bh_filter_scalar(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits)
{
	for (size_t w = 0; w < (n + 63) / 64; w++)
		bits[w] = 0;
	for (size_t i = 0; i < n; i++)
		bits[i / 64] |= (uint64_t)(sc[i] >= floor) << (i % 64);
}

/* ---- driver -------------------------------------------------------------- */

static int cpu_open(bh_score_fn fn, bh_filter_fn filt, bh_backend **out)
{
	bh_backend *be = calloc(1, sizeof *be);
	if (!be)
		return bh_fail(BH_ENOMEM, "engine: backend state");
	be->fn = fn;
	be->filt = filt;
	be->sc = malloc(sizeof *be->sc * BH_TILE_Q * BLOCK_MAX);
	if (!be->sc) {
		free(be);
		return bh_fail(BH_ENOMEM, "engine: score buffer");
	}
	*out = be;
	return BH_OK;
}

static int cpu_load(bh_backend *be, const bh_shard *s)
{
	int rc = bh_shard_check(s);
	if (rc)
		return rc;
	be->s = *s;
	be->p.kernel = s->kernel;
	be->p.dim = s->dim;
	be->p.row_bytes = bh_row_bytes(s->kernel, s->dim);
	be->p.stride = s->stride;
	be->loaded = 1;
	return BH_OK;
}

/* Pushes the block's scores that can enter query j's heap.  The filter uses
 * the floor at block start; the floor only rises, so the bits are a superset
 * and each candidate is checked again against the current floor.
 * >= : an equal score with a smaller id may still enter. */
static void push_block(bh_filter_fn filt, bh_topk *t, const int32_t *sc, size_t cnt,
		       const uint64_t *ids, size_t row0)
{
	uint64_t bits[BLOCK_MAX / 64];
	filt(sc, cnt, bh_topk_floor(t), bits);
	for (size_t w = 0; w < (cnt + 63) / 64; w++) {
		for (uint64_t m = bits[w]; m; m &= m - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(m);
			if (sc[i] >= bh_topk_floor(t))
				bh_topk_push(t, sc[i], ids ? ids[row0 + i] : row0 + i);
		}
	}
}

/* Queries whose heaps are kept during one pass over the shard: a batch of up
 * to PASS_Q queries reads the records from memory once; each block of
 * records is scored against every tile of the pass while it is in cache. */
#define PASS_Q 256

static int cpu_search(bh_backend *be, const bh_queries *q, uint32_t k, bh_hit *out,
		      uint32_t *nout)
{
	if (!be->loaded)
		return bh_fail(BH_EINVAL, "engine: search before load");
	if (!q || (q->nq && (!q->data || !out || !nout)) || q->stride < be->p.row_bytes)
		return bh_fail(BH_EINVAL, "engine: bad query batch");
	const bh_shard *s = &be->s;
	uint32_t kk = (uint32_t)(s->n < k ? s->n : k);
	size_t block = BLOCK_BYTES / s->stride;
	block = block < 16 ? 16 : block > BLOCK_MAX ? BLOCK_MAX : block;
	int32_t *sc = be->sc;
	bh_topk t[PASS_Q];
	const uint8_t *qp[PASS_Q];
	for (size_t p0 = 0; p0 < q->nq; p0 += PASS_Q) {
		size_t np = q->nq - p0 < PASS_Q ? q->nq - p0 : PASS_Q;
		for (size_t j = 0; j < np; j++) {
			bh_topk_init(&t[j], out + (p0 + j) * (size_t)k, kk);
			qp[j] = (const uint8_t *)q->data + (p0 + j) * q->stride;
		}
		for (size_t r0 = 0; kk && r0 < s->n; r0 += block) {
			size_t cnt = s->n - r0 < block ? s->n - r0 : block;
			const uint8_t *rows = (const uint8_t *)s->data + r0 * s->stride;
			for (size_t q0 = 0; q0 < np; q0 += BH_TILE_Q) {
				unsigned m = (unsigned)(np - q0 < BH_TILE_Q ? np - q0 : BH_TILE_Q);
				be->fn(&be->p, qp + q0, m, rows, cnt, sc);
				for (unsigned j = 0; j < m; j++)
					push_block(be->filt, &t[q0 + j], sc + j * cnt, cnt, s->ids, r0);
			}
		}
		for (size_t j = 0; j < np; j++)
			nout[p0 + j] = bh_topk_finish(&t[j]);
	}
	return BH_OK;
}

static void cpu_close(bh_backend *be)
{
	if (!be)
		return;
	free(be->sc);
	free(be);
}

/* ---- ops tables ---------------------------------------------------------- */

static int scalar_probe(void) { return BH_OK; }
static int scalar_open(bh_backend **out) { return cpu_open(bh_scores_scalar, bh_filter_scalar, out); }

static int avx2_probe(void)
{
	return (bh_cpu_features() & BH_CPU_AVX2) ? BH_OK : BH_ECPU;
}
static int avx2_open(bh_backend **out)
{
	if (avx2_probe())
		return bh_fail(BH_ECPU, "engine: this CPU has no AVX2");
	return cpu_open(bh_scores_avx2, bh_filter_avx2, out);
}

/* avx512 needs VNNI (int8 dot) and VPOPCNTDQ (Hamming): both or nothing,
 * so one backend name always means the same instructions. */
#define AVX512_NEED (BH_CPU_AVX512 | BH_CPU_AVX512VNNI | BH_CPU_VPOPCNTDQ)
static int avx512_probe(void)
{
	return (bh_cpu_features() & AVX512_NEED) == AVX512_NEED ? BH_OK : BH_ECPU;
}
static int avx512_open(bh_backend **out)
{
	if (avx512_probe())
		return bh_fail(BH_ECPU, "engine: this CPU lacks AVX-512 VNNI/VPOPCNTDQ");
	return cpu_open(bh_scores_avx512, bh_filter_avx512, out);
}

const bh_backend_ops bh_be_scalar_ops = {
	.name = "scalar", .probe = scalar_probe, .open = scalar_open,
	.load = cpu_load, .search = cpu_search, .close = cpu_close,
};
const bh_backend_ops bh_be_avx2_ops = {
	.name = "avx2", .probe = avx2_probe, .open = avx2_open,
	.load = cpu_load, .search = cpu_search, .close = cpu_close,
};
const bh_backend_ops bh_be_avx512_ops = {
	.name = "avx512", .probe = avx512_probe, .open = avx512_open,
	.load = cpu_load, .search = cpu_search, .close = cpu_close,
};
