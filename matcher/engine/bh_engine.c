/* bh_engine.c - the 1:N engine: a persistent worker pool, one shard per
 * worker, per-shard top-K merged into the answer, and the device fallback
 * (see bh_engine.h for the contract).
 *
 * Threads: bh_engine_open starts nw-1 workers; the calling thread searches
 * shard 0 itself, so a single query costs one wake-up and no thread creation.
 * A search publishes the job (queries, k, output area) under pool_mu, bumps
 * `gen` and broadcasts; each worker searches its shard into its own slice of
 * the result buffer and counts itself done.  The caller then merges. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bh_be_cpu.h"
#include "bh_engine.h"
#include "bh_err.h"
#include "bh_mem.h"

#define MAX_THREADS 64
#define SHARD_ALIGN_ROWS 8 /* 8 * stride is a multiple of 64: shards stay aligned */

typedef struct worker {
	struct bh_engine *e;
	unsigned idx;
	pthread_t th;
	int started;
	bh_backend *be;
	bh_shard sub;
	size_t row0; /* first row of the shard in the whole gallery */
	int rc;
	char err[160]; /* the worker's bh_errmsg(), copied for the caller */
} worker;

struct bh_engine {
	const bh_backend_ops *ops;     /* as configured */
	const bh_backend_ops *cpu_ops; /* runs the shards: ops, or the fallback */
	bh_backend *dev;               /* device instance (ops is a device) */
	const bh_shard *shard;
	unsigned nw;
	worker *w;

	pthread_mutex_t lock; /* serialises searches */
	pthread_mutex_t pool_mu;
	pthread_cond_t start_cv, done_cv;
	uint64_t gen;
	unsigned done;
	int stop;

	/* the current job, valid while a search runs */
	const bh_queries *q;
	uint32_t kw; /* per-shard list length */
	bh_hit *buf; /* nw * cap_hits */
	uint32_t *nbuf;
	size_t cap_hits, cap_n; /* per worker */

	bh_engine_stats st;
};

static void run_shard(bh_engine *e, worker *w)
{
	bh_errclear();
	w->rc = e->cpu_ops->search(w->be, e->q, e->kw, e->buf + w->idx * e->cap_hits,
				   e->nbuf + w->idx * e->cap_n);
	if (w->rc)
		snprintf(w->err, sizeof w->err, "%s", bh_errmsg());
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	bh_engine *e = w->e;
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&e->pool_mu);
		while (e->gen == seen && !e->stop)
			pthread_cond_wait(&e->start_cv, &e->pool_mu);
		if (e->stop) {
			pthread_mutex_unlock(&e->pool_mu);
			return NULL;
		}
		seen = e->gen;
		pthread_mutex_unlock(&e->pool_mu);
		run_shard(e, w);
		bh_wipe_stack(); /* the scorer's spilled query vectors */
		pthread_mutex_lock(&e->pool_mu);
		if (++e->done == e->nw - 1)
			pthread_cond_signal(&e->done_cv);
		pthread_mutex_unlock(&e->pool_mu);
	}
}

static unsigned pick_threads(const bh_engine_config *cfg, size_t n)
{
	long t = cfg && cfg->threads ? (long)cfg->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (t < 1)
		t = 1;
	if (t > MAX_THREADS)
		t = MAX_THREADS;
	/* no empty shards: at most one per SHARD_ALIGN_ROWS rows */
	size_t useful = (n + SHARD_ALIGN_ROWS - 1) / SHARD_ALIGN_ROWS;
	if (useful < 1)
		useful = 1;
	return (unsigned)((size_t)t < useful ? (size_t)t : useful);
}

static int pick_backends(const bh_engine_config *cfg, bh_engine *e)
{
	const char *name = cfg ? cfg->backend : NULL;
	e->ops = !name || !strcmp(name, "auto") ? bh_backend_best() : bh_backend_find(name);
	if (!e->ops)
		return bh_fail(BH_ENOTFOUND, "engine: no backend named %s", name);
	if (e->ops->probe() != BH_OK)
		return bh_fail(BH_ECPU, "engine: backend %s cannot run here", e->ops->name);
	e->cpu_ops = e->ops;
	if (!bh_backend_is_device(e->ops))
		return BH_OK;
	const char *fb = cfg ? cfg->fallback : NULL;
	e->cpu_ops = !fb || !strcmp(fb, "auto") ? bh_backend_best() : bh_backend_find(fb);
	if (!e->cpu_ops || bh_backend_is_device(e->cpu_ops) || e->cpu_ops->probe() != BH_OK)
		return bh_fail(BH_EINVAL, "engine: fallback %s is not a usable CPU backend",
			       fb ? fb : "auto");
	return BH_OK;
}

