/*
 * cliopt — one option table per subcommand, from which its command line is
 * parsed (getopt_long: the long options and the optstring are built from the
 * table), its --help is printed, and the shell completions are generated, so
 * the three cannot drift apart.
 *
 * A table is an array of struct cliopt ending with an entry whose name is
 * NULL. Every table has -h/--help without listing it: cliopt_parse prints the
 * help itself, and cliopt_visible hands it out last. 'h' and "help" are
 * therefore reserved. A table holds at most CLIOPT_MAX options.
 *
 * Nothing here allocates; every pointer handed out points into the caller's
 * static tables or into cliopt's own static data.
 */
#ifndef GILSCOPE_CLIOPT_H
#define GILSCOPE_CLIOPT_H

#include <stdio.h>

#define CLIOPT_MAX 48       /* options per table, -h/--help not counted */
#define CLIOPT_HELP (-1)    /* cliopt_parse: --help was printed, exit 0 */

/* What an option's argument is: whether it takes one, and how shells
 * complete it. */
enum cliopt_arg {
    CLIOPT_FLAG = 0,    /* no argument */
    CLIOPT_PID,         /* a process id */
    CLIOPT_FILE,        /* a file name */
    CLIOPT_FORMAT,      /* one of record's -f formats */
    CLIOPT_VALUE,       /* a number or free text: nothing to offer */
};

struct cliopt {
    const char *name;       /* long name without the dashes; NULL ends a table */
    char short_name;        /* the one-letter form, 0 when there is none */
    enum cliopt_arg arg;    /* CLIOPT_FLAG, or the kind of its value */
    const char *value_name; /* the value in help ("PID"); NULL for a flag */
    const char *help;       /* --help text; each '\n' starts a continuation line */
    const char *brief;      /* one line for completion menus (no quotes, brackets
                             * or colons needed: each shell gets it escaped);
                             * NULL: the first line of help */
    int hidden;             /* parsed, but neither in help nor in completions */
    const char *unsupported;/* non-NULL: parsed, then refused as "not supported
                             * yet" by cliopt_refuse, with this reason */
};

struct cliopt_cmd {
    const char *name;       /* "record"; "gilscope" for the top level */
    const char *brief;      /* one line for the list of commands and completion menus */
    const char *usage;      /* help text before the options: "usage: …" and a description */
    const char *epilog;     /* help text after the options (keys, notes), or NULL */
    const char *examples;   /* lines for `gilscope --help` under the command, or NULL */
    const struct cliopt *opts;  /* the table */
    int permute;            /* options may follow positional arguments; else
                             * parsing stops at the first positional one (a
                             * command to launch keeps its own options) */
    int launches;           /* takes a COMMAND [ARGS…] to launch (after -- or not) */
    int files;              /* takes file names as positional arguments */
    const char *words;      /* fixed positional words ("bash zsh fish"), or NULL */
    const struct cliopt_cmd *const *subcommands;  /* the top level's, NULL-terminated:
                                                   * help lists them; else NULL */
    int (*run)(int argc, char **argv);  /* the subcommand; argv[0] is its name */
};

/* cliopt_fn — called by cliopt_parse for each option given, in order: O is
 * its entry in the table, ARG its value (NULL for a flag). "Not supported
 * yet" options are passed too, so conflicts with them can be found. Returns
 * 0 to go on, or an exit code to stop parsing with (after printing its own
 * one-line error). */
typedef int (*cliopt_fn)(void *ctx, const struct cliopt *o, const char *arg);

struct cliopt_result {
    int next;                           /* argv index of the first positional argument */
    const struct cliopt *unsupported;   /* the first "not supported yet" option given, or NULL */
};

/* cliopt_parse — parse ARGV (ARGC words, argv[0] the command's name) against
 * CMD's table, calling FN(CTX, …) for each option. Resets getopt's state
 * (optind = 0) first, so it can be called any number of times.
 * Returns 0 with RES filled; CLIOPT_HELP after printing the help on stdout
 * (the caller exits 0); or an exit code: 2 (bad command line: an unknown or
 * ambiguous option, a missing value, a value given to a flag, a table over
 * CLIOPT_MAX) after printing one "gilscope: …" line on stderr, or whatever
 * FN returned. RES is filled only on success. */
int cliopt_parse(const struct cliopt_cmd *cmd, int argc, char **argv, cliopt_fn fn, void *ctx,
                 struct cliopt_result *res);

/* cliopt_refuse — when RES holds a "not supported yet" option, print
 * "gilscope: --NAME is not supported yet (REASON)" on stderr and return 1
 * (EXIT_ERROR); else return 0. Called after the subcommand's own checks. */
int cliopt_refuse(const struct cliopt_result *res);

/* cliopt_help — print CMD's whole --help to OUT: usage, its subcommands
 * (name, brief, examples) if it has any, the options (the visible ones, then
 * -h/--help), epilog. */
void cliopt_help(const struct cliopt_cmd *cmd, FILE *out);

/* cliopt_print_options — only the option rows of CMD's help, to OUT. */
void cliopt_print_options(const struct cliopt_cmd *cmd, FILE *out);

/* cliopt_visible — iterate over the options that help and completions show:
 * pass NULL for the first, then the previous one; NULL after the last.
 * Hidden options are skipped; -h/--help (cliopt's own entry) comes last.
 * Returns static data. */
const struct cliopt *cliopt_visible(const struct cliopt_cmd *cmd, const struct cliopt *prev);

/* cliopt_brief — the one-line description of O for completion menus, into
 * BUF (LEN bytes): brief, or the first line of help, with " (not supported
 * yet)" for such an option. Returns BUF. */
const char *cliopt_brief(const struct cliopt *o, char *buf, size_t len);

#endif
