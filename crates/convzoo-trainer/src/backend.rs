//! The Burn backends compiled into this binary, chosen at run time by name.

use burn::tensor::Device;

/// Backends compiled in (by cargo feature), the default first.
pub fn compiled() -> Vec<&'static str> {
    let mut out = Vec::new();
    if cfg!(feature = "flex") {
        out.push("flex");
    }
    if cfg!(feature = "ndarray") {
        out.push("ndarray");
    }
    out
}

/// Every backend the project knows, with the cargo feature that compiles it in.
pub const KNOWN: [(&str, &str); 2] = [("flex", "flex"), ("ndarray", "ndarray")];

/// The default backend: the first compiled in.
pub fn default_backend() -> &'static str {
    compiled().first().copied().unwrap_or("flex")
}

/// The device of backend `name`, built explicitly (never `Device::default()`).
pub fn device(name: &str) -> Result<Device, String> {
    let known = KNOWN.iter().any(|(n, _)| *n == name);
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        "ndarray" =>
        {
            #[allow(deprecated)]
            Ok(Device::ndarray())
        }
        _ if known => Err(format!(
            "backend '{name}' is not compiled into this binary (compiled: {}); rebuild with \
             `--features {name}`, or run `cargo xtask train --backend {name}`, which does",
            compiled().join(", ")
        )),
        _ => Err(format!(
            "unknown backend '{name}'; choose one of: {}",
            KNOWN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}
