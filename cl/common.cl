// common.cl: what every kernel file shares, built ahead of each family's source (the program
// builder prepends it, so it holds no kernels): float vectors of a width given as a macro
// argument, their loads and stores, even/odd lanes, and the one-lane shifts the stencils use
// for their padding taps.
//
// Everything here is a macro expanded where it is used, never at this point of the program: a
// family's own `#ifndef` defaults come after this file, and its widths (VW, VEC, KV) are only
// known there. Width n is one of 1, 2, 4, 8, 16; at 1 the "vector" is a float and the lane
// operations reduce to what they mean for one lane, so the callers need no scalar case.
//
// Boolean build options are 0/1 everywhere and tested with `#if`, each defaulted with
// `#ifndef X` / `#define X 0` in its family file, so that -DX=0 means off in every file.

#ifndef SCL_COMMON_CL
#define SCL_COMMON_CL

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

// 1 when n is a width every macro below supports (usable in #if).
#define VALID_WIDTH(n) ((n) == 1 || (n) == 2 || (n) == 4 || (n) == 8 || (n) == 16)

// The type of n floats.
#define VTYPE(n) CAT(SCL_FLOAT_, n)
#define SCL_FLOAT_1 float
#define SCL_FLOAT_2 float2
#define SCL_FLOAT_4 float4
#define SCL_FLOAT_8 float8
#define SCL_FLOAT_16 float16

// n floats at p (any address space, no alignment beyond a float's) and their store.
#define VLOAD_N(n, p) CAT(SCL_VLOAD_, n)(p)
#define VSTORE_N(n, v, p) CAT(SCL_VSTORE_, n)(v, p)
#define SCL_VLOAD_1(p) (*(p))
#define SCL_VLOAD_2(p) vload2(0, (p))
#define SCL_VLOAD_4(p) vload4(0, (p))
#define SCL_VLOAD_8(p) vload8(0, (p))
#define SCL_VLOAD_16(p) vload16(0, (p))
#define SCL_VSTORE_1(v, p) (*(p) = (v))
#define SCL_VSTORE_2(v, p) vstore2((v), 0, (p))
#define SCL_VSTORE_4(v, p) vstore4((v), 0, (p))
#define SCL_VSTORE_8(v, p) vstore8((v), 0, (p))
#define SCL_VSTORE_16(v, p) vstore16((v), 0, (p))

// Storage of the activations and weights in global memory (docs/kernels.md, "precision"):
// float, or with SCL_HALF=1 16-bit halves (core OpenCL 1.2: a half pointer may be declared
// without cl_khr_fp16, and vload_half/vstore_half convert to and from float), every sum still
// accumulated in float. `data_t` is the element type of such a buffer; DLOAD_N / DSTORE_N move n
// of them as n floats (DLOAD / DSTORE one). Stores round to nearest even, as the host's
// conversion of the weights does. The caller's input (the stem's) and the logits (the head's)
// stay float: those kernels use VLOAD_N / VSTORE_N for them.
#ifndef SCL_HALF
#define SCL_HALF 0
#endif
#define DLOAD_N(n, p) CAT(SCL_DLOAD_, n)(p)
#define DSTORE_N(n, v, p) CAT(SCL_DSTORE_, n)(v, p)
#define DLOAD(p) DLOAD_N(1, p)
#define DSTORE(v, p) DSTORE_N(1, v, p)
#if SCL_HALF
typedef half data_t;
#define SCL_DLOAD_1(p) vload_half(0, (p))
#define SCL_DLOAD_2(p) vload_half2(0, (p))
#define SCL_DLOAD_4(p) vload_half4(0, (p))
#define SCL_DLOAD_8(p) vload_half8(0, (p))
#define SCL_DLOAD_16(p) vload_half16(0, (p))
#define SCL_DSTORE_1(v, p) vstore_half_rte((v), 0, (p))
#define SCL_DSTORE_2(v, p) vstore_half2_rte((v), 0, (p))
#define SCL_DSTORE_4(v, p) vstore_half4_rte((v), 0, (p))
#define SCL_DSTORE_8(v, p) vstore_half8_rte((v), 0, (p))
#define SCL_DSTORE_16(v, p) vstore_half16_rte((v), 0, (p))
// `name`, the n stored values at p as floats, indexable name[0 .. n-1]: under SCL_HALF a float
// array converted four at a time (one instruction per four where the device has one; PoCL made
// each scalar vload_half a call, and the 1x1 convs read a row of CO_TILE weights per input
// channel: 3-4x slower one at a time); else the pointer itself. Global memory only.
#define DROW(name, n, p)                                                                           \
    float name[n];                                                                                 \
    _Pragma("unroll") for (int q_ = 0; q_ + 4 <= (n); q_ += 4)                                     \
        vstore4(vload_half4(0, (p) + q_), 0, name + q_);                                           \
    _Pragma("unroll") for (int q_ = (n) / 4 * 4; q_ < (n); q_++) name[q_] = vload_half(0, (p) + q_)
