// 工单工作台: one page for 派单员, 承办单位, 审核, 督办, 分管领导 and 回访. Each person sees the lists
// of their post (from /api/v1/office/me); what they may do on a ticket comes from its allowed_actions.
// Sign-in and token refresh come from the staff pages' shared script (/static/meta/staff.js); the
// WebSocket takes the token in its first message.
// Every citizen-supplied string is inserted with textContent, never as markup.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
  let me = null, view = null, rows = [], selected = null, current = null, socket = null, retryDelay = 500;
  let departments = [], reloadTimer = null, editing = false;
  const session = StaffSession({ page: "office", onStart: start, onStop: () => { if (socket) socket.close(); clearInterval(warningTimer); } });
  const request = session.request;
  const api = session.json;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }
  function button(text, className, onClick) {
    const b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  const when = (iso) => iso ? iso.replace("T", " ").slice(0, 16) : "—";
  const deadlineLabel = { overdue: "已超期", soon: "即将超期" };

  function toast(text) {
    const box = $("#toast");
    box.textContent = text;
    box.classList.add("show");
    setTimeout(() => box.classList.remove("show"), 6000);
  }

  // ---- lists -----------------------------------------------------------------------------------
  function query() {
    const params = new URLSearchParams({ view });
    for (const field of $("#search").elements) {
      if (field.name && field.value.trim()) params.set(field.name, field.value.trim());
    }
    return params;
  }

  function renderViews(counts) {
    $("#views").replaceChildren(...me.views.map(v => {
      const b = button(v.label, v.id === view ? "view on" : "view", () => { view = v.id; loadList(); renderViews(counts); });
      b.dataset.view = v.id;
      if (counts && counts[v.id] != null) b.append(el("span", "count", String(counts[v.id])));
      return b;
    }));
  }

  async function loadCounts() {
    try { renderViews((await api("/api/v1/office/me")).counts); } catch { /* the list shows the error */ }
  }

  function rowOf(t) {
    const tr = el("tr");
    tr.dataset.no = t.ticket_no;
    tr.tabIndex = 0;
    if (t.deadline_state) tr.classList.add(t.deadline_state);
    if (t.ticket_no === selected) tr.classList.add("selected");
    const first = el("td", "no");
    first.append(el("strong", "", t.ticket_no));
    if (t.urgency !== "普通") first.append(el("span", "tag urgent", t.urgency));
    if (t.needs_dispatcher && (t.status === "已受理" || t.status === "已退单")) first.append(el("span", "tag wait", t.lead_department ? "待确认" : "未定单位"));
    if (t.confidence != null && t.status === "已受理") first.append(el("span", "tag", `把握${Math.round(t.confidence * 100)}%`));
    if (t.escalation_level) first.append(el("span", "tag risk", `督办${t.escalation_level}级`));
    if (t.repeat_of || t.repeat_count) first.append(el("span", "tag", t.repeat_of ? "重复件" : `重复${t.repeat_count}`));
    const status = el("td", "", t.my_part ? `${t.status}（本单位${t.my_part.role === "lead" ? "主办" : "协办"}：${t.my_part.status}）` : t.status);
    const what = el("td", "what");
    what.append(el("div", "cat", `${t.demand_type} · ${t.category}`), el("div", "snippet", t.description));
    const due = el("td", "due", when(t.complete_due_at));
    if (t.deadline_state) due.append(el("span", `tag ${t.deadline_state}`, deadlineLabel[t.deadline_state]));
    tr.append(first, status, what, el("td", "", t.town || "—"),
              el("td", "", [t.lead_department, ...t.co_departments].filter(Boolean).join("、") || "—"), due);
    tr.addEventListener("click", () => open(t.ticket_no));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(t.ticket_no); });
    return tr;
  }

  let listRequest = 0;
  async function loadList() {
    $("#list-error").textContent = "";
    const mine = ++listRequest;  // a slower, older answer (another tab, a live refresh) never wins
    try {
      const data = await api(`/api/v1/office/tickets?${query()}`);
      if (mine !== listRequest) return;
      rows = data.items;
      $("#list-title").textContent = data.label;
      $("#list-total").textContent = `共 ${data.total} 件`;
      $("#list").replaceChildren(...rows.map(rowOf));
      if (!rows.length) {
        const tr = el("tr", "none");
        const td = el("td", "", "这个列表里现在没有工单。");
        td.colSpan = 6;
        tr.append(td);
        $("#list").append(tr);
      }
    } catch (e) { $("#list-error").textContent = e.message; }
  }

  function step(delta) {
    if (!rows.length) return;
    const at = rows.findIndex(r => r.ticket_no === selected);
    const next = rows[Math.min(rows.length - 1, Math.max(0, at + delta))] || rows[0];
    open(next.ticket_no);
    $(`#list tr[data-no="${next.ticket_no}"]`)?.focus();
  }

  async function exportList() {
    try {
      const response = await request(`/api/v1/office/tickets.xlsx?${query()}`);
      const url = URL.createObjectURL(await response.blob());
      const a = el("a");
      a.href = url;
      a.download = `${$("#list-title").textContent}.xlsx`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { $("#list-error").textContent = e.message; }
  }

  // ---- one ticket --------------------------------------------------------------------------------
  // live: a refresh because someone else changed the ticket; it never overwrites what the user is typing.
  async function open(ticketNo, live = false) {
    if (!live) selected = ticketNo;
    $$("#list tr").forEach(tr => tr.classList.toggle("selected", tr.dataset.no === ticketNo));
    let data;
    try {
      data = await api(`/api/v1/office/tickets/${encodeURIComponent(ticketNo)}`);
      if (live && (editing || selected !== ticketNo)) {
        const notice = $("#detail .notice");
        if (notice && selected === ticketNo) notice.textContent = "这张工单刚有更新，提交或刷新后可见。";
        return true;
      }
      current = data;
    } catch (e) {
      if (live) return false;
      $("#detail").replaceChildren(el("p", "error", e.message));
      return false;
    }
    editing = false;
    renderDetail();
    document.body.classList.add("reading");  // phones: the ticket takes the screen
    return true;
  }

  function fact(dl, label, value) {
    dl.append(el("dt", "", label), el("dd", "", value == null || value === "" ? "—" : String(value)));
  }

  function section(title, className) {
    const box = el("section", `box ${className || ""}`);
    box.append(el("h3", "", title));
    return box;
  }

  function textarea(name, placeholder, rows = 2) {
    const t = el("textarea");
    t.name = name;
    t.rows = rows;
    t.placeholder = placeholder;
    t.maxLength = 4000;
    t.setAttribute("aria-label", placeholder);
    return t;
  }

  async function act(action, body = {}) {
    return api(`/api/v1/tickets/${encodeURIComponent(current.ticket.ticket_no)}/transitions`,
               { method: "POST", body: JSON.stringify({ action, ...body }) });
  }

  // Runs one decision; the notice says what happened, the list and the ticket reload.
  function doing(fn, done) {
    return async () => {
      const notice = $("#detail .notice");
      notice.textContent = "";
      notice.classList.remove("ok");
      $$("#detail button").forEach(b => { b.disabled = true; });
      try {
        await fn();
        toast(`${current.ticket.ticket_no}：${done}`);
        const no = current.ticket.ticket_no;
        loadList();
        loadCounts();
        if (!await open(no)) {  // e.g. returned: the ticket is no longer this unit's to read
          const gone = el("p", "notice ok", done);
          gone.setAttribute("role", "alert");
          $("#detail").replaceChildren(gone, el("p", "muted", `工单 ${no} 已不在本单位名下，列表已刷新。`));
          return;
        }
        $("#detail .notice").textContent = done;
        $("#detail .notice").classList.add("ok");
      } catch (e) {
        notice.textContent = e.message;
        $$("#detail button").forEach(b => { b.disabled = false; });
      }
    };
  }

  function departmentSelect(name, selectedId, multiple) {
    const select = el("select");
    select.name = name;
    select.multiple = !!multiple;
    if (multiple) select.size = 4;
    select.setAttribute("aria-label", multiple ? "协办单位" : "主办单位");
    if (!multiple) select.append(new Option("请选择主办单位", ""));
    for (const d of departments) {
      const option = new Option(`${d.short}（${d.code}）`, d.id);
      option.selected = multiple ? (selectedId || []).includes(d.id) : d.id === selectedId;
      select.append(option);
    }
    return select;
  }

  function dispatchBox(t, s, allowed) {
    const reassign = !allowed.includes("dispatch");
    const box = section(reassign ? "改派" : "派单", "dispatch");
    const hint = el("div", "suggestion");
    if (s.department) {
      hint.append(el("strong", "", `建议主办：${s.department_name || s.department}`));
      if (s.co_departments.length) hint.append(el("span", "", ` 协办：${s.co_departments.map(c => c.name).join("、")}`));
      hint.append(el("span", "muted", ` · ${s.category || "未分类"} · 把握${s.confidence != null ? Math.round(s.confidence * 100) + "%" : "未知"}`));
    } else {
      hint.append(el("strong", "", "没有把握的建议：请派单员选定主办单位。"));
    }
    const reasons = el("ul", "reasons");
    for (const r of s.reasons) reasons.append(el("li", "", r));
    hint.append(reasons);
    box.append(hint);
    const lead = departmentSelect("department", reassign ? null : s.department);
    const co = departmentSelect("co_departments", s.co_departments.map(c => c.id), true);
    const joint = el("input");
    joint.type = "checkbox";
    joint.name = "joint";
    joint.checked = s.joint;
    const jointLabel = el("label", "check");
    jointLabel.append(joint, document.createTextNode(" 一哨联办（协办单位也须签收并答复）"));
    const note = textarea("note", reassign ? "改派理由（必填）" : "派单备注（可不填）");
    const row = el("div", "row");
    const leadLabel = el("label", "", "主办单位");
    leadLabel.append(lead);
    const coLabel = el("label", "", "协办单位（可多选）");
    coLabel.append(co);
    row.append(leadLabel, coLabel);
    const go = button(reassign ? "改派" : "派单", "do-dispatch", doing(() => {
      const body = { department: lead.value || null, note: note.value.trim() || null };
      const chosen = [...co.selectedOptions].map(o => o.value).filter(id => id !== lead.value);
      if (chosen.length || co.dataset.touched) body.co_departments = chosen;
      body.joint = joint.checked;
      if (!body.department) throw new Error("请选择主办单位。");
      return act(reassign ? "reassign" : "dispatch", body);
    }, reassign ? "已改派" : "已派单"));
    co.addEventListener("change", () => { co.dataset.touched = "1"; });
    box.append(row, jointLabel, note, go);
    return box;
  }

  function reasonAction(title, className, placeholder, label, action, done, extra) {
    const box = section(title, className);
    const note = textarea("note", placeholder);
    box.append(note);
    if (extra) box.append(extra.node);
    box.append(button(label, `do-${action}`, doing(() => {
      if (!note.value.trim()) throw new Error(`请填写${placeholder.replace(/（.*）/, "")}。`);
      return act(action, { note: note.value.trim(), ...(extra ? extra.body() : {}) });
    }, done)));
    return box;
  }

  function replyBox(t) {
    const box = section("答复", "reply");
    const editor = textarea("reply", "答复内容：办理经过、结果、依据，以及向市民的说明", 6);
    const files = el("input");
    files.type = "file";
    files.multiple = true;
    files.accept = ".jpg,.jpeg,.png,.pdf,.docx,.xlsx";
    files.setAttribute("aria-label", "附件");
    const filesLabel = el("label", "", "附件（图片、PDF、Word、Excel，每个不超过 900 KB）");
    filesLabel.append(files);
    box.append(editor, filesLabel, button("提交答复", "do-reply", doing(async () => {
      if (!editor.value.trim()) throw new Error("请填写答复内容。");
      for (const file of files.files) {  // files first: a reply is never sent with a missing attachment
        await api(`/api/v1/office/tickets/${encodeURIComponent(t.ticket_no)}/attachments?filename=${encodeURIComponent(file.name)}`,
                  { method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
      }
      return act("reply", { note: editor.value.trim() });
    }, "已答复")));
    return box;
  }

  function reviewBox(t, allowed) {
    const box = section("答复审核", "review");
    const sides = el("div", "sides");
    const citizen = el("div", "side");
    citizen.append(el("h4", "", "市民诉求"), el("p", "words", t.description));
    for (const words of current.citizen_words) citizen.append(el("p", "said", words));
    const replies = el("div", "side");
    replies.append(el("h4", "", "承办单位答复"));
    for (const a of t.assignments.filter(x => x.reply_text)) {
      replies.append(el("p", "who", `${a.department || a.department_id}（${a.role === "lead" ? "主办" : "协办"}）${when(a.replied_at)}`),
                     el("p", "words", a.reply_text));
    }
    for (const f of current.attachments) replies.append(fileLink(t, f));
    sides.append(citizen, replies);
    const note = textarea("note", "审核意见（退回重办时必填）");
    const approve = button("审核通过", "do-approve", doing(async () => {
      // One decision for the reviewer; while the API still has a separate 答复审核 step, take it first.
      if (!allowed.includes("approve_reply") && allowed.includes("review")) await act("review");
      return act("approve_reply", { note: note.value.trim() || null });
    }, "审核通过，转入回访"));
    const reject = button("退回重办", "do-reject plain", doing(async () => {
      if (!note.value.trim()) throw new Error("退回重办请写明审核意见。");
      if (!allowed.includes("reject_reply") && allowed.includes("review")) await act("review");
      return act("reject_reply", { note: note.value.trim() });
    }, "已退回重办"));
    box.append(sides, note, el("div", "row", null));
    $(".row", box).append(approve, reject);
    return box;
  }

  function callbackBox() {
    const box = section("回访", "callback");
    const rating = el("select");
    rating.name = "satisfaction";
    rating.setAttribute("aria-label", "满意度");
    for (const v of ["满意", "基本满意", "不满意", "未回访"]) rating.append(new Option(v, v));
    const note = textarea("note", "回访记录（不满意、未回访时必填）");
    box.append(rating, note, button("记录回访结果", "do-close", doing(() => {
      const value = rating.value;
      if (value === "不满意") return act("dissatisfied", { note: note.value.trim() || null });
      return act("close", { satisfaction: value, note: note.value.trim() || null });
    }, "回访结果已记录")));
    return box;
  }

  function extensionBox(allowed) {
    const box = section("延期申请", "extension");
    const days = el("input");
    days.type = "number"; days.min = "1"; days.max = "60"; days.value = "3"; days.name = "days";
    days.setAttribute("aria-label", "延期工作日数");
    const label = el("label", "", "延期工作日数 ");
    label.append(days);
    const note = textarea("note", "延期理由（必填）");
    box.append(label, note, button("申请延期", "do-extension", doing(() => {
      if (!note.value.trim()) throw new Error("请填写延期理由。");
      return act("request_extension", { days: Number(days.value), note: note.value.trim() });
    }, "延期申请已提交")));
    return allowed.includes("request_extension") ? box : null;
  }

  function pendingExtensionBox(t) {
    const r = t.extension_request;
    const box = section("待批延期", "extension");
    box.append(el("p", "", `${r.department} 申请延期 ${r.days} 个工作日：${r.reason}`));
    const note = textarea("note", "审批意见（驳回时必填）");
    const row = el("div", "row");
    row.append(button("批准延期", "do-approve-extension", doing(() => act("approve_extension", { note: note.value.trim() || null }), "已批准延期")),
               button("驳回延期", "plain", doing(() => {
                 if (!note.value.trim()) throw new Error("驳回延期请写明理由。");
                 return act("reject_extension", { note: note.value.trim() });
               }, "已驳回延期")));
    box.append(note, row);
    return box;
  }

  function mergeBox(t) {
    const box = section("并单：重复诉求对照", "merge");
    const sides = el("div", "sides");
    const mine = el("div", "side this");
    mine.append(el("h4", "", `本单 ${t.ticket_no}`), el("p", "muted", `${when(t.created_at)} · ${t.location || t.location_town || ""}`),
                el("p", "words", t.description));
    sides.append(mine);
    const note = textarea("note", "并单说明（必填）");
    for (const c of current.repeats) {
      const side = el("div", "side");
      side.append(el("h4", "", `${c.ticket_no}（${c.status}）`), el("p", "muted", `${when(c.created_at)} · ${c.location || c.town || ""} · ${c.lead_department || "未派"}`),
                  el("p", "words", c.description));
      side.append(button(`并入 ${c.ticket_no}`, "do-merge plain", doing(() => {
        if (!note.value.trim()) throw new Error("请填写并单说明。");
        return act("merge", { target_ticket_no: c.ticket_no, note: note.value.trim() });
      }, `已并入 ${c.ticket_no}`)));
      sides.append(side);
    }
    box.append(sides, note);
    return box;
  }

  function fileLink(t, f) {
    const a = button(`附件：${f.filename}（${Math.max(1, Math.round(f.size / 1024))} KB）`, "file plain", async () => {
      try {
        const response = await request(f.url);
        const url = URL.createObjectURL(await response.blob());
        window.open(url, "_blank", "noopener");
      } catch (e) { $("#detail .notice").textContent = e.message; }
    });
    return a;
  }

  async function showLetter(box, s) {
    try {
      const letter = await api(s.preview_url);
      const page = el("article", "letter");
      for (const block of letter.blocks) {
        if (block.table) {
          const table = el("table");
          for (const cells of block.table) {
            const tr = el("tr");
            tr.append(el("th", "", cells[0]), el("td", "", cells[1]));
            table.append(tr);
          }
          page.append(table);
        } else {
          page.append(el("p", `align-${block.align}`, block.text));
        }
      }
      $(".letter", box)?.remove();
      box.append(page);
    } catch (e) { $("#detail .notice").textContent = e.message; }
  }

  async function downloadLetter(s) {
    try {
      const response = await request(s.letter_url);
      const url = URL.createObjectURL(await response.blob());
      const a = el("a");
      a.href = url;
      a.download = `督办函-${s.letter_no}.docx`;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) { $("#detail .notice").textContent = e.message; }
  }

  function renderDetail() {
    const { ticket: t, suggestion: s } = current;
    const allowed = t.allowed_actions;
    const detail = $("#detail");
    const head = el("div", "detail-head");
    const title = el("div");
    title.append(el("button", "back plain", "← 列表"), el("strong", "t-no", t.ticket_no), el("span", "tag status", t.status));
    $(".back", title).type = "button";
    $(".back", title).addEventListener("click", () => { document.body.classList.remove("reading"); $(`#list tr[data-no="${t.ticket_no}"]`)?.focus(); });
    if (t.urgency !== "普通") title.append(el("span", "tag urgent", t.urgency));
    if (current.deadline_state) title.append(el("span", `tag ${current.deadline_state}`, deadlineLabel[current.deadline_state]));
    if (t.escalation_level) title.append(el("span", "tag risk", `提级督办 第${t.escalation_level}级`));
    if (t.confidential) title.append(el("span", "tag", "保密件"));
    head.append(title);
    const notice = el("p", "notice");
    notice.setAttribute("role", "alert");

    const dl = el("dl", "facts");
    fact(dl, "诉求类型", `${{ complaint: "投诉", consultation: "咨询", help_request: "求助", report: "举报", suggestion: "建议", praise: "表扬" }[t.demand_type] || t.demand_type}`);
    fact(dl, "分类", [t.category.level1, t.category.level2, t.category.level3].filter(Boolean).join(" / "));
    fact(dl, "地点", t.location || t.location_town);
    fact(dl, "来电", t.phone);
    fact(dl, "称呼", t.anonymous ? "匿名" : t.citizen_name);
    fact(dl, "受理", `${when(t.created_at)}（${t.channel === "voice" ? "电话" : t.channel === "chat" ? "网页对话" : t.channel}）`);
    fact(dl, "签收时限", when(t.sign_due_at));
    fact(dl, "答复时限", when(t.reply_due_at));
    fact(dl, "办结时限", when(t.complete_due_at));
    if (t.repeat_of) fact(dl, "重复于", t.repeat_of);
    if (t.merged_into) fact(dl, "已并入", t.merged_into);
    if (t.satisfaction) fact(dl, "满意度", t.satisfaction);

    const desc = el("p", "description", t.description);
    const work = el("div", "work");
    if (allowed.includes("dispatch") || allowed.includes("reassign")) work.append(dispatchBox(t, s, allowed));
    if (allowed.includes("sign")) {
      const box = section("签收", "sign");
      box.append(el("p", "muted", `本单位签收时限：${when(t.assignments.find(a => a.department_id === me.department_id)?.sign_due_at || t.sign_due_at)}`),
                 button("签收", "do-sign", doing(() => act("sign"), "已签收")));
      work.append(box);
    }
    if (allowed.includes("start")) {
      const box = section("开始办理", "start");
      box.append(button("开始办理", "do-start", doing(() => act("start"), "已开始办理")));
      work.append(box);
    }
    if (allowed.includes("reply")) work.append(replyBox(t));
    if (allowed.includes("return")) work.append(reasonAction("退单", "return", "退单理由（必填：为什么不属于本单位职责，应由谁办）", "退单", "return", "已退单"));
    const ext = extensionBox(allowed);
    if (ext && !t.extension_request) work.append(ext);
    if (t.extension_request && allowed.includes("approve_extension")) work.append(pendingExtensionBox(t));
    if (allowed.includes("approve_reply") || allowed.includes("review")) work.append(reviewBox(t, allowed));
    if (allowed.includes("close")) work.append(callbackBox());
    if (allowed.includes("merge") && current.repeats.length) work.append(mergeBox(t));
    if (allowed.includes("escalate")) work.append(reasonAction("提级督办", "escalate", "督办理由（必填）", "提级督办", "escalate", "已提级督办"));
    if (allowed.includes("withdraw")) work.append(reasonAction("撤单", "withdraw", "撤单原因（必填，如市民撤回诉求）", "撤单", "withdraw", "已撤单"));

    const parts = section("承办单位办理情况", "parts");
    const table = el("table");
    const headRow = el("tr");
    for (const h of ["单位", "主/协", "状态", "签收", "答复"]) headRow.append(el("th", "", h));
    table.append(headRow);
    for (const a of t.assignments) {
      const tr = el("tr");
      tr.append(el("td", "", a.department || a.department_id), el("td", "", a.role === "lead" ? "主办" : a.required ? "协办（须答复）" : "协办（知悉）"),
                el("td", "", a.status), el("td", "", when(a.signed_at)), el("td", "reply-text", a.reply_text || "—"));
      table.append(tr);
    }
    parts.append(table);
    if (!t.assignments.length) parts.append(el("p", "muted", "尚未派单。"));

    const extras = el("div", "extras");
    if (current.supervisions.length) {
      const box = section("督办函", "supervisions");
      for (const sv of current.supervisions) {
        const line = el("div", "letter-line");
        line.append(el("span", "", `${sv.letter_no} · 第${sv.level}级（${sv.level_label}）· ${sv.reason} · 致${sv.department || "承办单位"} · 限${when(sv.due_at)}`),
                    button("预览", "plain do-preview", () => showLetter(box, sv)), button("下载 .docx", "plain", () => downloadLetter(sv)));
        box.append(line);
      }
      extras.append(box);
    }
    if (current.attachments.length) {
      const box = section("附件", "attachments");
      for (const f of current.attachments) box.append(fileLink(t, f));
      extras.append(box);
    }
    const history = section("全过程记录（工单流转、通话、对话、回访）", "timeline");
    const list = el("ol", "timeline");
    for (const item of current.timeline) {
      const li = el("li", item.kind);
      li.append(el("span", "at", when(item.at)), el("span", "label", item.label), el("span", "actor", item.actor), el("span", "text", item.text));
      list.append(li);
    }
    history.append(list);
    detail.replaceChildren(head, notice, dl, desc, work, parts, extras, history);
    detail.dataset.rendered = String(Number(detail.dataset.rendered || 0) + 1);  // tells a fresh view from the last one
  }

  // ---- 预警 (数据治理): the warnings pushed to this person's department (platform posts see all) ----------
  let warningTimer = null;
  async function loadWarnings() {
    let waiting;
    try { waiting = await api("/api/v1/analytics/warnings?unacknowledged=true"); } catch { return []; }
    $("#warnings-open").hidden = !waiting.length;
    $("#warnings-count").textContent = String(waiting.length);
    return waiting;
  }

  function warningBox(w) {
    const box = section(`${w.kind_label}：${w.title}`, w.acknowledged_at ? "warning done" : "warning");
    box.dataset.warning = String(w.id);
    box.append(el("div", "meta", `推送：${w.department || "未定单位"} · ${w.created_at}${w.place ? " · " + w.place : ""} · ${w.count}件`),
               el("p", "detail-text", w.detail));
    const nos = el("div", "nos");
    for (const no of w.ticket_nos.slice(0, 30)) nos.append(button(no, "plain", () => open(no)));
    if (w.ticket_nos.length > 30) nos.append(el("span", "muted", `等${w.ticket_nos.length}件`));
    box.append(nos);
    if (w.acknowledged_at) {
      box.append(el("div", "meta", `已由 ${w.acknowledged_by} 于 ${w.acknowledged_at} 签收${w.ack_note ? "：" + w.ack_note : ""}`));
      return box;
    }
    const note = textarea("note", "已采取或将采取的措施（如：已安排人员上门排查）");
    note.maxLength = 2000;
    const message = el("p", "notice");
    box.append(note, button("签收预警", "", async () => {
      try {
        await api(`/api/v1/analytics/warnings/${w.id}/ack`, { method: "POST", body: JSON.stringify({ note: note.value.trim() || null }) });
        editing = false;
        toast("预警已签收。");
        showWarnings();
      } catch (e) { message.textContent = e.message; }
    }), message);
    return box;
  }

  async function showWarnings() {
    selected = null;
    $$("#list tr").forEach(tr => tr.classList.remove("selected"));
    let all;
    try { all = await api("/api/v1/analytics/warnings"); } catch (e) { $("#detail").replaceChildren(el("p", "error", e.message)); return; }
    await loadWarnings();
    const waiting = all.filter(w => !w.acknowledged_at);
    const head = el("div", "detail-head");
    head.append(el("h2", "", `预警（待签收${waiting.length}条）`));
    const list = el("div", "warnings");
    list.id = "warning-list";
    list.append(...waiting.map(warningBox), ...all.filter(w => w.acknowledged_at).slice(0, 20).map(warningBox));
    if (!all.length) list.append(el("p", "empty", "目前没有推送给您的预警。"));
    $("#detail").replaceChildren(head, list);
    document.body.classList.add("reading");
  }

  // ---- live updates ------------------------------------------------------------------------------
  function onLive(data) {
    if (data.type !== "ticket") return;
    const mine = data.actor === me.username;
    if (!mine) {
      if ((data.action === "dispatch" || data.action === "reassign") && me.role === "handler") toast(`新派来的工单：${data.ticket_no}`);
      else if (data.action === "reply" && data.status === "已答复") toast(`有新的答复待审核：${data.ticket_no}`);
      else if (data.action === "create" && data.status === "已受理") toast(`新工单待派：${data.ticket_no}`);
      else if (data.action === "return") toast(`工单被退回，待改派：${data.ticket_no}`);
      else if (data.action === "overdue") toast(`工单已超期：${data.ticket_no}`);
    }
    clearTimeout(reloadTimer);  // a burst of events reloads once
    reloadTimer = setTimeout(() => {
      loadList();
      loadCounts();
      if (!mine && selected === data.ticket_no) open(selected, true);
    }, 300);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/office`);
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: session.token() }));
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "ready") {
        retryDelay = 500;
        $("#live-status").textContent = "实时";
        $("#live-status").classList.remove("off");
        document.body.dataset.live = "on";
        return;
      }
      onLive(data);
    };
    socket.onclose = (event) => {
      document.body.dataset.live = "off";
      if (!session.signedIn()) return;
      if (event.code === 4401) { session.socketExpired().then(ok => ok && connect()); return; }
      $("#live-status").textContent = "连接断开，重连中…";
      $("#live-status").classList.add("off");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  // ---- start -------------------------------------------------------------------------------------
  async function start() {
    try {
      me = await api("/api/v1/office/me");
      departments = await api("/api/v1/org/departments");
    } catch { session.logout(); return; }
    $("#me").textContent = `${me.full_name || me.username}（${me.department ? me.department + " · " : ""}${me.role_label}）`;
    document.body.dataset.role = me.role;
    const form = $("#search");
    form.elements.namedItem("status").replaceChildren(new Option("全部状态", ""), ...me.statuses.map(s => new Option(s, s)));
    form.elements.namedItem("department").replaceChildren(new Option("全部承办单位", ""), ...departments.map(d => new Option(d.short, d.id)));
    form.elements.namedItem("town").replaceChildren(new Option("全部镇街", ""),
      ...departments.filter(d => d.kind === "属地").map(d => new Option(d.short, d.short)));
    view = me.views[0].id;
    renderViews(me.counts);
    session.shown();
    loadList();
    connect();
    loadWarnings();
    clearInterval(warningTimer);  // the daily job files them: a look every five minutes is soon enough
    warningTimer = setInterval(loadWarnings, 300000);
  }

  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    if (view !== "search" && me.views.some(v => v.id === "search")) { view = "search"; renderViews(); loadCounts(); }
    loadList();
  });
  $("#search").addEventListener("reset", () => setTimeout(loadList, 0));
  $("#export").addEventListener("click", exportList);
  // Anything typed or chosen on the open ticket: live refreshes wait until it is submitted.
  $("#detail").addEventListener("input", () => { editing = true; });
  $("#detail").addEventListener("change", () => { editing = true; });
  $("#warnings-open").addEventListener("click", showWarnings);

  // Dispatchers work from the keyboard: / search, J/K next/previous ticket, D dispatch, Esc back to the list.
  document.addEventListener("keydown", (event) => {
    if ($("#app").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = /TEXTAREA|INPUT|SELECT/.test(document.activeElement?.tagName || "");
    if (event.key === "Escape") { document.activeElement?.blur(); document.body.classList.remove("reading"); $(`#list tr[data-no="${selected}"]`)?.focus(); return; }
    if (typing) return;
    const key = event.key.toLowerCase();
    if (key === "/") { event.preventDefault(); $("#search [name=ticket_no]").focus(); }
    else if (key === "j") { event.preventDefault(); step(1); }
    else if (key === "k") { event.preventDefault(); step(-1); }
    else if (key === "d") { const go = $("#detail .do-dispatch"); if (go && !go.disabled) { event.preventDefault(); go.click(); } }
  });
})();
