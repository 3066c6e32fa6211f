//! RSA-2048 PKCS#1 v1.5 decryption, aws-lc-rs (ours) against the pure-Rust `rsa` crate on the same
//! key, and DecryptData on a typical and a large message.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsa::pkcs8::DecodePrivateKey;
use wecom_crypto::{PrivateKey, decrypt_data, encode_message};

fn rsa_decrypt(c: &mut Criterion) {
    let key = PrivateKey::generate_rsa2048().expect("generate");
    let other = rsa::RsaPrivateKey::from_pkcs8_der(key.to_pkcs8_der()).expect("same key in rsa");
    // An encrypt_key is about 88 ASCII characters.
    let ciphertext = key
        .public_key()
        .encrypt_pkcs1(&[b'k'; 88])
        .expect("encrypt");
    assert_eq!(
        other
            .decrypt(rsa::Pkcs1v15Encrypt, &ciphertext)
            .expect("rsa crate decrypts"),
        key.decrypt_pkcs1(&ciphertext).expect("aws-lc decrypts")
    );

    let mut group = c.benchmark_group("rsa2048_pkcs1v15_decrypt");
    group.throughput(Throughput::Elements(1));
    group.bench_function("aws-lc-rs", |b| {
        b.iter(|| key.decrypt_pkcs1(black_box(&ciphertext)))
    });
    // `decrypt` without an RNG is the rsa crate's unblinded (fastest) path.
    group.bench_function("rsa-crate", |b| {
        b.iter(|| other.decrypt(rsa::Pkcs1v15Encrypt, black_box(&ciphertext)))
    });
    group.finish();
}

fn decrypt_data_bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut group = c.benchmark_group("decrypt_data");
    for (name, len) in [("300B", 300usize), ("70KB", 70 * 1024)] {
        let plaintext: Vec<u8> = (0..len).map(|i| b"{\"msg\":\"abc\"}"[i % 13]).collect();
        let enc = encode_message(&plaintext, &mut rng);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                decrypt_data(
                    black_box(enc.encrypt_key.as_bytes()),
                    black_box(enc.encrypt_msg.as_bytes()),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rsa_decrypt, decrypt_data_bench);
criterion_main!(benches);
