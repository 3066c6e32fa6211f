// The transcript page: open at the right place, and close the raw JSON panel.
// (No inline script anywhere: the page's CSP allows only scripts served from /assets/.)
(function () {
  "use strict";

  function openAtPlace() {
    var marked = document.querySelector(".msg.highlight");
    if (marked) {
      marked.scrollIntoView({ block: "center" });
      marked.setAttribute("tabindex", "-1");
      marked.focus({ preventScroll: true });
      return;
    }
    var params = new URLSearchParams(window.location.search);
    if (params.get("date")) {
      var first = document.querySelector("#messages .msg");
      if (first) {
        first.scrollIntoView({ block: "start" });
      }
      return;
    }
    // The newest messages are at the bottom, as in the chat app.
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function closeRawPanel(event) {
    var button = event.target.closest ? event.target.closest(".raw-close") : null;
    if (!button) {
      return;
    }
    var panel = document.getElementById("raw-panel");
    if (panel) {
      panel.textContent = "";
    }
  }

  // Runs before htmx looks for revealed sentinels (both are deferred; this one is later in
  // document order but htmx starts on DOMContentLoaded, after every deferred script).
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openAtPlace);
  } else {
    openAtPlace();
  }
  document.addEventListener("click", closeRawPanel);
})();
