/* out_chrometrace — the 'chrometrace' format of `gilscope record`: not supported yet. */
#include "output.h"

#include <stdio.h>

static void *chrometrace_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    (void)out;
    (void)info;
    snprintf(err, errlen, "format 'chrometrace' is not supported yet (use -f raw)");
    return NULL;
}

static int chrometrace_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    (void)state;
    (void)profile;
    (void)totals;
    return 0;
}

const struct output_format output_chrometrace = {
    .name = "chrometrace", .ext = ".chrometrace", .ready = 0, .begin = chrometrace_begin, .sample = NULL, .end = chrometrace_end,
};
