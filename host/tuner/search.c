/* search.c: the tuning search (see search.h). The candidates come from the op
 * descriptors (one tunable changed at a time from the device's default, over its probes); the
 * library's tuning table (tune/tune.h) only stores the winners. */
#include "tuner/search.h"

#include "core/internal.h"
#include "net/model.h"
#include "net/network.h"
#include "ops/desc.h"
#include "ops/unit.h"
#include "tune/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CANDIDATES 64

typedef struct bench_io {
    scl_tensor *in, *out, *res;
    float *ref; /* the default configuration's output */
    size_t count;
} bench_io;

/* Times op (min of several runs, by profiling events); with check, compares its output to
 * io->ref and returns SCL_ERROR_SHAPE_MISMATCH on a difference. */
static scl_status time_op(scl_context *ctx, scl_op *op, bench_io *io, int check, double *ms) {
    scl_op_args a = {
        .size = sizeof(scl_op_args), .in = io->in, .out = io->out, .residual = io->res};
    double best = INFINITY;
    scl_status st = SCL_OK;
    if (check) st = scl_tensor_fill(io->out, NAN);
    for (int r = 0; r < 7 && st == SCL_OK; r++) {
        cl_event ev = NULL;
        a.event = r >= 2 ? &ev : NULL; /* two untimed warm-ups: PoCL compiles per local size */
        st = scl_op_enqueue(op, &a);
        if (st == SCL_OK && ev) {
            cl_ulong t0 = 0, t1 = 0;
            cl_int e = clWaitForEvents(1, &ev);
            e |= clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            e |= clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            if (e != CL_SUCCESS)
                st = scl__cl_fail(ctx, e, "tuning: profiling a candidate");
            else if ((t1 - t0) * 1e-6 < best)
                best = (t1 - t0) * 1e-6;
        }
        if (ev) clReleaseEvent(ev);
    }
    if (st != SCL_OK) return st;
    *ms = best;
    float *out = malloc(io->count * sizeof *out);
    if (!out) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    st = scl_tensor_download(io->out, out, io->count);
    if (st == SCL_OK && !check) {
        memcpy(io->ref, out, io->count * sizeof *out);
    } else if (st == SCL_OK) {
        double num = 0, den = 0;
        for (size_t i = 0; i < io->count; i++) {
            double d = (double)out[i] - io->ref[i];
            num += isfinite(out[i]) ? d * d : INFINITY;
            den += (double)io->ref[i] * io->ref[i];
        }
        /* same arithmetic per output in every configuration: anything beyond rounding is a bug */
        if (!(num <= 1e-12 * den)) st = SCL_ERROR_SHAPE_MISMATCH;
    }
    free(out);
    return st;
}

/* Times a candidate and, right after it, the default again: the ratio of the two is what
 * counts. A machine whose speed drifts (a shared vCPU that comes and goes) moves both alike,
 * where comparing against one early timing of the default would report the drift as a gain. */
static scl_status time_against_default(scl_context *ctx, scl_op *cand, scl_op *dflt, bench_io *io,
                                       double *ratio, double *default_ms) {
    double c = 0, d = 0;
    scl_status st = time_op(ctx, cand, io, 1, &c);
    if (st == SCL_OK) st = time_op(ctx, dflt, io, 1, &d);
    if (st == SCL_OK) {
        *ratio = d > 0 ? c / d : INFINITY;
        if (d < *default_ms) *default_ms = d;
    }
    return st;
}

static float *random_floats(size_t n, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; x && i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 40) / 16777216.0 * 2.0 - 1.0);
    }
    return x;
}

/* The candidate's tensors, stored as the shape says (the stem's input and the head's logits
 * stay float, as in the network). */
