/* bh_face_nn.c - tensor ops for the face networks (see header). */
#include "bh_face_nn.h"

#include <cblas.h>
#include <float.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

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

void bh_geom_same(const bh_t3 *in, int k, int s, bh_geom *g) { geom(in, k, s, 1, g); }
void bh_geom_valid(const bh_t3 *in, int k, int s, bh_geom *g) { geom(in, k, s, 0, g); }

int bh_t3_alloc(bh_t3 *t, int h, int w, int c)
{
	t->h = h;
	t->w = w;
	t->c = c;
	t->d = NULL;
	if (h <= 0 || w <= 0 || c <= 0 || (size_t)h * w * c > (64u << 20))
		return bh_fail(BH_EINVAL, "face: tensor %dx%dx%d out of range", h, w, c);
	t->d = bh_aligned_zalloc((size_t)h * w * c * sizeof(float));
	return t->d ? BH_OK : bh_fail(BH_ENOMEM, "face: tensor %dx%dx%d", h, w, c);
}

void bh_t3_free(bh_t3 *t)
{
	if (t->d)
		bh_wipe_aligned_free(t->d, (size_t)t->h * t->w * t->c * sizeof(float));
	t->d = NULL;
}

/* Rows of the im2col matrix: one per output pixel, k*k*cin values in
 * (ky, kx, ci) order, matching the filter layout. */
static void im2col(const bh_t3 *in, const bh_geom *g, float *col)
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

static void add_bias(bh_t3 *t, const float *bias)
{
	if (bias)
		bh_t3_affine(t, NULL, bias);
}

int bh_conv2d(const bh_t3 *in, const float *filt, int cout, const bh_geom *g,
	      const float *bias, bh_t3 *out)
{
	int rc = bh_t3_alloc(out, g->oh, g->ow, cout);
	if (rc)
		return rc;
	const int kk = g->k * g->k * in->c, p = g->oh * g->ow;
	if (g->k == 1 && g->s == 1) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, cout, kk, 1.0f, in->d, kk,
			    filt, cout, 0.0f, out->d, cout);
	} else {
		size_t n = (size_t)p * kk * sizeof(float);
		float *col = bh_aligned_zalloc(n);
		if (!col) {
			bh_t3_free(out);
			return bh_fail(BH_ENOMEM, "face: im2col %zu bytes", n);
		}
		im2col(in, g, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, cout, kk, 1.0f, col, kk,
			    filt, cout, 0.0f, out->d, cout);
		bh_wipe_aligned_free(col, n);
	}
	add_bias(out, bias);
	return BH_OK;
}

int bh_dwconv(const bh_t3 *in, const float *filt, const bh_geom *g, bh_t3 *out)
{
	int rc = bh_t3_alloc(out, g->oh, g->ow, in->c);
	if (rc)
		return rc;
	const int c = in->c, k = g->k;
	for (int oy = 0; oy < g->oh; oy++)
		for (int ox = 0; ox < g->ow; ox++) {
			float *restrict o = out->d + ((size_t)oy * g->ow + ox) * c;
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
	return BH_OK;
}

int bh_pwconv(const bh_t3 *in, const float *filt, int cout, const float *bias, bh_t3 *out)
{
	bh_geom g = {.k = 1, .s = 1, .oh = in->h, .ow = in->w};
	return bh_conv2d(in, filt, cout, &g, bias, out);
}

int bh_sepconv(const bh_t3 *in, const float *dw, const float *pw, int cout, const bh_geom *g,
	       const float *bias, bh_t3 *out)
{
	bh_t3 mid = {0};
	int rc = bh_dwconv(in, dw, g, &mid);
	if (!rc)
		rc = bh_pwconv(&mid, pw, cout, bias, out);
	bh_t3_free(&mid);
	return rc;
}

static int pool(const bh_t3 *in, const bh_geom *g, bh_t3 *out, int is_max)
{
	int rc = bh_t3_alloc(out, g->oh, g->ow, in->c);
	if (rc)
		return rc;
	const int c = in->c;
	for (int oy = 0; oy < g->oh; oy++)
		for (int ox = 0; ox < g->ow; ox++) {
			float *o = out->d + ((size_t)oy * g->ow + ox) * c;
			int n = 0;
			for (int ci = 0; ci < c; ci++)
				o[ci] = is_max ? -FLT_MAX : 0.0f;
			for (int ky = 0; ky < g->k; ky++) {
				int iy = oy * g->s + ky - g->pt;
				if (iy < 0 || iy >= in->h)
					continue;
				for (int kx = 0; kx < g->k; kx++) {
					int ix = ox * g->s + kx - g->pl;
					if (ix < 0 || ix >= in->w)
						continue;
					const float *x = in->d + ((size_t)iy * in->w + ix) * c;
					n++;
					for (int ci = 0; ci < c; ci++)
						o[ci] = is_max ? (x[ci] > o[ci] ? x[ci] : o[ci])
							       : o[ci] + x[ci];
				}
			}
			if (!is_max && n > 0)
				for (int ci = 0; ci < c; ci++)
					o[ci] /= (float)n;
		}
	return BH_OK;
}

int bh_maxpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out) { return pool(in, g, out, 1); }
int bh_avgpool(const bh_t3 *in, const bh_geom *g, bh_t3 *out) { return pool(in, g, out, 0); }

void bh_t3_affine(bh_t3 *t, const float *mul, const float *add)
{
	const size_t px = (size_t)t->h * t->w;
	const int c = t->c;
	for (size_t i = 0; i < px; i++) {
		float *x = t->d + i * c;
		if (mul)
			for (int ci = 0; ci < c; ci++)
				x[ci] = x[ci] * mul[ci] + add[ci];
		else
			for (int ci = 0; ci < c; ci++)
				x[ci] += add[ci];
	}
}

void bh_t3_relu(bh_t3 *t)
{
	const size_t n = (size_t)t->h * t->w * t->c;
	for (size_t i = 0; i < n; i++)
		t->d[i] = t->d[i] > 0.0f ? t->d[i] : 0.0f;
}

void bh_t3_leaky(bh_t3 *t)
{
	const size_t n = (size_t)t->h * t->w * t->c;
	for (size_t i = 0; i < n; i++)
		t->d[i] = t->d[i] > 0.0f ? t->d[i] : 0.1f * t->d[i];
}

void bh_t3_add(bh_t3 *a, const bh_t3 *b)
{
	const size_t n = (size_t)a->h * a->w * a->c;
	for (size_t i = 0; i < n; i++)
		a->d[i] += b->d[i];
}
