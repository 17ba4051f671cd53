/* shufflecl.h: public C API of shufflecl, ShuffleNet V1/V2 inference on any OpenCL device.
 *
 * Conventions
 * - Every handle is opaque, made by a *_create function and released by its *_destroy;
 *   destroy(NULL) is a no-op.
 * - Every fallible function returns an scl_status: SCL_OK (0), one of OpenCL's own negative
 *   codes passed through, or a library code (SCL_ERROR_*, from -10001 down, clear of
 *   OpenCL's extension and vendor codes).
 * - The detail of a failure (function, OpenCL error name, build log, file and tensor names) is
 *   kept by the context: scl_last_error(ctx). Failures that happen before a context exists
 *   (device choice, context creation) or without one (a NULL handle) are kept per thread:
 *   scl_last_error(NULL). A failing call replaces the message; a successful call leaves it as
 *   it was, so the status says whether there is news, and the message says what it is.
 * - The library never prints (unless a log callback is set), never aborts and never exits.
 * - Every struct the caller allocates for the library to fill or read starts with `size_t size`,
 *   which the caller sets to sizeof the struct before the call:
 *       scl_network_stats s = {.size = sizeof s};
 *   The library reads or writes only that many bytes, so later releases can add fields at the
 *   end without breaking programs built against earlier headers. A size smaller than the
 *   struct's first released layout is refused with SCL_ERROR_INVALID_ARGUMENT.
 * - Sizes: kernels index with 32-bit ints, so a tensor, an input batch and every activation
 *   hold under 2^31 floats, channel counts and planes are below 2^31 / SCL_PLANE_ALIGN, and an
 *   op's weights number under 2^31; larger sizes are refused with SCL_ERROR_INVALID_ARGUMENT
 *   (the message names them) before anything is read, written or allocated. (A tensor's and
 *   an activation's device buffer hold 32 elements more, past the last plane, for the vector
 *   loads of the fused units; they count towards the 2^31.)
 *
 * Threads: a context and everything made on it (tensors, channel maps, ops, networks) must be
 * used by one thread at a time; separate contexts may be used from separate threads freely.
 * scl_status_string(), scl_version() and the device listing functions are thread-safe.
 *
 * Tensors are NCHW float32. On the device each channel is a plane of H*W floats padded to a
 * pitch of SCL_PLANE_ALIGN floats; upload and download take and give densely packed NCHW.
 */
#ifndef SHUFFLECL_H
#define SHUFFLECL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "shufflecl_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of these headers; scl_version_number() gives the library's own, at run time.
 * 0.x releases may change the ABI: the shared library's SONAME carries MAJOR.MINOR. */
#define SCL_VERSION_MAJOR 0
#define SCL_VERSION_MINOR 2
#define SCL_VERSION_PATCH 0
#define SCL_VERSION_NUMBER (SCL_VERSION_MAJOR * 10000 + SCL_VERSION_MINOR * 100 + SCL_VERSION_PATCH)
#define SCL_PLANE_ALIGN 16 /* plane pitch on the device, in floats */

/* ---- status codes ------------------------------------------------------------------------ */

typedef enum scl_status {
    SCL_OK = 0,
    /* OpenCL's own codes (CL_OUT_OF_RESOURCES = -5, ...) are passed through unchanged. */
    SCL_ERROR_INVALID_ARGUMENT = -10001,  /* a null pointer, a bad number, a bad option */
    SCL_ERROR_SHAPE_MISMATCH = -10002,    /* tensors or maps whose shapes do not fit the op */
    SCL_ERROR_FILE_IO = -10003,           /* a file could not be opened, read or written */
    SCL_ERROR_FILE_FORMAT = -10004,       /* a file is malformed (weights, .npy, image, cache) */
    SCL_ERROR_UNSUPPORTED_MODEL = -10005, /* an unknown model name */
    SCL_ERROR_OUT_OF_MEMORY = -10006,     /* host allocation failed */
    SCL_ERROR_NO_DEVICE = -10007,         /* no OpenCL device matches the request */
    SCL_ERROR_BUILD_FAILED = -10008,      /* a kernel did not compile: the log is in the message */
    SCL_ERROR_UNSUPPORTED = -10009,       /* the device lacks something the request needs */
    SCL_ERROR_WEIGHTS = -10010            /* weights missing, misnamed, misshaped or not finite */
} scl_status;

