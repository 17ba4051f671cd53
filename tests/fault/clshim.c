/* clshim.c: an LD_PRELOAD shim over OpenCL that counts calls and object lifetimes and makes the
 * N-th call of one entry point fail, so tests can prove every OpenCL failure is handled.
 *
 * Use: LD_PRELOAD=libclshim.so program ...   (with a sanitizer runtime, put it first:
 *      LD_PRELOAD=/path/libasan.so:libclshim.so, or set ASAN_OPTIONS=verify_asan_link_order=0)
 *
 * Environment (read once, when the shim is loaded):
 *   SCL_FAULT_FUNC=clCreateBuffer  the entry point to fail (any wrapped one; unset: no fault)
 *   SCL_FAULT_N=3                  fail its 3rd call (1-based; default 1)
 *   SCL_FAULT_REPEAT=1             fail every call from the N-th on, not only the N-th
 *   SCL_FAULT_CODE=-5              the error to return instead of the entry point's plausible one
 *   SCL_SHIM_REPORT=path           at exit, write the counters to `path`, one "name count" a line:
 *                                    call.clCreateBuffer 12    calls made (failed ones included)
 *                                    created.mem 11            objects made (successful creates,
 *                                                              events returned by enqueues)
 *                                    retained.mem 0 / released.mem 11   successful retains,
 * releases injected 1                faults injected object types: context queue mem program kernel
 * event SCL_SHIM_VERBOSE=1             say on stderr which call was failed SCL_SHIM_DISCRETE=1
 * answer CL_DEVICE_HOST_UNIFIED_MEMORY with CL_FALSE, so that a CPU device takes the read/write
 * (not map) paths of a GPU
 *
 * Without SCL_FAULT_FUNC the shim only counts (e.g. the kernel launches of one inference). The
 * process under test may also drive the shim itself; these are found with dlsym(RTLD_DEFAULT):
 *   long scl_shim_calls(const char *fn)           calls of fn so far (-1: not wrapped)
 *   long scl_shim_count(const char *name)         any report counter by its report name
 *   void scl_shim_reset(void)                     zero every counter
 *   int  scl_shim_set_fault(const char *fn, long n, int repeat, int code)  fn NULL: no fault;
 *                                                 code 0: the plausible one; -1: fn not wrapped
 *   long scl_shim_injected(void)                  faults injected since the last reset
 *   void scl_shim_set_discrete(int on)            as SCL_SHIM_DISCRETE, for devices queried later
 *   int  scl_shim_balance(char *msg, size_t cap)  0 when created + retained == released for
 *                                                 every type, else 1 and the imbalance in msg
 * Counters are atomic: the shim may be used by a multi-threaded process. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_API __attribute__((visibility("default")))

/* Every wrapped entry point, with the error its failure returns unless SCL_FAULT_CODE says. */
#define SHIM_FUNCS(X)                                                                              \
    X(clGetPlatformIDs, CL_OUT_OF_HOST_MEMORY)                                                     \
    X(clGetDeviceIDs, CL_OUT_OF_RESOURCES)                                                         \
    X(clGetDeviceInfo, CL_OUT_OF_RESOURCES)                                                        \
    X(clCreateContext, CL_OUT_OF_HOST_MEMORY)                                                      \
    X(clCreateContextFromType, CL_OUT_OF_HOST_MEMORY)                                              \
    X(clRetainContext, CL_OUT_OF_HOST_MEMORY)                                                      \
    X(clReleaseContext, CL_OUT_OF_HOST_MEMORY)                                                     \
    X(clCreateCommandQueue, CL_OUT_OF_RESOURCES)                                                   \
    X(clRetainCommandQueue, CL_OUT_OF_HOST_MEMORY)                                                 \
    X(clReleaseCommandQueue, CL_OUT_OF_HOST_MEMORY)                                                \
    X(clCreateBuffer, CL_MEM_OBJECT_ALLOCATION_FAILURE)                                            \
    X(clCreateSubBuffer, CL_OUT_OF_RESOURCES)                                                      \
    X(clRetainMemObject, CL_OUT_OF_HOST_MEMORY)                                                    \
    X(clReleaseMemObject, CL_OUT_OF_HOST_MEMORY)                                                   \
    X(clCreateProgramWithSource, CL_OUT_OF_HOST_MEMORY)                                            \
    X(clCreateProgramWithBinary, CL_INVALID_BINARY)                                                \
    X(clBuildProgram, CL_BUILD_PROGRAM_FAILURE)                                                    \
    X(clRetainProgram, CL_OUT_OF_HOST_MEMORY)                                                      \
    X(clReleaseProgram, CL_OUT_OF_HOST_MEMORY)                                                     \
    X(clCreateKernel, CL_OUT_OF_RESOURCES)                                                         \
    X(clRetainKernel, CL_OUT_OF_HOST_MEMORY)                                                       \
    X(clReleaseKernel, CL_OUT_OF_HOST_MEMORY)                                                      \
    X(clSetKernelArg, CL_OUT_OF_RESOURCES)                                                         \
    X(clCreateUserEvent, CL_OUT_OF_RESOURCES)                                                      \
    X(clSetUserEventStatus, CL_OUT_OF_RESOURCES)                                                   \
    X(clWaitForEvents, CL_OUT_OF_RESOURCES)                                                        \
    X(clRetainEvent, CL_OUT_OF_HOST_MEMORY)                                                        \
    X(clReleaseEvent, CL_OUT_OF_HOST_MEMORY)                                                       \
    X(clEnqueueNDRangeKernel, CL_OUT_OF_RESOURCES)                                                 \
    X(clEnqueueWriteBuffer, CL_OUT_OF_RESOURCES)                                                   \
    X(clEnqueueReadBuffer, CL_OUT_OF_RESOURCES)                                                    \
    X(clEnqueueWriteBufferRect, CL_OUT_OF_RESOURCES)                                               \
    X(clEnqueueReadBufferRect, CL_OUT_OF_RESOURCES)                                                \
    X(clEnqueueFillBuffer, CL_OUT_OF_RESOURCES)                                                    \
    X(clEnqueueCopyBuffer, CL_OUT_OF_RESOURCES)                                                    \
    X(clEnqueueMapBuffer, CL_OUT_OF_RESOURCES)                                                     \
    X(clEnqueueUnmapMemObject, CL_OUT_OF_RESOURCES)                                                \
    X(clEnqueueMarkerWithWaitList, CL_OUT_OF_RESOURCES)                                            \
    X(clFlush, CL_OUT_OF_RESOURCES)                                                                \
    X(clFinish, CL_OUT_OF_RESOURCES)

