/* nativesym — see include/nativesym.h. */
#include "nativesym.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdwarf.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "elfsym.h"
#include "hashtab.h"
#include "proc.h"
#include "strtab.h"

/* The C++ ABI's demangler (libstdc++): a malloc-ed name, or NULL. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define BUILD_ID_MAX 64
#define REREAD_NS (100 * 1000000ull)
/* The per-IP cache is emptied when it reaches this, so a target running
 * through ever new code cannot grow it without bound. */
#define IPCACHE_MAX 65536
/* Longer names are printed mangled: the demangler recurses on its input. */
#define DEMANGLE_MAX 4096
/* File numbers above this in a line table are taken as corrupt. */
#define LINE_FILES_MAX 65536

#define FILE_UNRESOLVED UINT32_MAX      /* region's file not opened yet */
#define FILE_UNREADABLE (UINT32_MAX - 1)/* region's file cannot be opened as ELF */
#define FILE_ANON (UINT32_MAX - 2)      /* region maps no file */

/* One row of a line table: from ADDR (link-time, minus the table's base)
 * on, FILE:LINE; FILE is STRTAB_NONE after the end of a sequence, where
 * there is no code. */
struct nsline {
    uint32_t addr;
    uint32_t file;
    uint32_t line;
};

enum { LINES_UNTRIED, LINES_BUILT, LINES_NONE };

struct nsfile {
    uint8_t build_id[BUILD_ID_MAX];
    size_t build_id_len;
    struct stat st;             /* the key when there is no build id */
    const char *library;        /* basename (ns->strs) */
    char *map_path;             /* path as the target maps it (where its debuglink points) */
    char *open_path;            /* path it was opened by (through /proc/PID) */
    struct elfsym *elf;         /* the mapped file: program headers, .dynsym */
    struct elfsym *dbg;         /* its separate debug file (.symtab), NULL when none */
    int loaded;                 /* symbols and debug file looked for */
    struct elfsym_func *funcs;  /* sorted */
    size_t nfuncs;
    int stripped;               /* funcs from .dynsym */
    char *dwarf_path;           /* file with .debug_line, NULL when none */
    int lines_state;
    struct nsline *lines;       /* sorted by addr */
    size_t nlines;
    uint64_t line_base;         /* link-time address of nsline.addr 0 */
    struct { uint64_t addr, size; } plt[3]; /* .plt, .plt.sec, .plt.got (size 0: absent) */
};

/* An executable mapping. */
struct nsregion {
    uint64_t start, end, offset;
    char *path;                 /* as in the maps, " (deleted)" kept */
    uint32_t file;              /* index in ns->files, or FILE_* */
};

struct ipentry {
    uint64_t ip;
    struct nativesym_info info;
};

struct nativesym {
    pid_t pid;
    int root_is_host;           /* /proc/PID/root is our "/" */
    int fixed;                  /* the regions are all there is (a core): maps never read */
    struct nsregion *regions;   /* sorted by start */
    size_t nregions;
    uint64_t maps_read_ns;      /* when the maps were last read */
    struct nsfile *files;
    size_t nfiles, capfiles;
    struct hashtab file_index;  /* key hash -> files[] */
    struct ipentry *ips;
    size_t nips, capips;
    struct hashtab ip_index;    /* hashtab_key64(ip) -> ips[] */
    struct strtab *strs;        /* names, libraries, source files */
    struct nativesym_counts counts;
    int noted;                  /* nativesym_note has returned 1 */
};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const char *intern(struct nativesym *ns, const char *s, size_t len)
{
    uint32_t id = strtab_intern(ns->strs, s, len);
    return id == STRTAB_NONE ? NULL : strtab_get(ns->strs, id);
}

/* The library name of the file mapped as PATH: its basename without
 * " (deleted)"; NULL when out of memory. */
static const char *library_name(struct nativesym *ns, const char *path)
{
    const char *b = base_name(path);
    return intern(ns, b, strcspn(b, " "));
}

/* ------------------------------------------------------------------ */
/* mappings                                                            */

static void regions_free(struct nsregion *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

/* The region holding IP in V (N, sorted), or NULL. */
static struct nsregion *region_find(struct nsregion *v, size_t n, uint64_t ip)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ip < v[mid].start)
            hi = mid;
        else if (ip >= v[mid].end)
            lo = mid + 1;
        else
            return &v[mid];
    }
    return NULL;
}

