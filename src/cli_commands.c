/* cli_commands — the list of subcommands, the top level's options, and
 * finding a subcommand by name or prefix; see include/cli.h. Apart from
 * cli_common.c, so that linking the shared helpers does not pull in every
 * subcommand (and curses with top). */
#include "cli.h"

#include <string.h>

static const struct cliopt main_opts[] = {
    { .name = "version", .short_name = 'V', .help = "print the version" },
    { 0 },
};

const struct cliopt_cmd *const cli_commands[] = {
    &cli_record_cmd, &cli_dump_cmd, &cli_gil_cmd, &cli_flamegraph_cmd, &cli_top_cmd, &cli_completions_cmd, NULL,
};

const struct cliopt_cmd cli_main_cmd = {
    .name = "gilscope",
    .brief = "a sampling profiler for CPython",
    .usage = "usage: gilscope <command> [options]\n\n",
    .epilog = "gilscope <command> --help shows the command's options. A command may be\n"
              "shortened to any unique prefix: gilscope r -p PID is gilscope record -p PID.\n",
    .opts = main_opts,
    .subcommands = cli_commands,
};

const struct cliopt_cmd *cli_find_command(const char *name, int *ambiguous)
{
    const struct cliopt_cmd *found = NULL;
    size_t len = strlen(name);
    *ambiguous = 0;
    for (const struct cliopt_cmd *const *c = cli_commands; *c; c++) {
        if (strcmp((*c)->name, name) == 0) {
            *ambiguous = 0;
            return *c;
        }
        if (len && strncmp((*c)->name, name, len) == 0) {
            *ambiguous = found != NULL;
            found = *c;
        }
    }
    return *ambiguous ? NULL : found;
}
