/*
 * nativesym — names, libraries and source lines of native code addresses
 * in a live process: its executable mappings from /proc/PID/maps, each
 * mapped file's function symbols (libelf, through elfsym: .symtab, else
 * .dynsym) and DWARF line tables (libdwarf), from a separate debug file
 * when one is installed (/usr/lib/debug/.build-id/xx/yyyy.debug, or
 * .gnu_debuglink's name beside the file, in its .debug/ or under
 * /usr/lib/debug/), checked against the file's build id or CRC.
 *
 * Files are opened as the target sees them (/proc/PID/root/PATH), a
 * mapping of a deleted file through /proc/PID/map_files/START-END. Each
 * file is parsed once per nativesym, keyed by its build id (else device,
 * inode, size and mtime), however many times and at whatever addresses it
 * is mapped; its symbols on the first lookup that falls in it, its line
 * table on the first lookup that needs one. A line table costs 12 bytes a
 * row once built; building it holds libdwarf's copy of the file's DWARF
 * sections for the while.
 *
 * C++ names are demangled with libstdc++'s __cxa_demangle (the C++ ABI's
 * own demangler, linked with -lstdc++; elfutils' would have meant libdw
 * as a second DWARF library).
 *
 * A corrupt or truncated file gives no name or no line, never a crash:
 * every count and offset read from it is checked, and libdwarf is given
 * an error handler so it reports instead of aborting. Not thread-safe.
 */
#ifndef GILSCOPE_NATIVESYM_H
#define GILSCOPE_NATIVESYM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

struct nativesym;   /* opaque */

enum nativesym_flag {
    NATIVESYM_ANON     = 1u << 0, /* address in an anonymous/JIT executable mapping, or in no mapping */
    NATIVESYM_NOSYM    = 1u << 1, /* mapped file known, but no symbol covers the address */
    NATIVESYM_STRIPPED = 1u << 2, /* name came from .dynsym only (no .symtab, no debug file) */
};

struct nativesym_info {
    const char *name;     /* function name, C++ demangled; NULL with NATIVESYM_NOSYM/ANON */
    const char *library;  /* basename of the mapped file ("libc.so.6"), "[anonymous]" for ANON */
    const char *file;     /* source file from DWARF line tables, NULL when unknown */
    int line;             /* source line, 0 when unknown */
    uint64_t sym_start;   /* runtime address of the start of the function, 0 when unknown */
    unsigned flags;       /* enum nativesym_flag */
};

/* nativesym_new — a symbolizer for the process PID (its mappings read
 * from /proc/PID/maps). Returns NULL with a one-line reason in ERR when
 * the maps cannot be read (no such process, not allowed) or out of
 * memory. Free with nativesym_free. */
struct nativesym *nativesym_new(pid_t pid, char *err, size_t errlen);

/* nativesym_new_file — a symbolizer of the one ELF file PATH (an absolute
 * path, as seen by this process), as if it were mapped whole and
 * executable at address 0: nativesym_lookup then takes offsets in the file
 * and describes them as it would the code of a mapped file (symbols, its
 * debug file, DWARF lines); no maps are ever read. For tests and the
 * fuzzer: a file's parsing without a process. A file that cannot be
 * opened or is not ELF is no error here (lookups then say NATIVESYM_NOSYM,
 * and nativesym_note counts it unreadable). Returns NULL with a one-line
 * reason in ERR when PATH is not absolute or out of memory. Free with
 * nativesym_free. */
struct nativesym *nativesym_new_file(const char *path, char *err, size_t errlen);

/* nativesym_new_maps — a symbolizer of a process that is gone (a core
 * file), whose mappings are MAPS (as corefile_maps lists them: paths as
 * this process sees them, the executable's already replaced by
 * --executable's; MAPS is not kept). A core does not say which mappings
 * are executable: every one is taken as code, so only an address in no
 * mapping at all is -ENOENT. The files are opened at those paths (a
 * mapping " (deleted)" at its path less that), debug files looked for in
 * this system's directories; the maps are never read again. Returns NULL
 * with a one-line reason in ERR when out of memory. Free with
 * nativesym_free. */
struct nativesym *nativesym_new_maps(const struct proc_maps *maps, char *err, size_t errlen);

/* nativesym_free — release NS and every string it handed out (NULL is fine). */
void nativesym_free(struct nativesym *ns);

/* nativesym_lookup — describe code address IP (already adjusted by the
 * caller: return addresses minus 1). Strings in OUT belong to NS and stay
 * valid until nativesym_free. Returns 0, or -ENOENT when IP is in no
 * executable mapping even after re-reading the maps once (libraries
 * loaded after attach are picked up by re-reading /proc/PID/maps when an
 * address falls outside every known mapping, at most once per ~100 ms);
 * OUT is then filled as for an anonymous mapping, so a caller may print
 * it either way.
 *
 * A file that cannot be opened or is not ELF gives NATIVESYM_NOSYM with
 * its basename. An executable mapping of no file is NATIVESYM_ANON with
 * library "[anonymous]", or its kernel name when it has one ("[vdso]").
 * A symbol of no size covers the addresses up to the next symbol; a sized
 * one only its size. Results are kept per IP, so the same return address
 * costs one hash probe the next time (until a maps re-read changes the
 * mappings). */
int nativesym_lookup(struct nativesym *ns, uint64_t ip, struct nativesym_info *out);

/* What the files looked into so far lacked, for saying so once. */
struct nativesym_counts {
    unsigned files;         /* mapped ELF files whose symbols were read */
    unsigned no_lines;      /* of these, how many have no DWARF line table, here or in a debug file */
    unsigned stripped;      /* of these, how many are named from .dynsym only (NATIVESYM_STRIPPED) */
    unsigned unreadable;    /* mapped files that could not be opened as ELF */
    const char *example;    /* basename of the first file with no line table (or stripped,
                               or unreadable), NULL when none; owned by NS */
};

/* nativesym_note — the counts so far into OUT. Returns 1 the first time
 * (for this NS) that any of no_lines, stripped or unreadable is not 0,
 * and 0 before and ever after, so that a caller calling it after each
 * sample prints its "install the debug symbols" hint exactly once. */
int nativesym_note(struct nativesym *ns, struct nativesym_counts *out);

#endif
