//! An RNN's nonlinearity is tanh or relu, as in PyTorch.
use stacknet::prelude::*;

network! {
    struct Net(input: [8, 3]) {
        rnn(8, nonlinearity = sigmoid),
    }
}

fn main() {}
