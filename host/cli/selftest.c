/* selftest.c: `shufflecl devices --check`: one small network on a device against a float64
 * forward pass of the tool's own (no library code), on weights the tool makes and hands to the
 * library as a torchvision safetensors file, as a user's would be. */
#include "selftest.h"

#include "shufflecl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ShuffleNet V2 0.5x (torchvision): stage widths, repeats, classes. */
static const int V2_WIDTH[5] = {24, 48, 96, 192, 1024}, V2_REPEATS[3] = {4, 8, 4};
#define V2_CLASSES 1000
#define MAX_TENSORS 320

/* One named weight tensor (float64 here, written as float32). */
typedef struct tensor {
    char name[48];
    int rank, shape[4];
    double *v;
    size_t count;
} tensor;

typedef struct weights {
    tensor t[MAX_TENSORS];
    int n;
    uint64_t rng;
    int oom;
} weights;

/* uniform in [-1, 1): xorshift64*, seeded */
static double uniform(weights *w) {
    w->rng ^= w->rng >> 12, w->rng ^= w->rng << 25, w->rng ^= w->rng >> 27;
    return (double)((w->rng * 2685821657736338717ull) >> 11) / 4503599627370496.0 - 1.0;
}

/* A tensor of the given shape, filled with center + spread * uniform; float32-exact values, so
 * that the file the library reads holds exactly what the reference computes with. */
static const double *add(weights *w, const char *prefix, const char *suffix, int rank,
                         const int *shape, double center, double spread) {
    if (w->oom || w->n == MAX_TENSORS) return w->oom = 1, NULL;
    tensor *t = &w->t[w->n++];
    snprintf(t->name, sizeof t->name, "%s%s", prefix, suffix);
    t->rank = rank, t->count = 1;
    for (int d = 0; d < rank; d++)
        t->shape[d] = shape[d], t->count *= (size_t)shape[d];
    t->v = malloc(t->count * sizeof *t->v);
    if (!t->v) return w->oom = 1, NULL;
    for (size_t i = 0; i < t->count; i++)
        t->v[i] = (float)(center + spread * uniform(w));
    return t->v;
}

static void add_conv(weights *w, const char *name, int cout, int cin_per_group, int k) {
    int shape[4] = {cout, cin_per_group, k, k};
    add(w, name, ".weight", 4, shape, 0, sqrt(3.0 / (cin_per_group * k * k)));
}

static void add_bn(weights *w, const char *name, int c) {
    add(w, name, ".weight", 1, &c, 1, 0.25);
    add(w, name, ".bias", 1, &c, 0, 0.1);
    add(w, name, ".running_mean", 1, &c, 0, 0.1);
    add(w, name, ".running_var", 1, &c, 1, 0.25);
}

/* The torchvision state dict of shufflenet_v2_x0_5, in the order the forward pass reads it. */
static void make_weights(weights *w) {
    char p[48];
    add_conv(w, "conv1.0", V2_WIDTH[0], 3, 3);
    add_bn(w, "conv1.1", V2_WIDTH[0]);
    for (int s = 0; s < 3; s++)
        for (int b = 0; b < V2_REPEATS[s]; b++) {
            int inp = b ? V2_WIDTH[s + 1] : V2_WIDTH[s], bf = V2_WIDTH[s + 1] / 2;
            if (b == 0) {
                snprintf(p, sizeof p, "stage%d.%d.branch1.", s + 2, b);
                char q[64];
                snprintf(q, sizeof q, "%s0", p), add_conv(w, q, inp, 1, 3);
                snprintf(q, sizeof q, "%s1", p), add_bn(w, q, inp);
                snprintf(q, sizeof q, "%s2", p), add_conv(w, q, bf, inp, 1);
                snprintf(q, sizeof q, "%s3", p), add_bn(w, q, bf);
            }
            snprintf(p, sizeof p, "stage%d.%d.branch2.", s + 2, b);
            char q[64];
            snprintf(q, sizeof q, "%s0", p), add_conv(w, q, bf, b ? bf : inp, 1);
            snprintf(q, sizeof q, "%s1", p), add_bn(w, q, bf);
            snprintf(q, sizeof q, "%s3", p), add_conv(w, q, bf, 1, 3);
            snprintf(q, sizeof q, "%s4", p), add_bn(w, q, bf);
            snprintf(q, sizeof q, "%s5", p), add_conv(w, q, bf, bf, 1);
            snprintf(q, sizeof q, "%s6", p), add_bn(w, q, bf);
        }
    add_conv(w, "conv5.0", V2_WIDTH[4], V2_WIDTH[3], 1);
    add_bn(w, "conv5.1", V2_WIDTH[4]);
    int fw[2] = {V2_CLASSES, V2_WIDTH[4]};
    add(w, "fc", ".weight", 2, fw, 0, sqrt(3.0 / V2_WIDTH[4]));
    add(w, "fc", ".bias", 1, fw, 0, 0.1);
}

