/*
 * bh_ofield.c - template orientation fields and their agreement under an
 * alignment (formats and rules in bh_ofield.h).
 */
#include <math.h>
#include <pthread.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bh_cpu.h"
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

static uint32_t list_scalar(const bh_ofield *f, uint32_t *out)
{
	uint32_t n = 0;
	for (uint32_t cy = 0; cy < f->gh; cy++)
		for (uint32_t cx = 0; cx < f->gw; cx++) {
			const uint8_t v = f->cell[(size_t)cy * f->gw + cx];
			if (v)
				out[n++] = bh_ofield_entry(cx, cy, v);
		}
	return n;
}

#if defined(__x86_64__)
/* list_scalar 16 cells a step: the row's entries made in lanes, the
 * foreground ones compress-stored (a list is made per comparison, and the
 * branch per cell cost half as much as an alignment's agreement). */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static uint32_t list_avx512(const bh_ofield *f,
										 uint32_t *out)
{
	const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	uint32_t n = 0;
	for (uint32_t cy = 0; cy < f->gh; cy++) {
		const uint8_t *row = f->cell + (size_t)cy * f->gw;
		for (uint32_t cx = 0; cx < f->gw; cx += 16) {
			const uint32_t left = f->gw - cx;
			const __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
			const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, row + cx));
			const __mmask16 fg = _mm512_test_epi32_mask(v, v);
			const __m512i x = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(cx | cy << 9)));
			const __m512i e = _mm512_or_si512(x, _mm512_slli_epi32(v, 18));
			_mm512_mask_compressstoreu_epi32(out + n, fg, e);
			n += (uint32_t)__builtin_popcount(fg);
		}
	}
	return n;
}
#endif

uint32_t bh_ofield_list(const bh_ofield *f, uint32_t *out)
{
#if defined(__x86_64__)
	if (bh_cpu_features() & BH_CPU_AVX512)
		return list_avx512(f, out);
#endif
	return list_scalar(f, out);
}

/* The alignment in the loops' terms: rotation r (whole degrees), its Q14
 * cosine c and sine s, and where the centre of A's cell (cx, cy) lands in
 * B: X = X0 + cx sx - cy sy, Y = Y0 + cx sy + cy sx (quarter pixels times
 * 2^14; B's cell is (X >> 20, Y >> 20), 64 quarter pixels a cell), with
 * sx = 64 c and sy = 64 s.  With pa in 0..32767 and pb in -32768..32768
 * quarter pixels (templates hold 0..32767) and cells within 8192 pixels,
 * the centre of any cell of the grid lands within |X|, |Y| <= 2^29 +
 * sqrt(2) 2^29 < 2^31.  X0, X0 + cx sx and X0 + cx sx - cy sy are each
 * such a centre (cells (0, 0), (cx, 0), (cx, cy)), so int32 holds every
 * value the loops reach, in that order of adding. */
typedef struct align {
	uint32_t r180;
	int32_t X0, Y0, sx, sy;
} align;

static align align_of(bh_pose pa, bh_pose pb)
{
	uint32_t r = (((uint32_t)(uint16_t)(pb.t16 - pa.t16)) * 360u + 32768u) >> 16;
	r %= 360;
	const int64_t c = cos14[r], s = cos14[(r + 270) % 360]; /* sin r = cos(r - 90) */
	const int64_t side4 = BH_OFIELD_CELL * 4;
	const int64_t dx = side4 / 2 - pa.x4, dy = side4 / 2 - pa.y4; /* cell (0, 0) from pa */
	align al = {.r180 = r % 180};
	al.X0 = (int32_t)((int64_t)pb.x4 * 16384 + c * dx - s * dy);
	al.Y0 = (int32_t)((int64_t)pb.y4 * 16384 + s * dx + c * dy);
	al.sx = (int32_t)(side4 * c);
	al.sy = (int32_t)(side4 * s);
	return al;
}

/* Cell (cx, cy) of A, orientation byte va (non-zero), against B. */
static inline void agree_cell(const bh_ofield *b, const align *al, uint32_t cx, uint32_t cy, uint32_t va,
			      int64_t *acc, uint32_t *n)
{
	const int32_t X = (int32_t)(al->X0 + (int64_t)cx * al->sx - (int64_t)cy * al->sy);
	const int32_t Y = (int32_t)(al->Y0 + (int64_t)cx * al->sy + (int64_t)cy * al->sx);
	/* branch-free: a negative X or Y turns into a huge unsigned cell
	 * index, so it is outside; the cell counts when it lands on a
	 * foreground cell of B */
	const uint32_t bx = (uint32_t)X >> 20, by = (uint32_t)Y >> 20;
	const uint32_t in = (bx < b->gw) & (by < b->gh);
	const uint8_t ob = b->cell[in ? by * b->gw + bx : 0];
	const uint32_t use = in & (ob != 0);
	/* the orientation difference after the rotation, + 180 */
	*acc += agree14[va + al->r180 + 180 - ob] * (int32_t)use;
	*n += use;
}

