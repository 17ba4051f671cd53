/* test_tune.c: the per-device tuning table as op creation reads it, from hand-written tables in
 * a fresh cache directory under the device's real tuning file name: a valid non-default entry
 * is used (and the output still matches the float64 reference); entries with out-of-range
 * values (work-group -1 -1, vec 3, co_tile 0) and stale tables are skipped with a warning
 * naming the file, and the default is used. Then the tool's search (no timing asserted). */
#include "net/model.h"
#include "ops/depthwise.h"
#include "ops/desc.h"
#include "ops/op.h"
#include "ref_depthwise.h"
#include "ref_pointwise.h"
#include "testutil.h"
#include "tune/tune.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the log callback: every warning, concatenated --------------------------------------- */

typedef struct log_capture {
    char text[16384];
    int warnings;
} log_capture;

static void capture(scl_log_level level, const char *message, void *user) {
    log_capture *c = user;
    if (level != SCL_LOG_WARN) return;
    c->warnings++;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof c->text - len, "%s\n", message);
}

/* A context with a cache directory of its own (empty) and the log captured. */
static scl_context *fresh_context(const char *name, log_capture *log, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/tune-%s-%ld", tu_tmpdir(), name, (long)getpid());
    mkdir(dir, 0700);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    memset(log, 0, sizeof *log);
    scl_context_set_log(ctx, capture, log);
    return ctx;
}

/* Writes the device's tuning file by hand: header (format and source hash as given, or the
 * right ones for NULL) and the body lines. path gets the file's name. */
static void write_table(scl_context *ctx, const char *format, const char *hash, const char *body,
                        char *path, size_t cap) {
    char want[65];
    TU_OK(ctx, scl__tune_source_hash(ctx, want));
    scl__tune_path(ctx, path, cap);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fprintf(f, "%s\nsource %s\ndevice hand-written by test_tune\n%s",
            format ? format : "shufflecl-tune 2", hash ? hash : want, body);
    fclose(f);
    scl__tune_release(ctx); /* read it afresh */
}

/* ---- single ops ---------------------------------------------------------------------------- */

#define PW_N 2
#define PW_C 24
#define PW_H 9
#define PW_W 11

/* A 24 -> 24 pointwise op with ReLU on a 2 x 24 x 9 x 11 input, checked against the float64
 * reference; returns the op's build options and whether it was tuned. */
static int run_pointwise(scl_context *ctx, char *options, size_t cap) {
    uint64_t seed = 77;
    size_t nin = (size_t)PW_N * PW_C * PW_H * PW_W, nw = (size_t)PW_C * PW_C;
    float *x = tu_random(nin, &seed), *w = tu_random(nw, &seed), *b = tu_random(PW_C, &seed);
    scl_op *op = NULL;
    TU_OK(ctx, scl_op_pointwise_create(ctx, PW_C, PW_C, 1, SCL_OP_RELU, w, b, &op));
    float *y = tu_run_op(ctx, op, x, PW_N, PW_C, PW_H, PW_W, TU_MAP_NONE, PW_C, PW_H, PW_W,
                         TU_MAP_NONE, "pointwise");
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(w, nw), *bd = tu_to_double(b, PW_C);
    double *ref = malloc(nin * sizeof *ref);
    ref_pointwise(xd, PW_N, PW_C, PW_C, 1, PW_H * PW_W, wd, bd, NULL, 1, ref);
    tu_check_close("pointwise", y, ref, nin, 1e-5, 1e-5);
    snprintf(options, cap, "%s", scl__op_options(op));
    int tuned = scl__op_tuned(op);
    scl_op_destroy(op);
    free(x), free(w), free(b), free(y), free(xd), free(wd), free(bd), free(ref);
    return tuned;
}

/* A 24-channel stride-1 depthwise op with ReLU, checked the same way. */
static int run_depthwise(scl_context *ctx) {
    uint64_t seed = 78;
    size_t nin = (size_t)PW_N * PW_C * PW_H * PW_W;
    float *x = tu_random(nin, &seed), *w = tu_random(PW_C * 9, &seed), *b = tu_random(PW_C, &seed);
    scl_op *op = NULL;
    TU_OK(ctx, scl_op_depthwise_create(ctx, PW_C, 1, SCL_OP_RELU, w, b, &op));
    float *y = tu_run_op(ctx, op, x, PW_N, PW_C, PW_H, PW_W, TU_MAP_NONE, PW_C, PW_H, PW_W,
                         TU_MAP_NONE, "depthwise");
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(w, PW_C * 9), *bd = tu_to_double(b, PW_C);
    double *ref = malloc(nin * sizeof *ref);
    ref_depthwise3x3(xd, PW_N, PW_C, PW_H, PW_W, 1, wd, bd, 1, ref);
    tu_check_close("depthwise", y, ref, nin, 1e-5, 1e-5);
    int tuned = scl__op_tuned(op);
    scl_op_destroy(op);
    free(x), free(w), free(b), free(y), free(xd), free(wd), free(bd), free(ref);
    return tuned;
}

