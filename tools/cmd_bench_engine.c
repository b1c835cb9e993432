/* cmd_bench_engine.c - `biohub bench engine`: queries/s of the 1:N engine per
 * backend, against FAISS flat indexes and the memory roofline measured in the
 * same run on the same data.
 *
 * Galleries: face 1M x 128-D int8 (DOT_I8) and binary 1M x 256-bit codes
 * (HAMMING, packed 32-byte rows), random, deterministic seed.  For each, and
 * for single queries and batches, it times:
 *   - the engine with each backend that runs here (same thread count for all);
 *   - FAISS IndexFlatIP on the same vectors as float / IndexBinaryFlat on the
 *     same codes, with omp_set_num_threads(threads);
 *   - the roofline: a streaming read (sum of 64-bit words) of the gallery bytes
 *     with the same threads; one read serves one batch, so
 *     roofline_queries_per_s = batch / read time.
 * Every timing repeats the call until --seconds have passed (at least once).
 * The machine may be shared: figures are noisy; the anchors are measured in
 * the same run so ratios are the meaningful part. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_faiss.h"
#include "bh_cli.h"
#include "bh_engine.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"

#define MAX_BATCH 256

typedef struct opts {
	int json, quick, implicit_ids, padded, no_faiss;
	size_t n;
	unsigned threads;
	uint32_t k;
	double secs;
	size_t batches[4];
	int nbatches;
	const char *backend; /* NULL = every backend that runs here */
} opts;

typedef struct gallery {
	bh_kernel kernel;
	uint32_t dim;
	const char *name;
	bh_shard s;
	uint8_t *data, *qs;
	uint64_t *ids;
	size_t qstride;
} gallery;

/* ---- timing -------------------------------------------------------------- */

typedef int (*run_fn)(void *ctx, size_t nq, size_t q0);

typedef struct rate {
	double wall; /* queries per wall-clock second */
	double cpu;  /* queries per second of `threads` dedicated cores: queries /
		      * (process CPU seconds / threads); steadier on a shared box */
} rate;

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Queries per second of fn over `nq`-query calls, cycling through queries. */
static int time_qps(run_fn fn, void *ctx, size_t nq, double secs, unsigned threads, rate *r)
{
	uint64_t t0 = bh_now_ns(), t;
	double c0 = cpu_seconds();
	size_t calls = 0;
	do {
		int rc = fn(ctx, nq, (calls * nq) % (MAX_BATCH - nq + 1));
		if (rc)
			return rc;
		calls++;
		t = bh_now_ns();
	} while ((double)(t - t0) * 1e-9 < secs);
	double c = cpu_seconds() - c0;
	r->wall = (double)(calls * nq) / ((double)(t - t0) * 1e-9);
	r->cpu = c > 0 ? (double)(calls * nq) * threads / c : 0;
	return BH_OK;
}

/* ---- roofline: streaming read of the gallery bytes ------------------------- */

typedef struct stream_pool stream_pool;

typedef struct stream_part {
	stream_pool *pool;
	const uint64_t *p;
	size_t words;
	uint64_t sum;
	pthread_t th;
} stream_part;

/* Persistent threads, like the engine's pool, so that a timed pass costs a
 * wake-up and not a thread creation. */
struct stream_pool {
	unsigned threads;
	int stop;
	pthread_barrier_t go, done;
	stream_part part[64];
};

static void stream_sum(stream_part *s)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i = 0;
	for (; i + 4 <= s->words; i += 4) {
		a += s->p[i];
		b += s->p[i + 1];
		c += s->p[i + 2];
		d += s->p[i + 3];
	}
	for (; i < s->words; i++)
		a += s->p[i];
	s->sum = a + b + c + d;
}

static void *stream_main(void *arg)
{
	stream_part *s = arg;
	for (;;) {
		pthread_barrier_wait(&s->pool->go);
		if (s->pool->stop)
			return NULL;
		stream_sum(s);
		pthread_barrier_wait(&s->pool->done);
	}
}

