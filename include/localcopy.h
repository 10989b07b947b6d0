/*
 * localcopy — read fields out of local copies of a target's memory. A copy
 * is a byte array with no alignment promise (a range of a batch buffer, a
 * stack buffer), so words are taken with memcpy, which compiles to a plain
 * load.
 */
#ifndef GILSCOPE_LOCALCOPY_H
#define GILSCOPE_LOCALCOPY_H

#include <stdint.h>
#include <string.h>

/* get_u64 — the 8-byte word at byte offset OFF of BUF. BUF + OFF must lie
 * within the copy (the caller sized it); never fails. */
static inline uint64_t get_u64(const uint8_t *buf, int32_t off)
{
    uint64_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

/* get_i32 — the 4-byte signed word at byte offset OFF of BUF (as get_u64). */
static inline int32_t get_i32(const uint8_t *buf, int32_t off)
{
    int32_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

/* off_max — the larger of two field offsets A and B: the last field of a
 * window to copy (add the field's size for its end). */
static inline int32_t off_max(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

#endif