static void ipcache_clear(struct nativesym *ns)
{
    ns->nips = 0;
    hashtab_clear(&ns->ip_index);
}

/* Take the executable mappings of MAPS (with ALL, every one) as NS's
 * regions. A region the old set had unchanged keeps its file; any other
 * change empties the IP cache, whose answers it may undo. Returns 0 or
 * -ENOMEM (the old regions then stay). */
static int regions_set(struct nativesym *ns, const struct proc_maps *maps, int all)
{
    size_t n = 0;
    struct nsregion *v = calloc(maps->n ? maps->n : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    int changed = 0;
    for (size_t i = 0; i < maps->n; i++) {
        const struct proc_map *m = &maps->v[i];
        if (m->perms[2] != 'x' && !all)
            continue;
        v[n] = (struct nsregion){ m->start, m->end, m->offset, strdup(m->path), FILE_UNRESOLVED };
        if (!v[n].path) {
            regions_free(v, n);
            return -ENOMEM;
        }
        const struct nsregion *old = region_find(ns->regions, ns->nregions, m->start);
        if (old && old->start == m->start && old->end == m->end && old->offset == m->offset &&
            strcmp(old->path, m->path) == 0)
            v[n].file = old->file;
        else
            changed = 1;
        n++;
    }
    if (changed || n != ns->nregions)
        ipcache_clear(ns);
    regions_free(ns->regions, ns->nregions);
    ns->regions = v;
    ns->nregions = n;
    return 0;
}

/* Read the maps again (regions_set). Returns 0 or a negative errno (the
 * old regions then stay). */
static int maps_load(struct nativesym *ns)
{
    struct proc_maps maps;
    ns->maps_read_ns = clock_mono_ns();
    int r = proc_maps_read(ns->pid, &maps);
    if (r != 0)
        return r;
    r = regions_set(ns, &maps, 0);
    proc_maps_free(&maps);
    return r;
}

/* ------------------------------------------------------------------ */
/* files                                                               */

static uint64_t file_hash(const struct nsfile *f)
{
    if (f->build_id_len)
        return hashtab_bytes(f->build_id, f->build_id_len);
    uint64_t h = hashtab_mix64(0, f->st.st_dev);
    h = hashtab_mix64(h, f->st.st_ino);
    h = hashtab_mix64(h, (uint64_t)f->st.st_size);
    h = hashtab_mix64(h, (uint64_t)f->st.st_mtim.tv_sec);
    return hashtab_mix64(h, (uint64_t)f->st.st_mtim.tv_nsec);
}

static int file_same(const struct nsfile *a, const struct nsfile *b)
{
    if (a->build_id_len || b->build_id_len)
        return a->build_id_len == b->build_id_len && memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
    return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino && a->st.st_size == b->st.st_size &&
           a->st.st_mtim.tv_sec == b->st.st_mtim.tv_sec && a->st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec;
}

static void file_release(struct nsfile *f)
{
    elfsym_close(f->elf);
    elfsym_close(f->dbg);
    free(f->map_path);
    free(f->open_path);
    free(f->funcs);
    free(f->dwarf_path);
    free(f->lines);
}

/* The path to open for region R: its file as the target sees it, or for
 * a deleted file the kernel's handle on the mapping itself. */
static int region_open_path(const struct nativesym *ns, const struct nsregion *r, char *out, size_t len)
{
    static const char deleted[] = " (deleted)";
    size_t pl = strlen(r->path), dl = sizeof deleted - 1;
    if (pl > dl && strcmp(r->path + pl - dl, deleted) == 0 && ns->fixed) {
        /* No process holds the mapping any more: whatever is at the path
         * now, which the build id then tells apart when it has one. */
        int n = snprintf(out, len, "%.*s", (int)(pl - dl), r->path);
        return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
    }
    if (pl > dl && strcmp(r->path + pl - dl, deleted) == 0) {
        int n = snprintf(out, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)ns->pid, r->start, r->end);
        return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
    }
    return proc_root_path(ns->pid, r->path, out, len);
}

/* Open region R's file, or find it among those already open: its index,
 * or FILE_UNREADABLE. */