static int stream_open(stream_pool *sp, const uint8_t *data, size_t bytes, unsigned threads)
{
	memset(sp, 0, sizeof *sp);
	sp->threads = threads;
	pthread_barrier_init(&sp->go, NULL, threads);
	pthread_barrier_init(&sp->done, NULL, threads);
	size_t words = bytes / 8, per = (words + threads - 1) / threads;
	for (unsigned t = 0; t < threads; t++) {
		size_t a = t * per < words ? t * per : words, b = a + per < words ? a + per : words;
		sp->part[t] = (stream_part){.pool = sp, .p = (const uint64_t *)data + a, .words = b - a};
	}
	for (unsigned t = 1; t < threads; t++)
		if (pthread_create(&sp->part[t].th, NULL, stream_main, &sp->part[t]))
			abort(); /* a half-started barrier cannot be unwound */
	return BH_OK;
}

static void stream_close(stream_pool *sp)
{
	sp->stop = 1;
	pthread_barrier_wait(&sp->go);
	for (unsigned t = 1; t < sp->threads; t++)
		pthread_join(sp->part[t].th, NULL);
	pthread_barrier_destroy(&sp->go);
	pthread_barrier_destroy(&sp->done);
}

static volatile uint64_t stream_sink;

static int stream_once(void *arg, size_t nq, size_t q0)
{
	(void)nq;
	(void)q0;
	stream_pool *sp = arg;
	pthread_barrier_wait(&sp->go);
	stream_sum(&sp->part[0]);
	pthread_barrier_wait(&sp->done);
	uint64_t sum = 0;
	for (unsigned t = 0; t < sp->threads; t++)
		sum += sp->part[t].sum;
	stream_sink = sum;
	return BH_OK;
}

/* ---- engine and FAISS runners -------------------------------------------- */

typedef struct engine_ctx {
	bh_engine *e;
	const gallery *g;
	uint32_t k;
	bh_hit *out;
	uint32_t *nout;
} engine_ctx;

static int engine_once(void *arg, size_t nq, size_t q0)
{
	engine_ctx *c = arg;
	bh_queries q = {.nq = nq, .stride = c->g->qstride, .data = c->g->qs + q0 * c->g->qstride};
	return bh_engine_search(c->e, &q, c->k, c->out, c->nout);
}

typedef struct faiss_ctx {
	bh_faiss *f;
	const gallery *g;
	uint32_t k;
	int32_t *top1;
} faiss_ctx;

static int faiss_once(void *arg, size_t nq, size_t q0)
{
	faiss_ctx *c = arg;
	char err[200];
	if (bh_faiss_search(c->f, c->g->qs + q0 * c->g->qstride, nq, c->g->qstride, c->k, c->top1,
			    err, sizeof err))
		return bh_fail(BH_EIO, "%s", err);
	return BH_OK;
}

/* ---- galleries ------------------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint8_t *p, size_t rows, size_t rb, size_t stride)
{
	for (size_t i = 0; i < rows; i++)
		for (size_t b = 0; b < rb; b += 8) {
			uint64_t w = rnd();
			memcpy(p + i * stride + b, &w, 8);
		}
}

static int gallery_make(gallery *g, bh_kernel kern, uint32_t dim, const opts *o)
{
	memset(g, 0, sizeof *g);
	g->kernel = kern;
	g->dim = dim;
	g->name = kern == BH_KERNEL_DOT_I8 ? "dot_i8" : "hamming";
	size_t rb = bh_row_bytes(kern, dim);
	size_t st = o->padded ? bh_row_stride(kern, dim) : rb, bytes;
	if (bh_mul_size(o->n, st, &bytes))
		return bh_fail(BH_ETOOBIG, "bench: gallery of %zu rows", o->n);
	g->data = bh_aligned_zalloc(bytes ? bytes : 64);
	g->qstride = bh_row_stride(kern, dim);
	g->qs = bh_aligned_zalloc(MAX_BATCH * g->qstride);
	g->ids = o->implicit_ids ? NULL : malloc((o->n ? o->n : 1) * sizeof *g->ids);
	if (!g->data || !g->qs || (!o->implicit_ids && !g->ids))
		return bh_fail(BH_ENOMEM, "bench: gallery");
	fill(g->data, o->n, rb, st);
	fill(g->qs, MAX_BATCH, rb, g->qstride);
	for (size_t i = 0; g->ids && i < o->n; i++)
		g->ids[i] = 1000000 + i;
	g->s = (bh_shard){.kernel = kern, .dim = dim, .stride = st, .n = o->n, .data = g->data,
			  .ids = g->ids};
	return BH_OK;
}

static void gallery_free(gallery *g)
{
	bh_aligned_free(g->data);
	bh_aligned_free(g->qs);
	free(g->ids);
}

/* ---- output ---------------------------------------------------------------- */

