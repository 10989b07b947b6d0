/* Unit tests: strtab, profile, folded writer, short file names, version
 * parsing, ELF symbols, JSON strings. */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "fileshort.h"
#include "folded.h"
#include "json.h"
#include "output.h"
#include "proc.h"
#include "profile.h"
#include "pyinterp.h"
#include "strtab.h"
#include "textesc.h"
#include "outfile.h"

/* A global the ELF test looks up in this very binary. */
int gilscope_test_marker = 42;

START_TEST(test_strtab)
{
    struct strtab *t = strtab_new();
    uint32_t a = strtab_intern(t, "alpha", 5), b = strtab_intern(t, "beta", 4);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_eq(strtab_intern(t, "alphabet", 5), a);  /* length-bounded */
    for (int i = 0; i < 5000; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "s%d", i);
        uint32_t id = strtab_intern(t, buf, (size_t)n);
        ck_assert_str_eq(strtab_get(t, id), buf);
    }
    ck_assert_str_eq(strtab_get(t, a), "alpha");
    ck_assert_str_eq(strtab_get(t, 999999), "");
    ck_assert_uint_eq(strtab_count(t), 5002);
    strtab_free(t);
}
END_TEST

static struct frame mkframe(struct strtab *t, const char *name, const char *file, int line, int first)
{
    struct frame f = { .name = strtab_intern(t, name, strlen(name)),
                       .file = strtab_intern(t, file, strlen(file)), .line = line,
                       .first_line = first, .kind = FRAME_PYTHON };
    return f;
}

/* Render P as folded text into a heap string (caller frees). */
static char *render(struct profile *p, struct strtab *t, const struct folded_opts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(folded_write(f, p, t, NULL, o), 0);
    fclose(f);
    return buf;
}

START_TEST(test_folded)
{
    struct strtab *t = strtab_new();
    struct profile *p = profile_new();
    /* Leaf first, as the walk stores them. */
    struct frame s1[2] = { mkframe(t, "leaf", "/a/m.py", 7, 5), mkframe(t, "<module>", "/a/main.py", 3, 1) };
    struct frame s2[2] = { mkframe(t, "leaf", "/a/m.py", 8, 5), mkframe(t, "<module>", "/a/main.py", 3, 1) };
    struct frame s3[1] = { mkframe(t, "we;ird\nname", "/a/x.py", 1, 1) };
    struct profile_stack a = { .pid = 1, .tid = 11, .thread_name = strtab_intern(t, "MainThread", 10),
                               .nframes = 2, .frames = s1 };
    struct profile_stack b = a, c = a, d = a;
    b.frames = s2;
    c.tid = 12;
    c.thread_name = strtab_intern(t, "worker", 6);
    d.frames = s3;
    d.nframes = 1;
    ck_assert_int_eq(profile_add_stack(p, &a, 3), 0);
    ck_assert_int_eq(profile_add_stack(p, &a, 2), 0);
    ck_assert_int_eq(profile_add_stack(p, &b, 1), 0);
    ck_assert_int_eq(profile_add_stack(p, &c, 4), 0);
    ck_assert_int_eq(profile_add_stack(p, &d, 1), 0);
    ck_assert_uint_eq(profile_size(p), 4);
    ck_assert_uint_eq(profile_total(p), 11);

    struct folded_opts o = { 0 };
    char *text = render(p, t, &o);
    /* Without --threads, a and c are the same stack: 5 + 4. */
    ck_assert_str_eq(text, "<module> (/a/main.py:3);leaf (/a/m.py:7) 9\n"
                           "<module> (/a/main.py:3);leaf (/a/m.py:8) 1\n"
                           "we:ird\\x0aname (/a/x.py:1) 1\n");
    free(text);

    o.function = 1;
    text = render(p, t, &o);
    ck_assert_str_eq(text, "<module> (/a/main.py:1);leaf (/a/m.py:5) 10\n"
                           "we:ird\\x0aname (/a/x.py:1) 1\n");
    free(text);

    o = (struct folded_opts){ .threads = 1, .nolineno = 1 };
    text = render(p, t, &o);
    ck_assert_str_eq(text, "thread (11): MainThread;<module> (/a/main.py);leaf (/a/m.py) 6\n"
                           "thread (11): MainThread;we:ird\\x0aname (/a/x.py) 1\n"
                           "thread (12): worker;<module> (/a/main.py);leaf (/a/m.py) 4\n");
    free(text);
    profile_free(p);
    strtab_free(t);
}
END_TEST

static int fake_has_init(const char *dir, void *ctx)
{
    (void)ctx;
    return strcmp(dir, "/usr/lib/python3.11/json") == 0 || strcmp(dir, "/srv/app/pkg") == 0 ||
           strcmp(dir, "/srv/app/pkg/sub") == 0;
}

