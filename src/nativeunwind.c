/* nativeunwind — see include/nativeunwind.h. */
#include "nativeunwind.h"

#include <elf.h>
#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#define PAGE 4096u
#define PAGES 8             /* pages of target memory held during one thread's unwind */
/* libunwind keeps the unwind rule of this many addresses (a power of two);
 * its default, 128, is fewer than a busy interpreter's return addresses,
 * and a miss means looking the rule up in the file again. */
#define RULE_CACHE 4096
#define MAX_PHDRS 64        /* program headers read of a mapped image */

struct page {
    uint64_t addr;      /* page address; valid when OK */
    int ok;             /* 1 read, -1 unreadable, 0 empty slot */
    uint8_t data[PAGE];
};

/* libunwind's lookup in an .eh_frame_hdr search table: exported by the
 * library (libunwind-ptrace calls it), though its headers do not declare it. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                              unw_proc_info_t *pi, int need_unwind_info, void *arg);

struct nativeunwind {
    pid_t pid;
    unw_dyn_info_t *tables;     /* search tables read from target memory, by start_ip: the
                                 * vDSO's for a process, every mapped file's for a core */
    size_t ntables;
    struct proc_mem *m;
    void *upt;                  /* libunwind-ptrace's state: finds unwind info in the files
                                 * of a process; NULL for a core */
    nativeunwind_regs_fn regs_fn;   /* NULL: PTRACE_GETREGS */
    void *regs_ctx;
    unw_addr_space_t as;
    unw_accessors_t acc;
    struct user_regs_struct regs;   /* of the thread being unwound */
    struct page pages[PAGES];
    unsigned next_page;
    uint64_t reads;
};

/* The unwinder at work in this thread. libunwind-ptrace's lookup of unwind
 * tables reads target memory through our accessors but hands them its own
 * state as their argument, not ours, so the accessors cannot rely on it. */
static __thread struct nativeunwind *active;

static int mem_word(struct nativeunwind *u, uint64_t addr, unw_word_t *val)
{
    uint64_t base = addr & ~(uint64_t)(PAGE - 1), off = addr - base;
    if (off + sizeof *val > PAGE) {
        /* A word across two pages: two reads, each held. */
        uint8_t b[sizeof *val];
        unw_word_t lo, hi;
        size_t first = PAGE - off;
        if (mem_word(u, base + PAGE - sizeof lo, &lo) || mem_word(u, base + PAGE, &hi))
            return -UNW_EINVAL;
        memcpy(b, (uint8_t *)&lo + sizeof lo - first, first);
        memcpy(b + first, &hi, sizeof *val - first);
        memcpy(val, b, sizeof *val);
        return 0;
    }
    struct page *p = NULL;
    for (unsigned i = 0; i < PAGES && !p; i++)
        if (u->pages[i].ok && u->pages[i].addr == base)
            p = &u->pages[i];
    if (!p) {
        p = &u->pages[u->next_page++ % PAGES];
        p->addr = base;
        u->reads++;
        p->ok = proc_mem_read(u->m, base, p->data, PAGE) == 0 ? 1 : -1;
    }
    if (p->ok < 0)
        return -UNW_EINVAL;
    memcpy(val, p->data + off, sizeof *val);
    return 0;
}

static int acc_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    /* The target is never written. */
    if (write || !active)
        return -UNW_EINVAL;
    return mem_word(active, addr, val);
}

