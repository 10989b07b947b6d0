/*
 * family — the Python processes below a target (--subprocesses): its
 * descendants, found by walking the process table (each process's parent
 * in /proc/PID/stat), each opened like the target itself (its own
 * interpreter, stack walker and thread facts) and all interning names in
 * one string table, so that their samples go into one output.
 *
 * A descendant without Python (a shell, a compiler) is skipped quietly and
 * looked at again only once it runs another program (exec); a Python one
 * that is not ready yet (just started) is tried again at the next scan. A
 * member that runs another program is dropped and found again as new. At
 * most FAMILY_MAX members are followed; past that, family_scan says so
 * once (FAMILY_CAPPED).
 */
#ifndef GILSCOPE_FAMILY_H
#define GILSCOPE_FAMILY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nativemerge.h"
#include "proc.h"
#include "pyinterp.h"
#include "pythreads.h"
#include "pywalk.h"
#include "strtab.h"
#include "target.h"
#include "threadinfo.h"

#define FAMILY_MAX 64           /* descendants followed at once */
#define FAMILY_CAPPED (-1000)   /* family_scan: more Python descendants than FAMILY_MAX */

struct ptctl;

/* One followed descendant. Everything is the family's, except PT: the
 * sampler's hold on it in blocking mode (NULL until it attaches), which it
 * must release (ptctl_detach) before family_remove or family_free. */
struct family_member {
    pid_t pid;
    uint32_t command;           /* strtab id: its command line, shortened ("python3 worker.py …") */
    struct target target;       /* attached, never launched */
    struct proc_mem mem;
    struct pyinterp interp;
    struct pywalk *walk;
    struct threadinfo *threads;
    struct pythreads names;
    struct nativemerge *native; /* with native: its C frames merged in */
    struct ptctl *pt;           /* the sampler's */
    int stopped_said;           /* the sampler's: it said this one is stopped (SIGSTOP) */
};

struct family;          /* opaque */

/* Options shared by every member. */
struct family_opts {
    int nonblocking;    /* walkers check for torn stacks */
    int native;         /* each member gets a nativemerge */
    int all_frames;     /* --native-all-frames */
};

/* family_new — the family of process ROOT (not itself a member: the caller
 * samples it), interning names in ST (must outlive it). Returns NULL when
 * out of memory. */
struct family *family_new(pid_t root, struct strtab *st, const struct family_opts *o);

/* family_free — close every member and release F (NULL is fine). */
void family_free(struct family *f);

/* family_scan — look for descendants of the root not yet followed and open
 * those that run Python. Returns how many members were added, or
 * FAMILY_CAPPED the first time some had to be left out (later scans leave
 * them out silently and return 0). */
int family_scan(struct family *f);

/* family_count — members followed now. */
size_t family_count(const struct family *f);

/* family_get — member I (0 ≤ I < family_count), owned by F; valid until
 * the next family_scan or family_remove. */
struct family_member *family_get(struct family *f, size_t i);

/* family_remove — stop following member I (it exited, or runs another
 * program: then the next scan may find it again). Its PT must be NULL. */
void family_remove(struct family *f, size_t i);

/* family_command — the command-line strtab id of PID: a member's, the
 * root's, or of one seen before; STRTAB_NONE when unknown. */
uint32_t family_command(const struct family *f, pid_t pid);

/* family_command_of — PID's command line for display, shortened to its
 * program's file name and the first arguments (at most LEN bytes,
 * NUL-terminated, control characters kept: the caller escapes). Returns
 * 0, or -ESRCH when it cannot be read. */
int family_command_of(pid_t pid, char *out, size_t len);

#endif
