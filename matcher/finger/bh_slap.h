/*
 * bh_slap.h - slap segmentation: single fingertips out of a plain
 * four-finger slap, a two-thumb slap or a plain thumb image (ANSI/NIST-ITL
 * finger positions 11..15), so that they can be enrolled like any finger.
 *
 * Positions (ANSI/NIST-ITL FGP codes) and the fingers found, left to right
 * in the image as scanners deliver it (the impression as if inked on a card):
 *   11 plain right thumb     -> 1
 *   12 plain left thumb      -> 6
 *   13 right four fingers    -> 2 3 4 5   (index .. little)
 *   14 left four fingers     -> 10 9 8 7  (little .. index)
 *   15 left and right thumbs -> 6 1
 *
 * Method (all on blocks of 8x8 pixels at 500 ppi, scaled with the ppi):
 *   1. foreground: blocks whose grey-level standard deviation is at least
 *      BH_SLAP_FG_STD (ridges), cleaned by two 3x3 majority passes, then
 *      opened by a square of 2 BH_SLAP_OPEN_R + 1 blocks (5 blocks, 40 px at
 *      500 ppi, well under a fingertip's width), which removes what on a
 *      scanned card is as textured as ridges but thinner: printed text,
 *      handwriting, ruled lines, the rim of a punched hole;
 *   2. blobs: 4-connected parts of the foreground, each fitted with the
 *      ellipse of equal second moments (axis, length, width);
 *   3. fingertip candidates: blobs of at least BH_SLAP_MIN_BLOCKS blocks
 *      that fill at least 3/4 of their ellipse, are 1 to 3 times as long as
 *      wide, at least 8 blocks wide, and point within BH_SLAP_MAX_DEG of
 *      vertical;
 *   4. the K fingertips: across the hand's direction (the candidates' mean
 *      axis), a candidate below another one of the same finger is a lower
 *      phalanx and is dropped; the K largest of the rest, left to right;
 *   5. each fingertip is sampled upright (bilinear; outside the image
 *      white) from the top end of its axis down BH_SLAP_TIP_LEN widths at
 *      most (the distal phalanx), one block of margin around.
 * Fewer than K fingertips found is BH_ENOFEATURE: which finger is missing
 * cannot be told, so no position is guessed.
 *
 * Bounds: the image must be within bh_image_default_limits; work and memory
 * are linear in its pixels.
 */
#ifndef BH_SLAP_H
#define BH_SLAP_H

#include <stdint.h>

#include "bh_image.h"

#define BH_SLAP_MAX_FINGERS 4
#define BH_SLAP_FG_STD 12.0f /* grey-level std of a ridge block */
#define BH_SLAP_MAX_DEG 40   /* a fingertip points within +-40 degrees of vertical */
#define BH_SLAP_TIP_LEN 1.6f /* fingertip length in finger widths */
#define BH_SLAP_OPEN_R 2     /* opening radius, blocks */
#define BH_SLAP_MIN_BLOCKS 200 /* smallest fingertip blob (12,800 px at 500 ppi) */
#define BH_SLAP_MAX_BLOBS 4096 /* blobs labelled; more is clutter, not fingers */

typedef struct bh_slap_finger {
	int position;  /* ANSI/NIST finger position 1..10 */
	float cx, cy;  /* fingertip centre in the slap image, pixels */
	float angle;   /* finger direction, degrees from vertical */
	bh_image tip;  /* the upright fingertip image (grey, owned) */
} bh_slap_finger;

/* Expected finger positions of slap position pos (11..15), left to right;
 * returns how many (0 if pos is not a slap position). */
int bh_slap_positions(int pos, int out[BH_SLAP_MAX_FINGERS]);

/* Segments img (grey or RGB, converted here; img->ppi 0 = 500) of slap
 * position pos.  out gets *n fingertips (0..4), left to right; the caller
 * frees them with bh_slap_free.  BH_EINVAL for a position that is not a
 * slap, BH_ENOFEATURE when no finger is found at all. */
int bh_slap_segment(const bh_image *img, int pos, bh_slap_finger out[BH_SLAP_MAX_FINGERS],
		    int *n);

/* Wipes and frees the fingertip images. */
void bh_slap_free(bh_slap_finger *f, int n);

#endif
