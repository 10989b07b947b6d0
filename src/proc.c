/*
 * proc — reading another process through /proc and process_vm_readv.
 * See include/proc.h for the contract.
 *
 * Files under /proc/PID are opened relative to a descriptor of /proc/PID
 * itself: once that directory is open, a recycled PID cannot redirect a
 * later openat to an unrelated process (the stale directory fails instead).
 */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The kernel refuses more than UIO_MAXIOV (1024) iovecs per process_vm_readv. */
enum { PROC_VM_IOV_MAX = 1024 };

/* The kernel silently caps one read/process_vm_readv at MAX_RW_COUNT
 * (INT_MAX rounded down to a page); staying at 1 GiB per call keeps a capped
 * transfer from being mistaken for an unmapped range. */
static const size_t proc_vm_chunk_max = (size_t)1 << 30;

/* Room for the fields of a stat file up to stime (pid, a comm of at most 64
 * bytes, then 13 numbers); the rest of the line is not needed. */
enum { PROC_STAT_BUF = 1024 };

/* First allocation for a maps file; doubled while the file does not fit. */
enum { PROC_MAPS_BUF0 = 64 * 1024 };

/* Room for a status file; real ones are about 1.5 KiB. */
enum { PROC_STATUS_BUF = 8192 };

static const char deleted_suffix[] = " (deleted)";

/* ------------------------------------------------------------------ */
/* /proc access                                                        */

/* A file inside /proc/PID that is missing means the process (or thread)
 * is gone, so ENOENT is reported as ESRCH to callers. */
static int proc_errno(int e)
{
    return e == ENOENT ? -ESRCH : -e;
}

/* Open /proc/PID as a directory. Returns an fd or a negative errno. */
static int pid_dir_open(pid_t pid)
{
    char path[32];

    if (pid <= 0)
        return -ESRCH;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? proc_errno(errno) : fd;
}

/* Open REL (e.g. "maps", "task/12/stat") below /proc/PID. Returns an fd or
 * a negative errno. */
static int pid_file_open(pid_t pid, const char *rel, int flags)
{
    int dir = pid_dir_open(pid);
    if (dir < 0)
        return dir;
    int fd = openat(dir, rel, flags | O_CLOEXEC);
    int e = errno;
    close(dir);
    return fd < 0 ? proc_errno(e) : fd;
}

/* Read a small /proc file from offset 0 into BUF (CAP bytes, one byte kept
 * for a terminating NUL). Returns the length or a negative errno; an empty
 * file means the task has gone. */
