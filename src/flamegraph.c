/* flamegraph — see include/flamegraph.h. */
#include "flamegraph.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "hashtab.h"
#include "strtab.h"
#include "utf8.h"

#define NO_NODE UINT32_MAX
#define MAX_LINE (16u << 20)        /* a 500-deep stack of long names is ~100 KiB */
#define MAX_COUNT 1e15              /* sums stay exact in a double below 2^53 */

/* Layout, in px, as FlameGraph's defaults so the result looks familiar. */
#define DEFAULT_WIDTH 1200.0
#define XPAD 10.0
#define FRAME_H 16.0
#define FONT_SIZE 12.0
#define CHAR_W (FONT_SIZE * 0.59)   /* average Verdana glyph width */
#define YPAD_TOP 62.0               /* title, subtitle, controls */
#define YPAD_BOTTOM 34.0            /* details and "Matched" line */

struct node {
    double count[2];    /* samples of each input through this frame */
    uint32_t name;      /* strtab id */
    uint32_t parent;    /* NO_NODE for the root */
    uint32_t depth;     /* root 0 */
};

struct flamegraph {
    struct strtab *names;
    struct node *nodes;         /* [0] is the root */
    size_t n, cap;
    struct hashtab index;       /* (parent, name) → node */
    uint32_t maxdepth;
};

static uint64_t child_hash(uint32_t parent, uint32_t name)
{
    return hashtab_key64(((uint64_t)parent << 32) | name);
}

struct flamegraph *flamegraph_new(void)
{
    struct flamegraph *fg = calloc(1, sizeof *fg);
    if (!fg)
        return NULL;
    fg->names = strtab_new();
    fg->cap = 1024;
    fg->nodes = malloc(fg->cap * sizeof *fg->nodes);
    if (!fg->names || !fg->nodes || hashtab_init(&fg->index, 1024) != 0) {
        flamegraph_free(fg);
        return NULL;
    }
    fg->nodes[0] = (struct node){ .name = strtab_intern(fg->names, "all", 3), .parent = NO_NODE };
    fg->n = 1;
    if (fg->nodes[0].name == STRTAB_NONE) {
        flamegraph_free(fg);
        return NULL;
    }
    return fg;
}

void flamegraph_free(struct flamegraph *fg)
{
    if (!fg)
        return;
    strtab_free(fg->names);
    free(fg->nodes);
    hashtab_free(&fg->index);
    free(fg);
}

/* The child NAME of PARENT, made if new; NO_NODE when out of memory. */
static uint32_t child(struct flamegraph *fg, uint32_t parent, uint32_t name)
{
    struct hashtab_iter it;
    for (uint32_t id = hashtab_first(&fg->index, child_hash(parent, name), &it); id != HASHTAB_NONE;
         id = hashtab_next(&fg->index, &it))
        if (fg->nodes[id].parent == parent && fg->nodes[id].name == name)
            return id;
    if (fg->n >= NO_NODE - 1)
        return NO_NODE;
    if (fg->n == fg->cap) {
        struct node *nn = realloc(fg->nodes, fg->cap * 2 * sizeof *nn);
        if (!nn)
            return NO_NODE;
        fg->nodes = nn;
        fg->cap *= 2;
    }
    if (hashtab_insert(&fg->index, &it, (uint32_t)fg->n) != 0)
        return NO_NODE;
    uint32_t id = (uint32_t)fg->n++;
    fg->nodes[id] = (struct node){ .name = name, .parent = parent, .depth = fg->nodes[parent].depth + 1 };
    if (fg->nodes[id].depth > fg->maxdepth)
        fg->maxdepth = fg->nodes[id].depth;
    return id;
}

int flamegraph_add(struct flamegraph *fg, const char *stack, size_t len, double count,
                   enum flamegraph_input in)
{
    if (!(count >= 0 && count <= MAX_COUNT))
        return -EINVAL;
    int any = 0;
    for (size_t i = 0; i < len; i++)
        if (stack[i] != ';')
            any = 1;
    if (!any)
        return -EINVAL;
    /* Nodes are made even for a zero count, so a stack counted 0 still
     * exists for lookups; it draws nothing. */
    uint32_t at = 0;
    fg->nodes[0].count[in] += count;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && stack[j] != ';')
            j++;
        if (j > i) {
            uint32_t name = strtab_intern(fg->names, stack + i, j - i);
            if (name == STRTAB_NONE || (at = child(fg, at, name)) == NO_NODE)
                return -ENOMEM;
            fg->nodes[at].count[in] += count;
        }
        i = j + 1;
    }
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse the count at S (LEN bytes): digits, optionally '.' and digits (as
 * flamegraph.pl reads them). Returns 0, -1 when it is not a number, -2
 * when it is one larger than MAX_COUNT. */
