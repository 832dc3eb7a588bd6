//! The Burn backends compiled into this binary, chosen at run time by name.
//!
//! A backend is named `NAME` or `NAME:SELECTOR`:
//!
//! | name | cargo feature | selector |
//! |---|---|---|
//! | `flex` | `flex` (default) | none |
//! | `ndarray` | `ndarray` | none |
//! | `wgpu`, `vulkan`, `metal` | same name | `auto` (default), `discrete[:N]`, `integrated[:N]`, `virtual[:N]`, `cpu` |
//! | `cuda` | `cuda` | GPU index, default `0` |
//!
//! The device is always built explicitly, never with `Device::default()` (which picks the
//! first backend compiled in by a fixed priority). For the wgpu family, `auto` tries a discrete
//! GPU, then an integrated one, a virtual one, and last the CPU adapter (Mesa's lavapipe), and
//! says which adapter it took ([`label`]).

use burn::tensor::Device;
use std::sync::Mutex;

use crate::error::{Error, Result, UsageError};

/// Every backend the project knows, with the cargo feature that compiles it in.
pub const KNOWN: [(&str, &str); 6] = [
    ("flex", "flex"),
    ("ndarray", "ndarray"),
    ("wgpu", "wgpu"),
    ("vulkan", "vulkan"),
    ("cuda", "cuda"),
    ("metal", "metal"),
];

/// The names of [`KNOWN`], comma-separated.
pub fn known_names() -> String {
    KNOWN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// What to install when no GPU adapter is found.
pub(crate) const DRIVER_HINT: &str = "install a Vulkan driver (on Debian/Ubuntu: `apt-get install \
    mesa-vulkan-drivers libvulkan1`, which includes lavapipe, a software driver that runs on any \
    CPU), or use --backend flex";

/// Backends compiled in (by cargo feature), the default first.
pub fn compiled() -> Vec<&'static str> {
    let on = [
        cfg!(feature = "flex"),
        cfg!(feature = "ndarray"),
        cfg!(feature = "wgpu"),
        cfg!(feature = "vulkan"),
        cfg!(feature = "cuda"),
        cfg!(feature = "metal"),
    ];
    KNOWN
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .map(|((name, _), _)| *name)
        .collect()
}

/// The default backend: the first compiled in.
pub fn default_backend() -> &'static str {
    compiled().first().copied().unwrap_or("flex")
}

/// The cargo feature that compiles in backend `spec` (`NAME` or `NAME:SELECTOR`).
pub fn feature(spec: &str) -> Option<&'static str> {
    let name = spec.split(':').next().unwrap_or(spec);
    KNOWN.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// A device built for a spec, with what the run reports about it.
struct Built {
    spec: String,
    device: Device,
    label: String,
    max_buffer_bytes: Option<u64>,
}

/// Devices already built: a wgpu runtime is initialised once per process.
static DEVICES: Mutex<Vec<Built>> = Mutex::new(Vec::new());

/// The device of backend `spec` (`NAME` or `NAME:SELECTOR`), built explicitly and kept for
/// later calls with the same `spec`.
///
/// # Errors
/// An unknown name or selector, a backend not compiled in (naming the cargo feature), or a GPU
/// adapter that is missing (naming the system packages that provide one).
pub fn device(spec: &str) -> Result<Device> {
    let mut cache = DEVICES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = cache.iter().find(|b| b.spec == spec) {
        return Ok(b.device.clone());
    }
    let (name, selector) = match spec.split_once(':') {
        Some((n, s)) => (n, Some(s)),
        None => (spec, None),
    };
    let (device, label, max_buffer_bytes) = build(name, selector)?;
    cache.push(Built {
        spec: spec.to_string(),
        device: device.clone(),
        label,
        max_buffer_bytes,
    });
    Ok(device)
}

/// The largest tensor, in bytes, that backend `spec` can hand to one kernel, where it has such
/// a limit: a wgpu device's storage-buffer binding size (128 MiB on Mesa's lavapipe, several
/// GiB on discrete GPUs). `None` for the CPU backends, or before [`device`] has built it.
pub fn max_buffer_bytes(spec: &str) -> Option<u64> {
    let cache = DEVICES.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .find(|b| b.spec == spec)
        .and_then(|b| b.max_buffer_bytes)
}

