/* test_dp_idle.c - the rx lcore's adaptive idle sleep (dp_idle): how its
 * length follows what each wake-up finds, and that a kick from another
 * thread ends a sleep at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <cmocka.h>

#include "bh_time.h"
#include "dp_idle.h"

static int nothing_pending(void *ctx) { (void)ctx; return 0; }
static int work_pending(void *ctx) { (void)ctx; return 1; }

static void adapts_to_what_wakeups_find(void **state)
{
	(void)state;
	dp_idle i;
	dp_idle_init(&i, 50, 1000);
	assert_int_equal(i.cur_us, 50);
	dp_idle_woke(&i, 0, 32); /* nothing came: sleep longer */
	assert_int_equal(i.cur_us, 100);
	dp_idle_woke(&i, 15, 32); /* under half a burst: longer */
	assert_int_equal(i.cur_us, 200);
	for (int k = 0; k < 10; k++)
		dp_idle_woke(&i, 0, 32);
	assert_int_equal(i.cur_us, 1000); /* capped */
	dp_idle_woke(&i, 16, 32);         /* half a burst or more: keep */
	assert_int_equal(i.cur_us, 1000);
	dp_idle_woke(&i, 32, 32); /* a full burst waited: shorter */
	assert_int_equal(i.cur_us, 500);
	for (int k = 0; k < 10; k++)
		dp_idle_woke(&i, 32, 32);
	assert_int_equal(i.cur_us, 50); /* floored */
}

static void zero_means_busy_poll(void **state)
{
	(void)state;
	dp_idle i;
	dp_idle_init(&i, 0, 1000);
	dp_idle_woke(&i, 0, 32);
	assert_int_equal(i.cur_us, 0);
	assert_int_equal(dp_idle_sleep(&i, nothing_pending, NULL), 0); /* off */
	assert_int_equal(i.sleeps, 0);
	dp_idle_init(&i, 300, 100); /* max below min: raised to min */
	assert_int_equal(i.max_us, 300);
}

static void pending_work_skips_the_sleep(void **state)
{
	(void)state;
	dp_idle i;
	dp_idle_init(&i, 100000, 100000);
	uint64_t t0 = bh_now_ns();
	assert_int_equal(dp_idle_sleep(&i, work_pending, NULL), 0);
	assert_true(bh_now_ns() - t0 < 50000000u);
	assert_int_equal(i.sleeps, 0);
	assert_int_equal(atomic_load(&i.asleep), 0);
}

static void sleep_times_out(void **state)
{
	(void)state;
	dp_idle i;
	dp_idle_init(&i, 2000, 2000);
	uint64_t t0 = bh_now_ns();
	assert_int_equal(dp_idle_sleep(&i, nothing_pending, NULL), 1);
	assert_true(bh_now_ns() - t0 >= 2000000u);
	assert_int_equal(i.sleeps, 1);
	assert_int_equal(i.kicks, 0);
	dp_idle_kick(&i); /* not asleep: nothing to do, nothing counted */
	assert_int_equal(atomic_load(&i.asleep), 0);
}

static void *sleeper(void *arg)
{
	dp_idle_sleep(arg, nothing_pending, NULL);
	return NULL;
}

/* A 10 s sleep ended by a kick: the sleeper returns long before. */
static void kick_ends_the_sleep(void **state)
{
	(void)state;
	dp_idle i;
	dp_idle_init(&i, 10000000, 10000000);
	pthread_t t;
	uint64_t t0 = bh_now_ns();
	assert_int_equal(pthread_create(&t, NULL, sleeper, &i), 0);
	while (!atomic_load(&i.asleep))
		sched_yield();
	dp_idle_kick(&i);
	pthread_join(t, NULL);
	assert_true(bh_now_ns() - t0 < 5000000000ull);
	assert_int_equal(i.sleeps, 1);
	assert_int_equal(i.kicks, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adapts_to_what_wakeups_find),
		cmocka_unit_test(zero_means_busy_poll),
		cmocka_unit_test(pending_work_skips_the_sleep),
		cmocka_unit_test(sleep_times_out),
		cmocka_unit_test(kick_ends_the_sleep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
