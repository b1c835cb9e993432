/* test_gallery_crash.c - crash safety of enrolment, end to end.
 *
 * Runs the real `biohub gallery enroll --bulk` (and `gallery synth --batch`)
 * many times and SIGKILLs it at random moments.  After every kill the
 * database is opened with plain SQLite (not our library) and must show:
 *   - PRAGMA integrity_check = ok, foreign_key_check empty;
 *   - every subject has exactly one enrolment row whose n_templates equals
 *     its template count (no half subject);
 *   - the subjects of the killed run are a prefix of its list (each commit
 *     is durable, nothing after a lost one), with exactly the templates and
 *     code bytes the list asked for;
 *   - for synth, whole groups only (multiples of --batch);
 *   - every subject committed before the run is still there.
 * Usage: test_gallery_crash BIOHUB_EXE   (seed: $BH_TEST_SEED or the clock)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bh_err.h"
#include "bh_mcc.h"
#include "bh_minutiae.h"
#include "bh_template.h"

#define ROUNDS_BULK 20
#define ROUNDS_SYNTH 6
#define LINES 1500
#define NFILES 24
#define SYNTH_BATCH 50

static const char *biohub;
static char dir[64], gal[128];
static unsigned seed;
static unsigned startup_ms; /* wall time of a no-op biohub run, measured */
static int failures;
static long last_run_ms; /* how long the last killed run lived */

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "FAIL (seed %u) %s:%d: ", seed, __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			failures++;                                                        \
			return -1;                                                         \
		}                                                                          \
	} while (0)

/* Deterministic bytes of template file `kind` number j. */
static void file_bytes(int kind, int j, uint8_t *out, size_t n)
{
	uint32_t x = (uint32_t)(kind * 7919 + j * 104729 + 1);
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		out[i] = (uint8_t)(x >> 24);
	}
}

/* Full finger template j: a real MCC blob (the gallery validates it) from
 * 4 + 3j seeded random minutiae, so the blobs grow from ~1 to tens of KB. */
static size_t fsize[NFILES];
static size_t full_size(int j) { return fsize[j]; }

