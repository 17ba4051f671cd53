/* layout.c: the architecture of a weights file, told from its content: the format by its first
 * bytes (safetensors; ONNX recognised and refused for now), and the model description from the
 * tensor names and shapes of a torchvision V2, Megvii V1 or Megvii V2 state_dict (repeats from
 * the unit indices, widths from the conv shapes, V1's groups from a grouped conv, classes from
 * the classifier). Every value read is untrusted and every refusal names the file. */
#include "io/safetensors.h"
#include "net/network.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    scl_context *ctx;
    const scl__safetensors *st;
    const char *path;
    const char *prefix; /* "" or DataParallel's "module." */
} reader;

static const scl__st_tensor *get(const reader *r, const char *fmt, ...) {
    char name[256];
    int used = snprintf(name, sizeof name, "%s", r->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name + used, sizeof name - (size_t)used, fmt, ap);
    va_end(ap);
    return scl__safetensors_find(r->st, name);
}

static void shape_text(const scl__st_tensor *t, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "",
                                 (long long)t->shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

/* Dimension i of a tensor that must exist with the given rank; -1 (the error set: the caller
 * returns SCL_ERROR_WEIGHTS) otherwise. */
static int dim(const reader *r, const scl__st_tensor *t, const char *what, int rank, int i) {
    char shape[96];
    if (!t) {
        scl__fail(r->ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s%s' is missing", r->path, r->prefix,
                  what);
        return -1;
    }
    if (t->rank != rank) {
        shape_text(t, shape, sizeof shape);
        scl__fail(r->ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %d dimensions",
                  r->path, t->name, shape, rank);
        return -1;
    }
    /* larger than any width: the description's check refuses it, naming the field */
    return t->shape[i] < 0 ? 0 : t->shape[i] > INT_MAX / 4 ? INT_MAX / 4 : (int)t->shape[i];
}

#define DIM(r, rank, i, ...)                                                                       \
    dim(r, get(r, __VA_ARGS__), what_of(wbuf, sizeof wbuf, __VA_ARGS__), rank, i)

static const char *what_of(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return buf;
}

static scl_status infer_tv_v2(const reader *r, scl_model_desc *d) {
    char wbuf[128];
    if ((d->stem_width = DIM(r, 4, 0, "conv1.0.weight")) < 0) return SCL_ERROR_WEIGHTS;
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        int u = 0;
        while (u <= SCL_MODEL_MAX_REPEATS && get(r, "stage%d.%d.branch2.0.weight", s + 2, u))
            u++;
        d->stage_repeats[s] = u;
        int half = DIM(r, 4, 0, "stage%d.0.branch2.0.weight", s + 2);
        if (half < 0) return SCL_ERROR_WEIGHTS;
        d->stage_widths[s] = 2 * half;
    }
    if ((d->last_width = DIM(r, 4, 0, "conv5.0.weight")) < 0) return SCL_ERROR_WEIGHTS;
    if ((d->classes = DIM(r, 2, 0, "fc.weight")) < 0) return SCL_ERROR_WEIGHTS;
    return SCL_OK;
}

/* Megvii V1: no key says a unit's stride, but the shapes do. A stride-1 unit keeps its C_in
 * channels (branch_main_2 makes C_in, mid = C_in/4); a stride-2 unit makes C - C_in, with
 * mid = C/4. Each stride-2 unit opens a stage. */
