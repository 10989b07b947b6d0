/* Unit tests: the batched-read planner (readbatch), reading from this very
 * process through proc_mem. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "readbatch.h"

/* Memory to read: a recognisable pattern that nothing changes meanwhile. */
static _Alignas(4096) uint8_t mem[16384];
static struct proc_mem self;

static uint64_t at(size_t off)
{
    return (uint64_t)(uintptr_t)(mem + off);
}

static void setup(void)
{
    for (size_t i = 0; i < sizeof mem; i++)
        mem[i] = (uint8_t)(i * 7 + (i >> 8));
    ck_assert_int_eq(proc_mem_open(&self, getpid()), 0);
}

static void teardown(void)
{
    proc_mem_close(&self);
}

/* Item K holds exactly the bytes it asked for. */
static void check_item(const struct readbatch *b, size_t k, size_t off, size_t len)
{
    const uint8_t *p = readbatch_ptr(b, k);
    ck_assert_ptr_nonnull(p);
    ck_assert(p >= b->buf && p + len <= b->buf + b->cap_buf);
    ck_assert_int_eq(memcmp(p, mem + off, len), 0);
}

START_TEST(test_merge_within_gap)
{
    struct readbatch b;
    readbatch_init(&b, 0);
    size_t a = readbatch_add(&b, 0, at(0), 16, READBATCH_GAP);
    size_t c = readbatch_add(&b, 0, at(16 + 500), 8, READBATCH_GAP);   /* 500 < 512 past a's end */
    size_t d = readbatch_add(&b, 0, at(4096), 32, READBATCH_GAP);      /* far: a range of its own */
    size_t e = readbatch_add(&b, 0, at(4096 + 32 + 513), 8, READBATCH_GAP); /* just over the gap */
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    ck_assert_uint_eq(b.niov, 3);
    ck_assert_uint_eq(b.iov[0].addr, at(0));
    ck_assert_uint_eq(b.iov[0].len, 16 + 500 + 8);
    ck_assert_uint_eq(b.iov[1].addr, at(4096));
    ck_assert_uint_eq(b.iov[1].len, 32);
    ck_assert_uint_eq(b.iov[2].addr, at(4096 + 32 + 513));
    check_item(&b, a, 0, 16);
    check_item(&b, c, 16 + 500, 8);
    check_item(&b, d, 4096, 32);
    check_item(&b, e, 4096 + 32 + 513, 8);
    /* The gap is the later item's own: with 0 only touching ranges merge. */
    readbatch_reset(&b);
    a = readbatch_add(&b, 0, at(100), 10, 0);
    c = readbatch_add(&b, 0, at(110), 10, 0);
    d = readbatch_add(&b, 0, at(121), 10, 0);
    e = readbatch_add(&b, 0, at(125), 2, 0);    /* inside d */
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    ck_assert_uint_eq(b.niov, 2);
    ck_assert_uint_eq(b.iov[0].len, 20);
    ck_assert_uint_eq(b.iov[1].len, 10);
    check_item(&b, a, 100, 10);
    check_item(&b, c, 110, 10);
    check_item(&b, d, 121, 10);
    check_item(&b, e, 125, 2);
    readbatch_free(&b);
}
END_TEST

START_TEST(test_groups)
{
    struct readbatch b;
    readbatch_init(&b, 0);
    /* Added out of group order; adjacent, but in different groups. */
    size_t late = readbatch_add(&b, 4, at(0), 8, READBATCH_GAP);
    size_t mid = readbatch_add(&b, 2, at(8), 8, READBATCH_GAP);
    size_t first = readbatch_add(&b, 0, at(64), 8, READBATCH_GAP);
    size_t first2 = readbatch_add(&b, 0, at(16), 8, READBATCH_GAP);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    /* Group 0 (both items merged), then 2, then 4; never across groups. */
    ck_assert_uint_eq(b.niov, 3);
    ck_assert_uint_eq(b.iov[0].addr, at(16));
    ck_assert_uint_eq(b.iov[0].len, 64 + 8 - 16);
    ck_assert_uint_eq(b.iov[1].addr, at(8));
    ck_assert_uint_eq(b.iov[2].addr, at(0));
    /* The buffer follows the read order. */
    ck_assert(readbatch_ptr(&b, first2) < readbatch_ptr(&b, mid));
    ck_assert(readbatch_ptr(&b, mid) < readbatch_ptr(&b, late));
    check_item(&b, late, 0, 8);
    check_item(&b, mid, 8, 8);
    check_item(&b, first, 64, 8);
    check_item(&b, first2, 16, 8);
    ck_assert_uint_eq(readbatch_word(&b, mid), *(uint64_t *)(void *)(mem + 8));
    readbatch_free(&b);

    /* One group (blocking): the same plan is one range. */
    readbatch_init(&b, 1);
    late = readbatch_add(&b, 4, at(0), 8, READBATCH_GAP);
    mid = readbatch_add(&b, 2, at(8), 8, READBATCH_GAP);
    first = readbatch_add(&b, 0, at(64), 8, READBATCH_GAP);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    ck_assert_uint_eq(b.niov, 1);
    ck_assert_uint_eq(b.items[late].group, 0);
    check_item(&b, late, 0, 8);
    check_item(&b, mid, 8, 8);
    check_item(&b, first, 64, 8);
    readbatch_free(&b);
}
END_TEST

