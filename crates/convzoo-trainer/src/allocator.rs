//! Keeping freed memory in the process between training steps (glibc).
//!
//! Every training step allocates and frees the same large activation and gradient buffers.
//! glibc's malloc serves blocks above its (dynamic) threshold with `mmap` and gives them back with
//! `munmap` on free, so each step pays fresh page faults and cross-core TLB flushes. Raising the
//! mmap threshold to its maximum (32 MiB on 64-bit), turning `mmap` off for the blocks above it
//! (AlexNet's and VGG's first activations; they then come from the heap as well) and raising the
//! trim threshold to 1 GiB keeps those buffers in the process for reuse (the measurements are in
//! BENCHMARKS.md). The cost: memory freed after the peak stays with the process (up to 1 GiB), and
//! the heap's fragmentation raises the peak a little.

/// Applies the settings above (glibc on Linux; elsewhere nothing).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes malloc's tuning parameters; it is called before any thread
    // starts, and a rejected value leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        // No limit on what a single block may take from the heap.
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
