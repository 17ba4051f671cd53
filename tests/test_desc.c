/* test_desc.c: networks from descriptions: a custom V1 (g = 2, widths and repeats of no preset,
 * 10 classes), a custom Megvii V2 and a custom torchvision V2 built in code and from their own
 * weight files, against the float64 reference of tests/ref_network.c; every preset as a
 * description; each invalid field refused with a message naming it; options; and the format and
 * layout refusals of scl_network_create_from_file. */
#include "io/safetensors.h"
#include "ref_network.h"
#include "st_writer.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static scl_model_desc v1_custom(void) {
    scl_model_desc d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.family = SCL_FAMILY_V1, d.layout = SCL_LAYOUT_MEGVII_V1;
    d.stem_width = 16, d.groups = 2, d.classes = 10, d.preprocess = SCL_PREPROCESS_MEGVII;
    d.stage_widths[0] = 40, d.stage_widths[1] = 80, d.stage_widths[2] = 160;
    d.stage_repeats[0] = 2, d.stage_repeats[1] = 3, d.stage_repeats[2] = 2;
    return d;
}

static scl_model_desc mv2_custom(void) {
    scl_model_desc d = v1_custom();
    d.family = SCL_FAMILY_V2, d.layout = SCL_LAYOUT_MEGVII_V2, d.groups = 0;
    d.stage_widths[0] = 36, d.stage_widths[1] = 72, d.stage_widths[2] = 144;
    d.stage_repeats[0] = 3, d.stage_repeats[1] = 2, d.stage_repeats[2] = 2;
    d.last_width = 200, d.classes = 7;
    return d;
}

static scl_model_desc tv2_custom(void) {
    scl_model_desc d = mv2_custom();
    d.layout = SCL_LAYOUT_TORCHVISION_V2, d.preprocess = SCL_PREPROCESS_TORCHVISION;
    d.stem_width = 20, d.stage_widths[0] = 30, d.stage_widths[1] = 64, d.stage_widths[2] = 100;
    d.stage_repeats[0] = 1, d.stage_repeats[1] = 3, d.stage_repeats[2] = 2;
    d.last_width = 96, d.classes = 37;
    return d;
}

/* Random state dict of a description (tu_random_state's recipe). */
static ref_weights *random_state(const scl_model_desc *d, uint64_t seed) {
    return tu_random_state(ref_network_weights_desc(d), seed);
}

static void write_state(const char *path, const ref_weights *ws) {
    int n = ws->count;
    const char **names = calloc((size_t)n, sizeof *names);
    int *ranks = calloc((size_t)n, sizeof *ranks);
    int64_t(*shapes)[8] = calloc((size_t)n, sizeof *shapes);
    const float **data = calloc((size_t)n, sizeof *data);
    ck_assert(names && ranks && shapes && data);
    for (int i = 0; i < n; i++) {
        names[i] = ws->w[i].name, ranks[i] = ws->w[i].rank, data[i] = ws->w[i].data;
        memcpy(shapes[i], ws->w[i].shape, sizeof shapes[i]);
    }
    char msg[1024];
    scl_status st = scl__st_write_f32(path, n, names, ranks, (const int64_t(*)[8])shapes, data, msg,
                                      sizeof msg);
    ck_assert_msg(st == SCL_OK, "writing %s: %s", path, msg);
    free(names), free(ranks), free(shapes), free(data);
}

static int argmax_f(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        b = v[i] > v[b] ? i : b;
    return b;
}

static int argmax_d(const double *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        b = v[i] > v[b] ? i : b;
    return b;
}

