//! Vector widths the kernels are written for, and the instruction set chosen at run time.
//!
//! The kernels in [`crate::kernels`] block their loops for one vector register: how many lanes
//! a loop carries and how many accumulators stay in registers depend on its width. A
//! [`Width`] names that shape ([`V128`], [`V256`], [`V512`]); [`Native`] is the width of the
//! compilation target, what a build with `-C target-cpu=native` gets.
//!
//! A plain `cargo build` for x86-64 targets the 2003 baseline (SSE2, 128-bit vectors), which
//! leaves most of a modern core idle. With the `dispatch` feature (on by default, needs `std`),
//! such a build also compiles the layers' hot paths for AVX2 with FMA (`Avx2`) and for
//! AVX-512 (`Avx512`), each inside a `#[target_feature]` function, and [`level`] picks the
//! best one the CPU has, once. The environment variable `STACKNET_SIMD` (`portable`, `avx2`,
//! `avx512`) caps that choice, for benchmarks and for comparing results across levels.
//! Builds that already target AVX2 or more, `no_std` builds and other architectures keep the
//! compile-time choice: nothing is detected and nothing is duplicated.
//!
//! Results differ between levels in the last bits (the lanes split sums differently), never
//! more; within one level they are deterministic.

/// The shape of one vector register the kernels are blocked for, and the instruction set they
/// run with.
pub trait Width: 'static {
    /// Bytes in one vector register.
    const BYTES: usize;
    /// What [`describe`] prints for this width.
    const NAME: &'static str;
}

/// Lanes of `T` in one vector of `V`.
pub const fn lanes<V: Width, T: crate::Scalar>() -> usize {
    V::BYTES / T::BYTES
}

macro_rules! plain_width {
    ($(#[$doc:meta])* $name:ident, $bytes:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl Width for $name {
            const BYTES: usize = $bytes;
            const NAME: &'static str = stringify!($name);
        }
    };
}

plain_width!(
    /// 128-bit vectors (SSE2, NEON), with whatever instruction set the build targets.
    V128,
    16
);
plain_width!(
    /// 256-bit vectors (AVX), with whatever instruction set the build targets.
    V256,
    32
);
plain_width!(
    /// 512-bit vectors (AVX-512), with whatever instruction set the build targets: on a
    /// narrower CPU each vector is several registers (slower, still correct), which is how
    /// the tests check this blocking on any machine.
    V512,
    64
);

/// The compilation target's own vector width.
#[cfg(target_feature = "avx512f")]
pub type Native = V512;
/// The compilation target's own vector width.
#[cfg(all(target_feature = "avx", not(target_feature = "avx512f")))]
pub type Native = V256;
/// The compilation target's own vector width.
#[cfg(not(target_feature = "avx"))]
pub type Native = V128;

/// Whether this build chooses its instruction set at run time: the `dispatch` feature, on
/// x86-64, in a build that does not already target AVX2.
pub const DISPATCH: bool = cfg!(stacknet_dispatch);

/// The widths a layer may run with in this build, for sizing scratch buffers that depend on
/// the path a width takes.
pub const WIDTHS: &[usize] = if DISPATCH {
    &[16, 32, 64]
} else {
    &[<Native as Width>::BYTES]
};

#[cfg(stacknet_dispatch)]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
pub(crate) mod fma;

#[cfg(stacknet_dispatch)]
mod x86 {
    use super::Width;

    /// 256-bit vectors with AVX2 and FMA, detected at run time (Intel since 2013, AMD since
    /// 2015). Layers run with it only after [`level`](super::level) found them.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2;

    /// 512-bit vectors with AVX-512F, detected at run time.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx512;

    impl Width for Avx2 {
        const BYTES: usize = 32;
        const NAME: &'static str = "avx2";
    }

    impl Width for Avx512 {
        const BYTES: usize = 64;
        const NAME: &'static str = "avx512";
    }
}

/// An instruction set level [`level`] can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// What the build targets ([`Native`]).
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F.
    Avx512,
}

