//! What [`fit`](super::Fit) returns: one record per epoch, and how training ended.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::evaluate::{find, MetricValue};

/// One epoch of training, as callbacks see it and [`History`] keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// 0-based.
    pub epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// The learning rate of the epoch (the optimiser's, after the schedule set it).
    pub learning_rate: f64,
    /// Training samples stepped on (a batch path drops a final partial batch).
    pub samples: usize,
    /// The mean training loss over the epoch's steps, penalties of the regularisation hook
    /// included, measured as the weights moved (as Keras reports it).
    pub train_loss: f64,
    /// The metrics on the training forward outputs (dropout and batch statistics on,
    /// weights moving); empty if [`train_metrics(false)`](super::Fit::train_metrics).
    pub train_metrics: Vec<MetricValue>,
    /// The mean validation loss at the end of the epoch (inference mode), if there is
    /// validation data.
    pub val_loss: Option<f64>,
    /// The metrics on the validation data at the end of the epoch.
    pub val_metrics: Vec<MetricValue>,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
}

impl EpochRecord {
    /// The training value of the metric called `name`.
    pub fn train_metric(&self, name: &str) -> Option<f64> {
        find(&self.train_metrics, name)
    }

    /// The validation value of the metric called `name`.
    pub fn val_metric(&self, name: &str) -> Option<f64> {
        find(&self.val_metrics, name)
    }
}

/// What a callback tells [`fit`](super::Fit) after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch (best weights are still restored if early stopping asks).
    Stop,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every planned epoch ran.
    Completed,
    /// Early stopping: its patience ran out after this 0-based epoch.
    EarlyStopping {
        /// The last epoch trained.
        epoch: usize,
    },
    /// A callback returned [`Control::Stop`] after this 0-based epoch.
    Callback {
        /// The last epoch trained.
        epoch: usize,
    },
}

/// The record of a [`fit`](super::Fit): one [`EpochRecord`] per epoch trained.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// One record per epoch, in order.
    pub epochs: Vec<EpochRecord>,
    /// Why training ended.
    pub stop: Stop,
    /// The epoch whose value early stopping judged best (`None` without early stopping).
    pub best_epoch: Option<usize>,
    /// Whether the network was set back to the parameters of [`best_epoch`](History::best_epoch).
    pub restored_best: bool,
    /// Wall-clock seconds of the whole fit.
    pub seconds: f64,
}

impl History {
    /// Epochs trained.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch ran (a fit of 0 epochs).
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// The training loss of every epoch.
    pub fn train_loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// The validation loss of every epoch (empty without validation data).
    pub fn val_loss(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }

    /// The validation values of metric `name`, one per epoch (empty if not measured).
    pub fn val_metric(&self, name: &str) -> Vec<f64> {
        self.epochs
            .iter()
            .filter_map(|e| e.val_metric(name))
            .collect()
    }

    /// The training values of metric `name`, one per epoch (empty if not measured).
    pub fn train_metric(&self, name: &str) -> Vec<f64> {
        self.epochs
            .iter()
            .filter_map(|e| e.train_metric(name))
            .collect()
    }

    /// The names of the metrics recorded (validation first, then training-only ones).
    pub fn metric_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for e in &self.epochs {
            for m in e.val_metrics.iter().chain(&e.train_metrics) {
                if !names.contains(&m.name) {
                    names.push(m.name);
                }
            }
        }
        names
    }

    /// The history as CSV: `epoch,lr,train_loss,…,val_loss,…,seconds`, epochs from 1, an
    /// empty field where a value was not measured.
    pub fn to_csv(&self) -> String {
        let names = self.metric_names();
        let mut s = String::from("epoch,lr,train_loss");
        for n in &names {
            let _ = write!(s, ",train_{n}");
        }
        s.push_str(",val_loss");
        for n in &names {
            let _ = write!(s, ",val_{n}");
        }
        s.push_str(",seconds\n");
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for e in &self.epochs {
            let _ = write!(s, "{},{},{}", e.epoch + 1, e.learning_rate, e.train_loss);
            for n in &names {
                let _ = write!(s, ",{}", opt(e.train_metric(n)));
            }
            let _ = write!(s, ",{}", opt(e.val_loss));
            for n in &names {
                let _ = write!(s, ",{}", opt(e.val_metric(n)));
            }
            let _ = writeln!(s, ",{:.3}", e.seconds);
        }
        s
    }

    /// Writes [`to_csv`](History::to_csv) to `path`, creating its directory.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> io::Result<()> {
        super::plot::write_creating_dir(path.as_ref(), &self.to_csv())
    }
}