static ssize_t small_pread(int fd, char *buf, size_t cap)
{
    ssize_t n;

    do
        n = pread(fd, buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return proc_errno(errno);
    if (n == 0)
        return -ESRCH;
    buf[n] = '\0';
    return n;
}

/* ------------------------------------------------------------------ */
/* memory                                                              */

int proc_mem_open(struct proc_mem *m, pid_t pid)
{
    m->pid = pid;
    m->mem_fd = -1;
    m->vm_readv_ok = 1;
    m->reads = 0;
    m->src = (struct proc_mem_source){ 0 };
    if (pid <= 0)
        return -ESRCH;
    /* EPERM still means the process exists; permission problems are
     * reported by the first read, as the contract says. */
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return -ESRCH;
    return 0;
}

void proc_mem_open_source(struct proc_mem *m, pid_t pid, const struct proc_mem_source *src)
{
    m->pid = pid;
    m->mem_fd = -1;
    m->vm_readv_ok = 0;
    m->reads = 0;
    m->src = *src;
}

void proc_mem_close(struct proc_mem *m)
{
    if (m->mem_fd >= 0)
        close(m->mem_fd);
    m->mem_fd = -1;
}

/* Batched process_vm_readv. Ranges are cut into pieces of at most
 * proc_vm_chunk_max bytes and sent PROC_VM_IOV_MAX pieces per call. */
static int readv_vm(struct proc_mem *m, const struct proc_iov *iov, size_t n)
{
    struct iovec local[PROC_VM_IOV_MAX], remote[PROC_VM_IOV_MAX];
    size_t i = 0, off = 0;

    while (i < n) {
        size_t k = 0, total = 0;

        while (i < n && k < PROC_VM_IOV_MAX && total < proc_vm_chunk_max) {
            size_t left = iov[i].len - off;
            if (left == 0) {
                i++;
                off = 0;
                continue;
            }
            size_t take = left < proc_vm_chunk_max - total ? left : proc_vm_chunk_max - total;
            local[k].iov_base = (char *)iov[i].buf + off;
            local[k].iov_len = take;
            remote[k].iov_base = (void *)(uintptr_t)(iov[i].addr + off);
            remote[k].iov_len = take;
            k++;
            total += take;
            off += take;
            if (off == iov[i].len) {
                i++;
                off = 0;
            }
        }
        if (k == 0)
            break;

        ssize_t r;
        do {
            r = process_vm_readv(m->pid, local, k, remote, k, 0);
            m->reads++;
        } while (r < 0 && errno == EINTR);
        /* A process without memory (gone, or a zombie) is ESRCH here. */
        if (r < 0)
            return -errno;
        /* The kernel stops at the first unreadable page and reports what
         * it copied; all-or-nothing means that is a failure. */
        if ((size_t)r != total)
            return -EFAULT;
    }
    return 0;
}

/* Fallback through /proc/PID/mem: one pread per range (more if the kernel
 * returns short counts). The file is opened on first use and kept open. */
static int readv_memfd(struct proc_mem *m, const struct proc_iov *iov, size_t n)
{
    if (m->mem_fd < 0) {
        int fd = pid_file_open(m->pid, "mem", O_RDONLY);
        if (fd < 0)
            return fd;
        m->mem_fd = fd;
    }
    for (size_t i = 0; i < n; i++) {
        size_t done = 0;

        while (done < iov[i].len) {
            /* /proc/PID/mem takes offsets as unsigned, so addresses above
             * 2^63 survive the trip through a negative off_t. */
            off_t pos = (off_t)(iov[i].addr + done);
            ssize_t r = pread(m->mem_fd, (char *)iov[i].buf + done, iov[i].len - done, pos);
            m->reads++;
            if (r < 0 && errno == EINTR)
                continue;
            /* EIO is how /proc/PID/mem says "not mapped". */
            if (r < 0)
                return errno == EIO ? -EFAULT : -errno;
            /* Nothing at all: the process has lost its memory (exited), or
             * the range runs past the end of the address space. */
            if (r == 0)
                return proc_exists(m->pid) ? -EFAULT : -ESRCH;
            done += (size_t)r;
        }
    }
    return 0;
}

int proc_mem_readv(struct proc_mem *m, const struct proc_iov *iov, size_t n)
{
    if (n == 0)
        return 0;
    if (m->src.read) {
        for (size_t i = 0; i < n; i++) {
            m->reads++;
            int r = m->src.read(m->src.ctx, iov[i].addr, iov[i].buf, iov[i].len);
            if (r != 0)
                return r;
        }
        return 0;
    }
    if (m->vm_readv_ok) {
        int r = readv_vm(m, iov, n);
        if (r != -ENOSYS && r != -EPERM)
            return r;
        /* process_vm_readv is missing or filtered (seccomp in containers
         * answers EPERM or ENOSYS); /proc/PID/mem may still be allowed. */
        m->vm_readv_ok = 0;
    }
    return readv_memfd(m, iov, n);
}

int proc_mem_read(struct proc_mem *m, uint64_t addr, void *buf, size_t len)
{
    struct proc_iov one = { .addr = addr, .buf = buf, .len = len };
    return proc_mem_readv(m, &one, 1);
}

/* ------------------------------------------------------------------ */
/* maps                                                                */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse a non-empty hex number at *P (before END); fail on overflow. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int d;

    while (s < end && (d = hex_digit(*s)) >= 0) {
        if (v > UINT64_MAX >> 4)
            return -EINVAL;
        v = v << 4 | (uint64_t)d;
        s++;
    }
    if (s == *p)
        return -EINVAL;
    *p = s;
    *out = v;
    return 0;
}

/* Parse a non-empty unsigned decimal number at *P (before END); fail on overflow. */
static int parse_dec(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
        s++;
    }
    if (s == *p)
        return -EINVAL;
    *p = s;
    *out = v;
    return 0;
}