enum {
#define SHIM_ENUM(fn, code) SHIM_##fn,
    SHIM_FUNCS(SHIM_ENUM) SHIM_NFUNCS
};
static const char *const func_names[SHIM_NFUNCS] = {
#define SHIM_NAME(fn, code) #fn,
    SHIM_FUNCS(SHIM_NAME)};
static const cl_int func_codes[SHIM_NFUNCS] = {
#define SHIM_CODE(fn, code) code,
    SHIM_FUNCS(SHIM_CODE)};

enum { OBJ_CONTEXT, OBJ_QUEUE, OBJ_MEM, OBJ_PROGRAM, OBJ_KERNEL, OBJ_EVENT, OBJ_NTYPES };
enum { CREATED, RETAINED, RELEASED };
static const char *const obj_names[OBJ_NTYPES] = {"context", "queue",  "mem",
                                                  "program", "kernel", "event"};
static const char *const how_names[3] = {"created", "retained", "released"};

static atomic_long calls[SHIM_NFUNCS];
static atomic_long objects[OBJ_NTYPES][3];
static atomic_long injected;
static atomic_int fault_func = -1; /* index of the entry point to fail, -1: none */
static atomic_long fault_n = 1;
static atomic_int fault_repeat, fault_code, verbose, discrete;
static void *_Atomic real_fns[SHIM_NFUNCS];

static int func_index(const char *fn) {
    for (int i = 0; fn && i < SHIM_NFUNCS; i++)
        if (strcmp(func_names[i], fn) == 0) return i;
    return -1;
}

static void *real(int i) {
    void *p = atomic_load(&real_fns[i]);
    if (!p) {
        p = dlsym(RTLD_NEXT, func_names[i]);
        if (!p) {
            /* test scaffolding, not the library: nothing sensible to return for a missing symbol */
            fprintf(stderr, "clshim: %s not found after the shim (is libOpenCL loaded?)\n",
                    func_names[i]);
            abort();
        }
        atomic_store(&real_fns[i], p);
    }
    return p;
}
#define REAL(fn) ((__typeof__(&fn))real(SHIM_##fn))

