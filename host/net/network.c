/* network.c: a ShuffleNet on a context: its lifecycle, the reshape (the planner's slots made into
 * device buffers), the inference, and what it reports (layers, launches, statistics). Weights
 * are weights.c's; the planner is plan.c's. */
#include "net/network.h"
#include "ops/head.h"
#include "tune/tune.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *scl_model_name(int i) {
    int n = 0;
    while (scl__model_names[n])
        n++;
    return i >= 0 && i < n ? scl__model_names[i] : NULL;
}

/* The output map of the unit starting at layer i: its last layer's, or at stride 2 both
 * concat slots (branch a's last layer or V1's pool, then the last layer's). */
static scl_status unit_out_map(scl_network *net, int i) {
    const scl_layer *ls = &net->model->layers[i];
    int a, b;
    scl__unit_outputs(ls, &a, &b);
    if (a < 0)
        return scl_chanmap_create_table(net->ctx, ls[b].cout, ls[b].out_map,
                                        &net->unit_out_maps[i]);
    int ca = ls[a].cout, cb = ls[b].cout;
    int *t = malloc((size_t)(ca + cb) * sizeof *t);
    if (!t) return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    memcpy(t, ls[a].out_map, (size_t)ca * sizeof *t);
    memcpy(t + ca, ls[b].out_map, (size_t)cb * sizeof *t);
    scl_status st = scl_chanmap_create_table(net->ctx, ca + cb, t, &net->unit_out_maps[i]);
    free(t);
    return st;
}

scl_status scl__network_make_maps(scl_network *net) {
    scl_model *m = net->model;
    /* made with every model build: the block lookup of each reshape only reads it */
    net->signature = scl__model_signature(m);
    net->ops = calloc((size_t)m->nlayers, sizeof *net->ops);
    net->in_maps = calloc((size_t)m->nlayers, sizeof *net->in_maps);
    net->out_maps = calloc((size_t)m->nlayers, sizeof *net->out_maps);
    net->res_maps = calloc((size_t)m->nlayers, sizeof *net->res_maps);
    net->views = calloc((size_t)m->nbufs, sizeof *net->views);
    net->units = calloc((size_t)m->nlayers, sizeof *net->units);
    net->unit_out_maps = calloc((size_t)m->nlayers, sizeof *net->unit_out_maps);
    if (!net->ops || !net->in_maps || !net->out_maps || !net->res_maps || !net->views ||
        !net->units || !net->unit_out_maps)
        return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        scl_status st = scl_chanmap_create_table(net->ctx, l->cin, l->in_map, &net->in_maps[i]);
        if (st == SCL_OK)
            st = scl_chanmap_create_table(net->ctx, l->cout, l->out_map, &net->out_maps[i]);
        if (st == SCL_OK && l->res_map)
            st = scl_chanmap_create_table(net->ctx, l->cout, l->res_map, &net->res_maps[i]);
        if (st == SCL_OK && l->unit_len) st = unit_out_map(net, i);
        if (st != SCL_OK) return st;
    }
    return SCL_OK;
}

/* Whether a network fuses its units: the option, else SHUFFLECL_FUSION ("off" or "0": not). */
static int want_fusion(scl_switch opt) {
    if (opt != SCL_SWITCH_DEFAULT) return opt == SCL_SWITCH_ON;
    const char *env = getenv("SHUFFLECL_FUSION");
    return !(env && (strcmp(env, "off") == 0 || strcmp(env, "0") == 0));
}

uint32_t scl__model_signature(const scl_model *m) {
    uint32_t hsh = 2166136261u; /* FNV-1a over what the layers compute */
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        int v[6] = {(int)l->kind, l->cin, l->cout, l->groups, l->stride, l->flags};
        for (int k = 0; k < 6; k++)
            for (int byte = 0; byte < 4; byte++)
                hsh = (hsh ^ (((uint32_t)v[k] >> (8 * byte)) & 0xffu)) * 16777619u;
    }
    return hsh & 0x7fffffffu; /* a non-negative int for the tuning table's key */
}

