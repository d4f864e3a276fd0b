//! Expansion tests: run the macro on token streams, parse its output as a `syn::File` and
//! check the structure of what it generated; `prettyplease` prints it when a test fails.

use crate::network;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::str::FromStr;
use syn::{Fields, File, Item, ItemImpl, ItemStruct};

fn expand(input: TokenStream) -> File {
    let output = network(input);
    match syn::parse2::<File>(output.clone()) {
        Ok(file) => file,
        Err(error) => panic!("the expansion does not parse: {error}\n{output}"),
    }
}

fn pretty(file: &File) -> String {
    prettyplease::unparse(file)
}

/// The `compile_error!` items of the output, in order.
pub(crate) fn compile_errors(file: &File) -> Vec<&syn::ItemMacro> {
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "compile_error") =>
            {
                Some(m)
            }
            _ => None,
        })
        .collect()
}

/// The messages of the `compile_error!`s in the output, in order.
fn errors(file: &File) -> Vec<String> {
    compile_errors(file)
        .into_iter()
        .filter_map(|m| m.mac.parse_body::<syn::LitStr>().ok())
        .map(|lit| lit.value())
        .collect()
}

fn find_struct<'a>(file: &'a File, name: &str) -> &'a ItemStruct {
    let found = file.items.iter().find_map(|item| match item {
        Item::Struct(s) if s.ident == name => Some(s),
        _ => None,
    });
    found.unwrap_or_else(|| panic!("no struct `{name}` in\n{}", pretty(file)))
}

/// Field names and types (as token strings) of a struct with named fields.
fn fields(s: &ItemStruct) -> Vec<(String, String)> {
    match &s.fields {
        Fields::Named(named) => named
            .named
            .iter()
            .map(|f| {
                (
                    f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default(),
                    ts(&f.ty),
                )
            })
            .collect(),
        _ => panic!("`{}` has no named fields", s.ident),
    }
}

fn field_names(s: &ItemStruct) -> Vec<String> {
    fields(s).into_iter().map(|(name, _)| name).collect()
}

/// `(trait path, self type)` of every impl, as token strings.
fn impls(file: &File) -> Vec<(String, String)> {
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Impl(ItemImpl {
                trait_, self_ty, ..
            }) => Some((
                trait_
                    .as_ref()
                    .map(|(_, path, _)| ts(path))
                    .unwrap_or_default(),
                ts(self_ty),
            )),
            _ => None,
        })
        .collect()
}

/// Tokens as text without whitespace, so `> >` and `>>` compare equal.
/// The text of a `#[doc = "…"]` attribute.
fn doc_text(attr: &syn::Attribute) -> String {
    match &attr.meta {
        syn::Meta::NameValue(syn::MetaNameValue {
            value:
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }),
            ..
        }) if attr.path().is_ident("doc") => s.value(),
        _ => panic!("not a doc attribute: {}", ts(attr)),
    }
}

fn ts(tokens: impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .split_whitespace()
        .collect()
}

fn lenet() -> TokenStream {
    quote! {
        ::stacknet;
        /// LeNet-5.
        #[derive(Clone)]
        pub struct LeNet5(input: [1, 28, 28]) {
            conv1: conv2d(6, kernel = 5, padding = 2),
            relu,
            max_pool2d(2),
            conv2: conv2d(16, kernel = 5),
            relu,
            max_pool2d(2),
            flatten,
            fc1: dense(120), relu,
            fc2: dense(84), relu,
            fc3: dense(10),
        }
    }
}

