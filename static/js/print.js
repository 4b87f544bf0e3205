// Print buttons: <button type="button" data-print>. A listener instead of onclick="window.print()",
// since the pages' Content-Security-Policy runs no inline script.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
