/* bh_face_nn.c - tensor ops for the face networks (see header). */
#include "bh_face_nn.h"

#include <cblas.h>
#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cpu.h"
#include "bh_err.h"
#include "bh_face_conv.h"
#include "bh_mem.h"

/* Hot element-wise loops get AVX-512 / AVX2 clones picked at load time
 * (ifunc); the file itself is built with -O3 (matcher/face/meson.build). */
#if defined(__clang__)
/* clang 14 resolves target_clones only for callers in the same file (the
 * other files' calls do not link): its builds (the fuzzers) get the plain
 * functions; the clones are an optimisation, not a behaviour. */
#define BH_VEC
#else
#define BH_VEC __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

static void geom(const bh_t3 *in, int k, int s, int same, bh_geom *g)
{
	g->k = k;
	g->s = s;
	if (same) {
		g->oh = (in->h + s - 1) / s;
		g->ow = (in->w + s - 1) / s;
		int ph = (g->oh - 1) * s + k - in->h, pw = (g->ow - 1) * s + k - in->w;
		g->pt = ph > 0 ? ph / 2 : 0;
		g->pl = pw > 0 ? pw / 2 : 0;
	} else {
		g->oh = in->h >= k ? (in->h - k) / s + 1 : 0;
		g->ow = in->w >= k ? (in->w - k) / s + 1 : 0;
		g->pt = g->pl = 0;
	}
}

static _Atomic unsigned long long macs;

unsigned long long bh_face_nn_macs(void) { return atomic_load_explicit(&macs, memory_order_relaxed); }

static void count(size_t a, size_t b, size_t c)
{
	atomic_fetch_add_explicit(&macs, (unsigned long long)a * b * c, memory_order_relaxed);
}

void bh_geom_same(const bh_t3 *in, int k, int s, bh_geom *g) { geom(in, k, s, 1, g); }
void bh_geom_valid(const bh_t3 *in, int k, int s, bh_geom *g) { geom(in, k, s, 0, g); }

/* Per-thread buffer cache.  Activation buffers may hold probe-derived data.
 * A released buffer is kept for the next layer or the next request of this
 * thread, instead of a multi-megabyte allocate / fault / zero / free cycle
 * per layer.  Wiping: outside a scope (bh_face_nn_enter) a released buffer
 * is wiped at once; inside one, its dirty extent (the most bytes any tensor
 * wrote in it since its last wipe) is recorded and the cached buffers are
 * wiped when the outermost scope ends, so a buffer reused by ten layers of a
 * forward pass is wiped once, not ten times.  A buffer that leaves the cache
 * (freed, or handed to a tensor) carries its dirty extent with it.  The
 * im2col scratch is one grow-only buffer, wiped after every use.  Everything
 * is wiped and freed when the thread exits (pthread key destructor). */
#define TC_SLOTS 8
#define TC_MAX_BYTES (16u << 20)

typedef struct tcache {
	float *p[TC_SLOTS];
	size_t cap[TC_SLOTS];
	size_t dirty[TC_SLOTS];
	int depth; /* open scopes */
	float *col;
	size_t col_cap;
} tcache;

static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static _Thread_local tcache *tc;

static void tc_release(void *v)
{
	tcache *c = v;
	for (int i = 0; i < TC_SLOTS; i++) {
		bh_wipe(c->p[i], c->cap[i]);
		free(c->p[i]);
	}
	bh_wipe(c->col, c->col_cap);
	free(c->col);
	free(c);
}

static void tc_key_init(void) { (void)pthread_key_create(&tc_key, tc_release); }

static tcache *tc_get(void)
{
	if (tc)
		return tc;
	pthread_once(&tc_once, tc_key_init);
	tcache *c = calloc(1, sizeof *c);
	if (!c || pthread_setspecific(tc_key, c)) {
		free(c);
		return NULL;
	}
	return tc = c;
}

void bh_face_nn_enter(void)
{
	tcache *c = tc_get();
	if (c)
		c->depth++;
}

