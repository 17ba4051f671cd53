/* bench_op.c: `shufflecl bench MODEL --op FAMILY`: every configuration the family's descriptor
 * samples (the device default first, then one tunable at a time over its probes), timed on each
 * distinct layer shape of MODEL that uses the family (for `unit`, each distinct fused unit), by
 * the device's profiling clock, at the precision of --precision. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define OP_MAX_SAMPLES 48
#define OP_RUNS 7

/* The descriptor family and shape of a layer; 0 when the family has no layer of this kind. */
static int layer_shape(const scl_layer_info *li, const char *family, scl_op_shape *s) {
    *s = (scl_op_shape){.size = sizeof *s, .precision = cli_precision};
    switch (li->kind) {
    case SCL_OP_KIND_POINTWISE:
        s->cin = li->cin, s->cout = li->cout, s->groups = li->groups, s->stride = 1;
        s->flags = SCL_OP_RELU | (li->residual ? SCL_OP_RESIDUAL : 0);
        return strcmp(family, "pointwise") == 0;
    case SCL_OP_KIND_DEPTHWISE:
        s->cin = s->cout = s->groups = li->cout, s->stride = li->stride;
        return strcmp(family, "depthwise") == 0;
    case SCL_OP_KIND_STEM:
        s->cin = 3, s->cout = li->cout, s->groups = 1, s->stride = 2, s->flags = SCL_OP_RELU;
        return strcmp(family, "stem") == 0;
    case SCL_OP_KIND_MAXPOOL:
    case SCL_OP_KIND_AVGPOOL:
        s->kind = li->kind == SCL_OP_KIND_AVGPOOL;
        s->cin = s->cout = s->groups = li->cin, s->stride = 2;
        return strcmp(family, "pool") == 0;
    case SCL_OP_KIND_GAP_FC:
        s->cin = li->cin, s->cout = li->cout, s->groups = 1, s->stride = 1;
        return strcmp(family, "head") == 0;
    default:
        return 0;
    }
}

static float *random_floats(size_t n, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; x && i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 40) / 16777216.0 - 0.5);
    }
    return x;
}

/* Median device time of OP_RUNS launches (after one untimed), in ms; < 0 on failure. */
static double time_op(scl_context *ctx, scl_op *op, const scl_op_args *proto) {
    double ms[OP_RUNS];
    for (int r = -1; r < OP_RUNS; r++) {
        cl_event ev = NULL;
        scl_op_args a = *proto;
        a.event = &ev;
        if (scl_op_enqueue(op, &a) != SCL_OK || scl_context_finish(ctx) != SCL_OK) {
            if (ev) clReleaseEvent(ev);
            return -1;
        }
        cl_ulong t0 = 0, t1 = 0;
        cl_int e = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        if (e == CL_SUCCESS)
            e = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(ev);
        if (e != CL_SUCCESS) return -1;
        if (r >= 0) ms[r] = (double)(t1 - t0) * 1e-6;
    }
    return bench_stats_of(ms, OP_RUNS).median;
}

/* Every sampled configuration of one shape: a table row each. */
static int bench_shape(scl_context *ctx, int family, const scl_layer_info *li,
                       const scl_op_shape *s, int batch) {
    int nt = scl_op_family_tunables(family);
    int *vals = malloc(sizeof(int) * (size_t)OP_MAX_SAMPLES * (size_t)(nt ? nt : 1));
    size_t nw = 0, nb = 0;
    if (!vals || scl_op_family_weights(family, s, &nw, &nb) != SCL_OK)
        return free(vals), cli_error("out of memory");
    int n = scl_op_family_samples(ctx, family, s, vals, OP_MAX_SAMPLES);
    if (n < 0) return free(vals), cli_error("%s", scl_last_error(ctx));
    float *w = random_floats(nw, 7), *b = random_floats(nb, 8);
    scl_tensor *in = NULL, *out = NULL, *res = NULL;
    int oh = li->out_h, ow = li->out_w, rc = 0;
    /* stored as the op stores them, but for the stem's image and the head's logits (floats) */
    const char *fam = scl_op_family_name(family);
    scl_precision in_p = strcmp(fam, "stem") == 0 ? SCL_PRECISION_FLOAT32 : s->precision;
    scl_precision out_p = strcmp(fam, "head") == 0 ? SCL_PRECISION_FLOAT32 : s->precision;
    if (scl_tensor_create_ex(ctx, batch, li->cin, li->in_h, li->in_w, in_p, &in) != SCL_OK ||
        scl_tensor_create_ex(ctx, batch, li->cout, oh, ow, out_p, &out) != SCL_OK ||
        ((s->flags & SCL_OP_RESIDUAL) &&
         scl_tensor_create_ex(ctx, batch, li->cout, oh, ow, s->precision, &res) != SCL_OK))
        rc = cli_error("%s", scl_last_error(ctx));
    if (!rc)
        rc = scl_tensor_fill(in, 0.25f) != SCL_OK || (res && scl_tensor_fill(res, 0.5f) != SCL_OK);
    double base = 0;
    for (int i = 0; i < n && !rc; i++) {
        const int *v = vals + (size_t)i * nt;
        /* a unit's fuse 0 is the network running its layers: their rows are --op pointwise and
         * depthwise (launched alone the op runs fused whatever its fuse) */
        if (strcmp(fam, "unit") == 0 && v[3] == 0) continue;
        char text[160];
        scl_op_family_describe(family, v, text, sizeof text);
        scl_op *op = NULL;
        if (scl_op_create_config(ctx, family, s, v, w, nb ? b : NULL, &op) != SCL_OK) {
            printf("  %-28.28s %-36.36s refused: %s\n", li->name, text, scl_last_error(ctx));
            continue;
        }
        scl_op_args a = {.size = sizeof a, .in = in, .out = out, .residual = res};
        double ms = time_op(ctx, op, &a);
        scl_op_destroy(op);
        if (ms < 0) {
            rc = cli_error("bench --op: %s: %s", text, scl_last_error(ctx));
            break;
        }
        if (i == 0) base = ms;
        double gf = bench_gflops(li->macs * batch, ms);
        printf("  %-28.28s %-36.36s %9.4f %8.2f %6.2fx%s\n", li->name, text, ms, gf,
               ms > 0 ? base / ms : 0, i == 0 ? "  (default)" : "");
    }
    scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(res);
    free(w), free(b), free(vals);
    return rc;
}