static int acc_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    (void)as, (void)arg;
    if (write || !active)
        return -UNW_EREADONLYREG;
    const struct user_regs_struct *r = &active->regs;
    switch (reg) {
    case UNW_X86_64_RAX: *val = r->rax; break;
    case UNW_X86_64_RDX: *val = r->rdx; break;
    case UNW_X86_64_RCX: *val = r->rcx; break;
    case UNW_X86_64_RBX: *val = r->rbx; break;
    case UNW_X86_64_RSI: *val = r->rsi; break;
    case UNW_X86_64_RDI: *val = r->rdi; break;
    case UNW_X86_64_RBP: *val = r->rbp; break;
    case UNW_X86_64_RSP: *val = r->rsp; break;
    case UNW_X86_64_R8: *val = r->r8; break;
    case UNW_X86_64_R9: *val = r->r9; break;
    case UNW_X86_64_R10: *val = r->r10; break;
    case UNW_X86_64_R11: *val = r->r11; break;
    case UNW_X86_64_R12: *val = r->r12; break;
    case UNW_X86_64_R13: *val = r->r13; break;
    case UNW_X86_64_R14: *val = r->r14; break;
    case UNW_X86_64_R15: *val = r->r15; break;
    case UNW_X86_64_RIP: *val = r->rip; break;
    default: return -UNW_EBADREG;
    }
    return 0;
}

static int acc_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
    (void)as, (void)reg, (void)val, (void)write, (void)arg;
    return -UNW_EBADREG;
}

static int table_cmp(const void *a, const void *b)
{
    unw_word_t x = ((const unw_dyn_info_t *)a)->start_ip, y = ((const unw_dyn_info_t *)b)->start_ip;
    return (x > y) - (x < y);
}

/* The table of U's covering IP, NULL when none does. */
static unw_dyn_info_t *table_of(struct nativeunwind *u, unw_word_t ip)
{
    size_t lo = 0, hi = u->ntables;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->tables[mid].start_ip <= ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && ip < u->tables[lo - 1].end_ip ? &u->tables[lo - 1] : NULL;
}

static int acc_find(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg)
{
    struct nativeunwind *u = arg;
    unw_dyn_info_t *di = table_of(u, ip);
    if (di)
        return _Ux86_64_dwarf_search_unwind_table(as, ip, di, pi, need, u);
    return u->upt ? _UPT_find_proc_info(as, ip, pi, need, u->upt) : -UNW_ENOINFO;
}

/* The .eh_frame_hdr search table of the ELF image mapped at BASE, whose
 * mappings end at END, read from target memory, into DI (its whole image
 * is in memory: the vDSO's, or a file's read-only segments, which a core
 * serves from the file). Returns 0, or -1 when there is none: only the
 * usual encodings are understood, and every header and count is checked
 * against [BASE, END). An unwind that meets code without a table stops
 * there. */
static int image_table(struct nativeunwind *u, uint64_t base, uint64_t end, unw_dyn_info_t *di)
{
    Elf64_Ehdr eh;
    if (end <= base || proc_mem_read(u->m, base, &eh, sizeof eh) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS ||
        eh.e_phoff > end - base)
        return -1;
    Elf64_Phdr ph[MAX_PHDRS];
    if (proc_mem_read(u->m, base + eh.e_phoff, ph, eh.e_phnum * sizeof ph[0]) != 0)
        return -1;
    uint64_t bias = 0, hdr = 0, text_lo = UINT64_MAX, text_hi = 0;
    int have_load = 0;
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && !have_load) {
            bias = base - (ph[i].p_vaddr & ~(uint64_t)(PAGE - 1));
            have_load = 1;
        }
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_GNU_EH_FRAME)
            hdr = ph[i].p_vaddr + bias;
        /* The code: the executable segments (the vDSO's one segment is). */
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && ph[i].p_vaddr <= UINT64_MAX - ph[i].p_memsz) {
            if (ph[i].p_vaddr < text_lo)
                text_lo = ph[i].p_vaddr;
            if (ph[i].p_vaddr + ph[i].p_memsz > text_hi)
                text_hi = ph[i].p_vaddr + ph[i].p_memsz;
        }
    }
    uint8_t h[12];
    if (!have_load || text_lo >= text_hi || !hdr || hdr < base || end - base < sizeof h ||
        hdr > end - sizeof h || proc_mem_read(u->m, hdr, h, sizeof h) != 0)
        return -1;
    /* version 1; eh_frame_ptr pcrel|sdata4; fde_count udata4; table datarel|sdata4 */
    if (h[0] != 1 || h[1] != 0x1b || h[2] != 0x03 || h[3] != 0x3b)
        return -1;
    uint32_t count;
    memcpy(&count, h + 8, sizeof count);
    if (count == 0 || count > (end - hdr - sizeof h) / 8)
        return -1;
    *di = (unw_dyn_info_t){ .format = UNW_INFO_FORMAT_REMOTE_TABLE, .start_ip = text_lo + bias,
                            .end_ip = text_hi + bias };
    di->u.rti.segbase = hdr;
    di->u.rti.table_data = hdr + sizeof h;
    di->u.rti.table_len = count * 8 / sizeof(unw_word_t);
    return 0;
}

