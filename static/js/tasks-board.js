// Drag and drop on the tasks board, as progressive enhancement. Without
// this script every card still moves with its "Move to" form or the ←/→
// buttons (keyboard and no-JS alike). With it, a card dragged onto a column
// submits that same form: the card's own CSRF-protected POST to
// /tasks/{project}/items/{task}/move with the column chosen, plus `before`
// (the card it was dropped above), so the server does exactly the move the
// form does and answers with the board and its flash message.
(function () {
  'use strict';
  var board = document.querySelector('.board[data-dnd]');
  if (!board) return;
  var dragged = null;

  function moveForm(card) {
    var select = card.querySelector('select[name="column"]');
    return select ? select.form : null;
  }

  function cardAbove(column, y) {
    var cards = column.querySelectorAll('.task-card');
    for (var i = 0; i < cards.length; i++) {
      var c = cards[i];
      if (c === dragged) continue;
      var box = c.getBoundingClientRect();
      if (y < box.top + box.height / 2) return c;
    }
    return null;
  }

  function clearTargets() {
    var marked = board.querySelectorAll('.drop-target');
    for (var i = 0; i < marked.length; i++) marked[i].classList.remove('drop-target');
  }

  var cards = board.querySelectorAll('.task-card');
  for (var i = 0; i < cards.length; i++) {
    if (!moveForm(cards[i])) continue;
    cards[i].setAttribute('draggable', 'true');
  }

  board.addEventListener('dragstart', function (e) {
    var card = e.target.closest && e.target.closest('.task-card[draggable="true"]');
    if (!card) return;
    dragged = card;
    card.classList.add('dragging');
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', card.id);
  });

  board.addEventListener('dragend', function () {
    if (dragged) dragged.classList.remove('dragging');
    dragged = null;
    clearTargets();
  });

  board.addEventListener('dragover', function (e) {
    if (!dragged) return;
    var column = e.target.closest && e.target.closest('.board-column');
    if (!column) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    if (!column.classList.contains('drop-target')) {
      clearTargets();
      column.classList.add('drop-target');
    }
  });

  board.addEventListener('drop', function (e) {
    if (!dragged) return;
    var column = e.target.closest && e.target.closest('.board-column');
    if (!column) return;
    e.preventDefault();
    var form = moveForm(dragged);
    var columnId = column.getAttribute('data-column');
    if (!form || !columnId) return;
    var above = cardAbove(column, e.clientY);
    var before = above ? above.getAttribute('data-task') : '';
    if (above === dragged.nextElementSibling && column.contains(dragged)) return;
    form.querySelector('select[name="column"]').value = columnId;
    var field = form.querySelector('input[name="before"]');
    if (!field) {
      field = document.createElement('input');
      field.type = 'hidden';
      field.name = 'before';
      form.appendChild(field);
    }
    field.value = before || '';
    clearTargets();
    form.submit();
  });
})();