static uint32_t file_resolve(struct nativesym *ns, const struct nsregion *r)
{
    char path[PATH_MAX + 64], err[256];
    struct nsfile f = { 0 };
    if (region_open_path(ns, r, path, sizeof path) != 0 || stat(path, &f.st) != 0 ||
        !(f.elf = elfsym_open(path, err, sizeof err))) {
        ns->counts.unreadable++;
        if (!ns->counts.example)
            ns->counts.example = library_name(ns, r->path);
        return FILE_UNREADABLE;
    }
    f.build_id_len = elfsym_build_id(f.elf, f.build_id, sizeof f.build_id);
    uint64_t h = file_hash(&f);
    struct hashtab_iter it;
    for (uint32_t i = hashtab_first(&ns->file_index, h, &it); i != HASHTAB_NONE;
         i = hashtab_next(&ns->file_index, &it))
        if (file_same(&ns->files[i], &f)) {
            elfsym_close(f.elf);
            return i;
        }
    if (ns->nfiles == ns->capfiles) {
        size_t cap = ns->capfiles ? ns->capfiles * 2 : 16;
        struct nsfile *nv = realloc(ns->files, cap * sizeof *nv);
        if (!nv) {
            elfsym_close(f.elf);
            return FILE_UNREADABLE;
        }
        ns->files = nv;
        ns->capfiles = cap;
    }
    f.library = library_name(ns, r->path);
    const char *b = base_name(r->path);
    f.map_path = strndup(r->path, (size_t)(b - r->path) + strcspn(b, " "));   /* less " (deleted)" */
    f.open_path = strdup(path);
    if (!f.library || !f.map_path || !f.open_path || hashtab_insert(&ns->file_index, &it, (uint32_t)ns->nfiles) != 0) {
        file_release(&f);
        return FILE_UNREADABLE;
    }
    ns->files[ns->nfiles] = f;
    return (uint32_t)ns->nfiles++;
}

/* The CRC-32 of the file at PATH (.gnu_debuglink's checksum), -1 when it
 * cannot be read. */
static int64_t file_crc32(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    unsigned char buf[65536];
    uLong crc = crc32(0, Z_NULL, 0);
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0)
        crc = crc32(crc, buf, (uInt)got);
    close(fd);
    return got < 0 ? -1 : (int64_t)(crc & 0xffffffffu);
}

/* Open the debug file at PATH (as the target sees it) if it belongs to F:
 * the same build id, or when either has none, CRC (-1: none to check, so
 * it does not belong). Tried in the target's root, then in ours. */
static struct elfsym *debug_try(struct nativesym *ns, const struct nsfile *f, const char *path,
                                int64_t crc, char *opened, size_t openedlen)
{
    char err[256];
    for (int host = 0; host < 2; host++) {
        if (host && ns->root_is_host)
            break;
        if (host ? snprintf(opened, openedlen, "%s", path) >= (int)openedlen
                 : proc_root_path(ns->pid, path, opened, openedlen) != 0)
            continue;
        struct elfsym *d = elfsym_open(opened, err, sizeof err);
        if (!d)
            continue;
        uint8_t id[BUILD_ID_MAX];
        size_t idlen = elfsym_build_id(d, id, sizeof id);
        int ok = f->build_id_len && idlen ? idlen == f->build_id_len && memcmp(id, f->build_id, idlen) == 0
                                          : crc >= 0 && file_crc32(opened) == crc;
        if (ok)
            return d;
        elfsym_close(d);
    }
    return NULL;
}

/* F's separate debug file, by build id then by .gnu_debuglink; NULL when
 * none is installed. Its path (to open for DWARF) into OPENED. */
static struct elfsym *debug_find(struct nativesym *ns, const struct nsfile *f, char *opened, size_t openedlen)
{
    char path[PATH_MAX + 64];
    struct elfsym *d = NULL;
    if (f->build_id_len >= 2) {
        int n = snprintf(path, sizeof path, "/usr/lib/debug/.build-id/%02x/", f->build_id[0]);
        for (size_t i = 1; i < f->build_id_len; i++)
            n += snprintf(path + n, sizeof path - (size_t)n, "%02x", f->build_id[i]);
        snprintf(path + n, sizeof path - (size_t)n, ".debug");
        if ((d = debug_try(ns, f, path, -1, opened, openedlen)))
            return d;
    }
    char name[NAME_MAX + 1];
    uint32_t crc;
    if (elfsym_debuglink(f->elf, name, sizeof name, &crc) != 0 || strchr(name, '/'))
        return NULL;
    int dirlen = (int)(base_name(f->map_path) - f->map_path);   /* with its final '/' */
    static const char *const where[] = { "%.*s%s", "%.*s.debug/%s", "/usr/lib/debug%.*s%s" };
    for (size_t i = 0; i < sizeof where / sizeof *where && !d; i++) {
        int n = snprintf(path, sizeof path, where[i], dirlen, f->map_path, name);
        if (n > 0 && (size_t)n < sizeof path && strcmp(path, f->map_path) != 0)
            d = debug_try(ns, f, path, crc, opened, openedlen);
    }
    return d;
}

