//! The examples' command line: a handful of `--flag value` options, parsed without dependencies.
//!
//! ```no_run
//! use stacknet::data::Args;
//!
//! let defaults = Args { epochs: 5, lr: 0.05, ..Args::default() };
//! // Prints the usage and exits 0 on `--help`, 2 on a bad flag.
//! let args = Args::from_env_or_exit("lenet", "Trains LeNet-5 on MNIST digits.", defaults);
//! ```

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

/// The options the examples share. Fields left at `None` were not given and have no default.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    /// Training epochs (0: only evaluate, typically with `load`).
    pub epochs: usize,
    /// Minibatch size, at least 1.
    pub batch: usize,
    /// Learning rate, positive; `f32`, the scalar of the networks the examples train, as
    /// the optimisers take their hyperparameters in the network's scalar.
    pub lr: f32,
    /// Seeds initialisation and shuffling.
    pub seed: u64,
    /// A directory with the standard MNIST IDX files, instead of the bundled sample.
    pub data: Option<PathBuf>,
    /// Weights to start from.
    pub load: Option<PathBuf>,
    /// Where to save the trained weights.
    pub save: Option<PathBuf>,
    /// Train on the first N training samples only (short runs, CI).
    pub limit: Option<usize>,
    /// Threads that share each minibatch (0: one per core); the results do not depend on it.
    pub threads: usize,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            epochs: 1,
            batch: 32,
            lr: 0.01,
            seed: 0,
            data: None,
            load: None,
            save: None,
            limit: None,
            threads: 0,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run with these settings.
    Run(Args),
    /// `--help` or `-h` was given: print the usage and exit successfully.
    Help,
}

/// A command line that cannot be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// A flag the program does not take.
    UnknownFlag {
        /// The flag as given.
        found: String,
        /// The closest known flag, if one is close enough to be a likely typo.
        suggestion: Option<&'static str>,
    },
    /// A flag that takes a value came last.
    MissingValue {
        /// The flag (`--epochs`).
        flag: &'static str,
        /// What its value should be (`"a positive integer"`).
        expected: &'static str,
    },
    /// A flag's value does not parse or is out of range.
    BadValue {
        /// The flag.
        flag: &'static str,
        /// What its value should be.
        expected: &'static str,
        /// The value given.
        found: String,
    },
    /// An argument that is not a flag.
    Unexpected {
        /// The argument.
        found: String,
    },
    /// An argument that is not valid Unicode.
    NotUnicode {
        /// The argument, lossily converted for display.
        found: String,
    },
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::UnknownFlag { found, suggestion } => {
                write!(f, "unknown flag `{found}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => write!(f, "; see `--help`"),
                }
            }
            ArgsError::MissingValue { flag, expected } => {
                write!(f, "missing value for `{flag}`: expected {expected}")
            }
            ArgsError::BadValue {
                flag,
                expected,
                found,
            } => {
                write!(
                    f,
                    "invalid value for `{flag}`: expected {expected}, found `{found}`"
                )
            }
            ArgsError::Unexpected { found } => {
                write!(
                    f,
                    "unexpected argument `{found}`: expected a flag such as `--epochs 3`"
                )
            }
            ArgsError::NotUnicode { found } => {
                write!(f, "argument `{found}` is not valid unicode")
            }
        }
    }
}

impl Error for ArgsError {}

/// One flag: its name, the placeholder of its value (`None`: a flag without a value), what
/// the value must be, how it is stored and how its default is shown.
struct Flag {
    name: &'static str,
    value: Option<&'static str>,
    help: &'static str,
    expected: &'static str,
    /// Stores the value; false if it is not what `expected` says.
    set: fn(&mut Args, &str) -> bool,
    default: fn(&Args) -> Option<String>,
}

fn positive<T: std::str::FromStr + Default + PartialOrd>(v: &str) -> Option<T> {
    v.parse().ok().filter(|n| *n > T::default())
}

fn path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

