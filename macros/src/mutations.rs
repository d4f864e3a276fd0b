//! A standing defence: random token edits of valid declarations, run through the macro's
//! entry function. Whatever the edit, the macro must not panic, must give Rust that parses,
//! must put every error on a token of the input, and must not accept a declaration while
//! reporting an error. `cargo test` runs a quick version (2,000 mutants), and its sample of
//! accepted mutants is `tests/pass/mutants.rs`, which the ui test builds; the long one, with
//! a sample of its own built in a scratch crate, is
//!
//! ```text
//! STACKNET_MUTANTS=100000 STACKNET_MUTANTS_BUILD=40 cargo test --release -p stacknet-macros mutations -- --nocapture
//! ```
//!
//! Mutants are reproducible: mutant `k` of seed `s` is printed with any failure, and
//! `STACKNET_MUTANTS_SEED=s` replays the run.

use crate::network;
use crate::tests::compile_errors;
use proc_macro2::{Delimiter, Group, Punct, Spacing, Span, TokenStream, TokenTree};
use std::fmt::Write as _;
use std::str::FromStr;

/// Valid declarations covering every layer kind, block and input form.
const SEEDS: &[&str] = &[
    "struct LeNet5(input: [1, 28, 28]) { conv1: conv2d(6, kernel = 5, padding = 2), relu, max_pool2d(2), conv2: conv2d(16, kernel = 5), relu, avg_pool2d(2), flatten, fc1: dense(120), relu, fc2: dense(84), leaky_relu(0.01), fc3: dense(10) }",
    "pub struct Res(input: [3, 8, 8]) { conv2d(8, 3, padding = same, bias = false), batch_norm, relu, layer1: repeat(2) { residual { conv2d(8, 3, padding = 1), batch_norm(eps = 0.001), relu, conv2d(8, 3, padding = 1) }, relu }, residual(shortcut = { conv2d(16, kernel = 1, stride = 2) }) { conv2d(16, 3, stride = 2, padding = 1), relu }, global_avg_pool2d, dropout(0.25), dense(4) }",
    "struct Incept(input: [4, 6, 6]) { concat { conv2d(2, 1), { conv2d(3, 1), relu, conv2d(3, 3, padding = 1) }, { max_pool2d(3, stride = 1, padding = 1, ceil_mode = true) }, {} }, conv2d(4, 3, groups = 1, dilation = 2), global_max_pool2d, dense(2, init = normal(0.1)) }",
    "struct Seq(input: [6, 3]) { conv1d(4, 3, padding = same), elu(1.0), max_pool1d(2), lstm(5, sequences = true, bidirectional = true), gru(4), dense(3), softmax }",
    "struct Words(tokens: [7]) { embedding(20, 4), rnn(6, nonlinearity = relu, sequences = true), mean_over_time, maxout(2, k = 2), prelu, dense(3, bias = false) }",
    "struct Mlp(input: [8]) { dense(16, init = he_uniform), gelu(approximate = tanh), softplus(beta = 2.0, threshold = 20.0), reshape(4, 4), flatten, dense(4), dropout(0.5) }",
    "struct Pools(input: [2, 9, 9]) { adaptive_avg_pool2d(3), conv2d(out_channels = 3, kernel = (2, 3), stride = (1, 2), padding = ((0, 1), (1, 0))), avg_pool2d(2, count_include_pad = false), flatten, last_dense: dense(2) }",
    "struct Time(input: [5, 4]) { dense(6), lstm(3, sequences = true), last, dense(2) }",
];

/// Tokens an edit may put in: layer kinds, argument names and values, keywords, the macro's
/// own reserved names, raw identifiers and numbers at the edges of every type.
const IDENTS: &[&str] = &[
    "dense",
    "conv2d",
    "conv1d",
    "relu",
    "batch_norm",
    "residual",
    "concat",
    "repeat",
    "lstm",
    "gru",
    "rnn",
    "embedding",
    "dropout",
    "flatten",
    "reshape",
    "maxout",
    "softmax",
    "last",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "init",
    "shortcut",
    "same",
    "normal",
    "he_uniform",
    "eps",
    "momentum",
    "p",
    "k",
    "n",
    "hidden",
    "sequences",
    "input",
    "tokens",
    "struct",
    "pub",
    "T",
    "usize",
    "f32",
    "self",
    "Self",
    "crate",
    "__scalar",
    "r#dense",
    "r#type",
    "true",
    "false",
    "_",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "0.5",
    "1.0",
    "0.99999999",
    "1e300",
    "-1e300",
    "1e-50",
    "1e999",
    "18446744073709551615",
    "99999999999999999999999",
    "4294967296",
    "1152921504606846976",
    "300u8",
    "4f32",
    "0x10",
    "'c'",
    "\"text\"",
    "b'x'",
];
const PUNCTS: &[char] = &[',', ':', '=', ';', '-', '#', '.', '!', '&', '<', '>', '@'];

