/* test_image_preprocess.c: Check tests of host/cli/image.c's resize / centre crop / normalise
 * step, against PIL + torchvision's arithmetic. */
#include "testutil_image.h"

#include <math.h>
#include <string.h>

/* ---- preprocessing ------------------------------------------------------------------------- */

static const float k_mean[3] = {0.485f, 0.456f, 0.406f};
static const float k_std[3] = {0.229f, 0.224f, 0.225f};

static float normalised(int c, int v) {
    return ((float)v / 255.0f - k_mean[c]) / k_std[c];
}

static scl_image make_image(int w, int h) {
    scl_image img = {w, h, malloc((size_t)w * (size_t)h * 3)};
    ck_assert_ptr_nonnull(img.rgb);
    return img;
}

START_TEST(test_preprocess_constant) {
    /* Downscaled, upscaled and same-size short sides: a flat colour stays exactly flat. */
    static const int sizes[][2] = {{300, 200}, {50, 80}, {256, 256}, {640, 256}};
    static const unsigned char rgb[3] = {200, 100, 37};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        scl_image img = make_image(sizes[s][0], sizes[s][1]);
        for (size_t i = 0; i < (size_t)img.width * img.height; i++)
            memcpy(img.rgb + 3 * i, rgb, 3);
        char msg[256];
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_TORCHVISION, out, msg, sizeof msg),
            SCL_OK);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < C * C; i++)
                EXPECT(out[c * C * C + i] == normalised(c, rgb[c]),
                       "torchvision %dx%d c%d i%d: %.9g != %.9g", img.width, img.height, c, i,
                       out[c * C * C + i], normalised(c, rgb[c]));
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, msg, sizeof msg),
            SCL_OK);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < C * C; i++)
                EXPECT(out[c * C * C + i] == (float)rgb[2 - c], "megvii c%d i%d: %g", c, i,
                       out[c * C * C + i]); /* BGR */
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

/* Fills the left `split` columns (or top rows) red and the rest blue. */
static scl_image make_split(int w, int h, int split, int vertical_edge) {
    scl_image img = make_image(w, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int red = vertical_edge ? x < split : y < split;
            unsigned char *p = img.rgb + ((size_t)y * w + x) * 3;
            p[0] = red ? 255 : 0;
            p[1] = 0;
            p[2] = red ? 0 : 255;
        }
    }
    return img;
}

