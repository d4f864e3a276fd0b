//! No heap in the hot path: a counting global allocator shows zero allocations in forward,
//! the training forward, backward and every optimiser step of generated networks.

use stacknet::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts this thread's allocations only, so tests running in parallel do not interfere.
struct Counting;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + bytes as u64));
}

// SAFETY: forwards every call unchanged to the system allocator; counting is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count(n);
        System.realloc(p, l, n)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = COUNT.with(Cell::get);
    f();
    COUNT.with(Cell::get) - before
}

/// Bytes allocated by `f` on this thread (a reallocation counts its new size).
fn allocated_bytes(f: impl FnOnce()) -> u64 {
    let before = BYTES.with(Cell::get);
    f();
    BYTES.with(Cell::get) - before
}

network! {
    pub struct Mlp(input: [1, 28, 28]) {
        flatten,
        hidden: dense(128), relu,
        out: dense(10),
    }
}

network! {
    #[int8]
    pub struct LeNet5(input: [1, 28, 28]) {
        conv1: conv2d(6, kernel = 5, padding = 2),
        relu,
        max_pool2d(2),
        conv2: conv2d(16, kernel = 5),
        relu,
        max_pool2d(2),
        flatten,
        fc1: dense(120), relu,
        fc2: dense(84), relu,
        fc3: dense(10),
    }
}

network! {
    pub struct Regularised(input: [1, 12, 12]) {
        conv2d(4, kernel = 3), batch_norm, relu,
        avg_pool2d(2),
        flatten,
        dense(16), dropout(0.25), tanh,
        dense(3),
    }
}

network! {
    /// Residual, concat and repeat blocks (`Regularised` covers batch norm on the batch path).
    pub struct Blocks(input: [2, 8, 8]) {
        conv1: conv2d(4, kernel = 3, padding = 1), relu,
        res: residual(shortcut = { conv2d(8, kernel = 1, stride = 2) }) {
            conv2d(8, kernel = 3, stride = 2, padding = 1), relu,
            conv2d(8, kernel = 3, padding = 1),
        },
        relu,
        cat: concat { conv2d(4, kernel = 1), {} },
        global_avg_pool2d,
        stack: repeat(2) { dense(12), tanh },
        fc: dense(3),
    }
}

network! {
    /// Recurrent layers: a bidirectional GRU over every step, then an LSTM's final state.
    pub struct Recurrent(input: [6, 3]) {
        gru: gru(4, sequences = true, bidirectional = true),
        lstm: lstm(5),
        fc: dense(2),
    }
}

/// Runs every hot-path call of `N` once to warm up, then asserts none of them allocates.
fn assert_heap_free<N: Network<f32>, O: Optimizer<N>>(net: &mut N, opt: &mut O, label: &str)
where
    N::Output: Flat<f32>,
{
    let x = N::Input::zeros();
    let mut rec = Box::new(N::Record::zeros());
    let mut grad = Box::new(N::Grad::zeros());
    let mut dy = N::Output::zeros();
    dy.flat_mut()[0] = 1.0;
    let mut dx = N::Input::zeros();
    for round in 0..2 {
        let inference = allocations(|| {
            std::hint::black_box(net.forward(&x));
        });
        let training = allocations(|| net.forward_train(&x, &mut rec));
        let backward = allocations(|| net.backward(&rec, &dy, &mut grad, Some(&mut dx)));
        let step = allocations(|| opt.step(net, &grad));
        if round == 1 {
            assert_eq!(inference, 0, "{label}: forward allocated");
            assert_eq!(training, 0, "{label}: training forward allocated");
            assert_eq!(backward, 0, "{label}: backward allocated");
            assert_eq!(step, 0, "{label}: optimiser step allocated");
        }
    }
}

/// Runs `f` on a thread with a large stack (the f64/LeNet buffers live on it).
fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn mlp_hot_path_is_heap_free() {
    big_stack(|| {
        let mut net = Mlp::<f32>::new(&mut SplitMix64::new(1));
        assert_heap_free(&mut net, &mut Sgd::new(0.1), "mlp/sgd");
    });
}

