/* target — see include/target.h. */
#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define FIND_RETRY_NS 5000000ull     /* 5 ms between looks at a starting program */

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
    t->pid = t->child = pid;
    t->launched = 1;
    return 0;
}

int target_attach(pid_t pid, struct target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->wait_status = -1;
    struct proc_stat st;
    if (pid > 0 && !proc_exists(pid) && proc_stat_read(pid, 0, &st) == 0 && st.state == 'Z') {
        snprintf(err, errlen, "PID %d (%s) has exited: it is a zombie, left for its parent (PID %d) "
                 "to collect", (int)pid, st.comm, (int)st.ppid);
        return -ESRCH;
    }
    if (pid <= 0 || !proc_exists(pid)) {
        snprintf(err, errlen, "no process with PID %d", (int)pid);
        return -ESRCH;
    }
    if (proc_stat_read(pid, 0, &st) == 0 && (st.flags & PROC_PF_KTHREAD)) {
        snprintf(err, errlen, "PID %d (%s) is a kernel thread, not a Python process", (int)pid, st.comm);
        return PYINTERP_ENOTPYTHON;
    }
    t->pid = pid;
    return 0;
}

/* Reap CHILD if it has ended (BLOCK: wait for it). */
static void reap_child(struct target *t, int block)
{
    while (t->child && !t->child_reaped) {
        int st;
        pid_t r = waitpid(t->child, &st, block ? 0 : WNOHANG);
        if (r == t->child && (WIFEXITED(st) || WIFSIGNALED(st))) {
            t->child_reaped = 1;
            if (t->pid == t->child || t->wait_status < 0)
                t->wait_status = st;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0) {
            t->child_reaped = 1;
        }
        if (!block)
            return;
    }
}

/* Whether PID is gone: no such process, or a zombie waiting for its parent. */
static int gone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
    struct proc_stat st;
    return proc_stat_read(pid, 0, &st) != 0 || st.state == 'Z' || st.state == 'X';
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
    reap_child(t, 0);
    if (t->pid == t->child)
        t->exited = t->child_reaped;
    else
        t->exited = gone(t->pid);
    return t->exited;
}

void target_note_image(struct target *t)
{
    if (proc_stat_read(t->pid, 0, &t->image) != 0)
        memset(&t->image, 0, sizeof t->image);
}

int target_poll_exec(struct target *t)
{
    struct proc_stat now;
    /* A zombie or an exiting process shows zeros: that is no exec. */
    if (t->execd || !t->image.startstack || proc_stat_read(t->pid, 0, &now) != 0 || !now.startstack)
        return t->execd;
    t->execd = now.startstack != t->image.startstack || now.startcode != t->image.startcode;
    return t->execd;
}

void target_wait(struct target *t)
{
    if (!t->launched)
        return;
    reap_child(t, 1);
    t->exited = 1;
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

/* The processes started by ROOT, directly or not (at most MAX, nearest
 * first), from every process's parent in /proc. Returns how many. */
static size_t descendants(pid_t root, pid_t *out, size_t max)
{
    size_t n = 0, cap = 0, nall = 0;
    struct { pid_t pid, ppid; } *all = NULL;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        struct proc_stat st;
        if (proc_stat_read((pid_t)pid, 0, &st) != 0)
            continue;
        if (nall == cap) {
            cap = cap ? cap * 2 : 256;
            void *na = realloc(all, cap * sizeof *all);
            if (!na)
                break;
            all = na;
        }
        all[nall].pid = (pid_t)pid;
        all[nall++].ppid = st.ppid;
    }
    if (d)
        closedir(d);
    /* Breadth first from ROOT: OUT doubles as the queue. */
    pid_t parent = root;
    for (size_t q = 0;; q++) {
        for (size_t i = 0; i < nall && n < max; i++)
            if (all[i].ppid == parent)
                out[n++] = all[i].pid;
        if (q >= n)
            break;
        parent = out[q];
    }
    free(all);
    return n;
}

#define DESCENDANTS_MAX 64
#define FIND_SCAN_NS 50000000ull        /* a scan of /proc for new processes at most this often */
#define FIND_NOTICE_NS 2000000000ull    /* say that no Python was found after this long */

int target_find_python(struct target *t, struct proc_mem *m, struct pyinterp *pi,
                       volatile sig_atomic_t *stop, target_notice_fn notice, char *err, size_t errlen)
{
    uint64_t start = clock_mono_ns(), last_scan = 0;
    int noticed = 0;
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
        uint64_t now = clock_mono_ns();
        /* A launcher in front of Python (a shell, a wrapper): look in the
         * processes it started, nearest first. */
        if (rc == PYINTERP_ENOTPYTHON && now - last_scan >= FIND_SCAN_NS) {
            last_scan = now;
            pid_t kids[DESCENDANTS_MAX];
            size_t nk = descendants(t->child, kids, DESCENDANTS_MAX);
            for (size_t i = 0; i < nk; i++) {
                struct proc_mem km;
                if (proc_mem_open(&km, kids[i]) != 0)
                    continue;
                char kerr[256];
                int krc = pyinterp_find(kids[i], &km, pi, kerr, sizeof kerr);
                proc_mem_close(&km);
                if (krc == 0) {
                    proc_mem_close(m);
                    proc_mem_open(m, kids[i]);
                    t->pid = kids[i];
                    t->exited = 0;
                    break;
                }
            }
            if (t->pid != t->child)
                continue;   /* found in a descendant: read it through M now */
        }
        if (!noticed && notice && now - start >= FIND_NOTICE_NS) {
            noticed = 1;
            struct proc_stat st = { 0 };
            if (proc_stat_read(t->child, 0, &st) != 0)
                st.comm[0] = '\0';
            notice(t->child, st.comm);
        }
        clock_nap_ns(FIND_RETRY_NS);
    }
}
