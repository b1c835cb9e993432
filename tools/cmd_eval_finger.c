/*
 * cmd_eval_finger.c - `biohub eval finger --data DIR [--ppi N] [--json]
 *                      [--det FILE] [--scores FILE] [--max-eer X] [--min-first-stage X]
 *                      [--depth D]`
 *
 * DIR holds images named FINGER_IMPRESSION.ext (FVC style, e.g. 101_3.pgm;
 * PGM, PNG, JPEG, WSQ, JPEG 2000, TIFF, BMP).  Every image goes through the full
 * template pipeline once (bh_finger_extract: minutiae, MCC, code).
 *   genuine pairs  = all unordered pairs of impressions of the same finger;
 *   impostor pairs = all unordered pairs of images of different fingers.
 * Each pair is scored once with the MCC comparator (lower index first).  A
 * pair with an image that failed extraction scores 0 (a non-match), so
 * failures cost accuracy instead of disappearing; they are also counted.
 *
 * Reported: EER, FNMR at FMR <= 1 % (fmr100) and <= 0.1 % (fmr1000), FMR and
 * FNMR at the shipped threshold, median extraction time (extract_ms_median
 * is thread CPU time, one core; wall-clock alongside), and for 1:N the
 * rank-1 of exhaustive MCC vs the two-stage search (first-stage code top-D,
 * then MCC) with every image as a probe against all the others.
 * first_stage: how the first stage alone would scale to a large gallery
 * holding one impression of the probe's finger.  The engine keeps the top
 * D codes (--depth, default BH_FINGER_RERANK_DEPTH), so a lone mate survives a gallery of G
 * impostors when at most DEPTH / G of the impostor codes score above it
 * (ties count half).  The share of genuine pairs that survive is estimated
 * from this set's impostor code similarities, for G = 10k, 100k and 1M
 * (1M asks for a rate of 0.05 %, at the resolution of a few thousand
 * impostor pairs: an estimate, printed with the pair count).
 * --ppi sets the scan resolution when the files do not carry it (FVC2002
 * DB2 is 569).  --det writes "threshold fmr fnmr" lines for a DET plot
 * (scores only, no biometric data).  --scores writes one line per pair,
 * "image_a image_b genuine score" (genuine 1 or 0; a failed image scores
 * 0), to find which fingers or impressions cost the errors.  --max-eer X (a fraction) makes the
 * command fail (exit 1) when the EER exceeds X, --min-first-stage X when
 * the first stage keeps a lone mate of a 10k gallery for less than a share X
 * of the genuine pairs: the accuracy test suite.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_fcode.h"
#include "bh_finger.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_template.h"
#include "bh_time.h"

#define MAX_FILES 20000

typedef struct entry {
	char name[256];
	char finger[128];
	int ok;
	double ms;
	bh_probe_tmpl t;
	bh_mcc_view v;
} entry;

typedef struct rates {
	double eer, fmr100, fmr1000, fmr_thr, fnmr_thr;
} rates;

/* Thread CPU time: the work of one core, independent of how busy a shared
 * machine is (wall-clock is reported next to it). */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: biohub eval finger [--modality finger|palm] --data DIR [--ppi N] [--json] [--det FILE]\n"
			"       [--scores FILE] [--max-eer X] [--min-first-stage X] [--depth D]\n");
	return 2;
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

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* FINGER_IMPRESSION.ext -> finger id; 0 if the name does not fit. */
static int parse_name(const char *name, char *finger, size_t n)
{
	const char *dot = strrchr(name, '.'), *us = strrchr(name, '_');
	if (!dot || !us || us > dot || us == name || dot == us + 1 || (size_t)(us - name) >= n)
		return 0;
	for (const char *p = us + 1; p < dot; p++)
		if (*p < '0' || *p > '9')
			return 0;
	if (!bh_image_name_known(name))
		return 0;
	memcpy(finger, name, (size_t)(us - name));
	finger[us - name] = 0;
	return 1;
}

