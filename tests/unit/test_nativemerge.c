/* Unit tests: nativemerge_stack, the pairing of the interpreter's
 * evaluation calls in a native stack with Python frames — one frame per
 * call (heap frames), several per call from entry frame to entry frame,
 * the plumbing left out between Python frames and kept with all_frames,
 * and mismatches reported, never glued. Synthetic stacks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "nativemerge.h"
#include "sample.h"
#include "strtab.h"
#include "unit.h"

#define EVAL "_PyEval_EvalFrameDefault"

static struct strtab *st;

static struct frame py(const char *name, int entry)
{
    return (struct frame){ .name = strtab_intern(st, name, strlen(name)), .file = strtab_intern(st, "a.py", 4),
                           .line = 1, .kind = FRAME_PYTHON, .flags = entry ? FRAME_ENTRY : 0 };
}

static struct nativesym_info nat(const char *name, const char *lib)
{
    return (struct nativesym_info){ .name = name, .library = lib };
}

/* The merged stack of OUT, leaf first, as "name,name,…"; native frames
 * with a '!' in front. */
static const char *shape(const struct sample *out)
{
    static char buf[1024];
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < out->nframes; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s%s", i ? "," : "",
                               out->frames[i].kind == FRAME_NATIVE ? "!" : "",
                               strtab_get(st, out->frames[i].name));
    return buf;
}

static const struct nativemerge_rules rules = { .eval_name = EVAL };

START_TEST(test_one_frame_per_call)
{
    st = strtab_new();
    struct sample out = { 0 };
    struct frame p[] = { py("leaf", 1), py("mid", 1), py("root", 1) };
    struct nativesym_info n[] = {
        nat("clock_nanosleep", "libc.so.6"), nat("time_sleep", "python3.8"), nat(EVAL, "python3.8"),
        nat("_PyFunction_Vectorcall", "python3.8"), nat(EVAL ".cold", "python3.8"),
        nat("ext_call", "ext.so"), nat("PyObject_Call", "python3.8"), nat(EVAL, "python3.8"),
        nat("Py_RunMain", "python3.8"), nat("main", "python3.8"),
    };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 3, n, 10, 0, &out), 0);
    ck_assert_str_eq(shape(&out), "!clock_nanosleep,!time_sleep,leaf,mid,!ext_call,root,!Py_RunMain,!main");
    sample_clear(&out);
    struct nativemerge_rules all = { .eval_name = EVAL, .all_frames = 1 };
    ck_assert_int_eq(nativemerge_stack(&all, st, p, 3, n, 10, 0, &out), 0);
    ck_assert_str_eq(shape(&out), "!clock_nanosleep,!time_sleep,leaf,!_PyFunction_Vectorcall,mid,!ext_call,"
                                  "!PyObject_Call,root,!Py_RunMain,!main");
    sample_free(&out);
    strtab_free(st);
}
END_TEST

START_TEST(test_entry_groups)
{
    st = strtab_new();
    struct sample out = { 0 };
    /* cb alone in the newest call (run from C), then py_top, main and
     * <module> in one call: entry flags on cb and <module>. */
    struct frame p[] = { py("cb", 1), py("py_top", 0), py("main", 0), py("<module>", 1) };
    struct nativesym_info n[] = {
        nat(EVAL, "libpython3.12.so"), nat("_PyFunction_Vectorcall", "libpython3.12.so"),
        nat("gsnative_inner", "gsnative.so"), nat("gsnative_outer", "gsnative.so"),
        nat("cfunction_call", "libpython3.12.so"), nat(EVAL, "libpython3.12.so"), nat("main", "python3.12"),
    };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 4, n, 7, 0, &out), 0);
    ck_assert_str_eq(shape(&out), "cb,!gsnative_inner,!gsnative_outer,py_top,main,<module>,!main");
    sample_free(&out);
    strtab_free(st);
}
END_TEST