void bh_face_nn_leave(void)
{
	tcache *c = tc_get();
	if (!c || c->depth <= 0 || --c->depth > 0)
		return;
	for (int i = 0; i < TC_SLOTS; i++) {
		bh_wipe(c->p[i], c->dirty[i]);
		c->dirty[i] = 0;
	}
}

/* A buffer of at least `bytes`; *cap receives its size, *dirty the bytes
 * that may still hold data from an earlier tensor. */
static float *buf_take(size_t bytes, size_t *cap, size_t *dirty)
{
	tcache *c = tc_get();
	int best = -1;
	for (int i = 0; c && i < TC_SLOTS; i++)
		if (c->p[i] && c->cap[i] >= bytes && c->cap[i] <= 4 * bytes + 65536 &&
		    (best < 0 || c->cap[i] < c->cap[best]))
			best = i;
	if (best >= 0) {
		float *p = c->p[best];
		*cap = c->cap[best];
		*dirty = c->dirty[best];
		c->p[best] = NULL;
		c->cap[best] = 0;
		c->dirty[best] = 0;
		return p;
	}
	*cap = bh_round_up(bytes, 4096);
	*dirty = 0;
	return aligned_alloc(BH_ALIGN, *cap);
}

/* Keeps the buffer (or frees it); wipes its dirty bytes now unless a scope
 * is open and it is cached (then the scope's end wipes them). */
static void buf_give(float *p, size_t dirty, size_t cap)
{
	if (!p)
		return;
	tcache *c = cap <= TC_MAX_BYTES ? tc_get() : NULL;
	for (int i = 0; c && i < TC_SLOTS; i++)
		if (!c->p[i]) {
			if (c->depth == 0) {
				bh_wipe(p, dirty);
				dirty = 0;
			}
			c->p[i] = p;
			c->cap[i] = cap;
			c->dirty[i] = dirty;
			return;
		}
	bh_wipe(p, dirty);
	free(p);
}

static float *col_get(size_t bytes)
{
	tcache *c = tc_get();
	if (!c)
		return NULL;
	if (bytes <= c->col_cap)
		return c->col;
	size_t cap = bh_round_up(bytes, 1u << 20);
	float *p = aligned_alloc(BH_ALIGN, cap);
	if (!p)
		return NULL;
	free(c->col); /* wiped after its last use */
	c->col = p;
	c->col_cap = cap;
	return p;
}

static int t3_take(bh_t3 *t, int h, int w, int c, int zero)
{
	t->h = h;
	t->w = w;
	t->c = c;
	t->d = NULL;
	t->cap = 0;
	t->dirty = 0;
	if (h <= 0 || w <= 0 || c <= 0 || (size_t)h * w * c > (64u << 20))
		return bh_fail(BH_EINVAL, "face: tensor %dx%dx%d out of range", h, w, c);
	size_t n = (size_t)h * w * c * sizeof(float);
	t->d = buf_take(n, &t->cap, &t->dirty);
	if (!t->d)
		return bh_fail(BH_ENOMEM, "face: tensor %dx%dx%d", h, w, c);
	if (zero)
		memset(t->d, 0, n);
	return BH_OK;
}

int bh_t3_alloc(bh_t3 *t, int h, int w, int c) { return t3_take(t, h, w, c, 1); }

int bh_t3_alloc_nz(bh_t3 *t, int h, int w, int c) { return t3_take(t, h, w, c, 0); }

void bh_t3_free(bh_t3 *t)
{
	if (t->d) {
		size_t used = (size_t)t->h * t->w * t->c * sizeof(float);
		buf_give(t->d, used > t->dirty ? used : t->dirty, t->cap);
	}
	t->d = NULL;
	t->cap = 0;
	t->dirty = 0;
}
/* Rows of the im2col matrix: one per output pixel, k*k*cin values in
 * (ky, kx, ci) order, matching the filter layout. */
