/* bh_fcode.c - first-stage finger code from MCC cylinders (see bh_fcode.h). */
#include "bh_fcode.h"

#include <math.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

#define N_R 4      /* distance rings */
#define N_A 8      /* sectors of the direction of the neighbour, in m's frame */
#define N_D 8      /* bins of the direction difference */
#define R_MAX 200.0f /* pair radius, pixels at 500 ppi (most of a plain finger) */

static const float TWO_PI = 2.0f * (float)M_PI;

static float wrap(float a)
{
	a = fmodf(a, TWO_PI);
	return a < 0 ? a + TWO_PI : a;
}

/* Soft (linear) histogram of every ordered minutia pair within R_MAX:
 * distance, direction of the neighbour seen from m (relative to theta_m)
 * and direction difference.  Rotation and translation cancel out. */
static void pair_histogram(const bh_mcc_view *v, float *h)
{
	const uint8_t *m0 = v->blob + BH_MCC_HEADER;
	for (uint32_t i = 0; i < v->n; i++) {
		const uint8_t *a = m0 + 8 * i;
		float xa = (float)(a[0] | a[1] << 8) / 4, ya = (float)(a[2] | a[3] << 8) / 4;
		float ta = (float)(a[4] | a[5] << 8) * TWO_PI / 65536;
		for (uint32_t j = 0; j < v->n; j++) {
			if (j == i)
				continue;
			const uint8_t *b = m0 + 8 * j;
			float dx = (float)(b[0] | b[1] << 8) / 4 - xa, dy = (float)(b[2] | b[3] << 8) / 4 - ya;
			float r = sqrtf(dx * dx + dy * dy);
			if (r >= R_MAX)
				continue;
			float tb = (float)(b[4] | b[5] << 8) * TWO_PI / 65536;
			float fr = r / R_MAX * N_R - 0.5f;
			float fa = wrap(atan2f(dy, dx) - ta) / TWO_PI * N_A - 0.5f;
			float fd = wrap(tb - ta) / TWO_PI * N_D - 0.5f;
			int r0 = (int)floorf(fr), a0 = (int)floorf(fa), d0 = (int)floorf(fd);
			float wr = fr - r0, wa = fa - a0, wd = fd - d0;
			for (int kr = 0; kr < 2; kr++) {
				int ir = r0 + kr;
				if (ir < 0 || ir >= N_R)
					continue; /* the outermost halves fall off: linear ramp */
				float w1 = kr ? wr : 1 - wr;
				for (int ka = 0; ka < 2; ka++) {
					int ia = ((a0 + ka) % N_A + N_A) % N_A;
					float w2 = w1 * (ka ? wa : 1 - wa);
					for (int kd = 0; kd < 2; kd++) {
						int id = ((d0 + kd) % N_D + N_D) % N_D;
						h[(ir * N_A + ia) * N_D + id] += w2 * (kd ? wd : 1 - wd);
					}
				}
			}
		}
	}
}

int bh_fcode_from_mcc(const bh_mcc_view *v, uint8_t code[BH_FCODE_BYTES])
{
	memset(code, 0, BH_FCODE_BYTES);
	if (!v)
		return bh_fail(BH_EINVAL, "fcode: no template");
	if (v->n < 2)
		return BH_OK;
	float h[N_R * N_A * N_D] = {0};
	pair_histogram(v, h);
	/* the 128 most populated bins; ties to the lower bin */
	uint8_t taken[BH_FCODE_BITS] = {0};
	for (int r = 0; r < BH_FCODE_BITS / 2; r++) {
		int best = -1;
		for (int t = 0; t < BH_FCODE_BITS; t++)
			if (!taken[t] && (best < 0 || h[t] > h[best]))
				best = t;
		taken[best] = 1;
		code[best / 8] |= (uint8_t)(1u << (best % 8));
	}
	bh_wipe(h, sizeof h);
	return BH_OK;
}

#if defined(__x86_64__)
#define POPCNT_TARGET __attribute__((target("popcnt")))
#else
#define POPCNT_TARGET
#endif

POPCNT_TARGET int32_t bh_fcode_similarity(const uint8_t a[BH_FCODE_BYTES], const uint8_t b[BH_FCODE_BYTES])
{
	int d = 0;
	for (int i = 0; i < BH_FCODE_BYTES; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d += __builtin_popcountll(x ^ y);
	}
	return BH_FCODE_BITS - d;
}
