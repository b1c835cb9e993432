/* bh_face_conv_avx512.c - AVX-512 direct convolutions (see bh_face_conv.h).
 *
 * Built with -mavx512f/bw/vl/bf16 in its own static library; bh_face_nn.c
 * enters it only after CPUID says AVX-512 F, BW and VL, and uses the
 * bfloat16 tiles (tileb_*) only for filters it packed after CPUID said
 * AVX512_BF16.
 *
 * Full convolution: a tile is R output pixels (one row, or RY rows of RX)
 * times NV*16 output channels, held in R*NV zmm accumulators.  For every tap
 * and input channel (bfloat16: pair of input channels) the NV filter vectors
 * are loaded once and each of the R input values is broadcast into an FMA
 * (vdpbf16ps) whose memory operand takes the broadcast, so the loop is
 * bound by the multiply units rather than by loads.  R*NV stays at 24 or
 * less so accumulators, filter vectors and a spare fit the 32 registers. */
#include "bh_face_conv.h"
#include "bh_face_conv_epi.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

/* Widest tile per NV (index NV); RMAX_ALL bounds the dispatch table. */
static const int rmax_of[5] = {0, 16, 12, 8, 6};
#define RMAX_ALL 16

/* The sums of one tile: RY rows of RX pixels from (oy, ox), channels
 * co .. co+16*NV-1, into acc[r][v] with r = ry*RX + rx.  x points at input
 * pixel (oy*s, ox*s): floats, or bfloat16 when BF (j->in16). */
static inline __attribute__((always_inline)) void accumulate(const bh_conv_job *j, const void *x,
							      int co, __m512 acc[][4], const int RY,
							      const int RX, const int NV, const int BF)
{
	const int R = RY * RX;
	const int cin = j->cin, cout = j->cout, k = j->k, xs = j->s * cin;
	const size_t row = (size_t)j->iw * cin, ys = (size_t)j->s * row;
#pragma GCC unroll 16
	for (int r = 0; r < R; r++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++)
			acc[r][v] = _mm512_setzero_ps();
	/* vector v of the tile: block (co + 16v) / W, offset (co + 16v) % W;
	 * a bfloat16 filter row holds pairs of input channels (2 values per
	 * output channel) */
	const int W = bh_conv_block(cout), per = BF ? 2 : 1;
	const size_t bstride = (size_t)k * k * cin * W;
	const uint16_t *fb[4];
#pragma GCC unroll 4
	for (int v = 0; v < NV; v++)
		fb[v] = j->fpk + BH_CONV_PACK_HEAD + (size_t)((co + 16 * v) / W) * bstride +
			(size_t)((co + 16 * v) % W) * per;
	/* For one filter row ky, the (kx, ci) taps are k*cin consecutive values
	 * of the input row and k*cin consecutive rows of the packed filter, so
	 * they run as one loop (no inner loop of 3 for the RGB layers). */
	const int kc = k * cin;
	for (int ky = 0; ky < k; ky++) {
		const size_t tap = (size_t)ky * kc * W;
		if (BF) {
			/* two input channels per step: vdpbf16ps adds x[ci] * w[ci] +
			 * x[ci+1] * w[ci+1] into each float lane */
			const uint16_t *xp = (const uint16_t *)x + ky * row;
			for (int t = 0; t < kc; t += 2) {
				__m512i w[4];
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					w[v] = _mm512_loadu_si512(fb[v] + tap + (size_t)t * W);
#pragma GCC unroll 16
				for (int r = 0; r < R; r++) {
					int32_t pair;
					memcpy(&pair, xp + (size_t)(r / RX) * ys + (size_t)(r % RX) * xs + t,
					       sizeof pair);
					const __m512bh b = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						acc[r][v] = _mm512_dpbf16_ps(acc[r][v], b, (__m512bh)w[v]);
				}
			}
		} else {
			const float *xp = (const float *)x + ky * row;
			for (int t = 0; t < kc; t++) {
				__m512 w[4];
#pragma GCC unroll 4
				for (int v = 0; v < NV; v++)
					w[v] = _mm512_cvtph_ps(_mm256_loadu_si256(
					    (const __m256i *)(fb[v] + tap + (size_t)t * W)));
#pragma GCC unroll 16
				for (int r = 0; r < R; r++) {
					const __m512 b = _mm512_set1_ps(
					    xp[(size_t)(r / RX) * ys + (size_t)(r % RX) * xs + t]);
#pragma GCC unroll 4
					for (int v = 0; v < NV; v++)
						acc[r][v] = _mm512_fmadd_ps(b, w[v], acc[r][v]);
				}
			}
		}
	}
}

