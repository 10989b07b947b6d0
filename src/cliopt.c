/* cliopt — see include/cliopt.h. */
#include "cliopt.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define HELP_COLUMN 25      /* where help text starts in an option row */
#define VAL_BASE 256        /* getopt_long's value for table entry I: VAL_BASE + I */

static const struct cliopt help_opt = {
    "help", 'h', CLIOPT_FLAG, NULL, "this help", "show help", 0, NULL,
};

static size_t table_size(const struct cliopt *opts)
{
    size_t n = 0;
    while (opts[n].name)
        n++;
    return n;
}

const struct cliopt *cliopt_visible(const struct cliopt_cmd *cmd, const struct cliopt *prev)
{
    if (prev == &help_opt)
        return NULL;
    const struct cliopt *o = prev ? prev + 1 : cmd->opts;
    while (o->name && o->hidden)
        o++;
    return o->name ? o : &help_opt;
}

const char *cliopt_brief(const struct cliopt *o, char *buf, size_t len)
{
    const char *text = o->brief ? o->brief : o->help;
    size_t n = strcspn(text, "\n");
    snprintf(buf, len, "%.*s%s", (int)n, text, o->unsupported ? " (not supported yet)" : "");
    return buf;
}

/* "-p, --pid PID" or "    --nonblocking" into BUF. */
static int option_label(const struct cliopt *o, char *buf, size_t len)
{
    char shortpart[8] = "    ";
    if (o->short_name)
        snprintf(shortpart, sizeof shortpart, "-%c, ", o->short_name);
    return snprintf(buf, len, "%s--%s%s%s", shortpart, o->name, o->value_name ? " " : "",
                    o->value_name ? o->value_name : "");
}

void cliopt_print_options(const struct cliopt_cmd *cmd, FILE *out)
{
    for (const struct cliopt *o = cliopt_visible(cmd, NULL); o; o = cliopt_visible(cmd, o)) {
        char label[128];
        int n = option_label(o, label, sizeof label);
        int pad = HELP_COLUMN - 2 - n;
        fprintf(out, "  %s%*s", label, pad >= 2 ? pad : 2, "");
        /* Continuation lines start under the first. */
        for (const char *p = o->help; *p; p++) {
            fputc(*p, out);
            if (*p == '\n')
                fprintf(out, "%*s", HELP_COLUMN, "");
        }
        fprintf(out, "%s\n", o->unsupported ? " (not supported yet)" : "");
    }
}

void cliopt_help(const struct cliopt_cmd *cmd, FILE *out)
{
    fputs(cmd->usage, out);
    if (cmd->subcommands) {
        fputs("commands:\n", out);
        for (const struct cliopt_cmd *const *c = cmd->subcommands; *c; c++) {
            fprintf(out, "  %-8s %s\n", (*c)->name, (*c)->brief);
            for (const char *e = (*c)->examples; e && *e; e += strcspn(e, "\n") + (e[strcspn(e, "\n")] != 0))
                fprintf(out, "%13s%.*s\n", "", (int)strcspn(e, "\n"), e);
        }
        fputs("\noptions:\n", out);
    }
    cliopt_print_options(cmd, out);
    if (cmd->epilog)
        fprintf(out, "\n%s", cmd->epilog);
}

/* The table entry getopt_long's return value C stands for, or NULL. */
static const struct cliopt *entry_for(const struct cliopt *opts, size_t n, int c)
{
    if (c >= VAL_BASE && (size_t)(c - VAL_BASE) < n)
        return &opts[c - VAL_BASE];
    if (c == VAL_BASE + (int)n || c == 'h')
        return &help_opt;
    for (size_t i = 0; i < n; i++)
        if (opts[i].short_name && opts[i].short_name == c)
            return &opts[i];
    return NULL;
}

/* O as the user wrote it in WORD: "--pid" (also for "--pi=3"), else "-p". */
static void spelled(const char *word, const struct cliopt *o, char *buf, size_t len)
{
    if (o->short_name && !(word && strncmp(word, "--", 2) == 0))
        snprintf(buf, len, "-%c", o->short_name);
    else
        snprintf(buf, len, "--%s", o->name);
}

