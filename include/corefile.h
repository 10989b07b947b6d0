/*
 * corefile — an ELF core file as a stand-in for the process it was made
 * from: its memory (the core's PT_LOAD segments, and what the core left
 * out of read-only file mappings read from the files on disk), its mapped
 * files (the NT_FILE note), its threads and their registers (NT_PRSTATUS)
 * and its pid (NT_PRPSINFO). Knows nothing of Python.
 *
 * Everything read from the core is bounded by the file's size and checked:
 * a damaged or truncated core gives an error or unreadable memory, never a
 * crash.
 */
#ifndef GILSCOPE_COREFILE_H
#define GILSCOPE_COREFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "proc.h"

struct corefile;        /* opaque */

/* corefile_open — open the core PATH and read its structure. EXE (may be
 * NULL) replaces the executable's path in the core's list of mapped files
 * (the program moved since). The files the core maps are checked: one
 * whose first page the core holds (an ELF header) and that is missing on
 * disk, or whose build id differs from the core's, gets a warning (see
 * corefile_warning); its contents are still used when it exists. Returns
 * a handle to free with corefile_close, or NULL with a one-line reason in
 * ERR (not a core file, a core of another machine, truncated before its
 * notes, no mapped files or threads listed, out of memory). */
struct corefile *corefile_open(const char *path, const char *exe, char *err, size_t errlen);

/* corefile_close — release C (NULL is fine). */
void corefile_close(struct corefile *c);

/* corefile_warning — the I-th warning found by corefile_open (a file
 * missing or different, the core truncated), NULL past the last. Owned
 * by C. */
const char *corefile_warning(const struct corefile *c, size_t i);

/* corefile_read — copy LEN bytes of the process's memory at ADDR into
 * BUF: from the core, or, for a file mapping the core left out, from that
 * file. Returns 0, or -EFAULT when any byte is in neither (unmapped, not
 * dumped, a file missing, the core truncated). LEN 0 succeeds. */
int corefile_read(struct corefile *c, uint64_t addr, void *buf, size_t len);

/* corefile_source — C as a proc_mem source (proc_mem_open_source): its
 * memory and its threads. C must outlive the proc_mem. */
struct proc_mem_source corefile_source(struct corefile *c);

/* corefile_maps — the file mappings of the NT_FILE note as a maps list
 * (start, end, offset, path; perms from the core's segment at start, else
 * "r--p"), in address order. Anonymous memory is not listed. OUT is
 * owned by the caller (proc_maps_free). Returns 0 or -ENOMEM. */
int corefile_maps(const struct corefile *c, struct proc_maps *out);

/* corefile_tasks — the thread ids of the NT_PRSTATUS notes, ascending,
 * into OUT (proc_tasks_free). Returns 0 or -ENOMEM. */
int corefile_tasks(const struct corefile *c, struct proc_tasks *out);

/* corefile_regs — the registers of thread TID when the core was made
 * (its NT_PRSTATUS note's pr_reg) into OUT. Returns 0, or -ESRCH when the
 * core lists no such thread or its note is too short to hold them. */
int corefile_regs(const struct corefile *c, pid_t tid, struct user_regs_struct *out);

/* corefile_vdso — where the vDSO was (NT_AUXV's AT_SYSINFO_EHDR): into
 * *START and *END the core's segment that starts there, as much of it as
 * the core holds (a vDSO is no file: not in corefile_maps). Returns 0, or
 * -ENOENT when the core does not say or does not hold it. */
int corefile_vdso(const struct corefile *c, uint64_t *start, uint64_t *end);

/* corefile_pid — the pid of the process the core was made from. */
pid_t corefile_pid(const struct corefile *c);

/* corefile_comm — the process's name (its main thread's, as in
 * /proc/PID/comm) from NT_PRPSINFO; "" when not given. Owned by C. The
 * other threads' names are not in a core. */
const char *corefile_comm(const struct corefile *c);

/* corefile_exe — the executable's path: the file mapped where the
 * process's entry point (NT_AUXV's AT_ENTRY) is, as EXE replaced it; ""
 * when the core does not tell. Owned by C. */
const char *corefile_exe(const struct corefile *c);

#endif
