/* unit_fit.h: which presets may run some units layer by layer on a device with little local
 * memory, for the tests that count launches (test_model, fault/launch_count). Header only: the
 * fault test links no test utilities. */
#ifndef SCL_TEST_UNIT_FIT_H
#define SCL_TEST_UNIT_FIT_H

#include <stdint.h>
#include <string.h>

/* 1 where a unit of preset `model` may not fit `lmem` bytes of local memory: V1 g8 at 1.5x and
 * 2x, whose widest units (7x7 ones of 2304 and 3072 channels, 2x's 14x14 ones of 1536) need over
 * 512 KiB for a band of one output row (PoCL offers 512 KiB on Zen 3, whose L2 that is). Every
 * other preset fits and must fuse every unit. */
static inline int tu_unit_may_fall_back(const char *model, uint64_t lmem) {
    return lmem < 1024 * 1024 &&
           (strcmp(model, "v1_g8_x1_5") == 0 || strcmp(model, "v1_g8_x2_0") == 0);
}

#endif
