/* cmd_gallery_enroll.c - `biohub gallery enroll`: one subject from raw
 * template files and/or images, or many subjects from a --bulk list.
 *
 * Inputs of one subject (command line, or one line of a bulk file):
 *   code template   --template MOD[:POS][@FORMAT]=FILE   (bulk: MOD[:POS][@FORMAT]=FILE)
 *   full template   --full MOD[:POS]=FILE                (bulk: full:MOD[:POS]=FILE)
 *                   the k-th full of a MOD:POS pairs with the k-th code of it
 *   image           --face IMG, --finger POS=IMG, --palm IMG, --image MOD[:POS]=IMG
 *                   (bulk: image:MOD[:POS]=IMG), turned into a template by the
 *                   modality's extractor (bh_modality_get()->extract); --ppi N
 *                   gives the scan resolution of the finger images (for those
 *                   whose file states none; one that states another is refused)
 *   ANSI/NIST-ITL   --an2k FILE   (bulk: an2k=FILE): one finger template per
 *                   finger position from the transaction's image records or
 *                   Type-9 minutiae (bh_finger_an2k.h), and one face template
 *                   per Type-10 face image (bh_face_an2k.h); records it does
 *                   not use are listed on stderr
 *   ISO/INCITS      --fmr FILE    (bulk: fmr=FILE): one finger template per
 *                   finger position from an ISO/IEC 19794-2:2005/2011 or INCITS
 *                   378-2004/2009 minutiae record (bh_finger_fmr.h); views it
 *                   does not use are listed on stderr
 * FORMAT defaults to the modality's current format (bh_template.h).
 *
 * Bulk file: one subject per line, `REF INPUT...`, whitespace separated;
 * blank lines and lines starting with '#' are skipped; relative paths are
 * relative to the bulk file's directory.  The whole file is parsed (syntax,
 * duplicate references) before anything is written; then each subject is
 * enrolled in its own transaction, so a crash or a failing line never leaves
 * half a subject.  Without --keep-going the first failing subject stops the
 * run (the subjects before it stay enrolled).
 *
 * Every buffer that held template or image bytes is wiped before it is freed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_face_an2k.h"
#include "bh_finger_an2k.h"
#include "bh_finger_fmr.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_modality.h"
#include "bh_template.h"
#include "bh_time.h"
#include "cmd_gallery.h"

#define MAX_ITEMS (2 * BH_GALLERY_MAX_TEMPLATES)
#define CODE_FILE_MAX (64u << 10) /* no code blob is near this */

enum { IT_CODE, IT_FULL, IT_IMAGE, IT_AN2K, IT_FMR };

typedef struct item {
	int kind, modality, position;
	int has_format;
	uint32_t format;
	const char *path; /* points into argv or the bulk buffer */
} item;

typedef struct subject_spec {
	const char *ref;
	item items[MAX_ITEMS];
	size_t n;
	int line; /* bulk line number, 0 for the command line */
} subject_spec;

/* Modality models are opened once per process, on first use. */
typedef struct models {
	const char *dir;
	const bh_modality_ops *ops[BH_MOD_COUNT + 1];
	void *model[BH_MOD_COUNT + 1];
	int ready[BH_MOD_COUNT + 1];
} models;

/* The templates of one subject and every buffer behind them. */
typedef struct built {
	bh_template_rec rec[BH_GALLERY_MAX_TEMPLATES];
	size_t nrec;
	uint8_t *buf[MAX_ITEMS];
	size_t buflen[MAX_ITEMS], nbuf;
	bh_probe_tmpl pt[BH_GALLERY_MAX_TEMPLATES];
	size_t npt;
} built;

static void built_clear(built *b)
{
	for (size_t i = 0; i < b->nbuf; i++)
		bh_wipe_free(b->buf[i], b->buflen[i]);
	for (size_t i = 0; i < b->npt; i++)
		bh_probe_tmpl_clear(&b->pt[i]);
	bh_wipe(b->rec, sizeof b->rec);
	b->nrec = b->nbuf = b->npt = 0;
}

