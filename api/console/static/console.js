// Agent console: live conversation list and escalation queue, transcript with the bot's
// understanding of each turn, takeover / reply / hand-back / close, and the draft ticket.
// Every citizen-supplied string is inserted with textContent, never as markup.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  let me = null, selected = null, socket = null, retryDelay = 500;
  const conversations = new Map();
  const reasonLabel = { citizen_request: "市民要求人工", form_failures: "机器人两次没听懂", risk: "风险提示",
                        low_confidence: "理解把握不大" };
  const roleLabel = { citizen: "市民", bot: "机器人", agent: "坐席", system: "系统" };
  // Sign-in, token refresh and logout are the staff pages' shared script (/static/meta/staff.js).
  const session = StaffSession({ page: "console", onStart: start, onStop: () => { if (socket) socket.close(); } });

  async function api(path, options = {}) {
    const response = await session.request(path, options);
    return response.headers.get("content-type")?.includes("json") ? response.json() : null;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function waited(conv) {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(conv.waiting_since || conv.updated_at)) / 1000));
    return seconds < 60 ? `${seconds}秒` : `${Math.floor(seconds / 60)}分钟`;
  }

  function item(conv) {
    const li = el("li");
    li.dataset.id = conv.conversation_id;
    if (conv.conversation_id === selected) li.classList.add("selected");
    const line = el("div", "line1");
    line.append(el("span", "tag", conv.channel === "voice" ? "电话" : "网页"));

    if (conv.mode === "agent") line.append(el("span", "tag agent", `坐席 ${conv.assigned_agent}`));
    if (conv.handoff_requested) line.append(el("span", "tag wait", `${reasonLabel[conv.handoff_reason] || "待人工"} · 等待${waited(conv)}`));
    for (const flag of conv.risk_flags || []) line.append(el("span", "tag risk", flag));
    li.append(line);
    // Agents recognise a chat by where and what, not by its id (kept whole in the tooltip).
    const where = el("div", "place", conv.place || "地点未说明");
    where.title = conv.conversation_id;
    li.append(where);
    if (conv.summary) li.append(el("div", "summary", conv.summary));
    li.append(el("div", "snippet", `${conv.last_intent ? "意图：" + conv.last_intent + " · " : ""}${conv.last_text || ""}`));
    li.addEventListener("click", () => open(conv.conversation_id));
    return li;
  }

  // 待人工处理 in serving order: risk first, then the longest wait (as api/console/service.queue_order).
  function servingOrder(a, b) {
    const risk = Number(!(a.risk_flags || []).length) - Number(!(b.risk_flags || []).length);
    if (risk) return risk;
    return Date.parse(a.waiting_since || a.updated_at) - Date.parse(b.waiting_since || b.updated_at);
  }

  function renderLists() {
    // Closed chats and finished intakes (ticket filed, citizen silent since) leave the console.
    const all = [...conversations.values()].filter(c => c.mode !== "closed" && !c.finished);
    const queue = all.filter(c => c.handoff_requested && c.mode === "bot").sort(servingOrder);
    $("#queue").replaceChildren(...queue.map(item));
    $("#queue-count").textContent = String(queue.length);
    $("#live").replaceChildren(...all.filter(c => !queue.includes(c)).map(item));
  }

  async function refreshLists() {
    const data = await api("/api/v1/console/conversations");
    conversations.clear();
    for (const conv of data.conversations) conversations.set(conv.conversation_id, conv);
    renderLists();
    const callbacks = await api("/api/v1/console/callback-requests");
    $("#callbacks").replaceChildren(...callbacks.map(cb => {
      const li = el("li");
      li.append(el("div", "line1", `${cb.phone_masked} · ${cb.preferred_time || "尽快"}`));
      li.append(el("div", "snippet", cb.note || ""));
      return li;
    }));
  }

  function transcriptItem(message) {
    const li = el("li", message.role);
    li.dataset.id = message.id;
    li.append(el("span", "who", roleLabel[message.role] || message.role));
    li.append(document.createTextNode(message.text));
    if (message.role === "citizen" && message.intent) {
      const confidence = message.confidence != null ? ` ${(message.confidence * 100).toFixed(0)}%` : "";
      li.append(el("span", "nlu", `理解为：${message.intent}${confidence}`));
    }
    return li;
  }

  function fillDraft(form, draft) {
    for (const [name, value] of Object.entries(draft || {})) {
      const field = form.elements.namedItem(name);
      if (!field || value == null) continue;
      if (field.type === "checkbox") field.checked = !!value; else field.value = value;
    }
  }

  async function open(conversationId) {
    selected = conversationId;
    renderLists();
    const data = await api(`/api/v1/console/conversations/${conversationId}`);
    const view = $("#detail-template").content.cloneNode(true);
    const detail = $("#detail");
    detail.replaceChildren(view);
    $(".conv-id", detail).textContent = conversationId;
    detail.dataset.caller = data.caller_number || "";
    $(".transcript", detail).replaceChildren(...data.messages.map(transcriptItem));
    fillDraft($(".draft", detail), data.draft);
    applyState(detail, data);
    const notice = $(".notice", detail);
    // After an action only the state changes (header, buttons); the transcript grows over the
    // WebSocket and the draft keeps the agent's edits.
    const act = (fn) => async () => {
      notice.textContent = "";
      try { applyState(detail, await fn()); } catch (e) { notice.textContent = e.message; }
    };
    $(".takeover", detail).addEventListener("click", act(() => api(`/api/v1/console/conversations/${conversationId}/takeover`, { method: "POST" })));
    $(".handback", detail).addEventListener("click", act(() => api(`/api/v1/console/conversations/${conversationId}/handback`, { method: "POST" })));
    $(".close", detail).addEventListener("click", act(() => api(`/api/v1/console/conversations/${conversationId}/close`, { method: "POST" })));
    // A call held by me: have the gateway put it through to my desk phone (REFER, or a bridge);
    // the transcript and the draft stay here while I talk.
    const transfer = $(".transfer", detail);
    transfer.addEventListener("click", async () => {
      transfer.disabled = true;
      notice.textContent = "正在转接到您的分机，请留意电话振铃……";
      try {
        const result = await api(`/api/v1/console/conversations/${conversationId}/transfer`, { method: "POST" });
        notice.textContent = result.method === "refer" ? "来电已转接到您的分机。" : "来电已接通您的分机（网关桥接）。";
      } catch (e) { notice.textContent = e.message; transfer.disabled = false; }
    });
    $(".reply", detail).addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = $(".reply textarea", detail);
      const text = box.value.trim();
      if (!text) return;
      notice.textContent = "";
      try {
        await api(`/api/v1/console/conversations/${conversationId}/messages`, { method: "POST", body: JSON.stringify({ text }) });
        box.value = "";
      } catch (e) { notice.textContent = e.message; }
    });
    $(".draft", detail).addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = {};
      for (const field of form.elements) {
        if (!field.name) continue;
        body[field.name] = field.type === "checkbox" ? field.checked : (field.value.trim() || null);
      }
      notice.textContent = "";
      try {
        const ticket = await api(`/api/v1/console/conversations/${conversationId}/ticket`, { method: "POST", body: JSON.stringify(body) });
        $(".filed", detail).textContent = `已提交，工单号 ${ticket.ticket_no}` + (ticket.repeat_of ? `（重复诉求，原工单 ${ticket.repeat_of}）` : "");
        form.elements.namedItem("another_matter").checked = false;
      } catch (e) { notice.textContent = e.message; }
    });
  }

  // Header and buttons of the open conversation, from a summary (live update or action result).
  function applyState(detail, state) {
    if (!detail || !$(".conv-meta", detail)) return;
    const who = state.mode === "agent" ? "坐席 " + state.assigned_agent : state.mode === "closed" ? "已结束" : "机器人";
    const channel = (state.channel || conversations.get(selected)?.channel) === "voice" ? "电话" : "网页";
    $(".conv-meta", detail).textContent = `${channel} · ${who}` + (detail.dataset.caller ? ` · 来电 ${detail.dataset.caller}` : "");
    const mine = state.mode === "agent" && state.assigned_agent === me;
    $(".takeover", detail).disabled = state.mode === "closed" || mine;
    $(".handback", detail).disabled = !mine;
    $(".close", detail).disabled = !mine;
    $(".reply button", detail).disabled = !mine;
    $(".transfer", detail).hidden = !(channel === "电话" && mine);
  }

  function onLive(data) {
    if (data.type === "conversation") {
      conversations.set(data.conversation.conversation_id, data.conversation);
      renderLists();
      if (data.conversation.conversation_id === selected) applyState($("#detail"), data.conversation);
    } else if (data.type === "message" && data.conversation_id === selected) {
      const list = $("#detail .transcript");
      if (list && !list.querySelector(`[data-id="${data.message.id}"]`)) {
        list.append(transcriptItem(data.message));
        list.scrollTop = list.scrollHeight;
      }
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The token goes in the first message, never in the URL (URLs end up in logs).
    socket = new WebSocket(`${scheme}://${location.host}/ws/console`);
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "auth", token: session.token() }));
      retryDelay = 500; $("#live-status").textContent = "实时"; $("#live-status").classList.remove("off"); refreshLists(); };
    socket.onmessage = (event) => onLive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (!session.signedIn()) return;
      if (event.code === 4401) { session.socketExpired().then(ok => ok && connect()); return; }
      $("#live-status").textContent = "连接断开，重连中…";
      $("#live-status").classList.add("off");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  async function start() {
    try {
      const profile = await api("/api/v1/auth/me");
      me = profile.username;
      const roles = { agent: "坐席", dispatcher: "派单员", handler: "承办人", supervisor: "督办", leader: "分管领导", admin: "管理员" };
      $("#me").textContent = `${profile.full_name || profile.username}（${roles[profile.role] || profile.role}）`;
    } catch { session.logout(); return; }
    session.shown();
    connect();
    setInterval(renderLists, 15000);  // waiting times keep counting
  }

})();