/* Add the table of the image at [BASE, END) to U's, when it has one. */
static void table_add(struct nativeunwind *u, uint64_t base, uint64_t end)
{
    unw_dyn_info_t di;
    if (image_table(u, base, end, &di) == 0)
        u->tables[u->ntables++] = di;
}

/* The vDSO's table: a mapping of no file, which libunwind-ptrace cannot
 * open. */
static void vdso_find(struct nativeunwind *u)
{
    struct proc_maps maps = { 0 };
    uint64_t base = 0, end = 0;
    if (proc_maps_read(u->pid, &maps) != 0)
        return;
    for (size_t i = 0; i < maps.n; i++)
        if (strcmp(maps.v[i].path, "[vdso]") == 0) {
            base = maps.v[i].start;
            end = maps.v[i].end;
        }
    proc_maps_free(&maps);
    if (base && (u->tables = malloc(sizeof *u->tables)))
        table_add(u, base, end);
}

/* Every mapped file's table, from MAPS (address order): an image starts at
 * a mapping of its file's offset 0 and runs over the mappings of the same
 * file that follow it. Returns 0 or -ENOMEM. */
static int maps_tables(struct nativeunwind *u, const struct proc_maps *maps)
{
    if (maps->n && !(u->tables = malloc(maps->n * sizeof *u->tables)))
        return -ENOMEM;
    for (size_t i = 0; i < maps->n; i++) {
        if (maps->v[i].offset != 0)
            continue;
        size_t k = i;
        while (k + 1 < maps->n && maps->v[k + 1].offset != 0 && strcmp(maps->v[k + 1].path, maps->v[i].path) == 0)
            k++;
        table_add(u, maps->v[i].start, maps->v[k].end);
    }
    if (u->ntables)     /* a damaged core's mappings may overlap */
        qsort(u->tables, u->ntables, sizeof *u->tables, table_cmp);
    return 0;
}

/* Without libunwind-ptrace (a core) every procedure is found in a search
 * table, whose unwind information libunwind frees itself: this is only
 * called for what libunwind-ptrace found. */
static void acc_put(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    struct nativeunwind *u = arg;
    if (u->upt)
        _UPT_put_unwind_info(as, pi, u->upt);
}

/* A core has no list of run-time registered code to read (JIT code
 * registered with libunwind's _U_dyn_register is not looked for there). */
static int acc_dyn(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    struct nativeunwind *u = arg;
    return u->upt ? _UPT_get_dyn_info_list_addr(as, addr, u->upt) : -UNW_ENOINFO;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    (void)as, (void)c, (void)arg;
    return -UNW_EINVAL;
}

