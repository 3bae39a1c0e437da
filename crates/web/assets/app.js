// lvdian dashboard: draws the page's charts (ECharts options the server wrote into
// data-chart), submits selects marked data-autosubmit, and follows a rolling session's depth
// over server-sent events. No inline script anywhere, so the pages run under a strict CSP.
(function () {
  'use strict';
  function drawCharts() {
    if (typeof echarts === 'undefined') return;
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(JSON.parse(el.getAttribute('data-chart')));
      el.setAttribute('data-drawn', 'true');
      window.addEventListener('resize', function () { chart.resize(); });
    });
  }
  function autosubmit() {
    document.querySelectorAll('select[data-autosubmit]').forEach(function (el) {
      el.addEventListener('change', function () { el.form.submit(); });
    });
  }
  function followDepth() {
    document.querySelectorAll('[data-depth-stream]').forEach(function (el) {
      if (typeof EventSource === 'undefined') return;
      var source = new EventSource(el.getAttribute('data-depth-stream'));
      source.addEventListener('depth', function (e) { el.innerHTML = e.data; });
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    drawCharts();
    autosubmit();
    followDepth();
  });
})();
