/* Unit tests: gilstats, the numbers behind `gilscope gil` — per-thread
 * state counts, the passes with a holder or a waiter, the lines where
 * threads waited, the hand-over rate, timeline runs, and the choice of the
 * longest-lived threads. Synthetic samples. */
#include <check.h>
#include <stdlib.h>

#include "gilstats.h"
#include "sample.h"
#include "unit.h"

#define PERIOD 10000000ull  /* 100 Hz */

/* Append thread TID in STATE with one frame (function NAME at LINE) to S. */
static void push(struct sample *s, pid_t tid, uint32_t state, uint32_t name, int32_t line)
{
    struct frame f = { .name = name, .file = 7, .line = line, .kind = FRAME_PYTHON };
    struct thread_sample t = { .pid = 1, .tid = tid, .thread_id = 1000u + (uint64_t)tid, .name = 50u + (uint32_t)tid,
                               .state = state, .first = (uint32_t)s->nframes, .nframes = 1 };
    ck_assert_int_eq(sample_push_frame(s, &f), 0);
    ck_assert_int_eq(sample_push_thread(s, &t), 0);
}

START_TEST(test_counts_and_waits)
{
    struct gilstats *g = gilstats_new(PERIOD);
    ck_assert_ptr_nonnull(g);
    struct sample s = { 0 };
    /* 10 passes: thread 1 holds in even passes and waits at line 5 in odd
     * ones; thread 2 the other way round, waiting at line 6 (then 9 in
     * the last); thread 3 is idle; a thread without a tid is ignored. */
    for (int i = 0; i < 10; i++) {
        sample_clear(&s);
        s.time_ns = 1000000000ull + (uint64_t)i * PERIOD;
        push(&s, 1, i % 2 ? TSTATE_GIL_WAIT : TSTATE_GIL, 100, 5);
        push(&s, 2, i % 2 ? TSTATE_GIL : TSTATE_GIL_WAIT, 200, i == 8 ? 9 : 6);
        push(&s, 3, TSTATE_IDLE, 300, 1);
        push(&s, 0, TSTATE_UNKNOWN, 400, 1);
        ck_assert_int_eq(gilstats_add(g, &s), 0);
    }
    ck_assert_uint_eq(gilstats_thread_count(g), 3);
    ck_assert_int_eq(gilstats_thread(g, 0)->tid, 1);
    ck_assert_uint_eq(gilstats_thread(g, 0)->n[TSTATE_GIL], 5);
    ck_assert_uint_eq(gilstats_thread(g, 0)->n[TSTATE_GIL_WAIT], 5);
    ck_assert_uint_eq(gilstats_thread(g, 2)->n[TSTATE_IDLE], 10);
    ck_assert_uint_eq(gilstats_thread(g, 2)->total, 10);
    uint64_t passes, held, contended;
    gilstats_passes(g, &passes, &held, &contended);
    ck_assert_uint_eq(passes, 10);
    ck_assert_uint_eq(held, 10);
    ck_assert_uint_eq(contended, 10);
    struct gilstats_wait w[3];
    ck_assert_uint_eq(gilstats_top_waits(g, 1, w, 3), 2);
    ck_assert_int_eq(w[0].line, 6);
    ck_assert_uint_eq(w[0].count, 4);
    ck_assert_int_eq(w[1].line, 9);
    ck_assert_uint_eq(gilstats_top_waits(g, 2, w, 3), 0);
    /* Runs: thread 3 is one run over all ten periods; thread 1 alternates. */
    size_t nr;
    uint64_t dropped;
    const struct gilstats_run *r = gilstats_runs(g, &nr, &dropped);
    ck_assert_uint_eq(dropped, 0);
    size_t idle_runs = 0, t1_runs = 0;
    for (size_t i = 0; i < nr; i++) {
        if (r[i].thread == 2) {
            idle_runs++;
            ck_assert_uint_eq(r[i].end_ns - r[i].start_ns, 10 * PERIOD);
        }
        t1_runs += r[i].thread == 0;
    }
    ck_assert_uint_eq(idle_runs, 1);
    ck_assert_uint_eq(t1_runs, 10);
    sample_free(&s);
    gilstats_free(g);
}
END_TEST

START_TEST(test_switch_rate)
{
    struct gilstats *g = gilstats_new(PERIOD);
    ck_assert(gilstats_switch_rate(g) < 0);
    gilstats_switch_count(g, 1000000000ull, 500);
    ck_assert(gilstats_switch_rate(g) < 0);
    gilstats_switch_count(g, 1500000000ull, 600);
    gilstats_switch_count(g, 3000000000ull, 900);
    ck_assert(gilstats_switch_rate(g) > 199.9 && gilstats_switch_rate(g) < 200.1);
    gilstats_free(g);
}
END_TEST

START_TEST(test_longest)
{
    /* Thread k (1..6) is seen in k passes: the 3 longest are 4, 5, 6, in
     * order of first sight. */
    struct gilstats *g = gilstats_new(PERIOD);
    struct sample s = { 0 };
    for (int i = 0; i < 6; i++) {
        sample_clear(&s);
        s.time_ns = 1000000000ull + (uint64_t)i * PERIOD;
        for (int k = 6; k >= 1; k--)
            if (i < k)
                push(&s, k, TSTATE_IDLE, 100, 1);
        ck_assert_int_eq(gilstats_add(g, &s), 0);
    }
    uint32_t out[3];
    ck_assert_uint_eq(gilstats_longest(g, out, 3), 3);
    ck_assert_int_eq(gilstats_thread(g, out[0])->tid, 6);
    ck_assert_int_eq(gilstats_thread(g, out[1])->tid, 5);
    ck_assert_int_eq(gilstats_thread(g, out[2])->tid, 4);
    ck_assert_uint_eq(gilstats_longest(g, out, 0), 0);
    sample_free(&s);
    gilstats_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gilstats");
    TCase *tc = tcase_create("gilstats");
    tcase_add_test(tc, test_counts_and_waits);
    tcase_add_test(tc, test_switch_rate);
    tcase_add_test(tc, test_longest);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
