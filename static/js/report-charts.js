// The charts of the report pages (Apache ECharts, vendored in static/vendor/echarts/). Each
// <div data-chart="ID"> is drawn from <script type="application/json" id="ID"> (Django's json_script),
// since the pages' Content-Security-Policy runs no inline script. The same numbers stand in a table
// beside every chart.
(function () {
  "use strict";

  function barSeries(data) {
    return data.series.map(function (series) {
      return {
        name: series.name,
        type: "bar",
        stack: data.stacked ? "total" : undefined,
        data: series.data,
        barMaxWidth: 36,
        label: { show: !data.stacked, position: data.horizontal ? "right" : "top" }
      };
    });
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var categoryAxis = {
      type: "category",
      data: data.categories,
      inverse: data.horizontal,
      axisLabel: { interval: 0, rotate: !data.horizontal && data.categories.length > 8 ? 30 : 0 }
    };
    var valueAxis = { type: "value", minInterval: 1 };
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#1d4f91", "#d9822b", "#1e7b34", "#b42318", "#6b4fbb", "#0f8b8d", "#a15c00", "#616e7c",
        "#c2185b", "#5d8aa8", "#7cb342", "#8d6e63"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 24, top: 40, bottom: 8, containLabel: true },
      xAxis: data.horizontal ? valueAxis : categoryAxis,
      yAxis: data.horizontal ? categoryAxis : valueAxis,
      series: barSeries(data)
    });
    element.setAttribute("data-drawn", "yes");
    window.addEventListener("resize", function () { chart.resize(); });
    window.addEventListener("beforeprint", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  });
})();
