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

static int lookup_in(const struct elfsym *e, Elf_Scn *scn, const GElf_Shdr *sh,
                     const char *name, uint64_t *addr, uint64_t *size)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || sh->sh_entsize == 0)
        return -ENOENT;
    /* sh_size / sh_entsize is what the header claims; the symbols there
     * are no more than the section's data holds. */
    size_t n = sh->sh_size / sh->sh_entsize;
    size_t fsize = gelf_fsize(e->elf, ELF_T_SYM, 1, EV_CURRENT);
    if (fsize == 0)
        return -ENOENT;
    if (n > data->d_size / fsize)
        n = data->d_size / fsize;
    for (size_t i = 0; i < n && i <= INT_MAX; i++) {
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

int elfsym_section(const struct elfsym *e, const char *name, uint64_t *addr, uint64_t *size)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(e->elf, &shstrndx) != 0)
        return -ENOENT;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *s = elf_strptr(e->elf, shstrndx, sh.sh_name);
        if (s && strcmp(s, name) == 0) {
            *addr = sh.sh_addr;
            *size = sh.sh_size;
            return 0;
        }
    }
    return -ENOENT;
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
