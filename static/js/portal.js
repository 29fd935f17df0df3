// Every page: a confirmation before an irreversible action. A form, or the submit button that
// sent it, with data-confirm="question" asks first; "Cancel" sends nothing. No inline scripts
// (CSP). Runs in the capture phase, before htmx or any other submit handler.
//
// A form that acts on what is stored (the item page's send) names the edit form it depends on
// with data-unsaved-form="<id>": while that form has changes not saved yet (or the server
// marked it data-unsaved, e.g. after a refused save), it is not sent; data-unsaved-message
// says why and the focus moves to the edit form's save button. Without JS the server keeps
// the send disabled after a refused save, and the send itself re-checks the stored values.
(function () {
  "use strict";
  var some = Array.prototype.some;

  function controlChanged(el) {
    var type = (el.type || "").toLowerCase();
    if (!el.name || el.disabled || /^(hidden|submit|button|reset|file|image)$/.test(type)) {
      return false;
    }
    if (type === "checkbox" || type === "radio") { return el.checked !== el.defaultChecked; }
    if (el.tagName === "SELECT") {
      var hasDefault = some.call(el.options, function (o) { return o.defaultSelected; });
      return some.call(el.options, function (o, i) {
        var initial = hasDefault ? o.defaultSelected : (!el.multiple && i === 0);
        return o.selected !== initial;
      });
    }
    return el.value !== el.defaultValue;
  }

  function hasUnsavedChanges(form) {
    return form.hasAttribute("data-unsaved") || some.call(form.elements, controlChanged);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var editId = form.getAttribute("data-unsaved-form");
    var edit = editId && document.getElementById(editId);
    if (edit && hasUnsavedChanges(edit)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      window.alert(form.getAttribute("data-unsaved-message"));
      var save = edit.querySelector("button[type='submit']");
      if (save) { save.focus(); }
      return;
    }
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
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
