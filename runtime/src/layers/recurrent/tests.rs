//! The recurrent layers against PyTorch's numbers (`fixtures/torch.rs`, written by
//! `bench/fixtures/recurrent.py`), against finite differences (plain, bidirectional, stacked,
//! and from a carried state), and against the overwrite contract.

use super::*;
use crate::gradcheck::check_layer;
use crate::layer::contract::check_overwrites;
use crate::rng::{uniform_sym, SplitMix64};
use crate::{Flat, Layer, Params};
use std::vec::Vec;

#[rustfmt::skip]
#[path = "fixtures/torch.rs"]
mod torch;

/// The state API of the three types, with states as flat `[DIRS·H]` slices (`c` empty
/// except for LSTM), so one generic test drives all of them.
trait Stateful<T: Scalar>: Layer<T> + Clone + Zeros {
    fn fwd_from(
        &self,
        x: &Self::Input,
        h0: &[T],
        c0: &[T],
        y: &mut Self::Output,
    ) -> (Vec<T>, Vec<T>);
    fn train_from(
        &mut self,
        x: &Self::Input,
        h0: &[T],
        c0: &[T],
        y: &mut Self::Output,
        rec: &mut Self::Record,
    );
    fn final_of(rec: &Self::Record) -> (Vec<T>, Vec<T>);
}

fn state<T: Scalar, const H: usize, const DIRS: usize>(h: &[T]) -> [SVector<T, H>; DIRS] {
    core::array::from_fn(|d| SVector::from_column_slice(&h[d * H..][..H]))
}

fn flat<T: Scalar, const H: usize, const DIRS: usize>(s: &[SVector<T, H>; DIRS]) -> Vec<T> {
    s.iter().flat_map(|v| v.iter().copied()).collect()
}

macro_rules! stateful_hidden {
    ($ty:ident < $($p:ident),* > $(, const $extra:ident: $et:ty)*) => {
        impl<T: Scalar, const STEPS: usize, const IN: usize, const H: usize,
             const DIRS: usize, const SEQ: bool, const XLEN: usize, const YLEN: usize
             $(, const $extra: $et)*>
            Stateful<T> for $ty<$($p),*>
        {
            fn fwd_from(&self, x: &SVector<T, XLEN>, h0: &[T], _: &[T],
                        y: &mut SVector<T, YLEN>) -> (Vec<T>, Vec<T>) {
                let mut fin = HiddenState::zeros();
                self.forward_from(x, &HiddenState { h: state(h0) }, y, &mut fin);
                (flat(&fin.h), Vec::new())
            }
            fn train_from(&mut self, x: &SVector<T, XLEN>, h0: &[T], _: &[T],
                          y: &mut SVector<T, YLEN>, rec: &mut Self::Record) {
                self.forward_train_from(x, &HiddenState { h: state(h0) }, y, rec);
            }
            fn final_of(rec: &Self::Record) -> (Vec<T>, Vec<T>) {
                (flat(&Self::final_state(rec).h), Vec::new())
            }
        }
    };
}
stateful_hidden!(Rnn<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN, RELU>, const RELU: bool);
stateful_hidden!(Gru<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>);

impl<
        T: Scalar,
        const STEPS: usize,
        const IN: usize,
        const H: usize,
        const DIRS: usize,
        const SEQ: bool,
        const XLEN: usize,
        const YLEN: usize,
    > Stateful<T> for Lstm<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN>
{
    fn fwd_from(
        &self,
        x: &SVector<T, XLEN>,
        h0: &[T],
        c0: &[T],
        y: &mut SVector<T, YLEN>,
    ) -> (Vec<T>, Vec<T>) {
        let mut fin = LstmState::zeros();
        let s = LstmState {
            h: state(h0),
            c: state(c0),
        };
        self.forward_from(x, &s, y, &mut fin);
        (flat(&fin.h), flat(&fin.c))
    }
    fn train_from(
        &mut self,
        x: &SVector<T, XLEN>,
        h0: &[T],
        c0: &[T],
        y: &mut SVector<T, YLEN>,
        rec: &mut Self::Record,
    ) {
        let s = LstmState {
            h: state(h0),
            c: state(c0),
        };
        self.forward_train_from(x, &s, y, rec);
    }
    fn final_of(rec: &Self::Record) -> (Vec<T>, Vec<T>) {
        let s = Self::final_state(rec);
        (flat(&s.h), flat(&s.c))
    }
}

