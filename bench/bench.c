/* bench.c: `shufflecl bench`: options, the order of the measurements (device ceiling, start-up,
 * each model at each batch size), and the text report. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: shufflecl bench MODEL|all|auto [options]\n"
    "\n"
    "Measures inference throughput and latency, start-up cost and (with --profile) every launch\n"
    "of MODEL (or of every model with 'all'), against the device's own FMA and memory ceilings.\n"
    "'auto' (the default with --weights) is the architecture read from the weights file.\n"
    "\n"
    "  --batch B1,B2,...   batch sizes (default 1,8,32)\n"
    "  --iters N           timed runs per batch size, of each kind (host and device clock)\n"
    "                      (default: as many as fill --seconds)\n"
    "  --seconds S         timed seconds per batch size when calibrating (default 1.5)\n"
    "  --warmup N          untimed runs per batch size before timing (default 2)\n"
    "  --height H, --width W  input size, each 1 to 16384 (default 224 x 224)\n"
    "  --device D          P:D, a name substring, cpu or gpu (default: SHUFFLECL_DEVICE, else\n"
    "                      the first GPU, else the first device); 'all': each device in turn,\n"
    "                      then one table of them all\n"
    "  --weights W         safetensors weights (default: deterministic random weights)\n"
    "  --profile           per-launch device times, rates and totals per op kind\n"
    "  --json FILE         everything measured, as JSON (schema: docs/bench.md)\n"
    "  --svg FILE          a chart: per-layer times, and images/s against batch size\n"
    "  --remeasure-peak    measure the device ceiling again instead of reading its cache file\n"
    "  --explicit-shuffle  ablation: every shuffle, split and concat as a copy launch instead\n"
    "                      of a channel map\n"
    "  --op FAMILY         instead: every configuration the op family's descriptor samples\n"
    "                      (pointwise, depthwise, stem, pool, head, unit: the fused units), timed\n"
    "                      on each distinct layer (or unit) shape of MODEL at the first batch "
    "size\n"
    "\n"
    "Host times run from enqueue to clFinish on the monotonic clock; device times from a marker\n"
    "before the first launch to the end of the last, on the device's profiling clock, with every\n"
    "launch queued before the marker is released. The cold build uses a fresh empty program\n"
    "cache; the driver may keep its own (PoCL: POCL_KERNEL_CACHE=0 for a truly cold number).\n"
    "Details and the JSON schema: docs/bench.md.";

/* ---- options ---- */

static int parse_int(const char *s, const char *what, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return cli_error("bench: %s: '%s' is not a whole number in [%d, %d]", what, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_batches(const char *s, bench_settings *set) {
    set->nbatches = 0;
    const char *p = s;
    for (;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) return cli_error("bench: --batch: bad list '%s'", s);
        if (set->nbatches == BENCH_MAX_BATCHES)
            return cli_error("bench: --batch: at most %d batch sizes", BENCH_MAX_BATCHES);
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_int(item, "--batch", 1, 65536, &set->batches[set->nbatches++])) return 1;
        if (p[len] == '\0') return 0;
        p += len + 1;
    }
}

static int known_model(const char *name) {
    for (int i = 0; scl_model_name(i); i++)
        if (strcmp(scl_model_name(i), name) == 0) return 1;
    return 0;
}

