/* toptable — see include/toptable.h. */
#include "toptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "topk.h"

struct entry {
    struct toptable_row row;        /* own/total hold the last completed interval */
    uint64_t cur_own, cur_total;    /* the interval being counted */
    uint64_t stamp;                 /* the last thread sample that counted its total */
};

/* Interval counters, one set being counted and one reported. */
struct counts {
    uint64_t passes, gil_passes, threads, active, kept, gil_wait;
};

/* Per-thread GIL waits of an interval: the one being counted and the one reported. */
struct waiters {
    struct toptable_waiter *v;
    size_t n, cap;
    struct hashtab by_tid;
};

struct toptable {
    struct toptable_opts opts;
    struct entry *entries;
    size_t n, cap;
    struct hashtab index;       /* (name, file, line) hash -> entry index */
    struct counts cur, shown;
    struct waiters wcur, wshown;
    uint64_t passes_all, kept_all;
    uint64_t first_ns, last_ns; /* time of the first and latest pass since the reset */
    size_t nthreads;
    uint64_t stamp;             /* counts kept thread samples, for the once-per-sample total */
    uint32_t *scratch;          /* entry indices of the thread being added */
    size_t scratch_cap;
    struct toptable_row *sorted;
    size_t sorted_cap;
};

struct toptable *toptable_new(const struct toptable_opts *o)
{
    struct toptable *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (o)
        t->opts = *o;
    if (hashtab_init(&t->index, 32) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* Count a sample of thread TS, WAITED or not, in W. Out of memory: not counted. */
static void count_waiter(struct waiters *w, const struct thread_sample *ts, int waited)
{
    struct hashtab_iter it;
    uint64_t h = hashtab_key64((uint64_t)(uint32_t)ts->tid);
    if (!w->by_tid.slot && hashtab_init(&w->by_tid, 16) != 0)
        return;
    for (uint32_t i = hashtab_first(&w->by_tid, h, &it); i != HASHTAB_NONE; i = hashtab_next(&w->by_tid, &it))
        if (w->v[i].tid == ts->tid) {
            w->v[i].name = ts->name;
            w->v[i].samples++;
            w->v[i].waits += (uint64_t)waited;
            return;
        }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct toptable_waiter *nv = realloc(w->v, cap * sizeof *nv);
        if (!nv)
            return;
        w->v = nv;
        w->cap = cap;
    }
    if (hashtab_insert(&w->by_tid, &it, (uint32_t)w->n) != 0)
        return;
    w->v[w->n++] = (struct toptable_waiter){ .tid = ts->tid, .name = ts->name, .samples = 1,
                                             .waits = (uint64_t)waited };
}

static void waiters_clear(struct waiters *w)
{
    w->n = 0;
    if (w->by_tid.slot)
        hashtab_clear(&w->by_tid);
}

static void waiters_free(struct waiters *w)
{
    free(w->v);
    hashtab_free(&w->by_tid);
    memset(w, 0, sizeof *w);
}

void toptable_free(struct toptable *t)
{
    if (!t)
        return;
    free(t->entries);
    hashtab_free(&t->index);
    free(t->scratch);
    free(t->sorted);
    waiters_free(&t->wcur);
    waiters_free(&t->wshown);
    free(t);
}

static uint64_t key_hash(uint32_t name, uint32_t file, int32_t line)
{
    return hashtab_mix64(hashtab_mix64(0, name), ((uint64_t)file << 32) | (uint32_t)line);
}

/* The index of the entry for (NAME, FILE, LINE), made if new; -ENOMEM. */
static long find_or_add(struct toptable *t, uint32_t name, uint32_t file, int32_t line)
{
    struct hashtab_iter it;
    for (uint32_t k = hashtab_first(&t->index, key_hash(name, file, line), &it); k != HASHTAB_NONE;
         k = hashtab_next(&t->index, &it)) {
        const struct toptable_row *r = &t->entries[k].row;
        if (r->name == name && r->file == file && r->line == line)
            return (long)k;
    }
    if (t->n >= HASHTAB_NONE)
        return -ENOMEM;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        t->entries = e;
        t->cap = cap;
    }
    if (hashtab_insert(&t->index, &it, (uint32_t)t->n) != 0)
        return -ENOMEM;
    struct entry *e = &t->entries[t->n];
    memset(e, 0, sizeof *e);
    e->row.name = name;
    e->row.file = file;
    e->row.line = line;
    return (long)t->n++;
}

