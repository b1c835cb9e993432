/* bh_palm.c - palm print ROI competitive code and comparator (see bh_palm.h). */
#include "bh_palm.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

/* Gabor bank (Kong & Zhang's competitive code uses a 35x35 real Gabor with
 * a one-octave bandwidth at this ROI scale). */
#define GAB_HALF 17
#define GAB_SIZE (2 * GAB_HALF + 1)
#define GAB_OMEGA 0.3666
#define GAB_KAPPA 2.0595 /* omega * sigma, sigma = 5.6179 px */

static const uint8_t orient_bits[BH_PALM_ORIENT] = {0x0, 0x1, 0x3, 0x7, 0x6, 0x4};

static float gabor_bank[BH_PALM_ORIENT][GAB_SIZE * GAB_SIZE];
static pthread_once_t gabor_once = PTHREAD_ONCE_INIT;

/* Real part of the Gabor, with the DC term removed so that uniform
 * brightness changes do not move the winner. */
static void gabor_init(void)
{
	for (int j = 0; j < BH_PALM_ORIENT; j++) {
		double th = j * M_PI / BH_PALM_ORIENT, c = cos(th), s = sin(th);
		double sum = 0;
		float *g = gabor_bank[j];
		for (int y = -GAB_HALF; y <= GAB_HALF; y++)
			for (int x = -GAB_HALF; x <= GAB_HALF; x++) {
				double xr = x * c + y * s, yr = -x * s + y * c;
				double env = exp(-GAB_OMEGA * GAB_OMEGA / (8 * GAB_KAPPA * GAB_KAPPA) *
						 (4 * xr * xr + yr * yr));
				double v = env * (cos(GAB_OMEGA * xr) - exp(-GAB_KAPPA * GAB_KAPPA / 2));
				g[(y + GAB_HALF) * GAB_SIZE + x + GAB_HALF] = (float)v;
				sum += v;
			}
		/* exact zero mean after truncation to the window */
		float m = (float)(sum / (GAB_SIZE * GAB_SIZE));
		for (int i = 0; i < GAB_SIZE * GAB_SIZE; i++)
			g[i] -= m;
	}
}

/* Bilinear resample of a grey image into a padded float ROI (edges
 * replicated), so that filters never read outside. */
#define PADW (BH_PALM_ROI + 2 * GAB_HALF)
static void make_roi(const bh_image *img, float *pad)
{
	float sx = (float)img->w / BH_PALM_ROI, sy = (float)img->h / BH_PALM_ROI;
	for (int y = -GAB_HALF; y < BH_PALM_ROI + GAB_HALF; y++) {
		int yc = y < 0 ? 0 : y >= BH_PALM_ROI ? BH_PALM_ROI - 1 : y;
		float fy = (yc + 0.5f) * sy - 0.5f;
		if (fy < 0)
			fy = 0;
		int y0 = (int)fy, y1 = y0 + 1 < (int)img->h ? y0 + 1 : y0;
		float wy = fy - y0;
		for (int x = -GAB_HALF; x < BH_PALM_ROI + GAB_HALF; x++) {
			int xc = x < 0 ? 0 : x >= BH_PALM_ROI ? BH_PALM_ROI - 1 : x;
			float fx = (xc + 0.5f) * sx - 0.5f;
			if (fx < 0)
				fx = 0;
			int x0 = (int)fx, x1 = x0 + 1 < (int)img->w ? x0 + 1 : x0;
			float wx = fx - x0;
			const uint8_t *r0 = img->px + (size_t)y0 * img->w, *r1 = img->px + (size_t)y1 * img->w;
			float v = (1 - wy) * ((1 - wx) * r0[x0] + wx * r0[x1]) + wy * ((1 - wx) * r1[x0] + wx * r1[x1]);
			pad[(y + GAB_HALF) * PADW + x + GAB_HALF] = v;
		}
	}
}

/* Winning orientation at ROI point (cx, cy); *contrast = how clearly. */
static int winner(const float *pad, int cx, int cy, float *contrast)
{
	float resp[BH_PALM_ORIENT];
	const float *base = pad + (size_t)cy * PADW + cx; /* top-left of the window */
	/* The even Gabor is point-symmetric, g(x, y) = g(-x, -y): pairs of
	 * pixels mirrored through the centre share one multiply. */
	float fold[GAB_HALF * GAB_SIZE + GAB_HALF + 1];
	for (int y = 0; y < GAB_HALF; y++) {
		const float *ra = base + (size_t)y * PADW, *rb = base + (size_t)(GAB_SIZE - 1 - y) * PADW;
		for (int x = 0; x < GAB_SIZE; x++)
			fold[y * GAB_SIZE + x] = ra[x] + rb[GAB_SIZE - 1 - x];
	}
	const float *rc = base + (size_t)GAB_HALF * PADW;
	for (int x = 0; x < GAB_HALF; x++)
		fold[GAB_HALF * GAB_SIZE + x] = rc[x] + rc[GAB_SIZE - 1 - x];
	fold[GAB_HALF * GAB_SIZE + GAB_HALF] = rc[GAB_HALF];
	for (int j = 0; j < BH_PALM_ORIENT; j++) {
		const float *g = gabor_bank[j];
		float s = 0;
		for (int k = 0; k < GAB_HALF * GAB_SIZE + GAB_HALF + 1; k++)
			s += fold[k] * g[k];
		resp[j] = s;
	}
	int best = 0;
	float mx = resp[0], mean = 0;
	for (int j = 0; j < BH_PALM_ORIENT; j++) {
		if (resp[j] < resp[best])
			best = j;
		if (resp[j] > mx)
			mx = resp[j];
		mean += resp[j] / BH_PALM_ORIENT;
	}
	float range = mx - resp[best];
	*contrast = range > 0 ? (mean - resp[best]) / range : 0;
	return best;
}

