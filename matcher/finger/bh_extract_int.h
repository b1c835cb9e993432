/*
 * bh_extract_int.h - internal state shared by the extraction stages
 * (bh_extract*.c).  Not a public API.  Conventions: see bh_minutiae.h.
 */
#ifndef BH_EXTRACT_INT_H
#define BH_EXTRACT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bh_minutiae.h"

/* Pixels of zero padding around the padded float planes, so the oriented
 * filters never need bounds checks.  Must exceed the longest filter reach. */
#define FP_PAD 16

typedef struct fp_work {
	uint32_t w, h;      /* working image */
	uint32_t bw, bh;    /* block grid */
	size_t ps;          /* padded plane stride (w + 2*FP_PAD) */
	size_t plane;       /* padded plane elements */
	uint8_t *grey;      /* w*h, 500 ppi */
	float *norm;        /* padded: locally normalised image (ridges < 0) */
	float *tmp;         /* padded: first enhancement pass */
	float *orient;      /* blocks: ridge orientation [0, pi) */
	float *coh;         /* blocks: orientation coherence 0..1 */
	float *period;      /* blocks: ridge period, pixels */
	float *bstd;        /* blocks: grey standard deviation */
	uint8_t *fg;        /* blocks: foreground */
	uint8_t *dist;      /* blocks: distance to background, blocks (capped) */
	uint8_t *skel;      /* w*h: binarised ridges, then the skeleton */
} fp_work;

/* Index of pixel (x, y) in a padded plane. */
static inline size_t fp_pix(const fp_work *w, int x, int y)
{
	return (size_t)(y + FP_PAD) * w->ps + (size_t)(x + FP_PAD);
}

/* Stage entry points, in pipeline order.  Each returns BH_OK or an error. */
int fp_normalise(fp_work *w);
int fp_orientation(fp_work *w);
int fp_segment(fp_work *w);
int fp_frequency(fp_work *w);
int fp_enhance(fp_work *w);
int fp_thin(fp_work *w);
int fp_minutiae(fp_work *w, uint32_t max_minutiae, bh_fp_features *out);

#endif
