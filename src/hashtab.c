/* hashtab — see include/hashtab.h. */
#include "hashtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 16

int hashtab_init(struct hashtab *t, size_t min_items)
{
    size_t n = MIN_SLOTS;
    while (n / 2 < min_items)
        n *= 2;
    t->n = 0;
    t->slot = calloc(n, sizeof *t->slot);
    if (!t->slot) {
        t->mask = 0;
        return -ENOMEM;
    }
    t->mask = n - 1;
    return 0;
}

void hashtab_free(struct hashtab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->mask = 0;
    t->n = 0;
}

void hashtab_clear(struct hashtab *t)
{
    if (t->slot && t->n)
        memset(t->slot, 0, (t->mask + 1) * sizeof *t->slot);
    t->n = 0;
}

uint64_t hashtab_bytes(const void *s, size_t len)
{
    const unsigned char *p = s;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 32);
}

/* The first empty slot of HASH's probe run. */
static size_t empty_slot(const struct hashtab *t, uint32_t hash)
{
    size_t i = hash & t->mask;
    while (t->slot[i].index1)
        i = (i + 1) & t->mask;
    return i;
}

static int grow(struct hashtab *t)
{
    size_t n = (t->mask + 1) * 2;
    if (n - 1 > UINT32_MAX)
        return -ENOMEM;     /* the slot is picked from 32 bits of hash */
    struct hashtab_slot *s = calloc(n, sizeof *s), *old = t->slot;
    if (!s)
        return -ENOMEM;
    size_t oldn = t->mask + 1;
    t->slot = s;
    t->mask = n - 1;
    for (size_t k = 0; k < oldn; k++)
        if (old[k].index1)
            t->slot[empty_slot(t, old[k].hash)] = old[k];
    free(old);
    return 0;
}

int hashtab_insert(struct hashtab *t, struct hashtab_iter *it, uint32_t index)
{
    if (index == HASHTAB_NONE)
        return -EINVAL;
    if ((t->n + 1) * 2 > t->mask + 1) {
        if (grow(t) != 0)
            return -ENOMEM;
        it->pos = empty_slot(t, it->hash);
    }
    t->slot[it->pos] = (struct hashtab_slot){ .hash = it->hash, .index1 = index + 1 };
    t->n++;
    return 0;
}

int hashtab_add(struct hashtab *t, uint64_t hash, uint32_t index)
{
    struct hashtab_iter it = { .hash = (uint32_t)hash, .pos = empty_slot(t, (uint32_t)hash) };
    return hashtab_insert(t, &it, index);
}

void hashtab_remove(struct hashtab *t, struct hashtab_iter *it)
{
    /* Backward shift: move later entries of the run into the hole when
     * their home slot is not between the hole and them. */
    size_t hole = it->pos, i = hole;
    for (;;) {
        i = (i + 1) & t->mask;
        if (!t->slot[i].index1)
            break;
        size_t home = t->slot[i].hash & t->mask;
        /* Cyclic: does HOME lie in (HOLE, I]? Then it stays. */
        if (((i - home) & t->mask) < ((i - hole) & t->mask))
            continue;
        t->slot[hole] = t->slot[i];
        hole = i;
    }
    t->slot[hole] = (struct hashtab_slot){ 0 };
    t->n--;
}
