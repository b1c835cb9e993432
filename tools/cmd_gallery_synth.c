/* cmd_gallery_synth.c - `biohub gallery synth`: synthetic subjects for scale
 * tests and benchmarks, marked synthetic = 1 in the database.
 *
 * Subject i (0 <= i < max(faces, fingers, palms)) gets
 *   a face   if i < faces:   a random direction in R^128 (normalised
 *                            Gaussian), quantised like real descriptors
 *                            (x * BH_FACE_QSCALE, rounded, clamped to
 *                            [-127, 127]; bh_template.h);
 *   a finger if i < fingers: a uniformly random 256-bit code, position
 *                            1 + i % 10;
 *   a palm   if i < palms:   a uniformly random 2048-bit code.
 * No full templates.  The generator is xoshiro256** seeded from --seed, so a
 * seed gives the same gallery on every machine.
 *
 * Speed: each subject is its own transaction (as in real enrolment) unless
 * --batch N groups N subjects per commit.  The gallery is opened with
 * BH_GALLERY_FAST_SYNC (synchronous=NORMAL under WAL): commits stay atomic
 * and survive a crash of this process, only a power loss can drop the last
 * ones, which is fine for data regenerated from a seed, and it removes an
 * fsync per subject (the difference between ~100 and ~10^4+ subjects/s).
 * Statements are prepared once and reused by bh_gallery_enroll().
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bh_template.h"
#include "bh_time.h"
#include "cmd_gallery.h"

typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in (0, 1]. */
static double rng_unit(rng *r) { return ((rng_next(r) >> 11) + 1) * 0x1.0p-53; }

