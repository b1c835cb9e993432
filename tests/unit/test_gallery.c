/* test_gallery.c - the SQLite gallery store: schema and pragmas, enrolment
 * and its bad-input paths (each leaves the database unchanged), delete with
 * secure_delete, packed loading, audit, and refusing foreign or corrupt files
 * without modifying them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "bh_err.h"
#include "bh_gallery.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_minutiae.h"
#include "bh_palm.h"
#include "bh_template.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/bh_test_gallery.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/g.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[160];
	const char *sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

typedef struct blob {
	uint8_t *p;
	size_t n;
} blob;

static blob read_all(const char *p)
{
	blob b = {0};
	FILE *f = fopen(p, "rb");
	if (!f)
		return b;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(n > 0 ? (size_t)n : 1);
	b.n = fread(b.p, 1, (size_t)(n > 0 ? n : 0), f);
	fclose(f);
	return b;
}

static void write_all(const char *p, const void *d, size_t n)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static int same_file(const char *p, const blob *b)
{
	blob c = read_all(p);
	int same = c.n == b->n && (b->n == 0 || !memcmp(c.p, b->p, b->n));
	free(c.p);
	return same;
}

static int contains(const blob *hay, const void *needle, size_t n)
{
	return hay->n >= n && memmem(hay->p, hay->n, needle, n) != NULL;
}

static int64_t sql_int(const char *p, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *p, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Deterministic template blobs: code bytes derived from a seed; a finger's
 * full part is a real MCC blob (bh_template_check validates it) built from
 * seeded random minutiae, other full parts are seeded bytes. */
typedef struct tmpl {
	uint8_t code[BH_PALM_CODE_BITS / 8];
	uint8_t full[16384];
	size_t full_len;
	bh_template_rec rec;
} tmpl;

/* with_field: the template carries an orientation field (every 8-px block
 * foreground, 30 degrees); else none, as from a minutiae record. */
static size_t make_mcc(uint32_t *x, uint8_t *out, size_t cap, int with_field)
{
	bh_minutia m[12];
	for (size_t i = 0; i < 12; i++) {
		*x = *x * 1103515245u + 12345u;
		m[i] = (bh_minutia){.x = 40.0f + (float)(*x >> 16 & 255), .y = 40.0f + (float)(*x >> 8 & 255),
				    .theta = (float)(*x % 628) / 100.0f, .type = 1 + (*x >> 30 & 1),
				    .quality = 60};
	}
	enum { B = 400 / BH_FP_BLOCK };
	static uint8_t fg[B * B];
	static float orient[B * B];
	memset(fg, 1, sizeof fg);
	for (size_t i = 0; i < B * B; i++)
		orient[i] = 0.5236f;
	bh_fp_features f = {.w = 400, .h = 400, .bw = B, .bh = B, .fg = fg, .n = 12, .m = m, .quality = 60,
			    .orient = with_field ? orient : NULL};
	uint8_t *blob;
	size_t len;
	assert_int_equal(bh_mcc_build(&f, &blob, &len), BH_OK);
	assert_true(len <= cap);
	memcpy(out, blob, len);
	free(blob);
	return len;
}

static void make_tmpl(tmpl *t, int modality, int position, unsigned seed, int with_full)
{
	uint32_t x = seed * 2654435761u + 12345u;
	for (size_t i = 0; i < sizeof t->code; i++) {
		x = x * 1103515245u + 12345u;
		t->code[i] = (uint8_t)(x >> 16);
	}
	t->full_len = 3000;
	for (size_t i = 0; i < t->full_len; i++) {
		x = x * 1103515245u + 12345u;
		t->full[i] = (uint8_t)(x >> 16);
	}
	if (modality == BH_MOD_FINGER)
		t->full_len = make_mcc(&x, t->full, sizeof t->full, 0);
	if (modality == BH_MOD_PALM) { /* valid orientation codes: the 3 planes equal (000/111) */
		t->full_len = BH_PALM_FULL_BYTES;
		memcpy(t->full, "BHP1\x01\x06\x40\x00", 8);
		for (size_t i = 0; i < BH_PALM_GRID * 8; i++)
			for (int pl = 0; pl < BH_PALM_PLANES; pl++)
				t->full[8 + pl * BH_PALM_GRID * 8 + i] = t->full[8 + i];
	}
	uint32_t fmt = bh_template_format(modality);
	t->rec = (bh_template_rec){
		.modality = modality,
		.position = position,
		.format = fmt,
		.quality = 50,
		.code = t->code,
		.code_len = bh_template_code_bytes(fmt),
		.full = with_full ? t->full : NULL,
		.full_len = with_full ? t->full_len : 0,
	};
}

/* Permission bits of P, or -1 when it does not exist. */
static int file_mode(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static bh_gallery *create(void)
{
	bh_gallery *g = NULL;
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_CREATE, &g), BH_OK);
	assert_non_null(g);
	return g;
}