/* Counts the call; returns the error to inject, or CL_SUCCESS to call through. */
static cl_int enter(int i) {
    long n = atomic_fetch_add(&calls[i], 1) + 1;
    long want = atomic_load(&fault_n);
    if (atomic_load(&fault_func) != i || (atomic_load(&fault_repeat) ? n < want : n != want))
        return CL_SUCCESS;
    atomic_fetch_add(&injected, 1);
    cl_int code = atomic_load(&fault_code);
    if (!code) code = func_codes[i];
    if (atomic_load(&verbose))
        fprintf(stderr, "clshim: failing call %ld of %s with %d\n", n, func_names[i], code);
    return code;
}

static void count(int type, int how, int ok) {
    if (ok) atomic_fetch_add(&objects[type][how], 1);
}

static void write_report(FILE *f) {
    for (int i = 0; i < SHIM_NFUNCS; i++)
        fprintf(f, "call.%s %ld\n", func_names[i], atomic_load(&calls[i]));
    for (int t = 0; t < OBJ_NTYPES; t++)
        for (int h = 0; h < 3; h++)
            fprintf(f, "%s.%s %ld\n", how_names[h], obj_names[t], atomic_load(&objects[t][h]));
    fprintf(f, "injected %ld\n", atomic_load(&injected));
}

__attribute__((constructor)) static void shim_init(void) {
    const char *e = getenv("SCL_FAULT_FUNC");
    if (e && *e) {
        int i = func_index(e);
        if (i < 0) fprintf(stderr, "clshim: SCL_FAULT_FUNC=%s is not a wrapped entry point\n", e);
        atomic_store(&fault_func, i);
    }
    if ((e = getenv("SCL_FAULT_N")) && *e) atomic_store(&fault_n, strtol(e, NULL, 10));
    if ((e = getenv("SCL_FAULT_REPEAT")) && *e) atomic_store(&fault_repeat, atoi(e) != 0);
    if ((e = getenv("SCL_FAULT_CODE")) && *e) atomic_store(&fault_code, atoi(e));
    if ((e = getenv("SCL_SHIM_VERBOSE")) && *e) atomic_store(&verbose, atoi(e) != 0);
    if ((e = getenv("SCL_SHIM_DISCRETE")) && *e) atomic_store(&discrete, atoi(e) != 0);
}

__attribute__((destructor)) static void shim_fini(void) {
    const char *path = getenv("SCL_SHIM_REPORT");
    if (!path || !*path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clshim: cannot write the report %s\n", path);
        return;
    }
    write_report(f);
    fclose(f);
}

/* ---- control from the process under test ---------------------------------------------------- */

SHIM_API long scl_shim_calls(const char *fn) {
    int i = func_index(fn);
    return i < 0 ? -1 : atomic_load(&calls[i]);
}

SHIM_API long scl_shim_count(const char *name) {
    if (!name) return -1;
    if (strncmp(name, "call.", 5) == 0) return scl_shim_calls(name + 5);
    if (strcmp(name, "injected") == 0) return atomic_load(&injected);
    for (int t = 0; t < OBJ_NTYPES; t++)
        for (int h = 0; h < 3; h++) {
            size_t n = strlen(how_names[h]);
            if (strncmp(name, how_names[h], n) == 0 && name[n] == '.' &&
                strcmp(name + n + 1, obj_names[t]) == 0)
                return atomic_load(&objects[t][h]);
        }
    return -1;
}

SHIM_API void scl_shim_reset(void) {
    for (int i = 0; i < SHIM_NFUNCS; i++)
        atomic_store(&calls[i], 0);
    for (int t = 0; t < OBJ_NTYPES; t++)
        for (int h = 0; h < 3; h++)
            atomic_store(&objects[t][h], 0);
    atomic_store(&injected, 0);
}

SHIM_API int scl_shim_set_fault(const char *fn, long n, int repeat, int code) {
    int i = fn ? func_index(fn) : -1;
    if (fn && i < 0) return -1;
    atomic_store(&fault_func, -1);
    atomic_store(&fault_n, n);
    atomic_store(&fault_repeat, repeat);
    atomic_store(&fault_code, code);
    atomic_store(&fault_func, i);
    return 0;
}

