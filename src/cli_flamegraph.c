/* cli_flamegraph — `gilscope flamegraph`: folded files (gilscope's, py-spy's,
 * stackcollapse-perf.pl's) to an SVG flame graph, or two of them to a
 * differential one. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flamegraph.h"
#include "outfile.h"

enum { OPT_OUTPUT, OPT_TITLE, OPT_MINWIDTH, OPT_DIFF, OPT_NEGATE, OPT_NORMALIZE, OPT_COUNT };

static const struct cliopt fg_table[] = {
    [OPT_OUTPUT] = { .name = "output",
                     .short_name = 'o',
                     .arg = CLIOPT_FILE,
                     .value_name = "FILE",
                     .help = "where to write the SVG" },
    [OPT_TITLE] = { .name = "title",
                    .arg = CLIOPT_VALUE,
                    .value_name = "TEXT",
                    .help = "the title (default: the input names)",
                    .brief = "the title" },
    [OPT_MINWIDTH] = { .name = "minwidth",
                       .arg = CLIOPT_VALUE,
                       .value_name = "PX",
                       .help = "leave out frames narrower than this (default 0.1)",
                       .brief = "leave out frames narrower than this many pixels" },
    [OPT_DIFF] = { .name = "diff",
                   .help = "differential: widths from AFTER, red where a frame\n"
                       "has more samples than in BEFORE, blue where fewer",
                   .brief = "differential flame graph of BEFORE and AFTER" },
    [OPT_NEGATE] = { .name = "negate",
                     .help = "with --diff: blue for more, red for fewer",
                     .brief = "with --diff, blue for more and red for fewer" },
    [OPT_NORMALIZE] = { .name = "normalize",
                        .help = "with --diff: scale BEFORE to AFTER's total first",
                        .brief = "with --diff, scale BEFORE to the total of AFTER" },
    [OPT_COUNT] = { 0 },
};

const struct cliopt_cmd cli_flamegraph_cmd = {
    .name = "flamegraph",
    .brief = "draw folded stacks as an SVG flame graph (or a differential one)",
    .usage = "usage: gilscope flamegraph IN.folded [IN2.folded …] [-o OUT.svg] [options]\n"
             "       gilscope flamegraph --diff BEFORE.folded AFTER.folded [-o OUT.svg] [options]\n"
             "\n"
             "Draw folded stacks ('frame;frame;frame COUNT' lines, root first) as an\n"
             "interactive SVG flame graph. Several inputs are merged; '-' reads stdin.\n"
             "Without -o the SVG goes to stdout (refused when that is a terminal).\n"
             "\n",
    .examples = "gilscope flamegraph out.folded -o out.svg",
    .opts = fg_table,
    .permute = 1,
    .files = 1,
    .run = cli_flamegraph,
};

struct fg_args {
    const char *output, *title;
    double minwidth;
    int diff, negate, normalize;
    char **inputs;
    int ninputs;
};

static int on_option(void *ctx, const struct cliopt *opt, const char *arg)
{
    struct fg_args *a = ctx;
    switch (opt - fg_table) {
    case OPT_OUTPUT: a->output = arg; break;
    case OPT_TITLE: a->title = arg; break;
    case OPT_MINWIDTH:
        if (cli_parse_number(arg, 0, 1000, &a->minwidth) != 0) {
            cli_error("invalid minimum width '%s' (px, 0 to 1000)", arg);
            return EXIT_USAGE;
        }
        break;
    case OPT_DIFF: a->diff = 1; break;
    case OPT_NEGATE: a->negate = 1; break;
    case OPT_NORMALIZE: a->normalize = 1; break;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct fg_args *a)
{
    memset(a, 0, sizeof *a);
    a->minwidth = 0.1;
    struct cliopt_result res;
    int rc = cliopt_parse(&cli_flamegraph_cmd, argc, argv, on_option, a, &res);
    if (rc)
        return rc;
    a->inputs = argv + res.next;
    a->ninputs = argc - res.next;
    int stdin_uses = 0;
    for (int i = 0; i < a->ninputs; i++)
        stdin_uses += strcmp(a->inputs[i], "-") == 0;
    if (a->ninputs == 0) {
        cli_error("flamegraph needs an input file (folded stacks; '-' for stdin)");
        return EXIT_USAGE;
    }
    if (a->diff && a->ninputs != 2) {
        cli_error("--diff needs exactly two inputs: BEFORE AFTER");
        return EXIT_USAGE;
    }
    if ((a->negate || a->normalize) && !a->diff) {
        cli_error("--negate and --normalize go with --diff");
        return EXIT_USAGE;
    }
    if (stdin_uses > 1) {
        cli_error("stdin ('-') can be read only once");
        return EXIT_USAGE;
    }
    if (!a->output && isatty(STDOUT_FILENO)) {
        cli_error("not writing an SVG to a terminal: give -o FILE or redirect stdout");
        return EXIT_USAGE;
    }
    return 0;
}

static int read_input(struct flamegraph *fg, const char *path, enum flamegraph_input which)
{
    char err[512];
    int is_stdin = strcmp(path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(path, "r");
    if (!in) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = flamegraph_read(fg, in, is_stdin ? "stdin" : path, which, err, sizeof err);
    if (!is_stdin)
        fclose(in);
    if (rc != 0) {
        cli_error("%s", err);
        return -1;
    }
    return 0;
}

/* "a.folded + b.folded", or "Differential: BEFORE → AFTER". */
static void default_title(const struct fg_args *a, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    if (a->diff) {
        snprintf(out, outlen, "Differential flame graph: %s \xe2\x86\x92 %s", a->inputs[0], a->inputs[1]);
        return;
    }
    for (int i = 0; i < a->ninputs && at + 1 < outlen; i++) {
        const char *name = strcmp(a->inputs[i], "-") == 0 ? "stdin" : a->inputs[i];
        int n = snprintf(out + at, outlen - at, "%s%s", i ? " + " : "", name);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

int cli_flamegraph(int argc, char **argv)
{
    struct fg_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == CLIOPT_HELP ? EXIT_OK : rc;
    struct flamegraph *fg = flamegraph_new();
    if (!fg) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    int code = EXIT_OK;
    if (a.diff) {
        if (read_input(fg, a.inputs[0], FLAMEGRAPH_BEFORE) != 0 ||
            read_input(fg, a.inputs[1], FLAMEGRAPH_MAIN) != 0)
            code = EXIT_ERROR;
        else if (a.normalize)
            flamegraph_scale(fg, FLAMEGRAPH_BEFORE,
                             flamegraph_total(fg, FLAMEGRAPH_MAIN) / flamegraph_total(fg, FLAMEGRAPH_BEFORE));
    } else {
        for (int i = 0; i < a.ninputs && code == EXIT_OK; i++)
            if (read_input(fg, a.inputs[i], FLAMEGRAPH_MAIN) != 0)
                code = EXIT_ERROR;
    }
    FILE *out = NULL;
    struct outfile of;
    if (code == EXIT_OK) {
        int orc = a.output ? outfile_open(&of, a.output) : 0;
        out = a.output ? (orc == 0 ? of.f : NULL) : stdout;
        if (!out) {
            cli_error("cannot write %s: %s", a.output, strerror(-orc));
            code = EXIT_ERROR;
        }
    }
    if (code == EXIT_OK) {
        char title[1024];
        if (!a.title)
            default_title(&a, title, sizeof title);
        struct flamegraph_opts o = { .title = a.title ? a.title : title, .minwidth = a.minwidth,
                                     .diff = a.diff, .negate = a.negate,
                                     .info = a.normalize ? "before scaled to the same total" : NULL };
        rc = flamegraph_write(fg, out, &o, NULL);
        /* The writer only knows a write failed; closing says why (ENOSPC …). */
        int crc = out != stdout ? outfile_commit(&of) : 0;
        if (rc == 0 || (rc == -EIO && crc != 0))
            rc = crc;
        if (rc != 0) {
            cli_error("cannot write %s: %s", a.output ? a.output : "stdout", strerror(-rc));
            code = EXIT_ERROR;
        }
    }
    flamegraph_free(fg);
    return code;
}
