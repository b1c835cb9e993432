/*
 * bh_mcc.h - Minutia Cylinder-Code templates (bit-based, MCC-SO style) and
 * the 1:1 comparator with LSS-R consolidation (after Cappelli, Ferrara,
 * Maltoni, "Minutia Cylinder-Code", IEEE TPAMI 32(12), 2010).
 *
 * Cylinder of minutia m (coordinates and angles as in bh_minutiae.h, y down):
 *   a disc of radius R around m, rotated by theta_m, split into NS x NS
 *   square cells (only cells whose centre lies inside the disc are kept)
 *   times ND direction sections.  Cell (i, j, k) sums, over the other minutiae
 *   t near the cell centre, a spatial Gaussian (sigma_S) of the distance
 *   times the mass of a Gaussian (sigma_D) of the direction difference
 *   d(theta_m, theta_t) falling in section k; the cell bit is 1 when the sum
 *   exceeds mu_psi.  A cell is *valid* when its centre lies inside the
 *   minutiae's convex hull enlarged by omega (the paper's rule), so a
 *   template can be built from minutiae alone (ANSI/NIST Type-9, ISO
 *   19794-2); bh_fp_features.fg is required but not consulted.
 *   A cylinder is kept if >= 75 % of its cells are valid and >= 2 other
 *   minutiae lie within R + 3 sigma_S.
 *   Parameters (500 ppi): R = 70, NS = 16, ND = 6, sigma_S = 28/3,
 *   sigma_D = 2 pi / 9, mu_psi = 0.01 - the paper's.
 *
 * Local similarity of cylinders a, b (directions within pi/2, else 0):
 *   v = mask_a & mask_b;  x = bits_a & v;  y = bits_b & v;
 *   lambda = 1 - sqrt(|x ^ y|) / (sqrt(|x|) + sqrt(|y|))   (|.| = popcount)
 *   and 0 when |v| < 60 % of the cells or |x| + |y| == 0.
 * Global score (LSS-R): the n_R = min(nA, nB) best pairs (each minutia used
 * once) are relaxed 5 times with the compatibility of distances, direction
 * differences and radial angles; the n_P pairs with the highest efficiency
 * are averaged.  The MCC score is that average times 10000, rounded: an
 * INTEGER in 0..10000, reproducible for the same pair of templates (IEEE
 * single precision; ISO C11 mode, so GCC does not contract into FMA; the
 * only libm calls are expf/sqrtf, atan2 is our own polynomial).
 *
 * Comparison score (bh_mcc_compare): when both templates carry an
 * orientation field (version 2, bh_ofield.h), each of the n_P pairs LSS-R
 * averaged proposes an alignment (its rotation and translation); the best
 * field agreement sum / count among them (count >= BH_OFIELD_MIN_OVERLAP;
 * 0 if none qualifies or if it is negative) scales the MCC score:
 *   score = floor(mcc * sum / (count * BH_OFIELD_ONE))      (integers)
 * Otherwise (a version-1 template, or one made from minutiae alone) the
 * score is the MCC score.  bh_mcc_compare_minutiae gives the MCC score alone.
 *
 * Full template blob, version 2 (all integers little-endian).  This is the
 * `full` blob of BH_FMT_FINGER_V1 (matcher/templates/bh_template.h); version
 * 1 is the same without the field section and is still read:
 *
 *   off  size  field
 *   0    4     magic "BHMC"
 *   4    1     version = 1
 *   5    1     NS = 16
 *   6    1     ND = 6
 *   7    1     W  = words (uint64) per bit plane = ceil(cells / 64) = 20
 *   8    2     n  = number of cylinders (0..BH_MCC_MAX_CYL)
 *   10   2     width  of the 500-ppi working image (1..8192)
 *   12   2     height of the 500-ppi working image (1..8192)
 *   14   1     quality of the impression, 0..100
 *   15   1     reserved, 0
 *   16   8*n   minutiae, one per cylinder:
 *                u16 x*4, u16 y*4 (quarter pixels, < width*4 / height*4),
 *                u16 theta * 65536 / (2 pi), u8 type (1 ending, 2 bif.),
 *                u8 quality (0..100)
 *   16+8n      n cylinders, each W words of cell bits then W words of the
 *              validity mask (bit c of the plane = cell c, c = k*NC + disc
 *              index, NC = cells per section); bits beyond the cell count
 *              are 0 and cell bits are a subset of the mask.
 *   T=16+8n+16Wn   (version 2 only) orientation field, bh_ofield.h:
 *   T    2     gw: 0, or ceil(width / 16)
 *   T+2  2     gh: 0 (exactly when gw is 0), or ceil(height / 16)
 *   T+4  gw*gh cells, row-major, each 0..180
 *   total = T (version 1), T + 4 + gw gh (version 2) bytes.
 */
