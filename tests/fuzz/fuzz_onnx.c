/* fuzz_onnx.c: libFuzzer target for ONNX import without a device: the protobuf reader
 * (host/io/onnx.c), every initializer decoded, and the graph's evaluation, architecture and
 * proof (host/net/onnx_*.c) through scl_model_desc_from_file. */
#include "fuzz_common.h"
#include "io/onnx.h"

static void decode_all(const scl__onnx *m) {
    const SclOnnx__GraphProto *g = m->model->graph;
    for (size_t i = 0; i < g->n_initializer && i < 64; i++) {
        int64_t n = scl__onnx_tensor_count(g->initializer[i]);
        if (n < 0 || n > 4096) continue;
        float *f = malloc((size_t)(n + 1) * sizeof *f);
        int64_t *k = malloc((size_t)(n + 1) * sizeof *k);
        FUZZ_CHECK(f && k, "out of memory");
        char msg[1024] = "";
        size_t got = 0;
        if (scl__onnx_tensor_f32(m, g->initializer[i], f, (size_t)n, msg, sizeof msg) != SCL_OK)
            FUZZ_NAMES_FILE(msg, m->path);
        if (scl__onnx_tensor_i64(m, g->initializer[i], k, (size_t)n, &got, msg, sizeof msg) ==
            SCL_OK)
            FUZZ_CHECK(got == (size_t)n, "decoded %zu of %lld", got, (long long)n);
        else
            FUZZ_NAMES_FILE(msg, m->path);
        free(f), free(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    char msg[2048] = "";
    scl__onnx *m = NULL;
    if (scl__onnx_open(path, &m, msg, sizeof msg) != SCL_OK) {
        FUZZ_CHECK(m == NULL, "*out not NULL on failure");
        FUZZ_NAMES_FILE(msg, path);
    } else {
        decode_all(m);
        scl__onnx_close(m);
    }
    scl_model_desc d = {.size = sizeof d};
    if (scl_model_desc_from_file(NULL, path, &d) != SCL_OK)
        FUZZ_NAMES_FILE(scl_last_error(NULL), path);
    return 0;
}
