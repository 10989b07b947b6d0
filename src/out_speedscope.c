/* out_speedscope — the 'speedscope' format of `gilscope record`: not supported yet. */
#include "output.h"

#include <stdio.h>

static void *speedscope_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    (void)out;
    (void)info;
    snprintf(err, errlen, "format 'speedscope' is not supported yet (use -f raw)");
    return NULL;
}

static int speedscope_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    (void)state;
    (void)profile;
    (void)totals;
    return 0;
}

const struct output_format output_speedscope = {
    .name = "speedscope", .ext = ".speedscope", .ready = 0, .begin = speedscope_begin, .sample = NULL, .end = speedscope_end,
};
