/*
 * bh_gallery.c - the gallery store on SQLite (see bh_gallery.h).
 *
 * Opening: an existing file is first opened SQLITE_OPEN_READONLY and checked
 * (SQLite header, application_id, user_version, our four tables, PRAGMA
 * quick_check); only a file that passes is reopened for writing, so a
 * foreign or corrupt file is never modified.  A missing or 0-byte file is
 * initialised (with BH_GALLERY_CREATE) inside BEGIN IMMEDIATE, which also
 * settles a race between two creators.
 *
 * Durability: WAL journal.  synchronous=FULL by default (each commit is on
 * disk when enroll returns); BH_GALLERY_FAST_SYNC selects NORMAL, where WAL
 * commits are still atomic and survive a process crash, and only a power
 * loss may drop the last commits (never tear a subject): acceptable for
 * synthetic scale-test galleries that can be regenerated.
 *
 * Every SQL statement used on a hot path is prepared once per handle
 * (SQLITE_PREPARE_PERSISTENT) and reset after each use, so no statement
 * keeps a read transaction open between calls.
 */
#include "bh_gallery.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bh_err.h"
#include "bh_mem.h"
#include "bh_template.h"

#define BH_STR_(x) #x
#define BH_STR(x) BH_STR_(x)

#define BUSY_TIMEOUT_MS 5000

static const char schema_sql[] =
	"CREATE TABLE subjects("
	" id INTEGER PRIMARY KEY,"
	" external_ref TEXT NOT NULL UNIQUE"
	"  CHECK(length(CAST(external_ref AS BLOB)) BETWEEN 1 AND 255),"
	" created INTEGER NOT NULL,"
	" synthetic INTEGER NOT NULL DEFAULT 0 CHECK(synthetic IN (0, 1)),"
	" meta TEXT CHECK(meta IS NULL OR json_valid(meta)));"
	"CREATE TABLE templates("
	" id INTEGER PRIMARY KEY,"
	" subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,"
	" modality INTEGER NOT NULL CHECK(modality BETWEEN 1 AND 3),"
	" position INTEGER NOT NULL DEFAULT 0 CHECK(position BETWEEN 0 AND 10),"
	" format INTEGER NOT NULL,"
	" quality INTEGER NOT NULL DEFAULT -1 CHECK(quality BETWEEN -1 AND 100),"
	" code BLOB NOT NULL," /* before `full`: a scan of codes skips overflow pages */
	" full BLOB,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX templates_subject ON templates(subject_id);"
	"CREATE INDEX templates_modality ON templates(modality, id);"
	"CREATE TABLE enrolments("
	" id INTEGER PRIMARY KEY,"
	" subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,"
	" operator TEXT,"
	" source TEXT,"
	" created INTEGER NOT NULL,"
	" n_templates INTEGER NOT NULL CHECK(n_templates >= 0));"
	"CREATE INDEX enrolments_subject ON enrolments(subject_id);"
	/* Who searched what modality when, and how many candidates came back.
	 * Never a template, image or score vector. */
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY,"
	" ts INTEGER NOT NULL,"
	" agency TEXT NOT NULL,"
	" request_id INTEGER NOT NULL,"
	" modality INTEGER NOT NULL CHECK(modality BETWEEN 0 AND 3),"
	" candidates INTEGER NOT NULL,"
	" backend TEXT,"
	" outcome TEXT NOT NULL);";

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_BEGIN_READ,
	ST_INS_SUBJECT,
	ST_INS_TEMPLATE,
	ST_INS_ENROL,
	ST_FIND_SUBJECT,
	ST_DEL_SUBJECT,
	ST_SUBJECT_REF,
	ST_TEMPLATE_FULL,
	ST_AUDIT,
	ST_PACK_COUNT,
	ST_PACK_ROWS,
	ST_PACK_COUNTS,
	ST_PACK_ALL,
	ST_COUNT_
};

static const char *const stmt_sql[ST_COUNT_] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT bh_subject",
	[ST_RELEASE] = "RELEASE bh_subject",
	[ST_ROLLBACK_TO] = "ROLLBACK TO bh_subject",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_INS_SUBJECT] = "INSERT INTO subjects(external_ref, created, synthetic, meta)"
			   " VALUES(?1, ?2, ?3, ?4)",
	[ST_INS_TEMPLATE] = "INSERT INTO templates(subject_id, modality, position, format, quality,"
			    " code, full, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_INS_ENROL] = "INSERT INTO enrolments(subject_id, operator, source, created, n_templates)"
			 " VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_FIND_SUBJECT] = "SELECT id FROM subjects WHERE external_ref = ?1",
	[ST_DEL_SUBJECT] = "DELETE FROM subjects WHERE id = ?1",
	[ST_SUBJECT_REF] = "SELECT external_ref FROM subjects WHERE id = ?1",
	[ST_TEMPLATE_FULL] = "SELECT full FROM templates WHERE id = ?1",
	[ST_AUDIT] = "INSERT INTO audit(ts, agency, request_id, modality, candidates, backend,"
		     " outcome) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_PACK_COUNT] = "SELECT count(*) FROM templates WHERE modality = ?1",
	/* A scan in rowid (= template id) order reads the table sequentially;
	 * going through templates_modality costs a b-tree descent per row
	 * (measured ~1.5x slower at 1M rows). */
	[ST_PACK_ROWS] = "SELECT id, subject_id, position, format, code FROM templates NOT INDEXED"
			 " WHERE modality = ?1 ORDER BY id",
	[ST_PACK_COUNTS] = "SELECT modality, count(*) FROM templates GROUP BY modality",
	[ST_PACK_ALL] = "SELECT id, subject_id, position, format, code, modality FROM templates"
			" NOT INDEXED ORDER BY id",
};

struct bh_gallery {
	sqlite3 *db;
	unsigned flags;
	int in_tx;   /* inside bh_gallery_begin() */
	int in_read; /* inside bh_gallery_read_begin() */
	dev_t dev;   /* the file opened, for bh_gallery_open_reader() */
	ino_t ino;
	sqlite3_stmt *st[ST_COUNT_];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps an SQLite failure to a biohub error with the SQLite message. */
static int db_fail(sqlite3 *db, int rc, const char *what)
{
	int prim = rc & 0xff;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		return bh_fail(BH_EBUSY, "gallery: %s: database is locked by another process (%s)",
			       what, msg);
	if (prim == SQLITE_NOMEM)
		return bh_fail(BH_ENOMEM, "gallery: %s: %s", what, msg);
	return bh_fail(BH_EDB, "gallery: %s: %s", what, msg);
}

/* The cached statement `id`, reset and with bindings cleared. */
static int stmt(bh_gallery *g, enum stmt_id id, sqlite3_stmt **out)
{
	if (!g->st[id]) {
		int rc = sqlite3_prepare_v3(g->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &g->st[id], NULL);
		if (rc != SQLITE_OK)
			return db_fail(g->db, rc, "prepare");
	}
	sqlite3_reset(g->st[id]);
	sqlite3_clear_bindings(g->st[id]);
	*out = g->st[id];
	return BH_OK;
}

/* Releases a statement's locks and any bound caller memory. */
static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Runs a cached statement that returns no rows. */
static int run(bh_gallery *g, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, id, &s);
	if (rc != BH_OK)
		return rc;
	int src = sqlite3_step(s);
	done(s);
	return src == SQLITE_DONE ? BH_OK : db_fail(g->db, src, what);
}

