/* desc.c: what every op descriptor shares: checking values against the tunables, looking a
 * shape up in the tuning table, and the deterministic configuration samples of tests and the
 * tuning search. */
#include "ops/desc.h"

#include "ops/op.h"
#include "tune/tune.h"

#include <stdlib.h>
#include <string.h>

const scl__op_desc *const scl__op_descs[] = {
    &scl__pointwise_desc, &scl__depthwise_desc, &scl__stem_desc, &scl__pool_desc,
    &scl__head_desc,      &scl__shuffle_desc,   &scl__unit_desc, NULL};

int scl__tunable_allows(const scl__tunable *t, int v) {
    if (t->values) {
        for (int i = 0; i < t->nvalues; i++)
            if (t->values[i] == v) return 1;
        return 0;
    }
    return v >= t->lo && v <= t->hi && (v - t->lo) % (t->step > 0 ? t->step : 1) == 0;
}

int scl__tunable_nprobes(const scl__tunable *t) {
    return t->probes ? t->nprobes : t->nvalues;
}

int scl__tunable_probe(const scl__tunable *t, int i) {
    return t->probes ? t->probes[i] : t->values[i];
}

const scl_device_info *scl__dev_or_cpu(const scl_context *ctx) {
    static const scl_device_info cpu = {
        .size = sizeof(scl_device_info), .type = SCL_DEVICE_CPU, .native_float_width = 16};
    return ctx ? &ctx->info : &cpu;
}

int scl__cpu_vec(const scl_device_info *dev) {
    unsigned n = dev->native_float_width;
    return n >= 16 || n == 0 ? 16 : n >= 8 ? 8 : 4;
}

int scl__cpu_co_tile(const scl_device_info *dev) {
    /* AVX2: 2 x 6 accumulators, two pixel vectors and a broadcast weight are 15 of its 16
     * registers. On PoCL/Zen 3 this ran V2 1x 1.5x and V1 g3 1.5-2x faster than AVX-512's
     * 2 x 8 (spilled), with 4 and 5 within the noise of 6. */
    return scl__cpu_vec(dev) == 8 ? 6 : 8;
}

static void allowed_text(const scl__tunable *t, char *out, size_t cap) {
    if (!t->values) {
        if (t->step > 1)
            snprintf(out, cap, "%d to %d in steps of %d", t->lo, t->hi, t->step);
        else
            snprintf(out, cap, "%d to %d", t->lo, t->hi);
        return;
    }
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < t->nvalues && len < cap; i++) {
        const char *sep = i == 0 ? "" : i == t->nvalues - 1 ? " or " : ", ";
        len += (size_t)snprintf(out + len, cap - len, "%s%d", sep, t->values[i]);
    }
}

scl_status scl__desc_validate(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                              const int *vals, const char *fn) {
    for (int i = 0; i < d->ntunables; i++) {
        const scl__tunable *t = &d->tunables[i];
        if (scl__tunable_allows(t, vals[i])) continue;
        char allowed[160];
        allowed_text(t, allowed, sizeof allowed);
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: %s = %d, must be %s", fn, t->name,
                         vals[i], allowed);
    }
    return d->check ? d->check(ctx, s, vals, fn) : SCL_OK;
}

const char *scl__desc_precision(const scl__op_shape *s) {
    return s->half ? "f16s" : "f32";
}

void scl__desc_key(const scl__op_shape *s, int key[SCL__MAX_KEY]) {
    key[0] = s->kind, key[1] = s->cin, key[2] = s->cout;
    key[3] = s->groups, key[4] = s->stride, key[5] = s->flags;
}

void scl__desc_format(const scl__op_desc *d, const int *vals, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < d->ntunables && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s %d", i ? " " : "", d->tunables[i].name,
                                vals[i]);
}

/* Validates without touching the caller's last error or log (a failure here is not the
 * caller's error); why (if not NULL) gets the message. */