BH_VEC static void im2col(const bh_t3 *in, const bh_geom *g, float *col)
{
	const int k = g->k, c = in->c;
	for (int oy = 0; oy < g->oh; oy++)
		for (int ox = 0; ox < g->ow; ox++) {
			float *row = col + ((size_t)oy * g->ow + ox) * k * k * c;
			for (int ky = 0; ky < k; ky++) {
				int iy = oy * g->s + ky - g->pt;
				for (int kx = 0; kx < k; kx++) {
					int ix = ox * g->s + kx - g->pl;
					float *dst = row + (ky * k + kx) * c;
					if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
						memset(dst, 0, c * sizeof(float));
					else
						memcpy(dst, in->d + ((size_t)iy * in->w + ix) * c,
						       c * sizeof(float));
				}
			}
		}
}

/* Direct convolution for few input channels (the RGB first layers): an
 * im2col matrix would have K = k*k*3 columns, too thin for sgemm and many
 * megabytes to write and wipe.  Each tap is an axpy over the output channels. */
/* 16 floats; GCC vector extension (zmm in the AVX-512 clone, split into
 * narrower vectors in the others). */
typedef float v16f __attribute__((vector_size(64)));

/* Inner loop of the direct convolution on a zero-bordered input (no bounds
 * checks): 3x3 taps, 3 input channels, nv*16 outputs in vector registers. */
static inline __attribute__((always_inline)) void
conv_direct_n(const float *pad, int pw, const float *filt, const int nv, const bh_geom *g,
	      float *out)
{
	const int cout = nv * 16;
	for (int oy = 0; oy < g->oh; oy++)
		for (int ox = 0; ox < g->ow; ox++) {
			v16f acc[2] = {{0}, {0}};
			const float *base = pad + ((size_t)oy * g->s * pw + (size_t)ox * g->s) * 3;
			for (int ky = 0; ky < 3; ky++)
				for (int kx = 0; kx < 3; kx++) {
					const float *x = base + ((size_t)ky * pw + kx) * 3;
					const float *f = filt + (size_t)(ky * 3 + kx) * 3 * cout;
					for (int ci = 0; ci < 3; ci++)
						for (int v = 0; v < nv; v++) {
							v16f w;
							memcpy(&w, f + ci * cout + v * 16, sizeof w);
							acc[v] += x[ci] * w;
						}
				}
			memcpy(out + ((size_t)oy * g->ow + ox) * cout, acc, (size_t)cout * sizeof(float));
		}
}

BH_VEC static void conv_direct_run(const float *pad, int pw, const float *filt, int cout,
				   const bh_geom *g, float *out)
{
	if (cout == 16)
		conv_direct_n(pad, pw, filt, 1, g, out);
	else
		conv_direct_n(pad, pw, filt, 2, g, out);
}

/* Direct convolution for the RGB first layers (3x3, 3 -> 16 or 32): an
 * im2col matrix would have K = 27 columns, too thin for sgemm and megabytes
 * to write and wipe.  The input is copied once into a zero-bordered buffer.
 * Returns 0 (not handled) for other shapes, <0 on error. */
static int conv_direct(const bh_t3 *in, const float *filt, int cout, const bh_geom *g,
		       float *out)
{
	if (g->k != 3 || in->c != 3 || (cout != 16 && cout != 32))
		return 0;
	const int ph = (g->oh - 1) * g->s + 3, pw = (g->ow - 1) * g->s + 3;
	bh_t3 pad = {0};
	int rc = bh_t3_alloc(&pad, ph, pw, 3);
	if (rc)
		return rc;
	for (int y = 0; y < in->h; y++) {
		int py = y + g->pt;
		if (py < 0 || py >= ph)
			continue;
		for (int x = 0; x < in->w; x++) {
			int px = x + g->pl;
			if (px >= 0 && px < pw)
				memcpy(pad.d + ((size_t)py * pw + px) * 3, in->d + ((size_t)y * in->w + x) * 3,
				       3 * sizeof(float));
		}
	}
	conv_direct_run(pad.d, pw, filt, cout, g, out);
	bh_t3_free(&pad);
	return 1;
}

/* ---- dispatch between the AVX-512 direct kernels and im2col + sgemm ---- */

static atomic_int force_blas, force_f16, force_bf16;

