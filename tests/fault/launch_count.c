/* launch_count.c: the launches a network reports are the kernels it really enqueues. Under the
 * OpenCL shim (LD_PRELOAD), for every model: clEnqueueNDRangeKernel calls during one inference
 * equal scl_network_launch_count and the stats' launches (at batch 1, 224 x 224, the model-level
 * figure, and at batch 2, 64 x 48), and the per-launch profile has one time per launch, each
 * launch naming its kernel and the layers it covers, all of them in order. */
#define _GNU_SOURCE
#include "../unit_fit.h"
#include "shufflecl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long (*shim_calls)(const char *fn);
static int failures, checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static void random_input(float *x, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
}

/* Runs `net` once at n x 3 x h x w and checks the reported launches against the real ones. */
static void check_shape(scl_context *ctx, scl_network *net, const char *model, int n, int h,
                        int w) {
    size_t count = (size_t)n * 3 * h * w;
    float *x = malloc(count * sizeof *x),
          *y = malloc((size_t)n * scl_network_classes(net) * sizeof *y);
    random_input(x, count, (unsigned)(n * 131 + h));
    CHECK(scl_network_reshape(net, n, h, w) == SCL_OK, "%s: reshape: %s", model,
          scl_last_error(ctx));
    long before = shim_calls("clEnqueueNDRangeKernel");
    CHECK(scl_network_run(net, x, n, h, w, y) == SCL_OK, "%s: run: %s", model, scl_last_error(ctx));
    long real = shim_calls("clEnqueueNDRangeKernel") - before;
    int reported = scl_network_launch_count(net);
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    CHECK(scl_network_get_stats(net, n, h, w, &s) == SCL_OK, "%s: stats", model);
    CHECK(real == reported && reported == s.launches,
          "%s at %dx3x%dx%d: %ld kernels enqueued, %d reported, stats %d", model, n, h, w, real,
          reported, s.launches);
    /* every launch names its kernel; together they cover every layer once, in order */
    int next_layer = 0, ok = 1;
    for (int i = 0; i < reported && ok; i++) {
        scl_launch_info li = {.size = sizeof(scl_launch_info)};
        ok = scl_network_launch_info(net, i, &li) == SCL_OK && li.kernel[0] && li.dims >= 1 &&
             li.layers >= 1;
        CHECK(ok, "%s: launch %d: %s", model, i, ok ? "" : scl_last_error(ctx));
        if (!ok) break;
        if (li.first_layer == next_layer)
            next_layer += li.layers;
        else
            CHECK(li.first_layer == next_layer - li.layers,
                  "%s: launch %d covers layer %d, expected %d or %d", model, i, li.first_layer,
                  next_layer - 1, next_layer);
    }
    CHECK(next_layer == scl_network_layer_count(net), "%s: launches cover %d of %d layers", model,
          next_layer, scl_network_layer_count(net));
    /* the profile times each launch, and is refused without room for all of them */
    double *ms = malloc((size_t)(reported + 1) * sizeof *ms);
    for (int i = 0; i <= reported; i++)
        ms[i] = -1;
    before = shim_calls("clEnqueueNDRangeKernel");
    CHECK(scl_network_profile(net, x, n, h, w, ms, reported) == SCL_OK, "%s: profile: %s", model,
          scl_last_error(ctx));
    CHECK(shim_calls("clEnqueueNDRangeKernel") - before == reported,
          "%s: the profile enqueued other kernels", model);
    int timed = 0;
    for (int i = 0; i < reported; i++)
        timed += ms[i] >= 0;
    CHECK(timed == reported && ms[reported] == -1, "%s: %d of %d launches timed", model, timed,
          reported);
    CHECK(scl_network_profile(net, x, n, h, w, ms, reported - 1) == SCL_ERROR_INVALID_ARGUMENT,
          "%s: a short profile array was accepted", model);
    free(ms), free(x), free(y);
}

/* The targets at 224 x 224, batch 1 (the shape just run): fused, one launch per unit: a
 * V2's stem, pool, 16 units, conv5 and head at most 22, a V1's stem, pool, 16 units and head at
 * most 20; unfused, one launch per layer (and one more for a two-phase head): 59 and 55 on PoCL.
 * A unit whose band of one output row overflows the local memory runs layer by layer (counted
 * before the weights the same way, checked by the caller): allowed only where
 * tu_unit_may_fall_back. */