static int full_bytes(int j, uint8_t *out, size_t cap)
{
	bh_minutia m[4 + 3 * NFILES];
	uint32_t n = 4 + 3 * (uint32_t)j, x = (uint32_t)(j * 104729 + 17);
	for (uint32_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		m[i] = (bh_minutia){.x = 20.0f + (float)(x >> 24) * 1.5f, .y = 20.0f + (float)(x >> 16 & 255) * 1.5f,
				    .theta = (float)(x % 628) / 100.0f, .type = 1 + (x >> 5 & 1), .quality = 50};
	}
	uint8_t fg = 1;
	bh_fp_features f = {.w = 420, .h = 420, .bw = 1, .bh = 1, .fg = &fg, .n = n, .m = m, .quality = 50};
	uint8_t *blob;
	size_t len;
	CHECK(bh_mcc_build(&f, &blob, &len) == BH_OK && len <= cap, "mcc blob %d", j);
	memcpy(out, blob, len);
	free(blob);
	fsize[j] = len;
	return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static int make_files(void)
{
	static uint8_t buf[64 << 10];
	char p[256];
	for (int j = 0; j < NFILES; j++) {
		snprintf(p, sizeof p, "%s/fc%d.bin", dir, j);
		file_bytes(1, j, buf, 32);
		CHECK(!write_file(p, buf, 32), "write %s", p);
		snprintf(p, sizeof p, "%s/ff%d.bin", dir, j);
		if (full_bytes(j, buf, sizeof buf))
			return -1;
		CHECK(!write_file(p, buf, full_size(j)), "write %s", p);
		snprintf(p, sizeof p, "%s/face%d.bin", dir, j);
		file_bytes(3, j, buf, 128);
		CHECK(!write_file(p, buf, 128), "write %s", p);
	}
	return 0;
}

/* Subject i of a round: 1 + i % 4 templates (fingers with fulls, maybe a face). */
static int subject_templates(int i) { return 1 + i % 4; }

static int write_bulk(int round, char *path, size_t n)
{
	snprintf(path, n, "%s/bulk%d.txt", dir, round);
	FILE *f = fopen(path, "w");
	CHECK(f, "open %s", path);
	fprintf(f, "# round %d\n", round);
	for (int i = 0; i < LINES; i++) {
		fprintf(f, "r%02d-%05d", round, i);
		int nt = subject_templates(i);
		for (int k = 0; k < nt; k++) {
			int j = (i * 3 + k) % NFILES;
			if (k == 3)
				fprintf(f, " face=face%d.bin", j);
			else
				fprintf(f, " finger:%d=fc%d.bin full:finger:%d=ff%d.bin", k + 1, j, k + 1, j);
		}
		fputc('\n', f);
	}
	CHECK(fclose(f) == 0, "close %s", path);
	return 0;
}

/* fork+exec biohub with argv; returns the pid. */
static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int run_wait(char *const argv[])
{
	pid_t pid = spawn(argv);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv and SIGKILLs it: once the gallery's WAL has grown to
 * `wal_bytes` (commits under way: the kill lands at an arbitrary point of
 * the commit stream), or after `max_ms` whatever happened (a kill during
 * start-up or open).  Returns 1 if killed, 0 if it ended by itself. */
static int run_and_kill(char *const argv[], long wal_bytes, unsigned max_ms)
{
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", gal);
	pid_t pid = spawn(argv);
	if (pid < 0)
		return -1;
	struct timespec tick = {0, 2000000L}, t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st, killed = 0;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return 0;
		struct stat sb;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if ((wal_bytes >= 0 && stat(wal, &sb) == 0 && sb.st_size >= wal_bytes) ||
		    ms >= (long)max_ms)
			break;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	killed = 1;
	clock_gettime(CLOCK_MONOTONIC, &t);
	last_run_ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
	waitpid(pid, &st, 0);
	return killed;
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static const char *q_text(sqlite3 *db, const char *sql, char *buf, size_t n)
{
	sqlite3_stmt *s;
	snprintf(buf, n, "(no row: %s)", sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
		else if (rc == SQLITE_DONE)
			buf[0] = '\0';
	}
	sqlite3_finalize(s);
	return buf;
}

/* Invariants that hold for the whole database. */
static int check_global(sqlite3 *db)
{
	char t[512];
	CHECK(!strcmp(q_text(db, "PRAGMA integrity_check", t, sizeof t), "ok"), "integrity: %s", t);
	CHECK(!strcmp(q_text(db, "PRAGMA foreign_key_check", t, sizeof t), ""), "fk: %s", t);
	CHECK(q_int(db, "SELECT count(*) FROM enrolments e WHERE n_templates !="
			" (SELECT count(*) FROM templates t WHERE t.subject_id = e.subject_id)") == 0,
	      "an enrolment's n_templates differs from its template count");
	CHECK(q_int(db, "SELECT count(*) FROM subjects s WHERE (SELECT count(*) FROM enrolments e"
			" WHERE e.subject_id = s.id) != 1") == 0,
	      "a subject without exactly one enrolment row");
	CHECK(q_int(db, "SELECT count(*) FROM templates t WHERE NOT EXISTS"
			" (SELECT 1 FROM subjects s WHERE s.id = t.subject_id)") == 0,
	      "orphan templates");
	return 0;
}

/* The subjects of bulk round r: a prefix of the list, exactly as listed. */
static int check_bulk_round(sqlite3 *db, int r, int64_t *committed)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "SELECT s.external_ref, t.modality, t.position, t.code, length(t.full),"
		 " (SELECT n_templates FROM enrolments e WHERE e.subject_id = s.id)"
		 " FROM subjects s JOIN templates t ON t.subject_id = s.id"
		 " WHERE s.external_ref LIKE 'r%02d-%%' ORDER BY s.id, t.id",
		 r);
	sqlite3_stmt *s;
	CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	int subj = -1, k = 0, bad = 0;
	uint8_t want[128];
	while (!bad && sqlite3_step(s) == SQLITE_ROW) {
		char ref[32];
		snprintf(ref, sizeof ref, "%s", (const char *)sqlite3_column_text(s, 0));
		int i = atoi(ref + 4);
		if (i != subj) { /* next subject: must be the next line */
			if (subj >= 0 && k != subject_templates(subj))
				bad = 1;
			if (i != subj + 1)
				bad = 2;
			subj = i;
			k = 0;
		}
		int j = (i * 3 + k) % NFILES, face = k == 3;
		int mod = sqlite3_column_int(s, 1), pos = sqlite3_column_int(s, 2);
		size_t clen = (size_t)sqlite3_column_bytes(s, 3);
		const void *code = sqlite3_column_blob(s, 3);
		file_bytes(face ? 3 : 1, j, want, face ? 128 : 32);
		if (mod != (face ? 1 : 2) || pos != (face ? 0 : k + 1) || clen != (face ? 128u : 32u) ||
		    memcmp(code, want, clen) ||
		    sqlite3_column_int64(s, 4) != (face ? 0 : (int64_t)full_size(j)) ||
		    sqlite3_column_int(s, 5) != subject_templates(i))
			bad = 3;
		k++;
	}
	sqlite3_finalize(s);
	if (!bad && subj >= 0 && k != subject_templates(subj))
		bad = 1;
	CHECK(!bad, "round %d: subject r%02d-%05d %s", r, r, subj,
	      bad == 1 ? "has the wrong number of templates"
	      : bad == 2 ? "is not the next line (a gap: a lost commit)"
			 : "templates differ from the list");
	*committed = subj + 1;
	return 0;
}

static sqlite3 *open_db(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(gal, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "FAIL: open %s: %s\n", gal, db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int bulk_rounds(int64_t *total)
{
	int kills = 0;
	for (int r = 0; r < ROUNDS_BULK; r++) {
		char list[256];
		if (write_bulk(r, list, sizeof list))
			return -1;
		char *argv[] = {(char *)biohub, "gallery", "enroll", gal, "--bulk", list, "--quiet", NULL};
		/* every fourth run: a timed kill, from start-up to mid-enrolment;
		 * the others: once 0..1.5 MB of commits are in the WAL */
		long wal = r % 4 == 3 ? -1 : (long)(rand() % (3 << 19));
		unsigned ms = wal < 0 ? startup_ms / 2 + (unsigned)(rand() % (startup_ms + 600)) : 4000;
		int killed = run_and_kill(argv, wal, ms);
		CHECK(killed >= 0, "spawn failed");
		kills += killed;
		sqlite3 *db = open_db();
		CHECK(db, "reopen after round %d", r);
		int64_t c = 0;
		int rc = check_global(db);
		if (rc == 0)
			rc = check_bulk_round(db, r, &c);
		int64_t now = q_int(db, "SELECT count(*) FROM subjects");
		sqlite3_close(db);
		if (rc)
			return -1;
		CHECK(now == *total + c, "round %d: %lld subjects, expected %lld + %lld", r,
		      (long long)now, (long long)*total, (long long)c);
		CHECK(killed || c == LINES, "round %d ended by itself with %lld of %d subjects", r,
		      (long long)c, LINES);
		printf("bulk round %2d: %s at %5ld ms (%s %7ld), %4lld/%d subjects committed, all checks ok\n",
		       r, killed ? "SIGKILL" : "exited ", last_run_ms, wal < 0 ? "ms " : "wal",
		       wal < 0 ? (long)ms : wal, (long long)c, LINES);
		*total = now;
	}
	printf("%d of %d bulk runs killed mid-way\n", kills, ROUNDS_BULK);
	return 0;
}

static int synth_rounds(int64_t *total)
{
	for (int r = 0; r < ROUNDS_SYNTH; r++) {
		char prefix[32], batch[16];
		snprintf(prefix, sizeof prefix, "s%02d-", r);
		snprintf(batch, sizeof batch, "%d", SYNTH_BATCH);
		char *argv[] = {(char *)biohub, "gallery", "synth", gal, "--faces", "200000",
				"--fingers", "200000", "--prefix", prefix, "--batch", batch,
				"--quiet", NULL};
		long wal = (long)(rand() % (3 << 19));
		int killed = run_and_kill(argv, wal, 4000);
		CHECK(killed == 1, "synth of 200000 subjects finished before the kill?");
		sqlite3 *db = open_db();
		CHECK(db, "reopen after synth round %d", r);
		char sql[256];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM subjects WHERE external_ref LIKE 's%02d-%%'", r);
		int64_t c = q_int(db, sql);
		int rc = check_global(db);
		int64_t now = q_int(db, "SELECT count(*) FROM subjects");
		int64_t nsyn = q_int(db, "SELECT count(*) FROM subjects WHERE synthetic = 1");
		sqlite3_close(db);
		if (rc)
			return -1;
		CHECK(c % SYNTH_BATCH == 0, "synth round %d: %lld subjects, not whole groups of %d", r,
		      (long long)c, SYNTH_BATCH);
		CHECK(now == *total + c, "synth round %d: subject count %lld != %lld + %lld", r,
		      (long long)now, (long long)*total, (long long)c);
		CHECK(nsyn >= c, "synthetic flag missing");
		printf("synth round %d: SIGKILL at %5ld ms (wal %7ld), %lld subjects in whole groups, ok\n",
		       r, last_run_ms, wal, (long long)c);
		*total = now;
	}
	return 0;
}

/* `gallery synth` content: deterministic per seed, faces unit-norm after
 * quantisation, finger positions 1..10, code sizes per bh_template.h, every
 * subject marked synthetic. */
static int synth_content(void)
{
	char a[160], b[160];
	snprintf(a, sizeof a, "%s/sa.db", dir);
	snprintf(b, sizeof b, "%s/sb.db", dir);
	for (int k = 0; k < 2; k++) {
		char *argv[] = {(char *)biohub, "gallery", "synth", k ? b : a, "--faces", "300",
				"--fingers", "200", "--palms", "50", "--seed", "7", "--quiet", NULL};
		CHECK(run_wait(argv) == 0, "synth into %s", k ? b : a);
	}
	sqlite3 *da, *db;
	CHECK(sqlite3_open_v2(a, &da, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", a);
	CHECK(sqlite3_open_v2(b, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", b);
	const char *sql = "SELECT s.external_ref, s.synthetic, t.modality, t.position, t.code"
			  " FROM templates t JOIN subjects s ON s.id = t.subject_id ORDER BY t.id";
	sqlite3_stmt *qa, *qb;
	CHECK(sqlite3_prepare_v2(da, sql, -1, &qa, NULL) == SQLITE_OK, "prepare");
	CHECK(sqlite3_prepare_v2(db, sql, -1, &qb, NULL) == SQLITE_OK, "prepare");
	int n[4] = {0}, bad = 0;
	while (!bad && sqlite3_step(qa) == SQLITE_ROW) {
		if (sqlite3_step(qb) != SQLITE_ROW)
			bad = 1;
		int mod = sqlite3_column_int(qa, 2), pos = sqlite3_column_int(qa, 3);
		int len = sqlite3_column_bytes(qa, 4);
		const int8_t *c = sqlite3_column_blob(qa, 4);
		if (!bad && (len != sqlite3_column_bytes(qb, 4) ||
			     memcmp(c, sqlite3_column_blob(qb, 4), (size_t)len) ||
			     strcmp((const char *)sqlite3_column_text(qa, 0),
				    (const char *)sqlite3_column_text(qb, 0))))
			bad = 2;
		if (!bad && sqlite3_column_int(qa, 1) != 1)
			bad = 3;
		if (!bad && mod == 1) {
			long ss = 0;
			for (int i = 0; i < len; i++)
				ss += (long)c[i] * c[i];
			if (len != BH_FACE_DIM || ss < 127L * 127 * 97 / 100 || ss > 127L * 127 * 103 / 100)
				bad = 4;
		}
		if (!bad && mod == 2 && (len != BH_FINGER_CODE_BITS / 8 || pos < 1 || pos > 10))
			bad = 5;
		if (!bad && mod == 3 && (len != BH_PALM_CODE_BITS / 8 || pos != 0))
			bad = 6;
		if (!bad && mod >= 1 && mod <= 3)
			n[mod]++;
	}
	if (!bad && sqlite3_step(qb) != SQLITE_DONE)
		bad = 1;
	sqlite3_finalize(qa);
	sqlite3_finalize(qb);
	sqlite3_close(da);
	sqlite3_close(db);
	CHECK(!bad, "synth content check failed (%s)",
	      (const char *[]){"", "different row counts", "same seed, different gallery",
			       "synthetic flag", "face not unit norm", "finger code/position",
			       "palm code/position"}[bad]);
	CHECK(n[1] == 300 && n[2] == 200 && n[3] == 50, "synth counts %d/%d/%d", n[1], n[2], n[3]);
	printf("synth content ok: same seed -> identical gallery; faces unit-norm; codes sized\n");
	return 0;
}

/* Image inputs go through the modality extractors (real data; skipped when
 * ../shared/data is absent): a good enrolment stores one template per image
 * (fingers with a full part); a truncated image fails and changes nothing.
 * Skipped when the data or the face weights (scripts/setup) are absent. */
static int image_enroll(void)
{
	const char *fp = BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB1_B/101_1.pgm";
	const char *face = BH_SHARED_DATA_DIR "/face/lfw_dev/Madonna/Madonna_0001.jpg";
	if (access(fp, R_OK) || access(face, R_OK) ||
	    access(BH_DEFAULT_MODEL_DIR "/face_recognition_model.bin", R_OK)) {
		printf("image enrolment: sample data or face weights absent, skipped\n");
		return 0;
	}
	char g3[160], cut[160], fpos[300];
	snprintf(g3, sizeof g3, "%s/img.db", dir);
	snprintf(cut, sizeof cut, "%s/cut.jpg", dir);
	snprintf(fpos, sizeof fpos, "1=%s", fp);
	char *create[] = {(char *)biohub, "gallery", "create", g3, NULL};
	CHECK(run_wait(create) == 0, "create %s", g3);
	char *ok[] = {(char *)biohub, "gallery", "enroll", g3, "--ref", "IMG-1", "--finger", fpos,
		      "--face", (char *)face, NULL};
	CHECK(run_wait(ok) == 0, "enrol from images");
	/* a truncated JPEG: error, nothing changed */
	FILE *in = fopen(face, "rb");
	CHECK(in, "open %s", face);
	static uint8_t buf[4096];
	size_t n = fread(buf, 1, sizeof buf, in);
	fclose(in);
	CHECK(n > 1000 && !write_file(cut, buf, n / 2), "write %s", cut);
	char *bad[] = {(char *)biohub, "gallery", "enroll", g3, "--ref", "IMG-2", "--finger", fpos,
		       "--face", cut, NULL};
	CHECK(run_wait(bad) == 1, "truncated image must fail with exit 1");
	sqlite3 *db;
	CHECK(sqlite3_open_v2(g3, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", g3);
	int64_t subj = q_int(db, "SELECT count(*) FROM subjects");
	int64_t faces = q_int(db, "SELECT count(*) FROM templates WHERE modality = 1 AND full IS NULL"
				  " AND length(code) = 128");
	int64_t fingers = q_int(db, "SELECT count(*) FROM templates WHERE modality = 2 AND"
				    " position = 1 AND length(full) > 0");
	sqlite3_close(db);
	CHECK(subj == 1 && faces == 1 && fingers == 1,
	      "image enrolment stored %lld subjects, %lld faces, %lld fingers", (long long)subj,
	      (long long)faces, (long long)fingers);
	printf("image enrolment ok: face + finger extracted; truncated image refused, nothing changed\n");
	return 0;
}

static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s BIOHUB_EXE\n", argv[0]);
		return 2;
	}
	biohub = argv[1];
	const char *es = getenv("BH_TEST_SEED");
	seed = es ? (unsigned)strtoul(es, NULL, 10) : (unsigned)time(NULL);
	srand(seed);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("seed %u (set BH_TEST_SEED to repeat)\n", seed);
	snprintf(dir, sizeof dir, "/tmp/bh_gallery_crash.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(gal, sizeof gal, "%s/g.db", dir);
	char *create[] = {(char *)biohub, "gallery", "create", gal, NULL};
	int rc = make_files();
	if (rc == 0 && run_wait(create) != 0) {
		fprintf(stderr, "FAIL: biohub gallery create\n");
		rc = -1;
	}
	char *check[] = {(char *)biohub, "gallery", "check", gal, NULL};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rc == 0 && run_wait(check) != 0) {
		fprintf(stderr, "FAIL: biohub gallery check on a new gallery\n");
		rc = -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	startup_ms = (unsigned)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	printf("biohub start-up %u ms\n", startup_ms);
	int64_t total = 0;
	if (rc == 0)
		rc = bulk_rounds(&total);
	if (rc == 0)
		rc = synth_rounds(&total);
	if (rc == 0)
		rc = synth_content();
	if (rc == 0)
		rc = image_enroll();
	/* Our own checker agrees, and the gallery is still usable. */
	if (rc == 0 && run_wait(check) != 0) {
		fprintf(stderr, "FAIL: biohub gallery check after the kills\n");
		rc = -1;
	}
	cleanup();
	if (rc || failures) {
		fprintf(stderr, "gallery crash test FAILED (seed %u)\n", seed);
		return 1;
	}
	printf("gallery crash test ok: %lld subjects after %d killed runs\n", (long long)total,
	       ROUNDS_BULK + ROUNDS_SYNTH);
	return 0;
}