/* ---- the float64 forward pass ---- */

typedef struct act {
    int c, h, w;
    double *v; /* c x h x w, one image */
} act;

static int act_new(act *a, int c, int h, int w) {
    a->c = c, a->h = h, a->w = w;
    a->v = calloc((size_t)c * h * w, sizeof *a->v);
    return a->v != NULL;
}

/* The next tensor, in make_weights' order. */
static const double *next(const weights *w, int *i) {
    return w->t[(*i)++].v;
}

/* conv k x k, stride s, padding k/2, groups g (no bias), then BN (eps 1e-5), then ReLU if asked */
static int conv_bn(const weights *w, int *ti, const act *in, int cout, int k, int s, int g,
                   int relu, act *out) {
    const double *wt = next(w, ti), *gam = next(w, ti), *bet = next(w, ti), *mu = next(w, ti),
                 *var = next(w, ti);
    int pad = k / 2, oh = (in->h + 2 * pad - k) / s + 1, ow = (in->w + 2 * pad - k) / s + 1;
    if (!act_new(out, cout, oh, ow)) return 0;
    int cig = in->c / g, cog = cout / g;
    for (int o = 0; o < cout; o++) {
        double scale = gam[o] / sqrt(var[o] + 1e-5);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = 0;
                for (int ci = 0; ci < cig; ci++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y * s + ky - pad, ix = x * s + kx - pad;
                            if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w) continue;
                            int c = (o / cog) * cig + ci;
                            acc += wt[((size_t)(o * cig + ci) * k + ky) * k + kx] *
                                   in->v[((size_t)c * in->h + iy) * in->w + ix];
                        }
                double v = (acc - mu[o]) * scale + bet[o];
                out->v[((size_t)o * oh + y) * ow + x] = relu && v < 0 ? 0 : v;
            }
    }
    return 1;
}

/* One unit: cat(branch1(x) or x's first half, branch2(x or its second half)), then a shuffle
 * of 2 groups: output channel 2j+g is concatenated channel g*half+j. */
static int unit(const weights *w, int *ti, const act *x, int cout, int stride, act *out) {
    int bf = cout / 2, ok = 1;
    act b1 = {0}, t1 = {0}, t2 = {0}, b2 = {0}, half = *x;
    if (stride == 2) {
        ok =
            conv_bn(w, ti, x, x->c, 3, 2, x->c, 0, &t1) && conv_bn(w, ti, &t1, bf, 1, 1, 1, 1, &b1);
        free(t1.v), t1.v = NULL;
    } else {
        half.c = x->c / 2;
        half.v = x->v + (size_t)half.c * x->h * x->w;
    }
    ok = ok && conv_bn(w, ti, &half, bf, 1, 1, 1, 1, &t1) &&
         conv_bn(w, ti, &t1, bf, 3, stride, bf, 0, &t2) && conv_bn(w, ti, &t2, bf, 1, 1, 1, 1, &b2);
    ok = ok && act_new(out, cout, b2.h, b2.w);
    size_t plane = (size_t)b2.h * b2.w;
    for (int j = 0; ok && j < bf; j++)
        for (int g = 0; g < 2; g++) {
            const double *src = g == 1        ? b2.v + j * plane
                                : stride == 2 ? b1.v + j * plane
                                              : x->v + j * plane;
            memcpy(out->v + (size_t)(2 * j + g) * plane, src, plane * sizeof *src);
        }
    free(b1.v), free(t1.v), free(t2.v), free(b2.v);
    return ok;
}

