/*
 * bh_face_conv_epi.h - internal: the epilogue of a convolution output
 * vector (bh_face_conv.h), shared by the AVX-512 and AMX kernels so both
 * apply the same operations in the same order.  Include only from files
 * built with AVX-512F.
 */
#ifndef BH_FACE_CONV_EPI_H
#define BH_FACE_CONV_EPI_H

#include <immintrin.h>
#include <stddef.h>

#include "bh_face_conv.h"

/* act(y * mul[co..co+15] + add[co..] + res[o..o+15]) for the 16 output
 * channels from co of the output element at offset o. */
static inline __attribute__((always_inline)) __m512 epilogue(const bh_conv_job *j, __m512 y,
							     int co, size_t o)
{
	if (j->mul)
		y = _mm512_mul_ps(y, _mm512_loadu_ps(j->mul + co));
	if (j->add)
		y = _mm512_add_ps(y, _mm512_loadu_ps(j->add + co));
	if (j->res)
		y = _mm512_add_ps(y, _mm512_loadu_ps(j->res + o));
	if (j->act == BH_ACT_RELU)
		y = _mm512_max_ps(y, _mm512_setzero_ps());
	else if (j->act == BH_ACT_LEAKY)
		y = _mm512_max_ps(y, _mm512_mul_ps(y, _mm512_set1_ps(0.1f)));
	return y;
}

#endif
