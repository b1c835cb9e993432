/*
 * cmd_eval_search.c - `biohub eval search GALLERY --modality M --probes FILE
 *                      [--k K] [--backend B] [--depth D] [--json] [--min-rank1 PCT]`
 *
 * 1:N identification accuracy through the search service itself
 * (bh_search.h: decode -> extract -> engine -> re-rank), the path biohubd
 * serves.  FILE has one probe per line, `EXPECTED_REF IMAGE`, paths relative
 * to FILE's directory, '#' comments; EXPECTED_REF "-" marks a probe whose
 * subject is not enrolled (open set).
 *
 * Printed: probes, mated, non_mated, failed (extraction/decoding errors;
 * a failed mated probe counts as a miss), rank1 and rank10 (fraction of
 * mated probes whose subject is at rank <= 1 / <= 10), match_at_rank1 (the
 * rank-1 candidate is the mate AND at or above the shipped threshold),
 * false_match_rate (non-mated probes whose rank-1 candidate reaches the
 * threshold), search_ms_median.  --min-rank1 makes the exit status 1 when
 * rank1 (percent) is below the bound (accuracy suite).
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_search.h"
#include "bh_time.h"

#define MAX_PROBES 100000

typedef struct tally {
	unsigned probes, mated, non_mated, failed;
	unsigned rank1, rank10, match1, false_match;
	double *ms;
	unsigned nms;
} tally;

static int usage(void)
{
	fprintf(stderr, "usage: biohub eval search GALLERY --modality face|finger|palm --probes FILE\n"
			"                          [--k K] [--backend NAME] [--depth D] [--json]\n"
			"                          [--min-rank1 PCT]\n");
	return 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Scores one answered probe against its expected reference. */
static void score_probe(tally *t, const char *expect, const bh_candidate *c, uint32_t n)
{
	if (!strcmp(expect, "-")) {
		t->false_match += n > 0 && c[0].match;
		return;
	}
	for (uint32_t r = 0; r < n && r < 10; r++) {
		if (strcmp(c[r].external_ref, expect))
			continue;
		t->rank10++;
		t->rank1 += r == 0;
		t->match1 += r == 0 && c[0].match;
		break;
	}
}

static int run_probe(bh_searcher *s, int mod, uint32_t k, const char *expect, const char *path,
		     tally *t)
{
	uint8_t *buf;
	size_t len;
	int rc = bh_read_file(path, 0, &buf, &len);
	if (rc != BH_OK)
		return rc; /* a missing probe file is an error in the list, not a miss */
	bh_candidate c[32];
	uint32_t n = 0;
	uint64_t t0 = bh_now_ns();
	rc = bh_searcher_search(s, mod, buf, len, k, c, &n, NULL);
	t->ms[t->nms++] = (bh_now_ns() - t0) / 1e6;
	bh_wipe_free(buf, len);
	t->probes++;
	if (strcmp(expect, "-"))
		t->mated++;
	else
		t->non_mated++;
	if (rc != BH_OK) { /* no face, too few minutiae, ...: the probe fails, the run goes on */
		fprintf(stderr, "biohub eval search: %s: %s\n", path, bh_errmsg());
		t->failed++;
		return BH_OK;
	}
	score_probe(t, expect, c, n);
	return BH_OK;
}

static int run_list(bh_searcher *s, int mod, uint32_t k, const char *list, tally *t)
{
	FILE *f = fopen(list, "r");
	if (!f)
		return bh_fail(BH_ENOTFOUND, "cannot open probe list %s", list);
	char *copy = strdup(list);
	const char *dir = copy ? dirname(copy) : ".";
	char line[4096], path[4096 + 256];
	int rc = BH_OK, lineno = 0;
	while (rc == BH_OK && fgets(line, sizeof line, f)) {
		lineno++;
		char expect[256], img[4096];
		if (line[0] == '#' || sscanf(line, "%255s %4095s", expect, img) != 2)
			continue;
		if (t->nms == MAX_PROBES) {
			rc = bh_fail(BH_ETOOBIG, "%s: more than %d probes", list, MAX_PROBES);
			break;
		}
		snprintf(path, sizeof path, "%s/%s", img[0] == '/' ? "" : dir, img);
		rc = run_probe(s, mod, k, expect, img[0] == '/' ? img : path, t);
		if (rc != BH_OK) {
			char why[256];
			snprintf(why, sizeof why, "%s", bh_errmsg());
			rc = bh_fail(rc, "%s:%d: %s", list, lineno, why);
		}
	}
	free(copy);
	fclose(f);
	return rc;
}

