/* bh_face_net.c - forward passes of the detector, landmark and recognition
 * networks (layer graphs as in face-api.js; see bh_face_net.h). */
#include "bh_face_net.h"

#include <stdio.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

const float bh_face_anchors[BH_FACE_ANCHORS][2] = {
	{1.603231f, 2.094468f}, {6.041143f, 7.080126f}, {2.882459f, 3.518061f},
	{4.266906f, 5.178857f}, {9.041765f, 10.66308f},
};

/* ---- helpers ------------------------------------------------------------ */

/* A tensor `<prefix>/<leaf>` of exactly `count` values. */
static const float *vec(const bh_fw_model *m, const char *prefix, const char *leaf, int count)
{
	char name[4 * BH_FW_NAME_MAX];
	snprintf(name, sizeof name, "%s/%s", prefix, leaf);
	uint32_t shape[1] = {(uint32_t)count};
	return bh_fw_get(m, name, 1, shape);
}

/* A 4-D filter `<prefix>/<leaf>` [k][k][cin][*]; returns its last dim in
 * *cout and, if packed is not NULL, its packed copy (may be NULL) there. */
static const float *filt_pk(const bh_fw_model *m, const char *prefix, const char *leaf, int cin,
			    int *k, int *cout, const uint16_t **packed)
{
	char name[4 * BH_FW_NAME_MAX];
	*k = *cout = 0; /* callers may size a geometry before testing the result */
	if (packed)
		*packed = NULL;
	snprintf(name, sizeof name, "%s/%s", prefix, leaf);
	const bh_fw_tensor *t = bh_fw_find(m, name);
	if (!t)
		return NULL;
	if (t->rank != 4 || t->shape[0] != t->shape[1] || (int)t->shape[2] != cin) {
		bh_fail(BH_EFORMAT, "weights: %s has shape not [k,k,%d,*]", name, cin);
		return NULL;
	}
	*k = (int)t->shape[0];
	*cout = (int)t->shape[3];
	if (packed)
		*packed = t->packed;
	return t->data;
}

static const float *filt(const bh_fw_model *m, const char *prefix, const char *leaf, int cin,
			 int *k, int *cout)
{
	return filt_pk(m, prefix, leaf, cin, k, cout, NULL);
}

/* x := (x - mean) / 255 in place. */
static void normalise(bh_t3 *x, const float mean[3])
{
	const float mul[3] = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f};
	const float add[3] = {-mean[0] / 255.0f, -mean[1] / 255.0f, -mean[2] / 255.0f};
	bh_t3_affine(x, mul, add);
}

static int check_in(const bh_t3 *in, int side)
{
	if (in->h != side || in->w != side || in->c != 3)
		return bh_fail(BH_EINVAL, "face: net input %dx%dx%d, expected %dx%dx3", in->h, in->w,
			       in->c, side, side);
	return BH_OK;
}

static int copy_in(const bh_t3 *in, int side, bh_t3 *x)
{
	int rc = check_in(in, side);
	if (!rc)
		rc = bh_t3_alloc_nz(x, side, side, 3);
	if (!rc)
		memcpy(x->d, in->d, (size_t)side * side * 3 * sizeof(float));
	return rc;
}

/* The input normalisation x' = (x - mean) / 255 folded into a first layer
 * that has no padding ('valid'): conv(x') = conv(x) / 255 - shift, with
 * shift[co] = sum over taps and ci of filt * mean[ci] / 255.  The forward
 * pass then reads the caller's 0..255 tensor as it is, without a normalised
 * copy. */
static void mean_shift(const float *filt, int k, int cin, int cout, const float *mean,
		       float *shift)
{
	for (int co = 0; co < cout; co++) {
		double acc = 0;
		for (int t = 0; t < k * k; t++)
			for (int ci = 0; ci < cin; ci++)
				acc += (double)filt[((size_t)t * cin + ci) * cout + co] * mean[ci];
		shift[co] = (float)(acc / 255.0);
	}
}

