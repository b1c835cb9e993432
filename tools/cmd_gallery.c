/* cmd_gallery.c - `biohub gallery create|list|show|delete|stats|check`, and
 * the dispatch to enroll (cmd_gallery_enroll.c) and synth
 * (cmd_gallery_synth.c).  Every command takes --json; errors go to stderr
 * with a non-zero exit and leave the gallery unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bh_time.h"
#include "cmd_gallery.h"

int gallery_open_cli(const char *path, unsigned flags, bh_gallery **g)
{
	bh_errclear();
	int rc = bh_gallery_open(path, flags, g);
	if (rc == BH_OK)
		return 0;
	char what[300];
	snprintf(what, sizeof what, "gallery %s", path);
	bh_cli_error(what, rc);
	if (rc == BH_ENOTFOUND)
		fprintf(stderr, "(create it with: biohub gallery create %s)\n", path);
	return 1;
}

int gallery_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "biohub: gallery: %s '%s': expected an integer in %" PRId64 "..%" PRId64 "\n",
			opt, s, min, max);
		return 1;
	}
	*out = v;
	return 0;
}

/* "2026-11-25T06:28:05.123Z" from Unix ms. */
static void fmt_time(int64_t ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03dZ", base, (int)(ms % 1000));
}

/* Parses [--json] GALLERY [ARG]; returns -1 on success, else an exit code. */
static int parse_simple(int argc, char **argv, int nargs, const char *usage, int *json,
			const char **args)
{
	static const struct option opts[] = {{"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	int o;
	optind = 0;
	while ((o = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (o == 'j')
			*json = 1;
		else {
			fprintf(o == 'h' ? stdout : stderr, "usage: %s\n", usage);
			return o == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != nargs) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	for (int i = 0; i < nargs; i++)
		args[i] = argv[optind + i];
	return -1;
}

static int gallery_create(int argc, char **argv)
{
	const char *a[1];
	int json = 0;
	int rc = parse_simple(argc, argv, 1, "biohub gallery create GALLERY [--json]", &json, a);
	if (rc >= 0)
		return rc;
	struct stat sb;
	if (stat(a[0], &sb) == 0) {
		fprintf(stderr, "biohub: gallery create: '%s' already exists (nothing changed)\n", a[0]);
		return 1;
	}
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_CREATE, &g))
		return 1;
	bh_gallery_close(g);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", a[0]);
		bh_json_bool(&j, "created", 1);
		bh_json_int(&j, "schema_version", BH_GALLERY_SCHEMA_VERSION);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("created gallery %s (schema version %d)\n", a[0], BH_GALLERY_SCHEMA_VERSION);
	}
	return 0;
}

typedef struct list_ctx {
	int json;
	bh_json *j;
	int64_t n;
} list_ctx;

static int list_row(void *ctx, const bh_subject_row *s)
{
	list_ctx *c = ctx;
	char when[40];
	fmt_time(s->created, when, sizeof when);
	if (c->json) {
		bh_json_obj(c->j, NULL);
		bh_json_int(c->j, "id", s->id);
		bh_json_str(c->j, "ref", s->external_ref);
		bh_json_int(c->j, "templates", s->n_templates);
		bh_json_bool(c->j, "synthetic", s->synthetic);
		bh_json_str(c->j, "created", when);
		bh_json_end(c->j);
	} else {
		printf("%-10" PRId64 " %-40s %9" PRId64 " %9s  %s\n", s->id, s->external_ref,
		       s->n_templates, s->synthetic ? "yes" : "no", when);
	}
	c->n++;
	return 0;
}

static int gallery_list(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, 0, 'j'},
					     {"limit", required_argument, 0, 'l'},
					     {"offset", required_argument, 0, 'o'},
					     {0, 0, 0, 0}};
	const char *usage = "usage: biohub gallery list GALLERY [--limit N] [--offset N] [--json]\n";
	int json = 0, o;
	int64_t limit = -1, offset = 0;
	optind = 0;
	while ((o = getopt_long(argc, argv, "jl:o:", opts, NULL)) != -1) {
		if (o == 'j')
			json = 1;
		else if (o == 'l' && !gallery_parse_i64("--limit", optarg, 0, INT64_MAX, &limit))
			continue;
		else if (o == 'o' && !gallery_parse_i64("--offset", optarg, 0, INT64_MAX, &offset))
			continue;
		else
			return fputs(usage, stderr), 2;
	}
	if (argc - optind != 1)
		return fputs(usage, stderr), 2;
	bh_gallery *g;
	if (gallery_open_cli(argv[optind], BH_GALLERY_READONLY, &g))
		return 1;
	bh_json j;
	list_ctx c = {.json = json, .j = &j};
	if (json) {
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", argv[optind]);
		bh_json_arr(&j, "subjects");
	} else {
		printf("%-10s %-40s %9s %9s  %s\n", "id", "ref", "templates", "synthetic", "created");
	}
	bh_errclear();
	int rc = bh_gallery_list(g, offset, limit, list_row, &c);
	if (json) {
		bh_json_end(&j);
		bh_json_int(&j, "count", c.n);
		bh_json_end(&j);
		bh_json_newline(&j);
	}
	bh_gallery_close(g);
	return rc == BH_OK ? 0 : bh_cli_error("gallery list", rc);
}

