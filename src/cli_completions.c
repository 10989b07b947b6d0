/* cli_completions — `gilscope completions bash|zsh|fish`: print a shell
 * completion script for every subcommand and option. The scripts are
 * generated from one table here, so the three shells agree; the terminal
 * test checks the table against each subcommand's --help. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

/* What an option's argument is, which decides how it completes. */
enum arg_kind {
    ARG_NONE = 0,   /* a flag */
    ARG_PID,        /* a process id */
    ARG_FILE,       /* a file name */
    ARG_FORMAT,     /* one of record's -f formats */
    ARG_VALUE,      /* a number or free text: nothing to offer */
};

struct comp_opt {
    char shortopt;          /* 0 when there is none */
    const char *longopt;    /* without the dashes */
    enum arg_kind arg;
    const char *help;       /* no quotes, brackets or colons: every shell gets it as is */
};

struct comp_cmd {
    const char *name;
    const char *help;
    int launches;           /* takes `-- COMMAND ARGS…` */
    int files;              /* takes file names as positional arguments */
    const char *words;      /* fixed positional words, space-separated, or NULL */
    const struct comp_opt *opts;    /* ends with a zero entry */
};

static const struct comp_opt record_opts[] = {
    { 'p', "pid", ARG_PID, "attach to this process" },
    { 'o', "output", ARG_FILE, "output file" },
    { 'f', "format", ARG_FORMAT, "output format" },
    { 'r', "rate", ARG_VALUE, "samples per second" },
    { 'd', "duration", ARG_VALUE, "stop after this many seconds" },
    { 't', "threads", ARG_NONE, "root each stack at its thread" },
    { 'i', "idle", ARG_NONE, "keep samples of idle threads" },
    { 'g', "gil", ARG_NONE, "keep only the thread holding the GIL" },
    { 0, "nonblocking", ARG_NONE, "never pause the target" },
    { 0, "full-filenames", ARG_NONE, "whole paths, not package-relative ones" },
    { 'F', "function", ARG_NONE, "one entry per function, not per line" },
    { 0, "nolineno", ARG_NONE, "no line numbers" },
    { 'q', "quiet", ARG_NONE, "no status line and no summary" },
    { 'h', "help", ARG_NONE, "show help" },
    { 0, NULL, ARG_NONE, NULL },
};

static const struct comp_opt dump_opts[] = {
    { 'p', "pid", ARG_PID, "the process to look at" },
    { 'j', "json", ARG_NONE, "one JSON object instead of text" },
    { 0, "nonblocking", ARG_NONE, "do not pause the process" },
    { 0, "full-filenames", ARG_NONE, "accepted for symmetry" },
    { 'h', "help", ARG_NONE, "show help" },
    { 0, NULL, ARG_NONE, NULL },
};

static const struct comp_opt top_opts[] = {
    { 'p', "pid", ARG_PID, "attach to this process" },
    { 'r', "rate", ARG_VALUE, "samples per second" },
    { 'd', "duration", ARG_VALUE, "stop after this many seconds" },
    { 0, "delay", ARG_VALUE, "refresh interval in seconds" },
    { 'i', "idle", ARG_NONE, "count idle threads too" },
    { 'g', "gil", ARG_NONE, "count only the thread holding the GIL" },
    { 0, "nonblocking", ARG_NONE, "never pause the target" },
    { 0, "full-filenames", ARG_NONE, "whole paths, not package-relative ones" },
    { 'h', "help", ARG_NONE, "show help" },
    { 0, NULL, ARG_NONE, NULL },
};

static const struct comp_opt flamegraph_opts[] = {
    { 'o', "output", ARG_FILE, "where to write the SVG" },
    { 0, "title", ARG_VALUE, "the title" },
    { 0, "minwidth", ARG_VALUE, "leave out frames narrower than this many pixels" },
    { 0, "diff", ARG_NONE, "differential flame graph of BEFORE and AFTER" },
    { 0, "negate", ARG_NONE, "with --diff, blue for more and red for fewer" },
    { 0, "normalize", ARG_NONE, "with --diff, scale BEFORE to the total of AFTER" },
    { 'h', "help", ARG_NONE, "show help" },
    { 0, NULL, ARG_NONE, NULL },
};

