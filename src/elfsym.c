/* elfsym — see include/elfsym.h. */
#include "elfsym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct elfsym {
    int fd;             /* the open file */
    Elf *elf;           /* libelf handle over fd */
    uint64_t load_base; /* first PT_LOAD vaddr, aligned down */
};

/* The number of program headers, 0 when the file does not say. With
 * PN_XNUM it comes from section 0 and can be anything up to 2^32 whatever
 * the file's size, so loops over it stop at the first header libelf cannot
 * give: libelf loads the table whole or not at all. */
static size_t phdr_count(Elf *elf)
{
    size_t nph = 0;
    if (elf_getphdrnum(elf, &nph) != 0)
        return 0;
    return nph;
}

struct elfsym *elfsym_open(const char *path, char *err, size_t errlen)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF) {
        snprintf(err, errlen, "%s is not an ELF file", path);
        if (elf)
            elf_end(elf);
        close(fd);
        return NULL;
    }
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64) {
        snprintf(err, errlen, "%s: not a 64-bit ELF file", path);
        elf_end(elf);
        close(fd);
        return NULL;
    }
    struct elfsym *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        elf_end(elf);
        close(fd);
        return NULL;
    }
    e->fd = fd;
    e->elf = elf;
    size_t nph = phdr_count(elf);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            break;
        if (ph.p_type == PT_LOAD) {
            uint64_t align = ph.p_align ? ph.p_align : 1;
            e->load_base = ph.p_vaddr & ~(align - 1);
            break;
        }
    }
    return e;
}

void elfsym_close(struct elfsym *e)
{
    if (!e)
        return;
    elf_end(e->elf);
    close(e->fd);
    free(e);
}

/* The symbols of symbol-table section SCN (header SH) that can be read:
 * their count, with *DATA set; 0 when none. */
static size_t sym_count(const struct elfsym *e, Elf_Scn *scn, const GElf_Shdr *sh, Elf_Data **data)
{
    *data = elf_getdata(scn, NULL);
    if (!*data || sh->sh_entsize == 0)
        return 0;
    /* sh_size / sh_entsize is what the header claims; the symbols there
     * are no more than the section's data holds. */
    size_t n = sh->sh_size / sh->sh_entsize;
    size_t fsize = gelf_fsize(e->elf, ELF_T_SYM, 1, EV_CURRENT);
    if (fsize == 0)
        return 0;
    if (n > (*data)->d_size / fsize)
        n = (*data)->d_size / fsize;
    return n < INT_MAX ? n : INT_MAX;
}

static int lookup_in(const struct elfsym *e, Elf_Scn *scn, const GElf_Shdr *sh,
                     const char *name, uint64_t *addr, uint64_t *size)
{
    Elf_Data *data;
    size_t n = sym_count(e, scn, sh, &data);
    for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
            continue;
        const char *s = elf_strptr(e->elf, sh->sh_link, sym.st_name);
        if (s && strcmp(s, name) == 0) {
            *addr = sym.st_value;
            if (size)
                *size = sym.st_size;
            return 0;
        }
    }
    return -ENOENT;
}

int elfsym_lookup(const struct elfsym *e, const char *name, uint64_t *addr, uint64_t *size)
{
    static const Elf64_Word order[2] = { SHT_SYMTAB, SHT_DYNSYM };
    for (int pass = 0; pass < 2; pass++) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) && sh.sh_type == order[pass] &&
                lookup_in(e, scn, &sh, name, addr, size) == 0)
                return 0;
        }
    }
    return -ENOENT;
}

/* The first section of type TYPE (any type: SHT_NULL, which no section
 * that is looked for has) named NAME (any name: NULL), its header in *SH;
 * NULL when there is none. */
static Elf_Scn *find_section(const struct elfsym *e, Elf64_Word type, const char *name, GElf_Shdr *sh)
{
    size_t shstrndx;
    if (name && elf_getshdrstrndx(e->elf, &shstrndx) != 0)
        return NULL;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
        if (!gelf_getshdr(scn, sh) || (type != SHT_NULL && sh->sh_type != type))
            continue;
        const char *s = name ? elf_strptr(e->elf, shstrndx, sh->sh_name) : NULL;
        if (!name || (s && strcmp(s, name) == 0))
            return scn;
    }
    return NULL;
}

