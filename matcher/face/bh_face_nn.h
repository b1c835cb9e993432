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
 * Every buffer (outputs and im2col scratch) is wiped before it is freed: the
 * activations are derived from probe images.  All functions are reentrant;
 * the weights are only read.
 */
#ifndef BH_FACE_NN_H
#define BH_FACE_NN_H

#include <stddef.h>

typedef struct bh_t3 {
	int h, w, c;
	float *d;
	size_t cap; /* bytes of the buffer behind d (per-thread cache) */
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
/* Wipes and releases (to the cache or free); safe on a zeroed struct. */
void bh_t3_free(bh_t3 *t);

/* out = conv2d(in, filt) (+ bias if non-NULL); im2col + sgemm. */
int bh_conv2d(const bh_t3 *in, const float *filt, int cout, const bh_geom *g,
	      const float *bias, bh_t3 *out);
/* out = depthwise conv (multiplier 1), no bias. */
int bh_dwconv(const bh_t3 *in, const float *filt, const bh_geom *g, bh_t3 *out);
/* out = 1x1 conv (+ bias). */
int bh_pwconv(const bh_t3 *in, const float *filt, int cout, const float *bias, bh_t3 *out);
/* TensorFlow separable conv: depthwise (geometry g) then pointwise, + bias. */
int bh_sepconv(const bh_t3 *in, const float *dw, const float *pw, int cout, const bh_geom *g,
	       const float *bias, bh_t3 *out);

int bh_maxpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out);
/* Average over the window; only positions inside the input count. */
int bh_avgpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out);

/* In place, per channel: x = x*mul[c] + add[c] (mul may be NULL). */
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
