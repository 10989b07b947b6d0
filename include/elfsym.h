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

/* elfsym_section_data — the contents of section NAME, decompressed when
 * the section is SHF_COMPRESSED: *DATA (owned by E, valid until
 * elfsym_close; a decompressed copy stays allocated until then) and *LEN.
 * Returns 0, -ENOENT (no such section, or one with no contents), or
 * -EINVAL (it cannot be read or decompressed). */
int elfsym_section_data(const struct elfsym *e, const char *name, const void **data, size_t *len);

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

/* elfsym_addr_at — the link-time address that file offset OFF is loaded
 * at, from the PT_LOAD whose file-backed part holds OFF: how an address
 * in a mapping (start, offset) of the file becomes a symbol's address,
 * whether the file is PIE, fixed-address or a shared library. Returns 0
 * or -ENOENT. */
int elfsym_addr_at(const struct elfsym *e, uint64_t off, uint64_t *addr);

/* elfsym_build_id — the GNU build id (.note.gnu.build-id's descriptor),
 * at most MAX bytes into OUT. Returns its length, 0 when the file has
 * none or it is longer than MAX. */
size_t elfsym_build_id(const struct elfsym *e, uint8_t *out, size_t max);

/* elfsym_image_build_id — the GNU build id of the ELF image IMAGE (LEN
 * bytes in memory, e.g. the first page of a mapped file as a core keeps
 * it), from the notes its program headers point to inside the image; at
 * most MAX bytes into OUT. libelf may convert IMAGE in place (it does not
 * for this machine's byte order). Returns its length, 0 when the image is
 * not ELF, has none inside LEN bytes, or it is longer than MAX. */
size_t elfsym_image_build_id(void *image, size_t len, uint8_t *out, size_t max);

/* elfsym_fd_build_id — the same for the ELF file open as FD (the caller
 * keeps it open; its offset is not used). 0 when the file is not ELF or
 * has none. */
size_t elfsym_fd_build_id(int fd, uint8_t *out, size_t max);

/* elfsym_debuglink — the file name and CRC-32 of .gnu_debuglink, the
 * separate debug file's name as the stripping tool wrote it. NAME gets
 * the name (NUL-terminated, NAMELEN bytes at most). Returns 0, -ENOENT
 * (no such section, or a name that does not end inside it or fit). */
int elfsym_debuglink(const struct elfsym *e, char *name, size_t namelen, uint32_t *crc);

/* One function symbol (STT_FUNC or STT_GNU_IFUNC, defined). */
struct elfsym_func {
    uint64_t addr;      /* link-time start */
    uint64_t size;      /* bytes; 0 when the file does not say */
    const char *name;   /* owned by the elfsym, valid until elfsym_close */
};

enum elfsym_table { ELFSYM_SYMTAB, ELFSYM_DYNSYM };

/* elfsym_funcs — the function symbols of TABLE, sorted by address, one
 * per address (a sized global one preferred over a local, weak or
 * unsized alias). *OUT is malloc-ed, the caller frees it; *N its count.
 * Returns 0 (perhaps with *N 0), -ENOENT when the file has no such table
 * (a stripped file keeps only .dynsym; a separate debug file has .symtab),
 * or -ENOMEM. */
int elfsym_funcs(const struct elfsym *e, enum elfsym_table table, struct elfsym_func **out, size_t *n);

#endif
