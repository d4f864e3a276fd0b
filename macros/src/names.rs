//! Names the macro derives from the user's (`NetGrad`, `stage_conv1`): made only when they
//! are identifiers, since `Ident::new` panics on anything else.
//!
//! rustc's lexer recovers from a name such as `Net🦀` (reporting "identifiers cannot contain
//! emoji") and still hands it to the macro as an identifier; deriving `Net🦀Grad` from it
//! must then give up quietly, leaving rustc's error as the only one.

use proc_macro2::Span;
use syn::Ident;

/// Whether `s` is an identifier's text (a raw `r#` prefix allowed).
pub fn is_ident(s: &str) -> bool {
    let s = s.strip_prefix("r#").unwrap_or(s);
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || unicode_ident::is_xid_start(c) => {
            chars.all(unicode_ident::is_xid_continue) && s != "_"
        }
        _ => false,
    }
}

/// `{base}{suffix}` at `span`, or `None` when that is not an identifier.
pub fn derived(base: &Ident, suffix: &str, span: Span) -> Option<Ident> {
    let base = base.to_string();
    let base = base.strip_prefix("r#").unwrap_or(&base);
    let text = format!("{base}{suffix}");
    is_ident(&text).then(|| Ident::new(&text, span))
}

/// `{ident}Grad` and the like, for a network whose name was checked by [`is_ident`].
pub fn companion(ident: &Ident, suffix: &str) -> Ident {
    derived(ident, suffix, ident.span())
        // Unreachable for a checked name; a fixed name rather than a panic all the same.
        .unwrap_or_else(|| Ident::new(&format!("__Network{suffix}"), ident.span()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["Net", "_x", "r#dense", "é", "fc1", "Net_2"] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in ["Net🦀", "🦀", "", "_", "1x", "a-b", "r#"] {
            assert!(!is_ident(bad), "{bad}");
        }
    }
}
