/* Image viewer for uploaded scans: zoom, fit and rotate, by button or key. Plain JavaScript, no libraries.
 *
 * Markup (templates/registrar/_viewer.html): figure[data-viewer] holding .viewer-controls (buttons with
 * data-action), .viewer-stage (the scrolling, focusable box), .viewer-frame and img.viewer-image.
 * The frame takes the size of the rotated, zoomed picture so that the stage scrolls over all of it;
 * the image sits in its centre and is turned with a CSS transform.
 */
(function () {
  "use strict";

  var STEP = 1.25;
  var MIN_SCALE = 0.05;
  var MAX_SCALE = 8;
  var KEYS = {
    "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "_": "zoom-out", "0": "fit",
    "l": "rotate-left", "L": "rotate-left", "r": "rotate-right", "R": "rotate-right"
  };

  function Viewer(root) {
    this.root = root;
    this.stage = root.querySelector(".viewer-stage");
    this.frame = root.querySelector(".viewer-frame");
    this.image = root.querySelector(".viewer-image");
    this.controls = root.querySelector(".viewer-controls");
    this.zoomOutput = root.querySelector(".viewer-zoom");
    this.scale = 1;
    this.rotation = 0;
    this.fitted = true;
  }

  Viewer.prototype.start = function () {
    var viewer = this;
    this.controls.hidden = false;
    this.root.classList.add("viewer-ready");
    this.controls.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (button) {
        viewer.act(button.getAttribute("data-action"));
      }
    });
    this.stage.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      var action = KEYS[event.key];
      if (action) {
        event.preventDefault();
        viewer.act(action);
      }
    });
    window.addEventListener("resize", function () {
      if (viewer.fitted) {
        viewer.fit();
      }
    });
    if (this.image.complete && this.image.naturalWidth) {
      this.fit();
    } else {
      this.image.addEventListener("load", function () { viewer.fit(); });
    }
  };

  Viewer.prototype.act = function (action) {
    if (action === "zoom-in") {
      this.zoomTo(this.scale * STEP);
    } else if (action === "zoom-out") {
      this.zoomTo(this.scale / STEP);
    } else if (action === "fit") {
      this.fit();
    } else if (action === "rotate-left") {
      this.rotate(-90);
    } else if (action === "rotate-right") {
      this.rotate(90);
    }
  };

  Viewer.prototype.turned = function () {
    return this.rotation % 180 !== 0;
  };

  // The picture's size as shown at scale 1: width and height swap when it lies on its side.
  Viewer.prototype.naturalSize = function () {
    var width = this.image.naturalWidth || 1;
    var height = this.image.naturalHeight || 1;
    return this.turned() ? [height, width] : [width, height];
  };

  Viewer.prototype.fit = function () {
    var size = this.naturalSize();
    var style = window.getComputedStyle(this.stage);
    var availableWidth = this.stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    var availableHeight = this.stage.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    var scale = Math.min(availableWidth / size[0], availableHeight / size[1]);
    this.apply(scale > 0 ? scale : 1);
    this.fitted = true;
  };

  Viewer.prototype.zoomTo = function (scale) {
    this.apply(Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale)));
    this.fitted = false;
  };

  Viewer.prototype.rotate = function (degrees) {
    this.rotation = (this.rotation + degrees + 360) % 360;
    if (this.fitted) {
      this.fit();
    } else {
      this.apply(this.scale);
    }
  };

  Viewer.prototype.apply = function (scale) {
    var width = (this.image.naturalWidth || 1) * scale;
    var height = (this.image.naturalHeight || 1) * scale;
    var frameSize = this.naturalSize();
    this.scale = scale;
    this.frame.style.width = frameSize[0] * scale + "px";
    this.frame.style.height = frameSize[1] * scale + "px";
    this.image.style.width = width + "px";
    this.image.style.height = height + "px";
    this.image.style.transform = "translate(-50%, -50%) rotate(" + this.rotation + "deg)";
    this.root.setAttribute("data-rotation", String(this.rotation));
    this.zoomOutput.textContent = Math.round(scale * 100) + "%";
  };

  function startAll() {
    var roots = document.querySelectorAll("figure[data-viewer]:not(.viewer-ready)");
    for (var i = 0; i < roots.length; i++) {
      new Viewer(roots[i]).start();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
