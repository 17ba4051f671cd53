/* testutil.c: shared helpers for the Check tests (see testutil.h). */
#include "testutil.h"

#include "ops/desc.h"
#include "ref_network.h"
#include "st_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

scl_context *tu_context(void) {
    scl_context *ctx = NULL;
    scl_status st = scl_context_create(NULL, &ctx);
    ck_assert_msg(st == SCL_OK, "no OpenCL context: %s", scl_last_error(NULL));
    return ctx;
}

const char *tu_tmpdir(void) {
    const char *d = getenv("SCL_TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

static uint64_t next(uint64_t *s) {
    /* splitmix64: good enough spread for test data, identical on every platform */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *seed) {
    for (size_t i = 0; i < n; i++) {
        float v;
        do
            v = lo + (hi - lo) * (float)((next(seed) >> 40) * (1.0 / 16777216.0));
        while (v == 0.0f);
        x[i] = v;
    }
}

float *tu_random(size_t n, uint64_t *seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(x, n, -1.0f, 1.0f, seed);
    return x;
}

double tu_rel_err(const float *out, const double *ref, size_t n, double *max_abs) {
    double num = 0, den = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i])) {
            if (max_abs) *max_abs = INFINITY;
            return INFINITY;
        }
        double d = (double)out[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
        if (fabs(d) > mx) mx = fabs(d);
    }
    if (max_abs) *max_abs = mx;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

void tu_check_close(const char *what, const float *out, const double *ref, size_t n, double tol,
                    double abs_tol) {
    double mx;
    double rel = tu_rel_err(out, ref, n, &mx);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]) || fabs(out[i] - ref[i]) >= abs_tol) {
            bad = i;
            break;
        }
    ck_assert_msg(rel < tol && mx < abs_tol,
                  "%s: relative error %.3g (limit %.1g), max abs error %.3g (limit %.1g); "
                  "first bad element %zu: got %.9g, want %.9g",
                  what, rel, tol, mx, abs_tol, bad, (double)out[bad], ref[bad]);
}

void tu_scatter(const float *logical, int n, int c, int hw, const scl_chanmap *m, int planes,
                float fill, float *physical) {
    for (size_t i = 0; i < (size_t)n * planes * hw; i++)
        physical[i] = fill;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int p = m ? scl_chanmap_plane(m, ch) : ch;
            memcpy(physical + ((size_t)b * planes + p) * hw, logical + ((size_t)b * c + ch) * hw,
                   (size_t)hw * sizeof(float));
        }
}

void tu_gather(const float *physical, int n, int c, int hw, const scl_chanmap *m, int planes,
               float *logical) {
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int p = m ? scl_chanmap_plane(m, ch) : ch;
            memcpy(logical + ((size_t)b * c + ch) * hw, physical + ((size_t)b * planes + p) * hw,
                   (size_t)hw * sizeof(float));
        }
}

static scl_precision tu_storage_now = SCL_PRECISION_FLOAT32;

scl_precision tu_set_storage(scl_precision p) {
    scl_precision was = tu_storage_now;
    tu_storage_now = p;
    return was;
}

scl_tensor *tu_tensor(scl_context *ctx, int n, int c, int h, int w, const float *data) {
    scl_tensor *t = NULL;
    TU_OK(ctx, scl_tensor_create_ex(ctx, n, c, h, w, tu_storage_now, &t));
    if (data) TU_OK(ctx, scl_tensor_upload(t, data, (size_t)n * c * h * w));
    return t;
}

float *tu_download(const scl_tensor *t) {
    int n, c, h, w;
    scl_tensor_shape(t, &n, &c, &h, &w);
    size_t count = (size_t)n * c * h * w;
    float *x = malloc(count * sizeof *x);
    ck_assert_ptr_nonnull(x);
    scl_status st = scl_tensor_download(t, x, count);
    ck_assert_msg(st == SCL_OK, "download failed: %s", scl_status_string(st));
    return x;
}

