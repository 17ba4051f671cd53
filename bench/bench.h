/* bench.h: what the files of `shufflecl bench` share: the measured results and the helpers
 * that make, time, profile and report them. */
#ifndef SCL_BENCH_H
#define SCL_BENCH_H

#include "cli.h"

#include <stdint.h>

#define BENCH_SCHEMA_VERSION 1
#define BENCH_MAX_BATCHES 16

/* ---- what was asked ---- */
typedef struct bench_settings {
    const char *model; /* a model name or "all" */
    int batches[BENCH_MAX_BATCHES];
    int nbatches;
    int iters;      /* timed runs of each kind (host, device) per batch; 0: fill `seconds` */
    double seconds; /* timed seconds per batch, both kinds together, when calibrating */
    int warmup;     /* untimed runs per batch */
    int height, width;
    const char *device;
    const char *weights; /* NULL: scl_network_random_weights(seed) */
    uint64_t seed;
    int profile;
    int remeasure_peak;
    int explicit_shuffle;  /* every shuffle, split and concat as a copy launch (ablation) */
    const char *op_family; /* --op: time every sampled configuration of one op family instead */
    const char *json_path, *svg_path;
} bench_settings;

/* ---- the device ceiling (bench_peak.c) ---- */
typedef struct bench_peak {
    double gflops;        /* best FMA rate over the vector widths tried */
    double gbps;          /* best of the read and copy bandwidths */
    double fma_gflops[5]; /* per vector width 1, 2, 4, 8, 16 (0: not tried) */
    double read_gbps, copy_gbps;
    int from_cache;        /* read from the per-device cache file */
    char cache_file[1024]; /* "" when the program cache is off */
} bench_peak;

extern const int bench_peak_widths[5];

/* Measures the ceiling, or reads it from the cache directory when there and not `remeasure`. */
int bench_peak_get(scl_context *ctx, const char *cache_dir, int remeasure, bench_peak *out);

/* ---- timing and statistics (bench_time.c) ---- */
typedef struct bench_stats {
    double median, min, p90;
} bench_stats;

double bench_now_ms(void);                    /* monotonic clock */
double bench_cpu_ms(void);                    /* the process's CPU time, all threads */
bench_stats bench_stats_of(double *v, int n); /* sorts v */
/* ms between two profiled events: end(b) - end(a) (start when `a_start`), or -1 on failure */
double bench_event_ms(cl_event a, int a_start, cl_event b);

/* Everything about one inference at one batch size. */
typedef struct bench_row {
    scl_layer_info info; /* the first layer the launch computes */
    const char *op;      /* its kind's name: "pointwise", ... */
    int in_h, in_w;      /* the layer's input size */
    char kernel[64];     /* "" when unknown */
    size_t global[3], local[3];
    int has_launch; /* kernel, global and local are known; local[0] 0: driver's choice */
    double ms;      /* device time (median over the profile runs) */
    double bytes;   /* activations read and written + weights, for the batch */
    int64_t macs;   /* for the batch */
    size_t weight_bytes;
} bench_row;

typedef struct bench_batch {
    int batch, iters;
    bench_stats host_ms, device_ms;
    double images_per_s;
    size_t activation_bytes; /* peak activation memory for this batch */
    double bytes_moved_per_image;
    int profile_runs; /* 0: not profiled */
    double profile_sum_ms;
    bench_row *rows; /* one per launch; bytes/macs filled even when not profiled */
    int nrows;
} bench_batch;

typedef struct bench_model {
    const char *name;
    int64_t params, macs; /* per image */
    int launches;
    int tuned_ops;                        /* layers made with the device's tuned configuration */
    size_t weight_bytes, min_bytes_moved; /* min_bytes_moved per image */
    double build_cold_ms, build_warm_ms, first_inference_ms;
    /* the cold context: its creation, its first inference, its destruction (which saves the
     * program binaries); cold start = context + cold build + cold first inference */
    double context_cold_ms, first_inference_cold_ms, save_ms;
    double cold_cpu_ms; /* the process's CPU time over the cold start's three parts */
    scl_cache_stats cold_cache, warm_cache;
    bench_batch batches[BENCH_MAX_BATCHES];
    int nbatches;
} bench_model;

typedef struct bench_report {
    bench_settings set;
    scl_device_info device;
    bench_peak peak;
    double context_ms;
    const char *driver_cache; /* a note on the driver's own kernel cache, or NULL */
    bench_model *models;
    int nmodels, ncap; /* measured, allocated */
    char date[32];     /* UTC, ISO 8601 */
} bench_report;

/* One report on r->set's device: measured, printed, written as JSON and SVG when asked; then
 * bench_report_free, whatever it returned. */
int bench_report_run(bench_report *r);
void bench_report_free(bench_report *r);
/* --device all: a report on each device in turn, then one table of them all (bench_devices.c). */
int bench_all_devices(const bench_settings *set);

/* Times one batch size of `net` (warm-up, calibration, timed runs, profile) into *out. */
int bench_run_batch(scl_context *ctx, scl_network *net, const bench_settings *set, int batch,
                    bench_batch *out);

/* ---- per-launch accounting (bench_profile.c) ---- */
/* Fills rows (shapes, MACs, bytes) for a batch size; times are left at 0. */
int bench_rows_init(scl_network *net, int n, int h, int w, bench_batch *b);
/* Fills each row's kernel NDRange from the last launch. */
void bench_rows_launches(scl_network *net, bench_batch *b);

/* Sums per op kind: pointwise, depthwise, pool, stem, head (and any other op under its name). */
#define BENCH_MAX_KINDS 8
typedef struct bench_kind_total {
    const char *kind;
    int launches;
    double ms, bytes;
    int64_t macs;
} bench_kind_total;
int bench_kind_totals(const bench_batch *b, bench_kind_total *out); /* returns the count */
const char *bench_kind_of(const char *op);

/* Rates from a time: GFLOP/s of 2*macs, GB/s of bytes (0 when ms <= 0). */
double bench_gflops(int64_t macs, double ms);
double bench_gbps(double bytes, double ms);

/* ---- one op family's configurations (bench_op.c) ---- */
int bench_op_run(scl_context *ctx, scl_network *net, const bench_settings *set, const char *family);

/* ---- output (bench_json.c, bench_svg.c) ---- */
int bench_write_json(const bench_report *r, const char *path);
int bench_write_svg(const bench_report *r, const char *path);

#endif
