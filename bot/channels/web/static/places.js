// The printable list's one action: the browser's print dialog (no inline script under the page's CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const button = document.getElementById("print");
  if (button) button.addEventListener("click", function () { window.print(); });
});