/* A static, never-NULL text for any status, OpenCL's codes included ("CL_OUT_OF_RESOURCES"). */
SCL_API const char *scl_status_string(int status);
/* "MAJOR.MINOR.PATCH" */
SCL_API const char *scl_version(void);
/* MAJOR * 10000 + MINOR * 100 + PATCH of the library linked at run time (compare with
 * SCL_VERSION_NUMBER, the headers compiled against). */
SCL_API int scl_version_number(void);

/* ---- devices ----------------------------------------------------------------------------- */

typedef enum scl_device_type {
    SCL_DEVICE_CPU = 1,
    SCL_DEVICE_GPU = 2,
    SCL_DEVICE_ACCELERATOR = 4,
    SCL_DEVICE_OTHER = 8
} scl_device_type;

typedef struct scl_device_info {
    size_t size;                      /* sizeof(scl_device_info), set by the caller */
    int platform_index, device_index; /* the "P:D" that selects this device */
    char platform_name[128];
    char platform_version[128];
    char name[128];
    char vendor[128];
    char driver_version[128];
    char device_version[128];
    char opencl_c_version[128];
    scl_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    int fp16, fp64;          /* cl_khr_fp16 / double support */
    int host_unified_memory; /* CL_DEVICE_HOST_UNIFIED_MEMORY: CPUs and integrated GPUs */
    /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: floats per SIMD register (PoCL: 16 with AVX-512, 8
     * with AVX2, 4 with NEON); 1 on most GPUs. The CPU kernels' vector width follows it. */
    unsigned native_float_width;
} scl_device_info;

/* Lists every device of every platform. Writes up to `capacity` entries and the total count.
 * `out` may be NULL with capacity 0 to ask for the count; otherwise every entry's size must be
 * set (the same for all: entries lie that many bytes apart). */
SCL_API scl_status scl_device_list(scl_device_info *out, int capacity, int *count);

/* Resolves a device specification to one device:
 *   NULL or ""        the environment's SHUFFLECL_DEVICE if set, else the first GPU, else the
 *                     first device;
 *   "P:D"             platform P, device D (as in scl_device_list);
 *   "cpu"|"gpu"|"accelerator"  the first device of that type;
 *   anything else     the first device whose name, vendor or platform name contains it
 *                     (case-insensitive). */
SCL_API scl_status scl_device_find(const char *spec, scl_device_info *out);

/* ---- contexts ---------------------------------------------------------------------------- */

typedef struct scl_context scl_context;

typedef enum scl_log_level {
    SCL_LOG_DEBUG,
    SCL_LOG_INFO,
    SCL_LOG_WARN,
    SCL_LOG_ERROR
} scl_log_level;
typedef void (*scl_log_fn)(scl_log_level level, const char *message, void *user);

/* Creates a context and a profiling-enabled in-order queue on the device named by `spec`
 * (see scl_device_find). */
SCL_API scl_status scl_context_create(const char *spec, scl_context **out);

/* Wraps a caller's context and queue without owning them (they are retained, and released on
 * destroy). The queue's device is used. Per-layer profiling needs a queue made with
 * CL_QUEUE_PROFILING_ENABLE; everything else works on any in-order queue. */
SCL_API scl_status scl_context_wrap(cl_context context, cl_command_queue queue, scl_context **out);

SCL_API void scl_context_destroy(scl_context *ctx);

/* The message of the last failure on `ctx` (or, for NULL, of this thread's last failure
 * outside any context). Never NULL; "" when nothing failed. Valid until the next call. */
SCL_API const char *scl_last_error(const scl_context *ctx);

SCL_API void scl_context_set_log(scl_context *ctx, scl_log_fn fn, void *user);
SCL_API scl_status scl_context_device_info(const scl_context *ctx, scl_device_info *out);
SCL_API cl_context scl_context_cl_context(const scl_context *ctx);
SCL_API cl_command_queue scl_context_cl_queue(const scl_context *ctx);
SCL_API cl_device_id scl_context_cl_device(const scl_context *ctx);
SCL_API scl_status scl_context_finish(scl_context *ctx);

/* Program binary cache directory. Default: $SHUFFLECL_CACHE_DIR, else
 * $XDG_CACHE_HOME/shufflecl, else ~/.cache/shufflecl; SHUFFLECL_CACHE_DIR=off disables it.
 * `dir` NULL disables the disk cache for this context. */
