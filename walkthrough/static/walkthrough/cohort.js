// Bar widths come from data-pct: the CSP allows no inline style attribute (issue 12), while
// setting element.style from a script file is allowed.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("#cohort-table .bar span[data-pct]").forEach(function (bar) {
    bar.style.width = bar.dataset.pct + "%";
  });
});
