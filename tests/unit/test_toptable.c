/* Unit tests: toptable, the aggregation behind `gilscope top` — own and
 * total counts per function from synthetic samples, recursion counted once,
 * the interval roll, filters, per-line rows, sorting by each column,
 * percentages and the time per sample. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "toptable.h"

/* Synthetic names: function k is name id 100+k in file id 7, first line 10·k,
 * executing line 10·k + LINE_OFF. */
enum { FILE_ID = 7, LINE_OFF = 3 };

static struct frame fn(int k)
{
    struct frame f = { .name = 100u + (uint32_t)k, .file = FILE_ID, .line = 10 * k + LINE_OFF,
                       .first_line = 10 * k, .kind = FRAME_PYTHON };
    return f;
}

/* Append a thread to S whose stack is FUNCS (leaf first, N of them), with FLAGS. */
static void push_thread(struct sample *s, pid_t tid, uint32_t flags, const int *funcs, size_t n)
{
    struct thread_sample t = { .pid = 1, .tid = tid, .flags = flags, .first = (uint32_t)s->nframes,
                               .nframes = (uint32_t)n };
    for (size_t i = 0; i < n; i++) {
        struct frame f = fn(funcs[i]);
        ck_assert_int_eq(sample_push_frame(s, &f), 0);
    }
    ck_assert_int_eq(sample_push_thread(s, &t), 0);
}

static const struct toptable_row *find_row(struct toptable *t, int k, int line)
{
    const struct toptable_row *rows;
    size_t n;
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_OWN_PCT, 0, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (rows[i].name == 100u + (uint32_t)k && rows[i].file == FILE_ID && rows[i].line == line)
            return &rows[i];
    return NULL;
}

static const uint32_t ACTIVE = SAMPLE_ACTIVE, ACTIVE_GIL = SAMPLE_ACTIVE | SAMPLE_GIL;

START_TEST(test_own_total)
{
    struct toptable *t = toptable_new(NULL);
    ck_assert_ptr_nonnull(t);
    struct sample s = { 0 };
    /* Three passes of one thread: leaf 2 under 1 under 0, twice; leaf 1 under 0 once. */
    static const int a[] = { 2, 1, 0 }, b[] = { 1, 0 };
    for (int i = 0; i < 3; i++) {
        sample_clear(&s);
        s.time_ns = 1000000000ull + (uint64_t)i * 10000000ull;
        if (i < 2)
            push_thread(&s, 11, ACTIVE_GIL, a, 3);
        else
            push_thread(&s, 11, ACTIVE_GIL, b, 2);
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    /* Overall counts are there at once; the interval's only after a roll. */
    const struct toptable_row *r2 = find_row(t, 2, 20), *r1, *r0;
    ck_assert_ptr_nonnull(r2);
    ck_assert_uint_eq(r2->own_all, 2);
    ck_assert_uint_eq(r2->total_all, 2);
    ck_assert_uint_eq(r2->own, 0);
    toptable_roll(t);
    r2 = find_row(t, 2, 20);
    r1 = find_row(t, 1, 10);
    r0 = find_row(t, 0, 0);
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(r0);
    ck_assert_uint_eq(r2->own, 2);
    ck_assert_uint_eq(r2->total, 2);
    ck_assert_uint_eq(r1->own, 1);
    ck_assert_uint_eq(r1->total, 3);
    ck_assert_uint_eq(r1->own_all, 1);
    ck_assert_uint_eq(r1->total_all, 3);
    ck_assert_uint_eq(r0->own, 0);
    ck_assert_uint_eq(r0->total, 3);
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.passes, 3);
    ck_assert_uint_eq(st.kept, 3);
    ck_assert_uint_eq(st.gil_passes, 3);
    ck_assert_uint_eq(st.kept_all, 3);
    ck_assert_uint_eq(st.nthreads, 1);
    /* A second interval with nothing in it: percentages drop, times stay. */
    toptable_roll(t);
    r1 = find_row(t, 1, 10);
    ck_assert_uint_eq(r1->total, 0);
    ck_assert_uint_eq(r1->total_all, 3);
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.passes, 0);
    ck_assert_uint_eq(st.kept_all, 3);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

