/*
 * cmd_bench_search.c - `biohub bench search GALLERY [--modality finger|palm]
 *                       [--data DIR] [--threads T] [--rounds R] [--json]`
 *
 * The search service (bh_searcher: decode, extract, engine, re-rank with
 * full templates read from the SQLite gallery) on a real gallery file, T
 * threads searching side by side as biohubd's workers do (engine threads 1
 * each, biohubd's default).  Every image of DIR is searched once per round
 * by one of the threads.
 *
 * Measured: searches/s (wall) and the mean re-rank ms per search (extract
 * and engine ms alongside, wall time per phase), for the
 * shipped service (each re-rank reads through a reader handle of its own, in
 * one read snapshot) and, in the same run on the same probes, the anchor:
 * the service with every fetch through the one shared handle under its lock
 * (bh_searcher_config.single_handle).  The two alternate R times each (a
 * searcher is opened per pass, so each starts with a cold SQLite cache and
 * the gallery's quick_check runs per open), so a drifting host affects both.
 */
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_search.h"
#include "bh_template.h"
#include "bh_time.h"

#define MAX_PROBES 512
#define MAX_THREADS 8
#define MAX_BYTES (64u << 20) /* per probe file */
#define DEFAULT_DIR BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB1_B"

typedef struct probes {
	uint8_t *img[MAX_PROBES];
	size_t len[MAX_PROBES];
	int n;
} probes;

static void probes_free(probes *p)
{
	for (int i = 0; i < p->n; i++)
		bh_wipe_free(p->img[i], p->len[i]);
	p->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every image file of dir (name order) into memory. */
static int probes_load(probes *p, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return bh_fail(BH_EIO, "bench search: cannot open %s", dir);
	char *name[MAX_PROBES];
	int n = 0, rc = BH_OK;
	struct dirent *de;
	while ((de = readdir(d)) && n < MAX_PROBES && rc == BH_OK)
		if (bh_image_name_known(de->d_name) && !(name[n++] = strdup(de->d_name)))
			rc = bh_fail(BH_ENOMEM, "bench search: names");
	closedir(d);
	if (rc != BH_OK)
		n--;
	qsort(name, (size_t)n, sizeof *name, cmp_str);
	for (int i = 0; i < n && rc == BH_OK; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, name[i]);
		rc = bh_read_file(path, MAX_BYTES, &p->img[p->n], &p->len[p->n]);
		if (rc == BH_OK)
			p->n++;
	}
	for (int i = 0; i < n; i++)
		free(name[i]);
	if (rc == BH_OK && p->n < 1)
		rc = bh_fail(BH_ENOTFOUND, "bench search: no images in %s", dir);
	if (rc != BH_OK)
		probes_free(p);
	return rc;
}

typedef struct pass {
	bh_searcher *s;
	const probes *p;
	int modality, nth, id;
	/* out */
	int done, failed, rc; /* failed: probes without usable features */
	double extract_ms, engine_ms, rerank_ms;
} pass;

static void *search_thread(void *arg)
{
	pass *w = arg;
	for (int i = w->id; i < w->p->n && w->rc == BH_OK; i += w->nth) {
		bh_candidate c[10];
		uint32_t n = 0;
		bh_search_info info = {0};
		w->rc = bh_searcher_search(w->s, w->modality, w->p->img[i], w->p->len[i], 10, c, &n,
					   &info);
		if (w->rc == BH_ENOFEATURE) {
			w->rc = BH_OK;
			w->failed++;
			continue;
		}
		w->done++;
		w->extract_ms += (double)info.extract_ns / 1e6;
		w->engine_ms += (double)info.search_ns / 1e6;
		w->rerank_ms += (double)info.rerank_ns / 1e6;
	}
	return NULL;
}

typedef struct result {
	int searches, failed;
	double wall_s, extract_ms, engine_ms, rerank_ms;
} result;

