/*
 * cmd_eval_face.c - `biohub eval face --pairs FILE [--json] [--model-dir DIR]`
 *
 * FILE lines: `imageA imageB 1|0` (paths relative to FILE's directory, 1 =
 * same person).  Every distinct image goes through the full pipeline once
 * (detect, landmarks, align, describe); pairs are scored with the int8 dot
 * product of their templates and decided at the shipped threshold
 * (BH_FACE_THRESHOLD).  A pair with an image where no face was found counts
 * as a "different" decision (and in no_face).
 *
 * Also reported: the float Euclidean rule (dlib's 0.6) on the same pairs,
 * how often the float and int8 rules decide alike, the rank agreement of the
 * two scores (fraction of concordant pair-of-pairs, Kendall-style), TAR at
 * FAR 1 %, and the mean time per image.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_face.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"

#define MAX_PAIRS 100000
#define MAX_IMAGES 20000

typedef struct img_entry {
	char *path;
	int ok;
	float desc[128];
	int8_t q[128];
} img_entry;

typedef struct pair {
	int a, b, same;
	int ok;
	int32_t score;
	float dist;
	float cosd; /* 1 - cosine of the float descriptors */
} pair;

static int find_or_add(img_entry *imgs, int *n, const char *path)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(imgs[i].path, path))
			return i;
	if (*n >= MAX_IMAGES)
		return bh_fail(BH_ETOOBIG, "eval: more than %d images", MAX_IMAGES);
	imgs[*n].path = strdup(path);
	if (!imgs[*n].path)
		return bh_fail(BH_ENOMEM, "eval: path");
	return (*n)++;
}

static int read_pairs(const char *file, img_entry *imgs, int *nimg, pair *pairs, int *np)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return bh_fail(BH_ENOTFOUND, "eval: cannot open %s", file);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = 0;
	else
		dir[0] = 0;
	char line[8192], a[4096], b[4096];
	int rc = BH_OK, lineno = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		int same;
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0)
			continue;
		if (sscanf(line, "%4095s %4095s %d", a, b, &same) != 3 || (same != 0 && same != 1)) {
			rc = bh_fail(BH_EFORMAT, "eval: %s:%d: expected 'imageA imageB 1|0'", file,
				     lineno);
			break;
		}
		if (*np >= MAX_PAIRS) {
			rc = bh_fail(BH_ETOOBIG, "eval: more than %d pairs", MAX_PAIRS);
			break;
		}
		char pa[8200], pb[8200];
		snprintf(pa, sizeof pa, "%s%s", a[0] == '/' ? "" : dir, a);
		snprintf(pb, sizeof pb, "%s%s", b[0] == '/' ? "" : dir, b);
		int ia = find_or_add(imgs, nimg, pa);
		int ib = ia < 0 ? ia : find_or_add(imgs, nimg, pb);
		if (ib < 0) {
			rc = ib;
			break;
		}
		pairs[(*np)++] = (pair){.a = ia, .b = ib, .same = same};
	}
	fclose(f);
	return rc;
}

static int cmp_i32_desc(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a < b) - (a > b);
}

/* TAR at FAR <= 1 %: the threshold that accepts at most 1 % of impostors. */
static double tar_at_far(const pair *p, int np, double far)
{
	int32_t *imp = malloc((size_t)np * sizeof *imp);
	if (!imp)
		return NAN;
	int ni = 0, ng = 0, acc = 0;
	for (int i = 0; i < np; i++)
		if (!p[i].same)
			imp[ni++] = p[i].ok ? p[i].score : INT32_MIN;
	qsort(imp, (size_t)ni, sizeof *imp, cmp_i32_desc);
	int allowed = (int)floor(far * ni);
	/* accept scores strictly above the (allowed)-th highest impostor score */
	int32_t thr = ni == 0 ? INT32_MIN : imp[allowed < ni ? allowed : ni - 1];
	for (int i = 0; i < np; i++)
		if (p[i].same) {
			ng++;
			acc += p[i].ok && p[i].score > thr;
		}
	free(imp);
	return ng ? 100.0 * acc / ng : NAN;
}