/* Runs a one-off statement returning one integer row. */
static int query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*v = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			*v = 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- opening and validation ---------------------------------------------- */

/* Explains why `path` is not a usable gallery: header, application_id,
 * schema version and tables (cheap). */
static int validate(sqlite3 *db, const char *path)
{
	int64_t v = 0;
	int rc = query_int(db, "PRAGMA application_id", &v);
	if (rc != SQLITE_OK) {
		int prim = rc & 0xff;
		if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
			return bh_fail(BH_EDB, "'%s' is not a biohub gallery: %s (corrupt or foreign file)",
				       path, sqlite3_errstr(rc));
		return db_fail(db, rc, "read header");
	}
	if ((uint32_t)v != BH_GALLERY_APP_ID)
		return bh_fail(BH_EDB, "'%s' is not a biohub gallery (SQLite application_id 0x%08x, expected 0x%08x)",
			       path, (unsigned)(uint32_t)v, BH_GALLERY_APP_ID);
	rc = query_int(db, "PRAGMA user_version", &v);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "read schema version");
	if (v > BH_GALLERY_SCHEMA_VERSION)
		return bh_fail(BH_EDB, "'%s' has gallery schema version %lld; this build reads up to %d",
			       path, (long long)v, BH_GALLERY_SCHEMA_VERSION);
	if (v < 1)
		return bh_fail(BH_EDB, "'%s' has no gallery schema (user_version %lld)", path,
			       (long long)v);
	rc = query_int(db,
		       "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN"
		       " ('subjects', 'templates', 'enrolments', 'audit')",
		       &v);
	if (rc != SQLITE_OK)
		return bh_fail(BH_EDB, "'%s': cannot read the schema: %s (corrupt file)", path,
			       sqlite3_errmsg(db));
	if (v != 4)
		return bh_fail(BH_EDB, "'%s' lacks gallery tables (%lld of 4 present)", path,
			       (long long)v);
	return BH_OK;
}

/* PRAGMA quick_check: every b-tree page is read (O(file size), ~1-2 s per
 * 400 MB here), so it runs once per open, on the read-only pre-check. */
static int validate_pages(sqlite3 *db, const char *path)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return bh_fail(BH_EDB, "'%s' failed quick_check: %s", path, sqlite3_errmsg(db));
	rc = sqlite3_step(s);
	int ok = 0;
	char first[160] = "";
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		ok = t && !strcmp(t, "ok");
		snprintf(first, sizeof first, "%s", t ? t : "");
	} else {
		snprintf(first, sizeof first, "%s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(s);
	if (!ok)
		return bh_fail(BH_EDB, "'%s' failed quick_check (corrupt gallery): %s", path, first);
	return BH_OK;
}

/* Opens `path` for the pre-check without creating anything next to it.
 * Without a -wal file the main file holds every committed transaction, so
 * it is opened immutable (no locks, no -shm/-wal created: a truncated or
 * foreign WAL-mode file gets no litter).  With a -wal (a live or crashed
 * gallery) the ordinary read-only open reads it. */
static int open_for_check(const char *path, sqlite3 **db)
{
	size_t n = strlen(path);
	char *wal = malloc(n + 5), *uri = malloc(3 * n + 32);
	if (!wal || !uri) {
		free(wal);
		free(uri);
		return SQLITE_NOMEM;
	}
	snprintf(wal, n + 5, "%s-wal", path);
	int rc;
	if (access(wal, F_OK) == 0) {
		rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	} else {
		char *o = uri + sprintf(uri, "file:");
		for (const char *c = path; *c; c++)
			o += (*c == '%' || *c == '?' || *c == '#') ? sprintf(o, "%%%02X", (unsigned char)*c)
								     : sprintf(o, "%c", *c);
		sprintf(o, "?immutable=1");
		rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW,
				     NULL);
	}
	free(wal);
	free(uri);
	return rc;
}