static void agree_scalar(const bh_ofield *a, const bh_ofield *b, const align *al, int64_t *sum, uint32_t *count)
{
	int64_t acc = 0;
	uint32_t n = 0;
	if (a->fg) {
		for (uint32_t k = 0; k < a->nfg; k++)
			agree_cell(b, al, a->fg[k] & 511, a->fg[k] >> 9 & 511, a->fg[k] >> 18, &acc, &n);
	} else {
		for (uint32_t cy = 0; cy < a->gh; cy++)
			for (uint32_t cx = 0; cx < a->gw; cx++) {
				const uint8_t va = a->cell[(size_t)cy * a->gw + cx];
				if (va)
					agree_cell(b, al, cx, cy, va, &acc, &n);
			}
	}
	*sum = acc;
	*count = n;
}

#if defined(__x86_64__)
#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* agree_scalar over A's foreground list, 16 cells at a time across rows,
 * the same integers.  B's cells are gathered as dwords: an index within 3
 * bytes of the end is read from the last whole dword and shifted, so no
 * read passes the array (the caller checks that B has at least 4 cells). */
TGT_AVX512 static void agree_avx512(const bh_ofield *a, const bh_ofield *b, const align *al, int64_t *sum,
				    uint32_t *count)
{
	const __m512i gw = _mm512_set1_epi32((int)b->gw), gh = _mm512_set1_epi32((int)b->gh);
	const __m512i last = _mm512_set1_epi32((int)(b->gw * b->gh - 4));
	const __m512i off = _mm512_set1_epi32((int)(al->r180 + 180)), lo8 = _mm512_set1_epi32(0xff);
	const __m512i lo9 = _mm512_set1_epi32(511);
	const __m512i X0 = _mm512_set1_epi32(al->X0), Y0 = _mm512_set1_epi32(al->Y0);
	const __m512i sx = _mm512_set1_epi32(al->sx), sy = _mm512_set1_epi32(al->sy);
	__m512i acc = _mm512_setzero_si512();
	uint32_t n = 0;
	for (uint32_t k = 0; k < a->nfg; k += 16) {
		const uint32_t left = a->nfg - k;
		const __mmask16 live = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		const __m512i e = _mm512_maskz_loadu_epi32(live, a->fg + k);
		const __m512i cx = _mm512_and_si512(e, lo9), cy = _mm512_and_si512(_mm512_srli_epi32(e, 9), lo9);
		const __m512i oa = _mm512_srli_epi32(e, 18);
		/* the scalar loop's order of adding (align) */
		const __m512i X = _mm512_sub_epi32(_mm512_add_epi32(X0, _mm512_mullo_epi32(cx, sx)),
						   _mm512_mullo_epi32(cy, sy));
		const __m512i Y = _mm512_add_epi32(_mm512_add_epi32(Y0, _mm512_mullo_epi32(cx, sy)),
						   _mm512_mullo_epi32(cy, sx));
		const __m512i bx = _mm512_srli_epi32(X, 20), by = _mm512_srli_epi32(Y, 20);
		__mmask16 in = _mm512_mask_cmplt_epu32_mask(live, bx, gw);
		in = _mm512_mask_cmplt_epu32_mask(in, by, gh);
		const __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(by, gw), bx);
		const __m512i at = _mm512_min_epu32(idx, last);
		const __m512i sh = _mm512_slli_epi32(_mm512_sub_epi32(idx, at), 3);
		__m512i ob = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), in, at, b->cell, 1);
		ob = _mm512_and_si512(_mm512_srlv_epi32(ob, sh), lo8);
		const __mmask16 use = _mm512_mask_test_epi32_mask(in, ob, ob);
		const __m512i kk = _mm512_sub_epi32(_mm512_add_epi32(oa, off), ob);
		const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), use, kk, agree14, 4);
		acc = _mm512_add_epi32(acc, v); /* a lane: <= 2^14 cells of <= 2^14 */
		n += (uint32_t)__builtin_popcount(use);
	}
	/* the lanes' total may pass int32 (2^18 cells): add them as int64 */
	*sum = _mm512_reduce_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc))) +
	       _mm512_reduce_add_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc, 1)));
	*count = n;
}
#endif

static void agree(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum, uint32_t *count,
		  int may_vec)
{
	pthread_once(&cos_once, cos_build);
	*sum = 0;
	*count = 0;
	if (!a->cell || !b->cell)
		return;
	/* the range that keeps the loops' int32 values in bounds (align) */
	if (pa.x4 < 0 || pa.y4 < 0 || pa.x4 > 32767 || pa.y4 > 32767 || pb.x4 < -32768 || pb.y4 < -32768 ||
	    pb.x4 > 32768 || pb.y4 > 32768)
		return;
	const align al = align_of(pa, pb);
#if defined(__x86_64__)
	if (may_vec && a->fg && (bh_cpu_features() & BH_CPU_AVX512) && b->gw * b->gh >= 4) {
		agree_avx512(a, b, &al, sum, count);
		return;
	}
#else
	(void)may_vec;
#endif
	agree_scalar(a, b, &al, sum, count);
}

void bh_ofield_agree(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum,
		     uint32_t *count)
{
	agree(a, b, pa, pb, sum, count, 1);
}

void bh_ofield_agree_ref(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum,
			 uint32_t *count)
{
	agree(a, b, pa, pb, sum, count, 0);
}