SCL_API scl_status scl_context_set_cache_dir(scl_context *ctx, const char *dir);

/* Counters of the program cache since the context was made. */
typedef struct scl_cache_stats {
    size_t size;           /* sizeof(scl_cache_stats), set by the caller */
    unsigned memory_hits;  /* builds answered from the in-memory cache */
    unsigned disk_hits;    /* programs loaded from a binary on disk */
    unsigned disk_writes;  /* binaries written to disk */
    unsigned compiles;     /* programs compiled from source */
    unsigned disk_rejects; /* cache files ignored as corrupt, truncated or mismatched */
} scl_cache_stats;
SCL_API scl_status scl_context_cache_stats(const scl_context *ctx, scl_cache_stats *out);

/* ---- tensors ----------------------------------------------------------------------------- */

typedef struct scl_tensor scl_tensor;

/* An N x C x H x W float32 tensor on the context's device (contents undefined). */
SCL_API scl_status scl_tensor_create(scl_context *ctx, int n, int c, int h, int w,
                                     scl_tensor **out);
SCL_API void scl_tensor_destroy(scl_tensor *t);
SCL_API void scl_tensor_shape(const scl_tensor *t, int *n, int *c, int *h, int *w);
/* `count` must equal N*C*H*W; data is dense NCHW. Blocking. */
SCL_API scl_status scl_tensor_upload(scl_tensor *t, const float *data, size_t count);
SCL_API scl_status scl_tensor_download(const scl_tensor *t, float *data, size_t count);
/* Sets every element, padding included, to `value` (tests poison outputs with NaN). */
SCL_API scl_status scl_tensor_fill(scl_tensor *t, float value);
SCL_API cl_mem scl_tensor_cl_mem(const scl_tensor *t);
SCL_API size_t scl_tensor_pitch(const scl_tensor *t); /* elements between planes */

/* ---- channel maps ------------------------------------------------------------------------ */

/* A channel map says, for logical channel c of an op's input or output, which plane (channel)
 * of the physical tensor holds it. Shuffle, split and concat are nothing but maps: kernels read
 * their inputs and write their outputs through them, and no data moves. */
typedef struct scl_chanmap scl_chanmap;

/* planes[c] = offset + c * stride, for c in [0, channels) (split halves, concat slots, even/odd) */
SCL_API scl_status scl_chanmap_create_strided(scl_context *ctx, int channels, int offset,
                                              int stride, scl_chanmap **out);
/* The channel shuffle of y = shuffle(x, groups), read as a map from y's channels to x's planes:
 * not inverse: x viewed as (groups, n), transposed:  y[j*groups + i] = x[i*n + j];
 * inverse:     x viewed as (n, groups), transposed:  y[i*n + j] = x[j*groups + i]. */
SCL_API scl_status scl_chanmap_create_shuffle(scl_context *ctx, int channels, int groups,
                                              int inverse, scl_chanmap **out);
/* An explicit table: planes[c] for c in [0, channels), each >= 0. */
SCL_API scl_status scl_chanmap_create_table(scl_context *ctx, int channels, const int *planes,
                                            scl_chanmap **out);
/* Composition: result[c] = outer[inner[c]] (read inner's logical channel through outer). */
SCL_API scl_status scl_chanmap_compose(scl_context *ctx, const scl_chanmap *outer,
                                       const scl_chanmap *inner, scl_chanmap **out);
SCL_API void scl_chanmap_destroy(scl_chanmap *m);
SCL_API int scl_chanmap_channels(const scl_chanmap *m);
SCL_API int scl_chanmap_plane(const scl_chanmap *m, int c); /* -1 when c is out of range */

/* ---- ops --------------------------------------------------------------------------------- */

/* An op is one kernel launch with its weights on the device and its program built: made once,
 * enqueued many times. Every op reads `in` through `in_map` and writes `out` through `out_map`
 * (NULL = identity over the tensor's channels). Launchers check every shape and map and return
 * SCL_ERROR_SHAPE_MISMATCH / SCL_ERROR_INVALID_ARGUMENT without launching anything. */
typedef struct scl_op scl_op;

enum {
    SCL_OP_RELU = 1,    /* fused ReLU on the output */
    SCL_OP_RESIDUAL = 2 /* pointwise: add args->residual (through residual_map) before ReLU */
};

