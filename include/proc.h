/*
 * proc — access to another process: its memory, its maps and its threads,
 * through /proc and process_vm_readv. Knows nothing of Python.
 *
 * Every function returns 0 or a negative errno-style code unless stated;
 * nothing here writes to the target.
 */
#ifndef GILSCOPE_PROC_H
#define GILSCOPE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_tasks;

/* Where a target's memory comes from when it is not a live process (a
 * core file): READ copies LEN bytes at ADDR into BUF, all or nothing (0 or
 * -EFAULT); TASKS lists the target's thread ids as proc_tasks_list does.
 * CTX is passed to both. */
struct proc_mem_source {
    int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
    int (*tasks)(void *ctx, struct proc_tasks *out);
    void *ctx;
};

/* A handle on a target's memory. Plain struct; fields are read-only to callers. */
struct proc_mem {
    pid_t pid;          /* target process */
    int mem_fd;         /* /proc/PID/mem, opened lazily when process_vm_readv is refused; -1 if not open */
    int vm_readv_ok;    /* 1 until process_vm_readv fails with ENOSYS/EPERM, then reads use mem_fd */
    uint64_t reads;     /* number of read system calls made (for benchmarks) */
    struct proc_mem_source src; /* src.read non-NULL: reads go there, not to the process */
};

/* What a permission error says about containers, where the capability
 * to read another process must be granted to the container. */
#define PROC_CONTAINER_HINT                                                                        \
    "in a container: docker run --cap-add SYS_PTRACE; Kubernetes: "                                \
    "securityContext.capabilities.add: [\"SYS_PTRACE\"]"

/* proc_mem_open — prepare to read PID's memory. Never fails for a live pid
 * (permission problems surface on the first read). Returns 0 or -ESRCH. */
int proc_mem_open(struct proc_mem *m, pid_t pid);

/* proc_mem_open_source — prepare to read the memory of a target that is
 * no process (a core file) through SRC; PID is only kept in M->pid. Never
 * fails. Every reader of M (proc_mem_read, _readv, _tasks) then asks SRC. */
void proc_mem_open_source(struct proc_mem *m, pid_t pid, const struct proc_mem_source *src);

/* proc_mem_read — copy LEN bytes at remote ADDR into BUF. A short read is an
 * error (-EFAULT). Returns 0, -EFAULT (unmapped / short), -EPERM / -EACCES
 * (not allowed), -ESRCH (gone). LEN 0 succeeds. */
int proc_mem_read(struct proc_mem *m, uint64_t addr, void *buf, size_t len);

/* One range of a batched read. */
struct proc_iov {
    uint64_t addr;      /* remote address */
    void *buf;          /* local destination */
    size_t len;         /* bytes wanted */
};

/* proc_mem_readv — read N ranges with as few system calls as possible.
 * All-or-nothing: returns 0 only if every range was read completely. */
int proc_mem_readv(struct proc_mem *m, const struct proc_iov *iov, size_t n);

/* proc_mem_close — release the fd, if any. Safe to call twice. */
void proc_mem_close(struct proc_mem *m);

/* One line of /proc/PID/maps. */
struct proc_map {
    uint64_t start;     /* first address */
    uint64_t end;       /* one past the last address */
    uint64_t offset;    /* file offset of START */
    char perms[5];      /* "r-xp" etc., NUL-terminated */
    char path[4096];    /* mapped file or pseudo name ("[heap]"), "" if anonymous; " (deleted)" kept */
};

/* A parsed maps file. Owned by the caller; free with proc_maps_free. */
struct proc_maps {
    struct proc_map *v; /* entries in file order */
    size_t n;           /* number of entries */
};

/* proc_maps_parse — parse the text of a maps file (TEXT, LEN bytes, need not
 * be NUL-terminated) into OUT. Lines that do not parse are an error (-EINVAL);
 * paths may contain spaces. Returns 0, -EINVAL or -ENOMEM. */
int proc_maps_parse(const char *text, size_t len, struct proc_maps *out);

/* proc_maps_read — read and parse /proc/PID/maps. Returns 0, -ESRCH if the
 * process does not exist, -EACCES, -ENOMEM. */
int proc_maps_read(pid_t pid, struct proc_maps *out);

/* proc_maps_free — release OUT's entries; OUT is left empty. */
void proc_maps_free(struct proc_maps *out);

