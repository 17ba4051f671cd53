/* op.h: the private side of scl_op. Each op family (op_pointwise.c, op_depthwise.c, ...) fills
 * an scl_op_class; op.c does the checks every launch shares and calls the family's launch. */
#ifndef SCL_OP_H
#define SCL_OP_H

#include "core/internal.h"

/* Device tables resolved for one launch (NULL maps already replaced by identity tables). */
typedef struct scl_op_io {
    cl_mem in_map, out_map, residual_map;
} scl_op_io;

typedef struct scl_op_class {
    const char *family; /* "pointwise", "depthwise", ... */
    void (*output_hw)(const scl_op *op, int h, int w, int *oh, int *ow);
    /* Sets the kernel's arguments and enqueues it; the args are already validated. */
    scl_status (*launch)(scl_op *op, const scl_op_args *a, const scl_op_io *io);
    void (*destroy)(scl_op *op); /* optional: family-owned extras */
} scl_op_class;

struct scl_op {
    scl_context *ctx;
    const scl_op_class *cls;
    int cin, cout; /* logical channels read and written */
    int groups, stride, flags;
    int out_h_fixed; /* output is N x cout x 1 x 1 whatever the input (gap_fc) */
    cl_kernel kernel;
    cl_mem weights, bias;
    char kernel_name[64];
    char options[256];
    cl_uint dims;
    size_t global[3], local[3];
    int use_local;
    int tuned;     /* made with a configuration from the tuning table */
    int half;      /* half storage: weights and activations are halves (kernels: -DSCL_HALF=1) */
    int in_float;  /* the input stays float under half storage (the stem: the caller's image) */
    int out_float; /* the output stays float under half storage (the head: the logits) */
    struct scl__op_sizes *sizes; /* per-input-size tuned variants (ops/desc.c), or NULL */
    void *extra;
    /* Ops that run two kernels per enqueue (the two-phase head) record the first here; the
     * fields above describe the last. */
    int nlaunch; /* kernels per enqueue: 1 or 2 */
    char pre_kernel_name[64];
    cl_uint pre_dims;
    size_t pre_global[3];
    /* During scl__op_enqueue_events: one event slot per launch, else NULL. */
    cl_event *launch_events;
};

/* For an op whose shape has tuning entries for given input sizes: *run gets the op to launch
 * for an input of h x w (op itself, or a variant made on first use with that size's entry).
 * Never fails for a bad entry (skipped with a warning); only out of host memory. */
scl_status scl__op_for_size(scl_op *op, int h, int w, scl_op **run);
/* After run (a variant of op) launched: op reports run's kernel and geometry. */
void scl__op_mirror(scl_op *op, const scl_op *run);
void scl__op_sizes_free(scl_op *op);

/* 1 if op was made with a configuration from the context's tuning table. */
int scl__op_tuned(const scl_op *op);
/* The build options of op's kernel (the last one used, for families with several). */
const char *scl__op_options(const scl_op *op);

/* Allocates an op and uploads weights (nw values: floats, or with half their halves) and bias
 * (nb floats, or zeros when bias is NULL and nb > 0). */
scl_status scl__op_new(scl_context *ctx, const scl_op_class *cls, const char *fn, int half,
                       const float *weights, size_t nw, const float *bias, size_t nb, scl_op **out);
/* Appends -DSCL_HALF=1 to op->options for a half-storage op (once). */
void scl__op_storage_option(scl_op *op);
/* Builds file with options and creates the named kernel into op. */
scl_status scl__op_kernel(scl_op *op, const char *file, const char *kernel, const char *options);
/* Sets kernel argument i, recording which argument failed. */
scl_status scl__op_arg(scl_op *op, cl_uint i, size_t size, const void *value);
/* scl_op_enqueue that also gives one event per launch (op->nlaunch of them) for profiles. */
scl_status scl__op_enqueue_events(scl_op *op, const scl_op_args *a, cl_event *events);
/* The event slot for launch j of the current enqueue (NULL when the caller wants none). */
cl_event *scl__op_event_slot(scl_op *op, const scl_op_args *a, int j);

/* Enqueues op->kernel over op->global (and op->local when use_local), with the wait list and
 * event of the args. */
