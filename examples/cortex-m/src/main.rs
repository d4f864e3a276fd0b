//! The firmware's `main`: runs the experiments of the library and prints their figures as
//! `key: value` lines (`check.sh` parses them). Built for the Cortex-M4F it runs under QEMU
//! with semihosting output and measures itself (flash, RAM by stack painting, instructions
//! from SysTick under `-icount shift=0`); built for the host it prints the same accuracy and
//! hash lines, the reference the firmware's must equal.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::fmt::{self, Write};
use stacknet_cortex_m_example::{
    lenet, lenet_int8, mlp, Clock, Eval, DIGIT_BYTES, TEST, TEST_FIRST, TRAIN,
};

#[cfg(target_os = "none")]
mod device;

/// What only a board can measure; the host has none of it.
pub trait Board: Clock {
    /// Paints the free stack so that [`stack_peak`](Board::stack_peak) finds its high-water mark.
    fn paint_stack(&self) {}
    /// Deepest stack use since the last paint, in bytes from the top of the stack.
    fn stack_peak(&self) -> Option<usize> {
        None
    }
    /// Section sizes of the running image.
    fn footprint(&self) -> Option<Footprint> {
        None
    }
}

/// Section sizes in bytes, from the linker's symbols.
pub struct Footprint {
    pub vectors: usize,
    pub text: usize,
    pub rodata: usize,
    pub data: usize,
    pub bss: usize,
}

/// `x / y` with two decimals, in integers (the firmware has no float formatting).
struct Ratio(u64, u64);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = (self.0 * 100 + self.1 / 2).checked_div(self.1).unwrap_or(0);
        write!(f, "{}.{:02}", h / 100, h % 100)
    }
}

fn accuracy(out: &mut impl Write, key: &str, e: &Eval) -> fmt::Result {
    let bp = e.basis_points();
    writeln!(out, "{key}_right: {}/{}", e.right, e.total)?;
    writeln!(out, "{key}_accuracy: {}.{:02}", bp / 100, bp % 100)?;
    writeln!(out, "{key}_hash: {:#010x}", e.hash)
}

/// Every experiment, its figures printed as it goes.
pub fn run(out: &mut impl Write, board: &impl Board) -> fmt::Result {
    writeln!(
        out,
        "digits: {TEST} test digits from index {TEST_FIRST}, {TRAIN} training digits"
    )?;

    board.paint_stack();
    let e = lenet::evaluate(board);
    accuracy(out, "lenet_f32", &e)?;
    let ram_static = board.footprint().map_or(0, |f| f.data + f.bss);
    if let Some(stack) = board.stack_peak() {
        let per = e.instructions / e.total as u64;
        writeln!(out, "lenet_f32_instructions_per_inference: {per}")?;
        writeln!(
            out,
            "lenet_f32_instructions_per_mac: {}",
            Ratio(per, lenet::MACS as u64)
        )?;
        writeln!(out, "lenet_f32_stack_bytes: {stack}")?;
        writeln!(out, "lenet_f32_ram_bytes: {}", ram_static + stack)?;
    }

    board.paint_stack();
    let e = lenet_int8::evaluate(board);
    accuracy(out, "lenet_int8", &e)?;
    if let Some(stack) = board.stack_peak() {
        let per = e.instructions / e.total as u64;
        writeln!(out, "lenet_int8_instructions_per_inference: {per}")?;
        writeln!(
            out,
            "lenet_int8_instructions_per_mac: {}",
            Ratio(per, lenet::MACS as u64)
        )?;
        writeln!(out, "lenet_int8_stack_bytes: {stack}")?;
        writeln!(out, "lenet_int8_ram_bytes: {}", ram_static + stack)?;
    }

    board.paint_stack();
    let mut first = None;
    let mut last = None;
    let steps = mlp::train(board, |ep| {
        first.get_or_insert(ep.eval);
        last = Some(ep.eval);
        let bp = ep.eval.basis_points();
        // Printing inside the closure keeps the report streaming during a long run.
        let _ = writeln!(
            out,
            "mlp_epoch_{}: loss {}.{:06} accuracy {}.{:02}",
            ep.epoch,
            ep.loss_micro / 1_000_000,
            ep.loss_micro % 1_000_000,
            bp / 100,
            bp % 100
        );
    });
    if let (Some(first), Some(last)) = (first, last) {
        accuracy(out, "mlp_before", &first)?;
        accuracy(out, "mlp_after", &last)?;
    }
    writeln!(
        out,
        "mlp_training_state_bytes: {}",
        mlp::TRAINING_STATE_BYTES
    )?;
    if let Some(stack) = board.stack_peak() {
        let samples = (mlp::EPOCHS * TRAIN) as u64;
        writeln!(out, "mlp_instructions_per_sample: {}", steps / samples)?;
        writeln!(out, "mlp_stack_bytes: {stack}")?;
        writeln!(out, "mlp_ram_bytes: {}", ram_static + stack)?;
    }

    if let Some(f) = board.footprint() {
        let flash = f.vectors + f.text + f.rodata + f.data;
        let weights = 4 * lenet::PARAMS;
        writeln!(out, "flash_text_bytes: {}", f.text)?;
        writeln!(out, "flash_rodata_bytes: {}", f.rodata)?;
        writeln!(out, "flash_bytes: {flash}")?;
        writeln!(out, "flash_digit_bytes: {DIGIT_BYTES}")?;
        writeln!(out, "flash_lenet_f32_weight_bytes: {weights}")?;
        writeln!(
            out,
            "flash_lenet_int8_model_bytes: {}",
            lenet::LeNet5Int8::BYTES
        )?;
        // What a product without the bundled test data would flash.
        writeln!(out, "flash_without_digits_bytes: {}", flash - DIGIT_BYTES)?;
        writeln!(out, "ram_data_bytes: {}", f.data)?;
        writeln!(out, "ram_bss_bytes: {}", f.bss)?;
    }
    writeln!(out, "done")
}

#[cfg(not(target_os = "none"))]
impl Board for stacknet_cortex_m_example::NoClock {}

#[cfg(not(target_os = "none"))]
fn main() {
    struct Stdout;
    impl Write for Stdout {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            print!("{s}");
            Ok(())
        }
    }
    let board = stacknet_cortex_m_example::NoClock;
    host_check();
    run(&mut Stdout, &board).expect("stdout");
}

/// The digits `build.rs` extracted, checked against stacknet's own MNIST loader and its
/// input scaling: the firmware classifies what the `lenet` example would.
#[cfg(not(target_os = "none"))]
fn host_check() {
    use stacknet::data::Mnist;
    use stacknet_cortex_m_example::{test_image, TEST_LABELS};
    let mnist = Mnist::load_bundled(Mnist::bundled_dir()).expect("bundled MNIST");
    let inputs = mnist.test.inputs();
    let labels = mnist.test.targets();
    for i in 0..TEST {
        let x: &stacknet::nalgebra::SVector<f32, 784> = &inputs[i];
        assert_eq!(
            usize::from(TEST_LABELS[i]),
            labels[i],
            "label of test digit {i}"
        );
        assert_eq!(lenet::input(i), *x, "pixels of test digit {i}");
        let _ = test_image(i);
    }
    println!("host_check: {TEST} digits and labels equal stacknet::data's");
}