int elfsym_section(const struct elfsym *e, const char *name, uint64_t *addr, uint64_t *size)
{
    GElf_Shdr sh;
    if (!find_section(e, SHT_NULL, name, &sh))
        return -ENOENT;
    *addr = sh.sh_addr;
    *size = sh.sh_size;
    return 0;
}

int elfsym_section_data(const struct elfsym *e, const char *name, const void **data, size_t *len)
{
    GElf_Shdr sh;
    Elf_Scn *scn = find_section(e, SHT_NULL, name, &sh);
    if (!scn || sh.sh_type == SHT_NOBITS)
        return -ENOENT;
    if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
        return -EINVAL;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || (!d->d_buf && d->d_size))
        return -EINVAL;
    *data = d->d_buf;
    *len = d->d_size;
    return 0;
}

uint64_t elfsym_load_base(const struct elfsym *e)
{
    return e->load_base;
}

int elfsym_read(const struct elfsym *e, uint64_t addr, void *buf, size_t len)
{
    size_t nph = phdr_count(e->elf);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e->elf, (int)i, &ph))
            break;
        if (ph.p_type != PT_LOAD)
            continue;
        if (addr < ph.p_vaddr || addr - ph.p_vaddr > ph.p_filesz || len > ph.p_filesz - (addr - ph.p_vaddr))
            continue;
        off_t off = (off_t)(ph.p_offset + (addr - ph.p_vaddr));
        ssize_t got = pread(e->fd, buf, len, off);
        return got == (ssize_t)len ? 0 : -EFAULT;
    }
    return -EFAULT;
}

size_t elfsym_writable(const struct elfsym *e, struct elfsym_range *out, size_t max)
{
    size_t nph = phdr_count(e->elf), k = 0;
    for (size_t i = 0; i < nph && k < max; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e->elf, (int)i, &ph))
            break;
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W)) {
            out[k].addr = ph.p_vaddr;
            out[k].size = ph.p_memsz;
            k++;
        }
    }
    return k;
}

int elfsym_addr_at(const struct elfsym *e, uint64_t off, uint64_t *addr)
{
    size_t nph = phdr_count(e->elf);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e->elf, (int)i, &ph))
            break;
        if (ph.p_type == PT_LOAD && off >= ph.p_offset && off - ph.p_offset < ph.p_filesz) {
            *addr = ph.p_vaddr + (off - ph.p_offset);
            return 0;
        }
    }
    return -ENOENT;
}

/* The GNU build id among the notes of DATA, at most MAX bytes into OUT.
 * Returns its length; 0 when there is none, or it is longer than MAX. */
static size_t note_build_id(const Elf_Data *data, uint8_t *out, size_t max)
{
    GElf_Nhdr nh;
    size_t off = 0, name_off, desc_off, next;
    while ((next = gelf_getnote((Elf_Data *)data, off, &nh, &name_off, &desc_off)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp((const char *)data->d_buf + name_off, "GNU", 4) == 0) {
            if (nh.n_descsz == 0 || nh.n_descsz > max)
                return 0;
            memcpy(out, (const char *)data->d_buf + desc_off, nh.n_descsz);
            return nh.n_descsz;
        }
        off = next;
    }
    return 0;
}

size_t elfsym_build_id(const struct elfsym *e, uint8_t *out, size_t max)
{
    GElf_Shdr sh;
    Elf_Scn *scn = NULL;
    size_t n = 0;
    /* Every SHT_NOTE section, not only the one with the usual name: the
     * note's type says what it is. */
    while (n == 0 && (scn = elf_nextscn(e->elf, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (data)
            n = note_build_id(data, out, max);
    }
    return n;
}

/* The GNU build id from ELF's PT_NOTE segments, which lie in the first
 * page of a file as it is mapped: what a core keeps of it. A segment that
 * the image does not hold whole is skipped (libelf checks the bounds). */
static size_t phdr_build_id(Elf *elf, uint8_t *out, size_t max)
{
    size_t nph = phdr_count(elf), n = 0;
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return 0;
    for (size_t i = 0; i < nph && n == 0; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph))
            break;
        if (ph.p_type != PT_NOTE || ph.p_filesz == 0)
            continue;
        /* Notes aligned to 8 (GNU properties) have their own layout type. */
        Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
                                              ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
        if (data)
            n = note_build_id(data, out, max);
    }
    return n;
}

