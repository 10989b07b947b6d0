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
        b->cap = cap;
    }
    b->items[b->n] = (struct readbatch_item){ .addr = addr, .len = (uint32_t)len,
                                              .group = b->one_group ? 0 : (uint16_t)group,
                                              .gap = gap };
    return b->n++;
}

static const struct readbatch_item *sort_base;

static int item_cmp(const void *pa, const void *pb)
{
    const struct readbatch_item *a = &sort_base[*(const uint32_t *)pa], *b = &sort_base[*(const uint32_t *)pb];
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Items come mostly in order already (code objects and frames are listed
 * sorted), so a group is sorted only when it is not, and a short one by
 * insertion. */
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
        uint32_t *o = b->order + start[g];
        size_t n = start[g + 1] - start[g], k = 1;
        while (k < n && b->items[o[k - 1]].addr <= b->items[o[k]].addr)
            k++;
        if (k >= n)
            continue;
        if (n > 32) {
            sort_base = b->items;
            qsort(o, n, sizeof *o, item_cmp);
            continue;
        }
        for (; k < n; k++) {
            uint32_t v = o[k];
            size_t j = k;
            while (j > 0 && b->items[o[j - 1]].addr > b->items[v].addr) {
                o[j] = o[j - 1];
                j--;
            }
            o[j] = v;
        }
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
