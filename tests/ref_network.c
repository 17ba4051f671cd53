/* ref_network.c: plain-loop float64 ShuffleNet V1/V2, written from shared/shufflenet.md and
 * nothing else: every conv is one general grouped convolution, BN is applied as the spec writes
 * it (not folded), and split, concat and shuffle really move channels. Slow and obvious on
 * purpose: it is what the library's fused, map-driven graphs are checked against. */
#include "ref_network.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the models (shufflenet.md's tables) --------------------------------------------------- */

typedef struct arch {
    const char *name;
    int v1;     /* 1: ShuffleNet V1 with Megvii keys; 0: V2 with torchvision keys; 2: Megvii's V2 */
    int groups; /* V1 only */
    int c[5];   /* V2: C1, S2, S3, S4, C5; V1: C1, S2, S3, S4 */
    int repeats[3]; /* units per stage */
    int classes;
} arch;

static const arch archs[] = {
    {"v2_x0_5", 0, 0, {24, 48, 96, 192, 1024}, {4, 8, 4}, REF_CLASSES},
    {"v2_x1_0", 0, 0, {24, 116, 232, 464, 1024}, {4, 8, 4}, REF_CLASSES},
    {"v2_x1_5", 0, 0, {24, 176, 352, 704, 1024}, {4, 8, 4}, REF_CLASSES},
    {"v2_x2_0", 0, 0, {24, 244, 488, 976, 2048}, {4, 8, 4}, REF_CLASSES},
    {"v1_g1_x1_0", 1, 1, {24, 144, 288, 576, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g2_x1_0", 1, 2, {24, 200, 400, 800, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g3_x1_0", 1, 3, {24, 240, 480, 960, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g4_x1_0", 1, 4, {24, 272, 544, 1088, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g8_x1_0", 1, 8, {24, 384, 768, 1536, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g3_x0_5", 1, 3, {12, 120, 240, 480, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g3_x1_5", 1, 3, {24, 360, 720, 1440, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g3_x2_0", 1, 3, {48, 480, 960, 1920, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g8_x0_5", 1, 8, {16, 192, 384, 768, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g8_x1_5", 1, 8, {24, 576, 1152, 2304, 0}, {4, 8, 4}, REF_CLASSES},
    {"v1_g8_x2_0", 1, 8, {48, 768, 1536, 3072, 0}, {4, 8, 4}, REF_CLASSES},
};

/* A named model; 0 when unknown. */
static int find_arch(const char *model, arch *out) {
    for (size_t i = 0; model && i < sizeof archs / sizeof archs[0]; i++)
        if (strcmp(archs[i].name, model) == 0) {
            *out = archs[i];
            return 1;
        }
    return 0;
}

/* The same from a description (read as the spec reads it, not through the library). */
static void desc_arch(const scl_model_desc *d, arch *a) {
    memset(a, 0, sizeof *a);
    a->name = "desc";
    a->v1 = d->layout == SCL_LAYOUT_MEGVII_V1 ? 1 : d->layout == SCL_LAYOUT_MEGVII_V2 ? 2 : 0;
    a->groups = d->groups;
    a->c[0] = d->stem_width;
    for (int s = 0; s < 3; s++)
        a->c[s + 1] = d->stage_widths[s], a->repeats[s] = d->stage_repeats[s];
    a->c[4] = d->last_width;
    a->classes = d->classes;
}

static void die(const char *fmt, ...) {
    /* only for the reference's own inconsistencies and out-of-memory: the test then fails */
    va_list ap;
    va_start(ap, fmt);
    fputs("ref_network: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* "prefix" + "suffix" in a caller's buffer */
static const char *key(char buf[128], const char *prefix, const char *suffix) {
    snprintf(buf, 128, "%s%s", prefix, suffix);
    return buf;
}

/* ---- the key list ------------------------------------------------------------------------- */

static void add(ref_weights *ws, int *cap, const char *name, int rank, const int64_t *shape,
                ref_wkind kind, int fan_in) {
    if (ws->count == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        ref_weight *w = realloc(ws->w, (size_t)*cap * sizeof *w);
        if (!w) die("out of memory");
        ws->w = w;
    }
    ref_weight *w = &ws->w[ws->count++];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->rank = rank;
    for (int i = 0; i < rank; i++)
        w->shape[i] = shape[i];
    w->kind = kind;
    w->fan_in = fan_in;
}

/* A conv weight: cout x (cin/groups) x k x k. */
static void add_conv(ref_weights *ws, int *cap, const char *name, int cout, int cin_per_group,
                     int k) {
    int64_t s[4] = {cout, cin_per_group, k, k};
    add(ws, cap, name, 4, s, REF_W_CONV, cin_per_group * k * k);
}

/* A BatchNorm2d's four inference tensors. */
static void add_bn(ref_weights *ws, int *cap, const char *prefix, int c) {
    static const char *const parts[] = {".weight", ".bias", ".running_mean", ".running_var"};
    static const ref_wkind kinds[] = {REF_W_GAMMA, REF_W_BETA, REF_W_MEAN, REF_W_VAR};
    int64_t s[1] = {c};
    char k[128];
    for (int i = 0; i < 4; i++)
        add(ws, cap, key(k, prefix, parts[i]), 1, s, kinds[i], 0);
}

static void keys_v2(const arch *a, ref_weights *ws, int *cap) {
    char p[64], k[128];
    add_conv(ws, cap, "conv1.0.weight", a->c[0], 3, 3);
    add_bn(ws, cap, "conv1.1", a->c[0]);
    int cin = a->c[0];
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++) {
            int c = a->c[s + 1], b = c / 2;
            snprintf(p, sizeof p, "stage%d.%d.", s + 2, u);
            if (u == 0) {
                /* branch1 is declared before branch2 in torchvision, so it comes first */
                add_conv(ws, cap, key(k, p, "branch1.0.weight"), cin, 1, 3);
                add_bn(ws, cap, key(k, p, "branch1.1"), cin);
                add_conv(ws, cap, key(k, p, "branch1.2.weight"), b, cin, 1);
                add_bn(ws, cap, key(k, p, "branch1.3"), b);
            }
            add_conv(ws, cap, key(k, p, "branch2.0.weight"), b, u == 0 ? cin : b, 1);
            add_bn(ws, cap, key(k, p, "branch2.1"), b);
            add_conv(ws, cap, key(k, p, "branch2.3.weight"), b, 1, 3);
            add_bn(ws, cap, key(k, p, "branch2.4"), b);
            add_conv(ws, cap, key(k, p, "branch2.5.weight"), b, b, 1);
            add_bn(ws, cap, key(k, p, "branch2.6"), b);
            cin = c;
        }
    add_conv(ws, cap, "conv5.0.weight", a->c[4], a->c[3], 1);
    add_bn(ws, cap, "conv5.1", a->c[4]);
    int64_t fw[2] = {a->classes, a->c[4]}, fb[1] = {a->classes};
    add(ws, cap, "fc.weight", 2, fw, REF_W_FC, a->c[4]);
    add(ws, cap, "fc.bias", 1, fb, REF_W_FC_BIAS, 0);
}

static void keys_v1(const arch *a, ref_weights *ws, int *cap) {
    char p[64], k[128];
    int g = a->groups;
    add_conv(ws, cap, "first_conv.0.weight", a->c[0], 3, 3);
    add_bn(ws, cap, "first_conv.1", a->c[0]);
    int cin = a->c[0], unit = 0;
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++, unit++) {
            int c = a->c[s + 1], mid = c / 4, out_main = u == 0 ? c - cin : c;
            int g1 = s == 0 && u == 0 ? 1 : g; /* stage 2's first 1x1 is dense */
            snprintf(p, sizeof p, "features.%d.", unit);
            add_conv(ws, cap, key(k, p, "branch_main_1.0.weight"), mid, cin / g1, 1);
            add_bn(ws, cap, key(k, p, "branch_main_1.1"), mid);
            add_conv(ws, cap, key(k, p, "branch_main_1.3.weight"), mid, 1, 3);
            add_bn(ws, cap, key(k, p, "branch_main_1.4"), mid);
            add_conv(ws, cap, key(k, p, "branch_main_2.0.weight"), out_main, mid / g, 1);
            add_bn(ws, cap, key(k, p, "branch_main_2.1"), out_main);
            cin = c;
        }
    int64_t fw[2] = {a->classes, a->c[3]};
    add(ws, cap, "classifier.0.weight", 2, fw, REF_W_FC, a->c[3]);
}

/* Megvii's V2 (blocks.py): branch_main 1x1 C_in -> C/2, dw, 1x1 C/2 -> C - C_in (stride 2, where
 * C_in is the unit's input) or C/2 -> C/2 (stride 1, reading C/2 channels); branch_proj (stride 2)
 * dw C_in, 1x1 C_in -> C_in; torch declares branch_main first. */
static void keys_mv2(const arch *a, ref_weights *ws, int *cap) {
    char p[64], k[128];
    add_conv(ws, cap, "first_conv.0.weight", a->c[0], 3, 3);
    add_bn(ws, cap, "first_conv.1", a->c[0]);
    int cin = a->c[0], unit = 0;
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++, unit++) {
            int c = a->c[s + 1], half = c / 2, in = u == 0 ? cin : half,
                out = u == 0 ? c - cin : half;
            snprintf(p, sizeof p, "features.%d.", unit);
            add_conv(ws, cap, key(k, p, "branch_main.0.weight"), half, in, 1);
            add_bn(ws, cap, key(k, p, "branch_main.1"), half);
            add_conv(ws, cap, key(k, p, "branch_main.3.weight"), half, 1, 3);
            add_bn(ws, cap, key(k, p, "branch_main.4"), half);
            add_conv(ws, cap, key(k, p, "branch_main.5.weight"), out, half, 1);
            add_bn(ws, cap, key(k, p, "branch_main.6"), out);
            if (u == 0) {
                add_conv(ws, cap, key(k, p, "branch_proj.0.weight"), cin, 1, 3);
                add_bn(ws, cap, key(k, p, "branch_proj.1"), cin);
                add_conv(ws, cap, key(k, p, "branch_proj.2.weight"), cin, cin, 1);
                add_bn(ws, cap, key(k, p, "branch_proj.3"), cin);
            }
            cin = c;
        }
    add_conv(ws, cap, "conv_last.0.weight", a->c[4], a->c[3], 1);
    add_bn(ws, cap, "conv_last.1", a->c[4]);
    int64_t fw[2] = {a->classes, a->c[4]};
    add(ws, cap, "classifier.0.weight", 2, fw, REF_W_FC, a->c[4]);
}

static ref_weights *arch_weights(const arch *a) {
    ref_weights *ws = xcalloc(1, sizeof *ws);
    int cap = 0;
    if (a->v1 == 1)
        keys_v1(a, ws, &cap);
    else if (a->v1 == 2)
        keys_mv2(a, ws, &cap);
    else
        keys_v2(a, ws, &cap);
    return ws;
}

ref_weights *ref_network_weights(const char *model) {
    arch a;
    return find_arch(model, &a) ? arch_weights(&a) : NULL;
}

ref_weights *ref_network_weights_desc(const scl_model_desc *d) {
    arch a;
    desc_arch(d, &a);
    return arch_weights(&a);
}

void ref_weights_free(ref_weights *ws) {
    if (!ws) return;
    for (int i = 0; i < ws->count; i++)
        free(ws->w[i].data);
    free(ws->w);
    free(ws);
}

ref_weight *ref_weights_find(const ref_weights *ws, const char *name) {
    for (int i = 0; i < ws->count; i++)
        if (strcmp(ws->w[i].name, name) == 0) return &ws->w[i];
    return NULL;
}

size_t ref_weight_count(const ref_weight *w) {
    size_t n = 1;
    for (int i = 0; i < w->rank; i++)
        n *= (size_t)w->shape[i];
    return n;
}

/* ---- tensors and ops ---------------------------------------------------------------------- */

typedef struct act {
    int n, c, h, w;
    double *d;
} act;

static act act_new(int n, int c, int h, int w) {
    act a = {n, c, h, w, NULL};
    a.d = xcalloc((size_t)n * c * h * w, sizeof *a.d);
    return a;
}

static double *plane(act a, int b, int c) {
    return a.d + ((size_t)b * a.c + c) * a.h * a.w;
}

/* The weights a forward pass reads, and which of them it has read. */
typedef struct fwd {
    const ref_weights *ws;
    char *used;
} fwd;

/* The tensor named `name`, which must have exactly the shape the caller computes from the
 * activations: the forward pass never trusts the table's shapes. */
static const float *param(fwd *f, const char *name, int rank, int64_t s0, int64_t s1, int64_t s2,
                          int64_t s3) {
    const int64_t want[4] = {s0, s1, s2, s3};
    for (int i = 0; i < f->ws->count; i++) {
        const ref_weight *w = &f->ws->w[i];
        if (strcmp(w->name, name) != 0) continue;
        int same = w->rank == rank;
        for (int d = 0; same && d < rank; d++)
            same = w->shape[d] == want[d];
        if (!same) die("'%s' does not have the shape the forward pass needs", name);
        f->used[i] = 1;
        return w->data;
    }
    die("the forward pass reads '%s', which the key list lacks", name);
    return NULL;
}

/* out[b][co][oy][ox] = sum over ci < cin/groups, ky, kx of W[co][ci][ky][kx] *
 *     in[b][(co / (cout/groups)) * (cin/groups) + ci][oy*s - p + ky][ox*s - p + kx]
 * with p = k/2 and zeros outside the input. Covers the stem (k 3, groups 1), the grouped 1x1
 * convs (k 1) and the depthwise convs (k 3, groups = channels). No bias: every conv here has BN. */
static act conv(fwd *f, const char *name, act x, int cout, int groups, int k, int stride) {
    int cig = x.c / groups, cog = cout / groups, pad = k / 2;
    if (cig * groups != x.c || cog * groups != cout)
        die("%s: channels do not split into groups", name);
    const float *wt = param(f, name, 4, cout, cig, k, k);
    int oh = (x.h + 2 * pad - k) / stride + 1, ow = (x.w + 2 * pad - k) / stride + 1;
    act y = act_new(x.n, cout, oh, ow);
    for (int b = 0; b < x.n; b++)
        for (int co = 0; co < cout; co++) {
            double *dst = plane(y, b, co);
            for (int ci = 0; ci < cig; ci++) {
                const double *src = plane(x, b, (co / cog) * cig + ci);
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        double wv = wt[(((size_t)co * cig + ci) * k + ky) * k + kx];
                        for (int oy = 0; oy < oh; oy++) {
                            int iy = oy * stride - pad + ky;
                            if (iy < 0 || iy >= x.h) continue;
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * stride - pad + kx;
                                if (ix < 0 || ix >= x.w) continue;
                                dst[oy * ow + ox] += wv * src[iy * x.w + ix];
                            }
                        }
                    }
            }
        }
    return y;
}

/* Inference BatchNorm in place: y = (x - mean) / sqrt(var + 1e-5) * gamma + beta. */
static void bn(fwd *f, const char *prefix, act x) {
    char k[128];
    const float *gamma = param(f, key(k, prefix, ".weight"), 1, x.c, 0, 0, 0);
    const float *beta = param(f, key(k, prefix, ".bias"), 1, x.c, 0, 0, 0);
    const float *mean = param(f, key(k, prefix, ".running_mean"), 1, x.c, 0, 0, 0);
    const float *var = param(f, key(k, prefix, ".running_var"), 1, x.c, 0, 0, 0);
    for (int b = 0; b < x.n; b++)
        for (int c = 0; c < x.c; c++) {
            double *p = plane(x, b, c);
            for (int i = 0; i < x.h * x.w; i++)
                p[i] = (p[i] - mean[c]) / sqrt((double)var[c] + 1e-5) * gamma[c] + beta[c];
        }
}

static void relu(act x) {
    for (size_t i = 0; i < (size_t)x.n * x.c * x.h * x.w; i++)
        x.d[i] = x.d[i] > 0 ? x.d[i] : 0;
}

/* 3x3, stride 2, pad 1. Max: only in-bounds taps compete. Average: in-bounds sum / 9 always
 * (count_include_pad). */
static act pool(act x, int is_max) {
    int oh = (x.h - 1) / 2 + 1, ow = (x.w - 1) / 2 + 1;
    act y = act_new(x.n, x.c, oh, ow);
    for (int b = 0; b < x.n; b++)
        for (int c = 0; c < x.c; c++) {
            const double *src = plane(x, b, c);
            double *dst = plane(y, b, c);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    for (int iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++)
                        for (int ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++) {
                            if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
                            double v = src[iy * x.w + ix];
                            acc = is_max ? fmax(acc, v) : acc + v;
                        }
                    dst[oy * ow + ox] = is_max ? acc : acc / 9.0;
                }
        }
    return y;
}

/* Channels [first, first + count) of x. */
static act slice(act x, int first, int count) {
    act y = act_new(x.n, count, x.h, x.w);
    for (int b = 0; b < x.n; b++)
        for (int c = 0; c < count; c++)
            memcpy(plane(y, b, c), plane(x, b, first + c), (size_t)x.h * x.w * sizeof(double));
    return y;
}

/* torch.cat((a, b), dim=1) */
static act concat(act a, act b) {
    if (a.n != b.n || a.h != b.h || a.w != b.w) die("concat of mismatched shapes");
    act y = act_new(a.n, a.c + b.c, a.h, a.w);
    size_t hw = (size_t)a.h * a.w;
    for (int n = 0; n < a.n; n++) {
        memcpy(plane(y, n, 0), plane(a, n, 0), (size_t)a.c * hw * sizeof(double));
        memcpy(plane(y, n, a.c), plane(b, n, 0), (size_t)b.c * hw * sizeof(double));
    }
    return y;
}

/* x.reshape(N, rows, cols, H, W).transpose(1, 2).reshape(N, C, H, W): output channel
 * j * rows + i is input channel i * cols + j. */
static act view_transpose(act x, int rows, int cols) {
    if (rows * cols != x.c) die("shuffle of %d channels as %d x %d", x.c, rows, cols);
    act y = act_new(x.n, x.c, x.h, x.w);
    for (int b = 0; b < x.n; b++)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                memcpy(plane(y, b, j * rows + i), plane(x, b, i * cols + j),
                       (size_t)x.h * x.w * sizeof(double));
    return y;
}

/* Global average pool, then logits[b][k] = bias[k] + sum_c W[k][c] * mean[b][c]. */
static void gap_fc(fwd *f, const char *wname, const char *bname, act x, int classes,
                   double *logits) {
    const float *wt = param(f, wname, 2, classes, x.c, 0, 0);
    const float *bias = bname ? param(f, bname, 1, classes, 0, 0, 0) : NULL;
    double *mean = xcalloc((size_t)x.c, sizeof *mean);
    for (int b = 0; b < x.n; b++) {
        for (int c = 0; c < x.c; c++) {
            const double *p = plane(x, b, c);
            double s = 0;
            for (int i = 0; i < x.h * x.w; i++)
                s += p[i];
            mean[c] = s / (x.h * x.w);
        }
        for (int k = 0; k < classes; k++) {
            double s = bias ? bias[k] : 0.0;
            for (int c = 0; c < x.c; c++)
                s += (double)wt[(size_t)k * x.c + c] * mean[c];
            logits[(size_t)b * classes + k] = s;
        }
    }
    free(mean);
}

/* Replaces *x by y, freeing the old activation. */
static void take(act *x, act y) {
    free(x->d);
    *x = y;
}

/* conv + BN (+ ReLU) in one line of the network descriptions below. */
static act conv_bn(fwd *f, const char *p, const char *conv_suffix, const char *bn_suffix, act x,
                   int cout, int groups, int k, int stride, int with_relu) {
    char k1[128], k2[128];
    act y = conv(f, key(k1, p, conv_suffix), x, cout, groups, k, stride);
    bn(f, key(k2, p, bn_suffix), y);
    if (with_relu) relu(y);
    return y;
}

/* ---- ShuffleNet V2, torchvision ----------------------------------------------------------- */

/* branch2: 1x1 -> B + BN + ReLU, dw3x3 (stride) + BN, 1x1 B -> B + BN + ReLU */
static act v2_branch2(fwd *f, const char *p, act x, int b, int stride) {
    act t = conv_bn(f, p, "branch2.0.weight", "branch2.1", x, b, 1, 1, 1, 1);
    take(&t, conv_bn(f, p, "branch2.3.weight", "branch2.4", t, b, b, 3, stride, 0));
    take(&t, conv_bn(f, p, "branch2.5.weight", "branch2.6", t, b, 1, 1, 1, 1));
    return t;
}

static act v2_unit(fwd *f, const char *p, act x, int c, int stride) {
    int b = c / 2;
    act out;
    if (stride == 1) {
        /* x1, x2 = first and second halves; out = concat(x1, branch2(x2)) */
        act x1 = slice(x, 0, x.c / 2), x2 = slice(x, x.c / 2, x.c - x.c / 2);
        act y2 = v2_branch2(f, p, x2, b, 1);
        out = concat(x1, y2);
        free(x1.d), free(x2.d), free(y2.d);
    } else {
        /* branch1: dw3x3 s2 + BN, 1x1 C_in -> B + BN + ReLU */
        act y1 = conv_bn(f, p, "branch1.0.weight", "branch1.1", x, x.c, x.c, 3, 2, 0);
        take(&y1, conv_bn(f, p, "branch1.2.weight", "branch1.3", y1, b, 1, 1, 1, 1));
        act y2 = v2_branch2(f, p, x, b, 2);
        out = concat(y1, y2);
        free(y1.d), free(y2.d);
    }
    /* channel_shuffle(out, 2): view as (2, C/2), transpose, flatten */
    act y = view_transpose(out, 2, c / 2);
    free(out.d);
    return y;
}

static void forward_v2(fwd *f, const arch *a, act x, double *logits) {
    char p[64];
    take(&x, conv_bn(f, "", "conv1.0.weight", "conv1.1", x, a->c[0], 1, 3, 2, 1));
    take(&x, pool(x, 1));
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++) {
            snprintf(p, sizeof p, "stage%d.%d.", s + 2, u);
            take(&x, v2_unit(f, p, x, a->c[s + 1], u == 0 ? 2 : 1));
        }
    take(&x, conv_bn(f, "", "conv5.0.weight", "conv5.1", x, a->c[4], 1, 1, 1, 1));
    gap_fc(f, "fc.weight", "fc.bias", x, a->classes, logits);
    free(x.d);
}

/* ---- ShuffleNet V1, Megvii ---------------------------------------------------------------- */

static act v1_unit(fwd *f, const char *p, act x, int c, int g, int g1, int stride) {
    int mid = c / 4, out_main = stride == 2 ? c - x.c : c;
    /* branch_main_1: 1x1 C_in -> mid (g1 groups) + BN + ReLU, dw3x3 (stride) + BN */
    act m = conv_bn(f, p, "branch_main_1.0.weight", "branch_main_1.1", x, mid, g1, 1, 1, 1);
    take(&m, conv_bn(f, p, "branch_main_1.3.weight", "branch_main_1.4", m, mid, mid, 3, stride, 0));
    /* shuffle: view the mid channels as (mid/g, g), transpose, flatten */
    if (g > 1) take(&m, view_transpose(m, mid / g, g));
    /* branch_main_2: 1x1 mid -> out_main (g groups) + BN */
    take(&m, conv_bn(f, p, "branch_main_2.0.weight", "branch_main_2.1", m, out_main, g, 1, 1, 0));
    if (stride == 1) {
        /* relu(main + x) */
        for (size_t i = 0; i < (size_t)m.n * m.c * m.h * m.w; i++)
            m.d[i] += x.d[i];
        relu(m);
        return m;
    }
    /* concat(avgpool(x), relu(main)) */
    relu(m);
    act proj = pool(x, 0);
    act y = concat(proj, m);
    free(proj.d), free(m.d);
    return y;
}

static void forward_v1(fwd *f, const arch *a, act x, double *logits) {
    char p[64];
    take(&x, conv_bn(f, "", "first_conv.0.weight", "first_conv.1", x, a->c[0], 1, 3, 2, 1));
    take(&x, pool(x, 1));
    int unit = 0;
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++, unit++) {
            snprintf(p, sizeof p, "features.%d.", unit);
            int g1 = s == 0 && u == 0 ? 1 : a->groups;
            take(&x, v1_unit(f, p, x, a->c[s + 1], a->groups, g1, u == 0 ? 2 : 1));
        }
    gap_fc(f, "classifier.0.weight", NULL, x, a->classes, logits);
    free(x.d);
}