static int quiet_valid(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                       const int *vals, char *why) {
    char saved[SCL_ERRMSG_CAP];
    scl_log_fn log = ctx->log;
    memcpy(saved, ctx->err, sizeof saved);
    ctx->log = NULL;
    int ok = scl__desc_validate(ctx, d, s, vals, "tuning entry") == SCL_OK;
    if (why) memcpy(why, ctx->err, SCL_ERRMSG_CAP);
    memcpy(ctx->err, saved, sizeof saved);
    ctx->log = log;
    return ok;
}

int scl__desc_resolve(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s, int *vals) {
    d->defaults(&ctx->info, s, vals);
    const scl__tune_table *t = scl__tune_get(ctx);
    if (!t) return 0;
    int key[SCL__MAX_KEY];
    scl__desc_key(s, key);
    /* ops are made before the input size is known: any size (tune.h says which entry wins) */
    const scl__tune_entry *e =
        scl__tune_find(t, d->family, scl__desc_precision(s), key, SCL__MAX_KEY, 0, 0);
    if (!e) return 0;
    if (e->nval != d->ntunables) {
        scl__log(ctx, SCL_LOG_WARN,
                 "%s:%d: %s entry has %d values, the op has %d tunables; "
                 "skipped, using the default configuration",
                 t->path, e->line, d->family, e->nval, d->ntunables);
        return 0;
    }
    char why[SCL_ERRMSG_CAP];
    if (!quiet_valid(ctx, d, s, e->val, why)) {
        scl__log(ctx, SCL_LOG_WARN,
                 "%s:%d: invalid %s entry skipped (%s), using the default "
                 "configuration",
                 t->path, e->line, d->family, why);
        return 0;
    }
    memcpy(vals, e->val, (size_t)d->ntunables * sizeof *vals);
    return 1;
}

/* ---- tuning per input size ----------------------------------------------------------------- */

#define SCL__MAX_SIZES 8

typedef struct scl__op_sizes {
    const scl__op_desc *d;
    scl__op_shape s;
    int vals[SCL__MAX_TUNABLES];        /* the configuration the op was made with */
    float *w, *b;                       /* a copy of the weights, for the variants */
    char kernel_name[64], options[256]; /* the op's own, reported again when it runs itself */
    int n;
    struct {
        int h, w;
        scl_op *op; /* NULL: the op itself */
    } e[SCL__MAX_SIZES];
} scl__op_sizes;

/* 1 if the table has an entry for the shape measured at a given size. */
static int has_sized(const scl__tune_table *t, const scl__op_desc *d, const scl__op_shape *s,
                     const int *key) {
    for (int i = 0; t && i < t->n; i++) {
        const scl__tune_entry *e = &t->e[i];
        if (e->h && strcmp(e->family, d->family) == 0 &&
            strcmp(e->precision, scl__desc_precision(s)) == 0 && e->nkey == SCL__MAX_KEY &&
            memcmp(e->key, key, sizeof e->key[0] * SCL__MAX_KEY) == 0)
            return 1;
    }
    return 0;
}

/* Keeps what the variants of op need; out of memory only forgoes them (the op works). */
static void attach_sizes(scl_op *op, const scl__op_desc *d, const scl__op_shape *s, const int *vals,
                         const float *w, const float *b) {
    int key[SCL__MAX_KEY];
    scl__desc_key(s, key);
    if (!has_sized(scl__tune_get(op->ctx), d, s, key)) return;
    size_t nw = 0, nb = 0;
    d->weight_counts(s, &nw, &nb);
    scl__op_sizes *z = calloc(1, sizeof *z);
    if (z && nw) z->w = malloc(nw * sizeof *z->w);
    if (z && b && nb) z->b = malloc(nb * sizeof *z->b);
    if (!z || (nw && !z->w) || (b && nb && !z->b)) {
        if (z) free(z->w), free(z->b);
        free(z);
        return;
    }
    if (nw) memcpy(z->w, w, nw * sizeof *w);
    if (z->b) memcpy(z->b, b, nb * sizeof *b);
    z->d = d, z->s = *s;
    memcpy(z->vals, vals, sizeof z->vals);
    memcpy(z->kernel_name, op->kernel_name, sizeof z->kernel_name);
    memcpy(z->options, op->options, sizeof z->options);
    op->sizes = z;
}

