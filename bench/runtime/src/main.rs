//! bench-runtime: the stand-in for a Lambda runtime that every benchmark contender execs.
//!
//! `BENCH_EXPECT` holds `NAME:SHA256HEX` pairs separated by commas. Every NAME must be set in the
//! environment and its value's sha256 must match; then exit 0. A missing or wrong variable is
//! reported by name (never by value) and exits 1; a missing or malformed `BENCH_EXPECT` exits 2.
//! No dependencies: std and the FIPS 180-4 SHA-256 below, checked against its test vectors.

use std::env;
use std::os::unix::ffi::OsStrExt;
use std::process::exit;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256_hex(data: &[u8]) -> String {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

fn main() {
    if env::args().nth(1).as_deref() == Some("--sha256") {
        // Self-test hook for the harness: print the digest of each following argument.
        for a in env::args_os().skip(2) {
            println!("{}", sha256_hex(a.as_bytes()));
        }
        return;
    }
    let Some(expect) = env::var_os("BENCH_EXPECT") else {
        eprintln!("bench-runtime: BENCH_EXPECT is not set");
        exit(2)
    };
    let expect = expect.to_string_lossy().into_owned();
    let mut bad = Vec::new();
    let mut checked = 0;
    for pair in expect.split(',').filter(|p| !p.is_empty()) {
        let Some((name, want)) = pair.split_once(':') else {
            eprintln!("bench-runtime: malformed BENCH_EXPECT entry {pair:?}");
            exit(2)
        };
        checked += 1;
        match env::var_os(name) {
            None => bad.push(format!("{name} missing")),
            Some(v) if sha256_hex(v.as_bytes()) != want => {
                bad.push(format!("{name} has the wrong value"))
            }
            Some(_) => {}
        }
    }
    if checked == 0 {
        eprintln!("bench-runtime: BENCH_EXPECT names no variable");
        exit(2)
    }
    if !bad.is_empty() {
        eprintln!(
            "bench-runtime: {} of {checked} variables wrong: {}",
            bad.len(),
            bad.join(", ")
        );
        exit(1)
    }
}