static void show_json(const bh_subject_detail *d)
{
	char when[40];
	bh_json j;
	bh_json_init(&j, stdout);
	bh_json_obj(&j, NULL);
	bh_json_int(&j, "id", d->id);
	bh_json_str(&j, "ref", d->external_ref);
	fmt_time(d->created, when, sizeof when);
	bh_json_str(&j, "created", when);
	bh_json_bool(&j, "synthetic", d->synthetic);
	bh_json_str(&j, "meta", d->meta_json); /* as a string: never re-parsed here */
	bh_json_arr(&j, "templates");
	for (size_t i = 0; i < d->n_templates; i++) {
		const bh_template_row *t = &d->templates[i];
		char fmt[16];
		snprintf(fmt, sizeof fmt, "0x%04x", (unsigned)t->format);
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "id", t->id);
		bh_json_str(&j, "modality", bh_modality_name(t->modality));
		bh_json_int(&j, "position", t->position);
		bh_json_str(&j, "format", fmt);
		bh_json_int(&j, "quality", t->quality);
		bh_json_uint(&j, "code_bytes", t->code_len);
		bh_json_uint(&j, "full_bytes", t->full_len);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_arr(&j, "enrolments");
	for (size_t i = 0; i < d->n_enrolments; i++) {
		const bh_enrolment_row *e = &d->enrolments[i];
		fmt_time(e->created, when, sizeof when);
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "id", e->id);
		bh_json_str(&j, "operator", e->operator_id);
		bh_json_str(&j, "source", e->source);
		bh_json_str(&j, "created", when);
		bh_json_int(&j, "n_templates", e->n_templates);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_end(&j);
	bh_json_newline(&j);
}

static void show_human(const bh_subject_detail *d)
{
	char when[40];
	fmt_time(d->created, when, sizeof when);
	printf("subject %s (id %" PRId64 ")%s, created %s\n", d->external_ref, d->id,
	       d->synthetic ? ", synthetic" : "", when);
	if (d->meta_json)
		printf("meta: %s\n", d->meta_json);
	printf("%-10s %-8s %8s %8s %8s %10s %10s\n", "template", "modality", "position", "format",
	       "quality", "code_bytes", "full_bytes");
	for (size_t i = 0; i < d->n_templates; i++) {
		const bh_template_row *t = &d->templates[i];
		printf("%-10" PRId64 " %-8s %8d   0x%04x %8d %10zu %10zu\n", t->id,
		       bh_modality_name(t->modality) ? bh_modality_name(t->modality) : "?",
		       t->position, (unsigned)t->format, t->quality, t->code_len, t->full_len);
	}
	for (size_t i = 0; i < d->n_enrolments; i++) {
		const bh_enrolment_row *e = &d->enrolments[i];
		fmt_time(e->created, when, sizeof when);
		printf("enrolled %s by %s from %s (%" PRId64 " templates)\n", when,
		       e->operator_id ? e->operator_id : "-", e->source ? e->source : "-",
		       e->n_templates);
	}
}