int scl__network_block(const scl_network *net, int n, int h, int w) {
    int b = net->opts.batch_block;
    const char *env = getenv("SHUFFLECL_BATCH_BLOCK");
    if (b <= 0 && env) {
        char *end;
        long v = strtol(env, &end, 10);
        b = *env && !*end && v >= 1 && v <= INT_MAX ? (int)v : 0; /* anything else: ignored */
    }
    if (b <= 0) {
        const scl__tune_table *t = scl__tune_get(net->ctx);
        int key[2] = {n, (int)net->signature};
        const scl__tune_entry *e =
            t ? scl__tune_find(t, "block", net->half ? "f16s" : "f32", key, 2, h, w) : NULL;
        b = e && e->nval == 1 ? e->val[0] : 0;
    }
    return b >= 1 && b < n ? b : n;
}

/* The caller's options (NULL: the defaults) checked and copied into *own. */
static scl_status take_options(scl_context *ctx, const scl_network_options *opts,
                               scl_network_options *own, const char *fn) {
    memset(own, 0, sizeof *own);
    own->size = sizeof *own;
    if (!opts) return SCL_OK;
    size_t min = offsetof(scl_network_options, fused_kernels) + sizeof opts->fused_kernels;
    if (opts->size < min)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: scl_network_options.size = %zu is smaller than "
                         "any released layout (%zu): set it to sizeof(scl_network_options)",
                         fn, opts->size, min);
    memcpy(own, opts, opts->size < sizeof *own ? opts->size : sizeof *own);
    own->size = sizeof *own;
    int half;
    scl_status st =
        scl__storage_of(ctx, own->precision, fn, "scl_network_options.precision", &half);
    if (st != SCL_OK) return st;
    if (own->batch_block < 0)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: scl_network_options.batch_block = %d: must be 0 (automatic) or "
                         "the images per block",
                         fn, own->batch_block);
    if (own->fused_kernels < SCL_SWITCH_DEFAULT || own->fused_kernels > SCL_SWITCH_OFF)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: scl_network_options.fused_kernels = %d is not a "
                         "scl_switch",
                         fn, (int)own->fused_kernels);
    return SCL_OK;
}

scl_status scl__network_create(scl_context *ctx, const scl_model_desc *desc,
                               const scl_network_options *opts, scl_network **out, const char *fn) {
    if (!ctx || !desc || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    scl_model_desc d;
    if (!scl__desc_in(desc, &d))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: scl_model_desc.size = %zu is smaller than any "
                         "released layout (%zu): set it to sizeof(scl_model_desc)",
                         fn, desc->size, (size_t)SCL__DESC_MIN_SIZE);
    char msg[512];
    scl_status st = scl__desc_check(&d, msg, sizeof msg);
    if (st != SCL_OK) return scl__fail(ctx, st, "%s: %s", fn, msg);
    scl_network_options o;
    if ((st = take_options(ctx, opts, &o, fn)) != SCL_OK) return st;
    scl_network *net = calloc(1, sizeof *net);
    if (!net) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    net->ctx = ctx;
    net->opts = o;
    net->fuse = want_fusion(o.fused_kernels);
    net->half = o.precision == SCL_PRECISION_HALF_STORAGE;
    st = scl__model_build_fusable(&d, net->fuse, &net->model);
    if (st != SCL_OK) scl__fail(ctx, st, "out of host memory building a network");
    if (st == SCL_OK) st = scl__network_make_maps(net);
    if (st != SCL_OK) {
        scl_network_destroy(net);
        return st;
    }
    *out = net;
    return SCL_OK;
}

scl_status scl_network_create_ex(scl_context *ctx, const char *model,
                                 const scl_network_options *opts, scl_network **out) {
    if (!ctx || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_network_create: NULL argument");
    *out = NULL;
    scl_model_desc d;
    if (model && strcmp(model, "auto") == 0)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED_MODEL,
                         "scl_network_create: 'auto' takes the architecture "
                         "from a weights file: use scl_network_create_from_file");
    if (!scl__desc_preset(model, &d)) {
        char names[512];
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED_MODEL, "unknown model '%s'; known models: %s",
                         model ? model : "(null)", scl__model_names_text(names, sizeof names));
    }
    return scl__network_create(ctx, &d, opts, out, "scl_network_create");
}

