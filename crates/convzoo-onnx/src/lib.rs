//! ONNX export of the convzoo models: a model's inference graph as an ONNX file (opset 17) that
//! ONNX Runtime, onnxruntime-web, TensorRT or OpenVINO run with the same logits.
//!
//! The graph is derived from the model's own structure: the walk over its
//! [`convzoo_blocks::Sequential`] that also gives its summary and PyTorch keys, so a new model
//! exports with no new code. Convolutions, linear layers (`Gemm`), batch norm
//! (`BatchNormalization`), ReLU, sigmoid, max, average and global average pooling, flatten,
//! concatenation and residual additions are written; dropout is left out (inference). The input
//! is `input` `[N, C, H, W]` with a free batch size `N`, the output `logits` `[N, classes]`;
//! initializers carry d2l's PyTorch `state_dict` keys (`net.0.weight`), linear weights in
//! PyTorch's `[out, in]` layout. Messages are written with prost ([`proto`]).
//!
//! # Example
//! ```
//! use burn::tensor::Device;
//! use convzoo_models::ModelConfig;
//! use convzoo_onnx::{ExportInfo, to_onnx};
//!
//! let model = ModelConfig::from_name("lenet").unwrap().init(&Device::flex());
//! let info = ExportInfo::new(&model, [1, 28, 28], vec!["a".into(); 10]);
//! let bytes = to_onnx(&model, &info).unwrap();
//! assert!(bytes.len() > 61_706 * 4); // every weight, as f32
//! ```
#![warn(missing_docs)]

mod graph;
pub mod proto;

use convzoo_models::Model;
use prost::Message;

use crate::graph::Builder;
use crate::proto::{
    Dimension, DimensionValue, FLOAT, GraphProto, ModelProto, OperatorSetIdProto,
    StringStringEntryProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

/// The ONNX operator set written.
pub const OPSET: i64 = 17;
/// The ONNX IR version written (the one of opset 17).
pub const IR_VERSION: i64 = 8;

/// What cannot be exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A layer setting ONNX export does not cover.
    #[error("cannot export {layer} to ONNX: {what} is not supported")]
    Unsupported {
        /// The layer, by its PyTorch key.
        layer: String,
        /// The setting.
        what: String,
    },
}

/// What the file says of the model besides its graph.
#[derive(Clone, Debug)]
pub struct ExportInfo {
    /// Registry name.
    pub model: String,
    /// Input `[channels, height, width]` (the batch size stays free).
    pub input: [usize; 3],
    /// Class names, in logit order.
    pub classes: Vec<String>,
    /// How inputs are prepared (written as metadata).
    pub normalization: String,
}

impl ExportInfo {
    /// For `model` at input `[C, H, W]` with `classes`; inputs are pixels scaled to [0, 1].
    pub fn new(model: &Model, input: [usize; 3], classes: Vec<String>) -> Self {
        Self {
            model: model.name().to_string(),
            input,
            classes,
            normalization: "none: pixels scaled to [0, 1]".into(),
        }
    }
}

fn tensor_type(dims: Vec<DimensionValue>) -> TypeProto {
    TypeProto {
        tensor_type: Some(TensorTypeProto {
            elem_type: Some(FLOAT),
            shape: Some(TensorShapeProto {
                dim: dims
                    .into_iter()
                    .map(|d| Dimension { value: Some(d) })
                    .collect(),
            }),
        }),
    }
}

fn entry(key: &str, value: String) -> StringStringEntryProto {
    StringStringEntryProto {
        key: Some(key.into()),
        value: Some(value),
    }
}

fn json_strings(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// The ONNX file of `model` (used in inference mode) as bytes.
pub fn to_onnx(model: &Model, info: &ExportInfo) -> Result<Vec<u8>, Error> {
    let mut builder = Builder::default();
    let last = builder.sequential(&model.net, "net", "input".into())?;
    let mut nodes = builder.nodes;
    // The last node's output is the graph's output.
    match nodes.last_mut() {
        Some(node) if node.output.first() == Some(&last) => node.output = vec!["logits".into()],
        _ => {
            return Err(Error::Unsupported {
                layer: "net".into(),
                what: "a network whose last layer computes nothing".into(),
            });
        }
    }
    let [c, h, w] = info.input;
    let batch = || DimensionValue::DimParam("N".into());
    let fixed = |n: usize| DimensionValue::DimValue(n as i64);
    let graph = GraphProto {
        node: nodes,
        name: Some(info.model.clone()),
        initializer: builder.initializers,
        doc_string: None,
        input: vec![ValueInfoProto {
            name: Some("input".into()),
            r#type: Some(tensor_type(vec![batch(), fixed(c), fixed(h), fixed(w)])),
        }],
        output: vec![ValueInfoProto {
            name: Some("logits".into()),
            r#type: Some(tensor_type(vec![batch(), fixed(info.classes.len())])),
        }],
    };
    let file = ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("convzoo".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: None,
        model_version: Some(1),
        doc_string: Some(format!("convzoo model '{}' in inference mode", info.model)),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        metadata_props: vec![
            entry("model", info.model.clone()),
            entry("classes", json_strings(&info.classes)),
            entry("input_size", format!("{c}x{h}x{w}")),
            entry("normalization", info.normalization.clone()),
            entry("convzoo_version", env!("CARGO_PKG_VERSION").into()),
        ],
    };
    Ok(file.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use convzoo_models::torch::key_pairs;
    use convzoo_models::{ModelConfig, REGISTRY};
    use std::collections::BTreeSet;

    /// Every model's initializers are exactly its PyTorch keys (the walk and the key map agree),
    /// and the file parses back.
    #[test]
    fn initializers_are_the_pytorch_keys() {
        let device = Device::flex();
        for info in REGISTRY.iter().filter(|m| m.input[1] <= 96) {
            let model = ModelConfig::from_name(info.name).unwrap().init(&device);
            let export = ExportInfo::new(&model, info.input, vec!["c".into(); 10]);
            let bytes = to_onnx(&model, &export).unwrap();
            let file = ModelProto::decode(bytes.as_slice()).unwrap();
            let graph = file.graph.unwrap();
            let ours: BTreeSet<String> = graph
                .initializer
                .iter()
                .filter_map(|t| t.name.clone())
                .collect();
            let torch: BTreeSet<String> = key_pairs(&model).into_iter().map(|p| p.torch).collect();
            assert_eq!(ours, torch, "{}", info.name);
            assert_eq!(
                graph.node.last().unwrap().output,
                ["logits"],
                "{}",
                info.name
            );
        }
    }
}
