//! Blocks nested 70 deep: past the 64 levels of brackets the macro accepts.
use stacknet::prelude::*;

network! {
    struct Net(input: [4]) {
        residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { residual { dense(4) } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } } }
    }
}

fn main() {}