static int gallery_show(int argc, char **argv)
{
	const char *a[2];
	int json = 0;
	int rc = parse_simple(argc, argv, 2, "biohub gallery show GALLERY REF [--json]", &json, a);
	if (rc >= 0)
		return rc;
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_READONLY, &g))
		return 1;
	bh_subject_detail d;
	bh_errclear();
	rc = bh_gallery_subject_get(g, a[1], &d);
	bh_gallery_close(g);
	if (rc != BH_OK)
		return bh_cli_error("gallery show", rc);
	if (json)
		show_json(&d);
	else
		show_human(&d);
	bh_gallery_subject_detail_free(&d);
	return 0;
}

static int gallery_delete(int argc, char **argv)
{
	const char *a[2];
	int json = 0;
	int rc = parse_simple(argc, argv, 2, "biohub gallery delete GALLERY REF [--json]", &json, a);
	if (rc >= 0)
		return rc;
	bh_gallery *g;
	if (gallery_open_cli(a[0], 0, &g))
		return 1;
	bh_errclear();
	rc = bh_gallery_delete(g, a[1]);
	bh_gallery_close(g);
	if (rc != BH_OK)
		return bh_cli_error("gallery delete", rc);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "deleted", a[1]);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("deleted subject %s and its templates\n", a[1]);
	}
	return 0;
}

static int gallery_stats(int argc, char **argv)
{
	const char *a[1];
	int json = 0;
	int rc = parse_simple(argc, argv, 1, "biohub gallery stats GALLERY [--json]", &json, a);
	if (rc >= 0)
		return rc;
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_READONLY, &g))
		return 1;
	bh_gallery_stats st;
	bh_errclear();
	rc = bh_gallery_get_stats(g, &st);
	bh_gallery_close(g);
	if (rc != BH_OK)
		return bh_cli_error("gallery stats", rc);
	int64_t bytes = st.page_size * st.page_count;
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", a[0]);
		bh_json_int(&j, "schema_version", st.schema_version);
		bh_json_int(&j, "subjects", st.subjects);
		bh_json_int(&j, "synthetic_subjects", st.synthetic_subjects);
		bh_json_int(&j, "enrolments", st.enrolments);
		bh_json_obj(&j, "templates");
		bh_json_int(&j, "total", st.templates[0]);
		for (int m = 1; m <= BH_MOD_COUNT; m++)
			bh_json_int(&j, bh_modality_name(m), st.templates[m]);
		bh_json_int(&j, "with_full", st.full_templates);
		bh_json_end(&j);
		bh_json_int(&j, "audit_rows", st.audit_rows);
		bh_json_int(&j, "database_bytes", bytes);
		bh_json_int(&j, "free_pages", st.freelist_pages);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("gallery %s (schema version %d, %.1f MiB)\n", a[0], st.schema_version,
		       bytes / 1048576.0);
		printf("subjects   %" PRId64 " (%" PRId64 " synthetic), enrolments %" PRId64 "\n",
		       st.subjects, st.synthetic_subjects, st.enrolments);
		printf("templates  %" PRId64 ": face %" PRId64 ", finger %" PRId64 ", palm %" PRId64
		       "; %" PRId64 " with a full part\n",
		       st.templates[0], st.templates[BH_MOD_FACE], st.templates[BH_MOD_FINGER],
		       st.templates[BH_MOD_PALM], st.full_templates);
		printf("audit rows %" PRId64 "\n", st.audit_rows);
	}
	return 0;
}

