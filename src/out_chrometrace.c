/* out_chrometrace — the 'chrometrace' format of `gilscope record`: Trace Event
 * Format JSON, for the Perfetto UI and chrome://tracing. Each thread is a
 * track; each frame is a slice (B/E pair) for as long as the thread's
 * consecutive samples keep it on the stack, so the file reads as a timeline
 * of calls. Beside each thread, a state track has one slice per stretch of
 * samples in one state ("gil", "gil-wait", "native", "idle"; see
 * threadinfo.h), and counters show whether it held the GIL, waited for it,
 * ran native code without it, and whether it was running.
 *
 * Written as samples arrive: only each thread's current stack is kept. In
 * the file, each thread's events are in time order, ends before begins at
 * the same time, parents begun before children and ended after them — the
 * order the format asks of B/E events, which every viewer accepts. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "timeline.h"

struct chrometrace {
    FILE *out;
    struct output_info info;
    struct timeline *tl;
    uint64_t nevents;       /* events written, for the separators */
    int error;              /* a negative errno seen while streaming */
};

/* Start the next event: its separator, then {"ph":"PH". */
static void event_open(struct chrometrace *ct, char ph)
{
    fputs(ct->nevents++ ? ",\n{\"ph\":\"" : "\n{\"ph\":\"", ct->out);
    fputc(ph, ct->out);
    fputc('"', ct->out);
}

/* ,"ts":MICROSECONDS with nanosecond digits, exactly, relative to the start.
 * ts comes right after ph, before any name: Perfetto's tokenizer scans each
 * event up to ts with its own string reader, which (in older releases)
 * refuses \u escapes. */
