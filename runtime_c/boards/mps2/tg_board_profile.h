/*
 * tg_board_profile.h - the profiling timer of tinygen's verify programs on the emulated
 * MPS2+ boards (`tinygen verify --target cortex-m4 --profile`); see tg_profile.h.
 *
 * QEMU does not emulate the DWT cycle counter (it reads as zero), so layers are timed
 * with the CMSDK APB timer 0, a 32-bit down-counter at 25 MHz.  QEMU runs
 * with -icount, which advances its virtual clock by a fixed time per guest instruction:
 * the counts are instructions, not cycles (codegen/profile.py converts them).
 */
#ifndef TG_BOARD_PROFILE_H
#define TG_BOARD_PROFILE_H

#include <stdint.h>

/* the timer's address: the board file's profile_timer (0x40000000 on AN385/386/500/505) */
#ifndef TG_BOARD_TIMER0_BASE
#define TG_BOARD_TIMER0_BASE 0x40000000u
#endif
#define TG_BOARD_TIMER0_CTRL (*(volatile uint32_t *)(TG_BOARD_TIMER0_BASE + 0u))
#define TG_BOARD_TIMER0_VALUE (*(volatile uint32_t *)(TG_BOARD_TIMER0_BASE + 4u))
#define TG_BOARD_TIMER0_RELOAD (*(volatile uint32_t *)(TG_BOARD_TIMER0_BASE + 8u))

static inline void tg_board_timer_start(void)
{
    if ((TG_BOARD_TIMER0_CTRL & 1u) == 0u) {
        TG_BOARD_TIMER0_RELOAD = 0xFFFFFFFFu;
        TG_BOARD_TIMER0_VALUE = 0xFFFFFFFFu;
        TG_BOARD_TIMER0_CTRL = 1u;   /* enable, no interrupt */
    }
}

#define TG_PROFILE_TIMER() (0xFFFFFFFFu - TG_BOARD_TIMER0_VALUE)
#define TG_PROFILE_TIMER_INIT() tg_board_timer_start()
#define TG_PROFILE_UNIT "25 MHz CMSDK timer ticks (QEMU icount)"
#define TG_PROFILE_COLUMN "ticks"

#endif /* TG_BOARD_PROFILE_H */