double *tu_to_double(const float *x, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

int tu_quick(void) {
    const char *q = getenv("SCL_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* ---- channel maps ---------------------------------------------------------------------------- */

const char *tu_map_name(tu_map_kind k) {
    static const char *const names[TU_MAP_KINDS] = {
        "none",      "offset",   "even",         "odd",   "shuffle",
        "unshuffle", "composed", "composed-inv", "table", "random"};
    return k >= 0 && k < TU_MAP_KINDS ? names[k] : "?";
}

int tu_map_groups(tu_map_kind k, int c) {
    switch (k) {
    case TU_MAP_SHUFFLE:
    case TU_MAP_UNSHUFFLE: /* ShuffleNet V1's 3 where it divides */
        return c % 3 == 0 ? 3 : c % 2 == 0 ? 2 : 1;
    case TU_MAP_COMPOSED:
    case TU_MAP_COMPOSED_INV:
        return c % 2 == 0 ? 2 : 1;
    default:
        return 1;
    }
}

scl_chanmap *tu_make_map(scl_context *ctx, tu_map_kind k, int c, uint64_t seed, int *planes) {
    scl_chanmap *m = NULL, *a = NULL, *b = NULL;
    switch (k) {
    case TU_MAP_NONE:
        *planes = c;
        return NULL;
    case TU_MAP_OFFSET:
        TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 5, 1, &m));
        *planes = c + 7;
        break;
    case TU_MAP_EVEN:
        TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 0, 2, &m));
        *planes = 2 * c;
        break;
    case TU_MAP_ODD: /* one plane past the last mapped one, so an overrun shows */
        TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 1, 2, &m));
        *planes = 2 * c + 1;
        break;
    case TU_MAP_SHUFFLE:
    case TU_MAP_UNSHUFFLE:
        TU_OK(ctx,
              scl_chanmap_create_shuffle(ctx, c, tu_map_groups(k, c), k == TU_MAP_UNSHUFFLE, &m));
        *planes = c;
        break;
    case TU_MAP_COMPOSED:
    case TU_MAP_COMPOSED_INV:
        TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 3, 1, &a));
        TU_OK(ctx, scl_chanmap_create_shuffle(ctx, c, tu_map_groups(k, c), k == TU_MAP_COMPOSED_INV,
                                              &b));
        TU_OK(ctx, scl_chanmap_compose(ctx, a, b, &m));
        scl_chanmap_destroy(a);
        scl_chanmap_destroy(b);
        *planes = c + 3;
        break;
    case TU_MAP_TABLE: {
        int *t = malloc((size_t)c * sizeof *t);
        ck_assert_ptr_nonnull(t);
        for (int i = 0; i < c; i++)
            t[i] = (c - 1 - i) + (c - 1 - i) / 3;
        TU_OK(ctx, scl_chanmap_create_table(ctx, c, t, &m));
        free(t);
        *planes = (c - 1) + (c - 1) / 3 + 1;
        break;
    }
    case TU_MAP_RANDOM: {
        /* a shuffled deck of c + 4 planes, dealt to c channels: 4 planes stay unmapped */
        int np = c + 4, *deck = malloc((size_t)np * sizeof *deck);
        ck_assert_ptr_nonnull(deck);
        for (int i = 0; i < np; i++)
            deck[i] = i;
        for (int i = np - 1; i > 0; i--) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int r = (int)((seed >> 33) % (uint64_t)(i + 1)), tmp = deck[i];
            deck[i] = deck[r], deck[r] = tmp;
        }
        TU_OK(ctx, scl_chanmap_create_table(ctx, c, deck, &m));
        free(deck);
        *planes = np;
        break;
    }
    default:
        ck_abort_msg("bad map kind %d", (int)k);
    }
    return m;
}

void tu_check_untouched(const char *what, const float *phys, int n, int c, int hw,
                        const scl_chanmap *m, int planes) {
    char *mapped = calloc((size_t)planes, 1);
    ck_assert_ptr_nonnull(mapped);
    for (int ch = 0; ch < c; ch++)
        mapped[m ? scl_chanmap_plane(m, ch) : ch] = 1;
    for (int b = 0; b < n; b++)
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < hw && !mapped[p]; i++)
                ck_assert_msg(isnan(phys[((size_t)b * planes + p) * hw + i]),
                              "%s wrote plane %d (pixel %d, image %d) outside its output map", what,
                              p, i, b);
    free(mapped);
}

scl_tensor *tu_place(scl_context *ctx, const float *logical, int n, int c, int h, int w,
                     const scl_chanmap *m, int planes) {
    int hw = h * w;
    float *phys = malloc(((size_t)n * planes * hw + 1) * sizeof *phys);
    ck_assert_ptr_nonnull(phys);
    tu_scatter(logical, n, c, hw, m, planes, NAN, phys);
    scl_tensor *t = tu_tensor(ctx, n, planes, h, w, phys);
    free(phys);
    return t;
}

float *tu_collect(const scl_tensor *t, int c, const scl_chanmap *m, const char *what) {
    int n, planes, h, w;
    scl_tensor_shape(t, &n, &planes, &h, &w);
    int hw = h * w;
    float *phys = tu_download(t), *y = malloc(((size_t)n * c * hw + 1) * sizeof *y);
    ck_assert_ptr_nonnull(y);
    tu_gather(phys, n, c, hw, m, planes, y);
    tu_check_untouched(what, phys, n, c, hw, m, planes);
    free(phys);
    return y;
}