typedef struct row {
	const gallery *g;
	const char *backend;
	size_t batch;
	unsigned threads;
	uint32_t k;
	double qps, faiss_qps, roof_qps;
	double cpu_qps, faiss_cpu_qps; /* per CPU-second figures (see rate) */
	size_t resident, faiss_bytes;
	int agrees; /* 1 yes, 0 no, -1 not checked */
} row;

static void print_row(const opts *o, const row *r)
{
	size_t raw = r->g->s.n * bh_row_bytes(r->g->kernel, r->g->dim);
	double ratio = r->faiss_qps > 0 ? r->qps / r->faiss_qps : -1;
	double frac = r->roof_qps > 0 ? r->qps / r->roof_qps : -1;
	if (o->json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "kernel", r->g->name);
		bh_json_str(&j, "backend", r->backend);
		bh_json_uint(&j, "gallery", r->g->s.n);
		bh_json_uint(&j, "dim", r->g->dim);
		bh_json_uint(&j, "batch", r->batch);
		bh_json_uint(&j, "threads", r->threads);
		bh_json_uint(&j, "k", r->k);
		bh_json_num(&j, "queries_per_s", r->qps);
		if (r->faiss_qps > 0) {
			bh_json_num(&j, "faiss_queries_per_s", r->faiss_qps);
			bh_json_num(&j, "ratio_vs_faiss", ratio);
		} else {
			bh_json_null(&j, "faiss_queries_per_s");
			bh_json_null(&j, "ratio_vs_faiss");
		}
		bh_json_num(&j, "cpu_queries_per_s", r->cpu_qps);
		if (r->faiss_qps > 0) {
			bh_json_num(&j, "faiss_cpu_queries_per_s", r->faiss_cpu_qps);
			bh_json_num(&j, "cpu_ratio_vs_faiss", r->cpu_qps / r->faiss_cpu_qps);
		}
		bh_json_num(&j, "roofline_queries_per_s", r->roof_qps);
		bh_json_num(&j, "fraction_of_roofline", frac);
		bh_json_uint(&j, "resident_bytes", r->resident);
		bh_json_uint(&j, "raw_bytes", raw);
		bh_json_num(&j, "resident_ratio", raw ? (double)r->resident / (double)raw : 0);
		bh_json_str(&j, "faiss_index", r->g->kernel == BH_KERNEL_DOT_I8 ? "IndexFlatIP" : "IndexBinaryFlat");
		if (r->faiss_bytes)
			bh_json_uint(&j, "faiss_resident_bytes", r->faiss_bytes);
		if (r->agrees >= 0)
			bh_json_bool(&j, "faiss_top1_agrees", r->agrees);
		else
			bh_json_null(&j, "faiss_top1_agrees");
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		char fq[32] = "n/a", rt[32] = "n/a", rc[32] = "n/a";
		if (r->faiss_qps > 0) {
			snprintf(fq, sizeof fq, "%.1f", r->faiss_qps);
			snprintf(rt, sizeof rt, "%.2f", ratio);
			snprintf(rc, sizeof rc, "%.2f", r->cpu_qps / r->faiss_cpu_qps);
		}
		printf("%-8s %-7s %8zu %5u %5zu %11.1f %11s %7s %7s %11.1f %6.2f %7.3f %s\n",
		       r->g->name, r->backend, r->g->s.n, r->g->dim, r->batch, r->qps, fq, rt, rc,
		       r->roof_qps, frac,
		       raw ? (double)r->resident / (double)raw : 0,
		       r->agrees < 0 ? "-" : r->agrees ? "yes" : "NO");
	}
	fflush(stdout);
}

/* ---- one gallery ------------------------------------------------------------ */