static void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int bh_palm_extract(const bh_image *img, uint8_t *code, uint8_t *full, int *quality)
{
	if (!img || !img->px || img->channels != 1 || img->w < 32 || img->h < 32)
		return bh_fail(BH_EINVAL, "palm: need a grey image of at least 32x32");
	pthread_once(&gabor_once, gabor_init);
	size_t padn = (size_t)PADW * PADW;
	float *pad = malloc(padn * sizeof *pad);
	if (!pad)
		return bh_fail(BH_ENOMEM, "palm: ROI buffer");
	make_roi(img, pad);
	/* a flat image has no texture to code */
	float lo = pad[0], hi = pad[0];
	for (size_t i = 0; i < padn; i++) {
		lo = pad[i] < lo ? pad[i] : lo;
		hi = pad[i] > hi ? pad[i] : hi;
	}
	if (hi - lo < 8.0f) {
		bh_wipe_free(pad, padn * sizeof *pad);
		return bh_fail(BH_ENOFEATURE, "palm: flat image (range %.0f)", (double)(hi - lo));
	}
	uint64_t planes[BH_PALM_PLANES][BH_PALM_GRID];
	memset(planes, 0, sizeof planes);
	memset(code, 0, BH_PALM_CODE_BITS / 8);
	double csum = 0;
	for (int r = 0; r < BH_PALM_GRID; r++)
		for (int c = 0; c < BH_PALM_GRID; c++) {
			float ct;
			int j = winner(pad, 2 * c + 1, 2 * r + 1, &ct);
			csum += ct;
			for (int p = 0; p < BH_PALM_PLANES; p++) {
				if (!((orient_bits[j] >> p) & 1))
					continue;
				planes[p][r] |= 1ull << c;
				if (!(r & 1) && !(c & 1)) { /* every other point: the code grid */
					size_t bit = (size_t)p * 1024 + (size_t)(r / 2) * 32 + (size_t)(c / 2);
					code[bit / 8] |= (uint8_t)(1u << (bit % 8));
				}
			}
		}
	memcpy(full, "BHP1", 4);
	full[4] = 1;
	full[5] = BH_PALM_ORIENT;
	full[6] = BH_PALM_GRID;
	full[7] = 0;
	for (int p = 0; p < BH_PALM_PLANES; p++)
		for (int r = 0; r < BH_PALM_GRID; r++)
			put_u64le(full + 8 + ((size_t)p * BH_PALM_GRID + r) * 8, planes[p][r]);
	/* contrast ~0.5 for a clear winner on average, ~0 for noise */
	int q = (int)lrint(200.0 * csum / (BH_PALM_GRID * BH_PALM_GRID));
	*quality = q < 0 ? 0 : q > 100 ? 100 : q;
	bh_wipe(planes, sizeof planes);
	bh_wipe_free(pad, padn * sizeof *pad);
	return BH_OK;
}

int bh_palm_full_check(const void *full, size_t len)
{
	const uint8_t *f = full;
	if (!f || len != BH_PALM_FULL_BYTES || memcmp(f, "BHP1", 4) != 0 || f[4] != 1 ||
	    f[5] != BH_PALM_ORIENT || f[6] != BH_PALM_GRID || f[7] != 0)
		return bh_fail(BH_EFORMAT, "palm: malformed full template (%zu bytes)", len);
	/* only the 6 orientation patterns are valid: 010 and 101 never occur */
	for (int r = 0; r < BH_PALM_GRID; r++) {
		uint64_t b0 = get_u64le(f + 8 + (size_t)r * 8);
		uint64_t b1 = get_u64le(f + 8 + ((size_t)BH_PALM_GRID + r) * 8);
		uint64_t b2 = get_u64le(f + 8 + ((size_t)2 * BH_PALM_GRID + r) * 8);
		if ((~b0 & b1 & ~b2) | (b0 & ~b1 & b2))
			return bh_fail(BH_EFORMAT, "palm: invalid orientation code in row %d", r);
	}
	return BH_OK;
}

