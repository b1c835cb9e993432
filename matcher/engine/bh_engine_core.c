/* bh_engine_core.c - pieces of the engine contract shared by every backend:
 * row layout, the scalar reference score, the bounded top-K heap and the
 * backend registry (see bh_engine.h). */
#include <stdlib.h>
#include <string.h>

#include "bh_be_cpu.h"
#include "bh_engine.h"
#include "bh_err.h"

/* ---- layout ------------------------------------------------------------- */

size_t bh_row_bytes(bh_kernel kernel, uint32_t dim)
{
	if (kernel == BH_KERNEL_DOT_I8)
		return dim > 0 && dim % 32 == 0 ? dim : 0;
	if (kernel == BH_KERNEL_HAMMING)
		return dim > 0 && dim % 64 == 0 ? dim / 8 : 0;
	return 0;
}

size_t bh_row_stride(bh_kernel kernel, uint32_t dim)
{
	size_t b = bh_row_bytes(kernel, dim);
	return (b + 63) & ~(size_t)63;
}

int bh_shard_check(const bh_shard *s)
{
	if (!s)
		return bh_fail(BH_EINVAL, "engine: no shard");
	size_t rb = bh_row_bytes(s->kernel, s->dim);
	if (!rb)
		return bh_fail(BH_EINVAL, "engine: kernel %d with dim %u", (int)s->kernel, s->dim);
	if (s->stride < rb || s->stride % 8)
		return bh_fail(BH_EINVAL, "engine: stride %zu for %zu-byte rows", s->stride, rb);
	if (s->n && !s->data)
		return bh_fail(BH_EINVAL, "engine: shard of %zu rows without data", s->n);
	if (s->n > SIZE_MAX / s->stride)
		return bh_fail(BH_ETOOBIG, "engine: %zu rows", s->n);
	return BH_OK;
}

/* ---- reference score ------------------------------------------------------ */

int32_t bh_score_ref(bh_kernel kernel, uint32_t dim, const void *q, const void *r)
{
	if (kernel == BH_KERNEL_DOT_I8) {
		const int8_t *a = q, *b = r;
		int32_t s = 0;
		for (uint32_t i = 0; i < dim; i++)
			s += (int32_t)a[i] * (int32_t)b[i];
		return s;
	}
	/* HAMMING: words are little-endian uint64; memcpy avoids alignment
	 * assumptions and compiles to plain loads. */
	const unsigned char *a = q, *b = r;
	uint32_t diff = 0;
	for (uint32_t w = 0; w < dim / 64; w++) {
		uint64_t x, y;
		memcpy(&x, a + 8 * w, 8);
		memcpy(&y, b + 8 * w, 8);
		diff += (uint32_t)__builtin_popcountll(x ^ y);
	}
	return (int32_t)(dim - diff);
}

/* ---- bounded heap ----------------------------------------------------------
 * A min-heap under bh_hit_better: h[0] is the worst kept hit, so a new hit
 * enters only if it is better than h[0]. */

void bh_topk_init(bh_topk *t, bh_hit *slots, uint32_t k)
{
	t->k = k;
	t->n = 0;
	t->h = slots;
}

static void sift_down(bh_hit *h, uint32_t n, uint32_t i)
{
	bh_hit x = h[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		/* pick the worse child: it must sit above the other */
		if (c + 1 < n && bh_hit_better(&h[c], &h[c + 1]))
			c++;
		if (!bh_hit_better(&x, &h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

void bh_topk_push(bh_topk *t, int32_t score, uint64_t id)
{
	bh_hit x = {.score = score, .pad_ = 0, .id = id};
	if (t->n < t->k) {
		uint32_t i = t->n++;
		while (i > 0) {
			uint32_t p = (i - 1) / 2;
			if (!bh_hit_better(&t->h[p], &x))
				break;
			t->h[i] = t->h[p];
			i = p;
		}
		t->h[i] = x;
		return;
	}
	if (t->k == 0 || !bh_hit_better(&x, &t->h[0]))
		return;
	t->h[0] = x;
	sift_down(t->h, t->n, 0);
}

uint32_t bh_topk_finish(bh_topk *t)
{
	/* heap sort: repeatedly move the worst to the end -> best first */
	uint32_t n = t->n;
	for (uint32_t end = n; end > 1; end--) {
		bh_hit w = t->h[0];
		t->h[0] = t->h[end - 1];
		t->h[end - 1] = w;
		sift_down(t->h, end - 1, 0);
	}
	return n;
}

static int hit_order(const void *x, const void *y)
{
	const bh_hit *a = x, *b = y;
	return bh_hit_better(a, b) ? -1 : bh_hit_better(b, a) ? 1 : 0;
}

void bh_hits_sort(bh_hit *h, size_t n)
{
	qsort(h, n, sizeof *h, hit_order);
}

/* ---- registry ------------------------------------------------------------
 * Built-in CPU backends live in a constant table; registered ones (devices)
 * in a zero-initialised static array, so bh_backend_register works from a
 * constructor before main() and before anything else here ran. */

static const bh_backend_ops *const builtin[] = {
	&bh_be_scalar_ops,
	&bh_be_avx2_ops,
	&bh_be_avx512_ops,
};
#define NBUILTIN (sizeof builtin / sizeof builtin[0])

static const bh_backend_ops *registered[BH_BACKEND_MAX];
static unsigned nregistered;

static const bh_backend_ops *backend_at(unsigned i)
{
	if (i < NBUILTIN)
		return builtin[i];
	i -= NBUILTIN;
	if (i < __atomic_load_n(&nregistered, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&registered[i], __ATOMIC_ACQUIRE);
	return NULL;
}

const bh_backend_ops *bh_backend_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0;; i++) {
		const bh_backend_ops *o = backend_at(i);
		if (!o)
			return NULL;
		if (o->name && !strcmp(o->name, name))
			return o;
	}
}

const char *bh_backend_name_at(unsigned i)
{
	const bh_backend_ops *o = backend_at(i);
	return o ? o->name : NULL;
}

const bh_backend_ops *bh_backend_best(void)
{
	if (bh_be_avx512_ops.probe() == BH_OK)
		return &bh_be_avx512_ops;
	if (bh_be_avx2_ops.probe() == BH_OK)
		return &bh_be_avx2_ops;
	return &bh_be_scalar_ops;
}

int bh_backend_is_device(const bh_backend_ops *ops)
{
	for (unsigned i = 0; i < NBUILTIN; i++)
		if (builtin[i] == ops)
			return 0;
	return 1;
}

int bh_backend_register(const bh_backend_ops *ops)
{
	if (!ops || !ops->name || !ops->probe || !ops->open || !ops->load || !ops->search ||
	    !ops->close)
		return bh_fail(BH_EINVAL, "engine: incomplete backend");
	if (bh_backend_find(ops->name))
		return bh_fail(BH_EEXIST, "engine: backend %s already registered", ops->name);
	/* Claim a slot, publish the pointer, then the count: readers only look
	 * below the count.  Registration happens at start-up, one at a time;
	 * the claim keeps two racing registrations from sharing a slot. */
	static unsigned claimed;
	unsigned i = __atomic_fetch_add(&claimed, 1, __ATOMIC_ACQ_REL);
	if (i >= BH_BACKEND_MAX)
		return bh_fail(BH_ETOOBIG, "engine: more than %d registered backends", BH_BACKEND_MAX);
	__atomic_store_n(&registered[i], ops, __ATOMIC_RELEASE);
	unsigned expect = i;
	while (!__atomic_compare_exchange_n(&nregistered, &expect, i + 1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		expect = i; /* an earlier slot is still being published */
	return BH_OK;
}
