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
