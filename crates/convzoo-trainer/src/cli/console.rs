//! Prints the events of a run: one line each on stdout (errors and warnings on stderr), and a
//! live status line on stderr while an epoch runs, when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use convzoo_trainer::observe::{Event, Observer};

/// The `convzoo` binary's observer.
pub struct Console {
    /// Whether the live status line is drawn (stderr is a terminal).
    live: bool,
    /// When the status line was last drawn.
    last: Instant,
}

impl Console {
    pub fn new() -> Self {
        Console {
            live: std::io::stderr().is_terminal(),
            last: Instant::now(),
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
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunDir(run) => println!("run directory: {}", run.display()),
            Event::Resuming(run) => println!("resuming {}", run.display()),
            Event::Downloading { url } => eprintln!("downloading {url}"),
            Event::Loaded {
                model,
                train,
                test,
                seconds,
                backend,
            } => {
                // The first status line comes 200 ms into training.
                self.last = Instant::now();
                println!(
                    "{model}: {train} training and {test} test images of Fashion-MNIST, loaded \
                     in {seconds:.2} s; backend {backend}"
                );
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
            } => {
                if self.live && self.last.elapsed().as_millis() >= 200 {
                    self.last = Instant::now();
                    eprint!(
                        "\r\x1b[2Kepoch {epoch}/{epochs}  step {step}/{steps}  loss {loss:.3}  \
                         acc {acc:.3}  {images_per_sec:.0} img/s"
                    );
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
