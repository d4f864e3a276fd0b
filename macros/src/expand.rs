//! Code generation: one `expand_*` per generated item, each a printing of the [`Plan`].
//!
//! Everything is named through the path the facade passes (`$crate::runtime::...`), so the
//! output works however the user imported or renamed `stacknet`, and method calls go through
//! fully qualified trait paths so the user need not import any trait. The code stays lean:
//! layer types carry their sizes as const generics and the runtime's generic kernels do the
//! work; per network we emit only the fields, the call sequence and the parameter dispatch.
//! The checked-in `macros/expanded/*.rs` show what comes out; `expand/programs.rs` prints the
//! plan's programs (inference, training forward, backward, batch path).

mod baked;
mod int8;
mod onnx;
mod programs;
mod state;

use crate::ir;
use crate::layers::{int, New};
use crate::names;
use crate::plan::{Plan, Step, Value};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// The generated code for a checked network.
pub fn network(krate: &TokenStream, net: &ir::Network) -> TokenStream {
    let plan = Plan::new(net);
    let cx = Cx {
        rt: quote!(#krate::runtime),
        net,
        plan: &plan,
    };
    [
        cx.expand_struct(),
        cx.expand_grad(),
        cx.expand_record(),
        cx.expand_new(),
        cx.expand_params(&net.ident, |ty| ty.clone()),
        cx.expand_params(&cx.grad(), |ty| {
            let rt = &cx.rt;
            quote!(<#ty as #rt::Layer<T>>::Grad)
        }),
        cx.expand_zeros(),
        cx.expand_batch_record(),
        cx.expand_network(),
        cx.expand_batch_network(),
        cx.expand_state(),
        cx.expand_int8(),
        cx.expand_baked(),
    ]
    .into_iter()
    .collect()
}

/// What every generator reads.
struct Cx<'a> {
    rt: TokenStream,
    net: &'a ir::Network,
    plan: &'a Plan<'a>,
}

/// The buffer type of a value: `SVector<T, n>` of its flat length, or `[u32; steps]` for
/// token ids.
pub fn svector(rt: &TokenStream, shape: Shape) -> TokenStream {
    let n = int(shape.len().unwrap_or(u64::MAX));
    match shape {
        Shape::Tokens { .. } => quote!([::core::primitive::u32; #n]),
        _ => quote!(#rt::nalgebra::SVector<T, #n>),
    }
}

/// The runtime's `Shape` constant of a value.
pub fn shape_tokens(rt: &TokenStream, shape: Shape) -> TokenStream {
    match shape {
        Shape::Vector(n) | Shape::Tokens { steps: n } => {
            let n = int(n);
            quote!(#rt::Shape::vector(#n))
        }
        Shape::Sequence { steps, features } => {
            let (s, f) = (int(steps), int(features));
            quote!(#rt::Shape::matrix(#s, #f))
        }
        Shape::Image { c, h, w } => {
            let (c, h, w) = (int(c), int(h), int(w));
            quote!(#rt::Shape::image(#c, #h, #w))
        }
    }
}

/// Record fields: `x{v}` holds value v, `r{k}` layer k's record.
fn x(value: Value) -> Ident {
    format_ident!("x{}", value)
}

fn rec(index: usize) -> Ident {
    format_ident!("r{}", index)
}

/// The batch path's gradient buffers are locals.
fn local(buf: usize) -> Ident {
    format_ident!("d{}", buf)
}

impl<'a> Cx<'a> {
    fn grad(&self) -> Ident {
        names::companion(&self.net.ident, "Grad")
    }

    fn record(&self) -> Ident {
        names::companion(&self.net.ident, "Record")
    }

    fn batch_record(&self) -> Ident {
        names::companion(&self.net.ident, "BatchRecord")
    }

    /// The trainable parameters the macro counts: the docs' total and `PARAMS`.
    fn params(&self) -> u64 {
        self.layers()
            .fold(0, |sum, (_, l)| sum.saturating_add(l.op.params()))
    }

    fn output_shape(&self) -> Shape {
        self.plan.values[self.plan.output]
    }

    fn layers(&self) -> impl Iterator<Item = (usize, &'a ir::Layer)> + 'a {
        self.plan.layers()
    }

    /// `pub struct Name<T: Scalar = ::core::primitive::f32> { pub layer: Type, ... }`: the user's docs, attributes
    /// and visibility on top, one public field per layer.
    fn expand_struct(&self) -> TokenStream {
        let rt = &self.rt;
        let ir::Network {
            attrs, vis, ident, ..
        } = self.net;
        let fields = self.layers().map(|(_, layer)| {
            let (field, ty) = (&layer.field, &layer.op.ty);
            let doc = format!(
                " `{}`: `{}` {} → {}",
                layer.path, layer.kind, layer.input, layer.output
            );
            quote!(#[doc = #doc] pub #field: #ty,)
        });
        let has_docs = attrs.iter().any(|a| a.path().is_ident("doc"));
        let docs = self.struct_docs(has_docs);
        quote! {
            #(#attrs)*
            #(#[doc = #docs])*
            #vis struct #ident<T: #rt::Scalar = ::core::primitive::f32> {
                #(#fields)*
                #[doc(hidden)]
                pub __scalar: ::core::marker::PhantomData<T>,
            }
        }
    }

    /// The generated part of the struct's docs, one line per `#[doc]`: a first line if the user
    /// wrote none (so `#![deny(missing_docs)]` holds), then the table of layers with their
    /// output shapes and parameters, and the totals. Memory and MACs depend on the runtime's
    /// constants, which the macro does not evaluate: the docs point to `summary()` for them.
    fn struct_docs(&self, has_docs: bool) -> Vec<String> {
        let ident = &self.net.ident;
        let params = self.params();
        let (input, output) = (self.net.input, self.output_shape());
        let mut docs = Vec::new();
        if !has_docs {
            docs.push(format!(
                " A network declared with `network!`: `{input}` → `{output}`, {} parameters.",
                thousands(params)
            ));
        }
        let buffer = |shape: Shape| match shape {
            Shape::Tokens { steps } => format!("`[u32; {steps}]`"),
            _ => format!("`SVector<T, {}>`", shape.len().unwrap_or(u64::MAX)),
        };
        docs.extend([
            String::new(),
            " # Layers".into(),
            String::new(),
            format!(
                " Generated by `network!`: input `{input}` ({}), output `{output}` ({}); the \
                 first columns of what `{ident}::<f32>::summary()` prints.",
                buffer(input),
                buffer(output)
            ),
            String::new(),
            " | layer | type | output shape | params |".into(),
            " |---|---|---|---:|".into(),
            format!(" | `input` | | `{input}` | 0 |"),
        ]);
        for step in &self.plan.steps {
            let (name, kind, y, n) = match step {
                Step::Layer { layer, y, .. } => (&*layer.path, layer.kind, *y, layer.op.params()),
                Step::Add { path, y, .. } => (*path, "add", *y, 0),
                Step::Concat { path, y, .. } => (*path, "concat", *y, 0),
            };
            let shape = self.plan.values[y];
            docs.push(format!(
                " | `{name}` | `{kind}` | `{shape}` | {} |",
                thousands(n)
            ));
        }
        docs.extend([
            String::new(),
            format!(
                " `PARAMS` = **{}** trainable parameters; `PARAM_BYTES` = {} bytes as `f32`, {} \
                 as `f64`, and as much again for a [`{}`] and for each optimiser state buffer. \
                 MACs and the inference and training working memory (`INFERENCE_BYTES`, \
                 `TRAINING_BYTES`) come from the runtime's kernels: `summary()` prints them.",
                thousands(params),
                thousands(params.saturating_mul(4)),
                thousands(params.saturating_mul(8)),
                self.grad()
            ),
        ]);
        docs
    }

    /// `NameGrad<T>`: one field per layer, each the layer's gradient type.
    fn expand_grad(&self) -> TokenStream {
        let rt = &self.rt;
        let (vis, grad) = (&self.net.vis, self.grad());
        let doc = format!(
            " Parameter gradients of [`{}`], one field per layer, in the parameters' layout.",
            self.net.ident
        );
        let fields = self.layers().map(|(_, layer)| {
            let (field, ty) = (&layer.field, &layer.op.ty);
            let doc = match layer.op.params() {
                0 => format!(
                    " `{}` (`{}`) has no parameters: empty.",
                    layer.path, layer.kind
                ),
                n => format!(
                    " ∂L/∂θ for the {} parameters of `{}` (`{}`), in their layout.",
                    thousands(n),
                    layer.path,
                    layer.kind
                ),
            };
            quote!(#[doc = #doc] pub #field: <#ty as #rt::Layer<T>>::Grad,)
        });
        quote! {
            #[doc = #doc]
            #[derive(Clone)]
            #vis struct #grad<T: #rt::Scalar = ::core::primitive::f32> {
                #(#fields)*
            }
        }
    }

    /// The record's fields: every value `x{v}` and every layer's record `r{k}`, each wrapped
    /// by `wrap` (itself for one sample, an array of `B` for a batch).
    fn record_fields(&self, wrap: impl Fn(TokenStream) -> TokenStream) -> TokenStream {
        let rt = &self.rt;
        let xs = self.plan.values.iter().enumerate().map(|(v, &shape)| {
            let (field, ty) = (x(v), wrap(svector(rt, shape)));
            quote!(#field: #ty,)
        });
        let rs = self.layers().map(|(index, layer)| {
            let (field, ty) = (rec(index), &layer.op.ty);
            let ty = wrap(quote!(<#ty as #rt::Layer<T>>::Record));
            quote!(#field: #ty,)
        });
        quote!(#(#xs)* #(#rs)*)
    }

    fn record_names(&self) -> Vec<Ident> {
        let xs = (0..self.plan.values.len()).map(x);
        let rs = self.layers().map(|(index, _)| rec(index));
        xs.chain(rs).collect()
    }

    /// `NameRecord<T>`: every value and every layer's record, what one sample's backward needs.
    fn expand_record(&self) -> TokenStream {
        let rt = &self.rt;
        let (vis, record) = (&self.net.vis, self.record());
        let doc = format!(
            " What one training forward of [`{}`] keeps for backward.",
            self.net.ident
        );
        let fields = self.record_fields(|ty| ty);
        quote! {
            #[doc = #doc]
            #vis struct #record<T: #rt::Scalar = ::core::primitive::f32> {
                #fields
            }
        }
    }

    /// `NameBatchRecord<T, B>`: the record of `B` samples, each value and layer record an array
    /// over the batch, so a layer sees its whole minibatch as one slice.
    fn expand_batch_record(&self) -> TokenStream {
        let rt = &self.rt;
        let (vis, record) = (&self.net.vis, self.batch_record());
        let doc = format!(
            " What one training forward of `B` samples through [`{}`] keeps for backward.",
            self.net.ident
        );
        let fields = self.record_fields(|ty| quote!([#ty; B]));
        let names = self.record_names();
        quote! {
            #[doc = #doc]
            #vis struct #record<T: #rt::Scalar, const B: ::core::primitive::usize> {
                #fields
            }

            impl<T: #rt::Scalar, const B: ::core::primitive::usize> #rt::Zeros for #record<T, B> {
                fn zeros() -> Self {
                    Self { #(#names: #rt::Zeros::zeros(),)* }
                }
            }
        }
    }

    /// `Name::new(rng)`: each layer built with its init (He before ReLUs, Xavier otherwise).
    fn expand_new(&self) -> TokenStream {
        let rt = &self.rt;
        let ident = &self.net.ident;
        let fields = self.layers().map(|(_, layer)| {
            let field = &layer.field;
            let value = match &layer.op.new {
                New::Value(value) => value.clone(),
                New::Init { ctor, .. } => {
                    let init = init_tokens(rt, layer.init);
                    quote!(#ctor(#init, rng))
                }
            };
            quote!(#field: #value,)
        });
        // The struct's docs state this count: the runtime's must agree (checked when `new` is
        // instantiated, so the docs cannot drift from the types).
        let params = int(self.params());
        quote! {
            impl<T: #rt::Scalar> #ident<T> {
                /// A network with freshly initialised parameters drawn from `rng`.
                pub fn new(rng: &mut (impl #rt::rand_core::RngCore + ?Sized)) -> Self {
                    const {
                        ::core::assert!(
                            <Self as #rt::Params<T>>::LEN == #params,
                            "stacknet bug: the documented parameter count is wrong"
                        )
                    };
                    let _ = &rng;
                    Self {
                        #(#fields)*
                        __scalar: ::core::marker::PhantomData,
                    }
                }
            }
        }
    }

    /// `Params<T>` for the network or its gradient: every layer's tensors in order, tensor `i`
    /// found by subtracting each layer's count (zero for layers without parameters, which the
    /// compiler folds away). `field_ty` gives the field's type.
    fn expand_params(
        &self,
        ident: &Ident,
        field_ty: impl Fn(&TokenStream) -> TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let layers: Vec<(&Ident, &str, TokenStream)> = self
            .layers()
            .map(|(_, l)| (&l.field, l.path.as_str(), field_ty(&l.op.ty)))
            .collect();
        let count = |ty: &TokenStream| quote!(<#ty as #rt::Params<T>>::TENSORS);
        let tensors = layers.iter().map(|(_, _, ty)| count(ty));
        let lens = layers
            .iter()
            .map(|(_, _, ty)| quote!(<#ty as #rt::Params<T>>::LEN));
        // Shadow `i` between layers rather than mutate it, which leaves nothing unread.
        let dispatch = |call: &dyn Fn(&Ident, &str, &TokenStream) -> TokenStream| {
            let steps = layers.iter().enumerate().map(|(k, (field, path, ty))| {
                let n = count(ty);
                let body = call(field, path, ty);
                let next = (k + 1 < layers.len()).then(|| quote!(let i = i - #n;));
                quote! {
                    if i < #n {
                        return #body;
                    }
                    #next
                }
            });
            quote!(#(#steps)*)
        };
        let tensor = dispatch(&|field, _, _| quote!(#rt::Params::<T>::tensor(&self.#field, i)));
        let tensor_mut =
            dispatch(&|field, _, _| quote!(#rt::Params::<T>::tensor_mut(&mut self.#field, i)));
        let info = dispatch(
            &|_, path, ty| quote!(#rt::TensorInfo { layer: #path, ..<#ty as #rt::Params<T>>::tensor_info(i) }),
        );
        quote! {
            impl<T: #rt::Scalar> #rt::Params<T> for #ident<T> {
                const TENSORS: ::core::primitive::usize = #rt::network::sum(&[#(#tensors),*]);
                const LEN: ::core::primitive::usize = #rt::network::sum(&[#(#lens),*]);
                fn tensor(&self, i: ::core::primitive::usize) -> &[T] {
                    #tensor
                    &[]
                }
                fn tensor_mut(&mut self, i: ::core::primitive::usize) -> &mut [T] {
                    #tensor_mut
                    &mut []
                }
                fn tensor_info(i: ::core::primitive::usize) -> #rt::TensorInfo {
                    #info
                    <#rt::NoParams as #rt::Params<T>>::tensor_info(i)
                }
            }
        }
    }

    /// `Zeros` for the gradient and the record: every field zero.
    fn expand_zeros(&self) -> TokenStream {
        let rt = &self.rt;
        let (grad, record) = (self.grad(), self.record());
        let fields = self.layers().map(|(_, l)| &l.field);
        let names = self.record_names();
        quote! {
            impl<T: #rt::Scalar> #rt::Zeros for #grad<T> {
                fn zeros() -> Self {
                    Self { #(#fields: #rt::Zeros::zeros(),)* }
                }
            }

            impl<T: #rt::Scalar> #rt::Zeros for #record<T> {
                fn zeros() -> Self {
                    Self { #(#names: #rt::Zeros::zeros(),)* }
                }
            }
        }
    }

    /// The summary's rows: one per step (layers, and the joins of blocks).
    fn rows(&self) -> Vec<TokenStream> {
        let rt = &self.rt;
        self.plan
            .steps
            .iter()
            .map(|step| match step {
                Step::Layer { layer, y, .. } => {
                    let (name, ty) = (&layer.path, &layer.op.ty);
                    let shape = shape_tokens(rt, self.plan.values[*y]);
                    quote! {
                        #rt::LayerRow {
                            name: #name,
                            kind: <#ty as #rt::Layer<T>>::KIND,
                            output: #shape,
                            params: <#ty as #rt::Params<T>>::LEN,
                            macs: <#ty as #rt::Layer<T>>::MACS,
                            scratch_bytes: <#ty as #rt::Layer<T>>::SCRATCH_BYTES,
                        }
                    }
                }
                Step::Add { path, y, .. } | Step::Concat { path, y, .. } => {
                    let kind = if matches!(step, Step::Add { .. }) {
                        "add"
                    } else {
                        "concat"
                    };
                    let shape = shape_tokens(rt, self.plan.values[*y]);
                    quote! {
                        #rt::LayerRow {
                            name: #path,
                            kind: #kind,
                            output: #shape,
                            params: 0,
                            macs: 0,
                            scratch_bytes: 0,
                        }
                    }
                }
            })
            .collect()
    }

    /// `Network<T>`: shapes, memory figures, the summary rows, and the inference, training
    /// forward and backward programs of the plan.
    fn expand_network(&self) -> TokenStream {
        let rt = &self.rt;
        let ident = &self.net.ident;
        let (grad, record) = (self.grad(), self.record());
        let (input_ty, output_ty) = (
            svector(rt, self.net.input),
            svector(rt, self.output_shape()),
        );
        let (input_shape, output_shape) = (
            shape_tokens(rt, self.net.input),
            shape_tokens(rt, self.output_shape()),
        );
        let needs_batch = self.layers().map(|(_, l)| {
            let ty = &l.op.ty;
            quote!(<#ty as #rt::Layer<T>>::NEEDS_BATCH)
        });
        let rows = self.rows();
        let (forward_arena, backward_arena) = (
            int(self.plan.forward_arena.len),
            int(self.plan.backward_arena.len),
        );
        let forward = self.forward(false);
        let forward_train = self.forward_train(false);
        let backward = self.backward();
        let out = x(self.plan.output);
        let reseed = self.reseed();
        let running_stats = self.running_stats();
        let onnx = self.onnx();
        let per_sample = (!self.layers().any(|(_, l)| l.op.batch))
            .then(|| quote!(impl<T: #rt::Scalar> #rt::PerSample<T> for #ident<T> {}));
        // A literal rather than the trait's default (`Params::LEN`, the same number, which
        // `new` checks), so that rustdoc shows the value instead of `_`.
        let params = int(self.params());
        quote! {
            #per_sample

            impl<T: #rt::Scalar> #rt::Model for #ident<T> {
                type Scalar = T;
            }

            impl<T: #rt::Scalar> #rt::Network<T> for #ident<T> {
                type Input = #input_ty;
                type Output = #output_ty;
                type Grad = #grad<T>;
                type Record = #record<T>;
                const INPUT_SHAPE: #rt::Shape = #input_shape;
                const OUTPUT_SHAPE: #rt::Shape = #output_shape;
                const PARAMS: ::core::primitive::usize = #params;
                const NEEDS_BATCH: ::core::primitive::bool = #rt::network::any(&[#(#needs_batch),*]);
                const LAYERS: &'static [#rt::LayerRow] = &[#(#rows),*];
                const INFERENCE_BYTES: ::core::primitive::usize =
                    #forward_arena * T::BYTES + #rt::network::max_scratch(Self::LAYERS);
                const TRAINING_BYTES: ::core::primitive::usize = Self::RECORD_BYTES
                    + #backward_arena * T::BYTES
                    + #rt::network::max_scratch(Self::LAYERS);

                fn forward(&self, x0: &#input_ty) -> #output_ty {
                    #forward
                }

                fn forward_train(&mut self, x: &#input_ty, r: &mut #record<T>) {
                    r.x0.clone_from(x);
                    #forward_train
                }

                fn output(r: &#record<T>) -> &#output_ty {
                    &r.#out
                }

                fn backward(
                    &self,
                    r: &#record<T>,
                    dy: &#output_ty,
                    g: &mut #grad<T>,
                    mut dx: ::core::option::Option<&mut #input_ty>,
                ) {
                    #backward
                }

                #reseed
                #running_stats
                #onnx
            }
        }
    }

    /// `Network::running_stats` over the batch layers (batch norm, which keeps running
    /// statistics; none: the trait's defaults), tensor by tensor as `Params` dispatches.
    fn running_stats(&self) -> TokenStream {
        let rt = &self.rt;
        let layers: Vec<_> = self
            .layers()
            .filter(|(_, l)| l.op.batch)
            .map(|(_, l)| (&l.field, &l.op.ty, l.path.as_str()))
            .collect();
        if layers.is_empty() {
            return TokenStream::new();
        }
        let count = |ty: &TokenStream| quote!(<#ty as #rt::RunningStats<T>>::TENSORS);
        let counts = layers.iter().map(|(_, ty, _)| count(ty));
        // Shadow `i` between layers, as `expand_params` does; `call` gives what layer k returns.
        let dispatch = |call: &dyn Fn(&Ident, &TokenStream, &str) -> TokenStream| {
            let steps = layers.iter().enumerate().map(|(k, (field, ty, path))| {
                let n = count(ty);
                let body = call(field, ty, path);
                let next = (k + 1 < layers.len()).then(|| quote!(let i = i - #n;));
                quote! {
                    if i < #n {
                        return #body;
                    }
                    #next
                }
            });
            quote!(#(#steps)*)
        };
        let get =
            dispatch(&|field, _, _| quote!(#rt::RunningStats::<T>::running_stats(&self.#field, i)));
        let get_mut = dispatch(
            &|field, _, _| quote!(#rt::RunningStats::<T>::running_stats_mut(&mut self.#field, i)),
        );
        let info = dispatch(
            &|_, ty, path| quote!(#rt::TensorInfo { layer: #path, ..<#ty as #rt::RunningStats<T>>::running_stats_info(i) }),
        );
        let lens = layers
            .iter()
            .map(|(_, ty, _)| quote!(<#ty as #rt::RunningStats<T>>::LEN));
        // The state_dict's order: every layer's parameters, then its buffers.
        let entries = self.layers().map(|(_, l)| {
            let ty = &l.op.ty;
            let params = quote! {
                let n = <#ty as #rt::Params<T>>::TENSORS;
                if i < n {
                    return #rt::StateEntry::Param(p + i);
                }
                let (i, p) = (i - n, p + n);
            };
            let buffers = l.op.batch.then(|| {
                quote! {
                    let n = <#ty as #rt::RunningStats<T>>::TENSORS;
                    if i < n {
                        return #rt::StateEntry::Buffer(b + i);
                    }
                    let (i, b) = (i - n, b + n);
                }
            });
            quote!(#params #buffers)
        });
        quote! {
            const RUNNING_STATS: ::core::primitive::usize = #rt::network::sum(&[#(#counts),*]);
            const BUFFERS: ::core::primitive::usize = #rt::network::sum(&[#(#lens),*]);

            fn running_stats_info(i: ::core::primitive::usize) -> #rt::TensorInfo {
                #info
                <#rt::NoParams as #rt::Params<T>>::tensor_info(i)
            }

            #[allow(unused_variables)]
            fn state_entry(i: ::core::primitive::usize) -> #rt::StateEntry {
                let (p, b) = (0, 0);
                #(#entries)*
                #rt::StateEntry::Param(p + i)
            }

            fn running_stats(&self, i: ::core::primitive::usize) -> &[T] {
                #get
                &[]
            }

            fn running_stats_mut(&mut self, i: ::core::primitive::usize) -> &mut [T] {
                #get_mut
                &mut []
            }
        }
    }

    /// `Network::reseed` over the layers that draw random numbers (none: the trait's no-op),
    /// each from the seed mixed with its position so no two layers share a stream.
    fn reseed(&self) -> TokenStream {
        let rt = &self.rt;
        let calls: Vec<_> = self
            .layers()
            .filter(|(_, l)| l.op.random)
            .enumerate()
            .map(|(k, (_, l))| {
                let (field, k) = (&l.field, k as u64);
                quote!(#rt::Random::reseed(&mut self.#field, #rt::rng::mix(seed, #k));)
            })
            .collect();
        if calls.is_empty() {
            return TokenStream::new();
        }
        quote! {
            fn reseed(&mut self, seed: ::core::primitive::u64) {
                #(#calls)*
            }
        }
    }
}

/// `61706` as `61,706`, as the summary prints counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn init_tokens(rt: &TokenStream, init: crate::bind::Init) -> TokenStream {
    use crate::bind::Init;
    let path = quote!(#rt::init::Init);
    let float = crate::layers::float;
    match init {
        Init::Zeros => quote!(#path::Zeros),
        Init::Constant(c) => {
            let c = float(c);
            quote!(#path::Constant(#c))
        }
        Init::Normal(s) => {
            let s = float(s);
            quote!(#path::Normal(#s))
        }
        Init::Uniform(a) => {
            let a = float(a);
            quote!(#path::Uniform(#a))
        }
        Init::XavierUniform => quote!(#path::XavierUniform),
        Init::XavierNormal => quote!(#path::XavierNormal),
        Init::HeUniform => quote!(#path::HeUniform),
        Init::HeNormal => quote!(#path::HeNormal),
    }
}
