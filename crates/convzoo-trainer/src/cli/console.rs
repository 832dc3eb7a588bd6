//! Prints the events of a run: one line each on stdout (errors and warnings on stderr), and a
//! live status line on stderr while an epoch runs, when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use convzoo_trainer::observe::{Event, Observer};

/// The `convzoo` binary's observer.
pub struct Console {
    /// Whether the live status line is drawn (stderr is a terminal).
    live: bool,
    /// When the status line was last drawn.
    last: Instant,
    /// When training started (the data loaded).
    started: Instant,
    /// Set by the SIGINT/SIGTERM handler: stop after the current step.
    stop: Arc<AtomicBool>,
}

impl Console {
    pub fn new() -> Self {
        Console {
            live: std::io::stderr().is_terminal(),
            last: Instant::now(),
            started: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A console whose run stops after the current step once `stop` is set.
    pub fn stopping_on(stop: Arc<AtomicBool>) -> Self {
        Console {
            stop,
            ..Console::new()
        }
    }

    /// Erases the live status line (before other output, and before an error is printed).
    pub fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Observer for Console {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::RunDir(run) => println!("run directory: {}", run.display()),
            Event::Resuming(run) => println!("resuming {}", run.display()),
            Event::Downloading { url } => eprintln!("downloading {url}"),
            Event::Loaded {
                model,
                data,
                skipped,
                train,
                test,
                seconds,
                backend,
            } => {
                // The first status line comes 200 ms into training.
                self.last = Instant::now();
                self.started = Instant::now();
                println!(
                    "{model}: {train} training and {test} test images of {data}, loaded in \
                     {seconds:.2} s; backend {backend}"
                );
                if *skipped > 0 {
                    eprintln!(
                        "warning: skipped {skipped} image files that do not decode (listed in \
                         the run's skipped.txt)"
                    );
                }
            }
            Event::Resumed {
                epoch,
                step,
                checkpoint,
            } => println!(
                "continuing at epoch {epoch}, step {step} ({})",
                checkpoint.display()
            ),
            Event::Step {
                epoch,
                epochs,
                step,
                steps,
                loss,
                acc,
                images_per_sec,
                epoch_seconds,
            } => {
                if self.live && self.last.elapsed().as_millis() >= 200 {
                    self.last = Instant::now();
                    let line = status_line(
                        [*epoch, *epochs, *step, *steps],
                        [*loss, *acc, *images_per_sec],
                        *epoch_seconds,
                        self.started.elapsed().as_secs_f64(),
                    );
                    eprint!("\r\x1b[2K{line}");
                    let _ = std::io::stderr().flush();
                }
            }
            Event::Epoch { metrics, epochs } => {
                self.clear();
                println!("{}", metrics.line(*epochs));
            }
            Event::Warning(warning) => {
                self.clear();
                eprintln!("warning: {warning}");
            }
            Event::Done { last, run } => println!(
                "done: train loss {:.3}, train acc {:.3}, test acc {:.3}; saved to {}",
                last.train_loss,
                last.train_acc,
                last.test_acc,
                run.display()
            ),
        }
    }
}

/// `mm:ss`, or `h:mm:ss` from an hour.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// The live status line: position, running loss and accuracy, throughput, and elapsed<remaining
/// time of the epoch and of the run (as tqdm shows it), the remaining time from the epoch's
/// seconds per step so far.
fn status_line(
    [epoch, epochs, step, steps]: [usize; 4],
    [loss, acc, images_per_sec]: [f64; 3],
    epoch_seconds: f64,
    run_seconds: f64,
) -> String {
    let per_step = epoch_seconds / step.max(1) as f64;
    let epoch_left = per_step * steps.saturating_sub(step) as f64;
    let run_left = epoch_left + per_step * (steps * epochs.saturating_sub(epoch)) as f64;
    format!(
        "epoch {epoch}/{epochs}  step {step}/{steps}  loss {loss:.3}  acc {acc:.3}  \
         {images_per_sec:.0} img/s  epoch {}<{}  run {}<{}",
        clock(epoch_seconds),
        clock(epoch_left),
        clock(run_seconds),
        clock(run_left)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_shows_elapsed_and_remaining_time() {
        // 10 of 100 steps in 5 s: 45 s left in the epoch, plus 2 more epochs of 50 s.
        let line = status_line([1, 3, 10, 100], [0.5, 0.8, 512.0], 5.0, 6.0);
        assert_eq!(
            line,
            "epoch 1/3  step 10/100  loss 0.500  acc 0.800  512 img/s  epoch 00:05<00:45  run \
             00:06<02:25"
        );
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
