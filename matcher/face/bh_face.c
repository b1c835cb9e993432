/* bh_face.c - face pipeline and modality ops (see bh_face.h). */
#include "bh_face.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"
#include "bh_template.h"
#include "bh_time.h"

#ifndef BH_DEFAULT_MODEL_DIR
#define BH_DEFAULT_MODEL_DIR "models/face"
#endif

struct bh_face_model {
	bh_face_nets nets;
};

int bh_face_model_load(const char *model_dir, bh_face_model **out)
{
	*out = NULL;
	bh_face_model *m = calloc(1, sizeof *m);
	if (!m)
		return bh_fail(BH_ENOMEM, "face: model");
	int rc = bh_face_nets_load(model_dir ? model_dir : BH_DEFAULT_MODEL_DIR, &m->nets);
	if (rc) {
		free(m);
		return rc;
	}
	*out = m;
	return BH_OK;
}

void bh_face_model_free(bh_face_model *m)
{
	if (!m)
		return;
	bh_face_nets_free(&m->nets);
	free(m);
}

const bh_face_nets *bh_face_model_nets(const bh_face_model *m) { return &m->nets; }

/* ---- work image ---------------------------------------------------------- */

/* RGB copy of img, box-filtered by an integer factor *f so that neither side
 * exceeds BH_FACE_WORK_MAX.  Work is O(pixels) and the result is bounded. */
static int prep(const bh_image *img, bh_image *work, int *f)
{
	memset(work, 0, sizeof *work);
	if (!img || !img->px || (img->channels != 1 && img->channels != 3))
		return bh_fail(BH_EINVAL, "face: image must be grey or RGB");
	if (img->w < BH_FACE_MIN_SIDE || img->h < BH_FACE_MIN_SIDE)
		return bh_fail(BH_ENOFACE, "face: image %ux%u is too small to hold a face", img->w,
			       img->h);
	uint32_t side = img->w > img->h ? img->w : img->h;
	int k = (int)((side + BH_FACE_WORK_MAX - 1) / BH_FACE_WORK_MAX);
	uint32_t w = img->w / k, h = img->h / k;
	int rc = bh_image_alloc(work, w, h, 3, NULL);
	if (rc)
		return rc;
	const int ch = (int)img->channels;
	*f = k;
	if (k == 1 && ch == 3) { /* already small enough: a plain copy */
		memcpy(work->px, img->px, (size_t)w * h * 3);
		return BH_OK;
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			unsigned acc[3] = {0, 0, 0};
			for (int dy = 0; dy < k; dy++) {
				const uint8_t *s = img->px + (((size_t)y * k + dy) * img->w + (size_t)x * k) * ch;
				for (int dx = 0; dx < k; dx++, s += ch)
					for (int c = 0; c < 3; c++)
						acc[c] += s[ch == 3 ? c : 0];
			}
			uint8_t *d = work->px + ((size_t)y * w + x) * 3;
			for (int c = 0; c < 3; c++)
				d[c] = (uint8_t)((acc[c] + (unsigned)(k * k) / 2) / (unsigned)(k * k));
		}
	return BH_OK;
}

/* floor() for |v| < 2^30 without the libm call (the baseline x86-64 ISA has
 * no rounding instruction); callers bound v first. */
static inline int ifloor(double v)
{
	int i = (int)v;
	return i - (v < (double)i);
}

/* ---- resizing ------------------------------------------------------------ */

/* Resizes the view (x0, y0, vw, vh) of an RGB image, zero-padded to a square,
 * to side x side like tf.image.resizeBilinear(alignCorners = false).
 * *pre_x / *pre_y receive the padding in front of the view. */