scl_status scl_network_create(scl_context *ctx, const char *model, scl_network **out) {
    return scl_network_create_ex(ctx, model, NULL, out);
}

scl_status scl_network_create_desc_ex(scl_context *ctx, const scl_model_desc *desc,
                                      const scl_network_options *opts, scl_network **out) {
    return scl__network_create(ctx, desc, opts, out, "scl_network_create_desc");
}

scl_status scl_network_create_desc(scl_context *ctx, const scl_model_desc *desc,
                                   scl_network **out) {
    return scl__network_create(ctx, desc, NULL, out, "scl_network_create_desc");
}

scl_status scl_network_get_desc(const scl_network *net, scl_model_desc *out) {
    if (!net || !out)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_get_desc: NULL argument");
    if (!scl__desc_out(&net->model->desc, out))
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_get_desc: out->size = %zu is smaller "
                         "than any released layout (%zu)",
                         out->size, (size_t)SCL__DESC_MIN_SIZE);
    return SCL_OK;
}

void scl__network_release_plan(scl_network *net) {
    if (net->views)
        for (int b = 0; b < net->model->nbufs; b++) {
            scl_tensor_destroy(net->views[b]);
            net->views[b] = NULL;
        }
    for (int s = 0; s < net->plan.nslots && net->slots; s++)
        if (net->slots[s]) clReleaseMemObject(net->slots[s]);
    free(net->slots);
    net->slots = NULL;
    scl__plan_free(&net->plan);
}

static void release_ops(scl_network *net) {
    if (!net->ops) return;
    for (int i = 0; i < net->model->nlayers; i++) {
        scl_op_destroy(net->ops[i]);
        net->ops[i] = NULL;
    }
    if (net->units) scl__network_release_units(net, net->units);
    net->weight_bytes = 0;
}

void scl__network_release_units(scl_network *net, scl__unit_state *units) {
    for (int i = 0; i < net->model->nlayers; i++) {
        scl_op_destroy(units[i].op);
        free(units[i].w), free(units[i].b);
        memset(&units[i], 0, sizeof units[i]);
    }
}

/* Drops the channel-map objects of every layer and the arrays of scl__network_make_maps. */
static void free_maps(scl_network *net) {
    for (int i = 0; net->model && i < net->model->nlayers; i++) {
        if (net->in_maps) scl_chanmap_destroy(net->in_maps[i]);
        if (net->out_maps) scl_chanmap_destroy(net->out_maps[i]);
        if (net->res_maps) scl_chanmap_destroy(net->res_maps[i]);
        if (net->unit_out_maps) scl_chanmap_destroy(net->unit_out_maps[i]);
    }
    free(net->ops), free(net->in_maps), free(net->out_maps), free(net->res_maps), free(net->views);
    free(net->units), free(net->unit_out_maps);
    net->ops = NULL, net->in_maps = net->out_maps = net->res_maps = NULL, net->views = NULL;
    net->units = NULL, net->unit_out_maps = NULL;
}

void scl_network_destroy(scl_network *net) {
    if (!net) return;
    if (net->ctx->queue) clFinish(net->ctx->queue);
    if (net->model) {
        scl__network_release_plan(net);
        release_ops(net);
    }
    if (net->own_in) clReleaseMemObject(net->own_in);
    if (net->own_out) clReleaseMemObject(net->own_out);
    if (net->block_in) clReleaseMemObject(net->block_in);
    if (net->block_out) clReleaseMemObject(net->block_out);
    free_maps(net);
    scl__model_free(net->model);
    scl__onnx_release(net);
    free(net);
}

/* ---- weights (weights.c does the work) -------------------------------------------------- */