static int gallery_check(int argc, char **argv)
{
	const char *a[1];
	int json = 0;
	int rc = parse_simple(argc, argv, 1, "biohub gallery check GALLERY [--json]", &json, a);
	if (rc >= 0)
		return rc;
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_READONLY, &g))
		return 1;
	unsigned mode = 0; /* before the check, whose message "problem" reports */
	int shared = bh_gallery_open_to_others(a[0], &mode) == 1;
	bh_errclear();
	rc = bh_gallery_check(g, 1);
	bh_template_census c = {0};
	if (rc == BH_OK)
		rc = bh_gallery_check_templates(g, &c);
	bh_gallery_close(g);
	if (shared)
		fprintf(stderr, "biohub gallery check: warning: %s is open to group or others "
				"(mode %04o); chmod 600 it\n", a[0], mode);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", a[0]);
		bh_json_bool(&j, "ok", rc == BH_OK);
		bh_json_bool(&j, "owner_only", !shared);
		bh_json_int(&j, "templates_checked", c.checked);
		bh_json_int(&j, "templates_invalid", c.bad);
		bh_json_int(&j, "finger_without_field", c.finger_no_field);
		bh_json_str(&j, "problem", rc == BH_OK ? NULL : bh_errmsg());
		bh_json_end(&j);
		bh_json_newline(&j);
	}
	if (rc != BH_OK)
		return bh_cli_error("gallery check", rc);
	if (!json) {
		printf("gallery %s: ok (integrity, foreign keys, complete subjects, %lld templates valid)\n", a[0],
		       (long long)c.checked);
		if (c.finger_no_field)
			printf("note: %lld finger templates have no orientation field (enrolled before "
			       "2026-12-08, or minutiae from a record): they are compared by MCC alone, "
			       "whose impostor scores run higher; re-enrol them from images\n",
			       (long long)c.finger_no_field);
	}
	return 0;
}

/* A compacted copy with the current page size (bh_gallery_copy). */
static int gallery_copy(int argc, char **argv)
{
	const char *a[2];
	int json = 0;
	int rc = parse_simple(argc, argv, 2, "biohub gallery copy GALLERY NEW_FILE [--json]", &json, a);
	if (rc >= 0)
		return rc;
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_READONLY, &g))
		return 1;
	bh_errclear();
	uint64_t t0 = bh_now_ns();
	rc = bh_gallery_copy(g, a[1]);
	double s = (bh_now_ns() - t0) / 1e9;
	bh_gallery_close(g);
	if (rc != BH_OK)
		return bh_cli_error("gallery copy", rc);
	struct stat a0, a1;
	int64_t b0 = stat(a[0], &a0) == 0 ? (int64_t)a0.st_size : -1;
	int64_t b1 = stat(a[1], &a1) == 0 ? (int64_t)a1.st_size : -1;
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", a[0]);
		bh_json_str(&j, "copy", a[1]);
		bh_json_int(&j, "bytes", b0);
		bh_json_int(&j, "copy_bytes", b1);
		bh_json_int(&j, "copy_page_size", BH_GALLERY_PAGE_SIZE);
		bh_json_num(&j, "seconds", s);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("copied %s (%.1f MiB) to %s (%.1f MiB, %d-byte pages, checked) in %.2f s\n",
		       a[0], b0 / 1048576.0, a[1], b1 / 1048576.0, BH_GALLERY_PAGE_SIZE, s);
	}
	return 0;
}

/* Anchor for `load`: a sequential read() of the whole gallery file, the
 * floor any loader that must touch every page would pay on this machine. */
static double read_file_seconds(const char *path, int64_t *bytes)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t cap = 1u << 20;
	char *buf = malloc(cap);
	uint64_t t0 = bh_now_ns();
	ssize_t n;
	*bytes = 0;
	while (buf && (n = read(fd, buf, cap)) > 0)
		*bytes += n;
	double sec = (bh_now_ns() - t0) / 1e9;
	free(buf);
	close(fd);
	return sec;
}

/* `load`: what biohubd does at start (open + validate, pack every modality),
 * timed, next to a plain sequential read of the same file. */
