//! [`Epilogue`]: what a convolution's forward pass does to its output rows right after their
//! gemm, while they are in cache: a per-channel scale and shift (bias, batch norm), a residual,
//! an activation; each loop compiled for every kernel path.

/// What the forward pass does to each value `v` of output channel `o` after its gemm, in the
/// same pass: `v * scale[o] + shift[o]` (a bias is a shift; a batch norm in inference a scale
/// and a shift), plus `residual` at the same position (`[N, C_out, H_out, W_out]`), then
/// the `activation`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// Per output channel factor (`None`: 1).
    pub scale: Option<&'a [f32]>,
    /// Per output channel term (`None`: 0).
    pub shift: Option<&'a [f32]>,
    /// A tensor of the output's shape to add.
    pub residual: Option<&'a [f32]>,
    /// The activation applied last.
    pub activation: Activation,
}

/// The activation an [`Epilogue`] ends with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    /// None.
    #[default]
    Identity,
    /// `max(v, 0)`.
    Relu,
    /// `1 / (1 + exp(-v))`.
    Sigmoid,
}

impl<'a> Epilogue<'a> {
    /// Only a bias, if any.
    pub fn bias(bias: Option<&'a [f32]>) -> Self {
        Self {
            shift: bias,
            ..Self::default()
        }
    }

    /// Applies the epilogue to `row`, output channel `o`, whose residual is `residual`.
    #[inline(always)]
    pub(crate) fn apply(&self, row: &mut [f32], o: usize, residual: Option<&[f32]>) {
        let (scale, shift) = (
            self.scale.map_or(1.0, |s| s[o]),
            self.shift.map_or(0.0, |s| s[o]),
        );
        match residual {
            Some(res) => affine_add_isa(row, res, scale, shift),
            None if self.scale.is_some() || self.shift.is_some() => affine_isa(row, scale, shift),
            None => {}
        }
        match self.activation {
            Activation::Identity => {}
            Activation::Relu => crate::elementwise::relu::relu_in_place(row),
            Activation::Sigmoid => crate::elementwise::sigmoid::sigmoid_in_place(row),
        }
    }
}

#[inline(always)]
fn affine(row: &mut [f32], scale: f32, shift: f32) {
    row.iter_mut().for_each(|v| *v = *v * scale + shift);
}

crate::multiversion! {
    /// `v * scale + shift` in place, for the CPU's path.
    fn affine_isa(row: &mut [f32], scale: f32, shift: f32) = affine;
}

#[inline(always)]
fn affine_add(row: &mut [f32], residual: &[f32], scale: f32, shift: f32) {
    row.iter_mut()
        .zip(residual)
        .for_each(|(v, r)| *v = *v * scale + shift + r);
}

crate::multiversion! {
    /// `v * scale + shift + residual` in place, for the CPU's path.
    fn affine_add_isa(row: &mut [f32], residual: &[f32], scale: f32, shift: f32) = affine_add;
}
