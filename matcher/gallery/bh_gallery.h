/*
 * bh_gallery.h - the gallery store: one SQLite database file per gallery.
 *
 * Schema (WAL, foreign keys on, secure_delete on; application_id 0x42484742
 * "BHGB", user_version = schema version):
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

typedef struct bh_gallery bh_gallery;

enum {
	BH_GALLERY_READONLY = 1u << 0,
	BH_GALLERY_CREATE = 1u << 1, /* create if missing (else must exist) */
};

int bh_gallery_open(const char *path, unsigned flags, bh_gallery **out);
void bh_gallery_close(bh_gallery *g);

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
void bh_gallery_pack_free(bh_gallery_pack *p);

/* The full template of one template id (malloc'd copy; caller frees). */
int bh_gallery_template_full(bh_gallery *g, int64_t template_id, void **blob, size_t *len);
/* External reference of a subject into buf (NUL-terminated, truncated to n). */
int bh_gallery_subject_ref(bh_gallery *g, int64_t subject_id, char *buf, size_t n);

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