/* One tile, stored: o is the output offset of (oy, ox, co). */
static inline __attribute__((always_inline)) void tile(const bh_conv_job *j, const void *x,
							int co, size_t o, const int RY, const int RX,
							const int NV, const int BF)
{
	__m512 acc[RMAX_ALL][4];
	accumulate(j, x, co, acc, RY, RX, NV, BF);
#pragma GCC unroll 16
	for (int r = 0; r < RY * RX; r++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++) {
			const size_t at =
			    o + ((size_t)(r / RX) * j->ow + (size_t)(r % RX)) * j->cout + 16 * v;
			_mm512_storeu_ps(j->out + at, epilogue(j, acc[r][v], co + 16 * v, at));
		}
}

/* One tile of a convolution followed by 2x2 max pooling with stride 2
 * (j->pool2): RY (1 or 2) conv rows from an even oy, RX conv columns from an
 * even ox; a pooling window clipped by the tile's odd edge pools what is
 * there (the last row / column of an odd-sized output, as TensorFlow's 'same'
 * pooling).  The epilogue runs before the max (it has no residual and is
 * monotone: bh_face_nn.c checks).  o is the pooled offset of (oy/2, ox/2, co). */
static inline __attribute__((always_inline)) void tile_pool(const bh_conv_job *j, const void *x,
							     int co, size_t o, const int RY,
							     const int RX, const int NV, const int BF)
{
	__m512 acc[RMAX_ALL][4];
	accumulate(j, x, co, acc, RY, RX, NV, BF);
#pragma GCC unroll 8
	for (int p = 0; p < (RX + 1) / 2; p++)
#pragma GCC unroll 4
		for (int v = 0; v < NV; v++) {
			__m512 m = epilogue(j, acc[2 * p][v], co + 16 * v, 0);
			if (2 * p + 1 < RX)
				m = _mm512_max_ps(m, epilogue(j, acc[2 * p + 1][v], co + 16 * v, 0));
			if (RY == 2) {
				m = _mm512_max_ps(m, epilogue(j, acc[RX + 2 * p][v], co + 16 * v, 0));
				if (2 * p + 1 < RX)
					m = _mm512_max_ps(
					    m, epilogue(j, acc[RX + 2 * p + 1][v], co + 16 * v, 0));
			}
			_mm512_storeu_ps(j->out + o + (size_t)p * j->cout + 16 * v, m);
		}
}