static int list_dir(const char *dir, entry **out, int *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return bh_fail(BH_EIO, "eval: cannot open %s", dir);
	entry *e = calloc(MAX_FILES, sizeof *e);
	if (!e) {
		closedir(d);
		return bh_fail(BH_ENOMEM, "eval: file list");
	}
	int c = 0;
	struct dirent *de;
	while ((de = readdir(d)) && c < MAX_FILES) {
		if (strlen(de->d_name) >= sizeof e[c].name)
			continue;
		if (!parse_name(de->d_name, e[c].finger, sizeof e[c].finger))
			continue;
		snprintf(e[c].name, sizeof e[c].name, "%s", de->d_name);
		c++;
	}
	closedir(d);
	qsort(e, (size_t)c, sizeof *e, cmp_entry);
	*out = e;
	*n = c;
	return c >= 2 ? BH_OK : bh_fail(BH_ENOTFOUND, "eval: fewer than 2 FINGER_IMPRESSION images in %s", dir);
}

/* Error rates from sorted genuine and impostor scores.  A comparison
 * "matches" at threshold t when score >= t. */
static rates error_rates(const int32_t *g, size_t ng, const int32_t *im, size_t ni, int32_t thr)
{
	rates r = {1, 1, 1, 0, 0};
	double best = 2;
	size_t gi = 0, ii = 0; /* scores below the current threshold */
	for (;;) {
		/* next threshold: the smallest score not yet passed, or +inf */
		int64_t t = INT64_MAX;
		if (gi < ng)
			t = g[gi];
		if (ii < ni && im[ii] < t)
			t = im[ii];
		double fnmr = (double)gi / ng, fmr = (double)(ni - ii) / ni;
		double d = fnmr > fmr ? fnmr - fmr : fmr - fnmr;
		if (d < best) {
			best = d;
			r.eer = (fnmr + fmr) / 2;
		}
		if (fmr <= 0.01 && fnmr < r.fmr100)
			r.fmr100 = fnmr;
		if (fmr <= 0.001 && fnmr < r.fmr1000)
			r.fmr1000 = fnmr;
		if (t == INT64_MAX)
			break;
		while (gi < ng && g[gi] <= t)
			gi++;
		while (ii < ni && im[ii] <= t)
			ii++;
	}
	size_t fa = 0, fr = 0;
	for (size_t i = 0; i < ni; i++)
		fa += im[i] >= thr;
	for (size_t i = 0; i < ng; i++)
		fr += g[i] < thr;
	r.fmr_thr = (double)fa / ni;
	r.fnmr_thr = (double)fr / ng;
	return r;
}

static void write_det(const char *path, const int32_t *g, size_t ng, const int32_t *im, size_t ni)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "eval: cannot write %s\n", path);
		return;
	}
	fprintf(f, "# threshold fmr fnmr\n");
	for (int32_t t = 0; t <= BH_MCC_SCORE_MAX; t += 5) {
		size_t fa = 0, fr = 0;
		for (size_t i = 0; i < ni; i++)
			fa += im[i] >= t;
		for (size_t i = 0; i < ng; i++)
			fr += g[i] < t;
		fprintf(f, "%d %.6f %.6f\n", t, (double)fa / ni, (double)fr / ng);
	}
	fclose(f);
}

/* Two-stage vs exhaustive rank-1 with every image as a probe. */
/* Every unordered pair's score, lower index first (see the file comment). */
static void write_scores(const char *path, const entry *e, int n, const int32_t *mat)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "eval: cannot write %s\n", path);
		return;
	}
	fprintf(f, "# image_a image_b genuine score\n");
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			fprintf(f, "%s %s %d %d\n", e[i].name, e[j].name, !strcmp(e[i].finger, e[j].finger),
				mat[(size_t)i * n + j]);
	if (fclose(f) != 0)
		fprintf(stderr, "eval: cannot write %s\n", path);
}

static void rank1_study(entry *e, int n, const int32_t *mat, const int *depths, int nd, int *agree,
			int *code_hit, int *mcc_hit)
{
	int32_t *cs = malloc((size_t)n * sizeof *cs);
	uint8_t *used = malloc((size_t)n);
	if (!cs || !used) {
		free(cs);
		free(used);
		return;
	}
	for (int p = 0; p < n; p++) {
		if (!e[p].ok)
			continue;
		int best = -1, bestc = -1;
		for (int q = 0; q < n; q++) {
			cs[q] = q != p && e[q].ok ? bh_fcode_similarity(e[p].t.code, e[q].t.code) : -1;
			int32_t s = q == p ? -1 : mat[(size_t)p * n + q];
			if (s > (best < 0 ? -1 : mat[(size_t)p * n + best]))
				best = q;
			if (cs[q] > (bestc < 0 ? -1 : cs[bestc]))
				bestc = q;
		}
		*mcc_hit += best >= 0 && !strcmp(e[best].finger, e[p].finger);
		*code_hit += bestc >= 0 && !strcmp(e[bestc].finger, e[p].finger);
		for (int k = 0; k < nd; k++) {
			memset(used, 0, (size_t)n);
			int b2 = -1;
			for (int d = 0; d < depths[k] && d < n - 1; d++) {
				int bi = -1;
				for (int q = 0; q < n; q++) /* code order: score desc, index asc */
					if (q != p && !used[q] && (bi < 0 || cs[q] > cs[bi]))
						bi = q;
				used[bi] = 1;
				if (b2 < 0 || mat[(size_t)p * n + bi] > mat[(size_t)p * n + b2])
					b2 = bi;
			}
			agree[k] += b2 == best;
		}
	}
	free(cs);
	free(used);
}

