//! The int8 twin of a `#[int8]` network (`LeNet5Int8` beside `LeNet5`): its struct of int8
//! layers, the float network's `quantize` (calibration, then every layer through the
//! runtime's `quant::Quantize`), the int8 inference program and the byte form.
//!
//! The twin runs the float plan's inference schedule over an arena of `i8`: the same buffers
//! and offsets, one byte per value. A ReLU or ReLU6 right after a dense layer or convolution
//! whose output nothing else reads fuses into that layer's output clamp, as TFLite fuses it;
//! layers that change nothing on int8 values (flatten, reshape, dropout) vanish. Every value
//! gets its quantisation at `quantize` time: the input and each requantising layer's output
//! from their calibration ranges (a fused activation's output range for the layer it fuses
//! into), every other value its input's.

use super::Cx;
use crate::ir;
use crate::layers::{int, Int8};
use crate::names;
use crate::plan::{self, Arena, Fwd, Loc, Step, Value, INPUT};
use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::Ident;

/// How each layer step appears in the twin.
struct Roles<'a> {
    /// Per step: the ReLU or ReLU6 fused into it, and that activation's step.
    fused_into: Vec<Option<(usize, &'a ir::Layer)>>,
    /// Per step: whether it is an activation fused into the step before it.
    fused: Vec<bool>,
}

impl<'a> Cx<'a> {
    /// The value step `step` writes.
    pub(super) fn written(&self, step: usize) -> Value {
        match &self.plan.steps[step] {
            Step::Layer { y, .. } | Step::Add { y, .. } | Step::Concat { y, .. } => *y,
        }
    }

    fn twin(&self) -> Ident {
        names::companion(&self.net.ident, "Int8")
    }

