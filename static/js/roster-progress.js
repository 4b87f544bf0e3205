// Progress of a roster import or a background roster export: ask the server every second how far
// the job is; reload the page when it ends.
// Polling stops for good once the batch is finished (the page is then reloaded without this script)
// and when the server answers that the batch is not ours to see (4xx); a server error is retried.
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box) { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var state = document.getElementById("batch-state");
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status >= 400 && response.status < 500) { return null; }
        if (!response.ok) { throw new Error(response.statusText); }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { return; }
        if (data.finished) { window.location.reload(); return; }
        // While a file is first checked its size is not known yet: the bar stays indeterminate.
        if (data.total) {
          bar.max = data.total;
          bar.value = data.done;
        }
        text.textContent = data.total ? data.done + " / " + data.total : String(data.done);
        state.textContent = data.state_display;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