/* Replaces *x by *y (freeing the old x). */
static void swap_in(bh_t3 *x, bh_t3 *y)
{
	bh_t3_free(x);
	*x = *y;
	memset(y, 0, sizeof *y);
}

/* ---- recognition net ---------------------------------------------------- */

/* conv (stride 2 'valid' when down, else stride 1 'same') + bias, then the
 * per-channel scale layer, then res (may be NULL), then optional ReLU; all
 * one fused epilogue: (conv + b) * sw + sb = conv * sw + (b * sw + sb).
 * mean: x is the raw 0..255 input and the normalisation by mean is folded
 * in (only for 'valid' convs); NULL: x is already an activation. */
static int rec_conv_in(const bh_fw_model *m, const char *prefix, const bh_t3 *x, int down,
		       const bh_t3 *res, int relu, const float *mean, bh_t3 *out)
{
	char p[2 * BH_FW_NAME_MAX];
	int k, cout;
	snprintf(p, sizeof p, "%s/conv", prefix);
	const uint16_t *pk;
	const float *f = filt_pk(m, p, "filters", x->c, &k, &cout, &pk);
	const float *b = f ? vec(m, p, "bias", cout) : NULL;
	snprintf(p, sizeof p, "%s/scale", prefix);
	const float *sw = b ? vec(m, p, "weights", cout) : NULL;
	const float *sb = sw ? vec(m, p, "biases", cout) : NULL;
	if (!sb)
		return BH_EFORMAT;
	if (cout > 512)
		return bh_fail(BH_EFORMAT, "weights: %s has %d channels", prefix, cout);
	float add[512], mul[512], shift[512] = {0};
	if (mean && (!down || x->c != 3))
		return bh_fail(BH_EINVAL, "face: %s: normalisation folds only into a valid RGB conv",
			       prefix);
	if (mean)
		mean_shift(f, k, x->c, cout, mean, shift);
	for (int c = 0; c < cout; c++) {
		mul[c] = mean ? sw[c] / 255.0f : sw[c];
		add[c] = (b[c] - shift[c]) * sw[c] + sb[c];
	}
	bh_geom g;
	if (down)
		bh_geom_valid(x, k, 2, &g);
	else
		bh_geom_same(x, k, 1, &g);
	const bh_epi e = {.mul = mul, .add = add, .res = res, .act = relu ? BH_ACT_RELU : BH_ACT_NONE};
	return bh_conv2d(x, f, pk, cout, &g, &e, out);
}

/* rec_conv_in on an activation. */
static int rec_conv(const bh_fw_model *m, const char *prefix, const bh_t3 *x, int down,
		    const bh_t3 *res, int relu, bh_t3 *out)
{
	return rec_conv_in(m, prefix, x, down, res, relu, NULL, out);
}

/* Residual block; the down variant adds the 2x2 average-pooled input,
 * zero-padded to the branch's channels, and zero-pads the branch by a row
 * and a column when pooling leaves it one pixel larger (as the reference). */
