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
 * Few queries (1-3, the memory-bound case): sixteen (query, record) pairs are
 * accumulated in sixteen vectors (one query x 16 records, or two queries x 8
 * records so each record load serves two queries) and reduced together by one
 * transpose-and-add tree.
 * Batches (4+ queries): the block of records is first repacked into
 * "panels" (16 records x one 4-byte group per vector, DOT_I8 already biased
 * by 0x80), then every vpdpbusd (or vpxord + vpopcntd for HAMMING) takes a
 * panel vector and one broadcast 4-byte group of a query: 16 (query, record)
 * partial sums per instruction with no horizontal reduction at all, 8 queries
 * x 32 records per register block.
 * The repacking is paid once per block and shared by the whole tile. */
#include <immintrin.h>

#include "bh_be_cpu.h"

#define AI static inline __attribute__((always_inline))
/* Software prefetch distance for the single-query stream (bytes ahead).  The
 * hardware prefetcher alone left ~35% of the DRAM bandwidth unused. */
#define BH_PF_DIST 4096

/* out lane r = sum of the 16 int32 lanes of a[r]. */
AI __m512i reduce16(const __m512i a[16])
{
	__m512i b[8], c[4], d[2];
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		b[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(a[2 * i], a[2 * i + 1], 0x44),
					_mm512_shuffle_i32x4(a[2 * i], a[2 * i + 1], 0xEE));
#pragma GCC unroll 4
	for (int m = 0; m < 4; m++) /* c[m] 128-bit lane j = record 4m + j */
		c[m] = _mm512_add_epi32(_mm512_shuffle_i32x4(b[2 * m], b[2 * m + 1], 0x88),
					_mm512_shuffle_i32x4(b[2 * m], b[2 * m + 1], 0xDD));
#pragma GCC unroll 2
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

/* Loads the `left` bytes (>= 8, a multiple of 8) at p, zero-extended to 64:
 * plain loads for full chunks and 32-byte tails (a 32-byte record never
 * straddles a cache line), a masked load otherwise. */
AI __m512i load_chunk(const uint8_t *p, size_t left)
{
	if (left >= 64)
		return _mm512_loadu_si512((const void *)p);
	if (left == 32)
		return _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)p));
	return _mm512_maskz_loadu_epi8(chunk_mask(left), p);
}

/* Scores of nqb (1 or 2) queries against nr records (nr <= 16 / nqb).
 * Lanes: query j's record r is pair j * (16 / nqb) + r.  Records are read
 * one after the other, each front to back: a single forward stream, which
 * the hardware prefetcher follows. */
AI void block(bh_kernel kern, const bh_kparams *p, const uint8_t *const *q, int nqb,
	      const int32_t *bias, const uint8_t *base, int nr, int32_t *const *o)
{
	const int per = 16 / nqb;
	const size_t rb = p->row_bytes;
	/* full unrolling keeps acc[] in registers (-O2 alone would not) */
	__m512i acc[16];
#pragma GCC unroll 16
	for (int i = 0; i < 16; i++)
		acc[i] = _mm512_setzero_si512();
#pragma GCC unroll 16
	for (int r = 0; r < nr; r++) {
		const uint8_t *rec = base + (size_t)r * p->stride;
		for (size_t c = 0; c < rb; c += 64) {
			_mm_prefetch((const char *)(rec + c + BH_PF_DIST), _MM_HINT_T0);
			__m512i rv = load_chunk(rec + c, rb - c);
			acc[r] = step(kern, acc[r], rv, load_chunk(q[0] + c, rb - c));
			if (nqb == 2)
				acc[per + r] = step(kern, acc[per + r], rv, load_chunk(q[1] + c, rb - c));
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

/* ---- single query, 256-bit codes packed in 32-byte rows ------------------
 * Two codes per vector against the query in both halves; vpopcntq gives four
 * 64-bit counts per code, summed by a two-level unpack/shuffle tree: about
 * 2.5 instructions per code instead of 7, which keeps the Hamming stream
 * memory-bound. */
static void ham32_one(const bh_kparams *p, const uint8_t *q, const uint8_t *rows, size_t n,
		      int32_t *out)
{
	const __m512i qq = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
	const __m512i dim = _mm512_set1_epi32((int)p->dim);
	/* tree output order is 0,2,1,3,4,6,5,7 per 8 codes: swap back */
	const __m512i fix = _mm512_setr_epi32(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
	for (size_t i = 0; i + 16 <= n; i += 16) {
		const uint8_t *b = rows + i * 32;
		__m512i v[8], w[4], x[2];
#pragma GCC unroll 8
		for (int k = 0; k < 8; k++) {
			_mm_prefetch((const char *)(b + 64 * k + BH_PF_DIST), _MM_HINT_T0);
			v[k] = _mm512_popcnt_epi64(
				_mm512_xor_si512(_mm512_loadu_si512((const void *)(b + 64 * k)), qq));
		}
#pragma GCC unroll 4
		for (int m = 0; m < 4; m++) /* [a01 c01 | a23 c23 | b01 d01 | b23 d23] */
			w[m] = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2 * m], v[2 * m + 1]),
						_mm512_unpackhi_epi64(v[2 * m], v[2 * m + 1]));
#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) /* [a c b d A C B D] full counts */
			x[h] = _mm512_add_epi64(_mm512_shuffle_i64x2(w[2 * h], w[2 * h + 1], 0x88),
						_mm512_shuffle_i64x2(w[2 * h], w[2 * h + 1], 0xDD));
		__m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(x[0])),
					       _mm512_cvtepi64_epi32(x[1]), 1);
		z = _mm512_permutexvar_epi32(fix, z);
		_mm512_storeu_si512((void *)(out + i), _mm512_sub_epi32(dim, z));
	}
}

