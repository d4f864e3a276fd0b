//! A dependency-free progress bar for training epochs, redrawn in place on a terminal.
//!
//! On a terminal the bar is one line rewritten with `\r` (at most ten times a second, so
//! drawing never shows up in a profile); when stderr is a file or a pipe (CI logs) it prints
//! nothing during the epoch and one summary line at its end.
//!
//! ```text
//! epoch  2/10 [===============>              ]  4096/8000  loss 0.2315  5.2k samples/s  780ms  eta 7.9s
//! ```
//!
//! The rate is an exponentially weighted average over time (a time constant of
//! [`RATE_TIME_CONSTANT`], carried across epochs), so it settles instead of swinging with
//! the timer's noise on short epochs; it counts training steps only, not the validation
//! between epochs. The ETA adds the rest of this epoch at that rate to the remaining
//! epochs at the mean duration of the finished ones (validation included).

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 30;
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// How fast the smoothed rate forgets: a sample's weight halves every 0.7 τ.
pub const RATE_TIME_CONSTANT: Duration = Duration::from_secs(2);

/// Samples per second, exponentially weighted by time: Σ wᵢ nᵢ / Σ wᵢ Δtᵢ with weights
/// decaying as e^(−age/τ), which is the plain mean rate over spans much shorter than τ.
#[derive(Clone, Copy, Debug, Default)]
struct Rate {
    samples: f64,
    seconds: f64,
}

impl Rate {
    fn add(&mut self, samples: usize, dt: Duration) {
        let decay = (-dt.as_secs_f64() / RATE_TIME_CONSTANT.as_secs_f64()).exp();
        self.samples = self.samples * decay + samples as f64;
        self.seconds = self.seconds * decay + dt.as_secs_f64();
    }

    fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.samples / self.seconds
        } else {
            0.0
        }
    }
}

/// Progress of training, epoch after epoch, written to stderr (or any writer).
pub struct Progress<W: Write = io::Stderr> {
    out: W,
    terminal: bool,
    epochs: usize,
    total: usize,
    epoch: usize,
    done: usize,
    loss_sum: f64,
    start: Instant,
    last_draw: Option<Instant>,
    /// When the last update (or the epoch's start) was.
    mark: Instant,
    rate: Rate,
    /// Finished epochs and their total duration, for the ETA.
    finished: usize,
    finished_time: Duration,
}

/// What one epoch did, as returned by [`Progress::finish_epoch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    /// Epochs planned.
    pub epochs: usize,
    /// Samples trained on in the epoch.
    pub samples: usize,
    /// Mean loss per sample over the epoch (0 if no samples).
    pub loss: f64,
    /// Since the epoch started (validation included when it ran before
    /// [`finish_epoch`](Progress::finish_epoch)).
    pub elapsed: Duration,
    /// The smoothed training rate, samples per second (see the module docs).
    pub rate: f64,
    /// The expected time to the end of the last epoch; `None` after the last.
    pub eta: Option<Duration>,
}

impl EpochStats {
    /// Samples over the epoch's elapsed time (unsmoothed, validation time included).
    pub fn samples_per_second(&self) -> f64 {
        rate(self.samples, self.elapsed)
    }
}

impl fmt::Display for EpochStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = digits(self.epochs);
        write!(
            f,
            "epoch {:>width$}/{}: {} samples  loss {:.4}  {} samples/s  {}",
            self.epoch,
            self.epochs,
            self.samples,
            self.loss,
            Count(self.rate),
            Elapsed(self.elapsed)
        )?;
        match self.eta {
            Some(eta) => write!(f, "  eta {}", Elapsed(eta)),
            None => Ok(()),
        }
    }
}

impl Progress<io::Stderr> {
    /// A progress display on stderr for `epochs` epochs of `samples_per_epoch` samples; a bar
    /// if stderr is a terminal, one line per epoch otherwise.
    pub fn new(epochs: usize, samples_per_epoch: usize) -> Self {
        let terminal = io::stderr().is_terminal();
        Progress::with_writer(io::stderr(), terminal, epochs, samples_per_epoch)
    }
}