static scl_status make_io(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s, int n,
                          int h, int w, int oh, int ow, bench_io *io) {
    int cin = s->cin, cout = s->cout, res = (s->flags & SCL_OP_RESIDUAL) != 0;
    scl_precision half = s->half ? SCL_PRECISION_HALF_STORAGE : SCL_PRECISION_FLOAT32;
    scl_precision in_p = d == &scl__stem_desc ? SCL_PRECISION_FLOAT32 : half;
    scl_precision out_p = d == &scl__head_desc ? SCL_PRECISION_FLOAT32 : half;
    memset(io, 0, sizeof *io);
    size_t nin = (size_t)n * cin * h * w;
    io->count = (size_t)n * cout * oh * ow;
    float *x = random_floats(nin > io->count ? nin : io->count, 7);
    io->ref = malloc(io->count * sizeof *io->ref);
    if (!x || !io->ref) {
        free(x);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    scl_status st = scl_tensor_create_ex(ctx, n, cin, h, w, in_p, &io->in);
    if (st == SCL_OK) st = scl_tensor_upload(io->in, x, nin);
    if (st == SCL_OK) st = scl_tensor_create_ex(ctx, n, cout, oh, ow, out_p, &io->out);
    if (st == SCL_OK && res) st = scl_tensor_create_ex(ctx, n, cout, oh, ow, half, &io->res);
    if (st == SCL_OK && res) st = scl_tensor_upload(io->res, x, io->count);
    free(x);
    return st;
}

static void free_io(bench_io *io) {
    scl_tensor_destroy(io->in), scl_tensor_destroy(io->out), scl_tensor_destroy(io->res);
    free(io->ref);
}

/* The winner's curse: the smallest of many noisy ratios is biased low, and on a shared machine
 * whose speed comes and goes a candidate can win by luck. So the best candidate is timed against
 * the default CONFIRM_ROUNDS more times and its ratio becomes the median of those (the caller
 * keeps it only if that still beats the default). time_fn gives one fresh ratio. */
#define CONFIRM_ROUNDS 3

typedef scl_status (*ratio_fn)(void *user, double *ratio, double *default_ms);

/* The median of n ratios (sorted in place; n small). */
static double median_of(double *r, int n) {
    for (int k = 1; k < n; k++)
        for (int j = k; j > 0 && r[j] < r[j - 1]; j--) {
            double x = r[j];
            r[j] = r[j - 1], r[j - 1] = x;
        }
    return r[n / 2];
}

static scl_status confirm(ratio_fn time_fn, void *user, double *ratio, double *default_ms) {
    double r[CONFIRM_ROUNDS];
    for (int k = 0; k < CONFIRM_ROUNDS; k++) {
        scl_status st = time_fn(user, &r[k], default_ms);
        if (st != SCL_OK) return st;
    }
    *ratio = median_of(r, CONFIRM_ROUNDS);
    return SCL_OK;
}

/* A candidate configuration of an op against its default, for confirm(). */
typedef struct op_rematch {
    scl_context *ctx;
    scl_op *cand, *dflt;
    bench_io *io;
} op_rematch;

static scl_status op_ratio(void *user, double *ratio, double *default_ms) {
    op_rematch *m = user;
    return time_against_default(m->ctx, m->cand, m->dflt, m->io, ratio, default_ms);
}

/* Confirms candidate vals of descriptor d (made again from w and b) against dflt. */
static scl_status confirm_op(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                             const float *w, const float *b, const int *vals, scl_op *dflt,
                             bench_io *io, double *ratio, double *default_ms) {
    op_rematch m = {ctx, NULL, dflt, io};
    scl_status st = d->create(ctx, s, w, b, vals, &m.cand);
    if (st == SCL_OK) st = confirm(op_ratio, &m, ratio, default_ms);
    scl_op_destroy(m.cand);
    return st;
}

typedef struct tuner {
    scl_context *ctx;
    scl_tune_progress progress;
    void *user;
    scl_tune_report *rep;
    int half;                  /* tuning the half-storage ops */
    scl__tune_table *kept;     /* winners that beat the default: written */
    scl__tune_table *measured; /* every shape measured in this run, kept or not */
} tuner;

static void say(tuner *t, const char *fmt, ...) {
    if (!t->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->progress(line, t->user);
}

/* A layer as its op family sees it: descriptor, shape, weight count. 0 for layers not tuned. */
static int layer_kind(const scl_layer *l, const scl__op_desc **d, scl__op_shape *s, size_t *nw);

static int layer_op(const scl_layer *l, int half, const scl__op_desc **d, scl__op_shape *s,
                    size_t *nw) {
    if (!layer_kind(l, d, s, nw)) return 0;
    s->half = half;
    return 1;
}

static int layer_kind(const scl_layer *l, const scl__op_desc **d, scl__op_shape *s, size_t *nw) {
    switch (l->kind) {
    case SCL_LAYER_POINTWISE:
        *d = &scl__pointwise_desc,
        *s = (scl__op_shape){0, l->cin, l->cout, l->groups, 1, l->flags, 0};
        *nw = (size_t)l->cout * (size_t)(l->cin / l->groups);
        return 1;
    case SCL_LAYER_DEPTHWISE:
        *d = &scl__depthwise_desc;
        *s = (scl__op_shape){0, l->cout, l->cout, l->cout, l->stride, l->flags, 0};
        *nw = (size_t)l->cout * 9;
        return 1;
    case SCL_LAYER_STEM:
        *d = &scl__stem_desc, *s = (scl__op_shape){0, 3, l->cout, 1, 2, SCL_OP_RELU, 0};
        *nw = (size_t)l->cout * 27;
        return 1;
    case SCL_LAYER_MAXPOOL:
    case SCL_LAYER_AVGPOOL:
        *d = &scl__pool_desc;
        *s = (scl__op_shape){l->kind == SCL_LAYER_AVGPOOL, l->cin, l->cin, l->cin, 2, 0, 0};
        *nw = 0;
        return 1;
    case SCL_LAYER_GAP_FC:
        *d = &scl__head_desc, *s = (scl__op_shape){0, l->cin, l->cout, 1, 1, 0, 0};
        *nw = (size_t)l->cout * (size_t)l->cin;
        return 1;
    default:
        return 0;
    }
}

/* Records the measured shape (and the winner, when it beat the default) and reports it. */
static scl_status record(tuner *t, const scl__op_desc *d, scl__tune_entry *e, const int *best,
                         double def_ms, double best_ms) {
    scl_context *ctx = t->ctx;
    t->rep->shapes++;
    t->rep->default_ms += def_ms;
    /* keep the default unless a candidate beats it clearly: timings wobble by a few percent */
    int better = best && best_ms < 0.95 * def_ms;
    t->rep->tuned_ms += better ? best_ms : def_ms;
    char cfg[160] = "-";
    if (best) scl__desc_format(d, best, cfg, sizeof cfg);
    say(t, "%-9s %4d -> %4d g%-3d s%d %3dx%-3d default %.3f ms, best %s %.3f ms%s", d->family,
        e->key[1], e->key[2], e->key[3], e->key[4], e->h, e->w, def_ms, cfg, best_ms,
        better ? " (kept)" : "");
    scl_status st = scl__tune_put(ctx, t->measured, e);
    if (st != SCL_OK || !better) return st;
    e->nval = d->ntunables;
    memcpy(e->val, best, (size_t)d->ntunables * sizeof *best);
    e->default_ms = def_ms, e->tuned_ms = best_ms;
    t->rep->improved++;
    return scl__tune_put(ctx, t->kept, e);
}

/* Times every candidate of one layer shape at its input size h x w against the default. */
static scl_status tune_layer(tuner *t, const scl_layer *l, int n, int h, int w) {
    scl_context *ctx = t->ctx;
    const scl__op_desc *d;
    scl__op_shape s;
    size_t nw;
    if (!layer_op(l, t->half, &d, &s, &nw)) return SCL_OK;
    scl__tune_entry e = {.h = h, .w = w, .nkey = SCL__MAX_KEY, .default_ms = -1, .tuned_ms = -1};
    snprintf(e.family, sizeof e.family, "%s", d->family);
    snprintf(e.precision, sizeof e.precision, "%s", scl__desc_precision(&s));
    scl__desc_key(&s, e.key);
    if (scl__tune_find(t->measured, e.family, e.precision, e.key, e.nkey, h, w)) return SCL_OK;
    int(*cand)[SCL__MAX_TUNABLES] = malloc(MAX_CANDIDATES * sizeof *cand);
    float *wts = random_floats(nw, 11), *bias = random_floats((size_t)s.cout, 13);
    int oh, ow, ncand = 0;
    bench_io io;
    memset(&io, 0, sizeof io);
    scl_op *dflt = NULL;
    scl_status st = cand && wts && bias
                        ? SCL_OK
                        : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == SCL_OK) ncand = scl__desc_samples(ctx, d, &s, SCL__SAMPLE_AXES, cand, MAX_CANDIDATES);
    /* the first sample is the default: made through the descriptor, never from the table */
    if (st == SCL_OK) st = d->create(ctx, &s, nw ? wts : NULL, bias, cand[0], &dflt);
    if (st == SCL_OK) {
        scl_op_output_hw(dflt, h, w, &oh, &ow);
        st = make_io(ctx, d, &s, n, h, w, oh, ow, &io);
    }
    double def_ms = INFINITY, best_ratio = INFINITY, first = 0;
    int best = -1;
    if (st == SCL_OK) st = time_op(ctx, dflt, &io, 0, &first);
    if (st == SCL_OK) def_ms = first;
    for (int c = 1; c < ncand && st == SCL_OK; c++) {
        scl_op *op = NULL;
        double ratio;
        st = d->create(ctx, &s, nw ? wts : NULL, bias, cand[c], &op);
        if (st == SCL_ERROR_INVALID_ARGUMENT) { /* over a kernel's own work-group limit */
            st = SCL_OK;
            continue;
        }
        if (st == SCL_OK) st = time_against_default(ctx, op, dflt, &io, &ratio, &def_ms);
        scl_op_destroy(op);
        t->rep->candidates++;
        if (st == SCL_ERROR_SHAPE_MISMATCH) {
            t->rep->rejected++;
            st = SCL_OK;
            continue;
        }
        if (st == SCL_OK && ratio < best_ratio) best_ratio = ratio, best = c;
    }
    if (st == SCL_OK && best >= 0 && best_ratio < 0.95)
        st = confirm_op(ctx, d, &s, nw ? wts : NULL, bias, cand[best], dflt, &io, &best_ratio,
                        &def_ms);
    scl_op_destroy(dflt);
    if (st == SCL_OK)
        st = record(t, d, &e, best >= 0 ? cand[best] : NULL, def_ms, best_ratio * def_ms);
    free_io(&io);
    free(cand), free(wts), free(bias);
    return st;
}

/* The default op of one layer of a unit, timed alone on inputs of its own: the unit's cost
 * when the network runs it layer by layer. */
static scl_status time_layer_default(tuner *t, const scl_layer *l, int n, int h, int w,
                                     double *ms) {
    scl_context *ctx = t->ctx;
    const scl__op_desc *d;
    scl__op_shape s;
    size_t nw;
    *ms = 0;
    if (!layer_op(l, t->half, &d, &s, &nw)) return SCL_OK;
    int vals[SCL__MAX_TUNABLES];
    scl__desc_resolve(ctx, d, &s, vals); /* what the network would make: the table counts */
    float *wts = random_floats(nw, 17), *bias = random_floats((size_t)s.cout, 19);
    scl_op *op = NULL;
    bench_io io;
    memset(&io, 0, sizeof io);
    int oh, ow;
    scl_status st = wts && bias ? d->create(ctx, &s, nw ? wts : NULL, bias, vals, &op)
                                : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == SCL_OK) {
        scl_op_output_hw(op, h, w, &oh, &ow);
        st = make_io(ctx, d, &s, n, h, w, oh, ow, &io);
    }
    if (st == SCL_OK) st = time_op(ctx, op, &io, 0, ms);
    scl_op_destroy(op);
    free_io(&io);
    free(wts), free(bias);
    return st;
}