#else
typedef float data_t;
#define DROW(name, n, p) __global const float *name = (p)
#define SCL_DLOAD_1 SCL_VLOAD_1
#define SCL_DLOAD_2 SCL_VLOAD_2
#define SCL_DLOAD_4 SCL_VLOAD_4
#define SCL_DLOAD_8 SCL_VLOAD_8
#define SCL_DLOAD_16 SCL_VLOAD_16
#define SCL_DSTORE_1 SCL_VSTORE_1
#define SCL_DSTORE_2 SCL_VSTORE_2
#define SCL_DSTORE_4 SCL_VSTORE_4
#define SCL_DSTORE_8 SCL_VSTORE_8
#define SCL_DSTORE_16 SCL_VSTORE_16
#endif

// The even / odd lanes of the 2n floats a, b (a first): lane i is element 2i / 2i+1. At n = 1
// the two floats are a and b themselves.
#define EVENS_N(n, a, b) CAT(SCL_EVENS_, n)(a, b)
#define ODDS_N(n, a, b) CAT(SCL_ODDS_, n)(a, b)
#define SCL_EVENS_1(a, b) (a)
#define SCL_ODDS_1(a, b) (b)
#define SCL_EVENS_2(a, b) ((float2)((a).even, (b).even))
#define SCL_ODDS_2(a, b) ((float2)((a).odd, (b).odd))
#define SCL_EVENS_4(a, b) ((float4)((a).even, (b).even))
#define SCL_ODDS_4(a, b) ((float4)((a).odd, (b).odd))
#define SCL_EVENS_8(a, b) ((float8)((a).even, (b).even))
#define SCL_ODDS_8(a, b) ((float8)((a).odd, (b).odd))
#define SCL_EVENS_16(a, b) ((float16)((a).even, (b).even))
#define SCL_ODDS_16(a, b) ((float16)((a).odd, (b).odd))

// v moved one lane up, s entering lane 0 (lane i <- v[i-1]): SHIFT_UP_N; or one lane down, s
// entering lane n-1 (lane i <- v[i+1]): SHIFT_DOWN_N. At n = 1 both are s.
#define SHIFT_UP_N(n, v, s) CAT(SCL_SHIFT_UP_, n)(v, s)
#define SHIFT_DOWN_N(n, v, s) CAT(SCL_SHIFT_DOWN_, n)(v, s)
#define SCL_SHIFT_UP_1(v, s) (s)
#define SCL_SHIFT_DOWN_1(v, s) (s)
#define SCL_SHIFT_UP_2(v, s) ((float2)((s), (v).s0))
#define SCL_SHIFT_DOWN_2(v, s) ((float2)((v).s1, (s)))
#define SCL_SHIFT_UP_4(v, s) ((float4)((s), (v).s0, (v).s1, (v).s2))
#define SCL_SHIFT_DOWN_4(v, s) ((float4)((v).s1, (v).s2, (v).s3, (s)))
#define SCL_SHIFT_UP_8(v, s) ((float8)((s), (v).s012, (v).s3456))
#define SCL_SHIFT_DOWN_8(v, s) ((float8)((v).s1234, (v).s567, (s)))
#define SCL_SHIFT_UP_16(v, s) ((float16)((s), (v).s012, (v).s3456, (v).s789a, (v).sbcde))
#define SCL_SHIFT_DOWN_16(v, s) ((float16)((v).s1234, (v).s5678, (v).s9abc, (v).sdef, (s)))

// Helpers that must become part of their caller: PoCL otherwise kept some as real functions,
// and the literal arguments that select a branch stayed runtime values (20-30% slower pools).
#define INLINE static inline __attribute__((always_inline))

#endif // SCL_COMMON_CL