#define PW_KEY "0 24 24 1 1 1"
#define DW_KEY "0 24 24 24 1 1"

/* (a) a valid entry that is not the default: used, and the output is still right */
START_TEST(test_tune_valid_entry) {
    log_capture log;
    char dir[1024], path[4200], opts[256];
    scl_context *ctx = fresh_context("valid", &log, dir, sizeof dir);
    write_table(ctx, NULL, NULL,
                "pointwise f32 * : " PW_KEY " : 4 3 # 1.0 0.5\n"
                "depthwise f32 9x11 : " DW_KEY " : 2 3 2 0 4 2\n",
                path, sizeof path);
    ck_assert_int_eq(run_pointwise(ctx, opts, sizeof opts), 1);
    ck_assert_msg(strstr(opts, "-DVEC=4 -DCO_TILE=3") != NULL, "options '%s'", opts);
    ck_assert_int_eq(run_depthwise(ctx), 1);
    ck_assert_uint_eq(ctx->tuned_ops, 2);
    ck_assert_msg(log.warnings == 0, "unexpected warnings: %s", log.text);
    scl_context_destroy(ctx);
}
END_TEST

/* (b)-(d) values out of range: each entry skipped with a warning naming the file, the default
 * used. Before the descriptors checked tuning entries, -1 -1 passed the local-size check (the
 * product wrapped to 1) and vec 3 / co_tile 0 made the create fail. */
static const char *const bad_entries[] = {
    "depthwise f32 * : " DW_KEY " : 4 2 4 0 -1 -1\n",       /* (b) work-group -1 x -1 */
    "pointwise f32 * : " PW_KEY " : 3 8\n",                 /* (c) vec 3 */
    "pointwise f32 * : " PW_KEY " : 16 0\n",                /* (d) co_tile 0 */
    "depthwise f32 * : " DW_KEY " : 4 2 4 0 65536 65536\n", /* over the device's limit */
    "pointwise f32 * : " PW_KEY " : 4 99999999999\n",       /* beyond int: malformed */
    "pointwise f32 * : " PW_KEY " : 4\n",                   /* too few values */
};
#define NBAD ((int)(sizeof bad_entries / sizeof bad_entries[0]))

START_TEST(test_tune_bad_entry) {
    log_capture log;
    char dir[1024], path[4200], opts[256], name[32];
    snprintf(name, sizeof name, "bad%d", _i);
    scl_context *ctx = fresh_context(name, &log, dir, sizeof dir);
    write_table(ctx, NULL, NULL, bad_entries[_i], path, sizeof path);
    ck_assert_int_eq(run_pointwise(ctx, opts, sizeof opts), 0);
    ck_assert_int_eq(run_depthwise(ctx), 0);
    ck_assert_uint_eq(ctx->tuned_ops, 0);
    ck_assert_msg(log.warnings >= 1 && strstr(log.text, path) != NULL,
                  "entry %d: no warning naming %s; log: %s", _i, path, log.text);
    scl_context_destroy(ctx);
}
END_TEST

/* (e) stale tables: another kernel-source hash, another format. Their (valid) entry is unused. */
START_TEST(test_tune_stale_table) {
    log_capture log;
    char dir[1024], path[4200], opts[256], name[32];
    snprintf(name, sizeof name, "stale%d", _i);
    scl_context *ctx = fresh_context(name, &log, dir, sizeof dir);
    const char *body = "pointwise f32 * : " PW_KEY " : 4 3\n";
    if (_i == 0)
        write_table(ctx, NULL, "0123456789abcdef", body, path, sizeof path);
    else
        write_table(ctx, "shufflecl-tune 1", NULL, body, path, sizeof path);
    ck_assert_int_eq(run_pointwise(ctx, opts, sizeof opts), 0);
    ck_assert_msg(strstr(opts, "-DCO_TILE=3") == NULL, "options '%s'", opts);
    ck_assert_uint_eq(ctx->tuned_ops, 0);
    ck_assert_msg(strstr(log.text, path) != NULL, "no warning naming %s; log: %s", path, log.text);
    scl_context_destroy(ctx);
}
END_TEST