impl<W: Write> Progress<W> {
    /// Writes to `out`, as a redrawn bar if `terminal`, else one line per epoch.
    pub fn with_writer(out: W, terminal: bool, epochs: usize, samples_per_epoch: usize) -> Self {
        Progress {
            out,
            terminal,
            epochs,
            total: samples_per_epoch,
            epoch: 0,
            done: 0,
            loss_sum: 0.0,
            start: Instant::now(),
            last_draw: None,
            mark: Instant::now(),
            rate: Rate::default(),
            finished: 0,
            finished_time: Duration::ZERO,
        }
    }

    /// Starts epoch `epoch` (0-based): resets the counters and the clock.
    pub fn start_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.done = 0;
        self.loss_sum = 0.0;
        self.start = Instant::now();
        self.mark = self.start;
        self.last_draw = None;
    }

    /// Records a finished minibatch of `samples` samples whose mean loss was `mean_loss`.
    pub fn update(&mut self, samples: usize, mean_loss: f64) {
        self.done += samples;
        self.loss_sum += mean_loss * samples as f64;
        let now = Instant::now();
        self.rate.add(samples, now.duration_since(self.mark));
        self.mark = now;
        if self.terminal
            && self
                .last_draw
                .is_none_or(|t| now.duration_since(t) >= REDRAW_EVERY)
        {
            self.last_draw = Some(now);
            self.draw(now.duration_since(self.start), "");
        }
    }

    /// The mean loss per sample so far in this epoch (0 before any sample).
    pub fn running_loss(&self) -> f64 {
        if self.done == 0 {
            0.0
        } else {
            self.loss_sum / self.done as f64
        }
    }

    /// Ends the epoch: the bar's final state (or the epoch's line) and a newline.
    pub fn finish_epoch(&mut self) -> EpochStats {
        self.finish_epoch_with("")
    }

    /// Like [`finish_epoch`](Progress::finish_epoch), with `note` (a test accuracy, say)
    /// appended to the epoch's line.
    pub fn finish_epoch_with(&mut self, note: impl fmt::Display) -> EpochStats {
        let elapsed = self.start.elapsed();
        self.finished += 1;
        self.finished_time += elapsed;
        let left = self.epochs.saturating_sub(self.epoch + 1);
        let stats = EpochStats {
            epoch: self.epoch + 1,
            epochs: self.epochs,
            samples: self.done,
            loss: self.running_loss(),
            elapsed,
            rate: self.rate.per_second(),
            eta: (left > 0).then(|| self.finished_time / self.finished as u32 * left as u32),
        };
        let note = note.to_string();
        let sep = if note.is_empty() { "" } else { "  " };
        // Progress is a courtesy: a closed stderr must not stop training.
        if self.terminal {
            self.draw(stats.elapsed, &format!("{sep}{note}"));
            let _ = writeln!(self.out);
        } else {
            let _ = writeln!(self.out, "{stats}{sep}{note}");
        }
        let _ = self.out.flush();
        stats
    }

    /// The writer, e.g. to read what a test captured.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The rest of this epoch at the smoothed rate, plus the epochs after it at the mean
    /// duration of the finished ones (or at the rate, before any finished).
    fn eta(&self) -> Option<Duration> {
        let rate = self.rate.per_second();
        let left = self.epochs.saturating_sub(self.epoch + 1);
        if rate <= 0.0 {
            return None;
        }
        let here = self.total.saturating_sub(self.done) as f64 / rate;
        let per_epoch = if self.finished > 0 {
            self.finished_time.as_secs_f64() / self.finished as f64
        } else {
            self.total as f64 / rate
        };
        Duration::try_from_secs_f64(here + left as f64 * per_epoch).ok()
    }

    fn draw(&mut self, elapsed: Duration, note: &str) {
        let line = self.line(elapsed);
        // `\x1b[K` clears what a longer previous line left behind.
        let _ = write!(self.out, "\r{line}{note}\x1b[K");
        let _ = self.out.flush();
    }

    /// One rendering of the bar.
    fn line(&self, elapsed: Duration) -> String {
        let width = digits(self.epochs);
        let count_width = digits(self.total);
        let mut line = format!(
            "epoch {:>width$}/{} {} {:>count_width$}/{}  loss {:.4}  {} samples/s  {}",
            self.epoch + 1,
            self.epochs,
            Bar {
                done: self.done,
                total: self.total
            },
            self.done,
            self.total,
            self.running_loss(),
            Count(self.rate.per_second()),
            Elapsed(elapsed)
        );
        if let Some(eta) = self
            .eta()
            .filter(|_| self.done < self.total || self.epoch + 1 < self.epochs)
        {
            line.push_str(&format!("  eta {}", Elapsed(eta)));
        }
        line
    }
}

