/* folded — see include/folded.h. */
#include "folded.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "textesc.h"

/* Copy S into OUT with control characters escaped (a newline would end the
 * line) and the frame separator ';' replaced. */
static size_t put_clean(char *out, size_t outlen, size_t at, const char *s)
{
    size_t start = at;
    at = textesc_copy(out, outlen, at, s);
    for (size_t i = start; i < at; i++)
        if (out[i] == ';')
            out[i] = ':';
    return at;
}

size_t folded_frame(const struct frame *f, const struct strtab *st, struct fileshort *fs,
                    const struct folded_opts *o, char *out, size_t outlen)
{
    char num[32];
    size_t at = put_clean(out, outlen, 0, strtab_get(st, f->name));
    /* Code of no file ("[vdso]", "[anonymous]") is its name alone. */
    if (f->kind == FRAME_MARKER || (f->kind == FRAME_NATIVE && !*strtab_get(st, f->file)))
        return at;
    at = put_clean(out, outlen, at, " (");
    at = put_clean(out, outlen, at, fs ? fileshort_get(fs, f->file) : strtab_get(st, f->file));
    /* A C function has no first line, and often no line at all. */
    int has_line = f->kind != FRAME_NATIVE || (f->line > 0 && !o->function);
    if (!o->nolineno && has_line) {
        snprintf(num, sizeof num, ":%d", o->function ? f->first_line : f->line);
        at = put_clean(out, outlen, at, num);
    }
    return put_clean(out, outlen, at, ")");
}

struct line {
    char *text;
    uint64_t count;
};

static int cmp_line(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

static char *format_stack(const struct profile_stack *s, const struct strtab *st, struct fileshort *fs,
                          const struct folded_opts *o)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    char part[2048];
    if (!buf)
        return NULL;
    buf[0] = '\0';
    int64_t roots = o->threads ? (o->process ? 2 : 1) : 0;
    for (int64_t i = -roots; i < (int64_t)s->nframes; i++) {
        size_t n;
        if (i == -2) {
            n = (size_t)snprintf(part, sizeof part, "process %d", (int)s->pid);
            uint32_t cmd = o->process(o->process_ctx, s->pid);
            if (cmd != STRTAB_NONE) {
                n = put_clean(part, sizeof part, n, ": ");
                n = put_clean(part, sizeof part, n, strtab_get(st, cmd));
            }
        } else if (i < 0) {
            n = (size_t)snprintf(part, sizeof part, "thread (%d)", (int)s->tid);
            const char *name = strtab_get(st, s->thread_name);
            if (*name) {
                n = put_clean(part, sizeof part, n, ": ");
                n = put_clean(part, sizeof part, n, name);
            }
        } else {
            /* Root first: frames are stored leaf first. */
            n = folded_frame(&s->frames[s->nframes - 1 - (uint32_t)i], st, fs, o, part, sizeof part);
        }
        if (len + n + 2 > cap) {
            while (len + n + 2 > cap)
                cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        if (len)
            buf[len++] = ';';
        memcpy(buf + len, part, n + 1);
        len += n;
    }
    return buf;
}

int folded_lines(const struct profile *p, const struct strtab *st, struct fileshort *fs,
                 const struct folded_opts *o, folded_line_fn fn, void *ctx)
{
    size_t n = profile_size(p), k = 0;
    struct line *lines = calloc(n ? n : 1, sizeof *lines);
    int rc = 0;
    if (!lines)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct profile_stack s;
        profile_get(p, i, &s);
        if (s.nframes == 0 && !o->threads)
            continue;
        lines[k].text = format_stack(&s, st, fs, o);
        if (!lines[k].text) {
            rc = -ENOMEM;
            break;
        }
        lines[k++].count = s.count;
    }
    if (rc == 0) {
        /* Different stacks can print the same (same names on other lines
         * with --function, say): sorting brings them together to be merged. */
        if (k > 1)  /* lines may be NULL when there are none */
            qsort(lines, k, sizeof *lines, cmp_line);
        for (size_t i = 0; i < k && rc == 0; i++) {
            uint64_t count = lines[i].count;
            const char *text = lines[i].text;
            while (i + 1 < k && strcmp(text, lines[i + 1].text) == 0)
                count += lines[++i].count;
            rc = fn(ctx, text, strlen(text), count);
        }
    }
    for (size_t i = 0; i < k; i++)
        free(lines[i].text);
    free(lines);
    return rc;
}

static int write_line(void *ctx, const char *stack, size_t len, uint64_t count)
{
    (void)len;
    return fprintf((FILE *)ctx, "%s %" PRIu64 "\n", stack, count) < 0 ? -EIO : 0;
}

int folded_write(FILE *out, const struct profile *p, const struct strtab *st,
                 struct fileshort *fs, const struct folded_opts *o)
{
    int rc = folded_lines(p, st, fs, o, write_line, out);
    if (fflush(out) != 0 || ferror(out))
        rc = rc ? rc : -EIO;
    return rc;
}