static int64_t enroll_simple(bh_gallery *g, const char *ref, unsigned seed)
{
	tmpl t[2];
	make_tmpl(&t[0], BH_MOD_FACE, 0, seed, 0);
	make_tmpl(&t[1], BH_MOD_FINGER, 1 + seed % 10, seed + 1000, 1);
	bh_template_rec r[2] = {t[0].rec, t[1].rec};
	bh_subject_info si = {.external_ref = ref, .operator_id = "op1", .source = "unit"};
	int64_t id = 0;
	assert_int_equal(bh_gallery_enroll(g, &si, r, 2, &id), BH_OK);
	assert_true(id > 0);
	return id;
}

static int64_t count_rows(bh_gallery *g, int which)
{
	bh_gallery_stats st;
	assert_int_equal(bh_gallery_get_stats(g, &st), BH_OK);
	switch (which) {
	case 0: return st.subjects;
	case 1: return st.templates[0];
	default: return st.enrolments;
	}
}

/* ---- tests --------------------------------------------------------------- */

static void test_create_schema_pragmas(void **state)
{
	(void)state;
	bh_gallery *g = NULL;
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_ENOTFOUND);
	assert_null(g);
	assert_int_equal(access(path, F_OK), -1); /* not created without CREATE */
	/* Owner-only, whatever the umask, and so are SQLite's side files. */
	mode_t old_mask = umask(0);
	g = create();
	umask(old_mask);
	char wal[180];
	snprintf(wal, sizeof wal, "%s-wal", path);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(file_mode(wal), 0600);
	unsigned mode = 0;
	assert_int_equal(bh_gallery_open_to_others(path, &mode), 0);
	assert_int_equal(mode, 0600);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(bh_gallery_open_to_others(path, &mode), 1);
	assert_int_equal(mode, 0640);
	assert_int_equal(chmod(path, 0600), 0);
	char missing[180];
	snprintf(missing, sizeof missing, "%s/missing.db", dir);
	assert_int_equal(bh_gallery_open_to_others(missing, NULL), BH_EIO);
	bh_gallery_close(g);
	assert_int_equal(sql_int(path, "PRAGMA application_id"), (int64_t)BH_GALLERY_APP_ID);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), BH_GALLERY_SCHEMA_VERSION);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE type='table'"), 4);
	assert_int_equal(sql_int(path, "PRAGMA page_size"), BH_GALLERY_PAGE_SIZE);
	/* WAL is persistent in the file header (read/write version 2). */
	blob b = read_all(path);
	assert_true(b.n >= 100);
	assert_int_equal(b.p[18], 2);
	assert_int_equal(b.p[19], 2);
	free(b.p);
	/* Reopen (validated path) works, read-only too. */
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_OK);
	bh_gallery_close(g);
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_OK);
	bh_gallery_stats st;
	assert_int_equal(bh_gallery_get_stats(g, &st), BH_OK);
	assert_int_equal(st.schema_version, BH_GALLERY_SCHEMA_VERSION);
	assert_int_equal(st.subjects, 0);
	assert_int_equal(bh_gallery_check(g, 1), BH_OK);
	bh_gallery_close(g);
	/* A file CREATE made is removed when the open fails (here the WAL file
	 * cannot be made: a directory holds its name). */
	char other[180], other_wal[190];
	snprintf(other, sizeof other, "%s/h.db", dir);
	snprintf(other_wal, sizeof other_wal, "%s-wal", other);
	assert_int_equal(mkdir(other_wal, 0700), 0);
	assert_int_not_equal(bh_gallery_open(other, BH_GALLERY_CREATE, &g), BH_OK);
	assert_null(g);
	assert_int_equal(access(other, F_OK), -1);
	assert_int_equal(rmdir(other_wal), 0);
	/* Bad arguments. */
	assert_int_equal(bh_gallery_open(NULL, 0, &g), BH_EINVAL);
	assert_int_equal(bh_gallery_open("", 0, &g), BH_EINVAL);
	assert_int_equal(bh_gallery_open(dir, 0, &g), BH_EDB); /* a directory */
}

