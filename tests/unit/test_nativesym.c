/*
 * Unit tests for src/nativesym.c on live processes: this test program
 * itself (PIE, with -g), copies of it mapped executable (stripped, with a
 * separate debug file found by .gnu_debuglink, truncated, garbage, and
 * some hundred randomly corrupted), libc, anonymous code, a mapping made
 * after the maps were read, and Debian's /usr/bin/python3.11 (not PIE,
 * .dynsym only) when it is installed. The copies need objcopy
 * (binutils); without it those tests say so and pass.
 */
#include "nativesym.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsym.h"
#include "proc.h"
#include "unit.h"

/* GCC may clone a function under another name (f.isra.0); clang has no
 * such attribute, and does not. */
#ifdef __clang__
#define NOCLONE
#else
#define NOCLONE __attribute__((noclone))
#endif

static __attribute__((noinline)) NOCLONE uint64_t return_address(void)
{
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* Global and noclone, so that its symbol keeps this name. The call and
 * __LINE__ must stay on one line. */
__attribute__((noinline)) NOCLONE uint64_t nativesym_marker(int *line)
{
    uint64_t ra = return_address(); *line = __LINE__;
    return ra;
}

/* A symbolizer of this process. */
static struct nativesym *self_ns(void)
{
    char err[256];
    struct nativesym *ns = nativesym_new(getpid(), err, sizeof err);
    ck_assert_msg(ns != NULL, "%s", err);
    return ns;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nativesym.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The file offset in this program's file of our address ADDR. */
static uint64_t exe_offset(uint64_t addr)
{
    struct proc_maps m;
    ck_assert_int_eq(proc_maps_read(getpid(), &m), 0);
    uint64_t off = UINT64_MAX;
    for (size_t i = 0; i < m.n; i++)
        if (addr >= m.v[i].start && addr < m.v[i].end)
            off = addr - m.v[i].start + m.v[i].offset;
    proc_maps_free(&m);
    ck_assert_uint_ne(off, UINT64_MAX);
    return off;
}

/* PATH mapped whole, readable and executable (never run); its length in *LEN. */
static uint8_t *map_exec(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    *len = st.st_size ? (size_t)st.st_size : 1;
    void *p = mmap(NULL, *len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    close(fd);
    ck_assert_msg(p != MAP_FAILED, "mmap exec %s: %s", path, strerror(errno));
    return p;
}

/* Write LEN bytes of BUF to PATH. */
static void write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size);
    ck_assert_ptr_nonnull(buf);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

static int run(const char *cmd)
{
    int r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int have_objcopy(void)
{
    if (run("objcopy --version >/dev/null 2>&1") == 0)
        return 1;
    fprintf(stderr, "test_nativesym: no objcopy, copies of the test program not tested\n");
    return 0;
}

/* ------------------------------------------------------------------ */

START_TEST(self_function_and_line)
{
    int line = 0;
    uint64_t ra = nativesym_marker(&line);
    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, ra - 1, &in), 0);
    ck_assert_uint_eq(in.flags, 0);
    ck_assert_str_eq(in.name, "nativesym_marker");
    ck_assert_str_eq(in.library, "test_nativesym");
    ck_assert_uint_eq(in.sym_start, (uint64_t)(uintptr_t)&nativesym_marker);
    ck_assert_ptr_nonnull(in.file);
    ck_assert_msg(ends_with(in.file, "test_nativesym.c"), "file %s", in.file);
    ck_assert_int_eq(in.line, line);

    /* Again: from the per-IP cache, the same strings. */
    struct nativesym_info again;
    ck_assert_int_eq(nativesym_lookup(ns, ra - 1, &again), 0);
    ck_assert_ptr_eq(again.name, in.name);
    ck_assert_ptr_eq(again.file, in.file);
    ck_assert_int_eq(again.line, line);

    /* The function's first byte. */
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)&nativesym_marker, &in), 0);
    ck_assert_str_eq(in.name, "nativesym_marker");
    nativesym_free(ns);
}
END_TEST

START_TEST(libc_getpid)
{
    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    uint64_t a = (uint64_t)(uintptr_t)&getpid;
    ck_assert_int_eq(nativesym_lookup(ns, a + 1, &in), 0);
    ck_assert_str_eq(in.library, "libc.so.6");
    ck_assert_ptr_nonnull(in.name);
    ck_assert_msg(strstr(in.name, "getpid") != NULL, "name %s", in.name);
    ck_assert_uint_eq(in.sym_start, a);
    ck_assert_uint_eq(in.flags & (NATIVESYM_ANON | NATIVESYM_NOSYM), 0);
    struct nativesym_counts c;
    nativesym_note(ns, &c);
    ck_assert_uint_ge(c.files, 1);
    nativesym_free(ns);
}
END_TEST

