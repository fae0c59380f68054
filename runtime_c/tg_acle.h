/*
 * tg_acle.h - the few Arm DSP-extension (SIMD32) instructions tinygen's dsp kernels use.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with DSP) each
 * helper is the ACLE intrinsic of arm_acle.h, one instruction.  Elsewhere (the host, for
 * the golden and sanitizer tests) it is plain C computing the same 32 bits, so the same
 * kernel source runs, and is checked, on both.  Lanes: a uint32_t holds two int16 lanes
 * (bits 0-15 and 16-31) or four int8 lanes (byte 0 = lowest address, little-endian).
 */
#ifndef TG_ACLE_H
#define TG_ACLE_H

#include <string.h>

#include "tg_common.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TG_ACLE_DSP 1
#else
#define TG_ACLE_DSP 0
#endif

/* Four consecutive int8 values as one word, from any alignment. */
TG_INLINE uint32_t tg_read_s8x4(const int8_t *p)
{
#if TG_ACLE_DSP
    uint32_t v;
    memcpy(&v, p, sizeof v);     /* one LDR: Cortex-M4/M7/M33 load words unaligned */
    return v;
#else
    const uint8_t *u = (const uint8_t *)p;
    return (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) |
           ((uint32_t)u[3] << 24);
#endif
}

#if !TG_ACLE_DSP
/* int16 lane `k` (0 or 1) of x, sign-extended. */
TG_INLINE int32_t tg_lane16(uint32_t x, int k)
{
    const uint32_t h = (x >> (16 * k)) & 0xFFFFu;
    return (int32_t)h - (int32_t)((h & 0x8000u) << 1);
}

/* int8 lane `k` (0..3) of x, sign-extended. */
TG_INLINE int32_t tg_lane8(uint32_t x, int k)
{
    const uint32_t b = (x >> (8 * k)) & 0xFFu;
    return (int32_t)b - (int32_t)((b & 0x80u) << 1);
}

TG_INLINE uint32_t tg_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | (((uint32_t)hi & 0xFFFFu) << 16);
}
#endif

/* SXTB16: int8 lanes 0 and 2 of x sign-extended into the two int16 lanes. */
TG_INLINE uint32_t tg_sxtb16(uint32_t x)
{
#if TG_ACLE_DSP
    return (uint32_t)__sxtb16((int32_t)x);
#else
    return tg_pack16(tg_lane8(x, 0), tg_lane8(x, 2));
#endif
}

/* SXTB16 x, ROR #8: int8 lanes 1 and 3 of x sign-extended into the two int16 lanes. */
TG_INLINE uint32_t tg_sxtb16_ror8(uint32_t x)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    /* ACLE has no rotated form and GCC 12 does not fold the rotation into SXTB16:
     * one instruction instead of two */
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#elif TG_ACLE_DSP
    return (uint32_t)__sxtb16((int32_t)((x >> 8) | (x << 24)));
#else
    return tg_pack16(tg_lane8(x, 1), tg_lane8(x, 3));
#endif
}

/* SXTAB16: each int16 lane of a plus the sign-extended int8 lane 0 / 2 of x (modulo 2^16). */
TG_INLINE uint32_t tg_sxtab16(uint32_t a, uint32_t x)
{
#if TG_ACLE_DSP
    return (uint32_t)__sxtab16((int32_t)a, (int32_t)x);
#else
    return tg_pack16(tg_lane16(a, 0) + tg_lane8(x, 0), tg_lane16(a, 1) + tg_lane8(x, 2));
#endif
}

/* SXTAB16 a, x, ROR #8: each int16 lane of a plus the sign-extended int8 lane 1 / 3 of x. */
TG_INLINE uint32_t tg_sxtab16_ror8(uint32_t a, uint32_t x)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
#elif TG_ACLE_DSP
    return (uint32_t)__sxtab16((int32_t)a, (int32_t)((x >> 8) | (x << 24)));
#else
    return tg_pack16(tg_lane16(a, 0) + tg_lane8(x, 1), tg_lane16(a, 1) + tg_lane8(x, 3));
