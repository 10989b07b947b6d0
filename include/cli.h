/*
 * cli — the command-line subcommands, and what they share: opening a
 * profiling session on a launched or attached target, signal handling,
 * and exit codes (documented in README.md).
 */
#ifndef GILSCOPE_CLI_H
#define GILSCOPE_CLI_H

#include <signal.h>
#include <stddef.h>

#include "cliopt.h"
#include "family.h"
#include "corefile.h"
#include "nativemerge.h"
#include "proc.h"
#include "pyinterp.h"
#include "pythreads.h"
#include "pywalk.h"
#include "sampler.h"
#include "strtab.h"
#include "target.h"
#include "threadinfo.h"

#define GILSCOPE_VERSION "0.1.0"

/* The nice value the sampling loop takes when allowed: the highest short
 * of the realtime classes, so that a loaded machine does not starve it.
 * A nice-0 thread weighs 1/28 of one at -15 but 1/87 of one at -20: with
 * hundreds of the target's threads runnable, that decides (bench, 100 busy
 * threads under load: 82-88% of samples at nice 0, 100% at -15; 1000 busy
 * threads at 100 Hz, load 190-280: 30-35% at -15, 78-80% at -20). */
#define CLI_NICE (-20)

enum cli_exit {
    EXIT_OK = 0,        /* success */
    EXIT_ERROR = 1,     /* could not profile: no such process, not Python, no permission … */
    EXIT_USAGE = 2,     /* bad command line */
};

/* Everything a subcommand needs to read one target. */
struct session {
    struct target target;       /* the process */
    struct proc_mem mem;        /* its memory */
    struct pyinterp interp;     /* its interpreter */
    struct strtab *strings;     /* interned names */
    struct pywalk *walk;        /* stack reader */
    struct threadinfo *threads; /* per-thread state and names */
    struct pythreads names;     /* Python thread-name lookup */
    struct nativemerge *native; /* --native: C frames merged in, else NULL */
    struct family *family;      /* --subprocesses: the Python descendants, else NULL */
    struct corefile *core;      /* dump --core: the core read instead of a process, else NULL */
    int mem_open;               /* mem needs closing */
};

/* session_open — launch ARGV (when non-NULL) or attach to PID, find its
 * interpreter and prepare to walk it. On failure returns a negative code with
 * a one-line reason in ERR; a launched program is then left to finish on its
 * own (its exit code is in S->target). Close with session_close in every case. */
int session_open(struct session *s, pid_t pid, char *const argv[], int nonblocking,
                 volatile sig_atomic_t *stop, char *err, size_t errlen);

/* session_open_core — open S on the core file CORE instead of a process
 * (EXE: the executable's path when it moved, or NULL), printing the core's
 * warnings (a mapped file missing or not the one the core was made with)
 * as "gilscope: warning: …" lines, control characters escaped; find its interpreter and prepare to
 * walk it, with no process, ptrace or /proc involved (S->target.pid is the
 * core's pid, marked exited). On failure returns a negative code with a
 * one-line reason in ERR. Close with session_close in every case. */
int session_open_core(struct session *s, const char *core, const char *exe, char *err, size_t errlen);

/* cli_start — how a subcommand that reads a target starts once its command
 * line is parsed. *CODE holds what parsing returned: 0 goes on; otherwise
 * the subcommand ends with it (EXIT_OK for CLIOPT_HELP). An OUTPUT that
 * cli_check_output refuses (NULL: none) ends it with EXIT_ERROR. Then the
 * stop flag is installed (cli_stop_flag) and S opened on COMMAND (launched,
 * when non-NULL) or PID (session_open); on failure that prints the one-line
 * error, lets a launched program finish, closes S and ends with the
 * program's own exit code if it failed, else EXIT_ERROR. With GIL_ONLY
 * (--gil), a free-threaded target running without the GIL ends it too:
 * why --gil cannot work is printed, a launched program ended (SIGTERM, then
 * waited for), S closed, EXIT_ERROR. Returns the stop flag with S open
 * (close it with session_close); NULL with *CODE the exit code to end
 * with, S then needing no closing. */
volatile sig_atomic_t *cli_start(int *code, const char *output, pid_t pid, char *const command[],
                                 int nonblocking, int gil_only, struct session *s);

/* cli_session_extend — after cli_start: with O->native, S->native
 * (O->all_frames: --native-all-frames); with SUBPROCESSES, S->family, the
 * target's Python descendants (family.h), scanned once now. Returns 0, or
 * an exit code after printing why, the launched program ended and S
 * closed. */
int cli_session_extend(struct session *s, int subprocesses, const struct family_opts *o,
                       volatile sig_atomic_t *stop);

