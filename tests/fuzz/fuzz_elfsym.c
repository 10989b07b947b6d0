/*
 * fuzz_elfsym — the ELF symbol reader (elfsym.h, over libelf) on mutated ELF
 * files, the way gilscope reads a target's python binary or libpython.
 *
 * The input is written to a memfd and opened by its /proc/self/fd path; then
 * elfsym_lookup("_PyRuntime"), elfsym_section(".PyRuntime"),
 * elfsym_writable, elfsym_load_base and, at the symbol it found,
 * elfsym_read. Checked: ASan / UBSan (in gilscope's code; libelf itself is
 * not instrumented), and that elfsym_writable stores no more than asked.
 * Seeds: small real binaries built by tests/fuzz/seed (a stripped tiny
 * program, and shared objects with a .PyRuntime section and a _PyRuntime
 * symbol, like libpython's).
 */
#include "elfsym.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("fuzz_elfsym", data, size);
    char err[256] = "";
    struct elfsym *e = elfsym_open(path, err, sizeof err);
    if (!e) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    uint64_t addr = 0, len = 0, base;
    if (elfsym_lookup(e, "_PyRuntime", &addr, &len) == 0) {
        uint8_t buf[256];
        (void)elfsym_read(e, addr, buf, len < sizeof buf ? (size_t)len : sizeof buf);
    }
    (void)elfsym_lookup(e, "Py_Version", &addr, NULL);
    (void)elfsym_section(e, ".PyRuntime", &addr, &len);
    struct elfsym_range r[4];
    FUZZ_CHECK(elfsym_writable(e, r, 4) <= 4);
    FUZZ_CHECK(elfsym_writable(e, r, 0) == 0);
    base = elfsym_load_base(e);
    uint8_t one;
    (void)elfsym_read(e, base, &one, 1);
    elfsym_close(e);
    return 0;
}
