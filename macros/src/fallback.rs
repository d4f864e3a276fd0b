//! What the user gets when the network has errors: the `compile_error!`s, and a stub with the
//! same name, constructor and `Network` impl, so code using the network type-checks and the
//! errors are the only ones.

use crate::ast;
use crate::check::Failure;
use crate::names;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::Ident;

pub fn stub(krate: &TokenStream, net: &ast::Network, failure: &Failure) -> TokenStream {
    let rt = quote!(#krate::runtime);
    let ast::Network {
        attrs, vis, ident, ..
    } = net;
    let grad = names::companion(ident, "Grad");
    let record = names::companion(ident, "Record");
    let errors = failure.errors.to_compile_errors();
    let input = failure.input.unwrap_or(Shape::Vector(1));
    let output = failure.output.unwrap_or(Shape::Vector(1));
    let svector = |shape: Shape| crate::expand::svector(&rt, shape);
    let shape = |shape: Shape| crate::expand::shape_tokens(&rt, shape);
    let (input_ty, output_ty) = (svector(input), svector(output));
    let (input_shape, output_shape) = (shape(input), shape(output));
    let (params, grad_params) = (no_params(&rt, ident), no_params(&rt, &grad));
    let marker = quote!(::core::marker::PhantomData);
    let twin = int8_stub(&rt, net, input, output);
    // The layers named in the declaration keep their fields, so `net.fc.weight` type-checks.
    let mut fields = Vec::new();
    named_fields(&net.items, "", &mut fields);
    let value = quote! {
        Self {
            #(#fields: #rt::layers::Unresolved::new(),)*
            __scalar: #marker,
        }
    };
    // `#[weights]`' constants (the file is not read: the network it would be checked against
    // does not exist).
    let baked = if net.weights.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            impl #ident<::core::primitive::f32> {
                #[doc(hidden)]
                pub const BAKED: Self = #value;
            }
            impl #ident<::core::primitive::f64> {
                #[doc(hidden)]
                pub const BAKED: Self = #value;
            }
        }
    };
    quote! {
        #errors
        #twin

        #(#attrs)*
        #vis struct #ident<T: #rt::Scalar = ::core::primitive::f32> {
            #(#[doc(hidden)] pub #fields: #rt::layers::Unresolved<T>,)*
            #[doc(hidden)]
            pub __scalar: #marker<T>,
        }

        #[doc(hidden)]
        #[derive(Clone)]
        #vis struct #grad<T: #rt::Scalar = ::core::primitive::f32>(#marker<T>);

        #[doc(hidden)]
        #vis struct #record<T: #rt::Scalar = ::core::primitive::f32>(#output_ty);

        impl<T: #rt::Scalar> #ident<T> {
            #[doc(hidden)]
            pub fn new(rng: &mut (impl #rt::rand_core::RngCore + ?Sized)) -> Self {
                let _ = rng;
                #value
            }
        }

        #baked

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

        // Either trainer accepts the stub, so using it adds no error of its own.
        impl<T: #rt::Scalar> #rt::PerSample<T> for #ident<T> {}

        impl<T: #rt::Scalar> #rt::BatchNetwork<T> for #ident<T> {
            type BatchRecord<const B: ::core::primitive::usize> = [#output_ty; B];
            fn forward_train_batch<const B: ::core::primitive::usize>(&mut self, _: &[#input_ty; B], _: &mut [#output_ty; B]) {}
            fn batch_outputs<const B: ::core::primitive::usize>(r: &[#output_ty; B]) -> &[#output_ty; B] {
                r
            }
            fn backward_batch<const B: ::core::primitive::usize>(&self, _: &[#output_ty; B], _: &[#output_ty; B], _: &mut #grad<T>) {}
        }
    }
}

/// After `#[int8]`, the twin's type and methods with the stub's sizes, so that code using
/// them adds no error of its own.
fn int8_stub(rt: &TokenStream, net: &ast::Network, input: Shape, output: Shape) -> TokenStream {
    if net.int8.is_empty() {
        return TokenStream::new();
    }
    let (ident, vis) = (&net.ident, &net.vis);
    let twin = names::companion(ident, "Int8");
    let n = |shape: Shape| crate::layers::int(shape.len().unwrap_or(1));
    let (n_in, n_out) = (n(input), n(output));
    let i8s = |n: &proc_macro2::Literal| quote!([::core::primitive::i8; #n]);
    let (x8, y8) = (i8s(&n_in), i8s(&n_out));
    let qparams = quote!(#rt::quant::QParams { scale: 1.0, zero_point: 0 });
    let format = quote!(#rt::quant::bytes::FormatError);
    quote! {
        #[doc(hidden)]
        #vis struct #twin {
            pub input: #rt::quant::QParams,
            pub output: #rt::quant::QParams,
        }

        impl<T: #rt::Scalar> #ident<T> {
            #[doc(hidden)]
            pub fn quantize<'a>(
                &self,
                calibration: impl ::core::iter::IntoIterator<Item = &'a #rt::nalgebra::SVector<T, #n_in>>,
            ) -> ::core::result::Result<#twin, #rt::quant::CalibrationError>
            where
                T: 'a,
            {
                let _ = calibration;
                ::core::result::Result::Err(#rt::quant::CalibrationError::NoSamples)
            }
        }

        #[doc(hidden)]
        impl #twin {
            pub const ARENA_BYTES: ::core::primitive::usize = 0;
            pub const BYTES: ::core::primitive::usize = #rt::quant::bytes::HEADER;
            pub const FINGERPRINT: ::core::primitive::u64 = 0;
            pub fn forward(&self, _: &#x8) -> #y8 {
                [0; #n_out]
            }
            pub fn quantize_input<T: #rt::Scalar>(&self, _: &#rt::nalgebra::SVector<T, #n_in>) -> #x8 {
                [0; #n_in]
            }
            pub fn dequantize_output(&self, _: &#y8) -> #rt::nalgebra::SVector<::core::primitive::f32, #n_out> {
                #rt::Zeros::zeros()
            }
            pub fn infer<T: #rt::Scalar>(&self, _: &#rt::nalgebra::SVector<T, #n_in>) -> #rt::nalgebra::SVector<::core::primitive::f32, #n_out> {
                #rt::Zeros::zeros()
            }
            pub fn predict<T: #rt::Scalar>(&self, _: &#rt::nalgebra::SVector<T, #n_in>) -> ::core::primitive::usize {
                0
            }
            pub fn to_bytes(&self, _: &mut [::core::primitive::u8]) -> ::core::result::Result<(), #format> {
                ::core::result::Result::Ok(())
            }
            pub const fn try_from_bytes(_: &[::core::primitive::u8]) -> ::core::result::Result<Self, #format> {
                ::core::result::Result::Ok(Self::from_bytes(&[]))
            }
            pub const fn from_bytes(_: &[::core::primitive::u8]) -> Self {
                Self { input: #qparams, output: #qparams }
            }
        }
    }
}

/// The fields of the layers named in `items`: `name`, or `scope_name` inside a named group or
/// block, as `check.rs` names them (the copies of a `repeat`, numbered there, are left out).
fn named_fields(items: &ast::Items, scope: &str, out: &mut Vec<Ident>) {
    for item in &items.list {
        let (name, body, repeat) = match item {
            ast::Item::Layer(layer) => (&layer.name, layer.body.as_ref(), layer.kind == "repeat"),
            ast::Item::Group(group) => (&group.name, Some(group), false),
            ast::Item::Invalid(_) => continue,
        };
        let name = name.as_ref().map(|n| format!("{scope}{}", n.unraw()));
        match (body, repeat) {
            (_, true) => {}
            (Some(group), false) => {
                let inner = name.as_ref().map_or(scope.to_string(), |n| format!("{n}_"));
                named_fields(&group.items, &inner, out);
            }
            (None, false) => {
                // `__` names are refused (the generated fields use them): no field for them.
                let valid = |n: &String| names::is_ident(n) && !n.starts_with("__");
                if let Some(field) = name.filter(valid) {
                    if !out.iter().any(|f| f == &field) {
                        out.push(syn::Ident::new(&field, proc_macro2::Span::call_site()));
                    }
                }
            }
        }
    }
}

/// `Params<T>` with no tensors.
fn no_params(rt: &TokenStream, ident: &Ident) -> TokenStream {
    quote! {
        impl<T: #rt::Scalar> #rt::Params<T> for #ident<T> {
            const TENSORS: ::core::primitive::usize = 0;
            const LEN: ::core::primitive::usize = 0;
            fn tensor(&self, _: ::core::primitive::usize) -> &[T] {
                &[]
            }
            fn tensor_mut(&mut self, _: ::core::primitive::usize) -> &mut [T] {
                &mut []
            }
            fn tensor_info(i: ::core::primitive::usize) -> #rt::TensorInfo {
                <#rt::NoParams as #rt::Params<T>>::tensor_info(i)
            }
        }
    }
}