size_t elfsym_image_build_id(void *image, size_t len, uint8_t *out, size_t max)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return 0;
    Elf *elf = elf_memory(image, len);
    size_t n = elf && elf_kind(elf) == ELF_K_ELF ? phdr_build_id(elf, out, max) : 0;
    if (elf)
        elf_end(elf);
    return n;
}

size_t elfsym_fd_build_id(int fd, uint8_t *out, size_t max)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return 0;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t n = elf && elf_kind(elf) == ELF_K_ELF ? phdr_build_id(elf, out, max) : 0;
    if (elf)
        elf_end(elf);
    return n;
}

int elfsym_debuglink(const struct elfsym *e, char *name, size_t namelen, uint32_t *crc)
{
    GElf_Shdr sh;
    Elf_Scn *scn = find_section(e, SHT_PROGBITS, ".gnu_debuglink", &sh);
    Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
    if (!data || !data->d_buf)
        return -ENOENT;
    const char *p = data->d_buf;
    const char *nul = memchr(p, '\0', data->d_size);
    if (!nul || nul == p || (size_t)(nul - p) >= namelen)
        return -ENOENT;
    /* The CRC follows the name's NUL, at the next multiple of 4. */
    size_t crc_off = ((size_t)(nul - p) + 1 + 3) & ~(size_t)3;
    if (crc_off + 4 > data->d_size)
        return -ENOENT;
    memcpy(name, p, (size_t)(nul - p) + 1);
    GElf_Ehdr eh;
    uint8_t b[4];
    memcpy(b, p + crc_off, 4);
    int big = gelf_getehdr(e->elf, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;
    *crc = big ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
               : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    return 0;
}

/* Sort order of elfsym_funcs: by address, then the best of an address's
 * aliases first (sized, then global, then weak). */
static int func_rank(const GElf_Sym *s)
{
    int bind = GELF_ST_BIND(s->st_info);
    return (s->st_size ? 0 : 4) + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2);
}

struct func_sort {
    struct elfsym_func f;
    int rank;
};

static int func_cmp(const void *a, const void *b)
{
    const struct func_sort *x = a, *y = b;
    if (x->f.addr != y->f.addr)
        return x->f.addr < y->f.addr ? -1 : 1;
    return x->rank - y->rank;
}

int elfsym_funcs(const struct elfsym *e, enum elfsym_table table, struct elfsym_func **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    GElf_Shdr sh;
    Elf_Scn *scn = find_section(e, table == ELFSYM_SYMTAB ? SHT_SYMTAB : SHT_DYNSYM, NULL, &sh);
    if (!scn)
        return -ENOENT;
    Elf_Data *data;
    size_t count = sym_count(e, scn, &sh, &data);
    if (count == 0)
        return 0;
    struct func_sort *v = malloc(count * sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC)
            continue;
        const char *s = elf_strptr(e->elf, sh.sh_link, sym.st_name);
        if (!s || !*s)
            continue;
        v[k].f = (struct elfsym_func){ sym.st_value, sym.st_size, s };
        v[k].rank = func_rank(&sym);
        k++;
    }
    if (k > 1)      /* v may be NULL when there are none; qsort wants an array */
        qsort(v, k, sizeof *v, func_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || v[i].f.addr != v[m - 1].f.addr)
            v[m++] = v[i];
    struct elfsym_func *f = m ? malloc(m * sizeof *f) : NULL;
    for (size_t i = 0; f && i < m; i++)
        f[i] = v[i].f;
    free(v);
    if (m && !f)
        return -ENOMEM;
    *out = f;
    *n = m;
    return 0;
}
