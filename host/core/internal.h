/* internal.h: the library's private structures and helpers, shared by every file in host/.
 * Nothing here is part of the public API (include/shufflecl.h is). */
#ifndef SCL_INTERNAL_H
#define SCL_INTERNAL_H

#include "shufflecl_ext.h"

#include <stdarg.h>
#include <stdio.h>

#define SCL_ERRMSG_CAP 8192
/* Kernels index with 32-bit ints, so a tensor holds under 2^31 floats (tensor.c); its planes are
 * at least SCL_PLANE_ALIGN floats, so no tensor, map or op has more channels than this. */
#define SCL__MAX_CHANNELS (2147483647 / SCL_PLANE_ALIGN)
/* Elements every device buffer of activations holds past its last plane: the fused units' 1x1
 * convs read their input rows straight from global memory two vectors at a time, and a band's
 * last pair of vectors may pass the plane's end by up to 2 x 16 - 1 elements (lanes computed and
 * never stored). Inside the buffer, so no implementation sees an access out of bounds. */
#define SCL__TENSOR_SLACK 32
#define SCL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Rows (or columns) out of a 3x3 stride-2 pad-1 window over n: (n + 2 - 3) / 2 + 1 = ceil(n / 2),
 * written so that n + 1 cannot overflow. Every stride-2 layer (stem, pools, depthwise) and the
 * network's buffer levels use this one formula. */
static inline int scl__stride2(int n) {
    return n - n / 2;
}

typedef struct scl_program_entry {
    struct scl_program_entry *next;
    char *file;
    char *options;
    cl_program program;
    int anonymous;         /* built from caller source: never answered from the cache */
    int unsaved;           /* compiled here, its binary not yet in the disk cache (program.c) */
    unsigned char key[32]; /* its disk cache key */
} scl_program_entry;

struct scl_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl_ctx;
    cl_command_queue queue;
    int profiling; /* the queue records profiling information */
    scl_device_info info;
    char err[SCL_ERRMSG_CAP];
    scl_log_fn log;
    void *log_user;
    char *cache_dir;      /* NULL: disk cache off */
    int cache_dir_warned; /* the directory could not be made: said once */
    scl_program_entry *programs;
    scl_cache_stats stats;
    cl_mem identity_map; /* planes[c] = c, for NULL maps; grown on demand */
    int identity_len;
    struct scl__tune_table *tune; /* the device's tuning table (tune/tune.c), read on first use */
    int tune_loaded;
    unsigned tuned_ops; /* ops made with a configuration from the tuning table */
};

struct scl_tensor {
    scl_context *ctx;
    cl_mem mem;
    int n, c, h, w;
    size_t pitch; /* elements between planes: h*w rounded up to SCL_PLANE_ALIGN */
    int half;     /* elements are 16-bit halves (SCL_PRECISION_HALF_STORAGE), else floats */
};

/* Bytes per element of t. */
static inline size_t scl__tensor_elem(const scl_tensor *t) {
    return t->half ? 2 : 4;
}

struct scl_chanmap {
    scl_context *ctx;
    int channels;
    int max_plane;
    int has_duplicates; /* two channels share a plane: fine to read, a race to write */
    int *planes;
    cl_mem dev; /* the table on the device, made on first use */
};

/* ---- errors (status.c) ---- */
/* Records a formatted message on ctx (or the thread's own buffer when ctx is NULL) and returns st.
 */