static int rec_residual(const bh_fw_model *m, const char *name, bh_t3 *x, int down)
{
	char p[2 * BH_FW_NAME_MAX];
	bh_t3 a = {0}, b = {0}, pooled = {0}, sum = {0};
	snprintf(p, sizeof p, "%s/conv1", name);
	int rc = rec_conv(m, p, x, down, NULL, 1, &a);
	snprintf(p, sizeof p, "%s/conv2", name);
	/* Same-shape blocks add the input and apply the ReLU in conv2's epilogue
	 * (bh_conv2d refuses a residual of another shape). */
	if (!rc)
		rc = rec_conv(m, p, &a, 0, down ? NULL : x, !down, &b);
	if (!rc && down) {
		bh_geom g;
		bh_geom_valid(x, 2, 2, &g);
		rc = bh_avgpool(x, &g, &pooled);
		int h = pooled.h > b.h ? pooled.h : b.h, w = pooled.w > b.w ? pooled.w : b.w;
		if (!rc && (pooled.c > b.c || h > b.h + 1 || w > b.w + 1))
			rc = bh_fail(BH_EFORMAT, "weights: %s: shortcut shape mismatch", name);
		if (!rc)
			rc = bh_t3_alloc(&sum, h, w, b.c);
		for (int y = 0; !rc && y < h; y++)
			for (int xx = 0; xx < w; xx++) {
				float *o = sum.d + ((size_t)y * w + xx) * b.c;
				if (y < b.h && xx < b.w)
					memcpy(o, b.d + ((size_t)y * b.w + xx) * b.c, b.c * sizeof(float));
				if (y < pooled.h && xx < pooled.w) {
					const float *q = pooled.d + ((size_t)y * pooled.w + xx) * pooled.c;
					for (int c = 0; c < pooled.c; c++)
						o[c] += q[c];
				}
			}
		if (!rc)
			swap_in(&b, &sum);
	}
	if (!rc && down)
		bh_t3_relu(&b);
	if (!rc)
		swap_in(x, &b);
	bh_t3_free(&a);
	bh_t3_free(&b);
	bh_t3_free(&pooled);
	bh_t3_free(&sum);
	return rc;
}

static int describe_pass(const bh_face_nets *n, const bh_t3 *chip, float desc[128])
{
	static const float mean[3] = {122.782f, 117.001f, 104.298f};
	static const struct {
		const char *name;
		int down;
	} blocks[] = {
		{"conv32_1", 0},    {"conv32_2", 0},    {"conv32_3", 0},    {"conv64_down", 1},
		{"conv64_1", 0},    {"conv64_2", 0},    {"conv64_3", 0},    {"conv128_down", 1},
		{"conv128_1", 0},   {"conv128_2", 0},   {"conv256_down", 1}, {"conv256_1", 0},
		{"conv256_2", 0},   {"conv256_down_out", 1},
	};
	const bh_fw_model *m = &n->rec;
	bh_t3 x = {0}, y = {0};
	int rc = check_in(chip, BH_FACE_CHIP);
	if (rc)
		return rc;
	rc = rec_conv_in(m, "conv32_down", chip, 1, NULL, 1, mean, &y);
	if (!rc) {
		bh_geom g;
		bh_geom_valid(&y, 3, 2, &g);
		swap_in(&x, &y);
		rc = bh_maxpool(&x, &g, &y);
		if (!rc)
			swap_in(&x, &y);
	}
	for (size_t i = 0; !rc && i < sizeof blocks / sizeof blocks[0]; i++)
		rc = rec_residual(m, blocks[i].name, &x, blocks[i].down);
	uint32_t fshape[2] = {(uint32_t)x.c, 128};
	const float *fc = rc ? NULL : bh_fw_get(m, "fc", 2, fshape);
	if (!rc && !fc)
		rc = BH_EFORMAT;
	if (!rc) {
		float avg[512] = {0};
		const size_t px = (size_t)x.h * x.w;
		if (x.c > 512)
			rc = bh_fail(BH_EFORMAT, "weights: fc input %d too wide", x.c);
		for (size_t i = 0; !rc && i < px; i++)
			for (int c = 0; c < x.c; c++)
				avg[c] += x.d[i * x.c + c];
		for (int j = 0; !rc && j < 128; j++) {
			double s = 0;
			for (int c = 0; c < x.c; c++)
				s += (double)(avg[c] / (float)px) * fc[c * 128 + j];
			desc[j] = (float)s;
		}
		bh_wipe(avg, sizeof avg);
	}
	bh_t3_free(&x);
	bh_t3_free(&y);
	return rc;
}

