/* test_fpga_sim.c - the simulated matching core (fpga backend) against the
 * software backends: identical top-K lists and scores on random data of the
 * real template sizes and on the engine's edge cases; error injection
 * (malformed descriptor, DMA out of range, host bus error, timeout) reported
 * as BH_EDEVICE / BH_ETIMEOUT, the device usable afterwards, and through the
 * engine answered by the fallback and counted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_engine.h"
#include "bh_err.h"
#include "bh_fpga.h"
#include "bh_image.h"
#include "bh_mem.h"
#include "bh_palm.h"
#include "bh_template.h"

static int failures;
#define CHECK(c, ...)                                                       \
	do {                                                                \
		if (!(c)) {                                                 \
			failures++;                                         \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, "\n");                              \
		}                                                           \
	} while (0)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum fill { FILL_RANDOM, FILL_ZERO, FILL_EXTREME, FILL_FEW };

typedef struct data {
	bh_shard s;
	bh_queries q;
	void *rows, *qrows;
	uint64_t *ids;
} data;

static void fill(uint8_t *p, size_t bytes, enum fill f)
{
	for (size_t i = 0; i < bytes; i++) {
		switch (f) {
		case FILL_RANDOM: p[i] = (uint8_t)rnd(); break;
		case FILL_ZERO: p[i] = 0; break;
		case FILL_EXTREME: p[i] = rnd() & 1 ? 0x80 : 0x7f; break; /* -128 / 127 */
		case FILL_FEW: p[i] = (uint8_t)(rnd() % 3); break;         /* many ties */
		}
	}
}

/* Rows are `stride` apart with zero padding (the engine contract); ids are a
 * random permutation with gaps, so row order is not id order. */
static int make_data(data *d, bh_kernel kernel, uint32_t dim, size_t n, size_t nq, enum fill f)
{
	memset(d, 0, sizeof *d);
	size_t stride = bh_row_stride(kernel, dim);
	size_t rb = kernel == BH_KERNEL_DOT_I8 ? dim : dim / 8;
	d->rows = bh_aligned_zalloc((n ? n : 1) * stride);
	d->qrows = bh_aligned_zalloc((nq ? nq : 1) * stride);
	d->ids = calloc(n ? n : 1, sizeof *d->ids);
	if (!d->rows || !d->qrows || !d->ids)
		return BH_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		fill((uint8_t *)d->rows + i * stride, rb, f);
		d->ids[i] = 1000 + 7 * i;
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		uint64_t t = d->ids[i - 1];
		d->ids[i - 1] = d->ids[j];
		d->ids[j] = t;
	}
	for (size_t i = 0; i < nq; i++)
		fill((uint8_t *)d->qrows + i * stride, rb, f == FILL_ZERO ? FILL_RANDOM : f);
	d->s = (bh_shard){kernel, dim, stride, n, d->rows, d->ids};
	d->q = (bh_queries){nq, stride, d->qrows};
	return BH_OK;
}

static void free_data(data *d)
{
	bh_aligned_free(d->rows);
	bh_wipe_aligned_free(d->qrows, d->q.nq * d->q.stride);
	free(d->ids);
}

static int cmp_hit(const void *a, const void *b)
{
	const bh_hit *x = a, *y = b;
	if (bh_hit_better(x, y))
		return -1;
	return bh_hit_better(y, x) ? 1 : 0;
}

/* The test's own reference: every score by bh_score_ref, fully sorted. */
static void reference(const data *d, uint32_t k, bh_hit *out, uint32_t *nout)
{
	bh_hit *all = malloc((d->s.n ? d->s.n : 1) * sizeof *all);
	for (size_t j = 0; j < d->q.nq; j++) {
		const uint8_t *q = (const uint8_t *)d->q.data + j * d->q.stride;
		for (size_t i = 0; i < d->s.n; i++)
			all[i] = (bh_hit){bh_score_ref(d->s.kernel, d->s.dim, q,
						       (const uint8_t *)d->s.data + i * d->s.stride),
					  0, d->ids[i]};
		qsort(all, d->s.n, sizeof *all, cmp_hit);
		nout[j] = d->s.n < k ? (uint32_t)d->s.n : k;
		memcpy(out + j * k, all, nout[j] * sizeof *all);
	}
	free(all);
}

