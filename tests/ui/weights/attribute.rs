//! `#[weights]` takes the file's path as a string, once.
use stacknet::prelude::*;

network! {
    #[weights]
    struct Bare(input: [4]) { fc: dense(2) }
}

network! {
    #[weights = tiny_f16]
    struct NotAString(input: [4]) { fc: dense(2) }
}

network! {
    #[weights("tiny_f16.safetensors")]
    struct Parenthesised(input: [4]) { fc: dense(2) }
}

network! {
    #[weights = "tiny_f16.safetensors"]
    #[weights = "tiny_f16.safetensors"]
    struct Twice(input: [4]) { fc: dense(2) }
}

fn main() {}
