/* pyinterp — see include/pyinterp.h. */
#include "pyinterp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "elfsym.h"
#include "pyobj.h"

#define SCAN_MAX_BYTES (8u << 20)   /* bound on writable data scanned for fallbacks */
#define SCAN_CHUNK 65536

int pyinterp_parse_lib_name(const char *base, int *major, int *minor)
{
    const char *p = strstr(base, "python");
    if (!p)
        return -ENOENT;
    p += 6;
    if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2]))
        return -ENOENT;
    int ma = p[0] - '0';
    char *end;
    long mi = strtol(p + 2, &end, 10);
    if (mi < 0 || mi > 99)
        return -ENOENT;
    /* Accept "python3.11", "libpython3.6m.so", "libpython3.13t.so" — not "python3.11foo". */
    if (*end && *end != '.' && *end != 'm' && *end != 'd' && *end != 'u' && *end != 't')
        return -ENOENT;
    *major = ma;
    *minor = (int)mi;
    return 0;
}

int pyinterp_parse_version_string(const char *buf, size_t len, int *major, int *minor, int *micro)
{
    for (size_t i = 0; i + 8 < len; i++) {
        if ((buf[i] != '2' && buf[i] != '3') || buf[i + 1] != '.')
            continue;
        if (i > 0 && (isalnum((unsigned char)buf[i - 1]) || buf[i - 1] == '.'))
            continue;
        size_t j = i + 2;
        long mi = 0, mc = 0;
        size_t d = 0;
        while (j < len && isdigit((unsigned char)buf[j]) && d < 3) {
            mi = mi * 10 + (buf[j++] - '0');
            d++;
        }
        if (d == 0 || j >= len || buf[j] != '.')
            continue;
        j++;
        d = 0;
        while (j < len && isdigit((unsigned char)buf[j]) && d < 3) {
            mc = mc * 10 + (buf[j++] - '0');
            d++;
        }
        if (d == 0)
            continue;
        /* Optional release tag and '+': "3.13.0rc1+", then " (". */
        size_t t = 0;
        while (j < len && t < 8 && (isalnum((unsigned char)buf[j]) || buf[j] == '+')) {
            j++;
            t++;
        }
        if (j + 1 < len && buf[j] == ' ' && buf[j + 1] == '(') {
            *major = buf[i] - '0';
            *minor = (int)mi;
            *micro = (int)mc;
            return 0;
        }
    }
    return -ENOENT;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Looks at an interpreter state that does not hold together, this many
 * times this far apart, before it is declared unreadable (see find_in). */
#define CHECK_TRIES 5
#define CHECK_PAUSE_NS 1000000ull

/* The interpreter's own structure is the final proof: the first thread of a
 * candidate interpreter must point back at it. NOTREADY when it has none yet. */
static int check_interp(struct proc_mem *m, const struct py_offsets *o, uint64_t interp)
{
    uint64_t ts = 0, back = 0;
    if (interp == 0 || (interp & 7))
        return PYINTERP_ENOTREADY;
    if (pyobj_read_word(m, interp + (uint64_t)o->is_tstate_head, &ts) != 0)
        return -EFAULT;
    if (ts == 0)
        return PYINTERP_ENOTREADY;
    if ((ts & 7) || pyobj_read_word(m, ts + (uint64_t)o->ts_interp, &back) != 0)
        return -EFAULT;
    return back == interp ? 0 : -EINVAL;
}

/* A word found by scanning is trusted only when the whole structure holds:
 * every thread state names it as its interpreter, and some thread is
 * running Python code (a frame object naming a code object). Heap-frame
 * versions only: later ones always have the .PyRuntime section. */
static int check_interp_deep(struct proc_mem *m, const struct py_offsets *o, uint64_t interp)
{
    uint64_t ts = 0;
    int frames = 0;
    if (o->ts_frame < 0 || pyobj_read_word(m, interp + (uint64_t)o->is_tstate_head, &ts) != 0)
        return -EINVAL;
    for (int n = 0; ts && n < 4096; n++) {
        uint64_t back = 0, frame = 0, code = 0;
        if ((ts & 7) || pyobj_read_word(m, ts + (uint64_t)o->ts_interp, &back) != 0 || back != interp ||
            pyobj_read_word(m, ts + (uint64_t)o->ts_frame, &frame) != 0)
            return -EINVAL;
        if (frame) {
            if (!pyobj_type_name_is(m, o, frame, "frame") ||
                pyobj_read_word(m, frame + (uint64_t)o->f_code, &code) != 0 || !pyobj_type_name_is(m, o, code, "code"))
                return -EINVAL;
            frames++;
        }
        if (pyobj_read_word(m, ts + (uint64_t)o->ts_next, &ts) != 0)
            return -EINVAL;
    }
    return frames ? 0 : -EINVAL;
}

/* Scan the writable data of the binary for a word holding the interpreter
 * list head; used when neither a symbol nor a section names it. */
static int scan_interp_head(struct proc_mem *m, const struct elfsym *e, uint64_t bias,
                            const struct py_offsets *o, uint64_t *head_addr)
{
    struct elfsym_range r[8];
    size_t nr = elfsym_writable(e, r, 8);
    size_t scanned = 0;
    uint64_t *buf = malloc(SCAN_CHUNK);
    if (!buf)
        return -ENOMEM;
    int rc = PYINTERP_ENOTPYTHON;
    for (size_t k = 0; k < nr && rc != 0; k++) {
        uint64_t start = (r[k].addr + bias + 7) & ~7ull, end = r[k].addr + bias + r[k].size;
        for (uint64_t a = start; a < end && scanned < SCAN_MAX_BYTES && rc != 0; a += SCAN_CHUNK) {
            size_t n = end - a < SCAN_CHUNK ? (size_t)(end - a) : SCAN_CHUNK;
            n &= ~(size_t)7;
            if (n == 0 || proc_mem_read(m, a, buf, n) != 0)
                continue;
            scanned += n;
            for (size_t i = 0; i < n / 8; i++) {
                if (buf[i] == 0 || (buf[i] & 7) || buf[i] < 4096)
                    continue;
                if (check_interp(m, o, buf[i]) == 0 && check_interp_deep(m, o, buf[i]) == 0) {
                    *head_addr = a + i * 8;
                    rc = 0;
                    break;
                }
            }
        }
    }
    free(buf);
    return rc;
}

/* sys.version lives in a static buffer filled at start-up; find it in the
 * live writable data of the binary. */
static int scan_version_string(struct proc_mem *m, const struct elfsym *e, uint64_t bias,
                               int *major, int *minor, int *micro)
{
    struct elfsym_range r[8];
    size_t nr = elfsym_writable(e, r, 8);
    size_t scanned = 0;
    char *buf = malloc(SCAN_CHUNK + 64);
    if (!buf)
        return -ENOMEM;
    int rc = -ENOENT;
    for (size_t k = 0; k < nr && rc != 0; k++) {
        uint64_t start = r[k].addr + bias, end = start + r[k].size;
        for (uint64_t a = start; a < end && scanned < SCAN_MAX_BYTES && rc != 0; a += SCAN_CHUNK) {
            size_t n = end - a < SCAN_CHUNK + 64 ? (size_t)(end - a) : SCAN_CHUNK + 64;
            if (proc_mem_read(m, a, buf, n) != 0)
                continue;
            scanned += n;
            rc = pyinterp_parse_version_string(buf, n, major, minor, micro);
        }
    }
    free(buf);
    return rc;
}

struct candidate {
    char path[PATH_MAX];    /* as mapped in the target */
    uint64_t bias;          /* load bias */
    struct elfsym *elf;     /* opened through /proc/PID/root, or at PATH (a core) */
};

/* The target as pyinterp_find and pyinterp_find_core see it. */
struct where {
    char who[48];           /* how messages name it: "PID 12", "the core of PID 12" */
    pid_t root;             /* a live process: its files are opened through
                               /proc/ROOT/root, its executable is /proc/ROOT/exe;
                               0 for a core: files are opened at their paths */
    const char *exe;        /* a core's executable (root 0) */
};

static int open_candidate(const struct where *w, const struct proc_maps *maps, const char *path,
                          struct candidate *c, char *err, size_t errlen)
{
    char full[PATH_MAX + 32];
    if (w->root > 0 ? proc_root_path(w->root, path, full, sizeof full) != 0
                    : snprintf(full, sizeof full, "%s", path) >= (int)sizeof full)
        return -ENAMETOOLONG;
    c->elf = elfsym_open(full, err, errlen);
    if (!c->elf)
        return -ENOENT;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->bias = 0;
    for (size_t i = 0; i < maps->n; i++) {
        if (strcmp(maps->v[i].path, path) == 0 && maps->v[i].offset == 0) {
            c->bias = maps->v[i].start - elfsym_load_base(c->elf);
            return 0;
        }
    }
    elfsym_close(c->elf);
    c->elf = NULL;
    return -ENOENT;
}

static int find_candidate(const struct where *w, const struct proc_maps *maps, struct candidate *c,
                          char *err, size_t errlen)
{
    /* A libpython, if mapped, holds the interpreter; otherwise the executable. */
    for (size_t i = 0; i < maps->n; i++) {
        const char *b = base_name(maps->v[i].path);
        int ma, mi;
        if (strncmp(b, "libpython", 9) == 0 && strstr(b, ".so") &&
            pyinterp_parse_lib_name(b, &ma, &mi) == 0 &&
            open_candidate(w, maps, maps->v[i].path, c, err, errlen) == 0)
            return 0;
    }
    char exe[PATH_MAX];
    if (w->root > 0 ? proc_exe_path(w->root, exe, sizeof exe) != 0
                    : snprintf(exe, sizeof exe, "%s", w->exe) >= (int)sizeof exe) {
        snprintf(err, errlen, "cannot read the executable of %s", w->who);
        return -EACCES;
    }
    if (open_candidate(w, maps, exe, c, err, errlen) != 0) {
        snprintf(err, errlen, "%s (%s) is not a Python process", w->who, exe);
        return PYINTERP_ENOTPYTHON;
    }
    return 0;
}

static void set_version(struct pyinterp *pi, int major, int minor, int micro, const char *src)
{
    pi->major = major;
    pi->minor = minor;
    pi->micro = micro;
    pi->version_source = src;
    if (micro >= 0)
        snprintf(pi->version, sizeof pi->version, "%d.%d.%d", major, minor, micro);
    else
        snprintf(pi->version, sizeof pi->version, "%d.%d", major, minor);
}

static int detect_version(struct proc_mem *m, const struct candidate *c, uint64_t runtime,
                          struct pyinterp *pi, uint8_t *debug_block)
{
    uint64_t addr, size;
    if (runtime && proc_mem_read(m, runtime, debug_block, PYOFF_DEBUG_BLOCK_SIZE) == 0 &&
        memcmp(debug_block, "xdebugpy", 8) == 0) {
        uint64_t hex;
        memcpy(&hex, debug_block + 8, 8);
        set_version(pi, (int)(hex >> 24) & 0xff, (int)(hex >> 16) & 0xff, (int)(hex >> 8) & 0xff,
                    "_Py_DebugOffsets");
        return 1;
    }
    if (elfsym_lookup(c->elf, "Py_Version", &addr, &size) == 0) {
        uint64_t hex = 0;
        if (proc_mem_read(m, addr + c->bias, &hex, 4) == 0 && (hex >> 24) == 3) {
            set_version(pi, 3, (int)(hex >> 16) & 0xff, (int)(hex >> 8) & 0xff, "Py_Version");
            return 0;
        }
    }
    int ma, mi, mc;
    if (scan_version_string(m, c->elf, c->bias, &ma, &mi, &mc) == 0) {
        set_version(pi, ma, mi, mc, "sys.version in memory");
        return 0;
    }
    if (pyinterp_parse_lib_name(base_name(c->path), &ma, &mi) == 0) {
        set_version(pi, ma, mi, -1, "file name");
        return 0;
    }
    return -ENOENT;
}

/* The hex value of KEY ("CapEff:") in /proc/PID/status (PID 0: our own). */
static int status_hex(pid_t pid, const char *key, uint64_t *out)
{
    char path[64], line[256];
    snprintf(path, sizeof path, pid ? "/proc/%d/status" : "/proc/self/status", (int)pid);
    FILE *f = fopen(path, "re");
    int rc = -ENOENT;
    size_t klen = strlen(key);
    while (f && rc != 0 && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && sscanf(line + klen, "%" SCNx64, out) == 1)
            rc = 0;
    if (f)
        fclose(f);
    return rc;
}

/* Why the kernel refused to let us read PID, as far as can be seen. */
static void explain_denied(pid_t pid, char *err, size_t errlen)
{
    static const char *const caps[] = {
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
        "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
        "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
        "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
        "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
        "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    };
    uint64_t ours = 0, theirs = 0;
    if (geteuid() != 0) {
        snprintf(err, errlen, "permission denied to read PID %d: run as root or with CAP_SYS_PTRACE "
                 "(" PROC_CONTAINER_HINT "), or as its owner with kernel.yama.ptrace_scope=0", (int)pid);
        return;
    }
    if (status_hex(0, "CapEff:", &ours) == 0 && !(ours & (1ull << 19))) {
        snprintf(err, errlen, "permission denied to read PID %d: gilscope runs as root but without "
                 "CAP_SYS_PTRACE (" PROC_CONTAINER_HINT ")", (int)pid);
        return;
    }
    char missing[256] = "";
    size_t at = 0;
    if (status_hex(pid, "CapPrm:", &theirs) == 0)
        for (unsigned b = 0; b < 64 && at + 32 < sizeof missing; b++)
            if ((theirs >> b & 1) && !(ours >> b & 1))
                at += (size_t)snprintf(missing + at, sizeof missing - at, "%sCAP_%s", at ? ", " : "",
                                       b < sizeof caps / sizeof caps[0] ? caps[b] : "?");
    snprintf(err, errlen, "permission denied to read PID %d although gilscope runs as root with "
             "CAP_SYS_PTRACE: the kernel refused (%s%s%s)", (int)pid,
             missing[0] ? "it holds capabilities gilscope lacks: " : "",
             missing, missing[0] ? "; or it is in another user namespace"
                                 : "it is in another user namespace, or a security module forbids it");
}

/* Where threads wait for PI's GIL when that does not move: the GIL in the
 * runtime (its layout has one), else the static variables of the GIL code
 * (gil_mutex … in ceval.c), else 2.7's interpreter_lock (the lock is
 * allocated when threads start, so only the pointer's address is known
 * here). Symbols of static variables live in .symtab only: a stripped
 * binary leaves this empty, and waiting for the GIL cannot be told. */
static void locate_gil(struct pyinterp *pi, const struct elfsym *elf, uint64_t bias)
{
    const struct py_offsets *o = &pi->off;
    uint64_t addr, size;
    if (pi->runtime && o->rt_gil_locked >= 0 && o->gil_size > 0) {
        uint64_t gil = pi->runtime + (uint64_t)(o->rt_gil_locked - o->gil_locked);
        pi->gil_locked_addr = gil + (uint64_t)o->gil_locked;
        pi->gil_holder_addr = gil + (uint64_t)o->gil_last_holder;
        pi->gil_fixed[pi->ngil_fixed].addr = gil;
        pi->gil_fixed[pi->ngil_fixed++].size = (uint64_t)o->gil_size;
        if (o->gil_switch_number >= 0)
            pi->gil_switch_addr = gil + (uint64_t)o->gil_switch_number;
        return;
    }
    if (o->is_gil_ptr >= 0)
        return;
    static const char *const vars[] = { "gil_mutex", "gil_cond", "switch_mutex", "switch_cond" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (elfsym_lookup(elf, vars[i], &addr, &size) == 0 && size > 0 && size <= 256) {
            pi->gil_fixed[pi->ngil_fixed].addr = addr + bias;
            pi->gil_fixed[pi->ngil_fixed++].size = size;
        }
    }
    if (pi->ngil_fixed > 0 && elfsym_lookup(elf, "gil_switch_number", &addr, &size) == 0)
        pi->gil_switch_addr = addr + bias;
    uint64_t laddr, lsize;
    if (pi->ngil_fixed > 0 && elfsym_lookup(elf, "gil_locked", &laddr, &lsize) == 0 && lsize == 4 &&
        elfsym_lookup(elf, "gil_last_holder", &addr, &size) == 0 && size == 8) {
        pi->gil_locked_addr = laddr + bias;
        pi->gil_holder_addr = addr + bias;
    }
    if (pi->ngil_fixed == 0 && elfsym_lookup(elf, "interpreter_lock", &addr, &size) == 0 && size == 8)
        pi->gil_lock_ptr = addr + bias;
}

/* Find the interpreter of the target W with the mappings MAPS, its memory
 * read through M, into PI (zeroed, its pid set). As pyinterp_find. */
static int find_in(const struct where *w, const struct proc_maps *maps, struct proc_mem *m, struct pyinterp *pi,
                   char *err, size_t errlen)
{
    struct candidate c = { 0 };
    int rc = find_candidate(w, maps, &c, err, errlen);
    if (rc != 0)
        return rc;

    uint64_t addr = 0, size = 0, runtime = 0;
    /* CPython (3.10+) puts _PyRuntime alone in its own section so that
     * tools find it without symbols; the symbol is for older builds. */
    if (elfsym_section(c.elf, ".PyRuntime", &addr, &size) == 0 ||
        elfsym_lookup(c.elf, "_PyRuntime", &addr, &size) == 0)
        runtime = addr + c.bias;

    uint8_t *block = calloc(1, PYOFF_DEBUG_BLOCK_SIZE);
    if (!block) {
        elfsym_close(c.elf);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int has_debug = detect_version(m, &c, runtime, pi, block);
    if (has_debug < 0) {
        uint64_t a2;
        int looks = runtime || elfsym_lookup(c.elf, "Py_Initialize", &a2, NULL) == 0;
        snprintf(err, errlen, looks ? "%s: cannot tell which Python version %s is"
                                    : "%s (%s) is not a Python process", w->who, c.path);
        rc = looks ? PYINTERP_EVERSION : PYINTERP_ENOTPYTHON;
        goto out;
    }
    snprintf(pi->binary, sizeof pi->binary, "%s", c.path);
    pi->bias = c.bias;
    pi->runtime = runtime;

    char lerr[300];
    int sel = pyoffsets_select(pi->major, pi->minor, has_debug ? block : NULL, PYOFF_DEBUG_BLOCK_SIZE,
                               &pi->off, lerr, sizeof lerr);
    if (sel < 0) {
        snprintf(err, errlen, "%s", lerr);
        rc = PYINTERP_EVERSION;
        goto out;
    }
    if (sel > 0)
        snprintf(pi->warning, sizeof pi->warning, "%s", lerr);

    const struct py_offsets *o = &pi->off;
    if (runtime && o->rt_interpreters_head >= 0) {
        pi->interp_head_addr = runtime + (uint64_t)o->rt_interpreters_head;
        if (o->rt_gilstate_tstate_current >= 0)
            pi->tstate_current_addr = runtime + (uint64_t)o->rt_gilstate_tstate_current;
    } else if (o->rt_interpreters_head < 0 &&
               elfsym_lookup(c.elf, "interp_head", &addr, &size) == 0) {
        pi->interp_head_addr = addr + c.bias;
    }
    if (o->rt_interpreters_head < 0 && elfsym_lookup(c.elf, "_PyThreadState_Current", &addr, &size) == 0)
        pi->tstate_current_addr = addr + c.bias;

    uint64_t head = 0;
    if (pi->interp_head_addr) {
        /* The first thread state may be freed between the reads while
         * threads start and end by the thousand: a mismatch is looked at
         * again before it counts. */
        for (int tries = 0; tries < CHECK_TRIES; tries++) {
            if (pyobj_read_word(m, pi->interp_head_addr, &head) != 0) {
                snprintf(err, errlen, "cannot read the memory of %s", w->who);
                rc = -EFAULT;
                goto out;
            }
            rc = check_interp(m, o, head);
            if (rc == 0 || rc == PYINTERP_ENOTREADY)
                break;
            clock_nap_ns(CHECK_PAUSE_NS);
        }
    } else {
        rc = scan_interp_head(m, c.elf, c.bias, o, &pi->interp_head_addr);
        if (rc == 0 && o->rt_interpreters_head >= 0) {
            pi->runtime = pi->interp_head_addr - (uint64_t)o->rt_interpreters_head;
            if (o->rt_gilstate_tstate_current >= 0)
                pi->tstate_current_addr = pi->runtime + (uint64_t)o->rt_gilstate_tstate_current;
        }
        if (rc != 0)
            rc = PYINTERP_ENOTREADY;
    }
    if (rc == 0)
        locate_gil(pi, c.elf, c.bias);
    if (rc == PYINTERP_ENOTREADY)
        snprintf(err, errlen, "%s: Python %s has not started its interpreter yet", w->who, pi->version);
    else if (rc != 0)
        snprintf(err, errlen, "%s: Python %s interpreter state is not readable", w->who, pi->version);
out:
    free(block);
    elfsym_close(c.elf);
    return rc;
}

int pyinterp_find(pid_t pid, struct proc_mem *m, struct pyinterp *pi, char *err, size_t errlen)
{
    memset(pi, 0, sizeof *pi);
    pi->pid = pid;
    struct proc_maps maps = { 0 };
    /* A process whose main thread has exited is read through a live thread. */
    struct where w = { .root = proc_live_tid(pid) };
    snprintf(w.who, sizeof w.who, "PID %d", (int)pid);
    int rc = proc_maps_read(w.root, &maps);
    if (rc == -ESRCH || rc == -ENOENT) {
        snprintf(err, errlen, "no process with PID %d", (int)pid);
        return -ESRCH;
    }
    if (rc == -EACCES || rc == -EPERM) {
        explain_denied(pid, err, errlen);
        return rc;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot read the memory map of PID %d: %s", (int)pid, strerror(-rc));
        return rc;
    }
    rc = find_in(&w, &maps, m, pi, err, errlen);
    proc_maps_free(&maps);
    return rc;
}

int pyinterp_find_core(pid_t pid, const struct proc_maps *maps, const char *exe, struct proc_mem *m,
                       struct pyinterp *pi, char *err, size_t errlen)
{
    memset(pi, 0, sizeof *pi);
    pi->pid = pid;
    struct where w = { .root = 0, .exe = exe };
    snprintf(w.who, sizeof w.who, "the core of PID %d", (int)pid);
    return find_in(&w, maps, m, pi, err, errlen);
}

int pyinterp_gil_enabled(const struct pyinterp *pi, struct proc_mem *m)
{
    const struct py_offsets *o = &pi->off;
    if (!o->free_threaded)
        return 1;
    uint64_t interp = 0, gil = 0;
    int32_t enabled = 0;
    if (o->is_gil_ptr < 0 || o->gil_enabled < 0 || pyobj_read_word(m, pi->interp_head_addr, &interp) != 0 ||
        interp == 0 || (interp & 7) || pyobj_read_word(m, interp + (uint64_t)o->is_gil_ptr, &gil) != 0 ||
        gil == 0 || (gil & 7) || proc_mem_read(m, gil + (uint64_t)o->gil_enabled, &enabled, sizeof enabled) != 0)
        return -EFAULT;
    return enabled != 0;
}

int pyinterp_holder_is_current_word(const struct pyinterp *pi)
{
    return pi->tstate_current_addr != 0 && pi->gil_holder_addr == 0;
}
