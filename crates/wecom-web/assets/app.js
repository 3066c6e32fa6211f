// Small behaviours of every page. No inline handlers anywhere (the CSP forbids them): everything
// is attached here, after the document is parsed (the script is loaded with `defer`).
"use strict";

(function () {
  // Forms that change something ask before they do it: `data-confirm` holds the question.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });

  // The skip link moves focus to the main region, not only the scroll position.
  var skip = document.querySelector(".skip-link");
  var main = document.getElementById("main");
  if (skip && main) {
    skip.addEventListener("click", function () {
      main.focus();
    });
  }

  // The language links keep the page's own query (`?lang=` alone would drop a search or the
  // filters): the link's target becomes this URL with only `lang` changed.
  document.querySelectorAll(".langs a[href^='?lang=']").forEach(function (a) {
    var lang = a.getAttribute("href").slice("?lang=".length);
    var url = new URL(window.location.href);
    url.searchParams.set("lang", lang);
    url.hash = "";
    a.setAttribute("href", url.pathname + url.search);
  });

  // After htmx replaced the conversation results, keep the filter field usable: the results
  // region announces itself (aria-live) and focus stays in the field being typed into.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "conv-results") {
      target.setAttribute("aria-busy", "false");
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var results = document.getElementById("conv-results");
    if (results && event.detail && event.detail.elt && event.detail.elt.id === "f-name") {
      results.setAttribute("aria-busy", "true");
    }
  });
})();