/* The pass inside a buffer scope: its activations are wiped when it ends. */
int bh_face_net_describe(const bh_face_nets *n, const bh_t3 *chip, float desc[128])
{
	bh_face_nn_enter();
	int rc = describe_pass(n, chip, desc);
	bh_face_nn_leave();
	return rc;
}

/* ---- landmark net ------------------------------------------------------- */

/* Separable conv + bias, + res (may be NULL), then activation act, then
 * (pool2) 2x2 stride-2 max pooling. */
static int lmk_sep_pool(const bh_fw_model *m, const char *prefix, const bh_t3 *x, int stride,
			const bh_t3 *res, int act, int pool2, bh_t3 *out)
{
	int k, mult, cout, k2;
	const float *dw = filt(m, prefix, "depthwise_filter", x->c, &k, &mult);
	const uint16_t *pk = NULL;
	const float *pw =
	    dw && mult == 1 ? filt_pk(m, prefix, "pointwise_filter", x->c, &k2, &cout, &pk) : NULL;
	const float *b = pw && k2 == 1 ? vec(m, prefix, "bias", cout) : NULL;
	if (!b)
		return BH_EFORMAT;
	bh_geom g;
	bh_geom_same(x, k, stride, &g);
	const bh_epi e = {.add = b, .res = res, .act = act, .pool2 = pool2};
	return bh_sepconv(x, dw, pw, pk, cout, &g, &e, out);
}

static int lmk_sep(const bh_fw_model *m, const char *prefix, const bh_t3 *x, int stride,
		   const bh_t3 *res, int act, bh_t3 *out)
{
	return lmk_sep_pool(m, prefix, x, stride, res, act, 0, out);
}

/* Dense block of 4 convs: out_0 = relu(conv0(x)); out_i (i > 0) sees
 * relu(out_0 + ... + out_i-1), and the block gives relu(out_0 + ... + out_3).
 * The running sum lives in acc: each conv adds it as its residual. */
static int lmk_dense(const bh_fw_model *m, const char *name, bh_t3 *x, int first)
{
	char p[2 * BH_FW_NAME_MAX];
	bh_t3 acc = {0}, nxt = {0}, in = {0};
	int rc;
	snprintf(p, sizeof p, "%s/conv0", name);
	if (first) {
		int k, cout;
		const uint16_t *pk;
		const float *f = filt_pk(m, p, "filters", x->c, &k, &cout, &pk);
		const float *b = f ? vec(m, p, "bias", cout) : NULL;
		bh_geom g;
		bh_geom_same(x, k, 2, &g);
		const bh_epi e = {.add = b, .act = BH_ACT_RELU};
		rc = b ? bh_conv2d(x, f, pk, cout, &g, &e, &acc) : BH_EFORMAT;
	} else {
		rc = lmk_sep(m, p, x, 2, NULL, BH_ACT_RELU, &acc);
	}
	for (int i = 1; !rc && i < 4; i++) {
		snprintf(p, sizeof p, "%s/conv%d", name, i);
		const bh_t3 *src = &acc; /* out_0 is already rectified */
		if (i > 1) {
			rc = bh_t3_alloc_nz(&in, acc.h, acc.w, acc.c);
			if (rc)
				break;
			memcpy(in.d, acc.d, (size_t)acc.h * acc.w * acc.c * sizeof(float));
			bh_t3_relu(&in);
			src = &in;
		}
		rc = lmk_sep(m, p, src, 1, &acc, i == 3 ? BH_ACT_RELU : BH_ACT_NONE, &nxt);
		bh_t3_free(&in);
		if (!rc)
			swap_in(&acc, &nxt);
	}
	if (!rc)
		swap_in(x, &acc);
	bh_t3_free(&acc);
	bh_t3_free(&nxt);
	bh_t3_free(&in);
	return rc;
}

