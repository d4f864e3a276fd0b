//! The plan: the checked tree lowered to an ordered list of steps over values, and the
//! programs that run them with their working memory laid out at compile time.
//!
//! Every tensor flowing through the network is a [`Value`] (value 0 is the input); a
//! [`Step`] is a layer, the `add` of a residual or the `concat` of branches. Blocks are
//! inlined: `repeat` is unrolled, groups vanish, an identity shortcut or branch is its input
//! value read once more. Every generator renders this one list.
//!
//! Two programs are derived from it, each over buffers laid out in one arena:
//!
//! - **inference** ([`Plan::forward`]): a value's buffer is reused once the value is dead
//!   (liveness over the schedule), an in-place layer (activation, flatten) overwrites its
//!   input only when nothing reads that input later (so a skip connection's input is never
//!   clobbered), and a residual adds into a term that dies there;
//! - **backward** ([`Plan::backward`], in reverse order): the gradient of a value that fans
//!   out is the sum of its consumers' contributions: the first one writes it, the others
//!   accumulate (through a temporary buffer for layers, whose backward writes). In-place
//!   layers turn ∂L/∂y into ∂L/∂x in its own buffer.
//!
//! Buffers are placed by greedy interval colouring (largest first, lowest offset free over
//! the buffer's lifetime), so the arena size is the schedule's true peak up to fragmentation;
//! the memory figures of the summary are these arenas.

use crate::ir::{self, Node, Stack};
use crate::shape::Shape;

pub type Value = usize;

/// The network's input.
pub const INPUT: Value = 0;

/// One step of the schedule.
pub enum Step<'a> {
    /// `y = layer(x)`; `index` counts the layers in order (their records are numbered by it).
    Layer {
        layer: &'a ir::Layer,
        index: usize,
        x: Value,
        y: Value,
    },
    /// `y = a + b`: a residual's join.
    Add {
        path: &'a str,
        a: Value,
        b: Value,
        y: Value,
    },
    /// `y = [parts…]` along channels or features: a concat's join.
    Concat {
        path: &'a str,
        parts: Vec<Value>,
        y: Value,
    },
}

/// Where a vector lives while a program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The caller's read-only vector: the input in inference, ∂L/∂output in backward.
    Given,
    /// A buffer of the arena.
    Buf(usize),
    /// The caller's optional ∂L/∂input (backward only).
    Dx,
}

/// A buffer of a program's arena.
#[derive(Clone, Copy, Debug)]
pub struct Buffer {
    pub len: u64,
    pub offset: u64,
    start: usize,
    end: usize,
}

/// `dst[dst_at..][..len] (+)= src[src_at..][..len]`, between vectors of `src_len` and `dst_len`.
#[derive(Clone, Copy, Debug)]
pub struct Move {
    pub add: bool,
    pub src: Loc,
    pub src_len: u64,
    pub src_at: u64,
    pub dst: Loc,
    pub dst_len: u64,
    pub dst_at: u64,
    pub len: u64,
}

impl Move {
    /// `dst (+)= src`, two vectors of `n` values.
    pub fn whole(add: bool, src: Loc, dst: Loc, n: u64) -> Move {
        Move {
            add,
            src,
            src_len: n,
            src_at: 0,
            dst,
            dst_len: n,
            dst_at: 0,
            len: n,
        }
    }
}

/// One instruction of the inference program.
pub enum Fwd<'a> {
    /// `layer.forward(x, y)` into buffer `y`; `step` is its index in the schedule.
    Layer {
        layer: &'a ir::Layer,
        step: usize,
        x: Loc,
        y: usize,
    },
    /// `layer.forward_in_place(buf)`.
    InPlace {
        layer: &'a ir::Layer,
        step: usize,
        buf: usize,
    },
    Move(Move),
}

/// Where a layer's backward writes ∂L/∂x.
#[derive(Clone, Copy, Debug)]
pub enum DxTo {
    Buf(usize),
    /// The caller's optional ∂L/∂input, written directly.
    Given,
    /// The caller's optional ∂L/∂input, which already holds a contribution: through `temp`.
    AddToGiven {
        temp: usize,
    },
}

/// One instruction of the backward program.
pub enum Bwd<'a> {
    Layer {
        layer: &'a ir::Layer,
        index: usize,
        x: Value,
        y: Value,
        dy: Loc,
        dx: DxTo,
    },
    /// `layer.backward_in_place(x, y, buf)`: ∂L/∂y in, ∂L/∂x out.
    InPlace {
        layer: &'a ir::Layer,
        x: Value,
        y: Value,
        buf: usize,
    },
    Move(Move),
}

