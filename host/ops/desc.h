/* desc.h: one descriptor per op family, the single source of truth for its kernels and tunables:
 * the tests, the tuning search of the tool and op creation (which consults the tuning table)
 * all iterate it. Each family's .c file defines its descriptor. */
#ifndef SCL_OP_DESC_H
#define SCL_OP_DESC_H

#include "core/internal.h"

#define SCL__MAX_TUNABLES 8
#define SCL__MAX_KEY 6

/* One knob. Allowed values: the list `values` (nvalues of them), or lo..hi by step when values
 * is NULL. `probes` (nprobes) is the deterministic subset that the tests and the tuning search
 * try; NULL: every value of the list (a range always names its probes). */
typedef struct scl__tunable {
    const char *name;   /* as in error messages, e.g. "vw" */
    const char *option; /* the -D build option it sets, or NULL for a launch parameter */
    const int *values;
    int nvalues;
    int lo, hi, step;
    const int *probes;
    int nprobes;
} scl__tunable;

/* The create arguments that shape an op (everything but the weights). */
typedef struct scl__op_shape {
    int kind; /* pool: 0 max, 1 avg; shuffle: 1 inverse; others 0 */
    int cin, cout, groups, stride, flags;
    int half; /* 1: half storage (the op's weights and tensors hold halves), 0: float32 */
} scl__op_shape;

/* ctx's device; without a context, a CPU with 16-float vectors (AVX-512, as measured in
 * docs/kernels.md). */
const scl_device_info *scl__dev_or_cpu(const scl_context *ctx);
/* The float vector width of the CPU kernels' register tiles and rows: the device's native
 * width (16 on AVX-512, 8 on AVX2, 4 on NEON) in 4 .. 16; 16 where the device gives none. */
int scl__cpu_vec(const scl_device_info *dev);
/* Output channels per register tile of the fused units' 1x1 convs, two tiles of scl__cpu_vec
 * pixels side by side: 8 (16 accumulators) where the ISA has 32 vector registers (AVX-512,
 * NEON), 6 with AVX2's 16, where 16 accumulators and the loads spill. */
int scl__cpu_co_tile(const scl_device_info *dev);

typedef struct scl__op_desc {
    const char *family;  /* the name in the tuning table and in messages */
    const char *cl_file; /* under cl/ */
    const char *const *kernels;
    int nkernels;
    const scl__tunable *tunables;
    int ntunables;
    /* The device's configuration for a shape (by its type and, on CPUs, its vector width):
     * what the public create uses when the tuning table has nothing valid for it. */
    void (*defaults)(const scl_device_info *dev, const scl__op_shape *s, int *vals);
    /* Family constraints beyond each value's own (e.g. seg a multiple of vw) and the device's
     * limits; the allowed values are already checked. fn names the caller in messages. */
    scl_status (*check)(scl_context *ctx, const scl__op_shape *s, const int *vals, const char *fn);
    /* Makes an op of the shape with the configuration vals (validated inside, as any create
     * does: a bad one is SCL_ERROR_INVALID_ARGUMENT naming the tunable and value). */
    scl_status (*create)(scl_context *ctx, const scl__op_shape *s, const float *w, const float *b,
                         const int *vals, scl_op **out);
    /* How many weights and biases create reads for the shape (0 0: none). */
    void (*weight_counts)(const scl__op_shape *s, size_t *nw, size_t *nb);
} scl__op_desc;

extern const scl__op_desc scl__pointwise_desc, scl__depthwise_desc, scl__stem_desc, scl__pool_desc,
    scl__head_desc, scl__shuffle_desc, scl__unit_desc;
/* Every descriptor, NULL-terminated. */
extern const scl__op_desc *const scl__op_descs[];

/* Validates a configuration: each value against its tunable's allowed values, then the family's
 * constraints and the device's limits. SCL_ERROR_INVALID_ARGUMENT with "<fn>: <name> = <value>,
 * must be ..." on the first failure. */
scl_status scl__desc_validate(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                              const int *vals, const char *fn);
/* 1 if v is an allowed value of t. */
int scl__tunable_allows(const scl__tunable *t, int v);
/* The i-th probe of t (i < scl__tunable_nprobes(t)). */
int scl__tunable_nprobes(const scl__tunable *t);
int scl__tunable_probe(const scl__tunable *t, int i);

/* The precision column of the shape's tuning entries: "f32", or "f16s" for half storage. */
const char *scl__desc_precision(const scl__op_shape *s);
/* The tuning key of a shape (SCL__MAX_KEY ints: kind cin cout groups stride flags). */
void scl__desc_key(const scl__op_shape *s, int key[SCL__MAX_KEY]);

/* For op creation: fills vals with the configuration for shape s on ctx's device: the tuning
 * table's entry for it if there is a valid one (then returns 1), else the device type's default
 * (returns 0). An entry that does not validate is skipped with a warning naming the tuning file
 * and the entry. */
int scl__desc_resolve(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s, int *vals);

/* What the public creates do: the op of shape s made with scl__desc_resolve's configuration.
 * A tuned configuration that the device refuses once built (a work-group over the kernel's
 * own limit) is dropped with a warning, and the default used. Counts tuned ops in
 * ctx->tuned_ops and marks them (scl__op_tuned). When the table also has entries for the shape
 * measured at given input sizes, the op keeps a copy of its weights and, at each launch on one
 * of those sizes, runs a variant made (on first use) with that size's entry. */
scl_status scl__desc_create(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                            const float *w, const float *b, scl_op **out);

/* Deterministic configurations to test or search, for shape s on ctx's device, valid there:
 * - SCL__SAMPLE_SPREAD: both device types' defaults, then configurations drawn from the
 *   product of every tunable's probes by a fixed pseudo-random sequence, up to cap in all;
 * - SCL__SAMPLE_AXES: ctx's default, then the default with one tunable changed to each of its
 *   probes in turn (one knob at a time: the tuning search).
 * Returns how many were written to vals (cap rows of SCL__MAX_TUNABLES). */
typedef enum scl__sample_mode { SCL__SAMPLE_SPREAD, SCL__SAMPLE_AXES } scl__sample_mode;
int scl__desc_samples(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                      scl__sample_mode mode, int (*vals)[SCL__MAX_TUNABLES], int cap);

/* "vw 16 th 4 ..." for messages and reports. */
void scl__desc_format(const scl__op_desc *d, const int *vals, char *out, size_t cap);

#endif