static scl_status infer_megvii_v1(const reader *r, scl_model_desc *d) {
    char wbuf[128];
    int cin = d->stem_width = DIM(r, 4, 0, "first_conv.0.weight"), stage = -1;
    if (cin < 0) return SCL_ERROR_WEIGHTS;
    for (int k = 0; k <= SCL_MODEL_STAGES * SCL_MODEL_MAX_REPEATS &&
                    get(r, "features.%d.branch_main_1.0.weight", k);
         k++) {
        int mid = DIM(r, 4, 0, "features.%d.branch_main_1.0.weight", k);
        int out = DIM(r, 4, 0, "features.%d.branch_main_2.0.weight", k);
        int per = DIM(r, 4, 1, "features.%d.branch_main_2.0.weight", k);
        if (mid < 0 || out < 0 || per < 0) return SCL_ERROR_WEIGHTS;
        if (k == 0) d->groups = per > 0 && mid % per == 0 ? mid / per : 0;
        if (k > 0 && out == cin && mid == cin / 4) {
            d->stage_repeats[stage]++;
            continue;
        }
        if (mid != (cin + out) / 4)
            return scl__fail(
                r->ctx, SCL_ERROR_WEIGHTS,
                "%s: unit features.%d fits neither a stride-1 unit of %d "
                "channels nor a stride-2 one: its branch_main_1 makes %d channels and its "
                "branch_main_2 %d",
                r->path, k, cin, mid, out);
        if (++stage >= SCL_MODEL_STAGES)
            return scl__fail(r->ctx, SCL_ERROR_WEIGHTS,
                             "%s: unit features.%d is a %d-th stride-2 unit; "
                             "ShuffleNet V1 has %d stages",
                             r->path, k, stage + 1, SCL_MODEL_STAGES);
        cin = d->stage_widths[stage] = cin + out;
        d->stage_repeats[stage] = 1;
    }
    if (stage != SCL_MODEL_STAGES - 1)
        return scl__fail(r->ctx, SCL_ERROR_WEIGHTS,
                         "%s: Megvii V1 layout with %d stage(s) (stride-2 units); "
                         "ShuffleNet V1 has %d",
                         r->path, stage + 1, SCL_MODEL_STAGES);
    if ((d->classes = DIM(r, 2, 0, "classifier.0.weight")) < 0) return SCL_ERROR_WEIGHTS;
    return SCL_OK;
}

/* Megvii V2: stride-2 units are those with a branch_proj; their main branch makes C - C_in. */
static scl_status infer_megvii_v2(const reader *r, scl_model_desc *d) {
    char wbuf[128];
    int cin = d->stem_width = DIM(r, 4, 0, "first_conv.0.weight"), stage = -1;
    if (cin < 0) return SCL_ERROR_WEIGHTS;
    for (int k = 0; k <= SCL_MODEL_STAGES * SCL_MODEL_MAX_REPEATS &&
                    get(r, "features.%d.branch_main.0.weight", k);
         k++) {
        if (!get(r, "features.%d.branch_proj.0.weight", k)) {
            if (stage < 0)
                return scl__fail(r->ctx, SCL_ERROR_WEIGHTS,
                                 "%s: tensor '%sfeatures.0.branch_proj.0.weight' is "
                                 "missing (the first unit has stride 2)",
                                 r->path, r->prefix);
            d->stage_repeats[stage]++;
            continue;
        }
        int out = DIM(r, 4, 0, "features.%d.branch_main.5.weight", k);
        if (out < 0) return SCL_ERROR_WEIGHTS;
        if (++stage >= SCL_MODEL_STAGES)
            return scl__fail(r->ctx, SCL_ERROR_WEIGHTS,
                             "%s: unit features.%d is a %d-th stride-2 unit "
                             "(it has a branch_proj); ShuffleNet V2 has %d stages",
                             r->path, k, stage + 1, SCL_MODEL_STAGES);
        cin = d->stage_widths[stage] = cin + out;
        d->stage_repeats[stage] = 1;
    }
    if (stage != SCL_MODEL_STAGES - 1)
        return scl__fail(r->ctx, SCL_ERROR_WEIGHTS,
                         "%s: Megvii V2 layout with %d stage(s) (units with a "
                         "branch_proj); ShuffleNet V2 has %d",
                         r->path, stage + 1, SCL_MODEL_STAGES);
    if ((d->last_width = DIM(r, 4, 0, "conv_last.0.weight")) < 0) return SCL_ERROR_WEIGHTS;
    if ((d->classes = DIM(r, 2, 0, "classifier.0.weight")) < 0) return SCL_ERROR_WEIGHTS;
    return SCL_OK;
}