void bh_conv_pack_avx512(const float *filt, int k, int cin, int cout, int bf16, uint16_t *out)
{
	const int W = bh_conv_block(cout);
	const size_t rows = (size_t)k * k * cin;
	out[0] = bf16 ? BH_CONV_PACK_BF16 : BH_CONV_PACK_F16;
	uint16_t *d = out + BH_CONV_PACK_HEAD;
	for (int b = 0; b < cout / W; b++)
		for (size_t r = 0; r < rows; r += (size_t)(bf16 ? 2 : 1))
			for (int w = 0; w < W; w += 16) {
				const __m512 lo = _mm512_loadu_ps(filt + r * cout + b * W + w);
				uint16_t *o = d + ((size_t)b * rows + r) * W + (size_t)w * (bf16 ? 2 : 1);
				if (!bf16) {
					_mm256_storeu_si256((__m256i *)o,
							    _mm512_cvtps_ph(lo, _MM_FROUND_TO_NEAREST_INT));
					continue;
				}
				/* (row r, row r+1) interleaved per output channel */
				const __m512 hi = _mm512_loadu_ps(filt + (r + 1) * cout + b * W + w);
				const __m512i idx = _mm512_set_epi16(
				    31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
				    21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
				const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
				_mm512_storeu_si512(o, _mm512_permutexvar_epi16(idx, both));
			}
}

typedef void (*tile_fn)(const bh_conv_job *j, const void *x, int co, size_t o);

/* Every tile shape twice: tile_* on float input with half filters, tileb_*
 * on bfloat16 input and filters. */
#define TILE(R, NV)                                                                        \
	static void tile_##R##_##NV(const bh_conv_job *j, const void *x, int co, size_t o)  \
	{                                                                                  \
		tile(j, x, co, o, 1, R, NV, 0);                                            \
	}                                                                                  \
	static void tileb_##R##_##NV(const bh_conv_job *j, const void *x, int co, size_t o) \
	{                                                                                  \
		tile(j, x, co, o, 1, R, NV, 1);                                            \
	}
#define TILES_6(NV) TILE(1, NV) TILE(2, NV) TILE(3, NV) TILE(4, NV) TILE(5, NV) TILE(6, NV)
#define TILES_8(NV) TILES_6(NV) TILE(7, NV) TILE(8, NV)
#define TILES_12(NV) TILES_8(NV) TILE(9, NV) TILE(10, NV) TILE(11, NV) TILE(12, NV)
#define TILES_16(NV) TILES_12(NV) TILE(13, NV) TILE(14, NV) TILE(15, NV) TILE(16, NV)
TILES_16(1)
TILES_12(2)
TILES_8(3)
TILES_6(4)

#define ROW6(P, NV) P##1_##NV, P##2_##NV, P##3_##NV, P##4_##NV, P##5_##NV, P##6_##NV
#define ROW8(P, NV) ROW6(P, NV), P##7_##NV, P##8_##NV
#define ROW12(P, NV) ROW8(P, NV), P##9_##NV, P##10_##NV, P##11_##NV, P##12_##NV
#define ROW16(P, NV) ROW12(P, NV), P##13_##NV, P##14_##NV, P##15_##NV, P##16_##NV
/* [bf16][NV][R] */
static const tile_fn tiles[2][5][RMAX_ALL + 1] = {
	{{0}, {0, ROW16(tile_, 1)}, {0, ROW12(tile_, 2)}, {0, ROW8(tile_, 3)}, {0, ROW6(tile_, 4)}},
	{{0}, {0, ROW16(tileb_, 1)}, {0, ROW12(tileb_, 2)}, {0, ROW8(tileb_, 3)},
	 {0, ROW6(tileb_, 4)}},
};

#define TILEP(RY, RX, NV)                                                                 \
	static void tilep_##RY##_##RX##_##NV(const bh_conv_job *j, const void *x, int co,      \
					     size_t o)                                         \
	{                                                                                  \
		tile_pool(j, x, co, o, RY, RX, NV, 0);                                     \
	}                                                                                  \
	static void tilepb_##RY##_##RX##_##NV(const bh_conv_job *j, const void *x, int co,     \
					      size_t o)                                        \
	{                                                                                  \
		tile_pool(j, x, co, o, RY, RX, NV, 1);                                     \
	}
#define TILEP_6(RY, NV)                                                                    \
	TILEP(RY, 1, NV) TILEP(RY, 2, NV) TILEP(RY, 3, NV) TILEP(RY, 4, NV) TILEP(RY, 5, NV) \
	    TILEP(RY, 6, NV)
TILEP_6(1, 2)
TILEP_6(2, 2)
TILEP_6(1, 1)
TILEP_6(2, 1)
TILEP(1, 7, 1) TILEP(1, 8, 1) TILEP(2, 7, 1) TILEP(2, 8, 1)
#define PROW6(P, RY, NV)                                                                   \
	P##RY##_1_##NV, P##RY##_2_##NV, P##RY##_3_##NV, P##RY##_4_##NV, P##RY##_5_##NV,       \
	    P##RY##_6_##NV
#define PROW8(P, RY) PROW6(P, RY, 1), P##RY##_7_1, P##RY##_8_1
/* [bf16][NV - 1][RY - 1][RX]: NV 1 takes 2 x 8 pixels, NV 2 takes 2 x 6. */
static const tile_fn ptiles[2][2][2][9] = {
	{{{0, PROW8(tilep_, 1)}, {0, PROW8(tilep_, 2)}},
	 {{0, PROW6(tilep_, 1, 2)}, {0, PROW6(tilep_, 2, 2)}}},
	{{{0, PROW8(tilepb_, 1)}, {0, PROW8(tilepb_, 2)}},
	 {{0, PROW6(tilepb_, 1, 2)}, {0, PROW6(tilepb_, 2, 2)}}},
};

/* Input pixel (y, x) of the job, in the input's element type. */
static inline const void *in_at(const bh_conv_job *j, size_t y, size_t x)
{
	const size_t e = (y * j->iw + x) * j->cin;
	return j->bf16 ? (const void *)(j->in16 + e) : (const void *)(j->in + e);
}

static void conv_pool2(const bh_conv_job *j)
{
	const int nv = j->cout % 32 == 0 ? 2 : 1, rxmax = nv == 1 ? 8 : 6;
	const int pw = (j->ow + 1) / 2;
	for (int co = 0; co < j->cout; co += 16 * nv)
		for (int oy = 0; oy < j->oh; oy += 2) {
			const int ry = j->oh - oy < 2 ? 1 : 2;
			for (int ox = 0; ox < j->ow; ox += rxmax) {
				const int rx = j->ow - ox < rxmax ? j->ow - ox : rxmax;
				ptiles[j->bf16][nv - 1][ry - 1][rx](
				    j, in_at(j, (size_t)oy * j->s, (size_t)ox * j->s), co,
				    ((size_t)(oy / 2) * pw + ox / 2) * j->cout + co);
			}
		}
}