static int parse_count(const char *s, size_t len, double *out)
{
    double v = 0, scale = 1;
    size_t i = 0, digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        v = v * 10 + (s[i] - '0');
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
            v += (s[i] - '0') * (scale /= 10);
    if (i != len || digits == 0)
        return -1;
    if (v > MAX_COUNT)
        return -2;
    *out = v;
    return 0;
}

int flamegraph_add_line(struct flamegraph *fg, const char *line, size_t len,
                        enum flamegraph_input in, const char **why)
{
    double count;
    if (memchr(line, '\0', len)) {
        *why = "binary data (a NUL byte)";
        return -EINVAL;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || is_blank(line[len - 1])))
        len--;
    if (len == 0)
        return 0;
    size_t sp = len;            /* the count starts after the last blank */
    while (sp && !is_blank(line[sp - 1]))
        sp--;
    if (sp == 0) {
        *why = "no sample count at the end";
        return -EINVAL;
    }
    int prc = parse_count(line + sp, len - sp, &count);
    if (prc != 0) {
        *why = prc == -2 ? "the sample count is too large (at most 1e15)" : "the sample count is not a number";
        return -EINVAL;
    }
    while (sp && is_blank(line[sp - 1]))
        sp--;
    int rc = flamegraph_add(fg, line, sp, count, in);
    if (rc == -EINVAL)
        *why = "no stack before the count";
    return rc < 0 ? rc : 1;
}

/* One line of IN into *BUF (grown as needed, up to MAX bytes; the rest of a
 * longer line is not kept). Returns its length, -1 at the end, -2 when it was
 * too long, -3 when out of memory. */
static ssize_t read_line(FILE *in, char **buf, size_t *cap, size_t max)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(in)) != EOF) {
        if (n + 2 > *cap) {
            if (*cap >= max)
                return -2;
            size_t nc = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, nc);
            if (!nb)
                return -3;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0 && c == EOF)
        return -1;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

int flamegraph_read(struct flamegraph *fg, FILE *in, const char *name,
                    enum flamegraph_input which, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    double before = fg->nodes[0].count[which];
    errno = 0;
    while (rc == 0 && (n = read_line(in, &line, &cap, MAX_LINE)) != -1) {
        const char *why = "";
        lineno++;
        if (n == -2) {
            snprintf(err, errlen, "%s:%zu: line longer than %u MiB", name, lineno, MAX_LINE >> 20);
            rc = -EFBIG;
        } else if (n == -3 || (rc = flamegraph_add_line(fg, line, (size_t)n, which, &why)) == -ENOMEM) {
            snprintf(err, errlen, "%s: out of memory", name);
            rc = -ENOMEM;
        } else if (rc == -EINVAL) {
            snprintf(err, errlen, "%s:%zu: %s", name, lineno, why);
        } else {
            rc = 0;
        }
    }
    if (rc == 0 && ferror(in)) {
        snprintf(err, errlen, "%s: read error: %s", name, strerror(errno ? errno : EIO));
        rc = -EIO;
    } else if (rc == 0 && !(fg->nodes[0].count[which] > before)) {
        snprintf(err, errlen, "%s: no samples (%s)", name, lineno ? "every count is 0" : "empty input");
        rc = -ENODATA;
    }
    free(line);
    return rc;
}

double flamegraph_total(const struct flamegraph *fg, enum flamegraph_input in)
{
    return fg->nodes[0].count[in];
}

size_t flamegraph_nodes(const struct flamegraph *fg)
{
    return fg->n;
}

/* The node called NAME (LEN bytes) under PARENT, or NO_NODE. A scan of
 * every node: names are not looked up without interning them, and only
 * tests ask. */
static uint32_t find_child(const struct flamegraph *fg, uint32_t parent, const char *name, size_t len)
{
    for (uint32_t id = 1; id < fg->n; id++) {
        if (fg->nodes[id].parent != parent)
            continue;
        const char *s = strtab_get(fg->names, fg->nodes[id].name);
        if (strlen(s) == len && memcmp(s, name, len) == 0)
            return id;
    }
    return NO_NODE;
}

int flamegraph_lookup(const struct flamegraph *fg, const char *stack, double *main_count,
                      double *before_count)
{
    uint32_t at = 0;
    for (const char *p = stack; *p;) {
        size_t n = strcspn(p, ";");
        if (n && (at = find_child(fg, at, p, n)) == NO_NODE)
            return -ENOENT;
        p += n + (p[n] == ';');
    }
    if (main_count)
        *main_count = fg->nodes[at].count[FLAMEGRAPH_MAIN];
    if (before_count)
        *before_count = fg->nodes[at].count[FLAMEGRAPH_BEFORE];
    return 0;
}

