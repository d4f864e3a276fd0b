//! What can go wrong before or during [`fit`](super::Fit) and [`evaluate`](super::evaluate).

use std::fmt;

use stacknet_runtime::train::Diverged;

/// Why training or evaluation did not run, or stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum FitError {
    /// `inputs` and `targets` of one dataset differ in length.
    LengthMismatch {
        /// Which dataset: `"training"`, `"validation"` or `"evaluation"`.
        data: &'static str,
        /// Number of inputs.
        inputs: usize,
        /// Number of targets.
        targets: usize,
    },
    /// A dataset has no samples.
    Empty {
        /// Which dataset.
        data: &'static str,
    },
    /// A validation fraction outside (0, 1), or one that leaves no sample on one side.
    ValidationFraction {
        /// The fraction asked for.
        fraction: f64,
        /// Training samples before the split.
        samples: usize,
    },
    /// A batch size of 0.
    ZeroBatch,
    /// `run_batches::<B>` with a builder batch size other than `B`.
    BatchMismatch {
        /// The builder's [`batch`](super::Fit::batch).
        batch: usize,
        /// The compiled batch size `B`.
        compiled: usize,
    },
    /// `run_batches_threads::<S>` with a batch size that is not a multiple of the shard `S`.
    PartialShard {
        /// The builder's [`batch`](super::Fit::batch).
        batch: usize,
        /// The compiled shard size `S`.
        shard: usize,
    },
    /// `run_batches::<B>` on fewer than `B` training samples: not one whole batch.
    TooFewSamples {
        /// Training samples.
        samples: usize,
        /// The batch size.
        batch: usize,
    },
    /// Early stopping watches a validation value but no validation data was given.
    NoValidation,
    /// Early stopping watches a metric that was not added with [`metric`](super::Fit::metric).
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// The metrics there are.
        available: Vec<&'static str>,
    },
    /// A step's loss or gradient was not finite; the network holds the parameters from
    /// before that step.
    Diverged {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based minibatch within the epoch.
        batch: usize,
        /// What was not finite.
        source: Diverged,
    },
    /// [`run_threads`](super::Fit::run_threads) could not start its threads.
    Threads(String),
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::LengthMismatch {
                data,
                inputs,
                targets,
            } => write!(
                f,
                "{data} data: {inputs} inputs but {targets} targets; they must pair up one to one"
            ),
            FitError::Empty { data } => write!(f, "{data} data is empty"),
            FitError::ValidationFraction { fraction, samples } => write!(
                f,
                "validation fraction {fraction} of {samples} samples leaves one side empty; \
                 expected a fraction in (0, 1) that holds out at least one sample and keeps one"
            ),
            FitError::ZeroBatch => write!(f, "batch size 0; expected at least 1"),
            FitError::BatchMismatch { batch, compiled } => write!(
                f,
                "batch size {batch} set on the builder, but run_batches was compiled for {compiled}"
            ),
            FitError::PartialShard { batch, shard } => write!(
                f,
                "batch size {batch} is not a whole number of shards of {shard}; \
                 use a multiple of {shard}"
            ),
            FitError::TooFewSamples { samples, batch } => write!(
                f,
                "{samples} training samples do not fill one batch of {batch}"
            ),
            FitError::NoValidation => write!(
                f,
                "early stopping watches a validation value, but there is no validation data; \
                 add `validation(...)` or `validation_split(...)`, or watch the training loss"
            ),
            FitError::UnknownMetric { name, available } => write!(
                f,
                "early stopping watches metric `{name}`, which was not added (metrics: {})",
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            ),
            FitError::Diverged {
                epoch,
                batch,
                source,
            } => write!(f, "epoch {}, batch {}: {source}", epoch + 1, batch + 1),
            FitError::Threads(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for FitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FitError::Diverged { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Ok` if the two lengths agree and are not zero.
pub(crate) fn check_data(
    data: &'static str,
    inputs: usize,
    targets: usize,
) -> Result<(), FitError> {
    if inputs != targets {
        Err(FitError::LengthMismatch {
            data,
            inputs,
            targets,
        })
    } else if inputs == 0 {
        Err(FitError::Empty { data })
    } else {
        Ok(())
    }
}