static int check_existing(const char *path)
{
	sqlite3 *db = NULL;
	int rc = open_for_check(path, &db);
	int err;
	if (rc != SQLITE_OK)
		err = bh_fail(BH_EDB, "cannot open '%s': %s", path,
			      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	else
		err = validate(db, path);
	if (err == BH_OK)
		err = validate_pages(db, path);
	sqlite3_close_v2(db);
	return err;
}

/* Read-only handles may write only the audit table. */
static int ro_authorizer(void *ud, int action, const char *a1, const char *a2, const char *dbn,
			 const char *trig)
{
	(void)ud, (void)dbn, (void)trig;
	switch (action) {
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		return a1 && !strcmp(a1, "audit") ? SQLITE_OK : SQLITE_DENY;
	case SQLITE_PRAGMA:
		return a2 ? SQLITE_DENY : SQLITE_OK; /* reading a pragma is fine */
	case SQLITE_READ:
	case SQLITE_SELECT:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	default: /* CREATE, DROP, ALTER, ATTACH, REINDEX, ANALYZE, ... */
		return SQLITE_DENY;
	}
}

static int exec(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? BH_OK : db_fail(db, rc, what);
}

static int configure(bh_gallery *g, int writable)
{
	sqlite3_busy_timeout(g->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(g->db, 1);
	/* 32 MiB page cache: index pages of a large gallery stay resident while
	 * enrolling. */
	int rc = exec(g->db, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
			     " PRAGMA cache_size = -32768;", "configure");
	if (rc == BH_OK && writable && (g->flags & BH_GALLERY_EXCLUSIVE))
		rc = exec(g->db, "PRAGMA locking_mode = EXCLUSIVE", "configure");
	if (rc == BH_OK && writable) {
		rc = exec(g->db, "PRAGMA journal_mode = WAL", "set WAL mode");
		if (rc == BH_OK)
			rc = exec(g->db,
				  g->flags & BH_GALLERY_FAST_SYNC ? "PRAGMA synchronous = NORMAL"
								  : "PRAGMA synchronous = FULL",
				  "configure");
	}
	return rc;
}

/* Creates the schema in an empty database; a concurrent creator may have
 * won the race, in which case its (validated) schema is kept. */
static int init_schema(bh_gallery *g, const char *path)
{
	int rc = exec(g->db, "BEGIN IMMEDIATE", "create");
	if (rc != BH_OK)
		return rc;
	int64_t app = 0, ntab = 0;
	int src = query_int(g->db, "PRAGMA application_id", &app);
	if (src == SQLITE_OK)
		src = query_int(g->db, "SELECT count(*) FROM sqlite_schema", &ntab);
	if (src != SQLITE_OK) {
		rc = db_fail(g->db, src, "create");
	} else if (app == 0 && ntab == 0) {
		char pragmas[128];
		snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
			 (int)BH_GALLERY_APP_ID, BH_GALLERY_SCHEMA_VERSION);
		rc = exec(g->db, schema_sql, "create schema");
		if (rc == BH_OK)
			rc = exec(g->db, pragmas, "create schema");
	} else if ((uint32_t)app != BH_GALLERY_APP_ID) {
		rc = bh_fail(BH_EDB, "'%s' is not a biohub gallery (created concurrently by another program)",
			     path);
	}
	if (rc == BH_OK)
		return exec(g->db, "COMMIT", "create");
	sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Creates PATH empty, readable and writable by its owner only: a gallery
 * holds enrolled people's biometrics.  SQLite gives the -wal, -shm and
 * -journal files the mode of the database file. */
static int create_private(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? bh_fail(BH_EEXIST, "%s: '%s' exists", what, path)
				       : bh_fail(BH_EIO, "%s: cannot create '%s': %s", what, path,
						 strerror(errno));
	close(fd);
	return BH_OK;
}

/* Removes a gallery file this process created, and SQLite's side files. */
static void remove_with_side_files(const char *path)
{
	static const char *const side_ext[] = {"-wal", "-shm", "-journal"};
	char side[4200];
	unlink(path);
	for (size_t i = 0; i < sizeof side_ext / sizeof *side_ext; i++) {
		if ((size_t)snprintf(side, sizeof side, "%s%s", path, side_ext[i]) < sizeof side)
			unlink(side);
	}
}

int bh_gallery_open(const char *path, unsigned flags, bh_gallery **out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: no output handle");
	*out = NULL;
	if (!path || !*path)
		return bh_fail(BH_EINVAL, "gallery: empty path");
	int ro = (flags & BH_GALLERY_READONLY) != 0;
	struct stat sb;
	int exists = stat(path, &sb) == 0;
	if (!exists && errno != ENOENT)
		return bh_fail(BH_EIO, "cannot stat '%s': %s", path, strerror(errno));
	if (exists && !S_ISREG(sb.st_mode))
		return bh_fail(BH_EDB, "'%s' is not a regular file", path);
	int fresh = !exists || sb.st_size == 0;
	if (fresh && (!(flags & BH_GALLERY_CREATE) || ro)) {
		if (!exists)
			return bh_fail(BH_ENOTFOUND, "gallery '%s' does not exist", path);
		return bh_fail(BH_EDB, "'%s' is an empty file, not a biohub gallery", path);
	}
	if (!fresh) {
		int rc = check_existing(path);
		if (rc != BH_OK)
			return rc;
	}
	if (!exists) {
		int rc = create_private(path, "gallery");
		if (rc != BH_OK)
			return rc;
	}
	bh_gallery *g = calloc(1, sizeof *g);
	if (!g) {
		if (!exists)
			remove_with_side_files(path);
		return bh_fail(BH_ENOMEM, "gallery: out of memory");
	}
	g->flags = flags;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | (fresh ? SQLITE_OPEN_CREATE : 0);
	int src = sqlite3_open_v2(path, &g->db, oflags, NULL);
	int writable = 1;
	if (src != SQLITE_OK && ro) { /* read-only file system or permissions */
		sqlite3_close_v2(g->db);
		g->db = NULL;
		writable = 0;
		src = sqlite3_open_v2(path, &g->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	}
	int rc = BH_OK;
	if (src != SQLITE_OK)
		rc = bh_fail(BH_EDB, "cannot open '%s': %s", path,
			     g->db ? sqlite3_errmsg(g->db) : sqlite3_errstr(src));
	if (rc == BH_OK && fresh) /* fixed once the file has its first page (WAL does that) */
		rc = exec(g->db, "PRAGMA page_size = " BH_STR(BH_GALLERY_PAGE_SIZE), "page size");
	if (rc == BH_OK)
		rc = configure(g, writable && !ro);
	if (rc == BH_OK && fresh)
		rc = init_schema(g, path);
	if (rc == BH_OK && !fresh) /* the file may have been swapped since the check */
		rc = validate(g->db, path);
	if (rc == BH_OK && ro)
		sqlite3_set_authorizer(g->db, ro_authorizer, NULL);
	if (rc == BH_OK && stat(path, &sb) != 0)
		rc = bh_fail(BH_EIO, "cannot stat '%s': %s", path, strerror(errno));
	if (rc != BH_OK) {
		bh_gallery_close(g);
		if (!exists) /* no half-made gallery stays behind */
			remove_with_side_files(path);
		return rc;
	}
	g->dev = sb.st_dev;
	g->ino = sb.st_ino;
	*out = g;
	return BH_OK;
}

int bh_gallery_open_to_others(const char *path, unsigned *mode)
{
	struct stat sb;
	if (!path || stat(path, &sb) != 0)
		return bh_fail(BH_EIO, "cannot stat '%s': %s", path ? path : "(null)",
			       path ? strerror(errno) : "no path");
	if (mode)
		*mode = (unsigned)(sb.st_mode & 07777);
	return (sb.st_mode & 077) != 0;
}

/* A read-only connection to an existing file (symbolic links refused). */
static int open_ro(const char *path, sqlite3 **db)
{
	int src = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (src == SQLITE_OK)
		return BH_OK;
	return bh_fail(BH_EDB, "cannot open '%s': %s", path,
		       *db ? sqlite3_errmsg(*db) : sqlite3_errstr(src));
}

/* Same device and inode as the file `g` was opened from. */
static int same_file(const bh_gallery *g, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return bh_fail(BH_EIO, "cannot stat '%s': %s", path, strerror(errno));
	if (sb.st_dev != g->dev || sb.st_ino != g->ino)
		return bh_fail(BH_EDB, "'%s' is no longer the gallery file that was opened", path);
	return BH_OK;
}

int bh_gallery_open_reader(const bh_gallery *g, bh_gallery **out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: no output handle");
	*out = NULL;
	const char *path = g && g->db ? sqlite3_db_filename(g->db, "main") : NULL;
	if (!path || !*path)
		return bh_fail(BH_EINVAL, "gallery: no open gallery to read");
	int rc = same_file(g, path);
	if (rc != BH_OK)
		return rc;
	bh_gallery *r = calloc(1, sizeof *r);
	if (!r)
		return bh_fail(BH_ENOMEM, "gallery: out of memory");
	r->flags = BH_GALLERY_READONLY;
	r->dev = g->dev;
	r->ino = g->ino;
	rc = open_ro(path, &r->db);
	if (rc == BH_OK)
		rc = configure(r, 0);
	/* Random template reads hit the cache only in the b-tree's inner pages,
	 * a few MiB even at millions of templates. */
	if (rc == BH_OK)
		rc = exec(r->db, "PRAGMA cache_size = -8192", "configure reader");
	if (rc == BH_OK) /* the header checks of every open; the pages were checked by g's */
		rc = validate(r->db, path);
	if (rc == BH_OK)
		rc = same_file(g, path);
	if (rc != BH_OK) {
		bh_gallery_close(r);
		return rc;
	}
	sqlite3_set_authorizer(r->db, ro_authorizer, NULL);
	*out = r;
	return BH_OK;
}

/* VACUUM INTO on a private connection to g's file: read-only handles have
 * an authorizer that refuses VACUUM and pragmas with a value. */
static int vacuum_into(const char *src, const char *dst)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int src_rc;
	int rc = open_ro(src, &db);
	if (rc == BH_OK) {
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		/* the copy's page size; the source keeps its own */
		rc = exec(db, "PRAGMA page_size = " BH_STR(BH_GALLERY_PAGE_SIZE), "copy page size");
	}
	if (rc == BH_OK && (src_rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL)) != SQLITE_OK)
		rc = db_fail(db, src_rc, "copy");
	if (rc == BH_OK) {
		sqlite3_bind_text(st, 1, dst, -1, SQLITE_STATIC);
		src_rc = sqlite3_step(st);
		if (src_rc != SQLITE_DONE)
			rc = db_fail(db, src_rc, "copy");
	}
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	return rc;
}

int bh_gallery_copy(bh_gallery *g, const char *dst)
{
	const char *src = g && g->db ? sqlite3_db_filename(g->db, "main") : NULL;
	if (!src || !*src || !dst || !*dst)
		return bh_fail(BH_EINVAL, "gallery copy: no source or destination");
	int rc = same_file(g, src);
	if (rc != BH_OK)
		return rc;
	/* Created empty here (VACUUM INTO fills an empty file), so that a
	 * failure removes only what this call made. */
	rc = create_private(dst, "gallery copy");
	if (rc != BH_OK)
		return rc;
	rc = vacuum_into(src, dst);
	bh_gallery *c = NULL;
	if (rc == BH_OK) /* checked as any file is opened (quick_check), then WAL */
		rc = bh_gallery_open(dst, 0, &c);
	bh_gallery_close(c);
	if (rc != BH_OK) /* no partial copy stays, nor SQLite's side files */
		remove_with_side_files(dst);
	return rc;
}

int bh_gallery_read_begin(bh_gallery *g)
{
	if (!g)
		return bh_fail(BH_EINVAL, "gallery: no handle");
	if (g->in_tx || g->in_read)
		return bh_fail(BH_EINVAL, "gallery: transaction already open");
	int rc = run(g, ST_BEGIN_READ, "begin read");
	if (rc == BH_OK)
		g->in_read = 1;
	return rc;
}

void bh_gallery_read_end(bh_gallery *g)
{
	if (!g || !g->in_read)
		return;
	/* COMMIT of a transaction that only read releases the read lock; it
	 * cannot fail for lack of space or a busy writer. */
	if (run(g, ST_COMMIT, "end read") != BH_OK)
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
	g->in_read = 0;
}

void bh_gallery_close(bh_gallery *g)
{
	if (!g)
		return;
	if ((g->in_tx || g->in_read) && g->db)
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(g->st[i]);
	sqlite3_close_v2(g->db);
	free(g);
}

/* ---- transactions -------------------------------------------------------- */

static int writable_check(bh_gallery *g, const char *what)
{
	if (g->flags & BH_GALLERY_READONLY)
		return bh_fail(BH_EINVAL, "gallery: %s: gallery opened read-only", what);
	return BH_OK;
}

int bh_gallery_begin(bh_gallery *g)
{
	if (!g)
		return bh_fail(BH_EINVAL, "gallery: no handle");
	int rc = writable_check(g, "begin");
	if (rc == BH_OK && (g->in_tx || g->in_read))
		rc = bh_fail(BH_EINVAL, "gallery: transaction already open");
	if (rc == BH_OK)
		rc = run(g, ST_BEGIN, "begin");
	if (rc == BH_OK)
		g->in_tx = 1;
	return rc;
}

int bh_gallery_commit(bh_gallery *g)
{
	if (!g || !g->in_tx)
		return bh_fail(BH_EINVAL, "gallery: no transaction open");
	int rc = run(g, ST_COMMIT, "commit");
	if (rc != BH_OK)
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
	g->in_tx = 0;
	return rc;
}

void bh_gallery_rollback(bh_gallery *g)
{
	if (!g || !g->in_tx)
		return;
	run(g, ST_ROLLBACK, "rollback");
	g->in_tx = 0;
}

/* One unit of change: its own transaction, or a savepoint inside the
 * caller's bh_gallery_begin() group. */
static int unit_begin(bh_gallery *g) { return run(g, g->in_tx ? ST_SAVEPOINT : ST_BEGIN, "begin"); }

static int unit_commit(bh_gallery *g)
{
	int rc = run(g, g->in_tx ? ST_RELEASE : ST_COMMIT, "commit");
	if (rc != BH_OK && !g->in_tx)
		sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void unit_rollback(bh_gallery *g)
{
	if (g->in_tx) {
		run(g, ST_ROLLBACK_TO, "rollback");
		run(g, ST_RELEASE, "rollback");
	} else if (!sqlite3_get_autocommit(g->db)) {
		run(g, ST_ROLLBACK, "rollback");
	}
}

/* ---- enrolment ----------------------------------------------------------- */

static int check_ref(const char *ref)
{
	if (!ref || !*ref)
		return bh_fail(BH_EINVAL, "gallery: empty external reference");
	size_t n = strlen(ref);
	if (n > BH_GALLERY_REF_MAX)
		return bh_fail(BH_EINVAL, "gallery: external reference of %zu bytes (max %d)", n,
			       BH_GALLERY_REF_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
			return bh_fail(BH_EINVAL, "gallery: control character in external reference");
	return BH_OK;
}

static int check_input(const bh_subject_info *s, const bh_template_rec *t, size_t nt)
{
	int rc = check_ref(s->external_ref);
	if (rc != BH_OK)
		return rc;
	if (nt == 0)
		return bh_fail(BH_EINVAL, "gallery: subject '%s' has no template", s->external_ref);
	if (nt > BH_GALLERY_MAX_TEMPLATES)
		return bh_fail(BH_ETOOBIG, "gallery: %zu templates for one subject (max %d)", nt,
			       BH_GALLERY_MAX_TEMPLATES);
	for (size_t i = 0; i < nt; i++) {
		if (t[i].quality < -1 || t[i].quality > 100)
			return bh_fail(BH_EINVAL, "gallery: template %zu: quality %d not in -1..100", i,
				       t[i].quality);
		rc = bh_template_check(t[i].modality, t[i].position, t[i].format, t[i].code,
				       t[i].code_len, t[i].full, t[i].full_len);
		if (rc != BH_OK) {
			char why[200];
			snprintf(why, sizeof why, "%s", bh_errmsg());
			return bh_fail(rc, "gallery: template %zu: %s", i, why);
		}
	}
	return BH_OK;
}

static int bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int insert_subject(bh_gallery *g, const bh_subject_info *si, int64_t now, int64_t *sid)
{
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_INS_SUBJECT, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_text(s, 1, si->external_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, si->synthetic ? 1 : 0);
	bind_text_or_null(s, 4, si->meta_json);
	int src = sqlite3_step(s);
	done(s);
	if (src == SQLITE_DONE) {
		*sid = sqlite3_last_insert_rowid(g->db);
		return BH_OK;
	}
	if (src == SQLITE_CONSTRAINT_UNIQUE)
		return bh_fail(BH_EEXIST, "gallery: external reference '%s' is already enrolled",
			       si->external_ref);
	if (src == SQLITE_CONSTRAINT_CHECK)
		return bh_fail(BH_EINVAL, "gallery: subject '%s': meta is not valid JSON",
			       si->external_ref);
	return db_fail(g->db, src, "insert subject");
}

static int insert_template(bh_gallery *g, int64_t sid, const bh_template_rec *t, int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_INS_TEMPLATE, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, sid);
	sqlite3_bind_int(s, 2, t->modality);
	sqlite3_bind_int(s, 3, t->position);
	sqlite3_bind_int64(s, 4, t->format);
	sqlite3_bind_int(s, 5, t->quality);
	sqlite3_bind_blob64(s, 6, t->code, t->code_len, SQLITE_STATIC);
	if (t->full && t->full_len)
		sqlite3_bind_blob64(s, 7, t->full, t->full_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_int64(s, 8, now);
	int src = sqlite3_step(s);
	done(s);
	return src == SQLITE_DONE ? BH_OK : db_fail(g->db, src, "insert template");
}

static int insert_enrolment(bh_gallery *g, int64_t sid, const bh_subject_info *si, size_t nt,
			    int64_t now)
{
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_INS_ENROL, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, sid);
	bind_text_or_null(s, 2, si->operator_id);
	bind_text_or_null(s, 3, si->source);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, (int64_t)nt);
	int src = sqlite3_step(s);
	done(s);
	return src == SQLITE_DONE ? BH_OK : db_fail(g->db, src, "insert enrolment");
}

int bh_gallery_enroll(bh_gallery *g, const bh_subject_info *s, const bh_template_rec *t,
		      size_t nt, int64_t *subject_id)
{
	if (!g || !s || (!t && nt))
		return bh_fail(BH_EINVAL, "gallery: enroll: missing argument");
	int rc = writable_check(g, "enroll");
	if (rc == BH_OK)
		rc = check_input(s, t, nt);
	if (rc != BH_OK)
		return rc;
	int64_t now = now_ms(), sid = 0;
	rc = unit_begin(g);
	if (rc != BH_OK)
		return rc;
	rc = insert_subject(g, s, now, &sid);
	for (size_t i = 0; rc == BH_OK && i < nt; i++)
		rc = insert_template(g, sid, &t[i], now);
	if (rc == BH_OK)
		rc = insert_enrolment(g, sid, s, nt, now);
	if (rc == BH_OK)
		rc = unit_commit(g);
	else
		unit_rollback(g);
	if (rc == BH_OK && subject_id)
		*subject_id = sid;
	return rc;
}

int bh_gallery_subject_find(bh_gallery *g, const char *external_ref, int64_t *subject_id)
{
	if (!g || !external_ref || !subject_id)
		return bh_fail(BH_EINVAL, "gallery: subject_find: missing argument");
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_FIND_SUBJECT, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_text(s, 1, external_ref, -1, SQLITE_STATIC);
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW)
		*subject_id = sqlite3_column_int64(s, 0);
	done(s);
	if (src == SQLITE_ROW)
		return BH_OK;
	if (src == SQLITE_DONE)
		return bh_fail(BH_ENOTFOUND, "gallery: no subject '%s'", external_ref);
	return db_fail(g->db, src, "find subject");
}

