/* test_face_conv.c - the AVX-512 direct convolution kernels and the AMX
 * kernel against the im2col + OpenBLAS sgemm path, on every shape class the
 * face nets use (3x3 'same' and stride-2 'valid', 1x1, 7x7 stride 2,
 * depthwise, the 3x3 output tile, row tails, 16/48-channel blocks) with
 * each epilogue part, for half-precision filters and (on CPUs with
 * AVX512_BF16) bfloat16 ones on the AVX-512 kernel, and (on CPUs with
 * AMX-BF16) on AMX tiles. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bh_cpu.h"
#include "bh_face.h"
#include "bh_face_net.h"
#include "bh_face_nn.h"
#include "bh_mem.h"

static uint32_t seed = 12345;

static float rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* Weights like the model's: 8-bit steps, exact in half precision and in
 * bfloat16, so with bfloat16-exact inputs (rnd_b) every path gets the same
 * products and they differ only by the order of the float sums. */
static float rnd_q(void) { return (float)(int)(rnd() * 256.0f) / 128.0f; }

/* rnd() with 8 significant bits (exact in bfloat16). */
static float rnd_b(void)
{
	float v = rnd();
	int e;
	float m = frexpf(v, &e);
	return ldexpf(roundf(m * 256.0f) / 256.0f, e);
}

static int have_bf16(void) { return (bh_cpu_features() & BH_CPU_AVX512BF16) != 0; }
static int have_amx(void) { return (bh_cpu_features() & BH_CPU_AMXBF16) != 0; }

/* The kernel a run is made on: half filters, bfloat16 on vdpbf16ps, or the
 * default, which is AMX on CPUs that have it. */
enum { MODE_F16, MODE_BF16, MODE_AMX };
static const char *const mode_name[] = {" half", " bfloat16", " amx"};

typedef struct shape {
	int h, w, cin, cout, k, s, same;
} shape;

static const shape shapes[] = {
    {35, 35, 32, 32, 3, 1, 1},  /* recognition 32-channel blocks: 12-pixel tiles + tail */
    {35, 35, 32, 64, 3, 2, 0},  /* down block, stride 2 valid */
    {8, 8, 128, 256, 3, 2, 0},  /* 3x3 output tile */
    {3, 3, 256, 256, 3, 1, 1},  /* 3x3 output tile, same */
    {8, 8, 128, 128, 3, 1, 1},  /* 4 + 4 tiles */
    {150, 150, 3, 32, 7, 2, 0}, /* RGB 7x7 first layer */
    {66, 66, 3, 16, 3, 1, 0},   /* RGB 3x3 -> 16, 16-wide tiles */
    {14, 14, 128, 128, 1, 1, 0},
    {9, 13, 40, 48, 1, 1, 0},   /* 48 channels: one 3-vector block, W = 16 */
    {11, 7, 24, 80, 3, 2, 1},   /* same with stride 2 and odd sides: bottom/right pad */
    {5, 5, 64, 16, 1, 1, 0},
    {20, 19, 16, 32, 3, 1, 1},  /* 16 input channels: AMX products over 16 */
    {7, 7, 256, 256, 1, 1, 0},  /* 1x1 walked as one row of 49: 3 x 16 + 1 */
};

static void fill(bh_t3 *t, float (*f)(void))
{
	for (size_t i = 0; i < (size_t)t->h * t->w * t->c; i++)
		t->d[i] = f();
}

/* Largest |a - b| relative to the largest |b|. */
static double rel_diff(const bh_t3 *a, const bh_t3 *b)
{
	double d = 0, m = 1e-9;
	for (size_t i = 0; i < (size_t)a->h * a->w * a->c; i++) {
		d = fmax(d, fabs((double)a->d[i] - b->d[i]));
		m = fmax(m, fabs((double)b->d[i]));
	}
	return d / m;
}