/* Grouped 1x1 conv: out[co] = act(bias[co] + sum_k W[co][k] * in[(co / (cout/groups)) *
 * (cin/groups) + k]
 * (+ residual[co])). weights: cout x (cin/groups); bias: cout or NULL (zeros). */
SCL_API scl_status scl_op_pointwise_create(scl_context *ctx, int cin, int cout, int groups,
                                           int flags, const float *weights, const float *bias,
                                           scl_op **out);
/* Depthwise 3x3 conv, pad 1, stride 1 or 2. weights: c x 3 x 3; bias: c or NULL. */
SCL_API scl_status scl_op_depthwise_create(scl_context *ctx, int channels, int stride, int flags,
                                           const float *weights, const float *bias, scl_op **out);
/* Stem: 3x3 conv stride 2 pad 1, 3 -> cout channels, bias, ReLU. weights: cout x 3 x 3 x 3. */
SCL_API scl_status scl_op_stem_create(scl_context *ctx, int cout, const float *weights,
                                      const float *bias, scl_op **out);
/* 3x3 stride 2 pad 1 pooling over `channels` channels. Max: padding never wins. Average: the sum
 * of the in-bounds taps divided by 9 everywhere (PyTorch's count_include_pad=True). */
SCL_API scl_status scl_op_maxpool_create(scl_context *ctx, int channels, scl_op **out);
SCL_API scl_status scl_op_avgpool_create(scl_context *ctx, int channels, scl_op **out);
/* Global average pool then fully connected: out[n][k] = bias[k] + sum_c W[k][c] *
 * mean_hw(in[n][c]). The output tensor is N x classes x 1 x 1. weights: classes x cin; bias may be
 * NULL. */
SCL_API scl_status scl_op_gap_fc_create(scl_context *ctx, int cin, int classes,
                                        const float *weights, const float *bias, scl_op **out);
/* Explicit channel shuffle that moves data: out = shuffle(in, groups) (see
 * scl_chanmap_create_shuffle for `inverse`). The baseline the zero-copy maps replace. */
SCL_API scl_status scl_op_shuffle_create(scl_context *ctx, int channels, int groups, int inverse,
                                         scl_op **out);

typedef struct scl_op_args {
    size_t size; /* sizeof(scl_op_args), set by the caller */
    const scl_tensor *in;
    const scl_chanmap *in_map;
    const scl_tensor *residual; /* SCL_OP_RESIDUAL only */
    const scl_chanmap *residual_map;
    scl_tensor *out;
    const scl_chanmap *out_map;
    cl_uint num_wait_events; /* optional */
    const cl_event *wait_events;
    cl_event *event; /* optional: receives the launch's event (caller releases) */
} scl_op_args;

SCL_API scl_status scl_op_enqueue(scl_op *op, const scl_op_args *args);
SCL_API void scl_op_destroy(scl_op *op);
/* Output spatial size for an input of h x w. */
SCL_API void scl_op_output_hw(const scl_op *op, int h, int w, int *oh, int *ow);
/* The kernel name and global/local sizes of the last launch (for profiles). */
SCL_API const char *scl_op_kernel_name(const scl_op *op);
/* Kernels one enqueue of the op launches (1, or 2 for a two-phase head). */
SCL_API int scl_op_launch_count(const scl_op *op);
SCL_API void scl_op_last_launch(const scl_op *op, size_t global[3], size_t local[3]);

/* How the weights expect pictures to be prepared. */
typedef enum scl_preprocess {
    SCL_PREPROCESS_UNKNOWN = 0,     /* an ONNX file that does not say (see docs/models.md) */
    SCL_PREPROCESS_TORCHVISION = 1, /* RGB / 255, then (x - mean) / std with ImageNet's mean, std */
    SCL_PREPROCESS_MEGVII = 2       /* BGR planes, values 0..255 as they are */
} scl_preprocess;

/* ---- model descriptions (docs/models.md) ---------------------------------------------------- */

typedef enum scl_family { SCL_FAMILY_V1 = 1, SCL_FAMILY_V2 = 2 } scl_family;

/* Whose structure and state_dict key names a model follows. */
typedef enum scl_layout {
    SCL_LAYOUT_TORCHVISION_V2 =
        1,                    /* torchvision ShuffleNetV2: conv1, stageS.U.branch1/2, conv5, fc */
    SCL_LAYOUT_MEGVII_V1 = 2, /* Megvii ShuffleNetV1: first_conv, features.K.branch_main_1/2 */
    SCL_LAYOUT_MEGVII_V2 = 3  /* Megvii ShuffleNetV2: even/odd split, branch_main/branch_proj,
                               * conv_last, a bias-free classifier */
} scl_layout;

