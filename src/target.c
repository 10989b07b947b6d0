/* target — see include/target.h. */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIND_RETRY_NS 5000000L      /* 5 ms between looks at a starting program */

int target_launch(char *const argv[], struct target *t, char *err, size_t errlen)
{
    int pfd[2];
    memset(t, 0, sizeof *t);
    t->wait_status = -1;
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -errno;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        snprintf(err, errlen, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        /* Should gilscope die without a chance to end it (SIGKILL, a
         * crash), the program goes too rather than run on unobserved;
         * checked again after setting, in case gilscope died before. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        /* The child restores default signal handling, then execs; a failed
         * exec reports its errno through the close-on-exec pipe. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t wr = write(pfd[1], &e, sizeof e);
        (void)wr;
        _exit(127);
    }
    close(pfd[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(pfd[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == (ssize_t)sizeof e) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        snprintf(err, errlen, e == ENOENT ? "command not found: %s" : "cannot run %s: %s", argv[0],
                 strerror(e));
        return -e;
    }
    t->pid = pid;
    t->launched = 1;
    return 0;
}

int target_attach(pid_t pid, struct target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->wait_status = -1;
    if (pid <= 0 || !proc_exists(pid)) {
        snprintf(err, errlen, "no process with PID %d", (int)pid);
        return -ESRCH;
    }
    t->pid = pid;
    return 0;
}

int target_poll_exit(struct target *t)
{
    if (t->exited)
        return 1;
    if (!t->launched) {
        /* Cheap enough for every tick; a zombie passes, but its memory
         * no longer reads, and the sampler asks proc_exists then. */
        t->exited = kill(t->pid, 0) != 0 && errno == ESRCH;
        return t->exited;
    }
    int st;
    pid_t r = waitpid(t->pid, &st, WNOHANG);
    if (r == t->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
        t->exited = 1;
        t->wait_status = st;
    } else if (r < 0 && errno == ECHILD) {
        t->exited = 1;
    }
    return t->exited;
}

void target_wait(struct target *t)
{
    if (!t->launched || t->exited)
        return;
    for (;;) {
        int st;
        pid_t r = waitpid(t->pid, &st, 0);
        if (r == t->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
            t->exited = 1;
            t->wait_status = st;
            return;
        }
        if (r < 0 && errno != EINTR) {
            t->exited = 1;
            return;
        }
    }
}

int target_exit_code(const struct target *t)
{
    if (!t->exited || t->wait_status < 0)
        return 0;
    if (WIFEXITED(t->wait_status))
        return WEXITSTATUS(t->wait_status);
    if (WIFSIGNALED(t->wait_status))
        return 128 + WTERMSIG(t->wait_status);
    return 0;
}

int target_find_python(struct target *t, struct proc_mem *m, struct pyinterp *pi,
                       volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    for (;;) {
        int rc = pyinterp_find(t->pid, m, pi, err, errlen);
        if (rc == 0 || !t->launched)
            return rc;
        /* A starting program may not have exec'd Python, mapped libpython or
         * created its first thread yet: look again until it exits. */
        if (target_poll_exit(t)) {
            snprintf(err, errlen, "the program exited (code %d) before its Python interpreter was found",
                     target_exit_code(t));
            return -ECHILD;
        }
        /* Our own child may also be caught mid-exec or mid-exit (its exe
         * link or memory briefly unreadable): only a version we cannot read
         * is final before it has exited. */
        if (rc == PYINTERP_EVERSION)
            return rc;
        if (stop && *stop)
            return -EINTR;
        struct timespec ts = { 0, FIND_RETRY_NS };
        nanosleep(&ts, NULL);
    }
}
