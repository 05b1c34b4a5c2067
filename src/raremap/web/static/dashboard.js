// The dashboard's behaviour, served as a file so the Content-Security-Policy can forbid inline
// scripts and eval: post run requests to the API, collect the scenario form, poll a job's progress.
(function () {
  'use strict';

  // Post a run (with the form's token if given); go to its job page, or show why it was refused.
  function startRun(form, body, message) {
    var headers = {'Content-Type': 'application/json'};
    if (form.token && form.token.value) { headers['Authorization'] = 'Bearer ' + form.token.value; }
    message.textContent = 'starting...';
    fetch('/api/runs', {method: 'POST', headers: headers, body: JSON.stringify(body), credentials: 'same-origin'})
      .then(function (response) { return response.json().then(function (data) { return [response.status, data]; }); })
      .then(function (answer) {
        if (answer[0] === 202) { window.location = '/jobs/' + answer[1].job_id; return; }
        var data = answer[1];
        var problems = Array.isArray(data.problems) && data.problems.length ? '\n' + data.problems.join('\n') : '';
        message.textContent = (typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail, null, 1)) + problems;
      })
      .catch(function (error) { message.textContent = String(error); });
  }

  // The rows of one kind (export controls, disruptions) as the API expects them.
  function rows(kind) {
    var result = [];
    document.querySelectorAll('tr[data-kind="' + kind + '"]').forEach(function (row) {
      var remove = row.querySelector('[name=remove]');
      if (remove && remove.checked) { return; }
      var item = JSON.parse(row.dataset.original || '{}');
      row.querySelectorAll('[data-field]').forEach(function (input) {
        var field = input.dataset.field, value = input.value.trim();
        if (value === '') { delete item[field]; return; }
        if (input.dataset.type === 'list') {
          item[field] = value.split(',').map(function (part) { return part.trim(); }).filter(Boolean);
        } else if (input.dataset.type === 'number') { item[field] = Number(value); }
        else { item[field] = value; }
      });
      if (!item[row.dataset.key]) { return; }
      if (kind === 'export_controls') {
        if (item.form !== 'quota') { delete item.quota_t; delete item.quota_share_of_base; }
        if (item.form !== 'licence_delay') { delete item.delay_days; delete item.delay_working_days; }
        if (item.quota_t !== undefined) { delete item.quota_share_of_base; }
        if (item.delay_days !== undefined) { delete item.delay_working_days; }
      }
      result.push(item);
    });
    return result;
  }

  var scenarioForm = document.getElementById('scenario-form');
  if (scenarioForm) {
    scenarioForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var form = event.target, message = document.getElementById('form-message');
      var body = {kind: 'simulate', scenario: form.dataset.scenario, overrides: {
        periods: {start: Number(form.periods_start.value), end: Number(form.periods_end.value)},
        export_controls: rows('export_controls'), disruptions: rows('disruptions')}};
      startRun(form, body, message);
    });
  }

  document.querySelectorAll('form.plan-form').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var body = {kind: 'plan', scenario: form.dataset.plan,
                  scenarios: Number(form.scenarios.value), frontier: Number(form.frontier.value)};
      startRun(form, body, form.querySelector('.error'));
    });
  });

  var job = document.getElementById('job');
  if (job) {
    (function poll() {
      fetch('/api/jobs/' + job.dataset.job, {credentials: 'same-origin'})
        .then(function (response) { return response.json(); })
        .then(function (state) {
          document.getElementById('bar').style.width = Math.round(state.progress * 100) + '%';
          var status = document.getElementById('status');
          status.textContent = state.status + ': ' + state.message;
          status.className = 'status-' + state.status;
          if (state.status === 'done') { window.location = '/runs/' + state.run_id; }
          else if (state.status === 'queued' || state.status === 'running') { setTimeout(poll, 400); }
        })
        .catch(function () { setTimeout(poll, 1000); });
    })();
  }
})();
