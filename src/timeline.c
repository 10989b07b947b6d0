/* timeline — see include/timeline.h. Two hashtabs: frames and threads. */
#include "timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

/* An interval longer than this many periods, and than GAP_MIN_NS, means
 * passes were missed even when no other thread showed one. The scheduler's
 * jitter (±25% of a period on each tick) keeps consecutive passes under 1.5
 * periods apart; the rest, and the floor, are slack for a sampler running
 * late, which on a loaded machine is a few milliseconds whatever the rate. */
#define GAP_PERIODS 2
#define GAP_MIN_NS 20000000ull

struct timeline {
    struct output_info info;
    int columns;                /* frames differ by column too (timeline_columns) */
    uint64_t period_ns;
    uint64_t gap_ns;            /* an interval longer than this is a gap */

    struct tl_frame *frames;
    size_t nframes, cap_frames;
    struct hashtab frame_index; /* frame hash -> frame id */

    struct tl_thread **threads;
    size_t nthreads, cap_threads;
    struct hashtab thread_index; /* thread hash -> thread index */

    /* The passes this timeline has seen (a pass shows only when at least
     * one of its thread samples was kept). A thread whose latest sample is
     * older than the pass before the current one missed a pass: a gap. */
    uint64_t pass_ns, prev_pass_ns;
    int have_pass;

    uint32_t *scratch;          /* the incoming stack while it is built */
    uint32_t cap_scratch;
};

static uint64_t frame_hash(const struct tl_frame *f)
{
    uint64_t h = hashtab_mix64(0, ((uint64_t)f->name << 32) | f->file);
    h = hashtab_mix64(h, (uint64_t)(uint32_t)f->col);
    return hashtab_mix64(h, ((uint64_t)(uint32_t)f->line << 32) | f->kind);
}

static int frame_eq(const struct tl_frame *a, const struct tl_frame *b)
{
    return a->name == b->name && a->file == b->file && a->line == b->line && a->col == b->col &&
           a->kind == b->kind;
}

