/* Unit tests: folded parsing, the frame tree, SVG rendering (widths, XML
 * escaping, minimum width and frame cap, differential colours, deep and
 * large profiles), the 'flamegraph' output format and folded_lines. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flamegraph.h"
#include "folded.h"
#include "output.h"
#include "profile.h"
#include "strtab.h"

/* ---- helpers ---- */

static double count_of(const struct flamegraph *fg, const char *stack)
{
    double c = -1;
    ck_assert_msg(flamegraph_lookup(fg, stack, &c, NULL) == 0, "no node '%s'", stack);
    return c;
}

static int add(struct flamegraph *fg, const char *line, const char **why)
{
    return flamegraph_add_line(fg, line, strlen(line), FLAMEGRAPH_MAIN, why);
}

/* Render FG into a heap string (caller frees). */
static char *render(const struct flamegraph *fg, const struct flamegraph_opts *o, struct flamegraph_stats *st,
                    size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(flamegraph_write(fg, f, o, st), 0);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static size_t occurrences(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

/* The value of attribute ATTR of the rect of the frame whose tooltip starts
 * with "TITLE (" (TITLE already XML-escaped), into OUT; 0 if found. */
static int frame_attr(const char *svg, const char *title, const char *attr, char *out, size_t outlen)
{
    char key[512], pat[64];
    snprintf(key, sizeof key, "<g><title>%s (", title);
    const char *g = strstr(svg, key);
    if (!g)
        return -1;
    const char *rect = strstr(g, "<rect ");
    const char *end = rect ? strchr(rect, '>') : NULL;
    snprintf(pat, sizeof pat, " %s=\"", attr);
    const char *a = rect ? strstr(rect, pat) : NULL;
    if (!a || a > end)
        return -1;
    a += strlen(pat);
    size_t n = strcspn(a, "\"");
    snprintf(out, outlen, "%.*s", (int)n, a);
    return 0;
}

static double frame_num(const char *svg, const char *title, const char *attr)
{
    char v[64];
    ck_assert_msg(frame_attr(svg, title, attr, v, sizeof v) == 0, "no frame '%s'", title);
    return strtod(v, NULL);
}

static void frame_rgb(const char *svg, const char *title, int rgb[3])
{
    char v[64];
    ck_assert_msg(frame_attr(svg, title, "fill", v, sizeof v) == 0, "no frame '%s'", title);
    ck_assert_int_eq(sscanf(v, "rgb(%d,%d,%d)", &rgb[0], &rgb[1], &rgb[2]), 3);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- parsing ---- */

START_TEST(test_parse_lines)
{
    struct flamegraph *fg = flamegraph_new();
    const char *why = NULL;
    ck_assert_int_eq(add(fg, "a;b;c 5\n", &why), 1);
    ck_assert_int_eq(add(fg, "a;b;c 3\r\n", &why), 1);         /* CRLF, merged */
    ck_assert_int_eq(add(fg, "a;b 2", &why), 1);               /* no newline at the end */
    ck_assert_int_eq(add(fg, "x y;z  w\t 4  \n", &why), 1);    /* spaces in names, blanks around the count */
    ck_assert_int_eq(add(fg, "a;;b;;  1.5\n", &why), 1);       /* empty frames skipped, fraction */
    ck_assert_int_eq(add(fg, "a;b;c 0\n", &why), 1);           /* zero counts nothing */
    ck_assert_int_eq(add(fg, "   \r\n", &why), 0);             /* blank */
    ck_assert_int_eq(add(fg, "", &why), 0);
    ck_assert_double_eq(count_of(fg, "a;b;c"), 8);
    ck_assert_double_eq(count_of(fg, "a;b"), 11.5);
    ck_assert_double_eq(count_of(fg, "a"), 11.5);
    ck_assert_double_eq(count_of(fg, "x y;z  w"), 4);
    ck_assert_double_eq(count_of(fg, ""), 15.5);
    ck_assert_double_eq(flamegraph_total(fg, FLAMEGRAPH_MAIN), 15.5);
    ck_assert_double_eq(flamegraph_total(fg, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_lookup(fg, "a;c", NULL, NULL), -ENOENT);
    ck_assert_int_eq(flamegraph_lookup(fg, "x y;z w", NULL, NULL), -ENOENT);
    /* root, a, a;b, a;b;c, x y, x y;z  w */
    ck_assert_uint_eq(flamegraph_nodes(fg), 6);

    /* py-spy raw, gilscope and stackcollapse-perf.pl lines. */
    ck_assert_int_eq(add(fg, "<module> (app.py:1);main (app.py:5);json.loads (json/__init__.py:346) 7", &why), 1);
    ck_assert_int_eq(add(fg, "python3;[unknown];_PyEval_EvalFrameDefault 12", &why), 1);
    ck_assert_int_eq(add(fg, "thread (77): Main Thread;<module> (app.py:1) 1", &why), 1);
    ck_assert_double_eq(count_of(fg, "<module> (app.py:1);main (app.py:5);json.loads (json/__init__.py:346)"), 7);
    ck_assert_double_eq(count_of(fg, "python3;[unknown];_PyEval_EvalFrameDefault"), 12);
    ck_assert_double_eq(count_of(fg, "thread (77): Main Thread;<module> (app.py:1)"), 1);

    /* Hostile lines: refused with a reason, the graph unchanged. */
    static const struct {
        const char *line, *why;
    } bad[] = {
        { "a;b;c", "no sample count at the end" },
        { "a;b;c\n", "no sample count at the end" },
        { "a;b 12x", "the sample count is not a number" },
        { "a;b -3", "the sample count is not a number" },
        { "a;b 1e5", "the sample count is not a number" },
        { "a;b .", "the sample count is not a number" },
        { "a;b 0x10", "the sample count is not a number" },
        { "a;b nan", "the sample count is not a number" },
        { "a;b 99999999999999999999999", "the sample count is too large (at most 1e15)" },
        { "a;b 1000000000000001", "the sample count is too large (at most 1e15)" },
        { " 5", "no stack before the count" },
        { "5", "no sample count at the end" },
        { ";;; 3", "no stack before the count" },
        { "\xff\xfe\x01\x02 garbage", "the sample count is not a number" },
    };
    double total = flamegraph_total(fg, FLAMEGRAPH_MAIN);
    size_t nodes = flamegraph_nodes(fg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        ck_assert_msg(add(fg, bad[i].line, &why) == -EINVAL, "accepted '%s'", bad[i].line);
        ck_assert_str_eq(why, bad[i].why);
    }
    ck_assert_int_eq(flamegraph_add_line(fg, "a\0b 3\n", 6, FLAMEGRAPH_MAIN, &why), -EINVAL);
    ck_assert_str_eq(why, "binary data (a NUL byte)");
    ck_assert_double_eq(flamegraph_total(fg, FLAMEGRAPH_MAIN), total);
    ck_assert_uint_eq(flamegraph_nodes(fg), nodes);

    ck_assert_int_eq(flamegraph_add(fg, "a", 1, -1, FLAMEGRAPH_MAIN), -EINVAL);
    ck_assert_int_eq(flamegraph_add(fg, "a", 1, NAN, FLAMEGRAPH_MAIN), -EINVAL);
    ck_assert_int_eq(flamegraph_add(fg, "a", 1, INFINITY, FLAMEGRAPH_MAIN), -EINVAL);
    ck_assert_int_eq(flamegraph_add(fg, ";;", 2, 1, FLAMEGRAPH_MAIN), -EINVAL);
    ck_assert_int_eq(flamegraph_add(fg, "", 0, 1, FLAMEGRAPH_MAIN), -EINVAL);
    /* LEN bounds the stack: the rest of the buffer is not read. */
    ck_assert_int_eq(flamegraph_add(fg, "a;bXXX", 3, 2, FLAMEGRAPH_BEFORE), 0);
    double m, b;
    ck_assert_int_eq(flamegraph_lookup(fg, "a;b", &m, &b), 0);
    ck_assert_double_eq(b, 2);
    ck_assert_double_eq(m, 11.5);
    flamegraph_scale(fg, FLAMEGRAPH_BEFORE, 1.5);
    ck_assert_int_eq(flamegraph_lookup(fg, "a;b", &m, &b), 0);
    ck_assert_double_eq(b, 3);
    ck_assert_double_eq(m, 11.5);
    flamegraph_free(fg);
    flamegraph_free(NULL);
}
END_TEST

static int read_text(struct flamegraph *fg, const char *text, size_t len, char *err, size_t errlen)
{
    FILE *f = fmemopen((void *)text, len, "r");
    ck_assert_ptr_nonnull(f);
    int rc = flamegraph_read(fg, f, "in.folded", FLAMEGRAPH_MAIN, err, errlen);
    fclose(f);
    return rc;
}

START_TEST(test_read)
{
    char err[256];
    struct flamegraph *fg = flamegraph_new();
    static const char good[] = "a;b 1\r\n\na;b 2\nc 3";
    ck_assert_int_eq(read_text(fg, good, sizeof good - 1, err, sizeof err), 0);
    ck_assert_double_eq(count_of(fg, "a;b"), 3);
    ck_assert_double_eq(count_of(fg, "c"), 3);
    /* A second input adds to the first. */
    ck_assert_int_eq(read_text(fg, good, sizeof good - 1, err, sizeof err), 0);
    ck_assert_double_eq(count_of(fg, "a;b"), 6);

    static const char badline[] = "a;b 1\nc 2\nno count here\nd 4\n";
    ck_assert_int_eq(read_text(fg, badline, sizeof badline - 1, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "in.folded:3: the sample count is not a number");

    ck_assert_int_eq(read_text(fg, "", 0, err, sizeof err), -ENODATA);
    ck_assert_str_eq(err, "in.folded: no samples (empty input)");
    ck_assert_int_eq(read_text(fg, "\n\n", 2, err, sizeof err), -ENODATA);
    ck_assert_int_eq(read_text(fg, "a 0\n", 4, err, sizeof err), -ENODATA);
    ck_assert_str_eq(err, "in.folded: no samples (every count is 0)");

    /* Binary garbage: a PNG header, then anything. */
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x04\0";
    ck_assert_int_eq(read_text(fg, png, sizeof png - 1, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "in.folded:1:"));
    unsigned char noise[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
    ck_assert_int_eq(read_text(fg, (const char *)noise, sizeof noise, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "in.folded:"));

    /* A line longer than the limit is refused, not swallowed whole. */
    size_t big = (17u << 20);
    char *huge = malloc(big);
    memset(huge, 'a', big);
    ck_assert_int_eq(read_text(fg, huge, big, err, sizeof err), -EFBIG);
    ck_assert_str_eq(err, "in.folded:1: line longer than 16 MiB");
    free(huge);
    flamegraph_free(fg);
}
END_TEST

/* ---- rendering ---- */

START_TEST(test_widths)
{
    struct flamegraph *fg = flamegraph_new();
    const char *why;
    /* 100 samples over 1180 px: 11.8 px each. */
    ck_assert_int_eq(add(fg, "main;b 25", &why), 1);
    ck_assert_int_eq(add(fg, "main;a 50", &why), 1);
    ck_assert_int_eq(add(fg, "main;a;deep 10", &why), 1);
    ck_assert_int_eq(add(fg, "other 15", &why), 1);
    struct flamegraph_opts o = { .title = "T", .minwidth = -1 };
    struct flamegraph_stats st;
    char *svg = render(fg, &o, &st, NULL);
    ck_assert_uint_eq(st.frames, 6);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_eq(occurrences(svg, "<g><title>"), 6);
    ck_assert_ptr_nonnull(strstr(svg, "<g><title>all (100 samples, 100.00%)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "<g><title>main (85 samples, 85.00%)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "<g><title>a (60 samples, 60.00%)</title>"));
    ck_assert_double_eq_tol(frame_num(svg, "all", "width"), 1180, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "main", "width"), 85 * 11.8, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "a", "width"), 60 * 11.8, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "b", "width"), 25 * 11.8, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "deep", "width"), 10 * 11.8, 0.005);
    /* Children in name order from the parent's left edge. */
    ck_assert_double_eq_tol(frame_num(svg, "a", "x"), 10, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "b", "x"), 10 + 60 * 11.8, 0.005);
    ck_assert_double_eq_tol(frame_num(svg, "other", "x"), 10 + 85 * 11.8, 0.005);
    /* Root at the bottom, one row (16 px) per level. */
    double y_all = frame_num(svg, "all", "y");
    ck_assert_double_eq_tol(y_all - frame_num(svg, "main", "y"), 16, 0.005);
    ck_assert_double_eq_tol(y_all - frame_num(svg, "deep", "y"), 48, 0.005);
    ck_assert_int_eq(st.height, 62 + 34 + 4 * 16);
    ck_assert_ptr_nonnull(strstr(svg, "height=\"160\""));
    /* Self-contained: an inline script, nothing fetched. */
    ck_assert_ptr_nonnull(strstr(svg, "<script type=\"text/ecmascript\"><![CDATA["));
    ck_assert_ptr_null(strstr(svg, "http://www.w3.org/1999/xlink"));
    ck_assert_ptr_null(strstr(svg, "src="));
    ck_assert_ptr_null(strstr(svg, "href="));
    ck_assert_ptr_nonnull(strstr(svg, "<text id=\"title\" x=\"600.0\" y=\"24\">T</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">100 samples</text>"));
    free(svg);

    /* Duration and info in the subtitle; an empty graph still renders. */
    o.duration_s = 2.5;
    o.info = "Python 3.12.1, 100 Hz";
    svg = render(fg, &o, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(svg, ">100 samples in 2.50 s, Python 3.12.1, 100 Hz</text>"));
    free(svg);
    flamegraph_free(fg);
    fg = flamegraph_new();
    svg = render(fg, &o, &st, NULL);
    ck_assert_ptr_nonnull(strstr(svg, ">no samples"));
    ck_assert_uint_eq(st.frames, 0);
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    free(svg);
    flamegraph_free(fg);
}
END_TEST

static char *escaped(const char *s, size_t len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ck_assert_int_eq(flamegraph_escape(f, s, len), 0);
    fclose(f);
    return buf;
}

START_TEST(test_escape)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "<a href=\"x\">&'", "&lt;a href=&quot;x&quot;&gt;&amp;&apos;" },
        { "функция 関数 \xf0\x9f\x92\xa9 \xc3\xa9", "функция 関数 \xf0\x9f\x92\xa9 \xc3\xa9" },
        { "bad\xff!", "bad\xef\xbf\xbd!" },
        { "cut\xc3", "cut\xef\xbf\xbd" },                                   /* truncated sequence */
        { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },                         /* overlong '/' */
        { "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },         /* overlong, 3 bytes */
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },         /* a surrogate */
        { "\xef\xbf\xbe", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },         /* U+FFFE */
        { "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* > U+10FFFF */
        { "a\x01" "b\x1f" "c\td", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\td" }, /* controls XML forbids */
        { "]]>", "]]&gt;" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = escaped(cases[i].in, strlen(cases[i].in));
        ck_assert_msg(strcmp(e, cases[i].out) == 0, "case %zu: '%s'", i, e);
        free(e);
    }
    char *e = escaped("a\0b", 3);
    ck_assert_mem_eq(e, "a\xef\xbf\xbd" "b", 5);
    free(e);

    /* In a rendered graph: names and title escaped everywhere they appear. */
    struct flamegraph *fg = flamegraph_new();
    const char *why;
    ck_assert_int_eq(add(fg, "<module> (a.py:1);f<T> & \"g\" 'h' (a.py:2);\xe9\xff 3", &why), 1);
    struct flamegraph_opts o = { .title = "python3 -c 'a<b && c>d'", .minwidth = -1 };
    char *svg = render(fg, &o, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<g><title>&lt;module&gt; (a.py:1) (3 samples"));
    ck_assert_ptr_nonnull(strstr(svg, "<text id=\"title\" x=\"600.0\" y=\"24\">python3 -c &apos;a&lt;b &amp;&amp; c&gt;d&apos;</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>f&lt;T&gt; &amp; &quot;g&quot; &apos;h&apos; (a.py:2) (3 samples"));
    ck_assert_ptr_nonnull(strstr(svg, ">f&lt;T&gt; &amp; &quot;g&quot; &apos;h&apos; (a.py:2)</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>\xef\xbf\xbd\xef\xbf\xbd (3 samples"));
    ck_assert_ptr_null(strstr(svg, "<module>"));
    ck_assert_ptr_null(strstr(svg, "<T>"));
    ck_assert_ptr_null(strstr(svg, "\xff"));
    free(svg);
    flamegraph_free(fg);
}
END_TEST

START_TEST(test_labels)
{
    struct flamegraph *fg = flamegraph_new();
    const char *why;
    /* 1180 px: "wide" gets all of it, so its long name fits whole; a frame of
     * 1/118 (10 px) is too narrow for any label; one of 4/118 (40 px) shows
     * (40 - 6) / 7.08 = 4 characters: two and "..". */
    ck_assert_int_eq(add(fg, "wide_function_name_here 113", &why), 1);
    ck_assert_int_eq(add(fg, "narrow 1", &why), 1);
    ck_assert_int_eq(add(fg, "\xd0\xb6\xd0\xb6\xd0\xb6\xd0\xb6\xd0\xb6\xd0\xb6 4", &why), 1);
    struct flamegraph_opts o = { .minwidth = -1 };
    char *svg = render(fg, &o, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(svg, ">wide_function_name_here</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "\">\xd0\xb6\xd0\xb6..</text>"));      /* cut between characters */
    ck_assert_ptr_nonnull(strstr(svg, "<title>narrow (1 sample, 0.85%)</title>"));
    const char *n = strstr(svg, "<title>narrow (");
    ck_assert_ptr_nonnull(strstr(n, "\"></text></g>"));
    ck_assert_ptr_nonnull(strstr(svg, "<text id=\"title\" x=\"600.0\" y=\"24\">Flame Graph</text>"));
    free(svg);
    flamegraph_free(fg);
}
END_TEST

START_TEST(test_minwidth)
{
    struct flamegraph *fg = flamegraph_new();
    char line[64];
    const char *why;
    ck_assert_int_eq(add(fg, "big;work 1000000", &why), 1);
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "big;tiny%d 1", i);     /* 0.00118 px each */
        ck_assert_int_eq(add(fg, line, &why), 1);
    }
    snprintf(line, sizeof line, "big;tiny7;under 1");       /* under a dropped frame */
    ck_assert_int_eq(add(fg, line, &why), 1);
    struct flamegraph_opts o = { .minwidth = -1 };           /* default 0.1 px */
    struct flamegraph_stats st;
    char *svg = render(fg, &o, &st, NULL);
    ck_assert_uint_eq(st.frames, 3);                         /* all, big, work */
    ck_assert_uint_eq(st.dropped, 101);
    ck_assert_double_eq(st.dropped_samples, 101);
    ck_assert_int_eq(st.capped, 0);
    ck_assert_uint_eq(occurrences(svg, "<g><title>"), 3);
    ck_assert_ptr_null(strstr(svg, "tiny"));
    ck_assert_ptr_nonnull(strstr(svg, "; 101 frames (0.01% of samples) not drawn: narrower than 0.1 px</text>"));
    free(svg);

    o.minwidth = 0;
    svg = render(fg, &o, &st, NULL);
    ck_assert_uint_eq(st.frames, 104);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_ptr_null(strstr(svg, "not drawn"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>under (1 sample"));
    free(svg);

    /* A larger minimum: only frames of at least 5 px (> 4237 samples). */
    o.minwidth = 5;
    ck_assert_int_eq(add(fg, "big;mid 5000", &why), 1);
    ck_assert_int_eq(add(fg, "big;small 4000", &why), 1);
    svg = render(fg, &o, &st, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<title>mid ("));
    ck_assert_ptr_null(strstr(svg, "<title>small ("));
    ck_assert_ptr_nonnull(strstr(svg, "narrower than 5 px"));
    free(svg);
    flamegraph_free(fg);
}
END_TEST

START_TEST(test_cap)
{
    /* More frames than the cap, all wider than minwidth 0: the widest stay,
     * and every kept frame's parents too. */
    struct flamegraph *fg = flamegraph_new();
    char line[64];
    const char *why;
    int n = FLAMEGRAPH_MAX_FRAMES + 8000;
    for (int i = 1; i <= n; i++) {
        snprintf(line, sizeof line, "root;mid%d;leaf%d %d", i % 2, i, i);
        ck_assert_int_eq(add(fg, line, &why), 1);
    }
    struct flamegraph_opts o = { .minwidth = 0 };
    struct flamegraph_stats st;
    char *svg = render(fg, &o, &st, NULL);
    ck_assert_uint_eq(st.frames, FLAMEGRAPH_MAX_FRAMES);
    ck_assert_int_eq(st.capped, 1);
    ck_assert_uint_eq(occurrences(svg, "<g><title>"), FLAMEGRAPH_MAX_FRAMES);
    /* all, root, mid0, mid1 and the widest leaves: counts n down to n - MAX + 5. */
    int least = n - FLAMEGRAPH_MAX_FRAMES + 5;
    snprintf(line, sizeof line, "<title>leaf%d (", least);
    ck_assert_ptr_nonnull(strstr(svg, line));
    snprintf(line, sizeof line, "<title>leaf%d (", least - 1);
    ck_assert_ptr_null(strstr(svg, line));
    ck_assert_ptr_nonnull(strstr(svg, "<title>mid0 ("));
    ck_assert_ptr_nonnull(strstr(svg, "<title>mid1 ("));
    ck_assert_ptr_nonnull(strstr(svg, "or past the widest 12000</text>"));
    ck_assert_uint_eq(st.dropped, (size_t)(least - 1));
    free(svg);
    flamegraph_free(fg);
}
END_TEST

/* ---- colours ---- */

START_TEST(test_kinds)
{
    ck_assert_int_eq(flamegraph_kind("main (app.py:5)"), FLAMEGRAPH_PYTHON);
    ck_assert_int_eq(flamegraph_kind("main (app.py)"), FLAMEGRAPH_PYTHON);
    ck_assert_int_eq(flamegraph_kind("<module> (<frozen importlib._bootstrap>:1)"), FLAMEGRAPH_PYTHON);
    ck_assert_int_eq(flamegraph_kind("f (/usr/lib/python3.11/json/decoder.py:353)"), FLAMEGRAPH_PYTHON);
    ck_assert_int_eq(flamegraph_kind("run (x (y).py:3)"), FLAMEGRAPH_PYTHON);
    /* --native: C functions with DWARF lines, and without (the library). */
    ck_assert_int_eq(flamegraph_kind("gsnative_inner (/src/native_ext.c:35)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("std::vector<int>::push_back (/usr/include/c++/12/bits/stl_vector.h:1287)"),
                     FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("run (lib.cpp:3)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("clock_nanosleep (libc.so.6)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("[vdso]"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("parse (mod.pyx:12)"), FLAMEGRAPH_PYTHON);
    ck_assert_int_eq(flamegraph_kind("_PyEval_EvalFrameDefault"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("[unknown]"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("std::vector<int>::push_back(int const&)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("foo (anonymous namespace)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("do_syscall_64 [native] (x.py:1)"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("thread (1234): MainThread"), FLAMEGRAPH_THREAD);
    ck_assert_int_eq(flamegraph_kind("thread (0x7f00aa)"), FLAMEGRAPH_THREAD);
    ck_assert_int_eq(flamegraph_kind("process 99:\"python app.py\""), FLAMEGRAPH_THREAD);
    ck_assert_int_eq(flamegraph_kind("<idle>"), FLAMEGRAPH_IDLE);
    ck_assert_int_eq(flamegraph_kind("[gil-wait]"), FLAMEGRAPH_GIL_WAIT);
    ck_assert_int_eq(flamegraph_kind("[native]"), FLAMEGRAPH_NATIVE);
    ck_assert_int_eq(flamegraph_kind("[idle]"), FLAMEGRAPH_IDLE);
    ck_assert_int_eq(flamegraph_kind("[idle]"), FLAMEGRAPH_IDLE);
}
END_TEST

START_TEST(test_colours)
{
    struct flamegraph *fg = flamegraph_new();
    const char *why;
    static const char *const lines[] = {
        "a (json/decoder.py:1) 1", "b (json/scanner.py:2) 1", "c (/usr/lib/python3.11/json/tool.py:3) 1",
        "d (http/server.py:4) 1", "_PyEval_EvalFrameDefault 1", "thread (5): worker 1", "<idle> 1",
        "e (<frozen importlib._bootstrap>:10) 1", "e (<frozen importlib._bootstrap>:9999) 1",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_int_eq(add(fg, lines[i], &why), 1);
    struct flamegraph_opts o = { .minwidth = -1 };
    char *svg = render(fg, &o, NULL, NULL);
    int a[3], b[3], c[3], d[3], nat[3], thr[3], idle[3];
    frame_rgb(svg, "a (json/decoder.py:1)", a);
    frame_rgb(svg, "b (json/scanner.py:2)", b);
    frame_rgb(svg, "c (/usr/lib/python3.11/json/tool.py:3)", c);
    frame_rgb(svg, "d (http/server.py:4)", d);
    frame_rgb(svg, "_PyEval_EvalFrameDefault", nat);
    frame_rgb(svg, "thread (5): worker", thr);
    frame_rgb(svg, "&lt;idle&gt;", idle);
    /* One package, one hue: red and blue from the package, green shifted a
     * little by the function. Full paths find the same package. */
    ck_assert_int_eq(a[0], b[0]);
    ck_assert_int_eq(a[2], b[2]);
    ck_assert_int_le(abs(a[1] - b[1]), 24);
    ck_assert_int_eq(a[0], c[0]);
    ck_assert_int_eq(a[2], c[2]);
    ck_assert(a[0] != d[0] || a[1] != d[1] || a[2] != d[2]);
    int e1[3], e2[3];       /* one file, other lines: one colour */
    frame_rgb(svg, "e (&lt;frozen importlib._bootstrap&gt;:10)", e1);
    frame_rgb(svg, "e (&lt;frozen importlib._bootstrap&gt;:9999)", e2);
    ck_assert(e1[0] == e2[0] && e1[1] == e2[1] && e1[2] == e2[2]);
    /* Python warm (red high, blue low); native aqua; threads purple; idle grey. */
    for (int i = 0; i < 2; i++) {
        const int *p = i ? d : a;
        ck_assert_int_ge(p[0], 205);
        ck_assert_int_le(p[2], 55);
    }
    ck_assert(nat[0] <= 110 && nat[1] >= 165 && nat[2] >= 165);
    ck_assert(thr[2] == 225 && thr[0] >= 165 && thr[1] < thr[0]);
    ck_assert(idle[0] >= 195 && abs(idle[0] - idle[1]) <= 5 && abs(idle[2] - idle[0]) <= 25);
    free(svg);
    flamegraph_free(fg);
}
END_TEST

START_TEST(test_diff)
{
    struct flamegraph *fg = flamegraph_new();
    ck_assert_int_eq(flamegraph_add(fg, "m;grow", 6, 10, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;shrink", 8, 40, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;same", 6, 20, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;gone", 6, 5, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;grow", 6, 40, FLAMEGRAPH_MAIN), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;shrink", 8, 10, FLAMEGRAPH_MAIN), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;same", 6, 20, FLAMEGRAPH_MAIN), 0);
    ck_assert_int_eq(flamegraph_add(fg, "m;new", 5, 5, FLAMEGRAPH_MAIN), 0);
    struct flamegraph_opts o = { .diff = 1, .minwidth = -1 };
    struct flamegraph_stats st;
    char *svg = render(fg, &o, &st, NULL);
    int rgb[3];
    /* Relative change (after - before) / max: grow +0.75, shrink -0.75. */
    frame_rgb(svg, "grow", rgb);
    ck_assert(rgb[0] == 255 && rgb[1] == 52 && rgb[2] == 52);
    frame_rgb(svg, "shrink", rgb);
    ck_assert(rgb[0] == 52 && rgb[1] == 52 && rgb[2] == 255);
    frame_rgb(svg, "same", rgb);
    ck_assert(rgb[0] == 250 && rgb[1] == 250 && rgb[2] == 250);
    frame_rgb(svg, "new", rgb);
    ck_assert(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    /* m: 75 before, 75 after. */
    frame_rgb(svg, "m", rgb);
    ck_assert(rgb[0] == 250 && rgb[1] == 250 && rgb[2] == 250);
    /* Widths from AFTER; what only BEFORE had is not drawn. */
    ck_assert_double_eq_tol(frame_num(svg, "grow", "width"), 1180.0 * 40 / 75, 0.005);
    ck_assert_ptr_null(strstr(svg, "<title>gone ("));
    ck_assert_uint_eq(st.frames, 6);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_ptr_nonnull(strstr(svg, "<title>grow (40 samples, 53.33%; before 10, +300.0%)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>shrink (10 samples, 13.33%; before 40, -75.0%)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "<title>new (5 samples, 6.67%; new)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "(before: 75); red = more samples than before, blue = fewer"));
    free(svg);

    o.negate = 1;
    svg = render(fg, &o, NULL, NULL);
    frame_rgb(svg, "grow", rgb);
    ck_assert(rgb[0] == 52 && rgb[1] == 52 && rgb[2] == 255);
    frame_rgb(svg, "shrink", rgb);
    ck_assert(rgb[0] == 255 && rgb[1] == 52 && rgb[2] == 52);
    ck_assert_ptr_nonnull(strstr(svg, "blue = more samples than before, red = fewer"));
    free(svg);

    /* Scaled to the same total, an equal share is unchanged. */
    struct flamegraph *g2 = flamegraph_new();
    ck_assert_int_eq(flamegraph_add(g2, "x", 1, 10, FLAMEGRAPH_BEFORE), 0);
    ck_assert_int_eq(flamegraph_add(g2, "x", 1, 30, FLAMEGRAPH_MAIN), 0);
    flamegraph_scale(g2, FLAMEGRAPH_BEFORE, flamegraph_total(g2, FLAMEGRAPH_MAIN) / flamegraph_total(g2, FLAMEGRAPH_BEFORE));
    o.negate = 0;
    svg = render(g2, &o, NULL, NULL);
    frame_rgb(svg, "x", rgb);
    ck_assert(rgb[0] == 250 && rgb[1] == 250 && rgb[2] == 250);
    free(svg);
    flamegraph_free(g2);
    flamegraph_free(fg);
}
END_TEST

/* ---- big inputs ---- */

START_TEST(test_deep)
{
    /* 500 frames deep, names ~30 bytes: every frame drawn, output bounded. */
    struct flamegraph *fg = flamegraph_new();
    size_t cap = 64 * 1024, len = 0;
    char *stack = malloc(cap);
    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(stack + len, cap - len, "%sfunction_%d (pkg/mod.py:%d)", i ? ";" : "", i, i);
    double t0 = now_s();
    ck_assert_int_eq(flamegraph_add(fg, stack, len, 7, FLAMEGRAPH_MAIN), 0);
    size_t half = 0;    /* the first 250 frames: up to the 250th ';' */
    for (int semis = 0; semis < 250; half++)
        semis += stack[half] == ';';
    ck_assert_int_eq(flamegraph_add(fg, stack, half - 1, 3, FLAMEGRAPH_MAIN), 0);
    ck_assert_double_eq(count_of(fg, "function_0 (pkg/mod.py:0)"), 10);
    struct flamegraph_opts o = { .minwidth = -1 };
    struct flamegraph_stats st;
    size_t size;
    char *svg = render(fg, &o, &st, &size);
    double took = now_s() - t0;
    ck_assert_uint_eq(st.frames, 501);
    ck_assert_int_eq(st.height, 62 + 34 + 501 * 16);
    ck_assert_uint_eq(occurrences(svg, "<g><title>"), 501);
    ck_assert_ptr_nonnull(strstr(svg, "<title>function_499 (pkg/mod.py:499) (7 samples, 70.00%)"));
    /* ~10 KB of script and style, then < 250 bytes per frame. */
    ck_assert_uint_lt(size, 16 * 1024 + 501 * 250);
    ck_assert_msg(took < 2.0, "500-deep stack took %.2f s", took);
    free(svg);
    free(stack);
    flamegraph_free(fg);
}
END_TEST

START_TEST(test_large)
{
    /* 100k distinct stacks, 6 frames each, counts 1..17. */
    struct flamegraph *fg = flamegraph_new();
    char line[256];
    double t0 = now_s();
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(line, sizeof line,
                         "<module> (app.py:1);mod%d.run (pkg%d/core.py:%d);step%d (pkg%d/step.py:%d);"
                         "helper%d (util.py:%d);leaf_%d (x.py:%d)",
                         i % 10, i % 7, i % 13, (i / 10) % 10, i % 5, i % 11, (i / 100) % 10, i % 3, i, i % 97);
        ck_assert_int_eq(flamegraph_add(fg, line, (size_t)n, 1 + i % 17, FLAMEGRAPH_MAIN), 0);
    }
    double built = now_s() - t0;
    ck_assert_uint_ge(flamegraph_nodes(fg), 100000);
    struct flamegraph_opts o = { .minwidth = 0 };  /* ask for everything: the cap decides */
    struct flamegraph_stats st;
    size_t size;
    t0 = now_s();
    char *svg = render(fg, &o, &st, &size);
    double written = now_s() - t0;
    ck_assert_uint_eq(st.frames, FLAMEGRAPH_MAX_FRAMES);
    ck_assert_uint_eq(occurrences(svg, "<g><title>"), FLAMEGRAPH_MAX_FRAMES);
    ck_assert_uint_lt(size, 16 * 1024 + FLAMEGRAPH_MAX_FRAMES * 300);
    free(svg);
    o.minwidth = -1;
    svg = render(fg, &o, &st, &size);
    ck_assert_uint_le(st.frames, FLAMEGRAPH_MAX_FRAMES);
    ck_assert_uint_gt(st.dropped, 90000);
    free(svg);
    /* Generous bounds: sanitizer builds are several times slower. */
    ck_assert_msg(built < 5.0 && written < 5.0, "100k stacks: built in %.2f s, written in %.2f s", built, written);
    flamegraph_free(fg);
}
END_TEST

/* ---- the record format and folded_lines ---- */

static struct frame mkframe(struct strtab *t, const char *name, const char *file, int line)
{
    struct frame f = { .name = strtab_intern(t, name, strlen(name)), .file = strtab_intern(t, file, strlen(file)),
                       .line = line, .first_line = 1, .kind = FRAME_PYTHON };
    return f;
}

struct collected {
    char text[1024];
    size_t n;
};

static int collect(void *ctx, const char *stack, size_t len, uint64_t count)
{
    struct collected *c = ctx;
    ck_assert_uint_eq(strlen(stack), len);
    c->n += (size_t)snprintf(c->text + c->n, sizeof c->text - c->n, "%s %llu\n", stack, (unsigned long long)count);
    return 0;
}

static int stop_at_first(void *ctx, const char *stack, size_t len, uint64_t count)
{
    (void)stack;
    (void)len;
    (void)count;
    (*(int *)ctx)++;
    return -EPIPE;
}

START_TEST(test_output_format)
{
    struct strtab *t = strtab_new();
    struct profile *p = profile_new();
    struct frame s1[2] = { mkframe(t, "leaf", "/a/m.py", 7), mkframe(t, "<module>", "/a/main.py", 3) };
    struct frame s2[1] = { mkframe(t, "<module>", "/a/main.py", 3) };
    struct profile_stack a = { .pid = 1, .tid = 11, .thread_name = strtab_intern(t, "Main", 4), .nframes = 2, .frames = s1 };
    struct profile_stack b = a;
    b.frames = s2;
    b.nframes = 1;
    ck_assert_int_eq(profile_add_stack(p, &a, 3), 0);
    ck_assert_int_eq(profile_add_stack(p, &b, 1), 0);
    ck_assert_int_eq(profile_add_stack(p, &a, 2), 0);
    struct folded_opts fo = { 0 };

    /* folded_lines yields what folded_write writes. */
    struct collected c = { .n = 0 };
    ck_assert_int_eq(folded_lines(p, t, NULL, &fo, collect, &c), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(folded_write(f, p, t, NULL, &fo), 0);
    fclose(f);
    ck_assert_str_eq(c.text, buf);
    ck_assert_str_eq(buf, "<module> (/a/main.py:3) 1\n<module> (/a/main.py:3);leaf (/a/m.py:7) 5\n");
    free(buf);
    int calls = 0;
    ck_assert_int_eq(folded_lines(p, t, NULL, &fo, stop_at_first, &calls), -EPIPE);
    ck_assert_int_eq(calls, 1);

    const struct output_format *fmt = output_find("flamegraph");
    ck_assert_ptr_nonnull(fmt);
    ck_assert_str_eq(fmt->ext, ".svg");
    buf = NULL;
    f = open_memstream(&buf, &len);
    struct output_info info = { .pid = 1, .title = "python3 app.py <x>", .python_version = "3.12.1", .rate_hz = 100,
                                .strings = t, .files = NULL, .opts = &fo };
    char err[128];
    void *st = fmt->begin(f, &info, err, sizeof err);
    ck_assert_ptr_nonnull(st);
    struct output_totals totals = { .samples = 6, .errors = 2, .duration_s = 1.5 };
    ck_assert_int_eq(fmt->end(st, p, &totals), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "<text id=\"title\" x=\"600.0\" y=\"24\">python3 app.py &lt;x&gt;</text>"));
    ck_assert_ptr_nonnull(strstr(buf, ">6 samples in 1.50 s, Python 3.12.1, 100 Hz, 2 sampling errors</text>"));
    ck_assert_ptr_nonnull(strstr(buf, "<title>&lt;module&gt; (/a/main.py:3) (6 samples, 100.00%)</title>"));
    ck_assert_ptr_nonnull(strstr(buf, "<title>leaf (/a/m.py:7) (5 samples, 83.33%)</title>"));
    free(buf);

    /* An empty profile still makes a valid page. */
    struct profile *empty = profile_new();
    buf = NULL;
    f = open_memstream(&buf, &len);
    st = fmt->begin(f, &info, err, sizeof err);
    ck_assert_int_eq(fmt->end(st, empty, &totals), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, ">no samples"));
    ck_assert_ptr_nonnull(strstr(buf, "</svg>\n"));
    free(buf);
    profile_free(empty);
    profile_free(p);
    strtab_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flamegraph");
    TCase *tc = tcase_create("flamegraph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_parse_lines);
    tcase_add_test(tc, test_read);
    tcase_add_test(tc, test_widths);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_labels);
    tcase_add_test(tc, test_minwidth);
    tcase_add_test(tc, test_cap);
    tcase_add_test(tc, test_kinds);
    tcase_add_test(tc, test_colours);
    tcase_add_test(tc, test_diff);
    tcase_add_test(tc, test_deep);
    tcase_add_test(tc, test_large);
    tcase_add_test(tc, test_output_format);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
