/*
 * bh_gallery.h - the gallery store: one SQLite database file per gallery.
 *
 * Schema (WAL, foreign keys on, secure_delete on; application_id 0x42484742
 * "BHGB", user_version = schema version; BH_GALLERY_PAGE_SIZE pages in files
 * created since 2026-12-07, earlier files keep their 4 KiB):
 *   subjects(id, external_ref UNIQUE, created, synthetic, meta)
 *   templates(id, subject_id -> subjects ON DELETE CASCADE, modality,
 *             position, format, quality, code BLOB, full BLOB, created)
 *   enrolments(id, subject_id, operator, source, created, n_templates)
 *   audit(id, ts, agency, request_id, modality, candidates, backend, outcome)
 * The audit table never holds biometric bytes.
 *
 * Enrolment of one subject (subject row, templates, enrolment row) is one
 * transaction: after a crash the subject is either complete or absent.
 * Opening a file that is not a biohub gallery (wrong application_id, newer
 * schema, failed quick_check) fails with BH_EDB and changes nothing.
 */
#ifndef BH_GALLERY_H
#define BH_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#include "bh_engine.h"
#include "bh_template.h"

typedef struct bh_gallery bh_gallery;

enum {
	BH_GALLERY_READONLY = 1u << 0,
	BH_GALLERY_CREATE = 1u << 1, /* create if missing (else must exist) */
	/* synchronous=NORMAL instead of FULL: a commit survives a process crash
	 * (SIGKILL) but the last commits may be lost on power failure.  For
	 * `gallery synth` only; see bh_gallery.c. */
	BH_GALLERY_FAST_SYNC = 1u << 2,
	/* locking_mode=EXCLUSIVE: no other process can use the file while the
	 * handle is open; saves the per-transaction file locks (synth). */
	BH_GALLERY_EXCLUSIVE = 1u << 3,
};

#define BH_GALLERY_APP_ID 0x42484742 /* "BHGB" */
/* Page size of a new gallery file.  A full finger template (MCC, ~11 KB on
 * FVC2002) then takes its row's page and one overflow page, two reads
 * instead of three with 4 KiB pages; the re-rank reads 512 of them per
 * search (docs/PERFORMANCE.md, Gallery store). */
#define BH_GALLERY_PAGE_SIZE 8192
#define BH_GALLERY_SCHEMA_VERSION 1
#define BH_GALLERY_REF_MAX 255        /* bytes of an external reference */
#define BH_GALLERY_MAX_TEMPLATES 64   /* per subject */

/* A handle is used by one thread at a time (callers serialise).
 * READONLY: subjects, templates and enrolments cannot be changed through the
 * handle (enforced by an SQLite authorizer); bh_gallery_audit() still writes
 * when the file is writable, so a searching process can keep its audit log.
 * A missing file is BH_ENOTFOUND unless CREATE; an empty (0-byte) file is
 * initialised only with CREATE.  A file CREATE makes has mode 0600 (owner
 * only, whatever the umask) and is removed again if the open then fails.
 * Times in the database are Unix ms. */
int bh_gallery_open(const char *path, unsigned flags, bh_gallery **out);
void bh_gallery_close(bh_gallery *g);

/* 1 when the file at `path` has group or other permission bits (a gallery
 * made before 2026-12-07, or one chmod'ed since), with its permission bits
 * in *mode; 0 when it is owner-only, as BH_GALLERY_CREATE makes it; BH_EIO
 * when it cannot be stat'ed.  Not an integrity fault: callers warn. */
int bh_gallery_open_to_others(const char *path, unsigned *mode);

/* A second, read-only handle on the file `g` was opened from, for a thread
 * that reads templates while others use `g`.  The path must still name the
 * same file (device and inode, checked before and after the open); the
 * header and schema are checked as at every open, but not the pages again
 * (quick_check ran when `g` was opened).  Cannot write, not even the audit
 * table.  Closed with bh_gallery_close(), before or after `g`. */
int bh_gallery_open_reader(const bh_gallery *g, bh_gallery **out);