static int resize_view(const bh_image *img, int x0, int y0, int vw, int vh, int side, int centre,
		       bh_t3 *out, int *pre_x, int *pre_y)
{
	int rc = bh_t3_alloc_nz(out, side, side, 3); /* every element written */
	if (rc)
		return rc;
	const int s = vw > vh ? vw : vh;
	const int dx = s - vw, dy = s - vh;
	/* face-api's padToSquare appends round(d/2) (JS rounding) and prepends the rest */
	const int px = centre ? dx - (dx + 1) / 2 : 0, py = centre ? dy - (dy + 1) / 2 : 0;
	const float scale = (float)s / (float)side;
	/* Per output column: the two source columns inside the view (-1 when the
	 * sample falls in the zero padding) and the weight of the second. */
	int *cols = malloc((size_t)side * 2 * sizeof *cols);
	float *fxs = malloc((size_t)side * sizeof *fxs);
	if (!cols || !fxs) {
		free(cols);
		free(fxs);
		bh_t3_free(out);
		return bh_fail(BH_ENOMEM, "face: resize tables");
	}
	for (int ox = 0; ox < side; ox++) {
		float sx = ox * scale;
		int xa = ifloor(sx), xb = xa + 1 < s ? xa + 1 : s - 1;
		fxs[ox] = sx - xa;
		xa -= px;
		xb -= px;
		cols[2 * ox] = xa >= 0 && xa < vw ? xa + x0 : -1;
		cols[2 * ox + 1] = xb >= 0 && xb < vw ? xb + x0 : -1;
	}
	static const uint8_t zero[3];
	for (int oy = 0; oy < side; oy++) {
		float sy = oy * scale;
		int ya = ifloor(sy), yb = ya + 1 < s ? ya + 1 : s - 1;
		const float fy = sy - ya;
		ya -= py;
		yb -= py;
		const uint8_t *ra = ya >= 0 && ya < vh ? img->px + (size_t)(ya + y0) * img->w * 3 : NULL;
		const uint8_t *rb = yb >= 0 && yb < vh ? img->px + (size_t)(yb + y0) * img->w * 3 : NULL;
		float *o = out->d + (size_t)oy * side * 3;
		for (int ox = 0; ox < side; ox++, o += 3) {
			const int ca = cols[2 * ox], cb = cols[2 * ox + 1];
			const uint8_t *p00 = ra && ca >= 0 ? ra + (size_t)ca * 3 : zero;
			const uint8_t *p01 = ra && cb >= 0 ? ra + (size_t)cb * 3 : zero;
			const uint8_t *p10 = rb && ca >= 0 ? rb + (size_t)ca * 3 : zero;
			const uint8_t *p11 = rb && cb >= 0 ? rb + (size_t)cb * 3 : zero;
			const float fx = fxs[ox];
			for (int c = 0; c < 3; c++) {
				float top = p00[c] + ((float)p01[c] - p00[c]) * fx;
				float bot = p10[c] + ((float)p11[c] - p10[c]) * fx;
				o[c] = top + (bot - top) * fy;
			}
		}
	}
	free(cols);
	free(fxs);
	if (pre_x)
		*pre_x = px;
	if (pre_y)
		*pre_y = py;
	return BH_OK;
}

int bh_face_resize_square(const bh_image *img, int side, int centre, bh_t3 *out)
{
	if (!img || !img->px || img->channels != 3 || side <= 0 || side > 2048)
		return bh_fail(BH_EINVAL, "face: resize needs an RGB image");
	return resize_view(img, 0, 0, (int)img->w, (int)img->h, side, centre, out, NULL, NULL);
}

/* ---- detection ----------------------------------------------------------- */

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static float inter_area(const bh_face_box *a, const bh_face_box *b)
{
	float w = fminf(a->x + a->w, b->x + b->w) - fmaxf(a->x, b->x);
	float h = fminf(a->y + a->h, b->y + b->h) - fmaxf(a->y, b->y);
	return w > 0 && h > 0 ? w * h : 0;
}

static float iou(const bh_face_box *a, const bh_face_box *b)
{
	float inter = inter_area(a, b);
	return inter > 0 ? inter / (a->w * a->h + b->w * b->h - inter) : 0;
}

/* More than half of the smaller box inside the other: a tighter box of the
 * same face, which NMS (IoU) keeps when the fuller one is much larger. */
static int nested(const bh_face_box *a, const bh_face_box *b)
{
	return inter_area(a, b) > 0.5f * fminf(a->w * a->h, b->w * b->h);
}

static int cmp_score(const void *a, const void *b)
{
	float x = ((const bh_face_box *)a)->score, y = ((const bh_face_box *)b)->score;
	return (x < y) - (x > y);
}