/* Splits the gallery into nw row ranges (multiples of SHARD_ALIGN_ROWS). */
static void split(bh_engine *e)
{
	const bh_shard *s = e->shard;
	size_t per = (s->n + e->nw - 1) / e->nw;
	per = (per + SHARD_ALIGN_ROWS - 1) / SHARD_ALIGN_ROWS * SHARD_ALIGN_ROWS;
	for (unsigned i = 0; i < e->nw; i++) {
		worker *w = &e->w[i];
		size_t a = (size_t)i * per, b = a + per;
		a = a > s->n ? s->n : a;
		b = b > s->n ? s->n : b;
		w->sub = *s;
		w->sub.n = b - a;
		w->sub.data = s->n ? (const uint8_t *)s->data + a * s->stride : s->data;
		w->sub.ids = s->ids ? s->ids + a : NULL;
		w->row0 = a;
	}
}

static int start_pool(bh_engine *e)
{
	int rc;
	for (unsigned i = 0; i < e->nw; i++) {
		worker *w = &e->w[i];
		w->e = e;
		w->idx = i;
		if ((rc = e->cpu_ops->open(&w->be)))
			return rc;
		if ((rc = e->cpu_ops->load(w->be, &w->sub)))
			return rc;
	}
	for (unsigned i = 1; i < e->nw; i++) {
		if (pthread_create(&e->w[i].th, NULL, worker_main, &e->w[i]))
			return bh_fail(BH_ENOMEM, "engine: cannot start worker %u", i);
		e->w[i].started = 1;
	}
	return BH_OK;
}

int bh_engine_open(const bh_engine_config *cfg, const bh_shard *shard, bh_engine **out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "engine: no output");
	*out = NULL;
	int rc = bh_shard_check(shard);
	if (rc)
		return rc;
	bh_engine *e = calloc(1, sizeof *e);
	if (!e)
		return bh_fail(BH_ENOMEM, "engine: state");
	e->shard = shard;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->pool_mu, NULL);
	pthread_cond_init(&e->start_cv, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	if ((rc = pick_backends(cfg, e)))
		goto fail;
	if (e->ops != e->cpu_ops) { /* a device: whole gallery, caller's thread */
		if ((rc = e->ops->open(&e->dev)))
			goto fail;
		if ((rc = e->ops->load(e->dev, shard)))
			goto fail;
	}
	e->nw = pick_threads(cfg, shard->n);
	e->w = calloc(e->nw, sizeof *e->w);
	if (!e->w) {
		rc = bh_fail(BH_ENOMEM, "engine: workers");
		goto fail;
	}
	split(e);
	if ((rc = start_pool(e)))
		goto fail;
	*out = e;
	return BH_OK;
fail:
	bh_engine_close(e);
	return rc;
}

/* Grows the per-worker result slices to nq * kw hits. */
static int reserve(bh_engine *e, size_t nq, uint32_t kw)
{
	size_t hits;
	if (bh_mul_size(nq, kw ? kw : 1, &hits) || hits > SIZE_MAX / sizeof(bh_hit) / e->nw)
		return bh_fail(BH_ETOOBIG, "engine: %zu queries x top-%u", nq, kw);
	if (hits > e->cap_hits) {
		bh_hit *b = realloc(e->buf, hits * e->nw * sizeof *b);
		if (!b)
			return bh_fail(BH_ENOMEM, "engine: result buffer");
		e->buf = b;
		e->cap_hits = hits;
	}
	if (nq > e->cap_n) {
		uint32_t *n = realloc(e->nbuf, nq * e->nw * sizeof *n);
		if (!n)
			return bh_fail(BH_ENOMEM, "engine: result counts");
		e->nbuf = n;
		e->cap_n = nq;
	}
	return BH_OK;
}

/* Merges the workers' sorted lists of query j into out (up to k hits). */
static uint32_t merge_one(bh_engine *e, size_t j, uint32_t k, bh_hit *out)
{
	uint32_t pos[MAX_THREADS] = {0}, got = 0;
	const bh_hit *list[MAX_THREADS];
	uint32_t len[MAX_THREADS];
	for (unsigned w = 0; w < e->nw; w++) {
		list[w] = e->buf + w * e->cap_hits + j * e->kw;
		len[w] = e->nbuf[w * e->cap_n + j];
	}
	while (got < k) {
		int best = -1;
		for (unsigned w = 0; w < e->nw; w++)
			if (pos[w] < len[w] &&
			    (best < 0 || bh_hit_better(&list[w][pos[w]], &list[best][pos[best]])))
				best = (int)w;
		if (best < 0)
			break;
		out[got++] = list[best][pos[best]++];
	}
	return got;
}