scl_status scl_network_load_weights(scl_network *net, const char *path) {
    if (!net || !path)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_load_weights: NULL argument");
    if (scl__onnx_sniff(path)) return scl__onnx_load_into(net, path);
    return scl__network_load(net, path, 0);
}

scl_status scl_network_random_weights(scl_network *net, uint64_t seed) {
    if (!net)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_random_weights: NULL network");
    return scl__network_load(net, NULL, seed);
}

/* ---- reshape ------------------------------------------------------------------------------ */

/* (Re)makes the per-buffer views of the planned slots for n images (n <= the plan's: a batch's
 * last, shorter block uses the front of each slot). */
static scl_status make_views(scl_network *net, int n) {
    const scl_model *m = net->model;
    const scl_plan *p = &net->plan;
    for (int b = 1; b < m->nbufs - 1; b++) {
        scl_tensor_destroy(net->views[b]);
        net->views[b] = NULL;
        if (p->slot_of[b] < 0) continue; /* touched by no layer */
        int lh = scl__level_size(p->h, m->bufs[b].level),
            lw = scl__level_size(p->w, m->bufs[b].level);
        scl_status st =
            scl__tensor_view(net->ctx, net->slots[p->slot_of[b]], n, m->bufs[b].channels, lh, lw,
                             scl__pitch(lh, lw), &net->views[b]);
        if (st != SCL_OK) return st;
        net->views[b]->half = net->half;
    }
    return SCL_OK;
}

/* Makes the device slots and per-buffer views of the plan for n x 3 x h x w. */
static scl_status allocate(scl_network *net) {
    scl_context *ctx = net->ctx;
    const scl_plan *p = &net->plan;
    net->slots = calloc((size_t)p->nslots + 1, sizeof *net->slots);
    if (!net->slots)
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory planning activations");
    for (int s = 0; s < p->nslots; s++) {
        cl_int e;
        net->slots[s] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, p->slot_bytes[s], NULL, &e);
        if (e != CL_SUCCESS) {
            net->slots[s] = NULL;
            char what[160];
            snprintf(what, sizeof what, "allocating %zu bytes of activations for %dx3x%dx%d",
                     p->slot_bytes[s], p->n, p->h, p->w);
            return scl__cl_fail(ctx, e, what);
        }
        /* zeros: the plane padding past a small plane's pixels is read by vector loads (and
         * discarded); left as whatever the allocator held, it may be denormals, which x86
         * computes on 100x slower (V2 0.5x at 6 x 64 x 64 took 18 ms, not 1.4) */
        float zero = 0.0f;
        e = clEnqueueFillBuffer(ctx->queue, net->slots[s], &zero, sizeof zero, 0, p->slot_bytes[s],
                                0, NULL, NULL);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clearing activations");
    }
    return make_views(net, p->n);
}

/* An input of n x 3 x h x w must be >= 1 everywhere and under 2^31 floats (kernels index with
 * ints); products in 64 bits, h * w first so that nothing overflows on the way. */
scl_status scl__network_check_dims(scl_context *ctx, int n, int h, int w, const char *fn) {
    if (n < 1 || h < 1 || w < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: input %dx3x%dx%d has a dimension < 1", fn, n, h, w);
    int64_t hw = (int64_t)h * w;
    if (hw > INT_MAX / 3 || hw * 3 * n > INT_MAX)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: input %dx3x%dx%d is over the limit of %d floats", fn, n, h, w,
                         INT_MAX);
    return SCL_OK;
}