static int bench_gallery(const opts *o, gallery *g, int *printed_header)
{
	int rc = BH_OK;
	bh_faiss *f = NULL;
	char err[200] = "";
	if (!o->no_faiss) {
		int frc = g->kernel == BH_KERNEL_DOT_I8
				  ? bh_faiss_open_ip(g->data, g->s.n, g->dim, g->s.stride, o->threads, &f,
						     err, sizeof err)
				  : bh_faiss_open_binary(g->data, g->s.n, g->dim, g->s.stride, o->threads,
							 &f, err, sizeof err);
		if (frc) {
			f = NULL;
			fprintf(stderr, "biohub: bench engine: %s (faiss_queries_per_s null)\n", err);
		}
	}
	if (!o->json && !*printed_header) {
		printf("%-8s %-7s %8s %5s %5s %11s %11s %7s %7s %11s %6s %7s %s\n", "kernel",
		       "backend", "gallery", "dim", "batch", "queries/s", "faiss q/s", "x faiss",
		       "x(cpu)", "roofline", "frac", "mem/raw", "top1=faiss");
		*printed_header = 1;
	}
	stream_pool *sp = malloc(sizeof *sp);
	if (!sp) {
		if (f)
			bh_faiss_close(f);
		return bh_fail(BH_ENOMEM, "bench: stream pool");
	}
	stream_open(sp, g->data, g->s.n * g->s.stride, o->threads);
	int32_t ftop[MAX_BATCH];
	for (int b = 0; b < o->nbatches && !rc; b++) {
		size_t nq = o->batches[b];
		rate roof = {0, 0}, fr = {0, 0};
		if ((rc = time_qps(stream_once, sp, 1, o->secs, o->threads, &roof)))
			break;
		roof.wall *= (double)nq; /* one read of the gallery serves the whole batch */
		if (f) {
			faiss_ctx fc = {.f = f, .g = g, .k = o->k, .top1 = NULL};
			if ((rc = time_qps(faiss_once, &fc, nq, o->secs, o->threads, &fr)))
				break;
			fc.top1 = ftop; /* reference answers for the first nq queries */
			if ((rc = faiss_once(&fc, nq, 0)))
				break;
		}
		for (unsigned bi = 0; !rc; bi++) {
			const char *name = bh_backend_name_at(bi);
			if (!name)
				break;
			const bh_backend_ops *ops = bh_backend_find(name);
			if ((o->backend && strcmp(o->backend, name)) ||
			    (!o->backend && (ops->probe() != BH_OK || !strcmp(name, "fpga"))))
				continue;
			bh_engine_config cfg = {.backend = name, .threads = o->threads};
			engine_ctx ec = {.g = g, .k = o->k};
			ec.out = calloc(nq * o->k, sizeof *ec.out);
			ec.nout = calloc(nq, sizeof *ec.nout);
			if (!ec.out || !ec.nout)
				rc = bh_fail(BH_ENOMEM, "bench: results");
			if (!rc)
				rc = bh_engine_open(&cfg, &g->s, &ec.e);
			row r = {.g = g, .backend = name, .batch = nq, .threads = o->threads, .k = o->k,
				 .faiss_qps = fr.wall, .faiss_cpu_qps = fr.cpu, .roof_qps = roof.wall,
				 .agrees = -1};
			rate er = {0, 0};
			if (!rc)
				rc = time_qps(engine_once, &ec, nq, o->secs, o->threads, &er);
			r.qps = er.wall;
			r.cpu_qps = er.cpu;
			if (!rc && f && (rc = engine_once(&ec, nq, 0)) == BH_OK) {
				r.agrees = 1;
				for (size_t j = 0; j < nq; j++)
					if (!ec.nout[j] || ec.out[j * o->k].score != ftop[j])
						r.agrees = 0;
			}
			if (!rc) {
				r.resident = g->s.n * g->s.stride + (g->ids ? g->s.n * sizeof *g->ids : 0) +
					     bh_engine_overhead_bytes(ec.e);
				r.faiss_bytes = f ? bh_faiss_bytes(f) : 0;
				print_row(o, &r);
				/* exact scores: any disagreement is a bug, not noise */
				if (r.agrees == 0)
					rc = bh_fail(BH_EFORMAT, "%s backend %s batch %zu: top-1 scores differ from FAISS",
						     g->name, name, nq);
			}
			bh_engine_close(ec.e);
			free(ec.out);
			free(ec.nout);
		}
	}
	stream_close(sp);
	free(sp);
	if (f)
		bh_faiss_close(f);
	return rc;
}

/* ---- command line ------------------------------------------------------------ */

/* libgomp reads OMP_WAIT_POLICY once, when it is loaded.  By default idle
 * FAISS threads spin; on a small shared machine that starves the thread with
 * work and made FAISS 5-20x slower than its real rate in our runs.  So unless
 * the caller chose a policy, the bench re-executes itself once with PASSIVE,
 * which gave FAISS its best figures here.  If exec fails it goes on as is. */
