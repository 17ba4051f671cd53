/* main.c: the shufflecl command-line tool: dispatch to subcommands and the helpers they share. */
#include "cli.h"
#include "selftest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("shufflecl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_is_help(const char *arg) {
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value, int *err) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", name);
        *err = 1;
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

static void log_stderr(scl_log_level level, const char *msg, void *user) {
    (void)user;
    if (level >= SCL_LOG_WARN && level != SCL_LOG_ERROR)
        fprintf(stderr, "shufflecl: warning: %s\n", msg);
}

int cli_context(const char *device, scl_context **ctx) {
    if (scl_context_create(device, ctx) != SCL_OK) return cli_error("%s", scl_last_error(NULL));
    scl_context_set_log(*ctx, log_stderr, NULL);
    return 0;
}

/* What a weights file holds when it is not the preset asked for: "" when it is that preset or
 * its architecture cannot be read (the loader's message then says what is wrong). */
static const char *other_arch(const char *model, const char *weights, char *buf, size_t cap) {
    scl_model_desc want, got;
    want.size = got.size = sizeof want;
    buf[0] = '\0';
    if (scl_model_preset(model, &want) != SCL_OK ||
        scl_model_desc_from_file(NULL, weights, &got) != SCL_OK)
        return buf;
    char a[256];
    scl_model_desc_text(&want, a, sizeof a);
    scl_model_desc_text(&got, buf, cap);
    if (strcmp(a, buf) == 0) buf[0] = '\0';
    return buf;
}

scl_precision cli_precision = SCL_PRECISION_FLOAT32;

const char *cli_precision_name(scl_precision p) {
    return p == SCL_PRECISION_HALF_STORAGE ? "half-storage"
           : p == SCL_PRECISION_FLOAT16    ? "half"
                                           : "float32";
}

int cli_batch_block = 0;

scl_network_options cli_network_options(void) {
    scl_network_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.precision = cli_precision;
    o.batch_block = cli_batch_block;
    return o;
}

int cli_network(scl_context *ctx, const char *cmd, const char *model, const char *weights, int load,
                scl_network **net) {
    *net = NULL;
    scl_network_options opts = cli_network_options();
    int from_file = !model || strcmp(model, "auto") == 0;
    if (from_file && !weights)
        return cli_error(
            "%s: 'auto' reads the architecture from --weights FILE, which is not given", cmd);
    char other[256];
    /* without loading, a file of another architecture cannot be caught later: refuse it now */
    if (!from_file && weights && !load && other_arch(model, weights, other, sizeof other)[0])
        return cli_error(
            "%s: %s holds %s, not %s; give 'auto' as the model to read the architecture from "
            "the file",
            cmd, weights, other, model);
    scl_status st;
    if (from_file && load) {
        st = scl_network_create_from_file_ex(ctx, weights, &opts, net);
    } else if (from_file) {
        scl_model_desc d;
        d.size = sizeof d;
        st = scl_model_desc_from_file(ctx, weights, &d);
        if (st == SCL_OK) st = scl_network_create_desc_ex(ctx, &d, &opts, net);
    } else {
        st = scl_network_create_ex(ctx, model, &opts, net);
        if (st == SCL_OK && load) st = scl_network_load_weights(*net, weights);
    }
    if (st == SCL_OK) return 0;
    if (st == SCL_ERROR_WEIGHTS && !from_file && other_arch(model, weights, other, sizeof other)[0])
        cli_error("%s; by its tensor names and shapes the file holds %s: give 'auto' as the model "
                  "to read "
                  "the architecture from the file",
                  scl_last_error(ctx), other);
    else
        cli_error("%s", scl_last_error(ctx));
    scl_network_destroy(*net);
    *net = NULL;
    return 1;
}

static const char *type_name(scl_device_type t) {
    switch (t) {
    case SCL_DEVICE_CPU:
        return "CPU";
    case SCL_DEVICE_GPU:
        return "GPU";
    case SCL_DEVICE_ACCELERATOR:
        return "accelerator";
    default:
        return "other";
    }
}