/* Decodes the grid, keeps boxes above the score threshold, greedy NMS. */
static int det_decode(const bh_t3 *out, int side, float s, bh_face_box *boxes, int max, int *n)
{
	enum { CAND = 1024 };
	bh_face_box *cand = malloc(CAND * sizeof *cand);
	if (!cand)
		return bh_fail(BH_ENOMEM, "face: detection candidates");
	int nc = 0;
	const int g = out->h;
	const float cell = (float)side / g, back = s / (float)side;
	for (int row = 0; row < g; row++)
		for (int col = 0; col < g; col++)
			for (int a = 0; a < BH_FACE_ANCHORS; a++) {
				const float *v = out->d + ((size_t)row * g + col) * out->c + a * 5;
				float score = sigmoid(v[4]);
				if (score <= BH_FACE_DET_MIN || nc >= CAND)
					continue;
				float cx = (col + sigmoid(v[0])) * cell, cy = (row + sigmoid(v[1])) * cell;
				float w = expf(fminf(v[2], 10.0f)) * bh_face_anchors[a][0] * cell;
				float h = expf(fminf(v[3], 10.0f)) * bh_face_anchors[a][1] * cell;
				cand[nc++] = (bh_face_box){(cx - w / 2) * back, (cy - h / 2) * back,
							   w * back, h * back, score};
			}
	qsort(cand, (size_t)nc, sizeof *cand, cmp_score);
	/* candidates score above BH_FACE_DET_CAND; with none, the single best
	 * box above BH_FACE_DET_MIN stands in (dim, small or turned faces) */
	if (nc > 0 && cand[0].score <= BH_FACE_DET_CAND)
		nc = 1;
	else
		while (nc > 0 && cand[nc - 1].score <= BH_FACE_DET_CAND)
			nc--;
	int k = 0;
	for (int i = 0; i < nc && k < max; i++) {
		int keep = 1;
		for (int j = 0; j < k && keep; j++)
			if (iou(&cand[i], &boxes[j]) > 0.4f)
				keep = 0;
		if (keep)
			boxes[k++] = cand[i];
	}
	free(cand);
	*n = k;
	return BH_OK;
}

/* Detector input side for an image whose longer side is s. */
static int det_side(int s)
{
	int side = (s + 31) / 32 * 32;
	return side < 128 ? 128 : side > 416 ? 416 : side;
}

static int detect_work(const bh_face_model *m, const bh_image *work, bh_face_box *boxes, int max,
		       int *n)
{
	int s = (int)(work->w > work->h ? work->w : work->h), side = det_side(s);
	bh_t3 in = {0}, out = {0};
	int rc = resize_view(work, 0, 0, (int)work->w, (int)work->h, side, 0, &in, NULL, NULL);
	if (!rc)
		rc = bh_face_net_detect(&m->nets, &in, &out);
	if (!rc)
		rc = det_decode(&out, side, (float)s, boxes, max, n);
	bh_t3_free(&in);
	bh_t3_free(&out);
	return rc;
}

int bh_face_detect(const bh_face_model *m, const bh_image *img, bh_face_box *boxes, int max,
		   int *n)
{
	bh_image work;
	int f = 1;
	*n = 0;
	int rc = prep(img, &work, &f);
	if (!rc)
		rc = detect_work(m, &work, boxes, max, n);
	for (int i = 0; !rc && i < *n; i++) {
		boxes[i].x *= f;
		boxes[i].y *= f;
		boxes[i].w *= f;
		boxes[i].h *= f;
	}
	bh_image_free(&work);
	return rc;
}

/* ---- landmarks ----------------------------------------------------------- */

static int landmarks_work(const bh_face_model *m, const bh_image *work, const bh_face_box *b,
			  float pts[136])
{
	/* face-api: clip the box at the image borders, then floor it */
	float x = fmaxf(b->x, 0), y = fmaxf(b->y, 0);
	float w = fminf(b->x + b->w - x, (float)work->w - x);
	float h = fminf(b->y + b->h - y, (float)work->h - y);
	int x0 = (int)floorf(x), y0 = (int)floorf(y), cw = (int)floorf(w), ch = (int)floorf(h);
	if (cw < 8 || ch < 8 || x0 + cw > (int)work->w || y0 + ch > (int)work->h)
		return bh_fail(BH_ENOFACE, "face: face box too small");
	bh_t3 in = {0};
	int px = 0, py = 0;
	int rc = resize_view(work, x0, y0, cw, ch, BH_FACE_LMK_IN, 1, &in, &px, &py);
	if (!rc)
		rc = bh_face_net_landmarks(&m->nets, &in, pts);
	if (!rc) {
		const float s = (float)(cw > ch ? cw : ch);
		for (int i = 0; i < 68; i++) {
			pts[2 * i] = pts[2 * i] * s - (float)px + (float)x0;
			pts[2 * i + 1] = pts[2 * i + 1] * s - (float)py + (float)y0;
		}
	}
	bh_t3_free(&in);
	return rc;
}

