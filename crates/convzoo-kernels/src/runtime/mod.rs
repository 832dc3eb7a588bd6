//! What every kernel runs on: the CPU path ([`cpu`]), task splitting over the rayon pool,
//! output buffers handed out uninitialised, row helpers and the gemm wrapper.

pub mod cpu;
pub(crate) mod gemm;
pub(crate) mod rows;
pub(crate) mod tasks;
pub(crate) mod uninit;
