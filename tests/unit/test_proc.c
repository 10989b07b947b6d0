/*
 * Unit tests for src/proc.c: maps and stat parsing with hostile input,
 * memory reads of our own process (process_vm_readv and, with
 * process_vm_readv filtered by seccomp, /proc/PID/mem), threads, stat
 * readers, paths, NSpid, and tidmap (src/tidmap.c): a process in our PID
 * namespace maps to itself, one in a namespace of its own (unshare(2),
 * root only) has its own thread ids mapped to ours.
 */
#include "proc.h"
#include "tidmap.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Parse a NUL-terminated maps text. */
static int parse_str(const char *text, struct proc_maps *out)
{
    return proc_maps_parse(text, strlen(text), out);
}

static int stat_str(const char *text, struct proc_stat *out)
{
    return proc_stat_parse(text, strlen(text), out);
}

/* ------------------------------------------------------------------ */
/* maps parsing                                                        */

START_TEST(maps_typical)
{
    const char *text =
        "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/python3.11\n"
        "7f2c4a000000-7f2c4a021000 rw-p 00000000 00:00 0 \n"
        "7f2c4b000000-7f2c4b100000 r--s 0001a000 fd:01 18446744073709551615 /tmp/my dir/lib with  spaces.so\n"
        "7f2c4c000000-7f2c4c001000 rw-s 00000000 00:01 2049                       /memfd:arena (deleted)\n"
        "7ffd1c0e0000-7ffd1c101000 rw-p 00000000 00:00 0                          [stack]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
    struct proc_maps m;

    ck_assert_int_eq(parse_str(text, &m), 0);
    ck_assert_uint_eq(m.n, 6);
    ck_assert_uint_eq(m.v[0].start, 0x400000);
    ck_assert_uint_eq(m.v[0].end, 0x452000);
    ck_assert_str_eq(m.v[0].perms, "r-xp");
    ck_assert_str_eq(m.v[0].path, "/usr/bin/python3.11");
    ck_assert_str_eq(m.v[1].path, "");                    /* anonymous, trailing space */
    ck_assert_uint_eq(m.v[2].offset, 0x1a000);
    ck_assert_str_eq(m.v[2].perms, "r--s");
    ck_assert_str_eq(m.v[2].path, "/tmp/my dir/lib with  spaces.so");
    ck_assert_str_eq(m.v[3].path, "/memfd:arena (deleted)");
    ck_assert_str_eq(m.v[4].path, "[stack]");
    ck_assert_uint_eq(m.v[5].start, 0xffffffffff600000ull);  /* last line has no '\n' */
    ck_assert_str_eq(m.v[5].path, "[vsyscall]");
    proc_maps_free(&m);
    ck_assert_ptr_null(m.v);
    ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(maps_empty_and_huge_numbers)
{
    struct proc_maps m;

    ck_assert_int_eq(proc_maps_parse("", 0, &m), 0);
    ck_assert_uint_eq(m.n, 0);
    proc_maps_free(&m);

    ck_assert_int_eq(parse_str("0-ffffffffffffffff rw-p ffffffffffffffff 0:0 0\n", &m), 0);
    ck_assert_uint_eq(m.v[0].end, UINT64_MAX);
    ck_assert_uint_eq(m.v[0].offset, UINT64_MAX);
    proc_maps_free(&m);
    /* Leading zeros are not an overflow. */
    ck_assert_int_eq(parse_str("00000000000000000001000-2000 r--p 0 0:0 0\n", &m), 0);
    ck_assert_uint_eq(m.v[0].start, 0x1000);
    proc_maps_free(&m);
}
END_TEST

/* Every one of these must be refused, leaving OUT empty. */
static const char *const maps_garbage[] = {
    "hello world\n",
    "\n",                                                        /* empty line */
    "1000-2000 r-xp 00000000 08:02 1 /a\n\n2000-3000 r-xp 0 0:0 0\n", /* blank line inside */
    "1000-2000 r-xp 00000000 08:02\n",                           /* no inode */
    "1000-2000 r-xp 00000000\n",                                 /* no dev */
    "1000-2000 r-xp\n",
    "1000-2000\n",
    "1000 r-xp 00000000 08:02 1 /a\n",                           /* no end */
    "1000-2000 rwxq 00000000 08:02 1 /a\n",                      /* bad perms */
    "1000-2000 r-x 00000000 08:02 1 /a\n",                       /* short perms */
    "10g0-2000 r-xp 00000000 08:02 1 /a\n",                      /* not hex */
    "2000-1000 r-xp 00000000 08:02 1 /a\n",                      /* end before start */
    "1000-2000 r-xp 10000000000000000 08:02 1 /a\n",             /* offset > 64 bits */
    "10000000000000000-20000000000000000 r-xp 0 08:02 1 /a\n",   /* address > 64 bits */
    "1000-2000 r-xp 0 08:02 18446744073709551616 /a\n",          /* inode > 64 bits */
    "1000-2000 r-xp 0 0802 1 /a\n",                              /* dev without ':' */
    "1000-2000 r-xp 0 08:02 12x /a\n",                           /* junk glued to inode */
    "1000-2000\tr-xp 0 08:02 1 /a\n",                            /* tab separator */
    "-2000 r-xp 0 08:02 1 /a\n",
    "1000-2000 r-xp 0 08:02 1 /a\n1000-2000 r-xp 0 08:02\n",      /* good line then bad */
};

START_TEST(maps_garbage_rejected)
{
    struct proc_maps m = { (struct proc_map *)&m, 99 };
    const char *text = maps_garbage[_i];

    ck_assert_msg(parse_str(text, &m) == -EINVAL, "accepted: %s", text);
    ck_assert_ptr_null(m.v);
    ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(maps_nul_and_length)
{
    struct proc_maps m;
    const char with_nul[] = "1000-2000 r-xp 0 08:02 1 /a\0b\n";
    ck_assert_int_eq(proc_maps_parse(with_nul, sizeof with_nul - 1, &m), -EINVAL);

    /* Only LEN bytes count: the garbage after them is never looked at. */
    const char *text = "1000-2000 r-xp 0 08:02 1 /lib/x.so\nGARBAGE GARBAGE";
    size_t len = strlen("1000-2000 r-xp 0 08:02 1 /lib/x.so\n");
    ck_assert_int_eq(proc_maps_parse(text, len, &m), 0);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_str_eq(m.v[0].path, "/lib/x.so");
    proc_maps_free(&m);
    /* ... even in the middle of a line: the path simply ends there. */
    ck_assert_int_eq(proc_maps_parse(text, len - 6, &m), 0);
    ck_assert_str_eq(m.v[0].path, "/lib");
    proc_maps_free(&m);
}
END_TEST

START_TEST(maps_long_path_truncated)
{
    const char *head = "1000-2000 r-xp 00000000 08:02 42 /";
    size_t plen = 10000;
    struct proc_map probe;
    char *text = malloc(strlen(head) + plen + 64);
    struct proc_maps m;

    ck_assert_ptr_nonnull(text);
    strcpy(text, head);
    memset(text + strlen(head), 'a', plen);
    strcpy(text + strlen(head) + plen, "\n");
    ck_assert_int_eq(parse_str(text, &m), 0);
    ck_assert_uint_eq(strlen(m.v[0].path), sizeof probe.path - 1);
    ck_assert_int_eq(m.v[0].path[0], '/');
    proc_maps_free(&m);

    /* A cut path keeps its " (deleted)" marker. */
    strcpy(text + strlen(head) + plen, " (deleted)\n");
    ck_assert_int_eq(parse_str(text, &m), 0);
    ck_assert_uint_eq(strlen(m.v[0].path), sizeof probe.path - 1);
    size_t n = strlen(m.v[0].path);
    ck_assert_str_eq(m.v[0].path + n - strlen(" (deleted)"), " (deleted)");
    proc_maps_free(&m);

    /* Exactly at the limit nothing is cut. */
    strcpy(text, head);
    memset(text + strlen(head), 'b', sizeof probe.path - 2);
    strcpy(text + strlen(head) + sizeof probe.path - 2, "\n");
    ck_assert_int_eq(parse_str(text, &m), 0);
    ck_assert_uint_eq(strlen(m.v[0].path), sizeof probe.path - 1);
    ck_assert_int_eq(m.v[0].path[sizeof probe.path - 2], 'b');
    proc_maps_free(&m);
    free(text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* stat parsing                                                        */

START_TEST(stat_typical)
{
    struct proc_stat st;
    const char *text = "1234 (python3) S 1 1234 1234 0 -1 4194560 1000 0 0 0 150 37 0 0 20 0 1 0 100 "
                       "10000000 500 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 17 1 0 0 0 0 0\n";

    ck_assert_int_eq(stat_str(text, &st), 0);
    ck_assert_str_eq(st.comm, "python3");
    ck_assert_int_eq(st.state, 'S');
    ck_assert_uint_eq(st.utime, 150);
    ck_assert_uint_eq(st.stime, 37);
    ck_assert_int_eq(st.cpu, 0);
    ck_assert_int_eq(st.threads, 1);
    ck_assert_uint_eq(st.startcode, 1);
    ck_assert_uint_eq(st.startstack, 0);
    const char *mm = "1234 (python3) S 1 1234 1234 0 -1 4194560 1000 0 0 0 150 37 0 0 20 0 1 0 100 "
                     "10000000 500 18446744073709551615 94571234508800 94571234512345 140725912345600 0 "
                     "0 0 0 16781312 2 0 0 17 1 0 0 0 0 0\n";
    ck_assert_int_eq(stat_str(mm, &st), 0);
    ck_assert_uint_eq(st.startcode, 94571234508800ull);
    ck_assert_uint_eq(st.startstack, 140725912345600ull);
    ck_assert_int_eq(st.cpu, 0);
}
END_TEST

START_TEST(stat_cpu)
{
    struct proc_stat st;

    /* Field 39 is the CPU (stat_typical: 0); short texts, or an odd
     * field 39, leave it unknown. */
    ck_assert_int_eq(stat_str("42 (x) R 1 2 3 4 5 6 7 8 9 10 7 8 0 0 20 0 1 0 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0 17 "
                              "13 0\n", &st), 0);
    ck_assert_int_eq(st.cpu, 13);
    ck_assert_int_eq(stat_str("42 (x) R 1 2 3 4 5 6 7 8 9 10 777 888 13 14 15\n", &st), 0);
    ck_assert_int_eq(st.cpu, -1);
    ck_assert_int_eq(st.threads, -1);
    ck_assert_int_eq(stat_str("42 (x) R 1 2 3 4 5 6 7 8 9 10 7 8 0 0 20 0 1 0 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0 17 "
                              "-3 0\n", &st), 0);
    ck_assert_int_eq(st.cpu, -1);
}
END_TEST

/* Names a thread can give itself, that must not derail the field count. */
static const char *const hostile_names[] = {
    ")", "(", "()", ")(", " ) R (", "a) R 1 2 (", "a) R 1 2 3 4 5 6 7 8 9 10 11 12 13 (",
    "", " ", "Web Content", "x)", "))))", "a\nb", ") 1 2 3",
};

START_TEST(stat_hostile_names)
{
    const char *name = hostile_names[_i];
    char text[512];
    struct proc_stat st;

    snprintf(text, sizeof text, "42 (%s) t 1 2 3 4 5 6 7 8 9 10 777 888 13 14 15\n", name);
    ck_assert_msg(stat_str(text, &st) == 0, "refused: %s", text);
    ck_assert_str_eq(st.comm, name);
    ck_assert_int_eq(st.state, 't');
    ck_assert_uint_eq(st.utime, 777);
    ck_assert_uint_eq(st.stime, 888);
}
END_TEST

START_TEST(stat_long_name_truncated)
{
    char text[512], name[200];
    struct proc_stat st;

    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(text, sizeof text, "1 (%s) R 1 2 3 4 5 6 7 8 9 10 11 12\n", name);
    ck_assert_int_eq(stat_str(text, &st), 0);
    ck_assert_uint_eq(strlen(st.comm), sizeof st.comm - 1);
    ck_assert_uint_eq(st.utime, 11);
    ck_assert_uint_eq(st.stime, 12);
}
END_TEST

static const char *const stat_garbage[] = {
    "",
    "1",
    "1 (abc",                                   /* no ')' */
    "1 (abc)",                                  /* nothing after the name */
    "1 (abc) ",
    "1 (abc) S",
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 11",        /* stime missing */
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 11 \n",     /* stime empty */
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 11\n12",
    "(abc) S 1 2 3 4 5 6 7 8 9 10 11 12\n",     /* no pid */
    "x (abc) S 1 2 3 4 5 6 7 8 9 10 11 12\n",
    "1 abc) S 1 2 3 4 5 6 7 8 9 10 11 12\n",    /* no '(' */
    "1  (abc) S 1 2 3 4 5 6 7 8 9 10 11 12\n",
    "1 (abc) SS 1 2 3 4 5 6 7 8 9 10 11 12\n",  /* state too long */
    "1 (abc) 5 1 2 3 4 5 6 7 8 9 10 11 12\n",   /* state not a letter */
    "1 (abc)  S 1 2 3 4 5 6 7 8 9 10 11 12\n",  /* empty field */
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 -11 12\n",  /* negative utime */
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 11 12x\n",
    "1 (abc) S 1 2 3 4 5 6 7 8 9 10 18446744073709551616 12\n", /* overflow */
};

START_TEST(stat_garbage_rejected)
{
    struct proc_stat st;
    const char *text = stat_garbage[_i];

    ck_assert_msg(stat_str(text, &st) == -EINVAL, "accepted: \"%s\"", text);
}
END_TEST

START_TEST(stat_length_respected)
{
    struct proc_stat st;
    const char *text = "9 (a) R 1 2 3 4 5 6 7 8 9 10 11 12 13\n";

    /* Cut inside stime: "1" of "12" is still a complete field. */
    size_t upto = (size_t)(strstr(text, " 12 ") - text) + 2;
    ck_assert_int_eq(proc_stat_parse(text, upto, &st), 0);
    ck_assert_uint_eq(st.stime, 1);
    /* Cut before stime: refused. */
    ck_assert_int_eq(proc_stat_parse(text, upto - 2, &st), -EINVAL);
    /* The last ')' is searched for within LEN only. */
    const char *t2 = "9 (a) R 1 2 3 4 5 6 7 8 9 10 11 12 13 (x) R";
    ck_assert_int_eq(proc_stat_parse(t2, strlen("9 (a) R 1 2 3 4 5 6 7 8 9 10 11 12 13"), &st), 0);
    ck_assert_str_eq(st.comm, "a");
    ck_assert_int_eq(proc_stat_parse(t2, strlen(t2), &st), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* memory                                                              */

static uint64_t addr_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* A page that is certainly not mapped. */
static void *unmapped_page(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(munmap(p, (size_t)pg), 0);
    return p;
}

/* The read checks, run both with process_vm_readv and with the fallback. */
static void check_reads(struct proc_mem *m)
{
    static const char secret[] = "gilscope reads this";
    char buf[sizeof secret];
    uint64_t big = 0x0123456789abcdefull, got_big = 0;
    char a[4], b[8];

    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(proc_mem_read(m, addr_of(secret), buf, sizeof secret), 0);
    ck_assert_str_eq(buf, secret);
    ck_assert_int_eq(proc_mem_read(m, addr_of(secret), NULL, 0), 0);

    struct proc_iov iov[3] = {
        { addr_of(secret), a, sizeof a },
        { addr_of(&big), &got_big, sizeof got_big },
        { addr_of(secret + 9), b, sizeof b },
    };
    ck_assert_int_eq(proc_mem_readv(m, iov, 3), 0);
    ck_assert_int_eq(memcmp(a, "gils", 4), 0);
    ck_assert_uint_eq(got_big, big);
    ck_assert_int_eq(memcmp(b, "reads th", 8), 0);

    /* Unmapped: -EFAULT, alone or anywhere in a batch (all-or-nothing). */
    char *hole = unmapped_page();
    ck_assert_int_eq(proc_mem_read(m, addr_of(hole), buf, 8), -EFAULT);
    iov[1].addr = addr_of(hole);
    ck_assert_int_eq(proc_mem_readv(m, iov, 3), -EFAULT);
    iov[1].addr = addr_of(&big);
    iov[2].addr = addr_of(hole);
    ck_assert_int_eq(proc_mem_readv(m, iov, 3), -EFAULT);
    ck_assert_int_eq(proc_mem_read(m, 0, buf, 1), -EFAULT);
}

START_TEST(mem_read_self)
{
    struct proc_mem m;

    ck_assert_int_eq(proc_mem_open(&m, getpid()), 0);
    ck_assert_int_eq(m.mem_fd, -1);
    check_reads(&m);
    ck_assert_int_eq(m.vm_readv_ok, 1);
    ck_assert_int_eq(m.mem_fd, -1);
    proc_mem_close(&m);
    proc_mem_close(&m);
}
END_TEST

START_TEST(mem_read_partial_is_failure)
{
    long pg = sysconf(_SC_PAGESIZE);
    struct proc_mem m;
    char *two = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *buf = malloc((size_t)pg * 2);

    ck_assert_ptr_ne(two, MAP_FAILED);
    ck_assert_ptr_nonnull(buf);
    memset(two, 'x', (size_t)pg * 2);
    ck_assert_int_eq(munmap(two + pg, (size_t)pg), 0);
    ck_assert_int_eq(proc_mem_open(&m, getpid()), 0);
    /* The first half is readable, the range as a whole is not. */
    ck_assert_int_eq(proc_mem_read(&m, addr_of(two + pg - 8), buf, 16), -EFAULT);
    ck_assert_int_eq(proc_mem_read(&m, addr_of(two + pg - 8), buf, 8), 0);
    ck_assert_int_eq(memcmp(buf, "xxxxxxxx", 8), 0);
    /* A PROT_NONE page is mapped but not readable. */
    ck_assert_int_eq(mprotect(two, (size_t)pg, PROT_NONE), 0);
    ck_assert_int_eq(proc_mem_read(&m, addr_of(two), buf, 8), -EFAULT);
    proc_mem_close(&m);
    munmap(two, (size_t)pg);
    free(buf);
}
END_TEST

START_TEST(mem_readv_batches)
{
    enum { N = 3000 };
    static uint64_t src[N], dst[N];
    static struct proc_iov iov[N];
    struct proc_mem m;

    for (size_t i = 0; i < N; i++) {
        src[i] = i * 2654435761u;
        iov[i] = (struct proc_iov){ addr_of(&src[N - 1 - i]), &dst[i], sizeof dst[i] };
    }
    ck_assert_int_eq(proc_mem_open(&m, getpid()), 0);
    ck_assert_int_eq(proc_mem_readv(&m, iov, 3), 0);
    ck_assert_uint_eq(m.reads, 1);                  /* three ranges, one call */
    m.reads = 0;
    ck_assert_int_eq(proc_mem_readv(&m, iov, N), 0);
    ck_assert_uint_eq(m.reads, (N + 1023) / 1024);  /* the kernel takes 1024 per call */
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(dst[i], src[N - 1 - i]);
    m.reads = 0;
    ck_assert_int_eq(proc_mem_readv(&m, iov, 0), 0);
    ck_assert_uint_eq(m.reads, 0);
    proc_mem_close(&m);
}
END_TEST

START_TEST(mem_open_missing)
{
    struct proc_mem m;
    pid_t child = fork();

    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(proc_mem_open(&m, child), -ESRCH);
    proc_mem_close(&m);
    ck_assert_int_eq(proc_mem_open(&m, -1), -ESRCH);
}
END_TEST

/* Read a forked child's copy of a variable, then read it again once the
 * child is a zombie and once it is reaped: both are -ESRCH. */
static void check_dead_child(struct proc_mem *m)
{
    static volatile uint64_t marker;
    uint64_t got = 0;
    int status;

    marker = 0x5eed;
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        marker = 0xc41d;    /* the child's copy differs from ours */
        for (;;)
            pause();
    }
    ck_assert_int_eq(proc_mem_open(m, child), 0);
    for (int i = 0; i < 2000 && got != 0xc41d; i++) {
        ck_assert_int_eq(proc_mem_read(m, addr_of((const void *)&marker), &got, sizeof got), 0);
        usleep(1000);
    }
    ck_assert_uint_eq(got, 0xc41d);
    ck_assert_int_eq(kill(child, SIGKILL), 0);
    siginfo_t si;
    ck_assert_int_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);   /* zombie now */
    ck_assert_int_eq(proc_mem_read(m, addr_of((const void *)&marker), &got, sizeof got), -ESRCH);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_eq(proc_mem_read(m, addr_of((const void *)&marker), &got, sizeof got), -ESRCH);
    proc_mem_close(m);
}

START_TEST(mem_read_dead_child)
{
    struct proc_mem m;
    check_dead_child(&m);
}
END_TEST

#if defined(__x86_64__)
static const unsigned seccomp_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
static const unsigned seccomp_arch = AUDIT_ARCH_AARCH64;
#endif

/* In this (forked) process, make process_vm_readv fail with ERR, as a
 * container's seccomp profile does. */
static int refuse_process_vm_readv(int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/* Fork; the child refuses process_vm_readv with ERR and runs check_reads.
 * Check's assertions in the child end it with a non-zero status. */
static void fallback_with(int err)
{
    pid_t child = fork();
    int status;

    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct proc_mem m;
        if (refuse_process_vm_readv(err) < 0)
            _exit(99);
        ck_assert_int_eq(proc_mem_open(&m, getpid()), 0);
        check_reads(&m);
        ck_assert_int_eq(m.vm_readv_ok, 0);
        ck_assert_int_ge(m.mem_fd, 0);
        /* The descriptor is kept: more reads, same fd, one pread each. */
        int fd = m.mem_fd;
        uint64_t before = m.reads, x = 7, y = 0;
        ck_assert_int_eq(proc_mem_read(&m, addr_of(&x), &y, sizeof y), 0);
        ck_assert_uint_eq(y, 7);
        ck_assert_int_eq(m.mem_fd, fd);
        ck_assert_uint_eq(m.reads, before + 1);
        proc_mem_close(&m);
        ck_assert_int_eq(m.mem_fd, -1);
        /* A new handle falls back on its first read, and sees death too. */
        check_dead_child(&m);
        ck_assert_int_eq(m.vm_readv_ok, 0);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}

START_TEST(mem_fallback_enosys)
{
    fallback_with(ENOSYS);
}
END_TEST

START_TEST(mem_fallback_eperm)
{
    fallback_with(EPERM);
}
END_TEST

/* ------------------------------------------------------------------ */
/* maps of a live process                                              */

START_TEST(maps_read_self)
{
    char path[] = "/tmp/gilscope test (x) XXXXXX";
    long pg = sysconf(_SC_PAGESIZE);
    struct proc_maps m;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, pg), 0);
    char *map = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    close(fd);

    ck_assert_int_eq(proc_maps_read(getpid(), &m), 0);
    int seen_file = 0, seen_code = 0, seen_stack = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (m.v[i].start == addr_of(map)) {
            ck_assert_str_eq(m.v[i].path, path);
            ck_assert_str_eq(m.v[i].perms, "r--s");
            seen_file = 1;
        }
        if (m.v[i].start <= addr_of(check_reads) && addr_of(check_reads) < m.v[i].end) {
            ck_assert_int_eq(m.v[i].perms[2], 'x');
            seen_code = 1;
        }
        seen_stack |= strcmp(m.v[i].path, "[stack]") == 0;
    }
    ck_assert(seen_file && seen_code && seen_stack);
    proc_maps_free(&m);

    /* Unlinked while mapped: the kernel appends " (deleted)". */
    char deleted[sizeof path + 16];
    snprintf(deleted, sizeof deleted, "%s (deleted)", path);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(proc_maps_read(getpid(), &m), 0);
    seen_file = 0;
    for (size_t i = 0; i < m.n; i++)
        if (m.v[i].start == addr_of(map)) {
            ck_assert_str_eq(m.v[i].path, deleted);
            seen_file = 1;
        }
    ck_assert(seen_file);
    proc_maps_free(&m);
    munmap(map, (size_t)pg);
}
END_TEST

START_TEST(maps_read_large)
{
    /* Alternate protections so that neighbouring pages stay separate
     * lines: a maps file far larger than the first buffer. */
    enum { PAGES = 4000 };
    long pg = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, (size_t)pg * PAGES, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct proc_maps m;

    ck_assert_ptr_ne(area, MAP_FAILED);
    for (size_t i = 0; i < PAGES; i += 2)
        ck_assert_int_eq(mprotect(area + i * (size_t)pg, (size_t)pg, PROT_NONE), 0);
    ck_assert_int_eq(proc_maps_read(getpid(), &m), 0);
    ck_assert_uint_ge(m.n, PAGES);
    size_t inside = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (i > 0)
            ck_assert_uint_ge(m.v[i].start, m.v[i - 1].end);
        if (m.v[i].start >= addr_of(area) && m.v[i].end <= addr_of(area + (size_t)pg * PAGES))
            inside++;
    }
    /* The two end pages may merge with a neighbour of the same kind. */
    ck_assert_uint_ge(inside, PAGES - 2);
    proc_maps_free(&m);
    munmap(area, (size_t)pg * PAGES);
}
END_TEST

START_TEST(maps_read_missing)
{
    struct proc_maps m = { (struct proc_map *)&m, 5 };
    pid_t child = fork();

    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(proc_maps_read(child, &m), -ESRCH);
    ck_assert_ptr_null(m.v);
    ck_assert_uint_eq(m.n, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* threads, stat readers, existence                                    */

struct thread_arg {
    pid_t tid;
    int go;                 /* set by the main thread to let the thread end */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *parked_thread(void *vp)
{
    struct thread_arg *a = vp;

    pthread_mutex_lock(&a->mu);
    a->tid = gettid();
    pthread_cond_broadcast(&a->cv);
    while (!a->go)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

START_TEST(tasks_self)
{
    struct thread_arg a = { .tid = 0, .go = 0 };
    struct proc_tasks t;
    pthread_t th;

    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cv, NULL);
    ck_assert_int_eq(pthread_create(&th, NULL, parked_thread, &a), 0);
    pthread_mutex_lock(&a.mu);
    while (a.tid == 0)
        pthread_cond_wait(&a.cv, &a.mu);
    pthread_mutex_unlock(&a.mu);

    ck_assert_int_eq(proc_tasks_list(getpid(), &t), 0);
    int seen_main = 0, seen_thread = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (i > 0)
            ck_assert_int_lt(t.tid[i - 1], t.tid[i]);
        seen_main |= t.tid[i] == gettid();
        seen_thread |= t.tid[i] == a.tid;
    }
    ck_assert(seen_main && seen_thread);
    proc_tasks_free(&t);
    ck_assert_ptr_null(t.tid);

    pthread_mutex_lock(&a.mu);
    a.go = 1;
    pthread_cond_broadcast(&a.cv);
    pthread_mutex_unlock(&a.mu);
    pthread_join(th, NULL);
    /* A thread that has gone is no longer readable. */
    struct proc_statfd *s = proc_statfd_open(getpid(), a.tid);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

START_TEST(tasks_missing)
{
    struct proc_tasks t;
    pid_t child = fork();

    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(proc_tasks_list(child, &t), -ESRCH);
    ck_assert_ptr_null(t.tid);
}
END_TEST

START_TEST(statfd_hostile_own_name)
{
    /* The kernel keeps 15 bytes of a name, ours fits. */
    const char *name = "a) R 1 2 (";
    struct proc_stat st;

    ck_assert_int_eq(prctl(PR_SET_NAME, name, 0, 0, 0), 0);
    struct proc_statfd *s = proc_statfd_open(getpid(), gettid());
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(proc_statfd_read(s, &st), 0);
    ck_assert_str_eq(st.comm, name);
    ck_assert_int_eq(st.state, 'R');

    /* The same descriptor is re-read: CPU time moves forward. */
    uint64_t before = st.utime + st.stime;
    for (int i = 0; i < 100000 && st.utime + st.stime == before; i++) {
        for (volatile unsigned spin = 0; spin < 100000; spin++)
            ;
        ck_assert_int_eq(proc_statfd_read(s, &st), 0);
    }
    ck_assert_uint_gt(st.utime + st.stime, before);
    ck_assert_int_eq(prctl(PR_SET_NAME, " ) R (", 0, 0, 0), 0);
    ck_assert_int_eq(proc_statfd_read(s, &st), 0);
    ck_assert_str_eq(st.comm, " ) R (");
    proc_statfd_close(s);
    proc_statfd_close(NULL);
}
END_TEST

START_TEST(statfd_thread_exits)
{
    struct proc_stat st;
    int pipefd[2];

    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        char c;
        close(pipefd[1]);
        while (read(pipefd[0], &c, 1) < 0)
            ;
        _exit(3);
    }
    close(pipefd[0]);
    struct proc_statfd *s = proc_statfd_open(child, child);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(proc_statfd_read(s, &st), 0);
        if (st.state == 'S')
            break;
        usleep(1000);
    }
    ck_assert_int_eq(st.state, 'S');    /* blocked in read() */
    ck_assert_int_eq(proc_exists(child), 1);

    close(pipefd[1]);   /* lets the child exit */
    for (int i = 0; i < 2000 && proc_exists(child); i++)
        usleep(1000);
    /* A zombie is not a live process, but its stat still reads. */
    ck_assert_int_eq(proc_exists(child), 0);
    ck_assert_int_eq(proc_statfd_read(s, &st), 0);
    ck_assert_int_eq(st.state, 'Z');

    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    ck_assert_int_eq(proc_statfd_read(s, &st), -ESRCH);
    ck_assert_int_eq(proc_exists(child), 0);
    proc_statfd_close(s);
}
END_TEST

START_TEST(exists_basic)
{
    ck_assert_int_eq(proc_exists(getpid()), 1);
    ck_assert_int_eq(proc_exists(1), 1);
    ck_assert_int_eq(proc_exists(0), 0);
    ck_assert_int_eq(proc_exists(-5), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* paths and status                                                    */

START_TEST(root_path)
{
    char out[64];

    ck_assert_int_eq(proc_root_path(42, "/usr/lib/libpython3.11.so", out, sizeof out), 0);
    ck_assert_str_eq(out, "/proc/42/root/usr/lib/libpython3.11.so");
    ck_assert_int_eq(proc_root_path(42, "relative", out, sizeof out), 0);
    ck_assert_str_eq(out, "/proc/42/root/relative");
    ck_assert_int_eq(proc_root_path(42, "", out, sizeof out), 0);
    ck_assert_str_eq(out, "/proc/42/root/");
    /* "/proc/42/root/ab" is 16 bytes: 17 fit, 16 do not. */
    ck_assert_int_eq(proc_root_path(42, "/ab", out, 17), 0);
    ck_assert_int_eq(proc_root_path(42, "/ab", out, 16), -ENAMETOOLONG);
    ck_assert_int_eq(proc_root_path(42, "/ab", out, 0), -ENAMETOOLONG);
}
END_TEST

START_TEST(exe_path)
{
    char want[4096], got[4096];
    ssize_t n = readlink("/proc/self/exe", want, sizeof want - 1);

    ck_assert_int_gt(n, 0);
    want[n] = '\0';
    ck_assert_int_eq(proc_exe_path(getpid(), got, sizeof got), 0);
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(proc_exe_path(getpid(), got, (size_t)n), -ENAMETOOLONG);
    ck_assert_int_eq(proc_exe_path(getpid(), got, (size_t)n + 1), -ENAMETOOLONG);
    ck_assert_int_eq(proc_exe_path(getpid(), got, (size_t)n + 2), 0);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(exe_path_deleted)
{
    /* A copy of /bin/sleep, deleted while it runs. */
    char path[] = "/tmp/gilscope-exe-XXXXXX";
    char buf[65536];
    int out = mkstemp(path), in = open("/bin/sleep", O_RDONLY);
    ssize_t n;

    ck_assert_int_ge(out, 0);
    ck_assert_int_ge(in, 0);
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    close(in);
    ck_assert_int_eq(fchmod(out, 0700), 0);
    close(out);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        execl(path, "sleep", "30", (char *)NULL);
        _exit(127);
    }
    char got[4096];
    for (int i = 0; i < 2000; i++) {
        if (proc_exe_path(child, got, sizeof got) == 0 && strcmp(got, path) == 0)
            break;
        usleep(1000);
    }
    ck_assert_str_eq(got, path);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(proc_exe_path(child, got, sizeof got), 0);
    ck_assert_str_eq(got, path);        /* " (deleted)" stripped */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(proc_exe_path(child, got, sizeof got), -ESRCH);
}
END_TEST

START_TEST(status_fields)
{
    long v;

    ck_assert_int_eq(proc_status_int(getpid(), 0, "Tgid:", &v), 0);
    ck_assert_int_eq(v, getpid());
    ck_assert_int_eq(proc_status_int(getpid(), 0, "Pid:", &v), 0);
    ck_assert_int_eq(v, getpid());
    ck_assert_int_eq(proc_status_int(getpid(), gettid(), "TracerPid:", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(proc_status_int(getpid(), 0, "NoSuchField:", &v), -ENOENT);
    ck_assert_int_eq(proc_status_int(getpid(), 0, "Name:", &v), -EINVAL);
    ck_assert_int_eq(proc_status_int(getpid(), 999999999, "Tgid:", &v), -ESRCH);
}
END_TEST

START_TEST(status_parse_text)
{
    static const char text[] = "Name:\tpython3\nTgid:\t4242\nPid:\t4243\n"
                               "TracerPid:\t0\nNeg:\t-12\nBig:\t9223372036854775808\n"
                               "Empty:\t\nThreads:\t7";
    long v = 0;

    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Tgid:", &v), 0);
    ck_assert_int_eq(v, 4242);
    /* at line starts only: "Pid:" is not found inside "TracerPid:" */
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Pid:", &v), 0);
    ck_assert_int_eq(v, 4243);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Neg:", &v), 0);
    ck_assert_int_eq(v, -12);
    /* the last line needs no newline */
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Threads:", &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Name:", &v), -EINVAL);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Big:", &v), -EINVAL);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Empty:", &v), -EINVAL);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 1, "Nope:", &v), -ENOENT);
    /* LEN is respected: "Threads:\t7" cut before its digit has no number */
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 2, "Threads:", &v), -EINVAL);
    ck_assert_int_eq(proc_status_parse(text, sizeof text - 11, "Threads:", &v), -ENOENT);
    ck_assert_int_eq(proc_status_parse("", 0, "Tgid:", &v), -ENOENT);
}
END_TEST

