//! The `network!` procedural macro (invoked through the `stacknet::network!` shim).
use proc_macro::TokenStream;

#[doc(hidden)]
#[proc_macro]
pub fn network_impl(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
