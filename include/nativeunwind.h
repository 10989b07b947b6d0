/*
 * nativeunwind — the C call stack of a stopped thread of the target, as
 * instruction addresses, through libunwind's remote interface.
 *
 * libunwind-ptrace finds the unwind information (.eh_frame) of each mapped
 * file, but nothing else of it is used as it comes: registers are taken with
 * one PTRACE_GETREGS per thread instead of a PTRACE_PEEKUSER per register,
 * target memory is read a page at a time through proc_mem and kept for the
 * thread's whole unwind instead of a ptrace system call per word, and
 * nothing is ever written. Unwind rules are cached by libunwind per
 * address, so a steady program costs a register read and a page or two of
 * stack per thread-sample. x86-64 only. One unwind at a time per thread of
 * the profiler.
 *
 * A core file (nativeunwind_new_core) has no process to ask: registers come
 * from the caller, and the unwind information of each mapped file is found
 * through its .eh_frame_hdr search table in target memory, as the vDSO's
 * is for a process.
 */
#ifndef GILSCOPE_NATIVEUNWIND_H
#define GILSCOPE_NATIVEUNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "proc.h"

#define NATIVEUNWIND_MAX_DEPTH 512  /* native frames kept per thread */

struct nativeunwind;    /* opaque; one per target process */

/* How an unwind ended. */
enum nativeunwind_end {
    NATIVEUNWIND_END_ROOT = 0,  /* reached the thread's first frame */
    NATIVEUNWIND_END_DEPTH,     /* cut at the caller's bound */
    NATIVEUNWIND_END_BROKEN,    /* the unwind information or the stack gave out first: a
                                 * corrupt table, or code with none (JIT code, a library
                                 * built without it) that no frame pointer leads out of */
};

/* nativeunwind_new — an unwinder for process PID reading memory through M
 * (which must outlive it). Returns NULL with a one-line reason in ERR. */
struct nativeunwind *nativeunwind_new(pid_t pid, struct proc_mem *m, char *err, size_t errlen);

/* Registers of thread TID of a target that is no process, into OUT;
 * 0, or nonzero when it has none. CTX is the constructor's. */
typedef int (*nativeunwind_regs_fn)(void *ctx, pid_t tid, struct user_regs_struct *out);

/* nativeunwind_new_core — an unwinder for a target that is no process (a
 * core file; PID is only for messages), reading memory through M, which
 * must outlive it: registers from REGS(CTX, ...), unwind information from
 * the .eh_frame_hdr of each ELF image in MAPS (address order; an image
 * starts at a mapping of its file's offset 0), read through M once, here.
 * MAPS is not kept. Code of an image with no such table (or none the
 * usual encodings describe), and of no file, ends an unwind that meets
 * it. Returns NULL with a one-line reason in ERR (out of memory, libunwind
 * failed). */
struct nativeunwind *nativeunwind_new_core(pid_t pid, struct proc_mem *m, const struct proc_maps *maps,
                                           nativeunwind_regs_fn regs, void *ctx, char *err, size_t errlen);

/* nativeunwind_free — release U (NULL is fine). */
void nativeunwind_free(struct nativeunwind *u);

/* nativeunwind_thread — unwind thread TID, which must be in a ptrace stop
 * of this process (of a core: one it lists): up to MAX code addresses into IPS, leaf first. The
 * leaf's is its program counter; the others are return addresses minus
 * one, inside the call instruction, as symbol and line lookups want them.
 * *END says how the unwind ended. Returns how many addresses were stored
 * (at least 1 once the registers are read), or -ESRCH when the thread's
 * registers cannot be read (not stopped, gone). */
int nativeunwind_thread(struct nativeunwind *u, pid_t tid, uint64_t *ips, size_t max,
                        enum nativeunwind_end *end);

/* nativeunwind_reads — target reads (system calls) made so far, for bench. */
uint64_t nativeunwind_reads(const struct nativeunwind *u);

#endif