static int has_lines(const struct elfsym *e)
{
    uint64_t addr, size;
    return elfsym_section(e, ".debug_line", &addr, &size) == 0 && size > 0;
}

/* Read F's symbols and find where its line table is, once. */
static void file_load(struct nativesym *ns, struct nsfile *f)
{
    char dpath[PATH_MAX + 64];
    f->loaded = 1;
    struct elfsym *dbg = f->dbg = debug_find(ns, f, dpath, sizeof dpath);
    int r = elfsym_funcs(f->elf, ELFSYM_SYMTAB, &f->funcs, &f->nfuncs);
    if (r == -ENOENT && dbg)
        r = elfsym_funcs(dbg, ELFSYM_SYMTAB, &f->funcs, &f->nfuncs);
    if (r == -ENOENT) {
        f->stripped = 1;
        elfsym_funcs(f->elf, ELFSYM_DYNSYM, &f->funcs, &f->nfuncs);
    }
    if (dbg && has_lines(dbg)) {
        f->dwarf_path = strdup(dpath);
    } else if (has_lines(f->elf)) {
        f->dwarf_path = strdup(f->open_path);
    }
    f->lines_state = f->dwarf_path ? LINES_UNTRIED : LINES_NONE;
    static const char *const plt[] = { ".plt", ".plt.sec", ".plt.got" };
    for (size_t i = 0; i < sizeof plt / sizeof plt[0]; i++)
        if (elfsym_section(f->elf, plt[i], &f->plt[i].addr, &f->plt[i].size) != 0)
            f->plt[i].size = 0;
    ns->counts.files++;
    ns->counts.stripped += f->stripped;
    ns->counts.no_lines += !f->dwarf_path;
    if (!ns->counts.example && (f->stripped || !f->dwarf_path))
        ns->counts.example = f->library;
}

/* ------------------------------------------------------------------ */
/* line tables                                                         */

/* How many of the N items of SIZE bytes at V, sorted by ADDR, have an
 * address up to KEY: the last of them is the one covering KEY, if any. */
static size_t count_upto(const void *v, size_t n, size_t size, uint64_t key, uint64_t (*addr)(const void *))
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr((const char *)v + mid * size) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t line_addr(const void *p)
{
    return ((const struct nsline *)p)->addr;
}

static uint64_t func_addr(const void *p)
{
    return ((const struct elfsym_func *)p)->addr;
}

struct linebuf {
    struct nsline *v;
    size_t n, cap;
    int failed;                 /* out of memory: the table is dropped */
};

static void linebuf_push(struct linebuf *b, uint32_t addr, uint32_t file, uint32_t line)
{
    if (b->failed)
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        struct nsline *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->failed = 1;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (struct nsline){ addr, file, line };
}

/* Called only where an error has no Dwarf_Error to go to: libdwarf
 * aborts the process when there is no handler, and the call that met the
 * error returns DW_DLV_ERROR either way. */
static void dwarf_quiet(Dwarf_Error e, Dwarf_Ptr arg)
{
}

/* The strtab id of the source file of LINE (file number FNO), through
 * the CU's cache IDS (id + 1, 0 unknown yet); STRTAB_NONE when it cannot
 * be had. */