scl_status scl__op_run(scl_op *op, const scl_op_args *a);

/* Ends a create: on failure (st) prefixes the message with fn and destroys op; on success hands
 * op to *out. Returns st. */
scl_status scl__op_created(scl_op *op, scl_status st, const char *fn, scl_op **out);

/* Rounds x up to a multiple of m; m = 0 (a size left to the runtime) leaves x as it is. */
size_t scl__round_up(size_t x, size_t m);

/* output_hw of the families whose every op halves the plane (stem, pools). */
void scl__op_hw_stride2(const scl_op *op, int h, int w, int *oh, int *ow);

/* The build options of the max and average pools' default configuration's program (pool.c;
 * the stem builds it with its own, stem.c). */
void scl__pool_default_options(const scl_context *ctx, char *buf, size_t cap);

/* Kernels of one op that differ only in vector width (1, 2, 4, 8 or 16), for families whose
 * launches pick the widest width that fits the input's rows. Each is built on first use, and
 * kept: op->kernel points at the last one used and owns none of them. */
typedef struct scl_op_variants {
    cl_kernel kernels[5]; /* index log2 vw */
    size_t wg_max[5];     /* CL_KERNEL_WORK_GROUP_SIZE of each */
} scl_op_variants;
/* Makes op->kernel the variant of width vw, building op->kernel_name from file with op->options
 * (which the caller has just set for vw: the program cache keys on them) if it is not built
 * yet; *wg_max (if not NULL) gets the largest work-group it can run. */
scl_status scl__op_use_variant(scl_op *op, scl_op_variants *v, const char *file, int vw,
                               size_t *wg_max);
/* Releases every variant built; op->kernel (one of them) is cleared. */
void scl__op_release_variants(scl_op *op, scl_op_variants *v);

/* Checks shared by the descriptors' family constraints (ops/desc.h), each failure
 * SCL_ERROR_INVALID_ARGUMENT with a message "<fn>: <name> = <value>, must be ...". */
/* A row segment: 0 (whole rows) or a positive multiple of the vector width vw. */
scl_status scl__check_seg(scl_context *ctx, const char *fn, int seg, int vw);
/* A shape integer (channels, classes) in lo..hi: "<fn>: <name> = <v>, must be lo to hi". */
scl_status scl__check_range(scl_context *ctx, const char *fn, const char *name, int v, int lo,
                            int hi);
/* A 2-D work-group size: both 0 (the runtime's or the family's choice), or both set with a
 * product the device allows. */
scl_status scl__check_local2(scl_context *ctx, const char *fn, const size_t local[2]);

/* The 2-D work-group local against wg_max, the CL_KERNEL_WORK_GROUP_SIZE of op's kernel. */
scl_status scl__check_kernel_local(scl_op *op, size_t wg_max, const size_t local[2],
                                   const char *fn);

/* For runtimes that size groups themselves (PoCL), which may run a small launch as one group
 * on one core: how many whole units (planes, rows) of `per` outputs and `items` work-items each
 * to put in a work-group, out of `units` in all: about `outputs` outputs per group, but at
 * least four groups per compute unit and at most wg_max work-items. */
size_t scl__op_units_per_group(const scl_op *op, size_t outputs, size_t per, size_t units,
                               size_t items, size_t wg_max);

/* A 1-D work-group along pixels (pointwise, shuffle): halves *local0 until op->kernel can run
 * it, the kernel's own limit being possibly below the device's (register-heavy kernels on
 * GPUs). On failure destroys op, with a message naming fn. */
scl_status scl__op_fit_local0(scl_op *op, size_t *local0, const char *fn);
/* Sets a launch's work-group from local0 (0: the runtime's) over op->global[0], clamped to it,
 * and rounds global[0] up to whole groups (OpenCL 1.2 wants them; the kernel drops the excess). */
void scl__op_local0(scl_op *op, size_t local0);

/* Sets consecutive arguments from a table, stopping at the first failure. */
typedef struct scl_karg {
    size_t size;
    const void *value;
} scl_karg;
#define SCL_KARG(v)                                                                                \
    { sizeof(v), &(v) }
scl_status scl__op_args(scl_op *op, const scl_karg *args, size_t n);

#endif
