/*
 * bh_face_nn.h - the few tensor operations the face networks need.
 *
 * Tensors are single images in HWC layout (channel fastest), float32,
 * 64-byte aligned.  Filters use the TensorFlow layouts the weight files ship:
 *   conv2d     [kh][kw][cin][cout]
 *   depthwise  [kh][kw][c]          (channel multiplier 1)
 *   pointwise  [cin][cout]
 * Padding follows TensorFlow: 'valid' uses no padding; 'same' gives
 * out = ceil(in / stride) and pads (out-1)*stride + k - in in total, the
 * smaller half before, the larger after.  Convolutions pad with zeros;
 * max pooling ignores padded positions.
 *
 * Every buffer (outputs and im2col scratch) is wiped before it is freed or
 * handed to another thread: the activations are derived from probe images.
 * Within a scope (bh_face_nn_enter / bh_face_nn_leave, used by each forward
 * pass) the wipes of reused buffers are deferred to the scope's end.  All
 * functions are reentrant; the weights are only read.
 */
#ifndef BH_FACE_NN_H
#define BH_FACE_NN_H

#include <stddef.h>
#include <stdint.h>

typedef struct bh_t3 {
	int h, w, c;
	float *d;
	size_t cap;   /* bytes of the buffer behind d (per-thread cache) */
	size_t dirty; /* bytes of d that may hold an earlier tensor's data */
} bh_t3;

/* Output geometry and leading padding of a window op on one axis pair. */
typedef struct bh_geom {
	int k, s;     /* square kernel, stride */
	int oh, ow;   /* output size */
	int pt, pl;   /* padding before (top, left) */
} bh_geom;

void bh_geom_same(const bh_t3 *in, int k, int s, bh_geom *g);
void bh_geom_valid(const bh_t3 *in, int k, int s, bh_geom *g);

/* Zeroed tensor.  Buffers come from a per-thread cache: a tensor must be
 * freed by the thread that allocated it (true for every forward pass). */
int bh_t3_alloc(bh_t3 *t, int h, int w, int c);
/* The same without zeroing, for tensors whose every element is written. */
int bh_t3_alloc_nz(bh_t3 *t, int h, int w, int c);
/* Wipes and releases (to the cache or free); safe on a zeroed struct.
 * Inside a scope a cached buffer's wipe waits for the scope's end. */
void bh_t3_free(bh_t3 *t);

/* Scopes nest per thread; when the outermost one ends, every buffer in this
 * thread's cache is wiped.  Every enter must be matched by a leave. */
void bh_face_nn_enter(void);
void bh_face_nn_leave(void);

/* What follows a convolution, fused into its kernel when it can be:
 *   out = act(conv * mul + add + res)
 * mul and add are per output channel, res has the output's shape; each may be
 * NULL (1, 0, 0).  A NULL bh_epi is the bare convolution. */
enum { BH_ACT_NONE = 0, BH_ACT_RELU = 1, BH_ACT_LEAKY = 2 /* max(x, 0.1 x) */ };
typedef struct bh_epi {
	const float *mul, *add;
	const bh_t3 *res;
	int act;
	/* 1: then max pooling 2x2 stride 2 'same' (the output is the pooled
	 * tensor); only without res and with mul > 0, so that the epilogue
	 * commutes with the max. */
	int pool2;
} bh_epi;

/* Convolutions run on our AVX-512 direct kernels (bh_face_conv.h) when the
 * CPU has AVX-512 (F, BW, VL) and the output channels are a multiple of 16
 * (with bfloat16 products when it also has AVX512_BF16 and the input
 * channels are even), on AMX tiles with bfloat16 products when the CPU has
 * AMX-BF16 and the input channels are 16 or a multiple of 32, else on
 * im2col + OpenBLAS sgemm.  All give the same values up to float rounding
 * order (and bfloat16 rounding of the products).  bh_face_nn_force_blas(1)
 * selects the sgemm path for every shape (tests compare them; the bench
 * reports the kernel it used). */
void bh_face_nn_force_blas(int on);
/* 1: filters packed from now on use half floats and float products even on
 * CPUs with AVX512_BF16 or AMX (tests; the format travels with each packed
 * filter). */
void bh_face_nn_force_f16(int on);
/* 1: filters packed from now on use bfloat16 products on the AVX-512
 * kernel (vdpbf16ps) on every CPU with AVX512_BF16, including those where
 * float products or AMX are chosen for speed (tests, so every kernel is
 * checked on any such CPU).  force_f16 wins. */
void bh_face_nn_force_bf16(int on);
/* "amx-bf16", "avx512-direct-bf16", "avx512-direct" or "openblas-im2col":
 * the kernel a filter of 32 input channels packed now would run on. */
const char *bh_face_nn_kernel(void);

/* The filter [k][k][cin][cout] in the direct kernel's layout, in *out
 * (bh_aligned_free it), or *out = NULL when that kernel will not take this
 * filter (CPU, cout % 16).  Done once per model at load. */
int bh_conv_prepack(const float *filt, int k, int cin, int cout, uint16_t **out);

/* out = conv2d(in, filt), then the epilogue e.  packed is filt from
 * bh_conv_prepack, or NULL (the kernel then packs a temporary copy). */
int bh_conv2d(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
	      const bh_geom *g, const bh_epi *e, bh_t3 *out);
/* out = depthwise conv (multiplier 1), no bias. */
int bh_dwconv(const bh_t3 *in, const float *filt, const bh_geom *g, bh_t3 *out);
/* out = 1x1 conv, then e. */
int bh_pwconv(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
	      const bh_epi *e, bh_t3 *out);
/* TensorFlow separable conv: depthwise (geometry g) then pointwise, then e. */
int bh_sepconv(const bh_t3 *in, const float *dw, const float *pw, const uint16_t *pw_packed,
	       int cout, const bh_geom *g, const bh_epi *e, bh_t3 *out);

int bh_maxpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out);
/* Average over the window; only positions inside the input count. */
int bh_avgpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out);

/* In place, per channel: x = x*mul[c] + add[c] (either may be NULL, not both). */
void bh_t3_affine(bh_t3 *t, const float *mul, const float *add);
void bh_t3_relu(bh_t3 *t);
/* max(x, 0.1 x) */
void bh_t3_leaky(bh_t3 *t);
/* a += b (same shape). */
void bh_t3_add(bh_t3 *a, const bh_t3 *b);

/* Multiply-adds done by conv/depthwise/pointwise ops since start, all
 * threads (relaxed atomic counter; for `biohub bench face`). */
unsigned long long bh_face_nn_macs(void);

#endif
