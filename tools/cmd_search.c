/* cmd_search.c - `biohub search`: one probe image against a gallery, in
 * process (the same bh_searcher biohubd uses).  The probe is read into memory,
 * searched and wiped; nothing about it is written anywhere. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_search.h"
#include "bh_template.h"

static int usage(void)
{
	fprintf(stderr, "usage: biohub search GALLERY --modality face|finger|palm [--k K]\n"
			"                     [--position 1..10] [--ppi N] [--depth D] [--backend NAME]\n"
			"                     [--threads N] [--models DIR] [--json] IMAGE\n"
			"  --position: the finger position of a finger image (ANSI/NIST code); only\n"
			"              gallery fingers of that position (or unknown) are compared\n"
			"  --ppi:      the scan resolution of a finger image that does not state one\n"
			"              (PGM, PNG, JPEG; else 500 is assumed), 150..4000\n"
			"  --depth:    engine candidates re-ranked per probe (finger, palm; 0 = shipped)\n");
	return 2;
}

static void print_human(const bh_candidate *c, uint32_t n, const bh_search_info *info)
{
	if (info->warning[0])
		fprintf(stderr, "warning: %s\n", info->warning);
	printf("%-5s %-32s %8s %8s\n", "rank", "subject", "score", "position");
	for (uint32_t i = 0; i < n; i++)
		printf("%-5u %-32s %8d %8u%s\n", i + 1, c[i].external_ref, c[i].score,
		       c[i].position, c[i].match ? "  MATCH" : "");
	printf("(%u candidates; extract %.1f ms, search %.2f ms, re-rank %.2f ms, backend %s)\n", n,
	       info->extract_ns / 1e6, info->search_ns / 1e6, info->rerank_ns / 1e6,
	       info->backend ? info->backend : "-");
}

static void print_json(const bh_candidate *c, uint32_t n, const bh_search_info *info, int mod)
{
	bh_json j;
	bh_json_init(&j, stdout);
	bh_json_obj(&j, NULL);
	bh_json_str(&j, "modality", bh_modality_name(mod));
	bh_json_str(&j, "backend", info->backend);
	bh_json_str(&j, "warning", info->warning[0] ? info->warning : NULL);
	bh_json_num(&j, "extract_ms", info->extract_ns / 1e6);
	bh_json_num(&j, "search_ms", info->search_ns / 1e6);
	bh_json_num(&j, "rerank_ms", info->rerank_ns / 1e6);
	bh_json_arr(&j, "candidates");
	for (uint32_t i = 0; i < n; i++) {
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "rank", i + 1);
		bh_json_str(&j, "subject", c[i].external_ref);
		bh_json_int(&j, "score", c[i].score);
		bh_json_int(&j, "position", c[i].position);
		bh_json_bool(&j, "match", c[i].match);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_end(&j);
	bh_json_newline(&j);
}

/* A local search is audited like one through biohubd: who (the local user,
 * as "local:NAME"), when, which modality, how many candidates, outcome. */
static void audit(bh_searcher *s, int mod, uint32_t n, const bh_search_info *info, int rc)
{
	char who[96], outcome[96];
	const struct passwd *pw = getpwuid(geteuid());
	const char *user = getenv("SUDO_USER") ? getenv("SUDO_USER") : pw ? pw->pw_name : NULL;
	if (user)
		snprintf(who, sizeof who, "local:%s", user);
	else
		snprintf(who, sizeof who, "local:uid%u", (unsigned)geteuid());
	snprintf(outcome, sizeof outcome, "%s%s", rc == BH_OK ? "ok" : "error:",
		 rc == BH_OK ? "" : bh_strerror(rc));
	bh_audit_rec r = {.agency = who,
			  .request_id = 0,
			  .modality = mod,
			  .candidates = n,
			  .backend = info->backend ? info->backend : "",
			  .outcome = outcome};
	if (bh_searcher_audit(s, &r) != BH_OK) /* the answer stands; the missing row is reported */
		fprintf(stderr, "biohub: search: audit row not written: %s\n", bh_errmsg());
}

int cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{"modality", required_argument, 0, 'm'}, {"k", required_argument, 0, 'k'},
		{"backend", required_argument, 0, 'b'},  {"threads", required_argument, 0, 't'},
		{"models", required_argument, 0, 'M'},   {"json", no_argument, 0, 'j'},
		{"position", required_argument, 0, 'p'}, {"depth", required_argument, 0, 'D'},
		{"ppi", required_argument, 0, 'P'},      {0, 0, 0, 0}};
	bh_searcher_config cfg = {0};
	int mod = -1, json = 0, o;
	long k = 10, pos = 0, ppi = 0;
	while ((o = getopt_long(argc, argv, "m:k:b:t:M:jp:D:P:", opts, NULL)) != -1) {
		switch (o) {
		case 'm': mod = bh_modality_parse(optarg); break;
		case 'k': k = strtol(optarg, NULL, 10); break;
		case 'b': cfg.backend = optarg; break;
		case 't': cfg.threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'M': cfg.model_dir = optarg; break;
		case 'j': json = 1; break;
		case 'p': pos = strtol(optarg, NULL, 10); break;
		case 'D': cfg.rerank_depth = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'P': ppi = strtol(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (mod < 0 || k < 1 || k > 1000 || pos < 0 || pos > 10 || ppi < 0 || ppi > 4000 ||
	    argc - optind != 2)
		return usage();
	cfg.gallery_path = argv[optind];
	uint8_t *buf;
	size_t len;
	int rc = bh_read_file(argv[optind + 1], 0, &buf, &len);
	if (rc != BH_OK)
		return bh_cli_error("search", rc);
	bh_searcher *s;
	rc = bh_searcher_open(&cfg, &s);
	if (rc != BH_OK) {
		bh_wipe_free(buf, len);
		return bh_cli_error("search: open gallery", rc);
	}
	bh_candidate *c = calloc((size_t)k, sizeof *c);
	uint32_t n = 0;
	bh_search_info info;
	const bh_probe_desc d = {.position = (int)pos, .ppi = (uint32_t)ppi};
	rc = c ? bh_searcher_search_probe(s, mod, &d, buf, len, (uint32_t)k, c, &n, &info)
	       : BH_ENOMEM;
	bh_wipe_free(buf, len);
	if (c)
		audit(s, mod, n, &info, rc);
	if (rc == BH_OK) {
		if (json)
			print_json(c, n, &info, mod);
		else
			print_human(c, n, &info);
	}
	free(c);
	bh_searcher_close(s);
	return rc == BH_OK ? 0 : bh_cli_error("search", rc);
}