int bh_gallery_delete(bh_gallery *g, const char *external_ref)
{
	if (!g || !external_ref)
		return bh_fail(BH_EINVAL, "gallery: delete: missing argument");
	int rc = writable_check(g, "delete");
	if (rc != BH_OK)
		return rc;
	rc = unit_begin(g);
	if (rc != BH_OK)
		return rc;
	int64_t sid;
	rc = bh_gallery_subject_find(g, external_ref, &sid);
	if (rc == BH_OK) {
		sqlite3_stmt *s = NULL;
		rc = stmt(g, ST_DEL_SUBJECT, &s);
		if (rc == BH_OK) {
			sqlite3_bind_int64(s, 1, sid);
			int src = sqlite3_step(s);
			done(s);
			if (src != SQLITE_DONE)
				rc = db_fail(g->db, src, "delete subject");
		}
	}
	if (rc == BH_OK)
		rc = unit_commit(g);
	else
		unit_rollback(g);
	/* secure_delete zeroed the freed pages, but the old page images can
	 * survive in the WAL file: copy everything back and truncate it.  A
	 * reader can hold the checkpoint back; the next one finishes it. */
	if (rc == BH_OK && !g->in_tx)
		sqlite3_wal_checkpoint_v2(g->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc;
}

/* ---- reading ------------------------------------------------------------- */

int bh_gallery_subject_ref(bh_gallery *g, int64_t subject_id, char *buf, size_t n)
{
	if (!g || !buf || !n)
		return bh_fail(BH_EINVAL, "gallery: subject_ref: missing argument");
	buf[0] = '\0';
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_SUBJECT_REF, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, subject_id);
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		snprintf(buf, n, "%s", t ? t : "");
	}
	done(s);
	if (src == SQLITE_ROW)
		return BH_OK;
	if (src == SQLITE_DONE)
		return bh_fail(BH_ENOTFOUND, "gallery: no subject with id %lld", (long long)subject_id);
	return db_fail(g->db, src, "subject reference");
}

