//! Early stopping: stop when a watched value has not improved for `patience` epochs, and
//! go back to the parameters of the best epoch.

use super::metric::Mode;
use super::EpochRecord;

/// The value [`EarlyStopping`] watches, read from each epoch's [`EpochRecord`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// The validation loss (smaller is better).
    ValLoss,
    /// A validation metric, by [name](super::Metric::name); its own [`Mode`] by default.
    ValMetric(&'static str),
    /// The training loss, for fits without validation data.
    TrainLoss,
    /// A training metric, by name.
    TrainMetric(&'static str),
}

impl Monitor {
    pub(crate) fn read(&self, r: &EpochRecord) -> Option<f64> {
        match *self {
            Monitor::ValLoss => r.val_loss,
            Monitor::ValMetric(name) => r.val_metric(name),
            Monitor::TrainLoss => Some(r.train_loss),
            Monitor::TrainMetric(name) => r.train_metric(name),
        }
    }

    pub(crate) fn needs_validation(&self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::ValMetric(_))
    }

    pub(crate) fn metric(&self) -> Option<&'static str> {
        match *self {
            Monitor::ValMetric(n) | Monitor::TrainMetric(n) => Some(n),
            _ => None,
        }
    }
}

/// Stops training once the watched value has not improved by more than `min_delta` for
/// `patience` epochs in a row (Keras's `EarlyStopping`): with the best value at epoch b,
/// training ends after epoch b + patience. With [`restore_best`](EarlyStopping::restore_best)
/// (the default) the network then gets back the parameters it had after epoch b, whether
/// training stopped early or ran all its epochs.
///
/// The parameters are the network's [`Params`](stacknet_runtime::Params): batch norm's
/// running statistics are not among them and stay those of the last epoch.
///
/// ```
/// use stacknet::fit::EarlyStopping;
///
/// let stop = EarlyStopping::val_loss(5).min_delta(1e-4);
/// let by_accuracy = EarlyStopping::val_metric("accuracy", 3); // larger is better
/// # let _ = (stop, by_accuracy);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// What is watched.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// How much better than the best a value must be to count as an improvement.
    pub min_delta: f64,
    /// Which direction is better; `None`: smaller for losses, the metric's own otherwise.
    pub mode: Option<Mode>,
    /// Whether to restore the best epoch's parameters at the end.
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Watches `monitor`, with `patience`, no minimum delta, best weights restored.
    pub fn new(monitor: Monitor, patience: usize) -> Self {
        EarlyStopping {
            monitor,
            patience,
            min_delta: 0.0,
            mode: None,
            restore_best: true,
        }
    }

    /// Watches the validation loss.
    pub fn val_loss(patience: usize) -> Self {
        Self::new(Monitor::ValLoss, patience)
    }

    /// Watches the validation metric called `name`.
    pub fn val_metric(name: &'static str, patience: usize) -> Self {
        Self::new(Monitor::ValMetric(name), patience)
    }

    /// Sets the smallest change that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta.abs();
        self
    }

    /// Sets which direction is better.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Whether the best epoch's parameters are restored at the end (default true).
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }
}

/// The running state of early stopping during one fit.
pub(crate) struct Watch {
    pub(crate) rule: EarlyStopping,
    pub(crate) mode: Mode,
    pub(crate) best: Option<(usize, f64)>,
    wait: usize,
}

impl Watch {
    pub(crate) fn new(rule: EarlyStopping, metric_mode: Option<Mode>) -> Self {
        let mode = rule.mode.or(metric_mode).unwrap_or(Mode::Min);
        Watch {
            rule,
            mode,
            best: None,
            wait: 0,
        }
    }

    /// Takes the epoch's record: `(improved, stop)`. A missing or NaN value never improves.
    pub(crate) fn observe(&mut self, r: &EpochRecord) -> (bool, bool) {
        let value = self.rule.monitor.read(r).filter(|v| !v.is_nan());
        let improved = match (value, self.best) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some((_, best))) => match self.mode {
                Mode::Min => v < best - self.rule.min_delta,
                Mode::Max => v > best + self.rule.min_delta,
            },
        };
        if improved {
            self.best = Some((r.epoch, value.unwrap_or_default()));
            self.wait = 0;
        } else {
            self.wait += 1;
        }
        (improved, !improved && self.wait >= self.rule.patience)
    }
}
