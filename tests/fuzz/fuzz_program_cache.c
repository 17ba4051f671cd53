/* fuzz_program_cache.c: libFuzzer target for the program-cache file parser (host/core/program.c,
 * scl__cache_parse). Input: a mode byte, then the file. Mode bit 0 writes the expected key into
 * the header, bit 1 also sets the length field to what the file holds, bit 2 also writes a true
 * checksum: the fuzzer cannot forge a SHA-256, so without these it would never pass the checks. */
#include "core/internal.h"
#include "fuzz_common.h"

#define HEADER 56 /* magic 8, format 4, reserved 4, key 32, length 8 */

static const unsigned char key[32] = "shufflecl fuzz key, 32 bytes...";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    size_t n = size - 1;
    unsigned char *buf = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
    FUZZ_CHECK(buf, "out of memory");
    memcpy(buf, data + 1, n);
    if ((mode & 1) && n >= HEADER) memcpy(buf + 16, key, 32);
    if ((mode & 2) && n >= HEADER + 32) {
        uint64_t len = n - HEADER - 32;
        memcpy(buf + 48, &len, 8);
    }
    if ((mode & 4) && n >= HEADER + 32) {
        scl__sha256 s;
        scl__sha256_init(&s);
        scl__sha256_update(&s, buf + HEADER, n - HEADER - 32);
        scl__sha256_final(&s, buf + n - 32);
    }
    size_t off = 12345;
    size_t len = scl__cache_parse(buf, n, key, &off);
    if (len == 0) {
        FUZZ_CHECK(off == 12345, "offset set on a rejected file");
    } else {
        FUZZ_CHECK(off == HEADER && len == n - HEADER - 32, "binary [%zu, +%zu) in %zu bytes", off,
                   len, n);
        FUZZ_CHECK(memcmp(buf, "SCLPROG", 8) == 0 && memcmp(buf + 16, key, 32) == 0,
                   "magic or key");
    }
    free(buf);
    return 0;
}
