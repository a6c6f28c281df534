//! The object parser on arbitrary bytes, whole and as a window that may end early.
#![no_main]
use kyso_pdf::parser::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Parser::new(data, 0, true).object(0);
    let _ = Parser::new(data, 0, false).object(0);
    let _ = Parser::new(data, 0, true).object_header();
});