impl Level {
    /// The level's name, as `STACKNET_SIMD` spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The level the layers run with: in a [`DISPATCH`] build the best the CPU has (at most
/// `STACKNET_SIMD`), found once and cached; otherwise [`Level::Portable`], which is the
/// compilation target's own.
#[inline]
pub fn level() -> Level {
    #[cfg(stacknet_dispatch)]
    {
        detect::level()
    }
    #[cfg(not(stacknet_dispatch))]
    {
        Level::Portable
    }
}

/// Caps the level for the rest of the process at `cap` (never above what the CPU has) and
/// returns the level now in force: for tests and benchmarks that compare levels in one
/// process. Layers already running on other threads finish at the level they started with.
/// Without [`DISPATCH`] there is one level, and this returns it.
pub fn set_level(cap: Level) -> Level {
    #[cfg(stacknet_dispatch)]
    {
        detect::set(cap)
    }
    #[cfg(not(stacknet_dispatch))]
    {
        let _ = cap;
        Level::Portable
    }
}

/// The best level this CPU and build allow, whatever `STACKNET_SIMD` or [`set_level`] say.
pub fn best_level() -> Level {
    #[cfg(stacknet_dispatch)]
    {
        detect::best()
    }
    #[cfg(not(stacknet_dispatch))]
    {
        Level::Portable
    }
}

/// One line saying what the kernels run with, e.g. `avx2 (chosen at run time; the build
/// targets 128-bit vectors)` or `V256 (the build's own)`.
#[cfg(feature = "std")]
pub fn describe() -> std::string::String {
    if DISPATCH {
        std::format!(
            "{} (chosen at run time; the build targets {}-bit vectors)",
            level().name(),
            <Native as Width>::BYTES * 8
        )
    } else {
        std::format!(
            "{}-bit vectors (the build's own)",
            <Native as Width>::BYTES * 8
        )
    }
}

#[cfg(stacknet_dispatch)]
mod detect {
    use super::Level;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0 until detected, then the level plus one.
    static LEVEL: AtomicU8 = AtomicU8::new(0);

    #[inline]
    pub fn level() -> Level {
        match LEVEL.load(Ordering::Relaxed) {
            1 => Level::Portable,
            2 => Level::Avx2,
            3 => Level::Avx512,
            _ => detect(),
        }
    }

    /// What the CPU has (std caches the CPUID results).
    pub fn best() -> Level {
        let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        if avx2 && std::is_x86_feature_detected!("avx512f") {
            Level::Avx512
        } else if avx2 {
            Level::Avx2
        } else {
            Level::Portable
        }
    }

    pub fn set(cap: Level) -> Level {
        let level = best().min(cap);
        LEVEL.store(level as u8 + 1, Ordering::Relaxed);
        level
    }

