/*
 * cmd_eval_palm.c - `biohub eval palm --data DIR [--json] [--max-eer FRACTION]`
 *
 * Accuracy of the palm texture code (matcher/finger/bh_palm.h) on a folder
 * of palm ROI images.  Identities: one sub-folder per palm (PolyU layout,
 * DIR/<palm>/<file>), or, for a flat folder, the file name up to the first
 * '_' (FVC style).  Every image is extracted once; every unordered pair is
 * compared once: genuine = same identity, impostor = different identities.
 * A pair with an image that failed extraction scores 0 (a non-match).
 *
 * Printed: eer, fmr100 (FNMR at FMR <= 1 %), fmr1000 (FNMR at FMR <= 0.1 %),
 * all as fractions, genuine, impostor, failed_to_extract,
 * extract_ms_median, and FMR / FNMR at the shipped threshold
 * BH_PALM_THRESHOLD, plus the EER of the first-stage code alone (Hamming,
 * no translation).  --max-eer makes the exit status 1 when the EER (a
 * fraction, like the printed one) is above the bound (accuracy suite).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_palm.h"
#include "bh_time.h"

#define MAX_IMAGES 5000

typedef struct palm_item {
	char *path;
	int id;
	int ok;
	uint8_t code[BH_PALM_CODE_BITS / 8];
	uint8_t full[BH_PALM_FULL_BYTES];
} palm_item;

typedef struct palm_set {
	palm_item *it;
	int n;
	int nids;
} palm_set;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (caller frees each and the array). */
static int list_dir(const char *dir, char ***names, int *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return bh_fail(BH_ENOTFOUND, "eval: cannot open %s", dir);
	int cap = 64, k = 0, rc = BH_OK;
	char **v = malloc(cap * sizeof *v);
	struct dirent *e;
	while (v && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (k == cap) {
			char **nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		if (!(v[k] = strdup(e->d_name)))
			break;
		k++;
	}
	closedir(d);
	if (!v)
		return bh_fail(BH_ENOMEM, "eval: directory listing");
	qsort(v, k, sizeof *v, cmp_str);
	*names = v;
	*n = k;
	return rc;
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int add_item(palm_set *s, const char *path, int id)
{
	if (s->n >= MAX_IMAGES)
		return bh_fail(BH_ETOOBIG, "eval: more than %d images", MAX_IMAGES);
	palm_item *it = &s->it[s->n];
	memset(it, 0, sizeof *it);
	if (!(it->path = strdup(path)))
		return bh_fail(BH_ENOMEM, "eval: path");
	it->id = id;
	s->n++;
	return BH_OK;
}

/* Identity per sub-folder, or per file-name prefix in a flat folder. */
static int scan(const char *dir, palm_set *s)
{
	char **names;
	int n, rc = list_dir(dir, &names, &n);
	if (rc != BH_OK)
		return rc;
	char path[4096], prev[256] = "";
	for (int i = 0; i < n && rc == BH_OK; i++) {
		struct stat st;
		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path ||
		    stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char **sub;
			int m;
			if ((rc = list_dir(path, &sub, &m)) != BH_OK)
				break;
			int id = s->nids, added = 0;
			for (int j = 0; j < m && rc == BH_OK; j++) {
				char p2[4096];
				if (!bh_image_name_known(sub[j]))
					continue;
				if (snprintf(p2, sizeof p2, "%s/%s", path, sub[j]) >= (int)sizeof p2)
					rc = bh_fail(BH_ETOOBIG, "eval: path too long");
				else
					rc = add_item(s, p2, id);
				added = 1;
			}
			s->nids += added;
			free_names(sub, m);
		} else if (bh_image_name_known(names[i])) {
			char pre[256];
			snprintf(pre, sizeof pre, "%s", names[i]);
			char *u = strchr(pre, '_');
			if (u)
				*u = 0;
			if (strcmp(pre, prev) != 0) {
				snprintf(prev, sizeof prev, "%s", pre);
				s->nids++;
			}
			rc = add_item(s, path, s->nids - 1);
		}
	}
	free_names(names, n);
	return rc;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef struct rates {
	double eer, fmr100, fmr1000;
} rates;

/* Sweeps every threshold t (accept when score >= t) over sorted scores. */
static rates error_rates(const int32_t *gen, size_t ng, const int32_t *imp, size_t ni)
{
	rates r = {1.0, 1.0, 1.0};
	double best_gap = 2.0;
	size_t gi = 0, ii = 0; /* counts of scores < t */
	for (;;) {
		double fnmr = ng ? (double)gi / ng : 0, fmr = ni ? (double)(ni - ii) / ni : 0;
		double gap = fmr > fnmr ? fmr - fnmr : fnmr - fmr;
		if (gap < best_gap) {
			best_gap = gap;
			r.eer = (fmr + fnmr) / 2;
		}
		if (fmr <= 0.01 && fnmr < r.fmr100)
			r.fmr100 = fnmr;
		if (fmr <= 0.001 && fnmr < r.fmr1000)
			r.fmr1000 = fnmr;
		if (gi == ng && ii == ni)
			break;
		/* next threshold: just above the smallest remaining score */
		int32_t t = gi < ng ? gen[gi] : INT32_MAX;
		if (ii < ni && imp[ii] < t)
			t = imp[ii];
		while (gi < ng && gen[gi] <= t)
			gi++;
		while (ii < ni && imp[ii] <= t)
			ii++;
	}
	return r;
}

static size_t count_ge(const int32_t *v, size_t n, int32_t t)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i] >= t;
	return c;
}