/* devices --check: the self-test on each device in turn; 1 if any fails. */
static int check_devices(const scl_device_info *d, int count) {
    cli_selftest t;
    char msg[1024];
    if (cli_selftest_prepare(&t, msg, sizeof msg)) return cli_error("devices --check: %s", msg);
    int failed = 0;
    printf("\nself-test: %s with seeded random weights, %dx3x%dx%d, against a float64 forward "
           "pass (limit %.0e)\n",
           t.model, t.n, t.h, t.w, CLI_SELFTEST_TOL);
    for (int i = 0; i < count; i++) {
        char spec[24];
        snprintf(spec, sizeof spec, "%d:%d", d[i].platform_index, d[i].device_index);
        fflush(stdout);
        double rel;
        int bad = cli_selftest_run(&t, spec, &rel, msg, sizeof msg);
        if (!bad)
            printf("%-5s %-40.40s passed, relative error %.2e\n", spec, d[i].name, rel);
        else if (msg[0])
            printf("%-5s %-40.40s FAILED: %s\n", spec, d[i].name, msg);
        else
            printf("%-5s %-40.40s FAILED: relative error %.2e\n", spec, d[i].name, rel);
        failed += bad;
    }
    cli_selftest_free(&t);
    if (failed) return cli_error("devices --check: %d of %d devices failed", failed, count);
    return 0;
}

int cli_devices(int argc, char **argv) {
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts("usage: shufflecl devices [--check]\n\n"
                 "Lists every OpenCL platform and device. Select one elsewhere with --device P:D,\n"
                 "a name substring, or cpu/gpu; SHUFFLECL_DEVICE sets the default (else the first\n"
                 "GPU, else the first device).\n\n"
                 "  --check   also run a self-test on each device: ShuffleNet V2 0.5x with seeded\n"
                 "            random weights on a 2 x 3 x 64 x 64 input, against the tool's own\n"
                 "            float64 forward pass (relative error under 1e-4); exit status 1\n"
                 "            if any device fails. A plain listing compiles nothing.");
            return 0;
        }
        if (strcmp(argv[i], "--check") == 0) {
            check = 1;
            continue;
        }
        return cli_error("devices: unexpected argument '%s' (see shufflecl devices --help)",
                         argv[i]);
    }
    int count = 0;
    if (scl_device_list(NULL, 0, &count) != SCL_OK) return cli_error("%s", scl_last_error(NULL));
    if (count == 0)
        return cli_error(
            "no OpenCL device found: install a driver (Debian: pocl-opencl-icd for the CPU)");
    scl_device_info *d = calloc((size_t)count, sizeof *d);
    for (int i = 0; d && i < count; i++)
        d[i].size = sizeof *d;
    if (!d) return cli_error("out of memory");
    if (scl_device_list(d, count, &count) != SCL_OK) {
        free(d);
        return cli_error("%s", scl_last_error(NULL));
    }
    scl_device_info def = {.size = sizeof(scl_device_info)};
    int have_def = scl_device_find(NULL, &def) == SCL_OK;
    for (int i = 0; i < count; i++) {
        int is_def = have_def && def.platform_index == d[i].platform_index &&
                     def.device_index == d[i].device_index;
        printf("%d:%d%s %s\n", d[i].platform_index, d[i].device_index, is_def ? " (default)" : "",
               d[i].name);
        printf("    platform        %s (%s)\n", d[i].platform_name, d[i].platform_version);
        printf("    vendor          %s\n", d[i].vendor);
        printf("    type            %s\n", type_name(d[i].type));
        printf("    version         %s, driver %s\n", d[i].device_version, d[i].driver_version);
        printf("    OpenCL C        %s\n", d[i].opencl_c_version);
        printf("    compute units   %u at %u MHz\n", d[i].compute_units, d[i].clock_mhz);
        printf("    global memory   %.1f GiB (max alloc %.1f GiB)%s\n",
               d[i].global_mem_bytes / 1073741824.0, d[i].max_alloc_bytes / 1073741824.0,
               d[i].host_unified_memory ? ", unified with host" : "");
        printf("    local memory    %.0f KiB\n", d[i].local_mem_bytes / 1024.0);
        printf("    max work-group  %zu\n", d[i].max_work_group_size);
        printf("    native floats   %u per vector\n", d[i].native_float_width);
        printf("    fp16 / fp64     %s / %s\n", d[i].fp16 ? "yes" : "no", d[i].fp64 ? "yes" : "no");
    }
    int rc = check ? check_devices(d, count) : 0;
    free(d);
    return rc;
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"devices", cli_devices, "list OpenCL platforms and devices"},
    {"models", cli_models, "list the model names (presets; 'auto' reads a weights file's)"},
    {"info", cli_info, "per-layer table of a model: shapes, params, MACs"},
    {"infer", cli_infer, "run a model on a .npy input and write the logits as .npy"},
    {"tune", cli_tune, "auto-tune kernel configurations for a model on a device"},
    {"classify", cli_classify, "top-5 ImageNet classes of PNG, JPEG or PPM pictures"},
    {"bench", cli_bench, "throughput, latency, start-up cost and per-layer profile"},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: shufflecl COMMAND [options]   (shufflecl COMMAND --help for its options)\n\n"
            "ShuffleNet V1/V2 inference on OpenCL devices, version %s.\n\ncommands:\n",
            scl_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(
        f,
        "\nenvironment:\n"
        "  SHUFFLECL_DEVICE     default device (P:D, name substring, cpu, gpu)\n"
        "  SHUFFLECL_CACHE_DIR  program binary cache directory, or 'off'\n"
        "  SHUFFLECL_CL_DIR     read kernels from this directory instead of the embedded copies\n"
        "  SHUFFLECL_FUSION     'off': every layer its own launch (as --no-fuse)\n"
        "  SHUFFLECL_UNIT_STAGE 0 or 1: fused units read their input rows from global memory or\n"
        "                       stage them in local memory (default: staged with >= 256 KiB)\n"
        "\nevery command also takes --no-fuse: run each ShuffleNet unit layer by layer instead\n"
        "of as one fused launch (the ablation; results agree to float rounding)\n"
        "infer, classify, bench and tune take --precision float32|half-storage|half: half-storage\n"
        "keeps weights and activations in 16 bits (float arithmetic, ~1e-3 relative error);\n"
        "half (16-bit arithmetic) is not available yet\n"
        "infer, classify and bench take --batch-block N: a batch runs N images through every\n"
        "layer before the next N (default: shufflecl tune --batch's choice, else the whole "
        "batch)\n");
}

