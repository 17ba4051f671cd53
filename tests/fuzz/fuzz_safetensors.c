/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (host/io/safetensors.c):
 * opening, the tensor table, and reading every small tensor as float32. */
#include "fuzz_common.h"
#include "io/safetensors.h"

#include <math.h>

static size_t dtype_size(const char *d) {
    static const struct {
        const char *name;
        size_t size;
    } t[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
             {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, d) == 0) return t[i].size;
    return 0;
}

/* read_f32 either fills dst with finite values or fails leaving it untouched */
static void read_tensor(const scl__safetensors *st, const scl__st_tensor *t, size_t count) {
    float *dst = malloc((count + 1) * sizeof *dst), *copy = malloc((count + 1) * sizeof *copy);
    FUZZ_CHECK(dst && copy, "out of memory");
    memset(dst, 0xA5, (count + 1) * sizeof *dst);
    memcpy(copy, dst, (count + 1) * sizeof *dst);
    char msg[1024] = "";
    if (scl__safetensors_read_f32(st, t, dst, count, msg, sizeof msg) == SCL_OK) {
        for (size_t i = 0; i < count; i++)
            FUZZ_CHECK(isfinite(dst[i]), "%s[%zu] not finite", t->name, i);
        FUZZ_CHECK(memcmp(dst + count, copy + count, sizeof *dst) == 0, "wrote past %zu", count);
    } else {
        FUZZ_CHECK(msg[0] != '\0', "read_f32 failed without a message");
        FUZZ_CHECK(memcmp(dst, copy, (count + 1) * sizeof *dst) == 0, "a failed read changed dst");
    }
    /* a count that does not match is refused */
    FUZZ_CHECK(scl__safetensors_read_f32(st, t, dst, count + 1, msg, sizeof msg) != SCL_OK,
               "count %zu accepted for %zu elements", count + 1, count);
    free(dst), free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    char msg[2048] = "";
    scl__safetensors *st = (scl__safetensors *)&msg;
    if (scl__safetensors_open(path, &st, msg, sizeof msg) != SCL_OK) {
        FUZZ_CHECK(st == NULL, "*out not NULL on failure");
        FUZZ_NAMES_FILE(msg, path);
        return 0;
    }
    FUZZ_CHECK(st != NULL, "NULL on success");
    FUZZ_CHECK(strcmp(scl__safetensors_path(st), path) == 0, "path");
    int n = scl__safetensors_count(st);
    FUZZ_CHECK(n >= 0, "count %d", n);
    FUZZ_CHECK(scl__safetensors_at(st, n) == NULL && scl__safetensors_at(st, -1) == NULL,
               "at() out of range");
    for (int i = 0; i < n; i++) {
        const scl__st_tensor *t = scl__safetensors_at(st, i);
        FUZZ_CHECK(t && t->name, "tensor %d", i);
        FUZZ_CHECK(scl__safetensors_find(st, t->name) == t, "find(%s) is not at(%d)", t->name, i);
        FUZZ_CHECK(t->rank >= 0 && t->rank <= SCL_ST_MAX_RANK, "%s: rank %d", t->name, t->rank);
        for (int d = 0; d < t->rank; d++)
            FUZZ_CHECK(t->shape[d] >= 0, "%s: dim %d", t->name, d);
        size_t ds = dtype_size(t->dtype), e = scl__st_tensor_elements(t);
        FUZZ_CHECK(ds != 0, "%s: dtype %s", t->name, t->dtype);
        FUZZ_CHECK(t->begin <= t->end && t->end <= size, "%s: [%zu, %zu) of %zu bytes", t->name,
                   t->begin, t->end, size);
        FUZZ_CHECK(e <= (t->end - t->begin) / ds && e * ds == t->end - t->begin,
                   "%s: %zu elements of %zu bytes in %zu bytes", t->name, e, ds, t->end - t->begin);
        if (e <= (1u << 16)) read_tensor(st, t, e);
    }
    (void)scl__safetensors_metadata(st, "format");
    scl__safetensors_close(st);
    return 0;
}