/* The network of `d` with the state `ws`, at n x 3 x h x w, against the reference. */
static void compare(const char *what, scl_network *net, const scl_model_desc *d,
                    const ref_weights *ws, int n, int h, int w, uint64_t seed) {
    size_t count = (size_t)n * 3 * h * w, nl = (size_t)n * d->classes;
    float *x = tu_random(count, &seed), *y = malloc(nl * sizeof *y);
    double *xd = tu_to_double(x, count), *want = malloc(nl * sizeof *want);
    ck_assert(y && want);
    for (size_t i = 0; i < nl; i++)
        y[i] = NAN; /* poisoned: every logit must be written */
    char msg[512];
    ck_assert_msg(ref_network_forward_desc(d, ws, xd, n, h, w, want, msg, sizeof msg) == 0,
                  "reference: %s", msg);
    ck_assert_int_eq(scl_network_classes(net), d->classes);
    ck_assert_int_eq(scl_network_run(net, x, n, h, w, y), SCL_OK);
    double rel = tu_rel_err(y, want, nl, NULL);
    printf("  %s %dx3x%dx%d: rel err %.2e\n", what, n, h, w, rel);
    ck_assert_msg(rel < 1e-4, "%s: relative error %.3g", what, rel);
    for (int b = 0; b < n; b++)
        ck_assert_int_eq(argmax_f(y + (size_t)b * d->classes, d->classes),
                         argmax_d(want + (size_t)b * d->classes, d->classes));
    free(x), free(y), free(xd), free(want);
}

/* Built in code and loaded, then made from the file alone: the same description read back, and
 * both against the reference. */
static void check_desc(const scl_model_desc *d, const char *tag, uint64_t seed) {
    scl_context *ctx = tu_context();
    ref_weights *ws = random_state(d, seed);
    const char *path = tu_tmp_path("desc", tag);
    write_state(path, ws);
    scl_network *net, *auto_net;
    TU_OK(ctx, scl_network_create_desc(ctx, d, &net));
    TU_OK(ctx, scl_network_load_weights(net, path));
    compare(tag, net, d, ws, 2, 57, 71, seed + 1);
    TU_OK(ctx, scl_network_create_from_file(ctx, path, &auto_net));
    scl_model_desc got;
    got.size = sizeof got;
    TU_OK(ctx, scl_network_get_desc(auto_net, &got));
    ck_assert_int_eq(got.layout, d->layout);
    ck_assert_int_eq(got.stem_width, d->stem_width);
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        ck_assert_int_eq(got.stage_widths[s], d->stage_widths[s]);
        ck_assert_int_eq(got.stage_repeats[s], d->stage_repeats[s]);
    }
    ck_assert_int_eq(got.groups, d->groups);
    ck_assert_int_eq(got.last_width, d->last_width);
    ck_assert_int_eq(got.classes, d->classes);
    ck_assert_int_eq(got.preprocess, d->preprocess);
    ck_assert_int_eq(scl_network_preprocess(auto_net), d->preprocess);
    compare(tag, auto_net, d, ws, 1, 64, 64, seed + 2);
    scl_network_destroy(net);
    scl_network_destroy(auto_net);
    ref_weights_free(ws);
    scl_context_destroy(ctx);
}

START_TEST(test_custom_v1) {
    scl_model_desc d = v1_custom();
    check_desc(&d, "v1_g2_custom", 11);
}
END_TEST

START_TEST(test_custom_megvii_v2) {
    scl_model_desc d = mv2_custom();
    check_desc(&d, "megvii_v2_custom", 21);
}
END_TEST

START_TEST(test_custom_torchvision_v2) {
    scl_model_desc d = tv2_custom();
    check_desc(&d, "tv_v2_custom", 31);
}
END_TEST

START_TEST(test_presets) {
    scl_context *ctx = tu_context();
    for (int i = 0; scl_model_name(i); i++) {
        scl_model_desc d;
        d.size = sizeof d;
        TU_OK(NULL, scl_model_preset(scl_model_name(i), &d));
        scl_network *a, *b;
        TU_OK(ctx, scl_network_create(ctx, scl_model_name(i), &a));
        TU_OK(ctx, scl_network_create_desc(ctx, &d, &b));
        ck_assert_int_eq(scl_network_layer_count(a), scl_network_layer_count(b));
        ck_assert_int_eq(scl_network_classes(b), 1000);
        char text[256];
        ck_assert_ptr_nonnull(
            strstr(scl_model_desc_text(&d, text, sizeof text), scl_model_name(i)));
        scl_network_destroy(a), scl_network_destroy(b);
    }
    scl_model_desc d;
    d.size = 8; /* below the first released layout */
    ck_assert_int_eq(scl_model_preset("v2_x1_0", &d), SCL_ERROR_INVALID_ARGUMENT);
    d.size = sizeof d;
    ck_assert_int_eq(scl_model_preset("v3_x1_0", &d), SCL_ERROR_UNSUPPORTED_MODEL);
    ck_assert_ptr_nonnull(strstr(scl_last_error(NULL), "v2_x0_5"));
    scl_network *net = NULL;
    ck_assert_int_eq(scl_network_create(ctx, "auto", &net), SCL_ERROR_UNSUPPORTED_MODEL);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "scl_network_create_from_file"));
    ck_assert_ptr_null(net);
    scl_context_destroy(ctx);
}
END_TEST

