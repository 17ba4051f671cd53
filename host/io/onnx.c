/* onnx.c: ONNX files read whole (bounded, never blocking on a FIFO), parsed by protobuf-c, and
 * their tensors decoded with every count, size and value checked before use. */
#include "io/onnx.h"
#include "core/internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(char *msg, size_t cap, const char *fmt, ...) {
    if (!msg || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

static scl_status read_all(const char *path, unsigned char **out, size_t *size, char *msg,
                           size_t cap) {
    char why[256] = "";
    int64_t bytes = 0;
    FILE *f = scl__open_regular_read(path, SCL__ONNX_MAX_BYTES, &bytes, why, sizeof why);
    if (!f) {
        say(msg, cap, "%s: cannot open: %s", path, why[0] ? why : strerror(errno));
        return why[0] ? SCL_ERROR_FILE_FORMAT : SCL_ERROR_FILE_IO;
    }
    unsigned char *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (!buf) {
        fclose(f);
        say(msg, cap, "%s: out of host memory for %lld bytes", path, (long long)bytes);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    size_t got = fread(buf, 1, (size_t)bytes, f);
    int bad = ferror(f) || got != (size_t)bytes;
    fclose(f);
    if (bad) {
        free(buf);
        say(msg, cap, "%s: cannot read (the file changed while it was read?)", path);
        return SCL_ERROR_FILE_IO;
    }
    *out = buf, *size = got;
    return SCL_OK;
}

int64_t scl__onnx_opset(const scl__onnx *m) {
    for (size_t i = 0; i < m->model->n_opset_import; i++) {
        const SclOnnx__OperatorSetIdProto *o = m->model->opset_import[i];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
            return o->has_version ? o->version : 0;
    }
    return 0;
}

scl_status scl__onnx_open(const char *path, scl__onnx **out, char *msg, size_t cap) {
    *out = NULL;
    unsigned char *buf = NULL;
    size_t n = 0;
    scl_status st = read_all(path, &buf, &n, msg, cap);
    if (st != SCL_OK) return st;
    /* protobuf-c refuses truncated and malformed input (NULL); it allocates at most a small
     * multiple of the input's size, which is bounded above */
    SclOnnx__ModelProto *model = scl_onnx__model_proto__unpack(NULL, n, buf);
    free(buf);
    if (!model) {
        say(msg, cap, "%s: not a valid ONNX model (the protobuf is truncated or malformed)", path);
        return SCL_ERROR_FILE_FORMAT;
    }
    scl__onnx *m = calloc(1, sizeof *m);
    char *copy = m ? malloc(strlen(path) + 1) : NULL;
    if (!m || !copy) {
        free(m);
        scl_onnx__model_proto__free_unpacked(model, NULL);
        say(msg, cap, "%s: out of host memory", path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    m->path = strcpy(copy, path);
    m->model = model;
    int64_t opset = scl__onnx_opset(m);
    if (!model->graph)
        say(msg, cap, "%s: an ONNX model without a graph", path), st = SCL_ERROR_FILE_FORMAT;
    else if (!model->has_ir_version || model->ir_version < 3)
        say(msg, cap, "%s: ONNX IR version %lld is not supported (3 or later)", path,
            (long long)model->ir_version),
            st = SCL_ERROR_FILE_FORMAT;
    else if (opset < 7 || opset > 21)
        say(msg, cap, "%s: ONNX opset %lld of the default domain is not supported (7 .. 21)", path,
            (long long)opset),
            st = SCL_ERROR_UNSUPPORTED;
    if (st != SCL_OK) {
        scl__onnx_close(m);
        return st;
    }
    *out = m;
    return SCL_OK;
}

void scl__onnx_close(scl__onnx *m) {
    if (!m) return;
    if (m->model) scl_onnx__model_proto__free_unpacked(m->model, NULL);
    free(m->path);
    free(m);
}

const char *scl__onnx_metadata(const scl__onnx *m, const char *key) {
    for (size_t i = 0; i < m->model->n_metadata_props; i++) {
        const SclOnnx__StringStringEntryProto *e = m->model->metadata_props[i];
        if (e->key && e->value && !strcmp(e->key, key)) return e->value;
    }
    return NULL;
}

int64_t scl__onnx_tensor_count(const SclOnnx__TensorProto *t) {
    if (t->n_dims > 8) return -1;
    int64_t count = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > SCL__ONNX_MAX_ELEMENTS) return -1;
        count *= t->dims[i];
        if (count > SCL__ONNX_MAX_ELEMENTS) return -1;
    }
    return count;
}

static const char *tname(const SclOnnx__TensorProto *t) {
    return t->name && t->name[0] ? t->name : "(unnamed)";
}

/* External data, a count that does not fit, or a count other than the caller's. */
static scl_status check_tensor(const scl__onnx *m, const SclOnnx__TensorProto *t, size_t want,
                               int exact, char *msg, size_t cap) {
    if ((t->has_data_location && t->data_location == 1) || t->n_external_data) {
        say(msg, cap,
            "%s: tensor '%s' keeps its data in an external file, which is not supported (save "
            "the model with its weights inside: onnx.save(model, path, "
            "save_as_external_data=False))",
            m->path, tname(t));
        return SCL_ERROR_UNSUPPORTED;
    }
    int64_t count = scl__onnx_tensor_count(t);
    if (count < 0 || (exact && (size_t)count != want) || (!exact && (size_t)count > want)) {
        say(msg, cap, "%s: tensor '%s' has %lld elements, expected %s%zu", m->path, tname(t),
            (long long)count, exact ? "" : "at most ", want);
        return SCL_ERROR_FILE_FORMAT;
    }
    return SCL_OK;
}

static uint64_t le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Element i of the tensor as a double, from raw_data (little-endian) or the typed field; the
 * caller checked that it exists. */
static double f_elem(const SclOnnx__TensorProto *t, size_t i) {
    if (t->has_raw_data) {
        if (t->data_type == 1) {
            uint32_t b = (uint32_t)le(t->raw_data.data + 4 * i, 4);
            float f;
            memcpy(&f, &b, 4);
            return f;
        }
        uint64_t b = le(t->raw_data.data + 8 * i, 8);
        double d;
        memcpy(&d, &b, 8);
        return d;
    }
    return t->data_type == 1 ? t->float_data[i] : t->double_data[i];
}

scl_status scl__onnx_tensor_f32(const scl__onnx *m, const SclOnnx__TensorProto *t, float *dst,
                                size_t n, char *msg, size_t cap) {
    scl_status st = check_tensor(m, t, n, 1, msg, cap);
    if (st != SCL_OK) return st;
    if (t->data_type != 1 && t->data_type != 11) {
        say(msg, cap, "%s: tensor '%s' has ONNX data type %d; weights must be float or double",
            m->path, tname(t), t->data_type);
        return SCL_ERROR_UNSUPPORTED;
    }
    size_t elem = t->data_type == 1 ? 4 : 8;
    size_t have = t->has_raw_data     ? t->raw_data.len / elem
                  : t->data_type == 1 ? t->n_float_data
                                      : t->n_double_data;
    if (have != n || (t->has_raw_data && t->raw_data.len % elem)) {
        say(msg, cap, "%s: tensor '%s' holds %zu values, its dims say %zu", m->path, tname(t), have,
            n);
        return SCL_ERROR_FILE_FORMAT;
    }
    for (size_t i = 0; i < n; i++) {
        double v = f_elem(t, i);
        if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
            say(msg, cap, "%s: tensor '%s' holds %g at index %zu (not a finite float)", m->path,
                tname(t), v, i);
            return SCL_ERROR_WEIGHTS;
        }
        dst[i] = (float)v;
    }
    return SCL_OK;
}

scl_status scl__onnx_tensor_i64(const scl__onnx *m, const SclOnnx__TensorProto *t, int64_t *dst,
                                size_t cap_n, size_t *n, char *msg, size_t cap) {
    scl_status st = check_tensor(m, t, cap_n, 0, msg, cap);
    if (st != SCL_OK) return st;
    if (t->data_type != 7 && t->data_type != 6) {
        say(msg, cap, "%s: tensor '%s' has ONNX data type %d where integers were expected", m->path,
            tname(t), t->data_type);
        return SCL_ERROR_UNSUPPORTED;
    }
    size_t count = (size_t)scl__onnx_tensor_count(t), elem = t->data_type == 7 ? 8 : 4;
    size_t have = t->has_raw_data     ? t->raw_data.len / elem
                  : t->data_type == 7 ? t->n_int64_data
                                      : t->n_int32_data;
    if (have != count || (t->has_raw_data && t->raw_data.len % elem)) {
        say(msg, cap, "%s: tensor '%s' holds %zu values, its dims say %zu", m->path, tname(t), have,
            count);
        return SCL_ERROR_FILE_FORMAT;
    }
    for (size_t i = 0; i < count; i++) {
        if (t->has_raw_data)
            dst[i] = elem == 8 ? (int64_t)le(t->raw_data.data + 8 * i, 8)
                               : (int64_t)(int32_t)(uint32_t)le(t->raw_data.data + 4 * i, 4);
        else
            dst[i] = elem == 8 ? t->int64_data[i] : t->int32_data[i];
    }
    *n = count;
    return SCL_OK;
}