static void models_fini(models *m)
{
	for (int i = 1; i <= BH_MOD_COUNT; i++)
		if (m->ready[i] && m->ops[i]->fini)
			m->ops[i]->fini(m->model[i]);
	memset(m->ready, 0, sizeof m->ready);
}

static int models_get(models *m, int modality, const bh_modality_ops **ops, void **model)
{
	if (!m->ready[modality]) {
		const bh_modality_ops *o = bh_modality_get(modality);
		if (!o || !o->extract)
			return bh_fail(BH_EUNSUPPORTED,
				       "modality %s is not built in (this biohub has no %s extractor; "
				       "enrol raw templates with --template instead)",
				       bh_modality_name(modality), bh_modality_name(modality));
		void *md = NULL;
		int rc = o->init ? o->init(m->dir, &md) : BH_OK;
		if (rc != BH_OK)
			return rc;
		m->ops[modality] = o;
		m->model[modality] = md;
		m->ready[modality] = 1;
	}
	*ops = m->ops[modality];
	*model = m->model[modality];
	return BH_OK;
}

/* "MOD[:POS][@FORMAT]" (spec ends at `end`). */
static int parse_spec(const char *spec, const char *end, int allow_format, item *it)
{
	char mname[16];
	const char *p = spec;
	size_t n = strcspn(p, ":@=");
	if (p + n > end)
		n = (size_t)(end - p);
	if (n == 0 || n >= sizeof mname)
		return bh_fail(BH_EINVAL, "'%.*s': expected MODALITY[:POSITION]", (int)(end - spec), spec);
	memcpy(mname, p, n);
	mname[n] = '\0';
	int m = bh_modality_parse(mname);
	if (m < 0)
		return m;
	it->modality = m;
	it->position = 0;
	p += n;
	if (p < end && *p == ':') {
		char *e;
		long v = strtol(p + 1, &e, 10);
		if (e == p + 1 || v < 0 || v > 10)
			return bh_fail(BH_EINVAL, "'%.*s': position must be 0..10", (int)(end - spec), spec);
		it->position = (int)v;
		p = e;
	}
	if (p < end && *p == '@') {
		if (!allow_format)
			return bh_fail(BH_EINVAL, "'%.*s': a format applies to --template only",
				       (int)(end - spec), spec);
		char *e;
		unsigned long v = strtoul(p + 1, &e, 0);
		if (e == p + 1 || v > UINT32_MAX)
			return bh_fail(BH_EINVAL, "'%.*s': bad format number", (int)(end - spec), spec);
		it->format = (uint32_t)v;
		it->has_format = 1;
		p = e;
	}
	if (p != end)
		return bh_fail(BH_EINVAL, "'%.*s': unexpected '%c'", (int)(end - spec), spec, *p);
	return BH_OK;
}

/* "SPEC=PATH" of `kind`. */
static int parse_item(const char *arg, int kind, subject_spec *s)
{
	if (s->n >= MAX_ITEMS)
		return bh_fail(BH_ETOOBIG, "more than %d inputs for one subject", MAX_ITEMS);
	const char *eq = strchr(arg, '=');
	if (!eq || !eq[1])
		return bh_fail(BH_EINVAL, "'%s': expected MODALITY[:POSITION]=FILE", arg);
	item *it = &s->items[s->n];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	int rc = parse_spec(arg, eq, kind == IT_CODE, it);
	if (rc != BH_OK)
		return rc;
	it->path = eq + 1;
	s->n++;
	return BH_OK;
}

static int add_image(subject_spec *s, int modality, int position, const char *path)
{
	if (s->n >= MAX_ITEMS)
		return bh_fail(BH_ETOOBIG, "more than %d inputs for one subject", MAX_ITEMS);
	s->items[s->n++] = (item){.kind = IT_IMAGE, .modality = modality, .position = position,
				  .path = path};
	return BH_OK;
}

