/* 统计看板的图表 (ECharts, served from the app). The figures come from the page's JSON block,
   the same figures as the tables beside the charts. */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.getAttribute("data-chart"));
  var font = { fontFamily: "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif" };
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    option.textStyle = font;
    option.animation = false;
    chart.setOption(option);
    charts.push(chart);
  }

  function shortName(name) { return name.length > 9 ? name.slice(0, 8) + "…" : name; }

  var units = data.units;
  var unitChart = document.getElementById("chart-units");
  if (unitChart) { unitChart.style.height = Math.max(260, 30 * units.names.length + 70) + "px"; }
  draw("chart-units", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: units.names, axisLabel: { formatter: shortName } },
    color: ["#dc3545", "#e0a800", "#198754", "#6c757d"],
    series: [
      { name: "红灯（逾期）", type: "bar", stack: "all", data: units.red },
      { name: "黄灯（7天内到期）", type: "bar", stack: "all", data: units.yellow },
      { name: "绿灯", type: "bar", stack: "all", data: units.green },
      { name: "已销号", type: "bar", stack: "all", data: units.closed }
    ]
  });

  var categories = data.categories;
  draw("chart-categories", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: categories.names, axisLabel: { formatter: shortName } },
    color: ["#0d6efd", "#198754"],
    series: [
      { name: "事项", type: "bar", data: categories.items },
      { name: "已销号", type: "bar", data: categories.closed }
    ]
  });

  var months = data.months;
  draw("chart-months", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: months.names, axisLabel: { formatter: function (m) { return m.slice(2); } } },
    yAxis: { type: "value", minInterval: 1 },
    color: ["#0d6efd", "#198754", "#dc3545"],
    series: [
      { name: "新增", type: "line", data: months.created },
      { name: "销号", type: "line", data: months.closed },
      { name: "月末逾期", type: "line", data: months.overdue }
    ]
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
}());
