//! Regions of an int8 program's arena as arrays, with offsets as const generics checked at
//! compile time: the int8 twin of [`graph::view`](crate::graph::view) and its kin.

/// `[AT, AT + N)` of the arena, to read.
#[inline(always)]
pub fn view<const A: usize, const AT: usize, const N: usize>(arena: &[i8; A]) -> &[i8; N] {
    const { assert!(AT + N <= A, "arena view out of bounds") };
    arena[AT..AT + N]
        .try_into()
        .expect("the region is N values long")
}

/// `[AT, AT + N)` of the arena, to write.
#[inline(always)]
pub fn view_mut<const A: usize, const AT: usize, const N: usize>(
    arena: &mut [i8; A],
) -> &mut [i8; N] {
    const { assert!(AT + N <= A, "arena view out of bounds") };
    (&mut arena[AT..AT + N])
        .try_into()
        .expect("the region is N values long")
}

/// Two disjoint regions: `[XAT, XAT + X)` to read and `[YAT, YAT + Y)` to write.
#[inline(always)]
pub fn split<const A: usize, const XAT: usize, const X: usize, const YAT: usize, const Y: usize>(
    arena: &mut [i8; A],
) -> (&[i8; X], &mut [i8; Y]) {
    const {
        assert!(XAT + X <= A && YAT + Y <= A, "arena view out of bounds");
        assert!(XAT + X <= YAT || YAT + Y <= XAT, "arena views overlap");
    };
    let (x, y): (&[i8], &mut [i8]) = if XAT < YAT {
        let (low, high) = arena.split_at_mut(YAT);
        (&low[XAT..XAT + X], &mut high[..Y])
    } else {
        let (low, high) = arena.split_at_mut(XAT);
        (&high[..X], &mut low[YAT..YAT + Y])
    };
    (
        x.try_into().expect("X values"),
        y.try_into().expect("Y values"),
    )
}

/// `y = x` for a layer that changes nothing in int8 (flatten, reshape, dropout) when it cannot
/// run in place.
#[inline(always)]
pub fn copy<const N: usize>(x: &[i8; N], y: &mut [i8; N]) {
    y.copy_from_slice(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_where_the_offsets_say() {
        let mut arena: [i8; 6] = [0, 1, 2, 3, 4, 5];
        assert_eq!(view::<6, 2, 3>(&arena), &[2, 3, 4]);
        view_mut::<6, 4, 2>(&mut arena).copy_from_slice(&[9, 9]);
        let (x, y) = split::<6, 4, 2, 0, 3>(&mut arena);
        assert_eq!(x, &[9, 9]);
        copy(&[7, 8, 9], y);
        assert_eq!(arena, [7, 8, 9, 3, 9, 9]);
    }
}