/* Names come from nativesym, never from here. */
static int acc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off, void *arg)
{
    (void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
    return -UNW_ENOINFO;
}

/* An unwinder of PID through M, with no tables yet; USE_PTRACE: a process
 * (libunwind-ptrace finds the unwind information of its files). NULL with
 * ERR set. */
static struct nativeunwind *unwinder_new(pid_t pid, struct proc_mem *m, int use_ptrace, char *err, size_t errlen)
{
    struct nativeunwind *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->pid = pid;
    u->m = m;
    u->upt = use_ptrace ? _UPT_create(pid) : NULL;
    u->acc = (unw_accessors_t){ .find_proc_info = acc_find, .put_unwind_info = acc_put,
                                .get_dyn_info_list_addr = acc_dyn, .access_mem = acc_mem,
                                .access_reg = acc_reg, .access_fpreg = acc_fpreg,
                                .resume = acc_resume, .get_proc_name = acc_name };
    u->as = u->upt || !use_ptrace ? unw_create_addr_space(&u->acc, 0) : NULL;
    if (!u->as) {
        snprintf(err, errlen, "libunwind could not be set up for PID %d", (int)pid);
        nativeunwind_free(u);
        return NULL;
    }
    unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
    unw_set_cache_size(u->as, RULE_CACHE, 0);
    return u;
}

struct nativeunwind *nativeunwind_new(pid_t pid, struct proc_mem *m, char *err, size_t errlen)
{
    struct nativeunwind *u = unwinder_new(pid, m, 1, err, errlen);
    if (u)
        vdso_find(u);
    return u;
}

struct nativeunwind *nativeunwind_new_core(pid_t pid, struct proc_mem *m, const struct proc_maps *maps,
                                           nativeunwind_regs_fn regs, void *ctx, char *err, size_t errlen)
{
    struct nativeunwind *u = unwinder_new(pid, m, 0, err, errlen);
    if (!u)
        return NULL;
    u->regs_fn = regs;
    u->regs_ctx = ctx;
    if (maps_tables(u, maps) != 0) {
        snprintf(err, errlen, "out of memory");
        nativeunwind_free(u);
        return NULL;
    }
    return u;
}

void nativeunwind_free(struct nativeunwind *u)
{
    if (!u)
        return;
    if (u->as)
        unw_destroy_addr_space(u->as);
    if (u->upt)
        _UPT_destroy(u->upt);
    free(u->tables);
    free(u);
}

int nativeunwind_thread(struct nativeunwind *u, pid_t tid, uint64_t *ips, size_t max,
                        enum nativeunwind_end *end)
{
    *end = NATIVEUNWIND_END_BROKEN;
    if (max == 0)
        return 0;
    if (u->regs_fn ? u->regs_fn(u->regs_ctx, tid, &u->regs) != 0 : ptrace(PTRACE_GETREGS, tid, NULL, &u->regs) != 0)
        return -ESRCH;
    /* Stack pages change from one stop to the next. */
    for (unsigned i = 0; i < PAGES; i++)
        u->pages[i].ok = 0;
    ips[0] = u->regs.rip;
    unw_cursor_t c;
    active = u;
    if (unw_init_remote(&c, u->as, u) != 0) {
        active = NULL;
        return 1;
    }
    size_t n = 1;
    for (;;) {
        /* After a signal frame the next address is where the signal came,
         * not a return address. */
        int exact = unw_is_signal_frame(&c) > 0;
        int r = unw_step(&c);
        if (r == 0) {
            /* libunwind also says "the end" when it gave up on code with
             * no unwind information (JIT code, a library built without
             * it) and its frame-pointer guess failed; a thread's true
             * first frame (_start, clone) has unwind information, so the
             * frame it ended at tells the two apart. (unw_get_proc_info
             * cannot: it makes up a one-byte procedure for such code.) */
            unw_proc_info_t pi;
            *end = acc_find(u->as, ips[n - 1], &pi, 0, u) == 0 ? NATIVEUNWIND_END_ROOT : NATIVEUNWIND_END_BROKEN;
            break;
        }
        unw_word_t ip;
        if (r < 0 || unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (n == max) {
            *end = NATIVEUNWIND_END_DEPTH;
            break;
        }
        ips[n++] = exact ? ip : ip - 1;
    }
    active = NULL;
    return (int)n;
}

uint64_t nativeunwind_reads(const struct nativeunwind *u)
{
    return u ? u->reads : 0;
}