int bh_gallery_template_full(bh_gallery *g, int64_t template_id, void **blob, size_t *len)
{
	if (!g || !blob || !len)
		return bh_fail(BH_EINVAL, "gallery: template_full: missing argument");
	*blob = NULL;
	*len = 0;
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_TEMPLATE_FULL, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, template_id);
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		const void *p = sqlite3_column_blob(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		if (n) {
			*blob = malloc(n);
			if (!*blob)
				rc = bh_fail(BH_ENOMEM, "gallery: full template of %zu bytes", n);
			else {
				memcpy(*blob, p, n);
				*len = n;
			}
		}
	}
	done(s);
	if (rc != BH_OK || src == SQLITE_ROW)
		return rc;
	if (src == SQLITE_DONE)
		return bh_fail(BH_ENOTFOUND, "gallery: no template with id %lld", (long long)template_id);
	return db_fail(g->db, src, "full template");
}

static int pack_alloc(bh_gallery_pack *p, size_t n, size_t stride)
{
	size_t bytes;
	if (bh_mul_size(n, stride, &bytes))
		return bh_fail(BH_ETOOBIG, "gallery: %zu templates of %zu bytes overflow", n, stride);
	p->data = bh_aligned_zalloc(bytes);
	p->ids = malloc((n ? n : 1) * sizeof *p->ids);
	p->subject = malloc((n ? n : 1) * sizeof *p->subject);
	p->position = malloc(n ? n : 1);
	if (!p->data || !p->ids || !p->subject || !p->position)
		return bh_fail(BH_ENOMEM, "gallery: pack of %zu templates (%zu bytes)", n, bytes);
	return BH_OK;
}

/* Stride of a modality's packed rows (engine layout); 0 on error. */
static size_t pack_stride(int modality, int *kernel, uint32_t *dim)
{
	if (bh_template_code_kind(modality, kernel, dim) != BH_OK)
		return 0;
	size_t stride = bh_row_stride((bh_kernel)*kernel, *dim);
	if (!stride)
		bh_fail(BH_EINVAL, "gallery: no engine row stride for modality %d", modality);
	return stride;
}

/* Allocates p for n rows of `modality` and fills the shard header. */
static int pack_prepare(bh_gallery_pack *p, int modality, size_t n)
{
	int kernel;
	uint32_t dim;
	size_t stride = pack_stride(modality, &kernel, &dim);
	if (!stride)
		return BH_EINVAL;
	int rc = pack_alloc(p, n, stride);
	if (rc != BH_OK)
		return rc;
	p->shard.kernel = (bh_kernel)kernel;
	p->shard.dim = dim;
	p->shard.stride = stride;
	p->shard.data = p->data;
	p->shard.ids = p->ids;
	return BH_OK;
}

/* The format column of the current row.  The schema stores it as a 64-bit
 * integer; a value outside uint32 (only a write outside biohub makes one)
 * reads as 0, no format of any modality, so it fails the same checks as an
 * unknown format instead of passing as its low 32 bits. */
static uint32_t column_format(sqlite3_stmt *s, int col)
{
	const sqlite3_int64 v = sqlite3_column_int64(s, col);
	return v >= 0 && v <= (sqlite3_int64)UINT32_MAX ? (uint32_t)v : 0;
}

