/* Unit tests: corefile, on a core of this very process written here as the
 * kernel writes one (ELF header, program headers, the notes, then memory):
 * a page of its data, the first page of its executable, the rest of the
 * executable left out so that it is read from the file. Then the same core
 * cut short at many lengths and with random bytes changed must never crash
 * (run under ASan by make asan). */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "corefile.h"
#include "unit.h"

#define PAGE 4096u
#if defined(__aarch64__)
#define UNIT_MACHINE EM_AARCH64
#else
#define UNIT_MACHINE EM_X86_64
#endif

/* Read from the core (a page of it is in the core), and from the file
 * (its read-only mapping is left out of the core). */
static char core_data[64] = "gilscope: as the executable has it";
static const char core_rodata[] = "gilscope: read-only data from the executable on disk";

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void pad4(struct buf *b)
{
    static const char zero[4];
    put(b, zero, (4 - b->n % 4) % 4);
}

static void note(struct buf *b, uint32_t type, const void *desc, size_t n)
{
    Elf64_Nhdr h = { .n_namesz = 5, .n_descsz = (uint32_t)n, .n_type = type };
    put(b, &h, sizeof h);
    put(b, "CORE", 5);
    pad4(b);
    put(b, desc, n);
    pad4(b);
}

/* Append our own page at ADDR, copied by the kernel: a page of globals is
 * mostly ASan's red zones, which the test may not read itself. */
static void put_page(struct buf *b, uint64_t addr)
{
    unsigned char page[PAGE];
    int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, page, PAGE, (off_t)addr), (ssize_t)PAGE);
    close(fd);
    put(b, page, PAGE);
}

struct self_map {
    uint64_t start, end, off;
};

/* The mappings of our own executable, from /proc/self/maps. */
static size_t exe_maps(const char *exe, struct self_map *out, size_t max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096 + 128];
    size_t n = 0;
    ck_assert_ptr_nonnull(f);
    while (n < max && fgets(line, sizeof line, f)) {
        unsigned long long s, e, o;
        char path[4096] = "";
        if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &s, &e, &o, path) == 4 && strcmp(path, exe) == 0)
            out[n++] = (struct self_map){ s, e, o };
    }
    fclose(f);
    return n;
}

struct core_image {
    struct buf b;
    uint64_t data_page;     /* address of the page with core_data */
    char exe[4096];
    size_t notes_end;       /* bytes of headers and notes */
};

