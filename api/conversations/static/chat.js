// Citizen chat widget. The server issues the conversation id and its token (POST /api/v1/conversations);
// both are kept in localStorage, and the token opens the WebSocket in its first message (never in a URL).
// Messages typed while offline wait in localStorage and are sent on reconnect; every message carries a
// client id so a resend after a drop is never stored twice.
(async () => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const statusEl = document.getElementById("status");

  const newId = () => (crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "") :
    Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, "0")).join(""));
  // A conversation handed over in the fragment (#c=…&t=…; fragments never reach the server or its logs).
  const handed = new URLSearchParams(location.hash.slice(1));
  if (handed.get("c") && handed.get("t")) {
    localStorage.setItem("minsheng.conversation", handed.get("c"));
    localStorage.setItem("minsheng.conversation.token", handed.get("t"));
    history.replaceState(null, "", location.pathname);
  }
  let conversationId = localStorage.getItem("minsheng.conversation");
  let sessionToken = localStorage.getItem("minsheng.conversation.token");

  async function startConversation() {
    for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
      try {
        const response = await fetch("/api/v1/conversations", { method: "POST" });
        if (response.ok) {
          const session = await response.json();
          conversationId = session.conversation_id;
          sessionToken = session.token;
          localStorage.setItem("minsheng.conversation", conversationId);
          localStorage.setItem("minsheng.conversation.token", sessionToken);
          return;
        }
      } catch { /* offline: try again */ }
      setStatus("正在连接…", true);
      await new Promise(resolve => setTimeout(resolve, delay));
    }
  }
  if (!conversationId || !sessionToken) await startConversation();
  const outboxKey = "minsheng.outbox." + conversationId;
  const outbox = JSON.parse(localStorage.getItem(outboxKey) || "[]");
  const saveOutbox = () => localStorage.setItem(outboxKey, JSON.stringify(outbox));

  const shown = new Set();
  let socket = null, retryDelay = 500, greeted = false, sentOnThisSocket = new Set();

  const label = { bot: "智能客服", agent: "人工坐席", system: "" };

  function render(message) {
    if (message.id != null) {
      if (shown.has(message.id)) return;
      shown.add(message.id);
    }
    if (message.role === "citizen" && message.client_message_id) {
      const queued = log.querySelector(`[data-client="${message.client_message_id}"]`);
      if (queued) queued.remove();
    }
    const bubble = document.createElement("div");
    bubble.className = "msg " + message.role;
    if (label[message.role]) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = label[message.role];
      bubble.appendChild(who);
    }
    const body = document.createElement("span");
    body.textContent = message.text;  // citizen text is never interpreted as markup
    bubble.appendChild(body);
    if (message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of message.buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", () => {
          row.querySelectorAll("button").forEach(x => (x.disabled = true));
          send(b.title, b.payload);
        });
        row.appendChild(btn);
      }
      bubble.appendChild(row);
    }
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  function renderQueued(item) {
    const bubble = document.createElement("div");
    bubble.className = "msg citizen queued";
    bubble.dataset.client = item.client_message_id;
    bubble.textContent = item.text;
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
  }

  function setStatus(text, offline) {
    statusEl.textContent = text;
    statusEl.classList.toggle("offline", !!offline);
  }

  // An item leaves the outbox only when the server acknowledges it; after a reconnect every
  // unacknowledged item is sent again and the server drops the ones it already has.
  function flush() {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (const item of outbox) {
      if (sentOnThisSocket.has(item.client_message_id)) continue;
      socket.send(JSON.stringify(item));
      sentOnThisSocket.add(item.client_message_id);
    }
  }

  function settle(clientId) {
    const index = outbox.findIndex(item => item.client_message_id === clientId);
    if (index >= 0) { outbox.splice(index, 1); saveOutbox(); }
  }

  function send(text, payload) {
    const item = { text, payload: payload || null, client_message_id: newId() };
    outbox.push(item);
    saveOutbox();
    renderQueued(item);
    flush();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/chat/${conversationId}`);
    sentOnThisSocket = new Set();
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "auth", token: sessionToken }));
      retryDelay = 500;
      setStatus("在线", false);
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "history") {
        data.messages.forEach(render);
        // What the server already stored needs no resend (its replies are in the history too).
        const stored = new Set(data.messages.map(m => m.client_message_id).filter(Boolean));
        outbox.filter(item => stored.has(item.client_message_id)).forEach(item => settle(item.client_message_id));
        // Messages still in the outbox were not acknowledged: show and resend them.
        outbox.forEach(item => { if (!log.querySelector(`[data-client="${item.client_message_id}"]`)) renderQueued(item); });
        if (!greeted && data.messages.length === 0 && outbox.length === 0) {
          greeted = true;
          render({ role: "bot", text: "您好，这里是建湖12345政务服务便民热线在线服务。请问您要反映什么问题？可以直接说发生了什么、在哪里。" });
        }
        flush();
      } else if (data.type === "message") {
        render(data.message);
      } else if (data.type === "ack") {
        settle(data.client_message_id);
      } else if (data.type === "error" && data.retry_after && data.client_message_id) {
        // The conversation's previous turn is still being answered: keep the words, send them again.
        setStatus("请稍等，正在处理上一句话…", false);
        setTimeout(() => { sentOnThisSocket.delete(data.client_message_id); flush(); setStatus("在线", false); },
                   data.retry_after * 1000);
      } else if (data.type === "error") {
        render({ role: "system", text: data.detail });
        if (data.client_message_id) {
          settle(data.client_message_id);
          const queued = log.querySelector(`[data-client="${data.client_message_id}"]`);
          if (queued) queued.remove();
        }
      }
    };
    socket.onclose = async (event) => {
      if (event.code === 4401 || event.code === 4404) {  // the session is gone: start a new one
        localStorage.removeItem("minsheng.conversation");
        localStorage.removeItem("minsheng.conversation.token");
        await startConversation();
        location.reload();
        return;
      }
      setStatus("网络断开，正在重连…", true);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { input.focus(); return; }
    input.value = "";
    send(text, null);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  window.minsheng = { conversationId };
  connect();
})();
