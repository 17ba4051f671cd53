/* test_network.c: every model end to end against the float64 reference of tests/ref_network.c
 * (random state dicts written as safetensors, loaded, run; relative error and top-1), the same
 * network through scl_network_enqueue on caller buffers, and the loader's refusals of wrong,
 * incomplete, padded and non-finite weight files, with its DataParallel and F16 variants. */
#include "cli/quirks.h"
#include "io/safetensors.h"
#include "ref_network.h"
#include "st_writer.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOL 1e-4

/* ---- state dicts and files ------------------------------------------------------------------ */

/* The model's state dict with realistic random values: convs and fc U(-a, a), a =
 * sqrt(3 / fan_in) (unit-variance outputs for unit-variance inputs), BN near identity but
 * different on every channel so that folding it is exercised everywhere. */
static ref_weights *random_state(const char *model, uint64_t seed) {
    ref_weights *ws = ref_network_weights(model);
    ck_assert_msg(ws != NULL, "the reference does not know %s", model);
    return tu_random_state(ws, seed);
}

static char tmp_paths[32][512];
static int tmp_count;

/* A scratch path, removed by the teardown fixture. */
static const char *tmp_path(const char *tag, const char *model) {
    ck_assert_int_lt(tmp_count, 32);
    char *p = tmp_paths[tmp_count++];
    snprintf(p, 512, "%s/scl_net_%s_%s.safetensors", tu_tmpdir(), model, tag);
    return p;
}

static void remove_tmp(void) {
    for (int i = 0; i < tmp_count; i++)
        remove(tmp_paths[i]);
    tmp_count = 0;
}