/* A unit run layer by layer (its layers' default ops, each timed alone) against its fused
 * default: the ratio of the sum to the default timed right after. */
typedef struct unit_layers_run {
    tuner *t;
    const scl_model *m;
    int i, n, H, W;
    scl_op *dflt;
    bench_io *io;
} unit_layers_run;

static scl_status unfused_ratio(void *user, double *ratio, double *default_ms) {
    unit_layers_run *u = user;
    const scl_layer *ls = &u->m->layers[u->i];
    double sum = 0, ms, again = 0;
    scl_status st = SCL_OK;
    for (int j = 0; j < ls->unit_len && st == SCL_OK; j++) {
        int level = u->m->bufs[ls[j].in_buf].level;
        st = time_layer_default(u->t, &ls[j], u->n, scl__level_size(u->H, level),
                                scl__level_size(u->W, level), &ms);
        sum += ms;
    }
    if (st == SCL_OK) st = time_op(u->t->ctx, u->dflt, u->io, 1, &again);
    if (st == SCL_OK) *ratio = again > 0 ? sum / again : INFINITY;
    if (st == SCL_OK && again < *default_ms) *default_ms = again;
    return st;
}

/* The unit starting at layer i of the fusable model m, for an H x W network input: its fused launch
 * in each configuration of the unit descriptor's samples, and with fuse = 0 its layers one by one
 * (their default ops, timed alone; no output to compare). The winner goes to the table: the
 * network then fuses the unit, or not, as measured on this device at this size. */