#define SCL_MODEL_STAGES 3
#define SCL_MODEL_MAX_WIDTH 16384 /* any channel count */
#define SCL_MODEL_MAX_REPEATS 256 /* units per stage */
#define SCL_MODEL_MAX_GROUPS 64   /* V1 */
#define SCL_MODEL_MAX_CLASSES 100000

/* A ShuffleNet, described: what scl_network_create_desc builds. The caller sets `size` to
 * sizeof(scl_model_desc) (this and every later release accept any size from the first released
 * layout's up; fields past the caller's size are left untouched on output). Every field is
 * checked, and a bad one refused with SCL_ERROR_INVALID_ARGUMENT and a message naming it. */
typedef struct scl_model_desc {
    size_t size;
    scl_family family; /* must agree with the layout */
    scl_layout layout;
    int stem_width;                      /* C1: the first 3x3 conv's output channels */
    int stage_widths[SCL_MODEL_STAGES];  /* S2, S3, S4 (even for V2) */
    int stage_repeats[SCL_MODEL_STAGES]; /* units per stage (the presets: 4, 8, 4) */
    int groups;                          /* V1: g (1 .. 64); V2: 0 (or 1) */
    int last_width;                      /* V2: C5 (conv5 / conv_last output channels); V1: 0 */
    int classes;                         /* 1 .. SCL_MODEL_MAX_CLASSES */
    scl_preprocess preprocess;
} scl_model_desc;

/* Model names: "v2_x0_5" ... "v2_x2_0" (torchvision semantics), "v1_g1_x1_0" ... (Megvii
 * semantics). scl_model_name(i) for i = 0, 1, ... until it returns NULL. */
SCL_API const char *scl_model_name(int i);
/* The description of a named preset (out->size set by the caller). SCL_ERROR_UNSUPPORTED_MODEL
 * for an unknown name (the message, in scl_last_error(NULL), lists the names). */
SCL_API scl_status scl_model_preset(const char *name, scl_model_desc *out);
/* One line for people, e.g. "Megvii V2: stem 24, stages 48x4 96x8 192x4, last 1024, 10 classes";
 * a preset's name leads when the description is one. Returns buf (truncated to cap). */
SCL_API const char *scl_model_desc_text(const scl_model_desc *desc, char *buf, size_t cap);
/* The architecture a weights file holds: from its tensor names and shapes (a safetensors file
 * in one of the layouts above) or its graph (ONNX); see scl_network_create_from_file. `ctx` only
 * keeps the message (NULL: scl_last_error(NULL)). */
SCL_API scl_status scl_model_desc_from_file(scl_context *ctx, const char *path,
                                            scl_model_desc *out);

/* ---- networks ---------------------------------------------------------------------------- */

/* A ShuffleNet on a context: its layers, its weights on the device (BN folded into the convs),
 * and, once a shape has been run, its activation buffers. Every shuffle, split and concat is
 * resolved into channel maps when the network is made: no launch only moves data. */
typedef struct scl_network scl_network;

typedef enum scl_precision {
    SCL_PRECISION_DEFAULT = 0, /* float32 */
    SCL_PRECISION_FLOAT32 = 1,
    /* "half": 16-bit arithmetic, for devices with cl_khr_fp16. Not offered yet: refused with
     * SCL_ERROR_UNSUPPORTED (saying whether the device has cl_khr_fp16). */
    SCL_PRECISION_FLOAT16 = 2,
    /* "half-storage": weights and activations stored as 16-bit halves (vload_half/vstore_half,
     * core OpenCL, so every device), every sum accumulated in float; biases, the caller's
     * input and the logits stay float32. About 1e-3 relative error (docs/precision.md). */
    SCL_PRECISION_HALF_STORAGE = 3
} scl_precision;

typedef enum scl_switch {
    SCL_SWITCH_DEFAULT = 0,
    SCL_SWITCH_ON = 1,
    SCL_SWITCH_OFF = 2
} scl_switch;

/* Options of the *_ex create calls. All zeros (after `size`) are the defaults; a NULL options
 * pointer means the defaults. `size` = sizeof(scl_network_options); later releases add fields
 * at the end. */
