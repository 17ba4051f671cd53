/* op.c: what every op shares: weight upload, argument checks before any launch, the launch
 * itself, and destruction. The families supply only their kernels' arguments and geometry. */
#include "ops/op.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* n values to a new read-only buffer: floats, or with half set their halves (weights of a
 * half-storage op); NULL data uploads zeros. */
static scl_status upload(scl_context *ctx, const float *data, size_t n, int half, cl_mem *out,
                         const char *what) {
    cl_int e;
    size_t el = half ? sizeof(uint16_t) : sizeof(float);
    void *staged = NULL;
    if (!data || half) {
        if (!(staged = calloc(n, el)))
            return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for %s", what);
        if (data) scl__half_from_floats(staged, data, n);
    }
    *out = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * el,
                          staged ? staged : (void *)data, &e);
    free(staged);
    if (e != CL_SUCCESS) {
        *out = NULL;
        char msg[128];
        snprintf(msg, sizeof msg, "uploading %s: clCreateBuffer", what);
        return scl__cl_fail(ctx, e, msg);
    }
    return SCL_OK;
}

scl_status scl__op_new(scl_context *ctx, const scl_op_class *cls, const char *fn, int half,
                       const float *weights, size_t nw, const float *bias, size_t nb,
                       scl_op **out) {
    if (nw > INT_MAX || nb > INT_MAX) /* kernels index weights with ints */
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: %zu weights and %zu biases, the "
                         "limit is %d each",
                         fn, nw, nb, INT_MAX);
    scl_op *op = calloc(1, sizeof *op);
    if (!op) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    op->ctx = ctx;
    op->cls = cls;
    op->nlaunch = 1;
    op->half = half;
    scl_status st = SCL_OK;
    /* the biases stay float: one per channel, they cost nothing and keep their precision */
    if (nw) st = upload(ctx, weights, nw, half, &op->weights, "weights");
    if (st == SCL_OK && nb) st = upload(ctx, bias, nb, 0, &op->bias, "bias");
    if (st != SCL_OK) {
        scl__prefix_error(ctx, "%s: ", fn);
        scl_op_destroy(op);
        return st;
    }
    *out = op;
    return SCL_OK;
}

scl_status scl__op_kernel(scl_op *op, const char *file, const char *kernel, const char *options) {
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s", kernel);
    snprintf(op->options, sizeof op->options, "%s", options);
    scl__op_storage_option(op);
    return scl__kernel_create(op->ctx, file, op->options, kernel, &op->kernel);
}

void scl__op_storage_option(scl_op *op) {
    static const char opt[] = " -DSCL_HALF=1";
    size_t len = strlen(op->options);
    if (!op->half ||
        (len >= sizeof opt - 1 && strcmp(op->options + len - (sizeof opt - 1), opt) == 0))
        return;
    snprintf(op->options + len, sizeof op->options - len, "%s", opt);
}

scl_status scl__op_arg(scl_op *op, cl_uint i, size_t size, const void *value) {
    cl_int e = clSetKernelArg(op->kernel, i, size, value);
    if (e == CL_SUCCESS) return SCL_OK;
    char what[128];
    snprintf(what, sizeof what, "clSetKernelArg(%s, %u)", op->kernel_name, i);
    return scl__cl_fail(op->ctx, e, what);
}

scl_status scl__op_args(scl_op *op, const scl_karg *args, size_t n) {
    for (size_t i = 0; i < n; i++) {
        scl_status st = scl__op_arg(op, (cl_uint)i, args[i].size, args[i].value);
        if (st != SCL_OK) return st;
    }
    return SCL_OK;
}

scl_status scl__op_run(scl_op *op, const scl_op_args *a) {
    cl_int e = clEnqueueNDRangeKernel(op->ctx->queue, op->kernel, op->dims, NULL, op->global,
                                      op->use_local ? op->local : NULL, a->num_wait_events,
                                      a->num_wait_events ? a->wait_events : NULL,
                                      scl__op_event_slot(op, a, op->nlaunch - 1));
    if (e != CL_SUCCESS) {
        char what[128];
        snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", op->kernel_name);
        return scl__cl_fail(op->ctx, e, what);
    }
    return SCL_OK;
}

