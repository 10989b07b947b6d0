/*
 * sample — what one sampling pass saw: for each thread of the target, its
 * identity, its state and its stack: Python frames, and with --native the
 * C frames merged in around them (nativemerge.h).
 */
#ifndef GILSCOPE_SAMPLE_H
#define GILSCOPE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum frame_kind {
    FRAME_PYTHON = 0,   /* a Python function */
    FRAME_NATIVE = 1,   /* a C function (--native) */
    FRAME_MARKER = 2,   /* a note of gilscope's in the stack ("[truncated N frames]"): a name only */
};

struct frame {
    uint32_t name;      /* strtab id: function (qualified) name */
    uint32_t file;      /* strtab id: file name as the code object has it */
    int32_t line;       /* line being executed, 0 when unknown */
    int32_t first_line; /* the function's first line */
    int32_t col;        /* the instruction's start column counted from 1 (3.11+), 0 when unknown */
    uint8_t kind;       /* enum frame_kind */
    uint8_t flags;      /* enum frame_flag bits */
};

enum frame_flag {
    /* A Python frame that its C-level evaluation call started with: the
     * frames from one entry frame up to the next (leafward) are run by one
     * call of the layout's evaluation function (pyoffsets.h eval_model),
     * which is what the native stack shows of them. */
    FRAME_ENTRY = 1u << 0,
};

enum sample_flag {
    SAMPLE_GIL = 1u << 0,       /* the thread held the GIL */
    SAMPLE_ACTIVE = 1u << 1,    /* the thread was running (not sleeping in the kernel) */
    SAMPLE_TRUNCATED = 1u << 2, /* the stack was cut at the depth bound */
    SAMPLE_UNKNOWN = 1u << 3,   /* its run state could not be read (then not SAMPLE_ACTIVE) */
    SAMPLE_FAILED = 1u << 4,    /* its stack could not be read: no frames, ERROR says why */
    SAMPLE_PYTHON = 1u << 5,    /* attached to the interpreter, running Python (free-threaded builds) */
    SAMPLE_TAKING_GIL = 1u << 6,/* --native: its C stack is in the interpreter's code that takes the GIL */
};

/* What a thread was doing, one per thread-sample (see threadinfo.h for how
 * each is told). */
enum thread_state {
    TSTATE_UNKNOWN = 0, /* its run state could not be read */
    TSTATE_GIL,         /* held the GIL */
    TSTATE_PYTHON,      /* ran Python without a GIL (free-threaded build) */
    TSTATE_GIL_WAIT,    /* asleep, waiting to take the GIL */
    TSTATE_NATIVE,      /* on CPU without the GIL: C code that released it */
    TSTATE_IDLE,        /* asleep in the kernel on anything else: I/O, sleep, a lock */
    TSTATE_COUNT
};

/* sample_state_name — "unknown", "gil", "python", "gil-wait", "native",
 * "idle" for an enum thread_state ("unknown" for anything else). */
const char *sample_state_name(int state);

/* sample_frame_kind_name — "python", "native", "marker" for an enum
 * frame_kind ("unknown" for anything else). */
const char *sample_frame_kind_name(int kind);

/* sample_state_parse — the enum thread_state named NAME (LEN bytes), or -1. */
int sample_state_parse(const char *name, size_t len);

struct thread_sample {
    pid_t pid;          /* process */
    pid_t tid;          /* OS thread id, 0 when unknown */
    uint64_t thread_id; /* Python's thread ident (pthread_t) */
    uint32_t name;      /* strtab id: Python thread name, or OS name */
    uint32_t flags;     /* enum sample_flag bits */
    uint32_t first;     /* index of the leaf frame in struct sample.frames */
    uint32_t nframes;   /* frames, leaf first */
    uint32_t error;     /* with SAMPLE_FAILED: why (an enum pywalk_error) */
    uint32_t state;     /* enum thread_state */
};

/* One pass over every thread. Arrays are owned by the struct and reused
 * from pass to pass; free with sample_free. */
struct sample {
    uint64_t time_ns;               /* CLOCK_MONOTONIC at the start of the pass */
    struct thread_sample *threads;  /* threads seen */
    size_t nthreads, cap_threads;
    struct frame *frames;           /* all threads' frames, back to back */
    size_t nframes, cap_frames;
};

/* sample_clear — forget the threads and frames, keep the memory. */
void sample_clear(struct sample *s);

/* sample_free — release the arrays; S is left empty and reusable. */
void sample_free(struct sample *s);

/* sample_push_frame — append a frame. Returns 0 or -ENOMEM. */
int sample_push_frame(struct sample *s, const struct frame *f);

/* sample_push_thread — append a thread record whose frames were pushed
 * last (T->first, T->nframes must describe them). Returns 0 or -ENOMEM. */
int sample_push_thread(struct sample *s, const struct thread_sample *t);

/* sample_thread_frames — the frames of thread I (leaf first). */
const struct frame *sample_thread_frames(const struct sample *s, size_t i);

#endif