static const struct comp_opt completions_opts[] = {
    { 'h', "help", ARG_NONE, "show help" },
    { 0, NULL, ARG_NONE, NULL },
};

static const struct comp_cmd commands[] = {
    { "record", "sample a program and write a profile", 1, 0, NULL, record_opts },
    { "dump", "print every thread's stack once", 0, 0, NULL, dump_opts },
    { "flamegraph", "draw folded stacks as an SVG flame graph", 0, 1, NULL, flamegraph_opts },
    { "top", "live table of the busiest functions", 1, 0, NULL, top_opts },
    { "completions", "print a shell completion script", 0, 0, "bash zsh fish", completions_opts },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char usage[] =
    "usage: gilscope completions bash|zsh|fish\n"
    "\n"
    "Print a completion script for the shell. For example:\n"
    "  bash:  source <(gilscope completions bash)   (or save it in\n"
    "         /usr/share/bash-completion/completions/gilscope)\n"
    "  zsh:   gilscope completions zsh > \"${fpath[1]}/_gilscope\"\n"
    "  fish:  gilscope completions fish > ~/.config/fish/completions/gilscope.fish\n";

/* The -f names, space-separated, from the format registry's own list: every
 * word of output_names() that output_find accepts, so no
 * list is kept twice. */
static void format_words(char *out, size_t outlen)
{
    const char *s = output_names();
    size_t at = 0;
    out[0] = '\0';
    while (*s) {
        while (*s && !isalnum((unsigned char)*s))
            s++;
        const char *w = s;
        while (*s && (isalnum((unsigned char)*s) || *s == '-' || *s == '_'))
            s++;
        char word[64];
        size_t n = (size_t)(s - w);
        if (n == 0 || n >= sizeof word)
            continue;
        memcpy(word, w, n);
        word[n] = '\0';
        const struct output_format *f = output_find(word);
        if (!f)
            continue;
        int k = snprintf(out + at, outlen - at, "%s%s", at ? " " : "", word);
        if (k < 0 || (size_t)k >= outlen - at)
            break;
        at += (size_t)k;
    }
}

/* Every option word of C (-x and --long), space-separated, to stdout. */
static void print_option_words(const struct comp_cmd *c)
{
    int first = 1;
    for (const struct comp_opt *o = c->opts; o->longopt; o++) {
        if (o->shortopt) {
            printf("%s-%c", first ? "" : " ", o->shortopt);
            first = 0;
        }
        printf("%s--%s", first ? "" : " ", o->longopt);
        first = 0;
    }
}

/* The options of C whose argument is of kind K as a bash case pattern
 * ("        -p|--pid"). Prints nothing and returns 0 when there is none. */
static int print_option_patterns(const struct comp_cmd *c, enum arg_kind k)
{
    int n = 0;
    for (const struct comp_opt *o = c->opts; o->longopt; o++) {
        if (o->arg != k)
            continue;
        printf("%s", n++ ? "|" : "        ");
        if (o->shortopt)
            printf("-%c|", o->shortopt);
        printf("--%s", o->longopt);
    }
    return n > 0;
}

static void print_bash(void)
{
    char formats[256];
    format_words(formats, sizeof formats);
    printf("# bash completion for gilscope (generated by `gilscope completions bash`)\n"
           "_gilscope() {\n"
           "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" i\n"
           "    COMPREPLY=()\n"
           "    # After --, the words are the command to launch.\n"
           "    for ((i = 2; i < COMP_CWORD; i++)); do\n"
           "        if [[ ${COMP_WORDS[i]} == -- ]]; then\n"
           "            if ((i + 1 == COMP_CWORD)); then\n"
           "                mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")\n"
           "            else\n"
           "                mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
           "            fi\n"
           "            return 0\n"
           "        fi\n"
           "    done\n"
           "    if ((COMP_CWORD == 1)); then\n"
           "        mapfile -t COMPREPLY < <(compgen -W \"");
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("%s ", commands[i].name);
    printf("help --help --version\" -- \"$cur\")\n"
           "        return 0\n"
           "    fi\n"
           "    case \"${COMP_WORDS[1]}\" in\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct comp_cmd *c = &commands[i];
        printf("    %s)\n"
               "        case \"$prev\" in\n", c->name);
        for (int k = ARG_PID; k <= ARG_VALUE; k++) {
            if (!print_option_patterns(c, (enum arg_kind)k))
                continue;
            fputs(")\n            ", stdout);
            switch ((enum arg_kind)k) {
            case ARG_PID:
                fputs("mapfile -t COMPREPLY < <(compgen -W \"$(cd /proc && echo [0-9]*)\" -- \"$cur\")", stdout);
                break;
            case ARG_FILE:
                fputs("mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")", stdout);
                break;
            case ARG_FORMAT:
                printf("mapfile -t COMPREPLY < <(compgen -W \"%s\" -- \"$cur\")", formats);
                break;
            default:
                fputs(":", stdout);     /* a value of the user's own: nothing to offer */
                break;
            }
            fputs("\n            return 0 ;;\n", stdout);
        }
        printf("        esac\n");
        if (c->files)
            printf("        if [[ $cur != -* ]]; then\n"
                   "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
                   "            return 0\n"
                   "        fi\n");
        printf("        mapfile -t COMPREPLY < <(compgen -W \"");
        if (c->words)
            printf("%s ", c->words);
        print_option_words(c);
        printf("%s\" -- \"$cur\") ;;\n", c->launches ? " --" : "");
    }
    printf("    esac\n"
           "    return 0\n"
           "}\n"
           "complete -F _gilscope gilscope\n");
}