#endif
}

/* SMLABB: acc + a.lo * b.lo (int16 lanes), modulo 2^32. */
TG_INLINE uint32_t tg_smlabb(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP
    return (uint32_t)__smlabb((int32_t)a, (int32_t)b, (int32_t)acc);
#else
    return acc + (uint32_t)(tg_lane16(a, 0) * tg_lane16(b, 0));
#endif
}

/* SMLATT: acc + a.hi * b.hi (int16 lanes), modulo 2^32. */
TG_INLINE uint32_t tg_smlatt(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP
    return (uint32_t)__smlatt((int32_t)a, (int32_t)b, (int32_t)acc);
#else
    return acc + (uint32_t)(tg_lane16(a, 1) * tg_lane16(b, 1));
#endif
}

/* SMLAD: acc + a.lo * b.lo + a.hi * b.hi on int16 lanes, modulo 2^32 (the result SMLAD
 * writes; it only sets the Q flag on overflow, which nothing here reads). */
TG_INLINE uint32_t tg_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP
    return (uint32_t)__smlad((int32_t)a, (int32_t)b, (int32_t)acc);
#else
    return acc + (uint32_t)(tg_lane16(a, 0) * tg_lane16(b, 0)) +
           (uint32_t)(tg_lane16(a, 1) * tg_lane16(b, 1));
#endif
}

/*
 * SMLAD into an accumulator that keeps its register: the same value as tg_smlad(a, b, acc).
 * GCC lets the ACLE intrinsic write any register, and in loops with many sums it then
 * shuffles them between registers (MOVs each pass); tying the sum to one register avoids it.
 */
TG_INLINE uint32_t tg_smlad_acc(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(a), "r"(b));
    return acc;
#else
    return tg_smlad(a, b, acc);
#endif
}

/* SMMLAR: the high word of (a << 32) + b * c + 2^31, the 64-bit sum taken modulo 2^64. */
TG_INLINE int32_t tg_smmlar(int32_t b, int32_t c, int32_t a)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(b), "r"(c), "r"(a));
    return r;
#else
    const uint64_t sum = ((uint64_t)(uint32_t)a << 32) + (uint64_t)((int64_t)b * (int64_t)c) +
                         0x80000000u;
    return (int32_t)(uint32_t)(sum >> 32);
#endif
}

/* SMLABT: acc + a.lo * b.hi (int16 lanes), modulo 2^32. */
TG_INLINE uint32_t tg_smlabt(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP
    return (uint32_t)__smlabt((int32_t)a, (int32_t)b, (int32_t)acc);
#else
    return acc + (uint32_t)(tg_lane16(a, 0) * tg_lane16(b, 1));
#endif
}

/* SMLATB: acc + a.hi * b.lo (int16 lanes), modulo 2^32. */
TG_INLINE uint32_t tg_smlatb(uint32_t a, uint32_t b, uint32_t acc)
{
#if TG_ACLE_DSP
    return (uint32_t)__smlatb((int32_t)a, (int32_t)b, (int32_t)acc);
#else
    return acc + (uint32_t)(tg_lane16(a, 1) * tg_lane16(b, 0));
#endif
}

/* PKHBT a, b, LSL #16: the low halfword of a, then the low halfword of b above it. */
TG_INLINE uint32_t tg_pkhbt16(uint32_t a, uint32_t b)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t r;     /* ACLE has no PKHBT and GCC 12 does not find it in the C below */
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (a & 0xFFFFu) | (b << 16);
#endif
}

/* PKHTB b, a, ASR #16: the high halfword of a, below the high halfword of b. */
TG_INLINE uint32_t tg_pkhtb16(uint32_t b, uint32_t a)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
#else
    return (b & 0xFFFF0000u) | (a >> 16);
#endif
}

/* SSAT #8: x saturated to [-128, 127]. */
TG_INLINE int32_t tg_ssat8(int32_t x)
{
#if TG_ACLE_DSP
    return __ssat(x, 8);
#else
    return tg_clamp(x, -128, 127);
#endif
}

