/*
 * pyinterp — find the CPython interpreter inside a target process without
 * running anything in it: which binary holds it, which version it is, which
 * layout to read it with, and where its interpreter list starts.
 */
#ifndef GILSCOPE_PYINTERP_H
#define GILSCOPE_PYINTERP_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "pyoffsets.h"

/* Error codes beyond errno values. */
#define PYINTERP_ENOTPYTHON  (-1001)  /* no CPython in the process */
#define PYINTERP_EVERSION    (-1002)  /* a CPython version without a layout */
#define PYINTERP_ENOTREADY   (-1003)  /* CPython found but not initialised yet */

struct pyinterp {
    pid_t pid;                  /* target */
    int major, minor, micro;    /* detected version (micro -1 when unknown) */
    char version[32];           /* "3.11.7" or "3.11" */
    const char *version_source; /* how the version was found (static string) */
    struct py_offsets off;      /* layout in use (debug offsets applied on 3.13+) */
    uint64_t runtime;           /* address of _PyRuntime (3.7+), else 0 */
    uint64_t interp_head_addr;  /* address of the word holding the first interpreter */
    uint64_t tstate_current_addr; /* address of the word naming the current thread (≤3.11), else 0 */
    /* A GIL at a fixed address, the runtime's (3.7–3.11) or 3.6's static
     * variables: its locked flag (int) and last holder (a thread state)
     * name the holder also while the current-thread word is NULL during a
     * hand-over. 0 when there is none. */
    uint64_t gil_locked_addr, gil_holder_addr;
    /* Where a thread waiting for the GIL sleeps, when that has a fixed
     * address (see gilwait.h): the GIL structure in the runtime, or the
     * static variables of an older GIL; and 2.7's lock, reached through
     * the pointer at gil_lock_ptr. Empty when it moves with the interpreter
     * state (3.12+) or the binary has no symbols for it. */
    struct { uint64_t addr, size; } gil_fixed[4];
    int ngil_fixed;
    uint64_t gil_lock_ptr;      /* address of a pointer to the GIL's lock (2.7), else 0 */
    uint64_t gil_switch_addr;   /* address of the GIL's hand-over counter when fixed, else 0 */
    char binary[PATH_MAX];      /* the file that holds the interpreter, as the target maps it */
    uint64_t bias;              /* load bias of that file */
    char warning[300];          /* "" or a warning to show once (a version newer than known) */
};

/* pyinterp_find — locate the interpreter in PID (memory through M) and fill
 * OUT. Returns 0; PYINTERP_ENOTPYTHON, PYINTERP_EVERSION (ERR names the
 * version), PYINTERP_ENOTREADY (try again shortly — launch mode), or a
 * negative errno (-ESRCH, -EPERM …). ERR gets a one-line reason. */
int pyinterp_find(pid_t pid, struct proc_mem *m, struct pyinterp *out, char *err, size_t errlen);

/* pyinterp_find_core — the same for a target that is no process (a core
 * file of process PID): its file mappings MAPS and executable EXE come from
 * the caller, files are opened at their paths, memory is read through M
 * (a proc_mem with a source). Errors name "the core of PID N". */
int pyinterp_find_core(pid_t pid, const struct proc_maps *maps, const char *exe, struct proc_mem *m,
                       struct pyinterp *out, char *err, size_t errlen);

/* pyinterp_gil_enabled — whether the GIL of PI's main interpreter is in
 * use: 1 on every GIL build, and on a free-threaded build that re-enabled it
 * (PYTHON_GIL=1, or for an extension that needs it); 0 on a free-threaded
 * build running without it; -EFAULT when it cannot be read. */
int pyinterp_gil_enabled(const struct pyinterp *pi, struct proc_mem *m);

/* pyinterp_holder_is_current_word — 1 when PI's GIL holder is known only
 * from the current-thread word (no GIL structure names it: 2.7, or a
 * stripped binary of an interpreter whose GIL is static variables). That
 * word is NULL while the GIL changes hands, not only while it is free.
 * Never fails. */
int pyinterp_holder_is_current_word(const struct pyinterp *pi);

/* pyinterp_parse_version_string — find the start of a sys.version text
 * ("3.11.2 (main, …" / "2.7.18 (default, …") inside BUF and parse it.
 * Returns 0 or -ENOENT. Exposed for tests. */
int pyinterp_parse_version_string(const char *buf, size_t len, int *major, int *minor, int *micro);

/* pyinterp_parse_lib_name — "libpython3.11.so.1.0", "libpython3.6m.so",
 * "python2.7", "python3.12" → major, minor. Returns 0 or -ENOENT. */
int pyinterp_parse_lib_name(const char *basename, int *major, int *minor);

#endif