/* TEXT with every ' doubled up for a zsh/fish single-quoted string, and
 * zsh's _arguments specials escaped. */
static void print_quoted(const char *text, int zsh)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            fputs(zsh ? "'\\''" : "\\'", stdout);
        else if (!zsh && *p == '\\')
            fputs("\\\\", stdout);
        else if (zsh && (*p == '[' || *p == ']' || *p == ':'))
            printf("\\%c", *p);
        else
            putchar(*p);
    }
}

static const char *zsh_action(enum arg_kind k, const char *formats)
{
    static char buf[300];
    switch (k) {
    case ARG_PID: return ":pid:_pids";
    case ARG_FILE: return ":file:_files";
    case ARG_FORMAT:
        snprintf(buf, sizeof buf, ":format:(%s)", formats);
        return buf;
    case ARG_VALUE: return ":value: ";
    default: return "";
    }
}

static void print_zsh(void)
{
    char formats[256];
    format_words(formats, sizeof formats);
    printf("#compdef gilscope\n"
           "# zsh completion for gilscope (generated by `gilscope completions zsh`)\n"
           "_gilscope() {\n"
           "  local -a commands\n"
           "  commands=(\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        printf("    '%s:", commands[i].name);
        print_quoted(commands[i].help, 1);
        printf("'\n");
    }
    printf("  )\n"
           "  if (( CURRENT == 2 )); then\n"
           "    _describe -t commands 'gilscope command' commands\n"
           "    compadd -- help --help --version\n"
           "    return\n"
           "  fi\n"
           "  local cmd=${words[2]}\n"
           "  shift words\n"
           "  (( CURRENT-- ))\n"
           "  case $cmd in\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct comp_cmd *c = &commands[i];
        printf("  %s)\n    _arguments -S", c->name);
        for (const struct comp_opt *o = c->opts; o->longopt; o++) {
            const char *act = zsh_action(o->arg, formats);
            const char *ssuf = o->arg ? "+" : "", *lsuf = o->arg ? "=" : "";
            printf(" \\\n      ");
            if (o->shortopt)
                printf("'(-%c --%s)'{-%c%s,--%s%s}'[", o->shortopt, o->longopt, o->shortopt, ssuf,
                       o->longopt, lsuf);
            else
                printf("'--%s%s[", o->longopt, lsuf);
            print_quoted(o->help, 1);
            printf("]%s'", act);
        }
        if (c->words)
            printf(" \\\n      ':shell:(%s)'", c->words);
        if (c->files)
            printf(" \\\n      '*:file:_files'");
        if (c->launches)
            printf(" \\\n      '*::command:_normal'");
        printf("\n    ;;\n");
    }
    printf("  esac\n"
           "}\n"
           "# As an autoloaded function (a file named _gilscope in $fpath) run it;\n"
           "# when sourced, register it.\n"
           "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
           "  _gilscope \"$@\"\n"
           "else\n"
           "  compdef _gilscope gilscope\n"
           "fi\n");
}

