//! Pooling on plain slices: unpadded average pooling and max pooling with windows clipped to
//! the input.

pub mod avg_pool;
mod avg_pool_2x2;
pub mod max_pool;
mod max_pool_grid;
