/* dp_audit.c - group-committed audit rows for biohubd (see dp_audit.h). */
#include "dp_audit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_time.h"

typedef struct entry {
	char agency[32], backend[16], outcome[64];
	uint64_t request_id;
	int modality;
	uint32_t candidates;
	void *item;
} entry;

struct dp_audit {
	bh_gallery *g; /* owned by the writer thread once it runs */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	entry *q;     /* ring of cap entries, guarded by mu */
	entry *batch; /* the writer's private copy of one batch */
	unsigned cap, head, n;
	int stop;
	dp_audit_done_fn done;
	void *ctx;
	_Atomic uint64_t rows, commits, failed, commit_max_ns, slow_commits;
};

/* One transaction for the whole batch: all rows or none. */
static int write_batch(dp_audit *a, const entry *b, unsigned k)
{
	int rc = bh_gallery_begin(a->g);
	for (unsigned i = 0; rc == BH_OK && i < k; i++) {
		bh_audit_rec r = {.agency = b[i].agency,
				  .request_id = b[i].request_id,
				  .modality = b[i].modality,
				  .candidates = b[i].candidates,
				  .backend = b[i].backend,
				  .outcome = b[i].outcome};
		rc = bh_gallery_audit(a->g, &r);
	}
	if (rc == BH_OK)
		return bh_gallery_commit(a->g); /* rolls back itself on failure */
	bh_gallery_rollback(a->g);
	return rc;
}

/* Takes every queued entry into a->batch; 0 when stopping with nothing left. */
static unsigned take_batch(dp_audit *a)
{
	pthread_mutex_lock(&a->mu);
	while (a->n == 0 && !a->stop)
		pthread_cond_wait(&a->cv, &a->mu);
	unsigned k = a->n;
	for (unsigned i = 0; i < k; i++)
		a->batch[i] = a->q[(a->head + i) % a->cap];
	a->head = (a->head + k) % a->cap;
	a->n = 0;
	pthread_mutex_unlock(&a->mu);
	return k;
}

static void *writer_main(void *arg)
{
	dp_audit *a = arg;
	unsigned k;
	while ((k = take_batch(a)) > 0) {
		bh_errclear();
		uint64_t t0 = bh_now_ns();
		int rc = write_batch(a, a->batch, k);
		uint64_t took = bh_now_ns() - t0;
		if (took > atomic_load(&a->commit_max_ns)) /* one writer: no race */
			atomic_store(&a->commit_max_ns, took);
		atomic_fetch_add(&a->slow_commits, took >= DP_AUDIT_SLOW_NS);
		if (rc == BH_OK) {
			atomic_fetch_add(&a->rows, k);
			atomic_fetch_add(&a->commits, 1);
		} else {
			atomic_fetch_add(&a->failed, k);
			fprintf(stderr, "biohubd: audit: %u rows not written: %s: %s\n", k,
				bh_strerror(rc), bh_errmsg());
		}
		for (unsigned i = 0; i < k; i++)
			a->done(a->ctx, a->batch[i].item, rc);
	}
	return NULL;
}

static void audit_free(dp_audit *a)
{
	bh_gallery_close(a->g);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->q);
	free(a->batch);
	free(a);
}

int dp_audit_start(const char *gallery, unsigned cap, dp_audit_done_fn done, void *ctx,
		   const cpu_set_t *cpus, dp_audit **out)
{
	*out = NULL;
	dp_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return bh_fail(BH_ENOMEM, "audit writer");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->cap = cap ? cap : 1;
	a->done = done;
	a->ctx = ctx;
	a->q = calloc(a->cap, sizeof(entry));
	a->batch = calloc(a->cap, sizeof(entry));
	int rc = a->q && a->batch ? BH_OK : bh_fail(BH_ENOMEM, "audit queue");
	/* Flags 0: writable (transactions), never created here, validated. */
	if (rc == BH_OK)
		rc = bh_gallery_open(gallery, 0, &a->g);
	pthread_attr_t at;
	pthread_attr_init(&at);
	if (cpus)
		pthread_attr_setaffinity_np(&at, sizeof(*cpus), cpus);
	if (rc == BH_OK && pthread_create(&a->th, &at, writer_main, a) != 0)
		rc = bh_fail(BH_EIO, "audit writer thread");
	pthread_attr_destroy(&at);
	if (rc != BH_OK) {
		audit_free(a);
		return rc;
	}
	*out = a;
	return BH_OK;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

int dp_audit_submit(dp_audit *a, const bh_audit_rec *rec, void *item)
{
	pthread_mutex_lock(&a->mu);
	if (a->n == a->cap || a->stop) {
		pthread_mutex_unlock(&a->mu);
		return BH_EBUSY;
	}
	entry *e = &a->q[(a->head + a->n) % a->cap];
	copy_str(e->agency, sizeof(e->agency), rec->agency);
	copy_str(e->backend, sizeof(e->backend), rec->backend);
	copy_str(e->outcome, sizeof(e->outcome), rec->outcome);
	e->request_id = rec->request_id;
	e->modality = rec->modality;
	e->candidates = rec->candidates;
	e->item = item;
	a->n++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return BH_OK;
}

void dp_audit_get_stats(dp_audit *a, dp_audit_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	out->rows = atomic_load(&a->rows);
	out->commits = atomic_load(&a->commits);
	out->commit_max_ns = atomic_load(&a->commit_max_ns);
	out->slow_commits = atomic_load(&a->slow_commits);
	out->failed = atomic_load(&a->failed);
}

void dp_audit_stop(dp_audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1; /* the writer still commits what is queued, then returns */
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	audit_free(a);
}