scl_status scl__op_created(scl_op *op, scl_status st, const char *fn, scl_op **out) {
    if (st != SCL_OK) {
        scl__prefix_error(op->ctx, "%s: ", fn);
        scl_op_destroy(op);
        return st;
    }
    *out = op;
    return SCL_OK;
}

void scl__op_hw_stride2(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = scl__stride2(h), *ow = scl__stride2(w);
}

size_t scl__round_up(size_t x, size_t m) {
    return m ? (x + m - 1) / m * m : x;
}

static int log2i(int v) {
    int l = 0;
    while (v > 1)
        v >>= 1, l++;
    return l;
}

scl_status scl__op_use_variant(scl_op *op, scl_op_variants *v, const char *file, int vw,
                               size_t *wg_max) {
    int i = log2i(vw);
    if (!v->kernels[i]) {
        scl__op_storage_option(op);
        scl_status st =
            scl__kernel_create(op->ctx, file, op->options, op->kernel_name, &v->kernels[i]);
        if (st != SCL_OK) return st;
        SCL_CL_TRY(op->ctx,
                   clGetKernelWorkGroupInfo(v->kernels[i], op->ctx->device,
                                            CL_KERNEL_WORK_GROUP_SIZE, sizeof(size_t),
                                            &v->wg_max[i], NULL),
                   "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    }
    op->kernel = v->kernels[i];
    if (wg_max) *wg_max = v->wg_max[i];
    return SCL_OK;
}

void scl__op_release_variants(scl_op *op, scl_op_variants *v) {
    for (size_t i = 0; i < SCL_ARRAY_LEN(v->kernels); i++)
        if (v->kernels[i]) clReleaseKernel(v->kernels[i]);
    op->kernel = NULL; /* one of the above: scl_op_destroy must not release it again */
}

scl_status scl__check_range(scl_context *ctx, const char *fn, const char *name, int v, int lo,
                            int hi) {
    if (v < lo || v > hi)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: %s = %d, must be %d to %d", fn, name,
                         v, lo, hi);
    return SCL_OK;
}

scl_status scl__check_seg(scl_context *ctx, const char *fn, int seg, int vw) {
    if (seg < 0 || seg % vw != 0)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: seg = %d, must be 0 or a positive multiple of vw = %d", fn, seg, vw);
    return SCL_OK;
}

/* 1 if a x b <= limit, without computing a product that could wrap ((size_t)-1 squared is 1) */
static int product_within(size_t a, size_t b, size_t limit) {
    return a == 0 || b <= limit / a;
}

scl_status scl__check_local2(scl_context *ctx, const char *fn, const size_t local[2]) {
    size_t most = ctx->info.max_work_group_size;
    if ((local[0] == 0) != (local[1] == 0) || !product_within(local[0], local[1], most))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: work-group size %zux%zu: both must be 0, or both set with a product "
                         "<= %zu",
                         fn, local[0], local[1], most);
    return SCL_OK;
}

scl_status scl__check_kernel_local(scl_op *op, size_t wg_max, const size_t local[2],
                                   const char *fn) {
    if (product_within(local[0], local[1], wg_max)) return SCL_OK;
    return scl__fail(op->ctx, SCL_ERROR_INVALID_ARGUMENT,
                     "%s: work-group size %zux%zu is more than kernel %s can run (%zu "
                     "work-items, CL_KERNEL_WORK_GROUP_SIZE)",
                     fn, local[0], local[1], op->kernel_name, wg_max);
}

size_t scl__op_units_per_group(const scl_op *op, size_t outputs, size_t per, size_t units,
                               size_t items, size_t wg_max) {
    size_t cu = op->ctx->info.compute_units;
    size_t n = (outputs + per - 1) / per, most = units / (4 * (cu ? cu : 1));
    if (n > most) n = most ? most : 1;
    while (n > 1 && items * n > wg_max)
        n--;
    return n;
}

scl_status scl__op_fit_local0(scl_op *op, size_t *local0, const char *fn) {
    if (!*local0) return SCL_OK;
    size_t kmax = 0;
    cl_int e = clGetKernelWorkGroupInfo(op->kernel, op->ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                        sizeof kmax, &kmax, NULL);
    if (e != CL_SUCCESS) {
        scl_context *ctx = op->ctx;
        scl_op_destroy(op);
        char what[128];
        snprintf(what, sizeof what, "%s: clGetKernelWorkGroupInfo", fn);
        return scl__cl_fail(ctx, e, what);
    }
    while (*local0 > 1 && *local0 > kmax)
        *local0 /= 2;
    return SCL_OK;
}

