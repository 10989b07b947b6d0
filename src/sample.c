/* sample — see include/sample.h. */
#include "sample.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[TSTATE_COUNT] = {
    [TSTATE_UNKNOWN] = "unknown", [TSTATE_GIL] = "gil", [TSTATE_PYTHON] = "python",
    [TSTATE_GIL_WAIT] = "gil-wait", [TSTATE_NATIVE] = "native", [TSTATE_IDLE] = "idle",
};

const char *sample_state_name(int state)
{
    return state > 0 && state < TSTATE_COUNT ? state_names[state] : state_names[TSTATE_UNKNOWN];
}

const char *sample_frame_kind_name(int kind)
{
    switch (kind) {
    case FRAME_PYTHON: return "python";
    case FRAME_NATIVE: return "native";
    case FRAME_MARKER: return "marker";
    default: return "unknown";
    }
}

int sample_state_parse(const char *name, size_t len)
{
    for (int i = 0; i < TSTATE_COUNT; i++)
        if (strlen(state_names[i]) == len && memcmp(state_names[i], name, len) == 0)
            return i;
    return -1;
}

void sample_clear(struct sample *s)
{
    s->nthreads = 0;
    s->nframes = 0;
}

void sample_free(struct sample *s)
{
    free(s->threads);
    free(s->frames);
    s->threads = NULL;
    s->frames = NULL;
    s->nthreads = s->cap_threads = s->nframes = s->cap_frames = 0;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = n;
    return 0;
}

int sample_push_frame(struct sample *s, const struct frame *f)
{
    if (grow((void **)&s->frames, &s->cap_frames, s->nframes + 1, sizeof *f) != 0)
        return -ENOMEM;
    s->frames[s->nframes++] = *f;
    return 0;
}

int sample_push_thread(struct sample *s, const struct thread_sample *t)
{
    if (grow((void **)&s->threads, &s->cap_threads, s->nthreads + 1, sizeof *t) != 0)
        return -ENOMEM;
    s->threads[s->nthreads++] = *t;
    return 0;
}

const struct frame *sample_thread_frames(const struct sample *s, size_t i)
{
    return s->frames + s->threads[i].first;
}