/* --no-fuse, anywhere after the command: removed from argv and passed on to the library as
 * SHUFFLECL_FUSION=off, which every network made in this process then reads. 1 if it was there. */
static int take_no_fuse(int *argc, char **argv) {
    int found = 0, out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--no-fuse") == 0)
            found = 1;
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
    return found;
}

/* A global option with a value, `--NAME V` or `--NAME=V`, anywhere after the command: every
 * occurrence is removed from argv and handed to parse (which prints its own error and returns
 * nonzero on a bad value); only the commands in `takes` (NULL-terminated) accept it. 0 when
 * absent or valid, else 1 (with the error printed). */
static int take_global(int *argc, char **argv, const char *name, const char *what,
                       int (*parse)(const char *v), const char *const *takes, const char *who) {
    size_t len = strlen(name);
    int out = 1, bad = 0, seen = 0;
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
            argv[i][2 + len] == '\0') {
            if (i + 1 >= *argc) return cli_error("--%s needs a value: %s", name, what);
            v = argv[++i];
        } else if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
                   argv[i][2 + len] == '=') {
            v = argv[i] + 3 + len;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        seen = 1;
        bad |= parse(v);
    }
    argv[out] = NULL;
    *argc = out;
    if (bad) return 1;
    int ok = 0;
    for (int i = 0; takes[i]; i++)
        ok |= *argc > 1 && strcmp(argv[1], takes[i]) == 0;
    if (seen && !ok) return cli_error("--%s: only %s take it", name, who);
    return 0;
}

/* --precision P into cli_precision. */
static int parse_precision(const char *v) {
    if (strcmp(v, "float32") == 0)
        cli_precision = SCL_PRECISION_FLOAT32;
    else if (strcmp(v, "half-storage") == 0)
        cli_precision = SCL_PRECISION_HALF_STORAGE;
    else if (strcmp(v, "half") == 0)
        cli_precision = SCL_PRECISION_FLOAT16;
    else
        return cli_error("--precision %s: must be float32, half-storage or half", v);
    return 0;
}

/* --batch-block N into cli_batch_block. */
static int parse_batch_block(const char *v) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 1 || x > 4096)
        return cli_error("--batch-block %s: must be a whole number from 1 to 4096", v);
    cli_batch_block = (int)x;
    return 0;
}

static int take_precision(int *argc, char **argv) {
    static const char *const takes[] = {"infer", "classify", "bench", "tune", NULL};
    return take_global(argc, argv, "precision", "float32, half-storage or half", parse_precision,
                       takes, "infer, classify, bench and tune");
}

static int take_batch_block(int *argc, char **argv) {
    static const char *const takes[] = {"infer", "classify", "bench", NULL};
    return take_global(argc, argv, "batch-block", "a number of images", parse_batch_block, takes,
                       "infer, classify and bench");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("shufflecl %s\n", scl_version());
        return 0;
    }
    if (take_precision(&argc, argv) || take_batch_block(&argc, argv)) return 1;
    if (take_no_fuse(&argc, argv) && setenv("SHUFFLECL_FUSION", "off", 1) != 0)
        return cli_error("--no-fuse: cannot set SHUFFLECL_FUSION");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    return cli_error("unknown command '%s' (run shufflecl --help)", argv[1]);
}