scl_status scl_network_reshape(scl_network *net, int n, int h, int w) {
    if (!net)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_reshape: NULL network");
    scl_status st = scl__network_check_dims(net->ctx, n, h, w, "scl_network_reshape");
    if (st != SCL_OK) return st;
    const scl_plan *p = &net->plan;
    /* activations are planned for one block of images (scl__network_block) */
    int nb = scl__network_block(net, n, h, w);
    int same_plan = p->n == nb && p->h == h && p->w == w;
    if (same_plan && n == net->batch) return SCL_OK;
    /* an ONNX graph may declare its batch: every new batch is checked, blocks or not */
    if (net->onnx && (st = scl__onnx_check_shape(net, n, h, w)) != SCL_OK) return st;
    if (same_plan) {
        net->batch = n;
        return SCL_OK;
    }
    scl__network_release_plan(net);
    st = scl__plan_compute_elem(net->model, nb, h, w, scl__network_elem(net), &net->plan);
    if (st != SCL_OK)
        return scl__fail(net->ctx, st, "scl_network_reshape: cannot plan %dx3x%dx%d (%s)", n, h, w,
                         st == SCL_ERROR_OUT_OF_MEMORY
                             ? "out of host memory"
                             : "an activation is over the limit of 2^31 - 1 floats");
    if ((st = allocate(net)) != SCL_OK) scl__network_release_plan(net);
    net->batch = st == SCL_OK ? n : 0;
    return st;
}

static scl_status check_shape(scl_network *net, int n, int h, int w, const char *fn) {
    if (!net->ops || !net->ops[0])
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: %s has no weights yet: call scl_network_load_weights or "
                         "scl_network_random_weights first",
                         fn, net->model->name);
    return scl__network_check_dims(net->ctx, n, h, w, fn);
}

/* Enqueues every layer for one block of n images, from vin to vout; the first launch waits on the
 * wait list; with `events`, one event per launch (*events advanced past them); else with
 * last_event the last launch's. */
static scl_status enqueue_block(scl_network *net, scl_tensor *vin, scl_tensor *vout, int n, int h,
                                int w, cl_uint nwait, const cl_event *wait, cl_event **events,
                                cl_event *last_event) {
    scl_model *m = net->model;
    int ob = m->nbufs - 1;
    scl_status st = SCL_OK;
    for (int i = 0; i < m->nlayers && st == SCL_OK; i++) {
        const scl_layer *l = &m->layers[i];
        /* a fused unit: one launch for its layers, through the unit's own output map */
        int fused = l->unit_len && scl__network_unit_fused(net, i, n, h, w);
        if (l->unit_len && !fused) st = scl__network_unit_fallback(net, i);
        if (st != SCL_OK) break;
        scl_op *op = fused ? net->units[i].op : net->ops[i];
        const scl_layer *last = fused ? &m->layers[i + l->unit_len - 1] : l;
        scl_op_args a = {.size = sizeof(scl_op_args)};
        a.in = l->in_buf == 0 ? vin : net->views[l->in_buf];
        a.out = last->out_buf == ob ? vout : net->views[last->out_buf];
        a.in_map = net->in_maps[i];
        a.out_map = fused ? net->unit_out_maps[i] : net->out_maps[i];
        if (l->res_buf >= 0) a.residual = net->views[l->res_buf], a.residual_map = net->res_maps[i];
        if (i == 0) a.num_wait_events = nwait, a.wait_events = wait;
        if (fused) i += l->unit_len - 1;
        if (!events && i == m->nlayers - 1) a.event = last_event;
        st = scl__op_enqueue_events(op, &a, events ? *events : NULL);
        if (events) *events += op->nlaunch;
        if (st != SCL_OK) scl__prefix_error(net->ctx, "%s layer %s: ", m->name, l->name);
    }
    return st;
}

/* Bytes [off, off + bytes) of mem as a buffer of its own: a sub-buffer where OpenCL allows one
 * there (mem no sub-buffer itself, off aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN), else NULL with
 * *st SCL_OK (the caller copies). */
static cl_mem region_of(scl_network *net, cl_mem mem, size_t off, size_t bytes, scl_status *st) {
    *st = SCL_OK;
    cl_mem parent = NULL;
    cl_uint align_bits = 0;
    cl_int e = clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (e == CL_SUCCESS)
        e = clGetDeviceInfo(net->ctx->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                            &align_bits, NULL);
    if (e != CL_SUCCESS) {
        *st = scl__cl_fail(net->ctx, e, "asking about a block's buffer");
        return NULL;
    }
    size_t align = align_bits >= 8 ? align_bits / 8 : 1;
    if (parent || off % align) return NULL;
    cl_buffer_region r = {off, bytes};
    cl_mem sub = clCreateSubBuffer(mem, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &e);
    return e == CL_SUCCESS ? sub : NULL; /* refused (say, a misaligned offset): copy instead */
}