/* Skip one or more spaces; fail if there is none (fields must be separated). */
static int skip_spaces(const char **p, const char *end)
{
    const char *s = *p;

    while (s < end && *s == ' ')
        s++;
    if (s == *p)
        return -EINVAL;
    *p = s;
    return 0;
}

/* Copy the path [S, E) into OUT (OUTLEN bytes, NUL-terminated). A path too
 * long for OUT is cut, but a " (deleted)" suffix is kept so callers still
 * know not to open the file. */
static void copy_path(char *out, size_t outlen, const char *s, const char *e)
{
    size_t len = (size_t)(e - s);
    size_t suf = sizeof deleted_suffix - 1;

    if (len < outlen) {
        memcpy(out, s, len);
        out[len] = '\0';
        return;
    }
    if (len >= suf && memcmp(e - suf, deleted_suffix, suf) == 0) {
        size_t head = outlen - 1 - suf;
        memcpy(out, s, head);
        memcpy(out + head, deleted_suffix, suf + 1);
        return;
    }
    memcpy(out, s, outlen - 1);
    out[outlen - 1] = '\0';
}

/* Parse one line [S, E) (without its newline):
 *   start-end perms offset major:minor inode [spaces path]
 * The path is everything after the padding, spaces included. */
static int parse_maps_line(const char *s, const char *e, struct proc_map *m)
{
    const char *p = s;
    uint64_t dev, inode;

    if (memchr(s, '\0', (size_t)(e - s)) != NULL)
        return -EINVAL;
    if (parse_hex(&p, e, &m->start) < 0 || p == e || *p++ != '-')
        return -EINVAL;
    if (parse_hex(&p, e, &m->end) < 0 || m->end < m->start)
        return -EINVAL;
    if (skip_spaces(&p, e) < 0 || e - p < 4)
        return -EINVAL;
    if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
        (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's'))
        return -EINVAL;
    memcpy(m->perms, p, 4);
    m->perms[4] = '\0';
    p += 4;
    if (skip_spaces(&p, e) < 0 || parse_hex(&p, e, &m->offset) < 0)
        return -EINVAL;
    if (skip_spaces(&p, e) < 0 || parse_hex(&p, e, &dev) < 0 || p == e || *p++ != ':' ||
        parse_hex(&p, e, &dev) < 0)
        return -EINVAL;
    if (skip_spaces(&p, e) < 0 || parse_dec(&p, e, &inode) < 0)
        return -EINVAL;
    if (p < e && *p != ' ')
        return -EINVAL; /* something glued to the inode number */
    while (p < e && *p == ' ')
        p++;
    copy_path(m->path, sizeof m->path, p, e);
    return 0;
}

int proc_maps_parse(const char *text, size_t len, struct proc_maps *out)
{
    const char *end = text + len;
    size_t lines = 0;

    out->v = NULL;
    out->n = 0;
    /* Count first: entries are 4 KiB each, so one exact allocation beats
     * growing and copying. A final line without '\n' counts too. */
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines++;
        p = nl ? nl + 1 : end;
    }
    if (lines == 0)
        return 0;

    struct proc_map *v = malloc(lines * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (parse_maps_line(p, e, &v[n]) < 0) {
            free(v);
            return -EINVAL;
        }
        n++;
        p = nl ? nl + 1 : end;
    }
    out->v = v;
    out->n = n;
    return 0;
}

int proc_maps_read(pid_t pid, struct proc_maps *out)
{
    out->v = NULL;
    out->n = 0;

    int fd = pid_file_open(pid, "maps", O_RDONLY);
    if (fd < 0)
        return fd == -EPERM ? -EACCES : fd;

    size_t cap = PROC_MAPS_BUF0, len = 0;
    char *buf = malloc(cap);
    int r = 0;
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                r = -ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = proc_errno(errno);
            if (r == -EPERM)
                r = -EACCES;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (r == 0) {
        /* An exited process (or a zombie) has an empty maps file. */
        if (len == 0 && !proc_exists(pid))
            r = -ESRCH;
        else
            r = proc_maps_parse(buf, len, out);
    }
    free(buf);
    return r;
}

void proc_maps_free(struct proc_maps *out)
{
    free(out->v);
    out->v = NULL;
    out->n = 0;
}

/* ------------------------------------------------------------------ */
/* stat                                                                */

