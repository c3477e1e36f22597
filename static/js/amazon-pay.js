// Wires Amazon's buttons to the page. Every value comes from the server, as JSON in
// <script type="application/json"> blocks: the signed payload reaches checkout.js byte for byte.
"use strict";

function readOptions(id) {
  const block = document.getElementById(id);
  return block ? JSON.parse(block.textContent) : null;
}

function showAmazonPayError() {
  const message = document.querySelector(".amazon-pay-error");
  if (message) message.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const buttonOptions = readOptions("amazon-pay-button-options");
  const changeOptions = readOptions("amazon-pay-change-options");
  const signInOptions = readOptions("amazon-pay-signin-options");
  const updateOptions = readOptions("amazon-pay-update-options");
  const signOut = readOptions("amazon-pay-signout");
  if ((buttonOptions || changeOptions || signInOptions || updateOptions) && !(window.amazon && window.amazon.Pay)) {
    showAmazonPayError(); // checkout.js did not load (network, CSP, ad blocker)
    return;
  }
  if (buttonOptions) {
    // Cart page: Amazon Pay step "button". Amazon creates the Checkout Session from the signed payload.
    amazon.Pay.renderButton("#AmazonPayButton", buttonOptions);
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
