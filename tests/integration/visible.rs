//! Visible signatures in Vietnamese: they render, and the text comes back with its diacritics.

use kyso_tests::*;

#[test]
fn vietnamese_text_renders_and_extracts() {
    let dir = tempfile::tempdir().unwrap();
    for input in [
        corpus().join("inputs/pyhanko-minimal.pdf"),
        repo_root().join("testdata/pdf/rotated-90.pdf"),
        repo_root().join("testdata/pdf/rotated-270-fontembed.pdf"),
    ] {
        let out = dir.path().join(format!("{}.pdf", file_name(&input)));
        let png = repo_root().join("testdata/images/seal.png");
        sign(
            &input,
            &out,
            RSA,
            &["--visible", "1:20,20,280,110", "--reason", "Phê duyệt kế hoạch bài dạy", "--image", &png.display().to_string()],
        );
        let text = tool("pdftotext", &[&out.display().to_string(), "-"]);
        let text = String::from_utf8_lossy(&text.stdout);
        for expected in ["Ký bởi: Nguyễn Thị Hương", "Trường THCS Gia Thụy", "Thời gian ký:", "+07:00", "Lý do: Phê duyệt kế hoạch bài dạy"]
        {
            assert!(text.contains(expected), "{}: pdftotext lacks {expected:?}: {text}", file_name(&input));
        }
        let render = tool(
            "pdftoppm",
            &["-r", "30", "-png", "-f", "1", "-l", "1", &out.display().to_string(), &dir.path().join("page").display().to_string()],
        );
        assert!(render.status.success() && render.stderr.is_empty(), "pdftoppm: {}", String::from_utf8_lossy(&render.stderr));
        let (verdicts, report) = pyhanko(&out, true);
        assert_eq!(verdicts.len(), 1, "{report}");
        assert_eq!(verdicts[0].1, "VALID", "{report}");
    }
}

#[test]
fn font_is_subset_and_maps_back_to_unicode() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.pdf");
    sign(&corpus().join("inputs/pyhanko-minimal.pdf"), &out, P256, &["--visible", "1:20,20,280,110"]);
    let fonts = tool("pdffonts", &[&out.display().to_string()]);
    let listing = String::from_utf8_lossy(&fonts.stdout);
    let line = listing.lines().find(|l| l.contains("DejaVuSans")).unwrap_or_else(|| panic!("no DejaVuSans in {listing}"));
    // name: XXXXXX+DejaVuSans; type CID TrueType; emb yes; sub yes; uni yes
    assert!(line.contains('+'), "subset tag: {line}");
    assert!(line.contains("CID TrueType"), "{line}");
    let flags: Vec<&str> = line.split_whitespace().rev().take(5).collect();
    assert_eq!(&flags[2..5], &["yes", "yes", "yes"], "emb/sub/uni in {line}");
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size < 60_000, "a subset font keeps the file small: {size} bytes");
}
