/*
 * bh_face_conv.h - internal: direct convolution kernels for the face nets.
 *
 * The kernels read an input that is already zero-bordered (the caller pads a
 * copy for 'same' convolutions), so they do no bounds checks:
 *
 *   out[oy][ox][co] = act( acc * mul[co] + add[co] + res[oy][ox][co] )
 *   acc = sum over ky, kx < k and ci < cin of
 *         in[(oy*s + ky) * iw + ox*s + kx][ci] * filt[((ky*k + kx)*cin + ci)*cout + co]
 *
 * Layouts are HWC (channel fastest), filters TensorFlow's [k][k][cin][cout],
 * exactly as in bh_face_nn.h; mul, add and res may each be NULL (1, 0, 0).
 * Only cout (resp. c for depthwise) that are multiples of 16 are accepted;
 * bh_face_nn.c falls back to im2col + OpenBLAS sgemm for other shapes and on
 * CPUs without AVX-512 (F, BW and VL).
 *
 * Why our own kernel: the face nets are small convolutions (35x35x32,
 * 8x8x128, ...) where im2col copies, sgemm packing and the wipe of the
 * im2col scratch cost as much as the arithmetic; a register-tiled direct
 * convolution with the epilogue (bias, scale layer, residual, activation)
 * fused reads each input once and writes each output once.
 */
#ifndef BH_FACE_CONV_H
#define BH_FACE_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "bh_face_nn.h" /* BH_ACT_* */

/* Packed filters.  The full-convolution kernel does not read TensorFlow's
 * [k][k][cin][cout] float filter but a copy made once per model, in blocks
 * of W output channels (W = 32 when cout % 32 == 0, else 16), after a header
 * of BH_CONV_PACK_HEAD values whose first says the format:
 *
 *   BH_CONV_PACK_F16   IEEE half floats, one filter row per input channel:
 *     packed[((b*k + ky)*k + kx)*cin + ci][w] = filt[ky][kx][ci][b*W + w]
 *   BH_CONV_PACK_BF16  bfloat16, two input channels per row (cin even), the
 *     pair interleaved per output channel as vdpbf16ps wants it:
 *     packed[((b*k + ky)*k + kx)*cin + ci][w][e] = filt[ky][kx][ci+e][b*W + w]
 *     for even ci; the input is then converted to bfloat16 too.
 *
 * A tile streams one contiguous block instead of a 64-byte piece of every
 * filter row, and the bytes are halved: the recognition net's 256-channel
 * layers are bound by the filter's trip from memory (2.4 MB per layer as
 * float).  The weight files are 8-bit quantised, so half precision keeps
 * every weight within 0.05 %; bfloat16 (8-bit significand) within 0.4 %, and
 * it doubles the multiply rate (vdpbf16ps does 32 products per instruction
 * where vfmadd231ps does 16); sums stay in float.  Checked against the
 * oracle and the LFW pairs (docs/FACE.md). */
#define BH_CONV_PACK_HEAD 32 /* uint16 values: 64 bytes keep the data aligned */
#define BH_CONV_PACK_F16 1
#define BH_CONV_PACK_BF16 2
static inline int bh_conv_block(int cout) { return cout % 32 == 0 ? 32 : 16; }
static inline size_t bh_conv_packed_count(int k, int cin, int cout)
{
	return BH_CONV_PACK_HEAD + (size_t)k * k * cin * cout;
}
/* Requires cout % 16 == 0 and AVX-512F/BW/VL; bf16 also cin % 2 == 0 and
 * AVX512_BF16.  out holds bh_conv_packed_count() values. */
void bh_conv_pack_avx512(const float *filt, int k, int cin, int cout, int bf16, uint16_t *out);
/* dst[i] = bfloat16(src[i]), round to nearest even; AVX512_BF16. */
void bh_conv_to_bf16(const float *src, size_t n, uint16_t *dst);

typedef struct bh_conv_job {
	const float *in; /* zero-bordered input, rows of iw pixels of cin floats */
	const uint16_t *in16; /* the same in bfloat16 when bf16 (the filter's format) */
	int bf16;
	int iw, cin;
	const float *filt;    /* depthwise: [k][k][cin] */
	const uint16_t *fpk;  /* full conv: packed (above) */
	int k, s, cout;
	int oh, ow;
	const float *mul, *add; /* per output channel, or NULL */
	const float *res;       /* [oh][ow][cout], or NULL */
	int act;
	/* 1: 2x2 max pooling with stride 2 after the epilogue (res must be NULL,
	 * mul NULL or > 0); out is then [(oh+1)/2][(ow+1)/2][cout] and a
	 * last odd row / column is pooled alone (TensorFlow 'same' pooling). */
	int pool2;
	float *out; /* [oh][ow][cout] */
} bh_conv_job;

/* Full convolution; requires cout % 16 == 0 and AVX-512F/BW/VL (bf16: and
 * AVX512_BF16, in16 set, fpk in BH_CONV_PACK_BF16). */
void bh_conv_avx512(const bh_conv_job *j);

/* Input channels the AMX kernel takes: its products run over 32 channels,
 * or over all 16. */
static inline int bh_conv_amx_takes(int cin) { return cin % 32 == 0 || cin == 16; }

/* Full convolution on AMX tiles (bh_face_conv_amx.c); requires
 * BH_CPU_AMXBF16, bf16 (in16 set, fpk in BH_CONV_PACK_BF16),
 * bh_conv_amx_takes(cin) and cout % 16 == 0.  The same values as
 * bh_conv_avx512 on the same packed filter, up to the order of the sums. */
void bh_conv_amx(const bh_conv_job *j);

/* Depthwise convolution (channel multiplier 1, cout = cin, filt [k][k][c]);
 * mul/add/res/act as above.  Requires cin % 16 == 0 and AVX-512F. */
void bh_dwconv_avx512(const bh_conv_job *j);

#endif