int bh_palm_compare(const void *a, size_t alen, const void *b, size_t blen, int32_t *score)
{
	*score = 0;
	int rc = bh_palm_full_check(a, alen);
	if (rc == BH_OK)
		rc = bh_palm_full_check(b, blen);
	if (rc != BH_OK)
		return rc;
	uint64_t A[BH_PALM_PLANES][BH_PALM_GRID], B[BH_PALM_PLANES][BH_PALM_GRID];
	for (int p = 0; p < BH_PALM_PLANES; p++)
		for (int r = 0; r < BH_PALM_GRID; r++) {
			size_t off = 8 + ((size_t)p * BH_PALM_GRID + r) * 8;
			A[p][r] = get_u64le((const uint8_t *)a + off);
			B[p][r] = get_u64le((const uint8_t *)b + off);
		}
	int32_t best = 0;
	for (int dy = -BH_PALM_SHIFT; dy <= BH_PALM_SHIFT; dy++) {
		int r0 = dy < 0 ? -dy : 0, r1 = dy > 0 ? BH_PALM_GRID - dy : BH_PALM_GRID;
		for (int dx = -BH_PALM_SHIFT; dx <= BH_PALM_SHIFT; dx++) {
			/* column c of A against column c+dx of B */
			int c0 = dx < 0 ? -dx : 0, c1 = dx > 0 ? BH_PALM_GRID - dx : BH_PALM_GRID;
			uint64_t mask = (c1 - c0 == 64 ? ~0ull : ((1ull << (c1 - c0)) - 1)) << c0;
			int64_t d = 0;
			for (int p = 0; p < BH_PALM_PLANES; p++)
				for (int r = r0; r < r1; r++) {
					uint64_t bb = B[p][r + dy];
					bb = dx >= 0 ? bb >> dx : bb << -dx;
					d += __builtin_popcountll((A[p][r] ^ bb) & mask);
				}
			int64_t n = (int64_t)BH_PALM_PLANES * (r1 - r0) * (c1 - c0);
			int32_t s = (int32_t)(BH_PALM_SCORE_MAX - (BH_PALM_SCORE_MAX * d) / n);
			if (s > best)
				best = s;
		}
	}
	bh_wipe(A, sizeof A);
	bh_wipe(B, sizeof B);
	*score = best;
	return BH_OK;
}

/* ---- modality ------------------------------------------------------- */

static int palm_init(const char *model_dir, void **model)
{
	(void)model_dir;
	*model = NULL;
	pthread_once(&gabor_once, gabor_init);
	return BH_OK;
}

static void palm_fini(void *model)
{
	(void)model;
}

static int palm_extract(void *model, const bh_image *img, bh_probe_tmpl *out)
{
	(void)model;
	memset(out, 0, sizeof *out);
	bh_image grey = {0};
	const bh_image *src = img;
	int rc = BH_OK;
	if (img->channels != 1) { /* convert a copy; the caller's image stays as is */
		rc = bh_image_alloc(&grey, img->w, img->h, img->channels, NULL);
		if (rc != BH_OK)
			return rc;
		memcpy(grey.px, img->px, (size_t)img->w * img->h * img->channels);
		if ((rc = bh_image_convert(&grey, 1)) != BH_OK) {
			bh_image_free(&grey);
			return rc;
		}
		src = &grey;
	}
	out->code = bh_aligned_zalloc(BH_PALM_CODE_BITS / 8);
	out->full = malloc(BH_PALM_FULL_BYTES);
	if (!out->code || !out->full)
		rc = bh_fail(BH_ENOMEM, "palm: template");
	out->code_len = BH_PALM_CODE_BITS / 8;
	out->full_len = BH_PALM_FULL_BYTES;
	if (rc == BH_OK)
		rc = bh_palm_extract(src, out->code, out->full, &out->quality);
	bh_image_free(&grey);
	if (rc != BH_OK) {
		bh_probe_tmpl_clear(out);
		return rc;
	}
	out->modality = BH_MOD_PALM;
	out->position = 0;
	out->format = BH_FMT_PALM_V1;
	if (img->w != BH_PALM_ROI || img->h != BH_PALM_ROI)
		snprintf(out->warning, sizeof out->warning, "resampled %ux%u to the %dx%d ROI", img->w,
			 img->h, BH_PALM_ROI, BH_PALM_ROI);
	return BH_OK;
}

static int palm_rerank(void *model, const bh_probe_tmpl *probe, bh_full_fetch fetch, void *ctx,
		       bh_hit *hits, uint32_t n)
{
	(void)model;
	for (uint32_t i = 0; i < n; i++) {
		void *blob = NULL;
		size_t len = 0;
		int rc = fetch(ctx, hits[i].id, &blob, &len);
		if (rc != BH_OK)
			return rc;
		int32_t s = 0;
		rc = bh_palm_compare(probe->full, probe->full_len, blob, len, &s);
		free(blob);
		if (rc != BH_OK)
			return rc;
		hits[i].score = s;
	}
	bh_hits_sort(hits, n);
	return BH_OK;
}

const bh_modality_ops bh_palm_ops = {
	.modality = BH_MOD_PALM,
	.name = "palm",
	.init = palm_init,
	.fini = palm_fini,
	.extract = palm_extract,
	.rerank_depth = BH_PALM_RERANK_DEPTH,
	.rerank = palm_rerank,
	.threshold = BH_PALM_THRESHOLD,
};
