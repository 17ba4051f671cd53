/* op.h: the private side of scl_op. Each op family (op_pointwise.c, op_depthwise.c, ...) fills
 * an scl_op_class; op.c does the checks every launch shares and calls the family's launch. */
#ifndef SCL_OP_H
#define SCL_OP_H

#include "internal.h"

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
    int cin, cout;     /* logical channels read and written */
    int groups, stride, flags;
    int out_h_fixed;   /* output is N x cout x 1 x 1 whatever the input (gap_fc) */
    cl_kernel kernel;
    cl_mem weights, bias;
    char kernel_name[64];
    char options[256];
    cl_uint dims;
    size_t global[3], local[3];
    int use_local;
    void *extra;
};

/* Allocates an op and uploads weights (nw floats) and bias (nb floats, or zeros when bias is
 * NULL and nb > 0). */
scl_status scl__op_new(scl_context *ctx, const scl_op_class *cls, const char *fn, const float *weights,
                       size_t nw, const float *bias, size_t nb, scl_op **out);
/* Builds file with options and creates the named kernel into op. */
scl_status scl__op_kernel(scl_op *op, const char *file, const char *kernel, const char *options);
/* Sets kernel argument i, recording which argument failed. */
scl_status scl__op_arg(scl_op *op, cl_uint i, size_t size, const void *value);
/* Enqueues op->kernel over op->global (and op->local when use_local), with the wait list and
 * event of the args. */
scl_status scl__op_run(scl_op *op, const scl_op_args *a);

/* Sets consecutive arguments from a table, stopping at the first failure. */
typedef struct scl_karg {
    size_t size;
    const void *value;
} scl_karg;
#define SCL_KARG(v) {sizeof(v), &(v)}
scl_status scl__op_args(scl_op *op, const scl_karg *args, size_t n);

#endif