START_TEST(test_recursion_once)
{
    struct toptable *t = toptable_new(NULL);
    struct sample s = { 0 };
    /* f(5) recursing four deep under main(0); a second thread with f only once. */
    static const int deep[] = { 5, 5, 5, 5, 0 }, flat[] = { 5, 0 };
    push_thread(&s, 11, ACTIVE, deep, 5);
    push_thread(&s, 12, ACTIVE, flat, 2);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    const struct toptable_row *r5 = find_row(t, 5, 50), *r0 = find_row(t, 0, 0);
    ck_assert_uint_eq(r5->own, 2);
    ck_assert_uint_eq(r5->total, 2);  /* once per thread sample, not four times */
    ck_assert_uint_eq(r5->total_all, 2);
    ck_assert_uint_eq(r0->total, 2);
    ck_assert_uint_eq(r0->own, 0);
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.kept, 2);
    ck_assert_uint_eq(st.passes, 1);
    ck_assert_uint_eq(st.nthreads, 2);
    /* Total can never exceed the samples kept. */
    ck_assert_double_le(toptable_pct(r5->total, st.kept), 100.0);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

START_TEST(test_filters_and_header)
{
    struct toptable_opts o = { 0 };
    struct toptable *t = toptable_new(&o);
    struct sample s = { 0 };
    static const int busy[] = { 1, 0 }, idle[] = { 2, 0 };
    /* Pass 1: a busy GIL holder and an idle thread. Pass 2: only the idle
     * thread plus a thread with no frames (counted in the header, no row). */
    push_thread(&s, 11, ACTIVE_GIL, busy, 2);
    push_thread(&s, 12, 0, idle, 2);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    sample_clear(&s);
    push_thread(&s, 12, 0, idle, 2);
    push_thread(&s, 13, ACTIVE, NULL, 0);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.passes, 2);
    ck_assert_uint_eq(st.gil_passes, 1);
    ck_assert_uint_eq(st.threads, 4);
    ck_assert_uint_eq(st.active, 2);
    ck_assert_uint_eq(st.kept, 1);      /* idle ones left out by default */
    ck_assert_ptr_null(find_row(t, 2, 20));
    ck_assert_double_eq_tol(toptable_pct(st.gil_passes, st.passes), 50.0, 1e-9);
    ck_assert_double_eq_tol(toptable_pct(st.active, st.threads), 50.0, 1e-9);

    /* With idle threads: both passes' idle thread counts. */
    o.idle = 1;
    toptable_set_opts(t, &o);
    ck_assert_uint_eq(find_row(t, 1, 10)->own_all, 1);  /* filters do not reset */
    sample_clear(&s);
    push_thread(&s, 11, ACTIVE_GIL, busy, 2);
    push_thread(&s, 12, 0, idle, 2);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    ck_assert_uint_eq(find_row(t, 2, 20)->own, 1);
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.kept, 2);

    /* GIL only: the idle thread (no GIL) is out again even with idle on. */
    o.gil = 1;
    toptable_set_opts(t, &o);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    ck_assert_uint_eq(find_row(t, 2, 20)->own, 0);
    ck_assert_uint_eq(find_row(t, 1, 10)->own, 1);
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.kept, 1);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

START_TEST(test_lines_and_reset)
{
    struct toptable *t = toptable_new(NULL);
    struct sample s = { 0 };
    static const int a[] = { 3, 0 };
    push_thread(&s, 11, ACTIVE, a, 2);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    ck_assert_ptr_nonnull(find_row(t, 3, 30));      /* per function: the first line */
    ck_assert_ptr_null(find_row(t, 3, 30 + LINE_OFF));
    struct toptable_opts o = { .lines = 1 };
    toptable_set_opts(t, &o);                       /* new kind of row: starts over */
    const struct toptable_row *rows;
    size_t n;
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_OWN_PCT, 0, &rows, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    ck_assert_ptr_nonnull(find_row(t, 3, 30 + LINE_OFF));
    ck_assert_ptr_null(find_row(t, 3, 30));
    toptable_reset(t);
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.kept_all, 0);
    ck_assert_uint_eq(st.passes_all, 0);
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_OWN_PCT, 0, &rows, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* Usable after a reset: the same row comes back with fresh counts. */
    ck_assert_int_eq(toptable_add(t, &s), 0);
    ck_assert_uint_eq(find_row(t, 3, 30 + LINE_OFF)->own_all, 1);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