#ifndef BH_MCC_H
#define BH_MCC_H

#include <stddef.h>
#include <stdint.h>

#include "bh_minutiae.h"
#include "bh_ofield.h"

#define BH_MCC_VERSION 2 /* written; 1 is still read */
#define BH_MCC_NS 16
#define BH_MCC_ND 6
#define BH_MCC_MAX_CYL 2048 /* forensic palms; keeps a blob under 1 MiB */
#define BH_MCC_HEADER 16
#define BH_MCC_SCORE_MAX 10000
/* LSS-R takes the pairs in the order of a stable sort of the local
 * similarities into this many buckets, bucket (int)(lambda * (B - 1)),
 * best first (bh_mcc.c, select_scan). */
#define BH_MCC_BUCKETS 1024

/* Cells in the disc per section, and uint64 words per bit plane. */
uint32_t bh_mcc_cells(void);
uint32_t bh_mcc_words(void);

/* Builds the full template blob of an extraction (malloc'd, caller wipes
 * and frees); the field section holds f's orientation field, or none when
 * f->orient is NULL.  Cylinders that fail the validity rule are left out.  If the
 * features have more than BH_MCC_MAX_CYL usable minutiae, the best-quality
 * ones are kept. */
int bh_mcc_build(const bh_fp_features *f, uint8_t **blob, size_t *len);

/* Validates a blob (sizes, version, fields, bit invariants).  BH_OK,
 * BH_EVERSION or BH_EFORMAT with a detail. */
int bh_mcc_check(const void *blob, size_t len);

/* A parsed, validated template (points into the blob; no copy). */
typedef struct bh_mcc_view {
	uint32_t n;
	uint32_t words;
	int quality;
	const uint8_t *blob;
	bh_ofield field; /* field.cell NULL: none (version 1, minutiae alone) */
} bh_mcc_view;

int bh_mcc_view_init(const void *blob, size_t len, bh_mcc_view *v);

/* Scratch memory of the comparator, one per thread; grows as needed. */
typedef struct bh_mcc_ws bh_mcc_ws;
bh_mcc_ws *bh_mcc_ws_new(void);
void bh_mcc_ws_free(bh_mcc_ws *ws);

/* Comparison score (MCC x field agreement, see above) 0..BH_MCC_SCORE_MAX
 * (>= 0), or a negative BH_E* (BH_ENOMEM). */
int32_t bh_mcc_compare(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws);

/* The MCC score alone (minutiae only; the benchmark's MCC rate). */
int32_t bh_mcc_compare_minutiae(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws);

/* The same score computed with the portable scalar popcount path only (the
 * reference the AVX-512 path must equal bit for bit; used by tests). */
int32_t bh_mcc_compare_ref(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws);

/* Convenience: validates both blobs and compares them (allocates scratch). */
int32_t bh_mcc_compare_blobs(const void *a, size_t alen, const void *b, size_t blen);

/* ---- naive reference (benchmark anchor) ----------------------------------
 * The textbook real-valued MCC: float cylinders (sigmoid cell values, the
 * paper's Psi), per-pair masked Euclidean similarity over every cell, no
 * bit tricks, same LSS-R; built from a bit template (its minutiae and cell
 * validity), so both run on identical inputs.  Used by `biohub bench finger` as the in-run anchor. */
typedef struct bh_mcc_float bh_mcc_float;
int bh_mcc_float_build(const bh_mcc_view *v, bh_mcc_float **out);
void bh_mcc_float_free(bh_mcc_float *t);
int32_t bh_mcc_float_compare(const bh_mcc_float *a, const bh_mcc_float *b, bh_mcc_ws *ws);

#endif
