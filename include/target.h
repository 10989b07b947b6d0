/*
 * target — the process being profiled: started by us (launch mode) or
 * found by PID (attach mode), and its end.
 */
#ifndef GILSCOPE_TARGET_H
#define GILSCOPE_TARGET_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"
#include "pyinterp.h"

struct target {
    pid_t pid;          /* the process */
    int launched;       /* 1 when it is our child */
    int exited;         /* 1 once its end was seen */
    int wait_status;    /* its wait status once exited (launched only), else -1 */
};

/* target_launch — fork and exec ARGV[0] (searched in PATH) with the
 * profiler's stdin/stdout/stderr and environment. Returns 0, or -ENOENT /
 * -EACCES … when the command cannot be executed (ERR says which command
 * and why; the child has then already been reaped). */
int target_launch(char *const argv[], struct target *t, char *err, size_t errlen);

/* target_attach — describe an existing process. Returns 0, or -ESRCH with
 * "no process with PID N" in ERR. */
int target_attach(pid_t pid, struct target *t, char *err, size_t errlen);

/* target_find_python — locate the interpreter. For a launched target this
 * retries until it is found, the program exits (-ECHILD; ERR says the
 * program exited first) or *STOP is set (-EINTR); for an attached one it
 * tries once. Other errors as pyinterp_find. */
int target_find_python(struct target *t, struct proc_mem *m, struct pyinterp *pi,
                       volatile sig_atomic_t *stop, char *err, size_t errlen);

/* target_poll_exit — for a launched target, reap it if it has exited
 * (without blocking). Returns 1 when it has exited, 0 otherwise. For an
 * attached target, 1 when the process no longer exists. */
int target_poll_exit(struct target *t);

/* target_wait — for a launched target, wait for it to exit (retrying on
 * EINTR). No effect for an attached one. */
void target_wait(struct target *t);

/* target_exit_code — the shell-style exit code of a launched target that
 * exited: its status, or 128 + signal. 0 when unknown. */
int target_exit_code(const struct target *t);

#endif