void flamegraph_scale(struct flamegraph *fg, enum flamegraph_input in, double factor)
{
    for (size_t i = 0; i < fg->n; i++)
        fg->nodes[i].count[in] *= factor;
}

/* ---- names: kinds, packages, colours ---- */

static int has(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

/* The "(FILE…)" part of a Python frame name: its start and length, or -1. */
static int file_part(const char *name, size_t *start, size_t *len)
{
    size_t n = strlen(name);
    if (n < 4 || name[n - 1] != ')')
        return -1;
    const char *open = NULL;
    for (const char *p = name; (p = strstr(p, " (")); p++)
        open = p;
    if (!open || open == name)
        return -1;
    size_t s = (size_t)(open - name) + 2, l = n - 1 - s;
    if (l == 0)
        return -1;
    /* A file name: "x.py", "x.py:12", "<frozen …>", "<string>", "x.pyx:3". */
    const char *in = name + s;
    int colon_line = 0;
    const char *c = memchr(in, ':', l);
    if (c) {
        const char *last = in + l;
        while (last > in && last[-1] >= '0' && last[-1] <= '9')
            last--;
        colon_line = last > in && last[-1] == ':' && last < in + l;
    }
    if (!(colon_line || in[0] == '<' || (l > 3 && memmem(in, l, ".py", 3))))
        return -1;
    *start = s;
    *len = l;
    return 0;
}

/* Whether the file part IN (L bytes, maybe ending ":LINE") names a C, C++
 * or assembly source: a native frame with a line (--native). */
static int native_source(const char *in, size_t l)
{
    static const char *const exts[] = { ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".S", ".s", ".inc" };
    const char *c = memchr(in, ':', l);
    size_t n = c ? (size_t)(c - in) : l;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && memcmp(in + n - e, exts[i], e) == 0)
            return 1;
    }
    return 0;
}

enum flamegraph_kind flamegraph_kind(const char *name)
{
    size_t s, l;
    if (strncmp(name, "thread (", 8) == 0 || strncmp(name, "process ", 8) == 0)
        return FLAMEGRAPH_THREAD;
    if (has(name, "<idle>") || has(name, "[idle]"))
        return FLAMEGRAPH_IDLE;
    if (strcmp(name, "[gil-wait]") == 0)
        return FLAMEGRAPH_GIL_WAIT;
    if (has(name, "[native]") || file_part(name, &s, &l) != 0 || native_source(name + s, l))
        return FLAMEGRAPH_NATIVE;
    return FLAMEGRAPH_PYTHON;
}

static uint32_t fnv(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Where the package part of the full path F (up to END) starts: after
 * site-packages/, dist-packages/ or lib/pythonX.Y/, else at the directory
 * the file is in. */
static const char *package_dir(const char *f, const char *end)
{
    static const char *const roots[] = { "/site-packages/", "/dist-packages/", "/lib/python" };
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        const char *m = memmem(f, (size_t)(end - f), roots[i], strlen(roots[i]));
        if (!m)
            continue;
        m += strlen(roots[i]);
        if (i == 2) {       /* past the version: "3.11/" */
            const char *slash = memchr(m, '/', (size_t)(end - m));
            m = slash ? slash + 1 : end;
        }
        return m;
    }
    const char *last = f, *prev = f;
    for (const char *p = f; p < end; p++)
        if (*p == '/') {
            prev = last;
            last = p + 1;
        }
    return prev;
}

/* The top package of a Python frame's file, for its colour: "json" for
 * json/decoder.py, "threading" for threading.py; for a full path, the first
 * directory after site-packages/dist-packages/pythonX.Y, else the file's own
 * directory. Sets *K and *KLEN into NAME. */
static void package(const char *name, const char **k, size_t *klen)
{
    size_t s, l;
    if (file_part(name, &s, &l) != 0) {
        *k = name;
        *klen = strlen(name);
        return;
    }
    const char *f = name + s, *end = f + l, *digits = end;
    /* Without the line number, so that a file keeps one colour. */
    while (digits > f && digits[-1] >= '0' && digits[-1] <= '9')
        digits--;
    if (digits < end && digits > f && digits[-1] == ':')
        end = digits - 1;
    if (f[0] == '/')
        f = package_dir(f, end);
    const char *slash = memchr(f, '/', (size_t)(end - f));
    if (slash)
        end = slash;
    else if (end - f > 3 && memcmp(end - 3, ".py", 3) == 0)
        end -= 3;
    *k = f;
    *klen = (size_t)(end - f);
}

struct rgb {
    int r, g, b;
};