/* Fraction of pair-of-pairs ordered alike by a float dissimilarity (Euclidean
 * distance, or 1 - cosine when use_cos) and the int8 score (ties in either
 * count as agreement); bounded sample for large sets. */
static double rank_agreement(const pair *p, int np, int use_cos)
{
	long agree = 0, total = 0;
	int step = np > 3000 ? np / 3000 : 1;
	for (int i = 0; i < np; i += step)
		for (int j = i + 1; j < np; j += step) {
			if (!p[i].ok || !p[j].ok)
				continue;
			float dd = use_cos ? p[j].cosd - p[i].cosd : p[j].dist - p[i].dist;
			long ds = (long)p[i].score - p[j].score;
			total++;
			agree += (dd == 0 || ds == 0 || (dd > 0) == (ds > 0));
		}
	return total ? 100.0 * agree / total : NAN;
}

int cmd_eval_face(int argc, char **argv)
{
	const char *pairs_file = NULL, *model_dir = NULL;
	int json = 0, dump = 0;
	double min_acc = -1, min_tar = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
			pairs_file = argv[++i];
		else if (!strcmp(argv[i], "--model-dir") && i + 1 < argc)
			model_dir = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--min-accuracy") && i + 1 < argc)
			min_acc = atof(argv[++i]);
		else if (!strcmp(argv[i], "--min-tar") && i + 1 < argc)
			min_tar = atof(argv[++i]);
		else if (!strcmp(argv[i], "--dump"))
			dump = 1; /* per pair: same ok int8_score float_distance */
		else {
			fprintf(stderr, "usage: biohub eval face --pairs FILE [--json] [--dump] "
					"[--model-dir DIR]\n");
			return 2;
		}
	}
	if (!pairs_file) {
		fprintf(stderr, "usage: biohub eval face --pairs FILE [--json] [--model-dir DIR]\n");
		return 2;
	}
	bh_errclear();
	openblas_set_num_threads(1);
	img_entry *imgs = calloc(MAX_IMAGES, sizeof *imgs);
	pair *pairs = calloc(MAX_PAIRS, sizeof *pairs);
	bh_face_model *model = NULL;
	int nimg = 0, np = 0, ret = 1;
	int rc = imgs && pairs ? BH_OK : bh_fail(BH_ENOMEM, "eval: tables");
	if (!rc)
		rc = read_pairs(pairs_file, imgs, &nimg, pairs, &np);
	if (!rc)
		rc = bh_face_model_load(model_dir, &model);
	if (rc) {
		ret = bh_cli_error("eval face", rc);
		goto out;
	}
	uint64_t t0 = bh_now_ns();
	int no_face_img = 0;
	double norm_sum = 0;
	for (int i = 0; i < nimg; i++) {
		bh_image img;
		bh_face_result r;
		rc = bh_image_load(imgs[i].path, 3, &img);
		if (!rc) {
			rc = bh_face_analyse(model, &img, &r);
			bh_image_free(&img);
		}
		if (rc == BH_ENOFACE) {
			no_face_img++;
			continue;
		}
		if (rc) {
			ret = bh_cli_error(imgs[i].path, rc);
			goto out;
		}
		imgs[i].ok = 1;
		memcpy(imgs[i].desc, r.desc, sizeof r.desc);
		bh_face_quantise(r.desc, imgs[i].q);
		double n2 = 0;
		for (int k = 0; k < 128; k++)
			n2 += (double)r.desc[k] * r.desc[k];
		norm_sum += sqrt(n2);
		bh_wipe(&r, sizeof r);
	}
	double ms_per_img = nimg ? (bh_now_ns() - t0) / 1e6 / nimg : 0;
	int correct = 0, correct_f = 0, agree = 0, no_face = 0, nok = 0;
	for (int i = 0; i < np; i++) {
		pair *p = &pairs[i];
		p->ok = imgs[p->a].ok && imgs[p->b].ok;
		int dec = 0, dec_f = 0;
		if (p->ok) {
			nok++;
			p->score = bh_face_score(imgs[p->a].q, imgs[p->b].q);
			p->dist = bh_face_distance(imgs[p->a].desc, imgs[p->b].desc);
			double ab = 0, aa = 0, bb = 0;
			for (int k = 0; k < 128; k++) {
				ab += (double)imgs[p->a].desc[k] * imgs[p->b].desc[k];
				aa += (double)imgs[p->a].desc[k] * imgs[p->a].desc[k];
				bb += (double)imgs[p->b].desc[k] * imgs[p->b].desc[k];
			}
			p->cosd = (float)(1.0 - ab / sqrt(aa * bb + 1e-30));
			dec = p->score >= BH_FACE_THRESHOLD;
			dec_f = p->dist < 0.6f;
			agree += dec == dec_f;
		} else {
			no_face++;
		}
		correct += dec == p->same;
		correct_f += dec_f == p->same;
		if (dump)
			fprintf(stderr, "%d %d %d %.6f\n", p->same, p->ok, p->score, p->dist);
	}
	double acc = np ? 100.0 * correct / np : NAN, acc_f = np ? 100.0 * correct_f / np : NAN;
	double tar = tar_at_far(pairs, np, 0.01);
	double rank = rank_agreement(pairs, np, 0), rank_q = rank_agreement(pairs, np, 1);
	double mean_norm = nimg - no_face_img ? norm_sum / (nimg - no_face_img) : NAN;
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "pairs", np);
		bh_json_num(&j, "accuracy", acc);
		bh_json_num(&j, "tar_at_far_1pct", tar);
		bh_json_int(&j, "no_face", no_face);
		bh_json_int(&j, "images", nimg);
		bh_json_int(&j, "images_no_face", no_face_img);
		bh_json_int(&j, "threshold", BH_FACE_THRESHOLD);
		bh_json_num(&j, "accuracy_float_euclid_0_6", acc_f);
		bh_json_num(&j, "decision_agreement_pct", nok ? 100.0 * agree / nok : NAN);
		bh_json_num(&j, "rank_agreement_pct", rank);
		bh_json_num(&j, "rank_agreement_vs_float_cosine_pct", rank_q);
		bh_json_num(&j, "mean_descriptor_norm", mean_norm);
		bh_json_num(&j, "ms_per_image", ms_per_img);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("pairs %d  accuracy %.2f %% (int8 dot >= %d)  tar@far1%% %.2f %%  no_face %d\n",
		       np, acc, BH_FACE_THRESHOLD, tar, no_face);
		printf("float euclid < 0.6: %.2f %%  decision agreement %.2f %%  rank agreement %.3f %% "
		       "(vs float cosine %.3f %%)\n",
		       acc_f, nok ? 100.0 * agree / nok : NAN, rank, rank_q);
		printf("images %d (no face %d)  mean |d| %.4f  %.1f ms/image\n", nimg, no_face_img,
		       mean_norm, ms_per_img);
	}
	ret = 0;
	if ((min_acc >= 0 && !(acc >= min_acc)) || (min_tar >= 0 && !(tar >= min_tar))) {
		fprintf(stderr, "biohub eval face: accuracy %.2f %% / TAR %.2f %% below the bound "
				"%.2f / %.2f\n", acc, tar, min_acc, min_tar);
		ret = 1;
	}
out:
	for (int i = 0; imgs && i < nimg; i++)
		free(imgs[i].path);
	if (imgs)
		bh_wipe(imgs, MAX_IMAGES * sizeof *imgs);
	free(imgs);
	free(pairs);
	bh_face_model_free(model);
	return ret;
}