static void check_launch_target(scl_network *net, const char *model, int fused, uint64_t lmem) {
    int n = scl_network_launch_count(net), layers = scl_network_layer_count(net);
    int v2 = model[1] == '2';
    scl_launch_info a = {.size = sizeof a}, b = {.size = sizeof b};
    int two_phase = n >= 2 && scl_network_launch_info(net, n - 1, &a) == SCL_OK &&
                    scl_network_launch_info(net, n - 2, &b) == SCL_OK &&
                    a.first_layer == b.first_layer;
    CHECK(layers == (v2 ? 58 : 54), "%s: %d layers", model, layers);
    if (fused && v2)
        CHECK(n == layers - 38 + two_phase && n <= 22, "%s fused: %d launches, want <= 22", model,
              n);
    else if (fused && tu_unit_may_fall_back(model, lmem))
        CHECK(n >= layers - 35 + two_phase && n < layers + two_phase,
              "%s fused: %d launches, %llu bytes of local memory", model, n,
              (unsigned long long)lmem);
    else if (fused)
        CHECK(n == layers - 35 + two_phase && n <= 20, "%s fused: %d launches, want <= 20", model,
              n);
    else
        CHECK(n == layers + two_phase, "%s: %d launches for %d layers (two-phase head %d)", model,
              n, layers, two_phase);
}

/* Megvii's V2 splits even/odd channels and concatenates without a shuffle: all of it channel maps,
 * so one launch per layer (+1 for a two-phase head) and no copy layer, exactly as many launches as
 * torchvision's V2 of the same widths. */
static void check_megvii_v2(scl_context *ctx, int fused) {
    scl_model_desc d;
    d.size = sizeof d;
    CHECK(scl_model_preset("v2_x0_5", &d) == SCL_OK, "preset");
    d.layout = SCL_LAYOUT_MEGVII_V2, d.preprocess = SCL_PREPROCESS_MEGVII;
    scl_network *net = NULL, *tv = NULL;
    scl_network_options o = {.size = sizeof o,
                             .fused_kernels = fused ? SCL_SWITCH_ON : SCL_SWITCH_OFF};
    CHECK(scl_network_create_desc_ex(ctx, &d, &o, &net) == SCL_OK, "Megvii V2: create: %s",
          scl_last_error(ctx));
    CHECK(scl_network_create_ex(ctx, "v2_x0_5", &o, &tv) == SCL_OK, "v2_x0_5: create");
    if (!net || !tv) return;
    CHECK(scl_network_random_weights(net, 12) == SCL_OK &&
              scl_network_random_weights(tv, 12) == SCL_OK,
          "weights");
    check_shape(ctx, net, "megvii_v2", 2, 64, 48);
    check_shape(ctx, tv, "v2_x0_5", 2, 64, 48);
    int layers = scl_network_layer_count(net), launches = scl_network_launch_count(net), copies = 0;
    for (int i = 0; i < layers; i++) {
        scl_layer_info li = {.size = sizeof(scl_layer_info)};
        copies +=
            scl_network_layer_info(net, i, 64, 48, &li) != SCL_OK || li.kind == SCL_OP_KIND_SHUFFLE;
    }
    scl_launch_info last = {.size = sizeof(scl_launch_info)},
                    before_last = {.size = sizeof(scl_launch_info)};
    int two_phase = launches >= 2 && scl_network_launch_info(net, launches - 1, &last) == SCL_OK &&
                    scl_network_launch_info(net, launches - 2, &before_last) == SCL_OK &&
                    last.first_layer == layers - 1 && before_last.first_layer == layers - 1;
    CHECK(copies == 0, "Megvii V2: %d copy layers", copies);
    /* fused: its 16 units' 54 layers in 16 launches */
    CHECK(launches == layers + two_phase - (fused ? 38 : 0),
          "Megvii V2: %d launches for %d layers (two-phase head: %d, fused %d)", launches, layers,
          two_phase, fused);
    CHECK(launches == scl_network_launch_count(tv),
          "Megvii V2: %d launches, torchvision's V2 of its widths %d", launches,
          scl_network_launch_count(tv));
    printf("%-12s %d launches per inference, %d layers\n", "megvii_v2", launches, layers);
    scl_network_destroy(net);
    scl_network_destroy(tv);
}

/* Counts the launches of one kernel-enqueue pass. */
static long real_launches(scl_context *ctx, scl_network *net, const char *what, int n, int h,
                          int w) {
    check_shape(ctx, net, what, n, h, w);
    size_t count = (size_t)n * 3 * h * w;
    float *x = malloc(count * sizeof *x),
          *y = malloc((size_t)n * scl_network_classes(net) * sizeof *y);
    random_input(x, count, 5);
    long before = shim_calls("clEnqueueNDRangeKernel");
    CHECK(scl_network_run(net, x, n, h, w, y) == SCL_OK, "%s: run: %s", what, scl_last_error(ctx));
    free(x), free(y);
    return shim_calls("clEnqueueNDRangeKernel") - before;
}

