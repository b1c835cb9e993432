/* bh_mem.c - aligned allocation and wiping (see bh_mem.h). */
#define _DEFAULT_SOURCE
#include "bh_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *bh_aligned_zalloc(size_t n)
{
	if (n == 0)
		n = BH_ALIGN;
	if (n > SIZE_MAX - BH_ALIGN)
		return NULL;
	void *p = aligned_alloc(BH_ALIGN, bh_round_up(n, BH_ALIGN));
	if (p)
		memset(p, 0, n);
	return p;
}

void bh_aligned_free(void *p) { free(p); }

void bh_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void bh_wipe_free(void *p, size_t n)
{
	bh_wipe(p, n);
	free(p);
}

__attribute__((noinline)) void bh_wipe_stack(void)
{
	uint8_t area[BH_STACK_WIPE_BYTES];
	explicit_bzero(area, sizeof area);
	__asm__ volatile("" : : "r"(area) : "memory"); /* the area is used: keep the frame */
}

void bh_wipe_aligned_free(void *p, size_t n)
{
	bh_wipe(p, n);
	free(p);
}

int bh_mul_size(size_t a, size_t b, size_t *out)
{
	if (b && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}