int bh_face_landmarks(const bh_face_model *m, const bh_image *img, const bh_face_box *box,
		      float pts[136])
{
	bh_image work;
	int f = 1;
	int rc = prep(img, &work, &f);
	if (!rc) {
		bh_face_box b = {box->x / f, box->y / f, box->w / f, box->h / f, box->score};
		rc = landmarks_work(m, &work, &b, pts);
	}
	for (int i = 0; !rc && i < 136; i++)
		pts[i] *= f;
	bh_image_free(&work);
	return rc;
}

/* The 68 landmarks' bounding box, grown by e times its size on each side. */
static bh_face_box lmk_box(const float pts[136], float e)
{
	float x0 = pts[0], y0 = pts[1], x1 = pts[0], y1 = pts[1];
	for (int i = 1; i < 68; i++) {
		x0 = fminf(x0, pts[2 * i]);
		x1 = fmaxf(x1, pts[2 * i]);
		y0 = fminf(y0, pts[2 * i + 1]);
		y1 = fmaxf(y1, pts[2 * i + 1]);
	}
	const float w = x1 - x0, h = y1 - y0;
	return (bh_face_box){x0 - e * w, y0 - e * h, w * (1 + 2 * e), h * (1 + 2 * e), 1};
}

/* Second landmark pass on the landmarks' own bounding box grown by
 * BH_FACE_REFINE_PAD per side: the net then sees the face framed the same
 * way whatever the detector's box was, which steadies the alignment
 * (+0.3-0.4 points on the LFW dev pairs). */
static int refine_landmarks(const bh_face_model *m, const bh_image *work, float pts[136])
{
	const bh_face_box b = lmk_box(pts, BH_FACE_REFINE_PAD);
	return landmarks_work(m, work, &b, pts);
}

/* Mean distance between two passes' landmarks, in units of the square root
 * of the area of a's bounding box (the face's size). */
static float lmk_drift(const float a[136], const float b[136])
{
	const bh_face_box box = lmk_box(a, 0);
	double sum = 0;
	for (int i = 0; i < 68; i++)
		sum += hypot((double)a[2 * i] - b[2 * i], (double)a[2 * i + 1] - b[2 * i + 1]);
	const double size = sqrt((double)box.w * (double)box.h);
	return size > 0 ? (float)(sum / 68 / size) : INFINITY;
}

/* Landmarks of one detection box, refined, then checked (bh_face.h, step
 * 3b): a third pass must give the refined points again.  BH_ENOFACE when
 * the box is too small or the points drift; *drift is set when measured. */
static int landmarks_checked(const bh_face_model *m, const bh_image *work, const bh_face_box *box,
			     float pts[136], float *drift)
{
	float again[136];
	int rc = landmarks_work(m, work, box, pts);
	if (!rc)
		rc = refine_landmarks(m, work, pts);
	if (!rc) {
		memcpy(again, pts, sizeof again);
		rc = refine_landmarks(m, work, again);
	}
	if (!rc) {
		*drift = lmk_drift(pts, again);
		if (!(*drift <= BH_FACE_LMK_DRIFT))
			rc = BH_ENOFACE;
	}
	bh_wipe(again, sizeof again);
	return rc;
}

/* ---- alignment ----------------------------------------------------------- */

