/* out_flamegraph — the 'flamegraph' format of `gilscope record`: the profile
 * as folded lines (formatted by folded.c, as -f raw writes them) drawn as one
 * interactive SVG by flamegraph.c. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"

struct fg_state {
    FILE *out;
    struct output_info info;
    char *title;            /* copied: the caller's may not outlive begin */
    char *version;
};

static void *flamegraph_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    struct fg_state *st = calloc(1, sizeof *st);
    if (st) {
        st->out = out;
        st->info = *info;
        st->title = strdup(info->title ? info->title : "");
        st->version = strdup(info->python_version ? info->python_version : "");
    }
    if (!st || !st->title || !st->version) {
        if (st) {
            free(st->title);
            free(st->version);
        }
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return st;
}

static int add_line(void *ctx, const char *stack, size_t len, uint64_t count)
{
    int rc = flamegraph_add(ctx, stack, len, (double)count, FLAMEGRAPH_MAIN);
    /* folded.c never hands out an empty stack, so only memory can fail. */
    return rc == -EINVAL ? 0 : rc;
}

static int flamegraph_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    struct fg_state *st = state;
    struct flamegraph *fg = flamegraph_new();
    char info[256];
    int rc = fg ? folded_lines(profile, st->info.strings, st->info.files, st->info.opts, add_line, fg)
                : -ENOMEM;
    if (rc == 0) {
        int n = snprintf(info, sizeof info, "Python %s, %g Hz", *st->version ? st->version : "?",
                         st->info.rate_hz);
        if (totals->errors && n > 0 && (size_t)n < sizeof info)
            snprintf(info + n, sizeof info - (size_t)n, ", %" PRIu64 " sampling errors", totals->errors);
        struct flamegraph_opts o = { .title = st->title, .info = info, .duration_s = totals->duration_s,
                                     .minwidth = -1 };
        rc = flamegraph_write(fg, st->out, &o, NULL);
    }
    flamegraph_free(fg);
    free(st->title);
    free(st->version);
    free(st);
    return rc;
}

const struct output_format output_flamegraph = {
    .name = "flamegraph", .ext = ".svg", .default_ext = "svg", .begin = flamegraph_begin, .sample = NULL, .end = flamegraph_end,
};
