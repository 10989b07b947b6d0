/* strtab — see include/strtab.h. A hashtab over the strings' bytes. */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

struct strtab {
    char **str;         /* id -> string */
    uint32_t *len;      /* id -> length */
    size_t n, cap;      /* ids in use / allocated */
    struct hashtab index;   /* hash of the bytes -> id */
};

struct strtab *strtab_new(void)
{
    struct strtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (hashtab_init(&t->index, 128) != 0) {
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
    hashtab_free(&t->index);
    free(t);
}

uint32_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
    if (len > UINT32_MAX || t->n >= UINT32_MAX - 1)
        return STRTAB_NONE;
    struct hashtab_iter it;
    for (uint32_t id = hashtab_first(&t->index, hashtab_bytes(s, len), &it); id != HASHTAB_NONE;
         id = hashtab_next(&t->index, &it))
        if (t->len[id] == len && memcmp(t->str[id], s, len) == 0)
            return id;
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
    uint32_t id = (uint32_t)t->n;
    if (hashtab_insert(&t->index, &it, id) != 0) {
        free(copy);
        return STRTAB_NONE;
    }
    t->str[id] = copy;
    t->len[id] = (uint32_t)len;
    t->n++;
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