    fn roles(&self) -> Roles<'a> {
        let steps = &self.plan.steps;
        // How many steps read each value (the output is read once more, by the caller), and
        // which step writes it.
        let mut readers = vec![0usize; self.plan.values.len()];
        let mut producer = vec![None; self.plan.values.len()];
        readers[self.plan.output] += 1;
        for (i, step) in steps.iter().enumerate() {
            for v in plan::reads(step) {
                readers[v] += 1;
            }
            producer[self.written(i)] = Some(i);
        }
        let mut roles = Roles {
            fused_into: vec![None; steps.len()],
            fused: vec![false; steps.len()],
        };
        for (i, step) in steps.iter().enumerate() {
            let Step::Layer { layer, x, .. } = step else {
                continue;
            };
            if layer.op.int8 != Int8::Clamp || readers[*x] != 1 {
                continue;
            }
            let rescales = |j: usize| matches!(&steps[j], Step::Layer { layer, .. } if layer.op.int8 == Int8::Rescale);
            if let Some(j) = producer[*x].filter(|&j| rescales(j)) {
                roles.fused_into[j] = Some((i, layer));
                roles.fused[i] = true;
            }
        }
        roles
    }

    /// The layers with a field in the twin, in schedule order: all but the fused activations
    /// and the layers that vanish.
    fn twin_layers(&self, roles: &Roles<'a>) -> Vec<(usize, &'a ir::Layer)> {
        self.plan
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, step)| match step {
                Step::Layer { layer, .. } if layer.op.int8 != Int8::Identity && !roles.fused[i] => {
                    Some((i, *layer))
                }
                _ => None,
            })
            .collect()
    }

    /// The twin's type of a layer: its float type at `f32` through `quant::Quantize`.
    fn twin_type(&self, layer: &ir::Layer) -> TokenStream {
        let rt = &self.rt;
        let float = at_f32(layer.op.ty.clone());
        quote!(<#float as #rt::quant::Quantize>::Int8)
    }

    pub(super) fn expand_int8(&self) -> TokenStream {
        if !self.net.int8 {
            return TokenStream::new();
        }
        let rt = &self.rt;
        let (ident, twin, vis) = (&self.net.ident, self.twin(), &self.net.vis);
        let roles = self.roles();
        let layers = self.twin_layers(&roles);
        let (n_in, n_out) = (
            int(self.plan.len(INPUT)),
            int(self.plan.len(self.plan.output)),
        );
        let fields: Vec<&Ident> = layers.iter().map(|(_, l)| &l.field).collect();
        let types: Vec<TokenStream> = layers.iter().map(|(_, l)| self.twin_type(l)).collect();
        let field_docs = layers.iter().map(|(i, l)| {
            let fused = roles.fused_into[*i]
                .map(|(_, a)| format!(", with the following `{}` fused", a.kind))
                .unwrap_or_default();
            format!("`{}` ({}){fused}.", l.path, l.kind)
        });
        // Every field's name, type (without the runtime's path, however it is spelled) and
        // fused activation: what the byte form must agree on.
        let prefix = rt.to_string();
        let description: String = layers
            .iter()
            .map(|(i, l)| {
                let fused = roles.fused_into[*i].map_or("", |(_, a)| a.kind);
                let ty = l.op.ty.to_string().replace(&prefix, "");
                format!("{}:{ty}:{fused};", l.field)
            })
            .collect();
        let arena_len = int(self.plan.forward_arena.len);
        let forward = self.int8_forward(&roles);
        let quantize = self.quantize_body(&roles, &layers);
        let doc = format!(
            "The int8 twin of [`{ident}`], built by [`{ident}::quantize`]: TensorFlow Lite's \
             post-training scheme (per-channel symmetric int8 weights, int8 activations with a \
             zero point, int32 biases, fixed-point requantisation). Inference needs \
             {} bytes of activations and no heap. [`from_bytes`](Self::from_bytes) makes a \
             `static` of it at compile time.",
            self.plan.forward_arena.len
        );
        let quantize_doc = format!(
            "This network's int8 twin, [`{twin}`]: the activation ranges are the extremes \
             each value takes over `calibration` (TFLite's min–max calibration), the weights \
             are quantised per output channel. Fails on empty calibration data or a value that \
             is not finite."
        );
        quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #twin {
                /// The input's quantisation: [`quantize_input`](Self::quantize_input) applies it.
                pub input: #rt::quant::QParams,
                /// The output's quantisation: [`dequantize_output`](Self::dequantize_output) applies it.
                pub output: #rt::quant::QParams,
                #(#[doc = #field_docs] pub #fields: #types,)*
            }

            impl<T: #rt::Scalar> #ident<T> {
                #[doc = #quantize_doc]
                pub fn quantize<'a>(
                    &self,
                    calibration: impl ::core::iter::IntoIterator<Item = &'a #rt::nalgebra::SVector<T, #n_in>>,
                ) -> ::core::result::Result<#twin, #rt::quant::CalibrationError>
                where
                    T: 'a,
                {
                    #quantize
                }
            }

            impl #twin {
                /// Bytes of the activation arena inference uses (one per value).
                pub const ARENA_BYTES: ::core::primitive::usize = #arena_len;
                /// The length of the byte form ([`to_bytes`](Self::to_bytes)).
                pub const BYTES: ::core::primitive::usize = #rt::quant::bytes::HEADER
                    + 2 * <#rt::quant::QParams as #rt::quant::bytes::Encode>::BYTES
                    #(+ <#types as #rt::quant::bytes::Encode>::BYTES)*;
                /// The architecture's fingerprint in the byte form's header.
                pub const FINGERPRINT: ::core::primitive::u64 = #rt::quant::bytes::fingerprint(#description);

                /// int8 inference: the int8 output for an int8 input.
                pub fn forward(&self, x0: &[::core::primitive::i8; #n_in]) -> [::core::primitive::i8; #n_out] {
                    #forward
                }

                /// The input quantised as the network expects it.
                pub fn quantize_input<T: #rt::Scalar>(&self, x: &#rt::nalgebra::SVector<T, #n_in>) -> [::core::primitive::i8; #n_in] {
                    ::core::array::from_fn(|i| self.input.quantize(#rt::Scalar::to_f64(x[i]) as ::core::primitive::f32))
                }

                /// The output's real values.
                pub fn dequantize_output(&self, y: &[::core::primitive::i8; #n_out]) -> #rt::nalgebra::SVector<::core::primitive::f32, #n_out> {
                    #rt::nalgebra::SVector::from_fn(|i, _| self.output.dequantize(y[i]))
                }

                /// A float input through the int8 network, and the output's real values.
                pub fn infer<T: #rt::Scalar>(&self, x: &#rt::nalgebra::SVector<T, #n_in>) -> #rt::nalgebra::SVector<::core::primitive::f32, #n_out> {
                    self.dequantize_output(&self.forward(&self.quantize_input(x)))
                }

                /// The index of the largest output (the first of equals): the class.
                pub fn predict<T: #rt::Scalar>(&self, x: &#rt::nalgebra::SVector<T, #n_in>) -> ::core::primitive::usize {
                    #rt::quant::argmax(&self.forward(&self.quantize_input(x)))
                }

                /// Writes the byte form into `out`, which must be [`BYTES`](Self::BYTES) long.
                pub fn to_bytes(&self, out: &mut [::core::primitive::u8]) -> ::core::result::Result<(), #rt::quant::bytes::FormatError> {
                    if out.len() != Self::BYTES {
                        return ::core::result::Result::Err(#rt::quant::bytes::FormatError::WrongLength {
                            expected: Self::BYTES,
                            found: out.len(),
                        });
                    }
                    let mut w = #rt::quant::bytes::Writer::new(out, Self::FINGERPRINT);
                    #rt::quant::bytes::Encode::encode(&self.input, &mut w);
                    #rt::quant::bytes::Encode::encode(&self.output, &mut w);
                    #(#rt::quant::bytes::Encode::encode(&self.#fields, &mut w);)*
                    ::core::result::Result::Ok(())
                }

                /// Reads the byte form, at compile time too: refuses bytes of another
                /// architecture or length.
                pub const fn try_from_bytes(bytes: &[::core::primitive::u8]) -> ::core::result::Result<Self, #rt::quant::bytes::FormatError> {
                    let r = match #rt::quant::bytes::Reader::new(bytes, Self::FINGERPRINT, Self::BYTES) {
                        ::core::result::Result::Ok(r) => r,
                        ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
                    };
                    let (input, r) = #rt::quant::QParams::decode(r);
                    let (output, r) = #rt::quant::QParams::decode(r);
                    #(let (#fields, r) = <#types>::decode(r);)*
                    let _ = r;
                    ::core::result::Result::Ok(Self { input, output, #(#fields),* })
                }

                /// [`try_from_bytes`](Self::try_from_bytes), panicking on bytes that do not
                /// fit: in a `static` (`from_bytes(include_bytes!("net.int8"))`), a compile error.
                pub const fn from_bytes(bytes: &[::core::primitive::u8]) -> Self {
                    match Self::try_from_bytes(bytes) {
                        ::core::result::Result::Ok(net) => net,
                        ::core::result::Result::Err(e) => ::core::panic!("{}", e.message()),
                    }
                }
            }
        }
    }

    /// `quantize`'s body: calibration over the float inference program, every value's
    /// quantisation, then every layer's int8 form.
    fn quantize_body(&self, roles: &Roles, layers: &[(usize, &ir::Layer)]) -> TokenStream {
        let rt = &self.rt;
        let twin = self.twin();
        let values = self.plan.values.len();
        let ops = self.forward_ops(false, true);
        let declare = self.arena(&self.plan.forward_arena);
        // Each value's quantisation, in schedule order (a value's input comes first).
        let mut params = vec![quote!(p[0] = seen[0].params()?;)];
        for (i, step) in self.plan.steps.iter().enumerate() {
            let Step::Layer { layer, x, y, .. } = step else {
                continue;
            };
            let line = match (layer.op.int8, roles.fused_into[i]) {
                (Int8::Rescale, Some((activation, _))) => {
                    let v = self.written(activation);
                    quote!(p[#y] = seen[#v].params()?;)
                }
                (Int8::Rescale, None) => quote!(p[#y] = seen[#y].params()?;),
                _ => quote!(p[#y] = p[#x];),
            };
            params.push(line);
        }
        let built = layers.iter().map(|(i, layer)| {
            let Step::Layer { x, y, .. } = self.plan.steps[*i] else {
                unreachable!("twin layers are layer steps")
            };
            let field = &layer.field;
            let clamp = match roles.fused_into[*i] {
                Some((_, activation)) => {
                    let ty = &activation.op.ty;
                    quote!(<#ty as #rt::quant::Fuse>::clamp(p[#y]))
                }
                None => quote!(#rt::quant::Clamp::NONE),
            };
            quote!(#field: #rt::quant::Quantize::quantize(&self.#field, p[#x], p[#y], #clamp))
        });
        let output = self.plan.output;
        quote! {
            let mut seen = [#rt::quant::Range::EMPTY; #values];
            for x0 in calibration {
                seen[0].observe(x0.as_slice());
                #declare
                #(#ops)*
            }
            let mut p = [#rt::quant::QParams { scale: 1.0, zero_point: 0 }; #values];
            #(#params)*
            ::core::result::Result::Ok(#twin {
                input: p[0],
                output: p[#output],
                #(#built,)*
            })
        }
    }

    /// The int8 inference program: the float plan's schedule over an `i8` arena.
    fn int8_forward(&self, roles: &Roles) -> TokenStream {
        let rt = &self.rt;
        let arena = &self.plan.forward_arena;
        let ops = self.plan.forward.iter().map(|op| match op {
            Fwd::Layer { layer, step, x, y } => {
                let field = &layer.field;
                let vanishes = layer.op.int8 == Int8::Identity || roles.fused[*step];
                let call = |src: TokenStream, dst: TokenStream| {
                    if vanishes {
                        quote!(#rt::quant::arena::copy(#src, #dst);)
                    } else {
                        quote!(#rt::quant::ForwardQ::forward(&self.#field, #src, #dst);)
                    }
                };
                match x {
                    Loc::Buf(b) => {
                        let split = int8_split(rt, arena, *b, *y);
                        let call = call(quote!(src), quote!(dst));
                        quote!({ #split #call })
                    }
                    _ => call(quote!(x0), int8_view(rt, arena, *y, true)),
                }
            }
            Fwd::InPlace { layer, step, buf } => {
                if layer.op.int8 == Int8::Identity || roles.fused[*step] {
                    return TokenStream::new();
                }
                let (field, xy) = (&layer.field, int8_view(rt, arena, *buf, true));
                quote!(#rt::quant::InPlaceQ::forward_in_place(&self.#field, #xy);)
            }
            // `#[int8]` refuses joins, so the plan has no moves.
            Fwd::Move(_) => TokenStream::new(),
        });
        let declare = match arena.len {
            0 => TokenStream::new(),
            n => {
                let n = int(n);
                quote!(let mut arena = [0i8; #n];)
            }
        };
        let output = match (self.plan.output, self.plan.forward_output) {
            (INPUT, _) | (_, Loc::Given | Loc::Dx) => quote!(*x0),
            (_, Loc::Buf(buf)) => {
                let view = int8_view(rt, arena, buf, false);
                quote!(*#view)
            }
        };
        quote! {
            #declare
            #(#ops)*
            #output
        }
    }
}

/// `quant::arena::view::<A, at, n>(&arena)` of a buffer.
fn int8_view(rt: &TokenStream, arena: &Arena, buf: usize, mutable: bool) -> TokenStream {
    let (a, b) = (int(arena.len), arena.buffers[buf]);
    let (at, n) = (int(b.offset), int(b.len));
    if mutable {
        quote!(#rt::quant::arena::view_mut::<#a, #at, #n>(&mut arena))
    } else {
        quote!(#rt::quant::arena::view::<#a, #at, #n>(&arena))
    }
}

/// `let (src, dst) = quant::arena::split(..)` for two buffers.
fn int8_split(rt: &TokenStream, arena: &Arena, src: usize, dst: usize) -> TokenStream {
    let (a, s, d) = (int(arena.len), arena.buffers[src], arena.buffers[dst]);
    let (sat, sn, dat, dn) = (int(s.offset), int(s.len), int(d.offset), int(d.len));
    quote!(let (src, dst) = #rt::quant::arena::split::<#a, #sat, #sn, #dat, #dn>(&mut arena);)
}

/// A layer type of the generated code with its scalar `T` made `f32`.
fn at_f32(ty: TokenStream) -> TokenStream {
    ty.into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "T" => quote!(::core::primitive::f32)
                .into_iter()
                .collect::<TokenStream>(),
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), at_f32(group.stream()));
                inner.set_span(group.span());
                TokenTree::Group(inner).into_token_stream()
            }
            other => other.into_token_stream(),
        })
        .collect()
}