/// SplitMix64: the test needs reproducible randomness, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.below(xs.len())]
    }
}

fn random_tree(rng: &mut Rng) -> TokenTree {
    match rng.below(4) {
        0 => rng
            .pick(IDENTS)
            .parse::<TokenStream>()
            .unwrap()
            .into_iter()
            .next()
            .unwrap(),
        1 => rng
            .pick(LITERALS)
            .parse::<TokenStream>()
            .unwrap()
            .into_iter()
            .next()
            .unwrap(),
        2 => TokenTree::Punct(Punct::new(*rng.pick(PUNCTS), Spacing::Alone)),
        _ => {
            let delimiter =
                *rng.pick(&[Delimiter::Parenthesis, Delimiter::Brace, Delimiter::Bracket]);
            let inner = (0..rng.below(3)).map(|_| random_tree(rng)).collect();
            TokenTree::Group(Group::new(delimiter, inner))
        }
    }
}

/// One edit, in the layers' braces seven times in eight, anywhere otherwise.
fn mutate_declaration(declaration: TokenStream, rng: &mut Rng) -> TokenStream {
    let mut trees: Vec<TokenTree> = declaration.into_iter().collect();
    match trees.last() {
        Some(TokenTree::Group(body)) if rng.below(8) != 0 => {
            let mut edited = Group::new(body.delimiter(), mutate(body.stream(), rng));
            edited.set_span(body.span());
            *trees.last_mut().unwrap() = TokenTree::Group(edited);
            trees.into_iter().collect()
        }
        _ => mutate(trees.into_iter().collect(), rng),
    }
}

/// One edit somewhere in the tree: in a random group at a random depth, delete, duplicate,
/// swap, replace or insert a token tree, or wrap one in brackets.
fn mutate(stream: TokenStream, rng: &mut Rng) -> TokenStream {
    let mut trees: Vec<TokenTree> = stream.into_iter().collect();
    let groups: Vec<usize> = (0..trees.len())
        .filter(|&i| matches!(trees[i], TokenTree::Group(_)))
        .collect();
    // Descend into a group about half the time, so that edits reach every depth.
    if !groups.is_empty() && rng.below(2) == 0 {
        let i = *rng.pick(&groups);
        if let TokenTree::Group(group) = &trees[i] {
            let mut inner = Group::new(group.delimiter(), mutate(group.stream(), rng));
            inner.set_span(group.span());
            trees[i] = TokenTree::Group(inner);
        }
        return trees.into_iter().collect();
    }
    // Half the edits keep the grammar's shape (a size changed, an item repeated, dropped or
    // moved), so that many mutants stay valid and reach the checks and the generated code.
    if rng.below(2) == 0 {
        if let Some(edited) = reshape(&trees, rng) {
            return edited.into_iter().collect();
        }
    }
    let at = rng.below(trees.len() + 1);
    let within = at.min(trees.len().saturating_sub(1));
    match rng.below(6) {
        0 if !trees.is_empty() => {
            trees.remove(within);
        }
        1 if !trees.is_empty() => {
            let copy = trees[within].clone();
            trees.insert(within, copy);
        }
        2 if trees.len() > 1 => {
            let j = (within + 1) % trees.len();
            trees.swap(within, j);
        }
        3 if !trees.is_empty() => trees[within] = random_tree(rng),
        4 if !trees.is_empty() => {
            let wrapped = TokenStream::from(trees[within].clone());
            trees[within] = TokenTree::Group(Group::new(Delimiter::Parenthesis, wrapped));
        }
        _ => trees.insert(at, random_tree(rng)),
    }
    trees.into_iter().collect()
}

