/*
 * bh_mem.h - aligned allocation and wiping.
 *
 * Probe data rule: every buffer that ever held probe bytes (image, template,
 * reassembly buffer) is wiped with bh_wipe() before it is freed or reused.
 * bh_wipe() is explicit_bzero(): the compiler may not elide it.
 */
#ifndef BH_MEM_H
#define BH_MEM_H

#include <stddef.h>

#define BH_ALIGN 64 /* cache line; also the AVX-512 vector width */

/* Rounds n up to a multiple of a (a power of two). */
static inline size_t bh_round_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

/* 64-byte aligned, zeroed allocation; NULL on failure or size overflow. */
void *bh_aligned_zalloc(size_t n);
void bh_aligned_free(void *p);

/* explicit_bzero; safe with p == NULL. */
void bh_wipe(void *p, size_t n);

/* Wipes n bytes at p, then free()s / bh_aligned_free()s it. */
void bh_wipe_free(void *p, size_t n);
void bh_wipe_aligned_free(void *p, size_t n);

/* Stack bytes bh_wipe_stack() zeroes below its caller.  A search's deepest
 * frames (a face probe through detector, landmarks and descriptor, or a
 * finger through extraction, the engine and the re-rank) reach well under
 * this below the function that calls it; test_stack_wipe measures how far
 * and checks that every byte they left is cleared. */
#define BH_STACK_WIPE_BYTES (128 * 1024)

/* Zeroes BH_STACK_WIPE_BYTES of this thread's stack below the caller's
 * frame.  Called when a search ends, on the thread that ran it and on the
 * engine's pool threads after each shard: the compiler may keep vectors of
 * a probe (query rows, accumulators) in stack slots (objdump shows such
 * stores in the engine's AVX-512 scorer and the face convolutions), which
 * no bh_wipe() of a buffer reaches.  Every thread that calls it needs that
 * much stack left; ours run on the 8 MiB default. */
void bh_wipe_stack(void);

/* Multiplication with overflow check: returns 0 and stores a*b, or -1. */
int bh_mul_size(size_t a, size_t b, size_t *out);

#endif
