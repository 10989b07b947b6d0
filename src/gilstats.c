/* gilstats — see include/gilstats.h. */
#include "gilstats.h"

#include <errno.h>
#include <stdlib.h>

#include "hashtab.h"
#include "topk.h"

/* A thread: what gilstats_thread hands out, and what only gilstats needs. */
struct thread {
    struct gilstats_thread pub;
    size_t open_run;                /* its latest run, SIZE_MAX = none */
};

struct gilstats {
    uint64_t period_ns;
    struct thread *t;
    size_t nt, cap_t;
    struct hashtab by_tid;          /* (tid, ident) → thread */
    struct gilstats_wait *w;
    size_t nw, cap_w;
    struct hashtab by_wait;         /* (thread, name, file, line) → wait */
    struct gilstats_run *r;
    size_t nr, cap_r;
    uint64_t dropped;
    uint64_t passes, held, contended;
    uint64_t sw_first_ns, sw_first, sw_last_ns, sw_last;
    int sw_n;
};

struct gilstats *gilstats_new(uint64_t period_ns)
{
    struct gilstats *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->period_ns = period_ns;
    if (hashtab_init(&g->by_tid, 16) != 0 || hashtab_init(&g->by_wait, 64) != 0) {
        gilstats_free(g);
        return NULL;
    }
    return g;
}

void gilstats_free(struct gilstats *g)
{
    if (!g)
        return;
    hashtab_free(&g->by_tid);
    hashtab_free(&g->by_wait);
    free(g->t);
    free(g->w);
    free(g->r);
    free(g);
}

/* Room for one more item in *V (N used, *CAP allocated, SIZE bytes each). */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, c * size);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = c;
    return 0;
}

static long thread_of(struct gilstats *g, const struct thread_sample *ts)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_mix64(hashtab_mix64(0, (uint64_t)ts->tid), ts->thread_id);
    for (uint32_t i = hashtab_first(&g->by_tid, h, &it); i != HASHTAB_NONE; i = hashtab_next(&g->by_tid, &it))
        if (g->t[i].pub.tid == ts->tid && g->t[i].pub.ident == ts->thread_id)
            return i;
    if (grow((void **)&g->t, g->nt, &g->cap_t, sizeof *g->t) != 0 ||
        hashtab_insert(&g->by_tid, &it, (uint32_t)g->nt) != 0)
        return -ENOMEM;
    g->t[g->nt] = (struct thread){ .pub = { .tid = ts->tid, .ident = ts->thread_id }, .open_run = SIZE_MAX };
    return (long)g->nt++;
}

static int count_wait(struct gilstats *g, uint32_t thread, const struct frame *leaf)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_mix64(hashtab_mix64(hashtab_mix64(hashtab_mix64(0, thread), leaf->name), leaf->file),
                               (uint32_t)leaf->line);
    for (uint32_t i = hashtab_first(&g->by_wait, h, &it); i != HASHTAB_NONE; i = hashtab_next(&g->by_wait, &it)) {
        struct gilstats_wait *w = &g->w[i];
        if (w->thread == thread && w->name == leaf->name && w->file == leaf->file && w->line == leaf->line) {
            w->count++;
            return 0;
        }
    }
    if (grow((void **)&g->w, g->nw, &g->cap_w, sizeof *g->w) != 0 ||
        hashtab_insert(&g->by_wait, &it, (uint32_t)g->nw) != 0)
        return -ENOMEM;
    g->w[g->nw++] = (struct gilstats_wait){ .thread = thread, .name = leaf->name, .file = leaf->file,
                                            .line = leaf->line, .count = 1 };
    return 0;
}

/* Extend thread K's open run with a sample at T in STATE, or start one. */
static void add_run(struct gilstats *g, uint32_t k, uint64_t t, uint32_t state)
{
    size_t o = g->t[k].open_run;
    /* Contiguous: this sample is the next one after the run's last. */
    if (o != SIZE_MAX && g->r[o].state == state && t <= g->r[o].end_ns + g->period_ns / 2) {
        g->r[o].end_ns = t + g->period_ns;
        return;
    }
    if (g->nr >= GILSTATS_MAX_RUNS || grow((void **)&g->r, g->nr, &g->cap_r, sizeof *g->r) != 0) {
        g->dropped++;
        return;
    }
    if (o != SIZE_MAX && g->r[o].end_ns > t)
        g->r[o].end_ns = t;     /* a pass came early: runs of a thread never overlap */
    g->r[g->nr] = (struct gilstats_run){ .start_ns = t, .end_ns = t + g->period_ns, .thread = k, .state = state };
    g->t[k].open_run = g->nr++;
}