void bh_face_nn_force_blas(int on) { atomic_store(&force_blas, on != 0); }
void bh_face_nn_force_f16(int on) { atomic_store(&force_f16, on != 0); }
void bh_face_nn_force_bf16(int on) { atomic_store(&force_bf16, on != 0); }

static int fast_ok(int cout)
{
	return cout % 16 == 0 && !atomic_load(&force_blas) && (bh_cpu_features() & BH_CPU_AVX512);
}

/* bfloat16 products for filters packed now (the format is stored in each
 * packed filter, so a filter packed earlier keeps its own), on CPUs with
 * AVX512_BF16 other than Intel's.  A speed choice, measured (docs/FACE.md,
 * Speed): on AMD family 1Ah the bfloat16 pipeline took 5.4-5.7 ms per face
 * against 7.1-7.6 ms with float products; on an Intel Xeon (AVX512_BF16,
 * AMX), 15.1-15.4 ms against 12.4-12.8 ms. */
static int bf16_ok(int cin)
{
	const unsigned cpu = bh_cpu_features();
	return cin % 2 == 0 && !atomic_load(&force_f16) && (cpu & BH_CPU_AVX512BF16) &&
	       (atomic_load(&force_bf16) || !(cpu & BH_CPU_INTEL));
}

/* AMX tiles for a bfloat16 filter of cin input channels, on CPUs that have
 * them, unless a test forces one of the AVX-512 kernels.  Also a speed
 * choice (docs/FACE.md, Speed): on the Intel Xeon above, 6.4-6.9 ms per
 * face against 12.1-12.2 ms with float products on AVX-512. */
static int amx_ok(int cin)
{
	return bh_conv_amx_takes(cin) && (bh_cpu_features() & BH_CPU_AMXBF16) &&
	       !atomic_load(&force_f16) && !atomic_load(&force_bf16);
}

/* The format a filter of cin input channels is packed in now. */
static int pack_bf16(int cin) { return amx_ok(cin) || bf16_ok(cin); }

const char *bh_face_nn_kernel(void)
{
	return !fast_ok(16)  ? "openblas-im2col"
	       : amx_ok(32) ? "amx-bf16"
	       : bf16_ok(2) ? "avx512-direct-bf16"
			    : "avx512-direct";
}

/* The epilogue on the sgemm path, as separate passes. */
static void epi_apply(bh_t3 *t, const bh_epi *e)
{
	if (!e)
		return;
	if (e->mul || e->add)
		bh_t3_affine(t, e->mul, e->add);
	if (e->res)
		bh_t3_add(t, e->res);
	if (e->act == BH_ACT_RELU)
		bh_t3_relu(t);
	else if (e->act == BH_ACT_LEAKY)
		bh_t3_leaky(t);
}

/* `in` with g's padding made explicit: a zero border of pt rows / pl columns
 * before and as many after as the last window needs.  Only the border is
 * zeroed; the interior is copied. */
static int pad_copy(const bh_t3 *in, const bh_geom *g, bh_t3 *pad)
{
	const int ph = (g->oh - 1) * g->s + g->k, pw = (g->ow - 1) * g->s + g->k, c = in->c;
	int rc = bh_t3_alloc_nz(pad, ph, pw, c);
	if (rc)
		return rc;
	const size_t px = (size_t)c * sizeof(float);
	for (int py = 0; py < ph; py++) {
		float *row = pad->d + (size_t)py * pw * c;
		const int y = py - g->pt;
		if (y < 0 || y >= in->h) {
			memset(row, 0, (size_t)pw * px);
			continue;
		}
		int x0 = g->pl, n = in->w;
		if (x0 + n > pw)
			n = pw - x0;
		memset(row, 0, (size_t)x0 * px);
		memcpy(row + (size_t)x0 * c, in->d + (size_t)y * in->w * c, (size_t)n * px);
		memset(row + (size_t)(x0 + n) * c, 0, (size_t)(pw - x0 - n) * px);
	}
	return BH_OK;
}

