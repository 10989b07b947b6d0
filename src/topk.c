/* topk — see include/topk.h. */
#include "topk.h"

#include <string.h>

int topk_insert(void *array, size_t *n, size_t max, size_t size, const void *item, topk_cmp cmp,
                const void *ctx)
{
    char *a = array;
    size_t at = *n;
    while (at > 0 && cmp(item, a + (at - 1) * size, ctx) < 0)
        at--;
    if (at >= max)
        return 0;
    /* A full array loses its last item to make room. */
    size_t move = (*n < max ? *n : max - 1) - at;
    memmove(a + (at + 1) * size, a + at * size, move * size);
    memcpy(a + at * size, item, size);
    if (*n < max)
        (*n)++;
    return 1;
}
