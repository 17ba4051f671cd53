/* shufflecl_ext.h: the unstable side of the API, for tools and tests: program builds, the
 * explicit-copy mode, cache locations. It may change in any release; shufflecl.h does not change
 * within a minor version. */
#ifndef SHUFFLECL_EXT_H
#define SHUFFLECL_EXT_H

#include "shufflecl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds (or fetches from cache) the program for one embedded kernel file, e.g. "pointwise.cl",
 * with extra build options such as "-DCO_TILE=8". The program is owned by the context. */
SCL_API scl_status scl_context_build(scl_context *ctx, const char *file, const char *options,
                                     cl_program *out);

/* Builds a program from caller-provided source (not cached on disk). */
SCL_API scl_status scl_context_build_source(scl_context *ctx, const char *name, const char *source,
                                            const char *options, cl_program *out);

/* Writes the binary of every program this context compiled (not those it read from the disk
 * cache) to the disk cache, once the queued launches finish. The context does so itself when it
 * is destroyed; a long-lived context may call this after its first inference, so that other
 * processes find the binaries sooner. A binary holds the machine code that the driver has made
 * for the program by then (on PoCL: a work-group function for each work-group size launched),
 * so it is best saved after the first inference; each program is saved once. */
SCL_API scl_status scl_context_save_programs(scl_context *ctx);

/* The program cache directory in use (NULL when the disk cache is off). */
SCL_API const char *scl_context_cache_dir(const scl_context *ctx);

/* Rebuilds the network with every shuffle, split and concat as a copy launch (on) or as channel
 * maps (off, the default): the baseline of the bench's ablation. Before weights are loaded. */
SCL_API scl_status scl_network_set_explicit_copies(scl_network *net, int on);

/* ---- half-precision storage ---- */

/* A tensor stored as `storage`: SCL_PRECISION_FLOAT32 (DEFAULT), as scl_tensor_create makes, or
 * SCL_PRECISION_HALF_STORAGE (16-bit halves). Uploads and downloads take floats either way,
 * converted with round to nearest even. */
SCL_API scl_status scl_tensor_create_ex(scl_context *ctx, int n, int c, int h, int w,
                                        scl_precision storage, scl_tensor **out);
/* SCL_PRECISION_FLOAT32 or SCL_PRECISION_HALF_STORAGE. */
SCL_API scl_precision scl_tensor_storage(const scl_tensor *t);

/* ---- op families: the descriptors of their configuration spaces ---- */

/* The shape of one op: `kind` is 0, except pool (0 max, 1 avg) and shuffle (1 inverse); stride
 * and flags (SCL_OP_RELU, SCL_OP_RESIDUAL) as for the family's create. */
typedef struct scl_op_shape {
    size_t size; /* sizeof(scl_op_shape), set by the caller */
    int kind, cin, cout, groups, stride, flags;
    /* SCL_PRECISION_DEFAULT / FLOAT32, or HALF_STORAGE: the op's weights and the tensors it
     * reads and writes hold halves (the stem's input and the head's logits stay float). */
    scl_precision precision;
} scl_op_shape;

/* Families 0 .. scl_op_family_count() - 1: "pointwise", "depthwise", "stem", "pool", "head",
 * "shuffle". scl_op_family_find gives -1 for an unknown name. */
SCL_API int scl_op_family_count(void);
SCL_API const char *scl_op_family_name(int family);
SCL_API int scl_op_family_find(const char *name);
/* How many values a configuration of the family has. */
SCL_API int scl_op_family_tunables(int family);
/* The configurations the tuner tries for a shape on ctx's device, valid there: the device's
 * default first, then the default with one tunable changed to each of its probes. Writes up to
 * cap rows of scl_op_family_tunables values into `values`; returns how many (or a negative
 * status). */
SCL_API int scl_op_family_samples(scl_context *ctx, int family, const scl_op_shape *shape,
                                  int *values, int cap);
/* "vec=8 co_tile=4": a configuration as text. */
SCL_API scl_status scl_op_family_describe(int family, const int *values, char *text, size_t cap);
/* How many weights and biases the family's create reads for the shape. */
SCL_API scl_status scl_op_family_weights(int family, const scl_op_shape *shape, size_t *weights,
                                         size_t *biases);
/* The shape (family "unit") of the fused unit whose first layer is `layer`: its kind (0
 * torchvision, 1 Megvii, 2 V1, 3 V1 with an ungrouped first conv), channels, V1's groups, stride
 * and the network's precision. SCL_ERROR_INVALID_ARGUMENT for a layer that starts no unit. */
SCL_API scl_status scl_network_unit_shape(const scl_network *net, int layer, scl_op_shape *out);
/* An op of the shape with exactly this configuration (validated against the descriptor and the
 * device; the tuning table is not consulted). */
SCL_API scl_status scl_op_create_config(scl_context *ctx, int family, const scl_op_shape *shape,
                                        const int *values, const float *weights, const float *bias,
                                        scl_op **out);

/* ---- the auto-tuner (`shufflecl tune`) ---- */
typedef void (*scl_tune_progress)(const char *line, void *user);

typedef struct scl_tune_report {
    size_t size;       /* sizeof(scl_tune_report), set by the caller */
    int shapes;        /* distinct layer shapes tuned */
    int candidates;    /* configurations timed */
    int rejected;      /* candidates whose output differed from the default's */
    int improved;      /* shapes whose winner beat the default: the entries written */
    double default_ms; /* sum over shapes of the default configuration's time */
    double tuned_ms;   /* sum over shapes of the kept configuration's time */
    char path[4096];   /* the tuning file written */
} scl_tune_report;

/* Tunes every layer shape of the preset `model` at n x 3 x h x w whose op family is in
 * `families` (comma-separated descriptor names, e.g. "pointwise,depthwise,head"; NULL:
 * pointwise, depthwise and unit, the fused units, whose candidates include running the unit
 * layer by layer): the candidates are the descriptors' (one tunable changed at a time from the
 * device's default), each judged against the default timed right after it, and rejected if its
 * output differs. Writes the device's tuning file, keeping what it holds for other shapes and
 * sizes. Needs a profiling queue and a cache directory. */
SCL_API scl_status scl_tune_model(scl_context *ctx, const char *model, int n, int h, int w,
                                  const char *families, scl_tune_progress progress, void *user,
                                  scl_tune_report *report);
/* The same for any model description (e.g. one read by scl_model_desc_from_file). */
SCL_API scl_status scl_tune_desc(scl_context *ctx, const scl_model_desc *desc, int n, int h, int w,
                                 const char *families, scl_tune_progress progress, void *user,
                                 scl_tune_report *report);
/* The same for the ops of a network of that precision (SCL_PRECISION_HALF_STORAGE tunes the
 * half-storage kernels, kept in their own entries of the tuning file). */
SCL_API scl_status scl_tune_desc_ex(scl_context *ctx, const scl_model_desc *desc, int n, int h,
                                    int w, const char *families, scl_precision precision,
                                    scl_tune_progress progress, void *user,
                                    scl_tune_report *report);

#ifdef __cplusplus
}
#endif
#endif /* SHUFFLECL_EXT_H */