/* Fields of /proc/PID/task/TID/stat that the sampler uses. */
struct proc_stat {
    char comm[64];      /* thread name, as the kernel has it (may hold ')' and spaces) */
    char state;         /* 'R', 'S', 'D', 'Z', 't' … */
    pid_t ppid;         /* parent process */
    unsigned long flags;/* the kernel's PF_* flags (PROC_PF_KTHREAD: a kernel thread) */
    uint64_t utime;     /* clock ticks in user mode */
    uint64_t stime;     /* clock ticks in kernel mode */
    int cpu;            /* CPU it last ran on, -1 when the text does not say */
    long threads;       /* threads in its process (a zombie leader and threads exited
                           but not yet collected included), -1 when absent */
    uint64_t startcode; /* where the program's code and stack begin: new at each exec */
    uint64_t startstack;/* (address randomisation), 0 when hidden or absent (a zombie) */
};

#define PROC_PF_KTHREAD 0x00200000ul   /* include/linux/sched.h PF_KTHREAD */

/* proc_stat_parse — parse the text of a stat file. The name is everything
 * between the first '(' and the LAST ')'. Returns 0 or -EINVAL. */
int proc_stat_parse(const char *text, size_t len, struct proc_stat *out);

/* A set of a process's thread ids. Owned by the caller; free with proc_tasks_free. */
struct proc_tasks {
    pid_t *tid;         /* thread ids, ascending */
    size_t n;           /* count */
};

/* proc_tasks_list — list /proc/PID/task. Returns 0, -ESRCH, -ENOMEM. */
int proc_tasks_list(pid_t pid, struct proc_tasks *out);

/* proc_taskdir_open — a descriptor of the directory /proc/PID/task, for
 * proc_taskdir_count; close(2) it. -1 when the process is gone. */
int proc_taskdir_open(pid_t pid);

/* proc_taskdir_count — the process's thread count (stat's num_threads:
 * a zombie leader and threads exited but not collected included) from
 * the directory's link count, an fstat(2) without text to format: 2
 * plus the threads. -1 when it cannot be read. */
long proc_taskdir_count(int fd);

/* proc_mem_tasks — the thread ids of M's target, as proc_tasks_list
 * (through its source for a target that is no process). */
int proc_mem_tasks(struct proc_mem *m, struct proc_tasks *out);

/* proc_tasks_free — release OUT; OUT is left empty. */
void proc_tasks_free(struct proc_tasks *out);

/*
 * Per-thread stat readers that keep their descriptor open between samples,
 * so a sample costs one pread per thread rather than open/read/close.
 */
struct proc_statfd;     /* opaque */

/* proc_statfd_open — a reader for /proc/PID/task/TID/stat. Returns NULL if
 * the thread is gone (errno set). Free with proc_statfd_close. */
struct proc_statfd *proc_statfd_open(pid_t pid, pid_t tid);

/* proc_statfd_read — re-read and parse the thread's stat. Returns 0, -ESRCH
 * when the thread has exited, -EINVAL on unparseable text. */
int proc_statfd_read(struct proc_statfd *s, struct proc_stat *out);

/* proc_statfd_close — close and free S (NULL is fine). */
void proc_statfd_close(struct proc_statfd *s);

/* proc_syscall_parse — parse /proc/PID/task/TID/syscall: *NR is the number
 * of the system call the thread is in, -1 when it is off CPU in user space
 * (stopped, or a page fault), -2 when it is running (the file says more only
 * of a thread that is not running). ARGS (may be NULL) gets the call's
 * first two arguments (a futex's address and operation), 0 when not in a
 * call or not given. Returns 0, -ESRCH for the text of a thread that has
 * exited ("-1 0x0 0x0": no stack, as a zombie main thread shows while the
 * others run), or -EINVAL. */
int proc_syscall_parse(const char *text, size_t len, long *nr, uint64_t args[2]);

/* A kept-open reader of /proc/PID/task/TID/syscall, like proc_statfd. It
 * tells a ptrace-stopped thread that was blocked in the kernel (idle) from
 * one that was running code, which the stat state cannot once the thread
 * is stopped. Free with proc_syscallfd_close. NULL if the thread is gone. */
struct proc_syscallfd;
struct proc_syscallfd *proc_syscallfd_open(pid_t pid, pid_t tid);

/* proc_syscallfd_read — as proc_syscall_parse, from the file. Returns 0,
 * -ESRCH when the thread has exited, -EINVAL. */
int proc_syscallfd_read(struct proc_syscallfd *s, long *nr, uint64_t args[2]);

/* proc_syscallfd_close — close and free S (NULL is fine). */
void proc_syscallfd_close(struct proc_syscallfd *s);

/* A thread's scheduler counters, from /proc/PID/task/TID/schedstat. */
struct proc_schedstat {
    uint64_t run_ns;    /* time spent on a CPU */
    uint64_t wait_ns;   /* time spent runnable, waiting for a CPU */
    uint64_t slices;    /* how many times it was put on a CPU */
};