/* --finger POS=IMG */
static int add_finger_image(subject_spec *s, const char *arg)
{
	char *e;
	long pos = strtol(arg, &e, 10);
	if (e == arg || *e != '=' || !e[1] || pos < 0 || pos > 10)
		return bh_fail(BH_EINVAL, "--finger '%s': expected POSITION=IMAGE, position 0..10", arg);
	return add_image(s, BH_MOD_FINGER, (int)pos, e + 1);
}

/* An interchange record of finger templates: IT_AN2K or IT_FMR. */
static int add_record(subject_spec *s, int kind, const char *path)
{
	if (s->n >= MAX_ITEMS)
		return bh_fail(BH_ETOOBIG, "more than %d inputs for one subject", MAX_ITEMS);
	s->items[s->n++] = (item){.kind = kind, .modality = BH_MOD_FINGER, .path = path};
	return BH_OK;
}

static int keep_buf(built *b, uint8_t *p, size_t n)
{
	b->buf[b->nbuf] = p;
	b->buflen[b->nbuf++] = n;
	return BH_OK;
}

static int build_code(built *b, const item *it, int quality)
{
	uint8_t *p;
	size_t n;
	int rc = bh_read_file(it->path, CODE_FILE_MAX, &p, &n);
	if (rc != BH_OK)
		return rc;
	keep_buf(b, p, n);
	b->rec[b->nrec++] = (bh_template_rec){
		.modality = it->modality,
		.position = it->position,
		.format = it->has_format ? it->format : bh_template_format(it->modality),
		.quality = quality,
		.code = p,
		.code_len = n,
	};
	return BH_OK;
}

/* The gallery record of an extracted template (the bytes stay in b->pt). */
static void add_rec(built *b, const bh_probe_tmpl *pt, int modality, int position)
{
	b->rec[b->nrec++] = (bh_template_rec){
		.modality = modality,
		.position = position,
		.format = pt->format,
		.quality = pt->quality,
		.code = pt->code,
		.code_len = pt->code_len,
		.full = pt->full,
		.full_len = pt->full_len,
	};
}

static int build_image(built *b, models *m, const item *it, uint32_t finger_ppi)
{
	const bh_modality_ops *ops = NULL;
	void *model = NULL;
	int rc = models_get(m, it->modality, &ops, &model);
	if (rc != BH_OK)
		return rc;
	bh_image img;
	rc = bh_image_load(it->path, 0, &img);
	if (rc == BH_OK && finger_ppi && it->modality == BH_MOD_FINGER)
		rc = bh_image_declare_ppi(&img, finger_ppi);
	if (rc != BH_OK) {
		bh_image_free(&img);
		return rc;
	}
	bh_probe_tmpl *pt = &b->pt[b->npt];
	memset(pt, 0, sizeof *pt);
	rc = ops->extract(model, &img, pt);
	bh_image_free(&img);
	b->npt++; /* cleared by built_clear whatever happened */
	if (rc != BH_OK) {
		char why[200];
		snprintf(why, sizeof why, "%s", bh_errmsg());
		return bh_fail(rc, "%s: %s", it->path, why);
	}
	if (pt->warning[0])
		fprintf(stderr, "biohub: gallery enroll: %s: %s\n", it->path, pt->warning);
	add_rec(b, pt, it->modality, it->position);
	return BH_OK;
}

#define RECORD_FILE_MAX (256u << 20) /* 1000-ppi palm transactions are tens of MB */

/* The face templates of an ANSI/NIST transaction (its Type-10 face images,
 * bh_face_an2k.h).  An image that gives no template (no face found, an
 * undecodable record) is noted and skipped; *added gets how many did. */