static uint32_t line_file(struct nativesym *ns, Dwarf_Debug dbg, Dwarf_Line line, Dwarf_Unsigned fno,
                          uint32_t **ids, size_t *nids)
{
    if (fno >= LINE_FILES_MAX)
        return STRTAB_NONE;
    if (fno >= *nids) {
        size_t n = (size_t)fno + 16;
        uint32_t *v = realloc(*ids, n * sizeof *v);
        if (!v)
            return STRTAB_NONE;
        memset(v + *nids, 0, (n - *nids) * sizeof *v);
        *ids = v;
        *nids = n;
    }
    if ((*ids)[fno] == 0) {
        char *name = NULL;
        Dwarf_Error de = NULL;
        if (dwarf_linesrc(line, &name, &de) != DW_DLV_OK) {
            dwarf_dealloc_error(dbg, de);
            return STRTAB_NONE;
        }
        uint32_t id = strtab_intern(ns->strs, name, strlen(name));
        dwarf_dealloc(dbg, name, DW_DLA_STRING);
        if (id == STRTAB_NONE)
            return STRTAB_NONE;
        (*ids)[fno] = id + 1;
    }
    return (*ids)[fno] - 1;
}

/* CU's rows into B, addresses made relative to BASE. A sequence that
 * starts at address 0 is code the linker dropped (its relocations were
 * never applied): it is left out, lest it cover real code. */
static void cu_lines(struct nativesym *ns, Dwarf_Debug dbg, Dwarf_Die cu, uint64_t base, struct linebuf *b)
{
    Dwarf_Unsigned version;
    Dwarf_Small tables;
    Dwarf_Line_Context ctx = NULL;
    Dwarf_Error de = NULL;
    if (dwarf_srclines_b(cu, &version, &tables, &ctx, &de) != DW_DLV_OK) {
        if (de)
            dwarf_dealloc_error(dbg, de);
        return;
    }
    Dwarf_Line *lines = NULL;
    Dwarf_Signed n = 0;
    if (dwarf_srclines_from_linecontext(ctx, &lines, &n, &de) != DW_DLV_OK) {
        if (de)
            dwarf_dealloc_error(dbg, de);
        n = 0;
    }
    uint32_t *ids = NULL;
    size_t nids = 0;
    int seq_start = 1, dropped = 0;
    for (Dwarf_Signed i = 0; i < n; i++) {
        Dwarf_Addr addr;
        Dwarf_Unsigned lineno, fno;
        Dwarf_Bool end;
        if (dwarf_lineaddr(lines[i], &addr, &de) != DW_DLV_OK || dwarf_lineno(lines[i], &lineno, &de) != DW_DLV_OK ||
            dwarf_lineendsequence(lines[i], &end, &de) != DW_DLV_OK ||
            dwarf_line_srcfileno(lines[i], &fno, &de) != DW_DLV_OK) {
            dwarf_dealloc_error(dbg, de);
            break;
        }
        if (seq_start)
            dropped = addr == 0;
        seq_start = end;
        if (dropped || addr < base || addr - base > UINT32_MAX)
            continue;
        if (end) {
            linebuf_push(b, (uint32_t)(addr - base), STRTAB_NONE, 0);
            continue;
        }
        uint32_t file = line_file(ns, dbg, lines[i], fno, &ids, &nids);
        if (file != STRTAB_NONE)
            linebuf_push(b, (uint32_t)(addr - base), file, lineno <= INT_MAX ? (uint32_t)lineno : 0);
    }
    free(ids);
    dwarf_srclines_dealloc_b(ctx);
}

/* Rows of one address: an end of sequence first, so that the last of
 * them, the one kept, is the code that starts there. */
static int line_cmp(const void *a, const void *b)
{
    const struct nsline *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (x->file != STRTAB_NONE) - (y->file != STRTAB_NONE);
}

static uint64_t read_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Whether the unit headers of DWARF 5 section NAME (.debug_rnglists or
 * .debug_loclists, which share their layout) of E are well-formed, or it
 * has none. libdwarf 20210528 reads them all as soon as it reads
 * .debug_info, and a header it rejects makes it free memory twice
 * (internal_load_rnglists_contexts goes on after its error path has freed
 * the list); so a file whose headers it would reject is not given to it.
 * The checks are libdwarf's own: the length readable and no larger than
 * the section, version 5, an address size of 2, 4 or 8, the rest of the
 * header inside the section. */