fn show(p: &Option<PathBuf>) -> Option<String> {
    p.as_ref().map(|p| p.display().to_string())
}

const FLAGS: &[Flag] = &[
    Flag {
        name: "--epochs",
        value: Some("N"),
        help: "training epochs; 0 only evaluates",
        expected: "a non-negative integer",
        set: |a, v| v.parse().map(|n| a.epochs = n).is_ok(),
        default: |a| Some(a.epochs.to_string()),
    },
    Flag {
        name: "--batch",
        value: Some("N"),
        help: "minibatch size",
        expected: "a positive integer",
        set: |a, v| positive(v).map(|n| a.batch = n).is_some(),
        default: |a| Some(a.batch.to_string()),
    },
    Flag {
        name: "--lr",
        value: Some("X"),
        help: "learning rate",
        expected: "a positive number",
        set: |a, v| {
            positive::<f32>(v)
                .filter(|x| x.is_finite())
                .map(|x| a.lr = x)
                .is_some()
        },
        default: |a| Some(a.lr.to_string()),
    },
    Flag {
        name: "--seed",
        value: Some("N"),
        help: "seed for initialisation and shuffling",
        expected: "a non-negative integer",
        set: |a, v| v.parse().map(|n| a.seed = n).is_ok(),
        default: |a| Some(a.seed.to_string()),
    },
    Flag {
        name: "--data",
        value: Some("DIR"),
        help: "train on the standard MNIST IDX files in DIR (train-images-idx3-ubyte[.gz]…)",
        expected: "a directory",
        set: |a, v| path(v).map(|p| a.data = Some(p)).is_some(),
        default: |a| show(&a.data),
    },
    Flag {
        name: "--load",
        value: Some("FILE"),
        help: "start from the weights saved in FILE",
        expected: "a file path",
        set: |a, v| path(v).map(|p| a.load = Some(p)).is_some(),
        default: |a| show(&a.load),
    },
    Flag {
        name: "--save",
        value: Some("FILE"),
        help: "save the trained weights to FILE",
        expected: "a file path",
        set: |a, v| path(v).map(|p| a.save = Some(p)).is_some(),
        default: |a| show(&a.save),
    },
    Flag {
        name: "--limit",
        value: Some("N"),
        help: "train on the first N samples only",
        expected: "a positive integer",
        set: |a, v| positive(v).map(|n| a.limit = Some(n)).is_some(),
        default: |a| a.limit.map(|n| n.to_string()),
    },
    Flag {
        name: "--threads",
        value: Some("N"),
        help: "threads that share each minibatch (0: one per core; same results for any N)",
        expected: "a non-negative integer",
        set: |a, v| v.parse().map(|n| a.threads = n).is_ok(),
        default: |a| Some(a.threads.to_string()),
    },
    Flag {
        name: "--help",
        value: None,
        help: "print this help",
        expected: "no value",
        set: |_, _| false,
        default: |_| None,
    },
];