static void test_enroll_show_pack(void **state)
{
	(void)state;
	bh_gallery *g = create();
	int64_t a = enroll_simple(g, "A-1", 1);
	int64_t b = enroll_simple(g, "B-2", 2);
	assert_true(b > a);
	/* a palm-only subject */
	tmpl p;
	make_tmpl(&p, BH_MOD_PALM, 0, 77, 1);
	bh_subject_info si = {.external_ref = "C-3", .meta_json = "{\"k\":1}"};
	int64_t c;
	assert_int_equal(bh_gallery_enroll(g, &si, &p.rec, 1, &c), BH_OK);

	char ref[8];
	assert_int_equal(bh_gallery_subject_ref(g, b, ref, sizeof ref), BH_OK);
	assert_string_equal(ref, "B-2");
	assert_int_equal(bh_gallery_subject_ref(g, a, ref, 2), BH_OK); /* truncated */
	assert_string_equal(ref, "A");
	int64_t id;
	assert_int_equal(bh_gallery_subject_find(g, "C-3", &id), BH_OK);
	assert_int_equal(id, c);

	bh_subject_detail d;
	assert_int_equal(bh_gallery_subject_get(g, "B-2", &d), BH_OK);
	assert_int_equal(d.id, b);
	assert_int_equal(d.n_templates, 2);
	assert_int_equal(d.templates[0].modality, BH_MOD_FACE);
	assert_int_equal(d.templates[0].code_len, BH_FACE_DIM);
	assert_int_equal(d.templates[0].full_len, 0);
	assert_int_equal(d.templates[1].modality, BH_MOD_FINGER);
	assert_int_equal(d.templates[1].position, 3);
	tmpl tc;
	make_tmpl(&tc, BH_MOD_FINGER, 3, 1002, 1);
	assert_int_equal(d.templates[1].full_len, tc.full_len);
	assert_int_equal(d.n_enrolments, 1);
	assert_int_equal(d.enrolments[0].n_templates, 2);
	assert_string_equal(d.enrolments[0].operator_id, "op1");
	assert_null(d.meta_json);
	bh_gallery_subject_detail_free(&d);
	assert_int_equal(bh_gallery_subject_get(g, "C-3", &d), BH_OK);
	assert_string_equal(d.meta_json, "{\"k\":1}");
	assert_null(d.enrolments[0].operator_id);
	bh_gallery_subject_detail_free(&d);

	/* Full template round trip. */
	void *full;
	size_t flen;
	assert_int_equal(bh_gallery_subject_get(g, "A-1", &d), BH_OK);
	assert_int_equal(bh_gallery_template_full(g, d.templates[1].id, &full, &flen), BH_OK);
	tmpl ta;
	make_tmpl(&ta, BH_MOD_FINGER, 2, 1001, 1);
	assert_int_equal(flen, ta.full_len);
	assert_memory_equal(full, ta.full, flen);
	free(full);
	assert_int_equal(bh_gallery_template_full(g, d.templates[0].id, &full, &flen), BH_OK);
	assert_null(full); /* face: no full part */
	assert_int_equal(flen, 0);
	bh_gallery_subject_detail_free(&d);

	/* Packs: rows in template id order, 64-aligned, padding zero. */
	bh_gallery_pack pk;
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FINGER, &pk), BH_OK);
	assert_int_equal(pk.n, 2);
	assert_int_equal(pk.shard.kernel, BH_KERNEL_HAMMING);
	assert_int_equal(pk.shard.dim, BH_FINGER_CODE_BITS);
	assert_int_equal(pk.shard.stride, 64);
	assert_int_equal((uintptr_t)pk.data % 64, 0);
	assert_true(pk.ids[0] < pk.ids[1]);
	assert_int_equal(pk.subject[0], a);
	assert_int_equal(pk.subject[1], b);
	assert_int_equal(pk.position[0], 2);
	const uint8_t *row1 = (const uint8_t *)pk.data + 64;
	tmpl tb;
	make_tmpl(&tb, BH_MOD_FINGER, 3, 1002, 1);
	assert_memory_equal(row1, tb.code, 32);
	for (int i = 32; i < 64; i++)
		assert_int_equal(row1[i], 0);
	/* Subsets by position (A is finger 2, B finger 3): the rows of the
	 * position, copied with their ids in order, packed (32-byte rows). */
	bh_gallery_pack sub;
	assert_int_equal(bh_gallery_pack_subset(&pk, 3, &sub), BH_OK);
	assert_int_equal(sub.n, 1);
	assert_int_equal(sub.shard.n, 1);
	assert_int_equal(sub.shard.stride, 32);
	assert_int_equal(bh_shard_check(&sub.shard), BH_OK);
	assert_int_equal((uintptr_t)sub.shard.data % 64, 0);
	assert_int_equal(sub.ids[0], pk.ids[1]);
	assert_ptr_equal(sub.shard.ids, sub.ids);
	assert_int_equal(sub.subject[0], b);
	assert_memory_equal(sub.data, row1, 32);
	bh_gallery_pack_free(&sub);
	assert_int_equal(bh_gallery_pack_subset(&pk, 7, &sub), BH_OK);
	assert_int_equal(sub.n, 0);
	bh_gallery_pack_free(&sub);
	pk.position[0] = 0; /* unknown position: in every subset */
	assert_int_equal(bh_gallery_pack_subset(&pk, 3, &sub), BH_OK);
	assert_int_equal(sub.n, 2);
	assert_true(sub.ids[0] < sub.ids[1]);
	assert_memory_equal(sub.data, pk.data, 32);
	assert_memory_equal((uint8_t *)sub.data + 32, row1, 32);
	bh_gallery_pack_free(&sub);
	bh_gallery_pack_free(&pk);
	assert_null(pk.data);
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FACE, &pk), BH_OK);
	assert_int_equal(pk.n, 2);
	assert_int_equal(pk.shard.kernel, BH_KERNEL_DOT_I8);
	assert_int_equal(pk.shard.stride, 128);
	bh_gallery_pack_free(&pk);
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_PALM, &pk), BH_OK);
	assert_int_equal(pk.n, 1);
	assert_int_equal(pk.shard.stride, bh_round_up(BH_PALM_CODE_BITS / 8, 64));
	assert_int_equal(pk.subject[0], c);
	bh_gallery_pack_free(&pk);
	assert_int_equal(bh_gallery_pack_load(g, 9, &pk), BH_EINVAL);
	/* One-pass load of every modality: the same packs. */
	bh_gallery_pack all[BH_MOD_COUNT + 1];
	assert_int_equal(bh_gallery_pack_load_all(g, all), BH_OK);
	assert_null(all[0].data);
	for (int m = 1; m <= BH_MOD_COUNT; m++) {
		assert_int_equal(bh_gallery_pack_load(g, m, &pk), BH_OK);
		assert_int_equal(all[m].n, pk.n);
		assert_int_equal(all[m].shard.n, pk.shard.n);
		assert_int_equal(all[m].shard.stride, pk.shard.stride);
		assert_int_equal(all[m].shard.kernel, pk.shard.kernel);
		assert_int_equal(all[m].shard.dim, pk.shard.dim);
		assert_ptr_equal(all[m].shard.data, all[m].data);
		assert_memory_equal(all[m].data, pk.data, pk.n * pk.shard.stride);
		assert_memory_equal(all[m].ids, pk.ids, pk.n * sizeof *pk.ids);
		assert_memory_equal(all[m].subject, pk.subject, pk.n * sizeof *pk.subject);
		assert_memory_equal(all[m].position, pk.position, pk.n);
		bh_gallery_pack_free(&pk);
		bh_gallery_pack_free(&all[m]);
	}
	assert_int_equal(bh_gallery_check(g, 1), BH_OK);
	bh_gallery_close(g);
	/* Empty modality in a fresh gallery: n = 0, still a valid shard. */
	unlink(path);
	g = create();
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FACE, &pk), BH_OK);
	assert_int_equal(pk.n, 0);
	assert_non_null(pk.shard.data);
	bh_gallery_pack_free(&pk);
	bh_gallery_close(g);
}