/* A core of this process (see the top of the file) into IMG. */
static void make_core(struct core_image *img)
{
    ssize_t len = readlink("/proc/self/exe", img->exe, sizeof img->exe - 1);
    ck_assert_int_gt(len, 0);
    img->exe[len] = '\0';
    struct self_map maps[32];
    size_t nmaps = exe_maps(img->exe, maps, 32);
    ck_assert_uint_gt(nmaps, 1);

    struct buf notes = { 0 };
    struct elf_prpsinfo ps = { .pr_pid = getpid() };
    snprintf(ps.pr_fname, sizeof ps.pr_fname, "unit");
    note(&notes, NT_PRPSINFO, &ps, sizeof ps);
    pid_t tids[2] = { 4242, getpid() };
    for (int i = 0; i < 2; i++) {
        struct elf_prstatus st = { .pr_pid = tids[i] };
        note(&notes, NT_PRSTATUS, &st, sizeof st);
    }
    uint64_t auxv[4] = { AT_ENTRY, getauxval(AT_ENTRY), AT_NULL, 0 };
    note(&notes, NT_AUXV, auxv, sizeof auxv);
    struct buf file = { 0 };
    uint64_t head[2] = { nmaps, PAGE };
    put(&file, head, sizeof head);
    for (size_t i = 0; i < nmaps; i++) {
        uint64_t e[3] = { maps[i].start, maps[i].end, maps[i].off / PAGE };
        put(&file, e, sizeof e);
    }
    for (size_t i = 0; i < nmaps; i++)
        put(&file, img->exe, strlen(img->exe) + 1);
    note(&notes, NT_FILE, file.p, file.n);
    free(file.p);

    /* Segments: the data page (changed since the start, so only the core
     * has what it holds now) and the executable's first page; the rest of
     * the executable is left out, as the kernel leaves out what it can
     * read again from the file. */
    snprintf(core_data, sizeof core_data, "gilscope: data in the core");
    img->data_page = (uint64_t)(uintptr_t)core_data & ~(uint64_t)(PAGE - 1);
    ck_assert_uint_le((uint64_t)(uintptr_t)core_data + sizeof core_data, img->data_page + PAGE);
    size_t nph = 3;
    size_t data_off = (sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr) + notes.n + PAGE - 1) & ~(size_t)(PAGE - 1);
    Elf64_Ehdr eh = { .e_type = ET_CORE, .e_machine = UNIT_MACHINE, .e_version = EV_CURRENT,
                      .e_phoff = sizeof eh, .e_ehsize = sizeof eh, .e_phentsize = sizeof(Elf64_Phdr),
                      .e_phnum = (Elf64_Half)nph };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    memset(&img->b, 0, sizeof img->b);
    put(&img->b, &eh, sizeof eh);
    Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = sizeof eh + nph * sizeof ph, .p_filesz = notes.n, .p_align = 4 };
    put(&img->b, &ph, sizeof ph);
    ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = data_off, .p_vaddr = img->data_page,
                       .p_filesz = PAGE, .p_memsz = PAGE, .p_align = 1 };
    put(&img->b, &ph, sizeof ph);
    ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = data_off + PAGE, .p_vaddr = maps[0].start,
                       .p_filesz = PAGE, .p_memsz = PAGE, .p_align = 1 };
    put(&img->b, &ph, sizeof ph);
    put(&img->b, notes.p, notes.n);
    img->notes_end = img->b.n;
    free(notes.p);
    static const char zero[PAGE];
    put(&img->b, zero, data_off - img->b.n);
    put_page(&img->b, img->data_page);
    put_page(&img->b, maps[0].start);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static char core_path[64];

static void setup(void)
{
    snprintf(core_path, sizeof core_path, "/tmp/gilscope-unit-core.%d", (int)getpid());
}

static void teardown(void)
{
    unlink(core_path);
}