/* Appends the current row of s (id, subject_id, position, format, code) to
 * p, whose capacity is `cap` rows; p->n counts the rows stored. */
static int pack_row(bh_gallery_pack *p, size_t cap, int modality, sqlite3_stmt *s)
{
	uint32_t fmt = bh_template_format(modality);
	size_t code_bytes = bh_template_code_bytes(fmt);
	int64_t id = sqlite3_column_int64(s, 0);
	uint32_t f = column_format(s, 3);
	const void *code = sqlite3_column_blob(s, 4);
	size_t len = (size_t)sqlite3_column_bytes(s, 4);
	if (p->n >= cap)
		return bh_fail(BH_EDB, "gallery: template count changed while loading");
	if (f != fmt)
		return bh_fail(BH_EVERSION, "gallery: template %lld has format 0x%04x; this build loads 0x%04x",
			       (long long)id, (unsigned)f, (unsigned)fmt);
	if (len != code_bytes || !code)
		return bh_fail(BH_EFORMAT, "gallery: template %lld: code of %zu bytes, expected %zu",
			       (long long)id, len, code_bytes);
	size_t i = p->n++;
	memcpy((uint8_t *)p->data + i * p->shard.stride, code, code_bytes);
	p->ids[i] = (uint64_t)id;
	p->subject[i] = sqlite3_column_int64(s, 1);
	p->position[i] = (uint8_t)sqlite3_column_int(s, 2);
	return BH_OK;
}

/* Steps s to the end, handing each row to pack_row for the pack of its
 * modality (column 5, or `only` when > 0).  caps[m] = rows expected. */
static int pack_scan(bh_gallery *g, sqlite3_stmt *s, int only, bh_gallery_pack *packs,
		     const int64_t *caps)
{
	int rc = BH_OK, src;
	while (rc == BH_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
		int m = only > 0 ? only : sqlite3_column_int(s, 5);
		if (m < 1 || m > BH_MOD_COUNT)
			rc = bh_fail(BH_EFORMAT, "gallery: template with modality %d", m);
		else
			rc = pack_row(&packs[m], (size_t)caps[m], m, s);
	}
	if (rc == BH_OK && src != SQLITE_DONE)
		rc = db_fail(g->db, src, "load templates");
	for (int m = 1; rc == BH_OK && m <= BH_MOD_COUNT; m++)
		if ((only <= 0 || m == only) && packs[m].n != (size_t)caps[m])
			rc = bh_fail(BH_EDB, "gallery: template count changed while loading");
	done(s);
	return rc;
}

static void pack_finish(bh_gallery_pack *p) { p->shard.n = p->n; }

int bh_gallery_pack_load(bh_gallery *g, int modality, bh_gallery_pack *out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: pack_load: no output");
	memset(out, 0, sizeof *out);
	if (!g)
		return bh_fail(BH_EINVAL, "gallery: pack_load: no handle");
	int kernel;
	uint32_t dim;
	if (!pack_stride(modality, &kernel, &dim))
		return BH_EINVAL;
	/* One read transaction: the count and the rows see the same snapshot. */
	int own_tx = sqlite3_get_autocommit(g->db), rc;
	if (own_tx && (rc = run(g, ST_BEGIN_READ, "begin read")) != BH_OK)
		return rc;
	sqlite3_stmt *s = NULL;
	int64_t caps[BH_MOD_COUNT + 1] = {0};
	rc = stmt(g, ST_PACK_COUNT, &s);
	if (rc == BH_OK) {
		sqlite3_bind_int(s, 1, modality);
		int src = sqlite3_step(s);
		if (src == SQLITE_ROW)
			caps[modality] = sqlite3_column_int64(s, 0);
		else
			rc = db_fail(g->db, src, "count templates");
		done(s);
	}
	/* packs[] view so pack_scan can index by modality */
	bh_gallery_pack packs[BH_MOD_COUNT + 1];
	memset(packs, 0, sizeof packs);
	if (rc == BH_OK)
		rc = pack_prepare(&packs[modality], modality, (size_t)caps[modality]);
	if (rc == BH_OK && caps[modality] > 0 && (rc = stmt(g, ST_PACK_ROWS, &s)) == BH_OK) {
		sqlite3_bind_int(s, 1, modality); /* the scan reads the whole table */
		rc = pack_scan(g, s, modality, packs, caps);
	}
	if (own_tx)
		run(g, ST_COMMIT, "end read");
	if (rc != BH_OK) {
		bh_gallery_pack_free(&packs[modality]);
		return rc;
	}
	*out = packs[modality];
	pack_finish(out);
	return BH_OK;
}

int bh_gallery_pack_load_all(bh_gallery *g, bh_gallery_pack out[BH_MOD_COUNT + 1])
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: pack_load_all: no output");
	memset(out, 0, (BH_MOD_COUNT + 1) * sizeof *out);
	if (!g)
		return bh_fail(BH_EINVAL, "gallery: pack_load_all: no handle");
	int own_tx = sqlite3_get_autocommit(g->db), rc;
	if (own_tx && (rc = run(g, ST_BEGIN_READ, "begin read")) != BH_OK)
		return rc;
	int64_t caps[BH_MOD_COUNT + 1] = {0};
	sqlite3_stmt *s = NULL;
	rc = stmt(g, ST_PACK_COUNTS, &s);
	int src = SQLITE_DONE;
	while (rc == BH_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
		int m = sqlite3_column_int(s, 0);
		if (m < 1 || m > BH_MOD_COUNT)
			rc = bh_fail(BH_EFORMAT, "gallery: templates with modality %d", m);
		else
			caps[m] = sqlite3_column_int64(s, 1);
	}
	if (rc == BH_OK && src != SQLITE_DONE)
		rc = db_fail(g->db, src, "count templates");
	if (s)
		done(s);
	for (int m = 1; rc == BH_OK && m <= BH_MOD_COUNT; m++)
		rc = pack_prepare(&out[m], m, (size_t)caps[m]);
	if (rc == BH_OK && (rc = stmt(g, ST_PACK_ALL, &s)) == BH_OK)
		rc = pack_scan(g, s, 0, out, caps);
	if (own_tx)
		run(g, ST_COMMIT, "end read");
	for (int m = 1; m <= BH_MOD_COUNT; m++) {
		if (rc != BH_OK)
			bh_gallery_pack_free(&out[m]);
		else
			pack_finish(&out[m]);
	}
	return rc;
}

void bh_gallery_pack_free(bh_gallery_pack *p)
{
	if (!p)
		return;
	bh_aligned_free(p->data);
	free(p->ids);
	free(p->subject);
	free(p->position);
	memset(p, 0, sizeof *p);
}

int bh_gallery_pack_subset(const bh_gallery_pack *src, int position, bh_gallery_pack *out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: pack_subset: no output");
	memset(out, 0, sizeof *out);
	if (!src)
		return bh_fail(BH_EINVAL, "gallery: pack_subset: no source");
	size_t n = 0;
	for (size_t i = 0; i < src->n; i++)
		n += src->position[i] == position || src->position[i] == 0;
	const size_t stride = bh_row_bytes(src->shard.kernel, src->shard.dim); /* packed */
	int rc = stride ? pack_alloc(out, n, stride)
			: bh_fail(BH_EINVAL, "gallery: pack_subset: bad shard");
	if (rc != BH_OK) {
		bh_gallery_pack_free(out);
		return rc;
	}
	out->shard = src->shard;
	out->shard.stride = stride;
	out->shard.data = out->data;
	out->shard.ids = out->ids;
	const uint8_t *row = src->data;
	for (size_t i = 0; i < src->n; i++, row += src->shard.stride) {
		if (src->position[i] != position && src->position[i] != 0)
			continue;
		memcpy((uint8_t *)out->data + out->n * stride, row, stride);
		out->ids[out->n] = src->ids[i];
		out->subject[out->n] = src->subject[i];
		out->position[out->n] = src->position[i];
		out->n++;
	}
	pack_finish(out);
	return BH_OK;
}

