//! [`Features`]: what flows between the layers of a [`crate::Sequential`].

use burn::tensor::Tensor;

use crate::probe::Probe;

/// What flows between layers: feature maps `[N, C, H, W]` or feature vectors `[N, F]`.
#[derive(Clone, Debug)]
pub enum Features {
    /// Feature maps, `[N, C, H, W]`.
    Maps(Tensor<4>),
    /// Feature vectors, `[N, F]` (after a flatten).
    Vectors(Tensor<2>),
}

impl Features {
    /// The shape, batch first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Self::Maps(x) => x.dims().to_vec(),
            Self::Vectors(x) => x.dims().to_vec(),
        }
    }

    /// The feature maps.
    ///
    /// # Panics
    /// If these are feature vectors: a layer that needs maps was placed after a flatten.
    pub fn maps(self, layer: &str) -> Tensor<4> {
        match self {
            Self::Maps(x) => x,
            Self::Vectors(x) => panic!(
                "{layer} needs [N, C, H, W] maps, got vectors {:?}",
                x.dims()
            ),
        }
    }

    /// The feature vectors.
    ///
    /// # Panics
    /// If these are feature maps: a linear layer was placed before a flatten.
    pub fn vectors(self, layer: &str) -> Tensor<2> {
        match self {
            Self::Vectors(x) => x,
            Self::Maps(x) => panic!("{layer} needs [N, F] vectors, got maps {:?}", x.dims()),
        }
    }

    pub(crate) fn record(self, probe: &mut Probe, name: &str, kind: &str) -> Self {
        match self {
            Self::Maps(x) => Self::Maps(probe.layer(name, kind, x)),
            Self::Vectors(x) => Self::Vectors(probe.layer(name, kind, x)),
        }
    }
}
