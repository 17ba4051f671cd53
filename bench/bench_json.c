/* bench_json.c: the bench report as JSON, in the schema docs/bench.md documents (bump
 * BENCH_SCHEMA_VERSION with any change a reader could notice). */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#ifndef SCL_GIT_COMMIT
#define SCL_GIT_COMMIT "unknown"
#endif

/* A tiny streaming writer: it tracks nesting so that commas and indentation come out right. */
typedef struct jw {
    FILE *f;
    int depth;
    int count[32]; /* members written at each depth */
} jw;

static void str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Starts a member: comma, newline, indentation and, inside objects, the key. */
static void key(jw *j, const char *k) {
    if (j->count[j->depth]++) fputc(',', j->f);
    fprintf(j->f, "\n%*s", 2 * j->depth, "");
    if (k) {
        str(j->f, k);
        fputs(": ", j->f);
    }
}

static void open_(jw *j, const char *k, char c) {
    key(j, k);
    fputc(c, j->f);
    j->count[++j->depth] = 0;
}

static void close_(jw *j, char c) {
    int had = j->count[j->depth--];
    if (had) fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(c, j->f);
}

static void obj(jw *j, const char *k) {
    open_(j, k, '{');
}
static void end_obj(jw *j) {
    close_(j, '}');
}
static void arr(jw *j, const char *k) {
    open_(j, k, '[');
}
static void end_arr(jw *j) {
    close_(j, ']');
}

static void s_(jw *j, const char *k, const char *v) {
    key(j, k);
    if (v)
        str(j->f, v);
    else
        fputs("null", j->f);
}

static void i_(jw *j, const char *k, long long v) {
    key(j, k);
    fprintf(j->f, "%lld", v);
}

