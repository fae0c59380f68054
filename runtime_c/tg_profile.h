/*
 * tg_profile.h - the timer behind per-layer profiling (projects generated with --profile).
 *
 * The generated <name>.c reads TG_PROFILE_TIMER() before the first layer and after
 * each layer and keeps the differences (unsigned, so a counter that wraps is fine).
 *
 *   TG_PROFILE_TIMER()       a free-running, up-counting uint32_t counter
 *   TG_PROFILE_TIMER_INIT()  starts it; called at the start of every <name>_invoke()
 *   TG_PROFILE_UNIT          what it counts, as a string (for <name>_profile_print)
 *   TG_PROFILE_COLUMN        a short name of it, the table's column header (default "ticks")
 *
 * Defaults:
 *   Cortex-M3/M4/M7 (ARMv7-M), Cortex-M33/M55 (ARMv8-M Mainline): the DWT cycle
 *     counter (CYCCNT), enabled by TG_PROFILE_TIMER_INIT() through CoreDebug DEMCR.TRCENA
 *     and DWT_CTRL.CYCCNTENA, by register address (no CMSIS-Core needed).  On a
 *     Cortex-M7 whose DWT is software-locked (e.g. STM32F7/H7), define
 *     TG_PROFILE_DWT_UNLOCK to write the CoreSight unlock key first.  Attached
 *     debuggers may use the same counter; tinygen never resets it.
 *   other Arm M-profile cores (Cortex-M0/M0+/M23: no cycle counter): no timer, every
 *     count is 0 until you define one.
 *   anything else (a host build): the C library's clock().
 *
 * To use your own timer (a hardware timer, SysTick, an RTOS tick), define the three
 * macros on the compiler's command line, or in a header of yours named by
 * TG_PROFILE_CONFIG, e.g.  -DTG_PROFILE_CONFIG='"my_profile_timer.h"'  holding
 *     #define TG_PROFILE_TIMER()      (0xFFFFFFFFu - TIM2->CNT)
 *     #define TG_PROFILE_TIMER_INIT() ((void)0)
 *     #define TG_PROFILE_UNIT         "TIM2 ticks"
 */
#ifndef TG_PROFILE_H
#define TG_PROFILE_H

#include <stdint.h>

#include "tg_common.h"   /* the runtime version guard */

#if defined(TG_PROFILE_CONFIG) && !defined(__CPPCHECK__) /* cppcheck: no file to follow */
#include TG_PROFILE_CONFIG
#endif

#if !defined(TG_PROFILE_TIMER)

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
/* Debug Exception and Monitor Control Register, and the Data Watchpoint and Trace unit */
#define TG_PROFILE_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TG_PROFILE_DEMCR_TRCENA (1u << 24)
#define TG_PROFILE_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TG_PROFILE_DWT_CTRL_CYCCNTENA 1u
#define TG_PROFILE_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TG_PROFILE_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define TG_PROFILE_DWT_LAR_KEY 0xC5ACCE55u

#if defined(TG_PROFILE_DWT_UNLOCK)
#define TG_PROFILE_DWT_UNLOCK_WRITE() (TG_PROFILE_DWT_LAR = TG_PROFILE_DWT_LAR_KEY)
#else
#define TG_PROFILE_DWT_UNLOCK_WRITE() ((void)0)
#endif
/* trace on, the DWT unlocked where the core needs it, the cycle counter running
   (an expression: the generated code starts the timer inside one) */
#define TG_PROFILE_DWT_START()                                       \
    ((void)(TG_PROFILE_DEMCR |= TG_PROFILE_DEMCR_TRCENA),            \
     (void)TG_PROFILE_DWT_UNLOCK_WRITE(),                            \
     (void)(TG_PROFILE_DWT_CTRL |= TG_PROFILE_DWT_CTRL_CYCCNTENA))

#define TG_PROFILE_TIMER() (TG_PROFILE_DWT_CYCCNT)
#define TG_PROFILE_TIMER_INIT() TG_PROFILE_DWT_START()
#define TG_PROFILE_UNIT "cycles (DWT CYCCNT)"
#define TG_PROFILE_COLUMN "cycles"

#elif defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/* No cycle counter on this core: define TG_PROFILE_TIMER() (see above). */
#define TG_PROFILE_TIMER() 0u
#define TG_PROFILE_TIMER_INIT() ((void)0)
#define TG_PROFILE_UNIT "no timer: define TG_PROFILE_TIMER() (see tg_profile.h)"

#else
#include <time.h>
#define TG_PROFILE_TIMER() ((uint32_t)clock())
#define TG_PROFILE_TIMER_INIT() ((void)0)
#define TG_PROFILE_UNIT "clock() ticks"
#endif

#endif /* !TG_PROFILE_TIMER */

#if !defined(TG_PROFILE_TIMER_INIT)
#define TG_PROFILE_TIMER_INIT() ((void)0)
#endif
#if !defined(TG_PROFILE_UNIT)
#define TG_PROFILE_UNIT "TG_PROFILE_TIMER() ticks"
#endif
#if !defined(TG_PROFILE_COLUMN)
#define TG_PROFILE_COLUMN "ticks"
#endif

#endif /* TG_PROFILE_H */
