//! Plain stochastic gradient descent: w ← w − α g.

use super::Optimizer;
use crate::{Network, Params, Scalar};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<T> {
    pub lr: T,
}

impl<T: Scalar> Sgd<T> {
    pub fn new(lr: f64) -> Self {
        Sgd { lr: T::of(lr) }
    }
}

impl<T: Scalar, N: Network<T>> Optimizer<T, N> for Sgd<T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        for i in 0..N::TENSORS {
            for (w, &g) in net.tensor_mut(i).iter_mut().zip(grad.tensor(i)) {
                *w -= self.lr * g;
            }
        }
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}
