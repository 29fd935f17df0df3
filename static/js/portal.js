// Every page: a confirmation before an irreversible action. A form, or the submit button that
// sent it, with data-confirm="question" asks first; "Cancel" sends nothing. No inline scripts
// (CSP). Runs in the capture phase, before htmx or any other submit handler.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();

// The navigation link of the current section gets aria-current="page" (the longest matching
// path prefix: "/reporting/review/" over "/reporting/").
(function () {
  "use strict";
  var best = null, bestLength = 0, here = window.location.pathname;
  document.querySelectorAll(".navbar-nav a.nav-link[href^='/']").forEach(function (link) {
    var path = link.getAttribute("href");
    var matches = path === "/" ? here === "/" : here.indexOf(path) === 0;
    if (matches && path.length > bestLength) { best = link; bestLength = path.length; }
  });
  if (best) { best.setAttribute("aria-current", "page"); }
})();