START_TEST(anonymous_and_unmapped)
{
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *code = mmap(NULL, (size_t)pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(code != MAP_FAILED);
    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)code + 10, &in), 0);
    ck_assert_uint_eq(in.flags, NATIVESYM_ANON);
    ck_assert_str_eq(in.library, "[anonymous]");
    ck_assert_ptr_null(in.name);
    ck_assert_ptr_null(in.file);

    /* Nothing is mapped at 4 KiB: not found, even after a re-read. */
    usleep(120 * 1000);
    ck_assert_int_eq(nativesym_lookup(ns, 0x1000, &in), -ENOENT);
    ck_assert_uint_eq(in.flags, NATIVESYM_ANON);
    ck_assert_str_eq(in.library, "[anonymous]");
    nativesym_free(ns);
    munmap(code, (size_t)pg);
}
END_TEST

/* Code a JIT compiler would put in a memfd: anonymous too. */
START_TEST(memfd_is_anonymous)
{
    int fd = memfd_create("jit", 0);
    ck_assert_int_ge(fd, 0);
    long pg = sysconf(_SC_PAGESIZE);
    ck_assert_int_eq(ftruncate(fd, pg), 0);
    uint8_t *code = mmap(NULL, (size_t)pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    ck_assert(code != MAP_FAILED);
    close(fd);
    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)code + 1, &in), 0);
    ck_assert_uint_eq(in.flags, NATIVESYM_ANON);
    ck_assert_str_eq(in.library, "[anonymous]");
    struct nativesym_counts c;
    ck_assert_int_eq(nativesym_note(ns, &c), 0);
    ck_assert_uint_eq(c.unreadable, 0);
    nativesym_free(ns);
    munmap(code, (size_t)pg);
}
END_TEST

/* A mapped file since deleted (a library upgraded under a running
 * program) is read through /proc/PID/map_files, which needs
 * CAP_SYS_ADMIN: without it, only its name. */
START_TEST(deleted_file)
{
    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/gone", tmpdir);
    size_t len;
    uint8_t *self = read_file("/proc/self/exe", &len);
    write_file(path, self, len);
    free(self);
    int line;
    uint64_t off = exe_offset(nativesym_marker(&line) - 1);
    uint8_t *p = map_exec(path, &len);
    ck_assert_int_eq(unlink(path), 0);
    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)p + off, &in), 0);
    ck_assert_str_eq(in.library, "gone");
    if (geteuid() == 0) {
        ck_assert_str_eq(in.name, "nativesym_marker");
        ck_assert_int_eq(in.line, line);
    }
    nativesym_free(ns);
    munmap(p, len);
    remove_tmpdir();
}
END_TEST

START_TEST(mapped_after_new)
{
    struct nativesym *ns = self_ns();
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *code = mmap(NULL, (size_t)pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(code != MAP_FAILED);
    /* Within 100 ms of the last read the maps are not read again; after,
     * the new mapping is found. */
    struct nativesym_info in;
    usleep(120 * 1000);
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)code, &in), 0);
    ck_assert_uint_eq(in.flags, NATIVESYM_ANON);
    nativesym_free(ns);
    munmap(code, (size_t)pg);
}
END_TEST

/* A copy of this program, stripped: named by nothing (a PIE program's
 * .dynsym holds only what it imports). With a debug file beside it found
 * through .gnu_debuglink, named and lined again. */
START_TEST(stripped_and_debuglink)
{
    if (!have_objcopy())
        return;
    make_tmpdir();
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && objcopy --strip-all /proc/%d/exe bare && objcopy --only-keep-debug /proc/%d/exe prog.debug"
             " && objcopy --strip-all --add-gnu-debuglink=prog.debug /proc/%d/exe prog",
             tmpdir, (int)getpid(), (int)getpid(), (int)getpid());
    ck_assert_int_eq(run(cmd), 0);

    int line = 0;
    uint64_t off = exe_offset(nativesym_marker(&line) - 1);
    char path[128];
    size_t blen, plen;
    snprintf(path, sizeof path, "%s/bare", tmpdir);
    uint8_t *bare = map_exec(path, &blen);
    snprintf(path, sizeof path, "%s/prog", tmpdir);
    uint8_t *prog = map_exec(path, &plen);

    struct nativesym *ns = self_ns();
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)bare + off, &in), 0);
    ck_assert_str_eq(in.library, "bare");
    ck_assert_uint_eq(in.flags, NATIVESYM_NOSYM);
    ck_assert_ptr_null(in.name);
    ck_assert_ptr_null(in.file);
    struct nativesym_counts c;
    ck_assert_int_eq(nativesym_note(ns, &c), 1);
    ck_assert_uint_ge(c.stripped, 1);
    ck_assert_uint_ge(c.no_lines, 1);
    ck_assert_ptr_nonnull(c.example);
    ck_assert_int_eq(nativesym_note(ns, &c), 0);    /* said once */
    /* prog is bare to a cache keyed by build id: another symbolizer. */
    nativesym_free(ns);
    ns = self_ns();

    ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)prog + off, &in), 0);
    ck_assert_str_eq(in.library, "prog");
    ck_assert_uint_eq(in.flags, 0);
    ck_assert_str_eq(in.name, "nativesym_marker");
    ck_assert_uint_eq(in.sym_start, (uint64_t)(uintptr_t)prog + exe_offset((uint64_t)(uintptr_t)&nativesym_marker));
    ck_assert_ptr_nonnull(in.file);
    ck_assert_msg(ends_with(in.file, "test_nativesym.c"), "file %s", in.file);
    ck_assert_int_eq(in.line, line);
    nativesym_free(ns);
    munmap(bare, blen);
    munmap(prog, plen);
    remove_tmpdir();
}
END_TEST