/* Count thread I of S (already known to pass the filters). */
static int add_thread(struct toptable *t, const struct sample *s, size_t i)
{
    const struct thread_sample *th = &s->threads[i];
    const struct frame *f = sample_thread_frames(s, i);
    if (th->nframes > t->scratch_cap) {
        uint32_t *sc = realloc(t->scratch, th->nframes * sizeof *sc);
        if (!sc)
            return -ENOMEM;
        t->scratch = sc;
        t->scratch_cap = th->nframes;
    }
    /* Every row first, counts after: a failure then leaves no half-counted sample. */
    for (uint32_t k = 0; k < th->nframes; k++) {
        long e = find_or_add(t, f[k].name, f[k].file, t->opts.lines ? f[k].line : f[k].first_line);
        if (e < 0)
            return (int)e;
        t->scratch[k] = (uint32_t)e;
    }
    t->stamp++;
    t->entries[t->scratch[0]].cur_own++;
    t->entries[t->scratch[0]].row.own_all++;
    for (uint32_t k = 0; k < th->nframes; k++) {
        struct entry *e = &t->entries[t->scratch[k]];
        /* A function deeper in the same stack (recursion) was already counted. */
        if (e->stamp == t->stamp)
            continue;
        e->stamp = t->stamp;
        e->cur_total++;
        e->row.total_all++;
    }
    t->cur.kept++;
    t->kept_all++;
    return 0;
}

int toptable_add(struct toptable *t, const struct sample *s)
{
    int rc = 0, gil = 0;
    t->cur.passes++;
    t->passes_all++;
    if (!t->first_ns)
        t->first_ns = s->time_ns;
    t->last_ns = s->time_ns;
    t->nthreads = s->nthreads;
    for (size_t i = 0; i < s->nthreads; i++) {
        uint32_t fl = s->threads[i].flags;
        t->cur.threads++;
        if (fl & SAMPLE_ACTIVE)
            t->cur.active++;
        if (fl & SAMPLE_GIL)
            gil = 1;
        int waited = s->threads[i].state == TSTATE_GIL_WAIT;
        t->cur.gil_wait += (uint64_t)waited;
        if (s->threads[i].tid > 0)
            count_waiter(&t->wcur, &s->threads[i], waited);
        /* A thread with no Python frame (starting, ending, only in C) has no row to count in. */
        if (s->threads[i].nframes == 0)
            continue;
        if (!(fl & SAMPLE_ACTIVE) && !t->opts.idle)
            continue;
        if (t->opts.gil && !(fl & SAMPLE_GIL))
            continue;
        int e = add_thread(t, s, i);
        if (e)
            rc = e;
    }
    if (gil)
        t->cur.gil_passes++;
    return rc;
}

void toptable_roll(struct toptable *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct entry *e = &t->entries[i];
        e->row.own = e->cur_own;
        e->row.total = e->cur_total;
        e->cur_own = e->cur_total = 0;
    }
    t->shown = t->cur;
    memset(&t->cur, 0, sizeof t->cur);
    struct waiters w = t->wshown;
    t->wshown = t->wcur;
    t->wcur = w;
    waiters_clear(&t->wcur);
}

/* For topk: the larger share of samples waiting, waits/samples, first;
 * compared without division. */
static int more_waiting(const void *a, const void *b, const void *ctx)
{
    const struct toptable_waiter *x = a, *y = b;
    uint64_t l = x->waits * y->samples, r = y->waits * x->samples;
    return (l < r) - (l > r);
}

