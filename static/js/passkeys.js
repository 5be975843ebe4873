// Passkeys (WebAuthn): the one thing the site cannot do without
// JavaScript, since only the browser's navigator.credentials can talk to a
// passkey. Each [data-passkey] box holds a button that is disabled in the
// HTML and enabled here when the browser can use passkeys; otherwise its
// status line says why not. A ceremony is two JSON requests with the CSRF
// token in X-CSRF-Token: the first fetches the options (and starts the
// ceremony on the server), the second posts what the authenticator
// answered; the server checks everything and answers where to go next.
//   data-passkey="register": add a passkey named by the box's name field
//   data-passkey="signin": sign in with a passkey (discoverable credential)
//   data-passkey="second": the second step of a sign-in halfway through
(function () {
  'use strict';
  var boxes = document.querySelectorAll('[data-passkey]');
  if (!boxes.length) return;

  var ENDPOINTS = {
    register: ['/account/passkeys/register', '/account/passkeys/register/finish'],
    signin: ['/login/passkey', '/login/passkey/finish'],
    second: ['/login/two-step/passkey', '/login/two-step/passkey/finish']
  };

  function fromB64url(s) {
    var b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) { c.id = fromB64url(c.id); });
  }

  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    decodeIds(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    decodeIds(pk.allowCredentials);
    return { publicKey: pk };
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var response;
    if (r.attestationObject) {
      response = {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      };
    } else {
      response = {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      };
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'X-CSRF-Token': csrf
      },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (res.ok) return json;
        var message = (json.fields && json.fields.name) || json.message ||
          'Something went wrong (' + res.status + '). Please try again.';
        throw new Error(message);
      });
    });
  }

  function setup(box) {
    var kind = box.getAttribute('data-passkey');
    var urls = ENDPOINTS[kind];
    var button = box.querySelector('button');
    var status = box.querySelector('[data-passkey-status]');
    var csrf = box.getAttribute('data-csrf') || '';
    if (!urls || !button || !status) return;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle('form-error', !!isError);
    }

    if (!window.PublicKeyCredential || !navigator.credentials || !window.isSecureContext) {
      say('This browser cannot use passkeys' +
        (window.isSecureContext ? '.' : ' here (the site is not on a secure connection).') +
        (kind === 'register' ? '' : ' Please use another way to sign in.'), true);
      return;
    }
    button.disabled = false;

    button.addEventListener('click', function (event) {
      event.preventDefault();
      var first = {};
      if (kind === 'register') {
        var name = box.querySelector('input[name="name"]');
        first.name = name ? name.value : '';
      }
      button.disabled = true;
      say(kind === 'register' ? 'Follow your browser\u2019s steps to create the passkey\u2026'
        : 'Follow your browser\u2019s steps to use your passkey\u2026', false);
      post(urls[0], csrf, first).then(function (options) {
        return kind === 'register'
          ? navigator.credentials.create(creationOptions(options))
          : navigator.credentials.get(requestOptions(options));
      }).then(function (cred) {
        var finish = urls[1];
        var next = box.getAttribute('data-next');
        if (next) finish += '?next=' + encodeURIComponent(next);
        return post(finish, csrf, credentialJSON(cred));
      }).then(function (done) {
        say('Done.', false);
        window.location.assign(done.redirect || '/');
      }).catch(function (err) {
        button.disabled = false;
        var text = err && err.name === 'NotAllowedError'
          ? 'The passkey request was cancelled or timed out. You can try again.'
          : (err && err.name === 'InvalidStateError'
            ? 'This device already holds a passkey for your account here.'
            : (err && err.message) || 'That did not work. Please try again.');
        say(text, true);
      });
    });
  }

  for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
})();