static int build_an2k_faces(built *b, models *m, const item *it, const uint8_t *p, size_t len,
			    size_t *added)
{
	*added = 0;
	size_t count = 0;
	for (size_t i = 0; i == 0 || i < count; i++) {
		bh_image img;
		int rc = bh_face_an2k_image(p, len, i, &img, &count);
		if (rc == BH_ENOFACE || (rc != BH_OK && count == 0)) /* none, or unreadable */
			return rc == BH_ENOFACE ? BH_OK : rc;
		const bh_modality_ops *ops = NULL;
		void *model = NULL;
		if (rc == BH_OK &&
		    (b->nrec >= BH_GALLERY_MAX_TEMPLATES || b->npt >= BH_GALLERY_MAX_TEMPLATES))
			rc = bh_fail(BH_ETOOBIG, "more than %d templates for one subject",
				     BH_GALLERY_MAX_TEMPLATES);
		if (rc == BH_OK)
			rc = models_get(m, BH_MOD_FACE, &ops, &model);
		bh_probe_tmpl *pt = rc == BH_OK ? &b->pt[b->npt] : NULL;
		if (pt) {
			memset(pt, 0, sizeof *pt);
			rc = ops->extract(model, &img, pt);
			if (rc == BH_OK)
				b->npt++; /* cleared by built_clear */
			else
				bh_probe_tmpl_clear(pt); /* the slot is reused */
		}
		bh_image_free(&img);
		if (rc == BH_ETOOBIG || rc == BH_ENOMEM)
			return rc;
		if (rc != BH_OK) {
			fprintf(stderr, "biohub: enroll: %s: not enrolled: face image %zu: %s\n", it->path,
				i + 1, bh_errmsg());
			continue;
		}
		add_rec(b, pt, BH_MOD_FACE, 0);
		++*added;
	}
	return BH_OK;
}

/* The finger templates of an ANSI/NIST transaction or a minutiae record,
 * and the face templates of the transaction. */
static int build_record(built *b, models *m, const item *it)
{
	int (*read)(const uint8_t *, size_t, bh_probe_tmpl *, size_t, size_t *, char *, size_t) =
		it->kind == IT_AN2K ? bh_finger_an2k_enrol : bh_finger_fmr_templates;
	uint8_t *p;
	size_t len, faces = 0;
	int rc = bh_read_file(it->path, RECORD_FILE_MAX, &p, &len);
	if (rc != BH_OK)
		return rc;
	char notes[1024] = "";
	size_t n = 0;
	rc = read(p, len, &b->pt[b->npt], BH_GALLERY_MAX_TEMPLATES - b->nrec, &n, notes, sizeof notes);
	char why[200];
	snprintf(why, sizeof why, "%s", rc == BH_OK ? "" : bh_errmsg()); /* before the faces */
	for (size_t i = 0; rc == BH_OK && i < n; i++, b->npt++)
		add_rec(b, &b->pt[b->npt], b->pt[b->npt].modality, b->pt[b->npt].position);
	int frc = it->kind == IT_AN2K && (rc == BH_OK || rc == BH_ENOFEATURE)
			  ? build_an2k_faces(b, m, it, p, len, &faces)
			  : BH_OK;
	bh_wipe_free(p, len);
	for (char *line = notes, *e; *line; line = e + 1) { /* one note per unused record/view */
		e = strchr(line, '\n');
		if (!e)
			break;
		fprintf(stderr, "biohub: enroll: %s: not enrolled: %.*s\n", it->path, (int)(e - line),
			line);
	}
	if (rc == BH_ENOFEATURE && faces > 0)
		rc = BH_OK; /* a transaction of mugshots only */
	if (rc == BH_OK && frc != BH_OK) {
		rc = frc;
		snprintf(why, sizeof why, "%s", bh_errmsg());
	}
	return rc == BH_OK ? BH_OK : bh_fail(rc, "%s: %s", it->path, why);
}

/* The k-th --full of a MOD:POS goes with the k-th --template of it. */
static int attach_full(built *b, const subject_spec *s, size_t idx, size_t *code_of_item)
{
	const item *it = &s->items[idx];
	size_t k = 0;
	for (size_t i = 0; i < idx; i++)
		k += s->items[i].kind == IT_FULL && s->items[i].modality == it->modality &&
		     s->items[i].position == it->position;
	size_t seen = 0;
	for (size_t i = 0; i < s->n; i++) {
		const item *c = &s->items[i];
		if (c->kind != IT_CODE || c->modality != it->modality || c->position != it->position)
			continue;
		if (seen++ < k)
			continue;
		bh_template_rec *r = &b->rec[code_of_item[i]];
		uint8_t *p;
		size_t n;
		int rc = bh_read_file(it->path, BH_FULL_MAX_BYTES, &p, &n);
		if (rc != BH_OK)
			return rc;
		keep_buf(b, p, n);
		r->full = p;
		r->full_len = n;
		return BH_OK;
	}
	return bh_fail(BH_EINVAL, "full template %s:%d (%s) has no matching code template",
		       bh_modality_name(it->modality), it->position, it->path);
}