START_TEST(test_fileshort)
{
    char out[256];
    fileshort_path("/usr/lib/python3.11/json/decoder.py", fake_has_init, NULL, out, sizeof out);
    ck_assert_str_eq(out, "json/decoder.py");
    fileshort_path("/usr/lib/python3.11/threading.py", fake_has_init, NULL, out, sizeof out);
    ck_assert_str_eq(out, "threading.py");
    fileshort_path("/srv/app/pkg/sub/mod.py", fake_has_init, NULL, out, sizeof out);
    ck_assert_str_eq(out, "pkg/sub/mod.py");
    fileshort_path("<frozen importlib._bootstrap>", fake_has_init, NULL, out, sizeof out);
    ck_assert_str_eq(out, "<frozen importlib._bootstrap>");
    fileshort_path("relative/x.py", fake_has_init, NULL, out, sizeof out);
    ck_assert_str_eq(out, "relative/x.py");
}
END_TEST

START_TEST(test_version_parsing)
{
    int ma = 0, mi = 0, mc = 0;
    const char v1[] = "junk\0" "3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]";
    ck_assert_int_eq(pyinterp_parse_version_string(v1, sizeof v1, &ma, &mi, &mc), 0);
    ck_assert_int_eq(ma, 3);
    ck_assert_int_eq(mi, 11);
    ck_assert_int_eq(mc, 2);
    const char v2[] = "requires 3.8.3 or higher; 2.7.18 (default, Apr 20 2020)";
    ck_assert_int_eq(pyinterp_parse_version_string(v2, sizeof v2, &ma, &mi, &mc), 0);
    ck_assert_int_eq(ma, 2);
    ck_assert_int_eq(mi, 7);
    ck_assert_int_eq(mc, 18);
    const char v3[] = "3.13.0rc1+ (heads/3.13:abc, Oct 1 2024)";
    ck_assert_int_eq(pyinterp_parse_version_string(v3, sizeof v3, &ma, &mi, &mc), 0);
    ck_assert_int_eq(mi, 13);
    const char v4[] = "13.11.2 (x) 3.11 (y) 3.1x.2 (z)";
    ck_assert_int_eq(pyinterp_parse_version_string(v4, sizeof v4, &ma, &mi, &mc), -ENOENT);

    ck_assert_int_eq(pyinterp_parse_lib_name("libpython3.11.so.1.0", &ma, &mi), 0);
    ck_assert_int_eq(mi, 11);
    ck_assert_int_eq(pyinterp_parse_lib_name("libpython3.6m.so", &ma, &mi), 0);
    ck_assert_int_eq(mi, 6);
    ck_assert_int_eq(pyinterp_parse_lib_name("python2.7", &ma, &mi), 0);
    ck_assert_int_eq(ma, 2);
    ck_assert_int_eq(pyinterp_parse_lib_name("python3.11-config", &ma, &mi), -ENOENT);
    ck_assert_int_eq(pyinterp_parse_lib_name("bash", &ma, &mi), -ENOENT);
}
END_TEST