int bh_conv_prepack(const float *filt, int k, int cin, int cout, uint16_t **out)
{
	*out = NULL;
	if (!fast_ok(cout) || k <= 0 || cin <= 0)
		return BH_OK;
	uint16_t *p = bh_aligned_zalloc(bh_conv_packed_count(k, cin, cout) * sizeof *p);
	if (!p)
		return bh_fail(BH_ENOMEM, "face: packed filter %dx%dx%dx%d", k, k, cin, cout);
	bh_conv_pack_avx512(filt, k, cin, cout, pack_bf16(cin), p);
	*out = p;
	return BH_OK;
}

/* Runs a direct kernel; pads a copy of the input only when g needs it. */
static int conv_fast(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
		     const bh_geom *g, const bh_epi *e, int depthwise, bh_t3 *out)
{
	bh_t3 pad = {0};
	const bh_t3 *src = in;
	uint16_t *tmp = NULL; /* a filter the model did not pack (tests) */
	if (!depthwise && !packed) {
		int rc = bh_conv_prepack(filt, g->k, in->c, cout, &tmp);
		if (rc)
			return rc;
		packed = tmp;
	}
	const int ph = (g->oh - 1) * g->s + g->k, pw = (g->ow - 1) * g->s + g->k;
	if (g->pt || g->pl || ph > in->h || pw > in->w) {
		int rc = pad_copy(in, g, &pad);
		if (rc) {
			bh_aligned_free(tmp);
			return rc;
		}
		src = &pad;
	}
	bh_t3 b16 = {0}; /* the input in bfloat16, two values per float slot */
	if (!depthwise && packed[0] == BH_CONV_PACK_BF16) {
		int rc = in->c % 2 ? bh_fail(BH_EINVAL, "face: bfloat16 filter for %d channels", in->c)
				   : bh_t3_alloc_nz(&b16, src->h, src->w, in->c / 2);
		if (rc) {
			bh_t3_free(&pad);
			bh_aligned_free(tmp);
			return rc;
		}
		bh_conv_to_bf16(src->d, (size_t)src->h * src->w * in->c, (uint16_t *)b16.d);
	}
	bh_conv_job j = {
	    .in = src->d, .in16 = (const uint16_t *)b16.d, .bf16 = b16.d != NULL, .iw = src->w,
	    .cin = in->c, .filt = filt, .fpk = packed, .k = g->k, .s = g->s,
	    .cout = cout, .oh = g->oh, .ow = g->ow, .out = out->d,
	};
	if (e) {
		j.mul = e->mul;
		j.add = e->add;
		j.res = e->res ? e->res->d : NULL;
		j.act = e->act;
		j.pool2 = e->pool2;
	}
	if (depthwise)
		bh_dwconv_avx512(&j);
	else if (j.bf16 && amx_ok(in->c)) /* j.bf16: the filter is packed as bfloat16 */
		bh_conv_amx(&j);
	else
		bh_conv_avx512(&j);
	bh_t3_free(&b16);
	bh_t3_free(&pad);
	bh_aligned_free(tmp);
	return BH_OK;
}

static int res_ok(const bh_epi *e, const bh_t3 *out)
{
	if (e && e->res && (e->res->h != out->h || e->res->w != out->w || e->res->c != out->c))
		return bh_fail(BH_EINVAL, "face: residual %dx%dx%d for output %dx%dx%d", e->res->h,
			       e->res->w, e->res->c, out->h, out->w, out->c);
	return BH_OK;
}

/* Convolution + epilogue, then pooling as separate passes (the pooled
 * epilogue on the sgemm path). */
static int conv_then_pool(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
			  const bh_geom *g, const bh_epi *e, bh_t3 *out)
{
	bh_epi e2 = *e;
	e2.pool2 = 0;
	bh_t3 full = {0};
	int rc = bh_conv2d(in, filt, packed, cout, g, &e2, &full);
	if (!rc) {
		bh_geom pg;
		bh_geom_same(&full, 2, 2, &pg);
		rc = bh_maxpool(&full, &pg, out);
	}
	bh_t3_free(&full);
	return rc;
}