/// A program's buffers and their arena.
pub struct Arena {
    pub buffers: Vec<Buffer>,
    /// Values the arena holds.
    pub len: u64,
}

pub struct Plan<'a> {
    /// The shape of every value; value 0 is the input.
    pub values: Vec<Shape>,
    pub steps: Vec<Step<'a>>,
    pub output: Value,
    pub forward: Vec<Fwd<'a>>,
    pub forward_arena: Arena,
    /// Where inference leaves the output.
    pub forward_output: Loc,
    pub backward: Vec<Bwd<'a>>,
    pub backward_arena: Arena,
}

impl<'a> Plan<'a> {
    pub fn new(net: &'a ir::Network) -> Plan<'a> {
        let mut lowering = Lowering {
            values: vec![net.input],
            steps: Vec::new(),
            layers: 0,
        };
        let output = lowering.stack(&net.stack, INPUT);
        let Lowering { values, steps, .. } = lowering;
        let (forward, forward_arena, forward_output) = inference(&values, &steps, output);
        let (backward, backward_arena) = backward(&values, &steps, output);
        Plan {
            values,
            steps,
            output,
            forward,
            forward_arena,
            forward_output,
            backward,
            backward_arena,
        }
    }

    /// The layers in schedule order (which is PyTorch's registration order: a residual's
    /// body before its shortcut, branches in order).
    pub fn layers(&self) -> impl Iterator<Item = (usize, &'a ir::Layer)> + '_ {
        self.steps.iter().filter_map(|step| match step {
            Step::Layer { layer, index, .. } => Some((*index, *layer)),
            _ => None,
        })
    }

    pub fn len(&self, value: Value) -> u64 {
        len(&self.values, value)
    }
}

/// Builds the step list from the tree.
struct Lowering<'a> {
    values: Vec<Shape>,
    steps: Vec<Step<'a>>,
    layers: usize,
}

impl<'a> Lowering<'a> {
    fn value(&mut self, shape: Shape) -> Value {
        self.values.push(shape);
        self.values.len() - 1
    }

    /// Lowers a stack fed by `x`; returns its output value.
    fn stack(&mut self, stack: &'a Stack, x: Value) -> Value {
        stack.nodes.iter().fold(x, |x, node| self.node(node, x))
    }

    fn node(&mut self, node: &'a Node, x: Value) -> Value {
        match node {
            Node::Layer(layer) => {
                let y = self.value(layer.output);
                self.steps.push(Step::Layer {
                    layer,
                    index: self.layers,
                    x,
                    y,
                });
                self.layers += 1;
                y
            }
            Node::Group(stack) => self.stack(stack, x),
            Node::Repeat { copies } => copies.iter().fold(x, |x, copy| self.stack(copy, x)),
            Node::Residual {
                path,
                body,
                shortcut,
                output,
            } => {
                let a = self.stack(body, x);
                let b = self.stack(shortcut, x);
                let y = self.value(*output);
                self.steps.push(Step::Add { path, a, b, y });
                y
            }
            Node::Concat {
                path,
                branches,
                output,
            } => {
                let parts = branches.iter().map(|b| self.stack(b, x)).collect();
                let y = self.value(*output);
                self.steps.push(Step::Concat { path, parts, y });
                y
            }
        }
    }
}

fn len(values: &[Shape], value: Value) -> u64 {
    values[value].len().unwrap_or(u64::MAX)
}

/// Buffers with lifetimes (in instruction steps), placed in one arena at the end.
#[derive(Default)]
struct Buffers {
    buffers: Vec<Buffer>,
}

impl Buffers {
    fn new_buffer(&mut self, len: u64, at: usize) -> usize {
        self.buffers.push(Buffer {
            len,
            offset: 0,
            start: at,
            end: at,
        });
        self.buffers.len() - 1
    }

    /// The buffer is used at `at`: it lives at least until then.
    fn touch(&mut self, loc: Loc, at: usize) {
        if let Loc::Buf(b) = loc {
            self.buffers[b].end = self.buffers[b].end.max(at);
        }
    }