/* ---- batched DOT_I8: panels ---------------------------------------------- */

#define PANEL_BUF 65536 /* bytes of repacked records per call (stack) */

/* In-place transpose of a 16 x 16 matrix of int32 (a[r] lane c -> a[c] lane r). */
AI void transpose16(__m512i a[16])
{
	__m512i b[16], c[16];
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		b[2 * i] = _mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]);
		b[2 * i + 1] = _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]);
	}
	/* c[4i + m] 128-bit lane L = rows 4i..4i+3 at column 4L + m */
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		c[4 * i + 0] = _mm512_unpacklo_epi64(b[4 * i], b[4 * i + 2]);
		c[4 * i + 1] = _mm512_unpackhi_epi64(b[4 * i], b[4 * i + 2]);
		c[4 * i + 2] = _mm512_unpacklo_epi64(b[4 * i + 1], b[4 * i + 3]);
		c[4 * i + 3] = _mm512_unpackhi_epi64(b[4 * i + 1], b[4 * i + 3]);
	}
	/* 4 x 4 transpose of 128-bit lanes among c[m], c[4+m], c[8+m], c[12+m] */
#pragma GCC unroll 4
	for (int m = 0; m < 4; m++) {
		__m512i d0 = _mm512_shuffle_i32x4(c[m], c[4 + m], 0x44);
		__m512i d1 = _mm512_shuffle_i32x4(c[m], c[4 + m], 0xEE);
		__m512i d2 = _mm512_shuffle_i32x4(c[8 + m], c[12 + m], 0x44);
		__m512i d3 = _mm512_shuffle_i32x4(c[8 + m], c[12 + m], 0xEE);
		a[m] = _mm512_shuffle_i32x4(d0, d2, 0x88);
		a[4 + m] = _mm512_shuffle_i32x4(d0, d2, 0xDD);
		a[8 + m] = _mm512_shuffle_i32x4(d1, d3, 0x88);
		a[12 + m] = _mm512_shuffle_i32x4(d1, d3, 0xDD);
	}
}

/* Panel P (records 16P..16P+15) occupies 16 * row_bytes bytes: vector g holds
 * 4-byte group g of each of its 16 records (XOR 0x80 for DOT_I8).  Records past n are
 * zero rows (their scores are computed and never stored). */
static void pack_panels(const bh_kparams *p, const uint8_t *rows, size_t n, uint8_t *pan,
			size_t npan)
{
	const size_t rb = p->row_bytes;
	/* DOT: the unsigned operand of vpdpbusd; HAMMING: bits as they are */
	const __m512i flip = _mm512_set1_epi8(p->kernel == BH_KERNEL_DOT_I8 ? (char)0x80 : 0);
	for (size_t P = 0; P < npan; P++) {
		uint8_t *dst = pan + P * 16 * rb;
		/* the loads below go across 16 rows; fetch the panel after next
		 * (possibly the next block) line by line ahead of them */
		uintptr_t ahead = (uintptr_t)rows + (P + 2) * 16 * p->stride; /* may pass the end: */
		for (size_t l = 0; l < 16 * p->stride; l += 64) /* prefetches never fault */
			_mm_prefetch((const char *)(ahead + l), _MM_HINT_T0);
		for (size_t c = 0; c < rb; c += 64) {
			__mmask64 m = chunk_mask(rb - c);
			__m512i a[16];
#pragma GCC unroll 16
			for (int r = 0; r < 16; r++) {
				size_t rec = P * 16 + (size_t)r;
				a[r] = rec < n ? _mm512_maskz_loadu_epi8(m, rows + rec * p->stride + c)
					       : _mm512_setzero_si512();
				a[r] = _mm512_xor_si512(a[r], flip);
			}
			transpose16(a);
			size_t groups = (rb - c) / 4 < 16 ? (rb - c) / 4 : 16;
			for (size_t g = 0; g < groups; g++)
				_mm512_store_si512((void *)(dst + (c / 4 + g) * 64), a[g]);
		}
	}
}

AI __m512i bcast_group(const uint8_t *q, size_t g)
{
	int32_t w;
	__builtin_memcpy(&w, q + 4 * g, 4);
	return _mm512_set1_epi32(w);
}

