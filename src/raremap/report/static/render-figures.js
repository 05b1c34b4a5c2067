// Draw every figure of the page: each <script type="application/json" data-figure="ID"> holds a
// plotly figure (data and layout) for the element with that id. Served as a file by the dashboard
// and inlined by the offline report; plotly.js and the world map are loaded before it.
(function () {
  'use strict';
  // On a phone the legend wraps to one entry a line and would squeeze the plot: give it the room.
  var narrow = window.innerWidth < 600;
  document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function (element) {
    var figure = JSON.parse(element.textContent);
    if (narrow && figure.layout.height) {
      var entries = figure.data.filter(function (trace) {
        return trace.name && trace.showlegend !== false && trace.visible !== false;
      }).length;
      figure.layout.height += Math.max(0, entries - 4) * 18;
    }
    var target = document.getElementById(element.dataset.figure);
    Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
  });
})();
