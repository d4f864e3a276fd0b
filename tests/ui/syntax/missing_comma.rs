//! A missing comma between layers is a syntax error on the next token, and the parser
//! recovers there: the unknown kind before it and the zero size after it are reported too.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        dens(3), dense(4) relu, dense(0),
    }
}

fn main() {}