/* proc_schedstat_parse — parse the text of a schedstat file (three decimal
 * numbers). Returns 0 or -EINVAL. A kernel without scheduler statistics
 * writes zeros, which parse. */
int proc_schedstat_parse(const char *text, size_t len, struct proc_schedstat *out);

/* A kept-open reader of /proc/PID/task/TID/schedstat, like proc_statfd.
 * Its counters only grow while the thread runs, which is how ptrace_ctl
 * proves that a thread it did not stop stayed asleep. Free with
 * proc_schedfd_close. NULL (errno set) if the file cannot be opened. */
struct proc_schedfd;
struct proc_schedfd *proc_schedfd_open(pid_t pid, pid_t tid);

/* proc_schedfd_read — re-read the counters. Returns 0, -ESRCH when the
 * thread has exited, -EINVAL. */
int proc_schedfd_read(struct proc_schedfd *s, struct proc_schedstat *out);

/* proc_schedfd_close — close and free S (NULL is fine). */
void proc_schedfd_close(struct proc_schedfd *s);

/* proc_raise_fd_limit — raise this process's soft limit on open files to
 * its hard limit (at most 1M), for the kept-open readers above: a target
 * with thousands of threads needs up to four descriptors per thread. Best
 * effort; a reader that cannot be opened degrades on its own. Call it
 * after any child that must keep the old limit has been forked. */
void proc_raise_fd_limit(void);

/* proc_fd_budget — how many descriptors one user of kept-open readers may
 * hold: 1/SHARE of the open-files limit as it is now, so that the users
 * together leave room for reads that open and close a file each time
 * (4096 when there is no limit). */
size_t proc_fd_budget(unsigned share);

/* proc_exists — 1 if PID is a live (non-zombie) process, 0 otherwise. */
int proc_exists(pid_t pid);

/* proc_stat_read — parse /proc/PID/stat (TID 0) or /proc/PID/task/TID/stat
 * into OUT. Returns 0, or a negative errno (-ENOENT: no such process). */
int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *out);

/* proc_live_tid — a thread of PID that can stand for the process in /proc
 * reads (maps, exe, root) and memory reads: PID itself, or, when its main
 * thread has exited (a zombie leader, the other threads running on), the
 * first live thread. PID when none is found. */
pid_t proc_live_tid(pid_t pid);

/* proc_root_path — "/proc/PID/root" + PATH into OUT (OUTLEN bytes), so files
 * are opened as the target sees them (containers). Returns 0 or -ENAMETOOLONG. */
int proc_root_path(pid_t pid, const char *path, char *out, size_t outlen);

/* proc_exe_path — the target's executable as the target sees it (readlink of
 * /proc/PID/exe, " (deleted)" stripped). Returns 0 or negative errno. */
int proc_exe_path(pid_t pid, char *out, size_t outlen);

/* proc_status_int — the integer after KEY (a whole field name with its colon,
 * e.g. "TracerPid:" or "Tgid:") in /proc/PID/task/TID/status, or in
 * /proc/PID/status when TID is 0. Returns 0, -ESRCH (no such process or
 * thread), -ENOENT (no such field), -EINVAL (field is not an integer). */
int proc_status_int(pid_t pid, pid_t tid, const char *key, long *out);

/* proc_status_parse — the parser behind proc_status_int: the integer after
 * KEY at the start of a line of a status file's text (TEXT, LEN bytes, need
 * not be NUL-terminated). Returns 0, -ENOENT (no such field) or -EINVAL
 * (field is not an integer, or out of range of a long). */
int proc_status_parse(const char *text, size_t len, const char *key, long *out);

/* proc_nspid_parse — the "NSpid:" line of a status file's text (TEXT, LEN
 * bytes, need not be NUL-terminated): the thread's id in every PID
 * namespace it belongs to, from the one this /proc belongs to down to its
 * own. *OUTER gets the first (the number this /proc uses), *INNER the last
 * (the number the thread itself, and its Python, knows). Returns how many
 * there are (1: the thread lives in this /proc's namespace), -ENOENT (no
 * such line: a kernel before 4.1) or -EINVAL. */
int proc_nspid_parse(const char *text, size_t len, pid_t *outer, pid_t *inner);

/* proc_nspid — proc_nspid_parse of /proc/PID/task/TID/status, or of
 * /proc/PID/status when TID is 0. Also -ESRCH (no such process or thread). */
int proc_nspid(pid_t pid, pid_t tid, pid_t *outer, pid_t *inner);

#endif