/* Fields of stat are numbered from 1 (pid) as in proc(5); the ones after
 * the name start at 3. */
enum { STAT_STATE = 3, STAT_PPID = 4, STAT_FLAGS = 9, STAT_UTIME = 14, STAT_STIME = 15, STAT_THREADS = 20,
       STAT_STARTCODE = 26, STAT_STARTSTACK = 28, STAT_PROCESSOR = 39 };

int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
{
    const char *end = text + len;
    const char *p = text;
    uint64_t pid;

    /* "PID (" — the name starts at the first '(' right after the pid. */
    if (parse_dec(&p, end, &pid) < 0 || p == end || *p++ != ' ' || p == end || *p != '(')
        return -EINVAL;
    const char *name = p + 1;
    /* The name may contain anything, ')' included, so it ends at the LAST
     * ')' of the text; nothing after the name can contain one. */
    const char *rparen = memrchr(name, ')', (size_t)(end - name));
    if (rparen == NULL)
        return -EINVAL;

    struct proc_stat st;
    size_t nlen = (size_t)(rparen - name);
    if (nlen >= sizeof st.comm)
        nlen = sizeof st.comm - 1;
    memcpy(st.comm, name, nlen);
    st.comm[nlen] = '\0';

    p = rparen + 1;
    for (int field = STAT_STATE; field <= STAT_STIME; field++) {
        if (p == end || *p++ != ' ')
            return -EINVAL;
        const char *tok = p;
        while (p < end && *p != ' ' && *p != '\n' && *p != '\0')
            p++;
        if (p == tok)
            return -EINVAL;
        const char *tp = tok;
        switch (field) {
        case STAT_STATE:
            if (p - tok != 1 || !((*tok >= 'A' && *tok <= 'Z') || (*tok >= 'a' && *tok <= 'z')))
                return -EINVAL;
            st.state = *tok;
            break;
        case STAT_PPID: {
            uint64_t ppid;
            if (parse_dec(&tp, p, &ppid) < 0 || tp != p || ppid > INT32_MAX)
                return -EINVAL;
            st.ppid = (pid_t)ppid;
            break;
        }
        case STAT_FLAGS: {
            uint64_t flags;
            if (parse_dec(&tp, p, &flags) < 0 || tp != p)
                return -EINVAL;
            st.flags = (unsigned long)flags;
            break;
        }
        case STAT_UTIME:
            if (parse_dec(&tp, p, &st.utime) < 0 || tp != p)
                return -EINVAL;
            break;
        case STAT_STIME:
            if (parse_dec(&tp, p, &st.stime) < 0 || tp != p)
                return -EINVAL;
            break;
        default:
            break;
        }
    }
    /* The fields past these are hints: absent or odd, the CPU and the
     * thread count are -1 and the addresses 0. */
    st.cpu = -1;
    st.threads = -1;
    st.startcode = st.startstack = 0;
    for (int field = STAT_STIME + 1; field <= STAT_PROCESSOR && p < end && *p == ' '; field++) {
        const char *tok = ++p;
        while (p < end && *p != ' ' && *p != '\n' && *p != '\0')
            p++;
        uint64_t v;
        const char *tp = tok;
        if (parse_dec(&tp, p, &v) != 0 || tp != p)
            continue;
        if (field == STAT_PROCESSOR && v < INT_MAX)
            st.cpu = (int)v;
        else if (field == STAT_THREADS && v < LONG_MAX)
            st.threads = (long)v;
        else if (field == STAT_STARTCODE)
            st.startcode = v;
        else if (field == STAT_STARTSTACK)
            st.startstack = v;
    }
    *out = st;
    return 0;
}

struct proc_statfd {
    int fd;             /* /proc/PID/task/TID/stat, read with pread at 0 */
};

struct proc_syscallfd {
    int fd;             /* /proc/PID/task/TID/syscall, read with pread at 0 */
};

/* The kept-open readers below are structs whose first member is their
 * descriptor. A new one of SIZE bytes for /proc/PID/task/TID/NAME; NULL
 * with errno set when the file cannot be opened or memory runs out. */
