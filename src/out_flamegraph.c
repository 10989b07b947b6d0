/* out_flamegraph — the 'flamegraph' format of `gilscope record`: not supported yet. */
#include "output.h"

#include <stdio.h>

static void *flamegraph_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    (void)out;
    (void)info;
    snprintf(err, errlen, "format 'flamegraph' is not supported yet (use -f raw)");
    return NULL;
}

static int flamegraph_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    (void)state;
    (void)profile;
    (void)totals;
    return 0;
}

const struct output_format output_flamegraph = {
    .name = "flamegraph", .ext = ".flamegraph", .ready = 0, .begin = flamegraph_begin, .sample = NULL, .end = flamegraph_end,
};