static void faiss_env(int argc, char **argv)
{
	if (!bh_faiss_version() || getenv("OMP_WAIT_POLICY"))
		return;
	char **nv = calloc((size_t)argc + 3, sizeof *nv);
	if (!nv)
		return;
	nv[0] = (char *)"biohub";
	nv[1] = (char *)"bench";
	for (int i = 0; i < argc; i++)
		nv[i + 2] = argv[i];
	if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0)
		execv("/proc/self/exe", nv);
	unsetenv("OMP_WAIT_POLICY");
	free(nv);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: biohub bench engine [--json] [--n N] [--quick] [--threads T] [--k K]\n"
		"       [--seconds S] [--batch B[,B...]] [--backend NAME] [--kernel dot|hamming]\n"
		"       [--implicit-ids] [--padded] [--no-faiss]\n"
		"  face N x 128-D int8 and binary N x 256-bit codes (default N = 1000000);\n"
		"  --quick: N = 100000, 0.2 s per timing.  Prints one JSON object per\n"
		"  configuration with --json, else a table.\n");
	return 2;
}

static int parse_batches(opts *o, const char *s)
{
	o->nbatches = 0;
	while (*s && o->nbatches < 4) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v < 1 || v > MAX_BATCH)
			return -1;
		o->batches[o->nbatches++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return o->nbatches ? 0 : -1;
}

int cmd_bench_engine(int argc, char **argv)
{
	opts o = {.n = 1000000, .k = 10, .secs = 1.0, .batches = {1, 16, 64}, .nbatches = 3};
	int n_set = 0, secs_set = 0, kern_mask = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json"))
			o.json = 1;
		else if (!strcmp(a, "--quick"))
			o.quick = 1;
		else if (!strcmp(a, "--implicit-ids"))
			o.implicit_ids = 1;
		else if (!strcmp(a, "--padded"))
			o.padded = 1;
		else if (!strcmp(a, "--no-faiss"))
			o.no_faiss = 1;
		else if (!strcmp(a, "--n") && v && (o.n = strtoull(v, NULL, 10)) > 0 && ++i)
			n_set = 1;
		else if (!strcmp(a, "--threads") && v && (o.threads = (unsigned)atoi(v)) > 0 && ++i)
			;
		else if (!strcmp(a, "--k") && v && (o.k = (uint32_t)atoi(v)) > 0 && o.k <= 1000 && ++i)
			;
		else if (!strcmp(a, "--seconds") && v && (o.secs = atof(v)) > 0 && ++i)
			secs_set = 1;
		else if (!strcmp(a, "--batch") && v && !parse_batches(&o, v) && ++i)
			;
		else if (!strcmp(a, "--backend") && v && ++i)
			o.backend = v;
		else if (!strcmp(a, "--kernel") && v && ++i)
			kern_mask = !strcmp(v, "dot") ? 1 : !strcmp(v, "hamming") ? 2 : 0;
		else
			return usage();
	}
	if (!kern_mask || o.threads > 64)
		return usage();
	if (o.backend && !bh_backend_find(o.backend))
		return bh_cli_error("bench engine", bh_fail(BH_ENOTFOUND, "no backend %s", o.backend));
	if (!o.no_faiss)
		faiss_env(argc, argv);
	if (o.quick) {
		if (!n_set)
			o.n = 100000;
		if (!secs_set)
			o.secs = 0.2;
	}
	if (!o.threads) {
		long t = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = t > 0 && t <= 64 ? (unsigned)t : 1;
	}
	if (!o.json)
		printf("# biohub bench engine: threads %u, top-%u, %.1f s per timing, faiss %s "
		       "(OMP_WAIT_POLICY=%s)%s%s\n",
		       o.threads, o.k, o.secs, bh_faiss_version() ? bh_faiss_version() : "not built",
		       getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "default",
		       o.implicit_ids ? ", implicit ids" : "", o.padded ? ", 64-byte rows" : "");
	int rc = BH_OK, header = 0;
	const struct { bh_kernel k; uint32_t dim; } kinds[2] = {{BH_KERNEL_DOT_I8, 128},
								 {BH_KERNEL_HAMMING, 256}};
	for (int i = 0; i < 2 && !rc; i++) {
		if (!(kern_mask & (1 << i)))
			continue;
		gallery g;
		rc = gallery_make(&g, kinds[i].k, kinds[i].dim, &o);
		if (!rc)
			rc = bench_gallery(&o, &g, &header);
		gallery_free(&g);
	}
	return rc ? bh_cli_error("bench engine", rc) : 0;
}