SHIM_API long scl_shim_injected(void) {
    return atomic_load(&injected);
}

SHIM_API void scl_shim_set_discrete(int on) {
    atomic_store(&discrete, on != 0);
}

SHIM_API int scl_shim_balance(char *msg, size_t cap) {
    int bad = 0;
    size_t used = 0;
    if (msg && cap) msg[0] = '\0';
    for (int t = 0; t < OBJ_NTYPES; t++) {
        long c = atomic_load(&objects[t][CREATED]), r = atomic_load(&objects[t][RETAINED]);
        long d = atomic_load(&objects[t][RELEASED]);
        if (c + r == d) continue;
        bad = 1;
        if (msg && used < cap)
            used += (size_t)snprintf(msg + used, cap - used,
                                     "%s%s: created %ld + retained %ld != released %ld",
                                     used ? "; " : "", obj_names[t], c, r, d);
    }
    return bad;
}

/* ---- the wrappers ---------------------------------------------------------------------------- */

/* Entry points that return a status. */
#define FAIL_STATUS(fn)                                                                            \
    do {                                                                                           \
        cl_int shim_e_ = enter(SHIM_##fn);                                                         \
        if (shim_e_ != CL_SUCCESS) return shim_e_;                                                 \
    } while (0)
/* Entry points that return an object and report through errcode_ret. */
#define FAIL_OBJECT(fn, err)                                                                       \
    do {                                                                                           \
        cl_int shim_e_ = enter(SHIM_##fn);                                                         \
        if (shim_e_ != CL_SUCCESS) {                                                               \
            if (err) *(err) = shim_e_;                                                             \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)
/* An enqueue that may hand back an event. */
#define ENQUEUE_DONE(e, ev) (count(OBJ_EVENT, CREATED, (e) == CL_SUCCESS && (ev) && *(ev)), (e))

cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *p, cl_uint *np) {
    FAIL_STATUS(clGetPlatformIDs);
    return REAL(clGetPlatformIDs)(n, p, np);
}

cl_int clGetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *nd) {
    FAIL_STATUS(clGetDeviceIDs);
    return REAL(clGetDeviceIDs)(p, t, n, d, nd);
}

cl_int clGetDeviceInfo(cl_device_id d, cl_device_info what, size_t size, void *value, size_t *ret) {
    FAIL_STATUS(clGetDeviceInfo);
    cl_int e = REAL(clGetDeviceInfo)(d, what, size, value, ret);
    if (e == CL_SUCCESS && what == CL_DEVICE_HOST_UNIFIED_MEMORY && atomic_load(&discrete) &&
        value && size >= sizeof(cl_bool))
        *(cl_bool *)value = CL_FALSE;
    return e;
}

cl_context clCreateContext(const cl_context_properties *props, cl_uint nd, const cl_device_id *devs,
                           void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *),
                           void *user, cl_int *err) {
    FAIL_OBJECT(clCreateContext, err);
    cl_int e;
    cl_context c = REAL(clCreateContext)(props, nd, devs, notify, user, &e);
    if (err) *err = e;
    count(OBJ_CONTEXT, CREATED, e == CL_SUCCESS && c);
    return c;
}

cl_context clCreateContextFromType(const cl_context_properties *props, cl_device_type t,
                                   void(CL_CALLBACK *notify)(const char *, const void *, size_t,
                                                             void *),
                                   void *user, cl_int *err) {
    FAIL_OBJECT(clCreateContextFromType, err);
    cl_int e;
    cl_context c = REAL(clCreateContextFromType)(props, t, notify, user, &e);
    if (err) *err = e;
    count(OBJ_CONTEXT, CREATED, e == CL_SUCCESS && c);
    return c;
}

cl_command_queue clCreateCommandQueue(cl_context c, cl_device_id d, cl_command_queue_properties p,
                                      cl_int *err) {
    FAIL_OBJECT(clCreateCommandQueue, err);
    cl_int e;
    cl_command_queue q = REAL(clCreateCommandQueue)(c, d, p, &e);
    if (err) *err = e;
    count(OBJ_QUEUE, CREATED, e == CL_SUCCESS && q);
    return q;
}

