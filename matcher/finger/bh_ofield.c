/*
 * bh_ofield.c - template orientation fields and their agreement under an
 * alignment (formats and rules in bh_ofield.h).
 */
#include <math.h>
#include <pthread.h>

#include "bh_err.h"
#include "bh_ofield.h"

/* cos(k degrees) in Q14, k = 0..359, and cos(2 (k mod 180) degrees) for
 * k = 0..539 (the agreement of two orientations k - 180 degrees apart, so
 * no division in the loop).  Built once with libm's cos: any cos correct to
 * within a few ulps gives the same Q14 integers, as no 16384 cos(k) lies
 * closer than 0.0005 to a rounding tie. */
static int32_t cos14[360], agree14[540];
static pthread_once_t cos_once = PTHREAD_ONCE_INIT;

static void cos_build(void)
{
	for (int k = 0; k < 360; k++)
		cos14[k] = (int32_t)lrint(BH_OFIELD_ONE * cos(k * M_PI / 180.0));
	for (int k = 0; k < 540; k++)
		agree14[k] = cos14[(2 * k) % 360];
}

void bh_ofield_build(const bh_fp_features *f, uint8_t *out)
{
	uint32_t gw = bh_ofield_side(f->w), gh = bh_ofield_side(f->h);
	const uint32_t per = BH_OFIELD_CELL / BH_FP_BLOCK; /* blocks per cell side */
	for (uint32_t cy = 0; cy < gh; cy++)
		for (uint32_t cx = 0; cx < gw; cx++) {
			double c = 0, s = 0;
			int n = 0;
			for (uint32_t by = cy * per; by < (cy + 1) * per && by < f->bh; by++)
				for (uint32_t bx = cx * per; bx < (cx + 1) * per && bx < f->bw; bx++) {
					size_t i = (size_t)by * f->bw + bx;
					if (!f->fg[i])
						continue;
					c += cos(2 * f->orient[i]);
					s += sin(2 * f->orient[i]);
					n++;
				}
			uint8_t v = 0;
			if (n >= 2) {
				long deg = lrint(atan2(s, c) * 90.0 / M_PI); /* half the doubled angle */
				v = (uint8_t)((deg % 180 + 180) % 180 + 1);
			}
			out[(size_t)cy * gw + cx] = v;
		}
}

int bh_ofield_check(const uint8_t *cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cells[i] > 180)
			return bh_fail(BH_EFORMAT, "orientation field: cell %zu = %u", i, cells[i]);
	return BH_OK;
}

void bh_ofield_agree(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum,
		     uint32_t *count)
{
	pthread_once(&cos_once, cos_build);
	*sum = 0;
	*count = 0;
	if (!a->cell || !b->cell)
		return;
	/* rotation in whole degrees, 0..359 */
	uint32_t r = (((uint32_t)(uint16_t)(pb.t16 - pa.t16)) * 360u + 32768u) >> 16;
	r %= 360;
	const int64_t c = cos14[r], s = cos14[(r + 270) % 360]; /* sin r = cos(r - 90) */
	const uint32_t r180 = r % 180;
	/* A cell centre (cx, cy) maps to B at (X, Y) / 2^14 quarter pixels, so
	 * into B's cell (X >> 20, Y >> 20) (64 quarter pixels a cell); X and Y
	 * grow by 64 c and 64 s from one cell of a row to the next. */
	const int64_t side4 = BH_OFIELD_CELL * 4;
	const int32_t sx = (int32_t)(side4 * c), sy = (int32_t)(side4 * s);
	const uint32_t gw = b->gw, gh = b->gh;
	int64_t acc = 0;
	uint32_t n = 0;
	for (uint32_t cy = 0; cy < a->gh; cy++) {
		const int64_t dy = (int64_t)cy * side4 + side4 / 2 - pa.y4, dx = side4 / 2 - pa.x4;
		/* |X|, |Y| < 3 * 2^29 for 8192-pixel images: int32 is enough */
		int32_t X = (int32_t)(((int64_t)pb.x4 << 14) + c * dx - s * dy);
		int32_t Y = (int32_t)(((int64_t)pb.y4 << 14) + s * dx + c * dy);
		const uint8_t *row = a->cell + (size_t)cy * a->gw;
		int32_t racc = 0; /* at most 512 cells of 2^14: no overflow */
		for (uint32_t cx = 0; cx < a->gw; cx++, X += sx, Y += sy) {
			/* branch-free: the cell counts when it is foreground in A
			 * and lands on a foreground cell of B (a negative X or Y
			 * turns into a huge unsigned cell index, so it is outside) */
			const uint32_t bx = (uint32_t)X >> 20, by = (uint32_t)Y >> 20;
			const uint32_t in = (bx < gw) & (by < gh) & (row[cx] != 0);
			const uint8_t ob = b->cell[in ? by * gw + bx : 0];
			const uint32_t use = in & (ob != 0);
			/* orientation difference after the rotation, + 180 */
			racc += agree14[row[cx] + r180 + 180 - ob] * (int32_t)use;
			n += use;
		}
		acc += racc;
	}
	*sum = acc;
	*count = n;
}