static double frac(unsigned a, unsigned b) { return b ? (double)a / b : 0.0; }

static void report(const tally *t, const char *mod, const char *backend, int json, double med)
{
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "modality", mod);
		bh_json_str(&j, "backend", backend);
		bh_json_uint(&j, "probes", t->probes);
		bh_json_uint(&j, "mated", t->mated);
		bh_json_uint(&j, "non_mated", t->non_mated);
		bh_json_uint(&j, "failed", t->failed);
		bh_json_num(&j, "rank1", frac(t->rank1, t->mated));
		bh_json_num(&j, "rank10", frac(t->rank10, t->mated));
		bh_json_num(&j, "match_at_rank1", frac(t->match1, t->mated));
		bh_json_num(&j, "false_match_rate", t->non_mated ? frac(t->false_match, t->non_mated) : -1);
		bh_json_num(&j, "search_ms_median", med);
		bh_json_end(&j);
		bh_json_newline(&j);
		return;
	}
	printf("%s 1:N through the search service (%s): %u probes (%u mated, %u non-mated), %u failed\n",
	       mod, backend, t->probes, t->mated, t->non_mated, t->failed);
	printf("  rank-1 %.1f %%  rank-10 %.1f %%  rank-1 and above threshold %.1f %%\n",
	       100 * frac(t->rank1, t->mated), 100 * frac(t->rank10, t->mated),
	       100 * frac(t->match1, t->mated));
	if (t->non_mated)
		printf("  non-mated probes matching at rank 1: %.2f %%\n",
		       100 * frac(t->false_match, t->non_mated));
	printf("  search (decode + extract + 1:N + re-rank) median %.1f ms\n", med);
}

int cmd_eval_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{"modality", required_argument, 0, 'm'}, {"probes", required_argument, 0, 'p'},
		{"k", required_argument, 0, 'k'},        {"backend", required_argument, 0, 'b'},
		{"json", no_argument, 0, 'j'},           {"min-rank1", required_argument, 0, 'r'},
		{"depth", required_argument, 0, 'D'},    {0, 0, 0, 0}};
	bh_searcher_config cfg = {0};
	const char *list = NULL;
	int mod = -1, json = 0, o;
	long k = 10;
	double min_rank1 = -1;
	while ((o = getopt_long(argc, argv, "m:p:k:b:jr:D:", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mod = bh_modality_parse(optarg); break;
		case 'p': list = optarg; break;
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 'b': cfg.backend = optarg; break;
		case 'D': cfg.rerank_depth = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'j': json = 1; break;
		case 'r': min_rank1 = strtod(optarg, NULL); break;
		default: return usage();
		}
	}
	if (mod < 0 || !list || k < 10 || k > 32 || argc - optind != 1)
		return usage();
	cfg.gallery_path = argv[optind];
	bh_searcher *s;
	int rc = bh_searcher_open(&cfg, &s);
	if (rc != BH_OK)
		return bh_cli_error("eval search: open gallery", rc);
	tally t = {0};
	t.ms = calloc(MAX_PROBES, sizeof *t.ms);
	rc = t.ms ? run_list(s, mod, (uint32_t)k, list, &t) : bh_fail(BH_ENOMEM, "out of memory");
	if (rc == BH_OK && t.probes == 0)
		rc = bh_fail(BH_EINVAL, "%s: no probes", list);
	if (rc == BH_OK) {
		qsort(t.ms, t.nms, sizeof *t.ms, cmp_double);
		report(&t, bh_modality_name(mod), cfg.backend ? cfg.backend : "auto", json,
		       t.ms[t.nms / 2]);
	}
	free(t.ms);
	bh_searcher_close(s);
	if (rc != BH_OK)
		return bh_cli_error("eval search", rc);
	if (min_rank1 >= 0 && 100 * frac(t.rank1, t.mated) < min_rank1) {
		fprintf(stderr, "biohub eval search: rank-1 %.1f %% below the bound %.1f %%\n",
			100 * frac(t.rank1, t.mated), min_rank1);
		return 1;
	}
	return 0;
}