static int unit_headers_ok(const struct elfsym *e, const char *name)
{
    const void *data;
    size_t size;
    int r = elfsym_section_data(e, name, &data, &size);
    if (r == -ENOENT)
        return 1;
    if (r != 0)
        return 0;
    const uint8_t *p = data;
    for (size_t off = 0; off < size;) {
        if (size - off < 4)
            return 0;
        uint64_t len = read_le(p + off, 4);
        size_t hdr = 4;
        if (len == 0xffffffffu) {
            if (size - off < 12)
                return 0;
            len = read_le(p + off + 4, 8);
            hdr = 12;
        } else if (len >= 0xfffffff0u) {
            return 0;
        }
        /* Version 2 bytes, address size 1, segment selector size 1, offset count 4. */
        if (len == 0 || len > size || size - off < hdr + 8 || read_le(p + off + hdr, 2) != 5)
            return 0;
        unsigned asize = p[off + hdr + 2];
        if (asize != 2 && asize != 4 && asize != 8)
            return 0;
        if (len > size - off - hdr)
            break;      /* runs past the end: libdwarf stops there too */
        off += hdr + (size_t)len;
    }
    return 1;
}

/* Whether libdwarf may be given the file at PATH (see unit_headers_ok). */
static int dwarf_safe(const char *path)
{
    char err[256];
    struct elfsym *e = elfsym_open(path, err, sizeof err);
    int ok = e && unit_headers_ok(e, ".debug_rnglists") && unit_headers_ok(e, ".debug_loclists");
    elfsym_close(e);
    return ok;
}

/* F's line table, from every CU of its DWARF: sorted, one row per
 * address, runs of one file:line made one row. */
static void lines_build(struct nativesym *ns, struct nsfile *f)
{
    f->lines_state = LINES_NONE;
    if (!dwarf_safe(f->dwarf_path))
        return;
    int fd = open(f->dwarf_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Dwarf_Debug dbg = NULL;
    Dwarf_Error de = NULL;
    dwarf_set_de_alloc_flag(0);
    if (dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, dwarf_quiet, NULL, &dbg, &de) != DW_DLV_OK) {
        if (de)
            dwarf_dealloc_error(dbg, de);
        close(fd);
        return;
    }
    struct linebuf b = { 0 };
    f->line_base = elfsym_load_base(f->elf);
    for (;;) {
        Dwarf_Unsigned len, typeoff, next;
        Dwarf_Half version, addrsize, lensize, extsize, type;
        Dwarf_Off abbrev;
        Dwarf_Sig8 sig;
        int r = dwarf_next_cu_header_d(dbg, 1, &len, &version, &abbrev, &addrsize, &lensize, &extsize, &sig,
                                       &typeoff, &next, &type, &de);
        if (r != DW_DLV_OK) {
            if (r == DW_DLV_ERROR)
                dwarf_dealloc_error(dbg, de);
            break;
        }
        Dwarf_Die cu = NULL;
        r = dwarf_siblingof_b(dbg, NULL, 1, &cu, &de);
        if (r == DW_DLV_OK) {
            cu_lines(ns, dbg, cu, f->line_base, &b);
            dwarf_dealloc_die(cu);
        } else if (r == DW_DLV_ERROR) {
            dwarf_dealloc_error(dbg, de);
        }
    }
    dwarf_finish(dbg, &de);
    close(fd);
    /* libdwarf's many small blocks, freed, leave the heap full of holes
     * that malloc keeps: 20 MB resident after libpython's table, of which
     * 2 MB in use. */
    malloc_trim(0);
    if (b.failed || b.n == 0) {
        free(b.v);
        return;
    }
    qsort(b.v, b.n, sizeof *b.v, line_cmp);
    size_t m = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (i + 1 < b.n && b.v[i + 1].addr == b.v[i].addr)
            continue;
        if (m && b.v[m - 1].file == b.v[i].file && b.v[m - 1].line == b.v[i].line)
            continue;
        b.v[m++] = b.v[i];
    }
    struct nsline *v = realloc(b.v, m * sizeof *v);
    f->lines = v ? v : b.v;
    f->nlines = m;
    f->lines_state = LINES_BUILT;
}