size_t toptable_waiters(const struct toptable *t, struct toptable_waiter *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->wshown.n; i++)
        if (t->wshown.v[i].waits)
            topk_insert(out, &n, max, sizeof *out, &t->wshown.v[i], more_waiting, NULL);
    return n;
}

void toptable_reset(struct toptable *t)
{
    t->n = 0;
    hashtab_clear(&t->index);
    memset(&t->cur, 0, sizeof t->cur);
    memset(&t->shown, 0, sizeof t->shown);
    waiters_clear(&t->wcur);
    waiters_clear(&t->wshown);
    t->passes_all = t->kept_all = 0;
    t->first_ns = t->last_ns = 0;
}

void toptable_set_opts(struct toptable *t, const struct toptable_opts *o)
{
    int relabel = !o->lines != !t->opts.lines;
    t->opts = *o;
    if (relabel)
        toptable_reset(t);
}

struct toptable_opts toptable_get_opts(const struct toptable *t)
{
    return t->opts;
}

static uint64_t col_value(const struct toptable_row *r, int col)
{
    switch (col) {
    case TOPTABLE_OWN_PCT: return r->own;
    case TOPTABLE_TOTAL_PCT: return r->total;
    case TOPTABLE_OWN_TIME: return r->own_all;
    default: return r->total_all;
    }
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* Ascending by the chosen column, then the others in column order, then identity. */
static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const struct toptable_row *a = pa, *b = pb;
    int col = *(const int *)ctx;
    int c = cmp_u64(col_value(a, col), col_value(b, col));
    for (int k = 0; !c && k < TOPTABLE_NCOLS; k++)
        c = cmp_u64(col_value(a, k), col_value(b, k));
    if (!c)
        c = cmp_u64(a->name, b->name);
    if (!c)
        c = cmp_u64(a->file, b->file);
    if (!c)
        c = (a->line > b->line) - (a->line < b->line);
    return c;
}

static int cmp_rows_desc(const void *pa, const void *pb, void *ctx)
{
    return cmp_rows(pb, pa, ctx);
}

int toptable_rows(struct toptable *t, enum toptable_col col, int ascending,
                  const struct toptable_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    if (t->n > t->sorted_cap) {
        struct toptable_row *r = realloc(t->sorted, t->n * sizeof *r);
        if (!r)
            return -ENOMEM;
        t->sorted = r;
        t->sorted_cap = t->n;
    }
    for (size_t i = 0; i < t->n; i++)
        t->sorted[i] = t->entries[i].row;
    int c = (int)col;
    if (t->n)
        qsort_r(t->sorted, t->n, sizeof *t->sorted, ascending ? cmp_rows : cmp_rows_desc, &c);
    *rows = t->sorted;
    *n = t->n;
    return 0;
}

void toptable_stats(const struct toptable *t, struct toptable_stats *out)
{
    out->passes = t->shown.passes;
    out->gil_passes = t->shown.gil_passes;
    out->threads = t->shown.threads;
    out->active = t->shown.active;
    out->gil_wait = t->shown.gil_wait;
    out->kept = t->shown.kept;
    out->passes_all = t->passes_all;
    out->kept_all = t->kept_all;
    out->nthreads = t->nthreads;
}

double toptable_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

double toptable_sample_seconds(const struct toptable *t, double rate_hz)
{
    if (t->passes_all >= 2 && t->last_ns > t->first_ns)
        return (double)(t->last_ns - t->first_ns) / 1e9 / (double)(t->passes_all - 1);
    return rate_hz > 0 ? 1.0 / rate_hz : 0.0;
}

const char *toptable_col_name(enum toptable_col col)
{
    static const char *const names[TOPTABLE_NCOLS] = { "%Own", "%Total", "OwnTime", "TotalTime" };
    return (unsigned)col < TOPTABLE_NCOLS ? names[col] : "";
}
