/*
 * dp_idle.c - the rx lcore's adaptive, interruptible idle sleep (dp_idle.h).
 */
#include "dp_idle.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void dp_idle_init(dp_idle *i, unsigned min_us, unsigned max_us)
{
	atomic_store(&i->asleep, 0);
	i->min_us = min_us;
	i->max_us = max_us < min_us ? min_us : max_us;
	i->cur_us = min_us;
	i->sleeps = i->kicks = 0;
}

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

int dp_idle_sleep(dp_idle *i, int (*pending)(void *ctx), void *ctx)
{
	if (!i->cur_us)
		return 0;
	/* Announce first, then look: a kick after the look finds asleep = 1
	 * and wakes the futex; one before it shows up as pending work. */
	atomic_store(&i->asleep, 1);
	if (pending(ctx)) {
		atomic_store(&i->asleep, 0);
		return 0;
	}
	struct timespec ts = {.tv_sec = i->cur_us / 1000000u,
			      .tv_nsec = (long)(i->cur_us % 1000000u) * 1000};
	i->sleeps++;
	/* Returns on timeout, on a kick (asleep already 0: EAGAIN if it came
	 * before the wait began), or on a signal; all mean "poll again". */
	futex(&i->asleep, FUTEX_WAIT_PRIVATE, 1, &ts);
	if (atomic_exchange(&i->asleep, 0) == 0)
		i->kicks++;
	return 1;
}

void dp_idle_woke(dp_idle *i, unsigned n, unsigned burst)
{
	if (!i->min_us)
		return;
	if (n >= burst)
		i->cur_us = i->cur_us / 2 > i->min_us ? i->cur_us / 2 : i->min_us;
	else if (2 * n < burst)
		i->cur_us = i->cur_us * 2 < i->max_us ? i->cur_us * 2 : i->max_us;
}

void dp_idle_kick(dp_idle *i)
{
	if (atomic_exchange(&i->asleep, 0) == 1)
		futex(&i->asleep, FUTEX_WAKE_PRIVATE, 1, NULL);
}
