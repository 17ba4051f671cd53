/* internal.h: the library's private structures and helpers, shared by every file in host/.
 * Nothing here is part of the public API (include/shufflecl.h is). */
#ifndef SCL_INTERNAL_H
#define SCL_INTERNAL_H

#include "shufflecl.h"

#include <stdarg.h>
#include <stdio.h>

#define SCL_ERRMSG_CAP 8192
#define SCL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct scl_program_entry {
    struct scl_program_entry *next;
    char *file;
    char *options;
    cl_program program;
    int anonymous; /* built from caller source: never answered from the cache */
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
    char *cache_dir; /* NULL: disk cache off */
    scl_program_entry *programs;
    scl_cache_stats stats;
    cl_mem identity_map; /* planes[c] = c, for NULL maps; grown on demand */
    int identity_len;
    struct scl_tune_db *tune; /* the device's tuning table (tune.c), loaded on first use */
    int tune_loaded;
    unsigned tuned_ops;       /* ops made with a tuned configuration */
};

struct scl_tensor {
    scl_context *ctx;
    cl_mem mem;
    int n, c, h, w;
    size_t pitch; /* floats between planes: h*w rounded up to SCL_PLANE_ALIGN */
};

struct scl_chanmap {
    scl_context *ctx;
    int channels;
    int max_plane;
    int has_duplicates; /* two channels share a plane: fine to read, a race to write */
    int *planes;
    cl_mem dev; /* the table on the device, made on first use */
};

/* ---- errors (status.c) ---- */
/* Records a formatted message on ctx (or the thread's own buffer when ctx is NULL) and returns st. */
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
void scl__clear_error(scl_context *ctx);
char *scl__strdup(const char *s);

#define SCL_CL_TRY(ctx, call, what)                                                               \
    do {                                                                                          \
        cl_int scl_err_ = (call);                                                                 \
        if (scl_err_ != CL_SUCCESS) return scl__cl_fail((ctx), scl_err_, (what));                 \
    } while (0)

/* ---- devices (device.c) ---- */
scl_status scl__device_resolve(const char *spec, cl_platform_id *platform, cl_device_id *device,
                               scl_device_info *info);
scl_status scl__device_query(cl_platform_id p, cl_device_id d, int pi, int di, scl_device_info *info);

/* ---- programs (program.c) ---- */
/* The embedded source of a cl/ file (or, with SHUFFLECL_CL_DIR set, the file read from there).
 * *owned is set when the caller must free() the returned text. */
scl_status scl__cl_source(scl_context *ctx, const char *file, const char **text, size_t *len,
                          int *owned);
void scl__programs_release(scl_context *ctx);
/* Checks the bytes of a program-cache file against its format, the expected key and the
 * checksum: returns the binary's length (> 0; it starts at buf + *offset), or 0 if rejected.
 * Internal, for cache_read and its fuzz target. */
size_t scl__cache_parse(const unsigned char *buf, size_t n, const unsigned char key[32], size_t *offset);
/* Creates a kernel from a built program of `file` with `options`. */
scl_status scl__kernel_create(scl_context *ctx, const char *file, const char *options,
                              const char *kernel, cl_kernel *out);

/* ---- embedded kernels (generated cl_sources.c) ---- */
typedef struct scl_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} scl_embedded_file;
extern const scl_embedded_file scl__embedded_files[];
extern const size_t scl__embedded_count;

/* ---- sha256.c ---- */
typedef struct scl_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} scl_sha256;
void scl_sha256_init(scl_sha256 *s);
void scl_sha256_update(scl_sha256 *s, const void *data, size_t n);
void scl_sha256_final(scl_sha256 *s, unsigned char out[32]);

/* ---- channel maps and tensors (chanmap.c, tensor.c) ---- */
/* The device table of map m, or the context's identity table of >= channels entries for NULL. */
scl_status scl__chanmap_device(scl_context *ctx, const scl_chanmap *m, int channels, cl_mem *out);
size_t scl__pitch(int h, int w);
/* A tensor over an existing buffer (retained) with any plane pitch: the network's dense input
 * and output, and activation buffers that share memory. */
scl_status scl__tensor_view(scl_context *ctx, cl_mem mem, int n, int c, int h, int w, size_t pitch,
                            scl_tensor **out);

#endif