/* --op unit: each distinct fused unit of the network at the bench's input, as its launch
 * reports it (the first layer's input, the unit's output and MACs). */
static int bench_units(scl_context *ctx, scl_network *net, const bench_settings *set, int family) {
    int batch = set->batches[0], rc = 0, shapes = 0;
    if (scl_network_reshape(net, batch, set->height, set->width) != SCL_OK)
        return cli_error("%s", scl_last_error(ctx));
    int nl = scl_network_launch_count(net);
    scl_op_shape *seen = calloc((size_t)(nl ? nl : 1), sizeof *seen);
    int *seen_hw = calloc((size_t)(nl ? nl : 1), sizeof *seen_hw);
    if (!seen || !seen_hw) rc = cli_error("out of memory");
    for (int k = 0; k < nl && !rc; k++) {
        scl_launch_info la = {.size = sizeof la};
        scl_layer_info li = {.size = sizeof li};
        scl_op_shape s = {.size = sizeof s};
        if (scl_network_launch_info(net, k, &la) != SCL_OK || la.layers < 2) continue;
        if (scl_network_unit_shape(net, la.first_layer, &s) != SCL_OK ||
            scl_network_layer_info(net, la.first_layer, set->height, set->width, &li) != SCL_OK) {
            rc = cli_error("%s", scl_last_error(ctx));
            break;
        }
        int dup = 0;
        for (int j = 0; j < shapes && !dup; j++)
            dup = memcmp(&seen[j], &s, sizeof s) == 0 && seen_hw[j] == li.in_h * 65536 + li.in_w;
        if (dup) continue;
        seen[shapes] = s, seen_hw[shapes++] = li.in_h * 65536 + li.in_w;
        li.cout = s.cout, li.macs = la.macs / batch;
        li.out_h = s.stride == 2 ? li.in_h - li.in_h / 2 : li.in_h;
        li.out_w = s.stride == 2 ? li.in_w - li.in_w / 2 : li.in_w;
        rc = bench_shape(ctx, family, &li, &s, batch);
    }
    if (!rc && shapes == 0) printf("  (no unit of the model runs fused at this size)\n");
    free(seen), free(seen_hw);
    return rc;
}

int bench_op_run(scl_context *ctx, scl_network *net, const bench_settings *set,
                 const char *family_name) {
    int family = scl_op_family_find(family_name);
    if (family < 0) {
        char names[256] = "";
        for (int i = 0; i < scl_op_family_count(); i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     scl_op_family_name(i));
        return cli_error("bench: --op: unknown op family '%s' (%s)", family_name, names);
    }
    int batch = set->batches[0], shapes = 0, rc = 0;
    printf("op family %s: every sampled configuration on each distinct layer shape, batch %d, "
           "%dx%d input\n",
           family_name, batch, set->height, set->width);
    printf("  %-28s %-36s %9s %8s %7s\n", "layer", "configuration", "ms", "GFLOP/s", "speedup");
    if (strcmp(family_name, "unit") == 0) return bench_units(ctx, net, set, family);
    int nl = scl_network_layer_count(net);
    scl_op_shape *seen = calloc((size_t)nl, sizeof *seen);
    int *seen_hw = calloc((size_t)nl, sizeof *seen_hw);
    if (!seen || !seen_hw) rc = cli_error("out of memory");
    for (int i = 0; i < nl && !rc; i++) {
        scl_layer_info li = {.size = sizeof li};
        scl_op_shape s;
        if (scl_network_layer_info(net, i, set->height, set->width, &li) != SCL_OK) {
            rc = cli_error("%s", scl_last_error(ctx));
            break;
        }
        if (!layer_shape(&li, family_name, &s)) continue;
        int dup = 0;
        for (int k = 0; k < shapes && !dup; k++)
            dup = memcmp(&seen[k], &s, sizeof s) == 0 && seen_hw[k] == li.in_h * 65536 + li.in_w;
        if (dup) continue;
        seen[shapes] = s, seen_hw[shapes++] = li.in_h * 65536 + li.in_w;
        rc = bench_shape(ctx, family, &li, &s, batch);
    }
    if (!rc && shapes == 0) printf("  (the model has no layer of this family)\n");
    free(seen), free(seen_hw);
    return rc;
}