static void line_lookup(struct nativesym *ns, struct nsfile *f, uint64_t link, struct nativesym_info *out)
{
    if (f->lines_state == LINES_UNTRIED)
        lines_build(ns, f);
    if (f->lines_state != LINES_BUILT || link < f->line_base || link - f->line_base > UINT32_MAX)
        return;
    size_t lo = count_upto(f->lines, f->nlines, sizeof *f->lines, link - f->line_base, line_addr);
    if (lo == 0 || f->lines[lo - 1].file == STRTAB_NONE || f->lines[lo - 1].line == 0)
        return;
    out->file = strtab_get(ns->strs, f->lines[lo - 1].file);
    out->line = (int)f->lines[lo - 1].line;
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */

/* NAME demangled when it is a C++ name, else NAME itself (owned by the
 * file's elfsym), without a symbol version ("clock_gettime@@GLIBC_2.17"):
 * one function, one name. */
static const char *demangle(struct nativesym *ns, const char *name)
{
    const char *at = strchr(name, '@');
    if (at && at > name) {
        const char *s = intern(ns, name, (size_t)(at - name));
        if (s)
            name = s;
    }
    if (strncmp(name, "_Z", 2) != 0 || strnlen(name, DEMANGLE_MAX) == DEMANGLE_MAX)
        return name;
    int status;
    char *d = __cxa_demangle(name, NULL, NULL, &status);
    if (!d)
        return name;
    const char *s = intern(ns, d, strlen(d));
    free(d);
    return s ? s : name;
}

static void sym_lookup(struct nativesym *ns, const struct nsfile *f, uint64_t link, uint64_t ip,
                       struct nativesym_info *out)
{
    /* A call through the procedure linkage table: its stubs have no
     * symbols, and the nearest one before them (_init) is not theirs. */
    for (size_t i = 0; i < sizeof f->plt / sizeof f->plt[0]; i++)
        if (link - f->plt[i].addr < f->plt[i].size) {
            out->name = "[plt]";
            out->sym_start = ip - (link - f->plt[i].addr);
            return;
        }
    size_t lo = count_upto(f->funcs, f->nfuncs, sizeof *f->funcs, link, func_addr);
    if (lo == 0)
        return;
    const struct elfsym_func *fn = &f->funcs[lo - 1];
    if (fn->size && link - fn->addr >= fn->size)
        return;
    out->name = demangle(ns, fn->name);
    out->sym_start = ip - (link - fn->addr);
    out->flags = f->stripped ? NATIVESYM_STRIPPED : 0;
}

/* A mapping of no file of its own: none, a kernel one ("[vdso]"), or
 * memory with a name (memfd, where JIT compilers put code). */
static int region_anon(const struct nsregion *r)
{
    return r->path[0] != '/' || strncmp(r->path, "/memfd:", 7) == 0;
}

static void describe(struct nativesym *ns, struct nsregion *r, uint64_t ip, struct nativesym_info *out)
{
    if (r->file == FILE_UNRESOLVED)
        r->file = region_anon(r) ? FILE_ANON : file_resolve(ns, r);
    if (r->file == FILE_ANON) {
        if (r->path[0] == '[')
            out->library = intern(ns, r->path, strlen(r->path));
        if (!out->library)
            out->library = "[anonymous]";
        return;
    }
    out->flags = NATIVESYM_NOSYM;
    if (r->file == FILE_UNREADABLE) {
        out->library = library_name(ns, r->path);
        return;
    }
    struct nsfile *f = &ns->files[r->file];
    out->library = f->library;
    if (!f->loaded)
        file_load(ns, f);
    uint64_t link;
    if (elfsym_addr_at(f->elf, ip - r->start + r->offset, &link) != 0)
        return;
    sym_lookup(ns, f, link, ip, out);
    line_lookup(ns, f, link, out);
}

static void ipcache_put(struct nativesym *ns, uint64_t ip, const struct nativesym_info *info)
{
    if (ns->nips >= IPCACHE_MAX)
        ipcache_clear(ns);
    if (ns->nips == ns->capips) {
        size_t cap = ns->capips ? ns->capips * 2 : 256;
        struct ipentry *v = realloc(ns->ips, cap * sizeof *v);
        if (!v)
            return;
        ns->ips = v;
        ns->capips = cap;
    }
    if (hashtab_add(&ns->ip_index, hashtab_key64(ip), (uint32_t)ns->nips) == 0)
        ns->ips[ns->nips++] = (struct ipentry){ ip, *info };
}

int nativesym_lookup(struct nativesym *ns, uint64_t ip, struct nativesym_info *out)
{
    struct hashtab_iter it;
    for (uint32_t i = hashtab_first(&ns->ip_index, hashtab_key64(ip), &it); i != HASHTAB_NONE;
         i = hashtab_next(&ns->ip_index, &it))
        if (ns->ips[i].ip == ip) {
            *out = ns->ips[i].info;
            return 0;
        }
    *out = (struct nativesym_info){ .library = "[anonymous]", .flags = NATIVESYM_ANON };
    struct nsregion *r = region_find(ns->regions, ns->nregions, ip);
    if (!r && !ns->fixed && clock_mono_ns() - ns->maps_read_ns >= REREAD_NS && maps_load(ns) == 0)
        r = region_find(ns->regions, ns->nregions, ip);
    if (!r)
        return -ENOENT;
    out->library = NULL;
    out->flags = NATIVESYM_ANON;
    describe(ns, r, ip, out);
    ipcache_put(ns, ip, out);
    return 0;
}

/* ------------------------------------------------------------------ */
/* life                                                                */

/* Whether the target's "/" is ours, so that a debug file need not be
 * looked for in both. */
static int root_is_host(pid_t pid)
{
    char path[64];
    struct stat a, b;
    return proc_root_path(pid, "/", path, sizeof path) == 0 && stat(path, &a) == 0 && stat("/", &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* An empty symbolizer of process PID (no mappings yet). */
static struct nativesym *ns_alloc(pid_t pid, char *err, size_t errlen)
{
    struct nativesym *ns = calloc(1, sizeof *ns);
    if (!ns || !(ns->strs = strtab_new()) || hashtab_init(&ns->file_index, 16) != 0 ||
        hashtab_init(&ns->ip_index, 1024) != 0) {
        snprintf(err, errlen, "out of memory");
        nativesym_free(ns);
        return NULL;
    }
    ns->pid = pid;
    ns->root_is_host = root_is_host(pid);
    return ns;
}

struct nativesym *nativesym_new(pid_t pid, char *err, size_t errlen)
{
    struct nativesym *ns = ns_alloc(pid, err, errlen);
    if (!ns)
        return NULL;
    int r = maps_load(ns);
    if (r != 0) {
        snprintf(err, errlen, "cannot read /proc/%d/maps: %s", (int)pid, strerror(-r));
        nativesym_free(ns);
        return NULL;
    }
    return ns;
}

struct nativesym *nativesym_new_file(const char *path, char *err, size_t errlen)
{
    if (path[0] != '/') {
        snprintf(err, errlen, "%s: not an absolute path", path);
        return NULL;
    }
    /* This process's own view of the file system: its PATH through
     * /proc/PID/root is PATH. */
    struct nativesym *ns = ns_alloc(getpid(), err, errlen);
    if (!ns)
        return NULL;
    /* One region over every address, so that no lookup reads the maps. */
    ns->regions = calloc(1, sizeof *ns->regions);
    if (!ns->regions || !(ns->regions[0].path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        nativesym_free(ns);
        return NULL;
    }
    ns->regions[0].end = UINT64_MAX;
    ns->regions[0].file = FILE_UNRESOLVED;
    ns->nregions = 1;
    ns->maps_read_ns = clock_mono_ns();
    return ns;
}

struct nativesym *nativesym_new_maps(const struct proc_maps *maps, char *err, size_t errlen)
{
    /* Paths are this process's: through /proc/self/root they are as given. */
    struct nativesym *ns = ns_alloc(getpid(), err, errlen);
    if (!ns)
        return NULL;
    ns->fixed = 1;
    /* A core holds no copy of a file's code, so its program headers do
     * not say which mappings are executable (corefile_maps calls them
     * read-only): every file mapping is taken as code. */
    if (regions_set(ns, maps, 1) != 0) {
        snprintf(err, errlen, "out of memory");
        nativesym_free(ns);
        return NULL;
    }
    return ns;
}

void nativesym_free(struct nativesym *ns)
{
    if (!ns)
        return;
    regions_free(ns->regions, ns->nregions);
    for (size_t i = 0; i < ns->nfiles; i++)
        file_release(&ns->files[i]);
    free(ns->files);
    hashtab_free(&ns->file_index);
    free(ns->ips);
    hashtab_free(&ns->ip_index);
    strtab_free(ns->strs);
    free(ns);
}

int nativesym_note(struct nativesym *ns, struct nativesym_counts *out)
{
    *out = ns->counts;
    if (ns->noted || !(out->no_lines || out->stripped || out->unreadable))
        return 0;
    ns->noted = 1;
    return 1;
}