/* ---- ShuffleNet V2, Megvii ---------------------------------------------------------------- */

/* x[:, offset::2]: Megvii's channel_shuffle, x.reshape(B*C/2, 2, H*W).permute(1, 0, 2), gives
 * rows 0 (the even channels) and 1 (the odd ones) of each image. */
static act every_other(act x, int offset) {
    act y = act_new(x.n, x.c / 2, x.h, x.w);
    for (int b = 0; b < x.n; b++)
        for (int c = 0; c < x.c / 2; c++)
            memcpy(plane(y, b, c), plane(x, b, 2 * c + offset), (size_t)x.h * x.w * sizeof(double));
    return y;
}

static act mv2_unit(fwd *f, const char *p, act x, int c, int stride) {
    int half = c / 2, out = stride == 2 ? c - x.c : half;
    act proj, in;
    if (stride == 1) {
        proj = every_other(x, 0), in = every_other(x, 1);
    } else {
        proj = conv_bn(f, p, "branch_proj.0.weight", "branch_proj.1", x, x.c, x.c, 3, 2, 0);
        take(&proj, conv_bn(f, p, "branch_proj.2.weight", "branch_proj.3", proj, x.c, 1, 1, 1, 1));
        in = slice(x, 0, x.c);
    }
    act m = conv_bn(f, p, "branch_main.0.weight", "branch_main.1", in, half, 1, 1, 1, 1);
    take(&m, conv_bn(f, p, "branch_main.3.weight", "branch_main.4", m, half, half, 3, stride, 0));
    take(&m, conv_bn(f, p, "branch_main.5.weight", "branch_main.6", m, out, 1, 1, 1, 1));
    act y = concat(proj, m); /* and no shuffle */
    free(proj.d), free(in.d), free(m.d);
    return y;
}

