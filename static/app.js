// CareerCenter's progressive enhancement (every page works without it): filter boxes over long checkbox lists,
// and the posting form's live preview. No inline script or handler anywhere, so the CSP stays script-src 'self'.
(function () {
  "use strict";

  // A filter box narrows the checkbox list it controls (aria-controls) to labels containing the typed text.
  function bindFilterBoxes(root) {
    root.querySelectorAll("input[data-filter-list]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      box.hidden = false;
      var list = document.getElementById(box.getAttribute("data-filter-list"));
      if (!list) return;
      box.addEventListener("input", function () {
        var needle = box.value.trim().toLowerCase();
        list.querySelectorAll("li").forEach(function (item) {
          item.hidden = needle !== "" && item.textContent.toLowerCase().indexOf(needle) === -1;
        });
      });
    });
  }

  // Live preview: every [data-preview="name"] shows the value of the form field called name as text.
  function bindPreview(root) {
    root.querySelectorAll("form[data-live-preview]").forEach(function (form) {
      var pane = document.getElementById(form.getAttribute("data-live-preview"));
      if (!pane || form.dataset.bound) return;
      form.dataset.bound = "1";
      function update() {
        pane.querySelectorAll("[data-preview]").forEach(function (slot) {
          var field = form.elements[slot.getAttribute("data-preview")];
          if (!field) return;
          var value = field.value !== undefined ? field.value : "";
          if (field.tagName === "SELECT" && field.selectedIndex >= 0) value = field.options[field.selectedIndex].text;
          if (typeof RadioNodeList !== "undefined" && field instanceof RadioNodeList) {  // radios: the chosen label
            var chosen = Array.prototype.filter.call(field, function (el) { return el.checked; })[0];
            value = chosen && chosen.labels && chosen.labels.length ? chosen.labels[0].textContent : "";
          }
          slot.textContent = value.trim() || slot.getAttribute("data-empty") || "";
        });
      }
      form.addEventListener("input", update);
      form.addEventListener("change", update);
      update();
    });
  }

  function enhance(root) {
    bindFilterBoxes(root);
    bindPreview(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
  // A refused one-click apply (the job closed a moment ago, too many applications) answers 4xx with the reason
  // under the button's id; htmx 2 swaps no error answer unless told, which left the button silent.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt, status = event.detail.xhr.status;
    if (form && form.classList && form.classList.contains("apply-form") && status >= 400 && status < 500 &&
        event.detail.serverResponse.indexOf('id="' + form.id + '"') !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
