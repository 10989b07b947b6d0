/* corefile — see include/corefile.h.
 *
 * The structure (ELF header, program headers, notes) is read through
 * libelf; memory is read with pread at the offsets the program headers
 * give, since libelf would keep a copy of every chunk it hands out until
 * the end, and a dump reads thousands of small pieces. */
#include "corefile.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include "elfsym.h"

#if defined(__x86_64__)
#define COREFILE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define COREFILE_MACHINE EM_AARCH64
#else
#error "corefile: the NT_PRSTATUS layout of this machine is not known"
#endif

#define MAX_SEGMENTS (1u << 20)     /* bound on program headers, mappings and threads */
#define MAX_FILES 8192              /* bound on distinct mapped files (looked up by name) */
#define MAX_WARNINGS 16             /* further problems are counted in one last line */
#define HEADER_PAGE 4096            /* what a core keeps of each mapped ELF file */
#define BUILD_ID_MAX 64

struct segment {            /* a PT_LOAD: memory the core holds */
    uint64_t vaddr, memsz;
    uint64_t offset, filesz;    /* where in the core; FILESZ cut to what the file has */
    uint32_t flags;             /* PF_R, PF_W, PF_X */
};

struct mapping {            /* an NT_FILE entry: memory mapped from a file */
    uint64_t start, end, offset;
    size_t file;                /* index into files */
};

struct thread {            /* an NT_PRSTATUS note */
    pid_t tid;
    int have_regs;              /* the note held pr_reg whole */
    struct user_regs_struct regs;
};

/* pr_reg is the kernel's user_regs_struct: copied as one. */
_Static_assert(sizeof ((struct elf_prstatus *)0)->pr_reg == sizeof(struct user_regs_struct),
               "corefile: pr_reg is not a user_regs_struct");

struct mapped_file {
    char *path;                 /* as the core names it, or --executable's */
    int fd;                     /* open on first use; -1 when it cannot be */
    int tried;                  /* an open was tried */
};

struct corefile {
    int fd;
    uint64_t size;              /* of the core file */
    struct segment *seg;        /* by vaddr */
    size_t nseg;
    struct mapping *map;        /* by start */
    size_t nmap;
    struct mapped_file *files;
    size_t nfiles;
    struct thread *tids;        /* by tid, distinct */
    size_t ntids;
    pid_t pid;
    char comm[sizeof ((struct elf_prpsinfo *)0)->pr_fname + 1];  /* the process's name */
    uint64_t entry;             /* AT_ENTRY, 0 when not given */
    uint64_t vdso;              /* AT_SYSINFO_EHDR, 0 when not given */
    size_t exe;                 /* index into files; nfiles when unknown */
    char *warnings[MAX_WARNINGS + 1];
    size_t nwarnings, dropped;
};

