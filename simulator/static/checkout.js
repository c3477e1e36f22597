/*
 * Amazon Pay checkout.js: the offline simulator's stand-in for Amazon's regional builds
 * (https://static-na.payments-amazon.com/checkout.js, static-eu…, static-fe…; options:
 * https://developer.amazon.com/docs/amazon-pay-checkout/amazon-pay-script.html).
 *
 * Served at /static-na/checkout.js, /static-eu/checkout.js and /static-fe/checkout.js; the
 * simulator writes the region's allow-lists into the REGION line below, as each regional
 * build of Amazon's script carries its own. It defines window.amazon.Pay with renderButton,
 * initCheckout, bindChangeAction, bindUpgradeAction and signout (plus changePaymentMethod,
 * changeShippingAddress, changeAccount, switchAccount, and initUpdate, which Amazon documents but its
 * published builds lack: served only at checkout.js?with=initUpdate), validates options as Amazon's
 * script does and throws the same "AmazonPay:" strings. A click submits the same hidden
 * form POST to <simulator>/checkout/initiate as Amazon's script does, always in redirect
 * mode, never in a popup.
 *
 * Everything that differs from Amazon is marked SIMULATOR CHOICE. No network call is made
 * until the buyer acts: no A/B test, metrics or account-status requests.
 */
