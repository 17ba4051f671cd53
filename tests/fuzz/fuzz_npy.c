/* fuzz_npy.c: libFuzzer target for the .npy reader (host/cli/npy.c). */
#include "cli/npy.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size);
    char msg[2048] = "";
    int rank = -7;
    int64_t shape[SCL_NPY_MAX_RANK];
    memset(shape, 0x5a, sizeof shape);
    float *x = (float *)&rank;
    scl_status st = scl__npy_read_f32(path, &rank, shape, &x, msg, sizeof msg);
    if (st != SCL_OK) {
        FUZZ_CHECK(x == NULL, "*data not NULL on failure");
        FUZZ_NAMES_FILE(msg, path);
        return 0;
    }
    FUZZ_CHECK(x != NULL, "NULL data on success");
    FUZZ_CHECK(rank >= 0 && rank <= SCL_NPY_MAX_RANK, "rank %d", rank);
    /* every element is in the file: the count cannot exceed the file's floats (a zero anywhere
     * makes it 0, whatever the other dimensions) */
    int empty = 0;
    for (int d = 0; d < SCL_NPY_MAX_RANK; d++) {
        if (d >= rank) {
            FUZZ_CHECK(shape[d] == 0, "shape[%d] = %lld past rank %d", d, (long long)shape[d],
                       rank);
            continue;
        }
        FUZZ_CHECK(shape[d] >= 0, "shape[%d] = %lld", d, (long long)shape[d]);
        empty |= shape[d] == 0;
    }
    size_t count = empty ? 0 : 1;
    for (int d = 0; d < rank && !empty; d++) {
        FUZZ_CHECK(count <= size / 4 / (size_t)shape[d], "shape too large for %zu bytes", size);
        count *= (size_t)shape[d];
    }
    FUZZ_CHECK(count <= size / 4, "%zu floats from %zu bytes", count, size);
    volatile float sink = 0; /* every element readable (ASan) */
    for (size_t i = 0; i < count; i++)
        sink += x[i];
    (void)sink;
    free(x);
    return 0;
}