cl_mem clCreateBuffer(cl_context c, cl_mem_flags f, size_t size, void *host, cl_int *err) {
    FAIL_OBJECT(clCreateBuffer, err);
    cl_int e;
    cl_mem m = REAL(clCreateBuffer)(c, f, size, host, &e);
    if (err) *err = e;
    count(OBJ_MEM, CREATED, e == CL_SUCCESS && m);
    return m;
}

cl_mem clCreateSubBuffer(cl_mem b, cl_mem_flags f, cl_buffer_create_type t, const void *info,
                         cl_int *err) {
    FAIL_OBJECT(clCreateSubBuffer, err);
    cl_int e;
    cl_mem m = REAL(clCreateSubBuffer)(b, f, t, info, &e);
    if (err) *err = e;
    count(OBJ_MEM, CREATED, e == CL_SUCCESS && m);
    return m;
}

cl_program clCreateProgramWithSource(cl_context c, cl_uint n, const char **src, const size_t *len,
                                     cl_int *err) {
    FAIL_OBJECT(clCreateProgramWithSource, err);
    cl_int e;
    cl_program p = REAL(clCreateProgramWithSource)(c, n, src, len, &e);
    if (err) *err = e;
    count(OBJ_PROGRAM, CREATED, e == CL_SUCCESS && p);
    return p;
}

cl_program clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *d,
                                     const size_t *len, const unsigned char **bin, cl_int *status,
                                     cl_int *err) {
    cl_int f = enter(SHIM_clCreateProgramWithBinary);
    if (f != CL_SUCCESS) {
        for (cl_uint i = 0; status && i < n; i++)
            status[i] = f == CL_INVALID_BINARY ? f : CL_SUCCESS;
        if (err) *err = f;
        return NULL;
    }
    cl_int e;
    cl_program p = REAL(clCreateProgramWithBinary)(c, n, d, len, bin, status, &e);
    if (err) *err = e;
    count(OBJ_PROGRAM, CREATED, e == CL_SUCCESS && p);
    return p;
}

cl_int clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *opt,
                      void(CL_CALLBACK *notify)(cl_program, void *), void *user) {
    FAIL_STATUS(clBuildProgram);
    return REAL(clBuildProgram)(p, n, d, opt, notify, user);
}

cl_kernel clCreateKernel(cl_program p, const char *name, cl_int *err) {
    FAIL_OBJECT(clCreateKernel, err);
    cl_int e;
    cl_kernel k = REAL(clCreateKernel)(p, name, &e);
    if (err) *err = e;
    count(OBJ_KERNEL, CREATED, e == CL_SUCCESS && k);
    return k;
}

cl_int clSetKernelArg(cl_kernel k, cl_uint i, size_t size, const void *value) {
    FAIL_STATUS(clSetKernelArg);
    return REAL(clSetKernelArg)(k, i, size, value);
}

cl_event clCreateUserEvent(cl_context c, cl_int *err) {
    FAIL_OBJECT(clCreateUserEvent, err);
    cl_int e;
    cl_event ev = REAL(clCreateUserEvent)(c, &e);
    if (err) *err = e;
    count(OBJ_EVENT, CREATED, e == CL_SUCCESS && ev);
    return ev;
}

cl_int clSetUserEventStatus(cl_event ev, cl_int st) {
    FAIL_STATUS(clSetUserEventStatus);
    return REAL(clSetUserEventStatus)(ev, st);
}

cl_int clWaitForEvents(cl_uint n, const cl_event *evs) {
    FAIL_STATUS(clWaitForEvents);
    return REAL(clWaitForEvents)(n, evs);
}

