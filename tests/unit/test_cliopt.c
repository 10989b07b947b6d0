/* Unit tests: cliopt, the option tables that drive parsing, --help and
 * the shell completions; and the real subcommands' tables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cliopt.h"
#include "unit.h"

enum { T_PID, T_OUT, T_FLAG, T_LONGONLY, T_SECRET, T_LATER, T_COUNT };

static const struct cliopt table[] = {
    [T_PID] = { .name = "pid",
                .short_name = 'p',
                .arg = CLIOPT_PID,
                .value_name = "PID",
                .help = "the process" },
    [T_OUT] = { .name = "output",
                .short_name = 'o',
                .arg = CLIOPT_FILE,
                .value_name = "FILE",
                .help = "where to write\nsecond line",
                .brief = "output file" },
    [T_FLAG] = { .name = "flag", .short_name = 'f', .help = "a flag" },
    [T_LONGONLY] = { .name = "long-only", .arg = CLIOPT_VALUE, .value_name = "N", .help = "only a long form" },
    [T_SECRET] = { .name = "secret", .help = "hidden from view", .hidden = 1 },
    [T_LATER] = { .name = "later", .short_name = 'l', .help = "some day", .unsupported = "the reason" },
    [T_COUNT] = { 0 },
};

static const struct cliopt_cmd cmd = {
    .name = "test", .brief = "a test", .usage = "usage: gilscope test [options]\n\n",
    .epilog = "the end\n", .opts = table,
};

static const struct cliopt_cmd cmd_permute = {
    .name = "test", .brief = "a test", .usage = "usage\n", .opts = table, .permute = 1,
};

/* What the callback saw: each option's index and value, in order. */
struct seen {
    int n;
    int which[16];
    const char *arg[16];
    int stop_at;        /* return 7 for this index, or -1 */
};

static int record_opt(void *ctx, const struct cliopt *o, const char *arg)
{
    struct seen *s = ctx;
    int i = (int)(o - table);
    ck_assert_int_lt(s->n, 16);
    s->which[s->n] = i;
    s->arg[s->n++] = arg;
    return i == s->stop_at ? 7 : 0;
}

/* FD's output while F runs, as a heap string (the caller frees). */
static char *capture(int fd, int (*f)(void *), void *arg, int *rc)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(fd == 1 ? stdout : stderr);
    int saved = dup(fd);
    dup2(fileno(tmp), fd);
    *rc = f(arg);
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    off_t len = lseek(fileno(tmp), 0, SEEK_END);
    ck_assert_int_ge(len, 0);
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fileno(tmp), buf, (size_t)len, 0), (ssize_t)len);
    fclose(tmp);
    return buf;
}

struct parse_call {
    const struct cliopt_cmd *cmd;
    char **argv;
    struct seen *seen;
    struct cliopt_result res;
};

static int do_parse(void *arg)
{
    struct parse_call *c = arg;
    int argc = 0;
    while (c->argv[argc])
        argc++;
    return cliopt_parse(c->cmd, argc, c->argv, record_opt, c->seen, &c->res);
}

/* Parse ARGV (NULL-terminated) against CMD; returns the code, stderr in *ERR (freed by the caller). */
static int parse(const struct cliopt_cmd *c, char **argv, struct seen *s, struct cliopt_result *res,
                 char **err)
{
    struct parse_call call = { .cmd = c, .argv = argv, .seen = s };
    memset(s, 0, sizeof *s);
    s->stop_at = -1;
    int rc;
    *err = capture(2, do_parse, &call, &rc);
    *res = call.res;
    return rc;
}