static int parse_options(int argc, char **argv, bench_settings *set, int *help) {
    const char *v;
    int err = 0, have_seconds = 0;
    *set = (bench_settings){.batches = {1, 8, 32},
                            .nbatches = 3,
                            .seconds = 1.5,
                            .warmup = 2,
                            .height = 224,
                            .width = 224,
                            .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) return *help = 1, 0;
        if (strcmp(a, "--profile") == 0)
            set->profile = 1;
        else if (strcmp(a, "--remeasure-peak") == 0)
            set->remeasure_peak = 1;
        else if (strcmp(a, "--explicit-shuffle") == 0)
            set->explicit_shuffle = 1;
        else if (cli_opt(argc, argv, &i, "--batch", &v, &err))
            err = err || parse_batches(v, set);
        else if (cli_opt(argc, argv, &i, "--iters", &v, &err))
            err = err || parse_int(v, "--iters", 1, 1000000, &set->iters);
        else if (cli_opt(argc, argv, &i, "--warmup", &v, &err))
            err = err || parse_int(v, "--warmup", 0, 1000000, &set->warmup);
        else if (cli_opt(argc, argv, &i, "--height", &v, &err))
            err = err || parse_int(v, "--height", 1, 16384, &set->height);
        else if (cli_opt(argc, argv, &i, "--width", &v, &err))
            err = err || parse_int(v, "--width", 1, 16384, &set->width);
        else if (cli_opt(argc, argv, &i, "--seconds", &v, &err)) {
            char *end;
            if (!err) set->seconds = strtod(v, &end);
            if (!err && (*v == '\0' || *end != '\0' || !(set->seconds > 0) || set->seconds > 3600))
                err =
                    cli_error("bench: --seconds: '%s' is not a number of seconds in (0, 3600]", v);
            have_seconds = 1;
        } else if (cli_opt(argc, argv, &i, "--device", &v, &err))
            set->device = v;
        else if (cli_opt(argc, argv, &i, "--weights", &v, &err))
            set->weights = v;
        else if (cli_opt(argc, argv, &i, "--json", &v, &err))
            set->json_path = v;
        else if (cli_opt(argc, argv, &i, "--svg", &v, &err))
            set->svg_path = v;
        else if (cli_opt(argc, argv, &i, "--op", &v, &err))
            set->op_family = v;
        else if (a[0] == '-' && a[1] != '\0')
            err = cli_error("bench: unknown option '%s' (see --help)", a);
        else if (!set->model)
            set->model = a;
        else
            err = cli_error("bench: more than one model given ('%s' and '%s')", set->model, a);
        if (err) return 1;
    }
    if (!set->model && set->weights) set->model = "auto"; /* the architecture of the weights */
    if (!set->model) return cli_error("bench: which model? (a name from shufflecl models, or all)");
    if (strcmp(set->model, "auto") == 0 && !set->weights)
        return cli_error(
            "bench: 'auto' reads the architecture from --weights FILE, which is not given");
    if (strcmp(set->model, "all") != 0 && strcmp(set->model, "auto") != 0 &&
        !known_model(set->model))
        return cli_error("bench: unknown model '%s' (shufflecl models lists them)", set->model);
    if (set->iters && have_seconds) return cli_error("bench: give --iters or --seconds, not both");
    if (set->weights && strcmp(set->model, "all") == 0)
        return cli_error("bench: --weights fits one model, not all");
    return 0;
}

/* Fails now rather than after a long run; "a" leaves an existing file as it is until then. */
static int writable(const char *path) {
    FILE *f = path ? fopen(path, "a") : NULL;
    if (path && !f) return cli_error("bench: cannot write %s: %s", path, strerror(errno));
    if (f) fclose(f);
    return 0;
}

/* ---- progress on a terminal ---- */

static void progress(const char *fmt, ...) {
    if (!isatty(fileno(stderr))) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static void progress_done(void) {
    if (isatty(fileno(stderr))) fputs("\r\033[K", stderr);
}

/* ---- start-up ---- */

/* The model on ctx, in the mode asked for (before any weights: the mode changes the layers). */
static int make_network(scl_context *ctx, const bench_settings *set, const char *model,
                        scl_network **net) {
    *net = NULL;
    scl_network_options opts = cli_network_options();
    if (strcmp(model, "auto") == 0) {
        if (cli_network(ctx, "bench", model, set->weights, 0, net)) return 1;
    } else if (scl_network_create_ex(ctx, model, &opts, net) != SCL_OK) {
        return cli_error("%s", scl_last_error(ctx));
    }
    if (!set->explicit_shuffle || scl_network_set_explicit_copies(*net, 1) == SCL_OK) return 0;
    cli_error("%s", scl_last_error(ctx));
    scl_network_destroy(*net);
    *net = NULL;
    return 1;
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path); /* the cache holds plain files only */
        }
        closedir(d);
    }
    remove(dir);
}

/* The times of one fresh context: its creation, the build of every kernel, its first
 * inference and its destruction (where the library saves the program binaries). */
typedef struct startup_times {
    double context_ms, build_ms, first_ms, destroy_ms;
    double cpu_ms; /* CPU time over the creation, the build and the first inference */
} startup_times;

/* One fresh context on `cache_dir`, the network built with every kernel, then its first
 * inference. */