/* SMMULR: the high 32 bits of a * b + 2^31 (the 64-bit product rounded to its high word). */
TG_INLINE int32_t tg_smmulr(int32_t a, int32_t b)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    /* ACLE has no intrinsic for it */
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    /* |a * b| <= 2^62, so adding 2^31 cannot overflow; >> of a negative value is arithmetic
     * on every compiler tinygen supports (as tg_common.h assumes) */
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* Two consecutive int16 values as one word (the first in the low lane), any alignment. */
TG_INLINE uint32_t tg_read_s16x2(const int16_t *p)
{
#if TG_ACLE_DSP
    uint32_t v;
    memcpy(&v, p, sizeof v);     /* one LDR */
    return v;
#else
    return (uint32_t)(uint16_t)p[0] | ((uint32_t)(uint16_t)p[1] << 16);
#endif
}

/* Two int16 values (the low lane first) stored at any alignment. */
TG_INLINE void tg_write_s16x2(int16_t *p, uint32_t v)
{
#if TG_ACLE_DSP
    memcpy(p, &v, sizeof v);     /* one STR */
#else
    p[0] = (int16_t)tg_lane16(v, 0);
    p[1] = (int16_t)tg_lane16(v, 1);
#endif
}

/* Four int8 values stored at any alignment (byte 0 the lowest address). */
TG_INLINE void tg_write_s8x4(int8_t *p, uint32_t v)
{
#if TG_ACLE_DSP
    memcpy(p, &v, sizeof v);     /* one STR */
#else
    int k;
    for (k = 0; k < 4; ++k) {
        p[k] = (int8_t)tg_lane8(v, k);
    }
#endif
}

/* The four int8 lanes of x clamped lane by lane to [lo, hi], given as lo4 and hi4 (the
 * bound in every lane): SSUB8 + SEL twice. */
TG_INLINE uint32_t tg_clamp_s8x4(uint32_t x, uint32_t lo4, uint32_t hi4)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t t;     /* SEL reads the GE flags of the SSUB8 before it: one asm keeps them */
    __asm__("ssub8   %1, %0, %2\n\t"
            "sel     %0, %0, %2\n\t"          /* x >= lo ? x : lo */
            "ssub8   %1, %0, %3\n\t"
            "sel     %0, %3, %0"              /* x >= hi ? hi : x */
            : "+r"(x), "=&r"(t) : "r"(lo4), "r"(hi4) : "cc");
    return x;
#else
    const int32_t lo = tg_lane8(lo4, 0), hi = tg_lane8(hi4, 0);
    uint32_t r = 0;
    int k;
    for (k = 0; k < 4; ++k) {
        r |= ((uint32_t)tg_clamp(tg_lane8(x, k), lo, hi) & 0xFFu) << (8 * k);
    }
    return r;
#endif
}

/*
 * Assembly text of the k x k convolution's Thumb-2 pass (tg_dsp_conv.c; the GEMM's, in
 * tg_dsp_gemm.c, keeps these values in other registers): half of a 4-value step of 2 rows
 * (or pixels) x 3 channels.
 * The rows' pairs in r8 and r9 (even values, or odd ones), the three channels' weight words
 * in r10-r12, sign-extended in turn into lr by SXTB16 (ROT "") or SXTB16 ROR #8 (ROT
 * ", ror #8"); row 0's sums in r0-r2, row 1's in r3-r5.
 */
#define TG_ASM_2X3_HALF(ROT)                                            \
    "sxtb16  lr, r10" ROT "\n\t"                                        \
    "smlad   r0, r8, lr, r0\n\t"                                        \
    "smlad   r3, r9, lr, r3\n\t"                                        \
    "sxtb16  lr, r11" ROT "\n\t"                                        \
    "smlad   r1, r8, lr, r1\n\t"                                        \
    "smlad   r4, r9, lr, r4\n\t"                                        \
    "sxtb16  lr, r12" ROT "\n\t"                                        \
    "smlad   r2, r8, lr, r2\n\t"                                        \
    "smlad   r5, r9, lr, r5\n\t"

#endif /* TG_ACLE_H */
