/*
 * target — the process being profiled: started by us (launch mode) or
 * found by PID (attach mode), its end, and its running another program.
 */
#ifndef GILSCOPE_TARGET_H
#define GILSCOPE_TARGET_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"
#include "pyinterp.h"

struct target {
    pid_t pid;          /* the process profiled */
    pid_t child;        /* launched: the process we started (PID, or a launcher in front of
                           it: a shell, a wrapper script); 0 when attached */
    int launched;       /* 1 when we started it */
    int exited;         /* 1 once the end of PID was seen */
    int wait_status;    /* launched: the wait status of PID (when our child) or CHILD, else -1 */
    int child_reaped;   /* launched: CHILD has been waited for */
    struct proc_stat image; /* PID's stat when target_note_image looked: its code and stack */
    int execd;          /* 1 once PID was seen to run a new program (exec) */
};

/* Called by target_find_python once, when a launched program has run a
 * while without any Python in it or in the processes it started. */
typedef void (*target_notice_fn)(pid_t pid, const char *comm);

/* target_launch — fork and exec ARGV[0] (searched in PATH) with the
 * profiler's stdin/stdout/stderr and environment. Returns 0, or -ENOENT /
 * -EACCES … when the command cannot be executed (ERR says which command
 * and why; the child has then already been reaped). */
int target_launch(char *const argv[], struct target *t, char *err, size_t errlen);

/* target_attach — describe an existing process. Returns 0, or -ESRCH with
 * "no process with PID N" in ERR. */
int target_attach(pid_t pid, struct target *t, char *err, size_t errlen);

/* target_find_python — locate the interpreter. For a launched target this
 * retries until it is found in the program or in any process it started
 * (a launcher in front of Python: `sh -c "python app.py"`, a wrapper
 * script) — T->pid then becomes that process and M is reopened on it —,
 * until the program exits (-ECHILD; ERR says the program exited first) or
 * *STOP is set (-EINTR); NOTICE (may be NULL) is called once if none has
 * Python after a couple of seconds. For an attached target it tries once.
 * Other errors as pyinterp_find. */
int target_find_python(struct target *t, struct proc_mem *m, struct pyinterp *pi,
                       volatile sig_atomic_t *stop, target_notice_fn notice, char *err, size_t errlen);

/* target_poll_exit — for a launched target, reap it if it has exited
 * (without blocking). Returns 1 when it has exited, 0 otherwise. For an
 * attached target, 1 when the process no longer exists. */
int target_poll_exit(struct target *t);

/* target_note_image — remember which program image PID runs (where its
 * code and stack are), for target_poll_exec. */
void target_note_image(struct target *t);

/* target_poll_exec — 1 when PID now runs another program image than at
 * target_note_image: it called exec (then T->execd is set), and what was
 * read of the old interpreter no longer holds. 0 otherwise, and when it
 * cannot tell: the process gone, the addresses hidden, or (address
 * randomisation off) the same program exec'd again at the same places. */
int target_poll_exec(struct target *t);

/* target_wait — for a launched target, wait for it to exit (retrying on
 * EINTR). No effect for an attached one. */
void target_wait(struct target *t);

/* target_exit_code — the shell-style exit code of a launched target that
 * exited: its status, or 128 + signal. 0 when unknown. */
int target_exit_code(const struct target *t);

#endif
