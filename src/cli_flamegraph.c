/* cli_flamegraph — `gilscope flamegraph`: folded files (gilscope's, py-spy's,
 * stackcollapse-perf.pl's) to an SVG flame graph, or two of them to a
 * differential one. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flamegraph.h"
#include "outfile.h"

static const char usage[] =
    "usage: gilscope flamegraph IN.folded [IN2.folded …] [-o OUT.svg] [options]\n"
    "       gilscope flamegraph --diff BEFORE.folded AFTER.folded [-o OUT.svg] [options]\n"
    "\n"
    "Draw folded stacks ('frame;frame;frame COUNT' lines, root first) as an\n"
    "interactive SVG flame graph. Several inputs are merged; '-' reads stdin.\n"
    "Without -o the SVG goes to stdout (refused when that is a terminal).\n"
    "\n"
    "  -o, --output FILE      where to write the SVG\n"
    "      --title TEXT       the title (default: the input names)\n"
    "      --minwidth PX      leave out frames narrower than this (default 0.1)\n"
    "      --diff             differential: widths from AFTER, red where a frame\n"
    "                         has more samples than in BEFORE, blue where fewer\n"
    "      --negate           with --diff: blue for more, red for fewer\n"
    "      --normalize        with --diff: scale BEFORE to AFTER's total first\n"
    "  -h, --help             this help\n";

struct fg_args {
    const char *output, *title;
    double minwidth;
    int diff, negate, normalize;
    char **inputs;
    int ninputs;
};

static int parse_args(int argc, char **argv, struct fg_args *a)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "title", required_argument, NULL, 'T' },
        { "minwidth", required_argument, NULL, 'm' },
        { "diff", no_argument, NULL, 'D' },
        { "negate", no_argument, NULL, 'N' },
        { "normalize", no_argument, NULL, 'Z' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    memset(a, 0, sizeof *a);
    a->minwidth = 0.1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': a->output = optarg; break;
        case 'T': a->title = optarg; break;
        case 'm': {
            char *end;
            errno = 0;
            a->minwidth = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(a->minwidth >= 0 && a->minwidth <= 1000)) {
                cli_error("invalid minimum width '%s' (px, 0 to 1000)", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'D': a->diff = 1; break;
        case 'N': a->negate = 1; break;
        case 'Z': a->normalize = 1; break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    a->inputs = argv + optind;
    a->ninputs = argc - optind;
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
        return rc < 0 ? EXIT_OK : rc;
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
