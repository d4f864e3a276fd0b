//! Integers are not weights: only F16, BF16, F32 and F64 load (and I64 into a count).
use stacknet::prelude::*;

network! {
    #[weights = "int32.safetensors"]
    struct Ints(input: [4]) { fc: dense(2) }
}

fn main() {}