START_TEST(test_preprocess_geometry) {
    /* 512x300 -> 436x256 (int(256 * 512 / 300)), crop left = round(212 / 2) = 106. The edge at
     * input column 256 lands at resized column 218, crop column 112; the antialiasing filter of
     * this 1.17x downscale blurs about 2 columns either side. */
    enum { C = 224, BAND = 3 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (int vertical_edge = 1; vertical_edge >= 0; vertical_edge--) {
        scl_image img = vertical_edge ? make_split(512, 300, 256, 1) : make_split(300, 512, 256, 0);
        ck_assert_int_eq(scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                         SCL_OK);
        for (int y = 0; y < C; y++) {
            for (int x = 0; x < C; x++) {
                int along = vertical_edge ? x : y; /* the coordinate across the edge */
                float b = out[0 * C * C + y * C + x], g = out[1 * C * C + y * C + x],
                      r = out[2 * C * C + y * C + x];
                EXPECT(g == 0.0f, "green at %d,%d", x, y);
                if (along < 112 - BAND)
                    EXPECT(r == 255.0f && b == 0.0f, "not red at %d,%d: %g %g", x, y, r, b);
                else if (along >= 112 + BAND)
                    EXPECT(r == 0.0f && b == 255.0f, "not blue at %d,%d: %g %g", x, y, r, b);
                else
                    EXPECT(r + b >= 254.0f && r + b <= 256.0f, "band at %d: %g + %g", along, r, b);
            }
        }
        /* The blur band is there, centred on the edge. */
        int mid = vertical_edge ? 100 * C + 112 : 112 * C + 100;
        EXPECT(out[2 * C * C + mid - (vertical_edge ? 1 : C)] > 128.0f, "red fades too early");
        EXPECT(out[2 * C * C + mid] < 128.0f, "red fades too late");
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

START_TEST(test_preprocess_crop_offset) {
    /* No resize (short side already 256); crop offsets follow Python's round half to even:
     * (257 - 224) / 2 = 16.5 -> 16, (259 - 224) / 2 = 17.5 -> 18, (256 - 224) / 2 = 16. */
    static const int widths[2] = {257, 259}, first[2] = {16, 18};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (int k = 0; k < 2; k++) {
        scl_image img = make_image(widths[k], 256);
        for (int y = 0; y < img.height; y++) {
            for (int x = 0; x < img.width; x++) {
                unsigned char *p = img.rgb + ((size_t)y * img.width + x) * 3;
                p[0] = (unsigned char)x; /* below 256 in every column the crop keeps */
                p[1] = (unsigned char)y;
                p[2] = 9;
            }
        }
        ck_assert_int_eq(scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                         SCL_OK);
        for (int y = 0; y < C; y++) {
            for (int x = 0; x < C; x++) {
                float r = out[2 * C * C + y * C + x], g = out[1 * C * C + y * C + x],
                      b = out[0 * C * C + y * C + x];
                EXPECT(r == (float)(first[k] + x) && g == (float)(16 + y) && b == 9.0f,
                       "width %d at %d,%d: %g %g %g", widths[k], x, y, r, g, b);
            }
        }
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

/* The synthetic image of the PIL comparison: horizontal and vertical ramps in red and green and
 * a `cell`-pixel checkerboard in blue, whose edges show any difference in the filter. */
static scl_image make_synthetic(int w, int h, int cell) {
    scl_image img = make_image(w, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *p = img.rgb + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(x * 255 / (w - 1));
            p[1] = (unsigned char)(y * 255 / (h - 1));
            p[2] = (unsigned char)(((x / cell + y / cell) % 2) * 255);
        }
    }
    return img;
}

START_TEST(test_preprocess_matches_pil) {
    /* Reference numbers from Debian 12's /usr/bin/python3 (PIL 9.4.0, torchvision 0.14.1):
     *   y, x = np.mgrid[0:h, 0:w]
     *   a = np.stack([x * 255 // (w - 1), y * 255 // (h - 1),
     *                 ((x // cell + y // cell) % 2) * 255], -1).astype(np.uint8)
     *   t = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
     *                  T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])(
     *           Image.fromarray(a, "RGB"))
     *   t.mean(dim=(1, 2)); t[c, y, x] for the points below.
     * 400x300 is a mild downscale, 1000x750 a strong one (the antialiasing filter is ~6 taps
     * wide), 120x90 an upscale. The implementation matches PIL exactly; the tolerance is the
     * brief's 2/255 before normalisation. */
    static const struct {
        int w, h, cell;
        float mean[3];
        float pts[7];
    } ref[] = {
        {400,
         300,
         8,
         {0.050594f, 0.187675f, 0.417665f},
         {-1.381540f, -1.580532f, 0.426493f, 2.640000f, 1.478294f, -0.022409f, -1.804444f}},
        {1000,
         750,
         4,
         {0.050518f, 0.187675f, 0.417825f},
         {-1.381540f, -1.580532f, 0.426493f, 0.775076f, 1.478294f, -0.004902f, 0.844793f}},
        {120,
         90,
         6,
         {0.051588f, 0.187675f, 0.417154f},
         {-1.398664f, -1.615546f, 0.426493f, 2.640000f, 1.495419f, -0.022409f, 2.640000f}},
    };
    static const int pts[7][3] = {{0, 0, 0},     {1, 10, 200}, {2, 112, 112}, {2, 37, 150},
                                  {0, 223, 223}, {1, 100, 5},  {2, 5, 90}};
    enum { C = 224 };
    float *out = malloc(sizeof(float) * 3 * C * C);
    ck_assert_ptr_nonnull(out);
    for (size_t r = 0; r < sizeof ref / sizeof ref[0]; r++) {
        scl_image img = make_synthetic(ref[r].w, ref[r].h, ref[r].cell);
        ck_assert_int_eq(
            scl_image_preprocess(&img, 256, C, SCL_PREPROCESS_TORCHVISION, out, NULL, 0), SCL_OK);
        for (int c = 0; c < 3; c++) {
            double sum = 0;
            for (int i = 0; i < C * C; i++)
                sum += out[c * C * C + i];
            float tol = (2.0f / 255.0f) / k_std[c];
            ck_assert_msg(fabs(sum / (C * C) - ref[r].mean[c]) < tol,
                          "%dx%d mean of channel %d: %g, PIL %g", ref[r].w, ref[r].h, c,
                          sum / (C * C), ref[r].mean[c]);
        }
        for (int p = 0; p < 7; p++) {
            int c = pts[p][0], y = pts[p][1], x = pts[p][2];
            float got = out[c * C * C + y * C + x];
            ck_assert_msg(fabsf(got - ref[r].pts[p]) < (2.0f / 255.0f) / k_std[c],
                          "%dx%d [%d,%d,%d]: %g, PIL %g", ref[r].w, ref[r].h, c, y, x, got,
                          ref[r].pts[p]);
        }
        scl_image_free(&img);
    }
    free(out);
}
END_TEST

START_TEST(test_preprocess_arguments) {
    scl_image img = make_image(8, 8);
    memset(img.rgb, 0, 8 * 8 * 3);
    float out[3 * 4 * 4];
    char msg[256];
    ck_assert_int_eq(
        scl_image_preprocess(&img, 4, 5, SCL_PREPROCESS_TORCHVISION, out, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "crop"));
    ck_assert_int_eq(scl_image_preprocess(&img, 0, 0, SCL_PREPROCESS_TORCHVISION, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(&img, 4, 4, (scl_preprocess)7, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(NULL, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_image_preprocess(&img, 4, 4, SCL_PREPROCESS_MEGVII, NULL, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    scl_image empty = {0, 0, NULL};
    ck_assert_int_eq(scl_image_preprocess(&empty, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    /* A 1x1 image is upscaled to anything; crop == resize is fine. */
    scl_image one = make_image(1, 1);
    one.rgb[0] = 1, one.rgb[1] = 2, one.rgb[2] = 3;
    ck_assert_int_eq(scl_image_preprocess(&one, 4, 4, SCL_PREPROCESS_MEGVII, out, NULL, 0), SCL_OK);
    for (int i = 0; i < 16; i++) {
        ck_assert_float_eq(out[i], 3.0f);
        ck_assert_float_eq(out[16 + i], 2.0f);
        ck_assert_float_eq(out[32 + i], 1.0f);
    }
    scl_image_free(&one);
    scl_image_free(&img);
}
END_TEST

int main(void) {
    Suite *s = suite_create("image_preprocess");
    TCase *tc = tcase_create("preprocess");
    tcase_set_timeout(tc, 60); /* generous for valgrind */
    tcase_add_test(tc, test_preprocess_constant);
    tcase_add_test(tc, test_preprocess_geometry);
    tcase_add_test(tc, test_preprocess_crop_offset);
    tcase_add_test(tc, test_preprocess_matches_pil);
    tcase_add_test(tc, test_preprocess_arguments);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
