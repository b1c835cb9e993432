/*
 * cmd_bench_face.c - `biohub bench face [--json] [--images N] [--dir DIR]
 *                     [--gallery N] [--model-dir DIR]`
 *
 * Per-stage time of the face pipeline on one core (OpenBLAS limited to one
 * thread): detection + landmarks, and alignment + descriptor, median over N
 * real images (LFW dev set, 250x250), plus the anchor measured in the same
 * run: OpenBLAS sgemm GFLOP/s on one core for a matrix shaped like the
 * recognition net's middle layers (the roofline of the im2col approach), and
 * the same pipeline on the same images with every convolution forced onto
 * im2col + sgemm (bh_face_nn_force_blas), the ratio being the direct
 * kernels' gain.
 *
 * End to end: a synthetic gallery of N (default 1M) random unit-norm int8
 * face templates is packed into one engine shard (bh_engine_open, best CPU
 * backend, all cores); each probe image is decoded, extracted (detect,
 * landmarks, align, describe, quantise) and searched for its top 10.
 * searches/s = probes / wall time of that loop.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bh_cli.h"
#include "bh_engine.h"
#include "bh_err.h"
#include "bh_face.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"

#define MAX_IMGS 256

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double median_ms(uint64_t *v, int n)
{
	if (n == 0)
		return NAN;
	qsort(v, (size_t)n, sizeof *v, cmp_u64);
	return v[n / 2] / 1e6;
}

/* Collects up to max JPEG paths from dir/<person>/<name>.jpg. */
static int list_images(const char *dir, char **paths, int max)
{
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	char sub[4096];
	while (n < max && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
		DIR *s = opendir(sub);
		if (!s)
			continue;
		struct dirent *f;
		while (n < max && (f = readdir(s))) {
			size_t l = strlen(f->d_name);
			if (l > 4 && !strcmp(f->d_name + l - 4, ".jpg")) {
				char p[8192];
				snprintf(p, sizeof p, "%s/%s", sub, f->d_name);
				paths[n] = strdup(p);
				if (paths[n])
					n++;
			}
		}
		closedir(s);
	}
	closedir(d);
	return n;
}

/* Anchor: GFLOP/s of one sgemm shaped like the recognition net's biggest
 * layers (35x35 output pixels, K = 3*3*32, 32 outputs) repeated. */
static double sgemm_gflops(void)
{
	const int m = 1225, n = 64, k = 576, reps = 50;
	float *a = bh_aligned_zalloc((size_t)m * k * 4), *b = bh_aligned_zalloc((size_t)k * n * 4),
	      *c = bh_aligned_zalloc((size_t)m * n * 4);
	double g = NAN;
	if (a && b && c) {
		for (int i = 0; i < m * k; i++)
			a[i] = (float)(i % 7) * 0.1f;
		for (int i = 0; i < k * n; i++)
			b[i] = (float)(i % 5) * 0.1f;
		uint64_t t0 = bh_now_ns();
		for (int r = 0; r < reps; r++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n,
				    0.0f, c, n);
		g = 2.0 * m * n * k * reps / (double)(bh_now_ns() - t0);
	}
	bh_aligned_free(a);
	bh_aligned_free(b);
	bh_aligned_free(c);
	return g;
}

/* Times bh_face_analyse on each image, the second of two runs (the first
 * warms the caches): det[i] / desc[i] of the images with a face, returned
 * count; *noface counts the others.  *macs (if not NULL) receives the
 * multiply-adds of the last timed analysis. */
static int time_faces(const bh_face_model *m, char **paths, int n, uint64_t *det, uint64_t *desc,
		      int *noface, unsigned long long *macs)
{
	int done = 0;
	for (int i = 0; i < n; i++) {
		bh_image img;
		bh_face_result r;
		if (bh_image_load(paths[i], 3, &img))
			continue;
		int rc = bh_face_analyse(m, &img, &r);
		unsigned long long mac0 = bh_face_nn_macs();
		if (!rc)
			rc = bh_face_analyse(m, &img, &r);
		if (macs)
			*macs = bh_face_nn_macs() - mac0;
		bh_image_free(&img);
		if (rc) {
			(*noface)++;
			continue;
		}
		det[done] = r.det_ns;
		desc[done] = r.desc_ns;
		done++;
		bh_wipe(&r, sizeof r);
	}
	return done;
}

