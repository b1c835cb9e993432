/* bh_face_conv_amx.c - full convolutions on AMX tiles (see bh_face_conv.h).
 *
 * Built with -mamx-tile -mamx-bf16 (and AVX-512 for the epilogue) in its
 * own static library; bh_face_nn.c enters it only when bh_cpu_features()
 * says BH_CPU_AMXBF16 (which includes Linux's permission for the tile data),
 * for bfloat16-packed filters whose input channels bh_conv_amx_takes().
 *
 * Each filter tap is a matrix product.  For a segment of M <= 16 output
 * pixels along an output row:
 *   A = the M input pixels under tap (ky, kx), K channels each; they lie
 *       s*cin values apart in the zero-bordered bfloat16 input, and the tile
 *       load takes that stride, so there is no im2col copy;
 *   B = the tap's K/2 rows of the BH_CONV_PACK_BF16 filter, which already
 *       interleaves pairs of input channels per output channel as the tile
 *       product wants (16 channels = 64 bytes of each pair row);
 *   C = M x 16 float sums over every tap and every K channels (K = 32, or
 *       16 when cin is 16).
 * Products are bfloat16 and sums float, as in the vdpbf16ps kernel; only
 * the order of the sums differs.
 *
 * Tiles: 0-3 accumulate two segments x two 16-channel halves of a
 * 32-channel filter block, 4-5 hold the segments' inputs, 6-7 the filter
 * halves, so a filter tile serves two segments and an input tile 32
 * channels.  Segments of 16 pixels run under one tile configuration, the
 * rows' remainders (cols % 16) under a second.  A 1x1 stride-1 convolution
 * whose input has no border (iw == ow) is walked as one row of oh*ow pixels,
 * so its small late layers (7x7, 4x4) still fill whole tiles, unless it is
 * pooled: then the two segments are the same columns of two output rows,
 * and the epilogue takes the 2x2 maxima (the detector's layers).
 */
#include "bh_face_conv.h"
#include "bh_face_conv_epi.h"
#include "bh_mem.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The 64-byte operand of ldtilecfg, palette 1. */
typedef struct tilecfg {
	uint8_t palette, start_row;
	uint8_t reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} tilecfg;

/* Tile shapes for segments of m pixels and kc input channels per product. */
static void cfg_load(int m, int kc)
{
	tilecfg c;
	memset(&c, 0, sizeof c);
	c.palette = 1;
	for (int t = 0; t < 6; t++) {
		c.rows[t] = (uint8_t)m;
		c.colsb[t] = (uint16_t)(t < 4 ? 64 : 2 * kc); /* C: 16 floats; A: kc bf16 */
	}
	for (int t = 6; t < 8; t++) {
		c.rows[t] = (uint8_t)(kc / 2); /* B: pair rows of 16 channels */
		c.colsb[t] = 64;
	}
	_tile_loadconfig(&c);
}

/* How the kernel walks the output: rows x cols pixels; input offsets (in
 * values) of an output row and of a pixel along it. */
typedef struct walk {
	int rows, cols;
	size_t in_row, in_px;
} walk;

/* The epilogue of m pixels of one accumulator tile stored in c. */
static inline void put_rows(const bh_conv_job *j, float c[16][16], int m, size_t o, int co)
{
	for (int p = 0; p < m; p++) {
		const size_t at = o + (size_t)p * j->cout + (size_t)co;
		_mm512_storeu_ps(j->out + at, epilogue(j, _mm512_loadu_ps(c[p]), co, at));
	}
}

/* j->pool2: the 2x2 maxima of the epilogue of two output rows, a (the
 * upper) and b (NULL: a last odd row alone), m pixels from an even column;
 * a last odd column is pooled alone.  o is the pooled offset. */
static inline void put_pooled(const bh_conv_job *j, float a[16][16], float b[16][16], int m,
			      size_t o, int co)
{
	for (int p = 0; p < m; p += 2) {
		__m512 y = epilogue(j, _mm512_loadu_ps(a[p]), co, 0);
		if (p + 1 < m)
			y = _mm512_max_ps(y, epilogue(j, _mm512_loadu_ps(a[p + 1]), co, 0));
		if (b) {
			y = _mm512_max_ps(y, epilogue(j, _mm512_loadu_ps(b[p]), co, 0));
			if (p + 1 < m)
				y = _mm512_max_ps(y, epilogue(j, _mm512_loadu_ps(b[p + 1]), co, 0));
		}
		_mm512_storeu_ps(j->out + o + (size_t)(p / 2) * j->cout + (size_t)co, y);
	}
}

/* Segments at input offsets i0, i1 and output offsets o0, o1 (two = 0: the
 * first only), m pixels each: every output channel, stored with the
 * epilogue (through c); with j->pool2 the segments are the same columns of
 * two rows and o0 their pooled offset. */