/* 3x3 outputs (the recognition net's 256-channel layers): all nine pixels in
 * one tile, so each 2.4 MB filter is streamed once instead of once per row
 * (those layers are bound by the filter's trip from memory, not by FMAs). */
static void tile_3x3_2(const bh_conv_job *j, const void *x, int co, size_t o)
{
	if (j->bf16)
		tile(j, x, co, o, 3, 3, 2, 1);
	else
		tile(j, x, co, o, 3, 3, 2, 0);
}

void bh_conv_avx512(const bh_conv_job *j)
{
	if (j->pool2) {
		conv_pool2(j);
		return;
	}
	if (j->oh == 3 && j->ow == 3 && j->cout % 32 == 0) {
		for (int co = 0; co < j->cout; co += 32)
			tile_3x3_2(j, in_at(j, 0, 0), co, (size_t)co);
		return;
	}
	for (int co = 0; co < j->cout;) {
		const int left = (j->cout - co) / 16, nv = left < 4 ? left : 4, rmax = rmax_of[nv];
		/* Tiles of near-equal width: 8 pixels run as 4 + 4, not 6 + 2. */
		const int ntiles = (j->ow + rmax - 1) / rmax;
		for (int oy = 0; oy < j->oh; oy++)
			for (int t = 0, ox = 0; t < ntiles; t++) {
				const int r = (j->ow - ox) / (ntiles - t);
				tiles[j->bf16][nv][r](j, in_at(j, (size_t)oy * j->s, (size_t)ox * j->s), co,
						      ((size_t)oy * j->ow + ox) * j->cout + co);
				ox += r;
			}
		co += 16 * nv;
	}
}

void bh_conv_to_bf16(const float *src, size_t n, uint16_t *dst)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(dst + i),
				    (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
	if (i < n) {
		const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm256_mask_storeu_epi16(dst + i, m,
					 (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i)));
	}
}

/* Depthwise 3x3: the nine filter vectors of a 16-channel slice stay in
 * registers while the slice is swept over every output pixel. */
static void dw3(const bh_conv_job *j)
{
	const int c = j->cin, s = j->s;
	const size_t row = (size_t)j->iw * c;
	for (int co = 0; co < c; co += 16) {
		__m512 w[9];
		for (int t = 0; t < 9; t++)
			w[t] = _mm512_loadu_ps(j->filt + (size_t)t * c + co);
		for (int oy = 0; oy < j->oh; oy++)
			for (int ox = 0; ox < j->ow; ox++) {
				const float *x = j->in + (size_t)oy * s * row + ((size_t)ox * s) * c + co;
				__m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 3
				for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
					for (int kx = 0; kx < 3; kx++)
						acc = _mm512_fmadd_ps(
						    _mm512_loadu_ps(x + ky * row + (size_t)kx * c), w[ky * 3 + kx],
						    acc);
				const size_t o = ((size_t)oy * j->ow + ox) * c + co;
				_mm512_storeu_ps(j->out + o, epilogue(j, acc, co, o));
			}
	}
}

static void dw_any(const bh_conv_job *j)
{
	const int c = j->cin, s = j->s, k = j->k;
	const size_t row = (size_t)j->iw * c;
	for (int oy = 0; oy < j->oh; oy++)
		for (int ox = 0; ox < j->ow; ox++)
			for (int co = 0; co < c; co += 16) {
				const float *x = j->in + (size_t)oy * s * row + ((size_t)ox * s) * c + co;
				__m512 acc = _mm512_setzero_ps();
				for (int ky = 0; ky < k; ky++)
					for (int kx = 0; kx < k; kx++)
						acc = _mm512_fmadd_ps(
						    _mm512_loadu_ps(x + ky * row + (size_t)kx * c),
						    _mm512_loadu_ps(j->filt + (size_t)(ky * k + kx) * c + co), acc);
				const size_t o = ((size_t)oy * j->ow + ox) * c + co;
				_mm512_storeu_ps(j->out + o, epilogue(j, acc, co, o));
			}
}

void bh_dwconv_avx512(const bh_conv_job *j)
{
	if (j->k == 3)
		dw3(j);
	else
		dw_any(j);
}
