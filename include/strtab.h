/*
 * strtab — interned strings: each distinct string is stored once and named
 * by a small integer id, so frames and samples stay small and compare fast.
 */
#ifndef GILSCOPE_STRTAB_H
#define GILSCOPE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#define STRTAB_NONE UINT32_MAX  /* id returned on failure */

struct strtab;          /* opaque */

/* strtab_new — an empty table, or NULL when out of memory. Free with strtab_free. */
struct strtab *strtab_new(void);

/* strtab_free — release T and every string in it (NULL is fine). */
void strtab_free(struct strtab *t);

/* strtab_intern — the id of S (LEN bytes, need not be NUL-terminated),
 * adding a copy if new. Returns STRTAB_NONE when out of memory. */
uint32_t strtab_intern(struct strtab *t, const char *s, size_t len);

/* strtab_get — the NUL-terminated string with id ID, owned by T and valid
 * until strtab_free; "" for an unknown id. */
const char *strtab_get(const struct strtab *t, uint32_t id);

/* strtab_count — number of distinct strings. */
size_t strtab_count(const struct strtab *t);

#endif