/* A compacted copy of g's file at `dst` (which must not exist: BH_EEXIST),
 * with BH_GALLERY_PAGE_SIZE pages and no free pages, in WAL mode, checked
 * by opening it (quick_check).  Converts a gallery made with another page
 * size.  Writers committing meanwhile are not in the copy: run it on a
 * quiet gallery.  On failure nothing is left at dst. */
int bh_gallery_copy(bh_gallery *g, const char *dst);

/* A read snapshot: every read until bh_gallery_read_end() sees one state of
 * the file, and SQLite takes its file locks once for all of them instead of
 * once per call (each costs system calls: about half the time of a template
 * fetch here).  Hold it for a bounded batch of reads only; while it is open
 * a checkpoint cannot pass it.  No other transaction inside it. */
int bh_gallery_read_begin(bh_gallery *g);
void bh_gallery_read_end(bh_gallery *g);

typedef struct bh_template_rec {
	int modality;   /* bh_modality */
	int position;   /* finger 1..10, 0 = unknown / not applicable */
	uint32_t format;
	int quality;    /* 0..100, -1 unknown */
	const void *code;
	size_t code_len;
	const void *full; /* may be NULL */
	size_t full_len;
} bh_template_rec;

typedef struct bh_subject_info {
	const char *external_ref; /* required, unique, <= 255 bytes */
	const char *operator_id;  /* who enrolled; may be NULL */
	const char *source;       /* e.g. file name of the ANSI/NIST record; may be NULL */
	int synthetic;            /* 1 for `gallery synth` subjects */
	const char *meta_json;    /* may be NULL */
} bh_subject_info;

/* One transaction; every template is bh_template_check()ed first.
 * BH_EEXIST if external_ref is taken (nothing changed). */
int bh_gallery_enroll(bh_gallery *g, const bh_subject_info *s, const bh_template_rec *t,
		      size_t nt, int64_t *subject_id);
/* Removes the subject and its templates (secure_delete). BH_ENOTFOUND. */
int bh_gallery_delete(bh_gallery *g, const char *external_ref);

/* Optional explicit transaction around several enrol/delete calls.  Inside
 * it each bh_gallery_enroll() is a savepoint: a failing subject is rolled
 * back alone, and the others commit together at bh_gallery_commit().  A
 * crash before the commit loses the whole group, never half a subject. */
int bh_gallery_begin(bh_gallery *g);
int bh_gallery_commit(bh_gallery *g);
void bh_gallery_rollback(bh_gallery *g);

/* Packed first-stage codes of one modality, ready for bh_engine_open().
 * ids[i] = template id; subject[i], position[i] alongside. */
typedef struct bh_gallery_pack {
	bh_shard shard; /* kernel/dim/stride/n/data/ids filled */
	void *data;     /* 64-aligned, owned */
	uint64_t *ids;
	int64_t *subject;
	uint8_t *position;
	size_t n;
} bh_gallery_pack;

int bh_gallery_pack_load(bh_gallery *g, int modality, bh_gallery_pack *out);
/* Every modality in one pass over the templates table: out[m] for
 * m = 1..BH_MOD_COUNT (out[0] unused, zeroed).  Same packs as
 * bh_gallery_pack_load() per modality, about 1/k of the time for k
 * populated modalities.  On error nothing is left allocated. */
int bh_gallery_pack_load_all(bh_gallery *g, bh_gallery_pack out[BH_MOD_COUNT + 1]);
void bh_gallery_pack_free(bh_gallery_pack *p);
/* The rows of src whose position is `position` or 0 (unknown), in src's
 * order (so ids stay ascending): a pack of its own with packed rows (stride
 * = bh_row_bytes(), the layout the CPU backends accept; bh_engine.h), freed
 * with bh_gallery_pack_free().  On error nothing is left allocated. */
int bh_gallery_pack_subset(const bh_gallery_pack *src, int position, bh_gallery_pack *out);

/* The full template of one template id (malloc'd copy; caller frees).
 * BH_ENOTFOUND for an unknown id; a template without a full part gives
 * BH_OK with *blob = NULL, *len = 0. */