fn close<T: Scalar>(case: &str, what: &str, found: &[T], want: &[f64], tol: f64) {
    assert_eq!(found.len(), want.len(), "{case} {what}: length");
    for (k, (a, &b)) in found.iter().zip(want).enumerate() {
        let a = a.to_f64();
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{case} {what} [{k}]: {a} vs PyTorch's {b} (difference {:e})",
            (a - b).abs()
        );
    }
}

fn of<T: Scalar>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&v| T::of(v)).collect()
}

/// One fixture case: forward, training forward and backward, from zeros and from the
/// case's state, everything against PyTorch to `tol` (relative to 1 + |value|).
fn check_case<T: Scalar, L: Stateful<T, Grad = L>>(name: &str, tol: f64) {
    let case = torch::CASES
        .iter()
        .find(|c| c.name == name)
        .expect("no such case");
    assert_eq!(L::TENSORS, case.params.len(), "{name}: tensor count");
    let mut layer = L::zeros();
    for i in 0..L::TENSORS {
        assert_eq!(
            L::tensor_info(i).name,
            case.tensors[i],
            "{name}: tensor {i}"
        );
        assert_eq!(L::tensor_info(i).shape.len(), case.params[i].len());
        layer
            .tensor_mut(i)
            .copy_from_slice(&of::<T>(case.params[i]));
    }
    let mut x = L::Input::zeros();
    x.flat_mut().copy_from_slice(&of::<T>(case.x));
    let mut dy = L::Output::zeros();
    dy.flat_mut().copy_from_slice(&of::<T>(case.dy));
    let grads_close = |what: &str, g: &L, want: &[&[f64]]| {
        for (i, want) in want.iter().enumerate() {
            close(
                name,
                &std::format!("{what} {}", case.tensors[i]),
                g.tensor(i),
                want,
                tol,
            );
        }
    };

    let mut y = L::Output::zeros();
    layer.forward(&x, &mut y);
    close(name, "forward y", y.flat(), case.y, tol);
    let (mut rec, mut dx, mut g) = (L::Record::zeros(), L::Input::zeros(), L::zeros());
    layer.clone().forward_train(&x, &mut y, &mut rec);
    close(name, "training y", y.flat(), case.y, tol);
    layer.backward(&x, &y, &rec, &dy, Some(&mut dx), &mut g);
    close(name, "dx", dx.flat(), case.dx, tol);
    grads_close("grad", &g, case.grads);

    let (h0, c0) = (of::<T>(case.h0), of::<T>(case.c0));
    let (hn, cn) = layer.fwd_from(&x, &h0, &c0, &mut y);
    close(name, "forward_from y", y.flat(), case.y_from, tol);
    close(name, "forward_from h_n", &hn, case.hn, tol);
    close(name, "forward_from c_n", &cn, case.cn, tol);
    let (mut rec, mut g) = (L::Record::zeros(), L::zeros());
    layer.clone().train_from(&x, &h0, &c0, &mut y, &mut rec);
    close(name, "forward_train_from y", y.flat(), case.y_from, tol);
    let (hn, cn) = L::final_of(&rec);
    close(name, "final_state h_n", &hn, case.hn, tol);
    close(name, "final_state c_n", &cn, case.cn, tol);
    layer.backward(&x, &y, &rec, &dy, Some(&mut dx), &mut g);
    close(name, "dx from state", dx.flat(), case.dx_from, tol);
    grads_close("grad from state", &g, case.grads_from);
}

