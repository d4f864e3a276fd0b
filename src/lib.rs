//! stacknet placeholder facade (filled in below).
#![no_std]
pub use stacknet_runtime as runtime;