typedef struct scl_network_options {
    size_t size;
    scl_precision precision;
    scl_switch fused_kernels; /* each V2 unit one launch (default: on unless the environment
                                 has SHUFFLECL_FUSION=off); off: every layer its own launch */
    /* Batches run a block of this many images through every layer before the next block, so
     * that a block's activations stay in cache (the launches multiply: scl_network_launch_count).
     * 0: SHUFFLECL_BATCH_BLOCK if set, else the tuning table's choice for the batch size
     * (shufflecl tune --batch N), else the whole batch at once. */
    int batch_block;
} scl_network_options;

/* A named preset (scl_model_name), or NULL/"auto" refused: use scl_network_create_from_file. */
SCL_API scl_status scl_network_create(scl_context *ctx, const char *model, scl_network **out);
SCL_API scl_status scl_network_create_ex(scl_context *ctx, const char *model,
                                         const scl_network_options *opts, scl_network **out);
/* A network from a description built in code (no weights yet). */
SCL_API scl_status scl_network_create_desc(scl_context *ctx, const scl_model_desc *desc,
                                           scl_network **out);
SCL_API scl_status scl_network_create_desc_ex(scl_context *ctx, const scl_model_desc *desc,
                                              const scl_network_options *opts, scl_network **out);
/* Architecture and weights from one file, its format told by its content: a safetensors file
 * (8-byte header length, then '{') in a recognised layout, any widths, repeats, groups and
 * class count (scl_model_desc_from_file); or an ONNX model exported from one (torch.onnx.export,
 * opsets 9 to 17 tested; the graph evaluated into layers and proved to be the ShuffleNet its
 * layers describe: docs/models.md), refused with SCL_ERROR_UNSUPPORTED_MODEL naming the first
 * node that does not fit; anything else is SCL_ERROR_FILE_FORMAT naming both formats. A file in no
 * recognised layout is SCL_ERROR_UNSUPPORTED_MODEL naming what was expected and the first
 * tensor that fits none (with its shape); one whose units disagree is SCL_ERROR_WEIGHTS naming
 * the tensor. Every message names the file. */
SCL_API scl_status scl_network_create_from_file(scl_context *ctx, const char *path,
                                                scl_network **out);
SCL_API scl_status scl_network_create_from_file_ex(scl_context *ctx, const char *path,
                                                   const scl_network_options *opts,
                                                   scl_network **out);
/* What the network is (as built, or as inferred from a file); out->size set by the caller. */
SCL_API scl_status scl_network_get_desc(const scl_network *net, scl_model_desc *out);
SCL_API void scl_network_destroy(scl_network *net);

/* Loads an ONNX file of exactly this architecture (proved as scl_network_create_from_file
 * does), or a safetensors file in the model's own key layout (its scl_layout: torchvision's keys
 * for the V2 presets, Megvii's for V1; with or without DataParallel's "module." prefix). F32, F16
 * and BF16 are accepted. Refused with SCL_ERROR_WEIGHTS and a message naming the file and the
 * tensor: missing or unexpected tensors (all listed), wrong shapes (expected vs found), other
 * dtypes, and NaN or infinity anywhere (never silently loaded). BatchNorm (eps 1e-5) is folded into
 * the conv before it. On any failure the network keeps the weights it had before. */
SCL_API scl_status scl_network_load_weights(scl_network *net, const char *path);
/* Deterministic random weights (for benchmarks and tests) with realistic BN statistics. */
SCL_API scl_status scl_network_random_weights(scl_network *net, uint64_t seed);

/* Runs N images of 3 x H x W (dense NCHW float32, the weights' own preprocessing already
 * applied) and writes N x classes logits. Blocking. Any H, W >= 1 and N >= 1. */
SCL_API scl_status scl_network_run(scl_network *net, const float *input, int n, int h, int w,
                                   float *logits);
/* The same on device memory, without blocking: `input` holds N x 3 x H x W dense floats and
 * `logits` receives N x classes; waits for the wait list, and gives an event that completes
 * with the last launch (the caller releases it). */
SCL_API scl_status scl_network_enqueue(scl_network *net, cl_mem input, cl_mem logits, int n, int h,
                                       int w, cl_uint num_wait_events, const cl_event *wait_events,
                                       cl_event *event);

SCL_API int scl_network_classes(const scl_network *net);