START_TEST(nspid_parse_text)
{
    static const char two[] = "Name:\tpython3\nNSpid:\t23846\t1\nNSpgid:\t23846\t1\n";
    static const char three[] = "NStgid:\t9\nNSpid:\t700 12\t3";
    static const char one[] = "NSpid:\t4242\n";
    pid_t outer = 0, inner = 0;

    ck_assert_int_eq(proc_nspid_parse(two, sizeof two - 1, &outer, &inner), 2);
    ck_assert_int_eq(outer, 23846);
    ck_assert_int_eq(inner, 1);
    /* the first and the last of three; the last line needs no newline */
    ck_assert_int_eq(proc_nspid_parse(three, sizeof three - 1, &outer, &inner), 3);
    ck_assert_int_eq(outer, 700);
    ck_assert_int_eq(inner, 3);
    ck_assert_int_eq(proc_nspid_parse(one, sizeof one - 1, &outer, &inner), 1);
    ck_assert_int_eq(outer, 4242);
    ck_assert_int_eq(inner, 4242);
    /* LEN is respected: cut inside the first number, that number is all there is */
    ck_assert_int_eq(proc_nspid_parse(two, 24, &outer, &inner), 1);
    ck_assert_int_eq(outer, 238);
    ck_assert_int_eq(proc_nspid_parse("NSpid:\t\n", 8, &outer, &inner), -EINVAL);
    ck_assert_int_eq(proc_nspid_parse("NSpid:\t12x\n", 11, &outer, &inner), -EINVAL);
    ck_assert_int_eq(proc_nspid_parse("NSpid:\t0\n", 9, &outer, &inner), -EINVAL);
    ck_assert_int_eq(proc_nspid_parse("NSpid:\t4294967296\n", 18, &outer, &inner), -EINVAL);
    ck_assert_int_eq(proc_nspid_parse("Pid:\t12\n", 8, &outer, &inner), -ENOENT);
}
END_TEST

