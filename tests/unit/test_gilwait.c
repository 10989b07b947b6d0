/* Unit tests: gilwait on a semaphore in this process, read back through
 * process_vm_readv on our own pid, as gilscope reads 2.7's GIL lock:
 * gilwait_locate finds the lock through its pointer, and
 * gilwait_sem_waiters counts the threads inside sem_wait (glibc's layout:
 * the test fails if a glibc keeps it elsewhere), refusing words no binary
 * lock holds. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gilwait.h"
#include "proc.h"
#include "pyinterp.h"
#include "unit.h"

static struct proc_mem mem;

static void setup(void)
{
    ck_assert_int_eq(proc_mem_open(&mem, getpid()), 0);
}

static void teardown(void)
{
    proc_mem_close(&mem);
}

static void *waiter(void *arg)
{
    while (sem_wait(arg) != 0 && errno == EINTR)
        ;
    return NULL;
}

/* Poll until the count is WANT (threads take a moment to block), at most
 * 5 s; returns the last count read. */
static uint32_t waiters_reach(const struct gilwait *g, uint32_t want)
{
    uint32_t n = UINT32_MAX;
    for (int i = 0; i < 5000; i++) {
        ck_assert_int_eq(gilwait_sem_waiters(g, &mem, 8, &n), 0);
        if (n == want)
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
    return n;
}

START_TEST(test_sem_waiters)
{
    sem_t *lock = aligned_alloc(64, 64);
    ck_assert_ptr_nonnull(lock);
    ck_assert_int_eq(sem_init(lock, 0, 1), 0);
    uint64_t lock_ptr = (uint64_t)(uintptr_t)lock;
    struct pyinterp pi;
    memset(&pi, 0, sizeof pi);
    pi.gil_lock_ptr = (uint64_t)(uintptr_t)&lock_ptr;
    struct gilwait g;
    ck_assert_int_eq(gilwait_locate(&g, &mem, &pi, 0), 0);
    ck_assert_uint_eq(g.sem_addr, lock_ptr);
    ck_assert_int_eq(gilwait_is_gil(&g, lock_ptr), 1);

    uint32_t n = 99;
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), 0);
    ck_assert_uint_eq(n, 0);    /* free, nobody waits */
    ck_assert_int_eq(sem_wait(lock), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, waiter, lock), 0);
    ck_assert_uint_eq(waiters_reach(&g, 2), 2);
    /* Fewer threads than that in the target: not a count to trust. */
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 1, &n), -EINVAL);
    ck_assert_int_eq(sem_post(lock), 0);
    ck_assert_uint_eq(waiters_reach(&g, 1), 1);
    ck_assert_int_eq(sem_post(lock), 0);
    ck_assert_uint_eq(waiters_reach(&g, 0), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    sem_destroy(lock);
    free(lock);
}
END_TEST

START_TEST(test_sem_refused)
{
    uint64_t word[4] = { 0 };
    struct gilwait g;
    memset(&g, 0, sizeof g);
    uint32_t n = 0;
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), -ENOENT);  /* no semaphore GIL */
    g.sem_addr = (uint64_t)(uintptr_t)word;
    word[0] = 2;    /* a value no binary lock has */
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), -EINVAL);
    word[0] = 128ull << 32;    /* glibc before 2.21 kept a flag there */
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), -EINVAL);
    word[0] = 3ull << 32;
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), 0);
    ck_assert_uint_eq(n, 3);
    g.sem_addr = 8;     /* unmapped */
    ck_assert_int_eq(gilwait_sem_waiters(&g, &mem, 8, &n), -EFAULT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gilwait");
    TCase *tc = tcase_create("gilwait");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sem_waiters);
    tcase_add_test(tc, test_sem_refused);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
