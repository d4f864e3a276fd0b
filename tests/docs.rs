//! The crate docs link every example: a new example must get its line in `src/lib.rs`.

use std::fs;

#[test]
fn every_example_is_linked_from_the_crate_docs() {
    let docs = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut missing = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let is_crate = entry.path().join("Cargo.toml").exists();
        let link = if is_crate {
            format!("[`examples/{name}/`](../../../examples/{name}/")
        } else if let Some(stem) = name.strip_suffix(".rs") {
            format!("[`examples/{stem}.rs`](../../../examples/{stem}.rs)")
        } else {
            continue; // shared modules (`common/`)
        };
        if !docs.contains(&link) {
            missing.push(link);
        }
    }
    assert!(
        missing.is_empty(),
        "not linked from src/lib.rs: {missing:?}"
    );
}