/* dlib's mean face shape for landmarks 17..67, in [0, 1] (public template). */
static const float mean_x[51] = {
	0.000213256f, 0.0752622f, 0.18113f,  0.29077f,  0.393397f, 0.586856f, 0.689483f,
	0.799124f,    0.904991f,  0.98004f,  0.490127f, 0.490127f, 0.490127f, 0.490127f,
	0.36688f,     0.426036f,  0.490127f, 0.554217f, 0.613373f, 0.121737f, 0.187122f,
	0.265825f,    0.334606f,  0.260918f, 0.182743f, 0.645647f, 0.714428f, 0.793132f,
	0.858516f,    0.79751f,   0.719335f, 0.254149f, 0.340985f, 0.428858f, 0.490127f,
	0.551395f,    0.639268f,  0.726104f, 0.642159f, 0.556721f, 0.490127f, 0.423532f,
	0.338094f,    0.290379f,  0.428096f, 0.490127f, 0.552157f, 0.689874f, 0.553364f,
	0.490127f,    0.42689f,
};
static const float mean_y[51] = {
	0.106454f, 0.038915f, 0.0187482f, 0.0344891f, 0.0773906f, 0.0773906f, 0.0344891f,
	0.0187482f, 0.038915f, 0.106454f, 0.203352f, 0.307009f, 0.409805f, 0.515625f,
	0.587326f, 0.609345f, 0.628106f, 0.609345f, 0.587326f, 0.216423f, 0.178758f,
	0.179852f, 0.231733f, 0.245099f, 0.244077f, 0.231733f, 0.179852f, 0.178758f,
	0.216423f, 0.244077f, 0.245099f, 0.780233f, 0.745405f, 0.727388f, 0.742578f,
	0.727388f, 0.745405f, 0.780233f, 0.864805f, 0.902192f, 0.909281f, 0.902192f,
	0.864805f, 0.784792f, 0.778746f, 0.785343f, 0.778746f, 0.784792f, 0.824182f,
	0.831803f, 0.824182f,
};

#define ALIGN_PAD 0.25

/* Least-squares similarity (rotation, uniform scale, translation) mapping
 * chip coordinates to image coordinates: img = [a -b; b a] chip + t. */
static void similarity(const float pts[136], double *a, double *b, double *tx, double *ty)
{
	double fx[68], fy[68], gx[68], gy[68];
	int n = 0;
	for (int i = 17; i < 68; i++) {
		if ((i >= 55 && i <= 59) || (i >= 65 && i <= 67) || i <= 26)
			continue; /* lower lip and eyebrows, as dlib */
		fx[n] = (ALIGN_PAD + mean_x[i - 17]) / (2 * ALIGN_PAD + 1) * BH_FACE_CHIP;
		fy[n] = (ALIGN_PAD + mean_y[i - 17]) / (2 * ALIGN_PAD + 1) * BH_FACE_CHIP;
		gx[n] = pts[2 * i];
		gy[n] = pts[2 * i + 1];
		n++;
	}
	double mfx = 0, mfy = 0, mgx = 0, mgy = 0;
	for (int i = 0; i < n; i++) {
		mfx += fx[i];
		mfy += fy[i];
		mgx += gx[i];
		mgy += gy[i];
	}
	mfx /= n;
	mfy /= n;
	mgx /= n;
	mgy /= n;
	double sa = 0, sb = 0, ss = 0;
	for (int i = 0; i < n; i++) {
		double px = fx[i] - mfx, py = fy[i] - mfy, qx = gx[i] - mgx, qy = gy[i] - mgy;
		sa += px * qx + py * qy;
		sb += px * qy - py * qx;
		ss += px * px + py * py;
	}
	*a = sa / ss;
	*b = sb / ss;
	*tx = mgx - (*a * mfx - *b * mfy);
	*ty = mgy - (*b * mfx + *a * mfy);
}

static void bilinear(const bh_image *img, double x, double y, float out[3])
{
	if (!(fabs(x) < 1e9 && fabs(y) < 1e9)) { /* far outside (or NaN): black */
		out[0] = out[1] = out[2] = 0;
		return;
	}
	int x0 = ifloor(x), y0 = ifloor(y);
	float fx = (float)(x - x0), fy = (float)(y - y0);
	if (x0 >= 0 && y0 >= 0 && x0 + 1 < (int)img->w && y0 + 1 < (int)img->h) {
		/* inside: the four taps without per-tap checks */
		const uint8_t *p = img->px + ((size_t)y0 * img->w + x0) * 3, *q = p + (size_t)img->w * 3;
		for (int c = 0; c < 3; c++) {
			float top = p[c] + ((float)p[c + 3] - p[c]) * fx;
			float bot = q[c] + ((float)q[c + 3] - q[c]) * fx;
			out[c] = top + (bot - top) * fy;
		}
		return;
	}
	for (int c = 0; c < 3; c++)
		out[c] = 0;
	for (int i = 0; i < 4; i++) {
		int xx = x0 + (i & 1), yy = y0 + (i >> 1);
		if (xx < 0 || yy < 0 || xx >= (int)img->w || yy >= (int)img->h)
			continue; /* outside: black, as dlib */
		float wgt = ((i & 1) ? fx : 1 - fx) * ((i >> 1) ? fy : 1 - fy);
		const uint8_t *p = img->px + ((size_t)yy * img->w + xx) * 3;
		for (int c = 0; c < 3; c++)
			out[c] += wgt * p[c];
	}
}

