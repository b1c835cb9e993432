/*
 * bh_palm.h - palm print ROI texture code (modality `palm`): competitive-code
 * style orientation coding (after Kong & Zhang, "Competitive coding scheme
 * for palmprint verification", 2004; written from the paper's description).
 *
 * Input: a palm region of interest, normalised to BH_PALM_ROI x BH_PALM_ROI
 * grey pixels (other sizes are resampled bilinearly; PolyU ROIs are 128x128
 * already).  At every point of a grid a bank of BH_PALM_ORIENT real
 * (even-symmetric, zero-mean) Gabor filters at orientations j*pi/6 is
 * applied; palm lines are dark, so the orientation with the most negative
 * response wins.  The winner j (0..5) is stored as 3 bits
 *     0:000 1:001 2:011 3:111 4:110 5:100
 * so that the Hamming distance between two codes equals the circular
 * distance between the orientations (0..3).
 *
 * Templates (bh_template.h, BH_FMT_PALM_V1):
 *   code  first-stage bits, BH_PALM_CODE_BITS = 3 planes x 32 x 32 points
 *         (grid step 4 px): bit (p*1024 + r*32 + c) is plane p of point
 *         (row r, column c), stored LSB first in each byte.  Scanned by the
 *         engine's HAMMING kernel (no translation tolerance).
 *   full  BH_PALM_FULL_BYTES: "BHP1", version 1, orientations 6, grid 64,
 *         0, then 3 planes x 64 rows of uint64 little endian (bit c = column
 *         c; grid step 2 px).  Compared by bh_palm_compare with translations
 *         of up to +-BH_PALM_SHIFT grid points in x and y.
 *
 * Score (integer, higher = more similar, identical on every machine):
 *   for each shift, D = popcount(A xor shifted B over the overlap) and
 *   N = 3 * overlap points; score = max over shifts of
 *   10000 - (10000 * D) / N   (integer division), so 0..10000; an image
 *   compared with itself scores 10000, unrelated palms ~5000.
 */
#ifndef BH_PALM_H
#define BH_PALM_H

#include <stddef.h>
#include <stdint.h>

#include "bh_image.h"
#include "bh_modality.h"
#include "bh_template.h"

#define BH_PALM_ROI 128
#define BH_PALM_ORIENT 6
#define BH_PALM_PLANES 3
#define BH_PALM_GRID 64      /* full template grid, step 2 px */
#define BH_PALM_CODE_GRID 32 /* first-stage grid, step 4 px */
#define BH_PALM_SHIFT 4      /* +- grid points (8 px) tried by the comparator */
#define BH_PALM_FULL_BYTES (8 + BH_PALM_PLANES * BH_PALM_GRID * 8)
#define BH_PALM_SCORE_MAX 10000

#if BH_PALM_CODE_BITS != BH_PALM_PLANES * BH_PALM_CODE_GRID * BH_PALM_CODE_GRID
#error "BH_PALM_CODE_BITS does not match the palm code layout"
#endif

/* Fixed, shipped decision threshold on bh_palm_compare scores (see
 * docs/PALM.md for how it was chosen and what it gives). */
#define BH_PALM_THRESHOLD 6400

/* Extracts both templates from a grey image (channels == 1).  code receives
 * BH_PALM_CODE_BITS/8 bytes, full BH_PALM_FULL_BYTES; quality 0..100.
 * Errors: BH_EINVAL (not grey, smaller than 32x32), BH_ENOFEATURE (flat
 * image), BH_ENOMEM.  Intermediate buffers are wiped. */
int bh_palm_extract(const bh_image *img, uint8_t *code, uint8_t *full, int *quality);

/* Validates a full template (size, header). */
int bh_palm_full_check(const void *full, size_t len);

/* Compares two full templates; BH_EFORMAT if either is malformed. */
int bh_palm_compare(const void *a, size_t alen, const void *b, size_t blen, int32_t *score);

/* The `palm` modality: extract (both templates), re-ranking of the engine's
 * best BH_PALM_RERANK_DEPTH candidates with bh_palm_compare, threshold
 * BH_PALM_THRESHOLD. */
#define BH_PALM_RERANK_DEPTH 200
extern const bh_modality_ops bh_palm_ops;

#endif
