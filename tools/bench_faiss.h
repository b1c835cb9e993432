/*
 * bench_faiss.h - the FAISS anchor of `biohub bench engine` (C interface to
 * tools/bench_faiss.cpp, the only C++ in the bench).
 *
 * Face vectors are indexed by IndexFlatIP as float copies of the int8 values
 * (every int8 dot product is exact in float), binary codes by IndexBinaryFlat
 * as they are.  FAISS runs with the given number of OpenMP threads.
 * Built without FAISS (meson option faiss=disabled, or libfaiss missing),
 * bh_faiss_version() returns NULL and every open fails.
 */
#ifndef BENCH_FAISS_H
#define BENCH_FAISS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bh_faiss bh_faiss;

/* "1.7.3" or NULL when the bench was built without FAISS. */
const char *bh_faiss_version(void);

/* Index n rows of `stride` bytes: int8 vectors of dim elements (IP), or
 * codes of `bits` bits (binary).  0 on success, -1 with err filled. */
int bh_faiss_open_ip(const void *rows, size_t n, uint32_t dim, size_t stride, unsigned threads,
		     bh_faiss **out, char *err, size_t errlen);
int bh_faiss_open_binary(const void *rows, size_t n, uint32_t bits, size_t stride,
			 unsigned threads, bh_faiss **out, char *err, size_t errlen);

/* Top-k of nq query rows (qstride bytes apart).  top1[j] gets the best
 * score of query j in biohub's convention (dot product, or bits - Hamming
 * distance), for cross-checking against the engine. */
int bh_faiss_search(bh_faiss *f, const void *q, size_t nq, size_t qstride, uint32_t k,
		    int32_t *top1, char *err, size_t errlen);

/* Bytes the index holds (vectors or codes). */
size_t bh_faiss_bytes(const bh_faiss *f);
void bh_faiss_close(bh_faiss *f);

#ifdef __cplusplus
}
#endif

#endif
