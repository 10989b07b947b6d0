/*
 * fuzz_nativesym — nativesym's reading of a mapped file (nativesym.h: ELF
 * symbols through elfsym and libelf, DWARF line tables through libdwarf,
 * C++ demangling) on mutated ELF files, the way gilscope --native reads
 * every library a target has mapped.
 *
 * The input is written to a memfd and opened by its /proc/self/fd path
 * with nativesym_new_file; then 64 offsets spread over the file are
 * looked up (each twice: the second from the per-IP cache, which must
 * agree), and nativesym_note. Checked: ASan / UBSan (in gilscope's code;
 * libelf and libdwarf themselves are not instrumented), and that every
 * answer is sane: a library name, a name unless there is no symbol, a line
 * > 0 with every source file. Seeds: small real shared objects and
 * programs with DWARF (C and C++, DWARF 4 and 5), built by tests/fuzz/seed.
 */
#include "fuzz_common.h"
#include "nativesym.h"

#define LOOKUPS 64

static void check_info(const struct nativesym_info *in)
{
    FUZZ_CHECK(in->library != NULL);
    if (!(in->flags & (NATIVESYM_NOSYM | NATIVESYM_ANON)))
        FUZZ_CHECK(in->name != NULL);
    if (in->file)
        FUZZ_CHECK(in->line > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("fuzz_nativesym", data, size);
    char err[256] = "";
    /* A new symbolizer each time: its files are cached by build id, which
     * mutated inputs share. */
    struct nativesym *ns = nativesym_new_file(path, err, sizeof err);
    FUZZ_CHECK(ns != NULL);
    for (size_t k = 0; k < LOOKUPS; k++) {
        uint64_t off = size ? (uint64_t)(size * k / LOOKUPS) + k : k;
        struct nativesym_info a, b;
        FUZZ_CHECK(nativesym_lookup(ns, off, &a) == 0);
        check_info(&a);
        FUZZ_CHECK(nativesym_lookup(ns, off, &b) == 0);
        FUZZ_CHECK(a.name == b.name && a.file == b.file && a.line == b.line && a.flags == b.flags);
    }
    struct nativesym_counts c;
    (void)nativesym_note(ns, &c);
    FUZZ_CHECK(c.files + c.unreadable == 1);
    nativesym_free(ns);
    return 0;
}