static int run_backend(const char *name, const data *d, uint32_t k, bh_hit *out, uint32_t *nout)
{
	const bh_backend_ops *ops = bh_backend_find(name);
	if (!ops || ops->probe() != BH_OK)
		return BH_EUNSUPPORTED;
	bh_backend *be;
	int rc = ops->open(&be);
	if (rc)
		return rc;
	rc = ops->load(be, &d->s);
	if (!rc)
		rc = ops->search(be, &d->q, k, out, nout);
	ops->close(be);
	return rc;
}

static int same(const bh_hit *a, const uint32_t *na, const bh_hit *b, const uint32_t *nb,
		size_t nq, uint32_t k)
{
	for (size_t j = 0; j < nq; j++) {
		if (na[j] != nb[j])
			return 0;
		for (uint32_t i = 0; i < na[j]; i++)
			if (a[j * k + i].score != b[j * k + i].score || a[j * k + i].id != b[j * k + i].id)
				return 0;
	}
	return 1;
}

static void compare_all(const char *what, data *d, uint32_t k)
{
	size_t nq = d->q.nq;
	int rc;
	size_t slots = (nq * k) > 0 ? nq * k : 1;
	bh_hit *ref = calloc(slots, sizeof *ref), *got = calloc(slots, sizeof *got);
	uint32_t *nref = calloc(nq, sizeof *nref), *ngot = calloc(nq, sizeof *ngot);
	reference(d, k, ref, nref);

	rc = run_backend("fpga", d, k, got, ngot);
	CHECK(rc == BH_OK, "%s: fpga search: %s %s", what, bh_strerror(rc), bh_errmsg());
	CHECK(rc || same(ref, nref, got, ngot, nq, k), "%s: fpga differs from the reference", what);

	static const char *const sw[] = {"scalar", "avx2", "avx512"};
	for (unsigned b = 0; b < 3; b++) {
		memset(got, 0, slots * sizeof *got);
		rc = run_backend(sw[b], d, k, got, ngot);
		if (rc == BH_EUNSUPPORTED || rc == BH_ECPU)
			continue;
		CHECK(rc == BH_OK && same(ref, nref, got, ngot, nq, k), "%s: %s differs (rc %d)", what,
		      sw[b], rc);
	}
	printf("ok   %-34s kernel %d dim %4u n %5zu nq %2zu k %3u\n", what, (int)d->s.kernel,
	       d->s.dim, d->s.n, nq, k);
	free(ref);
	free(got);
	free(nref);
	free(ngot);
}

static void case_run(const char *what, bh_kernel kernel, uint32_t dim, size_t n, size_t nq,
		     uint32_t k, enum fill f)
{
	data d;
	CHECK(make_data(&d, kernel, dim, n, nq, f) == BH_OK, "%s: data", what);
	compare_all(what, &d, k);
	free_data(&d);
}

/* Real templates: palm codes extracted from the PolyU ROIs in the shared
 * data (10 palms x 6 images of session 1); the first of each is also a query.  Skipped
 * when the data is absent. */
