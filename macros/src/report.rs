//! An error accumulator: every rule adds to it, so one expansion reports every mistake.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use std::fmt::Display;
use syn::Error;

#[derive(Default)]
pub struct Errors {
    errors: Vec<Error>,
}

impl Errors {
    /// An error on one token.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.errors.push(Error::new(span, message));
    }

    /// An error underlining everything from the first to the last token of `tokens`.
    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(Error::new_spanned(tokens, message));
    }

    pub fn push(&mut self, error: Error) {
        self.errors.push(error);
    }

    /// The errors, for a caller that rewrites them (`repeat` names the copy they are in).
    pub fn into_vec(self) -> Vec<Error> {
        self.errors
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// One `compile_error!` per error, each on its own span.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.errors.iter().map(Error::to_compile_error).collect()
    }
}

impl ToTokens for Errors {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.to_compile_errors());
    }
}
