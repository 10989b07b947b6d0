/*
 * ptrace_ctl — pause and resume every thread of a target with PTRACE_SEIZE /
 * PTRACE_INTERRUPT, without ever leaving it stopped.
 *
 * Threads are seized once (ptctl_attach); threads started since are seized
 * by the next pause, so that starting one never waits for the profiler.
 * Each sample calls ptctl_pause, reads the target,
 * may ptctl_release the stopped threads, calls ptctl_settle (reading again
 * the threads it names), then ptctl_resume.
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
 * The target keeps running. A main thread that has exited already (a
 * zombie while the other threads run) is left out: the process is held
 * through its live threads, and the end of the last one is its exit (with
 * no exit status: that is the parent's). Free with ptctl_detach. */
struct ptctl *ptctl_attach(pid_t pid, int *errnum, char *err, size_t errlen);

/* ptctl_pause — hold every thread still: PTRACE_INTERRUPT and wait for the
 * stop of each thread that may be running, while a thread found asleep in
 * the kernel (off its CPU, in a system call or a fault) is left alone and
 * watched; ptctl_settle then tells whether it stayed asleep. Handles
 * threads created or exited since the last call. Returns 0 when every live
 * thread is stopped or asleep, -ESRCH when the whole process has exited
 * (then *EXIT_STATUS, if not NULL, is its wait status if known or -1),
 * -ENOEXEC once a thread has run another program (exec; every thread is
 * resumed, and every later pause says the same: what runs now is not
 * the program that was attached), other negative errno on failure
 * (threads are resumed before returning).
 * A thread in uninterruptible sleep (state D) is not waited for: it is
 * interrupted and held as it is, since it can run no user code before the
 * stop it then owes, which ptctl_poll / ptctl_wait reap whenever it comes. */
int ptctl_pause(struct ptctl *p, int *exit_status);

/* ptctl_release — within a pause, once what was read of the stopped
 * threads is all that is needed of them: let them go on, while the threads
 * left asleep stay watched for ptctl_settle. Returns 0, -ESRCH if the
 * process is gone or none could be resumed because all were killed
 * meanwhile (ptctl_settle then tells more), -EINVAL for a NULL P; a no-op
 * outside a pause. */
int ptctl_release(struct ptctl *p);

/* ptctl_settle — after reading the paused target: did the threads left
 * asleep by ptctl_pause run no code since? Those that ran (all of them
 * with STOP_ALL_NOW) are stopped now and listed by ptctl_woken. Returns how
 * many: 0 when the reads made since ptctl_pause saw them still; otherwise
 * what was read of those threads may be torn and must be read again (they
 * are still now), and what was read of the others stands. -ESRCH,
 * -ENOEXEC or another negative errno as ptctl_pause (on failure every
 * thread is resumed). A no-op returning 0 outside a pause. */
int ptctl_settle(struct ptctl *p, int stop_all_now, int *exit_status);

/* ptctl_woken — the ids of the threads the last ptctl_settle stopped, *N of
 * them; the array belongs to P and is valid until its next call. */
const pid_t *ptctl_woken(const struct ptctl *p, size_t *n);

/* ptctl_resume — end the pause: continue every stopped thread, delivering
 * any signal that was meant for it, and stop watching the threads left
 * asleep. Returns 0 or -ESRCH if the process is gone. */
int ptctl_resume(struct ptctl *p);

/* ptctl_poll — between samples: reap pending ptrace events (signal-delivery
 * stops that must be passed on, group-stops, exits) without pausing
 * anything. Returns 0, or -ESRCH when the whole process has exited (with
 * *EXIT_STATUS as in ptctl_pause). */
int ptctl_poll(struct ptctl *p, int *exit_status);

/* ptctl_wait — between samples, instead of sleeping: until UNTIL_NS
 * (CLOCK_MONOTONIC), or until a signal handler of the profiler runs,
 * reap every ptrace event as it comes and pass it on at once (a signal
 * for the program, an exit), so that nothing waits for the next
 * sample. Returns 0 at UNTIL_NS, -EINTR when a signal handler ran, -ESRCH
 * when the whole process has exited (with *EXIT_STATUS as in ptctl_pause). */
int ptctl_wait(struct ptctl *p, uint64_t until_ns, int *exit_status);

/* ptctl_stopped — 1 when every live thread was last seen in a group-stop
 * (the process was stopped by SIGSTOP, SIGTSTP …, and stays so: pauses do
 * not resume it), else 0. */
int ptctl_stopped(const struct ptctl *p);

/* ptctl_pause_ns — nanoseconds the last pause/resume pair held threads
 * stopped (first interrupt to release or resume, plus the stops made by
 * ptctl_settle; 0 when every thread was left asleep), for statistics. */
uint64_t ptctl_pause_ns(const struct ptctl *p);

/* ptctl_set_sleep_proofs — ON 0: stop every thread at each pause, as on a
 * kernel without scheduler statistics, instead of leaving sleeping threads
 * asleep and proving afterwards that they stayed so. (Turning them back on
 * has no effect where the kernel gives no statistics.) */
void ptctl_set_sleep_proofs(struct ptctl *p, int on);

/* ptctl_counts — totals over every pause so far, for statistics: thread
 * stops made (*STOPPED), threads left asleep through a pause (*ASLEEP),
 * and of those, how many turned out to have run, so that they were stopped
 * and read again (*WOKE). Zeros for a NULL P. */
void ptctl_counts(const struct ptctl *p, uint64_t *stopped, uint64_t *asleep, uint64_t *woke);

/* ptctl_detach — resume and detach every thread, free P. Safe with NULL.
 * Every wait in it is bounded: a thread in uninterruptible sleep is waited
 * for up to half a second after the others are detached and run (a signal
 * for the caller cuts that short); if it is still asleep it stays attached
 * until the profiler exits, when the kernel detaches it. */
void ptctl_detach(struct ptctl *p);

/* ptctl_threads — the ids of the threads currently followed (live threads
 * as of the last pause; the leader too unless it has exited), in no
 * particular order. Copies at
 * most MAX into OUT and returns how many there are, which may exceed MAX. */
size_t ptctl_threads(const struct ptctl *p, pid_t *out, size_t max);

#endif
