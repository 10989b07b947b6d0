/*
 * elfsym — symbols, sections and file contents of an ELF image, through
 * libelf. Knows nothing of Python.
 */
#ifndef GILSCOPE_ELFSYM_H
#define GILSCOPE_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

struct elfsym;          /* opaque: an opened, parsed ELF file */

/* elfsym_open — open PATH and index its symbols (.symtab and .dynsym) and
 * load segments. Returns a handle to free with elfsym_close, or NULL with a
 * one-line reason in ERR. */
struct elfsym *elfsym_open(const char *path, char *err, size_t errlen);

/* elfsym_close — release E (NULL is fine). */
void elfsym_close(struct elfsym *e);

/* elfsym_lookup — value (link-time address) and size of the symbol NAME,
 * searched in .symtab then .dynsym (local symbols included; a stripped file
 * keeps only .dynsym). Returns 0 or -ENOENT. */
int elfsym_lookup(const struct elfsym *e, const char *name, uint64_t *addr, uint64_t *size);

/* elfsym_section — link-time address and size of section NAME.
 * Returns 0 or -ENOENT. */
int elfsym_section(const struct elfsym *e, const char *name, uint64_t *addr, uint64_t *size);

/* elfsym_load_base — the first PT_LOAD's p_vaddr rounded down to its
 * alignment: the link-time address that the mapping of file offset 0 has. */
uint64_t elfsym_load_base(const struct elfsym *e);

/* elfsym_read — copy LEN bytes of the file's initialised contents at
 * link-time address ADDR into BUF. Returns 0, or -EFAULT when the range is
 * not wholly inside one PT_LOAD's file-backed part (e.g. .bss). */
int elfsym_read(const struct elfsym *e, uint64_t addr, void *buf, size_t len);

/* One writable, loaded range of the image (link-time addresses). */
struct elfsym_range {
    uint64_t addr;      /* start */
    uint64_t size;      /* bytes, memory size (includes .bss) */
};

/* elfsym_writable — the writable PT_LOAD ranges, at most MAX into OUT.
 * Returns how many were stored. */
size_t elfsym_writable(const struct elfsym *e, struct elfsym_range *out, size_t max);

#endif
