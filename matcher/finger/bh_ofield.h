/*
 * bh_ofield.h - the ridge orientation field carried by a finger template,
 * and how well two fields agree once the prints are aligned.
 *
 * Why: MCC looks only at minutiae.  A print with few minutiae (long unbroken
 * ridges, a faint or blotched impression) gives low MCC scores against its
 * own mates, while two different fingers of the same pattern class can share
 * a few minutia constellations.  The ridge flow over the whole overlap tells
 * those apart: the comparator (bh_mcc.c) multiplies the MCC score by the
 * field agreement under the best of the alignments LSS-R found.
 *
 * Field: a grid of 16 x 16-pixel cells over the 500-ppi working image (the
 * extractor's 8-pixel blocks, 2 x 2 to a cell), gw = ceil(w / 16) by
 * gh = ceil(h / 16), row-major.  One byte per cell:
 *   0        background (fewer than 2 of the cell's blocks are foreground);
 *   1..180   ridge orientation (v - 1) degrees, in [0, 180), measured as in
 *            bh_minutiae.h (from +x towards +y, y down), the doubled-angle
 *            mean of the cell's foreground blocks.
 * A template built from minutiae alone (ANSI/NIST Type-9, ISO 19794-2) has
 * no field (gw = gh = 0).
 *
 * Agreement under an alignment: the alignment maps minutia a of template A
 * onto minutia b of template B (rotation theta_b - theta_a about a, then
 * a -> b).  Every foreground cell centre of A is mapped into B; where it
 * lands on a foreground cell of B, the cell pair adds cos(2 d) (d = the
 * orientation difference after the rotation) in Q14 to the sum and 1 to the
 * count.  All in integers (quarter pixels, whole degrees, a Q14 cosine
 * table), so a pair of templates gives the same sum on every machine.
 */
#ifndef BH_OFIELD_H
#define BH_OFIELD_H

#include <stddef.h>
#include <stdint.h>

#include "bh_minutiae.h"

#define BH_OFIELD_CELL 16   /* pixels per cell side (500 ppi) */
#define BH_OFIELD_ONE 16384 /* cos(0) in the Q14 sums */
/* An alignment under which fewer cells overlap is not a usable alignment
 * (8 cells = 2048 px^2, about the area of three minutiae's neighbourhoods). */
#define BH_OFIELD_MIN_OVERLAP 8

/* Cells per side for a working image of w x h pixels. */
static inline uint32_t bh_ofield_side(uint32_t px) { return (px + BH_OFIELD_CELL - 1) / BH_OFIELD_CELL; }

/* Writes the field of an extraction into out[gw * gh] (gw, gh from
 * bh_ofield_side(f->w), bh_ofield_side(f->h)).  f->orient and f->fg are the
 * extractor's block fields; the caller checks f->orient != NULL. */
void bh_ofield_build(const bh_fp_features *f, uint8_t *out);

/* BH_OK if every cell byte is in 0..180, else BH_EFORMAT. */
int bh_ofield_check(const uint8_t *cells, size_t n);

/* One field as read from a template. */
typedef struct bh_ofield {
	const uint8_t *cell; /* gw * gh bytes; NULL when the template has none */
	uint32_t gw, gh;
	/* Optional (NULL: every cell is visited): the nfg foreground cells of
	 * this field, from bh_ofield_list().  The agreement then visits only
	 * these, as whole vectors across rows; the sums are the same.  The
	 * AVX-512 loop runs only with a list. */
	const uint32_t *fg;
	uint32_t nfg;
} bh_ofield;

/* Largest grid side (8192 pixels / 16); cx and cy fit in 9 bits. */
#define BH_OFIELD_MAX_SIDE 512

/* A list entry: cx | cy << 9 | v << 18 (v the cell's byte, 1..180). */
static inline uint32_t bh_ofield_entry(uint32_t cx, uint32_t cy, uint32_t v) { return cx | cy << 9 | v << 18; }

/* Writes f's foreground cells, row-major, into out (room for gw * gh;
 * gw, gh <= BH_OFIELD_MAX_SIDE) and returns how many. */
uint32_t bh_ofield_list(const bh_ofield *f, uint32_t *out);

/* A minutia's pose in template units: quarter pixels and theta * 65536 / 2pi. */
typedef struct bh_pose {
	int32_t x4, y4;
	uint16_t t16;
} bh_pose;

/* Agreement sum (Q14, may be negative) and overlap count of field a mapped
 * into field b by the alignment that takes pose pa onto pose pb.  pa lies in
 * 0..32767 quarter pixels (as in a template), pb in -32768..32768; outside
 * those ranges nothing overlaps (sum and count 0). */
void bh_ofield_agree(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum,
		     uint32_t *count);

/* The same sums from the portable scalar loop only (the AVX-512 loop must
 * equal it; used by tests). */
void bh_ofield_agree_ref(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum,
			 uint32_t *count);

#endif
