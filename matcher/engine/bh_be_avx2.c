/* bh_be_avx2.c - AVX2 score kernels (compiled with -mavx2 -mpopcnt, entered
 * only when bh_cpu_features() reports AVX2).
 *
 * DOT_I8: bytes are sign-extended to int16 (vpmovsxbw) and multiplied with
 * vpmaddwd into int32 lanes: exact, no saturation (vpmaddubsw would saturate).
 * Eight records are scored at once, the eight lane vectors are then reduced
 * with one transpose-and-add tree.
 * HAMMING: 64-bit popcnt on the XOR of each word; the scalar unit has several
 * popcnt ports and AVX2 has no vector popcount. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "bh_be_cpu.h"

#define PF_DIST 4096 /* software prefetch distance of the record stream, bytes */

/* out lane i = sum of the 8 int32 lanes of v[i]. */
static inline __m256i reduce8(const __m256i v[8])
{
	__m256i t01 = _mm256_hadd_epi32(v[0], v[1]);
	__m256i t23 = _mm256_hadd_epi32(v[2], v[3]);
	__m256i t45 = _mm256_hadd_epi32(v[4], v[5]);
	__m256i t67 = _mm256_hadd_epi32(v[6], v[7]);
	__m256i u0 = _mm256_hadd_epi32(t01, t23); /* [0a 1a 2a 3a | 0b 1b 2b 3b] */
	__m256i u1 = _mm256_hadd_epi32(t45, t67); /* [4a .. 7a | 4b .. 7b] */
	return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
				_mm256_permute2x128_si256(u0, u1, 0x31));
}

static void dot_one(const bh_kparams *p, const uint8_t *q, const uint8_t *rows, size_t n,
		    int32_t *out)
{
	const size_t rb = p->row_bytes, st = p->stride;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i acc[8];
#pragma GCC unroll 8
		for (int r = 0; r < 8; r++)
			acc[r] = _mm256_setzero_si256();
		const uint8_t *base = rows + i * st;
		/* record-major: one forward stream for the prefetchers */
#pragma GCC unroll 8
		for (int r = 0; r < 8; r++) {
			const uint8_t *rec = base + r * st;
			for (size_t c = 0; c < rb; c += 16) {
				if (c % 64 == 0)
					_mm_prefetch((const char *)(rec + c + PF_DIST), _MM_HINT_T0);
				__m256i qv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + c)));
				__m128i b = _mm_loadu_si128((const __m128i *)(rec + c));
				acc[r] = _mm256_add_epi32(
					acc[r], _mm256_madd_epi16(_mm256_cvtepi8_epi16(b), qv));
			}
		}
		_mm256_storeu_si256((__m256i *)(out + i), reduce8(acc));
	}
	for (; i < n; i++) {
		__m256i acc = _mm256_setzero_si256();
		const uint8_t *r = rows + i * st;
		for (size_t c = 0; c < rb; c += 16) {
			__m256i qv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + c)));
			__m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + c)));
			acc = _mm256_add_epi32(acc, _mm256_madd_epi16(b, qv));
		}
		__m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc),
					  _mm256_extracti128_si256(acc, 1));
		s = _mm_hadd_epi32(s, s);
		s = _mm_hadd_epi32(s, s);
		out[i] = _mm_cvtsi128_si32(s);
	}
}

static inline uint64_t word(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* 256-bit codes (the finger code): four words, fully unrolled, query words
 * in registers. */
static void ham4_one(const bh_kparams *p, const uint8_t *q, const uint8_t *rows, size_t n,
		     int32_t *out)
{
	const size_t st = p->stride;
	const uint64_t q0 = word(q), q1 = word(q + 8), q2 = word(q + 16), q3 = word(q + 24);
	const int32_t dim = (int32_t)p->dim;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = rows + i * st;
		if (i % 2 == 0)
			_mm_prefetch((const char *)(r + PF_DIST), _MM_HINT_T0);
		int64_t d = _mm_popcnt_u64(word(r) ^ q0) + _mm_popcnt_u64(word(r + 8) ^ q1) +
			    _mm_popcnt_u64(word(r + 16) ^ q2) + _mm_popcnt_u64(word(r + 24) ^ q3);
		out[i] = dim - (int32_t)d;
	}
}

static void ham_one(const bh_kparams *p, const uint8_t *q, const uint8_t *rows, size_t n,
		    int32_t *out)
{
	if (p->row_bytes == 32) {
		ham4_one(p, q, rows, n, out);
		return;
	}
	const size_t nw = p->row_bytes / 8, st = p->stride;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = rows + i * st;
		if (i % 2 == 0)
			_mm_prefetch((const char *)(r + PF_DIST), _MM_HINT_T0);
		uint64_t d0 = 0, d1 = 0;
		size_t w = 0;
		for (; w + 2 <= nw; w += 2) {
			d0 += (uint64_t)_mm_popcnt_u64(word(q + 8 * w) ^ word(r + 8 * w));
			d1 += (uint64_t)_mm_popcnt_u64(word(q + 8 * w + 8) ^ word(r + 8 * w + 8));
		}
		if (w < nw)
			d0 += (uint64_t)_mm_popcnt_u64(word(q + 8 * w) ^ word(r + 8 * w));
		out[i] = (int32_t)(p->dim - (uint32_t)(d0 + d1));
	}
}

void bh_scores_avx2(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		    const uint8_t *rows, size_t n, int32_t *out)
{
	for (unsigned j = 0; j < nq; j++) {
		if (p->kernel == BH_KERNEL_DOT_I8)
			dot_one(p, q[j], rows, n, out + j * n);
		else
			ham_one(p, q[j], rows, n, out + j * n);
	}
}

void bh_filter_avx2(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits)
{
	/* sc >= floor  <=>  sc > floor - 1; INT32_MIN passes everything */
	const __m256i f = _mm256_set1_epi32(floor == INT32_MIN ? 0 : floor - 1);
	for (size_t w = 0; w < (n + 63) / 64; w++) {
		uint64_t m = 0;
		size_t i = w * 64, end = n < i + 64 ? n : i + 64;
		for (; i + 8 <= end; i += 8) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(sc + i));
			uint64_t k = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, f)));
			m |= (floor == INT32_MIN ? 0xFFu : k) << (i - w * 64);
		}
		for (; i < end; i++)
			m |= (uint64_t)(sc[i] >= floor) << (i - w * 64);
		bits[w] = m;
	}
}
