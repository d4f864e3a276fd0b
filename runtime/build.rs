//! Tells the runtime whether cargo builds it without optimisation (`OPT_LEVEL` 0, the dev
//! profile's default), so that training can say once why it is slow (`hint.rs`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(stacknet_unoptimized)");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("OPT_LEVEL").as_deref() == Ok("0") {
        println!("cargo::rustc-cfg=stacknet_unoptimized");
    }
}