START_TEST(test_core_of_self)
{
    struct core_image img;
    make_core(&img);
    write_file(core_path, img.b.p, img.b.n);
    char err[512] = "";
    struct corefile *c = corefile_open(core_path, NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_null(corefile_warning(c, 0));
    ck_assert_int_eq(corefile_pid(c), getpid());
    ck_assert_str_eq(corefile_comm(c), "unit");
    ck_assert_str_eq(corefile_exe(c), img.exe);
    struct proc_tasks t;
    ck_assert_int_eq(corefile_tasks(c, &t), 0);
    ck_assert_uint_eq(t.n, 2);
    ck_assert_int_eq(t.tid[0] < t.tid[1], 1);
    proc_tasks_free(&t);
    char got[sizeof core_rodata];
    ck_assert_int_eq(corefile_read(c, (uint64_t)(uintptr_t)core_data, got, 27), 0);
    ck_assert_str_eq(got, core_data);
    /* Left out of the core: read from the executable on disk. */
    ck_assert_int_eq(corefile_read(c, (uint64_t)(uintptr_t)core_rodata, got, sizeof got), 0);
    ck_assert_str_eq(got, core_rodata);
    ck_assert_int_eq(corefile_read(c, 4096, got, 8), -EFAULT);
    ck_assert_int_eq(corefile_read(c, UINT64_MAX - 3, got, 8), -EFAULT);
    ck_assert_int_eq(corefile_read(c, img.data_page + PAGE - 4, got, 8), corefile_read(c, img.data_page + PAGE, got, 4));
    struct proc_maps m;
    ck_assert_int_eq(corefile_maps(c, &m), 0);
    ck_assert_uint_gt(m.n, 1);
    ck_assert_uint_eq(m.v[0].offset, 0);
    ck_assert_str_eq(m.v[0].path, img.exe);
    proc_maps_free(&m);
    /* Through a proc_mem, as the walker reads. */
    struct proc_mem pm;
    struct proc_mem_source src = corefile_source(c);
    proc_mem_open_source(&pm, corefile_pid(c), &src);
    memset(got, 0, sizeof got);
    ck_assert_int_eq(proc_mem_read(&pm, (uint64_t)(uintptr_t)core_data, got, 27), 0);
    ck_assert_str_eq(got, core_data);
    ck_assert_int_eq(proc_mem_tasks(&pm, &t), 0);
    ck_assert_uint_eq(t.n, 2);
    proc_tasks_free(&t);
    proc_mem_close(&pm);
    corefile_close(c);

    /* Another program for the executable: its build id differs. */
    const char *other = access("/bin/true", R_OK) == 0 ? "/bin/true" : "/usr/bin/true";
    c = corefile_open(core_path, other, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_nonnull(corefile_warning(c, 0));
    ck_assert_msg(strstr(corefile_warning(c, 0), "build id") && strstr(corefile_warning(c, 0), other),
                  "%s", corefile_warning(c, 0));
    ck_assert_str_eq(corefile_exe(c), other);
    corefile_close(c);
    free(img.b.p);
}
END_TEST

START_TEST(test_not_a_core)
{
    char err[512];
    write_file(core_path, "hello\n", 6);
    ck_assert_ptr_null(corefile_open(core_path, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "not an ELF file"), "%s", err);
    ck_assert_ptr_null(corefile_open("/proc/self/exe", NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "not a core file"), "%s", err);
    ck_assert_ptr_null(corefile_open("/nonexistent/core", NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot open"), "%s", err);
    ck_assert_ptr_null(corefile_open("/tmp", NULL, err, sizeof err));
}
END_TEST

/* Open C's core and read what a dump would: no crash, whatever it holds. */
static void exercise(const char *path)
{
    char err[512], got[64];
    struct corefile *c = corefile_open(path, NULL, err, sizeof err);
    if (!c) {
        ck_assert_uint_gt(strlen(err), 0);
        ck_assert_ptr_null(strchr(err, '\n'));
        return;
    }
    for (size_t i = 0; corefile_warning(c, i); i++)
        ck_assert_uint_gt(strlen(corefile_warning(c, i)), 0);
    corefile_read(c, (uint64_t)(uintptr_t)core_data, got, sizeof got);
    corefile_read(c, (uint64_t)(uintptr_t)core_rodata, got, sizeof got);
    struct proc_maps m;
    struct proc_tasks t;
    if (corefile_maps(c, &m) == 0)
        proc_maps_free(&m);
    if (corefile_tasks(c, &t) == 0)
        proc_tasks_free(&t);
    (void)corefile_exe(c);
    corefile_close(c);
}

START_TEST(test_truncated_and_damaged)
{
    struct core_image img;
    make_core(&img);
    /* Cut short everywhere in the headers and notes, then in memory. */
    for (size_t cut = 0; cut < img.b.n; cut += cut < img.notes_end + 64 ? 7 : 509) {
        write_file(core_path, img.b.p, cut);
        exercise(core_path);
    }
    /* Random bytes changed in the headers and notes. */
    unsigned seed = 7;
    unsigned char *copy = malloc(img.b.n);
    ck_assert_ptr_nonnull(copy);
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, img.b.p, img.b.n);
        for (int k = 0; k < 1 + round % 8; k++)
            copy[rand_r(&seed) % img.notes_end] = (unsigned char)rand_r(&seed);
        write_file(core_path, copy, img.b.n);
        exercise(core_path);
    }
    free(copy);
    free(img.b.p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("corefile");
    TCase *tc = tcase_create("corefile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_core_of_self);
    tcase_add_test(tc, test_not_a_core);
    tcase_add_test(tc, test_truncated_and_damaged);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