START_TEST(test_parse_from_table)
{
    struct seen s;
    struct cliopt_result res;
    char *err;
    char *argv[] = { "test", "-p", "42", "--output=x.svg", "-f", "--long-only", "7", "--secret", "prog",
                     "-f", NULL };
    ck_assert_int_eq(parse(&cmd, argv, &s, &res, &err), 0);
    ck_assert_str_eq(err, "");
    free(err);
    ck_assert_int_eq(s.n, 5);
    ck_assert_int_eq(s.which[0], T_PID);
    ck_assert_str_eq(s.arg[0], "42");
    ck_assert_int_eq(s.which[1], T_OUT);
    ck_assert_str_eq(s.arg[1], "x.svg");
    ck_assert_int_eq(s.which[2], T_FLAG);
    ck_assert_ptr_null(s.arg[2]);
    ck_assert_int_eq(s.which[3], T_LONGONLY);
    ck_assert_str_eq(s.arg[3], "7");
    ck_assert_int_eq(s.which[4], T_SECRET);     /* hidden, but parsed */
    /* Parsing stopped at the program: its own -f is left alone. */
    ck_assert_int_eq(res.next, 8);
    ck_assert_str_eq(argv[res.next], "prog");
    ck_assert_ptr_null(res.unsupported);

    /* Clustered short options, a value glued on, an abbreviated long one. */
    char *argv2[] = { "test", "-fp7", "--long", "3", NULL };
    ck_assert_int_eq(parse(&cmd, argv2, &s, &res, &err), 0);
    free(err);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.which[1], T_PID);
    ck_assert_str_eq(s.arg[1], "7");
    ck_assert_int_eq(s.which[2], T_LONGONLY);
    ck_assert_int_eq(res.next, 4);

    /* Permuting: options after a positional argument are still options. */
    char *argv3[] = { "test", "in.folded", "-o", "out.svg", "more", NULL };
    ck_assert_int_eq(parse(&cmd_permute, argv3, &s, &res, &err), 0);
    free(err);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(res.next, 3);
    ck_assert_str_eq(argv3[3], "in.folded");
    ck_assert_str_eq(argv3[4], "more");

    /* The callback's code stops the parse. */
    char *argv4[] = { "test", "-f", "-p", "1", NULL };
    memset(&s, 0, sizeof s);
    s.stop_at = T_FLAG;
    struct parse_call call = { .cmd = &cmd, .argv = argv4, .seen = &s };
    ck_assert_int_eq(do_parse(&call), 7);
    ck_assert_int_eq(s.n, 1);
}
END_TEST

