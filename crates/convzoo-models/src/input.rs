//! What input a model accepts, and the error for input it does not.

use std::fmt;

use crate::Error;

/// The spatial sizes a model accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeRule {
    /// Exactly this height and width (the flatten before the classifier fixes it).
    Exact(usize),
    /// Any square or rectangular size with both sides at least this (global average pooling).
    AtLeast(usize),
}

/// The input a model takes: `[N, channels, H, W]` with H and W allowed by `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// Input channels.
    pub channels: usize,
    /// Allowed spatial sizes.
    pub size: SizeRule,
}

impl InputSpec {
    /// Checks `dims` (the shape of an input batch) for the model `model`.
    pub fn check(&self, model: &str, dims: &[usize]) -> Result<(), Error> {
        let fits = match (dims, self.size) {
            ([n, c, h, w], SizeRule::Exact(s)) => {
                *n > 0 && *c == self.channels && *h == s && *w == s
            }
            ([n, c, h, w], SizeRule::AtLeast(s)) => {
                *n > 0 && *c == self.channels && *h >= s && *w >= s
            }
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(Error::Input {
                model: model.to_string(),
                expected: *self,
                given: dims.to_vec(),
            })
        }
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.channels;
        match self.size {
            SizeRule::Exact(s) => write!(f, "[N, {c}, {s}, {s}]"),
            SizeRule::AtLeast(s) => write!(f, "[N, {c}, H, W] with H, W >= {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_model_expected_and_given() {
        let spec = InputSpec {
            channels: 1,
            size: SizeRule::Exact(224),
        };
        let err = spec.check("alexnet", &[2, 1, 32, 32]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "model 'alexnet' expects input [N, 1, 224, 224], but was given [2, 1, 32, 32] \
             (resize the images to 224x224)"
        );
        assert!(spec.check("alexnet", &[2, 1, 224, 224]).is_ok());
        assert!(spec.check("alexnet", &[2, 3, 224, 224]).is_err());
        let spec = InputSpec {
            channels: 3,
            size: SizeRule::AtLeast(29),
        };
        assert!(spec.check("densenet", &[1, 3, 29, 40]).is_ok());
        assert!(spec.check("densenet", &[1, 3, 28, 40]).is_err());
        assert!(spec.check("densenet", &[3, 29, 40]).is_err());
    }
}