START_TEST(nspid_self)
{
    pid_t outer = 0, inner = 0;
    int levels = proc_nspid(getpid(), gettid(), &outer, &inner);

    /* a kernel before 4.1 has no NSpid; the suite may itself run in a container */
    if (levels == -ENOENT)
        return;
    ck_assert_int_ge(levels, 1);
    ck_assert_int_eq(outer, gettid());
    ck_assert_int_eq(proc_nspid(getpid(), 999999999, &outer, &inner), -ESRCH);
}
END_TEST

/* tidmap */

START_TEST(tidmap_same_namespace)
{
    struct tidmap tm;
    struct proc_tasks tasks = { 0 };

    tidmap_init(&tm, getpid());
    ck_assert_int_eq(tidmap_host(&tm, gettid(), 1), gettid());
    ck_assert_int_eq(tidmap_host(&tm, 0, 1), 0);
    ck_assert_int_eq(tidmap_ns_tids(&tm, &tasks), 0);
    ck_assert_uint_ge(tasks.n, 1);
    proc_tasks_free(&tasks);
    tidmap_free(&tm);
    tidmap_free(&tm);   /* twice is fine */
}
END_TEST

/* A child that is PID 1 of a new PID namespace, paused; its pid as we
 * number it, or 0 when namespaces cannot be made here. */
