// Otto dashboard — small, dependency-free progressive enhancement. Everything works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      var msg = form.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) { ev.preventDefault(); return; }
      // One click, one request (the server is idempotent anyway).
      if (form.method.toLowerCase() === "post") {
        setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      }
    });
  });
  var q = document.getElementById("q");
  if (q && !q.value && document.querySelector("h1") && location.pathname === "/dashboard/chat") { q.focus(); }
});