    /// Greedy placement: the largest buffers first, each at the lowest offset that overlaps
    /// no placed buffer alive at the same time.
    fn place(mut self) -> Arena {
        let mut order: Vec<usize> = (0..self.buffers.len()).collect();
        order.sort_by_key(|&b| {
            (
                std::cmp::Reverse(self.buffers[b].len),
                self.buffers[b].start,
            )
        });
        let mut placed: Vec<usize> = Vec::new();
        let mut total = 0u64;
        for b in order {
            let Buffer {
                len, start, end, ..
            } = self.buffers[b];
            let mut busy: Vec<(u64, u64)> = placed
                .iter()
                .map(|&p| self.buffers[p])
                .filter(|p| p.start <= end && start <= p.end)
                .map(|p| (p.offset, p.offset.saturating_add(p.len)))
                .collect();
            busy.sort();
            let mut offset = 0u64;
            for (lo, hi) in busy {
                if offset.saturating_add(len) <= lo {
                    break;
                }
                offset = offset.max(hi);
            }
            self.buffers[b].offset = offset;
            total = total.max(offset.saturating_add(len));
            placed.push(b);
        }
        Arena {
            buffers: self.buffers,
            len: total,
        }
    }
}

/// The inference program: see the module docs.
fn inference<'a>(
    values: &[Shape],
    steps: &[Step<'a>],
    output: Value,
) -> (Vec<Fwd<'a>>, Arena, Loc) {
    // The last step reading each value; the output is read after the last step.
    let mut last_use = vec![0usize; values.len()];
    for (i, step) in steps.iter().enumerate() {
        for x in reads(step) {
            last_use[x] = i;
        }
    }
    last_use[output] = steps.len();
    let mut bufs = Buffers::default();
    let mut loc = vec![Loc::Given; values.len()];
    let mut program = Vec::new();
    // A value can be overwritten at step i when step i is its last reader and it is ours.
    let dies =
        |v: Value, i: usize, loc: &[Loc]| v != INPUT && last_use[v] == i && loc[v] != Loc::Given;
    for (i, step) in steps.iter().enumerate() {
        for x in reads(step) {
            bufs.touch(loc[x], i);
        }
        match *step {
            Step::Layer { layer, x, y, .. } => {
                if layer.op.in_place && dies(x, i, &loc) {
                    let Loc::Buf(buf) = loc[x] else { continue };
                    loc[y] = loc[x];
                    program.push(Fwd::InPlace {
                        layer,
                        step: i,
                        buf,
                    });
                } else {
                    let buf = bufs.new_buffer(len(values, y), i);
                    loc[y] = Loc::Buf(buf);
                    program.push(Fwd::Layer {
                        layer,
                        step: i,
                        x: loc[x],
                        y: buf,
                    });
                }
            }
            Step::Add { a, b, y, .. } => {
                let n = len(values, y);
                let whole =
                    |src: Value, dst: Loc, add: bool| Fwd::Move(Move::whole(add, loc[src], dst, n));
                if a != b && dies(a, i, &loc) {
                    program.push(whole(b, loc[a], true));
                    loc[y] = loc[a];
                } else if a != b && dies(b, i, &loc) {
                    program.push(whole(a, loc[b], true));
                    loc[y] = loc[b];
                } else {
                    let buf = Loc::Buf(bufs.new_buffer(n, i));
                    program.push(whole(a, buf, false));
                    program.push(whole(b, buf, true));
                    loc[y] = buf;
                }
            }
            Step::Concat { ref parts, y, .. } => {
                let n = len(values, y);
                let buf = Loc::Buf(bufs.new_buffer(n, i));
                let mut at = 0;
                for &part in parts {
                    let m = len(values, part);
                    program.push(Fwd::Move(Move {
                        add: false,
                        src: loc[part],
                        src_len: m,
                        src_at: 0,
                        dst: buf,
                        dst_len: n,
                        dst_at: at,
                        len: m,
                    }));
                    at += m;
                }
                loc[y] = buf;
            }
        }
    }
    bufs.touch(loc[output], steps.len());
    (program, bufs.place(), loc[output])
}

/// The values a step reads.
pub fn reads(step: &Step) -> Vec<Value> {
    match step {
        Step::Layer { x, .. } => vec![*x],
        Step::Add { a, b, .. } => vec![*a, *b],
        Step::Concat { parts, .. } => parts.clone(),
    }
}

/// The backward program: see the module docs.
fn backward<'a>(values: &[Shape], steps: &[Step<'a>], output: Value) -> (Vec<Bwd<'a>>, Arena) {
    let mut bufs = Buffers::default();
    // ∂L/∂value once some contribution has arrived; the output's is the caller's.
    let mut grad: Vec<Option<Loc>> = vec![None; values.len()];
    grad[output] = Some(Loc::Given);
    let mut program = Vec::new();
    let n = |v: Value| len(values, v);
    for (t, step) in steps.iter().rev().enumerate() {
        match *step {
            Step::Layer { layer, index, x, y } => {
                let Some(dy) = grad[y] else { continue };
                bufs.touch(dy, t);
                let dx = if x == INPUT {
                    if grad[INPUT].is_none() {
                        grad[INPUT] = Some(Loc::Dx);
                        DxTo::Given
                    } else {
                        DxTo::AddToGiven {
                            temp: bufs.new_buffer(n(x), t),
                        }
                    }
                } else {
                    match grad[x] {
                        None => match dy {
                            Loc::Buf(buf) if layer.op.in_place => {
                                program.push(Bwd::InPlace { layer, x, y, buf });
                                grad[x] = Some(dy);
                                continue;
                            }
                            _ => {
                                let buf = bufs.new_buffer(n(x), t);
                                grad[x] = Some(Loc::Buf(buf));
                                DxTo::Buf(buf)
                            }
                        },
                        Some(sum) => {
                            let temp = bufs.new_buffer(n(x), t);
                            program.push(Bwd::Layer {
                                layer,
                                index,
                                x,
                                y,
                                dy,
                                dx: DxTo::Buf(temp),
                            });
                            bufs.touch(sum, t);
                            program.push(Bwd::Move(Move::whole(true, Loc::Buf(temp), sum, n(x))));
                            continue;
                        }
                    }
                };
                program.push(Bwd::Layer {
                    layer,
                    index,
                    x,
                    y,
                    dy,
                    dx,
                });
            }
            Step::Add { a, b, y, .. } => {
                let Some(dy) = grad[y] else { continue };
                bufs.touch(dy, t);
                for (k, v) in [a, b].into_iter().enumerate() {
                    let whole = (0, n(y));
                    contribute(
                        &mut program,
                        &mut bufs,
                        &mut grad,
                        n,
                        v,
                        dy,
                        n(y),
                        whole,
                        k == 1,
                        t,
                    );
                }
            }
            Step::Concat { ref parts, y, .. } => {
                let Some(dy) = grad[y] else { continue };
                bufs.touch(dy, t);
                let mut at = 0;
                for &part in parts {
                    let range = (at, n(part));
                    contribute(
                        &mut program,
                        &mut bufs,
                        &mut grad,
                        n,
                        part,
                        dy,
                        n(y),
                        range,
                        false,
                        t,
                    );
                    at += n(part);
                }
            }
        }
    }
    if output == INPUT {
        // A network without layers: ∂L/∂input is ∂L/∂output.
        program.push(Bwd::Move(Move::whole(false, Loc::Given, Loc::Dx, n(INPUT))));
    }
    (program, bufs.place())
}

