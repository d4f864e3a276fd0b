//! The syntax tree of a `network!` invocation, parsed exactly as written.
//!
//! The grammar, parsed in this order (`X,*` is a comma-separated list that may end with a comma):
//!
//! ```text
//! Input    = Crate ";" Network                  the shim passes `$crate` first
//! Network  = Attribute* Visibility "struct" Ident "(" ("input" | "tokens") ":" "[" Value,* "]" ")"
//!            "{" Item,* "}"
//! Item     = (Ident ":")? Layer
//!          | (Ident ":")? Group
//! Layer    = Ident ("(" Arg,* ")")? Group?       `dense(10)`, `relu`, `residual { .. }`
//! Group    = "{" Item,* "}"                      a scope; a `concat` branch
//! Arg      = (Ident "=")? Value
//! Value    = "-"? Literal                       5, 0.5, 1e-5, -0.1, true
//!          | Ident ("(" Value,* ")")?           same, he_uniform, normal(0.1)
//!          | "(" Value,* ")"                    (3, 5), ((0, 1), (0, 1))
//!          | Group                              shortcut = { conv2d(32, kernel = 1) }
//! ```
//!
//! The parser is deliberately lenient: any identifier is accepted as a layer kind or argument
//! name, any value in any position, and the input dimensions are values too. Whether `dens` is a
//! layer or `2.5` a valid kernel is decided by `check.rs`, which can then report every mistake
//! at once, each on its own token. Only input that has no tree at all (a missing comma, an
//! unbalanced header) is a syntax error here.
//!
//! A layer's `{ ... }` body belongs to the blocks (`residual`, `concat`, `repeat(n)`); a bare
//! group is a named scope in a stack and a branch in a `concat`.

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    bracketed, parenthesized, token, Attribute, Error, Ident, Lit, Result, Token, Visibility,
};

/// The whole macro input: the facade's `$crate` path, then the network.
pub struct Input {
    /// The tokens before the first `;`: `$crate` when called through `stacknet::network!`.
    pub krate: TokenStream,
    pub network: Network,
}

/// `#[attrs] vis struct Name(input: [dims]) { layers }`.
pub struct Network {
    /// The attributes for the generated struct (the user's docs, derives, `cfg`s).
    pub attrs: Vec<Attribute>,
    /// `#[int8]`, which asks for the network's int8 twin: the macro's own attribute, taken
    /// out of `attrs`.
    pub int8: Vec<Attribute>,
    /// `#[weights = "…"]`, the file of a baked network: also the macro's, out of `attrs`.
    pub weights: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    /// `tokens: [steps]` rather than `input: [...]`: the input is integer ids.
    pub tokens: bool,
    pub bracket: token::Bracket,
    /// The input shape as written; its rank and values are checked later.
    pub dims: Punctuated<Value, Token![,]>,
    pub brace: token::Brace,
    pub items: Items,
}

/// A comma-separated list of items (a stack, a block's body), parsed with recovery: an item
/// that does not parse becomes [`Item::Invalid`] and a missing comma is noted, so the parser
/// goes on to the next item and `check` reports the syntax errors beside every other mistake.
pub struct Items {
    pub list: Punctuated<Item, Token![,]>,
    /// `(i, "expected `,`")`: a comma was missing before item `i`.
    pub missing_commas: Vec<(usize, Error)>,
}

/// One element of a stack: a layer or block, or a group.
pub enum Item {
    Layer(Layer),
    Group(Group),
    /// Tokens up to the next comma that are no item, with the parser's error.
    Invalid(Error),
}

/// `name: kind(args) { body }`, every part but `kind` optional.
pub struct Layer {
    pub name: Option<Ident>,
    pub kind: Ident,
    pub args: Option<Args>,
    pub body: Option<Group>,
}

/// `name: { items }`: a scope of its own, or a `concat` branch.
pub struct Group {
    pub name: Option<Ident>,
    pub brace: token::Brace,
    pub items: Items,
}

/// The parenthesised argument list of a layer (`dense()` has an empty one).
pub struct Args {
    pub list: Punctuated<Arg, Token![,]>,
}

/// One argument: positional (`16`) or named (`kernel = 5`).
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Value,
}

/// An argument value before its meaning is known.
pub enum Value {
    /// A literal, possibly negated: `5`, `0.5`, `-1e-3`, `true`, `"text"`.
    Lit { minus: Option<Token![-]>, lit: Lit },
    /// A bare name: `same`, `he_uniform`.
    Ident(Ident),
    /// A name with arguments: `normal(0.1)`.
    Call {
        name: Ident,
        paren: token::Paren,
        args: Punctuated<Value, Token![,]>,
    },
    /// A parenthesised tuple: `(3, 5)`.
    Tuple {
        paren: token::Paren,
        elems: Punctuated<Value, Token![,]>,
    },
    /// A group of layers: `{ conv2d(32, kernel = 1) }`.
    Group(Group),
}