static scl_status tune_unit(tuner *t, const scl_model *m, int i, int n, int H, int W) {
    scl_context *ctx = t->ctx;
    const scl_layer *ls = &m->layers[i];
    int h = scl__level_size(H, m->bufs[ls->in_buf].level);
    int w = scl__level_size(W, m->bufs[ls->in_buf].level);
    const scl__op_desc *d = &scl__unit_desc;
    int kind, cin, cout, groups, first_groups;
    scl__unit_shape(ls, &kind, &cin, &cout, &groups, &first_groups);
    scl__op_shape s = {kind, cin, cout, groups, ls->unit_stride, 0, t->half};
    scl__tune_entry e = {.h = h, .w = w, .nkey = SCL__MAX_KEY, .default_ms = -1, .tuned_ms = -1};
    snprintf(e.family, sizeof e.family, "%s", d->family);
    snprintf(e.precision, sizeof e.precision, "%s", scl__desc_precision(&s));
    scl__desc_key(&s, e.key);
    if (scl__tune_find(t->measured, e.family, e.precision, e.key, e.nkey, h, w)) return SCL_OK;
    size_t nw = 0, nb = 0;
    d->weight_counts(&s, &nw, &nb);
    int(*cand)[SCL__MAX_TUNABLES] = malloc(MAX_CANDIDATES * sizeof *cand);
    float *wts = random_floats(nw, 23), *bias = random_floats(nb, 29);
    bench_io io;
    memset(&io, 0, sizeof io);
    scl_op *dflt = NULL;
    int oh, ow, ncand = 0, best = -1;
    double def_ms = INFINITY, best_ratio = INFINITY, first = 0;
    unit_layers_run unfused = {t, m, i, n, H, W, NULL, &io};
    scl_status st = cand && wts && bias
                        ? SCL_OK
                        : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == SCL_OK) ncand = scl__desc_samples(ctx, d, &s, SCL__SAMPLE_AXES, cand, MAX_CANDIDATES);
    if (st == SCL_OK) st = d->create(ctx, &s, wts, bias, cand[0], &dflt);
    /* a band that does not fit the device runs layer by layer anyway: nothing to choose */
    int fits = st == SCL_OK && scl__op_unit_fits(dflt, n, h, w);
    if (fits) {
        scl_op_output_hw(dflt, h, w, &oh, &ow);
        st = make_io(ctx, d, &s, n, h, w, oh, ow, &io);
    }
    if (fits && st == SCL_OK) st = time_op(ctx, dflt, &io, 0, &first);
    if (fits && st == SCL_OK) def_ms = first;
    for (int c = 1; fits && c < ncand && st == SCL_OK; c++) {
        double ratio = INFINITY;
        if (cand[c][3] == 0) { /* layer by layer: the sum of the layers, then the default again */
            unfused.dflt = dflt;
            st = unfused_ratio(&unfused, &ratio, &def_ms);
        } else {
            scl_op *op = NULL;
            st = d->create(ctx, &s, wts, bias, cand[c], &op);
            if (st == SCL_ERROR_INVALID_ARGUMENT) { /* over a kernel's own work-group limit */
                st = SCL_OK;
                continue;
            }
            if (st == SCL_OK) st = time_against_default(ctx, op, dflt, &io, &ratio, &def_ms);
            scl_op_destroy(op);
            if (st == SCL_ERROR_SHAPE_MISMATCH) {
                t->rep->rejected++;
                t->rep->candidates++;
                st = SCL_OK;
                continue;
            }
        }
        t->rep->candidates++;
        if (st == SCL_OK && ratio < best_ratio) best_ratio = ratio, best = c;
    }
    if (fits && st == SCL_OK && best >= 0 && best_ratio < 0.95) {
        unfused.dflt = dflt;
        st = cand[best][3] == 0
                 ? confirm(unfused_ratio, &unfused, &best_ratio, &def_ms)
                 : confirm_op(ctx, d, &s, wts, bias, cand[best], dflt, &io, &best_ratio, &def_ms);
    }
    scl_op_destroy(dflt);
    if (fits && st == SCL_OK)
        st = record(t, d, &e, best >= 0 ? cand[best] : NULL, def_ms, best_ratio * def_ms);
    free_io(&io);
    free(cand), free(wts), free(bias);
    return st;
}

