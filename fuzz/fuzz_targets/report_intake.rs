//! The report decoder and validator: any body is a report or a refusal, never a panic, and an
//! accepted report is within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(intake) = assetkitd::domain::intake::decode(data) {
        assert!(assetkitd::domain::limits::check(&intake.report).is_ok());
        assert!(!intake.report.report_id.is_empty() && intake.report.report_id.len() <= 64);
        assert_eq!(intake.raw.as_bytes(), data);
    }
});
