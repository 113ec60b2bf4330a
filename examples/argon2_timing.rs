//! How long one password hash and one verification take with the production parameters.
//! Run in release mode: `cargo run --release --example argon2_timing`.

use std::time::Instant;

use aftercare::auth::password::{hash_blocking, verify_blocking};

fn main() {
    let rounds = 20;
    let started = Instant::now();
    let mut hash = String::new();
    for _ in 0..rounds {
        hash = hash_blocking("correct horse battery staple").expect("hashing works");
    }
    let per_hash = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(verify_blocking("correct horse battery staple", &hash));
    }
    let per_verify = started.elapsed() / rounds;
    println!("argon2id m=19456 KiB t=2 p=1: hash {per_hash:?}, verify {per_verify:?} (mean of {rounds})");
}
