//! `convzoo models`: the registry, with inputs and d2l recipes.

use convzoo_models::REGISTRY;
use convzoo_trainer::Result;

pub fn run() -> Result<()> {
    println!(
        "{:<18} {:<36} {:>6} {:>11} {:>6} {:>6} {:>6}",
        "name", "model", "d2l", "input", "lr", "batch", "resize"
    );
    for m in REGISTRY {
        let [c, h, w] = m.input;
        let r = m.recipe;
        println!(
            "{:<18} {:<36} {:>6} {:>11} {:>6} {:>6} {:>6}",
            m.name,
            m.title,
            m.d2l_section,
            format!("{c}x{h}x{w}"),
            r.lr,
            r.batch_size,
            r.resize
        );
    }
    Ok(())
}
