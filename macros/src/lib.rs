//! The `network!` procedural macro, invoked through the `stacknet::network!` shim, which
//! passes `$crate` first so the generated code names the runtime robustly.
//!
//! The pipeline, one file per phase:
//!
//! - [`ast`]: the grammar (in its module docs) and a lenient `syn` parser for it;
//! - [`check`]: resolves layers and arguments against the table in [`ir`], infers every shape
//!   with the pure functions of [`shape`], and reports every mistake at once through
//!   [`report`], each on the smallest offending token;
//! - [`expand`]: generates the network, its gradient and record types and their impls; on
//!   errors, the `compile_error!`s plus a stub so the user sees those errors and no cascade.
//!
//! The macro never panics: every input, however wrong, becomes code or spanned errors.

mod ast;
mod check;
mod expand;
mod ir;
mod report;
mod shape;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

#[doc(hidden)]
#[proc_macro]
pub fn network_impl(input: TokenStream) -> TokenStream {
    network(input.into()).into()
}

/// parse → check → expand, falling back to errors plus a stub.
fn network(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let input: ast::Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let failure = match check::network(&input.network) {
        Ok(net) => match expand::network(&input.krate, &net) {
            Ok(tokens) => return tokens,
            Err(errors) => check::Failure {
                errors,
                input: Some(net.input),
                output: net.stack.layers().last().map(|layer| layer.output),
            },
        },
        Err(failure) => failure,
    };
    expand::stub(&input.krate, &input.network, &failure)
}
