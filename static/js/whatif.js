// What-if: typing a hypothetical value ticks its sub-indicator (only ticked rows are computed),
// so a value is never silently ignored. No inline scripts (CSP).
(function () {
  "use strict";
  document.querySelectorAll("[data-whatif-row]").forEach(function (row) {
    var pick = row.querySelector("input[type=checkbox][name=pick]");
    if (!pick) { return; }
    row.addEventListener("input", function (event) {
      if (event.target !== pick && event.target.value !== "") { pick.checked = true; }
    });
    row.addEventListener("change", function (event) {
      if (event.target !== pick && event.target.value !== "") { pick.checked = true; }
    });
  });
})();
