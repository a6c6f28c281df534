// Kyso's small enhancements; every page works without them.
(function () {
  "use strict";
  // Drag and drop onto a file field's area.
  document.querySelectorAll(".drop").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var name = zone.querySelector(".drop-name");
    if (!input) return;
    ["dragenter", "dragover"].forEach(function (e) {
      zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.add("active"); });
    });
    ["dragleave", "drop"].forEach(function (e) {
      zone.addEventListener(e, function () { zone.classList.remove("active"); });
    });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        input.dispatchEvent(new Event("change"));
      }
    });
    input.addEventListener("change", function () {
      if (name && input.files.length) name.textContent = input.files[0].name;
    });
  });
  // "Select all" for batch approval.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll("input[name=document_ids]").forEach(function (b) { b.checked = box.checked; });
    });
  });
})();