static void warn(struct corefile *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keep one warning line (the caller prints them); past MAX_WARNINGS
 * only count them, and say how many in a last line. */
static void warn(struct corefile *c, const char *fmt, ...)
{
    char buf[PATH_MAX + 256];
    if (c->nwarnings >= MAX_WARNINGS) {
        c->dropped++;
        free(c->warnings[MAX_WARNINGS]);
        snprintf(buf, sizeof buf, "%zu more problems with the core's files", c->dropped);
        c->warnings[MAX_WARNINGS] = strdup(buf);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if ((c->warnings[c->nwarnings] = strdup(buf)) != NULL)
        c->nwarnings++;
}

const char *corefile_warning(const struct corefile *c, size_t i)
{
    if (i < c->nwarnings)
        return c->warnings[i];
    return i == c->nwarnings && c->dropped ? c->warnings[MAX_WARNINGS] : NULL;
}

/* All LEN bytes at OFF of FD into BUF; 0, or -EFAULT when the file ends
 * first or cannot be read. */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        if (off + done > (uint64_t)INT64_MAX)
            return -EFAULT;
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -EFAULT;
        done += (size_t)r;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* memory                                                              */

/* The last element of V (N of them, sorted by the uint64_t at KEY_OFF
 * within each SIZE-byte element) whose key is <= ADDR; N when none. */
static size_t last_at_or_below(const void *v, size_t n, size_t size, size_t key_off, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t key;
        memcpy(&key, (const char *)v + mid * size + key_off, sizeof key);
        if (key <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : n;
}

/* The descriptor of file F, opened on first use; -1 when it cannot be. */
static int file_fd(struct corefile *c, size_t f)
{
    struct mapped_file *mf = &c->files[f];
    if (!mf->tried) {
        mf->tried = 1;
        mf->fd = open(mf->path, O_RDONLY | O_CLOEXEC);
    }
    return mf->fd;
}

/* Copy the start of [ADDR, ADDR+LEN) that one source holds: a segment of
 * the core, or (FILES) the file of a mapping the core left out. Returns
 * the bytes copied, 0 when ADDR is in neither. */
static size_t read_piece(struct corefile *c, uint64_t addr, void *buf, size_t len, int files)
{
    size_t i = last_at_or_below(c->seg, c->nseg, sizeof *c->seg, offsetof(struct segment, vaddr), addr);
    if (i < c->nseg && addr - c->seg[i].vaddr < c->seg[i].filesz) {
        const struct segment *s = &c->seg[i];
        uint64_t left = s->filesz - (addr - s->vaddr);
        size_t n = left < len ? (size_t)left : len;
        return pread_all(c->fd, buf, n, s->offset + (addr - s->vaddr)) == 0 ? n : 0;
    }
    if (!files)
        return 0;
    i = last_at_or_below(c->map, c->nmap, sizeof *c->map, offsetof(struct mapping, start), addr);
    if (i == c->nmap || addr >= c->map[i].end)
        return 0;
    const struct mapping *m = &c->map[i];
    int fd = file_fd(c, m->file);
    uint64_t left = m->end - addr;
    size_t n = left < len ? (size_t)left : len;
    /* A mapping past the file's end would fault in the process too. */
    return fd >= 0 && pread_all(fd, buf, n, m->offset + (addr - m->start)) == 0 ? n : 0;
}

/* corefile_read, or with FILES 0 only what the core itself holds. */
static int read_mem(struct corefile *c, uint64_t addr, void *buf, size_t len, int files)
{
    while (len > 0) {
        size_t n = read_piece(c, addr, buf, len, files);
        if (n == 0 || addr + n < addr)
            return -EFAULT;
        addr += n;
        buf = (char *)buf + n;
        len -= n;
    }
    return 0;
}

int corefile_read(struct corefile *c, uint64_t addr, void *buf, size_t len)
{
    return read_mem(c, addr, buf, len, 1);
}

static int source_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return corefile_read(ctx, addr, buf, len);
}

static int source_tasks(void *ctx, struct proc_tasks *out)
{
    return corefile_tasks(ctx, out);
}

struct proc_mem_source corefile_source(struct corefile *c)
{
    return (struct proc_mem_source){ .read = source_read, .tasks = source_tasks, .ctx = c };
}

/* ------------------------------------------------------------------ */
/* notes                                                               */

/* Append N elements of SIZE bytes each to *V (count *NV, room *CAP),
 * growing it; the new slot's address, NULL when out of memory or past
 * MAX_SEGMENTS. */
static void *grow(void **v, size_t *nv, size_t *cap, size_t size)
{
    if (*nv >= MAX_SEGMENTS)
        return NULL;
    if (*nv == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *nvp = realloc(*v, ncap * size);
        if (!nvp)
            return NULL;
        *v = nvp;
        *cap = ncap;
    }
    return (char *)*v + (*nv)++ * size;
}

struct parse {              /* growth state while reading the notes */
    size_t segcap, mapcap, filecap, tidcap;
    int nomem;
};

/* The index of PATH in C's files, added when new; nfiles when out of memory. */
static size_t file_index(struct corefile *c, struct parse *p, const char *path)
{
    /* A file's mappings come one after another: the last one first. */
    for (size_t i = c->nfiles; i-- > 0;)
        if (strcmp(c->files[i].path, path) == 0)
            return i;
    if (c->nfiles >= MAX_FILES)
        return c->nfiles;
    char *copy = strdup(path);
    struct mapped_file *f = copy ? grow((void **)&c->files, &c->nfiles, &p->filecap, sizeof *f) : NULL;
    if (!f) {
        free(copy);
        p->nomem = 1;
        return c->nfiles;
    }
    *f = (struct mapped_file){ .path = copy, .fd = -1 };
    return c->nfiles - 1;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* NT_FILE: count, page size, COUNT (start, end, page offset) triples,
 * then COUNT NUL-terminated paths, all inside DESC (LEN bytes). */
static void parse_nt_file(struct corefile *c, struct parse *p, const unsigned char *desc, size_t len)
{
    if (len < 16)
        return;
    uint64_t count = get_u64(desc), page = get_u64(desc + 8);
    if (count > (len - 16) / 24 || page == 0 || (page & (page - 1)) || page > (1u << 30))
        return;
    const char *name = (const char *)desc + 16 + count * 24, *end = (const char *)desc + len;
    for (uint64_t i = 0; i < count; i++) {
        const char *nul = memchr(name, '\0', (size_t)(end - name));
        if (!nul)
            return;
        const unsigned char *e = desc + 16 + i * 24;
        uint64_t start = get_u64(e), stop = get_u64(e + 8), pgoff = get_u64(e + 16);
        const char *path = name;
        name = nul + 1;
        if (stop <= start || pgoff > UINT64_MAX / page || pgoff * page > UINT64_MAX - (stop - start))
            continue;
        size_t f = file_index(c, p, path);
        if (f == c->nfiles)
            continue;   /* past MAX_FILES, or out of memory (then noted) */
        struct mapping *m = grow((void **)&c->map, &c->nmap, &p->mapcap, sizeof *m);
        if (!m) {
            p->nomem = 1;
            return;
        }
        *m = (struct mapping){ .start = start, .end = stop, .offset = pgoff * page, .file = f };
        if (name >= end)
            return;
    }
}

static void parse_note(struct corefile *c, struct parse *p, const GElf_Nhdr *nh, const unsigned char *desc)
{
    size_t len = nh->n_descsz;
    switch (nh->n_type) {
    case NT_PRSTATUS:
        if (len >= offsetof(struct elf_prstatus, pr_pid) + sizeof(pid_t)) {
            struct thread *t = grow((void **)&c->tids, &c->ntids, &p->tidcap, sizeof *t);
            if (!t) {
                p->nomem = 1;
                break;
            }
            memset(t, 0, sizeof *t);
            memcpy(&t->tid, desc + offsetof(struct elf_prstatus, pr_pid), sizeof t->tid);
            t->have_regs = len >= offsetof(struct elf_prstatus, pr_reg) + sizeof t->regs;
            if (t->have_regs)
                memcpy(&t->regs, desc + offsetof(struct elf_prstatus, pr_reg), sizeof t->regs);
        }
        break;
    case NT_PRPSINFO:
        if (len >= offsetof(struct elf_prpsinfo, pr_pid) + sizeof(pid_t))
            memcpy(&c->pid, desc + offsetof(struct elf_prpsinfo, pr_pid), sizeof c->pid);
        if (len >= offsetof(struct elf_prpsinfo, pr_fname) + sizeof c->comm - 1)
            memcpy(c->comm, desc + offsetof(struct elf_prpsinfo, pr_fname), sizeof c->comm - 1);
        break;
    case NT_AUXV:
        for (size_t k = 0; k + 16 <= len; k += 16)
            if (get_u64(desc + k) == AT_ENTRY)
                c->entry = get_u64(desc + k + 8);
            else if (get_u64(desc + k) == AT_SYSINFO_EHDR)
                c->vdso = get_u64(desc + k + 8);
        break;
    case NT_FILE:
        parse_nt_file(c, p, desc, len);
        break;
    default:
        break;
    }
}

/* The notes of the PT_NOTE at OFF (LEN bytes). Returns 0, or -EFAULT when
 * the core does not hold them whole. */
static int parse_notes(struct corefile *c, struct parse *p, Elf *elf, uint64_t off, uint64_t len)
{
    if (off > c->size || len > c->size - off)
        return -EFAULT;
    Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)off, (size_t)len, ELF_T_NHDR);
    if (!d)
        return -EFAULT;
    GElf_Nhdr nh;
    size_t at = 0, name_off, desc_off, next;
    while ((next = gelf_getnote(d, at, &nh, &name_off, &desc_off)) > 0) {
        /* The process's notes are the kernel's ("CORE"); others (LINUX,
         * GDB) hold registers and descriptions of no use here. */
        if (nh.n_namesz == 5 && memcmp((const char *)d->d_buf + name_off, "CORE", 5) == 0)
            parse_note(c, p, &nh, (const unsigned char *)d->d_buf + desc_off);
        at = next;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* opening                                                             */

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct segment *)a)->vaddr, y = ((const struct segment *)b)->vaddr;
    return (x > y) - (x < y);
}

