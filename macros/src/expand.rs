//! Code generation: one `expand_*` per generated item, in exactly the shape of
//! `runtime/tests/hand_expanded.rs` (the readable reference for everything emitted here).
//!
//! Everything is named through the path the facade passes (`$crate::runtime::...`), so the
//! output works however the user imported or renamed `stacknet`, and method calls go through
//! fully qualified trait paths so the user need not import any trait. The code stays lean:
//! layer types carry their sizes as const generics and the runtime's generic kernels do the
//! work; per network we emit only the fields, the call sequence and the parameter dispatch.

use crate::ast;
use crate::check::Failure;
use crate::ir::{self, Init, Op};
use crate::report::Errors;
use crate::shape::Shape;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::{Error, Ident};

/// One layer with the tokens of its runtime type.
struct Gen<'a> {
    layer: &'a ir::Layer,
    /// `$crate::runtime::layers::Dense<T, 784, 128, true>`.
    ty: TokenStream,
    /// Index in the stack (0-based); activations are `x{index}` → `x{index + 1}`.
    index: usize,
}

/// The generated code for a checked network, or the errors of layers it cannot expand yet.
pub fn network(krate: &TokenStream, net: &ir::Network) -> Result<TokenStream, Errors> {
    let rt = quote!(#krate::runtime);
    let mut errors = Errors::default();
    let mut gens = Vec::new();
    for (index, layer) in net.stack.layers().enumerate() {
        match layer_type(&rt, layer) {
            Ok(ty) => gens.push(Gen { layer, ty, index }),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let items = [
        expand_struct(&rt, net, &gens),
        expand_grad(&rt, net, &gens),
        expand_record(&rt, net, &gens),
        expand_new(&rt, net, &gens),
        expand_params(&rt, &net.ident, &gens, |ty| quote!(#ty)),
        expand_params(
            &rt,
            &grad_ident(net),
            &gens,
            |ty| quote!(<#ty as #rt::Layer<T>>::Grad),
        ),
        expand_zeros(&rt, &grad_ident(net), gens.iter().map(|g| &g.layer.field)),
        expand_zeros(&rt, &record_ident(net), record_fields(&gens).iter()),
        expand_batch_record(&rt, net, &gens),
        expand_network(&rt, net, &gens),
        expand_batch_network(&rt, net, &gens),
    ];
    Ok(items.into_iter().collect())
}

fn grad_ident(net: &ir::Network) -> Ident {
    format_ident!("{}Grad", net.ident)
}

fn record_ident(net: &ir::Network) -> Ident {
    format_ident!("{}Record", net.ident)
}

fn batch_record_ident(ident: &Ident) -> Ident {
    format_ident!("{}BatchRecord", ident)
}

/// `x0..=xn` (activations), then `r1..=rn` (layer records).
fn record_fields(gens: &[Gen]) -> Vec<Ident> {
    let xs = (0..=gens.len()).map(|i| format_ident!("x{}", i));
    let rs = (1..=gens.len()).map(|i| format_ident!("r{}", i));
    xs.chain(rs).collect()
}

/// An unsuffixed integer literal, as const generic arguments want.
fn int(n: u64) -> Literal {
    Literal::u64_unsuffixed(n)
}

/// An `f64` expression; the sign goes outside the literal, as the parser reads it.
fn float(x: f64) -> TokenStream {
    if !x.is_finite() {
        // check.rs rejects non-finite numbers; this only keeps `Literal` from panicking.
        return quote!(::core::f64::NAN);
    }
    let lit = Literal::f64_unsuffixed(x.abs());
    if x.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// `N` of a flat tensor (check.rs verified it fits).
fn len(shape: Shape) -> Literal {
    int(shape.len().unwrap_or(u64::MAX))
}

fn shape_tokens(rt: &TokenStream, shape: Shape) -> TokenStream {
    match shape {
        Shape::Vector(n) => {
            let n = int(n);
            quote!(#rt::Shape::vector(#n))
        }
        Shape::Image { c, h, w } => {
            let (c, h, w) = (int(c), int(h), int(w));
            quote!(#rt::Shape::image(#c, #h, #w))
        }
    }
}

fn svector(rt: &TokenStream, shape: Shape) -> TokenStream {
    let n = len(shape);
    quote!(#rt::nalgebra::SVector<T, #n>)
}

/// Saturating product: only reached with sizes check.rs bounded.
fn mul(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |acc, &f| acc.saturating_mul(f))
}

/// The runtime type of a layer, its const generics computed from the checked shapes.
fn layer_type(rt: &TokenStream, layer: &ir::Layer) -> Result<TokenStream, Error> {
    let n = len(layer.input);
    let image = || match (layer.input, layer.output) {
        (
            Shape::Image { c, h, w },
            Shape::Image {
                c: oc,
                h: oh,
                w: ow,
            },
        ) => Ok((c, h, w, oc, oh, ow)),
        _ => Err(Error::new(
            layer.span,
            "internal error: expected an image shape; please report it",
        )),
    };
    Ok(match layer.op {
        Op::Dense { bias, .. } => {
            let o = len(layer.output);
            quote!(#rt::layers::Dense<T, #n, #o, #bias>)
        }
        Op::Conv2d { conv, bias, .. } => {
            let (c, h, w, oc, oh, ow) = image()?;
            let (kh, kw) = conv.kernel;
            let dims = [
                c,
                h,
                w,
                oc,
                kh,
                kw,
                conv.stride.0,
                conv.stride.1,
                // Padding top, bottom, left, right: symmetric, as PyTorch's.
                conv.padding.0,
                conv.padding.0,
                conv.padding.1,
                conv.padding.1,
                conv.dilation.0,
                conv.dilation.1,
                // Groups: the macro has no grouped convolutions (yet).
                1,
                oh,
                ow,
            ]
            .map(int);
            // Taps per output channel, (C/G)·KH·KW with G = 1.
            let k = int(mul(&[c, kh, kw]));
            let p = int(mul(&[oh, ow]));
            let (input, output) = (len(layer.input), len(layer.output));
            quote!(#rt::layers::Conv2d<T, #(#dims,)* #k, #p, #input, #output, #bias>)
        }
        Op::MaxPool2d(pool) | Op::AvgPool2d(pool) => {
            let (c, h, w, _, oh, ow) = image()?;
            let dims = [
                c,
                h,
                w,
                pool.kernel.0,
                pool.kernel.1,
                pool.stride.0,
                pool.stride.1,
                pool.padding.0,
                pool.padding.1,
                oh,
                ow,
            ]
            .map(int);
            let (input, output) = (len(layer.input), len(layer.output));
            let name = if matches!(layer.op, Op::MaxPool2d(_)) {
                quote!(MaxPool2d)
            } else {
                quote!(AvgPool2d)
            };
            quote!(#rt::layers::#name<#(#dims,)* #input, #output>)
        }
        Op::GlobalAvgPool2d | Op::GlobalMaxPool2d => {
            let (c, hw) = match layer.input {
                Shape::Image { c, h, w } => (int(c), int(mul(&[h, w]))),
                Shape::Vector(_) => {
                    return Err(Error::new(
                        layer.span,
                        "internal error: expected an image shape; please report it",
                    ))
                }
            };
            let name = if layer.op == Op::GlobalAvgPool2d {
                quote!(GlobalAvgPool2d)
            } else {
                quote!(GlobalMaxPool2d)
            };
            quote!(#rt::layers::#name<#c, #hw, #n>)
        }
        Op::Flatten => quote!(#rt::layers::Flatten<#n>),
        Op::Relu => quote!(#rt::layers::Activation<#rt::layers::Relu, #n>),
        Op::Sigmoid => quote!(#rt::layers::Activation<#rt::layers::Sigmoid, #n>),
        Op::Tanh => quote!(#rt::layers::Activation<#rt::layers::Tanh, #n>),
        Op::LeakyRelu { .. } => quote!(#rt::layers::Activation<#rt::layers::LeakyRelu<T>, #n>),
        Op::Softmax => quote!(#rt::layers::Softmax<#n>),
        Op::Dropout { .. } => quote!(#rt::layers::Dropout<T, #n>),
        // Per feature after a dense layer (S = 1), per channel over H·W positions after a
        // convolution or pooling.
        Op::BatchNorm { .. } => {
            let (c, s) = match layer.input {
                Shape::Image { c, h, w } => (int(c), int(mul(&[h, w]))),
                Shape::Vector(n) => (int(n), int(1)),
            };
            quote!(#rt::layers::BatchNorm<T, #c, #s, #n>)
        }
    })
}

/// The expression that builds a layer in `new`; `rng` is the caller's generator.
fn layer_value(rt: &TokenStream, stack: &ir::Stack, gen: &Gen) -> TokenStream {
    let init =
        |init: Option<Init>| init_tokens(rt, init.unwrap_or_else(|| stack.init_for(gen.index)));
    match gen.layer.op {
        Op::Dense { init: i, .. } => {
            let init = init(i);
            quote!(#rt::layers::Dense::new(#init, rng))
        }
        Op::Conv2d { init: i, .. } => {
            let init = init(i);
            quote!(#rt::layers::Conv2d::new(#init, rng))
        }
        Op::MaxPool2d(_) => quote!(#rt::layers::MaxPool2d),
        Op::AvgPool2d(_) => quote!(#rt::layers::AvgPool2d),
        Op::GlobalAvgPool2d => quote!(#rt::layers::GlobalAvgPool2d),
        Op::GlobalMaxPool2d => quote!(#rt::layers::GlobalMaxPool2d),
        Op::Flatten => quote!(#rt::layers::Flatten),
        Op::Relu => quote!(#rt::layers::Activation(#rt::layers::Relu)),
        Op::Sigmoid => quote!(#rt::layers::Activation(#rt::layers::Sigmoid)),
        Op::Tanh => quote!(#rt::layers::Activation(#rt::layers::Tanh)),
        Op::LeakyRelu { slope } => {
            let slope = float(slope);
            quote!(#rt::layers::Activation(#rt::layers::LeakyRelu::new(#slope)))
        }
        Op::Softmax => quote!(#rt::layers::Softmax),
        Op::Dropout { p } => {
            let p = float(p);
            quote!(#rt::layers::Dropout::new(#p, rng))
        }
        Op::BatchNorm { momentum, eps } => {
            let (momentum, eps) = (float(momentum), float(eps));
            quote!(#rt::layers::BatchNorm::new(#momentum, #eps))
        }
    }
}

fn init_tokens(rt: &TokenStream, init: Init) -> TokenStream {
    let path = quote!(#rt::init::Init);
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

/// Layers whose type mentions `T`; without one, the struct needs a marker to use `T`.
fn uses_scalar(op: &Op) -> bool {
    matches!(
        op,
        Op::Dense { .. }
            | Op::Conv2d { .. }
            | Op::LeakyRelu { .. }
            | Op::Dropout { .. }
            | Op::BatchNorm { .. }
    )
}

/// The name a field has in summaries and parameter names (`fc1`, not `r#fc1`).
fn field_name(field: &Ident) -> String {
    field.unraw().to_string()
}

/// `pub struct Name<T: Scalar = f32> { pub layer: Type, ... }`: the user's docs, attributes
/// and visibility on top, one public field per layer.
fn expand_struct(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let ir::Network {
        attrs, vis, ident, ..
    } = net;
    let fields = gens.iter().map(|g| {
        let (field, ty) = (&g.layer.field, &g.ty);
        let doc = format!(
            " `{}`: {} → {}",
            g.layer.op.kind().name(),
            g.layer.input,
            g.layer.output
        );
        quote!(#[doc = #doc] pub #field: #ty,)
    });
    let marker = if gens.iter().any(|g| uses_scalar(&g.layer.op)) {
        None
    } else {
        Some(quote!(#[doc(hidden)] pub __scalar: ::core::marker::PhantomData<T>,))
    };
    quote! {
        #(#attrs)*
        #vis struct #ident<T: #rt::Scalar = f32> {
            #(#fields)*
            #marker
        }
    }
}

/// `NameGrad<T>`: one field per layer, each the layer's gradient type.
fn expand_grad(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let (vis, grad) = (&net.vis, grad_ident(net));
    let doc = format!(
        " Parameter gradients of [`{}`], one field per layer, in the parameters' layout.",
        net.ident
    );
    let fields = gens.iter().map(|g| {
        let (field, ty) = (&g.layer.field, &g.ty);
        quote!(pub #field: <#ty as #rt::Layer<T>>::Grad,)
    });
    quote! {
        #[doc = #doc]
        #vis struct #grad<T: #rt::Scalar = f32> {
            #(#fields)*
        }
    }
}

/// `NameRecord<T>`: every activation `x0..=xn` and every layer's record `r1..=rn`, what one
/// sample's backward needs.
fn expand_record(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let (vis, record) = (&net.vis, record_ident(net));
    let doc = format!(
        " What one training forward of [`{}`] keeps for backward.",
        net.ident
    );
    let x0 = svector(rt, net.input);
    let xs = gens.iter().map(|g| {
        let (x, ty) = (
            format_ident!("x{}", g.index + 1),
            svector(rt, g.layer.output),
        );
        quote!(#x: #ty,)
    });
    let rs = gens.iter().map(|g| {
        let (r, ty) = (format_ident!("r{}", g.index + 1), &g.ty);
        quote!(#r: <#ty as #rt::Layer<T>>::Record,)
    });
    quote! {
        #[doc = #doc]
        #vis struct #record<T: #rt::Scalar = f32> {
            x0: #x0,
            #(#xs)*
            #(#rs)*
        }
    }
}

/// `NameBatchRecord<T, B>`: the record of `B` samples, each activation and layer record an
/// array over the batch, so a layer sees its whole minibatch as one slice.
fn expand_batch_record(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let (vis, record) = (&net.vis, batch_record_ident(&net.ident));
    let doc = format!(
        " What one training forward of `B` samples through [`{}`] keeps for backward.",
        net.ident
    );
    let x0 = svector(rt, net.input);
    let xs = gens.iter().map(|g| {
        let (x, ty) = (
            format_ident!("x{}", g.index + 1),
            svector(rt, g.layer.output),
        );
        quote!(#x: [#ty; B],)
    });
    let rs = gens.iter().map(|g| {
        let (r, ty) = (format_ident!("r{}", g.index + 1), &g.ty);
        quote!(#r: [<#ty as #rt::Layer<T>>::Record; B],)
    });
    let fields = record_fields(gens);
    quote! {
        #[doc = #doc]
        #vis struct #record<T: #rt::Scalar, const B: usize> {
            x0: [#x0; B],
            #(#xs)*
            #(#rs)*
        }

        impl<T: #rt::Scalar, const B: usize> #rt::Zeros for #record<T, B> {
            fn zeros() -> Self {
                Self { #(#fields: #rt::Zeros::zeros(),)* }
            }
        }
    }
}

/// `Name::new(rng)`: each layer built with its init (He before ReLUs, Xavier otherwise).
fn expand_new(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let ident = &net.ident;
    let fields = gens.iter().map(|g| {
        let (field, value) = (&g.layer.field, layer_value(rt, &net.stack, g));
        quote!(#field: #value,)
    });
    let consumes_rng = gens.iter().any(|g| {
        matches!(
            g.layer.op,
            Op::Dense { .. } | Op::Conv2d { .. } | Op::Dropout { .. }
        )
    });
    let unused = if consumes_rng {
        None
    } else {
        Some(quote!(let _ = rng;))
    };
    let marker = if gens.iter().any(|g| uses_scalar(&g.layer.op)) {
        None
    } else {
        Some(quote!(__scalar: ::core::marker::PhantomData,))
    };
    quote! {
        impl<T: #rt::Scalar> #ident<T> {
            /// A network with freshly initialised parameters drawn from `rng`.
            pub fn new(rng: &mut (impl #rt::rand_core::RngCore + ?Sized)) -> Self {
                #unused
                Self {
                    #(#fields)*
                    #marker
                }
            }
        }
    }
}

/// `Params<T>` for the network or its gradient: the parameterised layers' tensors in order,
/// tensor `i` found by subtracting each layer's count. `field_ty` gives the field's type.
fn expand_params(
    rt: &TokenStream,
    ident: &Ident,
    gens: &[Gen],
    field_ty: impl Fn(&TokenStream) -> TokenStream,
) -> TokenStream {
    let with_params: Vec<(&Ident, String, TokenStream)> = gens
        .iter()
        .filter(|g| g.layer.op.has_params())
        .map(|g| (&g.layer.field, field_name(&g.layer.field), field_ty(&g.ty)))
        .collect();
    if with_params.is_empty() {
        return quote! {
            impl<T: #rt::Scalar> #rt::Params<T> for #ident<T> {
                const TENSORS: usize = 0;
                const LEN: usize = 0;
                fn tensor(&self, _: usize) -> &[T] {
                    &[]
                }
                fn tensor_mut(&mut self, _: usize) -> &mut [T] {
                    &mut []
                }
                fn tensor_info(i: usize) -> #rt::TensorInfo {
                    <#rt::NoParams as #rt::Params<T>>::tensor_info(i)
                }
            }
        };
    }
    let count = |ty: &TokenStream| quote!(<#ty as #rt::Params<T>>::TENSORS);
    let tensors = with_params.iter().map(|(_, _, ty)| count(ty));
    let lens = with_params
        .iter()
        .map(|(_, _, ty)| quote!(<#ty as #rt::Params<T>>::LEN));
    // Shadow `i` between layers rather than mutate it, which leaves nothing unread at the end.
    let dispatch = |call: &dyn Fn(&Ident, &str, &TokenStream) -> TokenStream| -> TokenStream {
        let steps = with_params
            .iter()
            .enumerate()
            .map(|(k, (field, name, ty))| {
                let n = count(ty);
                let body = call(field, name, ty);
                let next = (k + 1 < with_params.len()).then(|| quote!(let i = i - #n;));
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
        &|_, name, ty| quote!(#rt::TensorInfo { layer: #name, ..<#ty as #rt::Params<T>>::tensor_info(i) }),
    );
    quote! {
        impl<T: #rt::Scalar> #rt::Params<T> for #ident<T> {
            const TENSORS: usize = #(#tensors)+*;
            const LEN: usize = #(#lens)+*;
            fn tensor(&self, i: usize) -> &[T] {
                #tensor
                &[]
            }
            fn tensor_mut(&mut self, i: usize) -> &mut [T] {
                #tensor_mut
                &mut []
            }
            fn tensor_info(i: usize) -> #rt::TensorInfo {
                #info
                <#rt::NoParams as #rt::Params<T>>::tensor_info(i)
            }
        }
    }
}

/// `Zeros` for the gradient or the record: every field zero.
fn expand_zeros<'a>(
    rt: &TokenStream,
    ident: &Ident,
    fields: impl Iterator<Item = &'a Ident>,
) -> TokenStream {
    quote! {
        impl<T: #rt::Scalar> #rt::Zeros for #ident<T> {
            fn zeros() -> Self {
                Self { #(#fields: #rt::Zeros::zeros(),)* }
            }
        }
    }
}

/// `Network<T>`: shapes, the summary rows, and the forward / training forward / backward
/// call sequences through the layers.
fn expand_network(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let ident = &net.ident;
    let (grad, record) = (grad_ident(net), record_ident(net));
    let output_shape = gens.last().map_or(net.input, |g| g.layer.output);
    let (input_ty, output_ty) = (svector(rt, net.input), svector(rt, output_shape));
    let (input_shape, output_shape_tokens) =
        (shape_tokens(rt, net.input), shape_tokens(rt, output_shape));
    let x = |i: usize| format_ident!("x{}", i);
    let r = |i: usize| format_ident!("r{}", i);
    let d = |i: usize| format_ident!("d{}", i);
    let n = gens.len();
    let last = x(n);

    let needs_batch = gens.iter().map(|g| {
        let ty = &g.ty;
        quote!(<#ty as #rt::Layer<T>>::NEEDS_BATCH)
    });
    let rows = gens.iter().map(|g| {
        let (name, ty, shape) = (
            field_name(&g.layer.field),
            &g.ty,
            shape_tokens(rt, g.layer.output),
        );
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
    });

    // Inference keeps one buffer per layer that computes something: `x{i}` is a `&mut` to the
    // buffer holding layer i's output. An activation overwrites its input's buffer and a
    // flatten passes it on (both keep the length), so neither needs a buffer of its own,
    // nor the zeroing and the copy that would come with it. The first layer reads the
    // caller's input, which it cannot overwrite.
    let forward = gens.iter().map(|g| {
        let (field, ty, from, to) = (&g.layer.field, &g.ty, x(g.index), x(g.index + 1));
        let buf = format_ident!("b{}", g.index + 1);
        match reuse(g) {
            Reuse::InPlace => quote! {
                <#ty>::forward_in_place(&self.#field, #from);
                let #to = #from;
            },
            Reuse::Pass => quote!(let #to = #from;),
            Reuse::None => {
                let from = if g.index == 0 {
                    quote!(#from)
                } else {
                    quote!(&*#from)
                };
                quote! {
                    let mut #buf = #rt::Zeros::zeros();
                    #rt::Layer::<T>::forward(&self.#field, #from, &mut #buf);
                    let #to = &mut #buf;
                }
            }
        }
    });

    let forward_train = gens.iter().map(|g| {
        let (field, from, to, rec) = (&g.layer.field, x(g.index), x(g.index + 1), r(g.index + 1));
        quote!(#rt::Layer::<T>::forward_train(&mut self.#field, &r.#from, &mut r.#to, &mut r.#rec);)
    });

    // Backward from the last layer to the first: layer i+1 turns d{i+1} into d{i}; the first
    // layer writes into the caller's `dx`, if any. As in inference, `d{i}` is a `&mut` to a
    // buffer, and activations and flattens reuse the one they are given (except the last
    // layer's: the caller's `&` gradient).
    let backward = gens.iter().rev().map(|g| {
        let i = g.index;
        let (field, ty, from, to, rec) = (&g.layer.field, &g.ty, x(i), x(i + 1), r(i + 1));
        let (dy, dx) = (d(i + 1), d(i));
        let reuse = if i + 1 == n { Reuse::None } else { reuse(g) };
        let dy_ref = if i + 1 == n { quote!(#dy) } else { quote!(&*#dy) };
        match reuse {
            _ if i == 0 => quote!(#rt::Layer::<T>::backward(&self.#field, &r.#from, &r.#to, &r.#rec, #dy_ref, dx, &mut g.#field);),
            Reuse::InPlace => quote! {
                <#ty>::backward_in_place(&self.#field, &r.#from, &r.#to, #dy);
                let #dx = #dy;
            },
            Reuse::Pass => quote!(let #dx = #dy;),
            Reuse::None => {
                let buf = format_ident!("e{}", i);
                quote! {
                    let mut #buf = #rt::Zeros::zeros();
                    #rt::Layer::<T>::backward(&self.#field, &r.#from, &r.#to, &r.#rec, #dy_ref, Some(&mut #buf), &mut g.#field);
                    let #dx = &mut #buf;
                }
            }
        }
    });
    let dn = d(n);
    // The output, copied out of its buffer (or the input, for a network without layers).
    let last_value = if n == 0 {
        quote!(::core::clone::Clone::clone(x0))
    } else {
        quote!(::core::clone::Clone::clone(&*#last))
    };

    quote! {
        impl<T: #rt::Scalar> #rt::Network<T> for #ident<T> {
            type Input = #input_ty;
            type Output = #output_ty;
            type Grad = #grad<T>;
            type Record = #record<T>;
            const INPUT_SHAPE: #rt::Shape = #input_shape;
            const OUTPUT_SHAPE: #rt::Shape = #output_shape_tokens;
            const NEEDS_BATCH: bool = #(#needs_batch)||*;
            const LAYERS: &'static [#rt::LayerRow] = &[#(#rows),*];

            fn forward(&self, x0: &#input_ty) -> #output_ty {
                #(#forward)*
                #last_value
            }

            fn forward_train(&mut self, x: &#input_ty, r: &mut #record<T>) {
                #rt::Flat::<T>::flat_mut(&mut r.x0).copy_from_slice(#rt::Flat::<T>::flat(x));
                #(#forward_train)*
            }

            fn output(r: &#record<T>) -> &#output_ty {
                &r.#last
            }

            fn backward(&self, r: &#record<T>, #dn: &#output_ty, g: &mut #grad<T>, dx: ::core::option::Option<&mut #input_ty>) {
                #(#backward)*
            }
        }
    }
}

/// How a layer can share its input's buffer in the generated forward and backward.
enum Reuse {
    /// Element-wise activations: `forward_in_place` / `backward_in_place` on the buffer.
    InPlace,
    /// Flatten: the same values, the same buffer.
    Pass,
    /// Everything else writes a buffer of its own.
    None,
}

fn reuse(g: &Gen) -> Reuse {
    match g.layer.op {
        _ if g.index == 0 => Reuse::None,
        Op::Relu | Op::Sigmoid | Op::Tanh | Op::LeakyRelu { .. } => Reuse::InPlace,
        Op::Flatten => Reuse::Pass,
        _ => Reuse::None,
    }
}

/// `BatchNetwork<T>`: the same call sequence over `B` samples at a time, each layer taking
/// its whole minibatch (what batch statistics need).
fn expand_batch_network(rt: &TokenStream, net: &ir::Network, gens: &[Gen]) -> TokenStream {
    let (ident, grad, record) = (&net.ident, grad_ident(net), batch_record_ident(&net.ident));
    let output_shape = gens.last().map_or(net.input, |g| g.layer.output);
    let (input_ty, output_ty) = (svector(rt, net.input), svector(rt, output_shape));
    let x = |i: usize| format_ident!("x{}", i);
    let r = |i: usize| format_ident!("r{}", i);
    let d = |i: usize| format_ident!("d{}", i);
    let n = gens.len();
    let (last, dn) = (x(n), d(n));

    let forward = gens.iter().map(|g| {
        let (field, from, to, rec) = (&g.layer.field, x(g.index), x(g.index + 1), r(g.index + 1));
        quote!(#rt::Layer::<T>::forward_train_batch(&mut self.#field, &r.#from, &mut r.#to, &mut r.#rec);)
    });

    // As in `Network::backward`, but the first layer's input gradient is not wanted.
    let backward = gens.iter().rev().map(|g| {
        let i = g.index;
        let (field, from, to, rec) = (&g.layer.field, x(i), x(i + 1), r(i + 1));
        let dy = if i + 1 == n { d(i + 1).into_token_stream() } else { let dy = d(i + 1); quote!(&#dy) };
        if i == 0 {
            quote!(#rt::Layer::<T>::backward_batch(&self.#field, &r.#from, &r.#to, &r.#rec, #dy, None, &mut g.#field);)
        } else {
            let (dx, ty) = (d(i), svector(rt, g.layer.input));
            quote! {
                let mut #dx: [#ty; B] = #rt::Zeros::zeros();
                #rt::Layer::<T>::backward_batch(&self.#field, &r.#from, &r.#to, &r.#rec, #dy, Some(&mut #dx), &mut g.#field);
            }
        }
    });

    quote! {
        impl<T: #rt::Scalar> #rt::BatchNetwork<T> for #ident<T> {
            type BatchRecord<const B: usize> = #record<T, B>;

            fn forward_train_batch<const B: usize>(&mut self, xs: &[#input_ty; B], r: &mut #record<T, B>) {
                r.x0.clone_from(xs);
                #(#forward)*
            }

            fn batch_outputs<const B: usize>(r: &#record<T, B>) -> &[#output_ty; B] {
                &r.#last
            }

            fn backward_batch<const B: usize>(&self, r: &#record<T, B>, #dn: &[#output_ty; B], g: &mut #grad<T>) {
                #(#backward)*
            }
        }
    }
}

/// What the user gets when the network has errors: the `compile_error!`s, and a stub with
/// the same name, constructor and `Network` impl, so code using the network type-checks and
/// the errors above are the only ones.
pub fn stub(krate: &TokenStream, net: &ast::Network, failure: &Failure) -> TokenStream {
    let rt = quote!(#krate::runtime);
    let ast::Network {
        attrs, vis, ident, ..
    } = net;
    let grad = format_ident!("{}Grad", ident);
    let record = format_ident!("{}Record", ident);
    let errors = failure.errors.to_compile_errors();
    let input = failure.input.unwrap_or(Shape::Vector(1));
    let output = failure.output.unwrap_or(Shape::Vector(1));
    let (input_ty, output_ty) = (svector(&rt, input), svector(&rt, output));
    let (input_shape, output_shape) = (shape_tokens(&rt, input), shape_tokens(&rt, output));
    let empty = |ty: &Ident| expand_params(&rt, ty, &[], |ty| ty.clone());
    let (params, grad_params) = (empty(ident), empty(&grad));
    let marker = quote!(::core::marker::PhantomData);
    quote! {
        #errors

        #(#attrs)*
        #vis struct #ident<T: #rt::Scalar = f32>(#marker<T>);

        #[doc(hidden)]
        #vis struct #grad<T: #rt::Scalar = f32>(#marker<T>);

        #[doc(hidden)]
        #vis struct #record<T: #rt::Scalar = f32>(#output_ty);

        impl<T: #rt::Scalar> #ident<T> {
            #[doc(hidden)]
            pub fn new(rng: &mut (impl #rt::rand_core::RngCore + ?Sized)) -> Self {
                let _ = rng;
                Self(#marker)
            }
        }

        #params
        #grad_params

        impl<T: #rt::Scalar> #rt::Zeros for #grad<T> {
            fn zeros() -> Self {
                Self(#marker)
            }
        }

        impl<T: #rt::Scalar> #rt::Zeros for #record<T> {
            fn zeros() -> Self {
                Self(#rt::Zeros::zeros())
            }
        }

        impl<T: #rt::Scalar> #rt::Network<T> for #ident<T> {
            type Input = #input_ty;
            type Output = #output_ty;
            type Grad = #grad<T>;
            type Record = #record<T>;
            const INPUT_SHAPE: #rt::Shape = #input_shape;
            const OUTPUT_SHAPE: #rt::Shape = #output_shape;
            const LAYERS: &'static [#rt::LayerRow] = &[];
            fn forward(&self, _: &#input_ty) -> #output_ty {
                #rt::Zeros::zeros()
            }
            fn forward_train(&mut self, _: &#input_ty, _: &mut #record<T>) {}
            fn output(r: &#record<T>) -> &#output_ty {
                &r.0
            }
            fn backward(&self, _: &#record<T>, _: &#output_ty, _: &mut #grad<T>, _: ::core::option::Option<&mut #input_ty>) {}
        }

        impl<T: #rt::Scalar> #rt::BatchNetwork<T> for #ident<T> {
            type BatchRecord<const B: usize> = [#output_ty; B];
            fn forward_train_batch<const B: usize>(&mut self, _: &[#input_ty; B], _: &mut [#output_ty; B]) {}
            fn batch_outputs<const B: usize>(r: &[#output_ty; B]) -> &[#output_ty; B] {
                r
            }
            fn backward_batch<const B: usize>(&self, _: &[#output_ty; B], _: &[#output_ty; B], _: &mut #grad<T>) {}
        }
    }
}
