// netpolcheck report: a failures filter, a choice of glyphs, and a panel
// that keeps a cell's story on screen. Plain script, no library, no request.
(function () {
  'use strict';
  var body = document.body;

  // The failures filter hides passed cases; it is applied at load too,
  // because browsers restore a checkbox's state on reload.
  var failures = document.getElementById('failures-only');
  function applyFilter() {
    body.classList.toggle('failures-only', failures.checked);
  }
  if (failures) {
    failures.addEventListener('change', applyFilter);
    applyFilter();
  }

  // Which view's glyphs the cells show: all three, or one.
  document.querySelectorAll('input[name="view"]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      if (radio.checked) body.dataset.view = radio.value;
    });
    if (radio.checked) body.dataset.view = radio.value;
  });

  // The detail panel shows what a cell's tooltip says, and stays until
  // closed or another cell is chosen: a tooltip vanishes when the mouse
  // moves, and cannot be selected and copied.
  var panel = document.getElementById('cell-detail');
  var panelKey = document.getElementById('cell-detail-key');
  var panelText = document.getElementById('cell-detail-text');
  var selected = null;
  function show(cell) {
    if (selected) selected.classList.remove('selected');
    selected = cell;
    cell.classList.add('selected');
    // The title's first line is the key and the comparison: the heading.
    var lines = (cell.getAttribute('title') || cell.dataset.key).split('\n');
    panelKey.textContent = lines[0];
    panelText.textContent = lines.slice(1).join('\n');
    panel.hidden = false;
  }
  function hide() {
    if (selected) selected.classList.remove('selected');
    selected = null;
    panel.hidden = true;
  }
  if (!panel) return;
  document.addEventListener('click', function (e) {
    var cell = e.target.closest('td.cell[data-key]');
    if (cell) show(cell);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      hide();
      return;
    }
    var cell = e.target.closest && e.target.closest('td.cell[data-key]');
    if (cell && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      show(cell);
    }
  });
  document.getElementById('cell-detail-close').addEventListener('click', hide);
})();
