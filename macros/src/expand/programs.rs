//! The programs of the plan as code: inference over its arena, the training forward into the
//! record, backward over its arena, and the batch path over arrays of `B` samples.
//!
//! Every buffer of an arena is a region seen as the layer's vector through `graph::view`,
//! `view_mut` or `split` (offsets as const generics, checked at compile time); the caller's
//! vectors (`x0`, `dy`, the optional `dx`) are used directly.

use super::{local, rec, svector, x, Cx};
use crate::layers::int;
use crate::plan::{Arena, Bwd, DxTo, Fwd, Loc, Move, Step, Value, INPUT};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

impl Cx<'_> {
    /// The arena's declaration, if the program uses one.
    pub(super) fn arena(&self, arena: &Arena) -> TokenStream {
        let rt = &self.rt;
        if arena.len == 0 {
            return TokenStream::new();
        }
        let n = int(arena.len);
        quote!(let mut arena: #rt::nalgebra::SVector<T, #n> = #rt::Zeros::zeros();)
    }

    /// `view::<T, A, at, n>(&arena)` of a buffer.
    fn view(&self, arena: &Arena, buf: usize, mutable: bool) -> TokenStream {
        let rt = &self.rt;
        let (a, b) = (int(arena.len), arena.buffers[buf]);
        let (at, n) = (int(b.offset), int(b.len));
        if mutable {
            quote!(#rt::graph::view_mut::<T, #a, #at, #n>(&mut arena))
        } else {
            quote!(#rt::graph::view::<T, #a, #at, #n>(&arena))
        }
    }

    /// `let (src, dst) = split(..)` for two buffers of the arena.
    fn split(&self, arena: &Arena, src: usize, dst: usize) -> TokenStream {
        let rt = &self.rt;
        let (a, s, d) = (int(arena.len), arena.buffers[src], arena.buffers[dst]);
        let (sat, sn, dat, dn) = (int(s.offset), int(s.len), int(d.offset), int(d.len));
        quote!(let (src, dst) = #rt::graph::split::<T, #a, #sat, #sn, #dat, #dn>(&mut arena);)
    }

    /// `graph::copy` or `graph::accumulate` of a move, between two expressions.
    fn move_call(&self, m: &Move, src: TokenStream, dst: TokenStream) -> TokenStream {
        let rt = &self.rt;
        let f = if m.add {
            quote!(accumulate)
        } else {
            quote!(copy)
        };
        let geometry = move_geometry(m);
        quote!(#rt::graph::#f::<T, #geometry>(#src, #dst);)
    }

    /// A move over every sample of a minibatch, between two arrays of vectors.
    fn move_batch_call(&self, m: &Move, src: TokenStream, dst: TokenStream) -> TokenStream {
        let rt = &self.rt;
        let (geometry, add) = (move_geometry(m), m.add);
        quote!(#rt::graph::move_batch::<T, #geometry, B>(#add, #src, #dst);)
    }

    /// A move in a per-sample program; `given` is the caller's vector (`x0` or `dy`).
    fn move_in_arena(&self, arena: &Arena, m: &Move, given: &Ident) -> TokenStream {
        match (m.src, m.dst) {
            (Loc::Buf(s), Loc::Buf(d)) => {
                let split = self.split(arena, s, d);
                let call = self.move_call(m, quote!(src), quote!(dst));
                quote!({ #split #call })
            }
            (Loc::Buf(s), Loc::Dx) => {
                let call = self.move_call(m, self.view(arena, s, false), quote!(dx));
                quote!(if let ::core::option::Option::Some(dx) = dx.as_deref_mut() { #call })
            }
            (Loc::Given, Loc::Dx) => {
                let call = self.move_call(m, quote!(#given), quote!(dx));
                quote!(if let ::core::option::Option::Some(dx) = dx.as_deref_mut() { #call })
            }
            (Loc::Given, Loc::Buf(d)) => {
                self.move_call(m, quote!(#given), self.view(arena, d, true))
            }
            // The plan never moves into the caller's read-only vectors or out of `dx`.
            _ => TokenStream::new(),
        }
    }

    /// Inference: the plan's forward program over one arena, then the output copied out.
    /// With `stateful`, recurrent layers start from `state` and leave their final state there.
    pub(super) fn forward(&self, stateful: bool) -> TokenStream {
        let ops = self.forward_ops(stateful, false);
        let arena = &self.plan.forward_arena;
        let declare = self.arena(arena);
        let output = match self.plan.output {
            INPUT => quote!(::core::clone::Clone::clone(x0)),
            _ => match self.plan.forward_output {
                Loc::Buf(buf) => {
                    let view = self.view(arena, buf, false);
                    quote!(::core::clone::Clone::clone(#view))
                }
                _ => quote!(::core::clone::Clone::clone(x0)),
            },
        };
        quote! {
            #declare
            #(#ops)*
            #output
        }
    }

    /// The inference program's statements. With `observe`, each is followed by widening
    /// `seen[v]`, the calibration range of the value `v` it wrote (the int8 twin's `quantize`).
    pub(super) fn forward_ops(&self, stateful: bool, observe: bool) -> Vec<TokenStream> {
        let rt = &self.rt;
        let arena = &self.plan.forward_arena;
        let given = format_ident!("x0");
        let observation = |step: usize, buf: usize| {
            if !observe {
                return TokenStream::new();
            }
            let (v, view) = (self.written(step), self.view(arena, buf, false));
            quote!(seen[#v].observe(#view.as_slice());)
        };
        self.plan.forward.iter().map(|op| match op {
            Fwd::Layer { layer, step, x, y } => {
                let field = &layer.field;
                let call = |src: TokenStream, dst: TokenStream| {
                    if stateful && layer.op.state {
                        quote!({
                            let from = ::core::clone::Clone::clone(&state.#field);
                            #rt::Recurrent::forward_from(&self.#field, #src, &from, #dst, &mut state.#field);
                        })
                    } else {
                        quote!(#rt::graph::forward(&self.#field, #src, #dst);)
                    }
                };
                let seen = observation(*step, *y);
                match x {
                    Loc::Buf(b) => {
                        let split = self.split(arena, *b, *y);
                        let call = call(quote!(src), quote!(dst));
                        quote!({ #split #call } #seen)
                    }
                    _ => {
                        let y = self.view(arena, *y, true);
                        let call = call(quote!(x0), y);
                        quote!(#call #seen)
                    }
                }
            }
            Fwd::InPlace { layer, step, buf } => {
                let (field, ty) = (&layer.field, &layer.op.ty);
                let xy = self.view(arena, *buf, true);
                let seen = observation(*step, *buf);
                quote!(<#ty as #rt::InPlace<T>>::forward_in_place(&self.#field, #xy); #seen)
            }
            Fwd::Move(m) => self.move_in_arena(arena, m, &given),
        })
        .collect()
    }

    /// Training forward of one sample: every value into the record. With `stateful`,
    /// recurrent layers start from `state` and leave their final state there.
    pub(super) fn forward_train(&self, stateful: bool) -> TokenStream {
        let rt = &self.rt;
        let steps = self.plan.steps.iter().map(|step| match step {
            Step::Layer { layer, index, x: a, y } if stateful && layer.op.state => {
                let (field, from, to, r) = (&layer.field, x(*a), x(*y), rec(*index));
                let ty = &layer.op.ty;
                quote! {
                    #rt::Recurrent::forward_train_from(&mut self.#field, &r.#from, &state.#field, &mut r.#to, &mut r.#r);
                    state.#field = <#ty as #rt::Recurrent<T>>::final_state(&r.#r);
                }
            }
            Step::Layer { layer, index, x: a, y } => {
                let (field, from, to, r) = (&layer.field, x(*a), x(*y), rec(*index));
                quote!(#rt::graph::forward_train(&mut self.#field, &r.#from, &mut r.#to, &mut r.#r);)
            }
            _ => {
                let moves = self.join_moves(step);
                let calls = moves
                    .iter()
                    .map(|(m, src, dst)| self.move_call(m, quote!(&r.#src), quote!(&mut r.#dst)));
                quote!(#(#calls)*)
            }
        });
        quote!(#(#steps)*)
    }

    /// A join's moves between record values: `(move, src field, dst field)`.
    fn join_moves(&self, step: &Step) -> Vec<(Move, Ident, Ident)> {
        // Record fields are named, not located: the locations are unused here.
        let whole = |v: Value, y: Value, add: bool| {
            let n = self.plan.len(y);
            (Move::whole(add, Loc::Given, Loc::Given, n), x(v), x(y))
        };
        match step {
            Step::Layer { .. } => Vec::new(),
            Step::Add { a, b, y, .. } => vec![whole(*a, *y, false), whole(*b, *y, true)],
            Step::Concat { parts, y, .. } => {
                let mut at = 0;
                parts
                    .iter()
                    .map(|&part| {
                        let m = self.plan.len(part);
                        let mv = Move {
                            add: false,
                            src: Loc::Given,
                            src_len: m,
                            src_at: 0,
                            dst: Loc::Given,
                            dst_len: self.plan.len(*y),
                            dst_at: at,
                            len: m,
                        };
                        at += m;
                        (mv, x(part), x(*y))
                    })
                    .collect()
            }
        }
    }

    /// Backward of one sample: the plan's backward program over one arena.
    pub(super) fn backward(&self) -> TokenStream {
        let rt = &self.rt;
        let arena = &self.plan.backward_arena;
        let given = format_ident!("dy");
        let ops = self.plan.backward.iter().map(|op| match op {
            Bwd::Layer {
                layer,
                index,
                x: a,
                y,
                dy,
                dx,
            } => {
                let (field, from, to, r) = (&layer.field, x(*a), x(*y), rec(*index));
                let call = |dy: TokenStream, dx: TokenStream| {
                    quote!(#rt::graph::backward(&self.#field, (&r.#from, &r.#to, &r.#r), #dy, #dx, &mut g.#field);)
                };
                let some = |e: TokenStream| quote!(::core::option::Option::Some(#e));
                match (dy, dx) {
                    (Loc::Buf(b), DxTo::Buf(c)) => {
                        let split = self.split(arena, *b, *c);
                        let call = call(quote!(src), some(quote!(dst)));
                        quote!({ #split #call })
                    }
                    (_, DxTo::Buf(c)) => call(quote!(dy), some(self.view(arena, *c, true))),
                    (Loc::Buf(b), DxTo::Given) => {
                        call(self.view(arena, *b, false), quote!(dx.as_deref_mut()))
                    }
                    (_, DxTo::Given) => call(quote!(dy), quote!(dx.as_deref_mut())),
                    (dy, DxTo::AddToGiven { temp }) => {
                        let n = self.plan.len(*a);
                        let add = Move::whole(true, Loc::Buf(*temp), Loc::Dx, n);
                        let accumulate =
                            self.move_call(&add, self.view(arena, *temp, false), quote!(dx));
                        let (with, without) = match dy {
                            Loc::Buf(b) => {
                                let split = self.split(arena, *b, *temp);
                                let with = call(quote!(src), some(quote!(dst)));
                                let without = call(
                                    self.view(arena, *b, false),
                                    quote!(::core::option::Option::None),
                                );
                                (quote!(#split #with), without)
                            }
                            _ => (
                                call(quote!(dy), some(self.view(arena, *temp, true))),
                                call(quote!(dy), quote!(::core::option::Option::None)),
                            ),
                        };
                        quote! {
                            match dx.as_deref_mut() {
                                ::core::option::Option::Some(dx) => { { #with } #accumulate }
                                ::core::option::Option::None => { #without }
                            }
                        }
                    }
                }
            }
            Bwd::InPlace {
                layer,
                x: a,
                y,
                buf,
            } => {
                let (field, ty, from, to) = (&layer.field, &layer.op.ty, x(*a), x(*y));
                let d = self.view(arena, *buf, true);
                quote!(<#ty as #rt::InPlace<T>>::backward_in_place(&self.#field, &r.#from, &r.#to, #d);)
            }
            Bwd::Move(m) => self.move_in_arena(arena, m, &given),
        });
        let declare = self.arena(arena);
        quote! {
            #declare
            #(#ops)*
        }
    }

    /// `BatchNetwork<T>`: the same schedule over `B` samples at a time, each layer taking its
    /// whole minibatch (what batch statistics need), gradients in one local array per buffer.
    pub(super) fn expand_batch_network(&self) -> TokenStream {
        let rt = &self.rt;
        let (ident, grad, record) = (&self.net.ident, self.grad(), self.batch_record());
        let (input_ty, output_ty) = (
            svector(rt, self.net.input),
            svector(rt, self.output_shape()),
        );
        let out = x(self.plan.output);
        let forward = self.plan.steps.iter().map(|step| match step {
            Step::Layer { layer, index, x: a, y } => {
                let (field, from, to, r) = (&layer.field, x(*a), x(*y), rec(*index));
                quote!(#rt::Layer::<T>::forward_train_batch(&mut self.#field, &r.#from, &mut r.#to, &mut r.#r);)
            }
            _ => {
                let calls = self.join_moves(step).into_iter().map(|(m, src, dst)| {
                    self.move_batch_call(&m, quote!(&r.#src), quote!(&mut r.#dst))
                });
                quote!(#(#calls)*)
            }
        });
        let mut used = std::collections::BTreeSet::new();
        let backward: Vec<TokenStream> = self
            .plan
            .backward
            .iter()
            .map(|op| self.batch_backward_op(op, &mut used))
            .collect();
        let buffers = &self.plan.backward_arena.buffers;
        let locals = used.iter().map(|&b| {
            let (name, n) = (local(b), int(buffers[b].len));
            quote!(let mut #name: [#rt::nalgebra::SVector<T, #n>; B] = #rt::Zeros::zeros();)
        });
        quote! {
            impl<T: #rt::Scalar> #rt::BatchNetwork<T> for #ident<T> {
                type BatchRecord<const B: ::core::primitive::usize> = #record<T, B>;

                fn forward_train_batch<const B: ::core::primitive::usize>(&mut self, xs: &[#input_ty; B], r: &mut #record<T, B>) {
                    r.x0.clone_from(xs);
                    #(#forward)*
                }

                fn batch_outputs<const B: ::core::primitive::usize>(r: &#record<T, B>) -> &[#output_ty; B] {
                    &r.#out
                }

                fn backward_batch<const B: ::core::primitive::usize>(&self, r: &#record<T, B>, dy: &[#output_ty; B], g: &mut #grad<T>) {
                    #(#locals)*
                    #(#backward)*
                }
            }
        }
    }

    /// One backward instruction over batch arrays; the batch path wants no input gradient.
    fn batch_backward_op(
        &self,
        op: &Bwd,
        used: &mut std::collections::BTreeSet<usize>,
    ) -> TokenStream {
        let rt = &self.rt;
        let mut array = |loc: Loc| -> TokenStream {
            match loc {
                Loc::Buf(b) => {
                    used.insert(b);
                    let name = local(b);
                    quote!(#name)
                }
                _ => quote!(dy),
            }
        };
        match op {
            Bwd::Layer {
                layer,
                index,
                x: a,
                y,
                dy,
                dx,
            } => {
                let (field, from, to, r) = (&layer.field, x(*a), x(*y), rec(*index));
                let src = match dy {
                    Loc::Buf(_) => {
                        let name = array(*dy);
                        quote!(&#name)
                    }
                    _ => quote!(dy),
                };
                let dst = match dx {
                    DxTo::Buf(c) => {
                        let c = array(Loc::Buf(*c));
                        quote!(::core::option::Option::Some(&mut #c))
                    }
                    _ => quote!(::core::option::Option::None),
                };
                quote!(#rt::Layer::<T>::backward_batch(&self.#field, &r.#from, &r.#to, &r.#r, #src, #dst, &mut g.#field);)
            }
            Bwd::InPlace {
                layer,
                x: a,
                y,
                buf,
                ..
            } => {
                let (field, ty, from, to) = (&layer.field, &layer.op.ty, x(*a), x(*y));
                let d = array(Loc::Buf(*buf));
                quote!(#rt::graph::backward_in_place_batch::<T, #ty, B>(&self.#field, &r.#from, &r.#to, &mut #d);)
            }
            Bwd::Move(m) => {
                if m.dst == Loc::Dx {
                    return TokenStream::new();
                }
                let (src, dst) = (array(m.src), array(m.dst));
                self.move_batch_call(m, quote!(&#src), quote!(&mut #dst))
            }
        }
    }
}

/// A move's const arguments as the runtime's moves take them: source length and offset,
/// destination length and offset, the number of values.
fn move_geometry(m: &Move) -> TokenStream {
    let (sn, sat, dn, dat, n) = (
        int(m.src_len),
        int(m.src_at),
        int(m.dst_len),
        int(m.dst_at),
        int(m.len),
    );
    quote!(#sn, #sat, #dn, #dat, #n)
}