/* Every bad input: error code, a message, and no row changed. */
static void test_enroll_bad_input(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "X", 5);
	tmpl t;
	make_tmpl(&t, BH_MOD_FINGER, 4, 9, 1);
	bh_subject_info si = {.external_ref = "NEW"};
	bh_template_rec r;
	struct {
		const char *what;
		int want;
	} cases[] = {
		{"wrong version", BH_EVERSION}, {"short code", BH_EFORMAT},
		{"long code", BH_EFORMAT},      {"face full", BH_EFORMAT},
		{"position 11", BH_EINVAL},     {"palm position", BH_EINVAL},
		{"modality 7", BH_EINVAL},      {"quality 101", BH_EINVAL},
		{"null code", BH_EFORMAT},      {"huge full", BH_EFORMAT},
		{"mcc truncated", BH_EFORMAT},  {"mcc garbage", BH_EFORMAT},
		{"palm full garbage", BH_EFORMAT},
	};
	uint8_t junk[3000];
	memset(junk, 0xA5, sizeof junk);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r = t.rec;
		switch (i) {
		case 0: r.format = BH_FMT_FINGER_V1 + 1; break;
		case 1: r.code_len = 31; break;
		case 2: r.code_len = 33; break;
		case 3: r.modality = BH_MOD_FACE; r.format = BH_FMT_FACE_V1; r.code_len = 128; r.position = 0; break;
		case 4: r.position = 11; break;
		case 5: r.modality = BH_MOD_PALM; r.format = BH_FMT_PALM_V1; r.code_len = BH_PALM_CODE_BITS / 8; break;
		case 6: r.modality = 7; break;
		case 7: r.quality = 101; break;
		case 8: r.code = NULL; break;
		case 9: r.full_len = BH_FULL_MAX_BYTES + 1; break;
		case 10: r.full_len -= 1; break;
		case 11: r.full = junk; r.full_len = sizeof junk; break;
		case 12: r.modality = BH_MOD_PALM; r.format = BH_FMT_PALM_V1; r.code_len = BH_PALM_CODE_BITS / 8;
			 r.position = 0; r.full = junk; r.full_len = BH_PALM_FULL_BYTES; break;
		}
		bh_errclear();
		/* the bad template second: the first must not be committed either */
		bh_template_rec two[2] = {t.rec, r};
		assert_int_equal(bh_gallery_enroll(g, &si, two, 2, NULL), cases[i].want);
		assert_true(strlen(bh_errmsg()) > 0);
	}
	/* Duplicate external reference: BH_EEXIST after a started transaction. */
	si.external_ref = "X";
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_EEXIST);
	assert_non_null(strstr(bh_errmsg(), "already enrolled"));
	/* Bad subject fields. */
	char longref[300];
	memset(longref, 'r', sizeof longref - 1);
	longref[sizeof longref - 1] = '\0';
	const char *refs[] = {"", longref, "tab\there", NULL};
	for (size_t i = 0; i < 4; i++) {
		si.external_ref = refs[i];
		assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_EINVAL);
	}
	si.external_ref = "NEW";
	si.meta_json = "{not json";
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_EINVAL);
	si.meta_json = NULL;
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 0, NULL), BH_EINVAL);
	bh_template_rec many[BH_GALLERY_MAX_TEMPLATES + 1];
	for (size_t i = 0; i < BH_GALLERY_MAX_TEMPLATES + 1; i++)
		many[i] = t.rec;
	assert_int_equal(bh_gallery_enroll(g, &si, many, BH_GALLERY_MAX_TEMPLATES + 1, NULL),
			 BH_ETOOBIG);
	assert_int_equal(bh_gallery_enroll(g, NULL, &t.rec, 1, NULL), BH_EINVAL);
	/* Nothing changed by any of it. */
	assert_int_equal(count_rows(g, 0), 1);
	assert_int_equal(count_rows(g, 1), 2);
	assert_int_equal(count_rows(g, 2), 1);
	assert_int_equal(bh_gallery_subject_find(g, "NEW", &(int64_t){0}), BH_ENOTFOUND);
	/* The maximum is accepted. */
	assert_int_equal(bh_gallery_enroll(g, &si, many, BH_GALLERY_MAX_TEMPLATES, NULL), BH_OK);
	assert_int_equal(bh_gallery_check(g, 1), BH_OK);
	bh_gallery_close(g);
}

