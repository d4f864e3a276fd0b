//! `Network::onnx`: the plan as ONNX nodes. Each layer describes itself through its runtime
//! type's `ToOnnx` at its place in the plan (its path and the values it reads and writes);
//! a residual's join is an `Add`, a concat's a `Concat` along channels or features.

use super::{shape_tokens, Cx};
use crate::layers::int;
use crate::plan::Step;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

impl Cx<'_> {
    pub(super) fn onnx(&self) -> TokenStream {
        let rt = &self.rt;
        let value = |v: usize| {
            let v = int(v as u64);
            quote!(#rt::onnx::Name::Value(#v))
        };
        let shape = |v: usize| shape_tokens(rt, self.plan.values[v]);
        let steps = self.plan.steps.iter().map(|step| match step {
            Step::Layer { layer, x, y, .. } => {
                let (field, path) = (&layer.field, &layer.path);
                let (input, output) = (value(*x), value(*y));
                let (input_shape, output_shape) = (shape(*x), shape(*y));
                quote! {
                    #rt::onnx::ToOnnx::<T>::onnx(&self.#field, graph, &#rt::onnx::Site {
                        layer: #path,
                        input: #input,
                        output: #output,
                        input_shape: #input_shape,
                        output_shape: #output_shape,
                    });
                }
            }
            Step::Add { a, b, y, .. } => {
                let (a, b, y) = (value(*a), value(*b), value(*y));
                quote!(graph.node("Add", &[#a, #b], &[#y], &[]);)
            }
            Step::Concat { parts, y, .. } => {
                // Channels of an image, features of a vector or of a sequence's steps.
                let axis: i64 = match self.plan.values[*y] {
                    Shape::Sequence { .. } => 2,
                    _ => 1,
                };
                let (parts, y) = (parts.iter().map(|&p| value(p)), value(*y));
                quote! {
                    graph.node("Concat", &[#(#parts),*], &[#y], &[#rt::onnx::Attr::Int("axis", #axis)]);
                }
            }
        });
        let tokens = matches!(self.net.input, Shape::Tokens { .. });
        let (input_shape, output, output_shape) = (
            shape(0),
            int(self.plan.output as u64),
            shape(self.plan.output),
        );
        quote! {
            fn onnx(&self, graph: &mut dyn #rt::onnx::Graph<T>) {
                graph.input(#input_shape, #tokens);
                #(#steps)*
                graph.output(#output, #output_shape);
            }
        }
    }
}