static void print_fish(void)
{
    char formats[256];
    format_words(formats, sizeof formats);
    printf("# fish completion for gilscope (generated by `gilscope completions fish`)\n"
           "complete -c gilscope -f\n"
           "# After `--` in record and top: the command to launch, completed as its own.\n"
           "function __gilscope_launched\n"
           "    set -l t (commandline -opc) (commandline -ct)\n"
           "    set -l i (contains -i -- -- $t)\n"
           "    and __fish_complete_subcommand --commandline $t[(math $i + 1)..-1]\n"
           "end\n"
           "complete -c gilscope -n 'contains -- -- (commandline -opc)' -a '(__gilscope_launched)'\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        printf("complete -c gilscope -n __fish_use_subcommand -a %s -d '", commands[i].name);
        print_quoted(commands[i].help, 0);
        printf("'\n");
    }
    printf("complete -c gilscope -n __fish_use_subcommand -s h -l help -d 'show help'\n"
           "complete -c gilscope -n __fish_use_subcommand -s V -l version -d 'show the version'\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct comp_cmd *c = &commands[i];
        for (const struct comp_opt *o = c->opts; o->longopt; o++) {
            printf("complete -c gilscope -n '__fish_seen_subcommand_from %s; "
                   "and not contains -- -- (commandline -opc)'", c->name);
            if (o->shortopt)
                printf(" -s %c", o->shortopt);
            printf(" -l %s", o->longopt);
            switch (o->arg) {
            case ARG_PID: printf(" -x -a '(__fish_complete_pids)'"); break;
            case ARG_FILE: printf(" -r -F"); break;
            case ARG_FORMAT: printf(" -x -a '%s'", formats); break;
            case ARG_VALUE: printf(" -x"); break;
            default: break;
            }
            printf(" -d '");
            print_quoted(o->help, 0);
            printf("'\n");
        }
        if (c->words)
            printf("complete -c gilscope -n '__fish_seen_subcommand_from %s' -x -a '%s'\n", c->name, c->words);
        if (c->files)
            printf("complete -c gilscope -n '__fish_seen_subcommand_from %s' -F\n", c->name);
    }
}

int cli_completions(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (argc != 2) {
        cli_error(argc < 2 ? "completions needs a shell: bash, zsh or fish"
                           : "completions takes one shell: bash, zsh or fish");
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "bash") == 0)
        print_bash();
    else if (strcmp(argv[1], "zsh") == 0)
        print_zsh();
    else if (strcmp(argv[1], "fish") == 0)
        print_fish();
    else {
        cli_error("unknown shell '%s' (bash, zsh or fish)", argv[1]);
        return EXIT_USAGE;
    }
    if (fflush(stdout) != 0) {
        cli_error("cannot write the completions: %s", strerror(errno));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