static void *task_reader_open(pid_t pid, pid_t tid, const char *name, size_t size)
{
    char rel[64];
    if (tid <= 0) {
        errno = ESRCH;
        return NULL;
    }
    snprintf(rel, sizeof rel, "task/%d/%s", (int)tid, name);
    int fd = pid_file_open(pid, rel, O_RDONLY);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    int *r = malloc(size);
    if (r == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    *r = fd;
    return r;
}

/* Close and free such a reader (NULL is fine). */
static void task_reader_close(void *r)
{
    if (r == NULL)
        return;
    close(*(int *)r);
    free(r);
}

struct proc_statfd *proc_statfd_open(pid_t pid, pid_t tid)
{
    return task_reader_open(pid, tid, "stat", sizeof(struct proc_statfd));
}

int proc_statfd_read(struct proc_statfd *s, struct proc_stat *out)
{
    char buf[PROC_STAT_BUF];
    ssize_t n = small_pread(s->fd, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    return proc_stat_parse(buf, (size_t)n, out);
}

void proc_statfd_close(struct proc_statfd *s)
{
    task_reader_close(s);
}

int proc_syscall_parse(const char *text, size_t len, long *nr, uint64_t args[2])
{
    char buf[80];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (args)
        args[0] = args[1] = 0;
    if (strncmp(buf, "running", 7) == 0) {
        *nr = -2;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || end == buf || (*end != ' ' && *end != '\n' && *end != '\0') || v < -1)
        return -EINVAL;
    /* The kernel writes "-1 0x0 0x0" for a thread without a stack, one
     * that has exited (a main thread that called pthread_exit, a zombie
     * while the others run): not a thread stopped in user space. */
    if (v == -1 && strncmp(end, " 0x0 0x0", 8) == 0 && (end[8] == '\n' || end[8] == '\0'))
        return -ESRCH;
    *nr = v;
    /* "NR 0xARG0 0xARG1 …": only a call has arguments ("-1 SP PC" has none). */
    for (int k = 0; args && v >= 0 && k < 2 && *end == ' ' && end[1] == '0' && end[2] == 'x'; k++) {
        char *e2;
        errno = 0;
        unsigned long long a = strtoull(end + 3, &e2, 16);
        if (errno || e2 == end + 3 || (*e2 != ' ' && *e2 != '\n' && *e2 != '\0'))
            break;
        args[k] = a;
        end = e2;
    }
    return 0;
}

struct proc_syscallfd *proc_syscallfd_open(pid_t pid, pid_t tid)
{
    return task_reader_open(pid, tid, "syscall", sizeof(struct proc_syscallfd));
}

int proc_syscallfd_read(struct proc_syscallfd *s, long *nr, uint64_t args[2])
{
    char buf[128];
    ssize_t n = small_pread(s->fd, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    return proc_syscall_parse(buf, (size_t)n, nr, args);
}

void proc_syscallfd_close(struct proc_syscallfd *s)
{
    task_reader_close(s);
}

int proc_schedstat_parse(const char *text, size_t len, struct proc_schedstat *out)
{
    const char *p = text, *e = text + len;
    uint64_t v[3];

    for (int k = 0; k < 3; k++) {
        if (k > 0 && skip_spaces(&p, e) < 0)
            return -EINVAL;
        if (parse_dec(&p, e, &v[k]) < 0)
            return -EINVAL;
    }
    if (p < e && *p != '\n' && *p != ' ' && *p != '\0')
        return -EINVAL;
    *out = (struct proc_schedstat){ .run_ns = v[0], .wait_ns = v[1], .slices = v[2] };
    return 0;
}

struct proc_schedfd {
    int fd;             /* /proc/PID/task/TID/schedstat, read with pread at 0 */
};

struct proc_schedfd *proc_schedfd_open(pid_t pid, pid_t tid)
{
    return task_reader_open(pid, tid, "schedstat", sizeof(struct proc_schedfd));
}

int proc_schedfd_read(struct proc_schedfd *s, struct proc_schedstat *out)
{
    char buf[128];
    ssize_t n = small_pread(s->fd, buf, sizeof buf);
    if (n < 0)
        return (int)n;
    return proc_schedstat_parse(buf, (size_t)n, out);
}

void proc_schedfd_close(struct proc_schedfd *s)
{
    task_reader_close(s);
}

void proc_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want;
    setrlimit(RLIMIT_NOFILE, &rl);
}

size_t proc_fd_budget(unsigned share)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || share == 0)
        return 4096;
    return (size_t)rl.rlim_cur / share;
}