/// What backend `spec` runs on, e.g. `flex` or `wgpu (llvmpipe (LLVM 15.0.6, 256 bits),
/// Vulkan, cpu adapter)`; the plain spec before [`device`] has built it.
pub fn label(spec: &str) -> String {
    let cache = DEVICES.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .find(|b| b.spec == spec)
        .map(|b| b.label.clone())
        .unwrap_or_else(|| spec.to_string())
}

fn no_selector(name: &str, selector: Option<&str>) -> Result<()> {
    match selector {
        Some(s) => Err(Error::Usage(UsageError::NoSelector {
            name: name.into(),
            selector: s.into(),
        })),
        None => Ok(()),
    }
}

fn build(name: &str, selector: Option<&str>) -> Result<(Device, String, Option<u64>)> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => {
            no_selector(name, selector)?;
            let label = if convzoo_blocks::flex::enabled() {
                "flex (convzoo kernels)"
            } else {
                "flex (Burn's operations: CONVZOO_FLEX_KERNELS is off)"
            };
            Ok((Device::flex(), label.into(), None))
        }
        #[cfg(feature = "ndarray")]
        "ndarray" => {
            no_selector(name, selector)?;
            #[allow(deprecated)]
            Ok((Device::ndarray(), "ndarray".into(), None))
        }
        #[cfg(feature = "wgpu")]
        "wgpu" => gpu::wgpu_family(name, selector),
        #[cfg(feature = "vulkan")]
        "vulkan" => gpu::wgpu_family(name, selector),
        #[cfg(feature = "metal")]
        "metal" => gpu::wgpu_family(name, selector),
        #[cfg(feature = "cuda")]
        "cuda" => {
            let index = match selector {
                None => 0,
                Some(s) => s
                    .parse::<usize>()
                    .map_err(|_| Error::Usage(UsageError::BadCudaDevice { selector: s.into() }))?,
            };
            Ok((Device::cuda(index), format!("cuda (GPU {index})"), None))
        }
        _ => match feature(name) {
            Some(feature) => Err(Error::Usage(UsageError::BackendNotCompiled {
                name: name.into(),
                feature,
            })),
            None => Err(Error::Usage(UsageError::UnknownBackend {
                name: name.into(),
            })),
        },
    }
}

/// How to choose a wgpu adapter.
#[cfg_attr(
    not(any(feature = "wgpu", feature = "vulkan", feature = "metal")),
    allow(dead_code)
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adapter {
    Discrete(usize),
    Integrated(usize),
    Virtual(usize),
    Cpu,
}

/// Parses a wgpu adapter selector; `None` is `auto`.
#[cfg_attr(
    not(any(feature = "wgpu", feature = "vulkan", feature = "metal")),
    allow(dead_code)
)]
fn parse_adapter(selector: &str) -> Result<Option<Adapter>> {
    let (kind, index) = match selector.split_once(':') {
        Some((k, i)) => (
            k,
            i.parse::<usize>().map_err(|_| {
                Error::Usage(UsageError::BadAdapterIndex {
                    index: i.into(),
                    selector: selector.into(),
                })
            })?,
        ),
        None => (selector, 0),
    };
    let adapter = match kind {
        "auto" if selector == "auto" => return Ok(None),
        "discrete" => Adapter::Discrete(index),
        "integrated" => Adapter::Integrated(index),
        "virtual" => Adapter::Virtual(index),
        "cpu" if selector == "cpu" => Adapter::Cpu,
        _ => {
            return Err(Error::Usage(UsageError::BadAdapter {
                selector: selector.into(),
            }));
        }
    };
    Ok(Some(adapter))
}

#[cfg(any(feature = "wgpu", feature = "vulkan", feature = "metal"))]
mod gpu {
    use super::{Adapter, parse_adapter};
    use crate::error::{Error, Result};
    use burn::tensor::wgpu::WgpuBackend;
    use burn::tensor::{Device, DeviceKind};

    fn kind(adapter: Adapter) -> DeviceKind {
        match adapter {
            Adapter::Discrete(i) => DeviceKind::DiscreteGpu(i),
            Adapter::Integrated(i) => DeviceKind::IntegratedGpu(i),
            Adapter::Virtual(i) => DeviceKind::VirtualGpu(i),
            Adapter::Cpu => DeviceKind::Cpu,
        }
    }

