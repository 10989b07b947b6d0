/* Unit tests: the shared hash index (include/hashtab.h): lookups with a
 * caller's item array, colliding hashes, growth, removal with backward
 * shift, the u64-key set use, clear, and the hash functions. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "unit.h"

/* A caller's items: pairs, looked up by value. */
struct pair {
    uint32_t a, b;
};

static uint64_t pair_hash(struct pair p)
{
    return hashtab_mix64(hashtab_mix64(0, p.a), p.b);
}

/* The index of P in V (N items), added if new. */
static uint32_t intern(struct hashtab *t, struct pair *v, size_t *n, struct pair p, uint64_t h)
{
    struct hashtab_iter it;
    for (uint32_t i = hashtab_first(t, h, &it); i != HASHTAB_NONE; i = hashtab_next(t, &it))
        if (v[i].a == p.a && v[i].b == p.b)
            return i;
    ck_assert_int_eq(hashtab_insert(t, &it, (uint32_t)*n), 0);
    v[*n] = p;
    return (uint32_t)(*n)++;
}

START_TEST(test_items)
{
    struct hashtab t;
    ck_assert_int_eq(hashtab_init(&t, 0), 0);
    enum { N = 50000 };
    struct pair *v = malloc(N * sizeof *v);
    size_t n = 0;
    for (uint32_t k = 0; k < N; k++)
        ck_assert_uint_eq(intern(&t, v, &n, (struct pair){ k % 1000, k / 1000 }, pair_hash((struct pair){ k % 1000, k / 1000 })), k);
    ck_assert_uint_eq(t.n, N);
    ck_assert_uint_le(t.n * 2, t.mask + 1);     /* at most half full after growing */
    for (uint32_t k = 0; k < N; k++)
        ck_assert_uint_eq(intern(&t, v, &n, (struct pair){ k % 1000, k / 1000 }, pair_hash((struct pair){ k % 1000, k / 1000 })), k);
    ck_assert_uint_eq(n, N);
    struct hashtab_iter it;
    ck_assert_uint_eq(hashtab_first(&t, pair_hash((struct pair){ 5000, 5000 }), &it), HASHTAB_NONE);
    ck_assert_int_eq(hashtab_insert(&t, &it, HASHTAB_NONE), -EINVAL);
    hashtab_free(&t);
    hashtab_free(&t);                           /* twice is fine */
    free(v);
}
END_TEST

START_TEST(test_collisions)
{
    /* Every item under one hash: the caller's comparison tells them apart. */
    struct hashtab t;
    ck_assert_int_eq(hashtab_init(&t, 4), 0);
    struct pair v[300];
    size_t n = 0;
    for (uint32_t k = 0; k < 300; k++)
        ck_assert_uint_eq(intern(&t, v, &n, (struct pair){ k, k }, 42), k);
    for (uint32_t k = 0; k < 300; k++)
        ck_assert_uint_eq(intern(&t, v, &n, (struct pair){ k, k }, 42), k);
    /* All 300 are found in one probe run, each once (in no promised order). */
    struct hashtab_iter it;
    uint32_t seen = 0;
    char once[300] = { 0 };
    for (uint32_t i = hashtab_first(&t, 42, &it); i != HASHTAB_NONE; i = hashtab_next(&t, &it)) {
        ck_assert_uint_lt(i, 300);
        ck_assert_int_eq(once[i]++, 0);
        seen++;
    }
    ck_assert_uint_eq(seen, 300);
    /* Hashes that differ only above the mask share slots but never match;
     * only the low 32 bits count. */
    ck_assert_uint_eq(hashtab_first(&t, 42 + ((uint64_t)1 << 20), &it), HASHTAB_NONE);
    ck_assert_uint_ne(hashtab_first(&t, 42 + ((uint64_t)1 << 40), &it), HASHTAB_NONE);
    hashtab_free(&t);
}
END_TEST

/* Whether KEY is in the u64 set T, whose keys are in KEYS. */
static int set_has(const struct hashtab *t, const uint64_t *keys, uint64_t key)
{
    struct hashtab_iter it;
    for (uint32_t i = hashtab_first(t, hashtab_key64(key), &it); i != HASHTAB_NONE; i = hashtab_next(t, &it))
        if (keys[i] == key)
            return 1;
    return 0;
}

/* The index of KEY in the set T, its iterator in IT. */
static uint32_t set_find(const struct hashtab *t, const uint64_t *keys, uint64_t key, struct hashtab_iter *it)
{
    for (uint32_t i = hashtab_first(t, hashtab_key64(key), it); i != HASHTAB_NONE; i = hashtab_next(t, it))
        if (keys[i] == key)
            return i;
    return HASHTAB_NONE;
}