int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *out)
{
    char path[96], buf[PROC_STAT_BUF];
    if (tid)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = small_pread(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0)
        return n < 0 ? (int)n : -EINVAL;
    return proc_stat_parse(buf, (size_t)n, out);
}

/* The state letter of a thread (TID 0: the process), 0 if unreadable. */
static char task_state(pid_t pid, pid_t tid)
{
    struct proc_stat st;
    return proc_stat_read(pid, tid, &st) == 0 ? st.state : 0;
}

pid_t proc_live_tid(pid_t pid)
{
    char s = task_state(pid, 0);
    if (s != 'Z' && s != 'X')
        return pid;
    struct proc_tasks tasks = { 0 };
    pid_t live = pid;
    if (proc_tasks_list(pid, &tasks) == 0) {
        for (size_t i = 0; i < tasks.n && live == pid; i++) {
            char ts = task_state(pid, tasks.tid[i]);
            if (tasks.tid[i] != pid && ts && ts != 'Z' && ts != 'X')
                live = tasks.tid[i];
        }
        proc_tasks_free(&tasks);
    }
    return live;
}

int proc_exists(pid_t pid)
{
    char buf[PROC_STAT_BUF];
    struct proc_stat st;

    int fd = pid_file_open(pid, "stat", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = small_pread(fd, buf, sizeof buf);
    close(fd);
    if (n < 0 || proc_stat_parse(buf, (size_t)n, &st) < 0)
        return 0;
    if (st.state == 'X' || st.state == 'x')
        return 0;
    if (st.state != 'Z')
        return 1;
    /* The stat of a process is its leader's. A leader that called
     * pthread_exit is a zombie while its other threads run on; the thread
     * count, which still includes the zombie leader, tells the two apart. */
    long threads;
    return proc_status_int(pid, 0, "Threads:", &threads) == 0 && threads > 1;
}

/* ------------------------------------------------------------------ */
/* tasks                                                               */

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* A directory entry name that is a whole positive decimal number. */
static pid_t name_to_tid(const char *s)
{
    long v = 0;

    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return (pid_t)v;
}

int proc_tasks_list(pid_t pid, struct proc_tasks *out)
{
    /* getdents64 into a fixed buffer instead of opendir: no DIR allocation. */
    _Alignas(struct dirent64) char buf[8192];
    size_t n = 0, cap = 0;
    pid_t *v = NULL;
    int r = 0;

    out->tid = NULL;
    out->n = 0;
    int fd = pid_file_open(pid, "task", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fd;
    for (;;) {
        ssize_t got = getdents64(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = proc_errno(errno);
            break;
        }
        if (got == 0)
            break;
        for (ssize_t off = 0; off < got;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof reclen);
            pid_t tid = name_to_tid(buf + off + offsetof(struct dirent64, d_name));
            off += reclen;
            if (tid <= 0)
                continue; /* "." and ".." */
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                pid_t *nv = realloc(v, ncap * sizeof *nv);
                if (nv == NULL) {
                    r = -ENOMEM;
                    goto done;
                }
                v = nv;
                cap = ncap;
            }
            v[n++] = tid;
        }
    }
done:
    close(fd);
    /* A live process always has at least its leader listed. */
    if (r == 0 && n == 0)
        r = -ESRCH;
    if (r < 0) {
        free(v);
        return r;
    }
    qsort(v, n, sizeof *v, pid_cmp);
    out->tid = v;
    out->n = n;
    return 0;
}

int proc_mem_tasks(struct proc_mem *m, struct proc_tasks *out)
{
    return m->src.tasks ? m->src.tasks(m->src.ctx, out) : proc_tasks_list(m->pid, out);
}

void proc_tasks_free(struct proc_tasks *out)
{
    free(out->tid);
    out->tid = NULL;
    out->n = 0;
}

/* ------------------------------------------------------------------ */
/* paths and status                                                    */

int proc_root_path(pid_t pid, const char *path, char *out, size_t outlen)
{
    if (path == NULL)
        return -EINVAL;
    if (outlen == 0)
        return -ENAMETOOLONG;
    int n = snprintf(out, outlen, "/proc/%d/root%s%s", (int)pid, path[0] == '/' ? "" : "/", path);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -ENAMETOOLONG;
    }
    return 0;
}