static void test_unknown_subject(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "K", 1);
	char buf[32];
	void *full;
	size_t n;
	int64_t id;
	bh_subject_detail d;
	assert_int_equal(bh_gallery_subject_ref(g, 999, buf, sizeof buf), BH_ENOTFOUND);
	assert_string_equal(buf, "");
	assert_int_equal(bh_gallery_template_full(g, 999, &full, &n), BH_ENOTFOUND);
	assert_int_equal(bh_gallery_subject_find(g, "nobody", &id), BH_ENOTFOUND);
	assert_int_equal(bh_gallery_subject_get(g, "nobody", &d), BH_ENOTFOUND);
	assert_int_equal(bh_gallery_delete(g, "nobody"), BH_ENOTFOUND);
	assert_int_equal(count_rows(g, 0), 1);
	bh_gallery_close(g);
}

/* Delete cascades, and the bytes of the deleted templates are gone from the
 * database file and its WAL (secure_delete + checkpoint). */
static void test_delete_secure(void **state)
{
	(void)state;
	bh_gallery *g = create();
	for (unsigned i = 0; i < 20; i++) {
		char ref[16];
		snprintf(ref, sizeof ref, "S%u", i);
		enroll_simple(g, ref, i + 100);
	}
	tmpl victim;
	make_tmpl(&victim, BH_MOD_FINGER, (107 % 10) + 1, 1107, 1);
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", path);
	blob before = read_all(path), wb = read_all(wal);
	assert_true(contains(&before, victim.full, 64) || contains(&wb, victim.full, 64));
	free(before.p);
	free(wb.p);

	assert_int_equal(bh_gallery_delete(g, "S7"), BH_OK);
	assert_int_equal(bh_gallery_delete(g, "S7"), BH_ENOTFOUND);
	assert_int_equal(count_rows(g, 0), 19);
	assert_int_equal(count_rows(g, 1), 38);
	assert_int_equal(count_rows(g, 2), 19);
	assert_int_equal(bh_gallery_check(g, 1), BH_OK);
	blob after = read_all(path), wa = read_all(wal);
	assert_false(contains(&after, victim.full, 64));
	assert_false(contains(&after, victim.code, 32));
	assert_false(contains(&wa, victim.full, 64));
	/* a neighbour is still there */
	tmpl keep;
	make_tmpl(&keep, BH_MOD_FINGER, (108 % 10) + 1, 1108, 1);
	assert_true(contains(&after, keep.full, 64));
	free(after.p);
	free(wa.p);
	bh_gallery_close(g);
}

static void test_group_transaction(void **state)
{
	(void)state;
	bh_gallery *g = create();
	tmpl t;
	make_tmpl(&t, BH_MOD_FACE, 0, 3, 0);
	bh_subject_info si = {.external_ref = "G1", .synthetic = 1};
	assert_int_equal(bh_gallery_begin(g), BH_OK);
	assert_int_equal(bh_gallery_begin(g), BH_EINVAL);
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_OK);
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_EEXIST); /* alone */
	si.external_ref = "G2";
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_OK);
	assert_int_equal(bh_gallery_commit(g), BH_OK);
	assert_int_equal(bh_gallery_commit(g), BH_EINVAL);
	bh_gallery_stats st;
	assert_int_equal(bh_gallery_get_stats(g, &st), BH_OK);
	assert_int_equal(st.subjects, 2);
	assert_int_equal(st.synthetic_subjects, 2);
	/* A rolled-back group leaves nothing. */
	assert_int_equal(bh_gallery_begin(g), BH_OK);
	si.external_ref = "G3";
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_OK);
	bh_gallery_rollback(g);
	assert_int_equal(count_rows(g, 0), 2);
	/* An open group is rolled back by close. */
	assert_int_equal(bh_gallery_begin(g), BH_OK);
	si.external_ref = "G4";
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_OK);
	bh_gallery_close(g);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM subjects"), 2);
}

static int count_cb(void *ctx, const bh_subject_row *s)
{
	int *n = ctx;
	assert_non_null(s->external_ref);
	assert_int_equal(s->n_templates, 2);
	return ++*n == 3 ? 42 : 0; /* stop early on the third */
}

