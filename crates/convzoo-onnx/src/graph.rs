//! The inference graph of a model, from a walk over its layers: each [`Layer`] becomes its
//! ONNX operators, each tensor an initializer under its PyTorch key (the prefix the walk
//! carries is the name the layer was built under, as [`convzoo_models::Model::torch_key`]).

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use convzoo_blocks::{
    AnyBatchNorm, ConvUnit, DenseBlock, Inception, Layer, ResNeXtBlock, Residual, Sequential,
};

use crate::Error;
use crate::proto::{
    ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, AttributeProto, FLOAT, NodeProto, TensorProto,
};

/// Nodes and initializers, in topological order.
#[derive(Default)]
pub(crate) struct Builder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    count: usize,
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        ints: values.iter().map(|&v| v as i64).collect(),
        r#type: Some(ATTRIBUTE_INTS),
        ..AttributeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        i: Some(value),
        r#type: Some(ATTRIBUTE_INT),
        ..AttributeProto::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        f: Some(value),
        r#type: Some(ATTRIBUTE_FLOAT),
        ..AttributeProto::default()
    }
}

/// ONNX `pads` (`[top, left, bottom, right]`) of a Burn padding, for the layer at `at`.
fn pads(padding: &PaddingConfig2d, at: &str) -> Result<[usize; 4], Error> {
    match padding {
        PaddingConfig2d::Valid => Ok([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Ok([*top, *left, *bottom, *right]),
        PaddingConfig2d::Same => Err(Error::Unsupported {
            layer: at.into(),
            what: "padding `Same`".into(),
        }),
    }
}

fn join(prefix: &str, name: &str) -> String {
    format!("{prefix}.{name}")
}

impl Builder {
    /// Adds `op` on `inputs` and returns the name of its output.
    fn node(
        &mut self,
        op: &str,
        at: &str,
        inputs: Vec<String>,
        attrs: Vec<AttributeProto>,
    ) -> String {
        self.count += 1;
        let output = format!("{at}/{op}_{}", self.count);
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name: Some(output.clone()),
            op_type: Some(op.into()),
            attribute: attrs,
        });
        output
    }

    /// Adds the initializer `name` of shape `dims` and returns its name.
    fn initializer(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(FLOAT),
            name: Some(name.clone()),
            raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        });
        name
    }

    fn tensor<const D: usize>(&mut self, name: String, t: Tensor<D>) -> String {
        let dims = t.dims();
        let data = t.into_data().convert::<f32>();
        let data = data.as_slice::<f32>().expect("converted to f32");
        self.initializer(name, &dims, data)
    }

    /// The graph of `seq` at `prefix` (its layers at `prefix.name`), from the value `x`.
    pub fn sequential(
        &mut self,
        seq: &Sequential,
        prefix: &str,
        x: String,
    ) -> Result<String, Error> {
        let mut x = x;
        for (name, layer) in seq.named() {
            x = self.layer(layer, &join(prefix, name), x)?;
        }
        Ok(x)
    }

    fn layer(&mut self, layer: &Layer, at: &str, x: String) -> Result<String, Error> {
        Ok(match layer {
            Layer::Conv(c) => self.conv(c, at, x)?,
            Layer::Linear(l) => self.linear(l, at, x),
            Layer::BatchNorm(bn) => self.batch_norm(bn, at, x),
            Layer::Relu(_) => self.node("Relu", at, vec![x], vec![]),
            Layer::Sigmoid(_) => self.node("Sigmoid", at, vec![x], vec![]),
            Layer::MaxPool(p) => self.max_pool(p, at, x)?,
            Layer::AvgPool(p) => self.avg_pool(p, at, x)?,
            Layer::GlobalAvgPool(p) => {
                if p.output_size != [1, 1] {
                    return Err(Error::Unsupported {
                        layer: at.into(),
                        what: format!("adaptive average pooling to {:?}", p.output_size),
                    });
                }
                self.node("GlobalAveragePool", at, vec![x], vec![])
            }
            Layer::Flatten(_) => self.node("Flatten", at, vec![x], vec![int("axis", 1)]),
            // Inference: dropout is the identity.
            Layer::Dropout(_) => x,
            Layer::Seq(s) => self.sequential(s, at, x)?,
            Layer::Inception(b) => self.inception(b, at, x)?,
            Layer::Residual(b) => self.residual(b, at, x)?,
            Layer::ResNeXt(b) => self.resnext(b, at, x)?,
            Layer::Dense(b) => self.dense(b, at, x)?,
        })
    }

    fn conv(&mut self, c: &Conv2d, at: &str, x: String) -> Result<String, Error> {
        let weight = c.weight.val();
        let [_, _, kh, kw] = weight.dims();
        let mut inputs = vec![x, self.tensor(join(at, "weight"), weight)];
        if let Some(b) = &c.bias {
            inputs.push(self.tensor(join(at, "bias"), b.val()));
        }
        let attrs = vec![
            ints("kernel_shape", &[kh, kw]),
            ints("strides", &c.stride),
            ints("pads", &pads(&c.padding, at)?),
            ints("dilations", &c.dilation),
            int("group", c.groups as i64),
        ];
        Ok(self.node("Conv", at, inputs, attrs))
    }

    /// `Gemm` with the weight in PyTorch's `[out, in]` layout (`transB`), as `nn.Linear` exports.
    fn linear(&mut self, l: &Linear, at: &str, x: String) -> String {
        let weight = l.weight.val().transpose();
        let mut inputs = vec![x, self.tensor(join(at, "weight"), weight)];
        if let Some(b) = &l.bias {
            inputs.push(self.tensor(join(at, "bias"), b.val()));
        }
        self.node("Gemm", at, inputs, vec![int("transB", 1)])
    }

    fn batch_norm(&mut self, bn: &AnyBatchNorm, at: &str, x: String) -> String {
        let (gamma, beta, mean, var, epsilon) = bn.parts();
        let inputs = vec![
            x,
            self.tensor(join(at, "weight"), gamma),
            self.tensor(join(at, "bias"), beta),
            self.tensor(join(at, "running_mean"), mean),
            self.tensor(join(at, "running_var"), var),
        ];
        let attrs = vec![float("epsilon", epsilon as f32)];
        self.node("BatchNormalization", at, inputs, attrs)
    }

    fn max_pool(&mut self, p: &MaxPool2d, at: &str, x: String) -> Result<String, Error> {
        let attrs = vec![
            ints("kernel_shape", &p.kernel_size),
            ints("strides", &p.stride),
            ints("pads", &pads(&p.padding, at)?),
            ints("dilations", &p.dilation),
            int("ceil_mode", p.ceil_mode as i64),
        ];
        Ok(self.node("MaxPool", at, vec![x], attrs))
    }

    fn avg_pool(&mut self, p: &AvgPool2d, at: &str, x: String) -> Result<String, Error> {
        let attrs = vec![
            ints("kernel_shape", &p.kernel_size),
            ints("strides", &p.stride),
            ints("pads", &pads(&p.padding, at)?),
            int("count_include_pad", p.count_include_pad as i64),
            int("ceil_mode", p.ceil_mode as i64),
        ];
        Ok(self.node("AveragePool", at, vec![x], attrs))
    }

    fn conv_unit(&mut self, unit: &ConvUnit, at: &str, x: String) -> Result<String, Error> {
        match unit {
            ConvUnit::Conv(c) => self.conv(c, at, x),
            ConvUnit::ConvBn(s) => self.sequential(s, at, x),
        }
    }

    fn inception(&mut self, b: &Inception, at: &str, x: String) -> Result<String, Error> {
        let branch = |me: &mut Self, unit: &ConvUnit, name: &str, x: String| {
            let at = join(at, name);
            let y = me.conv_unit(unit, &at, x)?;
            Ok::<_, Error>(me.node("Relu", &at, vec![y], vec![]))
        };
        let b1 = branch(self, &b.b1_1, "b1_1", x.clone())?;
        let b2 = branch(self, &b.b2_1, "b2_1", x.clone())?;
        let b2 = branch(self, &b.b2_2, "b2_2", b2)?;
        let b3 = branch(self, &b.b3_1, "b3_1", x.clone())?;
        let b3 = branch(self, &b.b3_2, "b3_2", b3)?;
        let pooled = self.max_pool(&b.b4_1, &join(at, "b4_1"), x)?;
        let b4 = branch(self, &b.b4_2, "b4_2", pooled)?;
        Ok(self.node("Concat", at, vec![b1, b2, b3, b4], vec![int("axis", 1)]))
    }

    fn residual(&mut self, b: &Residual, at: &str, x: String) -> Result<String, Error> {
        let y = self.conv(&b.conv1, &join(at, "conv1"), x.clone())?;
        let y = self.batch_norm(&b.bn1, &join(at, "bn1"), y);
        let y = self.node("Relu", at, vec![y], vec![]);
        let y = self.conv(&b.conv2, &join(at, "conv2"), y)?;
        let y = self.batch_norm(&b.bn2, &join(at, "bn2"), y);
        let shortcut = match &b.conv3 {
            Some(c) => self.conv(c, &join(at, "conv3"), x)?,
            None => x,
        };
        let sum = self.node("Add", at, vec![y, shortcut], vec![]);
        Ok(self.node("Relu", at, vec![sum], vec![]))
    }

    fn resnext(&mut self, b: &ResNeXtBlock, at: &str, x: String) -> Result<String, Error> {
        let mut y = x.clone();
        for (i, (conv, bn)) in [(&b.conv1, &b.bn1), (&b.conv2, &b.bn2), (&b.conv3, &b.bn3)]
            .into_iter()
            .enumerate()
        {
            y = self.conv(conv, &join(at, &format!("conv{}", i + 1)), y)?;
            y = self.batch_norm(bn, &join(at, &format!("bn{}", i + 1)), y);
            if i < 2 {
                y = self.node("Relu", at, vec![y], vec![]);
            }
        }
        let shortcut = match (&b.conv4, &b.bn4) {
            (Some(c), bn) => {
                let s = self.conv(c, &join(at, "conv4"), x)?;
                match bn {
                    Some(bn) => self.batch_norm(bn, &join(at, "bn4"), s),
                    None => s,
                }
            }
            (None, _) => x,
        };
        let sum = self.node("Add", at, vec![y, shortcut], vec![]);
        Ok(self.node("Relu", at, vec![sum], vec![]))
    }

    fn dense(&mut self, b: &DenseBlock, at: &str, x: String) -> Result<String, Error> {
        let net = join(at, "net");
        let mut x = x;
        for (name, unit) in b.net.named() {
            let y = self.layer(unit, &join(&net, name), x.clone())?;
            x = self.node("Concat", at, vec![x, y], vec![int("axis", 1)]);
        }
        Ok(x)
    }
}
