#!/usr/bin/env python3
"""Walks Kyso's web pages in a real browser (Debian's Chromium driven by Playwright), as the
people who use them would: a teacher submits lesson plans and signs them, the head of the
subject group approves one, returns one and signs three in a batch, the principal and the
district office finish the chain, an auditor verifies the signed file and a known attack.
Then the hostile part: a cross-site form, a title that is a script, another school's teacher,
six wrong passwords. Every page is photographed at 360 px and 1280 px wide and checked with
axe-core; any console error (a CSP violation among them) fails the walk.

Run by tests/integration/web.rs against `kyso serve --demo`; prints one JSON line with what the
Rust side checks independently (the downloaded signed PDF goes to pyHanko and `kyso verify`).
Exit status 0 when every step did what it should; otherwise the failed step is printed.
"""

import argparse
import json
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright, expect

# Assertions wait for the page as long as a loaded machine needs (the whole suite runs on two
# cores); a wrong page still fails, only later.
expect.set_options(timeout=60_000)

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "kyso-demo"
WIDTHS = (360, 1280)


class Walk:
    def __init__(self, browser, base, out, axe):
        self.browser, self.base, self.out, self.axe = browser, base, Path(out), axe
        self.out.mkdir(parents=True, exist_ok=True)
        self.console_errors = []
        self.shots = []
        self.axe_violations = {}
        # Pages where an error status is the point (the browser logs it as a console error).
        self.refused_pages = set()

    def expected(self, url, text):
        return url in self.refused_pages and "status of 404" in text

    def person(self, username, password=PASSWORD, lang=None):
        """A fresh browser context logged in as `username`."""
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True)
        # The suite runs many servers at once on two cores: a slow answer is not a failure here
        # (speed is measured by web-bench), a wrong one is.
        ctx.set_default_timeout(120_000)
        page = ctx.new_page()
        page.on("console", lambda m, u=username: m.type == "error" and not self.expected(page.url, m.text) and self.console_errors.append(f"{u} {page.url}: {m.text}"))
        page.on("pageerror", lambda e, u=username: self.console_errors.append(f"{u} {page.url}: {e}"))
        page.on("dialog", lambda d: (self.console_errors.append(f"a dialog opened: {d.message}"), d.dismiss()))
        page.goto(self.base + "/login" + (f"?lang={lang}" if lang else ""))
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return ctx, page

    def shot(self, page, name):
        """Photographs the page at both widths and checks it with axe-core."""
        for w in WIDTHS:
            page.set_viewport_size({"width": w, "height": 900})
            path = self.out / f"{name}-{w}.png"
            page.screenshot(path=str(path), full_page=True)
            self.shots.append(str(path))
            # Nothing may stick out sideways on a phone.
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if w == 360 and overflow > 0:
                raise AssertionError(f"{name}: the page is {overflow} px wider than a 360 px phone")
        page.set_viewport_size({"width": 1280, "height": 900})
        self.check_accessibility(page, name)

    def check_accessibility(self, page, name):
        # The pages' CSP forbids injected scripts, so axe runs in a context that bypasses CSP,
        # on the same address with the same session cookie.
        ctx = self.browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(120_000)
        ctx.add_cookies(page.context.cookies())
        p = ctx.new_page()
        p.goto(page.url)
        p.add_script_tag(path=self.axe)
        result = p.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        if serious:
            self.axe_violations[name] = serious
        ctx.close()


def step(name):
    print(f"step: {name}", file=sys.stderr, flush=True)


def submit(page, base, title, pdf):
    page.goto(base + "/submit")
    page.fill("#title", title)
    page.set_input_files("#file", pdf)
    page.click("form[action='/submit'] button[type=submit]")
    try:
        page.wait_for_url(re.compile(r"/documents/[^/?]+\?done=submitted"))
    except Exception as e:
        raise AssertionError(f"submitting {title!r} ended at {page.url}: {page.inner_text('body')[:800]}") from e
    return page.url.split("/documents/")[1].split("?")[0]