/* One pass over the probes on a freshly opened searcher. */
static int run_pass(const char *gallery, int single_handle, int modality, int nth,
		    const probes *p, result *r)
{
	bh_searcher_config cfg = {.gallery_path = gallery, .threads = 1,
				  .single_handle = single_handle};
	bh_searcher *s = NULL;
	int rc = bh_searcher_open(&cfg, &s);
	if (rc != BH_OK)
		return rc;
	pass w[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	int started = 0;
	uint64_t t0 = bh_now_ns();
	for (int i = 0; i < nth; i++) {
		w[i] = (pass){.s = s, .p = p, .modality = modality, .nth = nth, .id = i};
		if (pthread_create(&t[i], NULL, search_thread, &w[i]) != 0) {
			rc = bh_fail(BH_EIO, "bench search: cannot start a thread");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	r->wall_s += (double)(bh_now_ns() - t0) / 1e9;
	for (int i = 0; i < started; i++) {
		r->searches += w[i].done;
		r->failed += w[i].failed;
		r->extract_ms += w[i].extract_ms;
		r->engine_ms += w[i].engine_ms;
		r->rerank_ms += w[i].rerank_ms;
		if (rc == BH_OK)
			rc = w[i].rc;
	}
	bh_searcher_close(s);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: biohub bench search GALLERY [--modality finger|palm] [--data DIR]\n"
			"                           [--threads T] [--rounds R] [--json]\n");
}

int cmd_bench_search(int argc, char **argv)
{
	static const struct option opts[] = {{"modality", required_argument, 0, 'm'},
					     {"data", required_argument, 0, 'd'},
					     {"threads", required_argument, 0, 't'},
					     {"rounds", required_argument, 0, 'r'},
					     {"json", no_argument, 0, 'j'},
					     {0, 0, 0, 0}};
	const char *dir = DEFAULT_DIR, *mname = "finger";
	int nth = 2, rounds = 2, json = 0, o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mname = optarg; break;
		case 'd': dir = optarg; break;
		case 't': nth = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'j': json = 1; break;
		default: usage(); return 2;
		}
	}
	int modality = !strcmp(mname, "finger") ? BH_MOD_FINGER : !strcmp(mname, "palm") ? BH_MOD_PALM : 0;
	if (optind != argc - 1 || !modality || nth < 1 || nth > MAX_THREADS || rounds < 1 ||
	    rounds > 100) {
		usage();
		return 2;
	}
	const char *gallery = argv[optind];
	probes p = {0};
	int rc = probes_load(&p, dir);
	result r[2] = {{0}, {0}}; /* [0] anchor: one shared handle, [1] reader handles */
	for (int k = 0; k < rounds && rc == BH_OK; k++)
		for (int mode = 0; mode < 2 && rc == BH_OK; mode++)
			rc = run_pass(gallery, mode == 0, modality, nth, &p, &r[mode]);
	probes_free(&p);
	if (rc == BH_OK && (r[0].searches == 0 || r[1].searches == 0))
		rc = bh_fail(BH_ENOFEATURE, "bench search: no probe of %s could be searched", dir);
	if (rc != BH_OK)
		return bh_cli_error("bench search", rc);
	double sps[2], rr[2];
	for (int m = 0; m < 2; m++) {
		sps[m] = r[m].searches / r[m].wall_s;
		rr[m] = r[m].rerank_ms / r[m].searches;
	}
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "bench", "search");
		bh_json_str(&j, "gallery", gallery);
		bh_json_str(&j, "modality", mname);
		bh_json_str(&j, "data", dir);
		bh_json_int(&j, "threads", nth);
		bh_json_int(&j, "searches", r[1].searches);
		bh_json_int(&j, "failed_to_extract", r[1].failed);
		bh_json_num(&j, "searches_per_s", sps[1]);
		bh_json_num(&j, "extract_ms_mean", r[1].extract_ms / r[1].searches);
		bh_json_num(&j, "engine_ms_mean", r[1].engine_ms / r[1].searches);
		bh_json_num(&j, "rerank_ms_mean", rr[1]);
		bh_json_str(&j, "anchor", "same service, every re-rank fetch through the one shared gallery handle");
		bh_json_num(&j, "anchor_searches_per_s", sps[0]);
		bh_json_num(&j, "anchor_rerank_ms_mean", rr[0]);
		bh_json_num(&j, "ratio_vs_anchor", sps[1] / sps[0]);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("%s searches on %s, %d threads, %d searches per mode (%d rounds, alternating;"
		       " %d probes without features)\n",
		       mname, gallery, nth, r[1].searches, rounds, r[1].failed);
		printf("  %-44s %8.1f searches/s, re-rank %6.2f ms mean\n",
		       "reader handles, one snapshot per re-rank", sps[1], rr[1]);
		printf("  %-44s %8.1f searches/s, re-rank %6.2f ms mean\n",
		       "anchor: one shared handle, fetch by fetch", sps[0], rr[0]);
		printf("  %-44s %8.2f\n", "ratio_vs_anchor (searches/s)", sps[1] / sps[0]);
		printf("  per search (reader handles): extract %.2f ms, engine %.2f ms, re-rank %.2f ms\n",
		       r[1].extract_ms / r[1].searches, r[1].engine_ms / r[1].searches, rr[1]);
	}
	return 0;
}