SCL_API scl_preprocess scl_network_preprocess(const scl_network *net);
SCL_API const char *scl_preprocess_name(scl_preprocess p); /* "torchvision", "megvii" */

/* Plans and allocates everything an input of n x 3 x h x w needs (activation buffers, reused by
 * liveness) and lets ops choose their kernels for that shape. Run and enqueue on a shape not yet
 * planned reshape implicitly (the first run at a new shape pays for it); on the planned shape
 * they only bind arguments and launch. */
SCL_API scl_status scl_network_reshape(scl_network *net, int n, int h, int w);

typedef enum scl_op_kind {
    SCL_OP_KIND_STEM = 1,
    SCL_OP_KIND_MAXPOOL,
    SCL_OP_KIND_POINTWISE,
    SCL_OP_KIND_DEPTHWISE,
    SCL_OP_KIND_AVGPOOL,
    SCL_OP_KIND_GAP_FC,
    SCL_OP_KIND_SHUFFLE /* an explicit copy or shuffle (scl_network_set_explicit_copies) */
} scl_op_kind;
SCL_API const char *scl_op_kind_name(scl_op_kind k); /* "stem", "maxpool", ..., "unknown" */

typedef struct scl_layer_info {
    size_t size;   /* sizeof(scl_layer_info), set by the caller */
    char name[64]; /* the weight key prefix, e.g. "stage2.0.branch2.5" */
    scl_op_kind kind;
    int cin, cout, groups, stride;
    int residual;   /* adds a residual (V1's stride-1 units) */
    int in_h, in_w; /* for the h x w given to scl_network_layer_info */
    int out_h, out_w;
    int64_t params, macs;
} scl_layer_info;

SCL_API int scl_network_layer_count(const scl_network *net);
SCL_API scl_status scl_network_layer_info(const scl_network *net, int i, int h, int w,
                                          scl_layer_info *out);

/* One kernel launch of an inference. A layer may take more than one launch (the head pools,
 * then multiplies, on some devices), and one launch may cover several layers. */
typedef struct scl_launch_info {
    size_t size;                /* sizeof(scl_launch_info), set by the caller */
    char kernel[64];            /* the OpenCL kernel ("" before weights) */
    int first_layer, layers;    /* the layers it computes: [first_layer, first_layer + layers) */
    int64_t macs;               /* multiply-accumulates, for the images it runs: the batch, or
                                   with blocks (batch_block) a block */
    int64_t bytes;              /* bytes read and written: activations for those, plus weights */
    int64_t weight_bytes;       /* of which weights and biases */
    cl_uint dims;               /* the NDRange of its last enqueue (0 before any) */
    size_t global[3], local[3]; /* local all 0: the runtime chose */
} scl_launch_info;

/* Kernel launches per inference at the batch and shape reshaped for: with blocks
 * (scl_network_options.batch_block), the launches of a block times the blocks of the batch. */
SCL_API int scl_network_launch_count(const scl_network *net);
/* Launch i (0 .. scl_network_launch_count - 1) at the shape of the last reshape or run (with
 * blocks, launch i of every block is the same: the first block's is described). */
SCL_API scl_status scl_network_launch_info(const scl_network *net, int i, scl_launch_info *out);

typedef struct scl_network_stats {
    size_t size;             /* sizeof(scl_network_stats), set by the caller */
    int64_t params, macs;    /* per image, at the given h x w */
    size_t weight_bytes;     /* on the device */
    size_t activation_bytes; /* peak activation memory for the batch (or a block), after reuse */
    size_t min_bytes_moved;  /* per image: every layer's input read once, output written once */
    int launches;            /* kernel launches per inference (scl_network_launch_count) */
    int tuned_layers;        /* layers using an auto-tuned configuration (shufflecl tune) */
} scl_network_stats;
/* Figures for n x 3 x h x w. Pure: never changes the network's own plan. */
SCL_API scl_status scl_network_get_stats(const scl_network *net, int n, int h, int w,
                                         scl_network_stats *out);

/* Runs once with an event per launch and writes each launch's device time in milliseconds into
 * launch_ms (room for `capacity`; scl_network_launch_count entries are written). Needs a
 * profiling queue. */
SCL_API scl_status scl_network_profile(scl_network *net, const float *input, int n, int h, int w,
                                       double *launch_ms, int capacity);

#ifdef __cplusplus
}
#endif
#endif /* SHUFFLECL_H */
