//! `#[weights = "…"]`: the network as a constant, `Net::<f32>::BAKED` and `Net::<f64>::BAKED`,
//! every tensor decoded at compile time from `include_bytes!` of the file `weights.rs`
//! checked. In a `static`, the model sits in read-only memory with no start-up work.

use super::Cx;
use crate::layers::int;
use crate::weights;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

impl Cx<'_> {
    /// The constants, or the file's mismatches as errors (the network itself is generated
    /// either way, so they are the only errors).
    pub(super) fn expand_baked(&self) -> TokenStream {
        let Some(path) = &self.net.weights else {
            return TokenStream::new();
        };
        let layers = self.layers().map(|(_, layer)| layer);
        match weights::read(path, layers) {
            Ok(file) => [quote!(f32), quote!(f64)]
                .iter()
                .map(|scalar| self.baked(&path.value(), &file, scalar))
                .collect(),
            Err(errors) => errors.to_compile_errors(),
        }
    }

    fn baked(&self, shown: &str, file: &weights::Weights, scalar: &TokenStream) -> TokenStream {
        let (rt, ident) = (&self.rt, &self.net.ident);
        let fields = self.layers().zip(&file.places).map(|((_, layer), places)| {
            let decoded = places.iter().zip(&layer.op.tensors).enumerate().map(
                |(i, ((offset, dtype), tensor))| {
                    let t = format_ident!("__t{}", i);
                    let decode = format_ident!("{}", tensor.decode.function());
                    let dtype = format_ident!("{}", dtype.name());
                    let offset = int(*offset as u64);
                    quote!(let #t = __decode::#decode(__BYTES, #offset, #rt::baked::Dtype::#dtype);)
                },
            );
            let (field, constant) = (&layer.field, &layer.op.constant);
            quote!(#field: { #(#decoded)* #constant },)
        });
        // The user's span: `include_bytes!` resolves a relative path from the declaring file.
        let include = syn::LitStr::new(
            &file.include,
            self.net
                .weights
                .as_ref()
                .map_or_else(proc_macro2::Span::call_site, |p| p.span()),
        );
        let len = int(file.len as u64);
        let params = int(self.params());
        let doc = format!(
            " The network with the tensors of `{shown}`, decoded when it compiles (the macro \
             checked every name, shape and dtype): a constant, which a `static` keeps in \
             read-only memory with nothing to decode at run time."
        );
        quote! {
            impl #ident<::core::primitive::#scalar> {
                #[doc = #doc]
                pub const BAKED: Self = {
                    type T = ::core::primitive::#scalar;
                    use #rt::baked::#scalar as __decode;
                    const __BYTES: &[::core::primitive::u8] = ::core::include_bytes!(#include);
                    ::core::assert!(
                        #rt::baked::same_file(__BYTES, #len),
                        "the weights file changed while the crate compiled: build again"
                    );
                    ::core::assert!(
                        <Self as #rt::Params<T>>::LEN == #params,
                        "stacknet bug: the baked tensors are not the runtime's"
                    );
                    Self {
                        #(#fields)*
                        __scalar: ::core::marker::PhantomData,
                    }
                };
            }
        }
    }
}