static void real_palm_run(void)
{
	enum { PALMS = 10, PER = 6 }; /* session 1: keeps the test fast */
	const size_t rb = BH_PALM_CODE_BITS / 8;
	data d;
	if (make_data(&d, BH_KERNEL_HAMMING, BH_PALM_CODE_BITS, PALMS * PER, PALMS, FILL_ZERO)) {
		CHECK(0, "real palm: data");
		return;
	}
	uint8_t *full = malloc(BH_PALM_FULL_BYTES);
	size_t n = 0;
	for (int p = 1; p <= PALMS && full; p++) {
		for (int i = 0; i < PER; i++) {
			char path[512];
			snprintf(path, sizeof path, "%s/palm/polyu/Multispectral_G/%03d/%d_%02d_s.pgm",
				 BH_SHARED_DATA_DIR, p, 1 + i / 6, 1 + i % 6);
			bh_image img;
			if (bh_image_load(path, 1, &img))
				continue;
			int quality;
			uint8_t *row = (uint8_t *)d.rows + n * d.s.stride;
			if (!bh_palm_extract(&img, row, full, &quality)) {
				if (i == 0)
					memcpy((uint8_t *)d.qrows + (p - 1) * d.q.stride, row, rb);
				n++;
			}
			bh_image_free(&img);
		}
	}
	if (full)
		bh_wipe_free(full, BH_PALM_FULL_BYTES);
	if (n < PALMS * PER) {
		printf("skip real palm codes: %zu of %d images (shared data absent?)\n", n,
		       PALMS * PER);
	} else {
		compare_all("real palm codes (PolyU)", &d, 15);
		compare_all("real palm codes, K > N", &d, 200);
	}
	free_data(&d);
}

/* One device, many descriptors: the 16-slot ring wraps several times. */
static void ring_wrap_run(void)
{
	data d;
	CHECK(make_data(&d, BH_KERNEL_DOT_I8, 64, 40, 2, FILL_RANDOM) == BH_OK, "data");
	const uint32_t k = 4;
	bh_hit ref[8], got[8];
	uint32_t nref[2], ngot[2];
	reference(&d, k, ref, nref);
	const bh_backend_ops *ops = bh_backend_find("fpga");
	bh_backend *be;
	CHECK(ops->open(&be) == BH_OK && ops->load(be, &d.s) == BH_OK, "open/load");
	int ok = 1;
	for (int i = 0; i < 40 && ok; i++) {
		memset(got, 0, sizeof got);
		ok = ops->search(be, &d.q, k, got, ngot) == BH_OK && same(ref, nref, got, ngot, 2, k);
	}
	bh_fpga_stats st;
	bh_fpga_get_stats(be, &st);
	CHECK(ok && st.jobs == 40, "ring wrap: %" PRIu64 " jobs", st.jobs);
	printf("ok   ring wrap (40 descriptors, 16 slots)\n");
	ops->close(be);
	free_data(&d);
}

/* A fault makes the backend fail with `want`; the next search is exact. */
static void fault_run(const char *what, int fault, int want)
{
	data d;
	CHECK(make_data(&d, BH_KERNEL_HAMMING, 256, 300, 3, FILL_RANDOM) == BH_OK, "data");
	const uint32_t k = 5;
	bh_hit ref[15], got[15];
	uint32_t nref[3], ngot[3];
	reference(&d, k, ref, nref);
	const bh_backend_ops *ops = bh_backend_find("fpga");
	bh_backend *be;
	CHECK(ops && ops->open(&be) == BH_OK, "open");
	CHECK(ops->load(be, &d.s) == BH_OK, "load");
	bh_fpga_inject_fault(fault);
	bh_errclear();
	int rc = ops->search(be, &d.q, k, got, ngot);
	CHECK(rc == want, "%s: got %d (%s), want %d", what, rc, bh_errmsg(), want);
	CHECK(ngot[0] == 0, "%s: counts must be zero on failure", what);
	printf("ok   fault %-28s -> %s: %s\n", what, bh_strerror(rc), bh_errmsg());
	rc = ops->search(be, &d.q, k, got, ngot);
	CHECK(rc == BH_OK && same(ref, nref, got, ngot, 3, k), "%s: device unusable after fault", what);
	ops->close(be);

	/* Through the engine: the fallback answers, and it is counted. */
	bh_engine_config cfg = {.backend = "fpga", .threads = 1, .fallback = "scalar"};
	bh_engine *e;
	rc = bh_engine_open(&cfg, &d.s, &e);
	CHECK(rc == BH_OK, "%s: engine open: %s", what, bh_errmsg());
	if (!rc) {
		bh_fpga_inject_fault(fault);
		memset(got, 0, sizeof got);
		rc = bh_engine_search(e, &d.q, k, got, ngot);
		bh_engine_stats st;
		bh_engine_get_stats(e, &st);
		CHECK(rc == BH_OK && same(ref, nref, got, ngot, 3, k), "%s: fallback result", what);
		CHECK(st.fallbacks == 1, "%s: fallbacks %" PRIu64 ", want 1", what, st.fallbacks);
		rc = bh_engine_search(e, &d.q, k, got, ngot);
		bh_engine_get_stats(e, &st);
		CHECK(rc == BH_OK && same(ref, nref, got, ngot, 3, k) && st.fallbacks == 1,
		      "%s: device search after fallback", what);
		bh_engine_close(e);
	}
	bh_fpga_inject_fault(BH_FPGA_FAULT_NONE);
	free_data(&d);
}