static int map_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct mapping *)a)->start, y = ((const struct mapping *)b)->start;
    return (x > y) - (x < y);
}

static int tid_cmp(const void *a, const void *b)
{
    pid_t x = ((const struct thread *)a)->tid, y = ((const struct thread *)b)->tid;
    return (x > y) - (x < y);
}

/* Read the program headers: segments into C, notes parsed. Returns 0 or
 * -EINVAL with ERR set. */
static int read_headers(struct corefile *c, struct parse *p, Elf *elf, const char *path, char *err, size_t errlen)
{
    GElf_Ehdr eh;
    size_t nph = 0;
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        snprintf(err, errlen, "%s is not an ELF file", path);
        return -EINVAL;
    }
    if (eh.e_type != ET_CORE) {
        snprintf(err, errlen, "%s is not a core file (an ELF file of type %u)", path, (unsigned)eh.e_type);
        return -EINVAL;
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != COREFILE_MACHINE) {
        snprintf(err, errlen, "%s is a core file of another kind of machine (ELF machine %u, class %u)", path,
                 (unsigned)eh.e_machine, (unsigned)eh.e_ident[EI_CLASS]);
        return -EINVAL;
    }
    /* A count of headers (PN_XNUM allows four billion) that the file
     * cannot hold is refused before any is looked at. */
    if (elf_getphdrnum(elf, &nph) != 0 || nph > MAX_SEGMENTS || eh.e_phoff > c->size ||
        nph * sizeof(Elf64_Phdr) > c->size - eh.e_phoff) {
        snprintf(err, errlen, "%s is truncated or damaged: its program headers are not all there", path);
        return -EINVAL;
    }
    int notes_ok = 0, notes_bad = 0, cut = 0;
    for (size_t i = 0; i < nph && !p->nomem; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            break;
        if (ph.p_type == PT_NOTE) {
            if (parse_notes(c, p, elf, ph.p_offset, ph.p_filesz) == 0)
                notes_ok = 1;
            else
                notes_bad = 1;
        } else if (ph.p_type == PT_LOAD && ph.p_memsz > 0 && ph.p_vaddr <= UINT64_MAX - ph.p_memsz) {
            struct segment *s = grow((void **)&c->seg, &c->nseg, &p->segcap, sizeof *s);
            if (!s) {
                p->nomem = 1;
                break;
            }
            uint64_t have = ph.p_offset < c->size ? c->size - ph.p_offset : 0;
            uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
            cut |= filesz > have;
            *s = (struct segment){ .vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .offset = ph.p_offset,
                                   .filesz = filesz < have ? filesz : have, .flags = ph.p_flags };
        }
    }
    if (p->nomem) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!notes_ok || notes_bad) {
        snprintf(err, errlen, "%s is truncated or damaged: its notes (threads, mapped files) are %s", path,
                 notes_ok ? "cut short" : "missing");
        return -EINVAL;
    }
    if (cut)
        warn(c, "%s is truncated: memory past its %llu bytes is missing", path, (unsigned long long)c->size);
    return 0;
}