/* IEEE binary16 of f, rounded to nearest even (finite f of moderate size only). */
static uint16_t to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    int exp = (int)((x >> 23) & 0xff) - 127 + 15;
    if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) { /* subnormal half */
        if (exp < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - exp;
        uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry rounds up the exponent */
    return (uint16_t)(sign | h);
}

static float from_f16(uint16_t h) {
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v = exp ? ldexpf((float)(mant | 0x400), exp - 25) : ldexpf((float)mant, -24);
    return (h & 0x8000u) ? -v : v;
}

/* Writes `ws` as F16 safetensors by hand (the library only writes F32), with an I64
 * num_batches_tracked after every BN's running_var as torch's state dicts have; then rounds
 * ws's own data to the F16 values, so that the reference sees what the file holds. */
static void write_state_f16(const char *path, ref_weights *ws) {
    size_t cap = 1 << 20, len = 0, offset = 0;
    char *hdr = malloc(cap);
    ck_assert_ptr_nonnull(hdr);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (int i = 0; i < ws->count; i++) {
        const ref_weight *w = &ws->w[i];
        size_t bytes = 2 * ref_weight_count(w);
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[",
                                i ? "," : "", w->name);
        for (int d = 0; d < w->rank; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)w->shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", offset,
                                offset + bytes);
        offset += bytes;
        size_t nl = strlen(w->name);
        if (w->kind == REF_W_VAR && nl > 11) {
            len += (size_t)snprintf(hdr + len, cap - len,
                                    ",\"%.*snum_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                                    "\"data_offsets\":[%zu,%zu]}",
                                    (int)(nl - 11), w->name, offset, offset + 8);
            offset += 8;
        }
        ck_assert_uint_lt(len, cap - 256);
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while ((8 + len) % 8)
        hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    unsigned char lenb[8];
    for (int k = 0; k < 8; k++)
        lenb[k] = (unsigned char)((uint64_t)len >> (8 * k));
    ck_assert_uint_eq(fwrite(lenb, 1, 8, f), 8);
    ck_assert_uint_eq(fwrite(hdr, 1, len, f), len);
    for (int i = 0; i < ws->count; i++) {
        ref_weight *w = &ws->w[i];
        for (size_t k = 0; k < ref_weight_count(w); k++) {
            uint16_t h = to_f16(w->data[k]);
            unsigned char b[2] = {(unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
            ck_assert_uint_eq(fwrite(b, 1, 2, f), 2);
            w->data[k] = from_f16(h);
        }
        if (w->kind == REF_W_VAR && strlen(w->name) > 11) {
            unsigned char steps[8] = {0x10, 0x27}; /* 10000 training steps, never read */
            ck_assert_uint_eq(fwrite(steps, 1, 8, f), 8);
        }
    }
    ck_assert_int_eq(fclose(f), 0);
    free(hdr);
}

/* ---- inputs, reference and comparison ------------------------------------------------------- */

/* Noise with a random scale per image and a random offset per image and channel: i.i.d. noise
 * alone would be washed out by the global average pool, and every image would give nearly the
 * same logits. */
static float *make_input(int n, int h, int w, uint64_t seed) {
    size_t hw = (size_t)h * w;
    float *x = tu_random((size_t)n * 3 * hw, &seed);
    for (int b = 0; b < n; b++) {
        float scale, offset[3];
        tu_fill_uniform(&scale, 1, 0.5f, 2.0f, &seed);
        tu_fill_uniform(offset, 3, -0.5f, 0.5f, &seed);
        for (int c = 0; c < 3; c++)
            for (size_t i = 0; i < hw; i++) {
                float *v = &x[((size_t)b * 3 + c) * hw + i];
                *v = *v * scale + offset[c];
            }
    }
    return x;
}

static double *reference(const char *model, const ref_weights *ws, const float *x, int n, int h,
                         int w) {
    size_t count = (size_t)n * 3 * h * w;
    double *xd = tu_to_double(x, count), *logits = malloc((size_t)n * REF_CLASSES * sizeof *logits);
    ck_assert_ptr_nonnull(logits);
    char msg[512];
    int rc = ref_network_forward(model, ws, xd, n, h, w, logits, msg, sizeof msg);
    ck_assert_msg(rc == 0, "reference: %s", msg);
    free(xd);
    return logits;
}

static int argmax_f(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static int argmax_d(const double *v, int n, double *margin) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    double second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != best && v[i] > second) second = v[i];
    *margin = v[best] - second;
    return best;
}

/* Relative error < tol over the batch and the same top-1 for every image; returns the error. */
static double check_logits(const char *what, const float *got, const double *want, int n,
                           double tol) {
    double max_abs;
    double rel = tu_rel_err(got, want, (size_t)n * REF_CLASSES, &max_abs);
    ck_assert_msg(rel < tol, "%s: relative error %.3g (limit %.1g), max abs error %.3g", what, rel,
                  tol, max_abs);
    for (int b = 0; b < n; b++) {
        double margin;
        int t_want = argmax_d(want + (size_t)b * REF_CLASSES, REF_CLASSES, &margin);
        int t_got = argmax_f(got + (size_t)b * REF_CLASSES, REF_CLASSES);
        ck_assert_msg(t_got == t_want,
                      "%s: image %d: top-1 %d, the reference's is %d (its margin %.3g; "
                      "relative error %.3g)",
                      what, b, t_got, t_want, margin, rel);
    }
    return rel;
}

/* ---- the enqueue path ------------------------------------------------------------------------ */

/* Runs the network with scl_network_enqueue on buffers of our own, held back by a user event
 * (or a marker) so that the wait list provably gates it, and waits on the event it returns;
 * the logits must be the very bits scl_network_run gave. */
static void check_enqueue(scl_context *ctx, scl_network *net, const float *x, int n, int h, int w,
                          const float *want, int use_marker, const char *what) {
    cl_context clc = scl_context_cl_context(ctx);
    cl_command_queue q = scl_context_cl_queue(ctx);
    size_t in_bytes = (size_t)n * 3 * h * w * sizeof(float);
    size_t out_bytes = (size_t)n * REF_CLASSES * sizeof(float);
    cl_int e;
    cl_mem in =
        clCreateBuffer(clc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, in_bytes, (void *)x, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem out = clCreateBuffer(clc, CL_MEM_READ_WRITE, out_bytes, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    float nan = NAN; /* poison: a launch that writes nothing shows */
    ck_assert_int_eq(clEnqueueFillBuffer(q, out, &nan, sizeof nan, 0, out_bytes, 0, NULL, NULL),
                     CL_SUCCESS);
    cl_event gate = NULL, done = NULL;
    if (!use_marker && cli_user_event_deadlocks(scl_context_cl_device(ctx))) {
        /* visible, and only this gate: the marker case below still runs */
        printf("%s: SKIPPED the user-event gate: this device deadlocks completing a user event "
               "(docs/pocl-basic-user-event.md); gating on a marker instead\n",
               what);
        use_marker = 1;
    }
    if (use_marker)
        e = clEnqueueMarkerWithWaitList(q, 0, NULL, &gate);
    else
        gate = clCreateUserEvent(clc, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    TU_OK(ctx, scl_network_enqueue(net, in, out, n, h, w, 1, &gate, &done));
    ck_assert_msg(done != NULL, "%s: scl_network_enqueue gave no event", what);
    cl_int status;
    if (!use_marker) {
        ck_assert_int_eq(
            clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
            CL_SUCCESS);
        ck_assert_msg(status != CL_COMPLETE, "%s: finished before its wait list", what);
        ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    }
    ck_assert_int_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    ck_assert_int_eq(
        clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
        CL_SUCCESS);
    ck_assert_int_eq(status, CL_COMPLETE);
    float *got = malloc(out_bytes);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(clEnqueueReadBuffer(q, out, CL_TRUE, 0, out_bytes, got, 0, NULL, NULL),
                     CL_SUCCESS);
    size_t k = 0;
    while (k < out_bytes / sizeof(float) && memcmp(&got[k], &want[k], sizeof(float)) == 0)
        k++;
    ck_assert_msg(k == out_bytes / sizeof(float),
                  "%s: enqueue differs from run at logit %zu: %.9g vs %.9g", what, k,
                  (double)got[k], (double)want[k]);
    free(got);
    clReleaseEvent(done);
    clReleaseEvent(gate);
    clReleaseMemObject(in);
    clReleaseMemObject(out);
}

/* ---- every model against the reference ------------------------------------------------------ */

typedef struct shape {
    int n, h, w;
} shape;

/* The models that also run an odd size: one per family and a wide V1. */
static int odd_size_too(const char *model) {
    return strcmp(model, "v2_x1_0") == 0 || strcmp(model, "v1_g3_x0_5") == 0 ||
           strcmp(model, "v1_g8_x1_0") == 0;
}

START_TEST(test_against_reference) {
    const char *model = scl_model_name(_i);
    ck_assert_ptr_nonnull(model);
    ref_weights *ws = random_state(model, 1000 + (uint64_t)_i);
    const char *path = tmp_path("ref", model);
    tu_write_state(path, ws, "");
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, model, &net));
    TU_OK(ctx, scl_network_load_weights(net, path));
    const shape shapes[2] = {{2, 64, 96}, {1, 33, 47}};
    for (int s = 0; s < (odd_size_too(model) ? 2 : 1); s++) {
        int n = shapes[s].n, h = shapes[s].h, w = shapes[s].w;
        char what[96];
        snprintf(what, sizeof what, "%s %dx3x%dx%d", model, n, h, w);
        float *x = make_input(n, h, w, 77 + (uint64_t)_i * 16 + (uint64_t)s);
        float *got = malloc((size_t)n * REF_CLASSES * sizeof *got);
        ck_assert_ptr_nonnull(got);
        TU_OK(ctx, scl_network_run(net, x, n, h, w, got));
        double *want = reference(model, ws, x, n, h, w);
        double rel = check_logits(what, got, want, n, REL_TOL);
        /* the input must matter, or the comparison proves little */
        double spread = 0, norm = 0;
        for (int k = 0; n > 1 && k < REF_CLASSES; k++) {
            spread += (want[k] - want[REF_CLASSES + k]) * (want[k] - want[REF_CLASSES + k]);
            norm += want[k] * want[k];
        }
        if (n > 1)
            ck_assert_msg(spread > 1e-6 * norm, "%s: both images give the same logits", what);
        printf("%-24s relative error %.3e%s\n", what, rel, n > 1 ? "" : " (odd size)");
        check_enqueue(ctx, net, x, n, h, w, got, s, what);
        free(x), free(got), free(want);
    }
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

/* ---- weight files the loader must refuse, and variants it must take --------------------- */

static scl_status load(scl_context *ctx, const char *model, const char *path, scl_network **out) {
    TU_OK(ctx, scl_network_create(ctx, model, out));
    return scl_network_load_weights(*out, path);
}

static void assert_has(const char *msg, const char *part) {
    ck_assert_msg(strstr(msg, part) != NULL, "message lacks \"%s\": %s", part, msg);
}

static void shape_text(const ref_weight *w, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < w->rank; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? ", " : "",
                                 (long long)w->shape[d]);
    snprintf(buf + used, cap - used, "]");
}

START_TEST(test_wrong_model) {
    /* same keys, other widths: the first misshaped tensor is named with both shapes */
    ref_weights *small = random_state("v2_x0_5", 5), *big = ref_network_weights("v2_x1_0");
    const char *path = tmp_path("wrong", "v2_x0_5");
    tu_write_state(path, small, "");
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    ck_assert_int_eq(load(ctx, "v2_x1_0", path, &net), SCL_ERROR_WEIGHTS);
    const char *msg = scl_last_error(ctx);
    assert_has(msg, path);
    const char *q = strstr(msg, "tensor '");
    ck_assert_msg(q != NULL, "no tensor named: %s", msg);
    char name[96];
    ck_assert_int_eq(sscanf(q + 8, "%95[^']", name), 1);
    const ref_weight *found = ref_weights_find(small, name), *want = ref_weights_find(big, name);
    ck_assert_msg(found && want, "'%s' is no v2 tensor: %s", name, msg);
    char fs[64], ws[64], part[160];
    shape_text(found, fs, sizeof fs);
    shape_text(want, ws, sizeof ws);
    ck_assert_str_ne(fs, ws);
    snprintf(part, sizeof part, "has shape %s, expected %s", fs, ws);
    assert_has(msg, part);
    /* and a V1 file for a V2 model: nothing fits, both lists are cut short */
    scl_network_destroy(net);
    ref_weights *v1 = random_state("v1_g3_x0_5", 6);
    const char *p1 = tmp_path("wrong", "v1_g3_x0_5");
    tu_write_state(p1, v1, "");
    ck_assert_int_eq(load(ctx, "v2_x0_5", p1, &net), SCL_ERROR_WEIGHTS);
    msg = scl_last_error(ctx);
    assert_has(msg, p1);
    assert_has(msg, "torchvision");
    assert_has(msg, "conv1.0.weight");
    assert_has(msg, "first_conv.0.weight");
    assert_has(msg, "...");
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    ref_weights_free(small), ref_weights_free(big), ref_weights_free(v1);
}
END_TEST

START_TEST(test_missing_and_unexpected) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    /* one tensor missing: named, and only it */
    ref_weights *ws = random_state("v2_x0_5", 7);
    ref_weight *victim = ref_weights_find(ws, "stage3.2.branch2.4.running_var");
    ck_assert_ptr_nonnull(victim);
    ref_weight saved = *victim;
    *victim = ws->w[ws->count - 1];
    ws->count--;
    const char *path = tmp_path("missing", "v2_x0_5");
    tu_write_state(path, ws, "");
    ck_assert_int_eq(load(ctx, "v2_x0_5", path, &net), SCL_ERROR_WEIGHTS);
    const char *msg = scl_last_error(ctx);
    assert_has(msg, path);
    assert_has(msg, "1 missing tensor(s): stage3.2.branch2.4.running_var,");
    assert_has(msg, "0 unexpected");
    scl_network_destroy(net);
    /* all of them and one too many: the extra one is listed as unexpected */
    ws->w[ws->count++] = *victim;
    *victim = saved;
    ref_weight *grown = realloc(ws->w, (size_t)(ws->count + 1) * sizeof *grown);
    ck_assert_ptr_nonnull(grown);
    ws->w = grown;
    ref_weight *extra = &ws->w[ws->count++];
    *extra = *ref_weights_find(ws, "stage2.1.branch2.6.bias");
    snprintf(extra->name, sizeof extra->name, "stage2.1.branch2.7.bias");
    extra->data = malloc(ref_weight_count(extra) * sizeof *extra->data);
    ck_assert_ptr_nonnull(extra->data);
    memcpy(extra->data, ref_weights_find(ws, "stage2.1.branch2.6.bias")->data,
           ref_weight_count(extra) * sizeof *extra->data);
    path = tmp_path("extra", "v2_x0_5");
    tu_write_state(path, ws, "");
    ck_assert_int_eq(load(ctx, "v2_x0_5", path, &net), SCL_ERROR_WEIGHTS);
    msg = scl_last_error(ctx);
    assert_has(msg, path);
    assert_has(msg, "0 missing");
    assert_has(msg, "1 unexpected tensor(s): stage2.1.branch2.7.bias");
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

START_TEST(test_not_finite) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    ref_weights *ws = random_state("v1_g3_x0_5", 8);
    ref_weight *w = ref_weights_find(ws, "features.5.branch_main_1.3.weight");
    ck_assert_ptr_nonnull(w);
    w->data[13] = NAN; /* channel 1, row 1, column 1 */
    const char *path = tmp_path("nan", "v1_g3_x0_5");
    tu_write_state(path, ws, "");
    ck_assert_int_eq(load(ctx, "v1_g3_x0_5", path, &net), SCL_ERROR_WEIGHTS);
    const char *msg = scl_last_error(ctx);
    assert_has(msg, path);
    assert_has(msg, "'features.5.branch_main_1.3.weight'");
    assert_has(msg, "NaN");
    assert_has(msg, "[1, 0, 1, 1]");
    /* a refused file leaves no half-loaded network behind */
    float x[3 * 8 * 8] = {0}, y[REF_CLASSES];
    ck_assert_int_eq(scl_network_run(net, x, 1, 8, 8, y), SCL_ERROR_INVALID_ARGUMENT);
    assert_has(scl_last_error(ctx), "no weights");
    scl_network_destroy(net);
    /* an infinite BN variance too */
    w->data[13] = 0.25f;
    w = ref_weights_find(ws, "features.0.branch_main_2.1.running_var");
    ck_assert_ptr_nonnull(w);
    w->data[0] = INFINITY;
    path = tmp_path("inf", "v1_g3_x0_5");
    tu_write_state(path, ws, "");
    ck_assert_int_eq(load(ctx, "v1_g3_x0_5", path, &net), SCL_ERROR_WEIGHTS);
    msg = scl_last_error(ctx);
    assert_has(msg, "'features.0.branch_main_2.1.running_var'");
    assert_has(msg, "Inf");
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

/* Finite tensors whose BatchNorm fold overflows float: refused, naming the BN prefix; the
 * network keeps the weights it had (the finding: loaded as infinities without a word). */
static void expect_fold_refused(scl_context *ctx, scl_network *net, ref_weights *ws,
                                const char *tag, const char *bn, const float *x, const float *y0) {
    const char *path = tmp_path(tag, "v2_x0_5");
    tu_write_state(path, ws, "");
    TU_EXPECT_FAIL(ctx, scl_network_load_weights(net, path), SCL_ERROR_WEIGHTS, path);
    char want[128];
    snprintf(want, sizeof want, "BatchNorm '%s'", bn);
    assert_has(scl_last_error(ctx), want);
    assert_has(scl_last_error(ctx), "overflows float at channel 2");
    float y[REF_CLASSES];
    for (int k = 0; k < REF_CLASSES; k++)
        y[k] = NAN;
    TU_OK(ctx, scl_network_run(net, x, 1, 16, 16, y));
    ck_assert_msg(memcmp(y, y0, sizeof y) == 0, "%s: the refused file changed the logits", tag);
}

static void set_weight(ref_weights *ws, const char *name, size_t i, float v) {
    ref_weight *w = ref_weights_find(ws, name);
    ck_assert_msg(w != NULL, "no weight %s", name);
    w->data[i] = v;
}

START_TEST(test_bn_fold_overflow) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    ref_weights *ws = random_state("v2_x0_5", 12);
    const char *good = tmp_path("good", "v2_x0_5");
    tu_write_state(good, ws, "");
    ck_assert_int_eq(load(ctx, "v2_x0_5", good, &net), SCL_OK);
    uint64_t seed = 4;
    float *x = tu_random(3 * 16 * 16, &seed), y0[REF_CLASSES];
    TU_OK(ctx, scl_network_run(net, x, 1, 16, 16, y0));
    /* a huge gamma over a zero variance: scale = 3e38 / sqrt(1e-5) */
    set_weight(ws, "conv1.1.weight", 2, 3e38f);
    set_weight(ws, "conv1.1.running_var", 2, 0.0f);
    expect_fold_refused(ctx, net, ws, "gamma", "conv1.1", x, y0);
    set_weight(ws, "conv1.1.weight", 2, 1.0f);
    set_weight(ws, "conv1.1.running_var", 2, 1.0f);
    /* a huge weight times a scale of 10 */
    set_weight(ws, "stage2.0.branch2.0.weight", 2 * 24 + 5, 3e38f);
    set_weight(ws, "stage2.0.branch2.1.running_var", 2, 0.01f);
    expect_fold_refused(ctx, net, ws, "weight", "stage2.0.branch2.1", x, y0);
    set_weight(ws, "stage2.0.branch2.0.weight", 2 * 24 + 5, 0.1f);
    /* the bias only: beta - mean * scale with a huge mean */
    set_weight(ws, "stage2.0.branch2.1.running_mean", 2, -3e38f);
    expect_fold_refused(ctx, net, ws, "mean", "stage2.0.branch2.1", x, y0);
    assert_has(scl_last_error(ctx), "folded bias");
    free(x);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

START_TEST(test_module_prefix) {
    /* DataParallel checkpoints: the same weights under "module." give the same bits */
    const char *model = "v1_g8_x0_5";
    ref_weights *ws = random_state(model, 9);
    const char *plain = tmp_path("plain", model), *prefixed = tmp_path("module", model);
    tu_write_state(plain, ws, "");
    tu_write_state(prefixed, ws, "module.");
    scl_context *ctx = tu_context();
    scl_network *a = NULL, *b = NULL;
    TU_OK(ctx, load(ctx, model, plain, &a));
    TU_OK(ctx, load(ctx, model, prefixed, &b));
    int n = 1, h = 40, w = 56;
    float *x = make_input(n, h, w, 10), ya[REF_CLASSES], yb[REF_CLASSES];
    TU_OK(ctx, scl_network_run(a, x, n, h, w, ya));
    TU_OK(ctx, scl_network_run(b, x, n, h, w, yb));
    ck_assert_msg(memcmp(ya, yb, sizeof ya) == 0, "module.-prefixed weights give other logits");
    double *want = reference(model, ws, x, n, h, w);
    check_logits("v1_g8_x0_5 module.", yb, want, n, REL_TOL);
    /* a prefixed file that lacks a tensor names it with its prefix */
    ref_weight *last = &ws->w[--ws->count];
    const char *partial = tmp_path("module_partial", model);
    tu_write_state(partial, ws, "module.");
    ws->count++;
    scl_network_destroy(b);
    ck_assert_int_eq(load(ctx, model, partial, &b), SCL_ERROR_WEIGHTS);
    assert_has(scl_last_error(ctx), last->name);
    free(x), free(want);
    scl_network_destroy(a);
    scl_network_destroy(b);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

START_TEST(test_f16_weights) {
    /* F16 files load, with I64 num_batches_tracked entries ignored; the logits match the
     * reference on the F16 values as closely as F32 files do, and the F32 ones loosely */
    const char *model = "v2_x0_5";
    ref_weights *ws = random_state(model, 11);
    const char *p32 = tmp_path("f32", model), *p16 = tmp_path("f16", model);
    tu_write_state(p32, ws, "");
    write_state_f16(p16, ws); /* ws now holds the F16 values */
    scl_context *ctx = tu_context();
    scl_network *a = NULL, *b = NULL;
    TU_OK(ctx, load(ctx, model, p32, &a));
    TU_OK(ctx, load(ctx, model, p16, &b));
    int n = 2, h = 48, w = 64;
    float *x = make_input(n, h, w, 12), y32[2 * REF_CLASSES], y16[2 * REF_CLASSES];
    TU_OK(ctx, scl_network_run(a, x, n, h, w, y32));
    TU_OK(ctx, scl_network_run(b, x, n, h, w, y16));
    double *want16 = reference(model, ws, x, n, h, w);
    double rel16 = check_logits("v2_x0_5 F16 file", y16, want16, n, REL_TOL);
    double *d32 = tu_to_double(y32, 2 * REF_CLASSES);
    double rel = tu_rel_err(y16, d32, 2 * REF_CLASSES, NULL);
    ck_assert_msg(rel > 0 && rel < 1e-2, "F16 weights: relative difference from F32 %.3g", rel);
    printf("%-24s relative error %.3e; %.3e from the F32 file's logits\n", "v2_x0_5 F16", rel16,
           rel);
    free(x), free(want16), free(d32);
    scl_network_destroy(a);
    scl_network_destroy(b);
    scl_context_destroy(ctx);
    ref_weights_free(ws);
}
END_TEST

START_TEST(test_no_weights) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    float x[3 * 16 * 16] = {0}, y[REF_CLASSES];
    ck_assert_int_eq(scl_network_run(net, x, 1, 16, 16, y), SCL_ERROR_INVALID_ARGUMENT);
    const char *msg = scl_last_error(ctx);
    assert_has(msg, "scl_network_run");
    assert_has(msg, "v2_x0_5");
    assert_has(msg, "no weights");
    cl_int e;
    cl_mem in = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_READ_WRITE, sizeof x, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem out = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_READ_WRITE, sizeof y, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_event ev = NULL;
    ck_assert_int_eq(scl_network_enqueue(net, in, out, 1, 16, 16, 0, NULL, &ev),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ev);
    assert_has(scl_last_error(ctx), "scl_network_enqueue");
    assert_has(scl_last_error(ctx), "no weights");
    /* a file that is not there: an I/O error naming it */
    char path[512];
    snprintf(path, sizeof path, "%s/scl_net_no_such_file.safetensors", tu_tmpdir());
    ck_assert_int_eq(scl_network_load_weights(net, path), SCL_ERROR_FILE_IO);
    assert_has(scl_last_error(ctx), path);
    clReleaseMemObject(in);
    clReleaseMemObject(out);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    int models = 0;
    while (scl_model_name(models))
        models++;
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("against_reference");
    tcase_add_checked_fixture(tc, NULL, remove_tmp);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_against_reference, 0, models);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("weight_files");
    tcase_add_checked_fixture(files, NULL, remove_tmp);
    tcase_set_timeout(files, 300);
    tcase_add_test(files, test_wrong_model);
    tcase_add_test(files, test_missing_and_unexpected);
    tcase_add_test(files, test_not_finite);
    tcase_add_test(files, test_bn_fold_overflow);
    tcase_add_test(files, test_module_prefix);
    tcase_add_test(files, test_f16_weights);
    tcase_add_test(files, test_no_weights);
    suite_add_tcase(s, files);
    return tu_run(s);
}