static int build_subject(const subject_spec *s, models *m, int quality, uint32_t finger_ppi,
			 built *b)
{
	size_t code_of_item[MAX_ITEMS];
	int rc = BH_OK;
	for (size_t i = 0; rc == BH_OK && i < s->n; i++) {
		if (s->items[i].kind == IT_FULL)
			continue;
		if (b->nrec >= BH_GALLERY_MAX_TEMPLATES)
			return bh_fail(BH_ETOOBIG, "more than %d templates for one subject",
				       BH_GALLERY_MAX_TEMPLATES);
		code_of_item[i] = b->nrec;
		switch (s->items[i].kind) {
		case IT_CODE: rc = build_code(b, &s->items[i], quality); break;
		case IT_AN2K:
		case IT_FMR: rc = build_record(b, m, &s->items[i]); break;
		default: rc = build_image(b, m, &s->items[i], finger_ppi); break;
		}
	}
	for (size_t i = 0; rc == BH_OK && i < s->n; i++)
		if (s->items[i].kind == IT_FULL)
			rc = attach_full(b, s, i, code_of_item);
	return rc;
}

typedef struct enroll_opts {
	const char *gallery, *operator_id, *source, *meta, *bulk;
	int quality, json, keep_going, quiet;
	uint32_t finger_ppi; /* --ppi; 0 = as the images state, else 500 */
	models models;
} enroll_opts;

/* Builds and enrols one subject; prints nothing. */
static int enroll_one(bh_gallery *g, enroll_opts *o, const subject_spec *s, const char *source,
		      int64_t *sid, size_t *nt)
{
	built *b = calloc(1, sizeof *b);
	if (!b)
		return bh_fail(BH_ENOMEM, "out of memory");
	int rc = build_subject(s, &o->models, o->quality, o->finger_ppi, b);
	if (rc == BH_OK) {
		bh_subject_info si = {.external_ref = s->ref,
				      .operator_id = o->operator_id,
				      .source = source,
				      .meta_json = o->meta};
		rc = bh_gallery_enroll(g, &si, b->rec, b->nrec, sid);
		*nt = b->nrec;
	}
	built_clear(b);
	free(b);
	return rc;
}

/* ---- bulk ---------------------------------------------------------------- */

typedef struct bulk {
	char *text; /* the file, tokens NUL-terminated in place */
	size_t len;
	subject_spec *subj;
	size_t n;
	char **paths; /* paths made absolute against the file's directory */
	size_t npaths, cap;
} bulk;

static void bulk_free(bulk *bk)
{
	for (size_t i = 0; i < bk->npaths; i++)
		free(bk->paths[i]);
	free(bk->paths);
	free(bk->subj);
	free(bk->text);
	memset(bk, 0, sizeof *bk);
}

static int bulk_resolve(bulk *bk, const char *dir, item *it)
{
	if (it->path[0] == '/' || !dir)
		return BH_OK;
	if (bk->npaths == bk->cap) { /* geometric growth: bulk lists have 10^6 paths */
		size_t cap = bk->cap ? 2 * bk->cap : 256;
		char **np = realloc(bk->paths, cap * sizeof *np);
		if (!np)
			return bh_fail(BH_ENOMEM, "out of memory");
		bk->paths = np;
		bk->cap = cap;
	}
	size_t n = strlen(dir) + strlen(it->path) + 2;
	char *p = malloc(n);
	if (!p)
		return bh_fail(BH_ENOMEM, "out of memory");
	snprintf(p, n, "%s/%s", dir, it->path);
	bk->paths[bk->npaths++] = p;
	it->path = p;
	return BH_OK;
}