/* Runs the job on every shard (caller does shard 0) and merges. */
static int pool_search(bh_engine *e, const bh_queries *q, uint32_t k, bh_hit *out,
		       uint32_t *nout)
{
	size_t maxn = 0;
	for (unsigned w = 0; w < e->nw; w++)
		maxn = e->w[w].sub.n > maxn ? e->w[w].sub.n : maxn;
	uint32_t kw = (uint32_t)(maxn < k ? maxn : k);
	int rc = reserve(e, q->nq, kw);
	if (rc)
		return rc;
	e->q = q;
	e->kw = kw;
	pthread_mutex_lock(&e->pool_mu);
	e->done = 0;
	e->gen++;
	pthread_cond_broadcast(&e->start_cv);
	pthread_mutex_unlock(&e->pool_mu);
	run_shard(e, &e->w[0]);
	pthread_mutex_lock(&e->pool_mu);
	while (e->done < e->nw - 1)
		pthread_cond_wait(&e->done_cv, &e->pool_mu);
	pthread_mutex_unlock(&e->pool_mu);
	for (unsigned w = 0; w < e->nw; w++)
		if (e->w[w].rc)
			return bh_fail(e->w[w].rc, "%s", e->w[w].err);
	/* implicit ids: shard-local row numbers -> gallery row numbers */
	if (!e->shard->ids)
		for (unsigned w = 1; w < e->nw; w++)
			for (size_t j = 0; j < q->nq; j++)
				for (uint32_t i = 0; i < e->nbuf[w * e->cap_n + j]; i++)
					e->buf[w * e->cap_hits + j * kw + i].id += e->w[w].row0;
	for (size_t j = 0; j < q->nq; j++)
		nout[j] = merge_one(e, j, k, out + j * (size_t)k);
	return BH_OK;
}

static int check_queries(const bh_engine *e, const bh_queries *q, bh_hit *out, uint32_t *nout)
{
	if (!q)
		return bh_fail(BH_EINVAL, "engine: no queries");
	if (q->nq && (!q->data || !out || !nout))
		return bh_fail(BH_EINVAL, "engine: query batch without buffers");
	if (q->stride < bh_row_bytes(e->shard->kernel, e->shard->dim))
		return bh_fail(BH_EINVAL, "engine: query stride %zu too small", q->stride);
	return BH_OK;
}

int bh_engine_search(bh_engine *e, const bh_queries *q, uint32_t k, bh_hit *out, uint32_t *nout)
{
	if (!e)
		return bh_fail(BH_EINVAL, "engine: closed");
	int rc = check_queries(e, q, out, nout);
	if (rc)
		return rc;
	pthread_mutex_lock(&e->lock);
	e->st.searches++;
	e->st.queries += q->nq;
	if (q->nq == 0 || k == 0) {
		for (size_t j = 0; j < q->nq; j++)
			nout[j] = 0;
		pthread_mutex_unlock(&e->lock);
		return BH_OK;
	}
	if (e->dev) {
		rc = e->ops->search(e->dev, q, k, out, nout);
		if (rc == BH_OK) {
			pthread_mutex_unlock(&e->lock);
			return BH_OK;
		}
		/* one line, no probe data: names and codes only */
		fprintf(stderr, "biohub: engine: backend %s failed a search (%s: %s); answered by %s\n",
			e->ops->name, bh_strerror(rc), bh_errmsg(), e->cpu_ops->name);
		e->st.fallbacks++;
	}
	rc = pool_search(e, q, k, out, nout);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

const char *bh_engine_backend_name(const bh_engine *e)
{
	return e ? e->ops->name : NULL;
}

unsigned bh_engine_threads(const bh_engine *e)
{
	return e ? e->nw : 0;
}

size_t bh_engine_overhead_bytes(const bh_engine *e)
{
	if (!e)
		return 0;
	/* the CPU backends keep a few words and a 128 KiB score buffer per shard */
	return sizeof *e + e->nw * (sizeof(worker) + 64 + 131072) +
	       e->cap_hits * e->nw * sizeof(bh_hit) + e->cap_n * e->nw * sizeof(uint32_t);
}

void bh_engine_get_stats(const bh_engine *e, bh_engine_stats *st)
{
	if (!e || !st)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&e->lock);
	*st = e->st;
	pthread_mutex_unlock((pthread_mutex_t *)&e->lock);
}

void bh_engine_close(bh_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->pool_mu);
	e->stop = 1;
	pthread_cond_broadcast(&e->start_cv);
	pthread_mutex_unlock(&e->pool_mu);
	for (unsigned i = 0; e->w && i < e->nw; i++) {
		if (e->w[i].started)
			pthread_join(e->w[i].th, NULL);
		if (e->w[i].be)
			e->cpu_ops->close(e->w[i].be);
	}
	if (e->dev)
		e->ops->close(e->dev);
	free(e->w);
	free(e->buf);
	free(e->nbuf);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->pool_mu);
	pthread_cond_destroy(&e->start_cv);
	pthread_cond_destroy(&e->done_cv);
	free(e);
}