#[test]
fn lenet_fields_and_types() {
    let file = expand(lenet());
    assert!(errors(&file).is_empty(), "{}", pretty(&file));
    let net = find_struct(&file, "LeNet5");
    assert_eq!(
        field_names(net),
        [
            "conv1",
            "relu_1",
            "max_pool2d_2",
            "conv2",
            "relu_4",
            "max_pool2d_5",
            "flatten_6",
            "fc1",
            "relu_8",
            "fc2",
            "relu_10",
            "fc3",
            "__scalar"
        ]
    );
    let types: Vec<String> = fields(net).into_iter().map(|(_, ty)| ty).collect();
    let rt = quote!(::stacknet::runtime::layers);
    // conv1: C=1, H=W=28, OC=6, k=5, s=1, p=2 on every side, d=1, G=1, O=28, K=1·5·5, P=28·28,
    // IN=784, OUT=6·784.
    assert_eq!(
        types[0],
        ts(
            quote!(#rt::Conv2d<T, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 28, 28, 25, 784, 784, 4704, true>)
        )
    );
    assert_eq!(types[1], ts(quote!(#rt::Activation<#rt::Relu, 4704>)));
    // 28 → 14: MaxPool2d<C, H, W, KH, KW, SH, SW, PT, PB, PL, PR, OH, OW, IN, OUT>.
    assert_eq!(
        types[2],
        ts(quote!(#rt::MaxPool2d<6, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 14, 14, 4704, 1176>))
    );
    // conv2: 14 − 5 + 1 = 10; K = 6·25 = 150; P = 100; OUT = 1600.
    assert_eq!(
        types[3],
        ts(
            quote!(#rt::Conv2d<T, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 10, 10, 150, 100, 1176, 1600, true>)
        )
    );
    assert_eq!(types[6], ts(quote!(#rt::Flatten<400>)));
    assert_eq!(types[7], ts(quote!(#rt::Dense<T, 400, 120, true>)));
    assert_eq!(types[11], ts(quote!(#rt::Dense<T, 84, 10, true>)));
    // The generic parameter and its default.
    assert_eq!(
        ts(&net.generics),
        ts(quote!(<T: ::stacknet::runtime::Scalar = ::core::primitive::f32>))
    );
}

#[test]
fn generated_items() {
    let file = expand(lenet());
    let grad = find_struct(&file, "LeNet5Grad");
    assert_eq!(field_names(grad).len(), 12);
    let rt = quote!(::stacknet::runtime);
    let dense = quote!(#rt::layers::Dense<T, 400, 120, true>);
    assert_eq!(
        fields(grad)[7].1,
        ts(quote!(<#dense as #rt::Layer<T>>::Grad))
    );
    let record = find_struct(&file, "LeNet5Record");
    let names = field_names(record);
    assert_eq!(names.len(), 13 + 12);
    assert_eq!(names[0], "x0");
    assert_eq!(names[12], "x12");
    assert_eq!(names[13], "r0");
    assert_eq!(
        fields(record)[0].1,
        ts(quote!(::stacknet::runtime::nalgebra::SVector<T, 784>))
    );
    assert_eq!(
        fields(record)[12].1,
        ts(quote!(::stacknet::runtime::nalgebra::SVector<T, 10>))
    );
    let rt = "::stacknet::runtime::";
    let expected = [
        ("", "LeNet5<T>"),
        ("Params<T>", "LeNet5<T>"),
        ("Params<T>", "LeNet5Grad<T>"),
        ("Zeros", "LeNet5Grad<T>"),
        ("Zeros", "LeNet5Record<T>"),
        ("Zeros", "LeNet5BatchRecord<T,B>"),
        ("PerSample<T>", "LeNet5<T>"),
        ("Model", "LeNet5<T>"),
        ("Network<T>", "LeNet5<T>"),
        ("BatchNetwork<T>", "LeNet5<T>"),
    ];
    let found = impls(&file);
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for ((trait_, self_ty), (want_trait, want_self)) in found.iter().zip(expected) {
        let want_trait = if want_trait.is_empty() {
            String::new()
        } else {
            format!("{rt}{want_trait}")
        };
        assert_eq!(
            (trait_.as_str(), self_ty.as_str()),
            (want_trait.as_str(), want_self)
        );
    }
}

#[test]
fn output_shape_and_parameter_dispatch() {
    let text = ts(expand(lenet()));
    assert!(text.contains(&ts(quote!(
        const OUTPUT_SHAPE: ::stacknet::runtime::Shape = ::stacknet::runtime::Shape::vector(10);
    ))));
    assert!(text.contains(&ts(quote!(
        const INPUT_SHAPE: ::stacknet::runtime::Shape =
            ::stacknet::runtime::Shape::image(1, 28, 28);
    ))));
    // Parameter names in summaries and tensor infos are the field names.
    for name in [
        "\"conv1\"",
        "\"conv2\"",
        "\"fc1\"",
        "\"fc2\"",
        "\"fc3\"",
        "\"max_pool2d_5\"",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    // Every layer in each Params impl (network and gradient), each with the runtime's own
    // tensor count (zero for `relu_1`, a branch the compiler folds away), and at its site in
    // the ONNX graph.
    assert_eq!(text.matches("layer:\"fc3\"").count(), 3);
    assert_eq!(text.matches("layer:\"relu_1\"").count(), 3);
}

#[test]
fn docs_attributes_and_visibility_pass_through() {
    let file = expand(quote! {
        ::stacknet;
        /// Docs.
        #[derive(Clone, Debug)]
        #[allow(dead_code)]
        pub(crate) struct Net(input: [4]) { dense(2) }
    });
    let net = find_struct(&file, "Net");
    let attrs: Vec<String> = net.attrs.iter().map(|a| ts(a.to_token_stream())).collect();
    assert_eq!(
        attrs[..3],
        [
            ts(quote!(#[doc = r" Docs."])),
            ts(quote!(#[derive(Clone, Debug)])),
            ts(quote!(#[allow(dead_code)]))
        ]
    );
    // Then the generated docs: the layer table after the user's, and no first line of its own.
    let generated: Vec<_> = net.attrs[3..].iter().map(doc_text).collect();
    assert_eq!(generated[1], " # Layers");
    assert!(generated.contains(&" | `dense_0` | `dense` | `[2]` | 10 |".to_string()));
    assert!(generated
        .last()
        .unwrap()
        .contains("**10** trainable parameters"));
    let bare = expand(quote! { ::stacknet; struct Bare(input: [4]) { dense(2) } });
    let first = doc_text(&find_struct(&bare, "Bare").attrs[0]);
    assert_eq!(
        first,
        " A network declared with `network!`: `[4]` → `[2]`, 10 parameters."
    );
    for name in ["Net", "NetGrad", "NetRecord"] {
        assert_eq!(ts(&find_struct(&file, name).vis), "pub(crate)", "{name}");
    }
    // Layer fields are public whatever the struct's visibility.
    let syn::Fields::Named(named) = &net.fields else {
        panic!()
    };
    assert!(named
        .named
        .iter()
        .all(|f| matches!(f.vis, syn::Visibility::Public(_))));
    // The private struct's generated types are private too.
    let file = expand(quote!(::stacknet; struct Private(input: [4]) { dense(2) }));
    assert!(matches!(
        find_struct(&file, "PrivateGrad").vis,
        syn::Visibility::Inherited
    ));
}

#[test]
fn default_inits_follow_the_next_activation() {
    let text = pretty(&expand(quote! {
        ::stacknet;
        struct Net(input: [1, 8, 8]) {
            a: conv2d(2, 3), max_pool2d(2), relu,
            flatten,
            b: dense(8), dropout(0.5), leaky_relu,
            c: dense(8), tanh,
            d: dense(8, init = normal(0.1)), relu,
            e: dense(8), sigmoid,
            f: dense(3, init = constant(-1)),
            g: dense(3),
        }
    }));
    let new = text
        .find("pub fn new")
        .unwrap_or_else(|| panic!("no `new` in\n{text}"));
    let init_of = |field: &str| -> String {
        let start = text[new..]
            .find(&format!("{field}: ::stacknet::runtime::layers::"))
            .unwrap_or_else(|| panic!("{field}\n{text}"));
        let rest = &text[new + start..];
        let init = rest.find("Init::").map(|i| &rest[i + 6..]).unwrap_or("");
        init.split(',').next().unwrap_or("").to_string()
    };
    assert_eq!(init_of("a"), "HeUniform", "relu after pooling");
    assert_eq!(init_of("b"), "HeUniform", "leaky_relu after dropout");
    assert_eq!(init_of("c"), "XavierUniform");
    assert_eq!(init_of("d"), "Normal(0.1)");
    assert_eq!(init_of("e"), "XavierUniform");
    assert_eq!(init_of("f"), "Constant(-1.0)");
    assert_eq!(init_of("g"), "XavierUniform", "the output layer");
    assert!(text.contains("Dropout::new(0.5, rng)"));
    assert!(text.contains("LeakyRelu::new(0.01)"));
}

#[test]
fn default_inits_look_into_and_out_of_blocks() {
    let text = pretty(&expand(quote! {
        ::stacknet;
        struct Net(input: [4]) {
            a: dense(4),
            r: residual { b: dense(4) },
            relu,
            c: dense(4),
            s: residual { relu, d: dense(4) },
            k: repeat(2) { e: dense(4), tanh },
            f: dense(4),
            m: concat { { relu }, {} },
            g: dense(2),
        }
    }));
    let new = text.find("pub fn new").unwrap();
    let init_of = |field: &str| -> String {
        let start = text[new..]
            .find(&format!("{field}: ::stacknet::runtime::layers::"))
            .unwrap_or_else(|| panic!("{field}\n{text}"));
        let rest = &text[new + start..];
        let init = rest.find("Init::").map(|i| &rest[i + 6..]).unwrap_or("");
        init.split(',').next().unwrap_or("").to_string()
    };
    assert_eq!(init_of("a"), "XavierUniform", "feeds the residual's dense");
    assert_eq!(init_of("r_b"), "HeUniform", "the relu after the block");
    assert_eq!(
        init_of("c"),
        "HeUniform",
        "the relu that opens the next body"
    );
    assert_eq!(init_of("s_d"), "XavierUniform", "the next block's dense");
    assert_eq!(init_of("k_0_e"), "XavierUniform");
    assert_eq!(init_of("f"), "HeUniform", "a concat branch opens with relu");
    assert_eq!(init_of("g"), "XavierUniform", "the output layer");
}

#[test]
fn same_padding_and_rectangular_arguments_resolve_to_numbers() {
    let file = expand(quote! {
        ::stacknet;
        struct Net(input: [3, 10, 12]) {
            c: conv2d(4, kernel = (3, 5), padding = same, dilation = (2, 1), bias = false),
            p: avg_pool2d((2, 3), stride = 1, padding = (1, 0)),
        }
    });
    let types: Vec<String> = fields(find_struct(&file, "Net"))
        .into_iter()
        .map(|(_, ty)| ty)
        .collect();
    let rt = quote!(::stacknet::runtime::layers);
    // p = (d(k − 1)/2) = (2, 2); output 10×12; K = 3·3·5 = 45; P = 120; IN = 360; OUT = 480.
    assert_eq!(
        types[0],
        ts(
            quote!(#rt::Conv2d<T, 3, 10, 12, 4, 3, 5, 1, 1, 2, 2, 2, 2, 2, 1, 1, 10, 12, 45, 120, 360, 480, false>)
        )
    );
    // (10 + 2 − 2)/1 + 1 = 11, (12 − 3)/1 + 1 = 10.
    assert_eq!(
        types[1],
        ts(quote!(#rt::AvgPool2d<4, 10, 12, 2, 3, 1, 1, 1, 1, 0, 0, 11, 10, 480, 440, true>))
    );
}

#[test]
fn parameter_free_network_has_a_scalar_marker() {
    let file = expand(quote!(::stacknet; pub struct Act(input: [5]) { relu, softmax }));
    assert_eq!(
        field_names(find_struct(&file, "Act")),
        ["relu_0", "softmax_1", "__scalar"]
    );
    let text = ts(&file);
    let rt = quote!(::stacknet::runtime);
    let relu = quote!(#rt::layers::Activation<#rt::layers::Relu, 5>);
    let softmax = quote!(#rt::layers::Softmax<5>);
    let tensors = quote!(const TENSORS: ::core::primitive::usize = #rt::network::sum(&[<#relu as #rt::Params<T>>::TENSORS, <#softmax as #rt::Params<T>>::TENSORS]););
    assert!(text.contains(&ts(tensors)), "{text}");
    assert!(text.contains("let_=&rng;"));
}

#[test]
fn erroneous_input_gives_compile_errors_and_a_stub() {
    let file = expand(quote! {
        ::stacknet;
        /// Docs stay.
        pub struct Bad(input: [1, 4, 4]) {
            conv2d(16, kernel = 5),
            dens(10),
        }
    });
    assert_eq!(
        errors(&file),
        [
            "`conv2d` kernel 5 does not fit: input is 4×4 with padding 0 (effective kernel 5 > 4)",
            "unknown layer `dens`; did you mean `dense`?",
        ]
    );
    let stub = find_struct(&file, "Bad");
    // No layer is named: the stub holds only its scalar marker.
    assert!(
        matches!(&stub.fields, Fields::Named(f) if f.named.len() == 1),
        "{}",
        pretty(&file)
    );
    assert_eq!(stub.attrs.len(), 1);
    // Only the stub's items: no layer types anywhere.
    let text = pretty(&file);
    assert!(!text.contains("layers::"), "{text}");
    assert!(text.contains(
        "impl<T: ::stacknet::runtime::Scalar> ::stacknet::runtime::Network<T> for Bad<T>"
    ));
    assert!(
        text.contains("impl<T: ::stacknet::runtime::Scalar> ::stacknet::runtime::Model for Bad<T>")
    );
    // The input shape is known, so the stub takes the real input type.
    assert!(text.contains("type Input = ::stacknet::runtime::nalgebra::SVector<T, 16>;"));
}

#[test]
fn batch_norm_is_checked_then_expanded_per_feature_or_per_channel() {
    let file = expand(
        quote!(::stacknet; struct N(input: [4]) { dense(4), batch_norm(momentum = 0.2), relu }),
    );
    assert!(errors(&file).is_empty());
    let text = pretty(&file);
    assert!(
        text.contains("::stacknet::runtime::layers::BatchNorm<T, 4, 1, 4>"),
        "{text}"
    );
    assert!(
        text.contains("::stacknet::runtime::layers::BatchNorm::new(0.2, 0.00001)"),
        "{text}"
    );
    // After a convolution: 3 channels of 6×6 positions.
    let file = expand(quote!(::stacknet; struct N(input: [1, 8, 8]) { conv2d(3, 3), batch_norm }));
    assert!(pretty(&file).contains("::stacknet::runtime::layers::BatchNorm<T, 3, 36, 108>"));
    let file =
        expand(quote!(::stacknet; struct N(input: [4]) { batch_norm(momentum = 2, eps = 0) }));
    assert_eq!(
        errors(&file),
        [
            "`momentum` of `batch_norm` must be in [0, 1], found 2",
            "`eps` of `batch_norm` must be positive, found 0"
        ]
    );
}

/// Every mistake is reported in one pass, and a broken layer does not hide later ones.
#[test]
fn errors_accumulate_without_cascading() {
    let file = expand(quote! {
        ::stacknet;
        struct Net(input: [0, 28, 28]) {
            conv2d(0, kernel = 3, strides = 2),
            relu(1),
            fc: dense(10, bias = 1, init = xavier),
            fc: dense(units = 3, units = 4),
            dropout(p = 1.0),
            leaky_relu(slope = fast),
        }
    });
    assert_eq!(
        errors(&file),
        [
            "input dimensions must be at least 1, found 0",
            "unknown argument `strides` for `conv2d`; did you mean `stride`?",
            "`out_channels` of `conv2d` must be at least 1, found 0",
            "too many arguments for `relu`: expected none, found 1",
            "expected `true` or `false` for `bias`, found `1`",
            "unknown init `xavier`; did you mean `xavier_uniform` or `xavier_normal`?",
            "duplicate layer name `fc`; each layer becomes a field, so names must be unique",
            "duplicate argument `units` for `dense`",
            "`p` of `dropout` must be in [0, 1), found 1.0; p = 1 would drop every unit",
            "expected a number for `slope`, found `fast`",
        ]
    );
}

/// After an error that loses the shape, a layer whose output shape is known again (`dense`)
/// resumes checking: the later mistake is still found, and nothing in between is blamed.
#[test]
fn inference_resumes_after_a_lost_shape() {
    let file = expand(quote! {
        ::stacknet;
        struct Net(input: [1, 4, 4]) {
            conv2d(2, kernel = 7), relu, flatten,
            dense(8), relu,
            conv2d(2, kernel = 1),
        }
    });
    assert_eq!(
        errors(&file),
        [
            "`conv2d` kernel 7 does not fit: input is 4×4 with padding 0 (effective kernel 7 > 4)",
            "`conv2d` expects an image `[channels, height, width]`, found a vector [8]",
        ]
    );
}

#[test]
fn syntax_errors_are_spanned_errors() {
    for (input, message) in [
        ("::stacknet; struct N(input: [4]) { dense(4) relu }", "expected `,`"),
        ("::stacknet; struct N { dense(4) }", "expected the input shape after the network's name: `(input: [n])` or `(input: [c, h, w])`"),
        ("::stacknet; struct N(shape: [4]) { dense(4) }", "expected `input` (numbers) or `tokens` (integer ids), found `shape`"),
        ("::stacknet; struct N<T>(input: [4]) { dense(4) }", "expected `(input: [...])` after the network's name, found generic parameters; the network is always generic over its scalar `T`"),
        ("::stacknet; struct N(input: [4]) { dense(4, =) }", "expected a value: a number, `true`, `false`, a name or a tuple `(a, b)`"),
        ("::stacknet; struct N(input: [4]) { 3 }", "expected a layer, e.g. `dense(10)` or `relu`"),
        ("::stacknet; fn main() {}", "expected `struct Name(input: [...]) { layers }`"),
    ] {
        let file = expand(TokenStream::from_str(input).unwrap());
        assert_eq!(errors(&file), [message], "{input}");
    }
}

/// `source` with the delimiters it leaves open closed, so any prefix lexes.
fn balance(source: &str) -> String {
    let mut open = Vec::new();
    for c in source.chars() {
        match c {
            '(' => open.push(')'),
            '[' => open.push(']'),
            '{' => open.push('}'),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    source.chars().chain(open.into_iter().rev()).collect()
}

/// The macro never panics: every prefix of valid inputs (its open delimiters closed) and
/// every single-word deletion expands to code or errors that parse.
#[test]
fn never_panics_on_truncated_or_mangled_input() {
    let mut lenet = lenet().into_iter();
    lenet
        .by_ref()
        .take_while(|t| t.to_string() != ";")
        .for_each(drop);
    let sources = [
        lenet.collect::<TokenStream>().to_string(),
        "pub struct N(input: [3, 9, 9]) { c: conv2d(4, (3, 5), stride = (2, 1), padding = same, dilation = 2, init = normal(0.1)), max_pool2d(kernel = 2, padding = 1), global_avg_pool2d, dropout(0.5), batch_norm(eps = 1e-3), leaky_relu(-0.1), dense(3, false, he_normal), softmax }".to_string(),
    ];
    let mut cases = 0;
    let mut check = |source: &str| {
        if let Ok(tokens) = TokenStream::from_str(&format!("::stacknet; {source}")) {
            let _ = expand(tokens);
            cases += 1;
        }
    };
    for source in &sources {
        for (cut, _) in source.char_indices() {
            check(&balance(&source[..cut]));
        }
        let words: Vec<&str> = source.split(' ').collect();
        for skip in 0..words.len() {
            let mangled: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, w)| *w)
                .collect();
            check(&mangled.join(" "));
        }
    }
    assert!(cases > 500, "only {cases} cases");
}

/// Values far outside any sensible range are errors, not overflow panics.
#[test]
fn absurd_sizes_are_errors() {
    let file = expand(quote! {
        ::stacknet;
        struct N(input: [4294967296, 4294967296, 4294967296]) { flatten }
    });
    assert_eq!(
        errors(&file),
        ["input shape is too large: more than 2^60 − 1 values, the most whose bytes fit `isize` in `f64`"]
    );
    // Sizes that fit 64 bits but not `isize` in bytes, in one tensor or summed.
    let file = expand(quote!(::stacknet; struct N(input: [1152921504606846976]) { relu }));
    assert_eq!(errors(&file).len(), 1);
    let file = expand(quote!(::stacknet; struct N(input: [1152921504606846975]) { relu, relu }));
    assert_eq!(errors(&file), ["the network's values kept for training up to `relu_1` are too many: more than 2^60 − 1 values, the most whose bytes fit `isize` in `f64`"]);
    // 2 × (2^59 − 1) = 2^60 − 2: within the bound.
    let file = expand(quote!(::stacknet; struct N(input: [576460752303423487]) { relu, relu }));
    assert!(errors(&file).is_empty());
    let file = expand(quote! {
        ::stacknet;
        struct N(input: [1, 8, 8]) { conv2d(18446744073709551615, 3), conv2d(2, 3, padding = 9223372036854775807), dense(99999999999999999999999) }
    });
    assert_eq!(
        errors(&file),
        [
            "the output of `conv2d` is too large: more than 2^60 − 1 values, the most whose bytes fit `isize` in `f64`",
            "expected a positive integer for `units`, found `99999999999999999999999`",
        ]
    );
    let file = expand(quote!(::stacknet; struct N(input: [4]) { leaky_relu(1e999) }));
    assert_eq!(
        errors(&file),
        ["expected a number for `slope`, found `1e999`; the number is not finite"]
    );
}

/// A two-stage residual network, for the checked-in expansion.
fn resnet() -> TokenStream {
    quote! {
        ::stacknet;
        /// Two residual stages, the second with a projection shortcut.
        pub struct TinyResNet(input: [3, 16, 16]) {
            conv1: conv2d(8, kernel = 3, padding = 1), bn1: batch_norm, relu,
            layer1: residual {
                conv1: conv2d(8, kernel = 3, padding = 1), bn1: batch_norm, relu,
                conv2: conv2d(8, kernel = 3, padding = 1), bn2: batch_norm,
            },
            relu,
            layer2: residual(shortcut = { conv2d(16, kernel = 1, stride = 2), batch_norm }) {
                conv1: conv2d(16, kernel = 3, stride = 2, padding = 1), bn1: batch_norm, relu,
                conv2: conv2d(16, kernel = 3, padding = 1), bn2: batch_norm,
            },
            relu,
            global_avg_pool2d,
            fc: dense(10),
        }
    }
}

/// `macros/expanded/*.rs` are the macro's output for LeNet-5 and a residual network,
/// pretty-printed for reviewers. A stale copy fails here; regenerate them with
/// `STACKNET_EXPANDED=overwrite cargo test -p stacknet-macros expanded_files`, and read the diff.
#[test]
fn expanded_files_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("expanded");
    let overwrite = std::env::var("STACKNET_EXPANDED").as_deref() == Ok("overwrite");
    for (name, input) in [("lenet", lenet()), ("resnet", resnet())] {
        let file = expand(input);
        assert!(errors(&file).is_empty(), "{}", pretty(&file));
        let text = format!(
            "// What `network!` expands to, pretty-printed. Generated by the test\n\
             // `expanded_files_are_current` in macros/src/tests.rs: do not edit.\n\n{}",
            pretty(&file)
        );
        let path = dir.join(format!("{name}.rs"));
        if overwrite {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else {
            let found = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                found == text,
                "{} is stale; run `STACKNET_EXPANDED=overwrite cargo test -p stacknet-macros expanded_files` and review the diff",
                path.display()
            );
        }
    }
}

/// Sequence kinds lower to runtime types with every size computed: `[steps, features]` in,
/// PyTorch's recurrent sizes, the final state or every step out.
#[test]
fn sequence_layers_resolve_to_numbers() {
    let file = expand(quote! {
        ::stacknet;
        pub struct Rows(input: [1, 28, 28]) {
            reshape(28, 28),
            lstm(128, sequences = true),
            gru(16, bidirectional = true, sequences = true),
            rnn(8, nonlinearity = relu),
            fc: dense(10),
        }
    });
    assert!(errors(&file).is_empty(), "{:?}", errors(&file));
    let types: Vec<String> = fields(find_struct(&file, "Rows"))
        .into_iter()
        .map(|(_, ty)| ty)
        .collect();
    let rt = quote!(::stacknet::runtime::layers);
    assert_eq!(types[0], ts(quote!(#rt::Flatten<784>)));
    // T, STEPS, IN, H, DIRS, SEQ, XLEN = 28·28, YLEN = 28·128.
    assert_eq!(
        types[1],
        ts(quote!(#rt::Lstm<T, 28, 28, 128, 1, true, 784, 3584>))
    );
    // Two directions of 16: YLEN = 28·32.
    assert_eq!(
        types[2],
        ts(quote!(#rt::Gru<T, 28, 128, 16, 2, true, 3584, 896>))
    );
    // The final state only, ReLU: YLEN = 8.
    assert_eq!(
        types[3],
        ts(quote!(#rt::Rnn<T, 28, 32, 8, 1, false, 896, 8, true>))
    );
    assert_eq!(types[4], ts(quote!(#rt::Dense<T, 8, 10, true>)));
    // A network with recurrent layers gets a state type and the carried-state methods.
    let state = find_struct(&file, "RowsState");
    assert_eq!(field_names(state).len(), 3);
}

/// `#[cfg(…)]` on the declaration reaches every generated item (struct, gradient, record,
/// state, every impl), not only the network's struct.
#[test]
fn cfg_gates_every_generated_item() {
    let file = expand(quote! {
        ::stacknet;
        #[cfg(feature = "small")]
        pub struct Net(input: [4, 2]) {
            lstm: lstm(3),
            fc: dense(2),
        }
    });
    let gated = |attrs: &[syn::Attribute]| {
        attrs
            .iter()
            .any(|a| ts(a) == ts(quote!(#[cfg(feature = "small")])))
    };
    let mut items = 0;
    for item in &file.items {
        let attrs = match item {
            Item::Struct(s) => &s.attrs,
            Item::Impl(i) => &i.attrs,
            _ => continue,
        };
        assert!(
            gated(attrs),
            "not gated:\n{}",
            prettyplease::unparse(&File {
                shebang: None,
                attrs: vec![],
                items: vec![item.clone()],
            })
        );
        items += 1;
    }
    assert!(items > 10, "{items} items");
}

/// A hidden size whose gate rows overflow 64 bits is an error on the layer, not a panic.
#[test]
fn huge_recurrent_layers_are_errors_not_panics() {
    let file = expand(quote! {
        ::stacknet;
        pub struct Huge(input: [2, 2]) { lstm(9223372036854775807) }
    });
    assert_eq!(errors(&file).len(), 1, "{:?}", errors(&file));
}

/// Runs the macro on a thread with the 8 MiB stack rustc gives proc macros, as text.
fn expand_on_compiler_stack(src: String) -> Vec<String> {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || errors(&expand(TokenStream::from_str(&src).unwrap())))
        .unwrap()
        .join()
        .expect("the macro overflowed its stack or panicked")
}

#[test]
fn nesting_and_layer_count_are_bounded() {
    // 100,000 nested brackets overflow any recursive parser: refused before parsing.
    let deep = format!("{}4{}", "(".repeat(100_000), ")".repeat(100_000));
    let src = format!("::stacknet; struct Net(input: [4]) {{ dense({deep}) }}");
    assert_eq!(
        expand_on_compiler_stack(src),
        ["nested too deeply: more than 64 levels of brackets, the most `network!` accepts"]
    );
    // 64 levels are fine: blocks 62 deep inside the network's braces and a tuple.
    let blocks = format!("{}dense(4){}", "residual { ".repeat(62), " }".repeat(62));
    let src = format!("::stacknet; struct Net(input: [4]) {{ {blocks} }}");
    assert_eq!(expand_on_compiler_stack(src), Vec::<String>::new());
    // A repeat that would unroll forever stops at the layer limit, as does a nest of repeats
    // of empty groups (groups count as items).
    let src = "::stacknet; struct Net(input: [4]) { repeat(1000000000000) { relu } }";
    assert_eq!(
        expand_on_compiler_stack(src.to_string()),
        ["in copy 9999 of `repeat(1000000000000)`, whose input is [4]: too many layers: a network has at most 10000 layers, blocks and groups (repeats unrolled), and this `relu` is number 10001"]
    );
    let src = "::stacknet; struct Net(input: [4]) { repeat(10000) { repeat(10000) { {} } } }";
    assert_eq!(expand_on_compiler_stack(src.to_string()).len(), 1);
    // 10,000 layers are within the limit, and one more is not (checked only: expanding
    // 10,000 layers takes seconds).
    let check = |src: String| {
        let input: crate::ast::Input = syn::parse_str(&src).unwrap();
        match crate::check::network(&quote!(::stacknet::runtime), &input.network) {
            Ok(_) => Vec::new(),
            Err(failure) => failure
                .errors
                .into_vec()
                .iter()
                .map(|e| e.to_string())
                .collect(),
        }
    };
    let relu = vec!["relu"; 10_000].join(", ");
    assert_eq!(
        check(format!("::stacknet; struct Net(input: [4]) {{ {relu} }}")),
        Vec::<String>::new()
    );
    assert_eq!(
        check(format!("::stacknet; struct Net(input: [4]) {{ {relu}, dense(2) }}")),
        ["too many layers: a network has at most 10000 layers, blocks and groups (repeats unrolled), and this `dense` is number 10001"]
    );
}

#[test]
fn syntax_errors_are_recovered_at_item_boundaries() {
    // The issue's example: one unknown kind, one missing comma, one zero size, all reported.
    let file =
        expand(quote!(::stacknet; struct N(input: [4]) { dens(3), dense(4) relu, dense(0) }));
    let found = errors(&file);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("unknown layer `dens`"), "{found:?}");
    assert_eq!(found[1], "expected `,`");
    assert!(found[2].contains("`units`"), "{found:?}");
    // An item that does not parse is set aside up to the next comma; the items after it are
    // still checked (from an unknown shape), in blocks too.
    let file = expand(
        quote!(::stacknet; struct N(input: [4]) { dense(4 5), relu, residual { 7, dense(0) } }),
    );
    let found = errors(&file);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], "expected `,`");
    assert!(found[1].starts_with("expected a layer"), "{found:?}");
    assert!(found[2].contains("`units`"), "{found:?}");
    // Missing commas alone still give errors and a stub, never a network.
    let file = expand(quote!(::stacknet; struct N(input: [4]) { dense(4) relu }));
    assert_eq!(errors(&file), ["expected `,`"]);
}

#[test]
fn dropout_near_one_names_the_rounding() {
    let file = expand(quote! {
        ::stacknet;
        struct N(input: [4]) { dropout(0.99999999999999999), dropout(0.99999999), dropout(9.9999999e-1), dropout(1.0), dropout(0.9999999) }
    });
    assert_eq!(
        errors(&file),
        [
            "`p` of `dropout` must be in [0, 1), found 0.99999999999999999, which is 1 as `f64`; p = 1 would drop every unit",
            "`p` of `dropout` must be in [0, 1), found 0.99999999, which is 1 as `f32`, one of the scalars the network can be built with; p = 1 would drop every unit",
            "`p` of `dropout` must be in [0, 1), found 9.9999999e-1, which is 1 as `f32`, one of the scalars the network can be built with; p = 1 would drop every unit",
            "`p` of `dropout` must be in [0, 1), found 1.0; p = 1 would drop every unit",
        ]
    );
}