START_TEST(test_parse_errors)
{
    struct { char *argv[4]; const char *want; } cases[] = {
        { { "test", "--nope", NULL }, "gilscope: unknown option '--nope' (see gilscope test --help)\n" },
        { { "test", "-x", NULL }, "gilscope: unknown option '-x' (see gilscope test --help)\n" },
        { { "test", "-p", NULL }, "gilscope: -p needs a value (PID)\n" },
        { { "test", "--pid", NULL }, "gilscope: --pid needs a value (PID)\n" },
        { { "test", "--flag=1", NULL }, "gilscope: --flag takes no value\n" },
        { { "test", "--l", NULL }, "gilscope: ambiguous option '--l' (--long-only, --later)\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seen s;
        struct cliopt_result res;
        char *err;
        ck_assert_int_eq(parse(&cmd, cases[i].argv, &s, &res, &err), EXIT_USAGE);
        ck_assert_str_eq(err, cases[i].want);
        free(err);
    }
}
END_TEST

static int do_help(void *arg)
{
    cliopt_help(arg, stdout);
    return 0;
}

START_TEST(test_help_from_table)
{
    int rc;
    char *help = capture(1, do_help, (void *)&cmd, &rc);
    ck_assert(strncmp(help, "usage: gilscope test [options]\n\n", 32) == 0);
    ck_assert_ptr_nonnull(strstr(help, "  -p, --pid PID          the process\n"));
    ck_assert_ptr_nonnull(strstr(help, "  -o, --output FILE      where to write\n"
                                       "                         second line\n"));
    ck_assert_ptr_nonnull(strstr(help, "      --long-only N      only a long form\n"));
    ck_assert_ptr_nonnull(strstr(help, "  -l, --later            some day (not supported yet)\n"));
    ck_assert_ptr_nonnull(strstr(help, "  -h, --help             this help\n\nthe end\n"));
    ck_assert_ptr_null(strstr(help, "secret"));
    free(help);

    /* -h and --help print it on stdout and say so. */
    struct seen s;
    char *argv[] = { "test", "-f", "--help", "-p", NULL };
    struct parse_call call = { .cmd = &cmd, .argv = argv, .seen = &s };
    memset(&s, 0, sizeof s);
    s.stop_at = -1;
    char *out = capture(1, do_parse, &call, &rc);
    ck_assert_int_eq(rc, CLIOPT_HELP);
    ck_assert(strncmp(out, "usage: gilscope test", 20) == 0);
    free(out);
}
END_TEST

START_TEST(test_visible_list)
{
    const char *want[] = { "pid", "output", "flag", "long-only", "later", "help" };
    size_t n = 0;
    for (const struct cliopt *o = cliopt_visible(&cmd, NULL); o; o = cliopt_visible(&cmd, o)) {
        ck_assert_uint_lt(n, sizeof want / sizeof want[0]);
        ck_assert_str_eq(o->name, want[n++]);
    }
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    char buf[128];
    ck_assert_str_eq(cliopt_brief(&table[T_OUT], buf, sizeof buf), "output file");
    ck_assert_str_eq(cliopt_brief(&table[T_PID], buf, sizeof buf), "the process");
    ck_assert_str_eq(cliopt_brief(&table[T_LATER], buf, sizeof buf), "some day (not supported yet)");
}
END_TEST

static int do_refuse(void *arg)
{
    return cliopt_refuse(arg);
}

START_TEST(test_unsupported)
{
    struct seen s;
    struct cliopt_result res;
    char *err;
    char *argv[] = { "test", "-f", "--later", "-l", "-p", "3", NULL };
    ck_assert_int_eq(parse(&cmd, argv, &s, &res, &err), 0);
    ck_assert_str_eq(err, "");
    free(err);
    /* It is parsed (the callback sees it, for conflicts), and reported later. */
    ck_assert_int_eq(s.n, 4);
    ck_assert_int_eq(s.which[1], T_LATER);
    ck_assert_ptr_eq(res.unsupported, &table[T_LATER]);
    int rc;
    err = capture(2, do_refuse, &res, &rc);
    ck_assert_int_eq(rc, EXIT_ERROR);
    ck_assert_str_eq(err, "gilscope: --later is not supported yet (the reason)\n");
    free(err);
    struct cliopt_result none = { 0, NULL };
    ck_assert_int_eq(cliopt_refuse(&none), 0);
}
END_TEST

static int do_completions(void *shell)
{
    char *argv[] = { "completions", shell, NULL };
    return cli_completions(2, argv);
}

/* The real subcommands: every option of each table is in its help and in
 * every shell's completions, unless it is hidden; hidden ones are in none. */
START_TEST(test_real_tables)
{
    const char *shells[] = { "bash", "zsh", "fish" };
    char *scripts[3];
    for (int i = 0; i < 3; i++) {
        int rc;
        scripts[i] = capture(1, do_completions, (void *)shells[i], &rc);
        ck_assert_int_eq(rc, 0);
    }
    int hidden = 0, unsupported = 0;
    for (const struct cliopt_cmd *const *c = cli_commands; *c; c++) {
        int rc;
        char *help = capture(1, do_help, (void *)*c, &rc);
        ck_assert_ptr_nonnull((*c)->run);
        for (const struct cliopt *o = (*c)->opts; o->name; o++) {
            char word[64], fishword[64];
            snprintf(word, sizeof word, "--%s ", o->name);
            snprintf(fishword, sizeof fishword, " -l %s ", o->name);
            int in_help = strstr(help, word) != NULL ||
                          (snprintf(word, sizeof word, "--%s\n", o->name), strstr(help, word) != NULL);
            snprintf(word, sizeof word, "--%s", o->name);
            hidden += o->hidden;
            unsupported += o->unsupported != NULL;
            ck_assert_msg(in_help == !o->hidden, "%s --%s: in help %d, hidden %d", (*c)->name, o->name,
                          in_help, o->hidden);
            ck_assert_msg((strstr(scripts[0], word) != NULL) == !o->hidden, "bash: %s", word);
            ck_assert_msg((strstr(scripts[1], word) != NULL) == !o->hidden, "zsh: %s", word);
            ck_assert_msg((strstr(scripts[2], fishword) != NULL) == !o->hidden, "fish: %s", word);
        }
        free(help);
    }
    ck_assert_int_ge(hidden, 2);            /* record's --hideprogress and --capture */
    ck_assert_int_ge(unsupported, 2);       /* record's --capture, dump's --locals */
    for (int i = 0; i < 3; i++)
        free(scripts[i]);
}
END_TEST

START_TEST(test_find_command)
{
    int ambiguous;
    ck_assert_ptr_eq(cli_find_command("record", &ambiguous), &cli_record_cmd);
    ck_assert_ptr_eq(cli_find_command("r", &ambiguous), &cli_record_cmd);
    ck_assert_ptr_eq(cli_find_command("d", &ambiguous), &cli_dump_cmd);
    ck_assert_ptr_eq(cli_find_command("t", &ambiguous), &cli_top_cmd);
    ck_assert_ptr_eq(cli_find_command("comp", &ambiguous), &cli_completions_cmd);
    ck_assert_ptr_null(cli_find_command("x", &ambiguous));
    ck_assert_int_eq(ambiguous, 0);
    ck_assert_ptr_null(cli_find_command("", &ambiguous));
    ck_assert_ptr_null(cli_find_command("recordx", &ambiguous));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cliopt");
    TCase *tc = tcase_create("cliopt");
    tcase_add_test(tc, test_parse_from_table);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_help_from_table);
    tcase_add_test(tc, test_visible_list);
    tcase_add_test(tc, test_unsupported);
    tcase_add_test(tc, test_real_tables);
    tcase_add_test(tc, test_find_command);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