/* Map PATH, look up the offsets OFFS in it, and check only that the
 * answers are sane (a library name, and nothing crashed). Returns how
 * many had a source line. */
static int lookup_in_copy(const char *path, const uint64_t *offs, size_t noffs)
{
    int lined = 0;
    size_t len;
    uint8_t *p = map_exec(path, &len);
    struct nativesym *ns = self_ns();
    for (size_t i = 0; i < noffs; i++) {
        struct nativesym_info in;
        ck_assert_int_eq(nativesym_lookup(ns, (uint64_t)(uintptr_t)p + offs[i] % len, &in), 0);
        ck_assert_ptr_nonnull(in.library);
        ck_assert_uint_eq(in.flags & NATIVESYM_ANON, 0);
        if (in.file) {
            ck_assert_int_gt(in.line, 0);
            lined++;
        }
    }
    struct nativesym_counts c;
    nativesym_note(ns, &c);
    nativesym_free(ns);
    munmap(p, len);
    return lined;
}

START_TEST(garbage_and_truncated)
{
    make_tmpdir();
    char path[128];
    int line;
    uint64_t offs[] = { exe_offset(nativesym_marker(&line) - 1), 0, 64, 4096, 12345 };
    uint8_t junk[8192];
    srand(1);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    memcpy(junk, "\177ELF\2\1\1", 7);   /* looks like ELF, is not */
    snprintf(path, sizeof path, "%s/junk.so", tmpdir);
    write_file(path, junk, sizeof junk);
    lookup_in_copy(path, offs, 5);

    size_t len;
    uint8_t *self = read_file("/proc/self/exe", &len);
    static const size_t cut[] = { 1, 63, 64, 65, 4096, 20000 };
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        snprintf(path, sizeof path, "%s/cut%zu", tmpdir, i);
        write_file(path, self, cut[i] < len ? cut[i] : len);
        lookup_in_copy(path, offs, 5);
    }
    /* Cut just before the section headers: sections point past the end. */
    snprintf(path, sizeof path, "%s/cutend", tmpdir);
    write_file(path, self, len - 100);
    lookup_in_copy(path, offs, 5);
    free(self);
    remove_tmpdir();
}
END_TEST

/* 300 copies of this program, each with a few bytes changed at
 * random (more of them in the headers and tables at the start and end),
 * opened and looked into. Nothing is checked but that nothing crashes
 * (and, under ASan, that nothing is read out of bounds). */