/* `launch_count FILE:N:H:W ...`: each file (an ONNX model, say) launches exactly as many kernels
 * as the network its description builds (the safetensors path's), at that shape. */
static int check_files(scl_context *ctx, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char path[4096];
        int n = 0, h = 0, w = 0;
        const char *colon = strchr(argv[i], ':');
        if (!colon || (size_t)(colon - argv[i]) >= sizeof path ||
            sscanf(colon, ":%d:%d:%d", &n, &h, &w) != 3) {
            CHECK(0, "argument %s is not FILE:N:H:W", argv[i]);
            continue;
        }
        snprintf(path, sizeof path, "%.*s", (int)(colon - argv[i]), argv[i]);
        scl_network *file = NULL, *built = NULL;
        scl_model_desc d = {.size = sizeof d};
        CHECK(scl_network_create_from_file(ctx, path, &file) == SCL_OK, "%s: %s", path,
              scl_last_error(ctx));
        if (file) CHECK(scl_network_get_desc(file, &d) == SCL_OK, "%s: desc", path);
        if (file)
            CHECK(scl_network_create_desc(ctx, &d, &built) == SCL_OK, "%s: create_desc", path);
        if (built) CHECK(scl_network_random_weights(built, 3) == SCL_OK, "%s: weights", path);
        if (file && built) {
            long a = real_launches(ctx, file, path, n, h, w);
            long b = real_launches(ctx, built, "its description", n, h, w);
            CHECK(a == b && a == scl_network_launch_count(built),
                  "%s: %ld launches, the same architecture built from its description %ld", path, a,
                  b);
            printf("%s: %ld launches at %dx3x%dx%d, as built from its description\n", path, a, n, h,
                   w);
        }
        scl_network_destroy(file);
        scl_network_destroy(built);
    }
    scl_context_destroy(ctx);
    printf("%d checks\n%d passed, %d failed\n", checks, checks - failures, failures);
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    *(void **)&shim_calls = dlsym(RTLD_DEFAULT, "scl_shim_calls");
    if (!shim_calls) {
        printf("launch_count: run me with LD_PRELOAD=libclshim.so (tests/fault/clshim.c)\n0 "
               "passed, 1 failed\n");
        return 1;
    }
    scl_context *ctx = NULL;
    if (scl_context_create(NULL, &ctx) != SCL_OK) {
        printf("no context: %s\n0 passed, 1 failed\n", scl_last_error(NULL));
        return 1;
    }
    if (argc > 1) return check_files(ctx, argc, argv);
    scl_device_info info = {.size = sizeof info};
    CHECK(scl_context_device_info(ctx, &info) == SCL_OK, "device info");
    int models = 0;
    for (const char *model; (model = scl_model_name(models)) != NULL; models++)
        for (int fused = 1; fused >= 0; fused--) {
            scl_network *net = NULL;
            scl_network_options o = {.size = sizeof o,
                                     .fused_kernels = fused ? SCL_SWITCH_ON : SCL_SWITCH_OFF};
            CHECK(scl_network_create_ex(ctx, model, &o, &net) == SCL_OK, "%s: create", model);
            if (!net) continue;
            /* before weights, the count is what the default configuration will launch */
            int planned = scl_network_launch_count(net);
            CHECK(scl_network_random_weights(net, 11) == SCL_OK, "%s: weights: %s", model,
                  scl_last_error(ctx));
            CHECK(planned == scl_network_launch_count(net),
                  "%s: %d launches before weights, %d after", model, planned,
                  scl_network_launch_count(net));
            check_shape(ctx, net, model, 1, 224, 224);
            check_launch_target(net, model, fused, info.local_mem_bytes);
            check_shape(ctx, net, model, 2, 64, 48);
            /* rows too wide for some units' bands in a CPU's local memory: those fall back */
            if (strcmp(model, "v2_x1_0") == 0) check_shape(ctx, net, model, 1, 8, 8192);
            printf("%-12s %d launches per inference, %d layers%s\n", model,
                   scl_network_launch_count(net), scl_network_layer_count(net),
                   fused ? "" : " (fusion off)");
            scl_network_destroy(net);
        }
    check_megvii_v2(ctx, 1);
    check_megvii_v2(ctx, 0);
    scl_context_destroy(ctx);
    printf("%d models, %d checks\n%d passed, %d failed\n", models, checks, checks - failures,
           failures);
    return failures != 0;
}