static struct rgb frame_colour(const char *name, enum flamegraph_kind kind, int root)
{
    uint32_t hn = fnv(name, strlen(name));
    double vn = (double)(hn & 0xffff) / 65535.0;
    if (root)
        return (struct rgb){ 225, 120, 60 };
    switch (kind) {
    case FLAMEGRAPH_THREAD:
        return (struct rgb){ 165 + (int)(30 * vn), 135 + (int)(30 * vn), 225 };
    case FLAMEGRAPH_IDLE:
        return (struct rgb){ 195 + (int)(20 * vn), 195 + (int)(20 * vn), 200 + (int)(20 * vn) };
    case FLAMEGRAPH_NATIVE:
        return (struct rgb){ 50 + (int)(60 * vn), 165 + (int)(55 * vn), 165 + (int)(55 * vn) };
    case FLAMEGRAPH_GIL_WAIT:
        return (struct rgb){ 215, 40, 40 };
    case FLAMEGRAPH_PYTHON:
        break;
    }
    /* The package picks the hue within FlameGraph's "hot" family; the
     * function (its name, not its line) shifts it a little so neighbours
     * of one package differ. */
    const char *k;
    size_t kl, fs, fl;
    package(name, &k, &kl);
    uint32_t hp = fnv(k, kl);
    if (file_part(name, &fs, &fl) == 0)
        vn = (double)(fnv(name, fs) & 0xffff) / 65535.0;
    double v1 = (double)(hp & 0xff) / 255.0, v2 = (double)((hp >> 8) & 0xff) / 255.0;
    double v3 = (double)((hp >> 16) & 0xff) / 255.0;
    int g = 50 + (int)(170 * v2) + (int)(24 * vn) - 12;
    return (struct rgb){ 205 + (int)(50 * v1), g < 0 ? 0 : g > 230 ? 230 : g, (int)(55 * v3) };
}

static struct rgb diff_colour(double now, double before, int negate)
{
    if (now == before)
        return (struct rgb){ 250, 250, 250 };
    double rel = (now - before) / (now > before ? now : before);
    int pale = (int)(210 * (1 - (rel < 0 ? -rel : rel)));
    int grew = (rel > 0) != (negate != 0);
    return grew ? (struct rgb){ 255, pale, pale } : (struct rgb){ pale, pale, 255 };
}

/* ---- XML ---- */

/* Length of the valid UTF-8 sequence XML allows at S (N bytes left), or 0. */
static size_t utf8_ok(const unsigned char *s, size_t n)
{
    uint32_t cp;
    int len = utf8_seq(s, n, &cp);
    if (len <= 0)
        return 0;
    /* XML 1.0 Char: no C0 controls but tab, newline and return; no U+FFFE, U+FFFF. */
    if (cp < 0x20 ? !(cp == '\t' || cp == '\n' || cp == '\r') : (cp == 0xfffe || cp == 0xffff))
        return 0;
    return (size_t)len;
}

/* Escape at most MAXCHARS characters of S (LEN bytes); returns the number of
 * characters written. */
static size_t escape_n(FILE *out, const char *s, size_t len, size_t maxchars)
{
    size_t chars = 0;
    for (size_t i = 0; i < len && chars < maxchars; chars++) {
        size_t k = utf8_ok((const unsigned char *)s + i, len - i);
        const char *ent = NULL;
        switch (s[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&apos;"; break;
        default: break;
        }
        if (ent)
            fputs(ent, out);
        else if (k)
            fwrite(s + i, 1, k, out);
        else
            fputs("\xef\xbf\xbd", out);
        i += k ? k : 1;
    }
    return chars;
}

int flamegraph_escape(FILE *out, const char *s, size_t len)
{
    escape_n(out, s, len, SIZE_MAX);
    return ferror(out) ? -EIO : 0;
}

/* Characters in S as escape_n counts them. */
static size_t char_count(const char *s, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; chars++) {
        size_t k = utf8_ok((const unsigned char *)s + i, len - i);
        i += k ? k : 1;
    }
    return chars;
}