static void forward_mv2(fwd *f, const arch *a, act x, double *logits) {
    char p[64];
    take(&x, conv_bn(f, "", "first_conv.0.weight", "first_conv.1", x, a->c[0], 1, 3, 2, 1));
    take(&x, pool(x, 1));
    int unit = 0;
    for (int s = 0; s < 3; s++)
        for (int u = 0; u < a->repeats[s]; u++, unit++) {
            snprintf(p, sizeof p, "features.%d.", unit);
            take(&x, mv2_unit(f, p, x, a->c[s + 1], u == 0 ? 2 : 1));
        }
    take(&x, conv_bn(f, "", "conv_last.0.weight", "conv_last.1", x, a->c[4], 1, 1, 1, 1));
    gap_fc(f, "classifier.0.weight", NULL, x, a->classes, logits);
    free(x.d);
}

/* ---- entry point -------------------------------------------------------------------------- */

static int fail(char *msg, size_t cap, const char *fmt, ...) {
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int arch_forward(const arch *a, const ref_weights *ws, const double *in, int n, int h, int w,
                        double *logits, char *msg, size_t msgcap) {
    const char *model = a->name;
    if (n < 1 || h < 1 || w < 1) return fail(msg, msgcap, "bad input shape %dx3x%dx%d", n, h, w);
    /* the table must be exactly the model's state dict */
    ref_weights *want = arch_weights(a);
    int bad = 0;
    for (int i = 0; i < want->count && !bad; i++) {
        const ref_weight *e = &want->w[i], *g = ref_weights_find(ws, e->name);
        if (!g)
            bad = fail(msg, msgcap, "%s: '%s' is missing", model, e->name);
        else if (g->rank != e->rank ||
                 memcmp(g->shape, e->shape, (size_t)e->rank * sizeof e->shape[0]) != 0)
            bad = fail(msg, msgcap, "%s: '%s' has the wrong shape", model, e->name);
        else if (!g->data)
            bad = fail(msg, msgcap, "%s: '%s' has no data", model, e->name);
    }
    for (int i = 0; i < ws->count && !bad; i++)
        if (!ref_weights_find(want, ws->w[i].name))
            bad = fail(msg, msgcap, "%s: '%s' is unexpected", model, ws->w[i].name);
    ref_weights_free(want);
    if (bad) return -1;

    fwd f = {ws, xcalloc((size_t)ws->count, 1)};
    act x = act_new(n, 3, h, w);
    memcpy(x.d, in, (size_t)n * 3 * h * w * sizeof *x.d);
    if (a->v1 == 1)
        forward_v1(&f, a, x, logits);
    else if (a->v1 == 2)
        forward_mv2(&f, a, x, logits);
    else
        forward_v2(&f, a, x, logits);
    for (int i = 0; i < ws->count && !bad; i++)
        if (!f.used[i]) bad = fail(msg, msgcap, "%s: '%s' was never read", model, ws->w[i].name);
    free(f.used);
    return bad;
}

int ref_network_forward(const char *model, const ref_weights *ws, const double *in, int n, int h,
                        int w, double *logits, char *msg, size_t msgcap) {
    arch a;
    if (!find_arch(model, &a))
        return fail(msg, msgcap, "unknown model '%s'", model ? model : "(null)");
    return arch_forward(&a, ws, in, n, h, w, logits, msg, msgcap);
}

int ref_network_forward_desc(const scl_model_desc *d, const ref_weights *ws, const double *in,
                             int n, int h, int w, double *logits, char *msg, size_t msgcap) {
    arch a;
    desc_arch(d, &a);
    return arch_forward(&a, ws, in, n, h, w, logits, msg, msgcap);
}
