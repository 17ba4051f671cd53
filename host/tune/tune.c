/* tune.c: the auto-tuner and its per-device table (see tune.h).
 *
 * The table is a text file in the cache directory, one per device (named by a hash of device
 * name, driver and platform version). Its second line holds a hash of the kernel sources it
 * was measured with: when a kernel changes, the whole table is stale and ignored. Entries are
 * keyed by layer shape without the spatial size (ops are made before the input size is known),
 * and measured at the size the tuned model has at the given input. */
#include "tune/tune.h"

#include "net/model.h"
#include "ops/op.h"
#include "ops/pointwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TUNE_FORMAT 1

typedef enum tune_kind { TUNE_PW, TUNE_DW } tune_kind;

typedef struct tune_entry {
    tune_kind kind;
    int key[4]; /* pw: cin cout groups flags; dw: channels stride flags */
    int val[7]; /* pw: vec co_tile; dw: vw th seg plane_wg local0 local1 */
    double default_ms, tuned_ms;
    int measured_only; /* timed in this run, default kept: not written */
} tune_entry;

struct scl_tune_db {
    int n, cap;
    tune_entry *e;
};

static void hex(const unsigned char *d, int n, char *out) {
    for (int i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void tune_path(const scl_context *ctx, char *path, size_t cap) {
    scl_sha256 s;
    unsigned char d[32];
    char h[33];
    scl_sha256_init(&s);
    scl_sha256_update(&s, ctx->info.name, strlen(ctx->info.name) + 1);
    scl_sha256_update(&s, ctx->info.driver_version, strlen(ctx->info.driver_version) + 1);
    scl_sha256_update(&s, ctx->info.platform_version, strlen(ctx->info.platform_version) + 1);
    scl_sha256_final(&s, d);
    hex(d, 16, h);
    snprintf(path, cap, "%s/tune-%s.txt", ctx->cache_dir ? ctx->cache_dir : ".", h);
}

/* The hash of the sources a tuning depends on: any kernel edit makes old tunings stale. */
static scl_status source_hash(scl_context *ctx, char out[65]) {
    static const char *const files[] = {"pointwise.cl", "depthwise.cl"};
    scl_sha256 s;
    scl_sha256_init(&s);
    scl_sha256_update(&s, scl_version(), strlen(scl_version()));
    for (size_t i = 0; i < SCL_ARRAY_LEN(files); i++) {
        const char *src;
        size_t len;
        int owned;
        scl_status st = scl__cl_source(ctx, files[i], &src, &len, &owned);
        if (st != SCL_OK) return st;
        scl_sha256_update(&s, src, len);
        if (owned) free((void *)src);
    }
    unsigned char d[32];
    scl_sha256_final(&s, d);
    hex(d, 32, out);
    return SCL_OK;
}

static tune_entry *db_add(struct scl_tune_db *db) {
    if (db->n == db->cap) {
        int cap = db->cap ? 2 * db->cap : 32;
        tune_entry *ne = realloc(db->e, (size_t)cap * sizeof *ne);
        if (!ne) return NULL;
        db->e = ne, db->cap = cap;
    }
    memset(&db->e[db->n], 0, sizeof db->e[0]);
    return &db->e[db->n++];
}

static tune_entry *db_find(struct scl_tune_db *db, tune_kind kind, const int key[4]) {
    for (int i = 0; db && i < db->n; i++)
        if (db->e[i].kind == kind && memcmp(db->e[i].key, key, sizeof db->e[i].key) == 0) return &db->e[i];
    return NULL;
}

/* Loads the device's table once per context; a missing, stale or malformed file is no table. */
static struct scl_tune_db *db_get(scl_context *ctx) {
    if (ctx->tune_loaded) return ctx->tune;
    ctx->tune_loaded = 1;
    if (!ctx->cache_dir) return NULL;
    char path[4200];
    tune_path(ctx, path, sizeof path);
    return ctx->tune = scl__tune_read(ctx, path);
}

scl_status scl__tune_source_hash(scl_context *ctx, char out[65]) { return source_hash(ctx, out); }

struct scl_tune_db *scl__tune_read(scl_context *ctx, const char *path) {
    char want[65], line[512];
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    int fmt = 0;
    char got[128] = "";
    struct scl_tune_db *db = calloc(1, sizeof *db);
    int ok = db && source_hash(ctx, want) == SCL_OK && fgets(line, sizeof line, f) &&
             sscanf(line, "shufflecl-tune %d", &fmt) == 1 && fmt == TUNE_FORMAT && fgets(line, sizeof line, f) &&
             sscanf(line, "source %127s", got) == 1 && strcmp(got, want) == 0;
    while (ok && fgets(line, sizeof line, f)) {
        tune_entry t = {0};
        if (sscanf(line, "pointwise %d %d %d %d %d %d %lf %lf", &t.key[0], &t.key[1], &t.key[2], &t.key[3],
                   &t.val[0], &t.val[1], &t.default_ms, &t.tuned_ms) == 8) {
            t.kind = TUNE_PW;
        } else if (sscanf(line, "depthwise %d %d %d %d %d %d %d %d %d %lf %lf", &t.key[0], &t.key[1], &t.key[2],
                          &t.val[0], &t.val[1], &t.val[2], &t.val[3], &t.val[4], &t.val[5], &t.default_ms,
                          &t.tuned_ms) == 11) {
            t.kind = TUNE_DW;
        } else {
            continue; /* device line, comments */
        }
        tune_entry *e = db_add(db);
        if (e) *e = t;
    }
    fclose(f);
    if (!ok) {
        if (db) free(db->e);
        free(db);
        scl__log(ctx, SCL_LOG_INFO, "ignoring tuning file %s (stale or malformed)", path);
        return NULL;
    }
    return db;
}

void scl__tune_release(scl_context *ctx) {
    if (ctx->tune) free(ctx->tune->e);
    free(ctx->tune);
    ctx->tune = NULL;
    ctx->tune_loaded = 0;
}

int scl__tune_pointwise(scl_context *ctx, int cin, int cout, int groups, int flags, int *vec, int *co_tile) {
    int key[4] = {cin, cout, groups, flags};
    tune_entry *e = db_find(db_get(ctx), TUNE_PW, key);
    if (!e) return 0;
    *vec = e->val[0], *co_tile = e->val[1];
    ctx->tuned_ops++;
    return 1;
}

int scl__tune_depthwise(scl_context *ctx, int channels, int stride, int flags, scl_dw_cfg *cfg) {
    int key[4] = {channels, stride, flags, 0};
    tune_entry *e = db_find(db_get(ctx), TUNE_DW, key);
    if (!e) return 0;
    memset(cfg, 0, sizeof *cfg);
    cfg->vw = e->val[0], cfg->th = e->val[1], cfg->seg = e->val[2], cfg->plane_wg = e->val[3];
    cfg->local[0] = (size_t)e->val[4], cfg->local[1] = (size_t)e->val[5];
    ctx->tuned_ops++;
    return 1;
}

/* ---- measuring ---------------------------------------------------------------------------- */

typedef struct bench_io {
    scl_tensor *in, *out, *res;
    float *ref; /* the default configuration's output */
    size_t count;
} bench_io;

/* Times op (min of several runs, by profiling events); with check, compares its output to
 * io->ref and returns SCL_ERROR_SHAPE_MISMATCH on a difference. */
static scl_status time_op(scl_context *ctx, scl_op *op, bench_io *io, int check, double *ms) {
    scl_op_args a = {.in = io->in, .out = io->out, .residual = io->res};
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
            if (e != CL_SUCCESS) st = scl__cl_fail(ctx, e, "tuning: profiling a candidate");
            else if ((t1 - t0) * 1e-6 < best) best = (t1 - t0) * 1e-6;
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

static scl_status make_io(scl_context *ctx, int n, int cin, int h, int w, int cout, int oh, int ow, int res,
                          bench_io *io) {
    memset(io, 0, sizeof *io);
    size_t nin = (size_t)n * cin * h * w;
    io->count = (size_t)n * cout * oh * ow;
    float *x = random_floats(nin > io->count ? nin : io->count, 7);
    io->ref = malloc(io->count * sizeof *io->ref);
    if (!x || !io->ref) {
        free(x);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    scl_status st = scl_tensor_create(ctx, n, cin, h, w, &io->in);
    if (st == SCL_OK) st = scl_tensor_upload(io->in, x, nin);
    if (st == SCL_OK) st = scl_tensor_create(ctx, n, cout, oh, ow, &io->out);
    if (st == SCL_OK && res) st = scl_tensor_create(ctx, n, cout, oh, ow, &io->res);
    if (st == SCL_OK && res) st = scl_tensor_upload(io->res, x, io->count);
    free(x);
    return st;
}

static void free_io(bench_io *io) {
    scl_tensor_destroy(io->in), scl_tensor_destroy(io->out), scl_tensor_destroy(io->res);
    free(io->ref);
}

typedef struct tuner {
    scl_context *ctx;
    scl_tune_progress progress;
    void *user;
    scl_tune_report *rep;
    struct scl_tune_db *db;
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

static scl_status tune_pointwise(tuner *t, const scl_layer *l, int n, int h, int w) {
    scl_context *ctx = t->ctx;
    int key[4] = {l->cin, l->cout, l->groups, l->flags};
    if (db_find(t->db, TUNE_PW, key)) return SCL_OK; /* already measured in this run */
    size_t nw = (size_t)l->cout * (l->cin / l->groups);
    float *wts = random_floats(nw, 11), *bias = random_floats((size_t)l->cout, 13);
    bench_io io;
    scl_status st = wts && bias ? make_io(ctx, n, l->cin, h, w, l->cout, h, w, (l->flags & SCL_OP_RESIDUAL) != 0, &io)
                                : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    scl_op *op = NULL, *dflt = NULL;
    double def_ms = 0, best_ratio = INFINITY;
    int best_vec = 0, best_co = 0;
    if (st == SCL_OK) st = scl_op_pointwise_create(ctx, l->cin, l->cout, l->groups, l->flags, wts, bias, &dflt);
    if (st == SCL_OK) st = time_op(ctx, dflt, &io, 0, &def_ms);
    int cpu = ctx->info.type == SCL_DEVICE_CPU;
    static const int cpu_vec[] = {16, 8}, gpu_vec[] = {1, 2, 4};
    static const int tiles[] = {4, 6, 8, 10, 12, 16};
    const int *vecs = cpu ? cpu_vec : gpu_vec;
    int nv = cpu ? 2 : 3;
    for (int vi = 0; vi < nv && st == SCL_OK; vi++)
        for (size_t ti = 0; ti < SCL_ARRAY_LEN(tiles) && st == SCL_OK; ti++) {
            if (tiles[ti] > l->cout / l->groups && ti > 0) continue;
            double ms; /* the candidate's time over the default's */
            op = NULL;
            st = scl__op_pointwise_create_cfg(ctx, l->cin, l->cout, l->groups, l->flags, wts, bias, vecs[vi], tiles[ti], &op);
            if (st == SCL_OK) st = time_against_default(ctx, op, dflt, &io, &ms, &def_ms);
            scl_op_destroy(op);
            t->rep->candidates++;
            if (st == SCL_ERROR_SHAPE_MISMATCH) {
                t->rep->rejected++;
                st = SCL_OK;
                continue;
            }
            if (st == SCL_OK && ms < best_ratio) best_ratio = ms, best_vec = vecs[vi], best_co = tiles[ti];
        }
    scl_op_destroy(dflt);
    double best_ms = best_ratio * def_ms;
    if (st == SCL_OK) {
        t->rep->shapes++;
        t->rep->default_ms += def_ms;
        /* keep the default unless a candidate beats it clearly: timings wobble by a few percent */
        int better = best_ms < 0.95 * def_ms;
        t->rep->tuned_ms += better ? best_ms : def_ms;
        say(t, "pointwise %4d -> %4d g%-2d %3dx%-3d default %.3f ms, best vec %d co_tile %d %.3f ms%s", l->cin,
            l->cout, l->groups, h, w, def_ms, best_vec, best_co, best_ms, better ? " (kept)" : "");
        tune_entry *e = db_add(t->db);
        if (!e) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        else {
            e->measured_only = !better;
            {
                e->kind = TUNE_PW;
                memcpy(e->key, key, sizeof key);
                e->val[0] = best_vec, e->val[1] = best_co, e->default_ms = def_ms, e->tuned_ms = best_ms;
                t->rep->improved += better;
            }
        }
    }
    free_io(&io);
    free(wts), free(bias);
    return st;
}

static scl_status tune_depthwise(tuner *t, const scl_layer *l, int n, int h, int w) {
    scl_context *ctx = t->ctx;
    int key[4] = {l->cout, l->stride, l->flags, 0};
    if (db_find(t->db, TUNE_DW, key)) return SCL_OK;
    int oh = l->stride == 2 ? (h + 1) / 2 : h, ow = l->stride == 2 ? (w + 1) / 2 : w;
    float *wts = random_floats((size_t)l->cout * 9, 17), *bias = random_floats((size_t)l->cout, 19);
    bench_io io;
    scl_status st = wts && bias ? make_io(ctx, n, l->cin, h, w, l->cout, oh, ow, 0, &io)
                                : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    scl_op *op = NULL, *dflt = NULL;
    double def_ms = 0, best_ratio = INFINITY;
    scl_dw_cfg best = {0}, cfg;
    if (st == SCL_OK) st = scl_op_depthwise_create(ctx, l->cout, l->stride, l->flags, wts, bias, &dflt);
    if (st == SCL_OK) st = time_op(ctx, dflt, &io, 0, &def_ms);
    int cpu = ctx->info.type == SCL_DEVICE_CPU;
    static const int vws[] = {4, 8, 16}, ths[] = {1, 2, 4};
    for (size_t vi = 0; vi < SCL_ARRAY_LEN(vws) && st == SCL_OK; vi++)
        for (size_t hi = 0; hi < SCL_ARRAY_LEN(ths) && st == SCL_OK; hi++) {
            memset(&cfg, 0, sizeof cfg);
            cfg.vw = vws[vi], cfg.th = ths[hi];
            cfg.seg = cpu ? 0 : vws[vi];
            cfg.plane_wg = cpu;
            double ms; /* the candidate's time over the default's */
            op = NULL;
            st = scl__op_depthwise_create_cfg(ctx, l->cout, l->stride, l->flags, wts, bias, &cfg, &op);
            if (st == SCL_OK) st = time_against_default(ctx, op, dflt, &io, &ms, &def_ms);
            scl_op_destroy(op);
            t->rep->candidates++;
            if (st == SCL_ERROR_SHAPE_MISMATCH) {
                t->rep->rejected++;
                st = SCL_OK;
                continue;
            }
            if (st == SCL_OK && ms < best_ratio) best_ratio = ms, best = cfg;
        }
    scl_op_destroy(dflt);
    double best_ms = best_ratio * def_ms;
    if (st == SCL_OK) {
        t->rep->shapes++;
        t->rep->default_ms += def_ms;
        int better = best_ms < 0.95 * def_ms;
        t->rep->tuned_ms += better ? best_ms : def_ms;
        say(t, "depthwise %4d s%d %3dx%-3d default %.3f ms, best vw %d th %d %.3f ms%s", l->cout, l->stride, h, w,
            def_ms, best.vw, best.th, best_ms, better ? " (kept)" : "");
        tune_entry *e = db_add(t->db);
        if (!e) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        else {
            e->measured_only = !better;
            {
                e->kind = TUNE_DW;
                memcpy(e->key, key, sizeof key);
                e->val[0] = best.vw, e->val[1] = best.th, e->val[2] = best.seg, e->val[3] = best.plane_wg;
                e->val[4] = (int)best.local[0], e->val[5] = (int)best.local[1];
                e->default_ms = def_ms, e->tuned_ms = best_ms;
                t->rep->improved += better;
            }
        }
    }
    free_io(&io);
    free(wts), free(bias);
    return st;
}

static scl_status write_db(scl_context *ctx, const struct scl_tune_db *db, char *path, size_t cap) {
    char hash[65], tmp[4300];
    scl_status st = source_hash(ctx, hash);
    if (st != SCL_OK) return st;
    tune_path(ctx, path, cap);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return scl__fail(ctx, SCL_ERROR_FILE_IO, "cannot write the tuning file %s", tmp);
    fprintf(f, "shufflecl-tune %d\nsource %s\ndevice %s | %s | %s\n", TUNE_FORMAT, hash, ctx->info.name,
            ctx->info.driver_version, ctx->info.platform_version);
    for (int i = 0; i < db->n; i++) {
        const tune_entry *e = &db->e[i];
        if (e->measured_only) continue;
        if (e->kind == TUNE_PW)
            fprintf(f, "pointwise %d %d %d %d %d %d %.4f %.4f\n", e->key[0], e->key[1], e->key[2], e->key[3],
                    e->val[0], e->val[1], e->default_ms, e->tuned_ms);
        else
            fprintf(f, "depthwise %d %d %d %d %d %d %d %d %d %.4f %.4f\n", e->key[0], e->key[1], e->key[2],
                    e->val[0], e->val[1], e->val[2], e->val[3], e->val[4], e->val[5], e->default_ms, e->tuned_ms);
    }
    int ok = fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return scl__fail(ctx, SCL_ERROR_FILE_IO, "cannot write the tuning file %s", path);
    }
    return SCL_OK;
}

scl_status scl__tune_model(scl_context *ctx, const char *model, int n, int h, int w,
                           scl_tune_progress progress, void *user, scl_tune_report *report) {
    if (!ctx || !model || !report || n < 1 || h < 1 || w < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "tune: bad arguments");
    memset(report, 0, sizeof *report);
    if (!ctx->profiling)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED, "tune: the queue has no profiling");
    if (!ctx->cache_dir)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED, "tune: the cache directory is off; tuning has nowhere to go");
    scl_model *m;
    scl_status st = scl__model_build(model, 0, &m);
    if (st != SCL_OK) return scl__fail(ctx, st, "tune: unknown model '%s'", model);
    /* measure afresh: tuned entries must not steer the defaults they are compared with */
    scl__tune_release(ctx);
    ctx->tune_loaded = 1;
    struct scl_tune_db *fresh = calloc(1, sizeof *fresh);
    if (!fresh) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    tuner t = {ctx, progress, user, report, fresh};
    for (int i = 0; i < m->nlayers && st == SCL_OK; i++) {
        const scl_layer *l = &m->layers[i];
        int lh = scl__level_size(h, m->bufs[l->in_buf].level), lw = scl__level_size(w, m->bufs[l->in_buf].level);
        if (l->kind == SCL_LAYER_POINTWISE) st = tune_pointwise(&t, l, n, lh, lw);
        else if (l->kind == SCL_LAYER_DEPTHWISE) st = tune_depthwise(&t, l, n, lh, lw);
    }
    scl__model_free(m);
    /* merge: keep what other models' tunings found, replace what this one measured */
    ctx->tune_loaded = 0;
    struct scl_tune_db *old = st == SCL_OK ? db_get(ctx) : NULL;
    for (int i = 0; old && i < old->n && st == SCL_OK; i++) {
        if (db_find(fresh, old->e[i].kind, old->e[i].key)) continue;
        tune_entry *e = db_add(fresh);
        if (e) *e = old->e[i];
    }
    if (st == SCL_OK) st = write_db(ctx, fresh, report->path, sizeof report->path);
    if (fresh) free(fresh->e);
    free(fresh);
    scl__tune_release(ctx); /* the next network reads the new file */
    return st;
}