static const char expected_text[] = "expected torchvision ShuffleNetV2 keys (conv1.0.weight, "
                                    "stage2.0.branch1.0.weight, ..., conv5.0.weight, "
                                    "fc.weight), Megvii ShuffleNetV1 keys (first_conv.0.weight, "
                                    "features.0.branch_main_1.0.weight, ..., "
                                    "classifier.0.weight) or Megvii ShuffleNetV2 keys "
                                    "(first_conv.0.weight, features.0.branch_main.0.weight, "
                                    "features.0.branch_proj.0.weight, ..., conv_last.0.weight, "
                                    "classifier.0.weight), with or without "
                                    "'module.'";

/* No layout's stem is there: name the first tensor no layout has. */
static scl_status unknown_layout(const reader *r) {
    static const char *const roots[] = {
        "conv1.0.",      "conv1.1.",  "stage2.",      "stage3.",      "stage4.",
        "conv5.0.",      "conv5.1.",  "fc.weight",    "fc.bias",      "first_conv.0.",
        "first_conv.1.", "features.", "conv_last.0.", "conv_last.1.", "classifier.0."};
    int n = scl__safetensors_count(r->st);
    for (int i = 0; i < n; i++) {
        const scl__st_tensor *t = scl__safetensors_at(r->st, i);
        const char *name = strncmp(t->name, "module.", 7) == 0 ? t->name + 7 : t->name;
        int known = 0;
        for (size_t k = 0; k < SCL_ARRAY_LEN(roots) && !known; k++)
            known = strncmp(name, roots[k], strlen(roots[k])) == 0;
        if (!known) {
            char shape[96];
            shape_text(t, shape, sizeof shape);
            return scl__fail(r->ctx, SCL_ERROR_UNSUPPORTED_MODEL,
                             "%s: not a ShuffleNet state_dict in a known layout: "
                             "%s; found '%s' of shape %s (tensor %d of %d)",
                             r->path, expected_text, t->name, shape, i + 1, n);
        }
    }
    return scl__fail(
        r->ctx, SCL_ERROR_UNSUPPORTED_MODEL,
        "%s: not a ShuffleNet state_dict in a known layout: %s; "
        "found %d tensor(s) but neither 'conv1.0.weight' nor 'first_conv.0.weight' with "
        "'features.0.branch_main_1.0.weight' or 'features.0.branch_main.0.weight'",
        r->path, expected_text, n);
}

/* The description of an open file's state_dict, checked. */
static scl_status infer_desc(scl_context *ctx, const scl__safetensors *st, scl_model_desc *d) {
    reader r = {ctx, st, scl__safetensors_path(st), ""};
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    for (int p = 0; p < 2 && !d->layout; p++) {
        r.prefix = p ? "module." : "";
        if (get(&r, "conv1.0.weight"))
            d->layout = SCL_LAYOUT_TORCHVISION_V2;
        else if (get(&r, "first_conv.0.weight") && get(&r, "features.0.branch_main_1.0.weight"))
            d->layout = SCL_LAYOUT_MEGVII_V1;
        else if (get(&r, "first_conv.0.weight") && get(&r, "features.0.branch_main.0.weight"))
            d->layout = SCL_LAYOUT_MEGVII_V2;
    }
    if (!d->layout) return unknown_layout(&r);
    d->family = d->layout == SCL_LAYOUT_MEGVII_V1 ? SCL_FAMILY_V1 : SCL_FAMILY_V2;
    d->preprocess =
        d->layout == SCL_LAYOUT_TORCHVISION_V2 ? SCL_PREPROCESS_TORCHVISION : SCL_PREPROCESS_MEGVII;
    scl_status s = d->layout == SCL_LAYOUT_TORCHVISION_V2 ? infer_tv_v2(&r, d)
                   : d->layout == SCL_LAYOUT_MEGVII_V1    ? infer_megvii_v1(&r, d)
                                                          : infer_megvii_v2(&r, d);
    if (s != SCL_OK) return s;
    char msg[512];
    if ((s = scl__desc_check(d, msg, sizeof msg)) != SCL_OK)
        return scl__fail(ctx, SCL_ERROR_WEIGHTS,
                         "%s: the %s architecture its tensors describe is not valid: %s", r.path,
                         scl__layout_name(d->layout), msg);
    return SCL_OK;
}