/* One mutation of a valid description and the field its refusal must name. */
typedef struct bad_case {
    const char *field;
    void (*mutate)(scl_model_desc *d);
    int v2; /* starts from the Megvii V2 description */
} bad_case;

static void m_size(scl_model_desc *d) {
    d->size = sizeof(size_t);
}
static void m_family(scl_model_desc *d) {
    d->family = SCL_FAMILY_V2;
}
static void m_layout(scl_model_desc *d) {
    d->layout = (scl_layout)7;
}
static void m_stem(scl_model_desc *d) {
    d->stem_width = 0;
}
static void m_width(scl_model_desc *d) {
    d->stage_widths[2] = 100000;
}
static void m_repeats(scl_model_desc *d) {
    d->stage_repeats[1] = 0;
}
static void m_groups(scl_model_desc *d) {
    d->groups = 0;
}
static void m_mid(scl_model_desc *d) {
    d->stage_widths[1] = 84;
} /* mid 21, g 2 */
static void m_cin(scl_model_desc *d) {
    d->stage_widths[0] = 41;
} /* 41 - 16 odd; mid 10 */
static void m_classes(scl_model_desc *d) {
    d->classes = 0;
}
static void m_many(scl_model_desc *d) {
    d->classes = SCL_MODEL_MAX_CLASSES + 1;
}
static void m_pre(scl_model_desc *d) {
    d->preprocess = (scl_preprocess)9;
}
static void m_last_v1(scl_model_desc *d) {
    d->last_width = 1024;
}
static void m_last_v2(scl_model_desc *d) {
    d->last_width = 0;
}
static void m_odd(scl_model_desc *d) {
    d->stage_widths[1] = 73;
}
static void m_narrow(scl_model_desc *d) {
    d->stage_widths[1] = 36;
} /* Megvii V2: C <= C_in */
static void m_v2_groups(scl_model_desc *d) {
    d->groups = 3;
}
static void m_repeats_big(scl_model_desc *d) {
    d->stage_repeats[0] = SCL_MODEL_MAX_REPEATS + 1;
}

static const bad_case bad_cases[] = {
    {"size", m_size, 0},
    {"family", m_family, 0},
    {"layout", m_layout, 0},
    {"stem_width", m_stem, 0},
    {"stage_widths[2]", m_width, 0},
    {"stage_repeats[1]", m_repeats, 0},
    {"groups", m_groups, 0},
    {"stage_widths[1]", m_mid, 0},
    {"stage_widths[0]", m_cin, 0},
    {"classes", m_classes, 0},
    {"classes", m_many, 0},
    {"preprocess", m_pre, 0},
    {"last_width", m_last_v1, 0},
    {"last_width", m_last_v2, 1},
    {"stage_widths[1]", m_odd, 1},
    {"stage_widths[1]", m_narrow, 1},
    {"groups", m_v2_groups, 1},
    {"stage_repeats[0]", m_repeats_big, 1},
};