static void random_bits(rng *r, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(r);
		memcpy(out + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void random_face(rng *r, int8_t out[BH_FACE_DIM])
{
	double v[BH_FACE_DIM], norm = 0;
	for (int i = 0; i < BH_FACE_DIM; i += 2) { /* Box-Muller, two at a time */
		double rad = sqrt(-2.0 * log(rng_unit(r))), th = 2.0 * M_PI * rng_unit(r);
		v[i] = rad * cos(th);
		v[i + 1] = rad * sin(th);
		norm += v[i] * v[i] + v[i + 1] * v[i + 1];
	}
	double k = BH_FACE_QSCALE / sqrt(norm);
	for (int i = 0; i < BH_FACE_DIM; i++) {
		long q = lround(v[i] * k);
		out[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
	}
}

typedef struct synth_opts {
	const char *gallery, *prefix;
	int64_t faces, fingers, palms, batch;
	uint64_t seed;
	int json, quiet;
} synth_opts;

static int usage(FILE *f)
{
	fputs("usage: biohub gallery synth GALLERY [--faces N] [--fingers N] [--palms N]\n"
	      "         [--seed S] [--prefix P] [--batch N] [--quiet] [--json]\n"
	      "  subject i gets a face if i < faces, a finger if i < fingers, a palm if\n"
	      "  i < palms; references P<i> (default prefix synth-S-); one transaction per\n"
	      "  subject unless --batch N.  Creates GALLERY if missing.\n",
	      f);
	return f == stdout ? 0 : 2;
}

static int parse(int argc, char **argv, synth_opts *o)
{
	static const struct option opts[] = {
		{"faces", required_argument, 0, 'f'}, {"fingers", required_argument, 0, 'g'},
		{"palms", required_argument, 0, 'p'}, {"seed", required_argument, 0, 's'},
		{"prefix", required_argument, 0, 'P'}, {"batch", required_argument, 0, 'b'},
		{"quiet", no_argument, 0, 'q'},       {"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
	const int64_t max_n = 100000000; /* 10^8 subjects: far past any test */
	int c;
	int64_t v;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'f': bad = gallery_parse_i64("--faces", optarg, 0, max_n, &o->faces); break;
		case 'g': bad = gallery_parse_i64("--fingers", optarg, 0, max_n, &o->fingers); break;
		case 'p': bad = gallery_parse_i64("--palms", optarg, 0, max_n, &o->palms); break;
		case 'b': bad = gallery_parse_i64("--batch", optarg, 1, 1000000, &o->batch); break;
		case 's':
			bad = gallery_parse_i64("--seed", optarg, 0, INT64_MAX, &v);
			o->seed = (uint64_t)v;
			break;
		case 'P': o->prefix = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'j': o->json = 1; break;
		case 'h': return usage(stdout);
		default: return usage(stderr);
		}
		if (bad)
			return 2;
	}
	if (argc - optind != 1)
		return usage(stderr);
	if (!o->faces && !o->fingers && !o->palms) {
		fprintf(stderr, "biohub: gallery synth: nothing to do (give --faces, --fingers or --palms)\n");
		return 2;
	}
	o->gallery = argv[optind];
	return -1;
}

/* Enrols subjects [0, n) with their group commits. */
static int synth_run(bh_gallery *g, const synth_opts *o, int64_t n, int64_t *done_out,
		     int64_t *templates)
{
	rng r;
	rng_seed(&r, o->seed);
	char prefix[128], ref[BH_GALLERY_REF_MAX + 1], source[64];
	if (o->prefix)
		snprintf(prefix, sizeof prefix, "%s", o->prefix);
	else
		snprintf(prefix, sizeof prefix, "synth-%" PRIu64 "-", o->seed);
	snprintf(source, sizeof source, "synth seed=%" PRIu64, o->seed);
	int8_t face[BH_FACE_DIM];
	uint8_t finger[BH_FINGER_CODE_BITS / 8], palm[BH_PALM_CODE_BITS / 8];
	bh_template_rec t[3];
	bh_subject_info si = {.external_ref = ref, .operator_id = "synth", .source = source,
			      .synthetic = 1};
	int rc = BH_OK, grouped = o->batch > 1;
	int64_t i = 0;
	for (; rc == BH_OK && i < n; i++) {
		if (grouped && i % o->batch == 0 && (rc = bh_gallery_begin(g)) != BH_OK)
			break;
		size_t nt = 0;
		if (i < o->faces) {
			random_face(&r, face);
			t[nt++] = (bh_template_rec){BH_MOD_FACE, 0, BH_FMT_FACE_V1, -1, face, sizeof face,
						    NULL, 0};
		}
		if (i < o->fingers) {
			random_bits(&r, finger, sizeof finger);
			t[nt++] = (bh_template_rec){BH_MOD_FINGER, (int)(1 + i % 10), BH_FMT_FINGER_V1, -1,
						    finger, sizeof finger, NULL, 0};
		}
		if (i < o->palms) {
			random_bits(&r, palm, sizeof palm);
			t[nt++] = (bh_template_rec){BH_MOD_PALM, 0, BH_FMT_PALM_V1, -1, palm, sizeof palm,
						    NULL, 0};
		}
		/* zero-padded: references sort in insertion order, so the unique
		 * index grows at its right edge instead of all over */
		snprintf(ref, sizeof ref, "%s%09" PRId64, prefix, i);
		rc = bh_gallery_enroll(g, &si, t, nt, NULL);
		if (rc == BH_OK)
			*templates += (int64_t)nt;
		if (rc == BH_OK && grouped && ((i + 1) % o->batch == 0 || i + 1 == n))
			rc = bh_gallery_commit(g);
		if (rc == BH_OK && !o->quiet && (i + 1) % 100000 == 0)
			fprintf(stderr, "synth: %" PRId64 "/%" PRId64 " subjects\n", i + 1, n);
	}
	if (rc != BH_OK && grouped) { /* the open group is lost as a whole */
		bh_gallery_rollback(g);
		i -= i % o->batch;
	} else if (rc != BH_OK) {
		i--;
	}
	*done_out = i;
	return rc;
}

int gallery_synth(int argc, char **argv)
{
	synth_opts o = {.batch = 1, .seed = 1};
	int ret = parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	int64_t n = o.faces > o.fingers ? o.faces : o.fingers;
	n = o.palms > n ? o.palms : n;
	bh_gallery *g;
	if (gallery_open_cli(o.gallery, BH_GALLERY_CREATE | BH_GALLERY_FAST_SYNC | BH_GALLERY_EXCLUSIVE,
			     &g))
		return 1;
	int64_t done = 0, templates = 0;
	uint64_t t0 = bh_now_ns();
	bh_errclear();
	int rc = synth_run(g, &o, n, &done, &templates);
	bh_gallery_close(g);
	double sec = (bh_now_ns() - t0) / 1e9;
	if (rc != BH_OK) {
		bh_cli_error("gallery synth", rc);
		fprintf(stderr, "(%" PRId64 " synthetic subjects were committed before the error%s)\n",
			done, rc == BH_EEXIST ? "; use another --seed or --prefix" : "");
		return 1;
	}
	if (o.json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "gallery", o.gallery);
		bh_json_int(&j, "subjects", done);
		bh_json_int(&j, "templates", templates);
		bh_json_int(&j, "faces", o.faces);
		bh_json_int(&j, "fingers", o.fingers);
		bh_json_int(&j, "palms", o.palms);
		bh_json_uint(&j, "seed", o.seed);
		bh_json_int(&j, "batch", o.batch);
		bh_json_num(&j, "seconds", sec);
		bh_json_num(&j, "subjects_per_s", sec > 0 ? done / sec : 0);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("synth: %" PRId64 " subjects (%" PRId64 " templates) in %.2f s: %.0f subjects/s"
		       " (batch %" PRId64 ")\n",
		       done, templates, sec, sec > 0 ? done / sec : 0, o.batch);
	}
	return 0;
}
