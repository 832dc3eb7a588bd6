//! How a batch is split across the rayon pool: tasks of consecutive samples, blocks of samples
//! within a task that share a gemm, and the sum of the tasks' partial results.

use rayon::prelude::*;

/// Threads inside each gemm: none when the samples already spread over the pool, all of them
/// when there are fewer samples than threads (batch-1 inference).
pub(crate) fn gemm_parallelism(batch: usize) -> gemm::Parallelism {
    // Inside a task of the pool (a grouped convolution's sample) the pool is already busy.
    if batch < rayon::current_num_threads() && rayon::current_thread_index().is_none() {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// Samples per rayon task: the batch split evenly over the pool's threads.
pub(crate) fn per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Samples `start..end` in blocks of at most `group`: `(first sample, samples in the block)`.
pub(crate) fn blocks(
    start: usize,
    end: usize,
    group: usize,
) -> impl Iterator<Item = (usize, usize)> {
    (start..end)
        .step_by(group)
        .map(move |n0| (n0, group.min(end - n0)))
}

/// Runs `work(start, end, chunk)` in parallel for each task's samples `start..end` of a batch
/// ([`per_task`] samples a task), `chunk` being their part of `out` (`sample` values each).
pub(crate) fn for_each_task<T: Send>(
    out: &mut [T],
    sample: usize,
    batch: usize,
    work: impl Fn(usize, usize, &mut [T]) + Sync + Send,
) {
    let task = per_task(batch);
    out.par_chunks_mut(task * sample)
        .enumerate()
        .for_each(|(t, chunk)| {
            let start = t * task;
            work(start, start + chunk.len() / sample, chunk)
        });
}

/// The element-wise sum over a batch's tasks ([`per_task`] samples each, run in parallel) of
/// `work(start, end)`: `len` values computed from samples `start..end`.
pub(crate) fn sum_over_tasks(
    batch: usize,
    len: usize,
    work: impl Fn(usize, usize) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    let task = per_task(batch);
    let partials: Vec<Vec<f32>> = (0..batch)
        .into_par_iter()
        .step_by(task)
        .map(|start| work(start, (start + task).min(batch)))
        .collect();
    sum_partials(partials, len)
}

/// The element-wise sum of the tasks' `partials` (zeros of `len` when there are none).
fn sum_partials(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_else(|| vec![0.0; len]);
    for p in partials {
        total.iter_mut().zip(&p).for_each(|(t, v)| *t += v);
    }
    total
}
