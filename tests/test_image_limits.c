/* test_image_limits.c: Check tests of host/cli/image.c's limits: the pixel budget (decompression
 * bombs refused from their headers before any pixel memory exists, the budget raised or lowered
 * by the caller) and JPEGs whose data ends early counted as truncated. */
#include "testutil_image.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define TI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TI_ASAN 1
#endif
#endif

/* A bomb's honest decode needs 10.8 GB. Capping the address space at 2 GiB makes "refused
 * before allocating" deterministic: a decoder that allocates first fails with out-of-memory
 * (not the budget's message) instead of swapping a CI machine. ASan reserves terabytes of
 * address space, so under it the cap is left off. */
static void cap_memory(void) {
#ifndef TI_ASAN
    struct rlimit r = {(rlim_t)2 << 30, (rlim_t)2 << 30};
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &r), 0);
#endif
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Appends a PNG chunk with its CRC. */
static size_t png_chunk(unsigned char *dst, const char *type, const unsigned char *body,
                        uint32_t len) {
    put_be32(dst, len);
    memcpy(dst + 4, type, 4);
    if (len) memcpy(dst + 8, body, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, dst + 4, 4 + len);
    put_be32(dst + 8 + len, (uint32_t)crc);
    return 12 + (size_t)len;
}

/* A PNG whose IHDR says w x h RGB and whose IDAT holds one zero row, compressed: under a
 * kilobyte for any size. */
static size_t png_bomb(unsigned char *out, size_t cap, uint32_t w, uint32_t h) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0};
    put_be32(ihdr, w), put_be32(ihdr + 4, h);
    ihdr[8] = 8, ihdr[9] = 2; /* 8-bit RGB, deflate, no filter method, no interlace */
    size_t raw_len = 1 + (size_t)w * 3;
    unsigned char *raw = calloc(raw_len, 1);
    ck_assert_ptr_nonnull(raw);
    uLongf zlen = compressBound((uLong)raw_len);
    unsigned char *z = malloc(zlen);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(compress2(z, &zlen, raw, (uLong)raw_len, 9), Z_OK);
    ck_assert_uint_le(8 + 25 + 12 + zlen + 12, cap);
    size_t n = 0;
    memcpy(out, sig, 8), n = 8;
    n += png_chunk(out + n, "IHDR", ihdr, 13);
    n += png_chunk(out + n, "IDAT", z, (uint32_t)zlen);
    n += png_chunk(out + n, "IEND", NULL, 0);
    free(raw), free(z);
    return n;
}

/* The offset of the first marker FF xx with lo <= xx <= hi after SOI, walking segments; 0 if none.
 */
static size_t jpeg_find(const membuf *m, unsigned char lo, unsigned char hi) {
    size_t pos = 2;
    while (pos + 4 <= m->len && m->p[pos] == 0xff) {
        unsigned char t = m->p[pos + 1];
        if (t >= lo && t <= hi) return pos;
        pos += 2 + (((size_t)m->p[pos + 2] << 8) | m->p[pos + 3]);
    }
    return 0;
}

static void small_jpeg(int w, int h, membuf *m, unsigned char **px) {
    *px = ti_gradient_rgb(w, h);
    jpeg_spec s = {w, h, 3, 75, 0, JCS_RGB, JCS_YCbCr, *px};
    ti_jpeg_encode(&s, m);
}

/* The finding: a PNG header of 60000 x 60000 got a 10.8 GB malloc before any row was read. */
START_TEST(test_png_bomb) {
    cap_memory();
    unsigned char file[4096];
    size_t n = png_bomb(file, sizeof file, 60000, 60000);
    ck_assert_uint_lt(n, 1024);
    ti_load_fails("bomb.png", file, n, SCL_ERROR_FILE_FORMAT, "over the pixel budget of 67108864");
    ti_load_fails("bomb.png", file, n, SCL_ERROR_FILE_FORMAT, "60000x60000");
    /* a header just over the budget, too (8193 x 8192 > 64 Mpixel) */
    n = png_bomb(file, sizeof file, 8193, 8192);
    ti_load_fails("over.png", file, n, SCL_ERROR_FILE_FORMAT, "pixel budget");
}
END_TEST

/* The finding: an 820-byte JPEG claiming 60000 x 60000 was decoded in full (33 s, 10.7 GB). */
START_TEST(test_jpeg_bomb) {
    cap_memory();
    membuf m;
    unsigned char *px;
    small_jpeg(16, 16, &m, &px);
    size_t sof = jpeg_find(&m, 0xc0, 0xc2);
    ck_assert_uint_gt(sof, 0);
    m.p[sof + 5] = 60000 >> 8, m.p[sof + 6] = 60000 & 0xff; /* height */
    m.p[sof + 7] = 60000 >> 8, m.p[sof + 8] = 60000 & 0xff; /* width */
    ck_assert_uint_lt(m.len, 1024);
    ti_load_fails("bomb.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT,
                  "over the pixel budget of 67108864");
    ti_load_fails("bomb.jpg", m.p, m.len, SCL_ERROR_FILE_FORMAT, "60000x60000");
    free(m.p);
    free(px);
}
END_TEST

