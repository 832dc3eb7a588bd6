//! Element-wise kernels on plain slices: the ReLU, the logistic sigmoid and channel
//! concatenation, each one parallel, vectorised pass.

pub mod cat;
pub mod relu;
pub mod sigmoid;