/// An edit that keeps the comma-separated structure of one level: a small integer becomes
/// another (1 to 8), or an item between commas is repeated, dropped or swapped with the next.
fn reshape(trees: &[TokenTree], rng: &mut Rng) -> Option<Vec<TokenTree>> {
    let small: Vec<usize> = (0..trees.len())
        .filter(|&i| matches!(&trees[i], TokenTree::Literal(l) if l.to_string().parse::<u64>().is_ok_and(|n| n <= 64)))
        .collect();
    let mut items: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in trees {
        match tree {
            TokenTree::Punct(p) if p.as_char() == ',' => items.push(Vec::new()),
            _ => items.last_mut().unwrap().push(tree.clone()),
        }
    }
    items.retain(|item| !item.is_empty());
    let mut trees = trees.to_vec();
    match rng.below(4) {
        0 if !small.is_empty() => {
            let n = 1 + rng.below(8);
            trees[*rng.pick(&small)] =
                TokenTree::Literal(proc_macro2::Literal::u64_unsuffixed(n as u64));
            return Some(trees);
        }
        1 if !items.is_empty() => {
            let i = rng.below(items.len());
            items.insert(i, items[i].clone());
        }
        2 if items.len() > 1 => {
            items.remove(rng.below(items.len()));
        }
        3 if items.len() > 1 => {
            let i = rng.below(items.len() - 1);
            items.swap(i, i + 1);
        }
        _ => return None,
    }
    let comma = TokenTree::Punct(Punct::new(',', Spacing::Alone));
    Some(items.join(&comma))
}

/// What the macro did with one input, or why that is wrong.
enum Outcome {
    Accepted(String),
    Refused,
}

/// Runs the macro on `source` (`::stacknet;` and a declaration) and checks its output.
fn run(source: &str) -> Result<Outcome, String> {
    let Ok(input) = TokenStream::from_str(source) else {
        return Ok(Outcome::Refused); // rustc's lexer would refuse it before the macro runs
    };
    let output = std::panic::catch_unwind(|| network(input))
        .map_err(|_| "the macro panicked".to_string())?;
    let file: syn::File = syn::parse2(output.clone())
        .map_err(|e| format!("the output does not parse: {e}\n{output}"))?;
    let errors = compile_errors(&file);
    for error in &errors {
        let span = error.mac.path.segments[0].ident.span();
        if span.byte_range() == Span::call_site().byte_range() {
            return Err(format!("an error without a span: {}", error.mac.tokens));
        }
    }
    let defines_network = file
        .items
        .iter()
        .any(|item| matches!(item, syn::Item::Impl(i) if i.trait_.as_ref().is_some_and(|(_, path, _)| path.segments.last().is_some_and(|s| s.ident == "Network"))));
    if errors.is_empty() {
        if !defines_network && !output.is_empty() {
            return Err(format!("no errors and no network:\n{output}"));
        }
        Ok(Outcome::Accepted(source.to_string()))
    } else {
        Ok(Outcome::Refused)
    }
}

/// The quick run: 2,000 mutants from seed 13.
const DEFAULT_COUNT: u64 = 2_000;
const DEFAULT_SEED: u64 = 13;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutations() {
    let count = env_or("STACKNET_MUTANTS", DEFAULT_COUNT);
    let seed = env_or("STACKNET_MUTANTS_SEED", DEFAULT_SEED);
    let build = env_or("STACKNET_MUTANTS_BUILD", 0) as usize;
    // The 8 MiB stack rustc gives proc macros.
    let (failures, accepted, refused) = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let mut rng = Rng(seed);
            let (mut failures, mut accepted, mut refused) = (Vec::new(), Vec::new(), 0);
            for k in 0..count {
                let base = rng.pick(SEEDS).parse::<TokenStream>().unwrap();
                let edits = 1 + rng.below(3);
                let mutant = (0..edits).fold(base, |s, _| mutate_declaration(s, &mut rng));
                let source = format!("::stacknet; {mutant}");
                match run(&source) {
                    Ok(Outcome::Accepted(source)) => accepted.push(source),
                    Ok(Outcome::Refused) => refused += 1,
                    Err(why) => failures.push(format!(
                        "mutant {k} of seed {seed}: {why}\n  input: {source}"
                    )),
                }
            }
            (failures, accepted, refused)
        })
        .unwrap()
        .join()
        .expect("the mutation run itself failed");
    eprintln!(
        "{count} mutants: {} accepted, {refused} refused, {} wrong",
        accepted.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Edits that keep a declaration valid (a duplicated `relu`, a changed size) must be
    // common, or the compiled sample below would test nothing.
    assert!(
        accepted.len() * 50 > count as usize,
        "only {} accepted",
        accepted.len()
    );
    if count == DEFAULT_COUNT && seed == DEFAULT_SEED {
        check_committed_sample(&accepted);
    }
    if build > 0 {
        build_sample(&accepted, build);
    }
}

