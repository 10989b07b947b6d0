/* Unit tests: the top-K insertion (include/topk.h): order, what falls off
 * a full list, ties (first inserted first, a tie with the last of a full
 * list left out), MAX 0, and items that are indices ranked through CTX. */
#include <check.h>
#include <stdint.h>

#include "topk.h"
#include "unit.h"

/* Items: a count, the larger first, and a tag telling equal counts apart. */
struct item {
    int count, tag;
};

static int more(const void *a, const void *b, const void *ctx)
{
    int x = ((const struct item *)a)->count, y = ((const struct item *)b)->count;
    return (x < y) - (x > y);
}

/* Insert an item of COUNT and TAG into OUT (*N held, room for MAX);
 * whether it was kept. */
static int put(struct item *out, size_t *n, size_t max, int count, int tag)
{
    return topk_insert(out, n, max, sizeof *out, &(struct item){ count, tag }, more, NULL);
}

/* Insert the counts V[0..NV) (tagged with their position) into an empty
 * OUT with room for MAX; how many it holds. */
static size_t fill(struct item *out, size_t max, const int *v, size_t nv)
{
    size_t n = 0;
    for (size_t i = 0; i < nv; i++)
        put(out, &n, max, v[i], (int)i);
    return n;
}

START_TEST(test_order)
{
    static const int v[] = { 3, 9, 1, 7, 5 }, want[] = { 9, 7, 5, 3, 1 };
    struct item out[8];
    ck_assert_uint_eq(fill(out, 8, v, 5), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(out[i].count, want[i]);
}
END_TEST

START_TEST(test_full)
{
    /* The 3 best of 6; the others fall off or are never kept. */
    static const int v[] = { 4, 2, 8, 6, 1, 7 }, want[] = { 8, 7, 6 }, then[] = { 9, 8, 7 };
    struct item out[3];
    size_t n = fill(out, 3, v, 6);
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i].count, want[i]);
    ck_assert_int_eq(put(out, &n, 3, 5, 9), 0);
    ck_assert_int_eq(put(out, &n, 3, 9, 9), 1);
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i].count, then[i]);
}
END_TEST

START_TEST(test_ties)
{
    /* Equal counts keep the order they came in: one tying an earlier item
     * goes after it (the 3 falls off); with the list full, one tying the
     * last is left out. */
    static const int v[] = { 5, 5, 3, 5 }, tags[] = { 0, 1, 3 };
    struct item out[3];
    size_t n = fill(out, 3, v, 4);
    ck_assert_int_eq(put(out, &n, 3, 5, 7), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i].tag, tags[i]);
}
END_TEST

START_TEST(test_max_zero)
{
    struct item out[1] = { { -1, -1 } };
    size_t n = 0;
    ck_assert_int_eq(put(out, &n, 0, 1, 0), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(out[0].count, -1);     /* untouched */
}
END_TEST

/* Indices into the counts CTX points at, the larger count first. */
static int more_at(const void *a, const void *b, const void *ctx)
{
    const uint64_t *c = ctx;
    uint64_t x = c[*(const uint32_t *)a], y = c[*(const uint32_t *)b];
    return (x < y) - (x > y);
}

START_TEST(test_ctx)
{
    static const uint64_t counts[] = { 10, 40, 20, 40, 30 };
    uint32_t out[3];
    size_t n = 0;
    for (uint32_t i = 0; i < 5; i++)
        topk_insert(out, &n, 3, sizeof *out, &i, more_at, counts);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 3);
    ck_assert_uint_eq(out[2], 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("topk");
    TCase *tc = tcase_create("topk");
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_ties);
    tcase_add_test(tc, test_max_zero);
    tcase_add_test(tc, test_ctx);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