    #[cold]
    fn detect() -> Level {
        let cap = match std::env::var("STACKNET_SIMD").as_deref() {
            Ok("portable") => Level::Portable,
            Ok("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        set(cap)
    }
}

/// Defines `#[target_feature]` copies of a layer's method that is generic over the [`Width`]:
/// `fn a2, a5 = method(&self, x: &[T], …);` defines the methods `a2` (AVX2 and FMA) and `a5`
/// (AVX-512F) that call `method::<Avx2>` and `method::<Avx512>`, in a [`DISPATCH`] build
/// (nothing otherwise). `method` and everything it calls down to the loops must be
/// `#[inline(always)]`: inlined into the copy before LLVM optimises anything, the loops are
/// compiled for its features, and the slices stay arguments, which LLVM knows do not alias
/// (a closure's captures, the first design, left accumulators in memory: measured).
/// Without `&self`, the copies are associated functions.
macro_rules! target_copies {
    ($(#[$doc:meta])* fn $a2:ident, $a5:ident = $method:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)?;) => {
        $(#[$doc])*
        #[cfg(stacknet_dispatch)]
        #[target_feature(enable = "avx,avx2,fma")]
        #[allow(unsafe_code, clippy::too_many_arguments)]
        unsafe fn $a2(&self $(, $arg: $ty)*) $(-> $ret)? {
            self.$method::<$crate::simd::Avx2>($($arg),*)
        }
        $(#[$doc])*
        #[cfg(stacknet_dispatch)]
        #[target_feature(enable = "avx,avx2,fma,avx512f")]
        #[allow(unsafe_code, clippy::too_many_arguments)]
        unsafe fn $a5(&self $(, $arg: $ty)*) $(-> $ret)? {
            self.$method::<$crate::simd::Avx512>($($arg),*)
        }
    };
    ($(#[$doc:meta])* fn $a2:ident, $a5:ident = $method:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;) => {
        $(#[$doc])*
        #[cfg(stacknet_dispatch)]
        #[target_feature(enable = "avx,avx2,fma")]
        #[allow(unsafe_code, clippy::too_many_arguments)]
        unsafe fn $a2($($arg: $ty),*) $(-> $ret)? {
            Self::$method::<$crate::simd::Avx2>($($arg),*)
        }
        $(#[$doc])*
        #[cfg(stacknet_dispatch)]
        #[target_feature(enable = "avx,avx2,fma,avx512f")]
        #[allow(unsafe_code, clippy::too_many_arguments)]
        unsafe fn $a5($($arg: $ty),*) $(-> $ret)? {
            Self::$method::<$crate::simd::Avx512>($($arg),*)
        }
    };
}
pub(crate) use target_copies;

/// Calls a method defined with [`target_copies!`] at the [`level`] chosen:
/// `dispatch!(self.method | a2 | a5 (args…))`, or `Self::method | a2 | a5 (args…)` for an
/// associated function. [`Native`] where nothing is dispatched.
macro_rules! dispatch {
    // `self` comes from the caller: written here, it would not name the caller's receiver.
    ($self:ident.$method:ident | $a2:ident | $a5:ident ($($arg:expr),* $(,)?)) => {{
        #[cfg(stacknet_dispatch)]
        {
            match $crate::simd::level() {
                // SAFETY: `level()` chooses a level only after the CPU reported its features.
                #[allow(unsafe_code)]
                $crate::simd::Level::Avx512 => unsafe { $self.$a5($($arg),*) },
                #[allow(unsafe_code)]
                $crate::simd::Level::Avx2 => unsafe { $self.$a2($($arg),*) },
                $crate::simd::Level::Portable => $self.$method::<$crate::simd::Native>($($arg),*),
            }
        }
        #[cfg(not(stacknet_dispatch))]
        {
            $self.$method::<$crate::simd::Native>($($arg),*)
        }
    }};
    (Self::$method:ident | $a2:ident | $a5:ident ($($arg:expr),* $(,)?)) => {{
        #[cfg(stacknet_dispatch)]
        {
            match $crate::simd::level() {
                // SAFETY: `level()` chooses a level only after the CPU reported its features.
                #[allow(unsafe_code)]
                $crate::simd::Level::Avx512 => unsafe { Self::$a5($($arg),*) },
                #[allow(unsafe_code)]
                $crate::simd::Level::Avx2 => unsafe { Self::$a2($($arg),*) },
                $crate::simd::Level::Portable => Self::$method::<$crate::simd::Native>($($arg),*),
            }
        }
        #[cfg(not(stacknet_dispatch))]
        {
            Self::$method::<$crate::simd::Native>($($arg),*)
        }
    }};
}
pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_lanes() {
        assert_eq!(lanes::<V128, f32>(), 4);
        assert_eq!(lanes::<V256, f64>(), 4);
        assert_eq!(lanes::<V512, f32>(), 16);
        assert!(WIDTHS.contains(&<Native as Width>::BYTES));
    }

    #[test]
    fn the_level_is_stable_and_names_itself() {
        let first = level();
        assert_eq!(level(), first);
        if !DISPATCH {
            assert_eq!(first, Level::Portable);
        }
        assert!(describe().starts_with(if DISPATCH { first.name() } else { "" }));
    }
}