int main(void)
{
	CHECK(bh_backend_find("fpga") != NULL, "fpga backend not registered");
	if (failures)
		return 1;

	/* Real template sizes (finger 256-bit code, palm 2048-bit code, face
	 * 128 x int8), more queries than lanes, K > KMAX (multi-pass). */
	case_run("finger code", BH_KERNEL_HAMMING, BH_FINGER_CODE_BITS, 3000, 5, 10, FILL_RANDOM);
	case_run("palm code", BH_KERNEL_HAMMING, BH_PALM_CODE_BITS, 500, 3, 20, FILL_RANDOM);
	case_run("2048-bit code", BH_KERNEL_HAMMING, 2048, 300, 3, 20, FILL_RANDOM);
	case_run("face int8, 2 descriptors", BH_KERNEL_DOT_I8, BH_FACE_DIM, 1500, 35, 10, FILL_RANDOM);
	case_run("face int8, K 100 > KMAX", BH_KERNEL_DOT_I8, BH_FACE_DIM, 700, 2, 100, FILL_RANDOM);
	real_palm_run();
	/* Edge cases of the engine tests. */
	case_run("K > N", BH_KERNEL_DOT_I8, 32, 50, 2, 64, FILL_RANDOM);
	case_run("N = 0", BH_KERNEL_HAMMING, 64, 0, 2, 5, FILL_RANDOM);
	case_run("K = 1", BH_KERNEL_HAMMING, 128, 200, 4, 1, FILL_RANDOM);
	case_run("all scores equal, multi-pass", BH_KERNEL_DOT_I8, 64, 90, 3, 70, FILL_ZERO);
	case_run("many ties (3 values)", BH_KERNEL_HAMMING, 64, 400, 16, 33, FILL_FEW);
	case_run("extreme int8 (-128/127)", BH_KERNEL_DOT_I8, 512, 120, 3, 9, FILL_EXTREME);
	case_run("odd dim 96", BH_KERNEL_DOT_I8, 96, 37, 1, 7, FILL_RANDOM);
	case_run("odd dim 192 bits", BH_KERNEL_HAMMING, 192, 41, 17, 41, FILL_RANDOM);
	case_run("widest code 4096 bits", BH_KERNEL_HAMMING, 4096, 60, 2, 12, FILL_RANDOM);

	/* Beyond the core's record size: refused at load, not mis-scored. */
	{
		data d;
		CHECK(make_data(&d, BH_KERNEL_DOT_I8, 1024, 4, 1, FILL_RANDOM) == BH_OK, "data");
		const bh_backend_ops *ops = bh_backend_find("fpga");
		bh_backend *be;
		CHECK(ops->open(&be) == BH_OK, "open");
		CHECK(ops->load(be, &d.s) == BH_EUNSUPPORTED, "1024-byte rows must be refused");
		ops->close(be);
		free_data(&d);
	}

	ring_wrap_run();
	fault_run("malformed descriptor", BH_FPGA_FAULT_DESC, BH_EDEVICE);
	fault_run("DMA out of range", BH_FPGA_FAULT_DMA_RANGE, BH_EDEVICE);
	fault_run("host bus error", BH_FPGA_FAULT_HOST_BUS, BH_EDEVICE);
	fault_run("device memory stall", BH_FPGA_FAULT_TIMEOUT, BH_ETIMEOUT);

	printf("%s (%d failures)\n", failures ? "FAILED" : "all passed", failures);
	return failures ? 1 : 0;
}
