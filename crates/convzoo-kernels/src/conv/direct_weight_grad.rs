//! The weight gradient of [`crate::direct`]'s convolutions, summed on the same padded grid:
//! `dW[o][c][t] = sum_p dy_grid[o][p] xp[c][p + shift_t]`, by register blocks of output channels
//! and taps, with lane-wise partial sums kept across a task's samples.

use super::direct::{BLOCK_PIXELS, Plan, pad_sample};
use crate::conv::ConvGeometry;
use crate::runtime::rows::copy_run;
use crate::runtime::tasks::sum_over_tasks;

/// Output channels of a weight-gradient register block.
const GRAD_CHANNELS: usize = 2;

/// Kernel taps of a weight-gradient register block: with [`GRAD_CHANNELS`], 8 accumulators,
/// and per 8 grid positions 2 output-gradient and 4 input loads for 8 fused multiply-adds.
const GRAD_TAPS: usize = 4;

/// Grid positions a weight-gradient step covers: one 8-wide vector.
const LANES: usize = 8;

// The grid is whole forward blocks, so whole steps: none of it is left out of the sums.
const _: () = assert!(BLOCK_PIXELS.is_multiple_of(LANES));

/// Lays sample `dy` (`[C_out, H_out, W_out]`) on the grid (`[_, plan.grid]`): positions off the
/// output are zero already and stay so.
fn grid_dy(g: &ConvGeometry, plan: &Plan, dy: &[f32], dst: &mut [f32]) {
    let [ho, wo] = g.output();
    for (plane, d) in dy
        .chunks_exact(ho * wo)
        .zip(dst.chunks_exact_mut(plan.grid))
    {
        for (r, row) in plane.chunks_exact(wo).enumerate() {
            copy_run(&mut d[r * plan.wp..][..wo], row);
        }
    }
}

/// Adds one sample's weight gradient to `dw` (`[C_out, C_in, taps]`, `dims` being those three,
/// each value kept as [`LANES`] partial sums): `dw[o][c][t] += sum_p dy_grid[o][p]
/// xp[c][p + shift_t]`, by blocks of [`GRAD_CHANNELS`] output channels and [`GRAD_TAPS`] taps
/// (`shifts` padded to whole blocks; the padding's sums are dropped), summed lane-wise.
#[inline(always)]
fn sample_weight_grad<const FUSED: bool>(
    xp: &[f32],
    channel: usize,
    shifts: &[usize],
    dyg: &[f32],
    grid: usize,
    dims: [usize; 3],
    dw: &mut [[f32; LANES]],
) {
    let [co, ci, taps] = dims;
    let steps = grid / LANES;
    for c in 0..ci {
        let x_c = &xp[c * channel..][..channel];
        for (tb, s_block) in shifts.chunks_exact(GRAD_TAPS).enumerate() {
            // The block's shifted inputs as vectors, each `steps` long.
            let xs: [&[[f32; LANES]]; GRAD_TAPS] =
                std::array::from_fn(|t| x_c[s_block[t]..][..grid].as_chunks::<LANES>().0);
            for ob in 0..co.div_ceil(GRAD_CHANNELS) {
                let ds: [&[[f32; LANES]]; GRAD_CHANNELS] = std::array::from_fn(|k| {
                    dyg[(ob * GRAD_CHANNELS + k) * grid..][..grid]
                        .as_chunks::<LANES>()
                        .0
                });
                let mut acc = [[[0.0f32; LANES]; GRAD_TAPS]; GRAD_CHANNELS];
                for q in 0..steps {
                    let d: [[f32; LANES]; GRAD_CHANNELS] = std::array::from_fn(|k| ds[k][q]);
                    let x: [[f32; LANES]; GRAD_TAPS] = std::array::from_fn(|t| xs[t][q]);
                    for (acc_k, d_k) in acc.iter_mut().zip(&d) {
                        for (acc_kt, x_t) in acc_k.iter_mut().zip(&x) {
                            for ((a, &dv), &xv) in acc_kt.iter_mut().zip(d_k).zip(x_t) {
                                *a = crate::runtime::cpu::madd::<FUSED>(dv, xv, *a);
                            }
                        }
                    }
                }
                for (k, acc_k) in acc.iter().enumerate() {
                    let o = ob * GRAD_CHANNELS + k;
                    for (t, lanes) in acc_k.iter().enumerate() {
                        let tap = tb * GRAD_TAPS + t;
                        if o < co && tap < taps {
                            let sums = &mut dw[(o * ci + c) * taps + tap];
                            sums.iter_mut().zip(lanes).for_each(|(v, l)| *v += l);
                        }
                    }
                }
            }
        }
    }
}

crate::multiversion! {
    /// [`sample_weight_grad`] for the CPU's path.
    fn sample_weight_grad_isa(
        xp: &[f32],
        channel: usize,
        shifts: &[usize],
        dyg: &[f32],
        grid: usize,
        dims: [usize; 3],
        dw: &mut [[f32; LANES]],
    ) = sample_weight_grad::<FUSED>;
}

/// Weight gradient `[C_out, C_in k_h k_w]` of a convolution that
/// [`super::direct::weight_grad_applies`] (as
/// [`crate::conv::weight_grad`]): per-task sums over the grid, then over the tasks.
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let plan = Plan::new(g);
    let taps = g.kernel[0] * g.kernel[1];
    let mut shifts = plan.shifts.clone();
    shifts.resize(taps.next_multiple_of(GRAD_TAPS), 0);
    let dims = [g.channels_out, g.channels_in, taps];
    let len = g.channels_out * g.patch_rows();
    let y_len = g.channels_out * g.pixels();
    sum_over_tasks(g.batch, len, |start, end| {
        let mut dw = vec![[0.0f32; LANES]; len];
        let mut xp = vec![0.0f32; g.channels_in * plan.channel];
        let rows = g.channels_out.next_multiple_of(GRAD_CHANNELS);
        let mut dyg = vec![0.0f32; rows * plan.grid];
        for n in start..end {
            pad_sample(g, &plan, &x[n * g.input_len()..][..g.input_len()], &mut xp);
            grid_dy(g, &plan, &dy[n * y_len..][..y_len], &mut dyg);
            sample_weight_grad_isa(&xp, plan.channel, &shifts, &dyg, plan.grid, dims, &mut dw);
        }
        dw.iter().map(|lanes| lanes.iter().sum()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::direct::test_cases;
    use crate::conv::im2col;
    use crate::testing::{assert_close, conv_terms, pattern};

    /// The weight gradient by its definition, in `f64`.
    fn naive(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let mut dw = vec![0.0f64; g.channels_out * g.patch_rows()];
        conv_terms(g, |xi, wi, yi| dw[wi] += x[xi] as f64 * dy[yi] as f64);
        dw.into_iter().map(|v| v as f32).collect()
    }

    /// Against the definition and against im2col's, for the forward kernel's test cases, on
    /// every path.
    #[test]
    fn matches_the_definition_and_the_patch_matrix_gradient() {
        crate::testing::on_every_path(|| {
            for g in test_cases() {
                let x = pattern(g.batch * g.input_len(), 1);
                let dy = pattern(g.batch * g.channels_out * g.pixels(), 3);
                let dw = weight_grad(&g, &x, &dy);
                let case = format!("{g:?}");
                assert_close(
                    &format!("weight grad {case}"),
                    &dw,
                    &naive(&g, &x, &dy),
                    1e-5,
                );
                assert_close(
                    &format!("weight grad against im2col's {case}"),
                    &dw,
                    &im2col::weight_grad(&g, &x, &dy),
                    1e-5,
                );
            }
        });
    }
}