/* One 4-byte group of 8 queries against two panels (32 records). */
AI void tiled_step(bh_kernel kern, __m512i acc[16], __m512i v0, __m512i v1,
		   const uint8_t *const qq[8], size_t g)
{
#pragma GCC unroll 8
	for (int t = 0; t < 8; t++) {
		__m512i b = bcast_group(qq[t], g);
		if (kern == BH_KERNEL_DOT_I8) {
			acc[2 * t] = _mm512_dpbusd_epi32(acc[2 * t], v0, b);
			acc[2 * t + 1] = _mm512_dpbusd_epi32(acc[2 * t + 1], v1, b);
		} else {
			acc[2 * t] = _mm512_add_epi32(acc[2 * t],
						      _mm512_popcnt_epi32(_mm512_xor_si512(v0, b)));
			acc[2 * t + 1] = _mm512_add_epi32(
				acc[2 * t + 1], _mm512_popcnt_epi32(_mm512_xor_si512(v1, b)));
		}
	}
}

/* Scores of nq >= 1 queries against n records through panels; the caller
 * checked that the panels fit PANEL_BUF. */
AI void tiled_k(bh_kernel kern, const bh_kparams *p, const uint8_t *const *q, unsigned nq,
		const uint8_t *rows, size_t n, int32_t *out)
{
	uint8_t pan[PANEL_BUF] __attribute__((aligned(64)));
	const size_t rb = p->row_bytes, groups = rb / 4, pbytes = 16 * rb;
	size_t npan = ((n + 15) / 16 + 1) & ~(size_t)1; /* even: 2 panels per block */
	pack_panels(p, rows, n, pan, npan);
	for (unsigned j0 = 0; j0 < nq; j0 += 8) {
		const uint8_t *qq[8];
		int32_t bias[8];
		for (unsigned t = 0; t < 8; t++) { /* short tile: repeat the last query */
			qq[t] = q[j0 + t < nq ? j0 + t : nq - 1];
			bias[t] = query_bias(p, qq[t]);
		}
		for (size_t P = 0; P < npan; P += 2) {
			const uint8_t *p0 = pan + P * pbytes, *p1 = p0 + pbytes;
			__m512i acc[16];
#pragma GCC unroll 16
			for (int i = 0; i < 16; i++)
				acc[i] = _mm512_setzero_si512();
			for (size_t g = 0; g < groups; g++)
				tiled_step(kern, acc, _mm512_load_si512((const void *)(p0 + g * 64)),
					   _mm512_load_si512((const void *)(p1 + g * 64)), qq, g);
			for (unsigned t = 0; t < 8 && j0 + t < nq; t++)
				for (size_t h = 0; h < 2; h++) {
					size_t r0 = (P + h) * 16;
					if (r0 >= n)
						break;
					size_t cnt = n - r0 < 16 ? n - r0 : 16;
					/* DOT: take the bias back; HAMMING: dim - distance */
					__m512i sv = kern == BH_KERNEL_DOT_I8
							     ? _mm512_sub_epi32(acc[2 * t + h], _mm512_set1_epi32(bias[t]))
							     : _mm512_sub_epi32(_mm512_set1_epi32((int)p->dim), acc[2 * t + h]);
					_mm512_mask_storeu_epi32(out + (size_t)(j0 + t) * n + r0,
								 (__mmask16)((1u << cnt) - 1), sv);
				}
		}
	}
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
		if (kern == BH_KERNEL_HAMMING && p->row_bytes == 32 && p->stride == 32) {
			ham32_one(p, q[j], rows, n, out + j * n);
			i = n / 16 * 16;
		}
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
	size_t panels = ((n + 15) / 16 + 1) & ~(size_t)1;
	int tiled = nq >= 4 && panels * 16 * p->row_bytes <= PANEL_BUF;
	if (tiled && p->kernel == BH_KERNEL_DOT_I8)
		tiled_k(BH_KERNEL_DOT_I8, p, q, nq, rows, n, out);
	else if (tiled)
		tiled_k(BH_KERNEL_HAMMING, p, q, nq, rows, n, out);
	else if (p->kernel == BH_KERNEL_DOT_I8)
		scores_k(BH_KERNEL_DOT_I8, p, q, nq, rows, n, out);
	else
		scores_k(BH_KERNEL_HAMMING, p, q, nq, rows, n, out);
}

void bh_filter_avx512(const int32_t *sc, size_t n, int32_t floor, uint64_t *bits)
{
	const __m512i f = _mm512_set1_epi32(floor);
	for (size_t w = 0; w < (n + 63) / 64; w++) {
		uint64_t m = 0;
		for (size_t i = w * 64; i < n && i < w * 64 + 64; i += 16) {
			size_t left = n - i < 16 ? n - i : 16;
			__mmask16 ld = (__mmask16)((1u << left) - 1);
			__m512i v = _mm512_maskz_loadu_epi32(ld, sc + i);
			uint64_t k = _mm512_mask_cmpge_epi32_mask(ld, v, f);
			m |= k << (i - w * 64);
		}
		bits[w] = m;
	}
}
