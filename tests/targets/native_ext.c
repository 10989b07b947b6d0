/* gilscope test extension: the module gsnative, for native-stack tests.
 *
 * One source for CPython 2.7 and 3.6 .. 3.14, free-threaded 3.14t too.
 * tests/integration/run builds it per interpreter (native_ext_dir):
 *
 *   cc -shared -fPIC -O0 -g -fno-omit-frame-pointer -I<include> \
 *      -o gsnative<EXT_SUFFIX> native_ext.c
 *
 *   outer(callback)      calls gsnative_inner(callback), which calls
 *                        callback() and returns its result
 *                        (LINE:c_outer_call, LINE:c_inner_call)
 *   spin_nogil(seconds)  without the GIL, gsnative_spin busy-loops on
 *                        clock_gettime(CLOCK_MONOTONIC) (LINE:c_spin)
 *   sleep_nogil(seconds) without the GIL, gsnative_sleep in nanosleep
 *                        (LINE:c_sleep)
 *
 * The runner reads the line numbers from the LINE: marker comments (one a
 * line). gsnative_inner, gsnative_spin and gsnative_sleep are noinline, and
 * a volatile store follows each call of them (and of the callback) so that
 * none becomes a tail call: each keeps a frame of its own. Native stacks:
 *   gsnative_inner <- gsnative_outer <- CPython's call of a builtin
 *   gsnative_spin / gsnative_sleep <- gsnative_nogil <- gsnative_spin_nogil
 *                                  / gsnative_sleep_nogil
 * On a free-threaded build the module declares Py_MOD_GIL_NOT_USED, so
 * importing it leaves the GIL disabled; it keeps no state to protect.
 */
#include <Python.h>

#include <errno.h>
#include <time.h>

#define GSNATIVE_NOINLINE __attribute__((noinline))

static GSNATIVE_NOINLINE PyObject *gsnative_inner(PyObject *callback)
{
    volatile int after = 0;
    PyObject *result;

    result = PyObject_CallObject(callback, NULL); /* LINE: c_inner_call */
    after = 1;
    (void)after;
    return result;
}

static PyObject *gsnative_outer(PyObject *self, PyObject *callback)
{
    volatile int after = 0;
    PyObject *result;

    result = gsnative_inner(callback); /* LINE: c_outer_call */
    after = 1;
    (void)after;
    return result;
}

static double gsnative_since(const struct timespec *t0, const struct timespec *now)
{
    return (double)(now->tv_sec - t0->tv_sec) + (double)(now->tv_nsec - t0->tv_nsec) / 1e9;
}

static GSNATIVE_NOINLINE void gsnative_spin(double seconds)
{
    struct timespec t0, now;
    volatile unsigned long loops = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { loops++; clock_gettime(CLOCK_MONOTONIC, &now); } while (gsnative_since(&t0, &now) < seconds); /* LINE: c_spin */
}

static GSNATIVE_NOINLINE void gsnative_sleep(double seconds)
{
    struct timespec req;
    volatile int after = 0;

    if (seconds < 0)
        seconds = 0;
    req.tv_sec = (time_t)seconds;
    req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
    while (nanosleep(&req, &req) == -1 && errno == EINTR) {} /* LINE: c_sleep */
    after = 1;
    (void)after;
}

/* FN(seconds) without the GIL, seconds parsed from ARGS by FORMAT. */
static PyObject *gsnative_nogil(PyObject *args, const char *format, void (*fn)(double))
{
    double seconds;
    volatile int after = 0;

    if (!PyArg_ParseTuple(args, format, &seconds))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    fn(seconds);
    after = 1;
    Py_END_ALLOW_THREADS
    (void)after;
    Py_RETURN_NONE;
}

static PyObject *gsnative_spin_nogil(PyObject *self, PyObject *args)
{
    return gsnative_nogil(args, "d:spin_nogil", gsnative_spin);
}

static PyObject *gsnative_sleep_nogil(PyObject *self, PyObject *args)
{
    return gsnative_nogil(args, "d:sleep_nogil", gsnative_sleep);
}

static PyMethodDef gsnative_methods[] = {
    {"outer", gsnative_outer, METH_O,
     "outer(callback): callback() called from two C frames; returns its result"},
    {"spin_nogil", gsnative_spin_nogil, METH_VARARGS,
     "spin_nogil(seconds): busy-loop in C without the GIL"},
    {"sleep_nogil", gsnative_sleep_nogil, METH_VARARGS,
     "sleep_nogil(seconds): nanosleep in C without the GIL"},
    {NULL, NULL, 0, NULL}
};

#define GSNATIVE_DOC "gilscope test extension: known native frames"

#if PY_MAJOR_VERSION >= 3

static PyModuleDef_Slot gsnative_slots[] = {
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}
};

static struct PyModuleDef gsnative_module = {
    PyModuleDef_HEAD_INIT,
    "gsnative",
    GSNATIVE_DOC,
    0,
    gsnative_methods,
    gsnative_slots,
    NULL,
    NULL,
    NULL
};

PyMODINIT_FUNC PyInit_gsnative(void)
{
    return PyModuleDef_Init(&gsnative_module);
}

#else

PyMODINIT_FUNC initgsnative(void)
{
    Py_InitModule3("gsnative", gsnative_methods, GSNATIVE_DOC);
}

#endif
