//! int8 dot products on Armv7E-M (Cortex-M4, M7) with the DSP extension's `SMLAD`: two
//! 16-bit products added to an accumulator in one instruction, as CMSIS-NN does.
//!
//! Four int8 weights are one 32-bit load; `SXTB16` sign-extends bytes 0 and 2 (and, rotated,
//! 1 and 3) into two 16-bit halves. The inputs are widened once per column into the matching
//! order, (x₀, x₂), (x₁, x₃), … ([`widen`]), so that each pair is one load too. Four weights
//! then take two unpacks and two `SMLAD`s beside their loads; the input pairs are shared by
//! the output channels computed together ([`dot2`]).

use core::arch::asm;

/// (b₀, b₂) and (b₁, b₃) of four int8 values packed little-endian, sign-extended to 16 bits.
#[inline(always)]
fn unpack(w: u32) -> (u32, u32) {
    let (even, odd);
    #[allow(unsafe_code)]
    // SAFETY: `sxtb16` reads and writes only the named registers (no memory, no stack, no
    // flags).
    unsafe {
        asm!(
            "sxtb16 {e}, {w}",
            "sxtb16 {o}, {w}, ror #8",
            w = in(reg) w,
            e = out(reg) even,
            o = out(reg) odd,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    (even, odd)
}

/// acc + a.lo · b.lo + a.hi · b.hi, the halves signed 16-bit.
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let out;
    #[allow(unsafe_code)]
    // SAFETY: `smlad` reads and writes only the named registers; it may set the sticky Q
    // flag on overflow, which nothing here reads (the sums of int8 products cannot overflow:
    // see `quant::dot`).
    unsafe {
        asm!(
            "smlad {out}, {a}, {b}, {acc}",
            a = in(reg) a,
            b = in(reg) b,
            acc = in(reg) acc,
            out = lateout(reg) out,
            options(pure, nomem, nostack)
        );
    }
    out
}

/// Both 16-bit halves of `a` minus those of `b`.
#[inline(always)]
fn ssub16(a: u32, b: u32) -> u32 {
    let out;
    #[allow(unsafe_code)]
    // SAFETY: `ssub16` reads and writes only the named registers; it sets the GE flags,
    // which are declared clobbered (no `preserves_flags`).
    unsafe {
        asm!(
            "ssub16 {out}, {a}, {b}",
            a = in(reg) a,
            b = in(reg) b,
            out = lateout(reg) out,
            options(pure, nomem, nostack)
        );
    }
    out
}

/// `x − z` as 16-bit values (exact: |x − z| ≤ 255) in `SMLAD` order: each group of four as
/// (x₀, x₂), (x₁, x₃), two `SXTB16`s and two `SSUB16`s per group; a tail shorter than four
/// stays in place (the dot products take it one by one). With the zero point subtracted
/// here, once per input, the dot products need no correction.
#[inline(always)]
pub fn widen<const N: usize>(x: &[i8; N], z: i32, out: &mut [[u8; 2]; N]) {
    let (groups, tail) = x.as_chunks::<4>();
    let bytes = out.as_flattened_mut();
    let zz = (z as u16 as u32) * 0x0001_0001;
    for (g, v) in groups.iter().enumerate() {
        let (even, odd) = unpack(u32::from_le_bytes(v.map(|b| b as u8)));
        let (even, odd) = (ssub16(even, zz), ssub16(odd, zz));
        bytes[8 * g..8 * g + 4].copy_from_slice(&even.to_le_bytes());
        bytes[8 * g + 4..8 * g + 8].copy_from_slice(&odd.to_le_bytes());
    }
    for (k, &v) in tail.iter().enumerate() {
        out[4 * groups.len() + k] = (i16::from(v) - z as i16).to_le_bytes();
    }
}

#[inline(always)]
fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Σ w · (x − z) with `xw` the [`widen`]ed `x`.
#[inline(always)]
pub fn dot<const N: usize>(w: &[i8; N], xw: &[[u8; 2]; N]) -> i32 {
    let xb = xw.as_flattened();
    let (groups, tail) = w.as_chunks::<4>();
    let mut acc = 0i32;
    for (g, w4) in groups.iter().enumerate() {
        let (we, wo) = unpack(u32::from_le_bytes(w4.map(|b| b as u8)));
        acc = smlad(we, word(xb, 8 * g), acc);
        acc = smlad(wo, word(xb, 8 * g + 4), acc);
    }
    let base = 4 * groups.len();
    for (k, &wv) in tail.iter().enumerate() {
        acc += i32::from(wv) * i32::from(i16::from_le_bytes(xw[base + k]));
    }
    acc
}

/// The dot products of two weight rows with one widened input, sharing its loads.
#[inline(always)]
pub fn dot2<const N: usize>(w0: &[i8; N], w1: &[i8; N], xw: &[[u8; 2]; N]) -> (i32, i32) {
    let xb = xw.as_flattened();
    let (g0, t0) = w0.as_chunks::<4>();
    let (g1, t1) = w1.as_chunks::<4>();
    let (mut a0, mut a1) = (0i32, 0i32);
    for (g, (v0, v1)) in g0.iter().zip(g1).enumerate() {
        let (xe, xo) = (word(xb, 8 * g), word(xb, 8 * g + 4));
        let (e0, o0) = unpack(u32::from_le_bytes(v0.map(|b| b as u8)));
        let (e1, o1) = unpack(u32::from_le_bytes(v1.map(|b| b as u8)));
        a0 = smlad(o0, xo, smlad(e0, xe, a0));
        a1 = smlad(o1, xo, smlad(e1, xe, a1));
    }
    let base = 4 * g0.len();
    for (k, (&u, &v)) in t0.iter().zip(t1).enumerate() {
        let x = i32::from(i16::from_le_bytes(xw[base + k]));
        a0 += i32::from(u) * x;
        a1 += i32::from(v) * x;
    }
    (a0, a1)
}