impl Args {
    /// Parses `args` (without the program name) over `defaults`. Flags may be given as
    /// `--flag value` or `--flag=value`; a later flag overrides an earlier one; `--help` (or
    /// `-h`) anywhere asks for the help.
    pub fn parse<I, S>(defaults: Args, args: I) -> Result<Command, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = defaults;
        let mut help = false;
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if !name.starts_with('-') {
                return Err(ArgsError::Unexpected { found: arg });
            }
            let name = if name == "-h" {
                "--help".to_string()
            } else {
                name
            };
            let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
                return Err(ArgsError::UnknownFlag {
                    suggestion: suggest(&name),
                    found: name,
                });
            };
            if flag.value.is_none() {
                if let Some(found) = inline {
                    return Err(ArgsError::BadValue {
                        flag: flag.name,
                        expected: flag.expected,
                        found,
                    });
                }
                help = true;
                continue;
            }
            let missing = ArgsError::MissingValue {
                flag: flag.name,
                expected: flag.expected,
            };
            let value = match inline.or_else(|| args.next()) {
                // `--save --epochs 2` forgot the file: do not save to a file named `--epochs`.
                Some(v) if v.starts_with("--") && v.len() > 2 => return Err(missing),
                Some(v) => v,
                None => return Err(missing),
            };
            if !(flag.set)(&mut out, &value) {
                return Err(ArgsError::BadValue {
                    flag: flag.name,
                    expected: flag.expected,
                    found: value,
                });
            }
        }
        Ok(if help {
            Command::Help
        } else {
            Command::Run(out)
        })
    }

    /// The help text, showing `defaults`' values.
    pub fn usage(defaults: &Args, program: &str, about: &str) -> String {
        let mut s = format!("{about}\n\nusage: {program} [options]\n\noptions:\n");
        let left = |f: &Flag| match f.value {
            Some(v) => format!("{} {v}", f.name),
            None => format!("{}, -h", f.name),
        };
        let width = FLAGS.iter().map(|f| left(f).len()).max().unwrap_or(0);
        for f in FLAGS {
            s.push_str(&format!("  {:width$}  {}", left(f), f.help));
            if let Some(d) = (f.default)(defaults) {
                s.push_str(&format!(" (default: {d})"));
            }
            s.push('\n');
        }
        s
    }

    /// Parses the process's arguments; on `--help` prints the usage to stdout and exits 0, on
    /// an error prints it and the usage to stderr and exits 2 (the convention for usage errors).
    pub fn from_env_or_exit(program: &str, about: &str, defaults: Args) -> Args {
        let args: Result<Vec<String>, ArgsError> = std::env::args_os()
            .skip(1)
            .map(|a| {
                a.into_string().map_err(|a| ArgsError::NotUnicode {
                    found: a.to_string_lossy().into_owned(),
                })
            })
            .collect();
        match args.and_then(|a| Args::parse(defaults.clone(), a)) {
            Ok(Command::Run(args)) => args,
            Ok(Command::Help) => {
                print!("{}", Args::usage(&defaults, program, about));
                std::process::exit(0)
            }
            Err(e) => {
                eprintln!("error: {e}\n\n{}", Args::usage(&defaults, program, about));
                std::process::exit(2)
            }
        }
    }
}