/* A block buffer of ours (*mem, *have bytes), grown to `bytes`. */
static scl_status block_buffer(scl_network *net, cl_mem *mem, size_t *have, size_t bytes) {
    if (*have >= bytes) return SCL_OK;
    if (*mem) clReleaseMemObject(*mem);
    cl_int e;
    *mem = clCreateBuffer(net->ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    *have = e == CL_SUCCESS ? bytes : 0;
    if (e != CL_SUCCESS) {
        *mem = NULL;
        return scl__cl_fail(net->ctx, e, "allocating a block's input or logits");
    }
    return SCL_OK;
}

/* Enqueues the network over n images (reshaping first when the shape is new), one block of
 * scl__network_block images at a time: each block's activations stay in cache for all its
 * layers. A block reads its images from a sub-buffer of `in` where one can be made, else from a
 * copy, and writes its logits likewise. */
static scl_status enqueue_layers(scl_network *net, cl_mem in, cl_mem out, int n, int h, int w,
                                 cl_uint nwait, const cl_event *wait, cl_event *events,
                                 cl_event *last_event) {
    scl_model *m = net->model;
    scl_context *ctx = net->ctx;
    scl_status st = scl_network_reshape(net, n, h, w);
    if (st != SCL_OK) return st;
    const int B = net->plan.n;
    const size_t img = (size_t)3 * h * w * sizeof(float), cls = (size_t)m->classes * sizeof(float);
    for (int k = 0; k < n && st == SCL_OK; k += B) {
        const int nb = n - k < B ? n - k : B, first = k == 0, lastb = k + nb >= n;
        cl_mem bin = in, bout = out, sub_in = NULL, sub_out = NULL;
        cl_uint bw = first ? nwait : 0;
        const cl_event *bwait = first ? wait : NULL;
        if (B < n) {
            sub_in = region_of(net, in, (size_t)k * img, (size_t)nb * img, &st);
            if (st == SCL_OK) sub_out = region_of(net, out, (size_t)k * cls, (size_t)nb * cls, &st);
            if (st == SCL_OK && !sub_in)
                st = block_buffer(net, &net->block_in, &net->block_in_bytes, (size_t)B * img);
            if (st == SCL_OK && !sub_out)
                st = block_buffer(net, &net->block_out, &net->block_out_bytes, (size_t)B * cls);
            if (st == SCL_OK && !sub_in) {
                cl_int e = clEnqueueCopyBuffer(ctx->queue, in, net->block_in, (size_t)k * img, 0,
                                               (size_t)nb * img, bw, bwait, NULL);
                if (e != CL_SUCCESS) st = scl__cl_fail(ctx, e, "copying a block's images");
                bw = 0, bwait = NULL;
            }
            bin = sub_in ? sub_in : net->block_in;
            bout = sub_out ? sub_out : net->block_out;
        }
        if (st == SCL_OK && nb < B) st = make_views(net, nb); /* the batch's shorter last block */
        scl_tensor *vin = NULL, *vout = NULL;
        if (st == SCL_OK) st = scl__tensor_view(ctx, bin, nb, 3, h, w, (size_t)h * w, &vin);
        if (st == SCL_OK) st = scl__tensor_view(ctx, bout, nb, m->classes, 1, 1, 1, &vout);
        int copy_out = B < n && !sub_out;
        if (st == SCL_OK)
            st = enqueue_block(net, vin, vout, nb, h, w, bw, bwait, events ? &events : NULL,
                               lastb && !copy_out ? last_event : NULL);
        if (st == SCL_OK && copy_out) {
            cl_int e = clEnqueueCopyBuffer(ctx->queue, net->block_out, out, 0, (size_t)k * cls,
                                           (size_t)nb * cls, 0, NULL,
                                           lastb && !events ? last_event : NULL);
            if (e != CL_SUCCESS) st = scl__cl_fail(ctx, e, "copying a block's logits");
        }
        if (nb < B) {
            scl_status sv = make_views(net, B);
            if (st == SCL_OK) st = sv;
        }
        scl_tensor_destroy(vin);
        scl_tensor_destroy(vout);
        if (sub_in) clReleaseMemObject(sub_in);
        if (sub_out) clReleaseMemObject(sub_out);
    }
    return st;
}

scl_status scl_network_enqueue(scl_network *net, cl_mem input, cl_mem logits, int n, int h, int w,
                               cl_uint num_wait_events, const cl_event *wait_events,
                               cl_event *event) {
    if (!net || !input || !logits)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_enqueue: NULL argument");
    scl_status st = check_shape(net, n, h, w, "scl_network_enqueue");
    if (st != SCL_OK) return st;
    size_t in_size = 0, out_size = 0;
    cl_int e = clGetMemObjectInfo(input, CL_MEM_SIZE, sizeof in_size, &in_size, NULL);
    e |= clGetMemObjectInfo(logits, CL_MEM_SIZE, sizeof out_size, &out_size, NULL);
    if (e != CL_SUCCESS)
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_enqueue: input or logits is not a valid buffer");
    size_t need_in = (size_t)n * 3 * h * w * sizeof(float),
           need_out = (size_t)n * net->model->classes * sizeof(float);
    if (in_size < need_in || out_size < need_out)
        return scl__fail(
            net->ctx, SCL_ERROR_SHAPE_MISMATCH,
            "scl_network_enqueue: %dx3x%dx%d needs %zu input bytes and %zu logit bytes; the "
            "buffers hold %zu and %zu",
            n, h, w, need_in, need_out, in_size, out_size);
    return enqueue_layers(net, input, logits, n, h, w, num_wait_events, wait_events, NULL, event);
}

/* Dense input and logit buffers of our own for the host-memory entry points. On devices that
 * share memory with the host they are allocated host-side and mapped instead of copied. */
static scl_status own_buffers(scl_network *net, int n, int h, int w) {
    size_t in_bytes = (size_t)n * 3 * h * w * sizeof(float),
           out_bytes = (size_t)n * net->model->classes * sizeof(float);
    cl_mem_flags flags =
        CL_MEM_READ_WRITE | (net->ctx->info.host_unified_memory ? CL_MEM_ALLOC_HOST_PTR : 0);
    cl_int e;
    if (net->own_in_bytes != in_bytes) {
        if (net->own_in) clReleaseMemObject(net->own_in);
        net->own_in = clCreateBuffer(net->ctx->cl_ctx, flags, in_bytes, NULL, &e);
        net->own_in_bytes = e == CL_SUCCESS ? in_bytes : 0;
        if (e != CL_SUCCESS)
            return net->own_in = NULL, scl__cl_fail(net->ctx, e, "allocating the input buffer");
    }
    if (net->own_out_bytes != out_bytes) {
        if (net->own_out) clReleaseMemObject(net->own_out);
        net->own_out = clCreateBuffer(net->ctx->cl_ctx, flags, out_bytes, NULL, &e);
        net->own_out_bytes = e == CL_SUCCESS ? out_bytes : 0;
        if (e != CL_SUCCESS)
            return net->own_out = NULL, scl__cl_fail(net->ctx, e, "allocating the logits buffer");
    }
    return SCL_OK;
}

static scl_status copy_host(scl_context *ctx, cl_mem mem, void *host, size_t bytes, int to_device) {
    cl_int e;
    if (ctx->info.host_unified_memory) {
        void *p = clEnqueueMapBuffer(ctx->queue, mem, CL_TRUE,
                                     to_device ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ, 0,
                                     bytes, 0, NULL, NULL, &e);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clEnqueueMapBuffer");
        if (to_device)
            memcpy(p, host, bytes);
        else
            memcpy(host, p, bytes);
        e = clEnqueueUnmapMemObject(ctx->queue, mem, p, 0, NULL, NULL);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clEnqueueUnmapMemObject");
        return SCL_OK;
    }
    e = to_device ? clEnqueueWriteBuffer(ctx->queue, mem, CL_FALSE, 0, bytes, host, 0, NULL, NULL)
                  : clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (e != CL_SUCCESS)
        return scl__cl_fail(ctx, e, to_device ? "uploading the input" : "downloading the logits");
    return SCL_OK;
}

static scl_status run(scl_network *net, const float *input, int n, int h, int w, float *logits,
                      cl_event *events, const char *fn) {
    if (!net || !input || (!logits && !events))
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument",
                         fn);
    scl_status st = check_shape(net, n, h, w, fn);
    if (st == SCL_OK) st = own_buffers(net, n, h, w);
    if (st == SCL_OK) st = copy_host(net->ctx, net->own_in, (void *)input, net->own_in_bytes, 1);
    if (st == SCL_OK)
        st = enqueue_layers(net, net->own_in, net->own_out, n, h, w, 0, NULL, events, NULL);
    if (st == SCL_OK && logits)
        st = copy_host(net->ctx, net->own_out, logits, net->own_out_bytes, 0);
    if (st == SCL_OK) SCL_CL_TRY(net->ctx, clFinish(net->ctx->queue), "clFinish");
    return st;
}