/* cli_native_note — with --native, once the files named so far first lack
 * something (nativemerge_note), one warning line on stderr: which file has
 * no line numbers, how many others, how many are named from their exported
 * symbols only or could not be read, and to install debug symbols. Called
 * after each sample; prints at most once per session. */
void cli_native_note(const struct session *s);

/* session_close — release everything session_open made (safe after a failed open). */
void session_close(struct session *s);

/* cli_priority — the nice value the sampling loop should take (struct
 * sampler_config's nice): CLI_NICE, or 0 with --no-priority (NO_PRIORITY). */
int cli_priority(int no_priority);

/* What the CLI shows of a sampler run's notes (cli_sampler_env). */
struct cli_notes {
    int status_line;    /* redraw a one-line status on stderr */
    int print_stats;    /* GILSCOPE_STATS=1: one "gilscope-stats: …" line at the end (bench/run) */
    int erase_line;     /* stderr is a terminal: a note first erases the status line */
};

/* cli_sampler_env — fill CFG's settings that come from the environment
 * and the terminal: GILSCOPE_STOP_ALL=1 (stop_all), and its notes, shown
 * on stderr as NOTES (filled here; it must outlive the run) says: the
 * status line when STATUS_LINE and stderr is a terminal, the statistics
 * line with GILSCOPE_STATS=1, and one line for each other note. */
void cli_sampler_env(struct sampler_config *cfg, struct cli_notes *notes, int status_line);

/* cli_peak_rss_stats — with GILSCOPE_STATS=1, one line "gilscope-peak:
 * rss_kb=N" on stderr: this process's peak resident set (VmHWM), for
 * bench/run. The wait status's ru_maxrss cannot stand in for it: it also
 * counts what the process held before exec, a copy of its parent. */
void cli_peak_rss_stats(void);

/* cli_warn_priority — one line on stderr, once per run, when the sampler
 * could not take its priority (STATS->nice_error), saying what it needs. */
void cli_warn_priority(const struct sampler_stats *stats);

/* cli_warn_merge_errors — with --native, one line on stderr when some
 * thread stacks could not be merged: how many, of how many, and why. */
void cli_warn_merge_errors(const struct session *s);

/* cli_warn_unknown_states — one warning line when some thread's run state
 * could not be read during S (then it counted as idle), with the likely
 * fix. Prints nothing otherwise. */
void cli_warn_unknown_states(const struct session *s);

/* cli_build_desc — how interpreter PI (memory M) was built, for headers and
 * summaries: "" for a GIL build, else "free-threaded, GIL disabled",
 * "free-threaded, GIL enabled" (re-enabled at run time), or
 * "free-threaded" when that cannot be read. Writes BUF (LEN bytes) and
 * returns it. */
const char *cli_build_desc(const struct pyinterp *pi, struct proc_mem *m, char *buf, size_t len);

/* cli_stop_flag — install SIGINT/SIGTERM/SIGHUP handlers that set and return
 * a flag (no SA_RESTART, so sleeps wake up). SIGPIPE is ignored. */
volatile sig_atomic_t *cli_stop_flag(void);

/* cli_suspend_flag — install SIGTSTP/SIGTTIN/SIGTTOU handlers and return
 * the flag for struct sampler_config's suspend: while the sampler holds a
 * target, a stop signal makes it let the target go, then stop this
 * process (SIGSTOP); on SIGCONT it takes the target again and samples on.
 * Otherwise the process stops at once. */
volatile sig_atomic_t *cli_suspend_flag(void);

/* cli_last_signal — the signal that set the stop flag, 0 if none. */
int cli_last_signal(void);

#define CLI_CHILD_GRACE_S 1   /* after our Ctrl-C, seconds a launched program gets to end itself */

/* cli_finish_child — for a launched program, once gilscope is done with
 * it. After a stop signal (Ctrl-C, SIGTERM): let it end on its own for
 * CLI_CHILD_GRACE_S, then send it the same signal. Else with END (the
 * recording is over while it runs: -d passed, top quit): SIGTERM, and
 * SIGKILL CLI_CHILD_GRACE_S later. Then wait for its exit (its status lands
 * in T); a program that does not exit is waited for with a note on stderr,
 * and killed (SIGKILL) on the next stop signal. No effect on an attached
 * target. Returns 1 when gilscope ended the program itself (END), else 0. */
int cli_finish_child(struct target *t, volatile sig_atomic_t *stop, int end);

/* cli_parse_target — cliopt_parse (see there) for a subcommand that attaches
 * to the process -p names (FN stores it in *PID) or launches the command
 * that follows the options (into *COMMAND; NULL when none). Exactly one of
 * the two is needed: else it prints "give either -p PID or a command, not
 * both" or "NAME needs -p PID or a command after --" (NAME: CMD's) and
 * returns EXIT_USAGE. Otherwise returns what cliopt_parse did, RES filled
 * when that is 0. */