/* Logits of one 3 x h x w image into `logits` (V2_CLASSES). */
static int forward(const weights *w, const float *image, int h, int wd, double *logits) {
    int ti = 0;
    act x = {0}, y = {0};
    if (!act_new(&x, 3, h, wd)) return 0;
    for (size_t i = 0; i < (size_t)3 * h * wd; i++)
        x.v[i] = image[i];
    int ok = conv_bn(w, &ti, &x, V2_WIDTH[0], 3, 2, 1, 1, &y);
    free(x.v);
    /* max pool 3x3, stride 2, padding 1 */
    int ph = ok ? (y.h - 1) / 2 + 1 : 0, pw = ok ? (y.w - 1) / 2 + 1 : 0;
    ok = ok && act_new(&x, y.c, ph, pw);
    for (int c = 0; ok && c < y.c; c++)
        for (int oy = 0; oy < ph; oy++)
            for (int ox = 0; ox < pw; ox++) {
                double m = -INFINITY;
                for (int ky = -1; ky <= 1; ky++)
                    for (int kx = -1; kx <= 1; kx++) {
                        int iy = 2 * oy + ky, ix = 2 * ox + kx;
                        if (iy >= 0 && iy < y.h && ix >= 0 && ix < y.w)
                            m = fmax(m, y.v[((size_t)c * y.h + iy) * y.w + ix]);
                    }
                x.v[((size_t)c * ph + oy) * pw + ox] = m;
            }
    free(y.v), y.v = NULL;
    for (int s = 0; ok && s < 3; s++)
        for (int b = 0; ok && b < V2_REPEATS[s]; b++) {
            ok = unit(w, &ti, &x, V2_WIDTH[s + 1], b ? 1 : 2, &y);
            free(x.v), x = y, y.v = NULL;
        }
    ok = ok && conv_bn(w, &ti, &x, V2_WIDTH[4], 1, 1, 1, 1, &y);
    const double *fw = w->t[ti].v, *fb = w->t[ti + 1].v;
    size_t plane = (size_t)y.h * y.w;
    for (int o = 0; ok && o < V2_CLASSES; o++) {
        double acc = fb[o];
        for (int c = 0; c < V2_WIDTH[4]; c++) {
            double mean = 0;
            for (size_t p = 0; p < plane; p++)
                mean += y.v[c * plane + p];
            acc += fw[(size_t)o * V2_WIDTH[4] + c] * (mean / (double)plane);
        }
        logits[o] = acc;
    }
    free(x.v), free(y.v);
    return ok;
}

/* ---- the safetensors file the library loads ---- */

static int write_safetensors(const weights *w, const char *path) {
    size_t cap = 64 + (size_t)w->n * 160, used = 0, off = 0;
    char *h = malloc(cap);
    if (!h) return 0;
    used += (size_t)snprintf(h + used, cap - used, "{");
    for (int i = 0; i < w->n; i++) {
        const tensor *t = &w->t[i];
        used += (size_t)snprintf(h + used, cap - used, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                 i ? "," : "", t->name);
        for (int d = 0; d < t->rank; d++)
            used += (size_t)snprintf(h + used, cap - used, "%s%d", d ? "," : "", t->shape[d]);
        used += (size_t)snprintf(h + used, cap - used, "],\"data_offsets\":[%zu,%zu]}", off,
                                 off + t->count * 4);
        off += t->count * 4;
    }
    used += (size_t)snprintf(h + used, cap - used, "}");
    while (used % 8)
        h[used++] = ' ';
    FILE *f = fopen(path, "wb");
    int ok = f != NULL;
    unsigned char len[8];
    for (int b = 0; b < 8; b++)
        len[b] = (unsigned char)((uint64_t)used >> (8 * b));
    ok = ok && fwrite(len, 1, 8, f) == 8 && fwrite(h, 1, used, f) == used;
    for (int i = 0; ok && i < w->n; i++)
        for (size_t k = 0; ok && k < w->t[i].count; k++) {
            float v = (float)w->t[i].v[k];
            unsigned char b[4];
            uint32_t u;
            memcpy(&u, &v, 4);
            for (int j = 0; j < 4; j++)
                b[j] = (unsigned char)(u >> (8 * j)); /* little-endian, as the format says */
            ok = fwrite(b, 1, 4, f) == 4;
        }
    if (f && fclose(f) != 0) ok = 0;
    free(h);
    return ok;
}