int gilstats_add(struct gilstats *g, const struct sample *s)
{
    int held = 0, waited = 0;
    for (size_t i = 0; i < s->nthreads; i++) {
        const struct thread_sample *ts = &s->threads[i];
        if (ts->tid <= 0)
            continue;   /* a thread state whose thread has not started */
        long k = thread_of(g, ts);
        if (k < 0)
            return -ENOMEM;
        struct gilstats_thread *t = &g->t[k].pub;
        uint32_t st = ts->state < TSTATE_COUNT ? ts->state : TSTATE_UNKNOWN;
        t->name = ts->name;
        t->n[st]++;
        t->total++;
        if (!t->first_ns)
            t->first_ns = s->time_ns;
        t->last_ns = s->time_ns;
        held |= st == TSTATE_GIL;
        waited |= st == TSTATE_GIL_WAIT;
        /* Where in the Python code it waited: the newest Python frame
         * (with --native the C frames of the wait come first). */
        const struct frame *f = sample_thread_frames(s, i);
        uint32_t at = 0;
        while (at < ts->nframes && f[at].kind == FRAME_NATIVE)
            at++;
        if (st == TSTATE_GIL_WAIT && at < ts->nframes && count_wait(g, (uint32_t)k, &f[at]) != 0)
            return -ENOMEM;
        add_run(g, (uint32_t)k, s->time_ns, st);
    }
    g->passes++;
    g->held += (uint64_t)held;
    g->contended += (uint64_t)waited;
    return 0;
}

void gilstats_switch_count(struct gilstats *g, uint64_t t_ns, uint64_t count)
{
    if (g->sw_n++ == 0) {
        g->sw_first_ns = t_ns;
        g->sw_first = count;
    }
    g->sw_last_ns = t_ns;
    g->sw_last = count;
}

double gilstats_switch_rate(const struct gilstats *g)
{
    if (g->sw_n < 2 || g->sw_last_ns <= g->sw_first_ns)
        return -1;
    return (double)(g->sw_last - g->sw_first) * 1e9 / (double)(g->sw_last_ns - g->sw_first_ns);
}

size_t gilstats_thread_count(const struct gilstats *g)
{
    return g->nt;
}

const struct gilstats_thread *gilstats_thread(const struct gilstats *g, size_t i)
{
    return &g->t[i].pub;
}

/* For topk: indices into CTX's (a struct gilstats) threads, most samples first. */
static int more_samples(const void *a, const void *b, const void *ctx)
{
    const struct gilstats *g = ctx;
    uint64_t x = g->t[*(const uint32_t *)a].pub.total, y = g->t[*(const uint32_t *)b].pub.total;
    return (x < y) - (x > y);
}

size_t gilstats_longest(const struct gilstats *g, uint32_t *out, size_t max)
{
    size_t n = 0;
    /* The MAX with most samples, then back in order of first sight. */
    for (uint32_t i = 0; i < g->nt; i++)
        topk_insert(out, &n, max, sizeof *out, &i, more_samples, g);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && out[k - 1] > out[k]; k--) {
            uint32_t x = out[k];
            out[k] = out[k - 1];
            out[k - 1] = x;
        }
    return n;
}

void gilstats_passes(const struct gilstats *g, uint64_t *passes, uint64_t *held, uint64_t *contended)
{
    *passes = g->passes;
    *held = g->held;
    *contended = g->contended;
}

/* For topk: waits, the most counted first. */
static int more_waits(const void *a, const void *b, const void *ctx)
{
    uint64_t x = ((const struct gilstats_wait *)a)->count, y = ((const struct gilstats_wait *)b)->count;
    return (x < y) - (x > y);
}

size_t gilstats_top_waits(const struct gilstats *g, uint32_t thread, struct gilstats_wait *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nw; i++)
        if (g->w[i].thread == thread)
            topk_insert(out, &n, max, sizeof *out, &g->w[i], more_waits, NULL);
    return n;
}

const struct gilstats_run *gilstats_runs(const struct gilstats *g, size_t *n, uint64_t *dropped)
{
    *n = g->nr;
    *dropped = g->dropped;
    return g->r;
}
