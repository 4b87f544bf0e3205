// Acts that cannot be undone ask once: <form data-confirm="…">. A listener, since the pages'
// Content-Security-Policy runs no inline script.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
