//! A declaration that stops early: each error names what is missing, on the last token
//! written rather than on the whole macro call.
use stacknet::prelude::*;

network! { struct }

network! { struct Named }

network! { struct Shapeless(input) { relu } }

network! { struct Bodiless(input: [4]) }

fn main() {}
