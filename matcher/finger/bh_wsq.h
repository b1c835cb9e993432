/*
 * bh_wsq.h - WSQ internals exposed for tests.  The decoder itself is
 * bh_wsq_decode() in bh_image.h (also reached through bh_image_decode()).
 */
#ifndef BH_WSQ_H
#define BH_WSQ_H

#include <stdint.h>

#define BH_WSQ_SUBBANDS 64

/* Position and size of the 64 subbands of a w x h image (the spec's
 * subband numbering; 60..63 are never transmitted). */
void bh_wsq_subband_rects(uint32_t w, uint32_t h, uint32_t x[BH_WSQ_SUBBANDS],
			  uint32_t y[BH_WSQ_SUBBANDS], uint32_t sw[BH_WSQ_SUBBANDS],
			  uint32_t sh[BH_WSQ_SUBBANDS]);

#endif
