// tracker's page behaviours, served from the app: the Content-Security-Policy allows no inline
// script, so pages mark what they need with data attributes and ids, and this file does it.
(function () {
  'use strict';

  // Forms that ask first: <form data-confirm="…">.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // "返回上一页" links: <a href="#" data-back>.
  document.querySelectorAll('a[data-back]').forEach(function (link) {
    link.addEventListener('click', function (event) {
      event.preventDefault();
      window.history.back();
    });
  });

  // The item list: one box ticks every row.
  var all = document.getElementById('select-all');
  if (all) {
    all.addEventListener('change', function () {
      document.querySelectorAll('.item-check').forEach(function (box) { box.checked = all.checked; });
    });
  }

  // After a refused form, bring its message into view (on a phone it may be far down the page).
  var firstError = document.querySelector('[data-scroll-to-error] .is-invalid, [data-scroll-to-error] form .alert-danger');
  if (firstError) firstError.scrollIntoView({block: 'center'});

  // Say so before sending files that the server would refuse as too large.
  var upload = document.getElementById('upload-form');
  if (upload) {
    upload.addEventListener('submit', function (event) {
      var input = document.getElementById('evidence-file');
      var error = document.getElementById('file-error');
      var max = Number(upload.dataset.maxBytes);
      if (!input.files.length) {
        event.preventDefault();
        error.textContent = '请选择要上传的文件。';
        return;
      }
      var total = Array.prototype.reduce.call(input.files, function (sum, file) { return sum + file.size; }, 0);
      if (total > max) {
        event.preventDefault();
        error.textContent = '文件超过 ' + Math.round(max / 1048576) + ' MB 的上限，请压缩、拆分或分次上传。';
      }
    });
  }
})();

// Owner boxes (data-suggest): as one types a 姓名, username or unit, the server's suggestions fill
// the box's <datalist>; the browser shows them under the box.
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('input[data-suggest]'), function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var timer = null;
    var asked = null;
    function fill(people) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      people.forEach(function (person) {
        var option = document.createElement('option');
        option.value = person.value;
        option.label = person.label;
        option.textContent = person.label;
        list.appendChild(option);
      });
    }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var words = input.value.trim();
        if (words === asked) { return; }
        asked = words;
        var url = input.dataset.suggest + (input.dataset.suggest.indexOf('?') < 0 ? '?' : '&') + 'q=' + encodeURIComponent(words);
        var unit = input.dataset.unitField && document.getElementById(input.dataset.unitField);
        if (unit && unit.value) { url += '&unit=' + encodeURIComponent(unit.value); }
        fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
          .then(function (answer) { return answer.ok ? answer.json() : []; })
          .then(function (people) { if (asked === words) { fill(people); } })
          .catch(function () {});
      }, 200);
    });
  });
})();