static int bulk_line(bulk *bk, char *line, int lineno, const char *dir)
{
	char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
	if (!tok || tok[0] == '#')
		return BH_OK;
	subject_spec *s = &bk->subj[bk->n];
	memset(s, 0, sizeof *s);
	s->ref = tok;
	s->line = lineno;
	int rc = BH_OK;
	while (rc == BH_OK && (tok = strtok_r(NULL, " \t\r", &save))) {
		if (!strncmp(tok, "full:", 5))
			rc = parse_item(tok + 5, IT_FULL, s);
		else if (!strncmp(tok, "image:", 6))
			rc = parse_item(tok + 6, IT_IMAGE, s);
		else if (!strncmp(tok, "an2k=", 5) && tok[5])
			rc = add_record(s, IT_AN2K, tok + 5);
		else if (!strncmp(tok, "fmr=", 4) && tok[4])
			rc = add_record(s, IT_FMR, tok + 4);
		else
			rc = parse_item(tok, IT_CODE, s);
		if (rc == BH_OK)
			rc = bulk_resolve(bk, dir, &s->items[s->n - 1]);
	}
	if (rc == BH_OK && s->n == 0)
		rc = bh_fail(BH_EINVAL, "subject '%s' has no inputs", s->ref);
	if (rc == BH_OK && strlen(s->ref) > BH_GALLERY_REF_MAX)
		rc = bh_fail(BH_EINVAL, "reference longer than %d bytes", BH_GALLERY_REF_MAX);
	if (rc != BH_OK) {
		char why[200];
		snprintf(why, sizeof why, "%s", bh_errmsg());
		return bh_fail(rc, "line %d: %s", lineno, why);
	}
	bk->n++;
	return BH_OK;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp((*(const subject_spec *const *)a)->ref, (*(const subject_spec *const *)b)->ref);
}

static int bulk_no_duplicates(const bulk *bk)
{
	if (bk->n < 2)
		return BH_OK;
	const subject_spec **v = malloc(bk->n * sizeof *v);
	if (!v)
		return bh_fail(BH_ENOMEM, "out of memory");
	for (size_t i = 0; i < bk->n; i++)
		v[i] = &bk->subj[i];
	qsort(v, bk->n, sizeof *v, cmp_ref);
	int rc = BH_OK;
	for (size_t i = 1; i < bk->n && rc == BH_OK; i++)
		if (!strcmp(v[i - 1]->ref, v[i]->ref))
			rc = bh_fail(BH_EEXIST, "reference '%s' appears twice (lines %d and %d)", v[i]->ref,
				     v[i - 1]->line < v[i]->line ? v[i - 1]->line : v[i]->line,
				     v[i - 1]->line < v[i]->line ? v[i]->line : v[i - 1]->line);
	free(v);
	return rc;
}

static int bulk_parse(const char *path, bulk *bk)
{
	memset(bk, 0, sizeof *bk);
	uint8_t *buf;
	size_t len;
	int rc = bh_read_file(path, 0, &buf, &len);
	if (rc != BH_OK)
		return rc;
	bk->text = realloc(buf, len + 1);
	if (!bk->text) {
		free(buf);
		return bh_fail(BH_ENOMEM, "out of memory");
	}
	bk->text[len] = '\0';
	bk->len = len;
	if (memchr(bk->text, '\0', len))
		return bh_fail(BH_EFORMAT, "%s: NUL byte in a bulk list", path);
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += bk->text[i] == '\n';
	bk->subj = calloc(lines, sizeof *bk->subj);
	if (!bk->subj)
		return bh_fail(BH_ENOMEM, "bulk list of %zu lines", lines);
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (!dir)
		return bh_fail(BH_ENOMEM, "out of memory");
	if (slash)
		*slash = '\0';
	char *line = bk->text;
	for (int no = 1; rc == BH_OK && line; no++) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		rc = bulk_line(bk, line, no, slash ? dir : NULL);
		line = nl ? nl + 1 : NULL;
	}
	free(dir);
	if (rc == BH_OK)
		rc = bulk_no_duplicates(bk);
	return rc;
}

