/* cmd_model.c: `shufflecl models`, `shufflecl info` and `shufflecl infer`. */
#include "cli.h"
#include "npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_models(int argc, char **argv) {
    if (argc > 1 && cli_is_help(argv[1])) {
        puts("usage: shufflecl models\n\nLists the preset names (V2: torchvision semantics and "
             "keys; "
             "V1: Megvii's).\nAny other ShuffleNet (torchvision V2, Megvii V1 or V2 with any "
             "widths, repeats,\n"
             "groups and class count) is read from its weights: MODEL 'auto' --weights FILE.");
        return 0;
    }
    if (argc > 1) return cli_error("models: unexpected argument '%s'", argv[1]);
    for (int i = 0; scl_model_name(i); i++)
        puts(scl_model_name(i));
    return 0;
}

/* The largest --height / --width of info (bench has the same bound; infer's input too). */
#define CLI_MAX_SIZE 16384

static int parse_int(const char *s, const char *what, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
        return cli_error("%s: '%s' is not a whole number from %d to %d", what, s, lo, hi);
    *out = (int)v;
    return 0;
}

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

int cli_info(int argc, char **argv) {
    const char *model = NULL, *weights = NULL, *v;
    int json = 0, h = 224, w = 224, err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts("usage: shufflecl info [MODEL] [--weights W] [--json] [--height H] [--width W]\n\n"
                 "MODEL is a preset (shufflecl models) or 'auto', the architecture of W (the "
                 "default\n"
                 "when W is given; its weights are not loaded).\n"
                 "Prints every layer (name, op, output shape, params, MACs) and the totals, "
                 "counted as\n"
                 "PyTorch counts them (params: weights, biases, BN gamma and beta; MACs: conv and "
                 "fc\n"
                 "multiply-accumulates) at H x W (each 1 to 16384, default 224 x 224). --json "
                 "writes\n"
                 "the same as JSON"
                 " with top-level \"params\" and \"macs\".");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (cli_opt(argc, argv, &i, "--weights", &v, &err)) {
            if (err) return 1;
            weights = v;
        } else if (cli_opt(argc, argv, &i, "--height", &v, &err)) {
            if (err || parse_int(v, "info: --height", 1, CLI_MAX_SIZE, &h)) return 1;
        } else if (cli_opt(argc, argv, &i, "--width", &v, &err)) {
            if (err || parse_int(v, "info: --width", 1, CLI_MAX_SIZE, &w)) return 1;
        } else if (argv[i][0] == '-')
            return cli_error("info: unknown option '%s'", argv[i]);
        else if (!model)
            model = argv[i];
        else
            return cli_error("info: more than one model given ('%s' and '%s')", model, argv[i]);
    }
    if (!model && !weights)
        return cli_error("info: which model? (shufflecl models lists them; or --weights FILE)");
    scl_context *ctx;
    if (cli_context(NULL, &ctx)) return 1;
    scl_network *net;
    if (cli_network(ctx, "info", model, weights, 0, &net)) {
        scl_context_destroy(ctx);
        return 1;
    }
    if (!model) model = "auto";
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    scl_network_get_stats(net, 1, h, w, &s);
    int nl = scl_network_layer_count(net);
    if (json) {
        printf("{\n  \"model\": \"%s\",\n  \"input\": [1, 3, %d, %d],\n  \"params\": %lld,\n  "
               "\"macs\": %lld,\n"
               "  \"launches\": %d,\n  \"layers\": [\n",
               model, h, w, (long long)s.params, (long long)s.macs, s.launches);
        for (int i = 0; i < nl; i++) {
            scl_layer_info li = {.size = sizeof(scl_layer_info)};
            scl_network_layer_info(net, i, h, w, &li);
            const char *kind = scl_op_kind_name(li.kind);
            printf("    {\"name\": ");
            print_json_string(li.name);
            printf(", \"op\": \"%s\", \"cin\": %d, \"cout\": %d, \"groups\": %d, \"stride\": %d, "
                   "\"output\": [%d, %d, %d], \"params\": %lld, \"macs\": %lld}%s\n",
                   kind, li.cin, li.cout, li.groups, li.stride, li.cout, li.out_h, li.out_w,
                   (long long)li.params, (long long)li.macs, i + 1 < nl ? "," : "");
        }
        printf("  ]\n}\n");
    } else {
        printf("%-32s %-10s %-16s %10s %12s\n", "layer", "op", "output", "params", "MACs");
        for (int i = 0; i < nl; i++) {
            scl_layer_info li = {.size = sizeof(scl_layer_info)};
            scl_network_layer_info(net, i, h, w, &li);
            char shape[32];
            snprintf(shape, sizeof shape, "%dx%dx%d", li.cout, li.out_h, li.out_w);
            char op[24];
            if (li.kind == SCL_OP_KIND_POINTWISE && li.groups > 1)
                snprintf(op, sizeof op, "pw g%d", li.groups);
            else if (li.kind == SCL_OP_KIND_POINTWISE)
                snprintf(op, sizeof op, "pw");
            else if (li.kind == SCL_OP_KIND_DEPTHWISE)
                snprintf(op, sizeof op, "dw s%d", li.stride);
            else
                snprintf(op, sizeof op, "%s", scl_op_kind_name(li.kind));
            printf("%-32s %-10s %-16s %10lld %12lld\n", li.name, op, shape, (long long)li.params,
                   (long long)li.macs);
        }
        printf("%-32s %-10s %-16s %10lld %12lld\n", "total", "", "", (long long)s.params,
               (long long)s.macs);
        printf("%d launches per inference; input 3x%dx%d\n", s.launches, h, w);
        scl_model_desc d;
        d.size = sizeof d;
        char text[256];
        if (scl_network_get_desc(net, &d) == SCL_OK)
            printf("%s; preprocessing: %s\n", scl_model_desc_text(&d, text, sizeof text),
                   scl_preprocess_name(d.preprocess));
    }
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    return 0;
}