/* Which file is the executable: the one mapped at the entry point, else
 * the lowest mapping of a file's start. nfiles when there is none. */
static size_t find_exe(const struct corefile *c)
{
    for (size_t i = 0; c->entry && i < c->nmap; i++)
        if (c->entry >= c->map[i].start && c->entry < c->map[i].end)
            return c->map[i].file;
    for (size_t i = 0; i < c->nmap; i++)
        if (c->map[i].offset == 0)
            return c->map[i].file;
    return c->nfiles;
}

static void hex(const uint8_t *id, size_t n, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at + 3 <= outlen; i++)
        at += (size_t)snprintf(out + at, outlen - at, "%02x", id[i]);
}

/* Check file F against the core, when the core holds its first page (an
 * ELF header: the kernel and gdb keep that page of every mapped ELF file,
 * and so its build id): warn when the file is missing or its build id
 * differs. Other files are opened when first read, silently. */
static void check_file(struct corefile *c, size_t f, const struct mapping *first)
{
    char page[HEADER_PAGE];
    if (!first || first->end - first->start < HEADER_PAGE ||
        read_mem(c, first->start, page, sizeof page, 0) != 0 || memcmp(page, ELFMAG, SELFMAG) != 0)
        return;
    const char *path = c->files[f].path;
    const char *hint = f == c->exe ? "; give the program with --executable" : "";
    int fd = file_fd(c, f);
    if (fd < 0) {
        warn(c, "%s, mapped in the core, cannot be opened (%s): its code and read-only data are not "
             "readable%s", path, strerror(errno), hint);
        return;
    }
    uint8_t want[BUILD_ID_MAX], got[BUILD_ID_MAX];
    size_t nw = elfsym_image_build_id(page, sizeof page, want, sizeof want);
    size_t ng = elfsym_fd_build_id(fd, got, sizeof got);
    if (nw && (ng != nw || memcmp(want, got, nw) != 0)) {
        char hw[2 * BUILD_ID_MAX + 1], hg[2 * BUILD_ID_MAX + 1];
        hex(want, nw, hw, sizeof hw);
        hex(got, ng, hg, sizeof hg);
        warn(c, "%s is not the file the core was made with (build id %s, the core's %s): what is read "
             "from it may be wrong%s", path, ng ? hg : "none", hw, hint);
    }
}

