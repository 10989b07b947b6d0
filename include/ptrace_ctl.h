/*
 * ptrace_ctl — pause and resume every thread of a target with PTRACE_SEIZE /
 * PTRACE_INTERRUPT, without ever leaving it stopped.
 *
 * Threads are seized once (ptctl_attach) with PTRACE_O_TRACECLONE so new
 * threads are followed; each sample calls ptctl_pause then ptctl_resume.
 * Signals that arrive for the target while we hold it are re-injected on
 * resume, so the program sees every signal it was sent. Exits are noticed
 * and the thread is forgotten. ptctl_detach detaches every thread; it is
 * safe from any state and idempotent, and must be called on every exit path
 * (it is also what a SIGINT/SIGTERM handler path should reach).
 *
 * All calls on one handle must come from the thread that called
 * ptctl_attach: the kernel ties a tracee to one tracer thread. While
 * attached, nothing else in the process may waitpid() the target: that
 * would take ptrace reports meant for this module. For a target the
 * profiler launched, ptctl_pause/ptctl_poll reap it and hand back its
 * exit status.
 */
#ifndef GILSCOPE_PTRACE_CTL_H
#define GILSCOPE_PTRACE_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ptctl;           /* opaque; one per target process */

/* ptctl_attach — seize every thread of PID. Returns a handle or NULL with a
 * one-line reason in ERR (ERRLEN bytes) and *ERRNUM = -errno (EPERM explains
 * CAP_SYS_PTRACE / kernel.yama.ptrace_scope in ERR; ESRCH: no such process).
 * The target keeps running. Free with ptctl_detach. */
struct ptctl *ptctl_attach(pid_t pid, int *errnum, char *err, size_t errlen);

/* ptctl_pause — stop every thread (PTRACE_INTERRUPT, then wait for each
 * stop). Handles threads created or exited since the last call. Returns 0
 * when all live threads are stopped, -ESRCH when the whole process has
 * exited (then *EXIT_STATUS, if not NULL, is its wait status if known or -1),
 * other negative errno on failure (threads are resumed before returning). */
int ptctl_pause(struct ptctl *p, int *exit_status);

/* ptctl_resume — continue every stopped thread, delivering any signal that
 * was meant for it. Returns 0 or -ESRCH if the process is gone. */
int ptctl_resume(struct ptctl *p);

/* ptctl_poll — between samples: reap pending ptrace events (new threads,
 * signal-delivery stops that must be passed on, exits) without pausing
 * anything. Returns 0, or -ESRCH when the whole process has exited (with
 * *EXIT_STATUS as in ptctl_pause). */
int ptctl_poll(struct ptctl *p, int *exit_status);

/* ptctl_pause_ns — nanoseconds the last pause/resume pair held the target
 * (first interrupt to last resume), for statistics. */
uint64_t ptctl_pause_ns(const struct ptctl *p);

/* ptctl_detach — resume and detach every thread, free P. Safe with NULL. */
void ptctl_detach(struct ptctl *p);

/* ptctl_threads — the ids of the threads currently followed (live threads;
 * the leader too unless it has exited), in no particular order. Copies at
 * most MAX into OUT and returns how many there are, which may exceed MAX. */
size_t ptctl_threads(const struct ptctl *p, pid_t *out, size_t max);

#endif