static int landmarks_pass(const bh_face_nets *n, const bh_t3 *in, float pts[136])
{
	static const float mean[3] = {122.782f, 117.001f, 104.298f};
	const bh_fw_model *m = &n->lmk;
	bh_t3 x = {0}, y = {0};
	int rc = copy_in(in, BH_FACE_LMK_IN, &x);
	if (rc)
		return rc;
	normalise(&x, mean);
	static const char *const names[4] = {"dense0", "dense1", "dense2", "dense3"};
	for (int i = 0; !rc && i < 4; i++)
		rc = lmk_dense(m, names[i], &x, i == 0);
	if (!rc) {
		bh_geom g;
		bh_geom_valid(&x, 7, 2, &g);
		rc = bh_avgpool(&x, &g, &y);
	}
	uint32_t wshape[2] = {(uint32_t)y.c, 136};
	const float *w = rc ? NULL : bh_fw_get(m, "fc/weights", 2, wshape);
	const float *b = w ? vec(m, "fc", "bias", 136) : NULL;
	if (!rc && (!b || y.h * y.w != 1))
		rc = b ? bh_fail(BH_EFORMAT, "weights: landmark features not 1x1") : BH_EFORMAT;
	for (int j = 0; !rc && j < 136; j++) {
		double s = b[j];
		for (int c = 0; c < y.c; c++)
			s += (double)y.d[c] * w[c * 136 + j];
		pts[j] = (float)s;
	}
	bh_t3_free(&x);
	bh_t3_free(&y);
	return rc;
}

/* The pass inside a buffer scope: its activations are wiped when it ends. */
int bh_face_net_landmarks(const bh_face_nets *n, const bh_t3 *in, float pts[136])
{
	bh_face_nn_enter();
	int rc = landmarks_pass(n, in, pts);
	bh_face_nn_leave();
	return rc;
}

/* ---- tiny face detector ------------------------------------------------- */

static int det_pool(bh_t3 *x, int stride)
{
	bh_geom g;
	bh_t3 y = {0};
	bh_geom_same(x, 2, stride, &g);
	int rc = bh_maxpool(x, &g, &y);
	if (!rc)
		swap_in(x, &y);
	return rc;
}

static int detect_pass(const bh_face_nets *n, const bh_t3 *in, bh_t3 *out)
{
	static const float mean[3] = {117.001f, 114.697f, 97.404f};
	const bh_fw_model *m = &n->det;
	bh_t3 x = {0}, y = {0};
	memset(out, 0, sizeof *out);
	if (in->h != in->w || in->h % 32 || in->h < 64 || in->h > 1024)
		return bh_fail(BH_EINVAL, "face: detector input %dx%d", in->h, in->w);
	int k, cout, rc;
	const uint16_t *pk;
	const float *f = filt_pk(m, "conv0", "filters", 3, &k, &cout, &pk);
	const float *b = f ? vec(m, "conv0", "bias", cout) : NULL;
	rc = b ? BH_OK : BH_EFORMAT;
	if (!rc && cout > 512)
		rc = bh_fail(BH_EFORMAT, "weights: detector conv0 has %d channels", cout);
	if (!rc) {
		/* conv0 is 'valid': the input normalisation folds into it */
		float mul[512], add[512];
		mean_shift(f, k, 3, cout, mean, add);
		for (int c = 0; c < cout; c++) {
			mul[c] = 1.0f / 255.0f;
			add[c] = b[c] - add[c];
		}
		bh_geom g;
		bh_geom_valid(in, k, 1, &g);
		/* each layer is followed by 2x2 max pooling, stride 2 but for the
		 * last; the stride-2 ones run inside the convolution */
		const bh_epi e = {.mul = mul, .add = add, .act = BH_ACT_LEAKY, .pool2 = 1};
		rc = bh_conv2d(in, f, pk, cout, &g, &e, &y);
	}
	if (!rc)
		swap_in(&x, &y);
	static const char *const names[5] = {"conv1", "conv2", "conv3", "conv4", "conv5"};
	for (int i = 0; !rc && i < 5; i++) {
		rc = lmk_sep_pool(m, names[i], &x, 1, NULL, BH_ACT_LEAKY, i < 4, &y);
		if (!rc) {
			swap_in(&x, &y);
			if (i == 4)
				rc = det_pool(&x, 1);
		}
	}
	if (!rc) {
		int k8, c8;
		const uint16_t *pk8;
		const float *f8 = filt_pk(m, "conv8", "filters", x.c, &k8, &c8, &pk8);
		const float *b8 = f8 ? vec(m, "conv8", "bias", c8) : NULL;
		if (!b8 || k8 != 1 || c8 != 5 * BH_FACE_ANCHORS)
			rc = b8 ? bh_fail(BH_EFORMAT, "weights: conv8 is not 1x1x%d", 5 * BH_FACE_ANCHORS)
				: BH_EFORMAT;
		else
			rc = bh_pwconv(&x, f8, pk8, c8, &(const bh_epi){.add = b8}, out);
	}
	bh_t3_free(&x);
	bh_t3_free(&y);
	return rc;
}