/* A protobuf ModelProto's first field: ir_version (field 1, a small varint) or another of its
 * low-numbered fields (producer_name, graph, opset_import, ...: length-delimited). */
static int looks_like_onnx(const unsigned char *b, size_t n) {
    if (n >= 2 && b[0] == 0x08 && b[1] >= 1 && b[1] <= 64) return 1;
    return n >= 2 && (b[0] & 7) == 2 && (b[0] >> 3) >= 2 && (b[0] >> 3) <= 8;
}

int scl__onnx_sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char b[16] = {0};
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    return !(n >= 9 && b[8] == '{') && looks_like_onnx(b, n);
}

/* Opens a weights file after telling its format by content: SCL_OK with a safetensors file
 * open, SCL__IS_ONNX for an ONNX model (onnx_import.c reads it), or the failure. */
#define SCL__IS_ONNX ((scl_status)1000)
static scl_status open_weights(scl_context *ctx, const char *path, scl__safetensors **out,
                               const char *fn) {
    *out = NULL;
    if (!path) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL path", fn);
    FILE *f = fopen(path, "rb");
    if (!f) return scl__fail(ctx, SCL_ERROR_FILE_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char b[16] = {0};
    size_t n = fread(b, 1, sizeof b, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) return scl__fail(ctx, SCL_ERROR_FILE_IO, "%s: cannot read", path);
    if (n >= 9 && b[8] == '{') {
        char msg[1024];
        scl_status st = scl__safetensors_open(path, out, msg, sizeof msg);
        return st == SCL_OK ? SCL_OK : scl__fail(ctx, st, "%s", msg);
    }
    if (looks_like_onnx(b, n)) return SCL__IS_ONNX;
    return scl__fail(ctx, SCL_ERROR_FILE_FORMAT,
                     "%s: neither a safetensors file (an 8-byte header length, then "
                     "'{') nor an ONNX model (a protobuf ModelProto)",
                     path);
}

scl_status scl_model_desc_from_file(scl_context *ctx, const char *path, scl_model_desc *out) {
    if (!out || out->size < SCL__DESC_MIN_SIZE)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_model_desc_from_file: %s",
                         out ? "out->size is smaller than any scl_model_desc" : "NULL output");
    scl__safetensors *st;
    scl_status s = open_weights(ctx, path, &st, "scl_model_desc_from_file");
    scl_model_desc d;
    if (s == SCL__IS_ONNX) {
        s = scl__onnx_desc(ctx, path, &d);
        if (s == SCL_OK) scl__desc_out(&d, out);
        return s;
    }
    if (s == SCL_OK) s = infer_desc(ctx, st, &d);
    if (s == SCL_OK) scl__desc_out(&d, out);
    scl__safetensors_close(st);
    return s;
}

scl_status scl_network_create_from_file_ex(scl_context *ctx, const char *path,
                                           const scl_network_options *opts, scl_network **out) {
    if (!ctx || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_create_from_file: NULL argument");
    *out = NULL;
    scl__safetensors *st;
    scl_status s = open_weights(ctx, path, &st, "scl_network_create_from_file");
    if (s == SCL__IS_ONNX) return scl__onnx_network(ctx, path, opts, out);
    scl_model_desc d;
    scl_network *net = NULL;
    if (s == SCL_OK) s = infer_desc(ctx, st, &d);
    if (s == SCL_OK) s = scl__network_create(ctx, &d, opts, &net, "scl_network_create_from_file");
    if (s == SCL_OK) s = scl__network_load_file(net, st);
    scl__safetensors_close(st);
    if (s != SCL_OK) {
        scl_network_destroy(net);
        return s;
    }
    *out = net;
    return SCL_OK;
}

scl_status scl_network_create_from_file(scl_context *ctx, const char *path, scl_network **out) {
    return scl_network_create_from_file_ex(ctx, path, NULL, out);
}