fn rate(samples: usize, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        samples as f64 / s
    } else {
        0.0
    }
}

fn digits(n: usize) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// `[=====>    ]`, `BAR_WIDTH` cells between the brackets.
struct Bar {
    done: usize,
    total: usize,
}

impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An epoch of no samples is complete.
        let filled = (self.done.min(self.total) * BAR_WIDTH)
            .checked_div(self.total)
            .unwrap_or(BAR_WIDTH);
        f.write_str("[")?;
        for i in 0..BAR_WIDTH {
            let c = match i.cmp(&filled) {
                std::cmp::Ordering::Less => '=',
                std::cmp::Ordering::Equal => '>',
                std::cmp::Ordering::Greater => ' ',
            };
            write!(f, "{c}")?;
        }
        f.write_str("]")
    }
}

/// `830ms` under a second, `12.3s` under a minute, `2m05s` under an hour, `1h02m` above.
struct Elapsed(Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        let whole = self.0.as_secs();
        if s < 0.9995 {
            write!(f, "{}ms", self.0.as_millis())
        } else if s < 59.95 {
            write!(f, "{s:.1}s")
        } else if whole < 3600 {
            write!(f, "{}m{:02}s", whole / 60, whole % 60)
        } else {
            write!(f, "{}h{:02}m", whole / 3600, whole / 60 % 60)
        }
    }
}

