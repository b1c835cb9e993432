/*
 * bh_be_cpu.h - internal: the CPU backends (scalar, avx2, avx512).
 *
 * All three share one search driver (bh_be_cpu.c) that tiles queries x
 * records and keeps the top-K heaps; they differ only in the score kernel.
 * The AVX kernels live in their own static libraries compiled with -m flags
 * (bh_be_avx2.c, bh_be_avx512.c) and are entered only after probe() said the
 * CPU has the instructions, so no -m flag leaks into generic code.
 */
#ifndef BH_BE_CPU_H
#define BH_BE_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "bh_engine.h"

typedef struct bh_kparams {
	bh_kernel kernel;
	uint32_t dim;
	size_t row_bytes; /* bh_row_bytes(kernel, dim) */
	size_t stride;    /* record stride, >= row_bytes, multiple of 8 */
} bh_kparams;

/* Scores of nq queries (q[j], row_bytes each) against n consecutive records
 * starting at rows: out[j * n + i] = score(q[j], record i).  nq <= BH_TILE_Q. */
typedef void (*bh_score_fn)(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
			    const uint8_t *rows, size_t n, int32_t *out);

void bh_scores_scalar(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		      const uint8_t *rows, size_t n, int32_t *out);
void bh_scores_avx2(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		    const uint8_t *rows, size_t n, int32_t *out);
void bh_scores_avx512(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		      const uint8_t *rows, size_t n, int32_t *out);

/* Candidate filter: bit i of bits[i / 64] is set iff sc[i] >= floor, for
 * i < n (bits past n are zero).  The driver pushes only those, so the scan
 * over scores costs a compare per 16 (or 8) scores instead of a branch per
 * score. */
typedef void (*bh_filter_fn)(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits);

void bh_filter_scalar(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits);
void bh_filter_avx2(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits);
void bh_filter_avx512(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits);

extern const bh_backend_ops bh_be_scalar_ops;
extern const bh_backend_ops bh_be_avx2_ops;
extern const bh_backend_ops bh_be_avx512_ops;

/* 1 for backends that are not one of the built-in CPU backends. */
int bh_backend_is_device(const bh_backend_ops *ops);

/* Queries per tile in the driver (also the kernels' nq bound).  The AVX-512
 * batch kernel repacks each block of records once per tile, so a larger tile
 * spreads that cost: 64 measured ~20% faster than 16 for batches of 64. */
#define BH_TILE_Q 64

#endif