int cli_infer(int argc, char **argv) {
    const char *model = NULL, *weights = NULL, *input = NULL, *output = NULL, *device = NULL, *v;
    int err = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            puts("usage: shufflecl infer [MODEL] --weights W.safetensors --input X.npy --output "
                 "Y.npy\n"
                 "                       [--device D]\n\n"
                 "Runs MODEL on X (float32 N x 3 x H x W, already preprocessed; N at most 65536, H "
                 "and W\n"
                 "at most 16384) and writes the N x classes logits to Y as float32 .npy. MODEL is "
                 "a\n"
                 "preset (shufflecl models) or 'auto' (the default): the architecture read from W, "
                 "any\n"
                 "widths, repeats, groups and classes.");
            return 0;
        }
        if (cli_opt(argc, argv, &i, "--weights", &v, &err))
            weights = v;
        else if (cli_opt(argc, argv, &i, "--input", &v, &err))
            input = v;
        else if (cli_opt(argc, argv, &i, "--output", &v, &err))
            output = v;
        else if (cli_opt(argc, argv, &i, "--device", &v, &err))
            device = v;
        else if (argv[i][0] == '-')
            return cli_error("infer: unknown option '%s'", argv[i]);
        else if (!model)
            model = argv[i];
        else
            return cli_error("infer: more than one model given ('%s' and '%s')", model, argv[i]);
        if (err) return 1;
    }
    if (!model && !weights)
        return cli_error(
            "infer: which model? (a preset from shufflecl models, or 'auto' with --weights)");
    if (!weights || !input || !output) {
        /* name exactly what is missing, not the whole list */
        const char *need[3] = {weights ? NULL : "--weights", input ? NULL : "--input",
                               output ? NULL : "--output"};
        char list[64] = "";
        int missing = 0;
        for (int k = 0; k < 3; k++)
            if (need[k]) {
                strcat(list, missing++ ? " and " : "");
                strcat(list, need[k]);
            }
        return cli_error("infer: %s %s required (usage: shufflecl infer MODEL --weights W "
                         "--input X.npy --output Y.npy)",
                         list, missing > 1 ? "are" : "is");
    }
    char msg[1024];
    int rank = 0;
    int64_t shape[8];
    float *x = NULL;
    if (scl__npy_read_f32(input, &rank, shape, &x, msg, sizeof msg) != SCL_OK)
        return cli_error("%s", msg);
    /* say what the array is, not only that it is wrong */
    char dims[160] = "";
    for (int k = 0; k < rank; k++)
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", k ? " x " : "",
                 (long long)shape[k]);
    if (rank != 4 || shape[1] != 3) {
        free(x);
        return cli_error("%s: expected an N x 3 x H x W array (3 colour channels), got %s%s", input,
                         rank ? "shape " : "a scalar", dims);
    }
    if (shape[0] < 1 || shape[2] < 1 || shape[3] < 1) {
        free(x);
        return cli_error("%s: shape %s is empty", input, dims);
    }
    if (shape[0] > 65536 || shape[2] > 16384 || shape[3] > 16384) {
        free(x);
        return cli_error("%s: shape %s is too large (at most 65536 images of 16384 x 16384)", input,
                         dims);
    }
    int n = (int)shape[0], h = (int)shape[2], w = (int)shape[3];
    scl_context *ctx;
    if (cli_context(device, &ctx)) {
        free(x);
        return 1;
    }
    int rc = 1;
    scl_network *net = NULL;
    float *y = NULL;
    if (cli_network(ctx, "infer", model, weights, 1, &net)) {
        /* the error is printed */
    } else if (!(y = malloc((size_t)n * scl_network_classes(net) * sizeof *y))) {
        cli_error("out of memory");
    } else if (scl_network_run(net, x, n, h, w, y) != SCL_OK) {
        cli_error("%s", scl_last_error(ctx));
    } else {
        int64_t oshape[2] = {n, scl_network_classes(net)};
        if (scl__npy_write_f32(output, 2, oshape, y, msg, sizeof msg) != SCL_OK)
            cli_error("%s", msg);
        else
            rc = 0;
    }
    free(x);
    free(y);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    return rc;
}
