//! The devices a run trains on (`--devices`): one, or several of one backend for data-parallel
//! steps ([`crate::step::parallel`]).

use burn::tensor::Device;

use crate::backend;
use crate::error::{Error, Result, UsageError};

/// The devices of a run, as autodiff devices: the first holds the model, gathers the
/// gradients and applies the update.
#[derive(Clone, Debug)]
pub struct Devices {
    specs: Vec<String>,
    devices: Vec<Device>,
}

/// The specs of a `--devices` list (`flex,flex`, `cuda:0,cuda:1`), checked for blank entries.
///
/// # Errors
/// An empty list or a blank entry.
pub fn parse_list(list: &str) -> Result<Vec<String>> {
    let specs: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
    if specs.iter().any(String::is_empty) {
        return Err(Error::Usage(UsageError::BadDeviceList {
            list: list.into(),
            problem: "a device name is missing".into(),
        }));
    }
    Ok(specs)
}

/// The backend a spec names: `wgpu` of `wgpu:discrete:1`.
fn backend_name(spec: &str) -> &str {
    spec.split(':').next().unwrap_or(spec)
}

/// Checks that `specs` share one backend (without building any device).
///
/// # Errors
/// [`UsageError::MixedDevices`] naming the first two backends.
pub fn check_one_backend(specs: &[String]) -> Result<()> {
    let Some(first) = specs.first() else {
        return Ok(());
    };
    match specs
        .iter()
        .find(|s| backend_name(s) != backend_name(first))
    {
        Some(other) => Err(Error::Usage(UsageError::MixedDevices {
            first: first.clone(),
            other: other.clone(),
        })),
        None => Ok(()),
    }
}

impl Devices {
    /// Builds the devices of `specs` (see [`backend::device`]); a spec may repeat (two `flex`
    /// devices share the CPU: a test of correctness, not of speed).
    ///
    /// # Errors
    /// No spec, mixed backends, or a device that cannot be built (not compiled in, an unknown
    /// or absent adapter).
    pub fn open(specs: &[String]) -> Result<Self> {
        if specs.is_empty() {
            return Err(Error::Usage(UsageError::BadDeviceList {
                list: String::new(),
                problem: "no device named".into(),
            }));
        }
        check_one_backend(specs)?;
        let devices = specs
            .iter()
            .map(|s| backend::device(s).map(Device::autodiff))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            specs: specs.to_vec(),
            devices,
        })
    }

    /// The device that holds the model and applies the update (autodiff).
    pub fn main(&self) -> &Device {
        &self.devices[0]
    }

    /// Every device, the main one first (autodiff).
    pub fn all(&self) -> &[Device] {
        &self.devices
    }

    /// How many devices.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether there are none (never, for devices that [`Devices::open`] built).
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// What the run trains on: the backend's label ([`backend::label`]), and the devices
    /// when there are several.
    pub fn label(&self) -> String {
        let label = backend::label(&self.specs[0]);
        match self.len() {
            1 => label,
            k => format!(
                "{label}, data-parallel on {k} devices ({})",
                self.specs.join(",")
            ),
        }
    }

    /// The specs, as given.
    pub fn specs(&self) -> &[String] {
        &self.specs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_bad_lists_are_one_line_usage_errors() {
        assert_eq!(parse_list("flex, flex").unwrap(), ["flex", "flex"]);
        for bad in ["", "flex,", ",flex", "flex,,flex"] {
            let e = parse_list(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains("a device name is missing"), "{e}");
        }
        let e = Devices::open(&["flex".into(), "ndarray".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .starts_with("--devices mixes backends 'flex' and 'ndarray'"),
            "{e}"
        );
        let e = Devices::open(&["flex".into(), "flex:1".into()]).unwrap_err();
        assert!(e.to_string().contains("takes no device selector"), "{e}");
        let two = Devices::open(&["flex".into(), "flex".into()]).unwrap();
        assert_eq!(two.len(), 2);
        assert!(two.main().is_autodiff());
    }
}
