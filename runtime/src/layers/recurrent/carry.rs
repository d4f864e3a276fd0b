//! The runtime's [`Recurrent`] trait for the three kinds: `network!` reaches their carried
//! state through it (`forward_from` on the generated network).

use super::{Gru, GruRecord, HiddenState, Lstm, LstmRecord, LstmState, Rnn, RnnRecord};
use crate::{Recurrent, Scalar};
use nalgebra::SVector;

/// `impl Recurrent` by the inherent methods, which have the trait's signatures.
macro_rules! recurrent {
    ($ty:ident $(, const $extra:ident: $et:ty)?; $record:ident, $state:ident) => {
        impl<
                T: Scalar,
                const STEPS: usize,
                const IN: usize,
                const H: usize,
                const DIRS: usize,
                const SEQ: bool,
                const XLEN: usize,
                const YLEN: usize,
                $(const $extra: $et,)?
            > Recurrent<T> for $ty<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN $(, $extra)?>
        {
            type State = $state<T, H, DIRS>;

            fn forward_from(
                &self,
                x: &SVector<T, XLEN>,
                state: &Self::State,
                y: &mut SVector<T, YLEN>,
                last: &mut Self::State,
            ) {
                <$ty<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN $(, $extra)?>>::forward_from(self, x, state, y, last)
            }

            fn forward_train_from(
                &mut self,
                x: &SVector<T, XLEN>,
                state: &Self::State,
                y: &mut SVector<T, YLEN>,
                rec: &mut $record<T, STEPS, H, DIRS>,
            ) {
                <$ty<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN $(, $extra)?>>::forward_train_from(self, x, state, y, rec)
            }

            fn final_state(rec: &$record<T, STEPS, H, DIRS>) -> Self::State {
                <$ty<T, STEPS, IN, H, DIRS, SEQ, XLEN, YLEN $(, $extra)?>>::final_state(rec)
            }
        }
    };
}

recurrent! { Rnn, const RELU: bool; RnnRecord, HiddenState }
recurrent! { Gru; GruRecord, HiddenState }
recurrent! { Lstm; LstmRecord, LstmState }