static pid_t child_in_namespace(pid_t *middle)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    *middle = fork();
    ck_assert_int_ge(*middle, 0);
    if (*middle == 0) {
        /* unshare(CLONE_NEWPID) puts the next child, not the caller, in the namespace. */
        pid_t inner = unshare(CLONE_NEWPID) == 0 ? fork() : -1;
        if (inner == 0) {
            pause();
            _exit(0);
        }
        if (write(fds[1], &inner, sizeof inner) != (ssize_t)sizeof inner)
            _exit(1);
        pause();
        _exit(0);
    }
    pid_t inner = -1;
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &inner, sizeof inner), (ssize_t)sizeof inner);
    close(fds[0]);
    return inner > 0 ? inner : 0;
}

START_TEST(tidmap_other_namespace)
{
    pid_t middle, child = child_in_namespace(&middle);
    if (child) {
        struct tidmap tm;
        struct proc_tasks tasks = { 0 };
        tidmap_init(&tm, child);
        ck_assert_int_eq(tidmap_host(&tm, 1, 1), child);
        ck_assert_int_eq(tidmap_host(&tm, 2, 1), 0);    /* no such thread there */
        ck_assert_int_eq(tidmap_host(&tm, 1, 2), child);
        ck_assert_int_eq(tidmap_ns_tids(&tm, &tasks), 0);
        ck_assert_uint_eq(tasks.n, 1);
        ck_assert_int_eq(tasks.tid[0], 1);
        proc_tasks_free(&tasks);
        tidmap_free(&tm);
        kill(child, SIGKILL);
    }
    kill(middle, SIGKILL);
    waitpid(middle, NULL, 0);
}
END_TEST

