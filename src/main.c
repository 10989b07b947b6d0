/* gilscope — a sampling profiler for CPython. main only dispatches. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: gilscope <command> [options]\n"
    "\n"
    "commands:\n"
    "  record   sample a program's stacks and write a profile\n"
    "             gilscope record -p PID -o out.folded -f raw\n"
    "             gilscope record -o out.folded -f raw -- python3 app.py\n"
    "  dump     print every thread's current stack once\n"
    "             gilscope dump -p PID [--json]\n"
    "  flamegraph draw folded stacks as an SVG flame graph (or a differential one)\n"
    "             gilscope flamegraph out.folded -o out.svg\n"
    "  top      live table of the functions a program spends its time in\n"
    "             gilscope top -p PID\n"
    "             gilscope top -- python3 app.py\n"
    "  completions  print a shell completion script\n"
    "             gilscope completions bash|zsh|fish\n"
    "\n"
    "gilscope <command> --help shows the command's options; gilscope --version its version.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "record") == 0)
        return cli_record(argc - 1, argv + 1);
    if (strcmp(cmd, "dump") == 0)
        return cli_dump(argc - 1, argv + 1);
    if (strcmp(cmd, "flamegraph") == 0)
        return cli_flamegraph(argc - 1, argv + 1);
    if (strcmp(cmd, "top") == 0)
        return cli_top(argc - 1, argv + 1);
    if (strcmp(cmd, "completions") == 0)
        return cli_completions(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("gilscope %s\n", GILSCOPE_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    cli_error("unknown command '%s' (try gilscope --help)", cmd);
    return EXIT_USAGE;
}