/* The pass inside a buffer scope: its activations are wiped when it ends. */
int bh_face_net_detect(const bh_face_nets *n, const bh_t3 *in, bh_t3 *out)
{
	bh_face_nn_enter();
	int rc = detect_pass(n, in, out);
	bh_face_nn_leave();
	return rc;
}

/* ---- loading ------------------------------------------------------------ */

static int dry_run(const bh_face_nets *n)
{
	bh_t3 in = {0}, out = {0};
	float v[136];
	int rc = bh_t3_alloc(&in, BH_FACE_CHIP, BH_FACE_CHIP, 3);
	if (!rc)
		rc = bh_face_net_describe(n, &in, v);
	bh_t3_free(&in);
	if (!rc)
		rc = bh_t3_alloc(&in, BH_FACE_LMK_IN, BH_FACE_LMK_IN, 3);
	if (!rc)
		rc = bh_face_net_landmarks(n, &in, v);
	bh_t3_free(&in);
	if (!rc)
		rc = bh_t3_alloc(&in, 64, 64, 3);
	if (!rc)
		rc = bh_face_net_detect(n, &in, &out);
	bh_t3_free(&in);
	bh_t3_free(&out);
	return rc;
}

/* Packs every full-convolution filter of m for the direct kernels: the
 * rank-4 tensors named `.../filters` or `.../pointwise_filter` (depthwise
 * filters keep their own layout). */
static int pack_filters(bh_fw_model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		bh_fw_tensor *t = &m->t[i];
		const char *leaf = strrchr(t->name, '/');
		leaf = leaf ? leaf + 1 : t->name;
		if (t->rank != 4 || t->shape[0] != t->shape[1] ||
		    (strcmp(leaf, "filters") && strcmp(leaf, "pointwise_filter")))
			continue;
		int rc = bh_conv_prepack(t->data, (int)t->shape[0], (int)t->shape[2], (int)t->shape[3],
					 &t->packed);
		if (rc)
			return rc;
	}
	return BH_OK;
}

int bh_face_nets_load(const char *dir, bh_face_nets *n)
{
	memset(n, 0, sizeof *n);
	int rc = bh_fw_load(dir, "tiny_face_detector_model", &n->det);
	if (!rc)
		rc = bh_fw_load(dir, "face_landmark_68_model", &n->lmk);
	if (!rc)
		rc = bh_fw_load(dir, "face_recognition_model", &n->rec);
	if (!rc)
		rc = pack_filters(&n->det);
	if (!rc)
		rc = pack_filters(&n->lmk);
	if (!rc)
		rc = pack_filters(&n->rec);
	if (!rc)
		rc = dry_run(n);
	if (rc)
		bh_face_nets_free(n);
	return rc;
}

void bh_face_nets_free(bh_face_nets *n)
{
	bh_fw_free(&n->det);
	bh_fw_free(&n->lmk);
	bh_fw_free(&n->rec);
}