/* What comes before CMD's name in "see gilscope record --help": "gilscope "
 * for a subcommand, nothing for the top level (named gilscope itself). */
static const char *prog(const struct cliopt_cmd *cmd)
{
    return cmd->subcommands ? "" : "gilscope ";
}

/* Why WORD (an unknown long option) was refused: unknown, or which options it abbreviates. */
static void bad_long(const struct cliopt_cmd *cmd, const char *word)
{
    size_t len = strcspn(word + 2, "=");
    char matches[512] = "";
    size_t at = 0;
    int count = 0;
    for (const struct cliopt *o = cmd->opts; ; o++) {
        const struct cliopt *e = o->name ? o : &help_opt;
        if (len && strncmp(e->name, word + 2, len) == 0) {
            count++;
            int k = snprintf(matches + at, sizeof matches - at, "%s--%s", at ? ", " : "", e->name);
            if (k > 0 && (size_t)k < sizeof matches - at)
                at += (size_t)k;
        }
        if (!o->name)
            break;
    }
    if (count > 1)
        cli_error("ambiguous option '%.*s' (%s)", (int)(len + 2), word, matches);
    else
        cli_error("unknown option '%.*s' (see %s%s --help)", (int)(len + 2), word, prog(cmd), cmd->name);
}

int cliopt_parse(const struct cliopt_cmd *cmd, int argc, char **argv, cliopt_fn fn, void *ctx,
                 struct cliopt_result *res)
{
    struct option longopts[CLIOPT_MAX + 2];
    char optstring[4 + 2 * CLIOPT_MAX + 4];
    size_t n = table_size(cmd->opts), at = 0;
    if (n > CLIOPT_MAX) {
        cli_error("%s: %zu options, more than cliopt's %d", cmd->name, n, CLIOPT_MAX);
        return EXIT_USAGE;
    }
    /* '+': stop at the first positional argument; ':': a missing value is ':', not '?'. */
    if (!cmd->permute)
        optstring[at++] = '+';
    optstring[at++] = ':';
    for (size_t i = 0; i <= n; i++) {
        const struct cliopt *o = i < n ? &cmd->opts[i] : &help_opt;
        longopts[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
                                       VAL_BASE + (int)i };
        if (o->short_name) {
            optstring[at++] = o->short_name;
            if (o->arg)
                optstring[at++] = ':';
        }
    }
    longopts[n + 1] = (struct option){ 0, 0, 0, 0 };
    optstring[at] = '\0';

    const struct cliopt *unsupported = NULL;
    int c, saved_opterr = opterr;
    opterr = 0;
    optind = 0;     /* a full reset: the ordering ('+' or not) is read only then */
    int code = 0;
    while (code == 0 && (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
        char name[128];
        if (c == ':' || c == '?') {
            const struct cliopt *o = entry_for(cmd->opts, n, optopt);
            if (c == '?' && !o && word && strncmp(word, "--", 2) == 0) {
                bad_long(cmd, word);
            } else if (c == '?' && !o) {
                cli_error("unknown option '-%c' (see %s%s --help)", optopt, prog(cmd), cmd->name);
            } else {
                spelled(word, o, name, sizeof name);
                if (c == ':')
                    cli_error("%s needs a value (%s)", name, o->value_name ? o->value_name : "a value");
                else
                    cli_error("%s takes no value", name);
            }
            code = EXIT_USAGE;
            break;
        }
        const struct cliopt *o = entry_for(cmd->opts, n, c);
        if (o == &help_opt) {
            cliopt_help(cmd, stdout);
            code = CLIOPT_HELP;
            break;
        }
        if (o->unsupported && !unsupported)
            unsupported = o;
        code = fn ? fn(ctx, o, o->arg ? optarg : NULL) : 0;
    }
    opterr = saved_opterr;
    if (code == 0) {
        res->next = optind;
        res->unsupported = unsupported;
    }
    return code;
}

int cliopt_refuse(const struct cliopt_result *res)
{
    if (!res->unsupported)
        return 0;
    cli_error("--%s is not supported yet (%s)", res->unsupported->name, res->unsupported->unsupported);
    return EXIT_ERROR;
}