static Suite *proc_suite(void)
{
    Suite *s = suite_create("proc");
    TCase *parse = tcase_create("parse");
    TCase *live = tcase_create("live");

    tcase_add_test(parse, maps_typical);
    tcase_add_test(parse, maps_empty_and_huge_numbers);
    tcase_add_loop_test(parse, maps_garbage_rejected, 0, (int)(sizeof maps_garbage / sizeof maps_garbage[0]));
    tcase_add_test(parse, maps_nul_and_length);
    tcase_add_test(parse, maps_long_path_truncated);
    tcase_add_test(parse, stat_typical);
    tcase_add_test(parse, stat_cpu);
    tcase_add_loop_test(parse, stat_hostile_names, 0, (int)(sizeof hostile_names / sizeof hostile_names[0]));
    tcase_add_test(parse, stat_long_name_truncated);
    tcase_add_loop_test(parse, stat_garbage_rejected, 0, (int)(sizeof stat_garbage / sizeof stat_garbage[0]));
    tcase_add_test(parse, stat_length_respected);
    tcase_add_test(parse, status_parse_text);
    tcase_add_test(parse, nspid_parse_text);
    suite_add_tcase(s, parse);

    tcase_set_timeout(live, 30);
    tcase_add_test(live, mem_read_self);
    tcase_add_test(live, mem_read_partial_is_failure);
    tcase_add_test(live, mem_readv_batches);
    tcase_add_test(live, mem_open_missing);
    tcase_add_test(live, mem_read_dead_child);
    tcase_add_test(live, mem_fallback_enosys);
    tcase_add_test(live, mem_fallback_eperm);
    tcase_add_test(live, maps_read_self);
    tcase_add_test(live, maps_read_large);
    tcase_add_test(live, maps_read_missing);
    tcase_add_test(live, tasks_self);
    tcase_add_test(live, tasks_missing);
    tcase_add_test(live, statfd_hostile_own_name);
    tcase_add_test(live, statfd_thread_exits);
    tcase_add_test(live, exists_basic);
    tcase_add_test(live, root_path);
    tcase_add_test(live, exe_path);
    tcase_add_test(live, exe_path_deleted);
    tcase_add_test(live, status_fields);
    tcase_add_test(live, nspid_self);
    tcase_add_test(live, tidmap_same_namespace);
    tcase_add_test(live, tidmap_other_namespace);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