int bh_conv2d(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
	      const bh_geom *g, const bh_epi *e, bh_t3 *out)
{
	const int pool2 = e && e->pool2;
	int monotone = pool2 && !e->res; /* checked only for a pooled convolution */
	for (int c = 0; monotone && e->mul && c < cout; c++)
		monotone = e->mul[c] > 0;
	if (pool2 && !monotone) {
		memset(out, 0, sizeof *out);
		return bh_fail(BH_EINVAL, "face: a pooled convolution takes no residual and no "
					  "scale <= 0");
	}
	if (pool2 && !fast_ok(cout))
		return conv_then_pool(in, filt, packed, cout, g, e, out);
	int rc = bh_t3_alloc_nz(out, pool2 ? (g->oh + 1) / 2 : g->oh, pool2 ? (g->ow + 1) / 2 : g->ow,
				cout);
	if (!rc)
		rc = res_ok(e, out);
	if (rc) {
		bh_t3_free(out);
		return rc;
	}
	const int kk = g->k * g->k * in->c, p = g->oh * g->ow;
	count((size_t)p, (size_t)kk, (size_t)cout);
	if (fast_ok(cout)) {
		rc = conv_fast(in, filt, packed, cout, g, e, 0, out);
		if (rc)
			bh_t3_free(out);
		return rc;
	}
	int direct = conv_direct(in, filt, cout, g, out->d);
	if (direct < 0) {
		bh_t3_free(out);
		return direct;
	}
	if (direct) {
		/* done */
	} else if (g->k == 1 && g->s == 1) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, cout, kk, 1.0f, in->d, kk,
			    filt, cout, 0.0f, out->d, cout);
	} else {
		size_t n = (size_t)p * kk * sizeof(float);
		float *col = col_get(n);
		if (!col) {
			bh_t3_free(out);
			return bh_fail(BH_ENOMEM, "face: im2col %zu bytes", n);
		}
		im2col(in, g, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, cout, kk, 1.0f, col, kk,
			    filt, cout, 0.0f, out->d, cout);
		bh_wipe(col, n);
	}
	epi_apply(out, e);
	return BH_OK;
}

BH_VEC static void dwconv_loop(const bh_t3 *in, const float *filt, const bh_geom *g,
			       bh_t3 *out)
{
	const int c = in->c, k = g->k;
	for (int oy = 0; oy < g->oh; oy++)
		for (int ox = 0; ox < g->ow; ox++) {
			float *restrict o = out->d + ((size_t)oy * g->ow + ox) * c;
			for (int ci = 0; ci < c; ci++)
				o[ci] = 0.0f;
			for (int ky = 0; ky < k; ky++) {
				int iy = oy * g->s + ky - g->pt;
				if (iy < 0 || iy >= in->h)
					continue;
				for (int kx = 0; kx < k; kx++) {
					int ix = ox * g->s + kx - g->pl;
					if (ix < 0 || ix >= in->w)
						continue;
					const float *restrict x = in->d + ((size_t)iy * in->w + ix) * c;
					const float *restrict f = filt + (ky * k + kx) * c;
					for (int ci = 0; ci < c; ci++)
						o[ci] += x[ci] * f[ci];
				}
			}
		}
}

int bh_dwconv(const bh_t3 *in, const float *filt, const bh_geom *g, bh_t3 *out)
{
	int rc = bh_t3_alloc_nz(out, g->oh, g->ow, in->c);
	if (rc)
		return rc;
	count((size_t)g->oh * g->ow, (size_t)g->k * g->k, (size_t)in->c);
	if (fast_ok(in->c)) {
		rc = conv_fast(in, filt, NULL, in->c, g, NULL, 1, out);
		if (rc)
			bh_t3_free(out);
		return rc;
	}
	dwconv_loop(in, filt, g, out);
	return BH_OK;
}

int bh_pwconv(const bh_t3 *in, const float *filt, const uint16_t *packed, int cout,
	      const bh_epi *e, bh_t3 *out)
{
	bh_geom g = {.k = 1, .s = 1, .oh = in->h, .ow = in->w};
	return bh_conv2d(in, filt, packed, cout, &g, e, out);
}