int bh_face_align(const bh_image *img, const float pts[136], bh_t3 *chip)
{
	if (!img || img->channels != 3)
		return bh_fail(BH_EINVAL, "face: align needs an RGB image");
	double a, b, tx, ty;
	similarity(pts, &a, &b, &tx, &ty);
	double scale = sqrt(a * a + b * b);
	if (!isfinite(scale) || scale < 1e-3 || scale > 1e3)
		return bh_fail(BH_ENOFACE, "face: degenerate landmarks");
	int rc = bh_t3_alloc_nz(chip, BH_FACE_CHIP, BH_FACE_CHIP, 3); /* all written */
	if (rc)
		return rc;
	/* shrinking by more than 1.5x: average ns x ns sub-samples (anti-alias) */
	int ns = scale > 1.5 ? (int)ceil(scale) : 1;
	if (ns > 8)
		ns = 8;
	for (int r = 0; r < BH_FACE_CHIP; r++)
		for (int c = 0; c < BH_FACE_CHIP; c++) {
			float acc[3] = {0, 0, 0}, v[3];
			for (int sy = 0; sy < ns; sy++)
				for (int sx = 0; sx < ns; sx++) {
					double u = c + (sx + 0.5) / ns - 0.5, w = r + (sy + 0.5) / ns - 0.5;
					bilinear(img, a * u - b * w + tx, b * u + a * w + ty, v);
					for (int k = 0; k < 3; k++)
						acc[k] += v[k];
				}
			float *o = chip->d + ((size_t)r * BH_FACE_CHIP + c) * 3;
			for (int k = 0; k < 3; k++)
				o[k] = acc[k] / (float)(ns * ns);
		}
	return BH_OK;
}

/* ---- full pipeline ------------------------------------------------------- */

/* Largest box first (insertion sort, stable: equal areas keep the
 * detector's best-score-first order). */
static void sort_by_area(bh_face_box *b, int n)
{
	for (int i = 1; i < n; i++) {
		bh_face_box x = b[i];
		int j = i;
		for (; j > 0 && b[j - 1].w * b[j - 1].h < x.w * x.h; j--)
			b[j] = b[j - 1];
		b[j] = x;
	}
}

/* *faces = the faces for the "several faces" warning: the chosen box b[c]
 * and every later box above BH_FACE_DET_SCORE that is not nested in a face
 * already counted and passes the landmark check (the boxes before b[c]
 * failed it).  A check costs three landmark passes, so only images with a
 * second such box pay it. */
static int count_faces(const bh_face_model *m, const bh_image *work, const bh_face_box *b, int n,
		       int c, int *faces)
{
	int at[BH_FACE_MAX_FACES] = {c}, nf = 1, rc = BH_OK;
	float pts[136], drift;
	for (int i = c + 1; i < n && nf < BH_FACE_MAX_FACES && rc == BH_OK; i++) {
		int same = !(b[i].score > BH_FACE_DET_SCORE);
		for (int k = 0; k < nf && !same; k++)
			same = nested(&b[i], &b[at[k]]);
		if (same)
			continue;
		rc = landmarks_checked(m, work, &b[i], pts, &drift);
		if (rc == BH_OK)
			at[nf++] = i;
		if (rc == BH_ENOFACE)
			rc = BH_OK;
	}
	bh_wipe(pts, sizeof pts);
	*faces = nf;
	return rc;
}