#define N_GSIZE 3
static const double gallery_sizes[N_GSIZE] = {1e4, 1e5, 1e6};

/* First-stage scaling (header comment): keep[k] = share of the genuine
 * code similarities gen[0..ng) that stay within the engine's top `depth`
 * in a gallery of gallery_sizes[k] impostors, from the impostor code
 * similarities imp[0..ni) (ng, ni > 0; both get sorted). */
static void first_stage_keep(int32_t *gen, size_t ng, int32_t *imp, size_t ni, double depth,
			     double *keep)
{
	qsort(gen, ng, sizeof *gen, cmp_i32);
	qsort(imp, ni, sizeof *imp, cmp_i32);
	int kept[N_GSIZE] = {0};
	size_t lo = 0, hi = 0; /* imp[lo..hi) == gen[g]; both only move up */
	for (size_t g = 0; g < ng; g++) {
		while (lo < ni && imp[lo] < gen[g])
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < ni && imp[hi] == gen[g])
			hi++;
		double above = (double)(ni - hi) + 0.5 * (double)(hi - lo);
		for (int k = 0; k < N_GSIZE; k++)
			kept[k] += above / (double)ni <= depth / gallery_sizes[k];
	}
	for (int k = 0; k < N_GSIZE; k++)
		keep[k] = (double)kept[k] / (double)ng;
}

int cmd_eval_palm(int argc, char **argv); /* tools/cmd_eval_palm.c */

/* `--modality palm|finger` (issue 4's spelling): palm goes to `eval palm`
 * with the other arguments; the option is removed from argv in place. */
static int take_modality(int *argc, char **argv, const char **mod)
{
	*mod = "finger";
	for (int i = 1; i < *argc; i++) {
		const char *v = NULL;
		int used = 0;
		if (!strcmp(argv[i], "--modality") && i + 1 < *argc)
			v = argv[i + 1], used = 2;
		else if (!strncmp(argv[i], "--modality=", 11))
			v = argv[i] + 11, used = 1;
		if (!used)
			continue;
		*mod = v;
		for (int j = i; j + used <= *argc; j++)
			argv[j] = argv[j + used];
		*argc -= used;
		break;
	}
	return strcmp(*mod, "finger") && strcmp(*mod, "palm") ? -1 : 0;
}