(function () {
  "use strict";

  // The simulator replaces the next line with the allow-lists of the region it serves.
  var REGION = {"script": "na", "ledgerCurrencies": ["USD"], "languages": ["en_US"], "defaultLanguage": "en_US"};
  // ... and this one with what it serves beyond Amazon's published builds (?with=initUpdate).
  var FEATURES = {"initUpdate": false};

  var DEFAULT_ALGORITHM = "AMZN-PAY-RSASSA-PSS"; // what Amazon's script sends when algorithm is omitted
  var REQUIRED = ["merchantId", "ledgerCurrency", "placement"];
  var PLACEMENTS = ["Home", "Product", "Cart", "Checkout", "Other"];
  var PRODUCT_TYPES = ["PayAndShip", "PayOnly", "SignIn"]; // SIMULATOR CHOICE: no Donation / MultiAddress
  var CHANGE_ACTIONS = ["changeAddress", "changePayment"];
  var UPGRADE_ACTIONS = ["recurringUpgrade", "recurringUpdate"];
  var COLORS = {Gold: "gold", LightGray: "gray", DarkGray: "ink"};
  var AMOUNT_CURRENCIES = ["AUD", "GBP", "DKK", "EUR", "HKD", "JPY", "NZD", "NOK", "ZAR", "SEK", "CHF", "USD"];
  var ORIGIN = scriptOrigin();

  /** The simulator's origin, from this script's own URL: it is also where Amazon's pages live. */
  function scriptOrigin() {
    var script = document.currentScript;
    if (!script || !script.src) {
      var scripts = document.getElementsByTagName("script");
      for (var i = scripts.length - 1; i >= 0; i--) {
        if (/\/static-(na|eu|fe)\/checkout\.js(?:[?#]|$)/.test(scripts[i].src)) {
          script = scripts[i];
          break;
        }
      }
    }
    return script && script.src ? new URL(script.src, location.href).origin : location.origin;
  }

  function problem(lines) {
    return "AmazonPay:\n" + lines.join("\n");
  }

  function isBlank(value) {
    return value === undefined || value === null || value === "";
  }

  function findElement(selector) {
    if (typeof selector !== "string") {
      return selector && selector.nodeType === 1 ? selector : null;
    }
    try {
      return document.querySelector(selector);
    } catch (e) {
      return null; // an invalid selector finds nothing, as for Amazon
    }
  }

  function describe(selector) {
    return typeof selector === "string" ? selector : String(selector);
  }

  function checkEnum(errors, options, name, allowed) {
    var value = options[name];
    if (!isBlank(value) && allowed.indexOf(value) === -1) {
      errors.push(
        "Invalid value '" + value + "' for '" + name + "', please use one of the available values: " +
          allowed.join(", ") + "."
      );
    }
  }

  function keyPrefix(id) {
    var upper = String(id).toUpperCase();
    return upper.indexOf("SANDBOX-") === 0 ? "SANDBOX" : upper.indexOf("LIVE-") === 0 ? "LIVE" : null;
  }

  function configName(options) {
    return options.productType === "SignIn" ? "signInConfig" : "createCheckoutSessionConfig";
  }

  /** The config with the top-level publicKeyId filled in, as Amazon's script does. */
  function mergedConfig(config, publicKeyId) {
    var merged = {};
    for (var name in config) {
      if (Object.prototype.hasOwnProperty.call(config, name)) merged[name] = config[name];
    }
    merged.publicKeyIdMismatch = false;
    if (isBlank(merged.publicKeyId)) {
      merged.publicKeyId = publicKeyId;
    } else if (!isBlank(publicKeyId) && publicKeyId !== merged.publicKeyId) {
      merged.publicKeyIdMismatch = true;
    }
    return merged;
  }

  function checkConfig(errors, name, config, publicKeyId) {
    if (typeof config !== "object" || config === null) {
      errors.push("Invalid value '" + config + "' for '" + name + "', please check again.");
      return;
    }
    var merged = mergedConfig(config, publicKeyId);
    ["payloadJSON", "signature", "publicKeyId"].forEach(function (field) {
      if (isBlank(merged[field])) errors.push("Missing field " + field + " for " + name + " parameter.");
    });
  }

  /** Every check of Amazon's script, in one pass: one line per problem. */
  function optionErrors(options, requireConfig) {
    var errors = [];
    REQUIRED.forEach(function (name) {
      if (isBlank(options[name])) errors.push("Missing parameter '" + name + "' in the options object.");
    });
    checkEnum(errors, options, "ledgerCurrency", REGION.ledgerCurrencies);
    checkEnum(errors, options, "checkoutLanguage", REGION.languages);
    checkEnum(errors, options, "productType", PRODUCT_TYPES);
    checkEnum(errors, options, "placement", PLACEMENTS);
    if (options.publicKeyId === "") errors.push("Invalid value '' for 'publicKeyId', please check again.");
    if (typeof options.sandbox === "boolean") {
      keyIds(options).forEach(function (id) {
        var prefix = keyPrefix(id);
        if ((prefix === "SANDBOX" && !options.sandbox) || (prefix === "LIVE" && options.sandbox)) {
          errors.push("PublicKeyId '" + id + "' does not match 'sandbox: " + options.sandbox + "'. Please check again.");
        }
      });
    }
    var wanted = configName(options);
    var other = wanted === "signInConfig" ? "createCheckoutSessionConfig" : "signInConfig";
    if (!isBlank(options[wanted])) {
      checkConfig(errors, wanted, options[wanted], options.publicKeyId);
    } else if (requireConfig || !isBlank(options[other])) {
      // SIMULATOR CHOICE: a config that does not fit the productType is reported as missing.
      errors.push("Missing parameter '" + wanted + "' in the options object.");
    }
    return errors;
  }

  function keyIds(options) {
    var ids = [];
    [options.publicKeyId, (options.createCheckoutSessionConfig || {}).publicKeyId, (options.signInConfig || {}).publicKeyId]
      .forEach(function (id) {
        if (typeof id === "string" && id && ids.indexOf(id) === -1) ids.push(id);
      });
    return ids;
  }

  function isSandbox(options) {
    if (typeof options.sandbox === "boolean") return options.sandbox;
    return keyIds(options).some(function (id) {
      return keyPrefix(id) === "SANDBOX";
    });
  }

  function browserLanguage() {
    var wanted = (navigator.languages || [navigator.language || ""]).map(function (tag) {
      return String(tag).replace("-", "_");
    });
    for (var i = 0; i < wanted.length; i++) {
      if (REGION.languages.indexOf(wanted[i]) !== -1) return wanted[i];
    }
    return REGION.defaultLanguage;
  }

  /** estimatedOrderAmount, if Amazon's script would keep it; otherwise logged and dropped. */
  function checkedAmount(amount) {
    if (isBlank(amount)) return null;
    var currency = amount && amount.currencyCode;
    var text = amount && amount.amount !== undefined && amount.amount !== null ? String(amount.amount) : "";
    var digits = currency === "JPY" ? 0 : 2;
    var pattern = digits ? /^\d+(\.\d{1,2})?$/ : /^\d+$/;
    if (AMOUNT_CURRENCIES.indexOf(currency) === -1 || !pattern.test(text) || !(Number(text) > 0)) {
      console.error("AmazonPay: ignoring invalid estimatedOrderAmount " + JSON.stringify(amount) + ".");
      return null;
    }
    return {amount: text, currencyCode: currency};
  }

  function settingsFrom(options) {
    return {
      merchantId: String(options.merchantId),
      ledgerCurrency: options.ledgerCurrency,
      checkoutLanguage: options.checkoutLanguage || browserLanguage(),
      productType: options.productType || "PayAndShip",
      placement: options.placement,
      sandbox: isSandbox(options),
      buttonColor: COLORS[options.buttonColor] ? options.buttonColor : "Gold",
      design: options.design,
      publicKeyId: options.publicKeyId,
      scopes: options.scopes,
      platformConnectionId: options.platformConnectionId,
      estimatedOrderAmount: checkedAmount(options.estimatedOrderAmount),
    };
  }

  function setCookie(name, value) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=86400; SameSite=Lax";
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  /** The click: a hidden top-level form POST to the hosted pages, as Amazon's script makes. */
  function submitCheckout(settings, config) {
    var merged = mergedConfig(config, settings.publicKeyId);
    var fields = {
      payloadJSON: merged.payloadJSON,
      signature: merged.signature,
      publicKeyId: merged.publicKeyId,
      publicKeyIdMismatch: merged.publicKeyIdMismatch,
      algorithm: merged.algorithm || DEFAULT_ALGORITHM,
      checkoutLanguage: settings.checkoutLanguage,
      ledgerCurrency: settings.ledgerCurrency,
      merchantId: settings.merchantId,
      productType: settings.productType,
      placement: settings.placement,
      environment: settings.sandbox ? "SANDBOX" : "LIVE",
      sandbox: settings.sandbox,
      scopes: settings.scopes,
      merchantDomain: location.hostname,
      origin_url: location.href,
      viewType: "redirectView",
      estimatedOrderAmount: settings.estimatedOrderAmount,
      platformConnectionId: settings.platformConnectionId,
      authorizationToken: merged.authorizationToken,
    };
    setCookie("language", settings.checkoutLanguage);
    setCookie("ledgerCurrency", settings.ledgerCurrency);
    postForm(fields);
  }

  /** The hidden form Amazon's script posts to <origin>/checkout/initiate. */
  function postForm(fields) {
    var form = document.createElement("form");
    form.method = "POST";
    form.name = "amazonpay-checkout-signature-data-form";
    form.action = ORIGIN + "/checkout/initiate";
    form.acceptCharset = "UTF-8";
    form.style.display = "none";
    Object.keys(fields).forEach(function (name) {
      var value = fields[name];
      if (value === undefined || value === null) return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = typeof value === "object" && !Array.isArray(value) ? JSON.stringify(value) : String(value);
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  // -- drawing ---------------------------------------------------------------------------------
  // Styles are set through the CSSOM (element.style), which a Content-Security-Policy without
  // 'unsafe-inline' still allows; no <style> element, no external asset.

  var PALETTE = {
    gold: {background: "#ffd814", border: "#fcd200", color: "#0f1111"},
    gray: {background: "#e7e9ec", border: "#adb1b8", color: "#0f1111"},
    ink: {background: "#232f3e", border: "#131a22", color: "#ffffff"},
  };

  function node(tag, className, style, text) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    if (style) Object.assign(element.style, style);
    if (text) element.textContent = text;
    return element;
  }

  /** The root to draw into: an open shadow root where the element allows one, as Amazon's script. */
  function drawingRoot(element) {
    if (element.shadowRoot) return element.shadowRoot;
    try {
      return element.attachShadow({mode: "open", delegatesFocus: true}); // focus() on the host reaches view1
    } catch (e) {
      return element; // <button>, <a> and the like cannot host a shadow root
    }
  }

  function clear(element) {
    if (element.shadowRoot) element.shadowRoot.replaceChildren();
    element.replaceChildren();
  }

  /** The words under the logo. The button's accessible name is "Amazon Pay - " and these words
   * (Amazon's label), so what a sighted buyer reads is what a screen reader says (WCAG 2.5.3). */
  function microtext(settings) {
    if (settings.productType === "SignIn") return "Sign in with Amazon";
    return settings.sandbox ? "Use your Amazon Pay Sandbox test account" : "Use your Amazon account";
  }

  function label(settings) {
    return "Amazon Pay - " + microtext(settings);
  }

  function drawButton(element, settings) {
    clear(element);
    element.style.position = "relative";
    element.style.cursor = "pointer";
    element.setAttribute("role", "button");
    element.setAttribute("aria-label", label(settings));
    element.setAttribute("title", label(settings));
    element.classList.add("amazonpay-button-parent-container-checkout-" + settings.merchantId);
    element.setAttribute("data-amazonpay-simulator", ORIGIN);
    var colour = COLORS[settings.buttonColor];
    var palette = PALETTE[colour];
    var root = drawingRoot(element);
    var container = node("div", "amazonpay-button-container amazonpay-button-enabled", {
      display: "flex",
      flexDirection: "column",
      alignItems: "stretch",
      minWidth: "200px",
      maxWidth: "600px",
      fontFamily: "Arial, Helvetica, sans-serif",
    });
    container.id = "maxo-button-wrapper-" + Date.now();
    var view1 = node("div", "amazonpay-button-view1 amazonpay-button-view1-" + colour, {
      display: "flex",
      alignItems: "center",
      justifyContent: "center",
      gap: "8px",
      height: "45px",
      boxSizing: "border-box",
      padding: "0 12px",
      borderRadius: "8px",
      border: "1px solid " + palette.border,
      background: palette.background,
      color: palette.color,
      userSelect: "none",
    });
    view1.tabIndex = 0;
    view1.appendChild(
      node("span", "amazonpay-button-logo", {fontWeight: "bold", fontSize: "18px", letterSpacing: "0.5px"}, "amazon pay")
    );
    view1.appendChild(node("span", "amazonpay-button-chevrons", {fontSize: "18px"}, "\u203a"));
    container.appendChild(view1);
    container.appendChild(node("div", "amazonpay-button-view2"));
    if (settings.design !== "C0001") {
      container.appendChild(
        node(
          "div",
          "amazonpay-button-view3",
          {fontSize: "12px", color: "#565959", textAlign: "center", marginTop: "4px"},
          microtext(settings) + " (Amazon Pay simulator)"
        )
      );
    }
    root.appendChild(container);
  }

  /** A readable red message where the button (or the change link) should be. */
  function showError(element, message, after) {
    var box = node(
      "div",
      "amazonpay-simulator-error",
      {
        color: "#b12704",
        background: "#fff5f5",
        border: "1px solid #b12704",
        borderRadius: "4px",
        padding: "8px",
        font: "14px/1.4 Arial, Helvetica, sans-serif",
        whiteSpace: "pre-line",
      },
      message
    );
    box.setAttribute("role", "alert");
    if (after) {
      var next = element.nextElementSibling;
      if (next && next.classList.contains("amazonpay-simulator-error")) next.remove();
      element.insertAdjacentElement("afterend", box);
      return;
    }
    clear(element);
    ["role", "aria-label", "title"].forEach(function (name) {
      element.removeAttribute(name);
    });
    if (element.shadowRoot) element.shadowRoot.appendChild(document.createElement("slot"));
    element.appendChild(box);
  }

  /** One listener per element and purpose: rendering or binding again replaces it. */
  function listen(element, key, handler) {
    var store = element.__amazonPaySimulator || (element.__amazonPaySimulator = {});
    if (store[key]) {
      element.removeEventListener("click", store[key].click);
      element.removeEventListener("keydown", store[key].keydown);
    }
    // Links and buttons turn Enter into a click themselves; a <div> host needs Enter and Space, as
    // any role="button" (the WAI-ARIA button pattern).
    var native = /^(A|BUTTON|INPUT|SUMMARY)$/.test(element.tagName);
    store[key] = {
      click: function (event) {
        event.preventDefault();
        handler();
      },
      keydown: function (event) {
        if ((event.key === "Enter" || event.key === " ") && !native) {
          event.preventDefault();
          handler();
        }
      },
    };
    element.addEventListener("click", store[key].click);
    element.addEventListener("keydown", store[key].keydown);
  }

  // -- the API -----------------------------------------------------------------------------------

  function renderButton(selector, options) {
    var element = null;
    try {
      if (isBlank(selector)) {
        throw problem(["Missing 'selector' parameter in amazon.Pay.renderButton(selector, options) API."]);
      }
      element = findElement(selector);
      if (!options || typeof options !== "object") {
        throw problem(["Missing 'options' parameter in amazon.Pay.renderButton(selector, options) API."]);
      }
      if (!element) throw problem(["Can not find element " + describe(selector) + " for amazon.Pay.renderButton."]);
      var errors = optionErrors(options, false);
      if (errors.length) throw problem(errors);
    } catch (thrown) {
      if (element) showError(element, String(thrown), false);
      console.error(thrown);
      throw thrown;
    }
    var settings = settingsFrom(options);
    var config = options[configName(options)];
    drawButton(element, settings);
    var button = {
      updateButtonInfo: function (amount) {
        var checked = checkedAmount(amount);
        if (checked) settings.estimatedOrderAmount = checked;
      },
    };
    if (config) {
      listen(element, "button", function () {
        submitCheckout(settings, config);
      });
      return settings.productType === "SignIn" ? undefined : button;
    }
    // Decoupled: the merchant's onClick decides when to start checkout (amazon-pay-script.html, above).
    var onClick = null;
    listen(element, "button", function () {
      if (onClick) onClick(button);
    });
    button.onClick = function (callback) {
      onClick = typeof callback === "function" ? callback : null;
    };
    button.initCheckout = function (request) {
      request = request || {};
      var name = configName(settings);
      var errors = [];
      if (isBlank(request[name])) {
        errors.push("Missing parameter '" + name + "' in the options object.");
      } else {
        checkConfig(errors, name, request[name], settings.publicKeyId);
      }
      if (errors.length) {
        console.error(problem(errors));
        throw problem(errors);
      }
      if (!settings.estimatedOrderAmount) settings.estimatedOrderAmount = checkedAmount(request.estimatedOrderAmount);
      if (request.platformConnectionId) settings.platformConnectionId = request.platformConnectionId;
      submitCheckout(settings, request[name]);
    };
    return button;
  }

  function initCheckout(options) {
    if (!options || typeof options !== "object") {
      throw problem(["Missing 'options' parameter in amazon.Pay.initCheckout(options) API."]);
    }
    var errors = optionErrors(options, true);
    if (errors.length) {
      console.error(problem(errors));
      throw problem(errors);
    }
    var settings = settingsFrom(options);
    submitCheckout(settings, options[configName(options)]);
  }

  /** The signed payload as an object, or null if it is not JSON (a string payload is parsed). */
  function payloadObject(payloadJSON) {
    if (payloadJSON && typeof payloadJSON === "object") return payloadJSON;
    try {
      var parsed = JSON.parse(String(payloadJSON));
      return parsed && typeof parsed === "object" ? parsed : null;
    } catch (e) {
      return null;
    }
  }

  /** What makes a payload an update of a saved wallet (Amazon's hosted update page, see initUpdate). */
  function updatePayloadErrors(payloadJSON) {
    var where = " in createCheckoutSessionConfig.payloadJSON for amazon.Pay.initUpdate.";
    var payload = payloadObject(payloadJSON);
    if (!payload) return ["Invalid value for 'payloadJSON': it is not a JSON object" + where];
    var errors = [];
    if (payload.chargePermissionType !== "PaymentMethodOnFile") {
      errors.push(
        "Invalid value '" + payload.chargePermissionType + "' for 'chargePermissionType', expected " +
          "'PaymentMethodOnFile'" + where
      );
    }
    if (isBlank(payload.chargePermissionId)) errors.push("Missing field chargePermissionId" + where);
    if (!payload.paymentMethodOnFileMetadata || payload.paymentMethodOnFileMetadata.setupOnly !== true) {
      errors.push("Missing field paymentMethodOnFileMetadata.setupOnly: true" + where);
    }
    var intent = payload.paymentDetails && payload.paymentDetails.paymentIntent;
    if (intent !== "Confirm") {
      errors.push("Invalid value '" + intent + "' for 'paymentDetails.paymentIntent', expected 'Confirm'" + where);
    }
    return errors;
  }

  /**
   * SIMULATOR CHOICE: Amazon's published builds have no initUpdate; its saved-wallet docs call
   * initCheckout with the same update payload:
   * https://developer.amazon.com/docs/amazon-pay-paymentmethodonfile/steps-to-integrate-with-amazon-pay-hosted-update-page.html
   * This is initCheckout that also insists on that payload: PaymentMethodOnFile,
   * chargePermissionId, setupOnly, Confirm.
   */
  function initUpdate(options) {
    if (!options || typeof options !== "object") {
      throw problem(["Missing 'options' parameter in amazon.Pay.initUpdate(options) API."]);
    }
    var errors = optionErrors(options, true);
    if (!errors.length && options.productType === "SignIn") {
      errors.push(
        "Invalid value 'SignIn' for 'productType', please use one of the available values: PayAndShip, PayOnly."
      );
    }
    if (!errors.length) errors = updatePayloadErrors(options.createCheckoutSessionConfig.payloadJSON);
    if (errors.length) {
      console.error(problem(errors));
      throw problem(errors);
    }
    submitCheckout(settingsFrom(options), options.createCheckoutSessionConfig);
  }

  function changeUrl(options) {
    var query = new URLSearchParams({
      amazonCheckoutSessionId: options.amazonCheckoutSessionId,
      changeAction: options.changeAction,
      viewType: "redirectView",
    });
    return ORIGIN + "/checkout/initiate_auth?" + query.toString();
  }

  function changeErrors(options, api) {
    var errors = [];
    if (isBlank(options.amazonCheckoutSessionId)) {
      errors.push("Missing field amazonCheckoutSessionId in the options object in amazon.Pay." + api + " API.");
    }
    if (isBlank(options.changeAction)) {
      errors.push("Missing field changeAction in the options object in amazon.Pay." + api + " API.");
    } else {
      checkEnum(errors, options, "changeAction", CHANGE_ACTIONS);
    }
    return errors;
  }

  function bindChangeAction(selector, options) {
    var element = null;
    try {
      if (isBlank(selector)) {
        throw problem(["Missing 'selector' parameter in amazon.Pay.bindChangeAction(selector, options) API."]);
      }
      element = findElement(selector);
      if (!options || typeof options !== "object") {
        throw problem(["Missing 'options' parameter in amazon.Pay.bindChangeAction(selector, options) API."]);
      }
      if (!element) throw problem(["Can not find element " + describe(selector) + " for amazon.Pay.bindChangeAction."]);
      var errors = changeErrors(options, "bindChangeAction");
      if (errors.length) throw problem(errors);
    } catch (thrown) {
      if (element) showError(element, String(thrown), true);
      console.error(thrown);
      throw thrown;
    }
    var url = changeUrl(options);
    listen(element, "change", function () {
      location.assign(url);
    });
  }

  function changeNow(api, changeAction) {
    return function (options) {
      options = options || {};
      var request = {amazonCheckoutSessionId: options.amazonCheckoutSessionId, changeAction: changeAction};
      var errors = changeErrors(request, api);
      if (errors.length) throw problem(errors);
      location.assign(changeUrl(request));
    };
  }

  /**
   * Amazon's published builds have bindUpgradeAction(selector, {payloadJSON, signature,
   * publicKeyId, upgradeAction, algorithm?}): on a click it posts the signed payload with
   * upgradeAction (recurringUpgrade or recurringUpdate) to /checkout/initiate. The same here;
   * SIMULATOR CHOICE: the simulator answers that post with an error page saying recurring
   * upgrades are not simulated (docs/simulator.md, Known differences).
   */
  function bindUpgradeAction(selector, options) {
    var element = null;
    try {
      if (isBlank(selector)) {
        throw problem(["Missing 'selector' parameter in amazon.Pay.bindUpgradeAction(selector, options) API."]);
      }
      element = findElement(selector);
      if (!options || typeof options !== "object") {
        throw problem(["Missing 'options' parameter in amazon.Pay.bindUpgradeAction(selector, options) API."]);
      }
      if (!element) throw problem(["Can not find element " + describe(selector) + " for amazon.Pay.bindUpgradeAction."]);
      var errors = [];
      ["payloadJSON", "signature", "publicKeyId", "upgradeAction"].forEach(function (field) {
        if (isBlank(options[field])) errors.push("Missing field " + field + " in the options object.");
      });
      if (!isBlank(options.upgradeAction)) checkEnum(errors, options, "upgradeAction", UPGRADE_ACTIONS);
      if (errors.length) throw problem(errors);
    } catch (thrown) {
      if (element) showError(element, String(thrown), true);
      console.error(thrown);
      throw thrown;
    }
    listen(element, "upgrade", function () {
      postForm({
        payloadJSON: typeof options.payloadJSON === "object" ? JSON.stringify(options.payloadJSON) : options.payloadJSON,
        signature: options.signature,
        publicKeyId: options.publicKeyId,
        algorithm: options.algorithm || DEFAULT_ALGORITHM,
        upgradeAction: options.upgradeAction,
        environment: keyPrefix(options.publicKeyId) === "LIVE" ? "LIVE" : "SANDBOX",
        origin_url: location.href,
      });
    });
  }

  /**
   * Amazon's newer builds have switchAccount({merchantId, signInConfig, placement, sandbox}): it
   * sends the buyer to sign in with another Amazon account, then to signInReturnUrl. SIMULATOR
   * CHOICE: the simulator has no /checkout/switch-account page, so this signs the buyer out and
   * starts Sign in with Amazon with the same signInConfig (the same end: another sign-in).
   */
  function switchAccount(options) {
    if (!options || typeof options !== "object") {
      throw problem(["Missing 'options' parameter in amazon.Pay.switchAccount(options) API."]);
    }
    var config = options.signInConfig || options.SignInConfig;
    var request = {};
    Object.keys(options).forEach(function (name) {
      request[name] = options[name];
    });
    delete request.SignInConfig;
    request.signInConfig = config;
    request.productType = "SignIn";
    request.ledgerCurrency = request.ledgerCurrency || REGION.ledgerCurrencies[0];
    var errors = optionErrors(request, true);
    if (errors.length) {
      console.error(problem(errors));
      throw problem(errors);
    }
    return signout(function () {
      submitCheckout(settingsFrom(request), config);
    });
  }

  /** Ends the buyer's session on the simulator's pages (a credentialed cross-origin call). */
  function signout(callback) {
    var language = readCookie("language");
    var url = ORIGIN + "/checkout/signout" + (language ? "?language=" + encodeURIComponent(language) : "");
    var done = function () {
      if (typeof callback === "function") callback();
    };
    return fetch(url, {method: "GET", credentials: "include"})
      .then(function (response) {
        return response.json();
      })
      .then(
        function (body) {
          if (body && body.result) console.log("AmazonPay: the buyer is signed out.");
          done();
          return body;
        },
        function (error) {
          console.error("AmazonPay: signout failed: " + error);
          done();
        }
      );
  }

  window.amazon = window.amazon || {};
  window.amazon.Pay = {
    renderButton: renderButton,
    initCheckout: initCheckout,
    bindChangeAction: bindChangeAction,
    bindUpgradeAction: bindUpgradeAction,
    signout: signout,
    switchAccount: switchAccount,
    changePaymentMethod: changeNow("changePaymentMethod", "changePayment"),
    changeShippingAddress: changeNow("changeShippingAddress", "changeAddress"),
    changeAccount: function (options) {
      return signout(options && options.callback);
    },
  };
  if (FEATURES.initUpdate) window.amazon.Pay.initUpdate = initUpdate;
})();