/* The variant of op for an h x w input per the table, or NULL to run op itself. */
static scl_op *make_variant(scl_op *op, int h, int w) {
    scl__op_sizes *z = op->sizes;
    scl_context *ctx = op->ctx;
    const scl__tune_table *t = scl__tune_get(ctx);
    int key[SCL__MAX_KEY];
    scl__desc_key(&z->s, key);
    const scl__tune_entry *e =
        t ? scl__tune_find(t, z->d->family, scl__desc_precision(&z->s), key, SCL__MAX_KEY, h, w)
          : NULL;
    if (!e) return NULL;
    char why[SCL_ERRMSG_CAP];
    if (e->nval != z->d->ntunables || !quiet_valid(ctx, z->d, &z->s, e->val, why)) {
        if (e->nval != z->d->ntunables)
            snprintf(why, sizeof why, "%d values for %d tunables", e->nval, z->d->ntunables);
        scl__log(ctx, SCL_LOG_WARN,
                 "%s:%d: invalid %s entry skipped (%s), using the op's "
                 "configuration at %dx%d",
                 t->path, e->line, z->d->family, why, h, w);
        return NULL;
    }
    if (memcmp(e->val, z->vals, (size_t)z->d->ntunables * sizeof *e->val) == 0) return NULL;
    char saved[SCL_ERRMSG_CAP];
    scl_log_fn log = ctx->log;
    memcpy(saved, ctx->err, sizeof saved);
    ctx->log = NULL;
    scl_op *v = NULL;
    scl_status st = z->d->create(ctx, &z->s, z->w, z->b, e->val, &v);
    ctx->log = log;
    if (st != SCL_OK)
        scl__log(ctx, SCL_LOG_WARN,
                 "%s:%d: the %s entry fails on this device (%s); using the "
                 "op's configuration at %dx%d",
                 t->path, e->line, z->d->family, ctx->err, h, w);
    memcpy(ctx->err, saved, sizeof saved);
    return st == SCL_OK ? v : NULL;
}

scl_status scl__op_for_size(scl_op *op, int h, int w, scl_op **run) {
    scl__op_sizes *z = op->sizes;
    int i = 0;
    while (i < z->n && !(z->e[i].h == h && z->e[i].w == w))
        i++;
    if (i == z->n && z->n < SCL__MAX_SIZES) {
        /* first launch at this size: built once, kept with the op */
        z->e[i].h = h, z->e[i].w = w, z->e[i].op = make_variant(op, h, w);
        z->n++;
        if (z->e[i].op && !op->tuned) {
            op->tuned = 1;
            op->ctx->tuned_ops++;
        }
    }
    *run = i < z->n && z->e[i].op ? z->e[i].op : op;
    if (*run == op) {
        memcpy(op->kernel_name, z->kernel_name, sizeof op->kernel_name);
        memcpy(op->options, z->options, sizeof op->options);
    }
    return SCL_OK;
}

void scl__op_mirror(scl_op *op, const scl_op *run) {
    op->dims = run->dims, op->use_local = run->use_local;
    memcpy(op->global, run->global, sizeof op->global);
    memcpy(op->local, run->local, sizeof op->local);
    memcpy(op->kernel_name, run->kernel_name, sizeof op->kernel_name);
    memcpy(op->options, run->options, sizeof op->options);
}