int proc_exe_path(pid_t pid, char *out, size_t outlen)
{
    size_t suf = sizeof deleted_suffix - 1;

    if (outlen < 2)
        return -ENAMETOOLONG;
    int dir = pid_dir_open(pid);
    if (dir < 0)
        return dir;
    ssize_t n = readlinkat(dir, "exe", out, outlen - 1);
    int e = errno;
    close(dir);
    if (n < 0) {
        out[0] = '\0';
        /* exe is missing for kernel threads and zombies; only a vanished
         * process is ESRCH. */
        if (e == ENOENT && !proc_exists(pid))
            return -ESRCH;
        return -e;
    }
    /* readlink does not say whether it truncated; a full buffer may have. */
    if ((size_t)n == outlen - 1) {
        out[0] = '\0';
        return -ENAMETOOLONG;
    }
    out[n] = '\0';
    if ((size_t)n >= suf && memcmp(out + n - suf, deleted_suffix, suf) == 0)
        out[n - suf] = '\0';
    return 0;
}

int proc_status_parse(const char *text, size_t len, const char *key, long *out)
{
    size_t klen = strlen(key);
    const char *end = text + len;

    /* Keys are matched at line starts only, so "Pid:" cannot match inside
     * "TracerPid:". */
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *e = nl ? nl : end;
        if ((size_t)(e - line) > klen && memcmp(line, key, klen) == 0) {
            const char *p = line + klen;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            int neg = p < e && *p == '-';
            uint64_t v;
            if (neg)
                p++;
            if (parse_dec(&p, e, &v) < 0 || v > LONG_MAX)
                return -EINVAL;
            *out = neg ? -(long)v : (long)v;
            return 0;
        }
        line = nl ? nl + 1 : e;
    }
    return -ENOENT;
}

/* Read /proc/PID/task/TID/status (TID 0: /proc/PID/status) into BUF
 * (PROC_STATUS_BUF bytes). Returns its length or a negative errno. */
static ssize_t status_read(pid_t pid, pid_t tid, char *buf)
{
    char rel[48];

    if (tid > 0)
        snprintf(rel, sizeof rel, "task/%d/status", (int)tid);
    else
        snprintf(rel, sizeof rel, "status");
    int fd = pid_file_open(pid, rel, O_RDONLY);
    if (fd < 0)
        return fd;
    ssize_t n = small_pread(fd, buf, PROC_STATUS_BUF);
    close(fd);
    return n;
}

int proc_status_int(pid_t pid, pid_t tid, const char *key, long *out)
{
    char buf[PROC_STATUS_BUF];
    ssize_t n = status_read(pid, tid, buf);
    if (n < 0)
        return (int)n;
    return proc_status_parse(buf, (size_t)n, key, out);
}

int proc_nspid_parse(const char *text, size_t len, pid_t *outer, pid_t *inner)
{
    static const char key[] = "NSpid:";
    const size_t klen = sizeof key - 1;
    const char *end = text + len;

    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *e = nl ? nl : end;
        if ((size_t)(e - line) > klen && memcmp(line, key, klen) == 0) {
            int levels = 0;
            for (const char *p = line + klen;;) {
                while (p < e && (*p == ' ' || *p == '\t'))
                    p++;
                if (p == e)
                    break;
                uint64_t v;
                if (parse_dec(&p, e, &v) < 0 || v == 0 || v > INT_MAX || (p < e && *p != ' ' && *p != '\t'))
                    return -EINVAL;
                if (levels++ == 0)
                    *outer = (pid_t)v;
                *inner = (pid_t)v;
            }
            return levels > 0 ? levels : -EINVAL;
        }
        line = nl ? nl + 1 : e;
    }
    return -ENOENT;
}

int proc_nspid(pid_t pid, pid_t tid, pid_t *outer, pid_t *inner)
{
    char buf[PROC_STATUS_BUF];
    ssize_t n = status_read(pid, tid, buf);
    if (n < 0)
        return (int)n;
    return proc_nspid_parse(buf, (size_t)n, outer, inner);
}

int proc_taskdir_open(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

long proc_taskdir_count(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_nlink < 2)
        return -1;
    return (long)st.st_nlink - 2;
}