void scl__op_local0(scl_op *op, size_t local0) {
    op->use_local = local0 > 0;
    if (op->use_local) {
        size_t l = local0 < op->global[0] ? local0 : op->global[0];
        op->local[0] = l, op->local[1] = 1, op->local[2] = 1;
        op->global[0] = scl__round_up(op->global[0], l);
    }
}

static scl_status check_operand(scl_op *op, const char *role, const scl_tensor *t,
                                const scl_chanmap *m, int channels, int want_half) {
    scl_context *ctx = op->ctx;
    if (!t)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s op: the %s tensor is NULL",
                         op->cls->family, role);
    if (t->half != want_half)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s op: the %s tensor stores %s, the op reads and writes %s "
                         "(scl_tensor_create_ex makes either)",
                         op->cls->family, role, t->half ? "halves" : "floats",
                         want_half ? "halves" : "floats");
    if (t->ctx != ctx || (m && m->ctx != ctx))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s op: the %s %s belongs to another context", op->cls->family, role,
                         t->ctx != ctx ? "tensor" : "channel map");
    int mc = m ? m->channels : t->c;
    if (mc != channels)
        return scl__fail(ctx, SCL_ERROR_SHAPE_MISMATCH,
                         "%s op: the %s has %d channels%s, the op needs %d", op->cls->family, role,
                         mc, m ? " through its map" : "", channels);
    if (m && m->max_plane >= t->c)
        return scl__fail(ctx, SCL_ERROR_SHAPE_MISMATCH,
                         "%s op: the %s map reaches plane %d of a tensor with %d channels",
                         op->cls->family, role, m->max_plane, t->c);
    return SCL_OK;
}

static int planes_overlap(const scl_chanmap *a, int na, const scl_chanmap *b, int nb) {
    int hi = 0;
    for (int c = 0; c < na; c++)
        hi = (a ? a->planes[c] : c) > hi ? (a ? a->planes[c] : c) : hi;
    for (int c = 0; c < nb; c++)
        hi = (b ? b->planes[c] : c) > hi ? (b ? b->planes[c] : c) : hi;
    char *seen = calloc((size_t)hi + 1, 1);
    if (!seen) return 1;
    int hit = 0;
    for (int c = 0; c < na; c++)
        seen[a ? a->planes[c] : c] = 1;
    for (int c = 0; c < nb && !hit; c++)
        hit = seen[b ? b->planes[c] : c];
    free(seen);
    return hit;
}

