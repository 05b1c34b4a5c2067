// Draw every figure of the page: each <script type="application/json" data-figure="ID"> holds a
// plotly figure (data and layout) for the element with that id. Served as a file by the dashboard
// and inlined by the offline report; plotly.js and the world map are loaded before it.
(function () {
  'use strict';
  document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function (element) {
    var figure = JSON.parse(element.textContent);
    var target = document.getElementById(element.dataset.figure);
    Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
  });
})();