static void test_list(void **state)
{
	(void)state;
	bh_gallery *g = create();
	for (unsigned i = 0; i < 5; i++) {
		char ref[8];
		snprintf(ref, sizeof ref, "L%u", i);
		enroll_simple(g, ref, i);
	}
	int n = 0;
	assert_int_equal(bh_gallery_list(g, 0, -1, count_cb, &n), 42);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(bh_gallery_list(g, 3, 10, count_cb, &n), BH_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(bh_gallery_list(g, 0, 1, count_cb, &n), BH_OK);
	assert_int_equal(n, 1);
	bh_gallery_close(g);
}

static void test_readonly_and_audit(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "R", 1);
	bh_gallery_close(g);
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_OK);
	tmpl t;
	make_tmpl(&t, BH_MOD_FACE, 0, 3, 0);
	bh_subject_info si = {.external_ref = "R2"};
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, NULL), BH_EINVAL);
	assert_int_equal(bh_gallery_delete(g, "R"), BH_EINVAL);
	assert_int_equal(bh_gallery_begin(g), BH_EINVAL);
	bh_audit_rec a = {.agency = "police-1", .request_id = 77, .modality = BH_MOD_FACE,
			  .candidates = 10, .backend = "avx2", .outcome = "ok"};
	assert_int_equal(bh_gallery_audit(g, &a), BH_OK);
	a.outcome = NULL;
	assert_int_equal(bh_gallery_audit(g, &a), BH_EINVAL);
	a.outcome = "busy";
	a.modality = 4;
	assert_int_equal(bh_gallery_audit(g, &a), BH_EINVAL);
	a.modality = 0;
	a.backend = NULL;
	assert_int_equal(bh_gallery_audit(g, &a), BH_OK);
	bh_gallery_close(g);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM audit"), 2);
	assert_int_equal(sql_int(path, "SELECT request_id FROM audit WHERE id = 1"), 77);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM subjects"), 1);
	/* No column of the audit table can hold bytes: all are INTEGER or TEXT. */
	assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_table_info('audit')"
				       " WHERE type NOT IN ('INTEGER', 'TEXT')"),
			 0);
}

/* A reader handle reads what the main handle wrote, cannot write, keeps its
 * snapshot while a writer commits, and refuses a file swapped in under the
 * path the gallery was opened from. */
static void test_reader_snapshot(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "A", 1);
	void *b1 = NULL, *b2 = NULL;
	size_t n1 = 0, n2 = 0;
	assert_int_equal(bh_gallery_template_full(g, 2, &b1, &n1), BH_OK);
	assert_non_null(b1);
	bh_gallery *r = NULL;
	assert_int_equal(bh_gallery_open_reader(g, &r), BH_OK);
	assert_int_equal(bh_gallery_template_full(r, 2, &b2, &n2), BH_OK);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b2);
	/* no writes at all, not even the audit */
	bh_audit_rec a = {.agency = "police-1", .request_id = 1, .modality = BH_MOD_FACE,
			  .candidates = 1, .backend = "avx2", .outcome = "ok"};
	assert_int_not_equal(bh_gallery_audit(r, &a), BH_OK);
	assert_int_equal(bh_gallery_delete(r, "A"), BH_EINVAL);
	assert_int_equal(bh_gallery_begin(r), BH_EINVAL);
	/* the snapshot holds while the subject is deleted through g */
	assert_int_equal(bh_gallery_read_begin(r), BH_OK);
	assert_int_equal(bh_gallery_read_begin(r), BH_EINVAL);
	assert_int_equal(bh_gallery_template_full(r, 2, &b2, &n2), BH_OK);
	free(b2);
	assert_int_equal(bh_gallery_delete(g, "A"), BH_OK);
	assert_int_equal(bh_gallery_template_full(g, 2, &b2, &n2), BH_ENOTFOUND);
	assert_int_equal(bh_gallery_template_full(r, 2, &b2, &n2), BH_OK);
	assert_int_equal(n2, n1);
	assert_memory_equal(b1, b2, n1);
	free(b2);
	bh_gallery_read_end(r);
	assert_int_equal(bh_gallery_template_full(r, 2, &b2, &n2), BH_ENOTFOUND);
	free(b1);
	/* g may close first */
	bh_gallery_close(g);
	assert_int_equal(bh_gallery_template_full(r, 2, &b2, &n2), BH_ENOTFOUND);
	bh_gallery_close(r);
	/* another gallery renamed over the path: no reader on it */
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_OK);
	char other[160];
	snprintf(other, sizeof other, "%s/other.db", dir);
	bh_gallery *o = NULL;
	assert_int_equal(bh_gallery_open(other, BH_GALLERY_CREATE, &o), BH_OK);
	bh_gallery_close(o);
	assert_int_equal(rename(other, path), 0);
	r = NULL;
	assert_int_equal(bh_gallery_open_reader(g, &r), BH_EDB);
	assert_null(r);
	assert_int_equal(bh_gallery_open_reader(NULL, &r), BH_EINVAL);
	bh_gallery_close(g);
	const char *sfx[] = {"-wal", "-shm"};
	for (size_t i = 0; i < 2; i++) {
		char p[180];
		snprintf(p, sizeof p, "%s%s", other, sfx[i]);
		unlink(p);
	}
}

