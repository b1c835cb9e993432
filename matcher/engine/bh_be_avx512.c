/* bh_be_avx512.c - AVX-512 score kernels (compiled with -mavx512f/bw/vl,
 * -mavx512vnni, -mavx512vpopcntdq; entered only when bh_cpu_features()
 * reports all of them).
 *
 * DOT_I8 with VNNI: vpdpbusd multiplies unsigned by signed bytes, so the
 * record byte r is fed as r ^ 0x80 = r + 128 (unsigned) and the query as is:
 *     sum (r + 128) * q = sum r*q + 128 * sum q.
 * 128 * sum(q) is computed once per query and subtracted; everything stays in
 * exact int32 (|partial| <= dim * 255 * 128, fine for any sane dim), so the
 * score is bit-identical to the scalar reference.  Bytes past the row end are
 * loaded as zero for both sides and contribute (0 + 128) * 0 = 0.
 * HAMMING: vpopcntd on the XOR, summed per 32-bit lane.
 *
 * Sixteen (query, record) pairs are accumulated in sixteen vectors (one
 * query x 16 records, or two queries x 8 records so each record load serves
 * two queries) and reduced together by one transpose-and-add tree. */
#include <immintrin.h>

#include "bh_be_cpu.h"

#define AI static inline __attribute__((always_inline))

/* out lane r = sum of the 16 int32 lanes of a[r]. */
AI __m512i reduce16(const __m512i a[16])
{
	__m512i b[8], c[4], d[2];
	for (int i = 0; i < 8; i++)
		b[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(a[2 * i], a[2 * i + 1], 0x44),
					_mm512_shuffle_i32x4(a[2 * i], a[2 * i + 1], 0xEE));
	for (int m = 0; m < 4; m++) /* c[m] 128-bit lane j = record 4m + j */
		c[m] = _mm512_add_epi32(_mm512_shuffle_i32x4(b[2 * m], b[2 * m + 1], 0x88),
					_mm512_shuffle_i32x4(b[2 * m], b[2 * m + 1], 0xDD));
	for (int h = 0; h < 2; h++)
		d[h] = _mm512_add_epi32(_mm512_unpacklo_epi32(c[2 * h], c[2 * h + 1]),
					_mm512_unpackhi_epi32(c[2 * h], c[2 * h + 1]));
	__m512i e = _mm512_add_epi32(_mm512_unpacklo_epi64(d[0], d[1]),
				     _mm512_unpackhi_epi64(d[0], d[1]));
	/* e lane 4L + j holds record 4j + L: transpose back */
	const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	return _mm512_permutexvar_epi32(idx, e);
}

AI __mmask64 chunk_mask(size_t left)
{
	return left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
}

AI __m512i step(bh_kernel kern, __m512i acc, __m512i r, __m512i q)
{
	if (kern == BH_KERNEL_DOT_I8)
		return _mm512_dpbusd_epi32(acc, _mm512_xor_si512(r, _mm512_set1_epi8((char)0x80)), q);
	return _mm512_add_epi32(acc, _mm512_popcnt_epi32(_mm512_xor_si512(r, q)));
}

/* 128 * sum(q) for DOT (the bias to take back), 0 for HAMMING. */
static int32_t query_bias(const bh_kparams *p, const uint8_t *q)
{
	if (p->kernel != BH_KERNEL_DOT_I8)
		return 0;
	__m512i acc = _mm512_setzero_si512();
	for (size_t c = 0; c < p->row_bytes; c += 64) {
		__m512i v = _mm512_maskz_loadu_epi8(chunk_mask(p->row_bytes - c), q + c);
		acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi8(1), v);
	}
	return 128 * _mm512_reduce_add_epi32(acc);
}

/* Scores of nqb (1 or 2) queries against nr records (nr <= 16 / nqb).
 * Lanes: query j's record r is pair j * (16 / nqb) + r. */
AI void block(bh_kernel kern, const bh_kparams *p, const uint8_t *const *q, int nqb,
	      const int32_t *bias, const uint8_t *base, int nr, int32_t *const *o)
{
	const int per = 16 / nqb;
	__m512i acc[16];
	for (int i = 0; i < 16; i++)
		acc[i] = _mm512_setzero_si512();
	for (size_t c = 0; c < p->row_bytes; c += 64) {
		__mmask64 m = chunk_mask(p->row_bytes - c);
		__m512i qv0 = _mm512_maskz_loadu_epi8(m, q[0] + c);
		__m512i qv1 = nqb == 2 ? _mm512_maskz_loadu_epi8(m, q[1] + c) : qv0;
		for (int r = 0; r < nr; r++) {
			__m512i rv = _mm512_maskz_loadu_epi8(m, base + (size_t)r * p->stride + c);
			acc[r] = step(kern, acc[r], rv, qv0);
			if (nqb == 2)
				acc[per + r] = step(kern, acc[per + r], rv, qv1);
		}
	}
	__m512i s = reduce16(acc);
	if (kern == BH_KERNEL_DOT_I8) {
		__m512i b = nqb == 2 ? _mm512_mask_set1_epi32(_mm512_set1_epi32(bias[0]), 0xFF00, bias[1])
				     : _mm512_set1_epi32(bias[0]);
		s = _mm512_sub_epi32(s, b);
	} else {
		s = _mm512_sub_epi32(_mm512_set1_epi32((int)p->dim), s);
	}
	__mmask16 keep = (__mmask16)((1u << nr) - 1);
	_mm512_mask_storeu_epi32(o[0], keep, s);
	if (nqb == 2) /* lanes 8..15 -> second query */
		_mm512_mask_storeu_epi32(o[1], keep, _mm512_shuffle_i32x4(s, s, 0xEE));
}

AI void scores_k(bh_kernel kern, const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		 const uint8_t *rows, size_t n, int32_t *out)
{
	unsigned j = 0;
	for (; j + 2 <= nq; j += 2) { /* two queries share each record load */
		int32_t bias[2] = {query_bias(p, q[j]), query_bias(p, q[j + 1])};
		size_t i = 0;
		for (; i + 8 <= n; i += 8) {
			int32_t *o[2] = {out + j * n + i, out + (j + 1) * n + i};
			block(kern, p, q + j, 2, bias, rows + i * p->stride, 8, o);
		}
		if (i < n) {
			int32_t *o[2] = {out + j * n + i, out + (j + 1) * n + i};
			block(kern, p, q + j, 2, bias, rows + i * p->stride, (int)(n - i), o);
		}
	}
	for (; j < nq; j++) {
		int32_t bias[1] = {query_bias(p, q[j])};
		size_t i = 0;
		for (; i + 16 <= n; i += 16) {
			int32_t *o[1] = {out + j * n + i};
			block(kern, p, q + j, 1, bias, rows + i * p->stride, 16, o);
		}
		if (i < n) {
			int32_t *o[1] = {out + j * n + i};
			block(kern, p, q + j, 1, bias, rows + i * p->stride, (int)(n - i), o);
		}
	}
}

void bh_scores_avx512(const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		      const uint8_t *rows, size_t n, int32_t *out)
{
	if (p->kernel == BH_KERNEL_DOT_I8)
		scores_k(BH_KERNEL_DOT_I8, p, q, nq, rows, n, out);
	else
		scores_k(BH_KERNEL_HAMMING, p, q, nq, rows, n, out);
}