int cmd_eval_finger(int argc, char **argv)
{
	const char *mod;
	if (take_modality(&argc, argv, &mod)) {
		fprintf(stderr, "biohub eval finger: --modality must be finger or palm, not '%s'\n", mod);
		return 2;
	}
	if (!strcmp(mod, "palm"))
		return cmd_eval_palm(argc, argv);
	static const struct option opts[] = {{"data", required_argument, 0, 'd'},
					     {"ppi", required_argument, 0, 'p'},
					     {"json", no_argument, 0, 'j'},
					     {"det", required_argument, 0, 'D'},
					     {"max-eer", required_argument, 0, 'E'},
					     {"min-first-stage", required_argument, 0, 'F'},
					     {"depth", required_argument, 0, 'K'},
					     {"scores", required_argument, 0, 'S'},
					     {0, 0, 0, 0}};
	const char *dir = NULL, *det = NULL, *scores = NULL;
	int json = 0, o;
	long ppi = 0, depth = BH_FINGER_RERANK_DEPTH;
	double max_eer = -1, min_fs = -1;
	while ((o = getopt_long(argc, argv, "d:p:jD:E:F:K:S:", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'p': ppi = strtol(optarg, NULL, 10); break;
		case 'j': json = 1; break;
		case 'D': det = optarg; break;
		case 'E': max_eer = strtod(optarg, NULL); break;
		case 'F': min_fs = strtod(optarg, NULL); break;
		case 'K': depth = strtol(optarg, NULL, 10); break;
		case 'S': scores = optarg; break;
		default: return usage();
		}
	}
	if (!dir || ppi < 0 || ppi > 4000 || depth < 1 || depth > 1000000 || optind != argc)
		return usage();
	entry *e = NULL;
	int n = 0;
	int rc = list_dir(dir, &e, &n);
	if (rc != BH_OK)
		return bh_cli_error("eval finger", rc);
	int failed = 0;
	double *ms = malloc((size_t)n * sizeof *ms), *wall = malloc((size_t)n * sizeof *wall);
	int32_t *mat = calloc((size_t)n * n, sizeof *mat);
	size_t cap = (size_t)n * (n - 1) / 2;
	int32_t *gen = malloc(cap * sizeof *gen), *imp = malloc(cap * sizeof *imp);
	/* first-stage code similarities of the pairs of extracted images */
	int32_t *cgen = malloc(cap * sizeof *cgen), *cimp = malloc(cap * sizeof *cimp);
	bh_mcc_ws *ws = bh_mcc_ws_new();
	if (!ms || !wall || !mat || !gen || !imp || !cgen || !cimp || !ws) {
		rc = bh_fail(BH_ENOMEM, "eval: scores");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
		bh_image img;
		int r = bh_image_load(path, 1, &img);
		uint64_t t0 = bh_now_ns(), c0 = cpu_ns();
		if (r == BH_OK) {
			r = bh_finger_extract(&img, (uint32_t)ppi, &e[i].t);
			bh_image_free(&img);
		}
		ms[i] = e[i].ms = (cpu_ns() - c0) / 1e6;
		wall[i] = (bh_now_ns() - t0) / 1e6;
		if (r == BH_OK)
			r = bh_mcc_view_init(e[i].t.full, e[i].t.full_len, &e[i].v);
		e[i].ok = r == BH_OK;
		if (!e[i].ok) {
			failed++;
			if (!json)
				fprintf(stderr, "eval: %s: %s: %s\n", e[i].name, bh_strerror(r), bh_errmsg());
		}
	}
	size_t ng = 0, ni = 0, cng = 0, cni = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			int32_t s = 0;
			const int same = !strcmp(e[i].finger, e[j].finger);
			if (e[i].ok && e[j].ok) {
				s = bh_mcc_compare(&e[i].v, &e[j].v, ws);
				if (s < 0) {
					rc = bh_fail(s, "eval: compare");
					goto out;
				}
				int32_t c = bh_fcode_similarity(e[i].t.code, e[j].t.code);
				if (same)
					cgen[cng++] = c;
				else
					cimp[cni++] = c;
			}
			mat[(size_t)i * n + j] = mat[(size_t)j * n + i] = s;
			if (same)
				gen[ng++] = s;
			else
				imp[ni++] = s;
		}
	if (!ng || !ni) {
		rc = bh_fail(BH_EINVAL, "eval: need genuine and impostor pairs (%zu, %zu)", ng, ni);
		goto out;
	}
	qsort(gen, ng, sizeof *gen, cmp_i32);
	qsort(imp, ni, sizeof *imp, cmp_i32);
	rates r = error_rates(gen, ng, imp, ni, BH_FINGER_THRESHOLD);
	qsort(ms, (size_t)n, sizeof *ms, cmp_dbl);
	double med = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
	qsort(wall, (size_t)n, sizeof *wall, cmp_dbl);
	double medw = n % 2 ? wall[n / 2] : (wall[n / 2 - 1] + wall[n / 2]) / 2;
	static const int depths[] = {1, 2, 4, 8, 16};
	int agree[5] = {0}, code_hit = 0, mcc_hit = 0, probes = n - failed;
	rank1_study(e, n, mat, depths, 5, agree, &code_hit, &mcc_hit);
	double keep[N_GSIZE] = {0};
	const size_t keep_imp = cng && cni ? cni : 0; /* 0: no estimate */
	if (keep_imp)
		first_stage_keep(cgen, cng, cimp, cni, (double)depth, keep);
	if (det)
		write_det(det, gen, ng, imp, ni);
	if (scores)
		write_scores(scores, e, n, mat);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "modality", "finger");
		bh_json_str(&j, "data", dir);
		bh_json_int(&j, "images", n);
		bh_json_num(&j, "eer", r.eer);
		bh_json_num(&j, "fmr100", r.fmr100);
		bh_json_num(&j, "fmr1000", r.fmr1000);
		bh_json_uint(&j, "genuine", ng);
		bh_json_uint(&j, "impostor", ni);
		bh_json_int(&j, "failed_to_extract", failed);
		bh_json_num(&j, "extract_ms_median", med);
		bh_json_num(&j, "extract_wall_ms_median", medw);
		bh_json_int(&j, "threshold", BH_FINGER_THRESHOLD);
		bh_json_num(&j, "fmr_at_threshold", r.fmr_thr);
		bh_json_num(&j, "fnmr_at_threshold", r.fnmr_thr);
		bh_json_obj(&j, "rank1");
		bh_json_int(&j, "probes", probes);
		bh_json_int(&j, "mcc_exhaustive_hits", mcc_hit);
		bh_json_int(&j, "code_only_hits", code_hit);
		bh_json_arr(&j, "two_stage_agreement");
		for (int k = 0; k < 5; k++) {
			bh_json_obj(&j, NULL);
			bh_json_int(&j, "depth", depths[k]);
			bh_json_num(&j, "agree", probes ? (double)agree[k] / probes : 0);
			bh_json_end(&j);
		}
		bh_json_end(&j);
		bh_json_end(&j);
		bh_json_obj(&j, "first_stage");
		bh_json_int(&j, "depth", depth);
		bh_json_uint(&j, "impostor_pairs", keep_imp);
		bh_json_arr(&j, "lone_mate_kept");
		for (int k = 0; keep_imp && k < N_GSIZE; k++) {
			bh_json_obj(&j, NULL);
			bh_json_int(&j, "gallery", (int)gallery_sizes[k]);
			bh_json_num(&j, "share", keep[k]);
			bh_json_end(&j);
		}
		bh_json_end(&j);
		bh_json_end(&j);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("finger accuracy on %s (%d images, %zu genuine, %zu impostor pairs)\n", dir, n, ng, ni);
		printf("  %-24s %8.2f %%\n", "EER", 100 * r.eer);
		printf("  %-24s %8.2f %%\n", "FNMR @ FMR 1% (fmr100)", 100 * r.fmr100);
		printf("  %-24s %8.2f %%\n", "FNMR @ FMR 0.1% (fmr1000)", 100 * r.fmr1000);
		printf("  %-24s %8d\n", "threshold (shipped)", BH_FINGER_THRESHOLD);
		printf("  %-24s %8.3f %% / %.2f %%\n", "FMR / FNMR at threshold", 100 * r.fmr_thr, 100 * r.fnmr_thr);
		printf("  %-24s %8d\n", "failed to extract", failed);
		printf("  %-24s %8.2f ms CPU, %.2f ms wall\n", "extract median", med, medw);
		printf("  1:N, each image vs all others (%d probes):\n", probes);
		printf("    rank-1 correct: exhaustive MCC %d, code only %d\n", mcc_hit, code_hit);
		for (int k = 0; k < 5; k++)
			printf("    two-stage depth %2d: same rank-1 as exhaustive MCC %5.1f %%\n", depths[k],
			       probes ? 100.0 * agree[k] / probes : 0);
		if (keep_imp) {
			printf("  first stage, one mate in a gallery of 10k / 100k / 1M (top %ld codes kept):\n",
			       depth);
			printf("    mate kept for %.1f / %.1f / %.1f %% of genuine pairs (from %zu impostor pairs)\n",
			       100 * keep[0], 100 * keep[1], 100 * keep[2], keep_imp);
		}
	}
	if (max_eer >= 0 && r.eer > max_eer)
		rc = bh_fail(BH_EINVAL, "EER %.4f above the bound %.4f", r.eer, max_eer);
	else if (min_fs >= 0 && (!keep_imp || keep[0] < min_fs))
		rc = bh_fail(BH_EINVAL, "first stage keeps %.4f of lone mates in 10k, below the bound %.4f",
			     keep[0], min_fs);
out:
	for (int i = 0; i < n; i++)
		bh_probe_tmpl_clear(&e[i].t);
	free(e);
	free(ms);
	free(wall);
	free(mat);
	free(gen);
	free(imp);
	free(cgen);
	free(cimp);
	bh_mcc_ws_free(ws);
	return rc == BH_OK ? 0 : bh_cli_error("eval finger", rc);
}