static int family_wanted(const char *families, const char *name) {
    const char *p = families ? families : "pointwise,depthwise,unit,block";
    size_t len = strlen(name);
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, n) == 0) return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* Writes what this run kept, plus the old table's entries for shapes and sizes it did not
 * measure. */
static scl_status save(tuner *t) {
    const scl__tune_table *old = scl__tune_get(t->ctx);
    for (int i = 0; old && i < old->n; i++) {
        const scl__tune_entry *e = &old->e[i];
        if (e->h &&
            scl__tune_find(t->measured, e->family, e->precision, e->key, e->nkey, e->h, e->w))
            continue;
        scl_status st = scl__tune_put(t->ctx, t->kept, e);
        if (st != SCL_OK) return st;
    }
    return scl__tune_save(t->ctx, t->kept, t->rep->path, sizeof t->rep->path);
}

/* ---- the batch's block size (family "block": a whole network, not an op) ---- */

#define BLOCK_ROUNDS 5

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* One timed run of net over x (n x 3 x h x w) in blocks of b, logits into y; its wall time. */
static scl_status run_blocks(scl_network *net, int b, const float *x, int n, int h, int w, float *y,
                             double *ms) {
    net->opts.batch_block = b;
    double t0 = now_ms();
    scl_status st = scl_network_run(net, x, n, h, w, y);
    *ms = now_ms() - t0;
    return st;
}