START_TEST(test_mismatch_is_an_error)
{
    st = strtab_new();
    struct sample out = { 0 };
    struct frame p[] = { py("a", 1), py("b", 1) };
    struct nativesym_info three[] = { nat(EVAL, "x"), nat(EVAL, "x"), nat(EVAL, "x") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 2, three, 3, 0, &out), NATIVEMERGE_ERR_MORE_EVAL);
    ck_assert_str_eq(shape(&out), "[native merge error: more evaluation calls than Python frames],a,b");
    ck_assert_int_eq(out.frames[0].kind, FRAME_MARKER);
    sample_clear(&out);
    /* A native stack cut short (broken unwind) leaves Python frames over. */
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 2, three, 1, 0, &out), NATIVEMERGE_ERR_FEWER_EVAL);
    ck_assert_str_eq(shape(&out), "[native merge error: Python frames below the native stack],a,b");
    sample_clear(&out);
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 2, NULL, 0, 0, &out), NATIVEMERGE_ERR_REGS);
    ck_assert_str_eq(shape(&out), "[native merge error: registers unreadable],a,b");
    sample_clear(&out);
    /* No Python at all: a thread that never ran any keeps its C frames;
     * unnamed and anonymous code get placeholders. */
    struct nativesym_info c[] = { nat(NULL, "libfoo.so"), { .library = "[anonymous]", .flags = NATIVESYM_ANON },
                                  nat("start_thread", "libc.so.6") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, NULL, 0, c, 3, 0, &out), 0);
    ck_assert_str_eq(shape(&out), "![unknown],![anonymous],!start_thread");
    ck_assert_str_eq(strtab_get(st, out.frames[1].file), "");
    sample_clear(&out);
    struct nativesym_info v[] = { { .library = "[vdso]", .flags = NATIVESYM_ANON } };
    ck_assert_int_eq(nativemerge_stack(&rules, st, NULL, 0, v, 1, 0, &out), 0);
    ck_assert_str_eq(shape(&out), "![vdso]");
    sample_clear(&out);
    ck_assert_int_eq(nativemerge_stack(&rules, st, NULL, 0, c, 3, 0, &out), 0);
    ck_assert_str_eq(strtab_get(st, out.frames[0].file), "libfoo.so");
    sample_free(&out);
    strtab_free(st);
}
END_TEST

/* An unwind that broke off: what it found is the leaf end of the stack,
 * merged with as many leafmost groups as it has evaluation calls; the
 * marker, then the Python frames it did not reach. */
START_TEST(test_broken_unwind_keeps_its_frames)
{
    st = strtab_new();
    struct sample out = { 0 };
    struct frame p[] = { py("cb", 1), py("py_top", 0), py("<module>", 1) };
    struct nativesym_info jit[] = { { .library = "[anonymous]", .flags = NATIVESYM_ANON } };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 3, jit, 1, 1, &out), NATIVEMERGE_ERR_UNWIND);
    ck_assert_str_eq(shape(&out), "![anonymous],[native merge error: native unwinding stopped early],cb,py_top,<module>");
    ck_assert_int_eq(out.frames[1].kind, FRAME_MARKER);
    sample_clear(&out);
    struct nativesym_info one[] = { nat("spin", "lib.so"), nat(EVAL, "python"), nat("_PyObject_Call", "python"),
                                    nat(NULL, "nounwind.so") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 3, one, 4, 1, &out), NATIVEMERGE_ERR_UNWIND);
    ck_assert_str_eq(shape(&out), "!spin,cb,!_PyObject_Call,![unknown],"
                                  "[native merge error: native unwinding stopped early],py_top,<module>");
    sample_clear(&out);
    /* Broken but complete: merged, no error. */
    struct nativesym_info two[] = { nat(EVAL, "python"), nat(EVAL, "python") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 3, two, 2, 1, &out), 0);
    ck_assert_str_eq(shape(&out), "cb,py_top,<module>");
    sample_clear(&out);
    /* More evaluation calls than groups stays an error, broken or not. */
    struct nativesym_info three[] = { nat(EVAL, "x"), nat(EVAL, "x"), nat(EVAL, "x") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, p, 3, three, 3, 1, &out), NATIVEMERGE_ERR_MORE_EVAL);
    sample_free(&out);
    strtab_free(st);
}
END_TEST

START_TEST(test_lines)
{
    st = strtab_new();
    struct sample out = { 0 };
    struct nativesym_info n[] = { { .name = "f", .library = "lib.so", .file = "/src/f.c", .line = 42 },
                                  nat("g", "lib.so") };
    ck_assert_int_eq(nativemerge_stack(&rules, st, NULL, 0, n, 2, 0, &out), 0);
    ck_assert_str_eq(strtab_get(st, out.frames[0].file), "/src/f.c");
    ck_assert_int_eq(out.frames[0].line, 42);
    ck_assert_str_eq(strtab_get(st, out.frames[1].file), "lib.so");
    ck_assert_int_eq(out.frames[1].line, 0);
    sample_free(&out);
    strtab_free(st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nativemerge");
    TCase *tc = tcase_create("nativemerge");
    tcase_add_test(tc, test_one_frame_per_call);
    tcase_add_test(tc, test_entry_groups);
    tcase_add_test(tc, test_mismatch_is_an_error);
    tcase_add_test(tc, test_broken_unwind_keeps_its_frames);
    tcase_add_test(tc, test_lines);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