typedef struct e2e {
	double search_ms;   /* engine only, one query, median */
	double per_s;       /* decode + extract + search, sequential */
	const char *backend;
	unsigned threads;
} e2e;

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* 1M random templates: each a quantised vector of sums of uniforms (close to
 * Gaussian, so directions are uniform on the sphere like real descriptors'
 * impostor distribution). */
static int run_e2e(const bh_face_model *m, char **paths, int n, size_t gallery, e2e *out)
{
	const size_t stride = bh_row_stride(BH_KERNEL_DOT_I8, BH_FACE_DIM);
	int8_t *data = bh_aligned_zalloc(gallery * stride);
	uint64_t *ids = malloc(gallery * sizeof *ids);
	int8_t *q = bh_aligned_zalloc(stride);
	bh_hit hits[10];
	uint32_t nh;
	int rc = data && ids && q ? BH_OK : bh_fail(BH_ENOMEM, "bench: gallery");
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; !rc && i < gallery; i++) {
		float v[128];
		for (int k = 0; k < 128; k++) {
			uint64_t r = xs(&seed);
			v[k] = (float)((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) +
				       ((r >> 48) & 0xffff)) - 131070.0f;
		}
		bh_face_quantise(v, data + i * stride);
		ids[i] = i + 1;
	}
	bh_shard sh = {.kernel = BH_KERNEL_DOT_I8, .dim = BH_FACE_DIM, .stride = stride,
		       .n = gallery, .data = data, .ids = ids};
	bh_engine *e = NULL;
	bh_engine_config cfg = {0};
	if (!rc)
		rc = bh_engine_open(&cfg, &sh, &e);
	uint64_t times[64];
	int nt = 0, done = 0;
	uint64_t t0 = bh_now_ns();
	for (int i = 0; !rc && i < n && i < 64; i++) {
		bh_image img;
		bh_face_result r;
		if (bh_image_load(paths[i], 3, &img))
			continue;
		int x = bh_face_analyse(m, &img, &r);
		bh_image_free(&img);
		if (x)
			continue;
		bh_face_quantise(r.desc, q);
		bh_wipe(&r, sizeof r);
		bh_queries qs = {.nq = 1, .stride = stride, .data = q};
		uint64_t s0 = bh_now_ns();
		rc = bh_engine_search(e, &qs, 10, hits, &nh);
		times[nt++] = bh_now_ns() - s0;
		done++;
	}
	uint64_t t1 = bh_now_ns();
	if (!rc) {
		out->search_ms = median_ms(times, nt);
		out->per_s = done ? done / ((t1 - t0) / 1e9) : NAN;
		out->backend = bh_engine_backend_name(e);
		out->threads = bh_engine_threads(e);
	}
	bh_engine_close(e);
	bh_wipe_aligned_free(q, stride);
	bh_aligned_free(data);
	free(ids);
	return rc;
}

