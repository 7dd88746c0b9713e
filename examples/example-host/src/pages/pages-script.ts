import type { Provider } from '@byokit/core';

/**
 * The profile's key fields, one for every provider byokit knows: a provider added to byokit's PROVIDERS fails to
 * compile here until the profile has its field, rather than being left out of the page without a word.
 */
export const KEY_FIELDS = {
  anthropic: { label: 'Anthropic', placeholder: 'sk-ant-…' },
  openai: { label: 'OpenAI', placeholder: 'sk-… or sk-proj-…' },
  google: { label: 'Google', placeholder: 'AIza…' },
} as const satisfies Record<Provider, { label: string; placeholder: string }>;

const PROVIDER_ENTRIES = Object.entries(KEY_FIELDS).map(([provider, { label }]) => `['${provider}', '${label}']`);

/**
 * The pages' one script, served as is to the browser (no build step, no framework). Its helpers that decide
 * something (what a key save sends, how a key's state reads, how a stream is read) are plain functions at the
 * top, which the tests run in Node; `start()` wires them to the page, and runs only where there is a document.
 * Everything from the API is put in as text (`textContent`), never as HTML.
 */
export const PAGES_SCRIPT = String.raw`'use strict';

var API = '/v2';
var TOKEN_ITEM = 'byokit-example-access-token';
var PROVIDERS = [${PROVIDER_ENTRIES.join(', ')}];

/** The PATCH /users/me/api-key body from the three fields: an empty field is left out (that key left alone). */
function keysPatchBody(values) {
  var body = {};
  PROVIDERS.forEach(function (entry) {
    var value = String(values[entry[0]] || '').trim();
    if (value !== '') body[entry[0] + '_api_key'] = value;
  });
  return body;
}

/** One line on a provider's key, from GET /users/me/api-key-status's keys.<provider>. */
function describeKey(label, key) {
  if (key && key.configured) {
    if (key.verification === 'unreadable') {
      return 'Your ' + label + ' key ' + (key.hint || '') + ' is saved but can no longer be read: enter it again, or remove it.';
    }
    var checked = key.verification === 'valid' ? 'checked with ' + label : key.verification === 'invalid' ? 'refused by ' + label : 'not checked yet';
    return 'Your ' + label + ' key ' + (key.hint || '') + ' is saved (' + checked + ').';
  }
  if (key && key.system_fallback) return 'No personal ' + label + ' key: the system key an admin set is used.';
  return 'No ' + label + ' key: neither yours nor a system one. ' + label + ' models are not available.';
}

/** What to show for an error answer of the API: its message, then each issue's own message. */
function errorText(body, status) {
  var error = body && body.error;
  if (!error || typeof error.message !== 'string') {
    // Not the API's own error (a proxy's page in front of the server, say): a 5xx there passes, so say to try again.
    if (status >= 500) return 'The server could not answer (HTTP ' + status + '): try again in a moment.';
    return 'The request failed (HTTP ' + status + ').';
  }
  var parts = [error.message];
  (Array.isArray(error.issues) ? error.issues : []).forEach(function (issue) {
    if (issue && typeof issue.message === 'string' && parts.indexOf(issue.message) === -1) parts.push(issue.message);
  });
  return parts.join(' ');
}

/**
 * Server-sent events from text read so far: the data of every whole event, and the text left for the next read.
 * (The API sends "data: {json}" events separated by a blank line; SSE allows CRLF and CR too.)
 */
function readEvents(text) {
  var normalised = text.replace(/\r\n?/g, '\n');
  // A CR at the very end may be the first half of a CRLF still to come: keep it for the next read.
  var keepCr = /\r$/.test(text);
  var blocks = normalised.split('\n\n');
  var rest = blocks.pop();
  var events = [];
  blocks.forEach(function (block) {
    var data = block
      .split('\n')
      .filter(function (line) { return line.indexOf('data:') === 0; })
      .map(function (line) { return line.slice(5).replace(/^ /, ''); });
    if (data.length > 0) events.push(data.join('\n'));
  });
  return { events: events, rest: keepCr ? rest.replace(/\n$/, '\r') : rest };
}

/** The user's words for whose key paid. */
function keySourceText(source) {
  return source === 'user' ? 'your key' : source === 'system' ? 'the system key' : 'unknown';
}

/** Why an answer ended, when not at the model's own end (finish_reason "stop"): said before its usage. */
var ENDINGS = {
  length: 'The answer reached its token limit and was cut off.',
  content_filter: "The provider's content filter declined or stopped this answer.",
  error: 'The provider ended this answer abnormally.',
};

/**
 * The line under a streamed answer: why it ended short, if it did, then its tokens, cost and whose key paid. A
 * refused or blocked answer often has no text at all, which alone looked like nothing happened; a count the provider
 * did not report is null (a prompt Gemini blocked reports no output), which read "null tokens".
 */
function answerUsageText(usage, finishReason) {
  var ending = Object.prototype.hasOwnProperty.call(ENDINGS, finishReason) ? ENDINGS[finishReason] + ' ' : '';
  var tokens =
    usage.total_tokens !== null ? usage.total_tokens + ' tokens'
    : usage.prompt_tokens !== null ? usage.prompt_tokens + ' prompt tokens'
    : 'Tokens not reported';
  var cost = usage.cost_usd === null ? '?' : usage.cost_usd;
  return ending + tokens + ', $' + cost + ', paid by ' + keySourceText(usage.key_source) + '.';
}

/** What a call that got no answer at all shows. */
var UNREACHABLE = 'Could not reach the server: check your connection, then try again.';

/** The message of the Language Models page when the list is empty (the guide's "No models available"). */
var NO_MODELS = 'No models available. You have not configured any API key yet, or only placeholder keys, and no admin has set a system key: add a real API key in your Profile.';

function start(document, window) {
  var storage = window.sessionStorage;
  var page = document.body.getAttribute('data-page');
  var byId = function (id) { return document.getElementById(id); };

  function SignedOut() {}

  /**
   * Which user's session the page is in: forgetUser starts the next. An answer to a call of an earlier session,
   * still on its way at "Log out" (or a 401), is dropped as SignedOut: written into the page, it showed the first
   * user's key hints, models or usage to the next user to log in at the tab, and its 401 logged that user out.
   */
  var session = 0;

  function stillIn(asked) {
    if (asked !== session) throw new SignedOut();
  }

  function api(path, options) {
    options = options || {};
    var asked = session;
    var headers = Object.assign({}, options.headers || {});
    var token = storage.getItem(TOKEN_ITEM);
    if (token) headers.authorization = 'Bearer ' + token;
    var request = window.fetch(API + path, Object.assign({}, options, { headers: headers })).catch(function (error) {
      // No answer at all (the network down, the server restarting): the browser's own words for it ("Failed to
      // fetch", "NetworkError when attempting to fetch resource.") say neither what happened nor what to do.
      // A call the page stopped (the playground's Stop) stays an AbortError. One of a session since ended says nothing.
      if (error && error.name === 'AbortError') throw error;
      stillIn(asked);
      throw new Error(UNREACHABLE);
    });
    return request.then(function (response) {
      stillIn(asked);
      if (response.status === 401 && !options.anonymous) {
        storage.removeItem(TOKEN_ITEM);
        // The session ended (the token expired): whoever logs in next at this tab may be someone else.
        forgetUser();
        showSignIn('Your session has ended: log in again.', true);
        throw new SignedOut();
      }
      return response;
    });
  }

  function json(response) {
    var asked = session;
    return response.json().catch(function () { return null; }).then(function (body) {
      stillIn(asked);
      if (!response.ok) throw new Error(errorText(body, response.status));
      return body;
    });
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function report(element) {
    return function (error) {
      if (error instanceof SignedOut) return;
      element.textContent = error && error.message ? error.message : String(error);
      element.classList.add('error');
    };
  }

  function say(element, text) {
    element.classList.remove('error');
    element.textContent = text;
  }

  function showSignIn(message, focus) {
    byId('content').hidden = true;
    byId('signed-in').hidden = true;
    byId('sign-in').hidden = false;
    byId('sign-in-message').textContent = message || '';
    // The button that had the focus (Log out, or one whose call found the session ended) is hidden now: the focus
    // goes to the form's first field rather than back to the start of the document.
    if (focus) byId('username').focus();
  }

  /** Once logged in through the form (now hidden, the focus with it): the focus goes to the page's heading. */
  function focusHeading() {
    document.querySelector('main h1').focus();
  }

  function logIn(email, password) {
    var form = new window.URLSearchParams({ username: email, password: password });
    return api('/login/access-token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      anonymous: true,
    }).then(json).then(function (body) {
      storage.setItem(TOKEN_ITEM, body.access_token);
      // The password has served: it is not kept in the page for the session (nor offered again at "Log out").
      byId('password').value = '';
    });
  }

  function showPage() {
    return api('/users/me').then(json).then(function (user) {
      byId('sign-in').hidden = true;
      byId('signed-in-email').textContent = user.email;
      byId('signed-in').hidden = false;
      byId('content').hidden = false;
      if (page === '/profile') return profile();
      if (page === '/language-models') return languageModels();
      if (page === '/language-models/billing') return billing();
    });
  }

  // Profile: the guide's "API Configuration" section.
  function showKeyStatus(status) {
    PROVIDERS.forEach(function (entry) {
      var key = status.keys && status.keys[entry[0]];
      byId(entry[0] + '-status').textContent = describeKey(entry[1], key);
      document.querySelector('.remove-key[data-provider="' + entry[0] + '"]').hidden = !(key && key.configured);
    });
  }

  var profileWired = false;

  function profile() {
    var message = byId('keys-message');
    if (!profileWired) wireProfile(message);
    profileWired = true;
    return api('/users/me/api-key-status').then(json).then(showKeyStatus).catch(report(message));
  }

  /** The save on its way, if any (one at a time); forgetUser lets the next user save without waiting for it. */
  var saving = null;

  function endSave(which) {
    if (saving !== which) return;
    saving = null;
    document.querySelector('#api-keys-form button[type=submit]').removeAttribute('aria-disabled');
  }

  function wireProfile(message) {
    var save = document.querySelector('#api-keys-form button[type=submit]');
    byId('api-keys-form').addEventListener('submit', function (event) {
      event.preventDefault();
      // One save at a time: a second press (a double click, Enter again) while one is on its way sends nothing.
      // aria-disabled rather than disabled, which would drop the focus of a keyboard user to the start of the page.
      if (saving) return;
      var values = {};
      PROVIDERS.forEach(function (entry) { values[entry[0]] = byId(entry[0] + '_api_key').value; });
      var body = keysPatchBody(values);
      if (Object.keys(body).length === 0) return say(message, 'Paste at least one API key first.');
      var thisSave = {};
      saving = thisSave;
      save.setAttribute('aria-disabled', 'true');
      say(message, 'Saving…');
      api('/users/me/api-key', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(json)
        .then(function (status) {
          // The keys leave the page once saved: only their hints are shown from now on. Only those sent: a key typed
          // in another field while this save was on its way is not saved, and stays for the user to save.
          PROVIDERS.forEach(function (entry) {
            var field = byId(entry[0] + '_api_key');
            if (field.value === values[entry[0]]) field.value = '';
          });
          showKeyStatus(status);
          say(message, 'API keys saved.');
        })
        .catch(report(message))
        .then(function () { endSave(thisSave); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('.remove-key'), function (button) {
      button.addEventListener('click', function () {
        var provider = button.getAttribute('data-provider');
        api('/users/me/api-key?provider=' + encodeURIComponent(provider), { method: 'DELETE' })
          .then(json)
          .then(function (status) {
            showKeyStatus(status);
            say(message, 'Key removed.');
            // This button is hidden now: the focus goes to the field a new key is pasted in, not the start of the page.
            byId(provider + '_api_key').focus();
          })
          .catch(report(message));
      });
    });
    byId('remove-all-keys').addEventListener('click', function () {
      if (!window.confirm('Delete all your API keys?')) return;
      api('/users/me/api-key', { method: 'DELETE' })
        .then(json)
        .then(function (status) { showKeyStatus(status); say(message, 'All your API keys are deleted.'); })
        .catch(report(message));
    });
  }

  // Language Models: what the caller can use now, and "Try Now".
  function languageModels() {
    var message = byId('models-message');
    return api('/llm-models/?is_active=true').then(json).then(function (list) {
      var rows = byId('models');
      rows.textContent = '';
      if (list.count === 0) {
        byId('models-table').hidden = true;
        return say(message, NO_MODELS);
      }
      say(message, '');
      byId('models-table').hidden = false;
      list.data.forEach(function (model) {
        var row = document.createElement('tr');
        cell(row, model.display_name);
        cell(row, model.provider);
        cell(row, keySourceText(model.key_source));
        cell(row, String(model.context_window));
        cell(row, '$' + model.pricing.input_per_mtok_usd + ' / $' + model.pricing.output_per_mtok_usd);
        var button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Try Now';
        button.setAttribute('aria-label', 'Try ' + model.display_name + ' now');
        button.addEventListener('click', function () { openPlayground(model); });
        cell(row, '').appendChild(button);
        rows.appendChild(row);
      });
    }).catch(report(message));
  }

  var playgroundModel = null;
  var running = null;

  function openPlayground(model) {
    playgroundModel = model;
    byId('playground-model').textContent = model.display_name;
    byId('playground').hidden = false;
    byId('prompt').focus();
  }

  function setUpPlayground() {
    var answer = byId('answer');
    var usage = byId('answer-usage');
    byId('stop').addEventListener('click', function () { if (running) running.abort(); });
    byId('playground-form').addEventListener('submit', function (event) {
      event.preventDefault();
      if (!playgroundModel || running) return;
      var model = playgroundModel;
      var asked = session;
      running = new window.AbortController();
      // One call at a time: Send says so while this one runs (a press did nothing, without a word). The focus, if
      // Send held it, goes to Stop, the one thing to press now, rather than to the start of the page.
      var sendHadFocus = document.activeElement === byId('send');
      byId('stop').hidden = false;
      byId('send').disabled = true;
      if (sendHadFocus) byId('stop').focus();
      say(answer, '');
      say(usage, '');
      var body = {
        model_id: model.id,
        messages: [{ role: 'user', content: byId('prompt').value }],
        max_tokens: Math.min(1024, model.max_output_tokens),
        stream: true,
      };
      api('/llm/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: running.signal,
      })
        .then(function (response) {
          if (!response.ok) return json(response);
          var reader = response.body.getReader();
          var decoder = new window.TextDecoder();
          var pending = '';
          var finishReason = null;
          function next() {
            return reader.read().then(function (chunk) {
              stillIn(asked);
              pending += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
              var read = readEvents(pending);
              pending = read.rest;
              for (var i = 0; i < read.events.length; i++) {
                var data = read.events[i];
                if (data === '[DONE]') return;
                var event = JSON.parse(data);
                if (event.error) throw new Error(errorText(event, 200));
                var choice = event.choices && event.choices[0];
                var delta = choice && choice.delta;
                if (delta && typeof delta.content === 'string') answer.textContent += delta.content;
                if (choice && choice.finish_reason) finishReason = choice.finish_reason;
                if (event.usage) usage.textContent = answerUsageText(event.usage, finishReason);
              }
              if (!chunk.done) return next();
            });
          }
          return next();
        })
        .catch(function (error) {
          // Stopped by "Log out" (or a 401): the page is the next user's, in which the first user's "Stopped." has no place.
          if (asked !== session) return;
          if (error && error.name === 'AbortError') return say(usage, 'Stopped.');
          report(usage)(error);
        })
        .then(function () {
          running = null;
          var stopHadFocus = document.activeElement === byId('stop');
          byId('send').disabled = false;
          byId('stop').hidden = true;
          if (stopHadFocus) byId('send').focus();
        });
    });
  }

  // Billing: My Usage, this month, by day (with a chart), by model and by whose key paid.
  function usageRow(table, label, group) {
    var row = document.createElement('tr');
    cell(row, label);
    cell(row, String(group.requests));
    cell(row, String(group.prompt_tokens + group.completion_tokens));
    cell(row, '$' + group.cost_usd);
    document.querySelector('#' + table + ' tbody').appendChild(row);
  }

  function billing() {
    var message = byId('usage-message');
    var asked = session;
    // By model over the by-day answer's own window: asked for apart, each with its own "now", the two could be of
    // two months (around midnight UTC on the 1st), or differ by a call recorded in between.
    return api('/llm/usage/me?group_by=day').then(json).then(function (byDay) {
      var window = '&from=' + encodeURIComponent(byDay.from) + '&to=' + encodeURIComponent(byDay.to);
      return Promise.all([
        api('/llm/usage/me?group_by=model' + window).then(json),
        api('/llm/usage/me?group_by=key_source' + window).then(json),
      ]).then(function (answers) { return [byDay].concat(answers); });
    }).then(function (answers) {
      var byDay = answers[0];
      var byModel = answers[1];
      var byKey = answers[2];
      say(message, 'This month, from ' + byDay.from.slice(0, 10) + ' to now (UTC).');
      var totals = byId('usage-totals');
      totals.textContent = '';
      [['Requests', String(byDay.totals.requests)], ['Tokens', String(byDay.totals.prompt_tokens + byDay.totals.completion_tokens)], ['Cost', '$' + byDay.totals.cost_usd]].forEach(function (entry) {
        var term = document.createElement('dt');
        term.textContent = entry[0];
        var value = document.createElement('dd');
        value.textContent = entry[1];
        totals.appendChild(term);
        totals.appendChild(value);
      });
      document.querySelector('#usage-by-day tbody').textContent = '';
      document.querySelector('#usage-by-model tbody').textContent = '';
      document.querySelector('#usage-by-key tbody').textContent = '';
      byKey.groups.forEach(function (group) { usageRow('usage-by-key', keySourceText(group.key), group); });
      var chart = byId('usage-chart');
      chart.textContent = '';
      var highest = byDay.groups.reduce(function (most, group) { return Math.max(most, Number(group.cost_usd)); }, 0);
      byDay.groups.forEach(function (group) {
        usageRow('usage-by-day', group.key, group);
        var bar = document.createElement('div');
        bar.className = 'bar-row';
        var label = document.createElement('span');
        label.className = 'bar-label';
        label.textContent = group.key;
        var fill = document.createElement('span');
        fill.className = 'bar';
        fill.style.width = (highest > 0 ? (Number(group.cost_usd) / highest) * 100 : 0) + '%';
        fill.setAttribute('aria-hidden', 'true');
        var amount = document.createElement('span');
        amount.textContent = '$' + group.cost_usd;
        bar.appendChild(label);
        bar.appendChild(fill);
        bar.appendChild(amount);
        chart.appendChild(bar);
      });
      if (byDay.groups.length === 0) say(message, 'No usage this month yet.');
      // Each model's name asked for at once, the rows put in once all have come: in the API's order, not in the
      // order the names happened to come (which changed from one load to the next). A name that could not be
      // fetched is shown as the model's id, the failure said after: one such lookup emptied the whole table.
      var failure = null;
      return Promise.all(byModel.groups.map(function (group) {
        return api('/llm-models/' + encodeURIComponent(group.key)).then(function (response) {
          return response.ok ? response.json().then(function (model) { return model.display_name; }) : group.key;
        }).catch(function (error) {
          if (error instanceof SignedOut) throw error;
          failure = failure || error;
          return group.key;
        });
      })).then(function (names) {
        stillIn(asked);
        byModel.groups.forEach(function (group, index) { usageRow('usage-by-model', names[index], group); });
        if (failure) throw failure;
      });
    }).catch(report(message));
  }

  /**
   * At "Log out", once the session has ended, or when the page is left: nothing of this user's is left in the tab
   * for the next person at it, who may log in as someone else: no key typed but not saved (which they would save as
   * theirs), nothing the page showed of this user's (their keys' hints, their models, their usage: the next user's
   * own are shown only once they have come, and the page is shown as soon as they log in), no answer of the
   * playground (a call still running is stopped), no password.
   */
  function forgetUser() {
    session++;
    signingIn = null;
    byId('password').value = '';
    if (page === '/profile') {
      PROVIDERS.forEach(function (entry) {
        byId(entry[0] + '_api_key').value = '';
        byId(entry[0] + '-status').textContent = '';
        document.querySelector('.remove-key[data-provider="' + entry[0] + '"]').hidden = true;
      });
      say(byId('keys-message'), '');
      endSave(saving);
    }
    if (page === '/language-models') {
      if (running) running.abort();
      say(byId('models-message'), '');
      byId('models').textContent = '';
      byId('models-table').hidden = true;
      playgroundModel = null;
      byId('playground').hidden = true;
      byId('prompt').value = '';
      byId('answer').textContent = '';
      byId('answer-usage').textContent = '';
    }
    if (page === '/language-models/billing') {
      say(byId('usage-message'), '');
      ['usage-totals', 'usage-chart'].forEach(function (id) { byId(id).textContent = ''; });
      ['usage-by-day', 'usage-by-model', 'usage-by-key'].forEach(function (id) { document.querySelector('#' + id + ' tbody').textContent = ''; });
    }
  }

  byId('sign-out').addEventListener('click', function () {
    storage.removeItem(TOKEN_ITEM);
    forgetUser();
    showSignIn('You are logged out.', true);
  });
  // One log-in or sign-up at a time: a second press (a double click, Enter again) while one is on its way sends
  // nothing. A second sign-up was refused ("A user with this email already exists."), and that alert was read out
  // after the first had made the account and logged the user in.
  // The attempt ends once logged in and the page shown, its data come; or at "Log out" (or a 401), which forgetUser
  // marks: else, the first user's page still loading (their usage on its way), the next user's log-in did nothing.
  var signingIn = null;

  function oneAtATime(attempt) {
    if (signingIn) return;
    var thisAttempt = {};
    var asked = session;
    signingIn = thisAttempt;
    attempt()
      .then(showPage)
      .then(function () { if (asked === session) focusHeading(); })
      .catch(report(byId('sign-in-message')))
      .then(function () { if (signingIn === thisAttempt) signingIn = null; });
  }

  byId('sign-in-form').addEventListener('submit', function (event) {
    event.preventDefault();
    oneAtATime(function () { return logIn(byId('username').value, byId('password').value); });
  });
  byId('sign-up').addEventListener('click', function () {
    var email = byId('username').value;
    var password = byId('password').value;
    oneAtATime(function () {
      return api('/users/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: email, password: password }),
        anonymous: true,
      }).then(json).then(function () { return logIn(email, password); });
    });
  });
  if (page === '/language-models') setUpPlayground();

  /** What a load of the page shows: the page of the user whose token the tab holds, else the form. */
  function load() {
    if (!storage.getItem(TOKEN_ITEM)) return showSignIn('');
    // Anything but a 401 (which showed the form already): the server restarting, the network down, a 500. The form
    // and its message are shown, else the message went into a hidden section and the page stayed empty.
    showPage().catch(function (error) {
      if (error instanceof SignedOut) return;
      showSignIn('');
      say(byId('sign-in-message'), 'Could not load your account (' + (error && error.message ? error.message : String(error)) + '): reload the page, or log in again.');
    });
  }

  // The browser's back-forward cache keeps a page left as it was, and "Back" shows it again without loading it: a key
  // typed and not saved was still in its field, and after "Log out" on another page, "Back" showed the user who had
  // logged out, their email, hints and usage, to whoever came next. So a page left keeps nothing of the user's, and
  // one shown again from the cache loads as a new one would, for whoever the tab's token names now.
  window.addEventListener('pagehide', function () {
    forgetUser();
    byId('content').hidden = true;
    byId('signed-in').hidden = true;
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) load();
  });
  load();
}

if (typeof document !== 'undefined') start(document, window);
`;