void scl__op_sizes_free(scl_op *op) {
    scl__op_sizes *z = op->sizes;
    for (int i = 0; i < z->n; i++)
        scl_op_destroy(z->e[i].op);
    free(z->w), free(z->b), free(z);
    op->sizes = NULL;
}

scl_status scl__desc_create(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                            const float *w, const float *b, scl_op **out) {
    int vals[SCL__MAX_TUNABLES] = {0};
    int tuned = scl__desc_resolve(ctx, d, s, vals);
    /* a tuned configuration that fails is not the caller's error: not logged as one */
    scl_log_fn log = ctx->log;
    if (tuned) ctx->log = NULL;
    scl_status st = d->create(ctx, s, w, b, vals, out);
    ctx->log = log;
    if (tuned && st != SCL_OK) {
        char why[SCL_ERRMSG_CAP], cfg[160];
        memcpy(why, ctx->err, sizeof why);
        scl__desc_format(d, vals, cfg, sizeof cfg);
        d->defaults(&ctx->info, s, vals);
        tuned = 0;
        st = d->create(ctx, s, w, b, vals, out);
        if (st == SCL_OK)
            scl__log(ctx, SCL_LOG_WARN,
                     "%s: the %s entry (%s) fails on this device (%s); "
                     "using the default configuration",
                     scl__tune_get(ctx)->path, d->family, cfg, why);
    }
    if (st != SCL_OK) return st;
    if (tuned) {
        (*out)->tuned = 1;
        ctx->tuned_ops++;
    }
    attach_sizes(*out, d, s, vals, w, b);
    return SCL_OK;
}

/* ---- samples ------------------------------------------------------------------------------ */

/* Appends vals unless it is there already or invalid; returns the new count. */
static int add(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s, const int *vals,
               int (*out)[SCL__MAX_TUNABLES], int n, int cap) {
    if (n >= cap || !quiet_valid(ctx, d, s, vals, NULL)) return n;
    for (int i = 0; i < n; i++)
        if (memcmp(out[i], vals, (size_t)d->ntunables * sizeof *vals) == 0) return n;
    memset(out[n], 0, sizeof out[n]);
    memcpy(out[n], vals, (size_t)d->ntunables * sizeof *vals);
    return n + 1;
}

int scl__desc_samples(scl_context *ctx, const scl__op_desc *d, const scl__op_shape *s,
                      scl__sample_mode mode, int (*vals)[SCL__MAX_TUNABLES], int cap) {
    int n = 0, v[SCL__MAX_TUNABLES] = {0}, def[SCL__MAX_TUNABLES] = {0};
    d->defaults(&ctx->info, s, def);
    n = add(ctx, d, s, def, vals, n, cap);
    if (mode == SCL__SAMPLE_AXES) {
        for (int t = 0; t < d->ntunables; t++)
            for (int p = 0; p < scl__tunable_nprobes(&d->tunables[t]); p++) {
                memcpy(v, def, sizeof v);
                v[t] = scl__tunable_probe(&d->tunables[t], p);
                n = add(ctx, d, s, v, vals, n, cap);
            }
        return n;
    }
    scl_device_info other = ctx->info;
    other.type = ctx->info.type == SCL_DEVICE_CPU ? SCL_DEVICE_GPU : SCL_DEVICE_CPU;
    d->defaults(&other, s, v);
    n = add(ctx, d, s, v, vals, n, cap);
    /* a fixed sequence (an LCG) through the product of the probes; invalid and repeated
     * configurations are passed over, and the attempts are bounded */
    uint64_t state = 0x2545f4914f6cdd1dull;
    for (int tries = 0; n < cap && tries < 64 * cap; tries++) {
        for (int t = 0; t < d->ntunables; t++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            int np = scl__tunable_nprobes(&d->tunables[t]);
            v[t] = scl__tunable_probe(&d->tunables[t], (int)((state >> 33) % (uint64_t)np));
        }
        n = add(ctx, d, s, v, vals, n, cap);
    }
    return n;
}