int cmd_bench_face(int argc, char **argv)
{
	const char *dir = BH_SHARED_DATA_DIR "/face/lfw_dev", *model_dir = NULL;
	int json = 0, nimg = 40;
	long gallery = 1000000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--images") && i + 1 < argc)
			nimg = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--model-dir") && i + 1 < argc)
			model_dir = argv[++i];
		else if (!strcmp(argv[i], "--gallery") && i + 1 < argc)
			gallery = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: biohub bench face [--json] [--images N] [--dir DIR] "
					"[--gallery N] [--model-dir DIR]\n");
			return 2;
		}
	}
	if (nimg < 1 || nimg > MAX_IMGS)
		nimg = 40;
	openblas_set_num_threads(1);
	bh_errclear();
	bh_face_model *m = NULL;
	int rc = bh_face_model_load(model_dir, &m);
	if (rc)
		return bh_cli_error("bench face", rc);
	char *paths[MAX_IMGS];
	int n = list_images(dir, paths, nimg);
	uint64_t det[MAX_IMGS], desc[MAX_IMGS], bdet[MAX_IMGS], bdesc[MAX_IMGS];
	int noface = 0;
	unsigned long long macs = 0;
	double gf0 = sgemm_gflops(); /* anchor before and after the face loop */
	const char *kernel = bh_face_nn_kernel();
	int done = time_faces(m, paths, n, det, desc, &noface, &macs);
	/* Second anchor, same images, same run: the whole pipeline with every
	 * convolution on im2col + OpenBLAS sgemm (the implementation before the
	 * direct kernels). */
	bh_face_nn_force_blas(1);
	int bnoface = 0;
	int bdone = time_faces(m, paths, n, bdet, bdesc, &bnoface, NULL);
	bh_face_nn_force_blas(0);
	e2e ee = {NAN, NAN, "none", 0};
	if (gallery > 0 && gallery <= 50000000) {
		rc = run_e2e(m, paths, n, (size_t)gallery, &ee);
		if (rc) {
			for (int i = 0; i < n; i++)
				free(paths[i]);
			bh_face_model_free(m);
			return bh_cli_error("bench face: gallery search", rc);
		}
	}
	for (int i = 0; i < n; i++)
		free(paths[i]);
	double gf = 0.5 * (gf0 + sgemm_gflops());
	double dm = median_ms(det, done), sm = median_ms(desc, done);
	double bm = median_ms(bdet, bdone) + median_ms(bdesc, bdone);
	double gflop_face = 2.0 * (double)macs / 1e9; /* last image */
	double achieved = gflop_face / ((dm + sm) / 1e3);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "images", done);
		bh_json_int(&j, "no_face", noface);
		bh_json_num(&j, "detect_landmarks_ms", dm);
		bh_json_num(&j, "descriptor_ms", sm);
		bh_json_num(&j, "total_ms", dm + sm);
		bh_json_str(&j, "conv_kernel", kernel);
		bh_json_num(&j, "anchor_sgemm_pipeline_total_ms", bm);
		bh_json_num(&j, "speedup_vs_sgemm_pipeline", bm / (dm + sm));
		bh_json_num(&j, "gflop_per_face", gflop_face);
		bh_json_num(&j, "achieved_gflops", achieved);
		bh_json_num(&j, "anchor_sgemm_gflops_1core", gf);
		bh_json_num(&j, "fraction_of_anchor", achieved / gf);
		bh_json_int(&j, "gallery", gallery);
		bh_json_str(&j, "engine_backend", ee.backend);
		bh_json_int(&j, "engine_threads", ee.threads);
		bh_json_num(&j, "engine_search_ms", ee.search_ms);
		bh_json_num(&j, "face_searches_per_s", ee.per_s);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("face pipeline, 1 core, median over %d images (no face %d)\n", done, noface);
		printf("  detection + landmarks  %7.2f ms\n", dm);
		printf("  align + descriptor     %7.2f ms\n", sm);
		printf("  total                  %7.2f ms (target <= 8 ms), convolutions: %s\n",
		       dm + sm, kernel);
		printf("  anchor: same pipeline on im2col + OpenBLAS sgemm %7.2f ms; ratio %.2fx\n", bm,
		       bm / (dm + sm));
		printf("  work per face          %7.3f GFLOP -> %.1f GFLOP/s achieved\n", gflop_face,
		       achieved);
		printf("  anchor: OpenBLAS sgemm %7.1f GFLOP/s on 1 core (mean of before/after); "
		       "ratio %.2f\n", gf, achieved / gf);
		printf("end to end against %ld random templates (%s, %u threads)\n", gallery,
		       ee.backend, ee.threads);
		printf("  engine search (1 query, top 10) %7.2f ms\n", ee.search_ms);
		printf("  decode + extract + search       %7.1f searches/s\n", ee.per_s);
	}
	bh_face_model_free(m);
	return 0;
}