struct corefile *corefile_open(const char *path, const char *exe, char *err, size_t errlen)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
        return NULL;
    }
    struct corefile *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct stat st;
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0 || fstat(c->fd, &st) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        corefile_close(c);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a core file (not a regular file)", path);
        corefile_close(c);
        return NULL;
    }
    c->size = (uint64_t)st.st_size;
    struct parse p = { 0 };
    Elf *elf = elf_begin(c->fd, ELF_C_READ, NULL);
    int rc = elf ? read_headers(c, &p, elf, path, err, errlen) : -EINVAL;
    if (!elf)
        snprintf(err, errlen, "%s is not an ELF file", path);
    if (elf)
        elf_end(elf);
    if (rc == 0 && c->ntids == 0) {
        snprintf(err, errlen, "%s lists no threads (no NT_PRSTATUS note)", path);
        rc = -EINVAL;
    } else if (rc == 0 && c->nmap == 0) {
        snprintf(err, errlen, "%s lists no mapped files (no NT_FILE note)", path);
        rc = -EINVAL;
    }
    if (rc != 0) {
        corefile_close(c);
        return NULL;
    }
    if (c->nseg)    /* a core may hold no memory at all; qsort wants an array */
        qsort(c->seg, c->nseg, sizeof *c->seg, seg_cmp);
    if (c->nmap > 1)
        qsort(c->map, c->nmap, sizeof *c->map, map_cmp);
    if (c->ntids > 1)
        qsort(c->tids, c->ntids, sizeof *c->tids, tid_cmp);
    /* A damaged core may list a thread twice: one of its notes is kept. */
    size_t k = 0;
    for (size_t i = 0; i < c->ntids; i++)
        if (k == 0 || c->tids[k - 1].tid != c->tids[i].tid)
            c->tids[k++] = c->tids[i];
    c->ntids = k;
    if (c->pid <= 0)
        c->pid = c->tids[0].tid;
    c->exe = find_exe(c);
    if (exe && c->exe < c->nfiles) {
        char *copy = strdup(exe);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            corefile_close(c);
            return NULL;
        }
        free(c->files[c->exe].path);
        c->files[c->exe].path = copy;
    }
    /* Each file's mapping of its start, found in one pass over the mappings. */
    const struct mapping **first = calloc(c->nfiles, sizeof *first);
    if (!first) {
        snprintf(err, errlen, "out of memory");
        corefile_close(c);
        return NULL;
    }
    for (size_t i = 0; i < c->nmap; i++)
        if (c->map[i].offset == 0 && !first[c->map[i].file])
            first[c->map[i].file] = &c->map[i];
    for (size_t f = 0; f < c->nfiles; f++)
        check_file(c, f, first[f]);
    free(first);
    return c;
}