/// Every fixture case at one scalar type.
fn check_all_cases<T: Scalar>(tol: f64) {
    check_case::<T, Rnn<T, 4, 3, 3, 1, true, 12, 12>>("rnn_tanh_uni_seq", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 1, false, 12, 3>>("rnn_tanh_uni_last", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 2, true, 12, 24>>("rnn_tanh_bi_seq", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 2, false, 12, 6>>("rnn_tanh_bi_last", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 1, true, 12, 12, true>>("rnn_relu_uni_seq", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 1, false, 12, 3, true>>("rnn_relu_uni_last", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 2, true, 12, 24, true>>("rnn_relu_bi_seq", tol);
    check_case::<T, Rnn<T, 4, 3, 3, 2, false, 12, 6, true>>("rnn_relu_bi_last", tol);
    check_case::<T, Gru<T, 4, 3, 3, 1, true, 12, 12>>("gru_uni_seq", tol);
    check_case::<T, Gru<T, 4, 3, 3, 1, false, 12, 3>>("gru_uni_last", tol);
    check_case::<T, Gru<T, 4, 3, 3, 2, true, 12, 24>>("gru_bi_seq", tol);
    check_case::<T, Gru<T, 4, 3, 3, 2, false, 12, 6>>("gru_bi_last", tol);
    check_case::<T, Lstm<T, 4, 3, 3, 1, true, 12, 12>>("lstm_uni_seq", tol);
    check_case::<T, Lstm<T, 4, 3, 3, 1, false, 12, 3>>("lstm_uni_last", tol);
    check_case::<T, Lstm<T, 4, 3, 3, 2, true, 12, 24>>("lstm_bi_seq", tol);
    check_case::<T, Lstm<T, 4, 3, 3, 2, false, 12, 6>>("lstm_bi_last", tol);
    check_case::<T, Gru<T, 4, 5, 17, 1, true, 20, 68>>("gru_big_uni_seq", tol);
    check_case::<T, Lstm<T, 4, 5, 17, 1, false, 20, 17>>("lstm_big_uni_last", tol);
}

#[test]
fn f64_matches_pytorch() {
    check_all_cases::<f64>(1e-12);
    assert_eq!(torch::CASES.len(), 18, "a fixture case without a test");
}

#[test]
fn f32_matches_pytorch() {
    check_all_cases::<f32>(1e-5);
}

/// A layer with parameters drawn from U(−0.8, 0.8).
fn random<L: Params<f64> + Zeros>(rng: &mut SplitMix64) -> L {
    let mut l = L::zeros();
    for i in 0..L::TENSORS {
        l.tensor_mut(i)
            .iter_mut()
            .for_each(|v| *v = uniform_sym(rng, 0.8));
    }
    l
}

/// A recurrent layer run from a fixed initial state through the [`Layer`] methods, so that
/// the gradient and overwrite checks cover `forward_from` and `forward_train_from`. The state
/// is a constant, not a parameter.
#[derive(Clone)]
struct FromState<L> {
    layer: L,
    h0: Vec<f64>,
    c0: Vec<f64>,
}

impl<L: Stateful<f64>> FromState<L> {
    fn new(layer: L, rng: &mut SplitMix64) -> Self {
        // DIRS·H values: the length of the final state the layer reports.
        let (h, c) = L::final_of(&L::Record::zeros());
        let draw = |n: usize, rng: &mut SplitMix64| (0..n).map(|_| uniform_sym(rng, 1.0)).collect();
        FromState {
            h0: draw(h.len(), rng),
            c0: draw(c.len(), rng),
            layer,
        }
    }
}

impl<L: Params<f64>> Params<f64> for FromState<L> {
    const TENSORS: usize = L::TENSORS;
    const LEN: usize = L::LEN;
    fn tensor(&self, i: usize) -> &[f64] {
        self.layer.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f64] {
        self.layer.tensor_mut(i)
    }
    fn tensor_info(i: usize) -> crate::TensorInfo {
        L::tensor_info(i)
    }
}

impl<L: Stateful<f64>> Layer<f64> for FromState<L> {
    type Input = L::Input;
    type Output = L::Output;
    type Record = L::Record;
    type Grad = L::Grad;
    const KIND: &'static str = L::KIND;
    const MACS: usize = L::MACS;
    fn forward(&self, x: &L::Input, y: &mut L::Output) {
        self.layer.fwd_from(x, &self.h0, &self.c0, y);
    }
    fn forward_train(&mut self, x: &L::Input, y: &mut L::Output, rec: &mut L::Record) {
        self.layer.train_from(x, &self.h0, &self.c0, y, rec);
    }
    fn backward(
        &self,
        x: &L::Input,
        y: &L::Output,
        rec: &L::Record,
        dy: &L::Output,
        dx: Option<&mut L::Input>,
        grad: &mut L::Grad,
    ) {
        self.layer.backward(x, y, rec, dy, dx, grad);
    }
}

/// Two layers, `A` feeding `B`, as one layer: the stacking test.
#[derive(Clone)]
struct Stack<A, B> {
    a: A,
    b: B,
}

struct StackRecord<A: Layer<f64>, B: Layer<f64>> {
    a: A::Record,
    mid: A::Output,
    b: B::Record,
}

impl<A: Layer<f64>, B: Layer<f64>> Zeros for StackRecord<A, B> {
    fn zeros() -> Self {
        StackRecord {
            a: A::Record::zeros(),
            mid: A::Output::zeros(),
            b: B::Record::zeros(),
        }
    }
}

impl<A: Zeros, B: Zeros> Zeros for Stack<A, B> {
    fn zeros() -> Self {
        Stack {
            a: A::zeros(),
            b: B::zeros(),
        }
    }
}

impl<A: Params<f64>, B: Params<f64>> Params<f64> for Stack<A, B> {
    const TENSORS: usize = A::TENSORS + B::TENSORS;
    const LEN: usize = A::LEN + B::LEN;
    fn tensor(&self, i: usize) -> &[f64] {
        if i < A::TENSORS {
            self.a.tensor(i)
        } else {
            self.b.tensor(i - A::TENSORS)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f64] {
        if i < A::TENSORS {
            self.a.tensor_mut(i)
        } else {
            self.b.tensor_mut(i - A::TENSORS)
        }
    }
    fn tensor_info(i: usize) -> crate::TensorInfo {
        if i < A::TENSORS {
            A::tensor_info(i)
        } else {
            B::tensor_info(i - A::TENSORS)
        }
    }
}

/// The stack's gradient: the two layers' gradients side by side.
impl<A, B> Layer<f64> for Stack<A, B>
where
    A: Layer<f64> + Clone,
    B: Layer<f64, Input = A::Output> + Clone,
{
    type Input = A::Input;
    type Output = B::Output;
    type Record = StackRecord<A, B>;
    type Grad = Stack<A::Grad, B::Grad>;
    const KIND: &'static str = "stack";
    const MACS: usize = A::MACS + B::MACS;
    fn forward(&self, x: &A::Input, y: &mut B::Output) {
        let mut mid = A::Output::zeros();
        self.a.forward(x, &mut mid);
        self.b.forward(&mid, y);
    }
    fn forward_train(&mut self, x: &A::Input, y: &mut B::Output, rec: &mut Self::Record) {
        self.a.forward_train(x, &mut rec.mid, &mut rec.a);
        self.b.forward_train(&rec.mid, y, &mut rec.b);
    }
    fn backward(
        &self,
        x: &A::Input,
        y: &B::Output,
        rec: &Self::Record,
        dy: &B::Output,
        dx: Option<&mut A::Input>,
        grad: &mut Self::Grad,
    ) {
        let mut dmid = A::Output::zeros();
        self.b
            .backward(&rec.mid, y, &rec.b, dy, Some(&mut dmid), &mut grad.b);
        self.a.backward(x, &rec.mid, &rec.a, &dmid, dx, &mut grad.a);
    }
}

#[test]
fn rnn_gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(31);
    check_layer(&random::<Rnn<f64, 5, 3, 4, 1, true, 15, 20>>(rng), rng);
    check_layer(&random::<Rnn<f64, 5, 3, 4, 2, false, 15, 8>>(rng), rng);
    check_layer(
        &random::<Rnn<f64, 5, 3, 4, 2, true, 15, 40, true>>(rng),
        rng,
    );
    check_layer(&random::<Rnn<f64, 1, 2, 3, 1, false, 2, 3, true>>(rng), rng);
    let l = random::<Rnn<f64, 6, 2, 5, 2, true, 12, 60>>(rng);
    check_layer(&FromState::new(l, rng), rng);
    // Hidden sizes that are multiples of 8 take the eight-row product.
    let l = random::<Rnn<f64, 3, 2, 8, 2, true, 6, 48>>(rng);
    check_layer(&FromState::new(l, rng), rng);
}

#[test]
fn gru_gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(32);
    check_layer(&random::<Gru<f64, 5, 3, 4, 1, true, 15, 20>>(rng), rng);
    check_layer(&random::<Gru<f64, 5, 3, 4, 2, false, 15, 8>>(rng), rng);
    check_layer(&random::<Gru<f64, 5, 3, 4, 2, true, 15, 40>>(rng), rng);
    check_layer(&random::<Gru<f64, 1, 2, 3, 1, false, 2, 3>>(rng), rng);
    let l = random::<Gru<f64, 6, 2, 5, 2, true, 12, 60>>(rng);
    check_layer(&FromState::new(l, rng), rng);
    let l = random::<Gru<f64, 3, 2, 8, 2, true, 6, 48>>(rng);
    check_layer(&FromState::new(l, rng), rng);
}

#[test]
fn lstm_gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(33);
    check_layer(&random::<Lstm<f64, 5, 3, 4, 1, true, 15, 20>>(rng), rng);
    check_layer(&random::<Lstm<f64, 5, 3, 4, 2, false, 15, 8>>(rng), rng);
    check_layer(&random::<Lstm<f64, 5, 3, 4, 2, true, 15, 40>>(rng), rng);
    check_layer(&random::<Lstm<f64, 1, 2, 3, 1, false, 2, 3>>(rng), rng);
    let l = random::<Lstm<f64, 6, 2, 5, 2, true, 12, 60>>(rng);
    check_layer(&FromState::new(l, rng), rng);
    let l = random::<Lstm<f64, 3, 2, 8, 2, true, 6, 48>>(rng);
    check_layer(&FromState::new(l, rng), rng);
}

#[test]
fn stacked_gradients_match_finite_differences() {
    let rng = &mut SplitMix64::new(34);
    // A bidirectional LSTM's sequence into a GRU's last state.
    let a = random::<Lstm<f64, 5, 3, 4, 2, true, 15, 40>>(rng);
    let b = random::<Gru<f64, 5, 8, 3, 1, false, 40, 3>>(rng);
    check_layer(&Stack { a, b }, rng);
    // A ReLU RNN into a bidirectional LSTM, both from carried states.
    let a = FromState::new(random::<Rnn<f64, 4, 2, 3, 1, true, 8, 12, true>>(rng), rng);
    let b = FromState::new(random::<Lstm<f64, 4, 3, 4, 2, false, 12, 8>>(rng), rng);
    check_layer(&Stack { a, b }, rng);
}

#[test]
fn forward_and_backward_overwrite_their_outputs() {
    let rng = &mut SplitMix64::new(35);
    check_overwrites(&random::<Rnn<f64, 5, 3, 4, 1, true, 15, 20>>(rng), 1);
    check_overwrites(&random::<Rnn<f64, 5, 3, 4, 2, false, 15, 8, true>>(rng), 2);
    check_overwrites(&random::<Gru<f64, 5, 3, 4, 2, true, 15, 40>>(rng), 3);
    check_overwrites(&random::<Gru<f64, 5, 3, 4, 1, false, 15, 4>>(rng), 4);
    check_overwrites(&random::<Lstm<f64, 5, 3, 4, 2, true, 15, 40>>(rng), 5);
    check_overwrites(&random::<Lstm<f64, 5, 3, 17, 1, false, 15, 17>>(rng), 6);
    check_overwrites(&random::<Lstm<f64, 3, 3, 16, 1, true, 9, 48>>(rng), 9);
    check_overwrites(&random::<Gru<f64, 3, 3, 8, 2, false, 9, 16>>(rng), 10);
    check_overwrites(&random::<Rnn<f64, 3, 3, 8, 1, true, 9, 24, true>>(rng), 11);
    let l = random::<Lstm<f64, 5, 3, 4, 2, false, 15, 8>>(rng);
    check_overwrites(&FromState::new(l, rng), 7);
    let l = random::<Gru<f64, 5, 3, 4, 2, true, 15, 40>>(rng);
    check_overwrites(&FromState::new(l, rng), 8);
}

/// Carrying the state: a sequence read in two halves, the second from the state the first
/// ended in, gives what reading it at once gives (the forward direction's outputs).
#[test]
fn state_carries_across_calls() {
    let rng = &mut SplitMix64::new(36);
    let whole = random::<Lstm<f64, 6, 2, 3, 1, true, 12, 18>>(rng);
    let mut half = Lstm::<f64, 3, 2, 3, 1, true, 6, 9>::zeros();
    for i in 0..4 {
        half.tensor_mut(i).copy_from_slice(whole.tensor(i));
    }
    let x: SVector<f64, 12> = SVector::from_fn(|i, _| (i as f64 * 0.7).sin());
    let (mut y, mut fin) = (SVector::zeros(), LstmState::zeros());
    whole.forward_from(&x, &LstmState::zeros(), &mut y, &mut fin);
    let (mut y1, mut y2) = (SVector::zeros(), SVector::zeros());
    let (mut mid, mut end) = (LstmState::zeros(), LstmState::zeros());
    half.forward_from(
        &x.fixed_rows::<6>(0).into(),
        &LstmState::zeros(),
        &mut y1,
        &mut mid,
    );
    half.forward_from(&x.fixed_rows::<6>(6).into(), &mid, &mut y2, &mut end);
    assert_eq!(y.as_slice()[..9], y1.as_slice()[..]);
    assert_eq!(y.as_slice()[9..], y2.as_slice()[..]);
    assert_eq!(end, fin);
    // The training forward ends in the same state, and its last h is the last output.
    let mut rec = LstmRecord::zeros();
    half.clone()
        .forward_train_from(&x.fixed_rows::<6>(6).into(), &mid, &mut y2, &mut rec);
    assert_eq!(Lstm::<f64, 3, 2, 3, 1, true, 6, 9>::final_state(&rec), fin);
    assert_eq!(fin.h[0].as_slice(), &y.as_slice()[15..]);
}

#[test]
fn parameters_are_named_and_shaped_as_in_pytorch() {
    type L = Lstm<f32, 28, 28, 128, 2, false, 784, 256>;
    let names: Vec<_> = (0..8).map(|i| L::tensor_info(i).name).collect();
    assert_eq!(names, torch::CASES[14].tensors);
    assert_eq!(L::tensor_info(5).shape, Shape::matrix(512, 128));
    assert_eq!(L::tensor_info(6).shape, Shape::vector(512));
    assert_eq!(L::tensor_info(0).kind, TensorKind::Weight);
    assert_eq!(L::tensor_info(3).kind, TensorKind::Bias);
    assert_eq!(
        (L::tensor_info(0).fan_in, L::tensor_info(0).fan_out),
        (28, 512)
    );
    assert_eq!(L::LEN, 2 * (512 * 28 + 512 * 128 + 2 * 512));
    assert_eq!(
        <Gru<f32, 4, 3, 5, 1, true, 12, 20> as Params<f32>>::LEN,
        15 * (3 + 5 + 2)
    );
    assert_eq!(
        <Rnn<f32, 4, 3, 5, 1, true, 12, 20> as Layer<f32>>::KIND,
        "rnn"
    );
    // Weight row r of gate g is contiguous at r·IN in the flat tensor.
    let mut l = Lstm::<f64, 2, 3, 2, 1, true, 6, 4>::zeros();
    l.dirs[0].weight_ih[2][1] = [1.0, 2.0, 3.0];
    assert_eq!(&l.tensor(0)[(2 * 2 + 1) * 3..][..3], &[1.0, 2.0, 3.0]);
}

/// Median times of the benchmark model's LSTM(128) over 28 steps of 28 features (f32, batch
/// 1): `cargo test -p stacknet-runtime --release --lib recurrent::tests::timing -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn timing() {
    use std::time::Instant;
    type L = Lstm<f32, 28, 28, 128, 1, false, 784, 128>;
    let mut rng = SplitMix64::new(1);
    let mut l = L::zeros();
    for i in 0..4 {
        l.tensor_mut(i)
            .iter_mut()
            .for_each(|v| *v = uniform_sym(&mut rng, 0.088) as f32);
    }
    let x = SVector::<f32, 784>::from_fn(|i, _| (i as f32 * 0.01).sin());
    let dy = SVector::<f32, 128>::from_fn(|i, _| (i as f32 * 0.3).cos());
    let median = |f: &mut dyn FnMut()| {
        let mut ts: Vec<f64> = (0..400)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        ts.sort_by(|a, b| a.total_cmp(b));
        ts[ts.len() / 2]
    };
    let mut y = SVector::zeros();
    let fwd = median(&mut || {
        l.forward(std::hint::black_box(&x), &mut y);
        std::hint::black_box(&y);
    });
    let mut rec = std::boxed::Box::new(LstmRecord::zeros());
    let mut g = std::boxed::Box::new(L::zeros());
    let mut dx = SVector::zeros();
    let train = median(&mut || {
        l.forward_train(std::hint::black_box(&x), &mut y, &mut rec);
        l.backward(&x, &y, &rec, &dy, Some(&mut dx), &mut g);
        std::hint::black_box(&g);
    });
    std::println!(
        "lstm(128) 28×28 f32: forward {fwd:.1} µs, forward_train + backward {train:.1} µs"
    );
}