/* ---- audit --------------------------------------------------------------- */

int bh_gallery_audit(bh_gallery *g, const bh_audit_rec *a)
{
	if (!g || !a || !a->agency || !a->outcome)
		return bh_fail(BH_EINVAL, "gallery: audit: missing field");
	if (a->modality < 0 || a->modality > BH_MOD_COUNT)
		return bh_fail(BH_EINVAL, "gallery: audit: modality %d", a->modality);
	if (a->request_id > INT64_MAX)
		return bh_fail(BH_EINVAL, "gallery: audit: request id out of range");
	sqlite3_stmt *s = NULL;
	int rc = stmt(g, ST_AUDIT, &s);
	if (rc != BH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, now_ms());
	sqlite3_bind_text(s, 2, a->agency, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)a->request_id);
	sqlite3_bind_int(s, 4, a->modality);
	sqlite3_bind_int64(s, 5, a->candidates);
	bind_text_or_null(s, 6, a->backend);
	sqlite3_bind_text(s, 7, a->outcome, -1, SQLITE_STATIC);
	int src = sqlite3_step(s);
	done(s);
	return src == SQLITE_DONE ? BH_OK : db_fail(g->db, src, "audit");
}

/* ---- inspection ---------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int bh_gallery_list(bh_gallery *g, int64_t offset, int64_t limit, bh_gallery_subject_cb cb,
		    void *ctx)
{
	if (!g || !cb)
		return bh_fail(BH_EINVAL, "gallery: list: missing argument");
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db,
				     "SELECT s.id, s.external_ref, s.created, s.synthetic, s.meta,"
				     " (SELECT count(*) FROM templates t WHERE t.subject_id = s.id)"
				     " FROM subjects s ORDER BY s.id LIMIT ?1 OFFSET ?2",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return db_fail(g->db, src, "list");
	sqlite3_bind_int64(s, 1, limit < 0 ? -1 : limit);
	sqlite3_bind_int64(s, 2, offset < 0 ? 0 : offset);
	int rc = BH_OK;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		bh_subject_row r = {
			.id = sqlite3_column_int64(s, 0),
			.external_ref = col_text(s, 1),
			.created = sqlite3_column_int64(s, 2),
			.synthetic = sqlite3_column_int(s, 3),
			.meta_json = col_text(s, 4),
			.n_templates = sqlite3_column_int64(s, 5),
		};
		if ((rc = cb(ctx, &r)) != 0)
			break;
	}
	if (rc == BH_OK && src != SQLITE_DONE)
		rc = db_fail(g->db, src, "list");
	sqlite3_finalize(s);
	return rc;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void bh_gallery_subject_detail_free(bh_subject_detail *d)
{
	if (!d)
		return;
	free(d->external_ref);
	free(d->meta_json);
	free(d->templates);
	for (size_t i = 0; i < d->n_enrolments; i++) {
		free(d->enrolments[i].operator_id);
		free(d->enrolments[i].source);
	}
	free(d->enrolments);
	memset(d, 0, sizeof *d);
}

static int detail_subject(bh_gallery *g, const char *ref, bh_subject_detail *d)
{
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db,
				     "SELECT id, external_ref, created, synthetic, meta FROM subjects"
				     " WHERE external_ref = ?1",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return db_fail(g->db, src, "show");
	sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
	int rc = BH_OK;
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		d->id = sqlite3_column_int64(s, 0);
		d->external_ref = strdup(col_text(s, 1));
		d->created = sqlite3_column_int64(s, 2);
		d->synthetic = sqlite3_column_int(s, 3);
		d->meta_json = dup_or_null(col_text(s, 4));
		if (!d->external_ref || (!d->meta_json && sqlite3_column_type(s, 4) != SQLITE_NULL))
			rc = bh_fail(BH_ENOMEM, "gallery: show: out of memory");
	} else if (src == SQLITE_DONE) {
		rc = bh_fail(BH_ENOTFOUND, "gallery: no subject '%s'", ref);
	} else {
		rc = db_fail(g->db, src, "show");
	}
	sqlite3_finalize(s);
	return rc;
}

static int detail_templates(bh_gallery *g, bh_subject_detail *d)
{
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db,
				     "SELECT id, modality, position, format, quality, length(code),"
				     " coalesce(length(full), 0), created FROM templates"
				     " WHERE subject_id = ?1 ORDER BY id",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return db_fail(g->db, src, "show");
	sqlite3_bind_int64(s, 1, d->id);
	int rc = BH_OK;
	size_t cap = 0;
	while (rc == BH_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
		if (d->n_templates == cap) {
			cap = cap ? 2 * cap : 8;
			bh_template_row *t = realloc(d->templates, cap * sizeof *t);
			if (!t) {
				rc = bh_fail(BH_ENOMEM, "gallery: show: out of memory");
				break;
			}
			d->templates = t;
		}
		d->templates[d->n_templates++] = (bh_template_row){
			.id = sqlite3_column_int64(s, 0),
			.modality = sqlite3_column_int(s, 1),
			.position = sqlite3_column_int(s, 2),
			.format = column_format(s, 3),
			.quality = sqlite3_column_int(s, 4),
			.code_len = (size_t)sqlite3_column_int64(s, 5),
			.full_len = (size_t)sqlite3_column_int64(s, 6),
			.created = sqlite3_column_int64(s, 7),
		};
	}
	if (rc == BH_OK && src != SQLITE_DONE)
		rc = db_fail(g->db, src, "show");
	sqlite3_finalize(s);
	return rc;
}

static int detail_enrolments(bh_gallery *g, bh_subject_detail *d)
{
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db,
				     "SELECT id, operator, source, created, n_templates FROM enrolments"
				     " WHERE subject_id = ?1 ORDER BY id",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return db_fail(g->db, src, "show");
	sqlite3_bind_int64(s, 1, d->id);
	int rc = BH_OK;
	size_t cap = 0;
	while (rc == BH_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
		if (d->n_enrolments == cap) {
			cap = cap ? 2 * cap : 2;
			bh_enrolment_row *e = realloc(d->enrolments, cap * sizeof *e);
			if (!e) {
				rc = bh_fail(BH_ENOMEM, "gallery: show: out of memory");
				break;
			}
			d->enrolments = e;
		}
		bh_enrolment_row *e = &d->enrolments[d->n_enrolments++];
		e->id = sqlite3_column_int64(s, 0);
		e->operator_id = dup_or_null(col_text(s, 1));
		e->source = dup_or_null(col_text(s, 2));
		e->created = sqlite3_column_int64(s, 3);
		e->n_templates = sqlite3_column_int64(s, 4);
		if ((!e->operator_id && sqlite3_column_type(s, 1) != SQLITE_NULL) ||
		    (!e->source && sqlite3_column_type(s, 2) != SQLITE_NULL))
			rc = bh_fail(BH_ENOMEM, "gallery: show: out of memory");
	}
	if (rc == BH_OK && src != SQLITE_DONE)
		rc = db_fail(g->db, src, "show");
	sqlite3_finalize(s);
	return rc;
}

int bh_gallery_subject_get(bh_gallery *g, const char *external_ref, bh_subject_detail *out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "gallery: show: no output");
	memset(out, 0, sizeof *out);
	if (!g || !external_ref)
		return bh_fail(BH_EINVAL, "gallery: show: missing argument");
	int own_tx = sqlite3_get_autocommit(g->db);
	int rc = own_tx ? run(g, ST_BEGIN_READ, "begin read") : BH_OK;
	if (rc != BH_OK)
		return rc;
	rc = detail_subject(g, external_ref, out);
	if (rc == BH_OK)
		rc = detail_templates(g, out);
	if (rc == BH_OK)
		rc = detail_enrolments(g, out);
	if (own_tx)
		run(g, ST_COMMIT, "end read");
	if (rc != BH_OK)
		bh_gallery_subject_detail_free(out);
	return rc;
}

int bh_gallery_get_stats(bh_gallery *g, bh_gallery_stats *st)
{
	if (!g || !st)
		return bh_fail(BH_EINVAL, "gallery: stats: missing argument");
	memset(st, 0, sizeof *st);
	int64_t ver = 0;
	struct {
		const char *sql;
		int64_t *v;
	} q[] = {
		{"PRAGMA user_version", &ver},
		{"SELECT count(*) FROM subjects", &st->subjects},
		{"SELECT count(*) FROM subjects WHERE synthetic = 1", &st->synthetic_subjects},
		{"SELECT count(*) FROM enrolments", &st->enrolments},
		{"SELECT count(*) FROM audit", &st->audit_rows},
		{"SELECT count(*) FROM templates", &st->templates[0]},
		{"SELECT count(*) FROM templates WHERE modality = 1", &st->templates[BH_MOD_FACE]},
		{"SELECT count(*) FROM templates WHERE modality = 2", &st->templates[BH_MOD_FINGER]},
		{"SELECT count(*) FROM templates WHERE modality = 3", &st->templates[BH_MOD_PALM]},
		{"SELECT count(*) FROM templates WHERE full IS NOT NULL", &st->full_templates},
		{"PRAGMA page_size", &st->page_size},
		{"PRAGMA page_count", &st->page_count},
		{"PRAGMA freelist_count", &st->freelist_pages},
	};
	int own_tx = sqlite3_get_autocommit(g->db);
	int rc = own_tx ? run(g, ST_BEGIN_READ, "begin read") : BH_OK;
	for (size_t i = 0; rc == BH_OK && i < sizeof q / sizeof q[0]; i++) {
		int src = query_int(g->db, q[i].sql, q[i].v);
		if (src != SQLITE_OK)
			rc = db_fail(g->db, src, "stats");
	}
	if (own_tx)
		run(g, ST_COMMIT, "end read");
	st->schema_version = (int)ver;
	return rc;
}

/* Runs a check pragma/query whose healthy answer is "ok" or no row at all. */
static int check_rows(bh_gallery *g, const char *sql, const char *what, int want_ok)
{
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db, sql, -1, &s, NULL);
	if (src != SQLITE_OK)
		return bh_fail(BH_EDB, "gallery: %s: %s", what, sqlite3_errmsg(g->db));
	int rc = BH_OK;
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		const char *t = col_text(s, 0);
		if (!(want_ok && t && !strcmp(t, "ok")))
			rc = bh_fail(BH_EDB, "gallery: %s failed: %s", what, t ? t : "(row)");
	} else if (src != SQLITE_DONE) {
		rc = bh_fail(BH_EDB, "gallery: %s: %s", what, sqlite3_errmsg(g->db));
	} else if (want_ok) {
		rc = bh_fail(BH_EDB, "gallery: %s returned nothing", what);
	}
	sqlite3_finalize(s);
	return rc;
}

