// Renders a PDF into the page with the vendored pdf.js (no eval, worker from this server).
import * as pdfjs from "/static/vendor/pdfjs/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = "/static/vendor/pdfjs/pdf.worker.min.mjs";

for (const box of document.querySelectorAll("[data-pdf]")) {
  const status = box.querySelector(".viewer-status");
  try {
    const doc = await pdfjs.getDocument({ url: box.dataset.pdf, isEvalSupported: false, withCredentials: true }).promise;
    if (status) status.remove();
    for (let n = 1; n <= Math.min(doc.numPages, 30); n++) {
      const page = await doc.getPage(n);
      const viewport = page.getViewport({ scale: 1.5 });
      const canvas = document.createElement("canvas");
      canvas.width = viewport.width;
      canvas.height = viewport.height;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", (box.dataset.pageLabel || "Page") + " " + n);
      box.appendChild(canvas);
      await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    }
    box.dataset.rendered = String(doc.numPages);
  } catch (e) {
    if (status) status.textContent = box.dataset.failed || "The document cannot be shown here: download it.";
    box.dataset.rendered = "error";
  }
}