void corefile_close(struct corefile *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].fd >= 0)
            close(c->files[i].fd);
        free(c->files[i].path);
    }
    for (size_t i = 0; i <= MAX_WARNINGS; i++)
        free(c->warnings[i]);
    if (c->fd >= 0)
        close(c->fd);
    free(c->files);
    free(c->seg);
    free(c->map);
    free(c->tids);
    free(c);
}

/* ------------------------------------------------------------------ */
/* what the core says of the process                                   */

int corefile_maps(const struct corefile *c, struct proc_maps *out)
{
    out->v = c->nmap ? malloc(c->nmap * sizeof *out->v) : NULL;
    out->n = 0;
    if (c->nmap && !out->v)
        return -ENOMEM;
    for (size_t i = 0; i < c->nmap; i++) {
        struct proc_map *m = &out->v[i];
        const struct mapping *src = &c->map[i];
        size_t s = last_at_or_below(c->seg, c->nseg, sizeof *c->seg, offsetof(struct segment, vaddr), src->start);
        uint32_t fl = s < c->nseg && src->start - c->seg[s].vaddr < c->seg[s].memsz ? c->seg[s].flags : PF_R;
        m->start = src->start;
        m->end = src->end;
        m->offset = src->offset;
        snprintf(m->perms, sizeof m->perms, "%c%c%cp", fl & PF_R ? 'r' : '-', fl & PF_W ? 'w' : '-',
                 fl & PF_X ? 'x' : '-');
        snprintf(m->path, sizeof m->path, "%s", c->files[src->file].path);
    }
    out->n = c->nmap;
    return 0;
}

int corefile_tasks(const struct corefile *c, struct proc_tasks *out)
{
    out->tid = malloc(c->ntids * sizeof *out->tid);
    out->n = 0;
    if (!out->tid)
        return -ENOMEM;
    for (size_t i = 0; i < c->ntids; i++)
        out->tid[i] = c->tids[i].tid;
    out->n = c->ntids;
    return 0;
}

int corefile_regs(const struct corefile *c, pid_t tid, struct user_regs_struct *out)
{
    size_t lo = 0, hi = c->ntids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->tids[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->ntids || c->tids[lo].tid != tid || !c->tids[lo].have_regs)
        return -ESRCH;
    *out = c->tids[lo].regs;
    return 0;
}

int corefile_vdso(const struct corefile *c, uint64_t *start, uint64_t *end)
{
    size_t i = last_at_or_below(c->seg, c->nseg, sizeof *c->seg, offsetof(struct segment, vaddr), c->vdso);
    if (!c->vdso || i == c->nseg || c->seg[i].vaddr != c->vdso || c->seg[i].filesz == 0)
        return -ENOENT;
    *start = c->vdso;
    *end = c->vdso + c->seg[i].filesz;
    return 0;
}

pid_t corefile_pid(const struct corefile *c)
{
    return c->pid;
}

const char *corefile_comm(const struct corefile *c)
{
    return c->comm;
}

const char *corefile_exe(const struct corefile *c)
{
    return c->exe < c->nfiles ? c->files[c->exe].path : "";
}
