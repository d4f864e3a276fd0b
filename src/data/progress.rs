//! A dependency-free progress bar for training epochs, redrawn in place on a terminal.
//!
//! On a terminal the bar is one line rewritten with `\r` (at most ten times a second, so
//! drawing never shows up in a profile); when stderr is a file or a pipe (CI logs) it prints
//! nothing during the epoch and one summary line at its end.
//!
//! ```text
//! epoch  2/10 [===============>              ]  4096/8000  loss 0.2315  5234 samples/s  0.8s
//! ```

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 30;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

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
}

/// What one epoch did, as returned by [`Progress::finish_epoch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    pub epochs: usize,
    pub samples: usize,
    /// Mean loss per sample over the epoch (0 if no samples).
    pub loss: f64,
    pub elapsed: Duration,
}

impl EpochStats {
    pub fn samples_per_second(&self) -> f64 {
        rate(self.samples, self.elapsed)
    }
}

impl fmt::Display for EpochStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = digits(self.epochs);
        write!(
            f,
            "epoch {:>width$}/{}: {} samples  loss {:.4}  {:.0} samples/s  {}",
            self.epoch,
            self.epochs,
            self.samples,
            self.loss,
            self.samples_per_second(),
            Elapsed(self.elapsed)
        )
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
        }
    }

    /// Starts epoch `epoch` (0-based): resets the counters and the clock.
    pub fn start_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.done = 0;
        self.loss_sum = 0.0;
        self.start = Instant::now();
        self.last_draw = None;
    }

    /// Records a finished minibatch of `samples` samples whose mean loss was `mean_loss`.
    pub fn update(&mut self, samples: usize, mean_loss: f64) {
        self.done += samples;
        self.loss_sum += mean_loss * samples as f64;
        if self.terminal {
            let now = Instant::now();
            if self
                .last_draw
                .is_none_or(|t| now.duration_since(t) >= REDRAW_EVERY)
            {
                self.last_draw = Some(now);
                self.draw(now.duration_since(self.start), "");
            }
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
        let stats = EpochStats {
            epoch: self.epoch + 1,
            epochs: self.epochs,
            samples: self.done,
            loss: self.running_loss(),
            elapsed: self.start.elapsed(),
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
        format!(
            "epoch {:>width$}/{} {} {:>count_width$}/{}  loss {:.4}  {:.0} samples/s  {}",
            self.epoch + 1,
            self.epochs,
            Bar {
                done: self.done,
                total: self.total
            },
            self.done,
            self.total,
            self.running_loss(),
            rate(self.done, elapsed),
            Elapsed(elapsed)
        )
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

/// `0.8s` under a minute, `2m05s` above.
struct Elapsed(Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        if s < 60.0 {
            write!(f, "{s:.1}s")
        } else {
            let whole = self.0.as_secs();
            write!(f, "{}m{:02}s", whole / 60, whole % 60)
        }
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
        assert_eq!(Elapsed(Duration::from_millis(830)).to_string(), "0.8s");
        assert_eq!(Elapsed(Duration::from_secs(125)).to_string(), "2m05s");
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
