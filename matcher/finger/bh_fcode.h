/*
 * bh_fcode.h - the fixed-length first-stage code of a finger
 * (BH_FINGER_CODE_BITS = 256 bits, scanned by the engine's HAMMING kernel;
 * code blob of BH_FMT_FINGER_V1 in matcher/templates/bh_template.h).
 *
 * Construction (version 1): a soft histogram of minutia pairs.  For every
 * ordered pair (m, t) of the MCC template's minutiae closer than 200 px
 * (500 ppi) three quantities are binned with linear (soft) assignment:
 * the distance (4 rings of 50 px), the direction of t seen from m relative
 * to theta_m (8 sectors, circular) and theta_t - theta_m (8 bins,
 * circular): 4 x 8 x 8 = 256 bins, bin index (ring*8 + sector)*8 + diff.
 * All three are invariant to translation and rotation, so no alignment is
 * needed.  The code sets the 128 most populated bins (ties to the lower
 * index): every non-empty code has exactly 128 ones and the Hamming
 * similarity measures how much two pair histograms agree.  A template with
 * fewer than 2 minutiae gives the all-zero code.
 *
 * Bit i of the code is bit (i % 64) of little-endian uint64 word i / 64;
 * block j occupies bits 32j .. 32j+31, bin t of block j is bit 32j + t.
 */
#ifndef BH_FCODE_H
#define BH_FCODE_H

#include <stdint.h>

#include "bh_mcc.h"

#define BH_FCODE_BITS 256
#define BH_FCODE_BYTES (BH_FCODE_BITS / 8)

/* Writes the 32-byte code of a validated MCC template.  A template without
 * cylinders gives the all-zero code. */
int bh_fcode_from_mcc(const bh_mcc_view *v, uint8_t code[BH_FCODE_BYTES]);

/* Hamming similarity as the engine scores it: 256 - popcount(a ^ b). */
int32_t bh_fcode_similarity(const uint8_t a[BH_FCODE_BYTES], const uint8_t b[BH_FCODE_BYTES]);

#endif