START_TEST(test_pnm_bomb) {
    cap_memory();
    static const char hdr[] = "P6\n60000 60000\n255\n";
    ti_load_fails("bomb.ppm", hdr, sizeof hdr - 1, SCL_ERROR_FILE_FORMAT, "pixel budget");
}
END_TEST

/* Loads name with budget; expects success (want_ok) or the budget's refusal naming the budget. */
static void load_with_budget(const char *name, const void *data, size_t len, uint64_t budget,
                             int want_ok) {
    const char *path = ti_tmp_path(name);
    ti_write_bytes(path, data, len);
    char msg[512], want[64];
    scl_image img;
    scl_status st = scl_image_load_limited(path, budget, &img, msg, sizeof msg);
    unlink(path);
    if (want_ok) {
        ck_assert_msg(st == SCL_OK, "%s with budget %llu: %s", name, (unsigned long long)budget,
                      msg);
        scl_image_free(&img);
        return;
    }
    snprintf(want, sizeof want, "pixel budget of %llu", (unsigned long long)budget);
    ck_assert_msg(st == SCL_ERROR_FILE_FORMAT && strstr(msg, want) &&
                      strncmp(msg, path, strlen(path)) == 0,
                  "%s with budget %llu: %d %s", name, (unsigned long long)budget, (int)st, msg);
    ck_assert_ptr_null(img.rgb);
}

/* The budget is the caller's: exactly w * h passes, one pixel less refuses, for every format. */
START_TEST(test_budget_is_adjustable) {
    enum { W = 300, H = 200 };
    unsigned char *px = ti_gradient_rgb(W, H);
    membuf jpg;
    jpeg_spec s = {W, H, 3, 90, 0, JCS_RGB, JCS_YCbCr, px};
    ti_jpeg_encode(&s, &jpg);
    unsigned char *rows = malloc((size_t)W * H * 3);
    ck_assert_ptr_nonnull(rows);
    memcpy(rows, px, (size_t)W * H * 3);
    png_spec ps = {W, H, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, rows, NULL, 0, NULL, 0, NULL};
    membuf png;
    ti_png_encode(&ps, &png);
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "P6\n%d %d\n255\n", W, H);
    size_t ppm_len = (size_t)hl + (size_t)W * H * 3;
    unsigned char *ppm = malloc(ppm_len);
    ck_assert_ptr_nonnull(ppm);
    memcpy(ppm, hdr, (size_t)hl), memcpy(ppm + hl, px, (size_t)W * H * 3);

    load_with_budget("b.jpg", jpg.p, jpg.len, W * H, 1);
    load_with_budget("b.jpg", jpg.p, jpg.len, W * H - 1, 0);
    load_with_budget("b.png", png.p, png.len, W * H, 1);
    load_with_budget("b.png", png.p, png.len, W * H - 1, 0);
    load_with_budget("b.ppm", ppm, ppm_len, W * H, 1);
    load_with_budget("b.ppm", ppm, ppm_len, W * H - 1, 0);
    /* 0 is the default, and the default loads it */
    load_with_budget("b.jpg", jpg.p, jpg.len, 0, 1);
    free(jpg.p), free(png.p), free(ppm), free(rows), free(px);
}
END_TEST

/* The finding: a JPEG whose entropy data stops early but which is closed by an EOI marker gave
 * only libjpeg's JWRN_HIT_MARKER warning and was decoded padded with gray. */
START_TEST(test_jpeg_truncated) {
    enum { W = 64, H = 48 };
    membuf m;
    unsigned char *px;
    small_jpeg(W, H, &m, &px);
    size_t sos = jpeg_find(&m, 0xda, 0xda);
    ck_assert_uint_gt(sos, 0);
    size_t data = sos + 2 + (((size_t)m.p[sos + 2] << 8) | m.p[sos + 3]);
    ck_assert_uint_lt(data + 64, m.len);
    /* cut half the scan data and close the file properly */
    size_t keep = data + (m.len - 2 - data) / 2;
    unsigned char *cut = malloc(keep + 2);
    ck_assert_ptr_nonnull(cut);
    memcpy(cut, m.p, keep);
    if (cut[keep - 1] == 0xff) keep--; /* do not leave a stuffed 0xFF dangling */
    cut[keep] = 0xff, cut[keep + 1] = 0xd9;
    ti_load_fails("cut_eoi.jpg", cut, keep + 2, SCL_ERROR_FILE_FORMAT, "truncated JPEG");
    /* cut without an EOI: the end of the file itself */
    ti_load_fails("cut.jpg", m.p, data + (m.len - data) / 2, SCL_ERROR_FILE_FORMAT,
                  "truncated JPEG");
    /* the whole file still loads */
    scl_image img;
    ti_load_ok("whole.jpg", m.p, m.len, &img);
    ck_assert_int_eq(img.width, W);
    scl_image_free(&img);
    free(cut), free(m.p), free(px);
}
END_TEST

int main(void) {
    Suite *s = suite_create("image_limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60); /* generous for valgrind; a bomb decoded in full takes longer */
    tcase_add_test(tc, test_png_bomb);
    tcase_add_test(tc, test_jpeg_bomb);
    tcase_add_test(tc, test_pnm_bomb);
    tcase_add_test(tc, test_budget_is_adjustable);
    tcase_add_test(tc, test_jpeg_truncated);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