static int timed_build(const bench_settings *set, const char *cache_dir, startup_times *t,
                       scl_cache_stats *stats) {
    scl_context *ctx;
    scl_network *net = NULL;
    double t0 = bench_now_ms(), c0 = bench_cpu_ms();
    if (cli_context(set->device, &ctx)) return 1;
    t->context_ms = bench_now_ms() - t0;
    t->cpu_ms = bench_cpu_ms() - c0;
    int rc = 0;
    if (scl_context_set_cache_dir(ctx, cache_dir) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    else
        rc = make_network(ctx, set, set->model, &net);
    t0 = bench_now_ms(), c0 = bench_cpu_ms();
    if (!rc && scl_network_random_weights(net, set->seed) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    t->build_ms = bench_now_ms() - t0;
    t->cpu_ms += bench_cpu_ms() - c0;
    stats->size = sizeof *stats;
    scl_context_cache_stats(ctx, stats);
    if (!rc) {
        /* the first inference a program makes: activations allocated, everything first-touched */
        size_t count = (size_t)3 * set->height * set->width;
        float *x = malloc(count * sizeof *x),
              *y = malloc((size_t)scl_network_classes(net) * sizeof *y);
        if (!x || !y) rc = cli_error("out of memory");
        for (size_t i = 0; !rc && i < count; i++)
            x[i] = (float)((i * 7919) % 255) / 127.5f - 1.0f;
        t0 = bench_now_ms(), c0 = bench_cpu_ms();
        if (!rc && scl_network_run(net, x, 1, set->height, set->width, y) != SCL_OK)
            rc = cli_error("%s", scl_last_error(ctx));
        t->first_ms = bench_now_ms() - t0;
        t->cpu_ms += bench_cpu_ms() - c0;
        free(x), free(y);
    }
    t0 = bench_now_ms();
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    t->destroy_ms = bench_now_ms() - t0;
    return rc;
}

/* The device's tuning table lives beside the program binaries (tune-*.txt): copied into the
 * fresh directory, so that the cold build makes the very kernels the benchmark runs. */
static void copy_tuning(const char *from, const char *to) {
    DIR *d = from ? opendir(from) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "tune-", 5) != 0) continue;
        char src[4096], dst[4096], buf[8192];
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
        size_t n;
        while (out && (n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
        if (out) fclose(out);
        if (in) fclose(in);
    }
    if (d) closedir(d);
}

static int measure_startup(const bench_settings *set, const char *cache_dir, bench_model *m) {
    const char *tmp = getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/shufflecl-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return cli_error("bench: cannot make a temporary cache directory in %s", dir);
    copy_tuning(cache_dir, dir);
    startup_times cold, warm;
    int rc = timed_build(set, dir, &cold, &m->cold_cache) ||
             timed_build(set, dir, &warm, &m->warm_cache);
    m->context_cold_ms = cold.context_ms, m->build_cold_ms = cold.build_ms;
    m->first_inference_cold_ms = cold.first_ms, m->save_ms = cold.destroy_ms;
    m->cold_cpu_ms = cold.cpu_ms;
    m->build_warm_ms = warm.build_ms, m->first_inference_ms = warm.first_ms;
    remove_tree(dir);
    return rc;
}

static const char *driver_cache_note(const scl_device_info *d) {
    int pocl = strstr(d->platform_name, "Portable Computing Language") != NULL ||
               strstr(d->platform_version, "PoCL") != NULL;
    if (!pocl) return "the driver may keep its own compiled-kernel cache beside shufflecl's";
    const char *env = getenv("POCL_KERNEL_CACHE");
    if (env && strcmp(env, "0") == 0)
        return "PoCL's kernel cache is off (POCL_KERNEL_CACHE=0): cold is cold";
    return "PoCL keeps its own kernel cache: a cold build may reuse it; POCL_KERNEL_CACHE=0 "
           "gives a truly cold number";
}

/* ---- one model ---- */

static int bench_model_run(scl_context *ctx, const bench_settings *set, int index, int count,
                           bench_model *m) {
    bench_settings one = *set;
    one.model = m->name;
    scl_network *net;
    if (make_network(ctx, set, m->name, &net)) return 1;
    /* the start-up first, before this context builds anything: a driver's own cache (PoCL's)
     * would otherwise hold this model's programs already */
    progress("[%d/%d] %s: cold and warm builds", index + 1, count, m->name);
    int rc = measure_startup(&one, scl_context_cache_dir(ctx), m);
    if (!rc && (set->weights ? scl_network_load_weights(net, set->weights)
                             : scl_network_random_weights(net, set->seed)) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    if (!rc && scl_network_get_stats(net, 1, set->height, set->width, &s) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    if (!rc) {
        m->params = s.params, m->macs = s.macs, m->launches = s.launches,
        m->tuned_ops = s.tuned_layers;
        m->weight_bytes = s.weight_bytes, m->min_bytes_moved = s.min_bytes_moved;
    }
    for (int b = 0; b < set->nbatches && !rc; b++) {
        progress("[%d/%d] %s: batch %d", index + 1, count, m->name, set->batches[b]);
        rc = bench_run_batch(ctx, net, &one, set->batches[b], &m->batches[b]);
        m->nbatches = b + 1;
    }
    scl_network_destroy(net);
    progress_done();
    return rc;
}

/* ---- text report ---- */

static double pct(double part, double whole) {
    return whole > 0 ? 100.0 * part / whole : 0;
}

static void print_dims(char *buf, size_t cap, const size_t *d) {
    if (d[0])
        snprintf(buf, cap, "%zux%zux%zu", d[0], d[1], d[2]);
    else
        snprintf(buf, cap, "auto"); /* local size left to the driver */
}

static void print_profile(const bench_report *r, const bench_batch *b) {
    double pk = r->peak.gflops, bw = r->peak.gbps;
    /* the NDRange columns only when the library told us the launches */
    int launch = 0;
    for (int i = 0; i < b->nrows; i++)
        launch |= b->rows[i].has_launch;
    printf("\n  profile at batch %d (median of %d profiled runs per launch)\n", b->batch,
           b->profile_runs);
    printf("  %-26s %-13s ", "layer", launch ? "kernel" : "op");
    if (launch) printf("%-16s %-12s ", "global", "local");
    printf("%8s %8s %8s %8s %5s %7s %5s %6s\n", "ms", "MMACs", "MB", "GFLOP/s", "%pk", "GB/s",
           "%bw", "share");
    for (int i = 0; i < b->nrows; i++) {
        const bench_row *w = &b->rows[i];
        printf("  %-26.26s %-13.13s ", w->info.name, w->has_launch ? w->kernel : w->op);
        if (launch) {
            char g[48] = "-", l[48] = "-";
            if (w->has_launch)
                print_dims(g, sizeof g, w->global), print_dims(l, sizeof l, w->local);
            printf("%-16s %-12s ", g, l);
        }
        double gf = bench_gflops(w->macs, w->ms), gb = bench_gbps(w->bytes, w->ms);
        printf("%8.3f %8.2f %8.2f %8.2f %5.1f %7.2f %5.1f %5.1f%%\n", w->ms, w->macs * 1e-6,
               w->bytes * 1e-6, gf, pct(gf, pk), gb, pct(gb, bw), pct(w->ms, b->profile_sum_ms));
    }
    bench_kind_total t[BENCH_MAX_KINDS];
    int nk = bench_kind_totals(b, t);
    printf("\n  %-10s %8s %9s %9s %9s %8s %5s %7s %5s %6s\n", "kind", "launches", "ms", "MMACs",
           "MB", "GFLOP/s", "%pk", "GB/s", "%bw", "share");
    for (int k = 0; k < nk; k++) {
        if (!t[k].launches) continue;
        double gf = bench_gflops(t[k].macs, t[k].ms), gb = bench_gbps(t[k].bytes, t[k].ms);
        printf("  %-10s %8d %9.3f %9.2f %9.2f %8.2f %5.1f %7.2f %5.1f %5.1f%%\n", t[k].kind,
               t[k].launches, t[k].ms, t[k].macs * 1e-6, t[k].bytes * 1e-6, gf, pct(gf, pk), gb,
               pct(gb, bw), pct(t[k].ms, b->profile_sum_ms));
    }
    printf("  profile sum %.3f ms; measured device time %.3f ms (median): %.2fx\n",
           b->profile_sum_ms, b->device_ms.median,
           b->device_ms.median > 0 ? b->profile_sum_ms / b->device_ms.median : 0);
}

static void print_model(const bench_report *r, const bench_model *m) {
    printf("\n%s: %.3f M params, %.1f M MACs per image, %d launches per inference\n", m->name,
           m->params * 1e-6, m->macs * 1e-6, m->launches);
    printf("  start-up   cold %.0f ms: context %.0f + program build %.0f (%u compiled) + first "
           "inference %.0f; %.0f ms of CPU time; binaries saved at exit in %.0f ms\n",
           m->context_cold_ms + m->build_cold_ms + m->first_inference_cold_ms, m->context_cold_ms,
           m->build_cold_ms, m->cold_cache.compiles, m->first_inference_cold_ms, m->cold_cpu_ms,
           m->save_ms);
    printf("             warm: program build %.0f ms (%u from disk, %u compiled); first inference "
           "%.1f ms\n",
           m->build_warm_ms, m->warm_cache.disk_hits, m->warm_cache.compiles,
           m->first_inference_ms);
    printf("  memory     weights %.2f MB; zero-copy minimum %.2f MB moved per image\n",
           m->weight_bytes * 1e-6, m->min_bytes_moved * 1e-6);
    printf("  kernels    %d of %d launches in a tuned configuration%s\n", m->tuned_ops, m->launches,
           m->tuned_ops ? "" : " (shufflecl tune tunes this device)");
    printf("\n  %5s %6s | %-23s | %-23s | %9s %8s %5s %9s %8s\n", "", "", "host ms", "device ms",
           "", "", "", "act.", "moved/img");
    printf("  %5s %6s | %7s %7s %7s | %7s %7s %7s | %9s %8s %5s %9s %8s\n", "batch", "iters",
           "median", "min", "p90", "median", "min", "p90", "images/s", "GFLOP/s", "%pk", "MB",
           "MB");
    for (int i = 0; i < m->nbatches; i++) {
        const bench_batch *b = &m->batches[i];
        double gf = bench_gflops(m->macs * b->batch, b->device_ms.median);
        printf(
            "  %5d %6d | %7.3f %7.3f %7.3f | %7.3f %7.3f %7.3f | %9.1f %8.2f %5.1f %9.2f %8.2f\n",
            b->batch, b->iters, b->host_ms.median, b->host_ms.min, b->host_ms.p90,
            b->device_ms.median, b->device_ms.min, b->device_ms.p90, b->images_per_s, gf,
            pct(gf, r->peak.gflops), b->activation_bytes * 1e-6, b->bytes_moved_per_image * 1e-6);
    }
    for (int i = 0; i < m->nbatches; i++)
        if (m->batches[i].profile_runs) print_profile(r, &m->batches[i]);
}

static const char *type_name(scl_device_type t) {
    return t == SCL_DEVICE_CPU           ? "CPU"
           : t == SCL_DEVICE_GPU         ? "GPU"
           : t == SCL_DEVICE_ACCELERATOR ? "accelerator"
                                         : "other";
}

static void print_header(const bench_report *r) {
    const scl_device_info *d = &r->device;
    const bench_peak *p = &r->peak;
    printf("shufflecl %s bench, %s, input %dx%d, %s\n", scl_version(), r->date, r->set.height,
           r->set.width, r->set.weights ? r->set.weights : "random weights");
    printf("device     %s (%s, %u units at %u MHz), %s, driver %s\n", d->name, type_name(d->type),
           d->compute_units, d->clock_mhz, d->platform_name, d->driver_version);
    printf("ceiling    %.1f GFLOP/s FMA (by float width 1/4/8/16: %.1f %.1f %.1f %.1f), %.1f GB/s "
           "(read %.1f, copy %.1f)%s\n",
           p->gflops, p->fma_gflops[0], p->fma_gflops[2], p->fma_gflops[3], p->fma_gflops[4],
           p->gbps, p->read_gbps, p->copy_gbps, p->from_cache ? " [cached; --remeasure-peak]" : "");
    printf("start-up   context %.1f ms; %s\n", r->context_ms, r->driver_cache);
    const char *fusion = getenv("SHUFFLECL_FUSION");
    int fused = !r->set.explicit_shuffle &&
                !(fusion && (strcmp(fusion, "off") == 0 || strcmp(fusion, "0") == 0));
    printf("mode       %s; %s\n",
           r->set.explicit_shuffle ? "explicit: every shuffle, split and concat is a copy launch"
                                   : "zero-copy: shuffles, splits and concats are channel maps",
           fused ? "units fused (--no-fuse: layer by layer)" : "every layer its own launch");
    printf("precision  %s%s\n", cli_precision_name(cli_precision),
           cli_precision == SCL_PRECISION_HALF_STORAGE
               ? ": weights and activations stored in 16 bits, float arithmetic"
               : " (--precision half-storage: 16-bit storage)");
    if (cli_batch_block)
        printf("blocks     a batch runs %d images through every layer at a time (--batch-block)\n",
               cli_batch_block);
    else
        printf("blocks     as tuned (shufflecl tune --batch N), else the whole batch at once "
               "(--batch-block N)\n");
}

/* Nothing runs faster than the FMA ceiling: a launch that does says the ceiling was measured
 * while something else used the device (bytes may beat the bandwidth: caches hold them). */
static void check_ceiling(const bench_report *r) {
    double worst = 0;
    const char *where = "";
    for (int i = 0; i < r->nmodels; i++)
        for (int k = 0; k < r->models[i].nbatches; k++) {
            const bench_batch *b = &r->models[i].batches[k];
            for (int j = 0; j < b->nrows && b->profile_runs; j++) {
                double f = bench_gflops(b->rows[j].macs, b->rows[j].ms) / r->peak.gflops;
                if (f > worst) worst = f, where = b->rows[j].info.name;
            }
        }
    fflush(stdout); /* the warning after the report on a terminal */
    if (worst > 1.05)
        fprintf(stderr,
                "shufflecl: warning: %s ran at %.0f%% of the FMA ceiling: the ceiling%s was "
                "measured on a busy device; measure it again on a quiet one (--remeasure-peak)\n",
                where, 100 * worst, r->peak.from_cache ? " (cached)" : "");
}

/* ---- the command ---- */

static void utc_now(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, cap, "unknown");
}

int bench_report_run(bench_report *r) {
    int all = strcmp(r->set.model, "all") == 0, count = 0;
    while (all && scl_model_name(count))
        count++;
    if (!all) count = 1;
    r->models = calloc((size_t)count, sizeof *r->models);
    if (!r->models) return cli_error("out of memory");
    r->ncap = count;
    r->device.size = sizeof r->device;
    utc_now(r->date, sizeof r->date);

    scl_context *ctx = NULL;
    double t0 = bench_now_ms();
    int rc = cli_context(r->set.device, &ctx);
    r->context_ms = bench_now_ms() - t0;
    if (!rc && scl_context_device_info(ctx, &r->device) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    if (!rc && r->set.op_family) {
        scl_network *net = NULL;
        rc = make_network(ctx, &r->set, all ? "v2_x1_0" : r->set.model, &net);
        if (!rc) rc = bench_op_run(ctx, net, &r->set, r->set.op_family);
        scl_network_destroy(net);
        scl_context_destroy(ctx);
        return rc;
    }
    if (!rc) {
        r->driver_cache = driver_cache_note(&r->device);
        progress("measuring the device ceiling (FMA rate, bandwidth)");
        rc = bench_peak_get(ctx, scl_context_cache_dir(ctx), r->set.remeasure_peak, &r->peak);
        progress_done();
    }
    for (int i = 0; i < count && !rc; i++) {
        r->models[i].name = all ? scl_model_name(i) : r->set.model;
        rc = bench_model_run(ctx, &r->set, i, count, &r->models[i]);
        r->nmodels = i + 1;
    }
    if (!rc) {
        print_header(r);
        for (int i = 0; i < r->nmodels; i++)
            print_model(r, &r->models[i]);
        check_ceiling(r);
    }
    if (!rc && r->set.json_path) rc = bench_write_json(r, r->set.json_path);
    if (!rc && r->set.svg_path) rc = bench_write_svg(r, r->set.svg_path);
    scl_context_destroy(ctx);
    return rc;
}

void bench_report_free(bench_report *r) {
    for (int i = 0; r->models && i < r->ncap; i++)
        for (int b = 0; b < BENCH_MAX_BATCHES; b++)
            free(r->models[i].batches[b].rows);
    free(r->models);
    r->models = NULL;
}

int cli_bench(int argc, char **argv) {
    bench_settings set;
    int help = 0;
    if (parse_options(argc, argv, &set, &help)) return 1;
    if (help) return puts(usage_text), 0;
    if (set.device && strcmp(set.device, "all") == 0) return bench_all_devices(&set);
    if (writable(set.json_path) || writable(set.svg_path)) return 1;
    bench_report r;
    memset(&r, 0, sizeof r);
    r.set = set;
    int rc = bench_report_run(&r);
    bench_report_free(&r);
    return rc;
}
