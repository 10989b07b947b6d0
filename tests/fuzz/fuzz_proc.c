/*
 * fuzz_proc — the /proc text parsers of proc.h on hostile text: every input
 * goes to proc_maps_parse, proc_stat_parse, proc_syscall_parse,
 * proc_schedstat_parse, proc_status_parse (with the keys gilscope asks
 * for) and proc_nspid_parse. The text is the input's own heap buffer, exactly its size and not
 * NUL-terminated, so a parser that reads past LEN is caught by ASan.
 * Checked besides: the strings a parser fills are NUL-terminated inside
 * their arrays. Seeds: this machine's real /proc files (tests/fuzz/seed).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    struct proc_maps maps = {0};
    if (proc_maps_parse(text, size, &maps) == 0) {
        for (size_t i = 0; i < maps.n; i++) {
            FUZZ_CHECK(memchr(maps.v[i].perms, '\0', sizeof maps.v[i].perms) != NULL);
            FUZZ_CHECK(memchr(maps.v[i].path, '\0', sizeof maps.v[i].path) != NULL);
        }
    }
    proc_maps_free(&maps);
    FUZZ_CHECK(maps.v == NULL && maps.n == 0);

    struct proc_stat st;
    if (proc_stat_parse(text, size, &st) == 0)
        FUZZ_CHECK(memchr(st.comm, '\0', sizeof st.comm) != NULL);

    long nr;
    uint64_t args[2];
    if (proc_syscall_parse(text, size, &nr, args) == 0)
        FUZZ_CHECK(nr >= -2 && (nr >= 0 || (args[0] == 0 && args[1] == 0)));

    struct proc_schedstat ss;
    (void)proc_schedstat_parse(text, size, &ss);

    static const char *const keys[] = {"Tgid:", "Pid:", "TracerPid:", "Threads:", "PPid:"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        long v;
        int rc = proc_status_parse(text, size, keys[k], &v);
        FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
    }

    pid_t outer = 0, inner = 0;
    int levels = proc_nspid_parse(text, size, &outer, &inner);
    FUZZ_CHECK(levels == -ENOENT || levels == -EINVAL || (levels >= 1 && outer > 0 && inner > 0));
    return 0;
}
