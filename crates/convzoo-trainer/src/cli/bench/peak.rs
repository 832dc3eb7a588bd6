//! The machine's measured fp32 peak: a loop of independent multiply-adds (12 accumulators, to
//! cover the FMA latency) on one or more threads, per instruction-set path, so that a kernel's
//! GFLOP/s can be given as a share of what the cores do at best.

use std::time::Instant;

use convzoo_blocks::flex::Isa;

/// Accumulators per thread: enough to hide the FMA latency on two FMA ports.
const ACCUMULATORS: usize = 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn loop_avx512(iterations: u64) -> f32 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); ACCUMULATORS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v));
    _mm512_reduce_add_ps(sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn loop_avx2(iterations: u64) -> f32 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); ACCUMULATORS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds eight f32s; the store is unaligned.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum()
}

/// Four-lane multiply then add (no FMA on the baseline), as the compiler vectorises it.
fn loop_portable(iterations: u64) -> f32 {
    let (a, b) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(1e-7f32),
    );
    let mut acc = [[1.0f32; 4]; ACCUMULATORS];
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            for x in v.iter_mut() {
                *x = *x * a + b;
            }
        }
    }
    acc.iter().flatten().sum()
}

/// f32 lanes per operation of `isa`'s loop.
fn lanes(isa: Isa) -> u64 {
    match isa {
        Isa::Avx512 => 16,
        Isa::Avx2 => 8,
        Isa::Portable => 4,
    }
}

/// Runs `isa`'s loop for `iterations` and returns its (meaningless) sum.
fn run(isa: Isa, iterations: u64) -> f32 {
    assert!(
        isa.supported(),
        "this CPU cannot run the {} loop",
        isa.name()
    );
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: the CPU supports the path (asserted above).
        Isa::Avx512 => return unsafe { loop_avx512(iterations) },
        Isa::Avx2 => return unsafe { loop_avx2(iterations) },
        Isa::Portable => {}
    }
    loop_portable(iterations)
}

/// The fp32 GFLOP/s of `isa`'s multiply-add loop on `threads` threads at once (a multiply-add
/// counts as two operations), each running for about `seconds`.
///
/// # Panics
/// If the CPU lacks `isa` or `threads` is 0.
pub fn fma_peak(isa: Isa, threads: usize, seconds: f64) -> f64 {
    assert!(threads > 0, "at least one thread");
    // Calibrate the iterations to the time asked for.
    let probe = 200_000;
    let started = Instant::now();
    std::hint::black_box(run(isa, probe));
    let per_iteration = started.elapsed().as_secs_f64() / probe as f64;
    let iterations = ((seconds / per_iteration.max(1e-12)) as u64).max(probe);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| std::hint::black_box(run(isa, iterations)));
        }
    });
    let flops = 2 * lanes(isa) * ACCUMULATORS as u64 * iterations * threads as u64;
    flops as f64 / started.elapsed().as_secs_f64() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_loop_runs_and_counts_flops() {
        for isa in Isa::supported_all() {
            let sum = run(isa, 1000);
            // 12 x lanes accumulators, each x -> x * 0.999999 + 1e-7 from 1: just under 1.
            let n = (ACCUMULATORS as u64 * lanes(isa)) as f32;
            assert!((sum / n - 1.0).abs() < 1e-3, "{}: {sum}", isa.name());
            let gflops = fma_peak(isa, 1, 0.001);
            assert!(
                gflops.is_finite() && gflops > 0.0,
                "{}: {gflops}",
                isa.name()
            );
        }
    }
}