static void segments(const bh_conv_job *j, int m, int kc, size_t i0, size_t o0, size_t i1,
		     size_t o1, int two, float c[4][16][16])
{
	const int k = j->k, cin = j->cin, W = bh_conv_block(j->cout);
	const size_t astride = 2 * (size_t)j->s * cin, bstride = 4 * (size_t)W; /* bytes */
	const size_t irow = (size_t)j->iw * cin, blk = (size_t)k * k * cin * W;
	const uint16_t *x0 = j->in16 + i0, *x1 = j->in16 + i1;
	for (int co = 0; co < j->cout; co += W) {
		const uint16_t *fb = j->fpk + BH_CONV_PACK_HEAD + (size_t)(co / W) * blk;
		_tile_zero(0);
		_tile_zero(1);
		_tile_zero(2);
		_tile_zero(3);
		for (int ky = 0; ky < k; ky++)
			for (int kx = 0; kx < k; kx++) {
				const size_t tin = (size_t)ky * irow + (size_t)kx * cin;
				const uint16_t *ft = fb + (size_t)(ky * k + kx) * cin * W;
				for (int c0 = 0; c0 < cin; c0 += kc) {
					const uint16_t *b = ft + (size_t)c0 * W;
					_tile_loadd(4, x0 + tin + c0, astride);
					_tile_loadd(6, b, bstride);
					_tile_dpbf16ps(0, 4, 6);
					if (two) {
						_tile_loadd(5, x1 + tin + c0, astride);
						_tile_dpbf16ps(2, 5, 6);
					}
					if (W == 32) {
						_tile_loadd(7, b + 32, bstride);
						_tile_dpbf16ps(1, 4, 7);
						if (two)
							_tile_dpbf16ps(3, 5, 7);
					}
				}
			}
		_tile_stored(0, c[0], 64);
		_tile_stored(1, c[1], 64);
		_tile_stored(2, c[2], 64);
		_tile_stored(3, c[3], 64);
		for (int h = 0; h < W / 16; h++) {
			if (j->pool2) {
				put_pooled(j, c[h], two ? c[2 + h] : NULL, m, o0, co + 16 * h);
				continue;
			}
			put_rows(j, c[h], m, o0, co + 16 * h);
			if (two)
				put_rows(j, c[2 + h], m, o1, co + 16 * h);
		}
	}
}

/* Segment t of the walk: n per row, starting at column x0 + (t % n) * 16. */
static void seg_at(const bh_conv_job *j, const walk *w, int t, int n, int x0, size_t *i,
		   size_t *o)
{
	const int r = t / n, x = x0 + (t % n) * 16;
	*i = (size_t)r * w->in_row + (size_t)x * w->in_px;
	*o = ((size_t)r * w->cols + (size_t)x) * j->cout;
}

/* Pooled: the same segments, two rows at a time. */
static void run_pooled(const bh_conv_job *j, const walk *w, int n, int x0, int m, int kc,
		       float c[4][16][16])
{
	const size_t pw = (size_t)(w->cols + 1) / 2;
	for (int r = 0; r < w->rows; r += 2)
		for (int t = 0; t < n; t++) {
			const int x = x0 + 16 * t; /* even */
			const size_t i = (size_t)r * w->in_row + (size_t)x * w->in_px;
			const size_t o = ((size_t)(r / 2) * pw + (size_t)(x / 2)) * j->cout;
			segments(j, m, kc, i, o, i + w->in_row, 0, r + 1 < w->rows, c);
		}
}

/* n segments per row from column x0, m pixels each, two at a time. */
static void run(const bh_conv_job *j, const walk *w, int n, int x0, int m, int kc,
		float c[4][16][16])
{
	const int total = w->rows * n;
	cfg_load(m, kc);
	if (j->pool2) {
		run_pooled(j, w, n, x0, m, kc, c);
		return;
	}
	for (int t = 0; t < total; t += 2) {
		size_t i0, o0, i1 = 0, o1 = 0;
		seg_at(j, w, t, n, x0, &i0, &o0);
		if (t + 1 < total)
			seg_at(j, w, t + 1, n, x0, &i1, &o1);
		segments(j, m, kc, i0, o0, i1, o1, t + 1 < total, c);
	}
}

void bh_conv_amx(const bh_conv_job *j)
{
	const int kc = j->cin == 16 ? 16 : 32;
	walk w = {j->oh, j->ow, (size_t)j->s * j->iw * j->cin, (size_t)j->s * j->cin};
	if (j->k == 1 && j->s == 1 && j->iw == j->ow && !j->pool2) {
		w.rows = 1;
		w.cols = j->oh * j->ow;
	}
	/* the accumulator tiles stored for the epilogue: sums of a probe, so
	 * wiped at the end (the tiles themselves: _tile_release) */
	float c[4][16][16] __attribute__((aligned(64)));
	const int full = w.cols / 16, rem = w.cols % 16;
	if (full)
		run(j, &w, full, 0, 16, kc, c);
	if (rem)
		run(j, &w, 1, w.cols - rem, rem, kc, c);
	_tile_release();
	bh_wipe(c, sizeof c);
}
