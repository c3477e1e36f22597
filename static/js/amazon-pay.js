// Wires Amazon's buttons to the page (Amazon Pay steps "button" on the cart and product pages,
// "Change" on the review page, Sign in with Amazon, the saved wallet's update). Every value comes
// from the server, as JSON in <script type="application/json"> blocks or a fetch answer: the
// signed payload reaches checkout.js byte for byte.
"use strict";

function readOptions(id) {
  const block = document.getElementById(id);
  return block ? JSON.parse(block.textContent) : null;
}

function showAmazonPayError() {
  const message = document.querySelector(".amazon-pay-error");
  if (message) message.hidden = false;
}

// Product page: the decoupled button (placement "Product"). A click adds the product and the
// chosen quantity to the cart (a fetch POST with the form's CSRF token); the shop answers the
// button options for that cart, with its signed payload, and checkout starts from there.
function renderExpressButton(options) {
  const host = document.getElementById("AmazonPayButton");
  const form = document.getElementById("buy");
  const quantity = form.elements.quantity;
  const problem = document.getElementById("quantity-problem");
  const button = amazon.Pay.renderButton("#AmazonPayButton", options);
  let busy = false; // a double click adds the product once
  window.addEventListener("pageshow", () => {
    busy = false; // back from Amazon's page (the back/forward cache keeps this script's state)
  });
  const refuse = (message) => {
    problem.textContent = message;
    quantity.setAttribute("aria-invalid", "true");
    quantity.focus();
    busy = false;
  };
  button.onClick(async () => {
    if (busy) return;
    busy = true;
    problem.textContent = "";
    quantity.removeAttribute("aria-invalid");
    let answer;
    try {
      // Accept: JSON, so a refused form (an expired page) is answered as JSON, not by a redirect.
      answer = await fetch(host.dataset.expressUrl, {
        method: "POST", body: new FormData(form), headers: { Accept: "application/json" },
      });
    } catch {
      refuse("We could not reach the shop. Please check your connection and try again.");
      return;
    }
    // JSON from the shop; anything else is a page (an expired form, a server error).
    const json = (answer.headers.get("Content-Type") || "").startsWith("application/json");
    const body = json ? await answer.json() : {};
    if (!answer.ok || !body.createCheckoutSessionConfig) {
      refuse(body.refused || "This page has expired. Please reload it and try again.");
      return;
    }
    // The cart decides the productType: a download in a cart with other goods is shipped too.
    if (body.productType !== options.productType) {
      amazon.Pay.initCheckout(body);
      return;
    }
    button.updateButtonInfo(body.estimatedOrderAmount);
    button.initCheckout({
      createCheckoutSessionConfig: body.createCheckoutSessionConfig,
      estimatedOrderAmount: body.estimatedOrderAmount,
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const buttonOptions = readOptions("amazon-pay-button-options");
  const expressOptions = readOptions("amazon-pay-express-options");
  const changeOptions = readOptions("amazon-pay-change-options");
  const signInOptions = readOptions("amazon-pay-signin-options");
  const updateOptions = readOptions("amazon-pay-update-options");
  const signOut = readOptions("amazon-pay-signout");
  const anyButton = buttonOptions || expressOptions || changeOptions || signInOptions || updateOptions;
  if (anyButton && !(window.amazon && window.amazon.Pay)) {
    showAmazonPayError(); // checkout.js did not load (network, CSP, ad blocker)
    return;
  }
  if (buttonOptions) {
    // Cart page: Amazon Pay step "button". Amazon creates the Checkout Session from the signed payload.
    amazon.Pay.renderButton("#AmazonPayButton", buttonOptions);
  }
  if (expressOptions) {
    renderExpressButton(expressOptions);
  }
  if (changeOptions) {
    // Review page: "Change" sends the buyer to Amazon and back to this page.
    const id = changeOptions.amazonCheckoutSessionId;
    if (document.getElementById("changeAddress")) {
      amazon.Pay.bindChangeAction("#changeAddress", { amazonCheckoutSessionId: id, changeAction: "changeAddress" });
    }
    amazon.Pay.bindChangeAction("#changePayment", { amazonCheckoutSessionId: id, changeAction: "changePayment" });
  }
  if (signInOptions) {
    // Account page: Sign in with Amazon; Amazon returns to signInReturnUrl?buyerToken=...
    amazon.Pay.renderButton("#AmazonSignIn", signInOptions);
  }
  if (signOut && window.amazon && window.amazon.Pay) {
    amazon.Pay.signout(); // the shop signed the buyer out: end the Amazon session in this browser too
  }
  if (updateOptions) {
    // Saved wallet: Amazon's hosted update page. Amazon's own advice: initCheckout with the
    // same setupOnly payload where the loaded checkout.js has no initUpdate.
    document.getElementById("updateWallet").addEventListener("click", () => {
      const start = typeof amazon.Pay.initUpdate === "function" ? amazon.Pay.initUpdate : amazon.Pay.initCheckout;
      start.call(amazon.Pay, updateOptions);
    });
  }
});

// Place Order: one click is one submit (the server is idempotent anyway).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.hasAttribute("data-submit-once")) return;
  if (form.dataset.submitted) {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "true";
});