int bh_face_analyse(const bh_face_model *m, const bh_image *img, bh_face_result *r)
{
	memset(r, 0, sizeof *r);
	bh_image work;
	bh_face_box boxes[BH_FACE_MAX_FACES];
	bh_t3 chip = {0};
	int f = 1, n = 0;
	uint64_t t0 = bh_now_ns();
	int rc = prep(img, &work, &f);
	if (!rc)
		rc = detect_work(m, &work, boxes, BH_FACE_MAX_FACES, &n);
	if (!rc && n == 0)
		rc = bh_fail(BH_ENOFACE, "face: no face found");
	if (!rc) {
		/* the chosen box is the largest candidate (> BH_FACE_DET_CAND)
		 * that passes the landmark check: on LFW this picks the main
		 * face's fuller box over a tighter, higher-scoring one */
		sort_by_area(boxes, n);
		rc = BH_ENOFACE;
		int i = 0;
		for (; i < n && rc == BH_ENOFACE; i++) {
			r->box = boxes[i];
			rc = landmarks_checked(m, &work, &r->box, r->pts, &r->drift);
			r->rejected += rc == BH_ENOFACE;
		}
		if (!rc)
			rc = count_faces(m, &work, boxes, n, i - 1, &r->nfaces);
		if (rc == BH_ENOFACE)
			rc = bh_fail(BH_ENOFACE, "face: no face found (%d candidate%s failed the landmark check)",
				     r->rejected, r->rejected == 1 ? "" : "s");
	}
	uint64_t t1 = bh_now_ns();
	if (!rc)
		rc = bh_face_align(&work, r->pts, &chip);
	if (!rc)
		rc = bh_face_net_describe(&m->nets, &chip, r->desc);
	uint64_t t2 = bh_now_ns();
	r->det_ns = t1 - t0;
	r->desc_ns = t2 - t1;
	if (!rc) {
		r->box.x *= f;
		r->box.y *= f;
		r->box.w *= f;
		r->box.h *= f;
		for (int i = 0; i < 136; i++)
			r->pts[i] *= f;
	}
	bh_t3_free(&chip);
	bh_image_free(&work);
	bh_wipe(boxes, sizeof boxes);
	if (rc) {
		int nf = r->nfaces, rej = r->rejected;
		bh_wipe(r, sizeof *r);
		r->nfaces = nf;
		r->rejected = rej;
	}
	return rc;
}

/* ---- templates ----------------------------------------------------------- */

void bh_face_quantise(const float desc[128], int8_t q[128])
{
	double n = 0;
	for (int i = 0; i < 128; i++)
		n += (double)desc[i] * desc[i];
	n = sqrt(n);
	for (int i = 0; i < 128; i++) {
		double v = n > 0 ? desc[i] / n * BH_FACE_QSCALE : 0;
		long r = lround(v);
		q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
	}
}

int32_t bh_face_score(const int8_t a[128], const int8_t b[128])
{
	int32_t s = 0;
	for (int i = 0; i < 128; i++)
		s += (int32_t)a[i] * b[i];
	return s;
}

float bh_face_distance(const float a[128], const float b[128])
{
	double s = 0;
	for (int i = 0; i < 128; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return (float)sqrt(s);
}

/* ---- modality ops -------------------------------------------------------- */

static int face_init(const char *model_dir, void **model)
{
	/* one request = one core: the appliance parallelises across requests */
	openblas_set_num_threads(1);
	return bh_face_model_load(model_dir, (bh_face_model **)model);
}

static void face_fini(void *model) { bh_face_model_free(model); }

static int face_extract(void *model, const bh_image *img, bh_probe_tmpl *out)
{
	memset(out, 0, sizeof *out);
	bh_face_result *r = malloc(sizeof *r);
	if (!r)
		return bh_fail(BH_ENOMEM, "face: result");
	int rc = bh_face_analyse(model, img, r);
	if (!rc) {
		out->code = bh_aligned_zalloc(BH_FACE_DIM);
		if (!out->code)
			rc = bh_fail(BH_ENOMEM, "face: template");
	}
	if (!rc) {
		out->modality = BH_MOD_FACE;
		out->format = BH_FMT_FACE_V1;
		out->code_len = BH_FACE_DIM;
		out->quality = (int)lroundf(r->box.score * 100.0f);
		bh_face_quantise(r->desc, out->code);
		if (r->nfaces > 1)
			snprintf(out->warning, sizeof out->warning, "%d faces, used the largest",
				 r->nfaces);
	}
	bh_wipe_free(r, sizeof *r);
	return rc;
}

const bh_modality_ops bh_face_ops = {
	.modality = BH_MOD_FACE,
	.name = "face",
	.init = face_init,
	.fini = face_fini,
	.extract = face_extract,
	.rerank_depth = 0,
	.rerank = NULL,
	.threshold = BH_FACE_THRESHOLD,
};