/// The deepest nesting of brackets the macro accepts. Real declarations nest a few levels
/// (blocks in blocks, tuples in arguments); the parser and every phase after it recurse once
/// per level, so thousands of levels would overflow the compiler's stack instead of giving an
/// error.
pub const MAX_NESTING: usize = 64;

/// Refuses input nested deeper than [`MAX_NESTING`], on the first bracket too deep. It walks
/// the token trees with a stack of its own, so the check itself cannot overflow.
pub fn nesting(input: &TokenStream) -> Result<()> {
    let mut open = vec![input.clone().into_iter()];
    while let Some(trees) = open.last_mut() {
        match trees.next() {
            Some(proc_macro2::TokenTree::Group(group)) => {
                if open.len() > MAX_NESTING {
                    return Err(Error::new(
                        group.span_open(),
                        format!("nested too deeply: more than {MAX_NESTING} levels of brackets, the most `network!` accepts"),
                    ));
                }
                open.push(group.stream().into_iter());
            }
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    Ok(())
}

impl Parse for Input {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut krate = TokenStream::new();
        while !input.peek(Token![;]) {
            if input.is_empty() {
                return Err(input.error("expected `$crate;` before the network; call `network!` through the `stacknet` crate"));
            }
            krate.append(input.parse::<proc_macro2::TokenTree>()?);
        }
        input.parse::<Token![;]>()?;
        Ok(Input {
            krate,
            network: input.parse()?,
        })
    }
}

/// An error where the next token should be, or on `last` when the input ends there: syn puts
/// an end-of-input error on the whole macro call, which points at nothing in particular.
fn expected(input: ParseStream, last: proc_macro2::Span, message: &str) -> Error {
    if input.is_empty() {
        Error::new(last, message)
    } else {
        input.error(message)
    }
}

impl Parse for Network {
    fn parse(input: ParseStream) -> Result<Self> {
        let (int8, attrs): (Vec<_>, Vec<_>) = input
            .call(Attribute::parse_outer)?
            .into_iter()
            .partition(|a| a.path().is_ident("int8"));
        let (weights, attrs) = attrs
            .into_iter()
            .partition(|a| a.path().is_ident("weights"));
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![struct]) {
            return Err(input.error("expected `struct Name(input: [...]) { layers }`"));
        }
        let keyword = input.parse::<Token![struct]>()?;
        if !input.peek(Ident::peek_any) {
            return Err(expected(
                input,
                keyword.span,
                "expected the network's name after `struct`",
            ));
        }
        let ident: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(input.error(
                "expected `(input: [...])` after the network's name, found generic parameters; \
                 the network is always generic over its scalar `T`",
            ));
        }
        if !input.peek(token::Paren) {
            return Err(expected(input, ident.span(), "expected the input shape after the network's name: `(input: [n])` or `(input: [c, h, w])`"));
        }
        let header;
        let paren = parenthesized!(header in input);
        let keyword = header
            .call(Ident::parse_any)
            .map_err(|e| Error::new(e.span(), "expected `input: [...]`, the input shape"))?;
        if keyword != "input" && keyword != "tokens" {
            return Err(Error::new(
                keyword.span(),
                format!("expected `input` (numbers) or `tokens` (integer ids), found `{keyword}`"),
            ));
        }
        let tokens = keyword == "tokens";
        if !header.peek(Token![:]) {
            return Err(expected(
                &header,
                keyword.span(),
                "expected `:` and the input shape in brackets: `[n]` or `[c, h, w]`",
            ));
        }
        header.parse::<Token![:]>()?;
        if !header.peek(token::Bracket) {
            return Err(header.error("expected the input shape in brackets: `[n]` or `[c, h, w]`"));
        }
        let content;
        let bracket = bracketed!(content in header);
        let dims = content.parse_terminated(Value::parse, Token![,])?;
        if !header.is_empty() {
            return Err(header.error("expected `)` after the input shape"));
        }
        if !input.peek(token::Brace) {
            return Err(expected(
                input,
                paren.span.close(),
                "expected the layers in braces: `{ dense(10), relu, ... }`",
            ));
        }
        let content;
        let brace = syn::braced!(content in input);
        let items = content.parse()?;
        Ok(Network {
            attrs,
            int8,
            weights,
            vis,
            ident,
            tokens,
            bracket,
            dims,
            brace,
            items,
        })
    }
}

impl Parse for Items {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut items = Items {
            list: Punctuated::new(),
            missing_commas: Vec::new(),
        };
        while !input.is_empty() {
            // An item is parsed on a fork, so that on an error the tokens up to the next comma
            // (token trees: a bracket is skipped whole) can be set aside as one invalid item.
            let fork = input.fork();
            match fork.parse::<Item>() {
                Ok(item) => {
                    input.advance_to(&fork);
                    items.list.push_value(item);
                }
                Err(error) => {
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                    items.list.push_value(Item::Invalid(error));
                }
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                items.list.push_punct(input.parse()?);
            } else {
                // `dense(4) relu`: two items without the comma between them.
                let next = items.list.len();
                items
                    .missing_commas
                    .push((next, Error::new(input.span(), "expected `,`")));
                items.list.push_punct(Token![,](input.span()));
            }
        }
        Ok(items)
    }
}