/* Rows whose four columns each put a different function first:
 *   interval (after the roll):  own: A=3   total: B=4 (B calls A)
 *   overall adds an earlier interval where C is the leaf 5 times under D. */
static struct toptable *sort_fixture(void)
{
    enum { A = 1, B = 2, C = 3, D = 4 };
    struct toptable *t = toptable_new(NULL);
    struct sample s = { 0 };
    static const int cd[] = { C, D }, ab[] = { A, B }, b[] = { B };
    for (int i = 0; i < 5; i++) {
        sample_clear(&s);
        push_thread(&s, 11, ACTIVE, cd, 2);
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    sample_clear(&s);
    push_thread(&s, 11, ACTIVE, cd, 2);
    push_thread(&s, 12, ACTIVE, cd, 2);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    for (int i = 0; i < 3; i++) {
        sample_clear(&s);
        push_thread(&s, 11, ACTIVE, ab, 2);
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    sample_clear(&s);
    push_thread(&s, 11, ACTIVE, b, 1);
    ck_assert_int_eq(toptable_add(t, &s), 0);
    toptable_roll(t);
    sample_free(&s);
    /* Now: own A3 B1 C0 D0; total A3 B4 C0 D0; own_all A3 B1 C7 D0; total_all A3 B4 C7 D7. */
    return t;
}

static uint32_t first_name(struct toptable *t, enum toptable_col col, int asc)
{
    const struct toptable_row *rows;
    size_t n;
    ck_assert_int_eq(toptable_rows(t, col, asc, &rows, &n), 0);
    ck_assert_uint_eq(n, 4);
    return rows[0].name;
}

START_TEST(test_sorting)
{
    struct toptable *t = sort_fixture();
    ck_assert_uint_eq(first_name(t, TOPTABLE_OWN_PCT, 0), 101);    /* A: own 3 */
    ck_assert_uint_eq(first_name(t, TOPTABLE_TOTAL_PCT, 0), 102);  /* B: total 4 */
    ck_assert_uint_eq(first_name(t, TOPTABLE_OWN_TIME, 0), 103);   /* C: own_all 7 */
    /* total_all: C and D tie at 7; the tie goes to the one with more own time. */
    ck_assert_uint_eq(first_name(t, TOPTABLE_TOTAL_TIME, 0), 103);

    /* Every column sorted: values never increase (descending) / decrease (ascending). */
    for (int col = 0; col < TOPTABLE_NCOLS; col++) {
        for (int asc = 0; asc < 2; asc++) {
            const struct toptable_row *rows;
            size_t n;
            ck_assert_int_eq(toptable_rows(t, (enum toptable_col)col, asc, &rows, &n), 0);
            for (size_t i = 1; i < n; i++) {
                uint64_t v[2];
                for (int k = 0; k < 2; k++) {
                    const struct toptable_row *r = &rows[i - 1 + (size_t)k];
                    v[k] = col == 0 ? r->own : col == 1 ? r->total : col == 2 ? r->own_all : r->total_all;
                }
                if (asc)
                    ck_assert_uint_le(v[0], v[1]);
                else
                    ck_assert_uint_ge(v[0], v[1]);
            }
        }
    }
    /* Ascending is exactly the reverse of descending (ties broken the same way). */
    const struct toptable_row *rows;
    size_t n;
    uint32_t desc[4];
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_OWN_PCT, 0, &rows, &n), 0);
    for (size_t i = 0; i < 4; i++)
        desc[i] = rows[i].name;
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_OWN_PCT, 1, &rows, &n), 0);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(rows[i].name, desc[3 - i]);
    toptable_free(t);
}
END_TEST

