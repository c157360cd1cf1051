//! Secrets Manager replies: success bodies of both operations, error bodies and headers, and the
//! value rules applied to every secret string, checked against serde_json's own reading.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lambda_secrets::fuzzing::reply_input(data));
