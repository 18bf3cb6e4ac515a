// The payment page: Stripe.js saves the card (confirmCardSetup), our server charges it, and a card that
// needs authentication is confirmed with confirmCardPayment. No inline script: the CSP forbids it.
(function () {
  "use strict";

  var form = document.getElementById("card-form");
  var authButton = document.getElementById("authenticate-button");
  var progress = document.getElementById("card-progress");
  if (!form && !authButton) {
    return;
  }
  if (typeof Stripe === "undefined") {
    var missing = document.getElementById("stripe-missing");
    if (missing) {
      missing.hidden = false;
    }
    return;
  }

  var stripe = Stripe((form && form.dataset.publishableKey) || "pk_test_localstripe");
  var statusUrl = form ? form.dataset.statusUrl : window.location.pathname.replace(/\/pay$/, "");
  var errors = document.getElementById("card-errors");

  function say(message) {
    if (progress) {
      progress.textContent = message || "";
    }
  }

  function showError(message) {
    if (errors) {
      errors.textContent = message || "";
    } else if (message) {
      say(message);
    }
  }

  async function authenticate(clientSecret) {
    say("Waiting for your bank's confirmation…");
    var result = await stripe.confirmCardPayment(clientSecret);
    if (result.error) {
      say("");
      showError((result.error.message || "Your bank did not confirm the payment.") + " You can try again.");
      return false;
    }
    window.location.assign(statusUrl);
    return true;
  }

  if (authButton) {
    authButton.hidden = false;
    authButton.addEventListener("click", async function () {
      authButton.disabled = true;
      var ok = await authenticate(authButton.dataset.clientSecret);
      if (!ok) {
        authButton.disabled = false;
      }
    });
  }

  if (!form) {
    return;
  }

  var csrf = form.querySelector("input[name=_csrf_token]");
  var button = document.getElementById("pay-button");
  var clientSecret = form.dataset.clientSecret;
  var card = stripe.elements().create("card");
  form.hidden = false;
  card.mount("#card-element");

  // The emulator's stand-in renders plain inputs named only by placeholder: give each an accessible name.
  var names = {
    number: "Card number",
    exp_month: "Expiry month (MM)",
    exp_year: "Expiry year (YY)",
    cvc: "Security code (CVC)",
    postal_code: "ZIP code"
  };
  Array.prototype.forEach.call(document.querySelectorAll("#card-element input[placeholder]"), function (input) {
    var name = names[input.getAttribute("placeholder")];
    if (name) {
      input.setAttribute("aria-label", name);
      input.setAttribute("autocomplete", "off");
    }
  });

  // Real Stripe accepts a card number typed with spaces; the emulator's stand-in does not, so drop them as typed
  // (capture phase: before the stand-in reads the value).
  var cardElement = document.getElementById("card-element");
  cardElement.addEventListener("input", function (event) {
    if (event.target.getAttribute("placeholder") === "number") {
      var digits = event.target.value.replace(/[\s-]+/g, "");
      if (digits !== event.target.value) {
        event.target.value = digits;
      }
    }
  }, true);

  async function post(url, fields) {
    var body = new URLSearchParams(fields);
    if (csrf) {
      body.set("_csrf_token", csrf.value);
    }
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "x-csrftoken": csrf ? csrf.value : ""
      },
      body: body
    });
    var answer = {};
    try {
      answer = await response.json();
    } catch (e) {
      answer = {};
    }
    if (!response.ok && !answer.state) {
      answer.state = "failed";
      answer.message = answer.error || "Something went wrong. Reload the page and try again.";
    }
    return answer;
  }

  async function freshSetupSecret() {
    var answer = await post(form.dataset.setupUrl, {});
    if (!answer.client_secret) {
      throw new Error(answer.error || "Reload the page and try again.");
    }
    return answer.client_secret;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    showError("");
    say("Checking your card…");
    try {
      if (!clientSecret) {
        clientSecret = await freshSetupSecret();
      }
      var setup = await stripe.confirmCardSetup(clientSecret, {payment_method: {card: card}});
      if (setup.error) {
        clientSecret = null; // a declined SetupIntent cannot be reused: the next try asks for a new one
        say("");
        showError(setup.error.message || "Your card could not be saved. Check the details or use another card.");
        button.disabled = false;
        return;
      }
      say("Charging your card…");
      var answer = await post(form.action, {setup_intent: setup.setupIntent.id});
      if (answer.state === "succeeded") {
        window.location.assign(answer.redirect || statusUrl);
        return;
      }
      if (answer.state === "requires_action" && answer.client_secret) {
        if (await authenticate(answer.client_secret)) {
          return;
        }
      } else {
        say("");
        showError(answer.message || "Your card could not be charged.");
      }
      clientSecret = null;
      button.disabled = false;
    } catch (err) {
      clientSecret = null;
      say("");
      showError((err && err.message) || "Something went wrong. Reload the page and try again.");
      button.disabled = false;
    }
  });
})();