/* Retain and release, one pair per object type. */
#define SHIM_REFCOUNT(type, obj, Name)                                                             \
    cl_int clRetain##Name(type o) {                                                                \
        FAIL_STATUS(clRetain##Name);                                                               \
        cl_int e = REAL(clRetain##Name)(o);                                                        \
        count(obj, RETAINED, e == CL_SUCCESS);                                                     \
        return e;                                                                                  \
    }                                                                                              \
    cl_int clRelease##Name(type o) {                                                               \
        FAIL_STATUS(clRelease##Name);                                                              \
        cl_int e = REAL(clRelease##Name)(o);                                                       \
        count(obj, RELEASED, e == CL_SUCCESS);                                                     \
        return e;                                                                                  \
    }
SHIM_REFCOUNT(cl_context, OBJ_CONTEXT, Context)
SHIM_REFCOUNT(cl_command_queue, OBJ_QUEUE, CommandQueue)
SHIM_REFCOUNT(cl_mem, OBJ_MEM, MemObject)
SHIM_REFCOUNT(cl_program, OBJ_PROGRAM, Program)
SHIM_REFCOUNT(cl_kernel, OBJ_KERNEL, Kernel)
SHIM_REFCOUNT(cl_event, OBJ_EVENT, Event)

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *off,
                              const size_t *gs, const size_t *ls, cl_uint nw, const cl_event *wl,
                              cl_event *ev) {
    FAIL_STATUS(clEnqueueNDRangeKernel);
    cl_int e = REAL(clEnqueueNDRangeKernel)(q, k, dim, off, gs, ls, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size,
                            const void *p, cl_uint nw, const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueWriteBuffer);
    cl_int e = REAL(clEnqueueWriteBuffer)(q, m, block, off, size, p, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size,
                           void *p, cl_uint nw, const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueReadBuffer);
    cl_int e = REAL(clEnqueueReadBuffer)(q, m, block, off, size, p, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueWriteBufferRect(cl_command_queue q, cl_mem m, cl_bool block, const size_t *bo,
                                const size_t *ho, const size_t *reg, size_t brp, size_t bsp,
                                size_t hrp, size_t hsp, const void *p, cl_uint nw,
                                const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueWriteBufferRect);
    cl_int e =
        REAL(clEnqueueWriteBufferRect)(q, m, block, bo, ho, reg, brp, bsp, hrp, hsp, p, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueReadBufferRect(cl_command_queue q, cl_mem m, cl_bool block, const size_t *bo,
                               const size_t *ho, const size_t *reg, size_t brp, size_t bsp,
                               size_t hrp, size_t hsp, void *p, cl_uint nw, const cl_event *wl,
                               cl_event *ev) {
    FAIL_STATUS(clEnqueueReadBufferRect);
    cl_int e =
        REAL(clEnqueueReadBufferRect)(q, m, block, bo, ho, reg, brp, bsp, hrp, hsp, p, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pat, size_t ps, size_t off,
                           size_t size, cl_uint nw, const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueFillBuffer);
    cl_int e = REAL(clEnqueueFillBuffer)(q, m, pat, ps, off, size, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t so, size_t dof,
                           size_t size, cl_uint nw, const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueCopyBuffer);
    cl_int e = REAL(clEnqueueCopyBuffer)(q, src, dst, so, dof, size, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

void *clEnqueueMapBuffer(cl_command_queue q, cl_mem m, cl_bool block, cl_map_flags f, size_t off,
                         size_t size, cl_uint nw, const cl_event *wl, cl_event *ev, cl_int *err) {
    FAIL_OBJECT(clEnqueueMapBuffer, err);
    cl_int e;
    void *p = REAL(clEnqueueMapBuffer)(q, m, block, f, off, size, nw, wl, ev, &e);
    if (err) *err = e;
    count(OBJ_EVENT, CREATED, e == CL_SUCCESS && ev && *ev);
    return p;
}

cl_int clEnqueueUnmapMemObject(cl_command_queue q, cl_mem m, void *p, cl_uint nw,
                               const cl_event *wl, cl_event *ev) {
    FAIL_STATUS(clEnqueueUnmapMemObject);
    cl_int e = REAL(clEnqueueUnmapMemObject)(q, m, p, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint nw, const cl_event *wl,
                                   cl_event *ev) {
    FAIL_STATUS(clEnqueueMarkerWithWaitList);
    cl_int e = REAL(clEnqueueMarkerWithWaitList)(q, nw, wl, ev);
    return ENQUEUE_DONE(e, ev);
}

cl_int clFlush(cl_command_queue q) {
    FAIL_STATUS(clFlush);
    return REAL(clFlush)(q);
}

cl_int clFinish(cl_command_queue q) {
    FAIL_STATUS(clFinish);
    return REAL(clFinish)(q);
}
