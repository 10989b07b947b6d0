/*
 * readbatch — plan many small reads of a target, then do them all in ONE
 * proc_mem_readv of as few ranges as possible, into one reused buffer.
 *
 * On this kind of machine a system call costs as much as copying
 * kilobytes, and each extra range in a process_vm_readv costs a good part
 * of one, so ranges close together are read as one. Items are read in
 * group order within the one system call, and ranges merge only within a
 * group: a caller that needs some words read before others (a running
 * target) puts them in earlier groups. Knows nothing of Python.
 */
#ifndef GILSCOPE_READBATCH_H
#define GILSCOPE_READBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proc.h"

#define READBATCH_GROUPS 6          /* groups 0 .. READBATCH_GROUPS - 1 */
#define READBATCH_NONE SIZE_MAX     /* "no item": what readbatch_add returns when it plans nothing */

/* Ranges closer than this are read as one (less than a page: never spans
 * an unmapped hole). Copying costs about 55 ns/KiB for data in cache and
 * several times that for data not, a range 150–250 ns: code objects are in
 * use and cached, other ranges often not (idle threads). */
#define READBATCH_GAP 512
#define READBATCH_GAP_CODE 2048

/* One planned range. Fields are read-only to callers. */
struct readbatch_item {
    uint64_t addr;
    uint32_t len;
    uint16_t group;
    uint16_t gap;                   /* largest gap before it still worth merging */
    size_t off;                     /* into the batch buffer, once run */
};

/* Ranges to read in one system call, merged, into one reused buffer.
 * Zero it (or readbatch_init) before use; fields are read-only to callers. */
struct readbatch {
    struct readbatch_item *items;
    size_t n, cap;
    uint32_t *order;                /* item indices sorted by (group, address) */
    uint32_t *tmp;                  /* scratch for sorting ORDER */
    struct proc_iov *iov;
    size_t niov, cap_iov;           /* the ranges of the last run */
    uint8_t *buf;
    size_t cap_buf;
    uint64_t stamp;                 /* changes at every run: tags what refers to this batch's data */
    int one_group;                  /* blocking: every item in one group */
};

/* readbatch_init — an empty batch. ONE_GROUP: put every item in group 0
 * (a target that is stopped needs no read order, and merges more). */
void readbatch_init(struct readbatch *b, int one_group);

/* readbatch_free — release B's memory (the struct itself is the caller's);
 * B is then as after readbatch_init with its ONE_GROUP kept. */
void readbatch_free(struct readbatch *b);

/* readbatch_reset — forget the planned items, keep the memory. Pointers
 * from readbatch_ptr stay valid until the next readbatch_run. */
void readbatch_reset(struct readbatch *b);

/* readbatch_add — plan to read LEN bytes at ADDR in GROUP, to be merged with
 * a range of the same group that ends at most GAP bytes before it. Returns
 * the item's index (for readbatch_ptr), or READBATCH_NONE, when out of
 * memory, for LEN 0 or above 4 GiB, ADDR 0 or a GROUP out of range (the
 * item is then simply not read). */
size_t readbatch_add(struct readbatch *b, unsigned group, uint64_t addr, size_t len, uint16_t gap);

/* readbatch_sort — order B's item indices (B->order) by group, then
 * address. readbatch_run does it; exposed for tests. */
void readbatch_sort(struct readbatch *b);

/* readbatch_run — read every planned item in one proc_mem_readv, with ranges
 * merged, in group order, into B's buffer, and give B a new stamp. Returns
 * 0, or a negative errno (-ENOMEM, or the read's: then nothing of the batch
 * may be used; it is all-or-nothing). */
int readbatch_run(struct readbatch *b, struct proc_mem *m);

/* readbatch_ptr — the copy of item ITEM after a successful readbatch_run:
 * the item's LEN bytes, owned by B, valid until B's next readbatch_run or
 * readbatch_free. NULL for READBATCH_NONE or an index not planned. */
static inline const uint8_t *readbatch_ptr(const struct readbatch *b, size_t item)
{
    return item < b->n ? b->buf + b->items[item].off : NULL;
}

/* readbatch_word — the first 8 bytes of item ITEM as a word (the item must
 * be at least that long), 0 when there is no such item. */
uint64_t readbatch_word(const struct readbatch *b, size_t item);

#endif
