//! The `network!` procedural macro, invoked through the `stacknet::network!` shim, which
//! passes `$crate` first so the generated code names the runtime robustly.
//!
//! The pipeline, one file per phase:
//!
//! - [`ast`]: the grammar (in its module docs) and a lenient `syn` parser for it;
//! - [`check`]: resolves the tree against the layer kinds of [`layers`] (one module per kind,
//!   arguments bound by [`bind`], shapes inferred by the pure functions of [`shape`]) and the
//!   blocks, and reports every mistake at once through [`report`] (with [`suggest`]'s
//!   did-you-means), each on the smallest offending token; the result is the [`ir`] tree;
//! - [`plan`]: lowers the tree to a schedule of steps over values, with the inference and
//!   backward programs and their arenas laid out by liveness;
//! - [`weights`]: with `#[weights = "…"]`, reads the file and checks it against the
//!   network's tensors;
//! - [`expand`]: renders the plan as the network, its gradient and record types and impls
//!   (and, from [`weights`]' check, the baked constants);
//! - [`fallback`]: on errors, the `compile_error!`s plus a stub, so the user sees those errors
//!   and no cascade.
//!
//! The macro never panics: every input, however wrong, becomes code or spanned errors.

#![warn(missing_docs)]
// These docs are for the macro's maintainers (users read `stacknet::network!`): the links
// above point at private modules, which `cargo doc --document-private-items` renders (CI
// builds it so, to check them).
#![allow(rustdoc::private_intra_doc_links)]

mod ast;
mod bind;
mod check;
mod expand;
mod fallback;
mod ir;
mod layers;
mod names;
mod plan;
mod report;
mod shape;
mod suggest;
mod weights;

#[cfg(test)]
mod mutations;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use quote::quote;

#[doc(hidden)]
#[proc_macro]
pub fn network_impl(input: TokenStream) -> TokenStream {
    network(input.into()).into()
}

/// parse → check → plan and expand, falling back to errors plus a stub.
fn network(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if let Err(error) = ast::nesting(&input) {
        return error.to_compile_error();
    }
    let input: ast::Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let krate = &input.krate;
    let rt = quote!(#krate::runtime);
    if !names::is_ident(&input.network.ident.to_string()) || input.network.ident == "T" {
        // rustc has reported the name, or `check` refuses it (`T`, the scalar parameter's
        // name): no type can be named after it, so no stub either.
        return match check::network(&rt, &input.network) {
            Ok(_) => proc_macro2::TokenStream::new(),
            Err(failure) => failure.errors.to_compile_errors(),
        };
    }
    let out = match check::network(&rt, &input.network) {
        Ok(net) => expand::network(krate, &net),
        Err(failure) => fallback::stub(krate, &input.network, &failure),
    };
    gate(&input.network.attrs, out)
}

/// `#[cfg(…)]` on the declaration gates every generated item, not only the struct that
/// carries the user's attributes: a configured-out network leaves no impl naming it. Error
/// reports (`compile_error!`) are left ungated, so a mistake shows whatever the configuration.
fn gate(attrs: &[syn::Attribute], out: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let cfgs: Vec<&syn::Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    if cfgs.is_empty() {
        return out;
    }
    let Ok(mut file) = syn::parse2::<syn::File>(out.clone()) else {
        return out;
    };
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Struct(i) => &mut i.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Const(i) => &mut i.attrs,
            syn::Item::Type(i) => &mut i.attrs,
            syn::Item::Fn(i) => &mut i.attrs,
            _ => continue,
        };
        for cfg in &cfgs {
            let same = |a: &syn::Attribute| quote!(#a).to_string() == quote!(#cfg).to_string();
            if !attrs.iter().any(same) {
                attrs.push((*cfg).clone());
            }
        }
    }
    quote!(#file)
}