/* A sample count as the tooltip shows it: integers without a fraction. */
static void fmt_count(char *buf, size_t len, double v)
{
    if (v < 1e17 && (double)(uint64_t)v == v)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

/* ---- SVG ---- */

/* The page's behaviour. Frames are <g> in pre-order (a frame's subtree
 * follows it), so zoom and the search total find ancestors and subtrees
 * by position, without comparing floating-point x ranges. */
static const char script[] =
    "\"use strict\";\n"
    "var HL = \"rgb(230,0,230)\", frames = [], total = 0, details, matched, unzoom, box, fx, fw, charw, timer = null;\n"
    "function init(evt) {\n"
    "  var g = document.getElementById(\"frames\");\n"
    "  details = document.getElementById(\"details\"); matched = document.getElementById(\"matched\");\n"
    "  unzoom = document.getElementById(\"unzoom\"); box = document.getElementById(\"search\");\n"
    "  fx = +g.getAttribute(\"data-x\"); fw = +g.getAttribute(\"data-width\"); charw = +g.getAttribute(\"data-charw\");\n"
    "  var fh = +g.getAttribute(\"data-fh\"), stack = [], kids = g.children, y0 = 0;\n"
    "  for (var i = 0; i < kids.length; i++) {\n"
    "    var e = kids[i], t = e.firstElementChild, r = t.nextElementSibling, x = r.nextElementSibling;\n"
    "    var title = t.textContent, m = / \\(([0-9.]+) samples?[^()]*\\)$/.exec(title);\n"
    "    var f = { g: e, rect: r, text: x, title: title, name: m ? title.slice(0, m.index) : title,\n"
    "              samples: m ? +m[1] : 0, x: +r.getAttribute(\"x\"), w: +r.getAttribute(\"width\"),\n"
    "              fill: r.getAttribute(\"fill\"), label: x.textContent, index: i, end: kids.length, parent: null };\n"
    "    if (i === 0) { y0 = +r.getAttribute(\"y\"); total = f.samples; }\n"
    "    f.depth = Math.round((y0 - +r.getAttribute(\"y\")) / fh);\n"
    "    while (stack.length && stack[stack.length - 1].depth >= f.depth) stack.pop().end = i;\n"
    "    f.parent = stack.length ? stack[stack.length - 1] : null;\n"
    "    stack.push(f); frames.push(f); e.frame = f;\n"
    "  }\n"
    "  g.addEventListener(\"mouseover\", function (ev) { var f = find(ev.target); if (f) details.textContent = \"Function: \" + f.title; });\n"
    "  g.addEventListener(\"mouseout\", function () { details.textContent = \" \"; });\n"
    "  g.addEventListener(\"click\", function (ev) { var f = find(ev.target); if (f) zoom(f); });\n"
    "  unzoom.addEventListener(\"click\", reset_zoom);\n"
    "  box.addEventListener(\"input\", function () { clearTimeout(timer); timer = setTimeout(function () { search(box.value); }, 120); });\n"
    "  box.addEventListener(\"keydown\", function (ev) {\n"
    "    if (ev.key === \"Enter\") { clearTimeout(timer); search(box.value); }\n"
    "    if (ev.key === \"Escape\") { box.value = \"\"; search(\"\"); box.blur(); }\n"
    "  });\n"
    "  document.getElementById(\"search-btn\").addEventListener(\"click\", function () { box.focus(); search(box.value); });\n"
    "  document.addEventListener(\"keydown\", function (ev) {\n"
    "    if (((ev.ctrlKey || ev.metaKey) && (ev.key === \"f\" || ev.key === \"F\")) || ev.key === \"F3\") {\n"
    "      ev.preventDefault(); box.focus(); box.select();\n"
    "    }\n"
    "  });\n"
    "  var q = /[?&]s=([^&]*)/.exec(location.search);\n"
    "  if (q) { box.value = decodeURIComponent(q[1].replace(/\\+/g, \" \")); search(box.value); }\n"
    "}\n"
    "function find(node) {\n"
    "  while (node && !node.frame) node = node.parentNode;\n"
    "  return node ? node.frame : null;\n"
    "}\n"
    "function place(f, x, w) {\n"
    "  f.rect.setAttribute(\"x\", x.toFixed(2)); f.rect.setAttribute(\"width\", w.toFixed(2));\n"
    "  f.text.setAttribute(\"x\", (x + 3).toFixed(2));\n"
    "  var n = Math.floor((w - 6) / charw);\n"
    "  f.text.textContent = n < 3 ? \"\" : f.name.length <= n ? f.name : f.name.slice(0, n - 2) + \"..\";\n"
    "}\n"
    "function zoom(f) {\n"
    "  var ratio = fw / f.w, i;\n"
    "  for (i = 0; i < frames.length; i++) { frames[i].g.classList.add(\"hide\"); frames[i].g.classList.remove(\"parent\"); }\n"
    "  for (var a = f.parent; a; a = a.parent) { a.g.classList.remove(\"hide\"); a.g.classList.add(\"parent\"); place(a, fx, fw); }\n"
    "  for (i = f.index; i < f.end; i++) {\n"
    "    var e = frames[i];\n"
    "    e.g.classList.remove(\"hide\"); place(e, fx + (e.x - f.x) * ratio, e.w * ratio);\n"
    "  }\n"
    "  unzoom.classList.remove(\"hide\");\n"
    "}\n"
    "function reset_zoom() {\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i];\n"
    "    f.g.classList.remove(\"hide\"); f.g.classList.remove(\"parent\");\n"
    "    place(f, f.x, f.w); f.text.textContent = f.label;\n"
    "  }\n"
    "  unzoom.classList.add(\"hide\");\n"
    "}\n"
    "function search(term) {\n"
    "  var re = null, sum = 0, until = -1;\n"
    "  try { re = new RegExp(term); } catch (err) { re = null; }\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i], hit = term !== \"\" && (re ? re.test(f.name) : f.name.indexOf(term) >= 0);\n"
    "    f.rect.setAttribute(\"fill\", hit ? HL : f.fill);\n"
    "    /* A match inside a matched frame is already counted. */\n"
    "    if (hit && i >= until) { sum += f.samples; until = f.end; }\n"
    "  }\n"
    "  matched.textContent = term === \"\" ? \" \" : \"Matched: \" + (total ? 100 * sum / total : 0).toFixed(1) + \"%\";\n"
    "}\n";

static const char style[] =
    "text { font-family: Verdana, \"DejaVu Sans\", sans-serif; font-size: 12px; fill: #000; }\n"
    "#title { text-anchor: middle; font-size: 17px; }\n"
    "#subtitle { text-anchor: middle; fill: #555; }\n"
    "#matched { text-anchor: end; }\n"
    "#frames > g > rect { rx: 2px; ry: 2px; }\n"
    "#frames > g:hover > rect { stroke: #000; stroke-width: 0.5; }\n"
    "#frames > g { cursor: pointer; }\n"
    "#frames > g > text { pointer-events: none; }\n"
    "#unzoom, #search-btn { cursor: pointer; fill: #224; text-decoration: underline; }\n"
    ".hide { display: none; }\n"
    ".parent { opacity: 0.5; }\n"
    "input { font: 12px Verdana, \"DejaVu Sans\", sans-serif; width: 100%; box-sizing: border-box;"
    " border: 1px solid #999; border-radius: 3px; padding: 2px 4px; background: #fff; }\n";

struct render {
    const struct flamegraph *fg;
    FILE *out;
    const struct flamegraph_opts *o;
    uint32_t *kids;     /* children of every node, grouped by parent, sorted by name */
    uint32_t *first;    /* kids[first[i] .. first[i + 1]) are node i's */
    double total, wpt;  /* samples of MAIN, px per sample */
    unsigned char *drawn;   /* per node: 1 to draw it */
    double ybase;       /* y of the root frame */
};

static int cmp_kids(const void *a, const void *b, void *ctx)
{
    const struct flamegraph *fg = ctx;
    const struct node *x = &fg->nodes[*(const uint32_t *)a], *y = &fg->nodes[*(const uint32_t *)b];
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    return strcmp(strtab_get(fg->names, x->name), strtab_get(fg->names, y->name));
}

/* Children in name order, as flamegraph.pl draws sorted folded input. */
static int sort_children(struct render *r)
{
    const struct flamegraph *fg = r->fg;
    r->kids = malloc(fg->n * sizeof *r->kids);
    r->first = calloc(fg->n + 1, sizeof *r->first);
    if (!r->kids || !r->first)
        return -ENOMEM;
    for (size_t i = 1; i < fg->n; i++)
        r->kids[i - 1] = (uint32_t)i;
    qsort_r(r->kids, fg->n - 1, sizeof *r->kids, cmp_kids, (void *)fg);
    /* Sorted by parent first, so each node's children are one run. */
    for (size_t i = 0; i < fg->n - 1; i++)
        r->first[fg->nodes[r->kids[i]].parent + 1]++;
    for (size_t i = 1; i <= fg->n; i++)
        r->first[i] += r->first[i - 1];
    return 0;
}

static void emit_frame(const struct render *r, uint32_t id, double start)
{
    const struct node *nd = &r->fg->nodes[id];
    const char *name = strtab_get(r->fg->names, nd->name);
    size_t len = strlen(name);
    double now = nd->count[FLAMEGRAPH_MAIN], before = nd->count[FLAMEGRAPH_BEFORE];
    double x = XPAD + start * r->wpt, w = now * r->wpt, y = r->ybase - nd->depth * FRAME_H;
    char num[48], num2[48];
    struct rgb c = r->o->diff ? diff_colour(now, before, r->o->negate)
                              : frame_colour(name, flamegraph_kind(name), id == 0);
    FILE *out = r->out;

    fputs("<g><title>", out);
    escape_n(out, name, len, SIZE_MAX);
    fmt_count(num, sizeof num, now);
    fprintf(out, " (%s sample%s, %.2f%%", num, now == 1 ? "" : "s", 100.0 * now / r->total);
    if (r->o->diff) {
        fmt_count(num2, sizeof num2, before);
        if (before > 0)
            fprintf(out, "; before %s, %+.1f%%", num2, 100.0 * (now - before) / before);
        else
            fputs("; new", out);
    }
    fprintf(out, ")</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>"
            "<text x=\"%.2f\" y=\"%.1f\">", x, y, w, FRAME_H - 1, c.r, c.g, c.b, x + 3, y + 10.5);
    /* The label as the script would fit it; it redoes this on zoom. */
    size_t fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0;
    if (fit >= 3) {
        if (char_count(name, len) <= fit) {
            escape_n(out, name, len, SIZE_MAX);
        } else {
            escape_n(out, name, len, fit - 2);
            fputs("..", out);
        }
    }
    fputs("</text></g>\n", out);
}

/* Pre-order walk over the drawn frames; a frame's children follow it. */
static int emit_frames(const struct render *r)
{
    const struct flamegraph *fg = r->fg;
    struct level {
        uint32_t node, next;    /* next: index into kids */
        double cursor;          /* where the next child starts, in samples */
    } *stack = malloc(((size_t)fg->maxdepth + 2) * sizeof *stack);
    if (!stack)
        return -ENOMEM;
    size_t sp = 0;
    emit_frame(r, 0, 0);
    stack[0] = (struct level){ 0, r->first[0], 0 };
    for (;;) {
        struct level *top = &stack[sp];
        if (top->next == r->first[top->node + 1]) {
            if (sp == 0)
                break;
            sp--;
            continue;
        }
        uint32_t c = r->kids[top->next++];
        double start = top->cursor, count = fg->nodes[c].count[FLAMEGRAPH_MAIN];
        top->cursor += count;
        /* A frame left out has its children left out too (see choose). */
        if (!r->drawn[c])
            continue;
        emit_frame(r, c, start);
        stack[++sp] = (struct level){ c, r->first[c], start };
    }
    free(stack);
    return 0;
}

/* Widest first; a parent before a child of the same width (it is less
 * deep), so any prefix of this order holds every kept frame's parents. */
static int cmp_widest(const void *a, const void *b, void *ctx)
{
    const struct flamegraph *fg = ctx;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    const struct node *x = &fg->nodes[i], *y = &fg->nodes[j];
    if (x->count[FLAMEGRAPH_MAIN] != y->count[FLAMEGRAPH_MAIN])
        return x->count[FLAMEGRAPH_MAIN] > y->count[FLAMEGRAPH_MAIN] ? -1 : 1;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Mark in DRAWN the frames to draw: those of at least MINCOUNT samples, and
 * of those only the widest FLAMEGRAPH_MAX_FRAMES (root included) so that a
 * huge profile still opens quickly. Sets *CAPPED when the cap cut. */
static int choose(const struct flamegraph *fg, double mincount, unsigned char *drawn, int *capped)
{
    size_t n = 0;
    *capped = 0;
    drawn[0] = 1;
    for (size_t i = 1; i < fg->n; i++) {
        double c = fg->nodes[i].count[FLAMEGRAPH_MAIN];
        /* Counts only shrink upward, so the parents of a kept frame are kept. */
        drawn[i] = c > 0 && c >= mincount;
        n += drawn[i];
    }
    if (n < FLAMEGRAPH_MAX_FRAMES)
        return 0;
    uint32_t *order = malloc(n * sizeof *order);
    if (!order)
        return -ENOMEM;
    n = 0;
    for (size_t i = 1; i < fg->n; i++)
        if (drawn[i])
            order[n++] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, cmp_widest, (void *)fg);
    for (size_t k = FLAMEGRAPH_MAX_FRAMES - 1; k < n; k++)
        drawn[order[k]] = 0;
    *capped = 1;
    free(order);
    return 0;
}

/* What DRAWN draws: frames, depth, and the frames left out with the samples
 * under the topmost of them. */
static size_t summarize(const struct flamegraph *fg, const unsigned char *drawn, uint32_t *maxdepth,
                        size_t *dropped, double *dropped_samples)
{
    size_t frames = 1;
    *maxdepth = 0;
    *dropped = 0;
    *dropped_samples = 0;
    for (size_t i = 1; i < fg->n; i++) {
        const struct node *nd = &fg->nodes[i];
        if (drawn[i]) {
            frames++;
            if (nd->depth > *maxdepth)
                *maxdepth = nd->depth;
        } else if (nd->count[FLAMEGRAPH_MAIN] > 0) {
            (*dropped)++;
            if (drawn[nd->parent])
                *dropped_samples += nd->count[FLAMEGRAPH_MAIN];
        }
    }
    return frames;
}

int flamegraph_write(const struct flamegraph *fg, FILE *out, const struct flamegraph_opts *o,
                     struct flamegraph_stats *stats)
{
    struct render r = { .fg = fg, .out = out, .o = o };
    double width = o->width > 2 * XPAD + 10 ? o->width : DEFAULT_WIDTH;
    double minwidth = o->minwidth >= 0 ? o->minwidth : 0.1;
    double fwidth = width - 2 * XPAD;
    size_t dropped = 0, drawn = 0;
    double dropped_samples = 0;
    uint32_t maxdepth = 0;
    const char *title = o->title && *o->title ? o->title : "Flame Graph";
    char num[48];
    int rc = 0;

    r.total = fg->nodes[0].count[FLAMEGRAPH_MAIN];
    int capped = 0;
    if (r.total > 0) {
        r.wpt = fwidth / r.total;
        r.drawn = malloc(fg->n);
        if (!r.drawn)
            return -ENOMEM;
        rc = choose(fg, minwidth / r.wpt, r.drawn, &capped);
        if (rc != 0) {
            free(r.drawn);
            return rc;
        }
        drawn = summarize(fg, r.drawn, &maxdepth, &dropped, &dropped_samples);
    }
    int height = (int)(YPAD_TOP + YPAD_BOTTOM + (maxdepth + 1) * FRAME_H);
    r.ybase = height - YPAD_BOTTOM - FRAME_H;
    if (stats)
        *stats = (struct flamegraph_stats){ .frames = drawn, .dropped = dropped,
                                            .dropped_samples = dropped_samples, .capped = capped,
                                            .height = height };

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\" onload=\"init(evt)\""
            " xmlns=\"http://www.w3.org/2000/svg\">\n"
            "<!-- Flame graph by gilscope: frames sized by samples, root at the bottom. "
            "Hover for details, click to zoom, Ctrl-F to search. -->\n",
            width, height, width, height);
    fprintf(out, "<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
            "<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
            "</linearGradient></defs>\n", o->diff ? "#e0e0ff" : "#eeeeb0");
    fprintf(out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", style);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", script);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%d\" fill=\"url(#background)\"/>\n", width, height);
    fprintf(out, "<text id=\"title\" x=\"%.1f\" y=\"24\">", width / 2);
    escape_n(out, title, strlen(title), SIZE_MAX);
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%.1f\" y=\"44\">", width / 2);
    fmt_count(num, sizeof num, r.total);
    if (r.total > 0)
        fprintf(out, "%s sample%s", num, r.total == 1 ? "" : "s");
    else
        fputs("no samples", out);
    if (o->diff) {
        fmt_count(num, sizeof num, fg->nodes[0].count[FLAMEGRAPH_BEFORE]);
        fprintf(out, " (before: %s); %s = more samples than before, %s = fewer", num,
                o->negate ? "blue" : "red", o->negate ? "red" : "blue");
    }
    if (o->duration_s > 0)
        fprintf(out, " in %.2f s", o->duration_s);
    if (o->info && *o->info) {
        fputs(", ", out);
        escape_n(out, o->info, strlen(o->info), SIZE_MAX);
    }
    if (dropped) {
        fprintf(out, "; %zu frame%s (%.2f%% of samples) not drawn: narrower than %.2g px", dropped,
                dropped == 1 ? "" : "s", 100.0 * dropped_samples / r.total, minwidth);
        if (capped)
            fprintf(out, " or past the widest %d", FLAMEGRAPH_MAX_FRAMES);
    }
    fputs("</text>\n", out);
    fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%.1f\" y=\"24\">Reset Zoom</text>\n", XPAD);
    fprintf(out, "<text id=\"search-btn\" x=\"%.1f\" y=\"24\" text-anchor=\"end\">Search</text>\n",
            width - XPAD - 226);
    fprintf(out, "<foreignObject x=\"%.1f\" y=\"8\" width=\"220\" height=\"24\">"
            "<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"search\" type=\"text\" "
            "placeholder=\"regex or text (Ctrl-F)\" autocomplete=\"off\" spellcheck=\"false\"/>"
            "</foreignObject>\n", width - XPAD - 220);
    fprintf(out, "<text id=\"details\" x=\"%.1f\" y=\"%d\"> </text>\n", XPAD, height - 14);
    fprintf(out, "<text id=\"matched\" x=\"%.1f\" y=\"%d\"> </text>\n", width - XPAD, height - 14);
    fprintf(out, "<g id=\"frames\" data-x=\"%.1f\" data-width=\"%.1f\" data-fh=\"%.1f\" data-charw=\"%.2f\">\n",
            XPAD, fwidth, FRAME_H, CHAR_W);
    if (r.total > 0) {
        rc = sort_children(&r);
        if (rc == 0)
            rc = emit_frames(&r);
    }
    fputs("</g>\n</svg>\n", out);
    free(r.kids);
    free(r.first);
    free(r.drawn);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = -EIO;
    return rc;
}
