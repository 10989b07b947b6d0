/* readbatch — see include/readbatch.h. */
#include "readbatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "localcopy.h"

void readbatch_init(struct readbatch *b, int one_group)
{
    memset(b, 0, sizeof *b);
    b->one_group = one_group;
}

void readbatch_free(struct readbatch *b)
{
    free(b->items);
    free(b->order);
    free(b->tmp);
    free(b->iov);
    free(b->buf);
    readbatch_init(b, b->one_group);
}

void readbatch_reset(struct readbatch *b)
{
    b->n = 0;
}

size_t readbatch_add(struct readbatch *b, unsigned group, uint64_t addr, size_t len, uint16_t gap)
{
    if (len == 0 || len > UINT32_MAX || addr == 0 || group >= READBATCH_GROUPS)
        return READBATCH_NONE;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct readbatch_item *ni = realloc(b->items, cap * sizeof *ni);
        if (!ni)
            return READBATCH_NONE;
        b->items = ni;
        uint32_t *no = realloc(b->order, cap * sizeof *no);
        if (!no)
            return READBATCH_NONE;
        b->order = no;
        uint32_t *nt = realloc(b->tmp, cap * sizeof *nt);
        if (!nt)
            return READBATCH_NONE;
        b->tmp = nt;
        b->cap = cap;
    }
    b->items[b->n] = (struct readbatch_item){ .addr = addr, .len = (uint32_t)len,
                                              .group = b->one_group ? 0 : (uint16_t)group,
                                              .gap = gap };
    return b->n++;
}

/* The end of the ascending run of O (N indices into ITEMS) that starts at I. */
static size_t run_end(const struct readbatch_item *items, const uint32_t *o, size_t i, size_t n)
{
    while (++i < n && items[o[i - 1]].addr <= items[o[i]].addr)
        ;
    return i;
}

/* Sort O (N indices into ITEMS) by address, TMP (N) as scratch: a natural
 * merge sort. Items come as a few ascending runs (thread states, frame
 * objects and code spans are each listed sorted, frames met since the
 * last prune follow theirs), so a pass or two of merging sorts them in
 * linear time, where a general sort through a comparison callback cost a
 * fifth of a pass on deep stacks. */
static void sort_runs(const struct readbatch_item *items, uint32_t *o, uint32_t *tmp, size_t n)
{
    uint32_t *src = o, *dst = tmp;
    for (;;) {
        size_t runs = 0;
        for (size_t i = 0; i < n; runs++) {
            size_t mid = run_end(items, src, i, n), end = mid < n ? run_end(items, src, mid, n) : n;
            size_t a = i, c = mid, k = i;
            while (a < mid && c < end)
                dst[k++] = items[src[c]].addr < items[src[a]].addr ? src[c++] : src[a++];
            while (a < mid)
                dst[k++] = src[a++];
            while (c < end)
                dst[k++] = src[c++];
            i = end;
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
        if (runs <= 1)
            break;
    }
    if (src != o)
        memcpy(o, src, n * sizeof *o);
}

void readbatch_sort(struct readbatch *b)
{
    size_t start[READBATCH_GROUPS + 1] = { 0 };
    for (size_t i = 0; i < b->n; i++)
        start[b->items[i].group + 1]++;
    for (int g = 0; g < READBATCH_GROUPS; g++)
        start[g + 1] += start[g];
    size_t fill[READBATCH_GROUPS];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < b->n; i++)
        b->order[fill[b->items[i].group]++] = (uint32_t)i;
    for (int g = 0; g < READBATCH_GROUPS; g++) {
        size_t n = start[g + 1] - start[g];
        if (n > 1 && run_end(b->items, b->order + start[g], 0, n) < n)
            sort_runs(b->items, b->order + start[g], b->tmp, n);
    }
}

/* Ranges of a group less than the item's gap apart are read as one: a gap
 * shorter than a page cannot hide an unmapped page, so merging never
 * makes a read fail that would have succeeded. */
int readbatch_run(struct readbatch *b, struct proc_mem *m)
{
    static uint64_t stamps;
    b->stamp = ++stamps;
    b->niov = 0;
    if (b->n == 0)
        return 0;
    readbatch_sort(b);
    /* Merge in sorted order; each item notes its range (in OFF, for now)
     * and the range its offset in the buffer (in BUF, for now). */
    size_t niov = 0, total = 0;
    for (size_t k = 0; k < b->n; k++) {
        struct readbatch_item *it = &b->items[b->order[k]];
        struct proc_iov *last = niov ? &b->iov[niov - 1] : NULL;
        const struct readbatch_item *prev = k ? &b->items[b->order[k - 1]] : NULL;
        if (last && prev->group == it->group && it->addr <= last->addr + last->len + it->gap) {
            uint64_t end = it->addr + it->len;
            if (end > last->addr + last->len) {
                total += (size_t)(end - (last->addr + last->len));
                last->len = (size_t)(end - last->addr);
            }
        } else {
            if (niov == b->cap_iov) {
                size_t cap = b->cap_iov ? b->cap_iov * 2 : 64;
                struct proc_iov *nv = realloc(b->iov, cap * sizeof *nv);
                if (!nv)
                    return -ENOMEM;
                b->iov = nv;
                b->cap_iov = cap;
            }
            b->iov[niov++] = (struct proc_iov){ .addr = it->addr, .buf = (void *)(uintptr_t)total,
                                                .len = it->len };
            total += it->len;
        }
        it->off = niov - 1;
    }
    if (total > b->cap_buf) {
        uint8_t *nb = realloc(b->buf, total);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap_buf = total;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct readbatch_item *it = &b->items[i];
        const struct proc_iov *v = &b->iov[it->off];
        it->off = (size_t)(uintptr_t)v->buf + (size_t)(it->addr - v->addr);
    }
    for (size_t k = 0; k < niov; k++)
        b->iov[k].buf = b->buf + (size_t)(uintptr_t)b->iov[k].buf;
    b->niov = niov;
    return proc_mem_readv(m, b->iov, niov);
}

uint64_t readbatch_word(const struct readbatch *b, size_t item)
{
    const uint8_t *p = readbatch_ptr(b, item);
    return p ? get_u64(p, 0) : 0;
}