START_TEST(test_u64_set_and_remove)
{
    /* An address set (pywalk's visited frames): addresses in an array,
     * the table indexes them by hashtab_key64. */
    struct hashtab t;
    ck_assert_int_eq(hashtab_init(&t, 8), 0);
    enum { N = 4000 };
    static uint64_t keys[N];
    for (uint64_t k = 0; k < N; k++) {
        keys[k] = 0x7f0000001000ull + k * 16;
        ck_assert_int_eq(hashtab_add(&t, hashtab_key64(keys[k]), (uint32_t)k), 0);
    }
    ck_assert_uint_eq(t.n, N);
    struct hashtab_iter it;
    ck_assert_uint_eq(set_find(&t, keys, 0x7f0000001000ull + 77 * 16, &it), 77);
    ck_assert(!set_has(&t, keys, 0x7f0000001008ull));
    /* Remove every third key; the rest stay reachable across the holes. */
    for (uint64_t k = 0; k < N; k += 3) {
        ck_assert_uint_eq(set_find(&t, keys, keys[k], &it), k);
        hashtab_remove(&t, &it);
    }
    for (uint64_t k = 0; k < N; k++)
        ck_assert_int_eq(set_has(&t, keys, keys[k]), k % 3 != 0);
    ck_assert_uint_eq(t.n, N - (N + 2) / 3);
    hashtab_clear(&t);
    ck_assert_uint_eq(t.n, 0);
    ck_assert(!set_has(&t, keys, keys[1]));
    hashtab_free(&t);
}
END_TEST

START_TEST(test_remove_wraps)
{
    /* Runs that wrap past the last slot, with mixed home slots: remove in
     * every order and check all the others after each step. */
    for (int order = 0; order < 3; order++) {
        struct hashtab t;
        ck_assert_int_eq(hashtab_init(&t, 0), 0);  /* 16 slots */
        size_t size = t.mask + 1;
        uint64_t hashes[7] = { size - 2, size - 2, size - 1, size - 2, 0, 1, size - 1 };
        for (uint32_t i = 0; i < 7; i++)
            ck_assert_int_eq(hashtab_add(&t, hashes[i] | ((uint64_t)i << 16), i), 0);
        ck_assert_uint_eq(t.mask + 1, size);        /* no growth: the wrap is tested */
        int gone[7] = { 0 };
        for (int step = 0; step < 7; step++) {
            int victim = order == 0 ? step : order == 1 ? 6 - step : (step * 3) % 7;
            struct hashtab_iter it;
            uint64_t h = hashes[victim] | ((uint64_t)victim << 16);
            ck_assert_uint_eq(hashtab_first(&t, h, &it), (uint32_t)victim);
            hashtab_remove(&t, &it);
            gone[victim] = 1;
            for (uint32_t i = 0; i < 7; i++) {
                uint32_t got = hashtab_first(&t, hashes[i] | ((uint64_t)i << 16), &it);
                ck_assert_uint_eq(got, gone[i] ? HASHTAB_NONE : i);
            }
        }
        ck_assert_uint_eq(t.n, 0);
        hashtab_free(&t);
    }
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_hash_functions)
{
    /* key64 is a bijection on a sample (no two of 64k keys collide in 64
     * bits) and spreads consecutive keys over the low bits. */
    enum { N = 65536 };
    uint64_t *h = malloc(N * sizeof *h);
    unsigned low[256] = { 0 };
    for (uint64_t k = 0; k < N; k++) {
        h[k] = hashtab_key64(k << 4);
        low[h[k] & 255]++;
    }
    for (int i = 0; i < 256; i++)
        ck_assert_uint_gt(low[i], 128);             /* 256 expected per bucket */
    qsort(h, N, sizeof *h, cmp_u64);
    for (size_t k = 1; k < N; k++)
        ck_assert_uint_ne(h[k - 1], h[k]);
    free(h);
    /* mix64: ids packed in the high half still reach the low bits. */
    unsigned lowm[64] = { 0 };
    for (uint64_t k = 0; k < 6400; k++)
        lowm[hashtab_mix64(0, k << 32) & 63]++;
    for (int i = 0; i < 64; i++)
        ck_assert_uint_gt(lowm[i], 50);
    ck_assert_uint_ne(hashtab_mix64(hashtab_mix64(0, 1), 2), hashtab_mix64(hashtab_mix64(0, 2), 1));
    /* bytes: length-bounded, content-sensitive. */
    ck_assert_uint_eq(hashtab_bytes("alphabet", 5), hashtab_bytes("alpha", 5));
    ck_assert_uint_ne(hashtab_bytes("alpha", 5), hashtab_bytes("alphb", 5));
    ck_assert_uint_ne(hashtab_bytes("", 0), hashtab_bytes("\0", 1));
}
END_TEST

START_TEST(test_init_sizes)
{
    struct hashtab t;
    ck_assert_int_eq(hashtab_init(&t, 1000), 0);
    size_t size = t.mask + 1;
    ck_assert_uint_ge(size, 2000);
    for (uint32_t k = 0; k < 1000; k++)
        ck_assert_int_eq(hashtab_add(&t, hashtab_key64(k), k), 0);
    ck_assert_uint_eq(t.mask + 1, size);            /* room for MIN_ITEMS without growing */
    hashtab_clear(&t);
    hashtab_clear(&t);
    ck_assert_uint_eq(t.n, 0);
    hashtab_free(&t);
    struct hashtab z;
    memset(&z, 0, sizeof z);
    hashtab_free(&z);                               /* a zeroed table frees */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hashtab");
    TCase *tc = tcase_create("hashtab");
    tcase_add_test(tc, test_items);
    tcase_add_test(tc, test_collisions);
    tcase_add_test(tc, test_u64_set_and_remove);
    tcase_add_test(tc, test_remove_wraps);
    tcase_add_test(tc, test_hash_functions);
    tcase_add_test(tc, test_init_sizes);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
