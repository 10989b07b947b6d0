/* strtab — see include/strtab.h. Open addressing over FNV-1a hashes. */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

struct strtab {
    char **str;         /* id -> string */
    uint32_t *len;      /* id -> length */
    size_t n, cap;      /* ids in use / allocated */
    uint32_t *slots;    /* hash slots holding id+1, 0 = empty */
    size_t nslots;      /* power of two */
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct strtab *strtab_new(void)
{
    struct strtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nslots = 256;
    t->slots = calloc(t->nslots, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void strtab_free(struct strtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->len);
    free(t->slots);
    free(t);
}

static int grow_slots(struct strtab *t)
{
    size_t n = t->nslots * 2;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t id = 0; id < t->n; id++) {
        size_t i = hash_bytes(t->str[id], t->len[id]) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = (uint32_t)id + 1;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = n;
    return 0;
}

uint32_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
    if (len > UINT32_MAX || t->n >= UINT32_MAX - 1)
        return STRTAB_NONE;
    size_t i = hash_bytes(s, len) & (t->nslots - 1);
    while (t->slots[i]) {
        uint32_t id = t->slots[i] - 1;
        if (t->len[id] == len && memcmp(t->str[id], s, len) == 0)
            return id;
        i = (i + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **ns = realloc(t->str, cap * sizeof *ns);
        if (!ns)
            return STRTAB_NONE;
        t->str = ns;
        uint32_t *nl = realloc(t->len, cap * sizeof *nl);
        if (!nl)
            return STRTAB_NONE;
        t->len = nl;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return STRTAB_NONE;
    memcpy(copy, s, len);
    copy[len] = '\0';
    uint32_t id = (uint32_t)t->n++;
    t->str[id] = copy;
    t->len[id] = (uint32_t)len;
    t->slots[i] = id + 1;
    if (t->n * 2 > t->nslots && grow_slots(t) != 0) {
        /* The slot table is still valid, only fuller; the next insert retries. */
    }
    return id;
}

const char *strtab_get(const struct strtab *t, uint32_t id)
{
    return id < t->n ? t->str[id] : "";
}

size_t strtab_count(const struct strtab *t)
{
    return t->n;
}
