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
  if ((buttonOptions || changeOptions) && !(window.amazon && window.amazon.Pay)) {
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