/// Adds `src[at..][..len]` (a join's output gradient, of `src_len` values) to ∂L/∂v: written
/// if it is the first contribution, accumulated otherwise; when `alias` allows (the join's
/// last reader of a whole gradient buffer), the buffer simply becomes ∂L/∂v.
#[allow(clippy::too_many_arguments)]
fn contribute<'a>(
    program: &mut Vec<Bwd<'a>>,
    bufs: &mut Buffers,
    grad: &mut [Option<Loc>],
    n: impl Fn(Value) -> u64,
    v: Value,
    src: Loc,
    src_len: u64,
    (at, len): (u64, u64),
    alias: bool,
    t: usize,
) {
    let target = if v == INPUT {
        let first = grad[INPUT].is_none();
        grad[INPUT] = Some(Loc::Dx);
        (Loc::Dx, !first)
    } else {
        match grad[v] {
            None if alias && matches!(src, Loc::Buf(_)) && at == 0 && len == src_len => {
                grad[v] = Some(src);
                return;
            }
            None => {
                let buf = Loc::Buf(bufs.new_buffer(n(v), t));
                grad[v] = Some(buf);
                (buf, false)
            }
            Some(sum) => {
                bufs.touch(sum, t);
                (sum, true)
            }
        }
    };
    program.push(Bwd::Move(Move {
        add: target.1,
        src,
        src_len,
        src_at: at,
        dst: target.0,
        dst_len: n(v),
        dst_at: 0,
        len,
    }));
}