/// The accepted mutants trybuild builds as `tests/pass/mutants.rs`, taken from the quick run.
const SAMPLE: usize = 8;

/// A program declaring `n` of the accepted mutants, each instantiated for `f32` and `f64`
/// through inference and a minibatch's training forward and backward, so that building it
/// shows an accepted declaration whose generated code does not compile (or whose constants
/// fail to evaluate). It is built, not run: a valid mutant may be too large for a stack.
fn sample_program(accepted: &[String], n: usize, header: &str) -> String {
    let mut main = format!(
        "{header}#![allow(dead_code, unused)]\nuse stacknet::prelude::*;\n\n\
         fn exercise<T: Scalar, N: BatchNetwork<T>>(mut net: Box<N>) {{\n    \
         let x = <N::Input as Zeros>::zeros();\n    let _ = net.forward(&x);\n    \
         let mut rec = Box::new(<N::BatchRecord<2> as Zeros>::zeros());\n    \
         net.forward_train_batch(&[x.clone(), x], &mut rec);\n    \
         let dy = [<N::Output as Zeros>::zeros(), <N::Output as Zeros>::zeros()];\n    \
         let mut grad = Box::new(<N::Grad as Zeros>::zeros());\n    \
         net.backward_batch(&rec, &dy, &mut grad);\n}}\n\n",
    );
    let mut calls = String::new();
    let step = (accepted.len() / n).max(1);
    for (k, source) in accepted.iter().step_by(step).take(n).enumerate() {
        let declaration = source.trim_start_matches("::stacknet;").trim();
        let name = syn::parse_str::<crate::ast::Network>(declaration)
            .unwrap()
            .ident
            .to_string();
        // The network may be private: the module that declares it exercises it.
        let mut run = String::new();
        for t in ["f32", "f64"] {
            writeln!(
                run,
                "        super::exercise(Box::new({name}::<{t}>::new(rng)));"
            )
            .unwrap();
        }
        writeln!(main, "mod m{k} {{\n    use stacknet::prelude::*;\n    network! {{ {declaration} }}\n    pub fn run(rng: &mut SplitMix64) {{\n{run}    }}\n}}\n").unwrap();
        writeln!(calls, "        m{k}::run(&mut rng);").unwrap();
    }
    // Built, never run: the branch is not taken, but every call in it is instantiated.
    writeln!(main, "fn main() {{\n    let mut rng = SplitMix64::new(1);\n    if std::env::args().count() > 1000 {{\n{calls}    }}\n}}").unwrap();
    main
}

/// `tests/pass/mutants.rs` holds the quick run's sample, so the ui test builds it with the
/// dependencies it has built already; it must be the one this run makes, or the macro's
/// acceptance changed and the file is regenerated with `STACKNET_SAMPLE=overwrite`.
fn check_committed_sample(accepted: &[String]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pass/mutants.rs");
    let header = "//! Accepted mutants of the macro's mutation test (`macros/src/mutations.rs`), built by\n\
                  //! the ui test. Generated: `STACKNET_SAMPLE=overwrite cargo test -p stacknet-macros mutations`.\n";
    let program = sample_program(accepted, SAMPLE, header);
    if std::env::var("STACKNET_SAMPLE").is_ok_and(|v| v == "overwrite") {
        std::fs::write(&path, &program).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == program,
        "{} is not the sample of this run: regenerate it with STACKNET_SAMPLE=overwrite",
        path.display()
    );
}

/// Builds `n` accepted mutants (see [`sample_program`]) in a scratch crate.
fn build_sample(accepted: &[String], n: usize) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("target/mutants");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"mutants\"\nversion = \"0.0.0\"\nedition = \"2021\"\n[dependencies]\nstacknet = {{ path = {:?} }}\n[workspace]\n",
        root.canonicalize().unwrap()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), sample_program(accepted, n, "")).unwrap();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the accepted mutants in {}/src/main.rs do not build",
        dir.display()
    );
}
