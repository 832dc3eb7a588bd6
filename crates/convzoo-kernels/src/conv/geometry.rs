//! The shape of a 2D convolution on contiguous NCHW tensors.

/// Geometry of a 2D convolution (dilation 1) on contiguous NCHW tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero padding `(before, after)` along height and width.
    pub padding: [(usize, usize); 2],
    /// Groups: the channels split into this many independent convolutions of
    /// `channels_in / groups` to `channels_out / groups` channels (1: an ordinary convolution;
    /// `channels_in`: depthwise). The weight is `[C_out, C_in / groups, k_h, k_w]`.
    pub groups: usize,
}

impl ConvGeometry {
    /// Whether this is a 1x1 convolution with stride 1 and no padding: a sample's patch matrix
    /// is then the sample itself.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [(0, 0), (0, 0)]
    }

    /// The convolution of one group: `channels_in / groups` to `channels_out / groups`
    /// channels, groups 1 (itself when `groups` is 1).
    ///
    /// # Panics
    /// If `groups` is 0 or does not divide both channel counts.
    pub fn group(&self) -> ConvGeometry {
        let groups = self.groups;
        assert!(
            groups > 0
                && self.channels_in.is_multiple_of(groups)
                && self.channels_out.is_multiple_of(groups),
            "{groups} groups do not divide {} input and {} output channels",
            self.channels_in,
            self.channels_out
        );
        ConvGeometry {
            channels_in: self.channels_in / groups,
            channels_out: self.channels_out / groups,
            groups: 1,
            ..*self
        }
    }

    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        let out = |d: usize| {
            let (before, after) = self.padding[d];
            (self.input[d] + before + after - self.kernel[d]) / self.stride[d] + 1
        };
        [out(0), out(1)]
    }

    /// Values of one input sample: `C_in H W`.
    pub(crate) fn input_len(&self) -> usize {
        self.channels_in * self.input[0] * self.input[1]
    }

    /// Rows of a sample's patch matrix: `C_in k_h k_w`.
    pub(crate) fn patch_rows(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels of one sample: `H_out W_out`.
    pub(crate) fn pixels(&self) -> usize {
        let [h, w] = self.output();
        h * w
    }
}