int cli_parse_target(const struct cliopt_cmd *cmd, int argc, char **argv, cliopt_fn fn, void *ctx,
                     const pid_t *pid, char ***command, struct cliopt_result *res);

/* cli_parse_pid — parse a PID argument; returns it, or -1 if not a positive integer. */
pid_t cli_parse_pid(const char *s);

/* cli_parse_number — parse S as a number in [MIN, MAX] into OUT; 0, or -1
 * (OUT untouched) when it is not one or out of range. */
int cli_parse_number(const char *s, double min, double max, double *out);

/* Option values shared by the subcommands: each parses ARG into OUT, or
 * prints the one-line error and returns EXIT_USAGE. */
int cli_opt_pid(const char *arg, pid_t *out);          /* -p: a positive PID */
int cli_opt_rate(const char *arg, double *out);        /* -r: 0.1 to 100000 Hz */
int cli_opt_duration(const char *arg, double *out);    /* -d: seconds, or "unlimited" (0) */

/* cli_native_check — py-spy's refusal of --native with --nonblocking: prints
 * its message and returns EXIT_ERROR when both are set, else 0. */
int cli_native_check(int native, int nonblocking);

/* cli_check_output — refuse early an output PATH that cannot be written
 * (a directory, no write permission, a missing directory), so that no
 * recording is lost at the end: prints the one-line error and returns -1;
 * 0 when it looks writable. */
int cli_check_output(const char *path);

/* cli_color_stdout — 1 when standard output may get colours: a terminal
 * (a person), not TERM=dumb, and never against NO_COLOR (no-color.org). */
int cli_color_stdout(void);

/* cli_error — print "gilscope: MESSAGE" as one line on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The subcommands: each returns the process exit code. */
int cli_record(int argc, char **argv);
int cli_dump(int argc, char **argv);
int cli_flamegraph(int argc, char **argv);
int cli_top(int argc, char **argv);
int cli_gil(int argc, char **argv);
/* cli_completions — `gilscope completions bash|zsh|fish`: print a completion script. */
int cli_completions(int argc, char **argv);

/* Each subcommand's option table and help (in its own file), and the top
 * level's (-h, -V; in cli_commands.c). */
extern const struct cliopt_cmd cli_record_cmd, cli_dump_cmd, cli_gil_cmd, cli_flamegraph_cmd, cli_top_cmd,
    cli_completions_cmd, cli_main_cmd;

/* Table entries (struct cliopt initializers) for the options several
 * subcommands share with one meaning, as py-spy shares them; HELP where the
 * wording is the subcommand's own. */
#define CLI_OPT_PID(HELP) \
    { .name = "pid", .short_name = 'p', .arg = CLIOPT_PID, .value_name = "PID", .help = HELP }
#define CLI_OPT_RATE \
    { .name = "rate", .short_name = 'r', .arg = CLIOPT_VALUE, .value_name = "HZ", \
      .help = "samples per second (default 100)" }
#define CLI_OPT_DURATION(HELP) \
    { .name = "duration", .short_name = 'd', .arg = CLIOPT_VALUE, .value_name = "SECS", .help = HELP, \
      .brief = "stop after this many seconds" }
#define CLI_OPT_SUBPROCESSES(HELP) \
    { .name = "subprocesses", .short_name = 's', .help = HELP }
#define CLI_OPT_NATIVE \
    { .name = "native", .short_name = 'n', .help = "native frames (C, C++, Cython) too; implies blocking mode" , \
      .brief = "native frames (C, C++, Cython) too" }
#define CLI_OPT_NATIVE_ALL_FRAMES \
    { .name = "native-all-frames", \
      .help = "with --native, keep the interpreter's own frames between Python frames", \
      .brief = "keep the interpreter's frames between Python frames" }
#define CLI_OPT_NO_PRIORITY \
    { .name = "no-priority", \
      .help = "do not raise gilscope's scheduling priority while it samples\n" \
              "(by default it takes nice -20 when root or CAP_SYS_NICE allow)", \
      .brief = "do not raise the sampling priority" }
#define CLI_OPT_NONBLOCKING \
    { .name = "nonblocking", .help = "never pause the target (faster, may tear stacks)", \
      .brief = "never pause the target" }
#define CLI_OPT_FULL_FILENAMES \
    { .name = "full-filenames", .help = "show whole paths instead of package-relative ones", \
      .brief = "whole paths, not package-relative ones" }

/* cli_commands — every subcommand, in the order help lists them; ends with NULL. */
extern const struct cliopt_cmd *const cli_commands[];

/* cli_find_command — the subcommand NAME names, exactly or as a unique
 * prefix (`gilscope r` is record, as in py-spy). NULL when none; *AMBIGUOUS
 * is set when several start with NAME. */
const struct cliopt_cmd *cli_find_command(const char *name, int *ambiguous);

#endif
