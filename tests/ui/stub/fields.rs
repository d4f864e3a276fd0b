//! The named layers of a broken network keep their fields on the stub: code reading
//! `net.fc.weight` gets no error of its own (E0609), only the declaration's.
use stacknet::prelude::*;

network! {
    pub struct Net(input: [8]) {
        fc: dense(4), relu,
        block: residual { conv: dense(4) },
        head: dense(0),
    }
}

fn main() {
    let net = Net::<f32>::new(&mut SplitMix64::new(1));
    let rows = net.fc.weight.nrows() + net.block_conv.bias.len() + net.head.weight.ncols();
    println!("{rows}");
}