/* ORDER is a permutation of the items sorted by (group, address). */
static void check_sorted(const struct readbatch *b)
{
    char *seen = calloc(b->n, 1);
    ck_assert_ptr_nonnull(seen);
    for (size_t k = 0; k < b->n; k++) {
        ck_assert_uint_lt(b->order[k], b->n);
        ck_assert_int_eq(seen[b->order[k]], 0);
        seen[b->order[k]] = 1;
        if (k == 0)
            continue;
        const struct readbatch_item *p = &b->items[b->order[k - 1]], *q = &b->items[b->order[k]];
        ck_assert(p->group < q->group || (p->group == q->group && p->addr <= q->addr));
    }
    free(seen);
}

START_TEST(test_sort)
{
    struct readbatch b;
    readbatch_init(&b, 0);
    /* Short groups and a long one, descending, mixed. */
    for (size_t i = 0; i < 200; i++) {
        unsigned g = i % 3 == 0 ? 1 : i % 7 == 0 ? 5 : 3;
        ck_assert_uint_ne(readbatch_add(&b, g, at(8000 - i * 40), 8, READBATCH_GAP), READBATCH_NONE);
    }
    readbatch_sort(&b);
    check_sorted(&b);
    /* Already in order: left as it is. */
    readbatch_reset(&b);
    for (size_t i = 0; i < 50; i++)
        readbatch_add(&b, 2, at(i * 16), 8, READBATCH_GAP);
    readbatch_sort(&b);
    check_sorted(&b);
    for (size_t k = 0; k < b.n; k++)
        ck_assert_uint_eq(b.order[k], k);
    /* A short group out of order, with equal addresses. */
    readbatch_reset(&b);
    size_t x = readbatch_add(&b, 1, at(300), 8, READBATCH_GAP);
    readbatch_add(&b, 1, at(100), 8, READBATCH_GAP);
    readbatch_add(&b, 1, at(300), 4, READBATCH_GAP);
    readbatch_add(&b, 0, at(200), 8, READBATCH_GAP);
    readbatch_sort(&b);
    check_sorted(&b);
    ck_assert_uint_eq(b.order[0], 3);
    ck_assert_uint_eq(b.order[1], 1);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    check_item(&b, x, 300, 8);
    /* Sorted runs one after another (as passes plan them), then scrambled
     * addresses with repeats: merged into one order either way. */
    readbatch_reset(&b);
    for (size_t r = 0; r < 5; r++)
        for (size_t i = 0; i < 40; i++)
            readbatch_add(&b, 0, at((i * 5 + r) * 8), 8, READBATCH_GAP);
    readbatch_sort(&b);
    check_sorted(&b);
    readbatch_reset(&b);
    for (size_t i = 0; i < 1000; i++)
        readbatch_add(&b, (unsigned)(i % 2), at((i * 7919 % 613) * 8), 8, READBATCH_GAP);
    readbatch_sort(&b);
    check_sorted(&b);
    readbatch_free(&b);
}
END_TEST

START_TEST(test_refusals_and_failure)
{
    struct readbatch b;
    readbatch_init(&b, 0);
    ck_assert_uint_eq(readbatch_add(&b, 0, at(0), 0, READBATCH_GAP), READBATCH_NONE);
    ck_assert_uint_eq(readbatch_add(&b, 0, 0, 8, READBATCH_GAP), READBATCH_NONE);
    ck_assert_uint_eq(readbatch_add(&b, READBATCH_GROUPS, at(0), 8, READBATCH_GAP), READBATCH_NONE);
    ck_assert_uint_eq(readbatch_add(&b, 0, at(0), (size_t)UINT32_MAX + 1, READBATCH_GAP), READBATCH_NONE);
    ck_assert_uint_eq(b.n, 0);
    ck_assert_ptr_null(readbatch_ptr(&b, READBATCH_NONE));
    ck_assert_uint_eq(readbatch_word(&b, READBATCH_NONE), 0);
    /* An empty batch runs, and every run has a new stamp. */
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    uint64_t s1 = b.stamp;
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    ck_assert_uint_ne(b.stamp, s1);
    /* All or nothing: one unreadable range fails the batch. */
    readbatch_add(&b, 0, at(0), 8, READBATCH_GAP);
    readbatch_add(&b, 1, 8, 8, READBATCH_GAP);     /* page zero */
    ck_assert_int_lt(readbatch_run(&b, &self), 0);
    /* Many items grow the arrays. */
    readbatch_reset(&b);
    for (size_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(readbatch_add(&b, i % 2, at((i * 13) % 16000), 8, (uint16_t)(i % 3)), i);
    ck_assert_int_eq(readbatch_run(&b, &self), 0);
    for (size_t i = 0; i < 1000; i++)
        check_item(&b, i, (i * 13) % 16000, 8);
    readbatch_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("readbatch");
    TCase *tc = tcase_create("readbatch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_merge_within_gap);
    tcase_add_test(tc, test_groups);
    tcase_add_test(tc, test_sort);
    tcase_add_test(tc, test_refusals_and_failure);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