#[test]
fn lenet_hot_path_is_heap_free_with_every_optimiser() {
    big_stack(|| {
        let mut net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(2)));
        assert_heap_free(&mut *net, &mut Sgd::new(0.01), "lenet/sgd");
        assert_heap_free(
            &mut *net,
            &mut *Box::new(SgdMomentum::new(0.01, 0.9)),
            "lenet/momentum",
        );
        assert_heap_free(
            &mut *net,
            &mut *Box::new(Adagrad::new(0.01)),
            "lenet/adagrad",
        );
        assert_heap_free(
            &mut *net,
            &mut *Box::new(RmsProp::new(0.01)),
            "lenet/rmsprop",
        );
        assert_heap_free(
            &mut *net,
            &mut *Box::new(Adadelta::new(1.0)),
            "lenet/adadelta",
        );
        assert_heap_free(&mut *net, &mut *Box::new(Adam::new(1e-3)), "lenet/adam");
        assert_heap_free(&mut *net, &mut *Box::new(AdamW::new(1e-3)), "lenet/adamw");
    });
}

#[test]
fn int8_inference_and_its_byte_form_are_heap_free() {
    big_stack(|| {
        let net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(5)));
        let xs: Vec<SVector<f32, 784>> = (0..4)
            .map(|i| SVector::from_fn(|j, _| ((i * 31 + j * 7) % 255) as f32 / 255.0))
            .collect();
        let q = Box::new(net.quantize(&xs).unwrap());
        let x = q.quantize_input(&xs[0]);
        let mut bytes = vec![0u8; LeNet5Int8::BYTES];
        let n = allocations(|| {
            std::hint::black_box(q.forward(std::hint::black_box(&x)));
            std::hint::black_box(q.predict(&xs[1]));
            std::hint::black_box(q.infer(&xs[2]));
            q.to_bytes(&mut bytes).unwrap();
            std::hint::black_box(LeNet5Int8::try_from_bytes(&bytes).is_ok());
        });
        assert_eq!(n, 0, "int8 inference and the byte form allocate");
        // Quantising the network itself (calibration) allocates nothing either.
        let n = allocations(|| {
            std::hint::black_box(net.quantize(&xs[..2]).is_ok());
        });
        assert_eq!(n, 0, "quantize allocates");
    });
}

#[test]
fn block_network_hot_paths_are_heap_free() {
    big_stack(|| {
        let mut net = Box::new(Blocks::<f32>::new(&mut SplitMix64::new(5)));
        assert_heap_free(&mut *net, &mut *Box::new(Adam::new(1e-3)), "blocks/adam");
        let mut batch = Box::new(BatchTrainer::<Blocks, 4>::new());
        let xs: [SVector<f32, 128>; 4] =
            core::array::from_fn(|i| SVector::from_fn(|j, _| ((i + j) % 5) as f32 / 5.0));
        let ys = [0usize, 1, 2, 0];
        let mut opt = Box::new(SgdMomentum::new(0.01, 0.9));
        batch
            .step(&mut *net, &mut *opt, &SoftmaxCrossEntropy, &xs, &ys)
            .unwrap();
        let n = allocations(|| {
            batch
                .step(&mut *net, &mut *opt, &SoftmaxCrossEntropy, &xs, &ys)
                .unwrap();
        });
        assert_eq!(n, 0, "BatchTrainer::step allocated on a block network");
    });
}

#[test]
fn recurrent_hot_paths_are_heap_free() {
    big_stack(|| {
        let mut net = Box::new(Recurrent::<f32>::new(&mut SplitMix64::new(6)));
        assert_heap_free(&mut *net, &mut *Box::new(Adam::new(1e-3)), "recurrent/adam");
        // The carried-state path too.
        let x = SVector::<f32, 18>::from_fn(|i, _| i as f32 / 18.0);
        let mut state = RecurrentState::zeros();
        let mut rec = Box::new(<Recurrent<f32> as Network<f32>>::Record::zeros());
        for round in 0..2 {
            let inference = allocations(|| {
                std::hint::black_box(net.forward_from(&x, &mut state));
            });
            let training = allocations(|| {
                std::hint::black_box(net.forward_train_from(&x, &mut state, &mut rec));
            });
            if round == 1 {
                assert_eq!(inference, 0, "forward_from allocated");
                assert_eq!(training, 0, "forward_train_from allocated");
            }
        }
    });
}

