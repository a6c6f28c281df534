//! The validator's entry point on any bytes: it must return a report or an error, never panic,
//! and a report must never say TOTAL-PASSED without an intact signature. Offline, no anchors.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = kyso_validate::Context { trust_anchors: Vec::new(), validation_time_unix: 1_795_960_985, online: None };
    if let Ok(report) = kyso_validate::validate(data, &ctx) {
        for s in &report.signatures {
            assert!(s.indication != kyso_validate::Indication::TotalPassed || s.intact, "passed without an intact signature");
        }
    }
});