static int hamming_score(const uint8_t *a, const uint8_t *b)
{
	int d = 0;
	for (size_t i = 0; i < BH_PALM_CODE_BITS / 8; i++)
		d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
	return BH_PALM_CODE_BITS - d;
}

static int run(const char *dir, int json, double max_eer)
{
	palm_set s = {0};
	s.it = calloc(MAX_IMAGES, sizeof *s.it);
	if (!s.it)
		return bh_cli_error("eval palm", bh_fail(BH_ENOMEM, "eval: items"));
	int rc = scan(dir, &s);
	if (rc == BH_OK && (s.n < 2 || s.nids < 2))
		rc = bh_fail(BH_ENOTFOUND, "eval: %s has %d images of %d palms", dir, s.n, s.nids);
	double *ms = calloc(s.n ? (size_t)s.n : 1, sizeof *ms);
	int failed = 0, nms = 0;
	for (int i = 0; rc == BH_OK && i < s.n; i++) {
		bh_image img;
		int q;
		if (bh_image_load(s.it[i].path, 1, &img) != BH_OK) {
			failed++;
			continue;
		}
		uint64_t t0 = bh_now_ns();
		s.it[i].ok = bh_palm_extract(&img, s.it[i].code, s.it[i].full, &q) == BH_OK;
		ms[nms++] = (double)(bh_now_ns() - t0) / 1e6;
		failed += !s.it[i].ok;
		bh_image_free(&img);
	}
	size_t npairs = (size_t)s.n * (s.n - 1) / 2, ng = 0, ni = 0;
	int32_t *gen = malloc((npairs ? npairs : 1) * sizeof *gen), *imp = malloc((npairs ? npairs : 1) * sizeof *imp);
	int32_t *gen1 = malloc((npairs ? npairs : 1) * sizeof *gen1), *imp1 = malloc((npairs ? npairs : 1) * sizeof *imp1);
	if (rc == BH_OK && (!gen || !imp || !gen1 || !imp1 || !ms))
		rc = bh_fail(BH_ENOMEM, "eval: scores");
	uint64_t tc0 = bh_now_ns();
	for (int i = 0; rc == BH_OK && i < s.n; i++)
		for (int j = i + 1; rc == BH_OK && j < s.n; j++) {
			int32_t sc = 0, h = 0;
			if (s.it[i].ok && s.it[j].ok) {
				rc = bh_palm_compare(s.it[i].full, BH_PALM_FULL_BYTES, s.it[j].full,
						     BH_PALM_FULL_BYTES, &sc);
				h = hamming_score(s.it[i].code, s.it[j].code);
			}
			if (s.it[i].id == s.it[j].id) {
				gen1[ng] = h;
				gen[ng++] = sc;
			} else {
				imp1[ni] = h;
				imp[ni++] = sc;
			}
		}
	double cmp_us = npairs ? (double)(bh_now_ns() - tc0) / 1e3 / npairs : 0;
	int exit_code = 0;
	if (rc == BH_OK) {
		qsort(gen, ng, sizeof *gen, cmp_i32);
		qsort(imp, ni, sizeof *imp, cmp_i32);
		qsort(gen1, ng, sizeof *gen1, cmp_i32);
		qsort(imp1, ni, sizeof *imp1, cmp_i32);
		qsort(ms, nms, sizeof *ms, cmp_dbl);
		rates r = error_rates(gen, ng, imp, ni), r1 = error_rates(gen1, ng, imp1, ni);
		double fmr_t = ni ? (double)count_ge(imp, ni, BH_PALM_THRESHOLD) / ni : 0;
		double fnmr_t = ng ? 1.0 - (double)count_ge(gen, ng, BH_PALM_THRESHOLD) / ng : 0;
		double med = nms ? ms[nms / 2] : 0;
		if (json) {
			bh_json j;
			bh_json_init(&j, stdout);
			bh_json_obj(&j, NULL);
			bh_json_str(&j, "modality", "palm");
			bh_json_str(&j, "data", dir);
			bh_json_int(&j, "images", s.n);
			bh_json_int(&j, "palms", s.nids);
			bh_json_uint(&j, "genuine", ng);
			bh_json_uint(&j, "impostor", ni);
			bh_json_int(&j, "failed_to_extract", failed);
			bh_json_num(&j, "eer", r.eer);
			bh_json_num(&j, "fmr100", r.fmr100);
			bh_json_num(&j, "fmr1000", r.fmr1000);
			bh_json_int(&j, "threshold", BH_PALM_THRESHOLD);
			bh_json_num(&j, "fmr_at_threshold", fmr_t);
			bh_json_num(&j, "fnmr_at_threshold", fnmr_t);
			bh_json_num(&j, "extract_ms_median", med);
			bh_json_num(&j, "compare_us_mean", cmp_us);
			bh_json_num(&j, "stage1_code_eer", r1.eer);
			bh_json_end(&j);
			bh_json_newline(&j);
		} else {
			printf("palm eval on %s: %d images, %d palms, %zu genuine, %zu impostor pairs, "
			       "%d failed to extract\n", dir, s.n, s.nids, ng, ni, failed);
			printf("  EER %.3f %%  FMR100 %.3f %%  FMR1000 %.3f %%\n", 100 * r.eer,
			       100 * r.fmr100, 100 * r.fmr1000);
			printf("  at the shipped threshold %d: FMR %.3f %%  FNMR %.3f %%\n",
			       BH_PALM_THRESHOLD, 100 * fmr_t, 100 * fnmr_t);
			printf("  extract %.2f ms median, compare %.2f us mean; first-stage code alone: "
			       "EER %.3f %%\n", med, cmp_us, 100 * r1.eer);
		}
		if (max_eer >= 0 && r.eer > max_eer) {
			fprintf(stderr, "biohub eval palm: EER %.4f above the bound %.4f\n", r.eer,
				max_eer);
			exit_code = 1;
		}
	}
	for (int i = 0; i < s.n; i++) {
		free(s.it[i].path);
		bh_wipe(s.it[i].code, sizeof s.it[i].code);
		bh_wipe(s.it[i].full, sizeof s.it[i].full);
	}
	free(s.it);
	free(ms);
	free(gen);
	free(imp);
	free(gen1);
	free(imp1);
	if (rc != BH_OK)
		return bh_cli_error("eval palm", rc);
	return exit_code;
}

int cmd_eval_palm(int argc, char **argv)
{
	const char *dir = NULL;
	int json = 0;
	double max_eer = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--max-eer") && i + 1 < argc)
			max_eer = atof(argv[++i]);
		else
			dir = NULL, i = argc;
	}
	if (!dir) {
		fprintf(stderr, "usage: biohub eval palm --data DIR [--json] [--max-eer FRACTION]\n");
		return 2;
	}
	return run(dir, json, max_eer);
}