#[test]
fn trainer_steps_are_heap_free() {
    big_stack(|| {
        let mut net = Box::new(LeNet5::<f32>::new(&mut SplitMix64::new(3)));
        let mut trainer = Box::new(Trainer::new());
        let mut opt = Sgd::new(0.01);
        let xs = vec![SVector::<f32, 784>::repeat(0.5); 4];
        let ys = [1usize, 2, 3, 4];
        trainer
            .step(
                &mut *net,
                &mut opt,
                &SoftmaxCrossEntropy,
                xs.iter().zip(&ys),
            )
            .unwrap();
        let n = allocations(|| {
            trainer
                .step(
                    &mut *net,
                    &mut opt,
                    &SoftmaxCrossEntropy,
                    xs.iter().zip(&ys),
                )
                .unwrap();
        });
        assert_eq!(n, 0, "Trainer::step allocated");

        let mut reg = Box::new(Regularised::<f32>::new(&mut SplitMix64::new(4)));
        let mut batch = Box::new(BatchTrainer::<Regularised, 4>::new());
        let xs: [SVector<f32, 144>; 4] = core::array::from_fn(|i| SVector::repeat(i as f32 / 4.0));
        let ys = [0usize, 1, 2, 0];
        let mut adam = Box::new(Adam::new(1e-3));
        batch
            .step(&mut *reg, &mut *adam, &SoftmaxCrossEntropy, &xs, &ys)
            .unwrap();
        let n = allocations(|| {
            batch
                .step(&mut *reg, &mut *adam, &SoftmaxCrossEntropy, &xs, &ys)
                .unwrap();
        });
        assert_eq!(n, 0, "BatchTrainer::step allocated");
    });
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the guard: a Vec must be counted, or every zero above proves nothing.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
    assert!(allocated_bytes(|| drop(std::hint::black_box(vec![1u8; 1000]))) >= 1000);
}

/// A safetensors file: the 8-byte header length, the header, the data.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend(header.as_bytes());
    f.extend(data);
    f
}

/// Files that lie: a header length past the end, tensors claiming petabytes, offsets past
/// the data or overlapping, shapes whose product overflows, deep nesting, and cut-off copies
/// of a valid file at every length.
fn hostile_files() -> Vec<Vec<u8>> {
    let entry = |shape: &str, offsets: &str| {
        format!(r#"{{"fc.weight":{{"dtype":"F32","shape":{shape},"data_offsets":{offsets}}}}}"#)
    };
    let mut files = vec![
        u64::MAX.to_le_bytes().to_vec(),
        [(1u64 << 40).to_le_bytes().as_slice(), b"{}"].concat(),
        safetensors(
            &entry("[1000000000,1000000000]", "[0,4000000000000000000]"),
            &[0; 16],
        ),
        safetensors(&entry("[2,2]", "[0,1125899906842624]"), &[0; 16]),
        safetensors(&entry("[18446744073709551615,2]", "[0,16]"), &[0; 16]),
        safetensors(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            &[0; 12],
        ),
        safetensors(
            &format!(
                r#"{{"__metadata__":{}1{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            &[],
        ),
    ];
    let valid = safetensors(&entry("[2,2]", "[0,16]"), &[0; 16]);
    files.extend((0..valid.len()).map(|n| valid[..n].to_vec()));
    files
}

network! {
    pub struct Fc(input: [2]) { fc: dense(2, bias = false) }
}

#[test]
fn safetensors_parsing_and_loading_allocate_nothing_whatever_the_header_claims() {
    use stacknet::runtime::safetensors::{load_state_from_bytes, SafeTensors};
    let mut net = Fc::<f32>::new(&mut SplitMix64::new(1));
    let files = hostile_files();
    for (i, file) in files.iter().enumerate() {
        let n = allocations(|| {
            let parsed = SafeTensors::parse(std::hint::black_box(file)).map(|f| f.len());
            let loaded = load_state_from_bytes(&mut net, file).is_ok();
            std::hint::black_box((parsed.is_ok(), loaded));
        });
        assert_eq!(n, 0, "hostile file {i} allocated");
    }
}

#[test]
fn loading_a_hostile_file_allocates_no_more_than_the_file() {
    let dir = std::env::temp_dir().join(format!("stacknet-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut net = Fc::<f32>::new(&mut SplitMix64::new(1));
    for (i, file) in hostile_files().iter().enumerate() {
        let path = dir.join(format!("{i}.safetensors"));
        std::fs::write(&path, file).unwrap();
        let bytes = allocated_bytes(|| {
            let r = stacknet::data::load_safetensors(&path, &mut net);
            assert!(r.is_err(), "hostile file {i} loaded");
            drop(std::hint::black_box(r));
        });
        // The file itself, read whole, and the error's owned names and path.
        let bound = file.len() as u64 + 4096;
        assert!(
            bytes <= bound,
            "hostile file {i}: {bytes} bytes allocated for a {}-byte file",
            file.len()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