/* One shape through the sgemm reference and the kernel of `mode`. */
static void run_conv_mode(const shape *sh, const bh_epi *e, int depthwise, float (*wf)(void),
			  float (*xf)(void), double tol, int mode)
{
	bh_t3 in = {0}, fast = {0}, ref = {0};
	const int cout = depthwise ? sh->cin : sh->cout;
	const size_t nf = (size_t)sh->k * sh->k * sh->cin * (depthwise ? 1 : cout);
	float *f = malloc(nf * sizeof *f);
	assert_non_null(f);
	for (size_t i = 0; i < nf; i++)
		f[i] = wf();
	assert_int_equal(bh_t3_alloc(&in, sh->h, sh->w, sh->cin), 0);
	fill(&in, xf);
	bh_geom g;
	if (sh->same)
		bh_geom_same(&in, sh->k, sh->s, &g);
	else
		bh_geom_valid(&in, sh->k, sh->s, &g);
	bh_face_nn_force_blas(1);
	int rc = depthwise ? bh_dwconv(&in, f, &g, &ref) : bh_conv2d(&in, f, NULL, cout, &g, e, &ref);
	assert_int_equal(rc, 0);
	bh_face_nn_force_blas(0);
	bh_face_nn_force_f16(mode == MODE_F16);
	bh_face_nn_force_bf16(mode == MODE_BF16);
	if (mode == MODE_AMX)
		assert_string_equal(bh_face_nn_kernel(), "amx-bf16");
	uint16_t *pk = NULL;
	if (!depthwise)
		assert_int_equal(bh_conv_prepack(f, sh->k, sh->cin, cout, &pk), 0);
	rc = depthwise ? bh_dwconv(&in, f, &g, &fast) : bh_conv2d(&in, f, pk, cout, &g, e, &fast);
	assert_int_equal(rc, 0);
	assert_int_equal(fast.h, ref.h);
	assert_int_equal(fast.w, ref.w);
	assert_int_equal(fast.c, ref.c);
	double d = rel_diff(&fast, &ref);
	if (d > tol)
		fail_msg("%dx%dx%d -> %d k%d s%d %s%s%s: relative difference %.3g > %.3g", sh->h,
			 sh->w, sh->cin, cout, sh->k, sh->s, sh->same ? "same" : "valid",
			 depthwise ? " depthwise" : "", mode_name[mode], d, tol);
	bh_face_nn_force_f16(0);
	bh_face_nn_force_bf16(0);
	bh_aligned_free(pk);
	bh_t3_free(&in);
	bh_t3_free(&fast);
	bh_t3_free(&ref);
	free(f);
}

/* Every kernel the CPU has; tol_bf16 for bfloat16 products. */
static void run_conv2(const shape *sh, const bh_epi *e, int depthwise, float (*wf)(void),
		      float (*xf)(void), double tol, double tol_bf16)
{
	run_conv_mode(sh, e, depthwise, wf, xf, tol, MODE_F16);
	if (have_bf16())
		run_conv_mode(sh, e, depthwise, wf, xf, tol_bf16, MODE_BF16);
	if (have_amx())
		run_conv_mode(sh, e, depthwise, wf, xf, tol_bf16, MODE_AMX);
}

static void run_conv(const shape *sh, const bh_epi *e, int depthwise, float (*wf)(void),
		     double tol)
{
	run_conv2(sh, e, depthwise, wf, rnd_b, tol, tol);
}

static void test_kernel_name(void **state)
{
	(void)state;
	bh_face_nn_force_blas(1);
	assert_string_equal(bh_face_nn_kernel(), "openblas-im2col");
	bh_face_nn_force_blas(0);
	if (!(bh_cpu_features() & BH_CPU_AVX512))
		skip();
	bh_face_nn_force_f16(1);
	assert_string_equal(bh_face_nn_kernel(), "avx512-direct");
	bh_face_nn_force_f16(0);
	/* by default AMX where the CPU has it, else bfloat16 only off Intel
	 * (speed choices, bh_face_nn.c) */
	const int intel = (bh_cpu_features() & BH_CPU_INTEL) != 0;
	assert_string_equal(bh_face_nn_kernel(), have_amx()		   ? "amx-bf16"
						 : have_bf16() && !intel ? "avx512-direct-bf16"
									 : "avx512-direct");
	bh_face_nn_force_bf16(1);
	assert_string_equal(bh_face_nn_kernel(), have_bf16() ? "avx512-direct-bf16" : "avx512-direct");
	bh_face_nn_force_bf16(0);
}

/* Bare convolution, model-like weights, bfloat16-exact inputs: equal up to
 * summation order, for both filter formats. */
static void test_conv_matches_sgemm(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		run_conv(&shapes[i], NULL, 0, rnd_q, 2e-5);
}

/* Arbitrary float weights and inputs: half-precision filters stay within
 * 0.1 %, bfloat16 filters and inputs within 1 % of the largest output. */
static void test_conv_rounded_weights(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		run_conv2(&shapes[i], NULL, 0, rnd, rnd, 1e-3, 1e-2);
}

/* Every epilogue part fused (scale, shift, residual, each activation). */
static void test_epilogues(void **state)
{
	(void)state;
	static const shape sh[] = {{35, 35, 32, 32, 3, 1, 1}, {3, 3, 256, 256, 3, 1, 1},
				   {9, 13, 40, 48, 1, 1, 0}};
	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
		bh_t3 res = {0};
		float mul[256], add[256];
		for (int c = 0; c < sh[i].cout; c++) {
			mul[c] = 0.5f + rnd();
			add[c] = rnd();
		}
		assert_int_equal(bh_t3_alloc(&res, sh[i].h, sh[i].w, sh[i].cout), 0);
		fill(&res, rnd);
		const bh_epi e[] = {
		    {.mul = mul, .add = add, .res = &res, .act = BH_ACT_RELU},
		    {.add = add, .act = BH_ACT_LEAKY},
		    {.mul = mul, .act = BH_ACT_NONE},
		    {.res = &res, .act = BH_ACT_RELU},
		};
		for (size_t k = 0; k < sizeof e / sizeof e[0]; k++)
			run_conv(&sh[i], &e[k], 0, rnd_q, 2e-5);
		bh_t3_free(&res);
	}
}

