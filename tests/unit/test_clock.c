/* Unit tests: the monotonic and thread CPU clocks (include/clock.h). */
#include <check.h>
#include <time.h>

#include "clock.h"
#include "unit.h"

START_TEST(test_mono)
{
    uint64_t a = clock_mono_ns();
    ck_assert_uint_gt(a, 0);
    uint64_t prev = a;
    for (int i = 0; i < 100000; i++) {
        uint64_t t = clock_mono_ns();
        ck_assert_uint_ge(t, prev);         /* never goes back */
        prev = t;
    }
    struct timespec nap = { 0, 2000000 };   /* 2 ms */
    nanosleep(&nap, NULL);
    uint64_t b = clock_mono_ns();
    ck_assert_uint_ge(b - a, 2000000);
    ck_assert_uint_lt(b - a, 10000000000ull);
    /* The same clock as CLOCK_MONOTONIC, in nanoseconds. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t direct = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    uint64_t c = clock_mono_ns();
    ck_assert_uint_ge(c, direct);
    ck_assert_uint_lt(c - direct, 1000000000ull);
}
END_TEST

START_TEST(test_thread_cpu)
{
    uint64_t a = clock_thread_cpu_ns();
    /* Spin 5 ms of wall time: the thread's CPU time grows; sleeping does not count much. */
    uint64_t until = clock_mono_ns() + 5000000;
    volatile uint64_t x = 0;
    while (clock_mono_ns() < until)
        x++;
    uint64_t b = clock_thread_cpu_ns();
    ck_assert_uint_gt(b, a);
    struct timespec nap = { 0, 20000000 };  /* 20 ms asleep */
    nanosleep(&nap, NULL);
    uint64_t c = clock_thread_cpu_ns();
    ck_assert_uint_lt(c - b, 15000000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("clock");
    tcase_add_test(tc, test_mono);
    tcase_add_test(tc, test_thread_cpu);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