scl_status scl_op_enqueue(scl_op *op, const scl_op_args *args) {
    if (!op || !args)
        return scl__fail(op ? op->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_op_enqueue: NULL argument");
    scl_context *ctx = op->ctx;
    /* the caller's struct, as much of it as its size says (the rest zero) */
    scl_op_args copy;
    scl_status vst =
        scl__sized_in(ctx, "scl_op_enqueue", "scl_op_args", &copy, args, sizeof copy, sizeof copy);
    if (vst != SCL_OK) return vst;
    const scl_op_args *a = &copy;
    const char *fam = op->cls->family;
    scl_status st =
        check_operand(op, "input", a->in, a->in_map, op->cin, op->half && !op->in_float);
    if (st == SCL_OK)
        st = check_operand(op, "output", a->out, a->out_map, op->cout, op->half && !op->out_float);
    if (st != SCL_OK) return st;
    int oh, ow;
    op->cls->output_hw(op, a->in->h, a->in->w, &oh, &ow);
    if (a->in->n != a->out->n || a->out->h != oh || a->out->w != ow)
        return scl__fail(
            ctx, SCL_ERROR_SHAPE_MISMATCH,
            "%s op: input %dx%dx%dx%d needs an output of batch %d and %dx%d, got %dx%dx%dx%d", fam,
            a->in->n, a->in->c, a->in->h, a->in->w, a->in->n, oh, ow, a->out->n, a->out->c,
            a->out->h, a->out->w);
    /* a map used for writing must not send two channels to one plane: work-items would race */
    if (a->out_map && a->out_map->has_duplicates)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s op: the output map sends two channels to the same plane", fam);
    if (a->in->mem == a->out->mem && planes_overlap(a->in_map, op->cin, a->out_map, op->cout))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s op: input and output share planes of one tensor (in place is allowed "
                         "only on disjoint planes)",
                         fam);
    if (op->flags & SCL_OP_RESIDUAL) {
        if ((st = check_operand(op, "residual", a->residual, a->residual_map, op->cout,
                                op->half)) != SCL_OK)
            return st;
        if (a->residual->n != a->out->n || a->residual->h != oh || a->residual->w != ow)
            return scl__fail(ctx, SCL_ERROR_SHAPE_MISMATCH,
                             "%s op: the residual is %dx%dx%dx%d, the output %dx%dx%dx%d", fam,
                             a->residual->n, a->residual->c, a->residual->h, a->residual->w,
                             a->out->n, a->out->c, oh, ow);
        if (a->residual->mem == a->in->mem && a->in->mem == a->out->mem)
            return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                             "%s op: input, residual and output are one tensor", fam);
    } else if (a->residual) {
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s op: a residual was given to an op made without SCL_OP_RESIDUAL", fam);
    }
    if (a->num_wait_events && !a->wait_events)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s op: num_wait_events > 0 with no list",
                         fam);
    scl_op_io io = {0};
    if ((st = scl__chanmap_device(ctx, a->in_map, op->cin, &io.in_map)) != SCL_OK) return st;
    if ((st = scl__chanmap_device(ctx, a->out_map, op->cout, &io.out_map)) != SCL_OK) return st;
    if (op->flags & SCL_OP_RESIDUAL &&
        (st = scl__chanmap_device(ctx, a->residual_map, op->cout, &io.residual_map)) != SCL_OK)
        return st;
    if (a->event) *a->event = NULL;
    scl_op *run = op;
    if (op->sizes && (st = scl__op_for_size(op, a->in->h, a->in->w, &run)) != SCL_OK) return st;
    st = run->cls->launch(run, a, &io);
    if (run != op) scl__op_mirror(op, run);
    return st;
}

void scl_op_destroy(scl_op *op) {
    if (!op) return;
    if (op->sizes) scl__op_sizes_free(op);
    if (op->cls && op->cls->destroy) op->cls->destroy(op);
    if (op->kernel) clReleaseKernel(op->kernel);
    if (op->weights) clReleaseMemObject(op->weights);
    if (op->bias) clReleaseMemObject(op->bias);
    free(op);
}

void scl_op_output_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    if (!op) {
        if (oh) *oh = 0;
        if (ow) *ow = 0;
        return;
    }
    int a, b;
    op->cls->output_hw(op, h, w, &a, &b);
    if (oh) *oh = a;
    if (ow) *ow = b;
}

cl_event *scl__op_event_slot(scl_op *op, const scl_op_args *a, int j) {
    if (op->launch_events) return &op->launch_events[j];
    return j == op->nlaunch - 1 ? a->event : NULL;
}

scl_status scl__op_enqueue_events(scl_op *op, const scl_op_args *a, cl_event *events) {
    if (!op || !events) return scl_op_enqueue(op, a);
    for (int j = 0; j < op->nlaunch; j++)
        events[j] = NULL;
    op->launch_events = events;
    scl_status st = scl_op_enqueue(op, a);
    op->launch_events = NULL;
    return st;
}

int scl_op_launch_count(const scl_op *op) {
    return op ? op->nlaunch : 0;
}

const char *scl_op_kernel_name(const scl_op *op) {
    return op ? op->kernel_name : "";
}

int scl__op_tuned(const scl_op *op) {
    return op ? op->tuned : 0;
}

const char *scl__op_options(const scl_op *op) {
    return op ? op->options : "";
}

void scl_op_last_launch(const scl_op *op, size_t global[3], size_t local[3]) {
    for (int i = 0; i < 3; i++) {
        if (global) global[i] = op && (cl_uint)i < op->dims ? op->global[i] : 1;
        if (local) local[i] = op && op->use_local && (cl_uint)i < op->dims ? op->local[i] : 0;
    }
}