static void put_ts(struct chrometrace *ct, uint64_t t)
{
    uint64_t ns = timeline_rel_ns(ct->tl, t);
    fprintf(ct->out, ",\"ts\":%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static void put_ids(struct chrometrace *ct, const struct tl_thread *th)
{
    fprintf(ct->out, ",\"pid\":%d,\"tid\":%d", (int)th->pid, (int)th->tid);
}

/* A thread's state track is a track of its own, under an id no OS thread
 * has (Linux thread ids stay below 2^22). */
#define STATE_TID(tid) (0x40000000 | (int)(tid))

static void put_state_ids(struct chrometrace *ct, const struct tl_thread *th)
{
    fprintf(ct->out, ",\"pid\":%d,\"tid\":%d", (int)th->pid, STATE_TID(th->tid));
}

static void thread_name(struct chrometrace *ct, const struct tl_thread *th)
{
    for (int track = 0; track < 2; track++) {
        event_open(ct, 'M');
        if (track)
            put_state_ids(ct, th);
        else
            put_ids(ct, th);
        fputs(",\"name\":\"thread_name\",\"args\":{\"name\":", ct->out);
        if (track) {
            char name[300];
            snprintf(name, sizeof name, "%s: state", timeline_string(ct->tl, th->name));
            json_string(ct->out, name);
        } else {
            json_string(ct->out, timeline_string(ct->tl, th->name));
        }
        fputs("}}", ct->out);
    }
}

static void thread_meta(struct chrometrace *ct, const struct tl_thread *th)
{
    /* --subprocesses: a child's group is named for its command (again for
     * each of its threads: the same name, harmless). */
    const struct folded_opts *o = ct->info.opts;
    uint32_t cmd = th->pid != ct->info.pid && o && o->process ? o->process(o->process_ctx, th->pid) : STRTAB_NONE;
    if (cmd != STRTAB_NONE) {
        event_open(ct, 'M');
        fprintf(ct->out, ",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":", (int)th->pid);
        json_string(ct->out, strtab_get(ct->info.strings, cmd));
        fputs("}}", ct->out);
    }
    thread_name(ct, th);
    /* Tracks in the order threads first appeared, each state track under its thread. */
    event_open(ct, 'M');
    put_ids(ct, th);
    fprintf(ct->out, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%zu}}", 2 * th->index);
    event_open(ct, 'M');
    put_state_ids(ct, th);
    fprintf(ct->out, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%zu}}", 2 * th->index + 1);
}

/* Begin (PH 'B') or end ('E') TH's state slice STATE at T. */
static void state_slice(struct chrometrace *ct, const struct tl_thread *th, char ph, uint32_t state, uint64_t t)
{
    event_open(ct, ph);
    put_ts(ct, t);
    put_state_ids(ct, th);
    fprintf(ct->out, ",\"cat\":\"state\",\"name\":\"%s\"}", sample_state_name((int)state));
}

/* The thread's counters at T: a counter track per thread and value. They
 * are named by thread id alone because a Python thread is often still
 * called by its OS name when first seen, and Perfetto would start a second
 * track under a new name. */
static void counters(struct chrometrace *ct, const struct tl_thread *th, uint64_t t, int gil, int active,
                     uint32_t state)
{
    event_open(ct, 'C');
    put_ts(ct, t);
    put_ids(ct, th);
    fprintf(ct->out, ",\"name\":\"thread %d\",\"args\":{\"gil\":%d,\"gil_wait\":%d,\"native\":%d,\"active\":%d}}",
            (int)th->tid, gil, state == TSTATE_GIL_WAIT, state == TSTATE_NATIVE, active);
}

static void slice_begin(struct chrometrace *ct, const struct tl_thread *th, uint32_t id, uint64_t t)
{
    const struct tl_frame *f = timeline_frame(ct->tl, id);
    event_open(ct, 'B');
    put_ts(ct, t);
    put_ids(ct, th);
    fputs(",\"cat\":\"python\",\"name\":", ct->out);
    json_string(ct->out, timeline_string(ct->tl, f->name));
    fputs(",\"args\":{\"file\":", ct->out);
    json_string(ct->out, timeline_file(ct->tl, f));
    if (f->line != TL_NOLINE)
        fprintf(ct->out, ",\"line\":%" PRId32, f->line);
    fputs("}}", ct->out);
}

/* Close TH's frames STACK[FROM..DEPTH) at T, innermost first. The name and
 * category repeat the B event's: the format does not need them, but some
 * readers (speedscope's importer) match an E to its B by name. */
static void slices_end(struct chrometrace *ct, const struct tl_thread *th, const uint32_t *stack,
                       uint32_t depth, uint32_t from, uint64_t t)
{
    for (uint32_t k = depth; k > from; k--) {
        event_open(ct, 'E');
        put_ts(ct, t);
        put_ids(ct, th);
        fputs(",\"cat\":\"python\",\"name\":", ct->out);
        json_string(ct->out, timeline_string(ct->tl, timeline_frame(ct->tl, stack[k - 1])->name));
        fputc('}', ct->out);
    }
}

static int flag(uint32_t flags, uint32_t bit)
{
    return (flags & bit) != 0;
}

static void *chrometrace_begin(FILE *out, const struct output_info *info, char *err, size_t errlen)
{
    struct chrometrace *ct = calloc(1, sizeof *ct);
    if (!ct || !(ct->tl = timeline_new(info))) {
        free(ct);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ct->out = out;
    ct->info = *info;
    fputs("{\"traceEvents\":[", out);
    event_open(ct, 'M');
    fprintf(out, ",\"pid\":%d,\"name\":\"process_name\",\"args\":{\"name\":", (int)info->pid);
    json_string(out, info->title ? info->title : "");
    fputs("}}", out);
    if (info->python_version) {
        char label[64];
        snprintf(label, sizeof label, "Python %s", info->python_version);
        event_open(ct, 'M');
        fprintf(out, ",\"pid\":%d,\"name\":\"process_labels\",\"args\":{\"labels\":", (int)info->pid);
        json_string(out, label);
        fputs("}}", out);
    }
    return ct;
}

static int chrometrace_sample(void *state, const struct sample *s, size_t i)
{
    struct chrometrace *ct = state;
    struct tl_step step;
    if (ct->error)
        return ct->error;
    int rc = timeline_step(ct->tl, s, i, &step);
    if (rc != 0)
        return ct->error = rc;
    const struct tl_thread *th = step.th;
    uint64_t now = s->time_ns;
    int gil = flag(th->flags, SAMPLE_GIL), active = flag(th->flags, SAMPLE_ACTIVE);
    uint32_t keep = step.common;

    if (step.first) {
        thread_meta(ct, th);
        keep = 0;
    } else if (step.gap) {
        /* The thread was not seen for a while: what it was doing ended
         * then, and its counters drop to 0 until it is seen again. */
        slices_end(ct, th, step.old, step.old_depth, 0, step.prev_end_ns);
        state_slice(ct, th, 'E', step.prev_state, step.prev_end_ns);
        counters(ct, th, step.prev_end_ns, 0, 0, TSTATE_UNKNOWN);
        keep = 0;
    } else {
        slices_end(ct, th, step.old, step.old_depth, keep, now);
    }
    if (step.renamed)
        thread_name(ct, th);
    if (step.first || step.gap || gil != flag(step.prev_flags, SAMPLE_GIL) ||
        active != flag(step.prev_flags, SAMPLE_ACTIVE) || th->state != step.prev_state)
        counters(ct, th, now, gil, active, th->state);
    if (!step.first && !step.gap && th->state != step.prev_state)
        state_slice(ct, th, 'E', step.prev_state, now);
    if (step.first || step.gap || th->state != step.prev_state)
        state_slice(ct, th, 'B', th->state, now);
    for (uint32_t k = keep; k < th->depth; k++)
        slice_begin(ct, th, th->stack[k], now);
    if (ferror(ct->out))
        return ct->error = -EIO;
    return 0;
}

static int chrometrace_end(void *state, const struct profile *profile, const struct output_totals *totals)
{
    struct chrometrace *ct = state;
    (void)profile;
    int rc = ct->error;
    /* Whatever is still open ends one period after its thread's last sample. */
    for (size_t i = 0; i < timeline_nthreads(ct->tl); i++) {
        const struct tl_thread *th = timeline_thread(ct->tl, i);
        if (th->nsamples == 0)
            continue;
        uint64_t end = timeline_end_ns(ct->tl, th);
        slices_end(ct, th, th->stack, th->depth, 0, end);
        state_slice(ct, th, 'E', th->state, end);
        counters(ct, th, end, 0, 0, TSTATE_UNKNOWN);
    }
    fputs("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"exporter\":\"gilscope\",\"title\":", ct->out);
    json_string(ct->out, ct->info.title ? ct->info.title : "");
    fputs(",\"python_version\":", ct->out);
    json_string(ct->out, ct->info.python_version ? ct->info.python_version : "");
    fprintf(ct->out, ",\"rate_hz\":%g", ct->info.rate_hz);
    if (totals)
        fprintf(ct->out, ",\"samples\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"duration_s\":%.6f",
                totals->samples, totals->errors, totals->duration_s);
    fputs("}}\n", ct->out);
    if ((fflush(ct->out) != 0 || ferror(ct->out)) && rc == 0)
        rc = -EIO;
    timeline_free(ct->tl);
    free(ct);
    return rc;
}

const struct output_format output_chrometrace = {
    .name = "chrometrace", .ext = ".trace.json", .default_ext = "json",
    .begin = chrometrace_begin, .sample = chrometrace_sample, .end = chrometrace_end,
};
