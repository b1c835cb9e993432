/*
 * dp_idle.h - how biohubd's rx lcore waits when there is nothing to do.
 *
 * The rx lcore busy-polls its port.  With nothing arriving it gives the CPU
 * back by sleeping, and the length of that sleep adapts:
 *
 *   - it starts at min_us (config idle_sleep_us) and doubles, up to max_us
 *     (config idle_sleep_max_us), each time a wake-up finds less than half a
 *     burst waiting;
 *   - it halves, down to min_us, each time a wake-up finds a full burst.
 *
 * So under light, steady traffic the loop wakes about once per half burst of
 * frames instead of once per frame.  Why it matters: every sleep is a timer
 * and a context switch, and on a virtual machine each costs the host far more
 * than it shows in the guest.  Measured on the 2-CPU PVM guest we develop
 * on, a thread doing usleep(50) in a loop next to one busy CPU made the host
 * stop a vCPU for 100 ms 21 times in 20 s (11 with usleep(100), none with
 * 200 or more); biohubd's fixed 50 us sleep under overload did the same to
 * its search worker.  docs/PERFORMANCE.md has the measurement.
 *
 * A frame waits at most max_us more before it is read.  Answers do not wait
 * for the sleep to end: a thread that hands the rx lcore work calls
 * dp_idle_kick(), which ends the sleep at once (a futex).  The kick costs a
 * system call only when the rx lcore is actually asleep.
 *
 * Threads: dp_idle_sleep() and dp_idle_woke() on the rx lcore only;
 * dp_idle_kick() from any thread.
 */
#ifndef DP_IDLE_H
#define DP_IDLE_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct dp_idle {
	_Atomic uint32_t asleep; /* 1 while the rx lcore sleeps or is about to */
	unsigned cur_us, min_us, max_us;
	uint64_t sleeps, kicks;  /* counters: sleeps taken, sleeps cut short */
} dp_idle;

/* min_us = 0 turns sleeping off (pure busy poll); max_us < min_us is raised
 * to min_us. */
void dp_idle_init(dp_idle *i, unsigned min_us, unsigned max_us);

/* Sleeps for the current length unless pending(ctx) says there is work
 * (checked after announcing the sleep, so a kick cannot be missed) or
 * sleeping is off.  Returns 1 if it slept. */
int dp_idle_sleep(dp_idle *i, int (*pending)(void *ctx), void *ctx);

/* After a sleep (only then): n frames were waiting in the first poll
 * (burst = a full poll); adapts the next sleep. */
void dp_idle_woke(dp_idle *i, unsigned n, unsigned burst);

/* From another thread, after handing the rx lcore work. */
void dp_idle_kick(dp_idle *i);

#endif