START_TEST(test_invalid) {
    const bad_case *c = &bad_cases[_i];
    scl_context *ctx = tu_context();
    scl_model_desc d = c->v2 ? mv2_custom() : v1_custom();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create_desc(ctx, &d, &net)); /* valid before the mutation */
    scl_network_destroy(net);
    net = NULL;
    c->mutate(&d);
    ck_assert_int_eq(scl_network_create_desc(ctx, &d, &net), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(net);
    char want[64];
    snprintf(want, sizeof want, "scl_model_desc.%s", c->field);
    ck_assert_msg(strstr(scl_last_error(ctx), want), "case %d: '%s' does not name %s", _i,
                  scl_last_error(ctx), want);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_options) {
    scl_context *ctx = tu_context();
    scl_model_desc d = v1_custom();
    scl_network_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create_desc_ex(ctx, &d, NULL, &net));
    scl_network_destroy(net);
    o.precision = SCL_PRECISION_FLOAT32, o.fused_kernels = SCL_SWITCH_OFF;
    TU_OK(ctx, scl_network_create_desc_ex(ctx, &d, &o, &net));
    scl_network_destroy(net);
    TU_OK(ctx, scl_network_create_ex(ctx, "v2_x0_5", &o, &net));
    scl_network_destroy(net);
    net = NULL;
    o.precision = SCL_PRECISION_FLOAT16;
    ck_assert_int_eq(scl_network_create_ex(ctx, "v2_x0_5", &o, &net), SCL_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "precision"));
    o.precision = (scl_precision)5;
    ck_assert_int_eq(scl_network_create_desc_ex(ctx, &d, &o, &net), SCL_ERROR_INVALID_ARGUMENT);
    o.precision = SCL_PRECISION_DEFAULT, o.fused_kernels = (scl_switch)3;
    ck_assert_int_eq(scl_network_create_desc_ex(ctx, &d, &o, &net), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "fused_kernels"));
    o.fused_kernels = SCL_SWITCH_DEFAULT, o.size = 4;
    ck_assert_int_eq(scl_network_create_from_file_ex(ctx, "/nonexistent", &o, &net),
                     SCL_ERROR_FILE_IO);
    ck_assert_int_eq(scl_network_create_desc_ex(ctx, &d, &o, &net), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "scl_network_options.size"));
    ck_assert_ptr_null(net);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_file_formats) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    /* what torch.onnx.export writes first: ir_version (field 1, varint 8), producer_name */
    static const unsigned char onnx[] = {0x08, 0x08, 0x12, 0x07, 'p',  'y',  't',
                                         'o',  'r',  'c',  'h',  0x1a, 0x01, '2'};
    const char *p = tu_tmp_path("model", "x.onnx");
    tu_write_bytes(p, onnx, sizeof onnx);
    /* a valid ModelProto without a graph: read as ONNX, refused as one */
    ck_assert_int_eq(scl_network_create_from_file(ctx, p, &net), SCL_ERROR_FILE_FORMAT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "an ONNX model without a graph"));
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), p));
    static const char text[] = "this is not a weights file at all\n";
    p = tu_tmp_path("model", "x.txt");
    tu_write_bytes(p, text, sizeof text - 1);
    ck_assert_int_eq(scl_network_create_from_file(ctx, p, &net), SCL_ERROR_FILE_FORMAT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "safetensors"));
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "ONNX"));
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), p));
    /* a ResNet's state dict: the first key no layout has, with its shape */
    float w[4 * 3 * 1 * 1] = {0}, b[4] = {0};
    const char *names[] = {"conv1.weight", "layer1.0.conv1.weight"};
    const int ranks[] = {4, 1};
    const int64_t shapes[][8] = {{4, 3, 1, 1}, {4}};
    const float *data[] = {w, b};
    char msg[512];
    p = tu_tmp_path("model", "resnet.safetensors");
    ck_assert_int_eq(scl__st_write_f32(p, 2, names, ranks, shapes, data, msg, sizeof msg), SCL_OK);
    ck_assert_int_eq(scl_network_create_from_file(ctx, p, &net), SCL_ERROR_UNSUPPORTED_MODEL);
    const char *e = scl_last_error(ctx);
    ck_assert_msg(strstr(e, "'conv1.weight' of shape [4, 3, 1, 1]") && strstr(e, p) &&
                      strstr(e, "Megvii"),
                  "%s", e);
    scl_model_desc d;
    d.size = sizeof d;
    ck_assert_int_eq(scl_model_desc_from_file(ctx, p, &d), SCL_ERROR_UNSUPPORTED_MODEL);
    ck_assert_ptr_null(net);
    tu_remove_tmp();
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("desc");
    TCase *tc = tcase_create("networks");
    tcase_add_checked_fixture(tc, NULL, tu_remove_tmp);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_custom_v1);
    tcase_add_test(tc, test_custom_megvii_v2);
    tcase_add_test(tc, test_custom_torchvision_v2);
    tcase_add_test(tc, test_presets);
    suite_add_tcase(s, tc);
    TCase *checks = tcase_create("checks");
    tcase_add_loop_test(checks, test_invalid, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(checks, test_options);
    tcase_add_test(checks, test_file_formats);
    suite_add_tcase(s, checks);
    return tu_run(s);
}