/* Times the network at n x 3 x h x w (the op entries just written in force) whole and in blocks
 * of 1, 2, 4, 8 and 16 images (those under n), each round a candidate then the whole batch (the
 * ratio counts: a drifting machine moves both alike; the median round of BLOCK_ROUNDS). A
 * candidate whose logits differ from the whole batch's beyond rounding is rejected; the fastest
 * is kept when it beats the whole batch by more than 5%. The entry: key (n, the model's
 * signature), value the block. */
static scl_status tune_block(tuner *t, const scl_model_desc *model, int n, int h, int w,
                             scl__tune_entry *out, int *kept) {
    static const int probes[] = {1, 2, 4, 8, 16};
    scl_context *ctx = t->ctx;
    *kept = 0;
    scl_network_options o = {.size = sizeof o};
    o.precision = t->half ? SCL_PRECISION_HALF_STORAGE : SCL_PRECISION_FLOAT32;
    /* two networks with the same weights, so that switching between a candidate and the whole
     * batch never plans and allocates again inside the timing */
    scl_network *net = NULL, *whole_net = NULL;
    scl_status st = scl__network_create(ctx, model, &o, &net, "tune");
    if (st == SCL_OK) st = scl__network_create(ctx, model, &o, &whole_net, "tune");
    if (st != SCL_OK) {
        scl_network_destroy(net);
        return st;
    }
    size_t nx = (size_t)n * 3 * (size_t)h * (size_t)w, ny = (size_t)n * net->model->classes;
    float *x = malloc(nx * sizeof *x), *ref = malloc(ny * sizeof *ref), *y = malloc(ny * sizeof *y);
    if (!x || !ref || !y) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; x && i < nx; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((seed >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
    if (st == SCL_OK) st = scl_network_random_weights(net, 7);
    if (st == SCL_OK) st = scl_network_random_weights(whole_net, 7);
    double d = 0, c = 0;
    /* a warm-up of the whole batch (code generation, allocation): its logits are the reference */
    if (st == SCL_OK) st = run_blocks(whole_net, n, x, n, h, w, ref, &d);
    double best_ratio = 1, best_whole = INFINITY;
    int best = 0;
    for (size_t p = 0; p < SCL_ARRAY_LEN(probes) && probes[p] < n && st == SCL_OK; p++) {
        const int b = probes[p];
        double ratio = INFINITY;
        st = run_blocks(net, b, x, n, h, w, y, &c); /* plans for b; its logits are checked */
        double num = 0, den = 0;
        for (size_t i = 0; st == SCL_OK && i < ny; i++) {
            double e = (double)y[i] - ref[i];
            num += isfinite(y[i]) ? e * e : INFINITY;
            den += (double)ref[i] * ref[i];
        }
        double rs[BLOCK_ROUNDS];
        for (int r = 0; r < BLOCK_ROUNDS && st == SCL_OK; r++) {
            st = run_blocks(net, b, x, n, h, w, y, &c);
            if (st == SCL_OK) st = run_blocks(whole_net, n, x, n, h, w, ref, &d);
            rs[r] = st == SCL_OK && d > 0 ? c / d : INFINITY;
            if (st == SCL_OK && d < best_whole) best_whole = d;
        }
        /* the median round: the smallest ratio of several would favour luck (see confirm) */
        if (st == SCL_OK) ratio = median_of(rs, BLOCK_ROUNDS);
        if (st != SCL_OK) break;
        t->rep->candidates++;
        int agrees = num <= 1e-12 * den;
        if (!agrees) t->rep->rejected++;
        say(t, "block     batch %d in blocks of %-2d: %.2fx the whole batch's time%s", n, b, ratio,
            agrees ? "" : " (rejected: the logits differ)");
        if (agrees && ratio < best_ratio) best_ratio = ratio, best = b;
    }
    if (st == SCL_OK) {
        memset(out, 0, sizeof *out);
        snprintf(out->family, sizeof out->family, "block");
        snprintf(out->precision, sizeof out->precision, "%s", t->half ? "f16s" : "f32");
        out->h = h, out->w = w, out->nkey = 2, out->key[0] = n;
        out->key[1] = (int)net->signature;
        out->nval = 1, out->val[0] = best_ratio < 0.95 ? best : n;
        out->default_ms = best_whole, out->tuned_ms = best_ratio * best_whole;
        *kept = best_ratio < 0.95;
        say(t, "block     batch %d: %s", n,
            *kept ? "runs in blocks (kept)" : "runs whole (no block was 5% faster)");
    }
    free(x), free(ref), free(y);
    scl_network_destroy(net);
    scl_network_destroy(whole_net);
    return st;
}

/* After the op entries are written: the block entry for batch n, added to the file. */
static scl_status save_block(tuner *t, const scl_model_desc *model, int n, int h, int w) {
    scl__tune_entry e;
    int kept;
    scl_status st = tune_block(t, model, n, h, w, &e, &kept);
    if (st != SCL_OK) return st;
    scl__tune_table *all = scl__tune_new();
    if (!all) return scl__fail(t->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    /* the whole batch's entry too: it replaces an older choice of blocks for this batch */
    st = scl__tune_put(t->ctx, all, &e);
    if (st == SCL_OK) st = scl__tune_merge(t->ctx, all, scl__tune_get(t->ctx));
    if (st == SCL_OK) st = scl__tune_save(t->ctx, all, t->rep->path, sizeof t->rep->path);
    if (st == SCL_OK) t->rep->improved += kept;
    scl__tune_free(all);
    scl__tune_release(t->ctx);
    return st;
}

scl_status scl__tune_search(scl_context *ctx, const scl_model_desc *model, int n, int h, int w,
                            const char *families, int half, scl_tune_progress progress, void *user,
                            scl_tune_report *report) {
    if (!ctx || !model || !report || n < 1 || h < 1 || w < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "tune: bad arguments");
    memset(report, 0, sizeof *report);
    report->size = sizeof *report;
    if (!ctx->profiling)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED, "tune: the queue has no profiling");
    if (!ctx->cache_dir)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED,
                         "tune: the cache directory is off; tuning has nowhere to go");
    for (const char *p = families; p && *p;) {
        size_t len = strcspn(p, ",");
        int known = len == 5 && strncmp(p, "block", 5) == 0; /* the batch's block size */
        for (int i = 0; scl__op_descs[i]; i++)
            known |= strlen(scl__op_descs[i]->family) == len &&
                     strncmp(scl__op_descs[i]->family, p, len) == 0;
        if (!known)
            return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "tune: unknown op family '%.*s'",
                             (int)len, p);
        p += len + (p[len] == ',');
    }
    scl_model *m;
    scl_status st = scl__model_build_desc(model, 0, &m);
    if (st != SCL_OK) return scl__fail(ctx, st, "tune: out of host memory building the model");
    tuner t = {ctx, progress, user, report, half, scl__tune_new(), scl__tune_new()};
    if (!t.kept || !t.measured) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (int i = 0; i < m->nlayers && st == SCL_OK; i++) {
        const scl_layer *l = &m->layers[i];
        const scl__op_desc *d;
        scl__op_shape s;
        size_t nw;
        if (!layer_op(l, t.half, &d, &s, &nw) || !family_wanted(families, d->family)) continue;
        int level = m->bufs[l->in_buf].level;
        st = tune_layer(&t, l, n, scl__level_size(h, level), scl__level_size(w, level));
    }
    scl__model_free(m);
    /* the fused units, on the model as a network builds it for fusion */
    if (st == SCL_OK && family_wanted(families, scl__unit_desc.family)) {
        if ((st = scl__model_build_fusable(model, 1, &m)) != SCL_OK)
            scl__fail(ctx, st, "tune: out of host memory building the model");
        for (int i = 0; st == SCL_OK && i < m->nlayers; i++)
            if (m->layers[i].unit_len) st = tune_unit(&t, m, i, n, h, w);
        if (m) scl__model_free(m);
    }
    if (st == SCL_OK) st = save(&t);
    scl__tune_free(t.kept), scl__tune_free(t.measured);
    scl__tune_release(ctx); /* the next network reads the new file */
    if (st == SCL_OK && n > 1 && family_wanted(families, "block"))
        st = save_block(&t, model, n, h, w);
    return st;
}

