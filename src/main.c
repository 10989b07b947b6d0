/* gilscope — a sampling profiler for CPython. main only dispatches: the
 * top level's options and the list of subcommands are in cli_commands.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int on_option(void *ctx, const struct cliopt *o, const char *arg)
{
    if (o->short_name == 'V')
        *(int *)ctx = 1;
    return 0;
}

/* The subcommand NAME, or NULL after printing why there is none. */
static const struct cliopt_cmd *command(const char *name)
{
    int ambiguous;
    const struct cliopt_cmd *c = cli_find_command(name, &ambiguous);
    if (!c && ambiguous)
        cli_error("ambiguous command '%s' (try gilscope --help)", name);
    else if (!c)
        cli_error("unknown command '%s' (try gilscope --help)", name);
    return c;
}

int main(int argc, char **argv)
{
    int version = 0;
    struct cliopt_result res;
    if (argc < 2) {
        cliopt_help(&cli_main_cmd, stderr);
        return EXIT_USAGE;
    }
    int rc = cliopt_parse(&cli_main_cmd, argc, argv, on_option, &version, &res);
    if (rc)
        return rc == CLIOPT_HELP ? EXIT_OK : rc;
    if (version) {
        printf("gilscope %s\n", GILSCOPE_VERSION);
        return EXIT_OK;
    }
    if (res.next >= argc) {
        cliopt_help(&cli_main_cmd, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[res.next];
    if (strcmp(name, "help") == 0) {
        /* `gilscope help` is --help; `gilscope help record` is record's. */
        const struct cliopt_cmd *c = res.next + 1 < argc ? command(argv[res.next + 1]) : &cli_main_cmd;
        if (!c)
            return EXIT_USAGE;
        cliopt_help(c, stdout);
        return EXIT_OK;
    }
    const struct cliopt_cmd *c = command(name);
    rc = c ? c->run(argc - res.next, argv + res.next) : EXIT_USAGE;
    cli_peak_rss_stats();
    return rc;
}
