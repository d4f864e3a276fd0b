//! `#[weights = "…"]`: the network as a constant, `Net::<f32>::BAKED` and `Net::<f64>::BAKED`,
//! every tensor decoded at compile time from `include_bytes!` of the file `weights.rs`
//! checked. In a `static`, the model sits in read-only memory with no start-up work.

use super::Cx;
use crate::layers::int;
use crate::weights;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use stacknet_runtime::safetensors::Dtype;

impl Cx<'_> {
    /// The constants, or the file's mismatches as errors (the network itself is generated
    /// either way, so they are the only errors).
    pub(super) fn expand_baked(&self) -> TokenStream {
        let Some(path) = &self.net.weights else {
            return TokenStream::new();
        };
        let rt = &self.rt;
        let layers = self.layers().map(|(_, layer)| layer);
        let (source, places, errors) = match weights::read(path, layers) {
            Ok(file) => {
                // The user's span: `include_bytes!` resolves a relative path as the macro did.
                let include = syn::LitStr::new(&file.include, path.span());
                let len = int(file.len as u64);
                let source = quote! {
                    const __BYTES: &[::core::primitive::u8] = ::core::include_bytes!(#include);
                    ::core::assert!(
                        #rt::baked::same_file(__BYTES, #len),
                        "the weights file changed while the crate compiled: build again"
                    );
                };
                (source, file.places, TokenStream::new())
            }
            Err(errors) => {
                // Constants of zeros, so that code naming them adds nothing to the file's
                // errors: every tensor reads F32 zeros from the start of one zeroed array.
                let (mut places, mut most) = (Vec::new(), 0);
                for (_, layer) in self.layers() {
                    let tensors = &layer.op.tensors;
                    most = tensors.iter().map(|t| t.numel()).fold(most, u64::max);
                    places.push(vec![(0, Dtype::F32); tensors.len()]);
                }
                let bytes = int(most.saturating_mul(4));
                let source = quote! {
                    const __BYTES: &[::core::primitive::u8] = &[0; #bytes];
                };
                (source, places, errors.to_compile_errors())
            }
        };
        let constants = [quote!(f32), quote!(f64)]
            .map(|scalar| self.baked(&path.value(), &source, &places, &scalar));
        quote!(#errors #(#constants)*)
    }

    fn baked(
        &self,
        shown: &str,
        source: &TokenStream,
        places: &[Vec<(usize, Dtype)>],
        scalar: &TokenStream,
    ) -> TokenStream {
        let (rt, ident) = (&self.rt, &self.net.ident);
        let fields = self.layers().zip(places).map(|((_, layer), places)| {
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
        let params = int(self.params());
        let doc = format!(
            " The network with the tensors of `{shown}`, decoded when it compiles (the macro \
             checked every name, shape and dtype): a constant, which a `static` keeps in \
             read-only memory with nothing to decode at run time."
        );
        quote! {
            impl #ident<::core::primitive::#scalar> {
                #[doc = #doc]
                // Decoding is a loop over every value: large networks pass rustc's step
                // budget, which is there to catch infinite loops, and this loop is finite.
                #[allow(long_running_const_eval)]
                pub const BAKED: Self = {
                    type T = ::core::primitive::#scalar;
                    use #rt::baked::#scalar as __decode;
                    #source
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
