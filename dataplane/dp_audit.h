/*
 * dp_audit.h - biohubd's audit writer: one thread, its own gallery
 * connection, group commit.
 *
 * Rule it lets biohubd keep: the answer to a search that ran (result or
 * search error) leaves only after its audit row is committed, so a crash
 * (kill -9, power) never loses the record of a search an agency saw
 * answered.  (BH_EBUSY refusals are queued with item NULL and answered at
 * once: a refusal carries no result, and waiting for an fsync would make it
 * as slow as the disk.)
 *
 * Why a thread of its own: a committed row costs an fsync (WAL,
 * synchronous=FULL).  Done per row on the rx lcore (busy refusals) it stalls
 * reception under overload; done per row under the searcher's lock (results)
 * it blocks the other workers' searches.  Here every row queued since the
 * last commit goes into one transaction (one fsync), then each row's item is
 * handed back through done() - on the writer thread - to be answered.
 *
 * The queue is bounded (cap rows): dp_audit_submit() says BH_EBUSY when it is
 * full and the caller decides (biohubd answers and counts audit_overflow).
 */
#ifndef DP_AUDIT_H
#define DP_AUDIT_H

#include <sched.h>
#include <stdint.h>

#include "bh_gallery.h"

typedef struct dp_audit dp_audit;

/* Called on the writer thread once per submitted item, after its row was
 * committed (rc = BH_OK) or its transaction failed (rc < 0). */
typedef void (*dp_audit_done_fn)(void *ctx, void *item, int rc);

typedef struct dp_audit_stats {
	uint64_t rows, commits, failed; /* committed rows, transactions, rows lost to errors */
	uint64_t commit_max_ns;         /* slowest transaction (the answers of its rows waited) */
	uint64_t slow_commits;          /* transactions of DP_AUDIT_SLOW_NS or more */
} dp_audit_stats;

#define DP_AUDIT_SLOW_NS 50000000ull /* 50 ms */

/* Opens `gallery` for writing (audit rows only) and starts the writer
 * thread, pinned to `cpus` when not NULL.  cap = rows that may wait. */
int dp_audit_start(const char *gallery, unsigned cap, dp_audit_done_fn done, void *ctx,
		   const cpu_set_t *cpus, dp_audit **out);

/* Queues a copy of rec (strings truncated to the audit columns' use here:
 * agency 31, backend 15, outcome 63 bytes) with its item.  BH_EBUSY when the
 * queue is full (item stays with the caller).  Thread-safe. */
int dp_audit_submit(dp_audit *a, const bh_audit_rec *rec, void *item);

/* Counters (any thread). */
void dp_audit_get_stats(dp_audit *a, dp_audit_stats *out);

/* Commits whatever is queued (done() runs for each item), stops the thread,
 * closes the connection.  NULL is fine. */
void dp_audit_stop(dp_audit *a);

#endif
