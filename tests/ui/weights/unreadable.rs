//! A file that is not there, and one that is not safetensors (this source file): the path is
//! relative to the declaring file, as `include_bytes!` takes it.
use stacknet::prelude::*;

network! {
    #[weights = "no_such.safetensors"]
    struct Missing(input: [4]) { fc: dense(2) }
}

network! {
    #[weights = "unreadable.rs"]
    struct NotSafetensors(input: [4]) { fc: dense(2) }
}

fn main() {}