static int gallery_load(int argc, char **argv)
{
	const char *a[1];
	int json = 0;
	int rc = parse_simple(argc, argv, 1, "biohub gallery load GALLERY [--json]", &json, a);
	if (rc >= 0)
		return rc;
	rc = BH_OK;
	int64_t file_bytes = 0;
	double read_s = read_file_seconds(a[0], &file_bytes);
	uint64_t t0 = bh_now_ns();
	bh_gallery *g;
	if (gallery_open_cli(a[0], BH_GALLERY_READONLY, &g))
		return 1;
	double open_s = (bh_now_ns() - t0) / 1e9, total_s = 0;
	bh_json j;
	if (json) {
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", a[0]);
		bh_json_int(&j, "file_bytes", file_bytes);
		bh_json_num(&j, "file_read_s", read_s);
		bh_json_num(&j, "open_validate_s", open_s);
		bh_json_arr(&j, "modalities");
	} else {
		printf("gallery %s: %.1f MiB; sequential read %.3f s; open+validate %.3f s\n", a[0],
		       file_bytes / 1048576.0, read_s, open_s);
		printf("%-8s %10s %12s %9s %12s\n", "modality", "templates", "packed_MiB", "load_s",
		       "rows_per_s");
	}
	for (int m = 1; m <= BH_MOD_COUNT && rc == BH_OK; m++) {
		bh_gallery_pack p;
		uint64_t t1 = bh_now_ns();
		bh_errclear();
		rc = bh_gallery_pack_load(g, m, &p);
		double s = (bh_now_ns() - t1) / 1e9;
		if (rc != BH_OK)
			break;
		total_s += s;
		double mib = p.n * p.shard.stride / 1048576.0;
		if (json) {
			bh_json_obj(&j, NULL);
			bh_json_str(&j, "modality", bh_modality_name(m));
			bh_json_uint(&j, "templates", p.n);
			bh_json_uint(&j, "packed_bytes", p.n * p.shard.stride);
			bh_json_num(&j, "load_s", s);
			bh_json_num(&j, "rows_per_s", s > 0 ? p.n / s : 0);
			bh_json_end(&j);
		} else {
			printf("%-8s %10zu %12.1f %9.3f %12.0f\n", bh_modality_name(m), p.n, mib, s,
			       s > 0 ? p.n / s : 0);
		}
		bh_gallery_pack_free(&p);
	}
	/* the same packs in one pass (bh_gallery_pack_load_all) */
	double all_s = 0;
	if (rc == BH_OK) {
		bh_gallery_pack all[BH_MOD_COUNT + 1];
		uint64_t t1 = bh_now_ns();
		bh_errclear();
		rc = bh_gallery_pack_load_all(g, all);
		all_s = (bh_now_ns() - t1) / 1e9;
		for (int m = 1; rc == BH_OK && m <= BH_MOD_COUNT; m++)
			bh_gallery_pack_free(&all[m]);
	}
	bh_gallery_close(g);
	if (json) {
		bh_json_end(&j);
		bh_json_num(&j, "load_all_one_pass_s", all_s);
		bh_json_num(&j, "load_total_s", total_s);
		bh_json_num(&j, "ratio_vs_file_read", read_s > 0 ? total_s / read_s : 0);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else if (rc == BH_OK) {
		printf("pack load total %.3f s = %.2fx the sequential read of the file\n", total_s,
		       read_s > 0 ? total_s / read_s : 0);
		printf("all modalities in one pass %.3f s = %.2fx the sequential read\n", all_s,
		       read_s > 0 ? all_s / read_s : 0);
	}
	return rc == BH_OK ? 0 : bh_cli_error("gallery load", rc);
}

static const bh_cmd gallery_commands[] = {
	{"create", gallery_create, "create an empty gallery file"},
	{"enroll", gallery_enroll, "enrol a subject (templates or images), or --bulk FILE"},
	{"list", gallery_list, "list subjects"},
	{"show", gallery_show, "show one subject (metadata, template sizes; never bytes)"},
	{"delete", gallery_delete, "delete a subject and its templates (secure delete)"},
	{"stats", gallery_stats, "counts per modality, size"},
	{"check", gallery_check, "integrity and completeness check"},
	{"synth", gallery_synth, "write synthetic subjects for scale tests"},
	{"load", gallery_load, "time the start-up load (validate + pack every modality)"},
	{"copy", gallery_copy, "compacted, checked copy with the current page size (8 KiB)"},
	{NULL, NULL, NULL},
};

int cmd_gallery(int argc, char **argv)
{
	return bh_cli_dispatch("biohub gallery", gallery_commands, argc, argv);
}