START_TEST(random_corruption)
{
    make_tmpdir();
    size_t len;
    uint8_t *self = read_file("/proc/self/exe", &len);
    uint8_t *copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    int line;
    uint64_t offs[] = { exe_offset(nativesym_marker(&line) - 1), exe_offset((uint64_t)(uintptr_t)&run),
                        exe_offset((uint64_t)(uintptr_t)&nativesym_new), 0 };
    char path[128];
    snprintf(path, sizeof path, "%s/clean", tmpdir);
    write_file(path, self, len);
    ck_assert_int_ge(lookup_in_copy(path, offs, 3), 3);  /* the DWARF is read */
    /* A fixed seed, so that a run is repeatable; NATIVESYM_SEED picks
     * another (a search for new crashes: run with many). */
    const char *env = getenv("NATIVESYM_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 20260604u;
    srand(seed);
    for (int iter = 0; iter < 300; iter++) {
        memcpy(copy, self, len);
        int nbytes = 1 + rand() % 8;
        for (int k = 0; k < nbytes; k++) {
            size_t at;
            switch (rand() % 3) {
            case 0: at = (size_t)rand() % (len < 4096 ? len : 4096); break;
            case 1: at = len - 1 - (size_t)rand() % (len < 8192 ? len : 8192); break;
            default: at = ((size_t)rand() * 65536u + (size_t)rand()) % len; break;
            }
            copy[at] = (uint8_t)rand();
        }
        snprintf(path, sizeof path, "%s/m%d", tmpdir, iter);
        write_file(path, copy, len);
        lookup_in_copy(path, offs, sizeof offs / sizeof *offs);
        unlink(path);
    }
    free(copy);
    free(self);
    remove_tmpdir();
}
END_TEST

/* One file without a process: offsets in it, as the fuzzer looks them up. */
START_TEST(file_without_process)
{
    char err[256];
    ck_assert_ptr_null(nativesym_new_file("relative/path", err, sizeof err));
    ck_assert_msg(strstr(err, "absolute") != NULL, "%s", err);

    int line = 0;
    uint64_t off = exe_offset(nativesym_marker(&line) - 1);
    struct nativesym *ns = nativesym_new_file("/proc/self/exe", err, sizeof err);
    ck_assert_msg(ns != NULL, "%s", err);
    struct nativesym_info in;
    ck_assert_int_eq(nativesym_lookup(ns, off, &in), 0);
    ck_assert_str_eq(in.library, "exe");
    ck_assert_str_eq(in.name, "nativesym_marker");
    ck_assert_uint_eq(in.flags, 0);
    ck_assert_ptr_nonnull(in.file);
    ck_assert_msg(ends_with(in.file, "test_nativesym.c"), "file %s", in.file);
    ck_assert_int_eq(in.line, line);
    /* Any offset falls in the file's one region: no maps are read. */
    ck_assert_int_eq(nativesym_lookup(ns, UINT64_MAX - 1, &in), 0);
    ck_assert_str_eq(in.library, "exe");
    nativesym_free(ns);

    make_tmpdir();
    char path[128];
    snprintf(path, sizeof path, "%s/notelf", tmpdir);
    write_file(path, "not ELF at all", 14);
    ns = nativesym_new_file(path, err, sizeof err);
    ck_assert_msg(ns != NULL, "%s", err);
    ck_assert_int_eq(nativesym_lookup(ns, 4, &in), 0);
    ck_assert_uint_eq(in.flags, NATIVESYM_NOSYM);
    ck_assert_str_eq(in.library, "notelf");
    struct nativesym_counts c;
    ck_assert_int_eq(nativesym_note(ns, &c), 1);
    ck_assert_uint_eq(c.unreadable, 1);
    ck_assert_str_eq(c.example, "notelf");
    nativesym_free(ns);
    remove_tmpdir();
}
END_TEST

/* Debian's python3.11 is not PIE and keeps only .dynsym: a child
 * running it, one of its exported functions. */
START_TEST(python_not_pie)
{
    const char *py = "/usr/bin/python3.11";
    char err[256];
    struct elfsym *e = elfsym_open(py, err, sizeof err);
    if (!e) {
        fprintf(stderr, "test_nativesym: %s, python3.11 not tested\n", err);
        return;
    }
    uint64_t addr, size;
    int found = elfsym_lookup(e, "PyList_Append", &addr, &size);
    elfsym_close(e);
    ck_assert_int_eq(found, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(py, py, "-c", "import time; time.sleep(30)", (char *)NULL);
        _exit(127);
    }
    /* Until its exec shows in its maps. */
    struct nativesym *ns = NULL;
    struct nativesym_info in = { 0 };
    for (int i = 0; i < 200; i++) {
        ns = nativesym_new(pid, err, sizeof err);
        if (ns && nativesym_lookup(ns, addr + 3, &in) == 0 && in.library && strcmp(in.library, "python3.11") == 0)
            break;
        nativesym_free(ns);
        ns = NULL;
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(ns != NULL, "python3.11's code never found");
    ck_assert_str_eq(in.name, "PyList_Append");
    ck_assert_uint_eq(in.sym_start, addr);
    ck_assert_uint_eq(in.flags & (NATIVESYM_ANON | NATIVESYM_NOSYM), 0);
    nativesym_free(ns);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nativesym");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, self_function_and_line);
    tcase_add_test(tc, libc_getpid);
    tcase_add_test(tc, anonymous_and_unmapped);
    tcase_add_test(tc, memfd_is_anonymous);
    tcase_add_test(tc, deleted_file);
    tcase_add_test(tc, mapped_after_new);
    tcase_add_test(tc, stripped_and_debuglink);
    tcase_add_test(tc, garbage_and_truncated);
    tcase_add_test(tc, random_corruption);
    tcase_add_test(tc, file_without_process);
    tcase_add_test(tc, python_not_pie);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