scl_status scl__fail(scl_context *ctx, scl_status st, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Records "what: CL_NAME (code)" for an OpenCL failure and returns the OpenCL code. */
scl_status scl__cl_fail(scl_context *ctx, cl_int err, const char *what);
/* Prepends context ("loading w.safetensors: ") to the message already recorded. */
void scl__prefix_error(scl_context *ctx, const char *fmt, ...);
void scl__log(scl_context *ctx, scl_log_level level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
char *scl__strdup(const char *s);

/* Versioned public structs (their first field is `size_t size`, set by the caller to the sizeof
 * it was compiled with; see shufflecl.h). scl__sized_out copies a struct the library filled
 * (src, `full` bytes) into the caller's dst, as much of it as dst's size says, keeping dst's
 * size; scl__sized_in copies the caller's src into a zeroed dst of `full` bytes. Both refuse
 * (SCL_ERROR_INVALID_ARGUMENT, naming fn and type) a size below `min`, the first release's. */
scl_status scl__sized_out(scl_context *ctx, const char *fn, const char *type, void *dst,
                          const void *src, size_t full, size_t min);
scl_status scl__sized_in(scl_context *ctx, const char *fn, const char *type, void *dst,
                         const void *src, size_t full, size_t min);
/* The size a versioned struct declares. */
#define SCL_SIZE_OF(p) (*(const size_t *)(const void *)(p))

#define SCL_CL_TRY(ctx, call, what)                                                                \
    do {                                                                                           \
        cl_int scl_err_ = (call);                                                                  \
        if (scl_err_ != CL_SUCCESS) return scl__cl_fail((ctx), scl_err_, (what));                  \
    } while (0)

/* ---- devices (device.c) ---- */
scl_status scl__device_resolve(const char *spec, cl_platform_id *platform, cl_device_id *device,
                               scl_device_info *info);
scl_status scl__device_query(cl_platform_id p, cl_device_id d, int pi, int di,
                             scl_device_info *info);
/* The process-wide lock around platform/device enumeration and context creation (device.c). */
void scl__enum_lock(void);
void scl__enum_unlock(void);

/* ---- programs (program.c) ---- */
/* The embedded source of a cl/ file (or, with SHUFFLECL_CL_DIR set, the file read from there).
 * *owned is set when the caller must free() the returned text. */
scl_status scl__cl_source(scl_context *ctx, const char *file, const char **text, size_t *len,
                          int *owned);
/* What a program of `file` is built from: the cl/ files built ahead of it (common.cl, ...) and
 * the file itself, each after a #line naming it, in one malloc'd string the caller frees. */
scl_status scl__cl_program_source(scl_context *ctx, const char *file, char **text, size_t *len);
void scl__programs_release(scl_context *ctx);
/* Writes the binary of every program compiled in ctx and not yet saved to the disk cache. */
void scl__programs_save(scl_context *ctx);
/* Checks the bytes of a program-cache file against its format, the expected key and the
 * checksum: returns the binary's length (> 0; it starts at buf + *offset), or 0 if rejected.
 * Internal, for cache_read and its fuzz target. */
size_t scl__cache_parse(const unsigned char *buf, size_t n, const unsigned char key[32],
                        size_t *offset);
/* At most this many cl/ files in one program group (scl__context_build_group). */
#define SCL__GROUP_MAX 4
/* Builds the cl/ files `files`, each with its options, as one program and remembers it under
 * each (file, options), so that later builds of any of them are memory hits: one program's
 * front end instead of n (on PoCL 0.15 s of CPU each, even for a one-line kernel). Only
 * when none of them is built yet and their options are all -D macros with one value per name
 * (the files must define no clashing names; stem.cl, pool.cl and head.cl do not). Best effort:
 * on any failure nothing is remembered or reported (a debug log line), and each file is built
 * alone when asked for. The group is saved to the disk cache like any program. */
void scl__context_build_group(scl_context *ctx, int n, const char *const *files,
                              const char *const *options);
/* Creates a kernel from a built program of `file` with `options`. */
scl_status scl__kernel_create(scl_context *ctx, const char *file, const char *options,
                              const char *kernel, cl_kernel *out);

/* ---- cache and tuning files (fileio.c) ---- */
/* Makes dir and its parents (0755); 0 when it exists afterwards (program.c). */
int scl__mkdirs(const char *dir);
/* Program cache files larger than this are refused as rejects (a binary is a few MiB). */
#define SCL__CACHE_MAX_BYTES ((int64_t)256 << 20)
/* Opens path for reading if it is a regular file of at most max_bytes, without ever blocking.
 * NULL when it is missing (why "") or refused (why says why: "not a regular file", ...). */
FILE *scl__open_regular_read(const char *path, int64_t max_bytes, int64_t *size, char *why,
                             size_t cap);
/* A new file at a unique temporary name next to path (tmp receives it), for
 * scl__atomic_commit, which closes it and renames it over path when ok, else removes it;
 * 0 on success. */
FILE *scl__atomic_create(const char *path, char *tmp, size_t cap);
int scl__atomic_commit(FILE *f, const char *tmp, const char *path, int ok);

/* ---- embedded kernels (generated cl_sources.c) ---- */
typedef struct scl_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} scl_embedded_file;
extern const scl_embedded_file scl__embedded_files[];
extern const size_t scl__embedded_count;

/* ---- sha256.c ---- */
typedef struct scl__sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} scl__sha256;
void scl__sha256_init(scl__sha256 *s);
void scl__sha256_update(scl__sha256 *s, const void *data, size_t n);
void scl__sha256_final(scl__sha256 *s, unsigned char out[32]);

/* ---- channel maps and tensors (chanmap.c, tensor.c) ---- */
/* The device table of map m, or the context's identity table of >= channels entries for NULL. */
scl_status scl__chanmap_device(scl_context *ctx, const scl_chanmap *m, int channels, cl_mem *out);
size_t scl__pitch(int h, int w);
/* A tensor over an existing buffer (retained) with any plane pitch: the network's dense input
 * and output, and activation buffers that share memory. */
scl_status scl__tensor_view(scl_context *ctx, cl_mem mem, int n, int c, int h, int w, size_t pitch,
                            scl_tensor **out);

/* ---- binary16 (half.c) ---- */
/* *half = 1 for SCL_PRECISION_HALF_STORAGE, 0 for DEFAULT / FLOAT32; FLOAT16 (half arithmetic)
 * is SCL_ERROR_UNSUPPORTED, saying whether ctx's device has cl_khr_fp16; anything else
 * SCL_ERROR_INVALID_ARGUMENT. `what` names the field in messages ("<fn>: <what> = ..."). */
scl_status scl__storage_of(scl_context *ctx, scl_precision p, const char *fn, const char *what,
                           int *half);
/* Round to nearest even, as vstore_half_rte; NaN stays NaN, overflow is infinity. */
uint16_t scl__half_from_float(float f);
float scl__half_to_float(uint16_t h);
void scl__half_from_floats(uint16_t *dst, const float *src, size_t n);
void scl__half_to_floats(float *dst, const uint16_t *src, size_t n);

#endif