static uint64_t thread_hash(pid_t pid, pid_t tid, uint64_t thread_id)
{
    return hashtab_mix64(hashtab_mix64(0, ((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid), thread_id);
}

struct timeline *timeline_new(const struct output_info *info)
{
    struct timeline *tl = calloc(1, sizeof *tl);
    if (!tl)
        return NULL;
    tl->info = *info;
    double rate = info->rate_hz > 0 ? info->rate_hz : 100;
    tl->period_ns = (uint64_t)(1e9 / rate);
    if (tl->period_ns == 0)
        tl->period_ns = 1;
    tl->gap_ns = GAP_PERIODS * tl->period_ns;
    if (tl->gap_ns < GAP_MIN_NS)
        tl->gap_ns = GAP_MIN_NS;
    if (hashtab_init(&tl->frame_index, 128) != 0 || hashtab_init(&tl->thread_index, 32) != 0) {
        timeline_free(tl);
        return NULL;
    }
    return tl;
}

void timeline_columns(struct timeline *tl, int on)
{
    tl->columns = on;
}

void timeline_free(struct timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->nthreads; i++) {
        free(tl->threads[i]->stack);
        free(tl->threads[i]->prev);
        free(tl->threads[i]);
    }
    free(tl->threads);
    hashtab_free(&tl->thread_index);
    free(tl->frames);
    hashtab_free(&tl->frame_index);
    free(tl->scratch);
    free(tl);
}

/* The id of frame F as displayed, added if new. */
static int frame_id(struct timeline *tl, const struct frame *fr, uint32_t *out)
{
    const struct folded_opts *o = tl->info.opts;
    struct tl_frame f = { .name = fr->name, .file = fr->file, .kind = fr->kind,
                          .line = (o && o->nolineno) ? TL_NOLINE
                                  : (o && o->function) ? fr->first_line : fr->line };
    /* A column means something only beside the line it is on. */
    f.col = tl->columns && !(o && (o->nolineno || o->function)) ? fr->col : 0;
    struct hashtab_iter it;
    for (uint32_t id = hashtab_first(&tl->frame_index, frame_hash(&f), &it); id != HASHTAB_NONE;
         id = hashtab_next(&tl->frame_index, &it)) {
        if (frame_eq(&tl->frames[id], &f)) {
            *out = id;
            return 0;
        }
    }
    if (tl->nframes >= UINT32_MAX - 1)
        return -ENOMEM;
    if (tl->nframes == tl->cap_frames) {
        size_t cap = tl->cap_frames ? tl->cap_frames * 2 : 256;
        struct tl_frame *nf = realloc(tl->frames, cap * sizeof *nf);
        if (!nf)
            return -ENOMEM;
        tl->frames = nf;
        tl->cap_frames = cap;
    }
    uint32_t id = (uint32_t)tl->nframes;
    if (hashtab_insert(&tl->frame_index, &it, id) != 0)
        return -ENOMEM;
    tl->nframes++;
    tl->frames[id] = f;
    *out = id;
    return 0;
}

/* The thread of T, added (with CREATED set) if new. */
static int find_thread(struct timeline *tl, const struct thread_sample *t, struct tl_thread **out, int *created)
{
    uint64_t h = thread_hash(t->pid, t->tid, t->thread_id);
    struct hashtab_iter it;
    *created = 0;
    for (uint32_t k = hashtab_first(&tl->thread_index, h, &it); k != HASHTAB_NONE;
         k = hashtab_next(&tl->thread_index, &it)) {
        struct tl_thread *th = tl->threads[k];
        if (th->pid == t->pid && th->tid == t->tid && th->thread_id == t->thread_id) {
            *out = th;
            return 0;
        }
    }
    if (tl->nthreads == tl->cap_threads) {
        size_t cap = tl->cap_threads ? tl->cap_threads * 2 : 16;
        struct tl_thread **nt = realloc(tl->threads, cap * sizeof *nt);
        if (!nt)
            return -ENOMEM;
        tl->threads = nt;
        tl->cap_threads = cap;
    }
    struct tl_thread *th = calloc(1, sizeof *th);
    if (!th)
        return -ENOMEM;
    if (tl->nthreads >= HASHTAB_NONE || hashtab_insert(&tl->thread_index, &it, (uint32_t)tl->nthreads) != 0) {
        free(th);
        return -ENOMEM;
    }
    th->pid = t->pid;
    th->tid = t->tid;
    th->thread_id = t->thread_id;
    th->name = t->name;
    th->index = tl->nthreads;
    tl->threads[tl->nthreads++] = th;
    *out = th;
    *created = 1;
    return 0;
}

static int reserve(uint32_t **buf, uint32_t *cap, uint32_t n)
{
    if (n <= *cap)
        return 0;
    uint32_t c = *cap ? *cap : 32;
    while (c < n)
        c *= 2;
    uint32_t *nb = realloc(*buf, (size_t)c * sizeof *nb);
    if (!nb)
        return -ENOMEM;
    *buf = nb;
    *cap = c;
    return 0;
}

/* Room for N frames in both of TH's stacks, which swap roles each step.
 * On failure the contents are intact and cap unchanged (a stack may have
 * grown already, which is harmless). */
static int reserve_stacks(struct tl_thread *th, uint32_t n)
{
    if (n <= th->cap && th->stack && th->prev)
        return 0;
    uint32_t c = th->cap ? th->cap : 32;
    while (c < n)
        c *= 2;
    uint32_t *a = realloc(th->stack, (size_t)c * sizeof *a);
    if (!a)
        return -ENOMEM;
    th->stack = a;
    uint32_t *b = realloc(th->prev, (size_t)c * sizeof *b);
    if (!b)
        return -ENOMEM;
    th->prev = b;
    th->cap = c;
    return 0;
}

int timeline_step(struct timeline *tl, const struct sample *s, size_t i, struct tl_step *out)
{
    const struct thread_sample *t = &s->threads[i];
    const struct frame *fr = sample_thread_frames(s, i);
    uint32_t n = t->nframes;

    /* Build the new stack first: a failure then changes no thread. */
    if (reserve(&tl->scratch, &tl->cap_scratch, n) != 0)
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++)
        if (frame_id(tl, &fr[n - 1 - k], &tl->scratch[k]) != 0)
            return -ENOMEM;

    struct tl_thread *th;
    int created;
    if (find_thread(tl, t, &th, &created) != 0)
        return -ENOMEM;
    if (reserve_stacks(th, n) != 0)
        return -ENOMEM;

    /* A new pass: the one before it becomes the reference for gaps. */
    if (!tl->have_pass || s->time_ns != tl->pass_ns) {
        tl->prev_pass_ns = tl->have_pass ? tl->pass_ns : s->time_ns;
        tl->pass_ns = s->time_ns;
        tl->have_pass = 1;
    }

    /* A thread added by a step that then failed has no sample yet. */
    int first = created || th->nsamples == 0;
    memset(out, 0, sizeof *out);
    out->th = th;
    out->first = first;
    if (!first) {
        uint64_t now = s->time_ns, last = th->last_ns;
        uint64_t interval = now > last ? now - last : 0;
        out->prev_ns = last;
        out->prev_flags = th->flags;
        out->prev_state = th->state;
        /* Missed passes: one that others showed after this thread's latest
         * sample, or an interval no jitter explains. */
        out->gap = (last < tl->prev_pass_ns && last != now) ||
                   interval > tl->gap_ns;
        out->prev_end_ns = now;
        if (out->gap && last + tl->period_ns < now)
            out->prev_end_ns = last + tl->period_ns;
        out->renamed = th->name != t->name;
    }

    /* The old stack moves to prev, the new one in. */
    uint32_t *old = th->stack;
    uint32_t old_depth = first ? 0 : th->depth;
    th->stack = th->prev;
    th->prev = old;
    th->prev_depth = old_depth;
    if (n)
        memcpy(th->stack, tl->scratch, (size_t)n * sizeof *th->stack);
    th->depth = n;
    uint32_t c = 0;
    while (c < n && c < old_depth && old[c] == th->stack[c])
        c++;
    out->old = old;
    out->old_depth = old_depth;
    out->common = c;

    if (first)
        th->first_ns = s->time_ns;
    th->last_ns = s->time_ns;
    th->name = t->name;
    th->flags = t->flags;
    th->state = t->state;
    th->nsamples++;
    return 0;
}

const struct tl_frame *timeline_frame(const struct timeline *tl, uint32_t id)
{
    return &tl->frames[id];
}

size_t timeline_nframes(const struct timeline *tl)
{
    return tl->nframes;
}

struct tl_thread *timeline_thread(const struct timeline *tl, size_t index)
{
    return tl->threads[index];
}

size_t timeline_nthreads(const struct timeline *tl)
{
    return tl->nthreads;
}

uint64_t timeline_period_ns(const struct timeline *tl)
{
    return tl->period_ns;
}

uint64_t timeline_end_ns(const struct timeline *tl, const struct tl_thread *th)
{
    return th->last_ns + tl->period_ns;
}

uint64_t timeline_rel_ns(const struct timeline *tl, uint64_t t)
{
    return t > tl->info.start_ns ? t - tl->info.start_ns : 0;
}

const char *timeline_file(const struct timeline *tl, const struct tl_frame *f)
{
    return tl->info.files ? fileshort_get(tl->info.files, f->file) : strtab_get(tl->info.strings, f->file);
}

const char *timeline_string(const struct timeline *tl, uint32_t id)
{
    return strtab_get(tl->info.strings, id);
}
