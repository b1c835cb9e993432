/*
 * bh_minutiae.h - fingerprint minutiae and the extractor (image -> minutiae).
 *
 * Coordinate convention (one convention everywhere in matcher/finger):
 *   - x grows to the right, y grows DOWN (image rows), origin at the top-left
 *     pixel centre, units = pixels of the 500-ppi working image;
 *   - an angle t is the direction of the vector (cos t, sin t) in those
 *     coordinates, i.e. measured from +x towards +y (clockwise as seen on a
 *     screen), normalised to [0, 2*pi).
 *   Ridge orientation fields use the same convention modulo pi.
 *
 * Minutia direction:
 *   - ending:      from the ridge body out through the ridge end (the way the
 *                  ridge would continue);
 *   - bifurcation: from the fork along the single (lone) ridge, i.e. away from
 *                  the two branches.
 *   With this choice a ridge ending and the valley bifurcation facing it have
 *   the same direction, so a minutia whose type flips between impressions
 *   keeps its direction.
 *
 * The extractor works at 500 ppi: images with another known resolution
 * (img->ppi != 0, e.g. 1000 ppi, or 569 ppi for FVC2002 DB2) are resampled
 * first; ppi == 0 means "assume 500".  Minutia coordinates are in the
 * resampled (500 ppi) frame.
 *
 * Pipeline (bh_extract*.c): resample -> local normalisation -> gradient
 * orientation field (block-wise, smoothed in the doubled-angle domain) ->
 * segmentation (gradient energy + coherence, morphological clean-up) -> ridge
 * period per block -> oriented separable Gabor enhancement -> binarisation ->
 * thinning -> crossing-number minutiae -> false-minutia removal (border,
 * short ridges, spurs, bridges, broken ridges, clusters) -> quality.
 */
#ifndef BH_MINUTIAE_H
#define BH_MINUTIAE_H

#include <stddef.h>
#include <stdint.h>

#include "bh_image.h"

#define BH_MINUTIA_ENDING 1
#define BH_MINUTIA_BIFURCATION 2

/* Upper bound on minutiae kept per impression (best quality first).  Plain
 * fingers have 20..80; the bound is for forensic palms. */
#define BH_MINUTIAE_MAX 1024

/* Block size of the orientation/segmentation grid (pixels at 500 ppi). */
#define BH_FP_BLOCK 8

typedef struct bh_minutia {
	float x, y;     /* pixels, 500 ppi, y down */
	float theta;    /* radians [0, 2pi), see above */
	uint8_t type;   /* BH_MINUTIA_ENDING / BH_MINUTIA_BIFURCATION */
	uint8_t quality; /* 0..100 */
	uint16_t pad_;
} bh_minutia;

/* Result of an extraction. */
typedef struct bh_fp_features {
	uint32_t w, h;     /* working image size (500 ppi) */
	uint32_t bw, bh;   /* block grid size (ceil(w/BH_FP_BLOCK), ...) */
	uint8_t *fg;       /* bw*bh: 1 = fingerprint foreground block */
	float *orient;     /* bw*bh: ridge orientation [0, pi) per block; NULL
			    * for features made from minutiae alone */
	uint32_t n;        /* minutiae */
	bh_minutia *m;     /* n entries, sorted by quality descending */
	int quality;       /* 0..100, whole impression */
} bh_fp_features;

typedef struct bh_extract_opts {
	uint32_t ppi_override; /* 0 = use img->ppi (or 500 when unknown) */
	uint32_t max_minutiae; /* 0 = BH_MINUTIAE_MAX */
} bh_extract_opts;

/* Extracts minutiae from a grey (channels == 1) image.  opts may be NULL.
 * Returns BH_OK, BH_EINVAL (not grey / too small), BH_ETOOBIG, BH_ENOMEM or
 * BH_ENOFEATURE (no usable ridge area).  Every intermediate buffer is wiped
 * before it is freed (the image may be a probe). */
int bh_fp_extract(const bh_image *img, const bh_extract_opts *opts, bh_fp_features *out);

/* Wipes and frees the features (safe on a zeroed struct). */
void bh_fp_features_free(bh_fp_features *f);

#endif