/* The local-size check itself must not overflow: SIZE_MAX x SIZE_MAX wrapped to 1 and passed. */
START_TEST(test_tune_local_overflow) {
    scl_context *ctx = tu_context();
    const size_t huge[2] = {SIZE_MAX, SIZE_MAX}, wrap[2] = {(size_t)1 << 32, (size_t)1 << 32};
    TU_EXPECT_FAIL(ctx, scl__check_local2(ctx, "t", huge), SCL_ERROR_INVALID_ARGUMENT,
                   "work-group");
    TU_EXPECT_FAIL(ctx, scl__check_local2(ctx, "t", wrap), SCL_ERROR_INVALID_ARGUMENT,
                   "work-group");
    float w[8 * 9] = {0};
    scl_dw_cfg cfg = {.vw = 4, .th = 2, .seg = 4, .local = {SIZE_MAX, SIZE_MAX}};
    scl_op *op = NULL;
    TU_EXPECT_FAIL(ctx, scl__op_depthwise_create_cfg(ctx, 8, 1, 0, w, NULL, &cfg, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "local0");
    ck_assert_ptr_null(op);
    scl_context_destroy(ctx);
}
END_TEST

/* Entries measured at given input sizes: the op made before the size is known takes the one of
 * the largest size, and at each launch on a size with an entry of its own runs that entry's
 * configuration (a variant built on first use); an invalid sized entry is skipped with a
 * warning. Every output checked against the float64 reference. */
START_TEST(test_tune_per_size) {
    log_capture log;
    char dir[1024], path[4200];
    scl_context *ctx = fresh_context("sizes", &log, dir, sizeof dir);
    write_table(ctx, NULL, NULL,
                "pointwise f32 9x11 : " PW_KEY " : 4 3\n"
                "pointwise f32 5x5 : " PW_KEY " : 2 5\n"
                "pointwise f32 3x3 : " PW_KEY " : 2 0\n",
                path, sizeof path);
    uint64_t seed = 79;
    size_t nw = (size_t)PW_C * PW_C;
    float *w = tu_random(nw, &seed), *b = tu_random(PW_C, &seed);
    double *wd = tu_to_double(w, nw), *bd = tu_to_double(b, PW_C);
    scl_op *op = NULL;
    TU_OK(ctx, scl_op_pointwise_create(ctx, PW_C, PW_C, 1, SCL_OP_RELU, w, b, &op));
    ck_assert_int_eq(scl__op_tuned(op), 1);
    ck_assert_ptr_nonnull(strstr(scl__op_options(op), "-DVEC=4 -DCO_TILE=3"));
    static const struct {
        int h, w;
        const char *options;
    } runs[] = {{5, 5, "-DVEC=2 -DCO_TILE=5"},
                {9, 11, "-DVEC=4 -DCO_TILE=3"},
                {7, 7, "-DVEC=4 -DCO_TILE=3"},
                {3, 3, "-DVEC=4 -DCO_TILE=3"},
                {5, 5, "-DVEC=2 -DCO_TILE=5"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        int h = runs[r].h, wd_ = runs[r].w;
        size_t count = (size_t)PW_N * PW_C * h * wd_;
        float *x = tu_random(count, &seed);
        char what[64];
        snprintf(what, sizeof what, "pointwise at %dx%d", h, wd_);
        float *y =
            tu_run_op(ctx, op, x, PW_N, PW_C, h, wd_, TU_MAP_NONE, PW_C, h, wd_, TU_MAP_NONE, what);
        ck_assert_msg(strstr(scl__op_options(op), runs[r].options) != NULL, "%s: options '%s'",
                      what, scl__op_options(op));
        double *xd = tu_to_double(x, count), *ref = malloc(count * sizeof *ref);
        ref_pointwise(xd, PW_N, PW_C, PW_C, 1, h * wd_, wd, bd, NULL, 1, ref);
        tu_check_close(what, y, ref, count, 1e-5, 1e-5);
        free(x), free(y), free(xd), free(ref);
    }
    ck_assert_uint_eq(ctx->tuned_ops, 1); /* one op, tuned */
    char where[4300];
    snprintf(where, sizeof where, "%s:6:", path);
    ck_assert_msg(log.warnings == 1 && strstr(log.text, where) != NULL, "log: %s", log.text);
    scl_op_destroy(op);
    free(w), free(b), free(wd), free(bd);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- the table itself ---------------------------------------------------------------------- */

/* Parsing (what is skipped, with a warning naming file:line), lookup by size, save and reload. */
START_TEST(test_tune_table) {
    log_capture log;
    char dir[1024], path[4200], again[4200];
    scl_context *ctx = fresh_context("table", &log, dir, sizeof dir);
    write_table(ctx, NULL, NULL,
                "# a comment\n"
                "\n"
                "pointwise f32 28x28 : 0 8 8 1 1 0 : 16 4 # 1.5 1.0\n" /* line 6 */
                "pointwise f32 56x56 : 0 8 8 1 1 0 : 8 4\n"            /* line 7: largest */
                "pointwise f32 7x7 : 0 8 8 1 1 0 : 4 4\n"              /* line 8 */
                "depthwise f32 * : 0 8 8 8 1 0 : 4 2 4 0 0 0\n"        /* line 9 */
                "depthwise f32 14x14 : 0 8 8 8 1 0 : 8 2 8 0 0 0\n"    /* line 10 */
                "pointwise f32 0x7 : 0 8 8 1 1 0 : 1 1\n"              /* bad size */
                "pointwise f32 * 0 8 8 1 1 0 : 1 1\n"                  /* no ':' */
                "Pointwise f32 * : 0 8 8 1 1 0 : 1 1\n"                /* bad family */
                "pointwise f32 * : 0 8 8 1 1 0 : 1 1 1 1 1 1 1 1 1\n"  /* 9 values */
                "pointwise f32 * : 0 8 8 1 1 0 : 1x 1\n"               /* not a number */
                "pointwise f32 * : : 1 1\n",                           /* no key */
                path, sizeof path);
    const scl__tune_table *t = scl__tune_get(ctx);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->n, 5);
    ck_assert_int_eq(log.warnings, 6);
    char where[4300];
    snprintf(where, sizeof where, "%s:11:", path);
    ck_assert_msg(strstr(log.text, where) != NULL, "no warning at %s; log: %s", where, log.text);
    const int pk[6] = {0, 8, 8, 1, 1, 0}, dk[6] = {0, 8, 8, 8, 1, 0};
    const scl__tune_entry *e = scl__tune_find(t, "pointwise", "f32", pk, 6, 0, 0);
    ck_assert(e && e->h == 56 && e->val[0] == 8 && e->line == 7); /* any size: the largest */
    e = scl__tune_find(t, "pointwise", "f32", pk, 6, 28, 28);
    ck_assert(e && e->val[0] == 16 && e->nval == 2 && e->default_ms == 1.5);
    ck_assert_ptr_null(scl__tune_find(t, "pointwise", "f32", pk, 6, 14, 14));
    ck_assert_ptr_null(scl__tune_find(t, "pointwise", "f16", pk, 6, 0, 0));
    e = scl__tune_find(t, "depthwise", "f32", dk, 6, 0, 0);
    ck_assert(e && e->h == 0 && e->val[0] == 4); /* any size: the '*' entry first */
    /* merged into a copy with one replaced entry, saved, read back: the same entries */
    scl__tune_table *copy = scl__tune_new();
    scl__tune_entry r = t->e[0];
    r.val[1] = 12;
    TU_OK(ctx, scl__tune_put(ctx, copy, &r));
    TU_OK(ctx, scl__tune_merge(ctx, copy, t));
    ck_assert_int_eq(copy->n, 5);
    TU_OK(ctx, scl__tune_save(ctx, copy, again, sizeof again));
    ck_assert_str_eq(again, path);
    const scl__tune_table *back = scl__tune_get(ctx);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(back->n, 5);
    e = scl__tune_find(back, "pointwise", "f32", pk, 6, 28, 28);
    ck_assert(e && e->val[1] == 12);
    for (int i = 0; i < 5; i++) {
        const scl__tune_entry *a = &copy->e[i];
        e = scl__tune_find(back, a->family, a->precision, a->key, a->nkey, a->h, a->w);
        ck_assert(e && e->nval == a->nval && memcmp(e->val, a->val, sizeof a->val) == 0);
        ck_assert(e->h || !a->h);
    }
    ck_assert_int_eq(log.warnings, 6); /* the file written reads cleanly */
    scl__tune_free(copy);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- networks ------------------------------------------------------------------------------ */

static int run_net(scl_context *ctx, const float *x, float *y) {
    scl_network *net;
    /* layer by layer: a fused unit's layers do not use the per-layer entries */
    scl_network_options o = {.size = sizeof o, .fused_kernels = SCL_SWITCH_OFF};
    TU_OK(ctx, scl_network_create_ex(ctx, "v2_x0_5", &o, &net));
    TU_OK(ctx, scl_network_random_weights(net, 3));
    TU_OK(ctx, scl_network_run(net, x, 1, 64, 64, y));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    TU_OK(ctx, scl_network_get_stats(net, 1, 64, 64, &s));
    scl_network_destroy(net);
    return s.tuned_layers;
}

/* A network picks tuned entries up through the public creates, counts them, and computes the
 * same logits; the bad entry of finding 2 (-1 -1 work-groups, logits 57% off) is skipped. */
START_TEST(test_tune_network) {
    log_capture log;
    char dir[1024], path[4200], body[512];
    scl_context *ctx = fresh_context("net", &log, dir, sizeof dir);
    uint64_t seed = 9;
    float *x = tu_random(3 * 64 * 64, &seed);
    float *y0 = malloc(1000 * sizeof *y0), *y1 = malloc(1000 * sizeof *y1);
    ck_assert_int_eq(run_net(ctx, x, y0), 0); /* no table yet */
    /* the first pointwise and depthwise layers of the model, and how many layers share them */
    scl_model *m;
    ck_assert_int_eq(scl__model_build("v2_x0_5", 0, &m), SCL_OK);
    const scl_layer *pw = NULL, *dw = NULL;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        if (!pw && l->kind == SCL_LAYER_POINTWISE) pw = l;
        if (!dw && l->kind == SCL_LAYER_DEPTHWISE) dw = l;
    }
    ck_assert(pw && dw);
    int same = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        same += l->kind == SCL_LAYER_POINTWISE && l->cin == pw->cin && l->cout == pw->cout &&
                l->groups == pw->groups && l->flags == pw->flags;
    }
    snprintf(body, sizeof body,
             "pointwise f32 * : 0 %d %d %d 1 %d : 4 3\ndepthwise f32 * : 0 %d %d %d %d %d : 4 2 4 "
             "0 -1 -1\n",
             pw->cin, pw->cout, pw->groups, pw->flags, dw->cout, dw->cout, dw->cout, dw->stride,
             dw->flags);
    scl__model_free(m);
    write_table(ctx, NULL, NULL, body, path, sizeof path);
    ck_assert_int_eq(run_net(ctx, x, y1), same);
    ck_assert_msg(strstr(log.text, path) != NULL, "no warning naming %s; log: %s", path, log.text);
    double *ref = tu_to_double(y0, 1000);
    tu_check_close("tuned network vs default", y1, ref, 1000, 1e-5, 1e-5);
    free(ref), free(x), free(y0), free(y1);
    scl_context_destroy(ctx);
}
END_TEST

/* A unit entry with fuse = 0 (what the search keeps where a unit measured faster layer by
 * layer) makes the network run every unit of that shape as its layers: two more launches per
 * V2 stride-1 unit, the same logits. */
START_TEST(test_tune_unfused_unit) {
    log_capture log;
    char dir[1024], path[4200], body[256];
    scl_context *ctx = fresh_context("unit", &log, dir, sizeof dir);
    uint64_t seed = 19;
    float *x = tu_random(3 * 64 * 64, &seed);
    float *y[2] = {malloc(1000 * sizeof(float)), malloc(1000 * sizeof(float))};
    int launches[2];
    scl_model_desc d = {.size = sizeof d};
    TU_OK(ctx, scl_model_preset("v2_x0_5", &d));
    scl_model *m;
    ck_assert_int_eq(scl__model_build_fusable(&d, 1, &m), SCL_OK);
    int first = -1, same = 0, a, last;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        if (!l->unit_len || l->unit_stride != 1) continue;
        if (first < 0) first = i;
        same += l->cin == m->layers[first].cin;
    }
    ck_assert_int_ge(first, 0);
    int cout = scl__unit_outputs(&m->layers[first], &a, &last);
    snprintf(body, sizeof body, "unit f32 * : 0 %d %d 1 1 0 : 16 0 0 0\n", m->layers[first].cin,
             cout);
    scl__model_free(m);
    for (int k = 0; k < 2; k++) {
        if (k == 1) write_table(ctx, NULL, NULL, body, path, sizeof path);
        scl_network *net;
        TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
        TU_OK(ctx, scl_network_random_weights(net, 3));
        TU_OK(ctx, scl_network_run(net, x, 1, 64, 64, y[k]));
        launches[k] = scl_network_launch_count(net);
        scl_network_destroy(net);
    }
    ck_assert_int_eq(launches[1], launches[0] + 2 * same);
    double *ref = tu_to_double(y[0], 1000);
    tu_check_close("unit layer by layer vs fused", y[1], ref, 1000, 1e-5, 1e-5);
    ck_assert_msg(log.warnings == 0, "%d warnings: %.400s", log.warnings, log.text);
    free(ref), free(x), free(y[0]), free(y[1]);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- the tool's search ---------------------------------------------------------------------- */

/* The search writes a table that loads, holds what it reports, and networks made afterwards
 * compute the same logits. Which candidates win is timing, and not asserted. */
START_TEST(test_tune_search) {
    log_capture log;
    char dir[1024];
    scl_context *ctx = fresh_context("search", &log, dir, sizeof dir);
    uint64_t seed = 9;
    float *x = tu_random(3 * 64 * 64, &seed);
    float *y0 = malloc(1000 * sizeof *y0), *y1 = malloc(1000 * sizeof *y1);
    run_net(ctx, x, y0);
    scl_tune_report r = {.size = sizeof(scl_tune_report)};
    TU_OK(ctx, scl_tune_model(ctx, "v2_x0_5", 1, 32, 32, NULL, NULL, NULL, &r));
    ck_assert_int_ge(r.shapes, 8); /* distinct pointwise and depthwise shapes of v2_x0_5 */
    ck_assert_int_gt(r.candidates, r.shapes);
    ck_assert_int_eq(r.rejected, 0); /* every configuration computes the same */
    const scl__tune_table *t = scl__tune_get(ctx);
    ck_assert_msg(t != NULL || r.improved == 0, "the table written to %s does not load", r.path);
    ck_assert_int_eq(t ? t->n : 0, r.improved);
    FILE *f = fopen(r.path, "r");
    ck_assert_msg(f != NULL, "no tuning file at %s", r.path);
    fclose(f);
    int tuned = run_net(ctx, x, y1);
    ck_assert_int_ge(tuned, r.improved > 0 ? 1 : 0);
    double *ref = tu_to_double(y0, 1000);
    tu_check_close("tuned network vs default", y1, ref, 1000, 1e-5, 1e-5);
    ck_assert_msg(log.warnings == 0, "%d warnings: %.400s", log.warnings, log.text);
    free(ref), free(x), free(y0), free(y1);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_tune_errors) {
    scl_context *ctx = tu_context();
    scl_tune_report r = {.size = sizeof(scl_tune_report)};
    ck_assert_int_eq(scl_tune_model(ctx, "nope", 1, 64, 64, NULL, NULL, NULL, &r),
                     SCL_ERROR_UNSUPPORTED_MODEL);
    TU_EXPECT_FAIL(ctx, scl_tune_model(ctx, "v2_x0_5", 1, 64, 64, "pointwise,nope", NULL, NULL, &r),
                   SCL_ERROR_INVALID_ARGUMENT, "nope");
    TU_OK(ctx, scl_context_set_cache_dir(ctx, NULL));
    ck_assert_int_eq(scl_tune_model(ctx, "v2_x0_5", 1, 64, 64, NULL, NULL, NULL, &r),
                     SCL_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "cache directory"));
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tune");
    TCase *tc = tcase_create("tune");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_tune_valid_entry);
    tcase_add_loop_test(tc, test_tune_bad_entry, 0, NBAD);
    tcase_add_loop_test(tc, test_tune_stale_table, 0, 2);
    tcase_add_test(tc, test_tune_local_overflow);
    tcase_add_test(tc, test_tune_table);
    tcase_add_test(tc, test_tune_per_size);
    tcase_add_test(tc, test_tune_network);
    tcase_add_test(tc, test_tune_unfused_unit);
    tcase_add_test(tc, test_tune_search);
    tcase_add_test(tc, test_tune_errors);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
