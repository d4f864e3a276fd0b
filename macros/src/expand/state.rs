//! The carried state of a network with recurrent layers: `NetState`, one field per recurrent
//! layer, and `forward_from` / `forward_train_from`, which start every recurrent layer from
//! the given state and leave its final state there (adjacent sampling of a long sequence, with
//! truncated backpropagation through time: backward treats the starting state as a constant).
//!
//! A network without recurrent layers gets none of this.

use super::{svector, Cx};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Cx<'_> {
    pub(super) fn expand_state(&self) -> TokenStream {
        let rt = &self.rt;
        let recurrent: Vec<_> = self.layers().filter(|(_, l)| l.op.state).collect();
        if recurrent.is_empty() {
            return TokenStream::new();
        }
        let ident = &self.net.ident;
        let vis = &self.net.vis;
        let state = format_ident!("{}State", ident);
        let record = self.record();
        let (input_ty, output_ty) = (
            svector(rt, self.net.input),
            svector(rt, self.output_shape()),
        );
        let fields = recurrent.iter().map(|(_, l)| {
            let (field, ty) = (&l.field, &l.op.ty);
            let doc = format!(
                " The state `{}` (`{}`) starts from and ends in, per direction.",
                l.path, l.kind
            );
            quote!(#[doc = #doc] pub #field: <#ty as #rt::Recurrent<T>>::State,)
        });
        let names: Vec<_> = recurrent.iter().map(|(_, l)| &l.field).collect();
        let doc = format!(
            "The state `{ident}`'s recurrent layers carry from one call to the next, one field per layer: see [`{ident}::forward_from`]. Zeros is the state every plain forward starts from."
        );
        let forward = self.forward(true);
        let forward_train = self.forward_train(true);
        let out = super::x(self.plan.output);
        quote! {
            #[doc = #doc]
            #vis struct #state<T: #rt::Scalar = ::core::primitive::f32> {
                #(#fields)*
            }

            impl<T: #rt::Scalar> #rt::Zeros for #state<T> {
                fn zeros() -> Self {
                    Self { #(#names: #rt::Zeros::zeros(),)* }
                }
            }

            impl<T: #rt::Scalar> ::core::clone::Clone for #state<T> {
                fn clone(&self) -> Self {
                    Self { #(#names: ::core::clone::Clone::clone(&self.#names),)* }
                }
            }

            impl<T: #rt::Scalar> #ident<T> {
                /// Inference from `state` rather than zeros: every recurrent layer starts from
                /// its field of `state` and leaves its final state there, so consecutive
                /// chunks of a long sequence read as one.
                pub fn forward_from(&self, x0: &#input_ty, state: &mut #state<T>) -> #output_ty {
                    #forward
                }

                /// The training forward from `state`, leaving the final state there.
                /// Backward (the usual `Network::backward` on `r`) treats the starting state
                /// as a constant: truncated backpropagation through time.
                pub fn forward_train_from<'r>(&mut self, x: &#input_ty, state: &mut #state<T>, r: &'r mut #record<T>) -> &'r #output_ty {
                    r.x0.clone_from(x);
                    #forward_train
                    &r.#out
                }
            }
        }
    }
}