/* Convolution + 2x2 stride-2 max pooling in one pass (the detector's
 * layers), even and odd sides, 16- and 32-channel tiles, against the
 * convolution followed by bh_maxpool. */
static void test_pooled(void **state)
{
	(void)state;
	static const shape sh[] = {{66, 66, 3, 16, 3, 1, 0},    {127, 127, 16, 32, 1, 1, 0},
				   {13, 9, 40, 48, 1, 1, 0},    {17, 17, 64, 128, 1, 1, 0},
				   {8, 8, 256, 512, 1, 1, 0},   {7, 5, 32, 64, 3, 1, 1}};
	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
		float add[512];
		for (int c = 0; c < sh[i].cout; c++)
			add[c] = rnd();
		const bh_epi e = {.add = add, .act = BH_ACT_LEAKY, .pool2 = 1};
		run_conv(&sh[i], &e, 0, rnd_q, 2e-5);
	}
	/* a scale or a residual does not commute with the max: refused */
	bh_t3 in = {0}, out = {0};
	float f[16 * 16] = {0}, mul[16] = {0};
	assert_int_equal(bh_t3_alloc(&in, 4, 4, 16), 0);
	const bh_epi bad = {.mul = mul, .pool2 = 1};
	assert_int_not_equal(bh_pwconv(&in, f, NULL, 16, &bad, &out), 0);
	assert_null(out.d);
	bh_t3_free(&in);
}

static void test_depthwise(void **state)
{
	(void)state;
	static const shape sh[] = {{127, 127, 16, 16, 3, 1, 1}, {56, 56, 32, 32, 3, 2, 1},
				   {7, 7, 256, 256, 3, 1, 1}, {10, 9, 48, 48, 5, 1, 1}};
	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++)
		run_conv(&sh[i], NULL, 1, rnd, 1e-5);
}

/* A residual of another shape is an error, not a read past its end. */
static void test_residual_shape(void **state)
{
	(void)state;
	bh_t3 in = {0}, res = {0}, out = {0};
	float f[16 * 16];
	for (int i = 0; i < 256; i++)
		f[i] = rnd();
	assert_int_equal(bh_t3_alloc(&in, 4, 4, 16), 0);
	assert_int_equal(bh_t3_alloc(&res, 4, 3, 16), 0);
	const bh_epi e = {.res = &res};
	assert_int_not_equal(bh_pwconv(&in, f, NULL, 16, &e, &out), 0);
	assert_null(out.d);
	bh_t3_free(&in);
	bh_t3_free(&res);
}

/* The real detector at every input side the pipeline uses (128..416): the
 * pooled tiles meet odd and even sizes at every layer.  Its raw outputs on
 * the direct kernels (the model's packed filters) against the sgemm path;
 * the bound covers bfloat16 products, a wrong tile would be far off. */
static void test_detector_sizes(void **state)
{
	(void)state;
	bh_face_model *m = NULL;
	if (bh_face_model_load(NULL, &m) != 0)
		skip(); /* no model files: scripts/setup installs them */
	const bh_face_nets *n = bh_face_model_nets(m);
	for (int side = 128; side <= 416; side += 32) {
		bh_t3 in = {0}, fast = {0}, ref = {0};
		assert_int_equal(bh_t3_alloc(&in, side, side, 3), 0);
		for (size_t i = 0; i < (size_t)side * side * 3; i++) /* a smooth image with edges */
			in.d[i] = (float)((i / 3 % (size_t)side) * 7 % 256 ^ (i / 3 / (size_t)side) * 5 % 256);
		assert_int_equal(bh_face_net_detect(n, &in, &fast), 0);
		bh_face_nn_force_blas(1);
		assert_int_equal(bh_face_net_detect(n, &in, &ref), 0);
		bh_face_nn_force_blas(0);
		assert_int_equal(fast.h, ref.h);
		assert_int_equal(fast.c, ref.c);
		double d = rel_diff(&fast, &ref);
		if (d > 1.5e-2) /* measured <= 0.005 with bfloat16 */
			fail_msg("detector at %d: relative difference %.3g", side, d);
		bh_t3_free(&in);
		bh_t3_free(&fast);
		bh_t3_free(&ref);
	}
	bh_face_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kernel_name),     cmocka_unit_test(test_conv_matches_sgemm),
	    cmocka_unit_test(test_conv_rounded_weights), cmocka_unit_test(test_epilogues),
	    cmocka_unit_test(test_depthwise),       cmocka_unit_test(test_residual_shape),
	    cmocka_unit_test(test_pooled),          cmocka_unit_test(test_detector_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
