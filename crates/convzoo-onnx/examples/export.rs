//! Builds a registry model (untrained weights) and exports it to an ONNX file, then reads the
//! file back and prints its size, operators and inputs.
//!
//! ```text
//! cargo run --release -p convzoo-onnx --example export [-- MODEL [OUT.onnx]]
//! ```
//!
//! `MODEL` defaults to `lenet`; the file goes to `OUT.onnx`, or to `MODEL.onnx` in a fresh
//! directory under the system's temporary directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use burn::tensor::Device;
use convzoo_models::ModelConfig;
use convzoo_onnx::proto::ModelProto;
use convzoo_onnx::{ExportInfo, OPSET, to_onnx};
use prost::Message;

/// Fashion-MNIST's classes, in label order (the logits' names in the file's metadata).
const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

fn export(name: &str, out: Option<PathBuf>) -> Result<(), String> {
    let config = ModelConfig::from_name(name).map_err(|e| e.to_string())?;
    let model = config.init(&Device::flex());
    let input = config.info().input;
    let classes = CLASSES.iter().map(|c| c.to_string()).collect();
    let bytes =
        to_onnx(&model, &ExportInfo::new(&model, input, classes)).map_err(|e| e.to_string())?;

    let path = match out {
        Some(path) => path,
        None => {
            let dir = std::env::temp_dir().join(format!("convzoo-onnx-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.join(format!("{name}.onnx"))
        }
    };
    std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{name}: wrote {} ({} bytes, opset {OPSET}), input [N, {}, {}, {}]",
        path.display(),
        bytes.len(),
        input[0],
        input[1],
        input[2]
    );

    // Read the file back: the operators of its graph and its initializers (the weights).
    let file = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let decoded = ModelProto::decode(file.as_slice()).map_err(|e| e.to_string())?;
    let graph = decoded.graph.unwrap_or_default();
    let mut ops = BTreeMap::new();
    for node in &graph.node {
        *ops.entry(node.op_type.clone().unwrap_or_default())
            .or_insert(0usize) += 1;
    }
    println!(
        "{} nodes, {} initializers",
        graph.node.len(),
        graph.initializer.len()
    );
    for (op, count) in ops {
        println!("  {op:<20} {count}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let name = args
        .next()
        .map_or_else(|| "lenet".to_string(), |a| a.to_string_lossy().into_owned());
    match export(&name, args.next().map(PathBuf::from)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