static int run_bulk(enroll_opts *o)
{
	bulk bk;
	bh_errclear();
	int rc = bulk_parse(o->bulk, &bk);
	if (rc != BH_OK) {
		bulk_free(&bk);
		char what[300];
		snprintf(what, sizeof what, "gallery enroll --bulk %s (nothing enrolled)", o->bulk);
		return bh_cli_error(what, rc);
	}
	bh_gallery *g;
	if (gallery_open_cli(o->gallery, 0, &g)) {
		bulk_free(&bk);
		return 1;
	}
	uint64_t t0 = bh_now_ns();
	size_t ok = 0, failed = 0, templates = 0;
	for (size_t i = 0; i < bk.n; i++) {
		const subject_spec *s = &bk.subj[i];
		char source[300];
		snprintf(source, sizeof source, "%s:%d", o->source ? o->source : o->bulk, s->line);
		size_t nt = 0;
		int64_t sid;
		bh_errclear();
		rc = enroll_one(g, o, s, source, &sid, &nt);
		if (rc == BH_OK) {
			ok++;
			templates += nt;
		} else {
			failed++;
			char what[400];
			snprintf(what, sizeof what, "gallery enroll: line %d (%s)", s->line, s->ref);
			bh_cli_error(what, rc);
			if (!o->keep_going)
				break;
		}
		if (!o->quiet && ((i + 1) % 1000 == 0 || i + 1 == bk.n))
			fprintf(stderr, "bulk: %zu/%zu subjects enrolled, %zu failed\n", ok, bk.n, failed);
	}
	double sec = (bh_now_ns() - t0) / 1e9;
	bh_gallery_close(g);
	models_fini(&o->models);
	if (o->json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", o->gallery);
		bh_json_uint(&j, "subjects", bk.n);
		bh_json_uint(&j, "enrolled", ok);
		bh_json_uint(&j, "failed", failed);
		bh_json_uint(&j, "templates", templates);
		bh_json_num(&j, "seconds", sec);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("enrolled %zu of %zu subjects (%zu templates, %zu failed) in %.2f s\n", ok, bk.n,
		       templates, failed, sec);
	}
	bulk_free(&bk);
	return failed ? 1 : 0;
}

/* ---- command line -------------------------------------------------------- */

static int usage(FILE *f)
{
	fputs("usage: biohub gallery enroll GALLERY --ref REF [--operator NAME] [--source TEXT]\n"
	      "         [--meta JSON] [--quality Q] [--models DIR] [--ppi N] [--json]\n"
	      "         [--template MOD[:POS][@FORMAT]=FILE]... [--full MOD[:POS]=FILE]...\n"
	      "         [--face IMG] [--finger POS=IMG]... [--palm IMG] [--image MOD[:POS]=IMG]...\n"
	      "         [--an2k ANSI_NIST_FILE]... [--fmr ISO_INCITS_MINUTIAE_FILE]...\n"
	      "       biohub gallery enroll GALLERY --bulk FILE [--operator NAME] [--keep-going]\n"
	      "         [--quiet] [--models DIR] [--ppi N] [--json]\n"
	      "  bulk FILE: one subject per line: REF MOD[:POS][@FORMAT]=CODEFILE\n"
	      "             full:MOD[:POS]=FULLFILE image:MOD[:POS]=IMG an2k=FILE fmr=FILE ...\n"
	      "  --ppi N: scan resolution of finger images that state none (else 500), 150..4000\n",
	      f);
	return f == stdout ? 0 : 2;
}

