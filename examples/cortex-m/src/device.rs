//! The Cortex-M glue: reset entry, semihosting output and exit status, SysTick as an
//! instruction counter, stack painting, and the section sizes from the linker's symbols.

use crate::{run, Board, Footprint};
use core::ptr::{addr_of, read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hio};
use stacknet_cortex_m_example::Clock;

/// SysTick runs at the MPS2's 25 MHz core clock, and `-icount shift=0` advances QEMU's
/// virtual clock 1 ns per instruction: 40 instructions per tick. `calibrate` checks it.
const INSTRUCTIONS_PER_TICK: u64 = 40;
const RELOAD: u32 = 0x00FF_FFFF;
/// What painted stack words hold until something writes them.
const PAINT: u32 = 0x5A5A_A5A5;

/// SysTick wraps (every 2^24 ticks), counted by its exception.
static WRAPS: AtomicU32 = AtomicU32::new(0);

// The linker script's symbols (cortex-m-rt's `link.x`): only their addresses are used.
extern "C" {
    static __stext: u32;
    static __etext: u32;
    static __srodata: u32;
    static __erodata: u32;
    static __sdata: u32;
    static __edata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static __sheap: u32;
    static _stack_start: u32;
}

fn addr(p: *const u32) -> usize {
    p as usize
}

struct Qemu;

impl Clock for Qemu {
    fn now(&self) -> u64 {
        loop {
            let w = WRAPS.load(Ordering::SeqCst);
            let current = SYST::get_current();
            if WRAPS.load(Ordering::SeqCst) == w {
                return (u64::from(w) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current))
                    * INSTRUCTIONS_PER_TICK;
            }
        }
    }
}

impl Board for Qemu {
    #[inline(never)]
    fn paint_stack(&self) {
        // 256 bytes of headroom below the live stack pointer for this function's callees.
        let (bottom, top) = (
            addr(addr_of!(__sheap)),
            cortex_m::register::msp::read() as usize - 256,
        );
        let mut p = bottom;
        while p < top {
            // SAFETY: [__sheap, sp − 256) lies between the last static (.bss/.uninit end at
            // __sheap; there is no heap) and the live stack, word-aligned: no Rust object
            // lives there, and an exception frame pushed there is dead once its handler
            // returns, before this loop resumes.
            unsafe { write_volatile(p as *mut u32, PAINT) };
            p += 4;
        }
    }

    fn stack_peak(&self) -> Option<usize> {
        let (bottom, top) = (addr(addr_of!(__sheap)), addr(addr_of!(_stack_start)));
        let mut p = bottom;
        // SAFETY: reads of word-aligned RAM between the statics and the stack top, all
        // initialised (painted or written by the stack); volatile so they are not elided.
        while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
            p += 4;
        }
        Some(top - p)
    }

    fn footprint(&self) -> Option<Footprint> {
        let a = |s: *const u32| addr(s);
        Some(Footprint {
            vectors: a(addr_of!(__stext)), // the vector table starts flash, at 0
            text: a(addr_of!(__etext)) - a(addr_of!(__stext)),
            rodata: a(addr_of!(__erodata)) - a(addr_of!(__srodata)),
            data: a(addr_of!(__edata)) - a(addr_of!(__sdata)),
            bss: a(addr_of!(__ebss)) - a(addr_of!(__sbss)),
        })
    }
}

/// Semihosting's stdout as a `fmt::Write`.
struct Out(hio::HostStream);

impl core::fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

/// Counts a known loop (2 instructions per iteration, plus one) to check the tick rate.
fn calibrate(clock: &Qemu) -> u64 {
    let t0 = clock.now();
    // SAFETY: a register-only countdown loop: no memory access, r0 is declared clobbered.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {0}, {0}, #1",
            "bne 1b",
            inout(reg) 1_000_000u32 => _,
            options(nomem, nostack),
        )
    };
    clock.now() - t0
}

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(RELOAD);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();
    // The counter reads 0 until its first reload, which would make the clock jump back.
    while SYST::get_current() == 0 {}

    let mut out = Out(hio::hstdout().unwrap_or_else(|_| fail("no semihosting")));
    let board = Qemu;
    let report = |out: &mut Out| -> core::fmt::Result {
        use core::fmt::Write;
        writeln!(
            out,
            "target: thumbv7em-none-eabihf (Cortex-M4F, QEMU mps2-an386)"
        )?;
        let ticks = calibrate(&board);
        writeln!(
            out,
            "systick_check: 2000000-instruction loop counts {ticks}"
        )?;
        run(out, &board)
    };
    exit(report(&mut out).is_ok())
}

/// Ends the QEMU run with the firmware's status.
fn exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a debugger attached to take the exit.
    loop {
        cortex_m::asm::wfi();
    }
}

fn fail(why: &str) -> ! {
    if let Ok(mut out) = hio::hstderr() {
        let _ = out.write_all(why.as_bytes());
    }
    exit(false)
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::SeqCst);
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    if let Ok(out) = hio::hstderr() {
        use core::fmt::Write;
        let _ = writeln!(Out(out), "hard fault at pc {:#010x}", frame.pc());
    }
    exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if let Ok(out) = hio::hstderr() {
        use core::fmt::Write;
        let _ = writeln!(Out(out), "panic: {info}");
    }
    exit(false)
}