/* ---- the public entry points (shufflecl_ext.h) ---- */

/* Tunes into the caller's versioned report (as much of it as its size says). */
static scl_status tune_sized(scl_context *ctx, const scl_model_desc *d, int n, int h, int w,
                             const char *families, scl_precision precision,
                             scl_tune_progress progress, void *user, scl_tune_report *report) {
    int half;
    scl_status pst = scl__storage_of(ctx, precision, "tune", "precision", &half);
    if (pst != SCL_OK) return pst;
    if (!report) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "tune: report is NULL");
    scl_tune_report r = {.size = sizeof r};
    if (report->size < sizeof r)
        return scl__sized_out(ctx, "tune", "scl_tune_report", report, &r, sizeof r, sizeof r);
    scl_status st = scl__tune_search(ctx, d, n, h, w, families, half, progress, user, &r);
    scl_status cst = scl__sized_out(ctx, "tune", "scl_tune_report", report, &r, sizeof r, sizeof r);
    return st != SCL_OK ? st : cst;
}

scl_status scl_tune_model(scl_context *ctx, const char *model, int n, int h, int w,
                          const char *families, scl_tune_progress progress, void *user,
                          scl_tune_report *report) {
    scl_model_desc d;
    if (!scl__desc_preset(model, &d))
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED_MODEL, "tune: unknown model '%s'",
                         model ? model : "(null)");
    return tune_sized(ctx, &d, n, h, w, families, SCL_PRECISION_FLOAT32, progress, user, report);
}

scl_status scl_tune_desc(scl_context *ctx, const scl_model_desc *desc, int n, int h, int w,
                         const char *families, scl_tune_progress progress, void *user,
                         scl_tune_report *report) {
    return scl_tune_desc_ex(ctx, desc, n, h, w, families, SCL_PRECISION_FLOAT32, progress, user,
                            report);
}

scl_status scl_tune_desc_ex(scl_context *ctx, const scl_model_desc *desc, int n, int h, int w,
                            const char *families, scl_precision precision,
                            scl_tune_progress progress, void *user, scl_tune_report *report) {
    scl_model_desc d;
    char msg[512];
    if (!ctx || !scl__desc_in(desc, &d))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_tune_desc: NULL argument or desc->size too small");
    scl_status st = scl__desc_check(&d, msg, sizeof msg);
    if (st != SCL_OK) return scl__fail(ctx, st, "scl_tune_desc: %s", msg);
    return tune_sized(ctx, &d, n, h, w, families, precision, progress, user, report);
}