impl Items {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Parse for Item {
    fn parse(input: ParseStream) -> Result<Self> {
        // `name:` but not a path `a::b`.
        let name =
            if input.peek(Ident::peek_any) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                let name: Ident = input.parse()?;
                input.parse::<Token![:]>()?;
                Some(name)
            } else {
                None
            };
        if input.peek(token::Brace) {
            return Ok(Item::Group(Group::parse_named(input, name)?));
        }
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected a layer, e.g. `dense(10)` or `relu`"));
        }
        let kind = input.call(Ident::parse_any)?;
        let args = if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            Some(Args {
                list: content.parse_terminated(Arg::parse, Token![,])?,
            })
        } else {
            None
        };
        let body = if input.peek(token::Brace) {
            Some(Group::parse_named(input, None)?)
        } else {
            None
        };
        Ok(Item::Layer(Layer {
            name,
            kind,
            args,
            body,
        }))
    }
}

impl Group {
    fn parse_named(input: ParseStream, name: Option<Ident>) -> Result<Self> {
        let content;
        let brace = syn::braced!(content in input);
        Ok(Group {
            name,
            brace,
            items: content.parse()?,
        })
    }
}

impl Item {
    /// The name the user gave, if any.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Layer(layer) => layer.name.as_ref(),
            Item::Group(group) => group.name.as_ref(),
            Item::Invalid(_) => None,
        }
    }

    /// Where errors about the item as a whole go: the kind, or a group's opening brace.
    pub fn span(&self) -> proc_macro2::Span {
        match self {
            Item::Layer(layer) => layer.kind.span(),
            Item::Group(group) => group.brace.span.open(),
            Item::Invalid(error) => error.span(),
        }
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> Result<Self> {
        let name =
            if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
                let name = input.call(Ident::parse_any)?;
                input.parse::<Token![=]>()?;
                Some(name)
            } else {
                None
            };
        Ok(Arg {
            name,
            value: input.parse()?,
        })
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> Result<Self> {
        if input.peek(Token![-]) {
            let minus = input.parse()?;
            let lit = input
                .parse()
                .map_err(|e| Error::new(e.span(), "expected a number after `-`"))?;
            Ok(Value::Lit {
                minus: Some(minus),
                lit,
            })
        } else if input.peek(Lit) {
            Ok(Value::Lit {
                minus: None,
                lit: input.parse()?,
            })
        } else if input.peek(token::Brace) {
            Ok(Value::Group(Group::parse_named(input, None)?))
        } else if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            Ok(Value::Tuple {
                paren,
                elems: content.parse_terminated(Value::parse, Token![,])?,
            })
        } else if input.peek(Ident::peek_any) {
            let name = input.call(Ident::parse_any)?;
            if input.peek(token::Paren) {
                let content;
                let paren = parenthesized!(content in input);
                let args = content.parse_terminated(Value::parse, Token![,])?;
                Ok(Value::Call { name, paren, args })
            } else {
                Ok(Value::Ident(name))
            }
        } else {
            Err(input
                .error("expected a value: a number, `true`, `false`, a name or a tuple `(a, b)`"))
        }
    }
}

impl ToTokens for Value {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Value::Lit { minus, lit } => {
                minus.to_tokens(tokens);
                lit.to_tokens(tokens);
            }
            Value::Ident(ident) => ident.to_tokens(tokens),
            Value::Call { name, paren, args } => {
                name.to_tokens(tokens);
                paren.surround(tokens, |tokens| args.to_tokens(tokens));
            }
            Value::Tuple { paren, elems } => {
                paren.surround(tokens, |tokens| elems.to_tokens(tokens))
            }
            Value::Group(group) => group.brace.surround(tokens, |_| {}),
        }
    }
}

impl ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if let Some(name) = &self.name {
            name.to_tokens(tokens);
            tokens.extend(quote::quote!(=));
        }
        self.value.to_tokens(tokens);
    }
}

/// The value as the user wrote it (for messages): `2.5`, `-1`, `normal(0.1)`, `(3, 5)`.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |f: &mut std::fmt::Formatter<'_>, items: &Punctuated<Value, Token![,]>| {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            Ok(())
        };
        match self {
            Value::Lit { minus, lit } => {
                if minus.is_some() {
                    f.write_str("-")?;
                }
                write!(f, "{}", lit.to_token_stream())
            }
            Value::Ident(ident) => write!(f, "{ident}"),
            Value::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                list(f, args)?;
                f.write_str(")")
            }
            Value::Tuple { elems, .. } => {
                f.write_str("(")?;
                list(f, elems)?;
                f.write_str(")")
            }
            Value::Group(_) => f.write_str("{ ... }"),
        }
    }
}