START_TEST(test_elfsym)
{
    char err[256];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    struct elfsym *e = elfsym_open(exe, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    uint64_t addr = 0, size = 0;
    ck_assert_int_eq(elfsym_lookup(e, "gilscope_test_marker", &addr, &size), 0);
    ck_assert_uint_eq(size, sizeof(int));
    /* The link-time address plus this process's load bias is the variable itself. */
    uint64_t bias = (uint64_t)(uintptr_t)&gilscope_test_marker - addr;
    ck_assert_uint_eq(bias & 0xfff, 0);
    int v = 0;
    ck_assert_int_eq(elfsym_read(e, addr, &v, sizeof v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(elfsym_lookup(e, "no_such_symbol_anywhere", &addr, &size), -ENOENT);
    ck_assert_int_eq(elfsym_section(e, ".data", &addr, &size), 0);
    ck_assert_int_eq(elfsym_section(e, ".nonexistent", &addr, &size), -ENOENT);
    struct elfsym_range r[8];
    ck_assert_uint_ge(elfsym_writable(e, r, 8), 1);
    elfsym_close(e);

    ck_assert_ptr_null(elfsym_open("/nonexistent/file", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/file"));
    ck_assert_ptr_null(elfsym_open("/proc/self/status", err, sizeof err));
}
END_TEST

/* An ELF file whose program-header count comes from section 0 (PN_XNUM)
 * and says four billion, with the table itself outside the file: found by
 * fuzz_elfsym. elfsym used to call gelf_getphdr for each of the four billion
 * (minutes; Check's timeout fails it); libelf gives the table whole or not
 * at all, so the first failure ends the walk. */
START_TEST(test_elfsym_phnum_xnum)
{
    Elf64_Ehdr eh = {0};
    Elf64_Shdr sh0 = {0};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = 1ull << 46;
    eh.e_shoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = PN_XNUM;
    eh.e_shentsize = sizeof sh0;
    eh.e_shnum = 1;
    sh0.sh_info = 0xFFFFFFFFu;

    char path[] = "/tmp/gilscope-test-elf-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, &eh, sizeof eh), (ssize_t)sizeof eh);
    ck_assert_int_eq(write(fd, &sh0, sizeof sh0), (ssize_t)sizeof sh0);
    close(fd);

    char err[256];
    struct elfsym *e = elfsym_open(path, err, sizeof err);
    unlink(path);
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_uint_eq(elfsym_load_base(e), 0);
    struct elfsym_range r[4];
    ck_assert_uint_eq(elfsym_writable(e, r, 4), 0);
    uint8_t b;
    ck_assert_int_eq(elfsym_read(e, 0, &b, 1), -EFAULT);
    uint64_t addr, size;
    ck_assert_int_eq(elfsym_lookup(e, "_PyRuntime", &addr, &size), -ENOENT);
    elfsym_close(e);
}
END_TEST

START_TEST(test_json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_string(f, "a\"b\\c\n\x01 \xd1\x84 \xe9 \xf0\x9f\x92\xa9");
    fclose(f);
    ck_assert_str_eq(buf, "\"a\\\"b\\\\c\\u000a\\u0001 \xd1\x84 \\ufffd \xf0\x9f\x92\xa9\"");
    free(buf);
}
END_TEST

START_TEST(test_syscall_parse)
{
    long nr = 0;
    uint64_t a[2] = { 1, 1 };
    const char blocked[] = "230 0x1 0x0 0x7ffd 0x0 0x0 0x0 0x7ffc 0x7f12\n";
    ck_assert_int_eq(proc_syscall_parse(blocked, sizeof blocked - 1, &nr, NULL), 0);
    ck_assert_int_eq(nr, 230);
    const char futex[] = "202 0x7f5e2c1fe0a8 0x189 0x0 0x0 0x0 0xffffffff 0x7ffd 0x7f12\n";
    ck_assert_int_eq(proc_syscall_parse(futex, sizeof futex - 1, &nr, a), 0);
    ck_assert_int_eq(nr, 202);
    ck_assert_uint_eq(a[0], 0x7f5e2c1fe0a8ull);
    ck_assert_uint_eq(a[1], 0x189);
    const char user[] = "-1 0x7ffc8 0x55d1\n";
    ck_assert_int_eq(proc_syscall_parse(user, sizeof user - 1, &nr, a), 0);
    ck_assert_int_eq(nr, -1);
    ck_assert_uint_eq(a[0], 0);
    ck_assert_uint_eq(a[1], 0);
    ck_assert_int_eq(proc_syscall_parse("running\n", 8, &nr, a), 0);
    ck_assert_int_eq(nr, -2);
    ck_assert_int_eq(proc_syscall_parse("202 0xzz 0x1\n", 13, &nr, a), 0);
    ck_assert_uint_eq(a[0], 0);
    /* An exited thread (no stack) is not one stopped in user space. */
    ck_assert_int_eq(proc_syscall_parse("-1 0x0 0x0\n", 11, &nr, a), -ESRCH);
    ck_assert_int_eq(proc_syscall_parse("-1 0x0 0x0", 10, &nr, NULL), -ESRCH);
    ck_assert_int_eq(proc_syscall_parse("-1 0x0 0x0a\n", 12, &nr, NULL), 0);
    ck_assert_int_eq(proc_syscall_parse("", 0, &nr, NULL), -EINVAL);
    ck_assert_int_eq(proc_syscall_parse("x12 0x1", 7, &nr, NULL), -EINVAL);
    ck_assert_int_eq(proc_syscall_parse("-7 0x1", 6, &nr, NULL), -EINVAL);
    ck_assert_int_eq(proc_syscall_parse("12abc", 5, &nr, NULL), -EINVAL);
}
END_TEST

START_TEST(test_schedstat_parse)
{
    struct proc_schedstat s = { 0 };
    const char typical[] = "107677290 41224669 37\n";
    ck_assert_int_eq(proc_schedstat_parse(typical, sizeof typical - 1, &s), 0);
    ck_assert_uint_eq(s.run_ns, 107677290);
    ck_assert_uint_eq(s.wait_ns, 41224669);
    ck_assert_uint_eq(s.slices, 37);
    ck_assert_int_eq(proc_schedstat_parse("0 0 0\n", 6, &s), 0);
    ck_assert_uint_eq(s.run_ns + s.wait_ns + s.slices, 0);
    ck_assert_int_eq(proc_schedstat_parse("18446744073709551615 1 2", 24, &s), 0);
    ck_assert_uint_eq(s.run_ns, UINT64_MAX);
    ck_assert_int_eq(proc_schedstat_parse("18446744073709551616 1 2", 24, &s), -EINVAL);
    ck_assert_int_eq(proc_schedstat_parse("", 0, &s), -EINVAL);
    ck_assert_int_eq(proc_schedstat_parse("1 2", 3, &s), -EINVAL);
    ck_assert_int_eq(proc_schedstat_parse("1 2 x", 5, &s), -EINVAL);
    ck_assert_int_eq(proc_schedstat_parse("1 2 3x", 6, &s), -EINVAL);
    ck_assert_int_eq(proc_schedstat_parse("-1 2 3", 6, &s), -EINVAL);
    /* The length is respected: the text need not end in NUL. */
    ck_assert_int_eq(proc_schedstat_parse("1 2 34", 5, &s), 0);
    ck_assert_uint_eq(s.slices, 3);
}
END_TEST

START_TEST(test_output_for_path)
{
    ck_assert_ptr_eq(output_for_path("out.folded"), output_find("raw"));
    ck_assert_ptr_eq(output_for_path("/x/py-spy.txt"), output_find("raw"));
    ck_assert_ptr_eq(output_for_path("a.svg"), output_find("flamegraph"));
    ck_assert_ptr_null(output_for_path("profile.dat"));
    ck_assert_ptr_null(output_for_path("svg"));
    ck_assert_ptr_null(output_for_path(""));
}
END_TEST

START_TEST(test_textesc)
{
    char out[64];
    /* ESC, BEL, newline, DEL and a C1 control (U+009B, C2 9B) escaped;
     * other UTF-8 kept whole. */
    textesc_copy(out, sizeof out, 0, "a\x1b[2J\x07\n\x7f\xc2\x9b\xc3\xbc\xe2\x82\xac");
    ck_assert_str_eq(out, "a\\x1b[2J\\x07\\x0a\\x7f\\x9b\xc3\xbc\xe2\x82\xac");
    /* Appends at AT; never splits an escape or a character. */
    size_t at = textesc_copy(out, sizeof out, 0, "ab");
    ck_assert_uint_eq(textesc_copy(out, sizeof out, at, "c"), 3);
    ck_assert_str_eq(out, "abc");
    char small[6];
    ck_assert_uint_eq(textesc_copy(small, sizeof small, 0, "ab\x1b"), 2);
    ck_assert_str_eq(small, "ab");
    ck_assert_uint_eq(textesc_copy(small, sizeof small, 0, "abcd\xe2\x82\xac"), 4);
    ck_assert_str_eq(small, "abcd");
    /* fputs: the same, in pieces, whatever the length. */
    char *big = malloc(1001);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i < 1000; i++)
        big[i] = i % 50 == 0 ? '\n' : 'x';
    big[1000] = '\0';
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(textesc_fputs(big, f), 0);
    fclose(f);
    ck_assert_uint_eq(len, 1000 + 20 * 3);
    ck_assert_ptr_null(strchr(text, '\n'));
    free(text);
    free(big);
}
END_TEST

START_TEST(test_outfile)
{
    char dir[] = "/tmp/gilscope-outfile-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    /* Until committed, the old file stays; aborted, it is untouched. */
    struct outfile of;
    ck_assert_int_eq(outfile_open(&of, path), 0);
    fputs("new", of.f);
    fflush(of.f);
    char buf[16] = "";
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "old");
    outfile_abort(&of);
    ck_assert_int_eq(outfile_open(&of, path), 0);
    fputs("new", of.f);
    ck_assert_int_eq(outfile_commit(&of), 0);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "new");
    /* No temporary file is left behind either way. */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* A device is written in place, and its error is the real one. */
    ck_assert_int_eq(outfile_open(&of, "/dev/full"), 0);
    fputs("x", of.f);
    ck_assert_int_eq(outfile_commit(&of), -ENOSPC);
    /* A missing directory: the error, nothing created. */
    snprintf(path, sizeof path, "%s/no/such/out.txt", dir);
    ck_assert_int_eq(outfile_open(&of, path), -ENOENT);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_strtab);
    tcase_add_test(tc, test_folded);
    tcase_add_test(tc, test_fileshort);
    tcase_add_test(tc, test_version_parsing);
    tcase_add_test(tc, test_elfsym);
    tcase_add_test(tc, test_elfsym_phnum_xnum);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_syscall_parse);
    tcase_add_test(tc, test_schedstat_parse);
    tcase_add_test(tc, test_output_for_path);
    tcase_add_test(tc, test_textesc);
    tcase_add_test(tc, test_outfile);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