static int parse_opts(int argc, char **argv, enroll_opts *o, subject_spec *s)
{
	static const struct option opts[] = {
		{"ref", required_argument, 0, 'r'},      {"operator", required_argument, 0, 'o'},
		{"source", required_argument, 0, 's'},   {"meta", required_argument, 0, 'M'},
		{"quality", required_argument, 0, 'q'},  {"models", required_argument, 0, 'd'},
		{"template", required_argument, 0, 't'}, {"full", required_argument, 0, 'F'},
		{"face", required_argument, 0, 'f'},     {"finger", required_argument, 0, 'g'},
		{"palm", required_argument, 0, 'p'},     {"image", required_argument, 0, 'i'},
		{"bulk", required_argument, 0, 'b'},     {"keep-going", no_argument, 0, 'k'},
		{"quiet", no_argument, 0, 'Q'},          {"json", no_argument, 0, 'j'},
		{"an2k", required_argument, 0, 'a'},     {"help", no_argument, 0, 'h'},
		{"fmr", required_argument, 0, 'm'},      {"ppi", required_argument, 0, 'P'},
		{0, 0, 0, 0}};
	int c, rc = BH_OK;
	int64_t v;
	optind = 0;
	while (rc == BH_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': s->ref = optarg; break;
		case 'o': o->operator_id = optarg; break;
		case 's': o->source = optarg; break;
		case 'M': o->meta = optarg; break;
		case 'd': o->models.dir = optarg; break;
		case 'b': o->bulk = optarg; break;
		case 'k': o->keep_going = 1; break;
		case 'Q': o->quiet = 1; break;
		case 'j': o->json = 1; break;
		case 'q':
			if (gallery_parse_i64("--quality", optarg, -1, 100, &v))
				return 2;
			o->quality = (int)v;
			break;
		case 'P':
			if (gallery_parse_i64("--ppi", optarg, 150, 4000, &v))
				return 2;
			o->finger_ppi = (uint32_t)v;
			break;
		case 't': rc = parse_item(optarg, IT_CODE, s); break;
		case 'F': rc = parse_item(optarg, IT_FULL, s); break;
		case 'i': rc = parse_item(optarg, IT_IMAGE, s); break;
		case 'f': rc = add_image(s, BH_MOD_FACE, 0, optarg); break;
		case 'p': rc = add_image(s, BH_MOD_PALM, 0, optarg); break;
		case 'g': rc = add_finger_image(s, optarg); break;
		case 'a': rc = add_record(s, IT_AN2K, optarg); break;
		case 'm': rc = add_record(s, IT_FMR, optarg); break;
		case 'h': return usage(stdout);
		default: return usage(stderr);
		}
	}
	if (rc != BH_OK) {
		bh_cli_error("gallery enroll", rc);
		return 2;
	}
	if (argc - optind != 1)
		return usage(stderr);
	o->gallery = argv[optind];
	return -1;
}

int gallery_enroll(int argc, char **argv)
{
	enroll_opts o = {.quality = -1};
	subject_spec *s = calloc(1, sizeof *s);
	if (!s)
		return bh_cli_error("gallery enroll", bh_fail(BH_ENOMEM, "out of memory"));
	bh_errclear();
	int ret = parse_opts(argc, argv, &o, s);
	if (ret < 0 && o.bulk && (s->ref || s->n)) {
		fprintf(stderr, "biohub: gallery enroll: --bulk takes no --ref or inputs\n");
		ret = 2;
	} else if (ret < 0 && !o.bulk && (!s->ref || !s->n)) {
		fprintf(stderr, "biohub: gallery enroll: need --ref and at least one input\n");
		ret = usage(stderr);
	}
	if (ret >= 0) {
		free(s);
		return ret;
	}
	if (o.bulk) {
		free(s);
		return run_bulk(&o);
	}
	bh_gallery *g;
	if (gallery_open_cli(o.gallery, 0, &g)) {
		free(s);
		return 1;
	}
	int64_t sid = 0;
	size_t nt = 0;
	bh_errclear();
	int rc = enroll_one(g, &o, s, o.source, &sid, &nt);
	bh_gallery_close(g);
	models_fini(&o.models);
	if (rc != BH_OK) {
		free(s);
		bh_cli_error("gallery enroll", rc);
		fprintf(stderr, "(nothing changed)\n");
		return 1;
	}
	if (o.json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "ref", s->ref);
		bh_json_int(&j, "subject_id", sid);
		bh_json_uint(&j, "templates", nt);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("enrolled %s (subject %" PRId64 ", %zu templates)\n", s->ref, sid, nt);
	}
	free(s);
	return 0;
}