float *tu_run_op(scl_context *ctx, scl_op *op, const float *x, int n, int c, int h, int w,
                 tu_map_kind in_kind, int co, int oh, int ow, tu_map_kind out_kind,
                 const char *what) {
    int in_planes, out_planes;
    scl_chanmap *in_map = tu_make_map(ctx, in_kind, c, 0, &in_planes);
    scl_chanmap *out_map = tu_make_map(ctx, out_kind, co, 0, &out_planes);
    scl_tensor *in = tu_place(ctx, x, n, c, h, w, in_map, in_planes);
    scl_tensor *out = tu_tensor(ctx, n, out_planes, oh, ow, NULL);
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op_args a = {
        .size = sizeof(scl_op_args), .in = in, .in_map = in_map, .out = out, .out_map = out_map};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *y = tu_collect(out, co, out_map, what);
    scl_tensor_destroy(in), scl_tensor_destroy(out);
    scl_chanmap_destroy(in_map), scl_chanmap_destroy(out_map);
    return y;
}

/* ---- scratch files --------------------------------------------------------------------------- */

#define TU_MAX_TMP 64
static char tmp_paths[TU_MAX_TMP][512];
static int tmp_count;

const char *tu_tmp_path(const char *prefix, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", tu_tmpdir(), prefix, name);
    for (int i = 0; i < tmp_count; i++)
        if (strcmp(tmp_paths[i], path) == 0) return tmp_paths[i];
    ck_assert_int_lt(tmp_count, TU_MAX_TMP);
    memcpy(tmp_paths[tmp_count], path, sizeof path);
    return tmp_paths[tmp_count++];
}

void tu_remove_tmp(void) {
    for (int i = 0; i < tmp_count; i++)
        remove(tmp_paths[i]);
    tmp_count = 0;
}

void tu_write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

int tu_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

int tu_desc_samples(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                    int (*vals)[8]) {
    int n = scl__desc_samples(ctx, d, s, SCL__SAMPLE_SPREAD, vals,
                              tu_quick() ? TU_SAMPLES_QUICK : TU_SAMPLES);
    ck_assert_int_ge(n, 1);
    return n;
}

ref_weights *tu_random_state(ref_weights *ws, uint64_t seed) {
    ck_assert_ptr_nonnull(ws);
    for (int i = 0; i < ws->count; i++) {
        ref_weight *w = &ws->w[i];
        size_t n = ref_weight_count(w);
        w->data = malloc(n * sizeof *w->data);
        ck_assert_ptr_nonnull(w->data);
        float a = w->fan_in ? (float)sqrt(3.0 / w->fan_in) : 0.0f;
        switch (w->kind) {
        case REF_W_CONV:
        case REF_W_FC:
            tu_fill_uniform(w->data, n, -a, a, &seed);
            break;
        case REF_W_GAMMA:
            tu_fill_uniform(w->data, n, 0.5f, 1.5f, &seed);
            break;
        case REF_W_BETA:
        case REF_W_MEAN:
            tu_fill_uniform(w->data, n, -0.2f, 0.2f, &seed);
            break;
        case REF_W_VAR:
            tu_fill_uniform(w->data, n, 0.5f, 2.0f, &seed);
            break;
        case REF_W_FC_BIAS:
            tu_fill_uniform(w->data, n, -0.05f, 0.05f, &seed);
            break;
        }
    }
    return ws;
}

/* Writes `ws` as F32 safetensors, every key prefixed with `prefix`. */
void tu_write_state(const char *path, const ref_weights *ws, const char *prefix) {
    int n = ws->count;
    char **names = calloc((size_t)n, sizeof *names);
    int *ranks = calloc((size_t)n, sizeof *ranks);
    int64_t(*shapes)[8] = calloc((size_t)n, sizeof *shapes);
    const float **data = calloc((size_t)n, sizeof *data);
    ck_assert(names && ranks && shapes && data);
    for (int i = 0; i < n; i++) {
        names[i] = malloc(strlen(prefix) + strlen(ws->w[i].name) + 1);
        ck_assert_ptr_nonnull(names[i]);
        strcpy(names[i], prefix);
        strcat(names[i], ws->w[i].name);
        ranks[i] = ws->w[i].rank;
        memcpy(shapes[i], ws->w[i].shape, sizeof shapes[i]);
        data[i] = ws->w[i].data;
    }
    char msg[1024];
    scl_status st = scl__st_write_f32(path, n, (const char *const *)names, ranks,
                                      (const int64_t(*)[8])shapes, data, msg, sizeof msg);
    ck_assert_msg(st == SCL_OK, "writing %s: %s", path, msg);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names), free(ranks), free(shapes), free(data);
}