int bh_sepconv(const bh_t3 *in, const float *dw, const float *pw, const uint16_t *pw_packed,
	       int cout, const bh_geom *g, const bh_epi *e, bh_t3 *out)
{
	bh_t3 mid = {0};
	int rc = bh_dwconv(in, dw, g, &mid);
	if (!rc)
		rc = bh_pwconv(&mid, pw, pw_packed, cout, e, out);
	bh_t3_free(&mid);
	return rc;
}

/* is_max is a constant in each caller, so each gets its own loop without
 * the per-element choice. */
static inline __attribute__((always_inline)) void pool_loop(const bh_t3 *in, const bh_geom *g,
							     bh_t3 *out, const int is_max)
{
	const int c = in->c;
	for (int oy = 0; oy < g->oh; oy++) {
		const int y0 = oy * g->s - g->pt;
		const int ya = y0 < 0 ? 0 : y0, yb = y0 + g->k > in->h ? in->h : y0 + g->k;
		for (int ox = 0; ox < g->ow; ox++) {
			const int x0 = ox * g->s - g->pl;
			const int xa = x0 < 0 ? 0 : x0, xb = x0 + g->k > in->w ? in->w : x0 + g->k;
			float *restrict o = out->d + ((size_t)oy * g->ow + ox) * c;
			for (int ci = 0; ci < c; ci++)
				o[ci] = is_max ? -FLT_MAX : 0.0f;
			for (int iy = ya; iy < yb; iy++)
				for (int ix = xa; ix < xb; ix++) {
					const float *restrict x = in->d + ((size_t)iy * in->w + ix) * c;
					for (int ci = 0; ci < c; ci++)
						o[ci] = is_max ? (x[ci] > o[ci] ? x[ci] : o[ci]) : o[ci] + x[ci];
				}
			const int n = (yb - ya) * (xb - xa);
			if (!is_max && n > 0)
				for (int ci = 0; ci < c; ci++)
					o[ci] /= (float)n;
		}
	}
}

BH_VEC static void maxpool_loop(const bh_t3 *in, const bh_geom *g, bh_t3 *out)
{
	pool_loop(in, g, out, 1);
}

BH_VEC static void avgpool_loop(const bh_t3 *in, const bh_geom *g, bh_t3 *out)
{
	pool_loop(in, g, out, 0);
}

static int pool(const bh_t3 *in, const bh_geom *g, bh_t3 *out, int is_max)
{
	int rc = bh_t3_alloc_nz(out, g->oh, g->ow, in->c);
	if (rc)
		return rc;
	if (is_max)
		maxpool_loop(in, g, out);
	else
		avgpool_loop(in, g, out);
	return BH_OK;
}

int bh_maxpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out) { return pool(in, g, out, 1); }
int bh_avgpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out) { return pool(in, g, out, 0); }

BH_VEC void bh_t3_affine(bh_t3 *t, const float *mul, const float *add)
{
	const size_t px = (size_t)t->h * t->w;
	const int c = t->c;
	for (size_t i = 0; i < px; i++) {
		float *x = t->d + i * c;
		if (mul && add)
			for (int ci = 0; ci < c; ci++)
				x[ci] = x[ci] * mul[ci] + add[ci];
		else if (mul)
			for (int ci = 0; ci < c; ci++)
				x[ci] *= mul[ci];
		else
			for (int ci = 0; ci < c; ci++)
				x[ci] += add[ci];
	}
}

BH_VEC void bh_t3_relu(bh_t3 *t)
{
	const size_t n = (size_t)t->h * t->w * t->c;
	for (size_t i = 0; i < n; i++)
		t->d[i] = t->d[i] > 0.0f ? t->d[i] : 0.0f;
}

BH_VEC void bh_t3_leaky(bh_t3 *t)
{
	const size_t n = (size_t)t->h * t->w * t->c;
	for (size_t i = 0; i < n; i++)
		t->d[i] = t->d[i] > 0.0f ? t->d[i] : 0.1f * t->d[i];
}

BH_VEC void bh_t3_add(bh_t3 *a, const bh_t3 *b)
{
	const size_t n = (size_t)a->h * a->w * a->c;
	for (size_t i = 0; i < n; i++)
		a->d[i] += b->d[i];
}