scl_status scl_network_run(scl_network *net, const float *input, int n, int h, int w,
                           float *logits) {
    return run(net, input, n, h, w, logits, NULL, "scl_network_run");
}

scl_status scl_network_profile(scl_network *net, const float *input, int n, int h, int w,
                               double *launch_ms, int capacity) {
    if (!net || !launch_ms)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_profile: NULL argument");
    if (!net->ctx->profiling)
        return scl__fail(
            net->ctx, SCL_ERROR_UNSUPPORTED,
            "scl_network_profile: the queue was made without CL_QUEUE_PROFILING_ENABLE");
    scl_status st = check_shape(net, n, h, w, "scl_network_profile");
    int nl = st == SCL_OK ? scl_network_launch_count(net) : 0;
    if (st == SCL_OK && capacity < nl)
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_profile: room for %d launch times, the network makes %d",
                         capacity, nl);
    if (st != SCL_OK) return st;
    cl_event *ev = calloc((size_t)nl, sizeof *ev);
    if (!ev) return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    st = run(net, input, n, h, w, NULL, ev, "scl_network_profile");
    for (int i = 0; i < nl; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (st == SCL_OK && !ev[i])
            st = scl__fail(net->ctx, SCL_ERROR_UNSUPPORTED,
                           "scl_network_profile: launch %d gave no event", i);
        if (st == SCL_OK) {
            cl_int e =
                clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            if (e == CL_SUCCESS)
                e = clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            if (e != CL_SUCCESS) st = scl__cl_fail(net->ctx, e, "clGetEventProfilingInfo");
        }
        launch_ms[i] = (double)(t1 - t0) * 1e-6;
        if (ev[i]) clReleaseEvent(ev[i]);
    }
    free(ev);
    return st;
}

scl_status scl_network_set_explicit_copies(scl_network *net, int on) {
    if (!net)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_set_explicit_copies: NULL network");
    if (net->ops && net->ops[0])
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_set_explicit_copies: choose the mode before loading weights");
    scl_model *m;
    scl_status st = on ? scl__model_build_desc(&net->model->desc, 1, &m)
                       : scl__model_build_fusable(&net->model->desc, net->fuse, &m);
    if (st != SCL_OK)
        return scl__fail(net->ctx, st, "out of host memory rebuilding %s", net->model->name);
    char name[32];
    snprintf(name, sizeof name, "%s", net->model->name);
    scl__network_release_plan(net);
    free_maps(net);
    scl__model_free(net->model);
    net->model = m;
    return scl__network_make_maps(net);
}