/* ---- the check ---- */

#define CHECK_N 2
#define CHECK_H 64
#define CHECK_W 64

int cli_selftest_prepare(cli_selftest *t, char *err, size_t cap) {
    memset(t, 0, sizeof *t);
    weights *w = calloc(1, sizeof *w);
    size_t per = (size_t)3 * CHECK_H * CHECK_W;
    t->input = malloc(CHECK_N * per * sizeof *t->input);
    t->want = malloc((size_t)CHECK_N * V2_CLASSES * sizeof *t->want);
    if (!w || !t->input || !t->want) {
        free(w);
        return snprintf(err, cap, "out of memory"), 1;
    }
    t->model = "v2_x0_5", t->n = CHECK_N, t->h = CHECK_H, t->w = CHECK_W;
    t->classes = V2_CLASSES;
    w->rng = 0x5eedf00dull;
    make_weights(w);
    for (size_t i = 0; i < CHECK_N * per; i++)
        t->input[i] = (float)(2 * uniform(w));
    const char *tmp = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/shufflecl-check-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = w->oom ? -1 : mkstemp(t->path);
    int ok = fd >= 0;
    if (fd >= 0) close(fd);
    ok = ok && write_safetensors(w, t->path);
    for (int b = 0; ok && b < CHECK_N; b++)
        ok = forward(w, t->input + b * per, CHECK_H, CHECK_W, t->want + (size_t)b * V2_CLASSES);
    for (int i = 0; i < w->n; i++)
        free(w->t[i].v);
    int oom = w->oom;
    free(w);
    if (!ok) {
        if (oom)
            snprintf(err, cap, "out of memory");
        else if (fd < 0)
            snprintf(err, cap, "cannot create a temporary file like %s", t->path);
        else
            snprintf(err, cap, "cannot write %s (or out of memory)", t->path);
        if (fd < 0) t->path[0] = '\0';
        cli_selftest_free(t);
        return 1;
    }
    return 0;
}

double cli_selftest_error(const cli_selftest *t, const float *got) {
    double num = 0, den = 0;
    for (size_t i = 0; i < (size_t)t->n * t->classes; i++) {
        if (!isfinite(got[i])) return INFINITY;
        double d = got[i] - t->want[i];
        num += d * d, den += t->want[i] * t->want[i];
    }
    return den > 0 ? sqrt(num / den) : INFINITY;
}

void cli_selftest_free(cli_selftest *t) {
    if (t->path[0]) remove(t->path);
    free(t->input), free(t->want);
    memset(t, 0, sizeof *t);
}

int cli_selftest_run(const cli_selftest *t, const char *device, double *rel, char *msg,
                     size_t cap) {
    scl_context *ctx = NULL;
    scl_network *net = NULL;
    size_t count = (size_t)t->n * t->classes;
    float *got = malloc(count * sizeof *got);
    *rel = INFINITY;
    msg[0] = '\0';
    if (!got) return snprintf(msg, cap, "out of memory"), 1;
    /* poisoned: a logit the device never writes shows as not finite */
    for (size_t i = 0; i < count; i++)
        got[i] = NAN;
    scl_status st = scl_context_create(device, &ctx);
    if (st == SCL_OK) st = scl_network_create(ctx, t->model, &net);
    if (st == SCL_OK) st = scl_network_load_weights(net, t->path);
    if (st == SCL_OK) st = scl_network_run(net, t->input, t->n, t->h, t->w, got);
    if (st != SCL_OK)
        snprintf(msg, cap, "%s", scl_last_error(ctx));
    else
        *rel = cli_selftest_error(t, got);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    free(got);
    return st != SCL_OK || !(*rel < CLI_SELFTEST_TOL);
}