/* A gallery of 4 KiB pages (as made before 8 KiB) copied: the copy has
 * BH_GALLERY_PAGE_SIZE pages, WAL, the same subjects and template bytes;
 * an existing destination is refused and left as it was. */
static void test_copy_page_size(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "A", 1);
	enroll_simple(g, "B", 2);
	bh_gallery_close(g);
	sql_exec(path, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM;"
		       " PRAGMA journal_mode = WAL;");
	assert_int_equal(sql_int(path, "PRAGMA page_size"), 4096);
	char dst[160], side[180];
	snprintf(dst, sizeof dst, "%s/copy.db", dir);
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_OK);
	assert_int_equal(bh_gallery_copy(g, dst), BH_OK);
	assert_int_equal(sql_int(dst, "PRAGMA page_size"), BH_GALLERY_PAGE_SIZE);
	assert_int_equal(file_mode(dst), 0600);
	blob b = read_all(dst);
	assert_int_equal(b.p[18], 2); /* WAL in the header */
	free(b.p);
	bh_gallery *c = NULL;
	assert_int_equal(bh_gallery_open(dst, BH_GALLERY_READONLY, &c), BH_OK);
	assert_int_equal(count_rows(c, 0), 2);
	for (int64_t id = 1; id <= 4; id++) {
		void *b1 = NULL, *b2 = NULL;
		size_t n1 = 0, n2 = 0;
		assert_int_equal(bh_gallery_template_full(g, id, &b1, &n1), BH_OK);
		assert_int_equal(bh_gallery_template_full(c, id, &b2, &n2), BH_OK);
		assert_int_equal(n1, n2);
		if (n1)
			assert_memory_equal(b1, b2, n1);
		free(b1);
		free(b2);
	}
	bh_gallery_close(c);
	blob before = read_all(dst);
	assert_int_equal(bh_gallery_copy(g, dst), BH_EEXIST);
	assert_true(same_file(dst, &before));
	free(before.p);
	char nodir[180];
	snprintf(nodir, sizeof nodir, "%s/missing/copy.db", dir);
	assert_int_equal(bh_gallery_copy(g, nodir), BH_EIO);
	assert_int_equal(bh_gallery_copy(g, ""), BH_EINVAL);
	assert_int_equal(bh_gallery_copy(NULL, dst), BH_EINVAL);
	bh_gallery_close(g);
	const char *sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(side, sizeof side, "%s%s", dst, sfx[i]);
		unlink(side);
	}
}

/* Stored templates in an older/other format: loading them is an error,
 * not silent garbage in the engine. */
static void test_pack_wrong_stored_format(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "F", 1);
	bh_gallery_close(g);
	sql_exec(path, "UPDATE templates SET format = 513 + 1 WHERE modality = 2");
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_OK);
	bh_gallery_pack pk;
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FINGER, &pk), BH_EVERSION);
	assert_null(pk.data);
	bh_gallery_pack all[BH_MOD_COUNT + 1];
	assert_int_equal(bh_gallery_pack_load_all(g, all), BH_EVERSION);
	for (int m = 0; m <= BH_MOD_COUNT; m++)
		assert_null(all[m].data);
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FACE, &pk), BH_OK);
	bh_gallery_pack_free(&pk);
	bh_gallery_close(g);
	/* The right format plus 2^32: its low 32 bits must not pass for it. */
	char sql[128];
	snprintf(sql, sizeof sql, "UPDATE templates SET format = %u + 4294967296 WHERE modality = 2",
		 (unsigned)bh_template_format(BH_MOD_FINGER));
	sql_exec(path, sql);
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_OK);
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FINGER, &pk), BH_EVERSION);
	assert_null(pk.data);
	bh_template_census c;
	assert_int_equal(bh_gallery_check_templates(g, &c), BH_EFORMAT);
	assert_int_equal(c.bad, 1);
	bh_gallery_close(g);
	sql_exec(path, "UPDATE templates SET code = x'0102' WHERE modality = 1");
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_OK);
	assert_int_equal(bh_gallery_pack_load(g, BH_MOD_FACE, &pk), BH_EFORMAT);
	bh_gallery_close(g);
}

/* Opening must fail with BH_EDB, a message, and leave the file as it was. */
static void expect_refused(const char *what)
{
	blob before = read_all(path);
	unsigned flags[] = {0, BH_GALLERY_READONLY, BH_GALLERY_CREATE};
	for (size_t i = 0; i < 3; i++) {
		bh_gallery *g = (bh_gallery *)1;
		bh_errclear();
		int rc = bh_gallery_open(path, flags[i], &g);
		if (rc != BH_EDB)
			fail_msg("%s: open flags %u gave %d (%s)", what, flags[i], rc, bh_errmsg());
		assert_null(g);
		assert_true(strlen(bh_errmsg()) > 0);
		assert_true(same_file(path, &before));
	}
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", path);
	if (access(wal, F_OK) == 0)
		fail_msg("%s: a WAL file appeared", what);
	free(before.p);
}