int bh_gallery_template_full(bh_gallery *g, int64_t template_id, void **blob, size_t *len);
/* External reference of a subject into buf (NUL-terminated, truncated to n). */
int bh_gallery_subject_ref(bh_gallery *g, int64_t subject_id, char *buf, size_t n);
/* Subject id of an external reference; BH_ENOTFOUND. */
int bh_gallery_subject_find(bh_gallery *g, const char *external_ref, int64_t *subject_id);

/* ---- inspection (CLI list/show/stats/check) ------------------------------ */

typedef struct bh_subject_row {
	int64_t id;
	const char *external_ref;
	int64_t created; /* Unix ms */
	int synthetic;
	const char *meta_json; /* NULL if none */
	int64_t n_templates;
} bh_subject_row;

/* Calls cb for subjects in id order, skipping `offset`, at most `limit`
 * (< 0 = all).  Strings are valid during the call only.  A non-zero return
 * from cb stops the walk and is returned. */
typedef int (*bh_gallery_subject_cb)(void *ctx, const bh_subject_row *s);
int bh_gallery_list(bh_gallery *g, int64_t offset, int64_t limit, bh_gallery_subject_cb cb,
		    void *ctx);

typedef struct bh_template_row {
	int64_t id;
	int modality, position;
	uint32_t format;
	int quality;
	size_t code_len, full_len; /* sizes only: never the bytes */
	int64_t created;
} bh_template_row;

typedef struct bh_enrolment_row {
	int64_t id;
	char *operator_id, *source; /* owned; NULL if none */
	int64_t created, n_templates;
} bh_enrolment_row;

/* Everything about one subject except biometric bytes.  Owned copies. */
typedef struct bh_subject_detail {
	int64_t id;
	char *external_ref;
	int64_t created;
	int synthetic;
	char *meta_json;
	bh_template_row *templates;
	size_t n_templates;
	bh_enrolment_row *enrolments;
	size_t n_enrolments;
} bh_subject_detail;

int bh_gallery_subject_get(bh_gallery *g, const char *external_ref, bh_subject_detail *out);
void bh_gallery_subject_detail_free(bh_subject_detail *d);

typedef struct bh_gallery_stats {
	int schema_version;
	int64_t subjects, synthetic_subjects, enrolments, audit_rows;
	int64_t templates[BH_MOD_COUNT + 1]; /* by modality; [0] = total */
	int64_t full_templates;              /* templates with a full part */
	int64_t page_size, page_count, freelist_pages;
} bh_gallery_stats;

int bh_gallery_get_stats(bh_gallery *g, bh_gallery_stats *st);

/* Consistency check: PRAGMA integrity_check (or quick_check if !full),
 * foreign_key_check, and every enrolment row's n_templates equal to the
 * subject's template count with exactly one enrolment per subject.
 * BH_OK, or BH_EDB with the first problem in bh_errmsg(). */
int bh_gallery_check(bh_gallery *g, int full);

/* What bh_gallery_check_templates() found. */
typedef struct bh_template_census {
	int64_t checked;         /* template rows read */
	int64_t bad;             /* rows bh_template_check() refuses */
	int64_t first_bad_id;    /* the first of them (id order), 0 if none */
	int64_t finger_no_field; /* finger templates compared by MCC alone (a full
				  * part without a field; none: not re-ranked) */
} bh_template_census;

/* Reads every template row, in id order, and validates its blobs with
 * bh_template_check() (what an add checks; a row can go bad afterwards
 * only by a write outside biohub).  Counts the finger templates without an
 * orientation field (bh_template_has_field).  BH_OK when every row is
 * valid; BH_EFORMAT when any is not, with the first one's id and reason in
 * bh_errmsg(); BH_EDB on a database error. */
int bh_gallery_check_templates(bh_gallery *g, bh_template_census *c);

typedef struct bh_audit_rec {
	const char *agency;   /* agency id as text */
	uint64_t request_id;
	int modality;
	uint32_t candidates;  /* how many came back */
	const char *backend;
	const char *outcome;  /* "ok", "no_face", "error:...", "busy" */
} bh_audit_rec;

int bh_gallery_audit(bh_gallery *g, const bh_audit_rec *a);

#endif
