// Review queue: "select all" for bulk approve. No inline scripts (CSP).
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    document.querySelectorAll("input.bulk-item").forEach(function (box) { box.checked = all.checked; });
  });
})();
