/*
 * topk — the K best of a stream of items, for the short ranked lists the
 * reports show (the lines a thread waited at most, the longest-lived
 * threads): an array kept sorted, best first, into which each item goes in
 * its place, the last one falling off once K are held. An insertion costs
 * O(K), which for lists of a few dozen beats sorting everything.
 */
#ifndef GILSCOPE_TOPK_H
#define GILSCOPE_TOPK_H

#include <stddef.h>

/* topk_cmp — the ranking, in qsort's sense: negative when A ranks before
 * (is better than) B, positive when after, 0 when they tie. CTX is
 * topk_insert's, for items that are indices into something else. */
typedef int (*topk_cmp)(const void *a, const void *b, const void *ctx);

/* topk_insert — put a copy of ITEM (SIZE bytes) into ARRAY, which holds *N
 * items (N <= MAX) ranked by CMP, best first, and has room for MAX. ITEM goes
 * after every item it does not rank before: among ties the one inserted
 * first stays first, and an ITEM that ties the last of a full ARRAY is not
 * kept. When a full ARRAY keeps ITEM its last item falls off. *N grows up to
 * MAX. Returns 1 if ITEM was kept, else 0. Allocates nothing; cannot fail. */
int topk_insert(void *array, size_t *n, size_t max, size_t size, const void *item, topk_cmp cmp,
                const void *ctx);

#endif