def approve(page, base, doc):
    page.goto(f"{base}/documents/{doc}")
    page.click("form[action$='/approve'] button[type=submit]")
    page.wait_for_url(re.compile(r"done=signed"))
    expect(page.locator(".notice.ok")).to_contain_text("Đã ký và chuyển tiếp")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True, help="screenshots and downloads go here")
    ap.add_argument("--pdf", required=True, help="a lesson plan to submit")
    ap.add_argument("--attack", required=True, help="a signed PDF with a known attack")
    ap.add_argument("--axe", required=True, help="axe.min.js")
    a = ap.parse_args()
    out = Path(a.out)
    result = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        w = Walk(browser, a.base, out, a.axe)
        base = a.base

        step("the login page, in Vietnamese by default")
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(120_000)
        p = ctx.new_page()
        resp = p.goto(base + "/")
        expect(p.locator("h1")).to_have_text("Đăng nhập")
        assert p.locator("html").get_attribute("lang") == "vi"
        csp = resp.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, f"CSP: {csp!r}"
        w.shot(p, "01-login")
        ctx.close()

        step("the teacher submits five lesson plans and signs them (the first, certifying stage)")
        tctx, teacher = w.person("huong")
        expect(teacher.locator("h1")).to_have_text("Việc cần làm")
        w.shot(teacher, "02-inbox-empty")
        teacher.goto(base + "/submit")
        w.shot(teacher, "03-submit")
        docs = [submit(teacher, base, f"Kế hoạch bài dạy Ngữ văn 6, tuần {12 + i}", a.pdf) for i in range(5)]
        w.shot(teacher, "04-submitted")
        teacher.goto(base + "/inbox")
        expect(teacher.locator("tbody tr")).to_have_count(5)
        w.shot(teacher, "05-inbox-teacher")
        for d in docs:
            approve(teacher, base, d)

        step("the head of group approves one, returns one, and signs three in one batch")
        hctx, head = w.person("bao")
        expect(head.locator("tbody tr")).to_have_count(5)
        head.goto(f"{base}/documents/{docs[0]}")
        head.wait_for_selector("[data-rendered]")
        assert head.get_attribute(".viewer", "data-rendered") not in (None, "error"), "pdf.js did not show the document"
        assert head.locator(".viewer canvas").count() >= 1
        w.shot(head, "06-document-head")
        approve(head, base, docs[0])
        head.goto(f"{base}/documents/{docs[4]}")
        head.click("details summary")
        head.fill("#return-reason", "Thiếu mục tiêu bài học; bổ sung giúp chị.")
        head.click("form[action$='/return'] button[type=submit]")
        head.wait_for_url(re.compile(r"done=returned"))
        head.goto(base + "/inbox")
        expect(head.locator("tbody tr")).to_have_count(3)
        head.check("#all")
        w.shot(head, "07-batch-select")
        head.click("form[action='/approvals/batch'] button[type=submit]")
        expect(head.locator("h1")).to_have_text("Kết quả ký theo lô")
        expect(head.locator(".notice")).to_contain_text("3 văn bản đã ký, 0 không ký được")
        w.shot(head, "08-batch-result")
        hctx.close()

        step("the teacher reads why one came back and sends a new version")
        teacher.goto(f"{base}/documents/{docs[4]}")
        expect(teacher.locator(".notice.bad")).to_contain_text("Thiếu mục tiêu bài học")
        w.shot(teacher, "09-returned")
        teacher.set_input_files("#new-file", a.pdf)
        teacher.click("form[action$='/versions'] button[type=submit]")
        teacher.wait_for_url(re.compile(r"done=version"))
        expect(teacher.locator(".tag").first).to_contain_text("Đang trình ký")

        step("the principal and the district office finish the first chain")
        pctx, principal = w.person("minh")
        approve(principal, base, docs[0])
        pctx.close()
        dctx, district = w.person("ha")
        approve(district, base, docs[0])
        district.goto(f"{base}/documents/{docs[0]}")
        expect(district.locator(".tag").first).to_contain_text("Đã ký xong")
        w.shot(district, "10-completed")
        with district.expect_download() as dl:
            district.click(f"a[href='/documents/{docs[0]}/file']")
        signed = out / "signed-chain.pdf"
        dl.value.save_as(signed)
        result["signed"] = str(signed)
        district.goto(base + "/documents")
        w.shot(district, "11-documents-district")
        dctx.close()

        step("the auditor verifies the signed file against the chain, and a known attack")
        actx, auditor = w.person("kiemdinh")
        auditor.goto(base + "/verify")
        w.shot(auditor, "12-verify")
        auditor.set_input_files("#file", str(signed))
        auditor.fill("#expect_chain", "giáo viên, tổ trưởng, hiệu trưởng, phòng GD")
        auditor.click("form[action='/verify'] button[type=submit]")
        auditor.wait_for_url(re.compile(r"/verify/[^/]+$"))
        expect(auditor.locator(".report-signature")).to_have_count(4)
        expect(auditor.locator("main")).to_contain_text("ĐÚNG như yêu cầu")
        for name in ("Nguyễn Thị Hương", "Phạm Quốc Bảo", "Trần Văn Minh", "Lê Thu Hà"):
            expect(auditor.locator("main")).to_contain_text(name)
        w.shot(auditor, "13-report-chain")
        with auditor.expect_download() as dl:
            auditor.click("a[href$='/download/pdf']")
        report_pdf = out / "report.pdf"
        dl.value.save_as(report_pdf)
        result["report_pdf"] = str(report_pdf)
        auditor.goto(base + "/verify")
        auditor.set_input_files("#file", a.attack)
        auditor.click("form[action='/verify'] button[type=submit]")
        auditor.wait_for_url(re.compile(r"/verify/[^/]+$"))
        attack = auditor.locator(".attack").first
        expect(attack).to_contain_text("Phát hiện tấn công")
        result["attack_text"] = attack.inner_text()
        w.shot(auditor, "14-report-attack")
        auditor.goto(base + "/audit?check=1")
        expect(auditor.locator(".notice.ok")).to_contain_text("Chuỗi nhật ký nguyên vẹn")
        w.shot(auditor, "15-audit")
        actx.close()

        step("English on request, remembered")
        teacher.click("header a[lang=en]")
        expect(teacher.locator("h1").first).not_to_have_text("")
        teacher.goto(base + "/inbox")
        expect(teacher.locator("h1")).to_have_text("To do")
        teacher.goto(base + "/inbox?lang=vi")
        expect(teacher.locator("h1")).to_have_text("Việc cần làm")

        step("a title that is a script is shown as text")
        script_title = "<script>alert('xss')</script><img src=x onerror=alert(2)>"
        xss = submit(teacher, base, script_title, a.pdf)
        expect(teacher.locator("h1")).to_have_text(script_title)
        assert teacher.locator("main script, main img[src=x]").count() == 0
        result["xss_document"] = xss

        step("a form posted from another site is refused")
        evil = teacher.request.post(f"{base}/documents/{docs[1]}/return", form={"_csrf": "x", "reason": "evil"},
                                    headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert evil.status == 403, f"cross-site form: {evil.status}"
        no_token = teacher.request.post(f"{base}/documents/{docs[1]}/return", form={"reason": "no token"})
        assert no_token.status in (403, 422), f"form without CSRF token: {no_token.status}"
        teacher.goto(f"{base}/documents/{docs[1]}")
        expect(teacher.locator(".notice.bad")).to_have_count(0)
        tctx.close()

        step("another school's teacher sees nothing of this school")
        lctx, lan = w.person("lan")
        w.refused_pages.add(f"{base}/documents/{docs[0]}")
        r = lan.goto(f"{base}/documents/{docs[0]}")
        assert r.status == 404, f"another school's document: {r.status}"
        w.shot(lan, "16-not-found")
        lan.goto(base + "/documents")
        expect(lan.locator("main")).not_to_contain_text("Kế hoạch bài dạy Ngữ văn 6")
        lctx.close()

        step("six wrong passwords lock the account, and the page says until when")
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(120_000)
        p = ctx.new_page()
        for i in range(6):
            p.goto(base + "/login")
            p.fill("#username", "pho")
            p.fill("#password", f"wrong-password-{i}")
            p.click("button[type=submit]")
        expect(p.locator(".error-summary")).to_contain_text("tài khoản bị khóa đến")
        w.shot(p, "17-locked")
        p.goto(base + "/login")
        p.fill("#username", "pho")
        p.fill("#password", PASSWORD)
        p.click("button[type=submit]")
        expect(p.locator(".error-summary")).to_contain_text("tài khoản bị khóa đến")
        ctx.close()

        step("the records archive: the principal's dashboard, its spreadsheet, and a teacher sends what she owes")
        mctx, principal = w.person("minh")
        principal.goto(base + "/records")
        expect(principal.locator("h2").first).to_contain_text("Trường THCS Gia Thụy")
        math_row = principal.locator("table.counts tbody tr", has_text="Tổ Toán – Tin")
        expect(math_row).to_have_count(1)
        expect(math_row.locator("td[data-label='Bị trả lại']")).to_have_text("1")
        page_total = int(principal.locator("table.counts tfoot td[data-label='Tổng']").inner_text())
        w.shot(principal, "24-records-dashboard")
        with principal.expect_download() as dl:
            principal.click("a[href*='format=xlsx']")
        xlsx = Path(a.out) / "dashboard.xlsx"
        dl.value.save_as(xlsx)
        import openpyxl
        sheet = openpyxl.load_workbook(xlsx)["Tổng hợp"]
        totals = [r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0] == "Tổng cộng"]
        assert totals and int(totals[0][-1]) == page_total, f"xlsx total {totals} against the page's {page_total}"
        result["records_total"] = page_total
        principal.goto(base + "/records/registers?unit=school")
        expect(principal.locator("main")).to_contain_text("Thông tư 32/2020/TT-BGDĐT")
        w.shot(principal, "25-records-catalogue")
        principal.goto(base + "/records/years")
        expect(principal.locator("tbody")).to_contain_text("2026-2027")
        w.shot(principal, "26-records-years")
        mctx.close()
        rctx, huong = w.person("huong")
        huong.goto(base + "/records")
        w.shot(huong, "27-records-mine")
        huong.locator("table.responsive tbody tr", has_text="Kế hoạch bài dạy").first.locator("a").click()
        expect(huong.locator("h1")).to_have_text("Kế hoạch bài dạy (giáo án)")
        w.shot(huong, "28-records-send")
        huong.set_input_files("#file", a.pdf)
        huong.click("main form button[type=submit]")
        huong.wait_for_url(re.compile(r"/documents/[^/?]+\?done=submitted"))
        expect(huong.locator("h1")).to_contain_text("Kế hoạch bài dạy (giáo án) — Nguyễn Thị Hương — Tuần")
        huong.goto(base + "/records")
        first = huong.locator("table.responsive tbody tr").first.locator("a")
        assert "/documents/" in (first.get_attribute("href") or ""), "the record now opens its document"
        rctx.close()

        step("the library: a check-out and a check-in typed as a scanner types them, the union catalogue, a student's online request")
        lctx, desk = w.person("thuvien")
        desk.goto(base + "/library")
        expect(desk.locator("#card")).to_be_focused()
        desk.keyboard.type("HS6A03")
        desk.keyboard.press("Enter")
        # The copy's field is required: Enter after the card moves there without sending.
        expect(desk.locator("#barcode")).to_be_focused()
        desk.keyboard.type("000002")
        desk.keyboard.press("Enter")
        expect(desk.locator("#outcome")).to_contain_text("Đã cho")
        expect(desk.locator("#card")).to_have_value("HS6A03")
        expect(desk.locator("#barcode")).to_be_focused()
        w.shot(desk, "29-library-desk")
        desk.locator("#barcode").focus()
        desk.keyboard.type("000002")
        desk.keyboard.press("Enter")
        expect(desk.locator("#outcome")).to_contain_text("bản sách 000002 đang được mượn")
        desk.locator("#return_barcode").focus()
        desk.keyboard.type("000002")
        desk.keyboard.press("Enter")
        expect(desk.locator("#outcome")).to_contain_text("Đã nhận lại")
        desk.goto(base + "/library/catalogue")
        expect(desk.locator("tbody")).to_contain_text("Dế Mèn phiêu lưu ký")
        w.shot(desk, "30-library-catalogue")
        lctx.close()
        sctx, student = w.person("hocsinh")
        student.goto(base + "/library")
        expect(student.locator("main")).to_contain_text("Sách tôi đang mượn")
        student.goto(base + "/library/search?q=tat+den")
        expect(student.locator("section.hit h2").first).to_have_text("Tắt đèn")
        w.shot(student, "31-library-search")
        student.locator("form[action='/library/requests'] button").first.click()
        expect(student.locator("#outcome")).to_contain_text("để riêng cho bạn")
        w.shot(student, "32-library-mine")
        sctx.close()

        step("the administrator's pages")
        zctx, admin = w.person("admin")
        for path, name in (("/admin", "18-admin"), ("/admin/people", "19-people"), ("/admin/people/huong", "20-person"),
                           ("/admin/units", "21-units"), ("/admin/templates", "22-templates"), ("/admin/clients", "23-clients")):
            r = admin.goto(base + path)
            assert r.status == 200, f"{path}: {r.status}"
            if path == "/admin/people/huong":
                expect(admin.locator("main")).to_contain_text("001190012345")
                expect(admin.locator("main")).to_contain_text("Nguyễn Thị Hương")
            w.shot(admin, name)
        zctx.close()

        browser.close()
        result["screenshots"] = w.shots
        problems = []
        if w.console_errors:
            problems.append("console errors: " + "; ".join(w.console_errors))
        if w.axe_violations:
            problems.append("accessibility: " + json.dumps(w.axe_violations, ensure_ascii=False))
        print(json.dumps(result, ensure_ascii=False))
        if problems:
            print("\n".join(problems), file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
