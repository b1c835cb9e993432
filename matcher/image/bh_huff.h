/*
 * bh_huff.h - canonical Huffman codes of the JPEG family (ITU-T T.81, Annex
 * C.2): a table travels as 16 counts (how many codes of 1..16 bits) and its
 * symbols in code order.  Lossless JPEG (bh_ljpeg.c) and WSQ
 * (matcher/finger/bh_wsq.c, which uses the same scheme) decode with them.
 *
 * For each length l in 1..16, the codes of l bits are mincode[l] ..
 * maxcode[l] (maxcode[l] = -1 when there are none); code c of l bits stands
 * for symbol valptr[l] + c - mincode[l] of the table's list.  Index 0 is
 * unused.
 */
#ifndef BH_HUFF_H
#define BH_HUFF_H

#include <stdint.h>

typedef struct bh_huff_codes {
	int32_t mincode[17], maxcode[17], valptr[17];
} bh_huff_codes;

/* Fills c from counts[0..15].  Returns 0, or the first length at which the
 * counts ask for more codes than that many bits hold (the table is invalid
 * and c incomplete). */
int bh_huff_codes_build(bh_huff_codes *c, const uint8_t counts[16]);

#endif