static void build_real_gallery(int n)
{
	bh_gallery *g = create();
	for (int i = 0; i < n; i++) {
		char ref[16];
		snprintf(ref, sizeof ref, "real-%d", i);
		enroll_simple(g, ref, (unsigned)i);
	}
	bh_gallery_close(g); /* checkpoints: everything in the main file */
}

/* bh_gallery_check_templates(): every row validated, the finger templates
 * without an orientation field counted, and a row spoilt by a write outside
 * biohub found by its id. */
static void test_check_templates(void **state)
{
	(void)state;
	bh_gallery *g = create();
	enroll_simple(g, "no-field", 1); /* a face and a finger without a field */
	tmpl t;
	make_tmpl(&t, BH_MOD_FINGER, 2, 77, 1);
	uint32_t x = 99;
	t.rec.full_len = make_mcc(&x, t.full, sizeof t.full, 1);
	assert_true(bh_template_has_field(BH_MOD_FINGER, t.full, t.rec.full_len));
	bh_subject_info si = {.external_ref = "field", .operator_id = "op1", .source = "unit"};
	int64_t sid = 0;
	assert_int_equal(bh_gallery_enroll(g, &si, &t.rec, 1, &sid), BH_OK);
	bh_template_census c;
	assert_int_equal(bh_gallery_check_templates(g, &c), BH_OK);
	assert_int_equal(c.checked, 3);
	assert_int_equal(c.bad, 0);
	assert_int_equal(c.finger_no_field, 1);
	bh_gallery_close(g);
	char sql[160];
	const int64_t tid = sql_int(path, "SELECT max(id) FROM templates");
	snprintf(sql, sizeof sql, "UPDATE templates SET full = substr(full, 1, 100) WHERE id = %lld", (long long)tid);
	sql_exec(path, sql);
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_OK);
	bh_errclear();
	assert_int_equal(bh_gallery_check_templates(g, &c), BH_EFORMAT);
	assert_int_equal(c.checked, 3);
	assert_int_equal(c.bad, 1);
	assert_int_equal(c.first_bad_id, tid);
	char want[64];
	snprintf(want, sizeof want, "id %lld: mcc", (long long)tid);
	assert_non_null(strstr(bh_errmsg(), want));
	assert_int_equal(bh_gallery_check(g, 1), BH_OK); /* the database itself is sound */
	bh_gallery_close(g);
}

static void test_refuse_garbage(void **state)
{
	(void)state;
	uint8_t junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	write_all(path, junk, sizeof junk);
	expect_refused("garbage");
	/* "SQLite format 3" header followed by garbage. */
	memcpy(junk, "SQLite format 3", 16);
	write_all(path, junk, sizeof junk);
	expect_refused("garbage with header");
	/* A short text file. */
	write_all(path, "hello\n", 6);
	expect_refused("text");
	/* An empty file without CREATE. */
	write_all(path, "", 0);
	bh_gallery *g;
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_EDB);
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_READONLY, &g), BH_EDB);
	/* ... which CREATE initialises. */
	assert_int_equal(bh_gallery_open(path, BH_GALLERY_CREATE, &g), BH_OK);
	bh_gallery_close(g);
}

static void test_refuse_foreign(void **state)
{
	(void)state;
	sql_exec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	expect_refused("foreign sqlite");
	unlink(path);
	/* Someone else's application id. */
	sql_exec(path, "PRAGMA application_id = 1234; CREATE TABLE subjects(x);");
	expect_refused("other app");
	unlink(path);
	/* Our id, a newer schema. */
	build_real_gallery(1);
	sql_exec(path, "PRAGMA user_version = 2");
	expect_refused("newer schema");
	unlink(path);
	/* Our id, a table missing. */
	build_real_gallery(1);
	sql_exec(path, "PRAGMA journal_mode = DELETE; DROP TABLE audit;");
	expect_refused("missing table");
}

static void test_refuse_truncated_and_corrupt(void **state)
{
	(void)state;
	build_real_gallery(60);
	blob whole = read_all(path);
	assert_true(whole.n > 20 * 4096);
	/* Truncations at several points. */
	size_t cuts[] = {whole.n / 2, whole.n - 4096, 4096 * 3 + 100, 50};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_all(path, whole.p, cuts[i]);
		expect_refused("truncated");
	}
	/* A page in the middle overwritten with garbage. */
	uint8_t *c = malloc(whole.n);
	memcpy(c, whole.p, whole.n);
	for (size_t i = 0; i < 4096; i++)
		c[4096 * 5 + i] = (uint8_t)(i * 13 + 1);
	write_all(path, c, whole.n);
	expect_refused("corrupt page");
	/* The intact copy opens. */
	write_all(path, whole.p, whole.n);
	bh_gallery *g;
	assert_int_equal(bh_gallery_open(path, 0, &g), BH_OK);
	assert_int_equal(count_rows(g, 0), 60);
	bh_gallery_close(g);
	free(c);
	free(whole.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_schema_pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enroll_show_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enroll_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_subject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_secure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_page_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_wrong_stored_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_truncated_and_corrupt, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
