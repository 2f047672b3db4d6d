// The web chat: shows the bot's turns, sends the person's answers to /api/chat, asks for notices now and then.
// No framework and no inline script (the Content-Security-Policy forbids it); text is always set as text.
"use strict";

(function () {
  const API = "/api/chat";
  const NOTICES = "/api/chat/notices";
  const NOTICE_EVERY_MS = 15000;
  // The server names these values (the page's data attributes), as it names the commands of the buttons below.
  const UNKNOWN = document.body.dataset.unknown; // "Je ne sais pas": on a several-choice question, it goes alone
  const CONFIRM = document.body.dataset.confirm; // the "Valider" button of a several-choice question
  const TEXTS = {
    bot: "Passerelle",
    person: "Vous",
    waiting: "Un instant, s'il vous plaît…",
    offline: "La connexion a été interrompue. Vérifiez votre connexion à internet, puis réessayez.",
    empty: "Écrivez votre réponse, ou choisissez un des boutons.",
    position: "Ma position",
    positionFailed: "Votre position n'a pas pu être trouvée. Vous pouvez écrire votre code postal ou votre commune.",
    positionWait: "Recherche de votre position…",
    choicesLabel: "Réponses possibles",
    severalLabel: "Plusieurs réponses possibles",
    typedDefault: "Ou écrivez votre réponse :",
    typedAlone: "Votre réponse :",
    typedLocation: "Votre code postal ou votre commune :",
    locationHint: "Par exemple : 69003 ou Villeurbanne",
    typedPhone: "Votre numéro de téléphone :",
    phoneHint: "Par exemple : 06 12 34 56 78",
    typedDone: "Pour recommencer, écrivez un message ou appuyez sur « Recommencer » :",
    call: "Appeler",
    map: "Voir sur la carte",
    newWindow: " (s'ouvre dans un nouvel onglet)",
  };

  const messages = document.getElementById("messages");
  const status = document.getElementById("status");
  const answer = document.getElementById("reponse");
  const choices = document.getElementById("choices");
  const position = document.getElementById("position");
  const usePosition = document.getElementById("use-position");
  const typed = document.getElementById("typed");
  const typedLabel = document.getElementById("typed-label");
  const typedInput = document.getElementById("typed-input");
  const typedHint = document.getElementById("typed-hint");

  let question = null; // the token of the question shown: sent back with button values
  let busy = false;
  let waitingTimer = null;
  let noticesRunning = false;
  let messageCount = 0;

  // ----- building blocks ------------------------------------------------------------------------------------
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, className, onClick, value) {
    const node = element("button", "button " + className, label);
    node.type = "button";
    if (value !== undefined) node.dataset.value = value;
    node.addEventListener("click", onClick);
    return node;
  }

  function addMessage(who, text, extraClass) {
    const item = element("div", "message " + who + (extraClass ? " " + extraClass : ""));
    item.id = "message-" + ++messageCount;
    item.tabIndex = -1;
    item.appendChild(element("span", "who", (who === "bot" ? TEXTS.bot : TEXTS.person) + " :"));
    item.appendChild(document.createTextNode(text));
    messages.appendChild(item);
    return item;
  }

  function addOffer(reply, offer) {
    const item = element("div", "message bot offer-item");
    item.id = "message-" + ++messageCount;
    item.tabIndex = -1;
    const card = element("article", "offer");
    card.setAttribute("aria-label", offer.name);
    const text = element("p", "offer-text");
    const at = reply.text.indexOf(offer.name);
    if (offer.name && at >= 0) {
      text.appendChild(document.createTextNode(reply.text.slice(0, at)));
      text.appendChild(element("strong", "", offer.name));
      text.appendChild(document.createTextNode(reply.text.slice(at + offer.name.length)));
    } else {
      text.textContent = reply.text;
    }
    card.appendChild(text);
    const actions = element("div", "offer-actions");
    const digits = (offer.phone || "").replace(/[^\d+]/g, "");
    if (digits) {
      const call = element("a", "button", TEXTS.call);
      call.href = "tel:" + digits;
      actions.appendChild(call);
    }
    if (offer.map_url) {
      const map = element("a", "button", TEXTS.map);
      map.href = offer.map_url;
      map.target = "_blank";
      map.rel = "noopener noreferrer";
      map.appendChild(element("span", "visually-hidden", TEXTS.newWindow));
      actions.appendChild(map);
    }
    if (actions.childNodes.length) card.appendChild(actions);
    item.appendChild(card);
    messages.appendChild(item);
    return item;
  }

  // « Garder la liste »: the printable list opens in its own tab, the conversation stays where it is.
  function addListLink(item, link) {
    const open = element("a", "button", link.label);
    open.href = link.url;
    open.target = "_blank";
    open.rel = "noopener";
    open.appendChild(element("span", "visually-hidden", TEXTS.newWindow));
    const actions = element("div", "offer-actions");
    actions.appendChild(open);
    item.appendChild(actions);
  }

    function setStatus(text) {
    status.textContent = text || "";
  }

  function setBusy(value) {
    busy = value;
    answer.setAttribute("aria-busy", value ? "true" : "false");
    document.querySelectorAll("#choices button, #typed button, [data-command], #use-position").forEach(
      function (node) { node.disabled = value; },
    );
    clearTimeout(waitingTimer);
    if (value) {
      waitingTimer = setTimeout(function () { setStatus(TEXTS.waiting); }, 400);
    } else {
      setStatus("");
    }
  }

  // ----- showing a turn -------------------------------------------------------------------------------------
  function showTurn(turn, moveFocus) {
    let first = null;
    turn.replies.forEach(function (reply) {
      const nodes = reply.offers.length
        ? reply.offers.map(function (offer) { return addOffer(reply, offer); })
        : [addMessage("bot", reply.text)];
      if (reply.list_link) addListLink(nodes[0], reply.list_link);
      first = first || nodes[0];
    });
    question = turn.question;
    document.body.dataset.turns = String(Number(document.body.dataset.turns || "0") + 1);
    const asking = turn.replies.filter(function (reply) { return reply.buttons.length || reply.request; }).pop();
    showAnswers(asking || null, turn.done);
    if (moveFocus) {
      if (first) first.scrollIntoView({ block: "start" });
      focusAnswer(first);
    }
  }

  function showAnswers(reply, done) {
    choices.replaceChildren();
    const buttons = reply ? reply.buttons : [];
    if (reply && reply.multi) {
      showSeveral(buttons);
    } else if (buttons.length) {
      const group = element("div", "choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXTS.choicesLabel);
      buttons.forEach(function (choice) {
        group.appendChild(button(choice.label, "choice", function () {
          send({ value: choice.value, context: question }, choice.label);
        }, choice.value));
      });
      choices.appendChild(group);
    }
    const request = reply ? reply.request : null;
    // A place or a phone number is mostly typed: the field comes first, the buttons ("Non merci") after.
    if (request) {
      answer.insertBefore(choices, typed.nextSibling);
    } else {
      answer.insertBefore(choices, position);
    }
    position.hidden = !(request === "location" && "geolocation" in navigator && window.isSecureContext);
    typedInput.value = "";
    typedInput.type = request === "contact" ? "tel" : "text";
    typedInput.setAttribute("inputmode", request === "contact" ? "tel" : "text");
    typedInput.setAttribute("autocomplete", request === "contact" ? "tel" : request === "location" ? "postal-code" : "off");
    if (request === "location") {
      typedLabel.textContent = TEXTS.typedLocation;
      typedHint.textContent = TEXTS.locationHint;
    } else if (request === "contact") {
      typedLabel.textContent = TEXTS.typedPhone;
      typedHint.textContent = TEXTS.phoneHint;
    } else {
      typedLabel.textContent = done ? TEXTS.typedDone : buttons.length ? TEXTS.typedDefault : TEXTS.typedAlone;
      typedHint.textContent = "";
    }
  }

  function showSeveral(buttons) {
    const group = element("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXTS.severalLabel);
    const toggles = [];
    let confirm = null;
    const after = [];
    buttons.forEach(function (choice) {
      if (choice.value === CONFIRM) {
        confirm = choice;
      } else if (choice.value.charAt(0) === "/") {
        after.push(choice);
      } else {
        const node = button(choice.label, "choice toggle", function () { toggle(node, toggles); }, choice.value);
        node.setAttribute("aria-pressed", choice.selected ? "true" : "false");
        toggles.push(node);
        group.appendChild(node);
      }
    });
    choices.appendChild(group);
    if (confirm) {
      const label = confirm.label;
      choices.appendChild(button(label, "choice confirm primary", function () {
        const picked = toggles.filter(function (node) { return node.getAttribute("aria-pressed") === "true"; });
        const echo = picked.map(function (node) { return node.textContent; }).join(", ") || label;
        send({ values: picked.map(function (node) { return node.dataset.value; }), context: question }, echo);
      }, confirm.value));
    }
    after.forEach(function (choice) {
      choices.appendChild(button(choice.label, "choice", function () {
        send({ value: choice.value, context: question }, choice.label);
      }, choice.value));
    });
  }

  function toggle(node, toggles) {
    const on = node.getAttribute("aria-pressed") !== "true";
    node.setAttribute("aria-pressed", on ? "true" : "false");
    if (!on) return;
    toggles.forEach(function (other) {
      const alone = other.dataset.value === UNKNOWN || node.dataset.value === UNKNOWN;
      if (other !== node && alone) other.setAttribute("aria-pressed", "false");
    });
  }

  function focusAnswer(fallback) {
    // The first control in the order shown; never "Non merci" before the field of a phone number.
    const first = answer.querySelector("button:not([hidden] *), input");
    const target = first && first.offsetParent !== null ? first : fallback;
    if (target) target.focus({ preventScroll: true });
  }

  function showError(text) {
    const item = addMessage("bot", text, "error");
    item.scrollIntoView({ block: "nearest" });
  }

  // ----- talking to the server ------------------------------------------------------------------------------
  async function send(body, echo) {
    if (busy) return;
    if (echo) addMessage("person", echo);
    setBusy(true);
    let data = null;
    try {
      const response = await fetch(API, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      data = await response.json().catch(function () { return null; });
    } catch (error) {
      data = null;
    }
    setBusy(false);
    if (data && data.question) {
      showTurn(data, true);
    } else if (data && data.replies) {
      data.replies.forEach(function (reply) { addMessage("bot", reply.text, "error"); });
      focusAnswer(null);
    } else {
      showError((data && data.message) || TEXTS.offline);
      focusAnswer(null);
    }
    document.body.dataset.answers = String(Number(document.body.dataset.answers || "0") + 1);
  }

  async function start() {
    setBusy(true);
    let data = null;
    try {
      const response = await fetch(API, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      data = await response.json().catch(function () { return null; });
    } catch (error) {
      data = null;
    }
    setBusy(false);
    if (data && data.question) {
      showTurn(data, false);
    } else if (data && data.replies) {
      data.replies.forEach(function (reply) { addMessage("bot", reply.text, "error"); });
    } else {
      showError(TEXTS.offline);
    }
    document.body.dataset.ready = "true";
  }

  async function checkNotices() {
    if (noticesRunning || document.hidden) return;
    noticesRunning = true;
    try {
      const response = await fetch(NOTICES, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const data = response.ok ? await response.json() : { notices: [] };
      data.notices.forEach(showNotice);
    } catch (error) {
      // offline for now: the notices wait on the server for the next try
    } finally {
      noticesRunning = false;
    }
  }

  function showNotice(notice) {
    const item = addMessage("bot", notice.text, "notice");
    if (notice.buttons.length) {
      const group = element("div", "choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXTS.choicesLabel);
      notice.buttons.forEach(function (choice) {
        group.appendChild(button(choice.label, "choice", function () {
          send({ value: choice.value }, choice.label);
        }, choice.value));
      });
      item.appendChild(group);
    }
  }

  // ----- wiring -------------------------------------------------------------------------------------------
  typed.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = typedInput.value.trim();
    if (!text) {
      setStatus(TEXTS.empty);
      typedInput.focus();
      return;
    }
    send({ text: text, context: question }, text);
  });

  usePosition.addEventListener("click", function () {
    if (busy) return;
    setStatus(TEXTS.positionWait);
    navigator.geolocation.getCurrentPosition(
      function (found) {
        setStatus("");
        send(
          { location: { latitude: found.coords.latitude, longitude: found.coords.longitude } },
          TEXTS.position,
        );
      },
      function () {
        setStatus(TEXTS.positionFailed);
        typedInput.focus();
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });

  document.querySelectorAll("[data-command]").forEach(function (node) {
    node.addEventListener("click", function () { send({ command: node.dataset.command }, node.textContent); });
  });

  setInterval(checkNotices, NOTICE_EVERY_MS);
  window.addEventListener("focus", checkNotices);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) checkNotices();
  });

  start();
})();