/// A rate with three significant digits: `950`, `5.23k`, `1.10M`.
struct Count(f64);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let (scaled, unit) = if v >= 999.5e3 {
            (v / 1e6, "M")
        } else if v >= 999.5 {
            (v / 1e3, "k")
        } else {
            return write!(f, "{v:.0}");
        };
        let decimals = if scaled < 9.995 {
            2
        } else if scaled < 99.95 {
            1
        } else {
            0
        };
        write!(f, "{scaled:.decimals$}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_in_proportion() {
        let empty = format!(
            "{}",
            Bar {
                done: 0,
                total: 100
            }
        );
        assert_eq!(empty, format!("[>{}]", " ".repeat(BAR_WIDTH - 1)));
        let half = format!(
            "{}",
            Bar {
                done: 50,
                total: 100
            }
        );
        assert_eq!(half, format!("[{}>{}]", "=".repeat(15), " ".repeat(14)));
        let full = format!(
            "{}",
            Bar {
                done: 100,
                total: 100
            }
        );
        assert_eq!(full, format!("[{}]", "=".repeat(BAR_WIDTH)));
        // More samples than announced must not overflow the bar.
        assert_eq!(
            format!(
                "{}",
                Bar {
                    done: 130,
                    total: 100
                }
            ),
            full
        );
    }

    #[test]
    fn elapsed_switches_to_minutes() {
        assert_eq!(Elapsed(Duration::from_millis(830)).to_string(), "830ms");
        assert_eq!(Elapsed(Duration::from_micros(400)).to_string(), "0ms");
        assert_eq!(Elapsed(Duration::from_millis(1250)).to_string(), "1.2s");
        assert_eq!(Elapsed(Duration::from_secs(125)).to_string(), "2m05s");
        assert_eq!(Elapsed(Duration::from_secs(3725)).to_string(), "1h02m");
    }

    #[test]
    fn counts_have_three_digits() {
        assert_eq!(Count(950.4).to_string(), "950");
        assert_eq!(Count(5234.0).to_string(), "5.23k");
        assert_eq!(Count(91_234.0).to_string(), "91.2k");
        assert_eq!(Count(1_104_000.0).to_string(), "1.10M");
    }

    #[test]
    fn smoothed_rate_is_the_mean_rate_over_short_spans_and_forgets_old_ones() {
        let mut r = Rate::default();
        // 1000 samples in 10 ms, then 3000 in 10 ms: 4000 / 20 ms.
        r.add(1000, Duration::from_millis(10));
        r.add(3000, Duration::from_millis(10));
        assert!(
            (r.per_second() / 200_000.0 - 1.0).abs() < 0.01,
            "{}",
            r.per_second()
        );
        // A long slow stretch outweighs them: 100 samples/s for 20 s.
        for _ in 0..200 {
            r.add(10, Duration::from_millis(100));
        }
        assert!((r.per_second() - 100.0).abs() < 1.0, "{}", r.per_second());
        // One step that the timer saw as 100 times faster barely moves it.
        r.add(10, Duration::from_millis(1));
        assert!(r.per_second() < 106.0, "{}", r.per_second());
    }

    #[test]
    fn eta_counts_the_remaining_epochs_at_the_measured_pace() {
        let mut p = Progress::with_writer(Vec::new(), false, 4, 10);
        p.start_epoch(0);
        p.update(10, 1.0);
        std::thread::sleep(Duration::from_millis(20));
        let s = p.finish_epoch();
        // Three epochs left, each about as long as the first.
        let eta = s.eta.unwrap().as_secs_f64();
        let first = s.elapsed.as_secs_f64();
        assert!((eta - 3.0 * first).abs() < 1e-6, "{eta} vs {first}");
        p.start_epoch(3);
        p.update(10, 1.0);
        assert_eq!(p.finish_epoch().eta, None, "none after the last epoch");
    }

    #[test]
    fn running_loss_is_weighted_by_batch_size() {
        let mut p = Progress::with_writer(Vec::new(), false, 1, 96);
        p.start_epoch(0);
        p.update(64, 1.0);
        p.update(32, 4.0);
        // (64·1 + 32·4) / 96 = 2
        assert!((p.running_loss() - 2.0).abs() < 1e-12);
        let stats = p.finish_epoch();
        assert_eq!(stats.samples, 96);
        assert!((stats.loss - 2.0).abs() < 1e-12);
    }

    #[test]
    fn pipe_gets_one_line_per_epoch() {
        let mut p = Progress::with_writer(Vec::new(), false, 3, 10);
        for epoch in 0..3 {
            p.start_epoch(epoch);
            for _ in 0..5 {
                p.update(2, 0.5);
            }
            p.finish_epoch_with(format_args!("test 91.0%"));
        }
        let text = String::from_utf8(p.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert!(!text.contains('\r'));
        assert!(
            lines[0].starts_with("epoch 1/3: 10 samples  loss 0.5000"),
            "{}",
            lines[0]
        );
        assert!(lines[2].starts_with("epoch 3/3:"), "{}", lines[2]);
        assert!(lines[2].ends_with("  test 91.0%"), "{}", lines[2]);
    }

    #[test]
    fn terminal_redraws_in_place() {
        let mut p = Progress::with_writer(Vec::new(), true, 2, 8);
        p.start_epoch(1);
        p.update(4, 0.25);
        p.finish_epoch();
        let text = String::from_utf8(p.into_inner()).unwrap();
        // First update draws at once; finishing draws the final state and ends the line.
        assert_eq!(text.matches('\r').count(), 2, "{text:?}");
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.contains("epoch 2/2 ["), "{text:?}");
        assert!(text.contains("4/8  loss 0.2500"), "{text:?}");
    }
}