/// The known flag closest to `found`, if it is a plausible typo: `found` is a prefix of it
/// (`--epoch`), or within two edits and not mostly edits (`-lr`, `--seeed`).
fn suggest(found: &str) -> Option<&'static str> {
    let bare = found.trim_start_matches('-');
    FLAGS
        .iter()
        .map(|f| {
            let name = &f.name[2..];
            let d = if bare.len() >= 2 && name.starts_with(bare) {
                0
            } else {
                distance(bare, name)
            };
            (d, f.name)
        })
        .filter(|&(d, _)| d <= 2 && d < bare.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// Levenshtein distance, on chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, ArgsError> {
        match Args::parse(Args::default(), args.iter().copied())? {
            Command::Run(a) => Ok(a),
            Command::Help => panic!("unexpected help for {args:?}"),
        }
    }

    #[test]
    fn no_flags_keep_the_defaults() {
        let defaults = Args {
            epochs: 7,
            lr: 0.5,
            ..Args::default()
        };
        let parsed = Args::parse(defaults.clone(), Vec::<String>::new()).unwrap();
        assert_eq!(parsed, Command::Run(defaults));
    }

    #[test]
    fn every_flag_sets_its_field() {
        let a = run(&[
            "--epochs",
            "3",
            "--batch",
            "64",
            "--lr",
            "0.05",
            "--seed",
            "18446744073709551615",
            "--data",
            "mnist/",
            "--load",
            "in.w",
            "--save",
            "out.w",
            "--limit",
            "500",
            "--threads",
            "3",
        ])
        .unwrap();
        assert_eq!(a.epochs, 3);
        assert_eq!(a.batch, 64);
        assert_eq!(a.lr, 0.05);
        assert_eq!(a.seed, u64::MAX);
        assert_eq!(a.data, Some(PathBuf::from("mnist/")));
        assert_eq!(a.load, Some(PathBuf::from("in.w")));
        assert_eq!(a.save, Some(PathBuf::from("out.w")));
        assert_eq!(a.limit, Some(500));
        assert_eq!(a.threads, 3);
    }

    #[test]
    fn equals_form_and_last_wins() {
        let a = run(&["--epochs=2", "--lr=1e-3", "--epochs", "0"]).unwrap();
        assert_eq!(a.epochs, 0);
        assert_eq!(a.lr, 0.001);
    }

    #[test]
    fn help_wins_wherever_it_is() {
        assert_eq!(
            Args::parse(Args::default(), ["--epochs", "2", "--help"]),
            Ok(Command::Help)
        );
        assert_eq!(Args::parse(Args::default(), ["-h"]), Ok(Command::Help));
    }

    #[test]
    fn unknown_flags_suggest_the_closest() {
        let e = run(&["--epoch", "3"]).unwrap_err();
        assert_eq!(
            e,
            ArgsError::UnknownFlag {
                found: "--epoch".into(),
                suggestion: Some("--epochs")
            }
        );
        assert_eq!(
            e.to_string(),
            "unknown flag `--epoch`; did you mean `--epochs`?"
        );
        let e = run(&["--learning-rate", "3"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown flag `--learning-rate`; see `--help`"
        );
        assert!(matches!(
            run(&["-lr", "0.1"]),
            Err(ArgsError::UnknownFlag {
                suggestion: Some("--lr"),
                ..
            })
        ));
    }

    #[test]
    fn bad_values_name_flag_expectation_and_value() {
        let e = run(&["--epochs", "three"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for `--epochs`: expected a non-negative integer, found `three`"
        );
        for (flag, value) in [
            ("--batch", "0"),
            ("--batch", "-4"),
            ("--lr", "0"),
            ("--lr", "-0.1"),
            ("--lr", "NaN"),
            ("--lr", "inf"),
            // 0 and ∞ as `f32`, the networks' scalar, though positive and finite in f64.
            ("--lr", "1e-320"),
            ("--lr", "1e39"),
            ("--seed", "-1"),
            ("--limit", "0"),
            ("--threads", "-1"),
            ("--data", ""),
        ] {
            let e = run(&[flag, value]).unwrap_err();
            assert!(
                matches!(e, ArgsError::BadValue { .. }),
                "{flag} {value}: {e:?}"
            );
        }
    }

    #[test]
    fn missing_values_and_stray_arguments() {
        assert_eq!(
            run(&["--lr"]).unwrap_err().to_string(),
            "missing value for `--lr`: expected a positive number"
        );
        // A flag where a value should be is a missing value, not a value.
        assert!(matches!(
            run(&["--save", "--epochs", "2"]),
            Err(ArgsError::MissingValue { flag: "--save", .. })
        ));
        assert_eq!(
            run(&["lenet.weights"]).unwrap_err(),
            ArgsError::Unexpected {
                found: "lenet.weights".into()
            }
        );
        assert!(matches!(
            run(&["--help=yes"]),
            Err(ArgsError::BadValue { flag: "--help", .. })
        ));
    }

    #[test]
    fn usage_lists_every_flag_with_defaults() {
        let defaults = Args {
            epochs: 4,
            save: Some("lenet.weights".into()),
            ..Args::default()
        };
        let u = Args::usage(&defaults, "lenet", "Trains LeNet-5.");
        assert!(
            u.starts_with("Trains LeNet-5.\n\nusage: lenet [options]\n"),
            "{u}"
        );
        for f in FLAGS {
            assert!(u.contains(f.name), "{} missing from\n{u}", f.name);
        }
        assert!(u.contains("(default: 4)"), "{u}");
        assert!(u.contains("(default: lenet.weights)"), "{u}");
    }

    #[test]
    fn edit_distance_known_values() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("epoch", "epochs"), 1);
        assert_eq!(distance("same", "same"), 0);
    }
}