/* JSON has no NaN or infinity: those become null. */
static void d_(jw *j, const char *k, double v) {
    key(j, k);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

static void b_(jw *j, const char *k, int v) {
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

static void null_(jw *j, const char *k) {
    key(j, k);
    fputs("null", j->f);
}

/* Compact one-line arrays of small integers: [1, 2, 3]. */
static void dims(jw *j, const char *k, const size_t *d, int n) {
    key(j, k);
    fputc('[', j->f);
    for (int i = 0; i < n; i++)
        fprintf(j->f, "%s%zu", i ? ", " : "", d[i]);
    fputc(']', j->f);
}

static void stats(jw *j, const char *k, bench_stats s) {
    obj(j, k);
    d_(j, "median", s.median);
    d_(j, "min", s.min);
    d_(j, "p90", s.p90);
    end_obj(j);
}

static double frac(double v, double peak) {
    return peak > 0 ? v / peak : 0;
}

/* Time, work and rates shared by launches and kind totals. */
static void rates(jw *j, const bench_peak *p, double ms, int64_t macs, double bytes, double total) {
    d_(j, "ms", ms);
    i_(j, "macs", (long long)macs);
    d_(j, "bytes", bytes);
    d_(j, "gflops", bench_gflops(macs, ms));
    d_(j, "gflops_frac", frac(bench_gflops(macs, ms), p->gflops));
    d_(j, "gbps", bench_gbps(bytes, ms));
    d_(j, "gbps_frac", frac(bench_gbps(bytes, ms), p->gbps));
    d_(j, "share", total > 0 ? ms / total : 0);
}

static void profile(jw *j, const bench_report *r, const bench_batch *b) {
    arr(j, "profile");
    for (int i = 0; i < b->nrows; i++) {
        const bench_row *w = &b->rows[i];
        obj(j, NULL);
        s_(j, "layer", w->info.name);
        s_(j, "op", w->op);
        s_(j, "kind", bench_kind_of(w->op));
        if (w->has_launch) {
            s_(j, "kernel", w->kernel);
            dims(j, "global", w->global, 3);
            if (w->local[0])
                dims(j, "local", w->local, 3);
            else
                null_(j, "local");
        } else {
            null_(j, "kernel"), null_(j, "global"), null_(j, "local");
        }
        size_t in[3] = {(size_t)w->info.cin, (size_t)w->in_h, (size_t)w->in_w};
        size_t out[3] = {(size_t)w->info.cout, (size_t)w->info.out_h, (size_t)w->info.out_w};
        dims(j, "input", in, 3);
        dims(j, "output", out, 3);
        i_(j, "weight_bytes", (long long)w->weight_bytes);
        rates(j, &r->peak, w->ms, w->macs, w->bytes, b->profile_sum_ms);
        end_obj(j);
    }
    end_arr(j);
    d_(j, "profile_sum_ms", b->profile_sum_ms);
    i_(j, "profile_runs", b->profile_runs);
    bench_kind_total t[BENCH_MAX_KINDS];
    int nk = bench_kind_totals(b, t);
    obj(j, "totals_by_kind");
    for (int k = 0; k < nk; k++) {
        obj(j, t[k].kind);
        i_(j, "launches", t[k].launches);
        rates(j, &r->peak, t[k].ms, t[k].macs, t[k].bytes, b->profile_sum_ms);
        end_obj(j);
    }
    end_obj(j);
}

static void batch(jw *j, const bench_report *r, const bench_model *m, const bench_batch *b) {
    obj(j, NULL);
    i_(j, "batch", b->batch);
    i_(j, "iters", b->iters);
    i_(j, "launches", b->nrows);
    stats(j, "host_ms", b->host_ms);
    stats(j, "device_ms", b->device_ms);
    d_(j, "images_per_s", b->images_per_s);
    double gf = bench_gflops(m->macs * b->batch, b->device_ms.median);
    d_(j, "gflops", gf);
    d_(j, "gflops_frac", frac(gf, r->peak.gflops));
    obj(j, "memory");
    i_(j, "activation_bytes", (long long)b->activation_bytes);
    d_(j, "bytes_moved_per_image", b->bytes_moved_per_image);
    d_(j, "moved_over_min", m->min_bytes_moved ? b->bytes_moved_per_image / m->min_bytes_moved : 0);
    end_obj(j);
    if (b->profile_runs) {
        profile(j, r, b);
    } else {
        null_(j, "profile"), null_(j, "profile_sum_ms"), null_(j, "profile_runs");
        null_(j, "totals_by_kind");
    }
    end_obj(j);
}

static void model(jw *j, const bench_report *r, const bench_model *m) {
    obj(j, NULL);
    s_(j, "model", m->name);
    i_(j, "params", (long long)m->params);
    i_(j, "macs_per_image", (long long)m->macs);
    i_(j, "launches", m->launches);
    i_(j, "tuned_ops", m->tuned_ops);
    obj(j, "startup");
    d_(j, "build_cold_ms", m->build_cold_ms);
    d_(j, "build_warm_ms", m->build_warm_ms);
    d_(j, "first_inference_ms", m->first_inference_ms);
    d_(j, "cold_start_ms", m->context_cold_ms + m->build_cold_ms + m->first_inference_cold_ms);
    d_(j, "cold_start_cpu_ms", m->cold_cpu_ms);
    d_(j, "context_cold_ms", m->context_cold_ms);
    d_(j, "first_inference_cold_ms", m->first_inference_cold_ms);
    d_(j, "save_ms", m->save_ms);
    i_(j, "cold_compiles", m->cold_cache.compiles);
    i_(j, "warm_disk_hits", m->warm_cache.disk_hits);
    i_(j, "warm_compiles", m->warm_cache.compiles);
    end_obj(j);
    obj(j, "memory");
    i_(j, "weight_bytes", (long long)m->weight_bytes);
    i_(j, "min_bytes_moved_per_image", (long long)m->min_bytes_moved);
    end_obj(j);
    arr(j, "batches");
    for (int i = 0; i < m->nbatches; i++)
        batch(j, r, m, &m->batches[i]);
    end_arr(j);
    end_obj(j);
}

static const char *type_name(scl_device_type t) {
    return t == SCL_DEVICE_CPU           ? "cpu"
           : t == SCL_DEVICE_GPU         ? "gpu"
           : t == SCL_DEVICE_ACCELERATOR ? "accelerator"
                                         : "other";
}

static void header(jw *j, const bench_report *r) {
    const scl_device_info *d = &r->device;
    const bench_settings *s = &r->set;
    s_(j, "schema", "shufflecl-bench");
    i_(j, "schema_version", BENCH_SCHEMA_VERSION);
    obj(j, "tool");
    s_(j, "name", "shufflecl");
    s_(j, "version", scl_version());
    s_(j, "git_commit", SCL_GIT_COMMIT);
    end_obj(j);
    s_(j, "date", r->date);
    obj(j, "device");
    s_(j, "name", d->name), s_(j, "vendor", d->vendor), s_(j, "type", type_name(d->type));
    s_(j, "driver_version", d->driver_version), s_(j, "device_version", d->device_version);
    s_(j, "platform", d->platform_name), s_(j, "platform_version", d->platform_version);
    i_(j, "compute_units", d->compute_units), i_(j, "clock_mhz", d->clock_mhz);
    i_(j, "native_float_width", (int)d->native_float_width);
    i_(j, "global_mem_bytes", (long long)d->global_mem_bytes);
    end_obj(j);
    obj(j, "peak");
    d_(j, "gflops", r->peak.gflops);
    d_(j, "gbps", r->peak.gbps);
    obj(j, "fma_gflops_by_width");
    for (int k = 0; k < 5; k++) {
        char w[8];
        snprintf(w, sizeof w, "%d", bench_peak_widths[k]);
        if (r->peak.fma_gflops[k] > 0) d_(j, w, r->peak.fma_gflops[k]);
    }
    end_obj(j);
    d_(j, "read_gbps", r->peak.read_gbps);
    d_(j, "copy_gbps", r->peak.copy_gbps);
    b_(j, "cached", r->peak.from_cache);
    s_(j, "cache_file", r->peak.cache_file[0] ? r->peak.cache_file : NULL);
    end_obj(j);
    obj(j, "settings");
    s_(j, "model", s->model);
    arr(j, "batches");
    for (int i = 0; i < s->nbatches; i++)
        i_(j, NULL, s->batches[i]);
    end_arr(j);
    if (s->iters)
        i_(j, "iters", s->iters), null_(j, "seconds");
    else
        null_(j, "iters"), d_(j, "seconds", s->seconds);
    i_(j, "warmup", s->warmup);
    i_(j, "height", s->height), i_(j, "width", s->width);
    s_(j, "weights", s->weights);
    i_(j, "seed", (long long)s->seed);
    b_(j, "profile", s->profile);
    b_(j, "explicit_shuffle", s->explicit_shuffle);
    s_(j, "precision", cli_precision_name(cli_precision));
    i_(j, "batch_block", cli_batch_block); /* 0: automatic */
    end_obj(j);
    obj(j, "startup");
    d_(j, "context_ms", r->context_ms);
    s_(j, "driver_cache", r->driver_cache);
    end_obj(j);
}

int bench_write_json(const bench_report *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("bench: cannot write %s: %s", path, strerror(errno));
    /* the top level is an object whose members sit at depth 1 */
    jw j = {f, 1, {0}};
    fputc('{', f);
    header(&j, r);
    arr(&j, "results");
    for (int i = 0; i < r->nmodels; i++)
        model(&j, r, &r->models[i]);
    end_arr(&j);
    fputs("\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return cli_error("bench: writing %s failed", path);
    return 0;
}
