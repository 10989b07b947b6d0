/* profile — see include/profile.h. A hashtab over stack hashes. */
#include "profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

struct entry {
    pid_t pid, tid;
    uint32_t thread_name, flags;
    uint32_t first, nframes;    /* into the profile's frame pool */
    uint64_t count;
};

struct profile {
    struct entry *e;            /* distinct stacks, insertion order */
    size_t n, cap;
    struct frame *pool;         /* every stack's frames, back to back */
    size_t npool, cappool;
    struct hashtab index;       /* stack hash -> index into e */
    uint64_t total;
};

struct profile *profile_new(void)
{
    struct profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (hashtab_init(&p->index, 512) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void profile_free(struct profile *p)
{
    if (!p)
        return;
    free(p->e);
    free(p->pool);
    hashtab_free(&p->index);
    free(p);
}

static uint64_t hash_stack(const struct profile_stack *s)
{
    uint64_t h = hashtab_mix64(0, (uint64_t)s->pid);
    h = hashtab_mix64(h, (uint64_t)s->tid);
    h = hashtab_mix64(h, ((uint64_t)s->thread_name << 32) | s->flags);
    /* One mix per frame (this runs for every frame of every sample): the
     * line, spread by a multiply, folded into the name and file word; a
     * rare collision costs only a comparison. */
    for (uint32_t i = 0; i < s->nframes; i++) {
        const struct frame *f = &s->frames[i];
        h = hashtab_mix64(h, (((uint64_t)f->name << 32) | f->file) ^
                                 ((uint64_t)(uint32_t)f->line * 0x9E3779B97F4A7C15ull) ^ f->kind);
    }
    return h;
}

static int same_frames(const struct frame *a, const struct frame *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i].name != b[i].name || a[i].file != b[i].file || a[i].line != b[i].line ||
            a[i].kind != b[i].kind || a[i].first_line != b[i].first_line)
            return 0;
    return 1;
}

int profile_add_stack(struct profile *p, const struct profile_stack *st, uint64_t count)
{
    uint64_t h = hash_stack(st);
    struct hashtab_iter it;
    for (uint32_t k = hashtab_first(&p->index, h, &it); k != HASHTAB_NONE; k = hashtab_next(&p->index, &it)) {
        struct entry *e = &p->e[k];
        if (e->pid == st->pid && e->tid == st->tid && e->thread_name == st->thread_name &&
            e->flags == st->flags && e->nframes == st->nframes &&
            same_frames(p->pool + e->first, st->frames, st->nframes)) {
            e->count += count;
            p->total += count;
            return 0;
        }
    }
    if (p->n >= HASHTAB_NONE)
        return -ENOMEM;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct entry *ne = realloc(p->e, cap * sizeof *ne);
        if (!ne)
            return -ENOMEM;
        p->e = ne;
        p->cap = cap;
    }
    if (p->npool + st->nframes > p->cappool) {
        size_t cap = p->cappool ? p->cappool * 2 : 4096;
        while (cap < p->npool + st->nframes)
            cap *= 2;
        struct frame *np = realloc(p->pool, cap * sizeof *np);
        if (!np)
            return -ENOMEM;
        p->pool = np;
        p->cappool = cap;
    }
    if (hashtab_insert(&p->index, &it, (uint32_t)p->n) != 0)
        return -ENOMEM;
    if (st->nframes)
        memcpy(p->pool + p->npool, st->frames, st->nframes * sizeof *st->frames);
    p->e[p->n++] = (struct entry){
        .pid = st->pid, .tid = st->tid, .thread_name = st->thread_name, .flags = st->flags,
        .first = (uint32_t)p->npool, .nframes = st->nframes, .count = count,
    };
    p->npool += st->nframes;
    p->total += count;
    return 0;
}

int profile_add(struct profile *p, const struct sample *s, size_t i)
{
    const struct thread_sample *t = &s->threads[i];
    struct profile_stack st = {
        .pid = t->pid, .tid = t->tid, .thread_name = t->name,
        .flags = t->flags & (SAMPLE_GIL | SAMPLE_ACTIVE), .nframes = t->nframes,
        .frames = sample_thread_frames(s, i),
    };
    return profile_add_stack(p, &st, 1);
}

size_t profile_size(const struct profile *p)
{
    return p->n;
}

uint64_t profile_total(const struct profile *p)
{
    return p->total;
}

void profile_get(const struct profile *p, size_t i, struct profile_stack *out)
{
    const struct entry *e = &p->e[i];
    *out = (struct profile_stack){
        .pid = e->pid, .tid = e->tid, .thread_name = e->thread_name, .flags = e->flags,
        .nframes = e->nframes, .frames = p->pool + e->first, .count = e->count,
    };
}