START_TEST(test_percentages_and_time)
{
    ck_assert_double_eq(toptable_pct(0, 0), 0.0);
    ck_assert_double_eq_tol(toptable_pct(1, 4), 25.0, 1e-12);
    ck_assert_double_eq_tol(toptable_pct(4, 4), 100.0, 1e-12);
    struct toptable *t = sort_fixture();
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.kept, 4);
    ck_assert_double_eq_tol(toptable_pct(find_row(t, 1, 10)->own, st.kept), 75.0, 1e-9);
    ck_assert_double_eq_tol(toptable_pct(find_row(t, 2, 20)->total, st.kept), 100.0, 1e-9);
    /* No pass times given (all 0): the nominal rate decides. */
    ck_assert_double_eq_tol(toptable_sample_seconds(t, 50), 0.02, 1e-12);
    toptable_free(t);

    /* Passes 20 ms apart at a nominal 100 Hz (sampling fell behind): measured wins. */
    t = toptable_new(NULL);
    struct sample s = { 0 };
    static const int a[] = { 1 };
    push_thread(&s, 11, ACTIVE, a, 1);
    ck_assert_double_eq_tol(toptable_sample_seconds(t, 100), 0.01, 1e-12);
    for (int i = 0; i < 11; i++) {
        s.time_ns = 5000000000ull + (uint64_t)i * 20000000ull;
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    ck_assert_double_eq_tol(toptable_sample_seconds(t, 100), 0.02, 1e-9);
    sample_free(&s);
    toptable_free(t);
    ck_assert_str_eq(toptable_col_name(TOPTABLE_OWN_PCT), "%Own");
    ck_assert_str_eq(toptable_col_name(TOPTABLE_TOTAL_TIME), "TotalTime");
}
END_TEST

START_TEST(test_many_functions)
{
    /* Enough distinct rows to grow the hash index several times. */
    struct toptable *t = toptable_new(NULL);
    struct sample s = { 0 };
    for (int k = 0; k < 3000; k++) {
        sample_clear(&s);
        int st[2] = { k, 100000 };
        push_thread(&s, 11, ACTIVE, st, 2);
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    const struct toptable_row *rows;
    size_t n;
    ck_assert_int_eq(toptable_rows(t, TOPTABLE_TOTAL_TIME, 0, &rows, &n), 0);
    ck_assert_uint_eq(n, 3001);
    ck_assert_uint_eq(rows[0].name, 100u + 100000u);
    ck_assert_uint_eq(rows[0].total_all, 3000);
    ck_assert_uint_eq(find_row(t, 1234, 12340)->own_all, 1);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

START_TEST(test_gil_waiters)
{
    /* Per interval: thread 21 waits for the GIL in 3 of 4 passes, 22 in 1
     * of 4, 23 never; the waiters come out by share, 23 not at all. */
    struct toptable *t = toptable_new(NULL);
    ck_assert_ptr_nonnull(t);
    struct sample s = { 0 };
    static const int a[] = { 0 };
    for (int i = 0; i < 4; i++) {
        sample_clear(&s);
        s.time_ns = 1000000000ull + (uint64_t)i * 10000000ull;
        push_thread(&s, 21, 0, a, 1);
        s.threads[s.nthreads - 1].state = i < 3 ? TSTATE_GIL_WAIT : TSTATE_GIL;
        push_thread(&s, 22, 0, a, 1);
        s.threads[s.nthreads - 1].state = i == 0 ? TSTATE_GIL_WAIT : TSTATE_IDLE;
        push_thread(&s, 23, 0, a, 1);
        s.threads[s.nthreads - 1].state = TSTATE_NATIVE;
        ck_assert_int_eq(toptable_add(t, &s), 0);
    }
    struct toptable_waiter w[4];
    ck_assert_uint_eq(toptable_waiters(t, w, 4), 0);   /* nothing reported before the roll */
    toptable_roll(t);
    ck_assert_uint_eq(toptable_waiters(t, w, 4), 2);
    ck_assert_int_eq(w[0].tid, 21);
    ck_assert_uint_eq(w[0].waits, 3);
    ck_assert_uint_eq(w[0].samples, 4);
    ck_assert_int_eq(w[1].tid, 22);
    ck_assert_uint_eq(toptable_waiters(t, w, 1), 1);
    ck_assert_int_eq(w[0].tid, 21);
    struct toptable_stats st;
    toptable_stats(t, &st);
    ck_assert_uint_eq(st.gil_wait, 4);
    toptable_roll(t);       /* an empty interval: no waiters */
    ck_assert_uint_eq(toptable_waiters(t, w, 4), 0);
    sample_free(&s);
    toptable_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("toptable");
    TCase *tc = tcase_create("toptable");
    tcase_add_test(tc, test_own_total);
    tcase_add_test(tc, test_recursion_once);
    tcase_add_test(tc, test_filters_and_header);
    tcase_add_test(tc, test_lines_and_reset);
    tcase_add_test(tc, test_sorting);
    tcase_add_test(tc, test_percentages_and_time);
    tcase_add_test(tc, test_many_functions);
    tcase_add_test(tc, test_gil_waiters);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
