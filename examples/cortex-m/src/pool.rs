//! The 28×28 → 14×14 downsampling of the MLP's inputs, shared by the build script (training
//! digits, extracted at build time) and the firmware (test digits, pooled on the device), so
//! both see the same pixels.

/// Mean of each 2×2 block, rounded half up: the image a 196-input MLP sees.
pub fn pool14(image: &[u8; 784]) -> [u8; 196] {
    let mut out = [0u8; 196];
    for (i, o) in out.iter_mut().enumerate() {
        let (r, c) = (2 * (i / 14), 2 * (i % 14));
        let at = |dr: usize, dc: usize| u32::from(image[(r + dr) * 28 + c + dc]);
        *o = ((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) / 4) as u8;
    }
    out
}