int bh_gallery_check(bh_gallery *g, int full)
{
	if (!g)
		return bh_fail(BH_EINVAL, "gallery: check: no handle");
	int rc = check_rows(g, full ? "PRAGMA integrity_check" : "PRAGMA quick_check",
			    full ? "integrity_check" : "quick_check", 1);
	if (rc == BH_OK)
		rc = check_rows(g, "PRAGMA foreign_key_check", "foreign_key_check", 0);
	if (rc == BH_OK)
		rc = check_rows(g,
				"SELECT 'subject ' || e.subject_id || ' has ' || (SELECT count(*) FROM"
				" templates t WHERE t.subject_id = e.subject_id) || ' templates, "
				"enrolment says ' || e.n_templates FROM enrolments e WHERE e.n_templates"
				" != (SELECT count(*) FROM templates t WHERE t.subject_id = e.subject_id)"
				" LIMIT 1",
				"template count", 0);
	if (rc == BH_OK)
		rc = check_rows(g,
				"SELECT 'subject ' || s.id || ' has ' || (SELECT count(*) FROM"
				" enrolments e WHERE e.subject_id = s.id) || ' enrolment rows' FROM"
				" subjects s WHERE (SELECT count(*) FROM enrolments e WHERE"
				" e.subject_id = s.id) != 1 LIMIT 1",
				"enrolment rows", 0);
	return rc;
}

int bh_gallery_check_templates(bh_gallery *g, bh_template_census *c)
{
	if (!g || !c)
		return bh_fail(BH_EINVAL, "gallery: check_templates: missing argument");
	*c = (bh_template_census){0};
	sqlite3_stmt *s = NULL;
	int src = sqlite3_prepare_v2(g->db,
				     "SELECT id, modality, position, format, code, full FROM templates ORDER BY id",
				     -1, &s, NULL);
	if (src != SQLITE_OK)
		return bh_fail(BH_EDB, "gallery: template check: %s", sqlite3_errmsg(g->db));
	char why[200] = "";
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		const int64_t id = sqlite3_column_int64(s, 0);
		const int modality = sqlite3_column_int(s, 1);
		const void *code = sqlite3_column_blob(s, 4), *full = sqlite3_column_blob(s, 5);
		const size_t code_len = (size_t)sqlite3_column_bytes(s, 4);
		const size_t full_len = (size_t)sqlite3_column_bytes(s, 5);
		c->checked++;
		if (bh_template_check(modality, sqlite3_column_int(s, 2), column_format(s, 3),
				      code, code_len, full, full_len) != BH_OK) {
			if (!c->bad++) {
				c->first_bad_id = id;
				snprintf(why, sizeof why, "%s", bh_errmsg());
			}
			continue;
		}
		c->finger_no_field += modality == BH_MOD_FINGER && full_len && !bh_template_has_field(modality, full, full_len);
	}
	const int rc = src == SQLITE_DONE ? BH_OK : bh_fail(BH_EDB, "gallery: template check: %s", sqlite3_errmsg(g->db));
	sqlite3_finalize(s);
	if (rc != BH_OK)
		return rc;
	if (c->bad)
		return bh_fail(BH_EFORMAT, "gallery: %lld of %lld templates invalid; the first, id %lld: %s",
			       (long long)c->bad, (long long)c->checked, (long long)c->first_bad_id, why);
	return BH_OK;
}
