/*
 * hashtab — the one hash index: an open-addressing table (linear probing,
 * power-of-two size, at most half full) of 8-byte (32-bit hash, 32-bit
 * index) slots. The items themselves stay in the caller's own array; the
 * table only maps a hash to the indices of the items that may have it,
 * and the caller decides equality after a hash match. Growing needs no
 * callback: the slots keep the hash (its low 32 bits, which also pick the
 * slot, so a table holds at most 2^31 indices).
 *
 * Why 32 bits of hash and not 64: a 16-byte slot made the per-sample
 * paths (profile, toptable, timeline) 15-55% slower on 100k-stack runs,
 * all cache misses; 8 bytes costs nothing measurable over the private
 * 4-byte tables it replaced, and still skips nearly every non-match
 * without touching the item.
 *
 *   struct hashtab_iter it;
 *   uint64_t h = hashtab_mix64(hashtab_mix64(0, key.a), key.b);
 *   for (uint32_t i = hashtab_first(&t, h, &it); i != HASHTAB_NONE; i = hashtab_next(&t, &it))
 *       if (items[i].a == key.a && items[i].b == key.b)
 *           return i;                               // found
 *   items[n] = key;                                 // not found: append ...
 *   if (hashtab_insert(&t, &it, n) != 0) ...        // ... and index it
 *
 * A u64 key (an address set, an address → slot map) is the same: hash it
 * with hashtab_key64, keep the keys in an array, compare on a match.
 *
 * Lookups allocate nothing and are inline; only init, insert (when it
 * grows) and the rebuilds allocate. Not thread-safe: one writer, no
 * concurrent readers.
 */
#ifndef GILSCOPE_HASHTAB_H
#define GILSCOPE_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

#define HASHTAB_NONE UINT32_MAX     /* "no item": an index is never this */

struct hashtab_slot {
    uint32_t hash;                  /* the low 32 bits of the item's hash */
    uint32_t index1;                /* item index + 1; 0 = empty slot */
};

/* A table. Plain struct: embed it, init it, read n; the rest is private. */
struct hashtab {
    struct hashtab_slot *slot;      /* mask + 1 slots */
    size_t mask;                    /* slot count - 1 (a power of two - 1) */
    size_t n;                       /* indices held */
};

/* Where a lookup stands: the slot of the last match, or after a miss the
 * empty slot where hashtab_insert puts the new index. */
struct hashtab_iter {
    uint32_t hash;
    size_t pos;
};

/* hashtab_init — an empty table with room for at least MIN_ITEMS indices
 * before it first grows (0 is fine). Returns 0 or -ENOMEM (T is then
 * empty and hashtab_free-able). */
int hashtab_init(struct hashtab *t, size_t min_items);

/* hashtab_free — release T's slots; T is left empty and must be
 * hashtab_init-ed again before use. Safe on a zeroed or freed table. */
void hashtab_free(struct hashtab *t);

/* hashtab_clear — forget every index, keeping the slot memory. */
void hashtab_clear(struct hashtab *t);

/* hashtab_mix64 — H combined with V: the one hash mix for compound keys
 * (start from 0, mix each field in). Good in its low bits, which pick the
 * slot. Not a bijection; for a single u64 key use hashtab_key64. */
static inline uint64_t hashtab_mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

/* hashtab_key64 — the hash of a single u64 key (an address, a pair of ids):
 * K times the golden ratio (Fibonacci hashing, which spreads strided keys
 * such as addresses evenly) with the product's high half folded onto its
 * low half, which picks the slot. A bijection, every bit of K reaching the
 * low 32 bits; one multiply, as it is computed for every frame of every
 * sample (a full 64-bit finalizer cost as much as the rest of a lookup). */
static inline uint64_t hashtab_key64(uint64_t k)
{
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 32);
}

/* hashtab_bytes — the hash of LEN bytes at S (FNV-1a, folded). */
uint64_t hashtab_bytes(const void *s, size_t len);

/* hashtab_next — the index of the next slot, after IT's, holding IT's
 * hash, IT moved onto it; HASHTAB_NONE at the first empty slot, IT then
 * on that slot. Valid only while T is not changed. */
static inline uint32_t hashtab_next(const struct hashtab *t, struct hashtab_iter *it)
{
    for (;;) {
        it->pos = (it->pos + 1) & t->mask;
        const struct hashtab_slot *s = &t->slot[it->pos];
        if (s->index1 == 0)
            return HASHTAB_NONE;
        if (s->hash == it->hash)
            return s->index1 - 1;
    }
}

/* hashtab_first — the first index whose hash is HASH (in its low 32
 * bits), or HASHTAB_NONE; IT is set for hashtab_next, hashtab_insert and
 * hashtab_remove. */
static inline uint32_t hashtab_first(const struct hashtab *t, uint64_t hash, struct hashtab_iter *it)
{
    it->hash = (uint32_t)hash;
    it->pos = it->hash & t->mask;
    const struct hashtab_slot *s = &t->slot[it->pos];
    if (s->index1 == 0)
        return HASHTAB_NONE;
    if (s->hash == it->hash)
        return s->index1 - 1;
    return hashtab_next(t, it);
}

/* hashtab_insert — index INDEX (< HASHTAB_NONE) under IT's hash, where the
 * lookup that set IT ended with HASHTAB_NONE and T has not changed since.
 * Grows T first when it would be more than half full. Returns 0, or
 * -ENOMEM with T unchanged (the lookup stays valid; also past 2^31
 * indices); -EINVAL for an INDEX of HASHTAB_NONE. */
int hashtab_insert(struct hashtab *t, struct hashtab_iter *it, uint32_t index);

/* hashtab_add — index INDEX under HASH without a lookup (rebuilding a
 * table, or a hash known to be new). Returns 0 or -ENOMEM (T unchanged). */
int hashtab_add(struct hashtab *t, uint64_t hash, uint32_t index);

/* hashtab_remove — drop the index IT stands on (a match from
 * hashtab_first/next); later entries of the probe run move back, so no
 * tombstones. IT is spent. Never fails, never allocates. */
void hashtab_remove(struct hashtab *t, struct hashtab_iter *it);

#endif
