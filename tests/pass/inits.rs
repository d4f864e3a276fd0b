//! Every init scheme as written in the DSL, and the default (He before ReLU-family
//! activations, Xavier otherwise), checked against each scheme's bound or standard deviation.
#![deny(warnings)]

use stacknet::prelude::*;

network! {
    struct Inits(input: [64]) {
        z: dense(64, init = zeros),
        c: dense(64, init = constant(-0.25)),
        n: dense(64, init = normal(0.05)),
        u: dense(64, init = uniform(0.1)),
        xu: dense(64, init = xavier_uniform),
        xn: dense(64, init = xavier_normal),
        hu: dense(64, init = he_uniform),
        hn: dense(64, init = he_normal),
        to_relu: dense(64), relu,
        to_leaky: dense(64), flatten, leaky_relu,
        to_tanh: dense(64), tanh,
        explicit: dense(64, init = xavier_uniform), relu,
        last: dense(64),
    }
}

fn max_abs(w: &[f64]) -> f64 {
    w.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn std(w: &[f64]) -> f64 {
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

fn main() {
    let net = Inits::<f64>::new(&mut SplitMix64::new(7));
    // fan_in = fan_out = 64: Xavier bound √(6/128), σ √(2/128); He bound √(6/64), σ √(2/64).
    let (xavier_bound, he_bound) = ((6.0f64 / 128.0).sqrt(), (6.0f64 / 64.0).sqrt());
    let (xavier_std, he_std) = ((2.0f64 / 128.0).sqrt(), (2.0f64 / 64.0).sqrt());
    let uniform = |w: &[f64], bound: f64, what: &str| {
        let m = max_abs(w);
        assert!(
            m <= bound && m > 0.97 * bound,
            "{what}: max {m}, bound {bound}"
        );
    };
    let normal = |w: &[f64], sigma: f64, what: &str| {
        let s = std(w);
        assert!(
            (s / sigma - 1.0).abs() < 0.08,
            "{what}: std {s}, expected {sigma}"
        );
    };
    assert!(net.z.weight.iter().all(|&v| v == 0.0));
    assert!(net.c.weight.iter().all(|&v| v == -0.25));
    normal(net.n.weight.as_slice(), 0.05, "normal(0.05)");
    uniform(net.u.weight.as_slice(), 0.1, "uniform(0.1)");
    uniform(net.xu.weight.as_slice(), xavier_bound, "xavier_uniform");
    normal(net.xn.weight.as_slice(), xavier_std, "xavier_normal");
    uniform(net.hu.weight.as_slice(), he_bound, "he_uniform");
    normal(net.hn.weight.as_slice(), he_std, "he_normal");
    // Defaults: He uniform before relu and (through flatten) leaky_relu, Xavier before tanh
    // and at the output; an explicit init wins over the default.
    uniform(
        net.to_relu.weight.as_slice(),
        he_bound,
        "default before relu",
    );
    uniform(
        net.to_leaky.weight.as_slice(),
        he_bound,
        "default before leaky_relu",
    );
    uniform(
        net.to_tanh.weight.as_slice(),
        xavier_bound,
        "default before tanh",
    );
    uniform(
        net.explicit.weight.as_slice(),
        xavier_bound,
        "explicit before relu",
    );
    uniform(
        net.last.weight.as_slice(),
        xavier_bound,
        "default at the output",
    );
    // Biases start at zero whatever the init.
    assert!(net
        .c
        .bias
        .iter()
        .chain(net.hn.bias.iter())
        .all(|&v| v == 0.0));
}