    fn describe(adapter: Adapter) -> String {
        match adapter {
            Adapter::Discrete(i) => format!("discrete:{i}"),
            Adapter::Integrated(i) => format!("integrated:{i}"),
            Adapter::Virtual(i) => format!("virtual:{i}"),
            Adapter::Cpu => "cpu".into(),
        }
    }

    fn api(name: &str) -> WgpuBackend {
        match name {
            "vulkan" => WgpuBackend::Vulkan,
            "metal" => WgpuBackend::Metal,
            _ => WgpuBackend::Auto,
        }
    }

    /// The device on `adapter`, or wgpu's reason why not.
    fn init(name: &str, adapter: Adapter) -> Result<(Device, String, Option<u64>), String> {
        let (device, setup) = Device::wgpu_options()
            .device_kind(kind(adapter))
            .graphics_api(api(name))
            .init_with_setup()
            .map_err(|e| e.to_string())?;
        let info = setup.adapter.get_info();
        let label = format!(
            "{name} ({}, {:?}, {} adapter)",
            info.name,
            setup.backend,
            describe(adapter)
        );
        let max = setup.device.limits().max_storage_buffer_binding_size;
        Ok((device, label, Some(max)))
    }

    /// A wgpu-family device (`wgpu`, `vulkan`, `metal`) on the chosen adapter.
    pub(super) fn wgpu_family(
        name: &str,
        selector: Option<&str>,
    ) -> Result<(Device, String, Option<u64>)> {
        match parse_adapter(selector.unwrap_or("auto"))? {
            Some(adapter) => init(name, adapter).map_err(|reason| Error::NoAdapter {
                name: name.into(),
                adapter: describe(adapter),
                reason,
            }),
            None => {
                let order = [
                    Adapter::Discrete(0),
                    Adapter::Integrated(0),
                    Adapter::Virtual(0),
                    Adapter::Cpu,
                ];
                let mut last = String::new();
                for adapter in order {
                    match init(name, adapter) {
                        Ok(found) => return Ok(found),
                        Err(e) => last = e,
                    }
                }
                Err(Error::NoAdapterFound {
                    name: name.into(),
                    last,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_and_selectors_parse() {
        assert_eq!(feature("wgpu:cpu"), Some("wgpu"));
        assert_eq!(feature("cuda:1"), Some("cuda"));
        assert_eq!(feature("tpu"), None);
        assert_eq!(parse_adapter("auto").unwrap(), None);
        assert_eq!(parse_adapter("cpu").unwrap(), Some(Adapter::Cpu));
        assert_eq!(
            parse_adapter("discrete").unwrap(),
            Some(Adapter::Discrete(0))
        );
        assert_eq!(
            parse_adapter("integrated:2").unwrap(),
            Some(Adapter::Integrated(2))
        );
        let e = parse_adapter("gpu").unwrap_err();
        assert!(
            e.to_string().contains("choose auto") && e.exit_code() == 2,
            "{e}"
        );
        assert!(
            parse_adapter("discrete:x")
                .unwrap_err()
                .to_string()
                .contains("bad adapter index")
        );
        assert!(parse_adapter("cpu:1").is_err());
    }

    #[test]
    fn missing_and_unknown_backends_say_what_to_do() {
        let e = device("tpu").unwrap_err();
        assert!(e.to_string().starts_with("unknown backend 'tpu'"), "{e}");
        assert_eq!(e.exit_code(), 2);
        for (name, feature) in KNOWN {
            if !compiled().contains(&name) {
                let e = device(name).unwrap_err().to_string();
                assert!(e.contains(&format!("cargo feature `{feature}`")), "{e}");
            }
        }
        assert!(
            device("flex:cpu")
                .unwrap_err()
                .to_string()
                .contains("takes no device selector")
        );
    }

    #[test]
    fn devices_are_built_once_and_labelled() {
        let a = device("flex").unwrap();
        let b = device("flex").unwrap();
        assert_eq!(a, b);
        assert!(label("flex").starts_with("flex ("), "{}", label("flex"));
        assert_eq!(compiled().first().copied(), Some(default_backend()));
    }
}
